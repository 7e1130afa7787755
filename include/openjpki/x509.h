/* openjpki — the J-LIS certificate profiles, CRLs and OCSP encodings.
 *
 * Builders produce unsigned OpenSSL objects with every field of the profile
 * filled in; x509_*_lint() checks an object against the profile and the
 * caller (ca/) signs only what the lint accepted.  Nothing here stores or
 * reads a clock: times are arguments. */
#ifndef OPENJPKI_X509_H
#define OPENJPKI_X509_H

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/date.h"
#include "openjpki/error.h"
#include "openjpki/rules.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jpki_profile {
	JPKI_PROFILE_TEST = 0,	     /* O=JPKI-TEST, policies ...8.5.1.0.x */
	JPKI_PROFILE_PRODUCTION = 1, /* O=JPKI, policies as J-LIS issues */
} jpki_profile;

const char *jpki_profile_name(jpki_profile p); /* "test" / "production" */
JPKI_MUST_CHECK int jpki_profile_parse(const char *s, jpki_profile *out);

/* OIDs (dotted) of the profile.  Registered once with OBJ_create by
 * x509_init(); call it before anything else here (idempotent, thread-safe). */
#define JPKI_OID_POLICY_SIGN "1.2.392.200149.8.5.1.1.20"
#define JPKI_OID_POLICY_AUTH "1.2.392.200149.8.5.1.3.30"
#define JPKI_OID_POLICY_SIGN_TEST "1.2.392.200149.8.5.1.0.20"
#define JPKI_OID_POLICY_AUTH_TEST "1.2.392.200149.8.5.1.0.30"
#define JPKI_OID_NAME "1.2.392.200149.8.5.5.1"
#define JPKI_OID_NAME_SUBST "1.2.392.200149.8.5.5.2"
#define JPKI_OID_SEX "1.2.392.200149.8.5.5.3"
#define JPKI_OID_BIRTH "1.2.392.200149.8.5.5.4"
#define JPKI_OID_ADDRESS "1.2.392.200149.8.5.5.5"
#define JPKI_OID_ADDRESS_SUBST "1.2.392.200149.8.5.5.6"
JPKI_MUST_CHECK int x509_init(jpki_err *err);

/* CPS qualifier URI of the certificatePolicies extension.  Production: the
 * value used in synthetic fixtures (real value unverified, spec §1.2);
 * test: a reserved .invalid name, never a J-LIS address. */
#define JPKI_CPS_URI "http://www.jpki.go.jp/cps.html"
#define JPKI_CPS_URI_TEST "http://cps.jpki-test.invalid/cps.html"

/* Serial numbers passed to the builders below are big-endian magnitudes:
 * leading zero octets are ignored, the value must be non-zero and encode
 * in at most 20 octets (RFC 5280 4.1.2.2), i.e. at most 20 significant
 * octets with the top bit of the first one clear, else JPKI_ERR_INVAL. */

/* Root (self-signed CA) certificate of one hierarchy: subject = issuer =
 * C=JP, O=JPKI|JPKI-TEST, OU=JPKI for digital signature|JPKI for user
 * authentication, OU=Japan Agency for Local Authority Information Systems;
 * extensions as on the real J-LIS roots (keyUsage critical keyCertSign +
 * cRLSign, SAN DirName in Japanese, basicConstraints critical CA:TRUE,
 * CRLDP DirName = own DN, SKI).  notAfter is 23:59:59 JST of the day
 * before the 10th anniversary of notBefore's JST date.  *out is unsigned;
 * caller frees with X509_free(). */
JPKI_MUST_CHECK int x509_root_build(jpki_profile prof, jpki_cert_kind kind,
				    EVP_PKEY *pub, const uint8_t *serial,
				    size_t serial_len, time_t not_before,
				    X509 **out, jpki_err *err);

/* The hierarchy's DN (the root's subject = every leaf's issuer). */
JPKI_MUST_CHECK int x509_root_name(jpki_profile prof, jpki_cert_kind kind,
				   X509_NAME **out, jpki_err *err);

/* Basic-4 data as carried in the signature certificate's subjectAltName.
 * Strings are UTF-8, NUL-terminated.  The substitute fields are empty when
 * the original fits JIS X 0208/0212. */
