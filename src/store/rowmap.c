/* The record descriptions (rowmap.h) and the conversions between a
 * struct field and a database value. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/date.h"
#include "rowmap.h"
#include "store_impl.h"

#define F(type_, member, col, t, what)                                         \
	{                                                                      \
		col, t, offsetof(type_, member), sizeof(((type_ *)0)->member), \
		    what                                                       \
	}
#define MAP(name_, arr)                                                        \
	{                                                                      \
		name_, arr, (int)(sizeof(arr) / sizeof(arr[0]))                \
	}

static const struct rm_field muni_f[] = {
    F(store_muni, code, "code", RM_TEXT, "municipality code"),
    F(store_muni, pref_roman, "pref_roman", RM_TEXT, "prefecture (roman)"),
    F(store_muni, city_roman, "city_roman", RM_TEXT, "city (roman)"),
    F(store_muni, pref, "pref", RM_TEXT, "prefecture"),
    F(store_muni, city, "city", RM_TEXT, "city"),
};
const struct rm_map rm_muni = MAP("municipality", muni_f);

static const struct rm_field resident_f[] = {
    F(store_resident, id, "id", RM_I64, "resident id"),
    F(store_resident, ext_id, "ext_id", RM_TEXT, "resident ext_id"),
    F(store_resident, name, "name", RM_TEXT, "resident name"),
    F(store_resident, kana, "kana", RM_TEXT, "resident kana"),
    F(store_resident, address, "address", RM_TEXT, "resident address"),
    F(store_resident, birth, "birth", RM_DATE, "resident birth date"),
    F(store_resident, sex, "sex", RM_INT, "resident sex"),
    F(store_resident, muni_code, "muni_code", RM_TEXT,
      "resident municipality code"),
    F(store_resident, adult_ward, "adult_ward", RM_BOOL, "resident adult ward"),
    F(store_resident, status, "status", RM_INT, "resident status"),
    F(store_resident, updated_at, "updated_at", RM_I64, "resident update"),
    F(store_resident, my_number, "my_number", RM_TEXT_NULL,
      "resident my_number"),
};
const struct rm_map rm_resident = MAP("resident", resident_f);

static const struct rm_field card_f[] = {
    F(store_card, serial, "serial", RM_TEXT, "card serial"),
    F(store_card, resident_id, "resident_id", RM_I64, "card resident"),
    F(store_card, issued, "issued", RM_DATE, "card issue date"),
    F(store_card, expiry, "expiry", RM_DATE, "card expiry date"),
    F(store_card, status, "status", RM_INT, "card status"),
};
const struct rm_map rm_card = MAP("card", card_f);

static const struct rm_field cert_f[] = {
    F(store_cert, serial, "serial", RM_TEXT, "certificate serial"),
    F(store_cert, kind, "kind", RM_INT, "certificate kind"),
    F(store_cert, resident_id, "resident_id", RM_I64_NULL,
      "certificate resident"),
    F(store_cert, card_serial, "card_serial", RM_TEXT_NULL,
      "certificate card serial"),
    F(store_cert, muni_code, "muni_code", RM_TEXT_NULL,
      "certificate municipality code"),
    F(store_cert, subject, "subject", RM_TEXT, "certificate subject"),
    F(store_cert, not_before, "not_before", RM_I64, "certificate not_before"),
    F(store_cert, not_after, "not_after", RM_I64, "certificate not_after"),
    F(store_cert, status, "status", RM_INT, "certificate status"),
    F(store_cert, reason, "reason", RM_INT, "revocation reason"),
    F(store_cert, revoked_at, "revoked_at", RM_I64, "revocation time"),
    F(store_cert, gen, "gen", RM_INT, "issuer root generation"),
};
const struct rm_map rm_cert = MAP("certificate", cert_f);

static const struct rm_field crl_row_f[] = {
    F(store_crl_row, serial, "serial", RM_TEXT, "certificate serial"),
    F(store_crl_row, reason, "reason", RM_INT, "revocation reason"),
    F(store_crl_row, revoked_at, "revoked_at", RM_I64, "revocation time"),
    F(store_crl_row, gen, "gen", RM_INT, "issuer root generation"),
};
const struct rm_map rm_crl_row = MAP("revoked certificate", crl_row_f);

static const struct rm_field cert_state_f[] = {
    F(struct rm_cert_state, status, "status", RM_INT, "certificate status"),
    F(struct rm_cert_state, reason, "reason", RM_INT, "revocation reason"),
    F(struct rm_cert_state, revoked_at, "revoked_at", RM_I64,
      "revocation time"),
};
const struct rm_map rm_cert_state = MAP("certificate state", cert_state_f);

static const struct rm_field audit_f[] = {
    F(store_audit, seq, "seq", RM_I64, "audit seq"),
    F(store_audit, at, "at", RM_I64, "audit time"),
    F(store_audit, actor, "actor", RM_TEXT, "audit actor"),
    F(store_audit, action, "action", RM_TEXT, "audit action"),
    F(store_audit, detail, "detail", RM_TEXT, "audit detail"),
    F(store_audit, prev_hash, "prev_hash", RM_TEXT, "audit prev_hash"),
    F(store_audit, hash, "hash", RM_TEXT, "audit hash"),
};
const struct rm_map rm_audit = MAP("audit record", audit_f);

static const struct rm_field audit_head_f[] = {
    F(struct rm_audit_head, seq, "seq", RM_I64, "audit seq"),
    F(struct rm_audit_head, hash, "hash", RM_TEXT, "audit hash"),
};
const struct rm_map rm_audit_head = MAP("audit head", audit_head_f);

static const struct rm_field app_f[] = {
    F(store_app, id, "id", RM_I64, "application id"),
    F(store_app, resident_id, "resident_id", RM_I64, "application resident"),
    F(store_app, kind, "kind", RM_INT, "application kind"),
    F(store_app, state, "state", RM_INT, "application state"),
    F(store_app, applicant, "applicant", RM_INT, "applicant"),
    F(store_app, agent_name, "agent_name", RM_TEXT, "agent name"),
    F(store_app, certs, "certs", RM_INT, "application certs"),
    F(store_app, pins, "pins", RM_INT, "application pins"),
    F(store_app, card_serial, "card_serial", RM_TEXT_NULL,
      "application card serial"),
    F(store_app, new_card_serial, "new_card_serial", RM_TEXT_NULL,
      "application new card serial"),
    F(store_app, inquiry_sent, "inquiry_sent", RM_DATE_NULL,
      "inquiry sent date"),
    F(store_app, inquiry_answered, "inquiry_answered", RM_DATE_NULL,
      "inquiry answer date"),
    F(store_app, note, "note", RM_TEXT, "application note"),
    F(store_app, opened_at, "opened_at", RM_I64, "application opening"),
    F(store_app, updated_at, "updated_at", RM_I64, "application update"),
};
const struct rm_map rm_app = MAP("application", app_f);

static const struct rm_field app_row_names_f[] = {
    F(store_app_row, name, "name", RM_TEXT, "resident name"),
    F(store_app_row, kana, "kana", RM_TEXT, "resident kana"),
};
const struct rm_map rm_app_row_names = MAP("application row", app_row_names_f);

static const struct rm_field doc_f[] = {
    F(store_app_doc, app_id, "app_id", RM_I64, "document application"),
    F(store_app_doc, seq, "seq", RM_INT, "document seq"),
    F(store_app_doc, role, "role", RM_INT, "document role"),
    F(store_app_doc, type, "type", RM_TEXT, "document type"),
    F(store_app_doc, number, "number", RM_TEXT, "document number"),
    F(store_app_doc, expiry, "expiry", RM_DATE_NULL, "document expiry"),
    F(store_app_doc, added_at, "added_at", RM_I64, "document time"),
};
const struct rm_map rm_doc = MAP("document", doc_f);

static const struct rm_field event_f[] = {
    F(store_app_event, app_id, "app_id", RM_I64, "event application"),
    F(store_app_event, seq, "seq", RM_INT, "event seq"),
    F(store_app_event, at, "at", RM_I64, "event time"),
    F(store_app_event, actor, "actor", RM_TEXT, "event actor"),
    F(store_app_event, event, "event", RM_TEXT, "event name"),
    F(store_app_event, from_state, "from_state", RM_INT, "event from"),
    F(store_app_event, to_state, "to_state", RM_INT, "event to"),
    F(store_app_event, detail, "detail", RM_TEXT, "event detail"),
};
const struct rm_map rm_event = MAP("event", event_f);

static const struct rm_field notice_f[] = {
    F(store_notice, cert_serial, "cert_serial", RM_TEXT, "notice serial"),
    F(store_notice, resident_id, "resident_id", RM_I64, "notice resident"),
    F(store_notice, expiry, "expiry", RM_DATE, "notice expiry"),
    F(store_notice, batch, "batch", RM_TEXT, "notice batch"),
    F(store_notice, sent_at, "sent_at", RM_I64, "notice time"),
};
const struct rm_map rm_notice = MAP("notice", notice_f);

static const struct rm_field office_f[] = {
    F(store_office, name, "office_name", RM_TEXT, "office name"),
    F(store_office, address, "office_address", RM_TEXT, "office address"),
    F(store_office, phone, "office_phone", RM_TEXT, "office phone"),
    F(store_office, hours, "office_hours", RM_TEXT, "office hours"),
};
const struct rm_map rm_office = MAP("office", office_f);

static const struct rm_field token_f[] = {
    F(store_token, id, "id", RM_TEXT, "token id"),
    F(store_token, kind, "kind", RM_INT, "token kind"),
    F(store_token, owner, "owner", RM_TEXT, "token owner"),
    F(store_token, op, "operator", RM_TEXT, "token operator"),
    F(store_token, role, "role", RM_INT, "token role"),
    F(store_token, gen, "gen", RM_I64, "token generation"),
    F(store_token, expires, "expires", RM_I64, "token expiry"),
    F(store_token, last, "last", RM_I64, "token last use"),
    F(store_token, extra, "extra", RM_TEXT, "token extra"),
};
const struct rm_map rm_token = MAP("token", token_f);

/* ---- conversions -------------------------------------------------------- */

