/* x509: the issuing fast path (cached tables, hand-encoded extensions,
 * the JIS membership table) against a reference built the slow, generic
 * OpenSSL way the module used before: byte-identical certificates for both
 * hierarchies and profiles, several subjects, key sizes and key origins;
 * the same from two threads at once; x509_substitute against glibc iconv
 * for every code point; lints that still refuse what they refused. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iconv.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "openjpki/x509.h"
#include "x509_fixture.h"

static EVP_PKEY *root_key;
static EVP_PKEY *leaf_keys[4]; /* full 2048, public-only 2048, 3072, 4096 */
#define NLEAF ((int)(sizeof(leaf_keys) / sizeof(leaf_keys[0])))

static const jpki_issuer_site sites[] = {
    {"Tokyo-to", "Chiyoda-ku", "ABC123XYZ"},
    {"Hokkaido", "Sapporo-shi Chuo-ku", "131016001"},
    {"Kyoto-fu", "A", "Z9-Z9_Z9."},
};

static int setup(void **state)
{
	(void)state;
	root_key = EVP_RSA_gen(2048);
	leaf_keys[0] = EVP_RSA_gen(2048);
	leaf_keys[2] = EVP_RSA_gen(3072);
	leaf_keys[3] = EVP_RSA_gen(4096);
	if (root_key == NULL || leaf_keys[0] == NULL || leaf_keys[2] == NULL ||
	    leaf_keys[3] == NULL)
		return -1;
	leaf_keys[1] = public_only(leaf_keys[0]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(root_key);
	for (int i = 0; i < NLEAF; i++)
		EVP_PKEY_free(leaf_keys[i]);
	return 0;
}

/* ---- reference: the generic OpenSSL construction ---------------------- */

/* JIS X 0208/0212 membership of one character, asked of iconv directly. */
static bool ref_in_jis(iconv_t to, iconv_t back, const char *p, size_t n)
{
	char src[4];
	char euc[8];
	char round[8];
	char *ip = src;
	char *op = euc;
	size_t il = n;
	size_t ol = sizeof(euc);
	memcpy(src, p, n);
	(void)iconv(to, NULL, NULL, NULL, NULL);
	if (iconv(to, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	size_t elen = sizeof(euc) - ol;
	const unsigned char *e = (const unsigned char *)euc;
	bool ok = (elen == 2 && e[0] >= 0xa1 && e[0] <= 0xfe && e[1] >= 0xa1 &&
		   e[1] <= 0xfe) ||
		  (elen == 3 && e[0] == 0x8f && e[1] >= 0xa1 && e[1] <= 0xfe &&
		   e[2] >= 0xa1 && e[2] <= 0xfe);
	if (!ok)
		return false;
	ip = euc;
	il = elen;
	op = round;
	ol = sizeof(round);
	(void)iconv(back, NULL, NULL, NULL, NULL);
	if (iconv(back, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	return sizeof(round) - ol == n && memcmp(round, p, n) == 0;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The substitute string of well-formed, control-free UTF-8 `in`. */
static void ref_substitute(const char *in, char *out, size_t cap)
{
	iconv_t to = iconv_open("EUC-JP", "UTF-8");
	iconv_t back = iconv_open("UTF-8", "EUC-JP");
	size_t w = 0;
	bool subst = false;
	assert_true(to != (iconv_t)-1 && back != (iconv_t)-1);
	for (size_t off = 0; in[off] != '\0';) {
		unsigned char c = (unsigned char)in[off];
		size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		assert_true(w + 4 < cap);
		if (n == 1 || ref_in_jis(to, back, in + off, n)) {
			memcpy(out + w, in + off, n);
			w += n;
		} else {
			memcpy(out + w, "\xe3\x80\x93", 3);
			w += 3;
			subst = true;
		}
		off += n;
	}
	out[subst ? w : 0] = '\0';
	iconv_close(to);
	iconv_close(back);
}

static void ref_name_add(X509_NAME *n, int nid, int type, const char *v)
{
	assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, type,
						    (const unsigned char *)v,
						    (int)strlen(v), -1, 0),
			 1);
}

static void ref_other(GENERAL_NAMES *gens, const char *oid, const char *val)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *v = ASN1_TYPE_new();
	ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();
	assert_true(gn != NULL && v != NULL && u != NULL);
	assert_int_equal(ASN1_STRING_set(u, val, (int)strlen(val)), 1);
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, u);
	assert_int_equal(
	    GENERAL_NAME_set0_othername(gn, OBJ_txt2obj(oid, 1), v), 1);
	assert_true(sk_GENERAL_NAME_push(gens, gn) > 0);
}

typedef struct ref_in {
	jpki_profile prof;
	jpki_cert_kind kind;
	X509 *issuer;
	const jpki_sign_subject *subj; /* kind == JPKI_CERT_SIGN */
	const char *opaque_id;	       /* kind == JPKI_CERT_AUTH */
	const jpki_issuer_site *site;
	EVP_PKEY *pub;
	const uint8_t *serial;
	size_t serial_len;
	time_t nb, na;
} ref_in;

static X509 *ref_build(const ref_in *in)
{
	bool prod = in->prof == JPKI_PROFILE_PRODUCTION;
	bool sign = in->kind == JPKI_CERT_SIGN;
	X509 *x = X509_new();
	X509_NAME *dn = X509_NAME_new();
	assert_true(x != NULL && dn != NULL);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	size_t sl = in->serial_len;
	const uint8_t *sp = in->serial;
	while (sl > 0 && sp[0] == 0) {
		sp++;
		sl--;
	}
	BIGNUM *bn = BN_bin2bn(sp, (int)sl, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_set_serialNumber(x, ai), 1);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), in->nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), in->na));
	assert_int_equal(X509_set_pubkey(x, in->pub), 1);

	ref_name_add(dn, NID_countryName, V_ASN1_PRINTABLESTRING, "JP");
	if (sign) {
		const jpki_sign_subject *s = in->subj;
		jpki_date d = jpki_date_of(s->requested);
		long secs = (long)(s->requested - jpki_date_start(d));
		char cn[64];
		snprintf(cn, sizeof(cn), "%04d%02d%02d%02ld%02ld%02ld%05u%s",
			 d.y, d.m, d.d, secs / 3600, secs / 60 % 60, secs % 60,
			 s->sequence, in->site->window_id);
		ref_name_add(dn, NID_localityName, V_ASN1_UTF8STRING,
			     in->site->pref_roman);
		ref_name_add(dn, NID_localityName, V_ASN1_UTF8STRING,
			     in->site->city_roman);
		ref_name_add(dn, NID_commonName, V_ASN1_UTF8STRING, cn);
	} else {
		ref_name_add(dn, NID_commonName, V_ASN1_UTF8STRING,
			     in->opaque_id);
	}
	assert_int_equal(X509_set_subject_name(x, dn), 1);
	assert_int_equal(
	    X509_set_issuer_name(x, X509_get_subject_name(in->issuer)), 1);
	X509_NAME_free(dn);

	/* keyUsage */
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	assert_int_equal(ASN1_BIT_STRING_set_bit(ku, 0, 1), 1);
	if (sign)
		assert_int_equal(ASN1_BIT_STRING_set_bit(ku, 1, 1), 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0), 1);
	ASN1_BIT_STRING_free(ku);

	/* certificatePolicies + CPS */
	const char *pol =
	    sign ? (prod ? JPKI_OID_POLICY_SIGN : JPKI_OID_POLICY_SIGN_TEST)
		 : (prod ? JPKI_OID_POLICY_AUTH : JPKI_OID_POLICY_AUTH_TEST);
	const char *uri = prod ? JPKI_CPS_URI : JPKI_CPS_URI_TEST;
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	POLICYQUALINFO *q = POLICYQUALINFO_new();
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = OBJ_txt2obj(pol, 1);
	q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
	q->d.cpsuri = ASN1_IA5STRING_new();
	ASN1_STRING_set(q->d.cpsuri, uri, (int)strlen(uri));
	pi->qualifiers = sk_POLICYQUALINFO_new_null();
	sk_POLICYQUALINFO_push(pi->qualifiers, q);
	sk_POLICYINFO_push(cp, pi);
	assert_int_equal(
	    X509_add1_ext_i2d(x, NID_certificate_policies, cp, 1, 0), 1);
	CERTIFICATEPOLICIES_free(cp);

	/* subjectAltName: the basic-4 data */
	if (sign) {
		const jpki_sign_subject *s = in->subj;
		char name_subst[JPKI_B4_NAME_MAX];
		char addr_subst[JPKI_B4_ADDR_MAX];
		char sex[2] = {(char)('0' + s->sex), '\0'};
		char birth[10];
		ref_substitute(s->name, name_subst, sizeof(name_subst));
		ref_substitute(s->address, addr_subst, sizeof(addr_subst));
		assert_int_equal(rules_era_date(s->birth, birth, NULL), 0);
		GENERAL_NAMES *gens = GENERAL_NAMES_new();
		ref_other(gens, JPKI_OID_NAME, s->name);
		ref_other(gens, JPKI_OID_NAME_SUBST, name_subst);
		ref_other(gens, JPKI_OID_SEX, sex);
		ref_other(gens, JPKI_OID_BIRTH, birth);
		ref_other(gens, JPKI_OID_ADDRESS, s->address);
		ref_other(gens, JPKI_OID_ADDRESS_SUBST, addr_subst);
		assert_int_equal(
		    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
		GENERAL_NAMES_free(gens);
	}

	/* cRLDistributionPoints: the municipality's partition */
	X509_NAME *dp = X509_NAME_new();
	char cn[80];
	snprintf(cn, sizeof(cn), "%s CRLDP", in->site->city_roman);
	ref_name_add(dp, NID_countryName, V_ASN1_PRINTABLESTRING, "JP");
	ref_name_add(dp, NID_organizationName, V_ASN1_UTF8STRING,
		     prod ? "JPKI" : "JPKI-TEST");
	ref_name_add(dp, NID_organizationalUnitName, V_ASN1_UTF8STRING,
		     sign ? "JPKI for digital signature"
			  : "JPKI for user authentication");
	ref_name_add(dp, NID_organizationalUnitName, V_ASN1_UTF8STRING,
		     "CRL Distribution Points");
	ref_name_add(dp, NID_organizationalUnitName, V_ASN1_UTF8STRING,
		     in->site->pref_roman);
	ref_name_add(dp, NID_commonName, V_ASN1_UTF8STRING, cn);
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *p = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	p->distpoint = DIST_POINT_NAME_new();
	p->distpoint->type = 0;
	p->distpoint->name.fullname = GENERAL_NAMES_new();
	gn->type = GEN_DIRNAME;
	gn->d.directoryName = dp;
	sk_GENERAL_NAME_push(p->distpoint->name.fullname, gn);
	sk_DIST_POINT_push(dps, p);
	assert_int_equal(
	    X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0), 1);
	CRL_DIST_POINTS_free(dps);

	/* authorityKeyIdentifier = issuer's SKI; subjectKeyIdentifier */
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	akid->keyid = X509_get_ext_d2i(in->issuer, NID_subject_key_identifier,
				       NULL, NULL);
	assert_non_null(akid->keyid);
	assert_int_equal(
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
	AUTHORITY_KEYID_free(akid);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	assert_int_equal(X509_pubkey_digest(x, EVP_sha1(), md, &mdlen), 1);
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(ski, md, (int)mdlen);
	assert_int_equal(
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0), 1);
	ASN1_OCTET_STRING_free(ski);
	return x;
}

