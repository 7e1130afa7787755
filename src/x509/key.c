/* Keys a JPKI certificate may carry: RSA (rsaEncryption) with a modulus of
 * 2048 to 4096 bits and public exponent 65537.  J-LIS uses RSA-2048 with
 * e=65537 for the roots and the card keys (spec §1.1-§1.3); the upper
 * bound keeps verification cost bounded (docs/decisions.md). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#include "x509_int.h"

#define KEY_BITS_MIN 2048
#define KEY_BITS_MAX 4096
#define KEY_BYTES_MAX (KEY_BITS_MAX / 8)

static int check_type_bits(EVP_PKEY *pub, jpki_err *err)
{
	if (pub == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no public key");
	/* the base id first: EVP_PKEY_is_a() looks the name up */
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA &&
	    !EVP_PKEY_is_a(pub, "RSA"))
		return jpki_fail(err, JPKI_ERR_KEY,
				 "key must be RSA (rsaEncryption), not %s",
				 EVP_PKEY_get0_type_name(pub) != NULL
				     ? EVP_PKEY_get0_type_name(pub)
				     : "unknown");
	int bits = EVP_PKEY_get_bits(pub);
	if (bits < KEY_BITS_MIN)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %d bits, at least %d required",
				 bits, KEY_BITS_MIN);
	if (bits > KEY_BITS_MAX)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %d bits, at most %d allowed",
				 bits, KEY_BITS_MAX);
	return 0;
}

static int check_e(const BIGNUM *e, jpki_err *err)
{
	if (BN_is_word(e, 65537))
		return 0;
	char *dec = BN_bn2dec(e);
	int rc = jpki_fail(err, JPKI_ERR_KEY,
			   "RSA public exponent is %s, must be 65537",
			   dec != NULL ? dec : "not 65537");
	OPENSSL_free(dec);
	return rc;
}

/* The native-endian unsigned integer an OSSL_PARAM BN holds (OpenSSL
 * pads it to the buffer's size) as a big-endian magnitude. */
static size_t native_to_be(const uint8_t *p, size_t n, uint8_t *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	size_t i = 0;
	while (i + 1 < n && p[i] == 0)
		i++;
	memcpy(out, p + i, n - i);
	return n - i;
#else
	size_t top = n;
	while (top > 1 && p[top - 1] == 0)
		top--;
	for (size_t i = 0; i < top; i++)
		out[i] = p[top - 1 - i];
	return top;
#endif
}

/* n and e as BIGNUMs, when the fast path's buffers did not fit (e over
 * 64 bits, which check_e then names). */
static int rsa_slow(EVP_PKEY *pub, x509i_rsa *k, jpki_err *err)
{
	BIGNUM *n = NULL;
	BIGNUM *e = NULL;
	int rc;
	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    BN_num_bytes(n) <= 0 || BN_num_bytes(n) > KEY_BYTES_MAX) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "reading the RSA public key");
		goto out;
	}
	if ((rc = check_e(e, err)) != 0)
		goto out;
	k->e[0] = 0x01;
	k->e[1] = 0x00;
	k->e[2] = 0x01;
	k->e_len = 3;
	k->n_len = (size_t)BN_bn2bin(n, k->n);
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

int x509i_rsa_get(EVP_PKEY *pub, x509i_rsa *k, jpki_err *err)
{
	unsigned char nb[KEY_BYTES_MAX];
	unsigned char eb[sizeof(k->e)];
	OSSL_PARAM p[3];
	int rc;
	if ((rc = check_type_bits(pub, err)) != 0)
		return rc;
	/* n in a buffer of exactly its size and e in 8 octets, in one
	 * request: OpenSSL pads each number to its buffer, and a BIGNUM
	 * per number (EVP_PKEY_get_bn_param) costs an allocation more */
	int size = EVP_PKEY_get_size(pub);
	if (size <= 0 || size > KEY_BYTES_MAX)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "reading the RSA public key");
	p[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, eb, sizeof(eb));
	p[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nb, (size_t)size);
	p[2] = OSSL_PARAM_construct_end();
	if (!EVP_PKEY_get_params(pub, p) || p[0].return_size != sizeof(eb) ||
	    p[1].return_size != (size_t)size) {
		ERR_clear_error();
		return rsa_slow(pub, k, err);
	}
	k->e_len = native_to_be(eb, sizeof(eb), k->e);
	if (k->e_len != 3 || k->e[0] != 0x01 || k->e[1] != 0x00 ||
	    k->e[2] != 0x01) {
		BIGNUM *e = BN_bin2bn(k->e, (int)k->e_len, NULL);
		rc = e != NULL
			 ? check_e(e, err)
			 : jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		BN_free(e);
		return rc;
	}
	k->n_len = native_to_be(nb, (size_t)size, k->n);
	return 0;
}

int x509_check_key(EVP_PKEY *pub, jpki_err *err)
{
	x509i_rsa k;
	return x509i_rsa_get(pub, &k, err);
}

void x509i_dw_rsa(x509i_dw *w, const x509i_rsa *k)
{
	size_t mark = w->len;
	x509i_dw_uint(w, k->e, k->e_len);
	x509i_dw_uint(w, k->n, k->n_len);
	x509i_dw_wrap(w, X509I_TAG_SEQ, mark);
}

