/* The parts of a leaf certificate that depend only on the profile and the
 * hierarchy (the root DN, keyUsage, certificatePolicies with its CPS
 * qualifier, the fixed RDNs of the partition DirNames) and the objects
 * every issuance would otherwise look up again (SHA-1, the OIDs and
 * AlgorithmIdentifiers of the TBSCertificate).  Built once per process
 * with OpenSSL's own encoders; read-only after, so issuing threads share
 * them without locks (docs/design.md, "Issuance cost"). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "x509_int.h"

static x509i_tables tab;
static CRYPTO_ONCE tab_once = CRYPTO_ONCE_STATIC_INIT;
static int tab_rc = JPKI_ERR_CRYPTO;

static bool oid_of(x509i_oid *o, const ASN1_OBJECT *obj)
{
	int len = obj != NULL ? OBJ_length(obj) : 0;
	if (len <= 0 || (size_t)len > sizeof(o->der))
		return false;
	memcpy(o->der, OBJ_get0_data(obj), (size_t)len);
	o->len = (size_t)len;
	return true;
}

static bool b4_oid_of(x509i_oid *o, const char *dotted)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(dotted, 1);
	bool ok = oid_of(o, obj);
	ASN1_OBJECT_free(obj);
	return ok;
}

/* The extnValue of ext into buf. */
static bool ext_value(X509_EXTENSION *ext, uint8_t *buf, size_t cap,
		      size_t *len)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	int l = v != NULL ? ASN1_STRING_length(v) : -1;
	if (l <= 0 || (size_t)l > cap)
		return false;
	memcpy(buf, ASN1_STRING_get0_data(v), (size_t)l);
	*len = (size_t)l;
	return true;
}

/* AlgorithmIdentifier { nid, NULL } as OpenSSL encodes it. */
static bool alg_of(int nid, uint8_t *buf, size_t cap, size_t *len)
{
	X509_ALGOR *a = X509_ALGOR_new();
	unsigned char *der = NULL;
	int l = -1;
	if (a != NULL &&
	    X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_NULL, NULL))
		l = i2d_X509_ALGOR(a, &der);
	bool ok = l > 0 && (size_t)l <= cap;
	if (ok) {
		memcpy(buf, der, (size_t)l);
		*len = (size_t)l;
	}
	OPENSSL_free(der);
	X509_ALGOR_free(a);
	return ok;
}

/* The DER of n, or with `inner` only its content (the RDNs). */
static bool name_der(const X509_NAME *n, bool inner, uint8_t *buf, size_t cap,
		     size_t *len)
{
	const unsigned char *d = NULL;
	size_t l = 0;
	jpki_rbuf r;
	jpki_rbuf c;
	if (!X509_NAME_get0_der(n, &d, &l))
		return false;
	if (inner) {
		jpki_rbuf_init(&r, d, l);
		if (jpki_der_get(&r, X509I_TAG_SEQ, &c) != 0 ||
		    jpki_rbuf_end(&r) != 0)
			return false;
		d = c.p;
		l = c.len;
	}
	if (l > cap)
		return false;
	memcpy(buf, d, l);
	*len = l;
	return true;
}

