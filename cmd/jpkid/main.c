/* jpkid: the service (docs/design.md, "jpkid").  Parses flags, raises the
 * descriptor limit, starts the server, waits for SIGINT/SIGTERM, stops. */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "openjpki/keystore.h"
#include "openjpki/server.h"
#include "openjpki/util.h"

static pthread_t main_thread;

/* SIGINT/SIGTERM reached a thread other than main (every thread the
 * server starts blocks them; a sanitizer's or a library's may not):
 * hand it to the main thread, whose sigwait takes it */
static void on_stop_signal(int sig)
{
	int saved = errno;
	if (pthread_equal(pthread_self(), main_thread)) {
		/* the main thread itself (its sigwait is over, or this is a
		 * forked child): passing it on would loop, so stop */
		signal(sig, SIG_DFL);
		raise(sig);
	} else {
		(void)pthread_kill(main_thread, sig);
	}
	errno = saved;
}

static const char usage[] =
    "usage: jpkid --dir DIR [--store LOCATION] [--listen ADDR:PORT]\n"
    "             [--threads N] [--workers N] [--queue N] [--deadline-ms MS]\n"
    "             [--issue-batch N] [--ocsp-cache-max N]\n"
    "             [--ocsp-presigned N] [--max-age S]\n"
    "             [--insecure-cookies] [--login-nonce-ttl S]\n"
    "             [--tls-listen ADDR:PORT --tls-cert F --tls-key F\n"
    "              [--tls-client-ca F]]\n"
    "             [--signer [--signer-exe PATH] [--signer-arg ARG]...]\n\n"
    "The JPKI service: OCSP (POST /ocsp, GET /ocsp/{base64}), CRLs\n"
    "(/crl/sign/{muni}.crl, /crl/auth/{muni}.crl, /crl/{sign,auth}/full.crl,\n"
    "/arl/{sign,auth}.crl), the counter's API (/api/v1/...), /healthz and\n"
    "/metrics.  Listens on 127.0.0.1:8080 unless told otherwise (port 0: any\n"
    "free port, printed on start).  A test-profile CA is created in DIR when\n"
    "it holds none; the first operator \"admin\" (ca-admin) gets the password\n"
    "in $JPKID_ADMIN_PASSWORD, or a random one printed once.\n"
    "--store LOCATION  the CA's store: a path, sqlite:PATH or a libpq URI\n"
    "                  postgresql://... (several hosts with\n"
    "                  target_session_attrs=read-write); default the\n"
    "                  directory's SQLite file\n"
    "--threads N       HTTP threads (default: the number of CPUs)\n"
    "--workers N       worker threads per class (default 2; issuance: cores + "
    "1)\n"
    "--queue N         requests queued per class before 503 (default per "
    "class)\n"
    "--deadline-ms MS  a queued request older than this gets 503\n"
    "--issue-batch N   issuance requests per group commit (default 32)\n"
    "--ocsp-cache-max N  OCSP answers ready in memory (default 200000)\n"
    "--ocsp-presigned N  OCSP answers pre-signed in all; past the cache\n"
    "                  on disk in DIR, ~150 bytes of memory each\n"
    "--test-clock-offset DAYS  tests only: run the service's clock DAYS\n"
    "                  ahead (or behind); a production-profile CA refuses\n"
    "--login-nonce-ttl S  seconds a relying party's log-in nonce is valid\n"
    "                  (default 120)\n"
    "--trust-jlis      /api/v1/verify and log-in also trust the four real\n"
    "                  J-LIS roots of the data folder's jpki-roots/ (the\n"
    "                  installed share/openjpki, the source tree's data/, or\n"
    "                  $JPKI_DATA_DIR), each checked against its pinned\n"
    "                  SHA-256; not by default\n"
    "--body-budget-mb N         request bodies buffered at once, all\n"
    "                  clients (default 256); past it 503 at once\n"
    "--client-body-budget-mb N  the same for one client (default 32)\n"
    "--body-seconds S  a request body must arrive within S seconds\n"
    "                  (default 60); a slower one is cut\n"
    "--client-challenge-rate R  log-in/consent challenges one client may\n"
    "                  open a second (default 2); past it 429\n"
    "--client-challenge-burst N ... and at once (default 64)\n"
    "--check-full      check the whole store (SQLite integrity_check,\n"
    "                  indexes too) instead of the quick check every start\n"
    "                  runs; a damaged store is refused either way\n"
    "--audit-syslog    each signed audit checkpoint (after every\n"
    "                  revocation, and a minute while the log grows) also\n"
    "                  goes to syslog (authpriv), for a remote collector\n"
    "--trust-proxy ADDR  requests from ADDR (a reverse proxy) count\n"
    "                  against the last address of X-Forwarded-For\n"
    "--tls-listen ADDR:PORT  also serve every route over TLS (1.2, 1.3)\n"
    "                  with --tls-cert and --tls-key (PEM), where each\n"
    "                  request needs a client certificate verifying under\n"
    "                  --tls-client-ca (PEM; default this CA's\n"
    "                  authentication root: the card's 利用者証明用 key)\n"
    "--signer          the CA's keys stay in jpki-signer, a child process\n"
    "                  (started again when it dies) that alone opens the\n"
    "                  keystore and signs only what passes the profile;\n"
    "                  jpkid holds no private key (the CA must exist)\n"
    "--signer-exe PATH the signer program (default: jpki-signer beside\n"
    "                  jpkid)\n"
    "--signer-arg ARG  one more argument for the signer (repeatable), e.g.\n"
    "                  --signer-arg --user --signer-arg jpki-signer\n";

