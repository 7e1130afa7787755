/* Audit checkpoints: the hash chain's head, signed with the CA's audit
 * key and written outside the database, so that records cut from the end
 * of the log (or the log and the certificates table edited together) show.
 *
 * A checkpoint is one line appended to DIR/audit/checkpoints (O_APPEND,
 * fsync'd):
 *
 *   v1 SEQ HASH TIME SIG
 *
 * SEQ and HASH name the last audit record, TIME is when (RFC 3339 UTC),
 * SIG is base64 of an RSA PKCS#1 v1.5 SHA-256 signature by the keystore
 * key "audit" over "openjpki audit checkpoint v1\nSEQ\nHASH\nTIME\n".
 * The key is the CA's (made on first use beside the root keys, 0600); its
 * public half is DIR/audit/key.pub.pem for anyone who verifies. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_internal.h"
#include "openjpki/util.h"

#define AUDIT_KEY "audit"
#define LINE_MAX_ 1024
#define TBS_MAX 256

static int paths(const jpki_ca *ca, char dir[PATH_MAX], char file[PATH_MAX],
		 char pub[PATH_MAX], jpki_err *err)
{
	if ((size_t)snprintf(dir, PATH_MAX, "%s/audit", ca->dir) >= PATH_MAX ||
	    (size_t)snprintf(file, PATH_MAX, "%s/audit/checkpoints", ca->dir) >=
		PATH_MAX ||
	    (size_t)snprintf(pub, PATH_MAX, "%s/audit/key.pub.pem", ca->dir) >=
		PATH_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	return 0;
}

static int tbs_of(int64_t seq, const char *hash, const char *at, char *out,
		  size_t cap)
{
	int n =
	    snprintf(out, cap, "openjpki audit checkpoint v1\n%lld\n%s\n%s\n",
		     (long long)seq, hash, at);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/* The audit key, made on first use; its public half written beside the
 * checkpoints. */
static int audit_key(jpki_ca *ca, const char *pub_path, EVP_PKEY **out,
		     jpki_err *err)
{
	int rc = keystore_has(ca->ks, AUDIT_KEY, err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		EVP_PKEY *pub = NULL;
		BIO *b = NULL;
		BUF_MEM *m = NULL;
		rc = keystore_generate(ca->ks, AUDIT_KEY, 2048, &pub, err);
		/* another node on the same directory made it first: use it */
		if (rc == JPKI_ERR_EXISTS)
			return keystore_load(ca->ks, AUDIT_KEY, out, err);
		if (rc != 0)
			return rc;
		if ((b = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio_PUBKEY(b, pub) != 1) {
			BIO_free(b);
			EVP_PKEY_free(pub);
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "encoding the audit public key");
		}
		BIO_get_mem_ptr(b, &m);
		rc = jpki_file_write_atomic(pub_path, m->data, m->length, 0644,
					    err);
		BIO_free(b);
		EVP_PKEY_free(pub);
		if (rc != 0)
			return rc;
	} else if (rc != 0) {
		return rc;
	}
	return keystore_load(ca->ks, AUDIT_KEY, out, err);
}

int ca_audit_key_make(jpki_ca *ca, jpki_err *err)
{
	char dir[PATH_MAX], file[PATH_MAX], pub[PATH_MAX];
	EVP_PKEY *key = NULL;
	int rc;
	if ((rc = paths(ca, dir, file, pub, err)) != 0 ||
	    (rc = jpki_mkdirs(dir, 0700, err)) != 0 ||
	    (rc = audit_key(ca, pub, &key, err)) != 0)
		return rc;
	EVP_PKEY_free(key);
	return 0;
}

