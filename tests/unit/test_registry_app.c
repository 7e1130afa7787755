/* registry/: the counter's applications — every path and its refusals,
 * cards, representatives and documents, expiry notices. */
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
static EVP_PKEY *k1, *k2, *k3, *k4;
static time_t T0; /* 2026-11-25 10:00 JST */
#define DAY 86400

static time_t at(const char *s)
{
	time_t t = 0;
	assert_int_equal(jpki_time_parse(s, &t), 0);
	return t + 3600; /* 10:00 JST */
}

static jpki_date d(const char *s)
{
	jpki_date v = {0, 0, 0};
	if (s != NULL)
		assert_int_equal(jpki_date_parse(s, &v), 0);
	return v;
}

static void expect(int rc, const jpki_err *e, int code, const char *msg)
{
	if (rc != code || (msg != NULL && strstr(e->msg, msg) == NULL))
		fail_msg("expected %d \"%s\", got %d \"%s\"", code,
			 msg ? msg : "", rc, e->msg);
}

static int64_t add_res(jpki_ca *ca, const char *ext, const char *birth,
		       bool ward, const char *name)
{
	store_resident r;
	store_card c;
	jpki_err err = {0};
	memset(&r, 0, sizeof(r));
	assert_int_equal(jpki_strlcpy(r.ext_id, ext, sizeof(r.ext_id)), 0);
	assert_int_equal(jpki_strlcpy(r.name, name, sizeof(r.name)), 0);
	assert_int_equal(jpki_strlcpy(r.kana, "ヤマダ　タロウ", sizeof(r.kana)),
			 0);
	assert_int_equal(jpki_strlcpy(r.address, "東京都清瀬市上清戸１丁目",
				      sizeof(r.address)),
			 0);
	r.birth = d(birth);
	r.sex = 1;
	r.adult_ward = ward;
	assert_int_equal(
	    jpki_strlcpy(r.muni_code, "132217", sizeof(r.muni_code)), 0);
	if (registry_resident_add(ca, &r, T0, "test", &err) != 0)
		fail_msg("add resident: %s", err.msg);
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "CARD-%s", ext);
	c.resident_id = r.id;
	c.issued = jpki_date_of(T0);
	if (registry_card_record(ca, &c, T0, "test", &err) != 0)
		fail_msg("card: %s", err.msg);
	return r.id;
}

static void issue_both(jpki_ca *ca, int64_t rid, const char *card)
{
	ca_issue_req req = {.resident_id = rid,
			    .card_serial = card,
			    .sign_pub = k1,
			    .auth_pub = k2,
			    .now = T0};
	ca_issued out;
	jpki_err err = {0};
	if (ca_issue(ca, &req, &out, &err) != 0)
		fail_msg("issue: %s", err.msg);
	ca_issued_free(&out);
}

static int open_app(jpki_ca *ca, int64_t rid, store_app_kind kind,
		    store_app_applicant who, const char *agent, int certs,
		    int pins, const char *card, time_t now, int64_t *id,
		    jpki_err *err)
{
	registry_app_req req = {.resident_id = rid,
				.kind = kind,
				.applicant = who,
				.agent_name = agent,
				.certs = certs,
				.pins = pins,
				.card_serial = card};
	store_app a;
	memset(&a, 0, sizeof(a));
	int rc = registry_app_open(ca, &req, now, "clerk", &a, err);
	if (rc == 0 && id != NULL)
		*id = a.id;
	return rc;
}

static void doc_ok(jpki_ca *ca, int64_t id, store_doc_role role,
		   const char *type, const char *num, const char *exp,
		   time_t now)
{
	jpki_err err = {0};
	if (registry_app_add_document(ca, id, role, type, num, d(exp), now,
				      "clerk", &err) != 0)
		fail_msg("document %s: %s", type, err.msg);
}

static store_app get_app(jpki_ca *ca, int64_t id)
{
	store_app a;
	jpki_err err = {0};
	assert_int_equal(store_app_get(ca_store(ca), id, &a, &err), 0);
	return a;
}

