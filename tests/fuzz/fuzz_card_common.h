/* Shared by the card fuzzers (fuzz_apdu, fuzz_vpcd): one issued card,
 * built once per process as an image (two RSA key generations), a spare
 * key that stands in for on-card key generation, and a write hook that
 * checks the invariant "the card only ever persists an image it can load
 * again".  Nothing touches the disk. */
#ifndef OPENJPKI_FUZZ_CARD_COMMON_H
#define OPENJPKI_FUZZ_CARD_COMMON_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card/card_priv.h"
#include "openjpki/card.h"
#include "openjpki/util.h"

static uint8_t *image;
static size_t image_len;
static EVP_PKEY *spare_key;

static EVP_PKEY *dup_key(void *ctx)
{
	(void)ctx;
	return EVP_PKEY_dup(spare_key);
}

static int reload_check(void *ctx, const uint8_t *img, size_t len,
			jpki_err *err)
{
	jpki_card *c = NULL;
	(void)ctx;
	(void)err;
	if (card_load_mem(img, len, &c, NULL) != 0)
		abort(); /* the card wrote an image it cannot read */
	card_free(c);
	return 0;
}

static uint8_t *self_signed(EVP_PKEY *key, const char *cn, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	unsigned char *der = NULL;
	uint8_t *out = NULL;
	int n;
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) > 0 &&
	    (n = i2d_X509(x, &der)) > 0 && (out = malloc((size_t)n)) != NULL) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(der);
	X509_NAME_free(nm);
	X509_free(x);
	return out;
}

static int put_blob(card_blob *b, uint8_t *p, size_t n)
{
	if (p == NULL)
		return -1;
	b->p = p;
	b->len = n;
	return 0;
}

/* One issued card, built once per process (two RSA key generations). */
static int fz_card_init(void)
{
	jpki_card *c = NULL;
	static const uint8_t tkey[JPKI_CARD_TKEY_LEN] = {1};
	jpki_card_params p = {0};
	uint8_t *der;
	size_t n = 0;

	p.serial = "FUZZ000000000001";
	p.tkey = tkey;
	if (card_create(&p, &c, NULL, NULL) != 0)
		return -1;
	EVP_PKEY *ka = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ks = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ka == NULL || ks == NULL ||
	    card_key_set(&c->key_auth, ka, NULL) != 0 ||
	    card_key_set(&c->key_sign, ks, NULL) != 0)
		abort();
	if ((der = self_signed(ka, "fuzz auth", &n)) == NULL ||
	    put_blob(&c->cert_auth, der, n) != 0 ||
	    (der = self_signed(ks, "fuzz sign", &n)) == NULL ||
	    put_blob(&c->cert_sign, der, n) != 0 ||
	    (der = self_signed(ks, "fuzz sign CA", &n)) == NULL ||
	    put_blob(&c->cert_sign_ca, der, n) != 0 ||
	    (der = self_signed(ka, "fuzz auth CA", &n)) == NULL ||
	    put_blob(&c->cert_auth_ca, der, n) != 0)
		abort();
	memcpy(c->pin_auth.value, "1234", 4);
	c->pin_auth.len = 4;
	memcpy(c->pin_sign.value, "ABC123", 6);
	c->pin_sign.len = 6;
	memcpy(c->pin_cardinfo.value, "5678", 4);
	c->pin_cardinfo.len = 4;
	memcpy(c->presence, "\x8F\x8F\x00", 3);
	static const uint8_t mn[] = "\xFF\x10\x0C"
				    "123456789018\xFF\xFF";
	if (card_blob_set(&c->mynumber, mn, 17) != 0 ||
	    card_image(c, &image, &image_len, NULL) != 0)
		abort();
	spare_key = EVP_PKEY_dup(ka);
	card_free(c);
	return spare_key == NULL ? -1 : 0;
}

/* A fresh copy of the issued card, powered on, with the hooks set. */
static jpki_card *fz_card(void)
{
	jpki_card *card = NULL;
	if (image == NULL && fz_card_init() != 0)
		abort();
	if (card_load_mem(image, image_len, &card, NULL) != 0)
		abort();
	card_hooks h = {0};
	h.keygen = dup_key;
	h.write = reload_check;
	card_test_set_hooks(card, &h);
	card_power(card, JPKI_CARD_POWER_ON);
	return card;
}

#endif
