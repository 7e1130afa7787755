/* OCSP responder encoding (RFC 6960).  J-LIS answers status one
 * certificate at a time over OCSP (spec §2.2).  The request is untrusted:
 * it is size-bounded, must be exactly one DER OCSPRequest with 1 to
 * JPKI_OCSP_MAX_IDS CertIDs and an RFC 8954 nonce of 1 to 32 octets, or
 * the answer is malformedRequest.  The responder is the root itself,
 * identified by key hash; producedAt and thisUpdate are `now`. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "x509_int.h"

/* RFC 8954 section 2.1 */
#define NONCE_MIN 1
#define NONCE_MAX 32

static int encode(OCSP_RESPONSE *resp, uint8_t **out, size_t *out_len,
		  jpki_err *err)
{
	unsigned char *der = NULL;
	unsigned char *p;
	int len = i2d_OCSP_RESPONSE(resp, NULL);
	if (len <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "encoding OCSP response");
	if ((der = malloc((size_t)len)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	p = der;
	if (i2d_OCSP_RESPONSE(resp, &p) != len) {
		free(der);
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "encoding OCSP response");
	}
	*out = der;
	*out_len = (size_t)len;
	return 0;
}

int x509_ocsp_error(int status, uint8_t **out, size_t *out_len, jpki_err *err)
{
	OCSP_RESPONSE *resp = NULL;
	int rc;
	if (out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "OCSP: no output");
	switch (status) {
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
	case OCSP_RESPONSE_STATUS_INTERNALERROR:
	case OCSP_RESPONSE_STATUS_TRYLATER:
	case OCSP_RESPONSE_STATUS_SIGREQUIRED:
	case OCSP_RESPONSE_STATUS_UNAUTHORIZED: break;
	default:
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP status %d is not an error status",
				 status);
	}
	if ((resp = OCSP_response_create(status, NULL)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP response");
		goto out;
	}
	rc = encode(resp, out, out_len, err);
out:
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* 0 when the request has no nonce or an acceptable one, -1 otherwise. */
static int nonce_check(OCSP_REQUEST *rq)
{
	int i = OCSP_REQUEST_get_ext_by_NID(rq, NID_id_pkix_OCSP_Nonce, -1);
	if (i < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(rq, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return -1;
	X509_EXTENSION *ext = OCSP_REQUEST_get_ext(rq, i);
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(v);
	long len = ASN1_STRING_length(v);
	/* RFC 8954: Nonce ::= OCTET STRING inside extnValue; some older
	 * clients put the raw bytes there, which is tolerated */
	ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING(NULL, &p, len);
	if (inner != NULL && p == ASN1_STRING_get0_data(v) + len)
		len = ASN1_STRING_length(inner);
	ASN1_OCTET_STRING_free(inner);
	ERR_clear_error();
	return len >= NONCE_MIN && len <= NONCE_MAX ? 0 : -1;
}

/* Every CertID must survive the copy into the response: BER oddities that
 * d2i tolerates (e.g. in the hash algorithm's parameters) do not
 * re-encode, and such a request is malformed, not a responder failure. */
static bool ids_ok(OCSP_REQUEST *rq, int n)
{
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *cid =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));
		OCSP_CERTID *copy = cid != NULL ? OCSP_CERTID_dup(cid) : NULL;
		OCSP_CERTID_free(copy);
		if (copy == NULL)
			return false;
	}
	return true;
}

/* Issuer name and key hashes of `issuer` with one digest. */
struct issuer_hash {
	int nid;
	unsigned char name[EVP_MAX_MD_SIZE];
	unsigned char key[EVP_MAX_MD_SIZE];
	unsigned int len;
};

static int issuer_hashes(X509 *issuer, struct issuer_hash h[2], jpki_err *err)
{
	static const int nids[2] = {NID_sha1, NID_sha256};
	for (int i = 0; i < 2; i++) {
		const EVP_MD *md =
		    nids[i] == NID_sha1 ? EVP_sha1() : EVP_sha256();
		unsigned int kl = 0;
		h[i].nid = nids[i];
		if (!X509_NAME_digest(X509_get_subject_name(issuer), md,
				      h[i].name, &h[i].len) ||
		    !X509_pubkey_digest(issuer, md, h[i].key, &kl) ||
		    kl != h[i].len)
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "hashing the OCSP issuer");
	}
	return 0;
}

static bool same(const ASN1_OCTET_STRING *s, const unsigned char *d,
		 unsigned int len)
{
	return s != NULL && ASN1_STRING_length(s) == (int)len &&
	       memcmp(ASN1_STRING_get0_data(s), d, len) == 0;
}

/* RFC 6960 4.1.1: the CertID names our issuer with SHA-1 or SHA-256. */
static bool ours(OCSP_CERTID *cid, const struct issuer_hash h[2])
{
	ASN1_OCTET_STRING *nh = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_OCTET_STRING *kh = NULL;
	ASN1_INTEGER *sn = NULL;
	if (!OCSP_id_get0_info(&nh, &md, &kh, &sn, cid))
		return false;
	int nid = OBJ_obj2nid(md);
	for (int i = 0; i < 2; i++)
		if (nid == h[i].nid)
			return same(nh, h[i].name, h[i].len) &&
			       same(kh, h[i].key, h[i].len);
	return false;
}

