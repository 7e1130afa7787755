/* ca/, keystore/ and registry/: issuing under the law, refusals with their
 * messages, renewal, revocation, CRLs, OCSP, batches, keys on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ca/ca_internal.h"
#include "openjpki/ca.h"
#include "openjpki/keystore.h"
#include "openjpki/registry.h"
#include "openjpki/spool.h"
#include "openjpki/util.h"

static char dir[64];
static char cadir[128];
static EVP_PKEY *k1, *k2, *k3;
static time_t T0; /* 2026-11-25 10:00 JST */

static int rm_rf(const char *d)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	return system(cmd);
}

static int64_t add_resident(jpki_ca *ca, const char *ext, const char *birth,
			    bool ward, const char *muni)
{
	store_resident r;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	assert_int_equal(jpki_strlcpy(r.ext_id, ext, sizeof(r.ext_id)), 0);
	assert_int_equal(jpki_strlcpy(r.name, "山田　太郎", sizeof(r.name)), 0);
	assert_int_equal(jpki_strlcpy(r.kana, "ヤマダ　タロウ", sizeof(r.kana)),
			 0);
	assert_int_equal(jpki_strlcpy(r.address, "東京都清瀬市上清戸１丁目",
				      sizeof(r.address)),
			 0);
	assert_int_equal(jpki_date_parse(birth, &r.birth), 0);
	r.sex = 1;
	r.adult_ward = ward;
	assert_int_equal(jpki_strlcpy(r.muni_code, muni, sizeof(r.muni_code)),
			 0);
	int rc = registry_resident_add(ca, &r, T0, "test", &err);
	if (rc != 0)
		fail_msg("add resident: %s", err.msg);
	store_card c;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "CARD-%s", ext);
	c.resident_id = r.id;
	c.issued = jpki_date_of(T0);
	if (registry_card_record(ca, &c, T0, "test", &err) != 0)
		fail_msg("card: %s", err.msg);
	return r.id;
}

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-ca-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	assert_int_equal(jpki_time_parse("2026-11-25T01:00:00Z", &T0), 0);
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = T0, .now_fixed = true};
	if (ca_init(cadir, &o, &err) != 0) {
		fprintf(stderr, "ca_init: %s\n", err.msg);
		return -1;
	}
	k1 = EVP_RSA_gen(2048);
	k2 = EVP_RSA_gen(2048);
	k3 = EVP_RSA_gen(2048);
	jpki_ca *ca = NULL;
	if (ca_open(cadir, NULL, &ca, &err) != 0)
		return -1;
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	if (registry_muni_put(ca, &m, T0, "test", &err) != 0)
		return -1;
	ca_close(ca);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	return rm_rf(dir) == 0 ? 0 : -1;
}

static jpki_ca *open_ca(void)
{
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	if (ca_open(cadir, NULL, &ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	return ca;
}

static void test_issue_pair(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	int64_t id = add_resident(ca, "P1", "1980-12-31", false, "132217");
	ca_issue_req req = {.resident_id = id,
			    .card_serial = "CARD-P1",
			    .sign_pub = k1,
			    .auth_pub = k2,
			    .now = T0};
	ca_issued out;
	jpki_err err = {0};
	assert_int_equal(ca_issue(ca, &req, &out, &err), 0);
	X509 *osign = NULL, *oauth = NULL;
	assert_int_equal(ca_issued_x509(&out, JPKI_CERT_SIGN, &osign, &err), 0);
	assert_int_equal(ca_issued_x509(&out, JPKI_CERT_AUTH, &oauth, &err), 0);
	/* 5th birthday after 2026-11-25 = 2030-12-31; auth first, sign capped
	 * by nothing earlier */
	assert_int_equal(out.auth_validity.last_day.y, 2030);
	assert_int_equal(out.sign_validity.capped_by, JPKI_CAP_BIRTHDAY);
	assert_int_equal(
	    X509_verify(osign, X509_get0_pubkey(ca_root(ca, JPKI_CERT_SIGN))),
	    1);
	assert_int_equal(
	    X509_verify(oauth, X509_get0_pubkey(ca_root(ca, JPKI_CERT_AUTH))),
	    1);
	assert_int_not_equal(
	    X509_verify(osign, X509_get0_pubkey(ca_root(ca, JPKI_CERT_AUTH))),
	    1);
	/* the certificate is in the store, with its DER */
	store_cert c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    store_cert_get(ca_store(ca), out.sign_serial, &c, &err), 0);
	assert_int_equal(c.kind, JPKI_CERT_SIGN);
	/* the store holds exactly the certificate handed out */
	assert_int_equal(c.der_len, out.sign_der_len);
	assert_memory_equal(c.der, out.sign_der, c.der_len);
	/* and its display subject is OpenSSL's one-line form */
	char line[256];
	X509_NAME_oneline(X509_get_subject_name(osign), line, sizeof(line));
	assert_string_equal(c.subject, line);
	store_cert_clear(&c);
	/* the serial: 0x40 | kind, the sequence number, 80 random bits */
	assert_int_equal(strncmp(out.sign_serial, "41", 2), 0);
	assert_int_equal(strncmp(out.auth_serial, "42", 2), 0);
	/* serials differ and are 16 octets, positive */
	assert_string_not_equal(out.sign_serial, out.auth_serial);
	assert_int_equal(strlen(out.sign_serial), 32);
	jpki_basic4 b4;
	assert_int_equal(x509_basic4_decode(osign, &b4, &err), 0);
	assert_string_equal(b4.birth, "319801231");
	X509_free(osign);
	X509_free(oauth);
	ca_issued_free(&out);
	/* double issuance refused */
	assert_int_equal(ca_issue(ca, &req, &out, &err), JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "already holds a valid"));
	ca_close(ca);
}

