/* The provider "openjpki": the card's two RSA keys as OpenSSL 3 keys.
 *
 * A key object holds the open card (image in process, or PC/SC), the
 * verified PIN (kept to re-verify after a card reset, zeroed on free) and
 * the public key read from the card's certificate.  Signing hands the
 * card a SHA-256 DigestInfo (80 2A 00 80); the card pads (PKCS#1 v1.5).
 * Nothing else is offered: no PSS (so no TLS 1.3 client authentication),
 * no decryption, no export of anything private.
 *
 * The signature key (key=sign) signs only CMS signed attributes (a DER
 * SET, first byte 31) through digest-sign, or a ready hash through
 * EVP_PKEY_sign (pkeyutl, `jpki card sign-digests`): a TLS 1.2
 * CertificateVerify (a transcript starting with ClientHello, 01) is
 * refused here, besides its certificate's keyUsage (nonRepudiation
 * only), which a TLS server checks. */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/card.h"
#include "openjpki/provider.h"
#include "openjpki/rules.h"
#include "openjpki/transport.h"
#include "openjpki/util.h"

/* ------------------------------------------------------------------ */
/* Provider context and errors                                         */

typedef struct jp_prov {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx; /* child of the loading library context */
	OSSL_FUNC_core_new_error_fn *new_error;
	OSSL_FUNC_core_set_error_debug_fn *set_debug;
	OSSL_FUNC_core_vset_error_fn *vset_error;
} jp_prov;

/* Reason codes are the jpki_rc values, negated. */
static const OSSL_ITEM reasons[] = {
    {(unsigned)-JPKI_ERR_NOMEM, "out of memory"},
    {(unsigned)-JPKI_ERR_INVAL, "refused"},
    {(unsigned)-JPKI_ERR_IO, "I/O error"},
    {(unsigned)-JPKI_ERR_CRYPTO, "crypto failure"},
    {(unsigned)-JPKI_ERR_PARSE, "malformed data"},
    {(unsigned)-JPKI_ERR_NOT_FOUND, "not found"},
    {(unsigned)-JPKI_ERR_STATE, "not allowed now"},
    {(unsigned)-JPKI_ERR_PIN_FORMAT, "PIN format"},
    {(unsigned)-JPKI_ERR_KEY, "key refused"},
    {(unsigned)-JPKI_ERR_CARD, "card error"},
    {(unsigned)-JPKI_ERR_PIN_WRONG, "wrong PIN"},
    {(unsigned)-JPKI_ERR_PIN_BLOCKED, "PIN blocked"},
    {(unsigned)-JPKI_ERR_AUTH, "PIN required"},
    {(unsigned)-JPKI_ERR_TRANSPORT, "card reader error"},
    {0, NULL}};

