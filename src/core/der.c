/* The strict DER reader: see include/openjpki/der.h. */
#include "openjpki/der.h"

#include <string.h>

#include "openjpki/error.h"

bool jpki_der_peek(const jpki_rbuf *b, uint8_t *tag)
{
	if (jpki_rbuf_left(b) == 0)
		return false;
	*tag = b->p[b->off];
	return true;
}

bool jpki_der_peek_is(const jpki_rbuf *b, uint8_t tag)
{
	return jpki_rbuf_left(b) > 0 && b->p[b->off] == tag;
}

/* The header read in place: this runs for every element the lints and
 * the OCSP hot path read, and every octet it looks at is within
 * jpki_rbuf_left(); the cursor moves only on success. */
int jpki_der_any(jpki_rbuf *b, uint8_t *tag, jpki_rbuf *content)
{
	size_t left = jpki_rbuf_left(b);
	const uint8_t *h = b->p + b->off;
	size_t n = 2;
	size_t len;
	/* one-octet tags only (X.690 8.1.2.3): no field we read has a tag
	 * number over 30; tag 0 is end-of-contents, for BER only */
	if (left < 2 || (h[0] & 0x1f) == 0x1f || h[0] == 0)
		return JPKI_ERR_PARSE;
	len = h[1];
	if (len >= 0x80) {
		/* 10.1: definite form, long only for >= 128, no leading zero
		 * octet; 0x80 (indefinite) has octets == 0 */
		size_t octets = len & 0x7f;
		if (octets == 0 || octets > 4 || left - 2 < octets || h[2] == 0)
			return JPKI_ERR_PARSE;
		len = 0;
		for (size_t i = 0; i < octets; i++)
			len = len << 8 | h[2 + i];
		if (len < 0x80)
			return JPKI_ERR_PARSE;
		n += octets;
	}
	if (len > left - n)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(content, h + n, len);
	b->off += n + len;
	*tag = h[0];
	return 0;
}

int jpki_der_get(jpki_rbuf *b, uint8_t tag, jpki_rbuf *content)
{
	uint8_t t = 0;
	if (!jpki_der_peek_is(b, tag))
		return JPKI_ERR_PARSE;
	return jpki_der_any(b, &t, content);
}

