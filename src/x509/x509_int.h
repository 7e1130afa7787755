/* openjpki x509/ — helpers shared by the files of this module only. */
#ifndef OPENJPKI_X509_INT_H
#define OPENJPKI_X509_INT_H

#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/buf.h"
#include "openjpki/der.h"
#include "openjpki/x509.h"

/* RFC 5280 Appendix A upper bounds. */
#define X509I_UB_COMMON_NAME 64
#define X509I_UB_LOCALITY_NAME 128
#define X509I_UB_ORG_UNIT_NAME 64
/* RFC 5280 4.1.2.2: serialNumber at most 20 octets. */
#define X509I_SERIAL_MAX 20

/* Basic-4 otherName slots in SAN order (.5.5.1 .. .5.5.6). */
enum {
	X509I_B4_NAME = 0,
	X509I_B4_NAME_SUBST,
	X509I_B4_SEX,
	X509I_B4_BIRTH,
	X509I_B4_ADDRESS,
	X509I_B4_ADDRESS_SUBST,
	X509I_B4_COUNT
};
#define X509I_B4_ALL ((1u << X509I_B4_COUNT) - 1u)
/* name, sex, birth and address: the four a reader insists on. */
#define X509I_B4_REQUIRED                                                      \
	((1u << X509I_B4_NAME) | (1u << X509I_B4_SEX) |                        \
	 (1u << X509I_B4_BIRTH) | (1u << X509I_B4_ADDRESS))

/* oids.c: a new ASN1_OBJECT for a dotted OID (caller frees), and equality
 * of an object with a dotted OID. */
ASN1_OBJECT *x509i_obj(const char *dotted);
bool x509i_obj_is(const ASN1_OBJECT *o, const char *dotted);
/* The dotted OID of the basic-4 slot i (0..5). */
const char *x509i_b4_oid(int slot);
/* Policy OID of a profile and hierarchy, NULL when either is invalid. */
const char *x509i_policy_oid(jpki_profile prof, jpki_cert_kind kind);
/* CPS URI of a profile. */
const char *x509i_cps_uri(jpki_profile prof);
/* An OID TLV as a message names it: the short name (else the dotted
 * form) or OBJ_obj2txt's long name; "(malformed OID)" when it is not
 * one. */
void x509i_oid_text(const jpki_rbuf *oid, bool short_name, char *buf,
		    size_t cap);

/* names.c */
bool x509i_profile_ok(jpki_profile prof);
bool x509i_kind_ok(jpki_cert_kind kind);
const char *x509i_profile_o(jpki_profile prof); /* "JPKI" / "JPKI-TEST" */
const char *x509i_kind_ou(jpki_cert_kind kind); /* "JPKI for ..." */
extern const char x509i_jlis_ou[];		/* "Japan Agency ..." */
extern const char x509i_crldp_ou[];		/* "CRL Distribution Points" */
extern const char x509i_crldp_cn_suffix[];	/* " CRLDP" */
/* Append one single-valued RDN; the value's bytes go in as `type`
 * (V_ASN1_PRINTABLESTRING or V_ASN1_UTF8STRING) exactly. */
JPKI_MUST_CHECK int x509i_name_add(X509_NAME *n, int nid, int type,
				   const char *val, jpki_err *err);
/* Exact equality of two names by DER (string types included). */
bool x509i_name_der_eq(const X509_NAME *a, const X509_NAME *b);
/* The root's subjectAltName DirName (Japanese). */
JPKI_MUST_CHECK int x509i_root_altname(jpki_profile prof, jpki_cert_kind kind,
				       X509_NAME **out, jpki_err *err);
/* Checks on the romanised site strings and the window id. */
JPKI_MUST_CHECK int x509i_site_check(const jpki_issuer_site *site,
				     bool need_window, jpki_err *err);
/* Printable ASCII (0x20..0x7e) of min..max bytes, no spaces if !space. */
bool x509i_ascii_ok(const char *s, size_t min, size_t max, bool space);

/* keyUsage bit numbers (RFC 5280 4.2.1.3) as a mask of 1 << bit. */
#define X509I_KU_DIGSIG (1 << 0)
#define X509I_KU_NONREP (1 << 1)
#define X509I_KU_CERTSIGN (1 << 5)
#define X509I_KU_CRLSIGN (1 << 6)

