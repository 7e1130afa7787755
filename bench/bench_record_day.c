/* bench_record_day: the record day of card applications (2023-02-28,
 * 1.19 million), one tenth of it (--total 119000 issuances), with the
 * counter day's morning and after-lunch peaks, compressed into --minutes
 * (10), offered open-loop over HTTP to two jpkid nodes on one PostgreSQL
 * store (--store URI, an empty database: e.g. scripts/pg-cluster.sh url;
 * bench/record_day.sh starts the cluster, runs this, stops everything by
 * PID).
 *
 * The arrival curve (docs/decisions.md): piecewise-constant rates per
 * hour of a counter day 8:30-17:15, a morning peak 10:00-11:00 and the
 * day's highest after lunch 13:00-14:00; each hour's share of the total is
 * exact (largest remainder), the arrivals inside an hour uniformly random
 * (a Poisson process given its count; --even spaces them evenly), seeded
 * (--seed).  --scale F offers F × --total in the same minutes.
 *
 * One issuance is a pair (署名用 + 利用者証明用) for one resident and card:
 * POST /api/v1/issue/challenge, two proofs of possession signed by the
 * client, POST /api/v1/issue.  A 503 (or 429) on either request puts the
 * issuance back to be tried after its Retry-After (at most --max-retries
 * times); a connection lost after the issue request was sent is tried
 * again too, and a 409 then means the first attempt had committed
 * ("held": checked in the store like the rest).  Arrivals are handed to
 * a pool of --workers client threads (half on each node, each with its
 * own session and keep-alive connection); the lag between an arrival's
 * time and its first request is reported, so a pool too small to keep the
 * load open-loop shows.
 *
 * The CA, the residents and their cards are made in-process in the store
 * before the nodes start (not measured).  At the end the store is read
 * with psql (PGPASSFILE as for the cluster): every offered resident must
 * hold exactly one certificate of each kind, no serial twice, every serial
 * a client received stored.  lost = offered minus residents complete in
 * the store; it must be 0.
 *
 * usage: bench_record_day --store URI [--total N] [--minutes M]
 *        [--scale F] [--workers K] [--max-retries R] [--grace S]
 *        [--seed N] [--even] [--jpkid PATH] [--jpkid-arg ARG]...
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "jpkid_client.h"
#include "openjpki/ca.h"
#include "openjpki/util.h"
#include "seed.h"

#define MAX_WORKERS 512
#define MAX_EXTRA 16
#define NKEYS 4
#define NODES 2
#define WORKERS_PER_OP 8
#define CLERK_PW "bench-clerk-password-1"

/* The counter day (JST minutes from midnight) as relative rates per
 * hour; an assumption, the real hourly figures are not published. */
static const struct {
	int from, to;
	double rate;
	const char *label;
} day[] = {
    {510, 540, 0.6, "08:30"},  {540, 600, 1.0, "09:00"},
    {600, 660, 1.4, "10:00"},  {660, 720, 1.2, "11:00"},
    {720, 780, 0.9, "12:00"},  {780, 840, 1.5, "13:00"},
    {840, 900, 1.3, "14:00"},  {900, 960, 1.0, "15:00"},
    {960, 1020, 0.7, "16:00"}, {1020, 1035, 0.4, "17:00"},
};
#define NSLOTS (sizeof(day) / sizeof(day[0]))
#define DAY_FROM 510
#define DAY_LEN 525.0

enum { J_PENDING, J_DONE, J_HELD, J_FAILED };

typedef struct job {
	double due;  /* offered at, s from the start */
	double next; /* next attempt at */
	double first, done_at;
	int64_t rid;
	float issue_lat; /* the admitted issue request's time, s */
	short waits;	 /* Retry-After waits taken */
	unsigned char slot, state;
	bool started, unknown;
	char serial[2][41]; /* [0] sign, [1] auth, as received */
} job;

typedef struct fvec {
	float *v;
	size_t n, cap;
} fvec;

static int fvec_add(fvec *f, float x)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 1024;
		float *p = realloc(f->v, nc * sizeof(*p));
		if (p == NULL)
			return -1;
		f->v = p;
		f->cap = nc;
	}
	f->v[f->n++] = x;
	return 0;
}

/* ---- the schedule: a min-heap of job indices by next attempt ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *jobs;
	size_t *heap, hn;
	size_t inflight, begun, finished;
	bool leader, stop;
	double t0, end; /* absolute (bench_now) */
} sch;

