/* server/ internals shared by its files. */
#ifndef JPKI_SERVER_INT_H
#define JPKI_SERVER_INT_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/buf.h"
#include "openjpki/ca.h"
#include "openjpki/card.h"
#include "openjpki/server.h"

/* ---- routes (metrics labels) ---- */
enum srv_route {
	R_OTHER = 0,
	R_HEALTHZ,
	R_METRICS,
	R_OCSP,
	R_CRL,
	R_SESSION,
	R_OPERATORS,
	R_MUNIS,
	R_RESIDENTS,
	R_CARDS,
	R_CHALLENGE,
	R_ISSUE,
	R_PREVIEW,
	R_CERTS,
	R_AUDIT,
	R_VCARD,
	R_STATS,
	R_UI,
	R_RP_LOGIN,
	R_RP_VERIFY,
	R_APPS,
	R_NOTICES,
	R_RP_BASIC4,
	R_TSA,
	R_N
};
const char *srv_route_name(int route);

/* ---- admission classes ---- */
enum srv_class_id {
	CLS_OCSP = 0, /* live OCSP signing: nonce requests and cache misses */
	CLS_AUTH,     /* log-in: scrypt is deliberately expensive */
	CLS_READ,     /* API reads, issuance preview */
	CLS_WRITE,    /* API mutations other than issuance */
	CLS_ISSUE,    /* issuance, grouped into ca_issue_batch */
	CLS_N,
	CLS_INLINE = CLS_N, /* answered on the HTTP thread from memory */
	CLS_ALL
};
const char *srv_class_name(int cls);

/* ---- roles ---- */
enum srv_role {
	ROLE_NONE = 0,
	ROLE_CLERK = 1,
	ROLE_SUPERVISOR = 2,
	ROLE_CA_ADMIN = 3,
};
const char *srv_role_name(int role);
int srv_role_parse(const char *s);

enum srv_method { M_GET = 1, M_POST, M_PATCH, M_DELETE, M_HEAD, M_OTHER };

typedef struct server server;
typedef struct srv_req srv_req;
typedef struct srv_worker srv_worker;
typedef void (*srv_handler)(srv_worker *w, srv_req *r);
/* runs on the HTTP thread with the request (no store) */
typedef void (*srv_inline_fn)(srv_req *r);
/* answers from memory on the HTTP thread, before any allocation */
typedef enum MHD_Result (*srv_memory_fn)(server *s, struct MHD_Connection *conn,
					 const char *url, double t0,
					 void **con_cls);

/* ---- the router: one table takes every path (api.c) ----
 * A route is a method, a path pattern ("*" matches one segment, a final
 * "**" the rest), the metrics label, how it runs, its admission class,
 * the role it needs, its body limit and media type, and its handler: the
 * union member that `run` names, never NULL (tests/unit/test_router.c). */
enum srv_run {
	SRV_RUN_MEMORY, /* GET answered from memory: h.serve */
	SRV_RUN_INLINE, /* on the HTTP thread with a srv_req: h.run */
	SRV_RUN_WORKER, /* admitted to class `cls`, run by a worker: h.work */
};
enum srv_media {
	SRV_MEDIA_JSON,
	SRV_MEDIA_CSV,
	SRV_MEDIA_ANY,
	SRV_MEDIA_TSQ, /* application/timestamp-query (RFC 3161 3.4) */
};
typedef struct srv_route_def {
	int method;
	const char *path;
	int route; /* enum srv_route, for /metrics */
	int run;   /* enum srv_run */
	int cls;   /* enum srv_class_id; CLS_INLINE unless SRV_RUN_WORKER */
	int role;  /* the least role; ROLE_NONE: no session */
	size_t body;
	int media; /* enum srv_media */
	union {
		srv_memory_fn serve;
		srv_inline_fn run;
		srv_handler work;
	} h;
} srv_route_def;
const srv_route_def *srv_routes(size_t *n);
/* Find the route of (method, url): 0 and *out; -1 when no route has this
 * path (404); -2 when some have, none with this method (405): *out is one
 * of them and allow ("GET, POST") lists their methods.  The "*" segment
 * goes to arg (cap); one too long matches nothing. */
JPKI_MUST_CHECK int srv_route_find(int method, const char *url,
				   const srv_route_def **out, char *arg,
				   size_t cap, char *allow, size_t allow_cap);
const char *srv_method_name(int method);

#define SRV_SID_LEN 32
#define SRV_ARG_MAX 128

/* ---- an OCSP request as read once (ocsp_req.c) ---- */
#define SRV_OCSP_KEY_MAX 160
typedef struct srv_ocsp_parsed {
	bool ok;     /* strict DER of an OCSPRequest: req holds it */
	bool simple; /* one CertID, no extensions, no signature */
	int kind; /* root the first CertID names: JPKI_CERT_SIGN/AUTH, 0 none */
	size_t key_off, key_len; /* CertID TLV inside the request */
	uint8_t serial[20];
	size_t serial_len; /* minimal magnitude, no leading zeros */
	jpki_ocsp_req req; /* points into the request's bytes */
} srv_ocsp_parsed;

/* One HTTP request (MHD's con_cls).  Owned by the HTTP thread except
 * while queued: from srv_admit() until the worker resumes the connection
 * it belongs to the worker alone. */
struct srv_req {
	server *s;
	struct MHD_Connection *conn;
	int route;
	int cls;
	int method;
	double t0;
	srv_handler fn;
	const srv_route_def *def; /* its route (NULL: none, or OCSP GET) */
	char arg[SRV_ARG_MAX];	  /* path argument (id, serial, name) */
	char arg2[SRV_ARG_MAX];	  /* query "q" */
	int limit;		  /* query "limit" */
	/* the operator, copied from the session at admission */
	bool authed;
	int role;
	char actor[64];
	uint8_t sid[SRV_SID_LEN];
	/* body, at most body_max bytes */
	jpki_wbuf body;
	size_t body_max;
	const char *body_type; /* the media type a body must have */
	bool too_big;
	/* queue */
	bool queued;
	double deadline;
	srv_req *next;
	/* answer */
	int status;
	struct MHD_Response *resp;
	bool done;
	bool counted; /* metrics recorded */
	/* OCSP: the request read once on the HTTP thread (points into
	 * body); ocsp.ok false when it was malformed */
	srv_ocsp_parsed ocsp;
	unsigned client;  /* srv_client_of */
	size_t body_held; /* bytes reserved with srv_clients_body_take */
	bool over_budget; /* a body past the client's or global budget */
};

