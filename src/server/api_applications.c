/* /api/v1/applications: the counter's application workflow
 * (registry/application.c) over the JSON API, and /api/v1/notices: the
 * expiry-notice batch (registry/notice.c) with its letters and mail-room
 * list.  The registry checks every transition and audits it with the
 * operator as actor; this file parses, maps refusals to HTTP and publishes
 * what a completion revoked or issued.
 *
 * Completion with keys uses the proof of possession of /api/v1/issue
 * (api_issue.c): the challenge, kind, the application's resident and the
 * card the keys are on (the card produced for a new card or a reissue,
 * otherwise the held card).
 *
 * complete-virtual completes a new card or a reissue onto a virtual card
 * made here under the produced card's serial, as /api/v1/cards/virtual
 * does: keys generated on the card, the completion (card handed over,
 * certificates issued) through registry_app_complete in its one
 * transaction, the certificates and PINs written, the image waiting for
 * one download by the session.  Kinds that keep the held card (issue,
 * renewal, found, pin-reset) are refused: they would need its image. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "openjpki/registry.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "openjpki/views.h"
#include "openjpki/x509.h"
#include "server_int.h"

/* letters.html of the largest batch served back (a page per letter) */
#define NOTICE_FILE_MAX (32u << 20)
#define NOTICE_RUN_MAX 24 /* "20261125T010000Z-9" */

static bool app_id_arg(srv_req *r, int64_t *id)
{
	char *end = NULL;
	size_t n = strlen(r->arg);
	long long v = strtoll(r->arg, &end, 10);
	if (n == 0 || n > 18 || strspn(r->arg, "0123456789") != n ||
	    end == r->arg || *end != '\0' || v <= 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"an application id is a positive integer");
		return false;
	}
	*id = v;
	return true;
}

/* Endpoints whose only accepted body is none or an empty object. */
static bool empty_body(srv_req *r)
{
	if (r->body.len == 0)
		return true;
	json_t *b = srv_json_body(r, NULL, 0);
	if (b == NULL)
		return false;
	json_decref(b);
	return true;
}

static void date_str(jpki_date d, char out[11])
{
	if (d.y == 0)
		out[0] = '\0';
	else
		jpki_date_format(d, out);
}

static json_t *app_json(const store_app *a)
{
	return jpki_view_application(a);
}

/* The one JSON view of an application, for api_app_list.c too. */
json_t *srv_app_json(const store_app *a)
{
	return app_json(a);
}

static int doc_cb(void *ctx, const store_app_doc *d)
{
	char e[11], t[21];
	date_str(d->expiry, e);
	jpki_time_format(d->added_at, t);
	json_t *o =
	    json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "seq", d->seq, "role",
		      registry_doc_role_name(d->role), "type", d->type,
		      "number", d->number, "expiry", e, "added_at", t);
	return json_array_append_new(ctx, o) == 0 ? 0 : -1;
}

static int event_cb(void *ctx, const store_app_event *ev)
{
	char t[21];
	jpki_time_format(ev->at, t);
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", ev->seq,
			      "at", t, "actor", ev->actor, "event", ev->event,
			      "from", registry_app_state_name(ev->from_state),
			      "to", registry_app_state_name(ev->to_state),
			      "detail", ev->detail);
	return json_array_append_new(ctx, o) == 0 ? 0 : -1;
}

