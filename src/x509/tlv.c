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

void x509i_dw_wrap(x509i_dw *w, uint8_t tag, size_t mark)
{
	uint8_t hdr[2 + sizeof(size_t)];
	size_t n = 0;
	if (w->over || mark > w->len)
		return;
	size_t len = w->len - mark;
	hdr[n++] = tag;
	/* X.690 10.1: the definite form, short when it fits */
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
	} else {
		size_t octets = 0;
		for (size_t v = len; v != 0; v >>= 8)
			octets++;
		hdr[n++] = (uint8_t)(0x80 | octets);
		for (size_t i = octets; i > 0; i--)
			hdr[n++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	x509i_dw_put(w, hdr, n);
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

const uint8_t *x509i_dw_data(const x509i_dw *w, size_t *len)
{
	if (w->over)
		return NULL;
	*len = w->len;
	return w->buf + w->cap - w->len;
}

int x509i_tlv(jpki_rbuf *r, uint8_t tag, jpki_rbuf *content)
{
	size_t save = r->off;
	uint8_t t = 0;
	uint8_t l = 0;
	size_t len = 0;
	const uint8_t *p = NULL;
	if (jpki_rbuf_u8(r, &t) != 0 || t != tag || jpki_rbuf_u8(r, &l) != 0)
		goto bad;
	if (l < 0x80) {
		len = l;
	} else {
		/* long form: 1-3 octets, no leading zero, not for < 128
		 * (X.690 10.1); certificates stay far below 16 MiB */
		size_t octets = l & 0x7f;
		if (octets == 0 || octets > 3)
			goto bad;
		for (size_t i = 0; i < octets; i++) {
			uint8_t b = 0;
			if (jpki_rbuf_u8(r, &b) != 0 || (i == 0 && b == 0))
				goto bad;
			len = len << 8 | b;
		}
		if (len < 0x80)
			goto bad;
	}
	if (jpki_rbuf_ptr(r, &p, len) != 0)
		goto bad;
	jpki_rbuf_init(content, p, len);
	return 0;
bad:
	r->off = save;
	return JPKI_ERR_PARSE;
}
