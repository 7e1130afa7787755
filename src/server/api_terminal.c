/* Pairing the counter's card helper (`jpki terminal serve`) with the
 * clerk's page, and terminal authentication for it
 * (docs/decisions.md, "The card at the counter").
 *
 *   POST /api/v1/terminal/pair      clerk, CSRF: a one-time code (8
 *        digits, 5 min) and the pairing token, bound to the page's
 *        Origin and the operator
 *   POST /api/v1/terminal/redeem    {code}: no session; the helper gets
 *        the origin, the token and both roots (single use)
 *   POST /api/v1/terminal/tauth     {token, card, challenge, app}: the
 *        MAC over the card's GET CHALLENGE with the card's terminal key,
 *        which stays here; only for the card of an application at its
 *        card step (app_allows); audited as the pairing's operator; the
 *        answer names the application's kind, state and PINs
 *
 * Pairings live in memory (a restart pairs again), at most PAIR_MAX; a
 * redeemed pairing lasts PAIR_TTL.  Wrong codes count: after BAD_MAX
 * every code not yet redeemed is dropped (8 digits, so guessing one is
 * out of reach).  PINs never come here. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "server_int.h"

#define PAIR_MAX 32
#define CODE_TTL 300
#define PAIR_TTL (12 * 3600)
#define BAD_MAX 20

typedef struct pairing {
	bool used;
	bool redeemed;
	char code[TERMINAL_PAIR_CODE_LEN + 1];
	char token[TERMINAL_TOKEN_LEN + 1];
	char origin[TERMINAL_ORIGIN_MAX + 1];
	char actor[64];
	time_t expires;
} pairing;
_Static_assert(sizeof(((pairing *)0)->actor) == 64, "copied whole below");

static pthread_mutex_t pair_mu = PTHREAD_MUTEX_INITIALIZER;
static pairing pairs[PAIR_MAX];
static unsigned bad_codes;

static void sweep(time_t now)
{
	for (int i = 0; i < PAIR_MAX; i++)
		if (pairs[i].used && pairs[i].expires <= now)
			OPENSSL_cleanse(&pairs[i], sizeof(pairs[i]));
}

/* POST /terminal/pair: r->arg2 holds the request's origin. */
void api_terminal_pair(srv_worker *w, srv_req *r)
{
	uint8_t rnd[32], c[4];
	pairing p;
	time_t now = srv_time(w->s);
	if (r->arg2[0] == '\0' || !srv_rp_origin_ok(r->arg2)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_origin",
				"the page's origin (Origin header) is missing "
				"or malformed");
		return;
	}
	memset(&p, 0, sizeof(p));
	if (jpki_random(rnd, sizeof(rnd), NULL) != 0 ||
	    jpki_random(c, sizeof(c), NULL) != 0) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"no random bytes");
		return;
	}
	uint32_t v = ((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
		      (uint32_t)c[2] << 8 | c[3]) %
		     100000000u;
	snprintf(p.code, sizeof(p.code), "%08u", v);
	jpki_hex(rnd, sizeof(rnd), p.token);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (jpki_strlcpy(p.origin, r->arg2, sizeof(p.origin)) != 0 ||
	    jpki_strlcpy(p.actor, r->actor, sizeof(p.actor)) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_origin",
				"the page's origin is too long");
		return;
	}
	p.expires = now + CODE_TTL;
	p.used = true;
	int slot = -1;
	pthread_mutex_lock(&pair_mu);
	sweep(now);
	for (int i = 0; i < PAIR_MAX && slot < 0; i++)
		if (!pairs[i].used)
			slot = i;
	for (int i = 0; slot >= 0 && i < PAIR_MAX; i++)
		if (pairs[i].used && !pairs[i].redeemed &&
		    strcmp(pairs[i].code, p.code) == 0)
			slot = -2; /* the same code twice: ask again */
	if (slot >= 0)
		pairs[slot] = p;
	pthread_mutex_unlock(&pair_mu);
	if (slot < 0) {
		OPENSSL_cleanse(&p, sizeof(p));
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many helpers are being paired; try again "
				"in a few minutes");
		return;
	}
	srv_reply_json(r, MHD_HTTP_CREATED,
		       json_pack("{s:s,s:s,s:s,s:i}", "code", p.code, "token",
				 p.token, "origin", p.origin, "expires_in",
				 CODE_TTL));
	OPENSSL_cleanse(&p, sizeof(p));
}

