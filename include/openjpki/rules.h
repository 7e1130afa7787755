/* openjpki — the law as pure functions (公的個人認証法 and its practice).
 *
 * Nothing here reads a clock, a file or a database: "today" is an argument,
 * always a JST calendar date.  Each rule cites its source beside its code in
 * src/rules/.  Decisions taken where the sources are silent are written in
 * docs/decisions.md. */
#ifndef OPENJPKI_RULES_H
#define OPENJPKI_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "openjpki/date.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jpki_cert_kind {
	JPKI_CERT_SIGN = 1, /* 署名用電子証明書 */
	JPKI_CERT_AUTH = 2, /* 利用者証明用電子証明書 */
} jpki_cert_kind;

/* "sign" / "auth" ("unknown" for any other value) */
const char *jpki_cert_kind_name(jpki_cert_kind k);

/* Age in whole years on `today` as Japanese law counts it (年齢計算ニ関スル
 * 法律, 民法第143条): a year is completed at the end of the day before the
 * birthday, so the age goes up on the birthday itself; someone born on 29
 * February goes up on 1 March in common years. */
int rules_age(jpki_date birth, jpki_date today);

/* The first day on which rules_age() is `age`: the birthday, or 1 March
 * in a common year for someone born on 29 February (民法第143条第2項). */
jpki_date rules_age_from(jpki_date birth, int age);

/* The n-th birthday strictly after `after` (n >= 1).  A 29 February
 * birthday falls on 28 February in common years (docs/decisions.md). */
jpki_date rules_nth_birthday_after(jpki_date birth, jpki_date after, int n);

typedef struct jpki_person {
	jpki_date birth;
	bool adult_ward; /* 成年被後見人 */
} jpki_person;

/* May a certificate of `kind` be issued to `p` on `today`?  0, or
 * JPKI_ERR_INELIGIBLE with the reason (under 15, adult ward). */
JPKI_MUST_CHECK int rules_eligible(jpki_cert_kind kind, const jpki_person *p,
				   jpki_date today, jpki_err *err);

/* Last valid day of a My Number Card issued on `issued` to someone born
 * `birth`: the 10th birthday after issue when 18 or older on that day,
 * otherwise the 5th.  Cards issued before 2022-04-01 (成年年齢 20) use 20. */
jpki_date rules_card_expiry(jpki_date birth, jpki_date issued);

typedef struct jpki_validity_in {
	jpki_date birth;
	jpki_date issued;      /* day of issue (today) */
	jpki_date card_expiry; /* last valid day of the card holding the key */
	/* Renewal: set `renewal` and the current certificate's last day. */
	bool renewal;
	jpki_date current_expiry;
	/* Signature certificate only: the authentication certificate on the
	 * same card caps it.  Set has_auth_expiry and its last day. */
	bool has_auth_expiry;
	jpki_date auth_expiry;
} jpki_validity_in;

typedef enum jpki_validity_cap {
	JPKI_CAP_BIRTHDAY = 0, /* the 5th (or 6th) birthday */
	JPKI_CAP_CARD = 1,     /* the card expires first */
	JPKI_CAP_AUTH = 2, /* the authentication certificate expires first */
} jpki_validity_cap;

typedef struct jpki_validity {
	jpki_date last_day; /* notAfter is 23:59:59 JST of this day */
	int birthday_n;	    /* 5 or 6 */
	jpki_validity_cap capped_by;
} jpki_validity;

/* Validity of a new certificate.  JPKI_ERR_INVAL for impossible input
 * (issue before birth, card or authentication certificate already expired,
 * has_auth_expiry for an authentication certificate); a renewal before
 * rules_renewal_opens(current_expiry) gets rules_renewal_allowed's
 * JPKI_ERR_WINDOW.  Ties between caps go to the birthday, then the card. */
JPKI_MUST_CHECK int rules_cert_validity(jpki_cert_kind kind,
					const jpki_validity_in *in,
					jpki_validity *out, jpki_err *err);

/* First day renewal may be applied for: 3 months before the last valid day
 * (the same day number, or the month's last day when it has none). */
jpki_date rules_renewal_opens(jpki_date expiry);
/* 0 when a certificate expiring on `expiry` may be renewed on `today`
 * (from rules_renewal_opens on, and any time after expiry), else
 * JPKI_ERR_WINDOW with the first allowed day in the message. */
JPKI_MUST_CHECK int rules_renewal_allowed(jpki_date expiry, jpki_date today,
					  jpki_err *err);

/* 有効期限通知書: due when `today` lies between 3 months and 2 months before
 * `expiry` (both ends included). */
bool rules_notice_due(jpki_date expiry, jpki_date today);
/* H3: is a notice owed on `today` to a certificate not yet noticed?
 * From 3 months before `expiry` through `expiry` itself (a window passed
 * without a run is caught up); never after expiry. */
bool rules_notice_owed(jpki_date expiry, jpki_date today);

