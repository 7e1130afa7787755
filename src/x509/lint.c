/* Profile lints, run by ca/ before every signature: a certificate is
 * signed only when it is exactly what the profile says (spec §1; RFC 5280).
 * The first problem found is reported with JPKI_ERR_LINT (JPKI_ERR_KEY for
 * the key), naming the rule it breaks.
 *
 * Leaf extensions are checked by their bytes: each must be exactly the DER
 * the profile gives for the values the certificate carries (the constant
 * ones as tables.c encoded them with OpenSSL, the others re-encoded from
 * the values read out of the certificate itself).  Only when a value
 * differs do the structural checks below run, to say what is wrong; they
 * refuse everything they refused before, and the byte comparison refuses
 * non-DER encodings besides. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "x509_int.h"

#define LINT(...) jpki_fail(err, JPKI_ERR_LINT, __VA_ARGS__)

struct ext_rule {
	int nid;
	bool critical;
	const char *ref; /* where the criticality comes from */
};

/* The real J-LIS roots, in their order. */
static const struct ext_rule root_exts[] = {
    {NID_key_usage, true, "RFC 5280 4.2.1.3, J-LIS roots"},
    {NID_subject_alt_name, false, "J-LIS roots"},
    {NID_basic_constraints, true, "RFC 5280 4.2.1.9, J-LIS roots"},
    {NID_crl_distribution_points, false, "J-LIS roots"},
    {NID_subject_key_identifier, false, "RFC 5280 4.2.1.2"},
};
static const struct ext_rule sign_exts[] = {
    {NID_key_usage, true, "RFC 5280 4.2.1.3, spec 1.2"},
    {NID_certificate_policies, true, "J-LIS profile 3.2 p.10"},
    {NID_subject_alt_name, false, "spec 1.2"},
    {NID_crl_distribution_points, false, "spec 1.2"},
    {NID_authority_key_identifier, false, "RFC 5280 4.2.1.1"},
    {NID_subject_key_identifier, false, "RFC 5280 4.2.1.2"},
};
static const struct ext_rule auth_exts[] = {
    {NID_key_usage, true, "RFC 5280 4.2.1.3, spec 1.3"},
    {NID_certificate_policies, true, "J-LIS profile 3.2"},
    {NID_crl_distribution_points, false, "spec 1.3"},
    {NID_authority_key_identifier, false, "RFC 5280 4.2.1.1"},
    {NID_subject_key_identifier, false, "RFC 5280 4.2.1.2"},
};

/* A helper refused what the certificate carries: report it as a lint
 * failure with context, unless it was an allocation or library failure. */
static int as_lint(int rc, jpki_err *err, const char *what)
{
	if (rc == JPKI_ERR_NOMEM || rc == JPKI_ERR_CRYPTO)
		return rc;
	jpki_wrap(err, JPKI_ERR_LINT, "%s", what);
	if (err != NULL)
		err->code = JPKI_ERR_LINT;
	return JPKI_ERR_LINT;
}

static const char *ext_name(int nid)
{
	const char *sn = OBJ_nid2sn(nid);
	return sn != NULL ? sn : "extension";
}

/* Number of characters of UTF-8 text. */
static size_t utf8_chars(const unsigned char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* The key as the certificate's bytes carry it, whatever EVP_PKEY object
 * the builder attached. */
static int lint_key(X509 *cert, jpki_err *err)
{
	return x509i_check_spki(cert, err);
}

static int lint_serial(X509 *cert, jpki_err *err)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	int len = ASN1_STRING_length(sn);
	bool zero = true;
	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER || len <= 0 || d == NULL)
		return LINT(
		    "serial number must be positive (RFC 5280 4.1.2.2)");
	for (int i = 0; i < len; i++)
		zero = zero && d[i] == 0;
	if (zero)
		return LINT(
		    "serial number must be positive (RFC 5280 4.1.2.2)");
	if (len + ((d[0] & 0x80) != 0) > X509I_SERIAL_MAX)
		return LINT("serial number over 20 octets (RFC 5280 4.1.2.2)");
	return 0;
}

static int lint_sigalg(X509 *cert, jpki_err *err)
{
	/* unsigned (the lint runs before signing): nothing to check yet */
	int nid = X509_get_signature_nid(cert);
	if (nid != NID_undef && nid != NID_sha256WithRSAEncryption)
		return LINT("signature algorithm must be "
			    "sha256WithRSAEncryption, not %s",
			    OBJ_nid2sn(nid));
	return 0;
}

