/* openjpki — the one bounded reader for untrusted bytes.
 *
 * APDUs, HTTP bodies, OCSP requests, card images and CSV lines are read
 * through a jpki_rbuf: every read is bounds-checked, reads past the end fail
 * with JPKI_ERR_PARSE and leave the cursor where it was, and callers finish
 * with jpki_rbuf_end() to reject trailing data.  jpki_wbuf is the matching
 * growable writer with an explicit maximum size. */
#ifndef OPENJPKI_BUF_H
#define OPENJPKI_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
} jpki_rbuf;

void jpki_rbuf_init(jpki_rbuf *b, const void *p, size_t len);
size_t jpki_rbuf_left(const jpki_rbuf *b);
JPKI_MUST_CHECK int jpki_rbuf_u8(jpki_rbuf *b, uint8_t *v);
JPKI_MUST_CHECK int jpki_rbuf_u16be(jpki_rbuf *b, uint16_t *v);
JPKI_MUST_CHECK int jpki_rbuf_u32be(jpki_rbuf *b, uint32_t *v);
JPKI_MUST_CHECK int jpki_rbuf_u64be(jpki_rbuf *b, uint64_t *v);
/* Copy n bytes out. */
JPKI_MUST_CHECK int jpki_rbuf_get(jpki_rbuf *b, void *dst, size_t n);
/* Point at the next n bytes without copying (valid while the source lives). */
JPKI_MUST_CHECK int jpki_rbuf_ptr(jpki_rbuf *b, const uint8_t **p, size_t n);
JPKI_MUST_CHECK int jpki_rbuf_skip(jpki_rbuf *b, size_t n);
/* JPKI_ERR_PARSE if any bytes are left. */
JPKI_MUST_CHECK int jpki_rbuf_end(const jpki_rbuf *b);

typedef struct jpki_wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* hard limit; appends beyond it fail with JPKI_ERR_RANGE */
} jpki_wbuf;

void jpki_wbuf_init(jpki_wbuf *b, size_t max);
JPKI_MUST_CHECK int jpki_wbuf_put(jpki_wbuf *b, const void *src, size_t n);
JPKI_MUST_CHECK int jpki_wbuf_u8(jpki_wbuf *b, uint8_t v);
JPKI_MUST_CHECK int jpki_wbuf_u16be(jpki_wbuf *b, uint16_t v);
JPKI_MUST_CHECK int jpki_wbuf_u32be(jpki_wbuf *b, uint32_t v);
JPKI_MUST_CHECK int jpki_wbuf_u64be(jpki_wbuf *b, uint64_t v);
/* Zeroes the contents before freeing (buffers may hold key material). */
void jpki_wbuf_free(jpki_wbuf *b);

#ifdef __cplusplus
}
#endif
#endif
