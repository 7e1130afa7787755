/* JSON views shared by the CLI and jpkid (include/openjpki/views.h). */
#include "openjpki/views.h"

#include "openjpki/x509.h"

static void date_str(jpki_date d, char out[11])
{
	if (d.y == 0)
		out[0] = '\0';
	else
		jpki_date_format(d, out);
}

json_t *jpki_view_validity(const jpki_validity *v)
{
	static const char *const caps[] = {"birthday", "card", "auth"};
	char d[11];
	jpki_date_format(v->last_day, d);
	return json_pack("{s:s,s:i,s:s}", "last_day", d, "birthday_n",
			 v->birthday_n, "capped_by",
			 (unsigned)v->capped_by < 3 ? caps[v->capped_by] : "?");
}

json_t *jpki_view_application(const store_app *a)
{
	char d1[11], d2[11], t1[21], t2[21];
	date_str(a->inquiry_sent, d1);
	date_str(a->inquiry_answered, d2);
	jpki_time_format(a->opened_at, t1);
	jpki_time_format(a->updated_at, t2);
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "resident", json_integer(a->resident_id));
	json_object_set_new(o, "kind",
			    json_string(registry_app_kind_name(a->kind)));
	json_object_set_new(o, "state",
			    json_string(registry_app_state_name(a->state)));
	json_object_set_new(o, "open",
			    json_boolean(a->state < STORE_APP_COMPLETED));
	json_object_set_new(o, "applicant",
			    json_string(registry_applicant_name(a->applicant)));
	json_object_set_new(o, "agent_name", json_string(a->agent_name));
	json_object_set_new(o, "sign",
			    json_boolean(a->certs & STORE_APP_CERT_SIGN));
	json_object_set_new(o, "auth",
			    json_boolean(a->certs & STORE_APP_CERT_AUTH));
	json_object_set_new(o, "pins", json_integer(a->pins));
	json_object_set_new(o, "card", json_string(a->card_serial));
	json_object_set_new(o, "new_card", json_string(a->new_card_serial));
	json_object_set_new(o, "inquiry_sent", json_string(d1));
	json_object_set_new(o, "inquiry_answered", json_string(d2));
	json_object_set_new(o, "note", json_string(a->note));
	json_object_set_new(o, "opened_at", json_string(t1));
	json_object_set_new(o, "updated_at", json_string(t2));
	return o;
}

json_t *jpki_view_plan(const jpki_plan *pl)
{
	static const char *const kn[3] = {"", "sign", "auth"};
	static const char *const acts[] = {"keep", "revoke", "hold"};
	json_t *o = json_pack("{s:b,s:s,s:s,s:s}", "ok", pl->ok, "code",
			      pl->code != NULL ? pl->code : "invalid", "en",
			      pl->en, "ja", pl->ja);
	for (int k = 1; o != NULL && k <= 2; k++) {
		const rules_plan_cert *c = &pl->cert[k];
		json_t *e = json_pack(
		    "{s:b,s:b,s:s,s:s,s:s,s:s,s:b}", "asked", c->asked, "issue",
		    c->issue, "code", c->code != NULL ? c->code : "not-asked",
		    "en", c->en, "ja", c->ja, "current",
		    (unsigned)c->current < 3 ? acts[c->current] : "keep",
		    "renewal", c->renewal);
		if (e != NULL && c->issue)
			json_object_set_new(e, "validity",
					    jpki_view_validity(&c->validity));
		if (e != NULL && c->reason >= 0 && c->current != RULES_KEEP) {
			json_object_set_new(e, "reason",
					    json_string(jpki_reason_name(
						(jpki_reason)c->reason)));
			json_object_set_new(
			    e, "reason_ja",
			    json_string(rules_reason_ja(c->reason)));
		}
		json_object_set_new(o, kn[k], e);
	}
	return o;
}

json_t *jpki_view_resident(const store_resident *res)
{
	char d[11];
	jpki_date_format(res->birth, d);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:b,s:s,s:o}", "id",
			 (json_int_t)res->id, "ext_id", res->ext_id, "name",
			 res->name, "kana", res->kana, "address", res->address,
			 "birth", d, "sex", res->sex, "muni", res->muni_code,
			 "adult_ward", res->adult_ward, "status",
			 res->status == STORE_RESIDENT_LIVING ? "living"
							      : "removed",
			 "my_number",
			 res->my_number[0] != '\0' ? json_string(res->my_number)
						   : json_null());
}

json_t *jpki_view_certificate(const store_cert *c)
{
	char nb[21], na[21], ra[21];
	const char *kind = c->kind == JPKI_CERT_SIGN   ? "sign"
			   : c->kind == JPKI_CERT_AUTH ? "auth"
			   : c->kind == 11	       ? "sign-root"
			   : c->kind == 12	       ? "auth-root"
						       : "unknown";
	const char *status = c->status == STORE_CERT_VALID ? "valid"
			     : c->reason == JPKI_REASON_CERTIFICATE_HOLD
				 ? "hold"
				 : "revoked";
	jpki_time_format(c->not_before, nb);
	jpki_time_format(c->not_after, na);
	json_t *o = json_pack(
	    "{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "serial", c->serial,
	    "kind", kind, "resident", (json_int_t)c->resident_id, "card",
	    c->card_serial, "muni", c->muni_code, "subject", c->subject,
	    "not_before", nb, "not_after", na, "status", status);
	if (o != NULL && c->status == STORE_CERT_REVOKED) {
		const char *rn = jpki_reason_name((jpki_reason)c->reason);
		jpki_time_format(c->revoked_at, ra);
		json_object_set_new(o, "reason", json_string(rn ? rn : "?"));
		json_object_set_new(o, "revoked_at", json_string(ra));
	}
	return o;
}
