/* Setting up and supervising the counter: operators (disable, enable,
 * password reset and one's own change, each ending the sessions it
 * must), municipalities edited, the first-run state, and the audit
 * history of a resident, an application or an operator.
 *
 * Sessions live in jpkid's memory; a change made through the store alone
 * (`jpki operator`) reaches them through srv_sessions_sync_store, which
 * the refresher runs every few seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/util.h"
#include "server_int.h"

#define CUTOFFS_MAX 1024
#define AUDIT_LIMIT_MAX 1000

/* ---- operators ---- */

static void reply_operator(srv_worker *w, srv_req *r, int status,
			   const char *name, size_t ended)
{
	json_t *o = NULL;
	jpki_err err = {0};
	int rc = srv_operator_get(w->ca, name, &o, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_object_set_new(o, "sessions_ended",
			    json_integer((json_int_t)ended));
	srv_reply_json(r, status, o);
}

void api_operator_password(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"password", JT_STRING, true, SERVER_PASSWORD_MAX},
	    {"current", JT_STRING, false, SERVER_PASSWORD_MAX}};
	jpki_err err = {0};
	time_t now = srv_time(w->s);
	bool own = strcmp(r->arg, r->actor) == 0;
	size_t ended;
	int rc;
	if (!own && r->role < ROLE_CA_ADMIN) {
		srv_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				"only a ca-admin sets another operator's "
				"password");
		return;
	}
	json_t *b = srv_json_body(r, f, 2);
	if (b == NULL)
		return;
	if (own) {
		/* one's own: the current password first, then every other
		 * session of this operator ends */
		if (srv_jstr(b, "current") == NULL) {
			srv_reply_field(r, MHD_HTTP_BAD_REQUEST,
					"invalid_field", "current",
					"current: changing one's own password "
					"needs the current one");
			goto out;
		}
		/* this session takes the generation the change makes, so it
		 * survives its cutoff even when the refresher reads the record
		 * before the sessions below are ended */
		int64_t gen = 0;
		if ((rc = srv_operator_gen(w->ca, r->arg, &gen, &err)) != 0) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
		srv_session_set_gen(w->s->sess, r->sid, gen + 1);
		rc = srv_operator_change_own(
		    w->ca, r->arg, srv_jstr(b, "current"),
		    srv_jstr(b, "password"), now, &err);
		if (rc == JPKI_ERR_AUTH) {
			srv_reply_error(r, MHD_HTTP_FORBIDDEN,
					"wrong_current_password", "%s",
					jpki_err_msg(&err, rc));
			goto out;
		}
		if (rc != 0) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
		if (srv_operator_gen(w->ca, r->arg, &gen, NULL) != 0)
			gen++;
		ended =
		    srv_sessions_end_operator(w->s->sess, r->arg, r->sid, gen);
	} else {
		/* a reset by a ca-admin: every session of that operator */
		rc = srv_operator_set_password(w->ca, r->arg,
					       srv_jstr(b, "password"),
					       r->actor, now, &err);
		if (rc != 0) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
		ended = srv_sessions_end_operator(w->s->sess, r->arg, NULL, 0);
	}
	reply_operator(w, r, MHD_HTTP_OK, r->arg, ended);
out:
	json_decref(b);
}

