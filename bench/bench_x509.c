/* bench_x509: the cost of building and linting one leaf certificate of
 * each kind (署名用, 利用者証明用) against the RSA-2048 signature that
 * follows it, all measured in the same run on one core, on both paths:
 * the OpenSSL objects (x509_*_cert_build, x509_lint_leaf, X509_sign) and
 * the DER-first one the CA issues with (x509_*_tbs_build,
 * x509_lint_leaf_tbs, SHA-256 + EVP_PKEY_sign, x509_cert_assemble).
 * Targets: object (build + lint) / sign <= 0.15; DER build + lint <= 8 us.
 *
 * usage: bench_x509 [--seconds S]   (S per measurement, default 0.5) */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "openjpki/x509.h"

#define NKEYS 4

static const jpki_issuer_site site = {"Tokyo-to", "Chiyoda-ku", "131016001"};
static const uint8_t serial[16] = {0x4f, 0x01, 0x02, 0x03, 0x04, 0x05,
				   0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
				   0x0c, 0x0d, 0x0e, 0x0f};

typedef struct env {
	jpki_profile prof;
	X509 *root[3];	     /* by jpki_cert_kind */
	x509_issuer *iss[3]; /* the same roots, prepared */
	EVP_PKEY_CTX *sign;  /* PKCS#1 v1.5 with the root key, initialised */
	EVP_MD *sha256;
	EVP_PKEY *root_key;
	EVP_PKEY *keys[NKEYS];
	time_t now;
	time_t not_after;
} env;

static void die(const char *what, const jpki_err *err)
{
	fprintf(stderr, "bench_x509: %s: %s\n", what,
		err != NULL ? err->msg : "failed");
	exit(1);
}

static X509 *build(env *e, jpki_cert_kind kind, long i)
{
	X509 *x = NULL;
	jpki_err err = {0};
	int rc;
	if (kind == JPKI_CERT_SIGN) {
		jpki_sign_subject s = {
		    .name = "山田　太郎",
		    .address = "東京都千代田区外神田１丁目２番３号",
		    .sex = 1 + (int)(i & 1),
		    .birth = {1950 + (int)(i % 50), 1 + (int)(i % 12),
			      1 + (int)(i % 28)},
		    .requested = e->now,
		    .sequence = (unsigned)(i % 100000),
		    .site = &site,
		};
		rc = x509_sign_cert_build(
		    e->prof, e->root[kind], &s, e->keys[i % NKEYS], serial,
		    sizeof(serial), e->now, e->not_after, &x, &err);
	} else {
		char id[32];
		snprintf(id, sizeof(id), "Q7ZK0P3M2A13101%07ldA", i % 10000000);
		rc = x509_auth_cert_build(
		    e->prof, e->root[kind], id, &site, e->keys[i % NKEYS],
		    serial, sizeof(serial), e->now, e->not_after, &x, &err);
	}
	if (rc != 0)
		die("build", &err);
	return x;
}

/* ns per certificate of each step, over `seconds` of repeated runs. */
typedef struct cost {
	double build, lint, sign;
} cost;

static cost measure(env *e, jpki_cert_kind kind, double seconds)
{
	cost c = {0, 0, 0};
	double tb = 0, tl = 0, ts = 0;
	long n = 0;
	jpki_err err = {0};
	double end = bench_now() + seconds;
	for (; bench_now() < end; n++) {
		double t0 = bench_now();
		X509 *x = build(e, kind, n);
		double t1 = bench_now();
		if (x509_lint_leaf(e->prof, kind, x, &err) != 0)
			die("lint", &err);
		double t2 = bench_now();
		if (X509_sign(x, e->root_key, EVP_sha256()) <= 0)
			die("sign", NULL);
		double t3 = bench_now();
		tb += t1 - t0;
		tl += t2 - t1;
		ts += t3 - t2;
		X509_free(x);
	}
	if (n > 0) {
		c.build = tb / (double)n * 1e9;
		c.lint = tl / (double)n * 1e9;
		c.sign = ts / (double)n * 1e9;
	}
	return c;
}

/* X509_sign (what ca_sign_cert does) against X509_sign_ctx with a copy of
 * a context initialised once, alternating on the same certificates so
 * that both see the same machine.  ns per signature in *a and *b. */
