/* Fuzz target: OCSP responses (val_add_ocsp_response, then the checks
 * val_cert runs on them: signature by the certificate's root, CertID,
 * times, status) with fixed trust material and no CRL, so that the
 * response is the only revocation source. */
#include <stdint.h>

#include "fuzz_validation_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fz_fixture *f = fz_get();
	jpki_validator *v = fz_validator(f, 0);
	val_opts o = {f->now, f->now, VAL_PURPOSE_SIGN};
	val_result r;
	jpki_err err = {0};
	if (val_add_ocsp_response(v, data, size, &err) == 0) {
		X509 *certs[2] = {f->leaf, f->revoked};
		for (int i = 0; i < 2; i++) {
			if (val_cert(v, certs[i], &o, &r, &err) != 0)
				continue;
			/* only an answer signed by the root can decide */
			if (r.rev == VAL_REV_GOOD &&
			    r.rev_source != VAL_SRC_OCSP)
				abort();
			if (r.fails == 0 && r.rev != VAL_REV_GOOD)
				abort();
			val_result_clear(&r);
		}
	}
	val_free(v);
	return 0;
}
