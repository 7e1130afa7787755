/* /api/v1: routes, the role each needs, and the handlers that run on the
 * HTTP thread (session, challenge).  The role matrix is docs/design.md's:
 * roles are ordered clerk < supervisor < ca-admin and each includes the
 * ones below it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "openjpki/registry.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/views.h"
#include "server_int.h"

#define BODY_SMALL 4096
#define BODY_RESIDENT 16384
#define BODY_ISSUE 32768
/* a residents CSV file (registry_residents_import's own caps apply too) */
#define BODY_IMPORT (16u << 20)
/* the one route whose body is not JSON (docs/design.md, "jpkid") */
#define IMPORT_PATH "residents/import"
/* a base64 card image and the PINs */

#define V1 "/api/v1/"
#define ROUTE(m, p, rt, run_, cls_, role_, body_, media_, member, fn)          \
	{                                                                      \
		.method = (m), .path = (p), .route = (rt), .run = (run_),      \
		.cls = (cls_), .role = (role_), .body = (body_),               \
		.media = (media_),                                             \
		.h = {.member = (fn) }                                         \
	}
#define MEMORY(p, rt, fn)                                                      \
	ROUTE(M_GET, p, rt, SRV_RUN_MEMORY, CLS_INLINE, ROLE_NONE, 0,          \
	      SRV_MEDIA_ANY, serve, fn)
#define INLINE(m, p, rt, role, body, fn)                                       \
	ROUTE(m, p, rt, SRV_RUN_INLINE, CLS_INLINE, role, body,                \
	      SRV_MEDIA_JSON, run, fn)
#define WORK(m, p, rt, cls, role, body, media, fn)                             \
	ROUTE(m, p, rt, SRV_RUN_WORKER, cls, role, body, media, work, fn)

static void session_get(srv_req *r);
static void session_delete(srv_req *r);
static void issue_challenge(srv_req *r);
static void stats_get(srv_req *r);

