/* openjpki — persistence behind one interface.
 *
 * store_open() picks a backend from the location: a file path or
 * "sqlite:PATH" opens SQLite (WAL mode); "postgresql://..." is reserved for
 * the libpq backend (a later issue).  Callers never see SQL.  A store handle
 * is used by one thread at a time; open one handle per thread (SQLite WAL
 * lets them run side by side).  Schema migrations are versioned and run by
 * store_open(); a newer schema than the code knows is refused.
 *
 * Strings go in and out through fixed struct fields; a value that does not
 * fit is JPKI_ERR_RANGE, never truncated.  A missing row is
 * JPKI_ERR_NOT_FOUND naming the key.  Iterators call fn once per row; a
 * non-zero return stops the iteration and is returned as is.  fn may read
 * through the same handle but must not write through it. */
#ifndef OPENJPKI_STORE_H
#define OPENJPKI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/date.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct store store;

/* location: "PATH" (taken literally) or "sqlite:PATH[?OPTIONS]" with
 * OPTIONS "k=v&k=v":
 *   sync=full|normal|extra  PRAGMA synchronous (default full: a committed
 *                           transaction survives power loss; normal keeps
 *                           it across a process crash only)
 *   busy_timeout=MS         wait for other writers (default 5000)
 * A new database file is created with mode 0600.  Other schemes are
 * JPKI_ERR_INVAL.  Caller closes with store_close(). */
JPKI_MUST_CHECK int store_open(const char *location, store **out,
			       jpki_err *err);
void store_close(store *s);
/* Schema version of the open store. */
JPKI_MUST_CHECK int store_schema_version(store *s);
/* The engine's own consistency check of the whole store: quick (SQLite
 * quick_check: every page and record readable, O(size)) or full
 * (integrity_check: indexes against their tables too).  0, or
 * JPKI_ERR_INTEGRITY naming the first problem.  Outside transactions. */
JPKI_MUST_CHECK int store_check(store *s, bool full, jpki_err *err);

/* Transactions nest by counting: only the outermost commit writes.  A
 * transaction takes the write lock when it starts.  A write operation that
 * fails inside a transaction, or an inner store_rollback(), leaves the
 * transaction to be rolled back: further operations and commits then fail
 * with JPKI_ERR_STATE.  Every store_begin() is matched by one successful
 * store_commit() or by one store_rollback(); a failed commit still needs
 * its store_rollback() (`if (commit fails) rollback` is always right).
 * Write operations outside a transaction commit alone. */
JPKI_MUST_CHECK int store_begin(store *s, jpki_err *err);
JPKI_MUST_CHECK int store_commit(store *s, jpki_err *err);
void store_rollback(store *s);

/* A read snapshot: the reads between store_read_begin() and
 * store_read_end() see one state of the store and share one round of
 * locking (SQLite takes and drops its locks once instead of per
 * statement).  Only reads: store_begin() and every write operation fail
 * with JPKI_ERR_STATE inside one.  Snapshots do not nest; inside a
 * transaction, which is one consistent view already, the pair does
 * nothing.  Keep it short: it holds back WAL checkpoints while open. */
JPKI_MUST_CHECK int store_read_begin(store *s, jpki_err *err);
void store_read_end(store *s);

/* Deferred writes, for a caller that rolls the whole transaction back on
 * any failure (ca_issue_batch): until the transaction ends, a backend may
 * send certificate writes and audit appends later, together with the
 * transaction's next statement or its commit, to save round trips
 * (PostgreSQL pipelines them; SQLite ignores this).  A deferred write's
 * failure is then reported by that later call, naming the write.  Call
 * inside a transaction; it ends with the transaction. */
void store_defer_writes(store *s);

/* Key/value settings of the CA (profile, sequence counters, CRL numbers).
 * Keys are 1..STORE_META_KEY_MAX-1 bytes, values up to STORE_META_VALUE_MAX-1
 * bytes; a value that does not fit `cap` (with its NUL) is JPKI_ERR_RANGE. */
#define STORE_META_KEY_MAX 128
#define STORE_META_VALUE_MAX 65536
JPKI_MUST_CHECK int
store_meta_get(store *s, const char *key, char *val, size_t cap,
	       jpki_err *err); /* JPKI_ERR_NOT_FOUND when unset */
