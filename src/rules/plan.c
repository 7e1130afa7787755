/* One plan per counter application: who may apply, which certificates are
 * issued with which validity, what happens to the current ones, and the
 * fee.  Every rule is one of the rules/ functions; this file only combines
 * them, once, for the registry, the CA, the CLI and the UI. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "openjpki/rules.h"

static const char *const app_names[] = {
    NULL,     "new-card",  "issue", "renewal", "reissue",
    "revoke", "pin-reset", "loss",  "found",
};

const char *rules_app_name(rules_app app)
{
	return app >= RULES_APP_NEW_CARD && app <= RULES_APP_FOUND
		   ? app_names[app]
		   : "unknown";
}

bool rules_app_issues(rules_app app)
{
	return app == RULES_APP_NEW_CARD || app == RULES_APP_ISSUE ||
	       app == RULES_APP_RENEWAL || app == RULES_APP_REISSUE ||
	       app == RULES_APP_FOUND;
}

static int bit(int k)
{
	return k == JPKI_CERT_SIGN ? 1 : 2;
}

static const char *en_of(int k)
{
	return k == JPKI_CERT_SIGN
		   ? "signature certificate (署名用電子証明書)"
		   : "authentication certificate (利用者証明用電子証明書)";
}

static const char *ja_of(int k)
{
	return k == JPKI_CERT_SIGN ? "署名用電子証明書"
				   : "利用者証明用電子証明書";
}

static void say(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, RULES_TEXT_MAX, fmt, ap);
	va_end(ap);
}

/* The first refusal is the plan's. */
static void refuse(jpki_plan *p, int rc, const char *code, const char *en,
		   const char *ja)
{
	if (p->rc != 0)
		return;
	p->rc = rc;
	p->code = code;
	snprintf(p->en, sizeof(p->en), "%s", en);
	snprintf(p->ja, sizeof(p->ja), "%s", ja);
}

static void refuse_cert(jpki_plan *p, rules_plan_cert *c, int rc)
{
	c->issue = false;
	refuse(p, rc, c->code, c->en, c->ja);
}

static bool current_on_card(const rules_holding *h)
{
	return h->valid && h->on_card;
}

static bool live(const rules_holding *h, jpki_date today)
{
	return h->valid && jpki_date_cmp(h->last_day, today) >= 0;
}

/* The kinds an application concerns when it names none. */
static int implied_certs(const rules_plan_in *in)
{
	int certs = 0;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		const rules_holding *h = &in->held[k];
		bool want = false;
		jpki_err e = {0, ""};
		switch (in->app) {
		case RULES_APP_RENEWAL:
		case RULES_APP_LOSS: want = current_on_card(h); break;
		case RULES_APP_REVOKE:
		case RULES_APP_REISSUE:
			want = current_on_card(h) || h->on_hold;
			break;
		case RULES_APP_FOUND: want = h->on_hold; break;
		case RULES_APP_ISSUE:
			/* what is missing and may be issued */
			want = !live(h, in->today) &&
			       rules_eligible((jpki_cert_kind)k, &in->person,
					      in->today, &e) == 0;
			break;
		default: break; /* new card: only what is asked */
		}
		if (want)
			certs |= bit(k);
	}
	return certs;
}

static void applicant_law(const rules_plan_in *in, jpki_plan *p)
{
	bool needs_legal = p->age < 15 || in->person.adult_ward;
	char t[11];
	if (in->applicant == RULES_BY_CA_TEST)
		return;
	if (needs_legal && in->applicant != RULES_BY_LEGAL) {
		char en[RULES_TEXT_MAX], ja[RULES_TEXT_MAX];
		jpki_date_format(in->today, t);
		if (in->person.adult_ward) {
			say(en, "an adult ward (成年被後見人) applies through "
				"a 法定代理人");
			say(ja, "成年被後見人の方の申請は法定代理人が行います");
		} else {
			say(en,
			    "a minor under 15 (age %d on %s) applies through "
			    "a 法定代理人",
			    p->age, t);
			say(ja,
			    "15歳未満の方（%sに%d歳）の申請は法定代理人が行い"
			    "ます",
			    t, p->age);
		}
		refuse(p, JPKI_ERR_INELIGIBLE, "needs-legal-representative", en,
		       ja);
	}
	if (!needs_legal && in->applicant == RULES_BY_LEGAL) {
		char en[RULES_TEXT_MAX], ja[RULES_TEXT_MAX];
		say(en,
		    "a 法定代理人 applies only for a minor under 15 or an "
		    "adult ward; the holder is %d and not under guardianship",
		    p->age);
		say(ja,
		    "法定代理人による申請は15歳未満の方または成年被後見人の"
		    "方に限られます（%d歳）",
		    p->age);
		refuse(p, JPKI_ERR_INELIGIBLE,
		       "legal-representative-not-applicable", en, ja);
	}
}