static int lint_time_type(const ASN1_TIME *t, time_t v, const char *what,
			  jpki_err *err)
{
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after */
	jpki_date d = jpki_date_of(v - JPKI_JST_OFFSET);
	int want = d.y < 2050 ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
	if (ASN1_STRING_type(t) != want)
		return LINT("%s must be encoded as %s (RFC 5280 4.1.2.5)", what,
			    want == V_ASN1_UTCTIME ? "UTCTime"
						   : "GeneralizedTime");
	return 0;
}

static int lint_validity(X509 *cert, bool root, jpki_err *err)
{
	const ASN1_TIME *tb = X509_get0_notBefore(cert);
	const ASN1_TIME *ta = X509_get0_notAfter(cert);
	time_t nb;
	time_t na;
	char s[21];
	int rc;
	if (x509i_time_get(tb, &nb) != 0 || x509i_time_get(ta, &na) != 0)
		return LINT("unreadable validity (RFC 5280 4.1.2.5)");
	if ((rc = lint_time_type(tb, nb, "notBefore", err)) != 0 ||
	    (rc = lint_time_type(ta, na, "notAfter", err)) != 0)
		return rc;
	if (nb >= na)
		return LINT("notBefore must be before notAfter "
			    "(RFC 5280 4.1.2.5)");
	/* spec 1.1/1.5: validity ends at 23:59:59 JST */
	if (jpki_date_end(jpki_date_of(na)) != na) {
		jpki_time_format(na, s);
		return LINT("notAfter must be 23:59:59 JST (14:59:59Z), "
			    "not %s",
			    s);
	}
	if (root && na != x509i_root_not_after(nb)) {
		jpki_time_format(x509i_root_not_after(nb), s);
		return LINT("root notAfter must be the day before the 10th "
			    "anniversary of notBefore, %s",
			    s);
	}
	return 0;
}

#define EXT_RULES_MAX 8

/* Checks the set, order and criticality of the extensions and points
 * found[j] at the one rules[j] names. */
static int lint_ext_set(X509 *cert, const struct ext_rule *rules, size_t n,
			bool ordered, bool auth,
			X509_EXTENSION *found[EXT_RULES_MAX], jpki_err *err)
{
	unsigned seen = 0;
	size_t pos = 0;
	char oid[80];
	for (int i = 0; i < X509_get_ext_count(cert); i++) {
		X509_EXTENSION *ext = X509_get_ext(cert, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		bool crit = X509_EXTENSION_get_critical(ext) != 0;
		size_t j = 0;
		while (j < n && rules[j].nid != nid)
			j++;
		if (j == n && auth && nid == NID_subject_alt_name)
			return LINT("authentication certificate must not "
				    "carry subjectAltName (no personal data, "
				    "spec 1.3)");
		if (j == n) {
			OBJ_obj2txt(oid, sizeof(oid),
				    X509_EXTENSION_get_object(ext), 0);
			return LINT("unexpected extension %s", oid);
		}
		if ((seen & (1u << j)) != 0)
			return LINT("extension %s appears twice "
				    "(RFC 5280 4.2)",
				    ext_name(nid));
		if (ordered && j != pos)
			return LINT("extension %s out of the J-LIS roots' "
				    "order",
				    ext_name(nid));
		if (crit != rules[j].critical)
			return LINT("%s must %sbe critical (%s)", ext_name(nid),
				    rules[j].critical ? "" : "not ",
				    rules[j].ref);
		seen |= 1u << j;
		found[j] = ext;
		pos++;
	}
	for (size_t j = 0; j < n; j++)
		if ((seen & (1u << j)) == 0)
			return LINT("missing %s extension (%s)",
				    ext_name(rules[j].nid), rules[j].ref);
	return 0;
}

/* The extension lint_ext_set found for nid. */
static X509_EXTENSION *ext_of(const struct ext_rule *rules, size_t n,
			      X509_EXTENSION *const found[EXT_RULES_MAX],
			      int nid)
{
	for (size_t j = 0; j < n; j++)
		if (rules[j].nid == nid)
			return found[j];
	return NULL;
}

static bool value_is(X509_EXTENSION *ext, const uint8_t *der, size_t len)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	return ASN1_STRING_length(v) >= 0 &&
	       (size_t)ASN1_STRING_length(v) == len &&
	       memcmp(ASN1_STRING_get0_data(v), der, len) == 0;
}

static void value_of(X509_EXTENSION *ext, jpki_rbuf *r)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	int len = ASN1_STRING_length(v);
	jpki_rbuf_init(r, ASN1_STRING_get0_data(v), len > 0 ? (size_t)len : 0);
}

/* The structural checks found nothing: what is left is the encoding. */
static int not_der(const char *what, jpki_err *err)
{
	return LINT("%s is not encoded as the profile's DER (X.690 section "
		    "10)",
		    what);
}

