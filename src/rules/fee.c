/* Fees charged at the counter. */
#include "openjpki/rules.h"

jpki_fee rules_fee(jpki_fee_event ev)
{
	switch (ev) {
	/* Issue and renewal of the certificates are free (J-LIS FAQ). */
	case JPKI_FEE_ISSUE: return (jpki_fee){0, 0};
	case JPKI_FEE_RENEWAL: return (jpki_fee){0, 0};
	/* Card re-issue: 200 yen certificates + 800 yen card (葛城市, 熊本市).
	 */
	case JPKI_FEE_CARD_REISSUE: return (jpki_fee){200, 800};
	}
	return (jpki_fee){-1, -1};
}
