/* x509: the DER-first issuing path (x509_issuer, x509_sign_tbs_build,
 * x509_auth_tbs_build, x509_lint_leaf_tbs, x509_cert_assemble) against the
 * object builders: byte-identical TBSCertificates and signed certificates
 * over many inputs, the same refusals in the same words, every refusal of
 * the DER lint on tampered bytes (with the message), lint verdicts that
 * OpenSSL agrees with, two threads sharing an issuer, and the seeds of
 * tests/fuzz/corpus/fuzz_x509_tbs (rewritten when $JPKI_WRITE_TBS_SEEDS
 * names a directory). */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/validation_fixture.h"
#include "openjpki/util.h"
#include "openjpki/x509.h"
#include "x509_fixture.h"

#define P_TEST JPKI_PROFILE_TEST
#define P_PROD JPKI_PROFILE_PRODUCTION
#define K_SIGN JPKI_CERT_SIGN
#define K_AUTH JPKI_CERT_AUTH

static EVP_PKEY *root_key;
/* full 2048, public-only 2048, 3072, 4096, ameth-backed copy of [0] */
static EVP_PKEY *leaf_keys[5];
#define NLEAF ((int)(sizeof(leaf_keys) / sizeof(leaf_keys[0])))
static X509 *roots[2][3];
static x509_issuer *issuers[2][3];

static const jpki_issuer_site sites[] = {
    {"Tokyo-to", "Chiyoda-ku", "ABC123XYZ"},
    {"Hokkaido", "Sapporo-shi Chuo-ku", "131016001"},
    {"Kyoto-fu", "A", "Z9-Z9_Z9."},
    /* the longest municipality the CRLDP CN allows: 64 - " CRLDP" */
    {"Kagoshima-ken",
     "Kagoshima-shi Kagoshima-ken Kagoshima-gun Sakurajima-choXX", "K0000000Z"},
};
#define NSITE ((int)(sizeof(sites) / sizeof(sites[0])))

/* The same key as an ameth-backed object (as engines give them). */
static EVP_PKEY *legacy_copy(EVP_PKEY *k)
{
	X509 *tmp = X509_new();
	const unsigned char *rsa = NULL;
	int len = 0;
	assert_int_equal(X509_set_pubkey(tmp, k), 1);
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &rsa, &len, NULL,
						X509_get_X509_PUBKEY(tmp)),
			 1);
	EVP_PKEY *legacy = d2i_PublicKey(EVP_PKEY_RSA, NULL, &rsa, len);
	assert_non_null(legacy);
	assert_null(EVP_PKEY_get0_provider(legacy));
	X509_free(tmp);
	return legacy;
}

/* An RSA key with exponent e, or 2^64 + 1 when e is 0. */
static EVP_PKEY *rsa_key(unsigned bits, unsigned long e)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	assert_non_null(ctx);
	if (e != 0)
		assert_true(BN_set_word(bn, e));
	else
		assert_true(BN_set_bit(bn, 64) && BN_set_bit(bn, 0));
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static X509 *make_root(jpki_profile prof, jpki_cert_kind kind, EVP_PKEY *key)
{
	static const uint8_t one[] = {1};
	X509 *x = NULL;
	jpki_err err = {0};
	if (x509_root_build(prof, kind, key, one, 1, at("2025-01-05T01:02:03Z"),
			    &x, &err) != 0)
		fail_msg("root: %s", err.msg);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	root_key = EVP_RSA_gen(2048);
	leaf_keys[0] = EVP_RSA_gen(2048);
	leaf_keys[2] = EVP_RSA_gen(3072);
	leaf_keys[3] = EVP_RSA_gen(4096);
	if (root_key == NULL || leaf_keys[0] == NULL || leaf_keys[2] == NULL ||
	    leaf_keys[3] == NULL)
		return -1;
	leaf_keys[1] = public_only(leaf_keys[0]);
	leaf_keys[4] = legacy_copy(leaf_keys[0]);
	for (int p = 0; p < 2; p++) {
		for (int k = K_SIGN; k <= K_AUTH; k++) {
			roots[p][k] = make_root((jpki_profile)p,
						(jpki_cert_kind)k, root_key);
			if (x509_issuer_new((jpki_profile)p, (jpki_cert_kind)k,
					    roots[p][k], &issuers[p][k],
					    &err) != 0)
				return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int p = 0; p < 2; p++) {
		for (int k = 0; k < 3; k++) {
			X509_free(roots[p][k]);
			x509_issuer_free(issuers[p][k]);
		}
	}
	EVP_PKEY_free(root_key);
	for (int i = 0; i < NLEAF; i++)
		EVP_PKEY_free(leaf_keys[i]);
	return 0;
}

/* ---- inputs ----------------------------------------------------------- */

typedef struct leaf_in {
	jpki_profile prof;
	jpki_cert_kind kind;
	jpki_sign_subject subj; /* kind == K_SIGN */
	char id[72];		/* kind == K_AUTH */
	const jpki_issuer_site *site;
	EVP_PKEY *pub;
	const uint8_t *serial;
	size_t serial_len;
	time_t nb, na;
} leaf_in;

static const struct {
	const char *name, *address;
} people[] = {
    {"山田　太郎", "東京都千代田区外神田１丁目２番３号　ＡＢＣ 101"},
    {"髙橋　𠮷子", "大阪府大阪市北区𠮷田町１番地"}, /* substitutes */
    {"森鷗外", "ｱｲｳ県¥市"}, /* JIS X 0212 kept; 0201 kana, yen replaced */
    {"Smith John", "1-2-3 Kita, Sapporo"},
    {"𠀋𡈽𡌛𡑮𡢽𠮟𡚴𡸴𣇄𣗄𣜿𣝣𣳾𤟱𥒎𥔎𥝱𥧄𥶡𦫿𦹀𧃴𧚄𨉷𨏍𪆐𠂉",
     "長崎県𠮷野郡𩸽村"}, /* every character substituted */
};
#define NPEOPLE ((int)(sizeof(people) / sizeof(people[0])))

/* Births in every era and on its edges (rules/era.c). */
static const jpki_date births[] = {
    {1868, 1, 25},  {1912, 7, 29}, {1912, 7, 30},  {1926, 12, 24},
    {1926, 12, 25}, {1989, 1, 7},  {1989, 1, 8},   {2000, 2, 29},
    {2019, 4, 30},  {2019, 5, 1},  {2024, 12, 31},
};
#define NBIRTH ((int)(sizeof(births) / sizeof(births[0])))

static const uint8_t serial_plain[] = {0x00, 0x7f, 0x10, 0x20};
static const uint8_t serial_high[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7,
					8,    9, 1, 2, 3, 4, 5, 6};
static const uint8_t serial_max[20] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t serial_one[] = {0x01};
static const uint8_t serial_80[] = {0x00, 0x00, 0x80};
static const struct {
	const uint8_t *p;
	size_t n;
} serials[] = {
    {serial_plain, sizeof(serial_plain)}, {serial_high, sizeof(serial_high)},
    {serial_max, sizeof(serial_max)},	  {serial_one, sizeof(serial_one)},
    {serial_80, sizeof(serial_80)},
};
#define NSERIAL ((int)(sizeof(serials) / sizeof(serials[0])))

/* Validity periods: UTCTime, the 2049/2050 boundary on either side,
 * GeneralizedTime. */
static void validity(int i, time_t *nb, time_t *na)
{
	switch (i % 6) {
	case 0:
		*nb = at("2025-01-15T10:21:00+09:00");
		*na = jpki_date_end((jpki_date){2029, 12, 31});
		break;
	case 1: /* both UTCTime, notAfter the last day of 2049 */
		*nb = at("2045-06-01T00:00:00Z");
		*na = jpki_date_end((jpki_date){2049, 12, 31});
		break;
	case 2: /* the last UTCTime second, notAfter GeneralizedTime */
		*nb = at("2049-12-31T23:59:59Z");
		*na = jpki_date_end((jpki_date){2050, 1, 1});
		break;
	case 3: /* the first GeneralizedTime second */
		*nb = at("2050-01-01T00:00:00Z");
		*na = jpki_date_end((jpki_date){2054, 12, 31});
		break;
	case 4: /* 2050-01-01 JST is still 2049 in UTC */
		*nb = at("2049-12-31T16:00:00Z");
		*na = jpki_date_end((jpki_date){2050, 12, 31});
		break;
	default:
		*nb = at("2099-02-28T12:00:00Z");
		*na = jpki_date_end((jpki_date){2104, 2, 29});
		break;
	}
}

/* Case i of the comparison table: every combination of profile, kind,
 * key and serial, and each of the other tables, is reached by i in
 * 0..NCASES-1. */
#define NCASES 240
static void make_case(int i, leaf_in *in)
{
	memset(in, 0, sizeof(*in));
	in->prof = (i & 1) != 0 ? P_PROD : P_TEST;
	in->kind = (i & 2) != 0 ? K_AUTH : K_SIGN;
	in->site = &sites[(i / 4) % NSITE];
	in->pub = leaf_keys[(i / 4) % NLEAF];
	in->serial = serials[(i / 3) % NSERIAL].p;
	in->serial_len = serials[(i / 3) % NSERIAL].n;
	validity(i / 2, &in->nb, &in->na);
	in->subj.name = people[(i / 4) % NPEOPLE].name;
	in->subj.address = people[(i / 7) % NPEOPLE].address;
	in->subj.sex = 1 + (i / 5) % 2;
	in->subj.birth = births[(i / 2) % NBIRTH];
	in->subj.requested = in->nb - 30 - (i * 3600 + i);
	in->subj.sequence = (unsigned)(i * 4507) % 100000;
	in->subj.site = in->site;
	if (i % 11 == 0)
		snprintf(in->id, sizeof(in->id), "%.64s",
			 "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
			 "rstuvwxyz!#$%&'()");
	else
		snprintf(in->id, sizeof(in->id), "%010dAGCIEG%07dA", i * 7919,
			 i);
}

static int obj_build(const leaf_in *in, X509 **out, jpki_err *err)
{
	X509 *issuer = roots[in->prof][in->kind];
	if (in->kind == K_SIGN)
		return x509_sign_cert_build(in->prof, issuer, &in->subj,
					    in->pub, in->serial, in->serial_len,
					    in->nb, in->na, out, err);
	return x509_auth_cert_build(in->prof, issuer, in->id, in->site, in->pub,
				    in->serial, in->serial_len, in->nb, in->na,
				    out, err);
}

static int tbs_build(const leaf_in *in, const x509_issuer *iss, uint8_t *out,
		     size_t cap, size_t *len, jpki_err *err)
{
	if (in->kind == K_SIGN)
		return x509_sign_tbs_build(iss, &in->subj, in->pub, in->serial,
					   in->serial_len, in->nb, in->na, out,
					   cap, len, err);
	return x509_auth_tbs_build(iss, in->id, in->site, in->pub, in->serial,
				   in->serial_len, in->nb, in->na, out, cap,
				   len, err);
}

static void build_tbs(const leaf_in *in, uint8_t *out, size_t *len)
{
	jpki_err err = {0};
	if (tbs_build(in, issuers[in->prof][in->kind], out, X509_TBS_MAX, len,
		      &err) != 0)
		fail_msg("TBS: %s", err.msg);
}

/* PKCS#1 v1.5 signature of SHA-256(tbs) by the root key, as the CA makes
 * it for the DER path. */
static size_t sign_tbs(const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t siglen = cap;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(root_key, NULL);
	assert_int_equal(EVP_Digest(tbs, len, md, &mdlen, EVP_sha256(), NULL),
			 1);
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &siglen, md, mdlen), 1);
	EVP_PKEY_CTX_free(c);
	return siglen;
}

