/* Root (self-signed CA) certificate of a hierarchy, shaped like the real
 * J-LIS roots (spec §1.1; data/jpki-roots): same DN and string types, and
 * the same extensions in the same order with the same critical flags:
 *   keyUsage (critical) keyCertSign, cRLSign
 *   subjectAltName      DirName in Japanese
 *   basicConstraints (critical) CA:TRUE, no pathLenConstraint
 *   cRLDistributionPoints fullName DirName = own DN (the ARL)
 *   subjectKeyIdentifier SHA-1 of the key (RFC 5280 4.2.1.2 method 1) */
#include <openssl/x509v3.h>

#include "x509_int.h"

static int add_altname(X509 *x, jpki_profile prof, jpki_cert_kind kind,
		       jpki_err *err)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	X509_NAME *alt = NULL;
	int rc;
	if ((rc = x509i_root_altname(prof, kind, &alt, err)) != 0)
		goto out;
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, alt);
	alt = NULL; /* transferred */
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	gn = NULL; /* transferred */
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
			      X509V3_ADD_DEFAULT) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding subjectAltName");
out:
	X509_NAME_free(alt);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int add_basic_constraints(X509 *x, jpki_err *err)
{
	BASIC_CONSTRAINTS *bc = NULL;
	int rc = 0;
	if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	bc->ca = 0xff;
	/* RFC 5280 4.2.1.9: critical in CA certificates */
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
			      X509V3_ADD_DEFAULT) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding basicConstraints");
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

int x509_root_build(jpki_profile prof, jpki_cert_kind kind, EVP_PKEY *pub,
		    const uint8_t *serial, size_t serial_len, time_t not_before,
		    X509 **out, jpki_err *err)
{
	X509 *x = NULL;
	X509_NAME *dn = NULL;
	int rc;
	if (out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no output");
	if ((rc = x509_root_name(prof, kind, &dn, err)) != 0 ||
	    (rc = x509i_cert_new(serial, serial_len, not_before,
				 x509i_root_not_after(not_before), pub, &x,
				 err)) != 0)
		goto out;
	if (!X509_set_subject_name(x, dn) || !X509_set_issuer_name(x, dn)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "setting the root DN");
		goto out;
	}
	if ((rc = x509i_add_key_usage(x, X509I_KU_CERTSIGN | X509I_KU_CRLSIGN,
				      err)) != 0 ||
	    (rc = add_altname(x, prof, kind, err)) != 0 ||
	    (rc = add_basic_constraints(x, err)) != 0 ||
	    (rc = x509i_add_crldp(x, dn, err)) != 0 ||
	    (rc = x509i_add_ski(x, err)) != 0)
		goto out;
	*out = x;
	x = NULL; /* transferred */
out:
	X509_NAME_free(dn);
	X509_free(x);
	return rc;
}
