/* 有効期限通知書: when J-LIS mails the expiry notice. */
#include "openjpki/rules.h"

/* "有効期限の2~3ヶ月前を目途に" (J-LIS FAQ digital_id.html); both ends
 * included, months counted as in 民法第143条. */
bool rules_notice_due(jpki_date expiry, jpki_date today)
{
	if (!jpki_date_valid(expiry) || !jpki_date_valid(today))
		return false;
	return jpki_date_cmp(today, jpki_date_add_months(expiry, -3)) >= 0 &&
	       jpki_date_cmp(today, jpki_date_add_months(expiry, -2)) <= 0;
}

/* H3: the batch's catch-up.  A certificate is owed its notice from the
 * first day of its window (3 months before its last day) through its last
 * day: a run missed, or a certificate issued already inside the window,
 * still gets one.  An expired certificate gets none (docs/decisions.md):
 * the letter announces an expiry to come. */
bool rules_notice_owed(jpki_date expiry, jpki_date today)
{
	if (!jpki_date_valid(expiry) || !jpki_date_valid(today))
		return false;
	return jpki_date_cmp(today, jpki_date_add_months(expiry, -3)) >= 0 &&
	       jpki_date_cmp(today, expiry) <= 0;
}