/* ---- workers and admission (admission.c) ---- */
struct srv_worker {
	server *s;
	int cls;
	jpki_ca *ca;
	pthread_t th;
	bool started;
};

typedef struct srv_class {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	srv_req **ring;
	size_t cap, head, len;
	int nworkers;
	srv_worker *w;
	int deadline_ms;
	int batch; /* requests popped at once (issuance) */
	bool stopping;
	bool init;
} srv_class;

/* Start every class's workers, each with its own CA handle. */
JPKI_MUST_CHECK int srv_classes_start(server *s, const server_config *cfg,
				      jpki_err *err);
/* Answer everything queued with 503, join the workers (the queues stay
 * readable for /metrics until srv_classes_free). */
void srv_classes_stop(server *s);
void srv_classes_free(server *s);
/* Queue r in its class and suspend its connection.  false when the class
 * is full or stopping: the caller answers 503 at once. */
bool srv_admit(server *s, srv_req *r);
/* Whether the class would accept one more now (an early, cheap refusal
 * before the body is read). */
bool srv_class_has_room(server *s, int cls);
size_t srv_class_len(server *s, int cls);
size_t srv_class_cap(server *s, int cls);

/* ---- metrics (metrics.c) ---- */
#define SRV_HIST_BUCKETS 14
typedef struct srv_metrics {
	atomic_ulong req[R_N][17];
	atomic_ulong admitted[CLS_N], rejected[CLS_N], expired[CLS_N];
	atomic_ulong body_refused; /* bodies past a byte budget (503) */
	atomic_ulong storage_faults;
	atomic_bool damaged;	    /* a damaged store seen: /healthz fails */
	atomic_llong fault_logged;  /* monotonic second of the last log line */
	atomic_ulong body_timeouts; /* bodies not in within SRV_BODY_SECONDS */
	atomic_ulong hist[CLS_ALL][SRV_HIST_BUCKETS + 1];
	atomic_ulong hist_sum_us[CLS_ALL];
	atomic_ulong ocsp_hits, ocsp_misses, ocsp_live, ocsp_presigned;
	/* answers taken from the saved spill file at start; warm-up done */
	atomic_ulong ocsp_restored, ocsp_warm_done;
	atomic_ulong crl_generated, batches, batched;
} srv_metrics;

/* Count one answered request: route/status, and its latency in the
 * class's histogram unless it was refused by admission control. */
void srv_metrics_done(server *s, int route, int cls, int status, double seconds,
		      bool rejected);
/* Prometheus text exposition; *out malloc'ed. */
JPKI_MUST_CHECK int srv_metrics_render(server *s, char **out, size_t *len);

/* ---- OCSP (ocsp_req.c, ocsp_cache.c) ---- */

/* Issuer name/key hashes of both roots, SHA-1 and SHA-256. */
typedef struct srv_issuer_hashes {
	uint8_t name1[20], key1[20], name256[32], key256[32];
} srv_issuer_hashes;
JPKI_MUST_CHECK int srv_issuer_hashes_of(X509 *root, srv_issuer_hashes *h,
					 jpki_err *err);

/* The one read of an OCSPRequest (x509_ocsp_req_parse) plus what the
 * cache needs: 0 when it is strict DER (p->ok; p->simple when it is the
 * RFC 5019 shape with a cacheable serial, p->kind the root it names),
 * JPKI_ERR_PARSE when malformed (answered malformedRequest). */
JPKI_MUST_CHECK int srv_ocsp_parse(const uint8_t *req, size_t len,
				   const srv_issuer_hashes roots[3],
				   srv_ocsp_parsed *p);
/* Whether the (first) CertID of a parsed request names the root of `h`
 * (an older root generation's: srv_ocsp_parse knows the newest only). */
bool srv_ocsp_names_issuer(const srv_ocsp_parsed *p,
			   const srv_issuer_hashes *h);
/* DER OCSPRequest with the one CertID `certid` (for pre-signing). */
JPKI_MUST_CHECK int srv_ocsp_wrap(const uint8_t *certid, size_t len,
				  uint8_t *out, size_t cap, size_t *out_len);

typedef struct srv_ocsp_cache srv_ocsp_cache;
/* At most max entries, the first hot_max of them hot (a response ready in
 * memory), the others cold (DER in an unlinked file in spill_dir; NULL =
 * none, and max is hot_max). */
JPKI_MUST_CHECK int srv_ocsp_cache_new(size_t max, size_t hot_max,
				       const char *spill_dir, int max_age,
				       srv_ocsp_cache **out);
void srv_ocsp_cache_free(srv_ocsp_cache *c);
size_t srv_ocsp_cache_size(srv_ocsp_cache *c);
size_t srv_ocsp_cache_hot(srv_ocsp_cache *c);
/* Queue the cached answer for key on conn: MHD_YES/NO, or -1 on a miss. */
JPKI_MUST_CHECK int
srv_ocsp_cache_serve(srv_ocsp_cache *c, const uint8_t *serial,
		     size_t serial_len, const uint8_t *key, size_t key_len,
		     struct MHD_Connection *conn, const char *if_none_match,
		     time_t now, int *status);
/* Generation of the serial's shard: take it before reading the status
 * from the store, pass it to install, which refuses when the serial was
 * dropped meanwhile. */
uint64_t srv_ocsp_cache_capture(srv_ocsp_cache *c, const uint8_t *serial,
				size_t serial_len);
/* Install a signed response (DER OCSPResponse, one SingleResponse). */
JPKI_MUST_CHECK int srv_ocsp_cache_install(srv_ocsp_cache *c, int kind,
					   const uint8_t *key, size_t key_len,
					   const uint8_t *serial,
					   size_t serial_len,
					   const uint8_t *der, size_t len,
					   uint64_t captured, time_t now);
