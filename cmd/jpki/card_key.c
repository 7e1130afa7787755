/* The card's key through the openjpki provider: jpki loads the provider
 * built in (no module path needed) and opens a jpki: URI with OSSL_STORE,
 * exactly as `openssl pkeyutl -inkey jpki:...` does. */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <string.h>

#include "card_key.h"
#include "cli.h"
#include "openjpki/provider.h"
#include "openjpki/rules.h"

/* pem_password_cb: the PIN already taken (and checked) by cli_take_pin */
static int give_pin(char *buf, int size, int rwflag, void *u)
{
	const char *pin = u;
	size_t n = strlen(pin);
	(void)rwflag;
	if (size <= 0 || n >= (size_t)size)
		return -1;
	memcpy(buf, pin, n);
	return (int)n;
}

int cli_card_key_error(int rc, jpki_err *err)
{
	int prc = jpki_provider_error(err);
	return prc != 0 ? prc : rc;
}

int cli_card_key(const char *image, const char *reader, const char *key,
		 char *pin_value, const char *pin_file, EVP_PKEY **pkey,
		 X509 **cert, jpki_err *err)
{
	char uri[PATH_MAX + 64], pin[CLI_PIN_LINE_MAX];
	UI_METHOD *ui = NULL;
	OSSL_STORE_CTX *st = NULL;
	OSSL_STORE_INFO *info = NULL;
	bool sign = strcmp(key, "sign") == 0;
	int rc;
	*pkey = NULL;
	*cert = NULL;
	if ((rc = jpki_provider_load(err)) != 0 ||
	    (rc = jpki_provider_uri(image, reader, key, uri, sizeof(uri),
				    err)) != 0 ||
	    (rc = cli_take_pin(sign ? JPKI_PIN_SIGN : JPKI_PIN_AUTH, pin_value,
			       pin_file, pin, err)) != 0)
		goto out;
	ERR_clear_error();
	if ((ui = UI_UTIL_wrap_read_pem_callback(give_pin, 0)) == NULL ||
	    (st = OSSL_STORE_open_ex(uri, NULL, NULL, ui, pin, NULL, NULL,
				     NULL)) == NULL) {
		rc = cli_card_key_error(JPKI_ERR_CRYPTO, err);
		if (rc == JPKI_ERR_CRYPTO)
			jpki_fail(err, rc, "cannot open %s", uri);
		goto out;
	}
	while (!OSSL_STORE_eof(st) && (info = OSSL_STORE_load(st)) != NULL) {
		int type = OSSL_STORE_INFO_get_type(info);
		if (type == OSSL_STORE_INFO_PKEY && *pkey == NULL)
			*pkey = OSSL_STORE_INFO_get1_PKEY(info);
		else if (type == OSSL_STORE_INFO_CERT && *cert == NULL)
			*cert = OSSL_STORE_INFO_get1_CERT(info);
		OSSL_STORE_INFO_free(info);
	}
	if (*pkey == NULL || *cert == NULL) {
		rc = cli_card_key_error(JPKI_ERR_CARD, err);
		if (rc == JPKI_ERR_CARD)
			jpki_fail(err, rc,
				  "the card gave no key or certificate");
		goto out;
	}
	ERR_clear_error();
out:
	if (rc != 0) {
		EVP_PKEY_free(*pkey);
		X509_free(*cert);
		*pkey = NULL;
		*cert = NULL;
	}
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}
