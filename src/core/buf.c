/* Bounded reader and writer: see include/openjpki/buf.h. */
#include "openjpki/buf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/error.h"

void jpki_rbuf_init(jpki_rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = p == NULL ? 0 : len;
	b->off = 0;
}

size_t jpki_rbuf_left(const jpki_rbuf *b)
{
	return b->len - b->off;
}

int jpki_rbuf_ptr(jpki_rbuf *b, const uint8_t **p, size_t n)
{
	if (n > jpki_rbuf_left(b))
		return JPKI_ERR_PARSE;
	*p = b->p + b->off;
	b->off += n;
	return 0;
}

int jpki_rbuf_get(jpki_rbuf *b, void *dst, size_t n)
{
	const uint8_t *p;
	int r = jpki_rbuf_ptr(b, &p, n);
	if (r == 0 && n > 0)
		memcpy(dst, p, n);
	return r;
}

int jpki_rbuf_skip(jpki_rbuf *b, size_t n)
{
	const uint8_t *p;
	return jpki_rbuf_ptr(b, &p, n);
}

int jpki_rbuf_u8(jpki_rbuf *b, uint8_t *v)
{
	return jpki_rbuf_get(b, v, 1);
}

int jpki_rbuf_u16be(jpki_rbuf *b, uint16_t *v)
{
	const uint8_t *p;
	int r = jpki_rbuf_ptr(b, &p, 2);
	if (r == 0)
		*v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
	return r;
}

int jpki_rbuf_u32be(jpki_rbuf *b, uint32_t *v)
{
	const uint8_t *p;
	int r = jpki_rbuf_ptr(b, &p, 4);
	if (r == 0)
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		     (uint32_t)p[2] << 8 | p[3];
	return r;
}

int jpki_rbuf_u64be(jpki_rbuf *b, uint64_t *v)
{
	uint32_t hi, lo;
	size_t save = b->off;
	int r;
	if ((r = jpki_rbuf_u32be(b, &hi)) != 0 ||
	    (r = jpki_rbuf_u32be(b, &lo)) != 0) {
		b->off = save;
		return r;
	}
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int jpki_rbuf_end(const jpki_rbuf *b)
{
	return jpki_rbuf_left(b) == 0 ? 0 : JPKI_ERR_PARSE;
}

void jpki_wbuf_init(jpki_wbuf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int jpki_wbuf_put(jpki_wbuf *b, const void *src, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return JPKI_ERR_RANGE;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		uint8_t *np = malloc(cap);
		if (np == NULL)
			return JPKI_ERR_NOMEM;
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		if (b->p != NULL) {
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

int jpki_wbuf_u8(jpki_wbuf *b, uint8_t v)
{
	return jpki_wbuf_put(b, &v, 1);
}

int jpki_wbuf_u16be(jpki_wbuf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return jpki_wbuf_put(b, t, 2);
}

int jpki_wbuf_u32be(jpki_wbuf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	return jpki_wbuf_put(b, t, 4);
}

int jpki_wbuf_u64be(jpki_wbuf *b, uint64_t v)
{
	int r = jpki_wbuf_u32be(b, (uint32_t)(v >> 32));
	return r != 0 ? r : jpki_wbuf_u32be(b, (uint32_t)v);
}

void jpki_wbuf_free(jpki_wbuf *b)
{
	if (b == NULL)
		return;
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}