JPKI_MUST_CHECK int store_meta_set(store *s, const char *key, const char *val,
				   jpki_err *err);
/* Atomically add `delta` to an integer setting (starting from 0) and return
 * the new value: CRL numbers, CN sequence numbers.  JPKI_ERR_STATE if the
 * setting holds something else, JPKI_ERR_RANGE on int64 overflow. */
JPKI_MUST_CHECK int store_meta_incr(store *s, const char *key, int64_t delta,
				    int64_t *out, jpki_err *err);

/* 市区町村: the issuing municipality, its CRL partition. */
typedef struct store_muni {
	char code[8]; /* 全国地方公共団体コード, 6 digits with check digit */
	char pref_roman[64]; /* "Tokyo-to" */
	char city_roman[64]; /* "Chiyoda-ku" */
	char pref[64];	     /* "東京都" */
	char city[64];	     /* "千代田区" */
} store_muni;

JPKI_MUST_CHECK int store_muni_put(store *s, const store_muni *m,
				   jpki_err *err); /* upsert */
JPKI_MUST_CHECK int store_muni_get(store *s, const char *code, store_muni *out,
				   jpki_err *err);
typedef int (*store_muni_fn)(void *ctx, const store_muni *m);
JPKI_MUST_CHECK int store_muni_each(store *s, store_muni_fn fn, void *ctx,
				    jpki_err *err);

/* 住民基本台帳 record, as much of it as the service needs. */
typedef enum store_resident_status {
	STORE_RESIDENT_LIVING = 0,  /* 記録中 */
	STORE_RESIDENT_REMOVED = 1, /* 消除 (death, emigration) */
} store_resident_status;

typedef struct store_resident {
	int64_t id; /* assigned by store_resident_add */
	char
	    ext_id[32]; /* 住民票コード or the municipality's own key; unique */
	char name[256];	   /* 氏名 UTF-8 */
	char kana[256];	   /* フリガナ */
	char address[512]; /* 住所 UTF-8 */
	jpki_date birth;
	int sex; /* 1 男, 2 女 */
	char muni_code[8];
	bool adult_ward; /* 成年被後見人 */
	store_resident_status status;
	time_t updated_at;
	char my_number[13]; /* 個人番号, 12 digits; "" not on record (H3) */
} store_resident;

JPKI_MUST_CHECK int store_resident_add(store *s, store_resident *r,
				       jpki_err *err); /* sets r->id */
JPKI_MUST_CHECK int store_resident_update(store *s, const store_resident *r,
					  jpki_err *err);
JPKI_MUST_CHECK int store_resident_get(store *s, int64_t id,
				       store_resident *out, jpki_err *err);
JPKI_MUST_CHECK int store_resident_get_ext(store *s, const char *ext_id,
					   store_resident *out, jpki_err *err);
typedef int (*store_resident_fn)(void *ctx, const store_resident *r);
/* Residents whose name, kana or ext_id contains `q` (all when q is ""),
 * at most `limit`, ordered by id. */
JPKI_MUST_CHECK int store_resident_search(store *s, const char *q, int limit,
					  store_resident_fn fn, void *ctx,
					  jpki_err *err);

/* My Number Card, as far as it caps certificate validity. */
typedef enum store_card_status {
	STORE_CARD_ACTIVE = 0,
	STORE_CARD_LOST = 1,
	STORE_CARD_RETIRED = 2, /* reissued, returned, expired */
} store_card_status;

typedef struct store_card {
	char serial[40];
	int64_t resident_id;
	jpki_date issued;
	jpki_date expiry;
	store_card_status status;
} store_card;

JPKI_MUST_CHECK int store_card_put(store *s, const store_card *c,
				   jpki_err *err); /* upsert */
JPKI_MUST_CHECK int store_card_get(store *s, const char *serial,
				   store_card *out, jpki_err *err);

/* Certificates.  `serial` is upper-case hex of the DER INTEGER content. */
typedef enum store_cert_status {
	STORE_CERT_VALID = 0,
	STORE_CERT_REVOKED = 1, /* includes hold: reason certificateHold */
} store_cert_status;

