/* jpki login: log in to a relying party through jpkid's log-in API with
 * the card's 利用者証明用電子証明書 (docs/design.md, "Log-in and
 * verification API"): fetch a challenge for the origin, read the
 * authentication certificate, VERIFY the 4-digit PIN, have the card sign
 * the openjpki-login-v1 text (80 2A, SHA-256 DigestInfo), post it. */
#include <errno.h>
#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "cli.h"
#include "openjpki/card.h"
#include "openjpki/util.h"
#include "openjpki/x509.h"

#define HTTP_RESP_MAX (256u * 1024)
#define HTTP_TIMEOUT 30 /* s, per send and per receive */
#define ORIGIN_MAX 127
#define REQ_MAX (32u * 1024)

static const char login_help[] =
    "usage: jpki login URL [--origin ORIGIN] (CARD.img | --card CARD.img |\n"
    "         --reader NAME|auto) [--pin PIN | --pin-file FILE]\n\n"
    "Log in to a relying party with the card's authentication certificate\n"
    "(利用者証明用電子証明書) through the log-in API of jpkid at URL\n"
    "(http://HOST:PORT): ask for a single-use challenge bound to ORIGIN (the\n"
    "relying party's origin, default URL's own), read the certificate, VERIFY\n"
    "the 4-digit PIN (利用者証明用電子証明書暗証番号: --pin, --pin-file, or a\n"
    "line of standard input), have the card sign\n"
    "  \"openjpki-login-v1\\norigin=ORIGIN\\nnonce=NONCE\\n\"\n"
    "(PKCS#1 v1.5, SHA-256) and post it.  Prints the session the relying\n"
    "party gets: the certificate's serial, subject CN, issuer and validity.\n"
    "Exit 1 when refused (the reason is printed).\n";

typedef struct http_target {
	char *host, *port, *path; /* OpenSSL-allocated */
} http_target;

static void target_clear(http_target *t)
{
	OPENSSL_free(t->host);
	OPENSSL_free(t->port);
	OPENSSL_free(t->path);
	memset(t, 0, sizeof(*t));
}

/* http://HOST[:PORT][/PREFIX]; the API lives under PREFIX/api/v1. */
static int target_parse(const char *url, http_target *t, jpki_err *err)
{
	int ssl = 0;
	char *query = NULL, *frag = NULL;
	memset(t, 0, sizeof(*t));
	if (strncmp(url, "http://", 7) != 0 ||
	    !OSSL_HTTP_parse_url(url, &ssl, NULL, &t->host, &t->port, NULL,
				 &t->path, &query, &frag) ||
	    ssl || (query != NULL && query[0] != '\0') ||
	    (frag != NULL && frag[0] != '\0')) {
		OPENSSL_free(query);
		OPENSSL_free(frag);
		ERR_clear_error();
		target_clear(t);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "%s: expected http://HOST[:PORT][/PATH]", url);
	}
	OPENSSL_free(query);
	OPENSSL_free(frag);
	size_t n = strlen(t->path);
	while (n > 0 && t->path[n - 1] == '/')
		t->path[--n] = '\0';
	return 0;
}

/* One HTTP/1.0 exchange (Connection: close, so the body ends at EOF).
 * OpenSSL's OSSL_HTTP_transfer drops the body of a 4xx answer, and the
 * refusal's JSON is what the user needs, hence this small client on a
 * connect BIO.  *status and *body (a JSON value) on success. */
