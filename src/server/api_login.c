/* Log-in of a resident to a relying party (e.g. マイナポータル) with the
 * 利用者証明用電子証明書, the platform verifying for the relying party:
 *
 *   GET|POST /api/v1/login/challenge?origin=ORIGIN
 *       -> {"nonce": base64url(32 random bytes), "origin", "expires_in",
 *           "tbs_format"}
 *   POST /api/v1/login {origin, nonce, certificate, signature}
 *       -> {"ok": true, "session": {...}, "certificate": {...}}
 *
 * The card signs (80 2A, PKCS#1 v1.5, SHA-256 DigestInfo, after the
 * 4-digit PIN) the to-be-signed text
 *
 *   "openjpki-login-v1\norigin=" ORIGIN "\nnonce=" NONCE "\n"
 *
 * with NONCE in the base64url form the challenge gave.  A nonce is kept
 * with its origin and expiry, used once (taken on first presentation,
 * whatever the outcome), and compared in constant time.  The certificate
 * must chain to this CA's authentication root and be good by an OCSP
 * answer signed here, in process, from the store (docs/design.md, "Log-in
 * and verification API"). */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/validation.h"
#include "server_int.h"

#define NONCE_B64_LEN 43 /* base64url of 32 bytes, unpadded */
#define CERT_B64_MAX (JPKI_CARD_CERT_MAX / 3 * 4 + 4)
#define SIG_MAX 512 /* RSA-4096 */
#define SIG_B64_MAX (SIG_MAX / 3 * 4 + 4)
/* a kept nonce answers "replayed" or "expired" this long after expiry */
#define NONCE_GRACE 300
#define BUCKETS 256
#define PER_BUCKET 64

/* The nonces live in the store (table tokens, kind nonce), keyed by the
 * SHA-256 of the nonce, so that a nonce handed out by one jpkid node is
 * taken on any other.  A row stays NONCE_GRACE seconds past the nonce's
 * expiry so that a late replay is told apart from an unknown nonce; the
 * row's gen holds the nonce's own expiry, last is 1 once it is used. */
struct srv_rp_nonces {
	srv_sessions *sess; /* its store handle and lock */
	int ttl;
};

int srv_rp_nonces_new(int ttl, srv_sessions *sess, srv_rp_nonces **out)
{
	if (sess == NULL)
		return JPKI_ERR_INVAL;
	srv_rp_nonces *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return JPKI_ERR_NOMEM;
	t->sess = sess;
	t->ttl = ttl > 0 ? ttl : SRV_RP_NONCE_TTL;
	*out = t;
	return 0;
}

void srv_rp_nonces_free(srv_rp_nonces *t)
{
	free(t);
}

