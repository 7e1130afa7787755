/* keystore: pick the backend from the location (docs/decisions.md,
 * "PKCS#11 keystore").  "file:DIR" or a plain path is the file backend;
 * "pkcs11:module=...;token=...;pin-source=..." the PKCS#11 one. */
#include <stdlib.h>
#include <string.h>

#include "keystore_internal.h"

struct keystore {
	const keystore_ops *ops;
	void *be;
};

int ks_label_check(const char *label, jpki_err *err)
{
	size_t n = label == NULL ? 0 : strlen(label);
	if (n == 0 || n > 64)
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "keystore: key label must be 1 to 64 characters");
	for (size_t i = 0; i < n; i++) {
		char c = label[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "keystore: key label may contain only "
					 "a-z, 0-9, '-' and '_'");
	}
	return 0;
}

int keystore_open(const char *location, keystore **out, jpki_err *err)
{
	const keystore_ops *ops;
	void *be = NULL;
	int rc;
	if (location == NULL || location[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "keystore: empty location");
	if (strncmp(location, "pkcs11:", 7) == 0) {
		ops = &ks_pkcs11_ops;
		rc = ks_pkcs11_open(location + 7, &be, err);
	} else if (strncmp(location, "signer:", 7) == 0) {
		ops = &ks_signer_ops;
		rc = ks_signer_open(location + 7, &be, err);
	} else {
		if (strncmp(location, "file:", 5) == 0)
			location += 5;
		else if (strstr(location, "://") != NULL)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "keystore: unknown location scheme in "
					 "\"%s\" (file:DIR, pkcs11:... or "
					 "signer:)",
					 location);
		ops = &ks_file_ops;
		rc = ks_file_open(location, &be, err);
	}
	if (rc != 0)
		return rc;
	keystore *ks = calloc(1, sizeof(*ks));
	if (ks == NULL) {
		ops->close(be);
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
	ks->ops = ops;
	ks->be = be;
	*out = ks;
	return 0;
}

void keystore_close(keystore *ks)
{
	if (ks == NULL)
		return;
	ks->ops->close(ks->be);
	free(ks);
}

int keystore_generate(keystore *ks, const char *label, int bits, EVP_PKEY **pub,
		      jpki_err *err)
{
	int rc = ks_label_check(label, err);
	if (rc != 0)
		return rc;
	if (bits < 2048)
		return jpki_fail(
		    err, JPKI_ERR_KEY,
		    "keystore: RSA keys must have at least 2048 bits "
		    "(施行規則第2条)");
	return ks->ops->generate(ks->be, label, bits, pub, err);
}

int keystore_load(keystore *ks, const char *label, EVP_PKEY **out,
		  jpki_err *err)
{
	int rc = ks_label_check(label, err);
	if (rc != 0)
		return rc;
	return ks->ops->load(ks->be, label, out, err);
}

int keystore_signs_messages(const keystore *ks)
{
	return ks != NULL && ks->ops == &ks_signer_ops;
}

int keystore_has(keystore *ks, const char *label, jpki_err *err)
{
	int rc = ks_label_check(label, err);
	if (rc != 0)
		return rc;
	return ks->ops->has(ks->be, label, err);
}

int keystore_destroy(keystore *ks, const char *label, jpki_err *err)
{
	int rc = ks_label_check(label, err);
	if (rc != 0)
		return rc;
	if (ks->ops->destroy == NULL)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "keystore: this keystore cannot remove keys");
	return ks->ops->destroy(ks->be, label, err);
}