/* clang-format off */
static const srv_route_def routes[] = {
	/* answered from memory on the HTTP thread, first: the hot paths */
	MEMORY("/ocsp/**", R_OCSP, srv_serve_ocsp_get),
	MEMORY("/crl/**", R_CRL, srv_serve_crl),
	MEMORY("/arl/**", R_CRL, srv_serve_crl),
	MEMORY("/healthz", R_HEALTHZ, srv_serve_healthz),
	MEMORY("/metrics", R_METRICS, srv_serve_metrics),
	MEMORY("/", R_UI, srv_serve_ui),
	MEMORY("/index.html", R_UI, srv_serve_ui),
	MEMORY("/ui/**", R_UI, srv_serve_ui),
	/* OCSP over POST: served from the cache when it can be, else the
	 * live class (server.c, ocsp_dispatch) */
	WORK(M_POST, "/ocsp", R_OCSP, CLS_OCSP, ROLE_NONE, JPKI_OCSP_MAX_REQ, SRV_MEDIA_ANY, srv_ocsp_live),
	/* RFC 3161 time-stamps (tsa.c): anonymous, signed like OCSP */
	WORK(M_POST, "/tsa", R_TSA, CLS_OCSP, ROLE_NONE, JPKI_TSA_REQ_MAX, SRV_MEDIA_TSQ, srv_tsa),
	/* /api/v1 */
	WORK(M_POST, V1 "session", R_SESSION, CLS_AUTH, ROLE_NONE, BODY_SMALL, SRV_MEDIA_JSON, api_login),
	INLINE(M_GET, V1 "session", R_SESSION, ROLE_CLERK, 0, session_get),
	INLINE(M_DELETE, V1 "session", R_SESSION, ROLE_CLERK, 0, session_delete),
	WORK(M_GET, V1 "operators", R_OPERATORS, CLS_READ, ROLE_CA_ADMIN, 0, SRV_MEDIA_JSON, api_operators_get),
	WORK(M_POST, V1 "operators", R_OPERATORS, CLS_AUTH, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_operators_post),
	WORK(M_POST, V1 "operators/*/password", R_OPERATORS, CLS_AUTH, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_operator_password),
	WORK(M_GET, V1 "municipalities", R_MUNIS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_munis_get),
	WORK(M_POST, V1 "municipalities", R_MUNIS, CLS_WRITE, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_munis_post),
	WORK(M_GET, V1 "residents", R_RESIDENTS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_residents_search),
	WORK(M_POST, V1 "residents", R_RESIDENTS, CLS_WRITE, ROLE_CLERK, BODY_RESIDENT, SRV_MEDIA_JSON, api_residents_post),
	WORK(M_POST, V1 IMPORT_PATH, R_RESIDENTS, CLS_WRITE, ROLE_SUPERVISOR, BODY_IMPORT, SRV_MEDIA_CSV, api_residents_import),
	WORK(M_GET, V1 "residents/*", R_RESIDENTS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_resident_get),
	WORK(M_PATCH, V1 "residents/*", R_RESIDENTS, CLS_WRITE, ROLE_CLERK, BODY_RESIDENT, SRV_MEDIA_JSON, api_resident_patch),
	WORK(M_POST, V1 "residents/*/remove", R_RESIDENTS, CLS_WRITE, ROLE_SUPERVISOR, BODY_SMALL, SRV_MEDIA_JSON, api_resident_remove),
	WORK(M_POST, V1 "cards", R_CARDS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_cards_post),
	INLINE(M_POST, V1 "issue/challenge", R_CHALLENGE, ROLE_CLERK, BODY_SMALL, issue_challenge),
	/* CA-admin test issuance outside the counter (refused by a
	 * production CA, ca_issue); the counter issues through applications */
	WORK(M_POST, V1 "issue/preview", R_PREVIEW, CLS_READ, ROLE_CA_ADMIN, BODY_ISSUE, SRV_MEDIA_JSON, api_issue_preview),
	WORK(M_POST, V1 "issue", R_ISSUE, CLS_ISSUE, ROLE_CA_ADMIN, BODY_ISSUE, SRV_MEDIA_JSON, api_issue),
	WORK(M_GET, V1 "certificates/*", R_CERTS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_cert_get),
	WORK(M_POST, V1 "certificates/*/revoke", R_CERTS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_cert_revoke),
	INLINE(M_GET, V1 "cards/virtual/*/image", R_VCARD, ROLE_CLERK, 0, srv_download_take),
	INLINE(M_GET, V1 "stats", R_STATS, ROLE_CLERK, 0, stats_get),
	WORK(M_GET, V1 "audit/verify", R_AUDIT, CLS_READ, ROLE_SUPERVISOR, 0, SRV_MEDIA_JSON, api_audit_verify),
	WORK(M_GET, V1 "applications", R_APPS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_apps_list),
	WORK(M_POST, V1 "applications", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_apps_open),
	WORK(M_GET, V1 "applications/*", R_APPS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_app_get),
	WORK(M_POST, V1 "applications/*/documents", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_documents),
	WORK(M_POST, V1 "applications/*/inquiry", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_inquiry),
	WORK(M_POST, V1 "applications/*/inquiry/answer", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_inquiry_answer),
	WORK(M_GET, V1 "applications/*/preview", R_APPS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_app_preview),
	WORK(M_POST, V1 "applications/*/preview", R_APPS, CLS_READ, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_preview),
	WORK(M_POST, V1 "applications/*/approve", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_approve),
	WORK(M_POST, V1 "applications/*/card-produced", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_card_produced),
	WORK(M_POST, V1 "applications/*/card-ready", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_card_ready),
	WORK(M_POST, V1 "applications/*/complete", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_ISSUE, SRV_MEDIA_JSON, api_app_complete),
	WORK(M_POST, V1 "applications/*/complete-virtual", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_complete_virtual),
	WORK(M_POST, V1 "applications/*/reject", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_reject),
	WORK(M_POST, V1 "applications/*/cancel", R_APPS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_app_cancel),
	WORK(M_POST, V1 "notices/run", R_NOTICES, CLS_WRITE, ROLE_SUPERVISOR, BODY_SMALL, SRV_MEDIA_JSON, api_notices_run),
	WORK(M_GET, V1 "notices/*/letters.html", R_NOTICES, CLS_READ, ROLE_SUPERVISOR, 0, SRV_MEDIA_JSON, api_notices_letters),
	WORK(M_GET, V1 "notices/*/mailroom.csv", R_NOTICES, CLS_READ, ROLE_SUPERVISOR, 0, SRV_MEDIA_JSON, api_notices_mailroom),
	/* H3: letters to print, the office the letters name */
	WORK(M_GET, V1 "applications/*/inquiry-letter", R_APPS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_app_inquiry_letter),
	WORK(M_GET, V1 "applications/*/receipt", R_APPS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_app_receipt),
	WORK(M_GET, V1 "municipalities/*/office", R_MUNIS, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_muni_office_get),
	WORK(M_POST, V1 "municipalities/*/office", R_MUNIS, CLS_WRITE, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_muni_office_post),
	/* relying parties: no operator session, no cookie, so no CSRF
	 * token (docs/design.md, "Log-in and verification API") */
	WORK(M_GET, V1 "login/challenge", R_RP_LOGIN, CLS_READ, ROLE_NONE, 0, SRV_MEDIA_JSON, api_rp_challenge),
	WORK(M_POST, V1 "login/challenge", R_RP_LOGIN, CLS_READ, ROLE_NONE, BODY_SMALL, SRV_MEDIA_JSON, api_rp_challenge),
	WORK(M_POST, V1 "login", R_RP_LOGIN, CLS_AUTH, ROLE_NONE, BODY_ISSUE, SRV_MEDIA_JSON, api_rp_login),
	WORK(M_POST, V1 "verify", R_RP_VERIFY, CLS_READ, ROLE_NONE, SRV_RP_VERIFY_BODY, SRV_MEDIA_JSON, api_rp_verify),
	/* 最新の基本4情報: an API key in Authorization, no cookie */
	WORK(M_POST, V1 "basic4/challenge", R_RP_BASIC4, CLS_READ, ROLE_NONE, BODY_SMALL, SRV_MEDIA_JSON, api_rp_basic4_challenge),
	WORK(M_POST, V1 "basic4/latest", R_RP_BASIC4, CLS_READ, ROLE_NONE, SRV_RP_VERIFY_BODY, SRV_MEDIA_JSON, api_rp_basic4_latest),
	/* setting up and supervising (api_admin.c) */
	WORK(M_POST, V1 "operators/*/disable", R_OPERATORS, CLS_WRITE, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_operator_disable),
	WORK(M_POST, V1 "operators/*/enable", R_OPERATORS, CLS_WRITE, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_operator_enable),
	WORK(M_PATCH, V1 "municipalities/*", R_MUNIS, CLS_WRITE, ROLE_CA_ADMIN, BODY_SMALL, SRV_MEDIA_JSON, api_muni_patch),
	WORK(M_GET, V1 "setup", R_OTHER, CLS_READ, ROLE_CLERK, 0, SRV_MEDIA_JSON, api_setup_get),
	WORK(M_GET, V1 "audit", R_AUDIT, CLS_READ, ROLE_SUPERVISOR, 0, SRV_MEDIA_JSON, api_audit_history),
	/* the counter's card helper (api_terminal.c): pairing by the
	 * clerk; redeem and terminal authentication carry the code or the
	 * pairing token in their body, no cookie */
	WORK(M_POST, V1 "terminal/pair", R_CARDS, CLS_WRITE, ROLE_CLERK, BODY_SMALL, SRV_MEDIA_JSON, api_terminal_pair),
	WORK(M_POST, V1 "terminal/redeem", R_CARDS, CLS_AUTH, ROLE_NONE, BODY_SMALL, SRV_MEDIA_JSON, api_terminal_redeem),
	WORK(M_POST, V1 "terminal/tauth", R_CARDS, CLS_WRITE, ROLE_NONE, BODY_SMALL, SRV_MEDIA_JSON, api_terminal_tauth),
};
/* clang-format on */

