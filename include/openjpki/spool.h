/* openjpki — a byte spool: what is written once and read back once, in
 * order, with memory bounded whatever its size.  Bytes are kept in a
 * buffer of at most `mem_max` octets; when it is full they move to an
 * unlinked temporary file in $TMPDIR (default /tmp; O_TMPFILE, else
 * mkstemp and unlink at once) and the buffer is reused.  A CRL's entries
 * are spooled while they are counted and sized (src/ca/crl.c), so the
 * store is read once. */
#ifndef OPENJPKI_SPOOL_H
#define OPENJPKI_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Enough for every municipality's CRL (about 47 octets an entry). */
#define JPKI_SPOOL_MEM_DEFAULT ((size_t)1 << 20)

typedef struct jpki_spool jpki_spool;
/* Called with the spooled bytes in order, in pieces of at most mem_max
 * octets; 0 to go on, a jpki_rc to stop with it. */
typedef int (*jpki_spool_fn)(void *ctx, const uint8_t *p, size_t n,
			     jpki_err *err);

/* mem_max >= 1 (JPKI_SPOOL_MEM_DEFAULT; tests pass less to spill early).
 * The buffer grows up to it as bytes come. */
JPKI_MUST_CHECK int jpki_spool_new(size_t mem_max, jpki_spool **out,
				   jpki_err *err);
/* Append n bytes (JPKI_ERR_IO when the file cannot be made or written). */
JPKI_MUST_CHECK int jpki_spool_put(jpki_spool *sp, const void *p, size_t n,
				   jpki_err *err);
/* Every byte put so far, from the first, through fn; the first non-zero
 * answer of fn (or JPKI_ERR_IO reading the file) is returned.  More may be
 * put afterwards and the whole read again. */
JPKI_MUST_CHECK int jpki_spool_replay(jpki_spool *sp, jpki_spool_fn fn,
				      void *ctx, jpki_err *err);
/* Octets put so far; whether they went past mem_max into a file. */
uint64_t jpki_spool_len(const jpki_spool *sp);
bool jpki_spool_spilled(const jpki_spool *sp);
/* Closes the file (its space goes with it). */
void jpki_spool_free(jpki_spool *sp);

#ifdef __cplusplus
}
#endif
#endif
