/* Finding residents: folding (core/textfold.c), dates of birth in 西暦 and
 * 和暦 (registry/search.c) at every edge, and the store query. */
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
#include "openjpki/textfold.h"
#include "openjpki/util.h"

static void fold_is(const char *in, const char *want)
{
	char out[256];
	jpki_err err = {0};
	int rc = jpki_text_fold(in, out, sizeof(out), &err);
	if (rc != 0 || strcmp(out, want) != 0) {
		print_error("fold(\"%s\") = %d \"%s\", want \"%s\"\n", in, rc,
			    out, want);
		fail();
	}
	/* never longer than the input */
	assert_true(strlen(out) <= strlen(in));
	/* idempotent */
	char again[256];
	assert_int_equal(jpki_text_fold(out, again, sizeof(again), &err), 0);
	assert_string_equal(again, out);
}

static void test_fold(void **state)
{
	(void)state;
	/* spaces of any width, or none */
	fold_is("山田 太郎", "山田太郎");
	fold_is("山田　太郎", "山田太郎");
	fold_is(" 山田\t太郎 ", "山田太郎");
	fold_is("山田\xc2\xa0太郎", "山田太郎"); /* NBSP */
	fold_is("", "");
	fold_is("   ", "");
	/* full-width ASCII, digits, case */
	fold_is("ＡＢＣ１２３ａｂｃ", "abc123abc");
	fold_is("Yamada Taro", "yamadataro");
	fold_is("１－２－３", "1-2-3");
	fold_is("1ー2−3", "1-2-3"); /* 長音, minus sign */
	fold_is("１丁目２番地", "1丁目2番地");
	/* hiragana to katakana, small kana kept */
	fold_is("やまだ たろう", "ヤマダタロウ");
	fold_is("きょうこ", "キョウコ");
	fold_is("ゔぁ", "ヴァ");
	fold_is("ヤマダ・タロウ", "ヤマダタロウ");
	/* half-width katakana, with the sound marks composed */
	fold_is("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ");
	fold_is("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ");
	fold_is("ﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ", "バビブベボ");
	fold_is("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞ",
		"ガギグゲゴザジズゼゾダヂヅデド");
	fold_is("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン");
	fold_is("ｽｽﾞｷ ｲﾁﾛｰ", "スズキイチロ-");
	fold_is("ｧｨｩｪｫｬｭｮｯｦﾝ", "ァィゥェォャュョッヲン");
	/* a mark that composes with nothing stays (spacing form) */
	fold_is("ﾞ", "゛");
	fold_is("ア゛", "ア゛");
	fold_is("ﾅﾟ", "ナ゜");
	/* combining marks (NFD) compose */
	fold_is("カ\xe3\x82\x99", "ガ");
	fold_is("は\xe3\x82\x9a", "パ");
	fold_is("か゛", "ガ");
	/* 異体字 */
	fold_is("髙橋", "高橋");
	fold_is("山\xef\xa8\x91", "山崎"); /* 﨑 U+FA11 */
	fold_is("渡邊", "渡辺");
	fold_is("渡邉", "渡辺");
	fold_is("齋藤", "斎藤");
	fold_is("齊藤", "斎藤");
	fold_is("斉藤", "斎藤");
	fold_is("濱田", "浜田");
	fold_is("澤田", "沢田");
	fold_is("櫻井", "桜井");
	fold_is("德川", "徳川");
	fold_is("廣田", "広田");
	fold_is("國分", "国分");
	fold_is("\xf0\xa0\xae\xb7野家", "吉野家"); /* 𠮷 U+20BB7 */
	fold_is("高橋", "高橋"); /* the everyday form is kept */
}

static void test_fold_bad(void **state)
{
	(void)state;
	char out[16];
	jpki_err err = {0};
	static const char *const bad[] = {
	    "\xff",	    "a\x80",	    "\xc0\xaf",
	    "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	    "\xe3\x81",	    "\xe3\x81\x41",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jpki_text_fold(bad[i], out, sizeof(out), &err),
				 JPKI_ERR_INVAL);
		assert_string_equal(out, "");
	}
	/* too small a buffer */
	assert_int_equal(jpki_text_fold("やまだ", out, 7, &err),
			 JPKI_ERR_RANGE);
	assert_int_equal(jpki_text_fold("やまだ", out, 10, &err), 0);
	assert_int_equal(jpki_text_fold("a", out, 0, &err), JPKI_ERR_RANGE);
}

