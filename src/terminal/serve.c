/* `jpki terminal serve`: the card helper on the counter's PC (terminal.h).
 *
 * It listens on 127.0.0.1 only and answers one page: the jpkid origin it
 * was paired with (a one-time code redeemed at jpkid gives the origin, a
 * token and the two roots).  Every request must carry that Origin and the
 * token (Authorization: Bearer); any other origin gets 403 without CORS
 * headers, so its page cannot read anything.  Chromium's Private Network
 * Access preflight (OPTIONS, Access-Control-Request-Private-Network) is
 * answered for the paired origin alone.  The Host header must name the
 * loopback address (no DNS rebinding).
 *
 *   GET  /v1/status     reader, card, serial, PIN retry counters, the
 *                       authentication certificate's serial
 *   Every POST names the application ("app"): jpkid gives the MAC for
 *   terminal authentication only for the card of an application at its
 *   card step, and says its kind (and, for a PIN reset, which PINs).
 *   POST /v1/prepare    {app, card, resident, challenge, kinds, auth_pin,
 *                        sign_pin, cardinfo_pin}: terminal
 *                       authentication (MAC from jpkid), key pairs on the
 *                       card, PINs set (a new card: all; 後日発行: the new
 *                       key's) or, for a renewal, verified; proofs of
 *                       possession
 *                       (openjpki-pop-v1) -> {card, sign:{spki,pop}, auth}
 *   POST /v1/write      {app, card, sign, auth (PEM)}: certificates and
 *                       roots
 *   POST /v1/pin-reset  {app, card, auth_pin, sign_pin, cardinfo_pin}:
 *                       unblock and set the PINs the application names
 *
 * PINs come from the page to here and go to the card only; jpkid never
 * sees them.  One request at a time (one MHD thread): the card is opened
 * for each request and released (reset) after it, so no PIN stays
 * verified. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "openjpki/rules.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"

#define BODY_MAX (64 * 1024)
#define RESP_MAX (256 * 1024)
#define PIN_BUF (JPKI_PIN_MAX + 1)
#define IO_TIMEOUT_S 10
#define READER_MAX 128

struct terminal_server {
	struct MHD_Daemon *mhd;
	unsigned port;
	terminal_serve_opts o;
	const terminal_pairing *p;
	char host_ip[40], host_name[40];
};

typedef struct conn_st {
	char *body;
	size_t len;
	bool too_big;
} conn_st;

/* ------------------------------------------------------------------ */
/* A small HTTP client for jpkid on the loopback                       */

static int parse_url(const char *url, char host[64], unsigned *port,
		     jpki_err *err)
{
	const char *h = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
	const char *colon = h != NULL ? strrchr(h, ':') : NULL;
	struct in_addr a;
	char *end = NULL;
	if (h == NULL || colon == NULL || (size_t)(colon - h) >= 64)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "--jpkid: http://127.0.0.1:PORT (got %s)",
				 url);
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	long v = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || (*end != '\0' && strcmp(end, "/") != 0) ||
	    v < 1 || v > 65535)
		return jpki_fail(err, JPKI_ERR_INVAL, "--jpkid: bad port in %s",
				 url);
	*port = (unsigned)v;
	if (strcmp(host, "localhost") == 0)
		memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
	if (inet_pton(AF_INET, host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		return jpki_fail(err, JPKI_ERR_POLICY,
				 "--jpkid: only a loopback address "
				 "(127.0.0.1) is allowed, not %s",
				 host);
	return 0;
}

/* POST `body` (JSON) to jpkid; *status and the JSON answer. */
static int jpkid_post(const char *host, unsigned port, const char *path,
		      json_t *body, int *status, json_t **out, jpki_err *err)
{
	struct sockaddr_in sa;
	struct timeval tv = {IO_TIMEOUT_S, 0};
	char *text = json_dumps(body, JSON_COMPACT);
	char head[512], *resp = NULL;
	size_t len = 0, tlen = text != NULL ? strlen(text) : 0;
	int fd = -1, rc = 0;
	*out = NULL;
	*status = 0;
	if (text == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		rc = jpki_fail(err, JPKI_ERR_INVAL, "bad address %s", host);
		goto out;
	}
	int hn = snprintf(head, sizeof(head),
			  "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
			  "Content-Type: application/json\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  path, host, port, tlen);
	if (hn < 0 || (size_t)hn >= sizeof(head)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "request too long");
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "jpkid at %s:%u: %s", host,
			       port, strerror(errno));
		goto out;
	}
	const char *parts[2] = {head, text};
	size_t plen[2] = {(size_t)hn, tlen};
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < plen[i]) {
			ssize_t n = send(fd, parts[i] + off, plen[i] - off,
					 MSG_NOSIGNAL);
			if (n <= 0) {
				rc = jpki_fail(err, JPKI_ERR_IO,
					       "jpkid: sending: %s",
					       strerror(errno));
				goto out;
			}
			off += (size_t)n;
		}
	}
	if ((resp = malloc(RESP_MAX + 1)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, resp + len, RESP_MAX - len, 0);
		if (n == 0)
			break;
		if (n < 0) {
			rc = jpki_fail(err, JPKI_ERR_IO, "jpkid: reading: %s",
				       strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (len == RESP_MAX) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "jpkid: answer over %d bytes", RESP_MAX);
			goto out;
		}
	}
	resp[len] = '\0';
	char *sep = strstr(resp, "\r\n\r\n");
	if (sep == NULL || sscanf(resp, "HTTP/1.%*c %d", status) != 1) {
		rc =
		    jpki_fail(err, JPKI_ERR_PARSE, "jpkid: not an HTTP answer");
		goto out;
	}
	*out = json_loads(sep + 4, 0, NULL);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "jpkid answered HTTP %d without JSON", *status);
	}
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_clear_free(text, tlen);
	free(resp);
	return rc;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* jpkid's error message, for a refusal. */
