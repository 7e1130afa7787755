/* Internal contract between the files of registry/ (applications): the
 * transition table (application.c), documents and representatives
 * (proxy.c), card states (card_states.c). */
#ifndef OPENJPKI_REG_INT_H
#define OPENJPKI_REG_INT_H

#include "openjpki/registry.h"

#define REG_ACTOR(a) ((a) != NULL ? (a) : "registry")

/* Inside an open transaction: apply `event` to *a if the transition table
 * allows it from a->state for a->kind (else JPKI_ERR_STATE), write the
 * application, its history record and the audit record. */
JPKI_MUST_CHECK int reg_app_move(store *st, store_app *a, const char *event,
				 time_t now, const char *actor,
				 const char *detail, jpki_err *err);
/* Record an event that keeps the state (a document, a note). */
JPKI_MUST_CHECK int reg_app_note(store *st, store_app *a, const char *event,
				 time_t now, const char *actor,
				 const char *detail, jpki_err *err);
/* Load an application that is still open (JPKI_ERR_STATE if closed). */
JPKI_MUST_CHECK int reg_app_load_open(store *st, int64_t id, store_app *out,
				      jpki_err *err);

/* application.c: the plan of an application from the store (rules_plan). */
JPKI_MUST_CHECK int reg_plan(store *st, const store_app *a,
			     const store_resident *r, jpki_date today,
			     jpki_plan *out, jpki_err *err);
/* proxy.c: is the applicant allowed for this resident and request?  (a
 * 法定代理人 obtains the authentication certificate only; under-15s and
 * adult wards apply through one).  JPKI_ERR_INELIGIBLE or JPKI_ERR_INVAL. */
JPKI_MUST_CHECK int reg_applicant_check(const store_app *a,
					const store_resident *r,
					jpki_date today, jpki_err *err);
/* proxy.c: check one document against the application. */
JPKI_MUST_CHECK int reg_doc_check(const store_app *a, store_doc_role role,
				  const char *type, const char *number,
				  jpki_date expiry, jpki_date today,
				  jpki_err *err);
/* proxy.c: do the recorded documents (and the 照会書 round trip) allow
 * approval?  0, or JPKI_ERR_STATE with what is missing in err. */
JPKI_MUST_CHECK int reg_docs_ready(store *st, const store_app *a,
				   jpki_date today, jpki_err *err);

/* card_states.c: move a recorded card along its table (active -> lost ->
 * active (found) | retired; active -> retired).  JPKI_ERR_STATE otherwise. */
JPKI_MUST_CHECK int reg_card_move(store *st, const char *serial,
				  int64_t resident_id, store_card_status to,
				  store_card *out, jpki_err *err);
/* card_states.c: hand the produced card over: recorded active from today. */
JPKI_MUST_CHECK int reg_card_hand_over(store *st, const store_app *a,
				       jpki_date today, store_card *out,
				       jpki_err *err);

#endif
