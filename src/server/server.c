/* jpkid: the HTTP daemon, its routes, and start/stop.
 *
 * libmicrohttpd runs a pool of threads, each with its own epoll loop.
 * What memory can answer (cached OCSP responses and CRLs, /healthz,
 * /metrics, refusals) is answered on those threads at once.  Everything
 * else is handed to an admission class (admission.c): the connection is
 * suspended while a worker runs the request, and resumed with its answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ocsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/validation.h"
#include "server_int.h"

#define COOKIE_NAME "jpkid_session"

/* con_cls of a GET answered from memory between its two calls */
static char fast_marker;

time_t srv_time(const server *s)
{
	return time(NULL) + (time_t)s->clock_offset;
}

int srv_open_ca(server *s, jpki_ca **out, jpki_err *err)
{
	return ca_open_ks(s->dir, s->has_store ? s->store_loc : NULL,
			  s->has_ks ? s->ks_loc : NULL, out, err);
}

void srv_storage_fault(server *s, int rc, const char *msg)
{
	atomic_fetch_add_explicit(&s->m.storage_faults, 1,
				  memory_order_relaxed);
	if (rc == JPKI_ERR_INTEGRITY)
		atomic_store(&s->m.damaged, true);
	long long now = (long long)srv_now_mono();
	long long last = atomic_load(&s->m.fault_logged);
	if ((last == 0 || now - last >= 60) &&
	    atomic_compare_exchange_strong(&s->m.fault_logged, &last,
					   now > 0 ? now : 1))
		fprintf(stderr, "jpkid: storage fault (%s): %s\n",
			rc == JPKI_ERR_INTEGRITY ? "damaged" : "failing", msg);
}

static int method_of(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "PATCH") == 0)
		return M_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	if (strcmp(m, "HEAD") == 0)
		return M_HEAD;
	return M_OTHER;
}

/* Queue r->resp (or a 500 when building it failed) and count it. */
static enum MHD_Result send_req(server *s, srv_req *r, bool refused)
{
	if (r->resp == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		if (r->resp == NULL)
			return MHD_NO;
	}
	enum MHD_Result ret =
	    MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	if (!r->counted) {
		r->counted = true;
		srv_metrics_done(
		    s, r->route, r->cls, r->status, srv_now_mono() - r->t0,
		    refused || r->status == MHD_HTTP_SERVICE_UNAVAILABLE);
	}
	return ret;
}

static enum MHD_Result refuse_busy(server *s, srv_req *r)
{
	srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
			"the %s queue is full; try again shortly",
			srv_class_name(r->cls));
	return send_req(s, r, true);
}

static enum MHD_Result fixed(server *s, struct MHD_Connection *conn, int route,
			     double t0, int status, struct MHD_Response *resp)
{
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
	srv_metrics_done(s, route, CLS_INLINE, status, srv_now_mono() - t0,
			 false);
	return ret;
}

