/* 有効期限通知書: the batch that finds certificates owed a notice
 * (rules_notice_owed: from the window's first day, 3 months before the
 * last day, through the last day, so a run missed or a certificate issued
 * inside the window is caught up), writes the letters (HTML, one page
 * each: the office's name, address, phone and hours, the letter's date in
 * 和暦, what stops working after expiry, and who must come: the holder,
 * or the 法定代理人 with a holder under 15 or an adult ward) and the mail
 * room's list (CSV), and records each notice as sent, once. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "letters_int.h"
#include "openjpki/buf.h"
#include "openjpki/util.h"
#include "reg_int.h"

#define NOTICE_MAX 100000	    /* certificates per run */
#define NOTICE_OUT_MAX (256u << 20) /* bytes per output file */

typedef struct due {
	store_cert *certs; /* no DER */
	size_t n, cap;
	jpki_date today;
	int rc;
} due;

static int pick_due(void *ctx, const store_cert *c)
{
	due *d = ctx;
	if ((c->kind != JPKI_CERT_SIGN && c->kind != JPKI_CERT_AUTH) ||
	    c->resident_id <= 0 ||
	    !rules_notice_owed(jpki_date_of(c->not_after), d->today))
		return 0;
	if (d->n == NOTICE_MAX)
		return JPKI_ERR_RANGE;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		store_cert *p = realloc(d->certs, cap * sizeof(*p));
		if (p == NULL)
			return JPKI_ERR_NOMEM;
		d->certs = p;
		d->cap = cap;
	}
	d->certs[d->n] = *c;
	d->certs[d->n++].der = NULL;
	return 0;
}

static int put(jpki_wbuf *b, const char *s)
{
	return jpki_wbuf_put(b, s, strlen(s));
}

/* HTML text and attribute escaping of every value. */
static int put_html(jpki_wbuf *b, const char *s)
{
	int rc = 0;
	for (; *s != '\0' && rc == 0; s++) {
		switch (*s) {
		case '&': rc = put(b, "&amp;"); break;
		case '<': rc = put(b, "&lt;"); break;
		case '>': rc = put(b, "&gt;"); break;
		case '"': rc = put(b, "&quot;"); break;
		case '\'': rc = put(b, "&#39;"); break;
		default: rc = jpki_wbuf_put(b, s, 1);
		}
	}
	return rc;
}

/* One CSV field (RFC 4180), always quoted; a leading = + - @ is prefixed
 * with ' so that a spreadsheet does not take it for a formula. */
static int put_csv(jpki_wbuf *b, const char *s, bool last)
{
	int rc = put(b, "\"");
	if (rc == 0 && (*s == '=' || *s == '+' || *s == '-' || *s == '@'))
		rc = put(b, "'");
	for (; *s != '\0' && rc == 0; s++)
		rc = *s == '"' ? put(b, "\"\"") : jpki_wbuf_put(b, s, 1);
	if (rc == 0)
		rc = put(b, last ? "\"\r\n" : "\",");
	return rc;
}

/* What stops working when the certificate expires. */
static const char *stops(int kind)
{
	return kind == JPKI_CERT_SIGN
		   ? "有効期限を過ぎると、e-Tax（国税の電子申告）をはじめとする"
		     "電子申請で電子署名ができなくなります。"
		   : "有効期限を過ぎると、マイナポータルへのログイン、"
		     "コンビニ交付（住民票の写しなどの取得）、e-Tax へのマイナ"
		     "ンバーカードでのログインなど、インターネットでの本人確認"
		     "ができなくなります。";
}

/* Who comes to the counter: the holder, or with a legal representative
 * (under 15: 法定代理人 with the holder; adult ward: 成年後見人).  A
 * proxy (任意代理人) paragraph for those who may use one. */
