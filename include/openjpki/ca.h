/* openjpki — the certification authority: both J-LIS hierarchies, issuing,
 * revocation, CRLs per municipality plus the ARL, OCSP responses.
 *
 * A CA lives in a directory: keys/ (keystore, 0700), jpki.db (store),
 * roots/ (the two self-signed roots, PEM, for distribution).  A handle is
 * used by one thread at a time; open one per thread to issue in parallel.
 * Every certificate is linted before it is signed and committed to the
 * store before it is returned. */
#ifndef OPENJPKI_CA_H
#define OPENJPKI_CA_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/error.h"
#include "openjpki/rules.h"
#include "openjpki/store.h"
#include "openjpki/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_ca jpki_ca;

typedef struct ca_init_opts {
	jpki_profile profile; /* JPKI_PROFILE_TEST unless chosen explicitly */
	time_t now;
	bool now_fixed;	   /* the clock was fixed (tests): production refuses */
	const char *store; /* store location; NULL = sqlite:DIR/jpki.db */
	/* keystore location (keystore.h), kept in DIR/keystore; NULL = the
	 * file keystore DIR/keys */
	const char *keystore;
} ca_init_opts;

/* Create a CA in `dir` (which must not hold one yet): both root keys
 * (RSA-2048), both self-signed roots (linted), the store. */
JPKI_MUST_CHECK int ca_init(const char *dir, const ca_init_opts *opts,
			    jpki_err *err);

/* Open an existing CA.  `store_loc` NULL = the directory's own store. */
/* ca_open with the keystore at `keystore` (e.g. "signer:") instead of
 * the one DIR names; NULL = ca_open. */
JPKI_MUST_CHECK int ca_open_ks(const char *dir, const char *store_loc,
			       const char *ks_loc, jpki_ca **out,
			       jpki_err *err);
JPKI_MUST_CHECK int ca_open(const char *dir, const char *store_loc,
			    jpki_ca **out, jpki_err *err);
void ca_close(jpki_ca *ca);

jpki_profile ca_profile(const jpki_ca *ca);
/* The hierarchy's root, borrowed (valid while the CA is open). */
X509 *ca_root(const jpki_ca *ca, jpki_cert_kind kind);
/* The CA's store, borrowed (for the registry and the CLI). */
store *ca_store(jpki_ca *ca);

/* ==== Root generations (rollover.c) ====================================
 * Each hierarchy has root generations 1..N (same DN, a new key each);
 * the newest issues, every one answers for what it issued (CRLs, OCSP).
 * How many a hierarchy has, and (root non-NULL, 1 <= gen <= N) that
 * generation's root, borrowed. */
int ca_root_gen(const jpki_ca *ca, jpki_cert_kind kind, int gen, X509 **root);

typedef struct ca_rollover_info {
	jpki_cert_kind kind;
	int gen;				 /* the new generation */
	char serial[STORE_SERIAL_HEX_MAX];	 /* its root's */
	char sha256[65];			 /* its root's fingerprint */
	char new_with_old[STORE_SERIAL_HEX_MAX]; /* link: new key, old signs */
	char old_with_new[STORE_SERIAL_HEX_MAX]; /* link: old key, new signs */
} ca_rollover_info;
/* A new root generation for `kind`: key generated in the keystore under
 * "<sign|auth>-root-N", root DIR/roots/<label>.pem, link certificates
 * DIR/links/<label>-with-<M>.pem (the key of generation <label> certified
 * by generation M's), one audit record "ca.rollover"; the handle issues
 * under it from then on. */
JPKI_MUST_CHECK int ca_rollover(jpki_ca *ca, jpki_cert_kind kind, time_t now,
				const char *actor, ca_rollover_info *info,
				jpki_err *err);

/* A key ceremony's transcript (jpki ca ceremony): written to
 * DIR/ceremony/<time>.txt, its SHA-256 and `summary` (the new roots'
 * fingerprints, the witnesses; <= 700 characters) appended to the audit
 * log as "ca.ceremony", then a checkpoint signed by the audit key covers
 * it (ca_audit_checkpoint). */
typedef struct ca_ceremony_info {
	char sha256[65];
	char path[4096];
	int64_t checkpoint_seq;
} ca_ceremony_info;
JPKI_MUST_CHECK int ca_ceremony_record(jpki_ca *ca, time_t now,
				       const char *actor,
				       const char *transcript,
				       const char *summary,
				       ca_ceremony_info *out, jpki_err *err);

/* ==== Audit checkpoints (audit.c) =======================================
 * The audit chain's head signed with the CA's audit key and appended to
 * DIR/audit/checkpoints, outside the database (docs/decisions.md, "An
 * audit log that cannot be cut unseen"). */
typedef struct ca_checkpoint {
	int64_t seq;
	char hash[65];
	char line[1024]; /* the line appended, without its newline */
} ca_checkpoint;
JPKI_MUST_CHECK int ca_audit_checkpoint(jpki_ca *ca, time_t now,
					ca_checkpoint *out, jpki_err *err);