static int setup(void **state)
{
	(void)state;
	if (ca_fixture_make("reg", dir, sizeof(dir), cadir, sizeof(cadir), &T0,
			    true) != 0)
		return -1;
	k1 = EVP_RSA_gen(2048);
	k2 = EVP_RSA_gen(2048);
	k3 = EVP_RSA_gen(2048);
	k4 = EVP_RSA_gen(2048);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(k4);
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

static int count_events(void *ctx, const store_app_event *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

/* New card: ordered, produced, ready, handed over with both certificates. */
static void test_new_card(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "N1", "1980-12-31", false, "山田　太郎"),
		id = 0;
	assert_int_equal(open_app(ca, rid, STORE_APP_NEW_CARD,
				  STORE_APPLICANT_SELF, NULL, 3, 0, NULL, T0,
				  &id, &err),
			 0);
	registry_preview pv;
	assert_int_equal(registry_app_preview(ca, id, T0, &pv, &err), 0);
	assert_false(pv.docs_ok);
	assert_non_null(strstr(pv.docs_missing, "photo identity"));
	assert_true(pv.want[JPKI_CERT_SIGN] && pv.want[JPKI_CERT_AUTH]);
	assert_true(pv.new_card);
	assert_int_equal(pv.fee_total, 0);
	assert_int_equal(pv.validity[JPKI_CERT_AUTH].last_day.y, 2030);
	/* approval needs the documents */
	expect(registry_app_approve(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "photo identity");
	doc_ok(ca, id, STORE_DOC_HOLDER, "drivers_license", "123456789012A",
	       "2029-03-01", T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	assert_int_equal(get_app(ca, id).state, STORE_APP_CARD_ORDERED);
	/* not ready yet: illegal transitions */
	registry_complete_in in = {.sign_pub = k1, .auth_pub = k2};
	registry_outcome o;
	expect(registry_app_complete(ca, id, &in, T0, "clerk", &o, &err), &err,
	       JPKI_ERR_STATE, "card_ordered: complete is not allowed");
	expect(registry_app_card_ready(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "card_ready is not allowed");
	assert_int_equal(registry_app_card_produced(
			     ca, id, "NEW-N1", T0 + 30 * DAY, "jlis", &err),
			 0);
	assert_int_equal(
	    registry_app_card_ready(ca, id, T0 + 32 * DAY, "clerk", &err), 0);
	/* a key for each wanted certificate, no more */
	registry_complete_in only = {.auth_pub = k2};
	expect(registry_app_complete(ca, id, &only, T0 + 35 * DAY, "clerk", &o,
				     &err),
	       &err, JPKI_ERR_INVAL, "signature public key");
	assert_int_equal(registry_app_complete(ca, id, &in, T0 + 35 * DAY,
					       "clerk", &o, &err),
			 0);
	assert_non_null(o.issued.sign_der);
	assert_non_null(o.issued.auth_der);
	assert_string_equal(o.card_serial, "NEW-N1");
	registry_outcome_free(&o);
	registry_outcome_free(NULL);
	store_card c;
	assert_int_equal(store_card_get(ca_store(ca), "NEW-N1", &c, &err), 0);
	assert_int_equal(c.status, STORE_CARD_ACTIVE);
	assert_int_equal(c.expiry.y, 2035); /* 10th birthday after 2026-12-30 */
	store_app a = get_app(ca, id);
	assert_int_equal(a.state, STORE_APP_COMPLETED);
	int n = 0;
	assert_int_equal(
	    store_app_event_each(ca_store(ca), id, count_events, &n, &err), 0);
	assert_int_equal(n,
			 6); /* open document approve produced ready complete */
	/* closed: nothing more */
	expect(registry_app_reject(ca, id, "late", T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "closed");
	int64_t recs = 0;
	assert_int_equal(store_audit_verify(ca_store(ca), &recs, &err), 0);
	ca_close(ca);
}

/* Under 15 and adult wards: through a 法定代理人, authentication only. */
static void test_minor_and_ward(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t child = add_res(ca, "C1", "2015-04-01", false, "山田　花子"),
		id = 0;
	expect(open_app(ca, child, STORE_APP_NEW_CARD, STORE_APPLICANT_SELF,
			NULL, STORE_APP_CERT_AUTH, 0, NULL, T0, &id, &err),
	       &err, JPKI_ERR_INELIGIBLE, "applies through a 法定代理人");
	/* under-15 signature request */
	expect(open_app(ca, child, STORE_APP_NEW_CARD, STORE_APPLICANT_LEGAL,
			"山田　一郎", 3, 0, NULL, T0, &id, &err),
	       &err, JPKI_ERR_INELIGIBLE, "not issued under age 15");
	expect(open_app(ca, child, STORE_APP_NEW_CARD, STORE_APPLICANT_LEGAL,
			NULL, STORE_APP_CERT_AUTH, 0, NULL, T0, &id, &err),
	       &err, JPKI_ERR_INVAL, "name of the 法定代理人");
	assert_int_equal(open_app(ca, child, STORE_APP_NEW_CARD,
				  STORE_APPLICANT_LEGAL, "山田　一郎",
				  STORE_APP_CERT_AUTH, 0, NULL, T0, &id, &err),
			 0);
	doc_ok(ca, id, STORE_DOC_AGENT, "passport", "TK1234567", "2031-01-01",
	       T0);
	expect(registry_app_approve(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "proof of legal representation");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "family_register", "R-1", d(NULL), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "role agent");
	doc_ok(ca, id, STORE_DOC_AGENT, "family_register", "R-1", NULL, T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);

	/* an adult ward: signature refused (rules), auth through the 後見人 */
	int64_t ward = add_res(ca, "W1", "1950-01-01", true, "佐藤　次郎");
	expect(open_app(ca, ward, STORE_APP_ISSUE, STORE_APPLICANT_SELF, NULL,
			STORE_APP_CERT_AUTH, 0, "CARD-W1", T0, &id, &err),
	       &err, JPKI_ERR_INELIGIBLE, "adult ward");
	expect(open_app(ca, ward, STORE_APP_ISSUE, STORE_APPLICANT_LEGAL,
			"佐藤　三郎", STORE_APP_CERT_SIGN, 0, "CARD-W1", T0,
			&id, &err),
	       &err, JPKI_ERR_INELIGIBLE, "not issued to an adult ward");
	assert_int_equal(open_app(ca, ward, STORE_APP_ISSUE,
				  STORE_APPLICANT_LEGAL, "佐藤　三郎",
				  STORE_APP_CERT_AUTH, 0, "CARD-W1", T0, &id,
				  &err),
			 0);
	doc_ok(ca, id, STORE_DOC_AGENT, "drivers_license", "99887766",
	       "2030-01-01", T0);
	doc_ok(ca, id, STORE_DOC_AGENT, "guardianship_certificate", "G-77",
	       NULL, T0);
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDW1",
	       "2030-01-01", T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	registry_complete_in in = {.auth_pub = k3};
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, &in, T0, "clerk", &o, &err), 0);
	assert_null(o.issued.sign_der);
	assert_non_null(o.issued.auth_der);
	registry_outcome_free(&o);
	/* a 法定代理人 for an adult who needs none */
	int64_t adult = add_res(ca, "A9", "1990-01-01", false, "鈴木　一");
	expect(open_app(ca, adult, STORE_APP_ISSUE, STORE_APPLICANT_LEGAL,
			"鈴木　父", STORE_APP_CERT_AUTH, 0, "CARD-A9", T0, &id,
			&err),
	       &err, JPKI_ERR_INELIGIBLE, "applies only for a minor");
	ca_close(ca);
}

/* 任意代理人: the 照会書兼回答書 goes by post, never the same day. */
static void test_proxy_inquiry(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "P1", "1985-06-15", false, "田中　一"),
		id = 0;
	assert_int_equal(open_app(ca, rid, STORE_APP_ISSUE,
				  STORE_APPLICANT_PROXY, "田中　代理",
				  STORE_APP_CERT_AUTH, 0, "CARD-P1", T0, &id,
				  &err),
			 0);
	/* wrong document types for this applicant */
	expect(registry_app_add_document(ca, id, STORE_DOC_AGENT,
					 "family_register", "X1", d(NULL), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "proves a 法定代理人");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "inquiry_answer", "Q1", d(NULL), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "must first go to the holder by post");
	doc_ok(ca, id, STORE_DOC_AGENT, "residence_card", "AB12345678CD",
	       "2028-01-01", T0);
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDP1",
	       "2030-01-01", T0);
	/* without the answered 照会書 or a 委任状, no approval */
	expect(registry_app_approve(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "照会書兼回答書 answered");
	/* a 委任状 is not enough for a PIN reset (docs/decisions.md) */
	int64_t pin_id = 0;
	assert_int_equal(open_app(ca, rid, STORE_APP_PIN_RESET,
				  STORE_APPLICANT_PROXY, "田中　代理", 0,
				  STORE_APP_PIN_AUTH, "CARD-P1", T0, &pin_id,
				  &err),
			 0);
	doc_ok(ca, pin_id, STORE_DOC_AGENT, "passport", "TK0009", "2029-01-01",
	       T0);
	doc_ok(ca, pin_id, STORE_DOC_HOLDER, "mynumber_card", "CARDP1",
	       "2030-01-01", T0);
	doc_ok(ca, pin_id, STORE_DOC_HOLDER, "letter_of_attorney", "L-0", NULL,
	       T0);
	expect(registry_app_approve(ca, pin_id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "照会書兼回答書 answered");
	assert_int_equal(registry_app_cancel(ca, pin_id, T0, "clerk", &err), 0);
	expect(registry_app_answer_inquiry(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "received: answer_inquiry is not allowed");
	assert_int_equal(registry_app_send_inquiry(ca, id, T0, "clerk", &err),
			 0);
	expect(registry_app_answer_inquiry(ca, id, T0 + 3600, "clerk", &err),
	       &err, JPKI_ERR_STATE, "never the same day");
	expect(registry_app_approve(ca, id, T0 + 3600, "clerk", &err), &err,
	       JPKI_ERR_STATE, "inquiry_sent: approve is not allowed");
	assert_int_equal(
	    registry_app_answer_inquiry(ca, id, T0 + 7 * DAY, "clerk", &err),
	    0);
	doc_ok(ca, id, STORE_DOC_HOLDER, "inquiry_answer", "Q1", NULL,
	       T0 + 7 * DAY);
	assert_int_equal(
	    registry_app_approve(ca, id, T0 + 7 * DAY, "clerk", &err), 0);
	registry_complete_in in = {.auth_pub = k4};
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, &in, T0 + 7 * DAY, "clerk", &o, &err),
	    0);
	assert_non_null(o.issued.auth_der);
	jpki_date auth_last = o.issued.auth_validity.last_day;
	registry_outcome_free(&o);
	/* a 委任状 suffices for issuance: the signature certificate onto the
	 * card that holds the authentication certificate, capped by it */
	time_t t2 = T0 + 8 * DAY;
	assert_int_equal(open_app(ca, rid, STORE_APP_ISSUE,
				  STORE_APPLICANT_PROXY, "田中　代理",
				  STORE_APP_CERT_SIGN, 0, "CARD-P1", t2, &id,
				  &err),
			 0);
	doc_ok(ca, id, STORE_DOC_AGENT, "residence_card", "AB12345678CD",
	       "2028-01-01", t2);
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDP1",
	       "2030-01-01", t2);
	doc_ok(ca, id, STORE_DOC_HOLDER, "letter_of_attorney", "L-1", NULL, t2);
	assert_int_equal(registry_app_approve(ca, id, t2, "clerk", &err), 0);
	registry_complete_in ins = {.sign_pub = k3};
	if (registry_app_complete(ca, id, &ins, t2, "clerk", &o, &err) != 0)
		fail_msg("委任状 issuance: %s", err.msg);
	assert_non_null(o.issued.sign_der);
	assert_int_equal(
	    jpki_date_cmp(o.issued.sign_validity.last_day, auth_last), 0);
	registry_outcome_free(&o);
	/* the inquiry is for proxies only */
	int64_t self_id = 0;
	assert_int_equal(
	    open_app(ca, rid, STORE_APP_PIN_RESET, STORE_APPLICANT_SELF, NULL,
		     0, STORE_APP_PIN_AUTH, "CARD-P1", T0, &self_id, &err),
	    0);
	expect(registry_app_send_inquiry(ca, self_id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "任意代理人");
	expect(registry_app_add_document(ca, self_id, STORE_DOC_HOLDER,
					 "letter_of_attorney", "L", d(NULL), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "only for an application by a 任意代理人");
	expect(registry_app_add_document(ca, self_id, STORE_DOC_AGENT,
					 "passport", "TK1", d("2030-01-01"), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "no agent's");
	ca_close(ca);
}

/* Documents: expired, missing expiry, unknown, the 個人番号. */
static void test_documents(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "D1", "1970-02-02", false, "高橋　一"),
		id = 0;
	assert_int_equal(open_app(ca, rid, STORE_APP_PIN_RESET,
				  STORE_APPLICANT_SELF, NULL, 0,
				  STORE_APP_PIN_SIGN, "CARD-D1", T0, &id, &err),
			 0);
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "drivers_license", "12345",
					 d("2026-11-24"), T0, "clerk", &err),
	       &err, JPKI_ERR_INVAL, "expired on 2026-11-24");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER, "passport",
					 "TK1", d(NULL), T0, "clerk", &err),
	       &err, JPKI_ERR_INVAL, "give the expiry date of the 旅券");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "library_card", "1", d(NULL), T0,
					 "clerk", &err),
	       &err, JPKI_ERR_INVAL, "unknown document type");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "mynumber_card", "123456789012",
					 d("2030-01-01"), T0, "clerk", &err),
	       &err, JPKI_ERR_INVAL, "never the My Number");
	expect(registry_app_add_document(ca, id, STORE_DOC_HOLDER,
					 "drivers_license", "12 34",
					 d("2030-01-01"), T0, "clerk", &err),
	       &err, JPKI_ERR_INVAL, "letters, digits");
	/* expiring today is still valid */
	doc_ok(ca, id, STORE_DOC_HOLDER, "drivers_license", "12345",
	       "2026-11-25", T0);
	ca_close(ca);
}