static void expect_refusal(jpki_ca *ca, const ca_issue_req *req, int code,
			   const char *msg)
{
	ca_issued out;
	jpki_err err = {0};
	int rc = ca_issue(ca, req, &out, &err);
	if (rc != code || strstr(err.msg, msg) == NULL)
		fail_msg("expected %d \"%s\", got %d \"%s\"", code, msg, rc,
			 err.msg);
}

static void test_refusals(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	int64_t kid = add_resident(ca, "K1", "2011-11-26", false, "132217");
	int64_t ward = add_resident(ca, "W1", "1950-01-01", true, "132217");
	EVP_PKEY *weak = EVP_RSA_gen(1024);
	ca_issue_req r = {.resident_id = kid,
			  .card_serial = "CARD-K1",
			  .sign_pub = k1,
			  .now = T0};
	expect_refusal(ca, &r, JPKI_ERR_INELIGIBLE, "under age 15");
	r.resident_id = ward;
	r.card_serial = "CARD-W1";
	expect_refusal(ca, &r, JPKI_ERR_INELIGIBLE, "成年被後見人");
	r.sign_pub = NULL;
	r.auth_pub = weak;
	expect_refusal(ca, &r, JPKI_ERR_KEY, "2048");
	r.auth_pub = k2;
	r.card_serial = "CARD-K1";
	expect_refusal(ca, &r, JPKI_ERR_STATE, "belongs to another resident");
	r.card_serial = "NOPE";
	expect_refusal(ca, &r, JPKI_ERR_NOT_FOUND, "unknown card");
	r.resident_id = 99999;
	expect_refusal(ca, &r, JPKI_ERR_NOT_FOUND, "unknown resident");
	r.resident_id = ward;
	r.card_serial = "CARD-W1";
	r.auth_pub = NULL;
	expect_refusal(ca, &r, JPKI_ERR_INVAL, "nothing to issue");
	r.auth_pub = k2;
	r.renewal = true;
	expect_refusal(ca, &r, JPKI_ERR_STATE, "to renew");
	/* the 15th birthday: refused today, issued tomorrow */
	r = (ca_issue_req){.resident_id = kid,
			   .card_serial = "CARD-K1",
			   .sign_pub = k1,
			   .auth_pub = k2,
			   .now = T0 + 86400};
	ca_issued out;
	jpki_err err = {0};
	assert_int_equal(ca_issue(ca, &r, &out, &err), 0);
	/* the card was issued the day before the 15th birthday, so its own 5th
	 * birthday (under 18) is 2030-11-26, a year before the certificates'
	 * 5th birthday after today (2031-11-26): the card caps both */
	assert_int_equal(out.sign_validity.last_day.y, 2030);
	assert_int_equal(out.sign_validity.capped_by, JPKI_CAP_CARD);
	assert_int_equal(out.auth_validity.capped_by, JPKI_CAP_CARD);
	ca_issued_free(&out);
	EVP_PKEY_free(weak);
	ca_close(ca);
}

