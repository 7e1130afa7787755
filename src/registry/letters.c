/* The counter's printable letters (H3): the 照会書兼回答書 mailed to the
 * holder when a 任意代理人 applies, and the 領収書 of a completed
 * application; and the pieces the 有効期限通知書 (notice.c) shares. */
#include <stdio.h>
#include <string.h>

#include "letters_int.h"
#include "openjpki/rules.h"
#include "openjpki/util.h"

#define LETTER_MAX (1u << 20)

int letter_put(jpki_wbuf *b, const char *s)
{
	return jpki_wbuf_put(b, s, strlen(s));
}

int letter_html(jpki_wbuf *b, const char *s)
{
	int rc = 0;
	for (; *s != '\0' && rc == 0; s++) {
		switch (*s) {
		case '&': rc = letter_put(b, "&amp;"); break;
		case '<': rc = letter_put(b, "&lt;"); break;
		case '>': rc = letter_put(b, "&gt;"); break;
		case '"': rc = letter_put(b, "&quot;"); break;
		case '\'': rc = letter_put(b, "&#39;"); break;
		default: rc = jpki_wbuf_put(b, s, 1);
		}
	}
	return rc;
}

void letter_wareki(jpki_date d, char *out, size_t cap)
{
	int era = 0;
	int y = rules_era_year(d, &era);
	const char *name = rules_era_name(era);
	if (name == NULL) {
		snprintf(out, cap, "%d年%d月%d日", d.y, d.m, d.d);
		return;
	}
	char ys[16];
	if (y == 1)
		snprintf(ys, sizeof(ys), "元");
	else
		snprintf(ys, sizeof(ys), "%d", y);
	snprintf(out, cap, "%s%s年%d月%d日（%d年）", name, ys, d.m, d.d, d.y);
}

int letter_head(jpki_wbuf *b, const char *title)
{
	int rc;
	if ((rc = letter_put(b, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n"
				"<meta charset=\"utf-8\">\n<title>")) ||
	    (rc = letter_html(b, title)) ||
	    (rc = letter_put(
		 b, "</title>\n<style>\n"
		    "@page { size: A4; margin: 20mm; }\n"
		    "body { font-family: serif; font-size: 11pt; line-height: "
		    "1.6; }\n"
		    ".letter { page-break-after: always; break-after: page; }\n"
		    ".letter:last-child { page-break-after: auto; break-after: "
		    "auto; }\n"
		    ".date { text-align: right; }\n"
		    ".to { margin-bottom: 2em; font-size: 12pt; }\n"
		    "h1 { font-size: 16pt; text-align: center; }\n"
		    "h2 { font-size: 12pt; margin-top: 1.5em; }\n"
		    "table { border-collapse: collapse; margin: 1em 0; }\n"
		    "th, td { border: 1px solid #000; padding: 0.3em 0.8em; "
		    "text-align: left; }\n"
		    ".from { text-align: right; margin-top: 3em; }\n"
		    ".from p { margin: 0; }\n"
		    ".cut { border-top: 1px dashed #000; margin: 2em 0 1em; "
		    "text-align: center; font-size: 9pt; }\n"
		    ".blank { display: inline-block; min-width: 14em; "
		    "border-bottom: 1px solid #000; }\n"
		    ".amount { font-size: 16pt; }\n"
		    "@media screen { .letter { border-bottom: 1px dashed #999; "
		    "margin-bottom: 2em; } }\n"
		    "</style>\n</head>\n<body>\n")))
		return rc;
	return 0;
}

static int office_line(jpki_wbuf *b, const char *label, const char *v)
{
	int rc;
	if (v[0] == '\0')
		return 0;
	if ((rc = letter_put(b, "<p>")) || (rc = letter_put(b, label)) ||
	    (rc = letter_html(b, v)) || (rc = letter_put(b, "</p>\n")))
		return rc;
	return 0;
}

int letter_office(jpki_wbuf *b, const store_muni *m, const store_office *o)
{
	int rc;
	if ((rc = letter_put(b, "<div class=\"from\">\n<p>")) ||
	    (rc = letter_html(b, m->pref)) || (rc = letter_html(b, m->city)) ||
	    (rc = letter_put(b, "</p>\n")) ||
	    (rc = office_line(b, "", o->name)) ||
	    (rc = office_line(b, "", o->address)) ||
	    (rc = office_line(b, "電話 ", o->phone)) ||
	    (rc = office_line(b, "受付時間 ", o->hours)) ||
	    (rc = letter_put(b, "</div>\n")))
		return rc;
	return 0;
}

int letter_office_get(store *st, const char *code, store_muni *m,
		      store_office *o, jpki_err *err)
{
	int rc;
	if ((rc = store_muni_get(st, code, m, err)) != 0 ||
	    (rc = store_muni_office_get(st, code, o, err)) != 0)
		return rc;
	return 0;
}

