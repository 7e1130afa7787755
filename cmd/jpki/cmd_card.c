/* jpki card: the virtual My Number Card -- create, personalise at the
 * counter, PINs, certificates, signatures, and serving it to pcscd.
 *
 * Every command but create and serve works on a card image (CARD path,
 * in this process) or on a card in a PC/SC reader (--reader NAME|auto),
 * through the same host code (card_client_*, card_term_*). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "card_key.h"
#include "cli.h"
#include "openjpki/card.h"
#include "openjpki/terminal.h"
#include "openjpki/transport.h"
#include "openjpki/util.h"

#define PIN_LINE_MAX 64
#define TOKEN_EF_LEN 160

static const char card_help[] =
    "usage: jpki card COMMAND [ARGS]   (`jpki card COMMAND --help`)\n\n"
    "The virtual My Number Card (JPKI AP + 券面事項入力補助AP) in an image\n"
    "file, or any card in a PC/SC reader (--reader NAME, --reader auto).\n\n"
    "  create       a blank card image (its terminal key goes to the CA)\n"
    "  personalize  at the counter: keys on the card, certificates, PINs\n"
    "  show         token, certificates and PIN tries (no PIN needed)\n"
    "  pin-status   tries left of the three PINs\n"
    "  change-pin   change the sign, auth or cardinfo PIN\n"
    "  read-cert    copy a certificate off the card (sign needs its PIN)\n"
    "  sign         SHA-256 + PKCS#1 v1.5 signature with a card key\n"
    "  sign-digests sign SHA-256 digests, JSON with the certificate\n"
    "  read-info    個人番号 and basic four (券面事項入力補助AP)\n"
    "  serve        connect a card image to pcscd's vpcd reader\n\n"
    "PINs: --pin VALUE, --pin-file FILE (first line; '-' = standard input),\n"
    "or, when neither is given, a line of standard input (not echoed).\n";

/* ------------------------------------------------------------------ */
/* Reaching the card                                                   */

typedef struct card_conn {
	jpki_inproc *ip;
	jpki_pcsc *pc;
	jpki_link link;
} card_conn;

static int conn_open(const char *image, const char *reader, card_conn *c,
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

/* Add what PC/SC said to a transport failure (the transmit function
 * itself only returns a code). */
static int conn_fail(const card_conn *c, int rc, jpki_err *err)
{
	if (rc == JPKI_ERR_TRANSPORT && c->pc != NULL && err != NULL &&
	    transport_pcsc_error(c->pc)[0] != '\0') {
		char was[JPKI_ERR_MSG_MAX];
		jpki_strlcpy_cut(was, err->msg, sizeof(was));
		jpki_fail(err, rc, "%s: %s", was, transport_pcsc_error(c->pc));
	}
	return rc;
}

/* The image is on disk already; a reader's card is reset on close. */
static void conn_close(card_conn *c)
{
	transport_inproc_close(c->ip);
	transport_pcsc_close(c->pc);
	memset(c, 0, sizeof(*c));
}

/* Exactly one of CARD (the positional argument) and --reader. */
static int target_args(const char *cmd, int argc, char **argv, int first,
		       const char *reader, const char **image)
{
	int rest = argc - first;
	if (reader != NULL && rest == 0) {
		*image = NULL;
		return 0;
	}
	if (reader == NULL && rest == 1) {
		*image = argv[first];
		return 0;
	}
	return cli_usage_error("card %s: give one card image or --reader "
			       "NAME|auto",
			       cmd);
}

/* ------------------------------------------------------------------ */
/* PINs                                                                */

typedef struct pin_opt {
	char *value;	  /* in argv: scrubbed once copied */
	const char *file; /* "-" = standard input */
} pin_opt;

/* One line from fd, unbuffered (several PINs may be piped one per line
 * to one process). */
static int read_line_fd(int fd, char *buf, size_t cap, const char *what,
			jpki_err *err)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return jpki_fail(err, JPKI_ERR_IO, "reading %s: %s",
					 what, strerror(errno));
		if (r == 0) {
			if (n == 0)
				return jpki_fail(err, JPKI_ERR_INVAL,
						 "no %s on standard input",
						 what);
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= cap) {
			OPENSSL_cleanse(buf, cap);
			return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
					 "%s: line too long", what);
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

/* A line of standard input; on a terminal with a prompt and no echo. */
static int ask_line(const char *what, char *buf, size_t cap, jpki_err *err)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "%s: ", what);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	int rc = read_line_fd(STDIN_FILENO, buf, cap, what, err);
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* The PIN of `o` into buf (cap >= PIN_LINE_MAX): its value, the first
 * line of its file, or a line of standard input (file "-", or nothing
 * given and `ask`).  *given false (buf "") when nothing was given and
 * !ask. */
static int pin_take(pin_opt *o, const char *what, bool ask, char *buf,
		    size_t cap, bool *given, jpki_err *err)
{
	int rc = 0;
	buf[0] = '\0';
	*given = true;
	if (o->value != NULL) {
		size_t n = strlen(o->value);
		if (n + 1 > cap)
			return jpki_fail(err, JPKI_ERR_PIN_FORMAT,
					 "%s: too long", what);
		memcpy(buf, o->value, n + 1);
		/* keep it out of /proc/PID/cmdline from now on */
		OPENSSL_cleanse(o->value, n);
		return 0;
	}
	if (o->file != NULL && strcmp(o->file, "-") != 0) {
		uint8_t *data = NULL;
		size_t len = 0;
		if ((rc = jpki_file_read(o->file, 4096, &data, &len, err)) != 0)
			return rc;
		size_t n = 0;
		while (n < len && data[n] != '\n' && data[n] != '\r')
			n++;
		if (n == 0 || n + 1 > cap)
			rc = jpki_fail(err, JPKI_ERR_PIN_FORMAT,
				       "%s: %s holds no PIN on its first line",
				       what, o->file);
		else {
			memcpy(buf, data, n);
			buf[n] = '\0';
		}
		jpki_free_secret(data, len);
		return rc;
	}
	if (o->file == NULL && !ask) {
		*given = false;
		return 0;
	}
	return ask_line(what, buf, cap, err);
}

/* Check the format before anything reaches the card (a malformed PIN
 * would cost a try for nothing) and normalise (sign PIN upper-cased).
 * `what` (may be NULL) prefixes the message: "new PIN: ...". */