static int who_comes(jpki_wbuf *b, const store_resident *r, jpki_date today)
{
	int age = rules_age(r->birth, today);
	if (age < 15)
		return put(
		    b, "<p class=\"who\">15歳未満の方の手続きは、法定代理人"
		       "（親権者など）が行います。ご本人と法定代理人が一緒に"
		       "お越しください。法定代理人の方は、代理権を確認できる"
		       "書類（戸籍謄本など）とご自身の本人確認書類、ご本人の"
		       "マイナンバーカードをお持ちください。</p>\n");
	if (r->adult_ward)
		return put(b,
			   "<p class=\"who\">成年被後見人の方の手続きは、"
			   "成年後見人（法定代理人）が行います。成年後見人の"
			   "方は、登記事項証明書とご自身の本人確認書類、ご本人"
			   "のマイナンバーカードをお持ちください。</p>\n");
	return put(
	    b, "<p class=\"who\">マイナンバーカードをお持ちのうえ、ご本人が"
	       "お越しください。</p>\n<p>ご本人が来られない場合は、代理人"
	       "（任意代理人）が手続きできます。代理人は、照会書兼回答書"
	       "または委任状と、代理人ご自身の本人確認書類をお持ちください。"
	       "照会書兼回答書による場合は、窓口からご本人あてに照会書を"
	       "郵送し、その回答書を代理人がお持ちいただくため、即日には"
	       "手続きできません。</p>\n");
}

static int letter(jpki_wbuf *b, const store_cert *c, const store_resident *r,
		  const store_muni *m, const store_office *o, jpki_date today)
{
	char exp[64], opens[64], dated[64];
	jpki_date last = jpki_date_of(c->not_after);
	letter_wareki(last, exp, sizeof(exp));
	letter_wareki(rules_renewal_opens(last), opens, sizeof(opens));
	letter_wareki(today, dated, sizeof(dated));
	const char *kind = c->kind == JPKI_CERT_SIGN ? "署名用電子証明書"
						     : "利用者証明用電子証明書";
	int rc;
	if ((rc = put(b, "<section class=\"letter\">\n<p class=\"date\">")) ||
	    (rc = put_html(b, dated)) ||
	    (rc = put(b, "</p>\n<p class=\"to\">")) ||
	    (rc = put_html(b, r->address)) || (rc = put(b, "<br>\n")) ||
	    (rc = put_html(b, r->name)) ||
	    (rc = put(b, " 様</p>\n<h1>電子証明書の有効期限通知書</h1>\n"
			 "<p>あなたのマイナンバーカードに記録されている次の"
			 "電子証明書の有効期限が近づいています。</p>\n"
			 "<table>\n<tr><th>電子証明書</th><td>")) ||
	    (rc = put_html(b, kind)) ||
	    (rc = put(b, "</td></tr>\n<tr><th>シリアル番号</th><td>")) ||
	    (rc = put_html(b, c->serial)) ||
	    (rc = put(b, "</td></tr>\n<tr><th>有効期限</th><td>")) ||
	    (rc = put_html(b, exp)) ||
	    (rc = put(b, "</td></tr>\n</table>\n<p class=\"stops\">")) ||
	    (rc = put(b, stops(c->kind))) ||
	    (rc = put(b, "</p>\n<h2>更新の手続き</h2>\n<p>")) ||
	    (rc = put_html(b, opens)) ||
	    (rc =
		 put(b, "から、お住まいの市区町村の窓口で更新できます（有効期限"
			"が過ぎた後も更新できます）。更新すると現在の電子証明書"
			"は失効します。手数料は無料です。</p>\n")) ||
	    (rc = who_comes(b, r, today)) || (rc = letter_office(b, m, o)) ||
	    (rc = put(b, "</section>\n")))
		return rc;
	return 0;
}

static int csv_row(jpki_wbuf *b, const char *batch, const store_cert *c,
		   const store_resident *r, const store_muni *m)
{
	char rid[24], exp[11], opens[11], city[136];
	jpki_date last = jpki_date_of(c->not_after);
	snprintf(rid, sizeof(rid), "%lld", (long long)r->id);
	jpki_date_format(last, exp);
	jpki_date_format(rules_renewal_opens(last), opens);
	snprintf(city, sizeof(city), "%s%s", m->pref, m->city);
	int rc;
	if ((rc = put_csv(b, batch, false)) ||
	    (rc = put_csv(b, c->serial, false)) ||
	    (rc = put_csv(b, jpki_cert_kind_name((jpki_cert_kind)c->kind),
			  false)) ||
	    (rc = put_csv(b, rid, false)) ||
	    (rc = put_csv(b, r->name, false)) ||
	    (rc = put_csv(b, r->address, false)) ||
	    (rc = put_csv(b, city, false)) || (rc = put_csv(b, exp, false)) ||
	    (rc = put_csv(b, opens, true)))
		return rc;
	return 0;
}

static int write_out(const char *dir, const char *name, const jpki_wbuf *b,
		     jpki_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return jpki_fail(err, JPKI_ERR_RANGE, "output path too long");
	return jpki_file_write_atomic(path, b->len ? (const void *)b->p : "",
				      b->len, 0640, err);
}

