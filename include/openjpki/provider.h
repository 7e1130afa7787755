/* openjpki — the card as an OpenSSL 3 key: provider "openjpki".
 *
 * Key management, RSA signature (PKCS#1 v1.5, SHA-256 only: the card's
 * 80 2A signs a DigestInfo) and a STORE loader for URIs
 *   jpki:card=/path/x.img;key=auth      (a card image, in process)
 *   jpki:reader=auto;key=sign           (a card in a PC/SC reader)
 * with the PIN from pin-value=, pin-source=file:PATH or the passphrase
 * callback (prompt) handed to OSSL_STORE.  The same code is the loadable
 * module build/provider/openjpki.so (src/provider/module/entry.c) and a
 * built-in provider of `jpki` (jpki_provider_load). */
#ifndef OPENJPKI_PROVIDER_H
#define OPENJPKI_PROVIDER_H

#include <openssl/core.h>
#include <openssl/types.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_PROVIDER_NAME "openjpki"

/* OSSL_provider_init_fn of the provider. */
int jpki_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx);

/* Load "default" and the built-in "openjpki" into the default library
 * context (once per process). */
JPKI_MUST_CHECK int jpki_provider_load(jpki_err *err);

/* After a failed OpenSSL call on a card key: the jpki_rc and message of
 * the provider's most recent error in the queue (the queue is cleared);
 * 0 when the provider raised none. */
JPKI_MUST_CHECK int jpki_provider_error(jpki_err *err);

/* Build "jpki:card=PATH;key=KEY" or "jpki:reader=NAME;key=KEY" into out
 * (';', '%' and '=' of PATH/NAME percent-encoded). */
JPKI_MUST_CHECK int jpki_provider_uri(const char *image, const char *reader,
				      const char *key, char *out, size_t cap,
				      jpki_err *err);

#ifdef __cplusplus
}
#endif

#endif
