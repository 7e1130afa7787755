/* store: certificates — records, revocation states, CRL and expiry
 * listings. */
#include "store/store_impl.h"
#include "store_fixture.h"

#define T0 ((time_t)1900000000) /* some notAfter */

static void test_cert_roundtrip(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_cert c = fx_cert("01AB", 1, f->resident, T0), got;
	uint8_t der[1200];
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 13 + 1);
	c.der = der;
	c.der_len = sizeof(der);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	assert_int_equal(store_cert_get(f->s, "01AB", &got, &e), 0);
	assert_string_equal(got.serial, "01AB");
	assert_int_equal(got.kind, 1);
	assert_int_equal(got.resident_id, f->resident);
	assert_string_equal(got.card_serial, "CARD1");
	assert_string_equal(got.muni_code, "131016");
	assert_string_equal(got.subject, "/C=JP/CN=01AB");
	assert_int_equal(got.not_before, c.not_before);
	assert_int_equal(got.not_after, T0);
	assert_int_equal(got.status, STORE_CERT_VALID);
	assert_int_equal(got.reason, 0);
	assert_int_equal(got.revoked_at, 0);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	store_cert_clear(&got);
	assert_null(got.der);
	store_cert_clear(&got); /* twice is fine */

	/* A root: no resident, card or municipality. */
	store_cert root = fx_cert("7F00", 11, 0, T0);
	root.card_serial[0] = '\0';
	root.muni_code[0] = '\0';
	assert_int_equal(store_cert_put(f->s, &root, &e), 0);
	assert_int_equal(store_cert_get(f->s, "7F00", &got, &e), 0);
	assert_int_equal(got.resident_id, 0);
	assert_string_equal(got.card_serial, "");
	assert_string_equal(got.muni_code, "");
	store_cert_clear(&got);

	/* Inserted already revoked (an import). */
	store_cert rv = fx_cert("7F01", 1, f->resident, T0);
	rv.status = STORE_CERT_REVOKED;
	rv.reason = 4;
	rv.revoked_at = T0 - 100;
	assert_int_equal(store_cert_put(f->s, &rv, &e), 0);
	assert_int_equal(store_cert_get(f->s, "7F01", &got, &e), 0);
	assert_int_equal(got.status, STORE_CERT_REVOKED);
	assert_int_equal(got.reason, 4);
	assert_int_equal(got.revoked_at, T0 - 100);
	store_cert_clear(&got);
}

/* The issuer's root generation (ca rollover, migration 7): stored and read
 * back, in the record and in the revoked listing the CRLs read. */
static int collect_gen(void *ctx, const store_cert *c)
{
	int *gens = ctx;
	gens[gens[0] + 1] = c->gen;
	gens[0]++;
	return 0;
}

static void test_cert_generation(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	uint8_t der[1] = {0x30};
	store_cert g1 = fx_cert("0A01", 1, f->resident, T0), g2 = g1, got;
	memcpy(g2.serial, "0A02", 5);
	g1.gen = 1;
	g2.gen = 2;
	g1.der = g2.der = der;
	g1.der_len = g2.der_len = 1;
	assert_int_equal(store_cert_put(f->s, &g1, &e), 0);
	assert_int_equal(store_cert_put(f->s, &g2, &e), 0);
	assert_int_equal(store_cert_get(f->s, "0A01", &got, &e), 0);
	assert_int_equal(got.gen, 1);
	store_cert_clear(&got);
	assert_int_equal(store_cert_get(f->s, "0A02", &got, &e), 0);
	assert_int_equal(got.gen, 2);
	store_cert_clear(&got);
	assert_int_equal(store_cert_revoke(f->s, "0A01", 1, T0 - 10, false, &e),
			 0);
	assert_int_equal(store_cert_revoke(f->s, "0A02", 1, T0 - 10, false, &e),
			 0);
	int gens[4] = {0};
	assert_int_equal(
	    store_cert_revoked(f->s, 1, NULL, T0 - 1000, collect_gen, gens, &e),
	    0);
	assert_int_equal(gens[0], 2);
	assert_int_equal(gens[1], 1); /* serial order */
	assert_int_equal(gens[2], 2);
}

