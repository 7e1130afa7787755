/* CRLs (RFC 5280 section 5).  J-LIS partitions CRLs per issuing
 * municipality with DirName distribution points (spec §1.2, §2.2); a
 * partition CRL names its partition in a critical issuingDistributionPoint
 * (RFC 5280 5.2.5) with onlyContainsUserCerts, and the ARL, the root's own
 * distribution point, carries onlyContainsCACerts. */
#include <openssl/x509v3.h>
#include <string.h>

#include "x509_int.h"

static const char *const reason_names[] = {
    "unspecified",	  "keyCompromise", "cACompromise",
    "affiliationChanged", "superseded",	   "cessationOfOperation",
    "certificateHold",
};
#define N_REASONS (sizeof(reason_names) / sizeof(reason_names[0]))

const char *jpki_reason_name(jpki_reason r)
{
	if ((int)r < 0 || (size_t)r >= N_REASONS)
		return NULL;
	return reason_names[r];
}

int jpki_reason_parse(const char *s, jpki_reason *out)
{
	if (s == NULL || out == NULL)
		return JPKI_ERR_INVAL;
	for (size_t i = 0; i < N_REASONS; i++) {
		if (strcmp(s, reason_names[i]) == 0) {
			*out = (jpki_reason)i;
			return 0;
		}
	}
	return JPKI_ERR_INVAL;
}

static int add_entry(X509_CRL *crl, const jpki_crl_entry *e, jpki_err *err)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int rc;
	if ((int)e->reason < 0 || (size_t)e->reason >= N_REASONS)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown CRL reason %d",
				 (int)e->reason);
	if ((rc = x509i_serial(e->serial, e->serial_len, &sn, err)) != 0)
		goto out;
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (t = ASN1_TIME_set(NULL, e->revoked_at)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rev, sn) ||
	    !X509_REVOKED_set_revocationDate(rev, t)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "CRL entry");
		goto out;
	}
	/* RFC 5280 5.3.1: use unspecified by omitting reasonCode */
	if (e->reason != JPKI_REASON_UNSPECIFIED &&
	    ((reason = ASN1_ENUMERATED_new()) == NULL ||
	     !ASN1_ENUMERATED_set(reason, (long)e->reason) ||
	     X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) !=
		 1)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "CRL entry reasonCode");
		goto out;
	}
	if (!X509_CRL_add0_revoked(crl, rev)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding a CRL entry");
		goto out;
	}
	rev = NULL; /* transferred */
	rc = 0;
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	X509_REVOKED_free(rev);
	return rc;
}

static int add_idp(X509_CRL *crl, const X509_NAME *name, bool ca_only,
		   jpki_err *err)
{
	ISSUING_DIST_POINT *idp = NULL;
	GENERAL_NAME *gn = NULL;
	int rc = 0;
	if ((idp = ISSUING_DIST_POINT_new()) == NULL ||
	    (idp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (gn->d.directoryName = X509_NAME_dup(name)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	idp->distpoint->type = 0; /* fullName */
	gn->type = GEN_DIRNAME;
	if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	gn = NULL; /* transferred */
	if (ca_only)
		idp->onlyCA = 0xff;
	else
		idp->onlyuser = 0xff;
	/* RFC 5280 5.2.5: critical */
	if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
				  X509V3_ADD_DEFAULT) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "adding issuingDistributionPoint");
out:
	GENERAL_NAME_free(gn);
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

int x509_crl_build(X509 *issuer, const X509_NAME *partition, bool arl,
		   const jpki_crl_entry *entries, size_t n, time_t this_update,
		   time_t next_update, uint64_t crl_number, X509_CRL **out,
		   jpki_err *err)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int rc;
	if (issuer == NULL || out == NULL || (entries == NULL && n != 0))
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if (partition != NULL && arl)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the ARL has no municipality partition");
	if (n > JPKI_CRL_MAX_ENTRIES)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "%zu CRL entries, at most %d", n,
				 JPKI_CRL_MAX_ENTRIES);
	if (this_update >= next_update)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRL thisUpdate must be before nextUpdate");
	if ((akid = AUTHORITY_KEYID_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	akid->keyid =
	    X509_get_ext_d2i(issuer, NID_subject_key_identifier, NULL, NULL);
	if (akid->keyid == NULL) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "CRL issuer has no subjectKeyIdentifier");
		goto out;
	}
	if ((crl = X509_CRL_new()) == NULL ||
	    (num = ASN1_INTEGER_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
	    (t = ASN1_TIME_set(NULL, this_update)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, next_update) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t) ||
	    !ASN1_INTEGER_set_uint64(num, crl_number)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "building a CRL");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = add_entry(crl, &entries[i], err)) != 0)
			goto out;
	/* RFC 5280 5.2.1 and 5.2.3: AKI and cRLNumber, non-critical */
	if (!X509_CRL_sort(crl) ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
				  X509V3_ADD_DEFAULT) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
				  X509V3_ADD_DEFAULT) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "CRL extensions");
		goto out;
	}
	rc = 0;
	if (partition != NULL)
		rc = add_idp(crl, partition, false, err);
	else if (arl)
		rc = add_idp(crl, X509_get_subject_name(issuer), true, err);
	if (rc != 0)
		goto out;
	*out = crl;
	crl = NULL; /* transferred */
out:
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}