static void measure_sign_paths(env *e, double seconds, double *a, double *b)
{
	EVP_MD_CTX *tmpl = EVP_MD_CTX_new();
	double ta = 0, tb = 0;
	long na = 0, nb = 0;
	if (tmpl == NULL || EVP_DigestSignInit_ex(tmpl, NULL, "SHA256", NULL,
						  NULL, e->root_key, NULL) != 1)
		die("sign context", NULL);
	double end = bench_now() + seconds;
	for (long n = 0; bench_now() < end; n++) {
		X509 *x =
		    build(e, (n & 2) != 0 ? JPKI_CERT_AUTH : JPKI_CERT_SIGN, n);
		double t0 = bench_now();
		if ((n & 1) == 0) {
			if (X509_sign(x, e->root_key, EVP_sha256()) <= 0)
				die("sign", NULL);
			ta += bench_now() - t0;
			na++;
		} else {
			EVP_MD_CTX *c = EVP_MD_CTX_new();
			if (c == NULL || EVP_MD_CTX_copy_ex(c, tmpl) != 1 ||
			    X509_sign_ctx(x, c) <= 0)
				die("sign_ctx", NULL);
			EVP_MD_CTX_free(c);
			tb += bench_now() - t0;
			nb++;
		}
		X509_free(x);
	}
	EVP_MD_CTX_free(tmpl);
	*a = na > 0 ? ta / (double)na * 1e9 : 0;
	*b = nb > 0 ? tb / (double)nb * 1e9 : 0;
}

/* Build + lint only, many times: the steady-state cost without the
 * cache effects of the signature in between. */
static cost measure_nosign(env *e, jpki_cert_kind kind, double seconds)
{
	cost c = {0, 0, 0};
	double tb = 0, tl = 0;
	long n = 0;
	jpki_err err = {0};
	double end = bench_now() + seconds;
	for (; bench_now() < end; n++) {
		double t0 = bench_now();
		X509 *x = build(e, kind, n);
		double t1 = bench_now();
		if (x509_lint_leaf(e->prof, kind, x, &err) != 0)
			die("lint", &err);
		double t2 = bench_now();
		tb += t1 - t0;
		tl += t2 - t1;
		X509_free(x);
	}
	if (n > 0) {
		c.build = tb / (double)n * 1e9;
		c.lint = tl / (double)n * 1e9;
	}
	return c;
}

/* ---- the DER path --------------------------------------------------- */

static size_t tbs_build(env *e, jpki_cert_kind kind, long i, uint8_t *out)
{
	size_t len = 0;
	jpki_err err = {0};
	int rc;
	if (kind == JPKI_CERT_SIGN) {
		jpki_sign_subject s = {
		    .name = "山田　太郎",
		    .address = "東京都千代田区外神田１丁目２番３号",
		    .sex = 1 + (int)(i & 1),
		    .birth = {1950 + (int)(i % 50), 1 + (int)(i % 12),
			      1 + (int)(i % 28)},
		    .requested = e->now,
		    .sequence = (unsigned)(i % 100000),
		    .site = &site,
		};
		rc = x509_sign_tbs_build(e->iss[kind], &s, e->keys[i % NKEYS],
					 serial, sizeof(serial), e->now,
					 e->not_after, out, X509_TBS_MAX, &len,
					 &err);
	} else {
		char id[32];
		snprintf(id, sizeof(id), "Q7ZK0P3M2A13101%07ldA", i % 10000000);
		rc = x509_auth_tbs_build(e->iss[kind], id, &site,
					 e->keys[i % NKEYS], serial,
					 sizeof(serial), e->now, e->not_after,
					 out, X509_TBS_MAX, &len, &err);
	}
	if (rc != 0)
		die("TBS build", &err);
	return len;
}

/* What the CA does with a linted TBS: SHA-256, the RSA signature, the
 * Certificate around both.  ns of the assembly alone in *assemble. */