static void hexdiff(const char *what, const uint8_t *a, size_t la,
		    const uint8_t *b, size_t lb)
{
	size_t i = 0;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	fail_msg("%s differ at byte %zu (%zu vs %zu bytes)", what, i, la, lb);
}

/* ---- byte identity ------------------------------------------------------ */

static void check_case(const leaf_in *in, const char *tag)
{
	uint8_t tbs[X509_TBS_MAX];
	uint8_t sig[512];
	uint8_t cert[X509_TBS_MAX + 1024];
	size_t tbs_len = 0;
	size_t cert_len = 0;
	X509 *x = NULL;
	jpki_err err = {0};
	if (obj_build(in, &x, &err) != 0)
		fail_msg("%s: object: %s", tag, err.msg);
	build_tbs(in, tbs, &tbs_len);
	/* both lints accept, the object before it is signed (as ca/ runs
	 * it) and after */
	if (x509_lint_leaf_tbs(issuers[in->prof][in->kind], tbs, tbs_len,
			       &err) != 0)
		fail_msg("%s: DER lint: %s", tag, err.msg);
	if (x509_lint_leaf(in->prof, in->kind, x, &err) != 0)
		fail_msg("%s: object lint: %s", tag, err.msg);
	assert_true(X509_sign(x, root_key, EVP_sha256()) > 0);
	if (x509_lint_leaf(in->prof, in->kind, x, &err) != 0)
		fail_msg("%s: object lint, signed: %s", tag, err.msg);
	unsigned char *ref = NULL;
	int ref_len = i2d_re_X509_tbs(x, &ref);
	assert_true(ref_len > 0);
	if ((size_t)ref_len != tbs_len || memcmp(ref, tbs, tbs_len) != 0)
		hexdiff(tag, tbs, tbs_len, ref, (size_t)ref_len);
	OPENSSL_free(ref);

	/* PKCS#1 v1.5 is deterministic: the whole certificate is X509_sign's */
	size_t sig_len = sign_tbs(tbs, tbs_len, sig, sizeof(sig));
	if (x509_cert_assemble(tbs, tbs_len, sig, sig_len, cert, sizeof(cert),
			       &cert_len, &err) != 0)
		fail_msg("%s: assemble: %s", tag, err.msg);
	unsigned char *full = NULL;
	int full_len = i2d_X509(x, &full);
	assert_true(full_len > 0);
	if ((size_t)full_len != cert_len || memcmp(full, cert, cert_len) != 0)
		hexdiff(tag, cert, cert_len, full, (size_t)full_len);
	OPENSSL_free(full);
	const unsigned char *p = cert;
	X509 *y = d2i_X509(NULL, &p, (long)cert_len);
	assert_non_null(y);
	assert_ptr_equal(p, cert + cert_len);
	assert_int_equal(X509_verify(y, root_key), 1);
	X509_free(y);
	X509_free(x);
}

static void test_same_tbs(void **state)
{
	(void)state;
	for (int i = 0; i < NCASES; i++) {
		leaf_in in;
		char tag[64];
		make_case(i, &in);
		snprintf(tag, sizeof(tag), "case %d (%s %s)", i,
			 jpki_profile_name(in.prof),
			 jpki_cert_kind_name(in.kind));
		check_case(&in, tag);
	}
}

/* Every era's births and every validity shape, for both kinds. */
static void test_dates(void **state)
{
	(void)state;
	for (int b = 0; b < NBIRTH; b++) {
		for (int v = 0; v < 6; v++) {
			leaf_in in;
			char tag[64];
			make_case(0, &in);
			in.kind = (v & 1) != 0 ? K_AUTH : K_SIGN;
			in.subj.birth = births[b];
			validity(v, &in.nb, &in.na);
			in.subj.requested = in.nb - 1;
			snprintf(tag, sizeof(tag), "birth %d validity %d", b,
				 v);
			check_case(&in, tag);
		}
	}
}

/* ---- the same refusals ----------------------------------------------------
 */

/* Both builders refuse `in` with code `code` and the same message. */
static void expect_refusal(const leaf_in *in, const x509_issuer *iss, int code,
			   const char *msg)
{
	uint8_t out[X509_TBS_MAX];
	size_t len = 12345;
	X509 *x = NULL;
	jpki_err e1 = {0};
	jpki_err e2 = {0};
	memset(out, 0x5a, sizeof(out));
	int r1 = obj_build(in, &x, &e1);
	int r2 = tbs_build(in, iss, out, sizeof(out), &len, &e2);
	if (r1 != code || r2 != code || strcmp(e1.msg, e2.msg) != 0 ||
	    strstr(e2.msg, msg) == NULL)
		fail_msg("object %d \"%s\", TBS %d \"%s\", wanted %d \"%s\"",
			 r1, e1.msg, r2, e2.msg, code, msg);
	assert_null(x);
	/* outputs untouched */
	assert_int_equal(len, 12345);
	for (size_t i = 0; i < sizeof(out); i++)
		if (out[i] != 0x5a)
			fail_msg("output written at %zu on refusal", i);
}

