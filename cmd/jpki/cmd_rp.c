/* jpki rp: relying parties of jpkid's 最新の基本4情報 service (their API
 * keys), and jpki consent: the text a holder signs to consent
 * (src/server/api_basic4.c, docs/decisions.md). */
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "openjpki/ca.h"
#include "openjpki/date.h"
#include "openjpki/util.h"

#define RP_NAME_MAX 32

static const char rp_help[] =
    "usage: jpki rp add NAME\n"
    "       jpki rp remove NAME\n\n"
    "Relying parties of jpkid's latest basic-4 service (最新の基本4情報,\n"
    "POST /api/v1/basic4/latest).  add records a new API key for NAME\n"
    "(1-32 of a-z, 0-9, '-') and prints it once: NAME.SECRET, 256 random\n"
    "bits; the store keeps only SHA-256(SECRET).  The relying party sends\n"
    "it as \"Authorization: Bearer NAME.SECRET\".  add again replaces the\n"
    "key; remove withdraws it.\n";

static const char consent_help[] =
    "usage: jpki consent --old-serial HEX --rp NAME --nonce NONCE\n"
    "         [--date YYYY-MM-DD] [--out FILE]\n\n"
    "Print the holder's consent to relying party NAME learning the current\n"
    "basic-4 data of the holder of the revoked signature certificate HEX:\n"
    "  openjpki-basic4-consent-v1\\nold-serial=HEX\\nrelying-party=NAME\\n\n"
    "  date=YYYY-MM-DD\\nnonce=NONCE\\n\n"
    "(the date defaults to today in JST; NONCE from POST\n"
    "/api/v1/basic4/challenge).  The holder signs it with the card's\n"
    "current signature certificate: jpki sign --in FILE ... (detached).\n";

static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	return len >= 1 && len <= RP_NAME_MAX && n[0] != '-' &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static void b64url(const uint8_t *in, size_t len, char *out, size_t cap)
{
	out[0] = '\0';
	if (cap < (len + 2) / 3 * 4 + 1)
		return;
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (n < 0) {
		out[0] = '\0';
		return;
	}
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

int cmd_rp(cli_ctx *ctx, int argc, char **argv)
{
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	uint8_t secret[32], md[32];
	unsigned md_len = 0;
	char key[64], b64[64], hex[65], full[RP_NAME_MAX + 64];
	int rc = 0;
	if (cli_want_help(argc, argv, rp_help))
		return 0;
	if (argc != 3 ||
	    (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "remove") != 0))
		return cli_usage_error("rp: add NAME or remove NAME");
	const char *name = argv[2];
	bool add = strcmp(argv[1], "add") == 0;
	if (!name_ok(name))
		return cli_usage_error("rp: NAME is 1-32 of a-z, 0-9 and '-', "
				       "not starting with '-'");
	snprintf(key, sizeof(key), "rp-key/%s", name);
	hex[0] = '\0';
	if (add) {
		if ((rc = jpki_random(secret, sizeof(secret), &err)) != 0)
			goto out;
		b64url(secret, sizeof(secret), b64, sizeof(b64));
		if (EVP_Digest(b64, strlen(b64), md, &md_len, EVP_sha256(),
			       NULL) != 1 ||
		    md_len != sizeof(md)) {
			rc = jpki_fail(&err, JPKI_ERR_CRYPTO, "SHA-256");
			goto out;
		}
		jpki_hex(md, sizeof(md), hex);
	}
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0 ||
	    (rc = store_meta_set(ca_store(ca), key, hex, &err)) != 0)
		goto out;
	if (add) {
		snprintf(full, sizeof(full), "%s.%s", name, b64);
		if (ctx->json) {
			json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 1, "name",
					      name, "key", full);
			cli_print_json(o);
		} else {
			printf("relying party %s: key %s\n", name, full);
		}
		OPENSSL_cleanse(full, sizeof(full));
	} else if (ctx->json) {
		cli_print_json(
		    json_pack("{s:b,s:s}", "ok", 1, "removed", name));
	} else {
		printf("relying party %s: key withdrawn\n", name);
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(b64, sizeof(b64));
	ca_close(ca);
	return rc != 0 ? cli_error(ctx, rc, &err) : 0;
}

int cmd_consent(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"old-serial", required_argument, NULL, 's'},
	    {"rp", required_argument, NULL, 'r'},
	    {"nonce", required_argument, NULL, 'n'},
	    {"date", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	const char *serial = NULL, *rp = NULL, *nonce = NULL, *date = NULL;
	const char *out = NULL;
	char day[11], text[512];
	jpki_date d;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, consent_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': serial = optarg; break;
		case 'r': rp = optarg; break;
		case 'n': nonce = optarg; break;
		case 'd': date = optarg; break;
		case 'o': out = optarg; break;
		default: return 2;
		}
	}
	if (serial == NULL || rp == NULL || nonce == NULL || optind != argc)
		return cli_usage_error(
		    "consent: --old-serial, --rp and --nonce are required");
	size_t sl = strlen(serial);
	if (sl == 0 || sl > 40 || strspn(serial, "0123456789ABCDEF") != sl)
		return cli_usage_error(
		    "consent: --old-serial is upper-case hex "
		    "(at most 40 digits)");
	if (!name_ok(rp))
		return cli_usage_error(
		    "consent: --rp is 1-32 of a-z, 0-9, '-'");
	if (strlen(nonce) != 43 ||
	    strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789-_") != 43)
		return cli_usage_error("consent: --nonce is the 43-character "
				       "base64url nonce of the challenge");
	if (date != NULL && jpki_date_parse(date, &d) != 0)
		return cli_usage_error("consent: --date is YYYY-MM-DD");
	if (date == NULL)
		d = jpki_date_of(ctx->now);
	jpki_date_format(d, day);
	int n = snprintf(text, sizeof(text),
			 "openjpki-basic4-consent-v1\nold-serial=%s\n"
			 "relying-party=%s\ndate=%s\nnonce=%s\n",
			 serial, rp, day, nonce);
	if (n < 0 || (size_t)n >= sizeof(text))
		return cli_usage_error("consent: too long");
	if (out == NULL) {
		fputs(text, stdout);
		return 0;
	}
	if ((rc = jpki_file_write_atomic(out, (const uint8_t *)text, (size_t)n,
					 0644, &err)) != 0)
		return cli_error(ctx, rc, &err);
	return 0;
}
