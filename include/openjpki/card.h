/* openjpki — the virtual My Number Card and the host code that talks to it.
 *
 * Card side: a jpki_card is one card (JPKI AP + 券面事項入力補助AP) that
 * answers ISO 7816 command APDUs with card_apdu().  Its persistent state
 * (keys, PINs and their retry counters, certificates, the terminal key) is
 * one image file, rewritten atomically (mode 0600) on every change that
 * must survive a crash; a retry counter is decremented and persisted
 * *before* the PIN is compared.  Private keys never leave the card object
 * or its image.  Byte-level behaviour: docs/card.md and
 * docs/reference/card-interface.md.
 *
 * Host side: functions that build APDUs and send them through a
 * jpki_transmit_fn, so the same code drives an in-process card, a card in
 * pcscd (PC/SC) or a real card:
 *   card_client_*  what any JPKI client does (SELECT, VERIFY, READ BINARY,
 *                  80 2A sign, CHANGE REFERENCE DATA);
 *   card_term_*    the counter terminal: authenticate with the per-card
 *                  terminal key, then personalise with proprietary CLA 80
 *                  commands (on-card key generation, PINs, certificates,
 *                  券面事項入力補助AP data). */
#ifndef OPENJPKI_CARD_H
#define OPENJPKI_CARD_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Constants                                                          */

#define JPKI_CARD_TKEY_LEN 32	/* terminal key (HMAC-SHA256 key) */
#define JPKI_CARD_SERIAL_LEN 16 /* ASCII, as in EF 0006 serialNumber */
#define JPKI_CARD_ATR_MAX 33
/* GET CHALLENGE length that arms terminal authentication */
#define JPKI_CARD_CHALLENGE_LEN 16
#define JPKI_CARD_SIG_LEN 256 /* RSA-2048 */
#define JPKI_CARD_DIGESTINFO_MAX 245
#define JPKI_CARD_CERT_MAX 8192 /* largest certificate an EF holds */
/* Largest command / response APDU card_apdu() handles (extended length). */
#define JPKI_CARD_CMD_MAX (4 + 3 + 65535 + 2)
#define JPKI_CARD_RESP_MAX (65536 + 2)
#define JPKI_CARD_MYNUMBER_LEN 12

/* Behaviour switches for what real cards leave open (spec §3.4, §4.3).
 * Stored in the image; the defaults (0) are the spec's recommendations. */
enum {
	/* Every SELECT of an AP clears that AP's PIN state (OpenSC >= 0.24
	 * logout semantics).  Default: only selecting a different AP does. */
	JPKI_CARD_OPT_CLEAR_ON_RESELECT = 1u << 0,
	/* Empty VERIFY on a verified PIN answers 90 00 (ISO/JICSAP) instead
	 * of 63 Cx.  Breaks a second OpenSC 0.23 process; off by default. */
	JPKI_CARD_OPT_ISO_EMPTY_VERIFY = 1u << 1,
	/* Empty VERIFY on a blocked PIN answers 69 84 instead of 63 C0
	 * (OpenSC 0.23 then fails to bind). */
	JPKI_CARD_OPT_BLOCKED_EMPTY_6984 = 1u << 2,
};
#define JPKI_CARD_OPT_ALL 0x7u

typedef enum jpki_card_power {
	JPKI_CARD_POWER_OFF = 0, /* vpcd 00 */
	JPKI_CARD_POWER_ON = 1,	 /* vpcd 01 */
	JPKI_CARD_RESET = 2,	 /* vpcd 02 */
} jpki_card_power;

/* Applications (P1 of the proprietary PUT DATA, card_client_select). */
typedef enum jpki_card_ap {
	/* 公的個人認証AP, D3 92 F0 00 26 01 00 00 00 01 */
	JPKI_AP_JPKI = 1,
	/* 券面事項入力補助AP, D3 92 10 00 31 00 01 01 04 08 */
	JPKI_AP_CARDINFO = 2,
} jpki_card_ap;

/* The two key pairs of the JPKI AP (key EF FIDs). */
typedef enum jpki_card_key {
	JPKI_KEY_AUTH = 0x17, /* EF 0017, guarded by PIN 0018 */
	JPKI_KEY_SIGN = 0x1A, /* EF 001A, guarded by PIN 001B */
} jpki_card_key;

