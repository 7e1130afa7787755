/* Fuzz target: XML signature verification (xmlsig_verify) -- the signed
 * document is the input; an application's detached parts are the fixed
 * shinsei.xml and tenpu1.txt below (the seeds of make_xml_seeds.sh sign
 * exactly these bytes), the trust material that of the validation
 * fuzzers.  Every input must give a verdict or a clean error, a result
 * whose every failure is named, and a valid verdict only with a verified
 * signature, a signer, its root and a good revocation status. */
#include <stdint.h>

#include "fuzz_validation_common.h"
#include "openjpki/xmlsig.h"

/* keep in sync with tests/fuzz/make_xml_seeds.sh */
#define FX_XML_SHINSEI                                                         \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                         \
	"<申請書><申請内容>転居届</申請内容></申請書>\n"
#define FX_XML_TENPU "openjpki fuzz attachment\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char shinsei[] = FX_XML_SHINSEI, tenpu[] = FX_XML_TENPU;
	const xmlsig_part parts[2] = {
	    {"shinsei.xml", (const uint8_t *)shinsei, sizeof(shinsei) - 1,
	     false},
	    {"tenpu1.txt", (const uint8_t *)tenpu, sizeof(tenpu) - 1, true}};
	const fz_fixture *f = fz_get();
	jpki_validator *v = fz_validator(f, 1);
	val_opts o = {f->now, f->now, VAL_PURPOSE_SIGN};
	xmlsig_result r;
	jpki_err err = {0};
	int rc = xmlsig_verify(v, data, size, parts, 2, &o, &r, &err);
	if (rc == 0) {
		unsigned named = 0;
		for (size_t i = 0; i < r.val.n_msgs; i++)
			named |= r.val.msgs[i].what;
		if (named != r.val.fails || (r.val.fails & ~VAL_FAIL_ALL))
			abort();
		if (r.val.fails == 0 &&
		    (!r.signature_ok || r.val.cert == NULL ||
		     r.val.root == NULL || r.val.rev != VAL_REV_GOOD))
			abort();
		/* a verified signature means every Reference was checked */
		for (size_t i = 0; r.signature_ok && i < r.n_refs; i++)
			if (r.refs[i].status != XMLSIG_REF_OK)
				abort();
		xmlsig_result_clear(&r);
	}
	val_free(v);
	return 0;
}