static int build_fail(int w, jpki_err *err)
{
	return jpki_fail(err, w,
			 "building the notice files: %s (at most %u "
			 "bytes each)",
			 jpki_strerror(w), NOTICE_OUT_MAX);
}

int registry_notices_run(jpki_ca *ca, const char *out_dir, time_t now,
			 const char *actor, registry_notice_summary *out,
			 jpki_err *err)
{
	store *st = ca_store(ca);
	registry_notice_summary sum;
	jpki_wbuf html, csv;
	due d;
	char detail[128];
	bool began = false;
	int rc, w;
	memset(&sum, 0, sizeof(sum));
	memset(&d, 0, sizeof(d));
	jpki_wbuf_init(&html, NOTICE_OUT_MAX);
	jpki_wbuf_init(&csv, NOTICE_OUT_MAX);
	d.today = jpki_date_of(now);
	jpki_time_format(now, sum.batch);
	if (out_dir == NULL || out_dir[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL, "no output directory");
	if ((rc = jpki_mkdirs(out_dir, 0750, err)) != 0 ||
	    (rc = store_begin(st, err)) != 0)
		goto out;
	began = true;
	/* owed: today lies in [expiry - 3 months, expiry]; a wider range is
	 * read (month ends do not invert) and rules_notice_owed decides */
	rc = store_cert_expiring(st, d.today, jpki_date_add_months(d.today, 4),
				 pick_due, &d, err);
	if (rc == JPKI_ERR_RANGE || rc == JPKI_ERR_NOMEM)
		rc = jpki_fail(err, rc, "collecting due notices: %s",
			       rc == JPKI_ERR_RANGE ? "too many at once"
						    : "out of memory");
	if (rc != 0)
		goto out;
	if ((w = letter_head(&html, "電子証明書の有効期限通知書")) != 0 ||
	    (w = put(&csv, "\"batch\",\"cert_serial\",\"kind\",\"resident_id\","
			   "\"name\",\"address\",\"municipality\",\"expiry\","
			   "\"renewal_opens\"\r\n")) != 0) {
		rc = build_fail(w, err);
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		const store_cert *c = &d.certs[i];
		store_notice n;
		store_resident r;
		store_muni m;
		store_office o;
		jpki_err probe = {0, ""};
		int g = store_notice_get(st, c->serial, &n, &probe);
		if (g == 0) {
			sum.already_sent++;
			continue;
		}
		if (g != JPKI_ERR_NOT_FOUND) {
			rc = g;
			if (err != NULL)
				*err = probe;
			goto out;
		}
		if ((rc = store_resident_get(st, c->resident_id, &r, err)) != 0)
			goto out;
		if (r.status != STORE_RESIDENT_LIVING)
			continue;
		/* the resident's office: where the holder renews */
		if ((rc = letter_office_get(st, r.muni_code, &m, &o, err)) != 0)
			goto out;
		memset(&n, 0, sizeof(n));
		memcpy(n.cert_serial, c->serial, sizeof(n.cert_serial));
		n.resident_id = r.id;
		n.expiry = jpki_date_of(c->not_after);
		memcpy(n.batch, sum.batch, sizeof(n.batch)); /* both 32 */
		n.sent_at = now;
		if ((rc = store_notice_add(st, &n, err)) != 0)
			goto out;
		if ((w = letter(&html, c, &r, &m, &o, d.today)) != 0 ||
		    (w = csv_row(&csv, sum.batch, c, &r, &m)) != 0) {
			rc = build_fail(w, err);
			goto out;
		}
		sum.sent++;
	}
	if ((w = put(&html, "</body>\n</html>\n")) != 0) {
		rc = build_fail(w, err);
		goto out;
	}
	snprintf(detail, sizeof(detail), "batch=%s sent=%d already_sent=%d",
		 sum.batch, sum.sent, sum.already_sent);
	/* the letters exist before the notices count as sent */
	if ((rc = write_out(out_dir, "letters.html", &html, err)) != 0 ||
	    (rc = write_out(out_dir, "mailroom.csv", &csv, err)) != 0 ||
	    (rc = store_audit_append(st, now, REG_ACTOR(actor), "notice.run",
				     detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
	if (out != NULL)
		*out = sum;
out:
	if (rc != 0 && began)
		store_rollback(st);
	free(d.certs);
	jpki_wbuf_free(&html);
	jpki_wbuf_free(&csv);
	return rc;
}
