/* vpcd bridge: a jpki_card served to pcscd's vsmartcard reader driver
 * (ifd-vpcd).  The driver listens (Debian: 0.0.0.0:35963 for "Virtual PCD
 * 00 00"); the card connects as a TCP client.  Every message in both
 * directions is a 2-byte big-endian length N (1..65535) and N bytes; a
 * 1-byte message from vpcd is a control message, anything longer a command
 * APDU (spec/card-interface.md §8). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "openjpki/buf.h"
#include "openjpki/transport.h"
#include "vpcd_int.h"

#define VPCD_CTRL_OFF 0x00
#define VPCD_CTRL_ON 0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR 0x04

#define VPCD_TICK_MS 200 /* longest wait between checks of *stop */
#define VPCD_BACKOFF_MIN_MS 50
#define VPCD_BACKOFF_MAX_MS 2000
#define VPCD_IO_TIMEOUT_MS 5000
#define VPCD_CONNECT_TIMEOUT_MS 5000

/* Outcome of one wait on the socket. */
enum { IO_OK = 0, IO_EOF = 1, IO_STOP = 2 };

typedef struct vpcd_run {
	const jpki_vpcd_opts *o;
	const char *host;
	char port_s[8];
	size_t max_frame;
	int backoff_max_ms;
	int io_timeout_ms;
	jpki_vpcd_stats *st;
	jpki_card *card;
	uint8_t *in;  /* max_frame bytes */
	uint8_t *out; /* 2 + JPKI_VPCD_FRAME_MAX bytes: length + payload */
} vpcd_run;

static bool stopping(const vpcd_run *v)
{
	return v->o->stop != NULL && atomic_load(v->o->stop) != 0;
}

static void event(const vpcd_run *v, jpki_vpcd_event ev, unsigned attempt,
		  const char *detail)
{
	if (v->o->event != NULL)
		v->o->event(v->o->event_ctx, ev, attempt, detail);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		       in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

static int resolve(const vpcd_run *v, struct addrinfo **res, jpki_err *err)
{
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int g = getaddrinfo(v->host, v->port_s, &hints, res);
	if (g != 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "vpcd host %s: %s",
				 v->host, gai_strerror(g));
	for (const struct addrinfo *a = *res; a != NULL; a = a->ai_next) {
		if (!v->o->allow_remote && !is_loopback(a->ai_addr)) {
			freeaddrinfo(*res);
			*res = NULL;
			return jpki_fail(err, JPKI_ERR_POLICY,
					 "vpcd host %s is not a loopback "
					 "address: PINs and signatures would "
					 "cross the network in clear; allow "
					 "it explicitly (--allow-remote)",
					 v->host);
		}
	}
	return 0;
}

/* Sleep ms in ticks; IO_STOP if asked to stop meanwhile. */
static int nap(const vpcd_run *v, int ms)
{
	while (ms > 0 && !stopping(v)) {
		int step = ms < VPCD_TICK_MS ? ms : VPCD_TICK_MS;
		(void)poll(NULL, 0, step);
		ms -= step;
	}
	return stopping(v) ? IO_STOP : IO_OK;
}

/* Wait until fd is ready for `events`.  timeout_ms < 0: no limit.
 * IO_OK, IO_STOP, or JPKI_ERR_TRANSPORT on timeout / error. */
static int wait_fd(const vpcd_run *v, int fd, short events, int timeout_ms,
		   jpki_err *err)
{
	for (;;) {
		if (stopping(v))
			return IO_STOP;
		int step = VPCD_TICK_MS;
		if (timeout_ms >= 0 && timeout_ms < step)
			step = timeout_ms;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, step);
		if (r < 0 && errno != EINTR)
			return jpki_fail(err, JPKI_ERR_TRANSPORT, "poll: %s",
					 strerror(errno));
		if (r > 0)
			return IO_OK;
		if (timeout_ms >= 0) {
			timeout_ms -= step;
			if (timeout_ms <= 0)
				return jpki_fail(err, JPKI_ERR_TRANSPORT,
						 "vpcd stalled mid-frame for "
						 "%d ms",
						 v->io_timeout_ms);
		}
	}
}

/* Read exactly n bytes.  `idle`: the first byte may take forever (vpcd
 * is quiet between commands); the rest of a frame must arrive within
 * the I/O timeout.  IO_EOF when the peer closed before the first byte. */
static int read_full(const vpcd_run *v, int fd, uint8_t *buf, size_t n,
		     bool idle, jpki_err *err)
{
	size_t got = 0;
	while (got < n) {
		int w = wait_fd(v, fd, POLLIN,
				idle && got == 0 ? -1 : v->io_timeout_ms, err);
		if (w != IO_OK)
			return w;
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return jpki_fail(err, JPKI_ERR_TRANSPORT,
					 "receiving from vpcd: %s",
					 strerror(errno));
		if (r == 0) {
			if (idle && got == 0)
				return IO_EOF;
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "vpcd closed the connection "
					 "mid-frame");
		}
		got += (size_t)r;
	}
	return IO_OK;
}

