/* /api/v1/cards/virtual: issuance onto a new virtual My Number Card and
 * renewal of one, for counters without a card writer.  The card lives in
 * this process only while it is personalised (terminal.h over
 * card_transmit); its image -- private keys included -- then waits for
 * one download by the same session, at most SRV_DL_TTL seconds, and is
 * zeroed when taken or expired.  The service keeps no key. */
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "server_int.h"

#define PIN_FIELD_MAX 16

static const char *const kind_name[3] = {NULL, "sign", "auth"};

/* ---- the download table ---- */

static void dl_drop(srv_download *d)
{
	jpki_free_secret(d->img, d->len);
	memset(d, 0, sizeof(*d));
}

void srv_downloads_sweep(server *s, time_t now)
{
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++)
		if (s->dl[i].img != NULL && s->dl[i].expires <= now)
			dl_drop(&s->dl[i]);
	pthread_mutex_unlock(&s->dl_mu);
}

void srv_downloads_free(server *s)
{
	for (size_t i = 0; i < SRV_DL_MAX; i++)
		dl_drop(&s->dl[i]);
}

/* Hand the image to the table (*img taken on success). */
static int dl_put(server *s, const char *serial, const uint8_t *sid,
		  uint8_t **img, size_t len, time_t now)
{
	srv_download *slot = NULL;
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++) {
		srv_download *d = &s->dl[i];
		if (d->img != NULL &&
		    (d->expires <= now || strcmp(d->serial, serial) == 0))
			dl_drop(d);
		if (d->img == NULL && slot == NULL)
			slot = d;
	}
	if (slot != NULL) {
		jpki_strlcpy(slot->serial, serial, sizeof(slot->serial));
		memcpy(slot->sid, sid, SRV_SID_LEN);
		slot->img = *img;
		*img = NULL; /* transferred */
		slot->len = len;
		slot->expires = now + SRV_DL_TTL;
	}
	pthread_mutex_unlock(&s->dl_mu);
	return slot != NULL ? 0 : JPKI_ERR_RANGE;
}

typedef struct dl_body {
	uint8_t *img;
	size_t len;
} dl_body;

static ssize_t dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	dl_body *b = cls;
	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
	memcpy(buf, b->img + pos, n);
	return (ssize_t)n;
}

static void dl_free(void *cls)
{
	dl_body *b = cls;
	jpki_free_secret(b->img, b->len);
	free(b);
}

void srv_download_take(srv_req *r)
{
	server *s = r->s;
	time_t now = srv_time(s);
	dl_body *b = calloc(1, sizeof(*b));
	char cd[96];
	if (b == NULL) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		return;
	}
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++) {
		srv_download *d = &s->dl[i];
		if (d->img == NULL || strcmp(d->serial, r->arg) != 0)
			continue;
		if (d->expires <= now) {
			dl_drop(d);
			break;
		}
		if (CRYPTO_memcmp(d->sid, r->sid, SRV_SID_LEN) != 0)
			break;
		b->img = d->img;
		b->len = d->len;
		memset(d, 0, sizeof(*d)); /* taken: downloadable once */
		break;
	}
	pthread_mutex_unlock(&s->dl_mu);
	if (b->img == NULL) {
		free(b);
		srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				"no card image waiting for this session: it "
				"is downloadable once, within %d seconds",
				SRV_DL_TTL);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    b->len, 64 * 1024, dl_read, b, dl_free);
	if (resp == NULL) {
		dl_free(b);
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		return;
	}
	/* the serial is the card's (printable ASCII); keep the file name
	 * to a safe alphabet all the same */
	char name[JPKI_CARD_SERIAL_LEN + 1];
	size_t n = 0;
	for (const char *p = r->arg; *p && n < JPKI_CARD_SERIAL_LEN; p++)
		name[n++] = (*p >= '0' && *p <= '9') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= 'a' && *p <= 'z') || *p == '-'
				? *p
				: '_';
	name[n] = '\0';
	snprintf(cd, sizeof(cd), "attachment; filename=\"card-%s.img\"", name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", cd);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = MHD_HTTP_OK;
}

