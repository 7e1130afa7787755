/* Bulk import of residents from CSV (RFC 4180): every row is parsed and
 * checked in a first pass, then, only when all are good, parsed again and
 * added in one transaction.  The bytes are read through jpki_rbuf with a
 * cap per field, per row and on the number of rows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/buf.h"
#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"

/* The ninth column, my_number (個人番号, H3), is optional: a file has the
 * eight columns or all nine, as its header says. */
#define NCOLS 9

static const char *const cols[NCOLS] = {"ext_id",  "name",	 "kana",
					"address", "birth",	 "sex",
					"muni",	   "adult_ward", "my_number"};

typedef struct csv {
	jpki_rbuf b;
	size_t line;  /* current physical line */
	size_t ncols; /* of the header: 8 or 9; 0 while reading it */
} csv;

/* One row's fields, NUL-terminated. */
typedef struct row {
	char f[NCOLS][REGISTRY_IMPORT_FIELD_MAX + 1];
	size_t n;      /* fields read */
	size_t line;   /* where the row starts */
	char why[120]; /* a cap exceeded: the row is bad, the file readable */
} row;

static int peek(const csv *c)
{
	return jpki_rbuf_left(&c->b) > 0 ? c->b.p[c->b.off] : -1;
}

static int next(csv *c)
{
	uint8_t v;
	return jpki_rbuf_u8(&c->b, &v) == 0 ? v : -1;
}

/* Read one row.  1: a row; 0: end of input; JPKI_ERR_PARSE: the bytes are
 * not CSV (a stray quote), message in why. */
