/* A hierarchy's root prepared once for the DER-first issuing path: the
 * checks and lookups every leaf would otherwise repeat on the root
 * certificate (its DN is the hierarchy's, its subjectKeyIdentifier becomes
 * the leaves' authorityKeyIdentifier).  Nothing in it is written after
 * x509_issuer_new, so issuing threads share one. */
#include <stdlib.h>

#include "x509_int.h"

int x509_issuer_new(jpki_profile prof, jpki_cert_kind kind, X509 *root,
		    x509_issuer **out, jpki_err *err)
{
	const x509i_hier *h = NULL;
	x509_issuer *iss = NULL;
	int rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	if ((rc = x509i_hier_get(prof, kind, &h, err)) != 0 ||
	    (rc = x509i_leaf_issuer(h, root, err)) != 0)
		return rc;
	if ((iss = calloc(1, sizeof(*iss))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = x509i_aki_der(root, iss->aki, &iss->aki_len, err)) != 0) {
		free(iss);
		return rc;
	}
	iss->h = h;
	*out = iss;
	return 0;
}

void x509_issuer_free(x509_issuer *iss)
{
	free(iss);
}

int x509i_issuer_is(const x509_issuer *iss, jpki_cert_kind kind, jpki_err *err)
{
	if (iss == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no issuer certificate");
	if (iss->h->kind != kind)
		return jpki_fail(
		    err, JPKI_ERR_INVAL, "issuer is not the %s %s root",
		    jpki_profile_name(iss->h->prof), jpki_cert_kind_name(kind));
	return 0;
}
