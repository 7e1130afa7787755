/* Publishing revocation: pre-signed OCSP responses and CRLs, kept fresh.
 *
 * A change made through the API is published by the worker that made it,
 * right after its commit: the certificate's cached OCSP responses are
 * dropped and re-signed and its CRLs regenerated before the API answers.
 * The refresher thread does the rest: it pre-signs new certificates and
 * everything on record at start-up, re-signs responses and CRLs at the
 * middle of their validity (long before nextUpdate), generates CRLs for
 * municipalities recorded elsewhere, and every few seconds compares the
 * store's revocations with what is published, so that a change made by
 * another process (the CLI, another node) is published too.
 *
 * On PostgreSQL a watcher thread LISTENs for revocations as they commit
 * (the trigger of store migration 6 NOTIFYs inside the revoking
 * transaction) and publishes each at once, on its own connection, which
 * it opens again when it is lost (then rescanning, for what committed
 * meanwhile was not told).  The scan stays, every WATCHED_SCAN seconds,
 * as a safety net; on SQLite it runs every SYNC_EVERY seconds. */
#define _GNU_SOURCE /* syscall */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "openjpki/util.h"
#include "server_int.h"

#define PUB_QUEUE_MAX 4096
#define PRESIGN_PER_TICK 200  /* issued certificates signed per tick */
#define WARM_MAX 8	      /* warm-up threads at most */
#define WARM_YIELD_NS 2000000 /* warm-up's wait while live work runs */
#define DUE_PER_PASS 1000
#define DUE_BATCH 256	  /* due answers taken per sweep step */
#define DUE_STEP 65536	  /* entries looked at per sweep step */
#define DUE_STEP_IDLE 0.1 /* s between steps that found nothing */
#define SYNC_EVERY 10
#define WATCHED_SCAN 300 /* s between scans while the store tells */
#define WATCH_WAIT_MS 200
#define MUNI_EVERY 60
#define SYNC_MAX 1024 /* republished per sync pass */

static int serial_bytes(const char *hex, uint8_t out[20], size_t *len)
{
	uint8_t buf[21];
	size_t n = 0;
	if (jpki_unhex(hex, buf, sizeof(buf), &n, NULL) != 0 || n == 0)
		return JPKI_ERR_INVAL;
	size_t i = 0;
	while (i + 1 < n && buf[i] == 0)
		i++;
	if (n - i > 20)
		return JPKI_ERR_RANGE;
	memcpy(out, buf + i, n - i);
	*len = n - i;
	return 0;
}

/* The root generation that answers for a store row of `kind` issued by
 * generation row_gen, as jpkid names it: 0 for the newest (today's URLs
 * and CertID), N for an older generation N.  A generation this handle
 * does not know (a rollover after start) is treated as the newest. */
static int answer_gen(jpki_ca *ca, int kind, int row_gen)
{
	int n = ca_root_gen(ca, (jpki_cert_kind)kind, 0, NULL);
	int g = row_gen <= 0 ? 1 : row_gen;
	return g >= n ? 0 : g;
}

/* The cache key (and URL) of one CRL: "crl/sign/132217", "crl/sign/full",
 * "arl/sign"; an older generation's with "-gN" as `jpki crl` names the
 * files (the ARL is one per hierarchy, signed by the newest). */
static void crl_key(char *key, size_t size, int kind, int scope, int gen,
		    const char *muni)
{
	char g[16] = "";
	const char *kn = jpki_cert_kind_name((jpki_cert_kind)kind);
	if (gen > 0)
		snprintf(g, sizeof(g), "-g%d", gen);
	if (scope == CA_CRL_PARTITION)
		snprintf(key, size, "crl/%s/%s%s", kn, muni, g);
	else if (scope == CA_CRL_FULL)
		snprintf(key, size, "crl/%s/full%s", kn, g);
	else
		snprintf(key, size, "arl/%s", kn);
}

/* Sign the response for one CertID (the cache key) and install it. */
static int presign_key(server *s, jpki_ca *ca, int kind, const uint8_t *key,
		       size_t key_len, const uint8_t *serial, size_t serial_len,
		       time_t now)
{
	uint8_t req[SRV_OCSP_KEY_MAX + 32];
	uint8_t *der = NULL;
	size_t req_len = 0, len = 0;
	int rc;
	if ((rc = srv_ocsp_wrap(key, key_len, req, sizeof(req), &req_len)) != 0)
		return rc;
	/* the generation is taken before the store is read */
	uint64_t gen = srv_ocsp_cache_capture(s->ocsp, serial, serial_len);
	if ((rc = ca_ocsp(ca, kind, req, req_len, now, &der, &len, NULL)) != 0)
		return rc;
	rc = srv_ocsp_cache_install(s->ocsp, kind, key, key_len, serial,
				    serial_len, der, len, gen, now);
	free(der);
	if (rc == 0)
		atomic_fetch_add_explicit(&s->m.ocsp_presigned, 1,
					  memory_order_relaxed);
	return rc;
}

/* skip_fresh: leave an answer the cache holds and need not re-sign yet
 * (one restored from the spill file) */
