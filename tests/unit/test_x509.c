/* x509: the root, signature and authentication profiles, basic-4 SAN,
 * substitute characters, lints, classification, DER helpers; compared
 * with the real J-LIS roots in $JPKI_SRC/data/jpki-roots. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "openjpki/x509.h"
#include "x509_fixture.h"

static EVP_PKEY *root_key;
static EVP_PKEY *leaf_key;

static const jpki_issuer_site site = {"Tokyo-to", "Chiyoda-ku", "ABC123XYZ"};
static const uint8_t serial1[] = {0x01};
static const uint8_t serial_leaf[] = {0x00, 0x7f, 0x10, 0x20};

static int setup(void **state)
{
	(void)state;
	root_key = EVP_RSA_gen(2048);
	leaf_key = EVP_RSA_gen(2048);
	return root_key != NULL && leaf_key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

static void assert_lint_ok(int rc, const jpki_err *err)
{
	if (rc != 0)
		fail_msg("lint: %s", err->msg);
}

static X509 *make_root(jpki_profile prof, jpki_cert_kind kind)
{
	X509 *x = NULL;
	jpki_err err = {0};
	int rc = x509_root_build(prof, kind, root_key, serial1, sizeof(serial1),
				 at("2025-01-05T01:02:03Z"), &x, &err);
	if (rc != 0)
		fail_msg("root: %s", err.msg);
	assert_lint_ok(x509_lint_root(prof, kind, x, &err), &err);
	assert_true(X509_sign(x, root_key, EVP_sha256()) > 0);
	assert_lint_ok(x509_lint_root(prof, kind, x, &err), &err);
	return x;
}

static jpki_sign_subject yamada(void)
{
	jpki_sign_subject s = {
	    .name = "山田　太郎",
	    .address = "東京都千代田区外神田１丁目２番３号　ＡＢＣ 101",
	    .sex = 1,
	    .birth = {1980, 12, 31},
	    .requested = at("2025-01-15T10:20:30+09:00"),
	    .sequence = 42,
	    .site = &site,
	};
	return s;
}

static X509 *make_sign(jpki_profile prof, X509 *root,
		       const jpki_sign_subject *s)
{
	X509 *x = NULL;
	jpki_err err = {0};
	int rc = x509_sign_cert_build(
	    prof, root, s, leaf_key, serial_leaf, sizeof(serial_leaf),
	    at("2025-01-15T10:21:00+09:00"),
	    jpki_date_end((jpki_date){2029, 12, 31}), &x, &err);
	if (rc != 0)
		fail_msg("sign cert: %s", err.msg);
	return x;
}

static X509 *make_auth(jpki_profile prof, X509 *root)
{
	X509 *x = NULL;
	jpki_err err = {0};
	int rc = x509_auth_cert_build(
	    prof, root, "997794E9AGCIEG13221003A", &site, leaf_key, serial_leaf,
	    sizeof(serial_leaf), at("2025-01-15T10:21:00+09:00"),
	    jpki_date_end((jpki_date){2029, 12, 31}), &x, &err);
	if (rc != 0)
		fail_msg("auth cert: %s", err.msg);
	return x;
}

static void test_names(void **state)
{
	(void)state;
	jpki_profile p;
	jpki_reason r;
	jpki_err err = {0};
	assert_int_equal(x509_init(&err), 0);
	assert_int_equal(x509_init(&err), 0);
	assert_string_equal(OBJ_nid2sn(OBJ_txt2nid(JPKI_OID_BIRTH)),
			    "jpki-pd-dateOfBirth");
	assert_string_equal(jpki_profile_name(JPKI_PROFILE_TEST), "test");
	assert_string_equal(jpki_profile_name(JPKI_PROFILE_PRODUCTION),
			    "production");
	assert_null(jpki_profile_name((jpki_profile)7));
	assert_int_equal(jpki_profile_parse("production", &p), 0);
	assert_int_equal(p, JPKI_PROFILE_PRODUCTION);
	assert_int_equal(jpki_profile_parse("test", &p), 0);
	assert_int_equal(p, JPKI_PROFILE_TEST);
	assert_int_equal(jpki_profile_parse("prod", &p), JPKI_ERR_INVAL);
	for (int i = 0; i <= 6; i++) {
		assert_non_null(jpki_reason_name((jpki_reason)i));
		assert_int_equal(
		    jpki_reason_parse(jpki_reason_name((jpki_reason)i), &r), 0);
		assert_int_equal(r, i);
	}
	assert_string_equal(jpki_reason_name(JPKI_REASON_KEY_COMPROMISE),
			    "keyCompromise");
	assert_string_equal(jpki_reason_name(JPKI_REASON_CESSATION),
			    "cessationOfOperation");
	assert_null(jpki_reason_name((jpki_reason)8));
	assert_int_equal(jpki_reason_parse("removeFromCRL", &r),
			 JPKI_ERR_INVAL);
}

static void test_roots(void **state)
{
	(void)state;
	static const jpki_profile profs[] = {JPKI_PROFILE_TEST,
					     JPKI_PROFILE_PRODUCTION};
	static const jpki_cert_kind kinds[] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};
	jpki_err err = {0};
	char s[21];
	for (int p = 0; p < 2; p++) {
		for (int k = 0; k < 2; k++) {
			X509 *x = make_root(profs[p], kinds[k]);
			jpki_cert_kind kind;
			jpki_profile prof;
			bool root = false;
			assert_int_equal(X509_verify(x, root_key), 1);
			assert_int_equal(
			    x509_classify(x, &kind, &prof, &root, &err), 0);
			assert_int_equal(kind, kinds[k]);
			assert_int_equal(prof, profs[p]);
			assert_true(root);
			/* the other hierarchy's lint refuses it */
			assert_int_equal(
			    x509_lint_root(profs[p], kinds[1 - k], x, &err),
			    JPKI_ERR_LINT);
			assert_int_equal(
			    x509_lint_root(profs[1 - p], kinds[k], x, &err),
			    JPKI_ERR_LINT);
			X509_free(x);
		}
	}
	/* 10 years less a day, ending 23:59:59 JST, as 2015-10-20 ->
	 * 2025-10-19 14:59:59Z on the real roots; 00:30 JST is already
	 * the next day in Japan. */
	static const struct {
		const char *nb;
		const char *na;
	} cases[] = {
	    {"2015-10-20T02:40:28Z", "2025-10-19T14:59:59Z"},
	    {"2023-07-16T00:50:27Z", "2033-07-15T14:59:59Z"},
	    {"2023-07-15T15:30:00Z", "2033-07-15T14:59:59Z"},
	    {"2016-02-29T03:00:00Z", "2026-02-28T14:59:59Z"},
	    {"2016-03-01T03:00:00Z", "2026-02-28T14:59:59Z"},
	    {"2045-01-01T00:00:00Z", "2054-12-31T14:59:59Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = NULL;
		time_t na = 0;
		assert_int_equal(
		    x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, root_key,
				    serial1, 1, at(cases[i].nb), &x, &err),
		    0);
		struct tm tm = {0};
		assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm),
				 1);
		jpki_date d = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
		na = (time_t)(jpki_date_to_days(d) * 86400 + tm.tm_hour * 3600 +
			      tm.tm_min * 60 + tm.tm_sec);
		jpki_time_format(na, s);
		assert_string_equal(s, cases[i].na);
		assert_lint_ok(
		    x509_lint_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, x, &err),
		    &err);
		X509_free(x);
	}
	/* serial numbers: positive, at most 20 octets (RFC 5280 4.1.2.2) */
	uint8_t big[21];
	memset(big, 0x11, sizeof(big));
	X509 *x = NULL;
	assert_int_equal(x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN,
					 root_key, big, 21, 0, &x, &err),
			 JPKI_ERR_INVAL);
	big[0] = 0x80;
	assert_int_equal(x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN,
					 root_key, big, 20, 0, &x, &err),
			 JPKI_ERR_INVAL);
	big[0] = 0x00; /* leading zero: 20 significant octets, top bit clear */
	big[1] = 0x7f;
	assert_int_equal(x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN,
					 root_key, big, 21, 0, &x, &err),
			 0);
	X509_free(x);
	x = NULL;
	memset(big, 0, sizeof(big));
	assert_int_equal(x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN,
					 root_key, big, 3, 0, &x, &err),
			 JPKI_ERR_INVAL);
	assert_null(x);
}