int ca_audit_checkpoint(jpki_ca *ca, time_t now, ca_checkpoint *out,
			jpki_err *err)
{
	char dir[PATH_MAX], file[PATH_MAX], pub[PATH_MAX];
	char hash[65], at[21], tbs[TBS_MAX], line[LINE_MAX_];
	unsigned char sig[512];
	char sig64[700];
	size_t siglen = sizeof(sig);
	int64_t seq = 0;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	int fd = -1, rc;
	if ((rc = paths(ca, dir, file, pub, err)) != 0 ||
	    (rc = jpki_mkdirs(dir, 0700, err)) != 0 ||
	    (rc = store_audit_head(ca->st, &seq, hash, err)) != 0)
		return rc;
	jpki_time_format(now, at);
	int n = tbs_of(seq, hash, at, tbs, sizeof(tbs));
	if (n < 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "checkpoint too long");
	if ((rc = audit_key(ca, pub, &key, err)) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tbs,
			   (size_t)n) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "signing the audit checkpoint");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)sig64, sig, (int)siglen);
	n = snprintf(line, sizeof(line), "v1 %lld %s %s %s\n", (long long)seq,
		     hash, at, sig64);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "checkpoint line too long");
		goto out;
	}
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0640);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot append to %s: %s",
			       file, strerror(errno));
		goto out;
	}
	if (out != NULL) {
		out->seq = seq;
		memcpy(out->hash, hash, sizeof(out->hash)); /* both 65 */
		memcpy(out->line, line, sizeof(out->line)); /* both 1024 */
		out->line[strcspn(out->line, "\n")] = '\0';
	}
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- verification ---- */

typedef struct cp {
	int64_t seq;
	char hash[65];
	char at[21];
	int line;
} cp;

/* one certificate event of the log: issued, or revoked (a hold too) */
enum { LC_ISSUED, LC_REVOKED };
typedef struct logcert {
	char serial[STORE_SERIAL_HEX_MAX];
	char sha[65]; /* "" when the issue record names no hash */
	int64_t resident;
	int64_t seq;
	int what;
	int reason;
} logcert;

typedef struct vctx {
	cp *cps; /* sorted by seq (the file is in time order, seqs grow) */
	size_t n, next;
	int64_t last_seq;
	char last_hash[65];
	const char *bad; /* first checkpoint whose record differs */
	cp bad_cp;
	char bad_hash[65];
	/* the log's certificates, cross-checked against the table */
	logcert *lc;
	size_t nlc, caplc;
	int64_t *old_renewals; /* residents renewed by records without
				  superseded= (written before it was) */
	size_t nold, capold;
	bool nomem;
	/* this pass keeps the serials of partition part of nparts */
	unsigned part, nparts;
} vctx;

/* A serial's partition of n (FNV-1a over its hex): the log's events and
 * the table's row of one certificate fall in the same pass. */
static unsigned part_of(const char *serial, unsigned n)
{
	uint32_t h = 2166136261u;
	if (n <= 1)
		return 0;
	for (const unsigned char *c = (const unsigned char *)serial; *c; c++)
		h = (h ^ *c) * 16777619u;
	return h % n;
}

/* detail's "key=" value into out ("" when absent) */
static void field(const char *detail, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);
	out[0] = '\0';
	for (const char *p = detail; p != NULL && *p != '\0';) {
		if (strncmp(p, key, k) == 0 && p[k] == '=') {
			size_t n = strcspn(p + k + 1, " ");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p + k + 1, n);
			out[n] = '\0';
			return;
		}
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
}

static logcert *lc_add(vctx *v, const char *serial, int64_t seq, int what)
{
	if (serial[0] == '\0' || strcmp(serial, "-") == 0 ||
	    strlen(serial) >= STORE_SERIAL_HEX_MAX ||
	    part_of(serial, v->nparts) != v->part)
		return NULL;
	if (v->nlc == v->caplc) {
		size_t nc = v->caplc ? v->caplc * 2 : 256;
		logcert *p = realloc(v->lc, nc * sizeof(*p));
		if (p == NULL) {
			v->nomem = true;
			return NULL;
		}
		v->lc = p;
		v->caplc = nc;
	}
	logcert *c = &v->lc[v->nlc++];
	memset(c, 0, sizeof(*c));
	memcpy(c->serial, serial,
	       strlen(serial) + 1); /* length checked above */
	c->seq = seq;
	c->what = what;
	return c;
}

/* cert.issue: resident=R card=C sign=S auth=S renewal=N, and since the
 * table is checked against the log also sign_sha256=H auth_sha256=H
 * superseded=S[,S] */
