/* DER for the few fixed shapes the leaf profiles emit and the lints read
 * back (X.690 section 10: definite lengths in the fewest octets).  The
 * writer works from the end of the buffer so that a header is written
 * once its content's length is known; the reader goes through jpki_rbuf. */
#include <string.h>

#include "x509_int.h"

void x509i_dw_init(x509i_dw *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->over = false;
}

void x509i_dw_put(x509i_dw *w, const void *p, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	w->len += n;
	if (n > 0)
		memcpy(w->buf + w->cap - w->len, p, n);
}

size_t x509i_der_hdr(uint8_t tag, size_t len, uint8_t hdr[X509I_HDR_MAX])
{
	size_t n = 0;
	hdr[n++] = tag;
	/* X.690 10.1: the definite form, short when it fits */
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
		return n;
	}
	size_t octets = 0;
	for (size_t v = len; v != 0; v >>= 8)
		octets++;
	hdr[n++] = (uint8_t)(0x80 | octets);
	for (size_t i = octets; i > 0; i--)
		hdr[n++] = (uint8_t)(len >> (8 * (i - 1)));
	return n;
}

void x509i_dw_wrap(x509i_dw *w, uint8_t tag, size_t mark)
{
	uint8_t hdr[X509I_HDR_MAX];
	if (w->over || mark > w->len)
		return;
	x509i_dw_put(w, hdr, x509i_der_hdr(tag, w->len - mark, hdr));
}

void x509i_dw_tlv(x509i_dw *w, uint8_t tag, const void *p, size_t n)
{
	size_t mark = w->len;
	x509i_dw_put(w, p, n);
	x509i_dw_wrap(w, tag, mark);
}

void x509i_dw_rdn(x509i_dw *w, const uint8_t *oid, size_t oid_len,
		  uint8_t str_tag, const char *val, size_t val_len)
{
	size_t mark = w->len;
	x509i_dw_tlv(w, str_tag, val, val_len);
	x509i_dw_tlv(w, X509I_TAG_OID, oid, oid_len);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
	x509i_dw_wrap(w, X509I_TAG_SET, mark);
}

void x509i_dw_uint(x509i_dw *w, const uint8_t *p, size_t n)
{
	static const uint8_t zero = 0;
	size_t mark = w->len;
	x509i_dw_put(w, p, n);
	/* X.690 8.3.2: a leading zero octet only before a set top bit */
	if (n == 0 || (p[0] & 0x80) != 0)
		x509i_dw_put(w, &zero, 1);
	x509i_dw_wrap(w, X509I_TAG_INT, mark);
}

void x509i_dw_ext(x509i_dw *w, size_t mark, const uint8_t *oid, size_t oid_len,
		  bool critical)
{
	/* X.690 11.1: TRUE is 0xff; 11.5: the DEFAULT FALSE is left out */
	static const uint8_t crit[] = {X509I_TAG_BOOL, 1, 0xff};
	x509i_dw_wrap(w, X509I_TAG_OCTETS, mark);
	if (critical)
		x509i_dw_put(w, crit, sizeof(crit));
	x509i_dw_tlv(w, X509I_TAG_OID, oid, oid_len);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
}

const uint8_t *x509i_dw_data(const x509i_dw *w, size_t *len)
{
	if (w->over)
		return NULL;
	*len = w->len;
	return w->buf + w->cap - w->len;
}

int x509i_tlv_any(jpki_rbuf *r, uint8_t *tag, jpki_rbuf *content)
{
	/* the header read in place: this runs for every TLV the lints
	 * read, and every octet it looks at is within jpki_rbuf_left() */
	size_t left = jpki_rbuf_left(r);
	const uint8_t *h = r->p + r->off;
	size_t n = 2;
	size_t len;
	const uint8_t *p = NULL;
	/* one-octet tags only: no field of ours has a tag number over 30 */
	if (left < 2 || (h[0] & 0x1f) == 0x1f)
		return JPKI_ERR_PARSE;
	len = h[1];
	if (len >= 0x80) {
		/* long form: 1-3 octets, no leading zero, not for < 128
		 * (X.690 10.1); certificates stay far below 16 MiB */
		size_t octets = len & 0x7f;
		if (octets == 0 || octets > 3 || left < 2 + octets || h[2] == 0)
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
	if (jpki_rbuf_skip(r, n) != 0 || jpki_rbuf_ptr(r, &p, len) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(content, p, len);
	*tag = h[0];
	return 0;
}

int x509i_tlv(jpki_rbuf *r, uint8_t tag, jpki_rbuf *content)
{
	if (jpki_rbuf_left(r) == 0 || r->p[r->off] != tag)
		return JPKI_ERR_PARSE;
	uint8_t t = 0;
	return x509i_tlv_any(r, &t, content);
}

int x509i_tlv_whole(jpki_rbuf *r, uint8_t tag, jpki_rbuf *content,
		    jpki_rbuf *whole)
{
	size_t start = r->off;
	if (x509i_tlv(r, tag, content) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(whole, r->p + start, r->off - start);
	return 0;
}

bool x509i_bytes_are(const jpki_rbuf *b, const uint8_t *der, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->p, der, len) == 0);
}