static enum MHD_Result text(server *s, struct MHD_Connection *conn, int route,
			    double t0, int status, const char *msg)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	enum MHD_Result ret = fixed(s, conn, route, t0, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- OCSP ---- */

static srv_req *req_new(server *s, struct MHD_Connection *conn, double t0,
			int method)
{
	srv_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->s = s;
	r->conn = conn;
	r->t0 = t0;
	r->method = method;
	r->cls = CLS_INLINE;
	r->client = srv_client_of(s->clients, conn);
	return r;
}

/* Answer a complete OCSP request held in r->body: from the cache, with a
 * fixed error, or through the live class. */
static enum MHD_Result ocsp_dispatch(server *s, srv_req *r)
{
	srv_ocsp_parsed p;
	int status = 0;
	r->route = R_OCSP;
	if (r->body.len == 0) {
		r->counted = true;
		return fixed(s, r->conn, R_OCSP, r->t0, MHD_HTTP_OK,
			     s->r_malformed);
	}
	int prc = srv_ocsp_parse(r->body.p, r->body.len, s->roots, &p);
	/* a certificate of an older root generation (ca rollover) */
	for (size_t i = 0; prc == 0 && p.kind == 0 && i < s->n_old_roots; i++)
		if (srv_ocsp_names_issuer(&p, &s->old_hashes[i]))
			p.kind = s->old_kind[i];
	if (prc == 0 && p.simple) {
		if (p.kind == 0) {
			/* RFC 5019 §2.2.3: not a certificate of ours */
			r->counted = true;
			return fixed(s, r->conn, R_OCSP, r->t0, MHD_HTTP_OK,
				     s->r_unauthorized);
		}
		const char *inm = MHD_lookup_connection_value(
		    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
		int ret = srv_ocsp_cache_serve(
		    s->ocsp, p.serial, p.serial_len, r->body.p + p.key_off,
		    p.key_len, r->conn, inm, srv_time(s), &status);
		if (ret >= 0) {
			atomic_fetch_add_explicit(&s->m.ocsp_hits, 1,
						  memory_order_relaxed);
			r->counted = true;
			srv_metrics_done(s, R_OCSP, CLS_INLINE, status,
					 srv_now_mono() - r->t0, false);
			return (enum MHD_Result)ret;
		}
		atomic_fetch_add_explicit(&s->m.ocsp_misses, 1,
					  memory_order_relaxed);
	}
	r->ocsp = p; /* read once: the signer takes it from here */
	r->cls = CLS_OCSP;
	r->fn = srv_ocsp_live;
	if (!srv_admit(s, r))
		return refuse_busy(s, r);
	return MHD_YES;
}

/* GET /ocsp/{base64 DER}, RFC 6960 A.1 (URL-decoded by MHD already;
 * %XX left in by a client that encoded twice is decoded here). */
enum MHD_Result srv_serve_ocsp_get(server *s, struct MHD_Connection *conn,
				   const char *url, double t0, void **con_cls)
{
	const char *arg = url + strlen("/ocsp/");
	char buf[2 * JPKI_OCSP_MAX_REQ];
	uint8_t der[JPKI_OCSP_MAX_REQ];
	size_t n = 0, len = 0;
	for (const char *p = arg; *p != '\0'; p++) {
		if (n + 1 >= sizeof(buf))
			return fixed(s, conn, R_OCSP, t0, MHD_HTTP_OK,
				     s->r_malformed);
		char c = *p;
		if (c == '%' && p[1] != '\0' && p[2] != '\0') {
			char hx[3] = {p[1], p[2], 0};
			uint8_t v;
			size_t vl;
			if (jpki_unhex(hx, &v, 1, &vl, NULL) != 0)
				return fixed(s, conn, R_OCSP, t0, MHD_HTTP_OK,
					     s->r_malformed);
			c = (char)v;
			p += 2;
		}
		if (c == '\r' || c == '\n' || c == ' ')
			continue;
		buf[n++] = c;
	}
	if (srv_b64_decode(buf, n, der, sizeof(der), &len) != 0)
		return fixed(s, conn, R_OCSP, t0, MHD_HTTP_OK, s->r_malformed);
	srv_req *r = req_new(s, conn, t0, M_GET);
	if (r == NULL)
		return MHD_NO;
	*con_cls = r;
	jpki_wbuf_init(&r->body, JPKI_OCSP_MAX_REQ);
	if (jpki_wbuf_put(&r->body, der, len) != 0)
		return MHD_NO;
	return ocsp_dispatch(s, r);
}

/* ---- CRL ---- */

enum MHD_Result srv_serve_crl(server *s, struct MHD_Connection *conn,
			      const char *url, double t0, void **con_cls)
{
	char key[48];
	size_t n = strlen(url);
	int status = 0;
	(void)con_cls;
	/* "/crl/sign/132217.crl" -> "crl/sign/132217" (an older root
	 * generation's: "/crl/sign/132217-g1.crl") */
	if (n < 6 || n - 5 >= sizeof(key) || strcmp(url + n - 4, ".crl") != 0)
		return text(s, conn, R_CRL, t0, MHD_HTTP_NOT_FOUND,
			    "no such CRL\n");
	memcpy(key, url + 1, n - 5);
	key[n - 5] = '\0';
	for (char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '/' || *p == '-'))
			return text(s, conn, R_CRL, t0, MHD_HTTP_NOT_FOUND,
				    "no such CRL\n");
	const char *inm = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	int ret = srv_crl_cache_serve(s->crl, key, conn, inm, &status);
	if (ret < 0)
		return text(s, conn, R_CRL, t0, MHD_HTTP_NOT_FOUND,
			    "no such CRL\n");
	srv_metrics_done(s, R_CRL, CLS_INLINE, status, srv_now_mono() - t0,
			 false);
	return (enum MHD_Result)ret;
}

/* ---- health, metrics, the UI ---- */

enum MHD_Result srv_serve_healthz(server *s, struct MHD_Connection *conn,
				  const char *url, double t0, void **con_cls)
{
	(void)url;
	(void)con_cls;
	return atomic_load(&s->m.damaged)
		   ? text(s, conn, R_HEALTHZ, t0,
			  MHD_HTTP_INTERNAL_SERVER_ERROR,
			  "unhealthy: the store is damaged (see jpkid's log; "
			  "restore it from a backup)\n")
		   : text(s, conn, R_HEALTHZ, t0, MHD_HTTP_OK, "ok\n");
}

enum MHD_Result srv_serve_metrics(server *s, struct MHD_Connection *conn,
				  const char *url, double t0, void **con_cls)
{
	char *txt = NULL;
	size_t len = 0;
	(void)url;
	(void)con_cls;
	if (srv_metrics_render(s, &txt, &len) != 0)
		return MHD_NO;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(txt);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4");
	enum MHD_Result ret = fixed(s, conn, R_METRICS, t0, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result srv_serve_ui(server *s, struct MHD_Connection *conn,
			     const char *url, double t0, void **con_cls)
{
	(void)con_cls;
	return srv_ui_serve(s, conn, url, t0);
}

/* ---- the API's entry checks ---- */

/* The body is of the route's media type: application/json everywhere but
 * the residents import (text/csv). */
static bool is_body_type(struct MHD_Connection *conn, const char *type)
{
	const char *ct = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct == NULL || type == NULL)
		return false;
	size_t n = strlen(type);
	return strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* A body is coming: a length above zero, or chunks. */
static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

static enum MHD_Result send_req(server *s, srv_req *r, bool refused);

/* 503 at once for a body past the byte budget; the connection closes and
 * the rest of the body is never read. */
static enum MHD_Result body_refuse(server *s, srv_req *r)
{
	atomic_fetch_add_explicit(&s->m.body_refused, 1, memory_order_relaxed);
	r->over_budget = true;
	jpki_wbuf_free(&r->body);
	srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
			"too many request bodies in flight; try again");
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	return send_req(s, r, false);
}

static bool body_too_big(struct MHD_Connection *conn, size_t max)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return false;
	char *end = NULL;
	unsigned long long v = strtoull(cl, &end, 10);
	return end == cl || *end != '\0' || v > max;
}

/* Reserve body bytes for r up to `upto` in all (srv_clients_body_take):
 * at the headers for a declared Content-Length, then as a chunked body
 * grows.  False: past the client's or the global budget. */
static bool body_reserve(server *s, srv_req *r, size_t upto)
{
	if (upto <= r->body_held)
		return true;
	if (!srv_clients_body_take(s->clients, r->client, upto - r->body_held))
		return false;
	r->body_held = upto;
	return true;
}

/* Before any body byte is read: its declared length (bounded by the
 * route's cap) is reserved, or the request is refused with 503 at once. */
static enum MHD_Result body_begin(server *s, srv_req *r)
{
	const char *cl = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long v = cl != NULL ? strtoull(cl, NULL, 10) : 0;
	size_t want = v < r->body_max ? (size_t)v : r->body_max;
	if (!body_reserve(s, r, want))
		return body_refuse(s, r);
	jpki_wbuf_init(&r->body, r->body_max);
	return MHD_YES;
}

/* A request on its route: the session, role and CSRF token it needs, its
 * media type, its body limit and budget, room in its class. */
static enum MHD_Result route_begin(server *s, srv_req *r,
				   const srv_route_def *d, const char *arg)
{
	bool csrf = false;
	int min = srv_route_apply(r, d, arg, &csrf);
	if (min > ROLE_NONE) {
		const char *sid = MHD_lookup_connection_value(
		    r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
		const char *tok = MHD_lookup_connection_value(
		    r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
		int rc = srv_session_get(s->sess, sid, csrf, tok, srv_time(s),
					 r, NULL, NULL);
		if (rc == JPKI_ERR_AUTH) {
			srv_reply_error(r, MHD_HTTP_UNAUTHORIZED,
					"unauthenticated",
					"log in first (POST /api/v1/session)");
			return send_req(s, r, false);
		}
		if (rc == JPKI_ERR_IO) {
			srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
					"sessions cannot be read from the "
					"store now; try again");
			return send_req(s, r, false);
		}
		if (rc != 0) {
			srv_reply_error(r, MHD_HTTP_FORBIDDEN, "csrf",
					"X-CSRF-Token missing or wrong");
			return send_req(s, r, false);
		}
		if (r->role < min) {
			srv_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
					"this needs the %s role (you are %s)",
					srv_role_name(min),
					srv_role_name(r->role));
			return send_req(s, r, false);
		}
	}
	if ((r->method == M_POST || r->method == M_PATCH) &&
	    r->body_type != NULL) {
		if (has_body(r->conn) && !is_body_type(r->conn, r->body_type)) {
			srv_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
					"unsupported_media_type",
					"the body must be %s", r->body_type);
			return send_req(s, r, false);
		}
	}
	if (body_too_big(r->conn, r->body_max)) {
		srv_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				"the body is limited to %zu bytes",
				r->body_max);
		return send_req(s, r, false);
	}
	/* OCSP may be answered from the cache: its class is asked later */
	if (r->cls < CLS_N && r->route != R_OCSP &&
	    !srv_class_has_room(s, r->cls)) {
		atomic_fetch_add_explicit(&s->m.rejected[r->cls], 1,
					  memory_order_relaxed);
		return refuse_busy(s, r);
	}
	return body_begin(s, r);
}

