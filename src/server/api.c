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

typedef struct route {
	const char *path; /* "*" matches one segment */
	int method;
	int route;
	int cls;
	srv_handler fn;
	int role;
	size_t body;
} route;

/* clang-format off */
static const route routes[] = {
	{"session", M_POST, R_SESSION, CLS_AUTH, api_login, ROLE_NONE, BODY_SMALL},
	{"session", M_GET, R_SESSION, CLS_INLINE, NULL, ROLE_CLERK, 0},
	{"session", M_DELETE, R_SESSION, CLS_INLINE, NULL, ROLE_CLERK, 0},
	{"operators", M_GET, R_OPERATORS, CLS_READ, api_operators_get, ROLE_CA_ADMIN, 0},
	{"operators", M_POST, R_OPERATORS, CLS_AUTH, api_operators_post, ROLE_CA_ADMIN, BODY_SMALL},
	{"operators/*/password", M_POST, R_OPERATORS, CLS_AUTH, api_operator_password, ROLE_CLERK, BODY_SMALL},
	{"municipalities", M_GET, R_MUNIS, CLS_READ, api_munis_get, ROLE_CLERK, 0},
	{"municipalities", M_POST, R_MUNIS, CLS_WRITE, api_munis_post, ROLE_CA_ADMIN, BODY_SMALL},
	{"residents", M_GET, R_RESIDENTS, CLS_READ, api_residents_search, ROLE_CLERK, 0},
	{"residents", M_POST, R_RESIDENTS, CLS_WRITE, api_residents_post, ROLE_CLERK, BODY_RESIDENT},
	{IMPORT_PATH, M_POST, R_RESIDENTS, CLS_WRITE, api_residents_import, ROLE_SUPERVISOR, BODY_IMPORT},
	{"residents/*", M_GET, R_RESIDENTS, CLS_READ, api_resident_get, ROLE_CLERK, 0},
	{"residents/*", M_PATCH, R_RESIDENTS, CLS_WRITE, api_resident_patch, ROLE_CLERK, BODY_RESIDENT},
	{"residents/*/remove", M_POST, R_RESIDENTS, CLS_WRITE, api_resident_remove, ROLE_SUPERVISOR, BODY_SMALL},
	{"cards", M_POST, R_CARDS, CLS_WRITE, api_cards_post, ROLE_CLERK, BODY_SMALL},
	{"issue/challenge", M_POST, R_CHALLENGE, CLS_INLINE, NULL, ROLE_CLERK, BODY_SMALL},
	/* CA-admin test issuance outside the counter (refused by a
	 * production CA, ca_issue); the counter issues through applications */
	{"issue/preview", M_POST, R_PREVIEW, CLS_READ, api_issue_preview, ROLE_CA_ADMIN, BODY_ISSUE},
	{"issue", M_POST, R_ISSUE, CLS_ISSUE, NULL, ROLE_CA_ADMIN, BODY_ISSUE},
	{"certificates/*", M_GET, R_CERTS, CLS_READ, api_cert_get, ROLE_CLERK, 0},
	{"certificates/*/revoke", M_POST, R_CERTS, CLS_WRITE, api_cert_revoke, ROLE_CLERK, BODY_SMALL},
	{"cards/virtual/*/image", M_GET, R_VCARD, CLS_INLINE, NULL, ROLE_CLERK, 0},
	{"stats", M_GET, R_STATS, CLS_INLINE, NULL, ROLE_CLERK, 0},
	{"audit/verify", M_GET, R_AUDIT, CLS_READ, api_audit_verify, ROLE_SUPERVISOR, 0},
	{"applications", M_GET, R_APPS, CLS_READ, api_apps_list, ROLE_CLERK, 0},
	{"applications", M_POST, R_APPS, CLS_WRITE, api_apps_open, ROLE_CLERK, BODY_SMALL},
	{"applications/*", M_GET, R_APPS, CLS_READ, api_app_get, ROLE_CLERK, 0},
	{"applications/*/documents", M_POST, R_APPS, CLS_WRITE, api_app_documents, ROLE_CLERK, BODY_SMALL},
	{"applications/*/inquiry", M_POST, R_APPS, CLS_WRITE, api_app_inquiry, ROLE_CLERK, BODY_SMALL},
	{"applications/*/inquiry/answer", M_POST, R_APPS, CLS_WRITE, api_app_inquiry_answer, ROLE_CLERK, BODY_SMALL},
	{"applications/*/preview", M_GET, R_APPS, CLS_READ, api_app_preview, ROLE_CLERK, 0},
	{"applications/*/preview", M_POST, R_APPS, CLS_READ, api_app_preview, ROLE_CLERK, BODY_SMALL},
	{"applications/*/approve", M_POST, R_APPS, CLS_WRITE, api_app_approve, ROLE_CLERK, BODY_SMALL},
	{"applications/*/card-produced", M_POST, R_APPS, CLS_WRITE, api_app_card_produced, ROLE_CLERK, BODY_SMALL},
	{"applications/*/card-ready", M_POST, R_APPS, CLS_WRITE, api_app_card_ready, ROLE_CLERK, BODY_SMALL},
	{"applications/*/complete", M_POST, R_APPS, CLS_WRITE, api_app_complete, ROLE_CLERK, BODY_ISSUE},
	{"applications/*/complete-virtual", M_POST, R_APPS, CLS_WRITE, api_app_complete_virtual, ROLE_CLERK, BODY_SMALL},
	{"applications/*/reject", M_POST, R_APPS, CLS_WRITE, api_app_reject, ROLE_CLERK, BODY_SMALL},
	{"applications/*/cancel", M_POST, R_APPS, CLS_WRITE, api_app_cancel, ROLE_CLERK, BODY_SMALL},
	{"notices/run", M_POST, R_NOTICES, CLS_WRITE, api_notices_run, ROLE_SUPERVISOR, BODY_SMALL},
	{"notices/*/letters.html", M_GET, R_NOTICES, CLS_READ, api_notices_letters, ROLE_SUPERVISOR, 0},
	{"notices/*/mailroom.csv", M_GET, R_NOTICES, CLS_READ, api_notices_mailroom, ROLE_SUPERVISOR, 0},
	/* H3: letters to print, the office the letters name */
	{"applications/*/inquiry-letter", M_GET, R_APPS, CLS_READ, api_app_inquiry_letter, ROLE_CLERK, 0},
	{"applications/*/receipt", M_GET, R_APPS, CLS_READ, api_app_receipt, ROLE_CLERK, 0},
	{"municipalities/*/office", M_GET, R_MUNIS, CLS_READ, api_muni_office_get, ROLE_CLERK, 0},
	{"municipalities/*/office", M_POST, R_MUNIS, CLS_WRITE, api_muni_office_post, ROLE_CA_ADMIN, BODY_SMALL},
	/* relying parties: no operator session, no cookie, so no CSRF
	 * token (docs/design.md, "Log-in and verification API") */
	{"login/challenge", M_GET, R_RP_LOGIN, CLS_READ, api_rp_challenge, ROLE_NONE, 0},
	{"login/challenge", M_POST, R_RP_LOGIN, CLS_READ, api_rp_challenge, ROLE_NONE, BODY_SMALL},
	{"login", M_POST, R_RP_LOGIN, CLS_AUTH, api_rp_login, ROLE_NONE, BODY_ISSUE},
	{"verify", M_POST, R_RP_VERIFY, CLS_READ, api_rp_verify, ROLE_NONE, SRV_RP_VERIFY_BODY},
	/* 最新の基本4情報: an API key in Authorization, no cookie */
	{"basic4/challenge", M_POST, R_RP_BASIC4, CLS_READ, api_rp_basic4_challenge, ROLE_NONE, BODY_SMALL},
	{"basic4/latest", M_POST, R_RP_BASIC4, CLS_READ, api_rp_basic4_latest, ROLE_NONE, SRV_RP_VERIFY_BODY},
	/* setting up and supervising (api_admin.c) */
	{"operators/*/disable", M_POST, R_OPERATORS, CLS_WRITE, api_operator_disable, ROLE_CA_ADMIN, BODY_SMALL},
	{"operators/*/enable", M_POST, R_OPERATORS, CLS_WRITE, api_operator_enable, ROLE_CA_ADMIN, BODY_SMALL},
	{"municipalities/*", M_PATCH, R_MUNIS, CLS_WRITE, api_muni_patch, ROLE_CA_ADMIN, BODY_SMALL},
	{"setup", M_GET, R_OTHER, CLS_READ, api_setup_get, ROLE_CLERK, 0},
	{"audit", M_GET, R_AUDIT, CLS_READ, api_audit_history, ROLE_SUPERVISOR, 0},
	/* the counter's card helper (api_terminal.c): pairing by the
	 * clerk; redeem and terminal authentication carry the code or the
	 * pairing token in their body, no cookie */
	{"terminal/pair", M_POST, R_CARDS, CLS_WRITE, api_terminal_pair, ROLE_CLERK, BODY_SMALL},
	{"terminal/redeem", M_POST, R_CARDS, CLS_AUTH, api_terminal_redeem, ROLE_NONE, BODY_SMALL},
	{"terminal/tauth", M_POST, R_CARDS, CLS_WRITE, api_terminal_tauth, ROLE_NONE, BODY_SMALL},
};
/* clang-format on */

