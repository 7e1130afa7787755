/* store: the append-only, hash-chained audit log. */
#include <openssl/evp.h>

#include "store_fixture.h"

struct records {
	int n;
	store_audit a[4];
};

static int collect(void *ctx, const store_audit *a)
{
	struct records *r = ctx;
	if (r->n < 4)
		r->a[r->n] = *a;
	r->n++;
	return 0;
}

static void field(EVP_MD_CTX *md, const void *p, size_t n)
{
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
			  (uint8_t)(n >> 8), (uint8_t)n};
	assert_int_equal(EVP_DigestUpdate(md, len, 4), 1);
	assert_int_equal(EVP_DigestUpdate(md, p, n), 1);
}

/* The encoding documented in store.c, computed independently. */
static void expected_hash(const store_audit *a, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t at[8], h[32];
	unsigned int hl = 0;
	assert_non_null(md);
	for (int i = 0; i < 8; i++)
		at[i] = (uint8_t)((uint64_t)a->at >> (56 - 8 * i));
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	field(md, a->prev_hash, 64);
	field(md, at, 8);
	field(md, a->actor, strlen(a->actor));
	field(md, a->action, strlen(a->action));
	field(md, a->detail, strlen(a->detail));
	assert_int_equal(EVP_DigestFinal_ex(md, h, &hl), 1);
	EVP_MD_CTX_free(md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void append3(struct fx *f)
{
	jpki_err e = {0, ""};
	assert_int_equal(store_audit_append(f->s, 1700000000, "clerk:sato",
					    "resident.add", "ext_id=R0001", &e),
			 0);
	assert_int_equal(store_audit_append(f->s, 1700000060, "ca",
					    "cert.issue", "serial=01AB 署名用",
					    &e),
			 0);
	assert_int_equal(
	    store_audit_append(f->s, -5, "ca", "cert.revoke", "", &e), 0);
}

/* store_defer_writes (ca_issue_batch): certificate writes and appends may
 * travel later (PostgreSQL), yet a read inside the transaction sees them,
 * the chain stays linear, and a deferred write's failure fails the
 * transaction, naming the write, with nothing of it committed. */
static void test_deferred(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	int64_t n = -1, seq = 0;
	char hash[65];
	store_cert c = fx_cert("0D01", 1, f->resident, 1900000000), got;
	append3(f);
	assert_int_equal(store_begin(f->s, &e), 0);
	store_defer_writes(f->s);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_audit_append(f->s, 1700000100 + i, "ca",
						    "cert.issue", "serial=0D01",
						    &e),
				 0);
	assert_int_equal(store_audit_head(f->s, &seq, hash, &e), 0);
	assert_int_equal(seq, 8);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_cert_get(f->s, "0D01", &got, &e), 0);
	free(got.der);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 8);

	assert_int_equal(store_begin(f->s, &e), 0);
	store_defer_writes(f->s);
	int rc = store_cert_put(f->s, &c, &e);
	if (rc == 0) /* deferred: the next call reports it */
		rc = store_audit_append(f->s, 1700000200, "ca", "cert.issue",
					"serial=0D01 again", &e);
	expect_err(rc, &e, JPKI_ERR_CONFLICT,
		   "certificate serial 0D01 already exists");
	assert_int_not_equal(store_commit(f->s, &e), 0);
	store_rollback(f->s);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 8);
	/* the handle works again, writes at once */
	assert_int_equal(
	    store_audit_append(f->s, 1700000300, "ca", "x", "", &e), 0);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 9);
}

