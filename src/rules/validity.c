/* Validity of a new 署名用 or 利用者証明用 certificate (jpki-domain.md §1.5).
 */
#include "openjpki/rules.h"

static int check_date(jpki_date d, const char *what, jpki_err *err)
{
	if (!jpki_date_valid(d))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate validity: invalid %s", what);
	return 0;
}

static int check_in(jpki_cert_kind kind, const jpki_validity_in *in,
		    jpki_err *err)
{
	char a[11], b[11];
	int r;

	if ((r = check_date(in->birth, "date of birth", err)) != 0 ||
	    (r = check_date(in->issued, "issue date", err)) != 0 ||
	    (r = check_date(in->card_expiry, "card expiry", err)) != 0)
		return r;
	if (in->renewal &&
	    (r = check_date(in->current_expiry, "current certificate expiry",
			    err)) != 0)
		return r;
	if (in->has_auth_expiry) {
		if (kind != JPKI_CERT_SIGN)
			return jpki_fail(
			    err, JPKI_ERR_INVAL,
			    "certificate validity: only the signature "
			    "certificate is capped by the authentication "
			    "certificate (has_auth_expiry set for %s)",
			    jpki_cert_kind_name(kind));
		if ((r = check_date(in->auth_expiry,
				    "authentication certificate expiry",
				    err)) != 0)
			return r;
	}
	jpki_date_format(in->issued, a);
	if (jpki_date_cmp(in->issued, in->birth) < 0) {
		jpki_date_format(in->birth, b);
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "certificate validity: issue date %s is before "
		    "the date of birth %s",
		    a, b);
	}
	if (jpki_date_cmp(in->card_expiry, in->issued) < 0) {
		jpki_date_format(in->card_expiry, b);
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "certificate validity: the card expired on %s, "
		    "before the issue date %s",
		    b, a);
	}
	if (in->has_auth_expiry &&
	    jpki_date_cmp(in->auth_expiry, in->issued) < 0) {
		jpki_date_format(in->auth_expiry, b);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate validity: the authentication "
				 "certificate expired on %s, before the issue "
				 "date %s",
				 b, a);
	}
	return 0;
}

int rules_cert_validity(jpki_cert_kind kind, const jpki_validity_in *in,
			jpki_validity *out, jpki_err *err)
{
	jpki_validity v;
	int r;

	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown certificate kind %d", (int)kind);
	if (in == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate validity: no input or output");
	if ((r = check_in(kind, in, err)) != 0)
		return r;

	/* Both certificates: to the 5th birthday after issue (足立区, 阿見町,
	 * 宇治市). */
	v.birthday_n = 5;
	if (in->renewal) {
		/* A renewal before the window is refused, not silently
		 * treated as a new issue (docs/decisions.md). */
		if ((r = rules_renewal_allowed(in->current_expiry, in->issued,
					       err)) != 0)
			return r;
		/* Renewal with under 3 months left: to the 6th birthday, for
		 * both certificates (宇治市 7039; 東村山市 jnet_q_005). */
		if (jpki_date_cmp(in->issued, in->current_expiry) <= 0)
			v.birthday_n = 6;
	}
	v.last_day =
	    rules_nth_birthday_after(in->birth, in->issued, v.birthday_n);
	if (!jpki_date_valid(v.last_day))
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "certificate validity: runs past the year 9999");
	v.capped_by = JPKI_CAP_BIRTHDAY;

	/* Capped by the card's expiry (足立区, 阿見町, 府中町). */
	if (jpki_date_cmp(in->card_expiry, v.last_day) < 0) {
		v.last_day = in->card_expiry;
		v.capped_by = JPKI_CAP_CARD;
	}
	/* Signature certificate capped by the authentication certificate on
	 * the same card (足立区; 東村山市 jnet_q_005). */
	if (in->has_auth_expiry &&
	    jpki_date_cmp(in->auth_expiry, v.last_day) < 0) {
		v.last_day = in->auth_expiry;
		v.capped_by = JPKI_CAP_AUTH;
	}
	*out = v;
	return 0;
}
