/* /api/v1/residents and /api/v1/cards: the 住民基本台帳 record the service
 * needs, and the changes the law turns into revocations (registry/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"
#include "openjpki/views.h"
#include "server_int.h"

static bool id_arg(srv_req *r, int64_t *id)
{
	char *end = NULL;
	long long v = strtoll(r->arg, &end, 10);
	if (end == r->arg || *end != '\0' || v <= 0 ||
	    strspn(r->arg, "0123456789") != strlen(r->arg)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"a resident id is a positive integer");
		return false;
	}
	*id = v;
	return true;
}

/* Copy a validated string field into a fixed buffer; one longer than
 * the buffer is refused, not cut. */
static int cp(char *dst, size_t cap, json_t *b, const char *key, jpki_err *err)
{
	const char *v = srv_jstr(b, key);
	if (v != NULL && jpki_strlcpy(dst, v, cap) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "%s: longer than %zu bytes", key, cap - 1);
	return 0;
}

/* Fields shared by create and change, already type-checked. */
static int resident_fields(json_t *b, store_resident *res, jpki_err *err)
{
	const char *birth = srv_jstr(b, "birth");
	json_t *sex = json_object_get(b, "sex");
	json_t *ward = json_object_get(b, "adult_ward");
	int rc;
	if ((rc = cp(res->name, sizeof(res->name), b, "name", err)) != 0 ||
	    (rc = cp(res->kana, sizeof(res->kana), b, "kana", err)) != 0 ||
	    (rc = cp(res->address, sizeof(res->address), b, "address", err)) !=
		0)
		return rc;
	if (birth != NULL && jpki_date_parse(birth, &res->birth) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "birth: a date YYYY-MM-DD, not %.16s", birth);
	if (sex != NULL) {
		json_int_t v = json_integer_value(sex);
		if (v != 1 && v != 2)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "sex: 1 (男) or 2 (女)");
		res->sex = (int)v;
	}
	if (ward != NULL)
		res->adult_ward = json_is_true(ward);
	/* 個人番号: "" or null clears it; the check digit is the law's */
	json_t *mn = json_object_get(b, "my_number");
	if (mn != NULL) {
		const char *v = json_is_string(mn) ? json_string_value(mn) : "";
		if (v[0] != '\0' && rules_mynumber_check(v, err) != 0)
			return jpki_wrap(err, JPKI_ERR_INVAL, "my_number");
		if (jpki_strlcpy(res->my_number, v, sizeof(res->my_number)) !=
		    0)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "my_number: 12 digits");
	}
	if (res->name[0] == '\0' || res->address[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "name and address must not be empty");
	return 0;
}

static const srv_jfield resident_f[] = {
    {"ext_id", JT_STRING, true, 31},	 {"name", JT_STRING, true, 255},
    {"kana", JT_STRING, true, 255},	 {"address", JT_STRING, true, 511},
    {"birth", JT_STRING, true, 10},	 {"sex", JT_INT, true, 0},
    {"muni", JT_STRING, true, 6},	 {"adult_ward", JT_BOOL, false, 0},
    {"my_number", JT_STRING, false, 12},
};

