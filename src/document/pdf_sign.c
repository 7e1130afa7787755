/* Adding a signature to a PDF as an incremental update (ISO 32000-1
 * 7.5.6, 12.7.4.5, 12.8.1): the objects that change (catalog or
 * AcroForm, the page or its /Annots) are re-written as qpdf reads them
 * plus the new entries, followed by the new field/widget, its appearance
 * and the signature dictionary, a classic xref section and a trailer
 * with /Prev.  Nothing before the update is touched, so earlier
 * signatures stay valid. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/buf.h"
#include "openjpki/date.h"
#include "openjpki/pdf.h"
#include "openjpki/util.h"
#include "pdf_int.h"

#define OBJS_MAX 8
#define BR_FMT "0 %-10lld %-10lld %-10lld"
#define BR_WIDTH 34 /* "0 " and three 10-wide fields with spaces */

typedef struct newobj {
	int id, gen;
	char *text; /* the object's body (between "obj" and "endobj") */
} newobj;

typedef struct writer {
	newobj o[OBJS_MAX];
	size_t n;
	bool nomem;
} writer;

static char *vfmt(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	char *s = n < 0 ? NULL : malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = vfmt(f, ap);
	va_end(ap);
	return s;
}

static void put_obj(writer *w, int id, int gen, char *text)
{
	if (text == NULL || w->n == OBJS_MAX) {
		free(text);
		w->nomem = true;
		return;
	}
	w->o[w->n].id = id;
	w->o[w->n].gen = gen;
	w->o[w->n++].text = text;
}

/* d as qpdf unparses it with `extra` ("/Key value") added at the end;
 * the caller removed the keys it replaces. */
static char *splice(qpdf_data q, qpdf_oh d, const char *extra)
{
	const char *s = qpdf_oh_unparse_resolved(q, d);
	size_t n = strlen(s);
	if (extra == NULL || n < 4 || memcmp(s, "<<", 2) != 0 ||
	    memcmp(s + n - 2, ">>", 2) != 0)
		return NULL;
	return fmt("%.*s %s >>", (int)(n - 2), s, extra);
}

/* The array arr (null: empty) with item appended, as text. */
static char *array_plus(qpdf_data q, qpdf_oh arr, const char *item)
{
	if (qpdf_oh_is_null(q, arr))
		return fmt("[ %s ]", item);
	if (!qpdf_oh_is_array(q, arr))
		return NULL;
	const char *s = qpdf_oh_unparse_resolved(q, arr);
	size_t n = strlen(s);
	if (n < 2 || s[0] != '[' || s[n - 1] != ']')
		return NULL;
	return fmt("%.*s %s ]", (int)(n - 1), s, item);
}

