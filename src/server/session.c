/* Operator sessions and issuance challenges, in memory.
 *
 * A session id is 256 random bits, sent as an HttpOnly, SameSite=Strict
 * cookie; its CSRF token (another 256 bits) is handed out in the log-in
 * answer and must come back in X-CSRF-Token on every mutation.  Sessions
 * end 8 hours after log-in or after an hour without use; a restart ends
 * them all (operators log in again).  Challenges are single-use nonces for
 * the proof of possession of issuance keys, bound to the session that
 * asked for them and valid for SRV_CHALLENGE_TTL seconds. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

#define MAX_SESSIONS 4096
#define SESSION_TTL (8 * 3600)
#define SESSION_IDLE 3600
#define MAX_CHALLENGES 16384
/* one session, and all sessions of one operator, hold at most this many
 * open challenges: a clerk cannot fill the table for the others
 * (SRV_CHALLENGES_PER_SESSION/_OPERATOR, server_int.h) */
#define CHALLENGES_PER_SESSION SRV_CHALLENGES_PER_SESSION
#define CHALLENGES_PER_OPERATOR SRV_CHALLENGES_PER_OPERATOR

typedef struct sess {
	bool used;
	uint8_t id[SRV_SID_LEN];
	char csrf[65];
	char name[64];
	int role;
	time_t expires, last;
	int64_t gen; /* of the operator's record at log-in (srv_op_cutoff) */
	int challenges;
} sess;
_Static_assert(sizeof(((sess *)0)->name) == sizeof(((srv_req *)0)->actor),
	       "a session's name is copied whole into a request's actor");

typedef struct chal {
	bool used;
	uint8_t c[32];
	uint8_t sid[SRV_SID_LEN];
	size_t slot; /* of the session, checked against sid */
	time_t expires;
} chal;

struct srv_sessions {
	pthread_mutex_t mu;
	sess s[MAX_SESSIONS];
	chal c[MAX_CHALLENGES];
	size_t n;
};

int srv_sessions_new(srv_sessions **out)
{
	srv_sessions *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return JPKI_ERR_NOMEM;
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return 0;
}

void srv_sessions_free(srv_sessions *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->mu);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