static int presign_serial(server *s, jpki_ca *ca, int kind, int row_gen,
			  const char *serial_hex, time_t now, bool skip_fresh)
{
	uint8_t serial[20], key[SRV_OCSP_KEY_MAX];
	size_t serial_len = 0;
	ASN1_INTEGER *sn = NULL;
	OCSP_CERTID *id = NULL;
	int rc;
	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return JPKI_ERR_INVAL;
	if ((rc = serial_bytes(serial_hex, serial, &serial_len)) != 0)
		return rc;
	/* the CertID RFC 5019 clients send: SHA-1, parameters NULL */
	X509 *root = s->root_cert[kind];
	int gen = answer_gen(ca, kind, row_gen);
	if (gen > 0 &&
	    (ca_root_gen(ca, (jpki_cert_kind)kind, gen, &root) < gen ||
	     root == NULL))
		return JPKI_ERR_STATE;
	if ((sn = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_STRING_set(sn, serial, (int)serial_len) ||
	    (id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root),
				   X509_get0_pubkey_bitstr(root), sn)) ==
		NULL) {
		rc = JPKI_ERR_CRYPTO;
		goto out;
	}
	int n = i2d_OCSP_CERTID(id, NULL);
	unsigned char *p = key;
	if (n <= 0 || (size_t)n > sizeof(key) || i2d_OCSP_CERTID(id, &p) != n) {
		rc = JPKI_ERR_CRYPTO;
		goto out;
	}
	if (skip_fresh && srv_ocsp_cache_fresh(s->ocsp, key, (size_t)n, serial,
					       serial_len, now))
		rc = 0;
	else
		rc = presign_key(s, ca, kind, key, (size_t)n, serial,
				 serial_len, now);
out:
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(sn);
	return rc;
}

int srv_presign(server *s, jpki_ca *ca, int kind, int row_gen,
		const char *serial_hex, time_t now)
{
	return presign_serial(s, ca, kind, row_gen, serial_hex, now, false);
}

int srv_crl_make(server *s, jpki_ca *ca, int kind, int scope, int gen,
		 const char *muni, time_t now)
{
	char key[48];
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;
	if (scope == CA_CRL_ARL)
		gen = 0;
	crl_key(key, sizeof(key), kind, scope, gen, muni);
	if ((rc = ca_crl_gen(ca, (jpki_cert_kind)kind, gen, (ca_crl_scope)scope,
			     scope == CA_CRL_PARTITION ? muni : NULL, now, &der,
			     &len, NULL)) != 0)
		return rc;
	rc = srv_crl_cache_install(s->crl, key, kind, scope, gen, muni, der,
				   len, now);
	free(der);
	if (rc == 0)
		atomic_fetch_add_explicit(&s->m.crl_generated, 1,
					  memory_order_relaxed);
	return rc;
}

/* The refresher's and the workers' publishing: a failure leaves the
 * previous CRL or no pre-signed answer in place (a request signs one
 * live; sync_revocations regenerates a CRL that lags the store), so it is
 * reported and the caller goes on. */
static void publish_crl(server *s, jpki_ca *ca, int kind, int scope, int gen,
			const char *muni, time_t now)
{
	int rc = srv_crl_make(s, ca, kind, scope, gen, muni, now);
	if (rc != 0)
		fprintf(stderr,
			"jpkid: %s CRL (%s%s, generation %d) not regenerated: "
			"%s\n",
			jpki_cert_kind_name((jpki_cert_kind)kind),
			scope == CA_CRL_PARTITION ? "municipality "
			: scope == CA_CRL_FULL	  ? "full"
						  : "ARL",
			scope == CA_CRL_PARTITION && muni != NULL ? muni : "",
			gen, jpki_strerror(rc));
}

/* Every CRL of one scope (and municipality): one per root generation. */
static void publish_crl_gens(server *s, jpki_ca *ca, int kind, int scope,
			     const char *muni, time_t now)
{
	int n = ca_root_gen(ca, (jpki_cert_kind)kind, 0, NULL);
	publish_crl(s, ca, kind, scope, 0, muni, now);
	for (int g = 1; g < n && scope != CA_CRL_ARL; g++)
		publish_crl(s, ca, kind, scope, g, muni, now);
}

static void publish_ocsp(server *s, jpki_ca *ca, int kind, int row_gen,
			 const char *serial_hex, time_t now)
{
	int rc = srv_presign(s, ca, kind, row_gen, serial_hex, now);
	if (rc != 0)
		fprintf(stderr,
			"jpkid: OCSP answer for %s not pre-signed: %s\n",
			serial_hex, jpki_strerror(rc));
}

void srv_publish_revoked(srv_worker *w, const char *serial_hex)
{
	store_cert c;
	uint8_t serial[20];
	size_t serial_len = 0;
	time_t now = srv_time(w->s);
	memset(&c, 0, sizeof(c));
	if (store_cert_get(ca_store(w->ca), serial_hex, &c, NULL) != 0)
		return;
	if (c.kind == JPKI_CERT_SIGN || c.kind == JPKI_CERT_AUTH) {
		if (serial_bytes(c.serial, serial, &serial_len) == 0) {
			srv_ocsp_cache_drop(w->s->ocsp, serial, serial_len);
			publish_ocsp(w->s, w->ca, c.kind, c.gen, c.serial, now);
		}
		/* the CRLs of the generation that issued it */
		int gen = answer_gen(w->ca, c.kind, c.gen);
		if (c.muni_code[0] != '\0')
			publish_crl(w->s, w->ca, c.kind, CA_CRL_PARTITION, gen,
				    c.muni_code, now);
		publish_crl(w->s, w->ca, c.kind, CA_CRL_FULL, gen, NULL, now);
	} else if (c.kind == 10 + JPKI_CERT_SIGN ||
		   c.kind == 10 + JPKI_CERT_AUTH) {
		publish_crl(w->s, w->ca, c.kind - 10, CA_CRL_ARL, 0, NULL, now);
	}
	store_cert_clear(&c);
	srv_audit_checkpoint(w->s, w->ca, now); /* after every revocation */
}

void srv_audit_checkpoint(server *s, jpki_ca *ca, time_t now)
{
	ca_checkpoint cp;
	jpki_err err = {0};
	pthread_mutex_lock(&s->cp_mu);
	int rc = ca_audit_checkpoint(ca, now, &cp, &err);
	if (rc == 0)
		s->cp_seq = cp.seq;
	pthread_mutex_unlock(&s->cp_mu);
	if (rc != 0) {
		fprintf(stderr, "jpkid: audit checkpoint not written: %s\n",
			err.msg);
		return;
	}
	if (s->audit_syslog)
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit checkpoint %s",
		       cp.line);
}