static int pin_norm(jpki_pin_kind kind, const char *what, char *buf,
		    jpki_err *err)
{
	char norm[JPKI_PIN_MAX + 1];
	int rc = rules_pin_check(kind, buf, norm, sizeof(norm), err);
	if (rc == 0) {
		memcpy(buf, norm, strlen(norm) + 1);
	} else if (err != NULL) {
		char msg[JPKI_ERR_MSG_MAX];
		jpki_strlcpy_cut(msg, err->msg, sizeof(msg));
		jpki_fail(err, rc, "%s%s%s (not sent to the card)",
			  what ? what : "", what ? ": " : "", msg);
	}
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

typedef struct pin_info {
	const char *name;
	const char *label;
	jpki_card_pin pin;
	jpki_card_ap ap;
	jpki_pin_kind kind;
} pin_info;

static const pin_info pin_table[] = {
    {"auth", "authentication PIN (利用者証明用電子証明書暗証番号)",
     JPKI_CPIN_AUTH, JPKI_AP_JPKI, JPKI_PIN_AUTH},
    {"sign", "signature PIN (署名用電子証明書暗証番号)", JPKI_CPIN_SIGN,
     JPKI_AP_JPKI, JPKI_PIN_SIGN},
    {"cardinfo", "card-information PIN (券面事項入力補助用暗証番号)",
     JPKI_CPIN_CARDINFO, JPKI_AP_CARDINFO, JPKI_PIN_CARDINFO},
};

static const pin_info *pin_by_name(const char *s)
{
	for (size_t i = 0; i < sizeof(pin_table) / sizeof(pin_table[0]); i++)
		if (strcmp(pin_table[i].name, s) == 0)
			return &pin_table[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* What the card says about itself                                     */

typedef struct token_info {
	char label[33];
	char manufacturer[33];
	char model[17];
	char serial[17];
} token_info;

static void field(const uint8_t *p, size_t n, char *out)
{
	size_t len = n;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == 0))
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	out[len] = '\0';
}

/* EF 0006 (CK_TOKEN_INFO, spec §3.2.1); the JPKI AP must be selected. */
static int read_token(const jpki_link *l, token_info *t, jpki_err *err)
{
	uint8_t *ef = NULL;
	size_t len = 0;
	int rc = card_client_read_ef(l, 0x0006, TOKEN_EF_LEN, &ef, &len, err);
	if (rc != 0)
		return jpki_wrap(err, rc, "token information (EF 0006)");
	if (len < 96) {
		free(ef);
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "token information (EF 0006) is %zu bytes, "
				 "expected 160",
				 len);
	}
	field(ef, 32, t->label);
	field(ef + 32, 32, t->manufacturer);
	field(ef + 64, 16, t->model);
	field(ef + 80, 16, t->serial);
	free(ef);
	if (t->serial[0] == '\0')
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "token information (EF 0006) has no serial");
	return 0;
}

/* EF 0008: 8F for each certificate the card holds. */
static int read_presence(const jpki_link *l, bool *sign, bool *auth,
			 jpki_err *err)
{
	uint8_t *ef = NULL;
	size_t len = 0;
	int rc = card_client_read_ef(l, 0x0008, 16, &ef, &len, err);
	if (rc != 0)
		return jpki_wrap(err, rc, "certificate presence (EF 0008)");
	*sign = len >= 1 && ef[0] == 0x8F;
	*auth = len >= 2 && ef[1] == 0x8F;
	free(ef);
	return 0;
}

/* The signature key and certificate exist only where EF 0008 says so:
 * say that instead of burning a try on a PIN that was never set. */
static int need_sign_cert(const jpki_link *l, jpki_err *err)
{
	bool sign = false, auth = false;
	int rc = read_presence(l, &sign, &auth, err);
	if (rc == 0 && !sign)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "the card holds no signature certificate (EF "
			       "0008): under 15, adult ward, or declined");
	return rc;
}

typedef struct pin_state {
	int left[3];
	int max[3];
} pin_state;

/* Tries left of the three PINs by empty VERIFY (nothing is verified). */
static int read_pins(const jpki_link *l, pin_state *ps, jpki_err *err)
{
	jpki_card_ap cur = 0;
	int rc;
	for (size_t i = 0; i < 3; i++) {
		const pin_info *p = &pin_table[i];
		if (p->ap != cur) {
			if ((rc = card_client_select(l, p->ap, err)) != 0)
				return rc;
			cur = p->ap;
		}
		if ((rc = card_client_retries(l, p->pin, &ps->left[i], err)) !=
		    0)
			return rc;
		ps->max[i] = rules_pin_retries(p->kind);
	}
	return card_client_select(l, JPKI_AP_JPKI, err);
}

/* A PIN at 0 tries is blocked -- or was never set: a blank card, or the
 * signature PIN of a card without a signature certificate. */
static const char *pin_note(const pin_state *ps, size_t i, bool personalised,
			    bool has_sign)
{
	if (ps->left[i] != 0)
		return "";
	if (!personalised || (pin_table[i].pin == JPKI_CPIN_SIGN && !has_sign))
		return " (not set)";
	return " (blocked)";
}

static json_t *pins_json(const pin_state *ps, bool personalised, bool has_sign)
{
	json_t *o = json_object();
	for (size_t i = 0; i < 3; i++) {
		json_t *p = json_object();
		const char *note = pin_note(ps, i, personalised, has_sign);
		json_object_set_new(p, "tries_left", json_integer(ps->left[i]));
		json_object_set_new(p, "max", json_integer(ps->max[i]));
		json_object_set_new(p, "set",
				    json_boolean(strcmp(note, " (not set)")));
		json_object_set_new(
		    p, "blocked",
		    json_boolean(strcmp(note, " (blocked)") == 0));
		json_object_set_new(o, pin_table[i].name, p);
	}
	return o;
}

static void pins_text(const pin_state *ps, bool personalised, bool has_sign)
{
	for (size_t i = 0; i < 3; i++)
		printf("  %-9s %d/%d tries left%s\n", pin_table[i].name,
		       ps->left[i], ps->max[i],
		       pin_note(ps, i, personalised, has_sign));
}

static const struct {
	const char *name;
	jpki_card_cert which;
	const char *label;
} cert_table[] = {
    {"auth", JPKI_CCERT_AUTH, "authentication certificate (利用者証明用)"},
    {"auth-ca", JPKI_CCERT_AUTH_CA, "its CA (authentication root)"},
    {"sign", JPKI_CCERT_SIGN, "signature certificate (署名用)"},
    {"sign-ca", JPKI_CCERT_SIGN_CA, "its CA (signature root)"},
};