static int build_hier(jpki_profile prof, jpki_cert_kind kind, x509i_hier *h)
{
	X509_NAME *root = NULL;
	X509_NAME *dp = NULL;
	X509_EXTENSION *ku = NULL;
	X509_EXTENSION *cp = NULL;
	int rc;
	h->prof = prof;
	h->kind = kind;
	if ((rc = x509_root_name(prof, kind, &root, NULL)) != 0)
		goto out;
	if ((dp = X509_NAME_new()) == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((rc = x509i_name_add(dp, NID_countryName, V_ASN1_PRINTABLESTRING,
				 "JP", NULL)) != 0 ||
	    (rc = x509i_name_add(dp, NID_organizationName, V_ASN1_UTF8STRING,
				 x509i_profile_o(prof), NULL)) != 0 ||
	    (rc = x509i_name_add(dp, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_kind_ou(kind),
				 NULL)) != 0 ||
	    (rc = x509i_name_add(dp, NID_organizationalUnitName,
				 V_ASN1_UTF8STRING, x509i_crldp_ou, NULL)) != 0)
		goto out;
	if (!name_der(root, false, h->root_dn, sizeof(h->root_dn),
		      &h->root_dn_len) ||
	    !name_der(dp, true, h->dp_rdns, sizeof(h->dp_rdns),
		      &h->dp_rdns_len)) {
		rc = JPKI_ERR_CRYPTO;
		goto out;
	}
	if ((rc = x509i_key_usage_ext(kind == JPKI_CERT_SIGN
					  ? X509I_KU_DIGSIG | X509I_KU_NONREP
					  : X509I_KU_DIGSIG,
				      &ku, NULL)) != 0 ||
	    (rc = x509i_policy_ext(prof, kind, &cp, NULL)) != 0)
		goto out;
	if (!ext_value(ku, h->ku, sizeof(h->ku), &h->ku_len) ||
	    !ext_value(cp, h->cp, sizeof(h->cp), &h->cp_len))
		rc = JPKI_ERR_CRYPTO;
out:
	X509_EXTENSION_free(ku);
	X509_EXTENSION_free(cp);
	X509_NAME_free(root);
	X509_NAME_free(dp);
	return rc;
}

static void free_tables(void)
{
	EVP_MD_free(tab.sha1);
	memset(&tab, 0, sizeof(tab));
}

static void build_tables(void)
{
	static const jpki_profile profs[] = {JPKI_PROFILE_TEST,
					     JPKI_PROFILE_PRODUCTION};
	static const jpki_cert_kind kinds[] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};
	static const int ext_nids[X509I_EXT_COUNT] = {
	    [X509I_EXT_KU] = NID_key_usage,
	    [X509I_EXT_CP] = NID_certificate_policies,
	    [X509I_EXT_SAN] = NID_subject_alt_name,
	    [X509I_EXT_BC] = NID_basic_constraints,
	    [X509I_EXT_CRLDP] = NID_crl_distribution_points,
	    [X509I_EXT_AKI] = NID_authority_key_identifier,
	    [X509I_EXT_SKI] = NID_subject_key_identifier,
	};
	if ((tab.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL ||
	    !oid_of(&tab.at_c, OBJ_nid2obj(NID_countryName)) ||
	    !oid_of(&tab.at_l, OBJ_nid2obj(NID_localityName)) ||
	    !oid_of(&tab.at_cn, OBJ_nid2obj(NID_commonName)) ||
	    !oid_of(&tab.at_ou, OBJ_nid2obj(NID_organizationalUnitName)) ||
	    !oid_of(&tab.rsa_enc, OBJ_nid2obj(NID_rsaEncryption)) ||
	    !oid_of(&tab.sha256_rsa,
		    OBJ_nid2obj(NID_sha256WithRSAEncryption)) ||
	    !alg_of(NID_rsaEncryption, tab.rsa_alg, sizeof(tab.rsa_alg),
		    &tab.rsa_alg_len) ||
	    !alg_of(NID_sha256WithRSAEncryption, tab.sig_alg,
		    sizeof(tab.sig_alg), &tab.sig_alg_len))
		goto fail;
	for (int i = 0; i < X509I_EXT_COUNT; i++) {
		tab.ext_nid[i] = ext_nids[i];
		if (!oid_of(&tab.ext[i], OBJ_nid2obj(ext_nids[i])))
			goto fail;
	}
	for (int i = 0; i < X509I_B4_COUNT; i++)
		if (!b4_oid_of(&tab.b4[i], x509i_b4_oid(i)))
			goto fail;
	for (size_t p = 0; p < 2; p++)
		for (size_t k = 0; k < 2; k++)
			if (build_hier(profs[p], kinds[k],
				       &tab.h[profs[p]][kinds[k]]) != 0)
				goto fail;
	tab_rc = 0;
	return;
fail:
	free_tables();
}

int x509i_tables_get(const x509i_tables **out, jpki_err *err)
{
	if (!CRYPTO_THREAD_run_once(&tab_once, build_tables) || tab_rc != 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "building the certificate profile tables "
				 "failed");
	*out = &tab;
	return 0;
}

int x509i_hier_get(jpki_profile prof, jpki_cert_kind kind,
		   const x509i_hier **out, jpki_err *err)
{
	const x509i_tables *t = NULL;
	int rc;
	if (!x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "bad profile or hierarchy");
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	*out = &t->h[prof][kind];
	return 0;
}

bool x509i_name_is(const X509_NAME *n, const uint8_t *der, size_t len)
{
	const unsigned char *d = NULL;
	size_t l = 0;
	return n != NULL && X509_NAME_get0_der(n, &d, &l) && l == len &&
	       memcmp(d, der, len) == 0;
}

bool x509i_oid_is(const x509i_oid *o, const uint8_t *p, size_t n)
{
	return n == o->len && memcmp(p, o->der, n) == 0;
}

int x509i_ext_nid(const x509i_tables *t, const uint8_t *oid, size_t len)
{
	for (int i = 0; i < X509I_EXT_COUNT; i++)
		if (x509i_oid_is(&t->ext[i], oid, len))
			return t->ext_nid[i];
	return NID_undef;
}