static int jpkid_refused(int status, json_t *ans, const char *what,
			 jpki_err *err)
{
	json_t *e = json_object_get(ans, "error");
	const char *m = jstr(e, "message");
	return jpki_fail(err,
			 status == 401 || status == 403 ? JPKI_ERR_AUTH
			 : status == 404		? JPKI_ERR_NOT_FOUND
							: JPKI_ERR_STATE,
			 "jpkid refused the %s (HTTP %d): %s", what, status,
			 m != NULL ? m : "no message");
}

static int pem_to_der(const char *pem, uint8_t **der, size_t *len,
		      jpki_err *err)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	unsigned char *d = NULL;
	int n = x != NULL ? i2d_X509(x, &d) : -1;
	BIO_free(b);
	X509_free(x);
	if (n <= 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "not a PEM certificate");
	*der = d;
	*len = (size_t)n;
	return 0;
}

void terminal_pairing_clear(terminal_pairing *p)
{
	if (p == NULL)
		return;
	for (int k = 0; k < 3; k++)
		OPENSSL_free(p->root_der[k]);
	OPENSSL_cleanse(p, sizeof(*p));
}

int terminal_pair_redeem(const char *jpkid_url, const char *code,
			 terminal_pairing *out, jpki_err *err)
{
	json_t *req = NULL, *ans = NULL;
	int status = 0, rc;
	memset(out, 0, sizeof(*out));
	if ((rc = parse_url(jpkid_url, out->jpkid_host, &out->jpkid_port,
			    err)) != 0)
		return rc;
	if (code == NULL || strlen(code) != TERMINAL_PAIR_CODE_LEN ||
	    strspn(code, "0123456789") != TERMINAL_PAIR_CODE_LEN)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "pairing code: the %d digits the counter's "
				 "page shows",
				 TERMINAL_PAIR_CODE_LEN);
	req = json_pack("{s:s}", "code", code);
	rc = jpkid_post(out->jpkid_host, out->jpkid_port,
			"/api/v1/terminal/redeem", req, &status, &ans, err);
	if (rc != 0)
		goto out;
	if (status != 200) {
		rc = jpkid_refused(status, ans, "pairing code", err);
		goto out;
	}
	const char *o = jstr(ans, "origin"), *t = jstr(ans, "token");
	const char *op = jstr(ans, "operator");
	json_t *roots = json_object_get(ans, "roots");
	if (o == NULL || t == NULL || strlen(t) != TERMINAL_TOKEN_LEN ||
	    jpki_strlcpy(out->origin, o, sizeof(out->origin)) != 0 ||
	    jpki_strlcpy(out->token, t, sizeof(out->token)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "jpkid's pairing answer lacks origin or token");
		goto out;
	}
	if (jpki_strlcpy(out->operator_name, op != NULL ? op : "",
			 sizeof(out->operator_name)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "jpkid's operator name is too long");
		goto out;
	}
	static const char *const kn[3] = {NULL, "sign", "auth"};
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		const char *pem = jstr(roots, kn[k]);
		if (pem == NULL || pem_to_der(pem, &out->root_der[k],
					      &out->root_len[k], err) != 0) {
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "jpkid's pairing answer lacks the %s "
				       "root",
				       kn[k]);
			goto out;
		}
	}
out:
	if (rc != 0)
		terminal_pairing_clear(out);
	json_decref(req);
	json_decref(ans);
	return rc;
}

/* What jpkid says about the application a terminal authentication is
 * for. */
typedef struct tauth_ctx {
	const terminal_pairing *p;
	long long app;
	char kind[16];
	int pins; /* STORE_APP_PIN_* of a PIN reset */
} tauth_ctx;