/* POST /terminal/redeem {code} */
void api_terminal_redeem(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"code", JT_STRING, true, TERMINAL_PAIR_CODE_LEN}};
	pairing p;
	time_t now = srv_time(w->s);
	bool found = false;
	json_t *b = srv_json_body(r, f, 1);
	if (b == NULL)
		return;
	const char *code = srv_jstr(b, "code");
	memset(&p, 0, sizeof(p));
	pthread_mutex_lock(&pair_mu);
	sweep(now);
	for (int i = 0; i < PAIR_MAX && !found; i++) {
		pairing *q = &pairs[i];
		if (q->used && !q->redeemed &&
		    strlen(code) == TERMINAL_PAIR_CODE_LEN &&
		    CRYPTO_memcmp(q->code, code, TERMINAL_PAIR_CODE_LEN) == 0) {
			q->redeemed = true;
			q->expires = now + PAIR_TTL;
			p = *q;
			found = true;
		}
	}
	if (!found && ++bad_codes >= BAD_MAX) {
		for (int i = 0; i < PAIR_MAX; i++)
			if (pairs[i].used && !pairs[i].redeemed)
				OPENSSL_cleanse(&pairs[i], sizeof(pairs[i]));
		bad_codes = 0;
	}
	pthread_mutex_unlock(&pair_mu);
	json_decref(b);
	if (!found) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "code_unknown",
				"unknown, expired or used pairing code: ask "
				"the page for a new one");
		return;
	}
	unsigned char *d[3] = {NULL, NULL, NULL};
	int n[3] = {0, 0, 0};
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
		n[k] = i2d_X509(w->s->root_cert[k], &d[k]);
	json_t *res = NULL;
	if (n[JPKI_CERT_SIGN] > 0 && n[JPKI_CERT_AUTH] > 0)
		res = json_pack(
		    "{s:s,s:s,s:s,s:i,s:{s:o,s:o}}", "origin", p.origin,
		    "token", p.token, "operator", p.actor, "expires_in",
		    PAIR_TTL, "roots", "sign",
		    srv_cert_pem(d[JPKI_CERT_SIGN], (size_t)n[JPKI_CERT_SIGN]),
		    "auth",
		    srv_cert_pem(d[JPKI_CERT_AUTH], (size_t)n[JPKI_CERT_AUTH]));
	OPENSSL_free(d[JPKI_CERT_SIGN]);
	OPENSSL_free(d[JPKI_CERT_AUTH]);
	OPENSSL_cleanse(&p, sizeof(p));
	if (res == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"encoding the roots");
		return;
	}
	srv_reply_json(r, MHD_HTTP_OK, res);
}

#define WRITE_GRACE 600 /* s after completion to write the certificates */

/* Whether application `app_id` lets the counter work on card `serial`
 * now: it names the card and is at its card step (a new or reissued card
 * at the counter; a held card's renewal, 後日発行 or PIN reset approved),
 * or it issued certificates at most WRITE_GRACE seconds ago (writing
 * them onto the card). */
static int app_allows(jpki_ca *ca, int64_t app_id, const char *serial,
		      time_t now, store_app *a, jpki_err *err)
{
	int rc = store_app_get(ca_store(ca), app_id, a, err);
	if (rc != 0)
		return rc;
	bool new_card =
	    a->kind == STORE_APP_NEW_CARD || a->kind == STORE_APP_REISSUE;
	bool held = a->kind == STORE_APP_RENEWAL ||
		    a->kind == STORE_APP_ISSUE ||
		    a->kind == STORE_APP_PIN_RESET;
	const char *card = new_card ? a->new_card_serial : a->card_serial;
	if ((!new_card && !held) || strcmp(card, serial) != 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "application %lld (%s) does not concern card "
				 "%s at the counter",
				 (long long)app_id,
				 registry_app_kind_name(a->kind), serial);
	if ((new_card && a->state == STORE_APP_CARD_READY) ||
	    (held && a->state == STORE_APP_APPROVED) ||
	    (a->state == STORE_APP_COMPLETED &&
	     a->kind != STORE_APP_PIN_RESET &&
	     a->updated_at + WRITE_GRACE >= now))
		return 0;
	return jpki_fail(err, JPKI_ERR_STATE,
			 "application %lld is %s: the card is worked on only "
			 "at its card step",
			 (long long)app_id, registry_app_state_name(a->state));
}

