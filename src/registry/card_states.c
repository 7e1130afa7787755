/* My Number Card states.  A card on order lives in its application
 * (card_ordered -> card_produced -> card_ready, application.c's table);
 * once handed over it is a store_card that moves along this table. */
#include <stdio.h>
#include <string.h>

#include "openjpki/util.h"
#include "reg_int.h"

static const struct card_transition {
	store_card_status from;
	store_card_status to;
	const char *what;
} card_table[] = {
    {STORE_CARD_ACTIVE, STORE_CARD_LOST, "reported lost"},
    {STORE_CARD_LOST, STORE_CARD_ACTIVE, "found"},
    {STORE_CARD_ACTIVE, STORE_CARD_RETIRED, "retired (damaged, reissued)"},
    {STORE_CARD_LOST, STORE_CARD_RETIRED, "retired (lost, reissued)"},
};

static const char *card_status_name(store_card_status s)
{
	switch (s) {
	case STORE_CARD_ACTIVE: return "active";
	case STORE_CARD_LOST: return "lost";
	case STORE_CARD_RETIRED: return "retired";
	}
	return "unknown";
}

int reg_card_move(store *st, const char *serial, int64_t resident_id,
		  store_card_status to, store_card *out, jpki_err *err)
{
	store_card c;
	int rc = store_card_get(st, serial, &c, err);
	if (rc != 0)
		return rc;
	if (c.resident_id != resident_id)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "card %s belongs to another resident", serial);
	for (size_t i = 0; i < sizeof(card_table) / sizeof(card_table[0]);
	     i++) {
		if (card_table[i].from != c.status || card_table[i].to != to)
			continue;
		c.status = to;
		if ((rc = store_card_put(st, &c, err)) != 0)
			return rc;
		if (out != NULL)
			*out = c;
		return 0;
	}
	return jpki_fail(err, JPKI_ERR_STATE,
			 "card %s is %s: it cannot become %s", serial,
			 card_status_name(c.status), card_status_name(to));
}

int reg_card_hand_over(store *st, const store_app *a, jpki_date today,
		       store_card *out, jpki_err *err)
{
	store_resident r;
	store_card c, old;
	int rc;
	if (a->new_card_serial[0] == '\0')
		return jpki_fail(err, JPKI_ERR_STATE,
				 "application %lld has no produced card",
				 (long long)a->id);
	if ((rc = store_resident_get(st, a->resident_id, &r, err)) != 0)
		return rc;
	rc = store_card_get(st, a->new_card_serial, &old, NULL);
	if (rc == 0)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "card %s is already on record",
				 a->new_card_serial);
	memset(&c, 0, sizeof(c));
	memcpy(c.serial, a->new_card_serial, sizeof(c.serial)); /* both 40 */
	c.resident_id = a->resident_id;
	c.issued = today;
	c.expiry = rules_card_expiry(r.birth, today);
	c.status = STORE_CARD_ACTIVE;
	if ((rc = store_card_put(st, &c, err)) != 0)
		return rc;
	*out = c;
	return 0;
}

static int card_step(jpki_ca *ca, int64_t app_id, const char *event,
		     const char *card_serial, time_t now, const char *actor,
		     jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	store_card c;
	char detail[128] = "";
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0)
		goto out;
	if (card_serial != NULL) {
		if (card_serial[0] == '\0' ||
		    jpki_strlcpy(a.new_card_serial, card_serial,
				 sizeof(a.new_card_serial)) != 0) {
			rc =
			    jpki_fail(err, JPKI_ERR_INVAL,
				      "card serial must be 1 to %zu characters",
				      sizeof(a.new_card_serial) - 1);
			goto out;
		}
		if (store_card_get(st, card_serial, &c, NULL) == 0) {
			rc = jpki_fail(err, JPKI_ERR_EXISTS,
				       "card %s is already on record",
				       card_serial);
			goto out;
		}
		snprintf(detail, sizeof(detail), "card %s produced",
			 card_serial);
	} else {
		snprintf(detail, sizeof(detail),
			 "card %s at the counter: 交付通知書 to the holder",
			 a.new_card_serial);
	}
	if ((rc = reg_app_move(st, &a, event, now, actor, detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int registry_app_card_produced(jpki_ca *ca, int64_t app_id,
			       const char *card_serial, time_t now,
			       const char *actor, jpki_err *err)
{
	if (card_serial == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the produced card's serial is required");
	return card_step(ca, app_id, "card_produced", card_serial, now, actor,
			 err);
}

int registry_app_card_ready(jpki_ca *ca, int64_t app_id, time_t now,
			    const char *actor, jpki_err *err)
{
	return card_step(ca, app_id, "card_ready", NULL, now, actor, err);
}
