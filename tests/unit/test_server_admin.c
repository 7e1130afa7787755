/* Operators disabled, reset and changing their own password; the sessions
 * that end with each; audit detail tokens; error codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above first */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca_fixture.h"
#include "openjpki/util.h"
#include "server/server_int.h"
#include "sess_fixture.h"

static char dir[64], cadir[96];
static time_t T0;

static int setup(void **state)
{
	(void)state;
	return ca_fixture_make("admin", dir, sizeof(dir), cadir, sizeof(cadir),
			       &T0, false);
}

static int teardown(void **state)
{
	(void)state;
	return ca_fixture_remove(dir);
}

static bool disabled(jpki_ca *ca, const char *name)
{
	json_t *o = NULL;
	jpki_err err = {0};
	assert_int_equal(srv_operator_get(ca, name, &o, &err), 0);
	assert_null(json_object_get(o, "hash"));
	assert_null(json_object_get(o, "salt"));
	bool d = json_is_true(json_object_get(o, "disabled"));
	json_decref(o);
	return d;
}

static void test_operators(void **state)
{
	(void)state;
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	int role = 0;
	srv_op_cutoff c[8];
	size_t n = 99;
	assert_int_equal(ca_open(cadir, NULL, &ca, &err), 0);
	assert_int_equal(srv_operator_create(ca, "admin", ROLE_CA_ADMIN,
					     "admin-password-1", "t", T0, &err),
			 0);
	assert_int_equal(srv_operator_create(ca, "clerk1", ROLE_CLERK,
					     "clerk-password-1", "admin", T0,
					     &err),
			 0);
	/* nothing condemned yet */
	assert_int_equal(srv_operator_cutoffs(ca, c, 8, &n, &err), 0);
	assert_int_equal(n, 0);

	/* disable: log-in refused; no self-disable; not twice; the last
	 * ca-admin stays */
	assert_int_equal(srv_operator_set_disabled(ca, "clerk1", true, "admin",
						   T0 + 10, &err),
			 0);
	assert_true(disabled(ca, "clerk1"));
	assert_int_equal(
	    srv_operator_verify(ca, "clerk1", "clerk-password-1", &role, &err),
	    JPKI_ERR_AUTH);
	assert_int_equal(srv_operator_set_disabled(ca, "clerk1", true, "admin",
						   T0 + 11, &err),
			 JPKI_ERR_STATE);
	assert_int_equal(
	    srv_operator_set_disabled(ca, "admin", true, "admin", T0, &err),
	    JPKI_ERR_STATE);
	assert_int_equal(
	    srv_operator_set_disabled(ca, "admin", true, "other", T0, &err),
	    JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "last enabled ca-admin"));
	assert_int_equal(
	    srv_operator_set_disabled(ca, "nobody", true, "admin", T0, &err),
	    JPKI_ERR_NOT_FOUND);
	assert_int_equal(srv_operator_cutoffs(ca, c, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].name, "clerk1");
	assert_true(c[0].disabled);
	assert_int_equal(c[0].gen, 1); /* the disable counts one */

	/* a reset keeps the account disabled; enable lets the new password
	 * in */
	assert_int_equal(srv_operator_set_password(ca, "clerk1",
						   "clerk-password-2", "admin",
						   T0 + 20, &err),
			 0);
	assert_true(disabled(ca, "clerk1"));
	assert_int_equal(srv_operator_set_disabled(ca, "clerk1", false, "admin",
						   T0 + 30, &err),
			 0);
	assert_false(disabled(ca, "clerk1"));
	assert_int_equal(
	    srv_operator_verify(ca, "clerk1", "clerk-password-1", &role, &err),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_operator_verify(ca, "clerk1", "clerk-password-2", &role, &err),
	    0);
	assert_int_equal(role, ROLE_CLERK);
	assert_int_equal(srv_operator_cutoffs(ca, c, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_false(c[0].disabled);
	assert_int_equal(c[0].gen, 2); /* the reset another */

	/* one's own change needs the current password, a new one */
	assert_int_equal(srv_operator_change_own(ca, "clerk1", "wrong-password",
						 "clerk-password-3", T0 + 40,
						 &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(srv_operator_change_own(ca, "clerk1", NULL,
						 "clerk-password-3", T0 + 40,
						 &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_operator_change_own(ca, "clerk1", "clerk-password-2",
				    "clerk-password-2", T0 + 40, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(srv_operator_change_own(ca, "clerk1",
						 "clerk-password-2", "short",
						 T0 + 40, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(
	    srv_operator_change_own(ca, "clerk1", "clerk-password-2",
				    "clerk-password-3", T0 + 40, &err),
	    0);
	assert_int_equal(
	    srv_operator_verify(ca, "clerk1", "clerk-password-3", &role, &err),
	    0);
	assert_int_equal(srv_operator_cutoffs(ca, c, 8, &n, &err), 0);
	assert_int_equal(c[0].gen, 3); /* one's own change a third */
	int64_t gen = 0;
	assert_int_equal(srv_operator_verify_gen(ca, "clerk1",
						 "clerk-password-3", &role,
						 &gen, &err),
			 0);
	assert_int_equal(gen, 3);
	assert_int_equal(srv_operator_gen(ca, "admin", &gen, &err), 0);
	assert_int_equal(gen, 0);
	assert_int_equal(srv_operator_gen(ca, "nobody", &gen, &err),
			 JPKI_ERR_NOT_FOUND);
	/* the capacity is respected */
	assert_int_equal(srv_operator_cutoffs(ca, c, 0, &n, &err), 0);
	assert_int_equal(n, 0);
	int64_t records = 0;
	assert_int_equal(store_audit_verify(ca_store(ca), &records, &err), 0);
	assert_true(records >= 7);
	ca_close(ca);
}

static void test_sessions_end(void **state)
{
	(void)state;
	srv_sessions *t = NULL;
	char sa[65], sb[65], sc[65], csrf[65];
	time_t exp = 0, now = 1000000;
	srv_req ra, rb, rc;
	char sdir[64];
	store *st = sess_store(sdir);
	assert_int_equal(srv_sessions_new(st, &t), 0);
	assert_int_equal(
	    srv_session_create(t, "clerk1", ROLE_CLERK, now, sa, csrf, &exp),
	    0);
	assert_int_equal(srv_session_create(t, "clerk1", ROLE_CLERK, now + 5,
					    sb, csrf, &exp),
			 0);
	assert_int_equal(
	    srv_session_create(t, "sup1", ROLE_SUPERVISOR, now, sc, csrf, &exp),
	    0);
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(
	    srv_session_get(t, sa, false, NULL, now + 6, &ra, NULL, NULL), 0);
	/* one's own change: the other session ends, this one takes the new
	 * generation */
	assert_int_equal(srv_sessions_end_operator(t, "clerk1", ra.sid, 1), 1);
	assert_int_equal(
	    srv_session_get(t, sb, false, NULL, now + 6, &rb, NULL, NULL),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_session_get(t, sa, false, NULL, now + 6, &ra, NULL, NULL), 0);
	/* the change's own cutoff spares the kept session */
	srv_op_cutoff c[2] = {{"clerk1", false, 1}, {"sup1", false, 0}};
	assert_int_equal(srv_sessions_sync(t, c, 2), 0);
	assert_int_equal(
	    srv_session_get(t, sa, false, NULL, now + 7, &ra, NULL, NULL), 0);
	/* a later reset through the store ends it; sup1 untouched */
	c[0].gen = 2;
	assert_int_equal(srv_sessions_sync(t, c, 2), 1);
	assert_int_equal(
	    srv_session_get(t, sa, false, NULL, now + 9, &ra, NULL, NULL),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    srv_session_get(t, sc, false, NULL, now + 9, &rc, NULL, NULL), 0);
	/* disabled: every session ends, and its challenges with it */
	char ch[64];
	assert_int_equal(srv_challenge_new(t, rc.sid, now + 9, ch), 0);
	c[1].disabled = true;
	assert_int_equal(srv_sessions_sync(t, c + 1, 1), 1);
	assert_int_equal(
	    srv_session_get(t, sc, false, NULL, now + 9, &rc, NULL, NULL),
	    JPKI_ERR_AUTH);
	assert_int_equal(srv_challenge_take(t, rc.sid, ch, now + 9),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(srv_sessions_count(t), 0);
	assert_int_equal(srv_sessions_end_operator(t, "nobody", NULL, 0), 0);
	/* the clock plays no part: a log-in in the same second as a reset,
	 * with the new password, stays; one with the old generation, even
	 * later, ends */
	assert_int_equal(srv_session_create_gen(t, "clerk1", ROLE_CLERK, 2, now,
						sa, csrf, &exp),
			 0);
	assert_int_equal(srv_session_create_gen(t, "clerk1", ROLE_CLERK, 1,
						now + 100, sb, csrf, &exp),
			 0);
	assert_int_equal(srv_sessions_sync(t, c, 1), 1);
	assert_int_equal(
	    srv_session_get(t, sa, false, NULL, now + 100, &ra, NULL, NULL), 0);
	assert_int_equal(
	    srv_session_get(t, sb, false, NULL, now + 100, &rb, NULL, NULL),
	    JPKI_ERR_AUTH);
	/* given the coming generation before one's own change: spared */
	srv_session_set_gen(t, ra.sid, 3);
	c[0].gen = 3;
	assert_int_equal(srv_sessions_sync(t, c, 1), 0);
	c[0].gen = 4;
	assert_int_equal(srv_sessions_sync(t, c, 1), 1);
	srv_sessions_free(t);
	sess_store_done(st, sdir);
}

static void test_audit_tokens(void **state)
{
	(void)state;
	const char *d = "app=12 resident=3 kind=new-card from=received";
	assert_true(srv_audit_detail_has(d, "resident", "3"));
	assert_true(srv_audit_detail_has(d, "app", "12"));
	assert_true(srv_audit_detail_has(d, "from", "received"));
	assert_false(srv_audit_detail_has(d, "app", "1"));
	assert_false(srv_audit_detail_has(d, "resident", "30"));
	assert_false(srv_audit_detail_has("resident=30", "resident", "3"));
	assert_false(srv_audit_detail_has("xresident=3", "resident", "3"));
	assert_false(srv_audit_detail_has("", "resident", "3"));
	assert_true(
	    srv_audit_detail_has("operator=clerk1", "operator", "clerk1"));
	assert_false(
	    srv_audit_detail_has("operator=clerk10", "operator", "clerk1"));
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_string_equal(srv_code_of_rc(JPKI_ERR_INELIGIBLE, "x"),
			    "ineligible");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_WINDOW, "x"), "window");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_EXISTS, "x"), "duplicate");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_NOT_FOUND, "x"),
			    "not_found");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_INVAL, "x"), "invalid");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_STATE,
					   "the holder's photo identity "
					   "document is not recorded"),
			    "documents_missing");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_STATE,
					   "mailed on 2026-01-01: the answer "
					   "comes back by post, never the "
					   "same day"),
			    "inquiry_same_day");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_STATE,
					   "resident already holds a valid "
					   "署名用電子証明書"),
			    "duplicate");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_STATE, "card is lost"),
			    "state");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_STORE, "x"),
			    "storage_fault");
	assert_string_equal(srv_code_of_rc(JPKI_ERR_INTEGRITY, "x"),
			    "storage_fault");
	assert_string_equal(srv_code_of_rc(-999, "x"), "internal");
	/* a store out of reach (failover) is busy, never a fault */
	assert_string_equal(srv_code_of_rc(JPKI_ERR_UNAVAILABLE, "x"), "busy");
	assert_int_equal(srv_status_of_rc(JPKI_ERR_UNAVAILABLE), 503);
	assert_int_equal(srv_status_of_rc(JPKI_ERR_STORE), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_sessions_end),
	    cmocka_unit_test(test_audit_tokens),
	    cmocka_unit_test(test_error_codes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