const srv_route_def *srv_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

const char *srv_method_name(int method)
{
	switch (method) {
	case M_GET: return "GET";
	case M_POST: return "POST";
	case M_PATCH: return "PATCH";
	case M_DELETE: return "DELETE";
	case M_HEAD: return "HEAD";
	default: return "?";
	}
}

/* Match url against pattern: the one "*" segment is copied to arg, a
 * final "**" takes the rest of the URL. */
static bool match(const char *pat, const char *url, char *arg, size_t cap)
{
	while (*pat != '\0') {
		if (pat[0] == '*' && pat[1] == '*')
			return true;
		if (*pat == '*') {
			const char *end = strchr(url, '/');
			size_t n = end ? (size_t)(end - url) : strlen(url);
			if (n == 0 || n >= cap)
				return false;
			memcpy(arg, url, n);
			arg[n] = '\0';
			url += n;
			pat++;
			continue;
		}
		if (*pat != *url)
			return false;
		pat++;
		url++;
	}
	return *url == '\0';
}

int srv_route_find(int method, const char *url, const srv_route_def **out,
		   char *arg, size_t cap, char *allow, size_t allow_cap)
{
	const srv_route_def *first = NULL;
	char tmp[SRV_ARG_MAX];
	size_t n = sizeof(routes) / sizeof(routes[0]);
	if (allow_cap > 0)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (cap > 0)
			arg[0] = '\0';
		if (!match(routes[i].path, url, arg, cap))
			continue;
		if (routes[i].method == method) {
			*out = &routes[i];
			return 0;
		}
		if (first == NULL)
			first = &routes[i];
	}
	if (first == NULL)
		return -1;
	*out = first;
	/* every method of this path, once each, in the table's order */
	size_t used = 0;
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (!match(routes[i].path, url, tmp, sizeof(tmp)) ||
		    (seen & (1u << routes[i].method)) != 0)
			continue;
		seen |= 1u << routes[i].method;
		int k = snprintf(allow + used, allow_cap - used, "%s%s",
				 used ? ", " : "",
				 srv_method_name(routes[i].method));
		if (k < 0 || (size_t)k >= allow_cap - used)
			break;
		used += (size_t)k;
	}
	return -2;
}

