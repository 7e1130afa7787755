/* Keys a JPKI certificate may carry: RSA (rsaEncryption) with a modulus of
 * 2048 to 4096 bits and public exponent 65537.  J-LIS uses RSA-2048 with
 * e=65537 for the roots and the card keys (spec §1.1-§1.3); the upper
 * bound keeps verification cost bounded (docs/decisions.md). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "x509_int.h"

#define KEY_BITS_MIN 2048
#define KEY_BITS_MAX 4096

int x509_check_key(EVP_PKEY *pub, jpki_err *err)
{
	BIGNUM *e = NULL;
	int rc;
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
	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e)) {
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "reading the RSA exponent");
		goto out;
	}
	if (!BN_is_word(e, 65537)) {
		char *dec = BN_bn2dec(e);
		rc = jpki_fail(err, JPKI_ERR_KEY,
			       "RSA public exponent is %s, must be 65537",
			       dec != NULL ? dec : "not 65537");
		OPENSSL_free(dec);
		goto out;
	}
	rc = 0;
out:
	BN_free(e);
	return rc;
}
