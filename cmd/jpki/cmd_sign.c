/* jpki sign: a CMS SignedData (RFC 5652) made with the card's signature
 * key after its PIN -- or with a software key, for tests and to show
 * interoperability.  SHA-256, signingTime, the signer's certificate
 * included; detached unless --attached. */
/* pem.h first: cms.h declares the CMS PEM functions only after it */
#include <openssl/pem.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "card_key.h"
#include "cli.h"
#include "doc_common.h"
#include "openjpki/card.h"
#include "openjpki/transport.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/validation.h"

#define PIN_LINE_MAX CLI_PIN_LINE_MAX
/* attached content must leave room for the CMS around it, so that our
 * own verifier (VAL_CMS_MAX) accepts the result */
#define ATTACHED_MAX (VAL_CMS_MAX - 64u * 1024)

static const char sign_help[] =
    "usage: jpki sign --in FILE [--out FILE.p7s] [--attached] [--pem]\n"
    "         (CARD.img | --card CARD.img | --reader NAME|auto)\n"
    "         [--pin PIN | --pin-file FILE] [--tsa URL]\n"
    "       jpki sign --in FILE --key KEY.pem --cert CERT.pem [...]\n\n"
    "Sign FILE as a CMS SignedData (RFC 5652): SHA-256, RSA PKCS#1 v1.5,\n"
    "signed attributes contentType, messageDigest and signingTime, the\n"
    "signer's certificate included.  Detached (the .p7s holds no content)\n"
    "unless --attached.  Output DER (default FILE.p7s) or PEM with --pem.\n\n"
    "With a card (an image file, or a card in a PC/SC reader) the\n"
    "signature certificate is read off the card and the card signs a\n"
    "DigestInfo with its signature key (80 2A 00 80) after the signature\n"
    "PIN (署名用電子証明書暗証番号): --pin, --pin-file (first line; '-' =\n"
    "standard input), or a line of standard input.  --key/--cert sign with\n"
    "a software key instead.  The clock (signingTime) is --now if given.\n"
    "--tsa URL adds a signature time-stamp (CAdES-T): the RFC 3161 TSA at\n"
    "URL (http://; jpkid serves one at /tsa) stamps the signature value,\n"
    "and the token goes in the unsigned attribute\n"
    "id-aa-signatureTimeStampToken.  `jpki verify` then judges the signer\n"
    "at the time-stamp's time.\n";

/* A line of standard input; on a terminal with a prompt and no echo. */
static int ask_pin(const char *prompt, char *buf, size_t cap, jpki_err *err)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n = 0;
	int rc = 0;
	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = jpki_fail(err, JPKI_ERR_IO, "reading the PIN: %s",
				       strerror(errno));
			break;
		}
		if (r == 0 || ch == '\n')
			break;
		if (n + 1 >= cap) {
			rc = jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				       "PIN line too long");
			break;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc == 0 && n == 0)
		rc = jpki_fail(err, JPKI_ERR_PIN_FORMAT, "no PIN given");
	return rc;
}

int cli_take_pin(jpki_pin_kind kind, char *value, const char *file,
		 char out[CLI_PIN_LINE_MAX], jpki_err *err)
{
	const char *what =
	    kind == JPKI_PIN_AUTH ? "authentication PIN" : "signature PIN";
	char norm[JPKI_PIN_MAX + 1];
	int rc = 0;
	out[0] = '\0';
	if (value != NULL) {
		if (jpki_strlcpy(out, value, PIN_LINE_MAX) != 0)
			rc =
			    jpki_fail(err, JPKI_ERR_PIN_FORMAT, "PIN too long");
		/* keep it out of /proc/PID/cmdline from now on */
		OPENSSL_cleanse(value, strlen(value));
	} else if (file != NULL && strcmp(file, "-") != 0) {
		uint8_t *data = NULL;
		size_t len = 0, n = 0;
		if ((rc = jpki_file_read(file, 4096, &data, &len, err)) != 0)
			return rc;
		while (n < len && data[n] != '\n' && data[n] != '\r')
			n++;
		if (n == 0 || n >= PIN_LINE_MAX) {
			rc = jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				       "%s holds no PIN on its first line",
				       file);
		} else {
			memcpy(out, data, n);
			out[n] = '\0';
		}
		jpki_free_secret(data, len);
	} else {
		rc = ask_pin(kind == JPKI_PIN_AUTH
				 ? "authentication PIN "
				   "(利用者証明用電子証明書暗証番号): "
				 : "signature PIN (署名用電子証明書暗証番号): ",
			     out, PIN_LINE_MAX, err);
	}
	if (rc == 0 &&
	    (rc = rules_pin_check(kind, out, norm, sizeof(norm), err)) == 0)
		memcpy(out, norm, strlen(norm) + 1);
	else if (rc == JPKI_ERR_PIN_FORMAT)
		jpki_wrap(err, rc, "%s (not sent to the card)", what);
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

