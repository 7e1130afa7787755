/* The SQLite backend: one connection per handle, WAL, foreign keys on,
 * write transactions BEGIN IMMEDIATE (so two handles never deadlock upgrading
 * a read lock), every statement prepared once per handle and reused.
 *
 * The DML is the same in PostgreSQL except for placeholders ("?1" becomes
 * "$1") and the "for update" reads, which add FOR UPDATE there. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "openjpki/textfold.h"
#include "openjpki/util.h"
#include "rowmap.h"
#include "store_impl.h"

#ifndef SQLITE_OPEN_EXRESCODE /* before 3.37: set by a call instead */
#define SQLITE_OPEN_EXRESCODE 0
#endif

static void sql_fold(sqlite3_context *cx, int argc, sqlite3_value **argv);

#define DEFAULT_BUSY_MS 5000
#define MAX_BUSY_MS 600000

enum stmt_id {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_META_GET,
	ST_META_SET,
	ST_MUNI_PUT,
	ST_MUNI_GET,
	ST_MUNI_EACH,
	ST_RES_ADD,
	ST_RES_UPDATE,
	ST_RES_GET,
	ST_RES_GET_EXT,
	ST_RES_SEARCH,
	ST_CARD_PUT,
	ST_CARD_GET,
	ST_CERT_PUT,
	ST_CERT_GET,
	ST_CERT_STATE,
	ST_CERT_REVOKE,
	ST_CERT_BY_RES,
	ST_CERT_REVOKED_ALL,
	ST_CERT_REVOKED_MUNI,
	ST_CRL_ROWS_ALL,
	ST_CRL_ROWS_MUNI,
	ST_CERT_EXPIRING,
	ST_AUDIT_HEAD,
	ST_AUDIT_ADD,
	ST_AUDIT_EACH,
	ST_APP_ADD,
	ST_APP_UPDATE,
	ST_APP_GET,
	ST_APP_LIST,
	ST_DOC_ADD,
	ST_DOC_EACH,
	ST_EVENT_ADD,
	ST_EVENT_EACH,
	ST_NOTICE_ADD,
	ST_NOTICE_GET,
	ST_RES_FIND,   /* H3 */
	ST_APP_FIND,   /* H3 */
	ST_OFFICE_GET, /* H3 */
	ST_OFFICE_SET, /* H3 */
	ST_TOKEN_PUT,
	ST_TOKEN_GET,
	ST_TOKEN_TOUCH,
	ST_TOKEN_DEL_ID,
	ST_TOKEN_DEL,
	ST_TOKEN_COUNT,
	ST_COUNT
};

#define RES_COLS                                                               \
	"id, ext_id, name, kana, address, birth, sex, muni_code, adult_ward, " \
	"status, updated_at, my_number"
#define CERT_COLS                                                              \
	"serial, kind, resident_id, card_serial, muni_code, subject, "         \
	"not_before, not_after, status, reason, revoked_at, gen"
#define CRL_ROW_COLS "serial, reason, revoked_at, gen"
#define AUDIT_COLS "seq, at, actor, action, detail, prev_hash, hash"
#define APP_COLS                                                               \
	"id, resident_id, kind, state, applicant, agent_name, certs, pins, "   \
	"card_serial, new_card_serial, inquiry_sent, inquiry_answered, note, " \
	"opened_at, updated_at"
