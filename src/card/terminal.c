/* Host side: the counter terminal.  Authenticates with the per-card
 * terminal key and personalises the card with the proprietary CLA 80
 * commands of perso.c (docs/card.md §4), over any jpki_transmit_fn.
 * Certificates travel in one extended-length APDU. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "card_priv.h"
#include "openjpki/rules.h"

#define PUBKEY_MAX 1024

static int expect_ok_sw(const jpki_link *l, const uint8_t *cmd, size_t n,
			uint8_t *resp, size_t cap, size_t *data_len,
			const char *what, uint16_t *sw_out, jpki_err *err)
{
	uint16_t sw;
	size_t dl;
	int rc = card_host_xfer(l, cmd, n, resp, cap, &dl, &sw, err);
	if (rc != 0)
		return rc;
	if (sw_out != NULL)
		*sw_out = sw;
	if (sw != 0x9000) {
		if (sw == 0x6982)
			return jpki_fail(err, JPKI_ERR_AUTH,
					 "%s: terminal not authenticated "
					 "(6982)",
					 what);
		return card_host_sw_fail(sw, what, err);
	}
	if (data_len != NULL)
		*data_len = dl;
	return 0;
}

static int expect_ok(const jpki_link *l, const uint8_t *cmd, size_t n,
		     uint8_t *resp, size_t cap, size_t *data_len,
		     const char *what, jpki_err *err)
{
	return expect_ok_sw(l, cmd, n, resp, cap, data_len, what, NULL, err);
}

int card_term_auth(const jpki_link *l, const uint8_t tkey[JPKI_CARD_TKEY_LEN],
		   jpki_err *err)
{
	uint8_t cmd[4 + 1 + 32], resp[64], chal[JPKI_CARD_CHALLENGE_LEN],
	    mac[32];
	size_t n, got = 0;
	uint16_t sw;
	int rc;

	if (tkey == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no terminal key");
	n = card_host_build(cmd, sizeof(cmd), 0x00, 0x84, 0x00, 0x00, NULL, 0,
			    JPKI_CARD_CHALLENGE_LEN);
	if ((rc = expect_ok(l, cmd, n, resp, sizeof(resp), &got,
			    "GET CHALLENGE", err)) != 0)
		return rc;
	if (got != JPKI_CARD_CHALLENGE_LEN)
		return jpki_fail(err, JPKI_ERR_CARD,
				 "GET CHALLENGE answered %zu bytes", got);
	memcpy(chal, resp, sizeof(chal));
	if (card_tauth_mac(tkey, chal, mac) != 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "HMAC-SHA256 failed");
	n = card_host_build(cmd, sizeof(cmd), 0x00, 0x82, 0x00, 0x01, mac,
			    sizeof(mac), -1);
	OPENSSL_cleanse(mac, sizeof(mac));
	rc = card_host_xfer(l, cmd, n, resp, sizeof(resp), &got, &sw, err);
	OPENSSL_cleanse(cmd, sizeof(cmd));
	if (rc != 0)
		return rc;
	if (sw == 0x9000)
		return 0;
	if ((sw & 0xFFF0) == 0x63C0)
		return jpki_fail(err, JPKI_ERR_AUTH,
				 "card refused the terminal key (%u tries "
				 "left)",
				 sw & 0x0Fu);
	if (sw == 0x6983)
		return jpki_fail(err, JPKI_ERR_PIN_BLOCKED,
				 "terminal authentication is blocked on this "
				 "card");
	return card_host_sw_fail(sw, "EXTERNAL AUTHENTICATE", err);
}

static bool key_known(jpki_card_key key)
{
	return key == JPKI_KEY_AUTH || key == JPKI_KEY_SIGN;
}

int card_term_read_pubkey(const jpki_link *l, jpki_card_key key, EVP_PKEY **pub,
			  jpki_err *err)
{
	uint8_t cmd[8], *resp = NULL;
	size_t n, got = 0;
	EVP_PKEY *pk = NULL;
	const unsigned char *p;
	int rc;

	if (!key_known(key) || pub == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown key");
	if ((resp = malloc(PUBKEY_MAX + 2)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	n = card_host_build(cmd, sizeof(cmd), 0x80, 0xCA, 0x00, key, NULL, 0,
			    65536);
	if ((rc = expect_ok(l, cmd, n, resp, PUBKEY_MAX + 2, &got,
			    "GET PUBLIC KEY", err)) != 0)
		goto out;
	p = resp;
	pk = d2i_PUBKEY(NULL, &p, (long)got);
	if (pk == NULL || p != resp + got ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pk) != CARD_RSA_BITS) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "card returned a malformed public key");
		goto out;
	}
	*pub = pk;
	pk = NULL; /* transferred */
