/* keystore, file backend: one PEM file per key, mode 0600, in a directory
 * of mode 0700, written atomically.  The embedded default; the PKCS#11
 * backend implements the same operations for an HSM. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keystore_internal.h"
#include "openjpki/util.h"

#define KEY_FILE_MAX (64 * 1024)

typedef struct fks {
	char dir[PATH_MAX];
} fks;

int ks_file_open(const char *location, void **out, jpki_err *err)
{
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
	fks *ks = calloc(1, sizeof(*ks));
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

static void file_close(void *be)
{
	free(be);
}

static int key_path(const fks *ks, const char *label, char *path, size_t cap,
		    jpki_err *err)
{
	if ((size_t)snprintf(path, cap, "%s/%s.key.pem", ks->dir, label) >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "keystore: path too long");
	return 0;
}

static int file_has(void *be, const char *label, jpki_err *err)
{
	fks *ks = be;
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

static int file_generate(void *be, const char *label, int bits, EVP_PKEY **pub,
			 jpki_err *err)
{
	fks *ks = be;
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	BIO *mem = NULL;
	int rc = key_path(ks, label, path, sizeof(path), err);
	if (rc != 0)
		return rc;
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
	/* not over a key another process made since the check above */
	rc = jpki_file_create_atomic(path, pem, (size_t)len, 0600, err);
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

static int file_load(void *be, const char *label, EVP_PKEY **out, jpki_err *err)
{
	fks *ks = be;
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

/* The key file overwritten with zeros, synced, then removed. */
static int file_destroy(void *be, const char *label, jpki_err *err)
{
	fks *ks = be;
	char path[PATH_MAX];
	int rc = key_path(ks, label, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "keystore: no key \"%s\"", label)
			   : jpki_fail(err, JPKI_ERR_IO,
				       "keystore: open %s: %s", path,
				       strerror(errno));
	struct stat st;
	static const char zeros[4096];
	if (fstat(fd, &st) == 0)
		for (off_t done = 0; done < st.st_size;) {
			size_t n = (size_t)(st.st_size - done) < sizeof(zeros)
				       ? (size_t)(st.st_size - done)
				       : sizeof(zeros);
			ssize_t w = write(fd, zeros, n);
			if (w <= 0)
				break;
			done += w;
		}
	(void)fsync(fd);
	close(fd);
	if (unlink(path) != 0)
		return jpki_fail(err, JPKI_ERR_IO, "keystore: remove %s: %s",
				 path, strerror(errno));
	int dfd = open(ks->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

const keystore_ops ks_file_ops = {
    .close = file_close,
    .generate = file_generate,
    .load = file_load,
    .has = file_has,
    .destroy = file_destroy,
};
