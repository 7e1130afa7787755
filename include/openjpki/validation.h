/* openjpki — the relying party (署名検証者 / 利用者証明検証者): trusted
 * roots, path validation for the two single-level J-LIS hierarchies, CRL
 * and OCSP revocation checking, and CMS SignedData verification with the
 * basic-4 data a relying party (eKYC) needs.
 *
 * A jpki_validator holds the trusted roots (openjpki's, J-LIS's real ones:
 * several generations share one DN, so a leaf's issuer is chosen by key —
 * AKI/SKI and an actual signature check — never by name), the revocation
 * sources (a map from a CRL distribution point DirName to a file or http://
 * URL, OCSP responses given as bytes, an OCSP responder URL), and caches:
 * parsed CRLs and OCSP answers, and per certificate (by SHA-256 of its DER)
 * the work that does not depend on time (issuer, certificate signature,
 * profile) plus its revocation answer, so that verifying many documents
 * signed with one certificate does the per-certificate work once.
 *
 * Nothing here reads the clock: "now" (freshness of CRLs and OCSP answers)
 * and "at" (the instant the certificate must be valid) are arguments.  A
 * validator is used by one thread at a time.  Verdicts are results, not
 * errors: val_cert() and val_cms() return 0 whenever they could judge, and
 * the val_result names every reason the certificate or document fails. */
#ifndef OPENJPKI_VALIDATION_H
#define OPENJPKI_VALIDATION_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/date.h"
#include "openjpki/error.h"
#include "openjpki/rules.h"
#include "openjpki/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_validator jpki_validator;

/* Limits on untrusted input and on what a caller can make us hold. */
#define VAL_CMS_MAX                                                            \
	(8u << 20) /* a CMS document (DER), attached content included */
#define VAL_CRL_MAX (64u << 20)	     /* one CRL, from a file or over HTTP */
#define VAL_OCSP_RESP_MAX (1u << 20) /* one OCSP response */
#define VAL_ROOTS_MAX 64
#define VAL_CRL_SOURCES_MAX 4096
#define VAL_OCSP_RESPONSES_MAX 1024
#define VAL_CERT_CACHE_MAX 65536 /* certificates remembered; then emptied */

/* Defaults of val_set_limits() (docs/decisions.md). */
#define VAL_SKEW_DEFAULT                                                       \
	300 /* s: thisUpdate/producedAt may be this far ahead */
#define VAL_CACHE_AGE_DEFAULT                                                  \
	3600 /* s: a CRL or OCSP answer is re-read after this */
#define VAL_HTTP_TIMEOUT_DEFAULT 10 /* s: one CRL download or OCSP exchange */

/* Why a certificate or document is refused: one bit each. */
typedef enum val_fail {
	VAL_FAIL_DOC_SIGNATURE = 1u
				 << 0, /* the document's signature or digest */
	VAL_FAIL_DOCUMENT = 1u << 1,   /* malformed or unacceptable CMS */
	VAL_FAIL_CERT_SIGNATURE = 1u << 2, /* the certificate's signature */
	VAL_FAIL_UNTRUSTED = 1u << 3,	   /* no trusted root issued it */
	VAL_FAIL_OTHER_HIERARCHY =
	    1u << 4, /* sign leaf under the auth root or vice versa */
	VAL_FAIL_NOT_YET_VALID = 1u << 5,
	VAL_FAIL_EXPIRED = 1u << 6,
	VAL_FAIL_ROOT_VALIDITY = 1u
				 << 7, /* the root is not valid at that time */
	VAL_FAIL_REVOKED = 1u << 8,
	VAL_FAIL_KEY_USAGE =
	    1u << 9, /* wrong keyUsage, or the wrong kind of certificate */
	VAL_FAIL_POLICY =
	    1u << 10, /* no or wrong JPKI policy OID for the root's profile */
	VAL_FAIL_REVOCATION_UNKNOWN = 1u
				      << 11, /* no usable CRL or OCSP answer */
	VAL_FAIL_PROFILE =
	    1u
	    << 12, /* CA as leaf, weak key or algorithm, unknown critical ext */
	VAL_FAIL_TIMESTAMP = 1u << 13, /* a signature time-stamp that fails */
} val_fail;
#define VAL_FAIL_ALL ((1u << 14) - 1u)

/* Stable short name of one bit ("revoked", "expired", "bad-signature"),
 * NULL for anything else. */
const char *val_fail_name(val_fail f);

typedef enum val_rev_status {
	VAL_REV_NOT_CHECKED =
	    0, /* the certificate failed before revocation mattered */
	VAL_REV_GOOD = 1,
	VAL_REV_REVOKED = 2,
	VAL_REV_UNKNOWN = 3, /* no source gave a usable answer */
} val_rev_status;

typedef enum val_rev_source {
	VAL_SRC_NONE = 0,
	VAL_SRC_CRL = 1,
	VAL_SRC_OCSP = 2,
} val_rev_source;