static int log_issue(vctx *v, const store_audit *a)
{
	char res[24], ren[4], sup[2 * STORE_SERIAL_HEX_MAX + 2];
	static const char *const kinds[2][2] = {{"sign", "sign_sha256"},
						{"auth", "auth_sha256"}};
	field(a->detail, "resident", res, sizeof(res));
	field(a->detail, "renewal", ren, sizeof(ren));
	int64_t resident = strtoll(res, NULL, 10);
	for (int k = 0; k < 2; k++) {
		char serial[STORE_SERIAL_HEX_MAX + 8], sha[66];
		field(a->detail, kinds[k][0], serial, sizeof(serial));
		field(a->detail, kinds[k][1], sha, sizeof(sha));
		logcert *c = lc_add(v, serial, a->seq, LC_ISSUED);
		if (c == NULL) {
			if (v->nomem)
				return -1;
			continue;
		}
		c->resident = resident;
		if (strlen(sha) == 64)
			memcpy(c->sha, sha, sizeof(c->sha));
	}
	if (strstr(a->detail, " superseded=") == NULL) {
		/* residents, not serials: collected in the first pass */
		if (strcmp(ren, "1") != 0 || v->part != 0)
			return 0;
		/* an old record: which serials it revoked is not written */
		if (v->nold == v->capold) {
			size_t nc = v->capold ? v->capold * 2 : 64;
			int64_t *p = realloc(v->old_renewals, nc * sizeof(*p));
			if (p == NULL) {
				v->nomem = true;
				return -1;
			}
			v->old_renewals = p;
			v->capold = nc;
		}
		v->old_renewals[v->nold++] = resident;
		return 0;
	}
	field(a->detail, "superseded", sup, sizeof(sup));
	for (char *s = sup, *e; s != NULL && *s != '\0'; s = e) {
		e = strchr(s, ',');
		if (e != NULL)
			*e++ = '\0';
		logcert *c = lc_add(v, s, a->seq, LC_REVOKED);
		if (c == NULL && v->nomem)
			return -1;
		if (c != NULL)
			c->reason = JPKI_REASON_SUPERSEDED;
	}
	return 0;
}

/* cert.revoke / cert.hold: serial=S reason=R */
static int log_revoke(vctx *v, const store_audit *a)
{
	char serial[STORE_SERIAL_HEX_MAX + 8], reason[40];
	jpki_reason r = JPKI_REASON_UNSPECIFIED;
	field(a->detail, "serial", serial, sizeof(serial));
	field(a->detail, "reason", reason, sizeof(reason));
	if (jpki_reason_parse(reason, &r) != 0)
		r = strcmp(a->action, "cert.hold") == 0
			? JPKI_REASON_CERTIFICATE_HOLD
			: JPKI_REASON_UNSPECIFIED;
	logcert *c = lc_add(v, serial, a->seq, LC_REVOKED);
	if (c == NULL)
		return v->nomem ? -1 : 0;
	c->reason = (int)r;
	return 0;
}

/* A record's certificate events (every pass). */
static int visit_certs(void *vc, const store_audit *a)
{
	vctx *v = vc;
	if (strcmp(a->action, "cert.issue") == 0)
		return log_issue(v, a);
	if (strcmp(a->action, "cert.revoke") == 0 ||
	    strcmp(a->action, "cert.hold") == 0)
		return log_revoke(v, a);
	return 0;
}

/* The first pass: checkpoints too. */
static int visit(void *vc, const store_audit *a)
{
	vctx *v = vc;
	v->last_seq = a->seq;
	memcpy(v->last_hash, a->hash, sizeof(v->last_hash)); /* both 65 */
	while (v->next < v->n && v->cps[v->next].seq <= a->seq) {
		cp *c = &v->cps[v->next++];
		if (c->seq == a->seq && strcmp(c->hash, a->hash) != 0 &&
		    v->bad == NULL) {
			v->bad = "hash";
			v->bad_cp = *c;
			memcpy(v->bad_hash, a->hash, sizeof(v->bad_hash));
		}
	}
	return visit_certs(v, a);
}

