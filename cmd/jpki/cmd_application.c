/* jpki application | notices: the counter's application workflow and the
 * expiry-notice batch (registry/). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"
#include "openjpki/views.h"

static const char app_help[] =
    "usage: jpki application SUBCOMMAND [ARGS] [--json]\n\n"
    "The counter's applications (窓口申請), each with its documents, state\n"
    "and history; every step audited.\n\n"
    "  open --resident RID --kind KIND [--applicant self|proxy|legal]\n"
    "       [--agent NAME] [--card SERIAL] [--certs sign,auth] [--pins "
    "sign,auth,cardinfo]\n"
    "       [--note TEXT]\n"
    "      KIND: new-card issue renewal reissue revoke pin-reset loss found\n"
    "      --certs: certificates wanted (or revoked); default: what the\n"
    "      holder has.  A 法定代理人 (legal) obtains the authentication\n"
    "      certificate only; under-15s and adult wards apply through one.\n"
    "  add-document ID --type TYPE --number NO [--expiry YYYY-MM-DD]\n"
    "       [--role holder|agent]\n"
    "      TYPE: mynumber_card drivers_license passport\n"
    "      special_permanent_resident residence_card disability_certificate\n"
    "      letter_of_attorney inquiry_answer family_register\n"
    "      guardianship_certificate.  Type and number only, never images;\n"
    "      expired documents are refused.\n"
    "  send-inquiry ID     照会書兼回答書 mailed to the holder (任意代理人)\n"
    "  answer-inquiry ID   the answer came back (never the same day)\n"
    "  preview ID          eligibility, validity, card expiry, fees, effects\n"
    "  approve ID          documents checked (a new card is ordered)\n"
    "  card-produced ID --card SERIAL   the card came from J-LIS\n"
    "  card-ready ID       the card is at the counter\n"
    "  complete ID [--sign-key PUB] [--auth-key PUB] [--window ID]\n"
    "       [--out-dir DIR]   (alias: issue) hand over / issue / renew /\n"
    "      revoke / hold / record the PIN reset (the holder sets the new\n"
    "      PIN at the card: `jpki card personalize` re-run)\n"
    "  reject ID --reason TEXT\n"
    "  cancel ID\n"
    "  show ID             the application, its documents and history\n"
    "  list [--resident RID] [--open] [--limit N]\n";

static int parse_id(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v = s != NULL ? strtoll(s, &end, 10) : 0;
	if (s == NULL || *end != '\0' || v <= 0)
		return cli_usage_error("not an id: %s", s != NULL ? s : "");
	*out = v;
	return 0;
}

static int parse_set(const char *s, const char *const *names, int *out)
{
	char buf[64];
	int v = 0;
	if (jpki_strlcpy(buf, s, sizeof(buf)) != 0)
		return cli_usage_error("list too long: %s", s);
	for (char *p = buf, *q; p != NULL; p = q) {
		q = strchr(p, ',');
		if (q != NULL)
			*q++ = '\0';
		int i = 0;
		while (names[i] != NULL && strcmp(names[i], p) != 0)
			i++;
		if (names[i] == NULL)
			return cli_usage_error("unknown item: %s", p);
		v |= 1 << i;
	}
	*out = v;
	return 0;
}

static void date_str(jpki_date d, char out[11])
{
	if (d.y == 0)
		out[0] = '\0';
	else
		jpki_date_format(d, out);
}

static json_t *app_json(const store_app *a)
{
	return jpki_view_application(a);
}

static void app_text(const store_app *a)
{
	printf("application %lld: %s, %s (resident %lld, applicant %s%s%s)\n",
	       (long long)a->id, registry_app_kind_name(a->kind),
	       registry_app_state_name(a->state), (long long)a->resident_id,
	       registry_applicant_name(a->applicant),
	       a->agent_name[0] ? " " : "", a->agent_name);
	if (a->card_serial[0])
		printf("  card: %s\n", a->card_serial);
	if (a->new_card_serial[0])
		printf("  new card: %s\n", a->new_card_serial);
	if (a->certs)
		printf("  certificates:%s%s\n",
		       (a->certs & STORE_APP_CERT_SIGN) ? " sign (署名用)" : "",
		       (a->certs & STORE_APP_CERT_AUTH) ? " auth (利用者証明用)"
							: "");
	if (a->note[0])
		printf("  note: %s\n", a->note);
}

static int print_app(cli_ctx *ctx, jpki_ca *ca, int64_t id, jpki_err *err)
{
	store_app a;
	int rc = store_app_get(ca_store(ca), id, &a, err);
	if (rc != 0)
		return rc;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "application", app_json(&a));
		cli_print_json(o);
	} else {
		app_text(&a);
	}
	return 0;
}

static int doc_cb(void *vctx, const store_app_doc *d)
{
	json_t *arr = vctx;
	char e[11], t[21];
	date_str(d->expiry, e);
	jpki_time_format(d->added_at, t);
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer(d->seq));
	json_object_set_new(o, "role",
			    json_string(registry_doc_role_name(d->role)));
	json_object_set_new(o, "type", json_string(d->type));
	json_object_set_new(o, "number", json_string(d->number));
	json_object_set_new(o, "expiry", json_string(e));
	json_object_set_new(o, "added_at", json_string(t));
	json_array_append_new(arr, o);
	return 0;
}

static int event_cb(void *vctx, const store_app_event *ev)
{
	json_t *arr = vctx;
	char t[21];
	jpki_time_format(ev->at, t);
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer(ev->seq));
	json_object_set_new(o, "at", json_string(t));
	json_object_set_new(o, "actor", json_string(ev->actor));
	json_object_set_new(o, "event", json_string(ev->event));
	json_object_set_new(
	    o, "from", json_string(registry_app_state_name(ev->from_state)));
	json_object_set_new(o, "to",
			    json_string(registry_app_state_name(ev->to_state)));
	json_object_set_new(o, "detail", json_string(ev->detail));
	json_array_append_new(arr, o);
	return 0;
}

static int show(cli_ctx *ctx, jpki_ca *ca, int64_t id, jpki_err *err)
{
	store_app a;
	json_t *docs = json_array(), *events = json_array();
	int rc;
	if ((rc = store_app_get(ca_store(ca), id, &a, err)) != 0 ||
	    (rc = store_app_doc_each(ca_store(ca), id, doc_cb, docs, err)) !=
		0 ||
	    (rc = store_app_event_each(ca_store(ca), id, event_cb, events,
				       err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "application", app_json(&a));
		json_object_set(o, "documents", docs);
		json_object_set(o, "history", events);
		cli_print_json(o);
		goto out;
	}
	app_text(&a);
	printf("  documents:\n");
	for (size_t i = 0; i < json_array_size(docs); i++) {
		json_t *d = json_array_get(docs, i);
		printf("    %s %s no. %s%s%s\n",
		       json_string_value(json_object_get(d, "role")),
		       json_string_value(json_object_get(d, "type")),
		       json_string_value(json_object_get(d, "number")),
		       json_string_length(json_object_get(d, "expiry"))
			   ? " valid to "
			   : "",
		       json_string_value(json_object_get(d, "expiry")));
	}
	printf("  history:\n");
	for (size_t i = 0; i < json_array_size(events); i++) {
		json_t *e = json_array_get(events, i);
		printf("    %s %-14s %s -> %s by %s  %s\n",
		       json_string_value(json_object_get(e, "at")),
		       json_string_value(json_object_get(e, "event")),
		       json_string_value(json_object_get(e, "from")),
		       json_string_value(json_object_get(e, "to")),
		       json_string_value(json_object_get(e, "actor")),
		       json_string_value(json_object_get(e, "detail")));
	}
out:
	json_decref(docs);
	json_decref(events);
	return rc;
}

typedef struct list_ctx {
	bool json;
	json_t *arr;
} list_ctx;

static int list_cb(void *vctx, const store_app *a)
{
	list_ctx *l = vctx;
	if (l->json)
		json_array_append_new(l->arr, app_json(a));
	else
		printf("%6lld  %-9s %-16s resident %lld  %s%s%s\n",
		       (long long)a->id, registry_app_kind_name(a->kind),
		       registry_app_state_name(a->state),
		       (long long)a->resident_id,
		       registry_applicant_name(a->applicant),
		       a->agent_name[0] ? " " : "", a->agent_name);
	return 0;
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

static void preview_out(cli_ctx *ctx, const registry_preview *pv)
{
	static const char *kn[3] = {"", "sign", "auth"};
	char ce[11];
	jpki_date_format(pv->card_expiry, ce);
	if (ctx->json) {
		json_t *o = json_object(), *af = json_array();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "application", app_json(&pv->app));
		json_object_set_new(o, "age", json_integer(pv->age));
		for (int k = 1; k <= 2; k++) {
			if (pv->want[k])
				json_object_set_new(
				    o, kn[k], validity_json(&pv->validity[k]));
			else if (pv->refused[k][0])
				json_object_set_new(o, kn[k],
						    json_pack("{s:s}",
							      "refused",
							      pv->refused[k]));
		}
		json_object_set_new(o, "new_card", json_boolean(pv->new_card));
		json_object_set_new(o, "card_expiry", json_string(ce));
		json_object_set_new(o, "fee",
				    json_pack("{s:i,s:i,s:i}", "cert_yen",
					      pv->fee.cert_yen, "card_yen",
					      pv->fee.card_yen, "total",
					      pv->fee_total));
		for (int i = 0; i < pv->affected && i < 4; i++)
			json_array_append_new(
			    af, json_string(pv->affected_serials[i]));
		json_object_set_new(o, pv->hold ? "held" : "revoked", af);
		json_object_set_new(o, "documents_ok",
				    json_boolean(pv->docs_ok));
		json_object_set_new(o, "documents_missing",
				    json_string(pv->docs_missing));
		json_object_set_new(o, "plan", jpki_view_plan(&pv->plan));
		cli_print_json(o);
		return;
	}
	app_text(&pv->app);
	printf("  age %d; card %s valid to %s\n", pv->age,
	       pv->new_card ? "(new, projected)" : pv->app.card_serial, ce);
	for (int k = 2; k >= 1; k--) {
		char d[11];
		if (pv->want[k]) {
			jpki_date_format(pv->validity[k].last_day, d);
			printf("  %s certificate: valid to %s\n", kn[k], d);
		} else if (pv->refused[k][0]) {
			printf("  %s certificate: refused: %s\n", kn[k],
			       pv->refused[k]);
		}
	}
	for (int i = 0; i < pv->affected && i < 4; i++)
		printf("  would %s %s\n", pv->hold ? "hold" : "revoke",
		       pv->affected_serials[i]);
	printf("  fee: %d yen (certificates %d, card %d)\n", pv->fee_total,
	       pv->fee.cert_yen, pv->fee.card_yen);
	printf("  documents: %s%s\n", pv->docs_ok ? "sufficient" : "missing: ",
	       pv->docs_ok ? "" : pv->docs_missing);
}

static int complete(cli_ctx *ctx, jpki_ca *ca, int64_t id, int argc,
		    char **argv, jpki_err *err)
{
	static const struct option opts[] = {
	    {"sign-key", required_argument, NULL, 's'},
	    {"auth-key", required_argument, NULL, 'a'},
	    {"window", required_argument, NULL, 'w'},
	    {"out-dir", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	registry_complete_in in = {0};
	registry_outcome o;
	X509 *scert = NULL, *acert = NULL; /* parsed for display and files */
	const char *sp = NULL, *ap = NULL, *out_dir = NULL;
	char sf[4096] = "", af[4096] = "";
	int c, rc = 0;
	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': sp = optarg; break;
		case 'a': ap = optarg; break;
		case 'w': in.window_id = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'j': ctx->json = true; break;
		default: return 2;
		}
	}
	if ((sp && (rc = cli_read_pubkey(sp, &in.sign_pub, err)) != 0) ||
	    (ap && (rc = cli_read_pubkey(ap, &in.auth_pub, err)) != 0) ||
	    (rc = registry_app_complete(ca, id, &in, ctx->now, "cli", &o,
					err)) != 0 ||
	    (o.issued.sign_der != NULL &&
	     (rc = ca_issued_x509(&o.issued, JPKI_CERT_SIGN, &scert, err)) !=
		 0) ||
	    (o.issued.auth_der != NULL &&
	     (rc = ca_issued_x509(&o.issued, JPKI_CERT_AUTH, &acert, err)) !=
		 0))
		goto out;
	if (out_dir != NULL && (scert || acert)) {
		if ((rc = jpki_mkdirs(out_dir, 0755, err)) != 0)
			goto out;
		snprintf(sf, sizeof(sf), "%s/sign.pem", out_dir);
		snprintf(af, sizeof(af), "%s/auth.pem", out_dir);
		if ((scert && (rc = cli_write_cert(sf, scert, err)) != 0) ||
		    (acert && (rc = cli_write_cert(af, acert, err)) != 0))
			goto out;
	}
	if (ctx->json) {
		json_t *j = json_object(), *rv = json_array();
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "id", json_integer(id));
		json_object_set_new(j, "card", json_string(o.card_serial));
		if (scert)
			json_object_set_new(j, "sign", cli_cert_json(scert));
		if (acert)
			json_object_set_new(j, "auth", cli_cert_json(acert));
		for (int i = 0; i < o.revoked && i < 4; i++)
			json_array_append_new(rv, json_string(o.serials[i]));
		for (int i = 0; i < 2; i++)
			if (o.issued.superseded[i][0])
				json_array_append_new(
				    rv, json_string(o.issued.superseded[i]));
		json_object_set_new(j, "revoked_or_held", rv);
		json_object_set_new(
		    j, "fee_yen",
		    json_integer(o.fee.cert_yen + o.fee.card_yen));
		cli_print_json(j);
	} else {
		printf("application %lld completed\n", (long long)id);
		if (scert)
			printf("  signature certificate %s%s%s\n",
			       o.issued.sign_serial, sf[0] ? " -> " : "", sf);
		if (acert)
			printf("  authentication certificate %s%s%s\n",
			       o.issued.auth_serial, af[0] ? " -> " : "", af);
		for (int i = 0; i < o.revoked && i < 4; i++)
			printf("  revoked/held %s\n", o.serials[i]);
		for (int i = 0; i < 2; i++)
			if (o.issued.superseded[i][0])
				printf("  revoked %s (superseded)\n",
				       o.issued.superseded[i]);
		printf("  fee: %d yen\n", o.fee.cert_yen + o.fee.card_yen);
	}
