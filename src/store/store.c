/* The backend-neutral front of the store: argument checks and limits,
 * transaction nesting, the revocation state machine, the audit hash chain
 * and the migration runner.  Backends (store_impl.h) only move rows. */
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openjpki/rules.h"
#include "openjpki/store.h"
#include "openjpki/util.h"
#include "store_impl.h"

/* RFC 5280 CRLReason values from the revocation law (rules.h); the store
 * cannot include x509.h (x509 sits above it).  removeFromCRL (8) is for
 * delta CRLs, never stored. */
#define REASON_CERTIFICATE_HOLD RULES_CRL_CERTIFICATE_HOLD
#define REASON_REMOVE_FROM_CRL 8
#define REASON_MAX 10 /* aACompromise */

struct store {
	const struct store_backend *ops;
	void *impl;
	int version;
	int depth;	 /* store_begin() calls not yet matched */
	bool doomed;	 /* the open transaction can only be rolled back */
	bool reading;	 /* inside store_read_begin() */
	bool read_in_tx; /* store_read_begin() inside a transaction: no-op */
};

static const char zero_hash[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---- argument checks ---------------------------------------------------- */

static int usable(store *s, jpki_err *err)
{
	if (s == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no store handle");
	if (s->doomed)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "store transaction failed and must be rolled "
				 "back");
	return 0;
}

/* A string bound for a field of `cap` bytes (or one compared with such). */
static int check_text(const char *what, const char *v, size_t cap,
		      bool nonempty, jpki_err *err)
{
	if (v == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "%s is missing", what);
	size_t n = strnlen(v, cap);
	if (n == cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "%s is longer than %zu bytes", what, cap - 1);
	if (nonempty && n == 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "%s is empty", what);
	return 0;
}

#define CHECK_FIELD(what, obj, field, nonempty, err)                           \
	check_text(what, (obj)->field, sizeof((obj)->field), nonempty, err)

/* 全国地方公共団体コード: six digits (the sixth a check digit). */
static int check_muni_code(const char *code, bool optional, jpki_err *err)
{
	int rc = check_text("municipality code", code, 8, !optional, err);
	if (rc != 0)
		return rc;
	if (optional && code[0] == '\0')
		return 0;
	size_t n = 0;
	while (code[n] >= '0' && code[n] <= '9')
		n++;
	if (n != 6 || code[n] != '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "municipality code \"%s\" is not six digits",
				 code);
	return 0;
}

/* Serials are the upper-case hex of the DER INTEGER content. */
static int check_serial(const char *serial, jpki_err *err)
{
	int rc = check_text("certificate serial", serial, STORE_SERIAL_HEX_MAX,
			    true, err);
	if (rc != 0)
		return rc;
	size_t n = strlen(serial);
	for (size_t i = 0; i < n; i++) {
		char c = serial[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "certificate serial \"%s\" is not "
					 "upper-case hex",
					 serial);
	}
	if (n % 2 != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate serial \"%s\" has an odd number "
				 "of hex digits",
				 serial);
	return 0;
}

static int check_date(const char *what, jpki_date d, jpki_err *err)
{
	if (!jpki_date_valid(d))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "%s %04d-%02d-%02d is not a valid date", what,
				 d.y, d.m, d.d);
	return 0;
}

static int check_fn(bool present, jpki_err *err)
{
	if (!present)
		return jpki_fail(err, JPKI_ERR_INVAL, "no callback");
	return 0;
}

static int check_out(const void *out, jpki_err *err)
{
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	return 0;
}

int store_copy_text(char *dst, size_t cap, const void *src, size_t len,
		    const char *what, jpki_err *err)
{
	if (len >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "stored %s is %zu bytes, more than %zu", what,
				 len, cap - 1);
	if (len > 0 && memchr(src, '\0', len) != NULL)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "stored %s holds a NUL byte", what);
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* ---- handle and transactions -------------------------------------------- */

/* "scheme:" with a scheme of two or more URI scheme characters; "C:" and
 * paths starting with "/" or "." are not schemes. */