void srv_publish_muni(srv_worker *w, const char *muni)
{
	time_t now = srv_time(w->s);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
		publish_crl_gens(w->s, w->ca, k, CA_CRL_PARTITION, muni, now);
}

void srv_publish_issued(server *s, const char *serial_hex, int kind)
{
	pthread_mutex_lock(&s->pub_mu);
	if (s->pub_q_len < s->pub_q_cap &&
	    jpki_strlcpy(s->pub_q[s->pub_q_len].serial, serial_hex,
			 STORE_SERIAL_HEX_MAX) == 0) {
		s->pub_q[s->pub_q_len].kind = kind; /* the newest issued it */
		s->pub_q_len++;
		pthread_cond_signal(&s->pub_cv);
	}
	/* a full queue (or a serial no certificate has) only delays: the
	 * first request signs it live */
	pthread_mutex_unlock(&s->pub_mu);
}

/* ---- the refresher ---- */

typedef struct warm_item {
	char serial[STORE_SERIAL_HEX_MAX];
	int kind, gen;
} warm_item;

typedef struct warm_list {
	warm_item *v;
	size_t n, cap, next;
} warm_list;

static int warm_add(void *ctx, const store_cert *c)
{
	warm_list *l = ctx;
	if (c->kind != JPKI_CERT_SIGN && c->kind != JPKI_CERT_AUTH)
		return 0;
	if (l->n == l->cap)
		return 1; /* as many as the cache holds */
	if (jpki_strlcpy(l->v[l->n].serial, c->serial, STORE_SERIAL_HEX_MAX) !=
	    0)
		return 0; /* not one of ours to warm */
	l->v[l->n].kind = c->kind;
	l->v[l->n].gen = c->gen;
	l->n++;
	return 0;
}

static void warm_collect(server *s, jpki_ca *ca, warm_list *l, size_t max)
{
	time_t now = srv_time(s);
	jpki_date today = jpki_date_of(now), end = {9999, 12, 31};
	l->cap = max;
	l->v = calloc(max > 0 ? max : 1, sizeof(*l->v));
	if (l->v == NULL) {
		l->cap = 0;
		return;
	}
	/* warm_add stops both walks (1) when the list is full; a store
	 * error only leaves fewer answers to pre-sign: requests sign the
	 * others live */
	jpki_err err = {0};
	int rc =
	    store_cert_expiring(ca_store(ca), today, end, warm_add, l, &err);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && rc >= 0; k++)
		rc = store_cert_revoked(ca_store(ca), k, NULL, now, warm_add, l,
					&err);
	if (rc < 0)
		fprintf(stderr, "jpkid: OCSP warm-up list cut short: %s\n",
			err.msg);
	(void)s;
}

/* What the store says is revoked, per published file. */
typedef struct fp_acc {
	srv_crl_ref *v; /* key, fp */
	size_t n, cap;
	int kind;
	server *s;
	jpki_ca *ca;
	char (*republish)[STORE_SERIAL_HEX_MAX];
	int *republish_kind, *republish_gen;
	size_t nrep;
} fp_acc;

static srv_crl_ref *fp_slot(fp_acc *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, key) == 0)
			return &a->v[i];
	if (a->n == a->cap)
		return NULL;
	srv_crl_ref *r = &a->v[a->n];
	memset(r, 0, sizeof(*r));
	if (jpki_strlcpy(r->key, key, sizeof(r->key)) != 0)
		return NULL; /* as a full table: not counted */
	a->n++;
	return r;
}

static int fp_visit(void *ctx, const store_cert *c)
{
	fp_acc *a = ctx;
	uint8_t serial[20];
	size_t len = 0;
	char key[48];
	if (serial_bytes(c->serial, serial, &len) != 0)
		return 0;
	if (c->kind == a->kind) {
		int gen = answer_gen(a->ca, c->kind, c->gen);
		crl_key(key, sizeof(key), a->kind, CA_CRL_PARTITION, gen,
			c->muni_code);
		srv_crl_ref *r = fp_slot(a, key);
		if (r != NULL)
			srv_crl_fp_add(&r->fp_count, &r->fp_xor, serial, len,
				       c->reason);
		crl_key(key, sizeof(key), a->kind, CA_CRL_FULL, gen, NULL);
		if ((r = fp_slot(a, key)) != NULL)
			srv_crl_fp_add(&r->fp_count, &r->fp_xor, serial, len,
				       c->reason);
		int st = 0, reason = 0;
		if (srv_ocsp_cache_status(a->s->ocsp, serial, len, &st,
					  &reason) == 0 &&
		    (st != V_OCSP_CERTSTATUS_REVOKED || reason != c->reason) &&
		    a->nrep < SYNC_MAX &&
		    jpki_strlcpy(a->republish[a->nrep], c->serial,
				 STORE_SERIAL_HEX_MAX) == 0) {
			a->republish_gen[a->nrep] = c->gen;
			a->republish_kind[a->nrep++] = c->kind;
		}
	} else {
		crl_key(key, sizeof(key), a->kind, CA_CRL_ARL, 0, NULL);
		srv_crl_ref *r = fp_slot(a, key);
		if (r != NULL)
			srv_crl_fp_add(&r->fp_count, &r->fp_xor, serial, len,
				       c->reason);
	}
	return 0;
}

/* Compare the store's revocations with the published ones; republish
 * what differs. */