/* Match url against pattern; the one "*" segment is copied to arg. */
static bool match(const char *pat, const char *url, char *arg, size_t cap)
{
	while (*pat != '\0') {
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

int srv_api_route(srv_req *r, const char *url, bool *csrf)
{
	bool path_found = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char arg[SRV_ARG_MAX];
		if (!match(routes[i].path, url, arg, sizeof(arg)))
			continue;
		path_found = true;
		r->route = routes[i].route;
		if (routes[i].method != r->method)
			continue;
		r->cls = routes[i].cls;
		r->fn = routes[i].fn;
		r->body_max = routes[i].body;
		r->body_type = strcmp(routes[i].path, IMPORT_PATH) == 0
				   ? "text/csv"
				   : "application/json";
		memcpy(r->arg, arg, sizeof(arg));
		if (r->method == M_GET)
			query_args(r);
		if (r->route == R_RP_LOGIN) {
			/* the challenge's ?origin= (too long: left empty,
			 * then refused by the handler) */
			const char *o = MHD_lookup_connection_value(
			    r->conn, MHD_GET_ARGUMENT_KIND, "origin");
			r->arg2[0] = '\0';
			if (o != NULL &&
			    jpki_strlcpy(r->arg2, o, sizeof(r->arg2)) != 0)
				r->arg2[0] = '\0';
		}
		if (r->route == R_RP_BASIC4) {
			/* the relying party's key (too long: left empty,
			 * then refused by the handler) */
			const char *a = MHD_lookup_connection_value(
			    r->conn, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_AUTHORIZATION);
			r->arg2[0] = '\0';
			if (a != NULL &&
			    jpki_strlcpy(r->arg2, a, sizeof(r->arg2)) != 0)
				r->arg2[0] = '\0';
		}
		if (routes[i].fn == api_terminal_pair) {
			/* the page's origin, which the helper will answer
			 * (too long: left empty, then refused) */
			const char *o = MHD_lookup_connection_value(
			    r->conn, MHD_HEADER_KIND, "Origin");
			r->arg2[0] = '\0';
			if (o != NULL &&
			    jpki_strlcpy(r->arg2, o, sizeof(r->arg2)) != 0)
				r->arg2[0] = '\0';
		}
		/* every mutation of a logged-in operator carries the CSRF
		 * token; log-in itself needs the JSON content type */
		*csrf = r->method != M_GET && routes[i].role > ROLE_NONE;
		return routes[i].role;
	}
	return path_found ? -2 : -1;
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

void srv_api_inline_run(srv_req *r)
{
	server *s = r->s;
	time_t now = srv_time(s);
	if (r->route == R_SESSION && r->method == M_GET) {
		char csrf[65];
		time_t exp = 0;
		srv_req tmp = *r;
		const char *sid = MHD_lookup_connection_value(
		    r->conn, MHD_COOKIE_KIND, "jpkid_session");
		if (srv_session_get(s->sess, sid, false, NULL, now, &tmp, csrf,
				    &exp) != 0) {
			srv_reply_error(r, MHD_HTTP_UNAUTHORIZED,
					"unauthenticated", "no session");
			return;
		}
		srv_reply_json(r, MHD_HTTP_OK, session_json(r, csrf, exp));
		OPENSSL_cleanse(csrf, sizeof(csrf));
	} else if (r->route == R_SESSION && r->method == M_DELETE) {
		srv_session_end(s->sess, r->sid);
		srv_reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
		set_cookie(r, "", 0);
	} else if (r->route == R_CHALLENGE) {
		char c[64];
		int rc = srv_challenge_new(s->sess, r->sid, now, c);
		if (rc == JPKI_ERR_RANGE)
			srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
					"too many open challenges; use or let "
					"some expire");
		else if (rc != 0)
			srv_reply_error(r, MHD_HTTP_UNAUTHORIZED,
					"unauthenticated", "no session");
		else
			srv_reply_json(r, MHD_HTTP_OK,
				       json_pack("{s:s,s:i}", "challenge", c,
						 "expires_in",
						 SRV_CHALLENGE_TTL));
	} else if (r->route == R_VCARD) {
		srv_download_take(r);
	} else if (r->route == R_STATS) {
		srv_reply_json(r, MHD_HTTP_OK, srv_stats_json(s));
	} else {
		srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				"no such resource");
	}
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
	jpki_strlcpy(r->actor, name, sizeof(r->actor));
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
	jpki_strlcpy(m.code, code, sizeof(m.code));
	jpki_strlcpy(m.pref, srv_jstr(b, "pref"), sizeof(m.pref));
	jpki_strlcpy(m.city, srv_jstr(b, "city"), sizeof(m.city));
	jpki_strlcpy(m.pref_roman, srv_jstr(b, "pref_roman"),
		     sizeof(m.pref_roman));
	jpki_strlcpy(m.city_roman, srv_jstr(b, "city_roman"),
		     sizeof(m.city_roman));
	int rc;
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "code: the 6-digit 全国地方公共団体コード");
	else if (m.pref[0] == '\0' || m.city[0] == '\0' ||
		 !roman_ok(m.pref_roman) || !roman_ok(m.city_roman))
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "pref and city are required; their romanised "
			       "forms use A-Z a-z 0-9 '-' ' '");
	else
		rc = record_new_muni(w->ca, &m, srv_time(w->s), &err, r->actor);
	memset(&off, 0, sizeof(off));
	srv_office_fields(b, &off);
	if (rc == 0 &&
	    (off.name[0] || off.address[0] || off.phone[0] || off.hours[0]))
		rc = registry_muni_office_set(w->ca, m.code, &off,
					      srv_time(w->s), r->actor, &err);
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
		    json_pack("{s:b,s:I,s:I,s:I,s:s}", "ok", 1, "records",
			      (json_int_t)rep.records, "checkpoints",
			      (json_int_t)rep.checkpoints, "checkpoint_seq",
			      (json_int_t)rep.checkpoint_seq, "checkpoint_at",
			      rep.checkpoint_at));
	else if (rc == JPKI_ERR_INTEGRITY)
		srv_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:b,s:s}", "ok", 0, "message",
					 jpki_err_msg(&err, rc)));
	else
		srv_reply_rc(r, rc, &err);
}
