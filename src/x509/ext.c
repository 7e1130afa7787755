/* Extension builders shared by the root and leaf profiles.  Each appends
 * one extension, so the call order is the order in the certificate. */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "x509_int.h"

static int add_ext(X509 *x, int nid, void *value, int crit, jpki_err *err)
{
	if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "adding %s",
				 OBJ_nid2ln(nid));
	return 0;
}

int x509i_add_key_usage(X509 *x, int bits, jpki_err *err)
{
	ASN1_BIT_STRING *ku = NULL;
	int rc;
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
	rc = add_ext(x, NID_key_usage, ku, 1, err);
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

int x509i_add_policy(X509 *x, jpki_profile prof, jpki_cert_kind kind,
		     jpki_err *err)
{
	CERTIFICATEPOLICIES *cp = NULL;
	POLICYINFO *pi = NULL;
	POLICYQUALINFO *q = NULL;
	const char *uri = x509i_cps_uri(prof);
	const char *oid = x509i_policy_oid(prof, kind);
	int rc;
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
	rc = add_ext(x, NID_certificate_policies, cp, 1, err);
out:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
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
	rc = add_ext(x, NID_crl_distribution_points, dps, 0, err);
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(p);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

int x509i_key_id(X509 *x, unsigned char out[20], jpki_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &len) || len != 20)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "hashing the public key");
	memcpy(out, md, 20);
	return 0;
}

int x509i_add_ski(X509 *x, jpki_err *err)
{
	ASN1_OCTET_STRING *ski = NULL;
	unsigned char id[20];
	int rc;
	if ((rc = x509i_key_id(x, id, err)) != 0)
		return rc;
	if ((ski = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(ski, id, (int)sizeof(id))) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = add_ext(x, NID_subject_key_identifier, ski, 0, err);
out:
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

int x509i_add_aki(X509 *x, X509 *issuer, jpki_err *err)
{
	AUTHORITY_KEYID *akid = NULL;
	/* read from the extension, not OpenSSL's per-object cache, which
	 * may predate the issuer's last change */
	ASN1_OCTET_STRING *ski =
	    X509_get_ext_d2i(issuer, NID_subject_key_identifier, NULL, NULL);
	int rc;
	if (ski == NULL || ASN1_STRING_length(ski) == 0) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "issuer has no subjectKeyIdentifier");
		goto out;
	}
	if ((akid = AUTHORITY_KEYID_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	akid->keyid = ski;
	ski = NULL; /* transferred */
	rc = add_ext(x, NID_authority_key_identifier, akid, 0, err);
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return rc;
}