/* The application with its documents and history. */
static void reply_app(srv_worker *w, srv_req *r, int64_t id, int status)
{
	store *st = ca_store(w->ca);
	store_app a;
	jpki_err err = {0};
	json_t *docs = json_array(), *events = json_array(), *o = NULL;
	int rc;
	if ((rc = store_app_get(st, id, &a, &err)) != 0 ||
	    (rc = store_app_doc_each(st, id, doc_cb, docs, &err)) != 0 ||
	    (rc = store_app_event_each(st, id, event_cb, events, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if ((o = app_json(&a)) != NULL) {
		json_object_set(o, "documents", docs);
		json_object_set(o, "history", events);
	}
	srv_reply_json(r, status, o);
out:
	json_decref(docs);
	json_decref(events);
}

/* ---- open, show (the list: api_app_list.c) ---- */

/* "sign,auth" style sets: bit i for names[i]. */
static int parse_set(const char *s, const char *const *names, int *out,
		     const char *what, jpki_err *err)
{
	char buf[64];
	int v = 0, i;
	if (s == NULL)
		return 0;
	if (jpki_strlcpy(buf, s, sizeof(buf)) != 0 || buf[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL, "%s: a list like %s,%s",
				 what, names[0], names[1]);
	for (char *p = buf, *q; p != NULL; p = q) {
		if ((q = strchr(p, ',')) != NULL)
			*q++ = '\0';
		i = 0;
		while (names[i] != NULL && strcmp(names[i], p) != 0)
			i++;
		if (names[i] == NULL)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "%s: unknown item %.32s", what, p);
		v |= 1 << i;
	}
	*out = v;
	return 0;
}

void api_apps_open(srv_worker *w, srv_req *r)
{
	static const char *const certs[] = {"sign", "auth", NULL};
	static const char *const pins[] = {"sign", "auth", "cardinfo", NULL};
	static const srv_jfield f[] = {
	    {"resident", JT_INT, true, 0},
	    {"kind", JT_STRING, true, 16},
	    {"applicant", JT_STRING, false, 8},
	    {"agent_name", JT_STRING, false, 255},
	    {"certs", JT_STRING, false, 16},
	    {"pins", JT_STRING, false, 24},
	    {"card", JT_STRING, false, 39},
	    {"note", JT_STRING, false, 511},
	};
	registry_change_result held;
	jpki_plan refusal;
	registry_app_req req = {.applicant = STORE_APPLICANT_SELF,
				.held = &held,
				.refusal = &refusal};
	store_app a;
	jpki_err err = {0};
	int rc;
	memset(&held, 0, sizeof(held));
	memset(&refusal, 0, sizeof(refusal));
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	req.resident_id = json_integer_value(json_object_get(b, "resident"));
	req.agent_name = srv_jstr(b, "agent_name");
	req.card_serial = srv_jstr(b, "card");
	req.note = srv_jstr(b, "note");
	if (req.card_serial != NULL && req.card_serial[0] == '\0')
		req.card_serial = NULL;
	if (req.resident_id <= 0)
		rc = jpki_fail(&err, JPKI_ERR_INVAL, "resident: a resident id");
	else if ((rc = registry_app_kind_parse(srv_jstr(b, "kind"), &req.kind,
					       &err)) == 0 &&
		 (srv_jstr(b, "applicant") == NULL ||
		  (rc = registry_applicant_parse(srv_jstr(b, "applicant"),
						 &req.applicant, &err)) == 0) &&
		 (rc = parse_set(srv_jstr(b, "certs"), certs, &req.certs,
				 "certs", &err)) == 0 &&
		 (rc = parse_set(srv_jstr(b, "pins"), pins, &req.pins, "pins",
				 &err)) == 0)
		rc = registry_app_open(w->ca, &req, srv_time(w->s), r->actor,
				       &a, &err);
	json_decref(b);
	if (rc != 0) {
		srv_reply_plan(r, rc, &err, &refusal);
		return;
	}
	/* a loss report holds on receipt: OCSP and the CRLs say so now */
	for (int i = 0; i < held.revoked && i < 4; i++)
		srv_publish_revoked(w, held.serials[i]);
	if (held.revoked > 0)
		srv_count_add(w->s, CNT_REVOKED, (unsigned)held.revoked);
	reply_app(w, r, a.id, MHD_HTTP_CREATED);
}

void api_app_get(srv_worker *w, srv_req *r)
{
	int64_t id = 0;
	if (app_id_arg(r, &id))
		reply_app(w, r, id, MHD_HTTP_OK);
}

/* ---- transitions ---- */

void api_app_documents(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"role", JT_STRING, false, 8},
	    {"type", JT_STRING, true, 31},
	    {"number", JT_STRING, true, 63},
	    {"expiry", JT_STRING, false, 10},
	};
	store_doc_role role = STORE_DOC_HOLDER;
	jpki_date expiry = {0, 0, 0};
	jpki_err err = {0};
	int64_t id = 0;
	int rc = 0;
	if (!app_id_arg(r, &id))
		return;
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	const char *ex = srv_jstr(b, "expiry");
	if (srv_jstr(b, "role") != NULL)
		rc = registry_doc_role_parse(srv_jstr(b, "role"), &role, &err);
	if (rc == 0 && ex != NULL && ex[0] != '\0' &&
	    jpki_date_parse(ex, &expiry) != 0)
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "expiry: a date YYYY-MM-DD");
	if (rc == 0)
		rc = registry_app_add_document(
		    w->ca, id, role, srv_jstr(b, "type"), srv_jstr(b, "number"),
		    expiry, srv_time(w->s), r->actor, &err);
	json_decref(b);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	reply_app(w, r, id, MHD_HTTP_CREATED);
}

typedef int (*simple_fn)(jpki_ca *ca, int64_t app_id, time_t now,
			 const char *actor, jpki_err *err);