#define JPKI_B4_NAME_MAX 384
#define JPKI_B4_ADDR_MAX 768
typedef struct jpki_basic4 {
	char name[JPKI_B4_NAME_MAX];	   /* 氏名 (.5.5.1) */
	char name_subst[JPKI_B4_NAME_MAX]; /* 氏名代替文字 (.5.5.2) */
	char sex[4];	/* 男女の別 "1" 男 / "2" 女 / "3" (.5.5.3) */
	char birth[16]; /* 生年月日 "EYYYYMMDD" (.5.5.4) */
	char address[JPKI_B4_ADDR_MAX];	      /* 住所 (.5.5.5) */
	char address_subst[JPKI_B4_ADDR_MAX]; /* 住所代替文字 (.5.5.6) */
} jpki_basic4;

/* What the issuing municipality contributes to a signature certificate. */
typedef struct jpki_issuer_site {
	char pref_roman[64]; /* subject L= and CRLDP OU=, e.g. "Tokyo-to" */
	char city_roman[64]; /* subject L= and CRLDP CN=, e.g. "Chiyoda-ku" */
	char window_id[10];  /* 9-character 受付窓口識別記号 */
} jpki_issuer_site;

/* Inputs of a resident's data before substitution: the builder computes the
 * substitute fields itself with x509_substitute(). */
typedef struct jpki_sign_subject {
	const char *name;    /* UTF-8 氏名, e.g. "山田　太郎" */
	const char *address; /* UTF-8 住所 */
	int sex;	     /* 1 男, 2 女 */
	jpki_date birth;
	time_t requested; /* 発行要求作成日時 (goes into the CN, JST) */
	unsigned sequence; /* 0..99999, the CN's 5-digit sequence number */
	const jpki_issuer_site *site;
} jpki_sign_subject;

/* Compute the substitute-character string for a UTF-8 value: characters
 * that exist in JIS X 0208 or JIS X 0212 (decided by glibc iconv, EUC-JP)
 * are kept; any other character is replaced per docs/decisions.md and the
 * substitute string is non-empty.  out_cap >= 4 * strlen(in) + 1.
 * *needed is set to true when a substitution happened; when none was
 * needed *needed is false and out is "" (the certificate's substitute field
 * is then empty).  JPKI_ERR_INVAL for malformed UTF-8 or control
 * characters, JPKI_ERR_RANGE when out_cap is too small. */
JPKI_MUST_CHECK int x509_substitute(const char *in, char *out, size_t out_cap,
				    bool *needed, jpki_err *err);

/* 署名用電子証明書, unsigned: issuer = the hierarchy DN; subject C=JP,
 * L=pref, L=city, CN=YYYYMMDDhhmmss+sequence(5)+window(9); keyUsage
 * critical digitalSignature+nonRepudiation; certificatePolicies critical
 * with CPS qualifier; SAN otherNames .5.5.1-.6; CRLDP DirName of the
 * municipality's partition; AKI = issuer SKI; SKI. */
JPKI_MUST_CHECK int x509_sign_cert_build(jpki_profile prof, X509 *issuer,
					 const jpki_sign_subject *subj,
					 EVP_PKEY *pub, const uint8_t *serial,
					 size_t serial_len, time_t not_before,
					 time_t not_after, X509 **out,
					 jpki_err *err);

/* 利用者証明用電子証明書, unsigned: subject C=JP, CN=opaque_id only;
 * keyUsage critical digitalSignature; policy ...8.5.1.3.30 (test: .0.30);
 * CRLDP DirName of the hierarchy's partition for `site`; AKI; SKI. */
JPKI_MUST_CHECK int x509_auth_cert_build(jpki_profile prof, X509 *issuer,
					 const char *opaque_id,
					 const jpki_issuer_site *site,
					 EVP_PKEY *pub, const uint8_t *serial,
					 size_t serial_len, time_t not_before,
					 time_t not_after, X509 **out,
					 jpki_err *err);

/* The CRL distribution point DirName of a municipality partition:
 * C=JP, O=JPKI|JPKI-TEST, OU=<hierarchy OU>, OU=CRL Distribution Points,
 * OU=<pref_roman>, CN=<city_roman> CRLDP. */