/* ---- the module's path -------------------------------------------------- */

static X509 *make_root(jpki_profile prof, jpki_cert_kind kind)
{
	static const uint8_t one[] = {1};
	X509 *x = NULL;
	jpki_err err = {0};
	if (x509_root_build(prof, kind, root_key, one, 1,
			    at("2025-01-05T01:02:03Z"), &x, &err) != 0)
		fail_msg("root: %s", err.msg);
	assert_true(X509_sign(x, root_key, EVP_sha256()) > 0);
	return x;
}

static int fast_build(const ref_in *in, X509 **out, jpki_err *err)
{
	if (in->kind == JPKI_CERT_SIGN)
		return x509_sign_cert_build(in->prof, in->issuer, in->subj,
					    in->pub, in->serial, in->serial_len,
					    in->nb, in->na, out, err);
	return x509_auth_cert_build(in->prof, in->issuer, in->opaque_id,
				    in->site, in->pub, in->serial,
				    in->serial_len, in->nb, in->na, out, err);
}

static uint8_t *der_of(X509 *x, int *len)
{
	unsigned char *der = NULL;
	*len = i2d_X509(x, &der);
	assert_true(*len > 0);
	return der;
}

/* Build `in` both ways, lint ours, sign both (PKCS#1 v1.5 is
 * deterministic) and compare the DER byte for byte.  Returns the number
 * of mismatches, so that threads can count them. */
