/* openjpki store — the contract between the backend-neutral front
 * (store.c) and a backend (sqlite.c, pg.c).
 *
 * The front owns everything that must behave the same on every backend:
 * argument checks and limits, transaction nesting, the revocation state
 * machine, the audit hash chain and the migration runner.  A backend only
 * moves rows.  Its operations:
 *
 * - return 0 or a negative jpki_rc with a message in err, and leave output
 *   parameters untouched on failure;
 * - are called with arguments the front has already checked (non-NULL
 *   pointers, strings that fit the struct fields, valid dates, upper-case
 *   hex serials);
 * - map a missing row to JPKI_ERR_NOT_FOUND naming the key, a duplicate
 *   key to JPKI_ERR_CONFLICT (JPKI_ERR_EXISTS for a resident's ext_id), a
 *   reference to a missing parent row to JPKI_ERR_NOT_FOUND naming the
 *   parent, a column value that does not fit its struct field to
 *   JPKI_ERR_RANGE, and any other database failure to JPKI_ERR_STORE;
 * - when iterating, call fn once per row and stop as soon as fn returns
 *   non-zero, returning that value (err untouched);
 * - are only called by the front between begin and commit/rollback when
 *   they write.  The `*_for_update` reads are called inside a write
 *   transaction and must keep what they read stable until it ends (SQLite:
 *   BEGIN IMMEDIATE already serialises writers; PostgreSQL: SELECT ... FOR
 *   UPDATE, or an advisory lock for the audit head). */
#ifndef OPENJPKI_STORE_IMPL_H
#define OPENJPKI_STORE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/error.h"
#include "openjpki/store.h"

/* One schema migration: statements run in order inside the migration
 * transaction, then recorded in schema_version. */
struct store_migration {
	int version; /* 1, 2, 3, ... without gaps */
	const char *name;
	const char *const *sql; /* NULL-terminated */
};

/* Tests only (pg.c): drop the answer to the next n COMMITs on a
 * PostgreSQL store after the server sent it, to exercise the resolution of
 * a COMMIT whose outcome the client did not hear. */
extern int store_pg_test_lose_commit_answer;

/* Tests only (pg.c): how many statements the PostgreSQL stores have
 * prepared (PQprepare succeeded), every connection together. */
extern _Atomic long store_pg_test_prepares;

/* pg.c: how many rows one FETCH of a streamed read (the CRL's revoked
 * rows) brings; 10,000 unless a test sets it lower. */
extern int store_pg_stream_batch;

/* Tests only (pg.c): the statement timeout, in ms, of PostgreSQL
 * connections opened from now on (0: the default, 60 s). */
extern int store_pg_test_statement_timeout_ms;

/* SQLite schema history (schema.c), ending with {0, NULL, NULL}. */
extern const struct store_migration store_sqlite_migrations[];
/* PostgreSQL schema history (schema.c): the same versions. */
extern const struct store_migration store_pg_migrations[];

struct store_backend {
	const char *name;
	const struct store_migration *migrations; /* ends with version 0 */

	/* Open `path` with backend options `opts` ("k=v&k=v", or NULL). */
	int (*open)(const char *path, const char *opts, void **impl,
		    jpki_err *err);
	/* Release everything; an open transaction is rolled back.  NULL ok. */
	void (*close)(void *impl);

	/* Start a write transaction (waits for other writers up to the busy
	 * timeout, then JPKI_ERR_CONFLICT). */
	int (*begin)(void *impl, jpki_err *err);
	/* Make the transaction durable.  On failure the caller rolls back. */
	int (*commit)(void *impl, jpki_err *err);
	/* Abandon the transaction; harmless when none is open. */
	void (*rollback)(void *impl);
	/* Open and close a read-only snapshot (store_read_begin). */
	int (*read_begin)(void *impl, jpki_err *err);
	void (*read_end)(void *impl);

	/* Migrations, inside a write transaction: create schema_version if
	 * missing and report the highest version recorded (0 for a new
	 * store); run one statement; record a version as applied. */
	int (*schema_current)(void *impl, int *version, jpki_err *err);
	int (*exec)(void *impl, const char *sql, jpki_err *err);
	int (*schema_record)(void *impl, int version, const char *name,
			     jpki_err *err);

