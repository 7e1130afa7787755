/* Recording municipalities, residents and cards, each with its audit
 * record in the same transaction. */
#include <stdio.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"

static int audited(store *st, time_t now, const char *actor, const char *action,
		   const char *detail, int rc, jpki_err *err)
{
	if (rc == 0 &&
	    (rc = store_audit_append(st, now, actor ? actor : "registry",
				     action, detail, err)) == 0 &&
	    (rc = store_commit(st, err)) == 0)
		return 0;
	store_rollback(st);
	return rc;
}

int registry_muni_put(jpki_ca *ca, const store_muni *m, time_t now,
		      const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	char detail[160];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	snprintf(detail, sizeof(detail), "muni=%s %s/%s", m->code,
		 m->pref_roman, m->city_roman);
	return audited(st, now, actor, "muni.put", detail,
		       store_muni_put(st, m, err), err);
}

int registry_resident_add(jpki_ca *ca, store_resident *r, time_t now,
			  const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	store_muni m;
	char detail[96];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = store_muni_get(st, r->muni_code, &m, err)) != 0) {
		if (rc == JPKI_ERR_NOT_FOUND)
			rc = jpki_fail(err, rc,
				       "municipality %s is not on record (jpki "
				       "muni add)",
				       r->muni_code);
		store_rollback(st);
		return rc;
	}
	if (jpki_date_cmp(r->birth, jpki_date_of(now)) > 0) {
		store_rollback(st);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "birth date is in the future");
	}
	if (r->sex != 1 && r->sex != 2) {
		store_rollback(st);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "sex must be 1 (男) or 2 (女)");
	}
	/* H3: the 個人番号 on the record, its check digit the law's */
	if (r->my_number[0] != '\0' &&
	    (rc = rules_mynumber_check(r->my_number, err)) != 0) {
		store_rollback(st);
		return rc;
	}
	rc = store_resident_add(st, r, err);
	snprintf(detail, sizeof(detail), "resident=%lld ext=%s",
		 (long long)r->id, r->ext_id);
	return audited(st, now, actor, "resident.add", detail, rc, err);
}

int registry_card_record(jpki_ca *ca, store_card *c, time_t now,
			 const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	store_resident r;
	char detail[128];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = store_resident_get(st, c->resident_id, &r, err)) != 0) {
		store_rollback(st);
		return rc;
	}
	if (r.status != STORE_RESIDENT_LIVING) {
		store_rollback(st);
		return jpki_fail(
		    err, JPKI_ERR_STATE,
		    "resident %lld has been removed from the register",
		    (long long)c->resident_id);
	}
	if (c->expiry.y == 0)
		c->expiry = rules_card_expiry(r.birth, c->issued);
	snprintf(detail, sizeof(detail), "card=%s resident=%lld status=%d",
		 c->serial, (long long)c->resident_id, (int)c->status);
	return audited(st, now, actor, "card.record", detail,
		       store_card_put(st, c, err), err);
}