void srv_ocsp_cache_drop(srv_ocsp_cache *c, const uint8_t *serial,
			 size_t serial_len);
/* Cached status of any variant of a serial: 0 and the status and reason, or
 * JPKI_ERR_NOT_FOUND. */
JPKI_MUST_CHECK int srv_ocsp_cache_status(srv_ocsp_cache *c,
					  const uint8_t *serial,
					  size_t serial_len, int *status,
					  int *reason);
typedef struct srv_ocsp_due {
	int kind;
	uint8_t key[SRV_OCSP_KEY_MAX];
	size_t key_len;
	uint8_t serial[20];
	size_t serial_len;
	time_t next_update; /* of the answer held now (0: none readable) */
} srv_ocsp_due;
/* Where a sweep over the cache stands (zeroed: at the start). */
typedef struct srv_ocsp_cursor {
	size_t shard, bucket;
} srv_ocsp_cursor;
/* One step of a sweep for answers whose refresh time has come: from *cur,
 * look at about `budget` entries (whole hash chains), put up to max due
 * ones in out and move *cur on; *wrapped is set when the step passed the
 * end of the cache (one sweep done).  A step holds one shard's lock at a
 * time.  A shard that grows meanwhile may have some entries looked at
 * twice or not until the next sweep. */
size_t srv_ocsp_cache_due_step(srv_ocsp_cache *c, time_t now,
			       srv_ocsp_cursor *cur, size_t budget,
			       srv_ocsp_due *out, size_t max, bool *wrapped);

/* Whether key's answer is cached and not yet due for re-signing. */
bool srv_ocsp_cache_fresh(srv_ocsp_cache *c, const uint8_t *key, size_t key_len,
			  const uint8_t *serial, size_t serial_len, time_t now);
/* The answers over a restart (a spill file only): every answer not yet
 * due written to dir/ocsp-answers.saved at once (temporary file, fsync,
 * rename), with tag (SHA-256 of the CA's roots) and a SHA-256 of the
 * whole.  JPKI_ERR_STATE without a spill file. */
JPKI_MUST_CHECK int srv_ocsp_cache_save(srv_ocsp_cache *c, const char *dir,
					const uint8_t tag[32], time_t now,
					size_t *saved);
/* What the store says now, asked for each saved answer: scan once the
 * cache's generations are taken (0, or a jpki_rc: nothing loaded), then
 * matches per answer (false: its status changed, not loaded). */
typedef struct srv_ocsp_expect {
	int (*scan)(void *ctx);
	bool (*matches)(void *ctx, const uint8_t *serial, size_t len,
			int status, int reason);
	void *ctx;
} srv_ocsp_expect;
typedef struct srv_ocsp_loaded {
	bool absent;	     /* no saved file */
	const char *refused; /* why the file was refused (and removed) */
	size_t reused, stale, changed, bad;
} srv_ocsp_loaded;
/* Install the saved answers still fresh (before their re-signing time)
 * whose status x still matches.  The whole file is checked first (digest,
 * tag, layout); one that fails is refused whole (st->refused, the file
 * removed, JPKI_ERR_PARSE) and nothing of it installed. */
JPKI_MUST_CHECK int srv_ocsp_cache_load(srv_ocsp_cache *c, const char *dir,
					const uint8_t tag[32],
					const srv_ocsp_expect *x, time_t now,
					srv_ocsp_loaded *st);

/* Response headers of a signed OCSP response (RFC 5019 §6.2): parse the
 * one SingleResponse for its times and status. */
typedef struct srv_ocsp_info {
	int status, reason;
	time_t this_update, next_update;
} srv_ocsp_info;
JPKI_MUST_CHECK int srv_ocsp_info_of(const uint8_t *der, size_t len,
				     srv_ocsp_info *info);
/* Build an MHD response for DER bytes (copied) with the OCSP headers;
 * nonce = no caching. */
struct MHD_Response *srv_ocsp_response(const uint8_t *der, size_t len,
				       const srv_ocsp_info *info, bool nonce,
				       int max_age, time_t now, char *etag,
				       size_t etag_cap);

/* ---- CRL cache (crl_cache.c) ---- */
typedef struct srv_crl_cache srv_crl_cache;
JPKI_MUST_CHECK int srv_crl_cache_new(int max_age, srv_crl_cache **out);
void srv_crl_cache_free(srv_crl_cache *c);
size_t srv_crl_cache_size(srv_crl_cache *c);
/* key: "crl/sign/132217", "crl/auth/full", "arl/sign"; an older root
 * generation N's CRLs: "crl/sign/132217-gN", "crl/auth/full-gN". */
JPKI_MUST_CHECK int srv_crl_cache_serve(srv_crl_cache *c, const char *key,
					struct MHD_Connection *conn,
					const char *if_none_match, int *status);
/* Install DER; refused (0, nothing done) when the cached CRL has a higher
 * or equal cRLNumber. */
JPKI_MUST_CHECK int srv_crl_cache_install(srv_crl_cache *c, const char *key,
					  int kind, int scope, int gen,
					  const char *muni, const uint8_t *der,
					  size_t len, time_t now);
typedef struct srv_crl_ref {
	char key[48];
	int kind, scope;
	int gen; /* root generation that signs it; 0: the newest */
	char muni[8];
	uint64_t fp_count, fp_xor;
} srv_crl_ref;
/* Every cached CRL (refs), or those due for refresh when due_only. */
size_t srv_crl_cache_list(srv_crl_cache *c, time_t now, bool due_only,
			  srv_crl_ref *out, size_t max);
bool srv_crl_cache_has(srv_crl_cache *c, const char *key);
/* Fingerprint of a set of revoked serials as the cache computes it. */
void srv_crl_fp_add(uint64_t *count, uint64_t *x, const uint8_t *serial,
		    size_t len, int reason);

/* ---- publishing (publish.c): refresher thread and post-change hooks ---- */
JPKI_MUST_CHECK int srv_publish_start(server *s, jpki_err *err);
void srv_publish_stop(server *s);
/* After a commit that revoked `serial_hex` (through any handle): drop and
 * re-sign its OCSP responses, regenerate its CRLs. */
