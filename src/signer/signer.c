/* The signer (include/openjpki/signer.h): the keystore's keys behind the
 * policy, a token bucket and an append-only log of every signature.  The
 * log is also the record of used certificate serials: it is read back at
 * start-up (docs/decisions.md, "The signer process"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openjpki/keystore.h"
#include "openjpki/signer.h"
#include "openjpki/util.h"

static const char *const labels[3] = {"sign-root", "auth-root", "audit"};

/* One worker: its own keystore (for a PKCS#11 token, its own session)
 * and keys; used by one thread at a time. */
typedef struct worker {
	keystore *ks;
	EVP_PKEY *key[3];
	/* later root generations' keys, [hierarchy][gen - 2] (ca rollover) */
	EVP_PKEY *gkey[2][SIGNER_GEN_MAX - 1];
} worker;

/* Shared by the workers: the policy (its used serials) under pol_mu,
 * read-locked for the checks and write-locked for the used-serial check
 * and mark; the rate and the log under mu; the audit key's making (and
 * the other workers' loading it) under key_mu. */
struct signer {
	worker w[SIGNER_WORKERS_MAX];
	unsigned nw;
	signer_policy *pol;
	pthread_rwlock_t pol_mu;
	pthread_mutex_t mu, key_mu;
	signer_bucket bucket;
	int log_fd;
	char log_path[PATH_MAX];
};

void signer_close(signer *s)
{
	if (s == NULL)
		return;
	for (unsigned w = 0; w < SIGNER_WORKERS_MAX; w++) {
		for (int i = 0; i < 3; i++)
			EVP_PKEY_free(s->w[w].key[i]);
		for (int i = 0; i < 2; i++)
			for (int g = 0; g < SIGNER_GEN_MAX - 1; g++)
				EVP_PKEY_free(s->w[w].gkey[i][g]);
		keystore_close(s->w[w].ks);
	}
	signer_policy_free(s->pol);
	if (s->log_fd >= 0)
		close(s->log_fd);
	pthread_rwlock_destroy(&s->pol_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->key_mu);
	free(s);
}

static int read_root(const char *dir, const char *label, X509 **out,
		     jpki_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/roots/%s.pem", dir,
			     label) >= sizeof(path))
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "signer: cannot read %s: %s", path,
				 strerror(errno));
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "signer: %s is not a certificate", path);
	return 0;
}

/* The CA's own rule (ca.c): DIR/keystore names the location, else the
 * file keystore DIR/keys. */
static int ks_location(const char *dir, char *out, size_t cap, jpki_err *err)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	snprintf(path, sizeof(path), "%s/keystore", dir);
	if (stat(path, &st) != 0) {
		if ((size_t)snprintf(out, cap, "file:%s/keys", dir) >= cap)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "CA path too long");
		return 0;
	}
	int rc = jpki_file_read(path, cap - 1, &buf, &len, err);
	if (rc != 0)
		return rc;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	memcpy(out, buf, len);
	out[len] = '\0';
	free(buf);
	if (len == 0 || memchr(out, '\n', len) != NULL ||
	    strncmp(out, "signer:", 7) == 0)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is not one keystore location", path);
	return 0;
}

static int load_key(worker *w, int i, X509 *root, jpki_err *err)
{
	int rc = keystore_has(w->ks, labels[i], NULL);
	if (rc == JPKI_ERR_NOT_FOUND && i == 2)
		return 0; /* made on first use (GENERATE) */
	if ((rc = keystore_load(w->ks, labels[i], &w->key[i], err)) != 0)
		return rc;
	if (root != NULL && X509_check_private_key(root, w->key[i]) != 1)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "signer: the %s key does not match its "
				 "certificate",
				 labels[i]);
	return 0;
}

