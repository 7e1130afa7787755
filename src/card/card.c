/* The card object: creation, file binding and locking, persistence, power
 * events and behaviour switches.  See include/openjpki/card.h. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "card_priv.h"
#include "openjpki/util.h"

static const uint8_t default_atr[] = {0x3B, 0xE0, 0x00, 0xFF, 0x81,
				      0x31, 0xFE, 0x45, 0x14};

int card_alloc(jpki_card **out, jpki_err *err)
{
	jpki_card *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	c->lock_fd = -1;
	c->tauth_left = CARD_TAUTH_TRIES;
	c->pin_auth.max = c->pin_auth.left =
	    (uint8_t)rules_pin_retries(JPKI_PIN_AUTH);
	c->pin_sign.max = c->pin_sign.left =
	    (uint8_t)rules_pin_retries(JPKI_PIN_SIGN);
	c->pin_cardinfo.max = c->pin_cardinfo.left =
	    (uint8_t)rules_pin_retries(JPKI_PIN_CARDINFO);
	*out = c;
	return 0;
}

void card_blob_clear(card_blob *b)
{
	jpki_free_secret(b->p, b->len);
	b->p = NULL;
	b->len = 0;
}

int card_blob_set(card_blob *b, const uint8_t *p, size_t len)
{
	uint8_t *n = malloc(len > 0 ? len : 1);
	if (n == NULL)
		return JPKI_ERR_NOMEM;
	if (len > 0)
		memcpy(n, p, len);
	card_blob_clear(b);
	b->p = n;
	b->len = len;
	return 0;
}

void card_key_clear(card_key *k)
{
	EVP_PKEY_CTX_free(k->sctx);
	EVP_PKEY_free(k->pkey); /* OpenSSL zeroes RSA key material */
	k->sctx = NULL;
	k->pkey = NULL;
}

int card_key_set(card_key *k, EVP_PKEY *pkey, jpki_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "cannot prepare the signing context");
	}
	card_key_clear(k);
	k->pkey = pkey;
	k->sctx = ctx;
	return 0;
}

void card_clear_verified(jpki_card *card, int ap)
{
	if (ap == CARD_AP_JPKI) {
		card->pin_auth.verified = false;
		card->pin_sign.verified = false;
	} else if (ap == CARD_AP_CARDINFO) {
		card->pin_cardinfo.verified = false;
	}
}

static void pad_field(uint8_t *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);
	memset(dst, ' ', cap);
	memcpy(dst, s, n < cap ? n : cap);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* EF 0006: a CK_TOKEN_INFO with 4-byte big-endian CK_ULONGs (spec §3.2.1). */
void card_token_build(uint8_t token[CARD_TOKEN_LEN], const char *serial,
		      time_t made)
{
	static const uint32_t ulongs[10] = {
	    0,		  /* maxSessionCount: CK_EFFECTIVELY_INFINITE */
	    0xFFFFFFFF,	  /* sessionCount: unavailable */
	    0,		  /* maxRwSessionCount */
	    0xFFFFFFFF,	  /* rwSessionCount */
	    JPKI_PIN_MAX, /* maxPinLen */
	    4,		  /* minPinLen */
	    0xFFFFFFFF,
	    0xFFFFFFFF,
	    0xFFFFFFFF,
	    0xFFFFFFFF, /* memory */
	};
	pad_field(token, 32, "JPKIAPICCTOKEN2");
	pad_field(token + 32, 32, "openjpki");
	pad_field(token + 64, 16, "virtual card");
	pad_field(token + 80, 16, serial);
	/* CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
	 * CKF_TOKEN_INITIALIZED */
	put_u32(token + 96, 0x0000040D);
	for (size_t i = 0; i < 10; i++)
		put_u32(token + 100 + 4 * i, ulongs[i]);
	memcpy(token + 140, "03", 2);
	memcpy(token + 142, "01", 2);
	memset(token + 144, ' ', 16);
	struct tm tm;
	if (made != 0 && gmtime_r(&made, &tm) != NULL) {
		char t[17];
		if (strftime(t, sizeof(t), "%Y%m%d%H%M%S00", &tm) == 16)
			memcpy(token + 144, t, 16);
	}
}

static int serial_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > JPKI_CARD_SERIAL_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7E)
			return 0;
	return 1;
}