static int cert_by_name(const char *s, jpki_card_cert *out)
{
	for (size_t i = 0; i < sizeof(cert_table) / sizeof(cert_table[0]); i++)
		if (strcmp(cert_table[i].name, s) == 0) {
			*out = cert_table[i].which;
			return 0;
		}
	return cli_usage_error("certificate: sign, auth, sign-ca or auth-ca, "
			       "not %s",
			       s);
}

/* Read and parse a certificate EF; *cert NULL when the EF is empty. */
static int read_cert(const jpki_link *l, jpki_card_cert which, X509 **cert,
		     jpki_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = card_client_read_cert(l, which, &der, &len, err);
	*cert = NULL;
	if (rc == JPKI_ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = x509_from_bytes(der, len, cert, err);
	free(der);
	return rc;
}

/* ------------------------------------------------------------------ */
/* create                                                              */

static const char create_help[] =
    "usage: jpki card create --out CARD.img [--serial SERIAL]\n\n"
    "Make a blank card (no keys, no certificates, PINs unset) in a new image\n"
    "file (mode 0600).  SERIAL: up to 16 printable characters (default 16\n"
    "random hex digits).  The card's terminal key -- needed to personalise it\n"
    "-- is recorded in the CA's store when --dir holds a CA, otherwise in\n"
    "CARD.img.tkey (mode 0600); see docs/card.md, Terminal key custody.\n";

static int card_create_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"serial", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0}};
	const char *out = NULL;
	jpki_card_params params;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	char hex[2 * JPKI_CARD_TKEY_LEN + 2];
	char tpath[PATH_MAX] = "";
	jpki_card *card = NULL;
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, create_help))
		return 0;
	memset(&params, 0, sizeof(params));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's': params.serial = optarg; break;
		default: return 2;
		}
	}
	if (out == NULL || optind != argc)
		return cli_usage_error(
		    "card create: --out CARD.img is required");
	if (access(out, F_OK) == 0)
		return cli_usage_error("card create: %s already exists", out);
	params.made = ctx->now;
	rc = cli_open_ca(ctx, &ca, &err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		ca = NULL; /* no CA here: the key goes beside the image */
		jpki_err_clear(&err);
	} else if (rc != 0) {
		goto out;
	}
	if ((rc = card_create(&params, &card, tkey, &err)) != 0)
		goto out;
	jpki_hex(tkey, sizeof(tkey), hex);
	/* the key is kept before the card exists: a card whose key was
	 * lost could never be personalised */
	if (ca != NULL) {
		rc = terminal_tkey_record(ca, card_serial(card), tkey, ctx->now,
					  "cli", &err);
	} else {
		snprintf(tpath, sizeof(tpath), "%s.tkey", out);
		size_t n = strlen(hex);
		hex[n] = '\n';
		rc = jpki_file_write_atomic(tpath, hex, n + 1, 0600, &err);
		hex[n] = '\0';
	}
	if (rc != 0 || (rc = card_save(card, out, &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "serial",
				    json_string(card_serial(card)));
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "tkey",
				    json_string(ca ? "store" : "file"));
		if (tpath[0])
			json_object_set_new(o, "tkey_file", json_string(tpath));
		cli_print_json(o);
	} else {
		printf("created blank card %s in %s\n", card_serial(card), out);
		if (ca != NULL)
			printf("terminal key recorded in the CA store (%s)\n",
			       ctx->dir);
		else
			printf("terminal key written to %s (mode 0600; no CA "
			       "in %s)\n",
			       tpath, ctx->dir);
	}
out:
	OPENSSL_cleanse(tkey, sizeof(tkey));
	OPENSSL_cleanse(hex, sizeof(hex));
	card_free(card);
	ca_close(ca);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* personalize                                                         */

static const char perso_help[] =
    "usage: jpki card personalize (CARD.img | --reader NAME|auto)\n"
    "         --resident RID --auth-pin PIN [--sign-pin PIN | --no-sign]\n"
    "         [--cardinfo-pin PIN] [--my-number 12DIGITS] [--tkey-file "
    "FILE]\n\n"
    "The counter's work for a resident's new card: terminal authentication\n"
    "with the card's terminal key (the CA store, CARD.img.tkey or\n"
    "--tkey-file), the card recorded in the store (expiry by the law), key\n"
    "pairs generated on the card, certificates issued for them and written\n"
    "with both roots, EF 0008, the PINs the citizen chose, and with\n"
    "--my-number the 券面事項入力補助AP data from the resident record.\n"
    "No signature certificate under 15 or for an adult ward (成年被後見人):\n"
    "the card then holds the authentication certificate only.  --no-sign:\n"
    "the citizen does not want one.  --cardinfo-pin defaults to the\n"
    "authentication PIN.  Each PIN also as --X-pin-file FILE ('-' = stdin).\n"
    "Interrupted?  Run the same command again: certificates already issued\n"
    "for this card's keys are reused, the rest is rewritten.\n";

static json_t *perso_json(const terminal_perso_out *po, int64_t rid)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "serial", json_string(po->serial));
	json_object_set_new(o, "resident", json_integer((json_int_t)rid));
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		const char *name = k == JPKI_CERT_SIGN ? "sign" : "auth";
		if (po->cert[k] == NULL) {
			json_object_set_new(o, name, json_null());
			continue;
		}
		json_t *c = cli_cert_json(po->cert[k]);
		json_object_set_new(c, "reused", json_boolean(po->reused[k]));
		json_object_set_new(o, name, c);
	}
	if (po->no_sign_why != NULL)
		json_object_set_new(o, "no_sign_reason",
				    json_string(po->no_sign_why));
	json_object_set_new(o, "cardinfo", json_boolean(po->cardinfo));
	return o;
}

static int read_tkey(const char *path, uint8_t tkey[JPKI_CARD_TKEY_LEN],
		     jpki_err *err)
{
	uint8_t *data = NULL;
	size_t size = 0, len, got = 0;
	char hex[2 * JPKI_CARD_TKEY_LEN + 1];
	int rc = jpki_file_read(path, 256, &data, &size, err);
	if (rc != 0)
		return rc;
	len = size;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' ||
			   data[len - 1] == ' '))
		len--;
	if (len != 2 * JPKI_CARD_TKEY_LEN) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "%s: expected %d hex digits (the terminal key)",
			       path, 2 * JPKI_CARD_TKEY_LEN);
	} else {
		memcpy(hex, data, len);
		hex[len] = '\0';
		rc = jpki_unhex(hex, tkey, JPKI_CARD_TKEY_LEN, &got, err);
		if (rc == 0 && got != JPKI_CARD_TKEY_LEN)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "%s: not a terminal key", path);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	jpki_free_secret(data, size);
	return rc;
}

