/* OCSP requests the cache cannot answer: a nonce (RFC 8954) makes the
 * response unique to its request, several CertIDs or other extensions
 * leave the RFC 5019 profile, and a miss means no response was pre-signed
 * yet.  These are signed here, on a worker with its own CA handle; a miss
 * that turns out good or revoked is installed for the next client. */
#include <openssl/ocsp.h>
#include <stdlib.h>

#include "server_int.h"

static int answer_error(srv_req *r, int ocsp_status)
{
	uint8_t *der = NULL;
	size_t len = 0;
	jpki_err err = {0};
	int rc = x509_ocsp_error(ocsp_status, &der, &len, &err);
	if (rc != 0)
		return rc;
	r->resp = srv_ocsp_response(der, len, NULL, true, 0, 0, NULL, 0);
	free(der);
	if (r->resp == NULL)
		return JPKI_ERR_NOMEM;
	r->status = MHD_HTTP_OK; /* OCSP errors travel in the body */
	return 0;
}

void srv_ocsp_live(srv_worker *w, srv_req *r)
{
	server *s = w->s;
	time_t now = srv_time(s);
	uint8_t *der = NULL;
	size_t len = 0;
	jpki_err err = {0};
	srv_ocsp_info info;
	const srv_ocsp_parsed *p = &r->ocsp;
	bool cacheable = p->ok && p->simple && p->kind != 0;
	uint64_t gen = cacheable ? srv_ocsp_cache_capture(s->ocsp, p->serial,
							  p->serial_len)
				 : 0;
	/* the request as read on the HTTP thread, not read again; a
	 * malformed one is answered malformedRequest by the signer */
	int rc = ca_ocsp_req(w->ca, p->kind, p->ok ? &p->req : NULL, now, &der,
			     &len, &err);
	if (rc != 0) {
		/* a busy store is worth another try; anything else is ours */
		if (answer_error(
			r, rc == JPKI_ERR_STORE || rc == JPKI_ERR_UNAVAILABLE ||
				   rc == JPKI_ERR_BUSY
			       ? OCSP_RESPONSE_STATUS_TRYLATER
			       : OCSP_RESPONSE_STATUS_INTERNALERROR) != 0)
			srv_reply_rc(r, rc, &err);
		return;
	}
	atomic_fetch_add_explicit(&s->m.ocsp_live, 1, memory_order_relaxed);
	bool have_info = srv_ocsp_info_of(der, len, &info) == 0;
	if (cacheable && have_info) {
		/* a cache that refuses it only costs the next request a live
		 * signature; this one is answered either way */
		jpki_ignore(srv_ocsp_cache_install(
		    s->ocsp, p->kind, r->body.p + p->key_off, p->key_len,
		    p->serial, p->serial_len, der, len, gen, now));
	}
	r->resp = srv_ocsp_response(der, len, have_info ? &info : NULL,
				    !p->simple, s->ocsp_max_age, now, NULL, 0);
	free(der);
	if (r->resp == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		return;
	}
	r->status = MHD_HTTP_OK;
}