/* PIN EFs (low byte of the FID; CARDINFO lives in the 券面事項入力補助AP). */
typedef enum jpki_card_pin {
	JPKI_CPIN_AUTH = 0x18,	   /* 4 digits, 3 tries */
	JPKI_CPIN_SIGN = 0x1B,	   /* 6-16 [A-Z0-9] mixed, 5 tries */
	JPKI_CPIN_CARDINFO = 0x11, /* 4 digits, 3 tries */
} jpki_card_pin;

/* Certificate EFs of the JPKI AP. */
typedef enum jpki_card_cert {
	JPKI_CCERT_SIGN = 0x01,	   /* EF 0001, readable after PIN 001B */
	JPKI_CCERT_SIGN_CA = 0x02, /* EF 0002 */
	JPKI_CCERT_AUTH = 0x0A,	   /* EF 000A */
	JPKI_CCERT_AUTH_CA = 0x0B, /* EF 000B */
} jpki_card_cert;

/* ------------------------------------------------------------------ */
/* Card side                                                          */

/* One card; not thread-safe (one APDU at a time, as on a real card). */
typedef struct jpki_card jpki_card;

typedef struct jpki_card_params {
	unsigned options; /* JPKI_CARD_OPT_* */
	/* ATR; atr_len 0 = the JPKI ATR 3B E0 00 FF 81 31 FE 45 14. */
	uint8_t atr[JPKI_CARD_ATR_MAX];
	size_t atr_len;
	/* Card serial (EF 0006 serialNumber); NULL = 16 random hex digits.
	 * At most 16 printable ASCII characters. */
	const char *serial;
	/* Terminal key; NULL = 32 random bytes (returned in tkey_out). */
	const uint8_t *tkey;
	/* Manufacturing time written to EF 0006 utcTime; 0 = unknown. */
	time_t made;
} jpki_card_params;

/* Create a blank card (no keys, PINs unset, no certificates) in memory.
 * params may be NULL (all defaults).  tkey_out (may be NULL) receives the
 * terminal key, which the counter must keep to personalise the card.  The
 * card is not bound to a file: call card_save() to give it one.  Caller
 * frees with card_free(). */
JPKI_MUST_CHECK int card_create(const jpki_card_params *params, jpki_card **out,
				uint8_t tkey_out[JPKI_CARD_TKEY_LEN],
				jpki_err *err);

/* Load an image file and bind the card to it: every persistent change is
 * written back atomically.  Takes an exclusive advisory lock on
 * "<path>.lock" for the card's lifetime (JPKI_ERR_STATE if another process
 * holds it).  Refuses foreign, truncated, corrupt (JPKI_ERR_INTEGRITY),
 * newer-version (JPKI_ERR_SCHEMA) or inconsistent images; nothing is half
 * loaded and the file is never modified by a failed load. */
JPKI_MUST_CHECK int card_load(const char *path, jpki_card **out, jpki_err *err);

/* Parse an image from memory; the card is not bound to any file (changes
 * stay in memory).  Used by tests and fuzzers. */
JPKI_MUST_CHECK int card_load_mem(const uint8_t *img, size_t len,
				  jpki_card **out, jpki_err *err);

/* Write the card to a new image file at path (JPKI_ERR_EXISTS if there is
 * one) and bind the card to it, as card_load() does.  A card already bound
 * to a file is refused (JPKI_ERR_STATE). */
JPKI_MUST_CHECK int card_save(jpki_card *card, const char *path, jpki_err *err);

/* Serialise the image into *out (caller frees with
 * jpki_free_secret(*out, *out_len): it holds private keys). */
JPKI_MUST_CHECK int card_image(const jpki_card *card, uint8_t **out,
			       size_t *out_len, jpki_err *err);

/* Free the card, zeroing keys and PINs, and release its file lock.  NULL
 * is fine. */
void card_free(jpki_card *card);

/* The ATR (valid while the card lives). */
const uint8_t *card_atr(const jpki_card *card, size_t *len);

/* EF 0006 serialNumber as a NUL-terminated string. */
const char *card_serial(const jpki_card *card);

/* Power off / power on / warm reset: clears the selected AP and EF, every
 * PIN's verified flag, the terminal authentication and any challenge.
 * Retry counters are persistent and stay. */
void card_power(jpki_card *card, jpki_card_power event);

