/* The real J-LIS roots (公的個人認証サービス 署名用・利用者証明用, the 2015
 * and 2023 generations), shipped in the project's data folder
 * (data/jpki-roots, installed to <datadir>/openjpki/jpki-roots) and pinned
 * here by SHA-256 of their DER, as J-LIS publishes the fingerprints
 * (docs/reference/jpki-domain.md §0, data/jpki-roots/README.md).  A file
 * that is missing, unreadable or not the pinned certificate is refused:
 * trusting the national hierarchy must not depend on a writable folder. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "openjpki/validation.h"
#include "openjpki/x509.h"

const val_jlis_root val_jlis_roots[VAL_JLIS_ROOTS] = {
    {"sign_ca_2015.pem", JPKI_CERT_SIGN, 2015,
     "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355"},
    {"sign_ca_2023.pem", JPKI_CERT_SIGN, 2023,
     "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F"},
    {"auth_ca_2015.pem", JPKI_CERT_AUTH, 2015,
     "4DCFC4CA0AAF9FB2A3081B3F0C991C320B3ACC008667A341EEAEC5AF1D58CA7D"},
    {"auth_ca_2023.pem", JPKI_CERT_AUTH, 2023,
     "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5"},
};

int val_jlis_root_read(const char *dir, size_t i, X509 **out, jpki_err *err)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	X509 *x = NULL;
	int rc;
	*out = NULL;
	if (i >= VAL_JLIS_ROOTS)
		return jpki_fail(err, JPKI_ERR_INVAL, "no J-LIS root %zu", i);
	const val_jlis_root *r = &val_jlis_roots[i];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, r->file) >=
	    sizeof(path))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "J-LIS roots folder path too long");
	if ((rc = jpki_file_read(path, 65536, &buf, &len, err)) != 0)
		return jpki_fail(err, rc,
				 "J-LIS root %s cannot be read from %s (the "
				 "project's data folder data/jpki-roots, or "
				 "JPKI_DATA_DIR/jpki-roots)",
				 r->file, dir);
	rc = x509_from_bytes(buf, len, &x, err);
	free(buf);
	if (rc != 0)
		return jpki_fail(err, rc, "J-LIS root %s is not a certificate",
				 path);
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		X509_free(x);
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "J-LIS root %s: SHA-256 failed", path);
	}
	jpki_hex(md, mdlen, hex);
	if (strcmp(hex, r->sha256) != 0) {
		X509_free(x);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "J-LIS root %s: SHA-256 %s is not the pinned "
				 "fingerprint %s; refusing to trust it",
				 path, hex, r->sha256);
	}
	*out = x;
	return 0;
}

int val_load_jlis_roots(jpki_validator *v, const char *dir, size_t *added,
			jpki_err *err)
{
	size_t before = val_root_count(v);
	for (size_t i = 0; i < VAL_JLIS_ROOTS; i++) {
		X509 *x = NULL;
		int rc = val_jlis_root_read(dir, i, &x, err);
		if (rc == 0)
			rc = val_add_root(v, x, err);
		X509_free(x);
		if (rc != 0)
			return rc;
	}
	if (added != NULL)
		*added = val_root_count(v) - before;
	return 0;
}
