/* openjpki — the counter's work (市区町村窓口): resident-record changes that
 * revoke, per 公的個人認証法 第12条 and its practice.  The full application
 * workflow (applications, proxies, cards, notices) builds on this. */
#ifndef OPENJPKI_REGISTRY_H
#define OPENJPKI_REGISTRY_H

#include <stdbool.h>
#include <time.h>

#include "openjpki/buf.h"
#include "openjpki/ca.h"
#include "openjpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record a municipality (upsert), a new resident (sets r->id) or a card
 * (upsert; its expiry from rules_card_expiry when c->expiry is unset), each
 * with its audit record in the same transaction.  The resident's
 * municipality must be on record. */
JPKI_MUST_CHECK int registry_muni_put(jpki_ca *ca, const store_muni *m,
				      time_t now, const char *actor,
				      jpki_err *err);
JPKI_MUST_CHECK int registry_resident_add(jpki_ca *ca, store_resident *r,
					  time_t now, const char *actor,
					  jpki_err *err);
JPKI_MUST_CHECK int registry_card_record(jpki_ca *ca, store_card *c, time_t now,
					 const char *actor, jpki_err *err);

/* What a change did, for the clerk and the audit log. */
typedef struct registry_change_result {
	int revoked;			       /* how many certificates */
	char serials[4][STORE_SERIAL_HEX_MAX]; /* the first few revoked */
} registry_change_result;

/* Apply a resident-record change (異動).  A change of name, address, birth
 * date or sex revokes the resident's valid signature certificates
 * (affiliationChanged) and leaves the authentication certificates; a
 * change of other fields (kana, guardianship) revokes nothing.  Becoming an
 * adult ward (成年被後見人) revokes the signature certificate too, since it
 * could not be issued now (docs/decisions.md). */
JPKI_MUST_CHECK int registry_resident_change(jpki_ca *ca,
					     const store_resident *updated,
					     time_t now, const char *actor,
					     registry_change_result *out,
					     jpki_err *err);

/* Removal from the register (住民票の消除: death, emigration): revokes every
 * valid certificate of the resident (cessationOfOperation). */
JPKI_MUST_CHECK int registry_resident_remove(jpki_ca *ca, int64_t resident_id,
					     time_t now, const char *actor,
					     registry_change_result *out,
					     jpki_err *err);

/* ==== Counter applications ==============================================
 * One application per request at the counter (store_app_kind), each with
 * its documents, its state and its history; every transition is checked
 * against one table (application.c), recorded in the application's history
 * and in the audit log in the same transaction.  Illegal transitions are
 * JPKI_ERR_STATE.  A resident has at most one open application of a kind.
 *
 * States (store_app_state):
 *
 *   received -> [inquiry_sent -> inquiry_answered] -> approved -> completed
 *   received -> [...] -> card_ordered -> card_produced -> card_ready
 *            -> completed                       (new card, card reissue)
 *   any open state -> rejected | cancelled
 *
 * Who applies (proxy.c): the holder (本人); a 任意代理人 with a 委任状 (only
 * for revocation and loss) or through the 照会書兼回答書 round trip by post
 * (never the same day), plus the agent's photo identity document; a
 * 法定代理人 (for a minor or an adult ward) with proof of representation,
 * who can obtain only the authentication certificate.  Residents under 15
 * and adult wards apply through their 法定代理人. */

/* Short names: "new-card", "issue", "renewal", "reissue", "revoke",
 * "pin-reset", "loss", "found"; states "received", ...; applicants "self",
 * "proxy", "legal"; roles "holder", "agent".  Never NULL ("unknown"). */
const char *registry_app_kind_name(store_app_kind k);
const char *registry_app_state_name(store_app_state s);
const char *registry_applicant_name(store_app_applicant a);
const char *registry_doc_role_name(store_doc_role r);
/* Parse those names: 0 or JPKI_ERR_INVAL listing the names. */
JPKI_MUST_CHECK int registry_app_kind_parse(const char *s, store_app_kind *out,
					    jpki_err *err);
JPKI_MUST_CHECK int registry_applicant_parse(const char *s,
					     store_app_applicant *out,
					     jpki_err *err);
JPKI_MUST_CHECK int registry_doc_role_parse(const char *s, store_doc_role *out,
					    jpki_err *err);

