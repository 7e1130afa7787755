/* HTTP for CRLs and OCSP (RFC 6960 Appendix A.1), through OpenSSL's
 * client.  Plain http:// only: CRLs and OCSP responses are signed, and
 * J-LIS publishes over HTTP or LDAP (spec §2.2).  Proxies follow the
 * http_proxy / no_proxy environment, as OpenSSL does.  Bodies are capped
 * and must be one DER object. */
#include <openssl/err.h>
#include <openssl/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "val_int.h"

bool vali_is_http(const char *s)
{
	return s != NULL && strncasecmp(s, "http://", 7) == 0;
}

/* What OpenSSL's HTTP client said last (connection refused, timeout,
 * status code, content type). */
static const char *why_failed(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());
	return r != NULL ? r : "no answer";
}

/* Read the whole body of b, at most max bytes. */
static int drain(BIO *b, size_t max, uint8_t **out, size_t *out_len,
		 jpki_err *err)
{
	char *p = NULL;
	long len = BIO_get_mem_data(b, &p);
	uint8_t *copy;
	if (len <= 0 || p == NULL)
		return jpki_fail(err, JPKI_ERR_PARSE, "empty HTTP response");
	if ((size_t)len > max)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "HTTP response over %zu bytes", max);
	if ((copy = malloc((size_t)len)) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	memcpy(copy, p, (size_t)len);
	*out = copy;
	*out_len = (size_t)len;
	return 0;
}

int vali_http_get(const char *url, size_t max, int timeout, uint8_t **out,
		  size_t *out_len, jpki_err *err)
{
	BIO *body = NULL;
	int rc;
	if (!vali_is_http(url))
		return jpki_fail(err, JPKI_ERR_INVAL, "%s: not an http:// URL",
				 url);
	body = OSSL_HTTP_get(url, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
			     NULL, 1, max, timeout);
	if (body == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO, "GET %s failed: %s", url,
			       why_failed());
		ERR_clear_error();
		return rc;
	}
	rc = drain(body, max, out, out_len, err);
	BIO_free(body);
	return rc;
}

int vali_http_post(const char *url, const char *ctype, const uint8_t *body,
		   size_t n, const char *expect_ctype, size_t max, int timeout,
		   uint8_t **out, size_t *out_len, jpki_err *err)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int ssl = 0;
	BIO *req = NULL, *resp = NULL;
	int rc;
	if (!vali_is_http(url))
		return jpki_fail(err, JPKI_ERR_INVAL, "%s: not an http:// URL",
				 url);
	if (n > INT32_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "request too large");
	if (!OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path,
				 NULL, NULL) ||
	    ssl) {
		rc = jpki_fail(err, JPKI_ERR_INVAL, "%s: malformed URL", url);
		goto out;
	}
	if ((req = BIO_new_mem_buf(body, (int)n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL,
				  NULL, NULL, NULL, 0, NULL, ctype, req,
				  expect_ctype, 1, max, timeout, 0);
	if (resp == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO, "POST %s failed: %s", url,
			       why_failed());
		goto out;
	}
	rc = drain(resp, max, out, out_len, err);
out:
	ERR_clear_error();
	BIO_free(resp);
	BIO_free(req);
	OPENSSL_free(path);
	OPENSSL_free(port);
	OPENSSL_free(host);
	return rc;
}