out:
	X509_free(scert);
	X509_free(acert);
	registry_outcome_free(&o);
	EVP_PKEY_free(in.sign_pub);
	EVP_PKEY_free(in.auth_pub);
	return rc;
}

int cmd_application(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const cert_names[] = {"sign", "auth", NULL};
	static const char *const pin_names[] = {"sign", "auth", "cardinfo",
						NULL};
	static const struct option opts[] = {
	    {"resident", required_argument, NULL, 'r'},
	    {"kind", required_argument, NULL, 'k'},
	    {"applicant", required_argument, NULL, 'A'},
	    {"agent", required_argument, NULL, 'g'},
	    {"card", required_argument, NULL, 'c'},
	    {"certs", required_argument, NULL, 'C'},
	    {"pins", required_argument, NULL, 'P'},
	    {"note", required_argument, NULL, 'n'},
	    {"type", required_argument, NULL, 't'},
	    {"number", required_argument, NULL, 'N'},
	    {"expiry", required_argument, NULL, 'e'},
	    {"role", required_argument, NULL, 'R'},
	    {"reason", required_argument, NULL, 'x'},
	    {"open", no_argument, NULL, 'o'},
	    {"limit", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	registry_app_req req = {.applicant = STORE_APPLICANT_SELF};
	store_doc_role role = STORE_DOC_HOLDER;
	const char *type = NULL, *number = NULL, *reason = NULL, *card = NULL;
	jpki_date expiry = {0, 0, 0};
	bool open_only = false, have_kind = false, usage = false;
	int limit = 100, c, rc = 0;
	int64_t id = 0;
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	store_app a;
	if (argc < 2 || cli_want_help(argc, argv, app_help)) {
		if (argc < 2)
			fputs(app_help, stderr);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	bool with_id = strcmp(sub, "open") != 0 && strcmp(sub, "list") != 0;
	if (with_id) {
		if (argc < 2 || argv[1][0] == '-')
			return cli_usage_error("application %s: ID is required",
					       sub);
		if ((rc = parse_id(argv[1], &id)) != 0)
			return rc;
		argc--;
		argv++;
	}
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0)
		return cli_error(ctx, rc, &err);
	if (strcmp(sub, "complete") == 0 || strcmp(sub, "issue") == 0) {
		rc = complete(ctx, ca, id, argc, argv, &err);
		goto out;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_id(optarg, &req.resident_id) != 0) {
				usage = true;
				goto out;
			}
			break;
		case 'k':
			if ((rc = registry_app_kind_parse(optarg, &req.kind,
							  &err)) != 0)
				goto out;
			have_kind = true;
			break;
		case 'A':
			if ((rc = registry_applicant_parse(
				 optarg, &req.applicant, &err)) != 0)
				goto out;
			break;
		case 'g': req.agent_name = optarg; break;
		case 'c': card = optarg; break;
		case 'C':
			if (parse_set(optarg, cert_names, &req.certs) != 0) {
				usage = true;
				goto out;
			}
			break;
		case 'P':
			if (parse_set(optarg, pin_names, &req.pins) != 0) {
				usage = true;
				goto out;
			}
			break;
		case 'n': req.note = optarg; break;
		case 't': type = optarg; break;
		case 'N': number = optarg; break;
		case 'e':
			if (jpki_date_parse(optarg, &expiry) != 0) {
				cli_usage_error("--expiry: not a date: %s",
						optarg);
				usage = true;
				goto out;
			}
			break;
		case 'R':
			if ((rc = registry_doc_role_parse(optarg, &role,
							  &err)) != 0)
				goto out;
			break;
		case 'x': reason = optarg; break;
		case 'o': open_only = true; break;
		case 'l': {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 10000) {
				cli_usage_error("--limit: 1 to 10000");
				usage = true;
				goto out;
			}
			limit = (int)v;
			break;
		}
		case 'j': ctx->json = true; break;
		default: usage = true; goto out;
		}
	}
	if (strcmp(sub, "open") == 0) {
		if (req.resident_id == 0 || !have_kind) {
			cli_usage_error(
			    "application open: --resident and --kind "
			    "are required");
			usage = true;
			goto out;
		}
		req.card_serial = card;
		if ((rc = registry_app_open(ca, &req, ctx->now, "cli", &a,
					    &err)) == 0)
			rc = print_app(ctx, ca, a.id, &err);
	} else if (strcmp(sub, "add-document") == 0) {
		if (type == NULL || number == NULL) {
			cli_usage_error("add-document: --type and --number are "
					"required");
			usage = true;
			goto out;
		}
		if ((rc = registry_app_add_document(ca, id, role, type, number,
						    expiry, ctx->now, "cli",
						    &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "send-inquiry") == 0) {
		if ((rc = registry_app_send_inquiry(ca, id, ctx->now, "cli",
						    &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "answer-inquiry") == 0) {
		if ((rc = registry_app_answer_inquiry(ca, id, ctx->now, "cli",
						      &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "preview") == 0) {
		registry_preview pv;
		if ((rc = registry_app_preview(ca, id, ctx->now, &pv, &err)) ==
		    0)
			preview_out(ctx, &pv);
	} else if (strcmp(sub, "approve") == 0) {
		if ((rc = registry_app_approve(ca, id, ctx->now, "cli",
					       &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "card-produced") == 0) {
		if (card == NULL) {
			cli_usage_error("card-produced: --card is required");
			usage = true;
			goto out;
		}
		if ((rc = registry_app_card_produced(ca, id, card, ctx->now,
						     "cli", &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "card-ready") == 0) {
		if ((rc = registry_app_card_ready(ca, id, ctx->now, "cli",
						  &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "reject") == 0) {
		if ((rc = registry_app_reject(ca, id, reason, ctx->now, "cli",
					      &err)) == 0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "cancel") == 0) {
		if ((rc = registry_app_cancel(ca, id, ctx->now, "cli", &err)) ==
		    0)
			rc = print_app(ctx, ca, id, &err);
	} else if (strcmp(sub, "show") == 0) {
		rc = show(ctx, ca, id, &err);
	} else if (strcmp(sub, "list") == 0) {
		list_ctx l = {ctx->json, json_array()};
		rc = store_app_list(ca_store(ca), req.resident_id, open_only,
				    limit, list_cb, &l, &err);
		if (rc == 0 && ctx->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_true());
			json_object_set(o, "applications", l.arr);
			cli_print_json(o);
		}
		json_decref(l.arr);
	} else {
		cli_usage_error("application: unknown subcommand %s", sub);
		usage = true;
	}
out:
	ca_close(ca);
	if (usage || rc > 0)
		return 2;
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

static const char notices_help[] =
    "usage: jpki notices run --out DIR [--json]\n\n"
    "有効期限通知書: every valid certificate whose last day is 2 to 3 months\n"
    "away and whose notice was not sent yet gets one letter.  Writes\n"
    "DIR/letters.html (Japanese, one letter per printed page: holder,\n"
    "address, certificate, expiry, how to renew, fee free) and\n"
    "DIR/mailroom.csv (UTF-8, header) and records the notices as sent:\n"
    "a certificate is noticed once.\n";

int cmd_notices(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	const char *out_dir = NULL;
	registry_notice_summary sum;
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int c, rc;
	if (cli_want_help(argc, argv, notices_help))
		return 0;
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		return cli_usage_error("notices: the subcommand is run");
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out_dir = optarg; break;
		case 'j': ctx->json = true; break;
		default: return 2;
		}
	}
	if (out_dir == NULL)
		return cli_usage_error("notices run: --out DIR is required");
	if ((rc = cli_open_ca(ctx, &ca, &err)) != 0 ||
	    (rc = registry_notices_run(ca, out_dir, ctx->now, "cli", &sum,
				       &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "batch", json_string(sum.batch));
		json_object_set_new(o, "sent", json_integer(sum.sent));
		json_object_set_new(o, "already_sent",
				    json_integer(sum.already_sent));
		json_object_set_new(o, "letters", json_string("letters.html"));
		json_object_set_new(o, "mailroom", json_string("mailroom.csv"));
		cli_print_json(o);
	} else {
		printf("notices: %d sent, %d already sent earlier (batch %s)\n"
		       "  %s/letters.html\n  %s/mailroom.csv\n",
		       sum.sent, sum.already_sent, sum.batch, out_dir, out_dir);
	}
out:
	ca_close(ca);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}
