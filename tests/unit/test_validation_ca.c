/* validation against openjpki's own CA (ca_issue, ca_revoke, ca_crl,
 * ca_ocsp) and against J-LIS's real roots (two generations per DN). */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openjpki/ca.h"
#include "openjpki/util.h"
#include "test_validation_common.h"

static char dir[64], cadir[96], crl_path[128];
static jpki_ca *ca;
static EVP_PKEY *k_a_sign, *k_a_auth, *k_b_sign;
static X509 *a_sign, *a_auth, *b_sign;
static time_t now;

static int64_t add_resident(store *st, const char *ext, const char *card,
			    jpki_date birth)
{
	store_resident r;
	store_card c;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	snprintf(r.ext_id, sizeof(r.ext_id), "%s", ext);
	snprintf(r.name, sizeof(r.name), "山田　花子");
	snprintf(r.kana, sizeof(r.kana), "ヤマダハナコ");
	snprintf(r.address, sizeof(r.address), "東京都清瀬市上清戸１丁目");
	r.birth = birth;
	r.sex = 2;
	snprintf(r.muni_code, sizeof(r.muni_code), "132217");
	r.updated_at = now;
	if (store_resident_add(st, &r, &err) != 0)
		fail_msg("resident: %s", err.msg);
	snprintf(c.serial, sizeof(c.serial), "%s", card);
	c.resident_id = r.id;
	c.issued = jpki_date_of(now);
	c.expiry = rules_card_expiry(birth, c.issued);
	if (store_card_put(st, &c, &err) != 0)
		fail_msg("card: %s", err.msg);
	return r.id;
}

static void rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];
	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rmtree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	now = fx_at(FX_NOW);
	snprintf(dir, sizeof(dir), "/tmp/jpki-valca-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = now, .now_fixed = true};
	if (ca_init(cadir, &o, &err) != 0 || ca_open(cadir, NULL, &ca, &err))
		fail_msg("ca: %s", err.msg);
	store *st = ca_store(ca);
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_muni_put(st, &m, &err), 0);
	int64_t a = add_resident(st, "A", "CARD-A", (jpki_date){1992, 2, 29});
	int64_t b = add_resident(st, "B", "CARD-B", (jpki_date){1970, 5, 5});
	assert_int_equal(store_commit(st, &err), 0);
	k_a_sign = EVP_RSA_gen(2048);
	k_a_auth = EVP_RSA_gen(2048);
	k_b_sign = EVP_RSA_gen(2048);
	ca_issued res;
	ca_issue_req req = {.resident_id = a,
			    .card_serial = "CARD-A",
			    .sign_pub = k_a_sign,
			    .auth_pub = k_a_auth,
			    .now = now};
	if (ca_issue(ca, &req, &res, &err) != 0)
		fail_msg("issue: %s", err.msg);
	if (ca_issued_x509(&res, JPKI_CERT_SIGN, &a_sign, &err) != 0 ||
	    ca_issued_x509(&res, JPKI_CERT_AUTH, &a_auth, &err) != 0)
		fail_msg("parse: %s", err.msg);
	ca_issued_free(&res);
	req = (ca_issue_req){.resident_id = b,
			     .card_serial = "CARD-B",
			     .sign_pub = k_b_sign,
			     .now = now};
	if (ca_issue(ca, &req, &res, &err) != 0)
		fail_msg("issue: %s", err.msg);
	if (ca_issued_x509(&res, JPKI_CERT_SIGN, &b_sign, &err) != 0)
		fail_msg("parse: %s", err.msg);
	/* B's address changed an hour later: the signature certificate is
	 * revoked (affiliationChanged), as the registry does */
	if (ca_revoke(ca, res.sign_serial, JPKI_REASON_AFFILIATION_CHANGED,
		      now + 3600, "test", &err) != 0)
		fail_msg("revoke: %s", err.msg);
	ca_issued_free(&res);
	uint8_t *der = NULL;
	size_t len = 0;
	if (ca_crl(ca, JPKI_CERT_SIGN, CA_CRL_PARTITION, "132217", now + 7200,
		   &der, &len, &err) != 0)
		fail_msg("crl: %s", err.msg);
	snprintf(crl_path, sizeof(crl_path), "%s/kiyose.crl", dir);
	FILE *f = fopen(crl_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
	free(der);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(a_sign);
	X509_free(a_auth);
	X509_free(b_sign);
	EVP_PKEY_free(k_a_sign);
	EVP_PKEY_free(k_a_auth);
	EVP_PKEY_free(k_b_sign);
	ca_close(ca);
	rmtree(dir);
	return 0;
}

