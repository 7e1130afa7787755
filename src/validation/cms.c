/* CMS SignedData verification (RFC 5652) for documents signed with a
 * JPKI signature certificate: one signer, whose certificate travels in
 * the CMS (as `jpki sign` and `openssl cms -sign` put it), checked by
 * val_cert(); then what an eKYC relying party reads: the basic-4 data
 * and the birth date in Gregorian and era form (犯収法施行規則 第6条第1項
 * 第1号ワ, spec §6.4).  The document is untrusted input: size-capped, one
 * DER object, and every malformation is a verdict, not a crash. */
#include <limits.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "val_int.h"

/* RFC 5754: SHA-2 only; SHA-1 and MD5 documents are refused. */
static bool digest_ok(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512: return true;
	default: return false;
	}
}

/* Free the digest BIOs CMS_dataInit() pushed in front of `upto` (or the
 * whole chain when upto is NULL), as CMS_verify() does. */
static void free_upto(BIO *f, BIO *upto)
{
	if (upto == NULL) {
		BIO_free_all(f);
		return;
	}
	while (f != NULL && f != upto) {
		BIO *next = BIO_pop(f);
		BIO_free(f);
		f = next;
	}
}

/* Run the content through the signer's digest and compare: the
 * messageDigest attribute, or the signature itself without signed
 * attributes.  1 when it matches, 0 when not, negative on failure. */
static int content_check(CMS_ContentInfo *ci, CMS_SignerInfo *si,
			 const uint8_t *content, size_t content_len,
			 jpki_err *err)
{
	BIO *cont = NULL, *chain = NULL;
	char buf[4096];
	int rc;
	if (content != NULL &&
	    (cont = BIO_new_mem_buf(content, (int)content_len)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((chain = CMS_dataInit(ci, cont)) == NULL) {
		rc = 0; /* e.g. an unusable digest algorithm */
		goto out;
	}
	while (BIO_read(chain, buf, sizeof(buf)) > 0)
		;
	rc = CMS_SignerInfo_verify_content(si, chain) == 1;
out:
	ERR_clear_error();
	if (chain != NULL)
		free_upto(chain, cont);
	BIO_free(cont);
	return rc;
}

static void signing_time(CMS_SignerInfo *si, val_result *res)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;
	ASN1_TYPE *t = a != NULL && X509_ATTRIBUTE_count(a) == 1
			   ? X509_ATTRIBUTE_get0_type(a, 0)
			   : NULL;
	if (t == NULL)
		return;
	/* RFC 5652 11.3: UTCTime through 2049, GeneralizedTime after */
	if ((t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME) &&
	    vali_time(t->value.asn1_string, &res->signing_time) == 0)
		res->has_signing_time = true;
	else
		vali_fail(res, VAL_FAIL_DOCUMENT, "malformed signingTime");
}

/* RFC 5652 5.3: with signed attributes, contentType must be there and
 * name the eContentType. */
static bool content_type_ok(CMS_ContentInfo *ci, CMS_SignerInfo *si)
{
	const ASN1_OBJECT *want = CMS_get0_eContentType(ci);
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;
	ASN1_TYPE *t = a != NULL && X509_ATTRIBUTE_count(a) == 1
			   ? X509_ATTRIBUTE_get0_type(a, 0)
			   : NULL;
	return t != NULL && t->type == V_ASN1_OBJECT && want != NULL &&
	       CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, i) < 0 &&
	       OBJ_cmp(t->value.object, want) == 0;
}

static void basic4(jpki_validator *v, X509 *cert, const unsigned char *hash,
		   val_result *res)
{
	jpki_err e = {0};
	int era = 0;
	int rc = vali_pcert_basic4(v, hash, cert, &res->basic4, &e);
	if (rc != 0) {
		memset(&res->basic4, 0, sizeof(res->basic4));
		vali_fail(res, VAL_FAIL_PROFILE,
			  "signature certificate without readable basic-4 "
			  "data (氏名・住所・生年月日・性別): %s",
			  e.msg);
		return;
	}
	res->has_basic4 = true;
	if (rules_era_date_parse(res->basic4.birth, &res->birth,
				 &res->birth_era, &e) == 0) {
		res->has_birth = true;
		res->birth_era_year = rules_era_year(res->birth, &era);
	} else {
		vali_fail(res, VAL_FAIL_PROFILE, "birth date \"%.16s\": %s",
			  res->basic4.birth, e.msg);
	}
}

