/* jpki ca | muni | resident | audit: set up the CA and keep the register. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/views.h"

static const char ca_help[] =
    "usage: jpki ca init [--profile test|production]\n"
    "                    [--pkcs11 MODULE --token LABEL [--pin-file F]]\n"
    "                    [--keystore LOCATION]\n"
    "       jpki ca show\n"
    "       jpki ca rollover --kind sign|auth|both\n"
    "       jpki ca ceremony (--init | --rollover --kind K) --witness NAME "
    "[--yes]\n"
    "       jpki ca tsa-init\n\n"
    "init  create a CA in --dir: the signature (署名用) and authentication\n"
    "      (利用者証明用) roots, RSA-2048, 10 years, keys in DIR/keys (0600),\n"
    "      the store DIR/jpki.db and the roots in DIR/roots/*.pem.\n"
    "      --profile test (default) issues under O=JPKI-TEST so nothing can\n"
    "      pass for a real J-LIS certificate; production must be chosen.\n"
    "      --pkcs11 MODULE --token LABEL: the keys (both roots, the audit\n"
    "      key) are generated inside that PKCS#11 token, non-extractable;\n"
    "      the user PIN is read from --pin-file F or from $JPKI_PKCS11_PIN\n"
    "      (never from the command line).  --keystore takes a location\n"
    "      directly: file:DIR or\n"
    "      pkcs11:module=PATH;token=LABEL;pin-source=file:F|env:VAR\n"
    "      (also from $JPKI_KEYSTORE).  It is kept in DIR/keystore.\n"
    "show  the CA's profile and roots (every generation)\n"
    "rollover  a new root generation for a hierarchy: same DN, a new key\n"
    "      (keystore label sign-root-N / auth-root-N) and root\n"
    "      DIR/roots/<label>.pem, and two link certificates in DIR/links/:\n"
    "      <new>-with-<old>.pem (NewWithOld: the new key signed by the old)\n"
    "      and <old>-with-<new>.pem (OldWithNew).  New certificates are\n"
    "      issued under the new generation; the old ones stay valid and\n"
    "      revocable, each generation's CRLs and OCSP answers signed with\n"
    "      its own key.  `jpki ca ceremony` runs it as a witnessed\n"
    "      procedure.\n"
    "tsa-init  give a test CA its RFC 3161 time-stamp authority, which\n"
    "      jpkid serves at /tsa: a separate test root DIR/tsa/root.pem and\n"
    "      the TSA certificate DIR/tsa/tsa.pem (extendedKeyUsage critical\n"
    "      timeStamping), keys \"tsa-root\" and \"tsa\" in the keystore.\n";

int cmd_ca(cli_ctx *ctx, int argc, char **argv)
{
	jpki_err err = {0};
	if (cli_want_help(argc, argv, ca_help))
		return 0;
	if (argc < 2)
		return cli_usage_error("ca: missing action (init, show, "
				       "rollover, ceremony, tsa-init)");
	const char *action = argv[1];
	if (strcmp(action, "init") == 0) {
		ca_init_opts o = {.profile = JPKI_PROFILE_TEST,
				  .now = ctx->now,
				  .now_fixed = ctx->now_fixed,
				  .store = getenv("JPKI_STORE")};
		static const struct option opts[] = {
		    {"profile", required_argument, NULL, 'p'},
		    {"pkcs11", required_argument, NULL, 'm'},
		    {"token", required_argument, NULL, 't'},
		    {"pin-file", required_argument, NULL, 'f'},
		    {"keystore", required_argument, NULL, 'k'},
		    {NULL, 0, NULL, 0}};
		const char *module = NULL, *token = NULL, *pin_file = NULL;
		const char *ks = getenv("JPKI_KEYSTORE");
		char loc[3072];
		int c;
		optind = 0;
		while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) !=
		       -1) {
			if (c == 'm')
				module = optarg;
			else if (c == 't')
				token = optarg;
			else if (c == 'f')
				pin_file = optarg;
			else if (c == 'k')
				ks = optarg;
			else if (c != 'p')
				return 2;
			else if (jpki_profile_parse(optarg, &o.profile) != 0)
				return cli_usage_error(
				    "--profile: test or production, not %s",
				    optarg);
		}
		if (module != NULL || token != NULL || pin_file != NULL) {
			if (module == NULL || token == NULL)
				return cli_usage_error(
				    "ca init: --pkcs11 MODULE and --token "
				    "LABEL go together");
			if (strchr(module, ';') != NULL ||
			    strchr(token, ';') != NULL ||
			    (pin_file != NULL && strchr(pin_file, ';') != NULL))
				return cli_usage_error(
				    "ca init: ';' cannot appear in --pkcs11, "
				    "--token or --pin-file");
			int n =
			    snprintf(loc, sizeof(loc),
				     "pkcs11:module=%s;token=%s;"
				     "pin-source=%s%s",
				     module, token, pin_file ? "file:" : "env:",
				     pin_file ? pin_file : "JPKI_PKCS11_PIN");
			if (n < 0 || (size_t)n >= sizeof(loc))
				return cli_usage_error(
				    "ca init: PKCS#11 location too long");
			ks = loc;
		}
		o.keystore = ks;
		int rc = ca_init(ctx->dir, &o, &err);
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		if (ctx->json) {
			json_t *j = json_object();
			json_object_set_new(j, "ok", json_true());
			json_object_set_new(j, "dir", json_string(ctx->dir));
			json_object_set_new(
			    j, "profile",
			    json_string(jpki_profile_name(o.profile)));
			json_object_set_new(j, "keystore",
					    o.keystore ? json_string(o.keystore)
						       : json_null());
			cli_print_json(j);
		} else {
			printf("CA created in %s (profile %s)\n"
			       "  signature root (署名用):      "
			       "%s/roots/sign-root.pem\n"
			       "  authentication root (利用者証明用): "
			       "%s/roots/auth-root.pem\n",
			       ctx->dir, jpki_profile_name(o.profile), ctx->dir,
			       ctx->dir);
		}
		return 0;
	}
	if (strcmp(action, "show") == 0) {
		jpki_ca *ca = NULL;
		int rc = cli_open_ca(ctx, &ca, &err);
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		json_t *j = json_object();
		json_object_set_new(j, "dir", json_string(ctx->dir));
		json_object_set_new(
		    j, "profile",
		    json_string(jpki_profile_name(ca_profile(ca))));
		json_object_set_new(j, "sign_root",
				    cli_cert_json(ca_root(ca, JPKI_CERT_SIGN)));
		json_object_set_new(j, "auth_root",
				    cli_cert_json(ca_root(ca, JPKI_CERT_AUTH)));
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
			json_t *a = json_array();
			int n = ca_root_gen(ca, (jpki_cert_kind)k, 0, NULL);
			for (int g = 1; g <= n; g++) {
				X509 *r = NULL;
				(void)ca_root_gen(ca, (jpki_cert_kind)k, g, &r);
				json_t *o = cli_cert_json(r);
				json_object_set_new(o, "generation",
						    json_integer(g));
				json_array_append_new(a, o);
			}
			json_object_set_new(j,
					    k == JPKI_CERT_SIGN
						? "sign_generations"
						: "auth_generations",
					    a);
		}
		cli_print_json(j);
		ca_close(ca);
		return 0;
	}
	if (strcmp(action, "rollover") == 0)
		return cli_ca_rollover(ctx, argc - 1, argv + 1, NULL);
	if (strcmp(action, "ceremony") == 0)
		return cmd_ca_ceremony(ctx, argc - 1, argv + 1);
	if (strcmp(action, "tsa-init") == 0) {
		jpki_ca *ca = NULL;
		int rc = cli_open_ca(ctx, &ca, &err);
		if (rc == 0)
			rc = ca_tsa_init(ca, ctx->now, &err);
		ca_close(ca);
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		if (ctx->json) {
			json_t *j = json_object();
			json_object_set_new(j, "ok", json_true());
			json_object_set_new(j, "policy",
					    json_string(JPKI_TSA_POLICY_OID));
			cli_print_json(j);
		} else {
			printf("TSA created in %s/tsa (policy %s)\n"
			       "  TSA root:        %s/tsa/root.pem\n"
			       "  TSA certificate: %s/tsa/tsa.pem\n",
			       ctx->dir, JPKI_TSA_POLICY_OID, ctx->dir,
			       ctx->dir);
		}
		return 0;
	}
	return cli_usage_error("ca: unknown action %s", action);
}

static const char muni_help[] =
    "usage: jpki muni add CODE --pref 東京都 --city 千代田区 \\\n"
    "                     --pref-roman Tokyo-to --city-roman Chiyoda-ku\n"
    "           [--office-name 名称] [--office-address 住所]\n"
    "           [--office-phone 電話] [--office-hours 受付時間]\n"
    "       jpki muni set CODE [--office-name N] [--office-address A]\n"
    "           [--office-phone P] [--office-hours H]   ('' clears one)\n"
    "       jpki muni list\n\n"
    "The issuing municipality (市区町村): its romanised names go into the\n"
    "signature certificate's subject (L=) and name its CRL partition.\n"
    "CODE is the 6-digit 全国地方公共団体コード.  The office's name,\n"
    "address, phone and hours are printed on the letters (有効期限通知書,\n"
    "照会書兼回答書, 領収書).\n";

/* H3: --office-* options into o; `set` counts those given.  2 or a usage
 * error for anything else. */
