/* registry/notice.c and letters.c (H3): the expiry-notice batch catches
 * up on every certificate in or past its window and not expired, once;
 * the letter's date, office, what stops working and who comes (holder,
 * under 15 with the 法定代理人, adult ward with the 成年後見人); the
 * 照会書兼回答書 and the 領収書 refuse the wrong states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */

/* cmocka.h needs the headers above first */
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_fixture.h"
#include "openjpki/ca.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"

static char dir[64];
static char cadir[128];
static EVP_PKEY *ks, *ka;
static time_t T0; /* 2026-11-25 10:00 JST */
static int nres;

static time_t at(const char *s)
{
	time_t t = 0;
	assert_int_equal(jpki_time_parse(s, &t), 0);
	return t + 3600; /* 10:00 JST */
}

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	if (ca_fixture_make("notice", dir, sizeof(dir), cadir, sizeof(cadir),
			    &T0, true) != 0)
		return -1;
	ks = EVP_RSA_gen(2048);
	ka = EVP_RSA_gen(2048);
	jpki_ca *ca = NULL;
	if (ca_open(cadir, ca_fixture_store(), &ca, &err) != 0)
		return -1;
	store_office off = {"清瀬市役所 市民課", "東京都清瀬市中里5-842",
			    "042-492-5111", "平日 8時30分〜17時"};
	if (registry_muni_office_set(ca, "132217", &off, T0, "test", &err) != 0)
		return -1;
	ca_close(ca);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ks);
	EVP_PKEY_free(ka);
	return ca_fixture_remove(dir);
}

