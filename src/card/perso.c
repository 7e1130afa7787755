/* Terminal authentication and personalisation (docs/card.md §4).
 *
 *   00 84 00 00 10            GET CHALLENGE (16 bytes arm the terminal auth)
 *   00 82 00 01 20 <mac>      EXTERNAL AUTHENTICATE, mac =
 *                             HMAC-SHA256(tkey, CARD_TAUTH_LABEL || challenge)
 *   80 46 00 KK               GENERATE KEY PAIR (KK = 17 auth, 1A sign)
 *   80 CA 00 KK Le            GET PUBLIC KEY (SubjectPublicKeyInfo DER)
 *   80 DA AP OO [Lc data]     PUT DATA: object OO of application AP
 *
 * Every CLA 80 personalisation command needs the terminal authenticated in
 * the current power session (else 69 82).  Each change is persisted before
 * 90 00; if the image cannot be written the card keeps its old state and
 * answers 65 81. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "card_priv.h"
#include "openjpki/util.h"

int card_tauth_mac(const uint8_t tkey[JPKI_CARD_TKEY_LEN],
		   const uint8_t chal[JPKI_CARD_CHALLENGE_LEN], uint8_t mac[32])
{
	uint8_t msg[sizeof(CARD_TAUTH_LABEL) - 1 + JPKI_CARD_CHALLENGE_LEN];
	size_t outlen = 0;
	memcpy(msg, CARD_TAUTH_LABEL, sizeof(CARD_TAUTH_LABEL) - 1);
	memcpy(msg + sizeof(CARD_TAUTH_LABEL) - 1, chal,
	       JPKI_CARD_CHALLENGE_LEN);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, tkey,
		      JPKI_CARD_TKEY_LEN, msg, sizeof(msg), mac, 32,
		      &outlen) == NULL ||
	    outlen != 32) {
		ERR_clear_error();
		return JPKI_ERR_CRYPTO;
	}
	return 0;
}

uint16_t card_get_challenge(jpki_card *card, const card_cmd *c, card_rsp *rsp)
{
	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (c->lc != 0 || !c->has_le)
		return SW_WRONG_LENGTH;
	if (c->ext)
		return SW_CONDITIONS; /* as real cards (spec §4.6) */
	if (c->le > rsp->cap)
		return SW_INTERNAL_RESP_TOO_SMALL;
	if (jpki_random(rsp->buf, c->le, NULL) != 0)
		return SW_UNKNOWN;
	if (c->le == JPKI_CARD_CHALLENGE_LEN) {
		memcpy(card->chal, rsp->buf, JPKI_CARD_CHALLENGE_LEN);
		card->chal_valid = true;
	}
	rsp->len = c->le;
	return SW_OK;
}

uint16_t card_ext_auth(jpki_card *card, const card_cmd *c, bool chal_valid)
{
	uint8_t mac[32];
	uint16_t sw;

	if (c->p1 != 0x00 || c->p2 != 0x01)
		return SW_WRONG_P1P2;
	if (c->lc != sizeof(mac) || c->has_le)
		return SW_WRONG_LENGTH;
	if (!chal_valid)
		return SW_CONDITIONS;
	if (card->tauth_left == 0)
		return SW_AUTH_BLOCKED;
	card->term_auth = false;
	card->tauth_left--;
	if (card_persist(card, NULL) != 0)
		return SW_MEMORY_FAILURE;
	if (card_tauth_mac(card->tkey, card->chal, mac) != 0) {
		sw = SW_UNKNOWN;
		goto out;
	}
	if (jpki_ct_memcmp(mac, c->data, sizeof(mac)) != 0) {
		sw = (uint16_t)(SW_WARN_RETRIES | card->tauth_left);
		goto out;
	}
	card->tauth_left = CARD_TAUTH_TRIES;
	if (card_persist(card, NULL) != 0) {
		sw = SW_MEMORY_FAILURE;
		goto out;
	}
	card->term_auth = true;
	sw = SW_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(card->chal, sizeof(card->chal));
	return sw;
}