static int status_of(OCSP_CERTID *cid, const struct issuer_hash h[2],
		     jpki_ocsp_lookup_fn lookup, void *ctx,
		     jpki_ocsp_status *st, jpki_err *err)
{
	ASN1_INTEGER *sn = NULL;
	int rc;
	memset(st, 0, sizeof(*st));
	st->status = V_OCSP_CERTSTATUS_UNKNOWN;
	if (!ours(cid, h) || !OCSP_id_get0_info(NULL, NULL, NULL, &sn, cid))
		return 0;
	int len = ASN1_STRING_length(sn);
	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER || len <= 0 ||
	    len > X509I_SERIAL_MAX)
		return 0;
	if ((rc = lookup(ctx, ASN1_STRING_get0_data(sn), (size_t)len, st,
			 err)) != 0)
		return rc;
	switch (st->status) {
	case V_OCSP_CERTSTATUS_GOOD:
	case V_OCSP_CERTSTATUS_UNKNOWN: return 0;
	case V_OCSP_CERTSTATUS_REVOKED:
		if (jpki_reason_name(st->reason) == NULL)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "OCSP lookup gave reason %d",
					 (int)st->reason);
		return 0;
	default:
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP lookup gave status %d", st->status);
	}
}

static int add_status(OCSP_BASICRESP *bs, OCSP_CERTID *cid,
		      const jpki_ocsp_status *st, ASN1_TIME *thisupd,
		      ASN1_TIME *nextupd, jpki_err *err)
{
	ASN1_TIME *rev = NULL;
	int reason = OCSP_REVOKED_STATUS_NOSTATUS;
	int rc = 0;
	if (st->status == V_OCSP_CERTSTATUS_REVOKED) {
		if ((rev = ASN1_GENERALIZEDTIME_set(NULL, st->revoked_at)) ==
		    NULL) {
			rc = jpki_fail(err, JPKI_ERR_CRYPTO, "revocationTime");
			goto out;
		}
		/* as in the CRL, unspecified is expressed by omission */
		if (st->reason != JPKI_REASON_UNSPECIFIED)
			reason = (int)st->reason;
	}
	if (OCSP_basic_add1_status(bs, cid, st->status, reason, rev, thisupd,
				   nextupd) == NULL)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP SingleResponse");
out:
	ASN1_TIME_free(rev);
	return rc;
}

static int sign(OCSP_BASICRESP *bs, X509 *issuer, EVP_PKEY *key, time_t now,
		jpki_err *err)
{
	/* OCSP_NOTIME keeps OpenSSL from reading the clock; producedAt is
	 * set here instead.  The object is ours: the cast only undoes the
	 * getter's const. */
	ASN1_GENERALIZEDTIME *produced =
	    (ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs);
	if (produced == NULL || ASN1_GENERALIZEDTIME_set(produced, now) == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP producedAt");
	if (!OCSP_basic_sign(bs, issuer, key, EVP_sha256(), NULL,
			     OCSP_NOCERTS | OCSP_RESPID_KEY | OCSP_NOTIME))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "signing OCSP response");
	return 0;
}

int x509_ocsp_respond(const uint8_t *req, size_t req_len, X509 *issuer,
		      EVP_PKEY *key, jpki_ocsp_lookup_fn lookup, void *ctx,
		      time_t now, time_t next_update, uint8_t **out,
		      size_t *out_len, jpki_err *err)
{
	OCSP_REQUEST *rq = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL;
	ASN1_TIME *nextupd = NULL;
	struct issuer_hash h[2];
	const unsigned char *p = req;
	int n = 0;
	int rc;
	if (issuer == NULL || key == NULL || lookup == NULL || out == NULL ||
	    out_len == NULL || (req == NULL && req_len != 0))
		return jpki_fail(err, JPKI_ERR_INVAL, "OCSP: bad argument");
	if (now >= next_update)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP thisUpdate must be before nextUpdate");
	if (X509_check_private_key(issuer, key) != 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP signing key does not match the issuer");
	if ((rc = issuer_hashes(issuer, h, err)) != 0)
		return rc;
	if (req_len > 0 && req_len <= JPKI_OCSP_MAX_REQ)
		rq = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	if (rq != NULL)
		n = OCSP_request_onereq_count(rq);
	if (rq == NULL || p != req + req_len || n < 1 ||
	    n > JPKI_OCSP_MAX_IDS || nonce_check(rq) != 0 || !ids_ok(rq, n)) {
		ERR_clear_error();
		rc = x509_ocsp_error(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out,
				     out_len, err);
		goto out;
	}
	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_GENERALIZEDTIME_set(NULL, now)) == NULL ||
	    (nextupd = ASN1_GENERALIZEDTIME_set(NULL, next_update)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP response");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *cid =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));
		jpki_ocsp_status st;
		if ((rc = status_of(cid, h, lookup, ctx, &st, err)) != 0 ||
		    (rc = add_status(bs, cid, &st, thisupd, nextupd, err)) != 0)
			goto out;
	}
	if (OCSP_copy_nonce(bs, rq) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP nonce");
		goto out;
	}
	if ((rc = sign(bs, issuer, key, now, err)) != 0)
		goto out;
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
					 bs)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP response");
		goto out;
	}
	rc = encode(resp, out, out_len, err);
out:
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(rq);
	return rc;
}