static jpki_validator *vnew(void)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	char roots[128];
	size_t added = 0;
	assert_int_equal(val_new(&v, &err), 0);
	snprintf(roots, sizeof(roots), "%s/roots", cadir);
	if (val_load_roots(v, roots, &added, &err) != 0)
		fail_msg("roots: %s", err.msg);
	assert_int_equal(added, 2);
	return v;
}

static void test_ca_crl(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_opts o = {now + 7300, now + 7300, VAL_PURPOSE_SIGN};
	assert_int_equal(val_map_crl(v, "*", crl_path, &err), 0);
	assert_int_equal(val_cert(v, a_sign, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_int_equal(r.rev, VAL_REV_GOOD);
	val_result_clear(&r);
	assert_int_equal(val_cert(v, b_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	assert_int_equal(r.reason, JPKI_REASON_AFFILIATION_CHANGED);
	assert_int_equal(r.revoked_at, now + 3600);
	val_result_clear(&r);
	/* a document B signed before the change of address is judged at
	 * that instant by a relying party that received it then */
	o.at = now + 1800;
	assert_int_equal(val_cert(v, b_sign, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	val_free(v);
}

static void test_ca_ocsp(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_opts o = {now + 7300, now + 7300, VAL_PURPOSE_ANY};
	X509 *sroot = ca_root(ca, JPKI_CERT_SIGN);
	X509 *aroot = ca_root(ca, JPKI_CERT_AUTH);
	struct {
		X509 *cert, *root;
		unsigned fails;
	} cases[] = {{b_sign, sroot, VAL_FAIL_REVOKED},
		     {a_sign, sroot, 0},
		     {a_auth, aroot, 0}};
	for (size_t i = 0; i < 3; i++) {
		size_t qlen = 0, len = 0;
		uint8_t *q =
		    fx_ocsp_req(cases[i].cert, cases[i].root, true, &qlen);
		uint8_t *resp = NULL;
		if (ca_ocsp(ca, 0, q, qlen, now + 7200, &resp, &len, &err) != 0)
			fail_msg("ocsp: %s", err.msg);
		assert_int_equal(val_add_ocsp_response(v, resp, len, &err), 0);
		free(q);
		free(resp);
	}
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(val_cert(v, cases[i].cert, &o, &r, &err), 0);
		assert_fails(&r, cases[i].fails);
		assert_int_equal(r.rev_source, VAL_SRC_OCSP);
		val_result_clear(&r);
	}
	/* and a CMS signed by A's card key, checked by OCSP */
	size_t len = 0;
	uint8_t *doc = fx_cms(a_sign, k_a_sign, "申請書", true, &len);
	assert_int_equal(val_cms(v, doc, len, NULL, 0, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_string_equal(r.basic4.name, "山田　花子");
	assert_int_equal(r.birth.d, 29);
	assert_int_equal(r.birth_era, 4); /* 平成 */
	assert_int_equal(r.birth_era_year, 4);
	val_result_clear(&r);
	free(doc);
	val_free(v);
}

/* J-LIS's real roots: both generations of each hierarchy load, share
 * one DN and are told apart by key. */
static void test_real_roots(void **state)
{
	(void)state;
	const char *src = getenv("JPKI_SRC");
	char path[512];
	jpki_validator *v = NULL;
	jpki_err err = {0};
	size_t added = 0;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/data/jpki-roots", src);
	assert_int_equal(val_new(&v, &err), 0);
	if (val_load_roots(v, path, &added, &err) != 0)
		fail_msg("real roots: %s", err.msg);
	assert_int_equal(added, 4);
	X509 *sign[2] = {NULL, NULL}; /* 2015, 2023 */
	size_t sign_idx[2] = {0, 0};
	int n_auth = 0;
	for (size_t i = 0; i < val_root_count(v); i++) {
		X509 *x = val_root(v, i);
		jpki_cert_kind kind;
		jpki_profile prof;
		bool root = false;
		assert_int_equal(x509_classify(x, &kind, &prof, &root, &err),
				 0);
		assert_true(root);
		assert_int_equal(prof, JPKI_PROFILE_PRODUCTION);
		if (kind == JPKI_CERT_AUTH) {
			n_auth++;
			continue;
		}
		struct tm tm;
		assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm),
				 1);
		int g = tm.tm_year + 1900 >= 2023;
		sign[g] = x;
		sign_idx[g] = i;
	}
	assert_int_equal(n_auth, 2);
	assert_non_null(sign[0]);
	assert_non_null(sign[1]);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(sign[0]),
				       X509_get_subject_name(sign[1])),
			 0);
	assert_int_not_equal(
	    ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(sign[0]),
				  X509_get0_subject_key_id(sign[1])),
	    0);

	/* a synthetic production signature certificate naming each
	 * generation's key in its AKI: that generation is selected (its
	 * signature, made with our key, then fails) */
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *own = fx_root(JPKI_PROFILE_PRODUCTION, JPKI_CERT_SIGN, k, 3,
			    "2024-01-05T00:00:00Z");
	X509 *leaf = fx_sign_leaf(JPKI_PROFILE_PRODUCTION, own, k, k, 0x42);
	for (int g = 0; g < 2; g++) {
		X509 *x = X509_dup(leaf);
		AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
		int i =
		    X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);
		X509_EXTENSION_free(X509_delete_ext(x, i));
		akid->keyid =
		    ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(sign[g]));
		assert_int_equal(X509_add1_ext_i2d(x,
						   NID_authority_key_identifier,
						   akid, 0, 0),
				 1);
		AUTHORITY_KEYID_free(akid);
		assert_true(X509_sign(x, k, EVP_sha256()) > 0);
		size_t idx = 99;
		bool ok = true;
		assert_int_equal(val_find_issuer(v, x, &idx, &ok, &err), 0);
		assert_int_equal(idx, sign_idx[g]);
		assert_false(ok);
		val_result r;
		val_opts o = {fx_at("2026-01-05T00:00:00Z"),
			      fx_at("2026-01-05T00:00:00Z"), VAL_PURPOSE_SIGN};
		assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
		assert_true(r.fails & VAL_FAIL_CERT_SIGNATURE);
		assert_true(fx_says(&r, VAL_FAIL_CERT_SIGNATURE,
				    g ? "production sign root of 2023-07-16"
				      : "production sign root of 2015-10-20"));
		val_result_clear(&r);
		X509_free(x);
	}
	/* and a key no generation has: not trusted, whatever the DN says */
	size_t idx = 0;
	bool ok = false;
	assert_int_equal(val_find_issuer(v, leaf, &idx, &ok, &err),
			 JPKI_ERR_NOT_FOUND);
	X509_free(leaf);
	X509_free(own);
	EVP_PKEY_free(k);
	val_free(v);
}

