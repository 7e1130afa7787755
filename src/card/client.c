/* Host side: what any JPKI client sends (spec §6, §7), over a
 * jpki_transmit_fn.  Nothing here knows whether the card is in this
 * process, in pcscd or a real card. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_priv.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"

static const uint8_t aid_jpki[] = {0xD3, 0x92, 0xF0, 0x00, 0x26,
				   0x01, 0x00, 0x00, 0x00, 0x01};
static const uint8_t aid_cardinfo[] = {0xD3, 0x92, 0x10, 0x00, 0x31,
				       0x00, 0x01, 0x01, 0x04, 0x08};

#define CHUNK 256

size_t card_host_build(uint8_t *out, size_t cap, uint8_t cla, uint8_t ins,
		       uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc,
		       long le)
{
	bool ext = lc > 255 || le > 256;
	size_t n = 4;
	size_t need = 4 + (lc > 0 ? (ext ? 3 : 1) + lc : 0) +
		      (le >= 0 ? (ext ? (lc > 0 ? 2 : 3) : 1) : 0);
	if (lc > 65535 || le > 65536 || need > cap)
		return 0;
	out[0] = cla;
	out[1] = ins;
	out[2] = p1;
	out[3] = p2;
	if (lc > 0) {
		if (ext) {
			out[n++] = 0;
			out[n++] = (uint8_t)(lc >> 8);
		}
		out[n++] = (uint8_t)lc;
		memcpy(out + n, data, lc);
		n += lc;
	}
	if (le >= 0) {
		if (ext) {
			if (lc == 0)
				out[n++] = 0;
			out[n++] = (uint8_t)((le >> 8) & 0xFF);
		}
		out[n++] = (uint8_t)(le & 0xFF); /* 256 -> 00, 65536 -> 00 00 */
	}
	return n;
}

int card_host_xfer(const jpki_link *l, const uint8_t *cmd, size_t n,
		   uint8_t *resp, size_t cap, size_t *data_len, uint16_t *sw,
		   jpki_err *err)
{
	size_t rlen = 0;
	int rc;
	if (l == NULL || l->transmit == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card link");
	if ((rc = l->transmit(l->ctx, cmd, n, resp, cap, &rlen)) != 0)
		return jpki_fail(err, rc < 0 ? rc : JPKI_ERR_TRANSPORT,
				 "card transmit failed (%s)",
				 jpki_strerror(rc));
	if (rlen < 2 || rlen > cap)
		return jpki_fail(err, JPKI_ERR_TRANSPORT,
				 "card answered %zu bytes", rlen);
	*sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
	*data_len = rlen - 2;
	return 0;
}

int card_host_sw_fail(uint16_t sw, const char *what, jpki_err *err)
{
	if ((sw & 0xFFF0) == 0x63C0)
		return jpki_fail(err, JPKI_ERR_PIN_WRONG,
				 "%s: wrong PIN, %u tries left", what,
				 sw & 0x0Fu);
	switch (sw) {
	case 0x6983:
	case 0x6984:
		return jpki_fail(err, JPKI_ERR_PIN_BLOCKED,
				 "%s: blocked (%04X)", what, sw);
	case 0x6982:
		return jpki_fail(err, JPKI_ERR_AUTH,
				 "%s: security status not satisfied (6982)",
				 what);
	case 0x6A82:
	case 0x6A88:
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "%s: not found (%04X)", what, sw);
	default:
		return jpki_fail(err, JPKI_ERR_CARD, "%s: card answered %04X",
				 what, sw);
	}
}

/* One exchange that must end in 90 00; response data in resp. */
static int simple(const jpki_link *l, const uint8_t *cmd, size_t n,
		  uint8_t *resp, size_t cap, size_t *data_len, const char *what,
		  jpki_err *err)
{
	uint16_t sw = 0;
	size_t dl = 0;
	int rc = card_host_xfer(l, cmd, n, resp, cap, &dl, &sw, err);
	if (rc != 0)
		return rc;
	if (sw != 0x9000)
		return card_host_sw_fail(sw, what, err);
	if (data_len != NULL)
		*data_len = dl;
	return 0;
}

