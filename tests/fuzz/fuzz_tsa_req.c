/* Fuzz target: jpkid's time-stamp authority on an untrusted TimeStampReq
 * (ca/tsa.c).  Whatever the bytes, ca_tsa_respond answers a TimeStampResp
 * that parses back; a request ca_tsa_req_check refuses is rejected; a
 * granted answer is for this request (version, imprint, nonce) and its
 * token verifies under the fixture's TSA root.  Seeds:
 * tests/fuzz/make_tsa_seeds.sh. */
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>

#include "openjpki/tsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

static void add_ext(X509 *c, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
	if (e == NULL || X509_add_ext(c, e, -1) != 1)
		abort();
	X509_EXTENSION_free(e);
}

/* A self-signed TSA certificate (P-256: the fixture is made once, fast)
 * that is its own trust anchor. */
static jpki_tsa *fixture(X509_STORE **out_store)
{
	static jpki_tsa *t;
	static X509_STORE *st;
	if (t != NULL) {
		*out_store = st;
		return t;
	}
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	time_t nb = FUZZ_NOW - 86400;
	if (key == NULL || c == NULL || n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)"fuzz TSA", -1,
					-1, 0) ||
	    X509_set_version(c, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(c), 1) != 1 ||
	    X509_set_subject_name(c, n) != 1 ||
	    X509_set_issuer_name(c, n) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(c), 3650, 0, &nb) == NULL ||
	    X509_set_pubkey(c, key) != 1)
		abort();
	add_ext(c, NID_ext_key_usage, "critical,timeStamping");
	add_ext(c, NID_subject_key_identifier, "hash");
	if (X509_sign(c, key, EVP_sha256()) <= 0 ||
	    ca_tsa_new(key, c, NULL, &t, NULL) != 0 ||
	    (st = X509_STORE_new()) == NULL || X509_STORE_add_cert(st, c) != 1)
		abort();
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), FUZZ_NOW);
	X509_VERIFY_PARAM_set_flags(X509_STORE_get0_param(st),
				    X509_V_FLAG_PARTIAL_CHAIN);
	X509_NAME_free(n);
	X509_free(c);
	EVP_PKEY_free(key);
	*out_store = st;
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_STORE *st = NULL;
	const jpki_tsa *t = fixture(&st);
	uint8_t *out = NULL;
	size_t out_len = 0;
	bool granted = false;
	bool strict = ca_tsa_req_check(data, size, NULL) == 0;
	if (ca_tsa_respond(t, data, size, FUZZ_NOW, &out, &out_len, &granted,
			   NULL) != 0)
		abort();
	const unsigned char *p = out;
	TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)out_len);
	if (resp == NULL || p != out + out_len || (granted && !strict) ||
	    (granted != (TS_RESP_get_token(resp) != NULL)))
		abort();
	if (granted) {
		const unsigned char *q = data;
		TS_REQ *rq = d2i_TS_REQ(NULL, &q, (long)size);
		TS_VERIFY_CTX *vc =
		    rq ? TS_REQ_to_TS_VERIFY_CTX(rq, NULL) : NULL;
		if (vc == NULL || X509_STORE_up_ref(st) != 1)
			abort();
		/* without certReq the token carries no certificate */
		STACK_OF(X509) *certs = sk_X509_new_null();
		if (certs == NULL ||
		    !sk_X509_push(certs, X509_dup(ca_tsa_cert(t))))
			abort();
		TS_VERIFY_CTX_add_flags(vc, TS_VFY_SIGNATURE);
		TS_VERIFY_CTX_set_store(vc, st);
		TS_VERIFY_CTX_set_certs(vc, certs);
		if (TS_RESP_verify_response(vc, resp) != 1)
			abort();
		TS_VERIFY_CTX_free(vc);
		TS_REQ_free(rq);
	}
	TS_RESP_free(resp);
	free(out);
	return 0;
}