static jpki_ca *open_ca(void)
{
	jpki_ca *ca = NULL;
	jpki_err err = {0};
	if (ca_open(cadir, ca_fixture_store(), &ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	return ca;
}

/* A resident with a card and certificates issued at T0 (both when the
 * law allows, else authentication only). */
static int64_t holder(jpki_ca *ca, const char *name, const char *birth,
		      bool ward, bool sign)
{
	store_resident r;
	store_card c;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	snprintf(r.ext_id, sizeof(r.ext_id), "N%d", ++nres);
	assert_int_equal(jpki_strlcpy(r.name, name, sizeof(r.name)), 0);
	assert_int_equal(jpki_strlcpy(r.address, "東京都清瀬市上清戸１丁目",
				      sizeof(r.address)),
			 0);
	assert_int_equal(jpki_date_parse(birth, &r.birth), 0);
	r.sex = 1;
	r.adult_ward = ward;
	assert_int_equal(
	    jpki_strlcpy(r.muni_code, "132217", sizeof(r.muni_code)), 0);
	if (registry_resident_add(ca, &r, T0, "test", &err) != 0)
		fail_msg("add resident: %s", err.msg);
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "CARD-%s", r.ext_id);
	c.resident_id = r.id;
	c.issued = jpki_date_of(T0);
	if (registry_card_record(ca, &c, T0, "test", &err) != 0)
		fail_msg("card: %s", err.msg);
	ca_issue_req req = {.resident_id = r.id,
			    .card_serial = c.serial,
			    .sign_pub = sign ? ks : NULL,
			    .auth_pub = ka,
			    .now = T0};
	ca_issued out;
	if (ca_issue(ca, &req, &out, &err) != 0)
		fail_msg("issue: %s", err.msg);
	ca_issued_free(&out);
	return r.id;
}

static char *slurp(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	jpki_err err = {0};
	if (jpki_file_read(path, 1 << 22, &buf, &len, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	char *s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	return s;
}

static int run(jpki_ca *ca, const char *day, registry_notice_summary *sum,
	       char **html)
{
	char out[160], path[200];
	jpki_err err = {0};
	snprintf(out, sizeof(out), "%s/n-%s", dir, day);
	int rc = registry_notices_run(ca, out, at(day), "batch", sum, &err);
	if (rc != 0)
		fail_msg("run %s: %s", day, err.msg);
	snprintf(path, sizeof(path), "%s/letters.html", out);
	*html = slurp(path);
	return sum->sent;
}

static int count(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	return n;
}

/* Adult certificates issued 2026-11-25 run to the 5th birthday after
 * issuance: born 1980-12-31 -> last day 2030-12-31 (window from
 * 2030-09-30). */
static void test_catch_up(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	registry_notice_summary sum;
	char *html = NULL;
	holder(ca, "通知 太郎", "1980-12-31", false, true);
	/* the day before the window: nothing */
	assert_int_equal(run(ca, "2030-09-29", &sum, &html), 0);
	assert_int_equal(count(html, "class=\"letter\""), 0);
	free(html);
	/* no run in the window; the first run after it (a month before
	 * expiry) still catches both certificates */
	assert_int_equal(run(ca, "2030-12-01", &sum, &html), 2);
	assert_int_equal(count(html, "class=\"letter\""), 2);
	/* the letter: its date, office, what stops working, who comes */
	assert_non_null(strstr(html, "令和12年12月1日（2030年）"));
	assert_non_null(strstr(html, "令和12年12月31日（2030年）"));
	assert_non_null(strstr(html, "清瀬市役所 市民課"));
	assert_non_null(strstr(html, "東京都清瀬市中里5-842"));
	assert_non_null(strstr(html, "電話 042-492-5111"));
	assert_non_null(strstr(html, "受付時間 平日 8時30分〜17時"));
	assert_non_null(strstr(html, "e-Tax"));
	assert_non_null(strstr(html, "マイナポータルへのログイン"));
	assert_non_null(strstr(html, "コンビニ交付"));
	assert_non_null(strstr(html, "ご本人がお越しください"));
	assert_non_null(strstr(html, "照会書兼回答書"));
	free(html);
	/* never twice, even on its last day */
	assert_int_equal(run(ca, "2030-12-31", &sum, &html), 0);
	assert_int_equal(sum.already_sent, 2);
	free(html);
	ca_close(ca);
}

/* A certificate whose last day passed with no run gets no letter. */
static void test_expired_not_noticed(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	registry_notice_summary sum;
	char *html = NULL;
	/* born 1975-06-01: the last day is the 5th birthday after
	 * issuance, 2031-06-01 */
	holder(ca, "期限 切子", "1975-06-01", false, true);
	assert_int_equal(run(ca, "2031-06-02", &sum, &html), 0);
	assert_null(strstr(html, "期限 切子"));
	free(html);
	ca_close(ca);
}

/* Under 15: the 法定代理人 comes with the holder; never "ご本人がお越し
 * ください" alone.  An adult ward: the 成年後見人. */
static void test_minor_and_ward_wording(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	registry_notice_summary sum;
	char *html = NULL;
	/* born 2020-03-10: the authentication certificate runs to the 5th
	 * birthday after issuance, 2031-03-10 (a 10-year-old then) */
	holder(ca, "子供 一郎", "2020-03-10", false, false);
	assert_int_equal(run(ca, "2031-01-10", &sum, &html), 1);
	assert_non_null(strstr(html, "子供 一郎"));
	assert_non_null(strstr(html, "15歳未満の方の手続きは、法定代理人"));
	assert_non_null(
	    strstr(html, "ご本人と法定代理人が一緒にお越しください"));
	assert_null(strstr(html, "ご本人がお越しください"));
	assert_null(strstr(html, "e-Tax（国税の電子申告）をはじめとする"));
	free(html);
	holder(ca, "後見 二郎", "1950-04-20", true, false);
	assert_int_equal(run(ca, "2031-02-20", &sum, &html), 1);
	assert_non_null(strstr(html, "成年後見人（法定代理人）"));
	assert_null(strstr(html, "ご本人がお越しください"));
	free(html);
	ca_close(ca);
}

static void test_letters_states(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	jpki_wbuf b;
	int64_t rid = holder(ca, "照会 三郎", "1985-02-02", false, true);
	registry_app_req req = {.resident_id = rid,
				.kind = STORE_APP_PIN_RESET,
				.applicant = STORE_APPLICANT_PROXY,
				.agent_name = "代理 花子",
				.pins = STORE_APP_PIN_AUTH,
				.card_serial = "CARD-N1"};
	store_app a;
	char card[40];
	snprintf(card, sizeof(card), "CARD-N%d", nres);
	req.card_serial = card;
	if (registry_app_open(ca, &req, T0, "clerk", &a, &err) != 0)
		fail_msg("open: %s", err.msg);
	/* before the inquiry is sent: refused */
	assert_int_equal(registry_inquiry_letter(ca, a.id, &b, &err),
			 JPKI_ERR_STATE);
	jpki_wbuf_free(&b);
	assert_int_equal(registry_receipt(ca, a.id, T0, &b, &err),
			 JPKI_ERR_STATE);
	jpki_wbuf_free(&b);
	assert_int_equal(registry_app_send_inquiry(ca, a.id, T0, "clerk", &err),
			 0);
	assert_int_equal(registry_inquiry_letter(ca, a.id, &b, &err), 0);
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	memcpy(s, b.p, b.len);
	s[b.len] = '\0';
	jpki_wbuf_free(&b);
	assert_non_null(strstr(s, "<h1>照会書</h1>"));
	assert_non_null(strstr(s, "<h1>回答書</h1>"));
	assert_non_null(strstr(s, "代理 花子"));
	assert_non_null(strstr(s, "照会 三郎 様"));
	assert_non_null(strstr(s, "令和8年11月25日（2026年）"));
	assert_non_null(strstr(s, "暗証番号の初期化・再設定"));
	assert_non_null(strstr(s, "電話 042-492-5111"));
	free(s);
	assert_int_equal(registry_inquiry_letter(ca, 999999, &b, &err),
			 JPKI_ERR_NOT_FOUND);
	jpki_wbuf_free(&b);
	ca_close(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catch_up),
	    cmocka_unit_test(test_expired_not_noticed),
	    cmocka_unit_test(test_minor_and_ward_wording),
	    cmocka_unit_test(test_letters_states),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
