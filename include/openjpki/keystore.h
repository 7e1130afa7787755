/* openjpki — CA signing keys behind one interface.
 *
 * The file backend (embedded default) keeps each key as a PEM file of mode
 * 0600 in a directory of mode 0700, written atomically.  A PKCS#11 backend
 * (SoftHSM2 in tests, an HSM in production) will implement the same
 * operations; callers only ever see an EVP_PKEY handle, which OpenSSL 3 can
 * back by a provider. */
#ifndef OPENJPKI_KEYSTORE_H
#define OPENJPKI_KEYSTORE_H

#include <openssl/evp.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct keystore keystore;

/* "file:DIR" or a plain directory path. */
JPKI_MUST_CHECK int keystore_open(const char *location, keystore **out,
				  jpki_err *err);
void keystore_close(keystore *ks);
/* Generate an RSA key of `bits` under `label` ([a-z0-9_-], <= 64 chars);
 * JPKI_ERR_EXISTS if the label is taken.  *pub (optional) receives the
 * public key (caller frees with EVP_PKEY_free). */
JPKI_MUST_CHECK int keystore_generate(keystore *ks, const char *label, int bits,
				      EVP_PKEY **pub, jpki_err *err);
/* Load the private key `label` for signing.  Caller frees with
 * EVP_PKEY_free (OpenSSL zeroes RSA key material on free). */
JPKI_MUST_CHECK int keystore_load(keystore *ks, const char *label,
				  EVP_PKEY **out, jpki_err *err);
/* Whether the label exists (0 yes, JPKI_ERR_NOT_FOUND no). */
JPKI_MUST_CHECK int keystore_has(keystore *ks, const char *label,
				 jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
