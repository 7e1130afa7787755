/* A small in-tree OpenSSL 3 provider, "jpki-pkcs11": an RSA keymgmt and an
 * RSA signature whose private operation is C_Sign in a PKCS#11 token
 * (docs/decisions.md, "PKCS#11 keystore").  The CA code keeps calling
 * X509_sign, X509_CRL_sign, OCSP_basic_sign, EVP_DigestSign and
 * EVP_PKEY_sign on an ordinary EVP_PKEY; OpenSSL routes them here because
 * the key's keymgmt lives in this provider.
 *
 * The key data is the public (n, e) and a reference to the token key.  It
 * exports only its public half: OpenSSL's encoders (SubjectPublicKeyInfo)
 * and EVP_PKEY_eq use that, and a request for the private half fails, so
 * signing never falls back to the default provider.  Only PKCS#1 v1.5 with
 * SHA-256 is offered: the JPKI profile signs with nothing else. */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keystore_internal.h"

#define PROV_NAME "jpki-pkcs11"
#define PARAM_KEYREF "jpki-pkcs11-key"

/* --- key data --- */

typedef struct pkey_data {
	BIGNUM *n, *e;
	ks_key_ref tok; /* tok.key NULL: a public key imported for comparison */
	EVP_PKEY *pub;	/* the same (n, e) in the default provider */
} pkey_data;

static void *km_new(void *provctx)
{
	(void)provctx;
	return calloc(1, sizeof(pkey_data));
}

static void km_free(void *vk)
{
	pkey_data *k = vk;
	if (k == NULL)
		return;
	BN_free(k->n);
	BN_free(k->e);
	EVP_PKEY_free(k->pub);
	if (k->tok.key != NULL)
		k->tok.ops->unref(k->tok.key);
	free(k);
}

static int km_has(const void *vk, int selection)
{
	const pkey_data *k = vk;
	if (k == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k->n == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->tok.key == NULL)
		return 0;
	return 1;
}

static int km_match(const void *va, const void *vb, int selection)
{
	const pkey_data *a = va, *b = vb;
	(void)selection;
	if (a->n == NULL || b->n == NULL)
		return 0;
	return BN_cmp(a->n, b->n) == 0 && BN_cmp(a->e, b->e) == 0;
}

static int make_pub(pkey_data *k)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int ok = 0;
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, k->n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, k->e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", "provider=default");
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k->pub, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ok = 1;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

static int km_import(void *vk, int selection, const OSSL_PARAM params[])
{
	pkey_data *k = vk;
	const OSSL_PARAM *p;
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N)) ==
		NULL ||
	    !OSSL_PARAM_get_BN(p, &k->n) ||
	    (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E)) ==
		NULL ||
	    !OSSL_PARAM_get_BN(p, &k->e))
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) {
		/* only ks_remote_pkey_new hands in a key reference */
		void *ref = NULL;
		size_t used = 0;
		p = OSSL_PARAM_locate_const(params, PARAM_KEYREF);
		if (p == NULL ||
		    !OSSL_PARAM_get_octet_string(p, &ref, 0, &used) ||
		    used != sizeof(ks_key_ref)) {
			OPENSSL_free(ref);
			return 0;
		}
		memcpy(&k->tok, ref, sizeof(k->tok));
		OPENSSL_free(ref);
		k->tok.ops->ref(k->tok.key);
	}
	return make_pub(k);
}

static const OSSL_PARAM km_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM *km_import_types(int selection)
{
	(void)selection;
	return km_types;
}

static int km_export(void *vk, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	pkey_data *k = vk;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int ok = 0;
	/* the private half stays in the token */
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ||
	    !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) || k->n == NULL)
		return 0;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, k->n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, k->e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	ok = cb(params, cbarg);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

static const OSSL_PARAM *km_export_types(int selection)
{
	(void)selection;
	return km_types;
}

