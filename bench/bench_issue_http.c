/* bench_issue_http: certificate pairs (署名用 + 利用者証明用) issued per
 * second by jpkid over HTTP, the way a counter terminal asks for them:
 * per pair one challenge (POST /api/v1/issue/challenge), two proofs of
 * possession signed by the client, and POST /api/v1/issue (a 201 counts).
 *
 * The program makes a CA in a temporary directory with residents and
 * cards (in-process, before jpkid starts), starts jpkid on 127.0.0.1 and
 * a free port (stopped by PID at the end), logs in as admin
 * (JPKID_ADMIN_PASSWORD), creates a CA-admin operator (issuance outside
 * a counter application is the CA admin's test path, refused by a
 * production CA), and runs K client threads, each
 * with its own session on one keep-alive HTTP/1.1 connection (plain
 * sockets), for S seconds.
 *
 * The limit on these cores is measured in the same run (`openssl speed
 * -multi <cores> rsa2048`).  A pair costs jpkid two RSA signatures
 * (ceiling signs/s ÷ 2); the client's two proofs of possession are two
 * more RSA signatures on the same cores, so with the client on the
 * machine the ceiling is signs/s ÷ 4 (the verifications, ~30 × cheaper,
 * are not counted).  jpkid also pre-signs an OCSP response for each new
 * certificate (RFC 5019 style, so that the first status query is served
 * from memory): two more signatures a pair, so everything on the machine
 * costs 6 signatures a pair (ceiling signs/s ÷ 6).  All three ratios are
 * printed.
 *
 * usage: bench_issue_http [--seconds S (5)] [--clients K (32)] [--jpkid PATH]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "jpkid_client.h"
#include "openjpki/ca.h"
#include "openjpki/util.h"
#include "seed.h"

#define MAX_CLIENTS 64
#define NKEYS 4
#define ADMIN_PW BENCH_ADMIN_PW
#define CLERK_PW "bench-clerk-password-1"

/* ---- client threads ---- */

typedef struct client {
	conn *c;	    /* logged in before the clock starts */
	const int64_t *ids; /* residents of this client */
	size_t count;
	double end;
	const cardkey *keys; /* shared: signing with a key is thread-safe */
	long issued, busy, other;
	int last_status;
	char last_body[200];
} client;

static void *client_run(void *arg)
{
	client *cl = arg;
	conn *c = cl->c;
	char body[4096], ch[80], card[40], pops[2][600];
	for (size_t i = 0; i < cl->count && bench_now() < cl->end;) {
		long long rid = (long long)cl->ids[i];
		const cardkey *sk = &cl->keys[i % NKEYS];
		const cardkey *ak = &cl->keys[(i + 1) % NKEYS];
		int st = http(c, "POST", "/api/v1/issue/challenge", NULL);
		if (st != 200 && st != 201) {
			cl->other++;
			cl->last_status = st;
			if (cl->other > 100)
				break;
			continue;
		}
		if (resp_str(c, "challenge", ch, sizeof(ch)) != 0)
			break;
		snprintf(card, sizeof(card), "C%lld", rid);
		if (pop_sign(sk, ch, "sign", rid, card, pops[0],
			     sizeof(pops[0])) != 0 ||
		    pop_sign(ak, ch, "auth", rid, card, pops[1],
			     sizeof(pops[1])) != 0)
			break;
		int n = snprintf(
		    body, sizeof(body),
		    "{\"resident\":%lld,\"card\":\"%s\",\"challenge\":\"%s\","
		    "\"sign\":{\"spki\":\"%s\",\"pop\":\"%s\"},"
		    "\"auth\":{\"spki\":\"%s\",\"pop\":\"%s\"}}",
		    rid, card, ch, sk->spki_b64, pops[0], ak->spki_b64,
		    pops[1]);
		if (n < 0 || (size_t)n >= sizeof(body))
			break;
		st = http(c, "POST", "/api/v1/issue", body);
		if (st == 201) {
			cl->issued++;
			i++;
		} else if (st == 503) {
			cl->busy++; /* refused before any work: ask again */
			usleep(1000);
		} else {
			cl->other++;
			cl->last_status = st;
			if (st > 0)
				jpki_strlcpy_cut(
				    cl->last_body, resp_body(c),
				    sizeof(cl->last_body)); /* shown */
			i++;
			if (cl->other > 100)
				break;
		}
	}
	return NULL;
}