/* Renewal: too early refused; in the window the old ones are superseded. */
static void test_renewal(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "R1", "1980-12-31", false, "伊藤　一"),
		id = 0;
	issue_both(ca, rid, "CARD-R1"); /* both to 2030-12-31 */
	expect(open_app(ca, rid, STORE_APP_RENEWAL, STORE_APPLICANT_SELF, NULL,
			0, 0, "CARD-R1", T0, &id, &err),
	       &err, JPKI_ERR_WINDOW, "renewal of the");
	expect(open_app(ca, rid, STORE_APP_ISSUE, STORE_APPLICANT_SELF, NULL,
			STORE_APP_CERT_AUTH, 0, "CARD-R1", T0, &id, &err),
	       &err, JPKI_ERR_STATE, "already holds a valid");
	time_t t = at("2030-10-01");
	assert_int_equal(open_app(ca, rid, STORE_APP_RENEWAL,
				  STORE_APPLICANT_SELF, NULL, 0, 0, "CARD-R1",
				  t, &id, &err),
			 0);
	assert_int_equal(get_app(ca, id).certs, 3);
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDR1",
	       "2036-12-31", t);
	registry_preview pv;
	assert_int_equal(registry_app_preview(ca, id, t, &pv, &err), 0);
	assert_true(pv.docs_ok);
	assert_int_equal(pv.validity[JPKI_CERT_AUTH].birthday_n, 6);
	assert_int_equal(pv.fee_total, 0);
	assert_int_equal(registry_app_approve(ca, id, t, "clerk", &err), 0);
	registry_complete_in in = {.sign_pub = k3, .auth_pub = k4};
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, &in, t, "clerk", &o, &err), 0);
	assert_true(o.issued.superseded[0][0] != '\0');
	assert_true(o.issued.superseded[1][0] != '\0');
	registry_outcome_free(&o);
	ca_close(ca);
}

