/* Resident-record changes that revoke (公的個人認証法 第12条). */
#include <stdio.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"

typedef struct to_revoke {
	int kinds;     /* bit 1 sign, bit 2 auth */
	char serial[16][STORE_SERIAL_HEX_MAX];
	int n;
	bool more;
} to_revoke;

static int pick(void *ctx, const store_cert *c)
{
	to_revoke *t = ctx;
	/* valid certificates, and held ones: a hold is never released, so
	 * the event turns it into a final revocation */
	bool held = c->status == STORE_CERT_REVOKED &&
		    c->reason == JPKI_REASON_CERTIFICATE_HOLD;
	if ((c->status != STORE_CERT_VALID && !held) ||
	    (c->kind != JPKI_CERT_SIGN && c->kind != JPKI_CERT_AUTH) ||
	    !(t->kinds & (1 << c->kind)))
		return 0;
	if (t->n == (int)(sizeof(t->serial) / sizeof(t->serial[0]))) {
		t->more = true;
		return 0;
	}
	jpki_strlcpy(t->serial[t->n++], c->serial, STORE_SERIAL_HEX_MAX);
	return 0;
}

static int revoke_kinds(jpki_ca *ca, int64_t id, int kinds, jpki_reason reason,
			time_t now, const char *actor,
			registry_change_result *out, jpki_err *err)
{
	to_revoke t;
	memset(&t, 0, sizeof(t));
	t.kinds = kinds;
	int rc = store_cert_by_resident(ca_store(ca), id, pick, &t, err);
	if (rc != 0)
		return rc;
	if (t.more)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "resident %lld holds more valid certificates "
				 "than a card can carry",
				 (long long)id);
	for (int i = 0; i < t.n; i++) {
		if ((rc = ca_revoke(ca, t.serial[i], reason, now, actor, err)) != 0)
			return rc;
		if (out->revoked < 4)
			jpki_strlcpy(out->serials[out->revoked], t.serial[i],
				     STORE_SERIAL_HEX_MAX);
		out->revoked++;
	}
	return 0;
}

int registry_resident_change(jpki_ca *ca, const store_resident *updated,
			     time_t now, const char *actor,
			     registry_change_result *out, jpki_err *err)
{
	store *st = ca_store(ca);
	store_resident old;
	registry_change_result res;
	char detail[128];
	memset(&res, 0, sizeof(res));
	/* H3: a 個人番号 on the record has the law's check digit */
	if (updated->my_number[0] != '\0' &&
	    rules_mynumber_check(updated->my_number, err) != 0)
		return JPKI_ERR_INVAL;
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = store_resident_get(st, updated->id, &old, err)) != 0)
		goto fail;
	if (old.status != STORE_RESIDENT_LIVING) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "resident %lld has been removed from the register",
			       (long long)updated->id);
		goto fail;
	}
	if (updated->status != STORE_RESIDENT_LIVING) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "use removal (消除), not a change, to take a "
			       "resident off the register");
		goto fail;
	}
	/* 第12条: 氏名・生年月日・性別・住所 changed => 署名用 revoked */
	bool basic4 = strcmp(old.name, updated->name) != 0 ||
		      strcmp(old.address, updated->address) != 0 ||
		      jpki_date_cmp(old.birth, updated->birth) != 0 ||
		      old.sex != updated->sex;
	bool ward = !old.adult_ward && updated->adult_ward;
	if ((rc = store_resident_update(st, updated, err)) != 0)
		goto fail;
	if ((basic4 || ward) &&
	    (rc = revoke_kinds(ca, updated->id, 1 << JPKI_CERT_SIGN,
			       JPKI_REASON_AFFILIATION_CHANGED, now, actor, &res,
			       err)) != 0)
		goto fail;
	snprintf(detail, sizeof(detail), "resident=%lld basic4=%d ward=%d revoked=%d",
		 (long long)updated->id, basic4, ward, res.revoked);
	if ((rc = store_audit_append(st, now, actor, "resident.change", detail,
				     err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto fail;
	if (out != NULL)
		*out = res;
	return 0;
fail:
	store_rollback(st);
	return rc;
}

int registry_resident_remove(jpki_ca *ca, int64_t resident_id, time_t now,
			     const char *actor, registry_change_result *out,
			     jpki_err *err)
{
	store *st = ca_store(ca);
	store_resident r;
	registry_change_result res;
	char detail[96];
	memset(&res, 0, sizeof(res));
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = store_resident_get(st, resident_id, &r, err)) != 0)
		goto fail;
	if (r.status == STORE_RESIDENT_REMOVED) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "resident %lld is already removed",
			       (long long)resident_id);
		goto fail;
	}
	r.status = STORE_RESIDENT_REMOVED;
	r.updated_at = now;
	if ((rc = store_resident_update(st, &r, err)) != 0 ||
	    (rc = revoke_kinds(ca, resident_id,
			       1 << JPKI_CERT_SIGN | 1 << JPKI_CERT_AUTH,
			       JPKI_REASON_CESSATION, now, actor, &res, err)) != 0)
		goto fail;
	snprintf(detail, sizeof(detail), "resident=%lld revoked=%d",
		 (long long)resident_id, res.revoked);
	if ((rc = store_audit_append(st, now, actor, "resident.remove", detail,
				     err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto fail;
	if (out != NULL)
		*out = res;
	return 0;
fail:
	store_rollback(st);
	return rc;
}
