/* Distinguished names of the two hierarchies (spec §1.1-§1.3): the root
 * DN, the root's Japanese subjectAltName, and the per-municipality CRL
 * distribution point names.  String types follow the real J-LIS roots:
 * C is a PrintableString, every other attribute a UTF8String. */
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "x509_int.h"

const char x509i_jlis_ou[] =
    "Japan Agency for Local Authority Information Systems";
const char x509i_crldp_ou[] = "CRL Distribution Points";
const char x509i_crldp_cn_suffix[] = " CRLDP";

/* The root's subjectAltName DirName, as on the real roots.  The test
 * profile differs in O only, as its DN does (docs/decisions.md). */
static const char alt_o[] = "公的個人認証サービス";
static const char alt_o_test[] = "公的個人認証サービス（試験用）";
static const char alt_ou_sign[] = "公的個人認証サービス署名用";
static const char alt_ou_auth[] = "公的個人認証サービス利用者証明用";
static const char alt_ou_jlis[] = "地方公共団体情報システム機構";

const char *jpki_profile_name(jpki_profile p)
{
	switch (p) {
	case JPKI_PROFILE_TEST: return "test";
	case JPKI_PROFILE_PRODUCTION: return "production";
	}
	return NULL;
}

int jpki_profile_parse(const char *s, jpki_profile *out)
{
	if (s == NULL || out == NULL)
		return JPKI_ERR_INVAL;
	if (strcmp(s, "test") == 0)
		*out = JPKI_PROFILE_TEST;
	else if (strcmp(s, "production") == 0)
		*out = JPKI_PROFILE_PRODUCTION;
	else
		return JPKI_ERR_INVAL;
	return 0;
}

bool x509i_profile_ok(jpki_profile prof)
{
	return prof == JPKI_PROFILE_TEST || prof == JPKI_PROFILE_PRODUCTION;
}

bool x509i_kind_ok(jpki_cert_kind kind)
{
	return kind == JPKI_CERT_SIGN || kind == JPKI_CERT_AUTH;
}

const char *x509i_profile_o(jpki_profile prof)
{
	return prof == JPKI_PROFILE_PRODUCTION ? "JPKI" : "JPKI-TEST";
}

const char *x509i_kind_ou(jpki_cert_kind kind)
{
	return kind == JPKI_CERT_SIGN ? "JPKI for digital signature"
				      : "JPKI for user authentication";
}

bool x509i_ascii_ok(const char *s, size_t min, size_t max, bool space)
{
	size_t n = 0;
	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		if (n >= max)
			return false;
		if (s[n] < 0x20 || s[n] > 0x7e || (!space && s[n] == ' '))
			return false;
	}
	return n >= min;
}

int x509i_name_add(X509_NAME *n, int nid, int type, const char *val,
		   jpki_err *err)
{
	size_t len = strlen(val);
	if (len > 1024)
		return jpki_fail(err, JPKI_ERR_RANGE, "%s value too long",
				 OBJ_nid2sn(nid));
	if (!X509_NAME_add_entry_by_NID(
		n, nid, type, (const unsigned char *)val, (int)len, -1, 0))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "adding %s to a name",
				 OBJ_nid2sn(nid));
	return 0;
}

bool x509i_name_der_eq(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *da = NULL;
	const unsigned char *db = NULL;
	size_t la = 0;
	size_t lb = 0;
	if (a == NULL || b == NULL)
		return false;
	if (!X509_NAME_get0_der(a, &da, &la) ||
	    !X509_NAME_get0_der(b, &db, &lb))
		return false;
	return la == lb && memcmp(da, db, la) == 0;
}

int x509_root_name(jpki_profile prof, jpki_cert_kind kind, X509_NAME **out,
		   jpki_err *err)
{
	X509_NAME *n = NULL;
	int rc;
	if (out == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "root name: bad profile or hierarchy");
	if ((n = X509_NAME_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = x509i_name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationName, V_ASN1_UTF8STRING,
				 x509i_profile_o(prof), err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_kind_ou(kind),
				 err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_jlis_ou, err)) != 0)
		goto out;
	*out = n;
	n = NULL; /* transferred */
out:
	X509_NAME_free(n);
	return rc;
}

int x509i_root_altname(jpki_profile prof, jpki_cert_kind kind, X509_NAME **out,
		       jpki_err *err)
{
	X509_NAME *n = NULL;
	int rc;
	if ((n = X509_NAME_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = x509i_name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", err)) != 0 ||
	    (rc = x509i_name_add(
		 n, NID_organizationName, V_ASN1_UTF8STRING,
		 prof == JPKI_PROFILE_PRODUCTION ? alt_o : alt_o_test, err)) !=
		0 ||
	    (rc = x509i_name_add(
		 n, NID_organizationalUnitName, V_ASN1_UTF8STRING,
		 kind == JPKI_CERT_SIGN ? alt_ou_sign : alt_ou_auth, err)) !=
		0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, alt_ou_jlis, err)) != 0)
		goto out;
	*out = n;
	n = NULL; /* transferred */
out:
	X509_NAME_free(n);
	return rc;
}

int x509i_site_check(const jpki_issuer_site *site, bool need_window,
		     jpki_err *err)
{
	/* CN=<city> CRLDP must stay within ub-common-name (RFC 5280 App. A) */
	size_t city_max = X509I_UB_COMMON_NAME - strlen(x509i_crldp_cn_suffix);
	if (site == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no issuing site");
	if (!x509i_ascii_ok(site->pref_roman, 1, sizeof(site->pref_roman) - 1,
			    true))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "prefecture must be 1-%zu printable ASCII "
				 "characters (romanised)",
				 sizeof(site->pref_roman) - 1);
	if (!x509i_ascii_ok(site->city_roman, 1, city_max, true))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "municipality must be 1-%zu printable ASCII "
				 "characters (romanised)",
				 city_max);
	if (need_window && (!x509i_ascii_ok(site->window_id, 9, 9, false)))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "window id must be exactly 9 printable ASCII "
				 "characters without spaces");
	return 0;
}

int x509_crldp_name(jpki_profile prof, jpki_cert_kind kind,
		    const jpki_issuer_site *site, X509_NAME **out,
		    jpki_err *err)
{
	X509_NAME *n = NULL;
	char cn[X509I_UB_COMMON_NAME + 1];
	int rc;
	if (out == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRLDP name: bad profile or hierarchy");
	if ((rc = x509i_site_check(site, false, err)) != 0)
		return rc;
	/* lengths checked by x509i_site_check */
	size_t city_len = strlen(site->city_roman);
	memcpy(cn, site->city_roman, city_len);
	memcpy(cn + city_len, x509i_crldp_cn_suffix,
	       sizeof(x509i_crldp_cn_suffix));
	if ((n = X509_NAME_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = x509i_name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationName, V_ASN1_UTF8STRING,
				 x509i_profile_o(prof), err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_kind_ou(kind),
				 err)) != 0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_crldp_ou, err)) !=
		0 ||
	    (rc = x509i_name_add(n, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, site->pref_roman, err)) !=
		0 ||
	    (rc = x509i_name_add(n, NID_commonName, V_ASN1_UTF8STRING, cn,
				 err)) != 0)
		goto out;
	*out = n;
	n = NULL; /* transferred */
out:
	X509_NAME_free(n);
	return rc;
}
