/* The "signer:" keystore (include/openjpki/keystore.h): jpki-signer as a
 * child over socketpairs, its keys as EVP_PKEYs of the in-tree provider
 * (p11_provider.c) whose signing sends the whole message to it.
 *
 * One signer per process, with several links (socketpairs: its
 * descriptors 3, 4, ..., one worker thread each there): a request takes
 * a free link for its round trip, so as many requests as links are in
 * flight at once from the issuing threads.  A watcher thread waits for
 * the child and starts it again (with new links) when it dies.  A link
 * caught by the death stays its holder's until the round trip ends (it
 * is closed then, never reused); a request that meets a dead signer
 * waits (at most LINK_WAIT_S) for the next one and is sent once more. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keystore_internal.h"
#include "openjpki/signer_proto.h"
#include "openjpki/util.h"

#define LINK_WAIT_S 10
#define CHILD_FD 3
#define ARGV_MAX 64
#define LINKS_MAX 16 /* jpki-signer's --workers at most */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t up; /* a link came up or was given back */
	unsigned nlinks;
	int fd[LINKS_MAX];    /* -1 while down */
	bool busy[LINKS_MAX]; /* held by a round trip */
	unsigned gen;	      /* which signer the links are of */
	pid_t pid;	      /* written by start and the watcher only */
	bool started, stopping;
	unsigned restarts;
	char *argv[ARGV_MAX + 6];
	pthread_t watcher;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .up = PTHREAD_COND_INITIALIZER};

/* the last refusal on this thread (keystore_take_refusal) */
static _Thread_local int refusal_rc;
static _Thread_local char refusal_msg[SIGNER_MSG_MAX + 1];

/* fork + exec with the links' other ends as fds 3 .. 3+nlinks-1;
 * between them only async-signal-safe calls (the caller has threads).
 * L.mu held. */
static int spawn(jpki_err *err)
{
	int par[LINKS_MAX], chi[LINKS_MAX], tmp[LINKS_MAX];
	unsigned n = L.nlinks, made;
	sigset_t all;
	int rc = 0;
	for (made = 0; made < n; made++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) !=
		    0) {
			rc = jpki_fail(err, JPKI_ERR_IO,
				       "signer: socketpair: %s",
				       strerror(errno));
			goto out;
		}
		par[made] = sv[0];
		chi[made] = sv[1];
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "signer: fork: %s",
			       strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* above the targets first, so no dup2 lands on an end not
		 * yet moved */
		for (unsigned i = 0; i < n; i++)
			if ((tmp[i] = fcntl(chi[i], F_DUPFD_CLOEXEC,
					    CHILD_FD + (int)n)) < 0)
				_exit(127);
		for (unsigned i = 0; i < n; i++)
			if (dup2(tmp[i], CHILD_FD + (int)i) !=
			    CHILD_FD + (int)i)
				_exit(127);
		/* nothing else of the parent's: listeners, the store */
		syscall(SYS_close_range, CHILD_FD + n, ~0U, 0);
		/* the parent's handlers go before its mask: a SIGTERM sent
		 * between fork and exec (a jpkid stopping at once) must end
		 * this child, not run the parent's forwarder */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(L.argv[0], L.argv);
		_exit(127);
	}
	for (unsigned i = 0; i < n; i++) {
		close(chi[i]);
		L.fd[i] = par[i];
		L.busy[i] = false;
	}
	L.pid = pid;
	L.gen++;
	return 0;
out:
	for (unsigned i = 0; i < made; i++) {
		close(par[i]);
		close(chi[i]);
	}
	return rc;
}