static int km_get_params(void *vk, OSSL_PARAM params[])
{
	pkey_data *k = vk;
	OSSL_PARAM *p;
	int bits = BN_num_bits(k->n);
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
	    !OSSL_PARAM_set_int(p, bits))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
	    !OSSL_PARAM_set_int(p, (bits + 7) / 8))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) !=
		NULL &&
	    !OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(k->pub)))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) !=
		NULL &&
	    !OSSL_PARAM_set_utf8_string(p, "SHA256"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N)) != NULL &&
	    !OSSL_PARAM_set_BN(p, k->n))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_E)) != NULL &&
	    !OSSL_PARAM_set_BN(p, k->e))
		return 0;
	return 1;
}

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	    OSSL_PARAM_END};
	(void)provctx;
	return t;
}

static const char *km_query_name(int op)
{
	return op == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

static const OSSL_DISPATCH keymgmt_fns[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_name},
    {0, NULL}};

/* --- signature: PKCS#1 v1.5, SHA-256 --- */

/* RFC 8017 §9.2 note 1: the DigestInfo prefix of SHA-256 */
static const unsigned char sha256_prefix[19] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
/* sha256WithRSAEncryption, NULL parameters */
static const unsigned char alg_id[15] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
					 0x86, 0x48, 0x86, 0xf7, 0x0d,
					 0x01, 0x01, 0x0b, 0x05, 0x00};

typedef struct sig_ctx {
	pkey_data *key;
	EVP_MD_CTX *md;	    /* digest_sign: SHA-256 of the message */
	jpki_wbuf msg;	    /* digest_sign, a message key: the message */
	EVP_MD_CTX *verify; /* digest_verify: the default provider's */
	int md_ok;	    /* the digest asked for is SHA-256 */
} sig_ctx;

static void *sig_new(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	sig_ctx *c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->md_ok = 1;
	return c;
}

static void sig_free(void *vc)
{
	sig_ctx *c = vc;
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	EVP_MD_CTX_free(c->verify);
	jpki_wbuf_free(&c->msg);
	free(c);
}

static void *sig_dup(void *vc)
{
	sig_ctx *c = vc, *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->key = c->key;
	d->md_ok = c->md_ok;
	jpki_wbuf_init(&d->msg, c->msg.max);
	if ((c->msg.len > 0 &&
	     jpki_wbuf_put(&d->msg, c->msg.p, c->msg.len) != 0) ||
	    (c->md != NULL && ((d->md = EVP_MD_CTX_new()) == NULL ||
			       !EVP_MD_CTX_copy_ex(d->md, c->md))) ||
	    (c->verify != NULL &&
	     ((d->verify = EVP_MD_CTX_new()) == NULL ||
	      !EVP_MD_CTX_copy_ex(d->verify, c->verify)))) {
		sig_free(d);
		return NULL;
	}
	return d;
}

static int digest_is_sha256(const char *name)
{
	return name == NULL || OPENSSL_strcasecmp(name, "SHA256") == 0 ||
	       OPENSSL_strcasecmp(name, "SHA2-256") == 0 ||
	       OPENSSL_strcasecmp(name, "SHA-256") == 0 ||
	       strcmp(name, "2.16.840.1.101.3.4.2.1") == 0;
}

static int sig_set_params(void *vc, const OSSL_PARAM params[])
{
	sig_ctx *c = vc;
	const OSSL_PARAM *p;
	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(
		 params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
		const char *name = NULL;
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
			return 0;
		c->md_ok = digest_is_sha256(name);
		if (!c->md_ok)
			return 0;
	}
	if ((p = OSSL_PARAM_locate_const(
		 params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		int mode = 0;
		const char *s = NULL;
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
			    strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) != 0)
				return 0;
		} else if (!OSSL_PARAM_get_int(p, &mode) ||
			   mode != RSA_PKCS1_PADDING) {
			return 0;
		}
	}
	return 1;
}

static const OSSL_PARAM *sig_settable(void *vc, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
	    OSSL_PARAM_END};
	(void)vc;
	(void)provctx;
	return t;
}

