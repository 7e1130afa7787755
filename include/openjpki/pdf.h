/* openjpki — PDF signatures (ISO 32000-1 12.8, /SubFilter
 * /adbe.pkcs7.detached): reading a PDF's signatures and judging what the
 * incremental updates after each one changed, and adding a signature as
 * an incremental update.  The PDF structure is read with qpdf's C API;
 * only the appended section (objects, xref, trailer) and the
 * ByteRange/Contents placeholder are written here.  The CMS itself is
 * made and verified by the caller (OpenSSL, src/validation). */
#ifndef OPENJPKI_PDF_H
#define OPENJPKI_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PDF_FILE_MAX (256u << 20) /* the largest PDF read */
#define PDF_SIGS_MAX 32		  /* signatures judged per file */
#define PDF_NOTES_MAX 12	  /* problems / changes kept per signature */
#define PDF_NOTE_LEN 200
#define PDF_CMS_RESERVE 16384u		 /* default CMS room in a placeholder */
#define PDF_CMS_RESERVE_MAX (256u << 10) /* largest placeholder written */

typedef struct pdf_notes {
	size_t n;	/* notes kept (at most PDF_NOTES_MAX) */
	size_t dropped; /* notes past the limit */
	char text[PDF_NOTES_MAX][PDF_NOTE_LEN];
} pdf_notes;

/* One signature field with a value (/FT /Sig, /V). */
typedef struct pdf_sig {
	char field[128];    /* the field's full name (T), as UTF-8 */
	char subfilter[64]; /* "" when missing */
	char m[48];	    /* /M as written, "" when missing */
	long long br[4];    /* /ByteRange, valid when br_ok */
	bool br_ok;	    /* four non-negative integers */
	size_t rev_end;	    /* end of the signed revision: br[2] + br[3] */
	bool whole;	    /* rev_end is the end of the file */
	uint8_t *cms;	    /* the DER CMS, zero padding removed */
	size_t cms_len;	    /* 0 when there is none to verify */
	pdf_notes problems; /* why this signature cannot be trusted */
	pdf_notes changes;  /* what later updates changed, allowed */
} pdf_sig;

typedef struct pdf_report {
	size_t file_len;
	size_t n_sigs;	     /* signatures judged (at most PDF_SIGS_MAX) */
	size_t sigs_dropped; /* signatures past the limit */
	pdf_sig sigs[PDF_SIGS_MAX];
} pdf_report;

/* Read buf (a whole PDF file, at most PDF_FILE_MAX) and judge every
 * signature's structure: the ByteRange covers the file from byte 0 to the
 * end of a revision except exactly the signature's own Contents hex
 * string; the signature dictionary is in the revision it signs; and every
 * object the signed revision reaches is unchanged in the file as a viewer
 * reads it, except the additions of later signatures (docs/decisions.md,
 * "PDF signatures").  0 with *out filled (caller frees with
 * pdf_report_free(); a signature's problems say why it fails), or
 * JPKI_ERR_PARSE for a damaged or encrypted PDF (qpdf's message). */
JPKI_MUST_CHECK int pdf_inspect(const uint8_t *buf, size_t len,
				pdf_report **out, jpki_err *err);
void pdf_report_free(pdf_report *r);

/* The bytes br covers (buf[br0, br0+br1) then buf[br2, br2+br3)) into a
 * new buffer (caller frees). */
JPKI_MUST_CHECK int pdf_range_bytes(const uint8_t *buf, size_t len,
				    const long long br[4], uint8_t **out,
				    size_t *out_len, jpki_err *err);

typedef struct pdf_sign_opts {
	time_t now;	      /* /M */
	int page;	      /* 1-based page of the widget */
	bool visible;	      /* else an invisible field (/Rect [0 0 0 0]) */
	double rect[4];	      /* x, y, width, height in points */
	const char *field;    /* NULL: the first free "SignatureN" */
	const char *lines[4]; /* ASCII lines of a visible appearance */
	size_t reserve;	      /* CMS room in bytes (0: PDF_CMS_RESERVE) */
} pdf_sign_opts;

/* A PDF with a signature placeholder appended. */
typedef struct pdf_prepared {
	uint8_t *buf; /* the new file (Contents still zero) */
	size_t len;
	size_t contents_off; /* offset of the Contents '<' */
	size_t cap;	     /* CMS bytes the placeholder holds */
	long long br[4];     /* the ByteRange written */
	char field[128];     /* the new field's name */
} pdf_prepared;

/* Append an incremental update to in (a whole, undamaged, unencrypted
 * PDF) with a new signature field (a widget on page o->page) whose value
 * is a /adbe.pkcs7.detached signature dictionary, the ByteRange filled
 * in and Contents zeroed; the AcroForm and the page's /Annots are
 * extended.  Sign pdf_range_bytes(p->buf, p->len, p->br), then
 * pdf_sign_finish().  JPKI_ERR_PARSE for a damaged input. */
JPKI_MUST_CHECK int pdf_sign_prepare(const uint8_t *in, size_t in_len,
				     const pdf_sign_opts *o, pdf_prepared *p,
				     jpki_err *err);
/* Put the DER CMS into the placeholder (JPKI_ERR_RANGE if too big). */
JPKI_MUST_CHECK int pdf_sign_finish(pdf_prepared *p, const uint8_t *cms,
				    size_t cms_len, jpki_err *err);
void pdf_prepared_clear(pdf_prepared *p);

#ifdef __cplusplus
}
#endif
#endif
