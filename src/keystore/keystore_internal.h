/* keystore backends behind include/openjpki/keystore.h. */
#ifndef JPKI_KEYSTORE_INTERNAL_H
#define JPKI_KEYSTORE_INTERNAL_H

#include "openjpki/keystore.h"

typedef struct keystore_ops {
	void (*close)(void *be);
	int (*generate)(void *be, const char *label, int bits, EVP_PKEY **pub,
			jpki_err *err);
	int (*load)(void *be, const char *label, EVP_PKEY **out, jpki_err *err);
	int (*has)(void *be, const char *label, jpki_err *err);
} keystore_ops;

extern const keystore_ops ks_file_ops;
extern const keystore_ops ks_pkcs11_ops;

JPKI_MUST_CHECK int ks_file_open(const char *dir, void **be, jpki_err *err);
/* `spec` is what follows "pkcs11:". */
JPKI_MUST_CHECK int ks_pkcs11_open(const char *spec, void **be, jpki_err *err);

/* [a-z0-9_-], 1 to 64 characters. */
JPKI_MUST_CHECK int ks_label_check(const char *label, jpki_err *err);

/* --- the in-tree OpenSSL provider (p11_provider.c) --- */

/* A private key living in a token: the provider calls these. */
typedef struct ks_p11_key ks_p11_key;
/* PKCS#1 v1.5 over `digestinfo` (CKM_RSA_PKCS), *siglen in/out. */
JPKI_MUST_CHECK int ks_p11_key_sign(ks_p11_key *k,
				    const unsigned char *digestinfo, size_t len,
				    unsigned char *sig, size_t *siglen);
void ks_p11_key_ref(ks_p11_key *k);
void ks_p11_key_unref(ks_p11_key *k);

/* An EVP_PKEY whose public half is (n, e) and whose private operations go
 * to `k` (a reference is taken). */
JPKI_MUST_CHECK int ks_p11_pkey_new(ks_p11_key *k, const BIGNUM *n,
				    const BIGNUM *e, EVP_PKEY **out,
				    jpki_err *err);

#endif
