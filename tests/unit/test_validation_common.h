/* Shared fixture of the tests/unit/test_validation*.c tests: a small PKI
 * built with the x509/ builders and OpenSSL (roots of both hierarchies,
 * a second generation of the signature root with the same DN, leaves,
 * CRLs, OCSP responses, CMS documents). */
#ifndef OPENJPKI_TEST_VALIDATION_COMMON_H
#define OPENJPKI_TEST_VALIDATION_COMMON_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openjpki/validation.h"
#include "openjpki/x509.h"

static const jpki_issuer_site fx_site = {"Tokyo-to", "Kiyose-shi", "ABC123XYZ"};
static const jpki_issuer_site fx_site2 = {"Tokyo-to", "Chiyoda-ku",
					  "DEF456UVW"};

static inline time_t fx_at(const char *s)
{
	time_t t = 0;
	assert_int_equal(jpki_time_parse(s, &t), 0);
	return t;
}

/* The instant the fixtures are judged at: inside every validity and the
 * CRLs' and OCSP answers' windows. */
#define FX_NOW "2025-03-02T00:00:00Z"

static inline X509 *fx_root(jpki_profile prof, jpki_cert_kind kind,
			    EVP_PKEY *key, uint8_t serial, const char *nb)
{
	X509 *x = NULL;
	jpki_err err = {0};
	const uint8_t sn[] = {serial};
	if (x509_root_build(prof, kind, key, sn, 1, fx_at(nb), &x, &err) != 0)
		fail_msg("root: %s", err.msg);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static inline X509 *fx_sign_leaf_site(jpki_profile prof, X509 *issuer,
				      EVP_PKEY *ikey, EVP_PKEY *pub,
				      uint8_t serial,
				      const jpki_issuer_site *site)
{
	X509 *x = NULL;
	jpki_err err = {0};
	const uint8_t sn[] = {serial};
	jpki_sign_subject subj = {
	    .name = "山田　太郎",
	    .address = "東京都清瀬市上清戸１丁目２番３号",
	    .sex = 1,
	    .birth = {1980, 12, 31},
	    .requested = fx_at("2025-02-01T00:00:00Z"),
	    .sequence = serial,
	    .site = site,
	};
	if (x509_sign_cert_build(
		prof, issuer, &subj, pub, sn, 1, fx_at("2025-02-01T00:00:00Z"),
		jpki_date_end((jpki_date){2030, 1, 31}), &x, &err) != 0)
		fail_msg("sign leaf: %s", err.msg);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static inline X509 *fx_sign_leaf(jpki_profile prof, X509 *issuer,
				 EVP_PKEY *ikey, EVP_PKEY *pub, uint8_t serial)
{
	return fx_sign_leaf_site(prof, issuer, ikey, pub, serial, &fx_site);
}

static inline X509 *fx_auth_leaf(jpki_profile prof, X509 *issuer,
				 EVP_PKEY *ikey, EVP_PKEY *pub, uint8_t serial)
{
	X509 *x = NULL;
	jpki_err err = {0};
	const uint8_t sn[] = {serial};
	if (x509_auth_cert_build(prof, issuer, "0123456789ABCDEF", &fx_site,
				 pub, sn, 1, fx_at("2025-02-01T00:00:00Z"),
				 jpki_date_end((jpki_date){2030, 1, 31}), &x,
				 &err) != 0)
		fail_msg("auth leaf: %s", err.msg);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

/* A signed partition CRL (site's partition, or the full CRL when site is
 * NULL) listing `n` serials, revoked at `when` with `reason`. */
static inline X509_CRL *fx_crl(jpki_profile prof, jpki_cert_kind kind,
			       X509 *root, EVP_PKEY *key,
			       const jpki_issuer_site *site,
			       const uint8_t *serials, size_t n,
			       jpki_reason reason, const char *when,
			       const char *this_upd, const char *next_upd)
{
	X509_NAME *part = NULL;
	X509_CRL *crl = NULL;
	jpki_err err = {0};
	jpki_crl_entry e[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		e[i] = (jpki_crl_entry){&serials[i], 1, fx_at(when), reason};
	if (site != NULL)
		assert_int_equal(x509_crldp_name(prof, kind, site, &part, &err),
				 0);
	if (x509_crl_build(root, part, false, e, n, fx_at(this_upd),
			   fx_at(next_upd), 1, &crl, &err) != 0)
		fail_msg("crl: %s", err.msg);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	X509_NAME_free(part);
	return crl;
}

/* Write DER of a CRL into a temporary file; path into out. */
static inline void fx_crl_file(X509_CRL *crl, char out[64])
{
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	snprintf(out, 64, "/tmp/jpki-val-crl-XXXXXX");
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, der, (size_t)len), len);
	close(fd);
	OPENSSL_free(der);
}

/* The CRL distribution point DirName key text of a partition. */
static inline void fx_dp_text(jpki_profile prof, jpki_cert_kind kind,
			      const jpki_issuer_site *site, char *out,
			      size_t cap)
{
	X509_NAME *n = NULL;
	jpki_err err = {0};
	BIO *b = BIO_new(BIO_s_mem());
	assert_int_equal(x509_crldp_name(prof, kind, site, &n, &err), 0);
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int len = BIO_read(b, out, (int)cap - 1);
	assert_true(len > 0);
	out[len] = '\0';
	BIO_free(b);
	X509_NAME_free(n);
}

/* OCSP: a lookup answering REVOKED for serials in the context's list
 * (keyCompromise at 2025-02-20), GOOD otherwise. */
typedef struct fx_ocsp_ctx {
	const uint8_t *revoked;
	size_t n;
} fx_ocsp_ctx;

static inline int fx_ocsp_lookup(void *vctx, const uint8_t *serial,
				 size_t serial_len, jpki_ocsp_status *st,
				 jpki_err *err)
{
	fx_ocsp_ctx *c = vctx;
	(void)err;
	memset(st, 0, sizeof(*st));
	st->status = V_OCSP_CERTSTATUS_GOOD;
	for (size_t i = 0; i < c->n; i++) {
		if (serial_len == 1 && serial[0] == c->revoked[i]) {
			st->status = V_OCSP_CERTSTATUS_REVOKED;
			st->revoked_at = fx_at("2025-02-20T00:00:00Z");
			st->reason = JPKI_REASON_KEY_COMPROMISE;
		}
	}
	return 0;
}

/* A DER OCSP request for cert (SHA-1 CertID, optional nonce). */
static inline uint8_t *fx_ocsp_req(X509 *cert, X509 *issuer, bool nonce,
				   size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
	unsigned char *der = NULL;
	assert_non_null(OCSP_request_add0_id(req, id));
	if (nonce)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	int n = i2d_OCSP_REQUEST(req, &der);
	assert_true(n > 0);
	OCSP_REQUEST_free(req);
	uint8_t *copy = malloc((size_t)n);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

/* A DER OCSP response about cert, signed by (issuer, key), produced at
 * `now`, valid for `valid` seconds. */
static inline uint8_t *fx_ocsp_resp(X509 *cert, X509 *issuer, EVP_PKEY *key,
				    fx_ocsp_ctx *ctx, const char *now,
				    long valid, size_t *len)
{
	size_t qlen = 0;
	uint8_t *q = fx_ocsp_req(cert, issuer, false, &qlen);
	uint8_t *resp = NULL;
	jpki_err err = {0};
	if (x509_ocsp_respond(q, qlen, issuer, key, fx_ocsp_lookup, ctx,
			      fx_at(now), fx_at(now) + valid, &resp, len,
			      &err) != 0)
		fail_msg("ocsp: %s", err.msg);
	free(q);
	return resp;
}

/* A CMS SignedData (DER) over content with (cert, key); detached unless
 * attached. */
static inline uint8_t *fx_cms(X509 *cert, EVP_PKEY *key, const char *content,
			      bool attached, size_t *len)
{
	BIO *in = BIO_new_mem_buf(content, (int)strlen(content));
	unsigned flags = CMS_BINARY | (attached ? 0 : CMS_DETACHED);
	CMS_ContentInfo *ci = CMS_sign(cert, key, NULL, in, flags);
	unsigned char *der = NULL;
	assert_non_null(ci);
	int n = i2d_CMS_ContentInfo(ci, &der);
	assert_true(n > 0);
	uint8_t *copy = malloc((size_t)n);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	CMS_ContentInfo_free(ci);
	BIO_free(in);
	*len = (size_t)n;
	return copy;
}

/* Whether the result names `what` in a message containing `part`. */
static inline bool fx_says(const val_result *r, val_fail what, const char *part)
{
	for (size_t i = 0; i < r->n_msgs; i++)
		if (r->msgs[i].what == what &&
		    strstr(r->msgs[i].text, part) != NULL)
			return true;
	return false;
}

static inline void fx_dump(const val_result *r)
{
	for (size_t i = 0; i < r->n_msgs; i++)
		print_message("  [%s] %s\n", val_fail_name(r->msgs[i].what),
			      r->msgs[i].text);
}

/* The result fails with exactly `bits`. */
#define assert_fails(r, bits)                                                  \
	do {                                                                   \
		if ((r)->fails != (unsigned)(bits)) {                          \
			fx_dump(r);                                            \
			fail_msg("fails 0x%x, want 0x%x", (r)->fails,          \
				 (unsigned)(bits));                            \
		}                                                              \
	} while (0)

#endif