/* tlv.c: DER.  The writer fills a caller's buffer from its end, so that
 * each header goes in front of the content it counts once that is known;
 * running out of room is remembered and reported by x509i_dw_data().
 * Reading is openjpki/der.h's (strict DER, bounded). */
#define X509I_TAG_BOOL 0x01
#define X509I_TAG_INT 0x02
#define X509I_TAG_BITS 0x03
#define X509I_TAG_OCTETS 0x04
#define X509I_TAG_NULL 0x05
#define X509I_TAG_OID 0x06
#define X509I_TAG_UTF8 0x0c
#define X509I_TAG_PRINTABLE 0x13
#define X509I_TAG_UTCTIME 0x17
#define X509I_TAG_GENTIME 0x18
#define X509I_TAG_SEQ 0x30
#define X509I_TAG_SET 0x31
#define X509I_TAG_CTX0 0x80	 /* [0] primitive */
#define X509I_TAG_CTX0_CONS 0xa0 /* [0] constructed */
#define X509I_TAG_CTX3_CONS 0xa3 /* [3] constructed */
#define X509I_TAG_CTX4_CONS 0xa4 /* [4] constructed */
/* Largest header x509i_der_hdr writes (tag, 0x80|n, n length octets). */
#define X509I_HDR_MAX (2 + sizeof(size_t))
typedef struct x509i_dw {
	uint8_t *buf;
	size_t cap;
	size_t len; /* the encoding is buf[cap - len .. cap) */
	bool over;
} x509i_dw;
/* Tag and DER length of len content octets into hdr; returns its size. */
size_t x509i_der_hdr(uint8_t tag, size_t len, uint8_t hdr[X509I_HDR_MAX]);
void x509i_dw_init(x509i_dw *w, uint8_t *buf, size_t cap);
void x509i_dw_put(x509i_dw *w, const void *p, size_t n);
/* Tag and length in front of everything written since w->len was mark. */
void x509i_dw_wrap(x509i_dw *w, uint8_t tag, size_t mark);
void x509i_dw_tlv(x509i_dw *w, uint8_t tag, const void *p, size_t n);
/* INTEGER of the big-endian magnitude p[0..n), n >= 1 and p[0] != 0
 * unless n == 1 (a sign octet goes in front of a set top bit). */
void x509i_dw_uint(x509i_dw *w, const uint8_t *p, size_t n);
/* One single-valued RDN: SET { SEQUENCE { type, value } }. */
void x509i_dw_rdn(x509i_dw *w, const uint8_t *oid, size_t oid_len,
		  uint8_t str_tag, const char *val, size_t val_len);
/* Extension ::= SEQUENCE { extnID, critical TRUE (DER: omitted when
 * FALSE), extnValue OCTET STRING } around the value written since mark. */
void x509i_dw_ext(x509i_dw *w, size_t mark, const uint8_t *oid, size_t oid_len,
		  bool critical);
/* The encoding, or NULL when it did not fit. */
const uint8_t *x509i_dw_data(const x509i_dw *w, size_t *len);

/* tables.c: what every leaf of a hierarchy shares, built once per
 * process (CRYPTO_THREAD_run_once) and never written again, so that any
 * number of issuing threads read it without a lock.  Everything in it was
 * encoded by OpenSSL; a fetched EVP_MD may be used by many threads at
 * once. */