static int http_json(const http_target *t, const char *method,
		     const char *target, const char *body, int *status,
		     json_t **out, jpki_err *err)
{
	BIO *b = NULL;
	char *req = NULL, *resp = NULL;
	size_t blen = body != NULL ? strlen(body) : 0, got = 0;
	int fd = -1, rc = 0;
	if ((req = malloc(REQ_MAX)) == NULL ||
	    (resp = malloc(HTTP_RESP_MAX + 1)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	int n = snprintf(req, REQ_MAX,
			 "%s %s%s HTTP/1.0\r\nHost: %s:%s\r\n"
			 "Accept: application/json\r\n"
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n"
			 "%s",
			 method, t->path, target, t->host, t->port, blen,
			 body != NULL ? body : "");
	if (n < 0 || (size_t)n >= REQ_MAX) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "request too large");
		goto out;
	}
	if ((b = BIO_new_connect(t->host)) == NULL ||
	    BIO_set_conn_port(b, t->port) != 1 || BIO_do_connect(b) != 1) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot connect to %s:%s",
			       t->host, t->port);
		goto out;
	}
	struct timeval tv = {HTTP_TIMEOUT, 0};
	if (BIO_get_fd(b, &fd) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "socket options: %s",
			       strerror(errno));
		goto out;
	}
	for (int off = 0; off < n;) {
		int w = BIO_write(b, req + off, n - off);
		if (w <= 0) {
			rc = jpki_fail(err, JPKI_ERR_IO, "sending to %s:%s",
				       t->host, t->port);
			goto out;
		}
		off += w;
	}
	while (got < HTTP_RESP_MAX) {
		int r = BIO_read(b, resp + got, (int)(HTTP_RESP_MAX - got));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	resp[got] = '\0';
	char *sep = strstr(resp, "\r\n\r\n");
	if (got == HTTP_RESP_MAX) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "answer over %u bytes",
			       HTTP_RESP_MAX);
		goto out;
	}
	if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' ||
	    strspn(resp + 9, "0123456789") != 3 || sep == NULL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "not an HTTP answer from "
			       "%s:%s",
			       t->host, t->port);
		goto out;
	}
	*status =
	    (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
	const char *jb = sep + 4;
	json_error_t je;
	if ((*out = json_loadb(jb, got - (size_t)(jb - resp),
			       JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "HTTP %d without a JSON object from %s:%s",
			       *status, t->host, t->port);
	}
out:
	ERR_clear_error();
	BIO_free_all(b);
	free(req);
	free(resp);
	return rc;
}

/* A non-200 answer as an error: "login refused (code): message". */
static int refused(int status, json_t *body, jpki_err *err)
{
	json_t *e = json_object_get(body, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	return jpki_fail(err, status == 503 ? JPKI_ERR_IO : JPKI_ERR_AUTH,
			 "login refused (HTTP %d, %s): %s", status,
			 code ? code : "?", msg ? msg : "no reason given");
}

/* The origin of url ("http://host:port"), the default --origin. */
static void own_origin(const http_target *t, char *out, size_t cap)
{
	snprintf(out, cap, "http://%s:%s", t->host, t->port);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* Read the authentication certificate, VERIFY the PIN, sign tbs. */
static int card_sign_login(cli_card *c, char *pin_value, const char *pin_file,
			   const char *tbs, uint8_t **cert_der,
			   size_t *cert_len, uint8_t sig[JPKI_CARD_SIG_LEN],
			   jpki_err *err)
{
	char pin[CLI_PIN_LINE_MAX];
	uint8_t hash[32], di[JPKI_DIGESTINFO_SHA256_LEN];
	unsigned hl = 0;
	int tries = -1, rc;
	pin[0] = '\0';
	if ((rc = card_client_select(&c->link, JPKI_AP_JPKI, err)) != 0)
		goto out;
	rc = card_client_read_cert(&c->link, JPKI_CCERT_AUTH, cert_der,
				   cert_len, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = jpki_fail(err, rc,
			       "the card holds no authentication certificate "
			       "(利用者証明用電子証明書)");
	if (rc != 0 || (rc = cli_take_pin(JPKI_PIN_AUTH, pin_value, pin_file,
					  pin, err)) != 0)
		goto out;
	rc = card_client_verify(&c->link, JPKI_CPIN_AUTH, pin, &tries, err);
	if (rc == JPKI_ERR_PIN_WRONG)
		rc = jpki_fail(err, rc,
			       "wrong authentication PIN: %d tries left before "
			       "it blocks",
			       tries);
	else if (rc == JPKI_ERR_PIN_BLOCKED)
		rc = jpki_fail(err, rc,
			       "the authentication PIN is blocked: reset it "
			       "at the municipal counter");
	if (rc != 0)
		goto out;
	if (EVP_Digest(tbs, strlen(tbs), hash, &hl, EVP_sha256(), NULL) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	card_digestinfo_sha256(hash, di);
	rc =
	    card_client_sign(&c->link, JPKI_KEY_AUTH, di, sizeof(di), sig, err);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}

static json_t *b64_json(const uint8_t *p, size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *s = malloc(cap);
	json_t *v = NULL;
	if (s != NULL && EVP_EncodeBlock((unsigned char *)s, p, (int)len) >= 0)
		v = json_string(s);
	free(s);
	return v;
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL ? v : "?";
}

static void print_text(json_t *ok)
{
	json_t *c = json_object_get(ok, "certificate");
	json_t *sess = json_object_get(ok, "session");
	printf("logged in to %s\n", str(ok, "origin"));
	printf("  certificate: 利用者証明用電子証明書, serial %s\n",
	       str(c, "serial"));
	printf("  subject CN:  %s\n", str(c, "subject_cn"));
	printf("  issuer:      %s\n", str(c, "issuer"));
	printf("  valid:       %s .. %s\n", str(c, "not_before"),
	       str(c, "not_after"));
	printf("  session:     %s (%s)\n", str(sess, "id"),
	       str(sess, "authenticated_at"));
}

int cmd_login(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"origin", required_argument, NULL, 'o'},
	    {"card", required_argument, NULL, 'c'},
	    {"reader", required_argument, NULL, 'R'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0}};
	const char *url = NULL, *image = NULL, *reader = NULL;
	const char *pin_file = NULL, *origin_arg = NULL;
	char *pin = NULL, origin[ORIGIN_MAX + 1], target[ORIGIN_MAX + 64];
	http_target t;
	cli_card card;
	uint8_t *cert = NULL, sig[JPKI_CARD_SIG_LEN];
	size_t cert_len = 0;
	json_t *ch = NULL, *req = NULL, *ok = NULL;
	char *req_txt = NULL, tbs[ORIGIN_MAX + 128];
	jpki_err err = {0};
	int c, rc, status = 0;
	memset(&t, 0, sizeof(t));
	memset(&card, 0, sizeof(card));
	if (cli_want_help(argc, argv, login_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': origin_arg = optarg; break;
		case 'c': image = optarg; break;
		case 'R': reader = optarg; break;
		case 'p': pin = optarg; break;
		case 'P': pin_file = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return cli_usage_error("login: URL expected");
	url = argv[optind++];
	if (optind < argc) {
		if (image != NULL || optind + 1 < argc)
			return cli_usage_error(
			    "login: one card image expected");
		image = argv[optind];
	}
	if ((image != NULL) + (reader != NULL) != 1)
		return cli_usage_error("login: give CARD.img or --reader");
	if ((rc = target_parse(url, &t, &err)) != 0)
		goto out;
	if (origin_arg != NULL) {
		if (jpki_strlcpy(origin, origin_arg, sizeof(origin)) != 0) {
			rc =
			    jpki_fail(&err, JPKI_ERR_RANGE,
				      "--origin: at most %d bytes", ORIGIN_MAX);
			goto out;
		}
	} else {
		own_origin(&t, origin, sizeof(origin));
	}
	/* the origin is a query argument: only characters that need no
	 * escaping there (jpkid refuses any other form anyway) */
	if (strspn(origin, "abcdefghijklmnopqrstuvwxyz0123456789.-:/") !=
	    strlen(origin)) {
		rc = jpki_fail(&err, JPKI_ERR_INVAL,
			       "--origin: http(s)://host[:port] in lower case");
		goto out;
	}
	snprintf(target, sizeof(target), "/api/v1/login/challenge?origin=%s",
		 origin);
	if ((rc = http_json(&t, "GET", target, NULL, &status, &ch, &err)) != 0)
		goto out;
	if (status != 200) {
		rc = refused(status, ch, &err);
		goto out;
	}
	const char *nonce = json_string_value(json_object_get(ch, "nonce"));
	if (nonce == NULL || strlen(nonce) > 64) {
		rc = jpki_fail(&err, JPKI_ERR_PARSE,
			       "no nonce in the challenge");
		goto out;
	}
	snprintf(tbs, sizeof(tbs), "openjpki-login-v1\norigin=%s\nnonce=%s\n",
		 origin, nonce);
	if ((rc = cli_card_open(image, reader, &card, &err)) != 0 ||
	    (rc = card_sign_login(&card, pin, pin_file, tbs, &cert, &cert_len,
				  sig, &err)) != 0)
		goto out;
	req = json_pack("{s:s,s:s,s:o,s:o}", "origin", origin, "nonce", nonce,
			"certificate", b64_json(cert, cert_len), "signature",
			b64_json(sig, sizeof(sig)));
	if (req == NULL || (req_txt = json_dumps(req, JSON_COMPACT)) == NULL) {
		rc = jpki_fail(&err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = http_json(&t, "POST", "/api/v1/login", req_txt, &status, &ok,
			    &err)) != 0)
		goto out;
	if (status != 200) {
		rc = refused(status, ok, &err);
		goto out;
	}
	if (ctx->json) {
		cli_print_json(ok);
		ok = NULL; /* freed there */
	} else {
		print_text(ok);
	}
out:
	json_decref(ch);
	json_decref(req);
	json_decref(ok);
	free(req_txt);
	free(cert);
	cli_card_close(&card);
	target_clear(&t);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}
