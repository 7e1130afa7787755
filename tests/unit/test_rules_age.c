/* rules/: age (年齢計算ニ関スル法律, 民法第143条), birthdays, card expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "openjpki/rules.h"

/* a jpki_date in a table initialiser */
#define D(y, m, d)                                                             \
	{                                                                      \
		(y), (m), (d)                                                  \
	}

static void assert_date(jpki_date got, jpki_date want, const char *what)
{
	char g[11], w[11];
	if (jpki_date_cmp(got, want) == 0)
		return;
	jpki_date_format(got, g);
	jpki_date_format(want, w);
	fail_msg("%s: got %s, want %s", what, g, w);
}

static void test_age(void **state)
{
	static const struct {
		jpki_date birth, today;
		int age;
		const char *what;
	} t[] = {
	    {D(2000, 5, 20), D(2000, 5, 20), 0, "day of birth"},
	    {D(2000, 5, 20), D(2001, 5, 19), 0, "day before 1st birthday"},
	    {D(2000, 5, 20), D(2001, 5, 20), 1, "1st birthday"},
	    {D(2000, 5, 20), D(2015, 5, 19), 14, "day before 15th"},
	    {D(2000, 5, 20), D(2015, 5, 20), 15, "15th birthday"},
	    {D(2000, 5, 20), D(2015, 5, 21), 15, "day after 15th"},
	    {D(2000, 5, 20), D(2000, 5, 19), -1, "before birth"},
	    {D(1999, 12, 31), D(2000, 12, 30), 0, "31 Dec, day before"},
	    {D(1999, 12, 31), D(2000, 12, 31), 1, "31 Dec, birthday"},
	    {D(2000, 1, 1), D(2000, 12, 31), 0, "1 Jan, year end"},
	    /* 29 February: 1 March in common years, 29 Feb in leap ones */
	    {D(2008, 2, 29), D(2009, 2, 28), 0, "29 Feb: 28 Feb common"},
	    {D(2008, 2, 29), D(2009, 3, 1), 1, "29 Feb: 1 Mar common"},
	    {D(2008, 2, 29), D(2012, 2, 28), 3, "29 Feb: 28 Feb leap"},
	    {D(2008, 2, 29), D(2012, 2, 29), 4, "29 Feb: 29 Feb leap"},
	    {D(2008, 2, 29), D(2023, 2, 28), 14, "29 Feb: 15th, eve"},
	    {D(2008, 2, 29), D(2023, 3, 1), 15, "29 Feb: 15th"},
	    /* 1 March births are not moved in leap years */
	    {D(2000, 3, 1), D(2004, 2, 29), 3, "1 Mar: 29 Feb leap"},
	    {D(2000, 3, 1), D(2004, 3, 1), 4, "1 Mar: birthday"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (rules_age(t[i].birth, t[i].today) != t[i].age)
			fail_msg("%s: got %d, want %d", t[i].what,
				 rules_age(t[i].birth, t[i].today), t[i].age);
}

static void test_age_from(void **state)
{
	static const struct {
		jpki_date birth;
		int age;
		jpki_date from;
	} t[] = {
	    {D(2000, 5, 20), 15, D(2015, 5, 20)},
	    {D(2000, 5, 20), 0, D(2000, 5, 20)},
	    {D(2008, 2, 29), 15, D(2023, 3, 1)},
	    {D(2008, 2, 29), 16, D(2024, 2, 29)},
	    {D(2008, 2, 29), 1, D(2009, 3, 1)},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_date f = rules_age_from(t[i].birth, t[i].age);
		assert_date(f, t[i].from, "rules_age_from");
		assert_int_equal(rules_age(t[i].birth, f), t[i].age);
		assert_int_equal(
		    rules_age(t[i].birth, jpki_date_add_days(f, -1)),
		    t[i].age - 1);
	}
}

static void test_nth_birthday_after(void **state)
{
	static const struct {
		jpki_date birth, after;
		int n;
		jpki_date want;
		const char *what;
	} t[] = {
	    /* the test card of jpki-domain.md §1.3: 2025-10-27 ->
	     * 2030-02-17 */
	    {D(1990, 2, 17), D(2025, 10, 27), 5, D(2030, 2, 17), "test card"},
	    {D(1990, 5, 20), D(2025, 5, 19), 5, D(2029, 5, 20),
	     "issued the day before the birthday"},
	    {D(1990, 5, 20), D(2025, 5, 20), 5, D(2030, 5, 20),
	     "issued on the birthday: not counted"},
	    {D(1990, 5, 20), D(2025, 5, 21), 5, D(2030, 5, 20),
	     "issued the day after the birthday"},
	    {D(2000, 1, 1), D(2025, 12, 31), 1, D(2026, 1, 1),
	     "first birthday, next year"},
	    {D(1990, 5, 20), D(2030, 2, 20), 6, D(2035, 5, 20), "6th birthday"},
	    /* 29 February: 28 February in common years */
	    {D(2008, 2, 29), D(2025, 2, 27), 5, D(2029, 2, 28),
	     "29 Feb, issued the day before 28 Feb"},
	    {D(2008, 2, 29), D(2025, 2, 28), 5, D(2030, 2, 28),
	     "29 Feb, issued on 28 Feb of a common year"},
	    {D(2008, 2, 29), D(2025, 3, 1), 5, D(2030, 2, 28),
	     "29 Feb, issued on 1 Mar"},
	    {D(2008, 2, 29), D(2024, 2, 28), 5, D(2028, 2, 29),
	     "29 Feb, leap year target"},
	    {D(2008, 2, 29), D(2024, 2, 29), 5, D(2029, 2, 28),
	     "29 Feb, issued on 29 Feb"},
	    {D(2008, 2, 29), D(2023, 3, 1), 1, D(2024, 2, 29),
	     "29 Feb, next is leap"},
	    {D(2008, 2, 29), D(2027, 1, 1), 6, D(2032, 2, 29),
	     "29 Feb, 6th in a leap year"},
	    {D(2000, 2, 29), D(2095, 3, 1), 5, D(2100, 2, 28),
	     "29 Feb, 2100 is common"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_date(
		    rules_nth_birthday_after(t[i].birth, t[i].after, t[i].n),
		    t[i].want, t[i].what);
}

static void test_card_expiry(void **state)
{
	static const struct {
		jpki_date birth, issued, want;
		const char *what;
	} t[] = {
	    {D(1990, 5, 20), D(2025, 1, 10), D(2034, 5, 20), "adult: 10th"},
	    {D(2015, 8, 10), D(2025, 1, 10), D(2029, 8, 10), "child: 5th"},
	    {D(2007, 6, 1), D(2025, 6, 1), D(2035, 6, 1),
	     "18th birthday on the issue day: 10th"},
	    {D(2007, 6, 1), D(2025, 5, 31), D(2029, 6, 1),
	     "17 on the issue day: 5th"},
	    /* before 2022-04-01 the threshold was 20 */
	    {D(2002, 6, 1), D(2021, 6, 1), D(2026, 6, 1), "19 in 2021: 5th"},
	    {D(2001, 6, 1), D(2021, 6, 1), D(2031, 6, 1), "20 in 2021: 10th"},
	    {D(2003, 6, 1), D(2022, 3, 31), D(2026, 6, 1),
	     "18 on 2022-03-31: 5th"},
	    {D(2003, 6, 1), D(2022, 4, 1), D(2031, 6, 1),
	     "18 on 2022-04-01: 10th"},
	    /* 29 February */
	    {D(2008, 2, 29), D(2026, 2, 28), D(2031, 2, 28),
	     "29 Feb, 17 on 28 Feb: 5th"},
	    {D(2008, 2, 29), D(2026, 3, 1), D(2036, 2, 29),
	     "29 Feb, 18 on 1 Mar: 10th, leap"},
	    {D(2008, 2, 29), D(2024, 2, 29), D(2029, 2, 28),
	     "29 Feb child on a leap day"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_date(rules_card_expiry(t[i].birth, t[i].issued),
			    t[i].want, t[i].what);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_age),
	    cmocka_unit_test(test_age_from),
	    cmocka_unit_test(test_nth_birthday_after),
	    cmocka_unit_test(test_card_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
