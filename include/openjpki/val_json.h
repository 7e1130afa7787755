/* openjpki — the relying party's verdicts as JSON (jansson), one
 * implementation for `jpki verify --json` and jpkid's POST /api/v1/verify,
 * so that both answer with the same document. */
#ifndef OPENJPKI_VAL_JSON_H
#define OPENJPKI_VAL_JSON_H

#include <jansson.h>
#include <openssl/x509.h>

#include "openjpki/validation.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A certificate: serial (upper-case hex), subject and issuer (RFC 2253),
 * not_before/not_after (UTC), kind, profile and root for a JPKI
 * certificate, and the basic-4 data of a signature certificate.  New
 * reference (caller decrefs), NULL when out of memory. */
json_t *val_cert_json(X509 *cert);

/* A verdict of val_cms()/val_cert(): ok/valid, failures and messages,
 * signer and root, revocation, signingTime, basic-4 with the birth date
 * in Gregorian and era form.  New reference, NULL when out of memory. */
json_t *val_result_json(const val_result *r);

/* "root from YYYY-MM-DD, SKI hex": which generation of a root. */
void val_root_desc(X509 *root, char *out, size_t cap);
/* "昭和55年12月31日" (元年 for the first year), "?" when unknown. */
void val_era_text(const val_result *r, char *out, size_t cap);
/* "not-checked", "good", "revoked", "unknown". */
const char *val_rev_name(val_rev_status s);
/* "男" / "女" for the 性別 code "1" / "2", "" otherwise. */
const char *val_sex_label(const char *code);

#ifdef __cplusplus
}
#endif
#endif
