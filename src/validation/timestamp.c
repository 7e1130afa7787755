/* Signature time-stamps (RFC 3161; CAdES-T, ETSI EN 319 122-1 5.3): asking
 * a TSA for a token over a signature value, adding it to a CMS SignerInfo
 * as the unsigned attribute id-aa-signatureTimeStampToken, and checking
 * one against the TSA roots a relying party trusts.  OpenSSL's TS and CMS
 * code does every encoding; the clock is an argument. */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "val_int.h"

#define TSA_ROOTS_MAX 16
#define TSA_ROOT_FILE_MAX (256u * 1024)
#define TOKEN_MAX JPKI_TSA_RESP_MAX

int val_add_tsa_root(jpki_validator *v, X509 *root, jpki_err *err)
{
	EVP_PKEY *pub = NULL;
	int rc = 0;
	if (v == NULL || root == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "TSA root: bad argument");
	if (v->tsa_roots == NULL && (v->tsa_roots = sk_X509_new_null()) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(v->tsa_roots); i++)
		if (X509_cmp(sk_X509_value(v->tsa_roots, i), root) == 0)
			return 0;
	if (sk_X509_num(v->tsa_roots) >= TSA_ROOTS_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "over %d TSA roots",
				 TSA_ROOTS_MAX);
	/* a self-signed CA: its own key verifies it */
	if (X509_check_ca(root) < 1 ||
	    X509_NAME_cmp(X509_get_subject_name(root),
			  X509_get_issuer_name(root)) != 0 ||
	    (pub = X509_get0_pubkey(root)) == NULL ||
	    X509_verify(root, pub) != 1) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "a TSA root must be a self-signed CA "
			       "certificate");
		goto out;
	}
	if (X509_up_ref(root) != 1 || !sk_X509_push(v->tsa_roots, root)) {
		X509_free(root);
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
out:
	ERR_clear_error();
	return rc;
}

int val_load_tsa_roots(jpki_validator *v, const char *path, size_t *added,
		       jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	BIO *b = NULL;
	X509 *x = NULL;
	int rc = jpki_file_read(path, TSA_ROOT_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		rc = val_add_tsa_root(v, x, err);
		X509_free(x);
		if (rc != 0)
			goto out;
		n++;
	}
	if (n == 0) {
		/* one DER certificate */
		if ((rc = x509_from_der(buf, len, &x, err)) != 0) {
			rc = jpki_wrap(err, rc, "%s: no TSA root certificate",
				       path);
			goto out;
		}
		rc = val_add_tsa_root(v, x, err);
		X509_free(x);
		n = rc == 0 ? 1 : 0;
	}
out:
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	if (rc == 0 && added != NULL)
		*added = n;
	return rc;
}

/* ---- asking a TSA ---- */

static TS_REQ *make_request(const uint8_t *data, size_t len, jpki_err *err)
{
	unsigned char md[32];
	uint8_t nb[16];
	TS_REQ *rq = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *nonce = NULL;
	bool ok = false;
	if (jpki_random(nb, sizeof(nb), err) != 0)
		goto out;
	nb[0] &= 0x7f; /* positive */
	ok = rq != NULL && mi != NULL && alg != NULL &&
	     SHA256(data, len, md) != NULL &&
	     X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ==
		 1 &&
	     TS_MSG_IMPRINT_set_algo(mi, alg) == 1 &&
	     TS_MSG_IMPRINT_set_msg(mi, md, sizeof(md)) == 1 &&
	     TS_REQ_set_version(rq, 1) == 1 &&
	     TS_REQ_set_msg_imprint(rq, mi) == 1 &&
	     (bn = BN_bin2bn(nb, sizeof(nb), NULL)) != NULL &&
	     (nonce = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	     TS_REQ_set_nonce(rq, nonce) == 1 &&
	     TS_REQ_set_cert_req(rq, 1) == 1;
	if (!ok)
		jpki_fail(err, JPKI_ERR_CRYPTO, "building the TimeStampReq");
out:
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(rq);
		rq = NULL;
	}
	return rq;
}

/* Why a TSA refused: its PKIStatus and statusString. */
static int refused(TS_RESP *resp, jpki_err *err)
{
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	const STACK_OF(ASN1_UTF8STRING) *text = TS_STATUS_INFO_get0_text(si);
	const ASN1_UTF8STRING *t0 = sk_ASN1_UTF8STRING_value(text, 0);
	long st = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
	return jpki_fail(
	    err, JPKI_ERR_POLICY, "the TSA refused (PKIStatus %ld)%s%.*s", st,
	    t0 != NULL ? ": " : "", t0 != NULL ? ASN1_STRING_length(t0) : 0,
	    t0 != NULL ? (const char *)ASN1_STRING_get0_data(t0) : "");
}

