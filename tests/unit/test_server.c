/* server/: the hot path's OCSP request reader, base64, HTTP dates, JSON
 * body checks, sessions, CSRF and issuance challenges. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_int.h"
#include "sess_fixture.h"

static EVP_PKEY *key;
static X509 *root, *leaf;
static srv_issuer_hashes roots[3];

static X509 *make_cert(const char *cn, X509 *issuer, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static int setup(void **state)
{
	(void)state;
	key = EVP_RSA_gen(2048);
	root = make_cert("root", NULL, 1);
	leaf = make_cert("leaf", root, 0x7f01);
	memset(roots, 0, sizeof(roots));
	return srv_issuer_hashes_of(root, &roots[JPKI_CERT_AUTH], NULL);
}

static int teardown(void **state)
{
	(void)state;
	X509_free(leaf);
	X509_free(root);
	EVP_PKEY_free(key);
	return 0;
}

/* DER OCSPRequest for leaf: n CertIDs with md, nonce if asked. */
static int request(const EVP_MD *md, int n, bool nonce, uint8_t **out)
{
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = OCSP_cert_id_new(
		    md, X509_get_subject_name(root),
		    X509_get0_pubkey_bitstr(root), X509_get_serialNumber(leaf));
		OCSP_request_add0_id(rq, id);
	}
	if (nonce)
		OCSP_request_add1_nonce(rq, NULL, 16);
	unsigned char *der = NULL;
	int len = i2d_OCSP_REQUEST(rq, &der);
	OCSP_REQUEST_free(rq);
	*out = der;
	return len;
}

static void test_ocsp_parse_simple(void **state)
{
	(void)state;
	uint8_t *der = NULL;
	srv_ocsp_parsed p;
	const EVP_MD *mds[2] = {EVP_sha1(), EVP_sha256()};
	for (int m = 0; m < 2; m++) {
		int len = request(mds[m], 1, false, &der);
		assert_int_equal(srv_ocsp_parse(der, (size_t)len, roots, &p),
				 0);
		assert_true(p.simple);
		assert_int_equal(p.kind, JPKI_CERT_AUTH);
		assert_int_equal(p.serial_len, 2);
		assert_int_equal(p.serial[0], 0x7f);
		/* the key is the CertID exactly as sent */
		OCSP_CERTID *id = OCSP_cert_id_new(
		    mds[m], X509_get_subject_name(root),
		    X509_get0_pubkey_bitstr(root), X509_get_serialNumber(leaf));
		unsigned char *idd = NULL;
		int il = i2d_OCSP_CERTID(id, &idd);
		assert_int_equal(p.key_len, (size_t)il);
		assert_memory_equal(der + p.key_off, idd, (size_t)il);
		/* wrapping the key again gives a request that parses the same
		 */
		uint8_t w[512];
		size_t wl = 0;
		srv_ocsp_parsed q;
		assert_int_equal(
		    srv_ocsp_wrap(idd, (size_t)il, w, sizeof(w), &wl), 0);
		assert_int_equal(srv_ocsp_parse(w, wl, roots, &q), 0);
		assert_true(q.simple);
		assert_memory_equal(w + q.key_off, idd, (size_t)il);
		const unsigned char *pp = w;
		OCSP_REQUEST *rq = d2i_OCSP_REQUEST(NULL, &pp, (long)wl);
		assert_non_null(rq);
		assert_ptr_equal(pp, w + wl);
		OCSP_REQUEST_free(rq);
		OPENSSL_free(idd);
		OCSP_CERTID_free(id);
		OPENSSL_free(der);
	}
}

/* One answer for serial 0x7f00+i, good, thisUpdate tu, nextUpdate nu,
 * installed in c under its SHA-1 CertID. */