/* The document's certificates, own references (at most
 * VALI_CMS_CERTS_MAX), with the SHA-256 of each DER when known. */
typedef struct doc_certs {
	X509 *x[VALI_CMS_CERTS_MAX];
	unsigned char hash[VALI_CMS_CERTS_MAX][32];
	bool hashed;
	size_t n;
} doc_certs;

static void doc_certs_clear(doc_certs *c)
{
	for (size_t i = 0; i < c->n; i++)
		X509_free(c->x[i]);
	c->n = 0;
}

/* Parse the document: *ci and its certificates, or a DOCUMENT verdict
 * (*ci NULL, return 0), or a negative jpki_rc. */
static int parse(jpki_validator *v, const uint8_t *der, size_t len,
		 CMS_ContentInfo **ci, doc_certs *certs, val_result *res,
		 jpki_err *err)
{
	vali_split sp;
	const unsigned char *p;
	int rc = vali_cms_split(der, len, &sp);
	*ci = NULL;
	if (rc < 0)
		return jpki_fail(err, rc, "out of memory");
	if (rc == 0) {
		/* the fast path: certificates from the cache */
		for (size_t i = 0; i < sp.n_certs; i++) {
			jpki_err e = {0};
			rc = vali_pcert_get(v, sp.cert[i], sp.cert_len[i],
					    &certs->x[certs->n],
					    certs->hash[certs->n], &e);
			if (rc == JPKI_ERR_PARSE) {
				vali_fail(res, VAL_FAIL_DOCUMENT,
					  "certificate %zu in the CMS: %s",
					  i + 1, e.msg);
				rc = 0;
				goto out;
			}
			if (rc != 0) {
				rc = jpki_fail(err, rc, "%s", e.msg);
				goto out;
			}
			certs->n++;
		}
		certs->hashed = true;
		p = sp.stripped;
		*ci = d2i_CMS_ContentInfo(NULL, &p, (long)sp.stripped_len);
		if (*ci != NULL && p != sp.stripped + sp.stripped_len) {
			CMS_ContentInfo_free(*ci);
			*ci = NULL;
		}
		if (*ci == NULL)
			vali_fail(res, VAL_FAIL_DOCUMENT,
				  "not a DER CMS ContentInfo");
		rc = 0;
		goto out;
	}
	/* anything else: OpenSSL parses it all */
	p = der;
	*ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (*ci == NULL || p != der + len) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  *ci == NULL ? "not a DER CMS ContentInfo"
				      : "data after the CMS ContentInfo");
		CMS_ContentInfo_free(*ci);
		*ci = NULL;
		rc = 0;
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(*ci)) == NID_pkcs7_signed) {
		STACK_OF(X509) *all = CMS_get1_certs(*ci);
		if (sk_X509_num(all) > VALI_CMS_CERTS_MAX) {
			vali_fail(res, VAL_FAIL_DOCUMENT,
				  "more than %d certificates in the CMS",
				  VALI_CMS_CERTS_MAX);
			CMS_ContentInfo_free(*ci);
			*ci = NULL;
		}
		while (*ci != NULL && sk_X509_num(all) > 0)
			certs->x[certs->n++] = sk_X509_shift(all);
		sk_X509_pop_free(all, X509_free);
	}
	rc = 0;
out:
	ERR_clear_error();
	vali_split_clear(&sp);
	return rc;
}

