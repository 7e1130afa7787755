/* rules/notice.c: the expiry-notice batch's catch-up (H3) at every edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "openjpki/rules.h"

#define D(y, m, d)                                                             \
	{                                                                      \
		(y), (m), (d)                                                  \
	}

static void test_notice_owed(void **state)
{
	const struct {
		jpki_date expiry, today;
		bool owed;
		const char *what;
	} t[] = {
	    {D(2030, 5, 20), D(2030, 2, 19), false, "day before the window"},
	    {D(2030, 5, 20), D(2030, 2, 20), true, "window opens"},
	    {D(2030, 5, 20), D(2030, 3, 20), true, "window's last day"},
	    {D(2030, 5, 20), D(2030, 3, 21), true, "window passed: caught up"},
	    {D(2030, 5, 20), D(2030, 5, 19), true, "day before expiry"},
	    {D(2030, 5, 20), D(2030, 5, 20), true, "last day"},
	    {D(2030, 5, 20), D(2030, 5, 21), false, "expired"},
	    {D(2030, 5, 20), D(2031, 1, 1), false, "long expired"},
	    {D(2030, 5, 20), D(2029, 5, 20), false, "a year before"},
	    /* 民法第143条: the window of a month-end expiry */
	    {D(2030, 5, 31), D(2030, 2, 27), false, "month end, 27 Feb"},
	    {D(2030, 5, 31), D(2030, 2, 28), true, "month end, 28 Feb"},
	    {D(2032, 5, 31), D(2032, 2, 28), false, "leap year, 28 Feb"},
	    {D(2032, 5, 31), D(2032, 2, 29), true, "leap year, 29 Feb"},
	    {D(2030, 1, 15), D(2029, 10, 15), true, "across the year"},
	    {D(2030, 1, 15), D(2029, 10, 14), false, "across the year, before"},
	    {D(2030, 2, 31), D(2029, 12, 1), false, "invalid expiry"},
	    {D(2030, 5, 20), D(2030, 4, 31), false, "invalid today"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (rules_notice_owed(t[i].expiry, t[i].today) != t[i].owed)
			fail_msg("%s: want %s", t[i].what,
				 t[i].owed ? "owed" : "not owed");
		/* every day the window itself gives is owed */
		if (rules_notice_due(t[i].expiry, t[i].today) &&
		    !rules_notice_owed(t[i].expiry, t[i].today))
			fail_msg("%s: due but not owed", t[i].what);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notice_owed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