static EVP_PKEY *keygen(jpki_card *card)
{
	if (card->hooks.keygen != NULL)
		return card->hooks.keygen(card->hooks.ctx);
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)CARD_RSA_BITS);
}

uint16_t card_perso_generate(jpki_card *card, const card_cmd *c)
{
	card_key *key, fresh = {0}, old;
	card_blob *cert, old_cert;
	uint8_t old_presence[CARD_PRESENCE_LEN];
	int slot;
	EVP_PKEY *pk;

	if (!card->term_auth)
		return SW_SECURITY;
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((key = card_key_of(card, c->p2)) == NULL)
		return SW_REF_NOT_FOUND;
	if (c->lc != 0 || c->has_le)
		return SW_WRONG_LENGTH;
	if ((pk = keygen(card)) == NULL) {
		ERR_clear_error();
		return SW_UNKNOWN;
	}
	if (card_check_key(pk, NULL) != 0 ||
	    card_key_set(&fresh, pk, NULL) != 0) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		return SW_UNKNOWN;
	}
	/* The old key's certificate goes with it. */
	cert = c->p2 == JPKI_KEY_SIGN ? &card->cert_sign : &card->cert_auth;
	slot = c->p2 == JPKI_KEY_SIGN ? 0 : 1;
	old = *key;
	old_cert = *cert;
	memcpy(old_presence, card->presence, sizeof(old_presence));
	*key = fresh;
	cert->p = NULL;
	cert->len = 0;
	card->presence[slot] = 0x00;
	if (card_persist(card, NULL) != 0) {
		card_key_clear(key);
		*key = old;
		*cert = old_cert;
		memcpy(card->presence, old_presence, sizeof(old_presence));
		return SW_MEMORY_FAILURE;
	}
	card_key_clear(&old);
	card_blob_clear(&old_cert);
	return SW_OK;
}

uint16_t card_perso_get_pubkey(jpki_card *card, const card_cmd *c,
			       card_rsp *rsp)
{
	card_key *key;
	unsigned char *der = NULL;
	int n;
	uint16_t sw = SW_OK;

	if (!card->term_auth)
		return SW_SECURITY;
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((key = card_key_of(card, c->p2)) == NULL || key->pkey == NULL)
		return SW_REF_NOT_FOUND;
	if (c->lc != 0 || !c->has_le)
		return SW_WRONG_LENGTH;
	if ((n = i2d_PUBKEY(key->pkey, &der)) <= 0) {
		ERR_clear_error();
		return SW_UNKNOWN;
	}
	if ((size_t)n > c->le)
		sw = SW_WRONG_LENGTH;
	else if ((size_t)n > rsp->cap)
		sw = SW_INTERNAL_RESP_TOO_SMALL;
	else {
		memcpy(rsp->buf, der, (size_t)n);
		rsp->len = (size_t)n;
	}
	OPENSSL_free(der);
	return sw;
}

/* Replace a blob (NULL/0 = erase) and persist, or keep the old one. */
static uint16_t put_blob(jpki_card *card, card_blob *b, const uint8_t *p,
			 size_t n)
{
	card_blob old = *b, fresh = {0};
	if (n > 0 && card_blob_set(&fresh, p, n) != 0)
		return SW_UNKNOWN;
	*b = fresh;
	if (card_persist(card, NULL) != 0) {
		card_blob_clear(b);
		*b = old;
		return SW_MEMORY_FAILURE;
	}
	card_blob_clear(&old);
	return SW_OK;
}

static uint16_t put_cert(jpki_card *card, card_blob *b, card_key *key,
			 const card_cmd *c)
{
	if (c->lc == 0)
		return put_blob(card, b, NULL, 0);
	if (key != NULL && key->pkey == NULL)
		return SW_CONDITIONS;
	if (card_check_cert(c->data, c->lc, key != NULL ? key->pkey : NULL,
			    NULL) != 0) {
		ERR_clear_error();
		return SW_WRONG_DATA;
	}
	return put_blob(card, b, c->data, c->lc);
}