static int read_checkpoints(const char *file, EVP_PKEY *pub, cp **out,
			    size_t *n_out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0, cap = 0;
	cp *v = NULL;
	int rc = jpki_file_read(file, 64u << 20, &buf, &len, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is missing, though the CA has an audit "
				 "key: the checkpoints were removed",
				 file);
	if (rc != 0)
		return rc;
	char *save = NULL;
	int lineno = 0;
	for (char *l = strtok_r((char *)buf, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		char ver[4], hash[65], at[21], sig64[700], tbs[TBS_MAX];
		long long seq = 0;
		unsigned char sig[528];
		lineno++;
		if (sscanf(l, "%3s %lld %64s %20s %699s", ver, &seq, hash, at,
			   sig64) != 5 ||
		    strcmp(ver, "v1") != 0 || seq < 0) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d is not a checkpoint", file,
				       lineno);
			goto out;
		}
		int sl = EVP_DecodeBlock(sig, (const unsigned char *)sig64,
					 (int)strlen(sig64));
		int tl = tbs_of(seq, hash, at, tbs, sizeof(tbs));
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		bool ok = sl > 0 && tl > 0 && md != NULL &&
			  EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
					       pub) == 1;
		if (ok) {
			/* EVP_DecodeBlock counts the padding as zero bytes */
			size_t pad = 0;
			size_t s64 = strlen(sig64);
			while (pad < 2 && s64 > pad &&
			       sig64[s64 - 1 - pad] == '=')
				pad++;
			ok = EVP_DigestVerify(md, sig, (size_t)sl - pad,
					      (const unsigned char *)tbs,
					      (size_t)tl) == 1;
		}
		EVP_MD_CTX_free(md);
		if (!ok) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d: the signature does not "
				       "verify with the audit key",
				       file, lineno);
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			cp *p = realloc(v, nc * sizeof(*v));
			if (p == NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			v = p;
			cap = nc;
		}
		if (n > 0 && seq < v[n - 1].seq) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d goes back to record %lld",
				       file, lineno, seq);
			goto out;
		}
		v[n].seq = seq;
		memcpy(v[n].hash, hash, sizeof(v[n].hash)); /* both 65 */
		memcpy(v[n].at, at, sizeof(v[n].at));	    /* both 21 */
		v[n].line = lineno;
		n++;
	}
	*out = v;
	*n_out = n;
	v = NULL;
out:
	free(v);
	free(buf);
	return rc;
}

/* ---- the certificates table against the log ---- */

typedef struct trow {
	char serial[STORE_SERIAL_HEX_MAX];
	int kind;
	int64_t resident;
	store_cert_status status;
	int reason;
} trow;

typedef struct tctx {
	trow *r;
	size_t n, cap;
	bool nomem;
	unsigned part, nparts; /* as vctx */
} tctx;

static int collect_row(void *vt, const store_cert *c)
{
	tctx *t = vt;
	if (part_of(c->serial, t->nparts) != t->part)
		return 0;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		trow *p = realloc(t->r, nc * sizeof(*p));
		if (p == NULL) {
			t->nomem = true;
			return -1;
		}
		t->r = p;
		t->cap = nc;
	}
	trow *r = &t->r[t->n++];
	memcpy(r->serial, c->serial, sizeof(r->serial)); /* same size */
	r->kind = c->kind;
	r->resident = c->resident_id;
	r->status = c->status;
	r->reason = c->reason;
	return 0;
}

/* by serial, then in log order */
static int lc_cmp(const void *a, const void *b)
{
	const logcert *x = a, *y = b;
	int c = strcmp(x->serial, y->serial);
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const trow *)a)->serial, ((const trow *)b)->serial);
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void mismatch(ca_audit_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mismatch(ca_audit_report *rep, const char *fmt, ...)
{
	if (rep->mismatches < CA_AUDIT_MISMATCH_MAX) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(rep->mismatch[rep->mismatches],
			  sizeof(rep->mismatch[0]), fmt, ap);
		va_end(ap);
	}
	rep->mismatches++;
}

/* Every row of the certificates table: the valid ones (any notAfter) and
 * the revoked ones of the two leaf kinds and the two roots. */
static int table_rows(jpki_ca *ca, tctx *t, jpki_err *err)
{
	jpki_date first = {1, 1, 1}, last = {9999, 12, 31};
	static const int kinds[] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH,
				    CA_ROOT_KIND_BASE + JPKI_CERT_SIGN,
				    CA_ROOT_KIND_BASE + JPKI_CERT_AUTH};
	int rc = store_cert_expiring(ca->st, first, last, collect_row, t, err);
	for (size_t i = 0; rc == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		rc = store_cert_revoked(ca->st, kinds[i], NULL,
					(time_t)INT64_MIN, collect_row, t, err);
	if (rc != 0 && t->nomem)
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	return rc;
}

