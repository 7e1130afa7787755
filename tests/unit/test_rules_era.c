/* rules/: Japanese eras and the era-coded date of birth "EYYYYMMDD". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "openjpki/rules.h"

/* D() for table initialisers, DATE() for expressions */
#define D(y, m, d)                                                             \
	{                                                                      \
		(y), (m), (d)                                                  \
	}
#define DATE(y, m, d) ((jpki_date)D(y, m, d))

/* Dates, their code and their era year, boundaries on both sides. */
static const struct {
	jpki_date d;
	const char *code;
	int era, year;
} dates[] = {
    {D(1980, 12, 31), "319801231", 3, 55}, /* jpki-domain.md §1.2 */
    {D(1990, 1, 2), "419900102", 4, 2},	   /* jsrsasign README */
    {D(1899, 12, 1), "118991201", 1, 32},  /* PocketSign mock */
    {D(1868, 1, 25), "118680125", 1, 1},
    {D(1912, 7, 29), "119120729", 1, 45},
    {D(1912, 7, 30), "219120730", 2, 1},
    {D(1926, 12, 24), "219261224", 2, 15},
    {D(1926, 12, 25), "319261225", 3, 1},
    {D(1989, 1, 7), "319890107", 3, 64},
    {D(1989, 1, 8), "419890108", 4, 1},
    {D(2019, 4, 30), "420190430", 4, 31},
    {D(2019, 5, 1), "520190501", 5, 1},
    {D(2025, 11, 25), "520251125", 5, 7},
    {D(2024, 2, 29), "520240229", 5, 6},
};

static void test_era_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char out[10];
		jpki_date back;
		int era = -1;
		jpki_err e;

		jpki_err_clear(&e);
		assert_int_equal(rules_era_date(dates[i].d, out, &e), 0);
		assert_string_equal(out, dates[i].code);
		assert_int_equal(rules_era_date_parse(out, &back, &era, &e), 0);
		assert_int_equal(jpki_date_cmp(back, dates[i].d), 0);
		assert_int_equal(era, dates[i].era);
		era = -1;
		assert_int_equal(rules_era_year(dates[i].d, &era),
				 dates[i].year);
		assert_int_equal(era, dates[i].era);
		assert_int_equal(rules_era_year(dates[i].d, NULL),
				 dates[i].year);
	}
}

static void test_era_date_refused(void **state)
{
	char out[10] = "untouched";
	jpki_err e;
	(void)state;

	jpki_err_clear(&e);
	assert_int_equal(rules_era_date(DATE(1868, 1, 24), out, &e),
			 JPKI_ERR_INVAL);
	assert_string_equal(e.msg, "era-coded date: 1868-01-24 is before the "
				   "Meiji era (明治, from 1868-01-25)");
	assert_string_equal(out, "untouched");
	jpki_err_clear(&e);
	assert_int_equal(rules_era_date(DATE(1990, 2, 29), out, &e),
			 JPKI_ERR_INVAL);
	assert_string_equal(e.msg, "era-coded date: invalid date of birth");
	assert_string_equal(out, "untouched");
}

static void test_era_parse_refused(void **state)
{
	static const struct {
		const char *s;
		const char *msg;
	} t[] = {
	    {"31980123", "era-coded date must be 9 digits EYYYYMMDD"},
	    {"3198012310", "era-coded date must be 9 digits EYYYYMMDD"},
	    {"31980123a", "era-coded date must be 9 digits EYYYYMMDD"},
	    {"-19801231", "era-coded date must be 9 digits EYYYYMMDD"},
	    {"", "era-coded date must be 9 digits EYYYYMMDD"},
	    {"619801231",
	     "era-coded date: unknown era digit 6 (1 明治 .. 5 令和)"},
	    {"019801231",
	     "era-coded date: unknown era digit 0 (1 明治 .. 5 令和)"},
	    {"319800230", "era-coded date: 1980-02-30 is not a calendar date"},
	    {"319801301", "era-coded date: 1980-13-01 is not a calendar date"},
	    {"419890107", "era-coded date: era digit 4 (平成) does not match "
			  "1989-01-07, which is in 昭和 (3)"},
	    {"319890108", "era-coded date: era digit 3 (昭和) does not match "
			  "1989-01-08, which is in 平成 (4)"},
	    {"520190430", "era-coded date: era digit 5 (令和) does not match "
			  "2019-04-30, which is in 平成 (4)"},
	    {"420190501", "era-coded date: era digit 4 (平成) does not match "
			  "2019-05-01, which is in 令和 (5)"},
	    {"119120730", "era-coded date: era digit 1 (明治) does not match "
			  "1912-07-30, which is in 大正 (2)"},
	    {"219261225", "era-coded date: era digit 2 (大正) does not match "
			  "1926-12-25, which is in 昭和 (3)"},
	    {"118680124", "era-coded date: 1868-01-24 is before the Meiji "
			  "era (明治, from 1868-01-25)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_date d = D(7, 7, 7);
		int era = 77;
		jpki_err e;
		jpki_err_clear(&e);
		if (rules_era_date_parse(t[i].s, &d, &era, &e) !=
		    JPKI_ERR_INVAL)
			fail_msg("\"%s\" accepted", t[i].s);
		assert_int_equal(e.code, JPKI_ERR_INVAL);
		assert_string_equal(e.msg, t[i].msg);
		assert_int_equal(jpki_date_cmp(d, DATE(7, 7, 7)), 0);
		assert_int_equal(era, 77);
	}
	jpki_date d;
	jpki_err e;
	jpki_err_clear(&e);
	assert_int_equal(rules_era_date_parse(NULL, &d, NULL, &e),
			 JPKI_ERR_INVAL);
	assert_string_equal(e.msg, "era-coded date: no input or output");
	/* era may be NULL */
	assert_int_equal(rules_era_date_parse("319801231", &d, NULL, NULL), 0);
	assert_int_equal(jpki_date_cmp(d, DATE(1980, 12, 31)), 0);
}

static void test_era_names(void **state)
{
	static const char *names[] = {"明治", "大正", "昭和", "平成", "令和"};
	(void)state;
	for (int i = 1; i <= 5; i++)
		assert_string_equal(rules_era_name(i), names[i - 1]);
	assert_null(rules_era_name(0));
	assert_null(rules_era_name(6));
	assert_null(rules_era_name(-1));
	int era = 9;
	assert_int_equal(rules_era_year(DATE(1868, 1, 24), &era), 0);
	assert_int_equal(era, 0);
	assert_int_equal(rules_era_year(DATE(2019, 2, 30), &era), 0);
	assert_int_equal(era, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_era_date),
	    cmocka_unit_test(test_era_date_refused),
	    cmocka_unit_test(test_era_parse_refused),
	    cmocka_unit_test(test_era_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