/* PIN reset: an identity check first; the holder sets the PIN at the card. */
static void test_pin_reset(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "PR", "1975-05-05", false, "渡辺　一"),
		id = 0;
	expect(open_app(ca, rid, STORE_APP_PIN_RESET, STORE_APPLICANT_SELF,
			NULL, 0, 0, "CARD-PR", T0, &id, &err),
	       &err, JPKI_ERR_INVAL, "which PINs");
	assert_int_equal(open_app(ca, rid, STORE_APP_PIN_RESET,
				  STORE_APPLICANT_SELF, NULL, 0,
				  STORE_APP_PIN_AUTH, "CARD-PR", T0, &id, &err),
			 0);
	/* double submission */
	int64_t id2 = 0;
	expect(open_app(ca, rid, STORE_APP_PIN_RESET, STORE_APPLICANT_SELF,
			NULL, 0, STORE_APP_PIN_SIGN, "CARD-PR", T0, &id2, &err),
	       &err, JPKI_ERR_EXISTS, "already has an open pin-reset");
	expect(registry_app_approve(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "a PIN reset needs an identity check");
	doc_ok(ca, id, STORE_DOC_HOLDER, "drivers_license", "5555",
	       "2030-01-01", T0);
	expect(registry_app_approve(ca, id, T0, "clerk", &err), &err,
	       JPKI_ERR_STATE, "マイナンバーカード must be presented");
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDPR",
	       "2030-01-01", T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	registry_complete_in none = {0};
	expect(registry_app_complete(ca, id,
				     &(registry_complete_in){.auth_pub = k1},
				     T0, "clerk", NULL, &err),
	       &err, JPKI_ERR_INVAL, "does not issue");
	assert_int_equal(
	    registry_app_complete(ca, id, &none, T0, "clerk", NULL, &err), 0);
	/* closed: a new one may be opened; cancel it */
	assert_int_equal(
	    open_app(ca, rid, STORE_APP_PIN_RESET, STORE_APPLICANT_SELF, NULL,
		     0, STORE_APP_PIN_SIGN, "CARD-PR", T0, &id2, &err),
	    0);
	assert_int_equal(registry_app_cancel(ca, id2, T0, "clerk", &err), 0);
	expect(registry_app_reject(ca, id2, NULL, T0, "clerk", &err), &err,
	       JPKI_ERR_INVAL, "reason");
	assert_int_equal(get_app(ca, id2).state, STORE_APP_CANCELLED);
	ca_close(ca);
}