bool srv_rp_origin_ok(const char *o)
{
	size_t n = o != NULL ? strlen(o) : 0, i;
	if (n == 0 || n > SRV_RP_ORIGIN_MAX)
		return false;
	if (strncmp(o, "https://", 8) == 0)
		i = 8;
	else if (strncmp(o, "http://", 7) == 0)
		i = 7;
	else
		return false;
	size_t host = strspn(o + i, "abcdefghijklmnopqrstuvwxyz0123456789.-");
	if (host == 0 || o[i] == '.' || o[i] == '-')
		return false;
	i += host;
	if (o[i] == '\0')
		return true;
	if (o[i] != ':')
		return false;
	size_t port = strspn(o + i + 1, "0123456789");
	return port >= 1 && port <= 5 && o[i + 1 + port] == '\0';
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

int srv_rp_nonce_ttl(const srv_rp_nonces *t)
{
	return t->ttl;
}

int srv_rp_nonce_new(srv_rp_nonces *t, const char *origin, time_t now,
		     uint8_t nonce[SRV_RP_NONCE_LEN])
{
	store_token k;
	store_token_filter f = {.kind = STORE_TOKEN_NONCE, .alive_at = now};
	size_t n = 0;
	int rc = JPKI_ERR_RANGE;
	memset(&k, 0, sizeof(k));
	k.kind = STORE_TOKEN_NONCE;
	if (jpki_strlcpy(k.owner, origin, sizeof(k.owner)) != 0)
		return JPKI_ERR_RANGE;
	k.gen = (int64_t)(now + t->ttl);
	k.expires = now + t->ttl + NONCE_GRACE;
	srv_tokens_sweep(t->sess, now);
	store *st = srv_sessions_lock(t->sess);
	if (store_token_count(st, &f, &n, NULL, NULL) != 0 ||
	    n >= (size_t)BUCKETS * PER_BUCKET)
		goto out;
	for (int attempt = 0; attempt < 4 && rc != 0; attempt++) {
		if (RAND_bytes(nonce, SRV_RP_NONCE_LEN) != 1) {
			rc = JPKI_ERR_CRYPTO;
			break;
		}
		srv_token_id(nonce, SRV_RP_NONCE_LEN, k.id);
		rc = store_token_put(st, &k, NULL, 0, NULL);
		if (rc != 0 && rc != JPKI_ERR_CONFLICT)
			break;
	}
	if (rc != 0 && rc != JPKI_ERR_CRYPTO)
		rc = JPKI_ERR_RANGE;
out:
	srv_sessions_unlock(t->sess);
	return rc;
}

int srv_rp_nonce_take(srv_rp_nonces *t, const uint8_t nonce[SRV_RP_NONCE_LEN],
		      const char *origin, time_t now, char *bound,
		      size_t bound_cap)
{
	int v = SRV_NV_UNKNOWN;
	char id[STORE_TOKEN_ID_LEN + 1];
	store_token h;
	bool won = false;
	srv_token_id(nonce, SRV_RP_NONCE_LEN, id);
	store *st = srv_sessions_lock(t->sess);
	if (store_token_get(st, id, &h, NULL, NULL, NULL) == 0 &&
	    h.kind == STORE_TOKEN_NONCE && now <= h.expires) {
		jpki_strlcpy_cut(bound, h.owner, bound_cap);
		/* used up whatever the verdict; the first taker wins */
		if (h.last != 0 ||
		    store_token_touch(st, id, 1, 0, &won, NULL) != 0 || !won)
			v = SRV_NV_REPLAYED;
		else if (now > (time_t)h.gen)
			v = SRV_NV_EXPIRED;
		else if (strcmp(h.owner, origin) != 0)
			v = SRV_NV_BOUND;
		else
			v = SRV_NV_OK;
	}
	srv_sessions_unlock(t->sess);
	return v;
}

/* Each client may open only so many challenges (clients.c): a flood from
 * one address runs out of its own tokens, answered 429 with Retry-After,
 * while the table keeps room for everyone else. */
bool srv_rp_challenge_admit(srv_req *r)
{
	int retry = 1;
	if (srv_clients_challenge_take(r->s->clients, r->client, srv_now_mono(),
				       &retry))
		return true;
	char ra[16];
	snprintf(ra, sizeof(ra), "%d", retry);
	srv_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_challenges",
			"too many challenges from this client; try again in "
			"%d s",
			retry);
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER,
					ra);
	return false;
}

/* ---- GET|POST /api/v1/login/challenge ---- */

void api_rp_challenge(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"origin", JT_STRING, true, SRV_RP_ORIGIN_MAX}};
	server *s = w->s;
	uint8_t nonce[SRV_RP_NONCE_LEN];
	char b64[64], origin[SRV_RP_ORIGIN_MAX + 1];
	json_t *b = NULL;
	/* the origin from the query, or from a JSON body */
	if (jpki_strlcpy(origin, r->arg2, sizeof(origin)) != 0)
		origin[0] = '\0';
	if (origin[0] == '\0' && r->method == M_POST && r->body.len > 0) {
		if ((b = srv_json_body(r, f, 1)) == NULL)
			return;
		if (jpki_strlcpy(origin, srv_jstr(b, "origin"),
				 sizeof(origin)) != 0)
			origin[0] = '\0'; /* too long: refused below */
		json_decref(b);
	}
	if (!srv_rp_origin_ok(origin)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_origin",
				"origin: the relying party's origin, "
				"http(s)://host[:port] in lower case, at most "
				"%d bytes",
				SRV_RP_ORIGIN_MAX);
		return;
	}
	if (!srv_rp_challenge_admit(r))
		return;
	time_t now = srv_time(s);
	int rc = srv_rp_nonce_new(s->rp_nonces, origin, now, nonce);
	if (rc == JPKI_ERR_RANGE) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"too many open log-in challenges");
		return;
	}
	if (rc != 0) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"no random bytes");
		return;
	}
	b64url(nonce, sizeof(nonce), b64, sizeof(b64));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	char exp[21];
	jpki_time_format(now + s->rp_nonces->ttl, exp);
	srv_reply_json(
	    r, MHD_HTTP_OK,
	    json_pack(
		"{s:s,s:s,s:i,s:s,s:s}", "nonce", b64, "origin", origin,
		"expires_in", s->rp_nonces->ttl, "expires", exp, "tbs_format",
		"openjpki-login-v1\\norigin={origin}\\nnonce={nonce}\\n"));
}

/* ---- POST /api/v1/login ---- */

