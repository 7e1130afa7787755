/* Admission control: each class of work has a fixed number of workers and
 * a bounded queue.  A request that finds the queue full is answered 503
 * with Retry-After at once, so the latency of admitted work stays bounded
 * by (queue length / throughput) + its own service time instead of growing
 * with the offered load; a queued request whose deadline passes before a
 * worker takes it is answered 503 too, untouched.  Nothing is partially
 * done: a request is either refused before any work or run to its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_int.h"

/* Defaults per class: workers, queue depth, deadline (ms). */
static const struct {
	int workers, queue, deadline_ms;
} defaults[CLS_N] = {
    [CLS_OCSP] = {2, 64, 2000},	   [CLS_AUTH] = {2, 16, 5000},
    [CLS_READ] = {2, 64, 2000},	   [CLS_WRITE] = {2, 64, 5000},
    [CLS_ISSUE] = {1, 128, 10000},
};

static void finish(server *s, srv_req *r)
{
	/* hand the request back to the HTTP thread: after this call the
	 * worker must not touch r (it may be freed at once) */
	r->done = true;
	MHD_resume_connection(r->conn);
	atomic_fetch_sub_explicit(&s->live_busy, 1, memory_order_relaxed);
}

static void refuse(server *s, srv_req *r, const char *why)
{
	srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "%s", why);
	finish(s, r);
}

static void run_one(srv_worker *w, srv_req *r)
{
	r->fn(w, r);
	if (r->resp == NULL)
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"no answer");
	finish(w->s, r);
}