static int lint_key_usage(X509 *cert, int bits, const char *want, jpki_err *err)
{
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(cert, NID_key_usage, NULL, NULL);
	int rc = 0;
	if (ku == NULL) {
		ERR_clear_error();
		return LINT("malformed keyUsage");
	}
	for (int i = 0; i < 16; i++) {
		if ((ASN1_BIT_STRING_get_bit(ku, i) != 0) !=
		    ((bits & (1 << i)) != 0)) {
			rc = LINT("keyUsage must be exactly %s", want);
			break;
		}
	}
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/* A leaf's keyUsage: the tables' encoding of exactly those bits. */
static int lint_leaf_key_usage(const x509i_hier *h, X509 *cert,
			       X509_EXTENSION *ext, jpki_err *err)
{
	bool sign = h->kind == JPKI_CERT_SIGN;
	int rc;
	if (ASN1_STRING_cmp(X509_EXTENSION_get_data(ext),
			    X509_EXTENSION_get_data(h->ku)) == 0)
		return 0;
	if ((rc = lint_key_usage(
		 cert,
		 sign ? X509I_KU_DIGSIG | X509I_KU_NONREP : X509I_KU_DIGSIG,
		 sign ? "digitalSignature, nonRepudiation" : "digitalSignature",
		 err)) != 0)
		return rc;
	return not_der("keyUsage", err);
}

static int lint_ski_slow(X509 *cert, jpki_err *err)
{
	ASN1_OCTET_STRING *ski =
	    X509_get_ext_d2i(cert, NID_subject_key_identifier, NULL, NULL);
	unsigned char id[20];
	int rc;
	if (ski == NULL) {
		ERR_clear_error();
		return LINT("malformed subjectKeyIdentifier");
	}
	if ((rc = x509i_key_id(cert, id, err)) == 0 &&
	    (ASN1_STRING_length(ski) != (int)sizeof(id) ||
	     memcmp(ASN1_STRING_get0_data(ski), id, sizeof(id)) != 0))
		rc = LINT("subjectKeyIdentifier must be the SHA-1 of the "
			  "public key (RFC 5280 4.2.1.2 method 1)");
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

static int lint_ski(X509 *cert, X509_EXTENSION *ext, jpki_err *err)
{
	uint8_t der[22] = {X509I_TAG_OCTETS, 20};
	int rc = x509i_key_id(cert, der + 2, err);
	if (rc != 0 || value_is(ext, der, sizeof(der)))
		return rc;
	if ((rc = lint_ski_slow(cert, err)) != 0)
		return rc;
	return not_der("subjectKeyIdentifier", err);
}

static int lint_aki_slow(X509 *cert, jpki_err *err)
{
	AUTHORITY_KEYID *akid =
	    X509_get_ext_d2i(cert, NID_authority_key_identifier, NULL, NULL);
	int rc = 0;
	if (akid == NULL) {
		ERR_clear_error();
		return LINT("malformed authorityKeyIdentifier");
	}
	if (akid->keyid == NULL || ASN1_STRING_length(akid->keyid) == 0 ||
	    akid->issuer != NULL || akid->serial != NULL)
		rc = LINT("authorityKeyIdentifier must hold the issuer's key "
			  "identifier only (RFC 5280 4.2.1.1)");
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int lint_aki(X509 *cert, X509_EXTENSION *ext, jpki_err *err)
{
	/* SEQUENCE { keyIdentifier [0] non-empty }, nothing else */
	jpki_rbuf r;
	jpki_rbuf seq;
	jpki_rbuf id;
	int rc;
	value_of(ext, &r);
	if (x509i_tlv(&r, X509I_TAG_SEQ, &seq) == 0 && jpki_rbuf_end(&r) == 0 &&
	    x509i_tlv(&seq, X509I_TAG_CTX0, &id) == 0 && id.len > 0 &&
	    jpki_rbuf_end(&seq) == 0)
		return 0;
	if ((rc = lint_aki_slow(cert, err)) != 0)
		return rc;
	return not_der("authorityKeyIdentifier", err);
}

/* The one fullName DirName of the only distribution point. */
static int crldp_dirname(X509 *cert, X509_NAME **out, jpki_err *err)
{
	CRL_DIST_POINTS *dps =
	    X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	int rc = 0;
	if (dps == NULL) {
		ERR_clear_error();
		return LINT("malformed cRLDistributionPoints");
	}
	DIST_POINT *dp =
	    sk_DIST_POINT_num(dps) == 1 ? sk_DIST_POINT_value(dps, 0) : NULL;
	if (dp == NULL || dp->reasons != NULL || dp->CRLissuer != NULL ||
	    dp->distpoint == NULL || dp->distpoint->type != 0 ||
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) != 1 ||
	    sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0)->type !=
		GEN_DIRNAME) {
		rc = LINT("cRLDistributionPoints must be one distribution "
			  "point with one directoryName (spec 1.1-1.3)");
		goto out;
	}
	X509_NAME *n = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0)
			   ->d.directoryName;
	if ((*out = X509_NAME_dup(n)) == NULL)
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
out:
	CRL_DIST_POINTS_free(dps);
	return rc;
}