/* The offset of the last cross-reference section (startxref). */
static int last_startxref(const uint8_t *buf, size_t len, long long *out)
{
	size_t from = len > 1024 ? len - 1024 : 0;
	for (size_t i = len >= 9 ? len - 9 : 0; i + 1 > from && i < len; i--) {
		if (memcmp(buf + i, "startxref", 9) != 0) {
			if (i == 0)
				break;
			continue;
		}
		size_t j = i + 9;
		long long v = 0;
		while (j < len && (buf[j] == ' ' || buf[j] == '\r' ||
				   buf[j] == '\n' || buf[j] == '\t'))
			j++;
		size_t d = j;
		while (j < len && buf[j] >= '0' && buf[j] <= '9' && j - d < 12)
			v = v * 10 + (buf[j++] - '0');
		if (j == d || (size_t)v >= len)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* Whether a top-level field is called name. */
static bool field_taken(qpdf_data q, qpdf_oh fields, const char *name)
{
	int n = qpdf_oh_is_array(q, fields)
		    ? qpdf_oh_get_array_n_items(q, fields)
		    : 0;
	bool taken = false;
	for (int i = 0; i < n && !taken; i++) {
		qpdf_oh f = qpdf_oh_get_array_item(q, fields, i);
		qpdf_oh t = qpdf_oh_get_key_if_dict(q, f, "/T");
		taken = qpdf_oh_is_string(q, t) &&
			strcmp(qpdf_oh_get_utf8_value(q, t), name) == 0;
		qpdf_oh_release(q, t);
		qpdf_oh_release(q, f);
	}
	return taken;
}

/* A literal string of printable ASCII, escaped. */
static void pdf_text(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c > 0x7e)
			c = '?';
		if (c == '(' || c == ')' || c == '\\')
			out[n++] = '\\';
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

static char *appearance(const pdf_sign_opts *o, int font_id, size_t *clen)
{
	double w = o->rect[2], h = o->rect[3];
	char body[2048], line[200];
	int n =
	    snprintf(body, sizeof(body),
		     "q 0.93 0.95 1 rg 0 0 %.2f %.2f re f 0.2 0.3 0.6 RG 1 "
		     "w 0.5 0.5 %.2f %.2f re S Q\nBT /F1 8 Tf 0 g 4 %.2f Td "
		     "10 TL\n",
		     w, h, w - 1, h - 1, h - 11);
	for (size_t i = 0;
	     i < 4 && o->lines[i] != NULL && n > 0 && (size_t)n < sizeof(body);
	     i++) {
		pdf_text(o->lines[i], line, sizeof(line));
		n += snprintf(body + n, sizeof(body) - (size_t)n,
			      "(%s) Tj T*\n", line);
	}
	if (n <= 0 || (size_t)n + 4 >= sizeof(body))
		return NULL;
	n += snprintf(body + n, sizeof(body) - (size_t)n, "ET\n");
	*clen = (size_t)n;
	return fmt("<< /Type /XObject /Subtype /Form /BBox [0 0 %.2f %.2f] "
		   "/Resources << /Font << /F1 %d 0 R >> >> /Length %d >>\n"
		   "stream\n%sendstream",
		   w, h, font_id, n, body);
}

static int wfmt(jpki_wbuf *b, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static int wfmt(jpki_wbuf *b, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = vfmt(f, ap);
	va_end(ap);
	if (s == NULL)
		return JPKI_ERR_NOMEM;
	int rc = jpki_wbuf_put(b, s, strlen(s));
	free(s);
	return rc;
}

typedef struct xent {
	int id, gen;
	size_t off;
} xent;

static int cmp_xent(const void *a, const void *b)
{
	const xent *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

int pdf_sign_prepare(const uint8_t *in, size_t in_len, const pdf_sign_opts *o,
		     pdf_prepared *p, jpki_err *err)
{
	qpdf_data q = NULL;
	writer w = {0};
	jpki_wbuf b;
	char name[128], wref[48], tstr[21], m[32];
	long long prev = 0;
	size_t cap = o->reserve ? o->reserve : PDF_CMS_RESERVE;
	size_t offs[OBJS_MAX + 1];
	int rc;
	memset(p, 0, sizeof(*p));
	jpki_wbuf_init(&b, PDF_FILE_MAX + 2 * PDF_CMS_RESERVE_MAX + 65536);
	if (in_len > PDF_FILE_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "PDF over %u bytes",
				 PDF_FILE_MAX);
	if (cap > PDF_CMS_RESERVE_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "signature room over %u bytes",
				 PDF_CMS_RESERVE_MAX);
	if (in_len < 8 || memcmp(in, "%PDF-", 5) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "not a PDF (no %%PDF- header)");
	if (!pdfq_ends_with_eof(in, in_len) ||
	    last_startxref(in, in_len, &prev) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "damaged PDF: it does not end with "
				 "startxref and %%%%EOF");
	if ((rc = pdfq_open(in, in_len, "PDF", &q, err)) != 0)
		return rc;

	qpdf_oh trailer = qpdf_get_trailer(q);
	qpdf_oh root = qpdf_get_root(q);
	qpdf_oh size_h = qpdf_oh_get_key_if_dict(q, trailer, "/Size");
	int size = 0, npages = qpdf_get_num_pages(q);
	if (!qpdf_oh_get_value_as_int(q, size_h, &size) || size < 1 ||
	    size > 8000000 || !qpdf_oh_is_indirect(q, root) ||
	    !qpdf_oh_is_dictionary(q, root) || npages < 1) {
		rc = pdfq_check(q, "PDF", err);
		if (rc == 0)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "damaged PDF: no /Size, catalog or "
				       "page");
		goto out;
	}
	if (o->page < 1 || o->page > npages) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "page %d: the document has %d page(s)", o->page,
			       npages);
		goto out;
	}
	qpdf_oh page = qpdf_get_page_n(q, (size_t)(o->page - 1));
	qpdf_oh af = qpdf_oh_get_key_if_dict(q, root, "/AcroForm");
	qpdf_oh fields = qpdf_oh_get_key_if_dict(q, af, "/Fields");
	if (!qpdf_oh_is_indirect(q, page) ||
	    (!qpdf_oh_is_null(q, af) && !qpdf_oh_is_dictionary(q, af)) ||
	    (!qpdf_oh_is_null(q, fields) && !qpdf_oh_is_array(q, fields))) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "damaged PDF: malformed page or AcroForm");
		goto out;
	}
	if (o->field != NULL) {
		if (!name_ok(o->field)) {
			rc = jpki_fail(err, JPKI_ERR_INVAL,
				       "field name: 1-64 of A-Z a-z 0-9 _ -");
			goto out;
		}
		if (field_taken(q, fields, o->field)) {
			rc = jpki_fail(err, JPKI_ERR_EXISTS,
				       "a field %s is already there", o->field);
			goto out;
		}
		snprintf(name, sizeof(name), "%s", o->field);
	} else {
		for (int i = 1;; i++) {
			snprintf(name, sizeof(name), "Signature%d", i);
			if (!field_taken(q, fields, name))
				break;
		}
	}
	snprintf(p->field, sizeof(p->field), "%s", name);

	int next = size;
	int sig_id = next++, wid_id = next++, ap_id = next++;
	int font_id = o->visible ? next++ : 0;
	int af_id = 0;
	snprintf(wref, sizeof(wref), "%d 0 R", wid_id);

	/* the page's /Annots */
	qpdf_oh annots = qpdf_oh_get_key_if_dict(q, page, "/Annots");
	char *at = array_plus(q, annots, wref);
	if (at == NULL) {
		rc =
		    jpki_fail(err, JPKI_ERR_PARSE, "damaged PDF: page /Annots");
		goto out;
	}
	if (qpdf_oh_is_indirect(q, annots)) {
		put_obj(&w, qpdf_oh_get_object_id(q, annots),
			qpdf_oh_get_generation(q, annots), at);
	} else {
		char *extra = fmt("/Annots %s", at);
		free(at);
		qpdf_oh_remove_key(q, page, "/Annots");
		put_obj(&w, qpdf_oh_get_object_id(q, page),
			qpdf_oh_get_generation(q, page),
			splice(q, page, extra));
		free(extra);
	}
	/* the AcroForm: /Fields extended, /SigFlags 3 (SignaturesExist,
	 * AppendOnly) */
	if (qpdf_oh_is_null(q, af)) {
		af_id = next++;
		char *extra = fmt("/AcroForm %d 0 R", af_id);
		qpdf_oh_remove_key(q, root, "/AcroForm");
		put_obj(&w, qpdf_oh_get_object_id(q, root),
			qpdf_oh_get_generation(q, root),
			splice(q, root, extra));
		free(extra);
		put_obj(&w, af_id, 0,
			fmt("<< /Fields [ %s ] /SigFlags 3 >>", wref));
	} else {
		char *ft = array_plus(q, fields, wref), *extra;
		if (ft == NULL) {
			w.nomem = true;
		} else if (qpdf_oh_is_indirect(q, fields)) {
			put_obj(&w, qpdf_oh_get_object_id(q, fields),
				qpdf_oh_get_generation(q, fields), ft);
			ft = NULL;
		}
		extra = ft != NULL ? fmt("/Fields %s /SigFlags 3", ft)
				   : fmt("/SigFlags 3");
		free(ft);
		qpdf_oh_remove_key(q, af, "/SigFlags");
		if (extra != NULL && strstr(extra, "/Fields") != NULL)
			qpdf_oh_remove_key(q, af, "/Fields");
		char *aft = splice(q, af, extra);
		free(extra);
		if (qpdf_oh_is_indirect(q, af)) {
			put_obj(&w, qpdf_oh_get_object_id(q, af),
				qpdf_oh_get_generation(q, af), aft);
		} else {
			extra = aft != NULL ? fmt("/AcroForm %s", aft) : NULL;
			free(aft);
			qpdf_oh_remove_key(q, root, "/AcroForm");
			put_obj(&w, qpdf_oh_get_object_id(q, root),
				qpdf_oh_get_generation(q, root),
				splice(q, root, extra));
			free(extra);
		}
	}
	/* the merged field and widget, its appearance (and font) */
	double x = o->visible ? o->rect[0] : 0, y = o->visible ? o->rect[1] : 0;
	double x2 = o->visible ? x + o->rect[2] : 0,
	       y2 = o->visible ? y + o->rect[3] : 0;
	put_obj(
	    &w, wid_id, 0,
	    fmt("<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) /V %d 0 R "
		"/F 132 /P %d %d R /Rect [%.2f %.2f %.2f %.2f] /AP << /N %d "
		"0 R >> >>",
		name, sig_id, qpdf_oh_get_object_id(q, page),
		qpdf_oh_get_generation(q, page), x, y, x2, y2, ap_id));
	if (o->visible) {
		size_t clen = 0;
		put_obj(&w, ap_id, 0, appearance(o, font_id, &clen));
		put_obj(
		    &w, font_id, 0,
		    fmt("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
			"/Encoding /WinAnsiEncoding >>"));
	} else {
		put_obj(&w, ap_id, 0,
			fmt("<< /Type /XObject /Subtype /Form /BBox [0 0 0 0] "
			    "/Length 0 >>\nstream\n\nendstream"));
	}
	if (w.nomem || (rc = pdfq_check(q, "PDF", err)) != 0) {
		if (rc == 0)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "damaged PDF: cannot rewrite its "
				       "catalog, AcroForm or page");
		goto out;
	}

	/* the update: the original bytes, then our objects */
	jpki_time_format(o->now, tstr); /* YYYY-MM-DDTHH:MM:SSZ */
	snprintf(m, sizeof(m), "D:%.4s%.2s%.2s%.2s%.2s%.2sZ", tstr, tstr + 5,
		 tstr + 8, tstr + 11, tstr + 14, tstr + 17);
	if ((rc = jpki_wbuf_put(&b, in, in_len)) != 0 ||
	    (in[in_len - 1] != '\n' && (rc = jpki_wbuf_put(&b, "\n", 1)) != 0))
		goto wfail;
	for (size_t i = 0; i < w.n; i++) {
		offs[i] = b.len;
		if ((rc = wfmt(&b, "%d %d obj\n%s\nendobj\n", w.o[i].id,
			       w.o[i].gen, w.o[i].text)) != 0)
			goto wfail;
	}
	offs[w.n] = b.len;
	size_t br_off, zeros = 2 * cap;
	if ((rc = wfmt(&b,
		       "%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite "
		       "/SubFilter /adbe.pkcs7.detached /ByteRange [",
		       sig_id)) != 0)
		goto wfail;
	br_off = b.len;
	if ((rc = wfmt(&b, BR_FMT "] /Contents ", 0LL, 0LL, 0LL)) != 0)
		goto wfail;
	p->contents_off = b.len;
	if ((rc = jpki_wbuf_put(&b, "<", 1)) != 0)
		goto wfail;
	for (size_t i = 0; i < zeros; i += 64) {
		static const char z[64] = "000000000000000000000000000000000000"
					  "0000000000000000000000000000";
		if ((rc = jpki_wbuf_put(&b, z,
					zeros - i < 64 ? zeros - i : 64)) != 0)
			goto wfail;
	}
	if ((rc = wfmt(&b, "> /M (%s) >>\nendobj\n", m)) != 0)
		goto wfail;
	/* xref subsections over the sorted ids */
	xent sorted[OBJS_MAX + 1];
	size_t nobj = w.n + 1;
	for (size_t i = 0; i < w.n; i++)
		sorted[i] = (xent){w.o[i].id, w.o[i].gen, offs[i]};
	sorted[w.n] = (xent){sig_id, 0, offs[w.n]};
	qsort(sorted, nobj, sizeof(sorted[0]), cmp_xent);
	size_t xref = b.len;
	if ((rc = wfmt(&b, "xref\n")) != 0)
		goto wfail;
	for (size_t i = 0; i < nobj;) {
		size_t j = i + 1;
		while (j < nobj && sorted[j].id == sorted[j - 1].id + 1)
			j++;
		if ((rc = wfmt(&b, "%d %zu\n", sorted[i].id, j - i)) != 0)
			goto wfail;
		for (size_t k = i; k < j; k++)
			if ((rc = wfmt(&b, "%010zu %05d n\r\n", sorted[k].off,
				       sorted[k].gen)) != 0)
				goto wfail;
		i = j;
	}
	qpdf_oh info = qpdf_oh_get_key_if_dict(q, trailer, "/Info");
	qpdf_oh id = qpdf_oh_get_key_if_dict(q, trailer, "/ID");
	char *info_s = qpdf_oh_is_indirect(q, info)
			   ? fmt(" /Info %s", qpdf_oh_unparse(q, info))
			   : strdup("");
	char *id_s = qpdf_oh_is_array(q, id)
			 ? fmt(" /ID %s", qpdf_oh_unparse_resolved(q, id))
			 : strdup("");
	if (info_s == NULL || id_s == NULL)
		rc = JPKI_ERR_NOMEM;
	else
		rc = wfmt(&b,
			  "trailer\n<< /Size %d /Root %d %d R /Prev %lld%s%s "
			  ">>\nstartxref\n%zu\n%%%%EOF\n",
			  next, qpdf_oh_get_object_id(q, root),
			  qpdf_oh_get_generation(q, root), prev, info_s, id_s,
			  xref);
	free(info_s);
	free(id_s);
	if (rc != 0)
		goto wfail;

	/* the ByteRange: everything but the Contents hex string */
	p->br[0] = 0;
	p->br[1] = (long long)p->contents_off;
	p->br[2] = (long long)(p->contents_off + zeros + 2);
	p->br[3] = (long long)(b.len - (size_t)p->br[2]);
	char brs[BR_WIDTH + 1];
	if (b.len >= 10000000000ull ||
	    snprintf(brs, sizeof(brs), BR_FMT, p->br[1], p->br[2], p->br[3]) !=
		BR_WIDTH) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "PDF too large to sign");
		goto out;
	}
	memcpy(b.p + br_off, brs, BR_WIDTH);
	p->cap = cap;
	p->buf = b.p;
	p->len = b.len;
	b.p = NULL;
	goto out;
wfail:
	rc = jpki_fail(err, rc == JPKI_ERR_RANGE ? rc : JPKI_ERR_NOMEM,
		       "writing the signed PDF: %s",
		       rc == JPKI_ERR_RANGE ? "too large" : "out of memory");
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.o[i].text);
	if (b.p != NULL)
		free(b.p);
	if (q != NULL)
		qpdf_cleanup(&q);
	return rc;
}

int pdf_sign_finish(pdf_prepared *p, const uint8_t *cms, size_t cms_len,
		    jpki_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	if (cms_len > p->cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "the CMS (%zu bytes) is larger than its room "
				 "(%zu bytes)",
				 cms_len, p->cap);
	uint8_t *d = p->buf + p->contents_off + 1;
	for (size_t i = 0; i < cms_len; i++) {
		d[2 * i] = (uint8_t)hex[cms[i] >> 4];
		d[2 * i + 1] = (uint8_t)hex[cms[i] & 15];
	}
	return 0;
}

void pdf_prepared_clear(pdf_prepared *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}
