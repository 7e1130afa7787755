/* jpki issue | revoke | crl | ocsp | show: the CA's operations. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/util.h"

static const char issue_help[] =
    "usage: jpki issue --resident RID --card SERIAL [--sign-key PUB] "
    "[--auth-key PUB]\n"
    "                  [--renew] [--preview] [--window ID] [--out-dir DIR]\n\n"
    "Issue the signature certificate (署名用, for --sign-key) and/or the\n"
    "authentication certificate (利用者証明用, for --auth-key) for the public\n"
    "keys generated on the resident's card.  The law decides: no signature\n"
    "certificate under 15 or for an adult ward (成年被後見人); validity to "
    "the\n"
    "5th birthday (6th on renewal in the last 3 months), capped by the card\n"
    "and, for the signature certificate, by the authentication certificate.\n"
    "--renew       replace the current certificates (from 3 months before\n"
    "              expiry, or after); the old ones are revoked (superseded)\n"
    "--preview     show eligibility and validity, issue nothing\n"
    "--out-dir DIR write sign.pem / auth.pem there (default: print PEM "
    "paths)\n";

static void validity_text(const char *what, const jpki_validity *v)
{
	static const char *caps[] = {"birthday", "card expiry",
				     "authentication certificate"};
	char d[11];
	jpki_date_format(v->last_day, d);
	printf("  %s valid to %s 23:59:59 JST (%s%s%s)\n", what, d,
	       v->capped_by == JPKI_CAP_BIRTHDAY
		   ? (v->birthday_n == 6 ? "6th " : "5th ")
		   : "capped by ",
	       caps[v->capped_by], "");
}

static json_t *validity_json(const jpki_validity *v)
{
	static const char *caps[] = {"birthday", "card", "auth"};
	char d[11];
	json_t *o = json_object();
	jpki_date_format(v->last_day, d);
	json_object_set_new(o, "last_day", json_string(d));
	json_object_set_new(o, "birthday_n", json_integer(v->birthday_n));
	json_object_set_new(o, "capped_by", json_string(caps[v->capped_by]));
	return o;
}

int cmd_issue(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"resident", required_argument, NULL, 'r'},
	    {"card", required_argument, NULL, 'c'},
	    {"sign-key", required_argument, NULL, 's'},
	    {"auth-key", required_argument, NULL, 'a'},
	    {"renew", no_argument, NULL, 'R'},
	    {"preview", no_argument, NULL, 'p'},
	    {"window", required_argument, NULL, 'w'},
	    {"out-dir", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	const char *sign_path = NULL, *auth_path = NULL, *out_dir = NULL;
	bool preview = false;
	ca_issue_req req = {.now = ctx->now};
	ca_issued res;
	X509 *scert = NULL, *acert = NULL; /* parsed for display and files */
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int c, rc;
	if (cli_want_help(argc, argv, issue_help))
		return 0;
	memset(&res, 0, sizeof(res));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': {
			char *end;
			req.resident_id = strtoll(optarg, &end, 10);
			if (*end != '\0' || req.resident_id <= 0)
				return cli_usage_error(
				    "--resident: not an id: %s", optarg);
			break;
		}
		case 'c': req.card_serial = optarg; break;
		case 's': sign_path = optarg; break;
		case 'a': auth_path = optarg; break;
		case 'R': req.renewal = true; break;
		case 'p': preview = true; break;
		case 'w':
			if (strlen(optarg) != 9)
				return cli_usage_error("--window: 9 characters "
						       "(受付窓口識別記号)");
			req.window_id = optarg;
			break;
		case 'o': out_dir = optarg; break;
		default: return 2;
		}
	}
	if (req.resident_id == 0 || req.card_serial == NULL)
		return cli_usage_error(
		    "issue: --resident and --card are required");
	if (sign_path == NULL && auth_path == NULL)
		return cli_usage_error(
		    "issue: give --sign-key and/or --auth-key");
	if ((sign_path &&
	     (rc = cli_read_pubkey(sign_path, &req.sign_pub, &err)) != 0) ||
	    (auth_path &&
	     (rc = cli_read_pubkey(auth_path, &req.auth_pub, &err)) != 0))
		goto out;
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		goto out;
	rc = preview ? ca_issue_preview(ca, &req, &res, &err)
		     : ca_issue(ca, &req, &res, &err);
	if (rc != 0 ||
	    (res.sign_der != NULL &&
	     (rc = ca_issued_x509(&res, JPKI_CERT_SIGN, &scert, &err)) != 0) ||
	    (res.auth_der != NULL &&
	     (rc = ca_issued_x509(&res, JPKI_CERT_AUTH, &acert, &err)) != 0))
		goto out;
	char sp[PATH_MAX] = "", ap[PATH_MAX] = "";
	if (!preview && out_dir != NULL) {
		if ((rc = jpki_mkdirs(out_dir, 0755, &err)) != 0)
			goto out;
		snprintf(sp, sizeof(sp), "%s/sign.pem", out_dir);
		snprintf(ap, sizeof(ap), "%s/auth.pem", out_dir);
		if ((scert && (rc = cli_write_cert(sp, scert, &err)) != 0) ||
		    (acert && (rc = cli_write_cert(ap, acert, &err)) != 0))
			goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "preview", json_boolean(preview));
		if (req.sign_pub) {
			json_t *s =
			    scert ? cli_cert_json(scert) : json_object();
			json_object_set_new(s, "validity",
					    validity_json(&res.sign_validity));
			if (sp[0])
				json_object_set_new(s, "file", json_string(sp));
			json_object_set_new(o, "sign", s);
		}
		if (req.auth_pub) {
			json_t *a =
			    acert ? cli_cert_json(acert) : json_object();
			json_object_set_new(a, "validity",
					    validity_json(&res.auth_validity));
			if (ap[0])
				json_object_set_new(a, "file", json_string(ap));
			json_object_set_new(o, "auth", a);
		}
		json_t *sup = json_array();
		for (int i = 0; i < 2; i++)
			if (res.superseded[i][0])
				json_array_append_new(
				    sup, json_string(res.superseded[i]));
		json_object_set_new(o, "superseded", sup);
		cli_print_json(o);
	} else {
		printf(preview ? "would issue (preview, nothing signed):\n"
			       : "issued:\n");
		if (req.auth_pub) {
			if (!preview)
				printf("  authentication certificate "
				       "(利用者証明用) serial %s%s%s\n",
				       res.auth_serial, ap[0] ? " -> " : "",
				       ap);
			validity_text("authentication certificate",
				      &res.auth_validity);
		}
		if (req.sign_pub) {
			if (!preview)
				printf("  signature certificate (署名用) "
				       "serial %s%s%s\n",
				       res.sign_serial, sp[0] ? " -> " : "",
				       sp);
			validity_text("signature certificate",
				      &res.sign_validity);
		}
		for (int i = 0; i < 2; i++)
			if (res.superseded[i][0])
				printf("  revoked %s (superseded)\n",
				       res.superseded[i]);
		if (!preview)
			printf("  fee: 0 yen (発行・更新は無料)\n");
	}