typedef struct ca_audit_report {
	int64_t records;	/* audit records in the chain */
	int64_t checkpoints;	/* signed checkpoints read */
	int64_t checkpoint_seq; /* the latest one's record */
	char checkpoint_at[21];
	int64_t revocations_checked;  /* against the certificates table */
	int64_t certificates_checked; /* rows checked against the log */
	int passes; /* of the cross-check (ca_audit_verify_passes) */
	/* disagreements between the log and the certificates table, each
	 * naming its serial (the first CA_AUDIT_MISMATCH_MAX kept) */
	int64_t mismatches;
#define CA_AUDIT_MISMATCH_MAX 32
	char mismatch[CA_AUDIT_MISMATCH_MAX][224];
} ca_audit_report;
/* The chain (store_audit_verify), then every checkpoint's signature, that
 * each checkpointed record is still there with its hash (nothing cut from
 * the end, nothing rewritten), then the certificates table against the
 * log: every leaf has its issue record (and the DER hash it names), every
 * issued certificate is in the table, every revocation or hold in the
 * table has its record and every record its revocation.  JPKI_ERR_INTEGRITY
 * saying what; the table's disagreements are listed in rep->mismatch.
 * The cross-check holds the log's certificate events and the table's rows
 * in memory, so it runs in as many passes (each over the serials of one
 * hash partition, reading the log and the table again) as keep that under
 * CA_AUDIT_PASS_MEM; ca_audit_verify_passes sets the number (0: that
 * choice; at most CA_AUDIT_PASSES_MAX). */
#define CA_AUDIT_PASS_MEM ((int64_t)1 << 30)
#define CA_AUDIT_PASSES_MAX 1024
JPKI_MUST_CHECK int ca_audit_verify(jpki_ca *ca, ca_audit_report *rep,
				    jpki_err *err);
JPKI_MUST_CHECK int ca_audit_verify_passes(jpki_ca *ca, int passes,
					   ca_audit_report *rep, jpki_err *err);
/* JPKI_ERR_POLICY when the clock is fixed on a production CA. */
JPKI_MUST_CHECK int ca_check_clock(const jpki_ca *ca, bool now_fixed,
				   jpki_err *err);

typedef struct ca_issue_req {
	int64_t resident_id;
	const char
	    *card_serial;   /* the card holding the keys: must be on record */
	EVP_PKEY *sign_pub; /* NULL: no signature certificate */
	EVP_PKEY *auth_pub; /* NULL: no authentication certificate */
	bool renewal;	    /* replaces the resident's current certificates */
	const char
	    *window_id;	   /* 9 characters; NULL = municipality code + "001" */
	const char *actor; /* who asked, for the audit log; NULL = "ca" */
	time_t now;
	/* The application's plan (rules_plan): the CA signs what it says.
	 * NULL: the CA-admin test path, planned here with no applicant. */
	const struct jpki_plan *plan;
} ca_issue_req;

typedef struct ca_issued {
	/* The certificates as DER, malloc'd (NULL when not requested).  The
	 * CA never parses them back: OpenSSL 3.0 decodes the public key of a
	 * parsed certificate through its decoder, about 0.1 ms, a third of a
	 * signature; callers that want an object ask ca_issued_x509. */
	uint8_t *sign_der;
	size_t sign_der_len;
	uint8_t *auth_der;
	size_t auth_der_len;
	char sign_serial[STORE_SERIAL_HEX_MAX];
	char auth_serial[STORE_SERIAL_HEX_MAX];
	jpki_validity sign_validity;
	jpki_validity auth_validity;
	char superseded[2][STORE_SERIAL_HEX_MAX]; /* revoked by a renewal ("" if
						     none) */
} ca_issued;

/* The issued certificate of `kind` parsed into an object (caller frees);
 * JPKI_ERR_NOT_FOUND when that kind was not issued. */
JPKI_MUST_CHECK int ca_issued_x509(const ca_issued *out, jpki_cert_kind kind,
				   X509 **cert, jpki_err *err);

/* What ca_issue would do, without signing: eligibility and validity per
 * requested kind (shown to the clerk before confirmation).  Same refusals
 * as ca_issue. */
JPKI_MUST_CHECK int ca_issue_preview(jpki_ca *ca, const ca_issue_req *req,
				     ca_issued *out, jpki_err *err);
/* Issue the requested certificates in one transaction.  Refusals:
 * JPKI_ERR_NOT_FOUND (resident, card), JPKI_ERR_INELIGIBLE, JPKI_ERR_KEY,
 * JPKI_ERR_WINDOW (renewal too early), JPKI_ERR_STATE (a valid certificate
 * of that kind exists and this is not a renewal; removed resident; card
 * not active), JPKI_ERR_LINT.  Free *out with ca_issued_free. */
JPKI_MUST_CHECK int ca_issue(jpki_ca *ca, const ca_issue_req *req,
			     ca_issued *out, jpki_err *err);
void ca_issued_free(ca_issued *out);

