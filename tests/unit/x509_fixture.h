/* Shared by the tests/unit/test_x509*.c tests (include after cmocka.h):
 * fixed instants and keys as a card or a request gives them. */
#ifndef OPENJPKI_TEST_X509_FIXTURE_H
#define OPENJPKI_TEST_X509_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "openjpki/date.h"

/* An instant from "YYYY-MM-DD" or an RFC 3339 time; fails the test if bad. */
static inline time_t at(const char *s)
{
	time_t t = 0;
	assert_int_equal(jpki_time_parse(s, &t), 0);
	return t;
}

/* A public-only copy of k, as a key read from a card or a request. */
static inline EVP_PKEY *public_only(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);
	const unsigned char *p = der;
	assert_true(len > 0);
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
	assert_non_null(pub);
	OPENSSL_free(der);
	return pub;
}

#endif
