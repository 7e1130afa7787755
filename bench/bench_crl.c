/* bench_crl: CRLs at national size (issue #12 item 4).
 *
 * (a) N revoked certificates (default 1,000,000; --full: 10,000,000) spread
 *     over 1,741 municipalities are published with ca_crl_publish(): both
 *     hierarchies' full CRL, ARL and per-municipality CRLs, one generation.
 *     Wall time and peak RSS of the publishing process (a child, measured
 *     by wait4), and `openssl crl -verify` on the full CRL.
 * (b) M revoked certificates (default 1,000,000): our full CRL against
 *     `openssl ca -gencrl` over an index.txt of the same serials, in the
 *     same run, each in a child process (time and peak RSS by wait4).
 *
 * The store is filled by a bulk path: rows inserted straight into the
 * SQLite file the CA created, with a one-octet placeholder for the
 * certificate DER -- CRLs read only serial, reason and revocation time, so
 * no certificate is signed.  Prints one JSON object.
 *
 * --pg URI instead: N revoked certificates in a fresh schema of the
 * PostgreSQL database at URI (filled by one INSERT ... SELECT), and the
 * time and peak RSS of writing the full CRL (ca_crl_write) from it; with
 * as many valid certificates, and the time and peak RSS of reading them
 * all (store_cert_expiring, what OCSP warm-up reads). */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/pem.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "openjpki/ca.h"
#include "openjpki/util.h"

#define MUNIS 1741

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_crl: %s: %s\n", what, msg);
	exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	/* xorshift64*: placeholder serial octets, not security */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *e = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK) {
		fprintf(stderr, "bench_crl: %s: %s\n", sql, e ? e : "?");
		sqlite3_free(e);
		return -1;
	}
	return 0;
}

/* A CA in `dir` whose sign hierarchy has n revoked certificates spread
 * over `munis` municipalities; the serials (hex) go to index.txt in
 * openssl ca's format when `index` is set.  Returns the load time. */
