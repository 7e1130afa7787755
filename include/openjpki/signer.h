/* openjpki — the signer process's library (src/signer; docs/design.md,
 * "The signer process").  jpki-signer is the only process that opens the
 * keystore; each request (signer_proto.h) is parsed and checked here
 * against the profile the CA signs with before the key is used:
 *
 *   cert   a TBSCertificate of a leaf of the label's hierarchy: the CA's
 *          own lint (x509_lint_leaf_tbs: issuer = the root, policy,
 *          keyUsage, extensions, AKI = the root's SKI, key, dates), its
 *          validity within the root's, and a serial never signed before;
 *   crl    a TBSCertList v2 by the root: sha256WithRSAEncryption, issuer =
 *          the root's DN, AKI = the root's SKI, a CRL number;
 *   ocsp   a ResponseData by the root: responder = the root's key hash or
 *          DN, 1 to 256 SingleResponses, each CertID naming the root;
 *   audit  an audit checkpoint text of the exact v1 shape, by "audit".
 *
 * The check is separate from the key (signer_policy) so that the fuzz
 * target runs it with throw-away roots. */
#ifndef OPENJPKI_SIGNER_H
#define OPENJPKI_SIGNER_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/buf.h"
#include "openjpki/error.h"
#include "openjpki/signer_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGNER_SERIAL_MAX 20

/* What a signature is logged as. */
typedef struct signer_entry {
	uint8_t op;
	char label[SIGNER_LABEL_MAX + 1];
	uint8_t serial[SIGNER_SERIAL_MAX]; /* cert: its serial's magnitude */
	size_t serial_len;
	int64_t number; /* crl: CRL number (-1 if over int64); audit: seq */
	unsigned char sha256[32]; /* of the payload */
} signer_entry;

typedef struct signer_policy signer_policy;
/* roots[0] the signature root, roots[1] the authentication root (public
 * certificates); the profile is the one whose root DNs they carry. */
JPKI_MUST_CHECK int signer_policy_new(X509 *sign_root, X509 *auth_root,
				      signer_policy **out, jpki_err *err);
void signer_policy_free(signer_policy *p);
/* Root generations (jpki ca rollover): generation `gen` (2..
 * SIGNER_GEN_MAX, in order) of hierarchy `ri` (0 sign, 1 auth), whose key
 * is labelled "<sign|auth>-root-<gen>".  A TBS under that label is
 * checked against this root (issuer, AKI, validity). */
#define SIGNER_GEN_MAX 16
JPKI_MUST_CHECK int signer_policy_add_gen(signer_policy *p, int ri, int gen,
					  X509 *root, jpki_err *err);
/* The hierarchy (0 sign, 1 auth) and generation a root key label names:
 * "sign-root" is generation 1, "sign-root-N" generation N; -1 when it
 * names no root key. */
int signer_root_label(const char *label, int *gen);
/* Check one parsed request.  0, or JPKI_ERR_POLICY / JPKI_ERR_LINT /
 * JPKI_ERR_PARSE with the reason; *e is filled on success. */
JPKI_MUST_CHECK int signer_policy_check(signer_policy *p, const signer_req *rq,
					signer_entry *e, jpki_err *err);
/* A certificate serial is used from now on (a signed cert entry). */
JPKI_MUST_CHECK int signer_policy_mark(signer_policy *p, const uint8_t *serial,
				       size_t len, jpki_err *err);
bool signer_policy_used(const signer_policy *p, const uint8_t *serial,
			size_t len);

/* One log line, without its end of line: "TIME OP LABEL serial=HEX
 * sha256=HEX" (cert), "... number=N sha256=HEX" (crl, audit), "...
 * sha256=HEX" (ocsp). */
void signer_entry_line(const signer_entry *e, time_t now, char *out,
		       size_t cap);
/* The serial of a cert line, for rebuilding the used serials from the
 * log at start-up; false for any other line. */
bool signer_line_serial(const char *line, uint8_t *serial, size_t *len);

/* A token bucket: `rate` per second, at most `burst` at once. */
typedef struct signer_bucket {
	double rate, burst, tokens, last;
} signer_bucket;
void signer_bucket_init(signer_bucket *b, double rate, double burst,
			double now);
/* Take one token at monotonic time `now` (seconds); false when empty. */
bool signer_bucket_take(signer_bucket *b, double now);

/* --- the signer: keystore, keys, policy, log and rate together --- */

typedef struct signer_config {
	const char *dir;      /* the CA directory: roots/NAME.pem, keystore */
	const char *keystore; /* NULL: as the CA finds it (DIR/keystore's
				 location, else file:DIR/keys) */
	const char *log_path; /* NULL: DIR/signer/signer.log */
	double rate, burst;   /* signatures per second, at once */
	double now_mono;      /* monotonic seconds at start */
	unsigned workers;     /* requests served at once (0: 1), each with
				 its own keystore session and keys */
} signer_config;

#define SIGNER_WORKERS_MAX 16

typedef struct signer signer;
/* Open the keystore, load the keys that exist (sign-root, auth-root,
 * audit) and check each root key against its certificate, rebuild the
 * used serials from the log and open it for appending. */
JPKI_MUST_CHECK int signer_open(const signer_config *cfg, signer **out,
				jpki_err *err);
void signer_close(signer *s);
/* One request body, served by worker `worker` (below signer_workers;
 * each worker by one thread at a time, the workers at once): the
 * response frame goes to *out (always, unless out of memory: then
 * non-zero).  A certificate's serial is checked and marked used in one
 * step before it is signed; a signature is returned only once its log
 * line is written. */
JPKI_MUST_CHECK int signer_handle(signer *s, unsigned worker,
				  const uint8_t *body, size_t len, time_t now,
				  double mono, jpki_wbuf *out);
unsigned signer_workers(const signer *s);

#ifdef __cplusplus
}
#endif
#endif