/* What a check is for. */
typedef enum val_purpose {
	VAL_PURPOSE_ANY =
	    0, /* either certificate, each checked against its profile */
	VAL_PURPOSE_SIGN =
	    1, /* documents: the 署名用電子証明書 (nonRepudiation) */
	VAL_PURPOSE_AUTH = 2, /* log-in: the 利用者証明用電子証明書 */
} val_purpose;

typedef struct val_opts {
	time_t now; /* the clock: freshness of CRLs and OCSP answers */
	time_t at; /* the instant the certificate must be valid (usually now) */
	val_purpose purpose;
} val_opts;

#define VAL_MSGS_MAX 12
#define VAL_MSG_LEN 512

/* The verdict.  Fill with val_cert()/val_cms(), release with
 * val_result_clear().  fails == 0 means valid. */
typedef struct val_result {
	unsigned fails; /* val_fail bits */
	size_t n_msgs;	/* every failure has at least one message */
	struct {
		val_fail what;
		char text[VAL_MSG_LEN];
	} msgs[VAL_MSGS_MAX];

	/* the (signer's) certificate: own references, NULL when unknown */
	X509 *cert;
	X509 *root;	 /* the trusted root whose key signed it */
	bool classified; /* kind and profile known (from the policy OID) */
	jpki_cert_kind kind;
	jpki_profile profile;

	/* revocation */
	val_rev_status rev;
	val_rev_source rev_source;
	bool rev_cached;     /* answered from the per-certificate cache */
	char rev_where[256]; /* CRL location, OCSP URL or "given response #n" */
	time_t rev_this_update, rev_next_update;
	time_t revoked_at; /* VAL_REV_REVOKED */
	jpki_reason reason;

	/* documents (val_cms) */
	bool attached; /* the content is inside the CMS */
	bool has_signing_time;
	time_t signing_time; /* the signer's claim (signingTime), not proof */
	bool has_basic4;     /* signature certificate with basic-4 SAN */
	jpki_basic4 basic4;
	bool has_birth; /* basic4.birth parsed */
	jpki_date birth;
	int birth_era;	    /* 1 明治 .. 5 令和 (rules_era_name) */
	int birth_era_year; /* 昭和55 -> 55 */

	/* signature time-stamp (CAdES-T, RFC 3161 Appendix A), checked
	 * against the TSA roots (openjpki/tsa.h); the signer was judged at
	 * its time */
	bool has_timestamp;
	time_t timestamp;     /* TSTInfo genTime */
	char tsa_name[256];   /* the TSA certificate's subject */
	char tsa_policy[128]; /* TSTInfo policy, dotted */
} val_result;

/* Release the references of a result and zero it.  NULL is fine. */
void val_result_clear(val_result *r);

/* ------------------------------------------------------------------ */
/* The validator                                                       */

/* A validator without roots or revocation sources.  Caller frees with
 * val_free(). */
JPKI_MUST_CHECK int val_new(jpki_validator **out, jpki_err *err);
void val_free(jpki_validator *v); /* NULL is fine */

/* skew: how far ahead of `now` a thisUpdate or producedAt may be;
 * cache_age: seconds a CRL or OCSP answer is kept before it is read again
 * (also before its nextUpdate); http_timeout: seconds per download or
 * OCSP exchange.  0 keeps the current value. */
JPKI_MUST_CHECK int val_set_limits(jpki_validator *v, int skew, int cache_age,
				   int http_timeout, jpki_err *err);

/* --- trusted roots --------------------------------------------------- */

/* Trust a JPKI root: self-signed (the signature is checked), CA with
 * keyCertSign, a JPKI root DN of either profile (x509_classify).  The
 * validator takes its own reference.  A root already there (same DER) is
 * not added twice. */
JPKI_MUST_CHECK int val_add_root(jpki_validator *v, X509 *root, jpki_err *err);

/* Trust every root in a file (PEM with one or more certificates, or one
 * DER certificate) or in the .pem, .crt, .cer and .der files of a directory.
 * Anything there that is not a JPKI root is refused, naming the file.
 * *added (may be NULL) gets the number of new roots. */
JPKI_MUST_CHECK int val_load_roots(jpki_validator *v, const char *path,
				   size_t *added, jpki_err *err);

/* The four public J-LIS roots (2015 and 2023 generations of each
 * hierarchy), shipped in the data folder's jpki-roots/ and pinned by the
 * SHA-256 of their DER (upper-case hex). */
#define VAL_JLIS_ROOTS 4
typedef struct val_jlis_root {
	const char *file;    /* "sign_ca_2023.pem" */
	jpki_cert_kind kind; /* hierarchy */
	int generation;	     /* 2015, 2023 */
	const char *sha256;  /* 64 hex digits */
} val_jlis_root;
extern const val_jlis_root val_jlis_roots[VAL_JLIS_ROOTS];

/* Read val_jlis_roots[i] from DIR (a jpki-roots folder) and check it
 * against its pinned fingerprint: JPKI_ERR_IO when missing, JPKI_ERR_INVAL
 * when it is not the pinned certificate.  *out is the caller's. */
JPKI_MUST_CHECK int val_jlis_root_read(const char *dir, size_t i, X509 **out,
				       jpki_err *err);
/* Trust all four (each read with val_jlis_root_read); not by default:
 * `jpki verify --trust-jlis`, `jpkid --trust-jlis`. */