/* Where the terminal key of a card is looked for (a terminal_tkey_fn):
 * --tkey-file, the CA store, or the file beside the image, in this order. */
typedef struct tkey_where {
	const char *tkey_file;
	const char *image;
} tkey_where;

static int find_tkey(void *vctx, jpki_ca *ca, const char *serial,
		     uint8_t tkey[JPKI_CARD_TKEY_LEN], jpki_err *err)
{
	const tkey_where *tw = vctx;
	char path[PATH_MAX];
	int rc;
	if (tw->tkey_file != NULL)
		return read_tkey(tw->tkey_file, tkey, err);
	rc = terminal_tkey_get(ca, serial, tkey, err);
	if (rc != JPKI_ERR_NOT_FOUND)
		return rc;
	jpki_err_clear(err);
	if (tw->image != NULL) {
		snprintf(path, sizeof(path), "%s.tkey", tw->image);
		if (access(path, F_OK) == 0)
			return read_tkey(path, tkey, err);
	}
	return jpki_fail(err, JPKI_ERR_NOT_FOUND,
			 "no terminal key for card %s: not in the CA store "
			 "and no CARD.img.tkey beside the image; give "
			 "--tkey-file",
			 serial);
}

typedef struct perso_args {
	int64_t rid;
	pin_opt auth, sign, cardinfo;
	bool no_sign;
	const char *my_number;
	const char *tkey_file;
	const char *image;
	const char *reader;
} perso_args;

/* Read the PINs, reach the card and let the terminal library do the
 * counter's work. */
static int personalize(cli_ctx *ctx, perso_args *a, terminal_perso_out *po,
		       jpki_err *err)
{
	char auth_pin[PIN_LINE_MAX], sign_pin[PIN_LINE_MAX],
	    info_pin[PIN_LINE_MAX];
	jpki_ca *ca = NULL;
	card_conn conn;
	bool given = false, sign_given = false;
	tkey_where tw = {a->tkey_file, a->image};
	const char *step = "checking the request"; /* NULL: err is complete */
	int rc;
	memset(&conn, 0, sizeof(conn));
	sign_pin[0] = info_pin[0] = '\0';

	if ((rc = pin_take(&a->auth, "authentication PIN", false, auth_pin,
			   sizeof(auth_pin), &given, err)) != 0)
		goto out;
	if (!given) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "--auth-pin (or --auth-pin-file) is required");
		goto out;
	}
	if ((rc = pin_norm(JPKI_PIN_AUTH, NULL, auth_pin, err)) != 0 ||
	    (rc = pin_take(&a->sign, "signature PIN", false, sign_pin,
			   sizeof(sign_pin), &sign_given, err)) != 0 ||
	    (rc = pin_take(&a->cardinfo, "card-information PIN", false,
			   info_pin, sizeof(info_pin), &given, err)) != 0)
		goto out;
	if (!given)
		memcpy(info_pin, auth_pin, sizeof(info_pin));
	if ((rc = pin_norm(JPKI_PIN_CARDINFO, NULL, info_pin, err)) != 0 ||
	    (rc = cli_open_ca(ctx, &ca, err)) != 0)
		goto out;
	step = "opening the card";
	if ((rc = conn_open(a->image, a->reader, &conn, err)) != 0)
		goto out;
	terminal_perso_req req = {
	    .resident_id = a->rid,
	    .auth_pin = auth_pin,
	    .sign_pin = sign_given && sign_pin[0] != '\0' ? sign_pin : NULL,
	    .cardinfo_pin = info_pin,
	    .no_sign = a->no_sign,
	    .my_number = a->my_number,
	    .tkey_fn = find_tkey,
	    .tkey_ctx = &tw,
	    .actor = "cli",
	    .now = ctx->now,
	};
	step = NULL; /* the library names its step */
	rc = terminal_personalize(ca, &conn.link, &req, po, err);
	if (rc != 0 && po->sign_pin_needed)
		jpki_fail(err, rc,
			  "personalize: checking the request: the resident "
			  "may hold a signature certificate: give --sign-pin "
			  "(or --no-sign if the citizen does not want one)");
out:
	if (rc != 0 && !po->sign_pin_needed) {
		conn_fail(&conn, rc, err);
		if (step != NULL)
			jpki_wrap(err, rc, "personalize: %s", step);
	}
	OPENSSL_cleanse(auth_pin, sizeof(auth_pin));
	OPENSSL_cleanse(sign_pin, sizeof(sign_pin));
	OPENSSL_cleanse(info_pin, sizeof(info_pin));
	conn_close(&conn);
	ca_close(ca);
	return rc;
}

