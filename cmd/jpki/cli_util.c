/* Shared plumbing of the jpki subcommands. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/util.h"
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
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			return 1;
		}
	}
	return 0;
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

static json_t *name_json(const X509_NAME *n)
{
	char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return json_null();
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int len = BIO_read(b, buf, sizeof(buf) - 1);
	BIO_free(b);
	buf[len > 0 ? len : 0] = '\0';
	return json_string(buf);
}

static json_t *time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char s[21];
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	jpki_time_format(timegm(&tm), s);
	return json_string(s);
}

json_t *cli_cert_json(X509 *cert)
{
	json_t *o = json_object();
	char sn[STORE_SERIAL_HEX_MAX];
	jpki_cert_kind kind;
	jpki_profile prof;
	bool root = false;
	if (ca_serial_hex(cert, sn, NULL) == 0)
		json_object_set_new(o, "serial", json_string(sn));
	json_object_set_new(o, "subject", name_json(X509_get_subject_name(cert)));
	json_object_set_new(o, "issuer", name_json(X509_get_issuer_name(cert)));
	json_object_set_new(o, "not_before", time_json(X509_get0_notBefore(cert)));
	json_object_set_new(o, "not_after", time_json(X509_get0_notAfter(cert)));
	if (x509_classify(cert, &kind, &prof, &root, NULL) == 0) {
		json_object_set_new(o, "kind", json_string(jpki_cert_kind_name(kind)));
		json_object_set_new(o, "profile", json_string(jpki_profile_name(prof)));
		json_object_set_new(o, "root", json_boolean(root));
	}
	jpki_basic4 *b4 = calloc(1, sizeof(*b4));
	jpki_err err = {0};
	if (b4 != NULL && x509_basic4_decode(cert, b4, &err) == 0) {
		json_t *j = json_object();
		json_object_set_new(j, "name", json_string(b4->name));
		json_object_set_new(j, "name_substitute", json_string(b4->name_subst));
		json_object_set_new(j, "sex", json_string(b4->sex));
		json_object_set_new(j, "birth_era_coded", json_string(b4->birth));
		jpki_date bd;
		int era = 0;
		if (rules_era_date_parse(b4->birth, &bd, &era, NULL) == 0) {
			char d[11];
			jpki_date_format(bd, d);
			json_object_set_new(j, "birth", json_string(d));
			json_object_set_new(j, "birth_era", json_string(rules_era_name(era)));
		}
		json_object_set_new(j, "address", json_string(b4->address));
		json_object_set_new(j, "address_substitute",
				    json_string(b4->address_subst));
		json_object_set_new(o, "basic4", j);
	}
	free(b4);
	return o;
}