static void validity_of(const rules_plan_in *in, jpki_plan *p, int k)
{
	rules_plan_cert *c = &p->cert[k];
	const rules_holding *h = &in->held[k];
	jpki_validity_in vi;
	jpki_err e = {0, ""};
	char d[11];
	memset(&vi, 0, sizeof(vi));
	vi.birth = in->person.birth;
	vi.issued = in->today;
	vi.card_expiry = p->card_expiry;
	if (c->renewal) {
		vi.renewal = true;
		vi.current_expiry = h->last_day;
	}
	/* the signature certificate is capped by the authentication
	 * certificate on the same card: the one issued with it, else the
	 * valid one the card holds (足立区; 東村山市 jnet_q_005) */
	const rules_holding *ha = &in->held[JPKI_CERT_AUTH];
	if (k == JPKI_CERT_SIGN && p->cert[JPKI_CERT_AUTH].issue) {
		vi.has_auth_expiry = true;
		vi.auth_expiry = p->cert[JPKI_CERT_AUTH].validity.last_day;
	} else if (k == JPKI_CERT_SIGN && !p->new_card && current_on_card(ha) &&
		   live(ha, in->today) &&
		   p->cert[JPKI_CERT_AUTH].current == RULES_KEEP) {
		vi.has_auth_expiry = true;
		vi.auth_expiry = ha->last_day;
	}
	int rc = rules_cert_validity((jpki_cert_kind)k, &vi, &c->validity, &e);
	if (rc != 0) {
		c->code =
		    rc == JPKI_ERR_WINDOW ? "renewal-not-open" : "no-validity";
		say(c->en, "%s: %s", en_of(k), e.msg);
		say(c->ja, "%sの有効期間を定められません（%s）", ja_of(k),
		    rc == JPKI_ERR_WINDOW ? "更新の受付期間前"
					  : "カードまたは利用者証明用電子証明"
					    "書の期限");
		refuse_cert(p, c, rc);
		return;
	}
	c->issue = true;
	c->code = "ok";
	jpki_date_format(c->validity.last_day, d);
	say(c->en, "%s issued, valid to %s (%s)", en_of(k), d,
	    c->validity.capped_by == JPKI_CAP_CARD   ? "capped by the card"
	    : c->validity.capped_by == JPKI_CAP_AUTH ? "capped by the "
						       "authentication "
						       "certificate"
						     : "birthday");
	say(c->ja, "%sを発行（有効期限 %s、%s）", ja_of(k), d,
	    c->validity.capped_by == JPKI_CAP_CARD ? "カードの有効期限まで"
	    : c->validity.capped_by == JPKI_CAP_AUTH ? "利用者証明用電子証明書"
						       "の有効期限まで"
	    : c->validity.birthday_n == 6 ? "6回目の誕生日まで"
					  : "5回目の誕生日まで");
}

