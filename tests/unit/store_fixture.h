/* Shared fixture of the tests/unit/test_store*.c tests: a fresh store in a
 * temporary directory, sample rows, and error assertions.
 *
 * With JPKI_TEST_STORE=postgresql://... (the CTest tests named .../pg, a server
 * started by scripts/pg-test-server.sh) the store is a fresh schema of
 * that database instead, and the tests that look at the SQLite file
 * itself are skipped (fx_sqlite_only). */
#ifndef OPENJPKI_TEST_STORE_FIXTURE_H
#define OPENJPKI_TEST_STORE_FIXTURE_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openjpki/store.h"

struct fx {
	char dir[64];
	char path[128];
	char loc[600];	 /* what store_open gets: path, or the PG URI */
	char schema[64]; /* PG: the fresh schema, "" for SQLite */
	store *s;
	int64_t resident; /* id of the sample resident */
};

/* rc is `code` and the message contains `part`. */
static inline void expect_err_(int rc, const jpki_err *e, int code,
			       const char *part, const char *file, int line)
{
	if (rc != code || e->code != code || strstr(e->msg, part) == NULL) {
		print_error("%s:%d: got %d (%d) \"%s\", want %d with \"%s\"\n",
			    file, line, rc, e->code, e->msg, code, part);
		fail();
	}
}
#define expect_err(rc, e, code, part)                                          \
	expect_err_(rc, e, code, part, __FILE__, __LINE__)

static inline void fx_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[600];
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* The PostgreSQL server under test, or NULL (SQLite). */
static inline const char *fx_pg_url(void)
{
	const char *u = getenv("JPKI_TEST_STORE");
	return u != NULL && u[0] != '\0' ? u : NULL;
}

/* Skip a test about the SQLite file itself when running against PG. */
#define fx_sqlite_only()                                                       \
	do {                                                                   \
		if (fx_pg_url() != NULL)                                       \
			skip();                                                \
	} while (0)

/* Run one statement on the PG server (tests only). */
static inline void fx_pg_exec(const char *sql)
{
	PGconn *c = PQconnectdb(fx_pg_url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		print_error("%s: %s\n", sql, PQerrorMessage(c));
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
}

static inline void fx_mkdir(struct fx *f)
{
	static int n;
	const char *url = fx_pg_url();
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/jpki-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	snprintf(f->loc, sizeof(f->loc), "%s", f->path);
	if (url == NULL)
		return;
	/* a fresh schema per test: the store's tables go there through
	 * search_path in the URI */
	char sql[128];
	snprintf(f->schema, sizeof(f->schema), "t%d_%d", (int)getpid(), n++);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	fx_pg_exec(sql);
	snprintf(f->loc, sizeof(f->loc), "%s%soptions=-csearch_path%%3D%s", url,
		 strchr(url, '?') != NULL ? "&" : "?", f->schema);
}

static inline void fx_drop(const struct fx *f)
{
	char sql[128];
	if (f->schema[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
	fx_pg_exec(sql);
}

static inline store_muni fx_muni(const char *code, const char *city)
{
	store_muni m;
	memset(&m, 0, sizeof(m));
	snprintf(m.code, sizeof(m.code), "%s", code);
	snprintf(m.pref_roman, sizeof(m.pref_roman), "Tokyo-to");
	snprintf(m.city_roman, sizeof(m.city_roman), "%s", "Chiyoda-ku");
	snprintf(m.pref, sizeof(m.pref), "東京都");
	snprintf(m.city, sizeof(m.city), "%s", city);
	return m;
}

static inline store_resident fx_person(const char *ext_id, const char *name,
				       const char *kana)
{
	store_resident r;
	memset(&r, 0, sizeof(r));
	snprintf(r.ext_id, sizeof(r.ext_id), "%s", ext_id);
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.kana, sizeof(r.kana), "%s", kana);
	snprintf(r.address, sizeof(r.address), "東京都千代田区千代田1番1号");
	r.birth = (jpki_date){1990, 2, 28};
	r.sex = 2;
	snprintf(r.muni_code, sizeof(r.muni_code), "131016");
	r.status = STORE_RESIDENT_LIVING;
	r.updated_at = 1700000000;
	return r;
}

static inline store_card fx_card(const char *serial, int64_t resident)
{
	store_card c;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	c.resident_id = resident;
	c.issued = (jpki_date){2024, 4, 1};
	c.expiry = (jpki_date){2034, 2, 28};
	c.status = STORE_CARD_ACTIVE;
	return c;
}

/* A valid certificate of the sample resident on card "CARD1"; der points
 * at static bytes. */
static inline store_cert fx_cert(const char *serial, int kind, int64_t res,
				 time_t not_after)
{
	static _Thread_local uint8_t der[1200]; /* one per writer thread */
	store_cert c;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 7 + 3);
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	c.kind = kind;
	c.resident_id = res;
	snprintf(c.card_serial, sizeof(c.card_serial), "CARD1");
	snprintf(c.muni_code, sizeof(c.muni_code), "131016");
	snprintf(c.subject, sizeof(c.subject), "/C=JP/CN=%s", serial);
	c.not_before = not_after - 5 * 365 * 86400;
	c.not_after = not_after;
	c.status = STORE_CERT_VALID;
	c.der = der;
	c.der_len = sizeof(der);
	return c;
}

/* Open a store with the sample municipality, resident and card. */
static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	jpki_err e = {0, ""};
	assert_non_null(f);
	fx_mkdir(f);
	if (store_open(f->loc, &f->s, &e) != 0)
		print_error("store_open %s: %s\n", f->loc, e.msg);
	assert_non_null(f->s);
	store_muni m = fx_muni("131016", "千代田区");
	assert_int_equal(store_muni_put(f->s, &m, &e), 0);
	store_resident r = fx_person("R0001", "山田 花子", "ヤマダ ハナコ");
	assert_int_equal(store_resident_add(f->s, &r, &e), 0);
	f->resident = r.id;
	store_card c = fx_card("CARD1", r.id);
	assert_int_equal(store_card_put(f->s, &c, &e), 0);
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->s);
	fx_rmdir(f->dir);
	fx_drop(f);
	free(f);
	return 0;
}

/* Run SQL on a second, raw connection (tests only: bypasses the store). */
static inline int fx_raw(const struct fx *f, const char *sql, char *msg,
			 size_t cap)
{
	sqlite3 *db = NULL;
	char *m = NULL;
	int rc = sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, &m);
	}
	if (msg != NULL && cap > 0)
		snprintf(msg, cap, "%s", m != NULL ? m : "");
	sqlite3_free(m);
	sqlite3_close(db);
	return rc;
}

/* Create the database file with `sql` before the store sees it. */
static inline int fx_raw_create(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* First column of the first row of `sql` on a raw connection, or -1. */
static inline int64_t fx_raw_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif
