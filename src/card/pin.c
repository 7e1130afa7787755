/* VERIFY and CHANGE REFERENCE DATA (spec §4.3, §4.4).
 *
 * The retry counter is decremented and persisted *before* the comparison,
 * so that pulling the plug after a wrong guess cannot give the guess back;
 * a correct PIN then restores the counter and persists again. */
#include <openssl/crypto.h>
#include <string.h>

#include "card_priv.h"
#include "openjpki/util.h"

/* Constant-time in the PIN value: both sides are compared over the full
 * JPKI_PIN_MAX bytes, zero-padded, and the lengths are folded in. */
static bool pin_equal(const card_pin *pin, const uint8_t *p, size_t n)
{
	uint8_t a[JPKI_PIN_MAX] = {0}, b[JPKI_PIN_MAX] = {0};
	if (n > JPKI_PIN_MAX)
		return false;
	memcpy(a, pin->value, pin->len);
	memcpy(b, p, n);
	int diff = jpki_ct_memcmp(a, b, sizeof(a));
	diff |= (int)(pin->len ^ (uint8_t)n);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return diff == 0;
}

static uint16_t retries_sw(const card_pin *pin)
{
	return (uint16_t)(SW_WARN_RETRIES | (pin->left & 0x0F));
}

/* The PIN EF named by P2 (80 = current EF, 80|SFI). */
static card_pin *pin_ref(jpki_card *card, const card_cmd *c, uint16_t *sw)
{
	const card_ef *ef = card_ef_ref(card, c->p2, sw);
	if (ef == NULL)
		return NULL;
	if (ef->kind != EF_PIN) {
		*sw = SW_NO_CURRENT_EF;
		return NULL;
	}
	return card_pin_of(card, ef->ap, ef->fid);
}

uint16_t card_verify(jpki_card *card, const card_cmd *c)
{
	uint16_t sw = SW_OK;
	card_pin *pin;

	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((pin = pin_ref(card, c, &sw)) == NULL)
		return sw;
	if (c->has_le)
		return SW_WRONG_LENGTH;
	if (c->lc == 0) {
		/* Retry query: 63 Cx even when verified (OpenSC 0.23 binds
		 * only on SW1 = 63; spec §4.3), 63 C0 when blocked. */
		if (pin->len == 0 || pin->left == 0)
			return (card->options &
				JPKI_CARD_OPT_BLOCKED_EMPTY_6984)
				   ? SW_REF_UNUSABLE
				   : SW_WARN_RETRIES;
		if (pin->verified &&
		    (card->options & JPKI_CARD_OPT_ISO_EMPTY_VERIFY))
			return SW_OK;
		return retries_sw(pin);
	}
	if (pin->len == 0 || pin->left == 0) {
		pin->verified = false;
		return SW_REF_UNUSABLE;
	}
	pin->verified = false;
	pin->left--;
	if (card_persist(card, NULL) != 0)
		return SW_MEMORY_FAILURE; /* nothing compared */
	if (!pin_equal(pin, c->data, c->lc))
		return retries_sw(pin);
	pin->left = pin->max;
	if (card_persist(card, NULL) != 0)
		return SW_MEMORY_FAILURE;
	pin->verified = true;
	return SW_OK;
}

uint16_t card_change_ref(jpki_card *card, const card_cmd *c)
{
	uint16_t sw = SW_OK;
	card_pin *pin, old;

	if (c->p1 != 0x01)
		return SW_WRONG_P1P2;
	if ((pin = pin_ref(card, c, &sw)) == NULL)
		return sw;
	if (c->lc == 0 || c->has_le)
		return SW_WRONG_LENGTH;
	if (pin->len == 0 || pin->left == 0)
		return SW_REF_UNUSABLE;
	if (!pin->verified)
		return SW_SECURITY;
	if (card_check_pin_value(card_pin_kind(card, pin), c->data, c->lc,
				 NULL) != 0)
		return SW_WRONG_DATA;
	old = *pin;
	memset(pin->value, 0, sizeof(pin->value));
	memcpy(pin->value, c->data, c->lc);
	pin->len = (uint8_t)c->lc;
	pin->left = pin->max;
	if (card_persist(card, NULL) != 0) {
		*pin = old;
		sw = SW_MEMORY_FAILURE;
	}
	OPENSSL_cleanse(&old, sizeof(old));
	return sw;
}