static void *watch(void *arg)
{
	(void)arg;
	for (;;) {
		int status;
		pid_t pid = L.pid;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&L.mu);
		/* a link in a round trip is closed by its holder */
		for (unsigned i = 0; i < L.nlinks; i++) {
			if (L.fd[i] >= 0 && !L.busy[i])
				close(L.fd[i]);
			L.fd[i] = -1;
			L.busy[i] = false;
		}
		L.gen++;
		L.pid = 0;
		/* start another, every 0.1 s until one runs */
		while (!L.stopping && L.pid == 0) {
			struct timespec pause = {0, 100 * 1000 * 1000};
			pthread_mutex_unlock(&L.mu);
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&L.mu);
			if (!L.stopping && spawn(NULL) == 0) {
				L.restarts++;
				pthread_cond_broadcast(&L.up);
			}
		}
		bool stop = L.stopping && L.pid == 0;
		pthread_mutex_unlock(&L.mu);
		if (stop)
			return NULL;
	}
}

int keystore_signer_start(const keystore_signer_opts *o, jpki_err *err)
{
	size_t n = 0;
	int rc;
	char nl[16];
	if (L.started)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "signer: already started");
	if (o == NULL || o->exe == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "signer: no program");
	if (o->links > LINKS_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "signer: at most %d links", LINKS_MAX);
	L.nlinks = o->links;
	if (L.nlinks == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		L.nlinks = c < 1 ? 1 : c > LINKS_MAX ? LINKS_MAX : (unsigned)c;
	}
	for (unsigned i = 0; i < LINKS_MAX; i++)
		L.fd[i] = -1;
	L.argv[n++] = strdup(o->exe);
	for (size_t i = 0; o->argv != NULL && o->argv[i] != NULL; i++) {
		if (n >= ARGV_MAX)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "signer: too many arguments");
		L.argv[n++] = strdup(o->argv[i]);
	}
	snprintf(nl, sizeof(nl), "%u", L.nlinks);
	L.argv[n++] = strdup("--fd");
	L.argv[n++] = strdup("3");
	L.argv[n++] = strdup("--workers");
	L.argv[n++] = strdup(nl);
	L.argv[n] = NULL;
	for (size_t i = 0; i < n; i++)
		if (L.argv[i] == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if (access(L.argv[0], X_OK) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "signer: cannot run %s: %s", L.argv[0],
				 strerror(errno));
	pthread_mutex_lock(&L.mu);
	rc = spawn(err);
	pthread_mutex_unlock(&L.mu);
	if (rc != 0)
		return rc;
	if (pthread_create(&L.watcher, NULL, watch, NULL) != 0) {
		kill(L.pid, SIGTERM);
		return jpki_fail(err, JPKI_ERR_IO, "signer: no watcher thread");
	}
	L.started = true;
	return 0;
}

void keystore_signer_stop(void)
{
	if (!L.started)
		return;
	pthread_mutex_lock(&L.mu);
	L.stopping = true;
	if (L.pid > 0)
		kill(L.pid, SIGTERM);
	pthread_cond_broadcast(&L.up);
	pthread_mutex_unlock(&L.mu);
	pthread_join(L.watcher, NULL);
	for (size_t i = 0; L.argv[i] != NULL; i++) {
		free(L.argv[i]);
		L.argv[i] = NULL;
	}
	L.started = false;
}

int keystore_signer_pid(void)
{
	pthread_mutex_lock(&L.mu);
	int pid = L.pid > 0 ? (int)L.pid : 0;
	pthread_mutex_unlock(&L.mu);
	return pid;
}

unsigned keystore_signer_restarts(void)
{
	pthread_mutex_lock(&L.mu);
	unsigned n = L.restarts;
	pthread_mutex_unlock(&L.mu);
	return n;
}

int keystore_take_refusal(jpki_err *err)
{
	int rc = refusal_rc;
	if (rc != 0)
		jpki_fail(err, rc, "%s", refusal_msg);
	refusal_rc = 0;
	refusal_msg[0] = '\0';
	return rc;
}

/* Take a free link of a live signer (L.mu held): its slot, descriptor
 * and generation.  Waits while all are busy; at most LINK_WAIT_S while
 * the signer is down. */
