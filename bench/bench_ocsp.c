/* OCSP responses per second from jpkid (pre-signed, GET /ocsp/{base64}),
 * against nginx serving the same response bytes from a file and against
 * `openssl ocsp -index ... -port` (which signs each answer), all on
 * 127.0.0.1, measured with wrk (same threads and connections each).
 * Targets: >= 1.0 x nginx, >= 10 x openssl ocsp.
 *
 * Run as root it moves itself into a fresh network namespace with only
 * loopback up: `openssl ocsp -port` listens on every interface, and in
 * OpenSSL 3.0 spins when a client connects and closes without a request,
 * so it must see nothing but this benchmark; wrk's connection probe is
 * skipped by the Lua script for the same reason.  Every process started
 * is stopped by its PID.  Prints ratios and a final JSON line.
 *
 * usage: bench_ocsp [SECONDS [CONNECTIONS]]  (env JPKID: the jpkid binary)
 *
 * At size (issue #12): bench_ocsp --population N [--random] ...  fills the
 * store with N certificates by a bulk path and compares one hot
 * certificate with uniformly random ones (see population_main). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "openjpki/ca.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"
#include "server/server_int.h"

static char tmp[64];

static pid_t spawn(char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out_path ? out_path : "/dev/null",
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	/* a minute: jpkid saves its pre-signed answers as it stops */
	for (int i = 0; i < 600; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

/* Wait until something accepts on the port (bounded). */
static int wait_port(int port)
{
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = fd >= 0 &&
			 connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		usleep(100000);
	}
	return -1;
}

static int write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A CA with one authentication certificate: writes root.pem, cert.pem,
 * index.txt (openssl ocsp's database) and returns the certificate. */
static X509 *make_ca(const char *cadir, X509 **root_out)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	time_t now = time(NULL);
	ca_init_opts o = {.profile = JPKI_PROFILE_TEST, .now = now};
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	store_resident r;
	store_card c;
	ca_issued out;
	X509 *cert = NULL;
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	memset(&out, 0, sizeof(out));
	if (ca_init(cadir, &o, &err) != 0 ||
	    ca_open(cadir, NULL, &ca, &err) != 0 ||
	    registry_muni_put(ca, &m, now, "bench", &err) != 0)
		goto out;
	if (jpki_strlcpy(r.ext_id, "B1", sizeof(r.ext_id)) != 0 ||
	    jpki_strlcpy(r.name, "負荷　試験", sizeof(r.name)) != 0 ||
	    jpki_strlcpy(r.kana, "フカ", sizeof(r.kana)) != 0 ||
	    jpki_strlcpy(r.address, "東京都清瀬市", sizeof(r.address)) != 0 ||
	    jpki_date_parse("1985-04-01", &r.birth) != 0 ||
	    jpki_strlcpy(r.muni_code, "132217", sizeof(r.muni_code)) != 0)
		goto out;
	r.sex = 1;
	if (registry_resident_add(ca, &r, now, "bench", &err) != 0)
		goto out;
	if (jpki_strlcpy(c.serial, "BC1", sizeof(c.serial)) != 0)
		goto out;
	c.resident_id = r.id;
	c.issued = jpki_date_of(now);
	if (registry_card_record(ca, &c, now, "bench", &err) != 0)
		goto out;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	ca_issue_req q = {.resident_id = r.id,
			  .card_serial = "BC1",
			  .auth_pub = k,
			  .now = now};
	int rc = ca_issue(ca, &q, &out, &err);
	EVP_PKEY_free(k);
	if (rc != 0 || ca_issued_x509(&out, JPKI_CERT_AUTH, &cert, &err) != 0)
		goto out;
	*root_out = X509_dup(ca_root(ca, JPKI_CERT_AUTH));
	/* openssl ocsp's index: V, expiry, (no revocation), serial, file, DN */
	char line[512], exp[32];
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	snprintf(exp, sizeof(exp), "%.*s", ASN1_STRING_length(na),
		 (const char *)ASN1_STRING_get0_data(na));
	int n = snprintf(line, sizeof(line), "V\t%s\t\t%s\tunknown\t/CN=x\n",
			 exp[0] == '2' && strlen(exp) == 15 ? exp + 2 : exp,
			 out.auth_serial);
	write_file("index.txt", line, (size_t)n);
	write_file("index.txt.attr", "unique_subject = no\n", 20);
out:
	if (cert == NULL)
		fprintf(stderr, "bench_ocsp: CA: %s\n", err.msg);
	ca_issued_free(&out);
	ca_close(ca);
	return cert;
}

static int write_pem(const char *name, X509 *x)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int ok = PEM_write_X509(f, x);
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* wrk against url; returns requests/s (0 on failure, or when any answer
 * was not 2xx). */
static double run_wrk(const char *label, const char *url, int seconds,
		      int conns, int threads)
{
	char cmd[8192], line[512];
	double rps = 0;
	long bad = 0;
	snprintf(cmd, sizeof(cmd),
		 "wrk -t%d -c%d -d%ds --timeout 5s --latency -s %s/noprobe.lua "
		 "'%s' 2>&1",
		 threads, conns, seconds, tmp, url);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return 0;
	printf("== %s\n", label);
	while (fgets(line, sizeof(line), p) != NULL) {
		double v;
		long n;
		if (sscanf(line, "Requests/sec: %lf", &v) == 1)
			rps = v;
		if (sscanf(line, "  Non-2xx or 3xx responses: %ld", &n) == 1)
			bad = n;
		if (strstr(line, "Latency") != NULL || strstr(line, "99%") ||
		    strstr(line, "Requests/sec") || strstr(line, "Non-2xx") ||
		    strstr(line, "Socket errors"))
			fputs(line, stdout);
	}
	pclose(p);
	if (bad > 0) {
		printf("   %ld non-2xx answers: not counted\n", bad);
		return 0;
	}
	return rps;
}