static int sig_get_params(void *vc, OSSL_PARAM params[])
{
	OSSL_PARAM *p;
	(void)vc;
	if ((p = OSSL_PARAM_locate(
		 params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL &&
	    !OSSL_PARAM_set_octet_string(p, alg_id, sizeof(alg_id)))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) !=
		NULL &&
	    !OSSL_PARAM_set_utf8_string(p, "SHA256"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) !=
		NULL &&
	    !OSSL_PARAM_set_int(p, RSA_PKCS1_PADDING))
		return 0;
	return 1;
}

static const OSSL_PARAM *sig_gettable(void *vc, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
	    OSSL_PARAM_END};
	(void)vc;
	(void)provctx;
	return t;
}

static int sig_sign_init(void *vc, void *vkey, const OSSL_PARAM params[])
{
	sig_ctx *c = vc;
	c->key = vkey;
	if (c->key == NULL || c->key->tok.key == NULL)
		return 0;
	return sig_set_params(c, params);
}

/* PKCS#1 v1.5 over the DigestInfo of a SHA-256 hash `h`. */
static int sign_hash(sig_ctx *c, unsigned char *sig, size_t *siglen,
		     size_t sigsize, const unsigned char *h, size_t hlen)
{
	unsigned char di[sizeof(sha256_prefix) + 32];
	size_t need = (size_t)(BN_num_bits(c->key->n) + 7) / 8;
	if (sig == NULL) {
		*siglen = need;
		return 1;
	}
	/* a message key signs only what its holder can read whole */
	if (!c->md_ok || hlen != 32 || sigsize < need ||
	    c->key->tok.ops->sign_digestinfo == NULL)
		return 0;
	memcpy(di, sha256_prefix, sizeof(sha256_prefix));
	memcpy(di + sizeof(sha256_prefix), h, 32);
	*siglen = sigsize;
	return c->key->tok.ops->sign_digestinfo(c->key->tok.key, di, sizeof(di),
						sig, siglen) == 0;
}

static int sig_sign(void *vc, unsigned char *sig, size_t *siglen,
		    size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	return sign_hash(vc, sig, siglen, sigsize, tbs, tbslen);
}

static int sig_dsign_init(void *vc, const char *mdname, void *vkey,
			  const OSSL_PARAM params[])
{
	sig_ctx *c = vc;
	if (!digest_is_sha256(mdname) || !sig_sign_init(c, vkey, params))
		return 0;
	if (c->key->tok.ops->sign_message != NULL) {
		jpki_wbuf_free(&c->msg);
		jpki_wbuf_init(&c->msg, KS_MESSAGE_MAX);
		return 1;
	}
	if (c->md == NULL && (c->md = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex2(c->md, EVP_sha256(), NULL);
}

static int sig_dsign_update(void *vc, const unsigned char *data, size_t len)
{
	sig_ctx *c = vc;
	if (c->key != NULL && c->key->tok.ops->sign_message != NULL)
		return len == 0 || jpki_wbuf_put(&c->msg, data, len) == 0;
	return c->md != NULL && EVP_DigestUpdate(c->md, data, len);
}

static int sig_dsign_final(void *vc, unsigned char *sig, size_t *siglen,
			   size_t sigsize)
{
	sig_ctx *c = vc;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	if (sig == NULL)
		return sign_hash(c, NULL, siglen, 0, NULL, 0);
	if (c->key->tok.ops->sign_message != NULL) {
		size_t need = (size_t)(BN_num_bits(c->key->n) + 7) / 8;
		if (!c->md_ok || sigsize < need)
			return 0;
		*siglen = sigsize;
		int ok =
		    c->key->tok.ops->sign_message(c->key->tok.key, c->msg.p,
						  c->msg.len, sig, siglen) == 0;
		c->msg.len = 0;
		return ok;
	}
	if (c->md == NULL || !EVP_DigestFinal_ex(c->md, h, &hl))
		return 0;
	return sign_hash(c, sig, siglen, sigsize, h, hl);
}

/* Verification needs no token: the default provider's RSA over (n, e). */
static int sig_dverify_init(void *vc, const char *mdname, void *vkey,
			    const OSSL_PARAM params[])
{
	sig_ctx *c = vc;
	c->key = vkey;
	if (c->key == NULL || c->key->pub == NULL ||
	    !digest_is_sha256(mdname) || !sig_set_params(c, params))
		return 0;
	EVP_MD_CTX_free(c->verify);
	if ((c->verify = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestVerifyInit_ex(c->verify, NULL, "SHA256", NULL,
				       "provider=default", c->key->pub, NULL);
}

static int sig_dverify_update(void *vc, const unsigned char *data, size_t len)
{
	sig_ctx *c = vc;
	return c->verify != NULL &&
	       EVP_DigestVerifyUpdate(c->verify, data, len);
}

static int sig_dverify_final(void *vc, const unsigned char *sig, size_t len)
{
	sig_ctx *c = vc;
	return c->verify != NULL &&
	       EVP_DigestVerifyFinal(c->verify, sig, len) == 1;
}

static const OSSL_DISPATCH signature_fns[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_new},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_free},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dup},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_dsign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_dsign_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_dsign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_dverify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE,
     (void (*)(void))sig_dverify_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL,
     (void (*)(void))sig_dverify_final},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable},
    {0, NULL}};

