/* Pre-signed OCSP responses (RFC 5019 §2.2, §6.2).
 *
 * Entries are keyed by the CertID bytes a client sends (so SHA-1 and
 * SHA-256 CertIDs of one certificate are separate entries) and sharded by
 * serial number, so that every variant of one certificate lives under one
 * lock.  The first `hot_max` entries are hot: each holds a
 * reference-counted MHD_Response with its headers already set, and the
 * hot path is a hash lookup and MHD_queue_response under the shard's
 * mutex.  Replacing or dropping an entry only drops the cache's
 * reference; connections still sending the old bytes keep theirs.
 *
 * Past hot_max (up to `max` in all), an entry is cold: about 160 bytes of
 * memory (key, status, times) and its DER in an unlinked file of its own
 * (a spill file in the CA directory, gone when the process ends).  A hit
 * on a cold entry reads the DER under the shard's lock (a re-signing
 * overwrites it in place under the same lock, so a read is never torn)
 * and builds the response for this request: one pread from the page
 * cache and the headers, no signature.
 *
 * A status change must never be overwritten by a response signed from the
 * old status: a drop bumps the shard's generation, and an install whose
 * signer read the store under an older generation is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openjpki/util.h"
#include "server_int.h"

#define SHARDS 64

typedef struct hot {
	struct MHD_Response *resp;
	char etag[40];
} hot;

typedef struct entry {
	struct entry *next;
	uint64_t hash;
	hot *h;	      /* NULL: cold, the DER is in the spill file */
	uint64_t off; /* cold: where the DER starts in the file */
	uint32_t this_update, next_update; /* seconds since 1970 */
	uint32_t len; /* cold: DER length (room at off, at least) */
	uint16_t key_len;
	uint8_t kind, status, reason, serial_len;
	/* the CertID; the serial's octets are its last serial_len */
	uint8_t key[];
} entry;

static const uint8_t *serial_of(const entry *e)
{
	return e->key + e->key_len - e->serial_len;
}

static bool has_serial(const entry *e, const uint8_t *serial, size_t len)
{
	return e->serial_len == len && memcmp(serial_of(e), serial, len) == 0;
}

typedef struct shard {
	pthread_mutex_t mu;
	entry **b;
	size_t nb, n;
	uint64_t gen;
} shard;

struct srv_ocsp_cache {
	shard sh[SHARDS];
	uint64_t seed;
	size_t max, hot_max;
	int max_age;
	atomic_size_t n, nhot;
	int fd; /* the spill file; -1 = none (every entry hot) */
	pthread_mutex_t fmu;
	uint64_t end; /* next free octet of the file, under fmu */
};

static uint64_t hash(uint64_t seed, const uint8_t *p, size_t n)
{
	/* FNV-1a, seeded: keys only enter the table for certificates we
	 * issued, so attackers choose lookups, not chains */
	uint64_t h = 14695981039346656037ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static shard *shard_of(srv_ocsp_cache *c, const uint8_t *serial, size_t n)
{
	return &c->sh[hash(c->seed, serial, n) % SHARDS];
}

int srv_ocsp_cache_new(size_t max, size_t hot_max, const char *spill_dir,
		       int max_age, srv_ocsp_cache **out)
{
	srv_ocsp_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return JPKI_ERR_NOMEM;
	c->fd = -1;
	pthread_mutex_init(&c->fmu, NULL);
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1) {
		srv_ocsp_cache_free(c);
		return JPKI_ERR_CRYPTO;
	}
	c->hot_max = hot_max < max ? hot_max : max;
	c->max = max;
	c->max_age = max_age;
	if (spill_dir != NULL && c->hot_max < max &&
	    jpki_file_tmp_unlinked(spill_dir, &c->fd, NULL) != 0) {
		srv_ocsp_cache_free(c);
		return JPKI_ERR_IO;
	}
	if (c->fd < 0)
		c->max = c->hot_max;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->sh[i].mu, NULL);
		c->sh[i].nb = 64;
		c->sh[i].b = calloc(c->sh[i].nb, sizeof(entry *));
		if (c->sh[i].b == NULL) {
			srv_ocsp_cache_free(c);
			return JPKI_ERR_NOMEM;
		}
	}
	*out = c;
	return 0;
}

