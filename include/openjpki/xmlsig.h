/* openjpki — XML signatures (XMLDSig) in the shape of an e-Gov 電子申請
 * application, on xmlsec with its OpenSSL backend.
 *
 * The profile (docs/decisions.md, "XML signatures"): RSA-SHA256
 * (PKCS#1 v1.5), exclusive C14N for SignedInfo, SHA-256 digests, the
 * signer's certificate in KeyInfo/X509Data.  Two shapes:
 *   - enveloped: one XML document; a Reference URI="" with the transforms
 *     enveloped-signature and exclusive C14N; the ds:Signature is the
 *     last child of the root element;
 *   - application (detached parts): 構成管理情報 kousei.xml lists the
 *     申請書 and 添付書類 by file name and carries the ds:Signature, whose
 *     References are URI="" (kousei.xml itself, enveloped) plus one per
 *     listed file, by its name, over the file's bytes (no transforms).
 *
 * Untrusted XML is parsed without network access, DTD loading or entity
 * substitution, and any DOCTYPE is refused (XXE, entity expansion).
 * Detached References resolve only to the parts the caller hands in
 * (memory), never to files or URLs chosen by the document.
 *
 * xmlsig_init() sets process-wide state of libxml2 and xmlsec (the
 * external entity loader refuses everything; xmlsec's I/O callbacks are
 * replaced by the in-memory parts).  One thread at a time signs or
 * verifies. */
#ifndef OPENJPKI_XMLSIG_H
#define OPENJPKI_XMLSIG_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/error.h"
#include "openjpki/validation.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XMLSIG_DOC_MAX (8u << 20)	/* a signed XML document */
#define XMLSIG_PART_MAX (32u << 20)	/* one 申請書 or 添付書類 */
#define XMLSIG_PARTS_MAX 32		/* parts of one application */
#define XMLSIG_NAME_MAX 128		/* a part's file name */
#define XMLSIG_KOUSEI_NAME "kousei.xml" /* the 構成管理情報 file */

/* A part of an application: its file name (as referenced: letters,
 * digits, '.', '_', '-'; no path) and its bytes (borrowed). */
typedef struct xmlsig_part {
	const char *name;
	const uint8_t *data;
	size_t len;
	bool attachment; /* 添付書類 (else the 申請書) */
} xmlsig_part;

/* Initialise libxml2, xmlsec and its OpenSSL backend once (idempotent). */
JPKI_MUST_CHECK int xmlsig_init(jpki_err *err);

/* Whether `name` is acceptable as a part name (see xmlsig_part). */
bool xmlsig_part_name_ok(const char *name);

/* Enveloped signature over the XML document doc (len bytes) with key (a
 * software key or the card's, through the provider) and its certificate.
 * *out (malloc'ed, caller frees) is the signed document. */
JPKI_MUST_CHECK int xmlsig_sign_enveloped(const uint8_t *doc, size_t len,
					  EVP_PKEY *key, X509 *cert,
					  uint8_t **out, size_t *out_len,
					  jpki_err *err);

/* The 構成管理情報 (kousei.xml) of an application made of parts[0..n)
 * (exactly one 申請書, the others 添付書類), signed: the References cover
 * kousei.xml and every part.  *out is malloc'ed. */
JPKI_MUST_CHECK int xmlsig_sign_application(const xmlsig_part *parts, size_t n,
					    EVP_PKEY *key, X509 *cert,
					    uint8_t **out, size_t *out_len,
					    jpki_err *err);

/* The References of a signature, as the verifier saw them. */
#define XMLSIG_REFS_MAX (XMLSIG_PARTS_MAX + 1)
typedef enum xmlsig_ref_status {
	XMLSIG_REF_NOT_CHECKED = 0, /* the verification stopped before it */
	XMLSIG_REF_OK = 1,
	XMLSIG_REF_BAD = 2, /* the digest does not match: altered */
} xmlsig_ref_status;

typedef struct xmlsig_result {
	val_result val;	   /* signer, chain, revocation, basic-4, and every
			      failure (document ones included) */
	bool application;  /* kousei.xml with detached parts */
	bool signature_ok; /* SignedInfo's signature and every digest */
	size_t n_refs;
	struct {
		char uri[XMLSIG_NAME_MAX + 1]; /* "" = the document itself */
		xmlsig_ref_status status;
		bool attachment; /* 添付書類 (application) */
	} refs[XMLSIG_REFS_MAX];
} xmlsig_result;

/* Release and zero a result (NULL is fine). */
void xmlsig_result_clear(xmlsig_result *r);

/* Verify the signed XML document xml (len bytes): the profile above; an
 * application's parts are looked up by name in parts[0..n); then the
 * signature with the certificate in KeyInfo and every Reference (xmlsec),
 * then val_cert() on that certificate with o->purpose (ANY is taken as
 * SIGN), and the basic-4 data of a signature certificate.  In an
 * application every listed part must be referenced and every Reference
 * must be a listed part.  0 with *res filled (res->val.fails == 0: valid),
 * a negative jpki_rc for misuse or an internal failure (then *res is
 * cleared).  Malformed or refused input is a verdict (VAL_FAIL_DOCUMENT). */
JPKI_MUST_CHECK int xmlsig_verify(jpki_validator *v, const uint8_t *xml,
				  size_t len, const xmlsig_part *parts,
				  size_t n, const val_opts *o,
				  xmlsig_result *res, jpki_err *err);

/* The file names an application's kousei.xml lists (申請書 first),
 * without verifying anything, so that a caller can read them: names[i]
 * are malloc'ed (free each), *n <= XMLSIG_PARTS_MAX.  A document that is
 * not an application gives *n = 0. */
JPKI_MUST_CHECK int xmlsig_application_parts(const uint8_t *xml, size_t len,
					     char *names[XMLSIG_PARTS_MAX],
					     bool *attachment, size_t *n,
					     jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