JPKI_MUST_CHECK int x509_crldp_name(jpki_profile prof, jpki_cert_kind kind,
				    const jpki_issuer_site *site,
				    X509_NAME **out, jpki_err *err);

/* Lints run before every signature.  They check the profile (extensions,
 * criticality, policy of `prof`, DN shape), RSA key >= 2048 bits with
 * e=65537, field lengths, notBefore < notAfter, notAfter at 14:59:59Z.
 * JPKI_ERR_LINT (or JPKI_ERR_KEY) with the first problem found. */
JPKI_MUST_CHECK int x509_lint_root(jpki_profile prof, jpki_cert_kind kind,
				   X509 *cert, jpki_err *err);
JPKI_MUST_CHECK int x509_lint_leaf(jpki_profile prof, jpki_cert_kind kind,
				   X509 *cert, jpki_err *err);
/* Key acceptable for a JPKI certificate: RSA, >= 2048 bits, e = 65537. */
JPKI_MUST_CHECK int x509_check_key(EVP_PKEY *pub, jpki_err *err);

/* The CA's issuing path, DER first (docs/design.md, "Issuance cost").
 * OpenSSL 3.0 objects cost more to build, encode and parse than the RSA
 * signature is worth; the hot path writes the TBSCertificate DER itself,
 * lints those bytes, and the CA signs their SHA-256 digest.  The output is
 * byte for byte what x509_sign_cert_build / x509_auth_cert_build give once
 * X509_sign has set the algorithm (i2d_re_X509_tbs, i2d_X509).
 *
 * An issuer is one hierarchy's root prepared once (DN DER, SKI, profile,
 * kind); read-only after x509_issuer_new, so threads share it.
 * JPKI_ERR_INVAL, in the object builders' words, when root is not the
 * hierarchy's root or has no subjectKeyIdentifier.  Free accepts NULL. */
typedef struct x509_issuer x509_issuer;
JPKI_MUST_CHECK int x509_issuer_new(jpki_profile prof, jpki_cert_kind kind,
				    X509 *root, x509_issuer **out,
				    jpki_err *err);
void x509_issuer_free(x509_issuer *iss);

/* Largest TBSCertificate the builders write (the basic-4 SAN at its
 * longest and an RSA-4096 key included): an out_cap of this always
 * suffices.  It is also the most x509_lint_leaf_tbs and
 * x509_cert_assemble accept. */
#define X509_TBS_MAX 8192
/* The unsigned TBSCertificate of a signature / authentication certificate
 * of iss's hierarchy into out[0..*out_len): the same fields, checks and
 * refusals (code and message) as the object builders above; signature
 * algorithm sha256WithRSAEncryption.  On failure out and *out_len are
 * untouched (JPKI_ERR_RANGE when it does not fit out_cap). */
JPKI_MUST_CHECK int
x509_sign_tbs_build(const x509_issuer *iss, const jpki_sign_subject *subj,
		    EVP_PKEY *pub, const uint8_t *serial, size_t serial_len,
		    time_t not_before, time_t not_after, uint8_t *out,
		    size_t out_cap, size_t *out_len, jpki_err *err);
JPKI_MUST_CHECK int
x509_auth_tbs_build(const x509_issuer *iss, const char *opaque_id,
		    const jpki_issuer_site *site, EVP_PKEY *pub,
		    const uint8_t *serial, size_t serial_len, time_t not_before,
		    time_t not_after, uint8_t *out, size_t out_cap,
		    size_t *out_len, jpki_err *err);
/* The leaf lint on TBSCertificate bytes (untrusted: read with a bounded
 * reader) against the issuer's profile and kind: the checks and messages
 * of x509_lint_leaf, which runs this same lint on the TBSCertificate an
 * object encodes to, plus AKI = the issuer's SKI.  JPKI_ERR_LINT /
 * JPKI_ERR_KEY, or JPKI_ERR_PARSE for bytes that are not a DER
 * TBSCertificate of at most X509_TBS_MAX bytes. */
JPKI_MUST_CHECK int x509_lint_leaf_tbs(const x509_issuer *iss,
				       const uint8_t *tbs, size_t tbs_len,
				       jpki_err *err);
