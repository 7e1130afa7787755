/* transport/vpcd: the vpcd framing against a fake vpcd (a TCP server on
 * 127.0.0.1, ephemeral port, in a thread) -- no pcscd needed.  The server
 * thread only records what it saw; the assertions run in the main
 * thread. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "openjpki/card.h"
#include "openjpki/transport.h"
#include "transport/vpcd_int.h"

#define MAXF 600

typedef enum script {
	SCRIPT_SESSION,	  /* 04, 01, APDUs (one split), 00, 07, 04, close */
	SCRIPT_BIG_FRAME, /* a frame over the client's limit */
	SCRIPT_ZERO,	  /* a zero-length frame */
	SCRIPT_STALL,	  /* half a frame, then silence */
	SCRIPT_LATE,	  /* listen only after 300 ms, then 04 and close */
	SCRIPT_STOP,	  /* accept, then set the stop flag after 300 ms */
} script;

typedef struct fake {
	script s;
	int lfd;
	uint16_t port;
	atomic_int stop;
	bool ok; /* the script ran to its end */
	/* answers seen */
	uint8_t atr[2][40];
	size_t atr_len[2];
	uint8_t r_select[MAXF], r_ins[MAXF], r_short[MAXF];
	size_t r_select_len, r_ins_len, r_short_len;
} fake;

static int listen_loopback(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static bool send_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	return send_all(fd, hdr, 2) && send_all(fd, p, n);
}

static bool recv_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 5000) != 1)
			return false;
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool recv_frame(int fd, uint8_t *p, size_t cap, size_t *n)
{
	uint8_t hdr[2];
	if (!recv_all(fd, hdr, 2))
		return false;
	*n = (size_t)hdr[0] << 8 | hdr[1];
	return *n > 0 && *n <= cap && recv_all(fd, p, *n);
}

/* Wait until the client closes (or 5 s). */
static void drain(int fd)
{
	uint8_t b[256];
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	while (poll(&pf, 1, 5000) == 1 && recv(fd, b, sizeof(b), 0) > 0)
		;
}

static const uint8_t select_jpki[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A,
				      0xD3, 0x92, 0xF0, 0x00, 0x26,
				      0x01, 0x00, 0x00, 0x00, 0x01};

static void run_session(fake *f, int c)
{
	static const uint8_t get_atr = 0x04, on = 0x01, off = 0x00,
			     unknown = 0x07;
	static const uint8_t bad_ins[] = {0x00, 0xFF, 0x00, 0x00};
	static const uint8_t too_short[] = {0x00, 0xA4};
	uint8_t hdr[2] = {0, sizeof(select_jpki)};
	if (!send_frame(c, &get_atr, 1) ||
	    !recv_frame(c, f->atr[0], sizeof(f->atr[0]), &f->atr_len[0]) ||
	    !send_frame(c, &on, 1))
		return;
	/* the SELECT arrives in three pieces */
	if (!send_all(c, hdr, 2))
		return;
	(void)poll(NULL, 0, 20);
	if (!send_all(c, select_jpki, 5))
		return;
	(void)poll(NULL, 0, 20);
	if (!send_all(c, select_jpki + 5, sizeof(select_jpki) - 5) ||
	    !recv_frame(c, f->r_select, MAXF, &f->r_select_len) ||
	    !send_frame(c, bad_ins, sizeof(bad_ins)) ||
	    !recv_frame(c, f->r_ins, MAXF, &f->r_ins_len) ||
	    !send_frame(c, too_short, sizeof(too_short)) ||
	    !recv_frame(c, f->r_short, MAXF, &f->r_short_len) ||
	    /* no answer to power off or an unknown control: the next
	     * frame to arrive is the ATR */
	    !send_frame(c, &off, 1) || !send_frame(c, &unknown, 1) ||
	    !send_frame(c, &get_atr, 1) ||
	    !recv_frame(c, f->atr[1], sizeof(f->atr[1]), &f->atr_len[1]))
		return;
	f->ok = true;
}

static void *server(void *arg)
{
	fake *f = arg;
	if (f->s == SCRIPT_LATE) {
		(void)poll(NULL, 0, 300);
		uint16_t p;
		f->lfd = listen_loopback(f->port, &p);
		if (f->lfd < 0)
			return NULL;
	}
	int c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	switch (f->s) {
	case SCRIPT_SESSION: run_session(f, c); break;
	case SCRIPT_BIG_FRAME: {
		uint8_t big[2 + MAXF];
		memset(big, 0, sizeof(big));
		big[0] = (uint8_t)(MAXF >> 8);
		big[1] = (uint8_t)MAXF;
		f->ok = send_all(c, big, sizeof(big));
		drain(c);
		break;
	}
	case SCRIPT_ZERO: {
		static const uint8_t zero[2] = {0, 0};
		f->ok = send_all(c, zero, 2);
		drain(c);
		break;
	}
	case SCRIPT_STALL: {
		static const uint8_t half[4] = {0x00, 0x05, 0x00, 0xA4};
		f->ok = send_all(c, half, sizeof(half));
		drain(c);
		break;
	}
	case SCRIPT_LATE: {
		static const uint8_t get_atr = 0x04;
		f->ok =
		    send_frame(c, &get_atr, 1) &&
		    recv_frame(c, f->atr[0], sizeof(f->atr[0]), &f->atr_len[0]);
		break;
	}
	case SCRIPT_STOP:
		(void)poll(NULL, 0, 300);
		atomic_store(&f->stop, 1);
		drain(c);
		f->ok = true;
		break;
	}
	close(c);
	return NULL;
}