static int count_certs(void *ctx, const store_cert *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

/* store_issue_reads_n and store_issue_recheck (ca_issue_batch): a batch's
 * reads and its re-check in one go, each request answered on its own (an
 * unknown resident or card is not a store failure); the re-check inside
 * a deferring transaction leaves the audit chain linear for the appends
 * that follow it, and another handle's append after the commit. */
static void test_issue_batch_reads(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	int64_t n = -1;
	int certs[3] = {0, 0, 0};
	store_cert c = fx_cert("0E01", 1, f->resident, 1900000000);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	append3(f);
	store_issue_read r[3] = {
	    {.resident_id = f->resident,
	     .card_serial = "CARD1",
	     .fn = count_certs,
	     .ctx = &certs[0]},
	    {.resident_id = f->resident,
	     .card_serial = "NOCARD",
	     .fn = count_certs,
	     .ctx = &certs[1]},
	    {.resident_id = f->resident + 1000,
	     .card_serial = "CARD1",
	     .fn = count_certs,
	     .ctx = &certs[2]},
	};
	assert_int_equal(store_read_begin(f->s, &e), 0);
	assert_int_equal(store_issue_reads_n(f->s, r, 3, &e), 0);
	store_read_end(f->s);
	assert_int_equal(r[0].rc, 0);
	assert_true(r[0].card_found);
	assert_string_equal(r[0].card.serial, "CARD1");
	assert_int_equal(r[0].res.id, f->resident);
	assert_int_equal(certs[0], 1);
	assert_int_equal(r[1].rc, 0);
	assert_false(r[1].card_found);
	assert_int_equal(certs[1], 1);
	assert_int_equal(r[2].rc, JPKI_ERR_NOT_FOUND);
	assert_int_equal(certs[2], 0);

	int64_t ids[2] = {f->resident, f->resident + 1000};
	int again[2] = {0, 0};
	void *ctxs[2] = {&again[0], &again[1]};
	assert_int_equal(store_begin(f->s, &e), 0);
	store_defer_writes(f->s);
	assert_int_equal(
	    store_issue_recheck(f->s, 2, ids, count_certs, ctxs, &e), 0);
	assert_int_equal(again[0], 1);
	assert_int_equal(again[1], 0);
	c = fx_cert("0E02", 2, f->resident, 1900000000);
	assert_int_equal(store_cert_put(f->s, &c, &e), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(store_audit_append(f->s, 1700000100 + i, "ca",
						    "cert.issue", "serial=0E02",
						    &e),
				 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(
	    store_audit_append(f->s, 1700000300, "ca", "x", "", &e), 0);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 6);
	again[0] = 0;
	assert_int_equal(
	    store_issue_recheck(f->s, 1, ids, count_certs, ctxs, &e), 0);
	assert_int_equal(again[0], 2);
}

static void test_append_verify(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	int64_t n = -1;
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 0);
	append3(f);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_audit_verify(f->s, NULL, &e), 0);

	struct records r = {0};
	assert_int_equal(store_audit_each(f->s, collect, &r, &e), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.a[0].seq, 1);
	assert_string_equal(r.a[0].prev_hash,
			    "0000000000000000000000000000000000000000000000000"
			    "000000000000000");
	assert_string_equal(r.a[1].detail, "serial=01AB 署名用");
	assert_int_equal(r.a[2].at, -5);
	assert_string_equal(r.a[2].detail, "");
	for (int i = 0; i < 3; i++) {
		char h[65];
		expected_hash(&r.a[i], h);
		assert_string_equal(r.a[i].hash, h);
		if (i > 0)
			assert_string_equal(r.a[i].prev_hash, r.a[i - 1].hash);
	}

	/* Inside a caller's transaction, rolled back: no record. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(
	    store_audit_append(f->s, 1700000100, "ca", "x", "y", &e), 0);
	store_rollback(f->s);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, 3);

	/* Limits. */
	char big[1100];
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_err(store_audit_append(f->s, 0, "ca", "x", big, &e), &e,
		   JPKI_ERR_RANGE, "audit detail is longer than 1023 bytes");
	big[64] = '\0';
	expect_err(store_audit_append(f->s, 0, big, "x", "", &e), &e,
		   JPKI_ERR_RANGE, "audit actor is longer than 63 bytes");
	expect_err(store_audit_append(f->s, 0, "ca", big, "", &e), &e,
		   JPKI_ERR_RANGE, "audit action is longer than 63 bytes");
	expect_err(store_audit_append(f->s, 0, "ca", "", "", &e), &e,
		   JPKI_ERR_INVAL, "audit action is empty");
	expect_err(store_audit_append(f->s, 0, NULL, "x", "", &e), &e,
		   JPKI_ERR_INVAL, "audit actor is missing");
	expect_err(store_audit_each(f->s, NULL, NULL, &e), &e, JPKI_ERR_INVAL,
		   "no callback");
}

