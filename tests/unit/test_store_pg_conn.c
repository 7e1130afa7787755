/* The PostgreSQL store across a lost connection (issue #12, failover): a
 * plain read is retried on a new connection, a transaction that lost its
 * connection fails with JPKI_ERR_UNAVAILABLE (try again), and a COMMIT
 * whose answer was lost is resolved by its audit record, never guessed.
 * The server's side of the connection is cut with pg_terminate_backend.
 * Statements are prepared once per connection (issue #12): reused, and
 * prepared anew on the connection that replaces a lost one.
 * PostgreSQL only (CTest unit/test_store_pg_conn/pg); skipped on SQLite. */
#include "store/store_impl.h"
#include "store_fixture.h"

/* Open the store with an application_name of its own, so that its
 * backend can be found and terminated. */
static int setup(void **state)
{
	static int n;
	struct fx *f = calloc(1, sizeof(*f));
	jpki_err e = {0, ""};
	assert_non_null(f);
	*state = f;
	if (fx_pg_url() == NULL)
		return 0;
	fx_mkdir(f);
	size_t len = strlen(f->loc);
	snprintf(f->loc + len, sizeof(f->loc) - len,
		 "&application_name=jpkiconn%d_%d", (int)getpid(), n++);
	if (store_open(f->loc, &f->s, &e) != 0)
		print_error("store_open %s: %s\n", f->loc, e.msg);
	assert_non_null(f->s);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_pg_test_lose_commit_answer = 0;
	store_pg_test_statement_timeout_ms = 0;
	store_pg_stream_batch = 10000;
	if (f->s != NULL)
		fx_teardown(state);
	else
		free(f);
	return 0;
}

/* Terminate the store's backend (waits for it to go); the number of
 * backends terminated. */
static int cut(const struct fx *f)
{
	char sql[320];
	const char *app = strstr(f->loc, "application_name=") + 17;
	PGconn *c = PQconnectdb(fx_pg_url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FILTER (WHERE t) FROM (SELECT "
	    "pg_terminate_backend(pid, 5000) AS t FROM (SELECT pid FROM "
	    "pg_stat_activity WHERE application_name = '%s' OFFSET 0) a) b",
	    app);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		print_error("%s: %s\n", sql, PQerrorMessage(c));
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	int n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

static int64_t head(const struct fx *f)
{
	int64_t seq = -1;
	char hash[65];
	jpki_err e = {0, ""};
	assert_int_equal(store_audit_head(f->s, &seq, hash, &e), 0);
	return seq;
}

/* A read outside a transaction after the server dropped the connection:
 * answered on a new one. */
static void test_read_reconnects(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char v[32] = "";
	if (fx_pg_url() == NULL)
		skip();
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.k", "v1", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(cut(f), 1);
	assert_int_equal(store_meta_get(f->s, "pgconn.k", v, sizeof(v), &e), 0);
	assert_string_equal(v, "v1");
	/* and a write transaction starts on it */
	assert_int_equal(cut(f), 1);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.k", "v2", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "pgconn.k", v, sizeof(v), &e), 0);
	assert_string_equal(v, "v2");
}

/* Lost inside a transaction: JPKI_ERR_UNAVAILABLE, nothing written; the
 * next transaction runs on a new connection. */
static void test_tx_lost(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char v[32] = "";
	if (fx_pg_url() == NULL)
		skip();
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.t", "lost", &e), 0);
	assert_int_equal(cut(f), 1);
	int rc = store_meta_set(f->s, "pgconn.t2", "lost", &e);
	expect_err(rc, &e, JPKI_ERR_UNAVAILABLE, "");
	store_rollback(f->s);
	rc = store_meta_get(f->s, "pgconn.t", v, sizeof(v), &e);
	assert_int_equal(rc, JPKI_ERR_NOT_FOUND);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.t", "ok", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "pgconn.t", v, sizeof(v), &e), 0);
	assert_string_equal(v, "ok");
}

/* COMMIT on a connection the server already closed: the audit record is
 * not on the server, so "not committed" (try again), never success. */
static void test_commit_lost_not_committed(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	if (fx_pg_url() == NULL)
		skip();
	int64_t before = head(f);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_audit_append(f->s, 1700000000, "ca",
					    "cert.issue", "serial=01", &e),
			 0);
	assert_int_equal(cut(f), 1);
	int rc = store_commit(f->s, &e);
	expect_err(rc, &e, JPKI_ERR_UNAVAILABLE, "was not committed");
	store_rollback(f->s);
	assert_int_equal(head(f), before);
	/* the retry commits once */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_audit_append(f->s, 1700000000, "ca",
					    "cert.issue", "serial=01", &e),
			 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(head(f), before + 1);
	int64_t n = 0;
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, before + 1);
}