static void test_cert_errors(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_cert c = fx_cert("01AB", 1, f->resident, T0), got;
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_CONFLICT,
		   "certificate serial 01AB already exists");

	memset(&got, 0x5a, sizeof(got));
	expect_err(store_cert_get(f->s, "0A0B", &got, &e), &e,
		   JPKI_ERR_NOT_FOUND, "certificate 0A0B not found");
	assert_int_equal((unsigned char)got.serial[0], 0x5a);
	expect_err(store_cert_get(f->s, "01ab", &got, &e), &e, JPKI_ERR_INVAL,
		   "certificate serial \"01ab\" is not upper-case hex");
	expect_err(store_cert_get(f->s, "1AB", &got, &e), &e, JPKI_ERR_INVAL,
		   "certificate serial \"1AB\" has an odd number of hex "
		   "digits");
	expect_err(store_cert_get(f->s, "", &got, &e), &e, JPKI_ERR_INVAL,
		   "certificate serial is empty");
	expect_err(store_cert_get(f->s, NULL, &got, &e), &e, JPKI_ERR_INVAL,
		   "certificate serial is missing");
	expect_err(
	    store_cert_get(f->s, "00112233445566778899AABBCCDDEEFF0011223344",
			   &got, &e),
	    &e, JPKI_ERR_RANGE, "certificate serial is longer than 40 bytes");

	c = fx_cert("02", 1, 999, T0);
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_NOT_FOUND,
		   "certificate 02: resident 999 not found");
	c = fx_cert("02", 1, f->resident, T0);
	snprintf(c.card_serial, sizeof(c.card_serial), "NOCARD");
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_NOT_FOUND,
		   "certificate 02: card NOCARD not found");
	c = fx_cert("02", 1, f->resident, T0);
	snprintf(c.muni_code, sizeof(c.muni_code), "999999");
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_NOT_FOUND,
		   "certificate 02: municipality 999999 not found");
	snprintf(c.muni_code, sizeof(c.muni_code), "ABC");
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "municipality code \"ABC\" is not six digits");

	c = fx_cert("02", 1, f->resident, T0);
	c.der = NULL;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: no DER");
	c.der = (uint8_t *)"x";
	c.der_len = STORE_DER_MAX + 1;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_RANGE,
		   "certificate 02: DER is 65537 bytes, more than 65536");
	c = fx_cert("02", 1, f->resident, T0);
	memset(c.subject, 'S', sizeof(c.subject));
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_RANGE,
		   "certificate subject is longer than 255 bytes");
	c = fx_cert("02", 1, f->resident, T0);
	c.not_before = T0 + 1;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: notAfter is before notBefore");
	c = fx_cert("02", -1, f->resident, T0);
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: kind -1 is out of range");
	c = fx_cert("02", 1, -5, T0);
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: resident id -5 is negative");
	c = fx_cert("02", 1, f->resident, T0);
	c.reason = 1;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: valid but has a revocation reason or date");
	c.status = (store_cert_status)5;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "certificate 02: status 5 is unknown");
	c.status = STORE_CERT_REVOKED;
	c.reason = 8;
	expect_err(store_cert_put(f->s, &c, &e), &e, JPKI_ERR_INVAL,
		   "revocation reason 8 is not allowed");
	expect_err(store_cert_put(f->s, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no certificate");
	/* Nothing of the refused ones was stored. */
	assert_int_equal(store_cert_get(f->s, "02", &got, &e),
			 JPKI_ERR_NOT_FOUND);
}

static void test_revoke(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_cert c = fx_cert("10", 1, f->resident, T0), got;
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	c = fx_cert("11", 2, f->resident, T0);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);

	/* Plain revocation, then again. */
	assert_int_equal(store_cert_revoke(f->s, "10", 3, T0 - 1000, false, &e),
			 0);
	assert_int_equal(store_cert_get(f->s, "10", &got, &e), 0);
	assert_int_equal(got.status, STORE_CERT_REVOKED);
	assert_int_equal(got.reason, 3);
	assert_int_equal(got.revoked_at, T0 - 1000);
	store_cert_clear(&got);
	expect_err(store_cert_revoke(f->s, "10", 1, T0, false, &e), &e,
		   JPKI_ERR_STATE,
		   "certificate 10 is already revoked "
		   "(reason 3)");
	expect_err(store_cert_revoke(f->s, "10", 1, T0, true, &e), &e,
		   JPKI_ERR_STATE, "already revoked (reason 3)");
	expect_err(store_cert_revoke(f->s, "99", 1, T0, false, &e), &e,
		   JPKI_ERR_NOT_FOUND, "certificate 99 not found");
	expect_err(store_cert_revoke(f->s, "11", 7, T0, false, &e), &e,
		   JPKI_ERR_INVAL, "revocation reason 7 is not allowed");
	expect_err(store_cert_revoke(f->s, "11", -1, T0, false, &e), &e,
		   JPKI_ERR_INVAL, "revocation reason -1 is not allowed");

	/* Hold (lost card), then the final revocation keeps the hold's
	 * date. */
	assert_int_equal(store_cert_revoke(f->s, "11", 6, T0 - 500, false, &e),
			 0);
	expect_err(store_cert_revoke(f->s, "11", 1, T0 - 100, false, &e), &e,
		   JPKI_ERR_STATE,
		   "certificate 11 is already revoked "
		   "(reason 6)");
	expect_err(store_cert_revoke(f->s, "11", 6, T0 - 100, true, &e), &e,
		   JPKI_ERR_STATE, "certificate 11 is already on hold");
	assert_int_equal(store_cert_revoke(f->s, "11", 1, T0 - 100, true, &e),
			 0);
	assert_int_equal(store_cert_get(f->s, "11", &got, &e), 0);
	assert_int_equal(got.reason, 1);
	assert_int_equal(got.revoked_at, T0 - 500);
	store_cert_clear(&got);
	/* And now it is final. */
	expect_err(store_cert_revoke(f->s, "11", 4, T0, true, &e), &e,
		   JPKI_ERR_STATE, "already revoked (reason 1)");
}