static int cert_reason(jpki_ca *ca, const char *serial)
{
	store_cert c;
	jpki_err err = {0};
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_cert_get(ca_store(ca), serial, &c, &err), 0);
	int r = c.status == STORE_CERT_VALID ? -1 : c.reason;
	store_cert_clear(&c);
	return r;
}

/* Loss: hold; found: revoke the held ones, issue anew on the same card. */
static void test_loss_found(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "L1", "1988-08-08", false, "中村　一"),
		id = 0;
	issue_both(ca, rid, "CARD-L1");
	assert_int_equal(open_app(ca, rid, STORE_APP_LOSS, STORE_APPLICANT_SELF,
				  NULL, 0, 0, "CARD-L1", T0, &id, &err),
			 0);
	doc_ok(ca, id, STORE_DOC_HOLDER, "passport", "TZ0001", "2031-01-01",
	       T0);
	/* held on receipt, before approval */
	registry_preview pv;
	assert_int_equal(registry_app_preview(ca, id, T0, &pv, &err), 0);
	assert_int_equal(pv.affected, 2);
	assert_true(pv.hold);
	char s0[STORE_SERIAL_HEX_MAX], s1[STORE_SERIAL_HEX_MAX];
	assert_int_equal(jpki_strlcpy(s0, pv.affected_serials[0], sizeof(s0)),
			 0);
	assert_int_equal(jpki_strlcpy(s1, pv.affected_serials[1], sizeof(s1)),
			 0);
	assert_int_equal(cert_reason(ca, s0), JPKI_REASON_CERTIFICATE_HOLD);
	assert_int_equal(cert_reason(ca, s1), JPKI_REASON_CERTIFICATE_HOLD);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, NULL, T0, "clerk", &o, &err), 0);
	assert_int_equal(o.revoked, 0);
	registry_outcome_free(&o);
	assert_int_equal(cert_reason(ca, s0), JPKI_REASON_CERTIFICATE_HOLD);
	assert_int_equal(cert_reason(ca, s1), JPKI_REASON_CERTIFICATE_HOLD);
	store_card c;
	assert_int_equal(store_card_get(ca_store(ca), "CARD-L1", &c, &err), 0);
	assert_int_equal(c.status, STORE_CARD_LOST);
	/* nothing more on a lost card but found or reissue */
	expect(open_app(ca, rid, STORE_APP_PIN_RESET, STORE_APPLICANT_SELF,
			NULL, 0, 1, "CARD-L1", T0, &id, &err),
	       &err, JPKI_ERR_STATE, "reported lost");
	time_t t = T0 + 3 * DAY;
	assert_int_equal(open_app(ca, rid, STORE_APP_FOUND,
				  STORE_APPLICANT_SELF, NULL, 0, 0, "CARD-L1",
				  t, &id, &err),
			 0);
	assert_int_equal(get_app(ca, id).certs, 3);
	doc_ok(ca, id, STORE_DOC_HOLDER, "mynumber_card", "CARDL1",
	       "2036-01-01", t);
	assert_int_equal(registry_app_approve(ca, id, t, "clerk", &err), 0);
	registry_complete_in in = {.sign_pub = k3, .auth_pub = k4};
	assert_int_equal(
	    registry_app_complete(ca, id, &in, t, "clerk", &o, &err), 0);
	assert_int_equal(o.revoked, 2);
	assert_non_null(o.issued.sign_der);
	registry_outcome_free(&o);
	assert_int_equal(cert_reason(ca, s0), JPKI_REASON_CESSATION);
	assert_int_equal(cert_reason(ca, s1), JPKI_REASON_CESSATION);
	assert_int_equal(store_card_get(ca_store(ca), "CARD-L1", &c, &err), 0);
	assert_int_equal(c.status, STORE_CARD_ACTIVE);
	ca_close(ca);
}

