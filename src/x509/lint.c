/* Profile lints, run by ca/ before every signature: a certificate is
 * signed only when it is exactly what the profile says (spec §1; RFC 5280).
 * The first problem found is reported with JPKI_ERR_LINT (JPKI_ERR_KEY for
 * the key), naming the rule it breaks.
 *
 * There is one lint, on TBSCertificate bytes read with the bounded reader:
 * the DER path's own (x509_lint_leaf_tbs, bytes that may come from
 * anywhere), or the TBSCertificate an OpenSSL object encodes to
 * (x509_lint_leaf, x509_lint_root).  Leaf extensions are checked by their
 * bytes: each must be exactly the DER the profile gives for the values the
 * certificate carries (the constant ones as tables.c encoded them with
 * OpenSSL, the others re-encoded from the values read out of the
 * certificate itself, the AKI from the issuer when there is one).  Only
 * when a value differs do the structural checks run, OpenSSL's decoders on
 * that value's bytes, to say what is wrong; the byte comparison refuses
 * non-DER encodings besides. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "x509_int.h"

#define LINT(...) jpki_fail(err, JPKI_ERR_LINT, __VA_ARGS__)

/* What an OpenSSL object may encode to here (der.c's certificate limit). */
#define OBJECT_TBS_MAX (64 * 1024)

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
/* The leaves, in the order the builders write. */
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
#define NRULES(r) (sizeof(r) / sizeof((r)[0]))
#define EXT_RULES_MAX 8

/* A TBSCertificate (RFC 5280 4.1) split into its fields, each a slice of
 * the bytes being linted. */
typedef struct tbs_view {
	bool has_version;
	jpki_rbuf version; /* [0] content: the INTEGER */
	jpki_rbuf serial;  /* INTEGER content */
	jpki_rbuf sigalg;  /* AlgorithmIdentifier TLV */
	jpki_rbuf issuer;  /* Name TLV */
	uint8_t nb_tag;
	uint8_t na_tag;
	jpki_rbuf nb; /* Time contents */
	jpki_rbuf na;
	jpki_rbuf subject;    /* Name TLV */
	jpki_rbuf subject_in; /* its RDNs */
	jpki_rbuf spki;	      /* SubjectPublicKeyInfo TLV */
	bool uids;	      /* issuerUniqueID or subjectUniqueID */
	jpki_rbuf exts;	      /* Extensions content, empty when absent */
	jpki_rbuf key;	      /* subjectPublicKey, once lint_common ran */
} tbs_view;

/* One Extension (RFC 5280 4.1.2.9). */
typedef struct ext_view {
	int nid; /* NID_undef for extensions the profiles do not use */
	bool critical;
	bool crit_der;	 /* TRUE as 0xff, FALSE left out (X.690 11.1, 11.5) */
	jpki_rbuf oid;	 /* extnID TLV */
	jpki_rbuf value; /* extnValue content */
} ext_view;

static int malformed(const char *what, jpki_err *err)
{
	return jpki_fail(err, JPKI_ERR_PARSE,
			 "malformed TBSCertificate: %s (RFC 5280 4.1)", what);
}

static bool next_is(const jpki_rbuf *r, uint8_t tag)
{
	return jpki_rbuf_left(r) > 0 && r->p[r->off] == tag;
}

static int tbs_split(const uint8_t *der, size_t len, size_t max, tbs_view *v,
		     jpki_err *err)
{
	jpki_rbuf r;
	jpki_rbuf t;
	jpki_rbuf val;
	jpki_rbuf ex;
	jpki_rbuf tmp;
	uint8_t tag = 0;
	memset(v, 0, sizeof(*v));
	if (len > max)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "TBSCertificate of %zu bytes, at most %zu",
				 len, max);
	jpki_rbuf_init(&r, der, len);
	if (jpki_der_get(&r, X509I_TAG_SEQ, &t) != 0)
		return malformed("not one DER SEQUENCE", err);
	if (jpki_rbuf_end(&r) != 0)
		return malformed("data after its end", err);
	if (next_is(&t, X509I_TAG_CTX0_CONS)) {
		if (jpki_der_get(&t, X509I_TAG_CTX0_CONS, &v->version) != 0)
			return malformed("version", err);
		v->has_version = true;
	}
	if (jpki_der_get(&t, X509I_TAG_INT, &v->serial) != 0)
		return malformed("serialNumber", err);
	if (jpki_der_get_whole(&t, X509I_TAG_SEQ, &tmp, &v->sigalg) != 0)
		return malformed("signature", err);
	if (jpki_der_get_whole(&t, X509I_TAG_SEQ, &tmp, &v->issuer) != 0)
		return malformed("issuer", err);
	if (jpki_der_get(&t, X509I_TAG_SEQ, &val) != 0 ||
	    jpki_der_any(&val, &v->nb_tag, &v->nb) != 0 ||
	    jpki_der_any(&val, &v->na_tag, &v->na) != 0 ||
	    jpki_rbuf_end(&val) != 0)
		return malformed("validity", err);
	if (jpki_der_get_whole(&t, X509I_TAG_SEQ, &v->subject_in,
			       &v->subject) != 0)
		return malformed("subject", err);
	if (jpki_der_get_whole(&t, X509I_TAG_SEQ, &tmp, &v->spki) != 0)
		return malformed("subjectPublicKeyInfo", err);
	/* issuerUniqueID [1], subjectUniqueID [2] (4.1.2.8) */
	while (next_is(&t, 0x81) || next_is(&t, 0x82) || next_is(&t, 0xa1) ||
	       next_is(&t, 0xa2)) {
		if (jpki_der_any(&t, &tag, &tmp) != 0)
			return malformed("unique identifier", err);
		v->uids = true;
	}
	if (next_is(&t, X509I_TAG_CTX3_CONS) &&
	    (jpki_der_get(&t, X509I_TAG_CTX3_CONS, &ex) != 0 ||
	     jpki_der_get(&ex, X509I_TAG_SEQ, &v->exts) != 0 ||
	     jpki_rbuf_end(&ex) != 0))
		return malformed("extensions", err);
	if (jpki_rbuf_end(&t) != 0)
		return malformed("a field after the extensions", err);
	return 0;
}

