/* A byte spool, memory then an unlinked file: see include/openjpki/spool.h.
 */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "openjpki/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jpki_spool {
	uint8_t *buf;
	size_t len, cap, max; /* octets in buf, its size, its limit */
	int fd;		      /* -1 until the buffer first overflows */
	uint64_t file_len;    /* octets in the file */
};

int jpki_spool_new(size_t mem_max, jpki_spool **out, jpki_err *err)
{
	if (mem_max == 0 || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "spool: bad argument");
	jpki_spool *sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	sp->max = mem_max;
	sp->fd = -1;
	*out = sp;
	return 0;
}

void jpki_spool_free(jpki_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->buf);
	free(sp);
}

uint64_t jpki_spool_len(const jpki_spool *sp)
{
	return sp->file_len + sp->len;
}

bool jpki_spool_spilled(const jpki_spool *sp)
{
	return sp->fd >= 0;
}

/* An unlinked file in $TMPDIR (or /tmp). */
static int spill_open(jpki_spool *sp, jpki_err *err)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* no O_TMPFILE here (EISDIR: the kernel's, EOPNOTSUPP: the file
	 * system's): a named file, unlinked at once */
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		if (snprintf(path, sizeof(path), "%s/.jpki-spool-XXXXXX",
			     dir) >= (int)sizeof(path))
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "spool: TMPDIR too long");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0 && unlink(path) != 0) {
			int e = errno;
			close(fd);
			return jpki_fail(err, JPKI_ERR_IO, "spool: %s: %s",
					 path, strerror(e));
		}
	}
	if (fd < 0)
		return jpki_fail(err, JPKI_ERR_IO,
				 "spool: a temporary file in %s: %s", dir,
				 strerror(errno));
	sp->fd = fd;
	return 0;
}

/* The buffer's bytes to the end of the file; the buffer empty. */
static int spill(jpki_spool *sp, jpki_err *err)
{
	int rc;
	if (sp->fd < 0 && (rc = spill_open(sp, err)) != 0)
		return rc;
	const uint8_t *p = sp->buf;
	size_t n = sp->len;
	while (n > 0) {
		ssize_t w = pwrite(sp->fd, p, n, (off_t)sp->file_len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return jpki_fail(err, JPKI_ERR_IO,
					 "spool: writing the temporary file: "
					 "%s",
					 w < 0 ? strerror(errno)
					       : "no progress");
		p += w;
		n -= (size_t)w;
		sp->file_len += (uint64_t)w;
	}
	sp->len = 0;
	return 0;
}

int jpki_spool_put(jpki_spool *sp, const void *p, size_t n, jpki_err *err)
{
	const uint8_t *q = p;
	int rc;
	if (sp == NULL || (p == NULL && n > 0))
		return jpki_fail(err, JPKI_ERR_INVAL, "spool: bad argument");
	while (n > 0) {
		if (sp->len == sp->max && (rc = spill(sp, err)) != 0)
			return rc;
		size_t k = sp->max - sp->len;
		if (k > n)
			k = n;
		if (sp->len + k > sp->cap) {
			size_t cap = sp->cap > 0 ? sp->cap * 2 : 4096;
			if (cap < sp->len + k)
				cap = sp->len + k;
			if (cap > sp->max)
				cap = sp->max;
			uint8_t *nb = realloc(sp->buf, cap);
			if (nb == NULL)
				return jpki_fail(err, JPKI_ERR_NOMEM,
						 "out of memory");
			sp->buf = nb;
			sp->cap = cap;
		}
		memcpy(sp->buf + sp->len, q, k);
		sp->len += k;
		q += k;
		n -= k;
	}
	return 0;
}

int jpki_spool_replay(jpki_spool *sp, jpki_spool_fn fn, void *ctx,
		      jpki_err *err)
{
	int rc;
	if (sp == NULL || fn == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "spool: bad argument");
	if (sp->fd < 0)
		return sp->len > 0 ? fn(ctx, sp->buf, sp->len, err) : 0;
	/* the tail too into the file, then the file through the buffer */
	if ((rc = spill(sp, err)) != 0)
		return rc;
	for (uint64_t off = 0; off < sp->file_len;) {
		size_t k = sp->cap;
		if (k > sp->file_len - off)
			k = (size_t)(sp->file_len - off);
		size_t got = 0;
		while (got < k) {
			ssize_t r = pread(sp->fd, sp->buf + got, k - got,
					  (off_t)(off + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return jpki_fail(
				    err, JPKI_ERR_IO,
				    "spool: reading the temporary file: %s",
				    r < 0 ? strerror(errno)
					  : "shorter than written");
			got += (size_t)r;
		}
		if ((rc = fn(ctx, sp->buf, k, err)) != 0)
			return rc;
		off += k;
	}
	return 0;
}
