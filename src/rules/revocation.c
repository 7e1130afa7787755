/* The revocation law: which record change revokes which certificate with
 * which reason, what each application does to the current certificates,
 * and who may use which reason (jpki-domain.md §2.1; J-LIS CPS §4.9.9
 * reason codes).  Choices where the sources are silent: docs/decisions.md
 * "Revocation law". */
#include "openjpki/rules.h"

int rules_change_revokes(unsigned changes, jpki_cert_kind kind)
{
	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return -1;
	/* 住民票の消除 (death, leaving Japan, loss of 住基 status): both,
	 * 使用しなくなった (law 第12条二号; CPS cessationOfOperation). */
	if (changes & RULES_CHANGE_REMOVAL)
		return RULES_CRL_CESSATION;
	/* 氏名・生年月日・性別・住所 changed: the signature certificate only,
	 * 記載内容に変更 (law 第12条; 江別市, 高森町, 府中町). */
	if (kind == JPKI_CERT_SIGN &&
	    (changes & (RULES_CHANGE_NAME | RULES_CHANGE_ADDRESS |
			RULES_CHANGE_BIRTH | RULES_CHANGE_SEX)))
		return RULES_CRL_AFFILIATION_CHANGED;
	/* Becoming a 成年被後見人: the signature certificate could not be
	 * issued now (docs/decisions.md). */
	if (kind == JPKI_CERT_SIGN && (changes & RULES_CHANGE_ADULT_WARD))
		return RULES_CRL_AFFILIATION_CHANGED;
	return -1;
}

rules_action rules_app_revocation(rules_app app, bool held, bool card_lost,
				  int *reason)
{
	int r = -1;
	rules_action act = RULES_KEEP;
	switch (app) {
	case RULES_APP_REVOKE:
		/* the holder's request (南足柄市): 使用しなくなった */
		r = RULES_CRL_CESSATION;
		act = RULES_REVOKE;
		break;
	case RULES_APP_LOSS:
		/* 紛失届: 一時保留 from the moment it is received (J-LIS
		 * lost.html); a held one stays held */
		if (!held) {
			r = RULES_CRL_CERTIFICATE_HOLD;
			act = RULES_HOLD;
		}
		break;
	case RULES_APP_FOUND:
		/* a hold is never released (CPS §4.9.9): the held
		 * certificates are revoked and issued anew */
		if (held) {
			r = RULES_CRL_CESSATION;
			act = RULES_REVOKE;
		}
		break;
	case RULES_APP_REISSUE:
		/* the old card is gone (lost: its keys are out of our hands)
		 * or surrendered (damaged) */
		r = card_lost ? RULES_CRL_KEY_COMPROMISE : RULES_CRL_CESSATION;
		act = RULES_REVOKE;
		break;
	case RULES_APP_RENEWAL:
		/* renewal supersedes the old certificate (宇治市) */
		if (!held) {
			r = RULES_CRL_SUPERSEDED;
			act = RULES_REVOKE;
		}
		break;
	default: break; /* new card, issue, PIN reset: nothing revoked */
	}
	if (reason != NULL)
		*reason = r;
	return act;
}

int rules_reason_role(int reason)
{
	switch (reason) {
	case RULES_CRL_CERTIFICATE_HOLD: /* 紛失届 at the counter */
	case RULES_CRL_CESSATION: /* the holder asks */ return 1;
	case RULES_CRL_UNSPECIFIED:	    /* 交付前に破棄 */
	case RULES_CRL_AFFILIATION_CHANGED: /* 記録誤り, ex officio */
	case RULES_CRL_SUPERSEDED: return 2;
	default: /* keyCompromise, cACompromise: the CA's operators */ return 3;
	}
}

bool rules_reason_for_app(rules_app app, int reason)
{
	switch (app) {
	case RULES_APP_REVOKE: return reason == RULES_CRL_CESSATION;
	case RULES_APP_LOSS: return reason == RULES_CRL_CERTIFICATE_HOLD;
	case RULES_APP_FOUND: return reason == RULES_CRL_CESSATION;
	case RULES_APP_REISSUE:
		return reason == RULES_CRL_KEY_COMPROMISE ||
		       reason == RULES_CRL_CESSATION;
	case RULES_APP_RENEWAL: return reason == RULES_CRL_SUPERSEDED;
	default: return false;
	}
}

const char *rules_reason_ja(int reason)
{
	static const char *const ja[] = {
	    "未指定", "鍵の危殆化", "認証局の危殆化", "記載事項変更",
	    "更新",   "使用停止",   "一時保留",
	};
	return reason >= 0 && reason <= 6 ? ja[reason] : NULL;
}

/* A 委任状 suffices where the agent brings nothing back to hand to the
 * holder but certificates written onto the card the holder signed the
 * 委任状 for; a card handed to an agent and a PIN reset need the holder's
 * answer by post (docs/decisions.md "Proxies"). */
bool rules_attorney_suffices(rules_app app)
{
	switch (app) {
	case RULES_APP_ISSUE:
	case RULES_APP_RENEWAL:
	case RULES_APP_REVOKE:
	case RULES_APP_LOSS:
	case RULES_APP_FOUND: return true;
	default: return false;
	}
}

int rules_proxy_papers(rules_app app, bool attorney, bool inquiry_answered,
		       jpki_err *err)
{
	if (inquiry_answered || (attorney && rules_attorney_suffices(app)))
		return 0;
	return jpki_fail(err, JPKI_ERR_STATE,
			 "a 任意代理人 needs the 照会書兼回答書 answered by "
			 "the holder (send-inquiry, then answer-inquiry on a "
			 "later day)%s",
			 rules_attorney_suffices(app) ? " or a 委任状" : "");
}