static X509 *load_real_root(const char *file)
{
	char path[1024];
	const char *src = getenv("JPKI_SRC");
	uint8_t *buf = NULL;
	size_t len = 0;
	X509 *x = NULL;
	jpki_err err = {0};
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/data/jpki-roots/%s", src, file);
	assert_int_equal(jpki_file_read(path, 65536, &buf, &len, &err), 0);
	if (x509_from_bytes(buf, len, &x, &err) != 0)
		fail_msg("%s: %s", file, err.msg);
	free(buf);
	return x;
}

static void assert_same_name_shape(const X509_NAME *ours, const X509_NAME *real,
				   bool same_o)
{
	assert_int_equal(X509_NAME_entry_count(ours),
			 X509_NAME_entry_count(real));
	for (int i = 0; i < X509_NAME_entry_count(real); i++) {
		const X509_NAME_ENTRY *a = X509_NAME_get_entry(ours, i);
		const X509_NAME_ENTRY *b = X509_NAME_get_entry(real, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(b));
		assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(a)),
				 nid);
		assert_int_equal(X509_NAME_ENTRY_set(a),
				 X509_NAME_ENTRY_set(b));
		const ASN1_STRING *va = X509_NAME_ENTRY_get_data(a);
		const ASN1_STRING *vb = X509_NAME_ENTRY_get_data(b);
		assert_int_equal(ASN1_STRING_type(va), ASN1_STRING_type(vb));
		if (nid != NID_organizationName || same_o)
			assert_int_equal(ASN1_STRING_cmp(va, vb), 0);
	}
}