static void sync_revocations(server *s, jpki_ca *ca, time_t now)
{
	enum { MAXREF = 16384 };
	fp_acc a;
	srv_crl_ref *have = NULL;
	memset(&a, 0, sizeof(a));
	a.s = s;
	a.ca = ca;
	a.cap = MAXREF;
	a.v = calloc(MAXREF, sizeof(*a.v));
	have = calloc(MAXREF, sizeof(*have));
	a.republish = calloc(SYNC_MAX, sizeof(*a.republish));
	a.republish_kind = calloc(SYNC_MAX, sizeof(int));
	a.republish_gen = calloc(SYNC_MAX, sizeof(int));
	if (a.v == NULL || have == NULL || a.republish == NULL ||
	    a.republish_kind == NULL || a.republish_gen == NULL)
		goto out;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		a.kind = k;
		if (store_cert_revoked(ca_store(ca), k, NULL, now, fp_visit, &a,
				       NULL) != 0 ||
		    store_cert_revoked(ca_store(ca), 10 + k, NULL, now,
				       fp_visit, &a, NULL) != 0)
			goto out;
	}
	for (size_t i = 0; i < a.nrep; i++) {
		uint8_t serial[20];
		size_t len = 0;
		if (serial_bytes(a.republish[i], serial, &len) != 0)
			continue;
		srv_ocsp_cache_drop(s->ocsp, serial, len);
		publish_ocsp(s, ca, a.republish_kind[i], a.republish_gen[i],
			     a.republish[i], now);
	}
	size_t n = srv_crl_cache_list(s->crl, now, false, have, MAXREF);
	for (size_t i = 0; i < n; i++) {
		uint64_t cnt = 0, x = 0;
		for (size_t j = 0; j < a.n; j++)
			if (strcmp(a.v[j].key, have[i].key) == 0) {
				cnt = a.v[j].fp_count;
				x = a.v[j].fp_xor;
				break;
			}
		if (cnt != have[i].fp_count || x != have[i].fp_xor)
			publish_crl(s, ca, have[i].kind, have[i].scope,
				    have[i].gen, have[i].muni, now);
	}
out:
	free(a.v);
	free(have);
	free(a.republish);
	free(a.republish_kind);
	free(a.republish_gen);
}

typedef struct muni_ctx {
	server *s;
	jpki_ca *ca;
	time_t now;
} muni_ctx;

static int ensure_muni(void *vctx, const store_muni *m)
{
	muni_ctx *c = vctx;
	char key[48];
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		int n = ca_root_gen(c->ca, (jpki_cert_kind)k, 0, NULL);
		for (int g = 0; g < (n > 1 ? n : 1); g++) {
			crl_key(key, sizeof(key), k, CA_CRL_PARTITION, g,
				m->code);
			if (!srv_crl_cache_has(c->s->crl, key))
				publish_crl(c->s, c->ca, k, CA_CRL_PARTITION, g,
					    m->code, c->now);
		}
	}
	return 0;
}

static void ensure_crls(server *s, jpki_ca *ca, time_t now)
{
	muni_ctx mc = {s, ca, now};
	char key[48];
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		/* g 0: the newest generation; 1..n-1: the older ones */
		int n = ca_root_gen(ca, (jpki_cert_kind)k, 0, NULL);
		for (int g = 0; g < (n > 1 ? n : 1); g++) {
			crl_key(key, sizeof(key), k, CA_CRL_FULL, g, NULL);
			if (!srv_crl_cache_has(s->crl, key))
				publish_crl(s, ca, k, CA_CRL_FULL, g, NULL,
					    now);
		}
		crl_key(key, sizeof(key), k, CA_CRL_ARL, 0, NULL);
		if (!srv_crl_cache_has(s->crl, key))
			publish_crl(s, ca, k, CA_CRL_ARL, 0, NULL, now);
	}
	jpki_err err = {0};
	if (store_muni_each(ca_store(ca), ensure_muni, &mc, &err) != 0)
		fprintf(stderr, "jpkid: municipality CRLs not checked: %s\n",
			err.msg);
}

static bool warm_resigns(server *s);

static void refresh_due(server *s, jpki_ca *ca, time_t now)
{
	enum { MAXDUE = 256 };
	srv_crl_ref due[MAXDUE];
	size_t n = srv_crl_cache_list(s->crl, now, true, due, MAXDUE);
	for (size_t i = 0; i < n; i++)
		publish_crl(s, ca, due[i].kind, due[i].scope, due[i].gen,
			    due[i].muni, now);
	/* the warm-up threads re-sign answers when they run (warm_main);
	 * this thread only when none could be started */
	if (warm_resigns(s))
		return;
	srv_ocsp_due *od = calloc(DUE_PER_PASS, sizeof(*od));
	if (od == NULL)
		return;
	srv_ocsp_cursor cur = {0, 0};
	bool wrapped = false;
	n = srv_ocsp_cache_due_step(s->ocsp, now, &cur, SIZE_MAX, od,
				    DUE_PER_PASS, &wrapped);
	for (size_t i = 0; i < n; i++)
		presign_key(s, ca, od[i].kind, od[i].key, od[i].key_len,
			    od[i].serial, od[i].serial_len, now);
	free(od);
}