#define STORE_SERIAL_HEX_MAX 41
typedef struct store_cert {
	char serial[STORE_SERIAL_HEX_MAX];
	int kind;	     /* jpki_cert_kind; 0 for a root */
	int64_t resident_id; /* 0 for a root */
	char card_serial[40];
	char muni_code[8];
	char subject[256]; /* one-line subject for display */
	time_t not_before;
	time_t not_after;
	store_cert_status status;
	int reason; /* jpki_reason when revoked */
	time_t revoked_at;
	/* root generation of the issuer (ca rollover): 1 = the first; a row
	 * written with 0 is stored as 0 and read by the CA as 1 */
	int gen;
	uint8_t *der; /* owned by the store_cert after get; free with
			 store_cert_clear */
	size_t der_len;
} store_cert;

/* Insert a certificate record; JPKI_ERR_CONFLICT if the serial exists,
 * JPKI_ERR_NOT_FOUND if resident_id, card_serial or muni_code (when set:
 * non-zero, non-empty) name a row the store does not have.  DER is
 * 1..STORE_DER_MAX bytes. */
#define STORE_DER_MAX (64 * 1024)
JPKI_MUST_CHECK int store_cert_put(store *s, const store_cert *c,
				   jpki_err *err);
/* Fetch by serial (with DER).  Free with store_cert_clear(). */
JPKI_MUST_CHECK int store_cert_get(store *s, const char *serial,
				   store_cert *out, jpki_err *err);
void store_cert_clear(store_cert *c);
/* Mark revoked; JPKI_ERR_NOT_FOUND for an unknown serial, JPKI_ERR_STATE if
 * already revoked, unless `from_hold` and the current reason is
 * certificateHold (hold -> final revocation).  `reason` is an RFC 5280
 * CRLReason other than 7 (unassigned) and 8 (removeFromCRL), else
 * JPKI_ERR_INVAL.  The final revocation keeps the hold's revoked_at: the
 * certificate has been unusable since then, and a later date would let
 * signatures made after the hold look valid. */
JPKI_MUST_CHECK int store_cert_revoke(store *s, const char *serial, int reason,
				      time_t at, bool from_hold, jpki_err *err);
typedef int (*store_cert_fn)(void *ctx, const store_cert *c);
/* The reads an issuance is planned with (ca_issue_preview; a batch uses
 * store_issue_reads_n below), in one round trip where the backend can
 * (PostgreSQL pipelines them): the resident as
 * store_resident_get (JPKI_ERR_NOT_FOUND when unknown), the card as
 * store_card_get (*card_found false when unknown, not an error) and the
 * resident's certificates through fn as store_cert_by_resident. */
JPKI_MUST_CHECK int store_issue_reads(store *s, int64_t resident_id,
				      const char *card_serial,
				      store_resident *res, store_card *card,
				      bool *card_found, store_cert_fn fn,
				      void *ctx, jpki_err *err);
/* store_issue_reads for n requests at once (ca_issue_batch), in one
 * round trip where the backend can (PostgreSQL pipelines all of them).
 * r[i].rc is 0 or JPKI_ERR_NOT_FOUND (unknown resident); the return
 * value is a store failure, which spoils every entry. */
typedef struct store_issue_read {
	int64_t resident_id;	 /* in */
	const char *card_serial; /* in: 1..39 bytes */
	store_cert_fn fn;	 /* in: the resident's certificates */
	void *ctx;		 /* in: fn's */
	store_resident res;	 /* out */
	store_card card;	 /* out */
	bool card_found;	 /* out */
	int rc;			 /* out */
} store_issue_read;
JPKI_MUST_CHECK int store_issue_reads_n(store *s, store_issue_read *r, size_t n,
					jpki_err *err);
/* The re-check of ca_issue_batch inside its write transaction, after
 * store_defer_writes: each resident's certificates through fn with
 * ctxs[i] (as store_cert_by_resident), in one round trip where the
 * backend can.  The transaction is about to append to the audit chain:
 * PostgreSQL takes the chain's lock and reads its head in that same
 * round trip, before the certificates, so no other writer of the chain
 * commits between the check and this transaction's writes. */