static void test_real_roots(void **state)
{
	(void)state;
	static const char *const files[] = {
	    "sign_ca_2015.pem", "sign_ca_2023.pem", "auth_ca_2015.pem",
	    "auth_ca_2023.pem"};
	jpki_err err = {0};
	for (size_t f = 0; f < 4; f++) {
		X509 *real = load_real_root(files[f]);
		jpki_cert_kind kind;
		jpki_profile prof;
		bool is_root = false;
		jpki_basic4 b4;
		memset(&b4, 0x5a, sizeof(b4));
		assert_int_equal(
		    x509_classify(real, &kind, &prof, &is_root, &err), 0);
		assert_int_equal(kind, f < 2 ? JPKI_CERT_SIGN : JPKI_CERT_AUTH);
		assert_int_equal(prof, JPKI_PROFILE_PRODUCTION);
		assert_true(is_root);
		assert_int_equal(x509_basic4_decode(real, &b4, &err),
				 JPKI_ERR_NOT_FOUND);
		assert_int_equal(b4.name[0], 0x5a); /* untouched */
		/* our lint accepts the real thing */
		assert_lint_ok(
		    x509_lint_root(JPKI_PROFILE_PRODUCTION, kind, real, &err),
		    &err);
		for (int p = 0; p < 2; p++) {
			jpki_profile pr = p == 0 ? JPKI_PROFILE_PRODUCTION
						 : JPKI_PROFILE_TEST;
			X509 *ours = make_root(pr, kind);
			bool same_o = pr == JPKI_PROFILE_PRODUCTION;
			assert_int_equal(X509_get_version(ours),
					 X509_get_version(real));
			assert_int_equal(X509_get_signature_nid(ours),
					 X509_get_signature_nid(real));
			assert_same_name_shape(X509_get_subject_name(ours),
					       X509_get_subject_name(real),
					       same_o);
			assert_same_name_shape(X509_get_issuer_name(ours),
					       X509_get_issuer_name(real),
					       same_o);
			assert_int_equal(X509_get_ext_count(ours),
					 X509_get_ext_count(real));
			for (int i = 0; i < X509_get_ext_count(real); i++) {
				X509_EXTENSION *a = X509_get_ext(ours, i);
				X509_EXTENSION *b = X509_get_ext(real, i);
				int nid =
				    OBJ_obj2nid(X509_EXTENSION_get_object(b));
				assert_int_equal(
				    OBJ_obj2nid(X509_EXTENSION_get_object(a)),
				    nid);
				assert_int_equal(
				    X509_EXTENSION_get_critical(a),
				    X509_EXTENSION_get_critical(b));
				/* production: every extension but the key
				 * id is byte for byte the real one */
				if (!same_o ||
				    nid == NID_subject_key_identifier)
					continue;
				assert_int_equal(
				    ASN1_STRING_cmp(X509_EXTENSION_get_data(a),
						    X509_EXTENSION_get_data(b)),
				    0);
			}
			X509_free(ours);
		}
		X509_free(real);
	}
}