static void hot_free(hot *h)
{
	if (h == NULL)
		return;
	if (h->resp != NULL)
		MHD_destroy_response(h->resp);
	free(h);
}

static void entry_free(entry *e)
{
	if (e == NULL)
		return;
	hot_free(e->h);
	free(e);
}

void srv_ocsp_cache_free(srv_ocsp_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < SHARDS; i++) {
		shard *s = &c->sh[i];
		if (s->b == NULL)
			continue; /* never initialised */
		for (size_t j = 0; j < s->nb; j++) {
			entry *e = s->b[j];
			while (e != NULL) {
				entry *nx = e->next;
				entry_free(e);
				e = nx;
			}
		}
		free(s->b);
		pthread_mutex_destroy(&s->mu);
	}
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->fmu);
	free(c);
}

size_t srv_ocsp_cache_size(srv_ocsp_cache *c)
{
	return atomic_load_explicit(&c->n, memory_order_relaxed);
}

size_t srv_ocsp_cache_hot(srv_ocsp_cache *c)
{
	return atomic_load_explicit(&c->nhot, memory_order_relaxed);
}

static entry *find(shard *s, uint64_t h, const uint8_t *key, size_t len)
{
	for (entry *e = s->b[h % s->nb]; e != NULL; e = e->next)
		if (e->hash == h && e->key_len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

static bool etag_matches(const char *inm, const char *etag)
{
	return inm != NULL && etag[0] != '\0' &&
	       (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

static int not_modified(struct MHD_Connection *conn, const char *etag,
			int *status)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	int ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, r);
	MHD_destroy_response(r);
	*status = MHD_HTTP_NOT_MODIFIED;
	return ret;
}

/* A cold entry: its DER from the file, the response built for this
 * request (called with the shard's lock held; releases it). */
static int serve_cold(srv_ocsp_cache *c, shard *s, const entry *e,
		      struct MHD_Connection *conn, const char *if_none_match,
		      time_t now, int *status)
{
	srv_ocsp_info info = {.status = e->status,
			      .reason = e->reason,
			      .this_update = (time_t)e->this_update,
			      .next_update = (time_t)e->next_update};
	size_t len = e->len;
	uint8_t *der = len > 0 ? malloc(len) : NULL;
	bool ok = der != NULL && jpki_pread_full(c->fd, der, len, e->off) == 0;
	pthread_mutex_unlock(&s->mu);
	char etag[40];
	struct MHD_Response *r =
	    ok ? srv_ocsp_response(der, len, &info, false, c->max_age, now,
				   etag, sizeof(etag))
	       : NULL;
	free(der);
	if (r == NULL)
		return -1; /* answered as a miss: signed live */
	int ret;
	if (etag_matches(if_none_match, etag)) {
		ret = not_modified(conn, etag, status);
	} else {
		ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
		*status = MHD_HTTP_OK;
	}
	MHD_destroy_response(r);
	return ret;
}

int srv_ocsp_cache_serve(srv_ocsp_cache *c, const uint8_t *serial,
			 size_t serial_len, const uint8_t *key, size_t key_len,
			 struct MHD_Connection *conn, const char *if_none_match,
			 time_t now, int *status)
{
	shard *s = shard_of(c, serial, serial_len);
	uint64_t h = hash(c->seed, key, key_len);
	char etag[40];
	pthread_mutex_lock(&s->mu);
	entry *e = find(s, h, key, key_len);
	/* past its nextUpdate an answer is never served: signed for the
	 * request instead (re-signing fell behind) */
	if (e == NULL || (time_t)e->next_update <= now) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	if (e->h == NULL)
		return serve_cold(c, s, e, conn, if_none_match, now, status);
	if (etag_matches(if_none_match, e->h->etag)) {
		memcpy(etag, e->h->etag, sizeof(etag));
		pthread_mutex_unlock(&s->mu);
		return not_modified(conn, etag, status);
	}
	/* MHD takes its own reference under the response's lock */
	int ret = MHD_queue_response(conn, MHD_HTTP_OK, e->h->resp);
	pthread_mutex_unlock(&s->mu);
	*status = MHD_HTTP_OK;
	return ret;
}

uint64_t srv_ocsp_cache_capture(srv_ocsp_cache *c, const uint8_t *serial,
				size_t serial_len)
{
	shard *s = shard_of(c, serial, serial_len);
	pthread_mutex_lock(&s->mu);
	uint64_t g = s->gen;
	pthread_mutex_unlock(&s->mu);
	return g;
}

static void grow(shard *s)
{
	size_t nb = s->nb * 2;
	entry **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return; /* keep the longer chains */
	for (size_t i = 0; i < s->nb; i++) {
		entry *e = s->b[i];
		while (e != NULL) {
			entry *nx = e->next;
			e->next = b[e->hash % nb];
			b[e->hash % nb] = e;
			e = nx;
		}
	}
	free(s->b);
	s->b = b;
	s->nb = nb;
}

/* Room for len octets at the end of the spill file. */
static uint64_t spill_alloc(srv_ocsp_cache *c, size_t len)
{
	pthread_mutex_lock(&c->fmu);
	uint64_t off = c->end;
	c->end += len;
	pthread_mutex_unlock(&c->fmu);
	return off;
}

static bool key_ok(const uint8_t *key, size_t key_len, const uint8_t *serial,
		   size_t serial_len)
{
	/* serialNumber ends the CertID: its octets (a leading zero octet
	 * aside) are the key's last */
	return key_len > 0 && key_len <= SRV_OCSP_KEY_MAX && serial_len > 0 &&
	       serial_len <= 20 && serial_len < key_len &&
	       memcmp(key + key_len - serial_len, serial, serial_len) == 0;
}

/* install with the DER already parsed (info) */
static int install_info(srv_ocsp_cache *c, int kind, const uint8_t *key,
			size_t key_len, const uint8_t *serial,
			size_t serial_len, const uint8_t *der, size_t len,
			const srv_ocsp_info *pinfo, uint64_t captured,
			time_t now)
{
	srv_ocsp_info info = *pinfo;
	entry *ne = NULL, *gone = NULL;
	hot *nh = NULL, *old = NULL;
	int rc = 0;
	if (info.status == V_OCSP_CERTSTATUS_UNKNOWN)
		return 0; /* never cached: anyone can ask about anything */
	if (info.this_update < 0 || info.next_update > (time_t)UINT32_MAX)
		return JPKI_ERR_RANGE;
	if ((ne = calloc(1, sizeof(*ne) + key_len)) == NULL)
		return JPKI_ERR_NOMEM;
	ne->hash = hash(c->seed, key, key_len);
	shard *s = shard_of(c, serial, serial_len);
	/* a response ready in memory only for an entry that is or will be
	 * hot (hot entries stay hot, cold ones cold) */
	pthread_mutex_lock(&s->mu);
	entry *e = find(s, ne->hash, key, key_len);
	bool want_hot =
	    e != NULL ? e->h != NULL : atomic_load(&c->nhot) < c->hot_max;
	pthread_mutex_unlock(&s->mu);
	if (want_hot) {
		if ((nh = calloc(1, sizeof(*nh))) == NULL ||
		    (nh->resp = srv_ocsp_response(der, len, &info, false,
						  c->max_age, now, nh->etag,
						  sizeof(nh->etag))) == NULL) {
			free(nh);
			free(ne);
			return JPKI_ERR_NOMEM;
		}
	}
	ne->kind = (uint8_t)kind;
	ne->status = (uint8_t)info.status;
	ne->reason = (uint8_t)info.reason;
	ne->this_update = (uint32_t)info.this_update;
	ne->next_update = (uint32_t)info.next_update;
	ne->serial_len = (uint8_t)serial_len;
	memcpy(ne->key, key, key_len);
	ne->key_len = (uint16_t)key_len;
	pthread_mutex_lock(&s->mu);
	e = find(s, ne->hash, key, key_len);
	entry *target = NULL;
	if (s->gen != captured) {
		gone = ne; /* signed from a stale status */
	} else if (e != NULL) {
		/* keep the node, swap what it serves */
		target = e;
		gone = ne;
	} else if (atomic_load(&c->n) >= c->max ||
		   (c->fd < 0 &&
		    (nh == NULL || atomic_load(&c->nhot) >= c->hot_max))) {
		gone = ne; /* full, or would be cold with nowhere to go */
	} else {
		target = ne;
		if (s->n >= s->nb)
			grow(s);
		ne->next = s->b[ne->hash % s->nb];
		s->b[ne->hash % s->nb] = ne;
		s->n++;
		atomic_fetch_add(&c->n, 1);
		if (nh != NULL && atomic_load(&c->nhot) < c->hot_max) {
			ne->h = nh; /* hot from the start */
			nh = NULL;
			atomic_fetch_add(&c->nhot, 1);
		}
	}
	/* made hot meanwhile without our response: the one installed then
	 * is as fresh, and stays with its times */
	bool spill = target == ne;
	if (target != NULL && target != ne &&
	    (target->h == NULL || nh != NULL)) {
		target->status = ne->status;
		target->reason = ne->reason;
		target->this_update = ne->this_update;
		target->next_update = ne->next_update;
		if (target->h != NULL) {
			old = target->h;
			target->h = nh;
			nh = NULL;
		}
		spill = true;
	}
	if (spill && c->fd >= 0) {
		/* every answer's bytes in the file, a hot one's too (what
		 * srv_ocsp_cache_save keeps over a restart): in place when
		 * they fit (a reader holds this lock too), else at the end */
		if (target == ne || len > target->len)
			target->off = spill_alloc(c, len);
		target->len = (uint32_t)len;
		if (jpki_pwrite_full(c->fd, der, len, target->off) != 0) {
			/* cold and unreadable: the next request signs live;
			 * hot: served, only not kept over a restart */
			target->len = 0;
			if (target->h == NULL)
				rc = JPKI_ERR_IO;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (gone != NULL)
		free(gone);
	hot_free(nh);
	hot_free(old);
	return rc;
}

int srv_ocsp_cache_install(srv_ocsp_cache *c, int kind, const uint8_t *key,
			   size_t key_len, const uint8_t *serial,
			   size_t serial_len, const uint8_t *der, size_t len,
			   uint64_t captured, time_t now)
{
	srv_ocsp_info info;
	int rc;
	if (!key_ok(key, key_len, serial, serial_len) || len > UINT32_MAX)
		return JPKI_ERR_INVAL;
	if ((rc = srv_ocsp_info_of(der, len, &info)) != 0)
		return rc;
	return install_info(c, kind, key, key_len, serial, serial_len, der, len,
			    &info, captured, now);
}

static time_t refresh_at(const entry *e)
{
	return (time_t)(e->this_update + (e->next_update - e->this_update) / 2);
}

bool srv_ocsp_cache_fresh(srv_ocsp_cache *c, const uint8_t *key, size_t key_len,
			  const uint8_t *serial, size_t serial_len, time_t now)
{
	shard *s = shard_of(c, serial, serial_len);
	uint64_t h = hash(c->seed, key, key_len);
	pthread_mutex_lock(&s->mu);
	const entry *e = find(s, h, key, key_len);
	bool fresh =
	    e != NULL && (e->h != NULL || e->len > 0) && refresh_at(e) > now;
	pthread_mutex_unlock(&s->mu);
	return fresh;
}

void srv_ocsp_cache_drop(srv_ocsp_cache *c, const uint8_t *serial,
			 size_t serial_len)
{
	shard *s = shard_of(c, serial, serial_len);
	entry *gone = NULL;
	pthread_mutex_lock(&s->mu);
	s->gen++;
	for (size_t i = 0; i < s->nb; i++) {
		entry **pp = &s->b[i];
		while (*pp != NULL) {
			entry *e = *pp;
			if (has_serial(e, serial, serial_len)) {
				*pp = e->next;
				e->next = gone;
				gone = e;
				s->n--;
				atomic_fetch_sub(&c->n, 1);
				if (e->h != NULL)
					atomic_fetch_sub(&c->nhot, 1);
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	while (gone != NULL) {
		entry *nx = gone->next;
		entry_free(gone);
		gone = nx;
	}
}

int srv_ocsp_cache_status(srv_ocsp_cache *c, const uint8_t *serial,
			  size_t serial_len, int *status, int *reason)
{
	shard *s = shard_of(c, serial, serial_len);
	int rc = JPKI_ERR_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nb && rc != 0; i++)
		for (entry *e = s->b[i]; e != NULL; e = e->next)
			if (has_serial(e, serial, serial_len)) {
				*status = e->status;
				*reason = e->reason;
				rc = 0;
				break;
			}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

size_t srv_ocsp_cache_due_step(srv_ocsp_cache *c, time_t now,
			       srv_ocsp_cursor *cur, size_t budget,
			       srv_ocsp_due *out, size_t max, bool *wrapped)
{
	size_t n = 0, seen = 0;
	*wrapped = false;
	if (cur->shard >= SHARDS)
		*cur = (srv_ocsp_cursor){0, 0};
	while (n < max && seen < budget) {
		shard *s = &c->sh[cur->shard];
		pthread_mutex_lock(&s->mu);
		while (cur->bucket < s->nb && n < max && seen < budget) {
			size_t before = n;
			bool full = false;
			for (entry *e = s->b[cur->bucket]; e != NULL;
			     e = e->next) {
				seen++;
				/* a cold entry whose bytes were lost is due */
				if (refresh_at(e) > now &&
				    (e->h != NULL || e->len > 0))
					continue;
				if (n == max) {
					full = true;
					break;
				}
				out[n].kind = e->kind;
				memcpy(out[n].key, e->key, e->key_len);
				out[n].key_len = e->key_len;
				memcpy(out[n].serial, serial_of(e),
				       e->serial_len);
				out[n].serial_len = e->serial_len;
				out[n].next_update =
				    e->h != NULL || e->len > 0
					? (time_t)e->next_update
					: 0;
				n++;
			}
			if (full && before > 0) {
				/* this chain again next step, from its
				 * start: drop what it gave this time */
				n = before;
				break;
			}
			/* (a chain longer than max alone: the rest of it
			 * at the next sweep) */
			cur->bucket++;
		}
		bool done = cur->bucket >= s->nb;
		pthread_mutex_unlock(&s->mu);
		if (!done)
			break;
		cur->bucket = 0;
		if (++cur->shard == SHARDS) {
			cur->shard = 0;
			*wrapped = true;
			break;
		}
	}
	return n;
}

static time_t asn1_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int srv_ocsp_info_of(const uint8_t *der, size_t len, srv_ocsp_info *info)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	int rc = JPKI_ERR_PARSE;
	memset(info, 0, sizeof(*info));
	if (len == 0 || len > 65536)
		return rc;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (resp == NULL || p != der + len ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL ||
	    OCSP_resp_count(bs) != 1)
		goto out;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int reason = -1;
	int st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, &rev,
					 &thisupd, &nextupd);
	if (st < 0 || thisupd == NULL || nextupd == NULL)
		goto out;
	info->status = st;
	info->reason = reason < 0 ? 0 : reason;
	info->this_update = asn1_time(thisupd);
	info->next_update = asn1_time(nextupd);
	if (info->next_update > info->this_update)
		rc = 0;
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

struct MHD_Response *srv_ocsp_response(const uint8_t *der, size_t len,
				       const srv_ocsp_info *info, bool nonce,
				       int max_age, time_t now, char *etag,
				       size_t etag_cap)
{
	uint8_t *copy = malloc(len);
	char v[128], d1[32], d2[32];
	if (copy == NULL)
		return NULL;
	memcpy(copy, der, len);
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(copy);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/ocsp-response");
	if (nonce || info == NULL) {
		/* a nonce answers one request only: never cached */
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-cache, no-store, max-age=0");
		if (etag != NULL && etag_cap > 0)
			etag[0] = '\0';
		return r;
	}
	/* RFC 5019 §6.2: max-age below nextUpdate; the entry is re-signed
	 * at the middle of its validity, so max-age counts from there */
	time_t refresh =
	    info->this_update + (info->next_update - info->this_update) / 2;
	long age = (long)(refresh - now);
	if (age > max_age)
		age = max_age;
	if (age < 0)
		age = 0;
	snprintf(v, sizeof(v),
		 "max-age=%ld, public, no-transform, "
		 "must-revalidate",
		 age);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, v);
	srv_http_date(info->this_update, d1);
	srv_http_date(info->next_update, d2);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, d1);
	MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, d2);
	if (etag != NULL && etag_cap >= 36) {
		uint8_t md[SHA256_DIGEST_LENGTH];
		char hex[33];
		SHA256(der, len, md);
		jpki_hex(md, 16, hex);
		snprintf(etag, etag_cap, "\"%s\"", hex);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	}
	return r;
}

/* ---- the spill file over a restart (docs/decisions.md) ----
 *
 * "ocsp-answers.saved" in the CA directory, written whole at a clean stop
 * (a temporary file, fsync, rename, fsync of the directory):
 *   magic (16) | tag (32: SHA-256 of this CA's roots) | saved at (8)
 *   records: kind (1) | serial length (1) | key length (2) | DER length (4)
 *            | key | DER
 *   "END!" | record count (8) | SHA-256 of every octet before it (32)
 * Integers little-endian.  A file whose digest, magic, tag or layout does
 * not check is refused whole before any answer is taken from it. */
#define SAVED_NAME "ocsp-answers.saved"
static const uint8_t saved_magic[16] = "JPKI-OCSP-SAVED1";
#define SAVED_HEAD 56
#define SAVED_TAIL 44

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool out(FILE *f, EVP_MD_CTX *md, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n && EVP_DigestUpdate(md, p, n) == 1;
}

static int saved_path(const char *dir, const char *suffix, char *path,
		      size_t cap)
{
	int n = snprintf(path, cap, "%s/%s%s", dir, SAVED_NAME, suffix);
	return n < 0 || (size_t)n >= cap ? JPKI_ERR_RANGE : 0;
}

int srv_ocsp_cache_save(srv_ocsp_cache *c, const char *dir,
			const uint8_t tag[32], time_t now, size_t *saved)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	uint8_t head[SAVED_HEAD], rec[8], md_out[32];
	uint8_t *buf = malloc(65536);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	FILE *f = NULL;
	size_t n = 0;
	int rc = JPKI_ERR_IO, fd = -1;
	*saved = 0;
	if (buf == NULL || md == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	/* the temporary file named per process: two nodes on one
	 * directory never write into the same one (the last rename wins) */
	char suffix[32];
	snprintf(suffix, sizeof(suffix), ".tmp-%ld", (long)getpid());
	if (c->fd < 0 || (rc = saved_path(dir, "", path, sizeof(path))) != 0 ||
	    (rc = saved_path(dir, suffix, tmp, sizeof(tmp))) != 0) {
		rc = c->fd < 0 ? JPKI_ERR_STATE : rc;
		goto out;
	}
	rc = JPKI_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || (f = fdopen(fd, "wb")) == NULL)
		goto out;
	fd = -1; /* f's now */
	memcpy(head, saved_magic, 16);
	memcpy(head + 16, tag, 32);
	put_le(head + 48, (uint64_t)now, 8);
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    !out(f, md, head, sizeof(head)))
		goto out;
	bool ok = true;
	for (int i = 0; i < SHARDS && ok; i++) {
		shard *s = &c->sh[i];
		pthread_mutex_lock(&s->mu);
		for (size_t j = 0; j < s->nb && ok; j++)
			for (entry *e = s->b[j]; e != NULL && ok; e = e->next) {
				/* lost bytes, or due for re-signing anyway */
				if (e->len == 0 || e->len > 65536 ||
				    refresh_at(e) <= now)
					continue;
				if (jpki_pread_full(c->fd, buf, e->len,
						    e->off) != 0)
					continue;
				rec[0] = e->kind;
				rec[1] = e->serial_len;
				put_le(rec + 2, e->key_len, 2);
				put_le(rec + 4, e->len, 4);
				ok = out(f, md, rec, 8) &&
				     out(f, md, e->key, e->key_len) &&
				     out(f, md, buf, e->len);
				n++;
			}
		pthread_mutex_unlock(&s->mu);
	}
	uint8_t tail[12] = "END!";
	put_le(tail + 4, n, 8);
	unsigned mdl = 0;
	if (!ok || !out(f, md, tail, sizeof(tail)) ||
	    EVP_DigestFinal_ex(md, md_out, &mdl) != 1 || mdl != 32 ||
	    fwrite(md_out, 1, 32, f) != 32 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		goto out;
	int cr = fclose(f);
	f = NULL;
	if (cr != 0 || rename(tmp, path) != 0)
		goto out;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	*saved = n;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && rc != JPKI_ERR_STATE && rc != JPKI_ERR_RANGE)
		unlink(tmp);
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

static bool in(FILE *f, EVP_MD_CTX *md, void *p, size_t n)
{
	return fread(p, 1, n, f) == n &&
	       (md == NULL || EVP_DigestUpdate(md, p, n) == 1);
}

/* One record's header and key (the DER read by the caller). */
static bool rec_read(FILE *f, EVP_MD_CTX *md, uint8_t *key, int *kind,
		     size_t *key_len, size_t *serial_len, size_t *der_len)
{
	uint8_t rec[8];
	if (!in(f, md, rec, 8))
		return false;
	*kind = rec[0];
	*serial_len = rec[1];
	*key_len = (size_t)get_le(rec + 2, 2);
	*der_len = (size_t)get_le(rec + 4, 4);
	return (*kind == JPKI_CERT_SIGN || *kind == JPKI_CERT_AUTH) &&
	       *der_len > 0 && *der_len <= 65536 && *key_len > 0 &&
	       *key_len <= SRV_OCSP_KEY_MAX && *serial_len > 0 &&
	       *serial_len < *key_len && *serial_len <= 20 &&
	       in(f, md, key, *key_len);
}

/* Pass 1: every octet hashed and the layout walked; nothing installed. */
static const char *saved_check(FILE *f, off_t size, const uint8_t tag[32],
			       uint8_t *buf, uint64_t *count)
{
	uint8_t head[SAVED_HEAD], tail[12], want[32], got[32];
	uint8_t key[SRV_OCSP_KEY_MAX];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *why = NULL;
	uint64_t n = 0;
	unsigned l = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		why = "out of memory";
		goto out;
	}
	if (size < SAVED_HEAD + SAVED_TAIL || !in(f, md, head, sizeof(head)) ||
	    memcmp(head, saved_magic, 16) != 0) {
		why = "not a saved answers file of this version";
		goto out;
	}
	if (memcmp(head + 16, tag, 32) != 0) {
		why = "written for other roots (another CA, or before a "
		      "rollover)";
		goto out;
	}
	off_t body_end = size - SAVED_TAIL;
	for (;;) {
		off_t at = ftello(f);
		if (at == body_end)
			break;
		int kind = 0;
		size_t kl = 0, sl = 0, dl = 0;
		if (at < 0 || at + 8 > body_end ||
		    !rec_read(f, md, key, &kind, &kl, &sl, &dl) ||
		    ftello(f) + (off_t)dl > body_end || !in(f, md, buf, dl)) {
			why = "damaged (a record runs past the end)";
			goto out;
		}
		n++;
	}
	if (!in(f, md, tail, sizeof(tail)) || memcmp(tail, "END!", 4) != 0 ||
	    get_le(tail + 4, 8) != n || !in(f, NULL, want, 32) ||
	    EVP_DigestFinal_ex(md, got, &l) != 1 || l != 32 ||
	    memcmp(want, got, 32) != 0) {
		why = "damaged (digest or record count differs)";
		goto out;
	}
	*count = n;
out:
	EVP_MD_CTX_free(md);
	return why;
}

int srv_ocsp_cache_load(srv_ocsp_cache *c, const char *dir,
			const uint8_t tag[32], const srv_ocsp_expect *x,
			time_t now, srv_ocsp_loaded *st)
{
	char path[PATH_MAX];
	uint8_t key[SRV_OCSP_KEY_MAX];
	uint64_t gens[SHARDS];
	uint8_t *buf = malloc(65536);
	FILE *f = NULL;
	struct stat sb;
	uint64_t count = 0;
	int rc;
	memset(st, 0, sizeof(*st));
	if (buf == NULL)
		return JPKI_ERR_NOMEM;
	if (c->fd < 0 || (rc = saved_path(dir, "", path, sizeof(path))) != 0) {
		rc = c->fd < 0 ? 0 : rc; /* nothing kept without a spill */
		goto out;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : JPKI_ERR_IO;
		st->absent = errno == ENOENT;
		if (rc != 0)
			st->refused = "cannot be opened";
		goto out;
	}
	if ((f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		rc = JPKI_ERR_IO;
		goto out;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		st->refused = "not a regular file";
		rc = JPKI_ERR_PARSE;
		goto out;
	}
	if ((st->refused = saved_check(f, sb.st_size, tag, buf, &count)) !=
	    NULL) {
		rc = JPKI_ERR_PARSE;
		goto out;
	}
	/* the generations before the store is read: a drop after this
	 * point refuses the answers read before it */
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->sh[i].mu);
		gens[i] = c->sh[i].gen;
		pthread_mutex_unlock(&c->sh[i].mu);
	}
	if ((rc = x->scan(x->ctx)) != 0)
		goto out;
	if (fseeko(f, SAVED_HEAD, SEEK_SET) != 0) {
		rc = JPKI_ERR_IO;
		goto out;
	}
	for (uint64_t i = 0; i < count; i++) {
		int kind = 0;
		size_t kl = 0, sl = 0, dl = 0;
		srv_ocsp_info info;
		if (!rec_read(f, NULL, key, &kind, &kl, &sl, &dl) ||
		    !in(f, NULL, buf, dl)) {
			rc = JPKI_ERR_IO; /* changed since pass 1 */
			goto out;
		}
		const uint8_t *serial = key + kl - sl;
		if (srv_ocsp_info_of(buf, dl, &info) != 0 ||
		    info.status == V_OCSP_CERTSTATUS_UNKNOWN) {
			st->bad++;
			continue;
		}
		if (info.this_update +
			(info.next_update - info.this_update) / 2 <=
		    now) {
			st->stale++;
			continue;
		}
		if (!x->matches(x->ctx, serial, sl, info.status, info.reason)) {
			st->changed++;
			continue;
		}
		uint64_t g = gens[hash(c->seed, serial, sl) % SHARDS];
		size_t before = atomic_load(&c->n);
		if (install_info(c, kind, key, kl, serial, sl, buf, dl, &info,
				 g, now) == 0 &&
		    atomic_load(&c->n) > before)
			st->reused++;
		else
			st->bad++;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	/* refused: never read again; rebuilt by warm-up and saved anew */
	if (st->refused != NULL && rc == JPKI_ERR_PARSE)
		unlink(path);
	free(buf);
	return rc;
}
