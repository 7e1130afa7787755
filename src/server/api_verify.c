/* POST /api/v1/verify: the platform operator's (プラットフォーム事業者)
 * verification service for relying parties.  The body is
 *
 *   {"cms": base64 DER SignedData, "content": base64 (detached only)}
 *
 * or a raw-signature bundle of `jpki card sign-digests` (log-in bridges):
 *
 *   {"digest": 64 hex (SHA-256), "signature": base64 (PKCS#1 v1.5 over
 *    the SHA-256 DigestInfo), "certificate": PEM or base64 DER}
 *
 * checked as the signature by the certificate's key and the certificate
 * by the validation module (either hierarchy: the auth key signs log-in
 * digests, the sign key documents).
 *
 * The answer is the document `jpki verify --json` prints
 * (val_result_json, one implementation), judged now against this CA's
 * roots with revocation from this CA's store: an OCSP answer signed in
 * process for each certificate in the CMS that one of our roots issued.
 *
 * No operator session: the answer tells a caller only what it holds (the
 * signer's certificate is inside the CMS it sent) and what the public
 * OCSP responder already tells anyone.  Admission control (CLS_READ) and
 * the body cap bound the work. */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/val_json.h"
#include "openjpki/validation.h"
#include "server_int.h"

#define CMS_CERTS_CHECKED 4 /* OCSP answers made per document at most */

int srv_rp_validator(server *s, jpki_validator **out, jpki_err *err)
{
	jpki_validator *v = NULL;
	int rc = val_new(&v, err);
	for (int k = JPKI_CERT_SIGN; rc == 0 && k <= JPKI_CERT_AUTH; k++)
		rc = val_add_root(v, s->root_cert[k], err);
	for (size_t i = 0; rc == 0 && i < s->n_old_roots; i++)
		rc = val_add_root(v, s->old_roots[i], err);
	for (size_t i = 0; rc == 0 && i < VAL_JLIS_ROOTS; i++)
		if (s->jlis[i] != NULL)
			rc = val_add_root(v, s->jlis[i], err);
	if (rc != 0) {
		val_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int srv_rp_ocsp_add(srv_worker *w, jpki_validator *v, X509 *cert, time_t now,
		    jpki_err *err)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL;
	uint8_t *resp = NULL;
	size_t idx = 0, resp_len = 0;
	bool sig_ok = false;
	jpki_err ignore = {0};
	int rc = 0;
	/* not ours: the validator says so without an answer from us */
	if (val_find_issuer(v, cert, &idx, &sig_ok, &ignore) != 0 || !sig_ok)
		return 0;
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), cert, val_root(v, idx))) ==
		NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "building an OCSP request");
		goto out;
	}
	id = NULL; /* transferred */
	int len = i2d_OCSP_REQUEST(req, &der);
	if (len <= 0) {
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "encoding an OCSP request");
		goto out;
	}
	if ((rc = ca_ocsp(w->ca, 0, der, (size_t)len, now, &resp, &resp_len,
			  err)) != 0 ||
	    (rc = val_add_ocsp_response(v, resp, resp_len, err)) != 0)
		goto out;
out:
	ERR_clear_error();
	free(resp);
	OPENSSL_free(der);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return rc;
}

int srv_rp_ocsp_for_cms(srv_worker *w, jpki_validator *v, const uint8_t *p,
			size_t len, time_t now, jpki_err *err)
{
	const unsigned char *q = p;
	CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, (long)len);
	STACK_OF(X509) *certs = ci != NULL ? CMS_get1_certs(ci) : NULL;
	int rc = 0;
	for (int i = 0;
	     rc == 0 && i < sk_X509_num(certs) && i < CMS_CERTS_CHECKED; i++)
		rc = srv_rp_ocsp_add(w, v, sk_X509_value(certs, i), now, err);
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(ci);
	return rc;
}

#define RP_SIG_MAX 1024
#define RP_CERT_MAX (16u * 1024)

/* A failure named in the verdict (as the validation module does). */
static void rp_fail(val_result *r, val_fail what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rp_fail(val_result *r, val_fail what, const char *fmt, ...)
{
	size_t slot = r->n_msgs < VAL_MSGS_MAX ? r->n_msgs++ : VAL_MSGS_MAX - 1;
	va_list ap;
	r->fails |= what;
	r->msgs[slot].what = what;
	va_start(ap, fmt);
	vsnprintf(r->msgs[slot].text, sizeof(r->msgs[slot].text), fmt, ap);
	va_end(ap);
}

static int rp_hex32(const char *s, uint8_t out[32])
{
	if (s == NULL || strlen(s) != 64)
		return 0;
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;
		for (size_t j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return 0;
		}
		out[i] = (uint8_t)v;
	}
	return 1;
}

static int unb64(const char *s, size_t max, uint8_t **out, size_t *out_len);

/* PEM, or base64 of the DER. */
static X509 *rp_cert(const char *text)
{
	X509 *x = NULL;
	if (strstr(text, "-----BEGIN CERTIFICATE-----") != NULL) {
		BIO *b = BIO_new_mem_buf(text, -1);
		if (b != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		uint8_t *der = NULL;
		size_t len = 0;
		if (unb64(text, RP_CERT_MAX, &der, &len) == 0) {
			const unsigned char *q = der;
			x = d2i_X509(NULL, &q, (long)len);
			if (x != NULL && q != der + len) {
				X509_free(x);
				x = NULL;
			}
		}
		free(der);
	}
	ERR_clear_error();
	return x;
}

/* The signature by the certificate's key over the SHA-256 digest
 * (PKCS#1 v1.5, the card's 80 2A): 1 good, 0 not. */
static int rp_sig_ok(X509 *cert, const uint8_t md[32], const uint8_t *sig,
		     size_t sig_len)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	EVP_PKEY_CTX *c = NULL;
	int ok = 0;
	if (pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA &&
	    (c = EVP_PKEY_CTX_new(pub, NULL)) != NULL &&
	    EVP_PKEY_verify_init(c) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0)
		ok = EVP_PKEY_verify(c, sig, sig_len, md, 32) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok;
}