/* ---- strict framing, in front of every route ----
 * libmicrohttpd 0.9.75 frames a request by its first Content-Length and
 * lets an unknown Transfer-Encoding wait for the timeout; a proxy in front
 * may frame it otherwise (request smuggling).  So a request whose framing
 * could be read two ways is refused with 400 and its connection closed:
 * more than one Content-Length, Content-Length with Transfer-Encoding, a
 * Transfer-Encoding other than chunked.  Headers over SRV_HEADERS_MAX
 * bytes get 431 and a URL over SRV_URL_MAX 414 (longer ones than
 * libmicrohttpd's buffer already get those from it). */
#define SRV_HEADERS_MAX (16 * 1024)
#define SRV_URL_MAX 4096

typedef struct framing {
	int n_cl, n_te;
	bool te_other;
	size_t header_bytes;
	size_t query_bytes; /* the URL's query, which MHD keeps apart */
} framing;

static enum MHD_Result framing_arg(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	framing *f = cls;
	(void)kind;
	f->query_bytes += strlen(key) + (value ? strlen(value) : 0) + 2;
	return MHD_YES;
}

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	framing *f = cls;
	(void)kind;
	f->header_bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->n_cl++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->n_te++;
		if (value == NULL || strcasecmp(value, "chunked") != 0)
			f->te_other = true;
	}
	return MHD_YES;
}