#define DOC_COLS "app_id, seq, role, type, number, expiry, added_at"
#define EVENT_COLS "app_id, seq, at, actor, event, from_state, to_state, detail"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE", /* PG: BEGIN */
    /* deferred: the first read starts the snapshot; PG: BEGIN READ ONLY
     * ISOLATION LEVEL REPEATABLE READ */
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [ST_MUNI_PUT] = "INSERT INTO municipalities"
		    " (code, pref_roman, city_roman, pref, city)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)"
		    " ON CONFLICT (code) DO UPDATE SET"
		    " pref_roman = excluded.pref_roman,"
		    " city_roman = excluded.city_roman,"
		    " pref = excluded.pref, city = excluded.city",
    [ST_MUNI_GET] = "SELECT code, pref_roman, city_roman, pref, city"
		    " FROM municipalities WHERE code = ?1",
    [ST_MUNI_EACH] = "SELECT code, pref_roman, city_roman, pref, city"
		     " FROM municipalities ORDER BY code",
    [ST_RES_ADD] = "INSERT INTO residents (ext_id, name, kana, address,"
		   " birth, sex, muni_code, adult_ward, status, updated_at,"
		   " my_number, name_key, address_key)"
		   " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		   " ?13, ?14) RETURNING id",
    [ST_RES_UPDATE] = "UPDATE residents SET ext_id = ?2, name = ?3,"
		      " kana = ?4, address = ?5, birth = ?6, sex = ?7,"
		      " muni_code = ?8, adult_ward = ?9, status = ?10,"
		      " updated_at = ?11, my_number = ?12, name_key = ?13,"
		      " address_key = ?14 WHERE id = ?1",
    [ST_RES_GET] = "SELECT " RES_COLS " FROM residents WHERE id = ?1",
    [ST_RES_GET_EXT] = "SELECT " RES_COLS " FROM residents WHERE ext_id = ?1",
    /* Substring match; PG: strpos() instead of instr(). */
    [ST_RES_SEARCH] = "SELECT " RES_COLS " FROM residents"
		      " WHERE ?1 = '' OR instr(name, ?1) > 0"
		      " OR instr(kana, ?1) > 0 OR instr(ext_id, ?1) > 0"
		      " ORDER BY id LIMIT ?2",
    [ST_CARD_PUT] = "INSERT INTO cards"
		    " (serial, resident_id, issued, expiry, status)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)"
		    " ON CONFLICT (serial) DO UPDATE SET"
		    " resident_id = excluded.resident_id,"
		    " issued = excluded.issued, expiry = excluded.expiry,"
		    " status = excluded.status",
    [ST_CARD_GET] = "SELECT serial, resident_id, issued, expiry, status"
		    " FROM cards WHERE serial = ?1",
    [ST_CERT_PUT] = "INSERT INTO certificates (" CERT_COLS ", der)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		    " ?11, ?12, ?13)",
    [ST_CERT_GET] = "SELECT " CERT_COLS ", der"
		    " FROM certificates WHERE serial = ?1",
    [ST_CERT_STATE] = "SELECT status, reason, revoked_at"
		      " FROM certificates WHERE serial = ?1",
    [ST_CERT_REVOKE] = "UPDATE certificates SET status = 1, reason = ?2,"
		       " revoked_at = ?3 WHERE serial = ?1",
    [ST_CERT_BY_RES] = "SELECT " CERT_COLS " FROM certificates"
		       " WHERE resident_id = ?1"
		       " ORDER BY not_before DESC, serial DESC",
    [ST_CERT_REVOKED_ALL] = "SELECT " CERT_COLS " FROM certificates"
			    " WHERE kind = ?1 AND status = 1"
			    " AND not_after >= ?2"
			    " ORDER BY length(serial), serial",
    [ST_CERT_REVOKED_MUNI] = "SELECT " CERT_COLS " FROM certificates"
			     " WHERE kind = ?1 AND muni_code = ?3"
			     " AND status = 1 AND not_after >= ?2"
			     " ORDER BY length(serial), serial",
    /* the revoked indexes cover these (migration 8) */
    [ST_CRL_ROWS_ALL] = "SELECT " CRL_ROW_COLS " FROM certificates"
			" WHERE kind = ?1 AND status = 1"
			" AND not_after >= ?2"
			" ORDER BY length(serial), serial",
    [ST_CRL_ROWS_MUNI] = "SELECT " CRL_ROW_COLS " FROM certificates"
			 " WHERE kind = ?1 AND muni_code = ?3"
			 " AND status = 1 AND not_after >= ?2"
			 " ORDER BY length(serial), serial",
    [ST_CERT_EXPIRING] = "SELECT " CERT_COLS " FROM certificates"
			 " WHERE status = 0"
			 " AND not_after BETWEEN ?1 AND ?2"
			 " ORDER BY not_after, serial",
    [ST_AUDIT_HEAD] = "SELECT seq, hash FROM audit"
		      " ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_ADD] = "INSERT INTO audit (" AUDIT_COLS ")"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_AUDIT_EACH] = "SELECT " AUDIT_COLS " FROM audit ORDER BY seq",
    [ST_APP_ADD] = "INSERT INTO applications (resident_id, kind, state,"
		   " applicant, agent_name, certs, pins, card_serial,"
		   " new_card_serial, inquiry_sent, inquiry_answered, note,"
		   " opened_at, updated_at)"
		   " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		   " ?13, ?14, ?15) RETURNING id",
    [ST_APP_UPDATE] = "UPDATE applications SET resident_id = ?2,"
		      " kind = ?3, state = ?4, applicant = ?5,"
		      " agent_name = ?6, certs = ?7, pins = ?8,"
		      " card_serial = ?9, new_card_serial = ?10,"
		      " inquiry_sent = ?11, inquiry_answered = ?12,"
		      " note = ?13, opened_at = ?14, updated_at = ?15"
		      " WHERE id = ?1",
    [ST_APP_GET] = "SELECT " APP_COLS " FROM applications WHERE id = ?1",
    [ST_APP_LIST] = "SELECT " APP_COLS " FROM applications"
		    " WHERE (?1 = 0 OR resident_id = ?1)"
		    " AND (?2 = 0 OR state < 7) ORDER BY id DESC LIMIT ?3",
    [ST_DOC_ADD] = "INSERT INTO application_documents (" DOC_COLS ")"
		   " VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1"
		   " FROM application_documents WHERE app_id = ?1),"
		   " ?2, ?3, ?4, ?5, ?6) RETURNING seq",
    [ST_DOC_EACH] = "SELECT " DOC_COLS " FROM application_documents"
		    " WHERE app_id = ?1 ORDER BY seq",
    [ST_EVENT_ADD] = "INSERT INTO application_events (" EVENT_COLS ")"
		     " VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1"
		     " FROM application_events WHERE app_id = ?1),"
		     " ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
    [ST_EVENT_EACH] = "SELECT " EVENT_COLS " FROM application_events"
		      " WHERE app_id = ?1 ORDER BY seq",
    [ST_NOTICE_ADD] = "INSERT INTO notices"
		      " (cert_serial, resident_id, expiry, batch, sent_at)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_NOTICE_GET] = "SELECT cert_serial, resident_id, expiry, batch,"
		      " sent_at FROM notices WHERE cert_serial = ?1",
    /* H3: one bounded query over the search keys (migration 6); PG:
     * strpos() instead of instr(). */
    [ST_RES_FIND] = "SELECT " RES_COLS " FROM residents"
		    " WHERE (?1 = '' AND ?2 = '' AND ?3 = '')"
		    " OR (?1 <> '' AND birth = ?1)"
		    " OR (?2 <> '' AND (instr(name_key, ?2) > 0"
		    " OR instr(address_key, ?2) > 0))"
		    " OR (?3 <> '' AND (instr(lower(ext_id), ?3) > 0"
		    " OR my_number = ?3))"
		    " ORDER BY id LIMIT ?4",
    /* H3: the application list with the residents' names */
    [ST_APP_FIND] = "SELECT " APP_COLS ","
		    " (SELECT r.name FROM residents r"
		    "  WHERE r.id = applications.resident_id),"
		    " (SELECT r.kana FROM residents r"
		    "  WHERE r.id = applications.resident_id)"
		    " FROM applications"
		    " WHERE (?1 = 0 OR resident_id = ?1)"
		    " AND state BETWEEN ?2 AND ?3"
		    " AND (?4 = 0 OR opened_at >= ?4)"
		    " AND (?5 = 0 OR opened_at <= ?5)"
		    " ORDER BY id DESC LIMIT ?6",
    [ST_OFFICE_GET] = "SELECT office_name, office_address, office_phone,"
		      " office_hours FROM municipalities WHERE code = ?1",
    [ST_OFFICE_SET] = "UPDATE municipalities SET office_name = ?2,"
		      " office_address = ?3, office_phone = ?4,"
		      " office_hours = ?5 WHERE code = ?1",
    [ST_TOKEN_PUT] = "INSERT INTO tokens (id, kind, owner, operator, role,"
		     " gen, expires, last, extra, data)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_TOKEN_GET] = "SELECT id, kind, owner, operator, role, gen, expires,"
		     " last, extra, data FROM tokens WHERE id = ?1",
    [ST_TOKEN_TOUCH] = "UPDATE tokens SET last = ?2 WHERE id = ?1"
		       " AND (?3 < 0 OR last = ?3)",
    [ST_TOKEN_DEL_ID] = "DELETE FROM tokens WHERE id = ?1",
    [ST_TOKEN_DEL] = "DELETE FROM tokens"
		     " WHERE (?1 = 0 OR kind = ?1) AND (?2 IS NULL OR id = ?2)"
		     " AND (?3 IS NULL OR owner = ?3)"
		     " AND (?4 IS NULL OR operator = ?4)"
		     " AND (?5 IS NULL OR id <> ?5) AND (?6 = 0 OR gen < ?6)"
		     " AND (?7 = 0 OR expires <= ?7)"
		     " AND (?8 = 0 OR expires > ?8)",
    [ST_TOKEN_COUNT] =
	"SELECT count(*), coalesce(min(expires), 0)"
	" FROM tokens"
	" WHERE (?1 = 0 OR kind = ?1) AND (?2 IS NULL OR id = ?2)"
	" AND (?3 IS NULL OR owner = ?3)"
	" AND (?4 IS NULL OR operator = ?4)"
	" AND (?5 IS NULL OR id <> ?5) AND (?6 = 0 OR gen < ?6)"
	" AND (?7 = 0 OR expires <= ?7)"
	" AND (?8 = 0 OR expires > ?8)",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT]; /* prepared on first use */
	char *path;
	int busy_ms;
	struct timespec busy_since;
};

/* Busy handler: wait for another writer in short steps.  SQLite's own
 * sqlite3_busy_timeout() sleeps 1, 2, 5 ... up to 100 ms at a time, far
 * longer than a write transaction of ours lasts (well under a
 * millisecond), which made threads issuing in parallel idle instead of
 * signing.  20 us steps at first, then 200 us, up to busy_ms in all. */
static int busy_wait(void *arg, int count)
{
	struct sq *q = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		q->busy_since = now;
	long long ms = (long long)(now.tv_sec - q->busy_since.tv_sec) * 1000 +
		       (now.tv_nsec - q->busy_since.tv_nsec) / 1000000;
	if (ms >= q->busy_ms)
		return 0;
	struct timespec d = {0, count < 50 ? 20000 : 200000};
	nanosleep(&d, NULL);
	return 1;
}

/* ---- errors and statements ---------------------------------------------- */

static int code_of(int rc)
{
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    rc == SQLITE_CONSTRAINT_UNIQUE)
		return JPKI_ERR_CONFLICT;
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return JPKI_ERR_INTEGRITY; /* damaged: not busy */
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return JPKI_ERR_CONFLICT;
	case SQLITE_NOMEM: return JPKI_ERR_NOMEM;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY: return JPKI_ERR_IO;
	default: return JPKI_ERR_STORE;
	}
}