	int (*meta_get)(void *impl, const char *key, char *val, size_t cap,
			jpki_err *err);
	int (*meta_get_for_update)(void *impl, const char *key, char *val,
				   size_t cap, jpki_err *err);
	int (*meta_set)(void *impl, const char *key, const char *val,
			jpki_err *err);

	int (*muni_put)(void *impl, const store_muni *m, jpki_err *err);
	int (*muni_get)(void *impl, const char *code, store_muni *out,
			jpki_err *err);
	int (*muni_each)(void *impl, store_muni_fn fn, void *ctx,
			 jpki_err *err);

	/* Insert (r->id ignored) and report the assigned id. */
	int (*resident_add)(void *impl, const store_resident *r, int64_t *id,
			    jpki_err *err);
	int (*resident_update)(void *impl, const store_resident *r,
			       jpki_err *err);
	int (*resident_get)(void *impl, int64_t id, store_resident *out,
			    jpki_err *err);
	int (*resident_get_ext)(void *impl, const char *ext_id,
				store_resident *out, jpki_err *err);
	/* q == "" matches every resident; limit >= 1. */
	int (*resident_search)(void *impl, const char *q, int limit,
			       store_resident_fn fn, void *ctx, jpki_err *err);

	int (*card_put)(void *impl, const store_card *c, jpki_err *err);
	int (*card_get)(void *impl, const char *serial, store_card *out,
			jpki_err *err);

	/* resident_id 0, card_serial "" and muni_code "" mean "none" (roots)
	 * and are stored as NULL; the reverse on the way out. */
	int (*cert_put)(void *impl, const store_cert *c, jpki_err *err);
	/* out->der is malloc'ed. */
	int (*cert_get)(void *impl, const char *serial, store_cert *out,
			jpki_err *err);
	int (*cert_state_for_update)(void *impl, const char *serial,
				     store_cert_status *status, int *reason,
				     time_t *revoked_at, jpki_err *err);
	/* Set status REVOKED with reason and revoked_at. */
	int (*cert_set_revoked)(void *impl, const char *serial, int reason,
				time_t at, jpki_err *err);
	/* The listings pass certificates without DER (der NULL). */
	int (*cert_by_resident)(void *impl, int64_t resident_id,
				store_cert_fn fn, void *ctx, jpki_err *err);
	/* muni_code NULL: every municipality. */
	int (*cert_revoked)(void *impl, int kind, const char *muni_code,
			    time_t not_after_from, store_cert_fn fn, void *ctx,
			    jpki_err *err);
	/* The same rows, narrowed (store_crl_rows). */
	int (*crl_rows)(void *impl, int kind, const char *muni_code,
			time_t not_after_from, store_crl_row_fn fn, void *ctx,
			jpki_err *err);
	/* Valid certificates with from <= not_after <= to. */
	int (*cert_expiring)(void *impl, time_t from, time_t to,
			     store_cert_fn fn, void *ctx, jpki_err *err);