static void test_same_refusals(void **state)
{
	(void)state;
	EVP_PKEY *small = rsa_key(1024, 65537);
	EVP_PKEY *e3 = rsa_key(2048, 3);
	EVP_PKEY *e_big = rsa_key(2048, 0);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	jpki_issuer_site bad_site;
	uint8_t zero[3] = {0, 0, 0};
	uint8_t big[21];
	leaf_in in;
	const x509_issuer *is = issuers[P_TEST][K_SIGN];
	const x509_issuer *ia = issuers[P_TEST][K_AUTH];

	for (int k = K_SIGN; k <= K_AUTH; k++) {
		const x509_issuer *iss = k == K_SIGN ? is : ia;
		make_case(k == K_SIGN ? 0 : 2, &in);
		/* validity, then key, then serial: x509i_cert_new's order */
		in.na = in.nb;
		in.pub = small;
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "notBefore must be before notAfter");
		make_case(k == K_SIGN ? 0 : 2, &in);
		in.nb = (time_t)-62135596801LL; /* 0000-12-31T23:59:59Z */
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "validity must lie within the years 1-9999");
		make_case(k == K_SIGN ? 0 : 2, &in);
		in.na = (time_t)253402300800LL; /* 10000-01-01 */
		expect_refusal(&in, iss, JPKI_ERR_INVAL, "years 1-9999");
		make_case(k == K_SIGN ? 0 : 2, &in);
		in.pub = small;
		in.serial = zero;
		in.serial_len = sizeof(zero);
		expect_refusal(&in, iss, JPKI_ERR_KEY,
			       "RSA key has 1024 bits, at least 2048");
		in.pub = e3;
		expect_refusal(&in, iss, JPKI_ERR_KEY,
			       "RSA public exponent is 3, must be 65537");
		/* over the 64 bits the fast path reads */
		in.pub = e_big;
		expect_refusal(&in, iss, JPKI_ERR_KEY,
			       "RSA public exponent is 18446744073709551617, "
			       "must be 65537");
		in.pub = ec;
		expect_refusal(&in, iss, JPKI_ERR_KEY,
			       "key must be RSA (rsaEncryption), not EC");
		in.pub = NULL;
		expect_refusal(&in, iss, JPKI_ERR_INVAL, "no public key");
		in.pub = leaf_keys[0];
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "serial number must be positive");
		in.serial = NULL;
		in.serial_len = 0;
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "serial number must be positive");
		in.serial_len = 3;
		expect_refusal(&in, iss, JPKI_ERR_INVAL, "no serial number");
		memset(big, 0x11, sizeof(big));
		in.serial = big;
		in.serial_len = 21;
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "serial number over 20 octets");
		big[1] = 0x80;
		in.serial = big + 1;
		in.serial_len = 20;
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "serial number over 20 octets");
		/* the other hierarchy's issuer */
		make_case(k == K_SIGN ? 0 : 2, &in);
		X509 *swap = roots[P_TEST][k];
		roots[P_TEST][k] = roots[P_TEST][k == K_SIGN ? K_AUTH : K_SIGN];
		expect_refusal(&in, k == K_SIGN ? ia : is, JPKI_ERR_INVAL,
			       k == K_SIGN
				   ? "issuer is not the test sign root"
				   : "issuer is not the test auth root");
		roots[P_TEST][k] = swap;
		/* sites */
		bad_site = *in.site;
		bad_site.pref_roman[0] = '\0';
		in.site = &bad_site;
		in.subj.site = &bad_site;
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "prefecture must be 1-63 printable ASCII");
		bad_site = sites[0];
		memset(bad_site.city_roman, 'x', 59);
		bad_site.city_roman[59] = '\0';
		expect_refusal(&in, iss, JPKI_ERR_INVAL,
			       "municipality must be 1-58 printable ASCII");
		bad_site = sites[0];
		bad_site.city_roman[2] = '\t';
		expect_refusal(&in, iss, JPKI_ERR_INVAL, "municipality");
	}

	/* signature certificate subjects */
	static const struct {
		const char *name, *address;
		int sex;
		jpki_date birth;
		unsigned seq;
		time_t requested;
		const char *msg;
	} bad[] = {
	    {"山田", "東京", 3, {1980, 1, 1}, 1, 0, "sex must be 1"},
	    {"山田", "東京", 1, {1980, 1, 1}, 100000, 0, "over 99999"},
	    {"山田\n太郎", "東京", 1, {1980, 1, 1}, 1, 0, "name"},
	    {"山田", "\xe6\x9d", 1, {1980, 1, 1}, 1, 0, "address"},
	    {"", "東京", 1, {1980, 1, 1}, 1, 0, "name and address"},
	    {"山田", NULL, 1, {1980, 1, 1}, 1, 0, "name and address"},
	    {"山田", "東京", 1, {1868, 1, 24}, 1, 0, "before the Meiji era"},
	    {"山田", "東京", 1, {2019, 2, 29}, 1, 0, "invalid date of birth"},
	    {"山田", "東京", 1, {1980, 1, 1}, 1, -1, "before 1970"},
	    {"山田",
	     "東京",
	     1,
	     {1980, 1, 1},
	     1,
	     (time_t)253402300800LL,
	     "out of range for the CN"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_case(0, &in);
		in.subj.name = bad[i].name;
		in.subj.address = bad[i].address;
		in.subj.sex = bad[i].sex;
		in.subj.birth = bad[i].birth;
		in.subj.sequence = bad[i].seq;
		if (bad[i].requested != 0)
			in.subj.requested = bad[i].requested;
		expect_refusal(&in, is, JPKI_ERR_INVAL, bad[i].msg);
	}
	char longname[JPKI_B4_NAME_MAX + 8];
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	make_case(0, &in);
	in.subj.name = longname;
	expect_refusal(&in, is, JPKI_ERR_RANGE, "name over 383 bytes");
	make_case(0, &in);
	jpki_issuer_site short_window = sites[0];
	short_window.window_id[8] = '\0';
	in.site = &short_window;
	in.subj.site = &short_window;
	expect_refusal(&in, is, JPKI_ERR_INVAL, "window id must be exactly 9");

	/* authentication certificate ids */
	static const char *const bad_ids[] = {"", "with space", "tab\tid",
					      "\xe5\xb1\xb1"};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		make_case(2, &in);
		snprintf(in.id, sizeof(in.id), "%s", bad_ids[i]);
		expect_refusal(&in, ia, JPKI_ERR_INVAL,
			       "opaque id must be 1-64 printable ASCII");
	}
	make_case(2, &in);
	memset(in.id, 'A', 65);
	in.id[65] = '\0';
	expect_refusal(&in, ia, JPKI_ERR_INVAL, "opaque id must be 1-64");

	/* the TBS path's own: arguments and room */
	uint8_t out[X509_TBS_MAX];
	size_t len = 0;
	jpki_err err = {0};
	make_case(0, &in);
	assert_int_equal(tbs_build(&in, NULL, out, sizeof(out), &len, &err),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "no issuer"));
	assert_int_equal(x509_sign_tbs_build(is, NULL, in.pub, in.serial,
					     in.serial_len, in.nb, in.na, out,
					     sizeof(out), &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_sign_tbs_build(is, &in.subj, in.pub, in.serial,
					     in.serial_len, in.nb, in.na, NULL,
					     sizeof(out), &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(tbs_build(&in, is, out, sizeof(out), &len, &err), 0);
	size_t need = len;
	len = 777;
	assert_int_equal(tbs_build(&in, is, out, need - 1, &len, &err),
			 JPKI_ERR_RANGE);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_int_equal(len, 777);
	assert_int_equal(tbs_build(&in, is, out, need, &len, &err), 0);
	assert_int_equal(len, need);
	EVP_PKEY_free(small);
	EVP_PKEY_free(e3);
	EVP_PKEY_free(e_big);
	EVP_PKEY_free(ec);
}

static void test_issuer(void **state)
{
	(void)state;
	x509_issuer *iss = (x509_issuer *)1;
	jpki_err err = {0};
	assert_int_equal(
	    x509_issuer_new(P_TEST, K_SIGN, roots[P_PROD][K_SIGN], &iss, &err),
	    JPKI_ERR_INVAL);
	assert_string_equal(err.msg, "issuer is not the test sign root");
	assert_int_equal(
	    x509_issuer_new(P_TEST, K_AUTH, roots[P_TEST][K_SIGN], &iss, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(x509_issuer_new(P_TEST, K_SIGN, NULL, &iss, &err),
			 JPKI_ERR_INVAL);
	assert_string_equal(err.msg, "no issuer certificate");
	assert_int_equal(x509_issuer_new((jpki_profile)5, K_SIGN,
					 roots[P_TEST][K_SIGN], &iss, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_issuer_new(P_TEST, (jpki_cert_kind)0,
					 roots[P_TEST][K_SIGN], &iss, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(
	    x509_issuer_new(P_TEST, K_SIGN, roots[P_TEST][K_SIGN], NULL, &err),
	    JPKI_ERR_INVAL);
	/* a root without subjectKeyIdentifier, as the object builder says */
	X509 *x = X509_dup(roots[P_TEST][K_SIGN]);
	X509_EXTENSION_free(X509_delete_ext(
	    x, X509_get_ext_by_NID(x, NID_subject_key_identifier, -1)));
	assert_int_equal(x509_issuer_new(P_TEST, K_SIGN, x, &iss, &err),
			 JPKI_ERR_INVAL);
	assert_string_equal(err.msg, "issuer has no subjectKeyIdentifier");
	leaf_in in;
	X509 *leaf = NULL;
	make_case(0, &in);
	assert_int_equal(x509_sign_cert_build(P_TEST, x, &in.subj, in.pub,
					      in.serial, in.serial_len, in.nb,
					      in.na, &leaf, &err),
			 JPKI_ERR_INVAL);
	assert_string_equal(err.msg, "issuer has no subjectKeyIdentifier");
	X509_free(x);
	assert_ptr_equal(iss, (x509_issuer *)1);
	x509_issuer_free(NULL);
}

/* ---- DER editing for the lint tests ---------------------------------------
 */

typedef struct der {
	uint8_t b[X509_TBS_MAX + 64];
	size_t n;
} der;

typedef struct tlv {
	const uint8_t *p; /* the whole TLV */
	size_t len;
	const uint8_t *c; /* its content */
	size_t clen;
} tlv;

static tlv tlv_at(const uint8_t *p, size_t left)
{
	tlv t;
	size_t h = 2;
	size_t len = p[1];
	assert_true(left >= 2);
	if (len >= 0x80) {
		size_t o = len & 0x7f;
		len = 0;
		for (size_t i = 0; i < o; i++)
			len = len << 8 | p[2 + i];
		h += o;
	}
	assert_true(h + len <= left);
	t.p = p;
	t.len = h + len;
	t.c = p + h;
	t.clen = len;
	return t;
}

/* The TLVs of a content. */
static size_t tlvs(const uint8_t *c, size_t len, tlv *out, size_t max)
{
	size_t n = 0;
	for (size_t off = 0; off < len; n++) {
		assert_true(n < max);
		out[n] = tlv_at(c + off, len - off);
		off += out[n].len;
	}
	return n;
}

static void put(der *d, const void *p, size_t n)
{
	assert_true(d->n + n <= sizeof(d->b));
	if (n > 0)
		memcpy(d->b + d->n, p, n);
	d->n += n;
}

/* tag + length + content (content may alias nothing in d). */
static void wrap(der *d, uint8_t tag, const uint8_t *c, size_t len)
{
	uint8_t h[6] = {tag};
	size_t hn = 1;
	if (len < 0x80) {
		h[hn++] = (uint8_t)len;
	} else if (len < 0x100) {
		h[hn++] = 0x81;
		h[hn++] = (uint8_t)len;
	} else {
		h[hn++] = 0x82;
		h[hn++] = (uint8_t)(len >> 8);
		h[hn++] = (uint8_t)len;
	}
	put(d, h, hn);
	put(d, c, len);
}

/* A TBSCertificate split into its fields and its extensions. */
enum { F_VER, F_SERIAL, F_ALG, F_ISSUER, F_VALID, F_SUBJ, F_SPKI, F_EXTS };
typedef struct tbs_parts {
	der src;
	tlv f[12];
	size_t nf;
	tlv e[12]; /* the Extension TLVs */
	size_t ne;
} tbs_parts;

static void split(const uint8_t *tbs, size_t len, tbs_parts *t)
{
	memcpy(t->src.b, tbs, len);
	t->src.n = len;
	tlv all = tlv_at(t->src.b, len);
	t->nf = tlvs(all.c, all.clen, t->f, 12);
	assert_int_equal(t->nf, 8);
	tlv seq = tlv_at(t->f[F_EXTS].c, t->f[F_EXTS].clen);
	t->ne = tlvs(seq.c, seq.clen, t->e, 12);
}

/* Reassemble: field i replaced by rep[i] when given (len 0 drops it),
 * extensions from ext[0..ne) unless the extensions field is replaced. */
typedef struct piece {
	const uint8_t *p;
	size_t len;
	bool set;
} piece;

static void join(const tbs_parts *t, const piece rep[8], const piece *ext,
		 size_t ne, const piece *extra, der *out)
{
	der body = {.n = 0};
	for (size_t i = 0; i < t->nf; i++) {
		if (i == F_EXTS && !rep[i].set) {
			der list = {.n = 0};
			der seq = {.n = 0};
			for (size_t j = 0; j < ne; j++)
				put(&list, ext[j].p, ext[j].len);
			wrap(&seq, 0x30, list.b, list.n);
			wrap(&body, 0xa3, seq.b, seq.n);
			continue;
		}
		if (rep[i].set)
			put(&body, rep[i].p, rep[i].len);
		else
			put(&body, t->f[i].p, t->f[i].len);
		if (i == F_SPKI && extra != NULL)
			put(&body, extra->p, extra->len);
	}
	out->n = 0;
	wrap(out, 0x30, body.b, body.n);
}

static void exts_of(const tbs_parts *t, piece *ext)
{
	for (size_t j = 0; j < t->ne; j++)
		ext[j] = (piece){t->e[j].p, t->e[j].len, true};
}

/* The TBS with field i replaced by p[0..n). */
static void with_field(const tbs_parts *t, int i, const uint8_t *p, size_t n,
		       der *out)
{
	piece rep[8] = {0};
	piece ext[12];
	exts_of(t, ext);
	rep[i] = (piece){p, n, true};
	join(t, rep, ext, t->ne, NULL, out);
}

/* The TBS with the extensions ext[0..ne). */
static void with_exts(const tbs_parts *t, const piece *ext, size_t ne, der *out)
{
	piece rep[8] = {0};
	join(t, rep, ext, ne, NULL, out);
}

/* One Extension: oid content, criticality octets (NULL: none), value. */
static void make_ext(der *d, const uint8_t *oid, size_t oid_len,
		     const uint8_t *crit, size_t crit_len, const uint8_t *val,
		     size_t val_len)
{
	der in = {.n = 0};
	wrap(&in, 0x06, oid, oid_len);
	if (crit != NULL)
		put(&in, crit, crit_len);
	wrap(&in, 0x04, val, val_len);
	d->n = 0;
	wrap(d, 0x30, in.b, in.n);
}

/* The extension j of t with its value replaced. */
static void ext_with_value(const tbs_parts *t, size_t j, const uint8_t *val,
			   size_t val_len, der *d)
{
	tlv parts[3];
	size_t n = tlvs(t->e[j].c, t->e[j].clen, parts, 3);
	make_ext(d, parts[0].c, parts[0].clen, n == 3 ? parts[1].p : NULL,
		 n == 3 ? parts[1].len : 0, val, val_len);
}

/* The extension j of t with the criticality octets crit (NULL: none). */
static void ext_with_crit(const tbs_parts *t, size_t j, const uint8_t *crit,
			  size_t crit_len, der *d)
{
	tlv parts[3];
	size_t n = tlvs(t->e[j].c, t->e[j].clen, parts, 3);
	make_ext(d, parts[0].c, parts[0].clen, crit, crit_len, parts[n - 1].c,
		 parts[n - 1].clen);
}

/* The value of extension j. */
static tlv ext_value(const tbs_parts *t, size_t j)
{
	tlv parts[3];
	size_t n = tlvs(t->e[j].c, t->e[j].clen, parts, 3);
	tlv v = {parts[n - 1].c, parts[n - 1].clen, parts[n - 1].c,
		 parts[n - 1].clen};
	return v;
}

static void expect_tbs(const x509_issuer *iss, const der *d, int code,
		       const char *msg)
{
	jpki_err err = {0};
	int rc = x509_lint_leaf_tbs(iss, d->b, d->n, &err);
	if (rc != code || strstr(err.msg, msg) == NULL)
		fail_msg("DER lint gave %d \"%s\", wanted %d \"%s\"", rc,
			 err.msg, code, msg);
}

/* The TBS of case i, split. */
static void case_parts(int i, tbs_parts *t, leaf_in *in)
{
	uint8_t tbs[X509_TBS_MAX];
	size_t len = 0;
	make_case(i, in);
	build_tbs(in, tbs, &len);
	split(tbs, len, t);
}

/* An Extension index of the signature certificate's TBS. */
enum { E_KU, E_CP, E_SAN, E_DP, E_AKI, E_SKI };

static void name_der(const X509_NAME *n, der *d)
{
	const unsigned char *p = NULL;
	size_t len = 0;
	assert_int_equal(X509_NAME_get0_der(n, &p, &len), 1);
	d->n = 0;
	put(d, p, len);
}

static void spki_of(EVP_PKEY *k, der *d)
{
	unsigned char *p = NULL;
	int len = i2d_PUBKEY(k, &p);
	assert_true(len > 0);
	d->n = 0;
	put(d, p, (size_t)len);
	OPENSSL_free(p);
}

static void time_pair(der *d, uint8_t t1, const char *s1, uint8_t t2,
		      const char *s2)
{
	der in = {.n = 0};
	wrap(&in, t1, (const uint8_t *)s1, strlen(s1));
	wrap(&in, t2, (const uint8_t *)s2, strlen(s2));
	d->n = 0;
	wrap(d, 0x30, in.b, in.n);
}

static void test_lint_fields(void **state)
{
	(void)state;
	const x509_issuer *is = issuers[P_TEST][K_SIGN];
	const x509_issuer *ia = issuers[P_TEST][K_AUTH];
	tbs_parts t;
	tbs_parts ta;
	leaf_in in;
	der d;
	der x;
	case_parts(0, &t, &in);	 /* test sign */
	case_parts(2, &ta, &in); /* test auth */
	d.n = 0;
	put(&d, t.src.b, t.src.n);
	expect_tbs(is, &d, 0, "");

	/* version */
	static const uint8_t v2[] = {0xa0, 3, 2, 1, 1};
	with_field(&t, F_VER, v2, sizeof(v2), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "certificate must be v3");
	with_field(&t, F_VER, NULL, 0, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "certificate must be v3");

	/* serial */
	static const uint8_t sn_zero[] = {2, 1, 0};
	static const uint8_t sn_neg[] = {2, 1, 0xfb};
	static const uint8_t sn_pad[] = {2, 2, 0, 1};
	static const uint8_t sn_empty[] = {2, 0};
	uint8_t sn_21[23] = {2, 21, 0x01};
	with_field(&t, F_SERIAL, sn_zero, sizeof(sn_zero), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "serial number must be positive");
	with_field(&t, F_SERIAL, sn_neg, sizeof(sn_neg), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "serial number must be positive");
	with_field(&t, F_SERIAL, sn_empty, sizeof(sn_empty), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "serial number must be positive");
	with_field(&t, F_SERIAL, sn_pad, sizeof(sn_pad), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "not a minimal DER INTEGER");
	with_field(&t, F_SERIAL, sn_21, sizeof(sn_21), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "serial number over 20 octets");
	sn_21[1] = 20;
	with_field(&t, F_SERIAL, sn_21, 22, &d);
	expect_tbs(is, &d, 0, "");

	/* signature algorithm */
	static const uint8_t sha1rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
					  0x86, 0x48, 0x86, 0xf7, 0x0d,
					  0x01, 0x01, 0x05, 0x05, 0x00};
	static const uint8_t sha256_noparam[] = {0x30, 0x0b, 0x06, 0x09, 0x2a,
						 0x86, 0x48, 0x86, 0xf7, 0x0d,
						 0x01, 0x01, 0x0b};
	static const uint8_t alg_junk[] = {0x30, 0x02, 0x05, 0x00};
	with_field(&t, F_ALG, sha1rsa, sizeof(sha1rsa), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "signature algorithm must be sha256WithRSAEncryption, not "
		   "RSA-SHA1");
	with_field(&t, F_ALG, sha256_noparam, sizeof(sha256_noparam), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "sha256WithRSAEncryption parameters must be NULL");
	with_field(&t, F_ALG, alg_junk, sizeof(alg_junk), &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "malformed AlgorithmIdentifier");

	/* issuer: the production and the auth roots' DNs */
	name_der(X509_get_subject_name(roots[P_PROD][K_SIGN]), &x);
	with_field(&t, F_ISSUER, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "issuer must be the test sign root DN");
	name_der(X509_get_subject_name(roots[P_TEST][K_AUTH]), &x);
	with_field(&t, F_ISSUER, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "issuer must be the test sign root DN");
	/* ... and a sign TBS linted as auth */
	d.n = 0;
	put(&d, t.src.b, t.src.n);
	expect_tbs(ia, &d, JPKI_ERR_LINT,
		   "issuer must be the test auth root DN");

	/* validity: types, forms, order, 23:59:59 JST */
	const uint8_t U = 0x17;
	const uint8_t G = 0x18;
	time_pair(&x, G, "20250115012100Z", U, "291231145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "notBefore must be encoded as UTCTime (RFC 5280 4.1.2.5)");
	time_pair(&x, U, "250115012100Z", G, "20291231145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "notAfter must be encoded as UTCTime");
	time_pair(&x, U, "250115012100Z", U, "500101145959Z"); /* = 1950 */
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "notBefore must be before notAfter");
	time_pair(&x, G, "20491231235959Z", G, "20500101145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "notBefore must be encoded as UTCTime");
	time_pair(&x, U, "491231235959Z", U, "500101145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "notBefore must be before notAfter");
	time_pair(&x, U, "491231235959Z", G, "20500101145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, 0, "");
	time_pair(&x, U, "250115012100Z", U, "291231150000Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "notAfter must be 23:59:59 JST (14:59:59Z), not "
		   "2029-12-31T15:00:00Z");
	time_pair(&x, U, "290101000000Z", U, "281231145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "notBefore must be before notAfter");
	static const char *const unreadable[] = {
	    "2501150121Z", /* no seconds */
	    "250115012100+0900", "250115012100.5Z", "250230012100Z",
	    "250115242100Z",	 "25011501210aZ",   "",
	};
	for (size_t i = 0; i < sizeof(unreadable) / sizeof(unreadable[0]);
	     i++) {
		time_pair(&x, U, unreadable[i], U, "291231145959Z");
		with_field(&t, F_VALID, x.b, x.n, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT,
			   "unreadable validity (RFC 5280 4.1.2.5)");
	}
	time_pair(&x, 0x04, "250115012100Z", U, "291231145959Z");
	with_field(&t, F_VALID, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "unreadable validity");

	/* subject */
	tlv auth_subj = ta.f[F_SUBJ];
	with_field(&t, F_SUBJ, auth_subj.p, auth_subj.len, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "subject must be C, L, L, CN");
	with_field(&ta, F_SUBJ, t.f[F_SUBJ].p, t.f[F_SUBJ].len, &d);
	expect_tbs(ia, &d, JPKI_ERR_LINT,
		   "authentication certificate subject must not carry L=");
	/* C as a UTF8String; a bad CN date; two values in one RDN; a CN
	 * of 65 characters */
	der s = {.n = 0};
	put(&s, t.f[F_SUBJ].p, t.f[F_SUBJ].len);
	tlv rdns[4];
	tlv sub = tlv_at(s.b, s.n);
	assert_int_equal(tlvs(sub.c, sub.clen, rdns, 4), 4);
	uint8_t *c_tag = (uint8_t *)rdns[0].c + 2 + 5; /* SEQ, OID 55 04 06 */
	assert_int_equal(*c_tag, 0x13);
	*c_tag = 0x0c;
	with_field(&t, F_SUBJ, s.b, s.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "with C=JP as a PrintableString");
	*c_tag = 0x13;
	uint8_t *cn = (uint8_t *)rdns[3].c + rdns[3].clen - 28;
	uint8_t save = cn[4];
	cn[4] = '3'; /* month 3x */
	with_field(&t, F_SUBJ, s.b, s.n, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "subject CN must be YYYYMMDDhhmmss");
	cn[4] = save;
	{
		der two = {.n = 0};
		der set = {.n = 0};
		der rdn = {.n = 0};
		der nm = {.n = 0};
		tlv in_c = tlv_at(rdns[0].c, rdns[0].clen);
		tlv in_l = tlv_at(rdns[1].c, rdns[1].clen);
		put(&two, in_c.p, in_c.len);
		put(&two, in_l.p, in_l.len);
		wrap(&set, 0x31, two.b, two.n);
		put(&rdn, set.b, set.n);
		put(&rdn, rdns[2].p, rdns[2].len);
		put(&rdn, rdns[3].p, rdns[3].len);
		put(&rdn, rdns[3].p, rdns[3].len);
		wrap(&nm, 0x30, rdn.b, rdn.n);
		with_field(&t, F_SUBJ, nm.b, nm.n, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT,
			   "subject must be C, L, L, CN with C=JP");
	}
	{
		der nm = {.n = 0};
		der body = {.n = 0};
		char id[66];
		memset(id, 'A', 65);
		id[65] = '\0';
		static const uint8_t c_rdn[] = {0x31, 0x0b, 0x30, 0x09, 0x06,
						0x03, 0x55, 0x04, 0x06, 0x13,
						0x02, 'J',  'P'};
		der atv = {.n = 0};
		der seq = {.n = 0};
		der set = {.n = 0};
		static const uint8_t cn_oid[] = {0x06, 0x03, 0x55, 0x04, 0x03};
		put(&atv, cn_oid, sizeof(cn_oid));
		wrap(&atv, 0x0c, (const uint8_t *)id, 65);
		wrap(&seq, 0x30, atv.b, atv.n);
		wrap(&set, 0x31, seq.b, seq.n);
		put(&body, c_rdn, sizeof(c_rdn));
		put(&body, set.b, set.n);
		wrap(&nm, 0x30, body.b, body.n);
		with_field(&ta, F_SUBJ, nm.b, nm.n, &d);
		expect_tbs(ia, &d, JPKI_ERR_LINT,
			   "subject CN has 65 characters, over ub-common-name "
			   "64");
		/* and a space in the opaque id */
		id[3] = ' ';
		id[20] = '\0';
		atv.n = seq.n = set.n = body.n = nm.n = 0;
		put(&atv, cn_oid, sizeof(cn_oid));
		wrap(&atv, 0x0c, (const uint8_t *)id, 20);
		wrap(&seq, 0x30, atv.b, atv.n);
		wrap(&set, 0x31, seq.b, seq.n);
		put(&body, c_rdn, sizeof(c_rdn));
		put(&body, set.b, set.n);
		wrap(&nm, 0x30, body.b, body.n);
		with_field(&ta, F_SUBJ, nm.b, nm.n, &d);
		expect_tbs(ia, &d, JPKI_ERR_LINT,
			   "subject CN must be an opaque id");
	}

	/* keys: 1024 bits, e = 3, EC, no NULL parameters, bits unused,
	 * over 4096 bits */
	EVP_PKEY *small = rsa_key(1024, 65537);
	EVP_PKEY *e3 = rsa_key(2048, 3);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	spki_of(small, &x);
	with_field(&t, F_SPKI, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_KEY,
		   "RSA key has 1024 bits, at least 2048 required");
	spki_of(e3, &x);
	with_field(&t, F_SPKI, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_KEY,
		   "RSA public exponent is 3, must be 65537");
	spki_of(ec, &x);
	with_field(&t, F_SPKI, x.b, x.n, &d);
	expect_tbs(is, &d, JPKI_ERR_KEY,
		   "key must be RSA (rsaEncryption), not id-ecPublicKey");
	{
		tlv spki = t.f[F_SPKI];
		tlv parts[2];
		assert_int_equal(tlvs(spki.c, spki.clen, parts, 2), 2);
		static const uint8_t alg_noparam[] = {
		    0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
		    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
		der body = {.n = 0};
		put(&body, alg_noparam, sizeof(alg_noparam));
		put(&body, parts[1].p, parts[1].len);
		x.n = 0;
		wrap(&x, 0x30, body.b, body.n);
		with_field(&t, F_SPKI, x.b, x.n, &d);
		expect_tbs(is, &d, JPKI_ERR_KEY,
			   "rsaEncryption parameters must be NULL");
		/* one unused bit */
		body.n = 0;
		put(&body, parts[0].p, parts[0].len);
		size_t at_bits = body.n;
		put(&body, parts[1].p, parts[1].len);
		tlv bits = tlv_at(body.b + at_bits, body.n - at_bits);
		((uint8_t *)bits.c)[0] = 1;
		x.n = 0;
		wrap(&x, 0x30, body.b, body.n);
		with_field(&t, F_SPKI, x.b, x.n, &d);
		expect_tbs(is, &d, JPKI_ERR_KEY,
			   "unreadable subjectPublicKeyInfo");
		/* a 4104-bit modulus */
		uint8_t n513[514] = {0x00};
		memset(n513 + 1, 0xab, 513);
		static const uint8_t e65537[] = {0x02, 0x03, 0x01, 0x00, 0x01};
		der rsa = {.n = 0};
		der rsa_seq = {.n = 0};
		der bs = {.n = 0};
		wrap(&rsa, 0x02, n513, sizeof(n513));
		put(&rsa, e65537, sizeof(e65537));
		wrap(&rsa_seq, 0x30, rsa.b, rsa.n);
		uint8_t z = 0;
		der bsc = {.n = 0};
		put(&bsc, &z, 1);
		put(&bsc, rsa_seq.b, rsa_seq.n);
		wrap(&bs, 0x03, bsc.b, bsc.n);
		body.n = 0;
		put(&body, parts[0].p, parts[0].len);
		put(&body, bs.b, bs.n);
		x.n = 0;
		wrap(&x, 0x30, body.b, body.n);
		with_field(&t, F_SPKI, x.b, x.n, &d);
		expect_tbs(is, &d, JPKI_ERR_KEY,
			   "RSA key has 4104 bits, at most 4096 allowed");
	}
	EVP_PKEY_free(small);
	EVP_PKEY_free(e3);
	EVP_PKEY_free(ec);

	/* unique identifiers */
	{
		static const uint8_t uid[] = {0x81, 0x02, 0x00, 0x01};
		piece rep[8] = {0};
		piece ext[12];
		piece extra = {uid, sizeof(uid), true};
		exts_of(&t, ext);
		join(&t, rep, ext, t.ne, &extra, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT,
			   "must not carry unique identifiers");
	}
}

/* Six otherNames with the given values (UTF8String or `tag`), in the
 * slots order[0..n). */
static void san_of(const char *const vals[6], uint8_t tag, const int *order,
		   int n, der *out)
{
	static const uint8_t arc[] = {0x2a, 0x83, 0x08, 0x8c, 0x9b,
				      0x55, 0x08, 0x05, 0x05};
	der list = {.n = 0};
	for (int k = 0; k < n; k++) {
		int i = order[k];
		uint8_t oid[sizeof(arc) + 1];
		memcpy(oid, arc, sizeof(arc));
		oid[sizeof(arc)] = (uint8_t)(i + 1);
		der v = {.n = 0};
		der ex = {.n = 0};
		der on = {.n = 0};
		wrap(&v, tag, (const uint8_t *)vals[i], strlen(vals[i]));
		wrap(&ex, 0xa0, v.b, v.n);
		der in = {.n = 0};
		wrap(&in, 0x06, oid, sizeof(oid));
		put(&in, ex.b, ex.n);
		wrap(&on, 0xa0, in.b, in.n);
		put(&list, on.b, on.n);
	}
	out->n = 0;
	wrap(out, 0x30, list.b, list.n);
}

static void test_lint_extensions(void **state)
{
	(void)state;
	const x509_issuer *is = issuers[P_TEST][K_SIGN];
	const x509_issuer *ia = issuers[P_TEST][K_AUTH];
	tbs_parts t;
	tbs_parts ta;
	tbs_parts tp;
	tbs_parts to;
	leaf_in in;
	der d;
	der x;
	piece ext[12];
	case_parts(0, &t, &in);	 /* test sign, Tokyo-to / Chiyoda-ku */
	case_parts(2, &ta, &in); /* test auth */
	case_parts(1, &tp, &in); /* production sign */
	case_parts(4, &to, &in); /* test sign, Hokkaido / Sapporo */
	assert_int_equal(t.ne, 6);
	assert_int_equal(ta.ne, 5);

	/* missing, extra, unknown, twice, reordered */
	exts_of(&t, ext);
	with_exts(&t, ext + 1, 5, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "missing keyUsage extension (RFC 5280 4.2.1.3, spec 1.2)");
	exts_of(&t, ext);
	with_exts(&t, ext, 5, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "missing subjectKeyIdentifier");
	static const uint8_t bc[] = {0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13,
				     0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00};
	static const uint8_t unknown[] = {0x30, 0x09, 0x06, 0x03, 0x2a, 0x03,
					  0x04, 0x04, 0x02, 0x05, 0x00};
	exts_of(&t, ext);
	ext[6] = (piece){bc, sizeof(bc), true};
	with_exts(&t, ext, 7, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "unexpected extension X509v3 Basic Constraints");
	ext[6] = (piece){unknown, sizeof(unknown), true};
	with_exts(&t, ext, 7, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "unexpected extension 1.2.3.4");
	ext[6] = ext[5];
	with_exts(&t, ext, 7, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "extension subjectKeyIdentifier appears twice (RFC 5280 "
		   "4.2)");
	exts_of(&t, ext);
	piece tmp = ext[E_SAN];
	ext[E_SAN] = ext[E_DP];
	ext[E_DP] = tmp;
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "extension crlDistributionPoints out of the signature "
		   "certificate's order (spec 1.2)");
	exts_of(&t, ext);
	tmp = ext[E_KU];
	ext[E_KU] = ext[E_SKI];
	ext[E_SKI] = tmp;
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "out of the signature certificate's");
	/* the auth certificate with a SAN */
	exts_of(&ta, ext);
	ext[5] = (piece){t.e[E_SAN].p, t.e[E_SAN].len, true};
	with_exts(&ta, ext, 6, &d);
	expect_tbs(ia, &d, JPKI_ERR_LINT,
		   "authentication certificate must not carry subjectAltName");
	/* no extensions at all */
	with_exts(&t, ext, 0, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "missing keyUsage");
	{
		piece rep[8] = {0};
		rep[F_EXTS] = (piece){NULL, 0, true};
		join(&t, rep, NULL, 0, NULL, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT, "missing keyUsage");
	}

	/* criticality: wrong, and not DER */
	static const uint8_t crit_true[] = {0x01, 0x01, 0xff};
	static const uint8_t crit_one[] = {0x01, 0x01, 0x01};
	static const uint8_t crit_false[] = {0x01, 0x01, 0x00};
	der e;
	exts_of(&t, ext);
	ext_with_crit(&t, E_KU, NULL, 0, &e);
	ext[E_KU] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "keyUsage must be critical (RFC 5280 4.2.1.3, spec 1.2)");
	exts_of(&t, ext);
	ext_with_crit(&t, E_CP, NULL, 0, &e);
	ext[E_CP] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "certificatePolicies must be critical");
	exts_of(&t, ext);
	ext_with_crit(&t, E_SKI, crit_true, 3, &e);
	ext[E_SKI] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "subjectKeyIdentifier must not be critical");
	exts_of(&t, ext);
	ext_with_crit(&t, E_KU, crit_one, 3, &e);
	ext[E_KU] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "keyUsage critical flag must be TRUE as 0xff or left out");
	exts_of(&t, ext);
	ext_with_crit(&t, E_AKI, crit_false, 3, &e);
	ext[E_AKI] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "authorityKeyIdentifier critical flag must be TRUE as 0xff "
		   "or left out (DER, X.690 11.1 and 11.5)");

	/* keyUsage: other bits; the same bits not in DER */
	static const uint8_t ku_cs[] = {0x03, 0x02, 0x01, 0xc2};
	static const uint8_t ku_ber[] = {0x03, 0x02, 0x05, 0xc0};
	static const uint8_t ku_junk[] = {0x03, 0x05, 0x00};
	exts_of(&t, ext);
	ext_with_value(&t, E_KU, ku_cs, sizeof(ku_cs), &e);
	ext[E_KU] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "keyUsage must be exactly digitalSignature, "
		   "nonRepudiation");
	ext_with_value(&t, E_KU, ku_ber, sizeof(ku_ber), &e);
	ext[E_KU] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "keyUsage is not encoded as the profile's DER");
	ext_with_value(&t, E_KU, ku_junk, sizeof(ku_junk), &e);
	ext[E_KU] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "malformed keyUsage");
	/* the auth certificate with the sign keyUsage */
	exts_of(&ta, ext);
	ext[0] = (piece){t.e[E_KU].p, t.e[E_KU].len, true};
	with_exts(&ta, ext, 5, &d);
	expect_tbs(ia, &d, JPKI_ERR_LINT,
		   "keyUsage must be exactly digitalSignature");

	/* certificatePolicies: the production policy, the auth policy, no
	 * qualifier, malformed */
	exts_of(&t, ext);
	ext[E_CP] = (piece){tp.e[E_CP].p, tp.e[E_CP].len, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "certificate policy 1.2.392.200149.8.5.1.1.20 is not the "
		   "test profile's sign policy 1.2.392.200149.8.5.1.0.20");
	ext[E_CP] = (piece){ta.e[1].p, ta.e[1].len, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "certificate policy 1.2.392.200149.8.5.1.0.30 is not");
	static const uint8_t cp_noq[] = {0x30, 0x0f, 0x30, 0x0d, 0x06, 0x0b,
					 0x2a, 0x83, 0x08, 0x8c, 0x9b, 0x55,
					 0x08, 0x05, 0x01, 0x00, 0x14};
	ext_with_value(&t, E_CP, cp_noq, sizeof(cp_noq), &e);
	ext[E_CP] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "certificatePolicies must carry the test profile's CPS "
		   "qualifier");
	ext_with_value(&t, E_CP, cp_noq, 4, &e);
	ext[E_CP] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "malformed certificatePolicies");

	/* subjectAltName values */
	static const int in_order[6] = {0, 1, 2, 3, 4, 5};
	static const int swapped[6] = {1, 0, 2, 3, 4, 5};
	const char *good[6] = {"山田", "", "1", "319801231", "東京", ""};
	der san;
	struct {
		const char *vals[6];
		uint8_t tag;
		const int *order;
		int n;
		const char *msg;
	} sans[] = {
	    {{"山田", "", "9", "319801231", "東京", ""},
	     0x0c,
	     in_order,
	     6,
	     "subjectAltName sex must be \"1\" or \"2\""},
	    {{"山田", "", "1", "319901231", "東京", ""},
	     0x0c,
	     in_order,
	     6,
	     "date of birth \"319901231\" is not EYYYYMMDD"},
	    {{"髙橋", "", "1", "319801231", "東京", ""},
	     0x0c,
	     in_order,
	     6,
	     "name substitute must be \"〓橋\""},
	    {{"山田", "", "1", "319801231", "東京", "東京"},
	     0x0c,
	     in_order,
	     6,
	     "address substitute must be \"\""},
	    {{"", "", "1", "319801231", "東京", ""},
	     0x0c,
	     in_order,
	     6,
	     "name and address must not be empty"},
	    {{"山田", "", "1", "319801231", "東京", ""},
	     0x04,
	     in_order,
	     6,
	     "exactly the six basic-4 otherNames as UTF8String"},
	    {{"山田", "", "1", "319801231", "東京", ""},
	     0x0c,
	     in_order,
	     5,
	     "exactly the six basic-4 otherNames"},
	    {{"山田", "", "1", "319801231", "東京", ""},
	     0x0c,
	     swapped,
	     6,
	     "six basic-4 otherNames in OID order as UTF8String, "
	     "DER-encoded"},
	    {{"山田\x01", "", "1", "319801231", "東京", ""},
	     0x0c,
	     in_order,
	     6,
	     "not well-formed UTF-8"},
	};
	for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		san_of(sans[i].vals, sans[i].tag, sans[i].order, sans[i].n,
		       &san);
		exts_of(&t, ext);
		ext_with_value(&t, E_SAN, san.b, san.n, &e);
		ext[E_SAN] = (piece){e.b, e.n, true};
		with_exts(&t, ext, 6, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT, sans[i].msg);
	}
	san_of(good, 0x0c, in_order, 6, &san);
	ext_with_value(&t, E_SAN, san.b, san.n, &e);
	ext[E_SAN] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, 0, "");
	static const uint8_t san_trunc[] = {0x30, 0x05, 0xa0, 0x03};
	ext_with_value(&t, E_SAN, san_trunc, sizeof(san_trunc), &e);
	ext[E_SAN] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "malformed subjectAltName");

	/* cRLDistributionPoints: another municipality's, the auth
	 * hierarchy's, a trailing byte */
	exts_of(&t, ext);
	ext[E_DP] = (piece){to.e[E_DP].p, to.e[E_DP].len, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "cRLDistributionPoints partition Hokkaido / Sapporo-shi "
		   "Chuo-ku is not the subject's L= Tokyo-to / Chiyoda-ku");
	exts_of(&ta, ext);
	ext[2] = (piece){t.e[E_DP].p, t.e[E_DP].len, true};
	with_exts(&ta, ext, 5, &d);
	expect_tbs(ia, &d, JPKI_ERR_LINT,
		   "cRLDistributionPoints is not the test auth partition "
		   "name");
	{
		tlv v = ext_value(&ta, 2);
		uint8_t longer[600];
		memcpy(longer, v.c, v.clen);
		longer[v.clen] = 0;
		exts_of(&ta, ext);
		ext_with_value(&ta, 2, longer, v.clen + 1, &e);
		ext[2] = (piece){e.b, e.n, true};
		with_exts(&ta, ext, 5, &d);
		expect_tbs(ia, &d, JPKI_ERR_LINT,
			   "cRLDistributionPoints is not encoded as the "
			   "profile's DER");
		ext_with_value(&ta, 2, longer, 5, &e);
		ext[2] = (piece){e.b, e.n, true};
		with_exts(&ta, ext, 5, &d);
		expect_tbs(ia, &d, JPKI_ERR_LINT,
			   "malformed cRLDistributionPoints");
	}
	/* the auth certificate's partition is another site's: fine */
	{
		tbs_parts ta2;
		case_parts(6, &ta2, &in); /* test auth, Hokkaido */
		exts_of(&ta, ext);
		ext[2] = (piece){ta2.e[2].p, ta2.e[2].len, true};
		with_exts(&ta, ext, 5, &d);
		expect_tbs(ia, &d, 0, "");
	}

	/* authorityKeyIdentifier: another key's, an issuer name, empty,
	 * malformed; a root of the same DN and another key */
	uint8_t aki_other[24] = {0x30, 0x16, 0x80, 0x14};
	memset(aki_other + 4, 0x42, 20);
	static const uint8_t aki_empty[] = {0x30, 0x02, 0x80, 0x00};
	static const uint8_t aki_serial[] = {0x30, 0x06, 0x80, 0x01,
					     0x05, 0x82, 0x01, 0x01};
	static const uint8_t aki_junk[] = {0x30, 0x05, 0x80, 0x01};
	const struct {
		const uint8_t *v;
		size_t n;
		const char *msg;
	} akis[] = {
	    {aki_other, sizeof(aki_other),
	     "authorityKeyIdentifier is not the issuer's "
	     "subjectKeyIdentifier (RFC 5280 4.2.1.1)"},
	    {aki_empty, sizeof(aki_empty),
	     "authorityKeyIdentifier must hold the issuer's key identifier "
	     "only"},
	    {aki_serial, sizeof(aki_serial),
	     "must hold the issuer's key identifier only"},
	    {aki_junk, sizeof(aki_junk), "malformed authorityKeyIdentifier"},
	};
	for (size_t i = 0; i < sizeof(akis) / sizeof(akis[0]); i++) {
		exts_of(&t, ext);
		ext_with_value(&t, E_AKI, akis[i].v, akis[i].n, &e);
		ext[E_AKI] = (piece){e.b, e.n, true};
		with_exts(&t, ext, 6, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT, akis[i].msg);
	}
	{
		EVP_PKEY *k2 = EVP_RSA_gen(2048);
		X509 *r2 = make_root(P_TEST, K_SIGN, k2);
		x509_issuer *i2 = NULL;
		jpki_err err = {0};
		assert_int_equal(x509_issuer_new(P_TEST, K_SIGN, r2, &i2, &err),
				 0);
		d.n = 0;
		put(&d, t.src.b, t.src.n);
		expect_tbs(i2, &d, JPKI_ERR_LINT,
			   "authorityKeyIdentifier is not the issuer's");
		x509_issuer_free(i2);
		X509_free(r2);
		EVP_PKEY_free(k2);
	}

	/* subjectKeyIdentifier: another key's, not DER, malformed */
	uint8_t ski_other[22] = {0x04, 0x14};
	memset(ski_other + 2, 0x42, 20);
	static const uint8_t ski_junk[] = {0x04, 0x05, 0x00};
	exts_of(&t, ext);
	ext_with_value(&t, E_SKI, ski_other, sizeof(ski_other), &e);
	ext[E_SKI] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT,
		   "subjectKeyIdentifier must be the SHA-1 of the public key "
		   "(RFC 5280 4.2.1.2 method 1)");
	ext_with_value(&t, E_SKI, ski_junk, sizeof(ski_junk), &e);
	ext[E_SKI] = (piece){e.b, e.n, true};
	with_exts(&t, ext, 6, &d);
	expect_tbs(is, &d, JPKI_ERR_LINT, "malformed subjectKeyIdentifier");
	{
		/* the right id in a constructed OCTET STRING (BER) */
		tlv v = ext_value(&t, E_SKI);
		der ber = {.n = 0};
		der inner = {.n = 0};
		put(&inner, v.c, v.clen);
		wrap(&ber, 0x24, inner.b, inner.n);
		ext_with_value(&t, E_SKI, ber.b, ber.n, &e);
		ext[E_SKI] = (piece){e.b, e.n, true};
		with_exts(&t, ext, 6, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT, "subjectKeyIdentifier");
	}
	/* an SPKI of another valid key: the SKI no longer matches */
	{
		der k;
		spki_of(leaf_keys[2], &k);
		with_field(&t, F_SPKI, k.b, k.n, &d);
		expect_tbs(is, &d, JPKI_ERR_LINT,
			   "subjectKeyIdentifier must be the SHA-1");
	}
	(void)x;
}