static int64_t get_int(const struct rm_field *f, const void *p)
{
	if (f->type == RM_BOOL)
		return *(const bool *)p ? 1 : 0;
	if (f->size == sizeof(int32_t)) {
		int32_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	int64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

void rm_get(const struct rm_field *f, const void *rec, struct rm_value *v)
{
	const char *p = (const char *)rec + f->off;
	memset(v, 0, sizeof(*v));
	switch (f->type) {
	case RM_TEXT:
	case RM_TEXT_NULL:
		if (f->type == RM_TEXT_NULL && p[0] == '\0')
			return; /* RMV_NULL */
		v->kind = RMV_TEXT;
		v->s = p;
		v->len = strnlen(p, f->size);
		return;
	case RM_DATE:
	case RM_DATE_NULL: {
		jpki_date d;
		memcpy(&d, p, sizeof(d));
		if (f->type == RM_DATE_NULL && d.y == 0 && d.m == 0 && d.d == 0)
			return;
		jpki_date_format(d, v->buf);
		v->kind = RMV_TEXT;
		v->s = v->buf;
		v->len = strlen(v->buf);
		return;
	}
	case RM_INT:
	case RM_BOOL:
	case RM_I64:
	case RM_I64_NULL:
		v->i = get_int(f, p);
		if (f->type == RM_I64_NULL && v->i == 0)
			return;
		v->kind = RMV_INT;
		return;
	}
}

void rm_get_text(const struct rm_field *f, const void *rec, struct rm_value *v)
{
	rm_get(f, rec, v);
	if (v->kind != RMV_INT)
		return;
	snprintf(v->buf, sizeof(v->buf), "%" PRId64, v->i);
	v->kind = RMV_TEXT;
	v->s = v->buf;
	v->len = strlen(v->buf);
}

/* A decimal integer of at most 20 characters. */
static int parse_int(const char *s, size_t len, int64_t *out)
{
	char buf[24];
	char *end = NULL;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno != 0 || end != buf + len)
		return -1;
	*out = v;
	return 0;
}

int rm_set(const struct rm_field *f, void *rec, const struct rm_value *v,
	   jpki_err *err)
{
	char *p = (char *)rec + f->off;
	switch (f->type) {
	case RM_TEXT:
	case RM_TEXT_NULL:
		if (v->kind == RMV_INT)
			return jpki_fail(err, JPKI_ERR_INTEGRITY,
					 "stored %s is not text", f->what);
		return store_copy_text(
		    p, f->size, v->kind == RMV_NULL ? NULL : v->s,
		    v->kind == RMV_NULL ? 0 : v->len, f->what, err);
	case RM_DATE:
	case RM_DATE_NULL: {
		jpki_date d = {0, 0, 0};
		char buf[11];
		if (v->kind == RMV_NULL && f->type == RM_DATE_NULL) {
			memcpy(p, &d, sizeof(d));
			return 0;
		}
		if (v->kind != RMV_TEXT || v->len != 10)
			return jpki_fail(err, JPKI_ERR_INTEGRITY,
					 "stored %s is not a date", f->what);
		memcpy(buf, v->s, 10);
		buf[10] = '\0';
		if (jpki_date_parse(buf, &d) != 0)
			return jpki_fail(err, JPKI_ERR_INTEGRITY,
					 "stored %s is not a date", f->what);
		memcpy(p, &d, sizeof(d));
		return 0;
	}
	case RM_INT:
	case RM_BOOL:
	case RM_I64:
	case RM_I64_NULL: {
		int64_t i = 0;
		if (v->kind == RMV_INT)
			i = v->i;
		else if (v->kind == RMV_TEXT &&
			 parse_int(v->s, v->len, &i) != 0)
			return jpki_fail(err, JPKI_ERR_INTEGRITY,
					 "stored %s is not a number", f->what);
		if (f->type == RM_BOOL) {
			*(bool *)p = i != 0;
		} else if (f->size == sizeof(int32_t)) {
			if (i < INT32_MIN || i > INT32_MAX)
				return jpki_fail(err, JPKI_ERR_RANGE,
						 "stored %s %" PRId64
						 " does not fit",
						 f->what, i);
			int32_t n = (int32_t)i;
			memcpy(p, &n, sizeof(n));
		} else {
			memcpy(p, &i, sizeof(i));
		}
		return 0;
	}
	}
	return jpki_fail(err, JPKI_ERR_STORE, "unknown field type of %s",
			 f->what);
}