JPKI_MUST_CHECK int store_issue_recheck(store *s, size_t n,
					const int64_t *resident_ids,
					store_cert_fn fn, void *const *ctxs,
					jpki_err *err);
/* Certificates of a resident (no DER), newest first. */
JPKI_MUST_CHECK int store_cert_by_resident(store *s, int64_t resident_id,
					   store_cert_fn fn, void *ctx,
					   jpki_err *err);
/* Revoked certificates of `kind` issued by municipality `muni_code` (all
 * municipalities when NULL) whose notAfter is >= `not_after_from` (expired
 * ones drop off the CRL), ordered by serial, no DER.  Streamed (memory
 * does not grow with the rows): fn must not use the store; an error from
 * fn stops the listing and is returned, and the store stays usable. */
JPKI_MUST_CHECK int store_cert_revoked(store *s, int kind,
				       const char *muni_code,
				       time_t not_after_from, store_cert_fn fn,
				       void *ctx, jpki_err *err);
/* What a CRL entry needs of one revoked certificate. */
typedef struct store_crl_row {
	char serial[STORE_SERIAL_HEX_MAX];
	int reason;
	time_t revoked_at;
	int gen; /* as store_cert.gen */
} store_crl_row;
typedef int (*store_crl_row_fn)(void *ctx, const store_crl_row *r);
/* The rows of store_cert_revoked, in its order (DER INTEGER order of the
 * serial), with only those columns: read from the revoked-certificate
 * indexes alone, without visiting the certificates' rows; streamed as
 * store_cert_revoked. */
JPKI_MUST_CHECK int store_crl_rows(store *s, int kind, const char *muni_code,
				   time_t not_after_from, store_crl_row_fn fn,
				   void *ctx, jpki_err *err);
/* Valid certificates expiring between two days (JST, inclusive), by
 * notAfter.  Streamed as store_cert_revoked (OCSP warm-up reads every valid
 * certificate): fn must not use the store. */
JPKI_MUST_CHECK int store_cert_expiring(store *s, jpki_date from, jpki_date to,
					store_cert_fn fn, void *ctx,
					jpki_err *err);

/* Append-only audit log, hash-chained: each record stores SHA-256 over the
 * previous record's hash and its own fields. */
typedef struct store_audit {
	int64_t seq;
	time_t at;
	char actor[64];
	char action[64];
	char detail[1024];
	char prev_hash[65];
	char hash[65];
} store_audit;

JPKI_MUST_CHECK int store_audit_append(store *s, time_t at, const char *actor,
				       const char *action, const char *detail,
				       jpki_err *err);
typedef int (*store_audit_fn)(void *ctx, const store_audit *a);
/* Every record, by seq.  Streamed as store_cert_revoked: fn must not use
 * the store. */
JPKI_MUST_CHECK int store_audit_each(store *s, store_audit_fn fn, void *ctx,
				     jpki_err *err);
/* Recompute the chain; JPKI_ERR_INTEGRITY naming the first bad record.
 * On success *records (may be NULL) is the number of records checked.  The
 * chain shows altered, inserted, removed or reordered records; removing
 * records from the end shows only against a count or hash kept elsewhere. */
JPKI_MUST_CHECK int store_audit_verify(store *s, int64_t *records,
				       jpki_err *err);
/* The last record's seq and hash (seq 0, hash "" for an empty log). */
JPKI_MUST_CHECK int store_audit_head(store *s, int64_t *seq, char hash[65],
				     jpki_err *err);

/* ==== Counter applications (registry/) ==================================
 * The store keeps applications, the documents shown, their state history
 * and the expiry notices sent; registry/ owns the rules and the state
 * machine (registry.h).  Enumerations live here because the schema checks
 * them. */

typedef enum store_app_kind {
	STORE_APP_NEW_CARD = 1,	 /* 交付申請: card and certificates */
	STORE_APP_ISSUE = 2,	 /* 後日発行: certificates on a held card */
	STORE_APP_RENEWAL = 3,	 /* 更新 */
	STORE_APP_REISSUE = 4,	 /* 再交付: new card after loss or damage */
	STORE_APP_REVOKE = 5,	 /* 失効申請 at the holder's request */
	STORE_APP_PIN_RESET = 6, /* 暗証番号の初期化・再設定 */
	STORE_APP_LOSS = 7,	 /* 紛失届: certificates put on hold */
	STORE_APP_FOUND = 8, /* 発見届: held certificates revoked, reissued */
} store_app_kind;