/* ---- structure ------------------------------------------------------------
 */

/* Whatever x509_lint_leaf_tbs accepts, OpenSSL reads as the same
 * TBSCertificate (its re-encoding is the input) and the object lint
 * accepts too. */
static void agree(const x509_issuer *iss, jpki_profile prof,
		  jpki_cert_kind kind, const uint8_t *tbs, size_t len)
{
	static const uint8_t sig[256] = {1};
	uint8_t cert[X509_TBS_MAX + 1024];
	size_t cert_len = 0;
	jpki_err err = {0};
	assert_int_equal(x509_cert_assemble(tbs, len, sig, sizeof(sig), cert,
					    sizeof(cert), &cert_len, &err),
			 0);
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	if (x == NULL)
		fail_msg("the lint accepted what OpenSSL cannot read");
	unsigned char *re = NULL;
	int re_len = i2d_re_X509_tbs(x, &re);
	if (re_len <= 0 || (size_t)re_len != len || memcmp(re, tbs, len) != 0)
		fail_msg("the lint accepted what OpenSSL re-encodes "
			 "differently");
	if (x509_lint_leaf(prof, kind, x, &err) != 0)
		fail_msg("the object lint refuses what the DER lint accepted: "
			 "%s",
			 err.msg);
	(void)iss;
	OPENSSL_free(re);
	X509_free(x);
}