int val_timestamp_fetch(const char *url, const uint8_t *data, size_t len,
			int timeout, uint8_t **token, size_t *token_len,
			jpki_err *err)
{
	TS_REQ *rq = NULL;
	TS_RESP *resp = NULL;
	TS_VERIFY_CTX *vc = NULL;
	unsigned char *body = NULL, *tok = NULL;
	uint8_t *answer = NULL;
	size_t answer_len = 0;
	int rc = 0;
	if (url == NULL || (data == NULL && len != 0) || token == NULL ||
	    token_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "timestamp: bad argument");
	if (!vali_is_http(url))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "TSA %s: only http:// URLs", url);
	if ((rq = make_request(data, len, err)) == NULL)
		return err != NULL ? err->code : JPKI_ERR_CRYPTO;
	int n = i2d_TS_REQ(rq, &body);
	if (n <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the request");
		goto out;
	}
	if ((rc = vali_http_post(
		 url, "application/timestamp-query", body, (size_t)n,
		 "application/timestamp-reply", JPKI_TSA_RESP_MAX,
		 timeout > 0 ? timeout : VAL_HTTP_TIMEOUT_DEFAULT, &answer,
		 &answer_len, err)) != 0)
		goto out;
	const unsigned char *p = answer;
	resp = d2i_TS_RESP(NULL, &p, (long)answer_len);
	if (resp == NULL || p != answer + answer_len) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "TSA %s: not one TimeStampResp", url);
		goto out;
	}
	long st = ASN1_INTEGER_get(
	    TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
	if ((st != TS_STATUS_GRANTED && st != TS_STATUS_GRANTED_WITH_MODS) ||
	    TS_RESP_get_token(resp) == NULL) {
		rc = refused(resp, err);
		goto out;
	}
	/* version, imprint and nonce as asked; the signature is the
	 * verifier's business (val_cms) */
	if ((vc = TS_REQ_to_TS_VERIFY_CTX(rq, NULL)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (TS_RESP_verify_response(vc, resp) != 1) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "TSA %s: the token is not for this request "
			       "(imprint or nonce)",
			       url);
		goto out;
	}
	int tl = i2d_PKCS7(TS_RESP_get_token(resp), &tok);
	if (tl <= 0 || (*token = malloc((size_t)tl)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*token, tok, (size_t)tl);
	*token_len = (size_t)tl;
out:
	ERR_clear_error();
	OPENSSL_free(tok);
	OPENSSL_free(body);
	free(answer);
	TS_VERIFY_CTX_free(vc);
	TS_RESP_free(resp);
	TS_REQ_free(rq);
	return rc;
}

int val_cms_add_timestamp(const uint8_t *cms, size_t len, const char *url,
			  int timeout, uint8_t **out, size_t *out_len,
			  jpki_err *err)
{
	const unsigned char *p = cms;
	CMS_ContentInfo *ci = NULL;
	unsigned char *der = NULL;
	uint8_t *token = NULL;
	size_t token_len = 0;
	int rc = 0;
	if (cms == NULL || len == 0 || len > VAL_CMS_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "CMS of %zu bytes (1 to %u allowed)", len,
				 VAL_CMS_MAX);
	ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (ci == NULL || p != cms + len ||
	    OBJ_obj2nid(CMS_get0_type(ci)) != NID_pkcs7_signed) {
		rc = jpki_fail(err, JPKI_ERR_PARSE, "not one CMS SignedData");
		goto out;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "%d signers: time-stamping one is supported",
			       sk_CMS_SignerInfo_num(sis));
		goto out;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
					 -1) >= 0) {
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "the signature is time-stamped already");
		goto out;
	}
	/* RFC 3161 Appendix A: the imprint is over the signature field's
	 * value */
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	if ((rc = val_timestamp_fetch(url, ASN1_STRING_get0_data(sig),
				      (size_t)ASN1_STRING_length(sig), timeout,
				      &token, &token_len, err)) != 0)
		goto out;
	if (token_len > INT_MAX ||
	    CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
					  V_ASN1_SEQUENCE, token,
					  (int)token_len) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "adding the time-stamp attribute");
		goto out;
	}
	int n = i2d_CMS_ContentInfo(ci, &der);
	if (n <= 0 || (*out = malloc((size_t)n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "encoding the CMS");
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	free(token);
	CMS_ContentInfo_free(ci);
	return rc;
}

/* ---- checking one ---- */

static bool sha2(const ASN1_OBJECT *o)
{
	switch (OBJ_obj2nid(o)) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512: return true;
	default: return false;
	}
}