static int read_log(signer *s, jpki_err *err)
{
	FILE *f = fopen(s->log_path, "re");
	char *line = NULL;
	size_t cap = 0;
	uint8_t sn[SIGNER_SERIAL_MAX];
	size_t sl;
	int rc = 0;
	if (f == NULL)
		return errno == ENOENT
			   ? 0
			   : jpki_fail(err, JPKI_ERR_IO,
				       "signer: cannot read %s: %s",
				       s->log_path, strerror(errno));
	while (rc == 0 && getline(&line, &cap, f) > 0)
		if (signer_line_serial(line, sn, &sl))
			rc = signer_policy_mark(s->pol, sn, sl, err);
	free(line);
	fclose(f);
	return rc;
}

/* The later root generations DIR/roots/<label>-N.pem (N = 2, 3, ... while
 * they exist): each into the policy once, its key into every worker. */
static int load_gens(signer *s, const char *dir, jpki_err *err)
{
	for (int i = 0; i < 2; i++)
		for (int g = 2; g <= SIGNER_GEN_MAX; g++) {
			char label[32];
			X509 *root = NULL;
			snprintf(label, sizeof(label), "%s-%d", labels[i], g);
			int rc = read_root(dir, label, &root, NULL);
			if (rc == JPKI_ERR_NOT_FOUND)
				break;
			if (rc == 0)
				rc = signer_policy_add_gen(s->pol, i, g, root,
							   err);
			else
				rc = read_root(dir, label, &root, err);
			for (unsigned w = 0; rc == 0 && w < s->nw; w++) {
				EVP_PKEY **k = &s->w[w].gkey[i][g - 2];
				rc = keystore_load(s->w[w].ks, label, k, err);
				if (rc == 0 &&
				    X509_check_private_key(root, *k) != 1)
					rc = jpki_fail(
					    err, JPKI_ERR_KEY,
					    "signer: the %s key does not "
					    "match its certificate",
					    label);
			}
			X509_free(root);
			if (rc != 0)
				return rc;
		}
	return 0;
}

int signer_open(const signer_config *cfg, signer **out, jpki_err *err)
{
	char loc[PATH_MAX + 16], dir[PATH_MAX];
	X509 *roots[2] = {NULL, NULL};
	int rc;
	signer *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	s->log_fd = -1;
	s->nw = cfg->workers == 0 ? 1 : cfg->workers;
	if (pthread_rwlock_init(&s->pol_mu, NULL) != 0 ||
	    pthread_mutex_init(&s->mu, NULL) != 0 ||
	    pthread_mutex_init(&s->key_mu, NULL) != 0) {
		free(s);
		return jpki_fail(err, JPKI_ERR_NOMEM, "signer: no locks");
	}
	if (s->nw > SIGNER_WORKERS_MAX) {
		rc =
		    jpki_fail(err, JPKI_ERR_RANGE, "signer: at most %d workers",
			      SIGNER_WORKERS_MAX);
		goto out;
	}
	if ((rc = read_root(cfg->dir, labels[0], &roots[0], err)) != 0 ||
	    (rc = read_root(cfg->dir, labels[1], &roots[1], err)) != 0 ||
	    (rc = signer_policy_new(roots[0], roots[1], &s->pol, err)) != 0)
		goto out;
	if (cfg->keystore != NULL) {
		if (jpki_strlcpy(loc, cfg->keystore, sizeof(loc)) != 0) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "keystore location too long");
			goto out;
		}
	} else if ((rc = ks_location(cfg->dir, loc, sizeof(loc), err)) != 0) {
		goto out;
	}
	for (unsigned w = 0; w < s->nw; w++)
		if ((rc = keystore_open(loc, &s->w[w].ks, err)) != 0 ||
		    (rc = load_key(&s->w[w], 0, roots[0], err)) != 0 ||
		    (rc = load_key(&s->w[w], 1, roots[1], err)) != 0 ||
		    (rc = load_key(&s->w[w], 2, NULL, err)) != 0)
			goto out;
	if ((rc = load_gens(s, cfg->dir, err)) != 0)
		goto out;
	if (cfg->log_path != NULL) {
		if (jpki_strlcpy(s->log_path, cfg->log_path,
				 sizeof(s->log_path)) != 0) {
			rc =
			    jpki_fail(err, JPKI_ERR_RANGE, "log path too long");
			goto out;
		}
	} else {
		snprintf(dir, sizeof(dir), "%s/signer", cfg->dir);
		if ((rc = jpki_mkdirs(dir, 0700, err)) != 0)
			goto out;
		if ((size_t)snprintf(s->log_path, sizeof(s->log_path),
				     "%s/signer.log",
				     dir) >= sizeof(s->log_path)) {
			rc =
			    jpki_fail(err, JPKI_ERR_RANGE, "log path too long");
			goto out;
		}
	}
	if ((rc = read_log(s, err)) != 0)
		goto out;
	s->log_fd =
	    open(s->log_path,
		 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->log_fd < 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "signer: cannot open %s: %s",
			       s->log_path, strerror(errno));
		goto out;
	}
	signer_bucket_init(&s->bucket, cfg->rate, cfg->burst, cfg->now_mono);
	*out = s;
	s = NULL;