static void test_sign_cert(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_sign_subject s = yamada();
	for (int p = 0; p < 2; p++) {
		jpki_profile prof =
		    p == 0 ? JPKI_PROFILE_TEST : JPKI_PROFILE_PRODUCTION;
		X509 *root = make_root(prof, JPKI_CERT_SIGN);
		X509 *x = make_sign(prof, root, &s);
		jpki_basic4 b4;
		jpki_cert_kind kind;
		jpki_profile pr;
		bool is_root = true;
		assert_lint_ok(x509_lint_leaf(prof, JPKI_CERT_SIGN, x, &err),
			       &err);
		assert_int_equal(x509_lint_leaf(prof, JPKI_CERT_AUTH, x, &err),
				 JPKI_ERR_LINT);
		assert_true(X509_sign(x, root_key, EVP_sha256()) > 0);
		assert_lint_ok(x509_lint_leaf(prof, JPKI_CERT_SIGN, x, &err),
			       &err);
		assert_int_equal(X509_verify(x, root_key), 1);
		assert_int_equal(x509_classify(x, &kind, &pr, &is_root, &err),
				 0);
		assert_int_equal(kind, JPKI_CERT_SIGN);
		assert_int_equal(pr, prof);
		assert_false(is_root);

		/* the chain verifies with OpenSSL's path validation */
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		assert_int_equal(X509_STORE_add_cert(store, root), 1);
		assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
					   at("2026-01-01T00:00:00Z"));
		if (X509_verify_cert(ctx) != 1)
			fail_msg("verify: %s",
				 X509_verify_cert_error_string(
				     X509_STORE_CTX_get_error(ctx)));
		X509_STORE_CTX_free(ctx);
		X509_STORE_free(store);

		/* subject and CN: JST request time, sequence, window */
		char cn[64];
		assert_int_equal(
		    X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					      NID_commonName, cn, sizeof(cn)),
		    28);
		assert_string_equal(cn, "2025011510203000042ABC123XYZ");
		assert_int_equal(
		    X509_NAME_entry_count(X509_get_subject_name(x)), 4);
		assert_true(X509_NAME_cmp(X509_get_issuer_name(x),
					  X509_get_subject_name(root)) == 0);
		/* AKI is the root's SKI */
		const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
		assert_non_null(aki);
		assert_int_equal(
		    ASN1_STRING_cmp(aki, X509_get0_subject_key_id(root)), 0);
		/* CRLDP: the municipality's partition */
		X509_NAME *dp = NULL;
		assert_int_equal(
		    x509_crldp_name(prof, JPKI_CERT_SIGN, &site, &dp, &err), 0);
		char *txt = X509_NAME_oneline(dp, NULL, 0);
		assert_string_equal(
		    txt, prof == JPKI_PROFILE_TEST
			     ? "/C=JP/O=JPKI-TEST/OU=JPKI for digital "
			       "signature/OU=CRL Distribution Points/"
			       "OU=Tokyo-to/CN=Chiyoda-ku CRLDP"
			     : "/C=JP/O=JPKI/OU=JPKI for digital "
			       "signature/OU=CRL Distribution Points/"
			       "OU=Tokyo-to/CN=Chiyoda-ku CRLDP");
		OPENSSL_free(txt);
		CRL_DIST_POINTS *dps = X509_get_ext_d2i(
		    x, NID_crl_distribution_points, NULL, NULL);
		assert_non_null(dps);
		assert_int_equal(
		    X509_NAME_cmp(
			sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)
						  ->distpoint->name.fullname,
					      0)
			    ->d.directoryName,
			dp),
		    0);
		CRL_DIST_POINTS_free(dps);
		X509_NAME_free(dp);
		/* policy is critical and the profile's */
		int crit = -1;
		CERTIFICATEPOLICIES *cp =
		    X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
		assert_int_equal(crit, 1);
		char oid[64];
		OBJ_obj2txt(oid, sizeof(oid),
			    sk_POLICYINFO_value(cp, 0)->policyid, 1);
		assert_string_equal(oid, prof == JPKI_PROFILE_TEST
					     ? JPKI_OID_POLICY_SIGN_TEST
					     : JPKI_OID_POLICY_SIGN);
		CERTIFICATEPOLICIES_free(cp);

		/* basic-4 round trip through DER */
		uint8_t *der = NULL;
		size_t len = 0;
		X509 *y = NULL;
		assert_int_equal(x509_to_der(x, &der, &len, &err), 0);
		assert_int_equal(x509_from_der(der, len, &y, &err), 0);
		assert_int_equal(x509_basic4_decode(y, &b4, &err), 0);
		assert_string_equal(b4.name, "山田　太郎");
		assert_string_equal(b4.name_subst, "");
		assert_string_equal(b4.sex, "1");
		assert_string_equal(b4.birth, "319801231");
		assert_string_equal(b4.address, s.address);
		assert_string_equal(b4.address_subst, "");
		free(der);
		X509_free(y);
		X509_free(x);
		X509_free(root);
	}

	/* characters outside JIS X 0208/0212 get substitutes; 令和 birth */
	X509 *root = make_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN);
	s.name = "髙橋　𠮷子";
	s.address = "大阪府大阪市北区𠮷田町１番地";
	s.sex = 2;
	s.birth = (jpki_date){2019, 5, 1};
	X509 *x = make_sign(JPKI_PROFILE_TEST, root, &s);
	jpki_basic4 b4;
	assert_lint_ok(
	    x509_lint_leaf(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, x, &err), &err);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), 0);
	assert_string_equal(b4.name, "髙橋　𠮷子");
	assert_string_equal(b4.name_subst, "〓橋　〓子");
	assert_string_equal(b4.address_subst, "大阪府大阪市北区〓田町１番地");
	assert_string_equal(b4.sex, "2");
	assert_string_equal(b4.birth, "520190501");
	X509_free(x);

	/* builder refusals */
	x = NULL;
	jpki_sign_subject bad = yamada();
	bad.sex = 3;
	assert_int_equal(x509_sign_cert_build(JPKI_PROFILE_TEST, root, &bad,
					      leaf_key, serial1, 1, 0, 1, &x,
					      &err),
			 JPKI_ERR_INVAL);
	bad = yamada();
	bad.sequence = 100000;
	assert_int_equal(x509_sign_cert_build(JPKI_PROFILE_TEST, root, &bad,
					      leaf_key, serial1, 1, 0, 1, &x,
					      &err),
			 JPKI_ERR_INVAL);
	bad = yamada();
	bad.name = "山田\n太郎";
	assert_int_equal(x509_sign_cert_build(JPKI_PROFILE_TEST, root, &bad,
					      leaf_key, serial1, 1, 0, 1, &x,
					      &err),
			 JPKI_ERR_INVAL);
	bad = yamada();
	jpki_issuer_site short_window = site;
	short_window.window_id[8] = '\0';
	bad.site = &short_window;
	assert_int_equal(x509_sign_cert_build(JPKI_PROFILE_TEST, root, &bad,
					      leaf_key, serial1, 1, 0, 1, &x,
					      &err),
			 JPKI_ERR_INVAL);
	/* the production root is not the test hierarchy's issuer */
	bad = yamada();
	assert_int_equal(x509_sign_cert_build(JPKI_PROFILE_PRODUCTION, root,
					      &bad, leaf_key, serial1, 1, 0, 1,
					      &x, &err),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "issuer"));
	assert_null(x);
	X509_free(root);
}

