/* Certificates met in documents, parsed once and kept by the SHA-256 of
 * their DER (see cmsder.c for why), with their basic-4 data decoded once.
 * At VALI_PCERT_MAX entries the cache is emptied. */
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "val_int.h"

static size_t slot_of(const unsigned char h[32], size_t cap)
{
	size_t x = 0;
	memcpy(&x, h, sizeof(x));
	return x & (cap - 1);
}

static vali_pcert *find(jpki_validator *v, const unsigned char h[32])
{
	if (v->pcache == NULL || v->pcache_n == 0)
		return NULL;
	for (size_t i = slot_of(h, v->pcache_cap); v->pcache[i].used;
	     i = (i + 1) & (v->pcache_cap - 1))
		if (memcmp(v->pcache[i].hash, h, 32) == 0)
			return &v->pcache[i];
	return NULL;
}

static vali_pcert *put(vali_pcert *tab, size_t cap, const unsigned char h[32])
{
	size_t i = slot_of(h, cap);
	while (tab[i].used)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

void vali_pcache_clear(jpki_validator *v)
{
	for (size_t i = 0; i < v->pcache_cap; i++) {
		vali_pcert *e = &v->pcache[i];
		if (!e->used)
			continue;
		X509_free(e->x);
		if (e->b4 != NULL)
			OPENSSL_clear_free(e->b4, sizeof(*e->b4));
		memset(e, 0, sizeof(*e));
	}
	v->pcache_n = 0;
}

/* A free entry for h, or NULL when memory is short. */
static vali_pcert *insert(jpki_validator *v, const unsigned char h[32])
{
	if (v->pcache_n >= VALI_PCERT_MAX)
		vali_pcache_clear(v);
	if ((v->pcache_n + 1) * 2 > v->pcache_cap) {
		size_t cap = v->pcache_cap ? v->pcache_cap * 2 : 16;
		vali_pcert *tab = calloc(cap, sizeof(*tab));
		if (tab == NULL)
			return NULL;
		for (size_t i = 0; i < v->pcache_cap; i++)
			if (v->pcache[i].used)
				*put(tab, cap, v->pcache[i].hash) =
				    v->pcache[i];
		free(v->pcache);
		v->pcache = tab;
		v->pcache_cap = cap;
	}
	vali_pcert *e = put(v->pcache, v->pcache_cap, h);
	e->used = true;
	memcpy(e->hash, h, 32);
	v->pcache_n++;
	return e;
}

int vali_pcert_get(jpki_validator *v, const uint8_t *der, size_t len,
		   X509 **out, unsigned char hash[32], jpki_err *err)
{
	X509 *x = NULL;
	vali_pcert *e;
	int rc;
	if (!EVP_Digest(der, len, hash, NULL, EVP_sha256(), NULL))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "hashing a certificate");
	if ((e = find(v, hash)) != NULL) {
		if (!X509_up_ref(e->x))
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "certificate reference");
		*out = e->x;
		return 0;
	}
	if ((rc = x509_from_der(der, len, &x, err)) != 0)
		return rc;
	if ((e = insert(v, hash)) != NULL) {
		if (!X509_up_ref(x)) {
			X509_free(x);
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "certificate reference");
		}
		e->x = x;
	}
	*out = x;
	return 0;
}

int vali_pcert_basic4(jpki_validator *v, const unsigned char hash[32], X509 *x,
		      jpki_basic4 *out, jpki_err *err)
{
	vali_pcert *e = hash != NULL ? find(v, hash) : NULL;
	if (e == NULL || e->x != x)
		return x509_basic4_decode(x, out, err);
	if (!e->b4_done) {
		jpki_err e2 = {0};
		if ((e->b4 = calloc(1, sizeof(*e->b4))) == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		e->b4_rc = x509_basic4_decode(x, e->b4, &e2);
		memcpy(e->b4_msg, e2.msg, sizeof(e->b4_msg));
		e->b4_done = true;
	}
	if (e->b4_rc != 0)
		return jpki_fail(err, e->b4_rc, "%s", e->b4_msg);
	*out = *e->b4;
	return 0;
}
