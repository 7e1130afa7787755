/* 最新の基本4情報 (the 2023 service of J-LIS, spec §2.3): a relying
 * party holding a signature certificate revoked for a change
 * (affiliationChanged) asks, with the holder's signed consent, for the
 * holder's current basic-4 data.
 *
 *   POST /api/v1/basic4/challenge            -> {"nonce", "date", ...}
 *   POST /api/v1/basic4/latest {"consent": base64 text, "cms": base64 DER}
 *
 * Both need the relying party's API key (Authorization: Bearer
 * NAME.SECRET; `jpki rp add NAME` records SHA-256(SECRET) in the store
 * meta "rp-key/NAME").  The consent text, signed (CMS, detached) by the
 * holder's current signature certificate:
 *
 *   openjpki-basic4-consent-v1\n old-serial=HEX\n relying-party=NAME\n
 *   date=YYYY-MM-DD\n nonce=NONCE\n          (no spaces; docs/decisions.md)
 *
 * The nonce is single use, bound to "basic4:" NAME in the log-in nonce
 * table; the date is today in JST.  The signer must be valid now
 * (revocation from this CA's store), in the store, of the same resident
 * as the old certificate, which must be revoked affiliationChanged. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/rules.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/validation.h"
#include "server_int.h"

#define RP_NAME_MAX 32
#define RP_SECRET_LEN 43 /* base64url of 32 bytes, unpadded */
#define NONCE_B64_LEN 43
#define CONSENT_MAX 512
#define CONSENT_B64_MAX (CONSENT_MAX / 3 * 4 + 4)
#define CONSENT_TAG "openjpki-basic4-consent-v1\n"
#define B64URL                                                                 \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Relying-party names: 1..32 of [a-z0-9-], not starting with '-'. */
static bool rp_name_ok(const char *n, size_t len)
{
	return len >= 1 && len <= RP_NAME_MAX && n[0] != '-' &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") >= len;
}

/* The caller's name when r->arg2 (the Authorization header) is "Bearer
 * NAME.SECRET" and SHA-256(SECRET) is the store's "rp-key/NAME"; the
 * hash is computed and compared (constant time) for unknown names too. */
static bool rp_auth(srv_worker *w, srv_req *r, char name[RP_NAME_MAX + 1])
{
	char key[STORE_META_KEY_MAX], stored[80] = "", hex[65];
	uint8_t md[32];
	unsigned md_len = 0;
	bool ok = false;
	jpki_err err = {0};
	const char *a = r->arg2;
	const char *dot =
	    strncmp(a, "Bearer ", 7) == 0 ? strchr(a + 7, '.') : NULL;
	if (dot == NULL)
		goto out;
	size_t nlen = (size_t)(dot - (a + 7));
	const char *secret = dot + 1;
	if (!rp_name_ok(a + 7, nlen) || strlen(secret) != RP_SECRET_LEN ||
	    strspn(secret, B64URL) != RP_SECRET_LEN)
		goto out;
	memcpy(name, a + 7, nlen);
	name[nlen] = '\0';
	snprintf(key, sizeof(key), "rp-key/%s", name);
	bool found = store_meta_get(ca_store(w->ca), key, stored,
				    sizeof(stored), &err) == 0 &&
		     strlen(stored) == 64;
	if (EVP_Digest(secret, RP_SECRET_LEN, md, &md_len, EVP_sha256(),
		       NULL) != 1 ||
	    md_len != sizeof(md))
		goto out;
	jpki_hex(md, sizeof(md), hex);
	ok = CRYPTO_memcmp(found ? stored : "-", hex, found ? 64 : 1) == 0 &&
	     found;
out:
	OPENSSL_cleanse(r->arg2, sizeof(r->arg2));
	OPENSSL_cleanse(md, sizeof(md));
	if (!ok)
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthenticated",
				"a relying party's key is needed: "
				"Authorization: Bearer NAME.KEY (jpki rp add)");
	return ok;
}

static void b64url(const uint8_t *in, size_t len, char *out, size_t cap)
{
	if (srv_b64_encode(in, len, out, cap) != 0) {
		out[0] = '\0';
		return;
	}
	char *e = out + strlen(out);
	while (e > out && e[-1] == '=')
		*--e = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

void api_rp_basic4_challenge(srv_worker *w, srv_req *r)
{
	server *s = w->s;
	time_t now = srv_time(s);
	char name[RP_NAME_MAX + 1], bound[RP_NAME_MAX + 16], b64[64], day[11];
	uint8_t nonce[SRV_RP_NONCE_LEN];
	if (!rp_auth(w, r, name))
		return;
	if (r->body.len > 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"the challenge takes no body");
		return;
	}
	if (!srv_rp_challenge_admit(r))
		return;
	snprintf(bound, sizeof(bound), "basic4:%s", name);
	int rc = srv_rp_nonce_new(s->rp_nonces, bound, now, nonce);
	if (rc == JPKI_ERR_RANGE) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many open challenges");
		return;
	}
	if (rc != 0) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"no random bytes");
		return;
	}
	b64url(nonce, sizeof(nonce), b64, sizeof(b64));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	jpki_date_format(jpki_date_of(now), day);
	srv_reply_json(
	    r, MHD_HTTP_OK,
	    json_pack("{s:s,s:s,s:s,s:i,s:s}", "nonce", b64, "relying_party",
		      name, "date", day, "expires_in",
		      srv_rp_nonce_ttl(s->rp_nonces), "consent_format",
		      "openjpki-basic4-consent-v1\\nold-serial={serial}\\n"
		      "relying-party={name}\\ndate={date}\\nnonce={nonce}\\n"));
}