static int card_personalize_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"resident", required_argument, NULL, 'r'},
	    {"auth-pin", required_argument, NULL, 'a'},
	    {"auth-pin-file", required_argument, NULL, 'A'},
	    {"sign-pin", required_argument, NULL, 's'},
	    {"sign-pin-file", required_argument, NULL, 'S'},
	    {"cardinfo-pin", required_argument, NULL, 'i'},
	    {"cardinfo-pin-file", required_argument, NULL, 'I'},
	    {"no-sign", no_argument, NULL, 'n'},
	    {"my-number", required_argument, NULL, 'm'},
	    {"tkey-file", required_argument, NULL, 't'},
	    {"reader", required_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0}};
	perso_args a;
	terminal_perso_out po;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, perso_help))
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&po, 0, sizeof(po));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': {
			char *end;
			a.rid = strtoll(optarg, &end, 10);
			if (*end != '\0' || a.rid <= 0)
				return cli_usage_error(
				    "--resident: not an id: %s", optarg);
			break;
		}
		case 'a': a.auth.value = optarg; break;
		case 'A': a.auth.file = optarg; break;
		case 's': a.sign.value = optarg; break;
		case 'S': a.sign.file = optarg; break;
		case 'i': a.cardinfo.value = optarg; break;
		case 'I': a.cardinfo.file = optarg; break;
		case 'n': a.no_sign = true; break;
		case 'm': a.my_number = optarg; break;
		case 't': a.tkey_file = optarg; break;
		case 'R': a.reader = optarg; break;
		default: return 2;
		}
	}
	if ((rc = target_args("personalize", argc, argv, optind, a.reader,
			      &a.image)) != 0)
		return rc;
	if (a.rid == 0)
		return cli_usage_error(
		    "card personalize: --resident is required");
	if (a.no_sign && (a.sign.value != NULL || a.sign.file != NULL))
		return cli_usage_error("card personalize: --no-sign and "
				       "--sign-pin exclude each other");
	rc = personalize(ctx, &a, &po, &err);
	if (rc == 0) {
		if (ctx->json) {
			cli_print_json(perso_json(&po, a.rid));
		} else {
			printf("personalised card %s for resident %lld\n",
			       po.serial, (long long)a.rid);
			for (int k = JPKI_CERT_AUTH; k >= JPKI_CERT_SIGN; k--) {
				char sn[STORE_SERIAL_HEX_MAX] = "?";
				const char *what =
				    k == JPKI_CERT_AUTH
					? "authentication certificate"
					: "signature certificate";
				if (po.cert[k] == NULL)
					continue;
				/* a failure leaves sn "?" (outputs are
				 * untouched on failure) */
				jpki_ignore(
				    ca_serial_hex(po.cert[k], sn, NULL));
				printf("  %s serial %s%s\n", what, sn,
				       po.reused[k] ? " (already issued)" : "");
			}
			if (po.no_sign_why != NULL)
				printf("  no signature certificate: %s\n",
				       po.no_sign_why);
			if (po.cardinfo)
				printf("  card-information AP data written\n");
		}
	}
	terminal_perso_out_clear(&po);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* show, pin-status                                                    */

static const char show_help[] =
    "usage: jpki card show (CARD.img | --reader NAME|auto)\n\n"
    "Token information (EF 0006), the certificates the card holds (EF 0008;\n"
    "subject and validity of those readable without a PIN) and the tries\n"
    "left of each PIN.  No PIN is verified.\n";

static const char pin_status_help[] =
    "usage: jpki card pin-status (CARD.img | --reader NAME|auto)\n\n"
    "Tries left of the authentication (3), signature (5) and\n"
    "card-information (3) PINs, by empty VERIFY: no PIN is verified and no\n"
    "try is used.  0 = blocked (or not set yet: a blank card).\n";