/* Certificate ::= SEQUENCE { tbs, sha256WithRSAEncryption, BIT STRING sig }
 * in a buffer of the caller's (tbs_len + sig_len + 24 octets suffice).
 * tbs must be one DER SEQUENCE (JPKI_ERR_PARSE) and sig 1-512 octets;
 * JPKI_ERR_RANGE, out and *out_len untouched, if it does not fit. */
JPKI_MUST_CHECK int x509_cert_assemble(const uint8_t *tbs, size_t tbs_len,
				       const uint8_t *sig, size_t sig_len,
				       uint8_t *out, size_t out_cap,
				       size_t *out_len, jpki_err *err);
/* The subject of a TBSCertificate in X509_NAME_oneline's form
 * ("/C=JP/L=Tokyo-to/L=Chiyoda-ku/CN=..."; bytes outside printable ASCII
 * as \xXX), for the store's display column.  JPKI_ERR_PARSE for bad DER,
 * JPKI_ERR_RANGE when it does not fit `cap`. */
JPKI_MUST_CHECK int x509_tbs_subject_oneline(const uint8_t *tbs, size_t tbs_len,
					     char *out, size_t cap,
					     jpki_err *err);

/* Read the basic-4 data from any signature certificate (ours or a real
 * J-LIS one): otherName values as UTF8String or OCTET STRING.
 * JPKI_ERR_NOT_FOUND when the certificate has no basic-4 SAN. */
JPKI_MUST_CHECK int x509_basic4_decode(X509 *cert, jpki_basic4 *out,
				       jpki_err *err);

/* Which hierarchy and profile a certificate belongs to, from its policy or
 * (for roots) its DN.  JPKI_ERR_NOT_FOUND when neither. */
JPKI_MUST_CHECK int x509_classify(X509 *cert, jpki_cert_kind *kind,
				  jpki_profile *prof, bool *is_root,
				  jpki_err *err);

/* CRL reason codes used by J-LIS (RFC 5280 CRLReason values). */
typedef enum jpki_reason {
	JPKI_REASON_UNSPECIFIED = 0,
	JPKI_REASON_KEY_COMPROMISE = 1,
	JPKI_REASON_CA_COMPROMISE = 2,
	JPKI_REASON_AFFILIATION_CHANGED = 3,
	JPKI_REASON_SUPERSEDED = 4,
	JPKI_REASON_CESSATION = 5,
	JPKI_REASON_CERTIFICATE_HOLD = 6,
} jpki_reason;
/* RFC 5280 names ("keyCompromise"), NULL for a value outside the enum;
 * jpki_profile_name likewise gives NULL for an invalid profile. */
const char *jpki_reason_name(jpki_reason r);
JPKI_MUST_CHECK int jpki_reason_parse(const char *s, jpki_reason *out);

typedef struct jpki_crl_entry {
	const uint8_t *serial;
	size_t serial_len;
	time_t revoked_at;
	jpki_reason reason;
} jpki_crl_entry;

/* An unsigned v2 CRL: issuer = issuer's subject, thisUpdate, nextUpdate,
 * cRLNumber, AKI, and for a partition CRL an issuingDistributionPoint
 * naming `partition` (NULL for the ARL / whole-hierarchy CRL, which then
 * carries IDP onlyContainsCACerts when `arl` is true).  Entries carry
 * reasonCode (omitted for unspecified).  The ARL's IDP also names the
 * root's own DN, its cRLDistributionPoints.  At most JPKI_CRL_MAX_ENTRIES
 * entries (JPKI_ERR_RANGE). */
#define JPKI_CRL_MAX_ENTRIES 16777216
JPKI_MUST_CHECK int x509_crl_build(X509 *issuer, const X509_NAME *partition,
				   bool arl, const jpki_crl_entry *entries,
				   size_t n, time_t this_update,
				   time_t next_update, uint64_t crl_number,
				   X509_CRL **out, jpki_err *err);

