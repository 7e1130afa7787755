/* The PostgreSQL backend (libpq): one connection per handle, chosen by a
 * store location "postgresql://..." or "postgres://..." (a libpq URI,
 * multi-host with target_session_attrs=read-write included), which goes
 * to PQconnectdb() unchanged.
 *
 * The DML is sqlite.c's with "$n" placeholders, strpos() for instr(),
 * casts where PostgreSQL cannot infer a parameter's type, and the
 * `*_for_update` reads serialised as store_impl.h asks:
 *
 * - write transactions are READ COMMITTED, so that a statement run after
 *   a lock is granted sees what the lock's previous holder committed;
 * - meta_get_for_update takes a transaction-level advisory lock on the
 *   key (a row lock cannot guard a counter that has no row yet), so two
 *   writers never read the same serial or sequence counter;
 * - audit_head_for_update takes one advisory lock for the whole log, so
 *   the hash chain grows by one writer at a time;
 * - cert_state_for_update is SELECT ... FOR UPDATE.
 * A lock not granted within busy_timeout (lock_timeout) is a conflict.
 *
 * Failover (docs/decisions.md, "jpkid across a PostgreSQL failover"): a
 * lost connection (CONNECTION_BAD, SQLSTATE class 08, 57P01-57P03, 25006
 * after a demotion) is replaced by a fresh PQconnectdb() on the same
 * multi-host URI, which finds the new primary.  A reconnection that fails
 * is tried again only after a backoff (0.1 s doubling to 2 s), so a worker
 * answers at once instead of hammering the members.  Everything that fails
 * because of it -- and a serialization failure or deadlock (40001, 40P01)
 * -- is JPKI_ERR_UNAVAILABLE: nothing was written, try again.  A statement
 * outside a transaction (a plain read) is retried once on a new connection;
 * inside one, the transaction is lost and the caller rolls back.  A COMMIT
 * whose answer is lost is resolved, not guessed: see commit_outcome().
 *
 * Values travel as text (rowmap.c converts), the DER as binary. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openjpki/textfold.h"
#include "openjpki/util.h"
#include "rowmap.h"
#include "store_impl.h"

/* Advisory lock keys: (namespace, key) pairs of the two-int form. */
#define LOCK_NS_META 0x4a504b01	  /* key: hashtext(meta key) */
#define LOCK_NS_AUDIT 0x4a504b02  /* key 0: the audit chain head */
#define LOCK_NS_SCHEMA 0x4a504b03 /* key 0: migrations */

#define MAX_PARAMS 16

/* Prepared statements kept per connection; past that, statements go
 * unprepared (nothing is evicted). */
#define PREP_MAX 256

/* Reconnection backoff (seconds) and how long a lost COMMIT's outcome is
 * looked for (a failover takes about 14 s with pg-cluster.sh's timings). */
#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 2.0
#define RESOLVE_SECS 25.0

struct pgc {
	PGconn *c;
	char *loc;	 /* the URI, for reconnecting */
	bool lost;	 /* the connection must be replaced before use */
	bool in_tx;	 /* between BEGIN and COMMIT/ROLLBACK */
	double retry_at; /* monotonic: no reconnection attempt before */
	double backoff;
	/* the audit record this transaction appended (seq 0: none): the
	 * witness of a COMMIT whose answer was lost */
	int64_t audit_seq;
	char audit_hash[65];
	/* the audit lock is held by this transaction and head_seq/head_hash
	 * is the chain's head, counting the records still pending */
	bool audit_locked;
	int64_t head_seq;
	char head_hash[65];
	/* audit records appended in this transaction and not yet sent: they
	 * go as one multi-row INSERT before the next statement or COMMIT */
	store_audit *pend;
	size_t npend, cap_pend;
	/* other writes of the transaction not yet sent (certificates) */
	struct queued **q;
	size_t nq, cap_q;
	bool defer; /* store_defer_writes: until the transaction ends */
	/* the statements prepared on this connection (prep_ensure) */
	struct prep *prep; /* PREP_MAX slots, allocated on first use */
	int nprep;
	unsigned long prep_seq; /* names jpki_N, none reused on a connection */
};

/* A named prepared statement of the connection: its SQL text (compared
 * whole; the hash only skips unequal ones) and its name. */
struct prep {
	uint64_t hash;
	char *sql;
	char name[24];
};

/* ---- parameters --------------------------------------------------------- */

/* A write inside a transaction whose answer nobody waits for (a
 * certificate's INSERT): sent, with copies of its parameters, in one
 * pipeline ahead of the transaction's next statement or its COMMIT.  Its
 * failure is then that statement's, with the message the immediate
 * write would have given (queued_msg). */
struct queued {
	const char *sql; /* a literal */
	int n;
	char *v[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	store_cert cert; /* what the message names (der NULL) */
};

struct params {
	int n;
	const char *v[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	char buf[MAX_PARAMS][24];
};

static void p_text(struct params *P, const char *s)
{
	P->v[P->n] = s;
	P->len[P->n] = 0;
	P->fmt[P->n] = 0;
	P->n++;
}

static void p_null(struct params *P)
{
	p_text(P, NULL);
}

static void p_int(struct params *P, int64_t i)
{
	snprintf(P->buf[P->n], sizeof(P->buf[0]), "%" PRId64, i);
	p_text(P, P->buf[P->n]);
}

static void p_blob(struct params *P, const void *b, size_t len)
{
	P->v[P->n] = b;
	P->len[P->n] = (int)len;
	P->fmt[P->n] = 1;
	P->n++;
}

/* Fields [from, from + n) of rec (map m) as the next parameters.  Text
 * fields of the struct are NUL-terminated within their size (the front
 * checked them), so they are passed in place. */
static void p_fields(struct params *P, const struct rm_map *m, int from, int n,
		     const void *rec)
{
	for (int i = 0; i < n; i++) {
		struct rm_value v;
		rm_get_text(&m->f[from + i], rec, &v);
		if (v.kind == RMV_NULL) {
			p_null(P);
		} else if (v.s == v.buf) {
			memcpy(P->buf[P->n], v.buf, sizeof(P->buf[0]));
			p_text(P, P->buf[P->n]);
		} else {
			p_text(P, v.s);
		}
	}
}

/* ---- errors ------------------------------------------------------------- */

/* SQLSTATEs after which this connection is no use: the link is gone
 * (class 08), the server shuts down or restarts (57P01-57P03), or it is
 * no longer the primary (25006 read_only_sql_transaction). */
static bool state_lost(const char *st)
{
	return st != NULL &&
	       (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
		strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
		strcmp(st, "25006") == 0);
}

static int code_of_state(const char *st, PGconn *c)
{
	if (c == NULL || PQstatus(c) != CONNECTION_OK || state_lost(st))
		return JPKI_ERR_UNAVAILABLE;
	if (st == NULL)
		return JPKI_ERR_STORE;
	/* serialization failure, deadlock, out of resources: try again */
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strncmp(st, "53", 2) == 0 || strncmp(st, "57P", 3) == 0)
		return JPKI_ERR_UNAVAILABLE;
	if (strcmp(st, "23505") == 0 || strcmp(st, "55P03") == 0 ||
	    strcmp(st, "57014") == 0)
		return JPKI_ERR_CONFLICT;
	if (strcmp(st, "23503") == 0)
		return JPKI_ERR_NOT_FOUND;
	if (strncmp(st, "XX", 2) == 0)
		return JPKI_ERR_INTEGRITY;
	return JPKI_ERR_STORE;
}

/* The outcome of one statement: its result, or its SQLSTATE. */
struct outcome {
	PGresult *res;
	char state[6];
	char msg[160];
	char constraint[64];
};

static int pg_fail(struct pgc *p, const struct outcome *o, jpki_err *err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int pg_fail(struct pgc *p, const struct outcome *o, jpki_err *err,
		   const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return jpki_fail(
	    err, code_of_state(o->state[0] != '\0' ? o->state : NULL, p->c),
	    "%s: %s", what, o->msg);
}

/* Run sql with P once on the current connection; 0 when it gave `want`,
 * else -1 with the SQLSTATE and message in *o.  The caller PQclear()s
 * o->res either way. */
static int outcome_of(struct pgc *p, PGresult *res, ExecStatusType want,
		      struct outcome *o);

/* ---- prepared statements ----------------------------------------------- */

/* Every statement with parameters is a named prepared statement of its
 * connection (docs/decisions.md, "PostgreSQL statements prepared once per
 * connection"): parsed and planned by the server once per connection, not
 * once per call.  The cache is keyed by the SQL text, emptied when the
 * connection is replaced, and bounded (PREP_MAX: a text that finds it full is
 * sent unprepared).  Pipelines prepare their statements before entering
 * pipeline mode (PQprepare is synchronous).  Tests only (store_impl.h):
 * the number of statements prepared, every connection together. */
_Atomic long store_pg_test_prepares;

/* Rows a FETCH of stream_rows brings at a time (tests set it lower). */
int store_pg_stream_batch = 10000;

/* Tests only: the statement timeout of new connections in ms (0: 60 s). */
int store_pg_test_statement_timeout_ms;

static uint64_t prep_hash(const char *sql)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)sql; *c; c++)
		h = (h ^ *c) * 0x100000001b3u;
	return h;
}

static int prep_at(const struct pgc *p, const char *sql, uint64_t h)
{
	for (int i = 0; i < p->nprep; i++)
		if (p->prep[i].hash == h && strcmp(p->prep[i].sql, sql) == 0)
			return i;
	return -1;
}

/* sql's statement name on this connection, or NULL: not prepared. */
static const char *prep_name(const struct pgc *p, const char *sql)
{
	int i = prep_at(p, sql, prep_hash(sql));
	return i >= 0 ? p->prep[i].name : NULL;
}

/* Forget every prepared statement (the server's go with its connection,
 * or are gone already). */
static void prep_reset(struct pgc *p)
{
	for (int i = 0; i < p->nprep; i++)
		free(p->prep[i].sql);
	p->nprep = 0;
}

/* sql prepared on this connection unless it is already, or the cache is
 * full (or memory short: then it is sent unprepared); *name its statement
 * name (NULL: unprepared; name may be NULL); 0, or -1 with the
 * prepare's failure in *o (o->res NULL), which is the statement's own: a
 * parse error, or inside a transaction one that aborted it.  A statement
 * that failed to prepare is not kept.  The parameters' types are left to
 * the server, as PQexecParams with NULL paramTypes did. */
static int prep_ensure(struct pgc *p, const char *sql, struct outcome *o,
		       const char **name)
{
	uint64_t h = prep_hash(sql);
	int at = prep_at(p, sql, h);
	struct prep *e;
	char *copy;
	if (name != NULL)
		*name = at >= 0 ? p->prep[at].name : NULL;
	if (at >= 0 || p->nprep == PREP_MAX)
		return 0;
	if (p->prep == NULL &&
	    (p->prep = calloc(PREP_MAX, sizeof(*p->prep))) == NULL)
		return 0;
	if ((copy = strdup(sql)) == NULL)
		return 0;
	e = &p->prep[p->nprep];
	snprintf(e->name, sizeof(e->name), "jpki_%lu", p->prep_seq++);
	if (outcome_of(p, PQprepare(p->c, e->name, sql, 0, NULL),
		       PGRES_COMMAND_OK, o) != 0) {
		free(copy);
		PQclear(o->res);
		o->res = NULL;
		return -1;
	}
	PQclear(o->res);
	o->res = NULL;
	e->hash = h;
	e->sql = copy;
	p->nprep++;
	store_pg_test_prepares++;
	if (name != NULL)
		*name = e->name;
	return 0;
}

/* After sql failed with *o.  26000 (prepared statement does not exist:
 * a DEALLOCATE ALL or DISCARD ALL on the connection, or a pooler that
 * moved us to another backend) forgets them all; 0A000 (a plan that no
 * longer fits: "cached plan must not change result type" after a column
 * changed) forgets sql's.  That call has failed; the next one prepares
 * anew. */
static void prep_forget(struct pgc *p, const char *sql, const struct outcome *o)
{
	int i;
	if (strcmp(o->state, "26000") == 0) {
		prep_reset(p);
	} else if (strcmp(o->state, "0A000") == 0 &&
		   (i = prep_at(p, sql, prep_hash(sql))) >= 0) {
		free(p->prep[i].sql);
		p->prep[i] = p->prep[--p->nprep];
	}
}

/* Send sql with its parameters (pipeline mode): prepared,
 * when prep_ensure prepared it. */
static int prep_send(struct pgc *p, const char *sql, int n,
		     const char *const *v, const int *len, const int *fmt)
{
	const char *name = prep_name(p, sql);
	return name != NULL
		   ? PQsendQueryPrepared(p->c, name, n, v, len, fmt, 0)
		   : PQsendQueryParams(p->c, sql, n, NULL, v, len, fmt, 0);
}