out:
	EVP_PKEY_free(pk);
	free(resp);
	return rc;
}

int card_term_generate_key(const jpki_link *l, jpki_card_key key,
			   EVP_PKEY **pub, jpki_err *err)
{
	uint8_t cmd[8], resp[8];
	int rc;
	if (!key_known(key) || pub == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown key");
	size_t n = card_host_build(cmd, sizeof(cmd), 0x80, 0x46, 0x00, key,
				   NULL, 0, -1);
	if ((rc = expect_ok(l, cmd, n, resp, sizeof(resp), NULL,
			    "GENERATE KEY PAIR", err)) != 0)
		return rc;
	return card_term_read_pubkey(l, key, pub, err);
}

/* PUT DATA 80 DA ap obj [data] */
static int put_data_sw(const jpki_link *l, uint8_t ap, uint8_t obj,
		       const uint8_t *data, size_t len, const char *what,
		       uint16_t *sw, jpki_err *err)
{
	uint8_t *cmd = NULL, resp[8];
	size_t cap = len + 7, n;
	int rc;
	if ((cmd = malloc(cap)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	n = card_host_build(cmd, cap, 0x80, 0xDA, ap, obj, data, len, -1);
	if (n == 0)
		rc = jpki_fail(err, JPKI_ERR_RANGE, "%s: too large", what);
	else
		rc = expect_ok_sw(l, cmd, n, resp, sizeof(resp), NULL, what, sw,
				  err);
	OPENSSL_cleanse(cmd, cap);
	free(cmd);
	return rc;
}

static int put_data(const jpki_link *l, uint8_t ap, uint8_t obj,
		    const uint8_t *data, size_t len, const char *what,
		    jpki_err *err)
{
	return put_data_sw(l, ap, obj, data, len, what, NULL, err);
}

int card_term_set_pin(const jpki_link *l, jpki_card_pin pin, const char *value,
		      jpki_err *err)
{
	char norm[JPKI_PIN_MAX + 1];
	jpki_pin_kind kind;
	uint8_t ap = JPKI_AP_JPKI;
	int rc;

	switch (pin) {
	case JPKI_CPIN_AUTH: kind = JPKI_PIN_AUTH; break;
	case JPKI_CPIN_SIGN: kind = JPKI_PIN_SIGN; break;
	case JPKI_CPIN_CARDINFO:
		kind = JPKI_PIN_CARDINFO;
		ap = JPKI_AP_CARDINFO;
		break;
	default: return jpki_fail(err, JPKI_ERR_INVAL, "unknown PIN");
	}
	if ((rc = rules_pin_check(kind, value, norm, sizeof(norm), err)) != 0)
		return rc;
	rc = put_data(l, ap, pin, (const uint8_t *)norm, strlen(norm),
		      "set PIN", err);
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

int card_term_write_cert(const jpki_link *l, jpki_card_cert which,
			 const uint8_t *der, size_t len, jpki_err *err)
{
	if (which != JPKI_CCERT_SIGN && which != JPKI_CCERT_SIGN_CA &&
	    which != JPKI_CCERT_AUTH && which != JPKI_CCERT_AUTH_CA)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown certificate EF");
	if (der == NULL)
		len = 0;
	if (len > JPKI_CARD_CERT_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "certificate larger than %d bytes",
				 JPKI_CARD_CERT_MAX);
	uint16_t sw = 0;
	int rc = put_data_sw(l, JPKI_AP_JPKI, which, der, len,
			     "write certificate", &sw, err);
	if (rc != 0 && sw == 0x6A80)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "card refused the certificate (malformed, "
				 "or not for the card's key)");
	if (rc != 0 && sw == 0x6985)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "card has no key pair for this certificate");
	return rc;
}

int card_term_write_presence(const jpki_link *l, bool sign_cert, bool auth_cert,
			     jpki_err *err)
{
	uint8_t v[3] = {sign_cert ? 0x8F : 0x00, auth_cert ? 0x8F : 0x00, 0x00};
	return put_data(l, JPKI_AP_JPKI, 0x08, v, sizeof(v), "write EF 0008",
			err);
}

/* BER length into p (at most 3 bytes); returns bytes written. */
static size_t put_len(uint8_t *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (uint8_t)n;
		return 1;
	}
	if (n < 0x100) {
		p[0] = 0x81;
		p[1] = (uint8_t)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	return 3;
}

/* FF 20 { DF 21 08 <offsets> DF 22 name DF 23 address DF 24 birth DF 25
 * sex }.  DF 21 holds the big-endian 16-bit offsets of the DF 22..DF 25
 * elements within the EF (its meaning on real cards is unknown). */
static int build_basic4(const jpki_card_basic4 *b4, uint8_t *out, size_t cap,
			size_t *out_len, jpki_err *err)
{
	size_t nl, al, body, pos, off[4];
	uint8_t tmp[3];

	if (b4->name == NULL || b4->address == NULL || b4->birth == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "basic-4 data missing");
	nl = strlen(b4->name);
	al = strlen(b4->address);
	if (nl == 0 || nl > 255 || al == 0 || al > 255)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "name and address must be 1..255 bytes");
	if (strlen(b4->birth) != 8 || strspn(b4->birth, "0123456789") != 8)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "birth date must be YYYYMMDD");
	if (b4->sex != '1' && b4->sex != '2' && b4->sex != '9')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "sex must be 1, 2 or 9 (ISO 5218)");
	body = (3 + 8) + (2 + put_len(tmp, nl) + nl) +
	       (2 + put_len(tmp, al) + al) + (3 + 8) + (3 + 1);
	if (2 + put_len(tmp, body) + body > cap)
		return jpki_fail(err, JPKI_ERR_RANGE, "basic-4 too large");
	pos = 0;
	out[pos++] = 0xFF;
	out[pos++] = 0x20;
	pos += put_len(out + pos, body);
	size_t hdr = pos + 3; /* where the 8 offset bytes go */
	out[pos++] = 0xDF;
	out[pos++] = 0x21;
	out[pos++] = 0x08;
	pos += 8;
	off[0] = pos;
	out[pos++] = 0xDF;
	out[pos++] = 0x22;
	pos += put_len(out + pos, nl);
	memcpy(out + pos, b4->name, nl);
	pos += nl;
	off[1] = pos;
	out[pos++] = 0xDF;
	out[pos++] = 0x23;
	pos += put_len(out + pos, al);
	memcpy(out + pos, b4->address, al);
	pos += al;
	off[2] = pos;
	out[pos++] = 0xDF;
	out[pos++] = 0x24;
	out[pos++] = 0x08;
	memcpy(out + pos, b4->birth, 8);
	pos += 8;
	off[3] = pos;
	out[pos++] = 0xDF;
	out[pos++] = 0x25;
	out[pos++] = 0x01;
	out[pos++] = (uint8_t)b4->sex;
	for (size_t i = 0; i < 4; i++) {
		out[hdr + 2 * i] = (uint8_t)(off[i] >> 8);
		out[hdr + 2 * i + 1] = (uint8_t)off[i];
	}
	*out_len = pos;
	return 0;
}

int card_term_write_cardinfo(const jpki_link *l, const char *my_number,
			     const jpki_card_basic4 *b4, jpki_err *err)
{
	uint8_t ef[CARD_BASIC4_EF_MAX];
	size_t len = 0;
	int rc;

	if (my_number == NULL && b4 == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "nothing to write");
	if (my_number != NULL &&
	    (strlen(my_number) != JPKI_CARD_MYNUMBER_LEN ||
	     strspn(my_number, "0123456789") != JPKI_CARD_MYNUMBER_LEN))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "My Number must be 12 digits");
	if (b4 != NULL &&
	    (rc = build_basic4(b4, ef, sizeof(ef), &len, err)) != 0)
		return rc;
	if (my_number != NULL) {
		rc = put_data(l, JPKI_AP_CARDINFO, 0x01,
			      (const uint8_t *)my_number,
			      JPKI_CARD_MYNUMBER_LEN, "write My Number", err);
		if (rc != 0)
			goto out;
	}
	if (b4 != NULL)
		rc = put_data(l, JPKI_AP_CARDINFO, 0x02, ef, len,
			      "write basic-4", err);
out:
	OPENSSL_cleanse(ef, sizeof(ef));
	return rc;
}