void srv_publish_revoked(srv_worker *w, const char *serial_hex);
/* After a commit that issued certificates: pre-sign in the background. */
void srv_publish_issued(server *s, const char *serial_hex, int kind);
/* After a municipality was recorded: generate its CRLs. */
void srv_publish_muni(srv_worker *w, const char *muni);
/* Sign and cache the SHA-1 CertID response of one certificate, under the
 * CertID of the root generation that issued it (row_gen: the store row's
 * gen; 0: the newest). */
JPKI_MUST_CHECK int srv_presign(server *s, jpki_ca *ca, int kind, int row_gen,
				const char *serial_hex, time_t now);
/* At a clean stop: the pre-signed answers saved for the next start
 * (srv_ocsp_cache_save; reused by warm-up after the checks). */
void srv_ocsp_spill_save(server *s);
/* Generate and install one CRL, signed by root generation gen (0: the
 * newest; an older one is published as "...-gN"). */
JPKI_MUST_CHECK int srv_crl_make(server *s, jpki_ca *ca, int kind, int scope,
				 int gen, const char *muni, time_t now);

/* ---- operators and sessions (operators.c, session.c) ---- */
#define SRV_OP_NAME_MAX 32
JPKI_MUST_CHECK int srv_operator_check_name(const char *name);
/* Create an operator in the store (JPKI_ERR_EXISTS if taken), audited. */
JPKI_MUST_CHECK int srv_operator_create(jpki_ca *ca, const char *name, int role,
					const char *password, const char *actor,
					time_t now, jpki_err *err);
/* 0 and *role when name/password match; JPKI_ERR_AUTH otherwise (the
 * same work is done for an unknown name). */
JPKI_MUST_CHECK int srv_operator_verify(jpki_ca *ca, const char *name,
					const char *password, int *role,
					jpki_err *err);
/* Whether any operator exists. */
JPKI_MUST_CHECK int srv_operator_any(jpki_ca *ca, bool *any, jpki_err *err);
JPKI_MUST_CHECK int srv_operator_list(jpki_ca *ca, json_t **out, jpki_err *err);
JPKI_MUST_CHECK int srv_operator_set_password(jpki_ca *ca, const char *name,
					      const char *password,
					      const char *actor, time_t now,
					      jpki_err *err);

/* One operator's record, without its hash ({name, role, changed,
 * disabled}); JPKI_ERR_NOT_FOUND when there is none. */
JPKI_MUST_CHECK int srv_operator_get(jpki_ca *ca, const char *name,
				     json_t **out, jpki_err *err);
/* Disable (log-in refused) or enable again, audited.  One cannot disable
 * oneself, nor the last enabled ca-admin (JPKI_ERR_STATE). */
JPKI_MUST_CHECK int srv_operator_set_disabled(jpki_ca *ca, const char *name,
					      bool disabled, const char *actor,
					      time_t now, jpki_err *err);
/* An operator's own change: JPKI_ERR_AUTH unless `current` is right. */
JPKI_MUST_CHECK int srv_operator_change_own(jpki_ca *ca, const char *name,
					    const char *current,
					    const char *password, time_t now,
					    jpki_err *err);
/* Which sessions must end: operators disabled, and sessions logged in
 * with an older generation of the record (each password change and each
 * disable counts one up). */
typedef struct srv_op_cutoff {
	char name[SRV_OP_NAME_MAX + 1];
	bool disabled;
	int64_t gen;
} srv_op_cutoff;
/* srv_operator_verify, with the record's generation for the session. */
JPKI_MUST_CHECK int srv_operator_verify_gen(jpki_ca *ca, const char *name,
					    const char *password, int *role,
					    int64_t *gen, jpki_err *err);
/* The record's generation now. */
JPKI_MUST_CHECK int srv_operator_gen(jpki_ca *ca, const char *name,
				     int64_t *gen, jpki_err *err);
JPKI_MUST_CHECK int srv_operator_cutoffs(jpki_ca *ca, srv_op_cutoff *out,
					 size_t max, size_t *n, jpki_err *err);

/* Sessions, challenges, relying-party nonces and one-time downloads live
 * in the store (store_token_*, session.c), so that every jpkid node on
 * one store answers every request; `st` is a handle of their own, used
 * under the table's lock (srv_sessions_lock). */
typedef struct srv_sessions srv_sessions;
JPKI_MUST_CHECK int srv_sessions_new(store *st, srv_sessions **out);
store *srv_sessions_lock(srv_sessions *t);
void srv_sessions_unlock(srv_sessions *t);
/* The row id of a secret: upper-case hex of its SHA-256. */
void srv_token_id(const uint8_t *secret, size_t len,
		  char out[STORE_TOKEN_ID_LEN + 1]);
/* Delete rows past their expiry (at most every few seconds). */
void srv_tokens_sweep(srv_sessions *t, time_t now);
void srv_sessions_free(srv_sessions *t);
size_t srv_sessions_count(srv_sessions *t);
/* New session: sid and csrf (hex, 65 bytes each); _gen with the
 * generation of the operator's record it logged in with (0 otherwise). */
JPKI_MUST_CHECK int srv_session_create(srv_sessions *t, const char *name,
				       int role, time_t now, char sid_hex[65],
				       char csrf_hex[65], time_t *expires);
JPKI_MUST_CHECK int srv_session_create_gen(srv_sessions *t, const char *name,
					   int role, int64_t gen, time_t now,
					   char sid_hex[65], char csrf_hex[65],
					   time_t *expires);
/* Look up the session of a cookie value; csrf (may be NULL) is checked
 * when check_csrf.  0, JPKI_ERR_AUTH (no or expired session),
 * JPKI_ERR_POLICY (CSRF token missing or wrong) or JPKI_ERR_IO (the store
 * failed: answer 503). */
JPKI_MUST_CHECK int srv_session_get(srv_sessions *t, const char *sid_hex,
				    bool check_csrf, const char *csrf,
				    time_t now, srv_req *r, char csrf_out[65],
				    time_t *expires);
