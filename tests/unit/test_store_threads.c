/* store: several threads, one handle (connection) each, writing the same
 * store at once: the SQLite file, or with JPKI_TEST_STORE the PostgreSQL
 * server, where writers really run in parallel.  No sequence number is
 * handed out twice and the audit chain stays whole. */
#include <pthread.h>

#include "store_fixture.h"

#define TX_PER_THREAD 200
#define WRITERS 4

struct worker {
	const struct fx *f;
	int64_t resident;
	int id;
	int failures;
	int64_t seqs[TX_PER_THREAD]; /* what store_meta_incr gave */
	int nseq;
	jpki_err e;
};

/* The issuance pattern: a certificate, a sequence number, an audit record,
 * one transaction. */
static void *work(void *arg)
{
	struct worker *w = arg;
	store *s = NULL;
	if (store_open(w->f->loc, &s, &w->e) != 0) {
		w->failures++;
		return NULL;
	}
	for (int i = 0; i < TX_PER_THREAD; i++) {
		char serial[STORE_SERIAL_HEX_MAX];
		int64_t seq = 0;
		snprintf(serial, sizeof(serial), "%02X%06X", w->id, i);
		store_cert c = fx_cert(serial, 1, w->resident, 1900000000);
		if (store_begin(s, &w->e) != 0 ||
		    store_cert_put(s, &c, &w->e) != 0 ||
		    store_meta_incr(s, "seq/sign", 1, &seq, &w->e) != 0 ||
		    store_audit_append(s, 1700000000 + i, "ca", "cert.issue",
				       serial, &w->e) != 0 ||
		    store_commit(s, &w->e) != 0) {
			store_rollback(s);
			w->failures++;
			continue;
		}
		w->seqs[w->nseq++] = seq;
	}
	store_close(s);
	return NULL;
}

static void test_writers(void **state)
{
	struct fx *f = *state;
	jpki_err e = {0, ""};
	static struct worker w[WRITERS];
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f;
		w[i].resident = f->resident;
		w[i].id = i + 1;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures != 0)
			print_error("worker %d: %s\n", i, w[i].e.msg);
		assert_int_equal(w[i].failures, 0);
	}
	/* every committed transaction got its own number: 1..N, none twice */
	static bool seen[WRITERS * TX_PER_THREAD + 1];
	for (int i = 0; i < WRITERS; i++)
		for (int j = 0; j < w[i].nseq; j++) {
			int64_t v = w[i].seqs[j];
			assert_true(v >= 1 && v <= WRITERS * TX_PER_THREAD);
			assert_false(seen[v]);
			seen[v] = true;
		}
	int64_t n = 0;
	assert_int_equal(store_meta_incr(f->s, "seq/sign", 0, &n, &e), 0);
	assert_int_equal(n, WRITERS * TX_PER_THREAD);
	assert_int_equal(store_audit_verify(f->s, &n, &e), 0);
	assert_int_equal(n, WRITERS * TX_PER_THREAD);
	/* every certificate is there once (each thread's serials differ, and
	 * a serial written twice would have failed its transaction) */
	int count = 0;
	for (int i = 0; i < WRITERS; i++)
		for (int j = 0; j < TX_PER_THREAD; j += 37) {
			char serial[STORE_SERIAL_HEX_MAX];
			store_cert c;
			snprintf(serial, sizeof(serial), "%02X%06X", i + 1, j);
			assert_int_equal(store_cert_get(f->s, serial, &c, &e),
					 0);
			free(c.der);
			count++;
		}
	assert_true(count > 0);
	if (fx_pg_url() == NULL)
		assert_int_equal(
		    fx_raw_int(f, "SELECT count(*) FROM certificates"),
		    WRITERS * TX_PER_THREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_writers, fx_setup,
					    fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
