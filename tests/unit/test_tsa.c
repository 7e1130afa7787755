/* The time-stamp authority (ca/tsa.c): its certificates, the strict reader
 * of TimeStampReqs, answers at the given instant, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "ca_fixture.h"
#include "openjpki/tsa.h"

static char dir[64], cadir[96];
static time_t t0;
static jpki_tsa *tsa;

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	if (ca_fixture_make("tsa", dir, sizeof(dir), cadir, sizeof(cadir), &t0,
			    false) != 0 ||
	    ca_open(cadir, ca_fixture_store(), &ca, &err) != 0)
		return -1;
	int rc = ca_tsa_open(ca, &tsa, &err);
	if (rc != JPKI_ERR_NOT_FOUND) {
		fprintf(stderr, "a fresh CA has a TSA: %d\n", rc);
		ca_close(ca);
		return -1;
	}
	if (ca_tsa_init(ca, t0, &err) != 0 || ca_tsa_open(ca, &tsa, &err)) {
		fprintf(stderr, "tsa: %s\n", err.msg);
		ca_close(ca);
		return -1;
	}
	ca_close(ca);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ca_tsa_free(tsa);
	return ca_fixture_remove(dir);
}

/* A DER TimeStampReq for `md` over "data"; caller frees. */
static size_t request(const EVP_MD *md, bool nonce, const char *policy,
		      uint8_t **out)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	TS_REQ *rq = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	assert_non_null(rq);
	assert_int_equal(EVP_Digest("data", 4, h, &hl, md, NULL), 1);
	X509_ALGOR_set_md(alg, md);
	assert_int_equal(TS_MSG_IMPRINT_set_algo(mi, alg), 1);
	assert_int_equal(TS_MSG_IMPRINT_set_msg(mi, h, (int)hl), 1);
	assert_int_equal(TS_REQ_set_version(rq, 1), 1);
	assert_int_equal(TS_REQ_set_msg_imprint(rq, mi), 1);
	assert_int_equal(TS_REQ_set_cert_req(rq, 1), 1);
	if (nonce) {
		ASN1_INTEGER *n = ASN1_INTEGER_new();
		ASN1_INTEGER_set(n, 0x1234567);
		assert_int_equal(TS_REQ_set_nonce(rq, n), 1);
		ASN1_INTEGER_free(n);
	}
	if (policy != NULL) {
		ASN1_OBJECT *o = OBJ_txt2obj(policy, 1);
		assert_int_equal(TS_REQ_set_policy_id(rq, o), 1);
		ASN1_OBJECT_free(o);
	}
	unsigned char *der = NULL;
	int n = i2d_TS_REQ(rq, &der);
	assert_true(n > 0);
	*out = malloc((size_t)n);
	memcpy(*out, der, (size_t)n);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(rq);
	return (size_t)n;
}

static TS_RESP *answer(const uint8_t *req, size_t len, time_t now,
		       bool *granted)
{
	uint8_t *der = NULL;
	size_t dl = 0;
	jpki_err err = {0};
	assert_int_equal(
	    ca_tsa_respond(tsa, req, len, now, &der, &dl, granted, &err), 0);
	const unsigned char *p = der;
	TS_RESP *r = d2i_TS_RESP(NULL, &p, (long)dl);
	assert_non_null(r);
	assert_ptr_equal(p, der + dl);
	free(der);
	return r;
}

static long failure_bits(TS_RESP *r)
{
	const ASN1_BIT_STRING *fi =
	    TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(r));
	long bits = 0;
	for (int i = 0; i < 32; i++)
		if (fi != NULL && ASN1_BIT_STRING_get_bit(fi, i))
			bits |= 1L << i;
	return bits;
}

static void test_certificates(void **state)
{
	(void)state;
	X509 *c = ca_tsa_cert(tsa), *root = ca_tsa_root(tsa);
	assert_non_null(root);
	/* the timeStamping purpose: critical EKU, under its own root */
	assert_int_equal(X509_check_purpose(c, X509_PURPOSE_TIMESTAMP_SIGN, 0),
			 1);
	int crit = -1;
	EXTENDED_KEY_USAGE *eku =
	    X509_get_ext_d2i(c, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(crit, 1);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
			 NID_time_stamp);
	EXTENDED_KEY_USAGE_free(eku);
	assert_int_equal(X509_check_issued(root, c), X509_V_OK);
	assert_int_equal(X509_verify(c, X509_get0_pubkey(root)), 1);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), t0), 0);
	/* a second TSA for the same CA is refused */
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	assert_int_equal(ca_open(cadir, ca_fixture_store(), &ca, &err), 0);
	assert_int_equal(ca_tsa_init(ca, t0, &err), JPKI_ERR_EXISTS);
	ca_close(ca);
}

