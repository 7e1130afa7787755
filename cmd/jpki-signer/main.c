/* jpki-signer: the only process that opens the CA's keystore
 * (docs/design.md, "The signer process").  jpkid starts it with
 * socketpairs as fds 3 .. 3+N-1 (--fd 3 --workers N), one worker thread
 * each; `--listen PATH` serves a Unix socket instead, N connections at a
 * time (systemd or tests).  After start-up it
 * drops to --user when run as root, forbids new privileges and ptrace, and
 * runs under a seccomp allow-list.  `jpki-signer request` is a small
 * client of the protocol for tests and operators. */
#define _GNU_SOURCE /* CLONE_THREAD */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "openjpki/signer.h"
#include "openjpki/util.h"

static const char usage[] =
    "usage: jpki-signer --dir DIR (--fd N | --listen PATH) [--keystore LOC]\n"
    "                   [--log FILE] [--rate R] [--burst N] [--user USER]\n"
    "                   [--workers N] [--no-seccomp]\n"
    "       jpki-signer request --connect PATH --op OP --label LABEL\n"
    "                   [--in FILE] [--out FILE] [--count N] [--raw]\n\n"
    "The CA's signer: the only process that opens the keystore.  It signs\n"
    "TBSCertificates, CRLs, OCSP ResponseData and audit checkpoints that\n"
    "pass the CA's profile lint, at most R a second (default 500, bursts of\n"
    "1000), and logs each signature (DIR/signer/signer.log, which is also\n"
    "the record of used certificate serials).  jpkid --signer starts it.\n"
    "--fd N          serve the socket on descriptor N (from jpkid)\n"
    "--listen PATH   serve a Unix socket (mode 0600), N clients at a time\n"
    "--workers N     serve N requests at once, each by a thread with its\n"
    "                own keystore session (1 to 16; default 1 with --fd,\n"
    "                the number of CPUs with --listen); with --fd, the\n"
    "                sockets are descriptors N .. N+workers-1\n"
    "--keystore LOC  the keystore (default: as the CA in DIR names it)\n"
    "--user USER     when started as root: run as USER after start-up\n"
    "                (required then)\n"
    "--no-seccomp    no system-call filter (debugging only)\n"
    "request: send OP (pubkey, generate, cert, crl, ocsp, audit) for LABEL\n"
    "with FILE's bytes COUNT times (default 1); print each answer; exit 0\n"
    "when all were signed.  --raw sends FILE as the whole frame body.\n";

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the sandbox --- */