/* Card reissue: 200 + 800 yen; the old card retired, its certificates
 * revoked; the new card handed over with new certificates. */
static void test_reissue(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "X1", "1990-03-03", false, "小林　一"),
		id = 0;
	issue_both(ca, rid, "CARD-X1");
	assert_int_equal(open_app(ca, rid, STORE_APP_REISSUE,
				  STORE_APPLICANT_SELF, NULL, 0, 0, "CARD-X1",
				  T0, &id, &err),
			 0);
	registry_preview pv;
	assert_int_equal(registry_app_preview(ca, id, T0, &pv, &err), 0);
	assert_int_equal(pv.fee.cert_yen, 200);
	assert_int_equal(pv.fee.card_yen, 800);
	assert_int_equal(pv.fee_total, 1000);
	assert_int_equal(pv.affected, 2);
	doc_ok(ca, id, STORE_DOC_HOLDER, "drivers_license", "777", "2029-01-01",
	       T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	store_card c;
	assert_int_equal(store_card_get(ca_store(ca), "CARD-X1", &c, &err), 0);
	assert_int_equal(c.status, STORE_CARD_RETIRED);
	expect(registry_app_card_produced(ca, id, "CARD-X1", T0, "jlis", &err),
	       &err, JPKI_ERR_EXISTS, "already on record");
	assert_int_equal(registry_app_card_produced(ca, id, "CARD-X2", T0 + DAY,
						    "jlis", &err),
			 0);
	assert_int_equal(
	    registry_app_card_ready(ca, id, T0 + 2 * DAY, "clerk", &err), 0);
	registry_complete_in in = {.sign_pub = k1, .auth_pub = k2};
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, &in, T0 + 3 * DAY, "clerk", &o, &err),
	    0);
	assert_int_equal(o.fee.cert_yen + o.fee.card_yen, 1000);
	assert_string_equal(o.card_serial, "CARD-X2");
	registry_outcome_free(&o);
	ca_close(ca);
}

