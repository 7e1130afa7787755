/* CRLs: one per issuing municipality (the partition named in each
 * certificate's CRL distribution point), a full CRL per hierarchy, and the
 * ARL listing revoked roots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_internal.h"
#include "openjpki/util.h"

typedef struct crl_list {
	jpki_crl_entry *e;
	uint8_t (*sn)[20];
	size_t n, cap;
	int rc;
	jpki_err *err;
} crl_list;

static int add_entry(void *ctx, const store_cert *c)
{
	crl_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		jpki_crl_entry *ne = realloc(l->e, cap * sizeof(*ne));
		if (ne == NULL)
			return l->rc = jpki_fail(l->err, JPKI_ERR_NOMEM,
						 "out of memory");
		l->e = ne;
		uint8_t(*ns)[20] = realloc(l->sn, cap * sizeof(*ns));
		if (ns == NULL)
			return l->rc = jpki_fail(l->err, JPKI_ERR_NOMEM,
						 "out of memory");
		l->sn = ns;
		l->cap = cap;
	}
	size_t len = 0;
	int rc = jpki_unhex(c->serial, l->sn[l->n], 20, &len, l->err);
	if (rc != 0)
		return l->rc = rc;
	l->e[l->n].serial = NULL; /* pointers fixed up after the last realloc */
	l->e[l->n].serial_len = len;
	l->e[l->n].revoked_at = c->revoked_at;
	l->e[l->n].reason = (jpki_reason)c->reason;
	l->n++;
	return 0;
}

int ca_crl(jpki_ca *ca, jpki_cert_kind kind, ca_crl_scope scope,
	   const char *muni_code, time_t now, uint8_t **der, size_t *der_len,
	   jpki_err *err)
{
	crl_list l = {.err = err};
	X509_NAME *partition = NULL;
	X509_CRL *crl = NULL;
	store_muni m;
	char counter[64];
	int64_t number = 0;
	int rc;
	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown hierarchy");
	if ((rc = store_begin(ca->st, err)) != 0)
		return rc;
	if (scope == CA_CRL_PARTITION) {
		if (muni_code == NULL || muni_code[0] == '\0') {
			rc = jpki_fail(
			    err, JPKI_ERR_INVAL,
			    "a partition CRL needs a municipality code");
			goto out;
		}
		if ((rc = store_muni_get(ca->st, muni_code, &m, err)) != 0)
			goto out;
		jpki_issuer_site site;
		memset(&site, 0, sizeof(site));
		jpki_strlcpy(site.pref_roman, m.pref_roman,
			     sizeof(site.pref_roman));
		jpki_strlcpy(site.city_roman, m.city_roman,
			     sizeof(site.city_roman));
		if ((rc = x509_crldp_name(ca->profile, kind, &site, &partition,
					  err)) != 0)
			goto out;
		rc = store_cert_revoked(ca->st, (int)kind, muni_code, now,
					add_entry, &l, err);
		snprintf(counter, sizeof(counter), "crl/%s/%s",
			 jpki_cert_kind_name(kind), muni_code);
	} else if (scope == CA_CRL_FULL) {
		rc = store_cert_revoked(ca->st, (int)kind, NULL, now, add_entry,
					&l, err);
		snprintf(counter, sizeof(counter), "crl/%s/all",
			 jpki_cert_kind_name(kind));
	} else {
		rc = store_cert_revoked(ca->st, CA_ROOT_KIND_BASE + (int)kind,
					NULL, now, add_entry, &l, err);
		snprintf(counter, sizeof(counter), "arl/%s",
			 jpki_cert_kind_name(kind));
	}
	if (rc == 0)
		rc = l.rc;
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		l.e[i].serial = l.sn[i];
	if ((rc = store_meta_incr(ca->st, counter, 1, &number, err)) != 0)
		goto out;
	if ((rc = x509_crl_build(ca->root[kind], partition, scope == CA_CRL_ARL,
				 l.e, l.n, now, now + CA_CRL_VALIDITY,
				 (uint64_t)number, &crl, err)) != 0)
		goto out;
	if (X509_CRL_sign(crl, ca->key[kind], EVP_sha256()) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing CRL");
		goto out;
	}
	int len = i2d_X509_CRL(crl, NULL);
	if (len <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding CRL");
		goto out;
	}
	uint8_t *buf = malloc((size_t)len), *p = buf;
	if (buf == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	i2d_X509_CRL(crl, &p);
	if ((rc = store_commit(ca->st, err)) != 0) {
		free(buf);
		goto out;
	}
	*der = buf;
	*der_len = (size_t)len;
out:
	if (rc != 0)
		store_rollback(ca->st);
	X509_CRL_free(crl);
	X509_NAME_free(partition);
	free(l.e);
	free(l.sn);
	return rc;
}