static void test_renewal_and_revocation(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t id = add_resident(ca, "R1", "1980-12-31", false, "132217");
	ca_issue_req req = {.resident_id = id,
			    .card_serial = "CARD-R1",
			    .sign_pub = k1,
			    .auth_pub = k2,
			    .now = T0};
	ca_issued first, second;
	assert_int_equal(ca_issue(ca, &req, &first, &err), 0);
	/* renewal window opens 2030-09-30 for a 2030-12-31 expiry */
	time_t early, open;
	assert_int_equal(jpki_time_parse("2030-09-29T23:59:59+09:00", &early),
			 0);
	assert_int_equal(jpki_time_parse("2030-09-30T00:00:00+09:00", &open),
			 0);
	req.renewal = true;
	req.now = early;
	expect_refusal(ca, &req, JPKI_ERR_WINDOW, "2030-09-30");
	req.now = open;
	req.sign_pub = k3;
	req.auth_pub = k1;
	assert_int_equal(ca_issue(ca, &req, &second, &err), 0);
	assert_int_equal(second.auth_validity.birthday_n, 6);
	assert_int_equal(second.auth_validity.last_day.y, 2035);
	assert_string_equal(second.superseded[0], first.sign_serial);
	assert_string_equal(second.superseded[1], first.auth_serial);
	store_cert c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    store_cert_get(ca_store(ca), first.sign_serial, &c, &err), 0);
	assert_int_equal(c.status, STORE_CERT_REVOKED);
	assert_int_equal(c.reason, JPKI_REASON_SUPERSEDED);
	store_cert_clear(&c);

	/* hold, never released, then final revocation */
	assert_int_equal(ca_revoke(ca, second.sign_serial,
				   JPKI_REASON_CERTIFICATE_HOLD, open, "test",
				   &err),
			 0);
	assert_int_equal(ca_revoke(ca, second.sign_serial,
				   JPKI_REASON_CERTIFICATE_HOLD, open, "test",
				   &err),
			 JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "already on hold"));
	assert_int_equal(ca_revoke(ca, second.sign_serial,
				   JPKI_REASON_KEY_COMPROMISE, open, "test",
				   &err),
			 0);
	assert_int_equal(ca_revoke(ca, second.sign_serial,
				   JPKI_REASON_KEY_COMPROMISE, open, "test",
				   &err),
			 JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "already revoked"));
	assert_int_equal(
	    ca_revoke(ca, "00", JPKI_REASON_KEY_COMPROMISE, open, "t", &err),
	    JPKI_ERR_NOT_FOUND);

	/* a change of address revokes the signature certificate only; here
	 * only the authentication certificate is still valid */
	store_resident r;
	registry_change_result res;
	assert_int_equal(store_resident_get(ca_store(ca), id, &r, &err), 0);
	assert_int_equal(jpki_strlcpy(r.address, "東京都清瀬市中清戸２丁目",
				      sizeof(r.address)),
			 0);
	assert_int_equal(
	    registry_resident_change(ca, &r, open, "test", &res, &err), 0);
	assert_int_equal(res.revoked, 0);
	/* removal revokes the authentication certificate */
	assert_int_equal(
	    registry_resident_remove(ca, id, open, "test", &res, &err), 0);
	assert_int_equal(res.revoked, 1);
	assert_string_equal(res.serials[0], second.auth_serial);

	/* the partition CRL lists them, verifies under the root */
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(ca_crl(ca, JPKI_CERT_SIGN, CA_CRL_PARTITION, "132217",
				open, &der, &len, &err),
			 0);
	const uint8_t *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(
	    X509_CRL_verify(crl, X509_get0_pubkey(ca_root(ca, JPKI_CERT_SIGN))),
	    1);
	X509_REVOKED *rev = NULL;
	X509 *first_sign = NULL, *second_sign = NULL;
	assert_int_equal(
	    ca_issued_x509(&first, JPKI_CERT_SIGN, &first_sign, &err), 0);
	assert_int_equal(
	    ca_issued_x509(&second, JPKI_CERT_SIGN, &second_sign, &err), 0);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, second_sign), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, first_sign), 1);
	int n_rev = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	free(der);
	/* the same entries when the spool goes to a file at once */
	ca_crl_spool_mem = 16;
	assert_int_equal(ca_crl(ca, JPKI_CERT_SIGN, CA_CRL_PARTITION, "132217",
				open, &der, &len, &err),
			 0);
	ca_crl_spool_mem = JPKI_SPOOL_MEM_DEFAULT;
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(
	    X509_CRL_verify(crl, X509_get0_pubkey(ca_root(ca, JPKI_CERT_SIGN))),
	    1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), n_rev);
	assert_true(n_rev >= 2);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, second_sign), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, first_sign), 1);
	X509_CRL_free(crl);
	free(der);
	assert_int_equal(ca_crl(ca, JPKI_CERT_SIGN, CA_CRL_PARTITION, NULL,
				open, &der, &len, &err),
			 JPKI_ERR_INVAL);

	/* OCSP: revoked with the reason */
	OCSP_REQUEST *oreq = OCSP_REQUEST_new();
	OCSP_CERTID *id1 =
	    OCSP_cert_to_id(NULL, second_sign, ca_root(ca, JPKI_CERT_SIGN));
	assert_non_null(OCSP_request_add0_id(oreq, id1));
	uint8_t *rq = NULL;
	int rql = i2d_OCSP_REQUEST(oreq, &rq);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	assert_int_equal(
	    ca_ocsp(ca, 0, rq, (size_t)rql, open, &resp, &resp_len, &err), 0);
	p = resp;
	OCSP_RESPONSE * or = d2i_OCSP_RESPONSE(NULL, &p, (long)resp_len);
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(or);
	assert_non_null(bs);
	int status = -1, reason = -1;
	OCSP_CERTID *id2 =
	    OCSP_cert_to_id(NULL, second_sign, ca_root(ca, JPKI_CERT_SIGN));
	assert_int_equal(
	    OCSP_resp_find_status(bs, id2, &status, &reason, NULL, NULL, NULL),
	    1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	OCSP_CERTID_free(id2);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(or);
	OPENSSL_free(rq);
	OCSP_REQUEST_free(oreq);
	free(resp);
	X509_free(first_sign);
	X509_free(second_sign);
	ca_issued_free(&first);
	ca_issued_free(&second);
	int64_t n = 0;
	assert_int_equal(store_audit_verify(ca_store(ca), &n, &err), 0);
	assert_true(n > 5);
	ca_close(ca);
}

