/* rules/: counter fees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "openjpki/rules.h"

static void test_fees(void **state)
{
	static const struct {
		jpki_fee_event ev;
		int cert_yen, card_yen;
	} t[] = {
	    {JPKI_FEE_ISSUE, 0, 0},
	    {JPKI_FEE_RENEWAL, 0, 0},
	    {JPKI_FEE_CARD_REISSUE, 200, 800},
	    {(jpki_fee_event)0, -1, -1},
	    {(jpki_fee_event)4, -1, -1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_fee f = rules_fee(t[i].ev);
		assert_int_equal(f.cert_yen, t[i].cert_yen);
		assert_int_equal(f.card_yen, t[i].card_yen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