/* "<what>: <SQLite's message>" with the code mapped from rc. */
static int db_fail(struct sq *q, int rc, jpki_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int db_fail(struct sq *q, int rc, jpki_err *err, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *msg = q->db != NULL && sqlite3_errcode(q->db) == rc
			      ? sqlite3_errmsg(q->db)
			      : sqlite3_errstr(rc);
	return jpki_fail(err, code_of(rc), "%s: %s", what, msg);
}

/* The cached statement, or a fresh one while the cached one is iterating
 * (a callback that reads through the same handle). */
static int stmt_get(struct sq *q, enum stmt_id id, sqlite3_stmt **out,
		    jpki_err *err)
{
	sqlite3_stmt *st = q->st[id], *fresh = NULL;
	if (st != NULL && !sqlite3_stmt_busy(st)) {
		*out = st;
		return 0;
	}
	int rc = sqlite3_prepare_v3(q->db, stmt_sql[id], -1,
				    st == NULL ? SQLITE_PREPARE_PERSISTENT : 0,
				    &fresh, NULL);
	if (rc != SQLITE_OK)
		return db_fail(q, rc, err, "preparing a statement");
	if (st == NULL)
		q->st[id] = fresh;
	*out = fresh;
	return 0;
}

static void stmt_put(struct sq *q, enum stmt_id id, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	if (st != q->st[id]) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Bind fields [from, from + n) of rec (map m) to the parameters param,
 * param + 1, ...  Text in rec is bound in place: rec outlives the step. */
static int bind_fields(sqlite3_stmt *st, const struct rm_map *m, int from,
		       int n, const void *rec, int param)
{
	for (int i = 0; i < n; i++) {
		struct rm_value v;
		int rc;
		rm_get(&m->f[from + i], rec, &v);
		if (v.kind == RMV_NULL)
			rc = sqlite3_bind_null(st, param + i);
		else if (v.kind == RMV_INT)
			rc = sqlite3_bind_int64(st, param + i, v.i);
		else
			rc = sqlite3_bind_text(st, param + i, v.s, (int)v.len,
					       v.s == v.buf ? SQLITE_TRANSIENT
							    : SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int bind_rec(sqlite3_stmt *st, const struct rm_map *m, const void *rec,
		    int param)
{
	return bind_fields(st, m, 0, m->n, rec, param);
}

/* Columns col, col + 1, ... into the fields of rec (map m). */
static int read_rec(sqlite3_stmt *st, const struct rm_map *m, int col,
		    void *rec, jpki_err *err)
{
	for (int i = 0; i < m->n; i++) {
		struct rm_value v = {.kind = RMV_NULL};
		int c = col + i, rc;
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_NULL: break;
		case SQLITE_INTEGER:
			v.kind = RMV_INT;
			v.i = sqlite3_column_int64(st, c);
			break;
		default:
			v.kind = RMV_TEXT;
			v.s = (const char *)sqlite3_column_text(st, c);
			if (v.s == NULL)
				return jpki_fail(err, JPKI_ERR_NOMEM,
						 "out of memory");
			v.len = (size_t)sqlite3_column_bytes(st, c);
			break;
		}
		if ((rc = rm_set(&m->f[i], rec, &v, err)) != 0)
			return rc;
	}
	return 0;
}

/* Run a statement that returns no rows. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* 1 if `sql` (one placeholder: txt, or num when txt is NULL) has a row. */
static int has_row(struct sq *q, const char *sql, const char *txt, int64_t num)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (txt != NULL ? bind_text(st, 1, txt)
			 : sqlite3_bind_int64(st, 1, num)) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* ---- open, close, transactions ------------------------------------------ */

static int parse_opts(const char *opts, int *sync, int *busy_ms, jpki_err *err)
{
	while (opts != NULL && *opts != '\0') {
		const char *end = strchr(opts, '&');
		size_t len = end != NULL ? (size_t)(end - opts) : strlen(opts);
		const char *eq = memchr(opts, '=', len);
		size_t klen = eq != NULL ? (size_t)(eq - opts) : len;
		const char *v = eq != NULL ? eq + 1 : "";
		size_t vlen = eq != NULL ? len - klen - 1 : 0;
		if (klen == 4 && memcmp(opts, "sync", 4) == 0) {
			if (vlen == 4 && memcmp(v, "full", 4) == 0)
				*sync = 2;
			else if (vlen == 6 && memcmp(v, "normal", 6) == 0)
				*sync = 1;
			else if (vlen == 5 && memcmp(v, "extra", 5) == 0)
				*sync = 3;
			else
				return jpki_fail(err, JPKI_ERR_INVAL,
						 "store option sync=%.*s: use "
						 "full, normal or extra",
						 (int)(vlen > 32 ? 32 : vlen),
						 v);
		} else if (klen == 12 &&
			   memcmp(opts, "busy_timeout", 12) == 0) {
			long ms = 0;
			size_t i = 0;
			for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
				if ((ms = ms * 10 + (v[i] - '0')) > MAX_BUSY_MS)
					break;
			if (vlen == 0 || i != vlen || ms > MAX_BUSY_MS)
				return jpki_fail(err, JPKI_ERR_INVAL,
						 "store option busy_timeout "
						 "must be 0..%d milliseconds",
						 MAX_BUSY_MS);
			*busy_ms = (int)ms;
		} else {
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "unknown store option \"%.*s\"",
					 (int)(klen > 32 ? 32 : klen), opts);
		}
		opts = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

/* Create a missing database file as 0600 before SQLite opens it: SQLite
 * would create it 0644 (less the umask), and gives the -wal and -shm files
 * the database file's mode. */
static int create_file(const char *path, jpki_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd >= 0) {
		int rc = fchmod(fd, 0600) == 0 ? 0 : errno;
		close(fd);
		if (rc != 0)
			return jpki_fail(err, JPKI_ERR_IO,
					 "cannot set mode of store %s: %s",
					 path, strerror(rc));
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return jpki_fail(err, JPKI_ERR_IO, "cannot create store %s: %s", path,
			 strerror(errno));
}

/* PRAGMA quick_check (O(n), no index cross-check) or integrity_check:
 * "ok", or the first problems, which go into the message. */
static int sq_check(void *impl, bool full, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char first[160] = "";
	int n = 0, rc;
	rc = sqlite3_prepare_v2(q->db,
				full ? "PRAGMA integrity_check(20)"
				     : "PRAGMA quick_check(20)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return jpki_fail(err, code_of(rc), "%s cannot be checked: %s",
				 q->path, sqlite3_errmsg(q->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t == NULL || strcmp(t, "ok") == 0)
			continue;
		/* past the "*** in database main ***" heading */
		if (strncmp(t, "***", 3) == 0 && strchr(t, '\n') != NULL)
			t = strchr(t, '\n') + 1;
		if (n++ == 0)
			jpki_strlcpy_cut(first, t, sizeof(first)); /* message */
		for (char *c = first; *c; c++)
			if (*c == '\n')
				*c = ' ';
	}
	int done = rc;
	sqlite3_finalize(st);
	if (done != SQLITE_DONE)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is damaged (the check itself failed: %s)",
				 q->path, sqlite3_errstr(done));
	if (n > 0)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is damaged: %d problem%s, first: %s",
				 q->path, n, n == 1 ? "" : "s", first);
	return 0;
}

static void sq_close(void *impl)
{
	struct sq *q = impl;
	if (q == NULL)
		return;
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close_v2(q->db);
	free(q->path);
	free(q);
}

static int pragma(struct sq *q, const char *sql, const char *want,
		  jpki_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_NOTADB)
			rc = jpki_fail(err, JPKI_ERR_STORE,
				       "%s is not an SQLite database", q->path);
		else
			rc = db_fail(q, rc, err, "opening store %s", q->path);
		goto out;
	}
	const char *got = (const char *)sqlite3_column_text(st, 0);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		rc = jpki_fail(err, JPKI_ERR_STORE,
			       "store %s: \"%s\" gave \"%s\", not \"%s\"",
			       q->path, sql, got != NULL ? got : "", want);
out:
	sqlite3_finalize(st);
	return rc;
}

static int sq_open(const char *path, const char *opts, void **impl,
		   jpki_err *err)
{
	static const char *const sync_sql[] = {
	    NULL, "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL",
	    "PRAGMA synchronous = EXTRA"};
	struct sq *q = NULL;
	int sync = 2, busy_ms = DEFAULT_BUSY_MS, fk = 0, rc;

	if ((rc = parse_opts(opts, &sync, &busy_ms, err)) != 0 ||
	    (rc = create_file(path, err)) != 0)
		return rc;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->path = strdup(path)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* No SQLITE_OPEN_CREATE: create_file() made it.  A handle serves one
	 * thread at a time, so SQLite's own mutex is not needed. */
	rc = sqlite3_open_v2(path, &q->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				 SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(q, rc, err, "cannot open store %s", path);
		goto out;
	}
	sqlite3_extended_result_codes(q->db, 1);
	q->busy_ms = busy_ms;
	sqlite3_busy_handler(q->db, busy_wait, q);
	/* Refuse schema tricks from a planted database file. */
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, &fk);
	if (fk != 1) {
		rc = jpki_fail(err, JPKI_ERR_STORE,
			       "store %s: SQLite has no foreign keys", path);
		goto out;
	}
	/* A larger page cache and a checkpoint every 8192 pages (32 MiB of
	 * WAL) instead of 1000: pages that every issuance touches (indexes,
	 * the audit tail) are copied to the database once per checkpoint, so
	 * rarer checkpoints cost less CPU per certificate. */
	if ((rc = pragma(q, "PRAGMA journal_mode = WAL", "wal", err)) != 0 ||
	    (rc = pragma(q, sync_sql[sync], NULL, err)) != 0 ||
	    (rc = pragma(q, "PRAGMA cache_size = -16384", NULL, err)) != 0 ||
	    (rc = pragma(q, "PRAGMA wal_autocheckpoint = 8192", NULL, err)) !=
		0)
		goto out;
	if ((rc = sqlite3_create_function(
		 q->db, "jpki_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
		 NULL, sql_fold, NULL, NULL)) != SQLITE_OK) {
		rc = db_fail(q, rc, err, "store %s: registering jpki_fold",
			     path);
		goto out;
	}
	*impl = q;
	q = NULL; /* transferred */
out:
	sq_close(q);
	return rc;
}