static void test_auth_cert(void **state)
{
	(void)state;
	jpki_err err = {0};
	for (int p = 0; p < 2; p++) {
		jpki_profile prof =
		    p == 0 ? JPKI_PROFILE_TEST : JPKI_PROFILE_PRODUCTION;
		X509 *root = make_root(prof, JPKI_CERT_AUTH);
		X509 *x = make_auth(prof, root);
		jpki_basic4 b4;
		jpki_cert_kind kind;
		jpki_profile pr;
		bool is_root = true;
		assert_lint_ok(x509_lint_leaf(prof, JPKI_CERT_AUTH, x, &err),
			       &err);
		assert_true(X509_sign(x, root_key, EVP_sha256()) > 0);
		assert_int_equal(X509_verify(x, root_key), 1);
		assert_lint_ok(x509_lint_leaf(prof, JPKI_CERT_AUTH, x, &err),
			       &err);
		assert_int_equal(x509_classify(x, &kind, &pr, &is_root, &err),
				 0);
		assert_int_equal(kind, JPKI_CERT_AUTH);
		assert_int_equal(pr, prof);
		assert_false(is_root);
		assert_int_equal(x509_basic4_decode(x, &b4, &err),
				 JPKI_ERR_NOT_FOUND);
		char *txt =
		    X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
		assert_string_equal(txt, "/C=JP/CN=997794E9AGCIEG13221003A");
		OPENSSL_free(txt);
		assert_int_equal(
		    X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
		int crit = -1;
		CERTIFICATEPOLICIES *cp =
		    X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
		assert_int_equal(crit, 1);
		char oid[64];
		OBJ_obj2txt(oid, sizeof(oid),
			    sk_POLICYINFO_value(cp, 0)->policyid, 1);
		assert_string_equal(oid, prof == JPKI_PROFILE_TEST
					     ? JPKI_OID_POLICY_AUTH_TEST
					     : JPKI_OID_POLICY_AUTH);
		CERTIFICATEPOLICIES_free(cp);
		X509_free(x);
		X509_free(root);
	}
	/* the opaque id is a CN: at most 64 characters */
	X509 *root = make_root(JPKI_PROFILE_TEST, JPKI_CERT_AUTH);
	X509 *x = NULL;
	char id[66];
	memset(id, 'A', 65);
	id[65] = '\0';
	assert_int_equal(x509_auth_cert_build(JPKI_PROFILE_TEST, root, id,
					      &site, leaf_key, serial1, 1, 0, 1,
					      &x, &err),
			 JPKI_ERR_INVAL);
	assert_null(x);
	X509_free(root);
}

/* A SAN as a real card may carry it: OCTET STRING values. */
static X509 *cert_with_san(const char *const vals[6], int type, bool add_dns)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	assert_non_null(x);
	assert_non_null(gens);
	if (add_dns) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
		ASN1_STRING_set(ia5, "example.jp", -1);
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		sk_GENERAL_NAME_push(gens, gn);
	}
	static const char *const oids[6] = {
	    JPKI_OID_NAME,  JPKI_OID_NAME_SUBST, JPKI_OID_SEX,
	    JPKI_OID_BIRTH, JPKI_OID_ADDRESS,	 JPKI_OID_ADDRESS_SUBST};
	for (int i = 0; i < 6; i++) {
		if (vals[i] == NULL)
			continue;
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_TYPE *v = ASN1_TYPE_new();
		ASN1_STRING *str = ASN1_STRING_type_new(type);
		ASN1_STRING_set(str, vals[i], (int)strlen(vals[i]));
		ASN1_TYPE_set(v, type, str);
		assert_int_equal(
		    GENERAL_NAME_set0_othername(gn, OBJ_txt2obj(oids[i], 1), v),
		    1);
		sk_GENERAL_NAME_push(gens, gn);
	}
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
					   X509V3_ADD_DEFAULT),
			 1);
	GENERAL_NAMES_free(gens);
	return x;
}

