/* Shared by the PDF reader (pdf.c) and writer (pdf_sign.c): qpdf opened
 * strictly (no recovery, every warning an error) and a few typed reads. */
#ifndef JPKI_PDF_INT_H
#define JPKI_PDF_INT_H

#include <qpdf/qpdf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/error.h"

/* qpdf over buf[0, len): no xref reconstruction, warnings kept (and
 * treated as damage by pdfq_check), encrypted files refused.  Caller
 * ends *out with qpdf_cleanup(). */
JPKI_MUST_CHECK int pdfq_open(const uint8_t *buf, size_t len, const char *what,
			      qpdf_data *out, jpki_err *err);
/* JPKI_ERR_PARSE with qpdf's message if qpdf met an error or a warning
 * since the last call, else 0. */
JPKI_MUST_CHECK int pdfq_check(qpdf_data q, const char *what, jpki_err *err);
/* Whether dict[key] is the name `name` ("/Sig"). */
bool pdfq_name_is(qpdf_data q, qpdf_oh dict, const char *key, const char *name);
/* buf ends with "%%EOF" and at most one end-of-line marker. */
bool pdfq_ends_with_eof(const uint8_t *buf, size_t len);

#endif