/* ---- at size: --population N (issue #12) ----
 *
 * The store gets N authentication certificates by a bulk path (rows
 * inserted straight into the SQLite file, a one-octet placeholder for the
 * DER: the responder reads only serial, kind and status).  jpkid starts
 * on it and pre-signs (warm-up) for at most --warm seconds; then a client
 * of our own (one thread per keep-alive connection, loopback, bounded in
 * time) asks about one hot certificate and about uniformly random ones,
 * by GET and by POST, alternating in the same run.  An answer carrying an
 * ETag came from the pre-signed cache; one without was signed for the
 * request.  jpkid's VmRSS/VmHWM are read from /proc before and after. */

#define SN_LEN 16

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Certificate i's serial: 0x40|kind, a 40-bit sequence number and 80
 * bits derived from i (ca_leaf_serial's shape, reproducible). */
static void serial_of(size_t i, uint8_t sn[SN_LEN])
{
	uint64_t a = splitmix(i), b = splitmix(i ^ 0x5555555555ULL);
	sn[0] = 0x40 | JPKI_CERT_AUTH;
	for (int k = 0; k < 5; k++)
		sn[1 + k] = (uint8_t)((uint64_t)i >> (8 * (4 - k)));
	memcpy(sn + 6, &a, 8);
	memcpy(sn + 14, &b, 2);
}

static int fill_store(const char *cadir, size_t n, time_t now, double *secs)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *ce = NULL;
	int rc = -1;
	double t0 = bench_now();
	snprintf(path, sizeof(path), "%s/jpki.db", cadir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		db,
		"INSERT INTO certificates (serial, kind, muni_code, subject,"
		" not_before, not_after, status, der)"
		" VALUES (?1, ?2, '132217', '', ?3, ?4, 0, x'30')",
		-1, &ce, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint8_t sn[SN_LEN];
		char hex[2 * SN_LEN + 1];
		serial_of(i, sn);
		jpki_hex(sn, SN_LEN, hex);
		sqlite3_bind_text(ce, 1, hex, 2 * SN_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_int(ce, 2, JPKI_CERT_AUTH);
		sqlite3_bind_int64(ce, 3, (sqlite3_int64)(now - 86400 * 400));
		/* spread over four years, as the expiry walk would see them */
		sqlite3_bind_int64(
		    ce, 4,
		    (sqlite3_int64)(now + 86400 +
				    (time_t)(i % (86400 * 1460))));
		if (sqlite3_step(ce) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ce);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_ocsp: fill: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(ce);
	sqlite3_close(db);
	*secs = bench_now() - t0;
	return rc;
}

/* VmRSS and VmHWM of pid, in KiB. */
static void rss_of(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	*rss = *hwm = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
}

static int connect_port(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool has_header(const char *h, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + nl + 2 < n; i++)
		if (h[i] == '\n' && strncasecmp(h + i + 1, name, nl) == 0)
			return true;
	return false;
}

/* One HTTP/1.1 exchange on a keep-alive connection.  1 = 200 with an
 * ETag (pre-signed), 0 = 200 without, -1 = anything else. */
static int exchange(int fd, const char *req, size_t req_len, char *buf,
		    size_t cap, size_t *body_off, size_t *body_len)
{
	size_t sent = 0, got = 0;
	while (sent < req_len) {
		ssize_t w = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		sent += (size_t)w;
	}
	char *end = NULL;
	while (end == NULL) {
		if (got + 1 >= cap)
			return -1;
		ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	size_t hl = (size_t)(end - buf) + 4;
	long clen = -1;
	for (char *p = buf; p < end; p++)
		if (*p == '\n' &&
		    strncasecmp(p + 1, "content-length:", 15) == 0)
			clen = strtol(p + 16, NULL, 10);
	if (clen < 0 || hl + (size_t)clen >= cap)
		return -1;
	while (got < hl + (size_t)clen) {
		ssize_t r = recv(fd, buf + got, hl + (size_t)clen - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	if (body_off != NULL) {
		*body_off = hl;
		*body_len = (size_t)clen;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	return has_header(buf, hl, "etag:") ? 1 : 0;
}

typedef struct pop_req {
	const uint8_t *tmpl; /* OCSPRequest DER for certificate 0 */
	size_t tlen, sn_off; /* where the serial's octets sit */
	bool post;
	char host[32];
} pop_req;

/* The HTTP request asking about certificate i. */
static size_t build_req(const pop_req *q, size_t i, char *out, size_t cap)
{
	uint8_t der[512];
	char b64[1024];
	if (q->tlen > sizeof(der))
		return 0;
	memcpy(der, q->tmpl, q->tlen);
	serial_of(i, der + q->sn_off);
	if (q->post) {
		int n = snprintf(out, cap,
				 "POST /ocsp HTTP/1.1\r\nHost: %s\r\n"
				 "Content-Type: application/ocsp-request\r\n"
				 "Content-Length: %zu\r\n\r\n",
				 q->host, q->tlen);
		if (n < 0 || (size_t)n + q->tlen > cap)
			return 0;
		memcpy(out + n, der, q->tlen);
		return (size_t)n + q->tlen;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, (int)q->tlen);
	size_t bl = strlen(b64);
	while (bl > 0 && b64[bl - 1] == '=')
		b64[--bl] = '\0';
	for (size_t k = 0; k < bl; k++)
		b64[k] = b64[k] == '+' ? '-' : b64[k] == '/' ? '_' : b64[k];
	int n = snprintf(out, cap, "GET /ocsp/%s HTTP/1.1\r\nHost: %s\r\n\r\n",
			 b64, q->host);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

typedef struct worker {
	pthread_t th;
	const pop_req *q;
	int port;
	size_t pop, hot; /* pop 0: always `hot` */
	double until;
	long max_req;
	uint64_t rng;
	long ok, presigned, bad, reconnects;
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	char req[2048], buf[16384];
	int fd = connect_port(w->port);
	for (long k = 0; k < w->max_req && bench_now() < w->until; k++) {
		size_t i = w->hot;
		if (w->pop > 0) {
			w->rng = splitmix(w->rng);
			i = (size_t)(w->rng % w->pop);
		}
		size_t n = build_req(w->q, i, req, sizeof(req));
		if (fd < 0 || n == 0) {
			w->bad++;
			break;
		}
		int r = exchange(fd, req, n, buf, sizeof(buf), NULL, NULL);
		if (r < 0) {
			w->bad++;
			close(fd);
			w->reconnects++;
			fd = connect_port(w->port);
			continue;
		}
		w->ok++;
		w->presigned += r;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

typedef struct run_res {
	double rps, presigned_frac;
	long ok, bad;
} run_res;

static run_res run_clients(const pop_req *q, int port, int conns, int seconds,
			   size_t pop, size_t hot, const char *label)
{
	worker *w = calloc((size_t)conns, sizeof(*w));
	run_res res = {0};
	if (w == NULL)
		return res;
	double t0 = bench_now();
	int started = 0;
	for (int c = 0; c < conns; c++) {
		w[c] = (worker){
		    .q = q,
		    .port = port,
		    .pop = pop,
		    .hot = hot,
		    .until = t0 + seconds,
		    .max_req = 100000000L,
		    .rng = splitmix((uint64_t)c * 7919 + (uint64_t)(t0 * 1e6))};
		if (pthread_create(&w[c].th, NULL, worker_main, &w[c]) != 0)
			break;
		started++;
	}
	long presigned = 0;
	for (int c = 0; c < started; c++) {
		pthread_join(w[c].th, NULL);
		res.ok += w[c].ok;
		res.bad += w[c].bad;
		presigned += w[c].presigned;
	}
	double dt = bench_now() - t0;
	res.rps = dt > 0 ? (double)res.ok / dt : 0;
	res.presigned_frac = res.ok > 0 ? (double)presigned / res.ok : 0;
	printf("== %-34s %9.0f/s  %ld answers, %.1f%% pre-signed, %ld "
	       "failed\n",
	       label, res.rps, res.ok, 100.0 * res.presigned_frac, res.bad);
	fflush(stdout);
	free(w);
	return res;
}

/* jpkid_ocsp_cache_entries from /metrics; -1 when unreadable. */
static long cache_entries(int port)
{
	char buf[65536];
	size_t off = 0, len = 0;
	int fd = connect_port(port);
	const char *req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Connection: close\r\n\r\n";
	long v = -1;
	if (fd < 0)
		return -1;
	if (exchange(fd, req, strlen(req), buf, sizeof(buf), &off, &len) >= 0) {
		const char *p =
		    strstr(buf + off, "\njpkid_ocsp_cache_entries ");
		if (p != NULL)
			v = strtol(p + 26, NULL, 10);
	}
	close(fd);
	return v;
}

static void pop_usage(void)
{
	fprintf(
	    stderr,
	    "usage: bench_ocsp --population N [--random] [--seconds S]\n"
	    "                  [--connections C] [--cache N] [--warm S]\n"
	    "  --population N   certificates in the store (100..100000000)\n"
	    "  --random         also ask about uniformly random ones (the "
	    "point)\n"
	    "  --seconds S      per measured run (default 5)\n"
	    "  --connections C  keep-alive connections (default 32)\n"
	    "  --cache N        jpkid --ocsp-cache-max, answers ready in "
	    "memory\n"
	    "                   (default: N up to 200000); the rest "
	    "(--ocsp-presigned N)\n"
	    "                   on disk\n"
	    "  --warm S         at most S s of warm-up before measuring "
	    "(default 60;\n"
	    "                   it ends sooner once every answer is "
	    "pre-signed)\n"
	    "   or: bench_ocsp --cache-memory N [--cache H]\n"
	    "  memory per answer in jpkid's OCSP cache, in this process: "
	    "H ready\n"
	    "  (default 100000), N in the spill file\n");
}

/* --cache-memory N [--cache H]: memory per pre-signed answer measured in
 * this process, without HTTP or a signature per answer: one response is
 * signed by the CA, then installed into jpkid's own OCSP cache
 * (src/server/ocsp_cache.c) under N different CertIDs, H of them ready in
 * memory and the rest in the spill file.  VmRSS before and after each
 * tier gives the bytes per answer at 1M or more. */
static int cache_memory_main(long n, long hot_n)
{
	char cadir[128], path[512];
	X509 *root = NULL, *cert = NULL;
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	srv_ocsp_cache *hc = NULL, *cc = NULL;
	uint8_t *resp = NULL, *key = NULL;
	size_t resp_len = 0;
	int rc = 1;
	if (bench_tmpdir("ocsp", tmp, sizeof(tmp)) != 0)
		return 1;
	snprintf(cadir, sizeof(cadir), "%s/ca", tmp);
	if ((cert = make_ca(cadir, &root)) == NULL ||
	    ca_open(cadir, NULL, &ca, &err) != 0)
		goto out;
	/* the signed answer: the real certificate's, good */
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, root);
	unsigned char *der = NULL;
	int dl = 0;
	if (rq != NULL && id != NULL && OCSP_request_add0_id(rq, id) != NULL)
		dl = i2d_OCSP_REQUEST(rq, &der);
	else
		OCSP_CERTID_free(id);
	OCSP_REQUEST_free(rq);
	if (dl <= 0 || ca_ocsp(ca, JPKI_CERT_AUTH, der, (size_t)dl, time(NULL),
			       &resp, &resp_len, &err) != 0) {
		OPENSSL_free(der);
		goto out;
	}
	OPENSSL_free(der);
	/* the keys: CertIDs of certificate i (serial_of) */
	uint8_t sn[SN_LEN];
	serial_of(0, sn);
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	BIGNUM *bn = BN_bin2bn(sn, SN_LEN, NULL);
	unsigned char *kd = NULL;
	int kl = 0;
	id = NULL;
	if (ai != NULL && bn != NULL && BN_to_ASN1_INTEGER(bn, ai) != NULL)
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root),
				      X509_get0_pubkey_bitstr(root), ai);
	if (id != NULL)
		kl = i2d_OCSP_CERTID(id, &kd);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	if (kl <= SN_LEN || memcmp(kd + kl - SN_LEN, sn, SN_LEN) != 0) {
		OPENSSL_free(kd);
		fprintf(stderr, "bench_ocsp: CertID template\n");
		goto out;
	}
	key = malloc((size_t)kl);
	if (key == NULL) {
		OPENSSL_free(kd);
		goto out;
	}
	memcpy(key, kd, (size_t)kl);
	OPENSSL_free(kd);
	time_t now = time(NULL);
	long r0, r1, r2, r3, hw;
	rss_of(getpid(), &r0, &hw);
	if (srv_ocsp_cache_new((size_t)hot_n, (size_t)hot_n, NULL, 3600, &hc) !=
		0 ||
	    srv_ocsp_cache_new((size_t)n, 0, tmp, 3600, &cc) != 0)
		goto out;
	rss_of(getpid(), &r1, &hw);
	double t0 = bench_now();
	for (long i = 0; i < hot_n; i++) {
		serial_of((size_t)i, key + kl - SN_LEN);
		uint64_t g =
		    srv_ocsp_cache_capture(hc, key + kl - SN_LEN, SN_LEN);
		if (srv_ocsp_cache_install(hc, JPKI_CERT_AUTH, key, (size_t)kl,
					   key + kl - SN_LEN, SN_LEN, resp,
					   resp_len, g, now) != 0)
			goto out;
	}
	double t1 = bench_now();
	rss_of(getpid(), &r2, &hw);
	for (long i = 0; i < n; i++) {
		serial_of((size_t)i, key + kl - SN_LEN);
		uint64_t g =
		    srv_ocsp_cache_capture(cc, key + kl - SN_LEN, SN_LEN);
		if (srv_ocsp_cache_install(cc, JPKI_CERT_AUTH, key, (size_t)kl,
					   key + kl - SN_LEN, SN_LEN, resp,
					   resp_len, g, now) != 0)
			goto out;
	}
	double t2 = bench_now();
	rss_of(getpid(), &r3, &hw);
	if (srv_ocsp_cache_size(hc) != (size_t)hot_n ||
	    srv_ocsp_cache_size(cc) != (size_t)n ||
	    srv_ocsp_cache_hot(cc) != 0) {
		fprintf(stderr, "bench_ocsp: cache holds %zu and %zu\n",
			srv_ocsp_cache_size(hc), srv_ocsp_cache_size(cc));
		goto out;
	}
	double hot_b = hot_n > 0 ? (r2 - r1) * 1024.0 / hot_n : 0;
	double cold_b = (r3 - r2) * 1024.0 / n;
	/* 100M: 200,000 ready in memory, the rest cold, plus warm-up's
	 * list of every serial (48 bytes each, freed once warm) */
	double warm_b = 48;
	double proj = (r1 * 1024.0 + 200000 * hot_b +
		       (1e8 - 200000) * (cold_b + warm_b)) /
		      (1024.0 * 1024 * 1024);
	printf("bench_ocsp: one %zu-octet response, %d-octet CertIDs; "
	       "VmRSS %ld KiB at start\n"
	       "  %ld answers ready in memory: %.0f bytes each (%.1f s)\n"
	       "  %ld answers in the spill file: %.0f bytes of memory each "
	       "(%.1f s), %zu octets on disk each\n"
	       "projection for 100M (200,000 ready, warm-up list included): "
	       "%.1f GiB (target <= 24)\n",
	       resp_len, kl, r0, hot_n, hot_b, t1 - t0, n, cold_b, t2 - t1,
	       resp_len, proj);
	printf("{\"bench\":\"ocsp_cache_memory\",\"answers\":%ld,\"hot\":%ld,"
	       "\"response_octets\":%zu,\"key_octets\":%d,"
	       "\"hot_bytes_each\":%.0f,\"cold_bytes_each\":%.0f,"
	       "\"mib_per_million_cold\":%.1f,\"projection_100m_gib\":%.2f}\n",
	       n, hot_n, resp_len, kl, hot_b, cold_b, cold_b * 1e6 / 1048576.0,
	       proj);
	rc = 0;
out:
	if (rc != 0 && err.msg[0] != '\0')
		fprintf(stderr, "bench_ocsp: %s\n", err.msg);
	srv_ocsp_cache_free(hc);
	srv_ocsp_cache_free(cc);
	free(key);
	free(resp);
	ca_close(ca);
	X509_free(cert);
	X509_free(root);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
	if (system(path) != 0)
		fprintf(stderr, "bench_ocsp: could not remove %s\n", tmp);
	return rc;
}

static int population_main(int argc, char **argv)
{
	long pop = 0, cache = 0, memory_n = 0;
	int seconds = 5, conns = 32, warm = 60;
	bool random = false;
	char cadir[128], path[512], listen[64], th[16], cmax[32], pmax[32];
	char jpkid_bin[512];
	pid_t jpkid = 0;
	X509 *root = NULL, *cert = NULL;
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--random") == 0) {
			random = true;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			pop_usage();
			return 0;
		}
		if (v == NULL) {
			pop_usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--population") == 0)
			pop = atol(v);
		else if (strcmp(a, "--seconds") == 0)
			seconds = atoi(v);
		else if (strcmp(a, "--connections") == 0)
			conns = atoi(v);
		else if (strcmp(a, "--cache") == 0)
			cache = atol(v);
		else if (strcmp(a, "--warm") == 0)
			warm = atoi(v);
		else if (strcmp(a, "--cache-memory") == 0)
			memory_n = atol(v);
		else {
			pop_usage();
			return 2;
		}
	}
	if (memory_n > 0)
		return memory_n <= 100000000
			   ? cache_memory_main(memory_n,
					       cache > 0 ? cache : 100000)
			   : 2;
	if (cache == 0)
		cache = pop < 200000 ? pop : 200000;
	if (pop < 100 || pop > 100000000 || seconds < 1 || seconds > 120 ||
	    conns < 1 || conns > 512 || cache < 1 || cache > 100000000 ||
	    warm < 0 || warm > 7200) {
		pop_usage();
		return 2;
	}
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	const char *env = getenv("JPKID");
	if (env != NULL) {
		snprintf(jpkid_bin, sizeof(jpkid_bin), "%s", env);
	} else {
		char self[400];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(jpkid_bin, sizeof(jpkid_bin), "%s/../cmd/jpkid", self);
	}
	if (bench_tmpdir("ocsp", tmp, sizeof(tmp)) != 0)
		return 1;
	snprintf(cadir, sizeof(cadir), "%s/ca", tmp);
	time_t now = time(NULL);
	double fill_s = 0;
	if ((cert = make_ca(cadir, &root)) == NULL ||
	    fill_store(cadir, (size_t)pop, now, &fill_s) != 0)
		goto out;
	printf("bench_ocsp: %ld certificates filled in %.1f s (bulk path)\n",
	       pop, fill_s);
	/* the request template: one SHA-1 CertID for certificate 0 */
	pop_req q = {.post = false};
	uint8_t sn[SN_LEN];
	serial_of(0, sn);
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	BIGNUM *bn = BN_bin2bn(sn, SN_LEN, NULL);
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL;
	int dl = 0;
	if (ai != NULL && bn != NULL && BN_to_ASN1_INTEGER(bn, ai) != NULL)
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root),
				      X509_get0_pubkey_bitstr(root), ai);
	if (rq != NULL && id != NULL && OCSP_request_add0_id(rq, id) != NULL)
		dl = i2d_OCSP_REQUEST(rq, &der);
	else
		OCSP_CERTID_free(id);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	OCSP_REQUEST_free(rq);
	uint8_t *at = dl > 0 ? memmem(der, (size_t)dl, sn, SN_LEN) : NULL;
	if (at == NULL) {
		OPENSSL_free(der);
		fprintf(stderr, "bench_ocsp: request template\n");
		goto out;
	}
	q.tmpl = der;
	q.tlen = (size_t)dl;
	q.sn_off = (size_t)(at - der);

	int port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(q.host, sizeof(q.host), "127.0.0.1:%d", port);
	snprintf(th, sizeof(th), "%d", threads);
	snprintf(cmax, sizeof(cmax), "%ld", cache);
	snprintf(pmax, sizeof(pmax), "%ld", pop);
	snprintf(path, sizeof(path), "%s/jpkid.log", tmp);
	char *jargv[] = {jpkid_bin, "--dir",
			 cadir,	    "--listen",
			 listen,    "--threads",
			 th,	    "--ocsp-cache-max",
			 cmax,	    "--ocsp-presigned",
			 pmax,	    NULL};
	double t_start = bench_now();
	jpkid = spawn(jargv, path);
	if (wait_port(port) != 0) {
		fprintf(stderr, "bench_ocsp: jpkid did not start (%s)\n",
			jpkid_bin);
		goto out;
	}
	long rss0, hwm0, rss1, hwm1, rss2, hwm2;
	rss_of(jpkid, &rss0, &hwm0);
	/* warm-up: until the cache holds what it can, or --warm s */
	long want = pop, entries = 0;
	/* memory per answer: the slope of VmRSS over the warm-up, hot
	 * (ready responses) up to --cache, cold (on disk) past it; the
	 * warm-up's own list is allocated before the first answer */
	long e_a = -1, r_a = 0, e_b = -1, r_b = 0, e_c = -1, r_c = 0;
	double t_warm = bench_now();
	for (;;) {
		long r, hw;
		entries = cache_entries(port);
		rss_of(jpkid, &r, &hw);
		if (entries > 0 && e_a < 0) {
			e_a = entries;
			r_a = r;
		}
		if (entries > 0 && entries <= cache) {
			e_b = entries;
			r_b = r;
		}
		if (entries > cache) {
			e_c = entries;
			r_c = r;
		}
		if (entries >= want || bench_now() - t_warm >= warm)
			break;
		usleep(500000);
	}
	double warm_s = bench_now() - t_warm;
	rss_of(jpkid, &rss1, &hwm1);
	printf("bench_ocsp: jpkid up in %.1f s; warm-up %.1f s: %ld of %ld "
	       "answers pre-signed (%.0f/s); VmRSS %ld -> %ld KiB\n",
	       t_warm - t_start, warm_s, entries, pop,
	       warm_s > 0 ? entries / warm_s : 0, rss0, rss1);
	double load[3] = {0};
	if (getloadavg(load, 3) < 0)
		load[0] = -1;
	printf("bench_ocsp: %d s per run, %d keep-alive connections, %d "
	       "jpkid threads, load average %.2f before\n",
	       seconds, conns, threads, load[0]);
	/* the hot certificate: the first whose second answer is pre-signed */
	size_t hot = 0;
	bool hot_ok = false;
	for (size_t i = 0; i < 64 && i < (size_t)pop && !hot_ok; i++) {
		char req[2048], buf[16384];
		size_t n = build_req(&q, i, req, sizeof(req));
		int fd = connect_port(port);
		if (fd >= 0 && n > 0 &&
		    exchange(fd, req, n, buf, sizeof(buf), NULL, NULL) >= 0 &&
		    exchange(fd, req, n, buf, sizeof(buf), NULL, NULL) == 1) {
			hot = i;
			hot_ok = true;
		}
		if (fd >= 0)
			close(fd);
	}
	if (!hot_ok)
		printf("bench_ocsp: no pre-signed answer for a hot "
		       "certificate: the hot runs sign too\n");
	run_res hg, hp, rg = {0}, rp = {0};
	hg = run_clients(&q, port, conns, seconds, 0, hot,
			 "GET, one hot certificate");
	if (random)
		rg = run_clients(&q, port, conns, seconds, (size_t)pop, 0,
				 "GET, uniformly random");
	q.post = true;
	hp = run_clients(&q, port, conns, seconds, 0, hot,
			 "POST, one hot certificate");
	if (random)
		rp = run_clients(&q, port, conns, seconds, (size_t)pop, 0,
				 "POST, uniformly random");
	rss_of(jpkid, &rss2, &hwm2);
	if (getloadavg(load + 1, 1) < 0)
		load[1] = -1;
	double hot_kib = e_b > e_a ? (double)(r_b - r_a) / (e_b - e_a) : 0;
	/* no answer reached the spill file: no cold figure (0), nor a
	 * projection */
	double cold_kib =
	    e_c > e_b && e_b > 0 ? (double)(r_c - r_b) / (e_c - e_b) : 0;
	double base_kib = r_a - e_a * hot_kib;
	/* 100M answers: --cache of them hot, the rest cold */
	double per_m_kib = cold_kib * 1e6;
	double proj_gib = cold_kib > 0 ? (base_kib + hot_kib * (double)cache +
					  cold_kib * (1e8 - cache)) /
					     (1024.0 * 1024.0)
				       : 0;
	printf("\nVmRSS slope over the warm-up (coarse below ~1M answers; "
	       "--cache-memory\nmeasures bytes per answer):\n");
	/* a warm-up faster than the 0.5 s samples leaves a tier with
	 * fewer than two of them: no slope then, rather than a false 0 */
	if (e_b > e_a)
		printf("  %.2f KiB per answer ready in memory (%ld..%ld "
		       "answers)\n",
		       hot_kib, e_a, e_b);
	else
		printf("  per answer ready in memory: not sampled\n");
	if (cold_kib > 0)
		printf("  %.2f KiB per answer on disk (%ld..%ld answers)\n",
		       cold_kib, e_b, e_c);
	else
		printf("  per answer on disk: not sampled\n");
	double ratio_g = hg.rps > 0 ? rg.rps / hg.rps : 0;
	double ratio_p = hp.rps > 0 ? rp.rps / hp.rps : 0;
	printf("\nrandom/hot: GET x%.2f, POST x%.2f (target >= 0.5)\n"
	       "jpkid VmRSS %ld KiB at start, %ld after warm-up, %ld after "
	       "the runs (VmHWM %ld)\n",
	       ratio_g, ratio_p, rss0, rss1, rss2, hwm2);
	if (cold_kib > 0)
		printf("memory per million answers past the cache: %.0f MiB; "
		       "projection for 100M (%ld ready in memory): %.1f GiB "
		       "(target <= 24)\n",
		       per_m_kib / 1024.0, cache, proj_gib);
	else
		printf("memory per million answers past the cache: not "
		       "sampled (bench_ocsp --cache-memory N measures it)\n");
	printf("load average %.2f after\n", load[1]);
	printf("{\"bench\":\"ocsp_population\",\"population\":%ld,"
	       "\"cache_max\":%ld,\"fill_s\":%.1f,\"warm_s\":%.1f,"
	       "\"presigned\":%ld,\"seconds\":%d,\"connections\":%d,"
	       "\"hot_get_rps\":%.0f,\"random_get_rps\":%.0f,"
	       "\"hot_post_rps\":%.0f,\"random_post_rps\":%.0f,"
	       "\"random_presigned_frac\":%.3f,\"ratio_get\":%.3f,"
	       "\"ratio_post\":%.3f,\"rss_start_kib\":%ld,"
	       "\"rss_warm_kib\":%ld,\"rss_end_kib\":%ld,\"hwm_kib\":%ld,"
	       "\"hot_kib_each\":%.3f,\"cold_kib_each\":%.3f,"
	       "\"mib_per_million\":%.1f,\"projection_100m_gib\":%.1f,"
	       "\"failed\":%ld,\"load_before\":%.2f,\"load_after\":%.2f}\n",
	       pop, cache, fill_s, warm_s, entries, seconds, conns, hg.rps,
	       rg.rps, hp.rps, rp.rps,
	       (rg.presigned_frac + rp.presigned_frac) / 2, ratio_g, ratio_p,
	       rss0, rss1, rss2, hwm2, hot_kib, cold_kib, per_m_kib / 1024.0,
	       proj_gib, hg.bad + rg.bad + hp.bad + rp.bad, load[0], load[1]);
	OPENSSL_free(der);
	rc = hg.ok > 0 && hp.ok > 0 && (!random || (rg.ok > 0 && rp.ok > 0))
		 ? 0
		 : 1;
out:
	stop(jpkid, SIGTERM);
	X509_free(cert);
	X509_free(root);
	if (getenv("BENCH_KEEP") != NULL) {
		printf("kept %s\n", tmp);
		return rc;
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
	if (system(path) != 0)
		fprintf(stderr, "bench_ocsp: could not remove %s\n", tmp);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strncmp(argv[1], "--", 2) == 0)
		return population_main(argc, argv);
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	int conns = argc > 2 ? atoi(argv[2]) : 64;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	char cadir[128], path[512], url[8192], b64[2048], b64std[3072];
	char jpkid_bin[512];
	pid_t jpkid = 0, nginx = 0, ossl = 0;
	X509 *root = NULL, *cert = NULL;
	bool isolated = false;
	int rc = 1;
	if (seconds < 1 || seconds > 60 || conns < 1 || conns > 4096) {
		fprintf(stderr,
			"usage: bench_ocsp [SECONDS 1-60 [CONNECTIONS]]\n");
		return 2;
	}
	if (threads < 1)
		threads = 1;
	const char *env = getenv("JPKID");
	if (env != NULL) {
		snprintf(jpkid_bin, sizeof(jpkid_bin), "%s", env);
	} else {
		char self[400];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(jpkid_bin, sizeof(jpkid_bin), "%s/../cmd/jpkid", self);
	}
	if (system("command -v wrk >/dev/null") != 0) {
		printf(
		    "bench_ocsp: wrk not installed (scripts/install-deps.sh): "
		    "skipped\n");
		return 0;
	}
	/* loopback only, in a namespace of our own (needs root) */
	if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0 &&
	    system("ip link set lo up") == 0)
		isolated = true;
	if (bench_tmpdir("ocsp", tmp, sizeof(tmp)) != 0)
		return 1;
	chmod(tmp, 0755); /* nginx workers read the response file */
	snprintf(cadir, sizeof(cadir), "%s/ca", tmp);
	if ((cert = make_ca(cadir, &root)) == NULL ||
	    write_pem("root.pem", root) || write_pem("cert.pem", cert))
		goto out;
	/* the request: one SHA-1 CertID, no nonce (RFC 5019) */
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, root);
	unsigned char *der = NULL;
	int dl = 0;
	if (rq == NULL || id == NULL || OCSP_request_add0_id(rq, id) == NULL ||
	    (dl = i2d_OCSP_REQUEST(rq, &der)) <= 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, der, dl);
	for (size_t i = 0, o = 0; b64[i] != '\0' && o + 4 < sizeof(b64std);
	     i++) {
		const char *enc = b64[i] == '+'	  ? "%2B"
				  : b64[i] == '/' ? "%2F"
				  : b64[i] == '=' ? "%3D"
						  : NULL;
		if (enc != NULL) {
			memcpy(b64std + o, enc, 3);
			o += 3;
		} else {
			b64std[o++] = b64[i];
		}
		b64std[o] = '\0';
	}
	for (char *q = b64; *q; q++)
		*q = *q == '+' ? '-' : *q == '/' ? '_' : *q;
	for (size_t n = strlen(b64); n > 0 && b64[n - 1] == '='; n--)
		b64[n - 1] = '\0';
	OPENSSL_free(der);
	OCSP_REQUEST_free(rq);
	const char *lua = "-- skip wrk's connection probe (see bench_ocsp.c)\n"
			  "function wrk.resolve(host, service)\n"
			  "  wrk.addrs = wrk.lookup(host, service)\nend\n";
	write_file("noprobe.lua", lua, strlen(lua));

	/* jpkid */
	int jport = free_port(), nport = free_port(), oport = free_port();
	char listen[64], th[16];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", jport);
	snprintf(th, sizeof(th), "%d", threads);
	snprintf(path, sizeof(path), "%s/jpkid.log", tmp);
	char *jargv[] = {jpkid_bin, "--dir",	 cadir, "--listen",
			 listen,    "--threads", th,	NULL};
	jpkid = spawn(jargv, path);
	if (wait_port(jport) != 0) {
		fprintf(stderr, "bench_ocsp: jpkid did not start (%s)\n",
			jpkid_bin);
		goto out;
	}
	/* the pre-signed answer, fetched once: nginx serves these bytes */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ocsp/%s", jport, b64);
	char cmd[24576];
	for (int i = 0; i < 50; i++) {
		snprintf(cmd, sizeof(cmd),
			 "curl -sf -o %s/www/ocsp/%s --create-dirs '%s' && "
			 "curl -s '%s' | cmp -s - %s/www/ocsp/%s",
			 tmp, b64, url, url, tmp, b64);
		if (system(cmd) == 0)
			break; /* two fetches, same bytes: served pre-signed */
		usleep(100000);
	}
	snprintf(path, sizeof(path), "%s/nginx.conf", tmp);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		goto out;
	fprintf(
	    f,
	    "worker_processes %d;\ndaemon off;\npid %s/nginx.pid;\n"
	    "error_log %s/nginx.err;\n%s"
	    "events { worker_connections 4096; }\n"
	    /* tuned as a careful admin would: no access log, sendfile,
	     * descriptors cached, keep-alive connections never recycled */
	    "http {\n access_log off;\n sendfile on;\n tcp_nopush on;\n"
	    " tcp_nodelay on;\n open_file_cache max=64 inactive=60s;\n"
	    " open_file_cache_valid 60s;\n keepalive_requests 10000000;\n"
	    " keepalive_timeout 75s;\n default_type "
	    "application/ocsp-response;\n"
	    " types { }\n server {\n  listen 127.0.0.1:%d;\n  root %s/www;\n"
	    " }\n}\n",
	    threads, tmp, tmp, geteuid() == 0 ? "user root;\n" : "", nport,
	    tmp);
	fclose(f);
	char *nargv[] = {"nginx", "-c", path, "-p", tmp, "-e", "stderr", NULL};
	char nlog[300];
	snprintf(nlog, sizeof(nlog), "%s/nginx.log", tmp);
	nginx = spawn(nargv, nlog);
	if (wait_port(nport) != 0) {
		fprintf(stderr, "bench_ocsp: nginx did not start\n");
		goto out;
	}

	printf("bench_ocsp: %d s per run, %d connections, %d wrk threads, "
	       "%d server threads/workers, %s\n",
	       seconds, conns, threads, threads,
	       isolated ? "own network namespace (loopback only)"
			: "host loopback");
	double j = run_wrk("jpkid GET /ocsp/{base64} (pre-signed)", url,
			   seconds, conns, threads);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ocsp/%s", nport, b64);
	double n = run_wrk("nginx, the same bytes from a file", url, seconds,
			   conns, threads);
	stop(nginx, SIGTERM);
	nginx = 0;
	double o = 0;
	if (isolated) {
		char port[16], idx[300], rs[300], rk[300];
		snprintf(port, sizeof(port), "%d", oport);
		snprintf(idx, sizeof(idx), "%s/index.txt", tmp);
		snprintf(rs, sizeof(rs), "%s/root.pem", tmp);
		snprintf(rk, sizeof(rk), "%s/keys/auth-root.key.pem", cadir);
		char *oargv[] = {"openssl", "ocsp", "-index",	idx,
				 "-port",   port,   "-rsigner", rs,
				 "-rkey",   rk,	    "-CA",	rs,
				 "-ndays",  "1",    NULL};
		char olog[300];
		snprintf(olog, sizeof(olog), "%s/openssl.log", tmp);
		ossl = spawn(oargv, olog);
		/* not wait_port: a connection closed without a request makes
		 * it spin; its own log line says when it listens */
		bool up = false;
		for (int i = 0; i < 100 && !up; i++) {
			snprintf(cmd, sizeof(cmd), "grep -qi waiting '%s'",
				 olog);
			up = system(cmd) == 0;
			if (!up)
				usleep(100000);
		}
		if (up) {
			/* openssl reads standard base64, %-encoded */
			snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s",
				 oport, b64std);
			o = run_wrk("openssl ocsp -index -port (signs each)",
				    url, seconds, conns, threads);
		}
		stop(ossl, SIGTERM);
		ossl = 0;
	} else {
		printf("== openssl ocsp: skipped (needs root for a network "
		       "namespace: it listens on every interface)\n");
	}
	printf("\njpkid %.0f/s, nginx %.0f/s (x%.2f), openssl ocsp %.0f/s "
	       "(x%.1f)\n",
	       j, n, n > 0 ? j / n : 0, o, o > 0 ? j / o : 0);
	printf("{\"bench\":\"ocsp\",\"seconds\":%d,\"connections\":%d,"
	       "\"threads\":%d,\"jpkid_rps\":%.0f,\"nginx_rps\":%.0f,"
	       "\"openssl_ocsp_rps\":%.0f,\"vs_nginx\":%.3f,"
	       "\"vs_openssl_ocsp\":%.1f,\"isolated\":%s}\n",
	       seconds, conns, threads, j, n, o, n > 0 ? j / n : 0,
	       o > 0 ? j / o : 0, isolated ? "true" : "false");
	rc = j > 0 ? 0 : 1;
out:
	stop(ossl, SIGTERM);
	stop(nginx, SIGTERM);
	stop(jpkid, SIGTERM);
	X509_free(cert);
	X509_free(root);
	if (getenv("BENCH_KEEP") != NULL) {
		printf("kept %s\n", tmp);
		return rc;
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
	if (system(path) != 0)
		fprintf(stderr, "bench_ocsp: could not remove %s\n", tmp);
	return rc;
}
