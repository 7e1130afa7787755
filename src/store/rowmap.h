/* openjpki store — the row mapper both backends use.
 *
 * Each record struct of store.h is described once, as a table of
 * {column, type, offset, size} per field in the order of its SELECT list
 * and of its statements' placeholders.  A backend binds a record by
 * asking rm_get() for each field's value and reads one back by handing
 * each column's value to rm_set(); it never names a struct member.
 *
 * Conventions (schema.c): civil dates are TEXT "YYYY-MM-DD"; "none" is
 * NULL in the database ("" for text, 0 for an id, {0,0,0} for a date in
 * the struct) for the *_NULL types; a NULL read into a plain numeric field
 * is 0 (a valid certificate's reason and revoked_at). */
#ifndef OPENJPKI_STORE_ROWMAP_H
#define OPENJPKI_STORE_ROWMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/error.h"
#include "openjpki/store.h"

enum rm_type {
	RM_TEXT,      /* char[size], NOT NULL */
	RM_TEXT_NULL, /* char[size], "" stored as NULL */
	RM_INT,	      /* int or an enum (size 4) */
	RM_BOOL,      /* bool, stored 0 or 1 */
	RM_I64,	      /* int64_t or time_t */
	RM_I64_NULL,  /* int64_t, 0 stored as NULL */
	RM_DATE,      /* jpki_date as "YYYY-MM-DD" */
	RM_DATE_NULL, /* jpki_date, {0,0,0} stored as NULL */
};

struct rm_field {
	const char *column;
	enum rm_type type;
	size_t off;
	size_t size;
	const char *what; /* names the field in error messages */
};

struct rm_map {
	const char *name;
	const struct rm_field *f;
	int n;
};

/* One value on its way to or from the database. */
enum rm_kind { RMV_NULL, RMV_INT, RMV_TEXT };
struct rm_value {
	enum rm_kind kind;
	int64_t i;     /* RMV_INT */
	const char *s; /* RMV_TEXT: not NUL-terminated when read */
	size_t len;
	char buf[24]; /* a date's text or (rm_text) an integer's */
};

/* The value of field f of rec (text points into rec or into v->buf). */
void rm_get(const struct rm_field *f, const void *rec, struct rm_value *v);
/* The same value as text for a backend that sends text only (libpq):
 * integers are written into v->buf.  NULL stays RMV_NULL. */
void rm_get_text(const struct rm_field *f, const void *rec, struct rm_value *v);
/* Store a column's value into field f of rec.  Integers may come as
 * RMV_TEXT (decimal).  JPKI_ERR_RANGE when text does not fit its field or
 * an integer its type, JPKI_ERR_INTEGRITY when a date or number is not
 * one. */
JPKI_MUST_CHECK int rm_set(const struct rm_field *f, void *rec,
			   const struct rm_value *v, jpki_err *err);

/* The records, in the column order of the backends' SELECT lists. */
extern const struct rm_map rm_muni;
extern const struct rm_map rm_resident; /* id first, then as added */
extern const struct rm_map rm_card;
extern const struct rm_map rm_cert; /* without der */
extern const struct rm_map rm_audit;
extern const struct rm_map rm_app;
extern const struct rm_map rm_doc;
extern const struct rm_map rm_event;
extern const struct rm_map rm_notice;
extern const struct rm_map rm_office;
extern const struct rm_map rm_app_row_names; /* store_app_row name, kana */
extern const struct rm_map rm_token;	     /* without data */
extern const struct rm_map rm_crl_row;	     /* store_crl_row */

/* A certificate's revocation state (cert_state_for_update). */
struct rm_cert_state {
	store_cert_status status;
	int reason;
	time_t revoked_at;
};
extern const struct rm_map rm_cert_state;

/* The audit log's head (audit_head_for_update). */
struct rm_audit_head {
	int64_t seq;
	char hash[65];
};
extern const struct rm_map rm_audit_head;

#endif