static size_t der_sign(env *e, const uint8_t *tbs, size_t len, uint8_t *cert,
		       size_t cap, double *assemble)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	size_t cert_len = 0;
	jpki_err err = {0};
	if (EVP_Digest(tbs, len, md, &mdlen, e->sha256, NULL) != 1 ||
	    EVP_PKEY_sign(e->sign, sig, &sig_len, md, mdlen) != 1)
		die("sign", NULL);
	double t0 = bench_now();
	if (x509_cert_assemble(tbs, len, sig, sig_len, cert, cap, &cert_len,
			       &err) != 0)
		die("assemble", &err);
	*assemble += bench_now() - t0;
	return cert_len;
}

typedef struct der_cost {
	double build, lint, sign, assemble;
} der_cost;

/* ns per certificate of each step; with sign false, build + lint only. */
static der_cost measure_der(env *e, jpki_cert_kind kind, double seconds,
			    bool sign)
{
	der_cost c = {0, 0, 0, 0};
	double tb = 0, tl = 0, ts = 0, ta = 0;
	uint8_t tbs[X509_TBS_MAX];
	uint8_t cert[X509_TBS_MAX + 1024];
	long n = 0;
	jpki_err err = {0};
	double end = bench_now() + seconds;
	for (; bench_now() < end; n++) {
		double t0 = bench_now();
		size_t len = tbs_build(e, kind, n, tbs);
		double t1 = bench_now();
		if (x509_lint_leaf_tbs(e->iss[kind], tbs, len, &err) != 0)
			die("DER lint", &err);
		double t2 = bench_now();
		if (sign)
			(void)der_sign(e, tbs, len, cert, sizeof(cert), &ta);
		double t3 = bench_now();
		tb += t1 - t0;
		tl += t2 - t1;
		ts += t3 - t2;
	}
	if (n > 0) {
		c.build = tb / (double)n * 1e9;
		c.lint = tl / (double)n * 1e9;
		c.sign = ts / (double)n * 1e9;
		c.assemble = ta / (double)n * 1e9;
	}
	return c;
}

