/* The counter PC's card helper without pcscd (src/terminal/serve.c,
 * tauth.c): terminal authentication relayed through terminal_tauth_mac
 * (the key stays in the CA's store) against an in-memory card, a wrong
 * MAC refused by the card, and the helper's HTTP gate — Host, Origin,
 * token, the Private Network Access preflight — with GET /v1/status over
 * the in-memory card. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* cmocka.h needs the headers above first */
#include <cmocka.h>

#include "ca_fixture.h"
#include "openjpki/ca.h"
#include "openjpki/card.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"

#define SERIAL "OJT-UNIT-0001"
#define ORIGIN "http://127.0.0.1:8080"
#define TOKEN "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"

static char dir[128], cadir[160];
static time_t T0;

static int setup(void **state)
{
	(void)state;
	return ca_fixture_make("term", dir, sizeof(dir), cadir, sizeof(cadir),
			       &T0, false);
}

static int teardown(void **state)
{
	(void)state;
	return ca_fixture_remove(dir);
}

/* A blank card whose terminal key the CA keeps. */
static jpki_card *new_card(jpki_ca *ca)
{
	jpki_card_params p;
	jpki_card *card = NULL;
	jpki_err err = {0};
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	memset(&p, 0, sizeof(p));
	p.serial = SERIAL;
	assert_int_equal(card_create(&p, &card, tkey, &err), 0);
	int rc = terminal_tkey_record(ca, SERIAL, tkey, T0, "test", &err);
	assert_true(rc == 0 || rc == JPKI_ERR_EXISTS);
	if (rc == JPKI_ERR_EXISTS) {
		/* the second test: the store keeps the first card's key */
		card_free(card);
		assert_int_equal(terminal_tkey_get(ca, SERIAL, tkey, &err), 0);
		p.tkey = tkey;
		assert_int_equal(card_create(&p, &card, NULL, &err), 0);
	}
	card_power(card, JPKI_CARD_POWER_ON);
	return card;
}

static int mac_store(void *ctx, const char *serial,
		     const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
		     uint8_t mac[TERMINAL_TAUTH_MAC_LEN], jpki_err *err)
{
	return terminal_tauth_mac(ctx, serial, chal, mac, err);
}

static int mac_wrong(void *ctx, const char *serial,
		     const uint8_t chal[TERMINAL_TAUTH_CHAL_LEN],
		     uint8_t mac[TERMINAL_TAUTH_MAC_LEN], jpki_err *err)
{
	int rc = terminal_tauth_mac(ctx, serial, chal, mac, err);
	mac[0] ^= 1;
	return rc;
}

static void test_relay(void **state)
{
	(void)state;
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	EVP_PKEY *pub = NULL;
	uint8_t chal[TERMINAL_TAUTH_CHAL_LEN] = {0},
		mac[TERMINAL_TAUTH_MAC_LEN];
	assert_int_equal(ca_open(cadir, NULL, &ca, &err), 0);
	jpki_card *card = new_card(ca);
	jpki_link l = {card_transmit, card};

	/* no terminal authentication: key generation refused */
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_not_equal(
	    card_term_generate_key(&l, JPKI_KEY_AUTH, &pub, &err), 0);
	/* a wrong MAC costs a try and is refused */
	assert_int_equal(terminal_auth_relay(&l, SERIAL, mac_wrong, ca, &err),
			 JPKI_ERR_AUTH);
	assert_non_null(strstr(err.msg, "tries left"));
	/* the store's key, through the relay: the card accepts */
	assert_int_equal(terminal_auth_relay(&l, SERIAL, mac_store, ca, &err),
			 0);
	if (card_term_generate_key(&l, JPKI_KEY_AUTH, &pub, &err) != 0)
		fail_msg("generate after relay: %s", err.msg);
	EVP_PKEY_free(pub);
	/* no key on record for another card */
	assert_int_equal(
	    terminal_tauth_mac(ca, "NO-SUCH-CARD", chal, mac, &err),
	    JPKI_ERR_NOT_FOUND);
	card_free(card);
	ca_close(ca);
}

/* ---- the HTTP gate ---- */

typedef struct mem_reader {
	jpki_card *card;
	int opened;
} mem_reader;

static int open_mem(void *ctx, jpki_link *l, char *reader, size_t cap,
		    jpki_err *err)
{
	mem_reader *m = ctx;
	(void)err;
	card_power(m->card, JPKI_CARD_POWER_ON);
	l->transmit = card_transmit;
	l->ctx = m->card;
	assert_int_equal(jpki_strlcpy(reader, "memory", cap), 0);
	m->opened++;
	return 0;
}

static void close_mem(void *ctx)
{
	mem_reader *m = ctx;
	card_power(m->card, JPKI_CARD_POWER_OFF);
}

/* One raw HTTP/1.1 request; the answer (status line, headers, body) into
 * out; returns the status. */