static void test_lint_structure(void **state)
{
	(void)state;
	for (int c = 0; c < 4; c++) {
		leaf_in in;
		uint8_t tbs[X509_TBS_MAX];
		uint8_t buf[X509_TBS_MAX + 16];
		size_t len = 0;
		jpki_err err = {0};
		make_case(c, &in);
		const x509_issuer *iss = issuers[in.prof][in.kind];
		build_tbs(&in, tbs, &len);
		assert_true(len > 256);
		/* every truncation */
		for (size_t n = 0; n < len; n++) {
			int rc = x509_lint_leaf_tbs(iss, tbs, n, &err);
			if (rc != JPKI_ERR_PARSE ||
			    strstr(err.msg, "malformed TBSCertificate") == NULL)
				fail_msg("prefix %zu: %d %s", n, rc, err.msg);
		}
		assert_int_equal(x509_lint_leaf_tbs(iss, NULL, 0, &err),
				 JPKI_ERR_PARSE);
		assert_int_equal(x509_lint_leaf_tbs(NULL, tbs, len, &err),
				 JPKI_ERR_INVAL);
		assert_int_equal(x509_lint_leaf_tbs(iss, NULL, 5, &err),
				 JPKI_ERR_INVAL);
		/* a trailing byte */
		memcpy(buf, tbs, len);
		buf[len] = 0;
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len + 1, &err),
				 JPKI_ERR_PARSE);
		assert_non_null(strstr(err.msg, "data after its end"));
		/* the outer length one more / one less than the bytes */
		assert_int_equal(buf[1], 0x82);
		buf[3]++;
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len + 1, &err),
				 JPKI_ERR_PARSE);
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len, &err),
				 JPKI_ERR_PARSE);
		buf[3] -= 2;
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len, &err),
				 JPKI_ERR_PARSE);
		/* the outer length in 3 octets (not minimal); indefinite */
		buf[0] = 0x30;
		buf[1] = 0x83;
		buf[2] = 0x00;
		memcpy(buf + 3, tbs + 2, len - 2);
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len + 1, &err),
				 JPKI_ERR_PARSE);
		assert_non_null(strstr(err.msg, "not one DER SEQUENCE"));
		buf[1] = 0x80;
		memcpy(buf + 2, tbs + 4, len - 4);
		buf[len - 2] = 0;
		buf[len - 1] = 0;
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len, &err),
				 JPKI_ERR_PARSE);
		/* an inner length too long, in every field */
		tbs_parts t;
		split(tbs, len, &t);
		for (size_t f = 0; f < t.nf; f++) {
			memcpy(buf, tbs, len);
			size_t at = (size_t)(t.f[f].p - t.src.b);
			size_t lo = at + 1;
			if (buf[lo] & 0x80)
				lo += buf[lo] & 0x7f;
			buf[lo]++;
			int rc = x509_lint_leaf_tbs(iss, buf, len, &err);
			if (rc != JPKI_ERR_PARSE)
				fail_msg("field %zu longer: %d %s", f, rc,
					 err.msg);
			assert_non_null(strstr(err.msg, "malformed"));
		}
		/* an Extension too long */
		memcpy(buf, tbs, len);
		size_t lo = (size_t)(t.e[2].p - t.src.b) + 1;
		if (buf[lo] & 0x80)
			lo += buf[lo] & 0x7f;
		buf[lo]++;
		assert_int_equal(x509_lint_leaf_tbs(iss, buf, len, &err),
				 JPKI_ERR_PARSE);
		/* over the size the writer can produce */
		uint8_t *huge = calloc(1, X509_TBS_MAX + 8);
		assert_non_null(huge);
		assert_int_equal(
		    x509_lint_leaf_tbs(iss, huge, X509_TBS_MAX + 1, &err),
		    JPKI_ERR_PARSE);
		assert_non_null(strstr(err.msg, "at most 8192"));
		free(huge);

		/* every single-bit change of two kinds: refused, or else
		 * OpenSSL agrees with the lint */
		int accepted = 0;
		for (size_t i = 0; i < len; i++) {
			for (int b = 0; b < 2; b++) {
				memcpy(buf, tbs, len);
				buf[i] ^= b == 0 ? 0x01 : 0x80;
				int rc =
				    x509_lint_leaf_tbs(iss, buf, len, &err);
				if (rc == 0) {
					agree(iss, in.prof, in.kind, buf, len);
					accepted++;
				} else if (rc != JPKI_ERR_PARSE &&
					   rc != JPKI_ERR_LINT &&
					   rc != JPKI_ERR_KEY) {
					fail_msg("byte %zu: %d %s", i, rc,
						 err.msg);
				} else if (err.msg[0] == '\0') {
					fail_msg("byte %zu: no message", i);
				}
			}
		}
		/* the CN digits, the serial, the window id... */
		assert_true(accepted > 0);
		agree(iss, in.prof, in.kind, tbs, len);
	}
}