void api_residents_post(srv_worker *w, srv_req *r)
{
	store_resident res;
	jpki_err err = {0};
	time_t now = srv_time(w->s);
	json_t *b = srv_json_body(r, resident_f,
				  sizeof(resident_f) / sizeof(resident_f[0]));
	if (b == NULL)
		return;
	memset(&res, 0, sizeof(res));
	res.status = STORE_RESIDENT_LIVING;
	res.updated_at = now;
	int rc;
	if ((rc = cp(res.ext_id, sizeof(res.ext_id), b, "ext_id", &err)) == 0 &&
	    (rc = cp(res.muni_code, sizeof(res.muni_code), b, "muni", &err)) ==
		0)
		rc = resident_fields(b, &res, &err);
	json_decref(b);
	if (rc == 0 && res.ext_id[0] == '\0')
		rc =
		    jpki_fail(&err, JPKI_ERR_INVAL, "ext_id must not be empty");
	if (rc == 0)
		rc = registry_resident_add(w->ca, &res, now, r->actor, &err);
	if (rc != 0) {
		if (rc == JPKI_ERR_CONFLICT)
			jpki_wrap(&err, rc, "ext_id %s", res.ext_id);
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_json(r, MHD_HTTP_CREATED, jpki_view_resident(&res));
}

/* POST /api/v1/residents/import: a residents CSV file (text/csv, the
 * header registry.h names), imported whole or not at all.  200 with the
 * count; 422 with the bad rows by line when any is bad. */
void api_residents_import(srv_worker *w, srv_req *r)
{
	jpki_err err = {0};
	registry_import_result *res = calloc(1, sizeof(*res));
	json_t *errs = NULL;
	if (res == NULL) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		goto out;
	}
	if (r->body.len == 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"a CSV body is required (text/csv, header "
				"ext_id,name,kana,address,birth,sex,muni,"
				"adult_ward)");
		goto out;
	}
	int rc = registry_residents_import(w->ca, r->body.p, r->body.len,
					   srv_time(w->s), r->actor, NULL, NULL,
					   res, &err);
	if (rc != 0 && rc != JPKI_ERR_INVAL && rc != JPKI_ERR_PARSE) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if ((errs = json_array()) == NULL) {
		srv_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	size_t listed = res->nerrors < REGISTRY_IMPORT_ERRORS_MAX
			    ? res->nerrors
			    : REGISTRY_IMPORT_ERRORS_MAX;
	for (size_t i = 0; i < listed; i++)
		json_array_append_new(errs,
				      json_pack("{s:I,s:s}", "line",
						(json_int_t)res->errors[i].line,
						"reason", res->errors[i].msg));
	if (rc == JPKI_ERR_PARSE && listed == 0)
		json_array_append_new(errs, json_pack("{s:I,s:s}", "line",
						      (json_int_t)1, "reason",
						      jpki_err_msg(&err, rc)));
	json_t *o = json_pack("{s:I,s:I,s:I,s:o}", "imported",
			      (json_int_t)res->imported, "rows",
			      (json_int_t)res->rows, "error_count",
			      (json_int_t)(rc == 0	      ? 0
					   : res->nerrors > 0 ? res->nerrors
							      : 1),
			      "errors", errs);
	errs = NULL;
	srv_reply_json(
	    r, rc == 0 ? MHD_HTTP_OK : MHD_HTTP_UNPROCESSABLE_CONTENT, o);
out:
	json_decref(errs);
	free(res);
}

static int add_resident(void *ctx, const store_resident *res)
{
	return json_array_append_new(ctx, jpki_view_resident(res)) == 0 ? 0
									: -1;
}

void api_residents_search(srv_worker *w, srv_req *r)
{
	jpki_err err = {0};
	json_t *arr = json_array();
	int rc = registry_resident_find(w->ca, r->arg2, r->limit, add_resident,
					arr, &err);
	if (rc != 0) {
		json_decref(arr);
		srv_reply_rc(r, rc, &err);
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "residents", arr));
}

static int add_cert(void *ctx, const store_cert *c)
{
	return json_array_append_new(ctx, jpki_view_certificate(c)) == 0 ? 0
									 : -1;
}

static void reply_resident(srv_worker *w, srv_req *r, int64_t id, int status,
			   const registry_change_result *res)
{
	store_resident rec;
	jpki_err err = {0};
	int rc = store_resident_get(ca_store(w->ca), id, &rec, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_t *o = jpki_view_resident(&rec);
	json_t *certs = json_array();
	if ((rc = store_cert_by_resident(ca_store(w->ca), id, add_cert, certs,
					 &err)) != 0) {
		json_decref(o);
		json_decref(certs);
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_object_set_new(o, "certificates", certs);
	if (res != NULL) {
		json_t *rev = json_array();
		for (int i = 0; i < res->revoked && i < 4; i++)
			json_array_append_new(rev,
					      json_string(res->serials[i]));
		json_object_set_new(o, "revoked", rev);
		json_object_set_new(o, "revoked_count",
				    json_integer(res->revoked));
	}
	srv_reply_json(r, status, o);
}

void api_resident_get(srv_worker *w, srv_req *r)
{
	int64_t id = 0;
	if (id_arg(r, &id))
		reply_resident(w, r, id, MHD_HTTP_OK, NULL);
}

/* Publish what a registry change revoked (the first four serials; a
 * resident holds at most two valid certificates per card, and the
 * refresher's sync catches anything beyond). */
static void publish_change(srv_worker *w, const registry_change_result *res)
{
	if (res->revoked > 0)
		srv_count_add(w->s, CNT_REVOKED, (unsigned)res->revoked);
	for (int i = 0; i < res->revoked && i < 4; i++)
		srv_publish_revoked(w, res->serials[i]);
}

void api_resident_patch(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"ext_id", JT_STRING, false, 31},
	    {"name", JT_STRING, false, 255},
	    {"kana", JT_STRING, false, 255},
	    {"address", JT_STRING, false, 511},
	    {"birth", JT_STRING, false, 10},
	    {"sex", JT_INT, false, 0},
	    {"muni", JT_STRING, false, 6},
	    {"adult_ward", JT_BOOL, false, 0},
	    {"my_number", JT_STRING, false, 12},
	};
	store_resident res;
	registry_change_result out;
	jpki_err err = {0};
	int64_t id = 0;
	time_t now = srv_time(w->s);
	int rc;
	if (!id_arg(r, &id))
		return;
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(f[0]));
	if (b == NULL)
		return;
	if (json_object_get(b, "ext_id") != NULL ||
	    json_object_get(b, "muni") != NULL) {
		json_decref(b);
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"ext_id and muni cannot change (a move to "
				"another municipality is a new record)");
		return;
	}
	if (json_object_size(b) == 0) {
		json_decref(b);
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"nothing to change");
		return;
	}
	memset(&out, 0, sizeof(out));
	if ((rc = store_resident_get(ca_store(w->ca), id, &res, &err)) == 0 &&
	    (rc = resident_fields(b, &res, &err)) == 0) {
		res.updated_at = now;
		rc = registry_resident_change(w->ca, &res, now, r->actor, &out,
					      &err);
	}
	json_decref(b);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	publish_change(w, &out);
	reply_resident(w, r, id, MHD_HTTP_OK, &out);
}

