/* Prometheus text exposition (version 0.0.4): requests by route and
 * status, admission, latency histograms per class, queues, caches. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

static const int codes[] = {200, 201, 204, 304, 400, 401, 403, 404,
			    405, 409, 413, 415, 422, 500, 503, 504};
#define NCODES (sizeof(codes) / sizeof(codes[0])) /* + 1 for "other" */

static const double buckets[SRV_HIST_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};

const char *srv_route_name(int route)
{
	static const char *const names[R_N] = {
	    "other",	    "healthz",	    "metrics",	 "ocsp",
	    "crl",	    "session",	    "operators", "municipalities",
	    "residents",    "cards",	    "challenge", "issue",
	    "preview",	    "certificates", "audit",	 "virtual-cards",
	    "stats",	    "ui",	    "login",	 "verify",
	    "applications", "notices",	    "basic4",	 "tsa"};
	return route >= 0 && route < R_N ? names[route] : "other";
}

const char *srv_class_name(int cls)
{
	static const char *const names[CLS_ALL] = {"ocsp",  "auth",  "read",
						   "write", "issue", "inline"};
	return cls >= 0 && cls < CLS_ALL ? names[cls] : "inline";
}

void srv_metrics_done(server *s, int route, int cls, int status, double seconds,
		      bool rejected)
{
	size_t ci = NCODES;
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i] == status) {
			ci = i;
			break;
		}
	if (route < 0 || route >= R_N)
		route = R_OTHER;
	if (cls < 0 || cls >= CLS_ALL)
		cls = CLS_INLINE;
	atomic_fetch_add_explicit(&s->m.req[route][ci], 1,
				  memory_order_relaxed);
	if (rejected)
		return;
	size_t b = SRV_HIST_BUCKETS;
	for (size_t i = 0; i < SRV_HIST_BUCKETS; i++)
		if (seconds <= buckets[i]) {
			b = i;
			break;
		}
	atomic_fetch_add_explicit(&s->m.hist[cls][b], 1, memory_order_relaxed);
	double us = seconds * 1e6;
	atomic_fetch_add_explicit(&s->m.hist_sum_us[cls],
				  us > 0 ? (unsigned long)us : 0,
				  memory_order_relaxed);
}

