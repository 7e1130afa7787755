/* Fuzz target: jpkid's HTTP front.  A real server (server_start, a
 * test-profile CA in a temporary directory, 127.0.0.1 and a free port) is
 * started once per process; each input is written raw over a new TCP
 * connection, the write side is closed, and the answer is read with a
 * bound on its size and on the time it may take.
 *
 * Invariants: the server answers HTTP or nothing (never other bytes), never
 * 500 (nothing a stranger sends is an internal error; the store is sound), and
 * after every input it still answers GET /healthz with 200 on a new
 * connection; a crash of any server thread ends the process. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "openjpki/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ANSWER_MAX (256 * 1024) /* read at most this much of an answer */
#define IO_SECONDS 5		/* one read or write may wait this long */
#define QUIET_MS 30		/* an answer has ended after this pause */
#define FIRST_MS 150 /* a fuzzed input's answer starts within this or never */

static server *srv;
static unsigned port;
static char dir[64];

static void cleanup(void)
{
	char cmd[128];
	server_stop(srv);
	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) <
		sizeof(cmd) &&
	    system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void init(void)
{
	char cadir[96], pw[SERVER_PASSWORD_MAX];
	jpki_err err = {0};
	snprintf(dir, sizeof(dir), "/tmp/jpki-fuzz-http-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	server_config c = {.dir = cadir,
			   .listen = "127.0.0.1:0",
			   .threads = 2,
			   .workers = 1,
			   .admin_password = "fuzz-admin-password-1"};
	if (server_start(&c, &srv, pw, sizeof(pw), &err) != 0) {
		fprintf(stderr, "fuzz_http: server_start: %s\n", err.msg);
		abort();
	}
	port = server_port(srv);
	atexit(cleanup);
}

static int dial(void)
{
	struct sockaddr_in sa;
	struct timeval tv = {IO_SECONDS, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* libFuzzer's timer (SIGALRM) may interrupt a connect that
		 * waits for a full backlog: the connection goes on, so wait
		 * for it rather than call it a crash */
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		int pr;
		if (errno != EINTR && errno != EINPROGRESS)
			goto fail;
		do
			pr = poll(&pf, 1, IO_SECONDS * 1000);
		while (pr < 0 && errno == EINTR);
		if (pr <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
			errno = pr == 0	     ? ETIMEDOUT
				: soerr != 0 ? soerr
					     : errno;
			goto fail;
		}
	}
	return fd;
fail:
	perror("fuzz_http: connect");
	abort();
}

/* Write p (as much as the server takes before it closes), close the
 * write side, read the answer: its length (at most cap). */
static size_t exchange(const uint8_t *p, size_t n, uint8_t *ans, size_t cap,
		       int first_ms)
{
	int fd = dial();
	size_t off = 0, got = 0;
	while (off < n) {
		ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server closed or reset: fine */
		off += (size_t)w;
	}
	(void)shutdown(fd, SHUT_WR);
	/* the first byte may take first_ms; once answers flow, a pause of
	 * QUIET_MS ends the read.  The server does not close at once a
	 * connection the client half-closed (a kept-alive one, or one with
	 * an unfinished request: it waits for its idle timeout), and
	 * waiting for that would make most inputs take seconds. */
	while (got < cap) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, got == 0 ? first_ms : QUIET_MS) <= 0)
			break;
		ssize_t r = recv(fd, ans + got, cap - got, 0);
		if (r <= 0)
			break; /* closed or reset */
		got += (size_t)r;
	}
	/* close with a reset: a half-closed connection the server keeps
	 * until its idle timeout (30 s) would otherwise pile up at the
	 * fuzzer's rate until the server's connection limit refuses
	 * /healthz */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ans[ANSWER_MAX];
	static const char hz[] =
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	if (srv == NULL)
		init();
	size_t n = exchange(data, size, ans, sizeof(ans), FIRST_MS);
	if (n > 0 && (n < 7 || memcmp(ans, "HTTP/1.", 7) != 0)) {
		fprintf(stderr, "fuzz_http: an answer that is not HTTP\n");
		abort();
	}
	if (n >= 12 && memcmp(ans + 8, " 500", 4) == 0) {
		fprintf(stderr, "fuzz_http: 500 for '%.*s'\n",
			(int)(size < 200 ? size : 200), (const char *)data);
		abort();
	}
	/* a wedged server stays wedged: three tries tell it from one
	 * connection lost to the loopback's port reuse (two connections an
	 * input at a few hundred inputs a second go round the ephemeral
	 * ports within a minute, into the server's TIME_WAIT sockets) */
	for (int i = 0; i < 3; i++) {
		n = exchange((const uint8_t *)hz, sizeof(hz) - 1, ans,
			     sizeof(ans), IO_SECONDS * 1000);
		if (n >= 12 && memcmp(ans, "HTTP/1.1 200", 12) == 0)
			break;
	}
	if (n < 12 || memcmp(ans, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "fuzz_http: /healthz answers '%.*s'\n",
			(int)(n < 64 ? n : 64), (const char *)ans);
		abort();
	}
	return 0;
}