static int ext_next(const x509i_tables *t, jpki_rbuf *exts, ext_view *e,
		    jpki_err *err)
{
	jpki_rbuf seq;
	jpki_rbuf oid;
	jpki_rbuf b;
	if (jpki_der_get(exts, X509I_TAG_SEQ, &seq) != 0 ||
	    jpki_der_get_whole(&seq, X509I_TAG_OID, &oid, &e->oid) != 0)
		return malformed("extension", err);
	e->critical = false;
	e->crit_der = true;
	if (next_is(&seq, X509I_TAG_BOOL)) {
		if (jpki_der_get(&seq, X509I_TAG_BOOL, &b) != 0 || b.len != 1)
			return malformed("extension", err);
		e->critical = b.p[0] != 0;
		e->crit_der = b.p[0] == 0xff;
	}
	if (jpki_der_get(&seq, X509I_TAG_OCTETS, &e->value) != 0 ||
	    jpki_rbuf_end(&seq) != 0)
		return malformed("extension", err);
	e->nid = x509i_ext_nid(t, oid.p, oid.len);
	return 0;
}

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

/* ---- the fields every certificate of the profile shares -------------- */

static int lint_version(const tbs_view *v, jpki_err *err)
{
	static const uint8_t v3[] = {X509I_TAG_INT, 1, 2};
	if (!v->has_version || !jpki_der_is(&v->version, v3, sizeof(v3)))
		return LINT("certificate must be v3 (RFC 5280 4.1.2.1)");
	return 0;
}

static int lint_serial(const jpki_rbuf *c, jpki_err *err)
{
	const uint8_t *d = c->p;
	bool zero = true;
	if (c->len == 0 || (d[0] & 0x80) != 0)
		return LINT(
		    "serial number must be positive (RFC 5280 4.1.2.2)");
	for (size_t i = 0; i < c->len; i++)
		zero = zero && d[i] == 0;
	if (zero)
		return LINT(
		    "serial number must be positive (RFC 5280 4.1.2.2)");
	if (c->len > 1 && d[0] == 0 && (d[1] & 0x80) == 0)
		return LINT("serial number is not a minimal DER INTEGER "
			    "(X.690 8.3.2)");
	/* the content holds the sign octet the 20 octets count */
	if (c->len > X509I_SERIAL_MAX)
		return LINT("serial number over 20 octets (RFC 5280 4.1.2.2)");
	return 0;
}

static int lint_sigalg(const x509i_tables *t, const jpki_rbuf *alg,
		       jpki_err *err)
{
	jpki_rbuf r = *alg;
	jpki_rbuf seq;
	jpki_rbuf oid;
	jpki_rbuf oid_tlv;
	char name[80];
	if (jpki_der_is(alg, t->sig_alg, t->sig_alg_len))
		return 0;
	if (jpki_der_get(&r, X509I_TAG_SEQ, &seq) != 0 ||
	    jpki_der_get_whole(&seq, X509I_TAG_OID, &oid, &oid_tlv) != 0)
		return LINT("signature algorithm must be "
			    "sha256WithRSAEncryption, not a malformed "
			    "AlgorithmIdentifier");
	if (x509i_oid_is(&t->sha256_rsa, oid.p, oid.len))
		return LINT("sha256WithRSAEncryption parameters must be NULL "
			    "(RFC 4055 section 5)");
	x509i_oid_text(&oid_tlv, true, name, sizeof(name));
	return LINT("signature algorithm must be sha256WithRSAEncryption, not "
		    "%s",
		    name);
}

static int lint_time_type(uint8_t tag, time_t v, const char *what,
			  jpki_err *err)
{
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after */
	jpki_date d = jpki_date_of(v - JPKI_JST_OFFSET);
	uint8_t want = d.y < 2050 ? X509I_TAG_UTCTIME : X509I_TAG_GENTIME;
	if (tag != want)
		return LINT("%s must be encoded as %s (RFC 5280 4.1.2.5)", what,
			    want == X509I_TAG_UTCTIME ? "UTCTime"
						      : "GeneralizedTime");
	return 0;
}

