/* Certificates to and from bytes.  Input is untrusted: bounded in size,
 * exactly one certificate, trailing bytes refused. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "x509_int.h"

/* Far above any JPKI certificate (about 1.5 KB), far below trouble. */
#define CERT_DER_MAX (64 * 1024)
#define CERT_PEM_MAX (CERT_DER_MAX * 2)

int x509_to_der(X509 *c, uint8_t **out, size_t *out_len, jpki_err *err)
{
	unsigned char *der = NULL;
	unsigned char *p;
	int len;
	if (c == NULL || out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "DER: bad argument");
	if ((len = i2d_X509(c, NULL)) <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "encoding a certificate");
	if ((der = malloc((size_t)len)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	p = der;
	if (i2d_X509(c, &p) != len) {
		free(der);
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "encoding a certificate");
	}
	*out = der;
	*out_len = (size_t)len;
	return 0;
}

int x509_from_der(const uint8_t *p, size_t len, X509 **out, jpki_err *err)
{
	const unsigned char *q = p;
	X509 *x = NULL;
	if (p == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "DER: bad argument");
	if (len == 0 || len > CERT_DER_MAX)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "certificate of %zu bytes (1-%d allowed)", len,
				 CERT_DER_MAX);
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL) {
		ERR_clear_error();
		return jpki_fail(err, JPKI_ERR_PARSE, "malformed certificate");
	}
	if (q != p + len) {
		X509_free(x);
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "%zu bytes after the certificate",
				 (size_t)(p + len - q));
	}
	*out = x;
	return 0;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int x509_from_bytes(const uint8_t *p, size_t len, X509 **out, jpki_err *err)
{
	static const char begin[] = "-----BEGIN ";
	BIO *bio = NULL;
	X509 *x = NULL;
	char *name = NULL;
	char *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	size_t off = 0;
	char rest[64];
	int rc;
	if (p == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate: bad argument");
	while (off < len && is_space(p[off]))
		off++;
	if (len - off < sizeof(begin) - 1 ||
	    memcmp(p + off, begin, sizeof(begin) - 1) != 0)
		return x509_from_der(p, len, out, err);
	if (len > CERT_PEM_MAX)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "PEM certificate over %d bytes", CERT_PEM_MAX);
	if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!PEM_read_bio(bio, &name, &header, &data, &dlen) || dlen < 0) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_PARSE, "malformed PEM");
		goto out;
	}
	/* RFC 7468 section 5, and the label OpenSSL also writes */
	if (strcmp(name, PEM_STRING_X509) != 0 &&
	    strcmp(name, PEM_STRING_X509_OLD) != 0) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "PEM block is not a certificate");
		goto out;
	}
	/* only white space may follow the END line */
	for (int n; (n = BIO_read(bio, rest, (int)sizeof(rest))) > 0;) {
		for (int i = 0; i < n; i++) {
			if (!is_space((uint8_t)rest[i])) {
				rc = jpki_fail(err, JPKI_ERR_PARSE,
					       "data after the PEM "
					       "certificate");
				goto out;
			}
		}
	}
	if ((rc = x509_from_der(data, (size_t)dlen, &x, err)) != 0)
		goto out;
	*out = x;
	x = NULL; /* transferred */
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	X509_free(x);
	BIO_free(bio);
	return rc;
}