static int read_row(csv *c, row *r)
{
	size_t total = 0, len = 0;
	memset(r->why, 0, sizeof(r->why));
	r->n = 0;
	r->line = c->line;
	if (peek(c) < 0)
		return 0;
	for (;;) { /* fields; each pass consumes at least one byte or ends */
		bool quoted = peek(c) == '"', over = false;
		char *dst = r->n < NCOLS ? r->f[r->n] : NULL;
		len = 0;
		if (quoted)
			next(c);
		for (;;) {
			int ch = next(c);
			if (quoted) {
				if (ch < 0) {
					snprintf(
					    r->why, sizeof(r->why),
					    "a quoted field is not closed");
					return JPKI_ERR_PARSE;
				}
				if (ch == '"') {
					if (peek(c) == '"') {
						next(c);
					} else {
						quoted = false;
						ch = next(c);
						if (ch != ',' && ch != '\r' &&
						    ch != '\n' && ch >= 0) {
							snprintf(
							    r->why,
							    sizeof(r->why),
							    "text after a "
							    "closing quote");
							return JPKI_ERR_PARSE;
						}
						goto end_field_ch;
					}
				} else if (ch == '\n') {
					c->line++;
				}
			} else {
			end_field_ch:
				if (ch == '\r') {
					if (next(c) != '\n') {
						snprintf(r->why, sizeof(r->why),
							 "CR without LF");
						return JPKI_ERR_PARSE;
					}
					ch = '\n';
				}
				if (ch < 0 || ch == ',' || ch == '\n') {
					if (dst != NULL)
						dst[len] = '\0';
					r->n++;
					if (ch == ',')
						break;
					if (ch == '\n')
						c->line++;
					if (c->ncols != 0 && r->n != c->ncols &&
					    r->why[0] == '\0')
						snprintf(r->why, sizeof(r->why),
							 "%zu fields, not %zu",
							 r->n, c->ncols);
					return 1;
				}
				if (ch == '"') {
					snprintf(r->why, sizeof(r->why),
						 "a quote inside an unquoted "
						 "field");
					return JPKI_ERR_PARSE;
				}
			}
			if (++total > REGISTRY_IMPORT_ROW_MAX && !over &&
			    r->why[0] == '\0')
				snprintf(r->why, sizeof(r->why),
					 "row over %d bytes",
					 REGISTRY_IMPORT_ROW_MAX);
			if (len >= REGISTRY_IMPORT_FIELD_MAX) {
				if (!over && r->why[0] == '\0' && r->n < NCOLS)
					snprintf(r->why, sizeof(r->why),
						 "%s over %d bytes", cols[r->n],
						 REGISTRY_IMPORT_FIELD_MAX);
				over = true;
			} else if (dst != NULL) {
				dst[len++] = (char)ch;
			}
		}
	}
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF) without control characters; line breaks only when nl_ok. */
static bool fail_row(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_row(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return false;
}

/* The row as a resident; a reason in why when a value is wrong. */
static bool to_resident(const row *r, store_resident *res, time_t now,
			char *why, size_t cap)
{
	memset(res, 0, sizeof(*res));
	const char *ward = r->f[7];
	size_t n;
	if (r->f[0][0] == '\0' || strlen(r->f[0]) >= sizeof(res->ext_id) ||
	    !jpki_text_ok(r->f[0]))
		return fail_row(why, cap, "ext_id: 1 to %zu bytes of text",
				sizeof(res->ext_id) - 1);
	for (int i = 1; i <= 3; i++) {
		size_t max = i == 3 ? sizeof(res->address) : sizeof(res->name);
		if (strlen(r->f[i]) >= max || !jpki_text_ok(r->f[i]) ||
		    (i != 2 && r->f[i][0] == '\0'))
			return fail_row(why, cap,
					"%s: %s UTF-8 text under %zu bytes, "
					"without control "
					"characters, line breaks or direction "
					"overrides",
					cols[i], i == 2 ? "" : "non-empty",
					max);
	}
	if (jpki_date_parse(r->f[4], &res->birth) != 0)
		return fail_row(why, cap, "birth: a date YYYY-MM-DD");
	if (jpki_date_cmp(res->birth, jpki_date_of(now)) > 0)
		return fail_row(why, cap, "birth: in the future");
	if (strcmp(r->f[5], "1") != 0 && strcmp(r->f[5], "2") != 0)
		return fail_row(why, cap, "sex: 1 (男) or 2 (女)");
	n = strlen(r->f[6]);
	if (n != 6 || strspn(r->f[6], "0123456789") != 6)
		return fail_row(why, cap, "muni: a 6-digit code");
	if (strcmp(ward, "1") == 0 || strcmp(ward, "true") == 0)
		res->adult_ward = true;
	else if (ward[0] != '\0' && strcmp(ward, "0") != 0 &&
		 strcmp(ward, "false") != 0)
		return fail_row(why, cap, "adult_ward: 0, 1, true or false");
	/* a field longer than the store keeps is refused, not cut */
	if (jpki_strlcpy(res->ext_id, r->f[0], sizeof(res->ext_id)) != 0)
		return fail_row(why, cap, "id: longer than %zu bytes",
				sizeof(res->ext_id) - 1);
	if (jpki_strlcpy(res->name, r->f[1], sizeof(res->name)) != 0)
		return fail_row(why, cap, "name: longer than %zu bytes",
				sizeof(res->name) - 1);
	if (jpki_strlcpy(res->kana, r->f[2], sizeof(res->kana)) != 0)
		return fail_row(why, cap, "kana: longer than %zu bytes",
				sizeof(res->kana) - 1);
	if (jpki_strlcpy(res->address, r->f[3], sizeof(res->address)) != 0)
		return fail_row(why, cap, "address: longer than %zu bytes",
				sizeof(res->address) - 1);
	res->sex = r->f[5][0] - '0';
	memcpy(res->muni_code, r->f[6], 7); /* 6 digits, checked above */
	if (r->n > 8 && r->f[8][0] != '\0') {
		if (rules_mynumber_check(r->f[8], NULL) != 0)
			return fail_row(why, cap,
					"my_number: 12 digits with the check "
					"digit of 番号法施行令 第8条");
		/* rules_mynumber_check() held it to 12 digits */
		if (jpki_strlcpy(res->my_number, r->f[8],
				 sizeof(res->my_number)) != 0)
			return fail_row(why, cap, "my_number: 12 digits");
	}
	res->status = STORE_RESIDENT_LIVING;
	res->updated_at = now;
	return true;
}

static void report(registry_import_result *out, size_t line, const char *msg)
{
	if (out->nerrors < REGISTRY_IMPORT_ERRORS_MAX) {
		out->errors[out->nerrors].line = line;
		jpki_strlcpy_cut(out->errors[out->nerrors].msg, msg,
				 sizeof(out->errors[0].msg)); /* a message */
	}
	out->nerrors++;
}

typedef struct ext_ref {
	char id[32];
	size_t line;
} ext_ref;

static int ext_cmp(const void *a, const void *b)
{
	const ext_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Position after the BOM and the header row; JPKI_ERR_PARSE otherwise. */
static int open_csv(csv *c, const uint8_t *p, size_t len, row *r,
		    registry_import_result *out, jpki_err *err)
{
	jpki_rbuf_init(&c->b, p, len);
	c->line = 1;
	c->ncols = 0;
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf &&
	    jpki_rbuf_skip(&c->b, 3) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "CSV: truncated BOM");
	int rc = read_row(c, r);
	bool good = rc == 1 && (r->n == NCOLS - 1 || r->n == NCOLS) &&
		    r->why[0] == '\0';
	for (size_t i = 0; good && i < r->n; i++)
		good = strcmp(r->f[i], cols[i]) == 0;
	if (good)
		c->ncols = r->n;
	if (!good) {
		report(out, 1,
		       "the header is ext_id,name,kana,address,birth,"
		       "sex,muni,adult_ward[,my_number]");
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "line 1: the header must be ext_id,name,kana,"
				 "address,birth,sex,muni,adult_ward"
				 "[,my_number]");
	}
	return 0;
}