static void query_args(srv_req *r)
{
	const char *q =
	    MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "q");
	const char *l = MHD_lookup_connection_value(
	    r->conn, MHD_GET_ARGUMENT_KIND, "limit");
	r->arg2[0] = '\0';
	if (q != NULL && jpki_strlcpy(r->arg2, q, sizeof(r->arg2)) != 0)
		r->arg2[0] = '\0';
	r->limit = 100;
	if (l != NULL) {
		char *end = NULL;
		long v = strtol(l, &end, 10);
		if (end != l && *end == '\0' && v >= 1 && v <= 1000)
			r->limit = (int)v;
	}
}

int srv_route_apply(srv_req *r, const srv_route_def *d, const char *arg,
		    bool *csrf)
{
	r->def = d;
	r->route = d->route;
	r->cls = d->cls;
	r->fn = d->run == SRV_RUN_WORKER ? d->h.work : NULL;
	r->body_max = d->body;
	r->body_type = d->media == SRV_MEDIA_CSV    ? "text/csv"
		       : d->media == SRV_MEDIA_JSON ? "application/json"
		       : d->media == SRV_MEDIA_TSQ
			   ? "application/timestamp-query"
			   : NULL;
	/* as srv_route_find: one too long matches nothing */
	if (jpki_strlcpy(r->arg, arg, sizeof(r->arg)) != 0)
		r->arg[0] = '\0';
	if (r->method == M_GET)
		query_args(r);
	if (r->route == R_RP_LOGIN) {
		/* the challenge's ?origin= (too long: left empty,
		 * then refused by the handler) */
		const char *o = MHD_lookup_connection_value(
		    r->conn, MHD_GET_ARGUMENT_KIND, "origin");
		r->arg2[0] = '\0';
		if (o != NULL && jpki_strlcpy(r->arg2, o, sizeof(r->arg2)) != 0)
			r->arg2[0] = '\0';
	}
	if (r->route == R_RP_BASIC4) {
		/* the relying party's key (too long: left empty,
		 * then refused by the handler) */
		const char *a = MHD_lookup_connection_value(
		    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		r->arg2[0] = '\0';
		if (a != NULL && jpki_strlcpy(r->arg2, a, sizeof(r->arg2)) != 0)
			r->arg2[0] = '\0';
	}
	if (r->fn == api_terminal_pair) {
		/* the page's origin, which the helper will answer
		 * (too long: left empty, then refused) */
		const char *o = MHD_lookup_connection_value(
		    r->conn, MHD_HEADER_KIND, "Origin");
		r->arg2[0] = '\0';
		if (o != NULL && jpki_strlcpy(r->arg2, o, sizeof(r->arg2)) != 0)
			r->arg2[0] = '\0';
	}
	/* every mutation of a logged-in operator carries the CSRF
	 * token; log-in itself needs the JSON content type */
	*csrf = r->method != M_GET && d->role > ROLE_NONE;
	return d->role;
}

/* ---- handlers on the HTTP thread ---- */

static void set_cookie(srv_req *r, const char *sid, long max_age)
{
	char v[256];
	snprintf(v, sizeof(v),
		 "jpkid_session=%s; Path=/; Max-Age=%ld; HttpOnly; "
		 "SameSite=Strict%s",
		 sid, max_age, r->s->secure_cookies ? "; Secure" : "");
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_SET_COOKIE, v);
}