static int write_full(const vpcd_run *v, int fd, const uint8_t *buf, size_t n,
		      jpki_err *err)
{
	size_t sent = 0;
	while (sent < n) {
		int w = wait_fd(v, fd, POLLOUT, v->io_timeout_ms, err);
		if (w != IO_OK)
			return w;
		ssize_t r = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return jpki_fail(err, JPKI_ERR_TRANSPORT,
					 "sending to vpcd: %s",
					 strerror(errno));
		sent += (size_t)r;
	}
	return IO_OK;
}

int vpcd_frame_parse(const uint8_t *p, size_t len, size_t max_frame,
		     const uint8_t **msg, size_t *msg_len, size_t *used,
		     jpki_err *err)
{
	jpki_rbuf rb;
	uint16_t n = 0;
	int rc;
	*msg = NULL;
	*msg_len = 0;
	*used = 2;
	if (len < 2)
		return 0;
	jpki_rbuf_init(&rb, p, len);
	if ((rc = jpki_rbuf_u16be(&rb, &n)) != 0)
		return jpki_fail(err, rc, "vpcd frame header");
	if (n == 0 || n > max_frame)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "vpcd sent a frame of %u bytes "
				 "(allowed 1..%zu)",
				 (unsigned)n, max_frame);
	*used = 2 + (size_t)n;
	if (len - 2 < n)
		return 0;
	*msg = p + 2;
	*msg_len = n;
	return 1;
}

void vpcd_answer(jpki_card *card, jpki_vpcd_stats *st, const uint8_t *msg,
		 size_t n, uint8_t *reply, size_t *reply_len)
{
	*reply_len = 0;
	if (n == 1) {
		jpki_rbuf rb;
		uint8_t ctrl = 0;
		jpki_rbuf_init(&rb, msg, n);
		if (jpki_rbuf_u8(&rb, &ctrl) != 0)
			return; /* n == 1: not reached */
		st->controls++;
		switch (ctrl) {
		case VPCD_CTRL_OFF:
			card_power(card, JPKI_CARD_POWER_OFF);
			break;
		case VPCD_CTRL_ON: card_power(card, JPKI_CARD_POWER_ON); break;
		case VPCD_CTRL_RESET: card_power(card, JPKI_CARD_RESET); break;
		case VPCD_CTRL_ATR: {
			size_t alen = 0;
			const uint8_t *atr = card_atr(card, &alen);
			memcpy(reply, atr, alen);
			*reply_len = alen;
			break;
		}
		default: break; /* unknown control: ignored, as vpcd does */
		}
		return;
	}
	st->apdus++;
	if (n < 4) {
		/* vpcd passes whatever the application sent */
		reply[0] = 0x67;
		reply[1] = 0x00;
		*reply_len = 2;
		return;
	}
	if (card_apdu(card, msg, n, reply, JPKI_VPCD_FRAME_MAX, reply_len) !=
	    0) {
		/* only a response longer than a vpcd frame gets here */
		reply[0] = 0x6F;
		reply[1] = 0x00;
		*reply_len = 2;
	}
}

/* Serve one connection.  IO_EOF when vpcd closed it, IO_STOP, or an
 * error (protocol violation, I/O). */
static int session(vpcd_run *v, int fd, jpki_err *err)
{
	for (;;) {
		uint8_t hdr[2];
		const uint8_t *msg = NULL;
		size_t n = 0, used = 0;
		int rc;
#ifdef TCP_QUICKACK
		/* vpcd (vsmartcard 3.3) writes the length and the payload
		 * separately with Nagle on: a delayed ACK of the length
		 * would hold the payload back ~40 ms.  Linux leaves quick-ACK
		 * mode by itself, so ask again before every frame. */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
				 sizeof(one));
#endif
		rc = read_full(v, fd, hdr, sizeof(hdr), true, err);
		if (rc != IO_OK)
			return rc;
		rc = vpcd_frame_parse(hdr, sizeof(hdr), v->max_frame, &msg, &n,
				      &used, err);
		if (rc < 0)
			return rc;
		n = used - sizeof(hdr);
		if ((rc = read_full(v, fd, v->in, n, false, err)) != IO_OK)
			return rc;
		size_t reply_len = 0;
		vpcd_answer(v->card, v->st, v->in, n, v->out + 2, &reply_len);
		if (reply_len == 0)
			continue;
		v->out[0] = (uint8_t)(reply_len >> 8);
		v->out[1] = (uint8_t)reply_len;
		if ((rc = write_full(v, fd, v->out, reply_len + 2, err)) !=
		    IO_OK)
			return rc;
	}
}

