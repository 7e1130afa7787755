/* rules/revocation.c: record changes, application kinds, roles, proxies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "openjpki/rules.h"

static void test_record_changes(void **state)
{
	(void)state;
	const unsigned basic4[] = {RULES_CHANGE_NAME, RULES_CHANGE_ADDRESS,
				   RULES_CHANGE_BIRTH, RULES_CHANGE_SEX};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(
		    rules_change_revokes(basic4[i], JPKI_CERT_SIGN),
		    RULES_CRL_AFFILIATION_CHANGED);
		assert_int_equal(
		    rules_change_revokes(basic4[i], JPKI_CERT_AUTH), -1);
	}
	assert_int_equal(
	    rules_change_revokes(RULES_CHANGE_ADULT_WARD, JPKI_CERT_SIGN),
	    RULES_CRL_AFFILIATION_CHANGED);
	assert_int_equal(
	    rules_change_revokes(RULES_CHANGE_ADULT_WARD, JPKI_CERT_AUTH), -1);
	assert_int_equal(
	    rules_change_revokes(RULES_CHANGE_OTHER, JPKI_CERT_SIGN), -1);
	assert_int_equal(rules_change_revokes(0, JPKI_CERT_SIGN), -1);
	/* removal wins over everything, for both */
	assert_int_equal(
	    rules_change_revokes(RULES_CHANGE_REMOVAL | RULES_CHANGE_NAME,
				 JPKI_CERT_SIGN),
	    RULES_CRL_CESSATION);
	assert_int_equal(
	    rules_change_revokes(RULES_CHANGE_REMOVAL, JPKI_CERT_AUTH),
	    RULES_CRL_CESSATION);
	assert_int_equal(rules_change_revokes(RULES_CHANGE_NAME, 0), -1);
}

static void test_app_revocation(void **state)
{
	(void)state;
	int r = 0;
	assert_int_equal(rules_app_revocation(RULES_APP_LOSS, false, false, &r),
			 RULES_HOLD);
	assert_int_equal(r, RULES_CRL_CERTIFICATE_HOLD);
	/* a held one stays held: a loss does not hold twice */
	assert_int_equal(rules_app_revocation(RULES_APP_LOSS, true, true, &r),
			 RULES_KEEP);
	assert_int_equal(r, -1);
	/* found: a hold is never released, revoked and issued anew */
	assert_int_equal(rules_app_revocation(RULES_APP_FOUND, true, true, &r),
			 RULES_REVOKE);
	assert_int_equal(r, RULES_CRL_CESSATION);
	assert_int_equal(rules_app_revocation(RULES_APP_FOUND, false, true, &r),
			 RULES_KEEP);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_REVOKE, false, false, &r),
	    RULES_REVOKE);
	assert_int_equal(r, RULES_CRL_CESSATION);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_REISSUE, true, true, &r),
	    RULES_REVOKE);
	assert_int_equal(r, RULES_CRL_KEY_COMPROMISE);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_REISSUE, false, false, &r),
	    RULES_REVOKE);
	assert_int_equal(r, RULES_CRL_CESSATION);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_RENEWAL, false, false, &r),
	    RULES_REVOKE);
	assert_int_equal(r, RULES_CRL_SUPERSEDED);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_ISSUE, false, false, &r),
	    RULES_KEEP);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_PIN_RESET, false, false, NULL),
	    RULES_KEEP);
	assert_int_equal(
	    rules_app_revocation(RULES_APP_NEW_CARD, false, false, &r),
	    RULES_KEEP);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(rules_reason_role(RULES_CRL_CERTIFICATE_HOLD), 1);
	assert_int_equal(rules_reason_role(RULES_CRL_CESSATION), 1);
	assert_int_equal(rules_reason_role(RULES_CRL_AFFILIATION_CHANGED), 2);
	assert_int_equal(rules_reason_role(RULES_CRL_SUPERSEDED), 2);
	assert_int_equal(rules_reason_role(RULES_CRL_UNSPECIFIED), 2);
	assert_int_equal(rules_reason_role(RULES_CRL_KEY_COMPROMISE), 3);
	assert_int_equal(rules_reason_role(RULES_CRL_CA_COMPROMISE), 3);
	assert_true(
	    rules_reason_for_app(RULES_APP_LOSS, RULES_CRL_CERTIFICATE_HOLD));
	assert_false(rules_reason_for_app(RULES_APP_LOSS, RULES_CRL_CESSATION));
	assert_true(
	    rules_reason_for_app(RULES_APP_REVOKE, RULES_CRL_CESSATION));
	assert_false(
	    rules_reason_for_app(RULES_APP_REVOKE, RULES_CRL_KEY_COMPROMISE));
	assert_true(
	    rules_reason_for_app(RULES_APP_REISSUE, RULES_CRL_KEY_COMPROMISE));
	assert_false(
	    rules_reason_for_app(RULES_APP_ISSUE, RULES_CRL_CESSATION));
	assert_string_equal(rules_reason_ja(RULES_CRL_AFFILIATION_CHANGED),
			    "記載事項変更");
	assert_string_equal(rules_reason_ja(RULES_CRL_CERTIFICATE_HOLD),
			    "一時保留");
	assert_string_equal(rules_reason_ja(RULES_CRL_SUPERSEDED), "更新");
	assert_null(rules_reason_ja(7));
	assert_null(rules_reason_ja(-1));
}

static void test_proxy_papers(void **state)
{
	(void)state;
	jpki_err err = {0, ""};
	/* a 委任状 suffices for these */
	const rules_app ok[] = {RULES_APP_ISSUE, RULES_APP_RENEWAL,
				RULES_APP_REVOKE, RULES_APP_LOSS,
				RULES_APP_FOUND};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(rules_proxy_papers(ok[i], true, false, &err),
				 0);
		assert_int_equal(rules_proxy_papers(ok[i], false, false, &err),
				 JPKI_ERR_STATE);
		assert_non_null(strstr(err.msg, "or a 委任状"));
	}
	/* a card handed to an agent, a PIN reset: the 照会書 only */
	const rules_app inq[] = {RULES_APP_NEW_CARD, RULES_APP_REISSUE,
				 RULES_APP_PIN_RESET};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rules_proxy_papers(inq[i], true, false, &err),
				 JPKI_ERR_STATE);
		assert_null(strstr(err.msg, "委任状"));
		assert_int_equal(rules_proxy_papers(inq[i], false, true, &err),
				 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_changes),
	    cmocka_unit_test(test_app_revocation),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_proxy_papers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
