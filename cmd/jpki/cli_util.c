/* Shared plumbing of the jpki subcommands. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/x509.h"

int cli_open_ca(cli_ctx *ctx, jpki_ca **out, jpki_err *err)
{
	jpki_ca *ca = NULL;
	int rc = ca_open(ctx->dir, getenv("JPKI_STORE"), &ca, err);
	if (rc != 0)
		return rc;
	if ((rc = ca_check_clock(ca, ctx->now_fixed, err)) != 0) {
		ca_close(ca);
		return rc;
	}
	*out = ca;
	return 0;
}

void cli_print_json(json_t *obj)
{
	if (obj == NULL)
		return;
	char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(obj);
}

int cli_want_help(int argc, char **argv, const char *help)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			return 1;
		}
	}
	return 0;
}

int cli_family_help(int argc, char **argv, const char *help)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	return -1;
}

#define CLI_FILE_MAX (1u << 20)

int cli_read_pubkey(const char *path, EVP_PKEY **out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = jpki_file_read(path, CLI_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	if (b == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	key = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	if (key == NULL) {
		(void)BIO_reset(b);
		key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	}
	if (key == NULL && x509_from_bytes(buf, len, &cert, NULL) == 0) {
		key = X509_get_pubkey(cert);
	}
	if (key == NULL) {
		const unsigned char *p = buf;
		key = d2i_PUBKEY(NULL, &p, (long)len);
	}
	ERR_clear_error();
	if (key == NULL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "%s: no public key (expected PEM/DER "
			       "SubjectPublicKeyInfo)",
			       path);
		goto out;
	}
	*out = key;
	key = NULL; /* transferred */
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(b);
	jpki_free_secret(buf, len);
	return rc;
}

int cli_read_cert(const char *path, X509 **out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = jpki_file_read(path, CLI_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	rc = x509_from_bytes(buf, len, out, err);
	if (rc != 0)
		jpki_wrap(err, rc, "%s", path);
	free(buf);
	return rc;
}

int cli_write_cert(const char *path, X509 *cert, jpki_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = 0;
	if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding certificate");
		goto out;
	}
	char *p = NULL;
	long len = BIO_get_mem_data(mem, &p);
	rc = jpki_file_write_atomic(path, p, (size_t)len, 0644, err);
out:
	BIO_free(mem);
	return rc;
}

json_t *cli_cert_json(X509 *cert)
{
	return val_cert_json(cert);
}