/* ------------------------------------------------------------------ */
/* The card                                                            */

int cli_card_open(const char *image, const char *reader, cli_card *c,
		  jpki_err *err)
{
	int rc;
	memset(c, 0, sizeof(*c));
	if (reader != NULL) {
		if ((rc = transport_pcsc_open(reader, &c->pc, err)) != 0)
			return rc;
		c->link = transport_pcsc_link(c->pc);
		return 0;
	}
	if ((rc = transport_inproc_open(image, &c->ip, err)) != 0)
		return rc;
	c->link = transport_inproc_link(c->ip);
	return 0;
}

void cli_card_close(cli_card *c)
{
	/* a power-off drops the verified PIN (PC/SC: reset on close) */
	if (c->ip != NULL)
		transport_inproc_power(c->ip, JPKI_CARD_POWER_OFF);
	transport_inproc_close(c->ip);
	transport_pcsc_close(c->pc);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------ */
/* CMS                                                                 */

/* DER CMS to PEM, in place. */
static int to_pem(uint8_t **buf, size_t *len, jpki_err *err)
{
	const unsigned char *p = *buf;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)*len);
	BIO *mem = BIO_new(BIO_s_mem());
	char *text = NULL;
	uint8_t *copy = NULL;
	int rc = 0;
	if (cms == NULL || mem == NULL || !PEM_write_bio_CMS(mem, cms)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the CMS");
		goto out;
	}
	long n = BIO_get_mem_data(mem, &text);
	if (n <= 0 || (copy = malloc((size_t)n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, text, (size_t)n);
	free(*buf);
	*buf = copy;
	*len = (size_t)n;
out:
	ERR_clear_error();
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* Sign `in` into a DER or PEM CMS at *out (malloc'ed). */
static int make_cms(const char *in, X509 *cert, EVP_PKEY *key, time_t now,
		    bool attached, bool pem, uint8_t **out, size_t *out_len,
		    jpki_err *err)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP |
			 (attached ? 0 : CMS_DETACHED);
	CMS_ContentInfo *cms = NULL;
	BIO *data = NULL, *mem = NULL;
	struct stat st;
	int rc = 0;
	if (stat(in, &st) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND, "cannot open %s: %s",
				 in, strerror(errno));
	if (attached && (size_t)st.st_size > ATTACHED_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "%s: over %u bytes; sign it detached", in,
				 ATTACHED_MAX);
	if ((data = BIO_new_file(in, "rb")) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot open %s", in);
		goto out;
	}
	if ((rc = doc_cms_sign(data, cert, key, now, flags, &cms, err)) != 0)
		goto out;
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    !(pem ? PEM_write_bio_CMS(mem, cms) : i2d_CMS_bio(mem, cms))) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the CMS");
		goto out;
	}
	char *p = NULL;
	long len = BIO_get_mem_data(mem, &p);
	if (len <= 0 || (*out = malloc((size_t)len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, p, (size_t)len);
	*out_len = (size_t)len;
out:
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	BIO_free(data);
	return rc;
}

int cmd_sign(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"attached", no_argument, NULL, 'a'},
	    {"pem", no_argument, NULL, 'm'},
	    {"card", required_argument, NULL, 'c'},
	    {"reader", required_argument, NULL, 'R'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"key", required_argument, NULL, 'k'},
	    {"cert", required_argument, NULL, 'C'},
	    {"tsa", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0}};
	const char *in = NULL, *image = NULL, *reader = NULL, *pin_file = NULL;
	const char *key_path = NULL, *cert_path = NULL, *tsa = NULL;
	char *pin = NULL, outbuf[PATH_MAX];
	const char *out = NULL;
	bool attached = false, pem = false;
	EVP_PKEY *key = NULL, *soft = NULL, *card = NULL;
	X509 *cert = NULL;
	uint8_t *cms = NULL;
	size_t cms_len = 0;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, sign_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'a': attached = true; break;
		case 'm': pem = true; break;
		case 'c': image = optarg; break;
		case 'R': reader = optarg; break;
		case 'p': pin = optarg; break;
		case 'P': pin_file = optarg; break;
		case 'k': key_path = optarg; break;
		case 'C': cert_path = optarg; break;
		case 'T': tsa = optarg; break;
		default: return 2;
		}
	}
	if (optind < argc) {
		if (image != NULL || optind + 1 < argc)
			return cli_usage_error("sign: one card image expected");
		image = argv[optind];
	}
	if (in == NULL)
		return cli_usage_error("sign: --in FILE is required");
	if ((rc = doc_key_usage("sign", key_path, cert_path, image, reader, pin,
				pin_file)) != 0)
		return rc;
	if (out == NULL) {
		if ((size_t)snprintf(outbuf, sizeof(outbuf), "%s.p7s", in) >=
		    sizeof(outbuf))
			return cli_usage_error("sign: --in path too long");
		out = outbuf;
	}
	if ((rc = x509_init(&err)) != 0)
		goto out;
	if ((rc = doc_signing_key(key_path, cert_path, image, reader, pin,
				  pin_file, &soft, &card, &cert, &err)) != 0)
		goto out;
	key = card != NULL ? card : soft;
	rc = make_cms(in, cert, key, ctx->now, attached, pem && tsa == NULL,
		      &cms, &cms_len, &err);
	if (rc != 0 && card != NULL)
		rc = cli_card_key_error(rc, &err); /* what the card said */
	if (rc == 0 && tsa != NULL) {
		uint8_t *stamped = NULL;
		size_t stamped_len = 0;
		rc = val_cms_add_timestamp(cms, cms_len, tsa, 0, &stamped,
					   &stamped_len, &err);
		if (rc == 0) {
			free(cms);
			cms = stamped;
			cms_len = stamped_len;
			if (pem)
				rc = to_pem(&cms, &cms_len, &err);
		} else {
			jpki_wrap(&err, rc, "time-stamp from %s", tsa);
		}
	}
	if (rc != 0 ||
	    (rc = jpki_file_write_atomic(out, cms, cms_len, 0644, &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		char t[21];
		jpki_time_format(ctx->now, t);
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "attached", json_boolean(attached));
		json_object_set_new(o, "format",
				    json_string(pem ? "PEM" : "DER"));
		json_object_set_new(o, "bytes",
				    json_integer((json_int_t)cms_len));
		json_object_set_new(o, "signing_time", json_string(t));
		json_object_set_new(o, "timestamped",
				    json_boolean(tsa != NULL));
		json_object_set_new(
		    o, "key", json_string(card != NULL ? "card" : "software"));
		json_object_set_new(o, "signer", cli_cert_json(cert));
		cli_print_json(o);
	} else {
		printf("signed %s -> %s (CMS SignedData, %s, %s, %zu bytes, "
		       "%s key%s)\n",
		       in, out, attached ? "attached" : "detached",
		       pem ? "PEM" : "DER", cms_len,
		       card != NULL ? "card signature" : "software",
		       tsa != NULL ? ", time-stamped" : "");
	}
out:
	free(cms);
	EVP_PKEY_free(card);
	EVP_PKEY_free(soft);
	X509_free(cert);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}