/* Behaviour switches (JPKI_CARD_OPT_*): read, and set (persisted). */
unsigned card_options(const jpki_card *card);
JPKI_MUST_CHECK int card_set_options(jpki_card *card, unsigned options,
				     jpki_err *err);

/* Process one command APDU (cmd_len 4..JPKI_CARD_CMD_MAX) and write the
 * response APDU (data + SW1 SW2) into resp.  Returns 0 whenever a response
 * was produced, whatever its status word: internal failures (out of
 * memory, the image could not be persisted) are answered 6F 00 / 65 81.
 * Negative only for misuse: NULL arguments, resp_cap < 2, or a response
 * longer than resp_cap (JPKI_ERR_RANGE; size resp with
 * JPKI_CARD_RESP_MAX to be safe).  *resp_len untouched on failure. */
JPKI_MUST_CHECK int card_apdu(jpki_card *card, const uint8_t *cmd,
			      size_t cmd_len, uint8_t *resp, size_t resp_cap,
			      size_t *resp_len);

/* ------------------------------------------------------------------ */
/* Host side                                                          */

/* Send one command APDU and receive the response APDU (data + SW1 SW2).
 * 0 when a response arrived (any status word), a negative jpki_rc when
 * the transport failed.  transport.h provides implementations. */
typedef int (*jpki_transmit_fn)(void *ctx, const uint8_t *cmd, size_t n,
				uint8_t *resp, size_t cap, size_t *rlen);

typedef struct jpki_link {
	jpki_transmit_fn transmit;
	void *ctx;
} jpki_link;

/* A jpki_transmit_fn over a jpki_card in this process (ctx = the card):
 * card_apdu() and nothing else.  For tests, fuzzers and benchmarks; use
 * transport_inproc_* for a card image file. */
JPKI_MUST_CHECK int card_transmit(void *card, const uint8_t *cmd, size_t n,
				  uint8_t *resp, size_t cap, size_t *rlen);

/* Status word of the last exchange is reported in err->msg; host functions
 * map them: 63 Cx -> JPKI_ERR_PIN_WRONG, 69 83/69 84 -> _PIN_BLOCKED,
 * 69 82 -> _AUTH, 6A 82 -> _NOT_FOUND, anything else -> _CARD. */

/* SELECT an application by AID (00 A4 04 0C). */
JPKI_MUST_CHECK int card_client_select(const jpki_link *l, jpki_card_ap ap,
				       jpki_err *err);

/* SELECT the PIN EF of `pin` and VERIFY it (the JPKI AP, or the
 * 券面事項入力補助AP for JPKI_CPIN_CARDINFO, must be selected).  The PIN is
 * sent exactly as given.  On JPKI_ERR_PIN_WRONG *tries_left (may be NULL)
 * receives the remaining tries; on success it receives the maximum. */
JPKI_MUST_CHECK int card_client_verify(const jpki_link *l, jpki_card_pin pin,
				       const char *value, int *tries_left,
				       jpki_err *err);

/* SELECT the PIN EF and send an empty VERIFY: remaining tries (0 =
 * blocked). */
JPKI_MUST_CHECK int card_client_retries(const jpki_link *l, jpki_card_pin pin,
					int *tries_left, jpki_err *err);

/* VERIFY `old` then CHANGE REFERENCE DATA (00 24 01 80) to `new_pin`. */
JPKI_MUST_CHECK int card_client_change_pin(const jpki_link *l,
					   jpki_card_pin pin, const char *old,
					   const char *new_pin, jpki_err *err);

/* SELECT a certificate EF of the JPKI AP and read the DER certificate in
 * 256-byte READ BINARY chunks (length from its 30 82 HH LL header).
 * *der is malloc'ed (caller frees).  JPKI_ERR_NOT_FOUND if the card holds
 * no such certificate, JPKI_ERR_AUTH for EF 0001 before the sign PIN. */
JPKI_MUST_CHECK int card_client_read_cert(const jpki_link *l,
					  jpki_card_cert which, uint8_t **der,
					  size_t *der_len, jpki_err *err);

/* SELECT EF `fid` in the current AP and read it whole (chunks of 256 until
 * a short answer or 6B 00), at most `max` bytes.  *out is malloc'ed. */
JPKI_MUST_CHECK int card_client_read_ef(const jpki_link *l, uint16_t fid,
					size_t max, uint8_t **out,
					size_t *out_len, jpki_err *err);

