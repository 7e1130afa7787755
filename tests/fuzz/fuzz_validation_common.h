/* Shared by the validation fuzzers: the fixed trust material of
 * validation_fixture.h, parsed once per process, and a fresh validator
 * per input (so that a replayed input behaves as it did while fuzzing). */
#ifndef OPENJPKI_FUZZ_VALIDATION_COMMON_H
#define OPENJPKI_FUZZ_VALIDATION_COMMON_H

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openjpki/validation.h"
#include "validation_fixture.h"

typedef struct fz_fixture {
	X509 *sign_root, *auth_root, *leaf, *revoked;
	char crl_path[64];
	time_t now;
	const char *dp; /* the leaf's partition, RFC 2253 */
} fz_fixture;

static X509 *fz_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

/* The CRL goes to a temporary file once: the validator reads CRLs from
 * files or URLs. */
static void fz_crl_file(char path[64])
{
	BIO *b = BIO_new_mem_buf(fx_crl_pem, -1);
	X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = crl ? i2d_X509_CRL(crl, &der) : -1;
	snprintf(path, 64, "/tmp/jpki-fuzz-crl-XXXXXX");
	int fd = len > 0 ? mkstemp(path) : -1;
	if (fd < 0 || write(fd, der, (size_t)len) != len)
		abort();
	close(fd);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	BIO_free(b);
}

static void fz_cleanup(void);
static fz_fixture fz;

static void fz_cleanup(void)
{
	unlink(fz.crl_path);
	X509_free(fz.sign_root);
	X509_free(fz.auth_root);
	X509_free(fz.leaf);
	X509_free(fz.revoked);
}

static const fz_fixture *fz_get(void)
{
	static int done;
	if (!done) {
		jpki_err err = {0};
		if (x509_init(&err) != 0 ||
		    jpki_time_parse(FX_NOW_TEXT, &fz.now))
			abort();
		fz.sign_root = fz_pem(fx_sign_root_pem);
		fz.auth_root = fz_pem(fx_auth_root_pem);
		fz.leaf = fz_pem(fx_leaf_pem);
		fz.revoked = fz_pem(fx_revoked_pem);
		fz_crl_file(fz.crl_path);
		fz.dp = "CN=Kiyose-shi CRLDP,OU=Tokyo-to,OU=CRL Distribution "
			"Points,OU=JPKI for digital signature,O=JPKI-TEST,C=JP";
		atexit(fz_cleanup);
		done = 1;
	}
	return &fz;
}

/* Both roots trusted; the CRL mapped when `crl`. */
static jpki_validator *fz_validator(const fz_fixture *f, int crl)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	if (val_new(&v, &err) != 0 ||
	    val_add_root(v, f->sign_root, &err) != 0 ||
	    val_add_root(v, f->auth_root, &err) != 0 ||
	    (crl && val_map_crl(v, f->dp, f->crl_path, &err) != 0))
		abort();
	return v;
}

#endif
