/* Per-client accounting in front of jpkid's handlers (issue: strangers
 * must not pin memory or fill the nonce tables).
 *
 * A client is the peer's address (IPv4 or IPv6).  When jpkid runs behind a
 * reverse proxy (--trust-proxy ADDR), a request from that address is
 * counted against the last address of its X-Forwarded-For header instead;
 * from anywhere else the header is ignored.
 *
 * The table has CLIENT_SLOTS entries indexed by a keyed hash of the
 * address (a random key drawn at start, so nobody can aim at another
 * client's slot); two clients that land in one slot share its budget,
 * which only makes the limits stricter for them.  Each slot holds:
 *   - the body bytes its requests have buffered (released when a request
 *     completes), against a per-client cap, beside one global cap;
 *   - a token bucket of log-in/consent challenges: `burst` at once, then
 *     `rate` a second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

#define CLIENT_SLOTS 4096
#define CLIENT_LOCKS 64

typedef struct client_slot {
	size_t body;   /* bytes buffered by this client's open requests */
	double tokens; /* challenges it may still take now */
	double last;   /* monotonic seconds of the last refill */
	bool seen;
} client_slot;

struct srv_clients {
	pthread_mutex_t mu[CLIENT_LOCKS];
	client_slot slot[CLIENT_SLOTS];
	uint8_t key[16];
	struct in6_addr proxy; /* v4-mapped for IPv4 */
	bool has_proxy;
	atomic_size_t body_total;
	size_t body_max_total, body_max_client;
	double rate, burst;
};

static void to_v6(const struct sockaddr *sa, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &in->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
}

static bool parse_addr(const char *s, struct in6_addr *out)
{
	struct in_addr a4;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, s, out) == 1;
}

int srv_clients_new(const srv_clients_cfg *cfg, srv_clients **out,
		    jpki_err *err)
{
	srv_clients *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if (RAND_bytes(c->key, sizeof(c->key)) != 1) {
		free(c);
		return jpki_fail(err, JPKI_ERR_CRYPTO, "no random bytes");
	}
	if (cfg->trust_proxy != NULL) {
		if (!parse_addr(cfg->trust_proxy, &c->proxy)) {
			free(c);
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "--trust-proxy: an IPv4 or IPv6 "
					 "address, not %s",
					 cfg->trust_proxy);
		}
		c->has_proxy = true;
	}
	for (int i = 0; i < CLIENT_LOCKS; i++)
		pthread_mutex_init(&c->mu[i], NULL);
	c->body_max_total = cfg->body_max_total;
	c->body_max_client = cfg->body_max_client;
	c->rate = cfg->challenge_rate;
	c->burst = cfg->challenge_burst;
	atomic_init(&c->body_total, 0);
	*out = c;
	return 0;
}

void srv_clients_free(srv_clients *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CLIENT_LOCKS; i++)
		pthread_mutex_destroy(&c->mu[i]);
	free(c);
}

/* SipHash would do; a keyed SHA-256 is plenty fast next to one HTTP
 * request */
unsigned srv_keyed_slot(const uint8_t key[16], const void *p, size_t n,
			unsigned slots)
{
	uint8_t md[32];
	unsigned int len = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned idx = 0;
	if (x != NULL && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(x, key, 16) == 1 &&
	    EVP_DigestUpdate(x, p, n) == 1 &&
	    EVP_DigestFinal_ex(x, md, &len) == 1)
		idx = ((unsigned)md[0] << 16 | (unsigned)md[1] << 8 | md[2]) %
		      slots;
	EVP_MD_CTX_free(x);
	return idx;
}

static unsigned slot_of(const srv_clients *c, const struct in6_addr *a)
{
	return srv_keyed_slot(c->key, a->s6_addr, 16, CLIENT_SLOTS);
}

unsigned srv_client_of(const srv_clients *c, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct in6_addr a;
	to_v6(ci != NULL ? ci->client_addr : NULL, &a);
	if (c->has_proxy && memcmp(&a, &c->proxy, sizeof(a)) == 0) {
		const char *xff = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, "X-Forwarded-For");
		if (xff != NULL) {
			/* the proxy appends the peer it saw: the last entry */
			const char *last = strrchr(xff, ',');
			char buf[64];
			last = last != NULL ? last + 1 : xff;
			while (*last == ' ')
				last++;
			size_t n = strcspn(last, " ");
			struct in6_addr f;
			if (n < sizeof(buf)) {
				memcpy(buf, last, n);
				buf[n] = '\0';
				if (parse_addr(buf, &f))
					a = f;
			}
		}
	}
	return slot_of(c, &a);
}

bool srv_clients_body_take(srv_clients *c, unsigned client, size_t n)
{
	size_t total = atomic_fetch_add(&c->body_total, n) + n;
	bool ok = total <= c->body_max_total;
	pthread_mutex_t *mu = &c->mu[client % CLIENT_LOCKS];
	pthread_mutex_lock(mu);
	client_slot *s = &c->slot[client % CLIENT_SLOTS];
	if (ok && s->body + n <= c->body_max_client)
		s->body += n;
	else
		ok = false;
	pthread_mutex_unlock(mu);
	if (!ok)
		atomic_fetch_sub(&c->body_total, n);
	return ok;
}

void srv_clients_body_give(srv_clients *c, unsigned client, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_t *mu = &c->mu[client % CLIENT_LOCKS];
	pthread_mutex_lock(mu);
	client_slot *s = &c->slot[client % CLIENT_SLOTS];
	s->body = s->body >= n ? s->body - n : 0;
	pthread_mutex_unlock(mu);
	atomic_fetch_sub(&c->body_total, n);
}

size_t srv_clients_body_total(srv_clients *c)
{
	return atomic_load(&c->body_total);
}

bool srv_clients_challenge_take(srv_clients *c, unsigned client, double now,
				int *retry_after)
{
	bool ok;
	pthread_mutex_t *mu = &c->mu[client % CLIENT_LOCKS];
	pthread_mutex_lock(mu);
	client_slot *s = &c->slot[client % CLIENT_SLOTS];
	if (!s->seen) {
		s->seen = true;
		s->tokens = c->burst;
		s->last = now;
	}
	s->tokens += (now - s->last) * c->rate;
	if (s->tokens > c->burst)
		s->tokens = c->burst;
	s->last = now;
	ok = s->tokens >= 1.0;
	if (ok)
		s->tokens -= 1.0;
	else if (retry_after != NULL)
		*retry_after = (int)((1.0 - s->tokens) / c->rate) + 1;
	pthread_mutex_unlock(mu);
	return ok;
}
