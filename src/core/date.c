/* Civil dates in JST: see include/openjpki/date.h. */
#include "openjpki/date.h"

#include <stdio.h>
#include <string.h>

#include "openjpki/error.h"

bool jpki_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int jpki_days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	if (m < 1 || m > 12)
		return 0;
	return m == 2 && jpki_is_leap(y) ? 29 : dm[m - 1];
}

bool jpki_date_valid(jpki_date d)
{
	return d.y >= 1 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1 &&
	       d.d <= jpki_days_in_month(d.y, d.m);
}

/* Howard Hinnant's days_from_civil algorithm (public domain arithmetic). */
int64_t jpki_date_to_days(jpki_date d)
{
	int64_t y = d.y - (d.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (d.m + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

jpki_date jpki_days_to_date(int64_t z)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	jpki_date r = {(int)(y + (m <= 2)), (int)m, (int)d};
	return r;
}

int jpki_date_cmp(jpki_date a, jpki_date b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

jpki_date jpki_date_add_days(jpki_date d, int64_t n)
{
	return jpki_days_to_date(jpki_date_to_days(d) + n);
}

jpki_date jpki_date_add_months(jpki_date d, int months)
{
	int total = d.y * 12 + (d.m - 1) + months;
	jpki_date r;
	r.y = total / 12;
	r.m = total % 12 + 1;
	int dim = jpki_days_in_month(r.y, r.m);
	r.d = d.d > dim ? dim : d.d;
	return r;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

jpki_date jpki_date_of(time_t t)
{
	return jpki_days_to_date(
	    floor_div((int64_t)t + JPKI_JST_OFFSET, 86400));
}

time_t jpki_date_start(jpki_date d)
{
	return (time_t)(jpki_date_to_days(d) * 86400 - JPKI_JST_OFFSET);
}

time_t jpki_date_end(jpki_date d)
{
	return jpki_date_start(d) + 86399;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_date_prefix(const char *s, jpki_date *out)
{
	jpki_date d;
	if (digits(s, 4, &d.y) != 0 || s[4] != '-' ||
	    digits(s + 5, 2, &d.m) != 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d.d) != 0 || !jpki_date_valid(d))
		return JPKI_ERR_INVAL;
	*out = d;
	return 0;
}

int jpki_date_parse(const char *s, jpki_date *out)
{
	if (s == NULL || strlen(s) != 10)
		return JPKI_ERR_INVAL;
	return parse_date_prefix(s, out);
}

void jpki_date_format(jpki_date d, char out[11])
{
	char tmp[48];
	snprintf(tmp, sizeof(tmp), "%04u-%02u-%02u", (unsigned)d.y % 10000u,
		 (unsigned)d.m % 100u, (unsigned)d.d % 100u);
	memcpy(out, tmp, 10);
	out[10] = '\0';
}

int jpki_time_parse(const char *s, time_t *out)
{
	jpki_date d;
	int hh, mm, ss;
	size_t n = s == NULL ? 0 : strlen(s);
	if (n == 10) {
		if (parse_date_prefix(s, &d) != 0)
			return JPKI_ERR_INVAL;
		*out = jpki_date_start(d);
		return 0;
	}
	if (n < 20 || parse_date_prefix(s, &d) != 0 || s[10] != 'T' ||
	    digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) != 0 || s[16] != ':' ||
	    digits(s + 17, 2, &ss) != 0 || hh > 23 || mm > 59 || ss > 59)
		return JPKI_ERR_INVAL;
	int64_t t = jpki_date_to_days(d) * 86400 + hh * 3600 + mm * 60 + ss;
	if (n == 20 && s[19] == 'Z') {
		*out = (time_t)t;
		return 0;
	}
	int oh, om;
	if (n == 25 && (s[19] == '+' || s[19] == '-') &&
	    digits(s + 20, 2, &oh) == 0 && s[22] == ':' &&
	    digits(s + 23, 2, &om) == 0 && oh <= 14 && om <= 59) {
		int64_t off = (int64_t)oh * 3600 + om * 60;
		*out = (time_t)(s[19] == '+' ? t - off : t + off);
		return 0;
	}
	return JPKI_ERR_INVAL;
}

void jpki_time_format(time_t t, char out[21])
{
	int64_t days = floor_div((int64_t)t, 86400);
	int64_t sec = (int64_t)t - days * 86400;
	jpki_date d = jpki_days_to_date(days);
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)d.y % 10000u, (unsigned)d.m % 100u,
		 (unsigned)d.d % 100u, (unsigned)(sec / 3600) % 100u,
		 (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
	memcpy(out, tmp, 20);
	out[20] = '\0';
}