static int known_reason(int rc)
{
	for (size_t i = 0; reasons[i].ptr != NULL; i++)
		if (reasons[i].id == (unsigned)-rc)
			return 1;
	return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
prov_raise(const jp_prov *p, int rc, const char *fmt, ...)
{
	va_list ap;
	if (p == NULL || p->new_error == NULL || p->vset_error == NULL)
		return;
	if (rc >= 0 || !known_reason(rc))
		rc = JPKI_ERR_CARD;
	p->new_error(p->handle);
	if (p->set_debug != NULL)
		p->set_debug(p->handle, __FILE__, __LINE__, "openjpki");
	va_start(ap, fmt);
	p->vset_error(p->handle, (uint32_t)-rc, fmt, ap);
	va_end(ap);
}

static void raise_err(const jp_prov *p, int rc, const jpki_err *e)
{
	prov_raise(p, rc, "%s", e->msg[0] != '\0' ? e->msg : jpki_strerror(rc));
}

/* ------------------------------------------------------------------ */
/* Key objects                                                         */

typedef struct jp_key {
	jp_prov *prov;
	atomic_int refs;
	pthread_mutex_t mu;
	bool card; /* false: a public key imported for matching */
	jpki_card_key which;
	jpki_inproc *ip;
	jpki_pcsc *pc;
	jpki_link link;
	BIGNUM *n, *e;
	char pin[JPKI_PIN_MAX + 1];
} jp_key;

static jp_key *key_new(jp_prov *p)
{
	jp_key *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->prov = p;
	atomic_init(&k->refs, 1);
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

static void key_free(jp_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	if (k->ip != NULL) /* a power-off drops the verified PIN */
		transport_inproc_power(k->ip, JPKI_CARD_POWER_OFF);
	transport_inproc_close(k->ip);
	transport_pcsc_close(k->pc);
	BN_free(k->n);
	BN_free(k->e);
	OPENSSL_cleanse(k->pin, sizeof(k->pin));
	pthread_mutex_destroy(&k->mu);
	free(k);
}

static const char *key_label(const jp_key *k)
{
	return k->which == JPKI_KEY_SIGN ? "signature" : "authentication";
}

static jpki_card_pin key_pin(const jp_key *k)
{
	return k->which == JPKI_KEY_SIGN ? JPKI_CPIN_SIGN : JPKI_CPIN_AUTH;
}

/* VERIFY the key's PIN; the card's answer in words a person can act on. */
static int key_verify_pin(jp_key *k, jpki_err *err)
{
	int tries = -1;
	int rc = card_client_verify(&k->link, key_pin(k), k->pin, &tries, err);
	if (rc == JPKI_ERR_PIN_WRONG)
		rc = jpki_fail(err, rc,
			       "wrong %s PIN: %d tries left before it blocks",
			       key_label(k), tries);
	else if (rc == JPKI_ERR_PIN_BLOCKED)
		rc = jpki_fail(err, rc,
			       "the %s PIN is blocked: reset it at the "
			       "municipal counter",
			       key_label(k));
	return rc;
}

/* Sign a SHA-256 DigestInfo with the card; after a reset (69 82) the
 * kept PIN is verified again, once. */
static int key_sign(jp_key *k, const uint8_t *di, size_t n,
		    uint8_t sig[JPKI_CARD_SIG_LEN], jpki_err *err)
{
	int rc;
	pthread_mutex_lock(&k->mu);
	rc = card_client_sign(&k->link, k->which, di, n, sig, err);
	if (rc == JPKI_ERR_AUTH && k->pin[0] != '\0' &&
	    (rc = card_client_select(&k->link, JPKI_AP_JPKI, err)) == 0 &&
	    (rc = key_verify_pin(k, err)) == 0)
		rc = card_client_sign(&k->link, k->which, di, n, sig, err);
	pthread_mutex_unlock(&k->mu);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Key management                                                      */

static void *km_new(void *provctx)
{
	return key_new(provctx);
}

static void km_free(void *kd)
{
	key_free(kd);
}

static void *km_load(const void *ref, size_t ref_sz)
{
	jp_key *k = NULL;
	if (ref == NULL || ref_sz != sizeof(k))
		return NULL;
	memcpy(&k, ref, sizeof(k));
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

static int km_has(const void *kd, int selection)
{
	const jp_key *k = kd;
	if (k == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k->n == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->card)
		return 0;
	return 1;
}

static int km_match(const void *a, const void *b, int selection)
{
	const jp_key *x = a, *y = b;
	(void)selection;
	if (x == NULL || y == NULL || x->n == NULL || y->n == NULL)
		return 0;
	return BN_cmp(x->n, y->n) == 0 && BN_cmp(x->e, y->e) == 0;
}

static const OSSL_PARAM pub_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM *km_types(int selection)
{
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? pub_types : NULL;
}

/* Only a public key comes in (to compare with a certificate's). */
static int km_import(void *kd, int selection, const OSSL_PARAM params[])
{
	jp_key *k = kd;
	const OSSL_PARAM *pn, *pe;
	BIGNUM *n = NULL, *e = NULL;
	if (k == NULL || k->card ||
	    !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ||
	    OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != NULL)
		return 0;
	pn = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N);
	pe = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
	if (pn == NULL || pe == NULL || !OSSL_PARAM_get_BN(pn, &n) ||
	    !OSSL_PARAM_get_BN(pe, &e)) {
		BN_free(n);
		return 0;
	}
	BN_free(k->n);
	BN_free(k->e);
	k->n = n;
	k->e = e;
	return 1;
}

/* The public half only; a request for the private half fails, so that
 * OpenSSL signs through this provider and never through a copy. */
static int km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *arg)
{
	jp_key *k = kd;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *ps = NULL;
	int ok = 0;
	if (k == NULL || k->n == NULL ||
	    ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->card) ||
	    !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
		return 0;
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, k->n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, k->e) ||
	    (ps = OSSL_PARAM_BLD_to_param(b)) == NULL)
		goto out;
	ok = cb(ps, arg);
out:
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	return ok;
}

static int km_get_params(void *kd, OSSL_PARAM params[])
{
	jp_key *k = kd;
	OSSL_PARAM *p;
	int bits;
	if (k == NULL || k->n == NULL)
		return 0;
	bits = BN_num_bits(k->n);
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
	    !OSSL_PARAM_set_int(p, bits))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) !=
		NULL &&
	    !OSSL_PARAM_set_int(p, bits >= 3072 ? 128 : 112))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
	    !OSSL_PARAM_set_int(p, BN_num_bytes(k->n)))
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

static const OSSL_PARAM *km_gettable(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	    OSSL_PARAM_END};
	(void)provctx;
	return t;
}

static const char *km_opname(int op)
{
	return op == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

static const OSSL_DISPATCH km_fns[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_types},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_opname},
    {0, NULL}};

/* ------------------------------------------------------------------ */
/* Signature: RSA PKCS#1 v1.5 with SHA-256, by the card                */

#define VERIFY_PROPS "provider=default"