struct list {
	int n;
	char serial[16][STORE_SERIAL_HEX_MAX];
	int stop_at;
};

static int collect(void *ctx, const store_cert *c)
{
	struct list *l = ctx;
	assert_null(c->der);
	snprintf(l->serial[l->n], sizeof(l->serial[0]), "%s", c->serial);
	l->n++;
	return l->n == l->stop_at ? 99 : 0;
}

/* store_crl_rows against store_cert_revoked: the same rows, in the same
 * order, with the same serial, reason, time and generation. */
struct rows {
	int n;
	store_crl_row r[16];
};

static int collect_full(void *ctx, const store_cert *c)
{
	struct rows *l = ctx;
	assert_true(l->n < 16);
	memcpy(l->r[l->n].serial, c->serial, sizeof(c->serial));
	l->r[l->n].reason = c->reason;
	l->r[l->n].revoked_at = c->revoked_at;
	l->r[l->n].gen = c->gen;
	l->n++;
	return 0;
}

static int collect_crl(void *ctx, const store_crl_row *r)
{
	struct rows *l = ctx;
	assert_true(l->n < 16);
	l->r[l->n++] = *r;
	return 0;
}

static void same_rows(store *s, int kind, const char *muni, time_t from, int n)
{
	jpki_err e = {0, ""};
	struct rows a = {0}, b = {0};
	assert_int_equal(
	    store_cert_revoked(s, kind, muni, from, collect_full, &a, &e), 0);
	assert_int_equal(
	    store_crl_rows(s, kind, muni, from, collect_crl, &b, &e), 0);
	assert_int_equal(a.n, n);
	assert_int_equal(b.n, n);
	for (int i = 0; i < n; i++) {
		assert_string_equal(a.r[i].serial, b.r[i].serial);
		assert_int_equal(a.r[i].reason, b.r[i].reason);
		assert_int_equal(a.r[i].revoked_at, b.r[i].revoked_at);
		assert_int_equal(a.r[i].gen, b.r[i].gen);
	}
}

