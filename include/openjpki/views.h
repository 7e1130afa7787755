/* openjpki — JSON views of applications and of the law's plan, written
 * once for the CLI (`jpki application … --json`) and jpkid's API, so that
 * both name every field alike ("card", "resident", ...). */
#ifndef OPENJPKI_VIEWS_H
#define OPENJPKI_VIEWS_H

#include <jansson.h>

#include "openjpki/registry.h"
#include "openjpki/rules.h"

#ifdef __cplusplus
extern "C" {
#endif

/* {"last_day", "birthday_n", "capped_by": "birthday"|"card"|"auth"} */
json_t *jpki_view_validity(const jpki_validity *v);
/* An application: id, resident, kind, state, open, applicant, agent_name,
 * sign, auth, pins, card, new_card, inquiry_sent, inquiry_answered, note,
 * opened_at, updated_at (times RFC 3339 UTC, dates YYYY-MM-DD or ""). */
json_t *jpki_view_application(const store_app *a);
/* The plan (rules_plan): ok, code, en, ja, and per kind ("sign", "auth")
 * asked, issue, code, en, ja, current ("keep"|"revoke"|"hold"), renewal,
 * validity when issued, reason and reason_ja when the current one goes. */
json_t *jpki_view_plan(const jpki_plan *p);

#ifdef __cplusplus
}
#endif
#endif