out:
	X509_free(scert);
	X509_free(acert);
	ca_issued_free(&res);
	EVP_PKEY_free(req.sign_pub);
	EVP_PKEY_free(req.auth_pub);
	ca_close(ca);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

static const char revoke_help[] =
    "usage: jpki revoke SERIAL --reason REASON\n\n"
    "REASON (J-LIS CPS §4.9.9): unspecified (交付前に破棄), keyCompromise,\n"
    "affiliationChanged (記載内容に変更), superseded (更新),\n"
    "cessationOfOperation (使用しなくなった), certificateHold (一時保留; "
    "never\n"
    "released: a held certificate can only be revoked finally).\n";

int cmd_revoke(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	jpki_reason reason = JPKI_REASON_UNSPECIFIED;
	bool have_reason = false;
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int c, rc;
	if (cli_want_help(argc, argv, revoke_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return 2;
		if (jpki_reason_parse(optarg, &reason) != 0 ||
		    reason == JPKI_REASON_CA_COMPROMISE)
			return cli_usage_error("--reason: unknown reason %s",
					       optarg);
		have_reason = true;
	}
	if (optind != argc - 1 || !have_reason)
		return cli_usage_error(
		    "revoke: SERIAL and --reason are required");
	char serial[STORE_SERIAL_HEX_MAX];
	if (jpki_strlcpy(serial, argv[optind], sizeof(serial)) != 0)
		return cli_usage_error("revoke: serial too long");
	for (char *p = serial; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	rc = ca_revoke(ca, serial, reason, ctx->now, "cli", &err);
	if (rc == 0) {
		/* every revocation is checkpointed outside the database */
		jpki_err cerr = {0};
		if (ca_audit_checkpoint(ca, ctx->now, NULL, &cerr) != 0)
			fprintf(stderr,
				"jpki: warning: audit checkpoint not written: "
				"%s\n",
				cerr.msg);
	}
	ca_close(ca);
	if (rc != 0)
		return cli_error(ctx, rc, &err);
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "serial", json_string(serial));
		json_object_set_new(o, "reason",
				    json_string(jpki_reason_name(reason)));
		cli_print_json(o);
	} else {
		printf("%s %s (%s)\n",
		       reason == JPKI_REASON_CERTIFICATE_HOLD ? "held"
							      : "revoked",
		       serial, jpki_reason_name(reason));
	}
	return 0;
}

