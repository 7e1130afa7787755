/* The RFC 3161 time-stamp authority: its test root and certificate, and
 * the answer to a TimeStampReq, made by OpenSSL's TS_RESP_CTX (no ASN.1
 * of ours).  The clock is the caller's `now`. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ca_internal.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"

#define TSA_ROOT_LABEL "tsa-root"
#define TSA_LABEL "tsa"
#define TSA_ROOT_YEARS 20
#define TSA_CERT_YEARS 10
#define TSA_CERT_FILE_MAX (64u * 1024)

struct jpki_tsa {
	EVP_PKEY *key;
	X509 *cert;
	X509 *root; /* may be NULL */
	ASN1_OBJECT *policy;
};

static int tsa_path(const jpki_ca *ca, const char *file, char *out, size_t cap,
		    jpki_err *err)
{
	if ((size_t)snprintf(out, cap, "%s/tsa%s%s", ca->dir,
			     file != NULL ? "/" : "",
			     file != NULL ? file : "") >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value,
		   jpki_err *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	if (!ok)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "TSA certificate: %s %s",
				 OBJ_nid2sn(nid), value);
	return 0;
}

static X509_NAME *tsa_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (n == NULL ||
	    !X509_NAME_add_entry_by_txt(
		n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
					(const unsigned char *)"JPKI-TEST TSA",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* One certificate of the TSA: the root (issuer NULL: self-signed) or the
 * TSA's own, signed with issuer_key. */
static int build_cert(EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
		      time_t now, X509 **out, jpki_err *err)
{
	uint8_t serial[CA_SERIAL_BYTES];
	X509 *c = X509_new();
	X509_NAME *name =
	    tsa_name(issuer == NULL ? "JPKI-TEST TSA Root" : "JPKI-TEST TSA 1");
	BIGNUM *bn = NULL;
	int years = issuer == NULL ? TSA_ROOT_YEARS : TSA_CERT_YEARS;
	int rc;
	if (c == NULL || name == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ca_new_serial(serial, err)) != 0)
		goto out;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || X509_set_version(c, X509_VERSION_3) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) == NULL ||
	    X509_set_subject_name(c, name) != 1 ||
	    X509_set_issuer_name(c, issuer != NULL
					? X509_get_subject_name(issuer)
					: name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(c), years * 365 + years / 4, 0,
			     &now) == NULL ||
	    X509_set_pubkey(c, pub) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "TSA certificate fields");
		goto out;
	}
	X509 *iss = issuer != NULL ? issuer : c;
	if (issuer == NULL) {
		if ((rc = add_ext(c, iss, NID_basic_constraints,
				  "critical,CA:TRUE", err)) != 0 ||
		    (rc = add_ext(c, iss, NID_key_usage,
				  "critical,keyCertSign,cRLSign", err)) != 0 ||
		    (rc = add_ext(c, iss, NID_subject_key_identifier, "hash",
				  err)) != 0)
			goto out;
	} else {
		/* RFC 3161 2.3: the one purpose, critical */
		if ((rc = add_ext(c, iss, NID_basic_constraints,
				  "critical,CA:FALSE", err)) != 0 ||
		    (rc = add_ext(c, iss, NID_key_usage,
				  "critical,digitalSignature", err)) != 0 ||
		    (rc = add_ext(c, iss, NID_ext_key_usage,
				  "critical,timeStamping", err)) != 0 ||
		    (rc = add_ext(c, iss, NID_subject_key_identifier, "hash",
				  err)) != 0 ||
		    (rc = add_ext(c, iss, NID_authority_key_identifier,
				  "keyid:always", err)) != 0)
			goto out;
	}
	if (X509_sign(c, issuer_key, EVP_sha256()) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing TSA certificate");
		goto out;
	}
	*out = c;
	c = NULL; /* transferred */
	rc = 0;
out:
	ERR_clear_error();
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(c);
	return rc;
}

static int write_pem(const char *path, X509 *cert, jpki_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p = NULL;
	int rc;
	if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding %s", path);
		goto out;
	}
	long len = BIO_get_mem_data(mem, &p);
	rc = jpki_file_write_atomic(path, p, (size_t)len, 0644, err);
out:
	BIO_free(mem);
	return rc;
}