/* A transition with no input but the application. */
static void simple(srv_worker *w, srv_req *r, simple_fn fn)
{
	jpki_err err = {0};
	int64_t id = 0;
	if (!app_id_arg(r, &id) || !empty_body(r))
		return;
	int rc = fn(w->ca, id, srv_time(w->s), r->actor, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	reply_app(w, r, id, MHD_HTTP_OK);
}

void api_app_inquiry(srv_worker *w, srv_req *r)
{
	simple(w, r, registry_app_send_inquiry);
}

void api_app_inquiry_answer(srv_worker *w, srv_req *r)
{
	simple(w, r, registry_app_answer_inquiry);
}

void api_app_card_ready(srv_worker *w, srv_req *r)
{
	simple(w, r, registry_app_card_ready);
}

void api_app_cancel(srv_worker *w, srv_req *r)
{
	simple(w, r, registry_app_cancel);
}

static json_t *validity_json(const jpki_validity *v)
{
	return jpki_view_validity(v);
}

static json_t *preview_json(const registry_preview *pv)
{
	static const char *const kn[3] = {"", "sign", "auth"};
	char ce[11];
	json_t *o = json_object(), *af = json_array();
	date_str(pv->card_expiry, ce);
	json_object_set_new(o, "application", app_json(&pv->app));
	json_object_set_new(o, "age", json_integer(pv->age));
	for (int k = 1; k <= 2; k++) {
		if (pv->want[k])
			json_object_set_new(
			    o, kn[k],
			    json_pack("{s:b,s:o}", "eligible", 1, "validity",
				      validity_json(&pv->validity[k])));
		else if (pv->refused[k][0])
			json_object_set_new(o, kn[k],
					    json_pack("{s:b,s:s}", "eligible",
						      0, "refused",
						      pv->refused[k]));
	}
	json_object_set_new(o, "new_card", json_boolean(pv->new_card));
	json_object_set_new(o, "card_expiry", json_string(ce));
	json_object_set_new(
	    o, "fee",
	    json_pack("{s:i,s:i,s:i}", "cert_yen", pv->fee.cert_yen, "card_yen",
		      pv->fee.card_yen, "total_yen", pv->fee_total));
	for (int i = 0; i < pv->affected && i < 4; i++)
		json_array_append_new(af, json_string(pv->affected_serials[i]));
	json_object_set_new(o, "affected", af);
	json_object_set_new(o, "affected_count", json_integer(pv->affected));
	json_object_set_new(o, "hold", json_boolean(pv->hold));
	json_object_set_new(o, "documents_ok", json_boolean(pv->docs_ok));
	json_object_set_new(o, "documents_missing",
			    json_string(pv->docs_missing));
	json_object_set_new(o, "plan", jpki_view_plan(&pv->plan));
	return o;
}

void api_app_preview(srv_worker *w, srv_req *r)
{
	registry_preview pv;
	jpki_err err = {0};
	int64_t id = 0;
	if (!app_id_arg(r, &id) || (r->method != M_GET && !empty_body(r)))
		return;
	memset(&pv, 0, sizeof(pv));
	int rc = registry_app_preview(w->ca, id, srv_time(w->s), &pv, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK, preview_json(&pv));
}

/* Approval of a card reissue retires the old card and revokes its
 * certificates: published once the approval committed. */
/* A refused step of application id: the reply carries the law's reason
 * (the plan's code and texts) when the plan is what refuses. */
static void reply_refusal(srv_worker *w, srv_req *r, int64_t id, time_t now,
			  int rc, const jpki_err *err)
{
	jpki_plan plan;
	jpki_err e2 = {0};
	memset(&plan, 0, sizeof(plan));
	if (rc == JPKI_ERR_INELIGIBLE || rc == JPKI_ERR_WINDOW ||
	    rc == JPKI_ERR_STATE) {
		if (registry_app_plan(w->ca, id, now, &plan, &e2) != 0 &&
		    (plan.code == NULL || plan.rc != rc))
			plan.code = NULL;
	}
	srv_reply_plan(r, rc, err,
		       plan.code != NULL && !plan.ok ? &plan : NULL);
}

void api_app_approve(srv_worker *w, srv_req *r)
{
	registry_change_result rv;
	jpki_err err = {0};
	int64_t id = 0;
	if (!app_id_arg(r, &id) || !empty_body(r))
		return;
	memset(&rv, 0, sizeof(rv));
	int rc = registry_app_approve2(w->ca, id, srv_time(w->s), r->actor, &rv,
				       &err);
	if (rc != 0) {
		reply_refusal(w, r, id, srv_time(w->s), rc, &err);
		return;
	}
	for (int i = 0; i < rv.revoked && i < 4; i++)
		srv_publish_revoked(w, rv.serials[i]);
	if (rv.revoked > 0)
		srv_count_add(w->s, CNT_REVOKED, (unsigned)rv.revoked);
	reply_app(w, r, id, MHD_HTTP_OK);
}

void api_app_card_produced(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {{"card", JT_STRING, true, 39}};
	jpki_err err = {0};
	int64_t id = 0;
	if (!app_id_arg(r, &id))
		return;
	json_t *b = srv_json_body(r, f, 1);
	if (b == NULL)
		return;
	int rc =
	    srv_jstr(b, "card")[0] == '\0'
		? jpki_fail(&err, JPKI_ERR_INVAL,
			    "card: the serial of the produced card")
		: registry_app_card_produced(w->ca, id, srv_jstr(b, "card"),
					     srv_time(w->s), r->actor, &err);
	json_decref(b);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	reply_app(w, r, id, MHD_HTTP_OK);
}

void api_app_reject(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {{"reason", JT_STRING, true, 255}};
	jpki_err err = {0};
	int64_t id = 0;
	if (!app_id_arg(r, &id))
		return;
	json_t *b = srv_json_body(r, f, 1);
	if (b == NULL)
		return;
	int rc = registry_app_reject(w->ca, id, srv_jstr(b, "reason"),
				     srv_time(w->s), r->actor, &err);
	json_decref(b);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	reply_app(w, r, id, MHD_HTTP_OK);
}

/* ---- completion ---- */

static const srv_jfield key_f[] = {{"spki", JT_STRING, true, 4096},
				   {"pop", JT_STRING, true, 2048}};

/* Decode the key of kind k and check its proof of possession; answers the
 * request on failure. */
static bool take_key(srv_req *r, json_t *b, int k, const store_app *a,
		     EVP_PKEY **out)
{
	static const char *const kn[3] = {NULL, "sign", "auth"};
	uint8_t der[SRV_SPKI_MAX];
	size_t der_len = 0;
	char msg[256];
	jpki_err err = {0};
	json_t *ko = json_object_get(b, kn[k]);
	const char *card =
	    a->new_card_serial[0] ? a->new_card_serial : a->card_serial;
	if (ko == NULL)
		return true;
	if (srv_json_check(ko, kn[k], key_f, 2, msg, sizeof(msg)) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "%s",
				msg);
		return false;
	}
	if (srv_spki_decode(srv_jstr(ko, "spki"), out, der, &der_len, &err) !=
	    0) {
		srv_reply_rc(r, JPKI_ERR_INVAL, &err);
		return false;
	}
	if (srv_pop_verify(srv_jstr(b, "challenge"), kn[k], a->resident_id,
			   card, *out, der, der_len, srv_jstr(ko, "pop"),
			   &err) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_pop", "%s",
				err.msg);
		return false;
	}
	return true;
}