static int run(struct sq *q, enum stmt_id id, const char *what, jpki_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, id, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = step_done(st)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "%s", what);
	stmt_put(q, id, st);
	return rc;
}

static int sq_begin(void *impl, jpki_err *err)
{
	return run(impl, ST_BEGIN, "starting a store transaction", err);
}

static int sq_commit(void *impl, jpki_err *err)
{
	return run(impl, ST_COMMIT, "committing to the store", err);
}

static void sq_rollback(void *impl)
{
	struct sq *q = impl;
	if (!sqlite3_get_autocommit(q->db))
		(void)run(q, ST_ROLLBACK, "rolling back", NULL);
}

static int sq_read_begin(void *impl, jpki_err *err)
{
	return run(impl, ST_BEGIN_READ, "starting a read snapshot", err);
}

static void sq_read_end(void *impl)
{
	/* nothing was written: ending it cannot lose anything */
	sq_rollback(impl);
}

static int sq_exec(void *impl, const char *sql, jpki_err *err)
{
	struct sq *q = impl;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(q, rc, err, "store %s", q->path);
	return 0;
}

static int sq_schema_current(void *impl, int *version, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = sq_exec(q,
			 "CREATE TABLE IF NOT EXISTS schema_version ("
			 " version INTEGER PRIMARY KEY,"
			 " name TEXT NOT NULL)",
			 err);
	if (rc != 0)
		return rc;
	rc = sqlite3_prepare_v2(q->db,
				"SELECT COALESCE(MAX(version), 0)"
				" FROM schema_version",
				-1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		if (v < 0 || v > INT_MAX)
			rc = jpki_fail(err, JPKI_ERR_SCHEMA,
				       "store %s: schema version %lld is not "
				       "valid",
				       q->path, (long long)v);
		else
			*version = (int)v;
		if (rc == SQLITE_ROW)
			rc = 0;
	} else {
		rc = db_fail(q, rc, err, "reading schema version of %s",
			     q->path);
	}
	sqlite3_finalize(st);
	return rc;
}

static int sq_schema_record(void *impl, int version, const char *name,
			    jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db,
				    "INSERT INTO schema_version (version, name)"
				    " VALUES (?1, ?2)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 1, version)) == SQLITE_OK &&
	    (rc = bind_text(st, 2, name)) == SQLITE_OK)
		rc = step_done(st);
	if (rc != SQLITE_OK)
		rc =
		    db_fail(q, rc, err, "recording schema version %d", version);
	sqlite3_finalize(st);
	return rc;
}

/* ---- meta --------------------------------------------------------------- */

static int sq_meta_get(void *impl, const char *key, char *val, size_t cap,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_META_GET, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "setting %s is not set", key);
		else
			rc = db_fail(q, rc, err, "reading setting %s", key);
		goto out;
	}
	const unsigned char *p = sqlite3_column_text(st, 0);
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	if (n >= cap) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "setting %s is %zu bytes; the buffer holds %zu",
			       key, n, cap - 1);
		goto out;
	}
	rc = store_copy_text(val, cap, p, n, "setting", err);
out:
	stmt_put(q, ST_META_GET, st);
	return rc;
}

static int sq_meta_set(void *impl, const char *key, const char *val,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_META_SET, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, val)) != SQLITE_OK ||
	    (rc = step_done(st)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing setting %s", key);
	stmt_put(q, ST_META_SET, st);
	return rc;
}

/* ---- generic row operations --------------------------------------------- */

/* Run a bound statement that returns no rows; `bound` is the binding's
 * result.  *changes: rows changed (NULL: not wanted). */
static int write_row(struct sq *q, enum stmt_id id, sqlite3_stmt *st, int bound,
		     int *changes)
{
	int rc = bound;
	if (rc == SQLITE_OK)
		rc = step_done(st);
	if (rc == SQLITE_OK && changes != NULL)
		*changes = sqlite3_changes(q->db);
	stmt_put(q, id, st);
	return rc;
}

/* One row of a bound statement into *out (map m, struct of `size` bytes,
 * from column 0); JPKI_ERR_NOT_FOUND "<noun> <key> not found" when none. */
static int get_row(struct sq *q, enum stmt_id id, sqlite3_stmt *st, int bound,
		   const struct rm_map *m, void *out, size_t size,
		   const char *noun, const char *key, jpki_err *err)
{
	unsigned char rec[sizeof(store_resident) + sizeof(store_app)];
	int rc = bound;
	if (size > sizeof(rec))
		rc = SQLITE_MISUSE;
	if (rc != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "%s %s not found", noun, key);
		else
			rc = db_fail(q, rc, err, "reading %s %s", noun, key);
		goto out;
	}
	memset(rec, 0, size);
	if ((rc = read_rec(st, m, 0, rec, err)) != 0)
		jpki_wrap(err, rc, "%s %s", noun, key);
	else
		memcpy(out, rec, size);
out:
	stmt_put(q, id, st);
	return rc;
}

/* Every row of a bound statement through fn (map m); `what` names the
 * listing in errors.  wrap_id: wrap a row's error with "<m->name> <id>". */
typedef int (*row_fn)(void *ctx, const void *rec);
static int each_row(struct sq *q, enum stmt_id id, sqlite3_stmt *st, int bound,
		    const struct rm_map *m, size_t size, bool wrap_id,
		    row_fn fn, void *ctx, const char *what, jpki_err *err)
{
	unsigned char rec[sizeof(store_resident) + sizeof(store_app)];
	int rc = 0, s = bound;
	if (size > sizeof(rec))
		s = SQLITE_MISUSE;
	if (s == SQLITE_OK) {
		while ((s = sqlite3_step(st)) == SQLITE_ROW) {
			memset(rec, 0, size);
			if ((rc = read_rec(st, m, 0, rec, err)) != 0) {
				if (wrap_id) {
					int64_t key;
					memcpy(&key, rec + m->f[0].off,
					       sizeof(key));
					jpki_wrap(err, rc, "%s %lld", m->name,
						  (long long)key);
				}
				goto out;
			}
			if ((rc = fn(ctx, rec)) != 0)
				goto out;
		}
	}
	if (s != SQLITE_DONE)
		rc = db_fail(q, s, err, "%s", what);
out:
	stmt_put(q, id, st);
	return rc;
}

