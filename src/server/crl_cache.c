/* CRLs and ARLs in memory, DER with their caching headers.  One entry per
 * published file: a municipality's partition, the full CRL of each
 * hierarchy, the ARL of each.  A newer cRLNumber replaces an older one,
 * never the reverse, whoever installs last. */
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

#define BUCKETS 1024
#define MAX_ENTRIES 16384 /* 1,741 municipalities x 2 hierarchies, + 4 */

typedef struct centry {
	struct centry *next;
	srv_crl_ref ref;
	uint64_t number;
	time_t this_update, next_update, refresh_at;
	struct MHD_Response *resp;
	char etag[40];
} centry;

struct srv_crl_cache {
	pthread_mutex_t mu;
	centry *b[BUCKETS];
	size_t n;
	int max_age;
};

static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void srv_crl_fp_add(uint64_t *count, uint64_t *x, const uint8_t *serial,
		    size_t len, int reason)
{
	uint8_t buf[24];
	while (len > 1 && serial[0] == 0) {
		serial++;
		len--;
	}
	if (len > 20)
		len = 20;
	memcpy(buf, serial, len);
	buf[len] = (uint8_t)reason;
	(*count)++;
	*x ^= fnv(buf, len + 1);
}

int srv_crl_cache_new(int max_age, srv_crl_cache **out)
{
	srv_crl_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return JPKI_ERR_NOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->max_age = max_age;
	*out = c;
	return 0;
}

static void centry_free(centry *e)
{
	if (e == NULL)
		return;
	if (e->resp != NULL)
		MHD_destroy_response(e->resp);
	free(e);
}

void srv_crl_cache_free(srv_crl_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		centry *e = c->b[i];
		while (e != NULL) {
			centry *nx = e->next;
			centry_free(e);
			e = nx;
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

size_t srv_crl_cache_size(srv_crl_cache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static centry **slot(srv_crl_cache *c, const char *key)
{
	centry **pp = &c->b[fnv(key, strlen(key)) % BUCKETS];
	while (*pp != NULL && strcmp((*pp)->ref.key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

int srv_crl_cache_serve(srv_crl_cache *c, const char *key,
			struct MHD_Connection *conn, const char *if_none_match,
			int *status)
{
	char etag[40];
	pthread_mutex_lock(&c->mu);
	centry *e = *slot(c, key);
	if (e == NULL) {
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	if (if_none_match != NULL && (strcmp(if_none_match, "*") == 0 ||
				      strstr(if_none_match, e->etag) != NULL)) {
		memcpy(etag, e->etag, sizeof(etag));
		pthread_mutex_unlock(&c->mu);
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
		int ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, r);
		MHD_destroy_response(r);
		*status = MHD_HTTP_NOT_MODIFIED;
		return ret;
	}
	int ret = MHD_queue_response(conn, MHD_HTTP_OK, e->resp);
	pthread_mutex_unlock(&c->mu);
	*status = MHD_HTTP_OK;
	return ret;
}

bool srv_crl_cache_has(srv_crl_cache *c, const char *key)
{
	pthread_mutex_lock(&c->mu);
	bool has = *slot(c, key) != NULL;
	pthread_mutex_unlock(&c->mu);
	return has;
}

/* What the cache needs from a CRL: number, times, fingerprint. */
static int crl_facts(const uint8_t *der, size_t len, centry *e)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	ASN1_INTEGER *num = NULL;
	int rc = JPKI_ERR_PARSE;
	struct tm tm;
	if (crl == NULL || p != der + len)
		goto out;
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num == NULL || ASN1_INTEGER_get_uint64(&e->number, num) != 1)
		goto out;
	if (X509_CRL_get0_nextUpdate(crl) == NULL ||
	    ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm) != 1)
		goto out;
	e->this_update = timegm(&tm);
	if (ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm) != 1)
		goto out;
	e->next_update = timegm(&tm);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(r);
		ASN1_ENUMERATED *rs =
		    X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		int reason = rs != NULL ? (int)ASN1_ENUMERATED_get(rs) : 0;
		ASN1_ENUMERATED_free(rs);
		srv_crl_fp_add(&e->ref.fp_count, &e->ref.fp_xor,
			       ASN1_STRING_get0_data(sn),
			       (size_t)ASN1_STRING_length(sn), reason);
	}
	rc = 0;
out:
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return rc;
}

static struct MHD_Response *crl_response(const uint8_t *der, size_t len,
					 centry *e, int max_age, time_t now)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char hex[33], v[96], d[32];
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		return NULL;
	memcpy(copy, der, len);
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(copy);
		return NULL;
	}
	long age = (long)(e->refresh_at - now);
	if (age > max_age)
		age = max_age;
	if (age < 0)
		age = 0;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/pkix-crl");
	snprintf(v, sizeof(v), "max-age=%ld, public, no-transform", age);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, v);
	srv_http_date(e->this_update, d);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, d);
	srv_http_date(e->next_update, d);
	MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, d);
	SHA256(der, len, md);
	jpki_hex(md, 16, hex);
	snprintf(e->etag, sizeof(e->etag), "\"%s\"", hex);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, e->etag);
	return r;
}

int srv_crl_cache_install(srv_crl_cache *c, const char *key, int kind,
			  int scope, int gen, const char *muni,
			  const uint8_t *der, size_t len, time_t now)
{
	centry *ne = calloc(1, sizeof(*ne)), *drop = NULL;
	int rc;
	if (ne == NULL)
		return JPKI_ERR_NOMEM;
	if (jpki_strlcpy(ne->ref.key, key, sizeof(ne->ref.key)) != 0 ||
	    jpki_strlcpy(ne->ref.muni, muni ? muni : "",
			 sizeof(ne->ref.muni)) != 0) {
		free(ne);
		return JPKI_ERR_RANGE;
	}
	ne->ref.kind = kind;
	ne->ref.scope = scope;
	ne->ref.gen = gen;
	if ((rc = crl_facts(der, len, ne)) != 0) {
		free(ne);
		return rc;
	}
	ne->refresh_at =
	    ne->this_update + (ne->next_update - ne->this_update) / 2;
	if ((ne->resp = crl_response(der, len, ne, c->max_age, now)) == NULL) {
		free(ne);
		return JPKI_ERR_NOMEM;
	}
	pthread_mutex_lock(&c->mu);
	centry **pp = slot(c, key);
	if (*pp != NULL && (*pp)->number >= ne->number) {
		drop = ne; /* an older CRL finished signing last */
	} else if (*pp == NULL && c->n >= MAX_ENTRIES) {
		drop = ne;
		rc = JPKI_ERR_RANGE;
	} else {
		if (*pp != NULL) {
			drop = *pp;
			ne->next = drop->next;
		} else {
			c->n++;
		}
		*pp = ne;
	}
	pthread_mutex_unlock(&c->mu);
	centry_free(drop);
	return rc;
}

size_t srv_crl_cache_list(srv_crl_cache *c, time_t now, bool due_only,
			  srv_crl_ref *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < BUCKETS && n < max; i++)
		for (centry *e = c->b[i]; e != NULL && n < max; e = e->next)
			if (!due_only || e->refresh_at <= now)
				out[n++] = e->ref;
	pthread_mutex_unlock(&c->mu);
	return n;
}
