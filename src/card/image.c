/* The card image: one file holding everything a card keeps across power
 * cycles.  Format (docs/card.md):
 *
 *   "JPKICARD" | u16 version (1) | u32 body length N |
 *   body: records { u16 tag | u32 length | value }, tags strictly ascending |
 *   SHA-256 of everything before it (32 bytes)
 *
 * All integers big-endian.  The digest detects truncation and corruption;
 * it is not a MAC and does not stop someone who can write the file (they
 * can read the keys as well: the file's mode 0600 is the protection). */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

#include "card_priv.h"
#include "openjpki/buf.h"
#include "openjpki/util.h"

static const uint8_t magic[8] = {'J', 'P', 'K', 'I', 'C', 'A', 'R', 'D'};
#define IMAGE_VERSION 1
#define HEADER_LEN 14
#define DIGEST_LEN 32

enum {
	T_SERIAL = 0x0001,
	T_OPTIONS = 0x0002,
	T_ATR = 0x0003,
	T_TKEY = 0x0004,
	T_TAUTH = 0x0005,
	T_TOKEN = 0x0006,
	T_PRESENCE = 0x0008,
	T_CERT_SIGN = 0x0101,
	T_CERT_SIGN_CA = 0x0102,
	T_CERT_AUTH = 0x010A,
	T_CERT_AUTH_CA = 0x010B,
	T_KEY_AUTH = 0x0217,
	T_KEY_SIGN = 0x021A,
	T_PIN_CARDINFO = 0x0311,
	T_PIN_AUTH = 0x0318,
	T_PIN_SIGN = 0x031B,
	T_MYNUMBER = 0x0401,
	T_BASIC4 = 0x0402,
};

/* ---- content checks (also used by PUT DATA) ------------------------ */

int card_check_key(EVP_PKEY *pkey, jpki_err *err)
{
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pkey) != CARD_RSA_BITS)
		return jpki_fail(err, JPKI_ERR_KEY, "card keys are RSA-%d",
				 CARD_RSA_BITS);
	return 0;
}

int card_check_cert(const uint8_t *der, size_t len, EVP_PKEY *key,
		    jpki_err *err)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	int rc = 0;

	/* OpenSC sizes a certificate EF from a 30 82 HH LL header (spec §5). */
	if (len < 256 || len > JPKI_CARD_CERT_MAX || der[0] != 0x30 ||
	    der[1] != 0x82 || (size_t)((der[2] << 8 | der[3]) + 4) != len)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "certificate must be one DER SEQUENCE with a "
				 "30 82 HH LL header, 256..%d bytes",
				 JPKI_CARD_CERT_MAX);
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		rc = jpki_fail(err, JPKI_ERR_PARSE, "not a DER certificate");
		goto out;
	}
	if (key != NULL) {
		EVP_PKEY *pub = X509_get0_pubkey(x);
		if (pub == NULL || EVP_PKEY_eq(pub, key) != 1) {
			rc =
			    jpki_fail(err, JPKI_ERR_KEY,
				      "certificate is not for this card's key");
			goto out;
		}
	}
out:
	X509_free(x);
	return rc;
}

int card_check_presence(const uint8_t *p, size_t len, jpki_err *err)
{
	if (len != CARD_PRESENCE_LEN || (p[0] != 0x00 && p[0] != 0x8F) ||
	    (p[1] != 0x00 && p[1] != 0x8F) || p[2] != 0x00)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "EF 0008 must be {00|8F} {00|8F} 00");
	return 0;
}

int card_check_mynumber_ef(const uint8_t *p, size_t len, jpki_err *err)
{
	if (len != CARD_MYNUMBER_EF_LEN || p[0] != 0xFF || p[1] != 0x10 ||
	    p[2] != JPKI_CARD_MYNUMBER_LEN || p[15] != 0xFF || p[16] != 0xFF)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "My Number EF must be FF 10 0C <12 digits> "
				 "FF FF");
	for (size_t i = 3; i < 15; i++)
		if (p[i] < '0' || p[i] > '9')
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "My Number must be 12 digits");
	return 0;
}

/* BER length (short form, 81 xx or 82 xx xx). */
static int ber_len(jpki_rbuf *b, size_t *out)
{
	uint8_t l0, l1;
	uint16_t l2;
	int r;
	if ((r = jpki_rbuf_u8(b, &l0)) != 0)
		return r;
	if (l0 < 0x80) {
		*out = l0;
	} else if (l0 == 0x81) {
		if ((r = jpki_rbuf_u8(b, &l1)) != 0)
			return r;
		if (l1 < 0x80)
			return JPKI_ERR_PARSE;
		*out = l1;
	} else if (l0 == 0x82) {
		if ((r = jpki_rbuf_u16be(b, &l2)) != 0)
			return r;
		if (l2 < 0x100)
			return JPKI_ERR_PARSE;
		*out = l2;
	} else {
		return JPKI_ERR_PARSE;
	}
	return jpki_rbuf_left(b) < *out ? JPKI_ERR_PARSE : 0;
}