void srv_session_end(srv_sessions *t, const uint8_t sid[SRV_SID_LEN]);
/* End every session of operator `name` but `keep` (may be NULL; it takes
 * generation `gen`); how many ended. */
size_t srv_sessions_end_operator(srv_sessions *t, const char *name,
				 const uint8_t *keep, int64_t gen);
/* Give a session a generation (before one's own password change, so
 * that the change's cutoff spares it). */
void srv_session_set_gen(srv_sessions *t, const uint8_t sid[SRV_SID_LEN],
			 int64_t gen);
/* End the sessions the cutoffs condemn (changes made through the store,
 * e.g. by `jpki operator`); how many ended. */
size_t srv_sessions_sync(srv_sessions *t, const srv_op_cutoff *c, size_t nc);
/* Issuance challenges bound to a session, single use. */
#define SRV_CHALLENGE_TTL 300
JPKI_MUST_CHECK int srv_challenge_new(srv_sessions *t,
				      const uint8_t sid[SRV_SID_LEN],
				      time_t now, char out_b64[64]);
/* Bounds on open challenges, so that one clerk cannot fill the table for
 * the others. */
#define SRV_CHALLENGES_PER_SESSION 256
#define SRV_CHALLENGES_PER_OPERATOR 1024
/* As srv_challenge_new, telling the causes apart: JPKI_ERR_RANGE when
 * the session or its operator holds its share (*retry_after: seconds
 * until its first challenge expires), JPKI_ERR_STATE when the whole table
 * is full, JPKI_ERR_AUTH without a session. */
JPKI_MUST_CHECK int srv_challenge_open(srv_sessions *t,
				       const uint8_t sid[SRV_SID_LEN],
				       time_t now, char out_b64[64],
				       int *retry_after);
/* 0 when the challenge was this session's, open and is now used;
 * JPKI_ERR_UNAVAILABLE when the store is out of reach (try again with a new
 * challenge); otherwise it is unknown, used, expired or another's. */
JPKI_MUST_CHECK int srv_challenge_take(srv_sessions *t,
				       const uint8_t sid[SRV_SID_LEN],
				       const char *b64, time_t now);

/* ---- the service's clock: time(NULL) + the test-only offset ---- */
time_t srv_time(const server *s);

/* ---- virtual-card images waiting for their one download (api_cards.c,
 * sealed in the store) */
#define SRV_DL_MAX 32  /* images held at once */
#define SRV_DL_TTL 300 /* seconds an image waits for its download */
#define SRV_DL_IMAGE_MAX (256 * 1024)
/* Zero and drop images past their expiry (the refresher calls it). */
void srv_downloads_sweep(server *s, time_t now);
void srv_downloads_free(server *s);
/* GET /api/v1/cards/virtual/{serial}/image, on the HTTP thread. */
void srv_download_take(srv_req *r);
/* Hand a card image to the one-time download table for the session `sid`
 * (*img taken on success; JPKI_ERR_RANGE when the table is full). */
JPKI_MUST_CHECK int srv_download_put(server *s, const char *serial,
				     const uint8_t *sid, uint8_t **img,
				     size_t len, time_t now);

/* ---- today's counters for the dashboard (api_stats.c) ---- */
enum srv_count { CNT_ISSUED = 0, CNT_RENEWED, CNT_REVOKED, CNT_N };
void srv_count_add(server *s, int what, unsigned n);
json_t *srv_stats_json(server *s);

/* ---- the counter's web UI (ui.c; files embedded at build time) ---- */
typedef struct srv_asset {
	const char *name; /* "index.html", "app.js" */
	const unsigned char *data;
	size_t len;
} srv_asset;
extern const srv_asset srv_assets[];
extern const size_t srv_assets_n;
/* Answer GET / and /ui/{name}; MHD_NO when url is not the UI's. */
bool srv_ui_path(const char *url);
enum MHD_Result srv_ui_serve(server *s, struct MHD_Connection *conn,
			     const char *url, double t0);

/* ---- relying parties: log-in and verification (api_login.c,
 * api_verify.c) ---- */
#define SRV_RP_NONCE_LEN 32	      /* 256 random bits */
#define SRV_RP_NONCE_TTL 120	      /* s, unless server_config says */
#define SRV_RP_ORIGIN_MAX 127	      /* fits srv_req.arg2 */
#define SRV_RP_VERIFY_BODY (2u << 20) /* JSON body of POST /api/v1/verify */
typedef struct srv_rp_nonces srv_rp_nonces;
JPKI_MUST_CHECK int srv_rp_nonces_new(int ttl, srv_sessions *sess,
				      srv_rp_nonces **out);
void srv_rp_nonces_free(srv_rp_nonces *t); /* NULL is fine */
/* Whether o is an origin in the one form compared (api_login.c). */
bool srv_rp_origin_ok(const char *o);
/* The text the card signs to log in; its length, or -1 when cap is too
 * small. */
JPKI_MUST_CHECK int srv_rp_login_tbs(const char *origin, const char *nonce_b64,
				     char *out, size_t cap);
/* A validator trusting this CA's two roots (caller frees, val_free). */
typedef struct jpki_validator jpki_validator;
JPKI_MUST_CHECK int srv_rp_validator(server *s, jpki_validator **out,
				     jpki_err *err);
/* An OCSP answer for cert, signed in process from the store, given to
 * the validator; nothing for a certificate none of its roots issued. */
JPKI_MUST_CHECK int srv_rp_ocsp_add(srv_worker *w, jpki_validator *v,
				    X509 *cert, time_t now, jpki_err *err);
/* The same for every certificate a CMS carries (at most 4); a document
 * that does not parse is left to val_cms to judge. */
JPKI_MUST_CHECK int srv_rp_ocsp_for_cms(srv_worker *w, jpki_validator *v,
					const uint8_t *p, size_t len,
					time_t now, jpki_err *err);
void api_rp_challenge(srv_worker *w, srv_req *r);
void api_rp_login(srv_worker *w, srv_req *r);
void api_rp_verify(srv_worker *w, srv_req *r);
/* The log-in nonce table also holds the consent nonces of the latest
 * basic-4 service, bound to "basic4:" RP-NAME instead of an origin. */
