/* registry/import.c: residents from CSV, whole or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */

/* cmocka.h needs the headers above first */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_fixture.h"
#include "openjpki/ca.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"

static char dir[64];
static char cadir[128];
static time_t T0;
static jpki_ca *ca;

#define HDR "ext_id,name,kana,address,birth,sex,muni,adult_ward\r\n"

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	if (ca_fixture_make("imp", dir, sizeof(dir), cadir, sizeof(cadir), &T0,
			    true) != 0)
		return -1;
	return ca_open(cadir, ca_fixture_store(), &ca, &err) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	ca_close(ca);
	return ca_fixture_remove(dir);
}

static int run(const char *text, registry_import_result *out, jpki_err *err)
{
	return registry_residents_import(ca, (const uint8_t *)text,
					 strlen(text), T0, "test", NULL, NULL,
					 out, err);
}

static size_t progress_calls;
static void progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	assert_true(done <= total);
	progress_calls++;
}

static void test_good_file(void **state)
{
	(void)state;
	static const char csv[] =
	    "\xef\xbb\xbf" HDR
	    "G1,山田 太郎,ヤマダ タロウ,\"東京都清瀬市中里1-1, "
	    "201号\",1980-12-31,1,132217,\r\n"
	    "G2,\"山田 \"\"花子\"\"\",ヤマダ "
	    "ハナコ,\"東京都清瀬市　中里1-2\",2016-05-05,2,132217,0\r\n"
	    "G3,山田 一郎,,東京都清瀬市中里1-3,1950-01-10,1,132217,true";
	registry_import_result out;
	store_resident r;
	jpki_err err = {0};
	progress_calls = 0;
	int rc =
	    registry_residents_import(ca, (const uint8_t *)csv, strlen(csv), T0,
				      "test", progress, NULL, &out, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(out.rows, 3);
	assert_int_equal(out.imported, 3);
	assert_int_equal(progress_calls, 1);
	assert_int_equal(store_resident_get_ext(ca_store(ca), "G1", &r, &err),
			 0);
	assert_string_equal(r.address, "東京都清瀬市中里1-1, 201号");
	assert_int_equal(store_resident_get_ext(ca_store(ca), "G2", &r, &err),
			 0);
	assert_string_equal(r.name, "山田 \"花子\"");
	assert_string_equal(r.address, "東京都清瀬市　中里1-2");
	assert_int_equal(r.sex, 2);
	assert_int_equal(store_resident_get_ext(ca_store(ca), "G3", &r, &err),
			 0);
	assert_true(r.adult_ward);
	int64_t n = 0;
	assert_int_equal(store_audit_verify(ca_store(ca), &n, &err), 0);
}

static void test_bad_rows_nothing_imported(void **state)
{
	(void)state;
	static const char csv[] = HDR "B1,山田 "
				      "太郎,ヤマダ,住所1,1980-12-31,1,132217,"
				      "\r\n" /* line 2 good */
				      "B2,山田 "
				      "次郎,ヤマダ,\"住所\n二行目\",1980-02-30,"
				      "1,132217,\r\n" /* 3: a line break in the
							 address */
				      "B3,山田 "
				      "三郎,ヤマダ,住所3,1980-01-01,3,132217,"
				      "\r\n" /* 5: sex */
				      "B4,山田 "
				      "四郎,ヤマダ,住所4,1980-01-01,1,999999,"
				      "\r\n" /* 6: muni */
				      "B1,山田 "
				      "五郎,ヤマダ,住所5,1980-01-01,1,132217,"
				      "\r\n" /* 7: repeat */
				      "G1,山田 "
				      "六郎,ヤマダ,住所6,1980-01-01,1,132217,"
				      "\r\n" /* 8: on record */
				      "B7,山田 七郎,ヤマダ\r\n" /* 9: fields */
				      "B8,,ヤマダ,住所8,1980-01-01,1,132217,"
				      "maybe\r\n" /* 10: name */
				      "B9,山田 "
				      "九郎,ヤマダ,住所9,2030-01-01,1,132217,"
				      "\r\n"; /* 11: future */
	registry_import_result out;
	store_resident r;
	jpki_err err = {0};
	assert_int_equal(run(csv, &out, &err), JPKI_ERR_INVAL);
	assert_int_equal(out.rows, 9);
	assert_int_equal(out.imported, 0);
	assert_int_equal(out.nerrors, 8);
	static const size_t lines[] = {3, 5, 6, 8, 9, 10, 11, 7};
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(out.errors[i].line, lines[i]);
	assert_non_null(strstr(out.errors[0].msg, "address"));
	assert_non_null(strstr(out.errors[0].msg, "line breaks"));
	assert_non_null(strstr(out.errors[2].msg, "not on record"));
	assert_non_null(strstr(out.errors[3].msg, "already on record"));
	assert_non_null(strstr(out.errors[7].msg, "repeats line 2"));
	assert_int_equal(store_resident_get_ext(ca_store(ca), "B1", &r, &err),
			 JPKI_ERR_NOT_FOUND);
}

static void test_structure(void **state)
{
	(void)state;
	registry_import_result out;
	jpki_err err = {0};
	char *big = NULL;
	assert_int_equal(run("ext_id,name\r\n", &out, &err), JPKI_ERR_PARSE);
	assert_int_equal(run("", &out, &err), JPKI_ERR_PARSE);
	assert_int_equal(run(HDR "X1,\"unclosed,a,b\r\n", &out, &err),
			 JPKI_ERR_PARSE);
	assert_int_equal(out.errors[0].line, 2);
	assert_int_equal(
	    run(HDR "X1,ab\"c,k,a,1980-01-01,1,132217,\r\n", &out, &err),
	    JPKI_ERR_PARSE);
	assert_int_equal(
	    run(HDR "X1,\"a\"b,k,a,1980-01-01,1,132217,\r\n", &out, &err),
	    JPKI_ERR_PARSE);
	assert_int_equal(
	    run(HDR "X1,\xff\xfe,k,a,1980-01-01,1,132217,\r\n", &out, &err),
	    JPKI_ERR_INVAL);
	/* an oversized field makes its row bad, the next rows still read */
	size_t n = REGISTRY_IMPORT_FIELD_MAX + 10;
	assert_non_null(big = malloc(sizeof(HDR) + n + 200));
	int k = snprintf(big, sizeof(HDR) + 20, "%sX2,", HDR);
	memset(big + k, 'a', n);
	snprintf(big + (size_t)k + n, 200,
		 ",k,a,1980-01-01,1,132217,\r\n"
		 "X3,n,k,a,1980-01-01,9,132217,\r\n");
	assert_int_equal(run(big, &out, &err), JPKI_ERR_INVAL);
	assert_int_equal(out.nerrors, 2);
	assert_int_equal(out.errors[0].line, 2);
	assert_non_null(strstr(out.errors[0].msg, "name over"));
	assert_int_equal(out.errors[1].line, 3);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_bad_rows_nothing_imported),
	    cmocka_unit_test(test_structure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