static int drop_privileges(const char *user)
{
	if (geteuid() != 0) {
		if (user != NULL) {
			struct passwd *pw = getpwnam(user);
			if (pw == NULL || pw->pw_uid != geteuid()) {
				fprintf(stderr,
					"jpki-signer: --user %s needs root\n",
					user);
				return -1;
			}
		}
		return 0;
	}
	if (user == NULL) {
		fprintf(stderr, "jpki-signer: started as root: --user USER "
				"names whom to run as\n");
		return -1;
	}
	struct passwd *pw = getpwnam(user);
	if (pw == NULL || pw->pw_uid == 0) {
		fprintf(stderr, "jpki-signer: no unprivileged user %s\n", user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
		fprintf(stderr, "jpki-signer: cannot become %s: %s\n", user,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* What the signer does once started: read and write its sockets and
 * log, memory, time, randomness, and the files a PKCS#11 module such as
 * SoftHSM2 keeps its token in (it re-reads them, and writes when the
 * audit key is made); start its worker threads (clone with CLONE_THREAD
 * only; clone3, whose flags a filter cannot read, fails with ENOSYS and
 * glibc falls back to clone).  No socket, connect, exec, fork or
 * ptrace. */
static int sandbox(bool listening)
{
	static const int allow[] = {
	    SCMP_SYS(read),	     SCMP_SYS(write),
	    SCMP_SYS(readv),	     SCMP_SYS(writev),
	    SCMP_SYS(pread64),	     SCMP_SYS(pwrite64),
	    SCMP_SYS(close),	     SCMP_SYS(exit),
	    SCMP_SYS(exit_group),    SCMP_SYS(brk),
	    SCMP_SYS(mmap),	     SCMP_SYS(munmap),
	    SCMP_SYS(mremap),	     SCMP_SYS(mprotect),
	    SCMP_SYS(madvise),	     SCMP_SYS(futex),
	    SCMP_SYS(rt_sigreturn),  SCMP_SYS(rt_sigprocmask),
	    SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	    SCMP_SYS(nanosleep),     SCMP_SYS(gettimeofday),
	    SCMP_SYS(getrandom),     SCMP_SYS(fstat),
	    SCMP_SYS(newfstatat),    SCMP_SYS(stat),
	    SCMP_SYS(lstat),	     SCMP_SYS(statx),
	    SCMP_SYS(lseek),	     SCMP_SYS(openat),
	    SCMP_SYS(open),	     SCMP_SYS(fcntl),
	    SCMP_SYS(flock),	     SCMP_SYS(getdents64),
	    SCMP_SYS(ftruncate),     SCMP_SYS(fsync),
	    SCMP_SYS(fdatasync),     SCMP_SYS(rename),
	    SCMP_SYS(renameat),	     SCMP_SYS(unlink),
	    SCMP_SYS(unlinkat),	     SCMP_SYS(mkdir),
	    SCMP_SYS(mkdirat),	     SCMP_SYS(fchmod),
	    SCMP_SYS(umask),	     SCMP_SYS(access),
	    SCMP_SYS(faccessat),     SCMP_SYS(readlink),
	    SCMP_SYS(getpid),	     SCMP_SYS(gettid),
	    SCMP_SYS(getuid),	     SCMP_SYS(geteuid),
	    SCMP_SYS(getgid),	     SCMP_SYS(getegid),
	    SCMP_SYS(sched_yield),   SCMP_SYS(tgkill),
	    SCMP_SYS(sigaltstack),   SCMP_SYS(shutdown),
	};
	/* what threads need besides clone: the first pthread_create sets
	 * the cancellation signal's handler; ThreadSanitizer's thread start
	 * (pthread_getattr_np) reads the CPU affinity */
	static const int thread[] = {SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
				     SCMP_SYS(rt_sigaction),
				     SCMP_SYS(sched_getaffinity)};
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = f == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < sizeof(allow) / sizeof(allow[0]); i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, allow[i], 0);
	for (size_t i = 0; rc == 0 && i < sizeof(thread) / sizeof(thread[0]);
	     i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, thread[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(
		    f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS),
				      SCMP_SYS(clone3), 0);
	if (rc == 0 && listening)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(accept), 0);
	if (rc == 0 && listening)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(accept4), 0);
	if (rc == 0)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc != 0)
		fprintf(stderr, "jpki-signer: seccomp: %s\n", strerror(-rc));
	return rc;
}

/* --- serving --- */

/* One connection until its peer closes it or breaks the framing. */
static void serve(signer *s, unsigned wi, int fd)
{
	for (;;) {
		jpki_err e = {0};
		uint8_t *body = NULL;
		size_t len = 0;
		jpki_wbuf out;
		jpki_wbuf_init(&out, 8192);
		int rc =
		    signer_frame_read(fd, SIGNER_FRAME_MAX, &body, &len, &e);
		if (rc == JPKI_ERR_IO)
			return;
		if (rc != 0) {
			/* out of step: say so, then hang up */
			if (signer_resp_encode(SIGNER_MALFORMED,
					       (const uint8_t *)e.msg,
					       strlen(e.msg), &out, NULL) == 0)
				/* hanging up anyway: the peer may be gone */
				jpki_ignore(
				    signer_write_all(fd, out.p, out.len, NULL));
			jpki_wbuf_free(&out);
			return;
		}
		rc = signer_handle(s, wi, body, len, time(NULL), mono(), &out);
		free(body);
		if (rc != 0 ||
		    signer_write_all(fd, out.p, out.len, NULL) != 0) {
			jpki_wbuf_free(&out);
			return;
		}
		jpki_wbuf_free(&out);
	}
}

/* A worker: its descriptor (--fd), or connections on the listening
 * socket one after another (--listen). */
typedef struct wctx {
	signer *s;
	unsigned wi;
	int fd, lfd;
	pthread_t t;
} wctx;

static void *work(void *arg)
{
	wctx *w = arg;
	if (w->lfd < 0) {
		serve(w->s, w->wi, w->fd);
		return NULL;
	}
	for (;;) {
		int cfd = accept(w->lfd, NULL, NULL);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		serve(w->s, w->wi, cfd);
		close(cfd);
	}
	return NULL;
}

static int listen_on(const char *path)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (jpki_strlcpy(a.sun_path, path, sizeof(a.sun_path)) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	mode_t old = umask(077);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 8) != 0) {
		umask(old);
		fprintf(stderr, "jpki-signer: cannot listen on %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int num(const char *v, double lo, double hi, double *out)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
		fprintf(stderr,
			"jpki-signer: %s is not a number from %g to %g\n", v,
			lo, hi);
		return 2;
	}
	*out = d;
	return 0;
}

