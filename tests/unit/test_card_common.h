/* Shared helpers of the tests/unit/test_card_*.c programs: hex APDU
 * exchange with byte-exact comparison, a throw-away CA, and one issued
 * card image per test binary (two RSA key generations). */
#ifndef TEST_CARD_COMMON_H
#define TEST_CARD_COMMON_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "card/card_priv.h"
#include "openjpki/card.h"
#include "openjpki/util.h"

#define TC_AUTH_PIN "1234"
#define TC_SIGN_PIN "ABC123"
#define TC_INFO_PIN "5678"
#define TC_MYNUMBER "123456789018"

/* Parse "00 A4 04 0C" style hex (spaces ignored) into out. */
static inline size_t tc_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v = 0;
		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			fail_msg("bad hex in %s", s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

static inline void tc_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(k + 4 <= cap);
		if (i > 0)
			out[k++] = ' ';
		out[k++] = hx[p[i] >> 4];
		out[k++] = hx[p[i] & 15];
	}
	out[k] = '\0';
}

/* Send a hex command; the response (data + SW) lands in resp. */
static inline size_t tc_send(jpki_card *card, const char *cmd_hex,
			     uint8_t *resp, size_t cap)
{
	uint8_t cmd[4096];
	size_t n = tc_unhex(cmd_hex, cmd, sizeof(cmd)), rlen = 0;
	assert_int_equal(card_apdu(card, cmd, n, resp, cap, &rlen), 0);
	assert_true(rlen >= 2);
	return rlen;
}

/* Byte-exact: the response of cmd_hex must be resp_hex. */
static inline void tc_expect(jpki_card *card, const char *cmd_hex,
			     const char *resp_hex)
{
	uint8_t resp[JPKI_CARD_RESP_MAX], want[4096];
	static char got[3 * JPKI_CARD_RESP_MAX];
	size_t rlen = tc_send(card, cmd_hex, resp, sizeof(resp));
	size_t wn = tc_unhex(resp_hex, want, sizeof(want));
	tc_hex(resp, rlen, got, sizeof(got));
	if (rlen != wn || memcmp(resp, want, wn) != 0)
		fail_msg("%s -> %s, expected %s", cmd_hex, got, resp_hex);
}

/* The status word of cmd_hex. */
static inline unsigned tc_sw(jpki_card *card, const char *cmd_hex)
{
	uint8_t resp[JPKI_CARD_RESP_MAX];
	size_t rlen = tc_send(card, cmd_hex, resp, sizeof(resp));
	return (unsigned)resp[rlen - 2] << 8 | resp[rlen - 1];
}

static inline jpki_link tc_link(jpki_card *card)
{
	jpki_link l = {card_transmit, card};
	return l;
}

/* A throw-away Ed25519 CA (fast keygen, fixed-size signatures). */
static inline void tc_make_ca(const char *cn, EVP_PKEY **key, X509 **cert)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	assert_non_null(k);
	assert_non_null(x);
	X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC,
				   (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
				   (const unsigned char *)"openjpki card tests",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC,
				   (const unsigned char *)"throw-away CA, "
							  "never trust this",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, NULL) > 0);
	X509_NAME_free(nm);
	*key = k;
	*cert = x;
}

/* A leaf for pub signed by the CA.  target > 0: grow a comment
 * extension until the DER is exactly that long (trace replays compare
 * response lengths). */
static inline uint8_t *tc_make_leaf(EVP_PKEY *pub, EVP_PKEY *ca_key, X509 *ca,
				    const char *cn, size_t target, size_t *len)
{
	char pad[2048];
	memset(pad, 'X', sizeof(pad));
	for (size_t np = 0; np < sizeof(pad); np++) {
		X509 *x = X509_new();
		X509_NAME *nm = X509_NAME_new();
		unsigned char *der = NULL;
		X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC,
					   (const unsigned char *)"JP", -1, -1,
					   0);
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
					   (const unsigned char *)cn, -1, -1,
					   0);
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
		X509_set_subject_name(x, nm);
		X509_set_issuer_name(x, X509_get_subject_name(ca));
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
		X509_set_pubkey(x, pub);
		if (np > 0) {
			ASN1_IA5STRING *c = ASN1_IA5STRING_new();
			assert_true(ASN1_STRING_set(c, pad, (int)np) == 1);
			assert_true(X509_add1_ext_i2d(x, NID_netscape_comment,
						      c, 0, 0) == 1);
			ASN1_IA5STRING_free(c);
		}
		assert_true(X509_sign(x, ca_key, NULL) > 0);
		int n = i2d_X509(x, &der);
		X509_NAME_free(nm);
		X509_free(x);
		assert_true(n > 0);
		if (target == 0 || (size_t)n == target) {
			uint8_t *out = malloc((size_t)n);
			assert_non_null(out);
			memcpy(out, der, (size_t)n);
			OPENSSL_free(der);
			*len = (size_t)n;
			return out;
		}
		OPENSSL_free(der);
		if ((size_t)n > target)
			break;
	}
	fail_msg("cannot make a certificate of %zu bytes", target);
	return NULL;
}