typedef struct jp_sig {
	jp_prov *prov;
	jp_key *key;
	bool sha256; /* digest set (EVP_PKEY_sign: tbs is the hash) */
	EVP_MD_CTX *md;
	uint8_t head[6]; /* first bytes of a digest-sign message */
	size_t head_len;
	uint64_t total;
	/* verification, by the default provider over the public key (any
	 * RSA key that OpenSSL hands to this provider) */
	EVP_PKEY *vkey;
	EVP_PKEY_CTX *vctx; /* owned (verify) or borrowed from vmd */
	EVP_MD_CTX *vmd;
} jp_sig;

static void *sig_new(void *provctx, const char *propq)
{
	jp_sig *s = calloc(1, sizeof(*s));
	(void)propq;
	if (s != NULL)
		s->prov = provctx;
	return s;
}

static void sig_free(void *ctx)
{
	jp_sig *s = ctx;
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->md);
	if (s->vmd == NULL)
		EVP_PKEY_CTX_free(s->vctx);
	EVP_MD_CTX_free(s->vmd);
	EVP_PKEY_free(s->vkey);
	key_free(s->key);
	free(s);
}

static void *sig_dup(void *ctx)
{
	jp_sig *s = ctx, *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *s;
	d->md = NULL;
	d->vmd = NULL;
	d->vctx = NULL;
	if (s->vkey != NULL)
		EVP_PKEY_up_ref(s->vkey);
	if (s->vmd != NULL) {
		if ((d->vmd = EVP_MD_CTX_new()) == NULL ||
		    !EVP_MD_CTX_copy_ex(d->vmd, s->vmd))
			goto bad;
		d->vctx = EVP_MD_CTX_get_pkey_ctx(d->vmd);
	} else if (s->vctx != NULL &&
		   (d->vctx = EVP_PKEY_CTX_dup(s->vctx)) == NULL) {
		goto bad;
	}
	if (s->md != NULL && ((d->md = EVP_MD_CTX_new()) == NULL ||
			      !EVP_MD_CTX_copy_ex(d->md, s->md))) {
		goto bad;
	}
	if (d->key != NULL)
		atomic_fetch_add(&d->key->refs, 1);
	return d;
bad:
	d->key = NULL;
	sig_free(d);
	return NULL;
}

static int is_sha256_name(jp_prov *p, const char *name)
{
	EVP_MD *md = EVP_MD_fetch(p->libctx, name, NULL);
	int ok = md != NULL && EVP_MD_is_a(md, "SHA2-256");
	EVP_MD_free(md);
	ERR_clear_error();
	return ok;
}

static int sig_set_params(void *ctx, const OSSL_PARAM params[])
{
	jp_sig *s = ctx;
	const OSSL_PARAM *p;
	if (params == NULL)
		return 1;
	if (s->vctx != NULL)
		return EVP_PKEY_CTX_set_params(s->vctx, params);
	if ((p = OSSL_PARAM_locate_const(
		 params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		int mode = 0;
		const char *str = NULL;
		if (p->data_type == OSSL_PARAM_INTEGER &&
		    OSSL_PARAM_get_int(p, &mode))
			;
		else if (OSSL_PARAM_get_utf8_string_ptr(p, &str) &&
			 strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
			mode = RSA_PKCS1_PADDING;
		if (mode != RSA_PKCS1_PADDING) {
			prov_raise(
			    s->prov, JPKI_ERR_INVAL,
			    "the card signs with PKCS#1 v1.5 padding only "
			    "(no PSS: TLS 1.3 client authentication is not "
			    "possible)");
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate_const(
		 params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
		const char *name = NULL;
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
		    !is_sha256_name(s->prov, name)) {
			prov_raise(s->prov, JPKI_ERR_INVAL,
				   "the card signs SHA-256 digests only");
			return 0;
		}
		s->sha256 = true;
	}
	return 1;
}

static const OSSL_PARAM *sig_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, NULL,
				   0),
	    OSSL_PARAM_END};
	(void)ctx;
	(void)provctx;
	return t;
}

/* sha256WithRSAEncryption, NULL parameters */
static const uint8_t alg_sha256_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
					 0x86, 0x48, 0x86, 0xf7, 0x0d,
					 0x01, 0x01, 0x0b, 0x05, 0x00};

static int sig_get_params(void *ctx, OSSL_PARAM params[])
{
	jp_sig *s = ctx;
	OSSL_PARAM *p;
	if (s->vctx != NULL)
		return EVP_PKEY_CTX_get_params(s->vctx, params);
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) !=
	    NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, RSA_PKCS1_PADDING))
				return 0;
		} else if (!OSSL_PARAM_set_utf8_string(
			       p, OSSL_PKEY_RSA_PAD_MODE_PKCSV15)) {
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) !=
	    NULL) {
		if (!OSSL_PARAM_set_utf8_string(p, s->sha256 ? "SHA256" : ""))
			return 0;
	}
	if ((p = OSSL_PARAM_locate(
		 params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL &&
	    !OSSL_PARAM_set_octet_string(p, alg_sha256_rsa,
					 sizeof(alg_sha256_rsa)))
		return 0;
	return 1;
}

static const OSSL_PARAM *sig_gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	    OSSL_PARAM_END};
	(void)ctx;
	(void)provctx;
	return t;
}