/* The project carries the real J-LIS roots in its data folder
 * (data/jpki-roots): each file is the certificate J-LIS publishes (the
 * SHA-256 of its DER equals the fingerprint in data/jpki-roots/README.md
 * and the pin of val_jlis_roots), all four load through
 * val_load_jlis_roots, and a folder holding another certificate under a
 * pinned name, or missing one, is refused. */
static void test_jlis_roots_pinned(void **state)
{
	(void)state;
	static const char *const official[4][2] = {
	    {"sign_ca_2015.pem", "19:64:54:05:A1:FE:14:37:74:34:BD:55:95:76:28:"
				 "AC:40:38:55:7C:54:24:03:A2:24:3F:21:C7:06:"
				 "FC:93:55"},
	    {"sign_ca_2023.pem", "D2:27:F6:CD:E1:1D:35:C5:25:21:78:F1:06:F8:43:"
				 "D2:46:51:94:49:75:41:3B:53:9F:A2:FB:68:DB:"
				 "FA:36:5F"},
	    {"auth_ca_2015.pem", "4D:CF:C4:CA:0A:AF:9F:B2:A3:08:1B:3F:0C:99:1C:"
				 "32:0B:3A:CC:00:86:67:A3:41:EE:AE:C5:AF:1D:"
				 "58:CA:7D"},
	    {"auth_ca_2023.pem", "64:11:4F:29:62:0C:24:ED:26:31:D4:64:76:A0:40:"
				 "E7:EE:74:0D:95:60:89:C0:0B:03:6A:6A:81:18:"
				 "C3:22:B5"},
	};
	const char *src = getenv("JPKI_SRC");
	char rdir[512], path[640], tmpl[] = "/tmp/jlis-XXXXXX";
	jpki_validator *v = NULL;
	jpki_err err = {0};
	size_t added = 0;
	assert_non_null(src);
	snprintf(rdir, sizeof(rdir), "%s/data/jpki-roots", src);
	for (size_t i = 0; i < VAL_JLIS_ROOTS; i++) {
		X509 *x = NULL;
		unsigned char md[32];
		unsigned int n = 0;
		char colon[3 * 32];
		assert_string_equal(val_jlis_roots[i].file, official[i][0]);
		if (val_jlis_root_read(rdir, i, &x, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
		for (unsigned j = 0; j < n; j++)
			snprintf(colon + 3 * j, 4, j + 1 < n ? "%02X:" : "%02X",
				 md[j]);
		assert_string_equal(colon, official[i][1]);
		jpki_cert_kind kind;
		jpki_profile prof;
		bool root = false;
		assert_int_equal(x509_classify(x, &kind, &prof, &root, &err),
				 0);
		assert_true(root);
		assert_int_equal(prof, JPKI_PROFILE_PRODUCTION);
		assert_int_equal(kind, val_jlis_roots[i].kind);
		X509_free(x);
	}
	assert_int_equal(val_new(&v, &err), 0);
	if (val_load_jlis_roots(v, rdir, &added, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(added, 4);
	val_free(v);

	/* a folder where sign_ca_2023.pem is really the 2015 root */
	assert_non_null(mkdtemp(tmpl));
	for (size_t i = 0; i < VAL_JLIS_ROOTS; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		const char *from = i == 1 ? official[0][0] : official[i][0];
		snprintf(path, sizeof(path), "%s/%s", rdir, from);
		assert_int_equal(jpki_file_read(path, 65536, &buf, &len, &err),
				 0);
		snprintf(path, sizeof(path), "%s/%s", tmpl, official[i][0]);
		assert_int_equal(
		    jpki_file_write_atomic(path, buf, len, 0644, &err), 0);
		free(buf);
	}
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_load_jlis_roots(v, tmpl, &added, &err),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "not the pinned fingerprint"));
	val_free(v);
	/* and one missing */
	snprintf(path, sizeof(path), "%s/%s", tmpl, official[3][0]);
	assert_int_equal(unlink(path), 0);
	X509 *x = NULL;
	assert_int_not_equal(val_jlis_root_read(tmpl, 3, &x, &err), 0);
	assert_null(x);
	assert_non_null(strstr(err.msg, "cannot be read"));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpl, official[i][0]);
		unlink(path);
	}
	rmdir(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca_crl),
	    cmocka_unit_test(test_ca_ocsp),
	    cmocka_unit_test(test_real_roots),
	    cmocka_unit_test(test_jlis_roots_pinned),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