int jpki_der_any_whole(jpki_rbuf *b, uint8_t *tag, jpki_rbuf *content,
		       jpki_rbuf *whole)
{
	size_t start = b->off;
	if (jpki_der_any(b, tag, content) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(whole, b->p + start, b->off - start);
	return 0;
}

int jpki_der_get_whole(jpki_rbuf *b, uint8_t tag, jpki_rbuf *content,
		       jpki_rbuf *whole)
{
	uint8_t t = 0;
	if (!jpki_der_peek_is(b, tag))
		return JPKI_ERR_PARSE;
	return jpki_der_any_whole(b, &t, content, whole);
}

int jpki_der_optional(jpki_rbuf *b, uint8_t tag, jpki_rbuf *content,
		      bool *present)
{
	*present = false;
	if (!jpki_der_peek_is(b, tag))
		return 0;
	if (jpki_der_get(b, tag, content) != 0)
		return JPKI_ERR_PARSE;
	*present = true;
	return 0;
}

int jpki_der_explicit(jpki_rbuf *b, unsigned n, uint8_t inner,
		      jpki_rbuf *content)
{
	jpki_rbuf wrap;
	size_t start = b->off;
	if (n > 30 || jpki_der_get(b, JPKI_DER_CTX_CONS(n), &wrap) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_der_get(&wrap, inner, content) != 0 ||
	    jpki_der_end(&wrap) != 0) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	return 0;
}

int jpki_der_int_bytes(jpki_rbuf *b, const uint8_t **p, size_t *n)
{
	jpki_rbuf v;
	size_t start = b->off;
	if (jpki_der_get(b, JPKI_DER_INT, &v) != 0)
		return JPKI_ERR_PARSE;
	/* X.690 8.3.2: at least one octet; the first nine bits not all
	 * equal */
	if (v.len == 0 ||
	    (v.len > 1 && ((v.p[0] == 0x00 && (v.p[1] & 0x80) == 0) ||
			   (v.p[0] == 0xff && (v.p[1] & 0x80) != 0)))) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	*p = v.p;
	*n = v.len;
	return 0;
}

int jpki_der_uint_bytes(jpki_rbuf *b, const uint8_t **p, size_t *n)
{
	const uint8_t *v;
	size_t l, start = b->off;
	if (jpki_der_int_bytes(b, &v, &l) != 0)
		return JPKI_ERR_PARSE;
	if ((v[0] & 0x80) != 0) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	if (l > 1 && v[0] == 0) {
		v++;
		l--;
	}
	*p = v;
	*n = l;
	return 0;
}

int jpki_der_int64(jpki_rbuf *b, int64_t *out)
{
	const uint8_t *v;
	size_t l, start = b->off;
	if (jpki_der_int_bytes(b, &v, &l) != 0)
		return JPKI_ERR_PARSE;
	if (l > 8) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	/* sign-extend from the first octet, then shift the rest in */
	uint64_t u = (v[0] & 0x80) != 0 ? UINT64_MAX : 0;
	for (size_t i = 0; i < l; i++)
		u = u << 8 | v[i];
	memcpy(out, &u, sizeof(*out));
	return 0;
}

int jpki_der_oid(jpki_rbuf *b, jpki_rbuf *oid)
{
	jpki_rbuf v;
	size_t start = b->off;
	if (jpki_der_get(b, JPKI_DER_OID, &v) != 0)
		return JPKI_ERR_PARSE;
	/* 8.19.2: each sub-identifier in the fewest octets (no leading
	 * 0x80), the last octet of the value ends one */
	bool first = true;
	for (size_t i = 0; i < v.len; i++) {
		if (first && v.p[i] == 0x80)
			goto bad;
		first = (v.p[i] & 0x80) == 0;
	}
	if (v.len == 0 || !first)
		goto bad;
	*oid = v;
	return 0;
bad:
	b->off = start;
	return JPKI_ERR_PARSE;
}

int jpki_der_octets(jpki_rbuf *b, jpki_rbuf *v)
{
	return jpki_der_get(b, JPKI_DER_OCTETS, v);
}

int jpki_der_bits(jpki_rbuf *b, const uint8_t **p, size_t *n, unsigned *unused)
{
	jpki_rbuf v;
	size_t start = b->off;
	if (jpki_der_get(b, JPKI_DER_BITS, &v) != 0)
		return JPKI_ERR_PARSE;
	/* 8.6.2: the initial octet counts unused bits (0..7, 0 when there
	 * are no bits); 11.2.1: those bits are zero */
	if (v.len == 0 || v.p[0] > 7 || (v.len == 1 && v.p[0] != 0) ||
	    (v.len > 1 && (v.p[v.len - 1] & ((1u << v.p[0]) - 1)) != 0)) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	*p = v.p + 1;
	*n = v.len - 1;
	*unused = v.p[0];
	return 0;
}

int jpki_der_bool(jpki_rbuf *b, bool *out)
{
	jpki_rbuf v;
	size_t start = b->off;
	if (jpki_der_get(b, JPKI_DER_BOOL, &v) != 0)
		return JPKI_ERR_PARSE;
	/* 11.1: FALSE is 0x00, TRUE is 0xff */
	if (v.len != 1 || (v.p[0] != 0x00 && v.p[0] != 0xff)) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	*out = v.p[0] == 0xff;
	return 0;
}

int jpki_der_null(jpki_rbuf *b)
{
	jpki_rbuf v;
	size_t start = b->off;
	if (jpki_der_get(b, JPKI_DER_NULL, &v) != 0)
		return JPKI_ERR_PARSE;
	if (v.len != 0) {
		b->off = start;
		return JPKI_ERR_PARSE;
	}
	return 0;
}

int jpki_der_end(const jpki_rbuf *b)
{
	return jpki_rbuf_end(b);
}

bool jpki_der_is(const jpki_rbuf *b, const uint8_t *der, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->p, der, len) == 0);
}
