/* /api/v1/issue: issuance with proof of possession, grouped into
 * ca_issue_batch calls (group commit); /api/v1/issue/preview: what the law
 * would allow, without keys or signatures.
 *
 * Proof of possession (docs/design.md): the terminal asks for a challenge
 * (POST /api/v1/issue/challenge, single use, bound to the session, five
 * minutes), then each key signs, with RSASSA-PKCS1-v1_5 and SHA-256 (what
 * the card's `80 2A 00 80` computes over a DigestInfo), the UTF-8 text
 *
 *   openjpki-pop-v1\n
 *   challenge=<challenge, as sent>\n
 *   kind=<sign|auth>\n
 *   resident=<resident id>\n
 *   card=<card serial>\n
 *   spki-sha256=<upper-case hex SHA-256 of the SubjectPublicKeyInfo DER>\n
 *
 * which binds the key to this request, this resident and this card, and
 * the freshness to the challenge. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

#define SPKI_MAX SRV_SPKI_MAX
#define POP_MAX 1024

static const srv_jfield key_f[] = {{"spki", JT_STRING, false, 4096},
				   {"pop", JT_STRING, false, 2048}};

static const srv_jfield issue_f[] = {
    {"resident", JT_INT, true, 0},   {"card", JT_STRING, true, 39},
    {"renewal", JT_BOOL, false, 0},  {"reissue", JT_BOOL, false, 0},
    {"window", JT_STRING, false, 9}, {"challenge", JT_STRING, false, 64},
    {"sign", JT_OBJECT, false, 0},   {"auth", JT_OBJECT, false, 0},
};
#define ISSUE_NF (sizeof(issue_f) / sizeof(issue_f[0]))

/* One parsed issuance request. */
typedef struct item {
	srv_req *r;
	json_t *body;
	bool ok;
	bool want[3];
	EVP_PKEY *pub[3];
	ca_issue_req req;
	char card[40];
	char window[10];
} item;

static void item_free(item *it)
{
	for (int k = 0; k < 3; k++)
		EVP_PKEY_free(it->pub[k]);
	json_decref(it->body);
}

int srv_spki_decode(const char *b64, EVP_PKEY **out, uint8_t *der,
		    size_t *der_len, jpki_err *err)
{
	size_t n = 0;
	if (srv_b64_decode(b64, strlen(b64), der, SPKI_MAX, &n) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "spki: base64 of a DER SubjectPublicKeyInfo");
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)n);
	if (k == NULL || p != der + n) {
		EVP_PKEY_free(k);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "spki: not one DER SubjectPublicKeyInfo");
	}
	*out = k;
	*der_len = n;
	return 0;
}

int srv_pop_verify(const char *challenge, const char *kname,
		   int64_t resident_id, const char *card, EVP_PKEY *key,
		   const uint8_t *spki, size_t spki_len, const char *pop,
		   jpki_err *err)
{
	uint8_t md[SHA256_DIGEST_LENGTH], sig[POP_MAX];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], msg[512];
	size_t sl = 0;
	EVP_MD_CTX *ctx = NULL;
	int rc = 0;
	SHA256(spki, spki_len, md);
	jpki_hex(md, sizeof(md), hex);
	int n = snprintf(msg, sizeof(msg),
			 "openjpki-pop-v1\nchallenge=%s\nkind=%s\n"
			 "resident=%lld\ncard=%s\nspki-sha256=%s\n",
			 challenge, kname, (long long)resident_id, card, hex);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return jpki_fail(err, JPKI_ERR_RANGE, "request too long");
	if (pop == NULL ||
	    srv_b64_decode(pop, strlen(pop), sig, sizeof(sig), &sl) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "%s.pop: base64 of a signature over the "
				 "openjpki-pop-v1 text is required",
				 kname);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(ctx, sig, sl, (const uint8_t *)msg, (size_t)n) !=
		1)
		rc = jpki_fail(err, JPKI_ERR_AUTH,
			       "%s.pop: the proof of possession does not "
			       "verify with this key",
			       kname);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static int verify_pop(const item *it, const char *kname, EVP_PKEY *key,
		      const uint8_t *spki, size_t spki_len, const char *pop,
		      jpki_err *err)
{
	return srv_pop_verify(srv_jstr(it->body, "challenge"), kname,
			      it->req.resident_id, it->card, key, spki,
			      spki_len, pop, err);
}

