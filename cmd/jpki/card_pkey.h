/* jpki sign: an EVP_PKEY whose private-key operation is done by the card
 * (80 2A 00 80 over a DigestInfo), so that OpenSSL's CMS code can sign
 * with a key that never leaves the card. */
#ifndef JPKI_CARD_PKEY_H
#define JPKI_CARD_PKEY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openjpki/card.h"
#include "openjpki/error.h"

typedef struct card_pkey card_pkey;

/* A key for `cert` (the card's certificate of `key`) that signs through
 * `link`; the PIN guarding the key must be verified before signing.  It
 * refuses anything but PKCS#1 v1.5 over a DER DigestInfo of SHA-256 (the
 * card pads).  *out is borrowed from *cp (valid until card_pkey_free). */
int card_pkey_new(const jpki_link *link, jpki_card_key key, X509 *cert,
		  card_pkey **cp, EVP_PKEY **out, jpki_err *err);

/* 0, or the error of the last card operation (err filled in). */
int card_pkey_error(const card_pkey *cp, jpki_err *err);

/* How many signatures the card made through this key. */
unsigned card_pkey_signatures(const card_pkey *cp);

void card_pkey_free(card_pkey *cp); /* NULL is fine */

#endif
