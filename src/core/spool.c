/* A byte spool, memory then an unlinked file: see include/openjpki/spool.h.
 */
#include "openjpki/spool.h"
#include "openjpki/util.h"

#include <errno.h>
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
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	return jpki_file_tmp_unlinked(dir, &sp->fd, err);
}

/* The buffer's bytes to the end of the file; the buffer empty. */
static int spill(jpki_spool *sp, jpki_err *err)
{
	int rc;
	if (sp->fd < 0 && (rc = spill_open(sp, err)) != 0)
		return rc;
	if (jpki_pwrite_full(sp->fd, sp->buf, sp->len, sp->file_len) != 0)
		return jpki_fail(err, JPKI_ERR_IO,
				 "spool: writing the temporary file: %s",
				 strerror(errno));
	sp->file_len += sp->len;
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
		if (jpki_pread_full(sp->fd, sp->buf, k, off) != 0)
			return jpki_fail(err, JPKI_ERR_IO,
					 "spool: reading the temporary file: "
					 "%s",
					 strerror(errno));
		if ((rc = fn(ctx, sp->buf, k, err)) != 0)
			return rc;
		off += k;
	}
	return 0;
}
