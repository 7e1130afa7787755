/* Who may apply and with which documents: the holder (本人), a 任意代理人
 * (委任状, or the 照会書兼回答書 round trip by post), a 法定代理人 (親権者 of
 * a minor, 成年後見人 of an adult ward).  Documents are recorded by type and
 * number, never as images. */
#include <stdio.h>
#include <string.h>

#include "openjpki/util.h"
#include "reg_int.h"

/* Identity documents with a photo (顔写真付き本人確認書類) and the papers
 * of representation.  Sources: jpki-domain.md §3 (identity check with a
 * photo ID), §4 and §7 (任意代理人: 照会書兼回答書, not same-day; 法定代理人
 * for under-15s and adult wards). */
const registry_doc_type registry_doc_types[] = {
    {"mynumber_card", "マイナンバーカード", true, true},
    {"drivers_license", "運転免許証", true, true},
    {"passport", "旅券", true, true},
    {"special_permanent_resident", "特別永住者証明書", true, true},
    {"residence_card", "在留カード", true, true},
    {"disability_certificate", "身体障害者手帳", true, false},
    {"letter_of_attorney", "委任状", false, false},
    {"inquiry_answer", "照会書兼回答書", false, false},
    {"family_register", "戸籍謄本（親権者）", false, false},
    {"guardianship_certificate", "登記事項証明書（成年後見）", false, false},
    {NULL, NULL, false, false},
};

static const registry_doc_type *doc_type(const char *name)
{
	for (const registry_doc_type *t = registry_doc_types; t->name != NULL;
	     t++)
		if (name != NULL && strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static bool is_legal_proof(const char *name)
{
	return strcmp(name, "family_register") == 0 ||
	       strcmp(name, "guardianship_certificate") == 0;
}

/* Kinds for which the holder's card must be at the counter. */
static bool needs_card(store_app_kind k)
{
	return k == STORE_APP_ISSUE || k == STORE_APP_RENEWAL ||
	       k == STORE_APP_PIN_RESET || k == STORE_APP_FOUND;
}

static bool date_set(jpki_date d)
{
	return d.y != 0 || d.m != 0 || d.d != 0;
}

int reg_applicant_check(const store_app *a, const store_resident *r,
			jpki_date today, jpki_err *err)
{
	/* who must apply through whom is the law's (rules_plan); here only
	 * what the application itself must say */
	(void)r;
	(void)today;
	if ((a->applicant == STORE_APPLICANT_PROXY ||
	     a->applicant == STORE_APPLICANT_LEGAL) &&
	    a->agent_name[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL, "give the name of the %s",
				 a->applicant == STORE_APPLICANT_PROXY
				     ? "任意代理人"
				     : "法定代理人");
	if (a->applicant == STORE_APPLICANT_SELF && a->agent_name[0] != '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the holder applies in person: no agent name");
	return 0;
}

/* The number as written on the document: letters, digits, '-'. */
static int check_number(const registry_doc_type *t, const char *number,
			jpki_err *err)
{
	size_t n = number != NULL ? strnlen(number, 64) : 0;
	if (n == 0 || n >= 64)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the %s number must be 1 to 63 characters",
				 t->ja);
	bool digits = true;
	for (size_t i = 0; i < n; i++) {
		char c = number[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			  (c >= 'a' && c <= 'z') || c == '-';
		if (!ok)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "the %s number may hold letters, "
					 "digits and '-' only",
					 t->ja);
		digits = digits && c >= '0' && c <= '9';
	}
	/* 番号法: the 個人番号 is not collected for this purpose */
	if (strcmp(t->name, "mynumber_card") == 0 && digits && n == 12)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "12 digits look like the 個人番号: record the "
				 "card's serial number, never the My Number");
	return 0;
}

int reg_doc_check(const store_app *a, store_doc_role role, const char *type,
		  const char *number, jpki_date expiry, jpki_date today,
		  jpki_err *err)
{
	const registry_doc_type *t = doc_type(type);
	int rc;
	if (t == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown document type \"%s\" (see jpki "
				 "application add-document --help)",
				 type != NULL ? type : "");
	if ((rc = check_number(t, number, err)) != 0)
		return rc;
	if (t->expires && !date_set(expiry))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "give the expiry date of the %s", t->ja);
	if (date_set(expiry) && !jpki_date_valid(expiry))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the %s expiry date is not a valid date",
				 t->ja);
	if (date_set(expiry) && jpki_date_cmp(expiry, today) < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the %s expired on %04d-%02d-%02d: an expired "
				 "document is not accepted",
				 t->ja, expiry.y, expiry.m, expiry.d);
	if (t->photo_id) {
		if (role == STORE_DOC_AGENT &&
		    a->applicant == STORE_APPLICANT_SELF)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "the holder applies in person: no "
					 "agent's %s",
					 t->ja);
		return 0;
	}
	/* papers of representation: the holder's side of the proxy */
	if (strcmp(t->name, "letter_of_attorney") == 0 &&
	    a->applicant != STORE_APPLICANT_PROXY)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a 委任状 is only for an application by a "
				 "任意代理人");
	if (strcmp(t->name, "inquiry_answer") == 0) {
		if (a->applicant != STORE_APPLICANT_PROXY)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "a 照会書兼回答書 is only for an "
					 "application by a 任意代理人");
		if (a->state != STORE_APP_INQUIRY_ANSWERED)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "the 照会書兼回答書 must first go to "
					 "the holder by post and come back "
					 "(send-inquiry, answer-inquiry)");
	}
	if (is_legal_proof(t->name) && a->applicant != STORE_APPLICANT_LEGAL)
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "a %s proves a 法定代理人; this application is "
		    "by the %s",
		    t->ja,
		    a->applicant == STORE_APPLICANT_SELF ? "holder"
							 : "任意代理人");
	if (role != STORE_DOC_AGENT && is_legal_proof(t->name))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the %s is the 法定代理人's document (role "
				 "agent)",
				 t->ja);
	return 0;
}

