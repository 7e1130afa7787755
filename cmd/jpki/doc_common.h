/* Shared pieces of the document commands (jpki sign, verify, pdf, xml):
 * the signing key (card or key file) and the relying party's validator
 * options (trusted roots, revocation).  doc_common.c. */
#ifndef JPKI_CMD_DOC_COMMON_H
#define JPKI_CMD_DOC_COMMON_H

/* pem.h first: cms.h declares the CMS PEM functions only after it */
#include <openssl/pem.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli.h"
#include "openjpki/validation.h"

/* A software signing key: an unencrypted PEM private key (KEY.pem) and
 * its certificate (CERT.pem), checked to belong together.  The caller
 * frees *key and *cert (also set on failure when read). */
JPKI_MUST_CHECK int doc_soft_key(const char *key_path, const char *cert_path,
				 EVP_PKEY **key, X509 **cert, jpki_err *err);

/* The usage rules of a signing key (cmd: "sign", "pdf sign", ...):
 * --key and --cert together; exactly one of CARD.img, --reader or
 * --key/--cert; no PIN for a software key.  0, or the usage exit code
 * after the message. */
int doc_key_usage(const char *cmd, const char *key_path, const char *cert_path,
		  const char *image, const char *reader, const char *pin,
		  const char *pin_file);

/* The signing key of jpki sign / xml sign: the software key of
 * key_path and cert_path (doc_soft_key) when key_path is given, else the
 * card's signature key after its PIN (cli_card_key, card_key.h).  Sets
 * *soft or *card, and *cert; the caller frees all three. */
JPKI_MUST_CHECK int doc_signing_key(const char *key_path, const char *cert_path,
				    const char *image, const char *reader,
				    char *pin, const char *pin_file,
				    EVP_PKEY **soft, EVP_PKEY **card,
				    X509 **cert, jpki_err *err);

/* A CMS SignedData over data (RFC 5652 5.4): SHA-256, signed attributes
 * contentType and messageDigest (added by CMS_final) and signingTime
 * `now`, the signer's certificate; flags as for CMS_sign (CMS_PARTIAL
 * among them).  What the card (or key) returned is verified before it
 * leaves.  The caller frees *out. */
JPKI_MUST_CHECK int doc_cms_sign(BIO *data, X509 *cert, EVP_PKEY *key,
				 time_t now, unsigned flags,
				 CMS_ContentInfo **out, jpki_err *err);

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
/* Load the trusted TSA roots (signature time-stamps, CAdES-T / PAdES-T):
 * each of tsa[0..n), or with none of them and no --roots/--trust-jlis
 * the CA directory's tsa/root.pem when it exists. */
#define DOC_TSA_ROOTS_MAX 8
JPKI_MUST_CHECK int doc_val_tsa_roots(const cli_ctx *ctx, const doc_val_args *a,
				      const char *const *tsa, size_t n,
				      jpki_validator *v, jpki_err *err);
/* Set the revocation sources: --crl-map, --ocsp, --ocsp-response. */
JPKI_MUST_CHECK int doc_val_revocation(const doc_val_args *a, jpki_validator *v,
				       jpki_err *err);

/* The verdict's trust anchor ("  issuer:   trusted ...") and the
 * start of its revocation line ("revocation: good", " at TIME (reason)"
 * when revoked), without the line's end. */
void doc_print_issuer_revocation(const val_result *r);

#endif
