/* Revocation with the J-LIS reason codes (CPS §4.9.9): a hold
 * (certificateHold) is never released, only turned into a revocation. */
#include <stdio.h>
#include <string.h>

#include "ca_internal.h"

int ca_revoke(jpki_ca *ca, const char *serial_hex, jpki_reason reason,
	      time_t now, const char *actor, jpki_err *err)
{
	store_cert c;
	char detail[128];
	int rc;
	memset(&c, 0, sizeof(c));
	if (reason < JPKI_REASON_UNSPECIFIED ||
	    reason > JPKI_REASON_CERTIFICATE_HOLD)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "unknown revocation reason %d", (int)reason);
	if ((rc = store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = store_cert_get(ca->st, serial_hex, &c, err)) != 0) {
		if (rc == JPKI_ERR_NOT_FOUND)
			rc = jpki_fail(err, rc, "no certificate with serial %s",
				       serial_hex);
		goto fail;
	}
	if (c.status == STORE_CERT_REVOKED) {
		if (c.reason != JPKI_REASON_CERTIFICATE_HOLD) {
			rc = jpki_fail(err, JPKI_ERR_STATE,
				       "certificate %s is already revoked (%s)",
				       serial_hex,
				       jpki_reason_name((jpki_reason)c.reason));
			goto fail;
		}
		if (reason == JPKI_REASON_CERTIFICATE_HOLD) {
			rc = jpki_fail(err, JPKI_ERR_STATE,
				       "certificate %s is already on hold",
				       serial_hex);
			goto fail;
		}
	}
	if ((rc = store_cert_revoke(ca->st, c.serial, (int)reason, now,
				    c.status == STORE_CERT_REVOKED, err)) != 0)
		goto fail;
	snprintf(detail, sizeof(detail), "serial=%s reason=%s", c.serial,
		 jpki_reason_name(reason));
	if ((rc = store_audit_append(ca->st, now, actor ? actor : "ca",
				     reason == JPKI_REASON_CERTIFICATE_HOLD
					 ? "cert.hold"
					 : "cert.revoke",
				     detail, err)) != 0 ||
	    (rc = store_commit(ca->st, err)) != 0)
		goto fail;
	store_cert_clear(&c);
	return 0;
fail:
	store_rollback(ca->st);
	store_cert_clear(&c);
	return rc;
}
