/* Fuzz target: the PDF reader (src/document) on untrusted bytes, as
 * `jpki pdf verify` and `jpki pdf sign` run it: pdf_inspect(), then for
 * every signature the bytes its ByteRange covers and their CMS through
 * the validation of the validation fuzzers' trust material; and
 * pdf_sign_prepare() (a signer reads the PDF it is given), whose output
 * with a CMS put in must read back with its new signature sound.  Every
 * input must give a report or a clean error; a signature without
 * problems must have a ByteRange over the file from byte 0 and a CMS; a
 * failure of the CMS verdict must be named.  The seeds are made by
 * tests/fuzz/make_pdf_seeds.sh. */
#include <stdint.h>

#include "fuzz_validation_common.h"
#include "openjpki/pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sig(jpki_validator *v, const fz_fixture *f,
		      const uint8_t *data, size_t size, const pdf_sig *s)
{
	jpki_err err = {0};
	if (s->problems.n == 0 &&
	    (!s->br_ok || s->cms_len == 0 || s->br[0] != 0 ||
	     s->rev_end > size || s->whole != (s->rev_end == size)))
		abort();
	if (s->problems.n > PDF_NOTES_MAX || s->changes.n > PDF_NOTES_MAX ||
	    memchr(s->field, 0, sizeof(s->field)) == NULL)
		abort();
	if (!s->br_ok || s->cms_len == 0)
		return;
	uint8_t *signed_bytes = NULL;
	size_t n = 0;
	if (pdf_range_bytes(data, size, s->br, &signed_bytes, &n, &err) != 0)
		abort(); /* a ByteRange judged sound lies within the file */
	if (n != (size_t)(s->br[1] + s->br[3]))
		abort();
	val_opts o = {f->now, f->now, VAL_PURPOSE_SIGN};
	val_result r;
	memset(&r, 0, sizeof(r));
	if (val_cms(v, s->cms, s->cms_len, signed_bytes, n, &o, &r, &err) ==
	    0) {
		unsigned named = 0;
		for (size_t i = 0; i < r.n_msgs; i++)
			named |= r.msgs[i].what;
		if (named != r.fails || (r.fails & ~VAL_FAIL_ALL))
			abort();
		val_result_clear(&r);
	}
	free(signed_bytes);
}

/* What `jpki pdf sign` does with a software key, the CMS replaced by a
 * fixed DER SEQUENCE (the reader only checks it is DER). */
static void sign_once(const uint8_t *data, size_t size, time_t now)
{
	static const uint8_t cms[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	pdf_sign_opts so = {0};
	pdf_prepared pp = {0};
	pdf_report *rep = NULL;
	jpki_err err = {0};
	so.now = now;
	so.page = 1 + (int)(size % 2);
	so.visible = size % 3 == 0;
	so.rect[0] = so.rect[1] = 10;
	so.rect[2] = so.rect[3] = 40;
	so.lines[0] = "Digitally signed (JPKI)";
	if (pdf_sign_prepare(data, size, &so, &pp, &err) != 0)
		return;
	if (pp.len <= size || memcmp(pp.buf, data, size) != 0)
		abort(); /* an incremental update keeps every earlier byte */
	if (pdf_sign_finish(&pp, cms, sizeof(cms), &err) != 0)
		abort();
	if (pdf_inspect(pp.buf, pp.len, &rep, &err) == 0) {
		for (size_t i = 0; i < rep->n_sigs; i++)
			if (strcmp(rep->sigs[i].field, pp.field) == 0 &&
			    rep->sigs[i].problems.n == 0 &&
			    (!rep->sigs[i].whole ||
			     rep->sigs[i].cms_len != sizeof(cms)))
				abort();
		pdf_report_free(rep);
	}
	pdf_prepared_clear(&pp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fz_fixture *f = fz_get();
	pdf_report *rep = NULL;
	jpki_err err = {0};
	if (pdf_inspect(data, size, &rep, &err) == 0) {
		jpki_validator *v = fz_validator(f, 1);
		if (rep->file_len != size || rep->n_sigs > PDF_SIGS_MAX)
			abort();
		for (size_t i = 0; i < rep->n_sigs; i++)
			check_sig(v, f, data, size, &rep->sigs[i]);
		val_free(v);
		pdf_report_free(rep);
	}
	sign_once(data, size, f->now);
	return 0;
}
