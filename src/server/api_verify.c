/* POST /api/v1/verify: the platform operator's (プラットフォーム事業者)
 * verification service for relying parties.  The body is
 *
 *   {"cms": base64 DER SignedData, "content": base64 (detached only)}
 *
 * and the answer is the document `jpki verify --json` prints
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
	    {"cms", JT_STRING, true, SRV_RP_VERIFY_BODY},
	    {"content", JT_STRING, false, SRV_RP_VERIFY_BODY}};
	server *s = w->s;
	time_t now = srv_time(s);
	uint8_t *cms = NULL, *content = NULL;
	size_t cms_len = 0, content_len = 0;
	jpki_validator *v = NULL;
	val_result res;
	jpki_err err = {0};
	int rc;
	memset(&res, 0, sizeof(res));
	json_t *b = srv_json_body(r, f, 2);
	if (b == NULL)
		return;
	const char *c64 = srv_jstr(b, "content");
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
