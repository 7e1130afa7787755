/* Shared pieces of the document commands (jpki sign, verify, pdf, xml). */
#include <openssl/pem.h>

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "card_key.h"
#include "doc_common.h"
#include "openjpki/date.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/x509.h"

#define KEY_FILE_MAX (64u * 1024)

static int read_key(const char *path, EVP_PKEY **out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int rc = jpki_file_read(path, KEY_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "%s: no PEM private key (unencrypted)", path);
	}
	BIO_free(b);
	jpki_free_secret(buf, len);
	return rc;
}

int doc_soft_key(const char *key_path, const char *cert_path, EVP_PKEY **key,
		 X509 **cert, jpki_err *err)
{
	int rc;
	if ((rc = read_key(key_path, key, err)) != 0 ||
	    (rc = cli_read_cert(cert_path, cert, err)) != 0)
		return rc;
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		return jpki_fail(err, JPKI_ERR_KEY, "%s is not the key of %s",
				 key_path, cert_path);
	}
	return 0;
}

int doc_key_usage(const char *cmd, const char *key_path, const char *cert_path,
		  const char *image, const char *reader, const char *pin,
		  const char *pin_file)
{
	if ((key_path != NULL) != (cert_path != NULL))
		return cli_usage_error("%s: --key and --cert go together", cmd);
	if ((key_path != NULL) + (image != NULL) + (reader != NULL) != 1)
		return cli_usage_error(
		    "%s: give one of CARD.img, --reader or --key/--cert", cmd);
	if (key_path != NULL && (pin != NULL || pin_file != NULL))
		return cli_usage_error("%s: a software key takes no PIN", cmd);
	return 0;
}

int doc_signing_key(const char *key_path, const char *cert_path,
		    const char *image, const char *reader, char *pin,
		    const char *pin_file, EVP_PKEY **soft, EVP_PKEY **card,
		    X509 **cert, jpki_err *err)
{
	if (key_path != NULL)
		return doc_soft_key(key_path, cert_path, soft, cert, err);
	/* the signature PIN, the key and its certificate through the
	 * openjpki provider (src/provider) */
	return cli_card_key(image, reader, "sign", pin, pin_file, card, cert,
			    err);
}

int doc_cms_sign(BIO *data, X509 *cert, EVP_PKEY *key, time_t now,
		 unsigned flags, CMS_ContentInfo **out, jpki_err *err)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	ASN1_TIME *t = NULL;
	int rc = 0;
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (si = CMS_add1_signer(cms, cert, key, EVP_sha256(), flags)) ==
		NULL ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t,
					 -1)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "preparing the CMS");
		goto out;
	}
	if (!CMS_final(cms, data, NULL, flags)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing");
		goto out;
	}
	if (CMS_SignerInfo_verify(si) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "the signature does not verify with the "
			       "certificate's key");
		goto out;
	}
	*out = cms;
	cms = NULL;
out:
	ASN1_TIME_free(t);
	CMS_ContentInfo_free(cms);
	return rc;
}

void doc_print_issuer_revocation(const val_result *r)
{
	char t[21], buf[600];
	if (r->root != NULL) {
		val_root_desc(r->root, buf, sizeof(buf));
		printf("  issuer:   trusted %s\n", buf);
	}
	printf("revocation: %s", val_rev_name(r->rev));
	if (r->rev == VAL_REV_REVOKED) {
		jpki_time_format(r->revoked_at, t);
		printf(" at %s (%s)", t, jpki_reason_name(r->reason));
	}
}

int doc_val_option(int c, const char *arg, doc_val_args *a)
{
	switch (c) {
	case 'r':
		if (a->n_roots == DOC_ROOTS_MAX)
			return cli_usage_error("--roots: too many");
		a->roots[a->n_roots++] = arg;
		return 0;
	case 'm':
		if (a->n_maps == DOC_MAPS_MAX)
			return cli_usage_error("--crl-map: too many");
		a->maps[a->n_maps++] = arg;
		return 0;
	case 'o': a->ocsp_url = arg; return 0;
	case 'O':
		if (a->n_resps == DOC_RESPS_MAX)
			return cli_usage_error("--ocsp-response: too many");
		a->resps[a->n_resps++] = arg;
		return 0;
	case 'a': a->at = arg; return 0;
	case 'J': a->trust_jlis = true; return 0;
	default: return -1;
	}
}

int doc_val_roots(const cli_ctx *ctx, const doc_val_args *a, jpki_validator *v,
		  jpki_err *err)
{
	char path[4096];
	struct stat st;
	int rc;
	for (size_t i = 0; i < a->n_roots; i++)
		if ((rc = val_load_roots(v, a->roots[i], NULL, err)) != 0)
			return rc;
	if (a->trust_jlis) {
		snprintf(path, sizeof(path), "%s/jpki-roots",
			 jpki_data_dir(getenv("JPKI_DATA_DIR")));
		if ((rc = val_load_jlis_roots(v, path, NULL, err)) != 0)
			return rc;
	}
	if (a->n_roots == 0 && !a->trust_jlis) {
		snprintf(path, sizeof(path), "%s/roots", ctx->dir);
		if (stat(path, &st) != 0)
			return jpki_fail(err, JPKI_ERR_NOT_FOUND,
					 "no trusted roots: give --roots (no "
					 "%s)",
					 path);
		if ((rc = val_load_roots(v, path, NULL, err)) != 0)
			return rc;
	}
	return 0;
}

int doc_val_tsa_roots(const cli_ctx *ctx, const doc_val_args *a,
		      const char *const *tsa, size_t n, jpki_validator *v,
		      jpki_err *err)
{
	char def[4096];
	struct stat st;
	int rc;
	if (n == 0 && a->n_roots == 0 && !a->trust_jlis) {
		snprintf(def, sizeof(def), "%s/tsa/root.pem", ctx->dir);
		if (stat(def, &st) == 0 &&
		    (rc = val_load_tsa_roots(v, def, NULL, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = val_load_tsa_roots(v, tsa[i], NULL, err)) != 0)
			return rc;
	return 0;
}

int doc_val_revocation(const doc_val_args *a, jpki_validator *v, jpki_err *err)
{
	int rc;
	for (size_t i = 0; i < a->n_maps; i++)
		if ((rc = val_map_crl_spec(v, a->maps[i], err)) != 0)
			return rc;
	if (a->ocsp_url != NULL &&
	    (rc = val_set_ocsp_url(v, a->ocsp_url, err)) != 0)
		return rc;
	for (size_t i = 0; i < a->n_resps; i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		if ((rc = jpki_file_read(a->resps[i], VAL_OCSP_RESP_MAX, &der,
					 &len, err)) != 0)
			return rc;
		rc = val_add_ocsp_response(v, der, len, err);
		free(der);
		if (rc != 0)
			return jpki_wrap(err, rc, "%s", a->resps[i]);
	}
	return 0;
}