/* The token of the one attribute value: 0 and *tok, or a verdict. */
static PKCS7 *token_of(CMS_SignerInfo *si, int idx, val_result *res)
{
	X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
	ASN1_TYPE *t = a != NULL && X509_ATTRIBUTE_count(a) == 1
			   ? X509_ATTRIBUTE_get0_type(a, 0)
			   : NULL;
	if (t == NULL || t->type != V_ASN1_SEQUENCE) {
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "the signatureTimeStampToken attribute does not "
			  "hold one token");
		return NULL;
	}
	const unsigned char *p = t->value.sequence->data;
	long len = t->value.sequence->length;
	PKCS7 *tok =
	    len > 0 && len <= (long)TOKEN_MAX ? d2i_PKCS7(NULL, &p, len) : NULL;
	if (tok == NULL || p != t->value.sequence->data + len) {
		PKCS7_free(tok);
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "the signature time-stamp is not a DER "
			  "TimeStampToken (RFC 3161 2.4.2)");
		return NULL;
	}
	return tok;
}

static X509_STORE *tsa_store(jpki_validator *v, time_t now)
{
	X509_STORE *st = X509_STORE_new();
	if (st == NULL)
		return NULL;
	for (int i = 0; i < sk_X509_num(v->tsa_roots); i++) {
		if (X509_STORE_add_cert(st, sk_X509_value(v->tsa_roots, i)) !=
		    1) {
			X509_STORE_free(st);
			return NULL;
		}
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), now);
	return st;
}

int vali_timestamp_check(jpki_validator *v, CMS_SignerInfo *si, time_t now,
			 val_result *res, jpki_err *err)
{
	PKCS7 *tok = NULL;
	TS_TST_INFO *info = NULL;
	TS_VERIFY_CTX *vc = NULL;
	X509_STORE *st = NULL;
	BIO *data = NULL;
	int rc = 0;
	int idx = CMS_unsigned_get_attr_by_NID(
	    si, NID_id_smime_aa_timeStampToken, -1);
	if (idx < 0 || sk_X509_num(v->tsa_roots) == 0)
		return 0;
	if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
					 idx) >= 0) {
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "several signature time-stamps: one is judged");
		return 0;
	}
	if ((tok = token_of(si, idx, res)) == NULL)
		goto out;
	if ((info = PKCS7_to_TS_TST_INFO(tok)) == NULL) {
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "the time-stamp token holds no TSTInfo");
		goto out;
	}
	const ASN1_OBJECT *alg = NULL;
	X509_ALGOR_get0(
	    &alg, NULL, NULL,
	    TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info)));
	if (!sha2(alg)) {
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "time-stamp imprint algorithm refused (SHA-256, "
			  "-384 or -512)");
		goto out;
	}
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	if ((vc = TS_VERIFY_CTX_new()) == NULL ||
	    (data = BIO_new_mem_buf(ASN1_STRING_get0_data(sig),
				    ASN1_STRING_length(sig))) == NULL ||
	    (st = tsa_store(v, now)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the context owns what it is given (OpenSSL 3.0 set semantics) */
	TS_VERIFY_CTX_set_flags(vc, TS_VFY_VERSION | TS_VFY_SIGNATURE |
					TS_VFY_DATA);
	TS_VERIFY_CTX_set_data(vc, data);
	data = NULL;
	TS_VERIFY_CTX_set_store(vc, st);
	st = NULL;
	/* the signer must chain to a TSA root with the timeStamping purpose
	 * (extendedKeyUsage critical, RFC 3161 2.3), valid at now; the
	 * imprint must be the hash of the signature value */
	if (TS_RESP_verify_token(vc, tok) != 1) {
		const char *why =
		    ERR_reason_error_string(ERR_peek_last_error());
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "the signature time-stamp does not verify: %s",
			  why != NULL ? why : "refused");
		goto out;
	}
	if (vali_time(TS_TST_INFO_get_time(info), &res->timestamp) != 0) {
		vali_fail(res, VAL_FAIL_TIMESTAMP,
			  "unreadable time-stamp genTime");
		goto out;
	}
	res->has_timestamp = true;
	OBJ_obj2txt(res->tsa_policy, sizeof(res->tsa_policy),
		    TS_TST_INFO_get_policy_id(info), 1);
	STACK_OF(X509) *certs = tok->d.sign->cert;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (X509_get_extension_flags(c) & EXFLAG_XKUSAGE &&
		    X509_get_extended_key_usage(c) & XKU_TIMESTAMP) {
			X509_NAME_oneline(X509_get_subject_name(c),
					  res->tsa_name, sizeof(res->tsa_name));
			break;
		}
	}
out:
	ERR_clear_error();
	BIO_free(data);
	X509_STORE_free(st);
	TS_VERIFY_CTX_free(vc);
	TS_TST_INFO_free(info);
	PKCS7_free(tok);
	return rc;
}