static int num(const char *opt, const char *v, int lo, int hi, int *out)
{
	char *end = NULL;
	long n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || n < lo || n > hi) {
		fprintf(stderr, "jpkid: %s: a number from %d to %d, not %s\n",
			opt, lo, hi, v);
		return 2;
	}
	*out = (int)n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"tls-listen", required_argument, NULL, 0x101},
	    {"tls-cert", required_argument, NULL, 0x102},
	    {"tls-key", required_argument, NULL, 0x103},
	    {"tls-client-ca", required_argument, NULL, 0x104},
	    {"threads", required_argument, NULL, 't'},
	    {"workers", required_argument, NULL, 'w'},
	    {"queue", required_argument, NULL, 'q'},
	    {"deadline-ms", required_argument, NULL, 'D'},
	    {"issue-batch", required_argument, NULL, 'b'},
	    {"ocsp-cache-max", required_argument, NULL, 'o'},
	    {"ocsp-presigned", required_argument, NULL, 0x1A0},
	    {"max-age", required_argument, NULL, 'm'},
	    {"insecure-cookies", no_argument, NULL, 'i'},
	    {"login-nonce-ttl", required_argument, NULL, 'N'},
	    {"test-clock-offset", required_argument, NULL, 'T'},
	    {"trust-jlis", no_argument, NULL, 'J'},
	    {"body-budget-mb", required_argument, NULL, 'B'},
	    {"client-body-budget-mb", required_argument, NULL, 'C'},
	    {"client-challenge-rate", required_argument, NULL, 'R'},
	    {"client-challenge-burst", required_argument, NULL, 'U'},
	    {"trust-proxy", required_argument, NULL, 'P'},
	    {"body-seconds", required_argument, NULL, 'S'},
	    {"check-full", no_argument, NULL, 'F'},
	    {"audit-syslog", no_argument, NULL, 'A'},
	    {"signer", no_argument, NULL, 'K'},
	    {"signer-exe", required_argument, NULL, 'X'},
	    {"signer-arg", required_argument, NULL, 'G'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	server_config cfg;
	char created[SERVER_PASSWORD_MAX + 1];
	jpki_err err = {0};
	jpki_malloc_keep();
	server *srv = NULL;
	sigset_t set;
	int c, sig = 0, rc = 0;
	bool trust_jlis = false, use_signer = false;
	const char *signer_exe = NULL;
	static const char *signer_argv[40];
	size_t signer_argc = 2; /* --dir DIR first */
	char signer_path[4096];
	static char admin_pw[SERVER_PASSWORD_MAX + 1];
	char jlis_dir[4096];
	memset(&cfg, 0, sizeof(cfg));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': cfg.dir = optarg; break;
		case 's': cfg.store = optarg; break;
		case 'l': cfg.listen = optarg; break;
		case 0x101: cfg.tls_listen = optarg; break;
		case 0x102: cfg.tls_cert = optarg; break;
		case 0x103: cfg.tls_key = optarg; break;
		case 0x104: cfg.tls_client_ca = optarg; break;
		case 't':
			rc = num("--threads", optarg, 1, 256, &cfg.threads);
			break;
		case 'w':
			rc = num("--workers", optarg, 1, 64, &cfg.workers);
			break;
		case 'q':
			rc = num("--queue", optarg, 1, 65536, &cfg.queue);
			break;
		case 'D':
			rc = num("--deadline-ms", optarg, 1, 600000,
				 &cfg.deadline_ms);
			break;
		case 'b':
			rc = num("--issue-batch", optarg, 1, 256,
				 &cfg.issue_batch);
			break;
		case 'o':
			rc = num("--ocsp-cache-max", optarg, 1, 100000000,
				 &cfg.ocsp_cache_max);
			break;
		case 0x1A0:
			rc = num("--ocsp-presigned", optarg, 1, 1000000000,
				 &cfg.ocsp_presigned_max);
			break;
		case 'm':
			rc = num("--max-age", optarg, 1, 86400,
				 &cfg.ocsp_max_age);
			break;
		case 'i': cfg.insecure_cookies = true; break;
		case 'J': trust_jlis = true; break;
		case 'B':
			rc = num("--body-budget-mb", optarg, 1, 65536,
				 &cfg.body_budget_mb);
			break;
		case 'C':
			rc = num("--client-body-budget-mb", optarg, 1, 65536,
				 &cfg.client_body_budget_mb);
			break;
		case 'R': {
			int per_s = 0;
			rc = num("--client-challenge-rate", optarg, 1, 100000,
				 &per_s);
			cfg.challenge_rate = per_s;
			break;
		}
		case 'U':
			rc = num("--client-challenge-burst", optarg, 1, 1000000,
				 &cfg.challenge_burst);
			break;
		case 'P': cfg.trust_proxy = optarg; break;
		case 'F': cfg.check_full = true; break;
		case 'A': cfg.audit_syslog = true; break;
		case 'K': use_signer = true; break;
		case 'X': signer_exe = optarg; break;
		case 'G':
			if (signer_argc + 1 >=
			    sizeof(signer_argv) / sizeof(signer_argv[0])) {
				fputs("jpkid: too many --signer-arg\n", stderr);
				return 2;
			}
			signer_argv[signer_argc++] = optarg;
			break;
		case 'S':
			rc = num("--body-seconds", optarg, 1, 3600,
				 &cfg.body_seconds);
			break;
		case 'N':
			rc = num("--login-nonce-ttl", optarg, 1, 3600,
				 &cfg.login_nonce_ttl);
			break;
		case 'T': {
			int days = 0;
			rc = num("--test-clock-offset", optarg, -36500, 36500,
				 &days);
			cfg.clock_offset = (long long)days * 86400;
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
		if (rc != 0)
			return rc;
	}
	if (cfg.dir == NULL || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	/* the first operator's password: copied, then wiped from the
	 * environment block itself (/proc/PID/environ shows that block, so
	 * unsetenv alone would leave it readable) */
	char *envpw = getenv("JPKID_ADMIN_PASSWORD");
	if (envpw != NULL) {
		if (jpki_strlcpy(admin_pw, envpw, sizeof(admin_pw)) != 0) {
			fprintf(stderr,
				"jpkid: JPKID_ADMIN_PASSWORD: at most "
				"%zu characters\n",
				sizeof(admin_pw) - 1);
			return 2;
		}
		explicit_bzero(envpw, strlen(envpw));
		unsetenv("JPKID_ADMIN_PASSWORD");
		cfg.admin_password = admin_pw;
	}
	if (trust_jlis) {
		snprintf(jlis_dir, sizeof(jlis_dir), "%s/jpki-roots",
			 jpki_data_dir(getenv("JPKI_DATA_DIR")));
		cfg.jlis_dir = jlis_dir;
	}
	/* one descriptor per connection: take what the hard limit allows */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* every thread the server starts inherits this mask: the signals
	 * are taken by sigwait in the main thread.  A thread that does not
	 * block them (a sanitizer's or a library's) runs the handler, which
	 * passes the signal on: SIGTERM never falls to its default action
	 * (seen under TSan: status 143 with no "stopping" line) */
	main_thread = pthread_self();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (use_signer) {
		/* before any thread: the signer is forked from here first */
		if (signer_exe == NULL) {
			char self[4000];
			ssize_t n =
			    readlink("/proc/self/exe", self, sizeof(self) - 1);
			char *slash = NULL;
			if (n > 0) {
				self[n] = '\0';
				slash = strrchr(self, '/');
			}
			if (slash == NULL) {
				fputs("jpkid: where is jpki-signer? "
				      "(--signer-exe)\n",
				      stderr);
				return 2;
			}
			*slash = '\0';
			snprintf(signer_path, sizeof(signer_path),
				 "%s/jpki-signer", self);
			signer_exe = signer_path;
		}
		signer_argv[0] = "--dir";
		signer_argv[1] = cfg.dir;
		signer_argv[signer_argc] = NULL;
		keystore_signer_opts so = {.exe = signer_exe,
					   .argv = signer_argv};
		if (keystore_signer_start(&so, &err) != 0) {
			fprintf(stderr, "jpkid: %s\n",
				jpki_err_msg(&err, err.code));
			return 1;
		}
		cfg.keystore = "signer:";
	}
	rc = server_start(&cfg, &srv, created, sizeof(created), &err);
	OPENSSL_cleanse(admin_pw, sizeof(admin_pw)); /* used on first start */
	cfg.admin_password = NULL;
	if (rc != 0) {
		fprintf(stderr, "jpkid: %s\n", jpki_err_msg(&err, err.code));
		keystore_signer_stop();
		return 1;
	}
	if (created[0] != '\0')
		printf("jpkid: created operator \"admin\" (ca-admin) with "
		       "password %s -- shown once, change it\n",
		       created);
	OPENSSL_cleanse(created, sizeof(created));
	char host[64] = "127.0.0.1";
	const char *colon = cfg.listen ? strrchr(cfg.listen, ':') : NULL;
	if (colon != NULL && colon > cfg.listen &&
	    (size_t)(colon - cfg.listen) < sizeof(host)) {
		memcpy(host, cfg.listen, (size_t)(colon - cfg.listen));
		host[colon - cfg.listen] = '\0';
	}
	if (cfg.jlis_dir != NULL)
		printf("jpkid: relying parties may also use the J-LIS roots "
		       "of %s (fingerprints checked)\n",
		       cfg.jlis_dir);
	if (cfg.tls_listen != NULL) {
		char th[64] = "127.0.0.1";
		const char *tc = strrchr(cfg.tls_listen, ':');
		if (tc != NULL && tc > cfg.tls_listen &&
		    (size_t)(tc - cfg.tls_listen) < sizeof(th)) {
			memcpy(th, cfg.tls_listen,
			       (size_t)(tc - cfg.tls_listen));
			th[tc - cfg.tls_listen] = '\0';
		}
		printf("jpkid: listening on https://%s:%u (client certificates "
		       "required)\n",
		       th, server_tls_port(srv));
	}
	printf("jpkid: listening on http://%s:%u\n", host, server_port(srv));
	fflush(stdout);
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	fprintf(stderr, "jpkid: signal %d, stopping\n", sig);
	server_stop(srv);
	keystore_signer_stop();
	return 0;
}
