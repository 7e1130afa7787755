/* jpki ca rollover | ceremony: root key generations (issue #13 items 3
 * and 4).  The library does the work (ca_rollover, src/ca/rollover.c);
 * here the options, the printed steps, the confirmations and witnesses. */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/date.h"
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

static const char ceremony_help[] =
    "usage: jpki ca ceremony (--init [--profile test|production]\n"
    "                              [--keystore LOCATION]\n"
    "                        | --rollover --kind sign|auth|both)\n"
    "                        --witness NAME [--witness NAME ...]\n"
    "                        [--operator NAME] [--yes]\n\n"
    "Root creation (--init, as `jpki ca init`) or rollover (as `jpki ca\n"
    "rollover`) as a scripted, logged key ceremony: each step is printed\n"
    "and must be confirmed by typing \"yes\" on stdin (--yes confirms them\n"
    "all, for scripts); any other answer stops the ceremony before the\n"
    "keys are made.  The witnesses' names (at least one --witness) and the\n"
    "operator are recorded.  The transcript (steps, times, confirmations,\n"
    "the new roots' SHA-256 fingerprints) is written to\n"
    "DIR/ceremony/<time>.txt, its SHA-256 appended to the audit log\n"
    "(ca.ceremony) and a checkpoint signed by the audit key made over it.\n";

#define WITNESS_MAX 8

typedef struct ceremony {
	const cli_ctx *ctx;
	bool yes;
	FILE *say; /* stdout, or stderr with --json */
	char text[16384];
	size_t len;
	int step;
} ceremony;

