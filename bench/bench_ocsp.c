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
 * usage: bench_ocsp [SECONDS [CONNECTIONS]]  (env JPKID: the jpkid binary) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <sched.h>
#include <signal.h>
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
	for (int i = 0; i < 50; i++) {
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

int main(int argc, char **argv)
{
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
	snprintf(tmp, sizeof(tmp), "/tmp/jpki-bench-ocsp-XXXXXX");
	if (mkdtemp(tmp) == NULL)
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