/* The object lint's own: unsigned objects, the leaf order, and keys
 * missing. */
static void test_object_lint(void **state)
{
	(void)state;
	leaf_in in;
	X509 *x = NULL;
	jpki_err err = {0};
	make_case(0, &in);
	assert_int_equal(obj_build(&in, &x, &err), 0);
	/* SAN moved behind the CRLDP */
	X509_EXTENSION *san = X509_delete_ext(
	    x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1));
	assert_int_equal(X509_add_ext(x, san, 3), 1);
	X509_EXTENSION_free(san);
	assert_int_equal(x509_lint_leaf(P_TEST, K_SIGN, x, &err),
			 JPKI_ERR_LINT);
	assert_non_null(strstr(err.msg,
			       "extension crlDistributionPoints out "
			       "of the signature certificate's order"));
	X509_free(x);
	/* signed with another algorithm */
	make_case(0, &in);
	assert_int_equal(obj_build(&in, &x, &err), 0);
	assert_true(X509_sign(x, root_key, EVP_sha384()) > 0);
	assert_int_equal(x509_lint_leaf(P_TEST, K_SIGN, x, &err),
			 JPKI_ERR_LINT);
	assert_non_null(strstr(err.msg, "not RSA-SHA384"));
	X509_free(x);
	/* no key at all */
	x = X509_new();
	assert_int_equal(x509_lint_leaf(P_TEST, K_SIGN, x, &err), JPKI_ERR_KEY);
	assert_string_equal(err.msg, "unreadable subjectPublicKeyInfo");
	assert_int_equal(x509_lint_root(P_TEST, K_SIGN, x, &err), JPKI_ERR_KEY);
	X509_free(x);
	/* a root passes, signed or not */
	assert_int_equal(
	    x509_lint_root(P_TEST, K_SIGN, roots[P_TEST][K_SIGN], &err), 0);
	assert_int_equal(x509_lint_leaf(P_TEST, K_SIGN, NULL, &err),
			 JPKI_ERR_INVAL);
}

