/* Revocation by CRL (RFC 5280 section 5 and 6.3).  J-LIS partitions its
 * CRLs per issuing municipality and names each partition with a DirName
 * distribution point (spec §1.2, §2.2); the operator maps those names to
 * files or http:// URLs.  A CRL is used for a certificate only when it is
 * signed by the key of the certificate's own root (two generations share
 * one DN), is fresh, and its issuingDistributionPoint names the
 * certificate's partition (or it has none: a full CRL).  Parsed CRLs stay
 * in memory until their nextUpdate or the cache age, whichever is first. */
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "val_int.h"

#define MAX_DPS 4

void vali_crl_free(vali_crl *c)
{
	if (c == NULL)
		return;
	X509_CRL_free(c->crl);
	X509_NAME_free(c->idp);
	free(c->key);
	free(c->location);
	free(c);
}

static void drop(vali_crl *c)
{
	X509_CRL_free(c->crl);
	c->crl = NULL;
	X509_NAME_free(c->idp);
	c->idp = NULL;
}

/* One CRL, DER or PEM; nothing but white space may follow it. */
static X509_CRL *parse(const uint8_t *p, size_t len)
{
	static const char begin[] = "-----BEGIN X509 CRL-----";
	size_t off = 0;
	X509_CRL *crl = NULL;
	while (off < len && isspace(p[off]))
		off++;
	if (len - off >= sizeof(begin) - 1 &&
	    memcmp(p + off, begin, sizeof(begin) - 1) == 0) {
		BIO *b = BIO_new_mem_buf(p, (int)len);
		char rest[64];
		if (b == NULL)
			return NULL;
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		for (int n; crl != NULL &&
			    (n = BIO_read(b, rest, (int)sizeof(rest))) > 0;)
			for (int i = 0; i < n; i++)
				if (!isspace((unsigned char)rest[i])) {
					X509_CRL_free(crl);
					crl = NULL;
					break;
				}
		BIO_free(b);
		return crl;
	}
	const unsigned char *q = p;
	crl = d2i_X509_CRL(NULL, &q, (long)len);
	if (crl != NULL && q != p + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/* RFC 5280 5.2: a critical extension we do not process makes the CRL
 * unusable; delta CRLs (5.2.4) are not supported. */
static bool exts_ok(const X509_CRL *crl, char *why, size_t cap)
{
	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		if (X509_EXTENSION_get_critical(e) &&
		    nid != NID_issuing_distribution_point) {
			vali_why(
			    why, cap, "critical extension %s not supported",
			    nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
			return false;
		}
	}
	return true;
}

/* RFC 5280 5.2.5: the partition the CRL covers (NULL: every one). */
static bool idp_read(X509_CRL *crl, X509_NAME **name, char *why, size_t cap)
{
	int crit = -1;
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(
	    crl, NID_issuing_distribution_point, &crit, NULL);
	bool ok = false;
	*name = NULL;
	if (idp == NULL) {
		if (crit == -1)
			return true;
		vali_why(why, cap, "malformed issuingDistributionPoint");
		return false;
	}
	if (idp->onlyCA || idp->onlyattr || idp->onlysomereasons ||
	    idp->indirectCRL) {
		vali_why(why, cap,
			 "issuingDistributionPoint limits it to CA or "
			 "attribute certificates, some reasons, or makes it "
			 "indirect");
		goto out;
	}
	if (idp->distpoint == NULL) {
		ok = true;
		goto out;
	}
	if (idp->distpoint->type == 0) {
		GENERAL_NAMES *g = idp->distpoint->name.fullname;
		for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
			if (gn->type == GEN_DIRNAME) {
				*name = X509_NAME_dup(gn->d.directoryName);
				ok = *name != NULL;
				goto out;
			}
		}
	}
	vali_why(why, cap, "issuingDistributionPoint names no DirName");
out:
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

static int read_bytes(jpki_validator *v, const char *loc, uint8_t **out,
		      size_t *len, jpki_err *err)
{
	if (vali_is_http(loc))
		return vali_http_get(loc, VAL_CRL_MAX, v->http_timeout, out,
				     len, err);
	return jpki_file_read(loc, VAL_CRL_MAX, out, len, err);
}

/* Read and check a CRL source; on failure c->crl is NULL and c->why
 * says why. */
static void load(jpki_validator *v, vali_crl *c, time_t now)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	jpki_err e = {0};
	drop(c);
	c->why[0] = '\0';
	c->loaded_at = now;
	v->stats.crl_loads++;
	if (read_bytes(v, c->location, &buf, &len, &e) != 0) {
		vali_why(c->why, sizeof(c->why), "%s", e.msg);
		goto out;
	}
	if ((c->crl = parse(buf, len)) == NULL) {
		vali_why(
		    c->why, sizeof(c->why),
		    "not one DER or PEM CRL (malformed, or data after it)");
		goto out;
	}
	/* RFC 5280 6.3.3 (f): signed by the certificate issuer's key */
	size_t root = SIZE_MAX;
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(
	    c->crl, NID_authority_key_identifier, NULL, NULL);
	for (size_t i = 0; i < v->n_roots && root == SIZE_MAX; i++) {
		X509 *r = v->roots[i].cert;
		const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(r);
		if (X509_NAME_cmp(X509_CRL_get_issuer(c->crl),
				  X509_get_subject_name(r)) != 0)
			continue;
		if (akid != NULL && akid->keyid != NULL && ski != NULL &&
		    ASN1_OCTET_STRING_cmp(akid->keyid, ski) != 0)
			continue;
		if (X509_CRL_verify(c->crl, X509_get0_pubkey(r)) == 1)
			root = i;
	}
	AUTHORITY_KEYID_free(akid);
	if (root == SIZE_MAX) {
		vali_why(c->why, sizeof(c->why),
			 "not signed by any trusted root");
		goto out;
	}
	c->root = root;
	if (!exts_ok(c->crl, c->why, sizeof(c->why)) ||
	    !idp_read(c->crl, &c->idp, c->why, sizeof(c->why)))
		goto out;
	/* RFC 5280 5.1.2.4-5: thisUpdate, and nextUpdate (MUST for
	 * conforming CAs) after it */
	if (vali_time(X509_CRL_get0_lastUpdate(c->crl), &c->this_upd) != 0 ||
	    X509_CRL_get0_nextUpdate(c->crl) == NULL ||
	    vali_time(X509_CRL_get0_nextUpdate(c->crl), &c->next_upd) != 0 ||
	    c->next_upd <= c->this_upd) {
		vali_why(c->why, sizeof(c->why),
			 "thisUpdate/nextUpdate missing or out of order");
		goto out;
	}
out:
	if (c->why[0] != '\0')
		drop(c); /* unusable: nothing half-checked stays */
	ERR_clear_error();
	free(buf);
}

static bool cached(const jpki_validator *v, const vali_crl *c, time_t now)
{
	return c->crl != NULL && now >= c->loaded_at &&
	       now - c->loaded_at < v->cache_age && now <= c->next_upd;
}

/* The DirName distribution points of a certificate (borrowed from *dps,
 * which the caller frees). */
static size_t cert_dps(X509 *cert, CRL_DIST_POINTS **dps,
		       const X509_NAME *names[MAX_DPS],
		       char keys[MAX_DPS][VALI_DN_MAX])
{
	size_t k = 0;
	*dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; *dps != NULL && i < sk_DIST_POINT_num(*dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(*dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *g = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(g) && k < MAX_DPS;
		     j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, j);
			if (gn->type != GEN_DIRNAME ||
			    vali_dn_key(gn->d.directoryName, keys[k],
					VALI_DN_MAX) != 0)
				continue;
			names[k++] = gn->d.directoryName;
		}
	}
	ERR_clear_error();
	return k;
}