static enum MHD_Result framing_refuse(server *s, struct MHD_Connection *conn,
				      double t0, int status, const char *code,
				      const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof(body),
			 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
			 code, msg);
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    (size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = fixed(s, conn, R_OTHER, t0, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* true: refused and answered (*ret); false: the framing is sound. */
static bool framing_check(server *s, struct MHD_Connection *conn,
			  const char *url, enum MHD_Result *ret)
{
	framing f = {0};
	double t0 = srv_now_mono();
	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, framing_arg, &f);
	if (strlen(url) + f.query_bytes > SRV_URL_MAX)
		*ret = framing_refuse(s, conn, t0, MHD_HTTP_URI_TOO_LONG,
				      "uri_too_long",
				      "the URL is limited to 4096 bytes");
	else if (f.header_bytes > SRV_HEADERS_MAX)
		*ret = framing_refuse(
		    s, conn, t0, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
		    "headers_too_large",
		    "request headers are limited to 16384 bytes");
	else if (f.n_cl > 1)
		*ret = framing_refuse(s, conn, t0, MHD_HTTP_BAD_REQUEST,
				      "ambiguous_framing",
				      "more than one Content-Length");
	else if (f.n_te > 0 && f.n_cl > 0)
		*ret = framing_refuse(
		    s, conn, t0, MHD_HTTP_BAD_REQUEST, "ambiguous_framing",
		    "Content-Length together with Transfer-Encoding");
	else if (f.n_te > 1 || f.te_other)
		*ret = framing_refuse(s, conn, t0, MHD_HTTP_BAD_REQUEST,
				      "ambiguous_framing",
				      "Transfer-Encoding other than chunked");
	else
		return false;
	return true;
}

static enum MHD_Result api_dispatch(server *s, srv_req *r)
{
	if (r->def != NULL && r->def->run == SRV_RUN_INLINE) {
		r->def->h.run(r);
		return send_req(s, r, false);
	}
	if (!srv_admit(s, r))
		return refuse_busy(s, r);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	server *s = cls;
	srv_req *r = *con_cls;
	enum MHD_Result refused;
	(void)version;
	/* first call of a request: its headers are all there; strict
	 * framing, then the one route table (api.c) */
	if (r == NULL) {
		const srv_route_def *d = NULL;
		char arg[SRV_ARG_MAX], allow[64];
		if (framing_check(s, conn, url, &refused))
			return refused;
		int m = method_of(method);
		if (srv_tls_refused(conn)) {
			if ((r = req_new(s, conn, srv_now_mono(), m)) == NULL)
				return MHD_NO;
			*con_cls = r;
			srv_reply_error(r, MHD_HTTP_FORBIDDEN,
					"client_certificate",
					"this listener needs a client "
					"certificate under its client CA");
			return send_req(s, r, false);
		}
		int found = srv_route_find(m, url, &d, arg, sizeof(arg), allow,
					   sizeof(allow));
		if (found == 0 && d->run == SRV_RUN_MEMORY) {
			/* answered on the next call, when MHD has the whole
			 * request: an answer queued on the first call closes
			 * the connection */
			*con_cls = &fast_marker;
			return MHD_YES;
		}
		double t0 = srv_now_mono();
		if ((r = req_new(s, conn, t0, m)) == NULL)
			return MHD_NO;
		*con_cls = r;
		if (found == -1) {
			srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
					"no such resource");
			return send_req(s, r, false);
		}
		if (found == -2) {
			r->route = d->route;
			srv_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					"method_not_allowed",
					"%s is not allowed here (allowed: %s)",
					method, allow);
			if (r->resp != NULL)
				MHD_add_response_header(
				    r->resp, MHD_HTTP_HEADER_ALLOW, allow);
			return send_req(s, r, false);
		}
		return route_begin(s, r, d, arg);
	}
	if (r == (srv_req *)&fast_marker) {
		const srv_route_def *d = NULL;
		char arg[SRV_ARG_MAX];
		double t0 = srv_now_mono();
		*con_cls = NULL;
		if (*upload_size != 0) {
			*upload_size = 0; /* a GET body means nothing */
			*con_cls = &fast_marker;
			return MHD_YES;
		}
		/* memory answers: no allocation on these paths */
		if (srv_route_find(M_GET, url, &d, arg, sizeof(arg), NULL, 0) !=
			0 ||
		    d->run != SRV_RUN_MEMORY)
			return MHD_NO;
		return d->h.serve(s, conn, url, t0, con_cls);
	}
	if (r->done)
		return send_req(s, r, false);
	if (r->queued)
		return MHD_YES; /* resumed only when done */
	if (*upload_size != 0) {
		/* a body arrives within SRV_BODY_SECONDS or not at all: a
		 * trickling client cannot hold its buffer open */
		if (srv_now_mono() - r->t0 > s->body_seconds) {
			atomic_fetch_add_explicit(&s->m.body_timeouts, 1,
						  memory_order_relaxed);
			return MHD_NO;
		}
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_big || r->over_budget)
			return MHD_YES;
		if (r->body.len + n > r->body_max) {
			r->too_big = true;
			return MHD_YES;
		}
		/* a chunked body reserves as it grows */
		if (!body_reserve(s, r, r->body.len + n))
			return body_refuse(s, r);
		if (jpki_wbuf_put(&r->body, upload_data, n) != 0)
			r->too_big = true;
		return MHD_YES;
	}
	if (r->too_big) {
		srv_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				"the body is limited to %zu bytes",
				r->body_max);
		return send_req(s, r, false);
	}
	if (r->route == R_OCSP)
		return ocsp_dispatch(s, r);
	return api_dispatch(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	srv_req *r = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL || r == (srv_req *)&fast_marker)
		return;
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	jpki_wbuf_free(&r->body);
	srv_clients_body_give(r->s->clients, r->client, r->body_held);
	free(r);
	*con_cls = NULL;
}

