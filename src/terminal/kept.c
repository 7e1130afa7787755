/* Virtual cards the service keeps (the test bed's default card): the image
 * of a card made at the counter stays in the CA's store under its serial,
 * so that later applications (issue, renewal, found, PIN reset) complete
 * onto the same card without a reader.  docs/decisions.md "Service-kept
 * virtual cards". */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/terminal.h"
#include "openjpki/util.h"

/* base64 of the image must fit a store setting */
#define KEPT_IMAGE_MAX ((STORE_META_VALUE_MAX - 1) / 4 * 3 - 3)

static int kept_key(const char *serial, char key[STORE_META_KEY_MAX],
		    jpki_err *err)
{
	int n = snprintf(key, STORE_META_KEY_MAX,
			 TERMINAL_KEPT_META_PREFIX "%s", serial);
	if (n < 0 || n >= STORE_META_KEY_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "serial too long");
	return 0;
}

int terminal_kept_put(jpki_ca *ca, const char *serial, const uint8_t *img,
		      size_t len, jpki_err *err)
{
	char key[STORE_META_KEY_MAX];
	int rc = kept_key(serial, key, err);
	if (rc != 0)
		return rc;
	if (len == 0 || len > KEPT_IMAGE_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "card %s: image of %zu bytes cannot be kept "
				 "(at most %d)",
				 serial, len, (int)KEPT_IMAGE_MAX);
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *b64 = malloc(cap);
	if (b64 == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)b64, img, (int)len);
	rc = store_meta_set(ca_store(ca), key, b64, err);
	OPENSSL_cleanse(b64, cap);
	free(b64);
	return rc;
}

int terminal_kept_get(jpki_ca *ca, const char *serial, uint8_t **img,
		      size_t *len, jpki_err *err)
{
	char key[STORE_META_KEY_MAX];
	int rc = kept_key(serial, key, err);
	if (rc != 0)
		return rc;
	char *b64 = malloc(STORE_META_VALUE_MAX);
	uint8_t *out = NULL;
	if (b64 == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	rc = store_meta_get(ca_store(ca), key, b64, STORE_META_VALUE_MAX, err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		rc = jpki_fail(err, rc,
			       "card %s is not kept by the service: complete "
			       "with the card in the counter's reader",
			       serial);
		goto out;
	}
	if (rc != 0)
		goto out;
	size_t n = strlen(b64);
	out = malloc(n / 4 * 3 + 3);
	int got = out != NULL && n % 4 == 0
		      ? EVP_DecodeBlock(out, (unsigned char *)b64, (int)n)
		      : -1;
	if (out == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (got < 0) {
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "the kept image of card %s is damaged", serial);
		goto out;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	size_t pad =
	    n >= 2 && b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0;
	*img = out;
	*len = (size_t)got - pad;
	out = NULL;
out:
	OPENSSL_cleanse(b64, STORE_META_VALUE_MAX);
	free(b64);
	free(out);
	return rc;
}