int ca_tsa_init(jpki_ca *ca, time_t now, jpki_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	EVP_PKEY *root_pub = NULL, *root_key = NULL, *pub = NULL;
	X509 *root = NULL, *cert = NULL;
	int rc;
	if (ca->profile == JPKI_PROFILE_PRODUCTION)
		return jpki_fail(err, JPKI_ERR_POLICY,
				 "the built-in TSA is a test facility: a "
				 "production CA uses a real TSA");
	if ((rc = tsa_path(ca, "tsa.pem", path, sizeof(path), err)) != 0)
		return rc;
	if (stat(path, &st) == 0 ||
	    keystore_has(ca->ks, TSA_LABEL, NULL) == 0 ||
	    keystore_has(ca->ks, TSA_ROOT_LABEL, NULL) == 0)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "the CA in %s already has a TSA", ca->dir);
	if ((rc = tsa_path(ca, NULL, path, sizeof(path), err)) != 0 ||
	    (rc = jpki_mkdirs(path, 0755, err)) != 0)
		return rc;
	if ((rc = keystore_generate(ca->ks, TSA_ROOT_LABEL, 2048, &root_pub,
				    err)) != 0 ||
	    (rc = keystore_load(ca->ks, TSA_ROOT_LABEL, &root_key, err)) != 0 ||
	    (rc = build_cert(root_pub, NULL, root_key, now, &root, err)) != 0 ||
	    (rc = keystore_generate(ca->ks, TSA_LABEL, 2048, &pub, err)) != 0 ||
	    (rc = build_cert(pub, root, root_key, now, &cert, err)) != 0)
		goto out;
	/* the certificate last: its file says the TSA is complete */
	if ((rc = tsa_path(ca, "root.pem", path, sizeof(path), err)) != 0 ||
	    (rc = write_pem(path, root, err)) != 0 ||
	    (rc = tsa_path(ca, "tsa.pem", path, sizeof(path), err)) != 0 ||
	    (rc = write_pem(path, cert, err)) != 0)
		goto out;
out:
	X509_free(root);
	X509_free(cert);
	EVP_PKEY_free(root_pub);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(pub);
	return rc;
}

static int read_pem(const char *path, X509 **out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = jpki_file_read(path, TSA_CERT_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	rc = x509_from_bytes(buf, len, out, err);
	free(buf);
	return rc;
}

int ca_tsa_new(EVP_PKEY *key, X509 *cert, X509 *root, jpki_tsa **out,
	       jpki_err *err)
{
	jpki_tsa *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	t->policy = OBJ_txt2obj(JPKI_TSA_POLICY_OID, 1);
	if (t->policy == NULL || EVP_PKEY_up_ref(key) != 1) {
		ca_tsa_free(t);
		return jpki_fail(err, JPKI_ERR_CRYPTO, "TSA policy OID");
	}
	t->key = key;
	if (X509_up_ref(cert) != 1 || (t->cert = cert) == NULL ||
	    (root != NULL && X509_up_ref(root) != 1)) {
		ca_tsa_free(t);
		return jpki_fail(err, JPKI_ERR_CRYPTO, "TSA certificate");
	}
	t->root = root;
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		ca_tsa_free(t);
		return jpki_fail(err, JPKI_ERR_KEY,
				 "the TSA key does not match its certificate");
	}
	*out = t;
	return 0;
}

int ca_tsa_open(jpki_ca *ca, jpki_tsa **out, jpki_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *root = NULL;
	int rc;
	if ((rc = tsa_path(ca, "tsa.pem", path, sizeof(path), err)) != 0)
		return rc;
	if (stat(path, &st) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "the CA in %s has no TSA (jpki ca tsa-init)",
				 ca->dir);
	if ((rc = read_pem(path, &cert, err)) != 0 ||
	    (rc = tsa_path(ca, "root.pem", path, sizeof(path), err)) != 0 ||
	    (rc = read_pem(path, &root, err)) != 0 ||
	    (rc = keystore_load(ca->ks, TSA_LABEL, &key, err)) != 0)
		goto out;
	rc = ca_tsa_new(key, cert, root, out, err);
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(root);
	return rc;
}

void ca_tsa_free(jpki_tsa *t)
{
	if (t == NULL)
		return;
	EVP_PKEY_free(t->key);
	X509_free(t->cert);
	X509_free(t->root);
	ASN1_OBJECT_free(t->policy);
	free(t);
}