static void test_batch(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	int64_t a = add_resident(ca, "B1", "1970-01-01", false, "132217");
	int64_t b = add_resident(ca, "B2", "2015-01-01", false, "132217");
	ca_issue_req reqs[3] = {
	    {.resident_id = a,
	     .card_serial = "CARD-B1",
	     .sign_pub = k1,
	     .auth_pub = k2,
	     .now = T0},
	    {.resident_id = b,
	     .card_serial = "CARD-B2",
	     .sign_pub = k1,
	     .auth_pub = k2,
	     .now = T0},
	    {.resident_id = a,
	     .card_serial = "CARD-B1",
	     .auth_pub = k3,
	     .now = T0},
	};
	ca_issued outs[3];
	int rcs[3];
	jpki_err errs[3], err = {0};
	assert_int_equal(ca_issue_batch(ca, reqs, 3, outs, rcs, errs, &err), 0);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(rcs[1],
			 JPKI_ERR_INELIGIBLE);	     /* a child: no sign cert */
	assert_int_equal(rcs[2], JPKI_ERR_CONFLICT); /* same resident twice */
	assert_non_null(strstr(errs[2].msg, "changed while issuing"));
	assert_non_null(outs[0].sign_der);
	assert_null(outs[2].auth_der);
	X509 *x = NULL;
	assert_int_equal(ca_issued_x509(&outs[2], JPKI_CERT_AUTH, &x, &err),
			 JPKI_ERR_NOT_FOUND);
	ca_issued_free(&outs[0]);
	ca_close(ca);
}