static void test_append_only(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	char msg[128];
	append3(f);
	assert_int_equal(fx_raw(f,
				"UPDATE audit SET detail = 'x' WHERE seq = 2",
				msg, sizeof(msg)),
			 SQLITE_CONSTRAINT);
	assert_string_equal(msg, "audit log is append-only");
	assert_int_equal(
	    fx_raw(f, "DELETE FROM audit WHERE seq = 3", msg, sizeof(msg)),
	    SQLITE_CONSTRAINT);
	assert_string_equal(msg, "audit log is append-only");
	assert_int_equal(fx_raw_int(f, "SELECT count(*) FROM audit"), 3);
}

static void test_tamper_altered(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	int64_t n = -1;
	append3(f);
	assert_int_equal(fx_raw(f,
				"DROP TRIGGER audit_no_update;"
				"UPDATE audit SET detail = 'serial=FFFF' "
				"WHERE seq = 2",
				NULL, 0),
			 SQLITE_OK);
	expect_err(store_audit_verify(f->s, &n, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit record 2: hash mismatch (record altered)");
	assert_int_equal(n, -1);
}

static void test_tamper_rehashed(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	struct records r = {0};
	char sql[256];
	append3(f);
	/* Alter record 2 and give it a correct hash of its own: record 3
	 * no longer links to it. */
	assert_int_equal(store_audit_each(f->s, collect, &r, &e), 0);
	snprintf(r.a[1].detail, sizeof(r.a[1].detail), "serial=FFFF");
	expected_hash(&r.a[1], r.a[1].hash);
	snprintf(sql, sizeof(sql),
		 "DROP TRIGGER audit_no_update;"
		 "UPDATE audit SET detail = 'serial=FFFF', hash = '%s' "
		 "WHERE seq = 2",
		 r.a[1].hash);
	assert_int_equal(fx_raw(f, sql, NULL, 0), SQLITE_OK);
	expect_err(store_audit_verify(f->s, NULL, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit record 3: prev_hash does not match the previous "
		   "record");
}

static void test_tamper_removed(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	append3(f);
	assert_int_equal(fx_raw(f,
				"DROP TRIGGER audit_no_delete;"
				"DELETE FROM audit WHERE seq = 2",
				NULL, 0),
			 SQLITE_OK);
	expect_err(store_audit_verify(f->s, NULL, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit record 3 follows record 1: records are missing");
	assert_int_equal(fx_raw(f, "DELETE FROM audit WHERE seq = 1", NULL, 0),
			 SQLITE_OK);
	expect_err(store_audit_verify(f->s, NULL, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit log starts at record 3, not 1");
}

static void test_tamper_oversized(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	append3(f);
	assert_int_equal(fx_raw(f,
				"DROP TRIGGER audit_no_update;"
				"UPDATE audit SET actor = printf('%.70c', 'a')"
				" WHERE seq = 1",
				NULL, 0),
			 SQLITE_OK);
	expect_err(store_audit_verify(f->s, NULL, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit log: audit record 1: stored audit actor is 70 bytes");
}

static void test_full(void **state)
{
	fx_sqlite_only();
	struct fx *f = *state;
	jpki_err e = {0, ""};
	char sql[400];
	append3(f);
	/* Inserting is allowed by the triggers; the chain shows it. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO audit VALUES (9223372036854775807, 0, 'x', 'y',"
		 " '', '%064d', '%064d')",
		 0, 0);
	assert_int_equal(fx_raw(f, sql, NULL, 0), SQLITE_OK);
	expect_err(store_audit_append(f->s, 0, "ca", "x", "", &e), &e,
		   JPKI_ERR_RANGE, "audit log is full");
	expect_err(store_audit_verify(f->s, NULL, &e), &e, JPKI_ERR_INTEGRITY,
		   "audit record 9223372036854775807 follows record 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_append_verify, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_issue_batch_reads, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_deferred, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_append_only, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_altered, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_rehashed, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_removed, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_full, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_oversized, fx_setup,
					    fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
