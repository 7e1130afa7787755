/* Fuzz target: TBSCertificate bytes through the DER-first lint
 * (x509_lint_leaf_tbs) of both hierarchies of the fixture's test-profile
 * roots, and through x509_cert_assemble.  Whatever the lint accepts must
 * be a certificate OpenSSL reads back as the same bytes and that the
 * object lint accepts too; every refusal carries a message.  Seeds
 * (tests/fuzz/corpus/fuzz_x509_tbs): a valid TBS of each kind and near
 * misses, written by tests/unit/test_x509_tbs.c. */
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/x509.h"
#include "validation_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static x509_issuer *iss[2];
static X509 *roots[2];

static void cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		x509_issuer_free(iss[i]);
		X509_free(roots[i]);
	}
}

static X509 *pem(const char *s)
{
	BIO *b = BIO_new_mem_buf(s, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

static void setup(void)
{
	static int done;
	jpki_err err = {0};
	if (done)
		return;
	roots[0] = pem(fx_sign_root_pem);
	roots[1] = pem(fx_auth_root_pem);
	if (x509_init(&err) != 0 ||
	    x509_issuer_new(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, roots[0],
			    &iss[0], &err) != 0 ||
	    x509_issuer_new(JPKI_PROFILE_TEST, JPKI_CERT_AUTH, roots[1],
			    &iss[1], &err) != 0)
		abort();
	atexit(cleanup);
	done = 1;
}

/* An accepted TBS, signed with junk: OpenSSL must read it, re-encode it
 * to the same bytes, and the object lint must agree. */
static void agree(jpki_cert_kind kind, const uint8_t *tbs, size_t len)
{
	static const uint8_t sig[256] = {0x5a};
	static uint8_t cert[X509_TBS_MAX + 1024];
	size_t cert_len = 0;
	jpki_err err = {0};
	if (x509_cert_assemble(tbs, len, sig, sizeof(sig), cert, sizeof(cert),
			       &cert_len, &err) != 0)
		abort();
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	unsigned char *re = NULL;
	int re_len = x != NULL ? i2d_re_X509_tbs(x, &re) : -1;
	if (x == NULL || p != cert + cert_len || re_len < 0 ||
	    (size_t)re_len != len || memcmp(re, tbs, len) != 0 ||
	    x509_lint_leaf(JPKI_PROFILE_TEST, kind, x, &err) != 0)
		abort();
	OPENSSL_free(re);
	X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[X509_TBS_MAX + 1024];
	static const uint8_t sig[300] = {1, 2, 3};
	setup();
	for (int i = 0; i < 2; i++) {
		jpki_err err = {0};
		int rc = x509_lint_leaf_tbs(iss[i], data, size, &err);
		if (rc == 0) {
			agree(i == 0 ? JPKI_CERT_SIGN : JPKI_CERT_AUTH, data,
			      size);
			continue;
		}
		if ((rc != JPKI_ERR_PARSE && rc != JPKI_ERR_LINT &&
		     rc != JPKI_ERR_KEY) ||
		    err.msg[0] == '\0')
			abort();
	}
	/* assembly: the input whole, or refused; never past the buffer */
	jpki_err err = {0};
	size_t len = 0;
	size_t sl = size % sizeof(sig) + 1;
	size_t cap = size % 2 == 0 ? sizeof(out) : size + 16;
	if (cap > sizeof(out))
		cap = sizeof(out);
	int rc = x509_cert_assemble(data, size, sig, sl, out, cap, &len, &err);
	if (rc != 0) {
		if (rc != JPKI_ERR_PARSE && rc != JPKI_ERR_RANGE)
			abort();
		return 0;
	}
	/* header, the TBS, 15 octets of AlgorithmIdentifier, BIT STRING */
	size_t bh = sl + 1 < 0x80 ? 2 : sl + 1 < 0x100 ? 3 : 4;
	size_t tail = 15 + bh + 1 + sl;
	if (len > cap || len < size + tail + 2 || out[0] != 0x30 ||
	    len - size - tail > 5 ||
	    memcmp(out + (len - size - tail), data, size) != 0 ||
	    memcmp(out + len - sl, sig, sl) != 0)
		abort();
	return 0;
}
