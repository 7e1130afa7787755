/* Compiled, never run, by tests/compile/ignored_rc.sh with the project's
 * flags (-Werror): as it stands (JPKI_IGNORE_RC undefined) every result is
 * checked and the file builds; with -DJPKI_IGNORE_RC=N the Nth call drops
 * its result and the file must not build, because JPKI_MUST_CHECK makes
 * that a warning and warnings are errors.  One call per kind of header: a
 * public one (util.h, buf.h, store.h) and a module's internal one
 * (x509_int.h). */
#include <stddef.h>
#include <stdint.h>

#include "openjpki/buf.h"
#include "openjpki/error.h"
#include "openjpki/store.h"
#include "openjpki/util.h"
#include "x509/x509_int.h"

int ignored_rc_probe(char *dst, size_t cap, jpki_rbuf *b, store *st,
		     const uint8_t *der, size_t len, jpki_basic4 *b4);

int ignored_rc_probe(char *dst, size_t cap, jpki_rbuf *b, store *st,
		     const uint8_t *der, size_t len, jpki_basic4 *b4)
{
	uint8_t v = 0;
	int rc = 0;
	/* each variant uses only some: no other warning may fail it */
	(void)dst, (void)cap, (void)b, (void)st, (void)der, (void)len;
	(void)b4;
#if JPKI_IGNORE_RC == 1
	jpki_strlcpy(dst, "probe", cap);
#elif JPKI_IGNORE_RC == 2
	jpki_rbuf_u8(b, &v);
#elif JPKI_IGNORE_RC == 3
	store_begin(st, NULL);
#elif JPKI_IGNORE_RC == 4
	x509i_basic4_parse(der, len, b4);
#else
	if ((rc = jpki_strlcpy(dst, "probe", cap)) != 0 ||
	    (rc = jpki_rbuf_u8(b, &v)) != 0 ||
	    (rc = store_begin(st, NULL)) != 0 ||
	    (rc = x509i_basic4_parse(der, len, b4)) != 0)
		return rc;
	/* the one documented way to drop a result on purpose */
	jpki_ignore(jpki_strlcpy(dst, "probe", cap));
#endif
	return rc + v;
}