/* Issue several requests with one store commit (group commit, for the
 * service and bulk issuance).  Each request succeeds or fails on its own:
 * rcs[i] and errs[i] tell; outs[i] is filled when rcs[i] == 0 (free each
 * with ca_issued_free).  Returns nonzero only when the transaction itself
 * failed, and then nothing of the batch was issued. */
#define CA_BATCH_MAX 256
JPKI_MUST_CHECK int ca_issue_batch(jpki_ca *ca, const ca_issue_req *reqs,
				   size_t n, ca_issued *outs, int *rcs,
				   jpki_err *errs, jpki_err *err);

/* Revoke (or put on hold with JPKI_REASON_CERTIFICATE_HOLD) a certificate.
 * A held certificate may be revoked finally; a hold is never released. */
JPKI_MUST_CHECK int ca_revoke(jpki_ca *ca, const char *serial_hex,
			      jpki_reason reason, time_t now, const char *actor,
			      jpki_err *err);

typedef enum ca_crl_scope {
	CA_CRL_PARTITION = 0, /* one municipality's partition */
	CA_CRL_FULL = 1,      /* every municipality of the hierarchy */
	CA_CRL_ARL = 2,	      /* authority revocation list (revoked roots) */
} ca_crl_scope;

/* A signed CRL, DER (malloc'ed, caller frees).  muni_code for
 * CA_CRL_PARTITION.  nextUpdate = now + CA_CRL_VALIDITY. */
#define CA_CRL_VALIDITY (24 * 3600)
JPKI_MUST_CHECK int ca_crl(jpki_ca *ca, jpki_cert_kind kind, ca_crl_scope scope,
			   const char *muni_code, time_t now, uint8_t **der,
			   size_t *der_len, jpki_err *err);

/* The same CRL streamed through `wr` (x509_crl_stream): one read of the
 * store's revoked rows in one transaction, their DER spooled (1 MiB of
 * memory, then an unlinked file in $TMPDIR, about 47 octets an entry) until
 * their count and size start the CRL; memory independent of their number.
 * ca_crl() collects it in memory, for small CRLs. */
JPKI_MUST_CHECK int ca_crl_write(jpki_ca *ca, jpki_cert_kind kind,
				 ca_crl_scope scope, const char *muni_code,
				 time_t now, jpki_write_fn wr, void *wr_ctx,
				 jpki_err *err);

/* The same for root generation `gen` (ca_rollover): the certificates its
 * root issued, signed with its key; gen 0 = the newest, the one ca_crl and
 * ca_crl_write use.  The ARL is one for every generation, signed by the
 * newest.  JPKI_ERR_NOT_FOUND for a generation the CA does not have. */
JPKI_MUST_CHECK int ca_crl_gen(jpki_ca *ca, jpki_cert_kind kind, int gen,
			       ca_crl_scope scope, const char *muni_code,
			       time_t now, uint8_t **der, size_t *der_len,
			       jpki_err *err);
JPKI_MUST_CHECK int ca_crl_write_gen(jpki_ca *ca, jpki_cert_kind kind, int gen,
				     ca_crl_scope scope, const char *muni_code,
				     time_t now, jpki_write_fn wr, void *wr_ctx,
				     jpki_err *err);

/* Publish every CRL at once: the full CRL and the ARL of both hierarchies
 * and both hierarchies' CRL of every municipality, as
 *   dir/gen-N/crl-{sign,auth}-full.crl, crl-{sign,auth}-<code>.crl,
 *   arl-{sign,auth}.crl
 * (an older root generation N's CRLs as crl-...-gN.crl)
 * from one store transaction, flushed (syncfs), then dir/current (a
 * symlink to gen-N) replaced by rename(2): a reader that opens files
 * through dir/current sees one whole generation, never a mixed set.  The
 * generation before stays for readers still on it; older ones are
 * removed.  docs/decisions.md "CRL publication". */
typedef struct ca_crl_published {
	uint64_t generation;
	size_t files;
} ca_crl_published;
JPKI_MUST_CHECK int ca_crl_publish(jpki_ca *ca, const char *dir, time_t now,
				   ca_crl_published *out, jpki_err *err);

/* Answer a DER OCSP request.  kind 0 = pick the hierarchy from the
 * request's first CertID.  nextUpdate = now + CA_OCSP_VALIDITY. */
#define CA_OCSP_VALIDITY (24 * 3600)
JPKI_MUST_CHECK int ca_ocsp(jpki_ca *ca, int kind, const uint8_t *req,
			    size_t req_len, time_t now, uint8_t **resp,
			    size_t *resp_len, jpki_err *err);
/* The same for a request already read (x509_ocsp_req_parse); rq NULL
 * when it was malformed. */
JPKI_MUST_CHECK int ca_ocsp_req(jpki_ca *ca, int kind, const jpki_ocsp_req *rq,
				time_t now, uint8_t **resp, size_t *resp_len,
				jpki_err *err);

/* Upper-case hex serial of a certificate into out. */
JPKI_MUST_CHECK int ca_serial_hex(X509 *cert, char out[STORE_SERIAL_HEX_MAX],
				  jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
