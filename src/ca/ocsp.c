/* OCSP (RFC 6960): the root of each hierarchy answers for its leaves. */
#include <openssl/ocsp.h>
#include <string.h>

#include "ca_internal.h"
#include "openjpki/util.h"

typedef struct lookup_ctx {
	jpki_ca *ca;
	jpki_cert_kind kind;
} lookup_ctx;

static int lookup(void *vctx, const uint8_t *serial, size_t serial_len,
		  jpki_ocsp_status *st, jpki_err *err)
{
	lookup_ctx *ctx = vctx;
	char hex[STORE_SERIAL_HEX_MAX];
	store_cert c;
	memset(&c, 0, sizeof(c));
	memset(st, 0, sizeof(*st));
	st->status = V_OCSP_CERTSTATUS_UNKNOWN;
	/* strip leading zero octets: the store keys serials without them */
	while (serial_len > 1 && serial[0] == 0) {
		serial++;
		serial_len--;
	}
	if (serial_len == 0 || serial_len > 20)
		return 0;
	jpki_hex(serial, serial_len, hex);
	int rc = store_cert_get(ctx->ca->st, hex, &c, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (c.kind == (int)ctx->kind) {
		if (c.status == STORE_CERT_REVOKED) {
			st->status = V_OCSP_CERTSTATUS_REVOKED;
			st->revoked_at = c.revoked_at;
			st->reason = (jpki_reason)c.reason;
		} else {
			st->status = V_OCSP_CERTSTATUS_GOOD;
		}
	}
	store_cert_clear(&c);
	return 0;
}

/* The hierarchy a request is about: the one whose root matches the first
 * CertID's issuer hashes.  Sign when nothing matches (the answer is then
 * "unknown" for every CertID, as RFC 6960 §2.2 allows). */
static jpki_cert_kind pick_kind(jpki_ca *ca, const uint8_t *req, size_t len)
{
	const unsigned char *p = req;
	jpki_cert_kind kind = JPKI_CERT_SIGN;
	if (len > JPKI_OCSP_MAX_REQ)
		return kind;
	OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	if (r == NULL || OCSP_request_onereq_count(r) < 1)
		goto out;
	OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0));
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		OCSP_CERTID *mine = OCSP_cert_to_id(NULL, NULL, ca->root[k]);
		ASN1_OBJECT *alg = NULL;
		OCSP_id_get0_info(NULL, &alg, NULL, NULL, id);
		const EVP_MD *md = alg ? EVP_get_digestbyobj(alg) : NULL;
		if (mine != NULL && md != NULL && md != EVP_sha1()) {
			OCSP_CERTID_free(mine);
			mine = OCSP_cert_id_new(
			    md, X509_get_subject_name(ca->root[k]),
			    X509_get0_pubkey_bitstr(ca->root[k]),
			    X509_get0_serialNumber(ca->root[k]));
		}
		int same = mine != NULL && OCSP_id_issuer_cmp(mine, id) == 0;
		OCSP_CERTID_free(mine);
		if (same) {
			kind = (jpki_cert_kind)k;
			break;
		}
	}
out:
	OCSP_REQUEST_free(r);
	return kind;
}

int ca_ocsp(jpki_ca *ca, int kind, const uint8_t *req, size_t req_len,
	    time_t now, uint8_t **resp, size_t *resp_len, jpki_err *err)
{
	lookup_ctx ctx = {ca, kind == 0 ? pick_kind(ca, req, req_len)
					: (jpki_cert_kind)kind};
	if (ctx.kind != JPKI_CERT_SIGN && ctx.kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown hierarchy %d",
				 kind);
	return x509_ocsp_respond(req, req_len, ca->root[ctx.kind],
				 ca->key[ctx.kind], lookup, &ctx, now,
				 now + CA_OCSP_VALIDITY, resp, resp_len, err);
}
