/* keystore, file backend: one PEM file per key, mode 0600, in a directory
 * of mode 0700, written atomically.  The embedded default; the PKCS#11
 * backend implements the same operations for an HSM. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "openjpki/keystore.h"
#include "openjpki/util.h"

#define KEY_FILE_MAX (64 * 1024)

struct keystore {
	char dir[PATH_MAX];
};

int keystore_open(const char *location, keystore **out, jpki_err *err)
{
	if (location == NULL || location[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "keystore: empty location");
	if (strncmp(location, "file:", 5) == 0)
		location += 5;
	else if (strstr(location, "://") != NULL ||
		 strncmp(location, "pkcs11:", 7) == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "keystore: unknown location scheme in \"%s\" "
				 "(this build has the file backend: file:DIR)",
				 location);
	int rc = jpki_mkdirs(location, 0700, err);
	if (rc != 0)
		return rc;
	struct stat st;
	if (stat(location, &st) != 0 || !S_ISDIR(st.st_mode))
		return jpki_fail(err, JPKI_ERR_IO,
				 "keystore: %s is not a directory", location);
	if ((st.st_mode & 0077) != 0 && chmod(location, 0700) != 0)
		return jpki_fail(err, JPKI_ERR_IO,
				 "keystore: cannot restrict %s to 0700: %s",
				 location, strerror(errno));
	keystore *ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if (jpki_strlcpy(ks->dir, location, sizeof(ks->dir)) != 0) {
		free(ks);
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "keystore: path too long");
	}
	*out = ks;
	return 0;
}

void keystore_close(keystore *ks)
{
	free(ks);
}

static int key_path(const keystore *ks, const char *label, char *path,
		    size_t cap, jpki_err *err)
{
	size_t n = strlen(label);
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
	if ((size_t)snprintf(path, cap, "%s/%s.key.pem", ks->dir, label) >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "keystore: path too long");
	return 0;
}

int keystore_has(keystore *ks, const char *label, jpki_err *err)
{
	char path[PATH_MAX];
	int rc = key_path(ks, label, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	struct stat st;
	if (stat(path, &st) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "keystore: no key \"%s\"", label);
	return 0;
}

int keystore_generate(keystore *ks, const char *label, int bits, EVP_PKEY **pub,
		      jpki_err *err)
{
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	BIO *mem = NULL;
	int rc = key_path(ks, label, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	if (bits < 2048)
		return jpki_fail(
		    err, JPKI_ERR_KEY,
		    "keystore: RSA keys must have at least 2048 bits "
		    "(施行規則第2条)");
	struct stat st;
	if (stat(path, &st) == 0)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "keystore: key \"%s\" already exists", label);
	key = EVP_RSA_gen((unsigned)bits);
	if (key == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "keystore: RSA key generation");
		goto out;
	}
	mem = BIO_new(BIO_s_secmem());
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0,
						    NULL, NULL) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "keystore: encoding key");
		goto out;
	}
	char *pem = NULL;
	long len = BIO_get_mem_data(mem, &pem);
	if (len <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "keystore: encoding key");
		goto out;
	}
	rc = jpki_file_write_atomic(path, pem, (size_t)len, 0600, err);
	if (rc != 0)
		goto out;
	if (pub != NULL) {
		*pub = key;
		key = NULL; /* transferred: the private half is fine to hand
			     * back, the caller frees it */
	}
out:
	BIO_free(mem); /* secure heap BIO: cleansed on free */
	EVP_PKEY_free(key);
	return rc;
}

int keystore_load(keystore *ks, const char *label, EVP_PKEY **out,
		  jpki_err *err)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *mem = NULL;
	EVP_PKEY *key = NULL;
	int rc = key_path(ks, label, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 0077) != 0)
		return jpki_fail(
		    err, JPKI_ERR_POLICY,
		    "keystore: %s is readable by others (mode %03o); "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
	rc = jpki_file_read(path, KEY_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		goto out;
	mem = BIO_new_mem_buf(buf, (int)len);
	if (mem == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	key = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL);
	if (key == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "keystore: %s is not a PEM "
			       "private key",
			       path);
		goto out;
	}
	*out = key;
	key = NULL; /* transferred */
out:
	BIO_free(mem);
	jpki_free_secret(buf, len);
	EVP_PKEY_free(key);
	return rc;
}