static int compare_one(const ref_in *in, char *why, size_t why_cap)
{
	X509 *ours = NULL;
	jpki_err err = {0};
	int bad = 0;
	if (fast_build(in, &ours, &err) != 0) {
		snprintf(why, why_cap, "build: %s", err.msg);
		return 1;
	}
	X509 *ref = ref_build(in);
	if (x509_lint_leaf(in->prof, in->kind, ours, &err) != 0) {
		snprintf(why, why_cap, "lint: %s", err.msg);
		bad = 1;
	}
	if (X509_sign(ours, root_key, EVP_sha256()) <= 0 ||
	    X509_sign(ref, root_key, EVP_sha256()) <= 0) {
		snprintf(why, why_cap, "signing failed");
		bad = 1;
	}
	int la = 0;
	int lb = 0;
	uint8_t *a = der_of(ours, &la);
	uint8_t *b = der_of(ref, &lb);
	if (la != lb || memcmp(a, b, (size_t)la) != 0) {
		int i = 0;
		while (i < la && i < lb && a[i] == b[i])
			i++;
		snprintf(why, why_cap,
			 "DER differs at byte %d (%d vs %d bytes)", i, la, lb);
		bad = 1;
	}
	/* the certificate's key object is the caller's key */
	if (EVP_PKEY_eq(X509_get0_pubkey(ours), in->pub) != 1) {
		snprintf(why, why_cap, "public key object differs");
		bad = 1;
	}
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_free(ours);
	X509_free(ref);
	return bad;
}