X509 *ca_tsa_cert(const jpki_tsa *t)
{
	return t->cert;
}

X509 *ca_tsa_root(const jpki_tsa *t)
{
	return t->root;
}

int ca_tsa_req_check(const uint8_t *req, size_t len, jpki_err *err)
{
	const unsigned char *p = req;
	unsigned char *again = NULL;
	TS_REQ *rq = NULL;
	int rc = 0;
	if (len == 0 || len > JPKI_TSA_REQ_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "TimeStampReq of %zu bytes (1 to %d allowed)",
				 len, JPKI_TSA_REQ_MAX);
	rq = d2i_TS_REQ(NULL, &p, (long)len);
	if (rq == NULL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "not a TimeStampReq (RFC 3161 2.4.1)");
		goto out;
	}
	if (p != req + len) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "%zu bytes after the TimeStampReq",
			       (size_t)(req + len - p));
		goto out;
	}
	/* DER: OpenSSL's encoding of what it read is the input itself */
	int n = i2d_TS_REQ(rq, &again);
	if (n < 0 || (size_t)n != len || memcmp(again, req, len) != 0) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "the TimeStampReq is not DER (X.690 10)");
		goto out;
	}
out:
	ERR_clear_error();
	OPENSSL_free(again);
	TS_REQ_free(rq);
	return rc;
}

static int time_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = (long)*(const time_t *)data;
	*usec = 0;
	return 1;
}

static ASN1_INTEGER *serial_cb(TS_RESP_CTX *ctx, void *data)
{
	/* RFC 3161 2.4.2: unique per token; 127 random bits */
	uint8_t serial[CA_SERIAL_BYTES];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	(void)data;
	if (ca_new_serial(serial, NULL) == 0 &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (ai == NULL) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION,
					    "serial number unavailable");
		TS_RESP_CTX_add_failure_info(ctx,
					     TS_INFO_ADD_INFO_NOT_AVAILABLE);
	}
	return ai;
}

int ca_tsa_respond(const jpki_tsa *t, const uint8_t *req, size_t len,
		   time_t now, uint8_t **out, size_t *out_len, bool *granted,
		   jpki_err *err)
{
	static const uint8_t nothing[1];
	TS_RESP_CTX *ctx = NULL;
	TS_RESP *resp = NULL;
	BIO *in = NULL;
	unsigned char *der = NULL;
	time_t at = now;
	int rc = 0;
	jpki_err why = {0};
	/* a request refused here is answered badDataFormat: OpenSSL is
	 * given no bytes to read */
	bool strict = ca_tsa_req_check(req, len, &why) == 0;
	if ((ctx = TS_RESP_CTX_new()) == NULL ||
	    (in = strict ? BIO_new_mem_buf(req, (int)len)
			 : BIO_new_mem_buf(nothing, 0)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (TS_RESP_CTX_set_signer_cert(ctx, t->cert) != 1 ||
	    TS_RESP_CTX_set_signer_key(ctx, t->key) != 1 ||
	    TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) != 1 ||
	    TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) != 1 ||
	    TS_RESP_CTX_set_def_policy(ctx, t->policy) != 1 ||
	    TS_RESP_CTX_add_md(ctx, EVP_sha256()) != 1 ||
	    TS_RESP_CTX_add_md(ctx, EVP_sha384()) != 1 ||
	    TS_RESP_CTX_add_md(ctx, EVP_sha512()) != 1 ||
	    TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "TSA context");
		goto out;
	}
	TS_RESP_CTX_set_time_cb(ctx, time_cb, &at);
	TS_RESP_CTX_set_serial_cb(ctx, serial_cb, NULL);
	if ((resp = TS_RESP_create_response(ctx, in)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "making the time-stamp");
		goto out;
	}
	int n = i2d_TS_RESP(resp, &der);
	if (n <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the time-stamp");
		goto out;
	}
	if ((*out = malloc((size_t)n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	if (granted != NULL) {
		const ASN1_INTEGER *st =
		    TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp));
		long s = ASN1_INTEGER_get(st);
		*granted =
		    s == TS_STATUS_GRANTED || s == TS_STATUS_GRANTED_WITH_MODS;
	}
out:
	ERR_clear_error();
	OPENSSL_free(der);
	TS_RESP_free(resp);
	BIO_free(in);
	TS_RESP_CTX_free(ctx);
	return rc;
}