static void *worker_main(void *arg)
{
	srv_worker *w = arg;
	server *s = w->s;
	srv_class *c = &s->cls[w->cls];
	srv_req *batch[CA_BATCH_MAX];
	for (;;) {
		size_t n = 0;
		bool stopping;
		pthread_mutex_lock(&c->mu);
		while (c->len == 0 && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		stopping = c->stopping;
		while (c->len > 0 && n < (size_t)c->batch) {
			batch[n++] = c->ring[c->head];
			c->head = (c->head + 1) % c->cap;
			c->len--;
		}
		pthread_mutex_unlock(&c->mu);
		if (n == 0 && stopping)
			break;
		double now = srv_now_mono();
		size_t live = 0;
		for (size_t i = 0; i < n; i++) {
			srv_req *r = batch[i];
			if (stopping) {
				refuse(s, r, "shutting down");
			} else if (now > r->deadline) {
				atomic_fetch_add_explicit(&s->m.expired[w->cls],
							  1,
							  memory_order_relaxed);
				refuse(s, r,
				       "deadline passed while queued; try "
				       "again later");
			} else {
				batch[live++] = r;
			}
		}
		if (live == 0)
			continue;
		if (w->cls == CLS_ISSUE) {
			srv_api_issue_batch(w, batch, live);
			for (size_t i = 0; i < live; i++) {
				if (batch[i]->resp == NULL)
					srv_reply_error(
					    batch[i],
					    MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "internal", "no answer");
				finish(s, batch[i]);
			}
		} else {
			for (size_t i = 0; i < live; i++)
				run_one(w, batch[i]);
		}
	}
	return NULL;
}

int srv_classes_start(server *s, const server_config *cfg, jpki_err *err)
{
	int rc;
	for (int k = 0; k < CLS_N; k++) {
		srv_class *c = &s->cls[k];
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		c->init = true;
		c->nworkers = defaults[k].workers;
		c->cap = (size_t)defaults[k].queue;
		c->deadline_ms = defaults[k].deadline_ms;
		c->batch = 1;
		/* issuance: one worker per core plus one, each with its own CA
		 * handle, signing its batch in parallel with the others (the
		 * store serialises only the short commits); the extra worker
		 * signs while another waits for its commit's fsync, so no core
		 * idles (bench_issue).  Other classes: --workers */
		if (k == CLS_ISSUE) {
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			c->nworkers = ncpu < 1	 ? 2
				      : ncpu > 8 ? 9
						 : (int)ncpu + 1;
		} else if (cfg->workers > 0) {
			c->nworkers = cfg->workers;
		}
		if (cfg->queue > 0)
			c->cap = (size_t)cfg->queue;
		if (cfg->deadline_ms > 0)
			c->deadline_ms = cfg->deadline_ms;
		if (k == CLS_ISSUE)
			c->batch = cfg->issue_batch > 0 ? cfg->issue_batch : 32;
		if (c->batch > CA_BATCH_MAX)
			c->batch = CA_BATCH_MAX;
		if (c->cap > 65536 || c->nworkers > 64)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "queue or worker count too large");
		c->ring = calloc(c->cap, sizeof(*c->ring));
		c->w = calloc((size_t)c->nworkers, sizeof(*c->w));
		if (c->ring == NULL || c->w == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		for (int i = 0; i < c->nworkers; i++) {
			srv_worker *w = &c->w[i];
			w->s = s;
			w->cls = k;
			if ((rc = srv_open_ca(s, &w->ca, err)) != 0)
				return rc;
			if (pthread_create(&w->th, NULL, worker_main, w) != 0)
				return jpki_fail(
				    err, JPKI_ERR_NOMEM,
				    "cannot start a worker thread");
			w->started = true;
		}
	}
	return 0;
}

void srv_classes_stop(server *s)
{
	for (int k = 0; k < CLS_N; k++) {
		srv_class *c = &s->cls[k];
		if (!c->init)
			continue;
		pthread_mutex_lock(&c->mu);
		c->stopping = true;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	for (int k = 0; k < CLS_N; k++) {
		srv_class *c = &s->cls[k];
		for (int i = 0; c->init && c->w != NULL && i < c->nworkers;
		     i++) {
			if (c->w[i].started)
				pthread_join(c->w[i].th, NULL);
			c->w[i].started = false;
			ca_close(c->w[i].ca);
			c->w[i].ca = NULL;
		}
	}
}

void srv_classes_free(server *s)
{
	for (int k = 0; k < CLS_N; k++) {
		srv_class *c = &s->cls[k];
		if (!c->init)
			continue;
		free(c->w);
		free(c->ring);
		c->w = NULL;
		c->ring = NULL;
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		c->init = false;
	}
}

bool srv_admit(server *s, srv_req *r)
{
	srv_class *c = &s->cls[r->cls];
	bool ok = false;
	pthread_mutex_lock(&c->mu);
	if (!c->stopping && c->len < c->cap && c->nworkers > 0) {
		r->queued = true;
		/* counted until finish(): warm-up waits while any is */
		atomic_fetch_add_explicit(&s->live_busy, 1,
					  memory_order_relaxed);
		r->deadline = srv_now_mono() + c->deadline_ms / 1000.0;
		/* suspended before a worker can see it: the worker's resume
		 * always follows this suspend */
		MHD_suspend_connection(r->conn);
		c->ring[(c->head + c->len) % c->cap] = r;
		c->len++;
		pthread_cond_signal(&c->cv);
		ok = true;
	}
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_add_explicit(ok ? &s->m.admitted[r->cls]
				     : &s->m.rejected[r->cls],
				  1, memory_order_relaxed);
	return ok;
}

bool srv_class_has_room(server *s, int cls)
{
	srv_class *c = &s->cls[cls];
	pthread_mutex_lock(&c->mu);
	bool ok = !c->stopping && c->len < c->cap;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

size_t srv_class_len(server *s, int cls)
{
	srv_class *c = &s->cls[cls];
	pthread_mutex_lock(&c->mu);
	size_t n = c->len;
	pthread_mutex_unlock(&c->mu);
	return n;
}

size_t srv_class_cap(server *s, int cls)
{
	return s->cls[cls].cap;
}