static uint16_t put_pin(jpki_card *card, card_pin *pin, const card_cmd *c)
{
	card_pin old = *pin;
	uint16_t sw = SW_OK;
	if (c->lc == 0)
		return SW_WRONG_LENGTH;
	if (card_check_pin_value(card_pin_kind(card, pin), c->data, c->lc,
				 NULL) != 0)
		return SW_WRONG_DATA;
	memset(pin->value, 0, sizeof(pin->value));
	memcpy(pin->value, c->data, c->lc);
	pin->len = (uint8_t)c->lc;
	pin->left = pin->max;
	pin->verified = false;
	if (card_persist(card, NULL) != 0) {
		*pin = old;
		sw = SW_MEMORY_FAILURE;
	}
	OPENSSL_cleanse(&old, sizeof(old));
	return sw;
}

static uint16_t put_presence(jpki_card *card, const card_cmd *c)
{
	uint8_t old[CARD_PRESENCE_LEN];
	if (c->lc == 0)
		return SW_WRONG_LENGTH;
	if (card_check_presence(c->data, c->lc, NULL) != 0)
		return SW_WRONG_DATA;
	memcpy(old, card->presence, sizeof(old));
	memcpy(card->presence, c->data, sizeof(old));
	if (card_persist(card, NULL) != 0) {
		memcpy(card->presence, old, sizeof(old));
		return SW_MEMORY_FAILURE;
	}
	return SW_OK;
}

static uint16_t put_mynumber(jpki_card *card, const card_cmd *c)
{
	uint8_t ef[CARD_MYNUMBER_EF_LEN];
	if (c->lc == 0)
		return put_blob(card, &card->mynumber, NULL, 0);
	if (c->lc != JPKI_CARD_MYNUMBER_LEN)
		return SW_WRONG_DATA;
	ef[0] = 0xFF;
	ef[1] = 0x10;
	ef[2] = JPKI_CARD_MYNUMBER_LEN;
	memcpy(ef + 3, c->data, JPKI_CARD_MYNUMBER_LEN);
	ef[15] = 0xFF;
	ef[16] = 0xFF;
	if (card_check_mynumber_ef(ef, sizeof(ef), NULL) != 0)
		return SW_WRONG_DATA;
	uint16_t sw = put_blob(card, &card->mynumber, ef, sizeof(ef));
	OPENSSL_cleanse(ef, sizeof(ef));
	return sw;
}

uint16_t card_perso_put_data(jpki_card *card, const card_cmd *c)
{
	if (!card->term_auth)
		return SW_SECURITY;
	if (c->has_le)
		return SW_WRONG_LENGTH;
	if (c->p1 == JPKI_AP_JPKI) {
		switch (c->p2) {
		case JPKI_CCERT_SIGN:
			return put_cert(card, &card->cert_sign, &card->key_sign,
					c);
		case JPKI_CCERT_AUTH:
			return put_cert(card, &card->cert_auth, &card->key_auth,
					c);
		case JPKI_CCERT_SIGN_CA:
			return put_cert(card, &card->cert_sign_ca, NULL, c);
		case JPKI_CCERT_AUTH_CA:
			return put_cert(card, &card->cert_auth_ca, NULL, c);
		case 0x08: return put_presence(card, c);
		case JPKI_CPIN_AUTH: return put_pin(card, &card->pin_auth, c);
		case JPKI_CPIN_SIGN: return put_pin(card, &card->pin_sign, c);
		default: return SW_REF_NOT_FOUND;
		}
	}
	if (c->p1 == JPKI_AP_CARDINFO) {
		switch (c->p2) {
		case 0x01: return put_mynumber(card, c);
		case 0x02:
			if (c->lc == 0)
				return put_blob(card, &card->basic4, NULL, 0);
			if (card_check_basic4_ef(c->data, c->lc, NULL) != 0)
				return SW_WRONG_DATA;
			return put_blob(card, &card->basic4, c->data, c->lc);
		case JPKI_CPIN_CARDINFO:
			return put_pin(card, &card->pin_cardinfo, c);
		default: return SW_REF_NOT_FOUND;
		}
	}
	return SW_WRONG_P1P2;
}
