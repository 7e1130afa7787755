/* /tsa: the RFC 3161 time-stamp authority over HTTP (RFC 3161 3.4).  The
 * body was read under the route's cap (JPKI_TSA_REQ_MAX) and media type;
 * the answer is always a TimeStampResp, a rejection included (a malformed
 * request gets PKIStatus rejection with badDataFormat), made on a worker
 * of the live-signing class at jpkid's clock. */
#include <stdlib.h>

#include "openjpki/tsa.h"
#include "server_int.h"

void srv_tsa(srv_worker *w, srv_req *r)
{
	server *s = w->s;
	uint8_t *der = NULL;
	size_t len = 0;
	jpki_err err = {0};
	if (s->tsa == NULL) {
		srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				"this CA has no time-stamp authority (create "
				"one with `jpki ca tsa-init`)");
		return;
	}
	int rc = ca_tsa_respond(s->tsa, r->body.p, r->body.len, srv_time(s),
				&der, &len, NULL, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	r->resp =
	    MHD_create_response_from_buffer(len, der, MHD_RESPMEM_MUST_FREE);
	if (r->resp == NULL) {
		free(der);
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		return;
	}
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/timestamp-reply");
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	r->status = MHD_HTTP_OK;
}