static const char crl_help[] =
    "usage: jpki crl --kind sign|auth (--muni CODE | --full | --arl) --out "
    "FILE\n"
    "                [--gen N]\n\n"
    "Produce a signed CRL (DER): the partition of one issuing municipality\n"
    "(named in each certificate's CRL distribution point), the whole\n"
    "hierarchy (--full), or the ARL of revoked roots (--arl).\n"
    "--gen N: the CRL of root generation N (after `jpki ca rollover`):\n"
    "the certificates its root issued, signed with its key; the newest\n"
    "by default.  The ARL covers every generation.\n";

static int parse_kind(const char *s, jpki_cert_kind *k)
{
	if (strcmp(s, "sign") == 0)
		*k = JPKI_CERT_SIGN;
	else if (strcmp(s, "auth") == 0)
		*k = JPKI_CERT_AUTH;
	else
		return cli_usage_error("--kind: sign or auth, not %s", s);
	return 0;
}

int cmd_crl(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 'k'},
	    {"muni", required_argument, NULL, 'm'},
	    {"full", no_argument, NULL, 'f'},
	    {"arl", no_argument, NULL, 'a'},
	    {"out", required_argument, NULL, 'o'},
	    {"gen", required_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0}};
	jpki_cert_kind kind = 0;
	int gen = 0;
	ca_crl_scope scope = CA_CRL_PARTITION;
	const char *muni = NULL, *out = NULL;
	int nscope = 0, c, rc;
	jpki_err err = {0};
	if (cli_want_help(argc, argv, crl_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if ((rc = parse_kind(optarg, &kind)) != 0)
				return rc;
			break;
		case 'm':
			muni = optarg;
			scope = CA_CRL_PARTITION;
			nscope++;
			break;
		case 'f':
			scope = CA_CRL_FULL;
			nscope++;
			break;
		case 'a':
			scope = CA_CRL_ARL;
			nscope++;
			break;
		case 'o': out = optarg; break;
		case 'g': {
			char *end = NULL;
			long g = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || g < 1 || g > 99)
				return cli_usage_error(
				    "--gen: a generation number, not %s",
				    optarg);
			gen = (int)g;
			break;
		}
		default: return 2;
		}
	}
	if (kind == 0 || nscope != 1 || out == NULL)
		return cli_usage_error(
		    "crl: --kind, --out and one of --muni, --full, "
		    "--arl are required");
	jpki_ca *ca = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0 ||
	    (rc = ca_crl_gen(ca, kind, gen, scope, muni, ctx->now, &der, &len,
			     &err)) != 0 ||
	    (rc = jpki_file_write_atomic(out, der, len, 0644, &err)) != 0) {
		free(der);
		ca_close(ca);
		return cli_error(ctx, rc, &err);
	}
	free(der);
	ca_close(ca);
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "bytes", json_integer((json_int_t)len));
		cli_print_json(o);
	} else {
		printf("CRL written to %s (%zu bytes)\n", out, len);
	}
	return 0;
}