int srv_download_put(server *s, const char *serial, const uint8_t *sid,
		     uint8_t **img, size_t len, time_t now)
{
	return dl_put(s, serial, sid, img, len, now);
}

/* ---- issuance and renewal ---- */

static const srv_jfield issue_f[] = {
    {"resident", JT_INT, true, 0},
    {"auth_pin", JT_STRING, true, PIN_FIELD_MAX},
    {"sign_pin", JT_STRING, false, PIN_FIELD_MAX},
    {"cardinfo_pin", JT_STRING, false, PIN_FIELD_MAX},
    {"no_sign", JT_BOOL, false, 0},
};

static const srv_jfield renew_f[] = {
    {"image", JT_STRING, true, (SRV_DL_IMAGE_MAX + 2) / 3 * 4},
    {"auth_pin", JT_STRING, true, PIN_FIELD_MAX},
    {"sign_pin", JT_STRING, false, PIN_FIELD_MAX},
    {"cardinfo_pin", JT_STRING, false, PIN_FIELD_MAX},
    {"no_sign", JT_BOOL, false, 0},
};

/* Scrub the PINs out of the parsed body before it is freed. */
static void body_free(json_t *b)
{
	static const char *const pins[] = {"auth_pin", "sign_pin",
					   "cardinfo_pin"};
	for (size_t i = 0; b != NULL && i < 3; i++) {
		json_t *v = json_object_get(b, pins[i]);
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v),
					json_string_length(v));
	}
	json_decref(b);
}

static json_t *cert_json(jpki_ca *ca, const terminal_perso_out *po, int k)
{
	store_cert c;
	char nb[21], na[21], d[11];
	memset(&c, 0, sizeof(c));
	if (po->cert[k] == NULL)
		return json_null();
	json_t *o = json_pack("{s:s,s:b}", "serial", po->cert_serial[k],
			      "reused", po->reused[k]);
	if (o != NULL &&
	    store_cert_get(ca_store(ca), po->cert_serial[k], &c, NULL) == 0) {
		jpki_time_format(c.not_before, nb);
		jpki_time_format(c.not_after, na);
		jpki_date_format(jpki_date_of(c.not_after), d);
		json_object_set_new(o, "not_before", json_string(nb));
		json_object_set_new(o, "not_after", json_string(na));
		json_object_set_new(o, "last_day", json_string(d));
		json_object_set_new(o, "subject", json_string(c.subject));
		store_cert_clear(&c);
	}
	return o;
}

/* Certificates a failed personalisation issued are of no use: the card
 * that holds their keys is gone (交付前に破棄). */
static void revoke_unused(srv_worker *w, srv_req *r,
			  const terminal_perso_out *po)
{
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		jpki_err e = {0};
		if (po->cert[k] == NULL || po->reused[k] ||
		    po->cert_serial[k][0] == '\0')
			continue;
		if (ca_revoke(w->ca, po->cert_serial[k],
			      JPKI_REASON_UNSPECIFIED, srv_time(w->s), r->actor,
			      &e) == 0)
			srv_publish_revoked(w, po->cert_serial[k]);
	}
}

/* Personalise `card` (issuance or renewal) and answer: the certificates,
 * the fee and the one-time download of the new image. */
