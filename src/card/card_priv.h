/* Internals of the virtual card shared by the files of src/card (and the
 * unit tests and fuzzers, which include this header for the test hooks). */
#ifndef OPENJPKI_CARD_PRIV_H
#define OPENJPKI_CARD_PRIV_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/card.h"
#include "openjpki/error.h"
#include "openjpki/rules.h"

/* Status words (spec §4.7). */
#define SW_OK 0x9000
#define SW_WARN_RETRIES 0x63C0 /* | tries left */
#define SW_MEMORY_FAILURE 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_CLA_FUNC 0x6800 /* logical channel not supported */
#define SW_SM_UNSUPPORTED 0x6882
#define SW_INCOMPATIBLE_FILE 0x6981
#define SW_SECURITY 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_REF_UNUSABLE 0x6984 /* PIN blocked or not set */
#define SW_CONDITIONS 0x6985
#define SW_NO_CURRENT_EF 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_NOT_FOUND 0x6A82
#define SW_WRONG_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_WRONG_OFFSET 0x6B00
#define SW_INS 0x6D00
#define SW_CLA 0x6E00
#define SW_UNKNOWN 0x6F00
/* Internal: the caller's response buffer is too small (never sent). */
#define SW_INTERNAL_RESP_TOO_SMALL 0x0001

#define CARD_TOKEN_LEN 160
#define CARD_PRESENCE_LEN 3
#define CARD_MYNUMBER_EF_LEN 17
#define CARD_BASIC4_EF_MAX 1024
#define CARD_TAUTH_TRIES 15
#define CARD_IMAGE_MAX (256u * 1024u)
#define CARD_RSA_BITS 2048

/* Which application is current (0 = none). */
enum {
	CARD_AP_NONE = 0,
	CARD_AP_JPKI = JPKI_AP_JPKI,
	CARD_AP_CARDINFO = JPKI_AP_CARDINFO
};

typedef struct card_blob {
	uint8_t *p; /* NULL = absent */
	size_t len;
} card_blob;

typedef struct card_pin {
	uint8_t value[JPKI_PIN_MAX];
	uint8_t len; /* 0 = not set yet (blank card) */
	uint8_t max;
	uint8_t left;
	bool verified; /* volatile */
} card_pin;

typedef struct card_key {
	EVP_PKEY *pkey;	    /* NULL = not generated yet */
	EVP_PKEY_CTX *sctx; /* signing context, initialised once */
} card_key;

/* Hooks for tests and fuzzers; all NULL in production. */
typedef struct card_hooks {
	/* Called right after every successful persist (the crash test kills
	 * the process here). */
	void (*after_persist)(void *ctx);
	/* Replaces RSA key generation (fuzzers: no 100 ms keygens).  Returns
	 * a new key the card takes ownership of, or NULL. */
	EVP_PKEY *(*keygen)(void *ctx);
	/* Replaces the atomic file write (tests inject failures). */
	int (*write)(void *ctx, const uint8_t *img, size_t len, jpki_err *err);
	void *ctx;
} card_hooks;

struct jpki_card {
	/* persistent */
	char serial[JPKI_CARD_SERIAL_LEN + 1];
	unsigned options;
	uint8_t atr[JPKI_CARD_ATR_MAX];
	size_t atr_len;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	uint8_t tauth_left;
	uint8_t token[CARD_TOKEN_LEN];	     /* EF 0006 */
	uint8_t presence[CARD_PRESENCE_LEN]; /* EF 0008 */
	card_blob cert_sign, cert_sign_ca, cert_auth, cert_auth_ca;
	card_key key_auth, key_sign;
	card_pin pin_auth, pin_sign, pin_cardinfo;
	card_blob mynumber; /* 券面事項入力補助AP EF 0001 */
	card_blob basic4;   /* 券面事項入力補助AP EF 0002 */

	/* binding to an image file (NULL = memory only) */
	char *path;
	int lock_fd;

	/* volatile security state */
	int cur_ap;
	bool ef_selected;
	uint16_t cur_ef;
	bool term_auth;
	bool chal_valid;
	uint8_t chal[JPKI_CARD_CHALLENGE_LEN];

	card_hooks hooks;
};

/* Response under construction: data goes to buf (cap bytes), SW after. */
typedef struct card_rsp {
	uint8_t *buf;
	size_t cap;
	size_t len;
} card_rsp;

/* A parsed command APDU (ISO 7816-3 cases 1-4, short and extended). */
typedef struct card_cmd {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc; /* 0 = no command data */
	size_t le; /* 1..65536 when has_le */
	bool has_le;
	bool ext; /* extended length encoding */
} card_cmd;

/* card.c */
JPKI_MUST_CHECK int card_alloc(jpki_card **out, jpki_err *err);
/* Write the image to the bound file (no-op without one), then the hook.
 * 0 or a jpki_rc. */
JPKI_MUST_CHECK int card_persist(jpki_card *card, jpki_err *err);
void card_blob_clear(card_blob *b);
JPKI_MUST_CHECK int card_blob_set(card_blob *b, const uint8_t *p, size_t len);
void card_key_clear(card_key *k);
/* Take ownership of pkey (an RSA-2048 private key) and prepare its
 * signing context. */
