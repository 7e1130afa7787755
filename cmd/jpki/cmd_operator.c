/* jpki operator: jpkid's operator accounts, on the CA directory's store
 * (src/server/operators.c keeps them; docs/decisions.md).  A running
 * jpkid ends the sessions of an operator disabled or reset here within
 * seconds (its refresher reads the store). */
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "openjpki/ca.h"
#include "openjpki/util.h"
#include "server/server_int.h"

static const char operator_help[] =
    "usage: jpki operator list\n"
    "       jpki operator add NAME --role ROLE [--password-file FILE]\n"
    "       jpki operator password NAME [--password-file FILE]\n"
    "       jpki operator disable NAME\n"
    "       jpki operator enable NAME\n\n"
    "The operators of jpkid's counter (職員): NAME is 1-32 of a-z 0-9 . _ -\n"
    "(starting with a letter or digit), ROLE is clerk, supervisor or\n"
    "ca-admin.  The password (12-128 bytes) is the first line of FILE, or\n"
    "of standard input when FILE is '-' or not given; it is never an\n"
    "argument.  password resets it (the operator's sessions end); disable\n"
    "refuses the operator's log-in and ends their sessions (not the last\n"
    "enabled ca-admin); enable lets them in again.  Every change is in the\n"
    "audit log with actor \"jpki\".  --json prints the operator(s) as JSON.\n";

/* The first line of path ("-" or NULL: standard input), without its
 * newline, into out. */
static int read_password(const char *path, char out[SERVER_PASSWORD_MAX + 2],
			 jpki_err *err)
{
	FILE *f =
	    path == NULL || strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL)
		return jpki_fail(err, JPKI_ERR_IO, "cannot open %s", path);
	struct termios old, quiet;
	bool tty = f == stdin && isatty(STDIN_FILENO) &&
		   tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		/* typed, not shown */
		fputs("password (one line): ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = fgets(out, SERVER_PASSWORD_MAX + 2, f);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (f != stdin)
		fclose(f);
	if (line == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no password given");
	size_t n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n > SERVER_PASSWORD_MAX) {
		OPENSSL_cleanse(out, SERVER_PASSWORD_MAX + 2);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a password has at most %d bytes",
				 SERVER_PASSWORD_MAX);
	}
	out[n] = '\0';
	return 0;
}

static void print_one(const cli_ctx *ctx, json_t *o)
{
	if (ctx->json) {
		cli_print_json(o);
		return;
	}
	printf("%-32s %-10s %-8s %s\n", srv_jstr(o, "name"),
	       srv_jstr(o, "role"),
	       json_is_true(json_object_get(o, "disabled")) ? "disabled"
							    : "enabled",
	       srv_jstr(o, "changed"));
	json_decref(o);
}

static int show(cli_ctx *ctx, jpki_ca *ca, const char *name, jpki_err *err)
{
	json_t *o = NULL;
	int rc = srv_operator_get(ca, name, &o, err);
	if (rc == 0)
		print_one(ctx, o);
	return rc;
}

int cmd_operator(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"password-file", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0}};
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	const char *role_s = NULL, *pwfile = NULL;
	char pw[SERVER_PASSWORD_MAX + 2];
	int rc = 0, c;
	if (cli_want_help(argc, argv, operator_help))
		return 0;
	if (argc < 2)
		return cli_usage_error("operator: missing action (list, add, "
				       "password, disable, enable)");
	const char *act = argv[1];
	bool list = strcmp(act, "list") == 0, add = strcmp(act, "add") == 0,
	     reset = strcmp(act, "password") == 0,
	     dis = strcmp(act, "disable") == 0, en = strcmp(act, "enable") == 0;
	if (!list && !add && !reset && !dis && !en)
		return cli_usage_error("operator: unknown action %s", act);
	if (!list && argc < 3)
		return cli_usage_error("operator %s: missing NAME", act);
	const char *name = list ? NULL : argv[2];
	int skip = list ? 2 : 3;
	optind = 0;
	while ((c = getopt_long(argc - skip + 1, argv + skip - 1, "", opts,
				NULL)) != -1) {
		if (c == 'r' && add)
			role_s = optarg;
		else if (c == 'p' && (add || reset))
			pwfile = optarg;
		else
			return cli_usage_error("operator %s: unexpected option",
					       act);
	}
	if (optind + skip - 1 != argc)
		return cli_usage_error("operator %s: unexpected argument %s",
				       act, argv[optind + skip - 1]);
	if (name != NULL && srv_operator_check_name(name) != 0)
		return cli_usage_error("operator: NAME is 1-32 of a-z 0-9 . _ "
				       "- (starting with a letter or digit)");
	int role = ROLE_NONE;
	if (add && (role = srv_role_parse(role_s)) == ROLE_NONE)
		return cli_usage_error("operator add: --role clerk, supervisor "
				       "or ca-admin");
	memset(pw, 0, sizeof(pw));
	if ((add || reset) && (rc = read_password(pwfile, pw, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		goto out;
	if (list) {
		json_t *arr = NULL;
		if ((rc = srv_operator_list(ca, &arr, &err)) != 0)
			goto out;
		if (ctx->json) {
			cli_print_json(json_pack("{s:o}", "operators", arr));
		} else {
			size_t i;
			json_t *v;
			json_array_foreach(arr, i, v)
			    print_one(ctx, json_incref(v));
			json_decref(arr);
		}
		goto out;
	}
	if (add)
		rc = srv_operator_create(ca, name, role, pw, "jpki", ctx->now,
					 &err);
	else if (reset)
		rc = srv_operator_set_password(ca, name, pw, "jpki", ctx->now,
					       &err);
	else
		rc = srv_operator_set_disabled(ca, name, dis, "jpki", ctx->now,
					       &err);
	if (rc == 0)
		rc = show(ctx, ca, name, &err);
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	ca_close(ca);
	return rc != 0 ? cli_error(ctx, rc, &err) : 0;
}