/* ---- assembly -------------------------------------------------------------
 */

static void test_assemble(void **state)
{
	(void)state;
	leaf_in in;
	uint8_t tbs[X509_TBS_MAX];
	uint8_t sig[512];
	uint8_t cert[X509_TBS_MAX + 1024];
	size_t tbs_len = 0;
	size_t len = 0;
	jpki_err err = {0};
	make_case(0, &in);
	build_tbs(&in, tbs, &tbs_len);
	size_t sig_len = sign_tbs(tbs, tbs_len, sig, sizeof(sig));
	assert_int_equal(sig_len, 256);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, sig_len, cert,
					    sizeof(cert), &len, &err),
			 0);
	/* 30 82 LL LL, TBS, 15-octet AlgorithmIdentifier, 03 82 01 01 00 */
	assert_int_equal(len, 4 + tbs_len + 15 + 5 + sig_len);
	size_t need = len;
	/* exactly the room it needs, and one octet less */
	memset(cert, 0x5a, sizeof(cert));
	len = 99;
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, sig_len, cert,
					    need - 1, &len, &err),
			 JPKI_ERR_RANGE);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_int_equal(len, 99);
	assert_int_equal(cert[0], 0x5a);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, sig_len, cert,
					    need, &len, &err),
			 0);
	assert_int_equal(len, need);
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, root_key), 1);
	assert_int_equal(X509_verify(x, leaf_keys[0]), 0);
	X509_free(x);
	/* a short signature: short-form BIT STRING length */
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, 100, cert,
					    sizeof(cert), &len, &err),
			 0);
	assert_int_equal(len, 4 + tbs_len + 15 + 3 + 100);
	/* arguments */
	assert_int_equal(x509_cert_assemble(NULL, tbs_len, sig, sig_len, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, NULL, sig_len, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, sig_len, NULL,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, 0, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_RANGE);
	assert_int_equal(x509_cert_assemble(tbs, tbs_len, sig, 513, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_RANGE);
	/* the TBS must be one DER SEQUENCE */
	assert_int_equal(x509_cert_assemble(tbs, tbs_len - 1, sig, sig_len,
					    cert, sizeof(cert), &len, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(x509_cert_assemble(tbs + 4, 10, sig, sig_len, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(x509_cert_assemble(tbs, 0, sig, sig_len, cert,
					    sizeof(cert), &len, &err),
			 JPKI_ERR_PARSE);
}

/* ---- threads ---------------------------------------------------------------
 * One issuer shared by two threads, each building and linting its own
 * certificates: the results are the single-threaded ones. */
#define PER_THREAD 60
struct worker {
	int id;
	int bad;
	char why[JPKI_ERR_MSG_MAX + 64];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int n = 0; n < PER_THREAD; n++) {
		leaf_in in;
		uint8_t a[X509_TBS_MAX];
		uint8_t b[X509_TBS_MAX];
		size_t la = 0;
		size_t lb = 0;
		jpki_err err = {0};
		int i = n * 2 + w->id;
		make_case(i, &in);
		const x509_issuer *iss = issuers[in.prof][in.kind];
		if (tbs_build(&in, iss, a, sizeof(a), &la, &err) != 0 ||
		    x509_lint_leaf_tbs(iss, a, la, &err) != 0 ||
		    tbs_build(&in, iss, b, sizeof(b), &lb, &err) != 0 ||
		    la != lb || memcmp(a, b, la) != 0) {
			if (w->bad++ == 0)
				snprintf(w->why, sizeof(w->why), "case %d: %s",
					 i, err.msg);
		}
	}
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
			fail_msg("thread %d: %d bad, first %s", i, w[i].bad,
				 w[i].why);
	}
}

/* ---- the fuzz corpus -------------------------------------------------------
 * The fuzzer lints against the roots of tests/fuzz/validation_fixture.h;
 * its valid seeds must stay valid against them. */

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void write_seed(const char *dir, const char *name, const uint8_t *p,
		       size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_fuzz_seeds(void **state)
{
	(void)state;
	const char *src = getenv("JPKI_SRC");
	const char *out = getenv("JPKI_WRITE_TBS_SEEDS");
	X509 *sroot = pem_cert(fx_sign_root_pem);
	X509 *aroot = pem_cert(fx_auth_root_pem);
	X509 *leaf = pem_cert(fx_leaf_pem);
	x509_issuer *is = NULL;
	x509_issuer *ia = NULL;
	jpki_err err = {0};
	assert_int_equal(x509_issuer_new(P_TEST, K_SIGN, sroot, &is, &err), 0);
	assert_int_equal(x509_issuer_new(P_TEST, K_AUTH, aroot, &ia, &err), 0);
	if (out != NULL) {
		char cmd[1100];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", out);
		assert_int_equal(system(cmd), 0);
		/* the fixture's signature certificate, as the CA issued it,
		 * an authentication one made here, and a few near misses */
		unsigned char *s = NULL;
		int sl = i2d_re_X509_tbs(leaf, &s);
		uint8_t a[X509_TBS_MAX];
		size_t al = 0;
		leaf_in in;
		tbs_parts t;
		piece ext[12];
		der d;
		make_case(2, &in);
		in.site = &sites[1];
		assert_true(sl > 0);
		assert_int_equal(x509_auth_tbs_build(ia, in.id, in.site, in.pub,
						     in.serial, in.serial_len,
						     in.nb, in.na, a, sizeof(a),
						     &al, &err),
				 0);
		write_seed(out, "valid_sign", s, (size_t)sl);
		write_seed(out, "valid_auth", a, al);
		write_seed(out, "sign_truncated", s, (size_t)sl / 2);
		split(s, (size_t)sl, &t);
		exts_of(&t, ext);
		piece tmp = ext[E_SAN];
		ext[E_SAN] = ext[E_DP];
		ext[E_DP] = tmp;
		with_exts(&t, ext, 6, &d);
		write_seed(out, "sign_reordered", d.b, d.n);
		static const uint8_t gt[] = {
		    0x30, 0x22, 0x18, 0x0f, '2', '0', '2', '6', '0',
		    '1',  '0',	'5',  '0',  '0', '0', '0', '0', '0',
		    'Z',  0x18, 0x0f, '2',  '0', '3', '0', '1', '2',
		    '3',  '1',	'1',  '4',  '5', '9', '5', '9', 'Z'};
		with_field(&t, F_VALID, gt, sizeof(gt), &d);
		write_seed(out, "sign_gentime", d.b, d.n);
		split(a, al, &t);
		der k;
		EVP_PKEY *e3 = rsa_key(2048, 3);
		spki_of(e3, &k);
		with_field(&t, F_SPKI, k.b, k.n, &d);
		write_seed(out, "auth_e3", d.b, d.n);
		EVP_PKEY_free(e3);
		OPENSSL_free(s);
	}
	assert_non_null(src);
	static const struct {
		const char *file;
		int sign;
		int rc;
	} seeds[] = {
	    {"valid_sign", 1, 0},
	    {"valid_auth", 0, 0},
	    {"sign_truncated", 1, JPKI_ERR_PARSE},
	    {"sign_reordered", 1, JPKI_ERR_LINT},
	    {"sign_gentime", 1, JPKI_ERR_LINT},
	    {"auth_e3", 0, JPKI_ERR_KEY},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[1024];
		uint8_t *buf = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path),
			 "%s/tests/fuzz/corpus/fuzz_x509_tbs/%s", src,
			 seeds[i].file);
		if (jpki_file_read(path, 1u << 16, &buf, &len, &err) != 0)
			fail_msg("%s: %s", seeds[i].file, err.msg);
		int rc =
		    x509_lint_leaf_tbs(seeds[i].sign ? is : ia, buf, len, &err);
		if (rc != seeds[i].rc)
			fail_msg("seed %s: %d %s", seeds[i].file, rc, err.msg);
		if (rc == 0)
			agree(seeds[i].sign ? is : ia, P_TEST,
			      seeds[i].sign ? K_SIGN : K_AUTH, buf, len);
		free(buf);
	}
	x509_issuer_free(is);
	x509_issuer_free(ia);
	X509_free(sroot);
	X509_free(aroot);
	X509_free(leaf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_tbs),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_same_refusals),
	    cmocka_unit_test(test_issuer),
	    cmocka_unit_test(test_lint_fields),
	    cmocka_unit_test(test_lint_extensions),
	    cmocka_unit_test(test_lint_structure),
	    cmocka_unit_test(test_object_lint),
	    cmocka_unit_test(test_assemble),
	    cmocka_unit_test(test_two_threads),
	    cmocka_unit_test(test_fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
