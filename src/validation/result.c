/* Verdicts: the failure bits, their names and messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "val_int.h"

static const struct {
	val_fail bit;
	const char *name;
} fail_names[] = {
    {VAL_FAIL_DOC_SIGNATURE, "bad-signature"},
    {VAL_FAIL_DOCUMENT, "bad-document"},
    {VAL_FAIL_CERT_SIGNATURE, "bad-certificate-signature"},
    {VAL_FAIL_UNTRUSTED, "untrusted-issuer"},
    {VAL_FAIL_OTHER_HIERARCHY, "other-hierarchy"},
    {VAL_FAIL_NOT_YET_VALID, "not-yet-valid"},
    {VAL_FAIL_EXPIRED, "expired"},
    {VAL_FAIL_ROOT_VALIDITY, "root-not-valid"},
    {VAL_FAIL_REVOKED, "revoked"},
    {VAL_FAIL_KEY_USAGE, "wrong-key-usage"},
    {VAL_FAIL_POLICY, "wrong-policy"},
    {VAL_FAIL_REVOCATION_UNKNOWN, "revocation-unknown"},
    {VAL_FAIL_PROFILE, "bad-profile"},
    {VAL_FAIL_TIMESTAMP, "bad-timestamp"},
};

const char *val_fail_name(val_fail f)
{
	for (size_t i = 0; i < sizeof(fail_names) / sizeof(fail_names[0]); i++)
		if (fail_names[i].bit == f)
			return fail_names[i].name;
	return NULL;
}

void val_result_clear(val_result *r)
{
	if (r == NULL)
		return;
	X509_free(r->cert);
	X509_free(r->root);
	/* the basic-4 data is personal: do not leave it in freed memory */
	OPENSSL_cleanse(r, sizeof(*r));
}

void vali_fail(val_result *r, val_fail what, const char *fmt, ...)
{
	bool had = (r->fails & what) != 0;
	size_t slot = r->n_msgs;
	va_list ap;
	r->fails |= what;
	if (slot >= VAL_MSGS_MAX) {
		if (had)
			return;
		slot = VAL_MSGS_MAX - 1; /* the new reason must be named */
	} else {
		r->n_msgs++;
	}
	r->msgs[slot].what = what;
	va_start(ap, fmt);
	vsnprintf(r->msgs[slot].text, sizeof(r->msgs[slot].text), fmt, ap);
	va_end(ap);
}

void vali_why(char *why, size_t cap, const char *fmt, ...)
{
	size_t len = strnlen(why, cap);
	va_list ap;
	if (len + 3 >= cap)
		return;
	if (len > 0) {
		memcpy(why + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + len, cap - len, fmt, ap);
	va_end(ap);
}

int vali_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return JPKI_ERR_PARSE;
	jpki_date d = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
	if (!jpki_date_valid(d))
		return JPKI_ERR_PARSE;
	*out = (time_t)(jpki_date_to_days(d) * 86400 + tm.tm_hour * 3600 +
			tm.tm_min * 60 + tm.tm_sec);
	return 0;
}

void vali_time_str(time_t t, char out[21])
{
	jpki_time_format(t, out);
}

void vali_where(const jpki_validator *v, const vali_rev *a, char *out,
		size_t cap)
{
	switch (a->where) {
	case VALI_WHERE_CRL:
		snprintf(out, cap, "%s", v->crls[a->where_idx]->location);
		break;
	case VALI_WHERE_OCSP_URL:
		snprintf(out, cap, "%s", v->ocsp_url ? v->ocsp_url : "");
		break;
	case VALI_WHERE_OCSP_GIVEN:
		snprintf(out, cap, "given response #%zu", a->where_idx + 1);
		break;
	default: out[0] = '\0';
	}
}
