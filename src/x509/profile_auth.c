/* 利用者証明用電子証明書 (spec §1.3): the user-authentication certificate.
 * It carries no personal data: no subjectAltName and no L= in the subject.
 *   subject  C=JP, CN=<opaque id>
 *   keyUsage (critical) digitalSignature
 *   certificatePolicies (critical) ...8.5.1.3.30 (test .0.30) + CPS
 *   cRLDistributionPoints DirName of the municipality's partition
 *   authorityKeyIdentifier keyIdentifier = issuer's SKI
 *   subjectKeyIdentifier */
#include "x509_int.h"

int x509_auth_cert_build(jpki_profile prof, X509 *issuer, const char *opaque_id,
			 const jpki_issuer_site *site, EVP_PKEY *pub,
			 const uint8_t *serial, size_t serial_len,
			 time_t not_before, time_t not_after, X509 **out,
			 jpki_err *err)
{
	const x509i_hier *h = NULL;
	X509 *x = NULL;
	X509_NAME *dn = NULL;
	int rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	/* ub-common-name 64 (RFC 5280 Appendix A) */
	if (!x509i_ascii_ok(opaque_id, 1, X509I_UB_COMMON_NAME, false))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "opaque id must be 1-%d printable ASCII "
				 "characters without spaces",
				 X509I_UB_COMMON_NAME);
	if ((rc = x509i_hier_get(prof, JPKI_CERT_AUTH, &h, err)) != 0 ||
	    (rc = x509i_leaf_issuer(h, issuer, err)) != 0 ||
	    (rc = x509i_site_check(site, false, err)) != 0 ||
	    (rc = x509i_cert_new(serial, serial_len, not_before, not_after, pub,
				 &x, err)) != 0)
		goto out;
	dn = X509_get_subject_name(x);
	if ((rc = x509i_name_add(dn, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", err)) != 0 ||
	    (rc = x509i_name_add(dn, NID_commonName, V_ASN1_UTF8STRING,
				 opaque_id, err)) != 0)
		goto out;
	if (!X509_set_issuer_name(x, X509_get_subject_name(issuer))) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "setting names");
		goto out;
	}
	if ((rc = x509i_add_ext_copy(x, h->ku, err)) != 0 ||
	    (rc = x509i_add_ext_copy(x, h->cp, err)) != 0 ||
	    (rc = x509i_add_leaf_crldp(x, h, site, err)) != 0 ||
	    (rc = x509i_add_aki(x, issuer, err)) != 0 ||
	    (rc = x509i_add_ski(x, err)) != 0)
		goto out;
	*out = x;
	x = NULL; /* transferred */
out:
	X509_free(x);
	return rc;
}