/* ---- start and stop ---- */

static int parse_listen(const char *s, struct sockaddr_in *sa, jpki_err *err)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "--listen: ADDR:PORT (IPv4), not %s", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (*(colon + 1) == '\0' || *end != '\0' || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "--listen: ADDR:PORT (IPv4), not %s", s);
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static struct MHD_Response *ocsp_error_response(int status)
{
	uint8_t *der = NULL;
	size_t len = 0;
	if (x509_ocsp_error(status, &der, &len, NULL) != 0)
		return NULL;
	struct MHD_Response *r =
	    srv_ocsp_response(der, len, NULL, true, 0, 0, NULL, 0);
	free(der);
	return r;
}

/* The CA (created when absent), its roots, the first operator. */
static int prepare_ca(server *s, const server_config *cfg, char *created,
		      size_t cap, jpki_err *err)
{
	jpki_ca *ca = NULL;
	time_t now = srv_time(s);
	bool any = false;
	int rc = srv_open_ca(s, &ca, err);
	if (rc == JPKI_ERR_NOT_FOUND && s->has_ks)
		return jpki_wrap(err, rc,
				 "with a keystore of its own (--signer) "
				 "jpkid creates no CA: `jpki ca init` first");
	if (rc == JPKI_ERR_NOT_FOUND) {
		ca_init_opts o = {.profile = JPKI_PROFILE_TEST,
				  .now = now,
				  .now_fixed = s->clock_offset != 0,
				  .store = s->has_store ? s->store_loc : NULL};
		if ((rc = jpki_mkdirs(s->dir, 0700, err)) != 0 ||
		    (rc = ca_init(s->dir, &o, err)) != 0)
			return rc;
		rc = srv_open_ca(s, &ca, err);
	}
	/* a damaged store is refused before anything is served from it */
	if (rc == 0)
		rc = store_check(ca_store(ca), cfg->check_full, err);
	if (rc == JPKI_ERR_INTEGRITY) {
		char why[JPKI_ERR_MSG_MAX];
		jpki_strlcpy_cut(why, err->msg, sizeof(why));
		jpki_fail(err, rc,
			  "refusing to serve a damaged store; restore the "
			  "database from a backup (jpkid --check-full lists "
			  "every problem): %s",
			  why);
		goto out;
	}
	if (rc != 0)
		goto out;
	/* a shifted clock is for tests: a production CA refuses it */
	if ((rc = ca_check_clock(ca, s->clock_offset != 0, err)) != 0)
		goto out;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		s->root_cert[k] = X509_dup(ca_root(ca, (jpki_cert_kind)k));
		if (s->root_cert[k] == NULL) {
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = srv_issuer_hashes_of(s->root_cert[k], &s->roots[k],
					       err)) != 0)
			goto out;
		int ng = ca_root_gen(ca, (jpki_cert_kind)k, 0, NULL);
		for (int g = 1; g < ng && s->n_old_roots < 32; g++) {
			X509 *r = NULL;
			(void)ca_root_gen(ca, (jpki_cert_kind)k, g, &r);
			if (r == NULL || (rc = srv_issuer_hashes_of(
					      r, &s->old_hashes[s->n_old_roots],
					      err)) != 0) {
				if (rc == 0)
					rc = jpki_fail(err, JPKI_ERR_STATE,
						       "no root generation %d",
						       g);
				goto out;
			}
			s->old_kind[s->n_old_roots] = k;
			if ((s->old_roots[s->n_old_roots] = X509_dup(r)) ==
			    NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			s->n_old_roots++;
		}
	}
	srv_clients_cfg cc = {
	    .trust_proxy = cfg->trust_proxy,
	    .body_max_total =
		(size_t)(cfg->body_budget_mb > 0 ? cfg->body_budget_mb : 256)
		<< 20,
	    .body_max_client = (size_t)(cfg->client_body_budget_mb > 0
					    ? cfg->client_body_budget_mb
					    : 32)
			       << 20,
	    .challenge_rate = cfg->challenge_rate > 0 ? cfg->challenge_rate : 2,
	    .challenge_burst =
		cfg->challenge_burst > 0 ? cfg->challenge_burst : 64};
	if ((rc = srv_clients_new(&cc, &s->clients, err)) != 0)
		goto out;
	if (srv_throttle_new(&s->throttle) != 0) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->body_seconds =
	    cfg->body_seconds > 0 ? cfg->body_seconds : SRV_BODY_SECONDS;
	/* the real J-LIS roots, for /api/v1/verify and log-in: pinned,
	 * read once, only when asked */
	for (size_t i = 0; cfg->jlis_dir != NULL && i < VAL_JLIS_ROOTS; i++)
		if ((rc = val_jlis_root_read(cfg->jlis_dir, i, &s->jlis[i],
					     err)) != 0)
			goto out;
	/* the TSA, when the CA has one (jpki ca tsa-init) */
	rc = ca_tsa_open(ca, &s->tsa, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = 0;
	if (rc != 0)
		goto out;
	if ((rc = srv_operator_any(ca, &any, err)) != 0 || any)
		goto out;
	char pw[SERVER_PASSWORD_MAX + 1];
	if (cfg->admin_password != NULL) {
		if (jpki_strlcpy(pw, cfg->admin_password, sizeof(pw)) != 0) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "admin password too long");
			goto out;
		}
	} else {
		uint8_t rnd[18];
		if ((rc = jpki_random(rnd, sizeof(rnd), err)) != 0)
			goto out;
		if ((rc = srv_b64_encode(rnd, sizeof(rnd), pw, sizeof(pw))) !=
		    0) {
			rc = jpki_fail(err, rc, "encoding the admin password");
			goto out;
		}
		for (char *p = pw; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
		if (created == NULL || jpki_strlcpy(created, pw, cap) != 0) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "no room to hand the admin password "
				       "back");
			goto out;
		}
	}
	rc = srv_operator_create(ca, "admin", ROLE_CA_ADMIN, pw, "jpkid", now,
				 err);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc != 0)
		jpki_wrap(err, rc, "creating the first operator");