static size_t scheme_len(const char *loc)
{
	size_t i = 0;
	if (!((loc[0] >= 'a' && loc[0] <= 'z') ||
	      (loc[0] >= 'A' && loc[0] <= 'Z')))
		return 0;
	for (i = 1; loc[i] != '\0' && loc[i] != ':'; i++) {
		char c = loc[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return loc[i] == ':' && i >= 2 ? i : 0;
}

/* End the transaction level an operation opened: commit after success,
 * roll back after a failure (of the operation or of the commit). */
static int tx_leave(store *s, int rc, jpki_err *err)
{
	if (rc == 0 && (rc = store_commit(s, err)) == 0)
		return 0;
	store_rollback(s);
	return rc;
}

static int migrate(store *s, jpki_err *err)
{
	const struct store_backend *b = s->ops;
	int latest = 0, cur = 0;
	while (b->migrations[latest].version != 0)
		latest++;
	int rc = store_begin(s, err);
	if (rc != 0)
		return rc;
	if ((rc = b->schema_current(s->impl, &cur, err)) != 0)
		goto out;
	if (cur > latest) {
		rc = jpki_fail(err, JPKI_ERR_SCHEMA,
			       "store schema version %d is newer than this "
			       "openjpki knows (%d); upgrade openjpki",
			       cur, latest);
		goto out;
	}
	for (int v = cur + 1; v <= latest; v++) {
		const struct store_migration *m = &b->migrations[v - 1];
		if (m->version != v) {
			rc = jpki_fail(err, JPKI_ERR_SCHEMA,
				       "migration %d is listed as %d", v,
				       m->version);
			goto out;
		}
		for (const char *const *q = m->sql; *q != NULL; q++)
			if ((rc = b->exec(s->impl, *q, err)) != 0) {
				jpki_wrap(err, rc, "schema migration %d (%s)",
					  v, m->name);
				goto out;
			}
		if ((rc = b->schema_record(s->impl, v, m->name, err)) != 0)
			goto out;
	}
out:
	if ((rc = tx_leave(s, rc, err)) != 0)
		return rc;
	s->version = latest;
	return 0;
}

int store_open(const char *location, store **out, jpki_err *err)
{
	store *s = NULL;
	char *path = NULL;
	const char *opts = NULL;
	int rc = 0;

	if (location == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no store location");
	size_t sl = scheme_len(location);
	const struct store_backend *backend = &store_sqlite_backend;
	if ((sl == 10 && strncasecmp(location, "postgresql", 10) == 0) ||
	    (sl == 8 && strncasecmp(location, "postgres", 8) == 0)) {
		/* the whole URI goes to libpq (hosts, options, ...) */
		backend = &store_pg_backend;
		path = strdup(location);
	} else if (sl == 6 && strncasecmp(location, "sqlite", 6) == 0) {
		const char *p = location + 7;
		const char *q = strchr(p, '?');
		path = strndup(p, q != NULL ? (size_t)(q - p) : strlen(p));
		opts = q != NULL ? q + 1 : NULL;
	} else if (sl > 0) {
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown store location scheme \"%.*s\" "
				 "(use a file path, sqlite:PATH or "
				 "postgresql://...)",
				 (int)(sl > 32 ? 32 : sl), location);
	} else {
		path = strdup(location);
	}
	if (path == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (path[0] == '\0') {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "store location \"%s\" names no file", location);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->ops = backend;
	if ((rc = s->ops->open(path, opts, &s->impl, err)) != 0 ||
	    (rc = migrate(s, err)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
out:
	store_close(s);
	free(path);
	return rc;
}

void store_close(store *s)
{
	if (s == NULL)
		return;
	if (s->depth > 0)
		s->ops->rollback(s->impl);
	s->ops->close(s->impl);
	free(s);
}

int store_schema_version(store *s)
{
	if (s == NULL)
		return JPKI_ERR_INVAL;
	return s->version;
}

int store_begin(store *s, jpki_err *err)
{
	int rc = usable(s, err);
	if (rc != 0)
		return rc;
	if (s->depth == INT_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "store transactions nested too deep");
	if (s->reading)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "store write inside a read snapshot");
	if (s->depth == 0 && (rc = s->ops->begin(s->impl, err)) != 0)
		return rc;
	s->depth++;
	return 0;
}

int store_read_begin(store *s, jpki_err *err)
{
	int rc = usable(s, err);
	if (rc != 0)
		return rc;
	if (s->reading || s->read_in_tx)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "read snapshots do not nest");
	if (s->depth > 0) {
		/* the open transaction is already one consistent view */
		s->read_in_tx = true;
		return 0;
	}
	if ((rc = s->ops->read_begin(s->impl, err)) != 0)
		return rc;
	s->reading = true;
	return 0;
}

void store_defer_writes(store *s)
{
	if (s != NULL && s->depth > 0 && s->ops->defer_writes != NULL)
		s->ops->defer_writes(s->impl);
}

void store_read_end(store *s)
{
	if (s != NULL)
		s->read_in_tx = false;
	if (s == NULL || !s->reading)
		return;
	s->ops->read_end(s->impl);
	s->reading = false;
}

/* A failed commit leaves its level open for store_rollback(), so that the
 * usual "commit failed: roll back" path balances at every depth.  At the
 * outermost level the database transaction is abandoned at once, so that no
 * lock outlives the failure. */
int store_commit(store *s, jpki_err *err)
{
	if (s == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no store handle");
	if (s->depth == 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "no store transaction to commit");
	if (s->doomed && s->depth > 1)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "store transaction failed and must be rolled "
				 "back");
	if (s->doomed) {
		s->ops->rollback(s->impl);
		return jpki_fail(err, JPKI_ERR_STATE,
				 "store transaction rolled back: an operation "
				 "inside it failed");
	}
	if (s->depth > 1) {
		s->depth--;
		return 0;
	}
	int rc = s->ops->commit(s->impl, err);
	if (rc != 0) {
		s->ops->rollback(s->impl);
		s->doomed = true;
		return rc;
	}
	s->depth = 0;
	return 0;
}

void store_rollback(store *s)
{
	if (s == NULL || s->depth == 0)
		return;
	s->depth--;
	if (s->depth > 0) {
		s->doomed = true;
		return;
	}
	s->ops->rollback(s->impl);
	s->doomed = false;
}

/* ---- meta --------------------------------------------------------------- */

static int check_meta_key(const char *key, jpki_err *err)
{
	return check_text("setting name", key, STORE_META_KEY_MAX, true, err);
}

int store_meta_get(store *s, const char *key, char *val, size_t cap,
		   jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_meta_key(key, err)) != 0)
		return rc;
	if (val == NULL || cap == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "no buffer for setting %s", key);
	return s->ops->meta_get(s->impl, key, val, cap, err);
}

int store_meta_set(store *s, const char *key, const char *val, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_meta_key(key, err)) != 0 ||
	    (rc = check_text("setting value", val, STORE_META_VALUE_MAX, false,
			     err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->meta_set(s->impl, key, val, err), err);
}

/* Strict decimal int64: optional '-', digits, nothing else. */
static bool parse_i64(const char *p, int64_t *out)
{
	bool neg = *p == '-';
	int64_t v = 0;
	if (neg)
		p++;
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		int d = *p - '0';
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, neg ? -d : d, &v))
			return false;
	}
	*out = v;
	return true;
}