static double make_ca(const char *dir, size_t n, int munis, time_t now,
		      const char *index)
{
	jpki_err err = {0};
	ca_init_opts o = {.profile = JPKI_PROFILE_TEST, .now = now};
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *mu = NULL, *ce = NULL;
	FILE *ix = NULL;
	double t0 = bench_now();
	if (ca_init(dir, &o, &err) != 0)
		die("ca_init", err.msg);
	snprintf(path, sizeof(path), "%s/jpki.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite3_open", path);
	if (exec_sql(db, "PRAGMA synchronous = OFF") != 0 ||
	    exec_sql(db, "PRAGMA cache_size = -262144") != 0 ||
	    exec_sql(db, "BEGIN") != 0)
		exit(1);
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO municipalities (code, pref_roman,"
			       " city_roman, pref, city) VALUES (?1, ?2, ?3,"
			       " '県', '市')",
			       -1, &mu, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		db,
		"INSERT INTO certificates (serial, kind, muni_code, subject,"
		" not_before, not_after, status, reason, revoked_at, der)"
		" VALUES (?1, ?2, ?3, '', ?4, ?5, 1, ?6, ?7, x'30')",
		-1, &ce, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	for (int i = 0; i < munis; i++) {
		char code[16], pref[32], city[32];
		snprintf(code, sizeof(code), "%06d", 100000 + i);
		snprintf(pref, sizeof(pref), "Pref-%02d", i % 47);
		snprintf(city, sizeof(city), "City-%04d", i);
		sqlite3_bind_text(mu, 1, code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(mu, 2, pref, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(mu, 3, city, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(mu) != SQLITE_DONE)
			die("municipality", sqlite3_errmsg(db));
		sqlite3_reset(mu);
	}
	if (index != NULL && (ix = fopen(index, "w")) == NULL)
		die(index, strerror(errno));
	/* leaf serials as ca_leaf_serial makes them: 0x40|kind, a 40-bit
	 * sequence number, 80 random bits */
	for (size_t i = 0; i < n; i++) {
		static const char hx[] = "0123456789ABCDEF";
		uint8_t sn[16];
		char hex[33], code[16];
		sn[0] = 0x40 | JPKI_CERT_SIGN;
		for (int k = 0; k < 5; k++)
			sn[1 + k] = (uint8_t)((uint64_t)i >> (8 * (4 - k)));
		uint64_t r1 = next_rand(), r2 = next_rand();
		memcpy(sn + 6, &r1, 8);
		memcpy(sn + 14, &r2, 2);
		for (int k = 0; k < 16; k++) {
			hex[2 * k] = hx[sn[k] >> 4];
			hex[2 * k + 1] = hx[sn[k] & 15];
		}
		hex[32] = '\0';
		snprintf(code, sizeof(code), "%06d",
			 100000 + (int)(i % (size_t)munis));
		time_t rev = now - 86400 - (time_t)(i % 86400);
		int reason = (int)(i % 7);
		sqlite3_bind_text(ce, 1, hex, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int(ce, 2, JPKI_CERT_SIGN);
		sqlite3_bind_text(ce, 3, code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ce, 4, (sqlite3_int64)(now - 86400 * 400));
		sqlite3_bind_int64(ce, 5,
				   (sqlite3_int64)(now + 86400 * 365 * 4));
		sqlite3_bind_int(ce, 6, reason);
		sqlite3_bind_int64(ce, 7, (sqlite3_int64)rev);
		if (sqlite3_step(ce) != SQLITE_DONE)
			die("certificate", sqlite3_errmsg(db));
		sqlite3_reset(ce);
		if (ix != NULL) {
			static const char *const rn[] = {
			    "unspecified",    "keyCompromise",
			    "CACompromise",   "affiliationChanged",
			    "superseded",     "cessationOfOperation",
			    "certificateHold"};
			struct tm tm;
			char rt[20];
			time_t na = now + 86400 * 365 * 4;
			char nat[20];
			gmtime_r(&rev, &tm);
			strftime(rt, sizeof(rt), "%Y%m%d%H%M%SZ", &tm);
			gmtime_r(&na, &tm);
			strftime(nat, sizeof(nat), "%Y%m%d%H%M%SZ", &tm);
			fprintf(ix, "R\t%s\t%s%s%s\t%s\tunknown\t/CN=c%zu\n",
				nat + 2, rt + 2, reason ? "," : "",
				reason ? rn[reason] : "", hex, i);
		}
	}
	if (exec_sql(db, "COMMIT") != 0)
		exit(1);
	sqlite3_finalize(mu);
	sqlite3_finalize(ce);
	sqlite3_close(db);
	if (ix != NULL && fclose(ix) != 0)
		die(index, strerror(errno));
	return bench_now() - t0;
}

/* Run argv as a child; its wall time and peak RSS (MiB).  Linux carries
 * the parent's RSS at fork into the child's ru_maxrss across exec, so
 * wait4 alone would report at least this bench's own size (which grows
 * with the rows it inserted).  Our own children (self_report) therefore
 * write their VmHWM (the high-water mark of the image exec gave them) to
 * the file named by BENCH_CRL_HWM, and that is the figure; for openssl
 * ru_maxrss stays, an upper bound. */
static int run_child(char *const argv[], bool self_report, double *secs,
		     double *rss_mb)
{
	char hwm[64] = "";
	if (self_report)
		snprintf(hwm, sizeof(hwm), "/tmp/bench_crl_hwm.%d",
			 (int)getpid());
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, STDOUT_FILENO);
		if (self_report)
			setenv("BENCH_CRL_HWM", hwm, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) != pid)
		return -1;
	*secs = bench_now() - t0;
	*rss_mb = (double)ru.ru_maxrss / 1024.0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	if (self_report) {
		FILE *f = fopen(hwm, "r");
		long long kb = -1;
		if (f == NULL || fscanf(f, "%lld", &kb) != 1 || kb <= 0)
			die("the child's VmHWM", hwm);
		fclose(f);
		unlink(hwm);
		*rss_mb = (double)kb / 1024.0;
	}
	return 0;
}

/* In a child: VmHWM (kB) to the file the parent named. */
static void report_hwm(void)
{
	const char *path = getenv("BENCH_CRL_HWM");
	char line[256];
	long long kb = -1;
	if (path == NULL)
		return;
	FILE *f = fopen("/proc/self/status", "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	FILE *o = fopen(path, "w");
	if (o == NULL || fprintf(o, "%lld\n", kb) < 0 || fclose(o) != 0)
		die("writing VmHWM", path);
}

static int write_root(const char *dir, const char *file)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	char path[512];
	if (ca_open(dir, NULL, &ca, &err) != 0)
		die("ca_open", err.msg);
	snprintf(path, sizeof(path), "%s", file);
	FILE *f = fopen(path, "w");
	int ok =
	    f != NULL && PEM_write_X509(f, ca_root(ca, JPKI_CERT_SIGN)) == 1;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	ca_close(ca);
	return ok ? 0 : -1;
}

static bool crl_verifies(const char *crl, bool der, const char *root)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "openssl crl -inform %s -in '%s' -CAfile '%s' -noout "
		 "2>&1 | grep -qx 'verify OK'",
		 der ? "DER" : "PEM", crl, root);
	return system(cmd) == 0;
}

