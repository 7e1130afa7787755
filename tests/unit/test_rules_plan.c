/* rules/plan.c: one plan per application at every edge — ages 14/15 on
 * the birthday, adult ward, renewal window open/closed/after expiry, caps,
 * fees, applicants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "openjpki/rules.h"

#define DATE(y, m, d) ((jpki_date){(y), (m), (d)})

static rules_plan_in base(rules_app app, rules_applicant who, int certs)
{
	rules_plan_in in;
	memset(&in, 0, sizeof(in));
	in.person.birth = DATE(1990, 6, 15);
	in.today = DATE(2026, 12, 6);
	in.app = app;
	in.applicant = who;
	in.certs = certs;
	in.card_expiry = DATE(2034, 6, 15);
	return in;
}

static void hold_valid(rules_plan_in *in, int k, jpki_date last)
{
	in->held[k].valid = true;
	in->held[k].on_card = true;
	in->held[k].last_day = last;
}

static void plan_ok(const rules_plan_in *in, jpki_plan *p)
{
	jpki_err err = {0, ""};
	if (rules_plan(in, p, &err) != 0)
		fail_msg("plan refused: %s", err.msg);
	assert_true(p->ok);
	assert_string_equal(p->code, "ok");
}

static void plan_refused(const rules_plan_in *in, int rc, const char *code,
			 jpki_plan *p)
{
	jpki_err err = {0, ""};
	int got = rules_plan(in, p, &err);
	if (got != rc || strcmp(p->code, code) != 0)
		fail_msg("expected %d %s, got %d %s (%s)", rc, code, got,
			 p->code != NULL ? p->code : "-", err.msg);
	assert_false(p->ok);
	assert_true(p->ja[0] != '\0');
	assert_string_equal(err.msg, p->en);
}

/* 14 the day before the 15th birthday, 15 on it. */
static void test_age_14_15(void **state)
{
	(void)state;
	jpki_plan p;
	rules_plan_in in = base(RULES_APP_NEW_CARD, RULES_BY_SELF, 3);
	in.person.birth = DATE(2011, 12, 7);
	/* 14: the holder may not apply alone */
	plan_refused(&in, JPKI_ERR_INELIGIBLE, "needs-legal-representative",
		     &p);
	assert_non_null(strstr(p.ja, "法定代理人"));
	/* through the 法定代理人, the signature certificate is refused
	 * with the age reason, the authentication one is fine */
	in.applicant = RULES_BY_LEGAL;
	plan_refused(&in, JPKI_ERR_INELIGIBLE, "under-15", &p);
	assert_string_equal(p.cert[JPKI_CERT_SIGN].code, "under-15");
	assert_non_null(strstr(p.cert[JPKI_CERT_SIGN].ja, "2026-12-07"));
	assert_true(p.cert[JPKI_CERT_AUTH].issue);
	in.certs = 2;
	plan_ok(&in, &p);
	assert_true(p.cert[JPKI_CERT_AUTH].issue);
	assert_false(p.cert[JPKI_CERT_SIGN].issue);
	/* certs 0 through a 法定代理人: the authentication one only */
	in.app = RULES_APP_ISSUE;
	in.certs = 0;
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 2);
	/* 15 on the birthday: applies alone, gets both; a 法定代理人 is
	 * no longer the one to apply */
	in = base(RULES_APP_NEW_CARD, RULES_BY_SELF, 3);
	in.person.birth = DATE(2011, 12, 6);
	plan_ok(&in, &p);
	assert_int_equal(p.age, 15);
	assert_true(p.cert[JPKI_CERT_SIGN].issue);
	/* a minor's card runs to the 5th birthday */
	assert_int_equal(jpki_date_cmp(p.card_expiry, DATE(2031, 12, 6)), 0);
	in.applicant = RULES_BY_LEGAL;
	plan_refused(&in, JPKI_ERR_INELIGIBLE,
		     "legal-representative-not-applicable", &p);
}

static void test_adult_ward(void **state)
{
	(void)state;
	jpki_plan p;
	rules_plan_in in = base(RULES_APP_ISSUE, RULES_BY_SELF, 2);
	in.person.adult_ward = true;
	plan_refused(&in, JPKI_ERR_INELIGIBLE, "needs-legal-representative",
		     &p);
	in.applicant = RULES_BY_LEGAL;
	plan_ok(&in, &p);
	in.certs = 1;
	plan_refused(&in, JPKI_ERR_INELIGIBLE, "adult-ward", &p);
	/* the CA-admin test path skips the applicant, never the law */
	in.applicant = RULES_BY_CA_TEST;
	plan_refused(&in, JPKI_ERR_INELIGIBLE, "adult-ward", &p);
}