static int meta_incr(store *s, const char *key, int64_t delta, int64_t *out,
		     jpki_err *err)
{
	char buf[24]; /* "-9223372036854775808" */
	jpki_err lookup = {0, ""};
	int64_t v = 0;
	int rc = s->ops->meta_get_for_update(s->impl, key, buf, sizeof(buf),
					     &lookup);
	if (rc == 0 && !parse_i64(buf, &v))
		rc = JPKI_ERR_RANGE;
	if (rc == JPKI_ERR_RANGE)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "setting %s does not hold an integer", key);
	if (rc != 0 && rc != JPKI_ERR_NOT_FOUND) {
		if (err != NULL)
			*err = lookup;
		return rc;
	}
	if (__builtin_add_overflow(v, delta, &v))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "setting %s would overflow", key);
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if ((rc = s->ops->meta_set(s->impl, key, buf, err)) != 0)
		return rc;
	*out = v;
	return 0;
}

int store_meta_incr(store *s, const char *key, int64_t delta, int64_t *out,
		    jpki_err *err)
{
	int64_t v = 0;
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_meta_key(key, err)) != 0)
		return rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "no output for setting %s", key);
	if ((rc = store_begin(s, err)) != 0 ||
	    (rc = tx_leave(s, meta_incr(s, key, delta, &v, err), err)) != 0)
		return rc;
	*out = v;
	return 0;
}

/* ---- municipalities ----------------------------------------------------- */

int store_muni_put(store *s, const store_muni *m, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (m == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no municipality");
	if ((rc = check_muni_code(m->code, false, err)) != 0 ||
	    (rc = CHECK_FIELD("prefecture (roman)", m, pref_roman, true,
			      err)) != 0 ||
	    (rc = CHECK_FIELD("city (roman)", m, city_roman, true, err)) != 0 ||
	    (rc = CHECK_FIELD("prefecture", m, pref, true, err)) != 0 ||
	    (rc = CHECK_FIELD("city", m, city, true, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->muni_put(s->impl, m, err), err);
}

int store_muni_get(store *s, const char *code, store_muni *out, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_muni_code(code, false, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->muni_get(s->impl, code, out, err);
}

int store_muni_each(store *s, store_muni_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	return s->ops->muni_each(s->impl, fn, ctx, err);
}

/* ---- residents ---------------------------------------------------------- */

static int check_resident(const store_resident *r, jpki_err *err)
{
	int rc;
	if (r == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no resident");
	if ((rc = CHECK_FIELD("resident ext_id", r, ext_id, true, err)) != 0 ||
	    (rc = CHECK_FIELD("resident name", r, name, true, err)) != 0 ||
	    (rc = CHECK_FIELD("resident kana", r, kana, false, err)) != 0 ||
	    (rc = CHECK_FIELD("resident address", r, address, false, err)) !=
		0 ||
	    (rc = check_muni_code(r->muni_code, false, err)) != 0 ||
	    (rc = check_date("birth date", r->birth, err)) != 0)
		return rc;
	/* one line of plain text each: no controls, no direction overrides */
	const char *const text[][2] = {{"ext_id", r->ext_id},
				       {"name", r->name},
				       {"kana", r->kana},
				       {"address", r->address}};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (!jpki_text_ok(text[i][1]))
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "resident %s: control characters, "
					 "line breaks or direction overrides "
					 "are not allowed",
					 text[i][0]);
	if (memchr(r->my_number, '\0', sizeof(r->my_number)) == NULL ||
	    (r->my_number[0] != '\0' &&
	     (strlen(r->my_number) != 12 ||
	      strspn(r->my_number, "0123456789") != 12)))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "resident my_number: 12 digits or none");
	if (r->sex != 1 && r->sex != 2)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "resident sex %d is not 1 or 2", r->sex);
	if (r->status != STORE_RESIDENT_LIVING &&
	    r->status != STORE_RESIDENT_REMOVED)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "resident status %d is unknown",
				 (int)r->status);
	return 0;
}

int store_resident_add(store *s, store_resident *r, jpki_err *err)
{
	int64_t id = 0;
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_resident(r, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0 ||
	    (rc = tx_leave(s, s->ops->resident_add(s->impl, r, &id, err),
			   err)) != 0)
		return rc;
	r->id = id;
	return 0;
}

int store_resident_update(store *s, const store_resident *r, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_resident(r, err)) != 0)
		return rc;
	if (r->id <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "resident id %lld is not a stored id",
				 (long long)r->id);
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->resident_update(s->impl, r, err), err);
}

int store_resident_get(store *s, int64_t id, store_resident *out, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->resident_get(s->impl, id, out, err);
}