/* {"digest", "signature", "certificate"}: the verdict into *res. */
static void rp_verify_digest(srv_worker *w, srv_req *r, json_t *b)
{
	server *s = w->s;
	time_t now = srv_time(s);
	uint8_t md[32], *sig = NULL;
	size_t sig_len = 0;
	const char *cert_text = srv_jstr(b, "certificate");
	const char *sig64 = srv_jstr(b, "signature");
	X509 *cert = NULL;
	jpki_validator *v = NULL;
	val_result res;
	jpki_err err = {0};
	int rc, sig_ok;
	memset(&res, 0, sizeof(res));
	if (!rp_hex32(srv_jstr(b, "digest"), md)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"digest: 64 hex digits (SHA-256)");
		goto out;
	}
	if (sig64 == NULL || unb64(sig64, RP_SIG_MAX, &sig, &sig_len) != 0 ||
	    sig_len == 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"signature: base64 of the RSA signature");
		goto out;
	}
	if (cert_text == NULL || (cert = rp_cert(cert_text)) == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"certificate: PEM or base64 DER X.509");
		goto out;
	}
	sig_ok = rp_sig_ok(cert, md, sig, sig_len);
	val_opts o = {now, now, VAL_PURPOSE_ANY};
	if ((rc = srv_rp_validator(s, &v, &err)) != 0 ||
	    (rc = srv_rp_ocsp_add(w, v, cert, now, &err)) != 0 ||
	    (rc = val_cert(v, cert, &o, &res, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (!sig_ok)
		rp_fail(&res, VAL_FAIL_DOC_SIGNATURE,
			"the signature is not the certificate key's PKCS#1 "
			"v1.5 SHA-256 signature of the digest");
	json_t *j = val_result_json(&res);
	if (j == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		goto out;
	}
	json_object_set_new(j, "signature_valid", json_boolean(sig_ok));
	srv_reply_json(r, MHD_HTTP_OK, j);
out:
	val_result_clear(&res);
	val_free(v);
	X509_free(cert);
	free(sig);
}

/* base64 text into a new buffer; JPKI_ERR_PARSE when not base64. */
static int unb64(const char *s, size_t max, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s), cap = n / 4 * 3 + 3;
	uint8_t *buf = malloc(cap > 0 ? cap : 1);
	if (buf == NULL)
		return JPKI_ERR_NOMEM;
	if (srv_b64_decode(s, n, buf, cap, out_len) != 0 || *out_len > max) {
		free(buf);
		return JPKI_ERR_PARSE;
	}
	*out = buf;
	return 0;
}

void api_rp_verify(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"cms", JT_STRING, false, SRV_RP_VERIFY_BODY},
	    {"content", JT_STRING, false, SRV_RP_VERIFY_BODY},
	    {"digest", JT_STRING, false, 64},
	    {"signature", JT_STRING, false, RP_SIG_MAX * 2},
	    {"certificate", JT_STRING, false, RP_CERT_MAX * 2}};
	server *s = w->s;
	time_t now = srv_time(s);
	uint8_t *cms = NULL, *content = NULL;
	size_t cms_len = 0, content_len = 0;
	jpki_validator *v = NULL;
	val_result res;
	jpki_err err = {0};
	int rc;
	memset(&res, 0, sizeof(res));
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	const char *c64 = srv_jstr(b, "content");
	bool bundle = srv_jstr(b, "digest") != NULL ||
		      srv_jstr(b, "signature") != NULL ||
		      srv_jstr(b, "certificate") != NULL;
	if (bundle == (srv_jstr(b, "cms") != NULL) || (bundle && c64 != NULL)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"give cms (and content), or digest, signature "
				"and certificate");
		goto out;
	}
	if (bundle) {
		rp_verify_digest(w, r, b);
		goto out;
	}
	if (unb64(srv_jstr(b, "cms"), VAL_CMS_MAX, &cms, &cms_len) != 0 ||
	    cms_len == 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"cms: base64 of a DER CMS SignedData");
		goto out;
	}
	if (c64 != NULL &&
	    unb64(c64, SRV_RP_VERIFY_BODY, &content, &content_len) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"content: base64 of the signed bytes");
		goto out;
	}
	val_opts o = {now, now, VAL_PURPOSE_SIGN};
	if ((rc = srv_rp_validator(s, &v, &err)) != 0 ||
	    (rc = srv_rp_ocsp_for_cms(w, v, cms, cms_len, now, &err)) != 0 ||
	    (rc = val_cms(v, cms, cms_len, c64 != NULL ? content : NULL,
			  content_len, &o, &res, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	json_t *j = val_result_json(&res);
	if (j == NULL)
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
	else
		srv_reply_json(r, MHD_HTTP_OK, j);
out:
	val_result_clear(&res);
	val_free(v);
	free(cms);
	free(content);
	json_decref(b);
}