typedef struct events {
	unsigned retries, connected, closed;
} events;

static void on_event(void *ctx, jpki_vpcd_event ev, unsigned attempt,
		     const char *detail)
{
	events *e = ctx;
	(void)attempt;
	(void)detail;
	if (ev == JPKI_VPCD_EV_RETRY)
		e->retries++;
	else if (ev == JPKI_VPCD_EV_CONNECTED)
		e->connected++;
	else if (ev == JPKI_VPCD_EV_CLOSED)
		e->closed++;
}

/* Run `s` against a fresh blank card; returns serve's result. */
static int run(script s, jpki_vpcd_opts *o, fake *f, jpki_vpcd_stats *st,
	       events *ev, jpki_card **card_out, jpki_err *err)
{
	jpki_card *card = NULL;
	pthread_t th;
	memset(f, 0, sizeof(*f));
	f->s = s;
	if (s == SCRIPT_LATE) {
		/* reserve a free port, then let it go until the server binds */
		int tmp = listen_loopback(0, &f->port);
		assert_true(tmp >= 0);
		close(tmp);
		f->lfd = -1;
	} else {
		f->lfd = listen_loopback(0, &f->port);
		assert_true(f->lfd >= 0);
	}
	assert_int_equal(card_create(NULL, &card, NULL, err), 0);
	o->host = "127.0.0.1";
	o->port = f->port;
	o->once = true;
	o->event = on_event;
	o->event_ctx = ev;
	if (s == SCRIPT_STOP) {
		o->stop = &f->stop;
		o->once = false;
	}
	assert_int_equal(pthread_create(&th, NULL, server, f), 0);
	int rc = transport_vpcd_serve(card, o, st, err);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (f->lfd >= 0)
		close(f->lfd);
	if (card_out != NULL)
		*card_out = card;
	else
		card_free(card);
	return rc;
}

static void test_session(void **state)
{
	jpki_vpcd_opts o;
	jpki_vpcd_stats st;
	jpki_err err = {0};
	events ev = {0};
	jpki_card *card = NULL;
	fake *f = calloc(1, sizeof(*f));
	(void)state;
	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	assert_int_equal(run(SCRIPT_SESSION, &o, f, &st, &ev, &card, &err), 0);
	assert_true(f->ok);
	size_t alen = 0;
	const uint8_t *atr = card_atr(card, &alen);
	static const uint8_t jpki_atr[] = {0x3B, 0xE0, 0x00, 0xFF, 0x81,
					   0x31, 0xFE, 0x45, 0x14};
	assert_int_equal(alen, sizeof(jpki_atr));
	assert_memory_equal(atr, jpki_atr, sizeof(jpki_atr));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->atr_len[i], alen);
		assert_memory_equal(f->atr[i], atr, alen);
	}
	assert_int_equal(f->r_select_len, 2);
	assert_int_equal(f->r_select[0], 0x90);
	assert_int_equal(f->r_select[1], 0x00);
	assert_int_equal(f->r_ins_len, 2);
	assert_int_equal(f->r_ins[0], 0x6D);
	assert_int_equal(f->r_short_len, 2);
	assert_int_equal(f->r_short[0], 0x67);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.apdus, 3);
	assert_int_equal(st.controls, 5);
	assert_int_equal(ev.connected, 1);
	assert_int_equal(ev.closed, 1);
	card_free(card);
	free(f);
}

static void test_frame_limits(void **state)
{
	static const script bad[] = {SCRIPT_BIG_FRAME, SCRIPT_ZERO};
	fake *f = calloc(1, sizeof(*f));
	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jpki_vpcd_opts o;
		jpki_err err = {0};
		events ev = {0};
		memset(&o, 0, sizeof(o));
		o.max_frame = MAXF - 1;
		assert_int_equal(run(bad[i], &o, f, NULL, &ev, NULL, &err),
				 JPKI_ERR_PARSE);
		assert_true(f->ok);
		assert_non_null(strstr(err.msg, "vpcd sent a frame of"));
		assert_int_equal(ev.closed, 1);
	}
	free(f);
}

static void test_stall(void **state)
{
	jpki_vpcd_opts o;
	jpki_err err = {0};
	events ev = {0};
	fake *f = calloc(1, sizeof(*f));
	(void)state;
	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	o.io_timeout_ms = 300;
	assert_int_equal(run(SCRIPT_STALL, &o, f, NULL, &ev, NULL, &err),
			 JPKI_ERR_TRANSPORT);
	assert_non_null(strstr(err.msg, "stalled"));
	free(f);
}