out:
	ca_close(ca);
	return rc;
}

static unsigned connection_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 512)
		return 256;
	rlim_t n = rl.rlim_cur - 256;
	return n > 16384 ? 16384 : (unsigned)n;
}

int server_start(const server_config *cfg, server **out, char *created_password,
		 size_t cap, jpki_err *err)
{
	struct sockaddr_in sa;
	server *s = NULL;
	int rc;
	if (created_password != NULL && cap > 0)
		created_password[0] = '\0';
	if (cfg->dir == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no CA directory");
	if ((rc = parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080",
			       &sa, err)) != 0)
		return rc;
	if ((rc = x509_init(err)) != 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	s->clock_offset = cfg->clock_offset;
	s->started = srv_time(s);
	pthread_mutex_init(&s->cp_mu, NULL);
	s->audit_syslog = cfg->audit_syslog;
	pthread_mutex_init(&s->cnt_mu, NULL);
	if (jpki_strlcpy(s->dir, cfg->dir, sizeof(s->dir)) != 0 ||
	    (cfg->store != NULL && jpki_strlcpy(s->store_loc, cfg->store,
						sizeof(s->store_loc)) != 0)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "path too long");
		goto out;
	}
	s->has_store = cfg->store != NULL;
	if (cfg->keystore != NULL &&
	    jpki_strlcpy(s->ks_loc, cfg->keystore, sizeof(s->ks_loc)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "keystore location too long");
	s->has_ks = cfg->keystore != NULL;
	s->ocsp_max_age = cfg->ocsp_max_age > 0 ? cfg->ocsp_max_age : 3600;
	s->ocsp_hot =
	    cfg->ocsp_cache_max > 0 ? (size_t)cfg->ocsp_cache_max : 200000;
	s->ocsp_max = cfg->ocsp_presigned_max > 0 &&
			      (size_t)cfg->ocsp_presigned_max > s->ocsp_hot
			  ? (size_t)cfg->ocsp_presigned_max
			  : s->ocsp_hot;
	s->threads = cfg->threads > 0 ? cfg->threads
				      : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s->threads < 1 || s->threads > 256)
		s->threads = s->threads < 1 ? 1 : 256;
	bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
	s->secure_cookies = !loopback && !cfg->insecure_cookies;
	if ((rc = prepare_ca(s, cfg, created_password, cap, err)) != 0)
		goto out;
	/* sessions and the like: in the store, through a handle of their own */
	if ((rc = srv_open_ca(s, &s->sess_ca, err)) != 0)
		goto out;
	if ((rc = srv_ocsp_cache_new(s->ocsp_max, s->ocsp_hot,
				     s->ocsp_max > s->ocsp_hot ? s->dir : NULL,
				     s->ocsp_max_age, &s->ocsp)) != 0) {
		rc = jpki_fail(err, rc,
			       rc == JPKI_ERR_IO
				   ? "OCSP spill file not created in %s"
				   : "OCSP cache not created",
			       s->dir);
		goto out;
	}
	if (srv_crl_cache_new(s->ocsp_max_age, &s->crl) != 0 ||
	    srv_sessions_new(ca_store(s->sess_ca), &s->sess) != 0 ||
	    srv_rp_nonces_new(cfg->login_nonce_ttl, s->sess, &s->rp_nonces) !=
		0 ||
	    (s->preview_key = EVP_RSA_gen(2048)) == NULL ||
	    (s->r_malformed = ocsp_error_response(
		 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST)) == NULL ||
	    (s->r_unauthorized = ocsp_error_response(
		 OCSP_RESPONSE_STATUS_UNAUTHORIZED)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = srv_classes_start(s, cfg, err)) != 0 ||
	    (rc = srv_publish_start(s, err)) != 0)
		goto out;
	s->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO,
	    0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)s->threads, MHD_OPTION_CONNECTION_LIMIT,
	    connection_limit(), MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (s->mhd == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO,
			       "cannot listen on %s (in use, or not an "
			       "address of this host)",
			       cfg->listen ? cfg->listen : "127.0.0.1:8080");
		goto out;
	}
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : ntohs(sa.sin_port);
	if (cfg->tls_listen != NULL &&
	    ((rc = parse_listen(cfg->tls_listen, &sa, err)) != 0 ||
	     (rc = srv_tls_start(s, cfg, &sa, on_request, on_completed, err)) !=
		 0))
		goto out;
	s->serving = true;
	*out = s;
	s = NULL; /* transferred */
