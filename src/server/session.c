/* Operator sessions and issuance challenges, in the store (table tokens,
 * migration 6), so that every jpkid node on one store answers every
 * request (issue #12 item 3; docs/decisions.md "Several jpkid nodes").
 *
 * A session id is 256 random bits, sent as an HttpOnly, SameSite=Strict
 * cookie; its CSRF token (another 256 bits) is handed out in the log-in
 * answer and must come back in X-CSRF-Token on every mutation.  The store
 * keeps only the SHA-256 of the session id, never the id itself.
 * Sessions end 8 hours after log-in or after an hour without use (the
 * last use is written at most once a SESSION_TOUCH seconds); a restart of
 * a node ends none of them.  Challenges are single-use nonces for the
 * proof of possession of issuance keys, bound to the session that asked
 * for them and valid for SRV_CHALLENGE_TTL seconds.
 *
 * One store handle serves all of this, behind one mutex. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/store.h"
#include "openjpki/util.h"
#include "server_int.h"

#define MAX_SESSIONS 4096
#define SESSION_TTL (8 * 3600)
#define SESSION_IDLE 3600
#define SESSION_TOUCH 60 /* s between writes of a session's last use */
#define SWEEP_EVERY 10	 /* s between deletions of expired rows */
#define MAX_CHALLENGES 16384
/* one session, and all sessions of one operator, hold at most this many
 * open challenges: a clerk cannot fill the table for the others
 * (SRV_CHALLENGES_PER_SESSION/_OPERATOR, server_int.h) */
#define CHALLENGES_PER_SESSION SRV_CHALLENGES_PER_SESSION
#define CHALLENGES_PER_OPERATOR SRV_CHALLENGES_PER_OPERATOR

struct srv_sessions {
	pthread_mutex_t mu;
	store *st; /* not owned */
	time_t swept;
};

int srv_sessions_new(store *st, srv_sessions **out)
{
	if (st == NULL)
		return JPKI_ERR_INVAL;
	srv_sessions *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return JPKI_ERR_NOMEM;
	pthread_mutex_init(&t->mu, NULL);
	t->st = st;
	*out = t;
	return 0;
}

