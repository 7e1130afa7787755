/* The parts every certificate of the profile shares: v3, a positive serial
 * of at most 20 octets, the validity, and a key x509_check_key accepts. */
#include <openssl/x509.h>
#include <string.h>

#include "x509_int.h"

/* The significant octets of a serial number, refused as RFC 5280
 * 4.1.2.2 says. */
static int serial_octets(const uint8_t *serial, size_t serial_len,
			 const uint8_t **sig, size_t *sig_len, jpki_err *err)
{
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
	*sig = serial;
	*sig_len = serial_len;
	return 0;
}

int x509i_serial(const uint8_t *serial, size_t serial_len, ASN1_INTEGER **out,
		 jpki_err *err)
{
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	ASN1_INTEGER *ai = NULL;
	int rc = serial_octets(serial, serial_len, &sig, &sig_len, err);
	if (rc != 0)
		return rc;
	/* an ASN1_INTEGER holds the magnitude; i2d adds the sign octet */
	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_STRING_set(ai, sig, (int)sig_len)) {
		ASN1_INTEGER_free(ai);
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
	*out = ai;
	return 0;
}

int x509i_cert_new(const uint8_t *serial, size_t serial_len, time_t nb,
		   time_t na, EVP_PKEY *pub, X509 **out, jpki_err *err)
{
	X509 *x = NULL;
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;
	if (nb >= na)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "notBefore must be before notAfter");
	if ((x = X509_new()) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = x509i_set_pubkey(x, pub, err)) != 0 ||
	    (rc = serial_octets(serial, serial_len, &sig, &sig_len, err)) != 0)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_STRING_set(X509_get_serialNumber(x), sig, (int)sig_len) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "building a certificate");
		goto out;
	}
	*out = x;
	x = NULL; /* transferred */
	rc = 0;
out:
	X509_free(x);
	return rc;
}

int x509i_leaf_issuer(const x509i_hier *h, X509 *issuer, jpki_err *err)
{
	if (issuer == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no issuer certificate");
	if (!x509i_name_is(X509_get_subject_name(issuer), h->root_dn,
			   h->root_dn_len))
		return jpki_fail(
		    err, JPKI_ERR_INVAL, "issuer is not the %s %s root",
		    jpki_profile_name(h->prof), jpki_cert_kind_name(h->kind));
	return 0;
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
