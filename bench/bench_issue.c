/* bench_issue: certificate pairs (署名用 + 利用者証明用) issued per second by
 * the CA core, store commit included, against the RSA-2048 signing limit
 * of these cores measured in the same run (`openssl speed -multi N`).
 * A pair costs two RSA signatures, so the ceiling is signs/s ÷ 2.
 *
 * Each thread issues in batches sharing one store commit (group commit,
 * ca_issue_batch); --batch 1 measures one commit per pair.  As in jpkid,
 * there is one issuing thread per core plus one: while a thread waits for
 * its commit's fsync the others keep every core signing.  The limit is
 * always measured on all the cores (`-multi <cores>`).
 *
 * --keystore pkcs11 keeps the CA's keys in a SoftHSM2 token made for the
 * run (a private SOFTHSM2_CONF and token directory under the run's temp
 * directory; --module names another PKCS#11 module's path, whose token
 * "bench" must then exist with PIN $JPKI_PKCS11_PIN): every signature is
 * a C_Sign through the keystore's OpenSSL provider.
 *
 * --keystore signer and signer-pkcs11 keep the same keys (file or token)
 * behind jpki-signer, started as jpkid --signer starts it
 * (keystore_signer_start, keystore "signer:"): every signature is a
 * request over the signer's socket, linted and logged there.  The
 * signer's rate limit (default 500/s, bursts of 1000) would cap the run,
 * so the bench starts it with --rate 1000000 --burst 10000000.  The
 * signer's CPU time over the run is printed too.
 *
 * --store URI issues into another store (e.g. postgresql://...; the
 * database must be empty: the CA's tables are made there).
 *
 * usage: bench_issue [--seconds S] [--threads N] [--sync full|normal]
 *                    [--batch N] [--store URI] [--module SO]
 *                    [--keystore file|pkcs11|signer|signer-pkcs11]
 *                    [--signer-exe PATH] [--keep]
 *
 * --keep leaves the CA directory (printed on stderr), e.g. for `jpki
 * --dir DIR/ca --store URI audit verify` after the run. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "openjpki/ca.h"
#include "openjpki/keystore.h"
#include "openjpki/util.h"
#include "seed.h"

#define MAX_THREADS 8
#define NKEYS 4

typedef struct worker {
	char dir[256];
	char store[1024];
	const char *ks;	      /* NULL or "signer:" */
	int64_t first, count; /* resident id range */
	int batch, index;
	double seconds;
	EVP_PKEY *keys[NKEYS];
	long issued;
	double cpu; /* thread CPU seconds spent issuing */
	int rc;
	jpki_err err;
} worker;

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RSA-2048 signatures per CPU second in this process (a SHA-256
 * DigestInfo, PKCS#1 v1.5), for the CPU-time view of efficiency, which
 * other load on the machine does not distort. */
static double raw_signs_per_cpu_s(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	unsigned char md[32] = {0}, sig[256];
	size_t n = 0;
	double t0 = thread_cpu(), t = t0;
	EVP_PKEY_sign_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
	EVP_PKEY_CTX_set_signature_md(c, EVP_sha256());
	while ((t = thread_cpu()) - t0 < 1.0) {
		size_t sl = sizeof(sig);
		if (EVP_PKEY_sign(c, sig, &sl, md, sizeof(md)) != 1)
			break;
		n++;
	}
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	return t > t0 ? (double)n / (t - t0) : 0;
}

static void *work(void *arg)
{
	worker *w = arg;
	jpki_ca *ca = NULL;
	if ((w->rc = ca_open_ks(w->dir, w->store, w->ks, &ca, &w->err)) != 0)
		return NULL;
	time_t now = time(NULL);
	double end = bench_now() + w->seconds;
	double cpu0 = thread_cpu();
	ca_issue_req reqs[CA_BATCH_MAX];
	ca_issued outs[CA_BATCH_MAX];
	int rcs[CA_BATCH_MAX];
	static jpki_err errs[MAX_THREADS][CA_BATCH_MAX];
	char cards[CA_BATCH_MAX][40];
	for (int64_t i = 0; i + w->batch <= w->count && bench_now() < end;
	     i += w->batch) {
		for (int b = 0; b < w->batch; b++) {
			snprintf(cards[b], sizeof(cards[b]), "C%lld",
				 (long long)(w->first + i + b));
			reqs[b] =
			    (ca_issue_req){.resident_id = w->first + i + b,
					   .card_serial = cards[b],
					   .sign_pub = w->keys[b % NKEYS],
					   .auth_pub = w->keys[(b + 1) % NKEYS],
					   .now = now};
		}
		if ((w->rc = ca_issue_batch(ca, reqs, (size_t)w->batch, outs,
					    rcs, errs[w->index], &w->err)) != 0)
			break;
		for (int b = 0; b < w->batch; b++) {
			if (rcs[b] != 0) {
				w->rc = rcs[b];
				w->err = errs[w->index][b];
				goto done;
			}
			ca_issued_free(&outs[b]);
			w->issued++;
		}
	}
done:
	w->cpu = thread_cpu() - cpu0;
	ca_close(ca);
	return NULL;
}

/* CPU seconds (user + system) of process `pid`, -1 if unknown. */
static double proc_cpu(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	/* after the name: state and 10 fields, then utime and stime */
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				"%*u %llu %llu",
				&ut, &st) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? (double)(ut + st) / (double)hz : -1;
}