static int audit(jpki_ca *ca, time_t now, const char *actor, const char *detail,
		 jpki_err *err)
{
	store *st = ca_store(ca);
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = store_audit_append(st, now, actor, "card.terminal-auth",
				     detail, err)) != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

/* POST /terminal/tauth {token, card, challenge (32 hex)} */
void api_terminal_tauth(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"token", JT_STRING, true, TERMINAL_TOKEN_LEN},
	    {"card", JT_STRING, true, JPKI_CARD_SERIAL_LEN},
	    {"challenge", JT_STRING, true, 2 * TERMINAL_TAUTH_CHAL_LEN},
	    {"app", JT_INT, true, 0}};
	uint8_t chal[TERMINAL_TAUTH_CHAL_LEN], mac[TERMINAL_TAUTH_MAC_LEN];
	char actor[64] = "", hex[2 * TERMINAL_TAUTH_MAC_LEN + 1], detail[128];
	jpki_err err = {0};
	size_t got = 0;
	time_t now = srv_time(w->s);
	int rc;
	store_app a;
	json_t *b = srv_json_body(r, f, 4);
	if (b == NULL)
		return;
	int64_t app_id = (int64_t)json_integer_value(json_object_get(b, "app"));
	const char *tok = srv_jstr(b, "token"), *card = srv_jstr(b, "card");
	bool ok = false;
	pthread_mutex_lock(&pair_mu);
	sweep(now);
	for (int i = 0; i < PAIR_MAX; i++)
		if (pairs[i].used && pairs[i].redeemed &&
		    strlen(tok) == TERMINAL_TOKEN_LEN &&
		    CRYPTO_memcmp(pairs[i].token, tok, TERMINAL_TOKEN_LEN) ==
			0) {
			ok = true;
			memcpy(actor, pairs[i].actor,
			       sizeof(actor)); /* same size */
		}
	pthread_mutex_unlock(&pair_mu);
	if (!ok) {
		json_decref(b);
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "token",
				"unknown or expired pairing token: pair the "
				"helper again");
		return;
	}
	if (jpki_unhex(srv_jstr(b, "challenge"), chal, sizeof(chal), &got,
		       &err) != 0 ||
	    got != sizeof(chal)) {
		json_decref(b);
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"challenge: 32 hex digits");
		return;
	}
	snprintf(detail, sizeof(detail),
		 "card %s, application %lld: terminal authentication through "
		 "the counter's helper",
		 card, (long long)app_id);
	if ((rc = app_allows(w->ca, app_id, card, now, &a, &err)) != 0 ||
	    (rc = terminal_tauth_mac(w->ca, card, chal, mac, &err)) != 0 ||
	    (rc = audit(w->ca, now, actor, detail, &err)) != 0) {
		json_decref(b);
		OPENSSL_cleanse(mac, sizeof(mac));
		srv_reply_rc(r, rc, &err);
		return;
	}
	json_decref(b);
	jpki_hex(mac, sizeof(mac), hex);
	OPENSSL_cleanse(mac, sizeof(mac));
	srv_reply_json(r, MHD_HTTP_OK,
		       json_pack("{s:s,s:s,s:s,s:i}", "mac", hex, "kind",
				 registry_app_kind_name(a.kind), "state",
				 registry_app_state_name(a.state), "pins",
				 a.pins));
	OPENSSL_cleanse(hex, sizeof(hex));
}
