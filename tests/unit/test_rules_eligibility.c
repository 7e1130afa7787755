/* rules/: who may receive which certificate. */
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

static void check_rc(int rc, int want, const jpki_err *e, const char *sub,
		     const char *what)
{
	if (rc != want)
		fail_msg("%s: rc %d, want %d (%s)", what, rc, want, e->msg);
	if (want == 0)
		return;
	assert_int_equal(e->code, want);
	if (sub == NULL || strstr(e->msg, sub) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", what, e->msg,
			 sub ? sub : "(null)");
}

static void test_eligible(void **state)
{
	static const struct {
		jpki_cert_kind kind;
		jpki_date birth;
		bool ward;
		jpki_date today;
		int rc;
		const char *msg;
		const char *what;
	} t[] = {
	    {JPKI_CERT_SIGN, D(2011, 11, 26), false, D(2026, 11, 26), 0, NULL,
	     "15th birthday today"},
	    {JPKI_CERT_SIGN, D(2011, 11, 26), false, D(2026, 11, 25),
	     JPKI_ERR_INELIGIBLE,
	     "signature certificate (署名用電子証明書) not issued under "
	     "age 15: age 14 on 2026-11-25, 15 on 2026-11-26",
	     "15th birthday tomorrow"},
	    {JPKI_CERT_AUTH, D(2011, 11, 26), false, D(2026, 11, 25), 0, NULL,
	     "auth: 14 years old"},
	    {JPKI_CERT_AUTH, D(2026, 1, 5), false, D(2026, 1, 5), 0, NULL,
	     "auth: born today"},
	    {JPKI_CERT_SIGN, D(2026, 1, 5), false, D(2026, 1, 5),
	     JPKI_ERR_INELIGIBLE, "age 0 on 2026-01-05, 15 on 2041-01-05",
	     "sign: born today"},
	    /* 29 February: 15 on 1 March of a common year */
	    {JPKI_CERT_SIGN, D(2012, 2, 29), false, D(2027, 2, 28),
	     JPKI_ERR_INELIGIBLE, "age 14 on 2027-02-28, 15 on 2027-03-01",
	     "29 Feb, 28 Feb of the 15th year"},
	    {JPKI_CERT_SIGN, D(2012, 2, 29), false, D(2027, 3, 1), 0, NULL,
	     "29 Feb, 1 Mar of the 15th year"},
	    /* 成年被後見人 */
	    {JPKI_CERT_SIGN, D(1960, 4, 1), true, D(2026, 1, 5),
	     JPKI_ERR_INELIGIBLE,
	     "signature certificate (署名用電子証明書) not issued to an "
	     "adult ward (成年被後見人)",
	     "adult ward, sign"},
	    {JPKI_CERT_AUTH, D(1960, 4, 1), true, D(2026, 1, 5), 0, NULL,
	     "adult ward, auth"},
	    {JPKI_CERT_SIGN, D(1960, 4, 1), false, D(2026, 1, 5), 0, NULL,
	     "adult, sign"},
	    /* impossible input */
	    {JPKI_CERT_AUTH, D(2026, 1, 6), false, D(2026, 1, 5),
	     JPKI_ERR_INVAL, "date of birth 2026-01-06 is after 2026-01-05",
	     "born after today"},
	    {JPKI_CERT_AUTH, D(2026, 2, 30), false, D(2026, 3, 5),
	     JPKI_ERR_INVAL, "invalid date of birth", "invalid birth"},
	    {(jpki_cert_kind)7, D(1960, 4, 1), false, D(2026, 1, 5),
	     JPKI_ERR_INVAL, "unknown certificate kind 7", "unknown kind"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_person p = {t[i].birth, t[i].ward};
		jpki_err e;
		jpki_err_clear(&e);
		int rc = rules_eligible(t[i].kind, &p, t[i].today, &e);
		check_rc(rc, t[i].rc, &e, t[i].msg, t[i].what);
		/* the return code does not depend on err being there */
		assert_int_equal(
		    rules_eligible(t[i].kind, &p, t[i].today, NULL), t[i].rc);
	}
}

static void test_eligible_null(void **state)
{
	jpki_err e;
	(void)state;
	jpki_err_clear(&e);
	check_rc(rules_eligible(JPKI_CERT_AUTH, NULL, DATE(2026, 1, 5), &e),
		 JPKI_ERR_INVAL, &e, "eligibility", "NULL person");
}

static void test_kind_name(void **state)
{
	(void)state;
	assert_string_equal(jpki_cert_kind_name(JPKI_CERT_SIGN), "sign");
	assert_string_equal(jpki_cert_kind_name(JPKI_CERT_AUTH), "auth");
	assert_string_equal(jpki_cert_kind_name((jpki_cert_kind)0), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eligible),
	    cmocka_unit_test(test_eligible_null),
	    cmocka_unit_test(test_kind_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