static bool before(size_t a, size_t b)
{
	return sch.jobs[a].next < sch.jobs[b].next;
}

static void heap_push(size_t j)
{
	size_t i = sch.hn++;
	sch.heap[i] = j;
	while (i > 0 && before(sch.heap[i], sch.heap[(i - 1) / 2])) {
		size_t p = (i - 1) / 2, t = sch.heap[p];
		sch.heap[p] = sch.heap[i];
		sch.heap[i] = t;
		i = p;
	}
}

static size_t heap_pop(void)
{
	size_t top = sch.heap[0], i = 0;
	sch.heap[0] = sch.heap[--sch.hn];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < sch.hn && before(sch.heap[l], sch.heap[m]))
			m = l;
		if (r < sch.hn && before(sch.heap[r], sch.heap[m]))
			m = r;
		if (m == i)
			break;
		size_t t = sch.heap[m];
		sch.heap[m] = sch.heap[i];
		sch.heap[i] = t;
		i = m;
	}
	return top;
}

static struct timespec abs_ts(double mono)
{
	struct timespec ts;
	ts.tv_sec = (time_t)mono;
	ts.tv_nsec = (long)((mono - (double)ts.tv_sec) * 1e9);
	return ts;
}

/* The next job due, or SIZE_MAX when the run is over.  One waiting worker
 * (the leader) sleeps until the earliest due time; the others wait
 * untimed, so an arrival wakes one thread, not the pool. */
static size_t next_job(void)
{
	size_t j = SIZE_MAX;
	pthread_mutex_lock(&sch.mu);
	for (;;) {
		double now = bench_now();
		if (sch.stop || now >= sch.end)
			break;
		if (sch.hn > 0 && sch.t0 + sch.jobs[sch.heap[0]].next <= now) {
			j = heap_pop();
			sch.inflight++;
			if (!sch.jobs[j].started)
				sch.begun++;
			pthread_cond_signal(&sch.cv); /* a new leader */
			break;
		}
		if (sch.hn == 0 && sch.inflight == 0) {
			sch.stop = true; /* every issuance finished */
			pthread_cond_broadcast(&sch.cv);
			break;
		}
		if (!sch.leader) {
			double until = sch.hn > 0
					   ? sch.t0 + sch.jobs[sch.heap[0]].next
					   : now + 1;
			if (until > sch.end)
				until = sch.end;
			struct timespec ts = abs_ts(until);
			sch.leader = true;
			pthread_cond_timedwait(&sch.cv, &sch.mu, &ts);
			sch.leader = false;
		} else
			pthread_cond_wait(&sch.cv, &sch.mu);
	}
	pthread_mutex_unlock(&sch.mu);
	return j;
}

/* j back on the schedule after `wait` s (wait < 0: finished). */
static void job_back(size_t j, double wait)
{
	pthread_mutex_lock(&sch.mu);
	sch.inflight--;
	if (wait >= 0) {
		sch.jobs[j].next = bench_now() - sch.t0 + wait;
		heap_push(j);
	} else
		sch.finished++;
	/* the leader may sleep past this one, or the run may be over */
	pthread_cond_broadcast(&sch.cv);
	pthread_mutex_unlock(&sch.mu);
}

/* ---- client threads ---- */

typedef struct worker {
	conn c;
	double last_use; /* of c */
	int op;		 /* operator number */
	const cardkey *keys;
	int max_retries;
	fvec chal_lat, issue_lat;
	long busy503, busy429, relogins, transport, other, held;
	int last_status;
	char last_body[200];
} worker;

static double retry_after(const conn *c)
{
	size_t l = 0;
	const char *v = header(c->rb, "Retry-After", &l);
	double s = v != NULL ? atof(v) : 0;
	return s > 0 && s < 120 ? s : 1;
}

/* serial of kind ("sign", "auth") from the 201 body */
static void take_serial(const conn *c, const char *kind, char *out, size_t cap)
{
	json_t *j = json_loadb(resp_body(c), c->body_len, 0, NULL);
	const char *v = json_string_value(
	    json_object_get(json_object_get(j, kind), "serial"));
	if (v == NULL || jpki_strlcpy(out, v, cap) != 0)
		out[0] = '\0';
	json_decref(j);
}

static void note_other(worker *w, int st)
{
	w->other++;
	w->last_status = st;
	if (st > 0)
		jpki_strlcpy_cut(w->last_body, resp_body(&w->c),
				 sizeof(w->last_body));
}

/* One attempt at job j: the wait before the next attempt, or -1 when the
 * job is finished (done, held or failed). */