static void install_answer(srv_ocsp_cache *c, int i, time_t tu, time_t nu,
			   time_t now)
{
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_INTEGER_set(sn, 0x7f00 + i);
	OCSP_CERTID *id =
	    OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root),
			     X509_get0_pubkey_bitstr(root), sn);
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_GENERALIZEDTIME *t1 = ASN1_GENERALIZEDTIME_set(NULL, tu);
	ASN1_GENERALIZEDTIME *t2 = ASN1_GENERALIZEDTIME_set(NULL, nu);
	assert_non_null(OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD,
					       0, NULL, t1, t2));
	assert_int_equal(
	    OCSP_basic_sign(bs, root, key, EVP_sha256(), NULL, OCSP_NOCERTS),
	    1);
	OCSP_RESPONSE *r =
	    OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	unsigned char *der = NULL, *kd = NULL;
	int len = i2d_OCSP_RESPONSE(r, &der), kl = i2d_OCSP_CERTID(id, &kd);
	uint8_t serial[2] = {0x7f, (uint8_t)i};
	assert_true(len > 0 && kl > 0);
	assert_int_equal(
	    srv_ocsp_cache_install(c, JPKI_CERT_AUTH, kd, (size_t)kl, serial, 2,
				   der, (size_t)len,
				   srv_ocsp_cache_capture(c, serial, 2), now),
	    0);
	OPENSSL_free(der);
	OPENSSL_free(kd);
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	ASN1_GENERALIZEDTIME_free(t1);
	ASN1_GENERALIZEDTIME_free(t2);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(sn);
}

/* Re-signing's sweep: small steps find every answer past half its
 * validity exactly once per sweep, none that is not; an answer past its
 * nextUpdate is not served from the cache (-1: signed for the request). */
static void test_ocsp_due_sweep(void **state)
{
	(void)state;
	const time_t t0 = 1796000000, now = t0 + 13 * 3600;
	srv_ocsp_cache *c = NULL;
	assert_int_equal(srv_ocsp_cache_new(100, 100, NULL, 3600, &c), 0);
	/* odd i: signed at t0, due at t0 + 12 h; even: signed 12 h later */
	for (int i = 1; i <= 40; i++)
		install_answer(c, i, i % 2 == 1 ? t0 : t0 + 12 * 3600,
			       i % 2 == 1 ? t0 + 24 * 3600 : t0 + 36 * 3600,
			       now);
	assert_int_equal(srv_ocsp_cache_size(c), 40);
	for (size_t budget = 1; budget <= 64; budget *= 4) {
		srv_ocsp_cursor cur = {0, 0};
		srv_ocsp_due out[4];
		int seen[41] = {0}, found = 0, steps = 0;
		bool wrapped = false;
		while (!wrapped) {
			size_t n = srv_ocsp_cache_due_step(c, now, &cur, budget,
							   out, 4, &wrapped);
			assert_true(++steps < 10000);
			assert_true(n <= 4);
			for (size_t k = 0; k < n; k++) {
				assert_int_equal(out[k].serial_len, 2);
				int i = out[k].serial[1];
				assert_true(i >= 1 && i <= 40 && i % 2 == 1);
				assert_int_equal(out[k].next_update,
						 t0 + 24 * 3600);
				assert_int_equal(seen[i]++, 0);
				found++;
			}
		}
		assert_int_equal(found, 20);
	}
	/* nothing is due before half the validity */
	srv_ocsp_cursor cur = {0, 0};
	srv_ocsp_due out[4];
	bool wrapped = false;
	assert_int_equal(srv_ocsp_cache_due_step(c, t0 + 3600, &cur, SIZE_MAX,
						 out, 4, &wrapped),
			 0);
	assert_true(wrapped);
	/* past nextUpdate: not served (no connection is touched) */
	int status = 0;
	uint8_t serial[2] = {0x7f, 1};
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_INTEGER_set(sn, 0x7f01);
	OCSP_CERTID *id =
	    OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root),
			     X509_get0_pubkey_bitstr(root), sn);
	unsigned char *kd = NULL;
	int kl = i2d_OCSP_CERTID(id, &kd);
	assert_int_equal(srv_ocsp_cache_serve(c, serial, 2, kd, (size_t)kl,
					      NULL, NULL, t0 + 24 * 3600,
					      &status),
			 -1);
	OPENSSL_free(kd);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(sn);
	srv_ocsp_cache_free(c);
}