static int sig_attach(jp_sig *s, void *kd, const OSSL_PARAM params[])
{
	jp_key *k = kd;
	if (k == NULL || !k->card) {
		prov_raise(s->prov, JPKI_ERR_KEY,
			   "not a card key: this provider only signs with the "
			   "card");
		return 0;
	}
	atomic_fetch_add(&k->refs, 1);
	key_free(s->key);
	s->key = k;
	s->sha256 = false;
	return sig_set_params(s, params);
}

static int sig_sign_init(void *ctx, void *kd, const OSSL_PARAM params[])
{
	return sig_attach(ctx, kd, params);
}

/* Sign a SHA-256 DigestInfo with the card. */
static int sig_card(jp_sig *s, const uint8_t di[JPKI_DIGESTINFO_SHA256_LEN],
		    unsigned char *sig, size_t *siglen, size_t sigsize)
{
	uint8_t out[JPKI_CARD_SIG_LEN];
	jpki_err err = {0};
	int rc;
	if (sigsize < JPKI_CARD_SIG_LEN) {
		prov_raise(s->prov, JPKI_ERR_RANGE,
			   "signature buffer too small");
		return 0;
	}
	if ((rc = key_sign(s->key, di, JPKI_DIGESTINFO_SHA256_LEN, out,
			   &err)) != 0) {
		raise_err(s->prov, rc, &err);
		return 0;
	}
	memcpy(sig, out, JPKI_CARD_SIG_LEN);
	*siglen = JPKI_CARD_SIG_LEN;
	return 1;
}

static int sig_sign(void *ctx, unsigned char *sig, size_t *siglen,
		    size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	jp_sig *s = ctx;
	uint8_t di[JPKI_DIGESTINFO_SHA256_LEN], zero[32] = {0};
	if (s->key == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = JPKI_CARD_SIG_LEN;
		return 1;
	}
	if (s->sha256) {
		if (tbslen != 32) {
			prov_raise(s->prov, JPKI_ERR_INVAL,
				   "a SHA-256 hash is 32 bytes, not %zu",
				   tbslen);
			return 0;
		}
		card_digestinfo_sha256(tbs, di);
	} else {
		/* the "digest-only" form: tbs is the DigestInfo itself */
		card_digestinfo_sha256(zero, di);
		if (tbslen != sizeof(di) ||
		    memcmp(tbs, di, sizeof(di) - 32) != 0) {
			prov_raise(
			    s->prov, JPKI_ERR_INVAL,
			    "the card signs a SHA-256 DigestInfo (51 bytes), "
			    "or a 32-byte hash with digest:sha256");
			return 0;
		}
		memcpy(di, tbs, sizeof(di));
	}
	return sig_card(s, di, sig, siglen, sigsize);
}

static int sig_dsign_init(void *ctx, const char *mdname, void *kd,
			  const OSSL_PARAM params[])
{
	jp_sig *s = ctx;
	EVP_MD *md = NULL;
	int ok = 0;
	if (!sig_attach(s, kd, params))
		return 0;
	if (mdname != NULL && mdname[0] != '\0' &&
	    !is_sha256_name(s->prov, mdname)) {
		prov_raise(s->prov, JPKI_ERR_INVAL,
			   "the card signs SHA-256 digests only, not %s",
			   mdname);
		return 0;
	}
	s->sha256 = true;
	s->head_len = 0;
	s->total = 0;
	if ((md = EVP_MD_fetch(s->prov->libctx, "SHA2-256", NULL)) == NULL ||
	    (s->md == NULL && (s->md = EVP_MD_CTX_new()) == NULL) ||
	    !EVP_DigestInit_ex(s->md, md, NULL)) {
		prov_raise(s->prov, JPKI_ERR_CRYPTO, "SHA-256 unavailable");
		goto out;
	}
	ok = 1;
out:
	EVP_MD_free(md);
	return ok;
}

static int sig_dsign_update(void *ctx, const unsigned char *data, size_t n)
{
	jp_sig *s = ctx;
	for (size_t i = 0; i < n && s->head_len < sizeof(s->head); i++)
		s->head[s->head_len++] = data[i];
	s->total += n;
	return s->md != NULL && EVP_DigestUpdate(s->md, data, n);
}