/* First pass: parse and check every row. */
static int check_all(jpki_ca *ca, const uint8_t *p, size_t len, time_t now,
		     row *r, registry_import_result *out, jpki_err *err)
{
	store *st = ca_store(ca);
	store_resident res, old;
	store_muni m;
	char why[160], muni_ok[8] = "";
	ext_ref *ids = NULL;
	csv c;
	int rc = open_csv(&c, p, len, r, out, err);
	if (rc != 0)
		return rc;
	for (;;) {
		if ((rc = read_row(&c, r)) == 0)
			break;
		if (rc == JPKI_ERR_PARSE) {
			report(out, r->line, r->why);
			rc =
			    jpki_fail(err, rc, "line %zu: %s", r->line, r->why);
			goto out;
		}
		if (out->rows == REGISTRY_IMPORT_ROWS_MAX) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "more than %d rows; split the file",
				       REGISTRY_IMPORT_ROWS_MAX);
			goto out;
		}
		if (out->rows % 1024 == 0) {
			ext_ref *n =
			    realloc(ids, (out->rows + 1024) * sizeof(*ids));
			if (n == NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM, "import");
				goto out;
			}
			ids = n;
		}
		ids[out->rows].id[0] = '\0';
		ids[out->rows].line = r->line;
		out->rows++;
		if (r->why[0] != '\0') {
			report(out, r->line, r->why);
			continue;
		}
		if (!to_resident(r, &res, now, why, sizeof(why))) {
			report(out, r->line, why);
			continue;
		}
		memcpy(ids[out->rows - 1].id, res.ext_id,
		       sizeof(ids[0].id)); /* both 32 */
		if (strcmp(muni_ok, res.muni_code) != 0) {
			if ((rc = store_muni_get(st, res.muni_code, &m, err)) ==
			    JPKI_ERR_NOT_FOUND) {
				snprintf(why, sizeof(why),
					 "muni: %s is not on record",
					 res.muni_code);
				report(out, r->line, why);
				continue;
			}
			if (rc != 0)
				goto out;
			memcpy(muni_ok, res.muni_code, sizeof(muni_ok)); /* 8 */
		}
		rc = store_resident_get_ext(st, res.ext_id, &old, err);
		if (rc == 0) {
			snprintf(why, sizeof(why),
				 "ext_id %s is already on record (resident "
				 "%lld)",
				 res.ext_id, (long long)old.id);
			report(out, r->line, why);
		} else if (rc != JPKI_ERR_NOT_FOUND) {
			goto out;
		}
	}
	rc = 0;
	/* the same ext_id twice in the file: every later row is bad */
	if (out->rows > 1)
		qsort(ids, out->rows, sizeof(*ids), ext_cmp);
	for (size_t i = 1; i < out->rows; i++)
		if (ids[i].id[0] != '\0' &&
		    strcmp(ids[i].id, ids[i - 1].id) == 0) {
			snprintf(why, sizeof(why), "ext_id %s repeats line %zu",
				 ids[i].id, ids[i - 1].line);
			report(out, ids[i].line, why);
		}
out:
	free(ids);
	return rc;
}

/* Second pass, inside the caller's transaction. */
static int add_all(jpki_ca *ca, const uint8_t *p, size_t len, time_t now,
		   const char *actor, registry_import_progress progress,
		   void *pctx, row *r, registry_import_result *out,
		   jpki_err *err)
{
	store_resident res;
	char why[160];
	size_t done = 0;
	csv c;
	int rc = open_csv(&c, p, len, r, out, err);
	while (rc == 0 && done < out->rows) {
		if (read_row(&c, r) != 1 ||
		    !to_resident(r, &res, now, why, sizeof(why)))
			return jpki_fail(err, JPKI_ERR_STATE,
					 "line %zu changed between passes",
					 r->line);
		if ((rc = registry_resident_add(ca, &res, now, actor, err)) !=
		    0) {
			report(out, r->line, jpki_err_msg(err, rc));
			return rc;
		}
		if (++done % 1000 == 0 && progress != NULL)
			progress(pctx, done, out->rows);
	}
	if (rc == 0 && progress != NULL)
		progress(pctx, done, out->rows);
	return rc;
}

int registry_residents_import(jpki_ca *ca, const uint8_t *csv_bytes, size_t len,
			      time_t now, const char *actor,
			      registry_import_progress progress, void *pctx,
			      registry_import_result *out, jpki_err *err)
{
	store *st = ca_store(ca);
	row *r = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((r = malloc(sizeof(*r))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "import");
	if ((rc = check_all(ca, csv_bytes, len, now, r, out, err)) != 0)
		goto out;
	if (out->nerrors > 0) {
		rc =
		    jpki_fail(err, JPKI_ERR_INVAL,
			      "%zu bad rows of %zu, nothing imported; first at "
			      "line %zu: %s",
			      out->nerrors, out->rows, out->errors[0].line,
			      out->errors[0].msg);
		goto out;
	}
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	if ((rc = add_all(ca, csv_bytes, len, now, actor, progress, pctx, r,
			  out, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0) {
		store_rollback(st);
		goto out;
	}
	out->imported = out->rows;
out:
	free(r);
	return rc;
}