/* terminal_mac_fn: POST /api/v1/terminal/tauth with the token. */
static int mac_from_jpkid(void *vctx, const char *serial,
			  const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
			  uint8_t mac[TERMINAL_TAUTH_MAC_LEN], jpki_err *err)
{
	tauth_ctx *tc = vctx;
	const terminal_pairing *p = tc->p;
	char hex[2 * TERMINAL_TAUTH_CHAL_LEN + 1];
	json_t *ans = NULL;
	int status = 0;
	size_t got = 0;
	jpki_hex(chal, TERMINAL_TAUTH_CHAL_LEN, hex);
	json_t *req =
	    json_pack("{s:s,s:s,s:s,s:I}", "token", p->token, "card", serial,
		      "challenge", hex, "app", (json_int_t)tc->app);
	int rc = jpkid_post(p->jpkid_host, p->jpkid_port,
			    "/api/v1/terminal/tauth", req, &status, &ans, err);
	if (rc == 0 && status != 200)
		rc = jpkid_refused(status, ans, "terminal authentication", err);
	if (rc == 0) {
		const char *m = jstr(ans, "mac"), *k = jstr(ans, "kind");
		if (m == NULL || k == NULL ||
		    jpki_unhex(m, mac, TERMINAL_TAUTH_MAC_LEN, &got, err) !=
			0 ||
		    got != TERMINAL_TAUTH_MAC_LEN)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "jpkid's MAC is malformed");
		else if (jpki_strlcpy(tc->kind, k, sizeof(tc->kind)) != 0)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "jpkid's key kind is malformed");
		else {
			tc->pins = (int)json_integer_value(
			    json_object_get(ans, "pins"));
		}
	}
	json_decref(req);
	json_decref(ans);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Answers                                                            */

static enum MHD_Result send_json(struct terminal_server *t,
				 struct MHD_Connection *c, int status,
				 json_t *body, const char *origin)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	size_t n = text != NULL ? strlen(text) : 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    n, text != NULL ? text : (char *)"", MHD_RESPMEM_MUST_COPY);
	free(text);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				"application/json; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (origin != NULL) {
		MHD_add_response_header(r, "Access-Control-Allow-Origin",
					origin);
		MHD_add_response_header(r, "Vary", "Origin");
	}
	(void)t;
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_err(struct terminal_server *t,
				struct MHD_Connection *c, int status,
				const char *code, const char *msg,
				const char *origin)
{
	return send_json(
	    t, c, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg),
	    origin);
}

/* A jpki_rc from the card or jpkid as an HTTP answer. */
static enum MHD_Result send_rc(struct terminal_server *t,
			       struct MHD_Connection *c, int rc,
			       const jpki_err *err, const char *origin)
{
	int st = 500;
	const char *code = "internal";
	switch (rc) {
	case JPKI_ERR_INVAL:
	case JPKI_ERR_PIN_FORMAT:
	case JPKI_ERR_PARSE: st = 400, code = "bad_request"; break;
	case JPKI_ERR_PIN_WRONG: st = 403, code = "pin_wrong"; break;
	case JPKI_ERR_PIN_BLOCKED: st = 423, code = "pin_blocked"; break;
	case JPKI_ERR_NOT_FOUND:
	case JPKI_ERR_TRANSPORT: st = 503, code = "no_card"; break;
	case JPKI_ERR_STATE: st = 409, code = "state"; break;
	case JPKI_ERR_AUTH: st = 502, code = "terminal_auth"; break;
	case JPKI_ERR_IO: st = 502, code = "jpkid"; break;
	case JPKI_ERR_CARD: st = 502, code = "card"; break;
	default: break;
	}
	return send_err(t, c, st, code, jpki_err_msg(err, rc), origin);
}

/* ------------------------------------------------------------------ */
/* The card                                                           */

typedef struct card_sess {
	struct terminal_server *t;
	jpki_link l;
	char reader[READER_MAX];
	char serial[JPKI_CARD_SERIAL_LEN + 1];
	bool open;
} card_sess;

static int card_open(card_sess *cs, struct terminal_server *t, const char *want,
		     jpki_err *err)
{
	memset(cs, 0, sizeof(*cs));
	cs->t = t;
	int rc = t->o.open(t->o.card_ctx, &cs->l, cs->reader,
			   sizeof(cs->reader), err);
	if (rc != 0)
		return rc;
	cs->open = true;
	if ((rc = terminal_card_serial(&cs->l, cs->serial, err)) != 0)
		return rc;
	if (want != NULL && strcmp(want, cs->serial) != 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "the reader holds card %s, not %s", cs->serial,
				 want);
	return 0;
}

static void card_close(card_sess *cs)
{
	if (cs->open)
		cs->t->o.close(cs->t->o.card_ctx);
	cs->open = false;
}