int srv_rp_login_tbs(const char *origin, const char *nonce_b64, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "openjpki-login-v1\norigin=%s\nnonce=%s\n",
			 origin, nonce_b64);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/* PKCS#1 v1.5 with SHA-256 over tbs, by the certificate's RSA key. */
static bool sig_ok(X509 *cert, const char *tbs, size_t tbs_len,
		   const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = false;
	if (pk == NULL || md == NULL ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    (size_t)EVP_PKEY_get_size(pk) != sig_len)
		goto out;
	if (EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)tbs,
			      tbs_len) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return ok;
}

/* The first message of the verdict about `what` (or any). */
static const char *msg_of(const val_result *res, unsigned what)
{
	for (size_t i = 0; i < res->n_msgs && i < VAL_MSGS_MAX; i++)
		if (res->msgs[i].what & what)
			return res->msgs[i].text;
	return res->n_msgs > 0 ? res->msgs[0].text : "refused";
}

/* The refusal of a certificate: the first class of failure that applies,
 * with the validator's message about it. */
static void refuse_cert(srv_req *r, const val_result *res)
{
	static const struct {
		unsigned bits;
		const char *code;
	} classes[] = {
	    {VAL_FAIL_UNTRUSTED | VAL_FAIL_CERT_SIGNATURE, "foreign_root"},
	    {VAL_FAIL_OTHER_HIERARCHY | VAL_FAIL_KEY_USAGE | VAL_FAIL_POLICY,
	     "wrong_certificate"},
	    {VAL_FAIL_REVOKED, "revoked"},
	    {VAL_FAIL_EXPIRED | VAL_FAIL_NOT_YET_VALID, "certificate_expired"},
	    {VAL_FAIL_REVOCATION_UNKNOWN, "revocation_unknown"},
	    {VAL_FAIL_ALL, "invalid_certificate"},
	};
	size_t i = 0;
	while (i + 1 < sizeof(classes) / sizeof(classes[0]) &&
	       (res->fails & classes[i].bits) == 0)
		i++;
	if (classes[i].bits == VAL_FAIL_REVOKED)
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, classes[i].code,
				"the certificate is revoked (%s): %s",
				jpki_reason_name(res->reason),
				msg_of(res, classes[i].bits));
	else
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, classes[i].code, "%s",
				msg_of(res, classes[i].bits));
}

static json_t *cn_of(X509 *cert)
{
	X509_NAME *n = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	const ASN1_STRING *d =
	    i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)) : NULL;
	unsigned char *u = NULL;
	json_t *v = NULL;
	if (d != NULL && ASN1_STRING_to_UTF8(&u, d) >= 0)
		v = json_string((const char *)u);
	OPENSSL_free(u);
	return v != NULL ? v : json_null();
}

/* What the relying party learns: the certificate, no personal data (the
 * authentication certificate carries none, spec §1.3). */
static json_t *login_json(X509 *cert, const char *origin, time_t now)
{
	json_t *c = val_cert_json(cert), *o = NULL;
	uint8_t id[16];
	char idhex[33], at[21];
	if (c == NULL || RAND_bytes(id, sizeof(id)) != 1) {
		json_decref(c);
		return NULL;
	}
	json_t *cert_o = json_pack(
	    "{s:O,s:o,s:O,s:O,s:O}", "serial", json_object_get(c, "serial"),
	    "subject_cn", cn_of(cert), "issuer", json_object_get(c, "issuer"),
	    "not_before", json_object_get(c, "not_before"), "not_after",
	    json_object_get(c, "not_after"));
	jpki_hex(id, sizeof(id), idhex);
	jpki_time_format(now, at);
	if (cert_o != NULL)
		o = json_pack("{s:b,s:s,s:{s:s,s:s,s:s},s:o}", "ok", 1,
			      "origin", origin, "session", "id", idhex,
			      "authenticated_at", at, "method",
			      "jpki-auth-certificate", "certificate", cert_o);
	json_decref(c);
	return o;
}

