/* openjpki — the counter's work (市区町村窓口): resident-record changes that
 * revoke, per 公的個人認証法 第12条 and its practice.  The full application
 * workflow (applications, proxies, cards, notices) builds on this. */
#ifndef OPENJPKI_REGISTRY_H
#define OPENJPKI_REGISTRY_H

#include <stdbool.h>
#include <time.h>

#include "openjpki/ca.h"
#include "openjpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record a municipality (upsert), a new resident (sets r->id) or a card
 * (upsert; its expiry from rules_card_expiry when c->expiry is unset), each
 * with its audit record in the same transaction.  The resident's
 * municipality must be on record. */
int registry_muni_put(jpki_ca *ca, const store_muni *m, time_t now,
		      const char *actor, jpki_err *err);
int registry_resident_add(jpki_ca *ca, store_resident *r, time_t now,
			  const char *actor, jpki_err *err);
int registry_card_record(jpki_ca *ca, store_card *c, time_t now,
			 const char *actor, jpki_err *err);

/* What a change did, for the clerk and the audit log. */
typedef struct registry_change_result {
	int revoked;                              /* how many certificates */
	char serials[4][STORE_SERIAL_HEX_MAX];    /* the first few revoked */
} registry_change_result;

/* Apply a resident-record change (異動).  A change of name, address, birth
 * date or sex revokes the resident's valid signature certificates
 * (affiliationChanged) and leaves the authentication certificates; a
 * change of other fields (kana, guardianship) revokes nothing.  Becoming an
 * adult ward (成年被後見人) revokes the signature certificate too, since it
 * could not be issued now (docs/decisions.md). */
int registry_resident_change(jpki_ca *ca, const store_resident *updated,
			     time_t now, const char *actor,
			     registry_change_result *out, jpki_err *err);

/* Removal from the register (住民票の消除: death, emigration): revokes every
 * valid certificate of the resident (cessationOfOperation). */
int registry_resident_remove(jpki_ca *ca, int64_t resident_id, time_t now,
			     const char *actor, registry_change_result *out,
			     jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