static json_t *session_json(const srv_req *r, const char *csrf, time_t expires)
{
	char at[21];
	jpki_time_format(expires, at);
	return json_pack("{s:s,s:s,s:s,s:s}", "operator", r->actor, "role",
			 srv_role_name(r->role), "csrf_token", csrf, "expires",
			 at);
}

static void session_get(srv_req *r)
{
	char csrf[65];
	time_t exp = 0;
	srv_req tmp = *r;
	const char *sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
						      "jpkid_session");
	if (srv_session_get(r->s->sess, sid, false, NULL, srv_time(r->s), &tmp,
			    csrf, &exp) != 0) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthenticated",
				"no session");
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK, session_json(r, csrf, exp));
	OPENSSL_cleanse(csrf, sizeof(csrf));
}

static void session_delete(srv_req *r)
{
	srv_session_end(r->s->sess, r->sid);
	srv_reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
	set_cookie(r, "", 0);
}

/* A challenge for the proof of possession: each session, and all the
 * sessions of one operator, hold a bounded share of the table (429 with
 * Retry-After beyond it), so one clerk cannot starve the others. */
static void issue_challenge(srv_req *r)
{
	char c[64], ra[16];
	int wait = 0;
	int rc =
	    srv_challenge_open(r->s->sess, r->sid, srv_time(r->s), c, &wait);
	if (rc == JPKI_ERR_RANGE) {
		snprintf(ra, sizeof(ra), "%d", wait > 0 ? wait : 1);
		srv_reply_error(
		    r, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_challenges",
		    "this session (at most %d) or operator (at "
		    "most %d) holds too many open challenges; use "
		    "or let some expire",
		    SRV_CHALLENGES_PER_SESSION, SRV_CHALLENGES_PER_OPERATOR);
		if (r->resp != NULL)
			MHD_add_response_header(
			    r->resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	} else if (rc == JPKI_ERR_STATE)
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many open challenges; try again shortly");
	else if (rc != 0)
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthenticated",
				"no session");
	else
		srv_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:s,s:i}", "challenge", c,
					 "expires_in", SRV_CHALLENGE_TTL));
}

static void stats_get(srv_req *r)
{
	srv_reply_json(r, MHD_HTTP_OK, srv_stats_json(r->s));
}

/* ---- operators ---- */

static void login_locked(srv_req *r, int wait)
{
	char ra[16];
	snprintf(ra, sizeof(ra), "%d", wait);
	srv_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_attempts",
			"too many wrong passwords: log-in locked for %d s",
			wait);
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER,
					ra);
}

/* A lockout goes into the audit log (operator.lockout), with what was
 * locked; a failure to write it is logged, the refusal stands. */
static void login_lockout_audit(srv_worker *w, srv_req *r, const char *name,
				int locked, time_t now)
{
	char detail[200], who[64];
	jpki_err err = {0};
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	who[0] = '\0';
	if (ci != NULL && ci->client_addr != NULL &&
	    ci->client_addr->sa_family == AF_INET)
		inet_ntop(
		    AF_INET,
		    &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
		    who, sizeof(who));
	snprintf(detail, sizeof(detail),
		 "operator=%.64s locked=%s%s%s for=%ds client=%s", name,
		 (locked & SRV_LOCKED_ACCOUNT) ? "account" : "",
		 locked == (SRV_LOCKED_ACCOUNT | SRV_LOCKED_CLIENT) ? "," : "",
		 (locked & SRV_LOCKED_CLIENT) ? "client" : "", THROTTLE_LOCK,
		 who[0] ? who : "?");
	if (store_audit_append(ca_store(w->ca), now, "jpkid",
			       "operator.lockout", detail, &err) != 0)
		fprintf(stderr, "jpkid: lockout not audited: %s\n", err.msg);
	fprintf(stderr, "jpkid: log-in locked: %s\n", detail);
}