static void test_basic4_decode(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_basic4 b4;
	const char *vals[6] = {"山田　花子",
			       "",
			       "2",
			       "419900102",
			       "北海道札幌市中央区北１条西２丁目",
			       ""};
	X509 *x = cert_with_san(vals, V_ASN1_OCTET_STRING, true);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), 0);
	assert_string_equal(b4.name, "山田　花子");
	assert_string_equal(b4.sex, "2");
	assert_string_equal(b4.birth, "419900102");
	assert_string_equal(b4.address, "北海道札幌市中央区北１条西２丁目");
	X509_free(x);

	/* substitutes absent: tolerated by the reader */
	const char *four[6] = {"A", NULL, "1", "118991201", "B", NULL};
	x = cert_with_san(four, V_ASN1_UTF8STRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), 0);
	assert_string_equal(b4.name_subst, "");
	assert_string_equal(b4.birth, "118991201");
	X509_free(x);

	/* a required one missing */
	const char *nobirth[6] = {"A", "", "1", NULL, "B", ""};
	x = cert_with_san(nobirth, V_ASN1_UTF8STRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "birth"));
	X509_free(x);

	/* wrong value type */
	x = cert_with_san(vals, V_ASN1_PRINTABLESTRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	X509_free(x);

	/* malformed UTF-8 inside an OCTET STRING, and an embedded NUL */
	const char *badutf[6] = {"\xe5\xb1", "", "1", "319801231", "B", ""};
	x = cert_with_san(badutf, V_ASN1_OCTET_STRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	X509_free(x);

	/* too long for the struct */
	char longname[JPKI_B4_NAME_MAX + 1];
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *toolong[6] = {longname, "", "1", "319801231", "B", ""};
	x = cert_with_san(toolong, V_ASN1_UTF8STRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_RANGE);
	X509_free(x);
	const char *longsex[6] = {"A", "", "1234", "319801231", "B", ""};
	x = cert_with_san(longsex, V_ASN1_UTF8STRING, false);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_RANGE);
	X509_free(x);

	/* no basic-4 otherName; no SAN at all */
	const char *none[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	x = cert_with_san(none, V_ASN1_UTF8STRING, true);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_NOT_FOUND);
	X509_free(x);
	x = X509_new();
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_NOT_FOUND);

	/* garbage in the extension value */
	ASN1_OCTET_STRING *junk = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(junk, (const unsigned char *)"\x30\x05\xa0\x03",
			      4);
	X509_EXTENSION *ext =
	    X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, junk);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	memset(&b4, 0x5a, sizeof(b4));
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	assert_int_equal(b4.name[0], 0x5a);
	/* two SAN extensions */
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(junk);
	X509_free(x);

	/* duplicate otherName */
	const char *dup[6] = {"A", "", "1", "319801231", "B", ""};
	x = cert_with_san(dup, V_ASN1_UTF8STRING, false);
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	sk_GENERAL_NAME_push(gens,
			     GENERAL_NAME_dup(sk_GENERAL_NAME_value(gens, 0)));
	X509_free(x);
	x = X509_new();
	X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	assert_int_equal(x509_basic4_decode(x, &b4, &err), JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "two"));
	X509_free(x);
}

static void test_substitute(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool needed;
		const char *out;
	} ok[] = {
	    {"山田　太郎", false, ""},
	    {"髙橋", true, "〓橋"}, /* U+9AD9: not in glibc's JIS X 0212 */
	    {"𠮷田", true, "〓田"}, /* U+20BB7: outside both */
	    {"森鷗外", false, ""},  /* 鷗 U+9DD7: JIS X 0212 */
	    {"Smith 1-2/3", false, ""},
	    {"ｱｲｳ", true, "〓〓〓"}, /* JIS X 0201 kana */
	    {"¥100", true, "〓100"}, /* U+00A5 maps to ASCII 0x5C */
	    {"東京都千代田区外神田１丁目２番３号", false, ""},
	    {"", false, ""},
	};
	jpki_err err = {0};
	char out[128];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		bool needed = !ok[i].needed;
		if (x509_substitute(ok[i].in, out, sizeof(out), &needed,
				    &err) != 0)
			fail_msg("%s: %s", ok[i].in, err.msg);
		assert_int_equal(needed, ok[i].needed);
		assert_string_equal(out, ok[i].out);
	}
	static const char *const bad[] = {
	    "\xff",		/* not UTF-8 */
	    "\xc0\xaf",		/* overlong */
	    "\xed\xa0\x80",	/* surrogate */
	    "\xf4\x90\x80\x80", /* over U+10FFFF */
	    "\xe5\xb1",		/* truncated */
	    "a\tb",		/* control */
	    "a\x7f",
	    "a\xc2\x85", /* C1 control */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool needed = false;
		memcpy(out, "unchanged", sizeof("unchanged"));
		assert_int_equal(
		    x509_substitute(bad[i], out, sizeof(out), &needed, &err),
		    JPKI_ERR_INVAL);
		assert_string_equal(out, "unchanged");
	}
	bool needed = false;
	memcpy(out, "xyz", 4);
	assert_int_equal(x509_substitute("𠮷田", out, 6, &needed, &err),
			 JPKI_ERR_RANGE);
	assert_string_equal(out, "xyz");
	assert_int_equal(x509_substitute("𠮷田", out, 7, &needed, &err), 0);
	assert_string_equal(out, "〓田");
}

/* Replace extension nid of x by a copy of src's, critical flag crit
 * (-1: keep). */
