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
 * Only strict DER (openjpki/der.h: minimal definite lengths) of the shape
 * RFC 5652 5.1 gives is split; anything else (BER, unusual choices) makes the
 * caller parse the whole document with OpenSSL instead, so no input is accepted
 * here that the full parse would refuse for its structure. */
#include <stdlib.h>
#include <string.h>

#include "openjpki/der.h"
#include "val_int.h"

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

int vali_cms_split(const uint8_t *der, size_t len, vali_split *s)
{
	static const uint8_t signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
					      0x0d, 0x01, 0x07, 0x02};
	jpki_rbuf b, ci, oid_c, oid, exp, sd_c, sd, in, kid, kid_c;
	jpki_rbuf certs = {0}, certs_c;
	uint8_t t;
	size_t n_kids = 0;
	bool have_certs = false;
	memset(s, 0, sizeof(*s));
	/* ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content } */
	jpki_rbuf_init(&b, der, len);
	if (jpki_der_get(&b, JPKI_DER_SEQ, &ci) != 0 || jpki_der_end(&b) != 0)
		return 1;
	if (jpki_der_get_whole(&ci, JPKI_DER_OID, &oid_c, &oid) != 0 ||
	    !jpki_der_is(&oid_c, signed_data, sizeof(signed_data)) ||
	    jpki_der_get(&ci, JPKI_DER_CTX_CONS(0), &exp) != 0 ||
	    jpki_der_end(&ci) != 0)
		return 1;
	if (jpki_der_get_whole(&exp, JPKI_DER_SEQ, &sd_c, &sd) != 0 ||
	    jpki_der_end(&exp) != 0)
		return 1;
	/* SignedData: version, digestAlgorithms, encapContentInfo,
	 * [0] certificates, [1] crls, signerInfos */
	in = sd_c;
	while (jpki_rbuf_left(&in) > 0) {
		if (n_kids == 8 ||
		    jpki_der_any_whole(&in, &t, &kid_c, &kid) != 0)
			return 1;
		if (t == JPKI_DER_CTX_CONS(0)) {
			if (have_certs || n_kids != 3)
				return 1;
			have_certs = true;
			certs = kid;
			certs_c = kid_c;
		}
		n_kids++;
	}
	if (!have_certs)
		return 1;
	/* CertificateChoices: plain certificates only */
	while (jpki_rbuf_left(&certs_c) > 0) {
		jpki_rbuf c_c, c;
		if (s->n_certs == VALI_CMS_CERTS_MAX ||
		    jpki_der_get_whole(&certs_c, JPKI_DER_SEQ, &c_c, &c) != 0)
			return 1;
		s->cert[s->n_certs] = c.p;
		s->cert_len[s->n_certs++] = c.len;
	}
	/* the same document without the certificates field */
	size_t sd_len = sd_c.len - certs.len;
	uint8_t h_sd[8], h_exp[8], h_ci[8];
	size_t n_sd = hdr_put(h_sd, JPKI_DER_SEQ, sd_len);
	size_t n_exp = hdr_put(h_exp, JPKI_DER_CTX_CONS(0), n_sd + sd_len);
	size_t ci_len = oid.len + n_exp + n_sd + sd_len;
	size_t n_ci = hdr_put(h_ci, JPKI_DER_SEQ, ci_len);
	uint8_t *out = malloc(n_ci + ci_len), *p = out;
	if (out == NULL)
		return JPKI_ERR_NOMEM;
	size_t before = (size_t)(certs.p - sd_c.p);
	memcpy(p, h_ci, n_ci);
	p += n_ci;
	memcpy(p, oid.p, oid.len);
	p += oid.len;
	memcpy(p, h_exp, n_exp);
	p += n_exp;
	memcpy(p, h_sd, n_sd);
	p += n_sd;
	memcpy(p, sd_c.p, before);
	p += before;
	memcpy(p, certs.p + certs.len, sd_c.len - before - certs.len);
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