static int acquire(unsigned *slot, int *fd, unsigned *gen, jpki_err *err)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LINK_WAIT_S;
	while (!L.stopping) {
		bool up = false;
		for (unsigned i = 0; i < L.nlinks; i++) {
			if (L.fd[i] < 0)
				continue;
			up = true;
			if (!L.busy[i]) {
				L.busy[i] = true;
				*slot = i;
				*fd = L.fd[i];
				*gen = L.gen;
				return 0;
			}
		}
		if (up)
			pthread_cond_wait(&L.up, &L.mu);
		else if (pthread_cond_timedwait(&L.up, &L.mu, &until) ==
			 ETIMEDOUT)
			break;
	}
	return jpki_fail(err, JPKI_ERR_BUSY,
			 "signer: not running (started again within %d s?)",
			 LINK_WAIT_S);
}

/* Give a link back (L.mu held).  One of a signer since replaced is the
 * holder's to close; a broken one (dead signer, or out of step) is
 * closed and the signer killed: the watcher starts another. */
static void release(unsigned slot, int fd, unsigned gen, bool broken)
{
	if (gen != L.gen) {
		close(fd);
	} else if (broken) {
		shutdown(fd, SHUT_RDWR);
		if (L.pid > 0)
			kill(L.pid, SIGKILL);
		close(fd);
		L.fd[slot] = -1;
		L.busy[slot] = false;
	} else {
		L.busy[slot] = false;
	}
	pthread_cond_broadcast(&L.up);
}

/* One request and its response; *resp is the malloc'd body. */
static int roundtrip(uint8_t op, const char *label, const uint8_t *payload,
		     size_t n, uint8_t **resp, size_t *resp_len, jpki_err *err)
{
	jpki_wbuf w;
	int rc;
	if (!L.started)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "signer: no signer process in this program");
	jpki_wbuf_init(&w, SIGNER_FRAME_MAX + 4);
	if ((rc = signer_req_encode(op, label, payload, n, &w, err)) != 0)
		goto out;
	pthread_mutex_lock(&L.mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		unsigned slot = 0, gen = 0;
		int fd = -1;
		if ((rc = acquire(&slot, &fd, &gen, err)) != 0)
			break;
		pthread_mutex_unlock(&L.mu);
		if ((rc = signer_write_all(fd, w.p, w.len, err)) == 0)
			rc = signer_frame_read(fd, 8192, resp, resp_len, err);
		pthread_mutex_lock(&L.mu);
		release(slot, fd, gen, rc != 0);
		if (rc == 0)
			break;
	}
	pthread_mutex_unlock(&L.mu);
out:
	jpki_wbuf_free(&w);
	return rc;
}

/* A request whose answer is SIGNER_OK's payload, copied to out. */
static int ask(uint8_t op, const char *label, const uint8_t *payload, size_t n,
	       uint8_t *out, size_t *out_len, jpki_err *err)
{
	uint8_t *body = NULL, st = 0;
	const uint8_t *p;
	size_t len = 0, plen = 0;
	int rc = roundtrip(op, label, payload, n, &body, &len, err);
	if (rc != 0)
		return rc;
	if ((rc = signer_resp_parse(body, len, &st, &p, &plen, err)) != 0)
		goto out;
	if (st != SIGNER_OK) {
		rc = jpki_fail(
		    err, signer_status_rc(st), "%.*s",
		    (int)(plen > SIGNER_MSG_MAX ? SIGNER_MSG_MAX : plen),
		    (const char *)p);
		goto out;
	}
	if (plen > *out_len) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "signer: answer too long");
		goto out;
	}
	memcpy(out, p, plen);
	*out_len = plen;
out:
	free(body);
	return rc;
}

/* --- keys --- */

typedef struct skey {
	atomic_int refs;
	char label[SIGNER_LABEL_MAX + 1];
} skey;

/* What the message is, by its first octets: the CA hands the provider
 * nothing else.  The signer parses it as that kind and refuses any
 * mismatch. */