static void test_reconnect(void **state)
{
	jpki_vpcd_opts o;
	jpki_err err = {0};
	events ev = {0};
	fake *f = calloc(1, sizeof(*f));
	(void)state;
	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	o.backoff_max_ms = 100;
	assert_int_equal(run(SCRIPT_LATE, &o, f, NULL, &ev, NULL, &err), 0);
	assert_true(f->ok);
	assert_true(ev.retries >= 1);
	assert_int_equal(ev.connected, 1);
	assert_int_equal(f->atr_len[0], 9);
	free(f);
}

static void test_give_up(void **state)
{
	jpki_vpcd_opts o;
	jpki_err err = {0};
	events ev = {0};
	jpki_card *card = NULL;
	uint16_t port = 0;
	(void)state;
	int tmp = listen_loopback(0, &port);
	assert_true(tmp >= 0);
	close(tmp); /* nobody listens there now */
	assert_int_equal(card_create(NULL, &card, NULL, &err), 0);
	memset(&o, 0, sizeof(o));
	o.port = port;
	o.connect_tries = 3;
	o.event = on_event;
	o.event_ctx = &ev;
	assert_int_equal(transport_vpcd_serve(card, &o, NULL, &err),
			 JPKI_ERR_TRANSPORT);
	assert_non_null(strstr(err.msg, "gave up after 3 tries"));
	assert_int_equal(ev.retries, 3);
	card_free(card);
}

static void test_stop_flag(void **state)
{
	jpki_vpcd_opts o;
	jpki_err err = {0};
	events ev = {0};
	fake *f = calloc(1, sizeof(*f));
	(void)state;
	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	assert_int_equal(run(SCRIPT_STOP, &o, f, NULL, &ev, NULL, &err), 0);
	assert_true(f->ok);
	assert_int_equal(ev.connected, 1);
	free(f);
}

static void test_loopback_only(void **state)
{
	static const char *const refused[] = {"10.1.2.3", "192.0.2.1",
					      "0.0.0.0"};
	jpki_card *card = NULL;
	jpki_err err = {0};
	(void)state;
	assert_int_equal(card_create(NULL, &card, NULL, &err), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		jpki_vpcd_opts o;
		memset(&o, 0, sizeof(o));
		o.host = refused[i];
		o.connect_tries = 1;
		assert_int_equal(transport_vpcd_serve(card, &o, NULL, &err),
				 JPKI_ERR_POLICY);
		assert_non_null(strstr(err.msg, "not a loopback address"));
	}
	card_free(card);
}

/* The framing without a socket: whole, partial and refused frames. */
static void test_frame_parse(void **state)
{
	static const uint8_t two[] = {0x00, 0x01, 0x04, 0x00,
				      0x03, 0x00, 0xA4, 0x04};
	const uint8_t *msg = NULL;
	size_t n = 0, used = 0;
	jpki_err err = {0};
	(void)state;
	for (size_t len = 0; len < 2; len++) {
		assert_int_equal(
		    vpcd_frame_parse(two, len, 10, &msg, &n, &used, &err), 0);
		assert_int_equal(used, 2);
		assert_null(msg);
	}
	assert_int_equal(vpcd_frame_parse(two, 2, 10, &msg, &n, &used, &err),
			 0);
	assert_int_equal(used, 3);
	assert_int_equal(vpcd_frame_parse(two, 3, 10, &msg, &n, &used, &err),
			 1);
	assert_ptr_equal(msg, two + 2);
	assert_int_equal(n, 1);
	assert_int_equal(used, 3);
	assert_int_equal(
	    vpcd_frame_parse(two + 3, 4, 10, &msg, &n, &used, &err), 0);
	assert_int_equal(used, 5);
	assert_int_equal(
	    vpcd_frame_parse(two + 3, 5, 10, &msg, &n, &used, &err), 1);
	assert_int_equal(n, 3);
	assert_memory_equal(msg, "\x00\xA4\x04", 3);
	/* over the limit, and zero: refused at the header */
	assert_int_equal(vpcd_frame_parse(two + 3, 5, 2, &msg, &n, &used, &err),
			 JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "frame of 3 bytes"));
	static const uint8_t zero[] = {0x00, 0x00, 0x01};
	assert_int_equal(vpcd_frame_parse(zero, 3, 10, &msg, &n, &used, &err),
			 JPKI_ERR_PARSE);
	assert_null(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_parse),
	    cmocka_unit_test(test_session),
	    cmocka_unit_test(test_frame_limits),
	    cmocka_unit_test(test_stall),
	    cmocka_unit_test(test_reconnect),
	    cmocka_unit_test(test_give_up),
	    cmocka_unit_test(test_stop_flag),
	    cmocka_unit_test(test_loopback_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