static int http(unsigned port, const char *req, char *out, size_t cap)
{
	struct sockaddr_in sa;
	struct timeval tv = {10, 0};
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (;;) {
		ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	assert_int_equal(sscanf(out, "HTTP/1.%*c %d", &status), 1);
	return status;
}

static void test_gate(void **state)
{
	(void)state;
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	terminal_pairing p;
	terminal_server *srv = NULL;
	mem_reader m = {0};
	char req[1024], out[16384];
	assert_int_equal(ca_open(cadir, NULL, &ca, &err), 0);
	m.card = new_card(ca);
	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    jpki_strlcpy(p.jpkid_host, "127.0.0.1", sizeof(p.jpkid_host)), 0);
	p.jpkid_port = 9; /* never reached here */
	assert_int_equal(jpki_strlcpy(p.origin, ORIGIN, sizeof(p.origin)), 0);
	assert_int_equal(jpki_strlcpy(p.token, TOKEN, sizeof(p.token)), 0);
	assert_int_equal(
	    jpki_strlcpy(p.operator_name, "clerk1", sizeof(p.operator_name)),
	    0);
	terminal_serve_opts so = {.port = 0,
				  .pairing = &p,
				  .open = open_mem,
				  .close = close_mem,
				  .card_ctx = &m};
	if (terminal_serve_start(&so, &srv, &err) != 0)
		fail_msg("start: %s", err.msg);
	unsigned port = terminal_serve_port(srv);
	assert_true(port > 0);
#define REQ(fmt, ...) snprintf(req, sizeof(req), fmt, __VA_ARGS__)
	/* another origin: 403, no CORS headers */
	REQ("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "http://evil.example\r\nAuthorization: Bearer %s\r\nConnection: "
	    "close\r\n\r\n",
	    port, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 403);
	assert_null(strstr(out, "Access-Control-Allow-Origin"));
	/* the preflight for the paired origin, with PNA */
	REQ("OPTIONS /v1/prepare HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "%s\r\nAccess-Control-Request-Method: POST\r\n"
	    "Access-Control-Request-Private-Network: true\r\nConnection: "
	    "close\r\n\r\n",
	    port, ORIGIN);
	assert_int_equal(http(port, req, out, sizeof(out)), 204);
	assert_non_null(
	    strstr(out, "Access-Control-Allow-Origin: " ORIGIN "\r\n"));
	assert_non_null(
	    strstr(out, "Access-Control-Allow-Private-Network: true\r\n"));
	/* the same preflight from another origin */
	REQ("OPTIONS /v1/prepare HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "http://127.0.0.1:8081\r\nAccess-Control-Request-Private-Network:"
	    " true\r\nConnection: close\r\n\r\n",
	    port);
	assert_int_equal(http(port, req, out, sizeof(out)), 403);
	assert_null(strstr(out, "Access-Control-Allow"));
	/* a foreign Host (DNS rebinding) */
	REQ("GET /v1/status HTTP/1.1\r\nHost: rebind.example:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
	    port, ORIGIN, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 403);
	/* a wrong token: 401, readable by the paired page */
	REQ("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %.63s1\r\nConnection: close\r\n\r\n",
	    port, ORIGIN, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 401);
	assert_non_null(strstr(out, "Access-Control-Allow-Origin: " ORIGIN));
	assert_int_equal(m.opened, 0); /* the card was never touched */
	/* the paired page: the card's state */
	REQ("GET /v1/status HTTP/1.1\r\nHost: localhost:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
	    port, ORIGIN, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\"serial\":\"" SERIAL "\""));
	assert_non_null(strstr(out, "\"operator\":\"clerk1\""));
	assert_int_equal(m.opened, 1);
	/* a POST that is not JSON */
	REQ("POST /v1/write HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
	    port, ORIGIN, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 415);
	/* a malformed PIN is refused before anything reaches the card */
	const char *body =
	    "{\"app\":1,\"card\":\"" SERIAL "\",\"auth_pin\":\"12345\"}";
	REQ("POST /v1/pin-reset HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n%s",
	    port, ORIGIN, TOKEN, strlen(body), body);
	assert_int_equal(http(port, req, out, sizeof(out)), 400);
	assert_non_null(strstr(out, "not sent to the card"));
	assert_int_equal(m.opened, 1);
	/* unknown route */
	REQ("GET /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
	    "%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
	    port, ORIGIN, TOKEN);
	assert_int_equal(http(port, req, out, sizeof(out)), 404);
#undef REQ
	terminal_serve_stop(srv);
	card_free(m.card);
	ca_close(ca);
}

static void test_redeem_refuses(void **state)
{
	(void)state;
	terminal_pairing p;
	jpki_err err = {0};
	assert_int_equal(
	    terminal_pair_redeem("http://192.0.2.1:80", "12345678", &p, &err),
	    JPKI_ERR_POLICY);
	assert_int_equal(
	    terminal_pair_redeem("https://127.0.0.1:80", "12345678", &p, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(
	    terminal_pair_redeem("http://127.0.0.1:80", "1234", &p, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(
	    terminal_pair_redeem("http://127.0.0.1:0", "12345678", &p, &err),
	    JPKI_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_gate),
	    cmocka_unit_test(test_redeem_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