static int office_opt(int c, const char *arg, store_office *o, int *set)
{
	char *dst = c == 'n'   ? o->name
		    : c == 'a' ? o->address
		    : c == 't' ? o->phone
		    : c == 'h' ? o->hours
			       : NULL;
	size_t cap = c == 'n'	? sizeof(o->name)
		     : c == 'a' ? sizeof(o->address)
		     : c == 't' ? sizeof(o->phone)
				: sizeof(o->hours);
	if (dst == NULL)
		return 2;
	if (jpki_strlcpy(dst, arg, cap) != 0)
		return cli_usage_error("muni: value too long: %s", arg);
	(*set)++;
	return 0;
}

#define OFFICE_OPTS                                                            \
	{"office-name", required_argument, NULL, 'n'},                         \
	    {"office-address", required_argument, NULL, 'a'},                  \
	    {"office-phone", required_argument, NULL, 't'},                    \
	{                                                                      \
		"office-hours", required_argument, NULL, 'h'                   \
	}

/* jpki muni set CODE --office-...: the office the letters name. */
static int muni_set(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {OFFICE_OPTS, {NULL, 0, NULL, 0}};
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	store_office o, given;
	int c, set = 0, rc;
	bool has[4] = {false, false, false, false};
	if (argc < 3)
		return cli_usage_error("muni set: missing CODE");
	const char *code = argv[2];
	memset(&given, 0, sizeof(given));
	optind = 0;
	while ((c = getopt_long(argc - 2, argv + 2, "", opts, NULL)) != -1) {
		if ((rc = office_opt(c, optarg, &given, &set)) != 0)
			return rc;
		has[c == 'n' ? 0 : c == 'a' ? 1 : c == 't' ? 2 : 3] = true;
	}
	if (set == 0)
		return cli_usage_error(
		    "muni set: nothing to set (--office-name, "
		    "--office-address, --office-phone, "
		    "--office-hours)");
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if ((rc = store_muni_office_get(ca_store(ca), code, &o, &err)) == 0) {
		if (has[0])
			memcpy(o.name, given.name, sizeof(o.name));
		if (has[1])
			memcpy(o.address, given.address, sizeof(o.address));
		if (has[2])
			memcpy(o.phone, given.phone, sizeof(o.phone));
		if (has[3])
			memcpy(o.hours, given.hours, sizeof(o.hours));
		rc = registry_muni_office_set(ca, code, &o, ctx->now, "cli",
					      &err);
	}
	ca_close(ca);
	if (rc != 0)
		return cli_error(ctx, rc, &err);
	if (ctx->json) {
		json_t *j = json_object();
		json_object_set_new(j, "code", json_string(code));
		json_object_set_new(j, "office_name", json_string(o.name));
		json_object_set_new(j, "office_address",
				    json_string(o.address));
		json_object_set_new(j, "office_phone", json_string(o.phone));
		json_object_set_new(j, "office_hours", json_string(o.hours));
		cli_print_json(j);
	} else {
		printf("municipality %s: office %s / %s / %s / %s\n", code,
		       o.name, o.address, o.phone, o.hours);
	}
	return 0;
}

