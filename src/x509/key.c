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
	if (!EVP_PKEY_is_a(pub, "RSA"))
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

/* n (when wanted) and e of a key check_type_bits accepted, in one
 * parameter request: EVP_PKEY_get_bn_param() costs one request and a
 * 2 KiB scratch buffer per number. */
static int rsa_numbers(EVP_PKEY *pub, BIGNUM **n, BIGNUM **e, jpki_err *err)
{
	unsigned char nb[KEY_BYTES_MAX];
	unsigned char eb[KEY_BYTES_MAX];
	OSSL_PARAM p[3];
	BIGNUM *bn_n = NULL;
	BIGNUM *bn_e = NULL;
	size_t i = 0;
	p[i++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, eb, sizeof(eb));
	if (n != NULL)
		p[i++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nb,
						 sizeof(nb));
	p[i] = OSSL_PARAM_construct_end();
	if (!EVP_PKEY_get_params(pub, p) || !OSSL_PARAM_get_BN(&p[0], &bn_e) ||
	    (n != NULL && !OSSL_PARAM_get_BN(&p[1], &bn_n))) {
		BN_free(bn_e);
		BN_free(bn_n);
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "reading the RSA public key");
	}
	if (n != NULL)
		*n = bn_n;
	*e = bn_e;
	return 0;
}

int x509_check_key(EVP_PKEY *pub, jpki_err *err)
{
	BIGNUM *e = NULL;
	int rc;
	if ((rc = check_type_bits(pub, err)) != 0 ||
	    (rc = rsa_numbers(pub, NULL, &e, err)) != 0)
		return rc;
	rc = check_e(e, err);
	BN_free(e);
	return rc;
}

/* INTEGER of a non-negative BIGNUM, in front of what w holds. */
static void put_integer(x509i_dw *w, const BIGNUM *v)
{
	unsigned char b[KEY_BYTES_MAX + 1];
	int len = BN_num_bytes(v);
	size_t mark = w->len;
	if (len < 0 || (size_t)len > KEY_BYTES_MAX) {
		w->over = true;
		return;
	}
	b[0] = 0;
	BN_bn2bin(v, b + 1);
	/* X.690 8.3.2: a leading zero octet only before a set top bit */
	bool pad = len == 0 || (b[1] & 0x80) != 0;
	x509i_dw_put(w, pad ? b : b + 1, (size_t)len + (pad ? 1 : 0));
	x509i_dw_wrap(w, X509I_TAG_INT, mark);
}

int x509i_set_pubkey(X509 *x, EVP_PKEY *pub, jpki_err *err)
{
	BIGNUM *n = NULL;
	BIGNUM *e = NULL;
	EVP_PKEY *legacy = NULL;
	uint8_t buf[KEY_BYTES_MAX + 64];
	const uint8_t *der = NULL;
	size_t len = 0;
	x509i_dw w;
	int rc;
	if ((rc = check_type_bits(pub, err)) != 0)
		return rc;
	if (EVP_PKEY_get0_provider(pub) == NULL) {
		/* an ameth-backed key: OpenSSL encodes it cheaply itself */
		if ((rc = x509_check_key(pub, err)) != 0)
			return rc;
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
	if ((rc = rsa_numbers(pub, &n, &e, err)) != 0 ||
	    (rc = check_e(e, err)) != 0)
		goto out;
	x509i_dw_init(&w, buf, sizeof(buf));
	put_integer(&w, e);
	put_integer(&w, n);
	x509i_dw_wrap(&w, X509I_TAG_SEQ, 0);
	if ((der = x509i_dw_data(&w, &len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "RSA key too long");
		goto out;
	}
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
	BN_free(n);
	BN_free(e);
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

int x509i_check_spki(X509 *cert, jpki_err *err)
{
	X509_PUBKEY *xpk = X509_get_X509_PUBKEY(cert);
	ASN1_OBJECT *alg = NULL;
	const unsigned char *pk = NULL;
	int pk_len = 0;
	X509_ALGOR *palg = NULL;
	int ptype = V_ASN1_UNDEF;
	const uint8_t *n = NULL;
	const uint8_t *e = NULL;
	size_t n_len = 0;
	size_t e_len = 0;
	jpki_rbuf r;
	jpki_rbuf seq;
	jpki_rbuf in;
	jpki_rbuf ie;
	char oid[80];
	if (xpk == NULL ||
	    !X509_PUBKEY_get0_param(&alg, &pk, &pk_len, &palg, xpk) ||
	    pk == NULL || pk_len <= 0) {
		ERR_clear_error();
		return jpki_fail(err, JPKI_ERR_KEY,
				 "unreadable subjectPublicKeyInfo");
	}
	if (OBJ_obj2nid(alg) != NID_rsaEncryption) {
		const char *sn = OBJ_nid2sn(OBJ_obj2nid(alg));
		if (sn == NULL && OBJ_obj2txt(oid, sizeof(oid), alg, 1) > 0)
			sn = oid;
		return jpki_fail(err, JPKI_ERR_KEY,
				 "key must be RSA (rsaEncryption), not %s",
				 sn != NULL ? sn : "unknown");
	}
	X509_ALGOR_get0(NULL, &ptype, NULL, palg);
	if (ptype != V_ASN1_NULL)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "rsaEncryption parameters must be NULL "
				 "(RFC 3279 2.3.1)");
	/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
	 * INTEGER } (RFC 8017 A.1.1), nothing after it */
	jpki_rbuf_init(&r, pk, (size_t)pk_len);
	if (x509i_tlv(&r, X509I_TAG_SEQ, &seq) != 0 || jpki_rbuf_end(&r) != 0 ||
	    x509i_tlv(&seq, X509I_TAG_INT, &in) != 0 ||
	    x509i_tlv(&seq, X509I_TAG_INT, &ie) != 0 ||
	    jpki_rbuf_end(&seq) != 0 || !positive_int(&in, &n, &n_len) ||
	    !positive_int(&ie, &e, &e_len))
		return jpki_fail(err, JPKI_ERR_KEY,
				 "unreadable subjectPublicKeyInfo");
	int top = 0;
	for (uint8_t b = n[0]; b != 0; b >>= 1)
		top++;
	size_t bits = (n_len - 1) * 8 + (size_t)top;
	if (bits < KEY_BITS_MIN)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %zu bits, at least %d required",
				 bits, KEY_BITS_MIN);
	if (bits > KEY_BITS_MAX)
		return jpki_fail(err, JPKI_ERR_KEY,
				 "RSA key has %zu bits, at most %d allowed",
				 bits, KEY_BITS_MAX);
	if (e_len != 3 || e[0] != 0x01 || e[1] != 0x00 || e[2] != 0x01) {
		BIGNUM *bn = e_len <= KEY_BYTES_MAX
				 ? BN_bin2bn(e, (int)e_len, NULL)
				 : NULL;
		int rc = bn != NULL ? check_e(bn, err)
				    : jpki_fail(err, JPKI_ERR_KEY,
						"RSA public exponent must be "
						"65537");
		BN_free(bn);
		return rc;
	}
	return 0;
}