static const char ocsp_help[] =
    "usage: jpki ocsp --req REQ.der --out RESP.der [--kind sign|auth]\n\n"
    "Answer a DER OCSP request (RFC 6960) from the store: good, revoked\n"
    "(with time and reason) or unknown, signed by the hierarchy's root.\n"
    "The hierarchy is taken from the request unless --kind is given.\n";

int cmd_ocsp(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"req", required_argument, NULL, 'r'},
	    {"out", required_argument, NULL, 'o'},
	    {"kind", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0}};
	const char *reqp = NULL, *out = NULL;
	jpki_cert_kind kind = 0;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, ocsp_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reqp = optarg; break;
		case 'o': out = optarg; break;
		case 'k':
			if ((rc = parse_kind(optarg, &kind)) != 0)
				return rc;
			break;
		default: return 2;
		}
	}
	if (reqp == NULL || out == NULL)
		return cli_usage_error("ocsp: --req and --out are required");
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, resp_len = 0;
	jpki_ca *ca = NULL;
	if ((rc = jpki_file_read(reqp, JPKI_OCSP_MAX_REQ, &req, &req_len,
				 &err)) != 0 ||
	    (rc = cli_open_ca(ctx, &ca, &err)) != 0 ||
	    (rc = ca_ocsp(ca, (int)kind, req, req_len, ctx->now, &resp,
			  &resp_len, &err)) != 0 ||
	    (rc = jpki_file_write_atomic(out, resp, resp_len, 0644, &err)) !=
		0) {
		free(req);
		free(resp);
		ca_close(ca);
		return cli_error(ctx, rc, &err);
	}
	free(req);
	free(resp);
	ca_close(ca);
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		cli_print_json(o);
	} else {
		printf("OCSP response written to %s\n", out);
	}
	return 0;
}

static const char show_help[] =
    "usage: jpki show CERT\n\n"
    "Show a certificate (PEM or DER; ours or a real J-LIS one): subject,\n"
    "serial, validity, hierarchy, and for a signature certificate the\n"
    "basic-4 data (氏名, 住所, 生年月日 in Gregorian and era form, 性別).\n";

int cmd_show(cli_ctx *ctx, int argc, char **argv)
{
	jpki_err err = {0};
	X509 *cert = NULL;
	int rc;
	if (cli_want_help(argc, argv, show_help))
		return 0;
	if (argc != 2)
		return cli_usage_error("show: one certificate file expected");
	if ((rc = x509_init(&err)) != 0 ||
	    (rc = cli_read_cert(argv[1], &cert, &err)) != 0)
		return cli_error(ctx, rc, &err);
	json_t *j = cli_cert_json(cert);
	X509_free(cert);
	if (ctx->json) {
		cli_print_json(j);
		return 0;
	}
	static const char *const keys[] = {"serial",	 "subject",   "issuer",
					   "not_before", "not_after", "kind",
					   "profile"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(j, keys[i]);
		if (json_is_string(v))
			printf("%-12s %s\n", keys[i], json_string_value(v));
	}
	json_t *b4 = json_object_get(j, "basic4");
	if (b4 != NULL) {
		const char *sex = json_string_value(json_object_get(b4, "sex"));
		printf("basic-4 (基本4情報):\n");
		printf("  氏名 name     %s\n",
		       json_string_value(json_object_get(b4, "name")));
		const char *ns =
		    json_string_value(json_object_get(b4, "name_substitute"));
		if (ns && ns[0])
			printf("  氏名代替文字  %s\n", ns);
		printf(
		    "  生年月日 birth %s (%s, era-coded %s)\n",
		    json_string_value(json_object_get(b4, "birth")),
		    json_string_value(json_object_get(b4, "birth_era")),
		    json_string_value(json_object_get(b4, "birth_era_coded")));
		printf("  性別 sex      %s\n",
		       sex && strcmp(sex, "1") == 0   ? "1 (男 male)"
		       : sex && strcmp(sex, "2") == 0 ? "2 (女 female)"
						      : sex);
		printf("  住所 address  %s\n",
		       json_string_value(json_object_get(b4, "address")));
		const char *as = json_string_value(
		    json_object_get(b4, "address_substitute"));
		if (as && as[0])
			printf("  住所代替文字  %s\n", as);
	}
	json_decref(j);
	return 0;
}