static const jpki_sign_subject subjects[] = {
    {"山田　太郎",
     "東京都千代田区外神田１丁目２番３号　ＡＢＣ 101",
     1,
     {1980, 12, 31},
     0,
     42,
     NULL},
    {"髙橋　𠮷子",
     "大阪府大阪市北区𠮷田町１番地",
     2,
     {2019, 5, 1},
     0,
     99999,
     NULL},
    {"森鷗外", "ｱｲｳ県¥市", 1, {1926, 12, 25}, 0, 0, NULL},
    {"Smith John", "1-2-3 Kita, Sapporo", 2, {1989, 1, 8}, 0, 7, NULL},
};
#define NSUBJ ((int)(sizeof(subjects) / sizeof(subjects[0])))

static const uint8_t serial_plain[] = {0x00, 0x7f, 0x10, 0x20};
static const uint8_t serial_high[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7,
					8,    9, 1, 2, 3, 4, 5, 6};
static const uint8_t serial_max[20] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Case number i of the comparison table: every combination is reached
 * by some i in 0..63. */
static void make_case(int i, X509 *roots[2][3], jpki_sign_subject *subj,
		      char *id, size_t id_cap, ref_in *in)
{
	memset(in, 0, sizeof(*in));
	in->prof = (i & 1) != 0 ? JPKI_PROFILE_PRODUCTION : JPKI_PROFILE_TEST;
	in->kind = (i & 2) != 0 ? JPKI_CERT_AUTH : JPKI_CERT_SIGN;
	in->issuer = roots[in->prof][in->kind];
	in->site = &sites[(i / 4) % 3];
	in->pub = leaf_keys[(i / 3) % NLEAF];
	switch ((i / 5) % 3) {
	case 0:
		in->serial = serial_plain;
		in->serial_len = sizeof(serial_plain);
		break;
	case 1:
		in->serial = serial_high;
		in->serial_len = sizeof(serial_high);
		break;
	default:
		in->serial = serial_max;
		in->serial_len = sizeof(serial_max);
		break;
	}
	/* UTCTime, and GeneralizedTime from 2050 on */
	in->nb = (i % 7) == 6 ? at("2050-03-01T00:00:00Z")
			      : at("2025-01-15T10:21:00+09:00");
	in->na = (i % 7) == 6 ? jpki_date_end((jpki_date){2054, 12, 31})
			      : jpki_date_end((jpki_date){2029, 12, 31});
	*subj = subjects[(i / 2) % NSUBJ];
	subj->requested = in->nb - 30 - (i * 3600 + i);
	subj->site = in->site;
	in->subj = subj;
	snprintf(id, id_cap, "%010dAGCIEG%07dA", i * 7919, i);
	in->opaque_id = id;
}