/* Terminal authentication for application `app` (jpkid checks that the
 * application is at its card step and names this card); *tc says which
 * kind it is. */
static int card_tauth(card_sess *cs, json_t *b, tauth_ctx *tc, jpki_err *err)
{
	json_t *app = json_object_get(b, "app");
	memset(tc, 0, sizeof(*tc));
	tc->p = cs->t->p;
	if (!json_is_integer(app) || json_integer_value(app) <= 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "app: the application's number");
	tc->app = (long long)json_integer_value(app);
	return terminal_auth_relay(&cs->l, cs->serial, mac_from_jpkid, tc, err);
}

static json_t *retries_json(const jpki_link *l)
{
	json_t *o = json_object();
	int n = 0;
	jpki_err e = {0};
	if (card_client_select(l, JPKI_AP_JPKI, &e) == 0) {
		json_object_set_new(
		    o, "auth",
		    card_client_retries(l, JPKI_CPIN_AUTH, &n, &e) == 0
			? json_integer(n)
			: json_null());
		json_object_set_new(
		    o, "sign",
		    card_client_retries(l, JPKI_CPIN_SIGN, &n, &e) == 0
			? json_integer(n)
			: json_null());
	}
	if (card_client_select(l, JPKI_AP_CARDINFO, &e) == 0)
		json_object_set_new(
		    o, "cardinfo",
		    card_client_retries(l, JPKI_CPIN_CARDINFO, &n, &e) == 0
			? json_integer(n)
			: json_null());
	return o;
}

static json_t *cert_serial_json(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	BIGNUM *bn = x != NULL
			 ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)
			 : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	json_t *o = hex != NULL ? json_string(hex) : json_null();
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return o;
}

/* GET /v1/status */
static enum MHD_Result do_status(struct terminal_server *t,
				 struct MHD_Connection *c, const char *origin)
{
	card_sess cs;
	jpki_err err = {0};
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = card_open(&cs, t, NULL, &err);
	json_t *o = json_pack("{s:s,s:s}", "origin", t->p->origin, "operator",
			      t->p->operator_name);
	if (rc != 0) {
		json_object_set_new(o, "card", json_false());
		json_object_set_new(o, "reader",
				    cs.reader[0] ? json_string(cs.reader)
						 : json_null());
		json_object_set_new(o, "detail",
				    json_string(jpki_err_msg(&err, rc)));
		card_close(&cs);
		return send_json(t, c, 200, o, origin);
	}
	json_object_set_new(o, "card", json_true());
	json_object_set_new(o, "reader", json_string(cs.reader));
	json_object_set_new(o, "serial", json_string(cs.serial));
	json_object_set_new(o, "pins", retries_json(&cs.l));
	jpki_err e = {0};
	if (card_client_select(&cs.l, JPKI_AP_JPKI, &e) == 0 &&
	    card_client_read_cert(&cs.l, JPKI_CCERT_AUTH, &der, &len, &e) == 0)
		json_object_set_new(o, "auth_cert_serial",
				    cert_serial_json(der, len));
	else
		json_object_set_new(o, "auth_cert_serial", json_null());
	free(der);
	card_close(&cs);
	return send_json(t, c, 200, o, origin);
}

/* A PIN field, checked and normalised (NULL field: out = ""). */
static int take_pin(json_t *b, const char *field, jpki_pin_kind kind,
		    char out[PIN_BUF], jpki_err *err)
{
	const char *v = jstr(b, field);
	out[0] = '\0';
	if (json_object_get(b, field) != NULL && v == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "%s: a string", field);
	if (v == NULL)
		return 0;
	int rc = rules_pin_check(kind, v, out, PIN_BUF, err);
	if (rc != 0)
		jpki_wrap(err, rc, "%s (not sent to the card)", field);
	return rc;
}

static int pop_sign(const jpki_link *l, jpki_card_key key, EVP_PKEY *pub,
		    const char *challenge, const char *kind, long long rid,
		    const char *card, json_t **out, jpki_err *err)
{
	unsigned char *spki = NULL;
	uint8_t h[32], di[JPKI_DIGESTINFO_SHA256_LEN], sig[JPKI_CARD_SIG_LEN];
	char text[512], hhex[65];
	unsigned hl = 0;
	int n = i2d_PUBKEY(pub, &spki), rc = 0;
	if (n <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the key");
	EVP_Digest(spki, (size_t)n, h, &hl, EVP_sha256(), NULL);
	jpki_hex(h, 32, hhex);
	int tl = snprintf(text, sizeof(text),
			  "openjpki-pop-v1\nchallenge=%s\nkind=%s\n"
			  "resident=%lld\ncard=%s\nspki-sha256=%s\n",
			  challenge, kind, rid, card, hhex);
	if (tl < 0 || (size_t)tl >= sizeof(text)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "challenge too long");
		goto out;
	}
	EVP_Digest(text, (size_t)tl, h, &hl, EVP_sha256(), NULL);
	card_digestinfo_sha256(h, di);
	if ((rc = card_client_sign(l, key, di, sizeof(di), sig, err)) != 0)
		goto out;
	char b_spki[2048], b_sig[400];
	if (EVP_EncodeBlock((unsigned char *)b_spki, spki, n) <= 0 ||
	    EVP_EncodeBlock((unsigned char *)b_sig, sig, sizeof(sig)) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "base64");
		goto out;
	}
	*out = json_pack("{s:s,s:s}", "spki", b_spki, "pop", b_sig);
