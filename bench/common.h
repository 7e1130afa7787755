/* Shared helpers of the benchmark programs. */
#ifndef JPKI_BENCH_COMMON_H
#define JPKI_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A new work directory $TMPDIR/jpki-bench-NAME-XXXXXX (TMPDIR unset or
 * empty: /tmp) into dir: 0, or -1 with the reason on stderr. */
static inline int bench_tmpdir(const char *name, char *dir, size_t cap)
{
	const char *base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	int n = snprintf(dir, cap, "%s/jpki-bench-%s-XXXXXX", base, name);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "bench: TMPDIR too long: %s\n", base);
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return -1;
	}
	return 0;
}

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run `openssl speed` for RSA-2048 and return sign/s (and verify/s) as the
 * physical limit on these cores.  multi = number of processes.  0 on
 * failure. */
static inline double bench_openssl_rsa2048(int multi, int seconds,
					   double *verify_per_s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd),
		 "openssl speed -seconds %d %s%.0d rsa2048 2>/dev/null",
		 seconds, multi > 1 ? "-multi " : "", multi > 1 ? multi : 0);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return 0;
	char line[512];
	double sign = 0, verify = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		double a, b, c, d;
		/* "rsa 2048 bits 0.000613s 0.000018s   1631.4  55290.0" (also
		 * "rsa  2048 bits" in -multi summaries) */
		const char *s = strstr(line, "rsa");
		if (s == NULL || strstr(s, "2048 bits") == NULL)
			continue;
		s = strstr(s, "bits");
		if (sscanf(s + 4, " %lfs %lfs %lf %lf", &a, &b, &c, &d) == 4) {
			sign = c;
			verify = d;
		}
	}
	pclose(p);
	if (verify_per_s != NULL)
		*verify_per_s = verify;
	return sign;
}

#endif
