/* Finding residents at the counter (issue #10 item 7): one query box that
 * takes a name or kana (folded: textfold.h), an address, a 住民票コード or
 * other ext id, a 個人番号, or a date of birth written in 西暦 or 和暦.
 *
 * Dates of birth (after folding: full-width digits and spaces do not
 * matter):
 *   西暦  1980-12-31  1980/12/31  1980.12.31  19801231  1980年12月31日
 *         (month and day of one or two digits where separated)
 *   和暦  昭和55年12月31日  昭和55.12.31  S55.12.31  s55/12/31  S551231
 *         令和元年5月1日 = 令和1年5月1日 = R1.5.1; eras 明治 大正 昭和 平成
 *         令和 or M T S H R.  The date must lie in the era named: 昭和64年
 *         1月7日 is a date, 昭和64年1月8日 is not (平成 began that day).
 * Something shaped as a date that is not one (1980-02-30, 平成31年5月1日)
 * is refused with the reason, not searched as text. */
#include <stdio.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/textfold.h"
#include "openjpki/util.h"

static const struct {
	const char *name; /* as folded: kanji, or a lower-case letter */
	int era;
} era_names[] = {
    {"明治", 1}, {"大正", 2}, {"昭和", 3}, {"平成", 4}, {"令和", 5},
    {"m", 1},	 {"t", 2},    {"s", 3},	   {"h", 4},	{"r", 5},
};

/* Up to `max` ASCII digits at *p (at least one); -1 when none. */
static int num(const char **p, int max)
{
	int v = 0, n = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n == 0 ? -1 : v;
}

static bool lit(const char **p, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool sep(const char **p)
{
	return lit(p, "-") || lit(p, "/") || lit(p, ".");
}

/* month and day after the year: "12月31日" (日 optional) when kanji, else
 * "<sep>12<sep>31".  True when the whole rest was read. */
static bool month_day(const char **p, bool kanji, int *m, int *d)
{
	if (kanji) {
		if ((*m = num(p, 2)) < 0 || !lit(p, "月") ||
		    (*d = num(p, 2)) < 0)
			return false;
		lit(p, "日");
	} else if (!sep(p) || (*m = num(p, 2)) < 0 || !sep(p) ||
		   (*d = num(p, 2)) < 0) {
		return false;
	}
	return **p == '\0';
}

static int bad_date(jpki_err *err, const char *q, const char *why)
{
	return jpki_fail(err, JPKI_ERR_INVAL, "%.40s: %s", q, why);
}

/* s is folded.  1 and *out set: a date; 0: not shaped as a date;
 * JPKI_ERR_INVAL: shaped as one but not a day that exists. */
static int parse_folded_date(const char *s, jpki_date *out, jpki_err *err)
{
	const char *p = s;
	int y, m, d, era = 0;
	for (size_t i = 0; i < sizeof(era_names) / sizeof(era_names[0]); i++)
		if (lit(&p, era_names[i].name)) {
			era = era_names[i].era;
			break;
		}
	if (era == 0) { /* 西暦 */
		size_t n = strlen(s);
		if (n == 8 && strspn(s, "0123456789") == 8) {
			/* compact: an id of 8 digits is searched as one */
			y = num(&p, 4);
			m = num(&p, 2);
			d = num(&p, 2);
			jpki_date g = {y, m, d};
			if (!jpki_date_valid(g) || y < 1868)
				return 0;
			*out = g;
			return 1;
		} else {
			p = s;
			if ((y = num(&p, 4)) < 0 || p - s != 4)
				return 0;
			bool kanji = lit(&p, "年");
			if (!month_day(&p, kanji, &m, &d))
				return 0;
		}
		jpki_date g = {y, m, d};
		if (!jpki_date_valid(g))
			return bad_date(err, s, "no such day");
		*out = g;
		return 1;
	}
	/* 和暦 */
	bool kanji, compact = false;
	if (lit(&p, "元")) {
		y = 1;
	} else if (strlen(p) == 6 && strspn(p, "0123456789") == 6) {
		compact = true; /* S551231; an id of that shape stays one */
		y = num(&p, 2);
		m = num(&p, 2);
		d = num(&p, 2);
		goto era_date;
	} else if ((y = num(&p, 2)) < 0) {
		return 0;
	}
	kanji = lit(&p, "年");
	if (!month_day(&p, kanji, &m, &d))
		return 0;
era_date:;
	jpki_date first;
	if (rules_era_first_day(era, &first, err) != 0)
		return JPKI_ERR_INVAL;
	jpki_date g = {first.y + y - 1, m, d};
	int got = 0;
	if (y < 1 || !jpki_date_valid(g))
		return compact ? 0 : bad_date(err, s, "no such day");
	int ey = rules_era_year(g, &got);
	if (got != era || ey != y)
		return compact
			   ? 0
			   : bad_date(
				 err, s,
				 "not a day of that era (明治 from 1868-01-25, "
				 "大正 1912-07-30, 昭和 1926-12-25, 平成 "
				 "1989-01-08, 令和 2019-05-01)");
	*out = g;
	return 1;
}

int registry_birth_parse(const char *s, jpki_date *out, jpki_err *err)
{
	char f[64];
	if (s == NULL || strlen(s) >= sizeof(f))
		return jpki_fail(err, JPKI_ERR_PARSE, "not a date");
	int rc = jpki_text_fold(s, f, sizeof(f), err);
	if (rc != 0)
		return rc == JPKI_ERR_INVAL ? rc : JPKI_ERR_PARSE;
	rc = parse_folded_date(f, out, err);
	if (rc == 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "%.40s: not a date (1980-12-31, 19801231, "
				 "昭和55年12月31日, S55.12.31)",
				 s);
	return rc < 0 ? rc : 0;
}

int registry_search_query(const char *q, store_resident_query *out,
			  jpki_err *err)
{
	char f[sizeof(out->key)];
	int rc;
	memset(out, 0, sizeof(*out));
	if (q == NULL)
		return 0;
	if (strlen(q) >= sizeof(f))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "search text longer than %zu bytes",
				 sizeof(f) - 1);
	if ((rc = jpki_text_fold(q, f, sizeof(f), err)) != 0)
		return rc;
	if (f[0] == '\0')
		return 0; /* every resident */
	rc = parse_folded_date(f, &out->birth, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		memcpy(out->key, f, sizeof(out->key)); /* f is as large */
	/* an id: 住民票コード (11 digits), the office's own key, 個人番号 */
	if (strlen(f) < sizeof(out->ext))
		memcpy(out->ext, f, strlen(f) + 1);
	return 0;
}

int registry_resident_find(jpki_ca *ca, const char *q, int limit,
			   store_resident_fn fn, void *ctx, jpki_err *err)
{
	store_resident_query sq;
	int rc = registry_search_query(q, &sq, err);
	if (rc != 0)
		return rc;
	return store_resident_find(ca_store(ca), &sq, limit, fn, ctx, err);
}
