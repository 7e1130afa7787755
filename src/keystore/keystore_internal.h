/* keystore backends behind include/openjpki/keystore.h. */
#ifndef JPKI_KEYSTORE_INTERNAL_H
#define JPKI_KEYSTORE_INTERNAL_H

#include "openjpki/buf.h"
#include "openjpki/keystore.h"

typedef struct keystore_ops {
	void (*close)(void *be);
	int (*generate)(void *be, const char *label, int bits, EVP_PKEY **pub,
			jpki_err *err);
	int (*load)(void *be, const char *label, EVP_PKEY **out, jpki_err *err);
	int (*has)(void *be, const char *label, jpki_err *err);
	/* NULL: the backend cannot remove keys */
	int (*destroy)(void *be, const char *label, jpki_err *err);
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

/* A key held elsewhere, behind the same provider: either it signs a
 * DigestInfo (a PKCS#11 token) or it takes the whole message and hashes it
 * itself (the signer process, which must read what it signs).  A message
 * key refuses EVP_PKEY_sign over a bare hash; EVP_DigestSign* collect the
 * message (at most KS_MESSAGE_MAX octets) and hand it over at the end. */
#define KS_MESSAGE_MAX (64u << 20)
typedef struct ks_key_ops {
	int (*sign_digestinfo)(void *k, const unsigned char *di, size_t len,
			       unsigned char *sig, size_t *siglen);
	int (*sign_message)(void *k, const unsigned char *msg, size_t len,
			    unsigned char *sig, size_t *siglen);
	void (*ref)(void *k);
	void (*unref)(void *k);
} ks_key_ops;
typedef struct ks_key_ref {
	const ks_key_ops *ops;
	void *key;
} ks_key_ref;
JPKI_MUST_CHECK int ks_remote_pkey_new(const ks_key_ops *ops, void *k,
				       const BIGNUM *n, const BIGNUM *e,
				       EVP_PKEY **out, jpki_err *err);

/* --- the signer client (signer_client.c) --- */
extern const keystore_ops ks_signer_ops;
/* `spec` is what follows "signer:" (empty: the process's signer link). */
JPKI_MUST_CHECK int ks_signer_open(const char *spec, void **be, jpki_err *err);

#endif
