/* openjpki — jpkid, the service: revocation publishing (OCSP, CRLs, ARL),
 * the counter's JSON API (residents, cards, issuance, revocation),
 * operators with roles, admission control and metrics.
 *
 * The server runs libmicrohttpd's own threads (a pool, epoll) for HTTP and
 * one small pool of worker threads per admission class for the work that
 * touches the store or signs; each worker opens its own CA handle.  What
 * is served from memory (pre-signed OCSP responses, CRLs, /healthz,
 * /metrics) is answered on the HTTP threads and never queues.  Work that
 * would queue beyond a class's capacity is refused at once with 503 and
 * Retry-After.  docs/design.md ("jpkid") describes the whole. */
#ifndef OPENJPKI_SERVER_H
#define OPENJPKI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct server server;

typedef struct server_config {
	const char *dir;   /* CA directory; a test-profile CA is created there
			    * when it holds none */
	const char *store; /* store location; NULL = DIR/jpki.db */
	const char *keystore; /* keystore location ("signer:"); NULL = the
			       * CA's own (DIR/keystore or DIR/keys) */
	const char *listen;   /* "ADDR:PORT" (IPv4); NULL = 127.0.0.1:8080;
			       * port 0 picks a free one (server_port) */
	int threads;	      /* HTTP threads; 0 = number of CPUs */
	int workers;	      /* worker threads per class; 0 = 2 */
	int queue;	 /* queued requests per class; 0 = per-class default */
	int deadline_ms; /* deadline of a queued request; 0 = per class */
	int issue_batch; /* requests per ca_issue_batch; 0 = 32 */
	int ocsp_cache_max;	/* pre-signed OCSP responses kept ready in
				 * memory; 0 = 200000 */
	int ocsp_presigned_max; /* pre-signed OCSP answers kept in all: those
				 * past ocsp_cache_max as DER in a spill file
				 * in DIR, about 160 bytes of memory each;
				 * 0 = ocsp_cache_max (none on disk) */
	int ocsp_max_age;	/* Cache-Control max-age cap, s; 0 = 3600 */
	bool insecure_cookies;	/* no Secure flag off loopback (behind a TLS
				 * terminating proxy that rewrites it) */
	/* First start without operators: the password of "admin" (ca-admin).
	 * NULL = a random one, handed back by server_start. */
	const char *admin_password;
	/* Tests only: seconds added to the clock of everything the service
	 * does (issuance, revocation, sessions, OCSP, CRLs), to reach a
	 * renewal window.  A production-profile CA refuses to start with
	 * one (ca_check_clock). */
	long long clock_offset;
	/* Seconds a relying party's log-in nonce stays valid; 0 = 120.
	 * Tests shorten it to reach an expired nonce. */
	int login_nonce_ttl;
	/* A jpki-roots folder: relying parties' verification and log-in also
	 * trust the real J-LIS roots found there (each checked against its
	 * pinned fingerprint; start-up fails otherwise).  NULL = only this
	 * CA's roots. */
	const char *jlis_dir;
	/* Strangers' share (docs/decisions.md, "jpkid: what strangers may
	 * hold"): request bodies buffered at once, in MiB, by all clients
	 * (0 = 256) and by one (0 = 32); log-in and consent challenges a
	 * client may open, a second (0 = 2) and at once (0 = 64).  A client
	 * is the peer address, or the last X-Forwarded-For address of a
	 * request from trust_proxy (NULL = none). */
	int body_budget_mb, client_body_budget_mb;
	int body_seconds; /* a body must arrive within this (0 = 60) */
	double challenge_rate;
	int challenge_burst;
	const char *trust_proxy;
	/* Start-up checks the store with SQLite's full integrity_check
	 * instead of quick_check (slower: indexes against tables too). */
	bool check_full;
	/* Each audit checkpoint also goes to syslog (LOG_AUTHPRIV), for a
	 * collector outside this machine. */
	bool audit_syslog;
	/* An optional TLS listener ("ADDR:PORT", NULL = none) serving the
	 * same routes, where every request needs a client certificate that
	 * verifies under tls_client_ca (PEM; NULL = this CA's
	 * authentication root).  tls_cert/tls_key: the server's PEM files. */
	const char *tls_listen, *tls_cert, *tls_key, *tls_client_ca;
} server_config;

/* Open (or create) the CA, create the first operator if there is none,
 * start the HTTP daemon, the workers and the refresher.  When a random
 * admin password was generated it is written to created_password (a
 * NUL-terminated string, cap >= 64; "" otherwise): print it once.  Caller
 * stops with server_stop(). */
#define SERVER_PASSWORD_MAX 128
JPKI_MUST_CHECK int server_start(const server_config *cfg, server **out,
				 char *created_password, size_t cap,
				 jpki_err *err);
/* The TCP port actually bound. */
unsigned server_port(const server *s);
/* The TLS listener's port (0: none). */
unsigned server_tls_port(const server *s);
/* Stop accepting, answer what is queued, join every thread, free.  NULL
 * is fine. */
void server_stop(server *s);

#ifdef __cplusplus
}
#endif
#endif