/* jpki-signer beside this program's build tree (build/bench/..). */
static const char *signer_exe_default(char *buf, size_t cap)
{
	char self[1024];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	static const char *const rel[] = {"/jpki-signer", "/../jpki-signer",
					  "/../cmd/jpki-signer"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(buf, cap, "%s%s", self, rel[i]);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	jpki_malloc_keep(); /* as jpkid does */
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	int threads = cores + 1;
	const char *sync = "full";
	int batch = 32; /* jpkid's --issue-batch default */
	const char *ks_name = "file";
	const char *module = NULL, *store_arg = NULL, *signer_exe = NULL;
	bool keep = false; /* leave the CA directory (jpki audit verify) */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc)
			sync = argv[++i];
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = atoi(argv[++i]);
		else if (strcmp(argv[i], "--keystore") == 0 && i + 1 < argc &&
			 (strcmp(argv[i + 1], "file") == 0 ||
			  strcmp(argv[i + 1], "pkcs11") == 0 ||
			  strcmp(argv[i + 1], "signer") == 0 ||
			  strcmp(argv[i + 1], "signer-pkcs11") == 0))
			ks_name = argv[++i];
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			store_arg = argv[++i];
		else if (strcmp(argv[i], "--signer-exe") == 0 && i + 1 < argc)
			signer_exe = argv[++i];
		else if (strcmp(argv[i], "--module") == 0 && i + 1 < argc)
			module = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(
			    stderr,
			    "usage: bench_issue [--seconds S] [--threads N] "
			    "[--sync full|normal] [--batch N] [--store URI] "
			    "[--module SO]\n                   "
			    "[--keystore file|pkcs11|signer|signer-pkcs11] "
			    "[--signer-exe PATH] [--keep]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > MAX_THREADS)
		threads = cores + 1 > MAX_THREADS ? MAX_THREADS : cores + 1;
	if (batch < 1 || batch > CA_BATCH_MAX)
		batch = 32;
	char dir[] = "/tmp/jpki-bench-issue-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	const bool use_signer = (strcmp(ks_name, "signer") == 0 ||
				 strcmp(ks_name, "signer-pkcs11") == 0);
	const bool use_token = strcmp(ks_name, "pkcs11") == 0 ||
			       strcmp(ks_name, "signer-pkcs11") == 0;
	const char *ks_open = use_signer ? "signer:" : NULL;
	char cadir[300], store_loc[1024], signer_buf[1100];
	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	if (store_arg != NULL) {
		if (jpki_strlcpy(store_loc, store_arg, sizeof(store_loc)) !=
		    0) {
			fprintf(stderr, "bench_issue: --store too long\n");
			return 2;
		}
	} else {
		snprintf(store_loc, sizeof(store_loc),
			 "sqlite:%s/ca/jpki.db?sync=%s", dir, sync);
	}
	if (use_signer && signer_exe == NULL &&
	    (signer_exe = signer_exe_default(signer_buf, sizeof(signer_buf))) ==
		NULL) {
		fprintf(stderr, "bench_issue: where is jpki-signer? "
				"(--signer-exe)\n");
		return 2;
	}
	jpki_err err = {0};
	time_t now = time(NULL);
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = now, .store = store_loc};
	char ks_loc[1400];
	if (use_token) {
		if (module == NULL) {
			/* a SoftHSM2 token of the run's own */
			char conf[300], cmd[1600];
			module = "/usr/lib/softhsm/libsofthsm2.so";
			snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
			snprintf(cmd, sizeof(cmd),
				 "mkdir -p '%s/tokens' && printf "
				 "'directories.tokendir = %s/tokens\\n"
				 "objectstore.backend = file\\nlog.level = "
				 "ERROR\\n' > '%s' && SOFTHSM2_CONF='%s' "
				 "softhsm2-util --init-token --free --label "
				 "bench --so-pin 12345678 --pin 1234 "
				 ">/dev/null",
				 dir, dir, conf, conf);
			if (system(cmd) != 0) {
				fprintf(stderr, "bench_issue: cannot make a "
						"SoftHSM2 token (softhsm2 "
						"installed?)\n");
				return 1;
			}
			setenv("SOFTHSM2_CONF", conf, 1);
			setenv("JPKI_PKCS11_PIN", "1234", 1);
		}
		snprintf(ks_loc, sizeof(ks_loc),
			 "pkcs11:module=%s;token=bench;pin-source=env:JPKI_"
			 "PKCS11_PIN",
			 module);
		o.keystore = ks_loc;
	}
	if (ca_init(cadir, &o, &err) != 0) {
		fprintf(stderr, "bench_issue: %s\n", err.msg);
		return 1;
	}
	if (use_signer) {
		/* as jpkid --signer: the signer, forked before any thread,
		 * opens the keystore ca_init wrote; as root it drops to
		 * nobody, who must reach the directory and the token */
		static const char *sargv[12];
		int na = 0;
		sargv[na++] = "--dir";
		sargv[na++] = cadir;
		sargv[na++] = "--rate";
		sargv[na++] = "1000000";
		sargv[na++] = "--burst";
		sargv[na++] = "10000000";
		if (geteuid() == 0) {
			char cmd[700];
			sargv[na++] = "--user";
			sargv[na++] = "nobody";
			snprintf(cmd, sizeof(cmd),
				 "chmod 711 '%s' && { [ ! -d '%s/tokens' ] || "
				 "chown -R nobody '%s/tokens'; }",
				 dir, dir, dir);
			if (system(cmd) != 0) {
				fprintf(stderr,
					"bench_issue: cannot open %s "
					"to nobody\n",
					dir);
				return 1;
			}
		}
		sargv[na] = NULL;
		keystore_signer_opts so = {.exe = signer_exe, .argv = sargv};
		if (keystore_signer_start(&so, &err) != 0) {
			fprintf(stderr, "bench_issue: %s\n", err.msg);
			return 1;
		}
	}
	/* residents and cards, enough for the run */
	const int64_t per_thread = (int64_t)(seconds * 2500) + 100;
	jpki_ca *ca = NULL;
	if (ca_open_ks(cadir, store_loc, ks_open, &ca, &err) != 0) {
		fprintf(stderr, "bench_issue: %s\n", err.msg);
		return 1;
	}
	store *st = ca_store(ca);
	store_muni m = BENCH_MUNI;
	if (store_begin(st, &err) != 0 || store_muni_put(st, &m, &err) != 0)
		goto fail;
	for (int64_t i = 0; i < per_thread * threads; i++) {
		int64_t rid;
		if (bench_seed_resident(st, "R", i, now, &rid, &err) != 0)
			goto fail;
	}
	if (store_commit(st, &err) != 0)
		goto fail;
	ca_close(ca);
	ca = NULL;

	/* the card keys whose certificates are issued (made before anything
	 * is measured) */
	worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	memset(w, 0, sizeof(w));
	for (int t = 0; t < threads; t++)
		for (int k = 0; k < NKEYS; k++)
			w[t].keys[k] = EVP_RSA_gen(2048);
	printf("measuring the limit: openssl speed -multi %d rsa2048 ...\n",
	       cores);
	fflush(stdout);
	double limit_before = bench_openssl_rsa2048(cores, 3, NULL);
	double limit_sign1 = bench_openssl_rsa2048(1, 2, NULL);
	double raw_cpu = raw_signs_per_cpu_s();

	printf("issuing pairs for %.0f s on %d threads (store sync=%s, batch "
	       "%d, keystore %s) ...\n",
	       seconds, threads, sync, batch, ks_name);
	fflush(stdout);
	for (int t = 0; t < threads; t++) {
		if (jpki_strlcpy(w[t].dir, cadir, sizeof(w[t].dir)) != 0 ||
		    jpki_strlcpy(w[t].store, store_loc, sizeof(w[t].store)) !=
			0) {
			fprintf(stderr, "bench_issue: path too long\n");
			return 1;
		}
		w[t].first = 1 + t * per_thread;
		w[t].count = per_thread;
		w[t].seconds = seconds;
		w[t].batch = batch;
		w[t].index = t;
		w[t].ks = ks_open;
	}
	int spid = use_signer ? keystore_signer_pid() : 0;
	double scpu0 = spid > 0 ? proc_cpu(spid) : -1;
	double t0 = bench_now();
	for (int t = 0; t < threads; t++)
		pthread_create(&tid[t], NULL, work, &w[t]);
	long total = 0;
	double cpu = 0;
	int failed = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		total += w[t].issued;
		cpu += w[t].cpu;
		if (w[t].rc != 0) {
			fprintf(stderr, "bench_issue: thread %d: %s\n", t,
				w[t].err.msg);
			failed = 1;
		}
		for (int k = 0; k < NKEYS; k++)
			EVP_PKEY_free(w[t].keys[k]);
	}
	double el = bench_now() - t0;
	double scpu = spid > 0 && scpu0 >= 0 && keystore_signer_pid() == spid
			  ? proc_cpu(spid) - scpu0
			  : -1;
	double pairs = (double)total / el;
	/* The limit once more after issuing: the VM's cores are shared with
	 * other guests, so their speed drifts over a run; the ceiling is the
	 * mean of the measurements on either side of the issuing. */
	printf("measuring the limit again ...\n");
	fflush(stdout);
	double limit_after = bench_openssl_rsa2048(cores, 3, NULL);
	double limit_sign = (limit_before + limit_after) / 2;
	double ceiling = limit_sign / 2;
	printf("openssl speed -multi %d rsa2048: %.0f sign/s (before %.0f, "
	       "after %.0f; 1 process: %.0f)\n",
	       cores, limit_sign, limit_before, limit_after, limit_sign1);
	printf("ceiling (sign/s ÷ 2):           %.0f pairs/s\n", ceiling);
	printf("CA core, store commit included:  %.0f pairs/s (%ld pairs in "
	       "%.2f s)\n",
	       pairs, total, el);
	printf("ratio:                           %.2f (target >= %s)\n",
	       ceiling > 0 ? pairs / ceiling : 0,
	       use_token				? "0.70"
	       : strncmp(store_loc, "postgres", 8) == 0 ? "0.60"
							: "0.80");
	/* The same efficiency in CPU time, against one thread signing alone:
	 * little moved by other load on the machine, but when the cores are
	 * SMT siblings, threads signing side by side are each slower than
	 * one alone, which this view counts as overhead. */
	/* with the signer, its CPU time counts too: the signatures are
	 * made there */
	if (scpu > 0)
		cpu += scpu;
	double cpu_eff =
	    cpu > 0 && raw_cpu > 0 ? ((double)total / cpu) / (raw_cpu / 2) : 0;
	double util = el > 0 ? cpu / (el * cores) : 0;
	printf("CPU view: %.0f pairs per CPU-second vs %.0f raw signs per "
	       "CPU-second: efficiency %.2f; %s kept the "
	       "cores %.0f %% busy\n",
	       cpu > 0 ? (double)total / cpu : 0, raw_cpu, cpu_eff,
	       scpu > 0 ? "the issuing threads and the signer"
			: "the issuing threads",
	       100 * util);
	if (scpu >= 0)
		printf("signer process: %.2f CPU-s, %.0f %% of one core, "
		       "%.0f us per signature (restarts: %u)\n",
		       scpu, el > 0 ? 100 * scpu / el : 0,
		       total > 0 ? 1e6 * scpu / (2.0 * (double)total) : 0,
		       keystore_signer_restarts());
	printf("{\"bench\":\"issue\",\"keystore\":\"%s\",\"store\":\"%s\","
	       "\"cores\":%d,"
	       "\"threads\":%d,\"sync\":\"%s\",\"batch\":%d,"
	       "\"pairs_per_s\":%.1f,\"openssl_sign_per_s\":%.1f,"
	       "\"openssl_sign_per_s_before\":%.1f,"
	       "\"openssl_sign_per_s_after\":%.1f,"
	       "\"ceiling_pairs_per_s\":%.1f,\"ratio\":%.3f,\"cpu_efficiency\":"
	       "%.3f,\"utilisation\":%.3f,\"signer_cpu_s\":%.3f}\n",
	       ks_name,
	       strncmp(store_loc, "postgres", 8) == 0 ? "postgresql" : "sqlite",
	       cores, threads, sync, batch, pairs, limit_sign, limit_before,
	       limit_after, ceiling, ceiling > 0 ? pairs / ceiling : 0, cpu_eff,
	       util, scpu);
	if (use_signer)
		keystore_signer_stop();
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (keep)
		fprintf(stderr, "bench_issue: kept the CA in %s/ca\n", dir);
	else if (system(cmd) != 0)
		fprintf(stderr, "bench_issue: could not remove %s\n", dir);
	return failed;
fail:
	fprintf(stderr, "bench_issue: %s\n", err.msg);
	ca_close(ca);
	if (use_signer)
		keystore_signer_stop();
	return 1;
}