static void date_is(const char *in, const char *want)
{
	jpki_date d = {0, 0, 0};
	jpki_err err = {0};
	char got[11] = "";
	int rc = registry_birth_parse(in, &d, &err);
	if (rc == 0)
		jpki_date_format(d, got);
	if (rc != 0 || strcmp(got, want) != 0) {
		print_error("date(\"%s\") = %d %s (%s), want %s\n", in, rc, got,
			    err.msg, want);
		fail();
	}
}

static void date_rc(const char *in, int want)
{
	jpki_date d = {0, 0, 0};
	jpki_err err = {0};
	int rc = registry_birth_parse(in, &d, &err);
	if (rc != want) {
		print_error("date(\"%s\") = %d (%s), want %d\n", in, rc,
			    err.msg, want);
		fail();
	}
}

static void test_dates(void **state)
{
	(void)state;
	/* 西暦 */
	date_is("1980-12-31", "1980-12-31");
	date_is("1980/12/31", "1980-12-31");
	date_is("1980.12.31", "1980-12-31");
	date_is("19801231", "1980-12-31");
	date_is("1980/1/5", "1980-01-05");
	date_is("１９８０－１２－３１", "1980-12-31");
	date_is("1980年12月31日", "1980-12-31");
	date_is("1980年1月5日", "1980-01-05");
	date_is("1980年12月31", "1980-12-31");
	date_is(" 1980 / 12 / 31 ", "1980-12-31");
	date_is("2000-02-29", "2000-02-29");
	date_rc("1900-02-29", JPKI_ERR_INVAL);
	date_rc("1980-02-30", JPKI_ERR_INVAL);
	date_rc("1980-13-01", JPKI_ERR_INVAL);
	date_rc("1980-00-10", JPKI_ERR_INVAL);
	date_rc("1980年2月30日", JPKI_ERR_INVAL);
	date_rc("19800230", JPKI_ERR_PARSE); /* an 8-digit id, not a date */
	date_rc("1980-12", JPKI_ERR_PARSE);
	date_rc("1980-12-31-1", JPKI_ERR_PARSE);
	date_rc("80-12-31", JPKI_ERR_PARSE);
	date_rc("1980-123-1", JPKI_ERR_PARSE);
	date_rc("山田", JPKI_ERR_PARSE);
	date_rc("", JPKI_ERR_PARSE);
	/* 和暦 with names and letters */
	date_is("昭和55年12月31日", "1980-12-31");
	date_is("昭和５５年１２月３１日", "1980-12-31");
	date_is("昭和 55年 12月 31日", "1980-12-31");
	date_is("昭和55.12.31", "1980-12-31");
	date_is("S55.12.31", "1980-12-31");
	date_is("s55/12/31", "1980-12-31");
	date_is("Ｓ５５．１２．３１", "1980-12-31");
	date_is("S551231", "1980-12-31");
	date_is("H1.1.8", "1989-01-08");
	date_is("平成元年1月8日", "1989-01-08");
	date_is("昭和64年1月7日", "1989-01-07");
	date_rc("昭和64年1月8日", JPKI_ERR_INVAL);
	date_rc("平成元年1月7日", JPKI_ERR_INVAL);
	date_is("平成31年4月30日", "2019-04-30");
	date_rc("平成31年5月1日", JPKI_ERR_INVAL);
	date_rc("平成32年1月1日", JPKI_ERR_INVAL);
	date_is("令和元年5月1日", "2019-05-01");
	date_is("令和1年5月1日", "2019-05-01");
	date_is("R1.5.1", "2019-05-01");
	date_is("R元.5.1", "2019-05-01");
	date_rc("令和元年4月30日", JPKI_ERR_INVAL);
	date_is("令和8年12月6日", "2026-12-06");
	date_is("大正元年7月30日", "1912-07-30");
	date_rc("大正元年7月29日", JPKI_ERR_INVAL);
	date_is("明治45年7月29日", "1912-07-29");
	date_is("T15.12.24", "1926-12-24");
	date_rc("T15.12.25", JPKI_ERR_INVAL);
	date_is("昭和元年12月25日", "1926-12-25");
	date_is("明治元年1月25日", "1868-01-25");
	date_rc("明治元年1月24日", JPKI_ERR_INVAL);
	date_rc("昭和0年1月1日", JPKI_ERR_INVAL);
	date_rc("昭和55年2月30日", JPKI_ERR_INVAL);
	date_rc("S551301", JPKI_ERR_PARSE); /* compact: not a date, an id */
	date_rc("昭和55年", JPKI_ERR_PARSE);
	date_rc("S55", JPKI_ERR_PARSE);
	date_rc("suzuki", JPKI_ERR_PARSE);
	date_rc("ｈｅｉｓｅｉ", JPKI_ERR_PARSE);
}

