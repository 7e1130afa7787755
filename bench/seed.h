/* Seeding the benches' stores: one resident of Chiyoda-ku with an active
 * card, made straight in the store (bench_issue, bench_issue_http,
 * bench_record_day).  Inside the caller's transaction. */
#ifndef OPENJPKI_BENCH_SEED_H
#define OPENJPKI_BENCH_SEED_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "openjpki/error.h"
#include "openjpki/rules.h"
#include "openjpki/store.h"
#include "openjpki/util.h"

#define BENCH_MUNI                                                             \
	{                                                                      \
		"131016", "Tokyo-to", "Chiyoda-ku", "東京都", "千代田区"   \
	}

/* Resident number i (external id PREFIX<i>, a birth date and sex that
 * vary with i) and card C<resident id>; its id in *rid. */
static inline int bench_seed_resident(store *st, const char *prefix, int64_t i,
				      time_t now, int64_t *rid, jpki_err *err)
{
	store_resident r;
	store_card c;
	int rc;
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	snprintf(r.ext_id, sizeof(r.ext_id), "%s%lld", prefix, (long long)i);
	if (jpki_strlcpy(r.name, "山田　太郎", sizeof(r.name)) != 0 ||
	    jpki_strlcpy(r.kana, "ヤマダ　タロウ", sizeof(r.kana)) != 0 ||
	    jpki_strlcpy(r.address, "東京都千代田区外神田１丁目２番３号",
			 sizeof(r.address)) != 0 ||
	    jpki_strlcpy(r.muni_code, "131016", sizeof(r.muni_code)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "resident field");
	r.birth = (jpki_date){1950 + (int)(i % 50), 1 + (int)(i % 12),
			      1 + (int)(i % 28)};
	r.sex = 1 + (int)(i % 2);
	r.updated_at = now;
	if ((rc = store_resident_add(st, &r, err)) != 0)
		return rc;
	snprintf(c.serial, sizeof(c.serial), "C%lld", (long long)r.id);
	c.resident_id = r.id;
	c.issued = jpki_date_of(now);
	c.expiry = rules_card_expiry(r.birth, c.issued);
	if ((rc = store_card_put(st, &c, err)) != 0)
		return rc;
	*rid = r.id;
	return 0;
}

#endif