static void set_disabled(srv_worker *w, srv_req *r, bool disabled)
{
	jpki_err err = {0};
	time_t now = srv_time(w->s);
	size_t ended = 0;
	int rc = srv_operator_set_disabled(w->ca, r->arg, disabled, r->actor,
					   now, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	if (disabled)
		ended = srv_sessions_end_operator(w->s->sess, r->arg, NULL, 0);
	reply_operator(w, r, MHD_HTTP_OK, r->arg, ended);
}

void api_operator_disable(srv_worker *w, srv_req *r)
{
	set_disabled(w, r, true);
}

void api_operator_enable(srv_worker *w, srv_req *r)
{
	set_disabled(w, r, false);
}

void srv_sessions_sync_store(server *s, jpki_ca *ca)
{
	srv_op_cutoff *c = calloc(CUTOFFS_MAX, sizeof(*c));
	size_t n = 0;
	if (c == NULL)
		return;
	if (srv_operator_cutoffs(ca, c, CUTOFFS_MAX, &n, NULL) == 0 && n > 0)
		srv_sessions_sync(s->sess, c, n);
	free(c);
}

/* ---- municipalities: the names in kanji may be corrected; the code and
 * the romanised names are in every certificate's CRL distribution point
 * and stay as recorded ---- */

void api_muni_patch(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {{"pref", JT_STRING, false, 63},
				       {"city", JT_STRING, false, 63}};
	store *st = ca_store(w->ca);
	store_muni m;
	jpki_err err = {0};
	json_t *b = srv_json_body(r, f, 2);
	int rc;
	if (b == NULL)
		return;
	const char *pref = srv_jstr(b, "pref"), *city = srv_jstr(b, "city");
	if ((pref != NULL && pref[0] == '\0') ||
	    (city != NULL && city[0] == '\0')) {
		srv_reply_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
				pref != NULL && pref[0] == '\0' ? "pref"
								: "city",
				"the names of a municipality are not empty");
		goto out;
	}
	memset(&m, 0, sizeof(m));
	if ((rc = store_muni_get(st, r->arg, &m, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if ((pref != NULL && jpki_strlcpy(m.pref, pref, sizeof(m.pref)) != 0) ||
	    (city != NULL && jpki_strlcpy(m.city, city, sizeof(m.city)) != 0)) {
		srv_reply_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
				pref != NULL && strlen(pref) >= sizeof(m.pref)
				    ? "pref"
				    : "city",
				"longer than the store keeps");
		goto out;
	}
	if ((rc = registry_muni_put(w->ca, &m, srv_time(w->s), r->actor,
				    &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", m.code,
				 "pref", m.pref, "city", m.city, "pref_roman",
				 m.pref_roman, "city_roman", m.city_roman));
out:
	json_decref(b);
}

/* ---- the first-run state ---- */

static int count_muni(void *ctx, const store_muni *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

static int count_resident(void *ctx, const store_resident *res)
{
	(void)res;
	(*(int *)ctx)++;
	return 0;
}

void api_setup_get(srv_worker *w, srv_req *r)
{
	jpki_err err = {0};
	json_t *ops = NULL, *v;
	int munis = 0, residents = 0, clerks = 0, rc;
	size_t i;
	if ((rc = store_muni_each(ca_store(w->ca), count_muni, &munis, &err)) !=
		0 ||
	    (rc = store_resident_search(ca_store(w->ca), "", 1, count_resident,
					&residents, &err)) != 0 ||
	    (rc = srv_operator_list(w->ca, &ops, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_array_foreach(ops, i, v)
	{
		const char *role = srv_jstr(v, "role");
		if (role != NULL && strcmp(role, "clerk") == 0 &&
		    !json_is_true(json_object_get(v, "disabled")))
			clerks++;
	}
	json_decref(ops);
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:b,s:b,s:b,s:b}", "municipality", munis > 0,
				 "clerk", clerks > 0, "residents",
				 residents > 0, "done",
				 munis > 0 && clerks > 0 && residents > 0));
}

/* ---- audit history ---- */

bool srv_audit_detail_has(const char *detail, const char *key,
			  const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	for (const char *p = detail; p != NULL && *p != '\0';) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=' &&
		    strncmp(p + kl + 1, value, vl) == 0 &&
		    (p[kl + 1 + vl] == '\0' || p[kl + 1 + vl] == ' '))
			return true;
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return false;
}

typedef struct audit_q {
	const char *key;   /* "resident", "app", "operator" */
	const char *value; /* its value */
	json_t *serials;   /* a resident's certificate serials */
	json_t *out;
	int limit;
	int64_t matched;
} audit_q;

static int audit_row(void *ctx, const store_audit *a)
{
	audit_q *q = ctx;
	bool hit = srv_audit_detail_has(a->detail, q->key, q->value);
	if (!hit && strcmp(q->key, "operator") == 0)
		hit = strcmp(a->actor, q->value) == 0;
	if (!hit && q->serials != NULL) {
		size_t i;
		json_t *v;
		json_array_foreach(
		    q->serials, i,
		    v) if (srv_audit_detail_has(a->detail, "serial",
						json_string_value(v))) hit =
		    true;
	}
	if (!hit)
		return 0;
	q->matched++;
	char at[21];
	jpki_time_format(a->at, at);
	json_array_append_new(
	    q->out, json_pack("{s:I,s:s,s:s,s:s,s:s}", "seq",
			      (json_int_t)a->seq, "at", at, "actor", a->actor,
			      "action", a->action, "detail", a->detail));
	/* keep the newest `limit` records */
	if (json_array_size(q->out) > (size_t)q->limit)
		json_array_remove(q->out, 0);
	return 0;
}

static int add_serial(void *ctx, const store_cert *c)
{
	return json_array_append_new(ctx, json_string(c->serial)) == 0 ? 0 : -1;
}

/* GET /api/v1/audit?q=resident:ID | application:ID | operator:NAME */
void api_audit_history(srv_worker *w, srv_req *r)
{
	audit_q q;
	jpki_err err = {0};
	char kind[16] = "", value[SRV_ARG_MAX] = "";
	int rc;
	memset(&q, 0, sizeof(q));
	const char *colon = strchr(r->arg2, ':');
	if (colon != NULL && (size_t)(colon - r->arg2) < sizeof(kind)) {
		memcpy(kind, r->arg2, (size_t)(colon - r->arg2));
		kind[colon - r->arg2] = '\0';
		if (jpki_strlcpy(value, colon + 1, sizeof(value)) != 0)
			value[0] = '\0'; /* too long: refused below */
	}
	bool numeric = value[0] != '\0' &&
		       strspn(value, "0123456789") == strlen(value) &&
		       strlen(value) <= 18;
	if (strcmp(kind, "resident") == 0 && numeric)
		q.key = "resident";
	else if (strcmp(kind, "application") == 0 && numeric)
		q.key = "app";
	else if (strcmp(kind, "operator") == 0 &&
		 srv_operator_check_name(value) == 0)
		q.key = "operator";
	if (q.key == NULL) {
		srv_reply_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "q",
				"q: resident:ID, application:ID or "
				"operator:NAME");
		return;
	}
	q.value = value;
	q.limit = r->limit > AUDIT_LIMIT_MAX ? AUDIT_LIMIT_MAX : r->limit;
	if ((q.out = json_array()) == NULL) {
		srv_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	if (strcmp(q.key, "resident") == 0) {
		q.serials = json_array();
		rc = store_cert_by_resident(ca_store(w->ca),
					    strtoll(value, NULL, 10),
					    add_serial, q.serials, &err);
		if (rc != 0 && rc != JPKI_ERR_NOT_FOUND) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
	}
	if ((rc = store_audit_each(ca_store(w->ca), audit_row, &q, &err)) !=
	    0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:s,s:s,s:I,s:O}", "subject", kind, "id",
				 value, "matched", (json_int_t)q.matched,
				 "records", q.out));
out:
	json_decref(q.out);
	json_decref(q.serials);
}