static int print_muni(void *vctx, const store_muni *m)
{
	json_t *arr = vctx;
	if (arr != NULL) {
		json_t *o = json_object();
		json_object_set_new(o, "code", json_string(m->code));
		json_object_set_new(o, "pref", json_string(m->pref));
		json_object_set_new(o, "city", json_string(m->city));
		json_object_set_new(o, "pref_roman",
				    json_string(m->pref_roman));
		json_object_set_new(o, "city_roman",
				    json_string(m->city_roman));
		json_array_append_new(arr, o);
	} else {
		printf("%s  %s%s  (%s, %s)\n", m->code, m->pref, m->city,
		       m->city_roman, m->pref_roman);
	}
	return 0;
}

static int valid_roman(const char *s)
{
	if (s[0] == '\0')
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == ' '))
			return 0;
	return 1;
}

int cmd_muni(cli_ctx *ctx, int argc, char **argv)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int rc;
	if (cli_want_help(argc, argv, muni_help))
		return 0;
	if (argc < 2)
		return cli_usage_error("muni: missing action (add, list)");
	if (strcmp(argv[1], "list") == 0) {
		if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
			return cli_error(ctx, rc, &err);
		json_t *arr = ctx->json ? json_array() : NULL;
		rc = store_muni_each(ca_store(ca), print_muni, arr, &err);
		ca_close(ca);
		if (rc != 0) {
			json_decref(arr);
			return cli_error(ctx, rc, &err);
		}
		cli_print_json(arr);
		return 0;
	}
	if (strcmp(argv[1], "set") == 0) /* H3 */
		return muni_set(ctx, argc, argv);
	if (strcmp(argv[1], "add") != 0)
		return cli_usage_error("muni: unknown action %s", argv[1]);
	if (argc < 3)
		return cli_usage_error("muni add: missing CODE");
	store_muni m;
	memset(&m, 0, sizeof(m));
	const char *code = argv[2];
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6 ||
	    jpki_strlcpy(m.code, code, sizeof(m.code)) != 0)
		return cli_usage_error(
		    "muni add: CODE must be 6 digits, not %s", code);
	static const struct option opts[] = {
	    {"pref", required_argument, NULL, 'p'},
	    {"city", required_argument, NULL, 'c'},
	    {"pref-roman", required_argument, NULL, 'P'},
	    {"city-roman", required_argument, NULL, 'C'},
	    OFFICE_OPTS,
	    {NULL, 0, NULL, 0}};
	int c, office_set = 0;
	store_office office;
	memset(&office, 0, sizeof(office));
	optind = 0;
	while ((c = getopt_long(argc - 2, argv + 2, "", opts, NULL)) != -1) {
		char *dst = c == 'p'   ? m.pref
			    : c == 'c' ? m.city
			    : c == 'P' ? m.pref_roman
			    : c == 'C' ? m.city_roman
				       : NULL;
		if (dst == NULL) {
			if ((rc = office_opt(c, optarg, &office,
					     &office_set)) != 0)
				return rc;
			continue;
		}
		if (jpki_strlcpy(dst, optarg, 64) != 0)
			return cli_usage_error("muni add: value too long: %s",
					       optarg);
	}
	if (m.pref[0] == '\0' || m.city[0] == '\0')
		return cli_usage_error(
		    "muni add: --pref and --city are required");
	if (!valid_roman(m.pref_roman) || !valid_roman(m.city_roman))
		return cli_usage_error(
		    "muni add: --pref-roman and --city-roman are "
		    "required, in A-Z a-z 0-9 '-' (e.g. Chiyoda-ku)");
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	rc = registry_muni_put(ca, &m, ctx->now, "cli", &err);
	if (rc == 0 && office_set > 0)
		rc = registry_muni_office_set(ca, m.code, &office, ctx->now,
					      "cli", &err);
	ca_close(ca);
	if (rc != 0)
		return cli_error(ctx, rc, &err);
	if (ctx->json) {
		json_t *arr = json_array();
		print_muni(arr, &m);
		json_t *o = json_array_get(arr, 0);
		json_incref(o);
		json_decref(arr);
		cli_print_json(o);
	} else {
		printf("municipality %s %s%s recorded\n", m.code, m.pref,
		       m.city);
	}
	return 0;
}

