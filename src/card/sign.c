/* COMPUTE DIGITAL SIGNATURE, JPKI form 80 2A 00 80 Lc <DigestInfo> 00
 * (spec §4.5): EMSA-PKCS1-v1_5 block type 1 over the bytes as sent, done
 * by OpenSSL (EVP_PKEY_sign, RSA_PKCS1_PADDING, no digest set).  Signing
 * changes no persistent state, so nothing is written here. */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "card_priv.h"

uint16_t card_sign(jpki_card *card, const card_cmd *c, card_rsp *rsp)
{
	uint16_t sw = SW_OK;
	const card_ef *ef;
	card_key *key;
	size_t siglen = JPKI_CARD_SIG_LEN;

	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((ef = card_ef_ref(card, c->p2, &sw)) == NULL)
		return sw;
	if (ef->kind != EF_KEY)
		return SW_NO_CURRENT_EF;
	if (c->lc == 0 || c->lc > JPKI_CARD_DIGESTINFO_MAX)
		return SW_WRONG_LENGTH;
	if (c->has_le && c->le < JPKI_CARD_SIG_LEN)
		return SW_WRONG_LENGTH;
	if (!card_guard_ok(card, ef))
		return SW_SECURITY;
	key = card_key_of(card, ef->fid);
	if (key == NULL || key->pkey == NULL)
		return SW_CONDITIONS;
	if (rsp->cap < JPKI_CARD_SIG_LEN)
		return SW_INTERNAL_RESP_TOO_SMALL;
	if (EVP_PKEY_sign(key->sctx, rsp->buf, &siglen, c->data, c->lc) <= 0 ||
	    siglen != JPKI_CARD_SIG_LEN) {
		ERR_clear_error();
		return SW_UNKNOWN;
	}
	rsp->len = siglen;
	return SW_OK;
}
