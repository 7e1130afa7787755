/* The card's key through the openjpki provider (src/provider): the same
 * path as any OpenSSL 3 program taking a jpki: URI. */
#ifndef JPKI_CMD_CARD_KEY_H
#define JPKI_CMD_CARD_KEY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openjpki/error.h"

/* Open "jpki:card=IMAGE;key=KEY" (or reader=READER), the PIN taken by
 * cli_take_pin() from pin_value / pin_file / standard input and handed
 * to the provider's prompt; *pkey is the card key, *cert the key's
 * certificate read from the card (caller frees both).  The card stays
 * open (and its PIN verified) until *pkey is freed. */
JPKI_MUST_CHECK int cli_card_key(const char *image, const char *reader,
				 const char *key, char *pin_value,
				 const char *pin_file, EVP_PKEY **pkey,
				 X509 **cert, jpki_err *err);

/* After a failed OpenSSL call with a card key: what the provider (the
 * card) said, else `rc` and err unchanged. */
JPKI_MUST_CHECK int cli_card_key_error(int rc, jpki_err *err);

/* jpki card sign-digests (cmd_card_digests.c). */
struct cli_ctx;
int card_sign_digests_cmd(struct cli_ctx *ctx, int argc, char **argv);

#endif