out:
	OPENSSL_free(spki);
	return rc;
}

/* POST /v1/prepare */
static int prepare(struct terminal_server *t, json_t *b, json_t **res,
		   jpki_err *err)
{
	char ap[PIN_BUF], sp[PIN_BUF], cp[PIN_BUF];
	EVP_PKEY *pub[3] = {NULL, NULL, NULL};
	json_t *pop[3] = {NULL, NULL, NULL};
	tauth_ctx tc;
	card_sess cs;
	const char *card = jstr(b, "card"), *ch = jstr(b, "challenge");
	const char *kinds = jstr(b, "kinds");
	json_t *jr = json_object_get(b, "resident");
	bool want[3] = {false, false, false};
	int rc;
	memset(&cs, 0, sizeof(cs));
	if (card == NULL || ch == NULL || !json_is_integer(jr) ||
	    json_integer_value(jr) <= 0 || strlen(ch) > 64)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "prepare: app, card, resident, challenge "
				 "(and kinds, the PINs)");
	want[JPKI_CERT_SIGN] = kinds == NULL || strstr(kinds, "sign") != NULL;
	want[JPKI_CERT_AUTH] = kinds == NULL || strstr(kinds, "auth") != NULL;
	if ((rc = take_pin(b, "auth_pin", JPKI_PIN_AUTH, ap, err)) != 0 ||
	    (rc = take_pin(b, "sign_pin", JPKI_PIN_SIGN, sp, err)) != 0 ||
	    (rc = take_pin(b, "cardinfo_pin", JPKI_PIN_CARDINFO, cp, err)) != 0)
		goto out;
	if (want[JPKI_CERT_AUTH] && ap[0] == '\0') {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "auth_pin: the 利用者証明用 PIN is required");
		goto out;
	}
	if (want[JPKI_CERT_SIGN] && sp[0] == '\0') {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "sign_pin: the 署名用 password is required");
		goto out;
	}
	if ((rc = card_open(&cs, t, card, err)) != 0 ||
	    (rc = card_tauth(&cs, b, &tc, err)) != 0)
		goto out;
	/* a new card gets every PIN; 後日発行 the PIN of each new key; a
	 * renewal keeps the PINs, which only sign the proofs */
	bool new_card =
	    strcmp(tc.kind, "new-card") == 0 || strcmp(tc.kind, "reissue") == 0;
	bool later = strcmp(tc.kind, "issue") == 0;
	if (!new_card && !later && strcmp(tc.kind, "renewal") != 0) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "application %lld (%s) issues no keys", tc.app,
			       tc.kind);
		goto out;
	}
	if (new_card && ap[0] == '\0') {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "auth_pin: the 利用者証明用 PIN is required");
		goto out;
	}
	/* a renewal: the holder's PINs first, so that a wrong one leaves
	 * the card's current keys and certificates as they were */
	if (!new_card && !later &&
	    ((rc = card_client_select(&cs.l, JPKI_AP_JPKI, err)) != 0 ||
	     (want[JPKI_CERT_AUTH] &&
	      (rc = card_client_verify(&cs.l, JPKI_CPIN_AUTH, ap, NULL, err)) !=
		  0) ||
	     (want[JPKI_CERT_SIGN] &&
	      (rc = card_client_verify(&cs.l, JPKI_CPIN_SIGN, sp, NULL, err)) !=
		  0)))
		goto out;
	if (want[JPKI_CERT_AUTH] &&
	    (rc = card_term_generate_key(&cs.l, JPKI_KEY_AUTH,
					 &pub[JPKI_CERT_AUTH], err)) != 0)
		goto out;
	if (want[JPKI_CERT_SIGN] &&
	    (rc = card_term_generate_key(&cs.l, JPKI_KEY_SIGN,
					 &pub[JPKI_CERT_SIGN], err)) != 0)
		goto out;
	if (new_card &&
	    ((rc = card_term_set_pin(&cs.l, JPKI_CPIN_AUTH, ap, err)) != 0 ||
	     (sp[0] != '\0' &&
	      (rc = card_term_set_pin(&cs.l, JPKI_CPIN_SIGN, sp, err)) != 0) ||
	     (rc = card_term_set_pin(&cs.l, JPKI_CPIN_CARDINFO,
				     cp[0] != '\0' ? cp : ap, err)) != 0))
		goto out;
	if (later &&
	    ((want[JPKI_CERT_AUTH] &&
	      (rc = card_term_set_pin(&cs.l, JPKI_CPIN_AUTH, ap, err)) != 0) ||
	     (want[JPKI_CERT_SIGN] &&
	      (rc = card_term_set_pin(&cs.l, JPKI_CPIN_SIGN, sp, err)) != 0)))
		goto out;
	if ((rc = card_client_select(&cs.l, JPKI_AP_JPKI, err)) != 0)
		goto out;
	long long rid = (long long)json_integer_value(jr);
	if (want[JPKI_CERT_AUTH] &&
	    ((rc = card_client_verify(&cs.l, JPKI_CPIN_AUTH, ap, NULL, err)) !=
		 0 ||
	     (rc = pop_sign(&cs.l, JPKI_KEY_AUTH, pub[JPKI_CERT_AUTH], ch,
			    "auth", rid, cs.serial, &pop[JPKI_CERT_AUTH],
			    err)) != 0))
		goto out;
	if (want[JPKI_CERT_SIGN] &&
	    ((rc = card_client_verify(&cs.l, JPKI_CPIN_SIGN, sp, NULL, err)) !=
		 0 ||
	     (rc = pop_sign(&cs.l, JPKI_KEY_SIGN, pub[JPKI_CERT_SIGN], ch,
			    "sign", rid, cs.serial, &pop[JPKI_CERT_SIGN],
			    err)) != 0))
		goto out;
	*res = json_pack("{s:s}", "card", cs.serial);
	if (pop[JPKI_CERT_SIGN] != NULL)
		json_object_set_new(*res, "sign", pop[JPKI_CERT_SIGN]);
	if (pop[JPKI_CERT_AUTH] != NULL)
		json_object_set_new(*res, "auth", pop[JPKI_CERT_AUTH]);
	pop[JPKI_CERT_SIGN] = pop[JPKI_CERT_AUTH] = NULL; /* transferred */
