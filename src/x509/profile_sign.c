/* 署名用電子証明書 (spec §1.2): the signature certificate.
 *   subject  C=JP, L=<prefecture>, L=<municipality>,
 *            CN=<YYYYMMDDhhmmss JST><5-digit sequence><9-char window id>
 *   keyUsage (critical) digitalSignature, nonRepudiation
 *   certificatePolicies (critical) ...8.5.1.1.20 (test .0.20) + CPS
 *   subjectAltName otherNames .5.5.1-.6 (basic-4 and substitutes)
 *   cRLDistributionPoints DirName of the municipality's partition
 *   authorityKeyIdentifier keyIdentifier = issuer's SKI
 *   subjectKeyIdentifier */
#include <openssl/crypto.h>
#include <string.h>

#include "openjpki/util.h"
#include "x509_int.h"

/* v as n decimal digits. */
static void put_digits(char *p, long v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

static int make_cn(const jpki_sign_subject *subj,
		   char cn[X509I_SIGN_CN_LEN + 1], jpki_err *err)
{
	if (subj->requested < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "request time before 1970");
	if (subj->sequence > 99999)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "sequence number %u over 99999",
				 subj->sequence);
	jpki_date d = jpki_date_of(subj->requested);
	long secs = (long)(subj->requested - jpki_date_start(d));
	/* YYYYMMDDhhmmss (JST) + sequence (5) + window id (9, checked) */
	if (d.y > 9999)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "request time out of range for the CN");
	put_digits(cn, d.y, 4);
	put_digits(cn + 4, d.m, 2);
	put_digits(cn + 6, d.d, 2);
	put_digits(cn + 8, secs / 3600, 2);
	put_digits(cn + 10, secs / 60 % 60, 2);
	put_digits(cn + 12, secs % 60, 2);
	put_digits(cn + 14, (long)subj->sequence, 5);
	memcpy(cn + 19, subj->site->window_id, 9);
	cn[X509I_SIGN_CN_LEN] = '\0';
	return 0;
}

static int make_basic4(const jpki_sign_subject *subj, jpki_basic4 *b,
		       jpki_err *err)
{
	bool needed = false;
	int rc;
	memset(b, 0, sizeof(*b));
	if (subj->name == NULL || subj->name[0] == '\0' ||
	    subj->address == NULL || subj->address[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "name and address are required");
	if (subj->sex != 1 && subj->sex != 2)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "sex must be 1 (male) or 2 (female)");
	if (jpki_strlcpy(b->name, subj->name, sizeof(b->name)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "name over %zu bytes",
				 sizeof(b->name) - 1);
	if (jpki_strlcpy(b->address, subj->address, sizeof(b->address)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "address over %zu bytes",
				 sizeof(b->address) - 1);
	if ((rc = x509_substitute(b->name, b->name_subst, sizeof(b->name_subst),
				  &needed, err)) != 0)
		return jpki_wrap(err, rc, "name");
	if ((rc = x509_substitute(b->address, b->address_subst,
				  sizeof(b->address_subst), &needed, err)) != 0)
		return jpki_wrap(err, rc, "address");
	b->sex[0] = (char)('0' + subj->sex);
	b->sex[1] = '\0';
	if ((rc = rules_era_date(subj->birth, b->birth, err)) != 0)
		return jpki_wrap(err, rc, "date of birth");
	return 0;
}

int x509i_sign_subject(const jpki_sign_subject *subj,
		       char cn[X509I_SIGN_CN_LEN + 1], jpki_basic4 *b4,
		       jpki_err *err)
{
	int rc;
	if ((rc = x509i_site_check(subj->site, true, err)) != 0 ||
	    (rc = make_cn(subj, cn, err)) != 0 ||
	    (rc = make_basic4(subj, b4, err)) != 0)
		return rc;
	return 0;
}

int x509_sign_cert_build(jpki_profile prof, X509 *issuer,
			 const jpki_sign_subject *subj, EVP_PKEY *pub,
			 const uint8_t *serial, size_t serial_len,
			 time_t not_before, time_t not_after, X509 **out,
			 jpki_err *err)
{
	const x509i_hier *h = NULL;
	X509 *x = NULL;
	X509_NAME *dn = NULL;
	jpki_basic4 b4;
	char cn[X509I_SIGN_CN_LEN + 1];
	int rc;
	memset(&b4, 0, sizeof(b4));
	if (out == NULL || subj == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no subject or output");
	if ((rc = x509i_hier_get(prof, JPKI_CERT_SIGN, &h, err)) != 0 ||
	    (rc = x509i_leaf_issuer(h, issuer, err)) != 0 ||
	    (rc = x509i_sign_subject(subj, cn, &b4, err)) != 0 ||
	    (rc = x509i_cert_new(serial, serial_len, not_before, not_after, pub,
				 &x, err)) != 0)
		goto out;
	/* entries go straight into the certificate's own name: building a
	 * separate one and setting it would copy it once more */
	dn = X509_get_subject_name(x);
	if ((rc = x509i_name_add(dn, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", err)) != 0 ||
	    (rc = x509i_name_add(dn, NID_localityName, V_ASN1_UTF8STRING,
				 subj->site->pref_roman, err)) != 0 ||
	    (rc = x509i_name_add(dn, NID_localityName, V_ASN1_UTF8STRING,
				 subj->site->city_roman, err)) != 0 ||
	    (rc = x509i_name_add(dn, NID_commonName, V_ASN1_UTF8STRING, cn,
				 err)) != 0)
		goto out;
	if (!X509_set_issuer_name(x, X509_get_subject_name(issuer))) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "setting names");
		goto out;
	}
	if ((rc = x509i_add_ext_der(x, NID_key_usage, true, h->ku, h->ku_len,
				    err)) != 0 ||
	    (rc = x509i_add_ext_der(x, NID_certificate_policies, true, h->cp,
				    h->cp_len, err)) != 0 ||
	    (rc = x509i_add_basic4_san(x, &b4, err)) != 0 ||
	    (rc = x509i_add_leaf_crldp(x, h, subj->site, err)) != 0 ||
	    (rc = x509i_add_aki(x, issuer, err)) != 0 ||
	    (rc = x509i_add_ski(x, err)) != 0)
		goto out;
	*out = x;
	x = NULL; /* transferred */
out:
	OPENSSL_cleanse(&b4, sizeof(b4));
	X509_free(x);
	return rc;
}

int x509_sign_tbs_build(const x509_issuer *iss, const jpki_sign_subject *subj,
			EVP_PKEY *pub, const uint8_t *serial, size_t serial_len,
			time_t not_before, time_t not_after, uint8_t *out,
			size_t out_cap, size_t *out_len, jpki_err *err)
{
	jpki_basic4 b4;
	char cn[X509I_SIGN_CN_LEN + 1];
	x509i_leaf_in in = {
	    .cn = cn,
	    .b4 = &b4,
	    .pub = pub,
	    .serial = serial,
	    .serial_len = serial_len,
	    .nb = not_before,
	    .na = not_after,
	};
	int rc;
	if (out == NULL || out_len == NULL || subj == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no subject or output");
	in.site = subj->site;
	if ((rc = x509i_issuer_is(iss, JPKI_CERT_SIGN, err)) != 0 ||
	    (rc = x509i_sign_subject(subj, cn, &b4, err)) != 0 ||
	    (rc = x509i_tbs_write(iss, &in, out, out_cap, out_len, err)) != 0)
		goto out;
out:
	OPENSSL_cleanse(&b4, sizeof(b4));
	return rc;
}