void api_login(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"name", JT_STRING, true, SRV_OP_NAME_MAX},
	    {"password", JT_STRING, true, SERVER_PASSWORD_MAX}};
	char sid[65], csrf[65];
	time_t exp = 0, now = srv_time(w->s);
	jpki_err err = {0};
	int role = 0;
	int64_t gen = 0;
	json_t *b = srv_json_body(r, f, 2);
	if (b == NULL)
		return;
	const char *name = srv_jstr(b, "name");
	/* locked: answered before the password is looked at */
	int wait =
	    srv_throttle_check(w->s->throttle, name, r->client, srv_now_mono());
	if (wait > 0) {
		login_locked(r, wait);
		goto out;
	}
	int rc = srv_operator_verify_gen(w->ca, name, srv_jstr(b, "password"),
					 &role, &gen, &err);
	if (rc != 0) {
		if (rc == JPKI_ERR_AUTH) {
			int locked = srv_throttle_failed(
			    w->s->throttle, name, r->client, srv_now_mono());
			if (locked != 0)
				login_lockout_audit(w, r, name, locked, now);
			srv_reply_error(r, MHD_HTTP_UNAUTHORIZED,
					"bad_credentials",
					"wrong name or password");
		} else
			srv_reply_rc(r, rc, &err);
		goto out;
	}
	srv_throttle_ok(w->s->throttle, name);
	if (srv_session_create_gen(w->s->sess, name, role, gen, now, sid, csrf,
				   &exp) != 0) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many sessions");
		goto out;
	}
	r->role = role;
	/* srv_operator_check_name() held name to SRV_OP_NAME_MAX */
	if (jpki_strlcpy(r->actor, name, sizeof(r->actor)) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"operator name too long");
		goto out;
	}
	srv_reply_json(r, MHD_HTTP_OK, session_json(r, csrf, exp));
	set_cookie(r, sid, (long)(exp - now));
	OPENSSL_cleanse(sid, sizeof(sid));
	OPENSSL_cleanse(csrf, sizeof(csrf));
out:
	json_decref(b);
}

void api_operators_get(srv_worker *w, srv_req *r)
{
	json_t *arr = NULL;
	jpki_err err = {0};
	int rc = srv_operator_list(w->ca, &arr, &err);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		srv_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:o}", "operators", arr));
}

void api_operators_post(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"name", JT_STRING, true, SRV_OP_NAME_MAX},
	    {"role", JT_STRING, true, 16},
	    {"password", JT_STRING, true, SERVER_PASSWORD_MAX}};
	jpki_err err = {0};
	json_t *b = srv_json_body(r, f, 3);
	if (b == NULL)
		return;
	int role = srv_role_parse(srv_jstr(b, "role"));
	int rc = role == ROLE_NONE
		     ? jpki_fail(&err, JPKI_ERR_INVAL,
				 "role is clerk, supervisor or ca-admin")
		     : srv_operator_create(w->ca, srv_jstr(b, "name"), role,
					   srv_jstr(b, "password"), r->actor,
					   srv_time(w->s), &err);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		srv_reply_json(r, MHD_HTTP_CREATED,
			       json_pack("{s:s,s:s}", "name",
					 srv_jstr(b, "name"), "role",
					 srv_role_name(role)));
	json_decref(b);
}

/* api_operator_password: api_admin.c */

/* ---- municipalities ---- */

static json_t *muni_json(const store_muni *m)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", m->code, "pref",
			 m->pref, "city", m->city, "pref_roman", m->pref_roman,
			 "city_roman", m->city_roman);
}

static int add_muni(void *ctx, const store_muni *m)
{
	return json_array_append_new(ctx, muni_json(m)) == 0 ? 0 : -1;
}

void api_munis_get(srv_worker *w, srv_req *r)
{
	jpki_err err = {0};
	json_t *arr = json_array();
	int rc = store_muni_each(ca_store(w->ca), add_muni, arr, &err);
	if (rc != 0) {
		json_decref(arr);
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:o}", "municipalities", arr));
}

static bool roman_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == ' '))
			return false;
	return true;
}

/* A municipality is recorded once: its romanised names are in every
 * certificate's CRL distribution point, so they do not change here. */
static int record_new_muni(jpki_ca *ca, const store_muni *m, time_t now,
			   jpki_err *err, const char *actor)
{
	store *st = ca_store(ca);
	store_muni old;
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	rc = store_muni_get(st, m->code, &old, NULL);
	if (rc == 0)
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "municipality %s is already on record", m->code);
	else if (rc == JPKI_ERR_NOT_FOUND)
		rc = registry_muni_put(ca, m, now, actor, err);
	if (rc != 0 || (rc = store_commit(st, err)) != 0)
		store_rollback(st);
	return rc;
}