/* Parse and check one request; keys and PoP are required unless
 * preview.  Answers the request itself on failure. */
static bool parse_item(server *s, srv_req *r, item *it, bool preview)
{
	static const char *const kn[3] = {NULL, "sign", "auth"};
	char msg[256];
	jpki_err err = {0};
	memset(it, 0, sizeof(*it));
	it->r = r;
	if ((it->body = srv_json_body(r, issue_f, ISSUE_NF)) == NULL)
		return false;
	json_t *b = it->body;
	it->req.resident_id =
	    json_integer_value(json_object_get(b, "resident"));
	if (jpki_strlcpy(it->card, srv_jstr(b, "card"), sizeof(it->card)) !=
	    0) {
		srv_reply_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
				"card", "longer than a card serial");
		return false;
	}
	it->req.card_serial = it->card;
	it->req.renewal = json_is_true(json_object_get(b, "renewal"));
	if (srv_jstr(b, "window") != NULL) {
		/* a longer one must not pass cut to 9 */
		if (jpki_strlcpy(it->window, srv_jstr(b, "window"),
				 sizeof(it->window)) != 0 ||
		    strlen(it->window) != 9) {
			srv_reply_error(
			    r, MHD_HTTP_BAD_REQUEST, "bad_request",
			    "window: 9 characters (受付窓口識別記号)");
			return false;
		}
		it->req.window_id = it->window;
	}
	if (!preview && srv_jstr(b, "challenge") == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"challenge is required (POST "
				"/api/v1/issue/challenge)");
		return false;
	}
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		json_t *ko = json_object_get(b, kn[k]);
		uint8_t der[SPKI_MAX];
		size_t der_len = 0;
		if (ko == NULL)
			continue;
		if (srv_json_check(ko, kn[k], key_f, 2, msg, sizeof(msg)) !=
		    0) {
			srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
					"%s", msg);
			return false;
		}
		it->want[k] = true;
		const char *spki = srv_jstr(ko, "spki");
		if (spki == NULL && !preview) {
			srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
					"%s.spki is required", kn[k]);
			return false;
		}
		if (spki != NULL && srv_spki_decode(spki, &it->pub[k], der,
						    &der_len, &err) != 0) {
			srv_reply_rc(r, JPKI_ERR_INVAL, &err);
			return false;
		}
		if (!preview && verify_pop(it, kn[k], it->pub[k], der, der_len,
					   srv_jstr(ko, "pop"), &err) != 0) {
			srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_pop",
					"%s", err.msg);
			return false;
		}
		if (it->pub[k] == NULL) {
			/* preview without a key: eligibility and validity
			 * do not depend on it */
			if (!EVP_PKEY_up_ref(s->preview_key)) {
				srv_reply_error(r, 500, "internal", "key");
				return false;
			}
			it->pub[k] = s->preview_key;
		}
	}
	if (!it->want[JPKI_CERT_SIGN] && !it->want[JPKI_CERT_AUTH]) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"ask for sign and/or auth");
		return false;
	}
	it->req.sign_pub = it->pub[JPKI_CERT_SIGN];
	it->req.auth_pub = it->pub[JPKI_CERT_AUTH];
	return true;
}

static json_t *validity_json(const jpki_validity *v)
{
	static const char *const caps[] = {"birthday", "card", "auth"};
	char d[11];
	jpki_date_format(v->last_day, d);
	return json_pack("{s:s,s:i,s:s}", "last_day", d, "birthday_n",
			 v->birthday_n, "capped_by",
			 caps[(unsigned)v->capped_by % 3]);
}