/* The DER stored for serial against the SHA-256 its issue record names. */
static bool der_matches(jpki_ca *ca, const char *serial, const char *sha)
{
	static const char hx[] = "0123456789abcdef";
	store_cert c;
	uint8_t md[32];
	unsigned int n = 0;
	char got[65];
	memset(&c, 0, sizeof(c));
	if (store_cert_get(ca->st, serial, &c, NULL) != 0)
		return false;
	bool ok =
	    EVP_Digest(c.der, c.der_len, md, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32;
	store_cert_clear(&c);
	if (!ok)
		return false;
	for (size_t i = 0; i < 32; i++) {
		got[2 * i] = hx[md[i] >> 4];
		got[2 * i + 1] = hx[md[i] & 15];
	}
	got[64] = '\0';
	return strcmp(got, sha) == 0;
}

/* One row against its events in the log (ev[0..ne), in log order). */
static void check_row(jpki_ca *ca, const vctx *v, const trow *r,
		      const logcert *ev, size_t ne, ca_audit_report *rep)
{
	const logcert *issued = NULL, *last_rev = NULL;
	bool root = r->kind >= CA_ROOT_KIND_BASE;
	for (size_t i = 0; i < ne; i++) {
		if (ev[i].what == LC_ISSUED && issued == NULL)
			issued = &ev[i];
		else if (ev[i].what == LC_REVOKED)
			last_rev = &ev[i];
	}
	/* roots are made by ca.init, which names no serial */
	if (!root && issued == NULL)
		mismatch(rep,
			 "certificate %s is in the certificates table but no "
			 "issue record of the audit log names it",
			 r->serial);
	else if (issued != NULL && issued->sha[0] != '\0' &&
		 !der_matches(ca, r->serial, issued->sha))
		mismatch(rep,
			 "certificate %s: the DER in the certificates table is "
			 "not the one its issue record (audit record %lld) "
			 "names",
			 r->serial, (long long)issued->seq);
	if (r->status == STORE_CERT_REVOKED) {
		bool old_renewal =
		    r->reason == JPKI_REASON_SUPERSEDED && last_rev == NULL &&
		    v->nold > 0 &&
		    bsearch(&r->resident, v->old_renewals, v->nold,
			    sizeof(int64_t), i64_cmp) != NULL;
		if (last_rev == NULL && !old_renewal)
			mismatch(rep,
				 "the certificates table shows certificate %s "
				 "revoked (%s), but the audit log has no "
				 "revocation for it",
				 r->serial,
				 jpki_reason_name((jpki_reason)r->reason));
		else if (last_rev != NULL && last_rev->reason != r->reason)
			mismatch(
			    rep,
			    "certificate %s: the certificates table says "
			    "%s, its last audit record (%lld) %s",
			    r->serial, jpki_reason_name((jpki_reason)r->reason),
			    (long long)last_rev->seq,
			    jpki_reason_name((jpki_reason)last_rev->reason));
	} else if (last_rev != NULL) {
		mismatch(rep,
			 "the audit log revokes certificate %s, but the "
			 "certificates table does not show it revoked",
			 r->serial);
	}
	if (last_rev != NULL)
		rep->revocations_checked++;
}

static int cross_check(jpki_ca *ca, vctx *v, ca_audit_report *rep,
		       jpki_err *err)
{
	tctx t;
	memset(&t, 0, sizeof(t));
	t.part = v->part;
	t.nparts = v->nparts;
	int rc = table_rows(ca, &t, err);
	if (rc != 0)
		goto out;
	if (v->nlc > 0)
		qsort(v->lc, v->nlc, sizeof(*v->lc), lc_cmp);
	if (t.n > 0)
		qsort(t.r, t.n, sizeof(*t.r), row_cmp);
	if (v->nold > 0)
		qsort(v->old_renewals, v->nold, sizeof(int64_t), i64_cmp);
	/* both sorted by serial: one merge */
	size_t i = 0, k = 0;
	while (i < v->nlc || k < t.n) {
		int c = i >= v->nlc ? 1
			: k >= t.n  ? -1
				    : strcmp(v->lc[i].serial, t.r[k].serial);
		size_t j = i;
		if (c <= 0)
			while (j < v->nlc &&
			       strcmp(v->lc[j].serial, v->lc[i].serial) == 0)
				j++;
		if (c < 0) {
			/* in the log, not in the table */
			bool issued = false, revoked = false;
			for (size_t e = i; e < j; e++) {
				issued |= v->lc[e].what == LC_ISSUED;
				revoked |= v->lc[e].what == LC_REVOKED;
			}
			if (issued)
				mismatch(rep,
					 "the audit log issued certificate %s "
					 "(record %lld), but the certificates "
					 "table has no such certificate",
					 v->lc[i].serial,
					 (long long)v->lc[i].seq);
			if (revoked)
				mismatch(
				    rep,
				    "the audit log revokes certificate %s, "
				    "but the certificates table has no "
				    "such certificate",
				    v->lc[i].serial);
			i = j;
			continue;
		}
		rep->certificates_checked++;
		check_row(ca, v, &t.r[k], c == 0 ? &v->lc[i] : NULL,
			  c == 0 ? j - i : 0, rep);
		if (c == 0)
			i = j;
		k++;
	}
out:
	free(t.r);
	return rc;
}

int ca_audit_verify(jpki_ca *ca, ca_audit_report *rep, jpki_err *err)
{
	return ca_audit_verify_passes(ca, 0, rep, err);
}

/* Passes that keep the cross-check's lists under CA_AUDIT_PASS_MEM: an
 * issue record names two certificates, each an event of the log and a row
 * of the table. */
static unsigned auto_passes(int64_t records)
{
	int64_t per = 2 * (int64_t)(sizeof(logcert) + sizeof(trow));
	int64_t n = records / (CA_AUDIT_PASS_MEM / per) + 1;
	return n > CA_AUDIT_PASSES_MAX ? CA_AUDIT_PASSES_MAX : (unsigned)n;
}

int ca_audit_verify_passes(jpki_ca *ca, int passes, ca_audit_report *rep,
			   jpki_err *err)
{
	char dir[PATH_MAX], file[PATH_MAX], pub_path[PATH_MAX];
	EVP_PKEY *pub = NULL;
	vctx v;
	int64_t records = 0;
	int rc;
	memset(&v, 0, sizeof(v));
	memset(rep, 0, sizeof(*rep));
	if (passes < 0 || passes > CA_AUDIT_PASSES_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "audit verify: passes must be 1 to %d "
				 "(or 0: chosen by the log's size)",
				 CA_AUDIT_PASSES_MAX);
	if ((rc = paths(ca, dir, file, pub_path, err)) != 0 ||
	    (rc = store_audit_verify(ca->st, &records, err)) != 0)
		return rc;
	rep->records = records;
	v.nparts = passes > 0 ? (unsigned)passes : auto_passes(records);
	rep->passes = (int)v.nparts;
	/* the public key from the keystore: a key.pub.pem swapped on disk
	 * cannot vouch for forged lines */
	if (keystore_has(ca->ks, AUDIT_KEY, NULL) == 0) {
		if ((rc = keystore_load(ca->ks, AUDIT_KEY, &pub, err)) != 0)
			goto out;
		if ((rc = read_checkpoints(file, pub, &v.cps, &v.n, err)) != 0)
			goto out;
	}
	rep->checkpoints = (int64_t)v.n;
	if ((rc = store_audit_each(ca->st, visit, &v, err)) != 0) {
		if (v.nomem)
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (v.bad != NULL) {
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "audit record %lld is not the one checkpointed "
			       "at %s (hash %.16s…, now %.16s…): the log was "
			       "rewritten",
			       (long long)v.bad_cp.seq, v.bad_cp.at,
			       v.bad_cp.hash, v.bad_hash);
		goto out;
	}
	if (v.n > 0) {
		const cp *last = &v.cps[v.n - 1];
		rep->checkpoint_seq = last->seq;
		memcpy(rep->checkpoint_at, last->at,
		       sizeof(rep->checkpoint_at)); /* both 21 */
		if (last->seq > v.last_seq) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "the audit log ends at record %lld but "
				       "was checkpointed at record %lld on %s: "
				       "records were cut from its end",
				       (long long)v.last_seq,
				       (long long)last->seq, last->at);
			goto out;
		}
	}
	/* pass 0 has its events from the read above; each later one reads
	 * the log again for its partition's */
	for (v.part = 0; v.part < v.nparts; v.part++) {
		if (v.part > 0) {
			v.nlc = 0;
			if ((rc = store_audit_each(ca->st, visit_certs, &v,
						   err)) != 0) {
				if (v.nomem)
					rc = jpki_fail(err, JPKI_ERR_NOMEM,
						       "out of memory");
				goto out;
			}
		}
		if ((rc = cross_check(ca, &v, rep, err)) != 0)
			goto out;
	}
	if (rep->mismatches > 0)
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "the certificates table and the audit log "
			       "disagree on %lld certificate(s); first: %s",
			       (long long)rep->mismatches, rep->mismatch[0]);
out:
	EVP_PKEY_free(pub);
	free(v.cps);
	free(v.lc);
	free(v.old_renewals);
	return rc;
}