/* Publish and count what a completion changed. */
static void publish_outcome(srv_worker *w, const registry_outcome *o)
{
	unsigned issued = 0, revoked = 0;
	if (o->issued.sign_der != NULL) {
		srv_publish_issued(w->s, o->issued.sign_serial, JPKI_CERT_SIGN);
		issued++;
	}
	if (o->issued.auth_der != NULL) {
		srv_publish_issued(w->s, o->issued.auth_serial, JPKI_CERT_AUTH);
		issued++;
	}
	for (int i = 0; i < o->revoked && i < 4; i++) {
		srv_publish_revoked(w, o->serials[i]);
		revoked++;
	}
	for (int i = 0; i < 2; i++)
		if (o->issued.superseded[i][0]) {
			srv_publish_revoked(w, o->issued.superseded[i]);
			revoked++;
		}
	if (issued > 0)
		srv_count_add(
		    w->s, o->issued.superseded[0][0] ? CNT_RENEWED : CNT_ISSUED,
		    issued);
	if (revoked > 0)
		srv_count_add(w->s, CNT_REVOKED, revoked);
}

/* POST .../complete {"challenge", "sign": {spki, pop}, "auth": {...},
 * "window"}: keys only for the certificates the application issues. */
void api_app_complete(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"challenge", JT_STRING, false, 64},
	    {"sign", JT_OBJECT, false, 0},
	    {"auth", JT_OBJECT, false, 0},
	    {"window", JT_STRING, false, 9},
	};
	registry_complete_in in = {0};
	registry_outcome o;
	store_app a;
	jpki_err err = {0};
	json_t *b = NULL, *rv = NULL, *res = NULL;
	int64_t id = 0;
	time_t now = srv_time(w->s);
	int rc;
	memset(&o, 0, sizeof(o));
	if (!app_id_arg(r, &id) ||
	    (b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]))) == NULL)
		goto out;
	bool keys = json_object_get(b, "sign") != NULL ||
		    json_object_get(b, "auth") != NULL;
	const char *win = srv_jstr(b, "window");
	if (win != NULL && strlen(win) != 9) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"window: 9 characters (受付窓口識別記号)");
		goto out;
	}
	in.window_id = win;
	if (keys && srv_jstr(b, "challenge") == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"challenge is required with keys (POST "
				"/api/v1/issue/challenge)");
		goto out;
	}
	if ((rc = store_app_get(ca_store(w->ca), id, &a, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (!take_key(r, b, JPKI_CERT_SIGN, &a, &in.sign_pub) ||
	    !take_key(r, b, JPKI_CERT_AUTH, &a, &in.auth_pub))
		goto out;
	/* the challenge is spent only by a request whose proofs verify */
	int crc = keys ? srv_challenge_take(w->s->sess, r->sid,
					    srv_jstr(b, "challenge"), now)
		       : 0;
	if (crc == JPKI_ERR_UNAVAILABLE) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"the store is out of reach; ask for a new "
				"challenge and try again");
		goto out;
	}
	if (crc != 0) {
		srv_reply_error(r, MHD_HTTP_CONFLICT, "challenge",
				"unknown, expired or used challenge");
		goto out;
	}
	if ((rc = registry_app_complete(w->ca, id, &in, now, r->actor, &o,
					&err)) != 0) {
		reply_refusal(w, r, id, now, rc, &err);
		goto out;
	}
	publish_outcome(w, &o);
	rv = json_array();
	for (int i = 0; i < o.revoked && i < 4; i++)
		json_array_append_new(rv, json_string(o.serials[i]));
	for (int i = 0; i < 2; i++)
		if (o.issued.superseded[i][0])
			json_array_append_new(
			    rv, json_string(o.issued.superseded[i]));
	res = json_pack("{s:I,s:s,s:s,s:o,s:{s:i,s:i,s:i}}", "id",
			(json_int_t)id, "state", "completed", "card",
			o.card_serial, "revoked_or_held", rv, "fee", "cert_yen",
			o.fee.cert_yen, "card_yen", o.fee.card_yen, "total_yen",
			o.fee.cert_yen + o.fee.card_yen);
	rv = NULL; /* transferred */
	if (res != NULL && o.issued.sign_der != NULL)
		json_object_set_new(res, "sign",
				    srv_issued_json(o.issued.sign_der,
						    o.issued.sign_der_len,
						    o.issued.sign_serial,
						    &o.issued.sign_validity));
	if (res != NULL && o.issued.auth_der != NULL)
		json_object_set_new(res, "auth",
				    srv_issued_json(o.issued.auth_der,
						    o.issued.auth_der_len,
						    o.issued.auth_serial,
						    &o.issued.auth_validity));
	srv_reply_json(r, MHD_HTTP_OK, res);
out:
	registry_outcome_free(&o);
	EVP_PKEY_free(in.sign_pub);
	EVP_PKEY_free(in.auth_pub);
	json_decref(b);
}

