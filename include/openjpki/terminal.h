/* openjpki — the counter terminal: personalising a resident's card.
 *
 * What the municipal counter does to a new (or renewed) card, over any
 * jpki_link (an image in this process, PC/SC, a card in memory): terminal
 * authentication with the card's terminal key, the card recorded in the
 * store, key pairs generated on the card, certificates issued for them
 * (ca_issue) and written with both roots, EF 0008, the PINs the citizen
 * chose and, optionally, the 券面事項入力補助AP data.  Used by `jpki card
 * personalize` and by jpkid's virtual-card issuance.  PINs are read by the
 * caller and passed in; nothing here prompts or prints. */
#ifndef OPENJPKI_TERMINAL_H
#define OPENJPKI_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/ca.h"
#include "openjpki/card.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Store meta key of a card's terminal key: "card/tkey/<serial>". */
#define TERMINAL_TKEY_META_PREFIX "card/tkey/"

/* Record the terminal key of a new card in the CA's store, with an audit
 * record (action "card.create"), in one transaction.  JPKI_ERR_EXISTS when
 * the store already holds a card with that serial. */
JPKI_MUST_CHECK int terminal_tkey_record(jpki_ca *ca, const char *serial,
					 const uint8_t tkey[JPKI_CARD_TKEY_LEN],
					 time_t now, const char *actor,
					 jpki_err *err);
/* The terminal key of card `serial` from the store (JPKI_ERR_NOT_FOUND when
 * none was recorded).  tkey is untouched on failure. */
JPKI_MUST_CHECK int terminal_tkey_get(jpki_ca *ca, const char *serial,
				      uint8_t tkey[JPKI_CARD_TKEY_LEN],
				      jpki_err *err);

/* Finds a card's terminal key (the CLI also looks beside the image).  0 and
 * tkey filled, or a jpki_rc with the message. */
typedef int (*terminal_tkey_fn)(void *ctx, jpki_ca *ca, const char *serial,
				uint8_t tkey[JPKI_CARD_TKEY_LEN],
				jpki_err *err);

typedef struct terminal_perso_req {
	/* the resident; 0 with `renew` = the resident the card is
	 * recorded for */
	int64_t resident_id;
	/* PINs as the citizen gave them: checked and normalised with
	 * rules_pin_check() before anything reaches the card.  sign_pin may
	 * be NULL (no signature certificate); cardinfo_pin NULL = auth_pin. */
	const char *auth_pin;
	const char *sign_pin;
	const char *cardinfo_pin;
	bool no_sign;	       /* the citizen declines a signature cert */
	const char *my_number; /* 12 digits: write 券面事項入力補助AP data */
	/* Renewal: new key pairs whatever the store holds for this card, and
	 * ca_issue with renewal = true (the current certificates are
	 * superseded).  Without it a rerun reuses certificates already
	 * issued for the card's keys (an interrupted personalisation). */
	bool renew;
	terminal_tkey_fn tkey_fn; /* NULL = terminal_tkey_get */
	void *tkey_ctx;
	const char *actor; /* audit actor; NULL = "terminal" */
	time_t now;
} terminal_perso_req;

/* What personalisation did. */
typedef struct terminal_perso_out {
	char serial[JPKI_CARD_SERIAL_LEN + 1];
	int64_t resident_id;
	X509 *cert[3]; /* [JPKI_CERT_SIGN], [JPKI_CERT_AUTH]; NULL = none */
	char cert_serial[3][STORE_SERIAL_HEX_MAX];
	jpki_validity validity[3]; /* of newly issued certificates */
	bool reused[3];		   /* certificate issued by an earlier run */
	char superseded[2][STORE_SERIAL_HEX_MAX]; /* by a renewal */
	/* NULL when a signature certificate is on the card, else why not */
	const char *no_sign_why;
	char no_sign_msg[JPKI_ERR_MSG_MAX];
	bool cardinfo; /* 券面事項入力補助AP data written */
	/* the failure was a missing signature PIN for an eligible resident
	 * (the caller words the remedy: a flag, a form field) */
	bool sign_pin_needed;
} terminal_perso_out;

/* Personalise the card behind `l` for the resident (see the file comment).
 * On failure err->msg reads "personalize: <step>: <why>"; what was done
 * before the failure stays done and a rerun completes it.  *out is
 * filled on success and partly on failure (serial, no_sign_why,
 * sign_pin_needed); release it with terminal_perso_out_clear() in both
 * cases. */
JPKI_MUST_CHECK int terminal_personalize(jpki_ca *ca, const jpki_link *l,
					 const terminal_perso_req *req,
					 terminal_perso_out *out,
					 jpki_err *err);
void terminal_perso_out_clear(terminal_perso_out *out);