static int check(jpki_validator *v, const uint8_t *der, size_t len,
		 const uint8_t *content, size_t content_len, const val_opts *o,
		 val_result *res, jpki_err *err)
{
	CMS_ContentInfo *ci = NULL;
	doc_certs certs;
	X509 *signer = NULL;
	const unsigned char *signer_hash = NULL;
	val_opts co = *o;
	int rc = 0;
	memset(&certs, 0, sizeof(certs));
	if (len == 0 || len > VAL_CMS_MAX) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  "CMS of %zu bytes (1 to %u allowed)", len,
			  VAL_CMS_MAX);
		goto out;
	}
	if ((rc = parse(v, der, len, &ci, &certs, res, err)) != 0 || ci == NULL)
		goto out;
	if (OBJ_obj2nid(CMS_get0_type(ci)) != NID_pkcs7_signed) {
		vali_fail(res, VAL_FAIL_DOCUMENT, "not a CMS SignedData");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(ci)) != NID_pkcs7_data) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  "encapsulated content type is not id-data");
		goto out;
	}
	ASN1_OCTET_STRING **pos = CMS_get0_content(ci);
	res->attached = pos != NULL && *pos != NULL;
	if (content == NULL && !res->attached) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "a detached signature: give the signed content");
		goto out;
	}
	if (content != NULL && res->attached) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "the signature carries its content: do not give "
			       "the content separately");
		goto out;
	}
	if (content_len > INT_MAX) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "content over %d bytes",
			       INT_MAX);
		goto out;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  "%d signers: a JPKI document has exactly one",
			  sk_CMS_SignerInfo_num(sis));
		goto out;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	X509_ALGOR *dig = NULL, *sig = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (dig == NULL || !digest_ok(dig)) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  "digest algorithm refused (SHA-256, -384 or -512)");
		goto out;
	}
	for (size_t i = 0; i < certs.n && signer == NULL; i++) {
		if (CMS_SignerInfo_cert_cmp(si, certs.x[i]) == 0) {
			signer = certs.x[i];
			signer_hash = certs.hashed ? certs.hash[i] : NULL;
		}
	}
	if (signer == NULL) {
		vali_fail(res, VAL_FAIL_DOCUMENT,
			  "the signer's certificate is not in the CMS");
		goto out;
	}
	CMS_SignerInfo_set1_signer_cert(si, signer);
	signing_time(si, res);
	if (CMS_signed_get_attr_count(si) > 0) {
		if (!content_type_ok(ci, si))
			vali_fail(res, VAL_FAIL_DOCUMENT,
				  "the contentType attribute is missing or "
				  "does not match the content");
		if (CMS_SignerInfo_verify(si) != 1)
			vali_fail(res, VAL_FAIL_DOC_SIGNATURE,
				  "the signature over the signed attributes "
				  "does not verify with the signer's key");
		ERR_clear_error();
	}
	if ((rc = content_check(ci, si, content, content_len, err)) < 0)
		goto out;
	if (rc == 0)
		vali_fail(res, VAL_FAIL_DOC_SIGNATURE,
			  CMS_signed_get_attr_count(si) > 0
			      ? "the content does not match the signed "
				"messageDigest: altered, or not the signed "
				"content"
			      : "the signature does not verify over the "
				"content");
	rc = 0;
	/* a signature time-stamp that verifies proves the signature
	 * existed then: the signer is judged at that instant */
	if ((rc = vali_timestamp_check(v, si, o->now, res, err)) != 0)
		goto out;
	if (res->has_timestamp)
		co.at = res->timestamp;
	/* documents are signed with the signature certificate */
	if (co.purpose == VAL_PURPOSE_ANY)
		co.purpose = VAL_PURPOSE_SIGN;
	if ((rc = vali_cert_check(v, signer, signer_hash, &co, res, err)) != 0)
		goto out;
	if (res->classified && res->kind == JPKI_CERT_SIGN)
		basic4(v, signer, signer_hash, res);
out:
	ERR_clear_error();
	doc_certs_clear(&certs);
	CMS_ContentInfo_free(ci);
	return rc;
}

int val_cms(jpki_validator *v, const uint8_t *cms, size_t cms_len,
	    const uint8_t *content, size_t content_len, const val_opts *o,
	    val_result *res, jpki_err *err)
{
	int rc;
	if (v == NULL || (cms == NULL && cms_len != 0) || o == NULL ||
	    res == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "verify: bad argument");
	memset(res, 0, sizeof(*res));
	v->stats.documents++;
	if ((rc = check(v, cms, cms_len, content, content_len, o, res, err)) !=
	    0)
		val_result_clear(res);
	return rc;
}