/* The server committed but its answer was lost: resolved as committed
 * (reported as success, so the caller does not do it twice). */
static void test_commit_answer_lost(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	if (fx_pg_url() == NULL)
		skip();
	int64_t before = head(f);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_audit_append(f->s, 1700000000, "ca",
					    "cert.issue", "serial=02", &e),
			 0);
	store_pg_test_lose_commit_answer = 1;
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_pg_test_lose_commit_answer, 0);
	assert_int_equal(head(f), before + 1);
	/* a transaction without an audit record cannot be resolved: its
	 * outcome is reported unknown, as unavailable (not as success) */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.u", "x", &e), 0);
	store_pg_test_lose_commit_answer = 1;
	int rc = store_commit(f->s, &e);
	expect_err(rc, &e, JPKI_ERR_UNAVAILABLE, "outcome is unknown");
	store_rollback(f->s);
	/* and the store goes on */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgconn.u", "y", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
}

/* One round of work: a read, and a transaction with a write and an
 * audit record (the audit INSERT goes in a pipeline). */
static void round_trip(const struct fx *f, int i)
{
	jpki_err e = {0, ""};
	char v[32] = "", want[32];
	snprintf(want, sizeof(want), "v%d", i);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "pgprep.k", want, &e), 0);
	assert_int_equal(store_audit_append(f->s, 1700000000, "ca",
					    "cert.issue", "serial=03", &e),
			 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "pgprep.k", v, sizeof(v), &e), 0);
	assert_string_equal(v, want);
}

/* Repeated statements are prepared once on a connection; after the
 * connection is lost they are prepared again on the new one (not sent
 * by names the new backend does not know); a statement whose result
 * type changed under it fails once and is prepared anew. */
static void test_prepared_reused(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char v[32] = "", sql[160];
	if (fx_pg_url() == NULL)
		skip();
	round_trip(f, 0);
	long n = store_pg_test_prepares;
	assert_true(n > 0);
	for (int i = 1; i <= 10; i++)
		round_trip(f, i);
	assert_int_equal(store_pg_test_prepares, n);
	/* a new backend: the same statements again, prepared once more */
	assert_int_equal(cut(f), 1);
	assert_int_equal(store_meta_get(f->s, "pgprep.k", v, sizeof(v), &e), 0);
	assert_string_equal(v, "v10");
	assert_true(store_pg_test_prepares > n);
	round_trip(f, 11);
	n = store_pg_test_prepares;
	for (int i = 12; i <= 20; i++)
		round_trip(f, i);
	assert_int_equal(store_pg_test_prepares, n);
	/* the read's result type changes: that call fails (0A000, cached
	 * plan must not change result type), the next one prepares anew */
	snprintf(sql, sizeof(sql),
		 "ALTER TABLE %s.meta ALTER COLUMN value TYPE varchar(200)",
		 f->schema);
	fx_pg_exec(sql);
	int rc = store_meta_get(f->s, "pgprep.k", v, sizeof(v), &e);
	expect_err(rc, &e, JPKI_ERR_STORE, "cached plan");
	assert_int_equal(store_meta_get(f->s, "pgprep.k", v, sizeof(v), &e), 0);
	assert_string_equal(v, "v20");
	assert_int_equal(store_pg_test_prepares, n + 1);
}

/* n revoked certificates of kind 1, serials of one length (0x41, a
 * 40-bit sequence number, 80 more bits), revoked at 1500 + i, put
 * straight into the test's schema. */
static void put_revoked(const struct fx *f, int n)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s.municipalities (code, pref_roman, city_roman,"
		 " pref, city) VALUES ('100000', 'Pref', 'City', 'P', 'C')",
		 f->schema);
	fx_pg_exec(sql);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s.certificates (serial, kind, muni_code,"
		 " subject, not_before, not_after, status, reason,"
		 " revoked_at, der) SELECT upper('41' || lpad(to_hex(i), 10,"
		 " '0') || substr(md5(i::text), 1, 20)), 1, '100000', '',"
		 " 1000, 2000000000, 1, i %% 7, 1500 + i, '\\x30'"
		 " FROM generate_series(0, %d) AS i",
		 f->schema, n - 1);
	fx_pg_exec(sql);
}

