/* Extension builders shared by the root and leaf profiles.  Each appends
 * one extension, so the call order is the order in the certificate.  The
 * leaves' constant extension values come ready-made from tables.c; the
 * variable ones are written as DER directly (tlv.c), which is what the
 * OpenSSL structures encoded to, byte for byte
 * (tests/unit/test_x509_fastpath.c), by the same functions the TBS writer
 * (tbs.c) uses. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "x509_int.h"

int x509i_key_usage_ext(int bits, X509_EXTENSION **out, jpki_err *err)
{
	ASN1_BIT_STRING *ku = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = 0;
	if ((ku = ASN1_BIT_STRING_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < 9; i++) {
		if ((bits & (1 << i)) != 0 &&
		    !ASN1_BIT_STRING_set_bit(ku, i, 1)) {
			rc = jpki_fail(err, JPKI_ERR_CRYPTO, "keyUsage");
			goto out;
		}
	}
	/* RFC 5280 4.2.1.3: conforming CAs SHOULD mark it critical */
	if ((ext = X509V3_EXT_i2d(NID_key_usage, 1, ku)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding keyUsage");
		goto out;
	}
	*out = ext;
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

int x509i_policy_ext(jpki_profile prof, jpki_cert_kind kind,
		     X509_EXTENSION **out, jpki_err *err)
{
	CERTIFICATEPOLICIES *cp = NULL;
	POLICYINFO *pi = NULL;
	POLICYQUALINFO *q = NULL;
	X509_EXTENSION *ext = NULL;
	const char *uri = x509i_cps_uri(prof);
	const char *oid = x509i_policy_oid(prof, kind);
	int rc = 0;
	if (oid == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no policy for profile");
	if ((cp = sk_POLICYINFO_new_null()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL ||
	    (q = POLICYQUALINFO_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	ASN1_OBJECT_free(pi->policyid);
	if ((pi->policyid = x509i_obj(oid)) == NULL ||
	    (q->pqualid = OBJ_nid2obj(NID_id_qt_cps)) == NULL ||
	    (q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(q->d.cpsuri, uri, (int)strlen(uri)) ||
	    (pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
	    !sk_POLICYQUALINFO_push(pi->qualifiers, q)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "certificatePolicies");
		goto out;
	}
	q = NULL; /* transferred */
	if (!sk_POLICYINFO_push(cp, pi)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	pi = NULL; /* transferred */
	/* J-LIS profile 3.2 p.10: certificatePolicies is critical */
	if ((ext = X509V3_EXT_i2d(NID_certificate_policies, 1, cp)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "encoding certificatePolicies");
		goto out;
	}
	*out = ext;
out:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

int x509i_add_key_usage(X509 *x, int bits, jpki_err *err)
{
	X509_EXTENSION *ext = NULL;
	int rc = x509i_key_usage_ext(bits, &ext, err);
	if (rc == 0 && X509_add_ext(x, ext, -1) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding keyUsage");
	X509_EXTENSION_free(ext);
	return rc;
}

int x509i_add_ext_der(X509 *x, int nid, bool critical, const uint8_t *der,
		      size_t len, jpki_err *err)
{
	X509_EXTENSION *ext = NULL;
	int rc = 0;
	if (len > INT32_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "extension too long");
	/* critical 0 leaves the BOOLEAN out (DER: DEFAULT FALSE) */
	if ((ext = X509_EXTENSION_new()) == NULL ||
	    !X509_EXTENSION_set_object(ext, OBJ_nid2obj(nid)) ||
	    !X509_EXTENSION_set_critical(ext, critical ? 1 : 0) ||
	    !ASN1_OCTET_STRING_set(X509_EXTENSION_get_data(ext), der,
				   (int)len) ||
	    X509_add_ext(x, ext, -1) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding %s",
			       OBJ_nid2ln(nid));
	X509_EXTENSION_free(ext);
	return rc;
}

int x509i_add_crldp(X509 *x, const X509_NAME *dp, jpki_err *err)
{
	CRL_DIST_POINTS *dps = NULL;
	DIST_POINT *p = NULL;
	GENERAL_NAME *gn = NULL;
	int rc;
	if ((dps = sk_DIST_POINT_new_null()) == NULL ||
	    (p = DIST_POINT_new()) == NULL ||
	    (p->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (p->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->distpoint->type = 0; /* fullName */
	if ((gn->d.directoryName = X509_NAME_dup(dp)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	gn->type = GEN_DIRNAME;
	if (!sk_GENERAL_NAME_push(p->distpoint->name.fullname, gn)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	gn = NULL; /* transferred */
	if (!sk_DIST_POINT_push(dps, p)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	p = NULL; /* transferred */
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0,
			      X509V3_ADD_DEFAULT) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "adding cRLDistributionPoints");
	else
		rc = 0;
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(p);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

int x509i_put_crldp(x509i_dw *w, const x509i_hier *h,
		    const jpki_issuer_site *site, jpki_err *err)
{
	const x509i_tables *t = NULL;
	char cn[X509I_UB_COMMON_NAME + 1];
	int rc;
	size_t mark = w->len;
	size_t city = strnlen(site->city_roman, sizeof(site->city_roman));
	size_t pref = strnlen(site->pref_roman, sizeof(site->pref_roman));
	size_t sfx = strlen(x509i_crldp_cn_suffix);
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	if (city + sfx >= sizeof(cn) || pref >= sizeof(site->pref_roman))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "municipality name too long for the CRLDP");
	memcpy(cn, site->city_roman, city);
	memcpy(cn + city, x509i_crldp_cn_suffix, sfx);
	/* CRLDistributionPoints ::= SEQUENCE { DistributionPoint {
	 *   distributionPoint [0] { fullName [0] { directoryName [4] Name
	 * } } } } (RFC 5280 4.2.1.13; Name's RDNs as x509_crldp_name) */
	x509i_dw_rdn(w, t->at_cn.der, t->at_cn.len, X509I_TAG_UTF8, cn,
		     city + sfx);
	x509i_dw_rdn(w, t->at_ou.der, t->at_ou.len, X509I_TAG_UTF8,
		     site->pref_roman, pref);
	x509i_dw_put(w, h->dp_rdns, h->dp_rdns_len);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
	x509i_dw_wrap(w, X509I_TAG_CTX4_CONS, mark);
	x509i_dw_wrap(w, X509I_TAG_CTX0_CONS, mark);
	x509i_dw_wrap(w, X509I_TAG_CTX0_CONS, mark);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
	return 0;
}

int x509i_crldp_der(const x509i_hier *h, const jpki_issuer_site *site,
		    uint8_t *buf, size_t cap, const uint8_t **der, size_t *len,
		    jpki_err *err)
{
	x509i_dw w;
	size_t n = 0;
	x509i_dw_init(&w, buf, cap);
	int rc = x509i_put_crldp(&w, h, site, err);
	if (rc != 0)
		return rc;
	const uint8_t *d = x509i_dw_data(&w, &n);
	if (d == NULL)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "cRLDistributionPoints too long");
	*der = d;
	*len = n;
	return 0;
}

int x509i_add_leaf_crldp(X509 *x, const x509i_hier *h,
			 const jpki_issuer_site *site, jpki_err *err)
{
	uint8_t buf[X509I_CRLDP_DER_MAX];
	const uint8_t *der = NULL;
	size_t len = 0;
	int rc = x509i_crldp_der(h, site, buf, sizeof(buf), &der, &len, err);
	if (rc != 0)
		return rc;
	return x509i_add_ext_der(x, NID_crl_distribution_points, false, der,
				 len, err);
}

int x509i_sha1(const uint8_t *p, size_t n, uint8_t out[20], jpki_err *err)
{
	const x509i_tables *t = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int rc;
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	/* the fetched SHA-1: EVP_sha1() would be looked up on every call */
	if (!EVP_Digest(p, n, md, &len, t->sha1, NULL) || len != 20)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "hashing the public key");
	memcpy(out, md, 20);
	return 0;
}

int x509i_key_id(X509 *x, unsigned char out[20], jpki_err *err)
{
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(x);
	if (key == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "hashing the public key");
	return x509i_sha1(ASN1_STRING_get0_data(key),
			  (size_t)ASN1_STRING_length(key), out, err);
}

int x509i_add_ski(X509 *x, jpki_err *err)
{
	uint8_t der[22] = {X509I_TAG_OCTETS, 20};
	int rc = x509i_key_id(x, der + 2, err);
	if (rc != 0)
		return rc;
	return x509i_add_ext_der(x, NID_subject_key_identifier, false, der,
				 sizeof(der), err);
}

int x509i_aki_der(X509 *issuer, uint8_t buf[X509I_AKI_DER_MAX], size_t *len,
		  jpki_err *err)
{
	/* read from the extension, not OpenSSL's per-object cache, which
	 * may predate the issuer's last change */
	ASN1_OCTET_STRING *ski =
	    X509_get_ext_d2i(issuer, NID_subject_key_identifier, NULL, NULL);
	uint8_t tmp[X509I_AKI_DER_MAX];
	const uint8_t *der = NULL;
	size_t n = 0;
	x509i_dw w;
	int rc = 0;
	if (ski == NULL || ASN1_STRING_length(ski) == 0) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "issuer has no subjectKeyIdentifier");
		goto out;
	}
	/* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] } */
	x509i_dw_init(&w, tmp, sizeof(tmp));
	x509i_dw_tlv(&w, X509I_TAG_CTX0, ASN1_STRING_get0_data(ski),
		     (size_t)ASN1_STRING_length(ski));
	x509i_dw_wrap(&w, X509I_TAG_SEQ, 0);
	if ((der = x509i_dw_data(&w, &n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "issuer's subjectKeyIdentifier too long");
		goto out;
	}
	memcpy(buf, der, n);
	*len = n;
out:
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

int x509i_add_aki(X509 *x, X509 *issuer, jpki_err *err)
{
	uint8_t der[X509I_AKI_DER_MAX];
	size_t len = 0;
	int rc = x509i_aki_der(issuer, der, &len, err);
	if (rc != 0)
		return rc;
	return x509i_add_ext_der(x, NID_authority_key_identifier, false, der,
				 len, err);
}