static json_t *fee_json(json_t *b)
{
	jpki_fee_event ev =
	    json_is_true(json_object_get(b, "reissue")) ? JPKI_FEE_CARD_REISSUE
	    : json_is_true(json_object_get(b, "renewal")) ? JPKI_FEE_RENEWAL
							  : JPKI_FEE_ISSUE;
	jpki_fee f = rules_fee(ev);
	return json_pack("{s:i,s:i,s:i}", "cert_yen", f.cert_yen, "card_yen",
			 f.card_yen, "total_yen", f.cert_yen + f.card_yen);
}

void api_issue_preview(srv_worker *w, srv_req *r)
{
	static const char *const kn[3] = {NULL, "sign", "auth"};
	item it;
	ca_issued res;
	jpki_err err = {0};
	bool all = true;
	if (!parse_item(w->s, r, &it, true)) {
		item_free(&it);
		return;
	}
	it.req.now = srv_time(w->s);
	json_t *o = json_object();
	/* each kind alone, so that a refusal names the certificate */
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if (!it.want[k])
			continue;
		ca_issue_req one = it.req;
		one.sign_pub = k == JPKI_CERT_SIGN ? it.pub[k] : NULL;
		one.auth_pub = k == JPKI_CERT_AUTH ? it.pub[k] : NULL;
		jpki_err_clear(&err);
		int rc = ca_issue_preview(w->ca, &one, &res, &err);
		json_t *ko = json_pack("{s:b}", "eligible", rc == 0);
		if (rc == 0)
			json_object_set_new(
			    ko, "validity",
			    validity_json(k == JPKI_CERT_SIGN
					      ? &res.sign_validity
					      : &res.auth_validity));
		else
			json_object_set_new(
			    ko, "refusal",
			    json_pack("{s:s,s:s}", "code", jpki_strerror(rc),
				      "message", jpki_err_msg(&err, rc)));
		all = all && rc == 0;
		json_object_set_new(o, kn[k], ko);
	}
	/* both together: the new auth certificate caps the sign one */
	if (all && it.want[JPKI_CERT_SIGN] && it.want[JPKI_CERT_AUTH] &&
	    ca_issue_preview(w->ca, &it.req, &res, &err) == 0)
		json_object_set_new(json_object_get(o, "sign"), "validity",
				    validity_json(&res.sign_validity));
	json_object_set_new(o, "ok", json_boolean(all));
	json_object_set_new(o, "fee", fee_json(it.body));
	srv_reply_json(r, MHD_HTTP_OK, o);
	item_free(&it);
}

json_t *srv_issued_json(const uint8_t *der, size_t der_len, const char *serial,
			const jpki_validity *v)
{
	json_t *o = json_pack("{s:s,s:o}", "serial", serial, "validity",
			      validity_json(v));
	if (o != NULL)
		json_object_set_new(o, "pem", srv_cert_pem(der, der_len));
	return o;
}

static void reply_issued(item *it, const ca_issued *out)
{
	json_t *o =
	    json_pack("{s:I,s:s}", "resident", (json_int_t)it->req.resident_id,
		      "card", it->card);
	if (out->sign_der != NULL)
		json_object_set_new(
		    o, "sign",
		    srv_issued_json(out->sign_der, out->sign_der_len,
				    out->sign_serial, &out->sign_validity));
	if (out->auth_der != NULL)
		json_object_set_new(
		    o, "auth",
		    srv_issued_json(out->auth_der, out->auth_der_len,
				    out->auth_serial, &out->auth_validity));
	json_t *sup = json_array();
	for (int i = 0; i < 2; i++)
		if (out->superseded[i][0] != '\0')
			json_array_append_new(sup,
					      json_string(out->superseded[i]));
	json_object_set_new(o, "superseded", sup);
	json_object_set_new(o, "fee", fee_json(it->body));
	srv_reply_json(it->r, MHD_HTTP_CREATED, o);
}