static void test_ocsp_parse_slow_paths(void **state)
{
	(void)state;
	uint8_t *der = NULL;
	srv_ocsp_parsed p;
	/* a nonce or two CertIDs: well-formed, not the simple shape */
	int len = request(EVP_sha1(), 1, true, &der);
	assert_int_equal(srv_ocsp_parse(der, (size_t)len, roots, &p), 0);
	assert_false(p.simple);
	OPENSSL_free(der);
	len = request(EVP_sha1(), 2, false, &der);
	assert_int_equal(srv_ocsp_parse(der, (size_t)len, roots, &p), 0);
	assert_false(p.simple);
	OPENSSL_free(der);
	/* another issuer's CertID is simple but not ours */
	srv_issuer_hashes none[3];
	memset(none, 0, sizeof(none));
	len = request(EVP_sha1(), 1, false, &der);
	assert_int_equal(srv_ocsp_parse(der, (size_t)len, none, &p), 0);
	assert_true(p.simple);
	assert_int_equal(p.kind, 0);
	/* an older root generation's hashes, matched one root at a time */
	assert_true(srv_ocsp_names_issuer(&p, &roots[JPKI_CERT_AUTH]));
	assert_false(srv_ocsp_names_issuer(&p, &none[JPKI_CERT_AUTH]));
	/* truncations, a trailing byte, empty, garbage */
	for (int i = 0; i < len; i++)
		assert_int_equal(srv_ocsp_parse(der, (size_t)i, roots, &p),
				 JPKI_ERR_PARSE);
	uint8_t *more = malloc((size_t)len + 1);
	memcpy(more, der, (size_t)len);
	more[len] = 0;
	assert_int_equal(srv_ocsp_parse(more, (size_t)len + 1, roots, &p),
			 JPKI_ERR_PARSE);
	/* indefinite length (BER) is left to OpenSSL */
	more[1] = 0x80;
	assert_int_equal(srv_ocsp_parse(more, (size_t)len, roots, &p),
			 JPKI_ERR_PARSE);
	free(more);
	assert_int_equal(
	    srv_ocsp_parse((const uint8_t *)"garbage", 7, roots, &p),
	    JPKI_ERR_PARSE);
	OPENSSL_free(der);
}

static void test_b64(void **state)
{
	(void)state;
	uint8_t out[16];
	char enc[32];
	size_t n = 0;
	assert_int_equal(srv_b64_decode("+/8=", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(srv_b64_decode("-_8", 3, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(srv_b64_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_not_equal(srv_b64_decode("+/9=", 4, out, sizeof(out), &n),
			     0);
	assert_int_not_equal(srv_b64_decode("a", 1, out, sizeof(out), &n), 0);
	assert_int_not_equal(srv_b64_decode("ab=", 3, out, sizeof(out), &n), 0);
	assert_int_not_equal(srv_b64_decode("a===", 4, out, sizeof(out), &n),
			     0);
	assert_int_not_equal(srv_b64_decode("ab c", 4, out, sizeof(out), &n),
			     0);
	assert_int_equal(srv_b64_decode("AAAAAAAA", 8, out, 5, &n),
			 JPKI_ERR_RANGE);
	assert_int_equal(
	    srv_b64_encode((const uint8_t *)"\xfb\xff", 2, enc, sizeof(enc)),
	    0);
	assert_string_equal(enc, "+/8=");
	assert_int_equal(srv_b64_encode((const uint8_t *)"abc", 3, enc, 4),
			 JPKI_ERR_RANGE);
}

static void test_http_date(void **state)
{
	(void)state;
	char d[32];
	srv_http_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	srv_http_date(951782400, d);
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	srv_http_date(1700000000, d);
	assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 GMT");
}

static void test_json_check(void **state)
{
	(void)state;
	static const srv_jfield f[] = {{"name", JT_STRING, true, 4},
				       {"n", JT_INT, false, 0},
				       {"b", JT_BOOL, false, 0}};
	char msg[256];
	json_t *o =
	    json_loads("{\"name\":\"abcd\",\"n\":1,\"b\":true}", 0, NULL);
	assert_int_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)), 0);
	json_decref(o);
	o = json_loads("{\"name\":\"abcde\"}", 0, NULL);
	assert_int_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)),
			 JPKI_ERR_RANGE);
	json_decref(o);
	o = json_loads("{\"name\":\"a\",\"x\":1}", 0, NULL);
	assert_int_not_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)),
			     0);
	assert_non_null(strstr(msg, "unknown field 'x'"));
	json_decref(o);
	o = json_loads("{\"name\":\"a\",\"n\":\"1\"}", 0, NULL);
	assert_int_not_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)),
			     0);
	assert_non_null(strstr(msg, "must be an integer"));
	json_decref(o);
	o = json_loads("{\"n\":1}", 0, NULL);
	assert_int_not_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)),
			     0);
	assert_non_null(strstr(msg, "'name' is required"));
	json_decref(o);
	o = json_loads("{\"name\":\"a\\u0000b\"}", 0, NULL);
	assert_int_not_equal(srv_json_check(o, "body", f, 3, msg, sizeof(msg)),
			     0);
	json_decref(o);
}