static void *refresher_main(void *arg)
{
	server *s = arg;
	jpki_ca *ca = s->pub_w.ca;
	warm_item *batch = calloc(PRESIGN_PER_TICK, sizeof(*batch));
	time_t next_sync = 0, next_muni = 0, next_due = 0, next_cp = 0,
	       next_scan = 0;
	for (;;) {
		size_t nb = 0;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&s->pub_mu);
		if (!s->pub_stop && s->pub_q_len == 0)
			pthread_cond_timedwait(&s->pub_cv, &s->pub_mu, &until);
		bool stop = s->pub_stop;
		while (batch != NULL && s->pub_q_len > 0 &&
		       nb < PRESIGN_PER_TICK) {
			s->pub_q_len--;
			memcpy(batch[nb].serial, s->pub_q[s->pub_q_len].serial,
			       STORE_SERIAL_HEX_MAX); /* same size */
			batch[nb++].kind = s->pub_q[s->pub_q_len].kind;
		}
		pthread_mutex_unlock(&s->pub_mu);
		if (stop)
			break;
		time_t now = srv_time(s);
		srv_downloads_sweep(s, now);
		for (size_t i = 0; i < nb; i++)
			publish_ocsp(s, ca, batch[i].kind, 0, batch[i].serial,
				     now);
		if (now >= next_muni) {
			ensure_crls(s, ca, now);
			next_muni = now + MUNI_EVERY;
		}
		if (now >= next_sync) {
			if (!s->watch_started || now >= next_scan) {
				sync_revocations(s, ca, now);
				next_scan = now + WATCHED_SCAN;
			}
			srv_sessions_sync_store(s, ca);
			next_sync = now + SYNC_EVERY;
		}
		if (now >= next_due) {
			refresh_due(s, ca, now);
			next_due = now + SYNC_EVERY;
		}
		if (now >= next_cp) {
			/* a checkpoint a minute while the log grows */
			int64_t seq = 0;
			char hash[65];
			if (store_audit_head(ca_store(ca), &seq, hash, NULL) ==
			    0) {
				pthread_mutex_lock(&s->cp_mu);
				bool stale = seq != s->cp_seq;
				pthread_mutex_unlock(&s->cp_mu);
				if (stale)
					srv_audit_checkpoint(s, ca, now);
			}
			next_cp = now + CHECKPOINT_EVERY;
		}
	}
	free(batch);
	return NULL;
}

/* ---- the answers over a restart ----
 *
 * At a clean stop the cache writes every answer not yet due to
 * ocsp-answers.saved (srv_ocsp_cache_save); at the next start warm-up
 * first reuses those still fresh whose status is still the store's: the
 * store's revoked certificates (every one, expired or not) are read once
 * after the cache's generations are taken, and an answer is reused only
 * when it says revoked, with the same reason, for a serial in that list,
 * or good for one not in it (docs/decisions.md). */
typedef struct rev_one {
	uint8_t len, serial[20];
	int reason;
} rev_one;

typedef struct rev_set {
	rev_one *v;
	size_t n, cap;
	bool failed;
	jpki_ca *ca;
} rev_set;

static int rev_add(void *ctx, const store_cert *c)
{
	rev_set *r = ctx;
	size_t len = 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		rev_one *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL) {
			r->failed = true;
			return 1;
		}
		r->v = v;
		r->cap = cap;
	}
	if (serial_bytes(c->serial, r->v[r->n].serial, &len) != 0)
		return 0; /* not a serial we answer for */
	r->v[r->n].len = (uint8_t)len;
	r->v[r->n].reason = c->reason;
	r->n++;
	return 0;
}

static int rev_cmp(const void *a, const void *b)
{
	const rev_one *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->serial, y->serial, x->len);
}

static int rev_scan(void *ctx)
{
	rev_set *r = ctx;
	jpki_err err = {0};
	int rc = 0;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && rc == 0; k++)
		rc = store_cert_revoked(ca_store(r->ca), k, NULL, 0, rev_add, r,
					&err);
	if (rc < 0 || r->failed) {
		fprintf(stderr, "jpkid: revocations not read: %s\n",
			r->failed ? "out of memory" : err.msg);
		return rc < 0 ? rc : JPKI_ERR_NOMEM;
	}
	if (r->n > 0)
		qsort(r->v, r->n, sizeof(*r->v), rev_cmp);
	return 0;
}

static bool rev_matches(void *ctx, const uint8_t *serial, size_t len,
			int status, int reason)
{
	rev_set *r = ctx;
	rev_one key = {.len = (uint8_t)len};
	if (len > sizeof(key.serial))
		return false;
	memcpy(key.serial, serial, len);
	const rev_one *hit =
	    r->n > 0 ? bsearch(&key, r->v, r->n, sizeof(*r->v), rev_cmp) : NULL;
	if (hit != NULL)
		return status == V_OCSP_CERTSTATUS_REVOKED &&
		       reason == hit->reason;
	return status == V_OCSP_CERTSTATUS_GOOD;
}

/* The roots the answers were signed for: a file of another CA, or from
 * before a rollover, is refused. */
static int spill_tag(server *s, uint8_t tag[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = JPKI_ERR_CRYPTO;
	unsigned l = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < 3 + s->n_old_roots; i++) {
		X509 *x = i < 3 ? s->root_cert[i] : s->old_roots[i - 3];
		unsigned char *der = NULL;
		int n = x != NULL ? i2d_X509(x, &der) : 0;
		if (n < 0)
			goto out;
		int ok = n == 0 || EVP_DigestUpdate(md, der, (size_t)n) == 1;
		OPENSSL_free(der);
		if (!ok)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, tag, &l) == 1 && l == 32)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static void spill_restore(server *s, jpki_ca *ca)
{
	uint8_t tag[32];
	rev_set rs = {.ca = ca};
	srv_ocsp_expect x = {rev_scan, rev_matches, &rs};
	srv_ocsp_loaded st;
	if (spill_tag(s, tag) != 0)
		return;
	double t0 = srv_now_mono();
	int rc =
	    srv_ocsp_cache_load(s->ocsp, s->dir, tag, &x, srv_time(s), &st);
	if (st.refused != NULL)
		fprintf(stderr,
			"jpkid: saved OCSP answers %s/ocsp-answers.saved "
			"REFUSED: %s; removed, every answer is signed "
			"again\n",
			s->dir, st.refused);
	else if (rc != 0)
		fprintf(stderr, "jpkid: saved OCSP answers not read: %s\n",
			jpki_strerror(rc));
	else if (!st.absent)
		fprintf(stderr,
			"jpkid: %zu saved OCSP answers reused in %.1f s (%zu "
			"past their re-signing time, %zu whose status "
			"changed, %zu not usable)\n",
			st.reused, srv_now_mono() - t0, st.stale, st.changed,
			st.bad);
	atomic_store(&s->m.ocsp_restored, st.reused);
	free(rs.v);
}