const char *letter_kind_ja(store_app_kind k)
{
	switch (k) {
	case STORE_APP_NEW_CARD: return "マイナンバーカードの交付（新規交付）";
	case STORE_APP_ISSUE: return "電子証明書の発行";
	case STORE_APP_RENEWAL: return "電子証明書の更新";
	case STORE_APP_REISSUE: return "マイナンバーカードの再交付";
	case STORE_APP_REVOKE: return "電子証明書の失効";
	case STORE_APP_PIN_RESET: return "暗証番号の初期化・再設定";
	case STORE_APP_LOSS: return "マイナンバーカードの紛失届";
	case STORE_APP_FOUND: return "マイナンバーカードの発見届";
	}
	return "申請";
}

static int row(jpki_wbuf *b, const char *th, const char *td)
{
	int rc;
	if ((rc = letter_put(b, "<tr><th>")) || (rc = letter_put(b, th)) ||
	    (rc = letter_put(b, "</th><td>")) || (rc = letter_html(b, td)) ||
	    (rc = letter_put(b, "</td></tr>\n")))
		return rc;
	return 0;
}

static int build_fail(int w, jpki_err *err)
{
	return jpki_fail(err, w, "building the letter: %s", jpki_strerror(w));
}

/* The application, its resident and the resident's office. */
static int load(jpki_ca *ca, int64_t app_id, store_app *a, store_resident *r,
		store_muni *m, store_office *o, jpki_err *err)
{
	store *st = ca_store(ca);
	int rc;
	if ((rc = store_app_get(st, app_id, a, err)) != 0 ||
	    (rc = store_resident_get(st, a->resident_id, r, err)) != 0 ||
	    (rc = letter_office_get(st, r->muni_code, m, o, err)) != 0)
		return rc;
	return 0;
}

int registry_inquiry_letter(jpki_ca *ca, int64_t app_id, jpki_wbuf *out,
			    jpki_err *err)
{
	store_app a;
	store_resident r;
	store_muni m;
	store_office o;
	char sent[64], opened[64], id[24];
	int rc, w;
	jpki_wbuf_init(out, LETTER_MAX);
	if ((rc = load(ca, app_id, &a, &r, &m, &o, err)) != 0)
		return rc;
	if (a.state != STORE_APP_INQUIRY_SENT || a.inquiry_sent.y == 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "application %lld: the 照会書兼回答書 is "
				 "printed once the inquiry is sent (state "
				 "inquiry_sent), not in state %s",
				 (long long)app_id,
				 registry_app_state_name(a.state));
	letter_wareki(a.inquiry_sent, sent, sizeof(sent));
	letter_wareki(jpki_date_of(a.opened_at), opened, sizeof(opened));
	snprintf(id, sizeof(id), "%lld", (long long)a.id);
	const char *kind = letter_kind_ja(a.kind);
	if ((w = letter_head(out, "照会書兼回答書")) ||
	    (w = letter_put(
		 out, "<section class=\"letter\">\n<p class=\"date\">")) ||
	    (w = letter_html(out, sent)) ||
	    (w = letter_put(out, "</p>\n<p class=\"to\">")) ||
	    (w = letter_html(out, r.address)) ||
	    (w = letter_put(out, "<br>\n")) || (w = letter_html(out, r.name)) ||
	    (w = letter_put(out, " 様</p>\n<h1>照会書</h1>\n<p>")) ||
	    (w = letter_html(out, a.agent_name)) ||
	    (w = letter_put(
		 out, " 様から、あなたの代理人として次の申請がありました。"
		      "この申請があなたの意思によるものかを確認するため、"
		      "照会します（本人確認のため、この照会書はご本人の"
		      "住所あてに郵送しています）。</p>\n<table>\n")) ||
	    (w = row(out, "申請番号", id)) ||
	    (w = row(out, "申請の種類", kind)) ||
	    (w = row(out, "受付日", opened)) ||
	    (w = row(out, "代理人", a.agent_name)) ||
	    (w = letter_put(
		 out, "</table>\n<p>この申請に心当たりのない場合は、代理人"
		      "に回答書を渡さず、下記の窓口までご連絡ください。"
		      "</p>\n<p>申請に心当たりがあり、代理人に手続きを任せる"
		      "場合は、下の回答書に記入してください。代理人は、"
		      "この照会書兼回答書、代理人ご自身の本人確認書類、"
		      "あなたのマイナンバーカード（お持ちの場合）を持って"
		      "窓口にお越しください。照会書を郵送した日と同じ日には"
		      "手続きできません。</p>\n")) ||
	    (w = letter_office(out, &m, &o)) ||
	    (w = letter_put(out, "<p class=\"cut\">きりとらずにお持ちください"
				 "</p>\n<h1>回答書</h1>\n<p>")) ||
	    (w = letter_html(out, m.pref)) || (w = letter_html(out, m.city)) ||
	    (w = letter_put(out, "長 あて</p>\n<p>申請番号 ")) ||
	    (w = letter_html(out, id)) || (w = letter_put(out, "（")) ||
	    (w = letter_html(out, kind)) ||
	    (w = letter_put(out,
			    "）の申請は、私の意思によるもので、下記の者を"
			    "代理人として手続きを任せたことに相違ありません。"
			    "</p>\n<table>\n")) ||
	    (w = row(out, "代理人氏名", a.agent_name)) ||
	    (w = letter_put(out, "<tr><th>回答日</th><td>　　　　年　　月　　日"
				 "</td></tr>\n<tr><th>本人の住所</th><td>")) ||
	    (w = letter_html(out, r.address)) ||
	    (w = letter_put(out, "</td></tr>\n<tr><th>本人の氏名（自署）</th>"
				 "<td><span class=\"blank\"></span></td></tr>\n"
				 "</table>\n</section>\n</body>\n</html>\n")))
		return build_fail(w, err);
	return 0;
}