/* ---- the CA, residents and cards (before jpkid starts) ---- */

static int make_ca(const char *cadir, int64_t *ids, size_t n, jpki_err *err)
{
	time_t now = time(NULL);
	ca_init_opts o = {.profile = JPKI_PROFILE_TEST, .now = now};
	jpki_ca *ca = NULL;
	int rc;
	if ((rc = ca_init(cadir, &o, err)) != 0 ||
	    (rc = ca_open(cadir, NULL, &ca, err)) != 0)
		goto out;
	store *st = ca_store(ca);
	store_muni m = BENCH_MUNI;
	if ((rc = store_begin(st, err)) != 0 ||
	    (rc = store_muni_put(st, &m, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = bench_seed_resident(st, "R", (int64_t)i, now, &ids[i],
					      err)) != 0)
			goto out;
	rc = store_commit(st, err);
out:
	ca_close(ca);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int clients = 32;
	const char *given = NULL;
	char exe[1100], tmp[] = "/tmp/jpki-bench-http-XXXXXX", cadir[300];
	pid_t pid = 0;
	unsigned short port = 0;
	int64_t *ids = NULL;
	client *cl = NULL;
	cardkey keys[NKEYS];
	pthread_t tid[MAX_CLIENTS];
	int started = 0, rc = 1;
	jpki_err err = {0};
	memset(keys, 0, sizeof(keys));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (strcmp(argv[i], "--jpkid") == 0 && i + 1 < argc)
			given = argv[++i];
		else {
			fprintf(stderr, "usage: bench_issue_http [--seconds S] "
					"[--clients K] [--jpkid PATH]\n");
			return 2;
		}
	}
	if (seconds < 1 || seconds > 20)
		seconds = 5;
	if (clients < 1 || clients > MAX_CLIENTS)
		clients = 32;
	if (cores < 1)
		cores = 1;
	if (find_jpkid(given, exe, sizeof(exe)) != 0) {
		fprintf(stderr, "bench_issue_http: jpkid not found (--jpkid "
				"PATH, or build/cmd/jpkid)\n");
		return 1;
	}
	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(cadir, sizeof(cadir), "%s/ca", tmp);
	/* residents and cards, more than the run can use */
	const size_t per = (size_t)(seconds * 2000 / clients) + 100;
	const size_t total_res = per * (size_t)clients;
	ids = calloc(total_res, sizeof(*ids));
	cl = calloc((size_t)clients, sizeof(*cl));
	if (ids == NULL || cl == NULL)
		goto out;
	printf("making a CA with %zu residents and cards ...\n", total_res);
	fflush(stdout);
	if (make_ca(cadir, ids, total_res, &err) != 0) {
		fprintf(stderr, "bench_issue_http: %s\n", err.msg);
		goto out;
	}
	for (int k = 0; k < NKEYS; k++)
		if (cardkey_make(&keys[k]) != 0)
			goto out;
	printf("measuring the limit: openssl speed -multi %d rsa2048 ...\n",
	       cores);
	fflush(stdout);
	double signs = bench_openssl_rsa2048(cores, 3, NULL);

	if (start_jpkid(exe, cadir, tmp, "jpkid", NULL, &pid, &port) != 0) {
		fprintf(stderr, "bench_issue_http: %s did not start\n", exe);
		goto out;
	}
	conn *admin = calloc(1, sizeof(*admin));
	if (admin == NULL)
		goto out;
	admin->fd = -1;
	admin->port = port;
	int st = -1;
	if (login(admin, "admin", ADMIN_PW) == 0)
		st = http(admin, "POST", "/api/v1/operators",
			  "{\"name\":\"bench\",\"role\":\"ca-admin\","
			  "\"password\":\"" CLERK_PW "\"}");
	conn_close(admin);
	free(admin);
	if (st != 201) {
		fprintf(stderr,
			"bench_issue_http: admin log-in or creating "
			"the clerk failed (%d)\n",
			st);
		goto out;
	}
	/* every client's session first: log-in (scrypt) is not measured */
	for (int t = 0; t < clients; t++) {
		if ((cl[t].c = calloc(1, sizeof(conn))) == NULL)
			goto out;
		cl[t].c->fd = -1;
		cl[t].c->port = port;
		if (login(cl[t].c, "bench", CLERK_PW) != 0) {
			fprintf(stderr, "bench_issue_http: the clerk's log-in "
					"failed\n");
			goto out;
		}
	}
	printf("issuing pairs over HTTP for %.0f s with %d clients (jpkid "
	       "on 127.0.0.1:%u) ...\n",
	       seconds, clients, port);
	fflush(stdout);
	double t0 = bench_now();
	for (int t = 0; t < clients; t++) {
		cl[t].keys = keys;
		cl[t].ids = ids + (size_t)t * per;
		cl[t].count = per;
		cl[t].end = t0 + seconds;
		if (pthread_create(&tid[t], NULL, client_run, &cl[t]) != 0)
			break;
		started++;
	}
	long issued = 0, busy = 0, other = 0;
	for (int t = 0; t < started; t++) {
		pthread_join(tid[t], NULL);
		issued += cl[t].issued;
		busy += cl[t].busy;
		other += cl[t].other;
		if (cl[t].other > 0)
			fprintf(stderr, "client %d: last answer %d %s\n", t,
				cl[t].last_status, cl[t].last_body);
	}
	double el = bench_now() - t0;
	double pairs = (double)issued / el;
	double c2 = signs / 2, c4 = signs / 4, c6 = signs / 6;
	printf("openssl speed -multi %d rsa2048: %.0f sign/s\n", cores, signs);
	printf("jpkid over HTTP:  %.0f pairs/s (%ld pairs in %.2f s; %ld "
	       "busy 503s retried, %ld other answers)\n",
	       pairs, issued, el, busy, other);
	printf("  server ceiling, sign/s ÷ 2 (jpkid's 2 signatures a pair): "
	       "%.0f pairs/s, ratio %.2f\n",
	       c2, c2 > 0 ? pairs / c2 : 0);
	printf("  ceiling with the client's 2 proof-of-possession signatures "
	       "on the same cores, sign/s ÷ 4: %.0f pairs/s, ratio %.2f\n",
	       c4, c4 > 0 ? pairs / c4 : 0);
	printf(
	    "  ceiling with the 2 OCSP responses jpkid pre-signs for the new "
	    "certificates too, sign/s ÷ 6: %.0f pairs/s, ratio %.2f\n",
	    c6, c6 > 0 ? pairs / c6 : 0);
	printf("{\"bench\":\"issue_http\",\"cores\":%d,\"clients\":%d,"
	       "\"seconds\":%.2f,\"pairs\":%ld,\"pairs_per_s\":%.1f,"
	       "\"busy\":%ld,\"other\":%ld,\"openssl_sign_per_s\":%.1f,"
	       "\"ceiling_server_pairs_per_s\":%.1f,\"ratio_server\":%.3f,"
	       "\"ceiling_with_client_pairs_per_s\":%.1f,"
	       "\"ratio_with_client\":%.3f,\"ratio_all_signatures\":%.3f}\n",
	       cores, clients, el, issued, pairs, busy, other, signs, c2,
	       c2 > 0 ? pairs / c2 : 0, c4, c4 > 0 ? pairs / c4 : 0,
	       c6 > 0 ? pairs / c6 : 0);
	rc = issued > 0 && other == 0 ? 0 : 1;
out:
	stop_jpkid(pid);
	for (int k = 0; k < NKEYS; k++)
		EVP_PKEY_free(keys[k].k);
	for (int t = 0; cl != NULL && t < clients; t++) {
		if (cl[t].c != NULL)
			conn_close(cl[t].c);
		free(cl[t].c);
	}
	free(cl);
	free(ids);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_issue_http: could not remove %s\n", tmp);
	return rc;
}
