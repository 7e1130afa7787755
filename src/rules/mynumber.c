/* 個人番号 (My Number): 11 digits and a check digit, 番号法施行令 第8条.
 *
 *   Q = 11 - (Σ_{n=1..11} Pn × Qn mod 11), and 0 when the remainder is 0 or 1
 *   Pn: the n-th digit counted from the right, the check digit excluded
 *   Qn: n + 1 for 1 <= n <= 6, n - 5 for 7 <= n <= 11 */
#include "openjpki/rules.h"

#include <string.h>

int rules_mynumber_check_digit(const char *first11)
{
	int sum = 0;
	if (first11 == NULL || strlen(first11) != 11 ||
	    strspn(first11, "0123456789") != 11)
		return -1;
	for (int n = 1; n <= 11; n++) {
		int p = first11[11 - n] - '0';
		int q = n <= 6 ? n + 1 : n - 5;
		sum += p * q;
	}
	int r = sum % 11;
	return r <= 1 ? 0 : 11 - r;
}

int rules_mynumber_check(const char *s, jpki_err *err)
{
	char first[12];
	if (s == NULL || strlen(s) != 12 || strspn(s, "0123456789") != 12)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "個人番号 (My Number): 12 digits");
	memcpy(first, s, 11);
	first[11] = '\0';
	int q = rules_mynumber_check_digit(first);
	if (q != s[11] - '0')
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "個人番号 (My Number): the check digit is "
		    "wrong (番号法施行令 第8条); check the number");
	return 0;
}