static const char resident_help[] =
    "usage: jpki resident add --ext-id ID --name 氏名 --kana フリガナ \\\n"
    "           --address 住所 --birth YYYY-MM-DD --sex 1|2 --muni CODE "
    "[--adult-ward]\n"
    "           [--my-number 12DIGITS]\n"
    "       jpki resident change RID [--name N] [--kana K] [--address A]\n"
    "           [--birth D] [--sex S] [--adult-ward | --no-adult-ward]\n"
    "           [--my-number 12DIGITS | --my-number '']\n"
    "       jpki resident remove RID       (住民票消除: death, emigration)\n"
    "       jpki resident show RID\n"
    "       jpki resident list [QUERY]  (name or kana in any width or\n"
    "           script, address, birth date 西暦/和暦, 住民票コード)\n"
    "       jpki resident card RID --serial SERIAL [--issued YYYY-MM-DD]\n"
    "       jpki resident import FILE.csv  (header ext_id,name,kana,address,\n"
    "           birth,sex,muni,adult_ward; all rows or none)\n\n"
    "The 住民基本台帳 record the service needs.  A change of name, address,\n"
    "birth date or sex revokes the signature certificate (affiliationChanged)\n"
    "and keeps the authentication certificate; removal revokes both.\n"
    "`card` records the My Number Card holding the keys; its expiry (10th\n"
    "birthday, 5th under 18) caps the certificates.\n";

