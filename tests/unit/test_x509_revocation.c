/* x509: CRL and ARL encodings, and the OCSP responder encoding, checked
 * with OpenSSL's own CRL, path-validation and OCSP client code. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/x509.h"
#include "x509_fixture.h"

static EVP_PKEY *root_key;
static EVP_PKEY *other_key; /* another issuer; also the leaves' key */
static X509 *root;	    /* test auth root, signed */
static X509 *other_root;    /* production auth root with other_key */

static const jpki_issuer_site site = {"Tokyo-to", "Kiyose-shi", "ABC123XYZ"};

static X509 *make_root(jpki_profile prof, EVP_PKEY *key)
{
	X509 *x = NULL;
	jpki_err err = {0};
	static const uint8_t one[] = {1};
	if (x509_root_build(prof, JPKI_CERT_AUTH, key, one, 1,
			    at("2025-01-05T01:02:03Z"), &x, &err) != 0 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		return NULL;
	return x;
}

/* An authentication certificate with serial `sn` under `issuer`. */
static X509 *make_leaf(jpki_profile prof, X509 *issuer, EVP_PKEY *ikey,
		       uint8_t sn)
{
	X509 *x = NULL;
	jpki_err err = {0};
	const uint8_t serial[] = {sn};
	if (x509_auth_cert_build(
		prof, issuer, "0123456789ABCDEF", &site, other_key, serial, 1,
		at("2025-02-01T00:00:00Z"),
		jpki_date_end((jpki_date){2030, 1, 31}), &x, &err) != 0)
		fail_msg("leaf: %s", err.msg);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	(void)state;
	root_key = EVP_RSA_gen(2048);
	other_key = EVP_RSA_gen(2048);
	if (root_key == NULL || other_key == NULL)
		return -1;
	root = make_root(JPKI_PROFILE_TEST, root_key);
	other_root = make_root(JPKI_PROFILE_PRODUCTION, other_key);
	return root != NULL && other_root != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(other_root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(other_key);
	return 0;
}

static int reason_of(const X509_REVOKED *r)
{
	int crit = -1;
	ASN1_ENUMERATED *e =
	    X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
	if (e == NULL)
		return crit == -1 ? -1 : -2;
	assert_int_equal(crit, 0);
	long v = ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return (int)v;
}

static int verify_with_crl(X509 *leaf, X509_CRL *crl)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_int_equal(X509_STORE_add_crl(store, crl), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(p, at("2025-03-02T00:00:00Z"));
	X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_CRL_CHECK);
	int ok = X509_verify_cert(ctx);
	int e = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return e;
}

static void test_crl(void **state)
{
	(void)state;
	jpki_err err = {0};
	const uint8_t s10[] = {0x10}, s05[] = {0x00, 0x05}, s20[] = {0x20};
	const jpki_crl_entry entries[] = {
	    {s10, 1, at("2025-02-10T03:00:00Z"), JPKI_REASON_KEY_COMPROMISE},
	    {s05, 2, at("2025-02-11T03:00:00Z"), JPKI_REASON_UNSPECIFIED},
	    {s20, 1, at("2025-02-12T03:00:00Z"), JPKI_REASON_SUPERSEDED},
	};
	X509_NAME *part = NULL;
	X509_CRL *crl = NULL;
	assert_int_equal(x509_crldp_name(JPKI_PROFILE_TEST, JPKI_CERT_AUTH,
					 &site, &part, &err),
			 0);
	if (x509_crl_build(root, part, false, entries, 3,
			   at("2025-03-01T00:00:00Z"),
			   at("2025-03-03T00:00:00Z"), 7, &crl, &err) != 0)
		fail_msg("crl: %s", err.msg);
	assert_true(X509_CRL_sign(crl, root_key, EVP_sha256()) > 0);

	/* through DER, as a relying party gets it */
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	const unsigned char *p = der;
	X509_CRL *c = d2i_X509_CRL(NULL, &p, len);
	assert_non_null(c);
	OPENSSL_free(der);
	assert_int_equal(X509_CRL_verify(c, root_key), 1);
	assert_int_equal(X509_CRL_get_version(c), X509_CRL_VERSION_2);
	assert_int_equal(
	    X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(root)),
	    0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)), 3);
	static const struct {
		uint8_t sn;
		int reason;
	} want[] = {{0x10, 1}, {0x05, -1}, {0x20, 4}};
	for (size_t i = 0; i < 3; i++) {
		ASN1_INTEGER *ai = ASN1_INTEGER_new();
		X509_REVOKED *r = NULL;
		ASN1_INTEGER_set(ai, want[i].sn);
		assert_int_equal(X509_CRL_get0_by_serial(c, &r, ai), 1);
		assert_int_equal(reason_of(r), want[i].reason);
		ASN1_INTEGER_free(ai);
	}
	int crit = -1;
	ASN1_INTEGER *num =
	    X509_CRL_get_ext_d2i(c, NID_crl_number, &crit, NULL);
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_INTEGER_get(num), 7);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID *akid =
	    X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, &crit, NULL);
	assert_non_null(akid);
	assert_int_equal(
	    ASN1_STRING_cmp(akid->keyid, X509_get0_subject_key_id(root)), 0);
	AUTHORITY_KEYID_free(akid);
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(
	    c, NID_issuing_distribution_point, &crit, NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_true(idp->onlyuser);
	assert_false(idp->onlyCA);
	assert_int_equal(X509_NAME_cmp(sk_GENERAL_NAME_value(
					   idp->distpoint->name.fullname, 0)
					   ->d.directoryName,
				       part),
			 0);
	ISSUING_DIST_POINT_free(idp);

	/* OpenSSL path validation matches the leaf's CRLDP with the IDP */
	X509 *revoked = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x10);
	X509 *good = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x11);
	assert_int_equal(verify_with_crl(revoked, c), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify_with_crl(good, c), X509_V_OK);
	X509_free(revoked);
	X509_free(good);
	X509_CRL_free(c);
	X509_CRL_free(crl);
	crl = NULL;

	/* the ARL: onlyContainsCACerts, naming the root's own DN */
	assert_int_equal(x509_crl_build(root, NULL, true, NULL, 0,
					at("2025-03-01T00:00:00Z"),
					at("2025-04-01T00:00:00Z"), 1, &crl,
					&err),
			 0);
	assert_true(X509_CRL_sign(crl, root_key, EVP_sha256()) > 0);
	assert_int_equal(X509_CRL_verify(crl, root_key), 1);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
				   NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_true(idp->onlyCA);
	assert_false(idp->onlyuser);
	assert_int_equal(X509_NAME_cmp(sk_GENERAL_NAME_value(
					   idp->distpoint->name.fullname, 0)
					   ->d.directoryName,
				       X509_get_subject_name(root)),
			 0);
	ISSUING_DIST_POINT_free(idp);
	X509_CRL_free(crl);
	crl = NULL;

	/* a full CRL has no IDP */
	assert_int_equal(x509_crl_build(root, NULL, false, entries, 1,
					at("2025-03-01T00:00:00Z"),
					at("2025-04-01T00:00:00Z"), 2, &crl,
					&err),
			 0);
	assert_int_equal(
	    X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1),
	    -1);
	X509_CRL_free(crl);
	crl = NULL;

	/* refusals */
	assert_int_equal(
	    x509_crl_build(root, part, true, NULL, 0, 0, 1, 1, &crl, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(
	    x509_crl_build(root, part, false, NULL, 0, 5, 5, 1, &crl, &err),
	    JPKI_ERR_INVAL);
	const jpki_crl_entry bad_reason = {s10, 1, 0, (jpki_reason)8};
	assert_int_equal(x509_crl_build(root, part, false, &bad_reason, 1, 0, 1,
					1, &crl, &err),
			 JPKI_ERR_INVAL);
	const uint8_t zero[] = {0};
	const jpki_crl_entry bad_serial = {zero, 1, 0, JPKI_REASON_SUPERSEDED};
	assert_int_equal(x509_crl_build(root, part, false, &bad_serial, 1, 0, 1,
					1, &crl, &err),
			 JPKI_ERR_INVAL);
	assert_null(crl);
	X509_NAME_free(part);
}

/* The status table the lookup callback answers from. */
struct table {
	int calls;
	int fail;
};

static int lookup(void *ctx, const uint8_t *serial, size_t len,
		  jpki_ocsp_status *st, jpki_err *err)
{
	struct table *t = ctx;
	t->calls++;
	if (t->fail)
		return jpki_fail(err, JPKI_ERR_STORE, "database down");
	assert_int_equal(len, 1);
	switch (serial[0]) {
	case 0x11: st->status = V_OCSP_CERTSTATUS_GOOD; break;
	case 0x10:
		st->status = V_OCSP_CERTSTATUS_REVOKED;
		st->revoked_at = at("2025-02-10T03:00:00Z");
		st->reason = JPKI_REASON_KEY_COMPROMISE;
		break;
	case 0x12:
		st->status = V_OCSP_CERTSTATUS_REVOKED;
		st->revoked_at = at("2025-02-10T03:00:00Z");
		st->reason = JPKI_REASON_UNSPECIFIED;
		break;
	default: st->status = V_OCSP_CERTSTATUS_UNKNOWN; break;
	}
	return 0;
}

static uint8_t *request_der(OCSP_REQUEST *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_REQUEST(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static int response_status(const uint8_t *der, size_t len, OCSP_BASICRESP **bs)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	assert_ptr_equal(p, der + len);
	int st = OCSP_response_status(resp);
	if (bs != NULL)
		*bs = OCSP_response_get1_basic(resp);
	OCSP_RESPONSE_free(resp);
	return st;
}

static int64_t tdiff(const ASN1_GENERALIZEDTIME *t, time_t want)
{
	int day = 0;
	int sec = 0;
	ASN1_TIME *w = ASN1_TIME_set(NULL, want);
	assert_int_equal(ASN1_TIME_diff(&day, &sec, w, t), 1);
	ASN1_TIME_free(w);
	return (int64_t)day * 86400 + sec;
}

static void test_ocsp(void **state)
{
	(void)state;
	jpki_err err = {0};
	struct table tab = {0};
	X509 *good = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x11);
	X509 *revoked = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x10);
	X509 *revoked_u = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x12);
	X509 *unknown = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x13);
	X509 *foreign =
	    make_leaf(JPKI_PROFILE_PRODUCTION, other_root, other_key, 0x11);
	const time_t now = at("2025-03-01T12:00:00Z");
	const time_t next = at("2025-03-01T13:00:00Z");

	/* good, revoked (keyCompromise), revoked (unspecified), unknown;
	 * SHA-1 and SHA-256 CertIDs; a nonce */
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	X509 *leaves[4] = {good, revoked, revoked_u, unknown};
	OCSP_CERTID *ids[4];
	for (int i = 0; i < 4; i++) {
		ids[i] = OCSP_cert_to_id(i % 2 ? EVP_sha256() : EVP_sha1(),
					 leaves[i], root);
		assert_non_null(
		    OCSP_request_add0_id(req, OCSP_CERTID_dup(ids[i])));
	}
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
	size_t rlen = 0;
	uint8_t *rder = request_der(req, &rlen);
	uint8_t *out = NULL;
	size_t olen = 0;
	if (x509_ocsp_respond(rder, rlen, root, root_key, lookup, &tab, now,
			      next, &out, &olen, &err) != 0)
		fail_msg("ocsp: %s", err.msg);
	assert_int_equal(tab.calls, 4);
	OCSP_BASICRESP *bs = NULL;
	assert_int_equal(response_status(out, olen, &bs),
			 OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_non_null(bs);
	assert_int_equal(OCSP_check_nonce(req, bs), 1);
	/* signed by the root, trusted from the store */
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	sk_X509_push(certs, root);
	assert_int_equal(OCSP_basic_verify(bs, certs, store, 0), 1);
	/* responder by key, producedAt = now */
	const ASN1_OCTET_STRING *rid_key = NULL;
	const X509_NAME *rid_name = NULL;
	assert_int_equal(OCSP_resp_get0_id(bs, &rid_key, &rid_name), 1);
	assert_null(rid_name);
	assert_non_null(rid_key);
	assert_int_equal(
	    ASN1_STRING_cmp(rid_key, X509_get0_subject_key_id(root)), 0);
	assert_int_equal(tdiff(OCSP_resp_get0_produced_at(bs), now), 0);
	assert_int_equal(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(bs)->algorithm),
			 NID_sha256WithRSAEncryption);
	static const struct {
		int status;
		int reason;
	} want[4] = {
	    {V_OCSP_CERTSTATUS_GOOD, -1},
	    {V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE},
	    {V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_NOSTATUS},
	    {V_OCSP_CERTSTATUS_UNKNOWN, -1},
	};
	for (int i = 0; i < 4; i++) {
		int status = -1;
		int reason = -1;
		ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL,
				     *nextupd = NULL;
		assert_int_equal(OCSP_resp_find_status(bs, ids[i], &status,
						       &reason, &rev, &thisupd,
						       &nextupd),
				 1);
		assert_int_equal(status, want[i].status);
		if (status == V_OCSP_CERTSTATUS_REVOKED) {
			assert_int_equal(reason, want[i].reason);
			assert_int_equal(tdiff(rev, at("2025-02-10T03:00:00Z")),
					 0);
		}
		assert_int_equal(tdiff(thisupd, now), 0);
		assert_int_equal(tdiff(nextupd, next), 0);
	}
	OCSP_BASICRESP_free(bs);
	free(out);
	out = NULL;
	OCSP_REQUEST_free(req);
	OPENSSL_free(rder);
	for (int i = 0; i < 4; i++)
		OCSP_CERTID_free(ids[i]);

	/* another issuer's certificate: unknown, without a lookup; no nonce
	 * in the request, none in the response */
	tab.calls = 0;
	req = OCSP_REQUEST_new();
	OCSP_CERTID *fid = OCSP_cert_to_id(EVP_sha1(), foreign, other_root);
	OCSP_request_add0_id(req, OCSP_CERTID_dup(fid));
	rder = request_der(req, &rlen);
	assert_int_equal(x509_ocsp_respond(rder, rlen, root, root_key, lookup,
					   &tab, now, next, &out, &olen, &err),
			 0);
	assert_int_equal(tab.calls, 0);
	assert_int_equal(response_status(out, olen, &bs),
			 OCSP_RESPONSE_STATUS_SUCCESSFUL);
	int status = -1;
	assert_int_equal(
	    OCSP_resp_find_status(bs, fid, &status, NULL, NULL, NULL, NULL), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	assert_int_equal(OCSP_check_nonce(req, bs), 2); /* neither has one */
	assert_int_equal(OCSP_basic_verify(bs, certs, store, OCSP_NOCHECKS), 1);
	OCSP_BASICRESP_free(bs);
	free(out);
	out = NULL;
	OPENSSL_free(rder);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(fid);

	/* a hash algorithm other than SHA-1/SHA-256: unknown */
	tab.calls = 0;
	req = OCSP_REQUEST_new();
	fid = OCSP_cert_to_id(EVP_sha384(), good, root);
	OCSP_request_add0_id(req, OCSP_CERTID_dup(fid));
	rder = request_der(req, &rlen);
	assert_int_equal(x509_ocsp_respond(rder, rlen, root, root_key, lookup,
					   &tab, now, next, &out, &olen, &err),
			 0);
	assert_int_equal(tab.calls, 0);
	assert_int_equal(response_status(out, olen, &bs),
			 OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_int_equal(
	    OCSP_resp_find_status(bs, fid, &status, NULL, NULL, NULL, NULL), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	OCSP_BASICRESP_free(bs);
	free(out);
	out = NULL;

	/* the lookup fails: its error, and no output */
	tab.fail = 1;
	OCSP_REQUEST_free(req);
	OPENSSL_free(rder);
	OCSP_CERTID_free(fid);
	req = OCSP_REQUEST_new();
	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, good, root));
	rder = request_der(req, &rlen);
	assert_int_equal(x509_ocsp_respond(rder, rlen, root, root_key, lookup,
					   &tab, now, next, &out, &olen, &err),
			 JPKI_ERR_STORE);
	assert_null(out);
	tab.fail = 0;

	/* a key that is not the issuer's */
	assert_int_equal(x509_ocsp_respond(rder, rlen, root, other_key, lookup,
					   &tab, now, next, &out, &olen, &err),
			 JPKI_ERR_INVAL);
	assert_null(out);
	OPENSSL_free(rder);
	OCSP_REQUEST_free(req);

	sk_X509_free(certs);
	X509_STORE_free(store);
	X509_free(good);
	X509_free(revoked);
	X509_free(revoked_u);
	X509_free(unknown);
	X509_free(foreign);
}