static double attempt(worker *w, job *jb, size_t idx)
{
	conn *c = &w->c;
	char body[4096], ch[80], card[40], pops[2][600], name[32];
	long long rid = (long long)jb->rid;
	const cardkey *sk = &w->keys[idx % NKEYS];
	const cardkey *ak = &w->keys[(idx + 1) % NKEYS];
	if (c->csrf[0] == '\0') {
		snprintf(name, sizeof(name), "rd%d", w->op);
		if (login(c, name, CLERK_PW) != 0) {
			note_other(w, 0);
			return 1;
		}
		w->relogins++;
	}
	double t = bench_now();
	/* jpkid closes a keep-alive connection idle 30 s: a fresh one
	 * rather than a request on one it may be closing */
	if (t - w->last_use > 20)
		conn_close(c);
	int st = http(c, "POST", "/api/v1/issue/challenge", NULL);
	if (st < 0) { /* a challenge is harmless to ask again at once */
		w->transport++;
		st = http(c, "POST", "/api/v1/issue/challenge", NULL);
	}
	double lat = bench_now() - t;
	w->last_use = bench_now();
	if (st == 503 || st == 429) {
		if (st == 503)
			w->busy503++;
		else
			w->busy429++;
		jb->waits++;
		return retry_after(c);
	}
	if (st < 0) {
		w->transport++;
		return 1;
	}
	if (st == 401) {
		c->csrf[0] = c->cookie[0] = '\0';
		return 0;
	}
	if (st != 200 || resp_str(c, "challenge", ch, sizeof(ch)) != 0) {
		note_other(w, st);
		return 1;
	}
	(void)fvec_add(&w->chal_lat, (float)lat);
	snprintf(card, sizeof(card), "C%lld", rid);
	if (pop_sign(sk, ch, "sign", rid, card, pops[0], sizeof(pops[0])) !=
		0 ||
	    pop_sign(ak, ch, "auth", rid, card, pops[1], sizeof(pops[1])) !=
		0) {
		note_other(w, 0);
		return 1;
	}
	int n = snprintf(body, sizeof(body),
			 "{\"resident\":%lld,\"card\":\"%s\",\"challenge\":"
			 "\"%s\",\"sign\":{\"spki\":\"%s\",\"pop\":\"%s\"},"
			 "\"auth\":{\"spki\":\"%s\",\"pop\":\"%s\"}}",
			 rid, card, ch, sk->spki_b64, pops[0], ak->spki_b64,
			 pops[1]);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		note_other(w, 0);
		jb->state = J_FAILED;
		return -1;
	}
	t = bench_now();
	st = http(c, "POST", "/api/v1/issue", body);
	lat = bench_now() - t;
	w->last_use = bench_now();
	if (st == 201) {
		(void)fvec_add(&w->issue_lat, (float)lat);
		jb->issue_lat = (float)lat;
		take_serial(c, "sign", jb->serial[0], sizeof(jb->serial[0]));
		take_serial(c, "auth", jb->serial[1], sizeof(jb->serial[1]));
		jb->state = J_DONE;
		return -1;
	}
	if (st == 503 || st == 429) {
		if (st == 503)
			w->busy503++;
		else
			w->busy429++;
		jb->waits++;
		return retry_after(c);
	}
	if (st < 0) { /* sent, outcome unknown: ask again */
		w->transport++;
		jb->unknown = true;
		return 0;
	}
	if (st == 409 && jb->unknown &&
	    strstr(resp_body(c), "challenge") == NULL) {
		w->held++; /* the lost attempt had committed */
		jb->state = J_HELD;
		return -1;
	}
	note_other(w, st);
	jb->state = J_FAILED;
	return -1;
}

static void *worker_run(void *arg)
{
	worker *w = arg;
	size_t j;
	while ((j = next_job()) != SIZE_MAX) {
		job *jb = &sch.jobs[j];
		if (!jb->started) {
			jb->started = true;
			jb->first = bench_now() - sch.t0;
		}
		double wait = attempt(w, jb, j);
		if (wait >= 0 && jb->waits > w->max_retries) {
			jb->state = J_FAILED; /* bounded retries */
			wait = -1;
		}
		if (wait < 0)
			jb->done_at = bench_now() - sch.t0;
		job_back(j, wait);
	}
	return NULL;
}

/* ---- the arrival curve ---- */