/* ---- completion onto a virtual card ---- */

#define VPIN_FIELD_MAX 16

static void pins_free(json_t *b)
{
	static const char *const pins[] = {"auth_pin", "sign_pin",
					   "cardinfo_pin"};
	for (size_t i = 0; b != NULL && i < 3; i++) {
		json_t *v = json_object_get(b, pins[i]);
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v),
					json_string_length(v));
	}
	json_decref(b);
}

/* A blank virtual card with the produced card's serial, under the
 * terminal key the counter keeps for it (recorded now, or by an earlier
 * attempt that did not complete). */
static int vcard_make(srv_worker *w, srv_req *r, const char *serial, time_t now,
		      jpki_card **card, jpki_err *err)
{
	jpki_card_params params;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	memset(&params, 0, sizeof(params));
	params.serial = serial;
	params.made = now;
	int rc = terminal_tkey_get(w->ca, serial, tkey, err);
	if (rc == 0) {
		params.tkey = tkey;
		rc = card_create(&params, card, NULL, err);
	} else if (rc == JPKI_ERR_NOT_FOUND) {
		jpki_err_clear(err);
		if ((rc = card_create(&params, card, tkey, err)) == 0)
			rc = terminal_tkey_record(w->ca, serial, tkey, now,
						  r->actor, err);
	}
	OPENSSL_cleanse(tkey, sizeof(tkey));
	return rc;
}

/* What completion writes onto a virtual card: keys for the kinds the plan
 * issues, the PINs of those kinds (or those a PIN reset names). */
typedef struct vcard_job {
	bool key[3]; /* [jpki_cert_kind]: generate a key pair */
	bool pin_sign, pin_auth, pin_cardinfo;
} vcard_job;

/* Terminal authentication, key pairs, PINs. */
static int vcard_prepare(srv_worker *w, const jpki_link *l, const char *serial,
			 const vcard_job *job, json_t *b,
			 registry_complete_in *in, jpki_err *err)
{
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	const char *ap = srv_jstr(b, "auth_pin");
	const char *cp = srv_jstr(b, "cardinfo_pin");
	int rc = terminal_tkey_get(w->ca, serial, tkey, err);
	if (rc == 0)
		rc = card_client_select(l, JPKI_AP_JPKI, err);
	if (rc == 0)
		rc = card_term_auth(l, tkey, err);
	OPENSSL_cleanse(tkey, sizeof(tkey));
	if (rc == 0 && job->key[JPKI_CERT_AUTH])
		rc = card_term_generate_key(l, JPKI_KEY_AUTH, &in->auth_pub,
					    err);
	if (rc == 0 && job->key[JPKI_CERT_SIGN])
		rc = card_term_generate_key(l, JPKI_KEY_SIGN, &in->sign_pub,
					    err);
	if (rc == 0 && job->pin_auth)
		rc = card_term_set_pin(l, JPKI_CPIN_AUTH, ap, err);
	if (rc == 0 && job->pin_sign)
		rc = card_term_set_pin(l, JPKI_CPIN_SIGN,
				       srv_jstr(b, "sign_pin"), err);
	if (rc == 0 && job->pin_cardinfo)
		rc = card_term_set_pin(l, JPKI_CPIN_CARDINFO,
				       cp != NULL ? cp : ap, err);
	return rc;
}

typedef struct valid_on_card {
	const char *card;
	bool kind[3];
} valid_on_card;