int store_resident_get_ext(store *s, const char *ext_id, store_resident *out,
			   jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_text("resident ext_id", ext_id, sizeof(out->ext_id),
			     true, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->resident_get_ext(s->impl, ext_id, out, err);
}

int store_resident_search(store *s, const char *q, int limit,
			  store_resident_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_text("search text", q,
			     sizeof(((store_resident *)0)->name), false,
			     err)) != 0 ||
	    (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	if (limit < 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "search limit %d is not positive", limit);
	return s->ops->resident_search(s->impl, q, limit, fn, ctx, err);
}

/* ---- cards -------------------------------------------------------------- */

int store_card_put(store *s, const store_card *c, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (c == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card");
	if (memchr(c->serial, '\0', sizeof(c->serial)) != NULL &&
	    !jpki_card_serial_ok(c->serial))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "card serial: 1 to %d of A-Z, a-z, 0-9, '-' "
				 "and '_', starting with a letter or digit",
				 JPKI_CARD_SERIAL_MAX);
	if ((rc = CHECK_FIELD("card serial", c, serial, true, err)) != 0 ||
	    (rc = check_date("card issue date", c->issued, err)) != 0 ||
	    (rc = check_date("card expiry date", c->expiry, err)) != 0)
		return rc;
	if (c->resident_id <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "card %s has no resident",
				 c->serial);
	if (jpki_date_cmp(c->expiry, c->issued) < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "card %s expires before it is issued",
				 c->serial);
	if (c->status != STORE_CARD_ACTIVE && c->status != STORE_CARD_LOST &&
	    c->status != STORE_CARD_RETIRED)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "card status %d is unknown", (int)c->status);
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->card_put(s->impl, c, err), err);
}

int store_card_get(store *s, const char *serial, store_card *out, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_text("card serial", serial, sizeof(out->serial), true,
			     err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->card_get(s->impl, serial, out, err);
}

/* ---- certificates ------------------------------------------------------- */

static int check_reason(int reason, jpki_err *err)
{
	/* 7 is unassigned; removeFromCRL only appears in delta CRLs. */
	if (reason < 0 || reason > REASON_MAX || reason == 7 ||
	    reason == REASON_REMOVE_FROM_CRL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "revocation reason %d is not allowed", reason);
	return 0;
}

static int check_cert(const store_cert *c, jpki_err *err)
{
	int rc;
	if (c == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no certificate");
	if ((rc = CHECK_FIELD("certificate serial", c, serial, true, err)) !=
		0 ||
	    (rc = check_serial(c->serial, err)) != 0 ||
	    (rc = CHECK_FIELD("certificate card serial", c, card_serial, false,
			      err)) != 0 ||
	    (rc = check_muni_code(c->muni_code, true, err)) != 0 ||
	    (rc = CHECK_FIELD("certificate subject", c, subject, false, err)) !=
		0)
		return rc;
	if (c->kind < 0 || c->kind > SHRT_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate %s: kind %d is out of range",
				 c->serial, c->kind);
	if (c->resident_id < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate %s: resident id %lld is negative",
				 c->serial, (long long)c->resident_id);
	if (c->not_after < c->not_before)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate %s: notAfter is before notBefore",
				 c->serial);
	if (c->status == STORE_CERT_VALID) {
		if (c->reason != 0 || c->revoked_at != 0)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "certificate %s: valid but has a "
					 "revocation reason or date",
					 c->serial);
	} else if (c->status == STORE_CERT_REVOKED) {
		if ((rc = check_reason(c->reason, err)) != 0)
			return rc;
	} else {
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate %s: status %d is unknown",
				 c->serial, (int)c->status);
	}
	if (c->der == NULL || c->der_len == 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "certificate %s: no DER",
				 c->serial);
	if (c->der_len > STORE_DER_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "certificate %s: DER is %zu bytes, more than "
				 "%d",
				 c->serial, c->der_len, STORE_DER_MAX);
	return 0;
}

int store_cert_put(store *s, const store_cert *c, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_cert(c, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->cert_put(s->impl, c, err), err);
}

int store_cert_get(store *s, const char *serial, store_cert *out, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_serial(serial, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->cert_get(s->impl, serial, out, err);
}

void store_cert_clear(store_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	memset(c, 0, sizeof(*c));
}

static int cert_revoke(store *s, const char *serial, int reason, time_t at,
		       bool from_hold, jpki_err *err)
{
	store_cert_status status = STORE_CERT_VALID;
	int cur = 0;
	time_t cur_at = 0;
	int rc = s->ops->cert_state_for_update(s->impl, serial, &status, &cur,
					       &cur_at, err);
	if (rc != 0)
		return rc;
	if (status == STORE_CERT_REVOKED) {
		if (!from_hold || cur != REASON_CERTIFICATE_HOLD)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "certificate %s is already revoked "
					 "(reason %d)",
					 serial, cur);
		if (reason == REASON_CERTIFICATE_HOLD)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "certificate %s is already on hold",
					 serial);
		at = cur_at; /* see store.h */
	}
	return s->ops->cert_set_revoked(s->impl, serial, reason, at, err);
}

int store_cert_revoke(store *s, const char *serial, int reason, time_t at,
		      bool from_hold, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_serial(serial, err)) != 0 ||
	    (rc = check_reason(reason, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, cert_revoke(s, serial, reason, at, from_hold, err),
			err);
}

int store_issue_reads(store *s, int64_t resident_id, const char *card_serial,
		      store_resident *res, store_card *card, bool *card_found,
		      store_cert_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_text("card serial", card_serial, sizeof(card->serial),
			     true, err)) != 0 ||
	    (rc = check_out(res, err)) != 0 ||
	    (rc = check_out(card, err)) != 0 ||
	    (rc = check_out(card_found, err)) != 0 ||
	    (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	if (s->ops->issue_reads != NULL)
		return s->ops->issue_reads(s->impl, resident_id, card_serial,
					   res, card, card_found, fn, ctx, err);
	if ((rc = s->ops->resident_get(s->impl, resident_id, res, err)) != 0)
		return rc;
	rc = s->ops->card_get(s->impl, card_serial, card, err);
	*card_found = rc == 0;
	if (rc != 0 && rc != JPKI_ERR_NOT_FOUND)
		return rc;
	return s->ops->cert_by_resident(s->impl, resident_id, fn, ctx, err);
}

