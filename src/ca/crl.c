/* CRLs: one per issuing municipality (the partition named in each
 * certificate's CRL distribution point), a full CRL per hierarchy, and the
 * ARL listing revoked roots.
 *
 * A CRL is streamed from the store (x509_crl_stream, crl_stream.c) in one
 * read of the revoked rows (store_crl_rows: serial, reason, time and
 * generation, from an index alone, in serial order): each row is checked
 * and encoded (x509_crl_enc_entry) and its DER spooled (jpki_spool: 1 MiB
 * of memory, then an unlinked file in $TMPDIR), which also counts and
 * sizes them, as DER needs before the first entry; then the stream begins
 * and the spooled entries are fed to it (x509_crl_stream_add_der) while
 * they are signed.  Memory does not depend on the number of entries (disk
 * does: about 47 octets an entry).  ca_crl_publish()
 * writes every CRL of both hierarchies into a new generation directory and
 * switches one symlink to it (docs/decisions.md, "CRL publication"). */
#define _GNU_SOURCE /* syncfs */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_internal.h"
#include "openjpki/spool.h"
#include "openjpki/util.h"

size_t ca_crl_spool_mem = JPKI_SPOOL_MEM_DEFAULT;

typedef struct crl_pass {
	const jpki_ca *ca;
	jpki_cert_kind kind;
	int gen; /* the rows of this root generation; 0: every one (ARL) */
	x509_crl_enc enc;  /* order, count and size of the entries */
	jpki_spool *spool; /* their DER */
	int rc;
	jpki_err *err;
} crl_pass;

static int pass_entry(void *ctx, const store_crl_row *c)
{
	crl_pass *p = ctx;
	if (p->gen != 0 && ca_row_gen(p->ca, p->kind, c->gen) != p->gen)
		return 0; /* another generation's key answers for it */
	uint8_t sn[20], der[X509_CRL_ENTRY_MAX];
	size_t sn_len = 0, len = 0;
	int rc = jpki_unhex(c->serial, sn, sizeof(sn), &sn_len, p->err);
	jpki_crl_entry e = {sn, sn_len, c->revoked_at, (jpki_reason)c->reason};
	if (rc == 0)
		rc = x509_crl_enc_entry(&p->enc, &e, der, &len, p->err);
	if (rc == 0)
		rc = jpki_spool_put(p->spool, der, len, p->err);
	return p->rc = rc;
}

static int feed(void *ctx, const uint8_t *der, size_t n, jpki_err *err)
{
	return x509_crl_stream_add_der(ctx, der, n, err);
}

/* One CRL, inside the caller's store transaction: of the certificates
 * generation `gen`'s root issued, signed with its key (gen 0: the newest).
 * The ARL lists the revoked roots and link certificates of every
 * generation, signed by the newest. */
static int crl_txn(jpki_ca *ca, jpki_cert_kind kind, int gen,
		   ca_crl_scope scope, const char *muni_code, time_t now,
		   jpki_write_fn wr, void *wr_ctx, jpki_err *err)
{
	if (gen == 0 || scope == CA_CRL_ARL)
		gen = ca->ngen[kind];
	if (gen < 1 || gen > ca->ngen[kind])
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "the %s hierarchy has no root generation %d",
				 jpki_cert_kind_name(kind), gen);
	crl_pass p = {.ca = ca,
		      .kind = kind,
		      .gen = scope == CA_CRL_ARL ? 0 : gen,
		      .err = err};
	X509_NAME *partition = NULL;
	x509_crl_stream *out = NULL;
	store_muni m;
	char counter[64];
	int64_t number = 0;
	int rows_kind = (int)kind;
	const char *rows_muni = NULL;
	int rc;
	if (scope == CA_CRL_PARTITION) {
		if (muni_code == NULL || muni_code[0] == '\0')
			return jpki_fail(
			    err, JPKI_ERR_INVAL,
			    "a partition CRL needs a municipality code");
		if ((rc = store_muni_get(ca->st, muni_code, &m, err)) != 0)
			return rc;
		jpki_issuer_site site;
		memset(&site, 0, sizeof(site));
		if (jpki_strlcpy(site.pref_roman, m.pref_roman,
				 sizeof(site.pref_roman)) != 0 ||
		    jpki_strlcpy(site.city_roman, m.city_roman,
				 sizeof(site.city_roman)) != 0)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "municipality %s: romanised name "
					 "too long",
					 muni_code);
		if ((rc = x509_crldp_name(ca->profile, kind, &site, &partition,
					  err)) != 0)
			return rc;
		rows_muni = muni_code;
		snprintf(counter, sizeof(counter), "crl/%s/%s",
			 jpki_cert_kind_name(kind), muni_code);
	} else if (scope == CA_CRL_FULL) {
		snprintf(counter, sizeof(counter), "crl/%s/all",
			 jpki_cert_kind_name(kind));
	} else {
		rows_kind = CA_ROOT_KIND_BASE + (int)kind;
		snprintf(counter, sizeof(counter), "arl/%s",
			 jpki_cert_kind_name(kind));
	}
	/* one read of the rows: checked, encoded, counted and spooled */
	if ((rc = jpki_spool_new(ca_crl_spool_mem, &p.spool, err)) != 0)
		goto out;
	rc = store_crl_rows(ca->st, rows_kind, rows_muni, now, pass_entry, &p,
			    err);
	if (rc == 0)
		rc = p.rc;
	if (rc != 0)
		goto out;
	/* then the CRL, its entries from the spool, signed */
	if ((rc = store_meta_incr(ca->st, counter, 1, &number, err)) != 0 ||
	    (rc = x509_crl_stream_begin(
		 ca->groot[kind][gen - 1], ca->gkey[kind][gen - 1], partition,
		 scope == CA_CRL_ARL, now, now + CA_CRL_VALIDITY,
		 (uint64_t)number, p.enc.n, p.enc.len, wr, wr_ctx, &out,
		 err)) != 0 ||
	    (rc = jpki_spool_replay(p.spool, feed, out, err)) != 0)
		goto out;
	rc = x509_crl_stream_end(out, err);
	out = NULL; /* freed by _end */