#define X509I_DN_DER_MAX 256
#define X509I_OID_MAX 16
#define X509I_KU_DER_MAX 16
#define X509I_CP_DER_MAX 160
#define X509I_ALG_DER_MAX 32
typedef struct x509i_oid {
	uint8_t der[X509I_OID_MAX]; /* content octets */
	size_t len;
} x509i_oid;
typedef struct x509i_hier {
	jpki_profile prof;
	jpki_cert_kind kind;
	uint8_t root_dn[X509I_DN_DER_MAX]; /* the root DN = leaves' issuer */
	size_t root_dn_len;
	/* C, O, OU=<hierarchy>, OU=CRL Distribution Points: the RDNs every
	 * partition DirName starts with */
	uint8_t dp_rdns[X509I_DN_DER_MAX];
	size_t dp_rdns_len;
	/* extnValue of the leaves' keyUsage and certificatePolicies (+CPS),
	 * both critical */
	uint8_t ku[X509I_KU_DER_MAX];
	size_t ku_len;
	uint8_t cp[X509I_CP_DER_MAX];
	size_t cp_len;
} x509i_hier;
/* The extensions the profiles use, as indexes of x509i_tables.ext. */
enum {
	X509I_EXT_KU = 0,
	X509I_EXT_CP,
	X509I_EXT_SAN,
	X509I_EXT_BC,
	X509I_EXT_CRLDP,
	X509I_EXT_AKI,
	X509I_EXT_SKI,
	X509I_EXT_COUNT
};
typedef struct x509i_tables {
	x509i_hier h[2][3]; /* [jpki_profile][jpki_cert_kind] */
	EVP_MD *sha1;	    /* fetched once: key identifiers */
	x509i_oid b4[X509I_B4_COUNT];
	x509i_oid at_c;	 /* id-at-countryName */
	x509i_oid at_l;	 /* id-at-localityName */
	x509i_oid at_cn; /* id-at-commonName */
	x509i_oid at_ou; /* id-at-organizationalUnitName */
	x509i_oid ext[X509I_EXT_COUNT];
	int ext_nid[X509I_EXT_COUNT];
	x509i_oid rsa_enc;    /* rsaEncryption */
	x509i_oid sha256_rsa; /* sha256WithRSAEncryption */
	/* AlgorithmIdentifier rsaEncryption, NULL (RFC 3279 2.3.1) */
	uint8_t rsa_alg[X509I_ALG_DER_MAX];
	size_t rsa_alg_len;
	/* AlgorithmIdentifier sha256WithRSAEncryption, NULL (RFC 4055 5) */
	uint8_t sig_alg[X509I_ALG_DER_MAX];
	size_t sig_alg_len;
} x509i_tables;
JPKI_MUST_CHECK int x509i_tables_get(const x509i_tables **out, jpki_err *err);
/* The tables of one hierarchy; JPKI_ERR_INVAL for a bad profile or kind. */
JPKI_MUST_CHECK int x509i_hier_get(jpki_profile prof, jpki_cert_kind kind,
				   const x509i_hier **out, jpki_err *err);
/* Whether a name's DER is exactly der[0..len). */
bool x509i_name_is(const X509_NAME *n, const uint8_t *der, size_t len);
/* Whether the OID content octets p[0..n) are o. */
bool x509i_oid_is(const x509i_oid *o, const uint8_t *p, size_t n);
/* The NID of an extension OID the profiles use, NID_undef for others. */
int x509i_ext_nid(const x509i_tables *t, const uint8_t *oid, size_t len);

/* issuer.c: the hot path's prepared root (include/openjpki/x509.h).  The
 * issuer DN is h->root_dn: x509_issuer_new checked the root carries
 * exactly it. */
#define X509I_AKI_DER_MAX 128
struct x509_issuer {
	const x509i_hier *h;
	/* extnValue of the leaves' authorityKeyIdentifier: SEQUENCE {
	 * keyIdentifier [0] = the root's subjectKeyIdentifier } */
	uint8_t aki[X509I_AKI_DER_MAX];
	size_t aki_len;
};
/* iss is an issuer of kind's hierarchy (JPKI_ERR_INVAL otherwise, with
 * the object builders' words). */
JPKI_MUST_CHECK int x509i_issuer_is(const x509_issuer *iss, jpki_cert_kind kind,
				    jpki_err *err);

/* ext.c: extension builders, appended to x in call order, and the DER
 * of the leaves' variable extension values, shared with the TBS writer. */
JPKI_MUST_CHECK int x509i_key_usage_ext(int bits, X509_EXTENSION **out,
					jpki_err *err);
JPKI_MUST_CHECK int x509i_policy_ext(jpki_profile prof, jpki_cert_kind kind,
				     X509_EXTENSION **out, jpki_err *err);
JPKI_MUST_CHECK int x509i_add_key_usage(X509 *x, int bits, jpki_err *err);
/* Append an extension whose value is the DER der[0..len). */
JPKI_MUST_CHECK int x509i_add_ext_der(X509 *x, int nid, bool critical,
				      const uint8_t *der, size_t len,
				      jpki_err *err);
