/* core: dates in JST, the bounded reader, hex, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above first */
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openjpki/buf.h"
#include "openjpki/date.h"
#include "openjpki/util.h"

static void test_days_roundtrip(void **state)
{
	(void)state;
	for (int64_t z = -719162; z <= 2932896;
	     z += 37) { /* 0001-01-01 .. 9999-12-31 */
		jpki_date d = jpki_days_to_date(z);
		assert_true(jpki_date_valid(d));
		assert_int_equal(jpki_date_to_days(d), z);
	}
	jpki_date epoch = {1970, 1, 1};
	assert_int_equal(jpki_date_to_days(epoch), 0);
}

static void test_jst_boundaries(void **state)
{
	(void)state;
	jpki_date d = {2025, 10, 19};
	/* J-LIS roots end 2025-10-19 14:59:59Z = 23:59:59 JST */
	time_t end = jpki_date_end(d);
	char s[21];
	jpki_time_format(end, s);
	assert_string_equal(s, "2025-10-19T14:59:59Z");
	assert_int_equal(jpki_date_cmp(jpki_date_of(end), d), 0);
	assert_int_equal(
	    jpki_date_cmp(jpki_date_of(end + 1), (jpki_date){2025, 10, 20}), 0);
	/* 15:00Z on the 18th is already the 19th in Japan */
	time_t t;
	assert_int_equal(jpki_time_parse("2025-10-18T15:00:00Z", &t), 0);
	assert_int_equal(jpki_date_cmp(jpki_date_of(t), d), 0);
	assert_int_equal(jpki_time_parse("2025-10-19T00:00:00+09:00", &t), 0);
	assert_int_equal(jpki_date_cmp(jpki_date_of(t), d), 0);
	assert_int_equal(t, jpki_date_start(d));
	assert_int_not_equal(jpki_time_parse("2025-10-19T24:00:00Z", &t), 0);
	assert_int_not_equal(jpki_time_parse("2025-02-29", &t), 0);
	assert_int_not_equal(jpki_time_parse("2025-10-19T00:00:00", &t), 0);
}