int x509i_set_pubkey(X509 *x, EVP_PKEY *pub, jpki_err *err)
{
	x509i_rsa k;
	EVP_PKEY *legacy = NULL;
	uint8_t buf[X509I_RSA_DER_MAX];
	const uint8_t *der = NULL;
	size_t len = 0;
	x509i_dw w;
	int rc;
	if ((rc = x509i_rsa_get(pub, &k, err)) != 0)
		return rc;
	if (EVP_PKEY_get0_provider(pub) == NULL) {
		/* an ameth-backed key: OpenSSL encodes it cheaply itself */
		if (!X509_set_pubkey(x, pub))
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "setting the public key");
		return 0;
	}
	/* X509_set_pubkey() of a provider key runs OpenSSL's encoder and
	 * then its decoder, about 0.2 ms (OpenSSL 3.0).  The same
	 * RSAPublicKey read back with d2i_PublicKey() is an ameth-backed key
	 * whose SubjectPublicKeyInfo (rsaEncryption, NULL parameters, RFC
	 * 3279 2.3.1) OpenSSL writes in about a microsecond, byte for byte
	 * what the encoder writes, and it stays equal to `pub`. */
	x509i_dw_init(&w, buf, sizeof(buf));
	x509i_dw_rsa(&w, &k);
	if ((der = x509i_dw_data(&w, &len)) == NULL)
		return jpki_fail(err, JPKI_ERR_RANGE, "RSA key too long");
	const unsigned char *p = der;
	if ((legacy = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len)) ==
		NULL ||
	    p != der + len || !X509_set_pubkey(x, legacy)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "setting the public key");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(legacy);
	return rc;
}

/* A DER INTEGER's content that is positive and minimally encoded
 * (X.690 8.3.2); *sig and *sig_len are its magnitude. */
static bool positive_int(const jpki_rbuf *c, const uint8_t **sig,
			 size_t *sig_len)
{
	const uint8_t *d = c->p;
	size_t len = c->len;
	if (len == 0 || (d[0] & 0x80) != 0)
		return false;
	if (d[0] == 0) {
		if (len == 1 || (d[1] & 0x80) == 0)
			return false;
		d++;
		len--;
	}
	*sig = d;
	*sig_len = len;
	return true;
}

int x509i_check_spki(const jpki_rbuf *spki, jpki_rbuf *key, jpki_err *err)
{
	const x509i_tables *t = NULL;
	const uint8_t *n = NULL;
	const uint8_t *e = NULL;
	size_t n_len = 0;
	size_t e_len = 0;
	jpki_rbuf r;
	jpki_rbuf s;
	jpki_rbuf alg;
	jpki_rbuf alg_tlv;
	jpki_rbuf oid;
	jpki_rbuf oid_tlv;
	jpki_rbuf bits;
	jpki_rbuf k;
	jpki_rbuf seq;
	jpki_rbuf in;
	jpki_rbuf ie;
	char name[80];
	int rc;
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
	 * subjectPublicKey BIT STRING } (RFC 5280 4.1) */
	r = *spki;
	if (jpki_der_get(&r, X509I_TAG_SEQ, &s) != 0 ||
	    jpki_rbuf_end(&r) != 0 ||
	    jpki_der_get_whole(&s, X509I_TAG_SEQ, &alg, &alg_tlv) != 0 ||
	    jpki_der_get(&s, X509I_TAG_BITS, &bits) != 0 ||
	    jpki_rbuf_end(&s) != 0)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "unreadable subjectPublicKeyInfo");
	if (!jpki_der_is(&alg_tlv, t->rsa_alg, t->rsa_alg_len)) {
		if (jpki_der_get_whole(&alg, X509I_TAG_OID, &oid, &oid_tlv) !=
		    0)
			return jpki_fail(err, JPKI_ERR_KEY,
					 "unreadable subjectPublicKeyInfo");
		if (!x509i_oid_is(&t->rsa_enc, oid.p, oid.len)) {
			x509i_oid_text(&oid_tlv, true, name, sizeof(name));
			return jpki_fail(err, JPKI_ERR_KEY,
					 "key must be RSA (rsaEncryption), "
					 "not %s",
					 name);
		}
		return jpki_fail(err, JPKI_ERR_KEY,
				 "rsaEncryption parameters must be NULL "
				 "(RFC 3279 2.3.1)");
	}
	/* a whole number of octets: the first says 0 unused bits */
	if (bits.len < 2 || bits.p[0] != 0)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "unreadable subjectPublicKeyInfo");
	jpki_rbuf_init(&k, bits.p + 1, bits.len - 1);
	/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
	 * INTEGER } (RFC 8017 A.1.1), nothing after it */
	r = k;
	if (jpki_der_get(&r, X509I_TAG_SEQ, &seq) != 0 ||
	    jpki_rbuf_end(&r) != 0 ||
	    jpki_der_get(&seq, X509I_TAG_INT, &in) != 0 ||
	    jpki_der_get(&seq, X509I_TAG_INT, &ie) != 0 ||
	    jpki_rbuf_end(&seq) != 0 || !positive_int(&in, &n, &n_len) ||
	    !positive_int(&ie, &e, &e_len))
		return jpki_fail(err, JPKI_ERR_KEY,
				 "unreadable subjectPublicKeyInfo");
	int top = 0;
	for (uint8_t b = n[0]; b != 0; b >>= 1)
		top++;
	size_t nbits = (n_len - 1) * 8 + (size_t)top;
	if (nbits < KEY_BITS_MIN)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %zu bits, at least %d required",
				 nbits, KEY_BITS_MIN);
	if (nbits > KEY_BITS_MAX)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %zu bits, at most %d allowed",
				 nbits, KEY_BITS_MAX);
	if (e_len != 3 || e[0] != 0x01 || e[1] != 0x00 || e[2] != 0x01) {
		BIGNUM *bn = e_len <= KEY_BYTES_MAX
				 ? BN_bin2bn(e, (int)e_len, NULL)
				 : NULL;
		rc = bn != NULL ? check_e(bn, err)
				: jpki_fail(err, JPKI_ERR_KEY,
					    "RSA public exponent must be "
					    "65537");
		BN_free(bn);
		return rc;
	}
	*key = k;
	return 0;
}