/* Value of entry i as a NUL-terminated string of at most cap-1 bytes. */
static bool entry_text(const X509_NAME *n, int i, int nid, int type, char *buf,
		       size_t cap)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
	if (e == NULL || OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != nid ||
	    X509_NAME_ENTRY_set(e) != i)
		return false;
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
	int len = ASN1_STRING_length(v);
	if (ASN1_STRING_type(v) != type || len < 0 || (size_t)len >= cap)
		return false;
	memcpy(buf, ASN1_STRING_get0_data(v), (size_t)len);
	buf[len] = '\0';
	return memchr(buf, '\0', (size_t)len) == NULL;
}

/* The distribution point of a leaf: the hierarchy's partition DirName
 * C, O, OU=<hierarchy>, OU=CRL Distribution Points, OU=<pref>, CN=<city>
 * CRLDP.  For the signature certificate pref and city are the subject's
 * L values; for the authentication certificate they are read back. */
static int lint_leaf_crldp_slow(jpki_profile prof, jpki_cert_kind kind,
				X509 *cert, const jpki_issuer_site *subj_site,
				jpki_err *err)
{
	X509_NAME *dp = NULL;
	X509_NAME *want = NULL;
	jpki_issuer_site site;
	char cn[X509I_UB_COMMON_NAME + 1];
	size_t sfx = strlen(x509i_crldp_cn_suffix);
	int rc;
	memset(&site, 0, sizeof(site));
	if ((rc = crldp_dirname(cert, &dp, err)) != 0)
		goto out;
	if (X509_NAME_entry_count(dp) != 6 ||
	    !entry_text(dp, 4, NID_organizationalUnitName, V_ASN1_UTF8STRING,
			site.pref_roman, sizeof(site.pref_roman)) ||
	    !entry_text(dp, 5, NID_commonName, V_ASN1_UTF8STRING, cn,
			sizeof(cn)) ||
	    strlen(cn) <= sfx ||
	    strcmp(cn + strlen(cn) - sfx, x509i_crldp_cn_suffix) != 0) {
		rc = LINT("cRLDistributionPoints must name the "
			  "municipality's partition (C, O, OU, OU=CRL "
			  "Distribution Points, OU=<prefecture>, "
			  "CN=<municipality> CRLDP)");
		goto out;
	}
	memcpy(site.city_roman, cn, strlen(cn) - sfx);
	if (subj_site != NULL &&
	    (strcmp(site.pref_roman, subj_site->pref_roman) != 0 ||
	     strcmp(site.city_roman, subj_site->city_roman) != 0)) {
		rc = LINT("cRLDistributionPoints partition %s / %s is not "
			  "the subject's L= %s / %s",
			  site.pref_roman, site.city_roman,
			  subj_site->pref_roman, subj_site->city_roman);
		goto out;
	}
	if ((rc = x509_crldp_name(prof, kind, &site, &want, err)) != 0) {
		rc = as_lint(rc, err, "cRLDistributionPoints");
		goto out;
	}
	if (!x509i_name_der_eq(dp, want))
		rc = LINT("cRLDistributionPoints is not the %s %s partition "
			  "name",
			  jpki_profile_name(prof), jpki_cert_kind_name(kind));
out:
	X509_NAME_free(dp);
	X509_NAME_free(want);
	return rc;
}

/* The value of the single-valued RDN r as a string of at most cap-1
 * bytes (UTF8String, as the partition names are written). */
static bool rdn_text(jpki_rbuf *r, char *buf, size_t cap)
{
	jpki_rbuf seq;
	jpki_rbuf oid;
	jpki_rbuf v;
	if (x509i_tlv(r, X509I_TAG_SEQ, &seq) != 0 ||
	    x509i_tlv(&seq, X509I_TAG_OID, &oid) != 0 ||
	    x509i_tlv(&seq, X509I_TAG_UTF8, &v) != 0 || v.len >= cap ||
	    memchr(v.p, '\0', v.len) != NULL)
		return false;
	memcpy(buf, v.p, v.len);
	buf[v.len] = '\0';
	return true;
}

