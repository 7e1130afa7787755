/* GET /api/v1/applications: the counter's application list (issue #10
 * item 7), with the residents' names and the dates a clerk looks for.
 *
 *   ?q=FILTER[:FROM..TO]&limit=N
 *
 * FILTER: "open" (the default: not yet finished), "inquiry" (waiting for
 * the 照会書兼回答書 to come back: state inquiry_sent), "finished"
 * (completed, rejected or cancelled), "completed", "all", one state name
 * (received, inquiry_sent, ...) or a resident id (every application of
 * that resident).  FROM..TO (YYYY-MM-DD, JST, either end may be left out)
 * keeps the applications received on those days.  Newest first.
 *
 * Each application is the one JSON view (srv_app_json) plus
 * resident_name, resident_kana, received (the JST day it was opened) and
 * closed (the JST day it was finished, null while open). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/util.h"
#include "server_int.h"

static int row_cb(void *ctx, const store_app_row *row)
{
	char d[11];
	json_t *o = srv_app_json(&row->app);
	if (o == NULL)
		return -1;
	jpki_date_format(jpki_date_of(row->app.opened_at), d);
	json_object_set_new(o, "resident_name", json_string(row->name));
	json_object_set_new(o, "resident_kana", json_string(row->kana));
	json_object_set_new(o, "received", json_string(d));
	if (row->app.state >= STORE_APP_COMPLETED) {
		jpki_date_format(jpki_date_of(row->app.updated_at), d);
		json_object_set_new(o, "closed", json_string(d));
	} else {
		json_object_set_new(o, "closed", json_null());
	}
	return json_array_append_new(ctx, o) == 0 ? 0 : -1;
}

/* "YYYY-MM-DD" or "" into an instant: the day's first second (from) or
 * last (to); 0 for "". */
static bool day_bound(const char *s, size_t n, bool end, time_t *out)
{
	char b[11];
	jpki_date d;
	if (n == 0) {
		*out = 0;
		return true;
	}
	if (n != 10)
		return false;
	memcpy(b, s, 10);
	b[10] = '\0';
	if (jpki_date_parse(b, &d) != 0)
		return false;
	*out = end ? jpki_date_end(d) : jpki_date_start(d);
	return true;
}

/* The filter of q; false when q names none. */
static bool parse_filter(const char *q, store_app_filter *f)
{
	char name[32];
	const char *colon = strchr(q, ':');
	size_t n = colon != NULL ? (size_t)(colon - q) : strlen(q);
	memset(f, 0, sizeof(*f));
	f->state_min = STORE_APP_RECEIVED;
	f->state_max = STORE_APP_CARD_READY;
	if (n >= sizeof(name))
		return false;
	memcpy(name, q, n);
	name[n] = '\0';
	if (colon != NULL) {
		const char *dots = strstr(colon + 1, "..");
		if (dots == NULL ||
		    !day_bound(colon + 1, (size_t)(dots - colon - 1), false,
			       &f->opened_from) ||
		    !day_bound(dots + 2, strlen(dots + 2), true, &f->opened_to))
			return false;
		if (f->opened_to != 0 && f->opened_from > f->opened_to)
			return false;
	}
	if (n > 0 && n <= 18 && strspn(name, "0123456789") == n) {
		f->resident_id = strtoll(name, NULL, 10);
		f->state_max = STORE_APP_CANCELLED;
		return f->resident_id > 0;
	}
	if (n == 0 || strcmp(name, "open") == 0)
		return true;
	if (strcmp(name, "inquiry") == 0) {
		f->state_min = f->state_max = STORE_APP_INQUIRY_SENT;
		return true;
	}
	if (strcmp(name, "finished") == 0) {
		f->state_min = STORE_APP_COMPLETED;
		f->state_max = STORE_APP_CANCELLED;
		return true;
	}
	if (strcmp(name, "all") == 0) {
		f->state_max = STORE_APP_CANCELLED;
		return true;
	}
	for (int s = STORE_APP_RECEIVED; s <= STORE_APP_CANCELLED; s++)
		if (strcmp(name, registry_app_state_name((store_app_state)s)) ==
		    0) {
			f->state_min = f->state_max = (store_app_state)s;
			return true;
		}
	return false;
}

void api_apps_list(srv_worker *w, srv_req *r)
{
	store_app_filter f;
	jpki_err err = {0};
	if (!parse_filter(r->arg2, &f)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"q: open, inquiry, finished, completed, all, a "
				"state (received, inquiry_sent, ...) or a "
				"resident id, then optionally "
				":YYYY-MM-DD..YYYY-MM-DD (received)");
		return;
	}
	json_t *arr = json_array();
	int rc =
	    store_app_find(ca_store(w->ca), &f, r->limit, row_cb, arr, &err);
	if (rc != 0) {
		json_decref(arr);
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "applications", arr));
}