static int run_raw(struct pgc *p, const char *sql, int n, const char *const *v,
		   const int *len, const int *fmt, ExecStatusType want,
		   struct outcome *o)
{
	const char *name;
	int rc;
	/* without parameters: PQexec, which also runs several statements */
	if (v == NULL)
		return outcome_of(p, PQexec(p->c, sql), want, o);
	if (prep_ensure(p, sql, o, &name) != 0)
		return -1;
	rc = outcome_of(p,
			name != NULL
			    ? PQexecPrepared(p->c, name, n, v, len, fmt, 0)
			    : PQexecParams(p->c, sql, n, NULL, v, len, fmt, 0),
			want, o);
	if (rc != 0)
		prep_forget(p, sql, o);
	return rc;
}

/* *o from a statement's result res (taken over; NULL: failed): 0 when it
 * is `want`, else -1 with the SQLSTATE and message. */
static int outcome_of(struct pgc *p, PGresult *res, ExecStatusType want,
		      struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->res = res;
	ExecStatusType s =
	    o->res != NULL ? PQresultStatus(o->res) : PGRES_FATAL_ERROR;
	if (s == want)
		return 0;
	const char *st = o->res != NULL
			     ? PQresultErrorField(o->res, PG_DIAG_SQLSTATE)
			     : NULL;
	const char *cn =
	    o->res != NULL ? PQresultErrorField(o->res, PG_DIAG_CONSTRAINT_NAME)
			   : NULL;
	const char *m =
	    o->res != NULL ? PQresultErrorField(o->res, PG_DIAG_MESSAGE_PRIMARY)
			   : NULL;
	/* a cut SQLSTATE or constraint name would be matched as another:
	 * unknown instead */
	if (jpki_strlcpy(o->state, st != NULL ? st : "", sizeof(o->state)) != 0)
		o->state[0] = '\0';
	if (jpki_strlcpy(o->constraint, cn != NULL ? cn : "",
			 sizeof(o->constraint)) != 0)
		o->constraint[0] = '\0';
	jpki_strlcpy_cut(o->msg,
			 m != NULL ? m
			 : PQerrorMessage(p->c)[0] != '\0'
			     ? PQerrorMessage(p->c)
			     : "unexpected result",
			 sizeof(o->msg));
	for (char *c = o->msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return -1;
}

static int run_once(struct pgc *p, const char *sql, const struct params *P,
		    ExecStatusType want, struct outcome *o)
{
	return P == NULL ? run_raw(p, sql, 0, NULL, NULL, NULL, want, o)
			 : run_raw(p, sql, P->n, P->v, P->len, P->fmt, want, o);
}

/* ---- connection, reconnection ------------------------------------------ */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool conn_ok(const struct pgc *p)
{
	return p->c != NULL && PQstatus(p->c) == CONNECTION_OK;
}

/* *o as a failure without a result: SQLSTATE st, message m. */
static void set_outcome(struct outcome *o, const char *st, const char *m)
{
	memset(o, 0, sizeof(*o));
	if (jpki_strlcpy(o->state, st, sizeof(o->state)) != 0)
		o->state[0] = '\0';
	jpki_strlcpy_cut(o->msg, m, sizeof(o->msg));
	for (char *c = o->msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A new connection on p->loc, set up; 0, or -1 with *o filled (08006,
 * or the set-up statement's failure). */
static int connect_once(struct pgc *p, struct outcome *o)
{
	/* the prepared statements were the old connection's */
	prep_reset(p);
	p->prep_seq = 0;
	if (p->c != NULL)
		PQfinish(p->c);
	p->c = PQconnectdb(p->loc);
	if (p->c == NULL) {
		set_outcome(o, "08006", "out of memory");
		return -1;
	}
	if (PQstatus(p->c) != CONNECTION_OK) {
		set_outcome(o, "08006", PQerrorMessage(p->c));
		return -1;
	}
	PQsetNoticeProcessor(p->c, quiet, NULL);
	/* a lock not granted within 5 s is a conflict, as SQLite's busy
	 * timeout; a statement never runs longer than a minute */
	char set[160];
	snprintf(set, sizeof(set),
		 "SET lock_timeout = '5s'; SET statement_timeout = %d;"
		 " SET client_min_messages = warning; SET TIME ZONE 'UTC'",
		 store_pg_test_statement_timeout_ms > 0
		     ? store_pg_test_statement_timeout_ms
		     : 60000);
	int rc = run_once(p, set, NULL, PGRES_COMMAND_OK, o);
	PQclear(o->res);
	o->res = NULL;
	return rc;
}

/* Replace a lost connection (the multi-host URI with
 * target_session_attrs=read-write finds whichever member is primary now).
 * Within the backoff after a failed attempt, fails at once. */
static int reconnect(struct pgc *p, struct outcome *o)
{
	double now = mono();
	if (now < p->retry_at) {
		set_outcome(o, "08006",
			    "no PostgreSQL primary reachable (failover?); "
			    "trying again shortly");
		return -1;
	}
	if (connect_once(p, o) != 0) {
		p->lost = true;
		p->backoff = p->backoff < BACKOFF_MIN	    ? BACKOFF_MIN
			     : p->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
							    : p->backoff * 2;
		p->retry_at = now + p->backoff;
		return -1;
	}
	p->lost = false;
	p->backoff = 0;
	p->retry_at = 0;
	return 0;
}

/* Run sql with P; 0 when it gave `want`, else -1 with the SQLSTATE and
 * message in *o.  The caller PQclear()s o->res either way.  Outside a
 * transaction a lost connection is replaced first, and a statement that
 * meets a lost connection is run once more on a new one; inside a
 * transaction the failure is the caller's (the transaction is gone). */
static int run_piped(struct pgc *p, const char *sql, const struct params *P,
		     const char *sql2, ExecStatusType want, struct outcome *o);

static bool pending(const struct pgc *p)
{
	return p->npend > 0 || p->nq > 0;
}

static int run(struct pgc *p, const char *sql, const struct params *P,
	       ExecStatusType want, struct outcome *o)
{
	/* the transaction's writes not yet sent go first, in one pipeline
	 * with this statement */
	if (pending(p))
		return run_piped(p, sql, P, NULL, want, o);
	if (p->lost || !conn_ok(p)) {
		if (p->in_tx) {
			set_outcome(o, "08003",
				    "connection to the PostgreSQL store lost "
				    "inside a transaction");
			return -1;
		}
		if (reconnect(p, o) != 0)
			return -1;
	}
	int rc = run_once(p, sql, P, want, o);
	if (rc != 0 && (!conn_ok(p) || state_lost(o->state))) {
		p->lost = true;
		if (!p->in_tx) {
			PQclear(o->res);
			o->res = NULL;
			if (reconnect(p, o) == 0)
				rc = run_once(p, sql, P, want, o);
			if (rc != 0 && (!conn_ok(p) || state_lost(o->state)))
				p->lost = true;
		}
	}
	return rc;
}

/* A statement without rows; *changes: rows changed (NULL: not wanted). */
static int cmd(struct pgc *p, const char *sql, const struct params *P,
	       struct outcome *o, int *changes)
{
	int rc = run(p, sql, P, PGRES_COMMAND_OK, o);
	if (rc == 0 && changes != NULL)
		*changes = atoi(PQcmdTuples(o->res));
	PQclear(o->res);
	o->res = NULL;
	return rc;
}

/* Columns col, col + 1, ... of row `row` into rec (map m). */
static int read_rec(PGresult *res, int row, const struct rm_map *m, int col,
		    void *rec, jpki_err *err)
{
	for (int i = 0; i < m->n; i++) {
		struct rm_value v = {.kind = RMV_NULL};
		int rc;
		if (!PQgetisnull(res, row, col + i)) {
			v.kind = RMV_TEXT;
			v.s = PQgetvalue(res, row, col + i);
			v.len = (size_t)PQgetlength(res, row, col + i);
		}
		if ((rc = rm_set(&m->f[i], rec, &v, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---- generic row operations --------------------------------------------- */

/* One row into *out (map m); JPKI_ERR_NOT_FOUND "<noun> <key> not found"
 * when none. */
/* The first row of res into *out (map m); JPKI_ERR_NOT_FOUND "<noun>
 * <key> not found" when none. */
static int row_of(PGresult *res, const struct rm_map *m, void *out, size_t size,
		  const char *noun, const char *key, jpki_err *err)
{
	unsigned char rec[sizeof(store_resident) + sizeof(store_app)];
	int rc;
	if (size > sizeof(rec))
		return jpki_fail(err, JPKI_ERR_STORE, "record too large");
	if (PQntuples(res) == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND, "%s %s not found",
				 noun, key);
	memset(rec, 0, size);
	if ((rc = read_rec(res, 0, m, 0, rec, err)) != 0)
		return jpki_wrap(err, rc, "%s %s", noun, key);
	memcpy(out, rec, size);
	return 0;
}

static int get_row(struct pgc *p, const char *sql, const struct params *P,
		   const struct rm_map *m, void *out, size_t size,
		   const char *noun, const char *key, jpki_err *err)
{
	struct outcome o;
	int rc;
	if (run(p, sql, P, PGRES_TUPLES_OK, &o) != 0)
		rc = pg_fail(p, &o, err, "reading %s %s", noun, key);
	else
		rc = row_of(o.res, m, out, size, noun, key, err);
	PQclear(o.res);
	return rc;
}

typedef int (*row_fn)(void *ctx, const void *rec);

/* Every row through fn (map m).  wrap_id: a row's error names the record
 * by its first field (an int64 id or seq). */
static int rows_of(PGresult *res, const struct rm_map *m, size_t size,
		   bool wrap_id, row_fn fn, void *ctx, jpki_err *err);

static int each_row(struct pgc *p, const char *sql, const struct params *P,
		    const struct rm_map *m, size_t size, bool wrap_id,
		    row_fn fn, void *ctx, const char *what, jpki_err *err)
{
	struct outcome o;
	int rc;
	if (run(p, sql, P, PGRES_TUPLES_OK, &o) != 0)
		rc = pg_fail(p, &o, err, "%s", what);
	else
		rc = rows_of(o.res, m, size, wrap_id, fn, ctx, err);
	PQclear(o.res);
	return rc;
}

/* stream_rows' FETCH, sent without waiting for its answer. */
static int fetch_send(struct pgc *p, const char *fetch, struct outcome *o)
{
	if (PQsendQuery(p->c, fetch) == 1)
		return 0;
	set_outcome(o, "08006", PQerrorMessage(p->c));
	return -1;
}

/* The answer to fetch_send's FETCH (rows: 0 with o->res, else -1), read
 * to its end so that the connection takes the next statement. */
static int fetch_take(struct pgc *p, struct outcome *o)
{
	PGresult *res = PQgetResult(p->c), *more;
	int rc = outcome_of(p, res, PGRES_TUPLES_OK, o);
	while ((more = PQgetResult(p->c)) != NULL)
		PQclear(more);
	return rc;
}

/* A row's error, naming the record by its first field (an int64 id or
 * seq) as far as it was read. */
static void wrap_rec(const struct rm_map *m, const unsigned char *rec, int rc,
		     jpki_err *err)
{
	int64_t key;
	memcpy(&key, rec + m->f[0].off, sizeof(key));
	jpki_wrap(err, rc, "%s %lld", m->name, (long long)key);
}

/* Every row of sql through fn (map m), as each_row, but streamed through a
 * cursor, store_pg_stream_batch rows a FETCH: client memory does not grow
 * with the number of rows (a national CRL's revoked rows), and the
 * statement timeout bounds each FETCH, not the whole read, however long
 * the callback takes over millions of rows.  Outside a transaction the
 * cursor has one of its own (READ ONLY: one snapshot, as one statement).
 * The transaction's pending writes are sent first.  When fn (or a row)
 * fails, the cursor is closed, so the connection (and the caller's
 * transaction) stays usable for the next statement.  Outside a
 * transaction, a read that meets a lost connection before its first row
 * is run once more on a new one. */
static int stream_rows(struct pgc *p, const char *sql, const struct params *P,
		       const struct rm_map *m, size_t size, bool wrap_id,
		       row_fn fn, void *ctx, const char *what, jpki_err *err)
{
	unsigned char rec[sizeof(store_resident) + sizeof(store_app)];
	char decl[1024], fetch[64];
	struct outcome o;
	bool own = !p->in_tx;
	int rc = 0;
	if (size > sizeof(rec))
		return jpki_fail(err, JPKI_ERR_STORE, "record too large");
	if (snprintf(decl, sizeof(decl),
		     "DECLARE jpki_rows NO SCROLL CURSOR FOR %s",
		     sql) >= (int)sizeof(decl))
		return jpki_fail(err, JPKI_ERR_STORE, "%s: statement too long",
				 what);
	int batch = store_pg_stream_batch > 0 ? store_pg_stream_batch : 1;
	snprintf(fetch, sizeof(fetch), "FETCH FORWARD %d FROM jpki_rows",
		 batch);
	memset(&o, 0, sizeof(o));
	if (pending(p)) {
		/* the writes alone, in one pipeline (run_piped) */
		if (run_piped(p, NULL, NULL, NULL, PGRES_COMMAND_OK, &o) != 0) {
			rc = pg_fail(p, &o, err, "%s", what);
			PQclear(o.res);
			return rc;
		}
		PQclear(o.res);
		o.res = NULL;
	}
	for (int attempt = 0;; attempt++) {
		bool rows = false, opened = false;
		rc = 0;
		if (p->lost || !conn_ok(p)) {
			if (!own) {
				set_outcome(&o, "08003",
					    "connection to the PostgreSQL "
					    "store lost inside a transaction");
				return pg_fail(p, &o, err, "%s", what);
			}
			if (reconnect(p, &o) != 0)
				return pg_fail(p, &o, err, "%s", what);
		}
		if (own && run_once(p, "BEGIN READ ONLY", NULL,
				    PGRES_COMMAND_OK, &o) != 0)
			goto failed;
		PQclear(o.res);
		o.res = NULL;
		opened = own;
		if (run_once(p, decl, P, PGRES_COMMAND_OK, &o) != 0)
			goto failed;
		PQclear(o.res);
		o.res = NULL;
		/* each FETCH after the first is sent before the rows of the
		 * one before go through fn: the server reads the next batch
		 * while the client works on this one */
		if (fetch_send(p, fetch, &o) != 0)
			goto failed;
		for (bool sent = true; sent;) {
			if (fetch_take(p, &o) != 0)
				goto failed;
			PGresult *res = o.res;
			o.res = NULL;
			int n = PQntuples(res);
			sent = n == batch;
			if (sent && fetch_send(p, fetch, &o) != 0) {
				PQclear(res);
				goto failed;
			}
			for (int r = 0; rc == 0 && r < n; r++) {
				rows = true;
				memset(rec, 0, size);
				if ((rc = read_rec(res, r, m, 0, rec, err)) ==
				    0)
					rc = fn(ctx, rec);
				else if (wrap_id)
					wrap_rec(m, rec, rc, err);
			}
			PQclear(res);
			if (rc != 0 && sent) {
				/* the batch already asked for, unread */
				if (fetch_take(p, &o) != 0)
					goto failed;
				PQclear(o.res);
				o.res = NULL;
				sent = false;
			}
		}
		/* the cursor ends with its own transaction, or is closed in
		 * the caller's */
		if (run_once(p, own ? "COMMIT" : "CLOSE jpki_rows", NULL,
			     PGRES_COMMAND_OK, &o) != 0) {
			opened = false; /* a failed COMMIT ends it too */
			goto failed;
		}
		PQclear(o.res);
		return rc;
	failed:
		PQclear(o.res);
		o.res = NULL;
		/* *o stays the failure: the clean-up's outcome is dropped */
		if (opened && conn_ok(p)) {
			struct outcome r;
			(void)run_once(p, "ROLLBACK", NULL, PGRES_COMMAND_OK,
				       &r);
			PQclear(r.res);
		}
		if (!conn_ok(p) || state_lost(o.state)) {
			p->lost = true;
			if (own && !rows && attempt == 0)
				continue;
		}
		/* a callback's own failure stands before the statement's */
		return rc != 0 ? rc : pg_fail(p, &o, err, "%s", what);
	}
}

/* Every row of res through fn (map m). */
static int rows_of(PGresult *res, const struct rm_map *m, size_t size,
		   bool wrap_id, row_fn fn, void *ctx, jpki_err *err)
{
	unsigned char rec[sizeof(store_resident) + sizeof(store_app)];
	int rc = 0;
	if (size > sizeof(rec))
		return jpki_fail(err, JPKI_ERR_STORE, "record too large");
	for (int r = 0, n = PQntuples(res); r < n; r++) {
		memset(rec, 0, size);
		if ((rc = read_rec(res, r, m, 0, rec, err)) != 0) {
			if (wrap_id)
				wrap_rec(m, rec, rc, err);
			return rc;
		}
		if ((rc = fn(ctx, rec)) != 0)
			return rc;
	}
	return 0;
}

/* INSERT ... RETURNING one integer. */
static int insert_returning(struct pgc *p, const char *sql,
			    const struct params *P, struct outcome *o,
			    int64_t *v)
{
	int rc = run(p, sql, P, PGRES_TUPLES_OK, o);
	if (rc == 0) {
		if (PQntuples(o->res) != 1 ||
		    sscanf(PQgetvalue(o->res, 0, 0), "%" SCNd64, v) != 1) {
			jpki_strlcpy_cut(o->msg, "no id returned",
					 sizeof(o->msg));
			rc = -1;
		}
	}
	PQclear(o->res);
	o->res = NULL;
	return rc;
}

/* ---- writes sent in a pipeline ------------------------------------------ */

#define AUDIT_COLS 7
#define AUDIT_ROWS_PER_INSERT 128

static void drop_pending(struct pgc *p)
{
	for (size_t i = 0; i < p->nq; i++) {
		for (int j = 0; j < p->q[i]->n; j++)
			free(p->q[i]->v[j]);
		free(p->q[i]);
	}
	p->nq = 0;
	p->npend = 0;
}

/* Queue sql with copies of P's values; c names the certificate in the
 * message of a failure (queued_msg). */
static int queue_write(struct pgc *p, const char *sql, const struct params *P,
		       const store_cert *c, jpki_err *err)
{
	struct queued *w;
	if (p->nq == p->cap_q) {
		size_t cap = p->cap_q == 0 ? 16 : 2 * p->cap_q;
		struct queued **n = realloc(p->q, cap * sizeof(*n));
		if (n == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		p->q = n;
		p->cap_q = cap;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	w->sql = sql;
	w->n = P->n;
	for (int i = 0; i < P->n; i++) {
		size_t len;
		w->len[i] = P->len[i];
		w->fmt[i] = P->fmt[i];
		if (P->v[i] == NULL)
			continue;
		len = P->fmt[i] == 1 ? (size_t)P->len[i] : strlen(P->v[i]) + 1;
		if ((w->v[i] = malloc(len > 0 ? len : 1)) == NULL) {
			for (int j = 0; j < i; j++)
				free(w->v[j]);
			free(w);
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		}
		memcpy(w->v[i], P->v[i], len);
	}
	w->cert = *c;
	w->cert.der = NULL;
	w->cert.der_len = 0;
	p->q[p->nq++] = w;
	return 0;
}

/* The message of a certificate's INSERT that failed with *o. */
static void queued_msg(const struct outcome *o, const store_cert *c, char *msg,
		       size_t cap)
{
	if (strcmp(o->state, "23505") == 0)
		snprintf(msg, cap, "certificate serial %s already exists",
			 c->serial);
	else if (strcmp(o->state, "23503") == 0 &&
		 strstr(o->constraint, "resident") != NULL)
		snprintf(msg, cap, "certificate %s: resident %lld not found",
			 c->serial, (long long)c->resident_id);
	else if (strcmp(o->state, "23503") == 0 &&
		 strstr(o->constraint, "card") != NULL)
		snprintf(msg, cap, "certificate %s: card %s not found",
			 c->serial, c->card_serial);
	else if (strcmp(o->state, "23503") == 0)
		snprintf(msg, cap, "certificate %s: municipality %s not found",
			 c->serial, c->muni_code);
	else
		snprintf(msg, cap, "writing certificate %s: %s", c->serial,
			 o->msg);
}

/* The multi-row audit INSERT: "INSERT ... VALUES ($1,...,$7),..." for k
 * rows, into sql (AUDIT_SQL_CAP bytes). */
static const char audit_head[] =
    "INSERT INTO audit (seq, at, actor, action, detail, prev_hash,"
    " hash) VALUES ";
#define AUDIT_SQL_CAP (sizeof(audit_head) + AUDIT_ROWS_PER_INSERT * 64)

static void audit_sql(char *sql, size_t k)
{
	size_t off = sizeof(audit_head) - 1;
	memcpy(sql, audit_head, off + 1);
	for (size_t r = 0; r < k; r++) {
		int b = (int)(r * AUDIT_COLS);
		off += (size_t)snprintf(sql + off, AUDIT_SQL_CAP - off,
					"%s($%d,$%d,$%d,$%d,$%d,$%d,$%d)",
					r > 0 ? "," : "", b + 1, b + 2, b + 3,
					b + 4, b + 5, b + 6, b + 7);
	}
}

/* The statements of one run_piped: the queued writes, the audit INSERTs
 * (`full` for AUDIT_ROWS_PER_INSERT rows, then `last` for the rest),
 * then sql and sql2 (each NULL: none). */
struct piped {
	const char *sql, *sql2;
	size_t nfull, naudit, total;
	char full[AUDIT_SQL_CAP], last[AUDIT_SQL_CAP];
};

static void piped_init(const struct pgc *p, struct piped *t, const char *sql,
		       const char *sql2)
{
	size_t rest = p->npend % AUDIT_ROWS_PER_INSERT;
	t->sql = sql;
	t->sql2 = sql2;
	t->nfull = p->npend / AUDIT_ROWS_PER_INSERT;
	t->naudit = t->nfull + (rest > 0);
	t->total = p->nq + t->naudit + (sql != NULL) + (sql2 != NULL);
	if (t->nfull > 0)
		audit_sql(t->full, AUDIT_ROWS_PER_INSERT);
	if (rest > 0)
		audit_sql(t->last, rest);
}

/* The SQL text of statement i of t. */
static const char *piped_sql(const struct pgc *p, const struct piped *t,
			     size_t i)
{
	if (i < p->nq)
		return p->q[i]->sql;
	i -= p->nq;
	if (i < t->naudit)
		return i < t->nfull ? t->full : t->last;
	i -= t->naudit;
	return i == 0 && t->sql != NULL ? t->sql : t->sql2;
}

/* Send the pending writes into the pipeline: the queued ones, then the
 * audit records, AUDIT_ROWS_PER_INSERT to an INSERT.  The number of
 * statements sent, or -1 when sending failed. */
static int send_pending(struct pgc *p, const struct piped *t)
{
	const char *v[AUDIT_ROWS_PER_INSERT * AUDIT_COLS];
	char num[AUDIT_ROWS_PER_INSERT][2][24];
	int sent = 0;
	for (size_t i = 0; i < p->nq; i++, sent++)
		if (prep_send(p, p->q[i]->sql, p->q[i]->n,
			      (const char *const *)p->q[i]->v, p->q[i]->len,
			      p->q[i]->fmt) != 1)
			return -1;
	for (size_t done = 0; done < p->npend; sent++) {
		size_t k = p->npend - done;
		if (k > AUDIT_ROWS_PER_INSERT)
			k = AUDIT_ROWS_PER_INSERT;
		for (size_t r = 0; r < k; r++) {
			const store_audit *a = &p->pend[done + r];
			int b = (int)(r * AUDIT_COLS);
			snprintf(num[r][0], sizeof(num[r][0]), "%" PRId64,
				 a->seq);
			snprintf(num[r][1], sizeof(num[r][1]), "%lld",
				 (long long)a->at);
			v[b] = num[r][0];
			v[b + 1] = num[r][1];
			v[b + 2] = a->actor;
			v[b + 3] = a->action;
			v[b + 4] = a->detail;
			v[b + 5] = a->prev_hash;
			v[b + 6] = a->hash;
		}
		if (prep_send(p, piped_sql(p, t, (size_t)sent),
			      (int)(k * AUDIT_COLS), v, NULL, NULL) != 1)
			return -1;
		done += k;
	}
	return sent;
}

/* Inside a transaction: the pending writes, then sql with P (NULL: none)
 * and sql2 (NULL: none; no parameters), in one pipeline -- one round trip
 * (libpq pipeline mode), after preparing whichever of them this
 * connection has not prepared yet.  0 when every write succeeded and the
 * statements gave `want`, with o->res the last one's result; else -1 with
 * the first failure in *o (a queued write's message as queued_msg words
 * it).  The server runs them in order, each with a snapshot of its own
 * (READ COMMITTED).  Nothing is pending afterwards: after a failure the
 * transaction is lost and the caller rolls back. */
static int run_piped(struct pgc *p, const char *sql, const struct params *P,
		     const char *sql2, ExecStatusType want, struct outcome *o)
{
	static const struct params none = {0};
	struct outcome r;
	struct piped *t;
	int total, writes, rc = 0;
	memset(o, 0, sizeof(*o));
	if (p->lost || !conn_ok(p)) {
		set_outcome(o, "08003",
			    "connection to the PostgreSQL store lost inside a "
			    "transaction");
		drop_pending(p);
		return -1;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		set_outcome(o, "53200", "out of memory");
		drop_pending(p);
		return -1;
	}
	if (P == NULL)
		P = &none;
	piped_init(p, t, sql, sql2);
	total = (int)t->total;
	/* a failed prepare is that statement's failure */
	for (size_t i = 0; i < t->total; i++) {
		const char *s = piped_sql(p, t, i);
		if ((i > 0 && s == piped_sql(p, t, i - 1)) ||
		    prep_ensure(p, s, o, NULL) == 0)
			continue;
		if (i < p->nq) {
			char msg[512];
			queued_msg(o, &p->q[i]->cert, msg, sizeof(msg));
			jpki_strlcpy_cut(o->msg, msg, sizeof(o->msg));
		}
		rc = -1;
		goto out;
	}
	if (PQenterPipelineMode(p->c) != 1 ||
	    (writes = send_pending(p, t)) < 0 ||
	    (sql != NULL &&
	     prep_send(p, sql, P->n, P->v, P->len, P->fmt) != 1) ||
	    (sql2 != NULL && prep_send(p, sql2, 0, NULL, NULL, NULL) != 1) ||
	    PQpipelineSync(p->c) != 1) {
		set_outcome(o, "08006", PQerrorMessage(p->c));
		p->lost = true;
		rc = -1;
		goto out;
	}
	for (int i = 0; i < total; i++) {
		PGresult *res = PQgetResult(p->c);
		if (res == NULL) {
			if (rc == 0)
				set_outcome(o, "08006",
					    "connection to the PostgreSQL "
					    "store lost");
			rc = -1;
			p->lost = true;
			break;
		}
		if (outcome_of(p, res, i < writes ? PGRES_COMMAND_OK : want,
			       &r) != 0) {
			prep_forget(p, piped_sql(p, t, (size_t)i), &r);
			if (rc != 0) {
				PQclear(r.res);
			} else {
				rc = -1;
				*o = r;
				if (i < (int)p->nq) {
					char msg[512];
					queued_msg(&r, &p->q[i]->cert, msg,
						   sizeof(msg));
					jpki_strlcpy_cut(o->msg, msg,
							 sizeof(o->msg));
				}
			}
		} else if (rc == 0 && i == total - 1) {
			*o = r;
		} else {
			PQclear(r.res);
		}
		while ((res = PQgetResult(p->c)) != NULL)
			PQclear(res);
	}
	if (!p->lost) {
		PGresult *res = PQgetResult(p->c);
		bool sync =
		    res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (!sync || PQexitPipelineMode(p->c) != 1) {
			p->lost = true;
			if (rc == 0) {
				PQclear(o->res);
				set_outcome(o, "08006",
					    "PostgreSQL pipeline out of step");
				rc = -1;
			}
		}
	}
out:
	if (rc != 0 && (!conn_ok(p) || state_lost(o->state)))
		p->lost = true;
	free(t);
	drop_pending(p);
	return rc;
}

/* ---- open, close, transactions ------------------------------------------ */

static void pg_close(void *impl)
{
	struct pgc *p = impl;
	if (p == NULL)
		return;
	PQfinish(p->c);
	prep_reset(p);
	free(p->prep);
	free(p->loc);
	drop_pending(p);
	free(p->pend);
	free(p->q);
	free(p);
}

static int pg_open(const char *location, const char *opts, void **impl,
		   jpki_err *err)
{
	struct pgc *p = NULL;
	struct outcome o;
	int rc = 0;
	if (opts != NULL && opts[0] != '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "PostgreSQL store options go in the URI");
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->loc = strdup(location)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (connect_once(p, &o) != 0) {
		if (p->c == NULL || PQstatus(p->c) != CONNECTION_OK) {
			/* a URI libpq cannot parse is the caller's mistake */
			rc = jpki_fail(err,
				       strstr(o.msg, "invalid") != NULL
					   ? JPKI_ERR_INVAL
					   : JPKI_ERR_IO,
				       "cannot connect to the PostgreSQL "
				       "store: %s",
				       o.msg);
		} else {
			rc = pg_fail(p, &o, err,
				     "setting up the PostgreSQL store");
		}
		goto out;
	}
	*impl = p;
	p = NULL; /* transferred */
out:
	pg_close(p);
	return rc;
}

static int simple(struct pgc *p, const char *sql, const char *what,
		  jpki_err *err)
{
	struct outcome o;
	if (cmd(p, sql, NULL, &o, NULL) != 0)
		return pg_fail(p, &o, err, "%s", what);
	return 0;
}

static int tx_begin(struct pgc *p, const char *sql, const char *what,
		    jpki_err *err)
{
	p->audit_seq = 0;
	p->audit_hash[0] = '\0';
	p->audit_locked = false;
	p->defer = false;
	drop_pending(p);
	int rc = simple(p, sql, what, err);
	if (rc == 0)
		p->in_tx = true;
	return rc;
}

static int pg_begin(void *impl, jpki_err *err)
{
	return tx_begin(impl, "BEGIN ISOLATION LEVEL READ COMMITTED",
			"starting a store transaction", err);
}

static void sleep_until(double t)
{
	double d = t - mono();
	if (d <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)d,
			      .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The answer to a COMMIT was lost with the connection: the transaction
 * may or may not be durable (the primary may have died before or after
 * it, its synchronous standby may or may not have it).  It is neither
 * reported as done nor retried blindly: the audit record it appended is
 * looked up on whichever member is primary now.  The audit lock is taken
 * first, so that a COMMIT still running on a live server (the link broke,
 * the server did not) finishes before the look-up.  Found with our hash:
 * committed.  Missing or another record in its place: not committed
 * (JPKI_ERR_UNAVAILABLE, try again).  No primary within RESOLVE_SECS, or
 * no audit record in the transaction: unknown, JPKI_ERR_UNAVAILABLE with
 * a message that says so. */
static int commit_outcome(struct pgc *p, const char *why, jpki_err *err)
{
	struct outcome o;
	struct params L = {0}, Q = {0};
	double deadline = mono() + RESOLVE_SECS;
	int found = -1; /* 1 committed, 0 not, -1 unknown */
	if (p->audit_seq == 0)
		return jpki_fail(err, JPKI_ERR_UNAVAILABLE,
				 "connection to the PostgreSQL store lost "
				 "during COMMIT (%s); the outcome is unknown",
				 why);
	p_int(&L, LOCK_NS_AUDIT);
	p_int(&Q, p->audit_seq);
	while (found < 0 && mono() < deadline) {
		if (p->lost || !conn_ok(p)) {
			sleep_until(p->retry_at);
			if (reconnect(p, &o) != 0)
				continue;
		}
		if (run_once(p, "BEGIN", NULL, PGRES_COMMAND_OK, &o) == 0) {
			PQclear(o.res);
			if (run_once(p,
				     "SELECT pg_advisory_xact_lock($1::int, 0)",
				     &L, PGRES_TUPLES_OK, &o) == 0) {
				PQclear(o.res);
				if (run_once(p,
					     "SELECT hash FROM audit WHERE seq "
					     "= $1::bigint",
					     &Q, PGRES_TUPLES_OK, &o) == 0)
					found = PQntuples(o.res) == 1 &&
						strcmp(PQgetvalue(o.res, 0, 0),
						       p->audit_hash) == 0;
			}
		}
		PQclear(o.res);
		if (conn_ok(p) && PQtransactionStatus(p->c) != PQTRANS_IDLE)
			PQclear(PQexec(p->c, "ROLLBACK"));
		if (found < 0 && (!conn_ok(p) || state_lost(o.state))) {
			p->lost = true;
			if (p->retry_at < mono() + BACKOFF_MIN)
				p->retry_at = mono() + BACKOFF_MIN;
		} else if (found < 0) {
			/* the old COMMIT still holds the audit lock */
			sleep_until(mono() + BACKOFF_MIN);
		}
	}
	if (found == 1)
		return 0;
	if (found == 0)
		return jpki_fail(err, JPKI_ERR_UNAVAILABLE,
				 "connection to the PostgreSQL store lost "
				 "during COMMIT (%s); the transaction was not "
				 "committed",
				 why);
	return jpki_fail(err, JPKI_ERR_UNAVAILABLE,
			 "connection to the PostgreSQL store lost during "
			 "COMMIT (%s) and no primary answered within %.0f s; "
			 "the outcome is unknown",
			 why, RESOLVE_SECS);
}

/* Tests only (store_impl.h): the next n COMMITs are sent, and once the
 * server has answered the answer is dropped with the connection, as when
 * the primary dies between committing and replying. */
int store_pg_test_lose_commit_answer;

static int commit_answer_lost(struct pgc *p, jpki_err *err)
{
	struct pollfd pf = {.fd = PQsocket(p->c), .events = POLLIN};
	store_pg_test_lose_commit_answer--;
	if (PQsendQuery(p->c, "COMMIT") != 1)
		return jpki_fail(err, JPKI_ERR_STORE, "test: COMMIT not sent");
	while (poll(&pf, 1, 10000) < 0 && errno == EINTR)
		;
	p->lost = true;
	p->in_tx = false;
	return commit_outcome(p, "test: answer dropped", err);
}

static int pg_commit(void *impl, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	p->audit_locked = false;
	p->defer = false;
	if (store_pg_test_lose_commit_answer > 0 && conn_ok(p) && !p->lost) {
		if (pending(p)) {
			int r = run_piped(p, NULL, NULL, NULL, PGRES_COMMAND_OK,
					  &o);
			PQclear(o.res);
			if (r != 0)
				return pg_fail(p, &o, err,
					       "committing to the store");
		}
		return commit_answer_lost(p, err);
	}
	/* with the writes still pending, in one round trip */
	int rc = run(p, "COMMIT", NULL, PGRES_COMMAND_OK, &o);
	/* COMMIT of a failed transaction "succeeds" as ROLLBACK */
	if (rc == 0 && strcmp(PQcmdStatus(o.res), "COMMIT") != 0) {
		rc = jpki_fail(err, JPKI_ERR_STORE,
			       "committing to the store: the transaction had "
			       "failed and was rolled back");
	} else if (rc != 0 && (p->lost || !conn_ok(p))) {
		p->lost = true;
		p->in_tx = false;
		rc = commit_outcome(p, o.msg, err);
	} else if (rc != 0) {
		rc = pg_fail(p, &o, err, "committing to the store");
	}
	if (rc == 0)
		p->in_tx = false;
	PQclear(o.res);
	return rc;
}

static void pg_rollback(void *impl)
{
	struct pgc *p = impl;
	if (!p->lost && conn_ok(p) &&
	    PQtransactionStatus(p->c) != PQTRANS_IDLE) {
		PQclear(PQexec(p->c, "ROLLBACK"));
		if (!conn_ok(p))
			p->lost = true;
	}
	p->in_tx = false;
	p->audit_seq = 0;
	p->audit_locked = false;
	p->defer = false;
	drop_pending(p);
}

static void pg_defer_writes(void *impl)
{
	struct pgc *p = impl;
	p->defer = p->in_tx;
}

static int pg_read_begin(void *impl, jpki_err *err)
{
	return tx_begin(impl, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			"starting a read snapshot", err);
}

static void pg_read_end(void *impl)
{
	pg_rollback(impl);
}

static int pg_exec(void *impl, const char *sql, jpki_err *err)
{
	return simple(impl, sql, "PostgreSQL store", err);
}

static int pg_schema_current(void *impl, int *version, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int rc;
	/* two processes opening a new store: one migrates, the other waits
	 * and then finds it done */
	p_int(&P, LOCK_NS_SCHEMA);
	if (run(p, "SELECT pg_advisory_xact_lock($1::int, 0)", &P,
		PGRES_TUPLES_OK, &o) != 0) {
		PQclear(o.res);
		return pg_fail(p, &o, err, "locking the schema");
	}
	PQclear(o.res);
	if ((rc = simple(p,
			 "CREATE TABLE IF NOT EXISTS schema_version ("
			 " version INTEGER PRIMARY KEY,"
			 " name TEXT NOT NULL)",
			 "creating schema_version", err)) != 0)
		return rc;
	if (run(p, "SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL,
		PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "reading the schema version");
		goto out;
	}
	long v = strtol(PQgetvalue(o.res, 0, 0), NULL, 10);
	if (v < 0 || v > 1000000)
		rc = jpki_fail(err, JPKI_ERR_SCHEMA,
			       "schema version %ld is not valid", v);
	else
		*version = (int)v;
out:
	PQclear(o.res);
	return rc;
}

static int pg_schema_record(void *impl, int version, const char *name,
			    jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_int(&P, version);
	p_text(&P, name);
	if (cmd(p, "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
		&P, &o, NULL) != 0)
		return pg_fail(p, &o, err, "recording schema version %d",
			       version);
	return 0;
}

/* "not ok" never: PostgreSQL checks its own pages; amcheck is an
 * extension the store does not require.  The check asks the server
 * whether it answers and the schema is there. */
static int pg_check(void *impl, bool full, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	(void)full;
	if (run(p, "SELECT count(*) FROM schema_version", NULL, PGRES_TUPLES_OK,
		&o) != 0) {
		PQclear(o.res);
		return pg_fail(p, &o, err, "checking the PostgreSQL store");
	}
	PQclear(o.res);
	return 0;
}

/* ---- meta --------------------------------------------------------------- */

static int meta_read(struct pgc *p, const char *sql, const char *key, char *val,
		     size_t cap, jpki_err *err)
{
	struct outcome o;
	struct params P = {0};
	int rc = 0;
	p_text(&P, key);
	if (run(p, sql, &P, PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "reading setting %s", key);
		goto out;
	}
	if (PQntuples(o.res) == 0) {
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND, "setting %s is not set",
			       key);
		goto out;
	}
	size_t n = (size_t)PQgetlength(o.res, 0, 0);
	if (n >= cap) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "setting %s is %zu bytes; the buffer holds %zu",
			       key, n, cap - 1);
		goto out;
	}
	rc = store_copy_text(val, cap, PQgetvalue(o.res, 0, 0), n, "setting",
			     err);
out:
	PQclear(o.res);
	return rc;
}

static int pg_meta_get(void *impl, const char *key, char *val, size_t cap,
		       jpki_err *err)
{
	return meta_read(impl, "SELECT value FROM meta WHERE key = $1", key,
			 val, cap, err);
}

static int pg_meta_get_for_update(void *impl, const char *key, char *val,
				  size_t cap, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_int(&P, LOCK_NS_META);
	p_text(&P, key);
	if (run(p, "SELECT pg_advisory_xact_lock($1::int, hashtext($2))", &P,
		PGRES_TUPLES_OK, &o) != 0) {
		PQclear(o.res);
		return pg_fail(p, &o, err, "locking setting %s", key);
	}
	PQclear(o.res);
	return meta_read(p, "SELECT value FROM meta WHERE key = $1 FOR UPDATE",
			 key, val, cap, err);
}

static int pg_meta_set(void *impl, const char *key, const char *val,
		       jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_text(&P, key);
	p_text(&P, val);
	if (cmd(p,
		"INSERT INTO meta (key, value) VALUES ($1, $2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		&P, &o, NULL) != 0)
		return pg_fail(p, &o, err, "writing setting %s", key);
	return 0;
}

/* ---- municipalities ----------------------------------------------------- */

static int pg_muni_put(void *impl, const store_muni *m, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_fields(&P, &rm_muni, 0, rm_muni.n, m);
	if (cmd(p,
		"INSERT INTO municipalities"
		" (code, pref_roman, city_roman, pref, city)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (code) DO UPDATE SET"
		" pref_roman = excluded.pref_roman,"
		" city_roman = excluded.city_roman,"
		" pref = excluded.pref, city = excluded.city",
		&P, &o, NULL) != 0)
		return pg_fail(p, &o, err, "writing municipality %s", m->code);
	return 0;
}

static int pg_muni_get(void *impl, const char *code, store_muni *out,
		       jpki_err *err)
{
	struct params P = {0};
	p_text(&P, code);
	return get_row(impl,
		       "SELECT code, pref_roman, city_roman, pref, city"
		       " FROM municipalities WHERE code = $1",
		       &P, &rm_muni, out, sizeof(*out), "municipality", code,
		       err);
}

static int pg_muni_each(void *impl, store_muni_fn fn, void *ctx, jpki_err *err)
{
	return each_row(impl,
			"SELECT code, pref_roman, city_roman, pref, city"
			" FROM municipalities ORDER BY code",
			NULL, &rm_muni, sizeof(store_muni), false, (row_fn)fn,
			ctx, "listing municipalities", err);
}

/* ---- residents ---------------------------------------------------------- */

#define RES_COLS                                                               \
	"id, ext_id, name, kana, address, birth, sex, muni_code, adult_ward, " \
	"status, updated_at, my_number"

struct res_keys {
	char name[2 * sizeof(((store_resident *)0)->name) + 2];
	char address[sizeof(((store_resident *)0)->address)];
};

static int resident_keys(const store_resident *r, struct res_keys *k,
			 jpki_err *err)
{
	size_t n;
	if (jpki_text_fold(r->name, k->name, sizeof(k->name), NULL) != 0)
		goto bad;
	n = strlen(k->name);
	k->name[n++] = '\t';
	if (jpki_text_fold(r->kana, k->name + n, sizeof(k->name) - n, NULL) !=
		0 ||
	    jpki_text_fold(r->address, k->address, sizeof(k->address), NULL) !=
		0)
		goto bad;
	return 0;
bad:
	return jpki_fail(err, JPKI_ERR_INVAL,
			 "resident %s: text cannot be folded", r->ext_id);
}

static int resident_fail(struct pgc *p, const struct outcome *o,
			 const store_resident *r, jpki_err *err)
{
	if (strcmp(o->state, "23505") == 0)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "a resident with ext_id %s already exists",
				 r->ext_id);
	if (strcmp(o->state, "23503") == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "resident %s: municipality %s not found",
				 r->ext_id, r->muni_code);
	return pg_fail(p, o, err, "writing resident %s", r->ext_id);
}

static int pg_resident_add(void *impl, const store_resident *r, int64_t *id,
			   jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	struct res_keys k;
	int rc = resident_keys(r, &k, err);
	if (rc != 0)
		return rc;
	p_fields(&P, &rm_resident, 1, rm_resident.n - 1, r);
	p_text(&P, k.name);
	p_text(&P, k.address);
	if (insert_returning(p,
			     "INSERT INTO residents (ext_id, name, kana,"
			     " address, birth, sex, muni_code, adult_ward,"
			     " status, updated_at, my_number, name_key,"
			     " address_key) VALUES ($1, $2, $3, $4, $5, $6,"
			     " $7, $8, $9, $10, $11, $12, $13) RETURNING id",
			     &P, &o, id) != 0)
		return resident_fail(p, &o, r, err);
	return 0;
}

static int pg_resident_update(void *impl, const store_resident *r,
			      jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	struct res_keys k;
	int changes = 0, rc = resident_keys(r, &k, err);
	if (rc != 0)
		return rc;
	p_fields(&P, &rm_resident, 0, rm_resident.n, r);
	p_text(&P, k.name);
	p_text(&P, k.address);
	if (cmd(p,
		"UPDATE residents SET ext_id = $2, name = $3, kana = $4,"
		" address = $5, birth = $6, sex = $7, muni_code = $8,"
		" adult_ward = $9, status = $10, updated_at = $11,"
		" my_number = $12, name_key = $13, address_key = $14"
		" WHERE id = $1",
		&P, &o, &changes) != 0)
		return resident_fail(p, &o, r, err);
	if (changes == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "resident %lld not found", (long long)r->id);
	return 0;
}

static int pg_resident_get(void *impl, int64_t id, store_resident *out,
			   jpki_err *err)
{
	struct params P = {0};
	char key[24];
	p_int(&P, id);
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return get_row(impl, "SELECT " RES_COLS " FROM residents WHERE id = $1",
		       &P, &rm_resident, out, sizeof(*out), "resident", key,
		       err);
}

static int pg_resident_get_ext(void *impl, const char *ext_id,
			       store_resident *out, jpki_err *err)
{
	struct params P = {0};
	char key[48];
	p_text(&P, ext_id);
	snprintf(key, sizeof(key), "with ext_id %s", ext_id);
	return get_row(
	    impl, "SELECT " RES_COLS " FROM residents WHERE ext_id = $1", &P,
	    &rm_resident, out, sizeof(*out), "resident", key, err);
}

static int pg_resident_search(void *impl, const char *q_text, int limit,
			      store_resident_fn fn, void *ctx, jpki_err *err)
{
	struct params P = {0};
	p_text(&P, q_text);
	p_int(&P, limit);
	return each_row(impl,
			"SELECT " RES_COLS " FROM residents"
			" WHERE $1 = '' OR strpos(name, $1) > 0"
			" OR strpos(kana, $1) > 0 OR strpos(ext_id, $1) > 0"
			" ORDER BY id LIMIT $2::bigint",
			&P, &rm_resident, sizeof(store_resident), false,
			(row_fn)fn, ctx, "searching residents", err);
}

static int pg_resident_find(void *impl, const store_resident_query *qr,
			    int limit, store_resident_fn fn, void *ctx,
			    jpki_err *err)
{
	struct params P = {0};
	char birth[11] = "";
	if (qr->birth.y != 0)
		jpki_date_format(qr->birth, birth);
	p_text(&P, birth);
	p_text(&P, qr->key);
	p_text(&P, qr->ext);
	p_int(&P, limit);
	return each_row(impl,
			"SELECT " RES_COLS " FROM residents"
			" WHERE ($1 = '' AND $2 = '' AND $3 = '')"
			" OR ($1 <> '' AND birth = $1)"
			" OR ($2 <> '' AND (strpos(name_key, $2) > 0"
			" OR strpos(address_key, $2) > 0))"
			" OR ($3 <> '' AND (strpos(lower(ext_id), $3) > 0"
			" OR my_number = $3))"
			" ORDER BY id LIMIT $4::bigint",
			&P, &rm_resident, sizeof(store_resident), false,
			(row_fn)fn, ctx, "searching residents", err);
}

/* ---- cards -------------------------------------------------------------- */

static int pg_card_put(void *impl, const store_card *c, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_fields(&P, &rm_card, 0, rm_card.n, c);
	if (cmd(p,
		"INSERT INTO cards (serial, resident_id, issued, expiry, "
		"status)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (serial) DO UPDATE SET"
		" resident_id = excluded.resident_id,"
		" issued = excluded.issued, expiry = excluded.expiry,"
		" status = excluded.status",
		&P, &o, NULL) == 0)
		return 0;
	if (strcmp(o.state, "23503") == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "card %s: resident %lld not found", c->serial,
				 (long long)c->resident_id);
	return pg_fail(p, &o, err, "writing card %s", c->serial);
}

static int pg_card_get(void *impl, const char *serial, store_card *out,
		       jpki_err *err)
{
	struct params P = {0};
	p_text(&P, serial);
	return get_row(impl,
		       "SELECT serial, resident_id, issued, expiry, status"
		       " FROM cards WHERE serial = $1",
		       &P, &rm_card, out, sizeof(*out), "card", serial, err);
}

/* ---- certificates ------------------------------------------------------- */

#define CERT_COLS                                                              \
	"serial, kind, resident_id, card_serial, muni_code, subject, "         \
	"not_before, not_after, status, reason, revoked_at, gen"

#define CERT_INSERT_SQL                                                        \
	"INSERT INTO certificates (" CERT_COLS                                 \
	", der) VALUES ($1, $2, $3, $4,"                                       \
	" $5, $6, $7, $8, $9, $10, $11, $12, $13)"

static int pg_cert_put(void *impl, const store_cert *c, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	store_cert row = *c;
	row.status = c->status == STORE_CERT_REVOKED ? STORE_CERT_REVOKED
						     : STORE_CERT_VALID;
	p_fields(&P, &rm_cert, 0, rm_cert.n, &row);
	if (row.status != STORE_CERT_REVOKED) {
		P.v[9] = NULL;	/* reason */
		P.v[10] = NULL; /* revoked_at */
	}
	p_blob(&P, c->der, c->der_len);
	/* deferred: sent with the transaction's next statement (run_piped) */
	if (p->in_tx && p->defer)
		return queue_write(p, CERT_INSERT_SQL, &P, c, err);
	if (cmd(p, CERT_INSERT_SQL, &P, &o, NULL) == 0)
		return 0;
	char msg[512];
	queued_msg(&o, c, msg, sizeof(msg));
	return jpki_fail(
	    err, code_of_state(o.state[0] != '\0' ? o.state : NULL, p->c), "%s",
	    msg);
}

static int pg_cert_get(void *impl, const char *serial, store_cert *out,
		       jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	store_cert c;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;
	p_text(&P, serial);
	if (run(p,
		"SELECT " CERT_COLS ", der FROM certificates WHERE serial = $1",
		&P, PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "reading certificate %s", serial);
		goto out;
	}
	if (PQntuples(o.res) == 0) {
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "certificate %s not found", serial);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	if ((rc = read_rec(o.res, 0, &rm_cert, 0, &c, err)) != 0)
		goto out;
	if (!PQgetisnull(o.res, 0, rm_cert.n))
		der = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(o.res, 0, rm_cert.n),
		    &len);
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
	PQfreemem(der);
	PQclear(o.res);
	return rc;
}

static int pg_audit_head(void *impl, int64_t *seq, char hash[65],
			 jpki_err *err);

static int pg_cert_state(void *impl, const char *serial,
			 store_cert_status *status, int *reason,
			 time_t *revoked_at, jpki_err *err)
{
	struct pgc *p = impl;
	struct params P = {0};
	struct rm_cert_state s;
	int rc;
	/* the audit lock before the row's: an issuance batch takes them in
	 * that order (it revokes what a renewal replaces after locking the
	 * audit log), so a revocation taking the row first could deadlock
	 * with it */
	if (p->in_tx && !p->audit_locked) {
		int64_t seq;
		char head[65];
		if ((rc = pg_audit_head(impl, &seq, head, err)) != 0)
			return rc;
	}
	p_text(&P, serial);
	rc = get_row(impl,
		     "SELECT status, reason, revoked_at FROM certificates"
		     " WHERE serial = $1 FOR UPDATE",
		     &P, &rm_cert_state, &s, sizeof(s), "certificate", serial,
		     err);
	if (rc != 0)
		return rc;
	*status = s.status;
	*reason = s.reason;
	*revoked_at = s.revoked_at;
	return 0;
}

static int pg_cert_set_revoked(void *impl, const char *serial, int reason,
			       time_t at, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int changes = 0;
	p_text(&P, serial);
	p_int(&P, reason);
	p_int(&P, (int64_t)at);
	if (cmd(p,
		"UPDATE certificates SET status = 1, reason = $2,"
		" revoked_at = $3 WHERE serial = $1",
		&P, &o, &changes) != 0)
		return pg_fail(p, &o, err, "revoking certificate %s", serial);
	if (changes == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "certificate %s not found", serial);
	return 0;
}

static int cert_list(struct pgc *p, const char *sql, const struct params *P,
		     store_cert_fn fn, void *ctx, jpki_err *err)
{
	return each_row(p, sql, P, &rm_cert, sizeof(store_cert), false,
			(row_fn)fn, ctx, "listing certificates", err);
}

/* The revoked certificates, streamed (a CRL's rows: millions). */
static int revoked_list(struct pgc *p, const char *sql, const struct params *P,
			store_cert_fn fn, void *ctx, jpki_err *err)
{
	return stream_rows(p, sql, P, &rm_cert, sizeof(store_cert), false,
			   (row_fn)fn, ctx, "listing revoked certificates",
			   err);
}

static int pg_cert_by_resident(void *impl, int64_t resident_id,
			       store_cert_fn fn, void *ctx, jpki_err *err)
{
	struct params P = {0};
	p_int(&P, resident_id);
	return cert_list(impl,
			 "SELECT " CERT_COLS " FROM certificates"
			 " WHERE resident_id = $1"
			 " ORDER BY not_before DESC, serial DESC",
			 &P, fn, ctx, err);
}

static int pg_cert_revoked(void *impl, int kind, const char *muni_code,
			   time_t not_after_from, store_cert_fn fn, void *ctx,
			   jpki_err *err)
{
	struct params P = {0};
	p_int(&P, kind);
	p_int(&P, (int64_t)not_after_from);
	if (muni_code == NULL)
		return revoked_list(
		    impl,
		    "SELECT " CERT_COLS " FROM certificates"
		    " WHERE kind = $1 AND status = 1"
		    " AND not_after >= $2"
		    " ORDER BY length(serial), serial COLLATE \"C\"",
		    &P, fn, ctx, err);
	p_text(&P, muni_code);
	return revoked_list(impl,
			    "SELECT " CERT_COLS " FROM certificates"
			    " WHERE kind = $1 AND muni_code = $3"
			    " AND status = 1 AND not_after >= $2"
			    " ORDER BY length(serial), serial COLLATE \"C\"",
			    &P, fn, ctx, err);
}

static int pg_crl_rows(void *impl, int kind, const char *muni_code,
		       time_t not_after_from, store_crl_row_fn fn, void *ctx,
		       jpki_err *err)
{
	struct params P = {0};
	p_int(&P, kind);
	p_int(&P, (int64_t)not_after_from);
	if (muni_code != NULL)
		p_text(&P, muni_code);
	/* an index-only scan of the revoked indexes (migration 8) */
	return stream_rows(
	    impl,
	    muni_code == NULL
		? "SELECT serial, reason, revoked_at, gen"
		  " FROM certificates"
		  " WHERE kind = $1 AND status = 1"
		  " AND not_after >= $2"
		  " ORDER BY length(serial), serial COLLATE \"C\""
		: "SELECT serial, reason, revoked_at, gen"
		  " FROM certificates"
		  " WHERE kind = $1 AND muni_code = $3"
		  " AND status = 1 AND not_after >= $2"
		  " ORDER BY length(serial), serial COLLATE \"C\"",
	    &P, &rm_crl_row, sizeof(store_crl_row), false, (row_fn)fn, ctx,
	    "listing revoked certificates", err);
}

static int pg_cert_expiring(void *impl, time_t from, time_t to,
			    store_cert_fn fn, void *ctx, jpki_err *err)
{
	struct params P = {0};
	p_int(&P, (int64_t)from);
	p_int(&P, (int64_t)to);
	/* streamed: OCSP warm-up and the audit read every valid
	 * certificate (a hundred million) */
	return stream_rows(impl,
			   "SELECT " CERT_COLS " FROM certificates"
			   " WHERE status = 0 AND not_after BETWEEN $1 AND $2"
			   " ORDER BY not_after, serial",
			   &P, &rm_cert, sizeof(store_cert), false, (row_fn)fn,
			   ctx, "listing expiring certificates", err);
}

/* Inside a transaction with nothing pending: n reads in one pipeline (one
 * round trip), res[i] their results (the caller PQclear()s them); 0, or
 * the first failure, named `what`, with every res[i] NULL. */
static int fetch_piped(struct pgc *p, int n, const char *const *sql,
		       const struct params *const *P, PGresult **res,
		       const char *what, jpki_err *err)
{
	struct outcome o;
	PGresult *r;
	int rc = 0;
	bool sync;
	for (int i = 0; i < n; i++)
		res[i] = NULL;
	/* prepared first (a failure is that statement's) */
	for (int i = 0; i < n; i++) {
		if ((i > 0 && sql[i] == sql[i - 1]) ||
		    prep_ensure(p, sql[i], &o, NULL) == 0)
			continue;
		if (!conn_ok(p) || state_lost(o.state))
			p->lost = true;
		return pg_fail(p, &o, err, "%s", what);
	}
	if (PQenterPipelineMode(p->c) != 1)
		goto lost;
	for (int i = 0; i < n; i++)
		if (prep_send(p, sql[i], P[i]->n, P[i]->v, P[i]->len,
			      P[i]->fmt) != 1)
			goto lost;
	if (PQpipelineSync(p->c) != 1)
		goto lost;
	for (int i = 0; i < n; i++) {
		if ((r = PQgetResult(p->c)) == NULL)
			goto lost;
		if (outcome_of(p, r, PGRES_TUPLES_OK, &o) == 0 && rc == 0) {
			res[i] = o.res;
		} else {
			prep_forget(p, sql[i], &o);
			if (rc == 0)
				rc = pg_fail(p, &o, err, "%s", what);
			PQclear(o.res);
		}
		while ((r = PQgetResult(p->c)) != NULL)
			PQclear(r);
	}
	r = PQgetResult(p->c);
	sync = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
	PQclear(r);
	if (!sync || PQexitPipelineMode(p->c) != 1)
		goto lost;
	if (rc != 0) {
		for (int i = 0; i < n; i++) {
			PQclear(res[i]);
			res[i] = NULL;
		}
		if (!conn_ok(p))
			p->lost = true;
	}
	return rc;
lost:
	p->lost = true;
	for (int i = 0; i < n; i++) {
		PQclear(res[i]);
		res[i] = NULL;
	}
	return rc != 0 ? rc
		       : jpki_fail(err, JPKI_ERR_UNAVAILABLE,
				   "%s: connection to the PostgreSQL store "
				   "lost",
				   what);
}

/* store_issue_reads: the three reads in one pipeline inside the batch's
 * read snapshot; one by one elsewhere. */
static int pg_issue_reads(void *impl, int64_t resident_id,
			  const char *card_serial, store_resident *res,
			  store_card *card, bool *card_found, store_cert_fn fn,
			  void *ctx, jpki_err *err)
{
	static const char *const sql[3] = {
	    "SELECT " RES_COLS " FROM residents WHERE id = $1",
	    "SELECT serial, resident_id, issued, expiry, status"
	    " FROM cards WHERE serial = $1",
	    "SELECT " CERT_COLS " FROM certificates WHERE resident_id = $1"
	    " ORDER BY not_before DESC, serial DESC"};
	struct pgc *p = impl;
	struct params R = {0}, C = {0};
	const struct params *P[3] = {&R, &C, &R};
	PGresult *r[3];
	char key[24];
	int rc;
	if (!p->in_tx || pending(p) || p->lost || !conn_ok(p)) {
		if ((rc = pg_resident_get(impl, resident_id, res, err)) != 0)
			return rc;
		rc = pg_card_get(impl, card_serial, card, err);
		*card_found = rc == 0;
		if (rc != 0 && rc != JPKI_ERR_NOT_FOUND)
			return rc;
		return pg_cert_by_resident(impl, resident_id, fn, ctx, err);
	}
	p_int(&R, resident_id);
	p_text(&C, card_serial);
	snprintf(key, sizeof(key), "%lld", (long long)resident_id);
	if ((rc = fetch_piped(p, 3, sql, P, r, "reading resident for issuing",
			      err)) != 0)
		return rc;
	if ((rc = row_of(r[0], &rm_resident, res, sizeof(*res), "resident", key,
			 err)) != 0)
		goto out;
	rc = row_of(r[1], &rm_card, card, sizeof(*card), "card", card_serial,
		    err);
	*card_found = rc == 0;
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = 0;
	if (rc == 0)
		rc = rows_of(r[2], &rm_cert, sizeof(store_cert), false,
			     (row_fn)fn, ctx, err);
out:
	for (int i = 0; i < 3; i++)
		PQclear(r[i]);
	return rc;
}

/* ---- audit -------------------------------------------------------------- */

/* The audit lock is taken by a transaction's first append and held until
 * it ends, so the head it read then, moved by the transaction's own
 * appends, stays the head: later appends ask the server nothing.  The
 * records themselves wait in p->pend and go as multi-row INSERTs in the
 * pipeline of the transaction's next statement or its COMMIT (run_piped):
 * a batch's appends cost no round trip of their own under the lock, not
 * three each. */
#define AUDIT_HEAD_SQL "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"

static int pg_audit_head(void *impl, int64_t *seq, char hash[65], jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct rm_audit_head h;
	char sql[160];
	int rc = 0;
	if (p->audit_locked) {
		*seq = p->head_seq;
		memcpy(hash, p->head_hash, sizeof(p->head_hash));
		return 0;
	}
	/* one round trip, two statements: READ COMMITTED gives the second a
	 * snapshot of its own, taken after the lock was granted, so it sees
	 * what the lock's previous holder committed.  With writes pending,
	 * the two follow them in their pipeline. */
	if (pending(p)) {
		struct params L = {0};
		p_int(&L, LOCK_NS_AUDIT);
		rc = run_piped(p, "SELECT pg_advisory_xact_lock($1::int, 0)",
			       &L, AUDIT_HEAD_SQL, PGRES_TUPLES_OK, &o);
	} else {
		snprintf(sql, sizeof(sql),
			 "SELECT pg_advisory_xact_lock(%d, 0); " AUDIT_HEAD_SQL,
			 LOCK_NS_AUDIT);
		rc = run(p, sql, NULL, PGRES_TUPLES_OK, &o);
	}
	if (rc != 0) {
		rc = pg_fail(p, &o, err, "locking and reading the audit log");
		goto out;
	}
	memset(&h, 0, sizeof(h));
	if (PQntuples(o.res) > 0 &&
	    (rc = read_rec(o.res, 0, &rm_audit_head, 0, &h, err)) != 0)
		goto out;
	*seq = h.seq;
	memcpy(hash, h.hash, sizeof(h.hash));
	if (p->in_tx) {
		p->audit_locked = true;
		p->head_seq = h.seq;
		memcpy(p->head_hash, h.hash, sizeof(h.hash));
	}
out:
	PQclear(o.res);
	return rc;
}

static int pg_audit_insert(void *impl, const store_audit *a, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	if (p->npend == p->cap_pend) {
		size_t cap = p->cap_pend == 0 ? 16 : 2 * p->cap_pend;
		store_audit *n = realloc(p->pend, cap * sizeof(*n));
		if (n == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		p->pend = n;
		p->cap_pend = cap;
	}
	/* the witness of this transaction's COMMIT (commit_outcome) */
	if (jpki_strlcpy(p->audit_hash, a->hash, sizeof(p->audit_hash)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "audit hash too long");
	p->audit_seq = a->seq;
	p->pend[p->npend++] = *a;
	if (p->audit_locked) {
		p->head_seq = a->seq;
		memcpy(p->head_hash, p->audit_hash, sizeof(p->head_hash));
	}
	/* unless store_defer_writes asked otherwise: at once */
	if (!p->in_tx || !p->defer) {
		int rc = run_piped(p, NULL, NULL, NULL, PGRES_COMMAND_OK, &o);
		PQclear(o.res);
		if (rc != 0)
			return pg_fail(p, &o, err,
				       "appending audit record %lld",
				       (long long)a->seq);
	}
	return 0;
}

/* ---- issuing a batch: reads and re-check in one round trip each ------- */

#define ISSUE_READS_SQL_RES "SELECT " RES_COLS " FROM residents WHERE id = $1"
#define ISSUE_READS_SQL_CARD                                                   \
	"SELECT serial, resident_id, issued, expiry, status"                   \
	" FROM cards WHERE serial = $1"
#define ISSUE_READS_SQL_CERTS                                                  \
	"SELECT " CERT_COLS " FROM certificates WHERE resident_id = $1"        \
	" ORDER BY not_before DESC, serial DESC"
/* requests per pipeline (3 statements each) */
#define ISSUE_PIPE 32

/* store_issue_reads_n: every request's three reads in one pipeline (per
 * ISSUE_PIPE requests) inside the batch's read snapshot; one request at
 * a time elsewhere. */
static int pg_issue_reads_n(void *impl, store_issue_read *r, size_t n,
			    jpki_err *err)
{
	struct pgc *p = impl;
	int rc = 0;
	if (!p->in_tx || pending(p) || p->lost || !conn_ok(p)) {
		for (size_t i = 0; i < n; i++) {
			rc = pg_issue_reads(impl, r[i].resident_id,
					    r[i].card_serial, &r[i].res,
					    &r[i].card, &r[i].card_found,
					    r[i].fn, r[i].ctx, err);
			if (rc == JPKI_ERR_NOT_FOUND)
				r[i].rc = rc;
			else if (rc != 0)
				return rc;
		}
		return 0;
	}
	for (size_t from = 0; from < n && rc == 0; from += ISSUE_PIPE) {
		size_t k = n - from < ISSUE_PIPE ? n - from : ISSUE_PIPE;
		struct params R[ISSUE_PIPE], C[ISSUE_PIPE];
		const char *sql[3 * ISSUE_PIPE];
		const struct params *P[3 * ISSUE_PIPE];
		PGresult *res[3 * ISSUE_PIPE];
		for (size_t j = 0; j < k; j++) {
			R[j].n = C[j].n = 0;
			p_int(&R[j], r[from + j].resident_id);
			p_text(&C[j], r[from + j].card_serial);
			sql[3 * j] = ISSUE_READS_SQL_RES;
			sql[3 * j + 1] = ISSUE_READS_SQL_CARD;
			sql[3 * j + 2] = ISSUE_READS_SQL_CERTS;
			P[3 * j] = P[3 * j + 2] = &R[j];
			P[3 * j + 1] = &C[j];
		}
		if ((rc = fetch_piped(p, (int)(3 * k), sql, P, res,
				      "reading residents for issuing", err)) !=
		    0)
			return rc;
		for (size_t j = 0; j < k && rc == 0; j++) {
			store_issue_read *q = &r[from + j];
			jpki_err e;
			char key[24];
			snprintf(key, sizeof(key), "%lld",
				 (long long)q->resident_id);
			rc = row_of(res[3 * j], &rm_resident, &q->res,
				    sizeof(q->res), "resident", key, &e);
			if (rc == JPKI_ERR_NOT_FOUND) {
				q->rc = rc;
				rc = 0;
				continue;
			}
			if (rc != 0) {
				if (err != NULL)
					*err = e;
				break;
			}
			rc =
			    row_of(res[3 * j + 1], &rm_card, &q->card,
				   sizeof(q->card), "card", q->card_serial, &e);
			q->card_found = rc == 0;
			if (rc == JPKI_ERR_NOT_FOUND)
				rc = 0;
			else if (rc != 0 && err != NULL)
				*err = e;
			if (rc == 0)
				rc = rows_of(res[3 * j + 2], &rm_cert,
					     sizeof(store_cert), false,
					     (row_fn)q->fn, q->ctx, err);
		}
		for (size_t j = 0; j < 3 * k; j++)
			PQclear(res[j]);
	}
	return rc;
}

/* store_issue_recheck: with deferred writes and the audit lock not yet
 * held, the lock and the chain's head (as pg_audit_head), then every
 * resident's certificates, in one pipeline: one round trip.  READ
 * COMMITTED gives each statement a snapshot taken after the lock was
 * granted. */
static int pg_issue_recheck(void *impl, size_t n, const int64_t *ids,
			    store_cert_fn fn, void *const *ctxs, jpki_err *err)
{
	struct pgc *p = impl;
	int rc = 0;
	if (!p->in_tx || pending(p) || p->lost || !conn_ok(p)) {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc =
			    pg_cert_by_resident(impl, ids[i], fn, ctxs[i], err);
		return rc;
	}
	for (size_t from = 0; from < n && rc == 0; from += 3 * ISSUE_PIPE) {
		size_t k =
		    n - from < 3 * ISSUE_PIPE ? n - from : 3 * ISSUE_PIPE;
		bool lock = p->defer && !p->audit_locked;
		int m = lock ? 2 : 0;
		struct params L = {0}, none = {0}, R[3 * ISSUE_PIPE];
		const char *sql[3 * ISSUE_PIPE + 2];
		const struct params *P[3 * ISSUE_PIPE + 2];
		PGresult *res[3 * ISSUE_PIPE + 2];
		p_int(&L, LOCK_NS_AUDIT);
		sql[0] = "SELECT pg_advisory_xact_lock($1::int, 0)";
		P[0] = &L;
		sql[1] = AUDIT_HEAD_SQL;
		P[1] = &none;
		for (size_t j = 0; j < k; j++) {
			R[j].n = 0;
			p_int(&R[j], ids[from + j]);
			sql[m + (int)j] = ISSUE_READS_SQL_CERTS;
			P[m + (int)j] = &R[j];
		}
		if ((rc = fetch_piped(p, m + (int)k, sql, P, res,
				      lock ? "locking the audit log and "
					     "re-reading certificates"
					   : "re-reading certificates",
				      err)) != 0)
			return rc;
		if (lock) {
			struct rm_audit_head h;
			memset(&h, 0, sizeof(h));
			if (PQntuples(res[1]) > 0)
				rc = read_rec(res[1], 0, &rm_audit_head, 0, &h,
					      err);
			if (rc == 0) {
				p->audit_locked = true;
				p->head_seq = h.seq;
				memcpy(p->head_hash, h.hash, sizeof(h.hash));
			}
		}
		for (size_t j = 0; j < k && rc == 0; j++)
			rc = rows_of(res[m + (int)j], &rm_cert,
				     sizeof(store_cert), false, (row_fn)fn,
				     ctxs[from + j], err);
		for (int j = 0; j < m + (int)k; j++)
			PQclear(res[j]);
	}
	return rc;
}

static int pg_audit_each(void *impl, store_audit_fn fn, void *ctx,
			 jpki_err *err)
{
	/* streamed: every record since the first (hundreds of millions) */
	return stream_rows(
	    impl,
	    "SELECT seq, at, actor, action, detail, prev_hash, hash"
	    " FROM audit ORDER BY seq",
	    NULL, &rm_audit, sizeof(store_audit), true, (row_fn)fn, ctx,
	    "reading the audit log", err);
}

/* ---- counter applications ----------------------------------------------- */

#define APP_COLS                                                               \
	"id, resident_id, kind, state, applicant, agent_name, certs, pins, "   \
	"card_serial, new_card_serial, inquiry_sent, inquiry_answered, note, " \
	"opened_at, updated_at"

static int app_fail(struct pgc *p, const struct outcome *o, const store_app *a,
		    jpki_err *err)
{
	if (strcmp(o->state, "23505") == 0)
		return jpki_fail(
		    err, JPKI_ERR_CONFLICT,
		    "resident %lld already has an open application "
		    "of kind %d",
		    (long long)a->resident_id, (int)a->kind);
	if (strcmp(o->state, "23503") == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "application for resident %lld: resident or "
				 "card %s not found",
				 (long long)a->resident_id, a->card_serial);
	return pg_fail(p, o, err, "writing application %lld of resident %lld",
		       (long long)a->id, (long long)a->resident_id);
}

static int pg_app_add(void *impl, const store_app *a, int64_t *id,
		      jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_fields(&P, &rm_app, 1, rm_app.n - 1, a);
	if (insert_returning(p,
			     "INSERT INTO applications (resident_id, kind,"
			     " state, applicant, agent_name, certs, pins,"
			     " card_serial, new_card_serial, inquiry_sent,"
			     " inquiry_answered, note, opened_at, updated_at)"
			     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
			     " $10, $11, $12, $13, $14) RETURNING id",
			     &P, &o, id) != 0)
		return app_fail(p, &o, a, err);
	return 0;
}

static int pg_app_update(void *impl, const store_app *a, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int changes = 0;
	p_fields(&P, &rm_app, 0, rm_app.n, a);
	if (cmd(p,
		"UPDATE applications SET resident_id = $2, kind = $3,"
		" state = $4, applicant = $5, agent_name = $6, certs = $7,"
		" pins = $8, card_serial = $9, new_card_serial = $10,"
		" inquiry_sent = $11, inquiry_answered = $12, note = $13,"
		" opened_at = $14, updated_at = $15 WHERE id = $1",
		&P, &o, &changes) != 0)
		return app_fail(p, &o, a, err);
	if (changes == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "application %lld not found",
				 (long long)a->id);
	return 0;
}

static int pg_app_get(void *impl, int64_t id, store_app *out, jpki_err *err)
{
	struct params P = {0};
	char key[24];
	p_int(&P, id);
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return get_row(impl,
		       "SELECT " APP_COLS " FROM applications WHERE id = $1",
		       &P, &rm_app, out, sizeof(*out), "application", key, err);
}

static int pg_app_list(void *impl, int64_t resident_id, bool open_only,
		       int limit, store_app_fn fn, void *ctx, jpki_err *err)
{
	struct params P = {0};
	p_int(&P, resident_id);
	p_int(&P, open_only ? 1 : 0);
	p_int(&P, limit);
	return each_row(impl,
			"SELECT " APP_COLS " FROM applications"
			" WHERE ($1::bigint = 0 OR resident_id = $1::bigint)"
			" AND ($2::int = 0 OR state < 7)"
			" ORDER BY id DESC LIMIT $3::bigint",
			&P, &rm_app, sizeof(store_app), true, (row_fn)fn, ctx,
			"listing applications", err);
}

static int insert_seq(struct pgc *p, const char *sql, const struct params *P,
		      int64_t app_id, const char *what, int *seq, jpki_err *err)
{
	struct outcome o;
	int64_t v = 0;
	if (insert_returning(p, sql, P, &o, &v) != 0) {
		if (strcmp(o.state, "23503") == 0)
			return jpki_fail(err, JPKI_ERR_NOT_FOUND,
					 "%s: application %lld not found", what,
					 (long long)app_id);
		return pg_fail(p, &o, err, "writing %s of application %lld",
			       what, (long long)app_id);
	}
	*seq = (int)v;
	return 0;
}

static int pg_app_doc_add(void *impl, const store_app_doc *d, int *seq,
			  jpki_err *err)
{
	struct params P = {0};
	p_int(&P, d->app_id);
	p_fields(&P, &rm_doc, 2, rm_doc.n - 2, d);
	return insert_seq(
	    impl,
	    "INSERT INTO application_documents (app_id, seq, role, type,"
	    " number, expiry, added_at) VALUES ($1::bigint,"
	    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM application_documents"
	    " WHERE app_id = $1::bigint), $2, $3, $4, $5, $6) RETURNING seq",
	    &P, d->app_id, "document", seq, err);
}

static int pg_app_doc_each(void *impl, int64_t app_id, store_app_doc_fn fn,
			   void *ctx, jpki_err *err)
{
	struct params P = {0};
	char what[64];
	p_int(&P, app_id);
	snprintf(what, sizeof(what), "listing documents of application %lld",
		 (long long)app_id);
	return each_row(impl,
			"SELECT app_id, seq, role, type, number, expiry,"
			" added_at FROM application_documents"
			" WHERE app_id = $1 ORDER BY seq",
			&P, &rm_doc, sizeof(store_app_doc), false, (row_fn)fn,
			ctx, what, err);
}

static int pg_app_event_add(void *impl, const store_app_event *e, int *seq,
			    jpki_err *err)
{
	struct params P = {0};
	p_int(&P, e->app_id);
	p_fields(&P, &rm_event, 2, rm_event.n - 2, e);
	return insert_seq(
	    impl,
	    "INSERT INTO application_events (app_id, seq, at, actor, event,"
	    " from_state, to_state, detail) VALUES ($1::bigint,"
	    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM application_events"
	    " WHERE app_id = $1::bigint), $2, $3, $4, $5, $6, $7)"
	    " RETURNING seq",
	    &P, e->app_id, "event", seq, err);
}

static int pg_app_event_each(void *impl, int64_t app_id, store_app_event_fn fn,
			     void *ctx, jpki_err *err)
{
	struct params P = {0};
	char what[64];
	p_int(&P, app_id);
	snprintf(what, sizeof(what), "listing history of application %lld",
		 (long long)app_id);
	return each_row(impl,
			"SELECT app_id, seq, at, actor, event, from_state,"
			" to_state, detail FROM application_events"
			" WHERE app_id = $1 ORDER BY seq",
			&P, &rm_event, sizeof(store_app_event), false,
			(row_fn)fn, ctx, what, err);
}

static int pg_notice_add(void *impl, const store_notice *n, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_fields(&P, &rm_notice, 0, rm_notice.n, n);
	if (cmd(p,
		"INSERT INTO notices (cert_serial, resident_id, expiry, batch,"
		" sent_at) VALUES ($1, $2, $3, $4, $5)",
		&P, &o, NULL) == 0)
		return 0;
	if (strcmp(o.state, "23505") == 0)
		return jpki_fail(err, JPKI_ERR_CONFLICT,
				 "the expiry notice for certificate %s "
				 "was already sent",
				 n->cert_serial);
	if (strcmp(o.state, "23503") == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "notice: certificate %s or resident %lld "
				 "not found",
				 n->cert_serial, (long long)n->resident_id);
	return pg_fail(p, &o, err, "recording notice for %s", n->cert_serial);
}

static int pg_notice_get(void *impl, const char *cert_serial, store_notice *out,
			 jpki_err *err)
{
	struct params P = {0};
	p_text(&P, cert_serial);
	return get_row(impl,
		       "SELECT cert_serial, resident_id, expiry, batch, sent_at"
		       " FROM notices WHERE cert_serial = $1",
		       &P, &rm_notice, out, sizeof(*out),
		       "notice for certificate", cert_serial, err);
}

static int pg_app_find(void *impl, const store_app_filter *f, int limit,
		       store_app_row_fn fn, void *ctx, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	store_app_row row;
	int rc = 0;
	p_int(&P, f->resident_id);
	p_int(&P, (int)f->state_min);
	p_int(&P, (int)f->state_max);
	p_int(&P, (int64_t)f->opened_from);
	p_int(&P, (int64_t)f->opened_to);
	p_int(&P, limit);
	if (run(p,
		"SELECT " APP_COLS ","
		" (SELECT r.name FROM residents r"
		"  WHERE r.id = applications.resident_id),"
		" (SELECT r.kana FROM residents r"
		"  WHERE r.id = applications.resident_id)"
		" FROM applications"
		" WHERE ($1::bigint = 0 OR resident_id = $1::bigint)"
		" AND state BETWEEN $2 AND $3"
		" AND ($4::bigint = 0 OR opened_at >= $4::bigint)"
		" AND ($5::bigint = 0 OR opened_at <= $5::bigint)"
		" ORDER BY id DESC LIMIT $6::bigint",
		&P, PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "listing applications");
		goto out;
	}
	for (int r = 0, n = PQntuples(o.res); r < n; r++) {
		memset(&row, 0, sizeof(row));
		if ((rc = read_rec(o.res, r, &rm_app, 0, &row.app, err)) != 0) {
			jpki_wrap(err, rc, "application %lld",
				  (long long)row.app.id);
			goto out;
		}
		if ((rc = read_rec(o.res, r, &rm_app_row_names, rm_app.n, &row,
				   err)) != 0 ||
		    (rc = fn(ctx, &row)) != 0)
			goto out;
	}
out:
	PQclear(o.res);
	return rc;
}

static int pg_office_get(void *impl, const char *code, store_office *out,
			 jpki_err *err)
{
	struct params P = {0};
	p_text(&P, code);
	return get_row(impl,
		       "SELECT office_name, office_address, office_phone,"
		       " office_hours FROM municipalities WHERE code = $1",
		       &P, &rm_office, out, sizeof(*out), "municipality", code,
		       err);
}

static int pg_office_set(void *impl, const char *code, const store_office *o_,
			 jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int changes = 0;
	p_text(&P, code);
	p_fields(&P, &rm_office, 0, rm_office.n, o_);
	if (cmd(p,
		"UPDATE municipalities SET office_name = $2,"
		" office_address = $3, office_phone = $4, office_hours = $5"
		" WHERE code = $1",
		&P, &o, &changes) != 0)
		return pg_fail(p, &o, err, "writing municipality %s", code);
	if (changes == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "municipality %s not found", code);
	return 0;
}

/* ---- shared node state (issue #12 item 3) ------------------------------- */

#define TOKEN_COLS "id, kind, owner, operator, role, gen, expires, last, extra"

static int pg_token_put(void *impl, const store_token *t, const uint8_t *data,
			size_t len, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	p_fields(&P, &rm_token, 0, rm_token.n, t);
	if (data != NULL)
		p_blob(&P, data, len);
	else
		p_null(&P);
	if (cmd(p,
		"INSERT INTO tokens (" TOKEN_COLS ", data)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		&P, &o, NULL) == 0)
		return 0;
	if (strcmp(o.state, "23505") == 0)
		return jpki_fail(err, JPKI_ERR_CONFLICT,
				 "token exists already");
	return pg_fail(p, &o, err, "writing a token");
}

static int pg_token_get(void *impl, const char *id, store_token *out,
			uint8_t **data, size_t *len, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	store_token t;
	unsigned char *raw = NULL;
	size_t n = 0;
	int rc;
	p_text(&P, id);
	if (run(p, "SELECT " TOKEN_COLS ", data FROM tokens WHERE id = $1", &P,
		PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "reading a token");
		goto out;
	}
	if (PQntuples(o.res) == 0) {
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND, "token not found");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	if ((rc = read_rec(o.res, 0, &rm_token, 0, &t, err)) != 0)
		goto out;
	if (data != NULL) {
		uint8_t *d = NULL;
		if (!PQgetisnull(o.res, 0, rm_token.n))
			raw = PQunescapeBytea((const unsigned char *)PQgetvalue(
						  o.res, 0, rm_token.n),
					      &n);
		if (raw != NULL && n > 0) {
			if ((d = malloc(n)) == NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			memcpy(d, raw, n);
		}
		*data = d;
		*len = d != NULL ? n : 0;
	}
	*out = t;
out:
	if (raw != NULL) {
		OPENSSL_cleanse(raw, n);
		PQfreemem(raw);
	}
	PQclear(o.res);
	return rc;
}

static int pg_token_touch(void *impl, const char *id, time_t last,
			  int64_t expect, bool *changed, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int changes = 0;
	p_text(&P, id);
	p_int(&P, (int64_t)last);
	p_int(&P, expect);
	if (cmd(p,
		"UPDATE tokens SET last = $2::bigint WHERE id = $1"
		" AND ($3::bigint < 0 OR last = $3::bigint)",
		&P, &o, &changes) != 0)
		return pg_fail(p, &o, err, "updating a token");
	*changed = changes > 0;
	return 0;
}

#define TOKEN_FILTER                                                           \
	" WHERE ($1::int = 0 OR kind = $1::int)"                               \
	" AND ($2::text IS NULL OR id = $2::text)"                             \
	" AND ($3::text IS NULL OR owner = $3::text)"                          \
	" AND ($4::text IS NULL OR operator = $4::text)"                       \
	" AND ($5::text IS NULL OR id <> $5::text)"                            \
	" AND ($6::bigint = 0 OR gen < $6::bigint)"                            \
	" AND ($7::bigint = 0 OR expires <= $7::bigint)"                       \
	" AND ($8::bigint = 0 OR expires > $8::bigint)"

static void p_opt_text(struct params *P, const char *v)
{
	if (v != NULL)
		p_text(P, v);
	else
		p_null(P);
}

static void p_filter(struct params *P, const store_token_filter *f)
{
	p_int(P, f->kind);
	p_opt_text(P, f->id);
	p_opt_text(P, f->owner);
	p_opt_text(P, f->op);
	p_opt_text(P, f->keep);
	p_int(P, f->gen_below);
	p_int(P, (int64_t)f->expired_at);
	p_int(P, (int64_t)f->alive_at);
}

static int pg_token_delete(void *impl, const store_token_filter *f, size_t *n,
			   jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int changes = 0;
	p_filter(&P, f);
	if (cmd(p, "DELETE FROM tokens" TOKEN_FILTER, &P, &o, &changes) != 0)
		return pg_fail(p, &o, err, "deleting tokens");
	*n = (size_t)changes;
	return 0;
}

static int pg_token_count(void *impl, const store_token_filter *f, size_t *n,
			  time_t *first, jpki_err *err)
{
	struct pgc *p = impl;
	struct outcome o;
	struct params P = {0};
	int64_t c = 0, e = 0;
	int rc = 0;
	p_filter(&P, f);
	if (run(p,
		"SELECT count(*), coalesce(min(expires), 0) FROM "
		"tokens" TOKEN_FILTER,
		&P, PGRES_TUPLES_OK, &o) != 0) {
		rc = pg_fail(p, &o, err, "counting tokens");
		goto out;
	}
	if (PQntuples(o.res) != 1 ||
	    sscanf(PQgetvalue(o.res, 0, 0), "%" SCNd64, &c) != 1 ||
	    sscanf(PQgetvalue(o.res, 0, 1), "%" SCNd64, &e) != 1) {
		rc =
		    jpki_fail(err, JPKI_ERR_STORE, "counting tokens: no count");
		goto out;
	}
	*n = (size_t)c;
	*first = (time_t)e;
out:
	PQclear(o.res);
	return rc;
}

/* ---- revocations as they commit (LISTEN/NOTIFY) ------------------------- */

/* A connection of its own that LISTENs on jpki_revoked (the trigger of
 * migration 6 notifies it inside each revoking transaction). */
static int pg_watch_open(const char *location, void **impl, jpki_err *err)
{
	struct pgc *p = NULL;
	struct outcome o;
	int rc = 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	p->c = PQconnectdb(location);
	if (p->c == NULL || PQstatus(p->c) != CONNECTION_OK) {
		char m[160];
		jpki_strlcpy_cut(m, p->c != NULL ? PQerrorMessage(p->c) : "",
				 sizeof(m));
		for (char *c = m; *c; c++)
			if (*c == '\n')
				*c = ' ';
		rc = jpki_fail(err, JPKI_ERR_IO,
			       "cannot connect to the PostgreSQL store to "
			       "listen: %s",
			       m);
		goto out;
	}
	PQsetNoticeProcessor(p->c, quiet, NULL);
	if (cmd(p, "LISTEN jpki_revoked", NULL, &o, NULL) != 0) {
		rc = pg_fail(p, &o, err, "listening for revocations");
		goto out;
	}
	*impl = p;
	p = NULL;
out:
	pg_close(p);
	return rc;
}

/* Wait up to timeout_ms for notifications; fn gets each serial.
 * JPKI_ERR_IO when the connection is lost (reopen it). */
static int pg_watch_wait(void *impl, int timeout_ms, store_watch_fn fn,
			 void *ctx, jpki_err *err)
{
	struct pgc *p = impl;
	PGnotify *nt;
	int sock = PQsocket(p->c);
	if (sock < 0 || PQstatus(p->c) != CONNECTION_OK)
		return jpki_fail(err, JPKI_ERR_IO,
				 "the listening connection is lost");
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	int n = poll(&pfd, 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return jpki_fail(err, JPKI_ERR_IO, "poll: %s", strerror(errno));
	if (n > 0 && PQconsumeInput(p->c) == 0)
		return jpki_fail(err, JPKI_ERR_IO,
				 "the listening connection is lost");
	while ((nt = PQnotifies(p->c)) != NULL) {
		if (strcmp(nt->relname, "jpki_revoked") == 0 &&
		    nt->extra != NULL)
			fn(ctx, nt->extra);
		PQfreemem(nt);
	}
	if (PQstatus(p->c) != CONNECTION_OK)
		return jpki_fail(err, JPKI_ERR_IO,
				 "the listening connection is lost");
	return 0;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .migrations = store_pg_migrations,
    .open = pg_open,
    .close = pg_close,
    .issue_reads = pg_issue_reads,
    .issue_reads_n = pg_issue_reads_n,
    .issue_recheck = pg_issue_recheck,
    .defer_writes = pg_defer_writes,
    .check = pg_check,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .schema_current = pg_schema_current,
    .exec = pg_exec,
    .schema_record = pg_schema_record,
    .meta_get = pg_meta_get,
    .meta_get_for_update = pg_meta_get_for_update,
    .meta_set = pg_meta_set,
    .muni_put = pg_muni_put,
    .muni_get = pg_muni_get,
    .muni_each = pg_muni_each,
    .resident_add = pg_resident_add,
    .resident_update = pg_resident_update,
    .resident_get = pg_resident_get,
    .resident_get_ext = pg_resident_get_ext,
    .resident_search = pg_resident_search,
    .card_put = pg_card_put,
    .card_get = pg_card_get,
    .cert_put = pg_cert_put,
    .cert_get = pg_cert_get,
    .cert_state_for_update = pg_cert_state,
    .cert_set_revoked = pg_cert_set_revoked,
    .cert_by_resident = pg_cert_by_resident,
    .cert_revoked = pg_cert_revoked,
    .crl_rows = pg_crl_rows,
    .cert_expiring = pg_cert_expiring,
    .audit_head_for_update = pg_audit_head,
    .audit_insert = pg_audit_insert,
    .audit_each = pg_audit_each,
    .app_add = pg_app_add,
    .app_update = pg_app_update,
    .app_get = pg_app_get,
    .app_list = pg_app_list,
    .app_doc_add = pg_app_doc_add,
    .app_doc_each = pg_app_doc_each,
    .app_event_add = pg_app_event_add,
    .app_event_each = pg_app_event_each,
    .notice_add = pg_notice_add,
    .notice_get = pg_notice_get,
    .resident_find = pg_resident_find,
    .app_find = pg_app_find,
    .office_get = pg_office_get,
    .office_set = pg_office_set,
    .token_put = pg_token_put,
    .token_get = pg_token_get,
    .token_touch = pg_token_touch,
    .token_delete = pg_token_delete,
    .token_count = pg_token_count,
    .watch_open = pg_watch_open,
    .watch_wait = pg_watch_wait,
    .watch_close = pg_close,
};
