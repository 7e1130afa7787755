/* Wrong passwords at log-in, throttled per account and per client.
 *
 * An account (by name, whether or not it exists, so that the answer tells
 * nothing about which names do) that meets THROTTLE_ACCOUNT_FAILS wrong
 * passwords within THROTTLE_WINDOW seconds is locked for THROTTLE_LOCK
 * seconds; a client (clients.c slot) that meets THROTTLE_CLIENT_FAILS is
 * locked the same way, whatever names it tries.  A locked log-in is
 * answered 429 with Retry-After before the password is even checked, and
 * each lockout is written to the audit log.  A right password clears the
 * account's count.  Tables of fixed size, indexed by a keyed hash: two
 * names or clients that share a slot share its count. */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

#define THROTTLE_SLOTS 4096

typedef struct fail_slot {
	int fails;
	double window_start, locked_until;
} fail_slot;

struct srv_throttle {
	pthread_mutex_t mu;
	uint8_t key[16];
	fail_slot account[THROTTLE_SLOTS];
	fail_slot client[THROTTLE_SLOTS];
};

int srv_throttle_new(srv_throttle **out)
{
	srv_throttle *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return JPKI_ERR_NOMEM;
	if (RAND_bytes(t->key, sizeof(t->key)) != 1 ||
	    pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return JPKI_ERR_CRYPTO;
	}
	*out = t;
	return 0;
}

void srv_throttle_free(srv_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static unsigned name_slot(const srv_throttle *t, const char *name)
{
	return srv_keyed_slot(t->key, name, strlen(name), THROTTLE_SLOTS);
}

static int locked_for(const fail_slot *f, double now)
{
	return f->locked_until > now ? (int)(f->locked_until - now) + 1 : 0;
}

int srv_throttle_check(srv_throttle *t, const char *name, unsigned client,
		       double now)
{
	pthread_mutex_lock(&t->mu);
	int a = locked_for(&t->account[name_slot(t, name)], now);
	int c = locked_for(&t->client[client % THROTTLE_SLOTS], now);
	pthread_mutex_unlock(&t->mu);
	return a > c ? a : c;
}

/* one more failure in f; true when it locks f now */
static bool fail(fail_slot *f, int limit, double now)
{
	if (now - f->window_start > THROTTLE_WINDOW) {
		f->window_start = now;
		f->fails = 0;
	}
	if (++f->fails < limit)
		return false;
	f->locked_until = now + THROTTLE_LOCK;
	f->fails = 0;
	f->window_start = now;
	return true;
}

int srv_throttle_failed(srv_throttle *t, const char *name, unsigned client,
			double now)
{
	int locked = 0;
	pthread_mutex_lock(&t->mu);
	if (fail(&t->account[name_slot(t, name)], THROTTLE_ACCOUNT_FAILS, now))
		locked |= SRV_LOCKED_ACCOUNT;
	if (fail(&t->client[client % THROTTLE_SLOTS], THROTTLE_CLIENT_FAILS,
		 now))
		locked |= SRV_LOCKED_CLIENT;
	pthread_mutex_unlock(&t->mu);
	return locked;
}

void srv_throttle_ok(srv_throttle *t, const char *name)
{
	pthread_mutex_lock(&t->mu);
	fail_slot *f = &t->account[name_slot(t, name)];
	f->fails = 0;
	pthread_mutex_unlock(&t->mu);
}
