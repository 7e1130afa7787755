/* The parts of a leaf certificate that depend only on the profile and the
 * hierarchy (the root DN, keyUsage, certificatePolicies with its CPS
 * qualifier, the fixed RDNs of the partition DirNames) and the objects
 * every issuance would otherwise look up again (SHA-1, the basic-4 OIDs).
 * Built once per process with OpenSSL's own encoders; read-only after, so
 * issuing threads share them without locks (docs/design.md, "Issuance
 * cost"). */
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
		if (x509i_tlv(&r, X509I_TAG_SEQ, &c) != 0 ||
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
				      &h->ku, NULL)) != 0 ||
	    (rc = x509i_policy_ext(prof, kind, &h->cp, NULL)) != 0)
		goto out;
out:
	X509_NAME_free(root);
	X509_NAME_free(dp);
	return rc;
}

static void free_tables(void)
{
	for (int p = 0; p < 2; p++) {
		for (int k = 0; k < 3; k++) {
			X509_EXTENSION_free(tab.h[p][k].ku);
			X509_EXTENSION_free(tab.h[p][k].cp);
		}
	}
	EVP_MD_free(tab.sha1);
	memset(&tab, 0, sizeof(tab));
}

static void build_tables(void)
{
	static const jpki_profile profs[] = {JPKI_PROFILE_TEST,
					     JPKI_PROFILE_PRODUCTION};
	static const jpki_cert_kind kinds[] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};
	if ((tab.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL ||
	    !oid_of(&tab.at_cn, OBJ_nid2obj(NID_commonName)) ||
	    !oid_of(&tab.at_ou, OBJ_nid2obj(NID_organizationalUnitName)))
		goto fail;
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