/* Parse, check proofs, take challenges; then one ca_issue_batch (group
 * commit; each request's audit record names its operator). */
void srv_api_issue_batch(srv_worker *w, srv_req **reqs, size_t n)
{
	server *s = w->s;
	item *its = calloc(n, sizeof(*its));
	ca_issue_req *cr = calloc(n, sizeof(*cr));
	ca_issued *outs = calloc(n, sizeof(*outs));
	int *rcs = calloc(n, sizeof(*rcs));
	jpki_err *errs = calloc(n, sizeof(*errs));
	size_t *map = calloc(n, sizeof(*map));
	jpki_err err = {0};
	time_t now = srv_time(s);
	size_t m = 0;
	int rc = 0;
	if (its == NULL || cr == NULL || outs == NULL || rcs == NULL ||
	    errs == NULL || map == NULL) {
		for (size_t i = 0; i < n; i++)
			srv_reply_error(reqs[i], MHD_HTTP_SERVICE_UNAVAILABLE,
					"busy", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!parse_item(s, reqs[i], &its[i], false))
			continue;
		/* the challenge last: a malformed request does not burn it */
		int crc =
		    srv_challenge_take(s->sess, reqs[i]->sid,
				       srv_jstr(its[i].body, "challenge"), now);
		if (crc == JPKI_ERR_UNAVAILABLE) {
			srv_reply_error(reqs[i], MHD_HTTP_SERVICE_UNAVAILABLE,
					"busy",
					"the store is out of reach; ask for a "
					"new challenge and try again");
			continue;
		}
		if (crc != 0) {
			srv_reply_error(reqs[i], MHD_HTTP_CONFLICT,
					"bad_challenge",
					"challenge unknown, expired, used "
					"already or not this session's");
			continue;
		}
		its[i].ok = true;
		its[i].req.now = now;
		its[i].req.actor = reqs[i]->actor;
		cr[m] = its[i].req;
		map[m++] = i;
	}
	if (m == 0)
		goto out;
	atomic_fetch_add_explicit(&s->m.batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->m.batched, m, memory_order_relaxed);
	/* the operator is the actor of each request's audit record, written
	 * in the batch's own transaction; signing happens before it */
	if ((rc = ca_issue_batch(w->ca, cr, m, outs, rcs, errs, &err)) != 0)
		goto out;
	for (size_t j = 0; j < m; j++) {
		item *it = &its[map[j]];
		if (rcs[j] != 0) {
			srv_reply_rc(it->r, rcs[j], &errs[j]);
			continue;
		}
		reply_issued(it, &outs[j]);
		srv_count_add(s, it->req.renewal ? CNT_RENEWED : CNT_ISSUED,
			      (outs[j].sign_der != NULL) +
				  (outs[j].auth_der != NULL));
		if (outs[j].sign_der != NULL)
			srv_publish_issued(s, outs[j].sign_serial,
					   JPKI_CERT_SIGN);
		if (outs[j].auth_der != NULL)
			srv_publish_issued(s, outs[j].auth_serial,
					   JPKI_CERT_AUTH);
		for (int k = 0; k < 2; k++)
			if (outs[j].superseded[k][0] != '\0')
				srv_publish_revoked(w, outs[j].superseded[k]);
	}
out:
	/* on failure nothing of the batch was committed */
	for (size_t j = 0; rc != 0 && j < m; j++)
		srv_reply_rc(its[map[j]].r, rc, &err);
	for (size_t j = 0; outs != NULL && j < m; j++)
		ca_issued_free(&outs[j]);
	for (size_t i = 0; its != NULL && i < n; i++)
		item_free(&its[i]);
	free(its);
	free(cr);
	free(outs);
	free(rcs);
	free(errs);
	free(map);
}

/* The issue class groups its requests into one srv_api_issue_batch (one
 * commit for all, admission.c); this is the same for one request, the
 * route table's handler. */
void api_issue(srv_worker *w, srv_req *r)
{
	srv_api_issue_batch(w, &r, 1);
}