/* RFC 5280 5.3.1 reason of an entry; unspecified when absent or outside
 * the values J-LIS uses. */
static jpki_reason entry_reason(const X509_REVOKED *r)
{
	ASN1_ENUMERATED *e =
	    X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	long val = e != NULL ? ASN1_ENUMERATED_get(e) : 0;
	ASN1_ENUMERATED_free(e);
	ERR_clear_error();
	if (val < 0 || jpki_reason_name((jpki_reason)val) == NULL)
		return JPKI_REASON_UNSPECIFIED;
	return (jpki_reason)val;
}

/* 0 and the entry's data when the serial is listed, 1 when not, -1 when
 * the entry cannot be used. */
static int lookup(X509_CRL *crl, X509 *cert, vali_rev *a, char *why, size_t cap)
{
	X509_REVOKED *r = NULL;
	int f = X509_CRL_get0_by_serial(crl, &r, X509_get0_serialNumber(cert));
	if (f != 1) /* 2 = removeFromCRL: only in delta CRLs */
		return 1;
	const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(r);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		if (X509_EXTENSION_get_critical(
			sk_X509_EXTENSION_value(exts, i))) {
			/* e.g. certificateIssuer of an indirect CRL */
			vali_why(why, cap, "entry has a critical extension");
			return -1;
		}
	}
	if (vali_time(X509_REVOKED_get0_revocationDate(r), &a->revoked_at) !=
	    0) {
		vali_why(why, cap, "entry's revocationDate unreadable");
		return -1;
	}
	a->reason = entry_reason(r);
	return 0;
}