int card_create(const jpki_card_params *params, jpki_card **out,
		uint8_t tkey_out[JPKI_CARD_TKEY_LEN], jpki_err *err)
{
	jpki_card_params def = {0};
	jpki_card *c = NULL;
	int rc;

	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output card");
	if (params == NULL)
		params = &def;
	if ((params->options & ~JPKI_CARD_OPT_ALL) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown card options %#x", params->options);
	if (params->atr_len > JPKI_CARD_ATR_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "ATR longer than %d bytes", JPKI_CARD_ATR_MAX);
	if (params->serial != NULL && !serial_ok(params->serial))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "card serial must be 1-16 printable ASCII "
				 "characters");
	if ((rc = card_alloc(&c, err)) != 0)
		return rc;
	c->options = params->options;
	if (params->atr_len == 0) {
		memcpy(c->atr, default_atr, sizeof(default_atr));
		c->atr_len = sizeof(default_atr);
	} else {
		memcpy(c->atr, params->atr, params->atr_len);
		c->atr_len = params->atr_len;
	}
	if (params->serial != NULL) {
		/* serial_ok() bounded it to 16 characters */
		if ((rc = jpki_strlcpy(c->serial, params->serial,
				       sizeof(c->serial))) != 0) {
			rc = jpki_fail(err, rc, "card serial too long");
			goto out;
		}
	} else {
		uint8_t r[JPKI_CARD_SERIAL_LEN / 2];
		if ((rc = jpki_random(r, sizeof(r), err)) != 0)
			goto out;
		jpki_hex(r, sizeof(r), c->serial);
	}
	if (params->tkey != NULL)
		memcpy(c->tkey, params->tkey, JPKI_CARD_TKEY_LEN);
	else if ((rc = jpki_random(c->tkey, sizeof(c->tkey), err)) != 0)
		goto out;
	card_token_build(c->token, c->serial, params->made);
	if (tkey_out != NULL)
		memcpy(tkey_out, c->tkey, JPKI_CARD_TKEY_LEN);
	*out = c;
	c = NULL; /* transferred */
out:
	card_free(c);
	return rc;
}

void card_free(jpki_card *card)
{
	if (card == NULL)
		return;
	card_blob_clear(&card->cert_sign);
	card_blob_clear(&card->cert_sign_ca);
	card_blob_clear(&card->cert_auth);
	card_blob_clear(&card->cert_auth_ca);
	card_blob_clear(&card->mynumber);
	card_blob_clear(&card->basic4);
	card_key_clear(&card->key_auth);
	card_key_clear(&card->key_sign);
	if (card->lock_fd >= 0)
		close(card->lock_fd); /* releases the flock */
	free(card->path);
	OPENSSL_cleanse(card, sizeof(*card));
	free(card);
}

/* Exclusive advisory lock on "<path>.lock".  A sidecar file, because the
 * image itself is replaced by rename() on every write. */
static int lock_image(const char *path, int *fd_out, jpki_err *err)
{
	char lp[4096];
	if ((size_t)snprintf(lp, sizeof(lp), "%s.lock", path) >= sizeof(lp))
		return jpki_fail(err, JPKI_ERR_RANGE, "path too long: %s",
				 path);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return jpki_fail(err, JPKI_ERR_IO, "cannot open %s: %s", lp,
				 strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "card image %s is in use by another "
					 "process",
					 path);
		return jpki_fail(err, JPKI_ERR_IO, "cannot lock %s: %s", lp,
				 strerror(e));
	}
	*fd_out = fd;
	return 0;
}