int card_client_select(const jpki_link *l, jpki_card_ap ap, jpki_err *err)
{
	uint8_t cmd[32], resp[258];
	const uint8_t *aid;
	if (ap == JPKI_AP_JPKI)
		aid = aid_jpki;
	else if (ap == JPKI_AP_CARDINFO)
		aid = aid_cardinfo;
	else
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown application");
	size_t n = card_host_build(cmd, sizeof(cmd), 0x00, 0xA4, 0x04, 0x0C,
				   aid, sizeof(aid_jpki), -1);
	return simple(l, cmd, n, resp, sizeof(resp), NULL,
		      ap == JPKI_AP_JPKI ? "SELECT JPKI AP"
					 : "SELECT card-information AP",
		      err);
}

static int select_ef(const jpki_link *l, uint16_t fid, jpki_err *err)
{
	uint8_t cmd[8], resp[258];
	uint8_t f[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	size_t n =
	    card_host_build(cmd, sizeof(cmd), 0x00, 0xA4, 0x02, 0x0C, f, 2, -1);
	char what[32];
	snprintf(what, sizeof(what), "SELECT EF %04X", fid);
	return simple(l, cmd, n, resp, sizeof(resp), NULL, what, err);
}

static const char *pin_name(jpki_card_pin pin)
{
	switch (pin) {
	case JPKI_CPIN_AUTH: return "authentication PIN";
	case JPKI_CPIN_SIGN: return "signature PIN";
	case JPKI_CPIN_CARDINFO: return "card-information PIN";
	}
	return "PIN";
}

static int pin_max(jpki_card_pin pin)
{
	switch (pin) {
	case JPKI_CPIN_AUTH: return rules_pin_retries(JPKI_PIN_AUTH);
	case JPKI_CPIN_SIGN: return rules_pin_retries(JPKI_PIN_SIGN);
	case JPKI_CPIN_CARDINFO: return rules_pin_retries(JPKI_PIN_CARDINFO);
	}
	return 0;
}

static bool pin_known(jpki_card_pin pin)
{
	return pin == JPKI_CPIN_AUTH || pin == JPKI_CPIN_SIGN ||
	       pin == JPKI_CPIN_CARDINFO;
}

int card_client_verify(const jpki_link *l, jpki_card_pin pin, const char *value,
		       int *tries_left, jpki_err *err)
{
	uint8_t cmd[4 + 1 + JPKI_PIN_MAX], resp[258];
	size_t n, dl, len;
	uint16_t sw;
	int rc;

	if (!pin_known(pin) || value == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no PIN");
	len = strnlen(value, JPKI_PIN_MAX + 1);
	if (len == 0 || len > JPKI_PIN_MAX)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				 "%s must be 1..%d characters", pin_name(pin),
				 JPKI_PIN_MAX);
	if ((rc = select_ef(l, pin, err)) != 0)
		return rc;
	n = card_host_build(cmd, sizeof(cmd), 0x00, 0x20, 0x00, 0x80,
			    (const uint8_t *)value, len, -1);
	rc = card_host_xfer(l, cmd, n, resp, sizeof(resp), &dl, &sw, err);
	OPENSSL_cleanse(cmd, sizeof(cmd));
	if (rc != 0)
		return rc;
	if (sw == 0x9000) {
		if (tries_left != NULL)
			*tries_left = pin_max(pin);
		return 0;
	}
	if (sw == 0x63C0)
		return jpki_fail(err, JPKI_ERR_PIN_BLOCKED,
				 "wrong %s; it is now blocked", pin_name(pin));
	if ((sw & 0xFFF0) == 0x63C0) {
		if (tries_left != NULL)
			*tries_left = sw & 0x0F;
		return jpki_fail(err, JPKI_ERR_PIN_WRONG,
				 "wrong %s, %d tries left", pin_name(pin),
				 sw & 0x0F);
	}
	return card_host_sw_fail(sw, pin_name(pin), err);
}

int card_client_retries(const jpki_link *l, jpki_card_pin pin, int *tries_left,
			jpki_err *err)
{
	uint8_t cmd[4], resp[258];
	size_t dl;
	uint16_t sw;
	int rc;

	if (!pin_known(pin) || tries_left == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no PIN");
	if ((rc = select_ef(l, pin, err)) != 0)
		return rc;
	size_t n = card_host_build(cmd, sizeof(cmd), 0x00, 0x20, 0x00, 0x80,
				   NULL, 0, -1);
	if ((rc = card_host_xfer(l, cmd, n, resp, sizeof(resp), &dl, &sw,
				 err)) != 0)
		return rc;
	if ((sw & 0xFFF0) == 0x63C0)
		*tries_left = sw & 0x0F;
	else if (sw == 0x9000) /* ISO behaviour: verified in this session */
		*tries_left = pin_max(pin);
	else if (sw == 0x6984 || sw == 0x6983)
		*tries_left = 0;
	else
		return card_host_sw_fail(sw, pin_name(pin), err);
	return 0;
}

static jpki_pin_kind rules_kind(jpki_card_pin pin)
{
	switch (pin) {
	case JPKI_CPIN_SIGN: return JPKI_PIN_SIGN;
	case JPKI_CPIN_AUTH: return JPKI_PIN_AUTH;
	default: return JPKI_PIN_CARDINFO;
	}
}

int card_client_change_pin(const jpki_link *l, jpki_card_pin pin,
			   const char *old, const char *new_pin, jpki_err *err)
{
	char norm[JPKI_PIN_MAX + 1];
	uint8_t cmd[4 + 1 + JPKI_PIN_MAX], resp[258];
	int rc;
	size_t n;

	if (!pin_known(pin) || old == NULL || new_pin == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no PIN");
	if ((rc = rules_pin_check(rules_kind(pin), new_pin, norm, sizeof(norm),
				  err)) != 0)
		return rc;
	if ((rc = card_client_verify(l, pin, old, NULL, err)) != 0)
		goto out;
	n = card_host_build(cmd, sizeof(cmd), 0x00, 0x24, 0x01, 0x80,
			    (const uint8_t *)norm, strlen(norm), -1);
	rc = simple(l, cmd, n, resp, sizeof(resp), NULL, pin_name(pin), err);
	OPENSSL_cleanse(cmd, sizeof(cmd));
out:
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

/* READ BINARY of `len` bytes at `off` into dst (Le <= 256 each). */
static int read_range(const jpki_link *l, size_t off, uint8_t *dst, size_t len,
		      jpki_err *err)
{
	uint8_t cmd[8], resp[CHUNK + 2];
	while (len > 0) {
		size_t want = len > CHUNK ? CHUNK : len, got = 0;
		if (off > 0x7FFF)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "EF offset beyond 7FFF");
		size_t n = card_host_build(cmd, sizeof(cmd), 0x00, 0xB0,
					   (uint8_t)(off >> 8), (uint8_t)off,
					   NULL, 0, (long)want);
		int rc = simple(l, cmd, n, resp, sizeof(resp), &got,
				"READ BINARY", err);
		if (rc != 0)
			return rc;
		if (got == 0 || got > want)
			return jpki_fail(
			    err, JPKI_ERR_CARD,
			    "READ BINARY answered %zu of %zu bytes", got, want);
		memcpy(dst, resp, got);
		dst += got;
		off += got;
		len -= got;
	}
	return 0;
}

int card_client_read_cert(const jpki_link *l, jpki_card_cert which,
			  uint8_t **der, size_t *der_len, jpki_err *err)
{
	uint8_t hdr[4], *buf = NULL;
	size_t total;
	int rc;

	if (der == NULL || der_len == NULL ||
	    (which != JPKI_CCERT_SIGN && which != JPKI_CCERT_SIGN_CA &&
	     which != JPKI_CCERT_AUTH && which != JPKI_CCERT_AUTH_CA))
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown certificate EF");
	if ((rc = select_ef(l, which, err)) != 0)
		return rc;
	/* As OpenSC: 4 bytes, size from the 30 82 HH LL header. */
	if ((rc = read_range(l, 0, hdr, sizeof(hdr), err)) != 0)
		return rc;
	if (hdr[0] != 0x30 || hdr[1] != 0x82)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "certificate EF %04X does not start with "
				 "30 82",
				 which);
	total = ((size_t)hdr[2] << 8 | hdr[3]) + 4;
	if (total > JPKI_CARD_CERT_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "certificate of %zu bytes is too large",
				 total);
	if ((buf = malloc(total)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = read_range(l, 0, buf, total, err)) != 0) {
		free(buf);
		return rc;
	}
	*der = buf;
	*der_len = total;
	return 0;
}

int card_client_read_ef(const jpki_link *l, uint16_t fid, size_t max,
			uint8_t **out, size_t *out_len, jpki_err *err)
{
	uint8_t cmd[8], resp[CHUNK + 2], *buf = NULL;
	size_t len = 0, got, n;
	uint16_t sw;
	int rc;

	if (out == NULL || out_len == NULL || max == 0 || max > 0x7F00)
		return jpki_fail(err, JPKI_ERR_INVAL, "bad EF read request");
	if ((rc = select_ef(l, fid, err)) != 0)
		return rc;
	if ((buf = malloc(max)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	for (;;) {
		n = card_host_build(cmd, sizeof(cmd), 0x00, 0xB0,
				    (uint8_t)(len >> 8), (uint8_t)len, NULL, 0,
				    CHUNK);
		if ((rc = card_host_xfer(l, cmd, n, resp, sizeof(resp), &got,
					 &sw, err)) != 0)
			goto out;
		if (sw == 0x6B00 && len > 0)
			break;
		if (sw != 0x9000) {
			rc = card_host_sw_fail(sw, "READ BINARY", err);
			goto out;
		}
		if (got > CHUNK || got > max - len) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "EF %04X is larger than %zu bytes", fid,
				       max);
			goto out;
		}
		memcpy(buf + len, resp, got);
		len += got;
		if (got < CHUNK)
			break;
	}
	*out = buf;
	*out_len = len;
	buf = NULL; /* transferred */
out:
	free(buf);
	return rc;
}

int card_client_sign(const jpki_link *l, jpki_card_key key,
		     const uint8_t *digestinfo, size_t n,
		     uint8_t sig[JPKI_CARD_SIG_LEN], jpki_err *err)
{
	uint8_t cmd[4 + 1 + JPKI_CARD_DIGESTINFO_MAX + 1], resp[CHUNK + 2];
	size_t got = 0, cn;
	int rc;

	if ((key != JPKI_KEY_AUTH && key != JPKI_KEY_SIGN) ||
	    digestinfo == NULL || sig == NULL || n == 0 ||
	    n > JPKI_CARD_DIGESTINFO_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "DigestInfo must be 1..%d bytes",
				 JPKI_CARD_DIGESTINFO_MAX);
	if ((rc = select_ef(l, key, err)) != 0)
		return rc;
	cn = card_host_build(cmd, sizeof(cmd), 0x80, 0x2A, 0x00, 0x80,
			     digestinfo, n, 256);
	if ((rc = simple(l, cmd, cn, resp, sizeof(resp), &got,
			 key == JPKI_KEY_AUTH
			     ? "sign with the authentication key"
			     : "sign with the signature key",
			 err)) != 0)
		return rc;
	if (got != JPKI_CARD_SIG_LEN)
		return jpki_fail(err, JPKI_ERR_CARD,
				 "signature of %zu bytes, expected 256", got);
	memcpy(sig, resp, JPKI_CARD_SIG_LEN);
	return 0;
}

void card_digestinfo_sha256(const uint8_t hash[32],
			    uint8_t out[JPKI_DIGESTINFO_SHA256_LEN])
{
	static const uint8_t prefix[19] = {
	    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + sizeof(prefix), hash, 32);
}

int card_client_read_mynumber(const jpki_link *l, char out[13], jpki_err *err)
{
	uint8_t *ef = NULL;
	size_t len = 0;
	int rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	if ((rc = card_client_read_ef(l, 0x0001, 64, &ef, &len, err)) != 0)
		return rc;
	if ((rc = card_check_mynumber_ef(ef, len, err)) == 0) {
		memcpy(out, ef + 3, JPKI_CARD_MYNUMBER_LEN);
		out[JPKI_CARD_MYNUMBER_LEN] = '\0';
	}
	jpki_free_secret(ef, len);
	return rc;
}

static char *dup_str(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int card_client_read_basic4(const jpki_link *l, char **name, char **address,
			    char birth[9], char *sex, jpki_err *err)
{
	uint8_t *ef = NULL;
	size_t len = 0;
	card_basic4_view v;
	char *nm = NULL, *ad = NULL;
	int rc;

	if (name == NULL || address == NULL || birth == NULL || sex == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	if ((rc = card_client_read_ef(l, 0x0002, CARD_BASIC4_EF_MAX, &ef, &len,
				      err)) != 0)
		return rc;
	if (card_basic4_parse(ef, len, &v) != 0) {
		rc = jpki_fail(err, JPKI_ERR_PARSE, "malformed basic-4 EF");
		goto out;
	}
	if ((nm = dup_str(v.name, v.name_len)) == NULL ||
	    (ad = dup_str(v.addr, v.addr_len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(birth, v.birth, 9);
	*sex = v.sex;
	*name = nm;
	*address = ad;
	nm = ad = NULL; /* transferred */
out:
	free(nm);
	free(ad);
	jpki_free_secret(ef, len);
	return rc;
}