static void test_query(void **state)
{
	(void)state;
	store_resident_query q;
	jpki_err err = {0};
	assert_int_equal(registry_search_query("山田　太郎", &q, &err), 0);
	assert_string_equal(q.key, "山田太郎");
	assert_int_equal(q.birth.y, 0);
	assert_int_equal(registry_search_query("S55.12.31", &q, &err), 0);
	assert_string_equal(q.key, "");
	assert_int_equal(q.birth.y, 1980);
	assert_string_equal(q.ext, "s55.12.31");
	assert_int_equal(registry_search_query("  ", &q, &err), 0);
	assert_string_equal(q.key, "");
	assert_string_equal(q.ext, "");
	assert_int_equal(q.birth.y, 0);
	assert_int_equal(registry_search_query("平成31年5月1日", &q, &err),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "era"));
	assert_int_equal(registry_search_query("\xff", &q, &err),
			 JPKI_ERR_INVAL);
}

/* The store query over a CA's register. */
static char dir[64];
static jpki_ca *ca;
static time_t T0;

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	char cadir[128];
	if (ca_fixture_make("search", dir, sizeof(dir), cadir, sizeof(cadir),
			    &T0, true) != 0)
		return -1;
	return ca_open(cadir, ca_fixture_store(), &ca, &err) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	ca_close(ca);
	return ca_fixture_remove(dir);
}

static int64_t add(const char *ext, const char *name, const char *kana,
		   const char *addr, const char *birth, const char *mynum)
{
	store_resident r;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	assert_int_equal(jpki_strlcpy(r.ext_id, ext, sizeof(r.ext_id)), 0);
	assert_int_equal(jpki_strlcpy(r.name, name, sizeof(r.name)), 0);
	assert_int_equal(jpki_strlcpy(r.kana, kana, sizeof(r.kana)), 0);
	assert_int_equal(jpki_strlcpy(r.address, addr, sizeof(r.address)), 0);
	assert_int_equal(
	    jpki_strlcpy(r.muni_code, "132217", sizeof(r.muni_code)), 0);
	assert_int_equal(jpki_strlcpy(r.my_number, mynum, sizeof(r.my_number)),
			 0);
	assert_int_equal(jpki_date_parse(birth, &r.birth), 0);
	r.sex = 1;
	r.updated_at = T0;
	if (registry_resident_add(ca, &r, T0, "test", &err) != 0) {
		print_error("add %s: %s\n", ext, err.msg);
		fail();
	}
	return r.id;
}

struct hits {
	int n;
	int64_t id[8];
};

static int collect(void *ctx, const store_resident *r)
{
	struct hits *h = ctx;
	if (h->n < 8)
		h->id[h->n] = r->id;
	h->n++;
	return 0;
}

static struct hits find(const char *q)
{
	struct hits h = {0, {0}};
	jpki_err err = {0};
	int rc = registry_resident_find(ca, q, 50, collect, &h, &err);
	if (rc != 0) {
		print_error("find %s: %s\n", q, err.msg);
		fail();
	}
	return h;
}

static void found_only(const char *q, int64_t id)
{
	struct hits h = find(q);
	if (h.n != 1 || h.id[0] != id) {
		print_error(
		    "find \"%s\": %d hits (first %lld), want only %lld\n", q,
		    h.n, (long long)h.id[0], (long long)id);
		fail();
	}
}