out:
	card_close(&cs);
	OPENSSL_cleanse(ap, sizeof(ap));
	OPENSSL_cleanse(sp, sizeof(sp));
	OPENSSL_cleanse(cp, sizeof(cp));
	for (int k = 0; k < 3; k++) {
		EVP_PKEY_free(pub[k]);
		json_decref(pop[k]);
	}
	return rc;
}

/* A leaf PEM from the page, checked against the paired root of its
 * kind before it reaches the card. */
static int leaf_der(struct terminal_server *t, const char *pem, int kind,
		    uint8_t **der, size_t *len, jpki_err *err)
{
	const unsigned char *p = t->p->root_der[kind];
	X509 *root = d2i_X509(NULL, &p, (long)t->p->root_len[kind]);
	X509 *x = NULL;
	int rc = pem_to_der(pem, der, len, err);
	if (rc == 0) {
		p = *der;
		x = d2i_X509(NULL, &p, (long)*len);
	}
	if (rc == 0 && (root == NULL || x == NULL ||
			X509_verify(x, X509_get0_pubkey(root)) != 1))
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "the %s certificate is not signed by the "
			       "paired jpkid's root",
			       kind == JPKI_CERT_SIGN ? "sign" : "auth");
	X509_free(x);
	X509_free(root);
	if (rc != 0) {
		OPENSSL_free(*der);
		*der = NULL;
	}
	return rc;
}

