/* openjpki — the RFC 3161 time-stamp authority (ca/tsa.c) and the client
 * side of time-stamping (validation/timestamp.c).
 *
 * The TSA is a test facility: its own root (DIR/tsa/root.pem) and one TSA
 * certificate (DIR/tsa/tsa.pem, extendedKeyUsage critical timeStamping),
 * keys "tsa-root" and "tsa" in the CA's keystore.  It is not part of
 * either J-LIS hierarchy.  Tokens are made by OpenSSL's TS_RESP_CTX; the
 * time is an argument. */
#ifndef OPENJPKI_TSA_H
#define OPENJPKI_TSA_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/ca.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The TSA policy (TSTInfo.policy), an X.667 UUID OID (docs/decisions.md,
 * "Time-stamps"). */
#define JPKI_TSA_POLICY_OID "2.25.245327776095943184046265879714715579885"
/* A TimeStampReq is small: a SHA-512 imprint, a nonce, a policy and
 * certReq fit in 200 bytes; extensions are refused anyway. */
#define JPKI_TSA_REQ_MAX 4096
/* A TimeStampResp as a client accepts it (token with a certificate). */
#define JPKI_TSA_RESP_MAX (64u * 1024)

/* Create the TSA of the CA: both keys (RSA-2048), the TSA root and the TSA
 * certificate valid from `now`, written to DIR/tsa/.  JPKI_ERR_EXISTS when
 * it has one; JPKI_ERR_POLICY for a production-profile CA. */
JPKI_MUST_CHECK int ca_tsa_init(jpki_ca *ca, time_t now, jpki_err *err);

typedef struct jpki_tsa jpki_tsa;
/* Load the CA's TSA (key and certificates): JPKI_ERR_NOT_FOUND when it
 * has none.  A jpki_tsa is immutable: threads may share it.  Caller frees
 * with ca_tsa_free(). */
JPKI_MUST_CHECK int ca_tsa_open(jpki_ca *ca, jpki_tsa **out, jpki_err *err);
/* A TSA from a key and its certificate (tests, fuzzing); references are
 * taken. */
JPKI_MUST_CHECK int ca_tsa_new(EVP_PKEY *key, X509 *cert, X509 *root,
			       jpki_tsa **out, jpki_err *err);
void ca_tsa_free(jpki_tsa *t); /* NULL is fine */
/* Borrowed certificates (valid while t lives); root may be NULL. */
X509 *ca_tsa_cert(const jpki_tsa *t);
X509 *ca_tsa_root(const jpki_tsa *t);

/* Strict reading of a TimeStampReq: one DER object (re-encoding gives the
 * same bytes), nothing after it, at most JPKI_TSA_REQ_MAX bytes.  0, or
 * JPKI_ERR_PARSE / JPKI_ERR_RANGE with the reason in err. */
JPKI_MUST_CHECK int ca_tsa_req_check(const uint8_t *req, size_t len,
				     jpki_err *err);

/* Answer a TimeStampReq at `now` (RFC 3161 2.4.2): *out is a DER
 * TimeStampResp (malloc'ed, caller frees), granted with a token, or a
 * rejection whose PKIFailureInfo says why (badDataFormat for a request
 * ca_tsa_req_check refuses, badAlg for a digest other than SHA-256/384/512,
 * unacceptedPolicy, unacceptedExtension).  *granted (may be NULL) tells
 * which.  A negative jpki_rc only for internal failures. */
JPKI_MUST_CHECK int ca_tsa_respond(const jpki_tsa *t, const uint8_t *req,
				   size_t len, time_t now, uint8_t **out,
				   size_t *out_len, bool *granted,
				   jpki_err *err);

/* ---- client side (validation/timestamp.c) ---- */

/* "Time-stamp this signature value": ask the TSA at `url` (http://) for a
 * token over SHA-256(data) with a fresh nonce and certReq, check the
 * answer (granted, nonce echoed, imprint ours) and return the token (DER
 * ContentInfo, malloc'ed, caller frees).  The token's signature is not
 * judged here: verifiers do that against the TSA roots they trust. */
JPKI_MUST_CHECK int val_timestamp_fetch(const char *url, const uint8_t *data,
					size_t len, int timeout,
					uint8_t **token, size_t *token_len,
					jpki_err *err);

/* Trust a TSA root for signature time-stamps (val_cms): a self-signed CA
 * certificate; the validator takes its own reference.  Without one,
 * val_cms leaves time-stamps unjudged and judges the signer at o->at. */
typedef struct jpki_validator jpki_validator;
JPKI_MUST_CHECK int val_add_tsa_root(jpki_validator *v, X509 *root,
				     jpki_err *err);
/* Every certificate of a PEM file (or one DER certificate). */
JPKI_MUST_CHECK int val_load_tsa_roots(jpki_validator *v, const char *path,
				       size_t *added, jpki_err *err);

/* CAdES-T: add the signature time-stamp (unsigned attribute
 * id-aa-signatureTimeStampToken, RFC 3161 Appendix A) of the one
 * SignerInfo of a DER CMS SignedData, fetched from `url` over the
 * signature value.  *out is the new DER (caller frees). */
JPKI_MUST_CHECK int val_cms_add_timestamp(const uint8_t *cms, size_t len,
					  const char *url, int timeout,
					  uint8_t **out, size_t *out_len,
					  jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