int store_issue_reads_n(store *s, store_issue_read *r, size_t n, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (n > 0 && (rc = check_out(r, err)) != 0))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = check_text("card serial", r[i].card_serial,
				     sizeof(r[i].card.serial), true, err)) !=
			0 ||
		    (rc = check_fn(r[i].fn != NULL, err)) != 0)
			return rc;
		r[i].rc = 0;
		r[i].card_found = false;
	}
	if (s->ops->issue_reads_n != NULL)
		return s->ops->issue_reads_n(s->impl, r, n, err);
	for (size_t i = 0; i < n; i++) {
		store_issue_read *q = &r[i];
		rc = store_issue_reads(s, q->resident_id, q->card_serial,
				       &q->res, &q->card, &q->card_found, q->fn,
				       q->ctx, err);
		if (rc == JPKI_ERR_NOT_FOUND)
			q->rc = rc;
		else if (rc != 0)
			return rc;
	}
	return 0;
}

int store_issue_recheck(store *s, size_t n, const int64_t *resident_ids,
			store_cert_fn fn, void *const *ctxs, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_fn(fn != NULL, err)) != 0 ||
	    (n > 0 && ((rc = check_out(resident_ids, err)) != 0 ||
		       (rc = check_out(ctxs, err)) != 0)))
		return rc;
	if (s->ops->issue_recheck != NULL)
		return s->ops->issue_recheck(s->impl, n, resident_ids, fn, ctxs,
					     err);
	for (size_t i = 0; i < n; i++)
		if ((rc = s->ops->cert_by_resident(s->impl, resident_ids[i], fn,
						   ctxs[i], err)) != 0)
			return rc;
	return 0;
}

int store_cert_by_resident(store *s, int64_t resident_id, store_cert_fn fn,
			   void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	return s->ops->cert_by_resident(s->impl, resident_id, fn, ctx, err);
}

/* What both revoked-row readers check: a usable store, a callback, a
 * well-formed municipality code when one is given. */
static int revoked_args(store *s, bool has_fn, const char *muni_code,
			jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(has_fn, err)) != 0 ||
	    (muni_code != NULL &&
	     (rc = check_muni_code(muni_code, false, err)) != 0))
		return rc;
	return 0;
}

int store_cert_revoked(store *s, int kind, const char *muni_code,
		       time_t not_after_from, store_cert_fn fn, void *ctx,
		       jpki_err *err)
{
	int rc = revoked_args(s, fn != NULL, muni_code, err);
	if (rc != 0)
		return rc;
	return s->ops->cert_revoked(s->impl, kind, muni_code, not_after_from,
				    fn, ctx, err);
}

int store_crl_rows(store *s, int kind, const char *muni_code,
		   time_t not_after_from, store_crl_row_fn fn, void *ctx,
		   jpki_err *err)
{
	int rc = revoked_args(s, fn != NULL, muni_code, err);
	if (rc != 0)
		return rc;
	return s->ops->crl_rows(s->impl, kind, muni_code, not_after_from, fn,
				ctx, err);
}

int store_cert_expiring(store *s, jpki_date from, jpki_date to,
			store_cert_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_fn(fn != NULL, err)) != 0 ||
	    (rc = check_date("first day", from, err)) != 0 ||
	    (rc = check_date("last day", to, err)) != 0)
		return rc;
	return s->ops->cert_expiring(s->impl, jpki_date_start(from),
				     jpki_date_end(to), fn, ctx, err);
}

/* ---- audit -------------------------------------------------------------- */

/* The record hash, as lower-case hex (sha256sum's form):
 *
 *   hash = SHA-256( F(prev_hash) || F(at) || F(actor) || F(action)
 *                   || F(detail) )
 *   F(x) = uint32 big-endian byte length of x, then the bytes of x
 *
 * prev_hash is the 64 ASCII characters of the previous record's hash (64
 * "0" for the first record), at is 8 bytes, the big-endian two's complement
 * of the Unix time, and actor, action and detail are their UTF-8 bytes
 * without a terminator.  The length prefixes make the encoding unambiguous
 * ("ab"+"c" and "a"+"bc" hash differently). */
static int audit_hash(const char *prev, time_t at, const char *actor,
		      const char *action, const char *detail, char out[65],
		      jpki_err *err)
{
	static const char hx[] = "0123456789abcdef";
	const char *fields[] = {prev, NULL, actor, action, detail};
	uint8_t at_be[8];
	uint8_t md[32];
	unsigned int md_len = 0;
	int rc = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	for (int i = 0; i < 8; i++)
		at_be[i] = (uint8_t)((uint64_t)(int64_t)at >> (56 - 8 * i));
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256 unavailable");
		goto out;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const void *p = fields[i] != NULL ? (const void *)fields[i]
						  : (const void *)at_be;
		size_t n =
		    fields[i] != NULL ? strlen(fields[i]) : sizeof(at_be);
		uint8_t len_be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
				     (uint8_t)(n >> 8), (uint8_t)n};
		if (EVP_DigestUpdate(ctx, len_be, sizeof(len_be)) != 1 ||
		    EVP_DigestUpdate(ctx, p, n) != 1) {
			rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256 failed");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256 failed");
		goto out;
	}
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int audit_append(store *s, store_audit *a, jpki_err *err)
{
	int64_t seq = 0;
	int rc =
	    s->ops->audit_head_for_update(s->impl, &seq, a->prev_hash, err);
	if (rc != 0)
		return rc;
	if (seq == INT64_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "audit log is full");
	if (seq == 0)
		memcpy(a->prev_hash, zero_hash, sizeof(zero_hash));
	a->seq = seq + 1;
	if ((rc = audit_hash(a->prev_hash, a->at, a->actor, a->action,
			     a->detail, a->hash, err)) != 0)
		return rc;
	return s->ops->audit_insert(s->impl, a, err);
}

