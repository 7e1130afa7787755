/* The parts every certificate of the profile shares: v3, a positive serial
 * of at most 20 octets, the validity, and a key x509_check_key accepts. */
#include <openssl/x509.h>
#include <string.h>

#include "x509_int.h"

int x509i_serial_octets(const uint8_t *serial, size_t serial_len,
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
	int rc = x509i_serial_octets(serial, serial_len, &sig, &sig_len, err);
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
	if ((rc = x509i_validity_check(nb, na, err)) != 0)
		return rc;
	if ((x = X509_new()) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = x509i_set_pubkey(x, pub, err)) != 0 ||
	    (rc = x509i_serial_octets(serial, serial_len, &sig, &sig_len,
				      err)) != 0)
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

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a Time of
 * four digits holds. */
#define TIME_MIN ((time_t)-62135596800LL)
#define TIME_MAX ((time_t)253402300799LL)

int x509i_validity_check(time_t nb, time_t na, jpki_err *err)
{
	if (nb >= na)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "notBefore must be before notAfter");
	if (nb < TIME_MIN || na > TIME_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "validity must lie within the years 1-9999 "
				 "(RFC 5280 4.1.2.5)");
	return 0;
}

static void digits(uint8_t *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (uint8_t)('0' + v % 10);
}

size_t x509i_time_der(time_t t, uint8_t out[X509I_TIME_DER_MAX])
{
	int64_t days = (int64_t)t / 86400;
	int64_t secs = (int64_t)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	jpki_date d = jpki_days_to_date(days);
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from
	 * 2050; ASN1_TIME_set() also takes GeneralizedTime before 1950 */
	bool utc = d.y >= 1950 && d.y <= 2049;
	size_t n = 0;
	out[n++] = utc ? X509I_TAG_UTCTIME : X509I_TAG_GENTIME;
	out[n++] = utc ? 13 : 15;
	digits(out + n, utc ? d.y % 100 : d.y, utc ? 2 : 4);
	n += utc ? 2 : 4;
	digits(out + n, d.m, 2);
	digits(out + n + 2, d.d, 2);
	digits(out + n + 4, (int)(secs / 3600), 2);
	digits(out + n + 6, (int)(secs / 60 % 60), 2);
	digits(out + n + 8, (int)(secs % 60), 2);
	n += 10;
	out[n++] = 'Z';
	return n;
}

static bool read_digits(const uint8_t *p, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return true;
}

int x509i_time_parse(uint8_t tag, const jpki_rbuf *c, time_t *out)
{
	/* RFC 5280 4.1.2.5.1: YYMMDDHHMMSSZ, YY >= 50 meaning 19YY;
	 * 4.1.2.5.2: YYYYMMDDHHMMSSZ; seconds always, no fraction */
	size_t yd = tag == X509I_TAG_UTCTIME ? 2 : 4;
	int y = 0;
	int m = 0;
	int d = 0;
	int hh = 0;
	int mm = 0;
	int ss = 0;
	if ((tag != X509I_TAG_UTCTIME && tag != X509I_TAG_GENTIME) ||
	    c->len != yd + 11 || c->p[c->len - 1] != 'Z' ||
	    !read_digits(c->p, (int)yd, &y) || !read_digits(c->p + yd, 2, &m) ||
	    !read_digits(c->p + yd + 2, 2, &d) ||
	    !read_digits(c->p + yd + 4, 2, &hh) ||
	    !read_digits(c->p + yd + 6, 2, &mm) ||
	    !read_digits(c->p + yd + 8, 2, &ss))
		return JPKI_ERR_PARSE;
	if (tag == X509I_TAG_UTCTIME)
		y += y >= 50 ? 1900 : 2000;
	jpki_date date = {y, m, d};
	if (!jpki_date_valid(date) || hh > 23 || mm > 59 || ss > 59)
		return JPKI_ERR_PARSE;
	*out = (time_t)(jpki_date_to_days(date) * 86400 + hh * 3600 + mm * 60 +
			ss);
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