static void print_resident(const store_resident *r)
{
	char d[11];
	jpki_date_format(r->birth, d);
	printf("%lld  %s (%s)  %s  born %s  sex %d  muni %s%s%s\n",
	       (long long)r->id, r->name, r->kana, r->address, d, r->sex,
	       r->muni_code, r->adult_ward ? "  成年被後見人" : "",
	       r->status == STORE_RESIDENT_REMOVED ? "  [removed 消除]" : "");
}

static int list_resident(void *vctx, const store_resident *r)
{
	json_t *arr = vctx;
	if (arr != NULL)
		json_array_append_new(arr, jpki_view_resident(r));
	else
		print_resident(r);
	return 0;
}

/* Parse resident fields from options into r; `set` tells which were given. */
static int resident_opts(int argc, char **argv, store_resident *r,
			 unsigned *set)
{
	static const struct option opts[] = {
	    {"ext-id", required_argument, NULL, 'e'},
	    {"name", required_argument, NULL, 'n'},
	    {"kana", required_argument, NULL, 'k'},
	    {"address", required_argument, NULL, 'a'},
	    {"birth", required_argument, NULL, 'b'},
	    {"sex", required_argument, NULL, 's'},
	    {"muni", required_argument, NULL, 'm'},
	    {"adult-ward", no_argument, NULL, 'w'},
	    {"no-adult-ward", no_argument, NULL, 'W'},
	    {"my-number", required_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0}};
	int c;
	optind = 0;
	*set = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'e':
			bad =
			    jpki_strlcpy(r->ext_id, optarg, sizeof(r->ext_id));
			*set |= 1;
			break;
		case 'n':
			bad = jpki_strlcpy(r->name, optarg, sizeof(r->name));
			*set |= 2;
			break;
		case 'k':
			bad = jpki_strlcpy(r->kana, optarg, sizeof(r->kana));
			*set |= 4;
			break;
		case 'a':
			bad = jpki_strlcpy(r->address, optarg,
					   sizeof(r->address));
			*set |= 8;
			break;
		case 'b':
			if (jpki_date_parse(optarg, &r->birth) != 0)
				return cli_usage_error(
				    "--birth: not a date YYYY-MM-DD: %s",
				    optarg);
			*set |= 16;
			break;
		case 's':
			if (strcmp(optarg, "1") != 0 &&
			    strcmp(optarg, "2") != 0)
				return cli_usage_error(
				    "--sex: 1 (男) or 2 (女), not %s", optarg);
			r->sex = optarg[0] - '0';
			*set |= 32;
			break;
		case 'm':
			bad = jpki_strlcpy(r->muni_code, optarg,
					   sizeof(r->muni_code));
			*set |= 64;
			break;
		case 'w':
			r->adult_ward = true;
			*set |= 128;
			break;
		case 'W':
			r->adult_ward = false;
			*set |= 128;
			break;
		case 'N': /* 個人番号; "" clears it */
			if (optarg[0] != '\0' &&
			    rules_mynumber_check(optarg, NULL) != 0)
				return cli_usage_error(
				    "--my-number: 12 digits "
				    "with the check digit of "
				    "番号法施行令 第8条");
			bad = jpki_strlcpy(r->my_number, optarg,
					   sizeof(r->my_number));
			*set |= 256;
			break;
		default: return 2;
		}
		if (bad)
			return cli_usage_error("value too long: %.40s...",
					       optarg);
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument %s", argv[optind]);
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || v <= 0)
		return cli_usage_error("not a resident id: %s", s);
	*id = v;
	return 0;
}