static void test_renewal_window(void **state)
{
	(void)state;
	jpki_plan p;
	rules_plan_in in = base(RULES_APP_RENEWAL, RULES_BY_SELF, 0);
	hold_valid(&in, JPKI_CERT_SIGN, DATE(2027, 3, 6));
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2027, 3, 6));
	/* opens exactly 3 months before: on 2026-12-06 */
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 3);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		assert_true(p.cert[k].renewal);
		assert_int_equal(p.cert[k].validity.birthday_n, 6);
		assert_int_equal(p.cert[k].current, RULES_REVOKE);
		assert_int_equal(p.cert[k].reason, RULES_CRL_SUPERSEDED);
	}
	/* 6th birthday after 2026-12-06 */
	assert_int_equal(jpki_date_cmp(p.cert[JPKI_CERT_AUTH].validity.last_day,
				       DATE(2032, 6, 15)),
			 0);
	/* closed the day before */
	in.today = DATE(2026, 12, 5);
	plan_refused(&in, JPKI_ERR_WINDOW, "renewal-not-open", &p);
	assert_non_null(strstr(p.ja, "2026-12-06"));
	/* after expiry: allowed, a normal 5th birthday */
	in.today = DATE(2027, 4, 1);
	plan_ok(&in, &p);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].validity.birthday_n, 5);
	/* nothing on the card to renew */
	in = base(RULES_APP_RENEWAL, RULES_BY_SELF, 0);
	plan_refused(&in, JPKI_ERR_STATE, "nothing-to-renew", &p);
	in.certs = 1;
	plan_refused(&in, JPKI_ERR_STATE, "nothing-to-renew", &p);
	/* renewing the signature certificate alone: capped by the valid
	 * authentication certificate on the card */
	in = base(RULES_APP_RENEWAL, RULES_BY_SELF, 1);
	hold_valid(&in, JPKI_CERT_SIGN, DATE(2027, 1, 10));
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2029, 1, 10));
	plan_ok(&in, &p);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].validity.capped_by,
			 JPKI_CAP_AUTH);
	assert_int_equal(p.cert[JPKI_CERT_AUTH].current, RULES_KEEP);
}

static void test_issue_caps(void **state)
{
	(void)state;
	jpki_plan p;
	/* after a change of address: the signature certificate was revoked,
	 * the authentication one is valid; a new signature certificate is
	 * allowed, capped by it */
	rules_plan_in in = base(RULES_APP_ISSUE, RULES_BY_SELF, 1);
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2028, 6, 15));
	plan_ok(&in, &p);
	assert_true(p.cert[JPKI_CERT_SIGN].issue);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].validity.capped_by,
			 JPKI_CAP_AUTH);
	assert_int_equal(jpki_date_cmp(p.cert[JPKI_CERT_SIGN].validity.last_day,
				       DATE(2028, 6, 15)),
			 0);
	/* certs 0: what is missing */
	in.certs = 0;
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 1);
	/* asking for a kind that is live: refused */
	in.certs = 2;
	plan_refused(&in, JPKI_ERR_STATE, "already-valid", &p);
	/* an expired one does not block */
	in.held[JPKI_CERT_AUTH].last_day = DATE(2026, 12, 5);
	plan_ok(&in, &p);
	/* capped by the card */
	in = base(RULES_APP_ISSUE, RULES_BY_SELF, 3);
	in.card_expiry = DATE(2027, 1, 1);
	plan_ok(&in, &p);
	assert_int_equal(p.cert[JPKI_CERT_AUTH].validity.capped_by,
			 JPKI_CAP_CARD);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].validity.capped_by,
			 JPKI_CAP_CARD);
	/* the card expired yesterday */
	in.card_expiry = DATE(2026, 12, 5);
	plan_refused(&in, JPKI_ERR_STATE, "card-expired", &p);
	/* the card expires today: still written */
	in.card_expiry = DATE(2026, 12, 6);
	plan_ok(&in, &p);
	/* a declined-before holder: nothing held, both issued */
	in = base(RULES_APP_ISSUE, RULES_BY_SELF, 0);
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 3);
	assert_int_equal(p.fee_total, 0);
	/* nothing left to issue */
	hold_valid(&in, JPKI_CERT_SIGN, DATE(2030, 1, 1));
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2030, 1, 1));
	plan_refused(&in, JPKI_ERR_INVAL, "nothing-to-issue", &p);
}