static int lint_validity(const tbs_view *v, bool root, jpki_err *err)
{
	time_t nb;
	time_t na;
	char s[21];
	int rc;
	if (x509i_time_parse(v->nb_tag, &v->nb, &nb) != 0 ||
	    x509i_time_parse(v->na_tag, &v->na, &na) != 0)
		return LINT("unreadable validity (RFC 5280 4.1.2.5)");
	if ((rc = lint_time_type(v->nb_tag, nb, "notBefore", err)) != 0 ||
	    (rc = lint_time_type(v->na_tag, na, "notAfter", err)) != 0)
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

/* Version, key (v->key set), serial, signature algorithm, validity. */
static int lint_common(const x509i_tables *t, tbs_view *v, bool root,
		       jpki_err *err)
{
	int rc;
	if ((rc = lint_version(v, err)) != 0 ||
	    (rc = x509i_check_spki(&v->spki, &v->key, err)) != 0 ||
	    (rc = lint_serial(&v->serial, err)) != 0 ||
	    (rc = lint_sigalg(t, &v->sigalg, err)) != 0 ||
	    (rc = lint_validity(v, root, err)) != 0)
		return rc;
	/* RFC 5280 4.1.2.8: CAs conforming to this profile MUST NOT
	 * generate certificates with unique identifiers */
	if (v->uids)
		return LINT("certificate must not carry unique identifiers "
			    "(RFC 5280 4.1.2.8)");
	return 0;
}

/* ---- extensions --------------------------------------------------------- */

/* Checks the set and criticality of the extensions and points found[j]
 * at the one rules[j] names.  With `ordered` their order is checked too,
 * before anything else about them; otherwise *misplaced names the first
 * out of order, for the caller to report once the values passed. */
static int lint_ext_set(const x509i_tables *t, const jpki_rbuf *exts,
			const struct ext_rule *rules, size_t n, bool ordered,
			bool auth, ext_view found[EXT_RULES_MAX],
			int *misplaced, jpki_err *err)
{
	jpki_rbuf r = *exts;
	unsigned seen = 0;
	size_t pos = 0;
	char oid[80];
	int rc;
	*misplaced = NID_undef;
	while (jpki_rbuf_left(&r) > 0) {
		ext_view e;
		if ((rc = ext_next(t, &r, &e, err)) != 0)
			return rc;
		size_t j = 0;
		while (j < n && (e.nid == NID_undef || rules[j].nid != e.nid))
			j++;
		if (j == n && auth && e.nid == NID_subject_alt_name)
			return LINT("authentication certificate must not "
				    "carry subjectAltName (no personal data, "
				    "spec 1.3)");
		if (j == n) {
			x509i_oid_text(&e.oid, false, oid, sizeof(oid));
			return LINT("unexpected extension %s", oid);
		}
		if ((seen & (1u << j)) != 0)
			return LINT("extension %s appears twice "
				    "(RFC 5280 4.2)",
				    ext_name(e.nid));
		if (j != pos) {
			if (ordered)
				return LINT("extension %s out of the J-LIS "
					    "roots' order",
					    ext_name(e.nid));
			if (*misplaced == NID_undef)
				*misplaced = e.nid;
		}
		if (e.critical != rules[j].critical)
			return LINT(
			    "%s must %sbe critical (%s)", ext_name(e.nid),
			    rules[j].critical ? "" : "not ", rules[j].ref);
		if (!e.crit_der)
			return LINT("%s critical flag must be TRUE as 0xff or "
				    "left out (DER, X.690 11.1 and 11.5)",
				    ext_name(e.nid));
		seen |= 1u << j;
		found[j] = e;
		pos++;
	}
	for (size_t j = 0; j < n; j++)
		if ((seen & (1u << j)) == 0)
			return LINT("missing %s extension (%s)",
				    ext_name(rules[j].nid), rules[j].ref);
	return 0;
}

/* The extension lint_ext_set found for nid. */
static const jpki_rbuf *value_of(const struct ext_rule *rules, size_t n,
				 const ext_view found[EXT_RULES_MAX], int nid)
{
	for (size_t j = 0; j < n; j++)
		if (rules[j].nid == nid)
			return &found[j].value;
	return NULL;
}

/* The structural checks found nothing: what is left is the encoding. */
static int not_der(const char *what, jpki_err *err)
{
	return LINT("%s is not encoded as the profile's DER (X.690 section "
		    "10)",
		    what);
}

static int lint_key_usage(const jpki_rbuf *v, int bits, const char *want,
			  jpki_err *err)
{
	const unsigned char *p = v->p;
	ASN1_BIT_STRING *ku = d2i_ASN1_BIT_STRING(NULL, &p, (long)v->len);
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
static int lint_leaf_key_usage(const x509i_hier *h, const jpki_rbuf *v,
			       jpki_err *err)
{
	bool sign = h->kind == JPKI_CERT_SIGN;
	int rc;
	if (jpki_der_is(v, h->ku, h->ku_len))
		return 0;
	if ((rc = lint_key_usage(
		 v, sign ? X509I_KU_DIGSIG | X509I_KU_NONREP : X509I_KU_DIGSIG,
		 sign ? "digitalSignature, nonRepudiation" : "digitalSignature",
		 err)) != 0)
		return rc;
	return not_der("keyUsage", err);
}

/* The subjectKeyIdentifier of the key: with `exact`, as the builders
 * write it (OCTET STRING of 20 octets, DER). */
static int lint_ski(const jpki_rbuf *key, const jpki_rbuf *v, bool exact,
		    jpki_err *err)
{
	uint8_t der[22] = {X509I_TAG_OCTETS, 20};
	const unsigned char *p = v->p;
	int rc = x509i_sha1(key->p, key->len, der + 2, err);
	if (rc != 0 || jpki_der_is(v, der, sizeof(der)))
		return rc;
	ASN1_OCTET_STRING *ski = d2i_ASN1_OCTET_STRING(NULL, &p, (long)v->len);
	if (ski == NULL) {
		ERR_clear_error();
		return LINT("malformed subjectKeyIdentifier");
	}
	if (ASN1_STRING_length(ski) != 20 ||
	    memcmp(ASN1_STRING_get0_data(ski), der + 2, 20) != 0)
		rc = LINT("subjectKeyIdentifier must be the SHA-1 of the "
			  "public key (RFC 5280 4.2.1.2 method 1)");
	else if (exact)
		rc = not_der("subjectKeyIdentifier", err);
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

static int lint_aki_slow(const jpki_rbuf *v, jpki_err *err)
{
	const unsigned char *p = v->p;
	AUTHORITY_KEYID *akid = d2i_AUTHORITY_KEYID(NULL, &p, (long)v->len);
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

/* The authorityKeyIdentifier: SEQUENCE { keyIdentifier [0] non-empty },
 * nothing else; when the issuer is known (aki), exactly its value. */
static int lint_aki(const uint8_t *aki, size_t aki_len, const jpki_rbuf *v,
		    jpki_err *err)
{
	jpki_rbuf r = *v;
	jpki_rbuf seq;
	jpki_rbuf id;
	int rc;
	if (aki != NULL && jpki_der_is(v, aki, aki_len))
		return 0;
	if (jpki_der_get(&r, X509I_TAG_SEQ, &seq) == 0 &&
	    jpki_rbuf_end(&r) == 0 &&
	    jpki_der_get(&seq, X509I_TAG_CTX0, &id) == 0 && id.len > 0 &&
	    jpki_rbuf_end(&seq) == 0) {
		if (aki == NULL)
			return 0;
		return LINT("authorityKeyIdentifier is not the issuer's "
			    "subjectKeyIdentifier (RFC 5280 4.2.1.1)");
	}
	if ((rc = lint_aki_slow(v, err)) != 0)
		return rc;
	return not_der("authorityKeyIdentifier", err);
}

/* The one fullName DirName of the only distribution point. */
static int crldp_dirname(const jpki_rbuf *v, X509_NAME **out, jpki_err *err)
{
	const unsigned char *p = v->p;
	CRL_DIST_POINTS *dps = d2i_CRL_DIST_POINTS(NULL, &p, (long)v->len);
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
				const jpki_rbuf *v,
				const jpki_issuer_site *subj_site,
				jpki_err *err)
{
	X509_NAME *dp = NULL;
	X509_NAME *want = NULL;
	jpki_issuer_site site;
	char cn[X509I_UB_COMMON_NAME + 1];
	size_t sfx = strlen(x509i_crldp_cn_suffix);
	int rc;
	memset(&site, 0, sizeof(site));
	if ((rc = crldp_dirname(v, &dp, err)) != 0)
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
	if (jpki_der_get(r, X509I_TAG_SEQ, &seq) != 0 ||
	    jpki_der_get(&seq, X509I_TAG_OID, &oid) != 0 ||
	    jpki_der_get(&seq, X509I_TAG_UTF8, &v) != 0 || v.len >= cap ||
	    memchr(v.p, '\0', v.len) != NULL)
		return false;
	memcpy(buf, v.p, v.len);
	buf[v.len] = '\0';
	return true;
}

/* pref and city as a partition DirName written by x509i_put_crldp holds
 * them.  Nothing else is checked: the caller compares the whole value
 * with the encoding of the name they give. */
static bool crldp_site(const jpki_rbuf *v, jpki_issuer_site *site)
{
	jpki_rbuf r = *v;
	jpki_rbuf t[6];
	jpki_rbuf rdn[6];
	char cn[X509I_UB_COMMON_NAME + 1];
	size_t sfx = strlen(x509i_crldp_cn_suffix);
	int n = 0;
	if (jpki_der_get(&r, X509I_TAG_SEQ, &t[0]) != 0 ||
	    jpki_der_get(&t[0], X509I_TAG_SEQ, &t[1]) != 0 ||
	    jpki_der_get(&t[1], X509I_TAG_CTX0_CONS, &t[2]) != 0 ||
	    jpki_der_get(&t[2], X509I_TAG_CTX0_CONS, &t[3]) != 0 ||
	    jpki_der_get(&t[3], X509I_TAG_CTX4_CONS, &t[4]) != 0 ||
	    jpki_der_get(&t[4], X509I_TAG_SEQ, &t[5]) != 0)
		return false;
	while (jpki_rbuf_left(&t[5]) > 0) {
		if (n == 6 || jpki_der_get(&t[5], X509I_TAG_SET, &rdn[n]) != 0)
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

static int lint_leaf_crldp(const x509i_hier *h, const jpki_rbuf *v,
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
	if ((subj_site != NULL || crldp_site(v, &site)) &&
	    x509i_site_check(&site, false, NULL) == 0 &&
	    x509i_crldp_der(h, &site, buf, sizeof(buf), &der, &len, NULL) ==
		0 &&
	    jpki_der_is(v, der, len))
		return 0;
	if ((rc = lint_leaf_crldp_slow(h->prof, h->kind, v, subj_site, err)) !=
	    0)
		return rc;
	return not_der("cRLDistributionPoints", err);
}

static int lint_policy(jpki_profile prof, jpki_cert_kind kind,
		       const jpki_rbuf *v, jpki_err *err)
{
	const unsigned char *p = v->p;
	CERTIFICATEPOLICIES *cp =
	    d2i_CERTIFICATEPOLICIES(NULL, &p, (long)v->len);
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

static int lint_leaf_policy(const x509i_hier *h, const jpki_rbuf *v,
			    jpki_err *err)
{
	int rc;
	if (jpki_der_is(v, h->cp, h->cp_len))
		return 0;
	if ((rc = lint_policy(h->prof, h->kind, v, err)) != 0)
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

static int lint_basic4_slow(const jpki_rbuf *v, jpki_err *err)
{
	const unsigned char *p = v->p;
	GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, (long)v->len);
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

static int lint_basic4(const jpki_rbuf *v, jpki_err *err)
{
	jpki_basic4 b;
	int rc = x509i_basic4_parse(v->p, v->len, &b);
	if (rc == 0)
		rc = lint_basic4_values(&b, err);
	OPENSSL_cleanse(&b, sizeof(b));
	if (rc != JPKI_ERR_PARSE)
		return rc;
	if ((rc = lint_basic4_slow(v, err)) != 0)
		return rc;
	/* Hitachi's parser expects exactly six values (docs/decisions.md) */
	return LINT("subjectAltName must be the six basic-4 otherNames in OID "
		    "order as UTF8String, DER-encoded (spec 1.2)");
}

/* ---- subject ------------------------------------------------------------ */

/* One AttributeTypeAndValue of a Name, and the RDN it is in. */
typedef struct ava {
	jpki_rbuf type; /* OID content */
	uint8_t tag;	/* the value's string type */
	jpki_rbuf value;
	size_t rdn;
} ava;
#define NAME_AVAS 8
/* The first NAME_AVAS values of a Name, its last one and their count. */
typedef struct name_view {
	ava a[NAME_AVAS];
	size_t n;
	ava last;
	bool has_l;
} name_view;

static int name_split(const x509i_tables *t, const jpki_rbuf *rdns,
		      name_view *nv, jpki_err *err)
{
	jpki_rbuf r = *rdns;
	size_t rdn = 0;
	memset(nv, 0, sizeof(*nv));
	/* Name ::= SEQUENCE OF SET SIZE (1..MAX) OF AttributeTypeAndValue */
	for (; jpki_rbuf_left(&r) > 0; rdn++) {
		jpki_rbuf set;
		if (jpki_der_get(&r, X509I_TAG_SET, &set) != 0 ||
		    jpki_rbuf_left(&set) == 0)
			return malformed("subject", err);
		while (jpki_rbuf_left(&set) > 0) {
			jpki_rbuf atv;
			ava a;
			if (jpki_der_get(&set, X509I_TAG_SEQ, &atv) != 0 ||
			    jpki_der_get(&atv, X509I_TAG_OID, &a.type) != 0 ||
			    jpki_der_any(&atv, &a.tag, &a.value) != 0 ||
			    jpki_rbuf_end(&atv) != 0)
				return malformed("subject", err);
			a.rdn = rdn;
			if (x509i_oid_is(&t->at_l, a.type.p, a.type.len))
				nv->has_l = true;
			if (nv->n < NAME_AVAS)
				nv->a[nv->n] = a;
			nv->last = a;
			nv->n++;
		}
	}
	return 0;
}

/* Value i, alone in RDN i, of the given type and string type, as a
 * NUL-terminated string of at most cap-1 bytes. */
static bool ava_text(const name_view *nv, size_t i, const x509i_oid *type,
		     uint8_t tag, char *buf, size_t cap)
{
	if (i >= nv->n || i >= NAME_AVAS)
		return false;
	const ava *a = &nv->a[i];
	if (a->rdn != i || !x509i_oid_is(type, a->type.p, a->type.len) ||
	    a->tag != tag || a->value.len >= cap)
		return false;
	memcpy(buf, a->value.p, a->value.len);
	buf[a->value.len] = '\0';
	return memchr(buf, '\0', a->value.len) == NULL;
}

/* CN=YYYYMMDDhhmmss (JST) + 5-digit sequence + 9-character window id. */
static bool sign_cn_ok(const char *cn)
{
	int v[6] = {0};
	static const int w[6] = {4, 2, 2, 2, 2, 2};
	const char *p = cn;
	if (strlen(cn) != X509I_SIGN_CN_LEN)
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

static int lint_subject(const x509i_tables *t, jpki_cert_kind kind,
			const jpki_rbuf *rdns, jpki_issuer_site *site,
			jpki_err *err)
{
	name_view nv;
	size_t want = kind == JPKI_CERT_SIGN ? 4 : 2;
	char cn[X509I_UB_COMMON_NAME + 1];
	char c[3];
	int rc;
	if ((rc = name_split(t, rdns, &nv, err)) != 0)
		return rc;
	if (kind == JPKI_CERT_AUTH && nv.has_l)
		return LINT("authentication certificate subject must not "
			    "carry L= (no personal data, spec 1.3)");
	if (nv.n > 0 &&
	    x509i_oid_is(&t->at_cn, nv.last.type.p, nv.last.type.len)) {
		size_t chars = utf8_chars(nv.last.value.p, nv.last.value.len);
		if (chars > X509I_UB_COMMON_NAME)
			return LINT("subject CN has %zu characters, over "
				    "ub-common-name %d (RFC 5280 Appendix A)",
				    chars, X509I_UB_COMMON_NAME);
	}
	if (nv.n != want ||
	    !ava_text(&nv, 0, &t->at_c, X509I_TAG_PRINTABLE, c, sizeof(c)) ||
	    strcmp(c, "JP") != 0)
		return LINT("subject must be %s with C=JP as a "
			    "PrintableString",
			    kind == JPKI_CERT_SIGN ? "C, L, L, CN" : "C, CN");
	if (kind == JPKI_CERT_SIGN &&
	    (!ava_text(&nv, 1, &t->at_l, X509I_TAG_UTF8, site->pref_roman,
		       sizeof(site->pref_roman)) ||
	     !ava_text(&nv, 2, &t->at_l, X509I_TAG_UTF8, site->city_roman,
		       sizeof(site->city_roman)) ||
	     !x509i_ascii_ok(site->pref_roman, 1, X509I_UB_LOCALITY_NAME,
			     true) ||
	     !x509i_ascii_ok(site->city_roman, 1, X509I_UB_LOCALITY_NAME,
			     true)))
		return LINT("subject L= must be the romanised prefecture and "
			    "municipality as UTF8String (spec 1.2)");
	if (!ava_text(&nv, want - 1, &t->at_cn, X509I_TAG_UTF8, cn, sizeof(cn)))
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

/* ---- the lints ---------------------------------------------------------- */

/* The leaf lint of both entry points.  aki: the issuer's value, or NULL
 * when only the shape can be checked. */
static int lint_leaf(const x509i_hier *h, const uint8_t *aki, size_t aki_len,
		     const uint8_t *der, size_t len, size_t max, jpki_err *err)
{
	const x509i_tables *t = NULL;
	tbs_view v;
	ext_view found[EXT_RULES_MAX];
	jpki_issuer_site site;
	bool sign = h->kind == JPKI_CERT_SIGN;
	const struct ext_rule *rules = sign ? sign_exts : auth_exts;
	size_t n = sign ? NRULES(sign_exts) : NRULES(auth_exts);
	int misplaced = NID_undef;
	int rc;
	memset(&site, 0, sizeof(site));
	if ((rc = x509i_tables_get(&t, err)) != 0 ||
	    (rc = tbs_split(der, len, max, &v, err)) != 0 ||
	    (rc = lint_common(t, &v, false, err)) != 0)
		return rc;
	if (!jpki_der_is(&v.issuer, h->root_dn, h->root_dn_len))
		return LINT("issuer must be the %s %s root DN",
			    jpki_profile_name(h->prof),
			    jpki_cert_kind_name(h->kind));
	if ((rc = lint_subject(t, h->kind, &v.subject_in, &site, err)) != 0 ||
	    (rc = lint_ext_set(t, &v.exts, rules, n, false, !sign, found,
			       &misplaced, err)) != 0)
		return rc;
	if ((rc = lint_leaf_key_usage(
		 h, value_of(rules, n, found, NID_key_usage), err)) != 0 ||
	    (rc = lint_leaf_policy(
		 h, value_of(rules, n, found, NID_certificate_policies),
		 err)) != 0 ||
	    (sign &&
	     (rc = lint_basic4(value_of(rules, n, found, NID_subject_alt_name),
			       err)) != 0) ||
	    (rc = lint_leaf_crldp(
		 h, value_of(rules, n, found, NID_crl_distribution_points),
		 sign ? &site : NULL, err)) != 0 ||
	    (rc = lint_aki(
		 aki, aki_len,
		 value_of(rules, n, found, NID_authority_key_identifier),
		 err)) != 0 ||
	    (rc = lint_ski(
		 &v.key, value_of(rules, n, found, NID_subject_key_identifier),
		 true, err)) != 0)
		return rc;
	if (misplaced != NID_undef)
		return LINT("extension %s out of the %s certificate's order "
			    "(spec %s)",
			    ext_name(misplaced),
			    sign ? "signature" : "authentication",
			    sign ? "1.2" : "1.3");
	return 0;
}

/* Appends the DER of val (an it), under a header of `tag` when not 0. */
static int put_item_in(jpki_wbuf *b, uint8_t tag, const void *val,
		       const ASN1_ITEM *it)
{
	uint8_t hdr[X509I_HDR_MAX];
	unsigned char *d = NULL;
	int n =
	    val != NULL ? ASN1_item_i2d((const ASN1_VALUE *)val, &d, it) : -1;
	int rc = n > 0 ? 0 : JPKI_ERR_CRYPTO;
	if (rc == 0 && tag != 0)
		rc = jpki_wbuf_put(b, hdr, x509i_der_hdr(tag, (size_t)n, hdr));
	if (rc == 0)
		rc = jpki_wbuf_put(b, d, (size_t)n);
	OPENSSL_free(d);
	return rc;
}

static int put_item(jpki_wbuf *b, const void *val, const ASN1_ITEM *it)
{
	return put_item_in(b, 0, val, it);
}

static int put_hdr(jpki_wbuf *b, uint8_t tag, size_t len)
{
	uint8_t hdr[X509I_HDR_MAX];
	return jpki_wbuf_put(b, hdr, x509i_der_hdr(tag, len, hdr));
}

/* The DER of a unique identifier (a BIT STRING) under its [n] tag. */
static int put_uid(jpki_wbuf *b, const ASN1_BIT_STRING *uid, uint8_t tag)
{
	size_t at = b->len;
	int rc =
	    uid != NULL ? put_item(b, uid, ASN1_ITEM_rptr(ASN1_BIT_STRING)) : 0;
	if (rc == 0 && uid != NULL)
		b->p[at] = tag;
	return rc;
}

/* The TBSCertificate x encodes to, from its fields as they are now (not a
 * cached encoding, and without marking x modified): *der malloc'ed.  An
 * unsigned x has no signature algorithm yet; the one the CA signs with
 * (X509_sign, sha256WithRSAEncryption) stands in for it. */
static int tbs_of(const x509i_tables *t, X509 *x, uint8_t **der,
		  size_t *der_len, jpki_err *err)
{
	const ASN1_OBJECT *alg = NULL;
	const ASN1_BIT_STRING *iuid = NULL;
	const ASN1_BIT_STRING *suid = NULL;
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	const ASN1_TIME *na = X509_get0_notAfter(x);
	long ver = X509_get_version(x);
	uint8_t hdr[X509I_HDR_MAX];
	uint8_t *out = NULL;
	jpki_wbuf b;
	int rc;
	jpki_wbuf_init(&b, OBJECT_TBS_MAX);
	X509_ALGOR_get0(&alg, NULL, NULL, X509_get0_tbs_sigalg(x));
	X509_get0_uids(x, &iuid, &suid);
	if (ver != X509_VERSION_1) {
		/* v2 or v3; anything else as a value no lint accepts */
		uint8_t v[] = {X509I_TAG_CTX0_CONS, 3, X509I_TAG_INT, 1,
			       ver > 0 && ver < 0x80 ? (uint8_t)ver : 0x7f};
		if ((rc = jpki_wbuf_put(&b, v, sizeof(v))) != 0)
			goto out;
	}
	int lnb = nb != NULL ? i2d_ASN1_TIME(nb, NULL) : -1;
	int lna = na != NULL ? i2d_ASN1_TIME(na, NULL) : -1;
	if ((rc = put_item(&b, X509_get0_serialNumber(x),
			   ASN1_ITEM_rptr(ASN1_INTEGER))) != 0 ||
	    (rc = OBJ_obj2nid(alg) == NID_undef
		      ? jpki_wbuf_put(&b, t->sig_alg, t->sig_alg_len)
		      : put_item(&b, X509_get0_tbs_sigalg(x),
				 ASN1_ITEM_rptr(X509_ALGOR))) != 0 ||
	    (rc = put_item(&b, X509_get_issuer_name(x),
			   ASN1_ITEM_rptr(X509_NAME))) != 0 ||
	    (rc = lnb > 0 && lna > 0 ? 0 : JPKI_ERR_CRYPTO) != 0 ||
	    (rc = put_hdr(&b, X509I_TAG_SEQ, (size_t)lnb + (size_t)lna)) != 0 ||
	    (rc = put_item(&b, nb, ASN1_ITEM_rptr(ASN1_TIME))) != 0 ||
	    (rc = put_item(&b, na, ASN1_ITEM_rptr(ASN1_TIME))) != 0 ||
	    (rc = put_item(&b, X509_get_subject_name(x),
			   ASN1_ITEM_rptr(X509_NAME))) != 0)
		goto out;
	if (put_item(&b, X509_get_X509_PUBKEY(x),
		     ASN1_ITEM_rptr(X509_PUBKEY)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_KEY,
			       "unreadable subjectPublicKeyInfo");
		goto out;
	}
	if ((rc = put_uid(&b, iuid, 0x81)) != 0 ||
	    (rc = put_uid(&b, suid, 0x82)) != 0)
		goto out;
	if (exts != NULL &&
	    (rc = put_item_in(&b, X509I_TAG_CTX3_CONS, exts,
			      ASN1_ITEM_rptr(X509_EXTENSIONS))) != 0)
		goto out;
	size_t h = x509i_der_hdr(X509I_TAG_SEQ, b.len, hdr);
	if ((out = malloc(h + b.len)) == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(out, hdr, h);
	memcpy(out + h, b.p, b.len);
	*der = out;
	*der_len = h + b.len;
	rc = 0;
out:
	ERR_clear_error();
	if (rc == JPKI_ERR_NOMEM)
		rc = jpki_fail(err, rc, "out of memory");
	else if (rc == JPKI_ERR_RANGE)
		rc = jpki_fail(err, JPKI_ERR_LINT,
			       "TBSCertificate over %d bytes", OBJECT_TBS_MAX);
	else if (rc == JPKI_ERR_CRYPTO)
		rc = jpki_fail(err, JPKI_ERR_LINT,
			       "the certificate cannot be DER-encoded");
	jpki_wbuf_free(&b);
	return rc;
}

int x509_lint_leaf_tbs(const x509_issuer *iss, const uint8_t *tbs,
		       size_t tbs_len, jpki_err *err)
{
	if (iss == NULL || (tbs == NULL && tbs_len != 0))
		return jpki_fail(err, JPKI_ERR_INVAL, "lint: bad argument");
	return lint_leaf(iss->h, iss->aki, iss->aki_len, tbs, tbs_len,
			 X509_TBS_MAX, err);
}

int x509_lint_leaf(jpki_profile prof, jpki_cert_kind kind, X509 *cert,
		   jpki_err *err)
{
	const x509i_tables *t = NULL;
	const x509i_hier *h = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;
	if (cert == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL, "lint: bad argument");
	/* no issuer here: the AKI is checked for its shape only */
	if ((rc = x509i_tables_get(&t, err)) != 0 ||
	    (rc = x509i_hier_get(prof, kind, &h, err)) != 0 ||
	    (rc = tbs_of(t, cert, &der, &len, err)) != 0)
		return rc;
	rc = lint_leaf(h, NULL, 0, der, len, OBJECT_TBS_MAX, err);
	/* the basic-4 data is personal */
	OPENSSL_cleanse(der, len);
	free(der);
	return rc;
}

static int lint_root_altname(jpki_profile prof, jpki_cert_kind kind,
			     const jpki_rbuf *v, jpki_err *err)
{
	const unsigned char *p = v->p;
	GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, (long)v->len);
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

static int lint_root_bc_dp(const x509i_hier *h, const jpki_rbuf *bc_v,
			   const jpki_rbuf *dp_v, jpki_err *err)
{
	const unsigned char *p = bc_v->p;
	BASIC_CONSTRAINTS *bc =
	    d2i_BASIC_CONSTRAINTS(NULL, &p, (long)bc_v->len);
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
	if ((rc = crldp_dirname(dp_v, &dp, err)) != 0)
		goto out;
	if (!x509i_name_is(dp, h->root_dn, h->root_dn_len))
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
	const x509i_tables *t = NULL;
	const x509i_hier *h = NULL;
	const struct ext_rule *rules = root_exts;
	size_t n = NRULES(root_exts);
	ext_view found[EXT_RULES_MAX];
	tbs_view v;
	uint8_t *der = NULL;
	size_t len = 0;
	int misplaced = NID_undef;
	int rc;
	if (cert == NULL || !x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL, "lint: bad argument");
	if ((rc = x509i_tables_get(&t, err)) != 0 ||
	    (rc = x509i_hier_get(prof, kind, &h, err)) != 0 ||
	    (rc = tbs_of(t, cert, &der, &len, err)) != 0)
		return rc;
	if ((rc = tbs_split(der, len, OBJECT_TBS_MAX, &v, err)) != 0 ||
	    (rc = lint_common(t, &v, true, err)) != 0)
		goto out;
	if (!jpki_der_is(&v.subject, h->root_dn, h->root_dn_len) ||
	    !jpki_der_is(&v.issuer, h->root_dn, h->root_dn_len)) {
		rc = LINT("root subject and issuer must be the %s %s root DN "
			  "(C, O, OU, OU with the J-LIS string types)",
			  jpki_profile_name(prof), jpki_cert_kind_name(kind));
		goto out;
	}
	if ((rc = lint_ext_set(t, &v.exts, rules, n, true, false, found,
			       &misplaced, err)) != 0 ||
	    (rc = lint_key_usage(value_of(rules, n, found, NID_key_usage),
				 X509I_KU_CERTSIGN | X509I_KU_CRLSIGN,
				 "keyCertSign, cRLSign", err)) != 0 ||
	    (rc = lint_root_altname(
		 prof, kind, value_of(rules, n, found, NID_subject_alt_name),
		 err)) != 0 ||
	    (rc = lint_root_bc_dp(
		 h, value_of(rules, n, found, NID_basic_constraints),
		 value_of(rules, n, found, NID_crl_distribution_points),
		 err)) != 0 ||
	    (rc = lint_ski(
		 &v.key, value_of(rules, n, found, NID_subject_key_identifier),
		 false, err)) != 0)
		goto out;
out:
	free(der);
	return rc;
}
