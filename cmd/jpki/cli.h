/* jpki CLI: shared plumbing of the subcommands (options, output, clock). */
#ifndef JPKI_CLI_H
#define JPKI_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "openjpki/error.h"
#include "openjpki/rules.h"
#include "openjpki/transport.h"

typedef struct cli_ctx {
	const char *dir; /* CA directory (--dir, $JPKI_DIR, default var/ca) */
	bool json;	 /* --json: one JSON object on stdout */
	bool now_fixed;	 /* --now given (tests only; refused by production) */
	time_t now;	 /* the clock, read once here in cmd/ */
} cli_ctx;

/* A subcommand family: argv[0] is its name ("ca", "resident", ...). */
typedef int (*cli_fn)(cli_ctx *ctx, int argc, char **argv);

/* Print "jpki: <msg>" on stderr (or {"error":...} with --json) and return
 * the exit code for rc: 1 for refusals and bad input, 2 for usage, 3 for
 * internal failures. */
JPKI_MUST_CHECK int cli_error(const cli_ctx *ctx, int rc, const jpki_err *err);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The head of a command family (jpki pdf, xml, card, terminal): with no
 * subcommand, `help` on stderr and 2; with --help / -h as argv[1], `help`
 * on stdout and 0; else -1 (argv[1] names a subcommand). */
int cli_family_help(int argc, char **argv, const char *help);
/* JSON string escaping onto f. */
void cli_json_str(FILE *f, const char *s);

int cmd_ca(cli_ctx *ctx, int argc, char **argv);
/* jpki ca rollover / ceremony (cmd_ceremony.c); argv[0] is the action */
int cli_ca_rollover(cli_ctx *ctx, int argc, char **argv, const char *actor);
int cmd_ca_ceremony(cli_ctx *ctx, int argc, char **argv);
int cmd_muni(cli_ctx *ctx, int argc, char **argv);
int cmd_resident(cli_ctx *ctx, int argc, char **argv);
int cmd_resident_import(cli_ctx *ctx, int argc, char **argv);
int cmd_issue(cli_ctx *ctx, int argc, char **argv);
int cmd_revoke(cli_ctx *ctx, int argc, char **argv);
int cmd_crl(cli_ctx *ctx, int argc, char **argv);
int cmd_ocsp(cli_ctx *ctx, int argc, char **argv);
int cmd_show(cli_ctx *ctx, int argc, char **argv);
int cmd_rules(cli_ctx *ctx, int argc, char **argv);
int cmd_audit(cli_ctx *ctx, int argc, char **argv);
int cmd_card(cli_ctx *ctx, int argc, char **argv);
int cmd_application(cli_ctx *ctx, int argc, char **argv);
int cmd_notices(cli_ctx *ctx, int argc, char **argv);
int cmd_sign(cli_ctx *ctx, int argc, char **argv);
int cmd_verify(cli_ctx *ctx, int argc, char **argv);
int cmd_login(cli_ctx *ctx, int argc, char **argv);
int cmd_rp(cli_ctx *ctx, int argc, char **argv);
int cmd_consent(cli_ctx *ctx, int argc, char **argv);
int cmd_operator(cli_ctx *ctx, int argc, char **argv);
int cmd_terminal(cli_ctx *ctx, int argc, char **argv);

/* A card for the relying-party commands (sign, login): an image file
 * (in process) or a card in a PC/SC reader ("auto": the first with a
 * card).  cmd_sign.c. */
typedef struct cli_card {
	jpki_inproc *ip;
	jpki_pcsc *pc;
	jpki_link link;
} cli_card;
JPKI_MUST_CHECK int cli_card_open(const char *image, const char *reader,
				  cli_card *c, jpki_err *err);
/* Power off (the verified PINs are dropped) and close; zeroes c. */
void cli_card_close(cli_card *c);
/* A PIN of `kind` from --pin (scrubbed from argv), --pin-file (first
 * line; "-" = standard input) or standard input (no echo on a
 * terminal), checked and normalised before it reaches the card (a
 * malformed PIN would cost a try for nothing). */
#define CLI_PIN_LINE_MAX 64
JPKI_MUST_CHECK int cli_take_pin(jpki_pin_kind kind, char *value,
				 const char *file, char out[CLI_PIN_LINE_MAX],
				 jpki_err *err);

#endif

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openjpki/ca.h"

/* Open the CA in ctx->dir and apply the clock policy. */
JPKI_MUST_CHECK int cli_open_ca(cli_ctx *ctx, jpki_ca **out, jpki_err *err);
/* Print a JSON object on stdout (and free it). */
void cli_print_json(json_t *obj);
/* Read a public key (PEM SubjectPublicKeyInfo, or a certificate / private
 * key, whose public half is taken) from a file. */
JPKI_MUST_CHECK int cli_read_pubkey(const char *path, EVP_PKEY **out,
				    jpki_err *err);
/* Read a certificate (PEM or DER). */
JPKI_MUST_CHECK int cli_read_cert(const char *path, X509 **out, jpki_err *err);
/* Write a certificate as PEM, atomically. */
JPKI_MUST_CHECK int cli_write_cert(const char *path, X509 *cert, jpki_err *err);
/* JSON description of a certificate (subject, serial, validity, kind,
 * basic-4 for a signature certificate). */
json_t *cli_cert_json(X509 *cert);
/* Whether argv has --help / -h; prints `help` if so. */
int cli_want_help(int argc, char **argv, const char *help);