/* ---- printable letters (H3) ----
 * GET /api/v1/applications/{id}/inquiry-letter: the 照会書兼回答書 of an
 * application in state inquiry_sent; GET /api/v1/applications/{id}/receipt:
 * the 領収書 of a completed one.  HTML for the browser to print, with the
 * same headers as the notice letters (no script, no caching). */

static bool id_of(srv_req *r, int64_t *id)
{
	size_t n = strlen(r->arg);
	if (n == 0 || n > 18 || strspn(r->arg, "0123456789") != n ||
	    (*id = strtoll(r->arg, NULL, 10)) <= 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"an application id is a positive integer");
		return false;
	}
	return true;
}

static void reply_html(srv_req *r, jpki_wbuf *b)
{
	srv_reply_document(r, b->len ? b->p : (const uint8_t *)"", b->len,
			   "text/html; charset=utf-8");
}

void api_app_inquiry_letter(srv_worker *w, srv_req *r)
{
	jpki_wbuf b;
	jpki_err err = {0};
	int64_t id = 0;
	if (!id_of(r, &id))
		return;
	int rc = registry_inquiry_letter(w->ca, id, &b, &err);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		reply_html(r, &b);
	jpki_wbuf_free(&b);
}

void api_app_receipt(srv_worker *w, srv_req *r)
{
	jpki_wbuf b;
	jpki_err err = {0};
	int64_t id = 0;
	if (!id_of(r, &id))
		return;
	int rc = registry_receipt(w->ca, id, srv_time(w->s), &b, &err);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		reply_html(r, &b);
	jpki_wbuf_free(&b);
}

/* ---- the office of a municipality (H3) ----
 * GET /api/v1/municipalities/{code}/office and POST (the four fields,
 * each optional, "" clears): the name, address, phone and hours the
 * letters carry. */

static json_t *office_json(const char *code, const store_office *o)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", code, "name", o->name,
			 "address", o->address, "phone", o->phone, "hours",
			 o->hours);
}

static bool code_of(srv_req *r)
{
	if (strlen(r->arg) != 6 || strspn(r->arg, "0123456789") != 6) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"a municipality code is 6 digits");
		return false;
	}
	return true;
}

void api_muni_office_get(srv_worker *w, srv_req *r)
{
	store_office o;
	jpki_err err = {0};
	if (!code_of(r))
		return;
	int rc = store_muni_office_get(ca_store(w->ca), r->arg, &o, &err);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		srv_reply_json(r, MHD_HTTP_OK, office_json(r->arg, &o));
}

/* Apply the office fields of a request body to o (checked by the
 * caller's srv_jfield list); JPKI_ERR_RANGE for one longer than the
 * store keeps. */
int srv_office_fields(json_t *b, store_office *o, jpki_err *err)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} f[] = {
	    {"office_name", offsetof(store_office, name), sizeof(o->name)},
	    {"office_address", offsetof(store_office, address),
	     sizeof(o->address)},
	    {"office_phone", offsetof(store_office, phone), sizeof(o->phone)},
	    {"office_hours", offsetof(store_office, hours), sizeof(o->hours)},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = srv_jstr(b, f[i].key);
		if (v != NULL &&
		    jpki_strlcpy((char *)o + f[i].off, v, f[i].cap) != 0)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "%s: longer than %zu bytes", f[i].key,
					 f[i].cap - 1);
	}
	return 0;
}

void api_muni_office_post(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"office_name", JT_STRING, false, 127},
	    {"office_address", JT_STRING, false, 255},
	    {"office_phone", JT_STRING, false, 31},
	    {"office_hours", JT_STRING, false, 127},
	};
	store_office o;
	jpki_err err = {0};
	if (!code_of(r))
		return;
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	int rc = store_muni_office_get(ca_store(w->ca), r->arg, &o, &err);
	if (rc == 0 && (rc = srv_office_fields(b, &o, &err)) == 0) {
		rc = registry_muni_office_set(w->ca, r->arg, &o, srv_time(w->s),
					      r->actor, &err);
	}
	json_decref(b);
	if (rc != 0)
		srv_reply_rc(r, rc, &err);
	else
		srv_reply_json(r, MHD_HTTP_OK, office_json(r->arg, &o));
}
