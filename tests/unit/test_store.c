/* store: open and migrations, settings, municipalities, residents, cards,
 * transactions. */
#include <sys/stat.h>

#include "store/store_impl.h"
#include "store_fixture.h"

/* The newest schema version this build knows (the migrations grow). */
static int latest_version(void)
{
	int n = 0;
	while (store_sqlite_migrations[n].version != 0)
		n++;
	return n;
}

static void test_open_migrate_reopen(void **state)
{
	fx_sqlite_only();
	(void)state;
	struct fx f;
	jpki_err e = {0, ""};
	store *s = NULL;
	struct stat st;
	char path[160], loc[200];
	fx_mkdir(&f);

	assert_int_equal(store_open(f.path, &s, &e), 0);
	assert_int_equal(store_schema_version(s), latest_version());
	assert_int_equal(store_meta_set(s, "k", "v", &e), 0);
	/* The database and its WAL are private to the owner. */
	assert_int_equal(stat(f.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s-wal", f.path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_close(s);

	/* Reopening keeps the version and the data; the migration is not
	 * run again. */
	snprintf(loc, sizeof(loc), "sqlite:%s?sync=normal&busy_timeout=100",
		 f.path);
	s = NULL;
	assert_int_equal(store_open(loc, &s, &e), 0);
	assert_int_equal(store_schema_version(s), latest_version());
	char v[8];
	assert_int_equal(store_meta_get(s, "k", v, sizeof(v), &e), 0);
	assert_string_equal(v, "v");
	store_close(s);
	assert_int_equal(fx_raw_int(&f, "SELECT count(*) FROM schema_version"),
			 latest_version());
	s = NULL;
	snprintf(loc, sizeof(loc), "SQLite:%s?sync=extra", f.path);
	assert_int_equal(store_open(loc, &s, &e), 0);
	store_close(s);
	fx_rmdir(f.dir);
}

static void test_newer_schema_refused(void **state)
{
	fx_sqlite_only();
	(void)state;
	struct fx f;
	jpki_err e = {0, ""};
	store *s = NULL;
	fx_mkdir(&f);
	assert_int_equal(store_open(f.path, &s, &e), 0);
	store_close(s);
	assert_int_equal(fx_raw(&f,
				"INSERT INTO schema_version VALUES "
				"(999, 'from the future')",
				NULL, 0),
			 SQLITE_OK);
	s = NULL;
	int rc = store_open(f.path, &s, &e);
	char want[96];
	snprintf(want, sizeof(want),
		 "store schema version 999 is newer than this openjpki "
		 "knows (%d)",
		 latest_version());
	expect_err(rc, &e, JPKI_ERR_SCHEMA, want);
	assert_null(s);
	fx_rmdir(f.dir);
}

static void test_open_errors(void **state)
{
	fx_sqlite_only();
	(void)state;
	struct fx f;
	jpki_err e = {0, ""};
	store *s = NULL;
	char loc[200];
	fx_mkdir(&f);

	expect_err(store_open("mysql://db/jpki", &s, &e), &e, JPKI_ERR_INVAL,
		   "unknown store location scheme \"mysql\"");
	expect_err(store_open("sqlite:", &s, &e), &e, JPKI_ERR_INVAL,
		   "names no file");
	expect_err(store_open("", &s, &e), &e, JPKI_ERR_INVAL, "names no file");
	expect_err(store_open(NULL, &s, &e), &e, JPKI_ERR_INVAL,
		   "no store location");
	snprintf(loc, sizeof(loc), "sqlite:%s?sync=fast", f.path);
	expect_err(store_open(loc, &s, &e), &e, JPKI_ERR_INVAL,
		   "sync=fast: use full, normal or extra");
	snprintf(loc, sizeof(loc), "sqlite:%s?journal=delete", f.path);
	expect_err(store_open(loc, &s, &e), &e, JPKI_ERR_INVAL,
		   "unknown store option \"journal\"");
	snprintf(loc, sizeof(loc), "sqlite:%s?busy_timeout=10s", f.path);
	expect_err(store_open(loc, &s, &e), &e, JPKI_ERR_INVAL,
		   "busy_timeout must be 0..600000 milliseconds");
	snprintf(loc, sizeof(loc), "%s/no/such/dir/x.db", f.dir);
	expect_err(store_open(loc, &s, &e), &e, JPKI_ERR_IO,
		   "cannot create store");
	/* Not a database. */
	snprintf(loc, sizeof(loc), "%s/junk", f.dir);
	FILE *fp = fopen(loc, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite file. ", fp);
	fclose(fp);
	expect_err(store_open(loc, &s, &e), &e, JPKI_ERR_STORE,
		   "is not an SQLite database");
	/* A path that merely looks like a scheme needs "./". */
	expect_err(store_open("pg:x.db", &s, &e), &e, JPKI_ERR_INVAL,
		   "unknown store location scheme \"pg\"");
	assert_null(s);

	/* NULL-safe and closed-handle behaviour. */
	store_close(NULL);
	store_rollback(NULL);
	store_cert_clear(NULL);
	assert_int_equal(store_schema_version(NULL), JPKI_ERR_INVAL);
	char v[4];
	expect_err(store_meta_get(NULL, "k", v, sizeof(v), &e), &e,
		   JPKI_ERR_INVAL, "no store handle");
	expect_err(store_commit(NULL, &e), &e, JPKI_ERR_INVAL,
		   "no store handle");
	fx_rmdir(f.dir);
}

static void test_meta(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char v[16], big[STORE_META_KEY_MAX + 1];
	int64_t n = -1;

	snprintf(v, sizeof(v), "untouched");
	expect_err(store_meta_get(f->s, "crl/131016", v, sizeof(v), &e), &e,
		   JPKI_ERR_NOT_FOUND, "setting crl/131016 is not set");
	assert_string_equal(v, "untouched");
	assert_int_equal(store_meta_set(f->s, "profile", "jpki-2016", &e), 0);
	assert_int_equal(store_meta_get(f->s, "profile", v, sizeof(v), &e), 0);
	assert_string_equal(v, "jpki-2016");
	assert_int_equal(store_meta_set(f->s, "profile", "test", &e), 0);
	assert_int_equal(store_meta_get(f->s, "profile", v, sizeof(v), &e), 0);
	assert_string_equal(v, "test");
	/* A value that does not fit is refused, not truncated. */
	assert_int_equal(store_meta_set(f->s, "long", "0123456789abcdef", &e),
			 0);
	snprintf(v, sizeof(v), "untouched");
	expect_err(store_meta_get(f->s, "long", v, sizeof(v), &e), &e,
		   JPKI_ERR_RANGE,
		   "setting long is 16 bytes; the buffer "
		   "holds 15");
	assert_string_equal(v, "untouched");
	expect_err(store_meta_get(f->s, "long", NULL, 0, &e), &e,
		   JPKI_ERR_INVAL, "no buffer for setting long");

	/* Counters start at 0. */
	assert_int_equal(store_meta_incr(f->s, "seq/sign", 1, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_meta_incr(f->s, "seq/sign", 5, &n, &e), 0);
	assert_int_equal(n, 6);
	assert_int_equal(store_meta_incr(f->s, "seq/sign", -8, &n, &e), 0);
	assert_int_equal(n, -2);
	assert_int_equal(store_meta_get(f->s, "seq/sign", v, sizeof(v), &e), 0);
	assert_string_equal(v, "-2");
	n = 42;
	expect_err(store_meta_incr(f->s, "profile", 1, &n, &e), &e,
		   JPKI_ERR_STATE, "setting profile does not hold an integer");
	assert_int_equal(n, 42);
	assert_int_equal(store_meta_set(f->s, "max", "9223372036854775807", &e),
			 0);
	expect_err(store_meta_incr(f->s, "max", 1, &n, &e), &e, JPKI_ERR_RANGE,
		   "setting max would overflow");
	assert_int_equal(store_meta_get(f->s, "max", v, sizeof(v), &e),
			 JPKI_ERR_RANGE);
	expect_err(store_meta_incr(f->s, "x", 1, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no output for setting x");

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_err(store_meta_set(f->s, big, "v", &e), &e, JPKI_ERR_RANGE,
		   "setting name is longer than 127 bytes");
	expect_err(store_meta_set(f->s, "", "v", &e), &e, JPKI_ERR_INVAL,
		   "setting name is empty");
	expect_err(store_meta_set(f->s, "k", NULL, &e), &e, JPKI_ERR_INVAL,
		   "setting value is missing");
}

struct munis {
	int n;
	char codes[4][8];
	int stop_at;
};

static int collect_muni(void *ctx, const store_muni *m)
{
	struct munis *c = ctx;
	snprintf(c->codes[c->n], sizeof(c->codes[0]), "%s", m->code);
	c->n++;
	return c->n == c->stop_at ? 77 : 0;
}

static void test_muni(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_muni m = fx_muni("011002", "札幌市"), got;
	snprintf(m.pref, sizeof(m.pref), "北海道");
	snprintf(m.pref_roman, sizeof(m.pref_roman), "Hokkaido");
	snprintf(m.city_roman, sizeof(m.city_roman), "Sapporo-shi");
	assert_int_equal(store_muni_put(f->s, &m, &e), 0);
	assert_int_equal(store_muni_get(f->s, "011002", &got, &e), 0);
	assert_string_equal(got.city, "札幌市");
	assert_string_equal(got.pref_roman, "Hokkaido");
	/* upsert */
	snprintf(m.city, sizeof(m.city), "札幌市役所");
	assert_int_equal(store_muni_put(f->s, &m, &e), 0);
	assert_int_equal(store_muni_get(f->s, "011002", &got, &e), 0);
	assert_string_equal(got.city, "札幌市役所");

	memset(&got, 0x5a, sizeof(got));
	expect_err(store_muni_get(f->s, "999999", &got, &e), &e,
		   JPKI_ERR_NOT_FOUND, "municipality 999999 not found");
	assert_int_equal((unsigned char)got.code[0], 0x5a);
	expect_err(store_muni_get(f->s, "13101", &got, &e), &e, JPKI_ERR_INVAL,
		   "municipality code \"13101\" is not six "
		   "digits");
	expect_err(store_muni_get(f->s, "1310166", &got, &e), &e,
		   JPKI_ERR_INVAL, "is not six digits");
	expect_err(store_muni_get(f->s, "131016", NULL, &e), &e, JPKI_ERR_INVAL,
		   "no output");
	m = fx_muni("131016", "千代田区");
	m.city[0] = '\0';
	expect_err(store_muni_put(f->s, &m, &e), &e, JPKI_ERR_INVAL,
		   "city is empty");
	memset(m.city, 'x', sizeof(m.city));
	expect_err(store_muni_put(f->s, &m, &e), &e, JPKI_ERR_RANGE,
		   "city is longer than 63 bytes");
	expect_err(store_muni_put(f->s, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no municipality");

	struct munis c = {0, {{0}}, 0};
	assert_int_equal(store_muni_each(f->s, collect_muni, &c, &e), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.codes[0], "011002");
	assert_string_equal(c.codes[1], "131016");
	struct munis stop = {0, {{0}}, 1};
	assert_int_equal(store_muni_each(f->s, collect_muni, &stop, &e), 77);
	assert_int_equal(stop.n, 1);
	expect_err(store_muni_each(f->s, NULL, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no callback");
}

struct found {
	int n;
	int64_t ids[8];
};

static int collect_resident(void *ctx, const store_resident *r)
{
	struct found *c = ctx;
	c->ids[c->n++] = r->id;
	return 0;
}

static void test_residents(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_resident r = fx_person("R0002", "鈴木 一郎", "スズキ イチロウ");
	store_resident got;
	r.sex = 1;
	r.adult_ward = true;
	r.birth = (jpki_date){2008, 2, 29};
	assert_int_equal(store_resident_add(f->s, &r, &e), 0);
	assert_true(r.id > f->resident);

	assert_int_equal(store_resident_get(f->s, r.id, &got, &e), 0);
	assert_string_equal(got.name, "鈴木 一郎");
	assert_string_equal(got.kana, "スズキ イチロウ");
	assert_string_equal(got.address, "東京都千代田区千代田1番1号");
	assert_int_equal(jpki_date_cmp(got.birth, (jpki_date){2008, 2, 29}), 0);
	assert_int_equal(got.sex, 1);
	assert_true(got.adult_ward);
	assert_int_equal(got.status, STORE_RESIDENT_LIVING);
	assert_int_equal(got.updated_at, 1700000000);
	assert_string_equal(got.muni_code, "131016");
	assert_int_equal(store_resident_get_ext(f->s, "R0002", &got, &e), 0);
	assert_int_equal(got.id, r.id);

	/* 異動: name change and removal. */
	snprintf(r.name, sizeof(r.name), "佐藤 一郎");
	r.status = STORE_RESIDENT_REMOVED;
	r.updated_at = 1700086400;
	assert_int_equal(store_resident_update(f->s, &r, &e), 0);
	assert_int_equal(store_resident_get(f->s, r.id, &got, &e), 0);
	assert_string_equal(got.name, "佐藤 一郎");
	assert_int_equal(got.status, STORE_RESIDENT_REMOVED);
	assert_int_equal(got.updated_at, 1700086400);

	/* Search: substring of name, kana or ext_id, ordered by id. */
	store_resident r3 = fx_person("X-77", "山田 太郎", "ヤマダ タロウ");
	assert_int_equal(store_resident_add(f->s, &r3, &e), 0);
	struct found c = {0, {0}};
	assert_int_equal(
	    store_resident_search(f->s, "山田", 10, collect_resident, &c, &e),
	    0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], f->resident);
	assert_int_equal(c.ids[1], r3.id);
	c.n = 0;
	assert_int_equal(
	    store_resident_search(f->s, "タロウ", 10, collect_resident, &c, &e),
	    0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], r3.id);
	c.n = 0;
	assert_int_equal(
	    store_resident_search(f->s, "X-7", 10, collect_resident, &c, &e),
	    0);
	assert_int_equal(c.n, 1);
	c.n = 0;
	assert_int_equal(
	    store_resident_search(f->s, "", 2, collect_resident, &c, &e), 0);
	assert_int_equal(c.n, 2);
	c.n = 0;
	assert_int_equal(
	    store_resident_search(f->s, "%", 10, collect_resident, &c, &e), 0);
	assert_int_equal(c.n, 0);
	expect_err(store_resident_search(f->s, "", 0, collect_resident, &c, &e),
		   &e, JPKI_ERR_INVAL, "search limit 0 is not positive");

	/* Duplicates and missing rows. */
	store_resident dup = fx_person("R0002", "別人", "ベツジン");
	expect_err(store_resident_add(f->s, &dup, &e), &e, JPKI_ERR_EXISTS,
		   "a resident with ext_id R0002 already exists");
	assert_int_equal(dup.id, 0);
	r3.id = r.id;
	snprintf(r3.ext_id, sizeof(r3.ext_id), "R0001");
	expect_err(store_resident_update(f->s, &r3, &e), &e, JPKI_ERR_EXISTS,
		   "ext_id R0001 already exists");
	r3.id = 999;
	snprintf(r3.ext_id, sizeof(r3.ext_id), "R0999");
	expect_err(store_resident_update(f->s, &r3, &e), &e, JPKI_ERR_NOT_FOUND,
		   "resident 999 not found");
	r3.id = 0;
	expect_err(store_resident_update(f->s, &r3, &e), &e, JPKI_ERR_INVAL,
		   "resident id 0 is not a stored id");
	memset(&got, 0x5a, sizeof(got));
	expect_err(store_resident_get(f->s, 999, &got, &e), &e,
		   JPKI_ERR_NOT_FOUND, "resident 999 not found");
	expect_err(store_resident_get_ext(f->s, "nobody", &got, &e), &e,
		   JPKI_ERR_NOT_FOUND, "resident with ext_id nobody not found");
	assert_int_equal((unsigned char)got.name[0], 0x5a);

	/* Checks before writing. */
	store_resident bad = fx_person("R0100", "名前", "ナマエ");
	snprintf(bad.muni_code, sizeof(bad.muni_code), "999999");
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_NOT_FOUND,
		   "resident R0100: municipality 999999 not found");
	bad = fx_person("R0100", "名前", "ナマエ");
	memset(bad.name, 'a', sizeof(bad.name));
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_RANGE,
		   "resident name is longer than 255 bytes");
	bad = fx_person("R0100", "名前", "ナマエ");
	bad.sex = 3;
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_INVAL,
		   "resident sex 3 is not 1 or 2");
	bad = fx_person("R0100", "名前", "ナマエ");
	bad.birth = (jpki_date){2023, 2, 29};
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_INVAL,
		   "birth date 2023-02-29 is not a valid date");
	bad = fx_person("", "名前", "ナマエ");
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_INVAL,
		   "resident ext_id is empty");
	bad = fx_person("R0100", "名前", "ナマエ");
	bad.status = (store_resident_status)7;
	expect_err(store_resident_add(f->s, &bad, &e), &e, JPKI_ERR_INVAL,
		   "resident status 7 is unknown");
	expect_err(store_resident_add(f->s, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no resident");
}

static void test_stored_too_long(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_resident got;
	char sql[512];
	/* A row written by something else with a name longer than the
	 * field: refused, not truncated. */
	snprintf(sql, sizeof(sql),
		 "UPDATE residents SET name = printf('%%.300c', 'x') "
		 "WHERE id = %lld",
		 (long long)f->resident);
	assert_int_equal(fx_raw(f, sql, NULL, 0), SQLITE_OK);
	expect_err(store_resident_get(f->s, f->resident, &got, &e), &e,
		   JPKI_ERR_RANGE,
		   "stored resident name is 300 bytes, more "
		   "than 255");
}

static void test_stored_garbage(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_resident r;
	store_cert c = fx_cert("0B", 1, f->resident, 1900000000), got;
	char sql[256];
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	snprintf(sql, sizeof(sql),
		 "UPDATE residents SET birth = '1990-02-30' WHERE id = %lld",
		 (long long)f->resident);
	assert_int_equal(fx_raw(f, sql, NULL, 0), SQLITE_OK);
	expect_err(store_resident_get(f->s, f->resident, &r, &e), &e,
		   JPKI_ERR_INTEGRITY,
		   "stored resident birth date is not a "
		   "date");
	/* A NUL inside a text value would truncate it silently. */
	snprintf(sql, sizeof(sql),
		 "UPDATE residents SET birth = '1990-01-01',"
		 " kana = CAST(x'41004200' AS TEXT) WHERE id = %lld",
		 (long long)f->resident);
	assert_int_equal(fx_raw(f, sql, NULL, 0), SQLITE_OK);
	expect_err(store_resident_get(f->s, f->resident, &r, &e), &e,
		   JPKI_ERR_RANGE, "stored resident kana holds a NUL byte");
	assert_int_equal(fx_raw(f,
				"UPDATE certificates SET der = x'' "
				"WHERE serial = '0B'",
				NULL, 0),
			 SQLITE_OK);
	expect_err(store_cert_get(f->s, "0B", &got, &e), &e, JPKI_ERR_INTEGRITY,
		   "stored DER of certificate 0B is 0 bytes");
	/* Counter values written by something else. */
	assert_int_equal(
	    fx_raw(f,
		   "INSERT INTO meta VALUES "
		   "('big', '99999999999999999999'), ('neg', '-5'),"
		   " ('dash', '-')",
		   NULL, 0),
	    SQLITE_OK);
	int64_t n = 0;
	expect_err(store_meta_incr(f->s, "big", 1, &n, &e), &e, JPKI_ERR_STATE,
		   "setting big does not hold an integer");
	expect_err(store_meta_incr(f->s, "dash", 1, &n, &e), &e, JPKI_ERR_STATE,
		   "setting dash does not hold an integer");
	assert_int_equal(store_meta_incr(f->s, "neg", 1, &n, &e), 0);
	assert_int_equal(n, -4);
}

/* A second handle waiting for the first one's write lock gives up after
 * its busy timeout. */
static void test_busy(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store *other = NULL;
	char loc[200];
	snprintf(loc, sizeof(loc), "sqlite:%s?busy_timeout=0&sync=full",
		 f->path);
	assert_int_equal(store_open(loc, &other, &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	expect_err(store_meta_set(other, "k", "v", &e), &e, JPKI_ERR_CONFLICT,
		   "starting a store transaction: database is locked");
	expect_err(store_begin(other, &e), &e, JPKI_ERR_CONFLICT,
		   "database is locked");
	/* Readers are not blocked in WAL mode. */
	store_muni m;
	assert_int_equal(store_muni_get(other, "131016", &m, &e), 0);
	store_rollback(f->s);
	assert_int_equal(store_meta_set(other, "k", "v", &e), 0);
	store_close(other);
	snprintf(loc, sizeof(loc), "sqlite:%s?busy_timeout=600001", f->path);
	expect_err(store_open(loc, &other, &e), &e, JPKI_ERR_INVAL,
		   "busy_timeout must be 0..600000 milliseconds");
}

static void test_migration_fails(void **state)
{
	fx_sqlite_only();
	(void)state;
	struct fx f;
	jpki_err e = {0, ""};
	store *s = NULL;
	fx_mkdir(&f);
	/* Someone else's database: migration 1 cannot create its tables and
	 * leaves nothing behind. */
	assert_int_equal(fx_raw_create(&f, "CREATE TABLE meta (x)"), SQLITE_OK);
	expect_err(store_open(f.path, &s, &e), &e, JPKI_ERR_STORE,
		   "schema migration 1 (initial schema): store ");
	assert_non_null(strstr(e.msg, "table meta already exists"));
	assert_int_equal(fx_raw_int(&f, "SELECT count(*) FROM sqlite_master "
					"WHERE name = 'residents'"),
			 0);
	fx_rmdir(f.dir);

	fx_mkdir(&f);
	assert_int_equal(
	    fx_raw_create(&f, "CREATE TABLE schema_version (version "
			      "INTEGER PRIMARY KEY, name TEXT NOT NULL);"
			      "INSERT INTO schema_version VALUES "
			      "(-1, 'broken')"),
	    SQLITE_OK);
	expect_err(store_open(f.path, &s, &e), &e, JPKI_ERR_SCHEMA,
		   "schema version -1 is not valid");
	assert_null(s);
	fx_rmdir(f.dir);
}

static void test_cards(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_card c = fx_card("CARD2", f->resident), got;
	assert_int_equal(store_card_put(f->s, &c, &e), 0);
	assert_int_equal(store_card_get(f->s, "CARD2", &got, &e), 0);
	assert_int_equal(got.resident_id, f->resident);
	assert_int_equal(jpki_date_cmp(got.expiry, (jpki_date){2034, 2, 28}),
			 0);
	assert_int_equal(got.status, STORE_CARD_ACTIVE);
	c.status = STORE_CARD_LOST;
	assert_int_equal(store_card_put(f->s, &c, &e), 0);
	assert_int_equal(store_card_get(f->s, "CARD2", &got, &e), 0);
	assert_int_equal(got.status, STORE_CARD_LOST);

	expect_err(store_card_get(f->s, "CARD9", &got, &e), &e,
		   JPKI_ERR_NOT_FOUND, "card CARD9 not found");
	c = fx_card("CARD3", 999);
	expect_err(store_card_put(f->s, &c, &e), &e, JPKI_ERR_NOT_FOUND,
		   "card CARD3: resident 999 not found");
	c = fx_card("CARD3", 0);
	expect_err(store_card_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "card CARD3 has no resident");
	c = fx_card("CARD3", f->resident);
	c.expiry = (jpki_date){2020, 1, 1};
	expect_err(store_card_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "card CARD3 expires before it is issued");
	c = fx_card("CARD3", f->resident);
	c.status = (store_card_status)9;
	expect_err(store_card_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "card status 9 is unknown");
	c.issued.m = 13;
	expect_err(store_card_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "card issue date 2024-13-01 is not a valid date");
	expect_err(store_card_put(f->s, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no card");
	expect_err(store_card_get(f->s, "", &got, &e), &e, JPKI_ERR_INVAL,
		   "card serial is empty");
}

/* Read snapshots: one consistent view across statements, no writes in
 * one, no nesting; inside a transaction a no-op. */
static void test_read_snapshot(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store *other = NULL;
	char v[8];
	assert_int_equal(store_meta_set(f->s, "snap", "1", &e), 0);
	assert_int_equal(store_open(f->loc, &other, &e), 0);

	assert_int_equal(store_read_begin(f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "snap", v, sizeof(v), &e), 0);
	assert_string_equal(v, "1");
	/* another handle commits; the snapshot still sees the old value */
	assert_int_equal(store_meta_set(other, "snap", "2", &e), 0);
	assert_int_equal(store_meta_get(f->s, "snap", v, sizeof(v), &e), 0);
	assert_string_equal(v, "1");
	expect_err(store_meta_set(f->s, "x", "1", &e), &e, JPKI_ERR_STATE,
		   "store write inside a read snapshot");
	expect_err(store_begin(f->s, &e), &e, JPKI_ERR_STATE,
		   "store write inside a read snapshot");
	expect_err(store_read_begin(f->s, &e), &e, JPKI_ERR_STATE,
		   "read snapshots do not nest");
	store_read_end(f->s);
	assert_int_equal(store_meta_get(f->s, "snap", v, sizeof(v), &e), 0);
	assert_string_equal(v, "2");
	store_read_end(f->s); /* a second end is harmless */

	/* inside a transaction: nothing to open, writes still allowed */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_read_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "snap", "3", &e), 0);
	store_read_end(f->s);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_meta_get(other, "snap", v, sizeof(v), &e), 0);
	assert_string_equal(v, "3");
	store_close(other);
}

/* The plan of sql names a covering index `index`. */
static bool covered_by(sqlite3 *db, const char *sql, const char *index)
{
	sqlite3_stmt *st = NULL;
	char want[96];
	bool hit = false;
	snprintf(want, sizeof(want), "USING COVERING INDEX %s ", index);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3), want) !=
		    NULL)
			hit = true;
	sqlite3_finalize(st);
	return hit;
}

/* CRL listings read the partial index of revoked certificates; issuing a
 * valid certificate adds nothing to it (migration 3).  The CRL rows'
 * queries (sqlite.c, store_crl_rows) are answered from the indexes alone
 * (migration 8). */
static void test_revoked_index(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool uses = false;
	assert_int_equal(
	    sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "EXPLAIN QUERY PLAN SELECT serial FROM "
			       "certificates WHERE kind = 1 AND muni_code = "
			       "'131016' AND status = 1 AND not_after >= 0",
			       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3),
			   "certificates_revoked") != NULL)
			uses = true;
	sqlite3_finalize(st);
	assert_true(uses);
	assert_true(covered_by(db,
			       "EXPLAIN QUERY PLAN SELECT serial, reason,"
			       " revoked_at, gen FROM certificates"
			       " WHERE kind = 1 AND status = 1"
			       " AND not_after >= 0"
			       " ORDER BY length(serial), serial",
			       "certificates_revoked_serial"));
	assert_true(covered_by(db,
			       "EXPLAIN QUERY PLAN SELECT serial, reason,"
			       " revoked_at, gen FROM certificates"
			       " WHERE kind = 1 AND muni_code = '131016'"
			       " AND status = 1 AND not_after >= 0"
			       " ORDER BY length(serial), serial",
			       "certificates_revoked"));
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT count(*) FROM sqlite_master "
			       "WHERE name = "
			       "'certificates_kind_muni_status'",
			       -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_transactions(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char v[8];

	/* Nested commit: only the outermost writes. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "a", "1", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "b", "2", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "b", v, sizeof(v), &e), 0);

	/* Outer rollback drops everything. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "c", "3", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "d", "4", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	store_rollback(f->s);
	assert_int_equal(store_meta_get(f->s, "c", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(store_meta_get(f->s, "d", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);

	/* Inner rollback dooms the outer transaction. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "e", "5", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	store_rollback(f->s);
	expect_err(store_meta_set(f->s, "f", "6", &e), &e, JPKI_ERR_STATE,
		   "store transaction failed and must be rolled back");
	expect_err(store_begin(f->s, &e), &e, JPKI_ERR_STATE,
		   "must be rolled back");
	expect_err(store_commit(f->s, &e), &e, JPKI_ERR_STATE,
		   "store transaction rolled back: an operation inside it "
		   "failed");
	/* The failed commit still needs its rollback. */
	expect_err(store_meta_get(f->s, "e", v, sizeof(v), &e), &e,
		   JPKI_ERR_STATE, "must be rolled back");
	store_rollback(f->s);
	assert_int_equal(store_meta_get(f->s, "e", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);

	/* The usual idiom at two levels: a failed operation, then "commit
	 * failed: roll back" at each level, balances. */
	store_cert c = fx_cert("AA", 1, f->resident, 1900000000);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "j", "10", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_CONFLICT,
		   "certificate serial AA already exists");
	expect_err(store_commit(f->s, &e), &e, JPKI_ERR_STATE,
		   "store transaction failed and must be rolled back");
	store_rollback(f->s);
	assert_int_equal(store_commit(f->s, &e), JPKI_ERR_STATE);
	store_rollback(f->s);
	assert_int_equal(store_meta_get(f->s, "j", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);

	/* A failed write inside a transaction: the caller rolls back. */
	store_resident dup = fx_person("R0001", "重複", "ジュウフク");
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "g", "7", &e), 0);
	assert_int_equal(store_resident_add(f->s, &dup, &e), JPKI_ERR_EXISTS);
	expect_err(store_meta_get(f->s, "g", v, sizeof(v), &e), &e,
		   JPKI_ERR_STATE, "must be rolled back");
	store_rollback(f->s);
	assert_int_equal(store_meta_get(f->s, "g", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);
	/* The handle works again. */
	assert_int_equal(store_meta_set(f->s, "h", "8", &e), 0);

	expect_err(store_commit(f->s, &e), &e, JPKI_ERR_STATE,
		   "no store transaction to commit");
	store_rollback(f->s); /* nothing open: no-op */

	/* Closing with a transaction open rolls it back. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "i", "9", &e), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->loc, &f->s, &e), 0);
	assert_int_equal(store_meta_get(f->s, "i", v, sizeof(v), &e),
			 JPKI_ERR_NOT_FOUND);
}

/* Issue #12 item 3: the short-lived rows jpkid nodes share. */
static store_token tok(const char *id_char, int kind, const char *owner,
		       const char *op, time_t expires)
{
	store_token t;
	memset(&t, 0, sizeof(t));
	memset(t.id, id_char[0], STORE_TOKEN_ID_LEN);
	t.kind = kind;
	snprintf(t.owner, sizeof(t.owner), "%s", owner);
	snprintf(t.op, sizeof(t.op), "%s", op);
	t.role = 2;
	t.gen = 7;
	t.expires = expires;
	t.last = 100;
	snprintf(t.extra, sizeof(t.extra), "csrf");
	return t;
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0};
	store_token a = tok("A", STORE_TOKEN_SESSION, "clerk1", "", 1000),
		    b = tok("B", STORE_TOKEN_CHALLENGE, "A-owner", "clerk1",
			    500),
		    c = tok("C", STORE_TOKEN_CHALLENGE, "A-owner", "clerk1",
			    900),
		    d = tok("D", STORE_TOKEN_DOWNLOAD, "A-owner", "CARD1", 800),
		    got;
	const uint8_t img[5] = {0, 1, 2, 0xff, 0};
	uint8_t *data = NULL;
	size_t len = 0, n = 0;
	time_t first = 0;
	bool changed = false;
	assert_int_equal(store_token_put(f->s, &a, NULL, 0, &e), 0);
	assert_int_equal(store_token_put(f->s, &b, NULL, 0, &e), 0);
	assert_int_equal(store_token_put(f->s, &c, NULL, 0, &e), 0);
	assert_int_equal(store_token_put(f->s, &d, img, sizeof(img), &e), 0);
	expect_err(store_token_put(f->s, &a, NULL, 0, &e), &e,
		   JPKI_ERR_CONFLICT, "exists");
	store_token bad = a;
	bad.id[3] = 'a'; /* lower case: not an id */
	expect_err(store_token_put(f->s, &bad, NULL, 0, &e), &e, JPKI_ERR_INVAL,
		   "hex");
	bad = a;
	bad.kind = 9;
	memset(bad.id, 'E', STORE_TOKEN_ID_LEN);
	expect_err(store_token_put(f->s, &bad, NULL, 0, &e), &e, JPKI_ERR_INVAL,
		   "kind");
	/* every field back, and the data */
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_token_get(f->s, a.id, &got, NULL, NULL, &e), 0);
	assert_memory_equal(&got, &a, sizeof(a));
	assert_int_equal(store_token_get(f->s, d.id, &got, &data, &len, &e), 0);
	assert_int_equal(len, sizeof(img));
	assert_memory_equal(data, img, sizeof(img));
	free(data);
	data = NULL;
	assert_int_equal(store_token_get(f->s, b.id, &got, &data, &len, &e), 0);
	assert_null(data);
	assert_int_equal(len, 0);
	/* touch: unconditional, then only from an expected value */
	assert_int_equal(store_token_touch(f->s, a.id, 200, -1, &changed, &e),
			 0);
	assert_true(changed);
	assert_int_equal(store_token_touch(f->s, a.id, 300, 100, &changed, &e),
			 0);
	assert_false(changed);
	assert_int_equal(store_token_touch(f->s, a.id, 300, 200, &changed, &e),
			 0);
	assert_true(changed);
	assert_int_equal(store_token_get(f->s, a.id, &got, NULL, NULL, &e), 0);
	assert_int_equal(got.last, 300);
	/* counts through the filter, with the first expiry */
	store_token_filter fl = {.kind = STORE_TOKEN_CHALLENGE,
				 .owner = "A-owner"};
	assert_int_equal(store_token_count(f->s, &fl, &n, &first, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(first, 500);
	fl.alive_at = 500;
	assert_int_equal(store_token_count(f->s, &fl, &n, &first, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(first, 900);
	fl =
	    (store_token_filter){.kind = STORE_TOKEN_CHALLENGE, .op = "nobody"};
	assert_int_equal(store_token_count(f->s, &fl, &n, &first, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(first, 0);
	/* take: once */
	assert_int_equal(store_token_take(f->s, d.id, &got, &data, &len, &e),
			 0);
	assert_int_equal(len, sizeof(img));
	free(data);
	expect_err(store_token_take(f->s, d.id, &got, NULL, NULL, &e), &e,
		   JPKI_ERR_NOT_FOUND, "token");
	/* deletes: by generation, keeping one, by expiry */
	store_token a2 = tok("F", STORE_TOKEN_SESSION, "clerk1", "", 1000);
	a2.gen = 9;
	assert_int_equal(store_token_put(f->s, &a2, NULL, 0, &e), 0);
	fl = (store_token_filter){
	    .kind = STORE_TOKEN_SESSION, .owner = "clerk1", .gen_below = 8};
	assert_int_equal(store_token_delete(f->s, &fl, &n, &e), 0);
	assert_int_equal(n, 1); /* a, gen 7 */
	fl = (store_token_filter){
	    .kind = STORE_TOKEN_SESSION, .owner = "clerk1", .keep = a2.id};
	assert_int_equal(store_token_delete(f->s, &fl, &n, &e), 0);
	assert_int_equal(n, 0);
	fl = (store_token_filter){.expired_at = 500};
	assert_int_equal(store_token_delete(f->s, &fl, &n, &e), 0);
	assert_int_equal(n, 1); /* b */
	fl = (store_token_filter){0};
	expect_err(store_token_delete(f->s, &fl, &n, &e), &e, JPKI_ERR_INVAL,
		   "needs");
	fl = (store_token_filter){.kind = STORE_TOKEN_SESSION};
	assert_int_equal(store_token_count(f->s, &fl, &n, NULL, &e), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_migrate_reopen),
	    cmocka_unit_test(test_newer_schema_refused),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test_setup_teardown(test_meta, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_muni, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_residents, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_stored_too_long, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_stored_garbage, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_busy, fx_setup, fx_teardown),
	    cmocka_unit_test(test_migration_fails),
	    cmocka_unit_test_setup_teardown(test_cards, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_read_snapshot, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_index, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tokens, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, fx_setup,
					    fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
