/* rules/: PIN formats, normalisation and retry limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "openjpki/rules.h"

#define LEN "signature PIN must be 6 to 16 characters"
#define MIX "signature PIN must mix letters and digits"
#define SET "signature PIN may contain only A-Z and 0-9"
#define AUTH4 "authentication PIN must be exactly 4 digits"
#define INFO4 "card-information PIN must be exactly 4 digits"

static const struct pcase {
	jpki_pin_kind kind;
	const char *pin;
	int rc;
	const char *want; /* normalised PIN, or the message */
} cases[] = {
    /* signature password */
    {JPKI_PIN_SIGN, "ABC123", 0, "ABC123"},
    {JPKI_PIN_SIGN, "abc123", 0, "ABC123"},
    {JPKI_PIN_SIGN, "aBc12Z", 0, "ABC12Z"},
    {JPKI_PIN_SIGN, "A1B2C3D4E5F6G7H8", 0, "A1B2C3D4E5F6G7H8"},
    {JPKI_PIN_SIGN, "1a2b3c4d5e6f7g8h", 0, "1A2B3C4D5E6F7G8H"},
    {JPKI_PIN_SIGN, "00000Z", 0, "00000Z"},
    {JPKI_PIN_SIGN, "ABC12", JPKI_ERR_PIN_FORMAT, LEN},
    {JPKI_PIN_SIGN, "A1B2C3D4E5F6G7H8I", JPKI_ERR_PIN_FORMAT, LEN},
    {JPKI_PIN_SIGN, "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R8S9",
     JPKI_ERR_PIN_FORMAT, LEN},
    {JPKI_PIN_SIGN, "", JPKI_ERR_PIN_FORMAT, LEN},
    {JPKI_PIN_SIGN, "ABCDEF", JPKI_ERR_PIN_FORMAT, MIX},
    {JPKI_PIN_SIGN, "abcdefghij", JPKI_ERR_PIN_FORMAT, MIX},
    {JPKI_PIN_SIGN, "123456", JPKI_ERR_PIN_FORMAT, MIX},
    {JPKI_PIN_SIGN, "ABC-123", JPKI_ERR_PIN_FORMAT, SET},
    {JPKI_PIN_SIGN, "ABC 123", JPKI_ERR_PIN_FORMAT, SET},
    {JPKI_PIN_SIGN, "ABC12_", JPKI_ERR_PIN_FORMAT, SET},
    {JPKI_PIN_SIGN,
     "\xef\xbc\xa1"
     "BC123",
     JPKI_ERR_PIN_FORMAT, SET},
    {JPKI_PIN_SIGN, "ABCD1\n", JPKI_ERR_PIN_FORMAT, SET},
    /* 利用者証明用暗証番号 */
    {JPKI_PIN_AUTH, "1234", 0, "1234"},
    {JPKI_PIN_AUTH, "0000", 0, "0000"},
    {JPKI_PIN_AUTH, "123", JPKI_ERR_PIN_FORMAT, AUTH4},
    {JPKI_PIN_AUTH, "12345", JPKI_ERR_PIN_FORMAT, AUTH4},
    {JPKI_PIN_AUTH, "12a4", JPKI_ERR_PIN_FORMAT, AUTH4},
    {JPKI_PIN_AUTH, "ABCD", JPKI_ERR_PIN_FORMAT, AUTH4},
    {JPKI_PIN_AUTH, "", JPKI_ERR_PIN_FORMAT, AUTH4},
    {JPKI_PIN_AUTH, "12 4", JPKI_ERR_PIN_FORMAT, AUTH4},
    /* 券面事項入力補助用暗証番号 */
    {JPKI_PIN_CARDINFO, "9876", 0, "9876"},
    {JPKI_PIN_CARDINFO, "abcd", JPKI_ERR_PIN_FORMAT, INFO4},
    {JPKI_PIN_CARDINFO, "98765", JPKI_ERR_PIN_FORMAT, INFO4},
    /* arguments */
    {(jpki_pin_kind)9, "1234", JPKI_ERR_INVAL, "unknown PIN kind 9"},
};

static void test_pin_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		char out[JPKI_PIN_MAX + 1];
		jpki_err e;

		memset(out, '#', sizeof(out));
		jpki_err_clear(&e);
		int rc = rules_pin_check(c->kind, c->pin, out, sizeof(out), &e);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc,
				 e.msg);
		if (rc == 0) {
			assert_string_equal(out, c->want);
			/* check only */
			assert_int_equal(
			    rules_pin_check(c->kind, c->pin, NULL, 0, NULL), 0);
			continue;
		}
		assert_int_equal(e.code, rc);
		if (strcmp(e.msg, c->want) != 0)
			fail_msg("case %zu: message \"%s\", want \"%s\"", i,
				 e.msg, c->want);
		/* the PIN is never echoed, the output never touched */
		if (c->pin[0] != '\0')
			assert_null(strstr(e.msg, c->pin));
		for (size_t j = 0; j < sizeof(out); j++)
			assert_int_equal(out[j], '#');
	}
}

static void test_pin_args(void **state)
{
	char small[JPKI_PIN_MAX];
	char out[JPKI_PIN_MAX + 1];
	jpki_err e;
	(void)state;

	jpki_err_clear(&e);
	assert_int_equal(
	    rules_pin_check(JPKI_PIN_SIGN, "ABC123", small, sizeof(small), &e),
	    JPKI_ERR_INVAL);
	assert_string_equal(e.msg, "PIN output buffer under 17 bytes");
	jpki_err_clear(&e);
	assert_int_equal(
	    rules_pin_check(JPKI_PIN_AUTH, NULL, out, sizeof(out), &e),
	    JPKI_ERR_INVAL);
	assert_string_equal(e.msg, "no PIN given");
}

static void test_pin_retries(void **state)
{
	(void)state;
	assert_int_equal(rules_pin_retries(JPKI_PIN_SIGN), 5);
	assert_int_equal(rules_pin_retries(JPKI_PIN_AUTH), 3);
	assert_int_equal(rules_pin_retries(JPKI_PIN_CARDINFO), 3);
	assert_int_equal(rules_pin_retries((jpki_pin_kind)0), JPKI_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_check),
	    cmocka_unit_test(test_pin_args),
	    cmocka_unit_test(test_pin_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