/* ---- municipalities ----------------------------------------------------- */

static int sq_muni_put(void *impl, const store_muni *m, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_MUNI_PUT, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = write_row(q, ST_MUNI_PUT, st, bind_rec(st, &rm_muni, m, 1),
			    NULL)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing municipality %s", m->code);
	return rc;
}

static int sq_muni_get(void *impl, const char *code, store_muni *out,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_MUNI_GET, &st, err);
	if (rc != 0)
		return rc;
	return get_row(q, ST_MUNI_GET, st, bind_text(st, 1, code), &rm_muni,
		       out, sizeof(*out), "municipality", code, err);
}

static int sq_muni_each(void *impl, store_muni_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_MUNI_EACH, &st, err);
	if (rc != 0)
		return rc;
	return each_row(q, ST_MUNI_EACH, st, SQLITE_OK, &rm_muni,
			sizeof(store_muni), false, (row_fn)fn, ctx,
			"listing municipalities", err);
}

/* ---- residents ---------------------------------------------------------- */

/* H3: the search keys of a resident row (textfold.h): name and kana
 * folded, separated by a tab (a folded query has none, so no match spans
 * the two), and the folded address.  Folding never lengthens. */
struct res_keys {
	char name[2 * sizeof(((store_resident *)0)->name) + 2];
	char address[sizeof(((store_resident *)0)->address)];
};

static int resident_keys(const store_resident *r, struct res_keys *k)
{
	size_t n;
	if (jpki_text_fold(r->name, k->name, sizeof(k->name), NULL) != 0)
		return SQLITE_MISUSE;
	n = strlen(k->name);
	k->name[n++] = '\t';
	if (jpki_text_fold(r->kana, k->name + n, sizeof(k->name) - n, NULL) !=
		0 ||
	    jpki_text_fold(r->address, k->address, sizeof(k->address), NULL) !=
		0)
		return SQLITE_MISUSE;
	return SQLITE_OK;
}

/* jpki_fold(TEXT): the search key of a text, for migration 6 to fill the
 * keys of the rows it finds. */
static void sql_fold(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const char *in = (const char *)sqlite3_value_text(argv[0]);
	(void)argc;
	if (in == NULL) {
		sqlite3_result_null(cx);
		return;
	}
	size_t cap = strlen(in) + 1;
	char *out = sqlite3_malloc64(cap);
	if (out == NULL) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	if (jpki_text_fold(in, out, cap, NULL) != 0) {
		sqlite3_free(out);
		sqlite3_result_error(cx, "jpki_fold: text is not UTF-8", -1);
		return;
	}
	sqlite3_result_text(cx, out, -1, sqlite3_free);
}

/* Parameters 2..12 are the fields after id, 13 and 14 the search keys. */
static int bind_resident(sqlite3_stmt *st, const store_resident *r)
{
	struct res_keys k;
	int rc;
	if ((rc = resident_keys(r, &k)) != SQLITE_OK ||
	    (rc = bind_fields(st, &rm_resident, 1, rm_resident.n - 1, r, 2)) !=
		SQLITE_OK ||
	    /* the keys live on this frame: SQLite copies them */
	    (rc = sqlite3_bind_text(st, 13, k.name, -1, SQLITE_TRANSIENT)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 14, k.address, -1, SQLITE_TRANSIENT)) !=
		SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

/* Constraint failures of a resident write, named. */
static int resident_fail(struct sq *q, int rc, const store_resident *r,
			 jpki_err *err)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "a resident with ext_id %s already exists",
				 r->ext_id);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "resident %s: municipality %s not found",
				 r->ext_id, r->muni_code);
	return db_fail(q, rc, err, "writing resident %s", r->ext_id);
}

/* Run a bound INSERT ... RETURNING of one integer into *v. */
static int insert_returning(sqlite3_stmt *st, int bound, int64_t *v)
{
	int rc = bound;
	if (rc != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW)
		return rc;
	int64_t got = sqlite3_column_int64(st, 0);
	if ((rc = step_done(st)) != SQLITE_OK)
		return rc;
	*v = got;
	return SQLITE_OK;
}

static int sq_resident_add(void *impl, const store_resident *r, int64_t *id,
			   jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_RES_ADD, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = insert_returning(st, bind_resident(st, r), id)) != SQLITE_OK)
		rc = resident_fail(q, rc, r, err);
	stmt_put(q, ST_RES_ADD, st);
	return rc;
}

static int sq_resident_update(void *impl, const store_resident *r,
			      jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int changes = 0, b;
	int rc = stmt_get(q, ST_RES_UPDATE, &st, err);
	if (rc != 0)
		return rc;
	if ((b = sqlite3_bind_int64(st, 1, r->id)) == SQLITE_OK)
		b = bind_resident(st, r);
	if ((rc = write_row(q, ST_RES_UPDATE, st, b, &changes)) != SQLITE_OK)
		rc = resident_fail(q, rc, r, err);
	else if (changes == 0)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "resident %lld not found", (long long)r->id);
	return rc;
}

static int sq_resident_get(void *impl, int64_t id, store_resident *out,
			   jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char key[24];
	int rc = stmt_get(q, ST_RES_GET, &st, err);
	if (rc != 0)
		return rc;
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return get_row(q, ST_RES_GET, st, sqlite3_bind_int64(st, 1, id),
		       &rm_resident, out, sizeof(*out), "resident", key, err);
}

static int sq_resident_get_ext(void *impl, const char *ext_id,
			       store_resident *out, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char key[48];
	int rc = stmt_get(q, ST_RES_GET_EXT, &st, err);
	if (rc != 0)
		return rc;
	snprintf(key, sizeof(key), "with ext_id %s", ext_id);
	return get_row(q, ST_RES_GET_EXT, st, bind_text(st, 1, ext_id),
		       &rm_resident, out, sizeof(*out), "resident", key, err);
}

static int sq_resident_search(void *impl, const char *q_text, int limit,
			      store_resident_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_RES_SEARCH, &st, err), b;
	if (rc != 0)
		return rc;
	if ((b = bind_text(st, 1, q_text)) == SQLITE_OK)
		b = sqlite3_bind_int(st, 2, limit);
	return each_row(q, ST_RES_SEARCH, st, b, &rm_resident,
			sizeof(store_resident), false, (row_fn)fn, ctx,
			"searching residents", err);
}

/* ---- cards -------------------------------------------------------------- */

static int sq_card_put(void *impl, const store_card *c, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_CARD_PUT, &st, err);
	if (rc != 0)
		return rc;
	rc = write_row(q, ST_CARD_PUT, st, bind_rec(st, &rm_card, c, 1), NULL);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "card %s: resident %lld not found", c->serial,
			       (long long)c->resident_id);
	else if (rc != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing card %s", c->serial);
	return rc;
}

static int sq_card_get(void *impl, const char *serial, store_card *out,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_CARD_GET, &st, err);
	if (rc != 0)
		return rc;
	return get_row(q, ST_CARD_GET, st, bind_text(st, 1, serial), &rm_card,
		       out, sizeof(*out), "card", serial, err);
}

/* ---- certificates ------------------------------------------------------- */

/* Which parent row a certificate's foreign key misses. */
static int cert_fk_fail(struct sq *q, const store_cert *c, jpki_err *err)
{
	if (c->resident_id != 0 &&
	    !has_row(q, "SELECT 1 FROM residents WHERE id = ?1", NULL,
		     c->resident_id))
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "certificate %s: resident %lld not found",
				 c->serial, (long long)c->resident_id);
	if (c->card_serial[0] != '\0' &&
	    !has_row(q, "SELECT 1 FROM cards WHERE serial = ?1", c->card_serial,
		     0))
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "certificate %s: card %s not found", c->serial,
				 c->card_serial);
	return jpki_fail(err, JPKI_ERR_NOT_FOUND,
			 "certificate %s: municipality %s not found", c->serial,
			 c->muni_code);
}