typedef struct registry_app_req {
	int64_t resident_id;
	store_app_kind kind;
	store_app_applicant applicant;
	const char
	    *agent_name; /* required for a proxy or legal representative */
	int certs;	 /* STORE_APP_CERT_*: wanted (new card, issue,
			    found), revoked (revoke); 0 = every one the
			    holder has (renewal, revoke) */
	int pins;	 /* STORE_APP_PIN_*: PINs to reset */
	const char *card_serial; /* the held card; NULL for a new card */
	const char *note;	 /* may be NULL */
	/* a loss report holds on receipt: what it held (may be NULL) */
	registry_change_result *held;
	/* refused by the law: the plan with its reason code and texts, for
	 * the reply in the operator's language (may be NULL; code NULL when
	 * the refusal was not the plan's) */
	jpki_plan *refusal;
} registry_app_req;

/* Open an application (state received).  Refusals: JPKI_ERR_NOT_FOUND
 * (resident, card), JPKI_ERR_STATE (removed resident, card in the wrong
 * state, certificate already held), JPKI_ERR_EXISTS (an open application
 * of the same kind: double submission), JPKI_ERR_INELIGIBLE (signature
 * certificate under 15 or for an adult ward, anything but the
 * authentication certificate through a 法定代理人, a minor under 15 or an
 * adult ward applying without one), JPKI_ERR_WINDOW (renewal before
 * rules_renewal_opens), JPKI_ERR_INVAL.  *out is the stored application. */
JPKI_MUST_CHECK int registry_app_open(jpki_ca *ca, const registry_app_req *req,
				      time_t now, const char *actor,
				      store_app *out, jpki_err *err);

/* Record a document shown at the counter: its type (registry_doc_types),
 * number and expiry ({0,0,0} for none; required for documents that have
 * one).  Expired documents, types that do not fit the applicant, and a
 * 12-digit 個人番号 given as a card's number are refused (JPKI_ERR_INVAL). */
JPKI_MUST_CHECK int registry_app_add_document(jpki_ca *ca, int64_t app_id,
					      store_doc_role role,
					      const char *type,
					      const char *number,
					      jpki_date expiry, time_t now,
					      const char *actor, jpki_err *err);

/* Document types accepted, NULL-terminated: {name, Japanese name}. */
typedef struct registry_doc_type {
	const char *name; /* "drivers_license" */
	const char *ja;	  /* "運転免許証" */
	bool photo_id;	  /* identifies the person at the counter */
	bool expires;	  /* has an expiry date, which must be given */
} registry_doc_type;
extern const registry_doc_type registry_doc_types[];

/* The 照会書兼回答書 round trip of a 任意代理人: mailed to the holder
 * (received -> inquiry_sent), brought back answered (inquiry_sent ->
 * inquiry_answered) on a later day than it was sent (JPKI_ERR_STATE the
 * same day: it goes by post). */
JPKI_MUST_CHECK int registry_app_send_inquiry(jpki_ca *ca, int64_t app_id,
					      time_t now, const char *actor,
					      jpki_err *err);
JPKI_MUST_CHECK int registry_app_answer_inquiry(jpki_ca *ca, int64_t app_id,
						time_t now, const char *actor,
						jpki_err *err);

/* What completing the application would do, for the clerk, before
 * anything is issued: eligibility, validity, card expiry, fees, what gets
 * revoked or held, and whether the documents allow it to proceed. */
typedef struct registry_preview {
	store_app app;
	int age;
	bool want[3];		   /* [jpki_cert_kind]: would be issued */
	char refused[3][160];	   /* why a kind cannot be issued ("" ok) */
	jpki_validity validity[3]; /* of the kinds in want[] */
	bool new_card;		   /* a card is (to be) produced */
	jpki_date card_expiry;	   /* of the card holding the keys */
	jpki_fee fee;		   /* rules_fee; 0 yen where none applies */
	int fee_total;
	int affected; /* certificates revoked or held */
	char affected_serials[4][STORE_SERIAL_HEX_MAX];
	bool hold;		/* affected ones are put on hold */
	bool docs_ok;		/* documents and inquiry suffice */
	char docs_missing[256]; /* what is missing when !docs_ok */
	jpki_plan plan;		/* the one plan (rules_plan) */
} registry_preview;

