/* Validity of the My Number Card itself. */
#include "openjpki/rules.h"

/* 成年年齢 18 from 2022-04-01 (民法第4条 as amended in 2018); before that
 * the card threshold was 20 (豊川市; 神戸市 FAQ 4488216315151). */
static const jpki_date adult_18_from = {2022, 4, 1};

/* 10th birthday after issue from the threshold age, else the 5th (豊川市;
 * 米子市 37694).  The older rule keyed on the application date; a card issued
 * before 2022-04-01 was necessarily applied for before it. */
jpki_date rules_card_expiry(jpki_date birth, jpki_date issued)
{
	int adult = jpki_date_cmp(issued, adult_18_from) < 0 ? 20 : 18;
	int n = rules_age(birth, issued) >= adult ? 10 : 5;
	return rules_nth_birthday_after(birth, issued, n);
}
