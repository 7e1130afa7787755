/* 利用者証明用電子証明書 (spec §1.3): the user-authentication certificate.
 * It carries no personal data: no subjectAltName and no L= in the subject.
 *   subject  C=JP, CN=<opaque id>
 *   keyUsage (critical) digitalSignature
 *   certificatePolicies (critical) ...8.5.1.3.30 (test .0.30) + CPS
 *   cRLDistributionPoints DirName of the municipality's partition
 *   authorityKeyIdentifier keyIdentifier = issuer's SKI
 *   subjectKeyIdentifier */
#include "x509_int.h"

int x509i_auth_subject(const char *opaque_id, const jpki_issuer_site *site,
		       jpki_err *err)
{
	/* ub-common-name 64 (RFC 5280 Appendix A) */
	if (!x509i_ascii_ok(opaque_id, 1, X509I_UB_COMMON_NAME, false))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "opaque id must be 1-%d printable ASCII "
				 "characters without spaces",
				 X509I_UB_COMMON_NAME);
	return x509i_site_check(site, false, err);
}

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
	if ((rc = x509i_hier_get(prof, JPKI_CERT_AUTH, &h, err)) != 0 ||
	    (rc = x509i_leaf_issuer(h, issuer, err)) != 0 ||
	    (rc = x509i_auth_subject(opaque_id, site, err)) != 0 ||
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
	if ((rc = x509i_add_ext_der(x, NID_key_usage, true, h->ku, h->ku_len,
				    err)) != 0 ||
	    (rc = x509i_add_ext_der(x, NID_certificate_policies, true, h->cp,
				    h->cp_len, err)) != 0 ||
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

int x509_auth_tbs_build(const x509_issuer *iss, const char *opaque_id,
			const jpki_issuer_site *site, EVP_PKEY *pub,
			const uint8_t *serial, size_t serial_len,
			time_t not_before, time_t not_after, uint8_t *out,
			size_t out_cap, size_t *out_len, jpki_err *err)
{
	int rc;
	if (out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	if ((rc = x509i_issuer_is(iss, JPKI_CERT_AUTH, err)) != 0 ||
	    (rc = x509i_auth_subject(opaque_id, site, err)) != 0)
		return rc;
	x509i_leaf_in in = {
	    .site = site,
	    .cn = opaque_id,
	    .b4 = NULL,
	    .pub = pub,
	    .serial = serial,
	    .serial_len = serial_len,
	    .nb = not_before,
	    .na = not_after,
	};
	return x509i_tbs_write(iss, &in, out, out_cap, out_len, err);
}
