/* Shared pieces of the document commands (jpki sign, verify, pdf, xml):
 * the signing key (card or key file) and the relying party's validator
 * options (trusted roots, revocation).  doc_common.c. */
#ifndef JPKI_CMD_DOC_COMMON_H
#define JPKI_CMD_DOC_COMMON_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli.h"
#include "openjpki/validation.h"

/* A software signing key: an unencrypted PEM private key (KEY.pem) and
 * its certificate (CERT.pem), checked to belong together.  The caller
 * frees *key and *cert (also set on failure when read). */
JPKI_MUST_CHECK int doc_soft_key(const char *key_path, const char *cert_path,
				 EVP_PKEY **key, X509 **cert, jpki_err *err);

/* The validator options shared by the verify commands: --roots,
 * --trust-jlis, --crl-map, --ocsp, --ocsp-response, --at. */
#define DOC_ROOTS_MAX 16
#define DOC_MAPS_MAX 64
#define DOC_RESPS_MAX 64
typedef struct doc_val_args {
	const char *ocsp_url, *at;
	const char *roots[DOC_ROOTS_MAX], *maps[DOC_MAPS_MAX];
	const char *resps[DOC_RESPS_MAX];
	size_t n_roots, n_maps, n_resps;
	bool trust_jlis;
} doc_val_args;

/* Take getopt_long's option letter c (r, m, o, O, a, J) and its argument
 * into a: 0 when taken, the usage exit code when refused, -1 when c is
 * not one of these. */
int doc_val_option(int c, const char *arg, doc_val_args *a);

/* Load the trusted roots: every --roots, the J-LIS roots with
 * --trust-jlis, else the CA directory's roots/ (refused when absent). */
JPKI_MUST_CHECK int doc_val_roots(const cli_ctx *ctx, const doc_val_args *a,
				  jpki_validator *v, jpki_err *err);
/* Set the revocation sources: --crl-map, --ocsp, --ocsp-response. */
JPKI_MUST_CHECK int doc_val_revocation(const doc_val_args *a, jpki_validator *v,
				       jpki_err *err);

#endif
