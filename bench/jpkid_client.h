/* A minimal HTTP/1.1 keep-alive client for jpkid on loopback (plain
 * sockets, one connection per conn), the card keys and proofs of
 * possession a counter terminal signs, and starting/stopping jpkid by PID:
 * shared by bench_issue_http and bench_record_day. */
#ifndef JPKI_BENCH_JPKID_CLIENT_H
#define JPKI_BENCH_JPKID_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "openjpki/util.h"

#define RBUF 65536
#define BENCH_ADMIN_PW "bench-admin-password-1"

/* ---- a minimal HTTP/1.1 keep-alive client (loopback) ---- */

typedef struct conn {
	int fd;
	unsigned short port;
	char cookie[128]; /* "jpkid_session=..." */
	char csrf[80];
	char rb[RBUF];
	size_t body_len; /* the last answer's body, at rb + body_off */
	size_t body_off;
} conn;

static inline int conn_open(conn *c)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(c->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {30, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static inline void conn_close(conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static inline int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The value of header name in the head (NUL-terminated), or NULL. */
static inline const char *header(const char *head, const char *name,
				 size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL;
	     p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ')
				h++;
			const char *e = strstr(h, "\r\n");
			*len = e ? (size_t)(e - h) : strlen(h);
			return h;
		}
	}
	return NULL;
}

/* One request; the status, or -1 when the connection failed (then it is
 * closed, and the next call reconnects). */
static inline int http(conn *c, const char *method, const char *path,
		       const char *body)
{
	char head[1024], ck[160] = "", tok[120] = "";
	size_t blen = body ? strlen(body) : 0;
	bool keep = true;
	int status = 0, ret = -1;
	if (c->fd < 0 && conn_open(c) != 0)
		return -1;
	if (c->cookie[0] != '\0')
		snprintf(ck, sizeof(ck), "Cookie: %s\r\n", c->cookie);
	if (c->csrf[0] != '\0')
		snprintf(tok, sizeof(tok), "X-CSRF-Token: %s\r\n", c->csrf);
	int n =
	    snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		     "Content-Length: %zu\r\n%s%s%s\r\n",
		     method, path, c->port, blen,
		     body ? "Content-Type: application/json\r\n" : "", ck, tok);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (write_all(c->fd, head, (size_t)n) != 0 ||
	    (blen > 0 && write_all(c->fd, body, blen) != 0))
		goto out;
	size_t got = 0;
	char *end = NULL;
	while (end == NULL) {
		if (got >= sizeof(c->rb) - 1)
			goto out;
		ssize_t r =
		    recv(c->fd, c->rb + got, sizeof(c->rb) - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
		c->rb[got] = '\0';
		end = strstr(c->rb, "\r\n\r\n");
	}
	*end = '\0';
	if (sscanf(c->rb, "HTTP/1.%*d %d", &status) != 1)
		goto out;
	size_t hl = 0;
	const char *v = header(c->rb, "Content-Length", &hl);
	if (v == NULL)
		goto out; /* jpkid always sends a length */
	size_t want = (size_t)strtoull(v, NULL, 10);
	if ((v = header(c->rb, "Connection", &hl)) != NULL &&
	    strncasecmp(v, "close", 5) == 0)
		keep = false;
	if ((v = header(c->rb, "Set-Cookie", &hl)) != NULL) {
		const char *semi = memchr(v, ';', hl);
		size_t cl = semi ? (size_t)(semi - v) : hl;
		if (cl < sizeof(c->cookie)) {
			memcpy(c->cookie, v, cl);
			c->cookie[cl] = '\0';
		}
	}
	c->body_off = (size_t)(end + 4 - c->rb);
	if (c->body_off + want >= sizeof(c->rb))
		goto out;
	while (got < c->body_off + want) {
		ssize_t r =
		    recv(c->fd, c->rb + got, c->body_off + want - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	c->body_len = want;
	c->rb[c->body_off + want] = '\0';
	ret = status;
out:
	if (ret < 0 || !keep)
		conn_close(c);
	return ret;
}

static inline const char *resp_body(const conn *c)
{
	return c->rb + c->body_off;
}

/* The string field key of the last answer's JSON body into out. */
static inline int resp_str(const conn *c, const char *key, char *out,
			   size_t cap)
{
	json_t *j = json_loadb(resp_body(c), c->body_len, 0, NULL);
	const char *v = json_string_value(json_object_get(j, key));
	int rc = v != NULL && jpki_strlcpy(out, v, cap) == 0 ? 0 : -1;
	json_decref(j);
	return rc;
}

/* Log in; a 503 (the auth class is busy with other log-ins' scrypt) is
 * asked again, at most 100 times. */
static inline int login(conn *c, const char *name, const char *pw)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"password\":\"%s\"}",
		 name, pw);
	for (int attempt = 0; attempt < 100; attempt++) {
		c->cookie[0] = c->csrf[0] = '\0';
		int st = http(c, "POST", "/api/v1/session", body);
		if (st == 503) {
			usleep(50000);
			continue;
		}
		if (st != 200 ||
		    resp_str(c, "csrf_token", c->csrf, sizeof(c->csrf)) != 0 ||
		    c->cookie[0] == '\0')
			return -1;
		return 0;
	}
	return -1;
}

/* ---- card keys and proofs of possession ---- */

typedef struct cardkey {
	EVP_PKEY *k;
	char spki_b64[600];
	char spki_hex[2 * SHA256_DIGEST_LENGTH + 1];
} cardkey;

static inline int cardkey_make(cardkey *ck)
{
	uint8_t *der = NULL, md[SHA256_DIGEST_LENGTH];
	if ((ck->k = EVP_RSA_gen(2048)) == NULL)
		return -1;
	int n = i2d_PUBKEY(ck->k, &der);
	if (n <= 0 || (size_t)(n + 2) / 3 * 4 >= sizeof(ck->spki_b64)) {
		OPENSSL_free(der);
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)ck->spki_b64, der, n);
	SHA256(der, (size_t)n, md);
	jpki_hex(md, sizeof(md), ck->spki_hex);
	OPENSSL_free(der);
	return 0;
}

