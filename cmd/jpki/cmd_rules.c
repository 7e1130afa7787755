/* jpki rules: what the law says for a person on a day, without a CA. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "openjpki/rules.h"

static const char rules_help[] =
    "usage: jpki rules person --birth YYYY-MM-DD [--adult-ward]\n"
    "                         [--card-issued YYYY-MM-DD] [--renewal-of "
    "YYYY-MM-DD]\n"
    "       jpki rules pin sign|auth|cardinfo PIN\n"
    "       jpki rules fee issue|renewal|reissue\n\n"
    "person   age, eligibility for each certificate, card expiry and the\n"
    "         certificates' validity on the --now day (default today, JST);\n"
    "         --renewal-of gives the current certificates' last day\n"
    "pin      check a PIN against its format (exit 1 with the rule broken)\n"
    "fee      the fee (手数料) for an event\n";

static int rules_person(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"birth", required_argument, NULL, 'b'},
	    {"adult-ward", no_argument, NULL, 'w'},
	    {"card-issued", required_argument, NULL, 'c'},
	    {"renewal-of", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0}};
	jpki_person p = {{0, 0, 0}, false};
	jpki_date today = jpki_date_of(ctx->now), card_issued = today,
		  cur = {0, 0, 0};
	bool have_birth = false, renewal = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (jpki_date_parse(optarg, &p.birth) != 0)
				return cli_usage_error(
				    "--birth: not a date: %s", optarg);
			have_birth = true;
			break;
		case 'w': p.adult_ward = true; break;
		case 'c':
			if (jpki_date_parse(optarg, &card_issued) != 0)
				return cli_usage_error(
				    "--card-issued: not a date: %s", optarg);
			break;
		case 'r':
			if (jpki_date_parse(optarg, &cur) != 0)
				return cli_usage_error(
				    "--renewal-of: not a date: %s", optarg);
			renewal = true;
			break;
		default: return 2;
		}
	}
	if (!have_birth)
		return cli_usage_error("rules person: --birth is required");
	if (jpki_date_cmp(p.birth, today) > 0)
		return cli_usage_error("rules person: born after today");
	char d[11];
	json_t *o = json_object();
	jpki_date_format(today, d);
	json_object_set_new(o, "today", json_string(d));
	json_object_set_new(o, "age", json_integer(rules_age(p.birth, today)));
	jpki_date card_exp = rules_card_expiry(p.birth, card_issued);
	jpki_date_format(card_exp, d);
	json_object_set_new(o, "card_expiry", json_string(d));
	/* the one plan (rules_plan): issue onto a card issued
	 * --card-issued, or renew certificates ending --renewal-of */
	rules_plan_in in;
	jpki_plan plan;
	jpki_err perr = {0};
	memset(&in, 0, sizeof(in));
	in.person = p;
	in.today = today;
	in.app = renewal ? RULES_APP_RENEWAL : RULES_APP_ISSUE;
	in.applicant = RULES_BY_CA_TEST;
	in.certs = 3;
	in.card_expiry = card_exp;
	for (int k = JPKI_CERT_SIGN; renewal && k <= JPKI_CERT_AUTH; k++) {
		in.held[k].valid = in.held[k].on_card = true;
		in.held[k].last_day = cur;
	}
	if (rules_plan(&in, &plan, &perr) != 0 && plan.code == NULL) {
		json_decref(o);
		return cli_error(ctx, JPKI_ERR_INVAL, &perr);
	}
	for (int k = JPKI_CERT_AUTH; k >= JPKI_CERT_SIGN; k--) {
		const rules_plan_cert *pc = &plan.cert[k];
		json_t *j = json_object();
		json_object_set_new(j, "eligible", json_boolean(pc->issue));
		json_object_set_new(j, "code", json_string(pc->code));
		if (!pc->issue) {
			json_object_set_new(j, "reason", json_string(pc->en));
			json_object_set_new(j, "reason_ja",
					    json_string(pc->ja));
		} else {
			static const char *caps[] = {"birthday", "card",
						     "auth"};
			jpki_date_format(pc->validity.last_day, d);
			json_object_set_new(j, "last_day", json_string(d));
			json_object_set_new(
			    j, "birthday_n",
			    json_integer(pc->validity.birthday_n));
			json_object_set_new(
			    j, "capped_by",
			    json_string(caps[pc->validity.capped_by]));
		}
		json_object_set_new(o, jpki_cert_kind_name((jpki_cert_kind)k),
				    j);
	}
	jpki_fee fee = plan.fee;
	json_object_set_new(o, "fee_yen", json_integer(fee.cert_yen));
	if (ctx->json) {
		cli_print_json(o);
		return 0;
	}
	printf("on %s: age %lld (年齢計算ニ関スル法律)\n",
	       json_string_value(json_object_get(o, "today")),
	       (long long)json_integer_value(json_object_get(o, "age")));
	printf("card (マイナンバーカード) issued %s would be valid to %s\n",
	       (jpki_date_format(card_issued, d), d),
	       json_string_value(json_object_get(o, "card_expiry")));
	const char *names[] = {NULL, "signature certificate (署名用)     ",
			       "authentication certificate (利用者証明用)"};
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		json_t *j =
		    json_object_get(o, jpki_cert_kind_name((jpki_cert_kind)k));
		if (json_is_true(json_object_get(j, "eligible")))
			printf(
			    "%s: valid to %s (%s)\n", names[k],
			    json_string_value(json_object_get(j, "last_day")),
			    json_string_value(json_object_get(j, "capped_by")));
		else
			printf("%s: not issued: %s\n", names[k],
			       json_string_value(json_object_get(j, "reason")));
	}
	printf("fee: %d yen\n", fee.cert_yen);
	json_decref(o);
	return 0;
}

