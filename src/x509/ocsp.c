/* OCSP responder encoding (RFC 6960).  J-LIS answers status one
 * certificate at a time over OCSP (spec §2.2).  The request is untrusted:
 * it is read once, in strict DER, by x509_ocsp_req_parse (ocsp_req.c);
 * what that refuses is answered malformedRequest.  The responder is the root
 * itself, identified by key hash; producedAt and thisUpdate are `now`. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "x509_int.h"

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

static bool same(const uint8_t *p, size_t n, const unsigned char *d,
		 unsigned int len)
{
	return n == len && memcmp(p, d, len) == 0;
}

/* RFC 6960 4.1.1: the CertID names our issuer with SHA-1 or SHA-256. */
static bool ours(const jpki_ocsp_certid *id, const struct issuer_hash h[2])
{
	int nid = id->hash == 1 ? NID_sha1 : id->hash == 256 ? NID_sha256 : 0;
	for (int i = 0; i < 2; i++)
		if (nid == h[i].nid)
			return same(id->name_hash, id->name_hash_len, h[i].name,
				    h[i].len) &&
			       same(id->key_hash, id->key_hash_len, h[i].key,
				    h[i].len);
	return false;
}

static int status_of(const jpki_ocsp_certid *id, const struct issuer_hash h[2],
		     jpki_ocsp_lookup_fn lookup, void *ctx,
		     jpki_ocsp_status *st, jpki_err *err)
{
	int rc;
	memset(st, 0, sizeof(*st));
	st->status = V_OCSP_CERTSTATUS_UNKNOWN;
	if (!ours(id, h) || id->serial_negative ||
	    id->serial_len > X509I_SERIAL_MAX)
		return 0;
	if ((rc = lookup(ctx, id->serial, id->serial_len, st, err)) != 0)
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

/* The request's nonce extension, as sent (RFC 6960 4.4.1). */
static int copy_nonce(OCSP_BASICRESP *bs, const jpki_ocsp_req *rq,
		      jpki_err *err)
{
	ASN1_OCTET_STRING *v = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = 0;
	if (!rq->has_nonce)
		return 0;
	if ((v = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(v, rq->nonce_ext, (int)rq->nonce_ext_len) ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce,
						rq->nonce_critical ? 1 : 0,
						v)) == NULL ||
	    !OCSP_BASICRESP_add_ext(bs, ext, -1))
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP nonce");
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	return rc;
}

int x509_ocsp_respond(const uint8_t *req, size_t req_len, X509 *issuer,
		      EVP_PKEY *key, jpki_ocsp_lookup_fn lookup, void *ctx,
		      time_t now, time_t next_update, uint8_t **out,
		      size_t *out_len, jpki_err *err)
{
	jpki_ocsp_req rq;
	if (req == NULL && req_len != 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "OCSP: bad argument");
	bool ok = x509_ocsp_req_parse(req, req_len, &rq) == 0;
	return x509_ocsp_respond_req(ok ? &rq : NULL, issuer, key, lookup, ctx,
				     now, next_update, out, out_len, err);
}

int x509_ocsp_respond_req(const jpki_ocsp_req *rq, X509 *issuer, EVP_PKEY *key,
			  jpki_ocsp_lookup_fn lookup, void *ctx, time_t now,
			  time_t next_update, uint8_t **out, size_t *out_len,
			  jpki_err *err)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL;
	ASN1_TIME *nextupd = NULL;
	OCSP_CERTID *cid = NULL;
	struct issuer_hash h[2];
	int rc;
	if (issuer == NULL || key == NULL || lookup == NULL || out == NULL ||
	    out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "OCSP: bad argument");
	if (now >= next_update)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP thisUpdate must be before nextUpdate");
	if (X509_check_private_key(issuer, key) != 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP signing key does not match the issuer");
	if ((rc = issuer_hashes(issuer, h, err)) != 0)
		return rc;
	if (rq == NULL || rq->n_ids < 1 || rq->n_ids > JPKI_OCSP_MAX_IDS) {
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
	for (size_t i = 0; i < rq->n_ids; i++) {
		const jpki_ocsp_certid *id = &rq->id[i];
		const unsigned char *p = id->der;
		jpki_ocsp_status st;
		/* the CertID goes back as it came: OpenSSL's object of the
		 * strict-DER bytes already read, which re-encode the same */
		if ((cid = d2i_OCSP_CERTID(NULL, &p, (long)id->der_len)) ==
			NULL ||
		    p != id->der + id->der_len) {
			ERR_clear_error();
			rc = x509_ocsp_error(
			    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out, out_len,
			    err);
			goto out;
		}
		if ((rc = status_of(id, h, lookup, ctx, &st, err)) != 0 ||
		    (rc = add_status(bs, cid, &st, thisupd, nextupd, err)) != 0)
			goto out;
		OCSP_CERTID_free(cid);
		cid = NULL;
	}
	if ((rc = copy_nonce(bs, rq, err)) != 0 ||
	    (rc = sign(bs, issuer, key, now, err)) != 0)
		goto out;
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
					 bs)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "OCSP response");
		goto out;
	}
	rc = encode(resp, out, out_len, err);
out:
	OCSP_CERTID_free(cid);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return rc;
}