enum srv_rp_nonce_verdict {
	SRV_NV_OK = 0,
	SRV_NV_UNKNOWN,
	SRV_NV_REPLAYED,
	SRV_NV_EXPIRED,
	SRV_NV_BOUND, /* issued for another origin or relying party */
};
/* A new nonce bound to `bound`; JPKI_ERR_RANGE when the table is full. */
JPKI_MUST_CHECK int srv_rp_nonce_new(srv_rp_nonces *t, const char *bound,
				     time_t now,
				     uint8_t nonce[SRV_RP_NONCE_LEN]);
/* Take a nonce (a known one is used up whatever the verdict): a
 * srv_rp_nonce_verdict, and what it was bound to in was_bound. */
JPKI_MUST_CHECK int srv_rp_nonce_take(srv_rp_nonces *t,
				      const uint8_t nonce[SRV_RP_NONCE_LEN],
				      const char *bound, time_t now,
				      char *was_bound, size_t was_cap);
int srv_rp_nonce_ttl(const srv_rp_nonces *t);
/* A challenge for r's client (srv_clients_challenge_take), or 429 with
 * Retry-After answered and false. */
bool srv_rp_challenge_admit(srv_req *r);
/* Answer 401 for a nonce srv_rp_nonce_take refused: unknown, replayed or
 * expired, worded for `use` ("log-in", "consent"); a nonce bound to
 * something else gets `bound_code` and `bound_msg`.  Returns 0 when the
 * verdict was SRV_NV_OK (nothing answered), 1 when it answered. */
int srv_reply_nonce(srv_req *r, const srv_rp_nonces *t, int verdict,
		    const char *use, const char *bound_code,
		    const char *bound_msg);
/* 最新の基本4情報 (api_basic4.c): relying parties with an API key. */
#define SRV_RP_AUTH_MAX 127 /* "Bearer NAME.SECRET", fits srv_req.arg2 */
void api_rp_basic4_challenge(srv_worker *w, srv_req *r);
void api_rp_basic4_latest(srv_worker *w, srv_req *r);

/* ---- the server ---- */
/* ---- per-client accounting (clients.c) ---- */
#define SRV_BODY_SECONDS 60 /* default time a request body has to arrive */
typedef struct srv_clients srv_clients;
typedef struct srv_clients_cfg {
	const char *trust_proxy; /* its X-Forwarded-For names the client */
	size_t body_max_total;	 /* body bytes buffered at once, all clients */
	size_t body_max_client;	 /* ... by one client */
	double challenge_rate;	 /* log-in/consent challenges a second */
	double challenge_burst;	 /* ... at once */
} srv_clients_cfg;
/* A slot in 0..slots-1 for n bytes at p under a random 16-byte key: who
 * does not know the key cannot aim at another's slot. */
unsigned srv_keyed_slot(const uint8_t key[16], const void *p, size_t n,
			unsigned slots);
JPKI_MUST_CHECK int srv_clients_new(const srv_clients_cfg *cfg,
				    srv_clients **out, jpki_err *err);
void srv_clients_free(srv_clients *c);
/* The client's slot (see clients.c). */
unsigned srv_client_of(const srv_clients *c, struct MHD_Connection *conn);
/* Reserve n more body bytes for `client`: false when that would pass its
 * own cap or the global one (nothing reserved then). */
bool srv_clients_body_take(srv_clients *c, unsigned client, size_t n);
void srv_clients_body_give(srv_clients *c, unsigned client, size_t n);
size_t srv_clients_body_total(srv_clients *c);
/* One challenge for `client` at monotonic time `now`: false (and the
 * seconds until the next one) when its bucket is empty. */
bool srv_clients_challenge_take(srv_clients *c, unsigned client, double now,
				int *retry_after);

/* The audit chain's head signed and appended outside the database
 * (ca_audit_checkpoint): after every revocation jpkid publishes, and once
 * a minute while the log grows.  A failure is logged, never fatal. */
#define CHECKPOINT_EVERY 60
void srv_audit_checkpoint(server *s, jpki_ca *ca, time_t now);

/* ---- wrong passwords at log-in (throttle.c) ---- */
#define THROTTLE_WINDOW 900 /* seconds in which failures count */
#define THROTTLE_LOCK 900   /* seconds a lockout lasts */
#define THROTTLE_ACCOUNT_FAILS 5
#define THROTTLE_CLIENT_FAILS 20
#define SRV_LOCKED_ACCOUNT 1
#define SRV_LOCKED_CLIENT 2
typedef struct srv_throttle srv_throttle;
JPKI_MUST_CHECK int srv_throttle_new(srv_throttle **out);
void srv_throttle_free(srv_throttle *t);
/* Seconds the log-in of `name` from `client` stays locked (0: open). */
int srv_throttle_check(srv_throttle *t, const char *name, unsigned client,
		       double now);
/* A wrong password: SRV_LOCKED_* bits of what it locked just now. */
int srv_throttle_failed(srv_throttle *t, const char *name, unsigned client,
			double now);
void srv_throttle_ok(srv_throttle *t, const char *name);