void api_munis_post(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"code", JT_STRING, true, 6},
	    {"pref", JT_STRING, true, 63},
	    {"city", JT_STRING, true, 63},
	    {"pref_roman", JT_STRING, true, 63},
	    {"city_roman", JT_STRING, true, 63},
	    /* H3: the office the letters name */
	    {"office_name", JT_STRING, false, 127},
	    {"office_address", JT_STRING, false, 255},
	    {"office_phone", JT_STRING, false, 31},
	    {"office_hours", JT_STRING, false, 127}};
	store_muni m;
	store_office off;
	jpki_err err = {0};
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	memset(&m, 0, sizeof(m));
	const char *code = srv_jstr(b, "code");
	memset(&off, 0, sizeof(off));
	/* f[] bounds the lengths; a field the store keeps shorter is
	 * refused, not cut */
	int rc = srv_office_fields(b, &off, &err);
	if (rc != 0)
		goto refused;
	if (jpki_strlcpy(m.code, code, sizeof(m.code)) != 0 ||
	    jpki_strlcpy(m.pref, srv_jstr(b, "pref"), sizeof(m.pref)) != 0 ||
	    jpki_strlcpy(m.city, srv_jstr(b, "city"), sizeof(m.city)) != 0 ||
	    jpki_strlcpy(m.pref_roman, srv_jstr(b, "pref_roman"),
			 sizeof(m.pref_roman)) != 0 ||
	    jpki_strlcpy(m.city_roman, srv_jstr(b, "city_roman"),
			 sizeof(m.city_roman)) != 0)
		rc = jpki_fail(&err, JPKI_ERR_RANGE,
			       "a field is longer than the store keeps");
	else if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "code: the 6-digit 全国地方公共団体コード");
	else if (m.pref[0] == '\0' || m.city[0] == '\0' ||
		 !roman_ok(m.pref_roman) || !roman_ok(m.city_roman))
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "pref and city are required; their romanised "
			       "forms use A-Z a-z 0-9 '-' ' '");
	else
		rc = record_new_muni(w->ca, &m, srv_time(w->s), &err, r->actor);
	if (rc == 0 &&
	    (off.name[0] || off.address[0] || off.phone[0] || off.hours[0]))
		rc = registry_muni_office_set(w->ca, m.code, &off,
					      srv_time(w->s), r->actor, &err);
refused:
	json_decref(b);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_publish_muni(w, m.code);
	srv_reply_json(r, MHD_HTTP_CREATED, muni_json(&m));
}

/* ---- certificates ---- */

static json_t *pem_of(const uint8_t *der, size_t len)
{
	char *b64 = malloc(len / 3 * 4 + 8), *out = NULL;
	json_t *v = NULL;
	if (b64 == NULL || srv_b64_encode(der, len, b64, len / 3 * 4 + 8) != 0)
		goto out;
	size_t n = strlen(b64), cap = n + n / 64 + 64, o = 0;
	if ((out = malloc(cap)) == NULL)
		goto out;
	o += (size_t)snprintf(out, cap, "-----BEGIN CERTIFICATE-----\n");
	for (size_t i = 0; i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64;
		memcpy(out + o, b64 + i, k);
		o += k;
		out[o++] = '\n';
	}
	snprintf(out + o, cap - o, "-----END CERTIFICATE-----\n");
	v = json_string(out);
out:
	free(b64);
	free(out);
	return v;
}

json_t *srv_cert_pem(const uint8_t *der, size_t len)
{
	return pem_of(der, len);
}

static bool serial_arg(srv_req *r)
{
	size_t n = strlen(r->arg);
	if (n < 2 || n > 40 || n % 2 != 0 ||
	    strspn(r->arg, "0123456789abcdefABCDEF") != n) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"a serial number is 2-40 hex digits");
		return false;
	}
	for (char *p = r->arg; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	return true;
}