void srv_ocsp_spill_save(server *s)
{
	uint8_t tag[32];
	size_t n = 0;
	if (s->ocsp == NULL || spill_tag(s, tag) != 0)
		return;
	int rc = srv_ocsp_cache_save(s->ocsp, s->dir, tag, srv_time(s), &n);
	if (rc == 0)
		fprintf(stderr,
			"jpkid: %zu pre-signed OCSP answers saved for the "
			"next start\n",
			n);
	else if (rc != JPKI_ERR_STATE)
		fprintf(stderr, "jpkid: OCSP answers not saved: %s\n",
			jpki_strerror(rc));
}

/* ---- warm-up: every certificate's answer pre-signed after start ----
 *
 * As many threads as cores (at most WARM_MAX), each with its own CA
 * handle, take the next certificate of one list and sign its answer.
 * Before each signature a thread looks at live_busy, the admitted
 * requests queued or running on this node: while there is one it waits
 * WARM_YIELD_NS and looks again, so a live request waits at most for the
 * signatures already under way (one per warm-up thread), never for the
 * list.  The threads also run 10 nice levels below the rest of jpkid
 * (Linux: per thread), so cached answers served on the HTTP threads keep
 * the CPU first.  An answer the cache holds fresh (restored from the
 * spill file) is not signed again.
 *
 * The same threads then keep the answers fresh, for as long as jpkid
 * runs: they sweep the cache a step at a time (DUE_STEP entries, under
 * one shard's lock at a time) for answers past half their validity and
 * re-sign them, before any item of the list.  While live work runs they
 * re-sign only answers with a quarter of their validity or less left, so
 * a busy day delays re-signing but cannot let answers lapse unnoticed; an
 * answer past its nextUpdate is never served (srv_ocsp_cache_serve), it
 * is signed for the request instead. */
typedef struct srv_warm {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	warm_list l;
	bool ready;
	atomic_size_t next;
	atomic_int left; /* threads still on the list; the last frees it */
	atomic_bool stop;
	int n;
	/* re-signing (under mu): one sweep over the cache shared by the
	 * threads, a step at a time, and the due answers it found */
	srv_ocsp_cursor cur;
	srv_ocsp_due due[DUE_BATCH];
	size_t due_n, due_i;
	double next_step; /* srv_now_mono() */
	srv_worker w[WARM_MAX];
} srv_warm;

/* The next answer to re-sign, or false.  While live work runs (busy) only
 * an urgent one: a quarter of its validity or less left.  An empty batch
 * is refilled by the next step of the sweep: at once after a step that
 * found answers, DUE_STEP_IDLE s after one that did not, SYNC_EVERY s
 * after a whole sweep that found none. */
static bool due_take(server *s, srv_warm *wm, time_t now, bool busy,
		     srv_ocsp_due *out)
{
	bool got = false;
	pthread_mutex_lock(&wm->mu);
	if (wm->due_i == wm->due_n && srv_now_mono() >= wm->next_step) {
		bool wrapped = false;
		wm->due_n =
		    srv_ocsp_cache_due_step(s->ocsp, now, &wm->cur, DUE_STEP,
					    wm->due, DUE_BATCH, &wrapped);
		wm->due_i = 0;
		if (wm->due_n == 0)
			wm->next_step = srv_now_mono() +
					(wrapped ? SYNC_EVERY : DUE_STEP_IDLE);
	}
	for (size_t i = wm->due_i; i < wm->due_n && !got; i++) {
		const srv_ocsp_due *d = &wm->due[i];
		if (busy && d->next_update - now > CA_OCSP_VALIDITY / 4)
			continue;
		*out = *d;
		wm->due[i] = wm->due[wm->due_i];
		wm->due_i++;
		got = true;
	}
	pthread_mutex_unlock(&wm->mu);
	return got;
}

/* Whether warm-up's threads run, and so re-sign the answers. */
static bool warm_resigns(server *s)
{
	return atomic_load(&s->warm_n) > 0;
}

/* A thread done with warm-up's list; the last one gives the list back
 * (48 bytes a certificate) and says warm-up is done. */
static void warm_left(server *s, srv_warm *wm)
{
	if (atomic_fetch_sub(&wm->left, 1) != 1)
		return;
	atomic_store(&s->m.ocsp_warm_done, 1);
	pthread_mutex_lock(&wm->mu);
	free(wm->l.v);
	wm->l.v = NULL;
	wm->l.n = 0;
	pthread_mutex_unlock(&wm->mu);
}