static void personalise_and_reply(srv_worker *w, srv_req *r, jpki_card *card,
				  json_t *b, bool renew)
{
	server *s = w->s;
	terminal_perso_out po;
	jpki_err err = {0};
	uint8_t *img = NULL;
	size_t img_len = 0;
	char url[128];
	time_t now = srv_time(s);
	jpki_link link = {card_transmit, card};
	json_t *o = NULL;
	terminal_perso_req req = {
	    .resident_id = renew ? 0
				 : json_integer_value(
				       json_object_get(b, "resident")),
	    .auth_pin = srv_jstr(b, "auth_pin"),
	    .sign_pin = srv_jstr(b, "sign_pin"),
	    .cardinfo_pin = srv_jstr(b, "cardinfo_pin"),
	    .no_sign = json_is_true(json_object_get(b, "no_sign")),
	    .renew = renew,
	    .actor = r->actor,
	    .now = now,
	};
	memset(&po, 0, sizeof(po));
	if (!renew && req.resident_id <= 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"resident: a positive id");
		goto out;
	}
	card_power(card, JPKI_CARD_POWER_ON);
	int rc = terminal_personalize(w->ca, &link, &req, &po, &err);
	if (rc == 0)
		rc = card_image(card, &img, &img_len, &err);
	if (rc != 0) {
		revoke_unused(w, r, &po);
		if (po.sign_pin_needed)
			srv_reply_error(r, MHD_HTTP_BAD_REQUEST,
					"sign_pin_required",
					"the resident may hold a signature "
					"certificate: give sign_pin, or "
					"no_sign if the citizen does not "
					"want one");
		else
			srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (dl_put(s, po.serial, r->sid, &img, img_len, now) != 0) {
		revoke_unused(w, r, &po);
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many card images wait for their download; "
				"the certificates were revoked, try again "
				"shortly");
		goto out;
	}
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
		if (po.cert[k] != NULL && !po.reused[k])
			srv_publish_issued(s, po.cert_serial[k], k);
	json_t *sup = json_array();
	for (int i = 0; i < 2; i++)
		if (po.superseded[i][0] != '\0') {
			srv_publish_revoked(w, po.superseded[i]);
			json_array_append_new(sup, json_string(po.superseded[i]));
		}
	srv_count_add(s, renew ? CNT_RENEWED : CNT_ISSUED,
		      (po.cert[JPKI_CERT_SIGN] != NULL) +
			  (po.cert[JPKI_CERT_AUTH] != NULL));
	jpki_fee f = rules_fee(renew ? JPKI_FEE_RENEWAL : JPKI_FEE_ISSUE);
	snprintf(url, sizeof(url), "/api/v1/cards/virtual/%s/image",
		 po.serial);
	o = json_pack("{s:s,s:I,s:b,s:{s:o,s:o},s:o,s:{s:i,s:i,s:i},"
		      "s:{s:s,s:i,s:I}}",
		      "serial", po.serial, "resident",
		      (json_int_t)po.resident_id, "renewal", renew,
		      "certificates", kind_name[JPKI_CERT_SIGN],
		      cert_json(w->ca, &po, JPKI_CERT_SIGN),
		      kind_name[JPKI_CERT_AUTH],
		      cert_json(w->ca, &po, JPKI_CERT_AUTH), "superseded", sup,
		      "fee", "cert_yen", f.cert_yen, "card_yen", f.card_yen,
		      "total_yen", f.cert_yen + f.card_yen, "download", "url",
		      url, "expires_in", SRV_DL_TTL, "size",
		      (json_int_t)img_len);
	if (o != NULL && po.no_sign_why != NULL)
		json_object_set_new(o, "no_sign_reason",
				    json_string(po.no_sign_why));
	srv_reply_json(r, renew ? MHD_HTTP_OK : MHD_HTTP_CREATED, o);
out:
	jpki_free_secret(img, img_len);
	terminal_perso_out_clear(&po);
}

