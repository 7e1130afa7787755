/* jpki ca rollover | ceremony: root key generations (issue #13 items 3
 * and 4).  The library does the work (ca_rollover, src/ca/rollover.c);
 * here the options, the printed steps, the confirmations and witnesses. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/util.h"

static const char rollover_help[] =
    "usage: jpki ca rollover --kind sign|auth|both\n\n"
    "A new root generation for the hierarchy (both: each in turn): same\n"
    "DN, a new RSA-2048 key and subjectKeyIdentifier, a new self-signed\n"
    "root DIR/roots/<label>.pem and the link certificates\n"
    "DIR/links/<new>-with-<old>.pem (NewWithOld) and\n"
    "DIR/links/<old>-with-<new>.pem (OldWithNew).  Issuance moves to the\n"
    "new generation; every generation answers for its own certificates\n"
    "(CRLs, OCSP).  Recorded in the audit log (ca.rollover).\n";

static int parse_kinds(const char *s, jpki_cert_kind kinds[2], int *n)
{
	*n = 0;
	if (strcmp(s, "sign") == 0 || strcmp(s, "both") == 0)
		kinds[(*n)++] = JPKI_CERT_SIGN;
	if (strcmp(s, "auth") == 0 || strcmp(s, "both") == 0)
		kinds[(*n)++] = JPKI_CERT_AUTH;
	if (*n == 0)
		return cli_usage_error("--kind: sign, auth or both, not %s", s);
	return 0;
}

/* One rollover per kind on an open CA; JSON entries appended to arr. */
static int roll(cli_ctx *ctx, jpki_ca *ca, const jpki_cert_kind *kinds, int n,
		const char *actor, ca_rollover_info *infos, json_t *arr,
		jpki_err *err)
{
	for (int i = 0; i < n; i++) {
		ca_rollover_info *in = &infos[i];
		int rc = ca_rollover(ca, kinds[i], ctx->now, actor, in, err);
		if (rc != 0)
			return rc;
		json_t *o = json_object();
		json_object_set_new(o, "kind",
				    json_string(jpki_cert_kind_name(in->kind)));
		json_object_set_new(o, "generation", json_integer(in->gen));
		json_object_set_new(o, "serial", json_string(in->serial));
		json_object_set_new(o, "sha256", json_string(in->sha256));
		json_object_set_new(o, "new_with_old",
				    json_string(in->new_with_old));
		json_object_set_new(o, "old_with_new",
				    json_string(in->old_with_new));
		json_array_append_new(arr, o);
	}
	return 0;
}

static void print_rolled(const cli_ctx *ctx, const ca_rollover_info *in)
{
	const char *k = jpki_cert_kind_name(in->kind);
	char old[32] = "";
	if (in->gen - 1 > 1)
		snprintf(old, sizeof(old), "-%d", in->gen - 1);
	printf("%s root generation %d\n"
	       "  root:        %s/roots/%s-root-%d.pem (serial %s)\n"
	       "  SHA-256:     %s\n"
	       "  NewWithOld:  %s/links/%s-root-%d-with-%d.pem\n"
	       "  OldWithNew:  %s/links/%s-root%s-with-%d.pem\n",
	       k, in->gen, ctx->dir, k, in->gen, in->serial, in->sha256,
	       ctx->dir, k, in->gen, in->gen - 1, ctx->dir, k, old, in->gen);
}

int cli_ca_rollover(cli_ctx *ctx, int argc, char **argv, const char *actor)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	jpki_cert_kind kinds[2];
	ca_rollover_info infos[2];
	int n = 0, c, rc;
	jpki_err err = {0};
	if (cli_want_help(argc, argv, rollover_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k')
			return 2;
		if ((rc = parse_kinds(optarg, kinds, &n)) != 0)
			return rc;
	}
	if (n == 0)
		return cli_usage_error("ca rollover: --kind is required");
	jpki_ca *ca = NULL;
	json_t *arr = json_array();
	if ((rc = cli_open_ca(ctx, &ca, &err)) == 0)
		rc = roll(ctx, ca, kinds, n, actor, infos, arr, &err);
	ca_close(ca);
	if (rc != 0) {
		json_decref(arr);
		return cli_error(ctx, rc, &err);
	}
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "rollover", arr);
		cli_print_json(o);
		return 0;
	}
	json_decref(arr);
	for (int i = 0; i < n; i++)
		print_rolled(ctx, &infos[i]);
	return 0;
}

int cmd_ca_ceremony(cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return cli_usage_error("ca ceremony: not yet");
}