int store_audit_append(store *s, time_t at, const char *actor,
		       const char *action, const char *detail, jpki_err *err)
{
	store_audit a;
	int rc;
	memset(&a, 0, sizeof(a));
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_text("audit actor", actor, sizeof(a.actor), true,
			     err)) != 0 ||
	    (rc = check_text("audit action", action, sizeof(a.action), true,
			     err)) != 0 ||
	    (rc = check_text("audit detail", detail, sizeof(a.detail), false,
			     err)) != 0)
		return rc;
	a.at = at;
	memcpy(a.actor, actor, strlen(actor) + 1);
	memcpy(a.action, action, strlen(action) + 1);
	memcpy(a.detail, detail, strlen(detail) + 1);
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, audit_append(s, &a, err), err);
}

int store_audit_each(store *s, store_audit_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	return s->ops->audit_each(s->impl, fn, ctx, err);
}

struct verify_ctx {
	int64_t last; /* seq of the previous record, 0 before the first */
	char prev[65];
	jpki_err *err;
};

static int verify_one(void *arg, const store_audit *a)
{
	struct verify_ctx *v = arg;
	char h[65];
	int rc;
	if (a->seq != v->last + 1) {
		if (v->last == 0)
			return jpki_fail(v->err, JPKI_ERR_INTEGRITY,
					 "audit log starts at record %lld, "
					 "not 1",
					 (long long)a->seq);
		return jpki_fail(v->err, JPKI_ERR_INTEGRITY,
				 "audit record %lld follows record %lld: "
				 "records are missing",
				 (long long)a->seq, (long long)v->last);
	}
	if (strcmp(a->prev_hash, v->prev) != 0)
		return jpki_fail(v->err, JPKI_ERR_INTEGRITY,
				 "audit record %lld: prev_hash does not match "
				 "the previous record",
				 (long long)a->seq);
	if ((rc = audit_hash(a->prev_hash, a->at, a->actor, a->action,
			     a->detail, h, v->err)) != 0)
		return rc;
	if (strcmp(h, a->hash) != 0)
		return jpki_fail(v->err, JPKI_ERR_INTEGRITY,
				 "audit record %lld: hash mismatch (record "
				 "altered)",
				 (long long)a->seq);
	v->last = a->seq;
	memcpy(v->prev, a->hash, sizeof(v->prev));
	return 0;
}

int store_audit_verify(store *s, int64_t *records, jpki_err *err)
{
	struct verify_ctx v = {.last = 0, .err = err};
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	memcpy(v.prev, zero_hash, sizeof(zero_hash));
	rc = s->ops->audit_each(s->impl, verify_one, &v, err);
	if (rc == JPKI_ERR_RANGE) { /* a stored field too long to be ours */
		jpki_wrap(err, JPKI_ERR_INTEGRITY, "audit log");
		if (err != NULL)
			err->code = JPKI_ERR_INTEGRITY;
		return JPKI_ERR_INTEGRITY;
	}
	if (rc != 0)
		return rc;
	if (records != NULL)
		*records = v.last;
	return 0;
}

/* ---- counter applications ----------------------------------------------- */

static bool date_unset(jpki_date d)
{
	return d.y == 0 && d.m == 0 && d.d == 0;
}

static int check_opt_date(const char *what, jpki_date d, jpki_err *err)
{
	return date_unset(d) ? 0 : check_date(what, d, err);
}

static int check_app(const store_app *a, jpki_err *err)
{
	int rc;
	if (a == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no application");
	if ((rc = CHECK_FIELD("agent name", a, agent_name, false, err)) != 0 ||
	    (rc = CHECK_FIELD("card serial", a, card_serial, false, err)) !=
		0 ||
	    (rc = CHECK_FIELD("new card serial", a, new_card_serial, false,
			      err)) != 0 ||
	    (rc = CHECK_FIELD("application note", a, note, false, err)) != 0 ||
	    (rc = check_opt_date("inquiry sent date", a->inquiry_sent, err)) !=
		0 ||
	    (rc = check_opt_date("inquiry answer date", a->inquiry_answered,
				 err)) != 0)
		return rc;
	if (a->resident_id <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application has no resident");
	if (a->kind < STORE_APP_NEW_CARD || a->kind > STORE_APP_FOUND)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application kind %d is unknown",
				 (int)a->kind);
	if (a->state < STORE_APP_RECEIVED || a->state > STORE_APP_CANCELLED)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application state %d is unknown",
				 (int)a->state);
	if (a->applicant < STORE_APPLICANT_SELF ||
	    a->applicant > STORE_APPLICANT_LEGAL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "applicant type %d is unknown",
				 (int)a->applicant);
	if (a->certs < 0 || a->certs > 3 || a->pins < 0 || a->pins > 7)
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "application certificate or PIN set is invalid");
	return 0;
}