out:
	x509_crl_stream_free(out);
	jpki_spool_free(p.spool);
	X509_NAME_free(partition);
	return rc;
}

static int check_kind(jpki_cert_kind kind, jpki_err *err)
{
	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown hierarchy");
	return 0;
}

int ca_crl_write(jpki_ca *ca, jpki_cert_kind kind, ca_crl_scope scope,
		 const char *muni_code, time_t now, jpki_write_fn wr,
		 void *wr_ctx, jpki_err *err)
{
	return ca_crl_write_gen(ca, kind, 0, scope, muni_code, now, wr, wr_ctx,
				err);
}

int ca_crl_write_gen(jpki_ca *ca, jpki_cert_kind kind, int gen,
		     ca_crl_scope scope, const char *muni_code, time_t now,
		     jpki_write_fn wr, void *wr_ctx, jpki_err *err)
{
	int rc;
	if ((rc = check_kind(kind, err)) != 0 ||
	    (rc = store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = crl_txn(ca, kind, gen, scope, muni_code, now, wr, wr_ctx,
			  err)) != 0) {
		store_rollback(ca->st);
		return rc;
	}
	return store_commit(ca->st, err);
}

typedef struct mem_sink {
	uint8_t *p;
	size_t n, cap;
} mem_sink;

static int mem_write(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	mem_sink *m = ctx;
	if (n > m->cap - m->n) {
		size_t cap = m->cap ? m->cap : 4096;
		while (cap - m->n < n)
			cap *= 2;
		uint8_t *np = realloc(m->p, cap);
		if (np == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

int ca_crl(jpki_ca *ca, jpki_cert_kind kind, ca_crl_scope scope,
	   const char *muni_code, time_t now, uint8_t **der, size_t *der_len,
	   jpki_err *err)
{
	return ca_crl_gen(ca, kind, 0, scope, muni_code, now, der, der_len,
			  err);
}

int ca_crl_gen(jpki_ca *ca, jpki_cert_kind kind, int gen, ca_crl_scope scope,
	       const char *muni_code, time_t now, uint8_t **der,
	       size_t *der_len, jpki_err *err)
{
	mem_sink m = {0};
	int rc = ca_crl_write_gen(ca, kind, gen, scope, muni_code, now,
				  mem_write, &m, err);
	if (rc != 0) {
		free(m.p);
		return rc;
	}
	*der = m.p;
	*der_len = m.n;
	return 0;
}

/* ---- publication: a generation directory and one symlink ---- */

static int fd_write(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	int fd = *(int *)ctx;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return jpki_fail(err, JPKI_ERR_IO, "writing a CRL: %s",
					 strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

typedef struct pub_ctx {
	jpki_ca *ca;
	const char *gen; /* the generation directory */
	time_t now;
	size_t files;
	int rc;
	jpki_err *err;
} pub_ctx;

/* The newest generation's CRLs keep their names; an older generation's
 * carry "-gN" before ".crl". */
static int pub_file(pub_ctx *c, jpki_cert_kind kind, int gen,
		    ca_crl_scope scope, const char *muni)
{
	char path[PATH_MAX], g[16] = "";
	const char *kn = jpki_cert_kind_name(kind);
	int n;
	if (gen < c->ca->ngen[kind])
		snprintf(g, sizeof(g), "-g%d", gen);
	if (scope == CA_CRL_PARTITION)
		n = snprintf(path, sizeof(path), "%s/crl-%s-%s%s.crl", c->gen,
			     kn, muni, g);
	else if (scope == CA_CRL_FULL)
		n = snprintf(path, sizeof(path), "%s/crl-%s-full%s.crl", c->gen,
			     kn, g);
	else
		n = snprintf(path, sizeof(path), "%s/arl-%s.crl", c->gen, kn);
	if (n < 0 || (size_t)n >= sizeof(path))
		return jpki_fail(c->err, JPKI_ERR_RANGE, "path too long");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return jpki_fail(c->err, JPKI_ERR_IO, "%s: %s", path,
				 strerror(errno));
	int rc = crl_txn(c->ca, kind, gen, scope, muni, c->now, fd_write, &fd,
			 c->err);
	if (close(fd) != 0 && rc == 0)
		rc = jpki_fail(c->err, JPKI_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (rc == 0)
		c->files++;
	return rc;
}

static int pub_muni(void *ctx, const store_muni *m)
{
	pub_ctx *c = ctx;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
		for (int g = 1; g <= c->ca->ngen[k]; g++)
			if ((c->rc = pub_file(c, (jpki_cert_kind)k, g,
					      CA_CRL_PARTITION, m->code)) != 0)
				return 1;
	return 0;
}

/* fsync(2) of a directory, or with `all` syncfs(2) of its file system:
 * one flush for the thousands of files of a generation instead of one
 * journal commit each. */
static int fsync_dir(const char *dir, bool all, jpki_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (all ? syncfs(fd) : fsync(fd)) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return jpki_fail(err, JPKI_ERR_IO, "%s: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

/* A generation directory and its files (never a reader's current one). */
static void remove_gen(const char *path)
{
	DIR *sub = opendir(path);
	struct dirent *f;
	while (sub != NULL && (f = readdir(sub)) != NULL) {
		char fp[PATH_MAX];
		if (f->d_name[0] == '.' ||
		    snprintf(fp, sizeof(fp), "%s/%s", path, f->d_name) >=
			(int)sizeof(fp))
			continue;
		unlink(fp);
	}
	if (sub != NULL)
		closedir(sub);
	rmdir(path);
}

/* Generations other than `keep` and the one before it go. */
static void prune(const char *dir, uint64_t keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		unsigned long long g = 0;
		char path[PATH_MAX], tail;
		if (sscanf(de->d_name, "gen-%llu%c", &g, &tail) != 1 ||
		    g + 1 >= keep)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path))
			remove_gen(path);
	}
	closedir(d);
}

int ca_crl_publish(jpki_ca *ca, const char *dir, time_t now,
		   ca_crl_published *out, jpki_err *err)
{
	char gen[PATH_MAX] = "", link_tmp[PATH_MAX], link_path[PATH_MAX];
	char target[64], c_gen[PATH_MAX];
	pub_ctx c = {.ca = ca, .gen = gen, .now = now, .err = err};
	int64_t number = 0;
	int rc;
	if (ca == NULL || dir == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return jpki_fail(err, JPKI_ERR_IO, "%s: %s", dir,
				 strerror(errno));
	/* one transaction: every file of a generation shows the same
	 * revocations */
	if ((rc = store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = store_meta_incr(ca->st, "crl/generation", 1, &number, err)) !=
	    0)
		goto out;
	snprintf(target, sizeof(target), "gen-%lld", (long long)number);
	if (snprintf(c_gen, sizeof(c_gen), "%s/%s", dir, target) >=
		(int)sizeof(c_gen) ||
	    snprintf(link_tmp, sizeof(link_tmp), "%s/current.tmp", dir) >=
		(int)sizeof(link_tmp) ||
	    snprintf(link_path, sizeof(link_path), "%s/current", dir) >=
		(int)sizeof(link_path)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "path too long");
		goto out;
	}
	if (mkdir(c_gen, 0755) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "%s: %s", c_gen,
			       strerror(errno));
		goto out;
	}
	memcpy(gen, c_gen, sizeof(gen)); /* both PATH_MAX; ours from here on */
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && rc == 0; k++) {
		for (int g = 1; g <= ca->ngen[k] && rc == 0; g++)
			rc = pub_file(&c, (jpki_cert_kind)k, g, CA_CRL_FULL,
				      NULL);
		if (rc == 0)
			rc = pub_file(&c, (jpki_cert_kind)k, ca->ngen[k],
				      CA_CRL_ARL, NULL);
	}
	if (rc != 0)
		goto out;
	rc = store_muni_each(ca->st, pub_muni, &c, err);
	if (c.rc != 0)
		rc = c.rc;
	if (rc != 0 || (rc = fsync_dir(gen, true, err)) != 0)
		goto out;
	if ((rc = store_commit(ca->st, err)) != 0)
		return rc;
	/* the switch: a new symlink renamed over the old one (rename(2) is
	 * atomic), so a reader resolves `current` to one whole generation */
	unlink(link_tmp);
	if (symlink(target, link_tmp) != 0 || rename(link_tmp, link_path) != 0)
		return jpki_fail(err, JPKI_ERR_IO, "%s: %s", link_path,
				 strerror(errno));
	if ((rc = fsync_dir(dir, false, err)) != 0)
		return rc;
	prune(dir, (uint64_t)number);
	if (out != NULL) {
		out->generation = (uint64_t)number;
		out->files = c.files;
	}
	return 0;
out:
	store_rollback(ca->st);
	if (gen[0] != '\0')
		remove_gen(gen); /* its number goes back with the rollback */
	return rc;
}
