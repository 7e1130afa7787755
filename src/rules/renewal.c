/* Renewal window of a certificate (jpki-domain.md §4). */
#include "openjpki/rules.h"

/* "有効期間満了日の3ヶ月前から更新手続きを行うことができます" (J-LIS
 * procedure/period.html; あま市, 安曇野市, 吉川市).  The day before is
 * refused; see docs/decisions.md for the "3か月前の翌日から" reading. */
jpki_date rules_renewal_opens(jpki_date expiry)
{
	return jpki_date_add_months(expiry, -3);
}

int rules_renewal_allowed(jpki_date expiry, jpki_date today, jpki_err *err)
{
	char o[11], e[11];

	if (!jpki_date_valid(expiry) || !jpki_date_valid(today))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "renewal: invalid expiry date or date");
	jpki_date opens = rules_renewal_opens(expiry);
	/* From the opening day on, and any time after expiry (a new issue). */
	if (jpki_date_cmp(today, opens) >= 0)
		return 0;
	jpki_date_format(opens, o);
	jpki_date_format(expiry, e);
	return jpki_fail(err, JPKI_ERR_WINDOW,
			 "renewal opens on %s, 3 months before the "
			 "certificate's last day %s",
			 o, e);
}
