/* Resident-record changes that revoke (公的個人認証法 第12条). */
#include <stdio.h>
#include <string.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"

typedef struct to_revoke {
	int kinds; /* bit 1 sign, bit 2 auth */
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
	memcpy(t->serial[t->n++], c->serial, STORE_SERIAL_HEX_MAX);
	return 0;
}

static int revoke_kinds(jpki_ca *ca, int64_t id, int kinds, jpki_reason reason,
			time_t now, const char *actor,
			registry_change_result *out, jpki_err *err);

/* Revoke what rules_change_revokes says for the changes, kind by kind. */
static int revoke_for(jpki_ca *ca, int64_t id, unsigned changes, time_t now,
		      const char *actor, registry_change_result *out,
		      jpki_err *err)
{
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		int reason = rules_change_revokes(changes, (jpki_cert_kind)k);
		int rc;
		if (reason < 0)
			continue;
		if ((rc = revoke_kinds(ca, id, 1 << k, (jpki_reason)reason, now,
				       actor, out, err)) != 0)
			return rc;
	}
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
		if ((rc = ca_revoke(ca, t.serial[i], reason, now, actor,
				    err)) != 0)
			return rc;
		if (out->revoked < 4)
			memcpy(out->serials[out->revoked], t.serial[i],
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
		rc = jpki_fail(
		    err, JPKI_ERR_STATE,
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
	/* which changes revoke what: rules_change_revokes (第12条) */
	unsigned changes =
	    (strcmp(old.name, updated->name) != 0 ? RULES_CHANGE_NAME : 0) |
	    (strcmp(old.address, updated->address) != 0 ? RULES_CHANGE_ADDRESS
							: 0) |
	    (jpki_date_cmp(old.birth, updated->birth) != 0 ? RULES_CHANGE_BIRTH
							   : 0) |
	    (old.sex != updated->sex ? RULES_CHANGE_SEX : 0) |
	    (!old.adult_ward && updated->adult_ward ? RULES_CHANGE_ADULT_WARD
						    : 0);
	bool basic4 = (changes & ~(unsigned)RULES_CHANGE_ADULT_WARD) != 0;
	bool ward = (changes & RULES_CHANGE_ADULT_WARD) != 0;
	if ((rc = store_resident_update(st, updated, err)) != 0 ||
	    (rc = revoke_for(ca, updated->id, changes, now, actor, &res,
			     err)) != 0)
		goto fail;
	snprintf(detail, sizeof(detail),
		 "resident=%lld basic4=%d ward=%d revoked=%d",
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
	    (rc = revoke_for(ca, resident_id, RULES_CHANGE_REMOVAL, now, actor,
			     &res, err)) != 0)
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
