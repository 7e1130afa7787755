/* openjpki — the one strict DER reader (X.690 section 10), over jpki_rbuf.
 *
 * Every function reads from a bounded jpki_rbuf, points into the caller's
 * bytes (no allocation), returns 0 or JPKI_ERR_PARSE, and on failure
 * leaves the cursor where it was.  Refused: high tag numbers (0x1f),
 * tag 0 (end-of-contents), the indefinite length, non-minimal lengths (long
 * form for < 128, a leading zero length octet), lengths over 4 octets or
 * past the end of the buffer, non-minimal INTEGERs, BOOLEANs other than
 * 0x00/0xff, BIT STRINGs with set unused bits.  Trailing bytes are the
 * caller's to refuse with jpki_der_end() where the grammar forbids them. */
#ifndef OPENJPKI_DER_H
#define OPENJPKI_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_DER_BOOL 0x01
#define JPKI_DER_INT 0x02
#define JPKI_DER_BITS 0x03
#define JPKI_DER_OCTETS 0x04
#define JPKI_DER_NULL 0x05
#define JPKI_DER_OID 0x06
#define JPKI_DER_UTF8 0x0c
#define JPKI_DER_PRINTABLE 0x13
#define JPKI_DER_UTCTIME 0x17
#define JPKI_DER_GENTIME 0x18
#define JPKI_DER_SEQ 0x30
#define JPKI_DER_SET 0x31
/* [n] context-specific: primitive and constructed (n <= 30) */
#define JPKI_DER_CTX(n) ((uint8_t)(0x80 | (n)))
#define JPKI_DER_CTX_CONS(n) ((uint8_t)(0xa0 | (n)))

/* The tag of the next element, without reading it; false when empty. */
bool jpki_der_peek(const jpki_rbuf *b, uint8_t *tag);
/* Whether the next element has this tag. */
bool jpki_der_peek_is(const jpki_rbuf *b, uint8_t tag);

/* One element of any tag: *tag, and *content its content octets. */
JPKI_MUST_CHECK int jpki_der_any(jpki_rbuf *b, uint8_t *tag,
				 jpki_rbuf *content);
/* One element of tag `tag`. */
JPKI_MUST_CHECK int jpki_der_get(jpki_rbuf *b, uint8_t tag, jpki_rbuf *content);
/* jpki_der_get, and *whole the element itself (tag, length, content). */
JPKI_MUST_CHECK int jpki_der_get_whole(jpki_rbuf *b, uint8_t tag,
				       jpki_rbuf *content, jpki_rbuf *whole);
/* jpki_der_any, and *whole the element itself. */
JPKI_MUST_CHECK int jpki_der_any_whole(jpki_rbuf *b, uint8_t *tag,
				       jpki_rbuf *content, jpki_rbuf *whole);
/* An OPTIONAL element: when the next tag is `tag` it is read (*present
 * true), otherwise nothing is read and *present is false. */
JPKI_MUST_CHECK int jpki_der_optional(jpki_rbuf *b, uint8_t tag,
				      jpki_rbuf *content, bool *present);
/* [n] EXPLICIT: a constructed [n] holding exactly one element of tag
 * `inner`, whose content goes to *content. */
JPKI_MUST_CHECK int jpki_der_explicit(jpki_rbuf *b, unsigned n, uint8_t inner,
				      jpki_rbuf *content);

/* INTEGER: its content octets (two's complement, minimal, >= 1 octet). */
JPKI_MUST_CHECK int jpki_der_int_bytes(jpki_rbuf *b, const uint8_t **p,
				       size_t *n);
/* A non-negative INTEGER as its magnitude without the sign octet (zero is
 * one 0x00 octet); a negative one is refused. */
JPKI_MUST_CHECK int jpki_der_uint_bytes(jpki_rbuf *b, const uint8_t **p,
					size_t *n);
/* INTEGER in int64_t range. */
JPKI_MUST_CHECK int jpki_der_int64(jpki_rbuf *b, int64_t *v);
/* OBJECT IDENTIFIER content octets (non-empty, minimal sub-identifiers). */
JPKI_MUST_CHECK int jpki_der_oid(jpki_rbuf *b, jpki_rbuf *oid);
/* OCTET STRING (primitive). */
JPKI_MUST_CHECK int jpki_der_octets(jpki_rbuf *b, jpki_rbuf *v);
/* BIT STRING: the bits' octets and the count of unused bits (0..7, 0 when
 * empty, and those bits zero). */
JPKI_MUST_CHECK int jpki_der_bits(jpki_rbuf *b, const uint8_t **p, size_t *n,
				  unsigned *unused);
/* BOOLEAN: one octet, 0x00 or 0xff. */
JPKI_MUST_CHECK int jpki_der_bool(jpki_rbuf *b, bool *v);
/* NULL: empty content. */
JPKI_MUST_CHECK int jpki_der_null(jpki_rbuf *b);
/* JPKI_ERR_PARSE when bytes are left. */
JPKI_MUST_CHECK int jpki_der_end(const jpki_rbuf *b);
/* Whether a slice holds exactly der[0..len). */
bool jpki_der_is(const jpki_rbuf *b, const uint8_t *der, size_t len);

#ifdef __cplusplus
}
#endif
#endif
