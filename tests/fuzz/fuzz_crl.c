/* Fuzz target: CRLs as the validator fetches them (src/validation/crl.c:
 * DER or PEM with nothing but white space after it, signature by a
 * trusted root, critical extensions, issuingDistributionPoint, thisUpdate
 * and nextUpdate, entries and their reasons).  The input is the CRL file
 * mapped to the fixture leaf's partition; the fixture's two signature
 * certificates are judged with it, with fixed trust material
 * (validation_fixture.h) and no OCSP.
 *
 * Invariants: the real CRL lists B's certificate (keyCompromise) and not
 * A's, and nobody else can sign one, so whatever the bytes, A's
 * certificate is never judged revoked and B's never good; a CRL the
 * validator could not use is a failure with a reason. */
#include <stdint.h>

#include "fuzz_validation_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void rm_path(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fz_fixture *f = fz_get();
	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/jpki-fuzz-crlin-XXXXXX");
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(rm_path);
	}
	FILE *fp = fopen(path, "wb");
	if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) ||
	    fclose(fp) != 0)
		abort();
	jpki_validator *v = fz_validator(f, 0);
	jpki_err err = {0};
	if (val_map_crl(v, f->dp, path, &err) != 0)
		abort();
	val_opts o = {f->now, f->now, VAL_PURPOSE_SIGN};
	X509 *certs[2] = {f->leaf, f->revoked};
	for (int i = 0; i < 2; i++) {
		val_result r;
		if (val_cert(v, certs[i], &o, &r, &err) != 0)
			continue;
		if (i == 0 && r.rev == VAL_REV_REVOKED)
			abort(); /* A is on no CRL our CA signed */
		if (i == 1 && (r.rev == VAL_REV_GOOD ||
			       (r.rev == VAL_REV_REVOKED &&
				r.reason != JPKI_REASON_KEY_COMPROMISE)))
			abort(); /* B is on every CRL our CA signed */
		if (r.fails != 0 && r.n_msgs == 0)
			abort(); /* every failure has a message */
		if (r.rev != VAL_REV_GOOD && r.rev != VAL_REV_REVOKED &&
		    r.fails == 0)
			abort(); /* an unusable CRL passed silently */
		val_result_clear(&r);
	}
	val_free(v);
	return 0;
}