typedef enum jpki_pin_kind {
	JPKI_PIN_SIGN = 1, /* 署名用電子証明書パスワード: 6-16 A-Z0-9, both */
	JPKI_PIN_AUTH = 2, /* 利用者証明用電子証明書暗証番号: 4 digits */
	JPKI_PIN_CARDINFO = 3, /* 券面事項入力補助用暗証番号: 4 digits */
} jpki_pin_kind;

#define JPKI_PIN_MAX 16

/* Check and normalise a PIN: lower case is upper-cased for the signature
 * PIN.  out gets the normalised PIN (cap >= JPKI_PIN_MAX + 1), or is NULL
 * to check only.  0 or JPKI_ERR_PIN_FORMAT with the rule broken (the PIN
 * itself is never put in the message). */
JPKI_MUST_CHECK int rules_pin_check(jpki_pin_kind kind, const char *pin,
				    char *out, size_t cap, jpki_err *err);
/* Retry limit: 5 for the signature PIN, 3 for the others; JPKI_ERR_INVAL
 * for an unknown kind. */
JPKI_MUST_CHECK int rules_pin_retries(jpki_pin_kind kind);

typedef enum jpki_fee_event {
	JPKI_FEE_ISSUE = 1,	   /* 新規発行 */
	JPKI_FEE_RENEWAL = 2,	   /* 更新 */
	JPKI_FEE_CARD_REISSUE = 3, /* 再交付 (lost or broken card) */
} jpki_fee_event;

typedef struct jpki_fee {
	int cert_yen; /* 電子証明書発行手数料 */
	int card_yen; /* カード再交付手数料 */
} jpki_fee;

/* Both fields -1 for an unknown event. */
jpki_fee rules_fee(jpki_fee_event ev);

/* Era-coded birth date "EYYYYMMDD" (era 1 明治, 2 大正, 3 昭和, 4 平成,
 * 5 令和; YYYYMMDD Gregorian) into out[10].  JPKI_ERR_INVAL before 明治. */
JPKI_MUST_CHECK int rules_era_date(jpki_date birth, char out[10],
				   jpki_err *err);
/* Inverse: parse "EYYYYMMDD", checking that the era matches the date. */
JPKI_MUST_CHECK int rules_era_date_parse(const char *s, jpki_date *out,
					 int *era, jpki_err *err);
/* "明治" .. "令和" for era 1..5, else NULL. */
const char *rules_era_name(int era);
/* Japanese-era year of a date (令和7年 -> 7); 0 before 明治. */
int rules_era_year(jpki_date d, int *era);

/* ==== One plan per counter application (plan.c) ================== *
 * Everything the law decides about an application, computed once from the
 * person, the card, the certificates held, what is asked, who applies and
 * the day.  The preview, approval, completion, the CLI and the UI show this
 * one plan; the CA signs what it says.  Values of rules_app and
 * rules_applicant are those of store_app_kind and store_app_applicant. */
typedef enum rules_app {
	RULES_APP_NEW_CARD = 1, /* 新規交付: a new card and its certificates */
	RULES_APP_ISSUE = 2,	/* 発行: certificates onto a held card */
	RULES_APP_RENEWAL = 3,	 /* 更新 */
	RULES_APP_REISSUE = 4,	 /* 再交付: new card after loss or damage */
	RULES_APP_REVOKE = 5,	 /* 失効 at the holder's request */
	RULES_APP_PIN_RESET = 6, /* 暗証番号の初期化 */
	RULES_APP_LOSS = 7,	 /* 紛失届 */
	RULES_APP_FOUND = 8,	 /* 発見届 */
} rules_app;

typedef enum rules_applicant {
	RULES_BY_CA_TEST = 0, /* no counter: CA-admin test issuance only */
	RULES_BY_SELF = 1,    /* 本人 */
	RULES_BY_PROXY = 2,   /* 任意代理人 */
	RULES_BY_LEGAL = 3,   /* 法定代理人 */
} rules_applicant;

/* The current certificate of one kind. */
typedef struct rules_holding {
	bool valid;	    /* not revoked (may be past its last day) */
	bool on_hold;	    /* on hold (certificateHold), on the card named */
	bool on_card;	    /* the valid one is on the card named */
	jpki_date last_day; /* of the valid one */
} rules_holding;

typedef struct rules_plan_in {
	jpki_person person;
	jpki_date today;
	rules_app app;
	rules_applicant applicant;
	int certs;	       /* 1 sign, 2 auth; 0: what the case implies */
	bool new_card;	       /* onto a new card (its expiry is computed) */
	jpki_date card_expiry; /* the held card's last day (not new_card) */
	bool card_lost;	       /* the held card is reported lost */
	rules_holding held[3]; /* [jpki_cert_kind] */
} rules_plan_in;

/* What happens to the current certificate of a kind. */
typedef enum rules_action {
	RULES_KEEP = 0,
	RULES_REVOKE = 1, /* revoked finally (a hold included) */
	RULES_HOLD = 2,	  /* put on hold (certificateHold) */
} rules_action;

#define RULES_TEXT_MAX 200

