/* rules/: the 個人番号 check digit (番号法施行令 第8条), every remainder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "openjpki/rules.h"

/* One valid number for each remainder Σ Pn×Qn mod 11 (0 and 1 give the
 * check digit 0, r >= 2 gives 11 - r).  123456789018 worked by hand:
 * from the right 1,0,9,8,7,6,5,4,3,2,1 times 2,3,4,5,6,7,2,3,4,5,6 is
 * 212; 212 mod 11 = 3; 11 - 3 = 8. */
static const struct {
	const char *num;
	int remainder;
} valid[] = {
    {"195173159140", 0}, {"217498494250", 1},  {"783314616299", 2},
    {"799968595588", 3}, {"307116636857", 4},  {"987655425186", 5},
    {"510193438375", 6}, {"680214117534", 7},  {"267762476033", 8},
    {"535855290082", 9}, {"670183262691", 10}, {"123456789018", 3},
    {"000000000000", 0}, {"999999999996", 5},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char first[12];
		jpki_err err = {0};
		memcpy(first, valid[i].num, 11);
		first[11] = '\0';
		int r = valid[i].remainder;
		assert_int_equal(rules_mynumber_check_digit(first),
				 r <= 1 ? 0 : 11 - r);
		assert_int_equal(rules_mynumber_check(valid[i].num, &err), 0);
	}
}

/* Every other last digit of each valid number is refused. */
static void test_wrong_digit(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		for (char d = '0'; d <= '9'; d++) {
			char s[13];
			jpki_err err = {0};
			memcpy(s, valid[i].num, 13);
			if (d == s[11])
				continue;
			s[11] = d;
			assert_int_equal(rules_mynumber_check(s, &err),
					 JPKI_ERR_INVAL);
			assert_non_null(strstr(err.msg, "check digit"));
			assert_null(strstr(err.msg, s)); /* never echoed */
		}
	}
	jpki_err err = {0};
	/* the example */
	assert_int_equal(rules_mynumber_check("123456789019", &err),
			 JPKI_ERR_INVAL);
	/* a swap of two digits changes the weighted sum */
	assert_int_equal(rules_mynumber_check("213456789018", &err),
			 JPKI_ERR_INVAL);
}

static void test_shape(void **state)
{
	static const char *const bad[] = {
	    "",
	    "12345678901",
	    "1234567890180",
	    "12345678901a",
	    "１23456789018",
	    "12345678 9018",
	    "-23456789018",
	    "12345678901\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jpki_err err = {0};
		assert_int_equal(rules_mynumber_check(bad[i], &err),
				 JPKI_ERR_INVAL);
	}
	jpki_err err = {0};
	assert_int_equal(rules_mynumber_check(NULL, &err), JPKI_ERR_INVAL);
	assert_int_equal(rules_mynumber_check_digit(NULL), -1);
	assert_int_equal(rules_mynumber_check_digit("1234567890"), -1);
	assert_int_equal(rules_mynumber_check_digit("1234567890a"), -1);
	assert_int_equal(rules_mynumber_check_digit("123456789012"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_wrong_digit),
	    cmocka_unit_test(test_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