void api_vcard_issue(srv_worker *w, srv_req *r)
{
	jpki_card_params params;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	jpki_card *card = NULL;
	jpki_err err = {0};
	int rc;
	json_t *b = srv_json_body(r, issue_f, sizeof(issue_f) / sizeof(*issue_f));
	if (b == NULL)
		return;
	memset(&params, 0, sizeof(params));
	params.made = srv_time(w->s);
	/* the counter keeps the terminal key, as `jpki card create` does:
	 * recorded before the card is personalised */
	if ((rc = card_create(&params, &card, tkey, &err)) != 0 ||
	    (rc = terminal_tkey_record(w->ca, card_serial(card), tkey,
				       params.made, r->actor, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	personalise_and_reply(w, r, card, b, false);
out:
	OPENSSL_cleanse(r->body.p, r->body.len);
	OPENSSL_cleanse(tkey, sizeof(tkey));
	card_free(card);
	body_free(b);
}

void api_vcard_renew(srv_worker *w, srv_req *r)
{
	uint8_t *img = NULL;
	size_t len = 0;
	jpki_card *card = NULL;
	jpki_err err = {0};
	int rc;
	json_t *b = srv_json_body(r, renew_f, sizeof(renew_f) / sizeof(*renew_f));
	if (b == NULL)
		return;
	const char *b64 = srv_jstr(b, "image");
	if ((img = malloc(SRV_DL_IMAGE_MAX)) == NULL) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		goto out;
	}
	if (srv_b64_decode(b64, strlen(b64), img, SRV_DL_IMAGE_MAX, &len) !=
	    0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"image: base64 of a card image of at most %d "
				"bytes",
				SRV_DL_IMAGE_MAX);
		goto out;
	}
	if ((rc = card_load_mem(img, len, &card, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	personalise_and_reply(w, r, card, b, true);
out:
	OPENSSL_cleanse(r->body.p, r->body.len);
	/* the uploaded image holds the card's keys too */
	if (img != NULL)
		OPENSSL_cleanse(img, SRV_DL_IMAGE_MAX);
	free(img);
	OPENSSL_cleanse((char *)b64, strlen(b64));
	card_free(card);
	body_free(b);
}

/* ---- preview: what issuance or renewal onto a virtual card would do ---- */

static json_t *validity_json(const jpki_validity *v)
{
	static const char *const caps[] = {"birthday", "card", "auth"};
	char d[11];
	jpki_date_format(v->last_day, d);
	return json_pack("{s:s,s:i,s:s}", "last_day", d, "birthday_n",
			 v->birthday_n, "capped_by",
			 caps[(unsigned)v->capped_by % 3]);
}

static json_t *refusal_json(int rc, const jpki_err *err)
{
	return json_pack("{s:b,s:{s:s,s:s}}", "eligible", 0, "refusal", "code",
			 jpki_strerror(rc), "message", jpki_err_msg(err, rc));
}

/* A new card: the law's answer from the resident record alone (the card
 * does not exist yet; it would be issued today). */
static json_t *preview_new(srv_worker *w, int64_t rid, bool no_sign,
			   int *rc_out, jpki_err *err)
{
	store_resident res;
	jpki_validity v[3];
	jpki_date today = jpki_date_of(srv_time(w->s));
	int rc = store_resident_get(ca_store(w->ca), rid, &res, err);
	if (rc == 0 && res.status != STORE_RESIDENT_LIVING)
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "resident %lld has been removed from the "
			       "register (住民票消除)",
			       (long long)rid);
	if ((*rc_out = rc) != 0)
		return NULL;
	jpki_person p = {res.birth, res.adult_ward};
	jpki_validity_in in = {.birth = res.birth,
			       .issued = today,
			       .card_expiry = rules_card_expiry(res.birth, today)};
	json_t *o = json_object();
	char ce[11];
	jpki_date_format(in.card_expiry, ce);
	json_object_set_new(o, "card_expiry", json_string(ce));
	bool ok = true;
	for (int k = JPKI_CERT_AUTH; k >= JPKI_CERT_SIGN; k--) {
		jpki_err e = {0};
		if (k == JPKI_CERT_SIGN && no_sign) {
			json_object_set_new(o, "sign",
					    json_pack("{s:b,s:b}", "eligible", 0,
						      "declined", 1));
			continue;
		}
		int r = rules_eligible((jpki_cert_kind)k, &p, today, &e);
		if (r == 0)
			r = rules_cert_validity((jpki_cert_kind)k, &in, &v[k],
						&e);
		if (r != 0) {
			json_object_set_new(o, kind_name[k], refusal_json(r, &e));
			ok = ok && k == JPKI_CERT_SIGN; /* a child: auth only */
			continue;
		}
		if (k == JPKI_CERT_AUTH) {
			in.has_auth_expiry = true;
			in.auth_expiry = v[k].last_day;
		}
		json_object_set_new(o, kind_name[k],
				    json_pack("{s:b,s:o}", "eligible", 1,
					      "validity",
					      validity_json(&v[k])));
	}
	json_object_set_new(o, "resident", json_integer((json_int_t)rid));
	json_object_set_new(o, "ok", json_boolean(ok));
	return o;
}

/* Renewal of an uploaded card: ca_issue_preview with renewal = true. */
static json_t *preview_renew(srv_worker *w, const char *b64, bool no_sign,
			     int *rc_out, jpki_err *err)
{
	uint8_t *img = malloc(SRV_DL_IMAGE_MAX);
	size_t len = 0;
	jpki_card *card = NULL;
	store_card sc;
	json_t *o = NULL;
	int rc;
	if (img == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (srv_b64_decode(b64, strlen(b64), img, SRV_DL_IMAGE_MAX, &len) !=
	    0) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "image: base64 of a card image");
		goto out;
	}
	if ((rc = card_load_mem(img, len, &card, err)) != 0 ||
	    (rc = store_card_get(ca_store(w->ca), card_serial(card), &sc,
				 err)) != 0)
		goto out;
	ca_issue_req req = {.resident_id = sc.resident_id,
			    .card_serial = sc.serial,
			    .renewal = true,
			    .now = srv_time(w->s)};
	o = json_pack("{s:s,s:I}", "serial", sc.serial, "resident",
		      (json_int_t)sc.resident_id);
	bool ok = true;
	for (int k = JPKI_CERT_AUTH; k >= JPKI_CERT_SIGN; k--) {
		ca_issued res;
		jpki_err e = {0};
		if (k == JPKI_CERT_SIGN && no_sign)
			continue;
		ca_issue_req one = req;
		one.sign_pub = k == JPKI_CERT_SIGN ? w->s->preview_key : NULL;
		one.auth_pub = k == JPKI_CERT_AUTH ? w->s->preview_key : NULL;
		memset(&res, 0, sizeof(res));
		int r = ca_issue_preview(w->ca, &one, &res, &e);
		json_object_set_new(
		    o, kind_name[k],
		    r == 0 ? json_pack("{s:b,s:o}", "eligible", 1, "validity",
				       validity_json(k == JPKI_CERT_SIGN
							 ? &res.sign_validity
							 : &res.auth_validity))
			   : refusal_json(r, &e));
		ok = ok && (r == 0 || (k == JPKI_CERT_SIGN &&
				       r == JPKI_ERR_INELIGIBLE));
	}
	json_object_set_new(o, "ok", json_boolean(ok));
out:
	*rc_out = rc;
	if (img != NULL)
		OPENSSL_cleanse(img, SRV_DL_IMAGE_MAX);
	free(img);
	card_free(card);
	return o;
}

void api_vcard_preview(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"resident", JT_INT, false, 0},
	    {"image", JT_STRING, false, (SRV_DL_IMAGE_MAX + 2) / 3 * 4},
	    {"no_sign", JT_BOOL, false, 0},
	};
	jpki_err err = {0};
	int rc = 0;
	json_t *o = NULL;
	json_t *b = srv_json_body(r, f, sizeof(f) / sizeof(*f));
	if (b == NULL)
		return;
	bool no_sign = json_is_true(json_object_get(b, "no_sign"));
	const char *img = srv_jstr(b, "image");
	json_int_t rid = json_integer_value(json_object_get(b, "resident"));
	if ((img == NULL) == (rid <= 0)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"give resident (a new card) or image (a "
				"renewal)");
		goto out;
	}
	o = img != NULL ? preview_renew(w, img, no_sign, &rc, &err)
			: preview_new(w, rid, no_sign, &rc, &err);
	if (rc != 0) {
		json_decref(o);
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	jpki_fee fee = rules_fee(img != NULL ? JPKI_FEE_RENEWAL : JPKI_FEE_ISSUE);
	json_object_set_new(o, "renewal", json_boolean(img != NULL));
	json_object_set_new(o, "fee",
			    json_pack("{s:i,s:i,s:i}", "cert_yen", fee.cert_yen,
				      "card_yen", fee.card_yen, "total_yen",
				      fee.cert_yen + fee.card_yen));
	srv_reply_json(r, MHD_HTTP_OK, o);
out:
	if (img != NULL)
		OPENSSL_cleanse((char *)img, strlen(img));
	OPENSSL_cleanse(r->body.p, r->body.len);
	json_decref(b);
}
