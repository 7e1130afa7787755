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