typedef struct rules_plan_cert {
	bool asked;	  /* the application concerns this kind */
	bool issue;	  /* a certificate of this kind is issued */
	const char *code; /* stable reason: "ok", "not-asked", or why not */
	char en[RULES_TEXT_MAX];
	char ja[RULES_TEXT_MAX];
	bool renewal;		/* issued as a renewal (6th birthday rule) */
	jpki_validity validity; /* when issue */
	rules_action current;	/* what happens to the current one */
	int reason;		/* its CRL reason (RFC 5280 value) */
} rules_plan_cert;

typedef struct jpki_plan {
	bool ok;	  /* the application may go ahead */
	int rc;		  /* 0, or the jpki_rc of the refusal */
	const char *code; /* the first refusal's code ("ok" when none) */
	char en[RULES_TEXT_MAX];
	char ja[RULES_TEXT_MAX];
	int age;
	int certs; /* the kinds concerned (1 sign, 2 auth) */
	bool new_card;
	jpki_date card_expiry;	 /* of the card holding the keys */
	rules_plan_cert cert[3]; /* [jpki_cert_kind] */
	jpki_fee fee;
	int fee_total;
} jpki_plan;

/* Compute the plan.  0 when the application may go ahead; otherwise the
 * refusal (JPKI_ERR_INELIGIBLE, JPKI_ERR_WINDOW, JPKI_ERR_STATE,
 * JPKI_ERR_INVAL) with its English text in err, and *out still filled
 * (every kind with its own code and texts) for the clerk to see. */
JPKI_MUST_CHECK int rules_plan(const rules_plan_in *in, jpki_plan *out,
			       jpki_err *err);
/* Does the application kind issue certificates? */
bool rules_app_issues(rules_app app);
/* "new-card", "issue", ... ("unknown" for any other value). */
const char *rules_app_name(rules_app app);

/* ==== Revocation law (revocation.c) ====================================
 * CRL reasons are RFC 5280 values (those of jpki_reason in x509.h). */
#define RULES_CRL_UNSPECIFIED 0
#define RULES_CRL_KEY_COMPROMISE 1
#define RULES_CRL_CA_COMPROMISE 2
#define RULES_CRL_AFFILIATION_CHANGED 3
#define RULES_CRL_SUPERSEDED 4
#define RULES_CRL_CESSATION 5
#define RULES_CRL_CERTIFICATE_HOLD 6

/* Resident-record changes (bits). */
#define RULES_CHANGE_NAME 0x01
#define RULES_CHANGE_ADDRESS 0x02
#define RULES_CHANGE_BIRTH 0x04
#define RULES_CHANGE_SEX 0x08
#define RULES_CHANGE_ADULT_WARD 0x10 /* became a 成年被後見人 */
#define RULES_CHANGE_OTHER 0x20	     /* kana and the like: nothing */
#define RULES_CHANGE_REMOVAL 0x40    /* 住民票の消除: death, emigration */

/* The CRL reason with which a change revokes a valid (or held)
 * certificate of `kind`, or -1 when it stays (公的個人認証法 第12条). */
int rules_change_revokes(unsigned changes, jpki_cert_kind kind);

/* What an application does to the current certificate of a kind: its
 * action and CRL reason (*reason -1 when kept).  `held` says the current
 * one is on hold, `card_lost` that the card is reported lost. */
rules_action rules_app_revocation(rules_app app, bool held, bool card_lost,
				  int *reason);

/* The least role that may revoke with `reason` directly, outside an
 * application kind that implies it: 1 clerk, 2 supervisor, 3 CA admin. */
int rules_reason_role(int reason);
/* May an application of kind `app` revoke (or hold) with `reason`? */
bool rules_reason_for_app(rules_app app, int reason);
/* Japanese name of a CRL reason (記載事項変更, 一時保留, 更新 ...), NULL
 * outside 0..6. */
const char *rules_reason_ja(int reason);

/* Which proxy papers suffice for an application (docs/decisions.md):
 * a 任意代理人 with a 委任状 (`attorney`) or the answered 照会書兼回答書
 * (`inquiry_answered`).  0, or JPKI_ERR_STATE saying what is missing. */
JPKI_MUST_CHECK int rules_proxy_papers(rules_app app, bool attorney,
				       bool inquiry_answered, jpki_err *err);
/* Does a 委任状 alone suffice for this kind? */
bool rules_attorney_suffices(rules_app app);
/* H3: the first day of era 1..5 (明治 .. 令和); JPKI_ERR_INVAL otherwise. */
JPKI_MUST_CHECK int rules_era_first_day(int era, jpki_date *out, jpki_err *err);

/* 個人番号 (番号法施行令 第8条).  The check digit of the first 11 digits
 * (0..9), or -1 when the argument is not 11 ASCII digits. */
int rules_mynumber_check_digit(const char *first11);
/* 0 when s is 12 digits whose last is the check digit of the others, else
 * JPKI_ERR_INVAL saying which (the number itself is not put in the
 * message). */
JPKI_MUST_CHECK int rules_mynumber_check(const char *s, jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