int card_load(const char *path, jpki_card **out, jpki_err *err)
{
	uint8_t *img = NULL;
	size_t len = 0;
	jpki_card *c = NULL;
	int fd = -1, rc;

	if (path == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card image path");
	if ((rc = lock_image(path, &fd, err)) != 0)
		return rc;
	/* a write killed half-way left a temporary copy (keys included):
	 * nobody else writes while we hold the lock, so it is stale */
	if ((rc = jpki_file_sweep_tmp(path, NULL, err)) != 0 ||
	    (rc = jpki_file_read_flags(path, CARD_IMAGE_MAX, JPKI_FILE_OWN,
				       &img, &len, err)) != 0)
		goto out;
	if ((rc = card_image_parse(img, len, &c, err)) != 0) {
		jpki_wrap(err, rc, "%s", path);
		goto out;
	}
	if ((c->path = strdup(path)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	c->lock_fd = fd;
	fd = -1; /* transferred */
	*out = c;
	c = NULL; /* transferred */
out:
	if (fd >= 0)
		close(fd);
	jpki_free_secret(img, len);
	card_free(c);
	return rc;
}

int card_load_mem(const uint8_t *img, size_t len, jpki_card **out,
		  jpki_err *err)
{
	if (img == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card image");
	return card_image_parse(img, len, out, err);
}

static int write_image(jpki_card *card, const char *path, jpki_err *err)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int rc = card_image(card, &img, &len, err);
	if (rc != 0)
		return rc;
	if (card->hooks.write != NULL)
		rc = card->hooks.write(card->hooks.ctx, img, len, err);
	else
		rc = jpki_file_write_atomic(path, img, len, 0600, err);
	jpki_free_secret(img, len);
	return rc;
}

int card_save(jpki_card *card, const char *path, jpki_err *err)
{
	int fd = -1, rc;
	char *p = NULL;
	struct stat st;

	if (card == NULL || path == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card or path");
	if (card->path != NULL)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "card is already stored in %s", card->path);
	if ((rc = lock_image(path, &fd, err)) != 0)
		return rc;
	if (lstat(path, &st) == 0) {
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "%s exists; refusing to overwrite a card image",
			       path);
		goto out;
	}
	if ((rc = jpki_file_sweep_tmp(path, NULL, err)) != 0)
		goto out;
	if ((p = strdup(path)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = write_image(card, path, err)) != 0)
		goto out;
	card->path = p;
	p = NULL; /* transferred */
	card->lock_fd = fd;
	fd = -1; /* transferred */
out:
	free(p);
	if (fd >= 0)
		close(fd);
	return rc;
}

int card_persist(jpki_card *card, jpki_err *err)
{
	if (card->path != NULL) {
		int rc = write_image(card, card->path, err);
		if (rc != 0)
			return rc;
	} else if (card->hooks.write != NULL) {
		uint8_t *img = NULL;
		size_t len = 0;
		int rc = card_image(card, &img, &len, err);
		if (rc == 0)
			rc = card->hooks.write(card->hooks.ctx, img, len, err);
		jpki_free_secret(img, len);
		if (rc != 0)
			return rc;
	}
	if (card->hooks.after_persist != NULL)
		card->hooks.after_persist(card->hooks.ctx);
	return 0;
}

const uint8_t *card_atr(const jpki_card *card, size_t *len)
{
	if (card == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = card->atr_len;
	return card->atr;
}

const char *card_serial(const jpki_card *card)
{
	return card == NULL ? "" : card->serial;
}

void card_power(jpki_card *card, jpki_card_power event)
{
	(void)event; /* off, on and reset all end the session */
	if (card == NULL)
		return;
	card_clear_verified(card, CARD_AP_JPKI);
	card_clear_verified(card, CARD_AP_CARDINFO);
	card->cur_ap = CARD_AP_NONE;
	card->ef_selected = false;
	card->cur_ef = 0;
	card->term_auth = false;
	card->chal_valid = false;
	OPENSSL_cleanse(card->chal, sizeof(card->chal));
}

unsigned card_options(const jpki_card *card)
{
	return card == NULL ? 0 : card->options;
}

int card_set_options(jpki_card *card, unsigned options, jpki_err *err)
{
	if (card == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card");
	if ((options & ~JPKI_CARD_OPT_ALL) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown card options %#x", options);
	unsigned old = card->options;
	card->options = options;
	int rc = card_persist(card, err);
	if (rc != 0)
		card->options = old;
	return rc;
}

void card_test_set_hooks(jpki_card *card, const card_hooks *hooks)
{
	if (hooks == NULL)
		memset(&card->hooks, 0, sizeof(card->hooks));
	else
		card->hooks = *hooks;
}

void card_test_set_term_auth(jpki_card *card, bool on)
{
	card->term_auth = on;
}

int card_transmit(void *card, const uint8_t *cmd, size_t n, uint8_t *resp,
		  size_t cap, size_t *rlen)
{
	return card_apdu(card, cmd, n, resp, cap, rlen);
}
