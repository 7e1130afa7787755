/* rules/: validity of a new certificate — 5th/6th birthday, caps by the
 * card and the authentication certificate, renewal window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "openjpki/rules.h"

/* D() for table initialisers, DATE() for expressions */
#define D(y, m, d)                                                             \
	{                                                                      \
		(y), (m), (d)                                                  \
	}
#define DATE(y, m, d) ((jpki_date)D(y, m, d))
#define NODATE D(0, 0, 0)
#define FAR D(2099, 12, 31)

enum { NEW, RENEW };
enum { NOAUTH, AUTHCAP };

static const struct vcase {
	const char *what;
	jpki_cert_kind kind;
	jpki_date birth, issued, card;
	int renewal;
	jpki_date current;
	int has_auth;
	jpki_date auth;
	/* expected */
	int rc;
	jpki_date last;
	int n;
	jpki_validity_cap cap;
	const char *msg;
} cases[] = {
    /* new issue: 5th birthday */
    {"sign, new", JPKI_CERT_SIGN, D(1990, 5, 20), D(2025, 10, 1), FAR, NEW,
     NODATE, NOAUTH, NODATE, 0, D(2030, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    {"auth, new", JPKI_CERT_AUTH, D(1990, 5, 20), D(2025, 10, 1), FAR, NEW,
     NODATE, NOAUTH, NODATE, 0, D(2030, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    {"test card of §1.3", JPKI_CERT_AUTH, D(1980, 2, 17), D(2025, 10, 27), FAR,
     NEW, NODATE, NOAUTH, NODATE, 0, D(2030, 2, 17), 5, JPKI_CAP_BIRTHDAY,
     NULL},
    {"issued on the birthday", JPKI_CERT_AUTH, D(1990, 5, 20), D(2025, 5, 20),
     FAR, NEW, NODATE, NOAUTH, NODATE, 0, D(2030, 5, 20), 5, JPKI_CAP_BIRTHDAY,
     NULL},
    /* caps */
    {"card expires before the 5th birthday", JPKI_CERT_AUTH, D(1990, 5, 20),
     D(2025, 10, 1), D(2028, 1, 31), NEW, NODATE, NOAUTH, NODATE, 0,
     D(2028, 1, 31), 5, JPKI_CAP_CARD, NULL},
    {"card expires on the 5th birthday", JPKI_CERT_AUTH, D(1990, 5, 20),
     D(2025, 10, 1), D(2030, 5, 20), NEW, NODATE, NOAUTH, NODATE, 0,
     D(2030, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    {"issued on the card's last day", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2028, 1, 31), D(2028, 1, 31), NEW, NODATE, NOAUTH, NODATE, 0,
     D(2028, 1, 31), 5, JPKI_CAP_CARD, NULL},
    {"auth cert expires before the sign cert", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2026, 1, 10), FAR, NEW, NODATE, AUTHCAP, D(2028, 5, 20), 0,
     D(2028, 5, 20), 5, JPKI_CAP_AUTH, NULL},
    {"auth cert before the card, both before the birthday", JPKI_CERT_SIGN,
     D(1990, 5, 20), D(2026, 1, 10), D(2029, 1, 1), NEW, NODATE, AUTHCAP,
     D(2028, 5, 20), 0, D(2028, 5, 20), 5, JPKI_CAP_AUTH, NULL},
    {"card before the auth cert", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2026, 1, 10), D(2028, 1, 1), NEW, NODATE, AUTHCAP, D(2028, 5, 20), 0,
     D(2028, 1, 1), 5, JPKI_CAP_CARD, NULL},
    {"auth cert and card end together: card", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2026, 1, 10), D(2028, 5, 20), NEW, NODATE, AUTHCAP, D(2028, 5, 20), 0,
     D(2028, 5, 20), 5, JPKI_CAP_CARD, NULL},
    {"auth cert ends after the birthday", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2026, 1, 10), FAR, NEW, NODATE, AUTHCAP, D(2031, 5, 20), 0,
     D(2030, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    /* renewal */
    {"renewal exactly 3 months before expiry", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2030, 2, 20), D(2035, 5, 20), RENEW, D(2030, 5, 20), NOAUTH, NODATE, 0,
     D(2035, 5, 20), 6, JPKI_CAP_BIRTHDAY, NULL},
    {"auth renewal exactly 3 months before expiry", JPKI_CERT_AUTH,
     D(1990, 5, 20), D(2030, 2, 20), D(2035, 5, 20), RENEW, D(2030, 5, 20),
     NOAUTH, NODATE, 0, D(2035, 5, 20), 6, JPKI_CAP_BIRTHDAY, NULL},
    {"renewal one day before the window", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2030, 2, 19), D(2035, 5, 20), RENEW, D(2030, 5, 20), NOAUTH, NODATE,
     JPKI_ERR_WINDOW, NODATE, 0, 0,
     "renewal opens on 2030-02-20, 3 months before the certificate's last "
     "day 2030-05-20"},
    {"renewal on the last day", JPKI_CERT_AUTH, D(1990, 5, 20), D(2030, 5, 20),
     FAR, RENEW, D(2030, 5, 20), NOAUTH, NODATE, 0, D(2036, 5, 20), 6,
     JPKI_CAP_BIRTHDAY, NULL},
    {"renewal on the last day, card caps", JPKI_CERT_AUTH, D(1990, 5, 20),
     D(2030, 5, 20), D(2035, 5, 20), RENEW, D(2030, 5, 20), NOAUTH, NODATE, 0,
     D(2035, 5, 20), 6, JPKI_CAP_CARD, NULL},
    {"renewal the day after expiry: 5th birthday", JPKI_CERT_SIGN,
     D(1990, 5, 20), D(2030, 5, 21), FAR, RENEW, D(2030, 5, 20), NOAUTH, NODATE,
     0, D(2035, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    {"renewal long after expiry: 5th birthday", JPKI_CERT_AUTH, D(1990, 5, 20),
     D(2031, 6, 1), FAR, RENEW, D(2030, 5, 20), NOAUTH, NODATE, 0,
     D(2036, 5, 20), 5, JPKI_CAP_BIRTHDAY, NULL},
    {"renewal at month end, window opens on 28 Feb", JPKI_CERT_SIGN,
     D(1990, 5, 31), D(2030, 2, 28), FAR, RENEW, D(2030, 5, 31), NOAUTH, NODATE,
     0, D(2035, 5, 31), 6, JPKI_CAP_BIRTHDAY, NULL},
    {"renewal at month end, 27 Feb refused", JPKI_CERT_SIGN, D(1990, 5, 31),
     D(2030, 2, 27), FAR, RENEW, D(2030, 5, 31), NOAUTH, NODATE,
     JPKI_ERR_WINDOW, NODATE, 0, 0, "renewal opens on 2030-02-28"},
    {"renewal of a card-capped cert", JPKI_CERT_AUTH, D(1990, 5, 20),
     D(2027, 11, 1), FAR, RENEW, D(2028, 1, 31), NOAUTH, NODATE, 0,
     D(2033, 5, 20), 6, JPKI_CAP_BIRTHDAY, NULL},
    /* 29 February births */
    {"29 Feb, issued on 1 Mar", JPKI_CERT_AUTH, D(2008, 2, 29), D(2025, 3, 1),
     FAR, NEW, NODATE, NOAUTH, NODATE, 0, D(2030, 2, 28), 5, JPKI_CAP_BIRTHDAY,
     NULL},
    {"29 Feb, 5th birthday in a leap year", JPKI_CERT_SIGN, D(2008, 2, 29),
     D(2024, 2, 28), FAR, NEW, NODATE, NOAUTH, NODATE, 0, D(2028, 2, 29), 5,
     JPKI_CAP_BIRTHDAY, NULL},
    {"29 Feb, renewal 3 months before 28 Feb", JPKI_CERT_SIGN, D(2008, 2, 29),
     D(2029, 11, 28), FAR, RENEW, D(2030, 2, 28), NOAUTH, NODATE, 0,
     D(2035, 2, 28), 6, JPKI_CAP_BIRTHDAY, NULL},
    {"29 Feb, card on its 10th birthday", JPKI_CERT_SIGN, D(2008, 2, 29),
     D(2026, 3, 1), D(2036, 2, 29), NEW, NODATE, NOAUTH, NODATE, 0,
     D(2031, 2, 28), 5, JPKI_CAP_BIRTHDAY, NULL},
    /* refused input */
    {"issued before birth", JPKI_CERT_AUTH, D(2026, 1, 10), D(2026, 1, 9), FAR,
     NEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "issue date 2026-01-09 is before the date of birth 2026-01-10"},
    {"card already expired", JPKI_CERT_AUTH, D(1990, 5, 20), D(2028, 2, 1),
     D(2028, 1, 31), NEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "the card expired on 2028-01-31, before the issue date 2028-02-01"},
    {"auth cert already expired", JPKI_CERT_SIGN, D(1990, 5, 20),
     D(2028, 5, 21), FAR, NEW, NODATE, AUTHCAP, D(2028, 5, 20), JPKI_ERR_INVAL,
     NODATE, 0, 0,
     "the authentication certificate expired on 2028-05-20, before the "
     "issue date 2028-05-21"},
    {"auth cap on an auth cert", JPKI_CERT_AUTH, D(1990, 5, 20), D(2026, 1, 10),
     FAR, NEW, NODATE, AUTHCAP, D(2028, 5, 20), JPKI_ERR_INVAL, NODATE, 0, 0,
     "only the signature certificate is capped by the authentication "
     "certificate (has_auth_expiry set for auth)"},
    {"invalid birth", JPKI_CERT_AUTH, D(1990, 2, 30), D(2026, 1, 10), FAR, NEW,
     NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "invalid date of birth"},
    {"invalid issue date", JPKI_CERT_AUTH, D(1990, 2, 3), D(2026, 13, 1), FAR,
     NEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "invalid issue date"},
    {"invalid card expiry", JPKI_CERT_AUTH, D(1990, 2, 3), D(2026, 1, 10),
     NODATE, NEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "invalid card expiry"},
    {"invalid current expiry", JPKI_CERT_AUTH, D(1990, 2, 3), D(2026, 1, 10),
     FAR, RENEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "invalid current certificate expiry"},
    {"invalid auth expiry", JPKI_CERT_SIGN, D(1990, 2, 3), D(2026, 1, 10), FAR,
     NEW, NODATE, AUTHCAP, D(2026, 2, 29), JPKI_ERR_INVAL, NODATE, 0, 0,
     "invalid authentication certificate expiry"},
    {"past the year 9999", JPKI_CERT_AUTH, D(1990, 2, 3), D(9997, 1, 10),
     D(9999, 12, 31), NEW, NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "runs past the year 9999"},
    {"unknown kind", (jpki_cert_kind)0, D(1990, 2, 3), D(2026, 1, 10), FAR, NEW,
     NODATE, NOAUTH, NODATE, JPKI_ERR_INVAL, NODATE, 0, 0,
     "unknown certificate kind 0"},
};

static void test_validity(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vcase *c = &cases[i];
		jpki_validity_in in = {
		    .birth = c->birth,
		    .issued = c->issued,
		    .card_expiry = c->card,
		    .renewal = c->renewal == RENEW,
		    .current_expiry = c->current,
		    .has_auth_expiry = c->has_auth == AUTHCAP,
		    .auth_expiry = c->auth,
		};
		jpki_validity out = {D(1, 2, 3), 99, (jpki_validity_cap)99};
		jpki_err e;
		char got[11], want[11];

		jpki_err_clear(&e);
		int rc = rules_cert_validity(c->kind, &in, &out, &e);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc,
				 e.msg);
		if (rc != 0) {
			assert_int_equal(e.code, rc);
			if (strstr(e.msg, c->msg) == NULL)
				fail_msg("%s: message \"%s\" lacks \"%s\"",
					 c->what, e.msg, c->msg);
			/* output untouched on failure */
			assert_int_equal(
			    jpki_date_cmp(out.last_day, DATE(1, 2, 3)), 0);
			assert_int_equal(out.birthday_n, 99);
			continue;
		}
		jpki_date_format(out.last_day, got);
		jpki_date_format(c->last, want);
		if (strcmp(got, want) != 0 || out.birthday_n != c->n ||
		    out.capped_by != c->cap)
			fail_msg("%s: got %s n=%d cap=%d, want %s n=%d cap=%d",
				 c->what, got, out.birthday_n,
				 (int)out.capped_by, want, c->n, (int)c->cap);
	}
}

static void test_validity_null(void **state)
{
	jpki_validity_in in = {0};
	jpki_validity out;
	jpki_err e;
	(void)state;
	jpki_err_clear(&e);
	assert_int_equal(rules_cert_validity(JPKI_CERT_AUTH, NULL, &out, &e),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(e.msg, "no input or output"));
	assert_int_equal(rules_cert_validity(JPKI_CERT_AUTH, &in, NULL, NULL),
			 JPKI_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validity),
	    cmocka_unit_test(test_validity_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
