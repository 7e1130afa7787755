/* validation over HTTP on loopback: an OCSP responder (the x509/ encoder
 * behind a tiny server thread) with nonces, a replayed answer, and CRLs
 * downloaded with GET. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "test_validation_common.h"

static EVP_PKEY *k_root, *k_leaf;
static X509 *root, *good, *revoked;
static uint8_t *crl_der;
static size_t crl_len;
static char dp_text[512];

enum mode { SRV_OCSP, SRV_REPLAY, SRV_CRL };

typedef struct server {
	int fd;
	int port;
	enum mode mode;
	uint8_t *replay; /* SRV_REPLAY: the answer sent to every request */
	size_t replay_len;
	int served;
	pthread_t th;
} server;

static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void answer(int c, const char *status, const char *ctype,
		   const uint8_t *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
			 "%zu\r\nConnection: close\r\n\r\n",
			 status, ctype, len);
	if (write(c, head, (size_t)n) != n ||
	    (len > 0 && write(c, body, len) != (ssize_t)len))
		print_error("server: short write\n");
}

static void handle(server *s, int c)
{
	char head[8192];
	size_t n = 0;
	/* headers up to the blank line */
	while (n + 1 < sizeof(head)) {
		if (read(c, head + n, 1) != 1)
			return;
		n++;
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	head[n] = '\0';
	s->served++;
	if (s->mode == SRV_CRL) {
		if (strncmp(head, "GET /kiyose.crl ", 16) == 0)
			answer(c, "200 OK", "application/pkix-crl", crl_der,
			       crl_len);
		else
			answer(c, "404 Not Found", "text/plain",
			       (const uint8_t *)"no", 2);
		return;
	}
	const char *cl = strstr(head, "Content-Length:");
	size_t len = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
	uint8_t *body = len > 0 && len < 65536 ? malloc(len) : NULL;
	if (body == NULL || !read_full(c, body, len)) {
		free(body);
		return;
	}
	if (s->mode == SRV_REPLAY) {
		answer(c, "200 OK", "application/ocsp-response", s->replay,
		       s->replay_len);
	} else {
		const uint8_t rev[] = {0x11};
		fx_ocsp_ctx ctx = {rev, 1};
		uint8_t *resp = NULL;
		size_t rlen = 0;
		jpki_err err = {0};
		if (x509_ocsp_respond(body, len, root, k_root, fx_ocsp_lookup,
				      &ctx, fx_at(FX_NOW) - 60,
				      fx_at(FX_NOW) + 3600, &resp, &rlen,
				      &err) == 0)
			answer(c, "200 OK", "application/ocsp-response", resp,
			       rlen);
		free(resp);
	}
	free(body);
}

static void *serve(void *arg)
{
	server *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		handle(s, c);
		close(c);
	}
}

static void server_start(server *s, enum mode mode)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->mode = mode;
	s->served = 0;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

static int setup(void **state)
{
	(void)state;
	k_root = EVP_RSA_gen(2048);
	k_leaf = EVP_RSA_gen(2048);
	if (k_root == NULL || k_leaf == NULL)
		return -1;
	root = fx_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, k_root, 1,
		       "2025-01-05T01:02:03Z");
	good = fx_sign_leaf(JPKI_PROFILE_TEST, root, k_root, k_leaf, 0x10);
	revoked = fx_sign_leaf(JPKI_PROFILE_TEST, root, k_root, k_leaf, 0x11);
	const uint8_t rev[] = {0x11};
	X509_CRL *c =
	    fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, root, k_root, &fx_site,
		   rev, 1, JPKI_REASON_CERTIFICATE_HOLD, "2025-02-15T03:00:00Z",
		   "2025-03-01T00:00:00Z", "2025-03-03T00:00:00Z");
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(c, &der);
	crl_der = malloc((size_t)n);
	memcpy(crl_der, der, (size_t)n);
	crl_len = (size_t)n;
	OPENSSL_free(der);
	X509_CRL_free(c);
	fx_dp_text(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, &fx_site, dp_text,
		   sizeof(dp_text));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(crl_der);
	X509_free(good);
	X509_free(revoked);
	X509_free(root);
	EVP_PKEY_free(k_root);
	EVP_PKEY_free(k_leaf);
	return 0;
}

