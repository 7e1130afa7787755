/* openjpki validation/ — what the files of this module share. */
#ifndef OPENJPKI_VAL_INT_H
#define OPENJPKI_VAL_INT_H

#include <openssl/cms.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/validation.h"

/* A trusted root and what is read off it once. */
typedef struct vali_root {
	X509 *cert;
	jpki_cert_kind kind;
	jpki_profile prof;
	time_t nb, na;
	unsigned char hash[32]; /* SHA-256 of the DER */
} vali_root;

/* One CRL source of the map and the CRL last read from it. */
typedef struct vali_crl {
	char *key;	/* canonical DirName (vali_dn_canon) or "*" */
	char *location; /* file path or http:// URL */
	X509_CRL *crl;	/* NULL until read, or when unusable */
	size_t root;	/* index of the root whose key signed it */
	X509_NAME *idp; /* partition named by its IDP; NULL: every partition */
	time_t this_upd, next_upd, loaded_at;
	char why[VAL_MSG_LEN]; /* why the last read is unusable */
} vali_crl;

/* Where a revocation answer came from. */
enum {
	VALI_WHERE_NONE = 0,
	VALI_WHERE_CRL,
	VALI_WHERE_OCSP_URL,
	VALI_WHERE_OCSP_GIVEN
};

/* A revocation answer for one certificate. */
typedef struct vali_rev {
	val_rev_status status; /* GOOD, REVOKED or UNKNOWN */
	int where;	       /* VALI_WHERE_* */
	size_t where_idx;      /* CRL source or given-response index */
	time_t this_upd, next_upd;
	time_t revoked_at;
	jpki_reason reason;
	time_t checked, until; /* usable while checked <= now < until */
} vali_rev;

/* Per-certificate cache entry: the time-independent checks passed. */
typedef struct vali_cert {
	unsigned char hash[32];
	bool used;
	size_t root;
	jpki_cert_kind kind;
	jpki_profile prof;
	time_t nb, na;
	vali_rev rev; /* rev.until == 0: to be (re)checked */
} vali_cert;

/* A certificate met in documents, parsed once (cmsder.c explains why),
 * with its basic-4 data decoded once. */
typedef struct vali_pcert {
	unsigned char hash[32]; /* SHA-256 of the DER */
	bool used;
	X509 *x;
	bool b4_done;
	int b4_rc;
	jpki_basic4 *b4; /* when b4_rc == 0 */
	char b4_msg[JPKI_ERR_MSG_MAX];
} vali_pcert;
#define VALI_PCERT_MAX 1024

struct jpki_validator {
	vali_root roots[VAL_ROOTS_MAX];
	size_t n_roots;
	vali_crl **crls;
	size_t n_crls, cap_crls;
	OCSP_BASICRESP **ocsp;
	size_t n_ocsp, cap_ocsp;
	char *ocsp_url;
	int skew, cache_age, http_timeout;
	vali_cert *cache; /* open addressing, cache_cap a power of two */
	size_t cache_cap, cache_n;
	vali_pcert *pcache; /* the same scheme */
	size_t pcache_cap, pcache_n;
	val_stats stats;
	STACK_OF(X509) * tsa_roots; /* trusted TSA roots (timestamp.c) */
};

/* result.c: record a failure (bit + message).  Every bit gets at least
 * one message even when the list is full. */
