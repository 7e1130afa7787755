/* rules/: renewal window and the 有効期限通知書 window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "openjpki/rules.h"

/* a jpki_date in a table initialiser */
#define D(y, m, d)                                                             \
	{                                                                      \
		(y), (m), (d)                                                  \
	}

static void test_renewal_opens(void **state)
{
	static const struct {
		jpki_date expiry, opens;
	} t[] = {
	    {D(2030, 5, 20), D(2030, 2, 20)},
	    {D(2030, 2, 17), D(2029, 11, 17)},
	    {D(2030, 1, 15), D(2029, 10, 15)},
	    {D(2030, 3, 31), D(2029, 12, 31)},
	    /* no 31 February: the month's last day */
	    {D(2030, 5, 31), D(2030, 2, 28)},
	    {D(2028, 5, 31), D(2028, 2, 29)},
	    {D(2030, 7, 31), D(2030, 4, 30)},
	    {D(2030, 2, 28), D(2029, 11, 28)},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char g[11], w[11];
		jpki_date_format(rules_renewal_opens(t[i].expiry), g);
		jpki_date_format(t[i].opens, w);
		assert_string_equal(g, w);
	}
}

static void test_renewal_allowed(void **state)
{
	static const struct {
		jpki_date expiry, today;
		int rc;
		const char *msg;
		const char *what;
	} t[] = {
	    {D(2030, 5, 20), D(2030, 2, 19), JPKI_ERR_WINDOW,
	     "renewal opens on 2030-02-20, 3 months before the "
	     "certificate's last day 2030-05-20",
	     "one day before the window"},
	    {D(2030, 5, 20), D(2030, 2, 20), 0, NULL,
	     "exactly 3 months before"},
	    {D(2030, 5, 20), D(2030, 4, 1), 0, NULL, "inside the window"},
	    {D(2030, 5, 20), D(2030, 5, 20), 0, NULL, "on the last day"},
	    {D(2030, 5, 20), D(2030, 5, 21), 0, NULL, "the day after expiry"},
	    {D(2030, 5, 20), D(2034, 1, 1), 0, NULL, "years after expiry"},
	    {D(2030, 5, 20), D(2026, 1, 1), JPKI_ERR_WINDOW,
	     "renewal opens on 2030-02-20", "years before"},
	    {D(2030, 5, 31), D(2030, 2, 27), JPKI_ERR_WINDOW,
	     "renewal opens on 2030-02-28", "month end, 27 Feb"},
	    {D(2030, 5, 31), D(2030, 2, 28), 0, NULL, "month end, 28 Feb"},
	    {D(2030, 2, 30), D(2030, 1, 1), JPKI_ERR_INVAL,
	     "renewal: invalid expiry date or date", "invalid expiry"},
	    {D(2030, 5, 20), D(2030, 0, 1), JPKI_ERR_INVAL,
	     "renewal: invalid expiry date or date", "invalid today"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_err e;
		jpki_err_clear(&e);
		int rc = rules_renewal_allowed(t[i].expiry, t[i].today, &e);
		if (rc != t[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", t[i].what, rc,
				 t[i].rc, e.msg);
		if (rc != 0) {
			assert_int_equal(e.code, rc);
			if (strstr(e.msg, t[i].msg) == NULL)
				fail_msg("%s: message \"%s\" lacks \"%s\"",
					 t[i].what, e.msg, t[i].msg);
		}
		assert_int_equal(
		    rules_renewal_allowed(t[i].expiry, t[i].today, NULL),
		    t[i].rc);
	}
}

static void test_notice_due(void **state)
{
	static const struct {
		jpki_date expiry, today;
		bool due;
		const char *what;
	} t[] = {
	    {D(2030, 5, 20), D(2030, 2, 19), false, "day before 3 months"},
	    {D(2030, 5, 20), D(2030, 2, 20), true, "3 months before"},
	    {D(2030, 5, 20), D(2030, 3, 1), true, "inside"},
	    {D(2030, 5, 20), D(2030, 3, 20), true, "2 months before"},
	    {D(2030, 5, 20), D(2030, 3, 21), false, "day after 2 months"},
	    {D(2030, 5, 20), D(2030, 5, 20), false, "last day"},
	    {D(2030, 5, 20), D(2030, 6, 1), false, "after expiry"},
	    {D(2030, 5, 20), D(2029, 5, 20), false, "a year before"},
	    {D(2030, 5, 31), D(2030, 2, 27), false, "month end, 27 Feb"},
	    {D(2030, 5, 31), D(2030, 2, 28), true, "month end, 28 Feb"},
	    {D(2030, 5, 31), D(2030, 3, 31), true, "month end, 31 Mar"},
	    {D(2030, 5, 31), D(2030, 4, 1), false, "month end, 1 Apr"},
	    {D(2030, 2, 31), D(2029, 12, 1), false, "invalid expiry"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (rules_notice_due(t[i].expiry, t[i].today) != t[i].due)
			fail_msg("%s: want %s", t[i].what,
				 t[i].due ? "due" : "not due");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_renewal_opens),
	    cmocka_unit_test(test_renewal_allowed),
	    cmocka_unit_test(test_notice_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