static void *warm_main(void *arg)
{
	srv_worker *w = arg;
	server *s = w->s;
	srv_warm *wm = s->warm;
	/* errno tells a nice of -1 from a failure */
	errno = 0;
	id_t tid = (id_t)syscall(SYS_gettid);
	int nice_now = getpriority(PRIO_PROCESS, tid);
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, tid,
				  nice_now + 10 > 19 ? 19 : nice_now + 10);
	if (w == &wm->w[0]) {
		/* the first thread reads the saved answers and walks the
		 * store; the others wait */
		spill_restore(s, w->ca);
		warm_collect(s, w->ca, &wm->l, s->ocsp_max);
		pthread_mutex_lock(&wm->mu);
		wm->ready = true;
		pthread_cond_broadcast(&wm->cv);
	} else {
		pthread_mutex_lock(&wm->mu);
		while (!wm->ready && !atomic_load(&wm->stop))
			pthread_cond_wait(&wm->cv, &wm->mu);
	}
	pthread_mutex_unlock(&wm->mu);
	bool listing = true;
	while (!atomic_load(&wm->stop)) {
		time_t now = srv_time(s);
		bool busy = atomic_load_explicit(&s->live_busy,
						 memory_order_relaxed) > 0;
		srv_ocsp_due d;
		if (due_take(s, wm, now, busy, &d)) {
			/* re-signing first: an answer held is about to
			 * age, one not yet signed is only missing */
			int rc = presign_key(s, w->ca, d.kind, d.key, d.key_len,
					     d.serial, d.serial_len, now);
			if (rc != 0)
				fprintf(stderr,
					"jpkid: OCSP answer not re-signed: "
					"%s\n",
					jpki_strerror(rc));
			continue;
		}
		if (busy) {
			struct timespec ts = {0, WARM_YIELD_NS};
			nanosleep(&ts, NULL);
			continue;
		}
		if (!listing) {
			/* nothing due: wait for the next step, or stop */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&wm->mu);
			if (!atomic_load(&wm->stop))
				pthread_cond_timedwait(&wm->cv, &wm->mu,
						       &until);
			pthread_mutex_unlock(&wm->mu);
			continue;
		}
		size_t i = atomic_fetch_add(&wm->next, 1);
		if (i >= wm->l.n) {
			listing = false;
			warm_left(s, wm);
			continue;
		}
		const warm_item *it = &wm->l.v[i];
		int rc = presign_serial(s, w->ca, it->kind, it->gen, it->serial,
					now, true);
		if (rc != 0)
			fprintf(stderr,
				"jpkid: OCSP answer for %s not pre-signed: "
				"%s\n",
				it->serial, jpki_strerror(rc));
	}
	return NULL;
}

static int warm_start(server *s, jpki_err *err)
{
	srv_warm *wm = calloc(1, sizeof(*wm));
	if (wm == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&wm->mu, NULL);
	pthread_cond_init(&wm->cv, NULL);
	s->warm = wm;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = ncpu < 1 ? 1 : ncpu > WARM_MAX ? WARM_MAX : (int)ncpu;
	for (int i = 0; i < n; i++) {
		int rc;
		wm->w[i].s = s;
		wm->w[i].cls = -1;
		if ((rc = srv_open_ca(s, &wm->w[i].ca, err)) != 0)
			return rc;
	}
	atomic_store(&wm->left, n);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&wm->w[i].th, NULL, warm_main, &wm->w[i]) !=
		    0) {
			atomic_fetch_sub(&wm->left, n - i);
			if (i == 0) {
				/* nobody would collect: release the others */
				pthread_mutex_lock(&wm->mu);
				wm->ready = true;
				pthread_mutex_unlock(&wm->mu);
			}
			break;
		}
		wm->w[i].started = true;
		wm->n = i + 1;
	}
	atomic_store(&s->warm_n, wm->n);
	return 0;
}

static void warm_stop(server *s)
{
	srv_warm *wm = s->warm;
	if (wm == NULL)
		return;
	atomic_store(&s->warm_n, 0);
	atomic_store(&wm->stop, true);
	pthread_mutex_lock(&wm->mu);
	pthread_cond_broadcast(&wm->cv);
	pthread_mutex_unlock(&wm->mu);
	for (int i = 0; i < WARM_MAX; i++) {
		if (wm->w[i].started)
			pthread_join(wm->w[i].th, NULL);
		ca_close(wm->w[i].ca);
	}
	free(wm->l.v);
	pthread_cond_destroy(&wm->cv);
	pthread_mutex_destroy(&wm->mu);
	free(wm);
	s->warm = NULL;
}

/* ---- revocations told by the store (PostgreSQL) ---- */

/* What one wait told: OCSP first for every serial, then each CRL they
 * touch once (a burst of revocations regenerates a CRL once, not once
 * per serial, and never delays the OCSP answers behind CRLs). */
#define TOLD_MAX 1024
#define CRLS_MAX 64
typedef struct told {
	char serial[TOLD_MAX][STORE_SERIAL_HEX_MAX];
	size_t n;
	bool overflow; /* more than TOLD_MAX: rescan instead */
} told;

static void on_revoked(void *ctx, const char *serial_hex)
{
	told *t = ctx;
	if (t->n == TOLD_MAX || jpki_strlcpy(t->serial[t->n], serial_hex,
					     STORE_SERIAL_HEX_MAX) != 0) {
		t->overflow = true;
		return;
	}
	t->n++;
}

typedef struct crl_target {
	int kind, scope, gen;
	char muni[8];
} crl_target;

static void crl_mark(crl_target *v, size_t *n, bool *overflow, int kind,
		     int scope, int gen, const char *muni)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].kind == kind && v[i].scope == scope &&
		    v[i].gen == gen && strcmp(v[i].muni, muni) == 0)
			return;
	if (*n == CRLS_MAX) {
		*overflow = true;
		return;
	}
	v[*n].kind = kind;
	v[*n].scope = scope;
	v[*n].gen = gen;
	if (jpki_strlcpy(v[*n].muni, muni, sizeof(v[*n].muni)) != 0) {
		*overflow = true; /* not a code we issue: regenerate all */
		return;
	}
	(*n)++;
}