static int valid_cb(void *ctx, const store_cert *c)
{
	valid_on_card *v = ctx;
	if ((c->kind == JPKI_CERT_SIGN || c->kind == JPKI_CERT_AUTH) &&
	    c->status == STORE_CERT_VALID &&
	    strcmp(c->card_serial, v->card) == 0)
		v->kind[c->kind] = true;
	return 0;
}

/* The new certificates and their roots; EF 0008 from what is valid on
 * the card once the application completed. */
static int vcard_write(srv_worker *w, const jpki_link *l, int64_t resident,
		       const char *serial, const registry_outcome *o,
		       jpki_err *err)
{
	X509 *const roots[4] = {NULL, ca_root(w->ca, JPKI_CERT_AUTH), NULL,
				ca_root(w->ca, JPKI_CERT_SIGN)};
	const uint8_t *const leaves[4] = {o->issued.auth_der, NULL,
					  o->issued.sign_der, NULL};
	const size_t leaf_len[4] = {o->issued.auth_der_len, 0,
				    o->issued.sign_der_len, 0};
	const jpki_card_cert which[4] = {JPKI_CCERT_AUTH, JPKI_CCERT_AUTH_CA,
					 JPKI_CCERT_SIGN, JPKI_CCERT_SIGN_CA};
	valid_on_card v = {serial, {false, false, false}};
	int rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++) {
		/* only the kinds issued now: the rest of the card stays */
		if (leaves[i & ~1] == NULL)
			continue;
		unsigned char *der = NULL;
		int len = roots[i] != NULL ? i2d_X509(roots[i], &der) : 0;
		if (roots[i] != NULL && len <= 0)
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "encoding certificate");
		rc = roots[i] != NULL
			 ? card_term_write_cert(l, which[i], der, (size_t)len,
						err)
			 : card_term_write_cert(l, which[i], leaves[i],
						leaf_len[i], err);
		OPENSSL_free(der);
	}
	if (rc == 0)
		rc = store_cert_by_resident(ca_store(w->ca), resident, valid_cb,
					    &v, err);
	if (rc == 0)
		rc = card_term_write_presence(l, v.kind[JPKI_CERT_SIGN],
					      v.kind[JPKI_CERT_AUTH], err);
	return rc;
}

/* The card cannot be handed over after all: its certificates are of no
 * use (交付前に破棄). */
static void vcard_revoke(srv_worker *w, srv_req *r, const registry_outcome *o)
{
	const char *serials[2] = {o->issued.sign_serial, o->issued.auth_serial};
	for (int i = 0; i < 2; i++) {
		jpki_err e = {0};
		if (serials[i][0] != '\0' &&
		    ca_revoke(w->ca, serials[i], JPKI_REASON_UNSPECIFIED,
			      srv_time(w->s), r->actor, &e) == 0)
			srv_publish_revoked(w, serials[i]);
	}
}

static json_t *outcome_json(int64_t id, const registry_outcome *o)
{
	json_t *res =
	    json_pack("{s:I,s:s,s:s,s:{s:i,s:i,s:i}}", "id", (json_int_t)id,
		      "state", "completed", "card", o->card_serial, "fee",
		      "cert_yen", o->fee.cert_yen, "card_yen", o->fee.card_yen,
		      "total_yen", o->fee.cert_yen + o->fee.card_yen);
	json_t *rv = json_array();
	for (int i = 0; i < o->revoked && i < 4; i++)
		json_array_append_new(rv, json_string(o->serials[i]));
	for (int i = 0; i < 2; i++) /* a renewal supersedes */
		if (o->issued.superseded[i][0])
			json_array_append_new(
			    rv, json_string(o->issued.superseded[i]));
	json_object_set_new(res, "revoked_or_held", rv);
	if (o->issued.sign_der != NULL)
		json_object_set_new(res, "sign",
				    srv_issued_json(o->issued.sign_der,
						    o->issued.sign_der_len,
						    o->issued.sign_serial,
						    &o->issued.sign_validity));
	if (o->issued.auth_der != NULL)
		json_object_set_new(res, "auth",
				    srv_issued_json(o->issued.auth_der,
						    o->issued.auth_der_len,
						    o->issued.auth_serial,
						    &o->issued.auth_validity));
	return res;
}

/* POST .../complete-virtual {"auth_pin", "sign_pin", "cardinfo_pin",
 * "window"}: every kind onto the virtual card the service keeps.  A new
 * card or a reissue makes the card (card_ready); issue, renewal, found
 * and PIN reset load the kept card of the application; revocation and a
 * loss report need no card.  201 with the completion and, when a card was
 * written, the one-time image download. */