static void test_find(void **state)
{
	(void)state;
	int64_t a =
	    add("13221700001", "髙橋 一郎", "タカハシ イチロウ",
		"東京都清瀬市中里１丁目２－３", "1980-12-31", "123456789018");
	int64_t b = add("13221700002", "渡邊 さくら", "ワタナベ サクラ",
			"東京都清瀬市松山4-5-6 201号", "1989-01-07", "");
	int64_t c = add("K-77", "齋藤 ｹﾝ", "ｻｲﾄｳ ｹﾝ", "東京都清瀬市元町1-1",
			"2019-05-01", "");
	/* name and kana, folded */
	found_only("高橋", a);
	found_only("髙橋 一郎", a);
	found_only("高橋一郎", a);
	found_only("たかはし いちろう", a);
	found_only("ﾀｶﾊｼ", a);
	found_only("渡辺", b);
	found_only("渡邉　さくら", b);
	found_only("斉藤", c);
	found_only("サイトウ ケン", c);
	found_only("さいとうけん", c);
	/* birth date, any form */
	found_only("1980-12-31", a);
	found_only("19801231", a);
	found_only("昭和55年12月31日", a);
	found_only("S55.12.31", a);
	found_only("昭和64年1月7日", b);
	found_only("令和元年5月1日", c);
	found_only("R1.5.1", c);
	/* address, folded, substring */
	found_only("中里1丁目2-3", a);
	found_only("松山４－５－６", b);
	found_only("元町", c);
	/* ids: 住民票コード, own key (case folded), 個人番号 */
	found_only("13221700002", b);
	found_only("k-77", c);
	found_only("123456789018", a);
	/* a name typed with its kana in the other script is found; nothing
	 * else is */
	assert_int_equal(find("佐藤").n, 0);
	assert_int_equal(find("1990-01-01").n, 0);
	/* the separator between name and kana is never matched */
	assert_int_equal(find("一郎タカハシ").n, 0);
	/* everything */
	assert_int_equal(find("").n, 3);
	/* a bad date is an error, not an empty list */
	struct hits h = {0, {0}};
	jpki_err err = {0};
	assert_int_equal(
	    registry_resident_find(ca, "1980-02-30", 50, collect, &h, &err),
	    JPKI_ERR_INVAL);
}

/* 個人番号 on the record: the check digit is the law's. */
static void test_my_number(void **state)
{
	(void)state;
	store_resident r, got;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	assert_int_equal(jpki_strlcpy(r.ext_id, "MN1", sizeof(r.ext_id)), 0);
	assert_int_equal(jpki_strlcpy(r.name, "番号 太郎", sizeof(r.name)), 0);
	assert_int_equal(
	    jpki_strlcpy(r.address, "東京都清瀬市", sizeof(r.address)), 0);
	assert_int_equal(
	    jpki_strlcpy(r.muni_code, "132217", sizeof(r.muni_code)), 0);
	r.birth = (jpki_date){1990, 1, 1};
	r.sex = 1;
	assert_int_equal(
	    jpki_strlcpy(r.my_number, "123456789019", sizeof(r.my_number)), 0);
	assert_int_equal(registry_resident_add(ca, &r, T0, "test", &err),
			 JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "check digit"));
	assert_int_equal(
	    store_resident_get_ext(ca_store(ca), "MN1", &got, &err),
	    JPKI_ERR_NOT_FOUND);
	assert_int_equal(
	    jpki_strlcpy(r.my_number, "195173159140", sizeof(r.my_number)), 0);
	assert_int_equal(registry_resident_add(ca, &r, T0, "test", &err), 0);
	assert_int_equal(store_resident_get(ca_store(ca), r.id, &got, &err), 0);
	assert_string_equal(got.my_number, "195173159140");
	/* a change to a wrong number is refused, the record keeps its own */
	registry_change_result res;
	got.updated_at = T0;
	assert_int_equal(
	    jpki_strlcpy(got.my_number, "195173159141", sizeof(got.my_number)),
	    0);
	assert_int_equal(
	    registry_resident_change(ca, &got, T0, "test", &res, &err),
	    JPKI_ERR_INVAL);
	assert_int_equal(store_resident_get(ca_store(ca), r.id, &got, &err), 0);
	assert_string_equal(got.my_number, "195173159140");
	/* and a number can be cleared */
	got.my_number[0] = '\0';
	assert_int_equal(
	    registry_resident_change(ca, &got, T0, "test", &res, &err), 0);
	assert_int_equal(res.revoked, 0);
	assert_int_equal(store_resident_get(ca_store(ca), r.id, &got, &err), 0);
	assert_string_equal(got.my_number, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold),  cmocka_unit_test(test_fold_bad),
	    cmocka_unit_test(test_dates), cmocka_unit_test(test_query),
	    cmocka_unit_test(test_find),  cmocka_unit_test(test_my_number),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