static void swap_ext(X509 *x, int nid, X509 *src, int crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	if (i >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	X509_EXTENSION *e = X509_EXTENSION_dup(
	    X509_get_ext(src, X509_get_ext_by_NID(src, nid, -1)));
	assert_non_null(e);
	if (crit >= 0)
		X509_EXTENSION_set_critical(e, crit);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
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

static EVP_PKEY *rsa_key(unsigned bits, unsigned long e)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	assert_non_null(ctx);
	assert_true(BN_set_word(bn, e));
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void test_lint_refusals(void **state)
{
	(void)state;
	const jpki_profile T = JPKI_PROFILE_TEST;
	jpki_err err = {0};
	jpki_sign_subject s = yamada();
	X509 *sroot = make_root(T, JPKI_CERT_SIGN);
	X509 *aroot = make_root(T, JPKI_CERT_AUTH);
	X509 *proot = make_root(JPKI_PROFILE_PRODUCTION, JPKI_CERT_SIGN);
	X509 *x;

	/* keys: 1024 bits, e = 3, not RSA */
	EVP_PKEY *small = rsa_key(1024, 65537);
	EVP_PKEY *e3 = rsa_key(2048, 3);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_int_equal(x509_check_key(small, &err), JPKI_ERR_KEY);
	assert_non_null(strstr(err.msg, "1024 bits"));
	assert_int_equal(x509_check_key(e3, &err), JPKI_ERR_KEY);
	assert_non_null(strstr(err.msg, "exponent is 3"));
	assert_int_equal(x509_check_key(ec, &err), JPKI_ERR_KEY);
	assert_non_null(strstr(err.msg, "RSA"));
	assert_int_equal(x509_check_key(leaf_key, &err), 0);
	x = NULL;
	assert_int_equal(
	    x509_root_build(T, JPKI_CERT_SIGN, small, serial1, 1, 0, &x, &err),
	    JPKI_ERR_KEY);
	assert_null(x);
	x = make_sign(T, sroot, &s);
	assert_int_equal(X509_set_pubkey(x, small), 1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_KEY, "1024 bits");
	assert_int_equal(X509_set_pubkey(x, e3), 1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_KEY, "must be 65537");
	X509_free(x);

	/* a production policy on a test certificate */
	X509 *prod = make_sign(JPKI_PROFILE_PRODUCTION, proot, &s);
	x = make_sign(T, sroot, &s);
	swap_ext(x, NID_certificate_policies, prod, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "certificate policy 1.2.392.200149.8.5.1.1.20 is not the "
		    "test profile's sign policy 1.2.392.200149.8.5.1.0.20");
	X509_free(x);
	X509_free(prod);

	/* keyUsage not critical */
	x = make_sign(T, sroot, &s);
	X509 *copy = make_sign(T, sroot, &s);
	swap_ext(x, NID_key_usage, copy, 0);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "keyUsage must be critical");
	/* ... missing altogether */
	X509_EXTENSION_free(
	    X509_delete_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1)));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "missing keyUsage");
	X509_free(x);

	/* certificatePolicies not critical */
	x = make_sign(T, sroot, &s);
	swap_ext(x, NID_certificate_policies, copy, 0);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "certificatePolicies must be critical");
	X509_free(x);

	/* a basic-4 value that is not valid */
	x = make_sign(T, sroot, &s);
	const char *vals[6] = {"山田", "", "9", "319801231", "東京", ""};
	X509 *san = cert_with_san(vals, V_ASN1_UTF8STRING, false);
	swap_ext(x, NID_subject_alt_name, san, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "sex");
	X509_free(san);
	const char *vals2[6] = {"山田", "", "1", "319901231", "東京", ""};
	san = cert_with_san(vals2, V_ASN1_UTF8STRING, false);
	swap_ext(x, NID_subject_alt_name, san, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "EYYYYMMDD");
	X509_free(san);
	const char *vals3[6] = {"髙橋", "", "1", "319801231", "東京", ""};
	san = cert_with_san(vals3, V_ASN1_UTF8STRING, false);
	swap_ext(x, NID_subject_alt_name, san, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "name substitute must be");
	X509_free(san);
	const char *vals4[6] = {"山田", "", "1", "319801231", "東京", ""};
	san = cert_with_san(vals4, V_ASN1_OCTET_STRING, false);
	swap_ext(x, NID_subject_alt_name, san, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "UTF8String");
	X509_free(san);
	X509_free(x);

	/* validity: notAfter not at 14:59:59Z; notBefore >= notAfter */
	x = make_sign(T, sroot, &s);
	ASN1_TIME_set(X509_getm_notAfter(x), at("2029-12-31T15:00:00Z"));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "notAfter must be 23:59:59 JST (14:59:59Z), not "
		    "2029-12-31T15:00:00Z");
	ASN1_TIME_set(X509_getm_notAfter(x), at("2024-12-31T14:59:59Z"));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "notBefore must be before notAfter");
	ASN1_TIME_set(X509_getm_notAfter(x), at("2025-01-15T01:21:00Z"));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "notBefore must be before notAfter");
	/* GeneralizedTime before 2050 */
	ASN1_GENERALIZEDTIME_set(X509_getm_notAfter(x),
				 at("2029-12-31T14:59:59Z"));
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "UTCTime");
	X509_free(x);

	/* serial numbers */
	x = make_sign(T, sroot, &s);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "serial number must be positive");
	ASN1_INTEGER_set(X509_get_serialNumber(x), -5);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "serial number must be positive");
	X509_free(x);

	/* the signature certificate's CN shape */
	x = make_sign(T, sroot, &s);
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(x));
	X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, 3));
	X509_NAME_add_entry_by_NID(
	    n, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"2025023010203000042ABC123XYZ", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT, "YYYYMMDDhhmmss");
	X509_free(x);

	/* CRLDP of another municipality than the subject's L= */
	x = make_sign(T, sroot, &s);
	X509 *other = NULL;
	jpki_issuer_site osite = {"Osaka-fu", "Osaka-shi", "ZZZ999ZZZ"};
	s.site = &osite;
	other = make_sign(T, sroot, &s);
	s.site = &site;
	swap_ext(x, NID_crl_distribution_points, other, -1);
	expect_lint(T, JPKI_CERT_SIGN, x, JPKI_ERR_LINT,
		    "is not the subject's L=");
	X509_free(other);
	X509_free(x);

	/* the wrong hierarchy */
	expect_lint(T, JPKI_CERT_AUTH, copy, JPKI_ERR_LINT,
		    "issuer must be the test auth root DN");
	expect_lint(JPKI_PROFILE_PRODUCTION, JPKI_CERT_SIGN, copy,
		    JPKI_ERR_LINT, "issuer must be the production sign root");
	X509_free(copy);

	/* authentication certificate: SAN, L=, CN length, extra ext */
	X509 *sign = make_sign(T, sroot, &s);
	x = make_auth(T, aroot);
	swap_ext(x, NID_subject_alt_name, sign, -1);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT,
		    "must not carry subjectAltName");
	X509_free(x);
	x = make_auth(T, aroot);
	n = X509_NAME_new();
	X509_NAME_add_entry_by_NID(n, NID_countryName, V_ASN1_PRINTABLESTRING,
				   (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_NID(n, NID_localityName, V_ASN1_UTF8STRING,
				   (const unsigned char *)"Kiyose-shi", -1, -1,
				   0);
	X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
				   (const unsigned char *)"ABC", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT, "must not carry L=");
	char id[66];
	memset(id, 'A', 65);
	id[65] = '\0';
	n = X509_NAME_new();
	X509_NAME_add_entry_by_NID(n, NID_countryName, V_ASN1_PRINTABLESTRING,
				   (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
				   (const unsigned char *)id, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT,
		    "subject CN has 65 characters, over ub-common-name 64");
	X509_free(x);
	x = make_auth(T, aroot);
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0);
	BASIC_CONSTRAINTS_free(bc);
	expect_lint(T, JPKI_CERT_AUTH, x, JPKI_ERR_LINT,
		    "unexpected extension");
	X509_free(x);

	/* a root with its extensions in another order than J-LIS's */
	x = make_root(T, JPKI_CERT_SIGN);
	X509_EXTENSION *ku = X509_delete_ext(x, 0);
	X509_add_ext(x, ku, -1);
	X509_EXTENSION_free(ku);
	assert_int_equal(x509_lint_root(T, JPKI_CERT_SIGN, x, &err),
			 JPKI_ERR_LINT);
	assert_non_null(strstr(err.msg, "order"));
	X509_free(x);

	X509_free(sign);
	EVP_PKEY_free(small);
	EVP_PKEY_free(e3);
	EVP_PKEY_free(ec);
	X509_free(proot);
	X509_free(aroot);
	X509_free(sroot);
}