/* The base64 signature over srv_pop_verify's text (api_issue.c). */
static inline int pop_sign(const cardkey *ck, const char *challenge,
			   const char *kind, long long resident,
			   const char *card, char *out, size_t cap)
{
	char msg[512];
	uint8_t sig[512];
	size_t sl = sizeof(sig);
	int n = snprintf(msg, sizeof(msg),
			 "openjpki-pop-v1\nchallenge=%s\nkind=%s\n"
			 "resident=%lld\ncard=%s\nspki-sha256=%s\n",
			 challenge, kind, resident, card, ck->spki_hex);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok =
	    ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ck->k) == 1 &&
	    EVP_DigestSign(ctx, sig, &sl, (const uint8_t *)msg, (size_t)n) ==
		1 &&
	    (sl + 2) / 3 * 4 < cap;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, sig, (int)sl);
	return 0;
}

/* ---- jpkid ---- */

/* --jpkid, else the sibling ../cmd/jpkid of this program, else
 * ./build/cmd/jpkid. */
static inline int find_jpkid(const char *given, char *out, size_t cap)
{
	char self[1024];
	if (given != NULL)
		return jpki_strlcpy(out, given, cap) == 0 ? 0 : -1;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(out, cap, "%s/../cmd/jpkid", self);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, cap, "./build/cmd/jpkid");
	return access(out, X_OK) == 0 ? 0 : -1;
}

/* Start jpkid on 127.0.0.1 and a free port, its output in
 * TMP/NAME.out and .err, with the extra arguments `extra` (NULL-ended,
 * may be NULL); its pid and port. */
static inline int start_jpkid(const char *exe, const char *dir, const char *tmp,
			      const char *name, const char *const *extra,
			      pid_t *pid, unsigned short *port)
{
	char outf[400], errf[400];
	const char *argv[32];
	int na = 0;
	argv[na++] = exe;
	argv[na++] = "--dir";
	argv[na++] = dir;
	argv[na++] = "--listen";
	argv[na++] = "127.0.0.1:0";
	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (na >= 31)
			return -1;
		argv[na++] = extra[i];
	}
	argv[na] = NULL;
	snprintf(outf, sizeof(outf), "%s/%s.out", tmp, name);
	snprintf(errf, sizeof(errf), "%s/%s.err", tmp, name);
	fflush(NULL); /* the child must not write our buffered output again */
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		if (freopen(outf, "w", stdout) == NULL ||
		    freopen(errf, "w", stderr) == NULL)
			_exit(127);
		setenv("JPKID_ADMIN_PASSWORD", BENCH_ADMIN_PW, 1);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	*pid = p;
	for (int i = 0; i < 300; i++) { /* 30 s at most */
		FILE *f = fopen(outf, "r");
		char line[256];
		unsigned v = 0;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line,
				   "jpkid: listening on http://127.0.0.1:%u",
				   &v) == 1 &&
			    v > 0 && v < 65536) {
				fclose(f);
				*port = (unsigned short)v;
				return 0;
			}
		if (f != NULL)
			fclose(f);
		if (waitpid(p, NULL, WNOHANG) == p) {
			*pid = 0;
			return -1;
		}
		usleep(100000);
	}
	return -1;
}

static inline void stop_jpkid(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) { /* 20 s, then SIGKILL */
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

#endif