JPKI_MUST_CHECK int val_load_jlis_roots(jpki_validator *v, const char *dir,
					size_t *added, jpki_err *err);

size_t val_root_count(const jpki_validator *v);
/* The i-th root (borrowed, valid while the validator lives), NULL past
 * the end. */
X509 *val_root(const jpki_validator *v, size_t i);

/* The root that issued `leaf`, chosen by key: roots whose SKI differs from
 * the leaf's AKI are skipped, and the one whose public key verifies the
 * leaf's signature wins.  *idx = that root and *sig_ok = true; when no
 * signature verifies but a root is named by the AKI (or, for a leaf without
 * AKI, by the issuer DN), *idx = that candidate and *sig_ok = false.
 * JPKI_ERR_NOT_FOUND when no trusted root is named at all. */
JPKI_MUST_CHECK int val_find_issuer(const jpki_validator *v, X509 *leaf,
				    size_t *idx, bool *sig_ok, jpki_err *err);

/* --- revocation sources ---------------------------------------------- */

/* Read the CRL of the partition `dirname` from `location`: a file (DER or
 * PEM) or an http:// URL (DER).  dirname is the CRL distribution point
 * DirName of the certificates, in RFC 2253 order ("CN=Kiyose-shi CRLDP,
 * OU=Tokyo-to,OU=CRL Distribution Points,OU=JPKI for digital signature,
 * O=JPKI,C=JP") or OpenSSL's slash form ("/C=JP/O=JPKI/.../CN=..."); "*"
 * maps every partition (a full CRL).  A partition may be mapped several
 * times (one CRL per root generation): the CRL signed by the leaf's root
 * is used. */
JPKI_MUST_CHECK int val_map_crl(jpki_validator *v, const char *dirname,
				const char *location, jpki_err *err);
/* The same from "DIRNAME=LOCATION": split before "http://" when the text
 * has "=http://", otherwise at the last '=' (a path with '=' cannot be
 * given this way). */
JPKI_MUST_CHECK int val_map_crl_spec(jpki_validator *v, const char *spec,
				     jpki_err *err);

/* Ask this OCSP responder (http:// URL) when no CRL answers: a request with
 * a fresh 16-byte nonce, which the response must echo. */
JPKI_MUST_CHECK int val_set_ocsp_url(jpki_validator *v, const char *url,
				     jpki_err *err);

/* An OCSP response obtained elsewhere (DER, at most VAL_OCSP_RESP_MAX,
 * trailing data refused, status successful).  It is checked when used:
 * signature by the leaf's root, CertID, times. */
JPKI_MUST_CHECK int val_add_ocsp_response(jpki_validator *v, const uint8_t *der,
					  size_t len, jpki_err *err);

/* --- verdicts -------------------------------------------------------- */

/* Validate a leaf certificate: issuer among the roots (by key), certificate
 * signature, single level (no intermediates), profile (keyUsage and policy
 * OID of the hierarchy and profile of its root, no CA leaf, RSA >= 2048,
 * SHA-2 signature), validity of the leaf and of its root at o->at,
 * revocation (CRL of its partition, then OCSP) fresh at o->now, and the
 * purpose.  A certificate revoked after o->at counts as revoked only for
 * keyCompromise, cACompromise or unspecified reasons.  0 with *res filled
 * (res->fails says), or a negative jpki_rc for misuse or an internal
 * failure (then *res is cleared). */
JPKI_MUST_CHECK int val_cert(jpki_validator *v, X509 *cert, const val_opts *o,
			     val_result *res, jpki_err *err);

/* Verify a CMS SignedData (DER, at most VAL_CMS_MAX, trailing data
 * refused): exactly one signer, whose certificate is in the CMS; SHA-256,
 * -384 or -512; the signature (over the signed attributes, whose
 * messageDigest must match the content, and contentType the eContentType);
 * then val_cert() on the signer with o->purpose (VAL_PURPOSE_ANY is taken
 * as VAL_PURPOSE_SIGN).  content NULL: the content must be inside
 * (attached); otherwise the CMS must be detached and content (content_len
 * bytes, possibly 0) is what was signed.  signingTime is reported, and for
 * a signature certificate the basic-4 data with the birth date in
 * Gregorian and era form.  Malformed input is a verdict
 * (VAL_FAIL_DOCUMENT), not an error. */
JPKI_MUST_CHECK int val_cms(jpki_validator *v, const uint8_t *cms,
			    size_t cms_len, const uint8_t *content,
			    size_t content_len, const val_opts *o,
			    val_result *res, jpki_err *err);

/* Counters, for benchmarks and tests. */
typedef struct val_stats {
	unsigned long certs_checked;   /* full per-certificate checks */
	unsigned long cert_cache_hits; /* answered from the certificate cache */
	unsigned long crl_loads;       /* CRLs read and checked */
	unsigned long ocsp_queries;    /* OCSP requests sent */
	unsigned long documents;       /* val_cms calls */
} val_stats;
void val_get_stats(const jpki_validator *v, val_stats *st);

#ifdef __cplusplus
}
#endif
#endif