static void test_der(void **state)
{
	(void)state;
	jpki_err err = {0};
	X509 *root = make_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN);
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	assert_int_equal(x509_to_der(root, &der, &len, &err), 0);
	assert_int_equal(x509_from_der(der, len, &x, &err), 0);
	assert_int_equal(X509_cmp(x, root), 0);
	X509_free(x);
	x = NULL;
	assert_int_equal(x509_from_bytes(der, len, &x, &err), 0);
	X509_free(x);
	x = NULL;
	/* trailing data, truncation, garbage */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(x509_from_der(longer, len + 1, &x, &err),
			 JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "after"));
	assert_int_equal(x509_from_der(der, len - 1, &x, &err), JPKI_ERR_PARSE);
	assert_int_equal(x509_from_der((const uint8_t *)"hello", 5, &x, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(x509_from_bytes((const uint8_t *)"", 0, &x, &err),
			 JPKI_ERR_PARSE);
	assert_null(x);
	free(longer);

	/* PEM, with white space around, and with something after it */
	BIO *b = BIO_new(BIO_s_mem());
	BIO_puts(b, "\n");
	PEM_write_bio_X509(b, root);
	BIO_puts(b, "\n\n");
	char *pem = NULL;
	long plen = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    x509_from_bytes((const uint8_t *)pem, (size_t)plen, &x, &err), 0);
	assert_int_equal(X509_cmp(x, root), 0);
	X509_free(x);
	x = NULL;
	BIO_puts(b, "junk");
	plen = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    x509_from_bytes((const uint8_t *)pem, (size_t)plen, &x, &err),
	    JPKI_ERR_PARSE);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, root_key);
	plen = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    x509_from_bytes((const uint8_t *)pem, (size_t)plen, &x, &err),
	    JPKI_ERR_PARSE);
	assert_null(x);
	BIO_free(b);
	free(der);

	/* not a JPKI certificate */
	jpki_cert_kind kind;
	X509 *foreign = X509_new();
	X509_NAME_add_entry_by_txt(X509_get_subject_name(foreign), "CN",
				   MBSTRING_ASC, (const unsigned char *)"foo",
				   -1, -1, 0);
	X509_set_issuer_name(foreign, X509_get_subject_name(foreign));
	assert_int_equal(x509_classify(foreign, &kind, NULL, NULL, &err),
			 JPKI_ERR_NOT_FOUND);
	X509_free(foreign);
	X509_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_roots),
	    cmocka_unit_test(test_real_roots),
	    cmocka_unit_test(test_sign_cert),
	    cmocka_unit_test(test_auth_cert),
	    cmocka_unit_test(test_basic4_decode),
	    cmocka_unit_test(test_substitute),
	    cmocka_unit_test(test_lint_refusals),
	    cmocka_unit_test(test_der),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