/* States below STORE_APP_COMPLETED are open. */
typedef enum store_app_state {
	STORE_APP_RECEIVED = 0,	    /* 受付 */
	STORE_APP_INQUIRY_SENT = 1, /* 照会書兼回答書 mailed to the holder */
	STORE_APP_INQUIRY_ANSWERED = 2, /* 回答書 brought back */
	STORE_APP_APPROVED = 3,		/* identity and documents checked */
	STORE_APP_CARD_ORDERED = 4, /* card applied for (J-LIS produces it) */
	STORE_APP_CARD_PRODUCED = 5,
	STORE_APP_CARD_READY = 6, /* at the counter */
	STORE_APP_COMPLETED = 7,  /* issued / revoked / held / reset */
	STORE_APP_REJECTED = 8,
	STORE_APP_CANCELLED = 9,
} store_app_state;

typedef enum store_app_applicant {
	STORE_APPLICANT_SELF = 1,  /* 本人 */
	STORE_APPLICANT_PROXY = 2, /* 任意代理人 */
	STORE_APPLICANT_LEGAL = 3, /* 法定代理人 */
} store_app_applicant;

/* certs: bit (1 << jpki_cert_kind) shifted down by one: 1 sign, 2 auth. */
#define STORE_APP_CERT_SIGN 1
#define STORE_APP_CERT_AUTH 2
/* pins (PIN reset): 1 signature, 2 authentication, 4 券面事項入力補助. */
#define STORE_APP_PIN_SIGN 1
#define STORE_APP_PIN_AUTH 2
#define STORE_APP_PIN_CARDINFO 4

typedef struct store_app {
	int64_t id; /* assigned by store_app_add */
	int64_t resident_id;
	store_app_kind kind;
	store_app_state state;
	store_app_applicant applicant;
	char agent_name[256];	  /* 代理人氏名; "" for the holder */
	int certs;		  /* STORE_APP_CERT_* */
	int pins;		  /* STORE_APP_PIN_* */
	char card_serial[40];	  /* the held card concerned; "" none */
	char new_card_serial[40]; /* the card produced for it; "" none yet */
	jpki_date inquiry_sent;	  /* {0,0,0}: none */
	jpki_date inquiry_answered;
	char note[512]; /* clerk's note, rejection reason */
	time_t opened_at;
	time_t updated_at;
} store_app;

/* Insert (a->id ignored, then set).  JPKI_ERR_CONFLICT when the resident
 * already has an open application of that kind; JPKI_ERR_NOT_FOUND for an
 * unknown resident or card. */
JPKI_MUST_CHECK int store_app_add(store *s, store_app *a, jpki_err *err);
JPKI_MUST_CHECK int store_app_update(store *s, const store_app *a,
				     jpki_err *err);
JPKI_MUST_CHECK int store_app_get(store *s, int64_t id, store_app *out,
				  jpki_err *err);
typedef int (*store_app_fn)(void *ctx, const store_app *a);
/* Applications of a resident (every resident when resident_id is 0), only
 * the open ones when open_only, at most limit (>= 1), newest first. */
JPKI_MUST_CHECK int store_app_list(store *s, int64_t resident_id,
				   bool open_only, int limit, store_app_fn fn,
				   void *ctx, jpki_err *err);

typedef enum store_doc_role {
	STORE_DOC_HOLDER = 1, /* the card holder's own document */
	STORE_DOC_AGENT = 2,  /* the representative's */
} store_doc_role;

typedef struct store_app_doc {
	int64_t app_id;
	int seq; /* assigned by store_app_doc_add: 1, 2, ... */
	store_doc_role role;
	char type[32];	  /* registry document type name */
	char number[64];  /* the document's number, never an image */
	jpki_date expiry; /* {0,0,0}: the document has none */
	time_t added_at;
} store_app_doc;

