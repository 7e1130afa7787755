/* Who may receive which certificate. */
#include "openjpki/rules.h"

#define SIGN_MIN_AGE 15

int rules_eligible(jpki_cert_kind kind, const jpki_person *p, jpki_date today,
		   jpki_err *err)
{
	char t[11], b[11];

	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown certificate kind %d", (int)kind);
	if (p == NULL || !jpki_date_valid(p->birth) || !jpki_date_valid(today))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "eligibility: invalid date of birth or date");
	if (jpki_date_cmp(today, p->birth) < 0) {
		jpki_date_format(today, t);
		jpki_date_format(p->birth, b);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "eligibility: date of birth %s is after %s", b,
				 t);
	}
	/* 利用者証明用電子証明書: everyone, under-15s and 成年被後見人 through
	 * the 法定代理人 (江別市, 愛川町, 杉並区). */
	if (kind == JPKI_CERT_AUTH)
		return 0;

	/* 署名用電子証明書: not under 15 (江別市, 愛川町, 杉並区). */
	int age = rules_age(p->birth, today);
	if (age < SIGN_MIN_AGE) {
		jpki_date_format(today, t);
		jpki_date_format(rules_age_from(p->birth, SIGN_MIN_AGE), b);
		return jpki_fail(err, JPKI_ERR_INELIGIBLE,
				 "signature certificate (署名用電子証明書) not "
				 "issued under age %d: age %d on %s, %d on %s",
				 SIGN_MIN_AGE, age, t, SIGN_MIN_AGE, b);
	}
	/* 署名用電子証明書: not to a 成年被後見人 (江別市, 愛川町, 杉並区). */
	if (p->adult_ward)
		return jpki_fail(err, JPKI_ERR_INELIGIBLE,
				 "signature certificate (署名用電子証明書) not "
				 "issued to an adult ward (成年被後見人)");
	return 0;
}