static int print_change(cli_ctx *ctx, const store_resident *r,
			const registry_change_result *res)
{
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "resident", jpki_view_resident(r));
		json_t *arr = json_array();
		for (int i = 0; i < res->revoked && i < 4; i++)
			json_array_append_new(arr,
					      json_string(res->serials[i]));
		json_object_set_new(o, "revoked", arr);
		cli_print_json(o);
	} else {
		print_resident(r);
		for (int i = 0; i < res->revoked && i < 4; i++)
			printf("  revoked certificate %s\n", res->serials[i]);
		if (res->revoked == 0)
			printf("  no certificate revoked\n");
	}
	return 0;
}

int cmd_resident(cli_ctx *ctx, int argc, char **argv)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	store_resident r;
	unsigned set = 0;
	int rc;
	if (cli_want_help(argc, argv, resident_help))
		return 0;
	if (argc < 2)
		return cli_usage_error("resident: missing action");
	const char *action = argv[1];
	memset(&r, 0, sizeof(r));
	if (strcmp(action, "import") == 0)
		return cmd_resident_import(ctx, argc - 1, argv + 1);
	if (strcmp(action, "add") == 0) {
		if ((rc = resident_opts(argc - 1, argv + 1, &r, &set)) != 0)
			return rc;
		if ((set & 0x7f) != 0x7f)
			return cli_usage_error(
			    "resident add: --ext-id, --name, --kana, "
			    "--address, --birth, --sex and --muni "
			    "are required");
		r.status = STORE_RESIDENT_LIVING;
		r.updated_at = ctx->now;
		if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
			return cli_error(ctx, rc, &err);
		if ((rc = registry_resident_add(ca, &r, ctx->now, "cli",
						&err)) != 0) {
			ca_close(ca);
			return cli_error(ctx, rc, &err);
		}
		ca_close(ca);
		if (ctx->json)
			cli_print_json(jpki_view_resident(&r));
		else
			print_resident(&r);
		return 0;
	}
	if (strcmp(action, "list") == 0) {
		if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
			return cli_error(ctx, rc, &err);
		json_t *arr = ctx->json ? json_array() : NULL;
		rc = registry_resident_find(ca, argc > 2 ? argv[2] : "", 1000,
					    list_resident, arr, &err);
		ca_close(ca);
		if (rc != 0) {
			json_decref(arr);
			return cli_error(ctx, rc, &err);
		}
		cli_print_json(arr);
		return 0;
	}
	if (argc < 3)
		return cli_usage_error("resident %s: missing resident id",
				       action);
	int64_t id = 0;
	if ((rc = parse_id(argv[2], &id)) != 0)
		return rc;
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if ((rc = store_resident_get(ca_store(ca), id, &r, &err)) != 0)
		goto fail;
	if (strcmp(action, "show") == 0) {
		if (ctx->json)
			cli_print_json(jpki_view_resident(&r));
		else
			print_resident(&r);
	} else if (strcmp(action, "change") == 0) {
		store_resident upd = r;
		registry_change_result res;
		if ((rc = resident_opts(argc - 2, argv + 2, &upd, &set)) != 0) {
			ca_close(ca);
			return rc;
		}
		if (set & (1 | 64)) {
			ca_close(ca);
			return cli_usage_error(
			    "resident change: --ext-id and --muni "
			    "cannot change (a move to another "
			    "municipality is a new record)");
		}
		upd.updated_at = ctx->now;
		if ((rc = registry_resident_change(ca, &upd, ctx->now, "cli",
						   &res, &err)) != 0)
			goto fail;
		print_change(ctx, &upd, &res);
	} else if (strcmp(action, "remove") == 0) {
		registry_change_result res;
		if ((rc = registry_resident_remove(ca, id, ctx->now, "cli",
						   &res, &err)) != 0)
			goto fail;
		r.status = STORE_RESIDENT_REMOVED;
		print_change(ctx, &r, &res);
	} else if (strcmp(action, "card") == 0) {
		static const struct option opts[] = {
		    {"serial", required_argument, NULL, 's'},
		    {"issued", required_argument, NULL, 'i'},
		    {NULL, 0, NULL, 0}};
		store_card card;
		memset(&card, 0, sizeof(card));
		card.issued = jpki_date_of(ctx->now);
		int c;
		optind = 0;
		while ((c = getopt_long(argc - 2, argv + 2, "", opts, NULL)) !=
		       -1) {
			if (c == 's') {
				if (jpki_strlcpy(card.serial, optarg,
						 sizeof(card.serial)) != 0) {
					ca_close(ca);
					return cli_usage_error(
					    "--serial too long");
				}
			} else if (c == 'i') {
				if (jpki_date_parse(optarg, &card.issued) !=
				    0) {
					ca_close(ca);
					return cli_usage_error(
					    "--issued: not a date: %s", optarg);
				}
			} else {
				ca_close(ca);
				return 2;
			}
		}
		if (card.serial[0] == '\0') {
			ca_close(ca);
			return cli_usage_error(
			    "resident card: --serial is required");
		}
		card.resident_id = id;
		card.status = STORE_CARD_ACTIVE;
		if ((rc = registry_card_record(ca, &card, ctx->now, "cli",
					       &err)) != 0)
			goto fail;
		char a[11], b[11];
		jpki_date_format(card.issued, a);
		jpki_date_format(card.expiry, b);
		if (ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "serial",
					    json_string(card.serial));
			json_object_set_new(o, "resident", json_integer(id));
			json_object_set_new(o, "issued", json_string(a));
			json_object_set_new(o, "expiry", json_string(b));
			cli_print_json(o);
		} else {
			printf("card %s of resident %lld: issued %s, valid to "
			       "%s\n",
			       card.serial, (long long)id, a, b);
		}
	} else {
		ca_close(ca);
		return cli_usage_error("resident: unknown action %s", action);
	}
	ca_close(ca);
	return 0;