static int card_show_cmd(cli_ctx *ctx, int argc, char **argv, bool pins_only)
{
	static const struct option opts[] = {
	    {"reader", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
	const char *reader = NULL, *image = NULL;
	X509 *certs[4] = {NULL, NULL, NULL, NULL};
	bool has_sign = false, has_auth = false;
	jpki_err err = {0};
	card_conn conn;
	token_info tok;
	pin_state ps;
	int c, rc;
	if (cli_want_help(argc, argv, pins_only ? pin_status_help : show_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'R')
			return 2;
		reader = optarg;
	}
	if ((rc = target_args(argv[0], argc, argv, optind, reader, &image)) !=
	    0)
		return rc;
	memset(&ps, 0, sizeof(ps));
	memset(&tok, 0, sizeof(tok));
	if ((rc = x509_init(&err)) != 0 ||
	    (rc = conn_open(image, reader, &conn, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if ((rc = card_client_select(&conn.link, JPKI_AP_JPKI, &err)) != 0 ||
	    (rc = read_token(&conn.link, &tok, &err)) != 0)
		goto out;
	if ((rc = read_presence(&conn.link, &has_sign, &has_auth, &err)) != 0)
		goto out;
	if (!pins_only) {
		for (size_t i = 0; i < 4; i++) {
			if (cert_table[i].which == JPKI_CCERT_SIGN)
				continue; /* behind the signature PIN */
			if ((rc = read_cert(&conn.link, cert_table[i].which,
					    &certs[i], &err)) != 0)
				goto out;
		}
	}
	if ((rc = read_pins(&conn.link, &ps, &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "serial", json_string(tok.serial));
		if (!pins_only) {
			json_t *t = json_object();
			json_object_set_new(t, "label", json_string(tok.label));
			json_object_set_new(t, "manufacturer",
					    json_string(tok.manufacturer));
			json_object_set_new(t, "model", json_string(tok.model));
			json_object_set_new(o, "token", t);
			if (reader != NULL)
				json_object_set_new(
				    o, "reader",
				    json_string(
					transport_pcsc_reader(conn.pc)));
			json_t *cs = json_object();
			for (size_t i = 0; i < 4; i++) {
				json_t *e;
				if (certs[i] != NULL)
					e = cli_cert_json(certs[i]);
				else if (cert_table[i].which ==
					     JPKI_CCERT_SIGN &&
					 has_sign) {
					e = json_object();
					json_object_set_new(e, "protected",
							    json_true());
				} else {
					e = json_null();
				}
				json_object_set_new(cs, cert_table[i].name, e);
			}
			json_object_set_new(o, "certificates", cs);
			json_object_set_new(o, "presence_sign",
					    json_boolean(has_sign));
			json_object_set_new(o, "presence_auth",
					    json_boolean(has_auth));
		}
		json_object_set_new(o, "pins",
				    pins_json(&ps, has_auth, has_sign));
		cli_print_json(o);
	} else {
		printf("card %s", tok.serial);
		if (!pins_only)
			printf(" (token %s, %s, %s)", tok.label,
			       tok.manufacturer, tok.model);
		if (reader != NULL)
			printf(" in reader '%s'",
			       transport_pcsc_reader(conn.pc));
		printf("\n");
		if (!pins_only) {
			printf("certificates:\n");
			for (size_t i = 0; i < 4; i++) {
				printf("  %-8s ", cert_table[i].name);
				if (certs[i] == NULL) {
					printf("%s\n",
					       cert_table[i].which ==
							   JPKI_CCERT_SIGN &&
						       has_sign
						   ? "present (readable after "
						     "the signature PIN)"
						   : "none");
					continue;
				}
				json_t *j = cli_cert_json(certs[i]);
				printf("%s, valid %s .. %s, serial %s\n",
				       json_string_value(
					   json_object_get(j, "subject")),
				       json_string_value(
					   json_object_get(j, "not_before")),
				       json_string_value(
					   json_object_get(j, "not_after")),
				       json_string_value(
					   json_object_get(j, "serial")));
				json_decref(j);
			}
		}
		printf("PINs:\n");
		pins_text(&ps, has_auth, has_sign);
	}
out:
	for (size_t i = 0; i < 4; i++)
		X509_free(certs[i]);
	if (rc != 0)
		conn_fail(&conn, rc, &err);
	conn_close(&conn);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* change-pin                                                          */

static const char change_help[] =
    "usage: jpki card change-pin --pin sign|auth|cardinfo\n"
    "         (CARD.img | --reader NAME|auto)\n"
    "         [--old PIN | --old-file FILE] [--new PIN | --new-file FILE]\n\n"
    "VERIFY the old PIN, then set the new one (CHANGE REFERENCE DATA).\n"
    "A PIN not given as an option is read from standard input, one line\n"
    "each, old first (on a terminal: prompted, not echoed, the new one\n"
    "twice).  Formats: sign 6-16 letters and digits, both present\n"
    "(lower case is upper-cased); auth and cardinfo 4 digits.\n";

static int card_change_pin_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin", required_argument, NULL, 'p'},
	    {"old", required_argument, NULL, 'o'},
	    {"old-file", required_argument, NULL, 'O'},
	    {"new", required_argument, NULL, 'n'},
	    {"new-file", required_argument, NULL, 'N'},
	    {"reader", required_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0}};
	const char *reader = NULL, *image = NULL;
	const pin_info *pi = NULL;
	pin_opt old_o = {NULL, NULL}, new_o = {NULL, NULL};
	char old_pin[PIN_LINE_MAX], new_pin[PIN_LINE_MAX], again[PIN_LINE_MAX];
	bool given = false;
	jpki_err err = {0};
	card_conn conn;
	int c, rc;
	if (cli_want_help(argc, argv, change_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((pi = pin_by_name(optarg)) == NULL)
				return cli_usage_error("--pin: sign, auth or "
						       "cardinfo, not %s",
						       optarg);
			break;
		case 'o': old_o.value = optarg; break;
		case 'O': old_o.file = optarg; break;
		case 'n': new_o.value = optarg; break;
		case 'N': new_o.file = optarg; break;
		case 'R': reader = optarg; break;
		default: return 2;
		}
	}
	if ((rc = target_args("change-pin", argc, argv, optind, reader,
			      &image)) != 0)
		return rc;
	if (pi == NULL)
		return cli_usage_error(
		    "card change-pin: --pin sign|auth|cardinfo "
		    "is required");
	memset(&conn, 0, sizeof(conn));
	old_pin[0] = new_pin[0] = again[0] = '\0';
	bool tty =
	    new_o.value == NULL && new_o.file == NULL && isatty(STDIN_FILENO);
	if ((rc = pin_take(&old_o, "old PIN", true, old_pin, sizeof(old_pin),
			   &given, &err)) != 0 ||
	    (rc = pin_norm(pi->kind, "old PIN", old_pin, &err)) != 0 ||
	    (rc = pin_take(&new_o, "new PIN", true, new_pin, sizeof(new_pin),
			   &given, &err)) != 0 ||
	    (rc = pin_norm(pi->kind, "new PIN", new_pin, &err)) != 0)
		goto out;
	if (tty) {
		if ((rc = ask_line("new PIN again", again, sizeof(again),
				   &err)) != 0 ||
		    (rc = pin_norm(pi->kind, "new PIN", again, &err)) != 0)
			goto out;
		if (strcmp(again, new_pin) != 0) {
			rc = jpki_fail(&err, JPKI_ERR_INVAL,
				       "the new PINs differ; nothing changed");
			goto out;
		}
	}
	if ((rc = conn_open(image, reader, &conn, &err)) != 0 ||
	    (rc = card_client_select(&conn.link, pi->ap, &err)) != 0 ||
	    (rc = card_client_change_pin(&conn.link, pi->pin, old_pin, new_pin,
					 &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "pin", json_string(pi->name));
		cli_print_json(o);
	} else {
		printf("%s changed\n", pi->label);
	}
out:
	OPENSSL_cleanse(old_pin, sizeof(old_pin));
	OPENSSL_cleanse(new_pin, sizeof(new_pin));
	OPENSSL_cleanse(again, sizeof(again));
	if (rc != 0)
		conn_fail(&conn, rc, &err);
	conn_close(&conn);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* read-cert                                                           */

static const char read_cert_help[] =
    "usage: jpki card read-cert sign|auth|sign-ca|auth-ca --out FILE [--der]\n"
    "         (CARD.img | --reader NAME|auto) [--pin PIN | --pin-file FILE]\n\n"
    "Copy a certificate off the card, PEM (or DER with --der).  The\n"
    "signature certificate (EF 0001) is readable only after the signature\n"
    "PIN: --pin, --pin-file, or a line of standard input.\n";

/* VERIFY the PIN guarding `key`'s use, read from `po`. */
static int verify_pin(const card_conn *conn, const pin_info *pi, pin_opt *po,
		      jpki_err *err)
{
	char pin[PIN_LINE_MAX];
	bool given = false;
	int rc;
	if ((rc = pin_take(po, pi->label, true, pin, sizeof(pin), &given,
			   err)) == 0 &&
	    (rc = pin_norm(pi->kind, NULL, pin, err)) == 0)
		rc = card_client_verify(&conn->link, pi->pin, pin, NULL, err);
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}

static int card_read_cert_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"der", no_argument, NULL, 'd'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"reader", required_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0}};
	const char *reader = NULL, *image = NULL, *out = NULL, *name = NULL;
	pin_opt po = {NULL, NULL};
	jpki_card_cert which = 0;
	bool der_out = false;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	jpki_err err = {0};
	card_conn conn;
	int c, rc;
	if (cli_want_help(argc, argv, read_cert_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'd': der_out = true; break;
		case 'p': po.value = optarg; break;
		case 'P': po.file = optarg; break;
		case 'R': reader = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return cli_usage_error("card read-cert: which certificate?");
	name = argv[optind];
	if ((rc = cert_by_name(name, &which)) != 0)
		return rc;
	if ((rc = target_args("read-cert", argc, argv, optind + 1, reader,
			      &image)) != 0)
		return rc;
	if (out == NULL)
		return cli_usage_error(
		    "card read-cert: --out FILE is required");
	if (which != JPKI_CCERT_SIGN && (po.value != NULL || po.file != NULL))
		return cli_usage_error("card read-cert: only the signature "
				       "certificate needs a PIN");
	memset(&conn, 0, sizeof(conn));
	if ((rc = x509_init(&err)) != 0 ||
	    (rc = conn_open(image, reader, &conn, &err)) != 0 ||
	    (rc = card_client_select(&conn.link, JPKI_AP_JPKI, &err)) != 0)
		goto out;
	if (which == JPKI_CCERT_SIGN &&
	    ((rc = need_sign_cert(&conn.link, &err)) != 0 ||
	     (rc = verify_pin(&conn, pin_by_name("sign"), &po, &err)) != 0))
		goto out;
	rc = card_client_read_cert(&conn.link, which, &der, &len, &err);
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = jpki_fail(&err, rc, "the card holds no %s certificate",
			       name);
	if (rc != 0 || (rc = x509_from_bytes(der, len, &cert, &err)) != 0)
		goto out;
	rc = der_out ? jpki_file_write_atomic(out, der, len, 0644, &err)
		     : cli_write_cert(out, cert, &err);
	if (rc != 0)
		goto out;
	json_t *j = cli_cert_json(cert);
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "certificate", j);
		cli_print_json(o);
	} else {
		printf("%s certificate -> %s: %s (serial %s)\n", name, out,
		       json_string_value(json_object_get(j, "subject")),
		       json_string_value(json_object_get(j, "serial")));
		json_decref(j);
	}
out:
	free(der);
	X509_free(cert);
	if (rc != 0)
		conn_fail(&conn, rc, &err);
	conn_close(&conn);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* sign                                                                */

static const char sign_help[] =
    "usage: jpki card sign --key sign|auth --in FILE --out SIG\n"
    "         (CARD.img | --reader NAME|auto) [--pin PIN | --pin-file FILE]\n\n"
    "SHA-256 of FILE, as a DigestInfo, signed on the card (80 2A: PKCS#1\n"
    "v1.5) with the signature key (signature PIN) or the authentication\n"
    "key (authentication PIN).  SIG gets the raw 256-byte signature:\n"
    "  openssl dgst -sha256 -verify pub.pem -signature SIG FILE\n";

static int hash_file(const char *path, uint8_t md[32], jpki_err *err)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *mctx = NULL;
	unsigned char buf[65536];
	unsigned int mdlen = 0;
	int rc = 0;
	if (f == NULL)
		return jpki_fail(
		    err, errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO,
		    "cannot open %s: %s", path, strerror(errno));
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (EVP_DigestUpdate(mctx, buf, n) != 1) {
			rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256");
			goto out;
		}
	}
	if (ferror(f)) {
		rc = jpki_fail(err, JPKI_ERR_IO, "reading %s", path);
		goto out;
	}
	if (EVP_DigestFinal_ex(mctx, md, &mdlen) != 1 || mdlen != 32)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "SHA-256");
out:
	EVP_MD_CTX_free(mctx);
	fclose(f);
	return rc;
}

static int card_sign_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"reader", required_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0}};
	const char *reader = NULL, *image = NULL, *in = NULL, *out = NULL;
	const pin_info *pi = NULL;
	jpki_card_key key = 0;
	pin_opt po = {NULL, NULL};
	uint8_t md[32], di[JPKI_DIGESTINFO_SHA256_LEN], sig[JPKI_CARD_SIG_LEN];
	jpki_err err = {0};
	card_conn conn;
	int c, rc;
	if (cli_want_help(argc, argv, sign_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (strcmp(optarg, "sign") == 0)
				key = JPKI_KEY_SIGN;
			else if (strcmp(optarg, "auth") == 0)
				key = JPKI_KEY_AUTH;
			else
				return cli_usage_error("--key: sign or auth, "
						       "not %s",
						       optarg);
			pi = pin_by_name(optarg);
			break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'p': po.value = optarg; break;
		case 'P': po.file = optarg; break;
		case 'R': reader = optarg; break;
		default: return 2;
		}
	}
	if ((rc = target_args("sign", argc, argv, optind, reader, &image)) != 0)
		return rc;
	if (pi == NULL || in == NULL || out == NULL)
		return cli_usage_error("card sign: --key, --in and --out are "
				       "required");
	memset(&conn, 0, sizeof(conn));
	if ((rc = hash_file(in, md, &err)) != 0)
		goto out;
	card_digestinfo_sha256(md, di);
	if ((rc = conn_open(image, reader, &conn, &err)) != 0 ||
	    (rc = card_client_select(&conn.link, JPKI_AP_JPKI, &err)) != 0 ||
	    (key == JPKI_KEY_SIGN &&
	     (rc = need_sign_cert(&conn.link, &err)) != 0) ||
	    (rc = verify_pin(&conn, pi, &po, &err)) != 0 ||
	    (rc = card_client_sign(&conn.link, key, di, sizeof(di), sig,
				   &err)) != 0 ||
	    (rc = jpki_file_write_atomic(out, sig, sizeof(sig), 0644, &err)) !=
		0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "key", json_string(pi->name));
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "bytes",
				    json_integer(JPKI_CARD_SIG_LEN));
		cli_print_json(o);
	} else {
		printf("signed %s with the %s key: %s (%d bytes, PKCS#1 v1.5, "
		       "SHA-256)\n",
		       in,
		       key == JPKI_KEY_SIGN ? "signature" : "authentication",
		       out, JPKI_CARD_SIG_LEN);
	}
