/* The validator: lifetime, limits and revocation sources. */
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "val_int.h"

int val_new(jpki_validator **out, jpki_err *err)
{
	jpki_validator *v;
	int rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "validator: no output");
	if ((rc = x509_init(err)) != 0)
		return rc;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	v->skew = VAL_SKEW_DEFAULT;
	v->cache_age = VAL_CACHE_AGE_DEFAULT;
	v->http_timeout = VAL_HTTP_TIMEOUT_DEFAULT;
	*out = v;
	return 0;
}

void val_free(jpki_validator *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_roots; i++)
		X509_free(v->roots[i].cert);
	for (size_t i = 0; i < v->n_crls; i++)
		vali_crl_free(v->crls[i]);
	free(v->crls);
	for (size_t i = 0; i < v->n_ocsp; i++)
		OCSP_BASICRESP_free(v->ocsp[i]);
	free(v->ocsp);
	free(v->ocsp_url);
	sk_X509_pop_free(v->tsa_roots, X509_free);
	free(v->cache);
	vali_pcache_clear(v);
	free(v->pcache);
	free(v);
}

int val_set_limits(jpki_validator *v, int skew, int cache_age, int http_timeout,
		   jpki_err *err)
{
	if (v == NULL || skew < 0 || cache_age < 0 || http_timeout < 0 ||
	    skew > 86400 || cache_age > 30 * 86400 || http_timeout > 600)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "limits: skew 0-86400 s, cache age 0-30 days, "
				 "timeout 0-600 s");
	if (skew > 0)
		v->skew = skew;
	if (cache_age > 0)
		v->cache_age = cache_age;
	if (http_timeout > 0)
		v->http_timeout = http_timeout;
	vali_cache_clear(v);
	return 0;
}

void val_get_stats(const jpki_validator *v, val_stats *st)
{
	if (st == NULL)
		return;
	if (v == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = v->stats;
}

void vali_cache_clear(jpki_validator *v)
{
	if (v->cache != NULL)
		memset(v->cache, 0, v->cache_cap * sizeof(*v->cache));
	v->cache_n = 0;
}

int val_map_crl(jpki_validator *v, const char *dirname, const char *location,
		jpki_err *err)
{
	char key[VALI_DN_MAX];
	vali_crl *c = NULL;
	if (v == NULL || dirname == NULL || location == NULL ||
	    location[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL map: bad argument");
	if (strcmp(dirname, "*") == 0)
		memcpy(key, "*", 2);
	else if (vali_dn_canon(dirname, key, sizeof(key)) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRL map: not a DirName: %s", dirname);
	if (strncasecmp(location, "https://", 8) == 0 ||
	    (strstr(location, "://") != NULL && !vali_is_http(location)))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRL map: %s: only files and http:// URLs",
				 location);
	if (v->n_crls == VAL_CRL_SOURCES_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "more than %d CRL sources",
				 VAL_CRL_SOURCES_MAX);
	if (v->n_crls == v->cap_crls) {
		size_t cap = v->cap_crls ? v->cap_crls * 2 : 8;
		vali_crl **n = realloc(v->crls, cap * sizeof(*n));
		if (n == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		v->crls = n;
		v->cap_crls = cap;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->key = strdup(key)) == NULL ||
	    (c->location = strdup(location)) == NULL) {
		vali_crl_free(c);
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
	v->crls[v->n_crls++] = c;
	vali_cache_clear(v);
	return 0;
}

int val_map_crl_spec(jpki_validator *v, const char *spec, jpki_err *err)
{
	char name[VALI_DN_MAX];
	const char *loc;
	if (spec == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL map: bad argument");
	const char *h = strstr(spec, "=http://");
	if (h == NULL)
		h = strstr(spec, "=HTTP://");
	if (h == NULL)
		h = strrchr(spec, '=');
	if (h == NULL || h == spec || h[1] == '\0' ||
	    (size_t)(h - spec) >= sizeof(name))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRL map: expected DIRNAME=PATH|URL, got %s",
				 spec);
	memcpy(name, spec, (size_t)(h - spec));
	name[h - spec] = '\0';
	loc = h + 1;
	return val_map_crl(v, name, loc, err);
}

int val_set_ocsp_url(jpki_validator *v, const char *url, jpki_err *err)
{
	char *copy;
	if (v == NULL || !vali_is_http(url))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "OCSP responder: an http:// URL expected");
	if ((copy = strdup(url)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	free(v->ocsp_url);
	v->ocsp_url = copy;
	vali_cache_clear(v);
	return 0;
}

int val_add_ocsp_response(jpki_validator *v, const uint8_t *der, size_t len,
			  jpki_err *err)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	int rc = 0;
	if (v == NULL || der == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "OCSP: bad argument");
	if (len == 0 || len > VAL_OCSP_RESP_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "OCSP response of %zu bytes (1-%u allowed)",
				 len, VAL_OCSP_RESP_MAX);
	if (v->n_ocsp == VAL_OCSP_RESPONSES_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "more than %d OCSP responses",
				 VAL_OCSP_RESPONSES_MAX);
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (resp == NULL || p != der + len) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       resp == NULL ? "malformed OCSP response"
					    : "data after the OCSP response");
		goto out;
	}
	int st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "OCSP response status %s (%d), no answer",
			       OCSP_response_status_str(st), st);
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "OCSP response is not a BasicOCSPResponse");
		goto out;
	}
	if (v->n_ocsp == v->cap_ocsp) {
		size_t cap = v->cap_ocsp ? v->cap_ocsp * 2 : 8;
		OCSP_BASICRESP **n = realloc(v->ocsp, cap * sizeof(*n));
		if (n == NULL) {
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
			goto out;
		}
		v->ocsp = n;
		v->cap_ocsp = cap;
	}
	v->ocsp[v->n_ocsp++] = bs;
	bs = NULL; /* transferred */
	vali_cache_clear(v);
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}