void api_cert_get(srv_worker *w, srv_req *r)
{
	store_cert c;
	jpki_err err = {0};
	memset(&c, 0, sizeof(c));
	if (!serial_arg(r))
		return;
	int rc = store_cert_get(ca_store(w->ca), r->arg, &c, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_t *o = jpki_view_certificate(&c);
	if (o != NULL)
		json_object_set_new(o, "pem", pem_of(c.der, c.der_len));
	store_cert_clear(&c);
	srv_reply_json(r, MHD_HTTP_OK, o);
}

/* Who may revoke with which reason: the revocation law
 * (rules_reason_role); its 1..3 are ROLE_CLERK..ROLE_CA_ADMIN. */
static int reason_role(jpki_reason reason)
{
	return rules_reason_role((int)reason);
}

void api_cert_revoke(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {{"reason", JT_STRING, true, 32}};
	store_cert c;
	jpki_reason reason;
	jpki_err err = {0};
	memset(&c, 0, sizeof(c));
	if (!serial_arg(r))
		return;
	json_t *b = srv_json_body(r, f, 1);
	if (b == NULL)
		return;
	int rc = jpki_reason_parse(srv_jstr(b, "reason"), &reason);
	json_decref(b);
	if (rc != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"reason: unspecified, keyCompromise, "
				"cACompromise, affiliationChanged, superseded, "
				"cessationOfOperation or certificateHold");
		return;
	}
	if ((rc = store_cert_get(ca_store(w->ca), r->arg, &c, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	bool leaf = c.kind == JPKI_CERT_SIGN || c.kind == JPKI_CERT_AUTH;
	int need = leaf ? reason_role(reason) : ROLE_CA_ADMIN; /* root: ARL */
	store_cert_clear(&c);
	/* one door: what a counter application does is done by one (loss,
	 * revocation at the holder's request, renewal); only ex officio
	 * reasons are revoked directly, by a supervisor or the CA admin */
	if (leaf && (reason == JPKI_REASON_CERTIFICATE_HOLD ||
		     reason == JPKI_REASON_CESSATION ||
		     reason == JPKI_REASON_SUPERSEDED)) {
		srv_reply_error(
		    r, MHD_HTTP_CONFLICT, "application_required",
		    "%s is done by a counter application (%s): "
		    "open one",
		    jpki_reason_name(reason),
		    reason == JPKI_REASON_CERTIFICATE_HOLD ? "紛失届, kind loss"
		    : reason == JPKI_REASON_CESSATION ? "失効, kind revoke"
						      : "更新, kind renewal");
		return;
	}
	if (leaf && need < ROLE_SUPERVISOR)
		need = ROLE_SUPERVISOR;
	if (r->role < need) {
		srv_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				"revoking with reason %s needs the %s role",
				jpki_reason_name(reason), srv_role_name(need));
		return;
	}
	if ((rc = ca_revoke(w->ca, r->arg, reason, srv_time(w->s), r->actor,
			    &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_publish_revoked(w, r->arg);
	srv_count_add(w->s, CNT_REVOKED, 1);
	memset(&c, 0, sizeof(c));
	if (store_cert_get(ca_store(w->ca), r->arg, &c, &err) == 0) {
		srv_reply_json(r, MHD_HTTP_OK, jpki_view_certificate(&c));
		store_cert_clear(&c);
	} else {
		srv_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:s,s:s}", "serial", r->arg,
					 "reason", jpki_reason_name(reason)));
	}
}

void api_audit_verify(srv_worker *w, srv_req *r)
{
	ca_audit_report rep;
	jpki_err err = {0};
	int rc = ca_audit_verify(w->ca, &rep, &err);
	if (rc == 0)
		srv_reply_json(
		    r, MHD_HTTP_OK,
		    json_pack("{s:b,s:I,s:I,s:I,s:s,s:I,s:I,s:i}", "ok", 1,
			      "records", (json_int_t)rep.records, "checkpoints",
			      (json_int_t)rep.checkpoints, "checkpoint_seq",
			      (json_int_t)rep.checkpoint_seq, "checkpoint_at",
			      rep.checkpoint_at, "certificates_checked",
			      (json_int_t)rep.certificates_checked,
			      "revocations_checked",
			      (json_int_t)rep.revocations_checked, "passes",
			      rep.passes));
	else if (rc == JPKI_ERR_INTEGRITY) {
		/* each disagreement of the certificates table with the log */
		json_t *m = json_array();
		for (int64_t i = 0; m != NULL && i < rep.mismatches &&
				    i < CA_AUDIT_MISMATCH_MAX;
		     i++)
			json_array_append_new(m, json_string(rep.mismatch[i]));
		srv_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:b,s:s,s:o*}", "ok", 0, "message",
					 jpki_err_msg(&err, rc), "mismatches",
					 m));
	} else
		srv_reply_rc(r, rc, &err);
}