static unsigned long ld(atomic_ulong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static int put(jpki_wbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int put(jpki_wbuf *b, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return JPKI_ERR_RANGE;
	return jpki_wbuf_put(b, line, (size_t)n);
}

static int render_requests(server *s, jpki_wbuf *b)
{
	int rc = put(b, "# HELP jpkid_requests_total HTTP requests answered, "
			"by route and status.\n"
			"# TYPE jpkid_requests_total counter\n");
	for (int r = 0; r < R_N && rc == 0; r++)
		for (size_t c = 0; c <= NCODES && rc == 0; c++) {
			unsigned long v = ld(&s->m.req[r][c]);
			if (v == 0)
				continue;
			if (c < NCODES)
				rc = put(b,
					 "jpkid_requests_total{route=\"%s\","
					 "code=\"%d\"} %lu\n",
					 srv_route_name(r), codes[c], v);
			else
				rc = put(b,
					 "jpkid_requests_total{route=\"%s\","
					 "code=\"other\"} %lu\n",
					 srv_route_name(r), v);
		}
	return rc;
}

static int render_admission(server *s, jpki_wbuf *b)
{
	int rc = put(b, "# HELP jpkid_admitted_total Requests admitted to a "
			"worker queue.\n# TYPE jpkid_admitted_total counter\n");
	for (int c = 0; c < CLS_N && rc == 0; c++)
		rc = put(b, "jpkid_admitted_total{class=\"%s\"} %lu\n",
			 srv_class_name(c), ld(&s->m.admitted[c]));
	if (rc == 0)
		rc = put(b, "# HELP jpkid_rejected_total Requests refused with "
			    "503 because the class was at capacity.\n"
			    "# TYPE jpkid_rejected_total counter\n");
	for (int c = 0; c < CLS_N && rc == 0; c++)
		rc = put(b, "jpkid_rejected_total{class=\"%s\"} %lu\n",
			 srv_class_name(c), ld(&s->m.rejected[c]));
	if (rc == 0)
		rc = put(b, "# HELP jpkid_deadline_exceeded_total Queued "
			    "requests answered 503 because their deadline "
			    "passed before a worker took them.\n"
			    "# TYPE jpkid_deadline_exceeded_total counter\n");
	for (int c = 0; c < CLS_N && rc == 0; c++)
		rc = put(b, "jpkid_deadline_exceeded_total{class=\"%s\"} %lu\n",
			 srv_class_name(c), ld(&s->m.expired[c]));
	if (rc == 0)
		rc = put(b, "# HELP jpkid_queue_length Requests waiting for a "
			    "worker.\n# TYPE jpkid_queue_length gauge\n");
	for (int c = 0; c < CLS_N && rc == 0; c++)
		rc = put(b, "jpkid_queue_length{class=\"%s\"} %zu\n",
			 srv_class_name(c), srv_class_len(s, c));
	if (rc == 0)
		rc = put(b, "# HELP jpkid_queue_capacity Requests a class "
			    "queues before it refuses.\n"
			    "# TYPE jpkid_queue_capacity gauge\n");
	for (int c = 0; c < CLS_N && rc == 0; c++)
		rc = put(b, "jpkid_queue_capacity{class=\"%s\"} %zu\n",
			 srv_class_name(c), srv_class_cap(s, c));
	return rc;
}

static int render_latency(server *s, jpki_wbuf *b)
{
	int rc = put(b, "# HELP jpkid_request_duration_seconds Time from "
			"the request's headers to its answer, admitted "
			"requests only.\n"
			"# TYPE jpkid_request_duration_seconds histogram\n");
	for (int c = 0; c < CLS_ALL && rc == 0; c++) {
		unsigned long cum = 0;
		const char *n = srv_class_name(c);
		for (int i = 0; i < SRV_HIST_BUCKETS && rc == 0; i++) {
			cum += ld(&s->m.hist[c][i]);
			rc = put(b,
				 "jpkid_request_duration_seconds_bucket{class="
				 "\"%s\",le=\"%g\"} %lu\n",
				 n, buckets[i], cum);
		}
		cum += ld(&s->m.hist[c][SRV_HIST_BUCKETS]);
		if (rc == 0)
			rc =
			    put(b,
				"jpkid_request_duration_seconds_bucket{class="
				"\"%s\",le=\"+Inf\"} %lu\n"
				"jpkid_request_duration_seconds_sum{class="
				"\"%s\"} %.6f\n"
				"jpkid_request_duration_seconds_count{class="
				"\"%s\"} %lu\n",
				n, cum, n,
				(double)ld(&s->m.hist_sum_us[c]) / 1e6, n, cum);
	}
	return rc;
}

static int render_caches(server *s, jpki_wbuf *b)
{
	return put(b,
		   "# HELP jpkid_ocsp_cache_entries Pre-signed OCSP responses "
		   "held in memory.\n# TYPE jpkid_ocsp_cache_entries gauge\n"
		   "jpkid_ocsp_cache_entries %zu\n"
		   "# TYPE jpkid_ocsp_cache_hits_total counter\n"
		   "jpkid_ocsp_cache_hits_total %lu\n"
		   "# TYPE jpkid_ocsp_cache_misses_total counter\n"
		   "jpkid_ocsp_cache_misses_total %lu\n"
		   "# HELP jpkid_ocsp_live_signed_total Responses signed for "
		   "one request (nonce, miss).\n"
		   "# TYPE jpkid_ocsp_live_signed_total counter\n"
		   "jpkid_ocsp_live_signed_total %lu\n"
		   "# TYPE jpkid_ocsp_presigned_total counter\n"
		   "jpkid_ocsp_presigned_total %lu\n"
		   "# HELP jpkid_ocsp_restored_total Pre-signed answers taken "
		   "from the saved spill file at start.\n"
		   "# TYPE jpkid_ocsp_restored_total counter\n"
		   "jpkid_ocsp_restored_total %lu\n"
		   "# HELP jpkid_ocsp_warmup_done 1 once every certificate's "
		   "answer was pre-signed after start.\n"
		   "# TYPE jpkid_ocsp_warmup_done gauge\n"
		   "jpkid_ocsp_warmup_done %lu\n"
		   "# TYPE jpkid_crl_cache_entries gauge\n"
		   "jpkid_crl_cache_entries %zu\n"
		   "# TYPE jpkid_crl_generated_total counter\n"
		   "jpkid_crl_generated_total %lu\n"
		   "# HELP jpkid_issue_batches_total ca_issue_batch calls "
		   "(group commits).\n"
		   "# TYPE jpkid_issue_batches_total counter\n"
		   "jpkid_issue_batches_total %lu\n"
		   "# TYPE jpkid_issue_batched_requests_total counter\n"
		   "jpkid_issue_batched_requests_total %lu\n"
		   "# TYPE jpkid_sessions gauge\njpkid_sessions %zu\n",
		   srv_ocsp_cache_size(s->ocsp), ld(&s->m.ocsp_hits),
		   ld(&s->m.ocsp_misses), ld(&s->m.ocsp_live),
		   ld(&s->m.ocsp_presigned), ld(&s->m.ocsp_restored),
		   ld(&s->m.ocsp_warm_done), srv_crl_cache_size(s->crl),
		   ld(&s->m.crl_generated), ld(&s->m.batches),
		   ld(&s->m.batched), srv_sessions_count(s->sess));
}

static int render_bodies(server *s, jpki_wbuf *b)
{
	return put(
	    b,
	    "# HELP jpkid_body_bytes Request body bytes buffered now.\n"
	    "# TYPE jpkid_body_bytes gauge\njpkid_body_bytes %zu\n"
	    "# HELP jpkid_body_refused_total Requests answered 503 "
	    "because their body passed the client's or the global "
	    "byte budget.\n"
	    "# TYPE jpkid_body_refused_total counter\n"
	    "jpkid_body_refused_total %lu\n"
	    "# HELP jpkid_body_timeouts_total Connections closed because "
	    "a body did not arrive within %d s.\n"
	    "# TYPE jpkid_body_timeouts_total counter\n"
	    "jpkid_body_timeouts_total %lu\n"
	    "# HELP jpkid_storage_faults_total Requests that met a "
	    "damaged or failing store (answered 500).\n"
	    "# TYPE jpkid_storage_faults_total counter\n"
	    "jpkid_storage_faults_total %lu\n"
	    "# HELP jpkid_store_damaged 1 once a damaged store was "
	    "seen.\n# TYPE jpkid_store_damaged gauge\n"
	    "jpkid_store_damaged %d\n",
	    srv_clients_body_total(s->clients), ld(&s->m.body_refused),
	    s->body_seconds, ld(&s->m.body_timeouts), ld(&s->m.storage_faults),
	    atomic_load(&s->m.damaged) ? 1 : 0);
}

int srv_metrics_render(server *s, char **out, size_t *len)
{
	jpki_wbuf b;
	jpki_wbuf_init(&b, 1 << 20);
	int rc;
	if ((rc = render_requests(s, &b)) != 0 ||
	    (rc = render_admission(s, &b)) != 0 ||
	    (rc = render_latency(s, &b)) != 0 ||
	    (rc = render_caches(s, &b)) != 0 ||
	    (rc = render_bodies(s, &b)) != 0) {
		jpki_wbuf_free(&b);
		return rc;
	}
	*out = (char *)b.p;
	*len = b.len;
	return 0;
}

/* ---- today's counts and the dashboard's JSON ---- */

static long day_key(time_t now)
{
	jpki_date d = jpki_date_of(now); /* JST */
	return (long)d.y * 10000 + d.m * 100 + d.d;
}

void srv_count_add(server *s, int what, unsigned n)
{
	long day = day_key(srv_time(s));
	if (what < 0 || what >= CNT_N)
		return;
	pthread_mutex_lock(&s->cnt_mu);
	if (s->cnt_day != day) {
		memset(s->cnt, 0, sizeof(s->cnt));
		s->cnt_day = day;
	}
	s->cnt[what] += n;
	pthread_mutex_unlock(&s->cnt_mu);
}

/* GET /api/v1/stats (inline): what this jpkid did today (JST), its queues
 * and the latency histogram of each admission class. */
json_t *srv_stats_json(server *s)
{
	unsigned long cnt[CNT_N];
	time_t now = srv_time(s);
	long day = day_key(now);
	char d[11];
	pthread_mutex_lock(&s->cnt_mu);
	if (s->cnt_day != day) {
		memset(s->cnt, 0, sizeof(s->cnt));
		s->cnt_day = day;
	}
	memcpy(cnt, s->cnt, sizeof(cnt));
	pthread_mutex_unlock(&s->cnt_mu);
	jpki_date_format(jpki_date_of(now), d);
	json_t *queues = json_array(), *lat = json_array();
	for (int c = 0; c < CLS_N; c++)
		json_array_append_new(
		    queues,
		    json_pack("{s:s,s:I,s:I}", "class", srv_class_name(c),
			      "length", (json_int_t)srv_class_len(s, c),
			      "capacity", (json_int_t)srv_class_cap(s, c)));
	for (int c = 0; c < CLS_ALL; c++) {
		json_t *bk = json_array();
		unsigned long total = 0;
		for (int i = 0; i <= SRV_HIST_BUCKETS; i++) {
			unsigned long v = atomic_load_explicit(
			    &s->m.hist[c][i], memory_order_relaxed);
			total += v;
			json_array_append_new(
			    bk,
			    json_pack("{s:f,s:I}", "le",
				      i < SRV_HIST_BUCKETS ? buckets[i] : -1.0,
				      "count", (json_int_t)v));
		}
		double sum = (double)atomic_load_explicit(
				 &s->m.hist_sum_us[c], memory_order_relaxed) /
			     1e6;
		json_array_append_new(lat, json_pack("{s:s,s:I,s:f,s:o}",
						     "class", srv_class_name(c),
						     "count", (json_int_t)total,
						     "sum_seconds", sum,
						     "buckets", bk));
	}
	return json_pack("{s:s,s:{s:I,s:I,s:I},s:o,s:o,s:I}", "day", d, "today",
			 "issued", (json_int_t)cnt[CNT_ISSUED], "renewed",
			 (json_int_t)cnt[CNT_RENEWED], "revoked",
			 (json_int_t)cnt[CNT_REVOKED], "queues", queues,
			 "latency", lat, "uptime_seconds",
			 (json_int_t)(now - s->started));
}