static int fd_write(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	int fd = *(int *)ctx;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return jpki_fail(err, JPKI_ERR_IO, "write: %s",
					 strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int count_row(void *ctx, const store_cert *c)
{
	(void)c;
	++*(long long *)ctx;
	return 0;
}

static int child_main(int argc, char **argv)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int rc;
	if (argc != 5)
		return 2;
	time_t now = (time_t)strtoll(argv[4], NULL, 10);
	/* --pg: the store's URI from the parent */
	if (ca_open(argv[2], getenv("BENCH_CRL_STORE"), &ca, &err) != 0)
		die("ca_open", err.msg);
	if (strcmp(argv[1], "--child-publish") == 0) {
		ca_crl_published p = {0};
		rc = ca_crl_publish(ca, argv[3], now, &p, &err);
		if (rc == 0)
			printf("%zu files, generation %llu\n", p.files,
			       (unsigned long long)p.generation);
	} else if (strcmp(argv[1], "--child-valid") == 0) {
		/* --pg: every valid certificate, as OCSP warm-up reads them */
		long long rows = 0;
		jpki_date first = {1, 1, 1}, last = {9999, 12, 31};
		rc = store_cert_expiring(ca_store(ca), first, last, count_row,
					 &rows, &err);
		if (rc == 0)
			printf("%lld valid certificates read\n", rows);
	} else {
		int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		rc = fd < 0 ? JPKI_ERR_IO : 0;
		if (rc == 0) {
			rc = ca_crl_write(ca, JPKI_CERT_SIGN, CA_CRL_FULL, NULL,
					  now, fd_write, &fd, &err);
			if (close(fd) != 0 && rc == 0)
				rc = JPKI_ERR_IO;
		}
	}
	ca_close(ca);
	if (rc != 0)
		die("CRL", err.msg);
	report_hwm();
	return 0;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void pg_do(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(c));
	PQclear(r);
}

/* --pg: n revoked rows in a fresh schema at url, the full CRL written by a
 * child; JSON. */
static int pg_main(const char *url, size_t n, const char *work,
		   const char *self, time_t now, const char *now_s)
{
	jpki_err err = {0};
	char schema[64], loc[1200], sql[1024], dir[700], out[700];
	snprintf(schema, sizeof(schema), "bench_crl_%d", (int)getpid());
	snprintf(loc, sizeof(loc), "%s%soptions=-csearch_path%%3D%s", url,
		 strchr(url, '?') != NULL ? "&" : "?", schema);
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		die("PQconnectdb", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	pg_do(c, sql);
	snprintf(dir, sizeof(dir), "%s/pg", work);
	snprintf(out, sizeof(out), "%s/pg-full.crl", work);
	double t0 = bench_now();
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = now, .store = loc};
	if (ca_init(dir, &o, &err) != 0)
		die("ca_init", err.msg);
	snprintf(sql, sizeof(sql), "SET search_path = %s", schema);
	pg_do(c, sql);
	pg_do(c, "INSERT INTO municipalities (code, pref_roman, city_roman,"
		 " pref, city) VALUES ('100000', 'Pref', 'City', '県', '市')");
	/* serials as ca_leaf_serial makes them: 0x40|kind, a 40-bit
	 * sequence number, 80 pseudo-random bits */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificates (serial, kind, muni_code, subject,"
		 " not_before, not_after, status, reason, revoked_at, der)"
		 " SELECT upper('%02x' || lpad(to_hex(i), 10, '0')"
		 " || substr(md5(i::text), 1, 20)), %d, '100000', '',"
		 " %lld, %lld, 1, i %% 7, %lld - (i %% 86400), '\\x30'"
		 " FROM generate_series(0, %zu - 1) AS i",
		 0x40 | JPKI_CERT_SIGN, JPKI_CERT_SIGN,
		 (long long)(now - 86400 * 400),
		 (long long)(now + 86400 * 365 * 4), (long long)(now - 86400),
		 n);
	pg_do(c, sql);
	/* and as many valid ones of the other kind, which OCSP warm-up
	 * reads (store_cert_expiring over every day) */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificates (serial, kind, muni_code, subject,"
		 " not_before, not_after, status, der)"
		 " SELECT upper('%02x' || lpad(to_hex(i), 10, '0')"
		 " || substr(md5(i::text), 1, 20)), %d, '100000', '',"
		 " %lld, %lld + (i %% 86400), 0, '\\x30'"
		 " FROM generate_series(0, %zu - 1) AS i",
		 0x40 | JPKI_CERT_AUTH, JPKI_CERT_AUTH,
		 (long long)(now - 86400 * 400),
		 (long long)(now + 86400 * 365 * 4), n);
	pg_do(c, sql);
	pg_do(c, "ANALYZE certificates");
	double load = bench_now() - t0;
	double secs = 0, rss = 0, vsecs = 0, vrss = 0;
	char *pa[] = {(char *)self, "--child-full", dir,
		      out,	    (char *)now_s,  NULL};
	char *pv[] = {(char *)self, "--child-valid", dir,
		      "-",	    (char *)now_s,   NULL};
	setenv("BENCH_CRL_STORE", loc, 1);
	int rc = run_child(pa, true, &secs, &rss);
	int vrc = run_child(pv, true, &vsecs, &vrss);
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
	pg_do(c, sql);
	PQfinish(c);
	printf("{\"pg\":{\"entries\":%zu,\"load_s\":%.2f,"
	       "\"full_crl_s\":%.2f,\"full_crl_peak_rss_mb\":%.1f,"
	       "\"crl_bytes\":%lld,\"valid_read_s\":%.2f,"
	       "\"valid_read_peak_rss_mb\":%.1f,\"ok\":%s}}\n",
	       n, load, secs, rss, rc == 0 ? file_size(out) : -1LL, vsecs, vrss,
	       rc == 0 && vrc == 0 ? "true" : "false");
	return rc == 0 && vrc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t n = 1000000, m = 1000000;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	bool keep = false;
	const char *pg = NULL;
	if (argc > 1 && strncmp(argv[1], "--child-", 8) == 0)
		return child_main(argc, argv);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--full") == 0)
			n = 10000000;
		else if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
			n = (size_t)strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc)
			m = (size_t)strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
			pg = argv[++i];
		else {
			bool help = strcmp(argv[i], "--help") == 0;
			fprintf(help ? stdout : stderr,
				"usage: bench_crl [--full | --entries N] "
				"[--compare M] [--keep] [--pg URI]\n"
				"  (a) N revoked certificates (default 1000000,"
				" --full 10000000) over %d municipalities,\n"
				"      every CRL published (ca_crl_publish):"
				" time, peak RSS, openssl crl -verify;\n"
				"  (b) M (default 1000000; 0 skips) against "
				"`openssl ca -gencrl`, same run.\n"
				"--pg URI: instead, N revoked rows in a fresh"
				" schema of that PostgreSQL database and\n"
				"  the full CRL written from it (time, peak"
				" RSS); N valid rows too, all read as OCSP\n"
				"  warm-up reads them (time, peak RSS).\n"
				"Prints JSON.  --keep leaves the work "
				"directory.\n",
				MUNIS);
			return help ? 0 : 2;
		}
	}
	char work[600], ca_a[700], ca_b[700], out_a[700], root_a[700];
	char cmd[8192], self[600];
	snprintf(work, sizeof(work), "%s/bench_crl.XXXXXX", base);
	if (mkdtemp(work) == NULL)
		die("mkdtemp", strerror(errno));
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		die("readlink", strerror(errno));
	self[sl] = '\0';
	time_t now = time(NULL);
	char now_s[32];
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);

	if (pg != NULL) {
		int rc = pg_main(pg, n, work, self, now, now_s);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (!keep && system(cmd) != 0)
			fprintf(stderr, "bench_crl: cannot remove %s\n", work);
		return rc;
	}

	/* (a) */
	snprintf(ca_a, sizeof(ca_a), "%s/a", work);
	snprintf(out_a, sizeof(out_a), "%s/a-pub", work);
	snprintf(root_a, sizeof(root_a), "%s/a-root.pem", work);
	double load_a = make_ca(ca_a, n, MUNIS, now, NULL);
	if (write_root(ca_a, root_a) != 0)
		die("root", "cannot write root.pem");
	double pub_s = 0, pub_rss = 0;
	char *pa[] = {self, "--child-publish", ca_a, out_a, now_s, NULL};
	if (run_child(pa, true, &pub_s, &pub_rss) != 0)
		die("publish", "the publishing child failed");
	char full_a[800];
	snprintf(full_a, sizeof(full_a), "%s/current/crl-sign-full.crl", out_a);
	bool ok_a = crl_verifies(full_a, true, root_a);
	long long full_bytes = file_size(full_a);

	/* (b) */
	double ours_s = 0, ours_rss = 0, ossl_s = 0, ossl_rss = 0;
	bool ok_ours = false, ok_ossl = false;
	if (m > 0) {
		char ix[800], cnf[800], okey[800], ocert[800], ocrl[800];
		char mycrl[800], root_b[800];
		snprintf(ca_b, sizeof(ca_b), "%s/b", work);
		snprintf(ix, sizeof(ix), "%s/index.txt", work);
		snprintf(cnf, sizeof(cnf), "%s/ca.cnf", work);
		snprintf(okey, sizeof(okey), "%s/o-key.pem", work);
		snprintf(ocert, sizeof(ocert), "%s/o-root.pem", work);
		snprintf(ocrl, sizeof(ocrl), "%s/openssl.crl", work);
		snprintf(mycrl, sizeof(mycrl), "%s/ours.crl", work);
		snprintf(root_b, sizeof(root_b), "%s/b-root.pem", work);
		make_ca(ca_b, m, 1, now, ix);
		if (write_root(ca_b, root_b) != 0)
			die("root", "cannot write root.pem");
		/* openssl ca's own RSA-2048 root, CRL with AKI as ours */
		snprintf(cmd, sizeof(cmd),
			 "openssl req -x509 -newkey rsa:2048 -nodes -subj "
			 "/CN=bench -days 2 -keyout '%s' -out '%s' "
			 ">/dev/null 2>&1 && echo 01 > '%s/crlnumber' && "
			 "echo 'unique_subject = no' > '%s.attr'",
			 okey, ocert, work, ix);
		if (system(cmd) != 0)
			die("openssl req", "failed");
		FILE *f = fopen(cnf, "w");
		if (f == NULL)
			die(cnf, strerror(errno));
		fprintf(f,
			"[ca]\ndefault_ca = b\n[b]\ndatabase = %s\n"
			"certificate = %s\nprivate_key = %s\n"
			"crlnumber = %s/crlnumber\ndefault_md = sha256\n"
			"default_crl_days = 1\ncrl_extensions = ext\n"
			"[ext]\nauthorityKeyIdentifier = keyid\n",
			ix, ocert, okey, work);
		if (fclose(f) != 0)
			die(cnf, "write");
		char *pb[] = {self, "--child-full", ca_b, mycrl, now_s, NULL};
		if (run_child(pb, true, &ours_s, &ours_rss) != 0)
			die("ours", "the CRL child failed");
		char *po[] = {"openssl", "ca", "-gencrl", "-config", cnf,
			      "-out",	 ocrl, "-batch",  NULL};
		if (run_child(po, false, &ossl_s, &ossl_rss) != 0)
			die("openssl ca -gencrl", "failed");
		ok_ours = crl_verifies(mycrl, true, root_b);
		ok_ossl = crl_verifies(ocrl, false, ocert);
	}
	printf("{\"bench\":\"bench_crl\",\"date\":%lld,"
	       "\"a\":{\"entries\":%zu,\"municipalities\":%d,"
	       "\"load_s\":%.1f,\"publish_s\":%.2f,"
	       "\"publish_peak_rss_mb\":%.1f,\"full_crl_bytes\":%lld,"
	       "\"openssl_verify_full\":%s,"
	       "\"target_s\":60,\"target_rss_mb\":256},",
	       (long long)now, n, MUNIS, load_a, pub_s, pub_rss, full_bytes,
	       ok_a ? "true" : "false");
	if (m > 0)
		printf("\"b\":{\"entries\":%zu,\"ours_s\":%.2f,"
		       "\"ours_peak_rss_mb\":%.1f,\"openssl_s\":%.2f,"
		       "\"openssl_peak_rss_mb\":%.1f,\"speedup\":%.2f,"
		       "\"memory_ratio\":%.3f,\"openssl_verify_ours\":%s,"
		       "\"openssl_verify_openssl\":%s,"
		       "\"target_speedup\":5,\"target_memory_ratio\":0.25}}\n",
		       m, ours_s, ours_rss, ossl_s, ossl_rss,
		       ours_s > 0 ? ossl_s / ours_s : 0,
		       ossl_rss > 0 ? ours_rss / ossl_rss : 0,
		       ok_ours ? "true" : "false", ok_ossl ? "true" : "false");
	else
		printf("\"b\":null}\n");
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_crl: cannot remove %s\n", work);
	} else {
		fprintf(stderr, "bench_crl: kept %s\n", work);
	}
	return ok_a && (m == 0 || (ok_ours && ok_ossl)) ? 0 : 1;
}