static void tr_add(ceremony *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tr_add(ceremony *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->text + c->len, sizeof(c->text) - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n < sizeof(c->text) - c->len
			      ? (size_t)n
			      : sizeof(c->text) - c->len - 1;
}

/* Print a step and have it confirmed; false when it was not. */
static bool step(ceremony *c, const char *what)
{
	char at[21], line[64];
	c->step++;
	fprintf(c->say, "Step %d: %s\n", c->step, what);
	bool ok = c->yes;
	if (!ok) {
		fprintf(c->say, "  confirm (yes/no): ");
		fflush(c->say);
		ok = fgets(line, sizeof(line), stdin) != NULL &&
		     (strcmp(line, "yes\n") == 0 || strcmp(line, "yes") == 0);
	}
	jpki_time_format(c->ctx->now, at);
	tr_add(c, "step %d %s %s: %s\n", c->step, at,
	       !ok	? "REFUSED"
	       : c->yes ? "confirmed (--yes)"
			: "confirmed",
	       what);
	if (!ok)
		fprintf(stderr,
			"jpki: ceremony stopped at step %d: not confirmed\n",
			c->step);
	return ok;
}

int cmd_ca_ceremony(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"init", no_argument, NULL, 'i'},
	    {"rollover", no_argument, NULL, 'r'},
	    {"kind", required_argument, NULL, 'k'},
	    {"profile", required_argument, NULL, 'p'},
	    {"keystore", required_argument, NULL, 's'},
	    {"witness", required_argument, NULL, 'w'},
	    {"operator", required_argument, NULL, 'o'},
	    {"yes", no_argument, NULL, 'y'},
	    {NULL, 0, NULL, 0}};
	static ceremony c;
	const char *witness[WITNESS_MAX], *op = NULL, *ks = NULL;
	jpki_cert_kind kinds[2];
	ca_rollover_info infos[2];
	jpki_profile prof = JPKI_PROFILE_TEST;
	int nw = 0, nk = 0, mode = 0, ch, rc;
	jpki_err err = {0};
	char what[WITNESS_MAX * 66 + 128], summary[WITNESS_MAX * 66 + 320],
	    at[21];
	if (cli_want_help(argc, argv, ceremony_help))
		return 0;
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.say = ctx->json ? stderr : stdout;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
		case 'r':
			if (mode != 0 && mode != ch)
				return cli_usage_error(
				    "ca ceremony: --init or --rollover");
			mode = ch;
			break;
		case 'k':
			if ((rc = parse_kinds(optarg, kinds, &nk)) != 0)
				return rc;
			break;
		case 'p':
			if (jpki_profile_parse(optarg, &prof) != 0)
				return cli_usage_error(
				    "--profile: test or production, not %s",
				    optarg);
			break;
		case 's': ks = optarg; break;
		case 'w':
			if (nw == WITNESS_MAX)
				return cli_usage_error(
				    "ca ceremony: at most %d witnesses",
				    WITNESS_MAX);
			if (optarg[0] == '\0' ||
			    strpbrk(optarg, "\n,=") != NULL ||
			    strlen(optarg) > 64)
				return cli_usage_error(
				    "--witness: a name of 1 to 64 characters "
				    "without ',', '=' or a line break");
			witness[nw++] = optarg;
			break;
		case 'o': op = optarg; break;
		case 'y': c.yes = true; break;
		default: return 2;
		}
	}
	if (mode == 0 || nw == 0 || (mode == 'r' && nk == 0) ||
	    (mode == 'i' && nk != 0))
		return cli_usage_error(
		    "ca ceremony: --init or --rollover --kind K, and at least "
		    "one --witness");
	if (op == NULL)
		op = getenv("USER") != NULL ? getenv("USER") : "operator";
	if (strpbrk(op, "\n,=") != NULL || strlen(op) > 64)
		return cli_usage_error("--operator: a name without ',', '=' "
				       "or a line break");
	jpki_time_format(ctx->now, at);
	tr_add(&c,
	       "openjpki key ceremony v1\naction: %s\nca: %s\nstarted: %s\n"
	       "operator: %s\n",
	       mode == 'i' ? "init" : "rollover", ctx->dir, at, op);
	size_t wl = 0;
	char wlist[WITNESS_MAX * 66] = "";
	for (int i = 0; i < nw; i++) {
		tr_add(&c, "witness: %s\n", witness[i]);
		wl += (size_t)snprintf(wlist + wl, sizeof(wlist) - wl, "%s%s",
				       i ? "," : "", witness[i]);
	}
	fprintf(c.say, "Key ceremony (%s) for the CA in %s\n",
		mode == 'i' ? "root creation" : "root rollover", ctx->dir);
	snprintf(what, sizeof(what), "operator %s and witnesses %s are present",
		 op, wlist);
	if (!step(&c, what))
		return 1;
	if (mode == 'i')
		snprintf(what, sizeof(what),
			 "create a %s CA in %s: both root keys (RSA-2048) in "
			 "the keystore %s and their self-signed roots",
			 jpki_profile_name(prof), ctx->dir,
			 ks != NULL ? ks : "DIR/keys");
	else
		snprintf(what, sizeof(what),
			 "make a new root generation for %s%s%s: a new key in "
			 "the CA's keystore, its root and link certificates",
			 jpki_cert_kind_name(kinds[0]), nk > 1 ? " and " : "",
			 nk > 1 ? jpki_cert_kind_name(kinds[1]) : "");
	if (!step(&c, what))
		return 1;
	jpki_ca *ca = NULL;
	json_t *arr = json_array();
	size_t sl = 0;
	summary[0] = '\0';
	if (mode == 'i') {
		ca_init_opts o = {.profile = prof,
				  .now = ctx->now,
				  .now_fixed = ctx->now_fixed,
				  .store = getenv("JPKI_STORE"),
				  .keystore = ks};
		if ((rc = ca_init(ctx->dir, &o, &err)) == 0)
			rc = cli_open_ca(ctx, &ca, &err);
		for (int k = JPKI_CERT_SIGN; rc == 0 && k <= JPKI_CERT_AUTH;
		     k++) {
			ca_rollover_info *in = &infos[nk++];
			memset(in, 0, sizeof(*in));
			in->kind = (jpki_cert_kind)k;
			in->gen = 1;
			X509 *r = ca_root(ca, (jpki_cert_kind)k);
			unsigned char md[32];
			unsigned int n = 0;
			if (X509_digest(r, EVP_sha256(), md, &n) == 1)
				for (unsigned i = 0; i < n && i < 32; i++)
					snprintf(in->sha256 + 2 * i, 3, "%02x",
						 md[i]);
			json_t *o2 = json_object();
			json_object_set_new(o2, "kind",
					    json_string(jpki_cert_kind_name(
						(jpki_cert_kind)k)));
			json_object_set_new(o2, "generation", json_integer(1));
			json_object_set_new(o2, "sha256",
					    json_string(in->sha256));
			json_array_append_new(arr, o2);
		}
	} else if ((rc = cli_open_ca(ctx, &ca, &err)) == 0) {
		rc = roll(ctx, ca, kinds, nk, op, infos, arr, &err);
	}
	if (rc != 0) {
		json_decref(arr);
		ca_close(ca);
		return cli_error(ctx, rc, &err);
	}
	bool confirmed = true;
	for (int i = 0; i < nk; i++) {
		tr_add(&c, "root: %s generation %d sha256=%s\n",
		       jpki_cert_kind_name(infos[i].kind), infos[i].gen,
		       infos[i].sha256);
		sl += (size_t)snprintf(summary + sl, sizeof(summary) - sl,
				       "%s_gen%d_sha256=%s ",
				       jpki_cert_kind_name(infos[i].kind),
				       infos[i].gen, infos[i].sha256);
		snprintf(what, sizeof(what),
			 "the new %s root, generation %d, has the SHA-256 "
			 "fingerprint %s: the witnesses compare and record it",
			 jpki_cert_kind_name(infos[i].kind), infos[i].gen,
			 infos[i].sha256);
		if (confirmed && !step(&c, what))
			confirmed = false;
	}
	snprintf(summary + sl, sizeof(summary) - sl, "operator=%s witnesses=%s",
		 op, wlist);
	/* once keys exist the transcript is recorded whatever the answers:
	 * a refusal after key generation is itself on the record */
	bool last = confirmed &&
		    step(&c, "record the transcript in the audit log, under "
			     "a checkpoint signed by the audit key");
	if (!last)
		tr_add(&c, "note: recorded although not confirmed: the keys "
			   "exist\n");
	ca_ceremony_info ci;
	rc = ca_ceremony_record(ca, ctx->now, op, c.text, summary, &ci, &err);
	ca_close(ca);
	if (rc != 0) {
		json_decref(arr);
		return cli_error(ctx, rc, &err);
	}
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_boolean(last));
		json_object_set_new(o, "roots", arr);
		json_object_set_new(o, "transcript", json_string(ci.path));
		json_object_set_new(o, "transcript_sha256",
				    json_string(ci.sha256));
		json_object_set_new(
		    o, "checkpoint_seq",
		    json_integer((json_int_t)ci.checkpoint_seq));
		cli_print_json(o);
	} else {
		json_decref(arr);
		printf("transcript %s (SHA-256 %s), audit checkpoint %lld\n",
		       ci.path, ci.sha256, (long long)ci.checkpoint_seq);
	}
	return last ? 0 : 1;
}