typedef struct docs_seen {
	jpki_date today;
	bool holder_photo, holder_card, agent_photo, attorney, legal_proof;
} docs_seen;

static int seen(void *ctx, const store_app_doc *d)
{
	docs_seen *s = ctx;
	const registry_doc_type *t = doc_type(d->type);
	if (t == NULL)
		return 0;
	/* a document that expired since it was recorded no longer counts */
	if (date_set(d->expiry) && jpki_date_cmp(d->expiry, s->today) < 0)
		return 0;
	if (t->photo_id && d->role == STORE_DOC_HOLDER)
		s->holder_photo = true;
	if (t->photo_id && d->role == STORE_DOC_AGENT)
		s->agent_photo = true;
	if (strcmp(t->name, "mynumber_card") == 0 &&
	    d->role == STORE_DOC_HOLDER)
		s->holder_card = true;
	if (strcmp(t->name, "letter_of_attorney") == 0)
		s->attorney = true;
	if (is_legal_proof(t->name))
		s->legal_proof = true;
	return 0;
}

int reg_docs_ready(store *st, const store_app *a, jpki_date today,
		   jpki_err *err)
{
	docs_seen s;
	memset(&s, 0, sizeof(s));
	s.today = today;
	int rc = store_app_doc_each(st, a->id, seen, &s, err);
	if (rc != 0)
		return rc;
	const char *who = a->kind == STORE_APP_PIN_RESET
			      ? "a PIN reset needs an identity check: "
			      : "";
	if (a->applicant == STORE_APPLICANT_SELF && !s.holder_photo)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "%sthe holder's photo identity document is "
				 "not recorded",
				 who);
	if (a->applicant != STORE_APPLICANT_SELF && !s.agent_photo)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "%sthe %s's photo identity document is not "
				 "recorded",
				 who,
				 a->applicant == STORE_APPLICANT_PROXY
				     ? "任意代理人"
				     : "法定代理人");
	if (needs_card(a->kind) && !s.holder_card)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "the holder's マイナンバーカード must be "
				 "presented (document mynumber_card, role "
				 "holder)");
	if (a->applicant == STORE_APPLICANT_LEGAL && !s.legal_proof)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "proof of legal representation (戸籍謄本 or "
				 "登記事項証明書) is not recorded");
	if (a->applicant == STORE_APPLICANT_PROXY)
		return rules_proxy_papers(
		    (rules_app)a->kind, s.attorney,
		    a->state == STORE_APP_INQUIRY_ANSWERED, err);
	return 0;
}

int registry_app_add_document(jpki_ca *ca, int64_t app_id, store_doc_role role,
			      const char *type, const char *number,
			      jpki_date expiry, time_t now, const char *actor,
			      jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	store_app_doc d;
	char detail[160];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0)
		goto out;
	if (role != STORE_DOC_HOLDER && role != STORE_DOC_AGENT) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "document role %d is unknown", (int)role);
		goto out;
	}
	if ((rc = reg_doc_check(&a, role, type, number, expiry,
				jpki_date_of(now), err)) != 0)
		goto out;
	memset(&d, 0, sizeof(d));
	d.app_id = app_id;
	d.role = role;
	d.expiry = expiry;
	d.added_at = now;
	if (jpki_strlcpy(d.type, type, sizeof(d.type)) != 0 ||
	    jpki_strlcpy(d.number, number, sizeof(d.number)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "document type or number too long");
		goto out;
	}
	if ((rc = store_app_doc_add(st, &d, err)) != 0)
		goto out;
	/* the history names the type only: numbers stay in the documents */
	snprintf(detail, sizeof(detail), "document %d: %s (%s)", d.seq, d.type,
		 registry_doc_role_name(role));
	if ((rc = reg_app_note(st, &a, "document", now, actor, detail, err)) !=
		0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}
