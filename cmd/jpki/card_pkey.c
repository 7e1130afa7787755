/* The card's signature key as an EVP_PKEY for OpenSSL's CMS code.
 *
 * OpenSSL 3.0 offers two ways to plug an external private key into
 * EVP_PKEY: a provider (keymgmt + signature dispatch tables, several
 * hundred lines) or a legacy RSA_METHOD whose private "encryption" is
 * replaced.  The RSA_METHOD functions are deprecated in 3.0 but still
 * supported; a key with a non-default method is "foreign", so
 * EVP_PKEY_sign takes the legacy path: RSA_sign() builds the DigestInfo
 * and calls our priv_enc with RSA_PKCS1_PADDING, and we hand exactly
 * that DigestInfo to the card, which pads and exponentiates (80 2A 00
 * 80, spec §6.1).  This is the only file that needs the deprecated API,
 * hence OPENSSL_SUPPRESS_DEPRECATED here and nowhere else. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "card_pkey.h"

struct card_pkey {
	const jpki_link *link;
	jpki_card_key key;
	RSA_METHOD *meth;
	EVP_PKEY *pkey;
	int rc; /* last card failure */
	jpki_err err;
	unsigned signatures;
};

/* 1 when `p` is exactly the DER DigestInfo of a SHA-256 hash
 * (RFC 8017 9.2: 30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04
 * 20 || H). */
static int is_sha256_digestinfo(const unsigned char *p, int len)
{
	uint8_t want[JPKI_DIGESTINFO_SHA256_LEN];
	uint8_t zero[32] = {0};
	if (len != JPKI_DIGESTINFO_SHA256_LEN)
		return 0;
	card_digestinfo_sha256(zero, want);
	return memcmp(p, want, JPKI_DIGESTINFO_SHA256_LEN - 32) == 0;
}

static int priv_enc(int flen, const unsigned char *from, unsigned char *to,
		    RSA *rsa, int padding)
{
	card_pkey *cp = RSA_meth_get0_app_data(RSA_get_method(rsa));
	uint8_t sig[JPKI_CARD_SIG_LEN];
	if (cp == NULL)
		return -1;
	if (padding != RSA_PKCS1_PADDING || !is_sha256_digestinfo(from, flen)) {
		cp->rc = jpki_fail(&cp->err, JPKI_ERR_INVAL,
				   "the card signs only a SHA-256 DigestInfo "
				   "with PKCS#1 v1.5 padding");
		return -1;
	}
	if (RSA_size(rsa) != JPKI_CARD_SIG_LEN) {
		cp->rc = jpki_fail(&cp->err, JPKI_ERR_KEY,
				   "the certificate's key is not RSA-2048");
		return -1;
	}
	cp->rc = card_client_sign(cp->link, cp->key, from, (size_t)flen, sig,
				  &cp->err);
	if (cp->rc != 0)
		return -1;
	memcpy(to, sig, sizeof(sig));
	cp->signatures++;
	return (int)sizeof(sig);
}

/* The card holds the private key: nothing is decrypted here. */
static int priv_dec(int flen, const unsigned char *from, unsigned char *to,
		    RSA *rsa, int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	return -1;
}

int card_pkey_new(const jpki_link *link, jpki_card_key key, X509 *cert,
		  card_pkey **cpp, EVP_PKEY **out, jpki_err *err)
{
	card_pkey *cp = NULL;
	BIGNUM *n = NULL, *e = NULL;
	RSA *rsa = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	int rc = 0;
	if (link == NULL || cert == NULL || cpp == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "card key: bad argument");
	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "the card's certificate has no RSA key");
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	cp->link = link;
	cp->key = key;
	/* a fresh RSA holding only n and e: the certificate's own key
	 * object is not touched */
	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    (cp->meth = RSA_meth_dup(RSA_get_default_method())) == NULL ||
	    !RSA_meth_set1_name(cp->meth, "openjpki card") ||
	    !RSA_meth_set_priv_enc(cp->meth, priv_enc) ||
	    !RSA_meth_set_priv_dec(cp->meth, priv_dec) ||
	    !RSA_meth_set0_app_data(cp->meth, cp) ||
	    (rsa = RSA_new()) == NULL || !RSA_set0_key(rsa, n, e, NULL)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "card key");
		goto out;
	}
	n = e = NULL; /* transferred */
	/* the method first, so that EVP_PKEY sees a foreign key */
	if (!RSA_set_method(rsa, cp->meth) ||
	    (cp->pkey = EVP_PKEY_new()) == NULL ||
	    !EVP_PKEY_assign_RSA(cp->pkey, rsa)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "card key");
		goto out;
	}
	rsa = NULL; /* transferred */
	*out = cp->pkey;
	*cpp = cp;
	cp = NULL; /* transferred */
out:
	RSA_free(rsa);
	BN_free(n);
	BN_free(e);
	card_pkey_free(cp);
	return rc;
}

int card_pkey_error(const card_pkey *cp, jpki_err *err)
{
	if (cp == NULL || cp->rc == 0)
		return 0;
	if (err != NULL)
		*err = cp->err;
	return cp->rc;
}

unsigned card_pkey_signatures(const card_pkey *cp)
{
	return cp != NULL ? cp->signatures : 0;
}

void card_pkey_free(card_pkey *cp)
{
	if (cp == NULL)
		return;
	EVP_PKEY_free(cp->pkey);
	RSA_meth_free(cp->meth);
	free(cp);
}
