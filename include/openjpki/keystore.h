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
/* Remove the key `label`: only for a key just made whose use was
 * abandoned (a rollover that failed before it committed), so that the
 * label is free again.  JPKI_ERR_NOT_FOUND if there is none; the signer
 * keystore refuses (JPKI_ERR_STATE). */
JPKI_MUST_CHECK int keystore_destroy(keystore *ks, const char *label,
				     jpki_err *err);

/* --- the signer process (docs/design.md, "The signer process") ---
 *
 * "signer:" is a keystore whose keys live in jpki-signer, a child process
 * the program starts with keystore_signer_start: each key is an EVP_PKEY
 * of the in-tree provider whose signing sends the whole message (a
 * TBSCertificate, TBSCertList, OCSP ResponseData or audit checkpoint) over
 * a socketpair, where the signer checks it and signs.  Such a key refuses
 * EVP_PKEY_sign over a bare hash: callers use EVP_DigestSign* when
 * keystore_signs_messages says so.  A signer that dies is started again;
 * a request caught by its death is sent once more to the new one.  The
 * program's threads have up to `links` requests in the signer at once. */
typedef struct keystore_signer_opts {
	const char *exe;	 /* the jpki-signer program */
	const char *const *argv; /* its arguments after argv[0], NULL-ended;
				   "--fd 3 --workers N" is added (the
				   sockets) */
	unsigned links;		 /* requests in flight at once, each on its own
				    socketpair to its own signer worker (0: the
				    number of CPUs; at most 16) */
} keystore_signer_opts;
JPKI_MUST_CHECK int keystore_signer_start(const keystore_signer_opts *o,
					  jpki_err *err);
/* Stop the signer (SIGTERM by its pid) and its watcher; idempotent. */
void keystore_signer_stop(void);
/* The signer's pid (0 when none), and how many times it was restarted. */
int keystore_signer_pid(void);
unsigned keystore_signer_restarts(void);
/* Whether the keystore's keys sign whole messages (the signer). */
int keystore_signs_messages(const keystore *ks);
/* After a failed signature on this thread: the signer's refusal as an
 * error (JPKI_ERR_BUSY over its rate, JPKI_ERR_POLICY when it refused the
 * object, ...) into *err, and its code; 0 when the failure was not a
 * refusal by the signer.  Clears it. */
JPKI_MUST_CHECK int keystore_take_refusal(jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