typedef struct consent {
	char old_serial[STORE_SERIAL_HEX_MAX];
	char rp[RP_NAME_MAX + 1];
	char date[11];
	char nonce[NONCE_B64_LEN + 1];
} consent;

/* One "key=value\n" line at *p: the value into out (cap), which must be
 * 1..cap-1 bytes of the charset (NULL: any printable ASCII). */
static bool line(const uint8_t **p, const uint8_t *end, const char *key,
		 const char *charset, char *out, size_t cap)
{
	size_t kl = strlen(key);
	if ((size_t)(end - *p) <= kl || memcmp(*p, key, kl) != 0)
		return false;
	const uint8_t *v = *p + kl, *nl = memchr(v, '\n', (size_t)(end - v));
	if (nl == NULL || nl == v || (size_t)(nl - v) >= cap)
		return false;
	memcpy(out, v, (size_t)(nl - v));
	out[nl - v] = '\0';
	if (strspn(out, charset) != (size_t)(nl - v))
		return false;
	*p = nl + 1;
	return true;
}

/* The canonical consent text, exactly (no other form is accepted). */
static bool consent_parse(const uint8_t *t, size_t n, consent *c)
{
	const uint8_t *p = t, *end = t + n;
	size_t tl = strlen(CONSENT_TAG);
	jpki_date d;
	if (n < tl || memcmp(t, CONSENT_TAG, tl) != 0)
		return false;
	p += tl;
	return line(&p, end, "old-serial=", "0123456789ABCDEF", c->old_serial,
		    sizeof(c->old_serial)) &&
	       line(&p, end,
		    "relying-party=", "abcdefghijklmnopqrstuvwxyz0123456789-",
		    c->rp, sizeof(c->rp)) &&
	       rp_name_ok(c->rp, strlen(c->rp)) &&
	       line(&p, end, "date=", "0123456789-", c->date,
		    sizeof(c->date)) &&
	       jpki_date_parse(c->date, &d) == 0 &&
	       line(&p, end, "nonce=", B64URL, c->nonce, sizeof(c->nonce)) &&
	       strlen(c->nonce) == NONCE_B64_LEN && p == end;
}

static json_t *answer(const char *rp, const store_cert *old,
		      const store_cert *cur, const store_resident *res,
		      time_t now)
{
	char birth[11], at[21], rev[21], jp[64];
	int era = 0, ey = rules_era_year(res->birth, &era);
	const char *era_name = rules_era_name(era);
	const char *sex = res->sex == 1 ? "1" : res->sex == 2 ? "2" : "3";
	jpki_date_format(res->birth, birth);
	jpki_time_format(now, at);
	jpki_time_format(old->revoked_at, rev);
	if (era_name == NULL)
		snprintf(jp, sizeof(jp), "%s", birth);
	else if (ey == 1)
		snprintf(jp, sizeof(jp), "%s元年%d月%d日", era_name,
			 res->birth.m, res->birth.d);
	else
		snprintf(jp, sizeof(jp), "%s%d年%d月%d日", era_name, ey,
			 res->birth.m, res->birth.d);
	return json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s},s:{s:s,s:s,s:s,s:s?,s:i,s:s,s:s,"
	    "s:s}}",
	    "relying_party", rp, "as_of", at, "old_certificate", "serial",
	    old->serial, "revoked_at", rev, "reason",
	    jpki_reason_name((jpki_reason)old->reason), "current_certificate",
	    "serial", cur->serial, "basic4", "name", res->name, "address",
	    res->address, "birth", birth, "birth_era", era_name,
	    "birth_era_year", ey, "birth_japanese", jp, "sex", sex, "sex_label",
	    val_sex_label(sex));
}