void api_app_complete_virtual(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"auth_pin", JT_STRING, false, VPIN_FIELD_MAX},
	    {"sign_pin", JT_STRING, false, VPIN_FIELD_MAX},
	    {"cardinfo_pin", JT_STRING, false, VPIN_FIELD_MAX},
	    {"window", JT_STRING, false, 9},
	};
	registry_complete_in in = {0};
	registry_outcome o;
	store_app a;
	jpki_plan plan;
	vcard_job job;
	jpki_card *card = NULL;
	jpki_err err = {0};
	json_t *b = NULL, *res = NULL;
	uint8_t *img = NULL, *kept = NULL;
	size_t img_len = 0, kept_len = 0;
	char url[128];
	int64_t id = 0;
	time_t now = srv_time(w->s);
	int rc;
	memset(&o, 0, sizeof(o));
	memset(&job, 0, sizeof(job));
	if (!app_id_arg(r, &id) ||
	    (b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]))) == NULL)
		goto out;
	const char *win = srv_jstr(b, "window");
	if (win != NULL && strlen(win) != 9) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"window: 9 characters (受付窓口識別記号)");
		goto out;
	}
	in.window_id = win;
	if ((rc = store_app_get(ca_store(w->ca), id, &a, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	bool new_card =
	    a.kind == STORE_APP_NEW_CARD || a.kind == STORE_APP_REISSUE;
	bool no_card = a.kind == STORE_APP_REVOKE || a.kind == STORE_APP_LOSS;
	const char *serial = new_card ? a.new_card_serial : a.card_serial;
	if (new_card &&
	    (a.state != STORE_APP_CARD_READY || a.new_card_serial[0] == '\0')) {
		srv_reply_error(r, MHD_HTTP_CONFLICT, "state",
				"application %lld is %s: its card must be at "
				"the counter (card_ready)",
				(long long)id,
				registry_app_state_name(a.state));
		goto out;
	}
	if (!new_card && a.state != STORE_APP_APPROVED) {
		srv_reply_error(r, MHD_HTTP_CONFLICT, "state",
				"application %lld is %s: complete is not "
				"allowed now",
				(long long)id,
				registry_app_state_name(a.state));
		goto out;
	}
	if (strlen(serial) > JPKI_CARD_SERIAL_LEN) {
		srv_reply_error(r, MHD_HTTP_CONFLICT, "state",
				"card serial %s is too long for a virtual "
				"card (at most %d characters)",
				serial, JPKI_CARD_SERIAL_LEN);
		goto out;
	}
	/* the one plan: which keys and PINs */
	if (!no_card && a.kind != STORE_APP_PIN_RESET &&
	    (rc = registry_app_plan(w->ca, id, now, &plan, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (!no_card && a.kind != STORE_APP_PIN_RESET) {
		job.key[JPKI_CERT_SIGN] = plan.cert[JPKI_CERT_SIGN].issue;
		job.key[JPKI_CERT_AUTH] = plan.cert[JPKI_CERT_AUTH].issue;
		job.pin_sign = job.key[JPKI_CERT_SIGN];
		job.pin_auth = job.key[JPKI_CERT_AUTH] || new_card;
		job.pin_cardinfo = new_card;
	} else if (a.kind == STORE_APP_PIN_RESET) {
		job.pin_sign = (a.pins & STORE_APP_PIN_SIGN) != 0;
		job.pin_auth = (a.pins & STORE_APP_PIN_AUTH) != 0;
		job.pin_cardinfo = (a.pins & STORE_APP_PIN_CARDINFO) != 0;
	}
	if (job.pin_sign && srv_jstr(b, "sign_pin") == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "sign_pin_required",
				"the application sets the signature PIN: "
				"give sign_pin");
		goto out;
	}
	if ((job.pin_auth ||
	     (job.pin_cardinfo && srv_jstr(b, "cardinfo_pin") == NULL)) &&
	    srv_jstr(b, "auth_pin") == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "auth_pin_required",
				"the application sets the authentication PIN: "
				"give auth_pin");
		goto out;
	}
	jpki_link link = {card_transmit, NULL};
	if (!no_card) {
		if (new_card)
			rc = vcard_make(w, r, serial, now, &card, &err);
		else if ((rc = terminal_kept_get(w->ca, serial, &kept,
						 &kept_len, &err)) == 0)
			rc = card_load_mem(kept, kept_len, &card, &err);
		if (rc != 0) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
		link.ctx = card;
		card_power(card, JPKI_CARD_POWER_ON);
		if ((rc = vcard_prepare(w, &link, serial, &job, b, &in,
					&err)) != 0) {
			srv_reply_rc(r, rc, &err);
			goto out;
		}
	}
	if ((rc = registry_app_complete(w->ca, id, &in, now, r->actor, &o,
					&err)) != 0) {
		reply_refusal(w, r, id, now, rc, &err);
		goto out;
	}
	if (no_card) {
		publish_outcome(w, &o);
		srv_reply_json(r, MHD_HTTP_CREATED, outcome_json(id, &o));
		goto out;
	}
	rc = vcard_write(w, &link, a.resident_id, serial, &o, &err);
	if (rc == 0)
		rc = card_image(card, &img, &img_len, &err);
	if (rc == 0)
		rc = terminal_kept_put(w->ca, serial, img, img_len, &err);
	if (rc == 0 &&
	    srv_download_put(w->s, serial, r->sid, &img, img_len, now) != 0)
		rc = jpki_fail(&err, JPKI_ERR_RANGE,
			       "too many card images wait for their download");
	if (rc != 0) {
		vcard_revoke(w, r, &o);
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"application %lld completed but the virtual "
				"card could not be finished (%s); its new "
				"certificates were revoked: issue again with "
				"a new application",
				(long long)id, jpki_err_msg(&err, rc));
		goto out;
	}
	publish_outcome(w, &o);
	snprintf(url, sizeof(url), "/api/v1/cards/virtual/%s/image", serial);
	res = outcome_json(id, &o);
	if (res != NULL)
		json_object_set_new(res, "download",
				    json_pack("{s:s,s:i,s:I}", "url", url,
					      "expires_in", SRV_DL_TTL, "size",
					      (json_int_t)img_len));
	srv_reply_json(r, MHD_HTTP_CREATED, res);
out:
	OPENSSL_cleanse(r->body.p, r->body.len);
	jpki_free_secret(img, img_len);
	jpki_free_secret(kept, kept_len);
	registry_outcome_free(&o);
	EVP_PKEY_free(in.sign_pub);
	EVP_PKEY_free(in.auth_pub);
	card_free(card);
	pins_free(b);
}

/* ---- expiry notices ---- */

/* The run's directory: <dir>/notices/<run>, run = the instant in compact
 * form, "-2".."-9" when a batch already ran in that second. */
static int notice_dir(server *s, time_t now, char run[NOTICE_RUN_MAX],
		      char *dir, size_t cap, jpki_err *err)
{
	char t[21], base[NOTICE_RUN_MAX];
	size_t k = 0;
	struct stat sb;
	jpki_time_format(now, t); /* 2026-11-25T01:00:00Z */
	for (size_t i = 0; t[i] != '\0' && k + 1 < sizeof(base); i++)
		if (t[i] != '-' && t[i] != ':')
			base[k++] = t[i];
	base[k] = '\0';
	for (int n = 1; n <= 9; n++) {
		int m = n == 1
			    ? snprintf(run, NOTICE_RUN_MAX, "%s", base)
			    : snprintf(run, NOTICE_RUN_MAX, "%s-%d", base, n);
		if (m < 0 || m >= NOTICE_RUN_MAX)
			break;
		m = snprintf(dir, cap, "%s/notices/%s", s->dir, run);
		if (m < 0 || (size_t)m >= cap)
			break;
		if (stat(dir, &sb) != 0 && errno == ENOENT)
			return 0;
	}
	return jpki_fail(err, JPKI_ERR_CONFLICT,
			 "too many notice batches this second; retry");
}

void api_notices_run(srv_worker *w, srv_req *r)
{
	registry_notice_summary sum;
	char run[NOTICE_RUN_MAX], dir[PATH_MAX + 64], l[96], m[96];
	jpki_err err = {0};
	time_t now = srv_time(w->s);
	if (!empty_body(r))
		return;
	memset(&sum, 0, sizeof(sum));
	int rc = notice_dir(w->s, now, run, dir, sizeof(dir), &err);
	if (rc == 0)
		rc =
		    registry_notices_run(w->ca, dir, now, r->actor, &sum, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	snprintf(l, sizeof(l), "/api/v1/notices/%s/letters.html", run);
	snprintf(m, sizeof(m), "/api/v1/notices/%s/mailroom.csv", run);
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:s,s:s,s:i,s:i,s:s,s:s}", "run", run,
				 "batch", sum.batch, "sent", sum.sent,
				 "already_sent", sum.already_sent, "letters", l,
				 "mailroom", m));
}