static int sq_cert_put(void *impl, const store_cert *c, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	store_cert row = *c;
	int rc = stmt_get(q, ST_CERT_PUT, &st, err), b;
	if (rc != 0)
		return rc;
	/* status 0 or 1; reason and revoked_at only when revoked */
	row.status = c->status == STORE_CERT_REVOKED ? STORE_CERT_REVOKED
						     : STORE_CERT_VALID;
	if ((b = bind_rec(st, &rm_cert, &row, 1)) == SQLITE_OK &&
	    row.status != STORE_CERT_REVOKED &&
	    (b = sqlite3_bind_null(st, 10)) == SQLITE_OK)
		b = sqlite3_bind_null(st, 11);
	if (b == SQLITE_OK)
		b = sqlite3_bind_blob(st, 13, c->der, (int)c->der_len,
				      SQLITE_STATIC);
	rc = write_row(q, ST_CERT_PUT, st, b, NULL);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = jpki_fail(err, JPKI_ERR_CONFLICT,
			       "certificate serial %s already exists",
			       c->serial);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = cert_fk_fail(q, c, err);
	else if (rc != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing certificate %s", c->serial);
	return rc;
}

static int sq_cert_get(void *impl, const char *serial, store_cert *out,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	store_cert c;
	int rc = stmt_get(q, ST_CERT_GET, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = bind_text(st, 1, serial)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "certificate %s not found", serial);
		else
			rc = db_fail(q, rc, err, "reading certificate %s",
				     serial);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	if ((rc = read_rec(st, &rm_cert, 0, &c, err)) != 0)
		goto out;
	const void *der = sqlite3_column_blob(st, rm_cert.n);
	size_t len = (size_t)sqlite3_column_bytes(st, rm_cert.n);
	if (der == NULL || len == 0 || len > STORE_DER_MAX) {
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "stored DER of certificate %s is %zu bytes",
			       serial, len);
		goto out;
	}
	if ((c.der = malloc(len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(c.der, der, len);
	c.der_len = len;
	*out = c; /* der transferred */
out:
	stmt_put(q, ST_CERT_GET, st);
	return rc;
}

static int sq_cert_state(void *impl, const char *serial,
			 store_cert_status *status, int *reason,
			 time_t *revoked_at, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	struct rm_cert_state s;
	int rc = stmt_get(q, ST_CERT_STATE, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = get_row(q, ST_CERT_STATE, st, bind_text(st, 1, serial),
			  &rm_cert_state, &s, sizeof(s), "certificate", serial,
			  err)) != 0)
		return rc;
	*status = s.status;
	*reason = s.reason;
	*revoked_at = s.revoked_at;
	return 0;
}

static int sq_cert_set_revoked(void *impl, const char *serial, int reason,
			       time_t at, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_CERT_REVOKE, &st, err), b, changes = 0;
	if (rc != 0)
		return rc;
	if ((b = bind_text(st, 1, serial)) == SQLITE_OK &&
	    (b = sqlite3_bind_int(st, 2, reason)) == SQLITE_OK)
		b = sqlite3_bind_int64(st, 3, (sqlite3_int64)at);
	if ((rc = write_row(q, ST_CERT_REVOKE, st, b, &changes)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "revoking certificate %s", serial);
	else if (changes == 0)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "certificate %s not found", serial);
	return rc;
}

static int cert_list(struct sq *q, enum stmt_id id, sqlite3_stmt *st, int bound,
		     store_cert_fn fn, void *ctx, jpki_err *err)
{
	return each_row(q, id, st, bound, &rm_cert, sizeof(store_cert), false,
			(row_fn)fn, ctx, "listing certificates", err);
}

static int sq_cert_by_resident(void *impl, int64_t resident_id,
			       store_cert_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_CERT_BY_RES, &st, err);
	if (rc != 0)
		return rc;
	return cert_list(q, ST_CERT_BY_RES, st,
			 sqlite3_bind_int64(st, 1, resident_id), fn, ctx, err);
}

/* The parameters of both revoked-row statements (kind, notAfter floor,
 * and the municipality when there is one): an SQLite result code. */
static int bind_revoked(sqlite3_stmt *st, int kind, time_t not_after_from,
			const char *muni_code)
{
	int b;
	if ((b = sqlite3_bind_int(st, 1, kind)) == SQLITE_OK &&
	    (b = sqlite3_bind_int64(st, 2, (sqlite3_int64)not_after_from)) ==
		SQLITE_OK &&
	    muni_code != NULL)
		b = bind_text(st, 3, muni_code);
	return b;
}

static int sq_cert_revoked(void *impl, int kind, const char *muni_code,
			   time_t not_after_from, store_cert_fn fn, void *ctx,
			   jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	enum stmt_id id =
	    muni_code != NULL ? ST_CERT_REVOKED_MUNI : ST_CERT_REVOKED_ALL;
	int rc = stmt_get(q, id, &st, err);
	if (rc != 0)
		return rc;
	return cert_list(q, id, st,
			 bind_revoked(st, kind, not_after_from, muni_code), fn,
			 ctx, err);
}

static int sq_crl_rows(void *impl, int kind, const char *muni_code,
		       time_t not_after_from, store_crl_row_fn fn, void *ctx,
		       jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	enum stmt_id id =
	    muni_code != NULL ? ST_CRL_ROWS_MUNI : ST_CRL_ROWS_ALL;
	int rc = stmt_get(q, id, &st, err);
	if (rc != 0)
		return rc;
	int b = bind_revoked(st, kind, not_after_from, muni_code);
	return each_row(q, id, st, b, &rm_crl_row, sizeof(store_crl_row), false,
			(row_fn)fn, ctx, "listing revoked certificates", err);
}

static int sq_cert_expiring(void *impl, time_t from, time_t to,
			    store_cert_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_CERT_EXPIRING, &st, err), b;
	if (rc != 0)
		return rc;
	if ((b = sqlite3_bind_int64(st, 1, (sqlite3_int64)from)) == SQLITE_OK)
		b = sqlite3_bind_int64(st, 2, (sqlite3_int64)to);
	return cert_list(q, ST_CERT_EXPIRING, st, b, fn, ctx, err);
}

/* ---- audit -------------------------------------------------------------- */

static int sq_audit_head(void *impl, int64_t *seq, char hash[65], jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	struct rm_audit_head h;
	int rc = stmt_get(q, ST_AUDIT_HEAD, &st, err);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*seq = 0;
		hash[0] = '\0';
		rc = 0;
	} else if (rc == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		if ((rc = read_rec(st, &rm_audit_head, 0, &h, err)) == 0) {
			*seq = h.seq;
			memcpy(hash, h.hash, sizeof(h.hash));
		}
	} else {
		rc = db_fail(q, rc, err, "reading the audit log");
	}
	stmt_put(q, ST_AUDIT_HEAD, st);
	return rc;
}

static int sq_audit_insert(void *impl, const store_audit *a, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_AUDIT_ADD, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = write_row(q, ST_AUDIT_ADD, st, bind_rec(st, &rm_audit, a, 1),
			    NULL)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "appending audit record %lld",
			     (long long)a->seq);
	return rc;
}

static int sq_audit_each(void *impl, store_audit_fn fn, void *ctx,
			 jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_AUDIT_EACH, &st, err);
	if (rc != 0)
		return rc;
	return each_row(q, ST_AUDIT_EACH, st, SQLITE_OK, &rm_audit,
			sizeof(store_audit), true, (row_fn)fn, ctx,
			"reading the audit log", err);
}

/* ---- counter applications ----------------------------------------------- */

static int app_fail(struct sq *q, int rc, const store_app *a, jpki_err *err)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return jpki_fail(
		    err, JPKI_ERR_CONFLICT,
		    "resident %lld already has an open application "
		    "of kind %d",
		    (long long)a->resident_id, (int)a->kind);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "application for resident %lld: resident or "
				 "card %s not found",
				 (long long)a->resident_id, a->card_serial);
	return db_fail(q, rc, err, "writing application %lld of resident %lld",
		       (long long)a->id, (long long)a->resident_id);
}