/* One element with a 2-byte tag: DF 2x. */
static int b4_elem(jpki_rbuf *b, uint8_t tag, const uint8_t **v, size_t *n)
{
	uint16_t t;
	int r;
	if ((r = jpki_rbuf_u16be(b, &t)) != 0 || t != (0xDF00 | tag) ||
	    (r = ber_len(b, n)) != 0 || (r = jpki_rbuf_ptr(b, v, *n)) != 0)
		return JPKI_ERR_PARSE;
	return 0;
}

static int utf8_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7F)
			return 0;
	return 1;
}

int card_basic4_parse(const uint8_t *p, size_t len, card_basic4_view *v)
{
	jpki_rbuf b, in;
	uint16_t t;
	size_t n, hn, bn, sn;
	const uint8_t *body, *h, *birth, *sex;

	if (len > CARD_BASIC4_EF_MAX)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(&b, p, len);
	if (jpki_rbuf_u16be(&b, &t) != 0 || t != 0xFF20 ||
	    ber_len(&b, &n) != 0 || jpki_rbuf_ptr(&b, &body, n) != 0 ||
	    jpki_rbuf_end(&b) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(&in, body, n);
	if (b4_elem(&in, 0x21, &h, &hn) != 0 || hn != 8 ||
	    b4_elem(&in, 0x22, &v->name, &v->name_len) != 0 ||
	    v->name_len == 0 || !utf8_ok(v->name, v->name_len) ||
	    b4_elem(&in, 0x23, &v->addr, &v->addr_len) != 0 ||
	    v->addr_len == 0 || !utf8_ok(v->addr, v->addr_len) ||
	    b4_elem(&in, 0x24, &birth, &bn) != 0 || bn != 8 ||
	    b4_elem(&in, 0x25, &sex, &sn) != 0 || sn != 1 ||
	    jpki_rbuf_end(&in) != 0)
		return JPKI_ERR_PARSE;
	for (size_t i = 0; i < 8; i++)
		if (birth[i] < '0' || birth[i] > '9')
			return JPKI_ERR_PARSE;
	if (sex[0] != '1' && sex[0] != '2' && sex[0] != '9')
		return JPKI_ERR_PARSE;
	memcpy(v->birth, birth, 8);
	v->birth[8] = '\0';
	v->sex = (char)sex[0];
	return 0;
}

int card_check_basic4_ef(const uint8_t *p, size_t len, jpki_err *err)
{
	card_basic4_view v;
	if (card_basic4_parse(p, len, &v) != 0)
		return jpki_fail(
		    err, JPKI_ERR_PARSE,
		    "basic-4 EF must be FF 20 { DF 21 (8) DF 22 "
		    "name DF 23 address DF 24 YYYYMMDD DF 25 sex }");
	return 0;
}

int card_check_pin_value(jpki_pin_kind kind, const uint8_t *p, size_t len,
			 jpki_err *err)
{
	char s[JPKI_PIN_MAX + 1], norm[JPKI_PIN_MAX + 1] = {0};
	int rc = 0;
	if (len == 0 || len > JPKI_PIN_MAX)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				 "PIN must be 1..%d characters", JPKI_PIN_MAX);
	if (memchr(p, 0, len) != NULL)
		return jpki_fail(err, JPKI_ERR_PIN_FORMAT, "PIN contains NUL");
	memcpy(s, p, len);
	s[len] = '\0';
	if ((rc = rules_pin_check(kind, s, norm, sizeof(norm), err)) != 0)
		goto out;
	if (strcmp(norm, s) != 0)
		rc = jpki_fail(err, JPKI_ERR_PIN_FORMAT,
			       "PIN is not in its normal form (upper case)");
out:
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

jpki_pin_kind card_pin_kind(const jpki_card *card, const card_pin *pin)
{
	if (pin == &card->pin_sign)
		return JPKI_PIN_SIGN;
	if (pin == &card->pin_auth)
		return JPKI_PIN_AUTH;
	return JPKI_PIN_CARDINFO;
}

/* ---- writer -------------------------------------------------------- */

static int rec(jpki_wbuf *w, uint16_t tag, const void *v, size_t n)
{
	int r;
	if (n > UINT32_MAX)
		return JPKI_ERR_RANGE;
	if ((r = jpki_wbuf_u16be(w, tag)) != 0 ||
	    (r = jpki_wbuf_u32be(w, (uint32_t)n)) != 0 ||
	    (r = jpki_wbuf_put(w, v, n)) != 0)
		return r;
	return 0;
}

static int rec_blob(jpki_wbuf *w, uint16_t tag, const card_blob *b)
{
	return b->p == NULL ? 0 : rec(w, tag, b->p, b->len);
}

static int rec_key(jpki_wbuf *w, uint16_t tag, const card_key *k)
{
	unsigned char *der = NULL;
	int n, r;
	if (k->pkey == NULL)
		return 0;
	/* PKCS#1 RSAPrivateKey */
	if ((n = i2d_PrivateKey(k->pkey, &der)) <= 0)
		return JPKI_ERR_CRYPTO;
	r = rec(w, tag, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return r;
}

static int rec_pin(jpki_wbuf *w, uint16_t tag, const card_pin *p)
{
	uint8_t v[3 + JPKI_PIN_MAX];
	v[0] = p->max;
	v[1] = p->left;
	v[2] = p->len;
	memcpy(v + 3, p->value, p->len);
	int r = rec(w, tag, v, 3u + p->len);
	OPENSSL_cleanse(v, sizeof(v));
	return r;
}

int card_image(const jpki_card *card, uint8_t **out, size_t *out_len,
	       jpki_err *err)
{
	jpki_wbuf w;
	uint8_t u32[4], digest[DIGEST_LEN];
	int r = 0;

	if (card == NULL || out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card or output");
	jpki_wbuf_init(&w, CARD_IMAGE_MAX);
	u32[0] = (uint8_t)(card->options >> 24);
	u32[1] = (uint8_t)(card->options >> 16);
	u32[2] = (uint8_t)(card->options >> 8);
	u32[3] = (uint8_t)card->options;
	if ((r = jpki_wbuf_put(&w, magic, sizeof(magic))) != 0 ||
	    (r = jpki_wbuf_u16be(&w, IMAGE_VERSION)) != 0 ||
	    (r = jpki_wbuf_u32be(&w, 0)) != 0 ||
	    (r = rec(&w, T_SERIAL, card->serial, strlen(card->serial))) != 0 ||
	    (r = rec(&w, T_OPTIONS, u32, 4)) != 0 ||
	    (r = rec(&w, T_ATR, card->atr, card->atr_len)) != 0 ||
	    (r = rec(&w, T_TKEY, card->tkey, sizeof(card->tkey))) != 0 ||
	    (r = rec(&w, T_TAUTH, &card->tauth_left, 1)) != 0 ||
	    (r = rec(&w, T_TOKEN, card->token, sizeof(card->token))) != 0 ||
	    (r = rec(&w, T_PRESENCE, card->presence, sizeof(card->presence))) !=
		0 ||
	    (r = rec_blob(&w, T_CERT_SIGN, &card->cert_sign)) != 0 ||
	    (r = rec_blob(&w, T_CERT_SIGN_CA, &card->cert_sign_ca)) != 0 ||
	    (r = rec_blob(&w, T_CERT_AUTH, &card->cert_auth)) != 0 ||
	    (r = rec_blob(&w, T_CERT_AUTH_CA, &card->cert_auth_ca)) != 0 ||
	    (r = rec_key(&w, T_KEY_AUTH, &card->key_auth)) != 0 ||
	    (r = rec_key(&w, T_KEY_SIGN, &card->key_sign)) != 0 ||
	    (r = rec_pin(&w, T_PIN_CARDINFO, &card->pin_cardinfo)) != 0 ||
	    (r = rec_pin(&w, T_PIN_AUTH, &card->pin_auth)) != 0 ||
	    (r = rec_pin(&w, T_PIN_SIGN, &card->pin_sign)) != 0 ||
	    (r = rec_blob(&w, T_MYNUMBER, &card->mynumber)) != 0 ||
	    (r = rec_blob(&w, T_BASIC4, &card->basic4)) != 0)
		goto out;
	size_t body = w.len - HEADER_LEN;
	w.p[10] = (uint8_t)(body >> 24);
	w.p[11] = (uint8_t)(body >> 16);
	w.p[12] = (uint8_t)(body >> 8);
	w.p[13] = (uint8_t)body;
	SHA256(w.p, w.len, digest);
	if ((r = jpki_wbuf_put(&w, digest, sizeof(digest))) != 0)
		goto out;
	*out = w.p;
	*out_len = w.len;
	w.p = NULL; /* transferred */
out:
	jpki_wbuf_free(&w);
	if (r == JPKI_ERR_CRYPTO)
		return jpki_fail(err, r, "cannot encode a card key");
	if (r != 0)
		return jpki_fail(err, r, "cannot serialise the card image");
	return 0;
}

/* ---- reader -------------------------------------------------------- */

/* A content check failed inside an image: report it as a parse error. */
static int bad_content(jpki_err *err, const char *what)
{
	jpki_wrap(err, JPKI_ERR_PARSE, "%s", what);
	if (err != NULL)
		err->code = JPKI_ERR_PARSE;
	return JPKI_ERR_PARSE;
}

static int load_pin(card_pin *pin, jpki_pin_kind kind, const uint8_t *v,
		    size_t n, jpki_err *err)
{
	int max = rules_pin_retries(kind);
	if (n < 3 || v[2] != n - 3 || v[0] != max || v[1] > v[0])
		return jpki_fail(err, JPKI_ERR_PARSE, "malformed PIN record");
	if (v[2] != 0 && card_check_pin_value(kind, v + 3, v[2], err) != 0)
		return bad_content(err, "stored PIN");
	pin->max = v[0];
	pin->left = v[1];
	pin->len = v[2];
	memcpy(pin->value, v + 3, v[2]);
	return 0;
}

static int load_key(card_key *k, const uint8_t *v, size_t n, jpki_err *err)
{
	const unsigned char *p = v;
	EVP_PKEY *pkey = NULL;
	int rc;
	if (n > 4096)
		return jpki_fail(err, JPKI_ERR_PARSE, "key record too large");
	pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)n);
	if (pkey == NULL || p != v + n) {
		rc = jpki_fail(err, JPKI_ERR_PARSE, "malformed private key");
		goto out;
	}
	if (card_check_key(pkey, err) != 0) {
		rc = bad_content(err, "stored key");
		goto out;
	}
	if ((rc = card_key_set(k, pkey, err)) != 0)
		goto out;
	pkey = NULL; /* transferred */
out:
	EVP_PKEY_free(pkey);
	return rc;
}

static int load_blob(card_blob *b, const uint8_t *v, size_t n, jpki_err *err)
{
	if (card_blob_set(b, v, n) != 0)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	return 0;
}

static int load_record(jpki_card *c, uint16_t tag, const uint8_t *v, size_t n,
		       jpki_err *err)
{
	switch (tag) {
	case T_SERIAL:
		if (n == 0 || n > JPKI_CARD_SERIAL_LEN)
			break;
		for (size_t i = 0; i < n; i++)
			if (v[i] < 0x21 || v[i] > 0x7E)
				return jpki_fail(err, JPKI_ERR_PARSE,
						 "bad serial");
		memcpy(c->serial, v, n);
		c->serial[n] = '\0';
		return 0;
	case T_OPTIONS: {
		if (n != 4)
			break;
		uint32_t o = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			     (uint32_t)v[2] << 8 | v[3];
		if ((o & ~(uint32_t)JPKI_CARD_OPT_ALL) != 0)
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "unknown card options %#x",
					 (unsigned)o);
		c->options = o;
		return 0;
	}
	case T_ATR:
		if (n == 0 || n > JPKI_CARD_ATR_MAX)
			break;
		memcpy(c->atr, v, n);
		c->atr_len = n;
		return 0;
	case T_TKEY:
		if (n != JPKI_CARD_TKEY_LEN)
			break;
		memcpy(c->tkey, v, n);
		return 0;
	case T_TAUTH:
		if (n != 1 || v[0] > CARD_TAUTH_TRIES)
			break;
		c->tauth_left = v[0];
		return 0;
	case T_TOKEN:
		if (n != CARD_TOKEN_LEN)
			break;
		memcpy(c->token, v, n);
		return 0;
	case T_PRESENCE:
		if (card_check_presence(v, n, err) != 0)
			return JPKI_ERR_PARSE;
		memcpy(c->presence, v, n);
		return 0;
	case T_CERT_SIGN: return load_blob(&c->cert_sign, v, n, err);
	case T_CERT_SIGN_CA: return load_blob(&c->cert_sign_ca, v, n, err);
	case T_CERT_AUTH: return load_blob(&c->cert_auth, v, n, err);
	case T_CERT_AUTH_CA: return load_blob(&c->cert_auth_ca, v, n, err);
	case T_KEY_AUTH: return load_key(&c->key_auth, v, n, err);
	case T_KEY_SIGN: return load_key(&c->key_sign, v, n, err);
	case T_PIN_CARDINFO:
		return load_pin(&c->pin_cardinfo, JPKI_PIN_CARDINFO, v, n, err);
	case T_PIN_AUTH:
		return load_pin(&c->pin_auth, JPKI_PIN_AUTH, v, n, err);
	case T_PIN_SIGN:
		return load_pin(&c->pin_sign, JPKI_PIN_SIGN, v, n, err);
	case T_MYNUMBER:
		if (card_check_mynumber_ef(v, n, err) != 0)
			return JPKI_ERR_PARSE;
		return load_blob(&c->mynumber, v, n, err);
	case T_BASIC4:
		if (card_check_basic4_ef(v, n, err) != 0)
			return JPKI_ERR_PARSE;
		return load_blob(&c->basic4, v, n, err);
	default:
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "unknown record %04X in a version %d image",
				 tag, IMAGE_VERSION);
	}
	return jpki_fail(err, JPKI_ERR_PARSE, "record %04X has a bad length",
			 tag);
}