int cmd_rules(cli_ctx *ctx, int argc, char **argv)
{
	if (cli_want_help(argc, argv, rules_help))
		return 0;
	if (argc < 2)
		return cli_usage_error(
		    "rules: missing action (person, pin, fee)");
	if (strcmp(argv[1], "person") == 0)
		return rules_person(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "pin") == 0) {
		if (argc != 4)
			return cli_usage_error("rules pin: KIND PIN expected");
		jpki_pin_kind k = strcmp(argv[2], "sign") == 0	 ? JPKI_PIN_SIGN
				  : strcmp(argv[2], "auth") == 0 ? JPKI_PIN_AUTH
				  : strcmp(argv[2], "cardinfo") == 0
				      ? JPKI_PIN_CARDINFO
				      : 0;
		if (k == 0)
			return cli_usage_error(
			    "rules pin: sign, auth or cardinfo");
		char norm[JPKI_PIN_MAX + 1];
		jpki_err err = {0};
		int rc = rules_pin_check(k, argv[3], norm, sizeof(norm), &err);
		if (rc != 0)
			return cli_error(ctx, rc, &err);
		if (ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_true());
			json_object_set_new(o, "retries",
					    json_integer(rules_pin_retries(k)));
			cli_print_json(o);
		} else {
			printf(
			    "PIN format accepted (%d tries before it blocks)\n",
			    rules_pin_retries(k));
		}
		return 0;
	}
	if (strcmp(argv[1], "fee") == 0) {
		if (argc != 3)
			return cli_usage_error("rules fee: EVENT expected");
		jpki_fee_event ev =
		    strcmp(argv[2], "issue") == 0     ? JPKI_FEE_ISSUE
		    : strcmp(argv[2], "renewal") == 0 ? JPKI_FEE_RENEWAL
		    : strcmp(argv[2], "reissue") == 0 ? JPKI_FEE_CARD_REISSUE
						      : 0;
		if (ev == 0)
			return cli_usage_error(
			    "rules fee: issue, renewal or reissue");
		jpki_fee f = rules_fee(ev);
		if (ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "cert_yen",
					    json_integer(f.cert_yen));
			json_object_set_new(o, "card_yen",
					    json_integer(f.card_yen));
			cli_print_json(o);
		} else {
			printf(
			    "certificates %d yen, card %d yen, total %d yen\n",
			    f.cert_yen, f.card_yen, f.cert_yen + f.card_yen);
		}
		return 0;
	}
	return cli_usage_error("rules: unknown action %s", argv[1]);
}