fail:
	ca_close(ca);
	return cli_error(ctx, rc, &err);
}

static const char audit_help[] =
    "usage: jpki audit verify [--passes N]\n"
    "       jpki audit checkpoint\n"
    "       jpki audit list\n\n"
    "The append-only, hash-chained audit log of every mutation.  verify\n"
    "recomputes the chain and names the first record that does not match,\n"
    "checks every signed checkpoint in DIR/audit/checkpoints (records cut\n"
    "from the end or rewritten show there), then the certificates table\n"
    "against the log: every certificate has its issue record (and the DER\n"
    "hash the record names), every issued certificate is in the table, and\n"
    "every revocation or hold in the table has its record and every record\n"
    "its revocation.  Each disagreement is printed by serial (exit non-zero).\n"
    "The cross-check holds the log's certificates in memory; on a large log\n"
    "it runs in passes, each over one share of the serials, reading the log\n"
    "and the table again (--passes N sets how many, 1 to 1024; by default\n"
    "as many as keep it under 1 GiB).\n"
    "checkpoint signs the\n"
    "chain's head with the CA's audit key and appends it to that file\n"
    "(jpkid does so after every revocation and every minute).\n";

static int print_audit(void *vctx, const store_audit *a)
{
	json_t *arr = vctx;
	char t[21];
	jpki_time_format(a->at, t);
	if (arr != NULL) {
		json_t *o = json_object();
		json_object_set_new(o, "seq", json_integer(a->seq));
		json_object_set_new(o, "at", json_string(t));
		json_object_set_new(o, "actor", json_string(a->actor));
		json_object_set_new(o, "action", json_string(a->action));
		json_object_set_new(o, "detail", json_string(a->detail));
		json_object_set_new(o, "hash", json_string(a->hash));
		json_array_append_new(arr, o);
	} else {
		printf("%6lld %s %-8s %-16s %s\n", (long long)a->seq, t,
		       a->actor, a->action, a->detail);
	}
	return 0;
}

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int rc;
	if (cli_want_help(argc, argv, audit_help))
		return 0;
	if (argc < 2)
		return cli_usage_error("audit: missing action (verify, list)");
	/* verify's options, checked before the CA is opened */
	long passes = 0;
	for (int i = 2; strcmp(argv[1], "verify") == 0 && i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--passes") != 0 || i + 1 >= argc)
			return cli_usage_error("audit verify: unexpected %s",
					       argv[i]);
		passes = strtol(argv[++i], &end, 10);
		if (end == argv[i] || *end != '\0' || passes < 1 ||
		    passes > CA_AUDIT_PASSES_MAX)
			return cli_usage_error("audit verify: --passes takes a "
					       "number from 1 to %d, not %s",
					       CA_AUDIT_PASSES_MAX, argv[i]);
	}
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if (strcmp(argv[1], "verify") == 0) {
		ca_audit_report rep;
		rc = ca_audit_verify_passes(ca, (int)passes, &rep, &err);
		ca_close(ca);
		if (rc != 0 && rep.mismatches > 0) {
			/* each disagreement of the table with the log, by
			 * serial (stderr; the JSON error names the first) */
			int64_t shown = rep.mismatches < CA_AUDIT_MISMATCH_MAX
					    ? rep.mismatches
					    : CA_AUDIT_MISMATCH_MAX;
			for (int64_t i = 0; i < shown; i++)
				fprintf(stderr, "mismatch: %s\n",
					rep.mismatch[i]);
			if (rep.mismatches > shown)
				fprintf(stderr, "... and %lld more\n",
					(long long)(rep.mismatches - shown));
		}
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		if (ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_true());
			json_object_set_new(o, "records",
					    json_integer(rep.records));
			json_object_set_new(o, "checkpoints",
					    json_integer(rep.checkpoints));
			json_object_set_new(o, "checkpoint_seq",
					    json_integer(rep.checkpoint_seq));
			json_object_set_new(o, "checkpoint_at",
					    json_string(rep.checkpoint_at));
			json_object_set_new(
			    o, "revocations_checked",
			    json_integer(rep.revocations_checked));
			json_object_set_new(
			    o, "certificates_checked",
			    json_integer(rep.certificates_checked));
			json_object_set_new(o, "passes",
					    json_integer(rep.passes));
			cli_print_json(o);
		} else {
			printf(
			    "audit log intact: %lld records, %lld signed "
			    "checkpoints (latest: record %lld, %s); %lld "
			    "certificates and %lld revocations match it\n",
			    (long long)rep.records, (long long)rep.checkpoints,
			    (long long)rep.checkpoint_seq,
			    rep.checkpoint_at[0] ? rep.checkpoint_at : "none",
			    (long long)rep.certificates_checked,
			    (long long)rep.revocations_checked);
		}
		return 0;
	}
	if (strcmp(argv[1], "checkpoint") == 0) {
		ca_checkpoint cp;
		rc = ca_audit_checkpoint(ca, ctx->now, &cp, &err);
		ca_close(ca);
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		if (ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "seq", json_integer(cp.seq));
			json_object_set_new(o, "hash", json_string(cp.hash));
			json_object_set_new(o, "line", json_string(cp.line));
			cli_print_json(o);
		} else {
			printf("%s\n", cp.line);
		}
		return 0;
	}
	if (strcmp(argv[1], "list") == 0) {
		json_t *arr = ctx->json ? json_array() : NULL;
		rc = store_audit_each(ca_store(ca), print_audit, arr, &err);
		ca_close(ca);
		if (rc != 0) {
			json_decref(arr);
			return cli_error(ctx, rc, &err);
		}
		cli_print_json(arr);
		return 0;
	}
	ca_close(ca);
	return cli_usage_error("audit: unknown action %s", argv[1]);
}
