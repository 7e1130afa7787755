/* jpki: the openjpki command-line tool.  main() reads the clock once and
 * dispatches to a subcommand family; see `jpki --help`. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_xml.h"
#include "openjpki/date.h"

int cmd_pdf(cli_ctx *ctx, int argc, char **argv); /* cmd_pdf.c */

static const struct {
	const char *name;
	cli_fn fn;
	const char *help;
} commands[] = {
    {"ca", cmd_ca, "set up a CA (both J-LIS hierarchies) or show it"},
    {"muni", cmd_muni, "record an issuing municipality (市区町村)"},
    {"operator", cmd_operator,
     "jpkid's operators (職員): add, password, disable, enable, list"},
    {"resident", cmd_resident,
     "add, change, remove residents (住民基本台帳); cards"},
    {"issue", cmd_issue, "issue certificates for a resident's card keys"},
    {"revoke", cmd_revoke, "revoke or hold a certificate"},
    {"crl", cmd_crl, "produce a CRL (per municipality, full) or the ARL"},
    {"ocsp", cmd_ocsp, "answer a DER OCSP request"},
    {"show", cmd_show, "show a certificate and its basic-4 data"},
    {"audit", cmd_audit, "verify or list the hash-chained audit log"},
    {"rules", cmd_rules, "evaluate the law: eligibility, validity, PINs, fees"},
    {"application", cmd_application,
     "the counter's applications: documents, proxies, cards, issue"},
    {"notices", cmd_notices,
     "expiry notices (有効期限通知書): letters and the mail-room list"},
    {"card", cmd_card,
     "the virtual My Number Card: create, personalize, PINs, read, sign, "
     "serve"},
    {"sign", cmd_sign,
     "sign a document as CMS with the card's signature key (or a key file)"},
    {"verify", cmd_verify,
     "verify a signed document (CMS): chain, revocation, basic-4"},
    {"pdf", cmd_pdf, "sign a PDF with the card (co-signing) and verify PDFs"},
    {"xml", cmd_xml, "sign or verify XML (XMLDSig, e-Gov 電子申請 shape)"},
    {"login", cmd_login,
     "log in to a relying party with the card's authentication certificate"},
    {"rp", cmd_rp, "relying parties of the latest basic-4 service: API keys"},
    {"consent", cmd_consent,
     "the text a holder signs to let a relying party learn the latest basic-4"},
    {"terminal", cmd_terminal,
     "the counter PC's card helper for jpkid's page (PC/SC reader)"},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: jpki [--dir DIR] [--store LOC] [--json] [--now TIME] "
	    "COMMAND [ARGS]\n\n"
	    "openjpki: Japan's Public Certification Service for Individuals\n"
	    "(公的個人認証サービス) in the open.\n\n"
	    "global options:\n"
	    "  --dir DIR   CA directory (default $JPKI_DIR or var/ca)\n"
	    "  --store LOC the CA's store (default $JPKI_STORE or the\n"
	    "              directory's SQLite file): a path, sqlite:PATH or\n"
	    "              a libpq URI postgresql://...\n"
	    "  --json      machine-readable output on stdout\n"
	    "  --now TIME  fix the clock (YYYY-MM-DD or "
	    "YYYY-MM-DDTHH:MM:SSZ);\n"
	    "              for tests, refused by a production-profile CA\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`jpki COMMAND --help` describes each command.\n");
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

int cli_error(const cli_ctx *ctx, int rc, const jpki_err *err)
{
	const char *msg = jpki_err_msg(err, rc);
	if (ctx != NULL && ctx->json) {
		printf("{\"ok\":false,\"error\":");
		cli_json_str(stdout, jpki_strerror(rc));
		printf(",\"message\":");
		cli_json_str(stdout, msg);
		printf("}\n");
	}
	fprintf(stderr, "jpki: %s\n", msg);
	switch (rc) {
	case JPKI_ERR_NOMEM:
	case JPKI_ERR_IO:
	case JPKI_ERR_CRYPTO:
	case JPKI_ERR_STORE:
	case JPKI_ERR_UNAVAILABLE: return 3;
	default: return 1;
	}
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("jpki: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	cli_ctx ctx = {0};
	const char *now_s = NULL;
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"now", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	ctx.dir = getenv("JPKI_DIR");
	if (ctx.dir == NULL || ctx.dir[0] == '\0')
		ctx.dir = "var/ca";
	int c;
	/* '+': stop at the first non-option, the command name */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ctx.dir = optarg; break;
		case 's':
			/* the commands read it where they open the CA */
			if (setenv("JPKI_STORE", optarg, 1) != 0)
				return cli_usage_error("--store: %s",
						       strerror(errno));
			break;
		case 'j': ctx.json = true; break;
		case 'n': now_s = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpki (openjpki) 0.1.0\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (now_s != NULL) {
		if (jpki_time_parse(now_s, &ctx.now) != 0)
			return cli_usage_error("--now: not a time: %s", now_s);
		ctx.now_fixed = true;
	} else {
		ctx.now = time(NULL);
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	int idx = optind;
	const char *name = argv[idx];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			optind = 0; /* full getopt re-initialisation (glibc) */
			return commands[i].fn(&ctx, argc - idx, argv + idx);
		}
	}
	return cli_usage_error("unknown command: %s", name);
}
