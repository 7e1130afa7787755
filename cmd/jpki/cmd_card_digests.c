/* jpki card sign-digests: SHA-256 digests signed with a card key (80 2A,
 * PKCS#1 v1.5), as the マイナポータル helper does for log-in bridges:
 * {"key", "certificate" (PEM), "signatures": [{"digest", "signature"}]}.
 * jpkid's POST /api/v1/verify takes one digest, its signature and the
 * certificate.  The key is reached through the openjpki provider. */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_key.h"
#include "cli.h"

#define DIGESTS_MAX 1000

static const char help[] =
    "usage: jpki card sign-digests --key auth|sign\n"
    "         (--card CARD.img | --reader NAME|auto)\n"
    "         [--pin PIN | --pin-file FILE] [DIGEST_HEX...]\n\n"
    "Signs each SHA-256 digest (64 hex digits; from the arguments, else\n"
    "whitespace-separated on standard input, at most 1000) with the\n"
    "card's authentication key or signature key (PKCS#1 v1.5 over the\n"
    "SHA-256 DigestInfo, the card's 80 2A).  Prints one JSON object:\n"
    "  {\"key\": ..., \"certificate\": PEM,\n"
    "   \"signatures\": [{\"digest\": HEX, \"signature\": BASE64}, ...]}\n"
    "Each entry, with the certificate, is what POST /api/v1/verify of\n"
    "jpkid checks.  With digests on standard input give the PIN by\n"
    "--pin or --pin-file FILE.\n";

static int parse_hex(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return 0;
	for (size_t i = 0; i < 32; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	return 1;
}

/* Digests from standard input: whitespace-separated words. */
static int read_stdin(char ***words, size_t *n, jpki_err *err)
{
	char w[80];
	size_t cap = 0;
	int c, len = 0;
	*words = NULL;
	*n = 0;
	for (;;) {
		c = getchar();
		if (c == EOF || isspace(c)) {
			if (len > 0) {
				char **nw;
				if (*n >= DIGESTS_MAX)
					return jpki_fail(err, JPKI_ERR_RANGE,
							 "more than %d digests",
							 DIGESTS_MAX);
				if (*n == cap) {
					cap = cap ? cap * 2 : 16;
					nw = realloc(*words, cap * sizeof(*nw));
					if (nw == NULL)
						return jpki_fail(
						    err, JPKI_ERR_NOMEM,
						    "out of memory");
					*words = nw;
				}
				w[len] = '\0';
				if (((*words)[*n] = strdup(w)) == NULL)
					return jpki_fail(err, JPKI_ERR_NOMEM,
							 "out of memory");
				(*n)++;
				len = 0;
			}
			if (c == EOF)
				return 0;
			continue;
		}
		if (len >= (int)sizeof(w) - 1)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "a digest is 64 hex digits");
		w[len++] = (char)c;
	}
}

static json_t *cert_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;
	json_t *s = NULL;
	if (b != NULL && PEM_write_bio_X509(b, cert) == 1 &&
	    (len = BIO_get_mem_data(b, &p)) > 0)
		s = json_stringn(p, (size_t)len);
	BIO_free(b);
	return s;
}

int card_sign_digests_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"card", required_argument, NULL, 'c'},
	    {"reader", required_argument, NULL, 'R'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0}};
	const char *key = NULL, *image = NULL, *reader = NULL;
	const char *pin_file = NULL;
	char *pin = NULL, **words = NULL, **list;
	size_t nwords = 0, n;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	X509 *cert = NULL;
	json_t *out = NULL, *sigs;
	jpki_err err = {0};
	int c, rc = 0;
	if (cli_want_help(argc, argv, help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'c': image = optarg; break;
		case 'R': reader = optarg; break;
		case 'p': pin = optarg; break;
		case 'P': pin_file = optarg; break;
		default: return 2;
		}
	}
	if (key == NULL || (strcmp(key, "auth") != 0 && strcmp(key, "sign")))
		return cli_usage_error("sign-digests: --key auth or sign");
	if ((image != NULL) == (reader != NULL))
		return cli_usage_error(
		    "sign-digests: give --card CARD.img or --reader");
	if (optind < argc) {
		list = argv + optind;
		n = (size_t)(argc - optind);
		if (n > DIGESTS_MAX)
			return cli_usage_error("sign-digests: more than %d "
					       "digests",
					       DIGESTS_MAX);
	} else {
		if (pin == NULL &&
		    (pin_file == NULL || strcmp(pin_file, "-") == 0))
			return cli_usage_error(
			    "sign-digests: digests on standard input need "
			    "--pin or --pin-file FILE");
		if ((rc = read_stdin(&words, &nwords, &err)) != 0)
			goto out;
		list = words;
		n = nwords;
	}
	if (n == 0) {
		rc = jpki_fail(&err, JPKI_ERR_INVAL, "no digests given");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t h[32];
		if (!parse_hex(list[i], h)) {
			rc = jpki_fail(&err, JPKI_ERR_INVAL,
				       "digest %zu is not 64 hex digits "
				       "(SHA-256)",
				       i + 1);
			goto out;
		}
	}
	if ((rc = cli_card_key(image, reader, key, pin, pin_file, &pkey, &cert,
			       &err)) != 0)
		goto out;
	out = json_object();
	sigs = json_array();
	json_object_set_new(out, "key", json_string(key));
	json_object_set_new(out, "certificate", cert_pem(cert));
	json_object_set_new(out, "signatures", sigs);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[32], sig[512];
		char b64[700], hex[65];
		size_t slen = sizeof(sig);
		parse_hex(list[i], h);
		EVP_PKEY_CTX_free(pctx);
		if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ==
			NULL ||
		    EVP_PKEY_sign_init(pctx) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) <= 0 ||
		    EVP_PKEY_sign(pctx, sig, &slen, h, sizeof(h)) <= 0) {
			rc = cli_card_key_error(JPKI_ERR_CRYPTO, &err);
			if (rc == JPKI_ERR_CRYPTO)
				jpki_fail(&err, rc, "signing digest %zu",
					  i + 1);
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)slen);
		for (size_t j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", h[j]);
		json_t *o = json_object();
		json_object_set_new(o, "digest", json_string(hex));
		json_object_set_new(o, "signature", json_string(b64));
		json_array_append_new(sigs, o);
	}
	cli_print_json(out);
	out = NULL;
out:
	json_decref(out);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	for (size_t i = 0; i < nwords; i++)
		free(words[i]);
	free(words);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}