struct server {
	char dir[PATH_MAX];
	char store_loc[PATH_MAX + 16];
	bool has_store;
	char ks_loc[PATH_MAX + 16];
	bool has_ks;
	struct MHD_Daemon *mhd;
	unsigned port;
	bool secure_cookies;
	int threads;
	int ocsp_max_age;
	size_t ocsp_max; /* pre-signed answers in all (warm-up's list) */
	size_t ocsp_hot; /* of which ready in memory */
	srv_class cls[CLS_N];
	srv_metrics m;
	srv_ocsp_cache *ocsp;
	srv_crl_cache *crl;
	srv_sessions *sess;
	srv_rp_nonces *rp_nonces; /* relying-party log-in (api_login.c) */
	srv_issuer_hashes roots[3];
	X509 *root_cert[3];
	/* the older root generations (ca rollover): relying parties'
	 * signatures under them still verify */
	X509 *old_roots[32];
	srv_issuer_hashes old_hashes[32]; /* theirs, for OCSP CertIDs */
	int old_kind[32];
	size_t n_old_roots;
	X509 *jlis[4]; /* --trust-jlis: J-LIS roots relying parties may use */
	srv_clients *clients;
	srv_throttle *throttle;
	pthread_mutex_t cp_mu; /* audit checkpoints (publish.c) */
	int64_t cp_seq;	       /* the record last checkpointed */
	bool audit_syslog;     /* each checkpoint also to syslog */
	int body_seconds;      /* a request's body must arrive within this */
	EVP_PKEY *preview_key; /* stands in for a key not given to preview */
	struct jpki_tsa *tsa; /* the CA's TSA (NULL: none), shared, immutable */
	/* the optional TLS listener (tls.c) and the PEM it was given */
	struct MHD_Daemon *mhd_tls;
	unsigned tls_port;
	char *tls_cert, *tls_key, *tls_trust;
	struct MHD_Response *r_malformed, *r_unauthorized;
	/* refresher */
	pthread_t pub_th;
	bool pub_started;
	pthread_mutex_t pub_mu;
	pthread_cond_t pub_cv;
	bool pub_stop;
	struct {
		char serial[STORE_SERIAL_HEX_MAX];
		int kind;
	} * pub_q;
	size_t pub_q_len, pub_q_cap;
	srv_worker pub_w;
	/* OCSP warm-up (publish.c): threads of their own, pre-signing only
	 * while no admitted request is queued or running (live_busy) */
	struct srv_warm *warm;
	atomic_int warm_n; /* its threads running (they also re-sign) */
	atomic_long live_busy;
	bool serving; /* started whole: the answers are saved at stop */
	time_t started;
	long long clock_offset; /* tests only (server_config) */
	jpki_ca *sess_ca;	/* the store handle of s->sess */
	/* revocations told by the store (publish.c, PostgreSQL) */
	pthread_t watch_th;
	bool watch_started;
	atomic_bool watch_stop;
	srv_worker watch_w;
	pthread_mutex_t cnt_mu;
	long cnt_day; /* JST day number the counters are for */
	unsigned long cnt[CNT_N];
};

/* ---- the TLS listener with client certificates (tls.c) ---- */
struct sockaddr_in;
JPKI_MUST_CHECK int srv_tls_start(server *s, const server_config *cfg,
				  const struct sockaddr_in *sa,
				  MHD_AccessHandlerCallback fn,
				  MHD_RequestCompletedCallback done,
				  jpki_err *err);
void srv_tls_stop(server *s);
/* A request on the TLS listener without a client certificate that
 * verifies under the client CA: to be refused (403). */
bool srv_tls_refused(struct MHD_Connection *conn);

/* Open a CA handle for a worker. */
JPKI_MUST_CHECK int srv_open_ca(server *s, jpki_ca **out, jpki_err *err);

