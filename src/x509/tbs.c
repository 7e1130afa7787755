/* The DER-first issuing path (docs/design.md, "Issuance cost"): a leaf's
 * TBSCertificate (RFC 5280 4.1) written directly from the checked inputs
 * and the tables, and the Certificate around it once the CA has signed
 * it.  The bytes are what the object builders' certificate encodes to
 * once X509_sign() has set the algorithm (tests/unit/test_x509_tbs.c);
 * the extension values come from the functions the object builders use.
 * The writer goes from the end (tlv.c), so the fields below are written
 * last first. */
#include <openssl/crypto.h>
#include <string.h>

#include "x509_int.h"

/* A signature of RSA-4096 at most (key.c). */
#define SIG_MAX X509I_RSA_BYTES_MAX

/* The extension `i` of the tables around the value written since mark. */
static void ext(x509i_dw *w, const x509i_tables *t, size_t mark, int i,
		bool critical)
{
	x509i_dw_ext(w, mark, t->ext[i].der, t->ext[i].len, critical);
}

int x509i_tbs_write(const x509_issuer *iss, const x509i_leaf_in *in,
		    uint8_t *out, size_t out_cap, size_t *out_len,
		    jpki_err *err)
{
	static const uint8_t v3[] = {X509I_TAG_CTX0_CONS, 3, X509I_TAG_INT, 1,
				     2};
	static const uint8_t ski_hdr[] = {X509I_TAG_OCTETS, 20};
	static const uint8_t no_unused_bits = 0;
	const x509i_tables *t = NULL;
	const x509i_hier *h = iss->h;
	bool sign = h->kind == JPKI_CERT_SIGN;
	x509i_rsa key;
	const uint8_t *sn = NULL;
	size_t sn_len = 0;
	uint8_t kbuf[X509I_RSA_DER_MAX];
	const uint8_t *kder = NULL;
	size_t klen = 0;
	uint8_t ski[20];
	uint8_t tm[X509I_TIME_DER_MAX];
	uint8_t buf[X509_TBS_MAX];
	x509i_dw kw;
	x509i_dw w;
	size_t m;
	int rc;
	x509i_dw_init(&w, buf, sizeof(buf));
	/* the checks of x509i_cert_new, in its order */
	if ((rc = x509i_tables_get(&t, err)) != 0 ||
	    (rc = x509i_validity_check(in->nb, in->na, err)) != 0 ||
	    (rc = x509i_rsa_get(in->pub, &key, err)) != 0 ||
	    (rc = x509i_serial_octets(in->serial, in->serial_len, &sn, &sn_len,
				      err)) != 0)
		goto out;
	/* the RSAPublicKey first: the SKI, written before it, hashes it */
	x509i_dw_init(&kw, kbuf, sizeof(kbuf));
	x509i_dw_rsa(&kw, &key);
	if ((kder = x509i_dw_data(&kw, &klen)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "RSA key too long");
		goto out;
	}
	if ((rc = x509i_sha1(kder, klen, ski, err)) != 0)
		goto out;

	/* extensions [3] EXPLICIT SEQUENCE { keyUsage, certificatePolicies,
	 * subjectAltName (signature certificate), cRLDistributionPoints,
	 * authorityKeyIdentifier, subjectKeyIdentifier } */
	m = w.len;
	x509i_dw_put(&w, ski, sizeof(ski));
	x509i_dw_put(&w, ski_hdr, sizeof(ski_hdr));
	ext(&w, t, m, X509I_EXT_SKI, false);
	m = w.len;
	x509i_dw_put(&w, iss->aki, iss->aki_len);
	ext(&w, t, m, X509I_EXT_AKI, false);
	m = w.len;
	if ((rc = x509i_put_crldp(&w, h, in->site, err)) != 0)
		goto out;
	ext(&w, t, m, X509I_EXT_CRLDP, false);
	if (sign) {
		m = w.len;
		if ((rc = x509i_put_basic4_san(&w, in->b4, err)) != 0)
			goto out;
		ext(&w, t, m, X509I_EXT_SAN, false);
	}
	m = w.len;
	x509i_dw_put(&w, h->cp, h->cp_len);
	ext(&w, t, m, X509I_EXT_CP, true);
	m = w.len;
	x509i_dw_put(&w, h->ku, h->ku_len);
	ext(&w, t, m, X509I_EXT_KU, true);
	x509i_dw_wrap(&w, X509I_TAG_SEQ, 0);
	x509i_dw_wrap(&w, X509I_TAG_CTX3_CONS, 0);

	/* subjectPublicKeyInfo { rsaEncryption NULL, BIT STRING } */
	m = w.len;
	x509i_dw_put(&w, kder, klen);
	x509i_dw_put(&w, &no_unused_bits, 1);
	x509i_dw_wrap(&w, X509I_TAG_BITS, m);
	x509i_dw_put(&w, t->rsa_alg, t->rsa_alg_len);
	x509i_dw_wrap(&w, X509I_TAG_SEQ, m);

	/* subject: C=JP, [L=pref, L=city,] CN, the string types of
	 * x509_*_cert_build (x509i_name_add) */
	m = w.len;
	x509i_dw_rdn(&w, t->at_cn.der, t->at_cn.len, X509I_TAG_UTF8, in->cn,
		     strlen(in->cn));
	if (sign) {
		x509i_dw_rdn(&w, t->at_l.der, t->at_l.len, X509I_TAG_UTF8,
			     in->site->city_roman,
			     strlen(in->site->city_roman));
		x509i_dw_rdn(&w, t->at_l.der, t->at_l.len, X509I_TAG_UTF8,
			     in->site->pref_roman,
			     strlen(in->site->pref_roman));
	}
	x509i_dw_rdn(&w, t->at_c.der, t->at_c.len, X509I_TAG_PRINTABLE, "JP",
		     2);
	x509i_dw_wrap(&w, X509I_TAG_SEQ, m);

	/* validity, issuer, signature, serialNumber, version */
	m = w.len;
	x509i_dw_put(&w, tm, x509i_time_der(in->na, tm));
	x509i_dw_put(&w, tm, x509i_time_der(in->nb, tm));
	x509i_dw_wrap(&w, X509I_TAG_SEQ, m);
	x509i_dw_put(&w, h->root_dn, h->root_dn_len);
	x509i_dw_put(&w, t->sig_alg, t->sig_alg_len);
	x509i_dw_uint(&w, sn, sn_len);
	x509i_dw_put(&w, v3, sizeof(v3));
	x509i_dw_wrap(&w, X509I_TAG_SEQ, 0);

	size_t len = 0;
	const uint8_t *der = x509i_dw_data(&w, &len);
	if (der == NULL || len > out_cap) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "TBSCertificate does not fit in %zu bytes",
			       out_cap);
		goto out;
	}
	memcpy(out, der, len);
	*out_len = len;
	rc = 0;