/* pref and city as a partition DirName written by x509i_crldp_der holds
 * them.  Nothing else is checked: the caller compares the whole value
 * with the encoding of the name they give. */
static bool crldp_site(X509_EXTENSION *ext, jpki_issuer_site *site)
{
	jpki_rbuf r;
	jpki_rbuf t[6];
	jpki_rbuf rdn[6];
	char cn[X509I_UB_COMMON_NAME + 1];
	size_t sfx = strlen(x509i_crldp_cn_suffix);
	int n = 0;
	value_of(ext, &r);
	if (x509i_tlv(&r, X509I_TAG_SEQ, &t[0]) != 0 ||
	    x509i_tlv(&t[0], X509I_TAG_SEQ, &t[1]) != 0 ||
	    x509i_tlv(&t[1], X509I_TAG_CTX0_CONS, &t[2]) != 0 ||
	    x509i_tlv(&t[2], X509I_TAG_CTX0_CONS, &t[3]) != 0 ||
	    x509i_tlv(&t[3], X509I_TAG_CTX4_CONS, &t[4]) != 0 ||
	    x509i_tlv(&t[4], X509I_TAG_SEQ, &t[5]) != 0)
		return false;
	while (jpki_rbuf_left(&t[5]) > 0) {
		if (n == 6 || x509i_tlv(&t[5], X509I_TAG_SET, &rdn[n]) != 0)
			return false;
		n++;
	}
	if (n != 6 ||
	    !rdn_text(&rdn[4], site->pref_roman, sizeof(site->pref_roman)) ||
	    !rdn_text(&rdn[5], cn, sizeof(cn)) || strlen(cn) <= sfx ||
	    strlen(cn) - sfx >= sizeof(site->city_roman) ||
	    strcmp(cn + strlen(cn) - sfx, x509i_crldp_cn_suffix) != 0)
		return false;
	memcpy(site->city_roman, cn, strlen(cn) - sfx);
	site->city_roman[strlen(cn) - sfx] = '\0';
	return true;
}

static int lint_leaf_crldp(const x509i_hier *h, X509 *cert, X509_EXTENSION *ext,
			   const jpki_issuer_site *subj_site, jpki_err *err)
{
	jpki_issuer_site site;
	uint8_t buf[X509I_CRLDP_DER_MAX];
	const uint8_t *der = NULL;
	size_t len = 0;
	int rc;
	memset(&site, 0, sizeof(site));
	if (subj_site != NULL)
		site = *subj_site;
	if ((subj_site != NULL || crldp_site(ext, &site)) &&
	    x509i_site_check(&site, false, NULL) == 0 &&
	    x509i_crldp_der(h, &site, buf, sizeof(buf), &der, &len, NULL) ==
		0 &&
	    value_is(ext, der, len))
		return 0;
	if ((rc = lint_leaf_crldp_slow(h->prof, h->kind, cert, subj_site,
				       err)) != 0)
		return rc;
	return not_der("cRLDistributionPoints", err);
}