out:
	X509_free(roots[0]);
	X509_free(roots[1]);
	signer_close(s);
	return rc;
}

static int answer(uint8_t status, const char *msg, jpki_wbuf *out)
{
	size_t n = msg == NULL ? 0 : strlen(msg);
	if (n > SIGNER_MSG_MAX)
		n = SIGNER_MSG_MAX;
	return signer_resp_encode(status, (const uint8_t *)msg, n, out, NULL);
}

static int answer_err(int rc, const jpki_err *e, jpki_wbuf *out)
{
	uint8_t st =
	    rc == JPKI_ERR_PARSE       ? SIGNER_MALFORMED
	    : rc == JPKI_ERR_NOT_FOUND ? SIGNER_NOT_FOUND
	    : rc == JPKI_ERR_EXISTS    ? SIGNER_EXISTS
	    : rc == JPKI_ERR_POLICY || rc == JPKI_ERR_LINT || rc == JPKI_ERR_KEY
		? SIGNER_REFUSED
		: SIGNER_INTERNAL;
	return answer(st, jpki_err_msg(e, rc), out);
}

/* The worker's key for a label: a root of any generation, or the audit
 * key; NULL if it has none. */
static EVP_PKEY *key_of(const worker *w, const char *label)
{
	int gen = 0, ri = signer_root_label(label, &gen);
	if (ri >= 0)
		return gen == 1 ? w->key[ri] : w->gkey[ri][gen - 2];
	return strcmp(label, labels[2]) == 0 ? w->key[2] : NULL;
}

static int answer_spki(EVP_PKEY *k, jpki_wbuf *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	if (n <= 0)
		return answer(SIGNER_INTERNAL, "signer: encoding a public key",
			      out);
	int rc = signer_resp_encode(SIGNER_OK, der, (size_t)n, out, NULL);
	OPENSSL_free(der);
	return rc;
}

/* The audit key of worker w, loaded once another worker made it
 * (s->key_mu held). */
static void audit_key(worker *w)
{
	if (w->key[2] == NULL && keystore_has(w->ks, labels[2], NULL) == 0 &&
	    keystore_load(w->ks, labels[2], &w->key[2], NULL) != 0)
		w->key[2] = NULL;
}

static int generate(signer *s, worker *w, const signer_req *rq, jpki_wbuf *out)
{
	jpki_err e = {0};
	EVP_PKEY *pub = NULL;
	int rc;
	if (strcmp(rq->label, "audit") != 0)
		return answer(SIGNER_REFUSED,
			      "signer: only the audit key is made here", out);
	pthread_mutex_lock(&s->key_mu);
	audit_key(w);
	if (w->key[2] != NULL) {
		rc = answer(SIGNER_EXISTS, "signer: the audit key exists", out);
		goto out;
	}
	rc = keystore_generate(w->ks, "audit", 2048, &pub, &e);
	EVP_PKEY_free(pub);
	if (rc == 0)
		rc = keystore_load(w->ks, "audit", &w->key[2], &e);
	rc = rc != 0 ? answer_err(rc, &e, out) : answer_spki(w->key[2], out);
out:
	pthread_mutex_unlock(&s->key_mu);
	return rc;
}

/* Before the signature: a certificate's serial is checked unused and
 * marked used in one step, so that of two requests for one serial at
 * once exactly one is signed (a serial whose signing then fails stays
 * used: it is never signed twice). */