static void test_req_check(void **state)
{
	(void)state;
	uint8_t *req = NULL;
	size_t n = request(EVP_sha256(), true, NULL, &req);
	uint8_t buf[JPKI_TSA_REQ_MAX + 1];
	jpki_err err = {0};
	assert_int_equal(ca_tsa_req_check(req, n, &err), 0);
	/* trailing data */
	memcpy(buf, req, n);
	buf[n] = 0;
	assert_int_equal(ca_tsa_req_check(buf, n + 1, &err), JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "after the TimeStampReq"));
	/* truncated */
	assert_int_equal(ca_tsa_req_check(req, n - 1, &err), JPKI_ERR_PARSE);
	/* BER: the outer length in long form */
	assert_true(n < 0x80 + 2);
	buf[0] = 0x30;
	buf[1] = 0x81;
	memcpy(buf + 2, req + 1, n - 1);
	assert_int_equal(ca_tsa_req_check(buf, n + 1, &err), JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "not DER"));
	/* sizes */
	assert_int_equal(ca_tsa_req_check(req, 0, &err), JPKI_ERR_RANGE);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ca_tsa_req_check(buf, sizeof(buf), &err),
			 JPKI_ERR_RANGE);
	free(req);
}

static void test_granted_at_now(void **state)
{
	(void)state;
	const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *req = NULL;
		size_t n = request(mds[i], i != 1, JPKI_TSA_POLICY_OID, &req);
		time_t now = t0 + 3600 + (time_t)i;
		bool granted = false;
		TS_RESP *r = answer(req, n, now, &granted);
		assert_true(granted);
		TS_TST_INFO *info = TS_RESP_get_tst_info(r);
		assert_non_null(info);
		assert_int_equal(
		    ASN1_TIME_cmp_time_t(TS_TST_INFO_get_time(info), now), 0);
		char pol[128];
		OBJ_obj2txt(pol, sizeof(pol), TS_TST_INFO_get_policy_id(info),
			    1);
		assert_string_equal(pol, JPKI_TSA_POLICY_OID);
		/* for this request: imprint and nonce */
		const unsigned char *p = req;
		TS_REQ *rq = d2i_TS_REQ(NULL, &p, (long)n);
		TS_VERIFY_CTX *vc = TS_REQ_to_TS_VERIFY_CTX(rq, NULL);
		assert_int_equal(TS_RESP_verify_response(vc, r), 1);
		TS_VERIFY_CTX_free(vc);
		TS_REQ_free(rq);
		TS_RESP_free(r);
		free(req);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t *req = NULL;
	bool granted = true;
	/* SHA-1: badAlg */
	size_t n = request(EVP_sha1(), true, NULL, &req);
	TS_RESP *r = answer(req, n, t0, &granted);
	assert_false(granted);
	assert_null(TS_RESP_get_token(r));
	assert_int_equal(failure_bits(r), 1L << TS_INFO_BAD_ALG);
	TS_RESP_free(r);
	free(req);
	/* another policy */
	n = request(EVP_sha256(), true, "1.2.3.4", &req);
	r = answer(req, n, t0, &granted);
	assert_false(granted);
	assert_int_equal(failure_bits(r), 1L << TS_INFO_UNACCEPTED_POLICY);
	TS_RESP_free(r);
	/* trailing byte: badDataFormat, though OpenSSL alone would read it */
	uint8_t *longer = malloc(n + 1);
	memcpy(longer, req, n);
	longer[n] = 0;
	r = answer(longer, n + 1, t0, &granted);
	assert_false(granted);
	assert_int_equal(failure_bits(r), 1L << TS_INFO_BAD_DATA_FORMAT);
	TS_RESP_free(r);
	free(longer);
	free(req);
	/* not a request at all */
	r = answer((const uint8_t *)"junk", 4, t0, &granted);
	assert_false(granted);
	assert_int_equal(failure_bits(r), 1L << TS_INFO_BAD_DATA_FORMAT);
	TS_RESP_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_certificates),
	    cmocka_unit_test(test_req_check),
	    cmocka_unit_test(test_granted_at_now),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