out:
	if (rc != 0)
		conn_fail(&conn, rc, &err);
	conn_close(&conn);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* serve                                                               */

static const char serve_help[] =
    "usage: jpki card serve CARD.img [--host 127.0.0.1] [--port 35963]\n"
    "         [--allow-remote]\n\n"
    "Insert the card into pcscd's virtual reader (vsmartcard-vpcd, reader\n"
    "\"Virtual PCD 00 00\" on port 35963; 35964 is \"Virtual PCD 00 01\"):\n"
    "connect to vpcd and answer it until SIGTERM or SIGINT, reconnecting\n"
    "with backoff while vpcd is not up.  Then OpenSC (opensc-tool,\n"
    "pkcs15-tool, pkcs11-tool, Firefox via opensc-pkcs11.so) sees a JPKI\n"
    "card.  The image stays locked while served; every change (a PIN try)\n"
    "is on disk before the card answers.  Only loopback hosts unless\n"
    "--allow-remote: the link carries PINs in clear.\n";

static atomic_int serve_stop; /* lock-free: set from the signal handler */

static void on_stop_signal(int sig)
{
	(void)sig;
	atomic_store(&serve_stop, 1);
}

static void serve_event(void *vctx, jpki_vpcd_event ev, unsigned attempt,
			const char *detail)
{
	(void)vctx;
	switch (ev) {
	case JPKI_VPCD_EV_CONNECTED:
		fprintf(stderr,
			"jpki: card inserted: connected to vpcd at %s\n",
			detail);
		break;
	case JPKI_VPCD_EV_RETRY:
		if (attempt == 1 || attempt % 30 == 0)
			fprintf(stderr,
				"jpki: waiting for %s (try %u; retrying)\n",
				detail, attempt);
		break;
	case JPKI_VPCD_EV_CLOSED:
		fprintf(stderr, "jpki: card removed: %s; reconnecting\n",
			detail);
		break;
	}
}