static int reserve(signer *s, const signer_req *rq, signer_entry *ent,
		   jpki_err *e)
{
	pthread_rwlock_rdlock(&s->pol_mu);
	int rc = signer_policy_check(s->pol, rq, ent, e);
	pthread_rwlock_unlock(&s->pol_mu);
	if (rc != 0 || ent->op != SIGNER_OP_CERT)
		return rc;
	pthread_rwlock_wrlock(&s->pol_mu);
	if (signer_policy_used(s->pol, ent->serial, ent->serial_len))
		rc = jpki_fail(e, JPKI_ERR_POLICY,
			       "signer: %s TBSCertificate refused: serial "
			       "number already used",
			       rq->label);
	else
		rc =
		    signer_policy_mark(s->pol, ent->serial, ent->serial_len, e);
	pthread_rwlock_unlock(&s->pol_mu);
	return rc;
}

int signer_handle(signer *s, unsigned wi, const uint8_t *body, size_t len,
		  time_t now, double mono, jpki_wbuf *out)
{
	jpki_err e = {0};
	signer_req rq;
	signer_entry ent;
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig);
	char line[256];
	if (wi >= s->nw)
		return answer(SIGNER_INTERNAL, "signer: no such worker", out);
	worker *w = &s->w[wi];
	int rc = signer_req_parse(body, len, &rq, &e);
	if (rc != 0)
		return answer(SIGNER_MALFORMED, jpki_err_msg(&e, rc), out);
	if (rq.op == SIGNER_OP_GENERATE)
		return generate(s, w, &rq, out);
	if (strcmp(rq.label, labels[2]) == 0 && w->key[2] == NULL) {
		pthread_mutex_lock(&s->key_mu);
		audit_key(w);
		pthread_mutex_unlock(&s->key_mu);
	}
	EVP_PKEY *key = key_of(w, rq.label);
	if (rq.op == SIGNER_OP_PUBKEY) {
		if (key == NULL)
			return answer(SIGNER_NOT_FOUND, "signer: no such key",
				      out);
		return answer_spki(key, out);
	}
	pthread_mutex_lock(&s->mu);
	bool took = signer_bucket_take(&s->bucket, mono);
	pthread_mutex_unlock(&s->mu);
	if (!took)
		return answer(SIGNER_BUSY, "signer: over the signing rate",
			      out);
	if (key == NULL) {
		/* checked as before, but nothing reserved for a missing key */
		pthread_rwlock_rdlock(&s->pol_mu);
		rc = signer_policy_check(s->pol, &rq, &ent, &e);
		pthread_rwlock_unlock(&s->pol_mu);
		if (rc != 0)
			return answer_err(rc, &e, out);
		return answer(SIGNER_NOT_FOUND, "signer: no such key", out);
	}
	if ((rc = reserve(s, &rq, &ent, &e)) != 0)
		return answer_err(rc, &e, out);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) !=
		1 ||
	    EVP_DigestSign(md, sig, &sig_len, rq.payload, rq.payload_len) !=
		1) {
		EVP_MD_CTX_free(md);
		jpki_fail(&e, JPKI_ERR_CRYPTO, "signer: signing with %s",
			  rq.label);
		return answer(SIGNER_INTERNAL, e.msg, out);
	}
	EVP_MD_CTX_free(md);
	/* logged (the serial already marked used) before the signature
	 * leaves; one write of one whole line, under the lock */
	signer_entry_line(&ent, now, line, sizeof(line) - 1);
	size_t n = strlen(line);
	line[n++] = '\n';
	pthread_mutex_lock(&s->mu);
	ssize_t wr = write(s->log_fd, line, n);
	pthread_mutex_unlock(&s->mu);
	if (wr != (ssize_t)n)
		return answer(SIGNER_INTERNAL, "signer: cannot write its log",
			      out);
	return signer_resp_encode(SIGNER_OK, sig, sig_len, out, NULL);
}

unsigned signer_workers(const signer *s)
{
	return s->nw;
}