JPKI_MUST_CHECK int x509i_add_crldp(X509 *x, const X509_NAME *dp,
				    jpki_err *err);
/* cRLDistributionPoints value naming the partition of `site` (pref_roman
 * and city_roman used, already checked) in hierarchy h, in front of w. */
#define X509I_CRLDP_DER_MAX 512
JPKI_MUST_CHECK int x509i_put_crldp(x509i_dw *w, const x509i_hier *h,
				    const jpki_issuer_site *site,
				    jpki_err *err);
/* The same into buf; *der points into it. */
JPKI_MUST_CHECK int x509i_crldp_der(const x509i_hier *h,
				    const jpki_issuer_site *site, uint8_t *buf,
				    size_t cap, const uint8_t **der,
				    size_t *len, jpki_err *err);
JPKI_MUST_CHECK int x509i_add_leaf_crldp(X509 *x, const x509i_hier *h,
					 const jpki_issuer_site *site,
					 jpki_err *err);
JPKI_MUST_CHECK int x509i_add_ski(X509 *x, jpki_err *err);
/* authorityKeyIdentifier value naming issuer's subjectKeyIdentifier, into
 * buf[0..*len) (cap X509I_AKI_DER_MAX). */
JPKI_MUST_CHECK int x509i_aki_der(X509 *issuer, uint8_t buf[X509I_AKI_DER_MAX],
				  size_t *len, jpki_err *err);
JPKI_MUST_CHECK int x509i_add_aki(X509 *x, X509 *issuer, jpki_err *err);
/* SHA-1 (the tables' fetched one) of p[0..n). */
JPKI_MUST_CHECK int x509i_sha1(const uint8_t *p, size_t n, uint8_t out[20],
			       jpki_err *err);
/* SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 method 1). */
JPKI_MUST_CHECK int x509i_key_id(X509 *x, unsigned char out[20], jpki_err *err);

/* key.c: the caller's key as x509_check_key accepts it, read once as
 * numbers; setting it into an X509 without OpenSSL's encoder round trip;
 * and the lint's check of the SubjectPublicKeyInfo bytes a certificate
 * carries. */
#define X509I_RSA_BYTES_MAX 512 /* 4096 bits */
typedef struct x509i_rsa {
	uint8_t n[X509I_RSA_BYTES_MAX]; /* big-endian, no leading zeros */
	size_t n_len;
	uint8_t e[8];
	size_t e_len;
} x509i_rsa;
/* Largest RSAPublicKey DER of a key x509i_rsa_get accepts. */
#define X509I_RSA_DER_MAX (X509I_RSA_BYTES_MAX + 32)
/* x509_check_key's checks, in its order and words, and n and e. */
JPKI_MUST_CHECK int x509i_rsa_get(EVP_PKEY *pub, x509i_rsa *k, jpki_err *err);
/* RSAPublicKey ::= SEQUENCE { n, e } (RFC 8017 A.1.1) in front of w. */
void x509i_dw_rsa(x509i_dw *w, const x509i_rsa *k);
JPKI_MUST_CHECK int x509i_set_pubkey(X509 *x, EVP_PKEY *pub, jpki_err *err);
/* The lint's key checks on a SubjectPublicKeyInfo TLV (JPKI_ERR_KEY);
 * *key is its subjectPublicKey, the RSAPublicKey DER. */
JPKI_MUST_CHECK int x509i_check_spki(const jpki_rbuf *spki, jpki_rbuf *key,
				     jpki_err *err);

/* cert.c: an unsigned v3 certificate with serial, validity, issuer DN and
 * key set; the leaf builders check `issuer` is the hierarchy's root.  The
 * checks come from the functions below, which the TBS writer shares. */
JPKI_MUST_CHECK int x509i_cert_new(const uint8_t *serial, size_t serial_len,
				   time_t nb, time_t na, EVP_PKEY *pub,
				   X509 **out, jpki_err *err);
JPKI_MUST_CHECK int x509i_leaf_issuer(const x509i_hier *h, X509 *issuer,
				      jpki_err *err);
/* The significant octets of a serial number, refused as RFC 5280 4.1.2.2
 * says (JPKI_ERR_INVAL). */