static uint8_t op_of(const unsigned char *m, size_t n)
{
	if (n > 0 && m[0] == 'o')
		return SIGNER_OP_AUDIT;
	if (n < 4 || m[0] != 0x30)
		return 0;
	size_t h = m[1] < 0x80 ? 2 : 2 + (m[1] & 0x7f);
	if (h >= n)
		return 0;
	switch (m[h]) {
	case 0xa0: return SIGNER_OP_CERT; /* [0] version */
	case 0x02: return SIGNER_OP_CRL;  /* version v2 */
	case 0xa1:
	case 0xa2: return SIGNER_OP_OCSP; /* responderID */
	default: return 0;
	}
}

static int skey_sign(void *vk, const unsigned char *msg, size_t len,
		     unsigned char *sig, size_t *siglen)
{
	skey *k = vk;
	jpki_err e = {0};
	uint8_t op = op_of(msg, len);
	refusal_rc = 0;
	if (op == 0) {
		ERR_raise_data(ERR_LIB_USER, ERR_R_PASSED_INVALID_ARGUMENT,
			       "signer: not a TBS the signer knows");
		return -1;
	}
	int rc = ask(op, k->label, msg, len, sig, siglen, &e);
	if (rc != 0) {
		refusal_rc = rc;
		jpki_strlcpy_cut(refusal_msg, e.msg, sizeof(refusal_msg));
		ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "%s", e.msg);
		return -1;
	}
	return 0;
}

static void skey_ref(void *vk)
{
	atomic_fetch_add(&((skey *)vk)->refs, 1);
}

static void skey_unref(void *vk)
{
	skey *k = vk;
	if (atomic_fetch_sub(&k->refs, 1) == 1)
		free(k);
}

static const ks_key_ops skey_ops = {NULL, skey_sign, skey_ref, skey_unref};

static void s_close(void *be)
{
	(void)be;
}

static int s_load(void *be, const char *label, EVP_PKEY **out, jpki_err *err)
{
	uint8_t spki[2048];
	size_t n = sizeof(spki);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	EVP_PKEY *pub = NULL;
	skey *k = NULL;
	(void)be;
	int rc = ask(SIGNER_OP_PUBKEY, label, NULL, 0, spki, &n, err);
	if (rc != 0)
		return rc;
	const unsigned char *p = spki;
	pub = d2i_PUBKEY(NULL, &p, (long)n);
	if (pub == NULL || p != spki + n ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "signer: the %s public key is not RSA", label);
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	atomic_init(&k->refs, 1);
	if (jpki_strlcpy(k->label, label, sizeof(k->label)) != 0) {
		free(k);
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "signer: key label too long: %s", label);
		goto out;
	}
	rc = ks_remote_pkey_new(&skey_ops, k, bn_n, bn_e, out, err);
	skey_unref(k); /* the EVP_PKEY holds its own reference */
out:
	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_free(pub);
	return rc;
}

static int s_has(void *be, const char *label, jpki_err *err)
{
	uint8_t spki[2048];
	size_t n = sizeof(spki);
	(void)be;
	return ask(SIGNER_OP_PUBKEY, label, NULL, 0, spki, &n, err);
}

static int s_generate(void *be, const char *label, int bits, EVP_PKEY **pub,
		      jpki_err *err)
{
	uint8_t spki[2048];
	size_t n = sizeof(spki);
	(void)be;
	if (bits != 2048)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "signer: makes 2048-bit keys only");
	int rc = ask(SIGNER_OP_GENERATE, label, NULL, 0, spki, &n, err);
	if (rc != 0 || pub == NULL)
		return rc;
	const unsigned char *p = spki;
	if ((*pub = d2i_PUBKEY(NULL, &p, (long)n)) == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "signer: bad public key");
	return 0;
}

const keystore_ops ks_signer_ops = {s_close, s_generate, s_load, s_has, NULL};

int ks_signer_open(const char *spec, void **be, jpki_err *err)
{
	static int token;
	if (spec[0] != '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "keystore: \"signer:\" takes no argument");
	if (!L.started)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "keystore: no signer process in this "
				 "program (jpkid --signer)");
	*be = &token;
	return 0;
}