static int sq_app_add(void *impl, const store_app *a, int64_t *id,
		      jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_APP_ADD, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = insert_returning(
		 st, bind_fields(st, &rm_app, 1, rm_app.n - 1, a, 2), id)) !=
	    SQLITE_OK)
		rc = app_fail(q, rc, a, err);
	stmt_put(q, ST_APP_ADD, st);
	return rc;
}

static int sq_app_update(void *impl, const store_app *a, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_APP_UPDATE, &st, err), changes = 0;
	if (rc != 0)
		return rc;
	if ((rc = write_row(q, ST_APP_UPDATE, st, bind_rec(st, &rm_app, a, 1),
			    &changes)) != SQLITE_OK)
		rc = app_fail(q, rc, a, err);
	else if (changes == 0)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "application %lld not found", (long long)a->id);
	return rc;
}

static int sq_app_get(void *impl, int64_t id, store_app *out, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char key[24];
	int rc = stmt_get(q, ST_APP_GET, &st, err);
	if (rc != 0)
		return rc;
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return get_row(q, ST_APP_GET, st, sqlite3_bind_int64(st, 1, id),
		       &rm_app, out, sizeof(*out), "application", key, err);
}

static int sq_app_list(void *impl, int64_t resident_id, bool open_only,
		       int limit, store_app_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_APP_LIST, &st, err), b;
	if (rc != 0)
		return rc;
	if ((b = sqlite3_bind_int64(st, 1, resident_id)) == SQLITE_OK &&
	    (b = sqlite3_bind_int(st, 2, open_only ? 1 : 0)) == SQLITE_OK)
		b = sqlite3_bind_int(st, 3, limit);
	return each_row(q, ST_APP_LIST, st, b, &rm_app, sizeof(store_app), true,
			(row_fn)fn, ctx, "listing applications", err);
}

/* Run an INSERT ... RETURNING seq that is already bound. */
static int insert_seq(struct sq *q, enum stmt_id id, sqlite3_stmt *st,
		      int bound, int64_t app_id, const char *what, int *seq,
		      jpki_err *err)
{
	int64_t v = 0;
	int rc = insert_returning(st, bound, &v);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "%s: application %lld not found", what,
			       (long long)app_id);
	else if (rc != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing %s of application %lld", what,
			     (long long)app_id);
	else
		*seq = (int)v;
	stmt_put(q, id, st);
	return rc;
}

/* The documents' and events' INSERTs: ?1 the application, then the fields
 * after app_id and seq. */
static int sq_app_doc_add(void *impl, const store_app_doc *d, int *seq,
			  jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_DOC_ADD, &st, err), b;
	if (rc != 0)
		return rc;
	if ((b = sqlite3_bind_int64(st, 1, d->app_id)) == SQLITE_OK)
		b = bind_fields(st, &rm_doc, 2, rm_doc.n - 2, d, 2);
	return insert_seq(q, ST_DOC_ADD, st, b, d->app_id, "document", seq,
			  err);
}

static int sq_app_doc_each(void *impl, int64_t app_id, store_app_doc_fn fn,
			   void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc = stmt_get(q, ST_DOC_EACH, &st, err);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "listing documents of application %lld",
		 (long long)app_id);
	return each_row(q, ST_DOC_EACH, st, sqlite3_bind_int64(st, 1, app_id),
			&rm_doc, sizeof(store_app_doc), false, (row_fn)fn, ctx,
			what, err);
}

static int sq_app_event_add(void *impl, const store_app_event *e, int *seq,
			    jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_EVENT_ADD, &st, err), b;
	if (rc != 0)
		return rc;
	if ((b = sqlite3_bind_int64(st, 1, e->app_id)) == SQLITE_OK)
		b = bind_fields(st, &rm_event, 2, rm_event.n - 2, e, 2);
	return insert_seq(q, ST_EVENT_ADD, st, b, e->app_id, "event", seq, err);
}

static int sq_app_event_each(void *impl, int64_t app_id, store_app_event_fn fn,
			     void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char what[64];
	int rc = stmt_get(q, ST_EVENT_EACH, &st, err);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "listing history of application %lld",
		 (long long)app_id);
	return each_row(q, ST_EVENT_EACH, st, sqlite3_bind_int64(st, 1, app_id),
			&rm_event, sizeof(store_app_event), false, (row_fn)fn,
			ctx, what, err);
}

static int sq_notice_add(void *impl, const store_notice *n, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_NOTICE_ADD, &st, err);
	if (rc != 0)
		return rc;
	rc = write_row(q, ST_NOTICE_ADD, st, bind_rec(st, &rm_notice, n, 1),
		       NULL);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = jpki_fail(err, JPKI_ERR_CONFLICT,
			       "the expiry notice for certificate %s "
			       "was already sent",
			       n->cert_serial);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "notice: certificate %s or resident %lld "
			       "not found",
			       n->cert_serial, (long long)n->resident_id);
	else if (rc != SQLITE_OK)
		rc = db_fail(q, rc, err, "recording notice for %s",
			     n->cert_serial);
	return rc;
}

static int sq_notice_get(void *impl, const char *cert_serial, store_notice *out,
			 jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_NOTICE_GET, &st, err);
	if (rc != 0)
		return rc;
	return get_row(q, ST_NOTICE_GET, st, bind_text(st, 1, cert_serial),
		       &rm_notice, out, sizeof(*out), "notice for certificate",
		       cert_serial, err);
}

/* ---- finding residents (H3) --------------------------------------------- */

static int sq_resident_find(void *impl, const store_resident_query *qr,
			    int limit, store_resident_fn fn, void *ctx,
			    jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	char birth[11] = "";
	int rc = stmt_get(q, ST_RES_FIND, &st, err), b;
	if (rc != 0)
		return rc;
	if (qr->birth.y != 0)
		jpki_date_format(qr->birth, birth);
	if ((b = bind_text(st, 1, birth)) == SQLITE_OK &&
	    (b = bind_text(st, 2, qr->key)) == SQLITE_OK &&
	    (b = bind_text(st, 3, qr->ext)) == SQLITE_OK)
		b = sqlite3_bind_int(st, 4, limit);
	return each_row(q, ST_RES_FIND, st, b, &rm_resident,
			sizeof(store_resident), false, (row_fn)fn, ctx,
			"searching residents", err);
}

static int sq_app_find(void *impl, const store_app_filter *f, int limit,
		       store_app_row_fn fn, void *ctx, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	store_app_row row;
	int rc = stmt_get(q, ST_APP_FIND, &st, err), s;
	if (rc != 0)
		return rc;
	if ((s = sqlite3_bind_int64(st, 1, f->resident_id)) != SQLITE_OK ||
	    (s = sqlite3_bind_int(st, 2, (int)f->state_min)) != SQLITE_OK ||
	    (s = sqlite3_bind_int(st, 3, (int)f->state_max)) != SQLITE_OK ||
	    (s = sqlite3_bind_int64(st, 4, (sqlite3_int64)f->opened_from)) !=
		SQLITE_OK ||
	    (s = sqlite3_bind_int64(st, 5, (sqlite3_int64)f->opened_to)) !=
		SQLITE_OK ||
	    (s = sqlite3_bind_int(st, 6, limit)) != SQLITE_OK) {
		rc = db_fail(q, s, err, "listing applications");
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		if ((rc = read_rec(st, &rm_app, 0, &row.app, err)) != 0) {
			jpki_wrap(err, rc, "application %lld",
				  (long long)row.app.id);
			goto out;
		}
		if ((rc = read_rec(st, &rm_app_row_names, rm_app.n, &row,
				   err)) != 0 ||
		    (rc = fn(ctx, &row)) != 0)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = db_fail(q, s, err, "listing applications");
out:
	stmt_put(q, ST_APP_FIND, st);
	return rc;
}

static int sq_office_get(void *impl, const char *code, store_office *out,
			 jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_OFFICE_GET, &st, err);
	if (rc != 0)
		return rc;
	return get_row(q, ST_OFFICE_GET, st, bind_text(st, 1, code), &rm_office,
		       out, sizeof(*out), "municipality", code, err);
}

