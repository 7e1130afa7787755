/* Fuzz target: CMS SignedData verification (val_cms) with fixed trust
 * material: the input is the CMS (DER); a detached one is verified over
 * the fixture's content.  Every input must give a verdict or a clean
 * error, a valid verdict only for an intact document, and a result that
 * is consistent (a message for every failure bit). */
#include <stdint.h>

#include "fuzz_validation_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fz_fixture *f = fz_get();
	jpki_validator *v = fz_validator(f, 1);
	val_opts o = {f->now, f->now, VAL_PURPOSE_SIGN};
	val_result r;
	jpki_err err = {0};
	static const char content[] = FX_CONTENT;
	int rc = val_cms(v, data, size, NULL, 0, &o, &r, &err);
	if (rc == JPKI_ERR_INVAL && strstr(err.msg, "detached") != NULL)
		rc = val_cms(v, data, size, (const uint8_t *)content,
			     sizeof(content) - 1, &o, &r, &err);
	if (rc == 0) {
		unsigned named = 0;
		for (size_t i = 0; i < r.n_msgs; i++)
			named |= r.msgs[i].what;
		/* every failure is named, and nothing else */
		if (named != r.fails || (r.fails & ~VAL_FAIL_ALL))
			abort();
		/* valid means a signer, its root and a good status */
		if (r.fails == 0 &&
		    (r.cert == NULL || r.root == NULL || r.rev != VAL_REV_GOOD))
			abort();
		val_result_clear(&r);
	}
	val_free(v);
	return 0;
}