/* Streaming CRL writer (crl_stream.c): the same CRL as x509_crl_build()
 * signed as X509_CRL_sign(..., EVP_sha256()) would, written as DER through
 * `wr` while the TBSCertList is fed to EVP_DigestSignUpdate, so memory does
 * not grow with the number of entries.  DER needs lengths first: the caller
 * encodes the entries (x509_crl_enc_entry, in ascending serial order as
 * X509_CRL_sort orders them: shorter magnitude first, then by octets;
 * JPKI_ERR_STATE otherwise), states their number and size when it begins
 * the stream, then feeds their DER (x509_crl_stream_add_der).
 * x509_crl_stream_end() checks the count and size,
 * writes the signature and frees the stream; x509_crl_stream_free()
 * abandons one.  RSA signing keys only (the signature's size is known in
 * advance). */
typedef int (*jpki_write_fn)(void *ctx, const uint8_t *p, size_t n,
			     jpki_err *err);
typedef struct x509_crl_stream x509_crl_stream;
JPKI_MUST_CHECK int
x509_crl_stream_begin(X509 *issuer, EVP_PKEY *key, const X509_NAME *partition,
		      bool arl, time_t this_update, time_t next_update,
		      uint64_t crl_number, size_t n_entries,
		      uint64_t entries_len, jpki_write_fn wr, void *wr_ctx,
		      x509_crl_stream **out, jpki_err *err);
JPKI_MUST_CHECK int x509_crl_stream_end(x509_crl_stream *s, jpki_err *err);
void x509_crl_stream_free(x509_crl_stream *s);

/* Entries encoded before the stream begins, so that their count and size
 * come from the one read that also keeps their DER (ca_crl_write spools
 * it, jpki_spool).  x509_crl_enc_entry() checks the reason, the serial
 * and the order against the entry before it in `enc` (which starts
 * zeroed) and writes the entry's DER, at most
 * X509_CRL_ENTRY_MAX octets, to out[0..*len); enc->n and enc->len are the
 * entries and octets encoded so far, what x509_crl_stream_begin() is told.
 * x509_crl_stream_add_der() emits such encodings, back to back and split
 * anywhere, as TBSCertList octets: it counts the entries they frame and
 * refuses octets that do not frame as entries or go beyond those
 * announced (JPKI_ERR_STATE); an entry left unfinished fails
 * x509_crl_stream_end(). */
#define X509_CRL_ENTRY_MAX 96 /* SEQ + INTEGER(21) + Time(17) + reasonCode */
typedef struct x509_crl_enc {
	size_t n;     /* entries encoded */
	uint64_t len; /* their octets */
	size_t prev_len;
	uint8_t prev[20]; /* the last serial's significant octets */
} x509_crl_enc;
JPKI_MUST_CHECK int x509_crl_enc_entry(x509_crl_enc *enc,
				       const jpki_crl_entry *e,
				       uint8_t out[X509_CRL_ENTRY_MAX],
				       size_t *len, jpki_err *err);
JPKI_MUST_CHECK int x509_crl_stream_add_der(x509_crl_stream *s,
					    const uint8_t *der, size_t len,
					    jpki_err *err);

/* OCSP.  A parsed request: up to JPKI_OCSP_MAX_IDS CertIDs and the nonce. */
#define JPKI_OCSP_MAX_IDS 8
#define JPKI_OCSP_MAX_REQ 4096
typedef struct jpki_ocsp_status {
	int status; /* V_OCSP_CERTSTATUS_GOOD / _REVOKED / _UNKNOWN */
	time_t revoked_at;
	jpki_reason reason;
} jpki_ocsp_status;

/* One CertID of a request, pointing into the request's bytes. */
typedef struct jpki_ocsp_certid {
	const uint8_t *der; /* the CertID element, echoed in the response */
	size_t der_len;
	int hash; /* 1 = SHA-1, 256 = SHA-256, 0 = another algorithm */
	const uint8_t *name_hash, *key_hash;
	size_t name_hash_len, key_hash_len;
	const uint8_t *serial; /* magnitude, no leading zero octets */
	size_t serial_len;     /* 1..; zero is one 0x00 octet */
	bool serial_negative;
} jpki_ocsp_certid;

