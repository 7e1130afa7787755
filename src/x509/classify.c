/* Which hierarchy and profile a certificate belongs to.  Leaves are known
 * by their policy OID (spec §1.4), roots by their DN; the real J-LIS roots
 * (data/jpki-roots) carry exactly the production root DNs. */
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509_int.h"

static const jpki_profile profiles[] = {JPKI_PROFILE_PRODUCTION,
					JPKI_PROFILE_TEST};
static const jpki_cert_kind kinds[] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};

static int by_policy(X509 *cert, jpki_cert_kind *kind, jpki_profile *prof)
{
	CERTIFICATEPOLICIES *cp =
	    X509_get_ext_d2i(cert, NID_certificate_policies, NULL, NULL);
	int found = 0;
	if (cp == NULL) {
		ERR_clear_error();
		return 0;
	}
	for (int i = 0; i < sk_POLICYINFO_num(cp) && !found; i++) {
		const POLICYINFO *pi = sk_POLICYINFO_value(cp, i);
		for (size_t p = 0; p < 2 && !found; p++) {
			for (size_t k = 0; k < 2 && !found; k++) {
				if (x509i_obj_is(pi->policyid,
						 x509i_policy_oid(profiles[p],
								  kinds[k]))) {
					*prof = profiles[p];
					*kind = kinds[k];
					found = 1;
				}
			}
		}
	}
	CERTIFICATEPOLICIES_free(cp);
	return found;
}

static int by_root_dn(X509 *cert, jpki_cert_kind *kind, jpki_profile *prof,
		      jpki_err *err)
{
	const X509_NAME *subj = X509_get_subject_name(cert);
	int found = 0;
	if (X509_NAME_cmp(subj, X509_get_issuer_name(cert)) != 0)
		return 0;
	for (size_t p = 0; p < 2 && !found; p++) {
		for (size_t k = 0; k < 2 && !found; k++) {
			X509_NAME *n = NULL;
			int rc = x509_root_name(profiles[p], kinds[k], &n, err);
			if (rc != 0)
				return rc;
			/* RFC 5280 7.1 comparison, not byte equality */
			if (X509_NAME_cmp(subj, n) == 0) {
				*prof = profiles[p];
				*kind = kinds[k];
				found = 1;
			}
			X509_NAME_free(n);
		}
	}
	return found;
}

int x509_classify(X509 *cert, jpki_cert_kind *kind, jpki_profile *prof,
		  bool *is_root, jpki_err *err)
{
	jpki_cert_kind k = JPKI_CERT_SIGN;
	jpki_profile p = JPKI_PROFILE_TEST;
	bool root = false;
	int r;
	if (cert == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "classify: no certificate");
	if (!by_policy(cert, &k, &p)) {
		if ((r = by_root_dn(cert, &k, &p, err)) < 0)
			return r;
		if (r == 0)
			return jpki_fail(err, JPKI_ERR_NOT_FOUND,
					 "not a JPKI certificate: no JPKI "
					 "policy and not a JPKI root DN");
		root = true;
	}
	if (kind != NULL)
		*kind = k;
	if (prof != NULL)
		*prof = p;
	if (is_root != NULL)
		*is_root = root;
	return 0;
}