static void make_roots(X509 *roots[2][3])
{
	for (int p = 0; p < 2; p++) {
		roots[p][0] = NULL;
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
			roots[p][k] =
			    make_root((jpki_profile)p, (jpki_cert_kind)k);
	}
}

static void free_roots(X509 *roots[2][3])
{
	for (int p = 0; p < 2; p++)
		for (int k = 0; k < 3; k++)
			X509_free(roots[p][k]);
}

static void test_same_der(void **state)
{
	(void)state;
	X509 *roots[2][3];
	make_roots(roots);
	for (int i = 0; i < 64; i++) {
		jpki_sign_subject subj;
		char id[40];
		char why[JPKI_ERR_MSG_MAX + 32];
		ref_in in;
		make_case(i, roots, &subj, id, sizeof(id), &in);
		if (compare_one(&in, why, sizeof(why)) != 0)
			fail_msg("case %d (%s %s): %s", i,
				 jpki_profile_name(in.prof),
				 jpki_cert_kind_name(in.kind), why);
	}
	free_roots(roots);
}

/* A key whose object is not provider-native (ameth-backed, as engines
 * give them) goes through the same checks and gives the same bytes. */
static void test_legacy_key(void **state)
{
	(void)state;
	X509 *roots[2][3];
	make_roots(roots);
	X509 *tmp = X509_new();
	assert_int_equal(X509_set_pubkey(tmp, leaf_keys[0]), 1);
	const unsigned char *rsa = NULL;
	int rsa_len = 0;
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &rsa, &rsa_len, NULL,
						X509_get_X509_PUBKEY(tmp)),
			 1);
	EVP_PKEY *legacy = d2i_PublicKey(EVP_PKEY_RSA, NULL, &rsa, rsa_len);
	assert_non_null(legacy);
	assert_null(EVP_PKEY_get0_provider(legacy));
	for (int i = 0; i < 8; i++) {
		jpki_sign_subject subj;
		char id[40];
		char why[JPKI_ERR_MSG_MAX + 32];
		ref_in in;
		make_case(i, roots, &subj, id, sizeof(id), &in);
		in.pub = legacy;
		if (compare_one(&in, why, sizeof(why)) != 0)
			fail_msg("legacy key, case %d: %s", i, why);
	}
	EVP_PKEY_free(legacy);
	X509_free(tmp);
	free_roots(roots);
}

/* Two issuing threads, each with its own copies of the roots as a CA
 * handle has them, running while the module's tables are first built. */
#define PER_THREAD 48
struct worker {
	int id;
	int bad;
	char why[JPKI_ERR_MSG_MAX + 64];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	X509 *roots[2][3];
	make_roots(roots);
	for (int n = 0; n < PER_THREAD; n++) {
		jpki_sign_subject subj;
		char id[40];
		char why[JPKI_ERR_MSG_MAX + 32];
		ref_in in;
		make_case(n * 2 + w->id, roots, &subj, id, sizeof(id), &in);
		if (compare_one(&in, why, sizeof(why)) != 0 && w->bad++ == 0)
			snprintf(w->why, sizeof(w->why), "case %d: %s",
				 n * 2 + w->id, why);
	}
	free_roots(roots);
	return NULL;
}

static void test_two_threads(void **state)
{
	(void)state;
	struct worker w[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].bad != 0)
			fail_msg("thread %d: %d bad certificates, first %s", i,
				 w[i].bad, w[i].why);
	}
}