/* An OCSPRequest read once (x509_ocsp_req_parse) and passed down. */
typedef struct jpki_ocsp_req {
	size_t n_ids; /* 1..JPKI_OCSP_MAX_IDS */
	jpki_ocsp_certid id[JPKI_OCSP_MAX_IDS];
	bool has_nonce, nonce_critical;
	const uint8_t *nonce_ext; /* the nonce extension's extnValue octets */
	size_t nonce_ext_len;
	/* the RFC 5019 2.1.1 shape: one CertID, no requestorName, no
	 * extensions, no signature */
	bool simple;
} jpki_ocsp_req;

/* Strict DER read of an OCSPRequest (RFC 6960 4.1.1): at most
 * JPKI_OCSP_MAX_REQ bytes, no trailing data, 1..JPKI_OCSP_MAX_IDS
 * CertIDs, a version other than the default refused, a nonce (RFC 8954)
 * of 1..32 octets if any, at most one.  JPKI_ERR_PARSE when malformed. */
JPKI_MUST_CHECK int x509_ocsp_req_parse(const uint8_t *req, size_t len,
					jpki_ocsp_req *out);

/* Answer status for one CertID.  The callback is called only for CertIDs
 * whose SHA-1 or SHA-256 issuer name and key hashes match `issuer` (others
 * are answered UNKNOWN without it); `serial` is the minimal big-endian
 * magnitude (no leading zero octets), at most 20 octets.  It returns 0
 * with *st filled in (reason only for REVOKED), or a negative jpki_rc,
 * which aborts the response. */
typedef int (*jpki_ocsp_lookup_fn)(void *ctx, const uint8_t *serial,
				   size_t serial_len, jpki_ocsp_status *st,
				   jpki_err *err);

/* Parse a DER OCSPRequest (at most JPKI_OCSP_MAX_REQ bytes, trailing data
 * rejected), look every CertID up, and build and sign a BasicOCSPResponse
 * with responder `signer` (the root itself: J-LIS has no delegated
 * responder in the sources) and `key`.  CertIDs whose issuer name/key
 * hashes do not match `issuer` get UNKNOWN.  The nonce is copied back.
 * *out is the DER OCSPResponse (malloc'ed, caller frees); on a malformed
 * request the DER is a malformedRequest response and rc is 0.  A nonce
 * outside 1..32 octets (RFC 8954) is malformed too.  producedAt and
 * thisUpdate are `now`.  When lookup fails its rc is returned and *out is
 * untouched: answer with x509_ocsp_error(INTERNALERROR) then. */
JPKI_MUST_CHECK int x509_ocsp_respond(const uint8_t *req, size_t req_len,
				      X509 *issuer, EVP_PKEY *key,
				      jpki_ocsp_lookup_fn lookup, void *ctx,
				      time_t now, time_t next_update,
				      uint8_t **out, size_t *out_len,
				      jpki_err *err);

/* x509_ocsp_respond for a request already read; rq NULL means it was
 * malformed (the answer is then malformedRequest). */
JPKI_MUST_CHECK int x509_ocsp_respond_req(const jpki_ocsp_req *rq, X509 *issuer,
					  EVP_PKEY *key,
					  jpki_ocsp_lookup_fn lookup, void *ctx,
					  time_t now, time_t next_update,
					  uint8_t **out, size_t *out_len,
					  jpki_err *err);

/* A DER OCSPResponse without body for an error status:
 * OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, _INTERNALERROR, _TRYLATER,
 * _SIGREQUIRED or _UNAUTHORIZED.  *out malloc'ed, caller frees. */
JPKI_MUST_CHECK int x509_ocsp_error(int status, uint8_t **out, size_t *out_len,
				    jpki_err *err);

/* DER helpers: *out malloc'ed, caller frees with free(). */
JPKI_MUST_CHECK int x509_to_der(X509 *c, uint8_t **out, size_t *out_len,
				jpki_err *err);
JPKI_MUST_CHECK int x509_from_der(const uint8_t *p, size_t len, X509 **out,
				  jpki_err *err);
/* Read a certificate from PEM or DER bytes (at most 64 KiB of DER; PEM may
 * be preceded and followed by white space only). */
JPKI_MUST_CHECK int x509_from_bytes(const uint8_t *p, size_t len, X509 **out,
				    jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