void api_rp_login(srv_worker *w, srv_req *r)
{
	static const srv_jfield f[] = {
	    {"origin", JT_STRING, true, SRV_RP_ORIGIN_MAX},
	    {"nonce", JT_STRING, true, NONCE_B64_LEN},
	    {"certificate", JT_STRING, true, CERT_B64_MAX},
	    {"signature", JT_STRING, true, SIG_B64_MAX}};
	server *s = w->s;
	time_t now = srv_time(s);
	uint8_t nonce[SRV_RP_NONCE_LEN], sig[SIG_MAX];
	uint8_t *der = NULL;
	size_t nlen = 0, der_len = 0, sig_len = 0;
	char tbs[SRV_RP_ORIGIN_MAX + NONCE_B64_LEN + 64];
	char bound[SRV_RP_ORIGIN_MAX + 1] = "";
	X509 *cert = NULL;
	jpki_validator *v = NULL;
	val_result res;
	jpki_err err = {0};
	int rc;
	memset(&res, 0, sizeof(res));
	json_t *b = srv_json_body(r, f, 4);
	if (b == NULL)
		return;
	const char *origin = srv_jstr(b, "origin");
	const char *nb64 = srv_jstr(b, "nonce");
	const char *cb64 = srv_jstr(b, "certificate");
	const char *sb64 = srv_jstr(b, "signature");
	if (!srv_rp_origin_ok(origin)) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_origin",
				"origin: http(s)://host[:port] in lower case");
		goto out;
	}
	if (strlen(nb64) != NONCE_B64_LEN ||
	    strspn(nb64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") != NONCE_B64_LEN ||
	    srv_b64_decode(nb64, NONCE_B64_LEN, nonce, sizeof(nonce), &nlen) !=
		0 ||
	    nlen != SRV_RP_NONCE_LEN) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"nonce: the 43-character base64url nonce of "
				"GET /api/v1/login/challenge");
		goto out;
	}
	if ((der = malloc(JPKI_CARD_CERT_MAX)) == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		goto out;
	}
	if (srv_b64_decode(cb64, strlen(cb64), der, JPKI_CARD_CERT_MAX,
			   &der_len) != 0 ||
	    x509_from_der(der, der_len, &cert, &err) != 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"certificate: base64 of one DER certificate "
				"(at most %d bytes)",
				JPKI_CARD_CERT_MAX);
		goto out;
	}
	if (srv_b64_decode(sb64, strlen(sb64), sig, sizeof(sig), &sig_len) !=
		0 ||
	    sig_len == 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed",
				"signature: base64 of the card's RSA "
				"signature");
		goto out;
	}
	/* the nonce first: it is used up by this attempt */
	int verdict = srv_rp_nonce_take(s->rp_nonces, nonce, origin, now, bound,
					sizeof(bound));
	if (verdict == SRV_NV_BOUND) {
		char msg[320];
		snprintf(msg, sizeof(msg),
			 "the nonce was issued for %s, not %s", bound, origin);
		srv_reply_nonce(r, s->rp_nonces, verdict, "log-in",
				"origin_mismatch", msg);
		goto out;
	}
	if (srv_reply_nonce(r, s->rp_nonces, verdict, "log-in", NULL, NULL))
		goto out;
	int tl = srv_rp_login_tbs(origin, nb64, tbs, sizeof(tbs));
	if (tl < 0 || !sig_ok(cert, tbs, (size_t)tl, sig, sig_len)) {
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "bad_signature",
				"the signature does not verify with the "
				"certificate's key (PKCS#1 v1.5, SHA-256, over "
				"the openjpki-login-v1 text)");
		goto out;
	}
	val_opts o = {now, now, VAL_PURPOSE_AUTH};
	if ((rc = srv_rp_validator(s, &v, &err)) != 0 ||
	    (rc = srv_rp_ocsp_add(w, v, cert, now, &err)) != 0 ||
	    (rc = val_cert(v, cert, &o, &res, &err)) != 0) {
		srv_reply_rc(r, rc, &err);
		goto out;
	}
	if (res.fails != 0) {
		refuse_cert(r, &res);
		goto out;
	}
	json_t *ok = login_json(cert, origin, now);
	if (ok == NULL)
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
	else
		srv_reply_json(r, MHD_HTTP_OK, ok);
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	val_result_clear(&res);
	val_free(v);
	X509_free(cert);
	free(der);
	json_decref(b);
}

int srv_reply_nonce(srv_req *r, const srv_rp_nonces *t, int verdict,
		    const char *use, const char *bound_code,
		    const char *bound_msg)
{
	switch (verdict) {
	case SRV_NV_OK: return 0;
	case SRV_NV_REPLAYED:
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "nonce_replayed",
				"this nonce was already used: a %s is single "
				"use",
				use);
		return 1;
	case SRV_NV_EXPIRED:
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "nonce_expired",
				"the nonce expired (valid %d s): ask for a new "
				"challenge",
				srv_rp_nonce_ttl(t));
		return 1;
	case SRV_NV_BOUND:
		if (bound_code != NULL) {
			srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, bound_code,
					"%s", bound_msg);
			return 1;
		}
		/* fall through */
	default:
		srv_reply_error(r, MHD_HTTP_UNAUTHORIZED, "nonce_unknown",
				"this nonce was not issued here (or is long "
				"gone): ask for a new challenge");
		return 1;
	}
}