void api_resident_remove(srv_worker *w, srv_req *r)
{
	registry_change_result out;
	jpki_err err = {0};
	int64_t id = 0;
	if (!id_arg(r, &id))
		return;
	if (r->body.len > 0) {
		/* an empty object is the only body accepted */
		json_t *b = srv_json_body(r, NULL, 0);
		if (b == NULL)
			return;
		json_decref(b);
	}
	memset(&out, 0, sizeof(out));
	int rc = registry_resident_remove(w->ca, id, srv_time(w->s), r->actor,
					  &out, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	publish_change(w, &out);
	reply_resident(w, r, id, MHD_HTTP_OK, &out);
}

/* A card is recorded once: the store's upsert would otherwise let a
 * request move a card to another resident.  The check and the write share
 * one transaction. */
static int record_new_card(jpki_ca *ca, store_card *c, time_t now,
			   const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	store_card old;
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	rc = store_card_get(st, c->serial, &old, NULL);
	if (rc == 0)
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "card %s is already on record", c->serial);
	else if (rc == JPKI_ERR_NOT_FOUND)
		rc = registry_card_record(ca, c, now, actor, err);
	if (rc != 0 || (rc = store_commit(st, err)) != 0)
		store_rollback(st);
	return rc;
}

void api_cards_post(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {{"serial", JT_STRING, true, 39},
				       {"resident", JT_INT, true, 0},
				       {"issued", JT_STRING, false, 10}};
	store_card c;
	jpki_err err = {0};
	time_t now = srv_time(w->s);
	char a[11], e[11];
	int rc = 0;
	json_t *b = srv_json_body(r, f, 3);
	if (b == NULL)
		return;
	memset(&c, 0, sizeof(c));
	rc = cp(c.serial, sizeof(c.serial), b, "serial", &err);
	c.resident_id = json_integer_value(json_object_get(b, "resident"));
	c.issued = jpki_date_of(now);
	c.status = STORE_CARD_ACTIVE;
	const char *issued = srv_jstr(b, "issued");
	if (rc == 0 && issued != NULL &&
	    jpki_date_parse(issued, &c.issued) != 0)
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "issued: a date YYYY-MM-DD");
	else if (rc == 0 && (c.serial[0] == '\0' || c.resident_id <= 0))
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "serial and resident are required");
	json_decref(b);
	if (rc == 0)
		rc = record_new_card(w->ca, &c, now, r->actor, &err);
	if (rc != 0) {
		srv_reply_rc(r, rc, &err);
		return;
	}
	jpki_date_format(c.issued, a);
	jpki_date_format(c.expiry, e);
	srv_reply_json(r, MHD_HTTP_CREATED,
		       json_pack("{s:s,s:I,s:s,s:s,s:s}", "serial", c.serial,
				 "resident", (json_int_t)c.resident_id,
				 "issued", a, "expiry", e, "status", "active"));
}