static void test_sessions(void **state)
{
	(void)state;
	srv_sessions *t = NULL;
	char sid[65], csrf[65], sid2[65], csrf2[65], c[64];
	time_t exp = 0, now = 1000000;
	srv_req r, r2;
	char sdir[64];
	store *st = sess_store(sdir);
	assert_int_equal(srv_sessions_new(st, &t), 0);
	assert_int_equal(
	    srv_session_create(t, "clerk1", ROLE_CLERK, now, sid, csrf, &exp),
	    0);
	assert_int_equal(srv_session_create(t, "sup1", ROLE_SUPERVISOR, now,
					    sid2, csrf2, &exp),
			 0);
	assert_int_equal(srv_sessions_count(t), 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    srv_session_get(t, sid, true, csrf, now + 1, &r, NULL, NULL), 0);
	assert_string_equal(r.actor, "clerk1");
	assert_int_equal(r.role, ROLE_CLERK);
	assert_int_equal(
	    srv_session_get(t, sid, true, csrf2, now, &r, NULL, NULL),
	    JPKI_ERR_POLICY);
	assert_int_equal(
	    srv_session_get(t, sid, true, NULL, now, &r, NULL, NULL),
	    JPKI_ERR_POLICY);
	assert_int_equal(
	    srv_session_get(t, "00", false, NULL, now, &r, NULL, NULL),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_session_get(t, NULL, false, NULL, now, &r, NULL, NULL),
	    JPKI_ERR_AUTH);
	/* idle for more than an hour: gone */
	assert_int_equal(
	    srv_session_get(t, sid, false, NULL, now + 7200, &r, NULL, NULL),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_session_create(t, "clerk1", ROLE_CLERK, now, sid, csrf, &exp),
	    0);
	memset(&r, 0, sizeof(r));
	memset(&r2, 0, sizeof(r2));
	assert_int_equal(
	    srv_session_get(t, sid, false, NULL, now, &r, NULL, NULL), 0);
	assert_int_equal(
	    srv_session_get(t, sid2, false, NULL, now, &r2, NULL, NULL), 0);
	/* a challenge is single use and the session's own */
	assert_int_equal(srv_challenge_new(t, r.sid, now, c), 0);
	assert_int_equal(srv_challenge_take(t, r2.sid, c, now),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(srv_challenge_new(t, r.sid, now, c), 0);
	assert_int_equal(srv_challenge_take(t, r.sid, c, now), 0);
	assert_int_equal(srv_challenge_take(t, r.sid, c, now),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(srv_challenge_new(t, r.sid, now, c), 0);
	assert_int_equal(
	    srv_challenge_take(t, r.sid, c, now + SRV_CHALLENGE_TTL),
	    JPKI_ERR_NOT_FOUND);
	assert_int_equal(srv_challenge_take(t, r.sid, "not base64!", now),
			 JPKI_ERR_INVAL);
	srv_session_end(t, r.sid);
	assert_int_equal(
	    srv_session_get(t, sid, false, NULL, now, &r, NULL, NULL),
	    JPKI_ERR_AUTH);
	srv_sessions_free(t);
	sess_store_done(st, sdir);
	srv_sessions_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ocsp_parse_simple),
	    cmocka_unit_test(test_ocsp_parse_slow_paths),
	    cmocka_unit_test(test_ocsp_due_sweep),
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_http_date),
	    cmocka_unit_test(test_json_check),
	    cmocka_unit_test(test_sessions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