JPKI_MUST_CHECK int x509i_serial_octets(const uint8_t *serial,
					size_t serial_len, const uint8_t **sig,
					size_t *sig_len, jpki_err *err);
/* ASN1_INTEGER from a big-endian magnitude (leading zeros ignored),
 * refused when zero or over 20 octets once DER-encoded. */
JPKI_MUST_CHECK int x509i_serial(const uint8_t *serial, size_t serial_len,
				 ASN1_INTEGER **out, jpki_err *err);
/* notBefore < notAfter, both in the years 1-9999 (JPKI_ERR_INVAL). */
JPKI_MUST_CHECK int x509i_validity_check(time_t nb, time_t na, jpki_err *err);
/* Time TLV of t as ASN1_TIME_set() writes it: UTCTime for 1950-2049,
 * GeneralizedTime otherwise (RFC 5280 4.1.2.5); t checked as above. */
#define X509I_TIME_DER_MAX 17
size_t x509i_time_der(time_t t, uint8_t out[X509I_TIME_DER_MAX]);
/* A Time's content in RFC 5280 4.1.2.5.1/.2 form (YYMMDDHHMMSSZ or
 * YYYYMMDDHHMMSSZ, a valid date and time) to time_t. */
JPKI_MUST_CHECK int x509i_time_parse(uint8_t tag, const jpki_rbuf *c,
				     time_t *out);
/* notAfter of a root whose notBefore is nb. */
time_t x509i_root_not_after(time_t nb);

/* tbs.c: the TBSCertificate of a leaf written as DER from the checked
 * subject values, byte for byte what the object builders' certificate
 * encodes to once signed. */
typedef struct x509i_leaf_in {
	const jpki_issuer_site *site;
	const char *cn;	       /* the subject CN, checked */
	const jpki_basic4 *b4; /* signature certificate: the SAN values */
	EVP_PKEY *pub;
	const uint8_t *serial;
	size_t serial_len;
	time_t nb, na;
} x509i_leaf_in;
JPKI_MUST_CHECK int x509i_tbs_write(const x509_issuer *iss,
				    const x509i_leaf_in *in, uint8_t *out,
				    size_t out_cap, size_t *out_len,
				    jpki_err *err);

/* profile_sign.c, profile_auth.c: the subject checks both builders make,
 * in their order and words. */
#define X509I_SIGN_CN_LEN 28 /* 14 + 5 + 9 */
JPKI_MUST_CHECK int x509i_sign_subject(const jpki_sign_subject *subj,
				       char cn[X509I_SIGN_CN_LEN + 1],
				       jpki_basic4 *b4, jpki_err *err);
JPKI_MUST_CHECK int x509i_auth_subject(const char *opaque_id,
				       const jpki_issuer_site *site,
				       jpki_err *err);

/* basic4.c */
/* The SAN value, the six otherNames in OID order, in front of w. */
JPKI_MUST_CHECK int x509i_put_basic4_san(x509i_dw *w, const jpki_basic4 *b4,
					 jpki_err *err);
JPKI_MUST_CHECK int x509i_add_basic4_san(X509 *x, const jpki_basic4 *b4,
					 jpki_err *err);
/* The SAN value as x509i_put_basic4_san writes it, read back strictly:
 * exactly the six otherNames in OID order, UTF8String values of
 * well-formed UTF-8 within the fields' sizes, DER.  JPKI_ERR_PARSE for
 * anything else (x509i_basic4_read then says what); *out is written as
 * it goes, also on failure (the caller cleanses it). */
JPKI_MUST_CHECK int x509i_basic4_parse(const uint8_t *der, size_t len,
				       jpki_basic4 *out);
/* Read the basic-4 otherNames of gens into out.  *seen and *utf8 get a
 * bit per slot present / present as UTF8String; *foreign counts names
 * that are not basic-4 otherNames.  JPKI_ERR_NOT_FOUND when none. */
JPKI_MUST_CHECK int x509i_basic4_read(const GENERAL_NAMES *gens,
				      jpki_basic4 *out, unsigned *seen,
				      unsigned *utf8, int *foreign,
				      jpki_err *err);

/* substitute.c: strict UTF-8 (no overlongs, surrogates, NUL or C0/DEL
 * controls) of len bytes. */
bool x509i_utf8_ok(const unsigned char *s, size_t len);

#endif