int vali_crl_status(jpki_validator *v, X509 *cert, size_t root,
		    const val_opts *o, vali_rev *a, char *why, size_t cap,
		    jpki_err *err)
{
	CRL_DIST_POINTS *dps = NULL;
	const X509_NAME *names[MAX_DPS];
	char keys[MAX_DPS][VALI_DN_MAX];
	bool any = false;
	int rc = JPKI_ERR_NOT_FOUND;
	size_t k = cert_dps(cert, &dps, names, keys);
	char t1[21];
	(void)err;
	for (size_t i = 0; i < v->n_crls; i++) {
		vali_crl *c = v->crls[i];
		bool match = strcmp(c->key, "*") == 0;
		for (size_t j = 0; j < k && !match; j++)
			match = strcmp(c->key, keys[j]) == 0;
		if (!match)
			continue;
		any = true;
		if (!cached(v, c, o->now))
			load(v, c, o->now);
		if (c->crl == NULL) {
			vali_why(why, cap, "CRL %s: %s", c->location, c->why);
			continue;
		}
		if (c->root != root) {
			vali_why(why, cap,
				 "CRL %s is signed by another root "
				 "(generation) than the certificate",
				 c->location);
			continue;
		}
		bool covers = c->idp == NULL;
		for (size_t j = 0; j < k && !covers; j++)
			covers = X509_NAME_cmp(c->idp, names[j]) == 0;
		if (!covers) {
			vali_why(why, cap,
				 "CRL %s covers another partition than the "
				 "certificate's",
				 c->location);
			continue;
		}
		/* RFC 5280 6.3.3 (a): current; thisUpdate not ahead of us */
		if (c->this_upd > o->now + v->skew) {
			vali_time_str(c->this_upd, t1);
			vali_why(why, cap,
				 "CRL %s: thisUpdate %s is in the future",
				 c->location, t1);
			continue;
		}
		if (o->now > c->next_upd) {
			vali_time_str(c->next_upd, t1);
			vali_why(why, cap,
				 "CRL %s is stale: nextUpdate %s passed",
				 c->location, t1);
			continue;
		}
		memset(a, 0, sizeof(*a));
		int f = lookup(c->crl, cert, a, why, cap);
		if (f < 0)
			continue;
		a->status = f == 0 ? VAL_REV_REVOKED : VAL_REV_GOOD;
		a->where = VALI_WHERE_CRL;
		a->where_idx = i;
		a->this_upd = c->this_upd;
		a->next_upd = c->next_upd;
		a->checked = o->now;
		a->until = c->next_upd + 1;
		if (c->loaded_at + v->cache_age < a->until)
			a->until = c->loaded_at + v->cache_age;
		rc = 0;
		break;
	}
	if (!any) {
		if (k == 0)
			vali_why(why, cap,
				 "the certificate names no DirName CRL "
				 "distribution point and no CRL is mapped "
				 "for \"*\"");
		else
			vali_why(why, cap, "no CRL mapped for partition \"%s\"",
				 keys[0]);
	}
	CRL_DIST_POINTS_free(dps);
	return rc;
}