static int lint_policy(jpki_profile prof, jpki_cert_kind kind, X509 *cert,
		       jpki_err *err)
{
	CERTIFICATEPOLICIES *cp =
	    X509_get_ext_d2i(cert, NID_certificate_policies, NULL, NULL);
	const char *want = x509i_policy_oid(prof, kind);
	const char *uri = x509i_cps_uri(prof);
	char got[80];
	int rc = 0;
	if (cp == NULL) {
		ERR_clear_error();
		return LINT("malformed certificatePolicies");
	}
	if (sk_POLICYINFO_num(cp) != 1) {
		rc = LINT("certificatePolicies must hold exactly one policy");
		goto out;
	}
	POLICYINFO *pi = sk_POLICYINFO_value(cp, 0);
	if (!x509i_obj_is(pi->policyid, want)) {
		OBJ_obj2txt(got, sizeof(got), pi->policyid, 1);
		rc = LINT("certificate policy %s is not the %s profile's %s "
			  "policy %s",
			  got, jpki_profile_name(prof),
			  jpki_cert_kind_name(kind), want);
		goto out;
	}
	POLICYQUALINFO *q = sk_POLICYQUALINFO_num(pi->qualifiers) == 1
				? sk_POLICYQUALINFO_value(pi->qualifiers, 0)
				: NULL;
	if (q == NULL || OBJ_obj2nid(q->pqualid) != NID_id_qt_cps ||
	    ASN1_STRING_length(q->d.cpsuri) != (int)strlen(uri) ||
	    memcmp(ASN1_STRING_get0_data(q->d.cpsuri), uri, strlen(uri)) != 0)
		rc = LINT("certificatePolicies must carry the %s profile's CPS "
			  "qualifier %s",
			  jpki_profile_name(prof), uri);
out:
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

static int lint_leaf_policy(const x509i_hier *h, X509 *cert,
			    X509_EXTENSION *ext, jpki_err *err)
{
	int rc;
	if (ASN1_STRING_cmp(X509_EXTENSION_get_data(ext),
			    X509_EXTENSION_get_data(h->cp)) == 0)
		return 0;
	if ((rc = lint_policy(h->prof, h->kind, cert, err)) != 0)
		return rc;
	return not_der("certificatePolicies", err);
}

static int lint_substitute(const char *val, const char *subst, const char *what,
			   jpki_err *err)
{
	char want[JPKI_B4_ADDR_MAX * 2];
	bool needed = false;
	int rc;
	if ((rc = x509_substitute(val, want, sizeof(want), &needed, err)) != 0)
		return as_lint(rc, err, what);
	if (strcmp(want, subst) != 0)
		return LINT("%s substitute must be \"%s\"", what, want);
	return 0;
}

/* What the six values must be (spec 1.2). */
static int lint_basic4_values(const jpki_basic4 *b, jpki_err *err)
{
	jpki_date birth;
	int era = 0;
	int rc;
	if (b->name[0] == '\0' || b->address[0] == '\0')
		return LINT("subjectAltName name and address must not be "
			    "empty");
	if (strcmp(b->sex, "1") != 0 && strcmp(b->sex, "2") != 0)
		return LINT("subjectAltName sex must be \"1\" or \"2\"");
	if (rules_era_date_parse(b->birth, &birth, &era, NULL) != 0)
		return LINT("subjectAltName date of birth \"%s\" is not "
			    "EYYYYMMDD",
			    b->birth);
	if ((rc = lint_substitute(b->name, b->name_subst, "name", err)) != 0 ||
	    (rc = lint_substitute(b->address, b->address_subst, "address",
				  err)) != 0)
		return rc;
	return 0;
}

static int lint_basic4_slow(X509 *cert, jpki_err *err)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	jpki_basic4 b;
	unsigned seen = 0;
	unsigned utf8 = 0;
	int foreign = 0;
	int rc;
	memset(&b, 0, sizeof(b));
	if (gens == NULL) {
		ERR_clear_error();
		return LINT("malformed subjectAltName");
	}
	if ((rc = x509i_basic4_read(gens, &b, &seen, &utf8, &foreign, err)) !=
	    0) {
		rc = as_lint(rc, err, "subjectAltName");
		goto out;
	}
	if (seen != X509I_B4_ALL || utf8 != X509I_B4_ALL || foreign != 0) {
		rc = LINT("subjectAltName must be exactly the six basic-4 "
			  "otherNames as UTF8String (spec 1.2)");
		goto out;
	}
	rc = lint_basic4_values(&b, err);
out:
	OPENSSL_cleanse(&b, sizeof(b));
	GENERAL_NAMES_free(gens);
	return rc;
}

static int lint_basic4(X509 *cert, X509_EXTENSION *ext, jpki_err *err)
{
	jpki_rbuf r;
	jpki_basic4 b;
	int rc;
	value_of(ext, &r);
	if (x509i_basic4_parse(r.p, r.len, &b) == 0) {
		rc = lint_basic4_values(&b, err);
		OPENSSL_cleanse(&b, sizeof(b));
		return rc;
	}
	if ((rc = lint_basic4_slow(cert, err)) != 0)
		return rc;
	/* Hitachi's parser expects exactly six values (docs/decisions.md) */
	return LINT("subjectAltName must be the six basic-4 otherNames in OID "
		    "order as UTF8String, DER-encoded (spec 1.2)");
}

/* CN=YYYYMMDDhhmmss (JST) + 5-digit sequence + 9-character window id. */
static bool sign_cn_ok(const char *cn)
{
	int v[6] = {0};
	static const int w[6] = {4, 2, 2, 2, 2, 2};
	const char *p = cn;
	if (strlen(cn) != 28)
		return false;
	for (int i = 0; i < 19; i++)
		if (cn[i] < '0' || cn[i] > '9')
			return false;
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < w[i]; k++)
			v[i] = v[i] * 10 + (*p++ - '0');
	jpki_date d = {v[0], v[1], v[2]};
	return jpki_date_valid(d) && v[3] < 24 && v[4] < 60 && v[5] < 60 &&
	       x509i_ascii_ok(cn + 19, 9, 9, false);
}