static void test_revoked_listing(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_muni m = fx_muni("271004", "大阪市");
	assert_int_equal(store_muni_put(f->s, &m, &e), 0);
	static const struct {
		const char *serial;
		int kind;
		const char *muni;
		time_t not_after;
		bool revoke;
	} certs[] = {
	    {"30", 1, "131016", T0, true},
	    {"20", 1, "131016", T0 + 10, true},
	    {"21", 1, "131016", T0 - 1, true}, /* expired: drops off */
	    {"22", 1, "131016", T0, false},    /* valid */
	    {"23", 2, "131016", T0, true},     /* other kind */
	    {"24", 1, "271004", T0, true},     /* other municipality */
	    {"0A", 1, "271004", T0 + 5, true},
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		store_cert c = fx_cert(certs[i].serial, certs[i].kind,
				       f->resident, certs[i].not_after);
		snprintf(c.muni_code, sizeof(c.muni_code), "%s", certs[i].muni);
		c.gen = 1 + (int)(i % 3);
		assert_int_equal(store_cert_put(f->s, &c, &e), 0);
		if (certs[i].revoke)
			assert_int_equal(
			    store_cert_revoke(f->s, c.serial, 1 + (int)i % 6,
					      T0 - 9999 + (time_t)i, false, &e),
			    0);
	}
	same_rows(f->s, 1, "131016", T0, 2);
	same_rows(f->s, 1, NULL, T0, 4);
	same_rows(f->s, 1, "131016", 0, 3);
	same_rows(f->s, 2, NULL, T0, 1);
	same_rows(f->s, 1, "271004", T0, 2);
	expect_err(store_crl_rows(f->s, 1, "13", T0, collect_crl, NULL, &e), &e,
		   JPKI_ERR_INVAL,
		   "municipality code \"13\" is not six digits");
	struct list l = {0};
	assert_int_equal(
	    store_cert_revoked(f->s, 1, "131016", T0, collect, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.serial[0], "20");
	assert_string_equal(l.serial[1], "30");

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_cert_revoked(f->s, 1, NULL, T0, collect, &l, &e),
			 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.serial[0], "0A");
	assert_string_equal(l.serial[1], "20");
	assert_string_equal(l.serial[2], "24");
	assert_string_equal(l.serial[3], "30");

	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    store_cert_revoked(f->s, 1, "131016", 0, collect, &l, &e), 0);
	assert_int_equal(l.n, 3); /* with the expired one */

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_cert_revoked(f->s, 2, NULL, T0, collect, &l, &e),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.serial[0], "23");

	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(store_cert_revoked(f->s, 1, NULL, T0, collect, &l, &e),
			 99);
	assert_int_equal(l.n, 2);

	expect_err(store_cert_revoked(f->s, 1, "13", T0, collect, &l, &e), &e,
		   JPKI_ERR_INVAL,
		   "municipality code \"13\" is not six digits");
	expect_err(store_cert_revoked(f->s, 1, NULL, T0, NULL, NULL, &e), &e,
		   JPKI_ERR_INVAL, "no callback");

	/* A resident's certificates, newest first. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    store_cert_by_resident(f->s, f->resident, collect, &l, &e), 0);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.serial[0], "20"); /* latest notBefore */
}

struct nested {
	store *s;
	int n;
};

/* Re-enters the same listing from its own callback. */
static int nested_inner(void *ctx, const store_cert *c)
{
	(void)c;
	struct nested *nx = ctx;
	nx->n++;
	return 0;
}

static int nested_outer(void *ctx, const store_cert *c)
{
	struct nested *nx = ctx;
	store_cert full;
	jpki_err e = {0, ""};
	assert_int_equal(store_cert_get(nx->s, c->serial, &full, &e), 0);
	assert_non_null(full.der);
	store_cert_clear(&full);
	return store_cert_by_resident(nx->s, c->resident_id, nested_inner, nx,
				      &e);
}

/* Both readers stream (on PostgreSQL: a cursor, store_pg_stream_batch
 * rows a FETCH, here also 1, 64 and 100 so that reads and stops fall on
 * and between batch boundaries): many rows, a write still pending in the
 * transaction (store_defer_writes) seen first, the same rows from both,
 * and a callback's error mid-way stops the read and leaves the store
 * usable, inside a transaction and outside. */
#define STREAM_N 300

struct stream {
	int n, stop_at;
	char serial[STREAM_N + 1][STORE_SERIAL_HEX_MAX];
	int reason[STREAM_N + 1];
	time_t revoked_at[STREAM_N + 1];
};

