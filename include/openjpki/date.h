/* openjpki — civil dates in Japan Standard Time.
 *
 * The law counts in calendar days in Japan (JST, UTC+9, no DST).  A
 * jpki_date is a proleptic Gregorian civil date; conversions to instants
 * take and give time_t (UTC seconds).  No function here reads the clock. */
#ifndef OPENJPKI_DATE_H
#define OPENJPKI_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_date {
	int y; /* 1..9999 */
	int m; /* 1..12 */
	int d; /* 1..31 */
} jpki_date;

#define JPKI_JST_OFFSET (9 * 3600)

bool jpki_date_valid(jpki_date d);
bool jpki_is_leap(int y);
int jpki_days_in_month(int y, int m);
/* Days since 1970-01-01 (negative before). */
int64_t jpki_date_to_days(jpki_date d);
jpki_date jpki_days_to_date(int64_t days);
int jpki_date_cmp(jpki_date a, jpki_date b);
jpki_date jpki_date_add_days(jpki_date d, int64_t n);
/* Add months; a day past the end of the target month becomes its last day
 * (31 May - 3 months = 28/29 Feb), as 民法第143条第2項 counts periods. */
jpki_date jpki_date_add_months(jpki_date d, int months);
/* The JST calendar date containing instant t. */
jpki_date jpki_date_of(time_t t);
/* 00:00:00 JST and 23:59:59 JST of d, as UTC instants. */
time_t jpki_date_start(jpki_date d);
time_t jpki_date_end(jpki_date d);
/* "YYYY-MM-DD" (exactly 10 characters, a valid date) -> 0 or JPKI_ERR_INVAL */
JPKI_MUST_CHECK int jpki_date_parse(const char *s, jpki_date *out);
/* writes "YYYY-MM-DD" into out (at least 11 bytes) */
void jpki_date_format(jpki_date d, char out[11]);
/* Parse an instant "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS+09:00"
 * or a date "YYYY-MM-DD" (00:00 JST). */
JPKI_MUST_CHECK int jpki_time_parse(const char *s, time_t *out);
/* "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void jpki_time_format(time_t t, char out[21]);

#ifdef __cplusplus
}
#endif
#endif