	/* Last record's seq and hash; seq 0 when the log is empty. */
	int (*audit_head_for_update)(void *impl, int64_t *seq, char hash[65],
				     jpki_err *err);
	int (*audit_insert)(void *impl, const store_audit *a, jpki_err *err);
	/* Every record in seq order. */
	int (*audit_each)(void *impl, store_audit_fn fn, void *ctx,
			  jpki_err *err);
	/* Counter applications.  app_add inserts (a->id ignored) and reports
	 * the id; doc_add and event_add assign seq as the application's
	 * last + 1 and report it.  app_list: resident_id 0 = every resident. */
	int (*app_add)(void *impl, const store_app *a, int64_t *id,
		       jpki_err *err);
	int (*app_update)(void *impl, const store_app *a, jpki_err *err);
	int (*app_get)(void *impl, int64_t id, store_app *out, jpki_err *err);
	int (*app_list)(void *impl, int64_t resident_id, bool open_only,
			int limit, store_app_fn fn, void *ctx, jpki_err *err);
	int (*app_doc_add)(void *impl, const store_app_doc *d, int *seq,
			   jpki_err *err);
	int (*app_doc_each)(void *impl, int64_t app_id, store_app_doc_fn fn,
			    void *ctx, jpki_err *err);
	int (*app_event_add)(void *impl, const store_app_event *e, int *seq,
			     jpki_err *err);
	int (*app_event_each)(void *impl, int64_t app_id, store_app_event_fn fn,
			      void *ctx, jpki_err *err);
	int (*notice_add)(void *impl, const store_notice *n, jpki_err *err);
	int (*notice_get)(void *impl, const char *cert_serial,
			  store_notice *out, jpki_err *err);
	/* H3: store_resident_find, arguments checked by the front. */
	int (*resident_find)(void *impl, const store_resident_query *q,
			     int limit, store_resident_fn fn, void *ctx,
			     jpki_err *err);
	/* H3: store_app_find, arguments checked by the front. */
	int (*app_find)(void *impl, const store_app_filter *f, int limit,
			store_app_row_fn fn, void *ctx, jpki_err *err);
	int (*office_get)(void *impl, const char *code, store_office *out,
			  jpki_err *err);
	int (*office_set)(void *impl, const char *code, const store_office *o,
			  jpki_err *err);
	/* Shared node state (store_token_*): put inserts (JPKI_ERR_CONFLICT
	 * on a duplicate id); get reads (data malloc'ed when wanted); touch
	 * sets last (only when it is `expect`, unless negative) and reports
	 * whether the row changed; delete and count take the filter as the
	 * front checked it. */
	int (*token_put)(void *impl, const store_token *t, const uint8_t *data,
			 size_t len, jpki_err *err);
	int (*token_get)(void *impl, const char *id, store_token *out,
			 uint8_t **data, size_t *len, jpki_err *err);
	int (*token_touch)(void *impl, const char *id, time_t last,
			   int64_t expect, bool *changed, jpki_err *err);
	int (*token_delete)(void *impl, const store_token_filter *f, size_t *n,
			    jpki_err *err);
	int (*token_count)(void *impl, const store_token_filter *f, size_t *n,
			   time_t *first_expiry, jpki_err *err);
	/* store_watch_*: NULL on a backend that cannot tell (SQLite). */
	int (*watch_open)(const char *location, void **impl, jpki_err *err);
	int (*watch_wait)(void *impl, int timeout_ms, store_watch_fn fn,
			  void *ctx, jpki_err *err);
	void (*watch_close)(void *impl);
	/* store_issue_reads in one go, arguments checked by the front; NULL:
	 * the front makes the three reads. */
	int (*issue_reads)(void *impl, int64_t resident_id,
			   const char *card_serial, store_resident *res,
			   store_card *card, bool *card_found, store_cert_fn fn,
			   void *ctx, jpki_err *err);
	/* store_issue_reads_n and store_issue_recheck in one go, arguments
	 * checked by the front; NULL: the front loops. */
	int (*issue_reads_n)(void *impl, store_issue_read *r, size_t n,
			     jpki_err *err);
	int (*issue_recheck)(void *impl, size_t n, const int64_t *ids,
			     store_cert_fn fn, void *const *ctxs,
			     jpki_err *err);
	/* store_defer_writes, inside a write transaction; NULL on a backend
	 * that always writes at once (SQLite). */
	void (*defer_writes)(void *impl);
	/* store_check: the engine's own consistency check. */
	int (*check)(void *impl, bool full, jpki_err *err);
};

extern const struct store_backend store_sqlite_backend;
/* pg.c: chosen by a location "postgresql://..." or "postgres://...". */
extern const struct store_backend store_pg_backend;

/* Helpers the backends share (store.c). */

/* Copy a column value of `len` bytes (src may be NULL: "") into a field of
 * `cap` bytes; JPKI_ERR_RANGE naming `what` when it does not fit or holds a
 * NUL byte. */
JPKI_MUST_CHECK int store_copy_text(char *dst, size_t cap, const void *src,
				    size_t len, const char *what,
				    jpki_err *err);

#endif
