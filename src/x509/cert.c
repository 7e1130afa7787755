/* The parts every certificate of the profile shares: v3, a positive serial
 * of at most 20 octets, the validity, and a key x509_check_key accepts. */
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <string.h>

#include "x509_int.h"

int x509i_serial(const uint8_t *serial, size_t serial_len, ASN1_INTEGER **out,
		 jpki_err *err)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int rc;
	if (serial == NULL && serial_len != 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "no serial number");
	while (serial_len > 0 && serial[0] == 0) {
		serial++;
		serial_len--;
	}
	/* RFC 5280 4.1.2.2: a positive integer of no more than 20 octets */
	if (serial_len == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "serial number must be positive "
				 "(RFC 5280 4.1.2.2)");
	if (serial_len + ((serial[0] & 0x80) != 0) > X509I_SERIAL_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "serial number over 20 octets "
				 "(RFC 5280 4.1.2.2)");
	if ((bn = BN_bin2bn(serial, (int)serial_len, NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "serial number");
		goto out;
	}
	*out = ai;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

int x509i_cert_new(const uint8_t *serial, size_t serial_len, time_t nb,
		   time_t na, EVP_PKEY *pub, X509 **out, jpki_err *err)
{
	X509 *x = NULL;
	ASN1_INTEGER *sn = NULL;
	int rc;
	if (nb >= na)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "notBefore must be before notAfter");
	if ((rc = x509_check_key(pub, err)) != 0 ||
	    (rc = x509i_serial(serial, serial_len, &sn, err)) != 0)
		goto out;
	if ((x = X509_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, sn) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL ||
	    !X509_set_pubkey(x, pub)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "building a certificate");
		goto out;
	}
	*out = x;
	x = NULL; /* transferred */
	rc = 0;
out:
	ASN1_INTEGER_free(sn);
	X509_free(x);
	return rc;
}

int x509i_leaf_issuer(jpki_profile prof, jpki_cert_kind kind, X509 *issuer,
		      jpki_err *err)
{
	X509_NAME *root = NULL;
	int rc;
	if (issuer == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no issuer certificate");
	if ((rc = x509_root_name(prof, kind, &root, err)) != 0)
		return rc;
	if (!x509i_name_der_eq(X509_get_subject_name(issuer), root))
		rc = jpki_fail(
		    err, JPKI_ERR_INVAL, "issuer is not the %s %s root",
		    jpki_profile_name(prof), jpki_cert_kind_name(kind));
	X509_NAME_free(root);
	return rc;
}

int x509i_time_get(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return JPKI_ERR_PARSE;
	jpki_date d = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
	if (!jpki_date_valid(d))
		return JPKI_ERR_PARSE;
	*out = (time_t)(jpki_date_to_days(d) * 86400 + tm.tm_hour * 3600 +
			tm.tm_min * 60 + tm.tm_sec);
	return 0;
}

time_t x509i_root_not_after(time_t nb)
{
	/* The day before the 10th anniversary of notBefore's JST date, as on
	 * the real roots (2015-10-20 -> 2025-10-19 14:59:59Z).  A period
	 * starting on 29 February ends on the last day of February, as
	 * 民法第143条第2項 counts it when the month has no such day. */
	jpki_date s = jpki_date_of(nb);
	jpki_date a = {s.y + 10, s.m, s.d};
	if (a.d > jpki_days_in_month(a.y, a.m)) {
		a.d = jpki_days_in_month(a.y, a.m);
		return jpki_date_end(a);
	}
	return jpki_date_end(jpki_date_add_days(a, -1));
}