/* 1 when the whole message is one DER SET (CMS signed attributes). */
static int is_der_set(const jp_sig *s)
{
	uint64_t len = 0, hdr;
	if (s->head_len < 2 || s->head[0] != 0x31)
		return 0;
	if (s->head[1] < 0x80) {
		len = s->head[1];
		hdr = 2;
	} else {
		size_t nb = s->head[1] & 0x7Fu;
		if (nb == 0 || nb > 4 || s->head_len < 2 + nb)
			return 0;
		for (size_t i = 0; i < nb; i++)
			len = len << 8 | s->head[2 + i];
		hdr = 2 + nb;
	}
	return hdr + len == s->total;
}

static int sig_dsign_final(void *ctx, unsigned char *sig, size_t *siglen,
			   size_t sigsize)
{
	jp_sig *s = ctx;
	uint8_t h[EVP_MAX_MD_SIZE], di[JPKI_DIGESTINFO_SHA256_LEN];
	unsigned hl = 0;
	if (s->key == NULL || s->md == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = JPKI_CARD_SIG_LEN;
		return 1;
	}
	if (s->key->which == JPKI_KEY_SIGN && !is_der_set(s)) {
		prov_raise(
		    s->prov, JPKI_ERR_INVAL,
		    "the signature key (署名用) signs documents only: CMS "
		    "signed attributes or a given hash, never a TLS "
		    "handshake; use key=auth for TLS");
		return 0;
	}
	if (!EVP_DigestFinal_ex(s->md, h, &hl) || hl != 32) {
		prov_raise(s->prov, JPKI_ERR_CRYPTO, "SHA-256 failed");
		return 0;
	}
	card_digestinfo_sha256(h, di);
	return sig_card(s, di, sig, siglen, sigsize);
}

/* The public key as a default-provider key in the child context. */
static int sig_vkey(jp_sig *s, void *kd)
{
	jp_key *k = kd;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *ps = NULL;
	EVP_PKEY_CTX *fc = NULL;
	int ok = 0;
	if (k == NULL || k->n == NULL || s->vkey != NULL)
		return 0;
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, k->n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, k->e) ||
	    (ps = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (fc = EVP_PKEY_CTX_new_from_name(s->prov->libctx, "RSA",
					     VERIFY_PROPS)) == NULL ||
	    EVP_PKEY_fromdata_init(fc) <= 0 ||
	    EVP_PKEY_fromdata(fc, &s->vkey, EVP_PKEY_PUBLIC_KEY, ps) <= 0)
		goto out;
	ok = 1;
out:
	EVP_PKEY_CTX_free(fc);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	return ok;
}

static int sig_verify_init(void *ctx, void *kd, const OSSL_PARAM params[])
{
	jp_sig *s = ctx;
	if (!sig_vkey(s, kd) ||
	    (s->vctx = EVP_PKEY_CTX_new_from_pkey(s->prov->libctx, s->vkey,
						  VERIFY_PROPS)) == NULL ||
	    EVP_PKEY_verify_init(s->vctx) <= 0)
		return 0;
	return sig_set_params(s, params);
}

static int sig_verify(void *ctx, const unsigned char *sig, size_t siglen,
		      const unsigned char *tbs, size_t tbslen)
{
	jp_sig *s = ctx;
	return s->vctx != NULL &&
	       EVP_PKEY_verify(s->vctx, sig, siglen, tbs, tbslen) == 1;
}

static int sig_dverify_init(void *ctx, const char *mdname, void *kd,
			    const OSSL_PARAM params[])
{
	jp_sig *s = ctx;
	if (!sig_vkey(s, kd) || (s->vmd = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestVerifyInit_ex(s->vmd, &s->vctx, mdname, s->prov->libctx,
				     VERIFY_PROPS, s->vkey, params))
		return 0;
	return 1;
}

static int sig_dverify_update(void *ctx, const unsigned char *data, size_t n)
{
	jp_sig *s = ctx;
	return s->vmd != NULL && EVP_DigestVerifyUpdate(s->vmd, data, n);
}

static int sig_dverify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
	jp_sig *s = ctx;
	return s->vmd != NULL &&
	       EVP_DigestVerifyFinal(s->vmd, sig, siglen) == 1;
}

static const OSSL_DISPATCH sig_fns[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_new},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_free},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dup},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_dsign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_dsign_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_dsign_final},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
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

/* ------------------------------------------------------------------ */
/* STORE: jpki:card=PATH;key=auth|sign[;pin-value=V|;pin-source=file:F]  */

#define URI_FIELD_MAX 4096

typedef struct jp_store {
	jp_prov *prov;
	char card[URI_FIELD_MAX], reader[256], pin_file[URI_FIELD_MAX];
	char pin[JPKI_PIN_MAX + 2];
	bool has_card, has_reader, has_pin, has_pin_file;
	jpki_card_key which;
	int step; /* 0 key, 1 certificate, 2 done */
	jp_key *key;
	uint8_t *cert;
	size_t cert_len;
} jp_store;