/* --- the provider --- */

static const OSSL_ALGORITHM keymgmt_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=" PROV_NAME,
     keymgmt_fns, "RSA in a PKCS#11 token"},
    {NULL, NULL, NULL, NULL}};
static const OSSL_ALGORITHM signature_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=" PROV_NAME,
     signature_fns, "RSA PKCS#1 v1.5 SHA-256 by C_Sign"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *prov_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	if (op == OSSL_OP_KEYMGMT)
		return keymgmt_algs;
	if (op == OSSL_OP_SIGNATURE)
		return signature_algs;
	return NULL;
}

static const OSSL_DISPATCH prov_fns[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
    {0, NULL}};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	(void)in;
	*out = prov_fns;
	*provctx = (void *)handle;
	return 1;
}

static pthread_once_t prov_once = PTHREAD_ONCE_INIT;
static int prov_loaded;

/* The default provider is loaded first, so that an unqualified fetch of
 * "RSA" (every other key in the program) keeps finding it first. */
static void prov_load(void)
{
	if (OSSL_PROVIDER_load(NULL, "default") == NULL ||
	    OSSL_PROVIDER_add_builtin(NULL, PROV_NAME, prov_init) != 1 ||
	    OSSL_PROVIDER_load(NULL, PROV_NAME) == NULL)
		return;
	prov_loaded = 1;
}

static int p11_sign_di(void *k, const unsigned char *di, size_t len,
		       unsigned char *sig, size_t *siglen)
{
	return ks_p11_key_sign(k, di, len, sig, siglen);
}

static void p11_ref(void *k)
{
	ks_p11_key_ref(k);
}

static void p11_unref(void *k)
{
	ks_p11_key_unref(k);
}

static const ks_key_ops p11_key_ops = {p11_sign_di, NULL, p11_ref, p11_unref};

int ks_p11_pkey_new(ks_p11_key *k, const BIGNUM *n, const BIGNUM *e,
		    EVP_PKEY **out, jpki_err *err)
{
	return ks_remote_pkey_new(&p11_key_ops, k, n, e, out, err);
}

int ks_remote_pkey_new(const ks_key_ops *ops, void *k, const BIGNUM *n,
		       const BIGNUM *e, EVP_PKEY **out, jpki_err *err)
{
	ks_key_ref ref = {ops, k};
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = 0;
	pthread_once(&prov_once, prov_load);
	if (!prov_loaded)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "keystore: cannot load the " PROV_NAME
				 " OpenSSL provider");
	if (ops == NULL || k == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "keystore: no key");
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, PARAM_KEYREF, &ref,
					      sizeof(ref)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", "provider=" PROV_NAME);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "keystore: making the token key an EVP_PKEY");
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}
