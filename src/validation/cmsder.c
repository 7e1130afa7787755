/* The certificates of a DER CMS SignedData, split from the rest.
 *
 * OpenSSL 3.0 decodes a certificate's public key through its decoder
 * framework, about 90 us per certificate -- four times an RSA-2048
 * verification -- and d2i_CMS_ContentInfo() does it for every certificate
 * of every document.  The signature of a SignedData does not cover its
 * `certificates` field (RFC 5652 5.4), so we cut that field out at the
 * DER level, parse the rest with OpenSSL, and let the caller take each
 * certificate from a cache keyed by the hash of its DER: a relying party
 * receiving many documents from one signer parses the certificate once.
 *
 * Only plain DER of the shape RFC 5652 5.1 gives, with definite lengths,
 * is split; anything else (BER, unusual choices) makes the caller parse
 * the whole document with OpenSSL instead, so no input is accepted here
 * that the full parse would refuse for its structure. */
#include <stdlib.h>
#include <string.h>

#include "openjpki/buf.h"
#include "val_int.h"

typedef struct tlv {
	uint8_t tag;
	const uint8_t *start; /* the tag byte */
	size_t hdr;	      /* tag + length octets */
	size_t len;	      /* content octets */
} tlv;

/* One TLV with a low tag number and a definite length (X.690 8.1). */
static int tlv_read(jpki_rbuf *b, tlv *t)
{
	uint8_t l0, x;
	size_t len = 0, start = b->off;
	if (jpki_rbuf_u8(b, &t->tag) != 0 || (t->tag & 0x1f) == 0x1f ||
	    jpki_rbuf_u8(b, &l0) != 0 || l0 == 0x80 || l0 == 0xff)
		return -1;
	if (l0 < 0x80) {
		len = l0;
	} else {
		int n = l0 & 0x7f;
		if (n > 4)
			return -1;
		for (int i = 0; i < n; i++) {
			if (jpki_rbuf_u8(b, &x) != 0)
				return -1;
			len = len << 8 | x;
		}
	}
	t->start = b->p + start;
	t->hdr = b->off - start;
	t->len = len;
	return jpki_rbuf_skip(b, len) == 0 ? 0 : -1;
}

/* A DER header for `len` content octets. */
static size_t hdr_put(uint8_t *out, uint8_t tag, size_t len)
{
	size_t n = 0;
	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (uint8_t)len;
		return n;
	}
	int bytes = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
	out[n++] = (uint8_t)(0x80 | bytes);
	for (int i = bytes - 1; i >= 0; i--)
		out[n++] = (uint8_t)(len >> (8 * i));
	return n;
}

static void sub(const tlv *t, jpki_rbuf *b)
{
	jpki_rbuf_init(b, t->start + t->hdr, t->len);
}

int vali_cms_split(const uint8_t *der, size_t len, vali_split *s)
{
	static const uint8_t signed_data[] = {
	    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
	jpki_rbuf b, in;
	tlv ci, oid, exp, sd, kids[8], *certs = NULL;
	size_t n_kids = 0;
	memset(s, 0, sizeof(*s));
	/* ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content } */
	jpki_rbuf_init(&b, der, len);
	if (tlv_read(&b, &ci) != 0 || ci.tag != 0x30 || jpki_rbuf_end(&b) != 0)
		return 1;
	sub(&ci, &in);
	if (tlv_read(&in, &oid) != 0 ||
	    oid.hdr + oid.len != sizeof(signed_data) ||
	    memcmp(oid.start, signed_data, sizeof(signed_data)) != 0 ||
	    tlv_read(&in, &exp) != 0 || exp.tag != 0xa0 ||
	    jpki_rbuf_end(&in) != 0)
		return 1;
	sub(&exp, &in);
	if (tlv_read(&in, &sd) != 0 || sd.tag != 0x30 ||
	    jpki_rbuf_end(&in) != 0)
		return 1;
	/* SignedData: version, digestAlgorithms, encapContentInfo,
	 * [0] certificates, [1] crls, signerInfos */
	sub(&sd, &in);
	while (jpki_rbuf_left(&in) > 0) {
		if (n_kids == sizeof(kids) / sizeof(kids[0]) ||
		    tlv_read(&in, &kids[n_kids]) != 0)
			return 1;
		if (kids[n_kids].tag == 0xa0) {
			if (certs != NULL || n_kids != 3)
				return 1;
			certs = &kids[n_kids];
		}
		n_kids++;
	}
	if (certs == NULL)
		return 1;
	/* CertificateChoices: plain certificates only */
	sub(certs, &in);
	while (jpki_rbuf_left(&in) > 0) {
		tlv c;
		if (s->n_certs == VALI_CMS_CERTS_MAX ||
		    tlv_read(&in, &c) != 0 || c.tag != 0x30)
			return 1;
		s->cert[s->n_certs] = c.start;
		s->cert_len[s->n_certs++] = c.hdr + c.len;
	}
	/* the same document without the certificates field */
	size_t cut = certs->hdr + certs->len;
	size_t sd_len = sd.len - cut;
	uint8_t h_sd[8], h_exp[8], h_ci[8];
	size_t n_sd = hdr_put(h_sd, 0x30, sd_len);
	size_t n_exp = hdr_put(h_exp, 0xa0, n_sd + sd_len);
	size_t ci_len = oid.hdr + oid.len + n_exp + n_sd + sd_len;
	size_t n_ci = hdr_put(h_ci, 0x30, ci_len);
	uint8_t *out = malloc(n_ci + ci_len), *p = out;
	if (out == NULL)
		return JPKI_ERR_NOMEM;
	const uint8_t *sd_body = sd.start + sd.hdr;
	size_t before = (size_t)(certs->start - sd_body);
	memcpy(p, h_ci, n_ci);
	p += n_ci;
	memcpy(p, oid.start, oid.hdr + oid.len);
	p += oid.hdr + oid.len;
	memcpy(p, h_exp, n_exp);
	p += n_exp;
	memcpy(p, h_sd, n_sd);
	p += n_sd;
	memcpy(p, sd_body, before);
	p += before;
	memcpy(p, certs->start + cut, sd.len - before - cut);
	s->stripped = out;
	s->stripped_len = n_ci + ci_len;
	return 0;
}

void vali_split_clear(vali_split *s)
{
	if (s == NULL)
		return;
	free(s->stripped);
	memset(s, 0, sizeof(*s));
}