/* Percent-decode [s, e) into out. */
static int uri_value(const char *s, const char *e, char *out, size_t cap)
{
	size_t n = 0;
	while (s < e) {
		unsigned v;
		char c = *s;
		if (c == '%') {
			if (e - s < 3 || sscanf(s + 1, "%2x", &v) != 1 ||
			    v == 0)
				return 0;
			c = (char)v;
			s += 3;
		} else {
			s++;
		}
		if (n + 1 >= cap)
			return 0;
		out[n++] = c;
	}
	out[n] = '\0';
	return 1;
}

static void st_close_ctx(jp_store *st)
{
	if (st == NULL)
		return;
	key_free(st->key);
	free(st->cert);
	OPENSSL_cleanse(st->pin, sizeof(st->pin));
	free(st);
}

static void *st_open(void *provctx, const char *uri)
{
	jp_prov *p = provctx;
	jp_store *st;
	const char *s;
	bool key_set = false;
	if (uri == NULL || strncmp(uri, "jpki:", 5) != 0)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->prov = p;
	for (s = uri + 5; *s != '\0';) {
		const char *end = strchr(s, ';'), *eq;
		if (end == NULL)
			end = s + strlen(s);
		eq = memchr(s, '=', (size_t)(end - s));
		if (eq == NULL)
			goto bad;
#define FIELD(name)                                                            \
	((size_t)(eq - s) == strlen(name) && !strncmp(s, name, strlen(name)))
		if (FIELD("card")) {
			if (!uri_value(eq + 1, end, st->card, sizeof(st->card)))
				goto bad;
			st->has_card = true;
		} else if (FIELD("reader")) {
			if (!uri_value(eq + 1, end, st->reader,
				       sizeof(st->reader)))
				goto bad;
			st->has_reader = true;
		} else if (FIELD("key")) {
			char v[8];
			if (!uri_value(eq + 1, end, v, sizeof(v)))
				goto bad;
			if (strcmp(v, "auth") == 0)
				st->which = JPKI_KEY_AUTH;
			else if (strcmp(v, "sign") == 0)
				st->which = JPKI_KEY_SIGN;
			else
				goto bad;
			key_set = true;
		} else if (FIELD("pin-value")) {
			if (!uri_value(eq + 1, end, st->pin, sizeof(st->pin)))
				goto bad;
			st->has_pin = true;
		} else if (FIELD("pin-source")) {
			if (end - eq < 6 || strncmp(eq + 1, "file:", 5) != 0 ||
			    !uri_value(eq + 6, end, st->pin_file,
				       sizeof(st->pin_file)))
				goto bad;
			st->has_pin_file = true;
		} else {
			goto bad;
		}
#undef FIELD
		s = *end == ';' ? end + 1 : end;
	}
	if (!key_set || st->has_card == st->has_reader ||
	    (st->has_pin && st->has_pin_file))
		goto bad;
	return st;
bad:
	prov_raise(p, JPKI_ERR_INVAL,
		   "bad jpki: URI (want jpki:card=PATH;key=auth|sign or "
		   "jpki:reader=NAME|auto;key=auth|sign, optionally "
		   ";pin-source=file:PATH or ;pin-value=PIN)");
	st_close_ctx(st);
	return NULL;
}

static int st_set_params(void *ctx, const OSSL_PARAM params[])
{
	(void)ctx;
	(void)params;
	return 1;
}