/* x509_substitute keeps exactly the characters iconv keeps, for every
 * code point that is not a control or a surrogate. */
static void test_substitute_matches_iconv(void **state)
{
	(void)state;
	iconv_t to = iconv_open("EUC-JP", "UTF-8");
	iconv_t back = iconv_open("UTF-8", "EUC-JP");
	jpki_err err = {0};
	long kept = 0;
	assert_true(to != (iconv_t)-1 && back != (iconv_t)-1);
	for (uint32_t cp = 0xa0; cp <= 0x10ffff; cp++) {
		char in[8];
		char out[16];
		bool needed = false;
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		size_t n = utf8_encode(cp, in);
		in[n] = '\0';
		bool want = ref_in_jis(to, back, in, n);
		if (x509_substitute(in, out, sizeof(out), &needed, &err) != 0)
			fail_msg("U+%04X: %s", (unsigned)cp, err.msg);
		if (needed == want)
			fail_msg("U+%04X: substituted %d, iconv keeps %d",
				 (unsigned)cp, needed, want);
		kept += want;
	}
	/* JIS X 0208 and 0212 have about 13,000 characters between them */
	assert_true(kept > 12000 && kept < 14000);
	iconv_close(to);
	iconv_close(back);
}

/* ---- lints ---------------------------------------------------------------
 * The lint compares extensions with their exact encodings; whatever the
 * old structural checks refused must still be refused with the same
 * message, and encodings the profile does not produce are refused too. */

static void replace_ext(X509 *x, int nid, int crit, const uint8_t *der,
			size_t len)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	assert_true(i >= 0);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)len), 1);
	X509_EXTENSION *e = X509_EXTENSION_create_by_NID(NULL, nid, crit, os);
	assert_non_null(e);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_int_equal(X509_add_ext(x, e, i), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
}

static void expect_lint(jpki_profile prof, jpki_cert_kind kind, X509 *x,
			int code, const char *msg)
{
	jpki_err err = {0};
	int rc = x509_lint_leaf(prof, kind, x, &err);
	if (rc != code || strstr(err.msg, msg) == NULL)
		fail_msg("lint gave %d \"%s\", wanted %d \"%s\"", rc, err.msg,
			 code, msg);
}

static X509 *built(X509 *roots[2][3], int i)
{
	jpki_sign_subject subj;
	char id[40];
	ref_in in;
	X509 *x = NULL;
	jpki_err err = {0};
	make_case(i, roots, &subj, id, sizeof(id), &in);
	if (fast_build(&in, &x, &err) != 0)
		fail_msg("build: %s", err.msg);
	return x;
}