static void test_fees_and_revocation(void **state)
{
	(void)state;
	jpki_plan p;
	/* reissue of a lost card: 200 + 800 yen, old ones keyCompromise */
	rules_plan_in in = base(RULES_APP_REISSUE, RULES_BY_SELF, 0);
	in.card_lost = true;
	in.held[JPKI_CERT_SIGN].on_hold = true;
	in.held[JPKI_CERT_AUTH].on_hold = true;
	plan_ok(&in, &p);
	assert_int_equal(p.fee.cert_yen, 200);
	assert_int_equal(p.fee.card_yen, 800);
	assert_int_equal(p.fee_total, 1000);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].reason,
			 RULES_CRL_KEY_COMPROMISE);
	assert_true(p.new_card);
	/* a damaged card, no certificates wanted: the card fee only */
	in = base(RULES_APP_REISSUE, RULES_BY_SELF, 0);
	plan_ok(&in, &p);
	assert_int_equal(p.fee_total, 800);
	/* revoke at the holder's request: cessationOfOperation, free */
	in = base(RULES_APP_REVOKE, RULES_BY_PROXY, 0);
	hold_valid(&in, JPKI_CERT_SIGN, DATE(2030, 1, 1));
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 1);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].current, RULES_REVOKE);
	assert_int_equal(p.cert[JPKI_CERT_SIGN].reason, RULES_CRL_CESSATION);
	in.certs = 2;
	plan_refused(&in, JPKI_ERR_STATE, "nothing-to-revoke", &p);
	/* loss: hold both */
	in = base(RULES_APP_LOSS, RULES_BY_SELF, 0);
	hold_valid(&in, JPKI_CERT_SIGN, DATE(2030, 1, 1));
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2030, 1, 1));
	plan_ok(&in, &p);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		assert_int_equal(p.cert[k].current, RULES_HOLD);
		assert_int_equal(p.cert[k].reason, RULES_CRL_CERTIFICATE_HOLD);
		assert_false(p.cert[k].issue);
	}
	assert_int_equal(p.fee_total, 0);
	/* found: the held ones revoked, issued anew, free */
	in = base(RULES_APP_FOUND, RULES_BY_SELF, 0);
	in.card_lost = true;
	in.held[JPKI_CERT_SIGN].on_hold = true;
	in.held[JPKI_CERT_AUTH].on_hold = true;
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 3);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		assert_int_equal(p.cert[k].current, RULES_REVOKE);
		assert_int_equal(p.cert[k].reason, RULES_CRL_CESSATION);
		assert_true(p.cert[k].issue);
	}
	assert_int_equal(p.fee_total, 0);
	/* PIN reset: nothing issued or revoked */
	in = base(RULES_APP_PIN_RESET, RULES_BY_SELF, 0);
	hold_valid(&in, JPKI_CERT_AUTH, DATE(2030, 1, 1));
	plan_ok(&in, &p);
	assert_int_equal(p.certs, 0);
	assert_int_equal(p.cert[JPKI_CERT_AUTH].current, RULES_KEEP);
}

static void test_bad_input(void **state)
{
	(void)state;
	jpki_plan p;
	jpki_err err = {0, ""};
	rules_plan_in in = base(RULES_APP_ISSUE, RULES_BY_SELF, 1);
	in.app = (rules_app)9;
	assert_int_equal(rules_plan(&in, &p, &err), JPKI_ERR_INVAL);
	in = base(RULES_APP_ISSUE, RULES_BY_SELF, 4);
	assert_int_equal(rules_plan(&in, &p, &err), JPKI_ERR_INVAL);
	in = base(RULES_APP_ISSUE, RULES_BY_SELF, 1);
	in.today = DATE(1980, 1, 1);
	assert_int_equal(rules_plan(&in, &p, &err), JPKI_ERR_INVAL);
	in = base(RULES_APP_ISSUE, RULES_BY_SELF, 1);
	in.card_expiry = DATE(0, 0, 0);
	assert_int_equal(rules_plan(&in, &p, &err), JPKI_ERR_INVAL);
	assert_string_equal(rules_app_name(RULES_APP_FOUND), "found");
	assert_string_equal(rules_app_name((rules_app)0), "unknown");
	assert_true(rules_app_issues(RULES_APP_FOUND));
	assert_false(rules_app_issues(RULES_APP_LOSS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_age_14_15),
	    cmocka_unit_test(test_adult_ward),
	    cmocka_unit_test(test_renewal_window),
	    cmocka_unit_test(test_issue_caps),
	    cmocka_unit_test(test_fees_and_revocation),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