static int check_cert_rec(const card_blob *b, const card_key *k, jpki_err *err)
{
	if (b->p == NULL)
		return 0;
	if (k != NULL && k->pkey == NULL)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "certificate without its key");
	if (card_check_cert(b->p, b->len, k != NULL ? k->pkey : NULL, err) != 0)
		return bad_content(err, "stored certificate");
	return 0;
}

/* Cross-record consistency: what the card itself never lets happen. */
static int check_consistent(const jpki_card *c, jpki_err *err)
{
	int rc;
	if ((rc = check_cert_rec(&c->cert_sign, &c->key_sign, err)) != 0 ||
	    (rc = check_cert_rec(&c->cert_auth, &c->key_auth, err)) != 0 ||
	    (rc = check_cert_rec(&c->cert_sign_ca, NULL, err)) != 0 ||
	    (rc = check_cert_rec(&c->cert_auth_ca, NULL, err)) != 0)
		return rc;
	return 0;
}

int card_image_parse(const uint8_t *img, size_t len, jpki_card **out,
		     jpki_err *err)
{
	static const uint16_t required[] = {
	    T_SERIAL, T_OPTIONS,  T_ATR,	  T_TKEY,     T_TAUTH,
	    T_TOKEN,  T_PRESENCE, T_PIN_CARDINFO, T_PIN_AUTH, T_PIN_SIGN};
	jpki_rbuf b;
	uint8_t m[8], digest[DIGEST_LEN];
	uint16_t version, tag, prev = 0;
	uint32_t body_len, rlen;
	const uint8_t *v, *stored;
	jpki_card *c = NULL;
	size_t seen = 0;
	int rc;

	jpki_rbuf_init(&b, img, len);
	if (jpki_rbuf_get(&b, m, sizeof(m)) != 0 ||
	    memcmp(m, magic, sizeof(m)) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "not a card image (no JPKICARD magic)");
	if (jpki_rbuf_u16be(&b, &version) != 0 ||
	    jpki_rbuf_u32be(&b, &body_len) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "card image truncated in its header");
	if (version != IMAGE_VERSION)
		return jpki_fail(err, JPKI_ERR_SCHEMA,
				 "card image version %u; this program reads "
				 "version %d",
				 version, IMAGE_VERSION);
	if (len < (size_t)HEADER_LEN + DIGEST_LEN ||
	    body_len > len - HEADER_LEN - DIGEST_LEN)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "card image truncated (%zu bytes)", len);
	if (len > CARD_IMAGE_MAX || body_len != len - HEADER_LEN - DIGEST_LEN)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "card image has trailing data");
	SHA256(img, len - DIGEST_LEN, digest);
	stored = img + len - DIGEST_LEN;
	if (jpki_ct_memcmp(digest, stored, DIGEST_LEN) != 0)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "card image is corrupt (SHA-256 mismatch)");
	jpki_rbuf_init(&b, img + HEADER_LEN, body_len);
	if ((rc = card_alloc(&c, err)) != 0)
		return rc;
	while (jpki_rbuf_left(&b) > 0) {
		if (jpki_rbuf_u16be(&b, &tag) != 0 ||
		    jpki_rbuf_u32be(&b, &rlen) != 0 ||
		    jpki_rbuf_ptr(&b, &v, rlen) != 0) {
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "card image record truncated");
			goto out;
		}
		if (tag <= prev) {
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "card image records out of order");
			goto out;
		}
		prev = tag;
		if ((rc = load_record(c, tag, v, rlen, err)) != 0)
			goto out;
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]);
		     i++)
			if (required[i] == tag)
				seen++;
	}
	if (seen != sizeof(required) / sizeof(required[0])) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "card image lacks a required record");
		goto out;
	}
	if ((rc = check_consistent(c, err)) != 0)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	card_free(c);
	return rc;
}
