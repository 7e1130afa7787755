/* DER for the few fixed shapes the leaf profiles emit (X.690 section 10:
 * definite lengths in the fewest octets).  The writer works from the end
 * of the buffer so that a header is written once its content's length is
 * known; reading back is the one strict reader's (openjpki/der.h). */
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