static uint64_t rng_state;
static double rnd(void) /* splitmix64, [0, 1) */
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static int cmp_job_due(const void *a, const void *b)
{
	double x = ((const job *)a)->due, y = ((const job *)b)->due;
	return x < y ? -1 : x > y;
}

/* Spread n arrivals over `secs` along the day's curve; counts per slot
 * into per_slot. */
static void make_arrivals(job *jobs, size_t n, double secs, bool even,
			  size_t per_slot[NSLOTS])
{
	double wsum = 0, rem[NSLOTS];
	size_t given = 0;
	for (size_t s = 0; s < NSLOTS; s++)
		wsum += day[s].rate * (day[s].to - day[s].from);
	for (size_t s = 0; s < NSLOTS; s++) {
		double exact =
		    (double)n * day[s].rate * (day[s].to - day[s].from) / wsum;
		per_slot[s] = (size_t)exact;
		rem[s] = exact - (double)per_slot[s];
		given += per_slot[s];
	}
	while (given < n) { /* largest remainder */
		size_t best = 0;
		for (size_t s = 1; s < NSLOTS; s++)
			if (rem[s] > rem[best])
				best = s;
		per_slot[best]++;
		rem[best] = -1;
		given++;
	}
	size_t k = 0;
	for (size_t s = 0; s < NSLOTS; s++) {
		double a = (day[s].from - DAY_FROM) / DAY_LEN * secs;
		double b = (day[s].to - DAY_FROM) / DAY_LEN * secs;
		for (size_t i = 0; i < per_slot[s]; i++, k++) {
			double u = even
				       ? ((double)i + 0.5) / (double)per_slot[s]
				       : rnd();
			jobs[k].due = a + u * (b - a);
			jobs[k].slot = (unsigned char)s;
		}
		qsort(jobs + k - per_slot[s], per_slot[s], sizeof(job),
		      cmp_job_due);
	}
}

/* ---- the CA, residents and cards (before the nodes start) ---- */