static void expect_malformed(const uint8_t *req, size_t len)
{
	jpki_err err = {0};
	struct table tab = {0};
	uint8_t *out = NULL;
	size_t olen = 0;
	assert_int_equal(x509_ocsp_respond(req, len, root, root_key, lookup,
					   &tab, at("2025-03-01T12:00:00Z"),
					   at("2025-03-01T13:00:00Z"), &out,
					   &olen, &err),
			 0);
	assert_int_equal(tab.calls, 0);
	assert_int_equal(response_status(out, olen, NULL),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	free(out);
}

static void test_ocsp_malformed(void **state)
{
	(void)state;
	X509 *leaf = make_leaf(JPKI_PROFILE_TEST, root, root_key, 0x11);
	expect_malformed((const uint8_t *)"", 0);
	expect_malformed((const uint8_t *)"hello", 5);
	expect_malformed((const uint8_t *)"\x30\x03\x30\x01\x00", 5);

	/* valid, then one byte more */
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, root));
	size_t len = 0;
	uint8_t *der = request_der(req, &len);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_malformed(longer, len + 1);
	expect_malformed(der, len - 1);
	free(longer);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* no CertID, and one more than JPKI_OCSP_MAX_IDS */
	req = OCSP_REQUEST_new();
	der = request_der(req, &len);
	expect_malformed(der, len);
	OPENSSL_free(der);
	for (int i = 0; i < JPKI_OCSP_MAX_IDS + 1; i++)
		OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, root));
	der = request_der(req, &len);
	expect_malformed(der, len);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* a nonce of 33 octets (RFC 8954: 1..32) */
	req = OCSP_REQUEST_new();
	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, root));
	unsigned char nonce[33];
	memset(nonce, 7, sizeof(nonce));
	OCSP_request_add1_nonce(req, nonce, (int)sizeof(nonce));
	der = request_der(req, &len);
	expect_malformed(der, len);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* a request over JPKI_OCSP_MAX_REQ: a valid one with a big
	 * (non-critical, unknown) extension */
	req = OCSP_REQUEST_new();
	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, root));
	ASN1_OCTET_STRING *big = ASN1_OCTET_STRING_new();
	unsigned char *pad = calloc(1, JPKI_OCSP_MAX_REQ);
	ASN1_OCTET_STRING_set(big, pad, JPKI_OCSP_MAX_REQ);
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
	X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, big);
	assert_non_null(ext);
	OCSP_REQUEST_add_ext(req, ext, -1);
	der = request_der(req, &len);
	assert_true(len > JPKI_OCSP_MAX_REQ);
	const unsigned char *p = der;
	OCSP_REQUEST *check = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	assert_non_null(check); /* well-formed, only too big */
	OCSP_REQUEST_free(check);
	expect_malformed(der, len);
	OPENSSL_free(der);
	ASN1_OBJECT_free(obj);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(big);
	free(pad);
	OCSP_REQUEST_free(req);
	X509_free(leaf);

	/* error statuses for the edge */
	jpki_err err = {0};
	uint8_t *out = NULL;
	size_t olen = 0;
	assert_int_equal(
	    x509_ocsp_error(OCSP_RESPONSE_STATUS_TRYLATER, &out, &olen, &err),
	    0);
	assert_int_equal(response_status(out, olen, NULL),
			 OCSP_RESPONSE_STATUS_TRYLATER);
	free(out);
	out = NULL;
	assert_int_equal(
	    x509_ocsp_error(OCSP_RESPONSE_STATUS_SUCCESSFUL, &out, &olen, &err),
	    JPKI_ERR_INVAL);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crl),
	    cmocka_unit_test(test_ocsp),
	    cmocka_unit_test(test_ocsp_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