/* Holder's revocation request. */
static void test_revoke(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "V1", "1960-07-07", false, "加藤　一"),
		id = 0;
	expect(open_app(ca, rid, STORE_APP_REVOKE, STORE_APPLICANT_SELF, NULL,
			0, 0, "CARD-V1", T0, &id, &err),
	       &err, JPKI_ERR_STATE, "no certificate");
	issue_both(ca, rid, "CARD-V1");
	/* a 任意代理人 with a 委任状 may ask for revocation the same day */
	assert_int_equal(open_app(ca, rid, STORE_APP_REVOKE,
				  STORE_APPLICANT_PROXY, "加藤　妻",
				  STORE_APP_CERT_SIGN, 0, "CARD-V1", T0, &id,
				  &err),
			 0);
	doc_ok(ca, id, STORE_DOC_AGENT, "drivers_license", "4444", "2030-01-01",
	       T0);
	doc_ok(ca, id, STORE_DOC_HOLDER, "letter_of_attorney", "L-9", NULL, T0);
	assert_int_equal(registry_app_approve(ca, id, T0, "clerk", &err), 0);
	registry_outcome o;
	assert_int_equal(
	    registry_app_complete(ca, id, NULL, T0, "clerk", &o, &err), 0);
	assert_int_equal(o.revoked, 1);
	assert_int_equal(cert_reason(ca, o.serials[0]), JPKI_REASON_CESSATION);
	registry_outcome_free(&o);
	ca_close(ca);
}

