/* OCSP (RFC 6960): the root of each hierarchy answers for its leaves, each
 * root generation for the leaves it issued, with its own key. */
#include <openssl/ocsp.h>
#include <string.h>

#include "ca_internal.h"
#include "openjpki/util.h"

typedef struct lookup_ctx {
	jpki_ca *ca;
	jpki_cert_kind kind;
	int gen;
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
	/* another generation's certificate is not this key's to answer:
	 * "unknown", as for a CertID of another issuer */
	if (c.kind == (int)ctx->kind &&
	    ca_row_gen(ctx->ca, ctx->kind, c.gen) == ctx->gen) {
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

/* The hierarchy and root generation a request is about: the root whose
 * name and key match the first CertID's issuer hashes (SHA-1 or SHA-256,
 * the only ones answered); of `kind` only when kind != 0.  The newest
 * generation (of sign when kind is 0) when nothing matches: the answer is
 * then "unknown" for every CertID, as RFC 6960 2.2 allows. */
static void pick(jpki_ca *ca, int kind, const jpki_ocsp_req *rq,
		 lookup_ctx *ctx)
{
	ctx->kind = kind == 0 ? JPKI_CERT_SIGN : (jpki_cert_kind)kind;
	ctx->gen = ctx->kind == JPKI_CERT_SIGN || ctx->kind == JPKI_CERT_AUTH
		       ? ca->ngen[ctx->kind]
		       : 0;
	if (rq == NULL || rq->n_ids < 1)
		return;
	const jpki_ocsp_certid *id = &rq->id[0];
	const EVP_MD *md = id->hash == 1     ? EVP_sha1()
			   : id->hash == 256 ? EVP_sha256()
					     : NULL;
	if (md == NULL)
		return;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if (kind != 0 && k != kind)
			continue;
		for (int g = 1; g <= ca->ngen[k]; g++) {
			unsigned char name[EVP_MAX_MD_SIZE],
			    key[EVP_MAX_MD_SIZE];
			unsigned int nl = 0, kl = 0;
			X509 *r = ca->groot[k][g - 1];
			if (r == NULL ||
			    !X509_NAME_digest(X509_get_subject_name(r), md,
					      name, &nl) ||
			    !X509_pubkey_digest(r, md, key, &kl))
				continue;
			if (id->name_hash_len == nl && id->key_hash_len == kl &&
			    memcmp(id->name_hash, name, nl) == 0 &&
			    memcmp(id->key_hash, key, kl) == 0) {
				ctx->kind = (jpki_cert_kind)k;
				ctx->gen = g;
				return;
			}
		}
	}
}

int ca_ocsp_req(jpki_ca *ca, int kind, const jpki_ocsp_req *rq, time_t now,
		uint8_t **resp, size_t *resp_len, jpki_err *err)
{
	lookup_ctx ctx = {.ca = ca};
	pick(ca, kind, rq, &ctx);
	if (ctx.gen < 1)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown hierarchy %d",
				 kind);
	return x509_ocsp_respond_req(rq, ca->groot[ctx.kind][ctx.gen - 1],
				     ca->gkey[ctx.kind][ctx.gen - 1], lookup,
				     &ctx, now, now + CA_OCSP_VALIDITY, resp,
				     resp_len, err);
}

int ca_ocsp(jpki_ca *ca, int kind, const uint8_t *req, size_t req_len,
	    time_t now, uint8_t **resp, size_t *resp_len, jpki_err *err)
{
	jpki_ocsp_req rq;
	bool ok = x509_ocsp_req_parse(req, req_len, &rq) == 0;
	return ca_ocsp_req(ca, kind, ok ? &rq : NULL, now, resp, resp_len, err);
}