/* The PIN: pin-value=, pin-source=file: (first line) or the callback. */
static int st_pin(jp_store *st, jp_key *k, OSSL_PASSPHRASE_CALLBACK *pw_cb,
		  void *pw_arg, jpki_err *err)
{
	char raw[JPKI_PIN_MAX + 2] = {0};
	jpki_pin_kind kind =
	    k->which == JPKI_KEY_SIGN ? JPKI_PIN_SIGN : JPKI_PIN_AUTH;
	int rc = 0;
	if (st->has_pin) {
		memcpy(raw, st->pin, sizeof(raw));
	} else if (st->has_pin_file) {
		uint8_t *data = NULL;
		size_t len = 0, n = 0;
		if ((rc = jpki_file_read(st->pin_file, 256, &data, &len,
					 err)) != 0)
			return rc;
		while (n < len && data[n] != '\n' && data[n] != '\r')
			n++;
		if (n >= sizeof(raw))
			n = sizeof(raw) - 1;
		memcpy(raw, data, n);
		jpki_free_secret(data, len);
	} else if (pw_cb != NULL) {
		char info[64];
		size_t got = 0;
		OSSL_PARAM ps[2];
		snprintf(info, sizeof(info), "the card's %s PIN", key_label(k));
		ps[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PASSPHRASE_PARAM_INFO, info, 0);
		ps[1] = OSSL_PARAM_construct_end();
		if (!pw_cb(raw, sizeof(raw) - 1, &got, ps, pw_arg) ||
		    got >= sizeof(raw))
			got = 0;
		raw[got] = '\0';
	}
	if (raw[0] == '\0')
		rc = jpki_fail(err, JPKI_ERR_AUTH,
			       "the %s key needs its PIN: give pin-value=, "
			       "pin-source=file:PATH or answer the prompt",
			       key_label(k));
	else if ((rc = rules_pin_check(kind, raw, k->pin, sizeof(k->pin),
				       err)) != 0)
		jpki_wrap(err, rc, "%s PIN (not sent to the card)",
			  key_label(k));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

/* Open the card, VERIFY the PIN, read the certificate. */
static int st_open_card(jp_store *st, OSSL_PASSPHRASE_CALLBACK *pw_cb,
			void *pw_arg, jpki_err *err)
{
	jp_key *k = key_new(st->prov);
	X509 *x = NULL;
	EVP_PKEY *pub;
	const unsigned char *q;
	int rc;
	if (k == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	k->which = st->which;
	k->card = true;
	if (st->has_reader) {
		if ((rc = transport_pcsc_open(st->reader, &k->pc, err)) != 0)
			goto out;
		k->link = transport_pcsc_link(k->pc);
	} else {
		if ((rc = transport_inproc_open(st->card, &k->ip, err)) != 0)
			goto out;
		k->link = transport_inproc_link(k->ip);
	}
	if ((rc = card_client_select(&k->link, JPKI_AP_JPKI, err)) != 0 ||
	    (rc = st_pin(st, k, pw_cb, pw_arg, err)) != 0 ||
	    (rc = key_verify_pin(k, err)) != 0)
		goto out;
	rc = card_client_read_cert(&k->link,
				   k->which == JPKI_KEY_SIGN ? JPKI_CCERT_SIGN
							     : JPKI_CCERT_AUTH,
				   &st->cert, &st->cert_len, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = jpki_fail(err, rc, "the card holds no %s certificate",
			       key_label(k));
	if (rc != 0)
		goto out;
	q = st->cert;
	if ((x = X509_new_ex(st->prov->libctx, NULL)) == NULL ||
	    d2i_X509(&x, &q, (long)st->cert_len) == NULL ||
	    (pub = X509_get0_pubkey(x)) == NULL ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &k->n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &k->e) ||
	    BN_num_bytes(k->n) != JPKI_CARD_SIG_LEN) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_KEY,
			       "the card's %s certificate has no RSA-2048 key",
			       key_label(k));
		goto out;
	}
	st->key = k;
	k = NULL;
out:
	X509_free(x);
	key_free(k);
	return rc;
}

static int st_load(void *ctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	jp_store *st = ctx;
	jpki_err err = {0};
	OSSL_PARAM ps[4];
	int type, rc;
	if (st->step == 0 && st->key == NULL &&
	    (rc = st_open_card(st, pw_cb, pw_cbarg, &err)) != 0) {
		st->step = 2;
		raise_err(st->prov, rc, &err);
		return 0;
	}
	if (st->step == 0) {
		type = OSSL_OBJECT_PKEY;
		ps[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
		ps[1] = OSSL_PARAM_construct_utf8_string(
		    OSSL_OBJECT_PARAM_DATA_TYPE, (char *)"RSA", 0);
		ps[2] = OSSL_PARAM_construct_octet_string(
		    OSSL_OBJECT_PARAM_REFERENCE, &st->key, sizeof(st->key));
		ps[3] = OSSL_PARAM_construct_end();
		st->step = 1;
		return object_cb(ps, object_cbarg);
	}
	if (st->step == 1) {
		type = OSSL_OBJECT_CERT;
		ps[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
		ps[1] = OSSL_PARAM_construct_octet_string(
		    OSSL_OBJECT_PARAM_DATA, st->cert, st->cert_len);
		ps[2] = OSSL_PARAM_construct_end();
		st->step = 2;
		return object_cb(ps, object_cbarg);
	}
	return 0;
}

static int st_eof(void *ctx)
{
	return ((jp_store *)ctx)->step >= 2;
}

static int st_close(void *ctx)
{
	st_close_ctx(ctx);
	return 1;
}

static const OSSL_DISPATCH store_fns[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))st_open},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))st_set_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))st_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))st_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))st_close},
    {0, NULL}};

/* ------------------------------------------------------------------ */
/* The provider                                                        */

#define PROPS "provider=openjpki"

static const OSSL_ALGORITHM algs_keymgmt[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, km_fns,
     "the My Number Card's RSA keys"},
    {NULL, NULL, NULL, NULL}};
static const OSSL_ALGORITHM algs_sig[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, sig_fns,
     "RSA PKCS#1 v1.5 SHA-256 by the card (80 2A)"},
    {NULL, NULL, NULL, NULL}};