static char *slurp(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	jpki_err err = {0};
	if (jpki_file_read(path, 1 << 20, &buf, &len, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	char *s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	return s;
}

/* 有効期限通知書: due 3 to 2 months before, sent once, values escaped. */
static void test_notices(void **state)
{
	(void)state;
	jpki_ca *ca = open_ca();
	jpki_err err = {0};
	int64_t rid = add_res(ca, "E1", "1980-12-31", false, "山田<b>&太郎");
	(void)rid;
	issue_both(ca, rid, "CARD-E1"); /* to 2030-12-31 */
	char out[160], path[200];
	snprintf(out, sizeof(out), "%s/notices", dir);
	registry_notice_summary sum;
	/* too early: nothing due */
	assert_int_equal(registry_notices_run(ca, out, at("2030-09-29"),
					      "batch", &sum, &err),
			 0);
	assert_int_equal(sum.sent, 0);
	assert_int_equal(registry_notices_run(ca, out, at("2030-10-15"),
					      "batch", &sum, &err),
			 0);
	assert_true(sum.sent >= 2);
	int first = sum.sent;
	snprintf(path, sizeof(path), "%s/letters.html", out);
	char *html = slurp(path);
	assert_non_null(strstr(html, "山田&lt;b&gt;&amp;太郎 様"));
	assert_null(strstr(html, "<b>&"));
	assert_non_null(strstr(html, "令和12年12月31日（2030年）"));
	assert_non_null(strstr(html, "手数料は無料です"));
	assert_non_null(strstr(html, "page-break-after"));
	free(html);
	snprintf(path, sizeof(path), "%s/mailroom.csv", out);
	char *csv = slurp(path);
	assert_true(strncmp(csv, "\"batch\",\"cert_serial\"", 21) == 0);
	assert_non_null(strstr(csv, "\"2030-12-31\",\"2030-09-30\""));
	free(csv);
	/* each notice once */
	assert_int_equal(registry_notices_run(ca, out, at("2030-10-20"),
					      "batch", &sum, &err),
			 0);
	assert_int_equal(sum.sent, 0);
	assert_int_equal(sum.already_sent, first);
	ca_close(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_card),
	    cmocka_unit_test(test_minor_and_ward),
	    cmocka_unit_test(test_proxy_inquiry),
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_renewal),
	    cmocka_unit_test(test_pin_reset),
	    cmocka_unit_test(test_loss_found),
	    cmocka_unit_test(test_reissue),
	    cmocka_unit_test(test_revoke),
	    cmocka_unit_test(test_notices),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