static int lint_subject(jpki_cert_kind kind, X509 *cert, jpki_issuer_site *site,
			jpki_err *err)
{
	const X509_NAME *n = X509_get_subject_name(cert);
	int cnt = X509_NAME_entry_count(n);
	int want = kind == JPKI_CERT_SIGN ? 4 : 2;
	char cn[X509I_UB_COMMON_NAME + 1];
	char c[3];
	if (kind == JPKI_CERT_AUTH &&
	    X509_NAME_get_index_by_NID(n, NID_localityName, -1) >= 0)
		return LINT("authentication certificate subject must not "
			    "carry L= (no personal data, spec 1.3)");
	const X509_NAME_ENTRY *last = X509_NAME_get_entry(n, cnt - 1);
	if (last != NULL &&
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(last)) == NID_commonName) {
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(last);
		size_t chars = utf8_chars(ASN1_STRING_get0_data(v),
					  (size_t)ASN1_STRING_length(v));
		if (chars > X509I_UB_COMMON_NAME)
			return LINT("subject CN has %zu characters, over "
				    "ub-common-name %d (RFC 5280 Appendix A)",
				    chars, X509I_UB_COMMON_NAME);
	}
	if (cnt != want ||
	    !entry_text(n, 0, NID_countryName, V_ASN1_PRINTABLESTRING, c,
			sizeof(c)) ||
	    strcmp(c, "JP") != 0)
		return LINT("subject must be %s with C=JP as a "
			    "PrintableString",
			    kind == JPKI_CERT_SIGN ? "C, L, L, CN" : "C, CN");
	if (kind == JPKI_CERT_SIGN &&
	    (!entry_text(n, 1, NID_localityName, V_ASN1_UTF8STRING,
			 site->pref_roman, sizeof(site->pref_roman)) ||
	     !entry_text(n, 2, NID_localityName, V_ASN1_UTF8STRING,
			 site->city_roman, sizeof(site->city_roman)) ||
	     !x509i_ascii_ok(site->pref_roman, 1, X509I_UB_LOCALITY_NAME,
			     true) ||
	     !x509i_ascii_ok(site->city_roman, 1, X509I_UB_LOCALITY_NAME,
			     true)))
		return LINT("subject L= must be the romanised prefecture and "
			    "municipality as UTF8String (spec 1.2)");
	if (!entry_text(n, want - 1, NID_commonName, V_ASN1_UTF8STRING, cn,
			sizeof(cn)))
		return LINT("subject must end with CN as a UTF8String");
	if (kind == JPKI_CERT_SIGN && !sign_cn_ok(cn))
		return LINT("subject CN must be YYYYMMDDhhmmss, a 5-digit "
			    "sequence and a 9-character window id (spec 1.2)");
	if (kind == JPKI_CERT_AUTH &&
	    !x509i_ascii_ok(cn, 1, X509I_UB_COMMON_NAME, false))
		return LINT("subject CN must be an opaque id of printable "
			    "ASCII (spec 1.3)");
	return 0;
}

static int lint_common(X509 *cert, bool root, jpki_err *err)
{
	int rc;
	if (X509_get_version(cert) != X509_VERSION_3)
		return LINT("certificate must be v3 (RFC 5280 4.1.2.1)");
	if ((rc = lint_key(cert, err)) != 0 ||
	    (rc = lint_serial(cert, err)) != 0 ||
	    (rc = lint_sigalg(cert, err)) != 0 ||
	    (rc = lint_validity(cert, root, err)) != 0)
		return rc;
	return 0;
}

static int lint_root_altname(jpki_profile prof, jpki_cert_kind kind, X509 *cert,
			     jpki_err *err)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	X509_NAME *want = NULL;
	int rc;
	if (gens == NULL) {
		ERR_clear_error();
		return LINT("malformed subjectAltName");
	}
	if ((rc = x509i_root_altname(prof, kind, &want, err)) != 0)
		goto out;
	if (sk_GENERAL_NAME_num(gens) != 1 ||
	    sk_GENERAL_NAME_value(gens, 0)->type != GEN_DIRNAME ||
	    !x509i_name_der_eq(sk_GENERAL_NAME_value(gens, 0)->d.directoryName,
			       want))
		rc = LINT("root subjectAltName must be the %s %s Japanese "
			  "DirName",
			  jpki_profile_name(prof), jpki_cert_kind_name(kind));