void srv_sessions_free(srv_sessions *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

store *srv_sessions_lock(srv_sessions *t)
{
	pthread_mutex_lock(&t->mu);
	return t->st;
}

void srv_sessions_unlock(srv_sessions *t)
{
	pthread_mutex_unlock(&t->mu);
}

void srv_token_id(const uint8_t *secret, size_t len,
		  char out[STORE_TOKEN_ID_LEN + 1])
{
	uint8_t md[32];
	unsigned int n = 0;
	if (EVP_Digest(secret, len, md, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof(md)) {
		/* never a valid id: every lookup fails */
		out[0] = '\0';
		return;
	}
	jpki_hex(md, sizeof(md), out);
}

size_t srv_sessions_count(srv_sessions *t)
{
	store_token_filter f = {.kind = STORE_TOKEN_SESSION};
	size_t n = 0;
	pthread_mutex_lock(&t->mu);
	if (store_token_count(t->st, &f, &n, NULL, NULL) != 0)
		n = 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Delete the rows `f` selects; a failure is logged, not returned: the
 * caller (a sweep, a log-out) has no one to return it to, and a row left
 * behind expires (its expiry is checked on every read).  `n` may be NULL. */
static void del_logged(store *st, const store_token_filter *f, size_t *n,
		       const char *what)
{
	int rc = store_token_delete(st, f, n, NULL);
	if (rc != 0) {
		fprintf(stderr, "jpkid: %s not deleted from the store: %s\n",
			what, jpki_strerror(rc));
		if (n != NULL)
			*n = 0;
	}
}

/* Delete rows past their expiry, at most once every SWEEP_EVERY seconds
 * (t->mu held). */
static void sweep(srv_sessions *t, time_t now)
{
	if (now >= t->swept && now < t->swept + SWEEP_EVERY)
		return;
	store_token_filter f = {.expired_at = now};
	del_logged(t->st, &f, NULL, "expired sessions and tokens");
	t->swept = now;
}

void srv_tokens_sweep(srv_sessions *t, time_t now)
{
	pthread_mutex_lock(&t->mu);
	sweep(t, now);
	pthread_mutex_unlock(&t->mu);
}

static bool alive(const store_token *s, time_t now)
{
	return s->kind == STORE_TOKEN_SESSION && now < s->expires &&
	       now < s->last + SESSION_IDLE;
}

int srv_session_create(srv_sessions *t, const char *name, int role, time_t now,
		       char sid_hex[65], char csrf_hex[65], time_t *expires)
{
	return srv_session_create_gen(t, name, role, 0, now, sid_hex, csrf_hex,
				      expires);
}

int srv_session_create_gen(srv_sessions *t, const char *name, int role,
			   int64_t gen, time_t now, char sid_hex[65],
			   char csrf_hex[65], time_t *expires)
{
	uint8_t id[SRV_SID_LEN], csrf[32];
	store_token k;
	store_token_filter f = {.kind = STORE_TOKEN_SESSION, .alive_at = now};
	size_t n = 0;
	int rc;
	if ((rc = jpki_random(id, sizeof(id), NULL)) != 0 ||
	    (rc = jpki_random(csrf, sizeof(csrf), NULL)) != 0)
		return rc;
	memset(&k, 0, sizeof(k));
	srv_token_id(id, sizeof(id), k.id);
	k.kind = STORE_TOKEN_SESSION;
	if (jpki_strlcpy(k.owner, name, sizeof(k.owner)) != 0)
		return JPKI_ERR_RANGE;
	k.role = role;
	k.gen = gen;
	k.expires = now + SESSION_TTL;
	k.last = now;
	jpki_hex(csrf, sizeof(csrf), k.extra);
	pthread_mutex_lock(&t->mu);
	sweep(t, now);
	if ((rc = store_token_count(t->st, &f, &n, NULL, NULL)) == 0 &&
	    n >= MAX_SESSIONS)
		rc = JPKI_ERR_RANGE;
	if (rc == 0)
		rc = store_token_put(t->st, &k, NULL, 0, NULL);
	pthread_mutex_unlock(&t->mu);
	if (rc == 0) {
		memcpy(csrf_hex, k.extra, 65);
		*expires = k.expires;
		jpki_hex(id, sizeof(id), sid_hex);
	}
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(csrf, sizeof(csrf));
	return rc;
}

/* End a session: its row, its challenges and its downloads (t->mu held). */
static void end(srv_sessions *t, const char *hid)
{
	store_token_filter f = {.id = hid};
	del_logged(t->st, &f, NULL, "an ended session");
	f = (store_token_filter){.kind = STORE_TOKEN_CHALLENGE, .owner = hid};
	del_logged(t->st, &f, NULL, "an ended session's challenges");
	f.kind = STORE_TOKEN_DOWNLOAD;
	del_logged(t->st, &f, NULL, "an ended session's downloads");
}

int srv_session_get(srv_sessions *t, const char *sid_hex, bool check_csrf,
		    const char *csrf, time_t now, srv_req *r, char csrf_out[65],
		    time_t *expires)
{
	uint8_t id[SRV_SID_LEN];
	char hid[STORE_TOKEN_ID_LEN + 1];
	store_token s;
	size_t n = 0;
	int rc = 0;
	if (sid_hex == NULL || strlen(sid_hex) != 2 * SRV_SID_LEN ||
	    jpki_unhex(sid_hex, id, sizeof(id), &n, NULL) != 0 ||
	    n != SRV_SID_LEN)
		return JPKI_ERR_AUTH;
	srv_token_id(id, sizeof(id), hid);
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&t->mu);
	rc = store_token_get(t->st, hid, &s, NULL, NULL, NULL);
	if (rc == JPKI_ERR_NOT_FOUND || (rc == 0 && !alive(&s, now))) {
		if (rc == 0 && s.kind == STORE_TOKEN_SESSION)
			end(t, hid);
		rc = JPKI_ERR_AUTH;
		goto out;
	}
	if (rc != 0) {
		rc = JPKI_ERR_IO; /* the store failed: 503, try again */
		goto out;
	}
	if (check_csrf && (csrf == NULL || strlen(csrf) != 64 ||
			   CRYPTO_memcmp(csrf, s.extra, 64) != 0)) {
		rc = JPKI_ERR_POLICY;
		goto out;
	}
	/* the idle clock: a failed touch costs at most SESSION_TOUCH of it */
	if (now >= s.last + SESSION_TOUCH)
		jpki_ignore(store_token_touch(t->st, hid, now, -1, NULL, NULL));
	r->authed = true;
	r->role = s.role;
	jpki_strlcpy_cut(r->actor, s.owner, sizeof(r->actor));
	memcpy(r->sid, id, SRV_SID_LEN);
	if (csrf_out != NULL)
		memcpy(csrf_out, s.extra, 65);
	if (expires != NULL)
		*expires = s.expires;
out:
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(&s, sizeof(s));
	OPENSSL_cleanse(id, sizeof(id));
	return rc;
}

size_t srv_sessions_end_operator(srv_sessions *t, const char *name,
				 const uint8_t *keep, int64_t gen)
{
	char hkeep[STORE_TOKEN_ID_LEN + 1];
	store_token_filter f = {.kind = STORE_TOKEN_SESSION, .owner = name};
	size_t n = 0, c = 0;
	if (keep != NULL) {
		srv_token_id(keep, SRV_SID_LEN, hkeep);
		f.keep = hkeep;
		srv_session_set_gen(t, keep, gen);
	}
	pthread_mutex_lock(&t->mu);
	if (store_token_delete(t->st, &f, &n, NULL) != 0)
		n = 0;
	/* their challenges: those of a session ended are refused anyway
	 * (srv_challenge_take looks for the session), and expire */
	if (keep == NULL) {
		f = (store_token_filter){.kind = STORE_TOKEN_CHALLENGE,
					 .op = name};
		del_logged(t->st, &f, &c, "an operator's challenges");
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void srv_session_set_gen(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
			 int64_t gen)
{
	char hid[STORE_TOKEN_ID_LEN + 1];
	store_token s;
	srv_token_id(sid, SRV_SID_LEN, hid);
	pthread_mutex_lock(&t->mu);
	/* the row again with its new generation: one's own session only */
	if (store_token_take(t->st, hid, &s, NULL, NULL, NULL) == 0) {
		s.gen = gen;
		int rc = store_token_put(t->st, &s, NULL, 0, NULL);
		if (rc != 0) /* the session is gone: its owner logs in again */
			fprintf(stderr,
				"jpkid: a session not kept after a password "
				"change: %s\n",
				jpki_strerror(rc));
	}
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(&s, sizeof(s));
}

size_t srv_sessions_sync(srv_sessions *t, const srv_op_cutoff *c, size_t nc)
{
	size_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t k = 0; k < nc; k++) {
		store_token_filter f = {.kind = STORE_TOKEN_SESSION,
					.owner = c[k].name};
		size_t m = 0;
		if (!c[k].disabled) {
			if (c[k].gen <= 0)
				continue;
			f.gen_below = c[k].gen;
		}
		if (store_token_delete(t->st, &f, &m, NULL) == 0)
			n += m;
		if (c[k].disabled) {
			f = (store_token_filter){.kind = STORE_TOKEN_CHALLENGE,
						 .op = c[k].name};
			del_logged(t->st, &f, NULL,
				   "a disabled operator's challenges");
		}
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void srv_session_end(srv_sessions *t, const uint8_t sid[SRV_SID_LEN])
{
	char hid[STORE_TOKEN_ID_LEN + 1];
	srv_token_id(sid, SRV_SID_LEN, hid);
	pthread_mutex_lock(&t->mu);
	end(t, hid);
	pthread_mutex_unlock(&t->mu);
}

/* Seconds until the first open challenge the filter selects expires. */
static int first_expiry(srv_sessions *t, store_token_filter *f, time_t now)
{
	size_t n = 0;
	time_t first = 0;
	if (store_token_count(t->st, f, &n, &first, NULL) != 0 || n == 0 ||
	    first <= now)
		return 1;
	return (int)(first - now);
}

int srv_challenge_open(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
		       time_t now, char out_b64[64], int *retry_after)
{
	uint8_t c[32];
	char hid[STORE_TOKEN_ID_LEN + 1];
	store_token s, h;
	size_t mine = 0, ops = 0, all = 0;
	int rc = jpki_random(c, sizeof(c), NULL);
	if (retry_after != NULL)
		*retry_after = 0;
	if (rc != 0)
		return rc;
	srv_token_id(sid, SRV_SID_LEN, hid);
	memset(&h, 0, sizeof(h));
	pthread_mutex_lock(&t->mu);
	sweep(t, now);
	int grc = store_token_get(t->st, hid, &s, NULL, NULL, NULL);
	if (grc == JPKI_ERR_UNAVAILABLE) {
		rc = JPKI_ERR_STATE; /* the store out of reach: busy */
		goto out;
	}
	if (grc != 0 || s.kind != STORE_TOKEN_SESSION) {
		rc = JPKI_ERR_AUTH;
		goto out;
	}
	store_token_filter fs = {
	    .kind = STORE_TOKEN_CHALLENGE, .owner = hid, .alive_at = now};
	store_token_filter fo = {
	    .kind = STORE_TOKEN_CHALLENGE, .op = s.owner, .alive_at = now};
	store_token_filter fa = {.kind = STORE_TOKEN_CHALLENGE,
				 .alive_at = now};
	if (store_begin(t->st, NULL) != 0) {
		rc = JPKI_ERR_STATE;
		goto out;
	}
	if (store_token_count(t->st, &fs, &mine, NULL, NULL) != 0 ||
	    store_token_count(t->st, &fo, &ops, NULL, NULL) != 0 ||
	    store_token_count(t->st, &fa, &all, NULL, NULL) != 0) {
		rc = JPKI_ERR_STATE;
		goto end;
	}
	bool full_session = mine >= CHALLENGES_PER_SESSION;
	if (full_session || ops >= CHALLENGES_PER_OPERATOR) {
		if (retry_after != NULL)
			*retry_after =
			    first_expiry(t, full_session ? &fs : &fo, now);
		rc = JPKI_ERR_RANGE;
		goto end;
	}
	if (all >= MAX_CHALLENGES) {
		rc = JPKI_ERR_STATE; /* the whole table: busy */
		goto end;
	}
	srv_token_id(c, sizeof(c), h.id);
	h.kind = STORE_TOKEN_CHALLENGE;
	if (jpki_strlcpy(h.owner, hid, sizeof(h.owner)) != 0 ||
	    jpki_strlcpy(h.op, s.owner, sizeof(h.op)) != 0) {
		rc = JPKI_ERR_RANGE;
		goto end;
	}
	h.expires = now + SRV_CHALLENGE_TTL;
	if (store_token_put(t->st, &h, NULL, 0, NULL) != 0) {
		rc = JPKI_ERR_STATE;
		goto end;
	}
end:
	if (rc == 0 && store_commit(t->st, NULL) != 0)
		rc = JPKI_ERR_STATE;
	if (rc != 0)
		store_rollback(t->st);
out:
	pthread_mutex_unlock(&t->mu);
	if (rc == 0)
		rc = srv_b64_encode(c, sizeof(c), out_b64, 64);
	OPENSSL_cleanse(c, sizeof(c));
	return rc;
}

int srv_challenge_new(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
		      time_t now, char out_b64[64])
{
	int rc = srv_challenge_open(t, sid, now, out_b64, NULL);
	return rc == JPKI_ERR_STATE ? JPKI_ERR_RANGE : rc;
}

int srv_challenge_take(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
		       const char *b64, time_t now)
{
	uint8_t c[32];
	char hc[STORE_TOKEN_ID_LEN + 1], hid[STORE_TOKEN_ID_LEN + 1];
	store_token h, s;
	size_t n = 0;
	int rc = JPKI_ERR_NOT_FOUND;
	if (b64 == NULL ||
	    srv_b64_decode(b64, strlen(b64), c, sizeof(c), &n) != 0 ||
	    n != sizeof(c))
		return JPKI_ERR_INVAL;
	srv_token_id(c, sizeof(c), hc);
	srv_token_id(sid, SRV_SID_LEN, hid);
	pthread_mutex_lock(&t->mu);
	/* used, expired or someone else's: gone either way; a store out of
	 * reach (a failover) is not a verdict on the challenge: try again */
	int trc = store_token_take(t->st, hc, &h, NULL, NULL, NULL);
	int grc = trc == 0 ? store_token_get(t->st, hid, &s, NULL, NULL, NULL)
			   : JPKI_ERR_NOT_FOUND;
	if (trc == JPKI_ERR_UNAVAILABLE || grc == JPKI_ERR_UNAVAILABLE)
		rc = JPKI_ERR_UNAVAILABLE;
	else if (trc == 0 && h.kind == STORE_TOKEN_CHALLENGE &&
		 strcmp(h.owner, hid) == 0 && now < h.expires && grc == 0 &&
		 s.kind == STORE_TOKEN_SESSION)
		rc = 0;
	pthread_mutex_unlock(&t->mu);
	return rc;
}
