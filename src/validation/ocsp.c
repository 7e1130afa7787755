/* Revocation by OCSP (RFC 6960).  J-LIS answers one certificate at a time
 * (spec §2.2); as in openjpki's responder, the root itself signs the
 * answers, so a response must be signed by the key of the certificate's
 * own root (no delegated responder is accepted, and certificates carried
 * in the response are ignored).  A live request carries a 16-byte nonce
 * (RFC 8954) that the response must echo.  Times: thisUpdate and
 * producedAt may be at most the skew ahead of now; nextUpdate must not
 * have passed; without nextUpdate an answer is good for the cache age. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "val_int.h"

#define NONCE_LEN 16
#define N_MDS 4

static const EVP_MD *md_of(const ASN1_OBJECT *o, int *slot)
{
	switch (OBJ_obj2nid(o)) {
	case NID_sha1: *slot = 0; return EVP_sha1();
	case NID_sha256: *slot = 1; return EVP_sha256();
	case NID_sha384: *slot = 2; return EVP_sha384();
	case NID_sha512: *slot = 3; return EVP_sha512();
	default: return NULL;
	}
}

/* Our CertIDs for cert, one per hash algorithm, computed when needed. */
typedef struct ids {
	OCSP_CERTID *id[N_MDS];
} ids;

static void ids_free(ids *x)
{
	for (int i = 0; i < N_MDS; i++)
		OCSP_CERTID_free(x->id[i]);
}

/* RFC 6960 4.1.1: the SingleResponse whose CertID is the certificate's
 * (issuer name and key hashes and serial), in whatever hash the
 * responder used. */
static OCSP_SINGLERESP *find_single(OCSP_BASICRESP *bs, X509 *cert, X509 *root,
				    ids *mine)
{
	int n = OCSP_resp_count(bs);
	for (int i = 0; i < n; i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(s);
		ASN1_OBJECT *alg = NULL;
		int slot = 0;
		const EVP_MD *md;
		/* the getter takes a non-const pointer but only reads */
		if (cid == NULL ||
		    !OCSP_id_get0_info(NULL, &alg, NULL, NULL,
				       (OCSP_CERTID *)cid) ||
		    (md = md_of(alg, &slot)) == NULL)
			continue;
		if (mine->id[slot] == NULL &&
		    (mine->id[slot] = OCSP_cert_to_id(md, cert, root)) == NULL)
			continue;
		if (OCSP_id_cmp(mine->id[slot], cid) == 0)
			return s;
	}
	ERR_clear_error();
	return NULL;
}

/* Judge one SingleResponse of bs: 0 with *a filled in, -1 with why. */
static int judge(jpki_validator *v, OCSP_BASICRESP *bs, OCSP_SINGLERESP *s,
		 size_t root, const val_opts *o, const char *label, vali_rev *a,
		 char *why, size_t cap)
{
	STACK_OF(X509) *signer = sk_X509_new_null();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	time_t produced = 0, t_this = 0, t_next = 0;
	int reason = OCSP_REVOKED_STATUS_NOSTATUS;
	char t1[21];
	int rc = -1;
	if (signer == NULL || !sk_X509_push(signer, v->roots[root].cert)) {
		vali_why(why, cap, "%s: out of memory", label);
		goto out;
	}
	/* RFC 6960 4.2.2.2: signed by the CA that issued the certificate;
	 * OCSP_NOINTERN: only the root given here may be the signer */
	if (OCSP_basic_verify(bs, signer, NULL,
			      OCSP_NOINTERN | OCSP_NOVERIFY) != 1) {
		vali_why(why, cap,
			 "%s: not signed by the certificate's root "
			 "(delegated responders are not accepted)",
			 label);
		goto out;
	}
	int status =
	    OCSP_single_get0_status(s, &reason, &rev, &thisupd, &nextupd);
	if (vali_time(OCSP_resp_get0_produced_at(bs), &produced) != 0 ||
	    vali_time(thisupd, &t_this) != 0 ||
	    (nextupd != NULL && vali_time(nextupd, &t_next) != 0)) {
		vali_why(why, cap, "%s: unreadable times", label);
		goto out;
	}
	if (t_this > o->now + v->skew || produced > o->now + v->skew) {
		vali_time_str(t_this > produced ? t_this : produced, t1);
		vali_why(why, cap,
			 "%s: thisUpdate/producedAt %s is in the future", label,
			 t1);
		goto out;
	}
	if (nextupd == NULL) {
		/* RFC 6960 4.2.2.1: newer information is always available;
		 * trust it for the cache age only */
		t_next = t_this + v->cache_age;
	} else if (t_next < t_this) {
		vali_why(why, cap, "%s: nextUpdate before thisUpdate", label);
		goto out;
	}
	if (o->now > t_next) {
		vali_time_str(t_next, t1);
		vali_why(why, cap, "%s is stale: %s %s passed", label,
			 nextupd ? "nextUpdate" : "thisUpdate + cache age", t1);
		goto out;
	}
	memset(a, 0, sizeof(*a));
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD: a->status = VAL_REV_GOOD; break;
	case V_OCSP_CERTSTATUS_REVOKED:
		a->status = VAL_REV_REVOKED;
		if (vali_time(rev, &a->revoked_at) != 0) {
			vali_why(why, cap, "%s: unreadable revocationTime",
				 label);
			goto out;
		}
		a->reason =
		    reason >= 0 && jpki_reason_name((jpki_reason)reason) != NULL
			? (jpki_reason)reason
			: JPKI_REASON_UNSPECIFIED;
		break;
	default:
		vali_why(why, cap,
			 "%s: the responder does not know the "
			 "certificate (unknown)",
			 label);
		goto out;
	}
	a->this_upd = t_this;
	a->next_upd = t_next;
	a->checked = o->now;
	a->until = t_next + 1;
	if (o->now + v->cache_age < a->until)
		a->until = o->now + v->cache_age;
	rc = 0;