static bool run_ok(const char *run)
{
	size_t n = strlen(run);
	return n >= 16 && n < NOTICE_RUN_MAX &&
	       strspn(run, "0123456789TZ-") == n && run[0] != '-';
}

static void serve_notice(srv_worker *w, srv_req *r, const char *name,
			 const char *type)
{
	char path[PATH_MAX + 64];
	uint8_t *data = NULL;
	size_t len = 0;
	jpki_err err = {0};
	if (!run_ok(r->arg)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"not a notice run");
		return;
	}
	int n = snprintf(path, sizeof(path), "%s/notices/%s/%s", w->s->dir,
			 r->arg, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"path too long");
		return;
	}
	int rc = jpki_file_read(path, NOTICE_FILE_MAX, &data, &len, &err);
	if (rc != 0) {
		if (rc == JPKI_ERR_IO || rc == JPKI_ERR_NOT_FOUND)
			srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
					"no such notice run");
		else
			srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_document(r, data, len, type);
	free(data);
}

void api_notices_letters(srv_worker *w, srv_req *r)
{
	serve_notice(w, r, "letters.html", "text/html; charset=utf-8");
}

void api_notices_mailroom(srv_worker *w, srv_req *r)
{
	serve_notice(w, r, "mailroom.csv", "text/csv; charset=utf-8");
}
