/* Japanese eras and the era-coded date of birth "EYYYYMMDD" of the
 * signature certificate (jpki-domain.md §1.2: 319801231 = 昭和, 1980-12-31). */
#include "openjpki/rules.h"

#include <stdio.h>
#include <string.h>

static const struct era {
	const char *name;
	jpki_date from; /* first day, proleptic Gregorian */
} eras[] = {
    /* 明治: 慶応4年1月1日, to which the 改元の詔 of 1868-10-23 reached
     * back (docs/decisions.md). */
    {"明治", {1868, 1, 25}},
    /* 大正, 昭和: from the day of the demise (改元の詔書), 平成: from the
     * next day, 令和: 2019-05-01 (元号を改める政令 of 1989 and 2019). */
    {"大正", {1912, 7, 30}},
    {"昭和", {1926, 12, 25}},
    {"平成", {1989, 1, 8}},
    {"令和", {2019, 5, 1}},
};

#define N_ERAS ((int)(sizeof(eras) / sizeof(eras[0])))

/* 1..5, or 0 before 明治 or for an invalid date. */
static int era_of(jpki_date d)
{
	if (!jpki_date_valid(d))
		return 0;
	for (int i = N_ERAS - 1; i >= 0; i--)
		if (jpki_date_cmp(d, eras[i].from) >= 0)
			return i + 1;
	return 0;
}

const char *rules_era_name(int era)
{
	if (era < 1 || era > N_ERAS)
		return NULL;
	return eras[era - 1].name;
}

/* 元年 = 1: the year of the first day counts as the era's first year. */
int rules_era_year(jpki_date d, int *era)
{
	int e = era_of(d);
	if (era != NULL)
		*era = e;
	if (e == 0)
		return 0;
	return d.y - eras[e - 1].from.y + 1;
}

int rules_era_date(jpki_date birth, char out[10], jpki_err *err)
{
	char b[11];

	if (out == NULL || !jpki_date_valid(birth))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: invalid date of birth");
	int e = era_of(birth);
	if (e == 0) {
		jpki_date_format(birth, b);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: %s is before the Meiji era "
				 "(明治, from 1868-01-25)",
				 b);
	}
	snprintf(out, 10, "%d%04d%02d%02d", e, birth.y, birth.m, birth.d);
	return 0;
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int rules_era_date_parse(const char *s, jpki_date *out, int *era, jpki_err *err)
{
	char b[11];
	size_t n;

	if (s == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: no input or output");
	n = strnlen(s, 10);
	for (size_t i = 0; n == 9 && i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			n = 0;
	if (n != 9)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date must be 9 digits EYYYYMMDD");
	int e = s[0] - '0';
	if (rules_era_name(e) == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: unknown era digit %d "
				 "(1 明治 .. 5 令和)",
				 e);
	jpki_date d = {digits(s + 1, 4), digits(s + 5, 2), digits(s + 7, 2)};
	jpki_date_format(d, b);
	if (!jpki_date_valid(d))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: %s is not a calendar date",
				 b);
	int actual = era_of(d);
	if (actual != e) {
		if (actual == 0)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "era-coded date: %s is before the "
					 "Meiji era (明治, from 1868-01-25)",
					 b);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "era-coded date: era digit %d (%s) does not "
				 "match %s, which is in %s (%d)",
				 e, eras[e - 1].name, b, eras[actual - 1].name,
				 actual);
	}
	*out = d;
	if (era != NULL)
		*era = e;
	return 0;
}

int rules_era_first_day(int era, jpki_date *out, jpki_err *err)
{
	if (era < 1 || era > N_ERAS)
		return jpki_fail(err, JPKI_ERR_INVAL, "no era number %d", era);
	*out = eras[era - 1].from;
	return 0;
}