static void test_add_months(void **state)
{
	(void)state;
	static const struct {
		jpki_date in;
		int months;
		jpki_date out;
	} cases[] = {
	    {{2025, 5, 31}, -3, {2025, 2, 28}},
	    {{2024, 5, 31}, -3, {2024, 2, 29}},
	    {{2025, 1, 31}, 1, {2025, 2, 28}},
	    {{2025, 12, 15}, 1, {2026, 1, 15}},
	    {{2026, 1, 15}, -1, {2025, 12, 15}},
	    {{2024, 2, 29}, 12, {2025, 2, 28}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jpki_date r =
		    jpki_date_add_months(cases[i].in, cases[i].months);
		assert_int_equal(jpki_date_cmp(r, cases[i].out), 0);
	}
}

static void test_date_parse(void **state)
{
	(void)state;
	jpki_date d;
	assert_int_equal(jpki_date_parse("2024-02-29", &d), 0);
	assert_int_not_equal(jpki_date_parse("2023-02-29", &d), 0);
	assert_int_not_equal(jpki_date_parse("2023-2-28", &d), 0);
	assert_int_not_equal(jpki_date_parse("2023-02-28x", &d), 0);
	char s[11];
	jpki_date_format((jpki_date){1, 2, 3}, s);
	assert_string_equal(s, "0001-02-03");
}

static void test_rbuf(void **state)
{
	(void)state;
	const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7};
	jpki_rbuf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	jpki_rbuf_init(&b, data, sizeof(data));
	assert_int_equal(jpki_rbuf_u8(&b, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(jpki_rbuf_u16be(&b, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_not_equal(jpki_rbuf_end(&b), 0);
	assert_int_equal(jpki_rbuf_u32be(&b, &u32), 0);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(jpki_rbuf_u8(&b, &u8), JPKI_ERR_PARSE);
	assert_int_equal(jpki_rbuf_end(&b), 0);
	jpki_rbuf_init(&b, data, 3);
	assert_int_equal(jpki_rbuf_u32be(&b, &u32), JPKI_ERR_PARSE);
	assert_int_equal(jpki_rbuf_left(&b), 3); /* cursor unchanged */
}

static void test_wbuf_limit(void **state)
{
	(void)state;
	jpki_wbuf w;
	jpki_wbuf_init(&w, 10);
	assert_int_equal(jpki_wbuf_u64be(&w, 0x0102030405060708ULL), 0);
	assert_int_equal(jpki_wbuf_u16be(&w, 0x090a), 0);
	assert_int_equal(jpki_wbuf_u8(&w, 1), JPKI_ERR_RANGE);
	assert_int_equal(w.len, 10);
	assert_int_equal(w.p[9], 0x0a);
	jpki_wbuf_free(&w);
}

static void test_hex(void **state)
{
	(void)state;
	uint8_t b[4];
	size_t n;
	char s[9];
	jpki_err err = {0};
	assert_int_equal(jpki_unhex("0aFf10", b, sizeof(b), &n, &err), 0);
	assert_int_equal(n, 3);
	jpki_hex(b, n, s);
	assert_string_equal(s, "0AFF10");
	assert_int_equal(jpki_unhex("0g", b, sizeof(b), &n, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(jpki_unhex("abc", b, sizeof(b), &n, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(jpki_unhex("0102030405", b, sizeof(b), &n, &err),
			 JPKI_ERR_RANGE);
}

static void test_atomic_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/jpki-core-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/a/b/file", dir);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	jpki_err err = {0};
	assert_int_equal(jpki_mkdirs(sub, 0700, &err), 0);
	assert_int_equal(jpki_file_write_atomic(path, "hello", 5, 0600, &err),
			 0);
	assert_int_equal(jpki_file_write_atomic(path, "bye", 3, 0600, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(jpki_file_read(path, 100, &buf, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "bye", 3);
	free(buf);
	assert_int_equal(jpki_file_read(path, 2, &buf, &len, &err),
			 JPKI_ERR_RANGE);
	assert_int_equal(jpki_file_read("/nonexistent/x", 2, &buf, &len, &err),
			 JPKI_ERR_NOT_FOUND);
	/* create, unlike write: never over an existing file (a key another
	 * process made), which stays as it was; no temporary left behind */
	assert_int_equal(jpki_file_create_atomic(path, "new", 3, 0600, &err),
			 JPKI_ERR_EXISTS);
	assert_int_equal(jpki_file_read(path, 100, &buf, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "bye", 3);
	free(buf);
	int swept = -1;
	assert_int_equal(jpki_file_sweep_tmp(path, &swept, &err), 0);
	assert_int_equal(swept, 0);
	char path2[300];
	snprintf(path2, sizeof(path2), "%s/fresh", sub);
	assert_int_equal(jpki_file_create_atomic(path2, "key", 3, 0600, &err),
			 0);
	assert_int_equal(stat(path2, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_nlink, 1); /* the temporary name is gone */
	assert_int_equal(jpki_file_read(path2, 100, &buf, &len, &err), 0);
	assert_memory_equal(buf, "key", 3);
	free(buf);
	assert_int_equal(jpki_file_sweep_tmp(path2, &swept, &err), 0);
	assert_int_equal(swept, 0);
	unlink(path2);
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

/* An unnamed temporary file: written and read back whole at offsets, a
 * read past its end is EIO, and nothing is left in the directory. */
static void test_tmp_unlinked(void **state)
{
	(void)state;
	char dir[] = "/tmp/jpki-test-core-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int fd = -1;
	jpki_err err = {0};
	assert_int_equal(jpki_file_tmp_unlinked(dir, &fd, &err), 0);
	assert_true(fd >= 0);
	uint8_t out[3000], in[3000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	assert_int_equal(jpki_pwrite_full(fd, out, sizeof(out), 100), 0);
	assert_int_equal(jpki_pread_full(fd, in, sizeof(in), 100), 0);
	assert_memory_equal(in, out, sizeof(out));
	errno = 0;
	assert_int_equal(jpki_pread_full(fd, in, 10, 3095), -1);
	assert_int_equal(errno, EIO);
	close(fd);
	assert_int_equal(rmdir(dir), 0); /* empty: the file had no name */
	/* a directory that is not there: a clear error */
	assert_int_not_equal(
	    jpki_file_tmp_unlinked("/nonexistent/jpki", &fd, &err), 0);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, "/nonexistent/jpki"));
}

static void test_error_wrap(void **state)
{
	(void)state;
	jpki_err err = {0};
	assert_int_equal(jpki_fail(&err, JPKI_ERR_INVAL, "bad %d", 7),
			 JPKI_ERR_INVAL);
	assert_string_equal(err.msg, "bad 7");
	jpki_wrap(&err, JPKI_ERR_INVAL, "context");
	assert_string_equal(err.msg, "context: bad 7");
	assert_string_equal(jpki_strerror(JPKI_ERR_INELIGIBLE), "not eligible");
	assert_int_equal(jpki_fail(NULL, JPKI_ERR_IO, "x"), JPKI_ERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days_roundtrip),
	    cmocka_unit_test(test_jst_boundaries),
	    cmocka_unit_test(test_add_months),
	    cmocka_unit_test(test_date_parse),
	    cmocka_unit_test(test_rbuf),
	    cmocka_unit_test(test_wbuf_limit),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_atomic_file),
	    cmocka_unit_test(test_tmp_unlinked),
	    cmocka_unit_test(test_error_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