void vali_fail(val_result *r, val_fail what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ASN1_TIME to time_t (UTC); JPKI_ERR_PARSE when unreadable. */
JPKI_MUST_CHECK int vali_time(const ASN1_TIME *t, time_t *out);
/* "YYYY-MM-DDTHH:MM:SSZ" */
void vali_time_str(time_t t, char out[21]);
/* Empty the certificate cache (configuration changed). */
void vali_cache_clear(jpki_validator *v);
/* Copy the where-text of an answer into out. */
void vali_where(const jpki_validator *v, const vali_rev *a, char *out,
		size_t cap);

/* dirname.c: canonical text of a DirName ("CN=..,OU=..,C=JP", RFC 2253
 * order, types upper-cased, spaces around separators dropped), from a
 * user string (RFC 2253 or "/C=JP/..." slash form) or from a name. */
JPKI_MUST_CHECK int vali_dn_canon(const char *in, char *out, size_t cap);
JPKI_MUST_CHECK int vali_dn_key(const X509_NAME *n, char *out, size_t cap);
#define VALI_DN_MAX 1024

/* http.c: GET a URL / POST a body (http:// only), at most max bytes. */
JPKI_MUST_CHECK int vali_http_get(const char *url, size_t max, int timeout,
				  uint8_t **out, size_t *out_len,
				  jpki_err *err);
JPKI_MUST_CHECK int vali_http_post(const char *url, const char *ctype,
				   const uint8_t *body, size_t n,
				   const char *expect_ctype, size_t max,
				   int timeout, uint8_t **out, size_t *out_len,
				   jpki_err *err);
bool vali_is_http(const char *s);

/* crl.c: the answer of the CRL sources for `cert` issued by root `root`.
 * 0 with a->status GOOD/REVOKED, or JPKI_ERR_NOT_FOUND with why (the
 * reasons no source answered) filled in; other negatives are internal. */
JPKI_MUST_CHECK int vali_crl_status(jpki_validator *v, X509 *cert, size_t root,
				    const val_opts *o, vali_rev *a, char *why,
				    size_t cap, jpki_err *err);
void vali_crl_free(vali_crl *c);

/* ocsp.c: the same from the given OCSP responses, then the responder. */
JPKI_MUST_CHECK int vali_ocsp_status(jpki_validator *v, X509 *cert, size_t root,
				     const val_opts *o, vali_rev *a, char *why,
				     size_t cap, jpki_err *err);

/* cert.c: val_cert() without clearing *res first, so that val_cms()
 * adds the certificate's verdict to the document's; hash is the SHA-256
 * of the certificate's DER when known (NULL: computed). */
JPKI_MUST_CHECK int vali_cert_check(jpki_validator *v, X509 *cert,
				    const unsigned char *hash,
				    const val_opts *o, val_result *res,
				    jpki_err *err);

/* timestamp.c: the signature time-stamps of si (unsigned attribute
 * id-aa-signatureTimeStampToken).  None, or no TSA root trusted: 0 and
 * nothing set.  One that verifies (signature by a certificate with the
 * timeStamping purpose under a trusted TSA root, valid at now; imprint over
 * si's signature value): res->has_timestamp and its time.  Otherwise
 * VAL_FAIL_TIMESTAMP.  Negative only for internal failures. */
JPKI_MUST_CHECK int vali_timestamp_check(jpki_validator *v, CMS_SignerInfo *si,
					 time_t now, val_result *res,
					 jpki_err *err);

/* cmsder.c: a DER ContentInfo(SignedData) split into its certificates
 * (pointers into the input) and a copy without the certificates field.
 * 0 when split, 1 when the input is not of the plain shape handled (parse
 * it whole), JPKI_ERR_NOMEM. */
#define VALI_CMS_CERTS_MAX 16
typedef struct vali_split {
	uint8_t *stripped; /* malloc'ed */
	size_t stripped_len;
	const uint8_t *cert[VALI_CMS_CERTS_MAX];
	size_t cert_len[VALI_CMS_CERTS_MAX];
	size_t n_certs;
} vali_split;
JPKI_MUST_CHECK int vali_cms_split(const uint8_t *der, size_t len,
				   vali_split *s);
void vali_split_clear(vali_split *s);

/* pcache.c: the parsed certificate of `der` (a new reference, caller
 * frees) and its hash; JPKI_ERR_PARSE for a malformed one. */
JPKI_MUST_CHECK int vali_pcert_get(jpki_validator *v, const uint8_t *der,
				   size_t len, X509 **out,
				   unsigned char hash[32], jpki_err *err);
/* The basic-4 data of the certificate with that hash (x), decoded once. */
JPKI_MUST_CHECK int vali_pcert_basic4(jpki_validator *v,
				      const unsigned char hash[32], X509 *x,
				      jpki_basic4 *out, jpki_err *err);
void vali_pcache_clear(jpki_validator *v);

/* Append "; text" (or "text") to a why-buffer, truncating. */
void vali_why(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