static int stream_full(void *ctx, const store_cert *c)
{
	struct stream *l = ctx;
	assert_true(l->n <= STREAM_N);
	memcpy(l->serial[l->n], c->serial, sizeof(c->serial));
	l->reason[l->n] = c->reason;
	l->revoked_at[l->n] = c->revoked_at;
	return ++l->n == l->stop_at ? 77 : 0;
}

static int stream_crl(void *ctx, const store_crl_row *r)
{
	struct stream *l = ctx;
	assert_true(l->n <= STREAM_N);
	memcpy(l->serial[l->n], r->serial, sizeof(r->serial));
	l->reason[l->n] = r->reason;
	l->revoked_at[l->n] = r->revoked_at;
	return ++l->n == l->stop_at ? 77 : 0;
}

static void stream_check(store *s, int n, int stop_at)
{
	jpki_err e = {0, ""};
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	a->stop_at = b->stop_at = stop_at;
	int want = stop_at > 0 ? 77 : 0, got = stop_at > 0 ? stop_at : n;
	assert_int_equal(
	    store_cert_revoked(s, 1, "131016", T0, stream_full, a, &e), want);
	assert_int_equal(store_crl_rows(s, 1, "131016", T0, stream_crl, b, &e),
			 want);
	assert_int_equal(a->n, got);
	assert_int_equal(b->n, got);
	for (int i = 0; i < got; i++) {
		/* serial i + 1 in DER order: "01" .. "FF", "0100" .. */
		char hex[8];
		snprintf(hex, sizeof(hex), (i + 1) < 256 ? "%02X" : "%04X",
			 i + 1);
		assert_string_equal(a->serial[i], hex);
		assert_string_equal(b->serial[i], hex);
		assert_int_equal(a->reason[i], 1 + (i + 1) % 6);
		assert_int_equal(b->reason[i], a->reason[i]);
		assert_int_equal(a->revoked_at[i], T0 - 5000 + i + 1);
		assert_int_equal(b->revoked_at[i], a->revoked_at[i]);
	}
	/* the next statement works */
	store_cert c;
	assert_int_equal(store_cert_get(s, "01", &c, &e), 0);
	assert_int_equal(c.status, STORE_CERT_REVOKED);
	store_cert_clear(&c);
	free(a);
	free(b);
}

static void stream_put(store *s, int64_t resident, int i)
{
	jpki_err e = {0, ""};
	char hex[8];
	snprintf(hex, sizeof(hex), i < 256 ? "%02X" : "%04X", i);
	store_cert c = fx_cert(hex, 1, resident, T0);
	c.status = STORE_CERT_REVOKED;
	c.reason = 1 + i % 6;
	c.revoked_at = T0 - 5000 + i;
	assert_int_equal(store_cert_put(s, &c, &e), 0);
}

static void test_revoked_stream(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	static const int batches[] = {10000, 100, 64, 1};
	int saved = store_pg_stream_batch;
	/* inserted out of order, in one transaction */
	assert_int_equal(store_begin(f->s, &e), 0);
	for (int i = STREAM_N - 1; i >= 1; i--)
		stream_put(f->s, f->resident, i);
	assert_int_equal(store_commit(f->s, &e), 0);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		store_pg_stream_batch = batches[b];
		stream_check(f->s, STREAM_N - 1, 0);
		stream_check(f->s, STREAM_N - 1, 100);
		stream_check(f->s, STREAM_N - 1, 64);
		stream_check(f->s, STREAM_N - 1, 1);
	}
	/* in a transaction whose last write is still pending; 300 rows are
	 * three whole batches of 100 */
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		store_pg_stream_batch = batches[b];
		assert_int_equal(store_begin(f->s, &e), 0);
		store_defer_writes(f->s);
		if (b == 0)
			stream_put(f->s, f->resident, STREAM_N);
		stream_check(f->s, STREAM_N, 0);
		stream_check(f->s, STREAM_N, 150);
		stream_check(f->s, STREAM_N, 128);
		stream_check(f->s, STREAM_N, 0);
		assert_int_equal(store_commit(f->s, &e), 0);
		stream_check(f->s, STREAM_N, STREAM_N - 1);
		stream_check(f->s, STREAM_N, STREAM_N);
	}
	store_pg_stream_batch = saved;
}