static int sq_office_set(void *impl, const char *code, const store_office *o,
			 jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_OFFICE_SET, &st, err), b, changes = 0;
	if (rc != 0)
		return rc;
	if ((b = bind_text(st, 1, code)) == SQLITE_OK)
		b = bind_rec(st, &rm_office, o, 2);
	if ((rc = write_row(q, ST_OFFICE_SET, st, b, &changes)) != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing municipality %s", code);
	else if (changes == 0)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "municipality %s not found", code);
	return rc;
}

/* ---- shared node state (issue #12 item 3) ------------------------------- */

static int sq_token_put(void *impl, const store_token *t, const uint8_t *data,
			size_t len, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_TOKEN_PUT, &st, err), b;
	if (rc != 0)
		return rc;
	b = bind_rec(st, &rm_token, t, 1);
	if (b == SQLITE_OK)
		b = data != NULL ? sqlite3_bind_blob(st, rm_token.n + 1, data,
						     (int)len, SQLITE_STATIC)
				 : sqlite3_bind_null(st, rm_token.n + 1);
	rc = write_row(q, ST_TOKEN_PUT, st, b, NULL);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = jpki_fail(err, JPKI_ERR_CONFLICT, "token exists already");
	else if (rc != SQLITE_OK)
		rc = db_fail(q, rc, err, "writing a token");
	return rc;
}

static int sq_token_get(void *impl, const char *id, store_token *out,
			uint8_t **data, size_t *len, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	store_token t;
	int rc = stmt_get(q, ST_TOKEN_GET, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = bind_text(st, 1, id)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "token not found");
		else
			rc = db_fail(q, rc, err, "reading a token");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	if ((rc = read_rec(st, &rm_token, 0, &t, err)) != 0)
		goto out;
	if (data != NULL) {
		const void *p = sqlite3_column_blob(st, rm_token.n);
		size_t n = (size_t)sqlite3_column_bytes(st, rm_token.n);
		uint8_t *d = NULL;
		if (p != NULL && n > 0) {
			if ((d = malloc(n)) == NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			memcpy(d, p, n);
		}
		*data = d;
		*len = d != NULL ? n : 0;
	}
	*out = t;
out:
	stmt_put(q, ST_TOKEN_GET, st);
	return rc;
}

static int sq_token_touch(void *impl, const char *id, time_t last,
			  int64_t expect, bool *changed, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_TOKEN_TOUCH, &st, err), b, changes = 0;
	if (rc != 0)
		return rc;
	if ((b = bind_text(st, 1, id)) == SQLITE_OK &&
	    (b = sqlite3_bind_int64(st, 2, (int64_t)last)) == SQLITE_OK)
		b = sqlite3_bind_int64(st, 3, expect);
	if ((rc = write_row(q, ST_TOKEN_TOUCH, st, b, &changes)) != SQLITE_OK)
		return db_fail(q, rc, err, "updating a token");
	*changed = changes > 0;
	return 0;
}

static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	return v != NULL ? bind_text(st, i, v) : sqlite3_bind_null(st, i);
}

static int bind_filter(sqlite3_stmt *st, const store_token_filter *f)
{
	int b;
	if ((b = sqlite3_bind_int(st, 1, f->kind)) == SQLITE_OK &&
	    (b = bind_opt_text(st, 2, f->id)) == SQLITE_OK &&
	    (b = bind_opt_text(st, 3, f->owner)) == SQLITE_OK &&
	    (b = bind_opt_text(st, 4, f->op)) == SQLITE_OK &&
	    (b = bind_opt_text(st, 5, f->keep)) == SQLITE_OK &&
	    (b = sqlite3_bind_int64(st, 6, f->gen_below)) == SQLITE_OK &&
	    (b = sqlite3_bind_int64(st, 7, (int64_t)f->expired_at)) ==
		SQLITE_OK)
		b = sqlite3_bind_int64(st, 8, (int64_t)f->alive_at);
	return b;
}

static int sq_token_delete(void *impl, const store_token_filter *f, size_t *n,
			   jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	/* one row by its key: the primary key's index, not the filter */
	bool by_id = f->id != NULL && f->kind == 0 && f->owner == NULL &&
		     f->op == NULL && f->keep == NULL && f->gen_below == 0 &&
		     f->expired_at == 0 && f->alive_at == 0;
	enum stmt_id id = by_id ? ST_TOKEN_DEL_ID : ST_TOKEN_DEL;
	int rc = stmt_get(q, id, &st, err), changes = 0;
	if (rc != 0)
		return rc;
	int b = by_id ? bind_text(st, 1, f->id) : bind_filter(st, f);
	if ((rc = write_row(q, id, st, b, &changes)) != SQLITE_OK)
		return db_fail(q, rc, err, "deleting tokens");
	*n = (size_t)changes;
	return 0;
}

static int sq_token_count(void *impl, const store_token_filter *f, size_t *n,
			  time_t *first, jpki_err *err)
{
	struct sq *q = impl;
	sqlite3_stmt *st = NULL;
	int rc = stmt_get(q, ST_TOKEN_COUNT, &st, err);
	if (rc != 0)
		return rc;
	if ((rc = bind_filter(st, f)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = db_fail(q, rc, err, "counting tokens");
		goto out;
	}
	*n = (size_t)sqlite3_column_int64(st, 0);
	*first = (time_t)sqlite3_column_int64(st, 1);
	rc = 0;
out:
	stmt_put(q, ST_TOKEN_COUNT, st);
	return rc;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .migrations = store_sqlite_migrations,
    .open = sq_open,
    .close = sq_close,
    .check = sq_check,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .schema_current = sq_schema_current,
    .exec = sq_exec,
    .schema_record = sq_schema_record,
    .meta_get = sq_meta_get,
    /* BEGIN IMMEDIATE holds the write lock: a plain read is stable. */
    .meta_get_for_update = sq_meta_get,
    .meta_set = sq_meta_set,
    .muni_put = sq_muni_put,
    .muni_get = sq_muni_get,
    .muni_each = sq_muni_each,
    .resident_add = sq_resident_add,
    .resident_update = sq_resident_update,
    .resident_get = sq_resident_get,
    .resident_get_ext = sq_resident_get_ext,
    .resident_search = sq_resident_search,
    .card_put = sq_card_put,
    .card_get = sq_card_get,
    .cert_put = sq_cert_put,
    .cert_get = sq_cert_get,
    .cert_state_for_update = sq_cert_state,
    .cert_set_revoked = sq_cert_set_revoked,
    .cert_by_resident = sq_cert_by_resident,
    .cert_revoked = sq_cert_revoked,
    .crl_rows = sq_crl_rows,
    .cert_expiring = sq_cert_expiring,
    .audit_head_for_update = sq_audit_head,
    .audit_insert = sq_audit_insert,
    .audit_each = sq_audit_each,
    .app_add = sq_app_add,
    .app_update = sq_app_update,
    .app_get = sq_app_get,
    .app_list = sq_app_list,
    .app_doc_add = sq_app_doc_add,
    .app_doc_each = sq_app_doc_each,
    .app_event_add = sq_app_event_add,
    .app_event_each = sq_app_event_each,
    .notice_add = sq_notice_add,
    .notice_get = sq_notice_get,
    .resident_find = sq_resident_find,
    .app_find = sq_app_find,
    .office_get = sq_office_get,
    .office_set = sq_office_set,
    .token_put = sq_token_put,
    .token_get = sq_token_get,
    .token_touch = sq_token_touch,
    .token_delete = sq_token_delete,
    .token_count = sq_token_count,
};