out:
	X509_NAME_free(want);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int lint_root_bc_dp(X509 *cert, const X509_NAME *dn, jpki_err *err)
{
	BASIC_CONSTRAINTS *bc =
	    X509_get_ext_d2i(cert, NID_basic_constraints, NULL, NULL);
	X509_NAME *dp = NULL;
	int rc = 0;
	if (bc == NULL) {
		ERR_clear_error();
		return LINT("malformed basicConstraints");
	}
	if (!bc->ca || bc->pathlen != NULL) {
		rc = LINT("basicConstraints must be CA:TRUE without "
			  "pathLenConstraint (J-LIS roots)");
		goto out;
	}
	if ((rc = crldp_dirname(cert, &dp, err)) != 0)
		goto out;
	if (!x509i_name_der_eq(dp, dn))
		rc = LINT("root cRLDistributionPoints must be its own DN "
			  "(the ARL, J-LIS roots)");
out:
	X509_NAME_free(dp);
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

int x509_lint_root(jpki_profile prof, jpki_cert_kind kind, X509 *cert,
		   jpki_err *err)
{
	X509_NAME *dn = NULL;
	X509_EXTENSION *found[EXT_RULES_MAX] = {NULL};
	int rc;
	if (cert == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL, "lint: bad argument");
	if ((rc = lint_common(cert, true, err)) != 0 ||
	    (rc = x509_root_name(prof, kind, &dn, err)) != 0)
		goto out;
	if (!x509i_name_der_eq(X509_get_subject_name(cert), dn) ||
	    !x509i_name_der_eq(X509_get_issuer_name(cert), dn)) {
		rc = LINT("root subject and issuer must be the %s %s root DN "
			  "(C, O, OU, OU with the J-LIS string types)",
			  jpki_profile_name(prof), jpki_cert_kind_name(kind));
		goto out;
	}
	if ((rc = lint_ext_set(cert, root_exts,
			       sizeof(root_exts) / sizeof(root_exts[0]), true,
			       false, found, err)) != 0 ||
	    (rc = lint_key_usage(cert, X509I_KU_CERTSIGN | X509I_KU_CRLSIGN,
				 "keyCertSign, cRLSign", err)) != 0 ||
	    (rc = lint_root_altname(prof, kind, cert, err)) != 0 ||
	    (rc = lint_root_bc_dp(cert, dn, err)) != 0 ||
	    (rc = lint_ski_slow(cert, err)) != 0)
		goto out;
out:
	X509_NAME_free(dn);
	return rc;
}

int x509_lint_leaf(jpki_profile prof, jpki_cert_kind kind, X509 *cert,
		   jpki_err *err)
{
	const x509i_hier *h = NULL;
	X509_EXTENSION *found[EXT_RULES_MAX] = {NULL};
	jpki_issuer_site site;
	bool sign = kind == JPKI_CERT_SIGN;
	const struct ext_rule *rules = sign ? sign_exts : auth_exts;
	size_t n = sign ? sizeof(sign_exts) / sizeof(sign_exts[0])
			: sizeof(auth_exts) / sizeof(auth_exts[0]);
	int rc;
	if (cert == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL, "lint: bad argument");
	memset(&site, 0, sizeof(site));
	if ((rc = x509i_hier_get(prof, kind, &h, err)) != 0 ||
	    (rc = lint_common(cert, false, err)) != 0)
		return rc;
	if (!x509i_name_is(X509_get_issuer_name(cert), h->root_dn,
			   h->root_dn_len))
		return LINT("issuer must be the %s %s root DN",
			    jpki_profile_name(prof), jpki_cert_kind_name(kind));
	if ((rc = lint_subject(kind, cert, &site, err)) != 0 ||
	    (rc = lint_ext_set(cert, rules, n, false, !sign, found, err)) != 0)
		return rc;
	X509_EXTENSION *ku = ext_of(rules, n, found, NID_key_usage);
	X509_EXTENSION *cp = ext_of(rules, n, found, NID_certificate_policies);
	X509_EXTENSION *san = ext_of(rules, n, found, NID_subject_alt_name);
	X509_EXTENSION *dp =
	    ext_of(rules, n, found, NID_crl_distribution_points);
	X509_EXTENSION *aki =
	    ext_of(rules, n, found, NID_authority_key_identifier);
	X509_EXTENSION *ski =
	    ext_of(rules, n, found, NID_subject_key_identifier);
	if ((rc = lint_leaf_key_usage(h, cert, ku, err)) != 0 ||
	    (rc = lint_leaf_policy(h, cert, cp, err)) != 0 ||
	    (sign && (rc = lint_basic4(cert, san, err)) != 0) ||
	    (rc = lint_leaf_crldp(h, cert, dp, sign ? &site : NULL, err)) !=
		0 ||
	    (rc = lint_aki(cert, aki, err)) != 0 ||
	    (rc = lint_ski(cert, ski, err)) != 0)
		return rc;
	return 0;
}