JPKI_MUST_CHECK int store_app_doc_add(store *s, store_app_doc *d,
				      jpki_err *err); /* sets seq */
typedef int (*store_app_doc_fn)(void *ctx, const store_app_doc *d);
JPKI_MUST_CHECK int store_app_doc_each(store *s, int64_t app_id,
				       store_app_doc_fn fn, void *ctx,
				       jpki_err *err);

/* State history of an application (append-only). */
typedef struct store_app_event {
	int64_t app_id;
	int seq; /* assigned by store_app_event_add */
	time_t at;
	char actor[64];
	char event[32];
	store_app_state from_state;
	store_app_state to_state;
	char detail[512];
} store_app_event;

JPKI_MUST_CHECK int store_app_event_add(store *s, store_app_event *e,
					jpki_err *err);
typedef int (*store_app_event_fn)(void *ctx, const store_app_event *e);
JPKI_MUST_CHECK int store_app_event_each(store *s, int64_t app_id,
					 store_app_event_fn fn, void *ctx,
					 jpki_err *err);

/* 有効期限通知書 sent: one per certificate.  store_notice_add is
 * JPKI_ERR_CONFLICT when that certificate's notice was already sent. */
typedef struct store_notice {
	char cert_serial[STORE_SERIAL_HEX_MAX];
	int64_t resident_id;
	jpki_date expiry;
	char batch[32];
	time_t sent_at;
} store_notice;

JPKI_MUST_CHECK int store_notice_add(store *s, const store_notice *n,
				     jpki_err *err);
JPKI_MUST_CHECK int store_notice_get(store *s, const char *cert_serial,
				     store_notice *out, jpki_err *err);

/* ==== Finding residents (H3) ============================================
 * A resident row carries search keys (jpki_text_fold of the name and kana,
 * and of the address), written by every add and update.  One bounded
 * query: rows whose birth date is `birth` (when set), or whose name/kana
 * key or address key contains `key` (when non-empty), or whose ext_id
 * (lower-cased) contains `ext`, or whose 個人番号 is `ext` (when
 * non-empty); at most limit, ordered by id.  All three empty/unset: every
 * resident. */
typedef struct store_resident_query {
	jpki_date birth; /* {0,0,0}: not searched */
	char key[512];	 /* folded; "" not searched */
	char ext[64];	 /* folded; "" not searched */
} store_resident_query;

JPKI_MUST_CHECK int store_resident_find(store *s, const store_resident_query *q,
					int limit, store_resident_fn fn,
					void *ctx, jpki_err *err);

/* The counter's application list (H3): applications with their resident's
 * name and kana, whose state lies in [state_min, state_max], of one
 * resident (resident_id > 0) or all, opened in [opened_from, opened_to]
 * (instants; 0 = unbounded), newest first, at most limit. */
typedef struct store_app_filter {
	int64_t resident_id;
	store_app_state state_min, state_max;
	time_t opened_from, opened_to;
} store_app_filter;

typedef struct store_app_row {
	store_app app;
	char name[256]; /* the resident's 氏名 */
	char kana[256];
} store_app_row;

typedef int (*store_app_row_fn)(void *ctx, const store_app_row *row);
JPKI_MUST_CHECK int store_app_find(store *s, const store_app_filter *f,
				   int limit, store_app_row_fn fn, void *ctx,
				   jpki_err *err);

/* The office a municipality's letters name (有効期限通知書, 照会書兼回答書,
 * 領収書), H3; "" unset.  get: JPKI_ERR_NOT_FOUND for an unknown
 * municipality; set: replaces all four. */
typedef struct store_office {
	char name[128];	   /* "清瀬市役所 市民課" */
	char address[256]; /* "東京都清瀬市中里5-842" */
	char phone[32];	   /* "042-492-5111" */
	char hours[128];   /* "平日 8時30分〜17時" */
} store_office;

JPKI_MUST_CHECK int store_muni_office_get(store *s, const char *code,
					  store_office *out, jpki_err *err);
JPKI_MUST_CHECK int store_muni_office_set(store *s, const char *code,
					  const store_office *o, jpki_err *err);