void api_rp_basic4_latest(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"consent", JT_STRING, true, CONSENT_B64_MAX},
	    {"cms", JT_STRING, true, SRV_RP_VERIFY_BODY}};
	server *s = w->s;
	store *st = ca_store(w->ca);
	time_t now = srv_time(s);
	char name[RP_NAME_MAX + 1], bound[RP_NAME_MAX + 16], was[128] = "";
	char signer[STORE_SERIAL_HEX_MAX], today[11];
	uint8_t text[CONSENT_MAX], nonce[SRV_RP_NONCE_LEN], *cms = NULL;
	size_t text_len = 0, cms_len = 0, nlen = 0;
	consent c;
	store_cert old, cur;
	store_resident res;
	jpki_validator *v = NULL;
	val_result vr;
	json_t *b = NULL;
	jpki_err err = {0};
	int rc;
	memset(&vr, 0, sizeof(vr));
	memset(&old, 0, sizeof(old));
	memset(&cur, 0, sizeof(cur));
	memset(&c, 0, sizeof(c));
	memset(nonce, 0, sizeof(nonce));
	if (!rp_auth(w, r, name))
		goto out;
	if ((b = srv_json_body(r, f, 2)) == NULL)
		goto out;
	const char *c64 = srv_jstr(b, "consent"), *m64 = srv_jstr(b, "cms");
	if (srv_b64_decode(c64, strlen(c64), text, sizeof(text), &text_len) !=
		0 ||
	    !consent_parse(text, text_len, &c)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"consent: base64 of the canonical "
				"openjpki-basic4-consent-v1 text");
		goto out;
	}
	cms_len = strlen(m64) / 4 * 3 + 3;
	if ((cms = malloc(cms_len)) == NULL ||
	    srv_b64_decode(m64, strlen(m64), cms, cms_len, &cms_len) != 0 ||
	    cms_len == 0 || cms_len > VAL_CMS_MAX) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"cms: base64 of a DER CMS SignedData over the "
				"consent text");
		goto out;
	}
	if (strcmp(c.rp, name) != 0) {
		srv_reply_error(r, MHD_HTTP_FORBIDDEN, "wrong_relying_party",
				"the consent names relying party %s, not %s",
				c.rp, name);
		goto out;
	}
	/* the nonce before the signature: it is used up by this attempt */
	snprintf(bound, sizeof(bound), "basic4:%s", name);
	if (srv_b64_decode(c.nonce, NONCE_B64_LEN, nonce, sizeof(nonce),
			   &nlen) != 0 ||
	    nlen != SRV_RP_NONCE_LEN) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"nonce: the 43-character base64url nonce of "
				"POST /api/v1/basic4/challenge");
		goto out;
	}
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "this nonce was not issued to %s for a consent", name);
	if (srv_reply_nonce(r, s->rp_nonces,
			    srv_rp_nonce_take(s->rp_nonces, nonce, bound, now,
					      was, sizeof(was)),
			    "consent", "nonce_unknown", msg))
		goto out;
	jpki_date_format(jpki_date_of(now), today);
	if (strcmp(c.date, today) != 0) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "consent_stale",
				"the consent is dated %s, not today (%s JST)",
				c.date, today);
		goto out;
	}
	val_opts o = {now, now, VAL_PURPOSE_SIGN};
	if ((rc = srv_rp_validator(s, &v, &err)) != 0 ||
	    (rc = srv_rp_ocsp_for_cms(w, v, cms, cms_len, now, &err)) != 0 ||
	    (rc = val_cms(v, cms, cms_len, text, text_len, &o, &vr, &err)) !=
		0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (vr.fails != 0 || vr.cert == NULL) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "invalid_consent",
				"the consent's signature is not valid: %s",
				vr.n_msgs > 0 ? vr.msgs[0].text : "?");
		goto out;
	}
	if ((rc = ca_serial_hex(vr.cert, signer, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if ((rc = store_cert_get(st, signer, &cur, &err)) != 0 ||
	    cur.kind != JPKI_CERT_SIGN || cur.resident_id == 0) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "invalid_consent",
				"the consent's signer %s is not a signature "
				"certificate of this CA's store",
				signer);
		goto out;
	}
	if ((rc = store_cert_get(st, c.old_serial, &old, &err)) != 0 ||
	    old.kind != JPKI_CERT_SIGN) {
		srv_reply_error(r, MHD_HTTP_NOT_FOUND, "unknown_certificate",
				"no signature certificate %s here",
				c.old_serial);
		goto out;
	}
	if (old.resident_id != cur.resident_id) {
		srv_reply_error(r, MHD_HTTP_FORBIDDEN, "other_resident",
				"the consent is signed by another resident's "
				"certificate than %s's holder",
				old.serial);
		goto out;
	}
	if (old.status != STORE_CERT_REVOKED ||
	    old.reason != JPKI_REASON_AFFILIATION_CHANGED) {
		srv_reply_error(r, MHD_HTTP_CONFLICT, "not_changed",
				"certificate %s was not revoked for a change "
				"(affiliationChanged): its basic-4 data are "
				"current",
				old.serial);
		goto out;
	}
	if ((rc = store_resident_get(st, cur.resident_id, &res, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (res.status != STORE_RESIDENT_LIVING) {
		srv_reply_error(r, MHD_HTTP_GONE, "resident_removed",
				"the holder's record is removed");
		goto out;
	}
	json_t *j = answer(name, &old, &cur, &res, now);
	OPENSSL_cleanse(&res, sizeof(res));
	if (j == NULL)
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
	else
		srv_reply_json(r, MHD_HTTP_OK, j);
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	store_cert_clear(&old);
	store_cert_clear(&cur);
	val_result_clear(&vr);
	val_free(v);
	free(cms);
	json_decref(b);
}
