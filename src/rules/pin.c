/* PIN formats and retry limits (jpki-domain.md §3). */
#include "openjpki/rules.h"

#include <string.h>

#define SIGN_PIN_MIN 6
#define DIGIT_PIN_LEN 4

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static char to_upper(char c)
{
	return is_lower(c) ? (char)(c - 'a' + 'A') : c;
}

/* 署名用電子証明書パスワード: 6-16 of A-Z and 0-9 with at least one of each;
 * lower case is taken as upper case (J-LIS procedure/password.html
 * "数字とアルファベットの混在が必須"; 武蔵村山市). */
static int check_sign(const char *pin, size_t n, jpki_err *err)
{
	bool letter = false, digit = false;

	for (size_t i = 0; i < n; i++) {
		char c = to_upper(pin[i]);
		if (is_upper(c))
			letter = true;
		else if (is_digit(c))
			digit = true;
		else
			return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
					 "signature PIN may contain only A-Z "
					 "and 0-9");
	}
	if (n < SIGN_PIN_MIN || n > JPKI_PIN_MAX)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				 "signature PIN must be %d to %d characters",
				 SIGN_PIN_MIN, JPKI_PIN_MAX);
	if (!letter || !digit)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				 "signature PIN must mix letters and digits");
	return 0;
}

/* 利用者証明用 and 券面事項入力補助用暗証番号: 4 digits (江別市, 福岡県;
 * 暗証番号記載票). */
static int check_digits(const char *name, const char *pin, size_t n,
			jpki_err *err)
{
	bool ok = n == DIGIT_PIN_LEN;

	for (size_t i = 0; ok && i < n; i++)
		ok = is_digit(pin[i]);
	if (!ok)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				 "%s PIN must be exactly %d digits", name,
				 DIGIT_PIN_LEN);
	return 0;
}

int rules_pin_check(jpki_pin_kind kind, const char *pin, char *out, size_t cap,
		    jpki_err *err)
{
	size_t n;
	int r;

	if (pin == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no PIN given");
	if (out != NULL && cap < JPKI_PIN_MAX + 1)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "PIN output buffer under %d bytes",
				 JPKI_PIN_MAX + 1);
	/* Bounded: anything longer than the maximum is refused on length. */
	n = strnlen(pin, JPKI_PIN_MAX + 1);
	switch (kind) {
	case JPKI_PIN_SIGN: r = check_sign(pin, n, err); break;
	case JPKI_PIN_AUTH:
		r = check_digits("authentication", pin, n, err);
		break;
	case JPKI_PIN_CARDINFO:
		r = check_digits("card-information", pin, n, err);
		break;
	default:
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown PIN kind %d",
				 (int)kind);
	}
	if (r != 0 || out == NULL)
		return r;
	for (size_t i = 0; i < n; i++)
		out[i] = to_upper(pin[i]);
	out[n] = '\0';
	return 0;
}

/* 5 tries for the signature PIN, 3 for the 4-digit ones (J-LIS FAQ; OpenSC
 * jpki.h; 江別市). */
int rules_pin_retries(jpki_pin_kind kind)
{
	switch (kind) {
	case JPKI_PIN_SIGN: return 5;
	case JPKI_PIN_AUTH: return 3;
	case JPKI_PIN_CARDINFO: return 3;
	}
	return JPKI_ERR_INVAL;
}