static int make_ca(const char *cadir, const char *url, job *jobs, size_t n,
		   jpki_err *err)
{
	time_t now = time(NULL);
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = now, .store = url};
	jpki_ca *ca = NULL;
	bool open_tx = false;
	int rc;
	if ((rc = ca_init(cadir, &o, err)) != 0 ||
	    (rc = ca_open(cadir, url, &ca, err)) != 0)
		goto out;
	store *st = ca_store(ca);
	store_muni m = BENCH_MUNI;
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	open_tx = true;
	if ((rc = store_muni_put(st, &m, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((rc = bench_seed_resident(st, "RD", (int64_t)i, now,
					      &jobs[i].rid, err)) != 0)
			goto out;
		if ((i + 1) % 2000 == 0 || i + 1 == n) {
			open_tx = false;
			if ((rc = store_commit(st, err)) != 0) {
				store_rollback(st);
				goto out;
			}
			if (i + 1 < n) {
				if ((rc = store_begin(st, err)) != 0)
					goto out;
				open_tx = true;
			}
		}
	}
	if (open_tx) {
		open_tx = false;
		if ((rc = store_commit(st, err)) != 0)
			store_rollback(st);
	}
out:
	if (open_tx)
		store_rollback(ca_store(ca));
	ca_close(ca);
	return rc;
}

/* ---- the store's view, through psql ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line of `psql -At` for sql into out. */
static int psql_line(const char *url, const char *sql, char *out, size_t cap)
{
	char cmd[4096];
	int n = snprintf(cmd, sizeof(cmd),
			 "psql -X -qAt -v ON_ERROR_STOP=1 '%s' -c \"%s\"", url,
			 sql);
	if (n < 0 || (size_t)n >= sizeof(cmd) || strchr(url, '\'') != NULL)
		return -1;
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	out[0] = '\0';
	char *got = fgets(out, (int)cap, p);
	int rc = pclose(p);
	if (got == NULL || rc != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* The serials of every resident's certificate, sorted. */
static char **psql_serials(const char *url, size_t *count)
{
	char cmd[2048], line[128];
	size_t n = 0, cap = 0;
	char **v = NULL;
	snprintf(cmd, sizeof(cmd),
		 "psql -X -qAt -v ON_ERROR_STOP=1 '%s' -c \"SELECT serial "
		 "FROM certificates WHERE resident_id IS NOT NULL\"",
		 url);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return NULL;
	while (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			char **q = realloc(v, nc * sizeof(*q));
			if (q == NULL)
				break;
			v = q;
			cap = nc;
		}
		if ((v[n] = strdup(line)) == NULL)
			break;
		n++;
	}
	if (pclose(p) != 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return NULL;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v != NULL ? v : calloc(1, sizeof(char *));
}

/* ---- summary ---- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static double pct(const float *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_record_day --store URI [--total N (119000)] "
		"[--minutes M (10)]\n"
		"       [--scale F (1)] [--workers K (96)] [--max-retries R "
		"(60)] [--grace S (300)]\n"
		"       [--seed N] [--even] [--jpkid PATH] [--jpkid-arg "
		"ARG]...\n"
		"Offers the record day's arrival curve (one tenth of "
		"2023-02-28: 119k card\n"
		"issuances, compressed into M minutes) open-loop to two "
		"jpkid nodes on the\n"
		"PostgreSQL store URI (an empty database), then checks that "
		"every issuance\n"
		"is in the store exactly once.  JSON on the last line.\n");
}

int main(int argc, char **argv)
{
	double total = 119000, minutes = 10, scale = 1, grace = 300;
	int workers = 96, max_retries = 60, nextra = 0;
	unsigned long long seed = 20230228;
	bool even = false;
	const char *url = NULL, *given = NULL, *extra[MAX_EXTRA + 3];
	char exe[1100], tmp[] = "/tmp/jpki-bench-rday-XXXXXX", cadir[300];
	pid_t pid[NODES] = {0};
	unsigned short port[NODES] = {0};
	job *jobs = NULL;
	worker *wk = NULL;
	pthread_t *tid = NULL;
	char **stored = NULL;
	size_t nstored = 0;
	cardkey keys[NKEYS];
	int started = 0, rc = 1;
	jpki_err err = {0};
	bool made_tmp = false;
	memset(keys, 0, sizeof(keys));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool v = i + 1 < argc;
		if (strcmp(a, "--store") == 0 && v)
			url = argv[++i];
		else if (strcmp(a, "--total") == 0 && v)
			total = atof(argv[++i]);
		else if (strcmp(a, "--minutes") == 0 && v)
			minutes = atof(argv[++i]);
		else if (strcmp(a, "--scale") == 0 && v)
			scale = atof(argv[++i]);
		else if (strcmp(a, "--workers") == 0 && v)
			workers = atoi(argv[++i]);
		else if (strcmp(a, "--max-retries") == 0 && v)
			max_retries = atoi(argv[++i]);
		else if (strcmp(a, "--grace") == 0 && v)
			grace = atof(argv[++i]);
		else if (strcmp(a, "--seed") == 0 && v)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(a, "--even") == 0)
			even = true;
		else if (strcmp(a, "--jpkid") == 0 && v)
			given = argv[++i];
		else if (strcmp(a, "--jpkid-arg") == 0 && v &&
			 nextra < MAX_EXTRA)
			extra[2 + nextra++] = argv[++i];
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	size_t n = (size_t)(total * scale + 0.5);
	if (url == NULL || n < 1 || n > 2000000 || minutes <= 0 ||
	    minutes > 600 || workers < NODES || workers > MAX_WORKERS ||
	    max_retries < 0 || grace < 0) {
		usage();
		return 2;
	}
	extra[0] = "--store";
	extra[1] = url;
	extra[2 + nextra] = NULL;
	rng_state = seed;
	double secs = minutes * 60;
	if (find_jpkid(given, exe, sizeof(exe)) != 0) {
		fprintf(stderr, "bench_record_day: jpkid not found (--jpkid "
				"PATH, or build/cmd/jpkid)\n");
		return 1;
	}
	if (mkdtemp(tmp) == NULL)
		return 1;
	made_tmp = true;
	snprintf(cadir, sizeof(cadir), "%s/ca", tmp);
	jobs = calloc(n, sizeof(*jobs));
	sch.heap = calloc(n, sizeof(*sch.heap));
	wk = calloc((size_t)workers, sizeof(*wk));
	tid = calloc((size_t)workers, sizeof(*tid));
	if (jobs == NULL || sch.heap == NULL || wk == NULL || tid == NULL)
		goto out;
	size_t per_slot[NSLOTS];
	make_arrivals(jobs, n, secs, even, per_slot);
	printf("making a CA in the store with %zu residents and cards ...\n",
	       n);
	fflush(stdout);
	double ts = bench_now();
	if (make_ca(cadir, url, jobs, n, &err) != 0) {
		fprintf(stderr, "bench_record_day: %s\n", err.msg);
		goto out;
	}
	printf("  made in %.1f s\n", bench_now() - ts);
	for (int k = 0; k < NKEYS; k++)
		if (cardkey_make(&keys[k]) != 0)
			goto out;
	for (int k = 0; k < NODES; k++) {
		char name[16];
		snprintf(name, sizeof(name), "node%d", k + 1);
		if (start_jpkid(exe, cadir, tmp, name, extra, &pid[k],
				&port[k]) != 0) {
			fprintf(stderr,
				"bench_record_day: jpkid %s did not start (see "
				"%s/%s.err)\n",
				name, tmp, name);
			made_tmp = false; /* keep the logs */
			goto out;
		}
	}
	/* operators (ca-admin: issuance outside a counter application is
	 * the CA admin's path), each shared by WORKERS_PER_OP sessions */
	int nops = (workers + WORKERS_PER_OP - 1) / WORKERS_PER_OP;
	conn *admin = calloc(1, sizeof(*admin));
	if (admin == NULL)
		goto out;
	admin->fd = -1;
	admin->port = port[0];
	int st = login(admin, "admin", BENCH_ADMIN_PW) == 0 ? 201 : -1;
	for (int k = 0; k < nops && st == 201; k++) {
		char body[200];
		snprintf(body, sizeof(body),
			 "{\"name\":\"rd%d\",\"role\":\"ca-admin\","
			 "\"password\":\"" CLERK_PW "\"}",
			 k);
		st = http(admin, "POST", "/api/v1/operators", body);
	}
	conn_close(admin);
	free(admin);
	if (st != 201) {
		fprintf(stderr,
			"bench_record_day: admin log-in or operators "
			"failed (%d)\n",
			st);
		goto out;
	}
	printf("logging in %d client sessions on 2 nodes (:%u, :%u) ...\n",
	       workers, port[0], port[1]);
	fflush(stdout);
	for (int t = 0; t < workers; t++) {
		char name[32];
		wk[t].c.fd = -1;
		wk[t].c.port = port[t % NODES];
		wk[t].op = t / WORKERS_PER_OP;
		wk[t].keys = keys;
		wk[t].max_retries = max_retries;
		wk[t].last_use = bench_now();
		snprintf(name, sizeof(name), "rd%d", wk[t].op);
		if (login(&wk[t].c, name, CLERK_PW) != 0) {
			fprintf(stderr, "bench_record_day: log-in %d failed\n",
				t);
			goto out;
		}
	}
	size_t peak = 0;
	for (size_t s = 0; s < NSLOTS; s++)
		if (per_slot[s] * 60 / (size_t)(day[s].to - day[s].from) > peak)
			peak = per_slot[s] * 60 /
			       (size_t)(day[s].to - day[s].from);
	double scale_t = DAY_LEN * 60 / secs;
	printf("offering %zu issuances in %.1f min (the day 8:30-17:15 "
	       "compressed %.1fx): mean %.1f/s, peak hour %.1f/s\n",
	       n, minutes, scale_t, (double)n / secs,
	       (double)peak / 3600 * scale_t);
	fflush(stdout);

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sch.cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&sch.mu, NULL);
	sch.jobs = jobs;
	for (size_t i = 0; i < n; i++) {
		jobs[i].next = jobs[i].due;
		heap_push(i);
	}
	sch.t0 = bench_now() + 0.5;
	sch.end = sch.t0 + secs + grace;
	for (int t = 0; t < workers; t++) {
		if (pthread_create(&tid[t], NULL, worker_run, &wk[t]) != 0)
			break;
		started++;
	}
	/* progress once a minute */
	for (double next = sch.t0 + 60;;) {
		usleep(200000);
		double now = bench_now();
		pthread_mutex_lock(&sch.mu);
		bool over = sch.stop || now >= sch.end;
		size_t begun = sch.begun, fin = sch.finished, fl = sch.inflight,
		       waiting = sch.hn;
		pthread_mutex_unlock(&sch.mu);
		if (over)
			break;
		if (now >= next) {
			printf("  %4.0f s: %zu begun, %zu finished, %zu in "
			       "flight, %zu waiting\n",
			       now - sch.t0, begun, fin, fl, waiting);
			fflush(stdout);
			next += 60;
		}
	}
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	double el = bench_now() - sch.t0;

	/* ---- tally ---- */
	long b503 = 0, b429 = 0, transport = 0, other = 0, held = 0;
	fvec chal = {0}, iss = {0}, e2e = {0}, lag = {0};
	size_t done = 0, failed = 0, unfinished = 0, maxwaits = 0;
	for (int t = 0; t < workers; t++) {
		b503 += wk[t].busy503;
		b429 += wk[t].busy429;
		transport += wk[t].transport;
		other += wk[t].other;
		held += wk[t].held;
		for (size_t i = 0; i < wk[t].chal_lat.n; i++)
			(void)fvec_add(&chal, wk[t].chal_lat.v[i]);
		for (size_t i = 0; i < wk[t].issue_lat.n; i++)
			(void)fvec_add(&iss, wk[t].issue_lat.v[i]);
		if (wk[t].other > 0)
			fprintf(stderr, "worker %d: last other answer %d %s\n",
				t, wk[t].last_status, wk[t].last_body);
	}
	for (size_t i = 0; i < n; i++) {
		job *j = &jobs[i];
		if (j->state == J_DONE || j->state == J_HELD) {
			done++;
			(void)fvec_add(&e2e, (float)(j->done_at - j->due));
		} else if (j->state == J_FAILED)
			failed++;
		else
			unfinished++;
		if (j->started)
			(void)fvec_add(&lag, (float)(j->first - j->due));
		if ((size_t)j->waits > maxwaits)
			maxwaits = (size_t)j->waits;
	}
	qsort(chal.v, chal.n, sizeof(float), cmp_float);
	qsort(iss.v, iss.n, sizeof(float), cmp_float);
	qsort(e2e.v, e2e.n, sizeof(float), cmp_float);
	qsort(lag.v, lag.n, sizeof(float), cmp_float);

	/* ---- the store ---- */
	char l1[256] = "", l2[256] = "";
	long s_certs = -1, s_serials = -1, s_complete = -1, s_over = -1;
	if (psql_line(url,
		      "SELECT count(*), count(DISTINCT serial) FROM "
		      "certificates WHERE resident_id IS NOT NULL",
		      l1, sizeof(l1)) != 0 ||
	    sscanf(l1, "%ld|%ld", &s_certs, &s_serials) != 2 ||
	    psql_line(url,
		      "SELECT count(*) FILTER (WHERE c = 2 AND k = 2), "
		      "count(*) FILTER (WHERE c > 2 OR k < c) FROM (SELECT "
		      "count(*) AS c, count(DISTINCT kind) AS k FROM "
		      "certificates WHERE resident_id IS NOT NULL AND status "
		      "= 0 GROUP BY resident_id) d",
		      l2, sizeof(l2)) != 0 ||
	    sscanf(l2, "%ld|%ld", &s_complete, &s_over) != 2 ||
	    (stored = psql_serials(url, &nstored)) == NULL) {
		fprintf(stderr, "bench_record_day: reading the store with psql "
				"failed (PGPASSFILE?)\n");
		goto out;
	}
	size_t received = 0, missing = 0;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			const char *s = jobs[i].serial[k];
			if (s[0] == '\0')
				continue;
			received++;
			if (bsearch(&s, stored, nstored, sizeof(char *),
				    cmp_str) == NULL)
				missing++;
		}
	long lost = (long)n - s_complete;
	double p99 = pct(iss.v, iss.n, 0.99);
	bool all_done = done == n && failed == 0 && unfinished == 0;
	bool store_ok = lost == 0 && s_over == 0 && missing == 0 &&
			s_certs == s_serials && s_certs == 2 * (long)n;
	bool met = all_done && store_ok && p99 <= 1.0;

	printf("\nrecord day, 1/%.0f of 2023-02-28 in %.1f min: %zu offered, "
	       "%zu completed (%ld held), %zu gave up, %zu unfinished in "
	       "%.0f s\n",
	       1190000.0 / (double)n, minutes, n, done, held, failed,
	       unfinished, el);
	printf("  503s %ld, 429s %ld (each retried after its Retry-After; at "
	       "most %zu waits for one issuance), transport errors %ld, "
	       "other answers %ld\n",
	       b503, b429, maxwaits, transport, other);
	printf("  admitted issue requests: p50 %.0f ms, p99 %.0f ms, max %.0f "
	       "ms (n %zu); challenges: p50 %.0f ms, p99 %.0f ms\n",
	       pct(iss.v, iss.n, 0.5) * 1000, p99 * 1000,
	       iss.n ? iss.v[iss.n - 1] * 1000 : 0.0, iss.n,
	       pct(chal.v, chal.n, 0.5) * 1000,
	       pct(chal.v, chal.n, 0.99) * 1000);
	printf("  arrival to certificates (with waits): p50 %.2f s, p99 %.2f "
	       "s, max %.2f s; start lag behind the schedule: p99 %.3f s, "
	       "max %.3f s\n",
	       pct(e2e.v, e2e.n, 0.5), pct(e2e.v, e2e.n, 0.99),
	       e2e.n ? e2e.v[e2e.n - 1] : 0.0, pct(lag.v, lag.n, 0.99),
	       lag.n ? lag.v[lag.n - 1] : 0.0);
	printf("  store: %ld certificates, %ld distinct serials, %ld residents "
	       "with exactly one of each kind, %ld with more; %zu of %zu "
	       "received serials missing\n",
	       s_certs, s_serials, s_complete, s_over, missing, received);
	printf("  lost: %ld   target (all complete, nothing lost, p99 <= 1 "
	       "s): %s\n",
	       lost, met ? "met" : "NOT met");
	printf("  per hour of the day: ");
	for (size_t s = 0, k = 0; s < NSLOTS; s++) {
		fvec h = {0};
		for (size_t i = 0; i < per_slot[s]; i++, k++)
			if (jobs[k].state == J_DONE)
				(void)fvec_add(&h, jobs[k].issue_lat);
		qsort(h.v, h.n, sizeof(float), cmp_float);
		printf(
		    "%s %zu (%.1f/s, p99 %.0f ms)%s", day[s].label, per_slot[s],
		    (double)per_slot[s] /
			((day[s].to - day[s].from) / DAY_LEN * secs),
		    pct(h.v, h.n, 0.99) * 1000, s + 1 < NSLOTS ? "; " : "\n");
		free(h.v);
	}
	printf(
	    "{\"bench\":\"record_day\",\"offered\":%zu,\"minutes\":%.2f,"
	    "\"seconds\":%.1f,\"workers\":%d,\"completed\":%zu,\"held\":%ld,"
	    "\"gave_up\":%zu,\"unfinished\":%zu,\"busy_503\":%ld,"
	    "\"busy_429\":%ld,\"max_waits\":%zu,\"transport_errors\":%ld,"
	    "\"other\":%ld,\"issue_p50_ms\":%.1f,\"issue_p99_ms\":%.1f,"
	    "\"issue_max_ms\":%.1f,\"challenge_p50_ms\":%.1f,"
	    "\"challenge_p99_ms\":%.1f,\"e2e_p50_s\":%.3f,\"e2e_p99_s\":%.3f,"
	    "\"lag_p99_s\":%.3f,\"lag_max_s\":%.3f,\"store_certs\":%ld,"
	    "\"store_distinct_serials\":%ld,\"store_complete\":%ld,"
	    "\"store_over\":%ld,\"received_missing\":%zu,\"lost\":%ld,"
	    "\"target_met\":%s}\n",
	    n, minutes, el, workers, done, held, failed, unfinished, b503, b429,
	    maxwaits, transport, other, pct(iss.v, iss.n, 0.5) * 1000,
	    p99 * 1000, iss.n ? iss.v[iss.n - 1] * 1000 : 0.0,
	    pct(chal.v, chal.n, 0.5) * 1000, pct(chal.v, chal.n, 0.99) * 1000,
	    pct(e2e.v, e2e.n, 0.5), pct(e2e.v, e2e.n, 0.99),
	    pct(lag.v, lag.n, 0.99), lag.n ? lag.v[lag.n - 1] : 0.0, s_certs,
	    s_serials, s_complete, s_over, missing, lost,
	    met ? "true" : "false");
	free(chal.v);
	free(iss.v);
	free(e2e.v);
	free(lag.v);
	/* exit 0 when nothing was lost and every issuance completed; the
	 * latency target is reported, not enforced (shared cores) */
	rc = all_done && store_ok && other == 0 ? 0 : 1;
out:
	for (int k = 0; k < NODES; k++)
		stop_jpkid(pid[k]);
	for (int k = 0; k < NKEYS; k++)
		EVP_PKEY_free(keys[k].k);
	for (int t = 0; wk != NULL && t < workers; t++) {
		conn_close(&wk[t].c);
		free(wk[t].chal_lat.v);
		free(wk[t].issue_lat.v);
	}
	for (size_t i = 0; stored != NULL && i < nstored; i++)
		free(stored[i]);
	free(stored);
	free(wk);
	free(tid);
	free(jobs);
	free(sch.heap);
	if (made_tmp) {
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr,
				"bench_record_day: could not remove %s\n", tmp);
	} else
		fprintf(stderr, "bench_record_day: logs kept in %s\n", tmp);
	return rc;
}