JPKI_MUST_CHECK int registry_app_preview(jpki_ca *ca, int64_t app_id,
					 time_t now, registry_preview *out,
					 jpki_err *err);

/* Identity and documents checked (received or inquiry_answered ->
 * approved; card_ordered for a new card or a card reissue).  A card
 * reissue retires the old card here and revokes its certificates (held
 * ones finally).  JPKI_ERR_STATE with what is missing when the documents
 * do not suffice. */
JPKI_MUST_CHECK int registry_app_approve(jpki_ca *ca, int64_t app_id,
					 time_t now, const char *actor,
					 jpki_err *err);
/* The same, telling which certificates approval revoked (a reissue). */
JPKI_MUST_CHECK int registry_app_approve2(jpki_ca *ca, int64_t app_id,
					  time_t now, const char *actor,
					  registry_change_result *revoked,
					  jpki_err *err);
/* The application's plan on `now` (rules_plan from the store): what the
 * preview shows and completion does.  Refusals as rules_plan, *out still
 * filled. */
JPKI_MUST_CHECK int registry_app_plan(jpki_ca *ca, int64_t app_id, time_t now,
				      jpki_plan *out, jpki_err *err);

/* The card's production (card_states.c): J-LIS produced the card with
 * `card_serial` (card_ordered -> card_produced), it arrived at the counter
 * (-> card_ready). */
JPKI_MUST_CHECK int registry_app_card_produced(jpki_ca *ca, int64_t app_id,
					       const char *card_serial,
					       time_t now, const char *actor,
					       jpki_err *err);
JPKI_MUST_CHECK int registry_app_card_ready(jpki_ca *ca, int64_t app_id,
					    time_t now, const char *actor,
					    jpki_err *err);

/* Completion input: the public keys generated on the card for the
 * certificates the application issues (one per wanted kind, no more). */
typedef struct registry_complete_in {
	EVP_PKEY *sign_pub;
	EVP_PKEY *auth_pub;
	const char *window_id; /* NULL: the municipality's default */
} registry_complete_in;

typedef struct registry_outcome {
	ca_issued issued; /* free with registry_outcome_free */
	int revoked;	  /* certificates revoked (or held for a loss) */
	char serials[4][STORE_SERIAL_HEX_MAX];
	char card_serial[40]; /* the card handed over or concerned */
	jpki_fee fee;
} registry_outcome;

/* Complete (approved or card_ready -> completed), by kind: hand the new
 * card over (recorded active, expiry by rules_card_expiry) and issue;
 * issue later; renew (old certificates revoked, superseded); revoke
 * (cessationOfOperation); record the PIN reset (the holder set the new
 * PINs at the card: `jpki card personalize` re-run); hold every valid
 * certificate of a lost card (certificateHold, the card marked lost); for
 * a found card revoke the held certificates finally and issue anew.
 * Everything in one transaction.  out may be NULL when nothing is issued. */
JPKI_MUST_CHECK int registry_app_complete(jpki_ca *ca, int64_t app_id,
					  const registry_complete_in *in,
					  time_t now, const char *actor,
					  registry_outcome *out, jpki_err *err);
void registry_outcome_free(registry_outcome *o);

/* Any open state -> rejected (reason required) or cancelled (withdrawn). */
JPKI_MUST_CHECK int registry_app_reject(jpki_ca *ca, int64_t app_id,
					const char *reason, time_t now,
					const char *actor, jpki_err *err);
JPKI_MUST_CHECK int registry_app_cancel(jpki_ca *ca, int64_t app_id, time_t now,
					const char *actor, jpki_err *err);

/* ==== Expiry notices (有効期限通知書) =====================================
 * Every valid certificate whose notice is due on `now` (rules_notice_due:
 * 3 to 2 months before its last day) and not yet sent, of a resident on
 * the register, gets one letter: out_dir/letters.html (one page each,
 * print CSS, Japanese) and out_dir/mailroom.csv (UTF-8, header).  The
 * notices are recorded as sent in the same transaction as their audit
 * record, after the files are written; a certificate is never noticed
 * twice.  No certificate due: both files are still written (empty). */
typedef struct registry_notice_summary {
	int sent;
	int already_sent; /* due but noticed by an earlier run */
	char batch[32];
} registry_notice_summary;

JPKI_MUST_CHECK int registry_notices_run(jpki_ca *ca, const char *out_dir,
					 time_t now, const char *actor,
					 registry_notice_summary *out,
					 jpki_err *err);