/* SELECT the key EF and sign a DigestInfo (1..245 bytes) with 80 2A 00 80.
 * The PIN guarding the key must have been verified.  sig gets exactly 256
 * bytes. */
JPKI_MUST_CHECK int card_client_sign(const jpki_link *l, jpki_card_key key,
				     const uint8_t *digestinfo, size_t n,
				     uint8_t sig[JPKI_CARD_SIG_LEN],
				     jpki_err *err);

/* Build the DER DigestInfo for a SHA-256 hash (51 bytes). */
#define JPKI_DIGESTINFO_SHA256_LEN 51
void card_digestinfo_sha256(const uint8_t hash[32],
			    uint8_t out[JPKI_DIGESTINFO_SHA256_LEN]);

/* 券面事項入力補助AP data (the 4 basic items), UTF-8 / ASCII strings. */
typedef struct jpki_card_basic4 {
	const char *name;    /* 氏名, UTF-8, 1..255 bytes */
	const char *address; /* 住所, UTF-8, 1..255 bytes */
	const char *birth;   /* 生年月日 "YYYYMMDD" */
	char sex;	     /* ISO 5218: '1' male, '2' female, '9' n/a */
} jpki_card_basic4;

/* After VERIFY of the 券面事項入力補助 PIN: the 12-digit My Number (EF
 * 0001) into out[13]; the basic-4 EF 0002 parsed into strings (caller
 * frees each with free()). */
JPKI_MUST_CHECK int card_client_read_mynumber(const jpki_link *l, char out[13],
					      jpki_err *err);
JPKI_MUST_CHECK int card_client_read_basic4(const jpki_link *l, char **name,
					    char **address, char birth[9],
					    char *sex, jpki_err *err);

/* --- counter terminal (personalisation) --------------------------- */

/* Authenticate the terminal: GET CHALLENGE (16 bytes), then EXTERNAL
 * AUTHENTICATE (00 82 00 01) with HMAC-SHA256(tkey, "openjpki terminal
 * auth v1" || challenge).  Valid until power-off/reset.  A wrong MAC
 * costs one of 15 persistent tries (JPKI_ERR_AUTH; blocked ->
 * JPKI_ERR_PIN_BLOCKED). */
JPKI_MUST_CHECK int card_term_auth(const jpki_link *l,
				   const uint8_t tkey[JPKI_CARD_TKEY_LEN],
				   jpki_err *err);

/* Have the card generate a fresh RSA-2048 key pair (80 46 00 KK) and
 * return its public key (80 CA 00 KK, SubjectPublicKeyInfo).  The
 * certificate EF of the old key is erased.  *pub: caller frees with
 * EVP_PKEY_free(). */
JPKI_MUST_CHECK int card_term_generate_key(const jpki_link *l,
					   jpki_card_key key, EVP_PKEY **pub,
					   jpki_err *err);
/* Public key of an existing key pair (JPKI_ERR_NOT_FOUND if none). */
JPKI_MUST_CHECK int card_term_read_pubkey(const jpki_link *l, jpki_card_key key,
					  EVP_PKEY **pub, jpki_err *err);

/* Set (or reset, at the counter) a PIN: checked and normalised with
 * rules_pin_check(); the retry counter returns to its maximum. */
JPKI_MUST_CHECK int card_term_set_pin(const jpki_link *l, jpki_card_pin pin,
				      const char *value, jpki_err *err);

/* Write a DER certificate to its EF (der == NULL / len 0 erases it).  The
 * card refuses a SIGN/AUTH certificate whose public key is not its own. */
JPKI_MUST_CHECK int card_term_write_cert(const jpki_link *l,
					 jpki_card_cert which,
					 const uint8_t *der, size_t len,
					 jpki_err *err);

/* EF 0008: 8F 8F 00 with both certificates, 00 8F 00 without the
 * signature certificate (holders under 15). */
JPKI_MUST_CHECK int card_term_write_presence(const jpki_link *l, bool sign_cert,
					     bool auth_cert, jpki_err *err);

/* 券面事項入力補助AP: My Number (12 digits) and the basic-4 items. */
JPKI_MUST_CHECK int card_term_write_cardinfo(const jpki_link *l,
					     const char *my_number,
					     const jpki_card_basic4 *b4,
					     jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
