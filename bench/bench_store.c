/* bench_store: store transactions per second for the CA's issuance write
 * pattern — 2 certificate puts (~1.2 KB DER, random 16-byte serials), 1
 * meta_incr, 1 audit append, one commit — with sync=full and sync=normal.
 * The physical limit of sync=full is the fdatasync rate of the same
 * directory, measured in the same run (a commit costs at least one).
 *
 * usage: bench_store [--seconds S] [--dir DIR]   (default 2 s, $TMPDIR or
 * /tmp) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "openjpki/store.h"

#define DER_LEN 1200

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* fdatasync()s per second on a 4 KiB rewrite in dir; 0 on failure. */
static double fsync_rate(const char *dir, double seconds)
{
	char path[600], buf[4096];
	long n = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/fsync-probe", dir) >=
	    sizeof(path))
		return 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	memset(buf, 'x', sizeof(buf));
	double t0 = bench_now(), t = t0;
	while (t - t0 < seconds) {
		if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) != 0)
			break;
		n++;
		t = bench_now();
	}
	close(fd);
	unlink(path);
	return t > t0 ? (double)n / (t - t0) : 0;
}

static int setup(store *s, jpki_err *err)
{
	store_muni m = {"131016", "Tokyo-to", "Chiyoda-ku", "東京都",
			"千代田区"};
	store_resident r;
	store_card c;
	int rc;
	memset(&r, 0, sizeof(r));
	snprintf(r.ext_id, sizeof(r.ext_id), "BENCH1");
	snprintf(r.name, sizeof(r.name), "山田 花子");
	snprintf(r.kana, sizeof(r.kana), "ヤマダ ハナコ");
	r.birth = (jpki_date){1990, 1, 1};
	r.sex = 2;
	snprintf(r.muni_code, sizeof(r.muni_code), "131016");
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "BENCHCARD");
	c.issued = (jpki_date){2024, 4, 1};
	c.expiry = (jpki_date){2034, 1, 1};
	if ((rc = store_muni_put(s, &m, err)) != 0 ||
	    (rc = store_resident_add(s, &r, err)) != 0)
		return rc;
	c.resident_id = r.id;
	return store_card_put(s, &c, err);
}

static int one_tx(store *s, const uint8_t *der, int64_t resident, long i,
		  jpki_err *err)
{
	char detail[160];
	int64_t seq = 0;
	int rc = store_begin(s, err);
	if (rc != 0)
		return rc;
	for (int k = 0; k < 2 && rc == 0; k++) {
		store_cert c;
		memset(&c, 0, sizeof(c));
		snprintf(c.serial, sizeof(c.serial), "%016llX%016llX",
			 (unsigned long long)(next_rand() >> 1),
			 (unsigned long long)next_rand());
		c.kind = k + 1;
		c.resident_id = resident;
		snprintf(c.card_serial, sizeof(c.card_serial), "BENCHCARD");
		snprintf(c.muni_code, sizeof(c.muni_code), "131016");
		snprintf(c.subject, sizeof(c.subject),
			 "/C=JP/L=Tokyo-to/L=Chiyoda-ku/CN=%ld", i);
		c.not_before = 1700000000;
		c.not_after = 1700000000 + 5 * 365 * 86400L;
		c.der = (uint8_t *)der;
		c.der_len = DER_LEN;
		rc = store_cert_put(s, &c, err);
		if (k == 0)
			snprintf(detail, sizeof(detail), "serial=%s", c.serial);
	}
	if (rc != 0 ||
	    (rc = store_meta_incr(s, "seq/sign", 1, &seq, err)) != 0 ||
	    (rc = store_audit_append(s, 1700000000 + i, "ca", "cert.issue",
				     detail, err)) != 0 ||
	    (rc = store_commit(s, err)) != 0) {
		store_rollback(s);
		return rc;
	}
	return 0;
}

/* Transactions per second in `mode` into *tps and *count. */
static int run(const char *dir, const char *mode, double seconds, double *tps,
	       long *count, jpki_err *err)
{
	static uint8_t der[DER_LEN];
	char loc[640];
	store *s = NULL;
	store_resident r;
	long n = 0;
	int rc;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)next_rand();
	snprintf(loc, sizeof(loc), "sqlite:%s/bench-%s.db?sync=%s", dir, mode,
		 mode);
	if ((rc = store_open(loc, &s, err)) != 0 || (rc = setup(s, err)) != 0 ||
	    (rc = store_resident_get_ext(s, "BENCH1", &r, err)) != 0) {
		store_close(s);
		return rc;
	}
	double t0 = bench_now(), t = t0;
	while (t - t0 < seconds) {
		if ((rc = one_tx(s, der, r.id, n, err)) != 0)
			break;
		n++;
		if ((n & 15) == 0)
			t = bench_now();
	}
	t = bench_now();
	if (rc == 0 && (rc = store_audit_verify(s, NULL, err)) != 0)
		jpki_wrap(err, rc, "audit chain after the run");
	store_close(s);
	*count = n;
	*tps = (double)n / (t - t0);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"full", "normal"};
	double seconds = 2, tps[2] = {0, 0};
	const char *base = getenv("TMPDIR");
	char dir[512], path[640];
	jpki_err err = {0, ""};
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			base = argv[++i];
		} else {
			fprintf(
			    stderr,
			    "usage: bench_store [--seconds S] [--dir DIR]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 60)
		seconds = 2;
	snprintf(dir, sizeof(dir), "%s/jpki-bench-store-XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	double fsyncs = fsync_rate(dir, seconds / 2);
	printf("fdatasync in %s: %.0f/s (ceiling of sync=full commits)\n", dir,
	       fsyncs);
	for (int m = 0; m < 2; m++) {
		long n = 0;
		int rc = run(dir, modes[m], seconds, &tps[m], &n, &err);
		if (rc != 0) {
			fprintf(stderr, "sync=%s: %s\n", modes[m],
				jpki_err_msg(&err, rc));
			status = 1;
			tps[m] = 0;
			continue;
		}
		printf("sync=%-6s %8.0f tx/s  %8.0f certs/s  (%ld tx in "
		       "%.1f s; 2 cert puts + meta_incr + audit append per "
		       "tx)",
		       modes[m], tps[m], 2 * tps[m], n, seconds);
		if (fsyncs > 0)
			printf("  %.2f x fdatasync rate", tps[m] / fsyncs);
		printf("\n");
	}
	printf("{\"bench\":\"store\",\"seconds\":%.1f,\"der_bytes\":%d,"
	       "\"fdatasync_per_s\":%.0f,\"sync_full_tx_per_s\":%.0f,"
	       "\"sync_normal_tx_per_s\":%.0f}\n",
	       seconds, DER_LEN, fsyncs, tps[0], tps[1]);
	for (int m = 0; m < 2; m++) {
		static const char *const sfx[] = {"", "-wal", "-shm"};
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "%s/bench-%s.db%s", dir,
				 modes[m], sfx[k]);
			unlink(path);
		}
	}
	rmdir(dir);
	return status;
}
