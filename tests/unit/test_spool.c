/* core: jpki_spool gives back what was put, in order and whole, from
 * memory while it fits and from an unlinked file in $TMPDIR past that; it
 * passes on its reader's error and refuses a TMPDIR it cannot write. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openjpki/spool.h"

typedef struct got {
	uint8_t *p;
	size_t n, cap, max_piece;
	int calls, fail_at; /* fail_at > 0: that call answers an error */
} got;

static int collect(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	got *g = ctx;
	if (++g->calls == g->fail_at)
		return jpki_fail(err, JPKI_ERR_IO, "reader says no");
	if (g->n + n > g->cap) {
		g->cap = (g->n + n) * 2;
		g->p = realloc(g->p, g->cap);
		assert_non_null(g->p);
	}
	memcpy(g->p + g->n, p, n);
	g->n += n;
	if (n > g->max_piece)
		g->max_piece = n;
	return 0;
}

static void pattern(uint8_t *p, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((from + i) * 131 + ((from + i) >> 8));
}

/* Files in dir, but "." and "..". */
static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_in_memory(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_spool *sp = NULL;
	uint8_t data[5000];
	got g = {0};
	pattern(data, sizeof(data), 0);
	assert_int_equal(jpki_spool_new(JPKI_SPOOL_MEM_DEFAULT, &sp, &err), 0);
	/* nothing put: nothing read */
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), 0);
	assert_int_equal(g.calls, 0);
	for (size_t off = 0; off < sizeof(data); off += 47) {
		size_t k = sizeof(data) - off < 47 ? sizeof(data) - off : 47;
		assert_int_equal(jpki_spool_put(sp, data + off, k, &err), 0);
	}
	assert_int_equal(jpki_spool_put(sp, NULL, 0, &err), 0);
	assert_int_equal(jpki_spool_len(sp), sizeof(data));
	assert_false(jpki_spool_spilled(sp));
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.n, sizeof(data));
	assert_memory_equal(g.p, data, sizeof(data));
	/* and again */
	g.n = 0;
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), 0);
	assert_int_equal(g.n, sizeof(data));
	assert_memory_equal(g.p, data, sizeof(data));
	jpki_spool_free(sp);
	free(g.p);
	jpki_spool_free(NULL);
}

static void test_spilled(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_spool *sp = NULL;
	enum { N = 100000, MAX = 1000 };
	static uint8_t data[N];
	got g = {0};
	char dir[] = "/tmp/test_spool.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("TMPDIR", dir, 1), 0);
	pattern(data, N, 0);
	assert_int_equal(jpki_spool_new(MAX, &sp, &err), 0);
	/* pieces of every size around the limit, the last ones whole */
	size_t off = 0;
	for (size_t k = 1; off < N / 2; k = k % (3 * MAX) + 7) {
		if (k > N / 2 - off)
			k = N / 2 - off;
		assert_int_equal(jpki_spool_put(sp, data + off, k, &err), 0);
		off += k;
	}
	assert_true(jpki_spool_spilled(sp));
	/* the file is unlinked: nothing to see in TMPDIR */
	assert_int_equal(files_in(dir), 0);
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), 0);
	assert_int_equal(g.n, N / 2);
	assert_memory_equal(g.p, data, N / 2);
	assert_true(g.max_piece <= MAX);
	assert_true(g.calls >= N / 2 / MAX);
	/* more after a replay, then the whole again */
	assert_int_equal(jpki_spool_put(sp, data + off, N - off, &err), 0);
	assert_int_equal(jpki_spool_len(sp), N);
	g.n = 0;
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), 0);
	assert_int_equal(g.n, N);
	assert_memory_equal(g.p, data, N);
	jpki_spool_free(sp);
	assert_int_equal(files_in(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(unsetenv("TMPDIR"), 0);
	free(g.p);
}

static void test_errors(void **state)
{
	(void)state;
	jpki_err err = {0};
	jpki_spool *sp = NULL;
	uint8_t data[64];
	got g = {.fail_at = 3};
	pattern(data, sizeof(data), 0);
	assert_int_equal(jpki_spool_new(0, &sp, &err), JPKI_ERR_INVAL);
	assert_int_equal(jpki_spool_new(16, NULL, &err), JPKI_ERR_INVAL);
	/* the reader's error stops the replay and comes back */
	assert_int_equal(jpki_spool_new(16, &sp, &err), 0);
	assert_int_equal(jpki_spool_put(NULL, data, 1, &err), JPKI_ERR_INVAL);
	assert_int_equal(jpki_spool_put(sp, NULL, 1, &err), JPKI_ERR_INVAL);
	assert_int_equal(jpki_spool_put(sp, data, sizeof(data), &err), 0);
	assert_int_equal(jpki_spool_replay(sp, collect, &g, &err), JPKI_ERR_IO);
	assert_non_null(strstr(err.msg, "reader says no"));
	assert_int_equal(g.calls, 3);
	assert_int_equal(g.n, 32);
	assert_int_equal(jpki_spool_replay(sp, NULL, &g, &err), JPKI_ERR_INVAL);
	jpki_spool_free(sp);
	/* a TMPDIR that is not there: refused when the memory is full, not
	 * before */
	assert_int_equal(setenv("TMPDIR", "/nonexistent/spool", 1), 0);
	assert_int_equal(jpki_spool_new(16, &sp, &err), 0);
	assert_int_equal(jpki_spool_put(sp, data, 16, &err), 0);
	assert_int_equal(jpki_spool_put(sp, data, 1, &err), JPKI_ERR_IO);
	assert_non_null(strstr(err.msg, "/nonexistent/spool"));
	jpki_spool_free(sp);
	assert_int_equal(unsetenv("TMPDIR"), 0);
	free(g.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_memory),
	    cmocka_unit_test(test_spilled),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