out:
	ERR_clear_error();
	sk_X509_free(signer);
	return rc;
}

/* Ask the responder; 0 with *a, -1 with why, or a negative jpki_rc
 * for an internal failure. */
static int query(jpki_validator *v, X509 *cert, size_t root, const val_opts *o,
		 vali_rev *a, char *why, size_t cap, jpki_err *err)
{
	X509 *r = v->roots[root].cert;
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	unsigned char *der = NULL;
	uint8_t *body = NULL;
	size_t body_len = 0;
	ids mine = {{NULL}};
	jpki_err e = {0};
	int len, rc;
	/* CertID with SHA-1, as RFC 5019 responders must accept: it only
	 * names the certificate, the answer's signature is what counts */
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), cert, r)) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "building an OCSP request");
		goto out;
	}
	id = NULL; /* transferred */
	if (!OCSP_request_add1_nonce(req, NULL, NONCE_LEN) ||
	    (len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "encoding an OCSP request");
		goto out;
	}
	v->stats.ocsp_queries++;
	if (vali_http_post(v->ocsp_url, "application/ocsp-request", der,
			   (size_t)len, "application/ocsp-response",
			   VAL_OCSP_RESP_MAX, v->http_timeout, &body, &body_len,
			   &e) != 0) {
		vali_why(why, cap, "OCSP %s: %s", v->ocsp_url, e.msg);
		rc = -1;
		goto out;
	}
	const unsigned char *p = body;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)body_len);
	rc = -1;
	if (resp == NULL || p != body + body_len) {
		vali_why(why, cap, "OCSP %s: malformed response", v->ocsp_url);
		goto out;
	}
	int st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL) {
		vali_why(why, cap, "OCSP %s: responder answered %s",
			 v->ocsp_url, OCSP_response_status_str(st));
		goto out;
	}
	/* RFC 8954 / RFC 6960 4.4.1: the nonce binds the answer to this
	 * request (no replay of an older "good") */
	if (OCSP_check_nonce(req, bs) != 1) {
		vali_why(why, cap,
			 "OCSP %s: the response does not echo our "
			 "nonce",
			 v->ocsp_url);
		goto out;
	}
	OCSP_SINGLERESP *s = find_single(bs, cert, r, &mine);
	if (s == NULL) {
		vali_why(why, cap,
			 "OCSP %s: no answer for the certificate's "
			 "CertID",
			 v->ocsp_url);
		goto out;
	}
	if (judge(v, bs, s, root, o, v->ocsp_url, a, why, cap) != 0)
		goto out;
	a->where = VALI_WHERE_OCSP_URL;
	rc = 0;
out:
	ERR_clear_error();
	ids_free(&mine);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(body);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	return rc;
}

int vali_ocsp_status(jpki_validator *v, X509 *cert, size_t root,
		     const val_opts *o, vali_rev *a, char *why, size_t cap,
		     jpki_err *err)
{
	X509 *r = v->roots[root].cert;
	ids mine = {{NULL}};
	bool matched = false;
	int rc = JPKI_ERR_NOT_FOUND;
	char label[48];
	for (size_t i = 0; i < v->n_ocsp && rc != 0; i++) {
		OCSP_SINGLERESP *s = find_single(v->ocsp[i], cert, r, &mine);
		if (s == NULL)
			continue;
		matched = true;
		snprintf(label, sizeof(label), "given OCSP response #%zu",
			 i + 1);
		if (judge(v, v->ocsp[i], s, root, o, label, a, why, cap) == 0) {
			a->where = VALI_WHERE_OCSP_GIVEN;
			a->where_idx = i;
			rc = 0;
		}
	}
	ids_free(&mine);
	if (rc == 0)
		return 0;
	if (v->n_ocsp > 0 && !matched)
		vali_why(why, cap,
			 "no given OCSP response is about the "
			 "certificate");
	if (v->ocsp_url != NULL) {
		int q = query(v, cert, root, o, a, why, cap, err);
		if (q == 0)
			return 0;
		if (q != -1)
			return q;
	}
	if (v->n_ocsp == 0 && v->ocsp_url == NULL)
		vali_why(why, cap, "no OCSP responder or response given");
	return JPKI_ERR_NOT_FOUND;
}