/* The law for one kind that the application issues. */
static void issue_law(const rules_plan_in *in, jpki_plan *p, int k)
{
	rules_plan_cert *c = &p->cert[k];
	const rules_holding *h = &in->held[k];
	jpki_err e = {0, ""};
	char d[11];
	int rc = rules_eligible((jpki_cert_kind)k, &in->person, in->today, &e);
	if (rc != 0) {
		c->code = in->person.adult_ward && p->age >= 15 ? "adult-ward"
								: "under-15";
		say(c->en, "%s", e.msg);
		if (in->person.adult_ward && p->age >= 15)
			say(c->ja, "署名用電子証明書は成年被後見人の方には"
				   "発行できません");
		else {
			jpki_date_format(rules_age_from(in->person.birth, 15),
					 d);
			say(c->ja,
			    "署名用電子証明書は15歳未満の方には発行できません"
			    "（%sに15歳）",
			    d);
		}
		refuse_cert(p, c, rc);
		return;
	}
	if (in->applicant == RULES_BY_LEGAL && k == JPKI_CERT_SIGN) {
		c->code = "legal-representative-auth-only";
		say(c->en, "a 法定代理人 can obtain only the authentication "
			   "certificate (利用者証明用電子証明書)");
		say(c->ja, "法定代理人が申請できるのは利用者証明用電子証明書"
			   "のみです");
		refuse_cert(p, c, JPKI_ERR_INELIGIBLE);
		return;
	}
	switch (in->app) {
	case RULES_APP_RENEWAL:
		if (!current_on_card(h)) {
			c->code = "nothing-to-renew";
			say(c->en, "no valid %s on the card to renew",
			    en_of(k));
			say(c->ja, "更新できる有効な%sがカードにありません",
			    ja_of(k));
			refuse_cert(p, c, JPKI_ERR_STATE);
			return;
		}
		if ((rc = rules_renewal_allowed(h->last_day, in->today, &e)) !=
		    0) {
			c->code = "renewal-not-open";
			jpki_date_format(rules_renewal_opens(h->last_day), d);
			say(c->en, "renewal of the %s: %s", en_of(k), e.msg);
			say(c->ja,
			    "%sの更新は%sから受け付けます（有効期限の3か月前）",
			    ja_of(k), d);
			refuse_cert(p, c, rc);
			return;
		}
		c->renewal = true;
		break;
	case RULES_APP_FOUND:
		if (!h->on_hold) {
			c->code = "not-held";
			say(c->en, "the %s is not on hold: nothing to reissue",
			    en_of(k));
			say(c->ja, "%sは一時保留されていません", ja_of(k));
			return;
		}
		break;
	case RULES_APP_REISSUE: break; /* the old card's are revoked */
	default:
		/* 発行, 新規交付: a live certificate of the kind blocks a
		 * second one (renew it, or revoke it first) */
		if (live(h, in->today)) {
			jpki_date_format(h->last_day, d);
			c->code = "already-valid";
			say(c->en,
			    "resident already holds a valid %s (to %s); renew "
			    "it or revoke it first",
			    en_of(k), d);
			say(c->ja,
			    "有効な%s（%sまで）をお持ちです。更新または失効の"
			    "手続きをしてください",
			    ja_of(k), d);
			refuse_cert(p, c, JPKI_ERR_STATE);
			return;
		}
		break;
	}
	validity_of(in, p, k);
}

static int check_in(const rules_plan_in *in, jpki_plan *out, jpki_err *err)
{
	if (in == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "plan: no input");
	if (in->app < RULES_APP_NEW_CARD || in->app > RULES_APP_FOUND)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "plan: unknown application kind %d",
				 (int)in->app);
	if (in->applicant < RULES_BY_CA_TEST || in->applicant > RULES_BY_LEGAL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "plan: unknown applicant %d",
				 (int)in->applicant);
	if (in->certs < 0 || in->certs > 3)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "plan: certificate selection %d is invalid",
				 in->certs);
	if (!jpki_date_valid(in->person.birth) || !jpki_date_valid(in->today) ||
	    jpki_date_cmp(in->today, in->person.birth) < 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "plan: invalid date of birth or date");
	bool new_card =
	    in->app == RULES_APP_NEW_CARD || in->app == RULES_APP_REISSUE;
	if (!new_card && !jpki_date_valid(in->card_expiry))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "plan: the held card's expiry is missing");
	return 0;
}

static void fee_of(const rules_plan_in *in, jpki_plan *p)
{
	jpki_fee f = {0, 0};
	switch (in->app) {
	case RULES_APP_NEW_CARD:
	case RULES_APP_ISSUE:
	case RULES_APP_FOUND: f = rules_fee(JPKI_FEE_ISSUE); break;
	case RULES_APP_RENEWAL: f = rules_fee(JPKI_FEE_RENEWAL); break;
	case RULES_APP_REISSUE:
		f = rules_fee(JPKI_FEE_CARD_REISSUE);
		if (!p->cert[JPKI_CERT_SIGN].issue &&
		    !p->cert[JPKI_CERT_AUTH].issue)
			f.cert_yen = 0; /* the card only */
		break;
	default: break; /* revocation, PIN reset, loss, found: free */
	}
	p->fee = f;
	p->fee_total = f.cert_yen + f.card_yen;
}