JPKI_MUST_CHECK int card_key_set(card_key *k, EVP_PKEY *pkey, jpki_err *err);
void card_clear_verified(jpki_card *card, int ap);
void card_token_build(uint8_t token[CARD_TOKEN_LEN], const char *serial,
		      time_t made);
void card_test_set_hooks(jpki_card *card, const card_hooks *hooks);
/* Test/fuzz only: mark the terminal as authenticated. */
void card_test_set_term_auth(jpki_card *card, bool on);

/* image.c */
JPKI_MUST_CHECK int card_image_parse(const uint8_t *img, size_t len,
				     jpki_card **out, jpki_err *err);

/* Content checks shared by PUT DATA and the image loader: 0 or
 * JPKI_ERR_PARSE / JPKI_ERR_KEY with a message. */
JPKI_MUST_CHECK int card_check_cert(const uint8_t *der, size_t len,
				    EVP_PKEY *key, jpki_err *err);
JPKI_MUST_CHECK int card_check_presence(const uint8_t *p, size_t len,
					jpki_err *err);
JPKI_MUST_CHECK int card_check_mynumber_ef(const uint8_t *p, size_t len,
					   jpki_err *err);
JPKI_MUST_CHECK int card_check_basic4_ef(const uint8_t *p, size_t len,
					 jpki_err *err);
/* The basic-4 EF (FF 20 { DF 21 .. DF 25 }), pointers into the input. */
typedef struct card_basic4_view {
	const uint8_t *name, *addr;
	size_t name_len, addr_len;
	char birth[9];
	char sex;
} card_basic4_view;
JPKI_MUST_CHECK int card_basic4_parse(const uint8_t *p, size_t len,
				      card_basic4_view *v);
JPKI_MUST_CHECK int card_check_pin_value(jpki_pin_kind kind, const uint8_t *p,
					 size_t len, jpki_err *err);
JPKI_MUST_CHECK int card_check_key(EVP_PKEY *pkey, jpki_err *err);
jpki_pin_kind card_pin_kind(const jpki_card *card, const card_pin *pin);

/* apdu.c */
JPKI_MUST_CHECK int card_cmd_parse(const uint8_t *apdu, size_t len,
				   card_cmd *out);

/* Command handlers: return a status word, data in rsp. */
uint16_t card_select(jpki_card *card, const card_cmd *c);
uint16_t card_read_binary(jpki_card *card, const card_cmd *c, card_rsp *rsp);
uint16_t card_verify(jpki_card *card, const card_cmd *c);
uint16_t card_change_ref(jpki_card *card, const card_cmd *c);
uint16_t card_sign(jpki_card *card, const card_cmd *c, card_rsp *rsp);
uint16_t card_get_challenge(jpki_card *card, const card_cmd *c, card_rsp *rsp);
uint16_t card_ext_auth(jpki_card *card, const card_cmd *c, bool chal_valid);
uint16_t card_perso_generate(jpki_card *card, const card_cmd *c);
uint16_t card_perso_get_pubkey(jpki_card *card, const card_cmd *c,
			       card_rsp *rsp);
uint16_t card_perso_put_data(jpki_card *card, const card_cmd *c);

/* Terminal authentication MAC: HMAC-SHA256(tkey, label || challenge). */
#define CARD_TAUTH_LABEL "openjpki terminal auth v1"
JPKI_MUST_CHECK int card_tauth_mac(const uint8_t tkey[JPKI_CARD_TKEY_LEN],
				   const uint8_t chal[JPKI_CARD_CHALLENGE_LEN],
				   uint8_t mac[32]);

/* EF lookup in the current AP. */
enum { EF_DATA = 1, EF_PIN = 2, EF_KEY = 3 };
typedef struct card_ef {
	int ap;
	uint16_t fid;
	int kind;
	uint8_t guard; /* PIN EF low byte guarding reads/use, 0 = free */
} card_ef;
const card_ef *card_ef_find(int ap, uint16_t fid);
/* Resolve P2 = 80 (current EF) or 80|SFI; NULL with *sw set on error. */
const card_ef *card_ef_ref(const jpki_card *card, uint8_t p2, uint16_t *sw);
card_pin *card_pin_of(jpki_card *card, int ap, uint16_t fid);
card_key *card_key_of(jpki_card *card, uint16_t fid);
card_blob *card_data_of(jpki_card *card, int ap, uint16_t fid);
bool card_guard_ok(jpki_card *card, const card_ef *ef);

/* Host side helpers (client.c): transmit and split the status word. */
JPKI_MUST_CHECK int card_host_xfer(const jpki_link *l, const uint8_t *cmd,
				   size_t n, uint8_t *resp, size_t cap,
				   size_t *data_len, uint16_t *sw,
				   jpki_err *err);
/* Build a command APDU (short, or extended when lc > 255 or le > 256;
 * le < 0 = no Le field).  Returns its length, 0 if cap is too small. */
size_t card_host_build(uint8_t *out, size_t cap, uint8_t cla, uint8_t ins,
		       uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc,
		       long le);
/* Map a status word to a jpki_rc with a message naming `what`. */
JPKI_MUST_CHECK int card_host_sw_fail(uint16_t sw, const char *what,
				      jpki_err *err);

#endif