int main(int argc, char **argv)
{
	double seconds = 0.5;
	env e;
	jpki_err err = {0};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_x509 [--seconds S]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 1.5)
		seconds = 0.5;
	memset(&e, 0, sizeof(e));
	e.prof = JPKI_PROFILE_TEST;
	e.now = time(NULL);
	e.not_after =
	    jpki_date_end(jpki_date_add_days(jpki_date_of(e.now), 365 * 5));
	if (x509_init(&err) != 0)
		die("init", &err);
	if ((e.root_key = EVP_RSA_gen(2048)) == NULL)
		die("key", NULL);
	for (int k = 0; k < NKEYS; k++)
		if ((e.keys[k] = EVP_RSA_gen(2048)) == NULL)
			die("key", NULL);
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if (x509_root_build(e.prof, (jpki_cert_kind)k, e.root_key,
				    serial, sizeof(serial), e.now, &e.root[k],
				    &err) != 0)
			die("root", &err);
		if (X509_sign(e.root[k], e.root_key, EVP_sha256()) <= 0)
			die("root sign", NULL);
		if (x509_issuer_new(e.prof, (jpki_cert_kind)k, e.root[k],
				    &e.iss[k], &err) != 0)
			die("issuer", &err);
	}
	if ((e.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (e.sign = EVP_PKEY_CTX_new_from_pkey(NULL, e.root_key, NULL)) ==
		NULL ||
	    EVP_PKEY_sign_init(e.sign) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(e.sign, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(e.sign, e.sha256) != 1)
		die("sign context", NULL);
	/* warm-up */
	(void)measure(&e, JPKI_CERT_SIGN, 0.05);
	(void)measure(&e, JPKI_CERT_AUTH, 0.05);
	(void)measure_der(&e, JPKI_CERT_SIGN, 0.05, true);
	(void)measure_der(&e, JPKI_CERT_AUTH, 0.05, true);

	cost cs = measure(&e, JPKI_CERT_SIGN, seconds);
	cost ca = measure(&e, JPKI_CERT_AUTH, seconds);
	cost ns = measure_nosign(&e, JPKI_CERT_SIGN, seconds);
	cost na = measure_nosign(&e, JPKI_CERT_AUTH, seconds);
	der_cost ds = measure_der(&e, JPKI_CERT_SIGN, seconds, true);
	der_cost da = measure_der(&e, JPKI_CERT_AUTH, seconds, true);
	der_cost dns = measure_der(&e, JPKI_CERT_SIGN, seconds, false);
	der_cost dna = measure_der(&e, JPKI_CERT_AUTH, seconds, false);
	double sign_plain = 0, sign_tmpl = 0;
	measure_sign_paths(&e, seconds * 2, &sign_plain, &sign_tmpl);
	double rs = (cs.build + cs.lint) / cs.sign;
	double ra = (ca.build + ca.lint) / ca.sign;
	double drs = (ds.build + ds.lint) / ds.sign;
	double dra = (da.build + da.lint) / da.sign;

	printf("per certificate, one core, profile %s:\n",
	       jpki_profile_name(e.prof));
	printf("                        build ns   lint ns   sign ns  "
	       "(build+lint)/sign\n");
	printf("object signature cert %9.0f %9.0f %9.0f   %.3f\n", cs.build,
	       cs.lint, cs.sign, rs);
	printf("object auth cert      %9.0f %9.0f %9.0f   %.3f\n", ca.build,
	       ca.lint, ca.sign, ra);
	printf("DER    signature cert %9.0f %9.0f %9.0f   %.4f\n", ds.build,
	       ds.lint, ds.sign, drs);
	printf("DER    auth cert      %9.0f %9.0f %9.0f   %.4f\n", da.build,
	       da.lint, da.sign, dra);
	printf("(DER sign = SHA-256 + EVP_PKEY_sign + x509_cert_assemble, the "
	       "last %.0f / %.0f ns)\n",
	       ds.assemble, da.assemble);
	printf("without signing in between: object sign %.0f + %.0f ns, auth "
	       "%.0f + %.0f ns; DER sign %.0f + %.0f ns, auth %.0f + %.0f "
	       "ns\n",
	       ns.build, ns.lint, na.build, na.lint, dns.build, dns.lint,
	       dna.build, dna.lint);
	printf("signing: X509_sign %.0f ns, X509_sign_ctx with a copied "
	       "context %.0f ns (%+.1f%%)\n",
	       sign_plain, sign_tmpl,
	       sign_plain > 0 ? (sign_tmpl - sign_plain) / sign_plain * 100
			      : 0);
	printf("target: object (build+lint)/sign <= 0.15; DER build+lint <= "
	       "8000 ns (%s)\n",
	       ds.build + ds.lint <= 8000 && da.build + da.lint <= 8000
		   ? "met"
		   : "missed");
	printf("{\"bench\":\"x509\",\"profile\":\"%s\","
	       "\"sign_build_ns\":%.0f,\"sign_lint_ns\":%.0f,"
	       "\"sign_sign_ns\":%.0f,\"sign_ratio\":%.3f,"
	       "\"auth_build_ns\":%.0f,\"auth_lint_ns\":%.0f,"
	       "\"auth_sign_ns\":%.0f,\"auth_ratio\":%.3f,"
	       "\"der_sign_build_ns\":%.0f,\"der_sign_lint_ns\":%.0f,"
	       "\"der_sign_sign_ns\":%.0f,\"der_sign_ratio\":%.4f,"
	       "\"der_auth_build_ns\":%.0f,\"der_auth_lint_ns\":%.0f,"
	       "\"der_auth_sign_ns\":%.0f,\"der_auth_ratio\":%.4f,"
	       "\"der_assemble_ns\":%.0f,"
	       "\"x509_sign_ns\":%.0f,\"x509_sign_ctx_ns\":%.0f}\n",
	       jpki_profile_name(e.prof), cs.build, cs.lint, cs.sign, rs,
	       ca.build, ca.lint, ca.sign, ra, ds.build, ds.lint, ds.sign, drs,
	       da.build, da.lint, da.sign, dra, (ds.assemble + da.assemble) / 2,
	       sign_plain, sign_tmpl);
	for (int k = 0; k < 3; k++) {
		X509_free(e.root[k]);
		x509_issuer_free(e.iss[k]);
	}
	EVP_PKEY_CTX_free(e.sign);
	EVP_MD_free(e.sha256);
	for (int k = 0; k < NKEYS; k++)
		EVP_PKEY_free(e.keys[k]);
	EVP_PKEY_free(e.root_key);
	return 0;
}