out:
	/* the basic-4 data is personal (as the caller's jpki_basic4) */
	OPENSSL_cleanse(buf + w.cap - w.len, w.len);
	return rc;
}

int x509_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
		       size_t sig_len, uint8_t *out, size_t out_cap,
		       size_t *out_len, jpki_err *err)
{
	const x509i_tables *t = NULL;
	uint8_t cert_hdr[X509I_HDR_MAX];
	uint8_t bits_hdr[X509I_HDR_MAX];
	jpki_rbuf r;
	jpki_rbuf c;
	int rc;
	if (tbs == NULL || sig == NULL || out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate assembly: bad argument");
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	if (sig_len == 0 || sig_len > SIG_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "signature of %zu bytes (1-%d allowed)",
				 sig_len, SIG_MAX);
	/* one DER SEQUENCE of what the writer above writes at most */
	jpki_rbuf_init(&r, tbs, tbs_len);
	if (tbs_len > X509_TBS_MAX ||
	    jpki_der_get(&r, X509I_TAG_SEQ, &c) != 0 || jpki_rbuf_end(&r) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "TBSCertificate is not one DER SEQUENCE of "
				 "at most %d bytes",
				 X509_TBS_MAX);
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 4.1.1), the BIT STRING's
	 * first octet saying 0 unused bits */
	size_t bh = x509i_der_hdr(X509I_TAG_BITS, sig_len + 1, bits_hdr);
	size_t body = tbs_len + t->sig_alg_len + bh + 1 + sig_len;
	size_t ch = x509i_der_hdr(X509I_TAG_SEQ, body, cert_hdr);
	if (ch + body > out_cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "certificate of %zu bytes does not fit in %zu",
				 ch + body, out_cap);
	uint8_t *p = out;
	memcpy(p, cert_hdr, ch);
	p += ch;
	memcpy(p, tbs, tbs_len);
	p += tbs_len;
	memcpy(p, t->sig_alg, t->sig_alg_len);
	p += t->sig_alg_len;
	memcpy(p, bits_hdr, bh);
	p += bh;
	*p++ = 0;
	memcpy(p, sig, sig_len);
	*out_len = ch + body;
	return 0;
}