/* A streamed read that lasts longer than the statement timeout (a
 * national CRL: tens of seconds of the callback's work over millions of
 * rows) is not cut by it: the timeout bounds each FETCH of the cursor, not
 * the whole read.  200,000 revoked rows are far more than the loopback
 * socket buffers hold, so one statement read row by row would keep the
 * server waiting on the client past the 500 ms timeout and be cancelled. */
struct slow {
	long n;
	char last[STORE_SERIAL_HEX_MAX];
	bool ordered;
};

static int slow_row(void *ctx, const store_crl_row *r)
{
	struct slow *sl = ctx;
	/* serials of one length: byte order is DER order */
	if (sl->n > 0 && strcmp(sl->last, r->serial) >= 0)
		sl->ordered = false;
	memcpy(sl->last, r->serial, sizeof(sl->last));
	if (++sl->n % 100 == 0) {
		struct timespec ts = {0, 1000000}; /* 1 ms: 2 s in all */
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void test_stream_outlasts_timeout(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	if (fx_pg_url() == NULL)
		skip();
	store_close(f->s);
	f->s = NULL;
	store_pg_test_statement_timeout_ms = 500;
	store_pg_stream_batch = 2000;
	if (store_open(f->loc, &f->s, &e) != 0)
		print_error("store_open %s: %s\n", f->loc, e.msg);
	assert_non_null(f->s);
	put_revoked(f, 200000);
	struct slow sl = {0, "", true};
	int rc = store_crl_rows(f->s, 1, NULL, 1500, slow_row, &sl, &e);
	if (rc != 0)
		print_error("store_crl_rows: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(sl.n, 200000);
	assert_true(sl.ordered);
	/* the connection and its statement timeout are still in use */
	char v[8] = "";
	assert_int_equal(store_meta_set(f->s, "pgstream.k", "v", &e), 0);
	assert_int_equal(store_meta_get(f->s, "pgstream.k", v, sizeof(v), &e),
			 0);
	assert_string_equal(v, "v");
}

/* A streamed read (a cursor) and a lost connection: before the first row
 * and outside a transaction it is read again on a new connection; inside
 * one, or after rows went to the callback, it fails with
 * JPKI_ERR_UNAVAILABLE (try again), and the next read works. */
struct cutter {
	const struct fx *f;
	int n, cut_at;
};

static int cut_row(void *ctx, const store_crl_row *r)
{
	struct cutter *c = ctx;
	(void)r;
	if (++c->n == c->cut_at)
		assert_int_equal(cut(c->f), 1);
	return 0;
}

static void test_stream_reconnects(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	if (fx_pg_url() == NULL)
		skip();
	store_pg_stream_batch = 100;
	put_revoked(f, 1000);
	struct cutter c = {f, 0, 0};
	/* lost before the read: read again on a new connection */
	assert_int_equal(cut(f), 1);
	assert_int_equal(store_crl_rows(f->s, 1, NULL, 1500, cut_row, &c, &e),
			 0);
	assert_int_equal(c.n, 1000);
	/* lost in the middle: the callback has had rows, so no second read */
	c = (struct cutter){f, 0, 150};
	int rc = store_crl_rows(f->s, 1, NULL, 1500, cut_row, &c, &e);
	expect_err(rc, &e, JPKI_ERR_UNAVAILABLE, "");
	assert_true(c.n >= 150 && c.n < 1000);
	c = (struct cutter){f, 0, 0};
	assert_int_equal(store_crl_rows(f->s, 1, NULL, 1500, cut_row, &c, &e),
			 0);
	assert_int_equal(c.n, 1000);
	/* lost inside a transaction */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(cut(f), 1);
	c = (struct cutter){f, 0, 0};
	rc = store_crl_rows(f->s, 1, NULL, 1500, cut_row, &c, &e);
	expect_err(rc, &e, JPKI_ERR_UNAVAILABLE, "");
	assert_int_equal(c.n, 0);
	store_rollback(f->s);
	assert_int_equal(store_crl_rows(f->s, 1, NULL, 1500, cut_row, &c, &e),
			 0);
	assert_int_equal(c.n, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prepared_reused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_read_reconnects, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tx_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_lost_not_committed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_answer_lost, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stream_outlasts_timeout, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stream_reconnects, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