out:
	server_stop(s);
	return rc;
}

unsigned server_port(const server *s)
{
	return s->port;
}

void server_stop(server *s)
{
	if (s == NULL)
		return;
	/* workers answer what is queued and resume their connections, so
	 * that no connection is left suspended when MHD stops */
	srv_classes_stop(s);
	srv_publish_stop(s);
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	srv_tls_stop(s);
	srv_classes_free(s);
	if (s->serving)
		srv_ocsp_spill_save(s);
	srv_ocsp_cache_free(s->ocsp);
	srv_crl_cache_free(s->crl);
	srv_rp_nonces_free(s->rp_nonces);
	srv_sessions_free(s->sess);
	ca_close(s->sess_ca);
	if (s->r_malformed != NULL)
		MHD_destroy_response(s->r_malformed);
	if (s->r_unauthorized != NULL)
		MHD_destroy_response(s->r_unauthorized);
	EVP_PKEY_free(s->preview_key);
	ca_tsa_free(s->tsa);
	for (int k = 0; k < 3; k++)
		X509_free(s->root_cert[k]);
	for (size_t i = 0; i < s->n_old_roots; i++)
		X509_free(s->old_roots[i]);
	for (size_t i = 0; i < VAL_JLIS_ROOTS; i++)
		X509_free(s->jlis[i]);
	srv_clients_free(s->clients);
	srv_throttle_free(s->throttle);
	srv_downloads_free(s);
	pthread_mutex_destroy(&s->cp_mu);
	pthread_mutex_destroy(&s->cnt_mu);
	free(s);
}