/* --- the client --- */

static const struct {
	const char *name;
	uint8_t op;
} ops[] = {{"pubkey", SIGNER_OP_PUBKEY}, {"generate", SIGNER_OP_GENERATE},
	   {"cert", SIGNER_OP_CERT},	 {"crl", SIGNER_OP_CRL},
	   {"ocsp", SIGNER_OP_OCSP},	 {"audit", SIGNER_OP_AUDIT}};

static const char *status_name(uint8_t st)
{
	static const char *const n[] = {"ok",	 "malformed", "refused",
					"busy",	 "not-found", "internal",
					"exists"};
	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

static int request_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"op", required_argument, NULL, 'o'},
	    {"label", required_argument, NULL, 'l'},
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'O'},
	    {"count", required_argument, NULL, 'n'},
	    {"raw", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *path = NULL, *label = NULL, *in = NULL, *outp = NULL;
	int op = -1, c, failed = 0;
	double count = 1;
	bool raw = false;
	uint8_t *payload = NULL;
	size_t plen = 0;
	jpki_err e = {0};
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': label = optarg; break;
		case 'i': in = optarg; break;
		case 'O': outp = optarg; break;
		case 'r': raw = true; break;
		case 'n':
			if (num(optarg, 1, 1e6, &count) != 0)
				return 2;
			break;
		case 'o':
			for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]);
			     i++)
				if (strcmp(optarg, ops[i].name) == 0)
					op = ops[i].op;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (path == NULL || (!raw && (op < 0 || label == NULL)) ||
	    (raw && in == NULL) || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (in != NULL &&
	    jpki_file_read(in, SIGNER_FRAME_MAX, &payload, &plen, &e) != 0) {
		fprintf(stderr, "jpki-signer: %s\n", e.msg);
		return 1;
	}
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (jpki_strlcpy(a.sun_path, path, sizeof(a.sun_path)) != 0 || fd < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "jpki-signer: cannot connect to %s: %s\n", path,
			strerror(errno));
		free(payload);
		return 1;
	}
	for (long i = 0; i < (long)count; i++) {
		jpki_wbuf w;
		uint8_t *body = NULL, st = 0;
		const uint8_t *p;
		size_t len = 0, pl = 0;
		jpki_wbuf_init(&w, SIGNER_FRAME_MAX + 8);
		int rc;
		if (raw)
			rc = jpki_wbuf_u32be(&w, (uint32_t)plen) ||
			     jpki_wbuf_put(&w, payload, plen);
		else
			rc = signer_req_encode((uint8_t)op, label, payload,
					       plen, &w, &e);
		if (rc == 0)
			rc = signer_write_all(fd, w.p, w.len, &e);
		jpki_wbuf_free(&w);
		if (rc == 0)
			rc = signer_frame_read(fd, 8192, &body, &len, &e);
		if (rc == 0)
			rc = signer_resp_parse(body, len, &st, &p, &pl, &e);
		if (rc != 0) {
			printf("error: %s\n", jpki_err_msg(&e, rc));
			free(body);
			failed = 1;
			break;
		}
		if (st == SIGNER_OK) {
			printf("ok %zu octets\n", pl);
			if (outp != NULL &&
			    jpki_file_write_atomic(outp, p, pl, 0644, &e) != 0)
				failed = 1;
		} else {
			printf("%s: %.*s\n", status_name(st), (int)pl,
			       (const char *)p);
			failed = 1;
		}
		free(body);
	}
	fflush(stdout);
	close(fd);
	free(payload);
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"fd", required_argument, NULL, 'f'},
	    {"listen", required_argument, NULL, 'L'},
	    {"keystore", required_argument, NULL, 'k'},
	    {"log", required_argument, NULL, 'g'},
	    {"rate", required_argument, NULL, 'r'},
	    {"burst", required_argument, NULL, 'b'},
	    {"user", required_argument, NULL, 'u'},
	    {"no-seccomp", no_argument, NULL, 'S'},
	    {"workers", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	signer_config cfg = {.rate = 500, .burst = 1000};
	const char *listen_path = NULL, *user = NULL;
	double fdn = -1, workers = 0;
	wctx w[SIGNER_WORKERS_MAX];
	unsigned started = 0;
	bool no_seccomp = false;
	signer *s = NULL;
	jpki_err e = {0};
	int c;
	if (argc > 1 && strcmp(argv[1], "request") == 0)
		return request_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': cfg.dir = optarg; break;
		case 'L': listen_path = optarg; break;
		case 'k': cfg.keystore = optarg; break;
		case 'g': cfg.log_path = optarg; break;
		case 'u': user = optarg; break;
		case 'S': no_seccomp = true; break;
		case 'f':
			if (num(optarg, 0, 1 << 20, &fdn) != 0)
				return 2;
			break;
		case 'r':
			if (num(optarg, 0.001, 1e6, &cfg.rate) != 0)
				return 2;
			break;
		case 'b':
			if (num(optarg, 1, 1e7, &cfg.burst) != 0)
				return 2;
			break;
		case 'w':
			if (num(optarg, 1, SIGNER_WORKERS_MAX, &workers) != 0)
				return 2;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (cfg.dir == NULL || optind != argc ||
	    (fdn < 0) == (listen_path == NULL)) {
		fputs(usage, stderr);
		return 2;
	}
	if (workers == 0 && listen_path != NULL) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n < 1			   ? 1
			  : n > SIGNER_WORKERS_MAX ? SIGNER_WORKERS_MAX
						   : (double)n;
	}
	cfg.workers = workers == 0 ? 1 : (unsigned)workers;
	if (fdn >= 0 && fdn + cfg.workers > (1 << 20)) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* nobody of the same uid attaches to us or reads our memory */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int lfd = -1;
	if (listen_path != NULL && (lfd = listen_on(listen_path)) < 0)
		return 1;
	cfg.now_mono = mono();
	if (signer_open(&cfg, &s, &e) != 0) {
		fprintf(stderr, "jpki-signer: %s\n", jpki_err_msg(&e, e.code));
		return 1;
	}
	if (drop_privileges(user) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    (!no_seccomp && sandbox(lfd >= 0) != 0)) {
		signer_close(s);
		return 1;
	}
	if (lfd >= 0)
		fprintf(stderr,
			"jpki-signer: listening on %s, %u requests at once\n",
			listen_path, cfg.workers);
	/* worker 0 is this thread; the others are started under the
	 * filter (clone with CLONE_THREAD) */
	for (unsigned i = 0; i < cfg.workers; i++)
		w[i] = (wctx){.s = s,
			      .wi = i,
			      .fd = lfd >= 0 ? -1 : (int)fdn + (int)i,
			      .lfd = lfd};
	for (started = 1; started < cfg.workers; started++)
		if (pthread_create(&w[started].t, NULL, work, &w[started]) !=
		    0) {
			/* its socket would go unanswered: the client starts
			 * another signer */
			fprintf(stderr, "jpki-signer: cannot start worker %u\n",
				started);
			_exit(1);
		}
	work(&w[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(w[i].t, NULL);
	signer_close(s);
	return 0;
}