size_t srv_sessions_count(srv_sessions *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

static bool alive(const sess *s, time_t now)
{
	return s->used && now < s->expires && now < s->last + SESSION_IDLE;
}

static void end(srv_sessions *t, sess *s)
{
	if (!s->used)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	t->n--;
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
	char nm[sizeof(((sess *)0)->name)];
	int rc;
	if ((rc = jpki_strlcpy(nm, name, sizeof(nm))) != 0 ||
	    (rc = jpki_random(id, sizeof(id), NULL)) != 0 ||
	    (rc = jpki_random(csrf, sizeof(csrf), NULL)) != 0)
		return rc;
	pthread_mutex_lock(&t->mu);
	sess *slot = NULL;
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		if (t->s[i].used && !alive(&t->s[i], now))
			end(t, &t->s[i]);
		if (!t->s[i].used && slot == NULL)
			slot = &t->s[i];
	}
	if (slot == NULL) {
		pthread_mutex_unlock(&t->mu);
		return JPKI_ERR_RANGE;
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	memcpy(slot->id, id, sizeof(id));
	jpki_hex(csrf, sizeof(csrf), slot->csrf);
	memcpy(slot->name, nm, sizeof(slot->name));
	slot->role = role;
	slot->gen = gen;
	slot->expires = now + SESSION_TTL;
	slot->last = now;
	t->n++;
	memcpy(csrf_hex, slot->csrf, 65);
	*expires = slot->expires;
	pthread_mutex_unlock(&t->mu);
	jpki_hex(id, sizeof(id), sid_hex);
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(csrf, sizeof(csrf));
	return 0;
}

/* The session a challenge belongs to, if it still exists. */
static sess *owner(srv_sessions *t, const chal *h)
{
	sess *s = &t->s[h->slot % MAX_SESSIONS];
	return s->used && memcmp(s->id, h->sid, SRV_SID_LEN) == 0 ? s : NULL;
}

static sess *find(srv_sessions *t, const uint8_t id[SRV_SID_LEN])
{
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (t->s[i].used &&
		    CRYPTO_memcmp(t->s[i].id, id, SRV_SID_LEN) == 0)
			return &t->s[i];
	return NULL;
}

int srv_session_get(srv_sessions *t, const char *sid_hex, bool check_csrf,
		    const char *csrf, time_t now, srv_req *r, char csrf_out[65],
		    time_t *expires)
{
	uint8_t id[SRV_SID_LEN];
	size_t n = 0;
	int rc = 0;
	if (sid_hex == NULL || strlen(sid_hex) != 2 * SRV_SID_LEN ||
	    jpki_unhex(sid_hex, id, sizeof(id), &n, NULL) != 0 ||
	    n != SRV_SID_LEN)
		return JPKI_ERR_AUTH;
	pthread_mutex_lock(&t->mu);
	sess *s = find(t, id);
	if (s == NULL || !alive(s, now)) {
		if (s != NULL)
			end(t, s);
		rc = JPKI_ERR_AUTH;
		goto out;
	}
	if (check_csrf && (csrf == NULL || strlen(csrf) != 64 ||
			   CRYPTO_memcmp(csrf, s->csrf, 64) != 0)) {
		rc = JPKI_ERR_POLICY;
		goto out;
	}
	s->last = now;
	r->authed = true;
	r->role = s->role;
	memcpy(r->actor, s->name, sizeof(r->actor)); /* both 64 */
	memcpy(r->sid, s->id, SRV_SID_LEN);
	if (csrf_out != NULL)
		memcpy(csrf_out, s->csrf, 65);
	if (expires != NULL)
		*expires = s->expires;
out:
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(id, sizeof(id));
	return rc;
}

/* End a session and drop its challenges (t->mu held). */
static void end_with_challenges(srv_sessions *t, sess *s)
{
	for (size_t i = 0; i < MAX_CHALLENGES; i++)
		if (t->c[i].used &&
		    memcmp(t->c[i].sid, s->id, SRV_SID_LEN) == 0)
			memset(&t->c[i], 0, sizeof(t->c[i]));
	end(t, s);
}

size_t srv_sessions_end_operator(srv_sessions *t, const char *name,
				 const uint8_t *keep, int64_t gen)
{
	size_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		sess *s = &t->s[i];
		if (!s->used || strcmp(s->name, name) != 0)
			continue;
		if (keep != NULL && memcmp(s->id, keep, SRV_SID_LEN) == 0) {
			s->gen = gen;
			continue;
		}
		end_with_challenges(t, s);
		n++;
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void srv_session_set_gen(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
			 int64_t gen)
{
	pthread_mutex_lock(&t->mu);
	sess *s = find(t, sid);
	if (s != NULL)
		s->gen = gen;
	pthread_mutex_unlock(&t->mu);
}

size_t srv_sessions_sync(srv_sessions *t, const srv_op_cutoff *c, size_t nc)
{
	size_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		sess *s = &t->s[i];
		if (!s->used)
			continue;
		for (size_t k = 0; k < nc; k++) {
			if (strcmp(s->name, c[k].name) != 0)
				continue;
			if (c[k].disabled || s->gen < c[k].gen) {
				end_with_challenges(t, s);
				n++;
			}
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void srv_session_end(srv_sessions *t, const uint8_t sid[SRV_SID_LEN])
{
	pthread_mutex_lock(&t->mu);
	sess *s = find(t, sid);
	if (s != NULL)
		end(t, s);
	for (size_t i = 0; i < MAX_CHALLENGES; i++)
		if (t->c[i].used && memcmp(t->c[i].sid, sid, SRV_SID_LEN) == 0)
			memset(&t->c[i], 0, sizeof(t->c[i]));
	pthread_mutex_unlock(&t->mu);
}

/* Open challenges of the sessions of `name` (t->mu held). */
static int operator_challenges(srv_sessions *t, const char *name)
{
	int n = 0;
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (t->s[i].used && t->s[i].challenges > 0 &&
		    strcmp(t->s[i].name, name) == 0)
			n += t->s[i].challenges;
	return n;
}

/* Seconds until the first open challenge of session s (all of the
 * operator's sessions when `op`) expires (t->mu held). */
static int first_expiry(srv_sessions *t, const sess *s, bool op, time_t now)
{
	time_t first = now + SRV_CHALLENGE_TTL;
	for (size_t i = 0; i < MAX_CHALLENGES; i++) {
		const chal *h = &t->c[i];
		if (!h->used || h->expires >= first)
			continue;
		const sess *o = owner(t, h);
		if (o == s ||
		    (op && o != NULL && strcmp(o->name, s->name) == 0))
			first = h->expires;
	}
	return first > now ? (int)(first - now) : 1;
}

int srv_challenge_open(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
		       time_t now, char out_b64[64], int *retry_after)
{
	uint8_t c[32];
	int rc = jpki_random(c, sizeof(c), NULL);
	if (retry_after != NULL)
		*retry_after = 0;
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&t->mu);
	sess *s = find(t, sid);
	chal *slot = NULL;
	if (s == NULL) {
		rc = JPKI_ERR_AUTH;
		goto out;
	}
	for (size_t i = 0; i < MAX_CHALLENGES; i++) {
		chal *h = &t->c[i];
		if (h->used && now >= h->expires) {
			sess *o = owner(t, h);
			if (o != NULL && o->challenges > 0)
				o->challenges--;
			memset(h, 0, sizeof(*h));
		}
		if (!h->used && slot == NULL)
			slot = h;
	}
	bool full_session = s->challenges >= CHALLENGES_PER_SESSION;
	if (full_session ||
	    operator_challenges(t, s->name) >= CHALLENGES_PER_OPERATOR) {
		if (retry_after != NULL)
			*retry_after = first_expiry(t, s, !full_session, now);
		rc = JPKI_ERR_RANGE;
		goto out;
	}
	if (slot == NULL) {
		rc = JPKI_ERR_STATE; /* the whole table: busy */
		goto out;
	}
	slot->used = true;
	memcpy(slot->c, c, sizeof(c));
	memcpy(slot->sid, sid, SRV_SID_LEN);
	slot->slot = (size_t)(s - t->s);
	slot->expires = now + SRV_CHALLENGE_TTL;
	s->challenges++;
	rc = srv_b64_encode(c, sizeof(c), out_b64, 64);
out:
	pthread_mutex_unlock(&t->mu);
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
	size_t n = 0;
	int rc = JPKI_ERR_NOT_FOUND;
	if (b64 == NULL ||
	    srv_b64_decode(b64, strlen(b64), c, sizeof(c), &n) != 0 ||
	    n != sizeof(c))
		return JPKI_ERR_INVAL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < MAX_CHALLENGES; i++) {
		chal *h = &t->c[i];
		if (!h->used || CRYPTO_memcmp(h->c, c, sizeof(c)) != 0)
			continue;
		if (memcmp(h->sid, sid, SRV_SID_LEN) == 0 && now < h->expires)
			rc = 0;
		/* used, expired or someone else's: gone either way */
		sess *o = owner(t, h);
		if (o != NULL && o->challenges > 0)
			o->challenges--;
		memset(h, 0, sizeof(*h));
		break;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}