static jpki_validator *vnew(void)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, root, &err), 0);
	assert_int_equal(val_set_limits(v, 0, 0, 5, &err), 0);
	return v;
}

static void test_ocsp_responder(void **state)
{
	(void)state;
	server s;
	char url[64];
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_stats st;
	val_opts o = {fx_at(FX_NOW), fx_at(FX_NOW), VAL_PURPOSE_SIGN};
	server_start(&s, SRV_OCSP);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ocsp", s.port);
	assert_int_equal(val_set_ocsp_url(v, url, &err), 0);
	assert_int_equal(val_cert(v, good, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_int_equal(r.rev_source, VAL_SRC_OCSP);
	assert_string_equal(r.rev_where, url);
	val_result_clear(&r);
	assert_int_equal(val_cert(v, revoked, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	val_result_clear(&r);
	/* answered from the cache: no third request */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(val_cert(v, good, &o, &r, &err), 0);
		assert_true(r.rev_cached);
		val_result_clear(&r);
	}
	val_get_stats(v, &st);
	assert_int_equal(st.ocsp_queries, 2);
	server_stop(&s);
	assert_int_equal(s.served, 2);
	val_free(v);
}

/* A "good" answer recorded earlier (without our nonce) is refused. */
static void test_ocsp_replay(void **state)
{
	(void)state;
	server s;
	char url[64];
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_opts o = {fx_at(FX_NOW), fx_at(FX_NOW), VAL_PURPOSE_SIGN};
	fx_ocsp_ctx none = {NULL, 0};
	s.replay = fx_ocsp_resp(revoked, root, k_root, &none,
				"2025-03-01T12:00:00Z", 86400, &s.replay_len);
	server_start(&s, SRV_REPLAY);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	assert_int_equal(val_set_ocsp_url(v, url, &err), 0);
	assert_int_equal(val_cert(v, revoked, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "nonce"));
	val_result_clear(&r);
	server_stop(&s);
	free(s.replay);
	val_free(v);
}

static void test_crl_http(void **state)
{
	(void)state;
	server s;
	char loc[640];
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_opts o = {fx_at(FX_NOW), fx_at(FX_NOW), VAL_PURPOSE_SIGN};
	server_start(&s, SRV_CRL);
	snprintf(loc, sizeof(loc), "%s=http://127.0.0.1:%d/kiyose.crl", dp_text,
		 s.port);
	assert_int_equal(val_map_crl_spec(v, loc, &err), 0);
	assert_int_equal(val_cert(v, revoked, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	assert_int_equal(r.reason, JPKI_REASON_CERTIFICATE_HOLD);
	val_result_clear(&r);
	assert_int_equal(val_cert(v, good, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	assert_int_equal(s.served, 1); /* one download for both */
	val_free(v);
	/* a 404, and nobody listening */
	v = vnew();
	snprintf(loc, sizeof(loc), "http://127.0.0.1:%d/missing.crl", s.port);
	assert_int_equal(val_map_crl(v, dp_text, loc, &err), 0);
	assert_int_equal(val_cert(v, good, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "GET"));
	val_result_clear(&r);
	server_stop(&s);
	val_free(v);
	/* OpenSSL retries a refused connection until the timeout */
	v = vnew();
	assert_int_equal(val_set_limits(v, 0, 0, 1, &err), 0);
	assert_int_equal(val_map_crl(v, dp_text, loc, &err), 0);
	assert_int_equal(val_cert(v, good, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	val_result_clear(&r);
	val_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ocsp_responder),
	    cmocka_unit_test(test_ocsp_replay),
	    cmocka_unit_test(test_crl_http),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
