/* openjpki — JSON views of residents, certificates, applications and the
 * law's plan, written
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
/* A resident (住民基本台帳 record): id, ext_id, name, kana, address, birth,
 * sex, muni, adult_ward, status ("living"|"removed"), my_number (or null). */
json_t *jpki_view_resident(const store_resident *r);
/* A stored certificate: serial, kind, resident, card, muni, subject,
 * not_before, not_after, status ("valid"|"hold"|"revoked"), and reason and
 * revoked_at once revoked. */
json_t *jpki_view_certificate(const store_cert *c);

#ifdef __cplusplus
}
#endif
#endif