static inline uint8_t *tc_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	uint8_t *out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

/* Everything a test needs about the issued card. */
typedef struct tc_fixture {
	uint8_t *image; /* issued card (all PINs set, both certificates) */
	size_t image_len;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	EVP_PKEY *auth_pub, *sign_pub;
	uint8_t *auth_cert, *sign_cert, *ca_cert;
	size_t auth_cert_len, sign_cert_len, ca_cert_len;
} tc_fixture;

static inline void tc_fixture_free(tc_fixture *f)
{
	if (f == NULL)
		return;
	jpki_free_secret(f->image, f->image_len);
	EVP_PKEY_free(f->auth_pub);
	EVP_PKEY_free(f->sign_pub);
	free(f->auth_cert);
	free(f->sign_cert);
	free(f->ca_cert);
	free(f);
}

/* Issue a card through the terminal API only (as the counter does).
 * auth_cert_len > 0 forces the auth certificate's size; ca_der, when
 * given, is written as both CA certificates instead of our CA. */
static inline tc_fixture *tc_issue(size_t auth_cert_len, const uint8_t *ca_der,
				   size_t ca_der_len)
{
	tc_fixture *f = calloc(1, sizeof(*f));
	jpki_card *card = NULL;
	jpki_err err = {0};
	EVP_PKEY *ca_key = NULL;
	X509 *ca = NULL;
	jpki_card_params p = {0};
	assert_non_null(f);
	p.serial = "TESTCARD00000001";
	p.made = 1735689600; /* 2025-01-01T00:00:00Z */
	assert_int_equal(card_create(&p, &card, f->tkey, &err), 0);
	jpki_link l = tc_link(card);
	tc_make_ca("openjpki test CA", &ca_key, &ca);
	if (card_term_auth(&l, f->tkey, &err) != 0)
		fail_msg("term auth: %s", err.msg);
	assert_int_equal(
	    card_term_generate_key(&l, JPKI_KEY_AUTH, &f->auth_pub, &err), 0);
	assert_int_equal(
	    card_term_generate_key(&l, JPKI_KEY_SIGN, &f->sign_pub, &err), 0);
	f->auth_cert = tc_make_leaf(f->auth_pub, ca_key, ca, "auth ",
				    auth_cert_len, &f->auth_cert_len);
	f->sign_cert = tc_make_leaf(f->sign_pub, ca_key, ca, "sign ", 0,
				    &f->sign_cert_len);
	if (ca_der != NULL) {
		f->ca_cert = malloc(ca_der_len);
		assert_non_null(f->ca_cert);
		memcpy(f->ca_cert, ca_der, ca_der_len);
		f->ca_cert_len = ca_der_len;
	} else {
		f->ca_cert = tc_der(ca, &f->ca_cert_len);
	}
	if (card_term_write_cert(&l, JPKI_CCERT_AUTH, f->auth_cert,
				 f->auth_cert_len, &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_SIGN, f->sign_cert,
				 f->sign_cert_len, &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_AUTH_CA, f->ca_cert,
				 f->ca_cert_len, &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_SIGN_CA, f->ca_cert,
				 f->ca_cert_len, &err) != 0 ||
	    card_term_write_presence(&l, true, true, &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_AUTH, TC_AUTH_PIN, &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_SIGN, "abc123", &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_CARDINFO, TC_INFO_PIN, &err) != 0)
		fail_msg("personalisation: %s", err.msg);
	jpki_card_basic4 b4 = {"山田 太郎", "東京都千代田区霞が関2-1-2",
			       "19800401", '1'};
	if (card_term_write_cardinfo(&l, TC_MYNUMBER, &b4, &err) != 0)
		fail_msg("card info: %s", err.msg);
	assert_int_equal(card_image(card, &f->image, &f->image_len, &err), 0);
	card_free(card);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	return f;
}

/* A fresh, powered-on copy of the issued card. */
static inline jpki_card *tc_card(const tc_fixture *f)
{
	jpki_card *card = NULL;
	jpki_err err = {0};
	if (card_load_mem(f->image, f->image_len, &card, &err) != 0)
		fail_msg("load: %s", err.msg);
	card_power(card, JPKI_CARD_POWER_ON);
	return card;
}

#endif
