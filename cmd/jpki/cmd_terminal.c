/* jpki terminal serve: the card helper on the counter's PC (the logic is
 * src/terminal/serve.c; here: flags, the reader, the pairing code, the
 * signals). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"

static const char terminal_help[] =
    "usage: jpki terminal serve [--port N] [--reader NAME] --jpkid URL\n"
    "                           [--pair CODE]\n\n"
    "The counter PC's card helper: listens on 127.0.0.1:N (0 = a free\n"
    "port, printed on standard output) and drives the card in the PC/SC\n"
    "reader for the clerk's page at jpkid.  It is paired with that page\n"
    "first: the page shows a one-time code (端末の連携), given here with\n"
    "--pair or typed on standard input; the helper redeems it at jpkid\n"
    "(--jpkid http://127.0.0.1:PORT) and from then on answers only that\n"
    "page's origin, with its token.  PINs go from the page to the card\n"
    "only.  Stops on SIGTERM or SIGINT.\n\n"
    "  --port N       port on 127.0.0.1 (default 0: a free port)\n"
    "  --reader NAME  the PC/SC reader (default auto: the first with a\n"
    "                 card)\n"
    "  --jpkid URL    the jpkid the page comes from (loopback only)\n"
    "  --pair CODE    the 8-digit pairing code (else read from stdin)\n\n"
    "With --json the listening line is one JSON object: {\"url\", \"port\",\n"
    "\"origin\", \"operator\", \"reader\"}.\n";

static volatile sig_atomic_t term_stop;

static void on_term_signal(int sig)
{
	(void)sig;
	term_stop = 1;
}

typedef struct reader_ctx {
	const char *reader; /* NULL = auto */
	cli_card c;
} reader_ctx;

static int open_reader(void *vctx, jpki_link *l, char *name, size_t cap,
		       jpki_err *err)
{
	reader_ctx *rc = vctx;
	int r = cli_card_open(NULL, rc->reader != NULL ? rc->reader : "auto",
			      &rc->c, err);
	/* name: the reader shown to the operator */
	if (rc->reader != NULL)
		jpki_strlcpy_cut(name, rc->reader, cap);
	if (r != 0)
		return r;
	jpki_strlcpy_cut(name, transport_pcsc_reader(rc->c.pc), cap);
	*l = rc->c.link;
	return 0;
}

static void close_reader(void *vctx)
{
	reader_ctx *rc = vctx;
	cli_card_close(&rc->c);
}

static int terminal_serve_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"reader", required_argument, NULL, 'r'},
	    {"jpkid", required_argument, NULL, 'j'},
	    {"pair", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0}};
	terminal_pairing pairing;
	terminal_serve_opts so;
	terminal_server *srv = NULL;
	reader_ctx rctx;
	jpki_err err = {0};
	struct sigaction sa, old_term, old_int;
	const char *jpkid = NULL;
	char code[32] = "";
	unsigned port = 0;
	int c, rc;
	memset(&pairing, 0, sizeof(pairing));
	memset(&rctx, 0, sizeof(rctx));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end != '\0' || p < 0 || p > 65535)
				return cli_usage_error("--port: not a port: %s",
						       optarg);
			port = (unsigned)p;
			break;
		}
		case 'r':
			rctx.reader =
			    strcmp(optarg, "auto") == 0 ? NULL : optarg;
			break;
		case 'j': jpkid = optarg; break;
		case 'c':
			if (jpki_strlcpy(code, optarg, sizeof(code)) != 0)
				return cli_usage_error("--pair: 8 digits");
			break;
		default: return 2;
		}
	}
	if (optind != argc)
		return cli_usage_error("terminal serve: unexpected argument %s",
				       argv[optind]);
	if (jpkid == NULL)
		return cli_usage_error("terminal serve: --jpkid URL is "
				       "required");
	if (code[0] == '\0') {
		fprintf(stderr, "pairing code shown on the counter's page "
				"(端末の連携): ");
		fflush(stderr);
		if (fgets(code, sizeof(code), stdin) == NULL)
			return cli_usage_error("no pairing code on stdin");
		code[strcspn(code, "\r\n")] = '\0';
	}
	if ((rc = terminal_pair_redeem(jpkid, code, &pairing, &err)) != 0)
		return cli_error(ctx, rc, &err);
	memset(&so, 0, sizeof(so));
	so.port = port;
	so.pairing = &pairing;
	so.open = open_reader;
	so.close = close_reader;
	so.card_ctx = &rctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_signal;
	sigemptyset(&sa.sa_mask);
	term_stop = 0;
	(void)sigaction(SIGTERM, &sa, &old_term);
	(void)sigaction(SIGINT, &sa, &old_int);
	if ((rc = terminal_serve_start(&so, &srv, &err)) != 0) {
		rc = cli_error(ctx, rc, &err);
		goto out;
	}
	port = terminal_serve_port(srv);
	if (ctx->json) {
		char url[64];
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
		cli_print_json(json_pack(
		    "{s:s,s:i,s:s,s:s,s:s}", "url", url, "port", (int)port,
		    "origin", pairing.origin, "operator", pairing.operator_name,
		    "reader", rctx.reader != NULL ? rctx.reader : "auto"));
	} else {
		printf("jpki terminal: listening on http://127.0.0.1:%u, "
		       "paired with %s (operator %s), reader %s\n",
		       port, pairing.origin, pairing.operator_name,
		       rctx.reader != NULL ? rctx.reader : "auto");
	}
	fflush(stdout);
	while (!term_stop)
		usleep(100 * 1000);
	terminal_serve_stop(srv);
	rc = 0;
out:
	(void)sigaction(SIGTERM, &old_term, NULL);
	(void)sigaction(SIGINT, &old_int, NULL);
	terminal_pairing_clear(&pairing);
	return rc;
}

int cmd_terminal(cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_family_help(argc, argv, terminal_help);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "serve") == 0) {
		if (cli_want_help(argc - 1, argv + 1, terminal_help))
			return 0;
		return terminal_serve_cmd(ctx, argc - 1, argv + 1);
	}
	return cli_usage_error("terminal: unknown subcommand %s", argv[1]);
}