static void test_keystore(void **state)
{
	(void)state;
	char kd[160];
	snprintf(kd, sizeof(kd), "%s/ks", dir);
	keystore *ks = NULL;
	jpki_err err = {0};
	assert_int_equal(keystore_open(kd, &ks, &err), 0);
	EVP_PKEY *pub = NULL, *priv = NULL;
	assert_int_equal(keystore_generate(ks, "Bad Label", 2048, &pub, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(keystore_generate(ks, "small", 1024, &pub, &err),
			 JPKI_ERR_KEY);
	assert_non_null(strstr(err.msg, "2048"));
	assert_int_equal(keystore_generate(ks, "k", 2048, &pub, &err), 0);
	assert_int_equal(keystore_generate(ks, "k", 2048, NULL, &err),
			 JPKI_ERR_EXISTS);
	char path[256];
	snprintf(path, sizeof(path), "%s/k.key.pem", kd);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(kd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(keystore_load(ks, "k", &priv, &err), 0);
	assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
	EVP_PKEY_free(priv);
	chmod(path, 0644);
	assert_int_equal(keystore_load(ks, "k", &priv, &err), JPKI_ERR_POLICY);
	assert_non_null(strstr(err.msg, "readable by others"));
	assert_int_equal(keystore_load(ks, "none", &priv, &err),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(keystore_open("pkcs11:token=x", &ks, &err),
			 JPKI_ERR_INVAL);
	EVP_PKEY_free(pub);
	keystore_close(ks);
}

/* Root generations (ca_rollover): issuance moves to the new generation,
 * each generation's CRL is signed by its key and lists its certificates
 * only, and a reopened CA knows both. */
static X509_CRL *crl_of(jpki_ca *ca, int gen, int want_rc)
{
	uint8_t *der = NULL;
	size_t len = 0;
	jpki_err err = {0};
	int rc = ca_crl_gen(ca, JPKI_CERT_SIGN, gen, CA_CRL_FULL, NULL,
			    T0 + 120, &der, &len, &err);
	assert_int_equal(rc, want_rc);
	if (rc != 0)
		return NULL;
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	free(der);
	assert_non_null(crl);
	return crl;
}

static bool crl_lists(X509_CRL *crl, X509 *cert)
{
	X509_REVOKED *r = NULL;
	return X509_CRL_get0_by_cert(crl, &r, cert) == 1;
}

static X509 *issue_sign(jpki_ca *ca, const char *ext, EVP_PKEY *k,
			char serial[STORE_SERIAL_HEX_MAX])
{
	int64_t id = add_resident(ca, ext, "1980-12-31", false, "132217");
	char card[48];
	snprintf(card, sizeof(card), "CARD-%s", ext);
	ca_issue_req req = {
	    .resident_id = id, .card_serial = card, .sign_pub = k, .now = T0};
	ca_issued out;
	jpki_err err = {0};
	X509 *x = NULL;
	if (ca_issue(ca, &req, &out, &err) != 0)
		fail_msg("issue: %s", err.msg);
	assert_int_equal(ca_issued_x509(&out, JPKI_CERT_SIGN, &x, &err), 0);
	memcpy(serial, out.sign_serial, STORE_SERIAL_HEX_MAX);
	ca_issued_free(&out);
	return x;
}

static void test_rollover(void **state)
{
	(void)state;
	jpki_err err = {0};
	char s1[STORE_SERIAL_HEX_MAX], s2[STORE_SERIAL_HEX_MAX];
	EVP_PKEY *ka = EVP_RSA_gen(2048), *kb = EVP_RSA_gen(2048);
	jpki_ca *ca = open_ca();
	assert_int_equal(ca_root_gen(ca, JPKI_CERT_SIGN, 0, NULL), 1);
	X509 *g1 = X509_dup(ca_root(ca, JPKI_CERT_SIGN));
	X509 *c1 = issue_sign(ca, "RO1", ka, s1);
	ca_rollover_info info;
	assert_int_equal(
	    ca_rollover(ca, JPKI_CERT_SIGN, T0 + 60, "test", &info, &err), 0);
	assert_int_equal(info.gen, 2);
	assert_int_equal(strlen(info.sha256), 64);
	assert_int_equal(ca_root_gen(ca, JPKI_CERT_SIGN, 0, NULL), 2);
	assert_int_equal(ca_root_gen(ca, JPKI_CERT_AUTH, 0, NULL), 1);
	X509 *g2 = X509_dup(ca_root(ca, JPKI_CERT_SIGN));
	/* same DN, another key */
	assert_int_equal(
	    X509_NAME_cmp(X509_get_subject_name(g1), X509_get_subject_name(g2)),
	    0);
	assert_int_not_equal(
	    EVP_PKEY_eq(X509_get0_pubkey(g1), X509_get0_pubkey(g2)), 1);
	/* the same handle issues under generation 2 */
	X509 *c2 = issue_sign(ca, "RO2", kb, s2);
	assert_int_equal(X509_verify(c2, X509_get0_pubkey(g2)), 1);
	assert_int_not_equal(X509_verify(c2, X509_get0_pubkey(g1)), 1);
	assert_int_equal(X509_verify(c1, X509_get0_pubkey(g1)), 1);
	store_cert row;
	memset(&row, 0, sizeof(row));
	assert_int_equal(store_cert_get(ca_store(ca), s2, &row, &err), 0);
	assert_int_equal(row.gen, 2);
	store_cert_clear(&row);
	assert_int_equal(ca_revoke(ca, s1, JPKI_REASON_KEY_COMPROMISE, T0 + 90,
				   "test", &err),
			 0);
	assert_int_equal(ca_revoke(ca, s2, JPKI_REASON_KEY_COMPROMISE, T0 + 90,
				   "test", &err),
			 0);
	ca_close(ca);

	/* reopened: both generations, the newest issues */
	ca = open_ca();
	assert_int_equal(ca_root_gen(ca, JPKI_CERT_SIGN, 0, NULL), 2);
	assert_int_equal(X509_cmp(ca_root(ca, JPKI_CERT_SIGN), g2), 0);
	X509 *r1 = NULL;
	assert_int_equal(ca_root_gen(ca, JPKI_CERT_SIGN, 1, &r1), 2);
	assert_int_equal(X509_cmp(r1, g1), 0);
	X509_CRL *l1 = crl_of(ca, 1, 0), *l2 = crl_of(ca, 2, 0);
	assert_null(crl_of(ca, 3, JPKI_ERR_NOT_FOUND));
	assert_int_equal(X509_CRL_verify(l1, X509_get0_pubkey(g1)), 1);
	assert_int_equal(X509_CRL_verify(l2, X509_get0_pubkey(g2)), 1);
	assert_int_not_equal(X509_CRL_verify(l1, X509_get0_pubkey(g2)), 1);
	assert_true(crl_lists(l1, c1));
	assert_false(crl_lists(l1, c2));
	assert_true(crl_lists(l2, c2));
	assert_false(crl_lists(l2, c1));
	X509_CRL_free(l1);
	X509_CRL_free(l2);
	ca_close(ca);
	X509_free(c1);
	X509_free(c2);
	X509_free(g1);
	X509_free(g2);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}

static void test_production_refuses_fixed_clock(void **state)
{
	(void)state;
	char pd[160];
	snprintf(pd, sizeof(pd), "%s/prod", dir);
	jpki_err err = {0};
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_PRODUCTION, .now = T0, .now_fixed = true};
	assert_int_equal(ca_init(pd, &o, &err), JPKI_ERR_POLICY);
	assert_non_null(strstr(err.msg, "fixed clock"));
	ca_init_opts t = {.profile = JPKI_PROFILE_TEST, .now = T0};
	assert_int_equal(ca_init(cadir, &t, &err), JPKI_ERR_EXISTS);
	jpki_ca *ca = NULL;
	assert_int_equal(ca_open("/nonexistent/ca", NULL, &ca, &err),
			 JPKI_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "jpki ca init"));
}

/* A production CA signs only what an application plans: ca_issue without
 * a plan (the CA-admin test path: jpki issue, POST /api/v1/issue) is
 * refused. */
static void test_production_issues_only_planned(void **state)
{
	(void)state;
	char pd[160];
	snprintf(pd, sizeof(pd), "%s/prod2", dir);
	jpki_err err = {0};
	ca_init_opts o = {.profile = JPKI_PROFILE_PRODUCTION, .now = T0};
	if (ca_init(pd, &o, &err) != 0)
		fail_msg("production ca_init: %s", err.msg);
	jpki_ca *ca = NULL;
	assert_int_equal(ca_open(pd, NULL, &ca, &err), 0);
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	assert_int_equal(registry_muni_put(ca, &m, T0, "test", &err), 0);
	int64_t rid = add_resident(ca, "PR1", "1980-01-01", false, "132217");
	ca_issue_req req = {.resident_id = rid,
			    .card_serial = "CARD-PR1",
			    .auth_pub = k2,
			    .now = T0};
	ca_issued out;
	assert_int_equal(ca_issue(ca, &req, &out, &err), JPKI_ERR_POLICY);
	assert_non_null(strstr(err.msg, "production CA issues only"));
	ca_close(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_pair),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_renewal_and_revocation),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_keystore),
	    cmocka_unit_test(test_production_refuses_fixed_clock),
	    cmocka_unit_test(test_production_issues_only_planned),
	    cmocka_unit_test(test_rollover),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