int store_app_add(store *s, store_app *a, jpki_err *err)
{
	int64_t id = 0;
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_app(a, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	if ((rc = tx_leave(s, s->ops->app_add(s->impl, a, &id, err), err)) != 0)
		return rc;
	a->id = id;
	return 0;
}

int store_app_update(store *s, const store_app *a, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_app(a, err)) != 0)
		return rc;
	if (a->id <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "application has no id");
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->app_update(s->impl, a, err), err);
}

int store_app_get(store *s, int64_t id, store_app *out, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->app_get(s->impl, id, out, err);
}

int store_app_list(store *s, int64_t resident_id, bool open_only, int limit,
		   store_app_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	if (limit < 1 || resident_id < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application listing needs a limit >= 1");
	return s->ops->app_list(s->impl, resident_id, open_only, limit, fn, ctx,
				err);
}

int store_app_doc_add(store *s, store_app_doc *d, jpki_err *err)
{
	int seq = 0, rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (d == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no document");
	if ((rc = CHECK_FIELD("document type", d, type, true, err)) != 0 ||
	    (rc = CHECK_FIELD("document number", d, number, true, err)) != 0 ||
	    (rc = check_opt_date("document expiry date", d->expiry, err)) != 0)
		return rc;
	if (d->role != STORE_DOC_HOLDER && d->role != STORE_DOC_AGENT)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "document role %d is unknown", (int)d->role);
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	if ((rc = tx_leave(s, s->ops->app_doc_add(s->impl, d, &seq, err),
			   err)) != 0)
		return rc;
	d->seq = seq;
	return 0;
}

int store_app_doc_each(store *s, int64_t app_id, store_app_doc_fn fn, void *ctx,
		       jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	return s->ops->app_doc_each(s->impl, app_id, fn, ctx, err);
}

int store_app_event_add(store *s, store_app_event *e, jpki_err *err)
{
	int seq = 0, rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (e == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no application event");
	if ((rc = CHECK_FIELD("event actor", e, actor, true, err)) != 0 ||
	    (rc = CHECK_FIELD("event name", e, event, true, err)) != 0 ||
	    (rc = CHECK_FIELD("event detail", e, detail, false, err)) != 0)
		return rc;
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	if ((rc = tx_leave(s, s->ops->app_event_add(s->impl, e, &seq, err),
			   err)) != 0)
		return rc;
	e->seq = seq;
	return 0;
}

int store_app_event_each(store *s, int64_t app_id, store_app_event_fn fn,
			 void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	return s->ops->app_event_each(s->impl, app_id, fn, ctx, err);
}

int store_notice_add(store *s, const store_notice *n, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (n == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no notice");
	if ((rc = check_serial(n->cert_serial, err)) != 0 ||
	    (rc = check_date("notice expiry date", n->expiry, err)) != 0 ||
	    (rc = CHECK_FIELD("notice batch", n, batch, true, err)) != 0)
		return rc;
	if (n->resident_id <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "notice has no resident");
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->notice_add(s->impl, n, err), err);
}

int store_notice_get(store *s, const char *cert_serial, store_notice *out,
		     jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_serial(cert_serial, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->notice_get(s->impl, cert_serial, out, err);
}

/* ---- finding residents (H3) --------------------------------------------- */

int store_resident_find(store *s, const store_resident_query *q, int limit,
			store_resident_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	if (q == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no search query");
	if ((rc = check_text("search key", q->key, sizeof(q->key), false,
			     err)) != 0 ||
	    (rc = check_text("search id", q->ext, sizeof(q->ext), false,
			     err)) != 0)
		return rc;
	if (q->birth.y != 0 &&
	    (rc = check_date("birth date", q->birth, err)) != 0)
		return rc;
	if (limit < 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "search limit %d is not positive", limit);
	return s->ops->resident_find(s->impl, q, limit, fn, ctx, err);
}

int store_app_find(store *s, const store_app_filter *f, int limit,
		   store_app_row_fn fn, void *ctx, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_fn(fn != NULL, err)) != 0)
		return rc;
	if (f == NULL || f->resident_id < 0 || f->state_min < 0 ||
	    f->state_max > STORE_APP_CANCELLED || f->state_min > f->state_max ||
	    f->opened_from < 0 || f->opened_to < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application list: a bad filter");
	if (limit < 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application listing needs a limit >= 1");
	return s->ops->app_find(s->impl, f, limit, fn, ctx, err);
}

/* ---- the office of a municipality (H3) ---------------------------------- */

int store_muni_office_get(store *s, const char *code, store_office *out,
			  jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 ||
	    (rc = check_muni_code(code, false, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	return s->ops->office_get(s->impl, code, out, err);
}

int store_muni_office_set(store *s, const char *code, const store_office *o,
			  jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (o == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no office");
	if ((rc = check_muni_code(code, false, err)) != 0 ||
	    (rc = CHECK_FIELD("office name", o, name, false, err)) != 0 ||
	    (rc = CHECK_FIELD("office address", o, address, false, err)) != 0 ||
	    (rc = CHECK_FIELD("office phone", o, phone, false, err)) != 0 ||
	    (rc = CHECK_FIELD("office hours", o, hours, false, err)) != 0 ||
	    (rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->office_set(s->impl, code, o, err), err);
}

int store_check(store *s, bool full, jpki_err *err)
{
	if (s == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no store");
	if (s->depth > 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "store_check inside a transaction");
	return s->ops->check(s->impl, full, err);
}

int store_audit_head(store *s, int64_t *seq, char hash[65], jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (seq == NULL || hash == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no place for the head");
	if ((rc = store_read_begin(s, err)) != 0)
		return rc;
	hash[0] = '\0';
	rc = s->ops->audit_head_for_update(s->impl, seq, hash, err);
	store_read_end(s);
	return rc;
}

/* ---- short-lived shared state of jpkid nodes (issue #12 item 3) --------- */

static int check_token_id(const char *id, jpki_err *err)
{
	size_t n = 0;
	if (id == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no token id");
	while ((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'A' && id[n] <= 'F'))
		n++;
	if (n != STORE_TOKEN_ID_LEN || id[n] != '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a token id is 64 upper-case hex digits");
	return 0;
}

int store_token_put(store *s, const store_token *t, const uint8_t *data,
		    size_t len, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0)
		return rc;
	if (t == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no token");
	if ((rc = check_token_id(t->id, err)) != 0 ||
	    (rc = CHECK_FIELD("token owner", t, owner, false, err)) != 0 ||
	    (rc = CHECK_FIELD("token operator", t, op, false, err)) != 0 ||
	    (rc = CHECK_FIELD("token extra", t, extra, false, err)) != 0)
		return rc;
	if (t->kind < STORE_TOKEN_SESSION || t->kind > STORE_TOKEN_DOWNLOAD)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown token kind %d",
				 t->kind);
	if (data == NULL && len != 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "no token data");
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	return tx_leave(s, s->ops->token_put(s->impl, t, data, len, err), err);
}

int store_token_get(store *s, const char *id, store_token *out, uint8_t **data,
		    size_t *len, jpki_err *err)
{
	int rc;
	if ((rc = usable(s, err)) != 0 || (rc = check_token_id(id, err)) != 0 ||
	    (rc = check_out(out, err)) != 0)
		return rc;
	if (data != NULL && len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no length output");
	return s->ops->token_get(s->impl, id, out, data, len, err);
}

int store_token_touch(store *s, const char *id, time_t last, int64_t expect,
		      bool *changed, jpki_err *err)
{
	int rc;
	bool ch = false;
	if ((rc = usable(s, err)) != 0 || (rc = check_token_id(id, err)) != 0)
		return rc;
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	rc = tx_leave(
	    s, s->ops->token_touch(s->impl, id, last, expect, &ch, err), err);
	if (rc == 0 && changed != NULL)
		*changed = ch;
	return rc;
}

int store_token_delete(store *s, const store_token_filter *f, size_t *n,
		       jpki_err *err)
{
	int rc;
	size_t k = 0;
	if ((rc = usable(s, err)) != 0 || (rc = check_out(f, err)) != 0)
		return rc;
	if (f->id != NULL && (rc = check_token_id(f->id, err)) != 0)
		return rc;
	if (f->kind == 0 && f->id == NULL && f->expired_at == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "deleting tokens needs a kind, id or expiry");
	if ((rc = store_begin(s, err)) != 0)
		return rc;
	rc = tx_leave(s, s->ops->token_delete(s->impl, f, &k, err), err);
	if (rc == 0 && n != NULL)
		*n = k;
	return rc;
}

int store_token_take(store *s, const char *id, store_token *out, uint8_t **data,
		     size_t *len, jpki_err *err)
{
	store_token t;
	uint8_t *d = NULL;
	size_t dl = 0, n = 0;
	store_token_filter f = {.id = id};
	int rc = store_token_get(s, id, &t, data != NULL ? &d : NULL, &dl, err);
	if (rc != 0)
		return rc;
	/* whoever deletes the row has taken it */
	if ((rc = store_token_delete(s, &f, &n, err)) == 0 && n != 1)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND, "token taken already");
	if (rc != 0) {
		if (d != NULL)
			jpki_free_secret(d, dl);
		return rc;
	}
	*out = t;
	if (data != NULL) {
		*data = d;
		*len = dl;
	}
	return 0;
}

int store_token_count(store *s, const store_token_filter *f, size_t *n,
		      time_t *first_expiry, jpki_err *err)
{
	int rc;
	size_t k = 0;
	time_t first = 0;
	if ((rc = usable(s, err)) != 0 || (rc = check_out(f, err)) != 0 ||
	    (rc = check_out(n, err)) != 0)
		return rc;
	if ((rc = s->ops->token_count(s->impl, f, &k, &first, err)) != 0)
		return rc;
	*n = k;
	if (first_expiry != NULL)
		*first_expiry = first;
	return 0;
}

/* ---- revocations as they commit ----------------------------------------- */

struct store_watch {
	const struct store_backend *ops;
	void *impl;
};

int store_watch_open(const char *location, store_watch **out, jpki_err *err)
{
	const struct store_backend *b = &store_sqlite_backend;
	store_watch *w = NULL;
	int rc;
	if (location == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no store location");
	size_t sl = scheme_len(location);
	if ((sl == 10 && strncasecmp(location, "postgresql", 10) == 0) ||
	    (sl == 8 && strncasecmp(location, "postgres", 8) == 0))
		b = &store_pg_backend;
	if (b->watch_open == NULL)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "the %s store does not tell of revocations",
				 b->name);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	w->ops = b;
	if ((rc = b->watch_open(location, &w->impl, err)) != 0) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int store_watch_wait(store_watch *w, int timeout_ms, store_watch_fn fn,
		     void *ctx, jpki_err *err)
{
	if (w == NULL || fn == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no watch or callback");
	return w->ops->watch_wait(w->impl, timeout_ms, fn, ctx, err);
}

void store_watch_close(store_watch *w)
{
	if (w == NULL)
		return;
	w->ops->watch_close(w->impl);
	free(w);
}