/* One connection attempt over the resolved addresses: the socket, or
 * -1 with *why set (IO_STOP in *stop_out when asked to stop). */
static int try_connect(const vpcd_run *v, const struct addrinfo *res, char *why,
		       size_t why_cap, bool *stop_out)
{
	*stop_out = false;
	snprintf(why, why_cap, "no address");
	for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family,
				a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				a->ai_protocol);
		if (fd < 0) {
			snprintf(why, why_cap, "socket: %s", strerror(errno));
			continue;
		}
		int e = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			e = errno;
			if (e == EINPROGRESS) {
				jpki_err tmp = {0};
				int w = wait_fd(v, fd, POLLOUT,
						VPCD_CONNECT_TIMEOUT_MS, &tmp);
				socklen_t sl = sizeof(e);
				if (w == IO_STOP) {
					close(fd);
					*stop_out = true;
					return -1;
				}
				if (w != IO_OK)
					e = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
						    &e, &sl) != 0)
					e = errno;
			}
		}
		if (e == 0) {
			/* one segment per frame each way: no Nagle wait */
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
			return fd;
		}
		snprintf(why, why_cap, "%s", strerror(e));
		close(fd);
	}
	return -1;
}

int transport_vpcd_serve(jpki_card *card, const jpki_vpcd_opts *opts,
			 jpki_vpcd_stats *stats, jpki_err *err)
{
	jpki_vpcd_stats dummy;
	struct addrinfo *res = NULL;
	vpcd_run v;
	int rc = 0;
	unsigned attempt = 0;
	int backoff;
	if (card == NULL || opts == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card or options");
	memset(&v, 0, sizeof(v));
	memset(&dummy, 0, sizeof(dummy));
	v.o = opts;
	v.card = card;
	v.st = stats != NULL ? stats : &dummy;
	v.host = opts->host != NULL && opts->host[0] != '\0' ? opts->host
							     : "127.0.0.1";
	snprintf(v.port_s, sizeof(v.port_s), "%u",
		 opts->port != 0 ? (unsigned)opts->port : JPKI_VPCD_PORT);
	v.max_frame =
	    opts->max_frame != 0 && opts->max_frame < JPKI_VPCD_FRAME_MAX
		? opts->max_frame
		: JPKI_VPCD_FRAME_MAX;
	v.backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms
						    : VPCD_BACKOFF_MAX_MS;
	v.io_timeout_ms =
	    opts->io_timeout_ms > 0 ? opts->io_timeout_ms : VPCD_IO_TIMEOUT_MS;
	backoff = VPCD_BACKOFF_MIN_MS;
	if ((rc = resolve(&v, &res, err)) != 0)
		goto out;
	v.in = malloc(v.max_frame);
	v.out = malloc(2 + JPKI_VPCD_FRAME_MAX);
	if (v.in == NULL || v.out == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	char where[300];
	snprintf(where, sizeof(where), "%s:%s", v.host, v.port_s);
	while (!stopping(&v)) {
		char why[128];
		bool stop = false;
		int fd = try_connect(&v, res, why, sizeof(why), &stop);
		if (stop)
			break;
		if (fd < 0) {
			attempt++;
			char detail[450];
			snprintf(detail, sizeof(detail), "vpcd at %s: %s",
				 where, why);
			event(&v, JPKI_VPCD_EV_RETRY, attempt, detail);
			if (opts->connect_tries != 0 &&
			    attempt >= opts->connect_tries) {
				rc = jpki_fail(err, JPKI_ERR_TRANSPORT,
					       "%s (gave up after %u tries; is "
					       "pcscd running with "
					       "vsmartcard-vpcd?)",
					       detail, attempt);
				goto out;
			}
			if (nap(&v, backoff) == IO_STOP)
				break;
			backoff = backoff * 2 > v.backoff_max_ms
				      ? v.backoff_max_ms
				      : backoff * 2;
			continue;
		}
		attempt = 0;
		backoff = VPCD_BACKOFF_MIN_MS;
		v.st->connections++;
		event(&v, JPKI_VPCD_EV_CONNECTED, 0, where);
		jpki_err serr = {0};
		int s = session(&v, fd, &serr);
		close(fd);
		/* removal: the card loses its security state */
		card_power(card, JPKI_CARD_POWER_OFF);
		if (s == IO_STOP)
			break;
		event(&v, JPKI_VPCD_EV_CLOSED, 0,
		      s == IO_EOF ? "vpcd closed the connection"
				  : jpki_err_msg(&serr, s));
		if (opts->once) {
			if (s < 0) {
				rc = s;
				if (err != NULL)
					*err = serr;
			}
			goto out;
		}
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(v.in);
	free(v.out);
	return rc;
}