/* ==== Bulk import of residents from CSV (import.c) =====================
 * RFC 4180 CSV in UTF-8 (a BOM is tolerated), CRLF or LF line ends, a
 * header row naming exactly the columns
 *
 *   ext_id,name,kana,address,birth,sex,muni,adult_ward[,my_number]
 *
 * (birth YYYY-MM-DD, sex 1 or 2, muni the 6-digit code of a municipality
 * on record, adult_ward 0/1/true/false or empty).  Every row is checked
 * first; the rows are added only when all are good, in one transaction
 * (registry_resident_add per row, each audited), so a file is imported
 * whole or not at all.  Caps: REGISTRY_IMPORT_FIELD_MAX bytes a field,
 * REGISTRY_IMPORT_ROW_MAX a row, REGISTRY_IMPORT_ROWS_MAX rows. */
#define REGISTRY_IMPORT_FIELD_MAX 512
#define REGISTRY_IMPORT_ROW_MAX 2048
#define REGISTRY_IMPORT_ROWS_MAX 100000
#define REGISTRY_IMPORT_ERRORS_MAX 50

typedef struct registry_import_error {
	size_t line; /* physical line where the row starts (header = 1) */
	char msg[160];
} registry_import_error;

typedef struct registry_import_result {
	size_t rows;	 /* data rows read */
	size_t imported; /* rows added: rows, or 0 */
	size_t nerrors;	 /* bad rows, all counted */
	registry_import_error
	    errors[REGISTRY_IMPORT_ERRORS_MAX]; /* first ones */
} registry_import_result;

/* Called while adding: rows done of total (every 1000 rows and at the
 * end). */
typedef void (*registry_import_progress)(void *ctx, size_t done, size_t total);

/* 0 when every row was imported; JPKI_ERR_INVAL when rows are bad (out
 * lists them, nothing imported); JPKI_ERR_PARSE for a file that is not
 * CSV of that header (out names the line); store errors as usual. */
JPKI_MUST_CHECK int
registry_residents_import(jpki_ca *ca, const uint8_t *csv, size_t len,
			  time_t now, const char *actor,
			  registry_import_progress progress, void *pctx,
			  registry_import_result *out, jpki_err *err);

/* ==== Finding residents (search.c, H3) ==================================
 * A date of birth typed at the counter, 西暦 or 和暦 (search.c lists the
 * forms): 0 and *out; JPKI_ERR_PARSE when s is not shaped as a date;
 * JPKI_ERR_INVAL when it is but names no day (1980-02-30) or a day outside
 * the era (平成31年5月1日). */
JPKI_MUST_CHECK int registry_birth_parse(const char *s, jpki_date *out,
					 jpki_err *err);
/* The store query for a clerk's search text: a date of birth, or folded
 * text matched against name, kana and address; either way against ext id
 * and 個人番号 too.  "" (or only spaces) = every resident. */
JPKI_MUST_CHECK int
registry_search_query(const char *q, store_resident_query *out, jpki_err *err);
JPKI_MUST_CHECK int registry_resident_find(jpki_ca *ca, const char *q,
					   int limit, store_resident_fn fn,
					   void *ctx, jpki_err *err);

/* ==== Letters (letters.c, H3) ===========================================
 * Printable HTML (A4, print CSS, Japanese, dates in 和暦), into *out
 * (initialised here; the caller frees it with jpki_wbuf_free, also on
 * failure).  The 照会書兼回答書 of an application in state inquiry_sent
 * (JPKI_ERR_STATE otherwise): the inquiry to the holder with its reply
 * part.  The 領収書 of a completed application (JPKI_ERR_STATE
 * otherwise). */
JPKI_MUST_CHECK int registry_inquiry_letter(jpki_ca *ca, int64_t app_id,
					    jpki_wbuf *out, jpki_err *err);
JPKI_MUST_CHECK int registry_receipt(jpki_ca *ca, int64_t app_id, time_t now,
				     jpki_wbuf *out, jpki_err *err);
/* The office a municipality's letters name (store_muni_office_set with
 * its audit record). */
JPKI_MUST_CHECK int registry_muni_office_set(jpki_ca *ca, const char *code,
					     const store_office *o, time_t now,
					     const char *actor, jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