/* ---- replies (reply.c) ---- */
double srv_now_mono(void);
/* The answer of a request: a JSON body (stolen). */
void srv_reply_json(srv_req *r, int status, json_t *body);
void srv_reply_error(srv_req *r, int status, const char *code, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
/* The same with the input field it is about ("field" in the JSON). */
void srv_reply_field(srv_req *r, int status, const char *code,
		     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Map a jpki_rc to an HTTP status and answer with its message and a
 * stable code (srv_code_of_rc; "invalid_field" with the field when the
 * message names one). */
void srv_reply_rc(srv_req *r, int rc, const jpki_err *err);
/* A printable document (letters, receipts, the notice files) as 200 with
 * `type`, not cached, and a CSP that runs nothing: the bytes are copied. */
void srv_reply_document(srv_req *r, const void *p, size_t len,
			const char *type);
/* A storage fault seen while serving (damaged or failing store): logged
 * (the first, then one a minute), counted in /metrics, and for damage
 * (JPKI_ERR_INTEGRITY) /healthz turns unhealthy until a restart. */
void srv_storage_fault(server *s, int rc, const char *msg);
/* The machine code of a refusal: invalid, pin_format, unauthenticated,
 * not_found, duplicate, state, documents_missing, inquiry_same_day,
 * revoked, ineligible, window, key, lint, policy, busy, internal. */
const char *srv_code_of_rc(int rc, const char *msg);
/* A refusal by the law: as srv_reply_rc, with the plan's stable reason
 * code ("reason") and its texts ("message_ja", "message_en"); plain
 * srv_reply_rc when the plan did not refuse (plan NULL or ok). */
void srv_reply_plan(srv_req *r, int rc, const jpki_err *err,
		    const jpki_plan *plan);
int srv_status_of_rc(int rc);
/* 503 with Retry-After. */
struct MHD_Response *srv_busy_response(const char *why);
void srv_http_date(time_t t, char out[32]);
/* Strict base64 (standard or URL alphabet, padding optional): *out_len
 * bytes into out (cap). */
JPKI_MUST_CHECK int srv_b64_decode(const char *in, size_t in_len, uint8_t *out,
				   size_t cap, size_t *out_len);
/* Standard base64 with padding, NUL-terminated, into out (cap). */
JPKI_MUST_CHECK int srv_b64_encode(const uint8_t *in, size_t len, char *out,
				   size_t cap);

/* ---- JSON bodies (json.c) ---- */
enum srv_jtype { JT_STRING, JT_INT, JT_BOOL, JT_OBJECT };
typedef struct srv_jfield {
	const char *name;
	int type;
	bool required;
	size_t max; /* strings: byte length limit */
} srv_jfield;
/* Parse r->body as one JSON object and check it against the fields:
 * unknown fields, wrong types, missing required ones and over-long
 * strings are refused (400 answered, NULL returned). */
json_t *srv_json_body(srv_req *r, const srv_jfield *f, size_t n);
/* Check a nested object the same way; message into msg. */
JPKI_MUST_CHECK int srv_json_check(json_t *o, const char *where,
				   const srv_jfield *f, size_t n, char *msg,
				   size_t cap);
const char *srv_jstr(json_t *o, const char *key); /* NULL when absent */

/* ---- API (api_*.c) ---- */
/* Take r's route d (arg: its "*" segment): sets r->route, r->cls, r->fn,
 * r->body_max, r->body_type, r->arg and the query and header arguments;
 * returns the least role (ROLE_NONE: no session) and whether the request
 * must carry the CSRF token. */
int srv_route_apply(srv_req *r, const srv_route_def *d, const char *arg,
		    bool *csrf);
/* the answers from memory (server.c, ui.c) */
enum MHD_Result srv_serve_ocsp_get(server *s, struct MHD_Connection *conn,
				   const char *url, double t0, void **con_cls);
enum MHD_Result srv_serve_crl(server *s, struct MHD_Connection *conn,
			      const char *url, double t0, void **con_cls);
enum MHD_Result srv_serve_healthz(server *s, struct MHD_Connection *conn,
				  const char *url, double t0, void **con_cls);
enum MHD_Result srv_serve_metrics(server *s, struct MHD_Connection *conn,
				  const char *url, double t0, void **con_cls);
enum MHD_Result srv_serve_ui(server *s, struct MHD_Connection *conn,
			     const char *url, double t0, void **con_cls);
/* Issuance: a batch of queued requests. */
void srv_api_issue_batch(srv_worker *w, srv_req **reqs, size_t n);

void api_login(srv_worker *w, srv_req *r);
void api_operators_get(srv_worker *w, srv_req *r);
void api_operators_post(srv_worker *w, srv_req *r);
void api_operator_password(srv_worker *w, srv_req *r);
/* api_admin.c: setting up and supervising */
void api_operator_disable(srv_worker *w, srv_req *r);
void api_operator_enable(srv_worker *w, srv_req *r);
void api_muni_patch(srv_worker *w, srv_req *r);
void api_setup_get(srv_worker *w, srv_req *r);
void api_audit_history(srv_worker *w, srv_req *r);
/* End the sessions of operators disabled or reset through the store. */
void srv_sessions_sync_store(server *s, jpki_ca *ca);
/* Whether an audit detail ("k=v k=v ...") has the token key=value. */
bool srv_audit_detail_has(const char *detail, const char *key,
			  const char *value);
void api_munis_get(srv_worker *w, srv_req *r);
void api_munis_post(srv_worker *w, srv_req *r);
void api_residents_search(srv_worker *w, srv_req *r);
void api_residents_post(srv_worker *w, srv_req *r);
void api_residents_import(srv_worker *w, srv_req *r);
void api_resident_get(srv_worker *w, srv_req *r);
void api_resident_patch(srv_worker *w, srv_req *r);
void api_resident_remove(srv_worker *w, srv_req *r);
void api_cards_post(srv_worker *w, srv_req *r);
void api_cert_get(srv_worker *w, srv_req *r);
void api_cert_revoke(srv_worker *w, srv_req *r);
void api_issue_preview(srv_worker *w, srv_req *r);
void api_issue(srv_worker *w, srv_req *r);
void api_audit_verify(srv_worker *w, srv_req *r);
void api_stats(srv_worker *w, srv_req *r);
/* The counter's applications and expiry notices (api_applications.c). */
void api_apps_list(srv_worker *w, srv_req *r);
/* H3: the JSON view of an application (api_applications.c). */
json_t *srv_app_json(const store_app *a);
/* H3 (api_app_list.c): letters and the office of a municipality. */
void api_app_inquiry_letter(srv_worker *w, srv_req *r);
void api_app_receipt(srv_worker *w, srv_req *r);
void api_muni_office_get(srv_worker *w, srv_req *r);
void api_muni_office_post(srv_worker *w, srv_req *r);
JPKI_MUST_CHECK int srv_office_fields(json_t *b, store_office *o,
				      jpki_err *err);
void api_apps_open(srv_worker *w, srv_req *r);
void api_app_get(srv_worker *w, srv_req *r);
void api_app_documents(srv_worker *w, srv_req *r);
void api_app_inquiry(srv_worker *w, srv_req *r);
void api_app_inquiry_answer(srv_worker *w, srv_req *r);
void api_app_preview(srv_worker *w, srv_req *r);
void api_app_approve(srv_worker *w, srv_req *r);
void api_app_card_produced(srv_worker *w, srv_req *r);
void api_app_card_ready(srv_worker *w, srv_req *r);
void api_app_complete(srv_worker *w, srv_req *r);
void api_app_complete_virtual(srv_worker *w, srv_req *r);
void api_app_reject(srv_worker *w, srv_req *r);
void api_app_cancel(srv_worker *w, srv_req *r);
void api_notices_run(srv_worker *w, srv_req *r);
void api_notices_letters(srv_worker *w, srv_req *r);
void api_notices_mailroom(srv_worker *w, srv_req *r);
/* Proof of possession (api_issue.c): decode a base64 DER SPKI into *out
 * (der holds SRV_SPKI_MAX bytes), and check the openjpki-pop-v1 signature
 * of key over challenge, kind, resident and card. */
#define SRV_SPKI_MAX 2048
JPKI_MUST_CHECK int srv_spki_decode(const char *b64, EVP_PKEY **out,
				    uint8_t *der, size_t *der_len,
				    jpki_err *err);
JPKI_MUST_CHECK int srv_pop_verify(const char *challenge, const char *kname,
				   int64_t resident_id, const char *card,
				   EVP_PKEY *key, const uint8_t *spki,
				   size_t spki_len, const char *pop,
				   jpki_err *err);
/* OCSP live signing (ocsp_live.c). */
void srv_ocsp_live(srv_worker *w, srv_req *r);
/* The RFC 3161 time-stamp authority (tsa.c): a TimeStampReq in, a
 * TimeStampResp out, at jpkid's clock. */
void srv_tsa(srv_worker *w, srv_req *r);

/* PEM text of a DER certificate, as a JSON string. */
json_t *srv_cert_pem(const uint8_t *der, size_t len);
/* {"serial", "validity", "pem"} of a certificate just issued. */
json_t *srv_issued_json(const uint8_t *der, size_t der_len, const char *serial,
			const jpki_validity *v);

/* The counter's card helper: pairing and terminal authentication
 * (api_terminal.c). */
void api_terminal_pair(srv_worker *w, srv_req *r);
void api_terminal_redeem(srv_worker *w, srv_req *r);
void api_terminal_tauth(srv_worker *w, srv_req *r);

#endif