/* EF 0006 serialNumber of the card behind `l` (selects the JPKI AP). */
JPKI_MUST_CHECK int terminal_card_serial(const jpki_link *l,
					 char serial[JPKI_CARD_SERIAL_LEN + 1],
					 jpki_err *err);

/* Virtual cards the service keeps (kept.c): the image of card `serial`
 * stored in the CA's store (setting "card/kept/<serial>"), replaced on
 * every put.  get: JPKI_ERR_NOT_FOUND when the service keeps no such
 * card; *img malloc'd (free with jpki_free_secret: it holds keys). */
#define TERMINAL_KEPT_META_PREFIX "card/kept/"
JPKI_MUST_CHECK int terminal_kept_put(jpki_ca *ca, const char *serial,
				      const uint8_t *img, size_t len,
				      jpki_err *err);
JPKI_MUST_CHECK int terminal_kept_get(jpki_ca *ca, const char *serial,
				      uint8_t **img, size_t *len,
				      jpki_err *err);
/* ------------------------------------------------------------------ */
/* The counter PC's card helper (`jpki terminal serve`, serve.c) and its
 * pairing with jpkid (docs/decisions.md, "The card at the counter").    */

/* Terminal authentication without the terminal key at the counter PC:
 * jpkid keeps the key, the helper relays the card's challenge.  MAC =
 * HMAC-SHA256(tkey, "openjpki terminal auth v1" || challenge), the MAC
 * the card expects in EXTERNAL AUTHENTICATE.  JPKI_ERR_NOT_FOUND when
 * the store keeps no terminal key for `serial`. */
#define TERMINAL_TAUTH_CHAL_LEN 16
#define TERMINAL_TAUTH_MAC_LEN 32
JPKI_MUST_CHECK int
terminal_tauth_mac(jpki_ca *ca, const char *serial,
		   const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
		   uint8_t mac[TERMINAL_TAUTH_MAC_LEN], jpki_err *err);

/* The MAC for a challenge, from whoever keeps the terminal key. */
typedef int (*terminal_mac_fn)(void *ctx, const char *serial,
			       const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
			       uint8_t mac[TERMINAL_TAUTH_MAC_LEN],
			       jpki_err *err);
/* GET CHALLENGE, the MAC from mac_fn, EXTERNAL AUTHENTICATE (the JPKI AP
 * selected): card_term_auth with the key kept elsewhere. */
JPKI_MUST_CHECK int terminal_auth_relay(const jpki_link *l, const char *serial,
					terminal_mac_fn mac_fn, void *ctx,
					jpki_err *err);

/* Opens the card in the reader (the CLI: PC/SC); close releases it (and
 * resets the card, so that no PIN stays verified). */
typedef int (*terminal_open_fn)(void *ctx, jpki_link *l, char *reader,
				size_t reader_cap, jpki_err *err);
typedef void (*terminal_close_fn)(void *ctx);

#define TERMINAL_ORIGIN_MAX 127
#define TERMINAL_TOKEN_LEN 64 /* hex of 32 random bytes */
#define TERMINAL_PAIR_CODE_LEN 8

/* What redeeming a pairing code at jpkid gives the helper. */
typedef struct terminal_pairing {
	char jpkid_host[64]; /* numeric loopback address */
	unsigned jpkid_port;
	char origin[TERMINAL_ORIGIN_MAX + 1]; /* the page's origin */
	char token[TERMINAL_TOKEN_LEN + 1];
	char operator_name[64];
	uint8_t *root_der[3]; /* [JPKI_CERT_SIGN], [JPKI_CERT_AUTH] */
	size_t root_len[3];
} terminal_pairing;

/* Redeem `code` at jpkid (`jpkid_url` "http://127.0.0.1:PORT", loopback
 * only): POST /api/v1/terminal/redeem.  Release with
 * terminal_pairing_clear(). */
JPKI_MUST_CHECK int terminal_pair_redeem(const char *jpkid_url,
					 const char *code,
					 terminal_pairing *out, jpki_err *err);
void terminal_pairing_clear(terminal_pairing *p);

typedef struct terminal_serve_opts {
	unsigned port; /* 0 = a free port (terminal_serve_port tells it) */
	const terminal_pairing *pairing;
	terminal_open_fn open;
	terminal_close_fn close;
	void *card_ctx;
} terminal_serve_opts;

typedef struct terminal_server terminal_server;
/* Listen on 127.0.0.1 and answer the paired page (serve.c's comment). */
JPKI_MUST_CHECK int terminal_serve_start(const terminal_serve_opts *opts,
					 terminal_server **out, jpki_err *err);
unsigned terminal_serve_port(const terminal_server *t);
void terminal_serve_stop(terminal_server *t); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