static const OSSL_ALGORITHM algs_store[] = {
    {"jpki", PROPS, store_fns, "jpki: card URIs"}, {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *prov_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (op) {
	case OSSL_OP_KEYMGMT: return algs_keymgmt;
	case OSSL_OP_SIGNATURE: return algs_sig;
	case OSSL_OP_STORE: return algs_store;
	}
	return NULL;
}

static const OSSL_ITEM *prov_reasons(void *provctx)
{
	(void)provctx;
	return reasons;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;
	(void)provctx;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, "openjpki: My Number Card (JPKI)"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, "0.1.0"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
	    !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static void prov_teardown(void *provctx)
{
	jp_prov *p = provctx;
	if (p == NULL)
		return;
	OSSL_LIB_CTX_free(p->libctx);
	free(p);
}

static const OSSL_DISPATCH prov_fns[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_reasons},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {0, NULL}};

int jpki_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	jp_prov *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 0;
	p->handle = handle;
	for (const OSSL_DISPATCH *f = in; f != NULL && f->function_id != 0;
	     f++) {
		switch (f->function_id) {
		case OSSL_FUNC_CORE_NEW_ERROR:
			p->new_error = OSSL_FUNC_core_new_error(f);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			p->set_debug = OSSL_FUNC_core_set_error_debug(f);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			p->vset_error = OSSL_FUNC_core_vset_error(f);
			break;
		default: break;
		}
	}
	/* SHA-256 and certificate parsing from the loading context's other
	 * providers (e.g. default) */
	if ((p->libctx = OSSL_LIB_CTX_new_child(handle, in)) == NULL) {
		free(p);
		return 0;
	}
	*provctx = p;
	*out = prov_fns;
	return 1;
}

/* ------------------------------------------------------------------ */
/* For `jpki` itself                                                   */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_ok;
static OSSL_PROVIDER *loaded_default, *loaded_jpki;

/* Each OSSL_PROVIDER_load holds a reference that OpenSSL's own cleanup
 * does not drop: without an unload the provider (our context and its
 * child library context) outlives the program.  Registered after OpenSSL
 * registered its cleanup, so it runs first. */
static void unload_builtin(void)
{
	if (loaded_jpki != NULL)
		OSSL_PROVIDER_unload(loaded_jpki);
	if (loaded_default != NULL)
		OSSL_PROVIDER_unload(loaded_default);
	loaded_jpki = loaded_default = NULL;
}

static void load_builtin(void)
{
	loaded_default = OSSL_PROVIDER_load(NULL, "default");
	if (loaded_default != NULL &&
	    OSSL_PROVIDER_add_builtin(NULL, JPKI_PROVIDER_NAME,
				      jpki_provider_init))
		loaded_jpki = OSSL_PROVIDER_load(NULL, JPKI_PROVIDER_NAME);
	load_ok = loaded_jpki != NULL;
	if (loaded_default != NULL)
		(void)atexit(unload_builtin);
}

int jpki_provider_load(jpki_err *err)
{
	pthread_once(&load_once, load_builtin);
	if (!load_ok)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "cannot load the openjpki provider");
	return 0;
}

int jpki_provider_error(jpki_err *err)
{
	unsigned long code;
	const char *data = NULL, *lib;
	int flags = 0, rc = 0;
	while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) !=
	       0) {
		lib = ERR_lib_error_string(code);
		if (lib == NULL || strcmp(lib, JPKI_PROVIDER_NAME) != 0)
			continue;
		rc = -(int)ERR_GET_REASON(code);
		if (!known_reason(rc))
			rc = JPKI_ERR_CARD;
		jpki_fail(err, rc, "%s",
			  (flags & ERR_TXT_STRING) && data != NULL
			      ? data
			      : jpki_strerror(rc));
	}
	return rc;
}

static int uri_put(char *out, size_t cap, size_t *n, const char *s)
{
	for (; *s != '\0'; s++) {
		int w;
		if (*s == ';' || *s == '%' || *s == '=')
			w = snprintf(out + *n, cap - *n, "%%%02X",
				     (unsigned char)*s);
		else
			w = snprintf(out + *n, cap - *n, "%c", *s);
		if (w < 0 || (size_t)w >= cap - *n)
			return 0;
		*n += (size_t)w;
	}
	return 1;
}

int jpki_provider_uri(const char *image, const char *reader, const char *key,
		      char *out, size_t cap, jpki_err *err)
{
	int w;
	size_t n;
	if ((image == NULL) == (reader == NULL) || key == NULL || cap == 0)
		return jpki_fail(err, JPKI_ERR_INVAL, "card URI: bad argument");
	w = snprintf(out, cap, "jpki:%s=", image != NULL ? "card" : "reader");
	if (w < 0 || (size_t)w >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE, "card URI too long");
	n = (size_t)w;
	if (!uri_put(out, cap, &n, image != NULL ? image : reader))
		return jpki_fail(err, JPKI_ERR_RANGE, "card URI too long");
	w = snprintf(out + n, cap - n, ";key=%s", key);
	if (w < 0 || (size_t)w >= cap - n)
		return jpki_fail(err, JPKI_ERR_RANGE, "card URI too long");
	return 0;
}