int rules_plan(const rules_plan_in *in, jpki_plan *out, jpki_err *err)
{
	int rc = check_in(in, out, err);
	if (rc != 0)
		return rc;
	jpki_plan *p = out;
	char d[11];
	memset(p, 0, sizeof(*p));
	p->code = "ok";
	p->age = rules_age(in->person.birth, in->today);
	p->new_card =
	    in->app == RULES_APP_NEW_CARD || in->app == RULES_APP_REISSUE;
	p->card_expiry = p->new_card
			     ? rules_card_expiry(in->person.birth, in->today)
			     : in->card_expiry;
	applicant_law(in, p);

	int certs = in->certs != 0 ? in->certs : implied_certs(in);
	if (in->certs == 0 && in->applicant == RULES_BY_LEGAL &&
	    rules_app_issues(in->app))
		certs &= bit(JPKI_CERT_AUTH);
	p->certs = certs;
	if (certs == 0 &&
	    (in->app == RULES_APP_ISSUE || in->app == RULES_APP_RENEWAL ||
	     in->app == RULES_APP_REVOKE)) {
		static const char *const what_en[] = {
		    [RULES_APP_ISSUE] = "issue",
		    [RULES_APP_RENEWAL] = "renew",
		    [RULES_APP_REVOKE] = "revoke"};
		static const char *const what_ja[] = {
		    [RULES_APP_ISSUE] = "発行",
		    [RULES_APP_RENEWAL] = "更新",
		    [RULES_APP_REVOKE] = "失効"};
		char en[RULES_TEXT_MAX], ja[RULES_TEXT_MAX];
		say(en, "no certificate on the card to %s", what_en[in->app]);
		say(ja, "%sできる電子証明書がありません", what_ja[in->app]);
		refuse(p,
		       in->app == RULES_APP_ISSUE ? JPKI_ERR_INVAL
						  : JPKI_ERR_STATE,
		       in->app == RULES_APP_ISSUE     ? "nothing-to-issue"
		       : in->app == RULES_APP_RENEWAL ? "nothing-to-renew"
						      : "nothing-to-revoke",
		       en, ja);
	}
	if (!p->new_card && rules_app_issues(in->app) &&
	    jpki_date_cmp(in->card_expiry, in->today) < 0) {
		char en[RULES_TEXT_MAX], ja[RULES_TEXT_MAX];
		jpki_date_format(in->card_expiry, d);
		say(en, "the card expired on %s: nothing is written onto it",
		    d);
		say(ja, "カードの有効期限（%s）が過ぎています", d);
		refuse(p, JPKI_ERR_STATE, "card-expired", en, ja);
	}

	/* the current certificates first: what is revoked decides caps */
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		rules_plan_cert *c = &p->cert[k];
		const rules_holding *h = &in->held[k];
		c->asked = (certs & bit(k)) != 0;
		c->code = c->asked ? "ok" : "not-asked";
		c->reason = -1;
		bool cur = current_on_card(h) || h->on_hold;
		if (!c->asked || !cur)
			continue;
		bool held = h->on_hold && !current_on_card(h);
		c->current = rules_app_revocation(in->app, held, in->card_lost,
						  &c->reason);
		if (c->current != RULES_KEEP) {
			say(c->en, "the current %s is %s (%d)", en_of(k),
			    c->current == RULES_HOLD ? "put on hold"
						     : "revoked",
			    c->reason);
			say(c->ja, "現在の%sは%s（%s）", ja_of(k),
			    c->current == RULES_HOLD ? "一時保留" : "失効",
			    rules_reason_ja(c->reason));
		}
	}
	if (in->app == RULES_APP_REVOKE)
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
			rules_plan_cert *c = &p->cert[k];
			if (!c->asked || c->current != RULES_KEEP)
				continue;
			c->code = "nothing-to-revoke";
			say(c->en, "no valid %s on the card to revoke",
			    en_of(k));
			say(c->ja, "失効できる%sがカードにありません",
			    ja_of(k));
			refuse(p, JPKI_ERR_STATE, c->code, c->en, c->ja);
		}
	/* authentication first: it caps the signature certificate */
	for (int k = JPKI_CERT_AUTH;
	     rules_app_issues(in->app) && k >= JPKI_CERT_SIGN; k--)
		if (p->cert[k].asked)
			issue_law(in, p, k);
	fee_of(in, p);
	p->ok = p->rc == 0;
	if (p->rc != 0)
		return jpki_fail(err, p->rc, "%s", p->en);
	return 0;
}