int registry_muni_office_set(jpki_ca *ca, const char *code,
			     const store_office *o, time_t now,
			     const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	char detail[64];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	snprintf(detail, sizeof(detail), "muni=%.8s office", code);
	if ((rc = store_muni_office_set(st, code, o, err)) != 0 ||
	    (rc =
		 store_audit_append(st, now, actor != NULL ? actor : "registry",
				    "muni.office", detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0) {
		store_rollback(st);
		return rc;
	}
	return 0;
}

static void yen(int v, char *out, size_t cap)
{
	if (v >= 1000)
		snprintf(out, cap, "%d,%03d円", v / 1000, v % 1000);
	else
		snprintf(out, cap, "%d円", v);
}

/* The fee lines are those of the application's plan at completion
 * (registry_app_preview, the numbers the clerk saw and collected): the
 * fee follows from the stored application (kind, certificates), so the
 * receipt printed later names the same amounts. */
int registry_receipt(jpki_ca *ca, int64_t app_id, time_t now, jpki_wbuf *out,
		     jpki_err *err)
{
	store_app a;
	store_resident r;
	store_muni m;
	store_office o;
	registry_preview pv;
	char done[64], printed[64], id[24], cert[24], card[24], total[24];
	int rc, w;
	jpki_wbuf_init(out, LETTER_MAX);
	if ((rc = load(ca, app_id, &a, &r, &m, &o, err)) != 0)
		return rc;
	if (a.state != STORE_APP_COMPLETED)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "application %lld is not completed (state "
				 "%s): a receipt is printed on completion",
				 (long long)app_id,
				 registry_app_state_name(a.state));
	if ((rc = registry_app_preview(ca, app_id, a.updated_at, &pv, err)) !=
	    0)
		return rc;
	letter_wareki(jpki_date_of(a.updated_at), done, sizeof(done));
	letter_wareki(jpki_date_of(now), printed, sizeof(printed));
	snprintf(id, sizeof(id), "%lld", (long long)a.id);
	yen(pv.fee.cert_yen, cert, sizeof(cert));
	yen(pv.fee.card_yen, card, sizeof(card));
	yen(pv.fee.cert_yen + pv.fee.card_yen, total, sizeof(total));
	if ((w = letter_head(out, "領収書")) ||
	    (w = letter_put(out,
			    "<section class=\"letter\">\n<p class=\"date\">"
			    "発行日 ")) ||
	    (w = letter_html(out, printed)) ||
	    (w = letter_put(out, "</p>\n<h1>領収書</h1>\n<p class=\"to\">")) ||
	    (w = letter_html(out, r.name)) ||
	    (w = letter_put(out, " 様</p>\n<p class=\"amount\">金額 ")) ||
	    (w = letter_html(out, total)) ||
	    (w = letter_put(out, "</p>\n<table>\n")) ||
	    (w = row(out, "申請番号", id)) ||
	    (w = row(out, "但し書き", letter_kind_ja(a.kind))) ||
	    (w = row(out, "電子証明書発行手数料", cert)) ||
	    (w = row(out, "カード再交付手数料", card)) ||
	    (w = row(out, "合計", total)) || (w = row(out, "領収日", done)) ||
	    (w = letter_put(out,
			    "</table>\n<p>上記のとおり領収しました。</p>\n")) ||
	    (w = letter_office(out, &m, &o)) ||
	    (w = letter_put(out, "</section>\n</body>\n</html>\n")))
		return build_fail(w, err);
	return 0;
}