/* POST /v1/write */
static int write_certs(struct terminal_server *t, json_t *b, json_t **res,
		       jpki_err *err)
{
	static const char *const kn[3] = {NULL, "sign", "auth"};
	static const jpki_card_cert leaf[3] = {0, JPKI_CCERT_SIGN,
					       JPKI_CCERT_AUTH};
	static const jpki_card_cert root[3] = {0, JPKI_CCERT_SIGN_CA,
					       JPKI_CCERT_AUTH_CA};
	uint8_t *der[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	tauth_ctx tc;
	card_sess cs;
	const char *card = jstr(b, "card");
	int rc = 0;
	memset(&cs, 0, sizeof(cs));
	if (card == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "write: card");
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && rc == 0; k++) {
		json_t *v = json_object_get(b, kn[k]);
		if (v != NULL && json_is_object(v))
			v = json_object_get(v, "pem");
		if (v != NULL && !json_is_string(v))
			rc = jpki_fail(err, JPKI_ERR_INVAL,
				       "%s: a PEM certificate", kn[k]);
		else if (v != NULL)
			rc = leaf_der(t, json_string_value(v), k, &der[k],
				      &len[k], err);
	}
	if (rc == 0 && der[JPKI_CERT_SIGN] == NULL &&
	    der[JPKI_CERT_AUTH] == NULL)
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "write: no certificate given");
	if (rc != 0 || (rc = card_open(&cs, t, card, err)) != 0 ||
	    (rc = card_tauth(&cs, b, &tc, err)) != 0)
		goto out;
	json_t *done = json_object();
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && rc == 0; k++) {
		if (der[k] == NULL)
			continue;
		rc = card_term_write_cert(&cs.l, leaf[k], der[k], len[k], err);
		if (rc == 0)
			rc = card_term_write_cert(&cs.l, root[k],
						  t->p->root_der[k],
						  t->p->root_len[k], err);
		if (rc == 0)
			json_object_set_new(done, kn[k],
					    cert_serial_json(der[k], len[k]));
	}
	/* EF 0008 when the authentication certificate comes with the set
	 * (a new card, a renewal of both) */
	if (rc == 0 && der[JPKI_CERT_AUTH] != NULL)
		rc = card_term_write_presence(
		    &cs.l, der[JPKI_CERT_SIGN] != NULL, true, err);
	if (rc != 0) {
		json_decref(done);
		goto out;
	}
	*res = json_pack("{s:s,s:o}", "card", cs.serial, "written", done);
out:
	card_close(&cs);
	for (int k = 0; k < 3; k++)
		OPENSSL_free(der[k]);
	return rc;
}

/* POST /v1/pin-reset */
static int pin_reset(struct terminal_server *t, json_t *b, json_t **res,
		     jpki_err *err)
{
	char ap[PIN_BUF], sp[PIN_BUF], cp[PIN_BUF];
	tauth_ctx tc;
	card_sess cs;
	const char *card = jstr(b, "card");
	int rc;
	memset(&cs, 0, sizeof(cs));
	if (card == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "pin-reset: card");
	if ((rc = take_pin(b, "auth_pin", JPKI_PIN_AUTH, ap, err)) != 0 ||
	    (rc = take_pin(b, "sign_pin", JPKI_PIN_SIGN, sp, err)) != 0 ||
	    (rc = take_pin(b, "cardinfo_pin", JPKI_PIN_CARDINFO, cp, err)) != 0)
		goto out;
	if (ap[0] == '\0' && sp[0] == '\0' && cp[0] == '\0') {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "pin-reset: give at least one new PIN");
		goto out;
	}
	if ((rc = card_open(&cs, t, card, err)) != 0 ||
	    (rc = card_tauth(&cs, b, &tc, err)) != 0)
		goto out;
	/* only the PINs the application names (STORE_APP_PIN_*: 1 sign,
	 * 2 auth, 4 券面事項入力補助) */
	if (strcmp(tc.kind, "pin-reset") != 0 || (sp[0] && !(tc.pins & 1)) ||
	    (ap[0] && !(tc.pins & 2)) || (cp[0] && !(tc.pins & 4))) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "application %lld (%s) does not reset these "
			       "PINs",
			       tc.app, tc.kind);
		goto out;
	}
	if ((ap[0] &&
	     (rc = card_term_set_pin(&cs.l, JPKI_CPIN_AUTH, ap, err)) != 0) ||
	    (sp[0] &&
	     (rc = card_term_set_pin(&cs.l, JPKI_CPIN_SIGN, sp, err)) != 0) ||
	    (cp[0] &&
	     (rc = card_term_set_pin(&cs.l, JPKI_CPIN_CARDINFO, cp, err)) != 0))
		goto out;
	*res = json_pack("{s:s,s:o}", "card", cs.serial, "pins",
			 retries_json(&cs.l));
out:
	card_close(&cs);
	OPENSSL_cleanse(ap, sizeof(ap));
	OPENSSL_cleanse(sp, sizeof(sp));
	OPENSSL_cleanse(cp, sizeof(cp));
	return rc;
}

/* ------------------------------------------------------------------ */
/* The HTTP side                                                      */

static bool host_ok(struct terminal_server *t, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	return h != NULL &&
	       (strcmp(h, t->host_ip) == 0 || strcmp(h, t->host_name) == 0);
}

static bool token_ok(struct terminal_server *t, struct MHD_Connection *c)
{
	const char *a =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	return a != NULL && strncmp(a, "Bearer ", 7) == 0 &&
	       strlen(a + 7) == TERMINAL_TOKEN_LEN &&
	       CRYPTO_memcmp(a + 7, t->p->token, TERMINAL_TOKEN_LEN) == 0;
}