static void publish_told(server *s, jpki_ca *ca, told *t)
{
	crl_target crls[CRLS_MAX];
	size_t nc = 0;
	bool overflow = t->overflow;
	time_t now = srv_time(s);
	for (size_t i = 0; i < t->n && !overflow; i++) {
		store_cert c;
		uint8_t serial[20];
		size_t len = 0;
		int st = 0, reason = 0;
		/* published already by this node (its own API call) */
		if (serial_bytes(t->serial[i], serial, &len) == 0 &&
		    srv_ocsp_cache_status(s->ocsp, serial, len, &st, &reason) ==
			0 &&
		    st == V_OCSP_CERTSTATUS_REVOKED)
			continue;
		memset(&c, 0, sizeof(c));
		if (store_cert_get(ca_store(ca), t->serial[i], &c, NULL) != 0)
			continue; /* not this store's (another schema) */
		if (c.kind == JPKI_CERT_SIGN || c.kind == JPKI_CERT_AUTH) {
			if (len > 0) {
				srv_ocsp_cache_drop(s->ocsp, serial, len);
				publish_ocsp(s, ca, c.kind, c.gen, c.serial,
					     now);
			}
			int gen = answer_gen(ca, c.kind, c.gen);
			if (c.muni_code[0] != '\0')
				crl_mark(crls, &nc, &overflow, c.kind,
					 CA_CRL_PARTITION, gen, c.muni_code);
			crl_mark(crls, &nc, &overflow, c.kind, CA_CRL_FULL, gen,
				 "");
		} else if (c.kind == 10 + JPKI_CERT_SIGN ||
			   c.kind == 10 + JPKI_CERT_AUTH) {
			crl_mark(crls, &nc, &overflow, c.kind - 10, CA_CRL_ARL,
				 0, "");
		}
		store_cert_clear(&c);
	}
	if (overflow) {
		sync_revocations(s, ca, now);
		return;
	}
	for (size_t i = 0; i < nc; i++)
		publish_crl(s, ca, crls[i].kind, crls[i].scope, crls[i].gen,
			    crls[i].scope == CA_CRL_PARTITION ? crls[i].muni
							      : NULL,
			    now);
}

static void *watch_main(void *arg)
{
	server *s = arg;
	store_watch *wt = NULL;
	bool reopened = false, logged = false;
	jpki_err err = {0};
	told *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		fprintf(stderr, "jpkid: revocation listener: out of memory\n");
		return NULL;
	}
	while (!atomic_load(&s->watch_stop)) {
		if (wt == NULL) {
			if (store_watch_open(s->store_loc, &wt, &err) != 0) {
				if (!logged)
					fprintf(stderr,
						"jpkid: not listening for "
						"revocations: %s\n",
						err.msg);
				logged = true;
				wt = NULL;
				struct timespec ts = {0, 250 * 1000 * 1000};
				nanosleep(&ts, NULL);
				continue;
			}
			if (logged)
				fprintf(stderr, "jpkid: listening for "
						"revocations again\n");
			logged = false;
			/* what committed while nobody listened */
			if (reopened)
				sync_revocations(s, s->watch_w.ca, srv_time(s));
			reopened = true;
		}
		t->n = 0;
		t->overflow = false;
		int rc =
		    store_watch_wait(wt, WATCH_WAIT_MS, on_revoked, t, &err);
		if (t->n > 0 || t->overflow)
			publish_told(s, s->watch_w.ca, t);
		if (rc != 0) {
			fprintf(stderr, "jpkid: revocation listener: %s\n",
				err.msg);
			store_watch_close(wt);
			wt = NULL;
		}
	}
	store_watch_close(wt);
	free(t);
	return NULL;
}

/* Start the watcher when the store can tell (not SQLite). */
static int watch_start(server *s, jpki_err *err)
{
	store_watch *probe = NULL;
	int rc;
	if (!s->has_store)
		return 0;
	rc = store_watch_open(s->store_loc, &probe, NULL);
	if (rc == JPKI_ERR_STATE)
		return 0; /* SQLite: the scan */
	/* the thread opens its own, and retries one not reachable now */
	store_watch_close(probe);
	s->watch_w.s = s;
	s->watch_w.cls = -1;
	if ((rc = srv_open_ca(s, &s->watch_w.ca, err)) != 0)
		return rc;
	atomic_store(&s->watch_stop, false);
	if (pthread_create(&s->watch_th, NULL, watch_main, s) != 0)
		return jpki_fail(err, JPKI_ERR_NOMEM,
				 "cannot start the revocation listener");
	s->watch_started = true;
	return 0;
}

static void watch_stop(server *s)
{
	if (s->watch_started) {
		atomic_store(&s->watch_stop, true);
		pthread_join(s->watch_th, NULL);
		s->watch_started = false;
	}
	ca_close(s->watch_w.ca);
	s->watch_w.ca = NULL;
}

int srv_publish_start(server *s, jpki_err *err)
{
	int rc;
	pthread_mutex_init(&s->pub_mu, NULL);
	pthread_cond_init(&s->pub_cv, NULL);
	s->pub_q_cap = PUB_QUEUE_MAX;
	if ((s->pub_q = calloc(s->pub_q_cap, sizeof(*s->pub_q))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	s->pub_w.s = s;
	s->pub_w.cls = -1;
	if ((rc = srv_open_ca(s, &s->pub_w.ca, err)) != 0)
		return rc;
	/* the first CRLs before the doors open: a relying party never sees
	 * a 404 for a partition that exists */
	ensure_crls(s, s->pub_w.ca, srv_time(s));
	/* a store that cannot be reached now is retried by the thread */
	if ((rc = watch_start(s, err)) != 0)
		return rc;
	if (pthread_create(&s->pub_th, NULL, refresher_main, s) != 0)
		return jpki_fail(err, JPKI_ERR_NOMEM,
				 "cannot start the refresher thread");
	s->pub_started = true;
	return warm_start(s, err);
}

void srv_publish_stop(server *s)
{
	/* the refresher first: it reads watch_started, which watch_stop
	 * clears; the listener after it (it may still queue work, into a
	 * queue freed only below) */
	warm_stop(s);
	if (s->pub_q != NULL && s->pub_started) {
		pthread_mutex_lock(&s->pub_mu);
		s->pub_stop = true;
		pthread_cond_broadcast(&s->pub_cv);
		pthread_mutex_unlock(&s->pub_mu);
		pthread_join(s->pub_th, NULL);
		s->pub_started = false;
	}
	watch_stop(s);
	if (s->pub_q == NULL)
		return;
	ca_close(s->pub_w.ca);
	s->pub_w.ca = NULL;
	free(s->pub_q);
	s->pub_q = NULL;
	pthread_cond_destroy(&s->pub_cv);
	pthread_mutex_destroy(&s->pub_mu);
}