/* ==== Short-lived shared state of jpkid nodes (issue #12 item 3) ========
 * Operator sessions, issuance challenges, relying-party nonces and
 * one-time downloads, so that several jpkid processes on one store answer
 * any request.  `id` is the upper-case hex SHA-256 of the secret the client
 * holds, never the secret itself.  Rows past `expires` are dead whatever is
 * still stored; store_token_delete with expired_at sweeps them. */
enum store_token_kind {
	STORE_TOKEN_SESSION = 1,
	STORE_TOKEN_CHALLENGE = 2,
	STORE_TOKEN_NONCE = 3,
	STORE_TOKEN_DOWNLOAD = 4,
};
#define STORE_TOKEN_ID_LEN 64
typedef struct store_token {
	char id[STORE_TOKEN_ID_LEN + 1];
	int kind;	 /* enum store_token_kind */
	char owner[160]; /* session: operator; challenge, download: the
			    session's id; nonce: what it is bound to */
	char op[64];	 /* challenge: the session's operator; download:
				  the card serial */
	int role;
	int64_t gen;
	time_t expires;
	time_t last;	/* session: last use; nonce: 1 once used */
	char extra[65]; /* session: its CSRF token (hex) */
} store_token;

/* Which rows store_token_delete/count look at: every condition set
 * (non-NULL, non-zero) must hold. */
typedef struct store_token_filter {
	int kind;	   /* 0: any */
	const char *id;	   /* this row only */
	const char *owner; /* rows of this owner */
	const char *op;	   /* rows of this operator */
	const char *keep;  /* not this row */
	int64_t gen_below; /* gen < gen_below */
	time_t expired_at; /* expires <= expired_at */
	time_t alive_at;   /* expires > alive_at (count) */
} store_token_filter;

/* Insert a row with optional data (a download's image); JPKI_ERR_CONFLICT
 * when the id exists. */
JPKI_MUST_CHECK int store_token_put(store *s, const store_token *t,
				    const uint8_t *data, size_t len,
				    jpki_err *err);
/* Read a row; *data (malloc'ed) and *len when data is non-NULL. */
JPKI_MUST_CHECK int store_token_get(store *s, const char *id, store_token *out,
				    uint8_t **data, size_t *len, jpki_err *err);
/* Set `last` of a row to `last`, only when it is `expect` unless expect
 * is negative; *changed: whether the row changed (the caller won). */
JPKI_MUST_CHECK int store_token_touch(store *s, const char *id, time_t last,
				      int64_t expect, bool *changed,
				      jpki_err *err);
/* Read and delete a row at once: JPKI_ERR_NOT_FOUND when it is not there
 * or another node took it first. */
JPKI_MUST_CHECK int store_token_take(store *s, const char *id, store_token *out,
				     uint8_t **data, size_t *len,
				     jpki_err *err);
/* Delete the rows the filter selects; *n: how many (may be NULL). */
JPKI_MUST_CHECK int store_token_delete(store *s, const store_token_filter *f,
				       size_t *n, jpki_err *err);
/* Count the rows the filter selects, and the earliest expiry among them
 * (0 when none). */
JPKI_MUST_CHECK int store_token_count(store *s, const store_token_filter *f,
				      size_t *n, time_t *first_expiry,
				      jpki_err *err);

/* Revocations as other processes commit them (PostgreSQL LISTEN/NOTIFY on
 * a connection of the watch's own): JPKI_ERR_STATE from store_watch_open
 * on a backend that cannot tell (SQLite: scan instead).  store_watch_wait
 * waits up to timeout_ms and calls fn with each revoked serial (hex);
 * JPKI_ERR_IO when the connection is lost: close and open again, and
 * rescan, for what committed meanwhile was not told. */
typedef struct store_watch store_watch;
typedef void (*store_watch_fn)(void *ctx, const char *serial_hex);
JPKI_MUST_CHECK int store_watch_open(const char *location, store_watch **out,
				     jpki_err *err);
JPKI_MUST_CHECK int store_watch_wait(store_watch *w, int timeout_ms,
				     store_watch_fn fn, void *ctx,
				     jpki_err *err);
void store_watch_close(store_watch *w);

#ifdef __cplusplus
}
#endif
#endif