static void test_lint_encodings(void **state)
{
	(void)state;
	const jpki_profile T = JPKI_PROFILE_TEST;
	X509 *roots[2][3];
	make_roots(roots);
	/* case 0: test sign; case 2: test auth */
	X509 *x = built(roots, 0);
	expect_lint(T, JPKI_CERT_SIGN, x, 0, "");

	/* keyUsage: the same bits in a non-DER BIT STRING (a trailing zero
	 * bit counted as used), and other bits */
	static const uint8_t ku_ber[] = {0x03, 0x02, 0x05, 0xc0};
	replace_ext(x, NID_key_usage, 1, ku_ber, sizeof(ku_ber));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "keyUsage");
	static const uint8_t ku_cs[] = {0x03, 0x02, 0x01, 0xc2};
	replace_ext(x, NID_key_usage, 1, ku_cs, sizeof(ku_cs));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "keyUsage must be exactly digitalSignature, "
		    "nonRepudiation");
	X509_free(x);

	/* certificatePolicies: two policies; no qualifier */
	x = built(roots, 0);
	/* the test sign policy 1.2.392.200149.8.5.1.0.20 alone */
	static const uint8_t cp_noq[] = {0x30, 0x0f, 0x30, 0x0d, 0x06, 0x0b,
					 0x2a, 0x83, 0x08, 0x8c, 0x9b, 0x55,
					 0x08, 0x05, 0x01, 0x00, 0x14};
	replace_ext(x, NID_certificate_policies, 1, cp_noq, sizeof(cp_noq));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "CPS qualifier");
	X509_free(x);

	/* subjectKeyIdentifier of another key; authorityKeyIdentifier with
	 * an issuer name; an empty one */
	x = built(roots, 0);
	static const uint8_t ski[] = {0x04, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9,
				      0,    1,	  2, 3, 4, 5, 6, 7, 8, 9, 0};
	replace_ext(x, NID_subject_key_identifier, 0, ski, sizeof(ski));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "subjectKeyIdentifier must be the SHA-1");
	X509_free(x);
	x = built(roots, 0);
	static const uint8_t aki_empty[] = {0x30, 0x02, 0x80, 0x00};
	replace_ext(x, NID_authority_key_identifier, 0, aki_empty,
		    sizeof(aki_empty));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "authorityKeyIdentifier must hold the issuer's key "
		    "identifier only");
	static const uint8_t aki_serial[] = {0x30, 0x06, 0x80, 0x01,
					     0x05, 0x82, 0x01, 0x01};
	replace_ext(x, NID_authority_key_identifier, 0, aki_serial,
		    sizeof(aki_serial));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "authorityKeyIdentifier must hold the issuer's key "
		    "identifier only");
	static const uint8_t aki_junk[] = {0x30, 0x05, 0x80, 0x01};
	replace_ext(x, NID_authority_key_identifier, 0, aki_junk,
		    sizeof(aki_junk));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "malformed authorityKeyIdentifier");
	X509_free(x);

	/* the six basic-4 values in another order */
	x = built(roots, 0);
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	GENERAL_NAME *first = sk_GENERAL_NAME_shift(gens);
	sk_GENERAL_NAME_push(gens, first);
	X509_EXTENSION_free(X509_delete_ext(
	    x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1)));
	X509_EXTENSION *san = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	assert_int_equal(X509_add_ext(x, san, 2), 1);
	X509_EXTENSION_free(san);
	GENERAL_NAMES_free(gens);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "subjectAltName must be the six basic-4 otherNames in "
		    "OID order");
	X509_free(x);

	/* a truncated subjectAltName; a CRLDP with a trailing byte */
	x = built(roots, 0);
	static const uint8_t san_trunc[] = {0x30, 0x05, 0xa0, 0x03};
	replace_ext(x, NID_subject_alt_name, 0, san_trunc, sizeof(san_trunc));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "malformed subjectAltName");
	X509_free(x);
	x = built(roots, 2);
	int i = X509_get_ext_by_NID(x, NID_crl_distribution_points, -1);
	const ASN1_OCTET_STRING *dp =
	    X509_EXTENSION_get_data(X509_get_ext(x, i));
	uint8_t longer[512];
	int dl = ASN1_STRING_length(dp);
	assert_true(dl > 0 && (size_t)dl < sizeof(longer));
	memcpy(longer, ASN1_STRING_get0_data(dp), (size_t)dl);
	longer[dl] = 0;
	replace_ext(x, NID_crl_distribution_points, 0, longer, (size_t)dl + 1);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT,
		    "cRLDistributionPoints");
	X509_free(x);

	/* the authentication certificate's partition of another hierarchy */
	x = built(roots, 2);
	X509 *sign = built(roots, 0);
	i = X509_get_ext_by_NID(sign, NID_crl_distribution_points, -1);
	dp = X509_EXTENSION_get_data(X509_get_ext(sign, i));
	replace_ext(x, NID_crl_distribution_points, 0,
		    ASN1_STRING_get0_data(dp), (size_t)ASN1_STRING_length(dp));
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT,
		    "cRLDistributionPoints is not the test auth partition");
	X509_free(sign);
	X509_free(x);

	/* a key that is not rsaEncryption */
	x = built(roots, 2);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_int_equal(X509_set_pubkey(x, ec), 1);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_KEY, "RSA");
	EVP_PKEY_free(ec);
	X509_free(x);
	free_roots(roots);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* first, so that the tables are built while both run */
	    cmocka_unit_test(test_two_threads),
	    cmocka_unit_test(test_same_der),
	    cmocka_unit_test(test_legacy_key),
	    cmocka_unit_test(test_substitute_matches_iconv),
	    cmocka_unit_test(test_lint_encodings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