static void test_listing_reentrant(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_cert c = fx_cert("40", 1, f->resident, T0);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	c = fx_cert("41", 2, f->resident, T0);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	struct nested nx = {f->s, 0};
	assert_int_equal(
	    store_cert_by_resident(f->s, f->resident, nested_outer, &nx, &e),
	    0);
	assert_int_equal(nx.n, 4);
}

static void test_expiring(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	jpki_date from = {2030, 3, 1}, to = {2030, 3, 31};
	static const struct {
		const char *serial;
		int days;   /* from `from` */
		int offset; /* seconds from that day's 23:59:59 JST */
		bool revoke;
	} certs[] = {
	    {"50", -1, 0, false},     /* 28 Feb 23:59:59 JST: before */
	    {"51", 0, -86399, false}, /* 1 Mar 00:00:00 JST: first second */
	    {"52", 10, 0, false},
	    {"53", 30, 0, false}, /* 31 Mar 23:59:59 JST: last second */
	    {"54", 30, 1, false}, /* 1 Apr 00:00:00 JST: after */
	    {"55", 5, 0, true},	  /* revoked: no notice */
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		time_t na =
		    jpki_date_end(jpki_date_add_days(from, certs[i].days)) +
		    certs[i].offset;
		store_cert c = fx_cert(certs[i].serial, 1, f->resident, na);
		assert_int_equal(store_cert_put(f->s, &c, &e), 0);
		if (certs[i].revoke)
			assert_int_equal(store_cert_revoke(f->s, c.serial, 5,
							   na - 86400, false,
							   &e),
					 0);
	}
	struct list l = {0};
	assert_int_equal(store_cert_expiring(f->s, from, to, collect, &l, &e),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.serial[0], "51");
	assert_string_equal(l.serial[1], "52");
	assert_string_equal(l.serial[2], "53");
	/* One day. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_cert_expiring(f->s, from, from, collect, &l, &e),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.serial[0], "51");
	expect_err(store_cert_expiring(f->s, (jpki_date){2030, 2, 30}, to,
				       collect, &l, &e),
		   &e, JPKI_ERR_INVAL,
		   "first day 2030-02-30 is not a valid date");
	expect_err(store_cert_expiring(f->s, from, (jpki_date){0, 1, 1},
				       collect, &l, &e),
		   &e, JPKI_ERR_INVAL,
		   "last day 0000-01-01 is not a valid date");
}

/* Issue #12 item 3: a revocation committed through one handle is told to
 * a watch on its own connection (PostgreSQL); SQLite cannot tell. */
struct seen {
	char serial[STORE_SERIAL_HEX_MAX];
	int n;
};

static void on_seen(void *ctx, const char *serial)
{
	struct seen *s = ctx;
	snprintf(s->serial, sizeof(s->serial), "%s", serial);
	s->n++;
}

static void test_watch(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	store_watch *w = NULL;
	struct seen seen = {{0}, 0};
	if (fx_pg_url() == NULL) {
		expect_err(store_watch_open(f->loc, &w, &e), &e, JPKI_ERR_STATE,
			   "does not tell");
		return;
	}
	store_cert c = fx_cert("5A", 1, f->resident, T0);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	assert_int_equal(store_watch_open(f->loc, &w, &e), 0);
	/* nothing yet */
	assert_int_equal(store_watch_wait(w, 50, on_seen, &seen, &e), 0);
	assert_int_equal(seen.n, 0);
	/* not told before the commit */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_cert_revoke(f->s, "5A", 1, T0, false, &e), 0);
	assert_int_equal(store_watch_wait(w, 100, on_seen, &seen, &e), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	for (int i = 0; i < 50 && seen.n == 0; i++)
		assert_int_equal(store_watch_wait(w, 100, on_seen, &seen, &e),
				 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.serial, "5A");
	store_watch_close(w);
	store_watch_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cert_roundtrip, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cert_generation, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cert_errors, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_revoke, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_listing, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_stream, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_listing_reentrant, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_watch, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_expiring, fx_setup,
					    fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