static int card_serve_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'p'},
	    {"allow-remote", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0}};
	jpki_vpcd_opts vo;
	jpki_vpcd_stats st;
	jpki_card *card = NULL;
	jpki_err err = {0};
	struct sigaction sa, old_term, old_int;
	int c, rc;
	if (cli_want_help(argc, argv, serve_help))
		return 0;
	memset(&vo, 0, sizeof(vo));
	memset(&st, 0, sizeof(st));
	vo.host = "127.0.0.1";
	vo.port = JPKI_VPCD_PORT;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h': vo.host = optarg; break;
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end != '\0' || p < 1 || p > 65535)
				return cli_usage_error("--port: not a port: %s",
						       optarg);
			vo.port = (uint16_t)p;
			break;
		}
		case 'r': vo.allow_remote = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("card serve: one card image expected");
	if ((rc = card_load(argv[optind], &card, &err)) != 0)
		return cli_error(ctx, rc, &err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, &old_term);
	(void)sigaction(SIGINT, &sa, &old_int);
	atomic_store(&serve_stop, 0);
	vo.stop = &serve_stop;
	vo.event = serve_event;
	printf("serving card %s to vpcd at %s:%u\n", card_serial(card), vo.host,
	       (unsigned)vo.port);
	fflush(stdout);
	rc = transport_vpcd_serve(card, &vo, &st, &err);
	(void)sigaction(SIGTERM, &old_term, NULL);
	(void)sigaction(SIGINT, &old_int, NULL);
	card_free(card);
	if (rc != 0)
		return cli_error(ctx, rc, &err);
	fprintf(stderr, "jpki: stopped: %lu APDUs over %lu connections\n",
		st.apdus, st.connections);
	return 0;
}

/* ------------------------------------------------------------------ */
/* read-info (H3)                                                      */

static const char read_info_help[] =
    "usage: jpki card read-info (CARD.img | --reader NAME|auto)\n"
    "         [--pin PIN | --pin-file FILE]\n\n"
    "The 券面事項入力補助AP: 個人番号 (EF 0001) and the basic four (EF 0002:\n"
    "name, address, birth date, sex), after the card-information PIN\n"
    "(券面事項入力補助用暗証番号, 4 digits).  A card made at the counter\n"
    "carries what the resident record holds.\n";

static int card_read_info_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"reader", required_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0}};
	const char *reader = NULL, *image = NULL;
	pin_opt po = {NULL, NULL};
	char num[13] = "", birth[9] = "", sex = 0;
	char *name = NULL, *addr = NULL;
	bool has_num = false;
	jpki_err err = {0};
	card_conn conn;
	int c, rc;
	if (cli_want_help(argc, argv, read_info_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': po.value = optarg; break;
		case 'P': po.file = optarg; break;
		case 'R': reader = optarg; break;
		default: return 2;
		}
	}
	if ((rc = target_args("read-info", argc, argv, optind, reader,
			      &image)) != 0)
		return rc;
	memset(&conn, 0, sizeof(conn));
	if ((rc = conn_open(image, reader, &conn, &err)) != 0 ||
	    (rc = card_client_select(&conn.link, JPKI_AP_CARDINFO, &err)) !=
		0 ||
	    (rc = verify_pin(&conn, pin_by_name("cardinfo"), &po, &err)) != 0)
		goto out;
	rc = card_client_read_mynumber(&conn.link, num, &err);
	if (rc == 0)
		has_num = true;
	else if (rc != JPKI_ERR_NOT_FOUND)
		goto out;
	if ((rc = card_client_read_basic4(&conn.link, &name, &addr, birth, &sex,
					  &err)) != 0) {
		jpki_wrap(&err, rc, "basic four (EF 0002)");
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "my_number",
				    has_num ? json_string(num) : json_null());
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "address", json_string(addr));
		json_object_set_new(o, "birth", json_string(birth));
		json_object_set_new(o, "sex", json_stringn(&sex, 1));
		cli_print_json(o);
	} else {
		printf("個人番号 %s\n氏名 %s\n住所 %s\n生年月日 %s\n性別 %c\n",
		       has_num ? num : "(none)", name, addr, birth, sex);
	}
out:
	OPENSSL_cleanse(num, sizeof(num));
	free(name);
	free(addr);
	if (rc != 0)
		conn_fail(&conn, rc, &err);
	conn_close(&conn);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */

int cmd_card(cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_family_help(argc, argv, card_help);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "create") == 0)
		return card_create_cmd(ctx, argc, argv);
	if (strcmp(sub, "personalize") == 0 || strcmp(sub, "personalise") == 0)
		return card_personalize_cmd(ctx, argc, argv);
	if (strcmp(sub, "show") == 0)
		return card_show_cmd(ctx, argc, argv, false);
	if (strcmp(sub, "pin-status") == 0)
		return card_show_cmd(ctx, argc, argv, true);
	if (strcmp(sub, "change-pin") == 0)
		return card_change_pin_cmd(ctx, argc, argv);
	if (strcmp(sub, "read-cert") == 0)
		return card_read_cert_cmd(ctx, argc, argv);
	if (strcmp(sub, "sign") == 0)
		return card_sign_cmd(ctx, argc, argv);
	if (strcmp(sub, "sign-digests") == 0)
		return card_sign_digests_cmd(ctx, argc, argv);
	if (strcmp(sub, "serve") == 0)
		return card_serve_cmd(ctx, argc, argv);
	if (strcmp(sub, "read-info") == 0) /* H3 */
		return card_read_info_cmd(ctx, argc, argv);
	return cli_usage_error("card: unknown command %s", sub);
}
