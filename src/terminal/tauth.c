/* Terminal authentication with the terminal key kept by the CA
 * (terminal.h): jpkid computes the MAC over the card's challenge, the
 * counter PC's helper relays challenge and MAC, and the key never leaves
 * the CA's store. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "openjpki/terminal.h"

/* the card's label (docs/card.md, terminal authentication) */
#define TAUTH_LABEL "openjpki terminal auth v1"

int terminal_tauth_mac(jpki_ca *ca, const char *serial,
		       const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
		       uint8_t mac[TERMINAL_TAUTH_MAC_LEN], jpki_err *err)
{
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	uint8_t msg[sizeof(TAUTH_LABEL) - 1 + TERMINAL_TAUTH_CHAL_LEN];
	size_t got = 0;
	int rc = terminal_tkey_get(ca, serial, tkey, err);
	if (rc != 0)
		return rc;
	memcpy(msg, TAUTH_LABEL, sizeof(TAUTH_LABEL) - 1);
	memcpy(msg + sizeof(TAUTH_LABEL) - 1, chal, TERMINAL_TAUTH_CHAL_LEN);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, tkey, sizeof(tkey),
		      msg, sizeof(msg), mac, TERMINAL_TAUTH_MAC_LEN,
		      &got) == NULL ||
	    got != TERMINAL_TAUTH_MAC_LEN)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "HMAC-SHA256 failed");
	OPENSSL_cleanse(tkey, sizeof(tkey));
	return rc;
}

static int sw_of(const uint8_t *resp, size_t n)
{
	return n < 2 ? -1 : (resp[n - 2] << 8) | resp[n - 1];
}

int terminal_auth_relay(const jpki_link *l, const char *serial,
			terminal_mac_fn mac_fn, void *ctx, jpki_err *err)
{
	uint8_t cmd[5 + TERMINAL_TAUTH_MAC_LEN], resp[64];
	uint8_t chal[TERMINAL_TAUTH_CHAL_LEN], mac[TERMINAL_TAUTH_MAC_LEN];
	size_t got = 0;
	int rc, sw;
	/* GET CHALLENGE, 16 bytes */
	const uint8_t gc[5] = {0x00, 0x84, 0x00, 0x00, TERMINAL_TAUTH_CHAL_LEN};
	if ((rc = l->transmit(l->ctx, gc, sizeof(gc), resp, sizeof(resp),
			      &got)) != 0)
		return jpki_fail(err, rc, "GET CHALLENGE: the reader failed");
	sw = sw_of(resp, got);
	if (sw != 0x9000 || got != TERMINAL_TAUTH_CHAL_LEN + 2)
		return jpki_fail(err, JPKI_ERR_CARD,
				 "GET CHALLENGE answered %zu bytes, SW %04X",
				 got, (unsigned)(sw < 0 ? 0 : sw));
	memcpy(chal, resp, sizeof(chal));
	if ((rc = mac_fn(ctx, serial, chal, mac, err)) != 0)
		return jpki_wrap(err, rc, "terminal key");
	cmd[0] = 0x00;
	cmd[1] = 0x82;
	cmd[2] = 0x00;
	cmd[3] = 0x01;
	cmd[4] = TERMINAL_TAUTH_MAC_LEN;
	memcpy(cmd + 5, mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
	rc = l->transmit(l->ctx, cmd, sizeof(cmd), resp, sizeof(resp), &got);
	OPENSSL_cleanse(cmd, sizeof(cmd));
	if (rc != 0)
		return jpki_fail(err, rc,
				 "EXTERNAL AUTHENTICATE: the reader failed");
	sw = sw_of(resp, got);
	if (sw == 0x9000)
		return 0;
	if ((sw & 0xFFF0) == 0x63C0)
		return jpki_fail(err, JPKI_ERR_AUTH,
				 "card refused the terminal key (%d tries "
				 "left)",
				 sw & 0x0F);
	if (sw == 0x6983)
		return jpki_fail(err, JPKI_ERR_PIN_BLOCKED,
				 "terminal authentication is blocked on this "
				 "card");
	return jpki_fail(err, JPKI_ERR_CARD,
			 "EXTERNAL AUTHENTICATE answered SW %04X",
			 (unsigned)(sw < 0 ? 0 : sw));
}