static enum MHD_Result preflight(struct terminal_server *t,
				 struct MHD_Connection *c, const char *origin)
{
	const char *pna = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, "Access-Control-Request-Private-Network");
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    0, (char *)"", MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	(void)t;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
	MHD_add_response_header(r, "Access-Control-Allow-Headers",
				"Authorization, Content-Type");
	MHD_add_response_header(r, "Access-Control-Max-Age", "600");
	MHD_add_response_header(r, "Vary", "Origin");
	if (pna != NULL && strcmp(pna, "true") == 0)
		MHD_add_response_header(
		    r, "Access-Control-Allow-Private-Network", "true");
	enum MHD_Result ret = MHD_queue_response(c, 204, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct terminal_server *t = cls;
	conn_st *st = *con_cls;
	(void)version;
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (st->len + *upload_size > BODY_MAX) {
			st->too_big = true;
		} else {
			char *nb =
			    realloc(st->body, st->len + *upload_size + 1);
			if (nb == NULL)
				return MHD_NO;
			st->body = nb;
			memcpy(st->body + st->len, upload, *upload_size);
			st->len += *upload_size;
			st->body[st->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* 1. who asks: the loopback Host, the paired origin, the token */
	const char *origin =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (!host_ok(t, c))
		return send_err(t, c, 403, "host",
				"only http://127.0.0.1 addresses this helper",
				NULL);
	if (origin == NULL || strcmp(origin, t->p->origin) != 0)
		return send_err(t, c, 403, "origin",
				"this helper answers only the page it was "
				"paired with",
				NULL);
	if (strcmp(method, "OPTIONS") == 0)
		return preflight(t, c, origin);
	if (!token_ok(t, c))
		return send_err(t, c, 401, "token",
				"wrong or missing pairing token: pair the "
				"helper again",
				origin);
	/* 2. what */
	bool get = strcmp(method, "GET") == 0,
	     post = strcmp(method, "POST") == 0;
	if (get && strcmp(url, "/v1/status") == 0)
		return do_status(t, c, origin);
	int (*fn)(struct terminal_server *, json_t *, json_t **, jpki_err *) =
	    strcmp(url, "/v1/prepare") == 0	? prepare
	    : strcmp(url, "/v1/write") == 0	? write_certs
	    : strcmp(url, "/v1/pin-reset") == 0 ? pin_reset
						: NULL;
	if (fn == NULL)
		return send_err(t, c, 404, "not_found", "no such route",
				origin);
	if (!post)
		return send_err(t, c, 405, "method", "POST only", origin);
	const char *ct =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (ct == NULL || strncmp(ct, "application/json", 16) != 0)
		return send_err(t, c, 415, "media_type",
				"Content-Type: application/json", origin);
	if (st->too_big)
		return send_err(t, c, 413, "too_big", "body too large", origin);
	json_t *b = st->body != NULL ? json_loads(st->body, 0, NULL) : NULL;
	if (!json_is_object(b)) {
		json_decref(b);
		return send_err(t, c, 400, "bad_request", "one JSON object",
				origin);
	}
	json_t *res = NULL;
	jpki_err err = {0};
	int rc = fn(t, b, &res, &err);
	/* PINs: scrub the parsed strings too */
	const char *pins[] = {"auth_pin", "sign_pin", "cardinfo_pin"};
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(b, pins[i]);
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v),
					json_string_length(v));
	}
	json_decref(b);
	if (rc != 0)
		return send_rc(t, c, rc, &err, origin);
	return send_json(t, c, 200, res, origin);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_st *st = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (st != NULL) {
		if (st->body != NULL)
			OPENSSL_clear_free(st->body, st->len + 1);
		free(st);
	}
	*con_cls = NULL;
}

int terminal_serve_start(const terminal_serve_opts *opts, terminal_server **out,
			 jpki_err *err)
{
	struct sockaddr_in sa;
	terminal_server *t = NULL;
	if (opts == NULL || opts->pairing == NULL || opts->open == NULL ||
	    opts->close == NULL || opts->port > 65535)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "terminal serve: options");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	t->o = *opts;
	t->p = opts->pairing;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opts->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)opts->port, NULL, NULL,
	    on_request, t, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT,
	    30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, t, MHD_OPTION_END);
	if (t->mhd == NULL) {
		free(t);
		return jpki_fail(err, JPKI_ERR_IO,
				 "cannot listen on 127.0.0.1:%u", opts->port);
	}
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(t->mhd, MHD_DAEMON_INFO_BIND_PORT);
	t->port = i != NULL ? i->port : opts->port;
	snprintf(t->host_ip, sizeof(t->host_ip), "127.0.0.1:%u", t->port);
	snprintf(t->host_name, sizeof(t->host_name), "localhost:%u", t->port);
	*out = t;
	return 0;
}

unsigned terminal_serve_port(const terminal_server *t)
{
	return t->port;
}

void terminal_serve_stop(terminal_server *t)
{
	if (t == NULL)
		return;
	MHD_stop_daemon(t->mhd);
	free(t);
}
