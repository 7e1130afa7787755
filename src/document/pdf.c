/* Reading a PDF's signatures and judging the incremental updates after
 * each one (ISO 32000-1 12.8.1, 7.5.6).  qpdf parses; this file decides.
 * The profile and the attack classes it refuses are in docs/decisions.md
 * ("PDF signatures"). */
#include <limits.h>
#include <openssl/asn1.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/pdf.h"
#include "pdf_int.h"

#define FIELD_DEPTH_MAX 8
#define FIELD_VISITS_MAX 20000
#define WALK_STEPS_MAX (4u * 1000 * 1000)
#define KEYS_MAX 4096

/* ------------------------------------------------------------------ */
/* qpdf, strictly                                                      */

int pdfq_check(qpdf_data q, const char *what, jpki_err *err)
{
	if (qpdf_has_error(q)) {
		qpdf_error e = qpdf_get_error(q);
		return jpki_fail(err, JPKI_ERR_PARSE, "%s: damaged PDF: %s",
				 what, qpdf_get_error_full_text(q, e));
	}
	if (qpdf_more_warnings(q)) {
		qpdf_error w = qpdf_next_warning(q);
		return jpki_fail(err, JPKI_ERR_PARSE, "%s: damaged PDF: %s",
				 what, qpdf_get_error_full_text(q, w));
	}
	return 0;
}

int pdfq_open(const uint8_t *buf, size_t len, const char *what, qpdf_data *out,
	      jpki_err *err)
{
	qpdf_data q = qpdf_init();
	int rc;
	*out = NULL;
	if (q == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	qpdf_set_attempt_recovery(q, QPDF_FALSE);
	(void)qpdf_read_memory(q, what, (const char *)buf, len, NULL);
	if ((rc = pdfq_check(q, what, err)) != 0) {
		qpdf_cleanup(&q);
		return rc;
	}
	if (qpdf_is_encrypted(q)) {
		qpdf_cleanup(&q);
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "%s: encrypted PDFs are not supported", what);
	}
	*out = q;
	return 0;
}

bool pdfq_name_is(qpdf_data q, qpdf_oh dict, const char *key, const char *name)
{
	qpdf_oh v = qpdf_oh_get_key_if_dict(q, dict, key);
	bool r = qpdf_oh_is_name_and_equals(q, v, name) != 0;
	qpdf_oh_release(q, v);
	return r;
}

bool pdfq_ends_with_eof(const uint8_t *buf, size_t len)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	return len >= 5 && memcmp(buf + len - 5, "%%EOF", 5) == 0;
}

/* ------------------------------------------------------------------ */
/* Notes                                                               */

static void note(pdf_notes *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(pdf_notes *n, const char *fmt, ...)
{
	va_list ap;
	if (n->n >= PDF_NOTES_MAX) {
		n->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(n->text[n->n++], PDF_NOTE_LEN, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Signature fields                                                    */

typedef struct sigref {
	char name[128];
	qpdf_oh v;
} sigref;

typedef struct sigrefs {
	sigref *a;
	size_t n, cap, budget;
	bool nomem;
} sigrefs;

static void add_sig(sigrefs *s, const char *name, qpdf_oh v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		sigref *a = realloc(s->a, cap * sizeof(*a));
		if (a == NULL) {
			s->nomem = true;
			return;
		}
		s->a = a;
		s->cap = cap;
	}
	snprintf(s->a[s->n].name, sizeof(s->a[s->n].name), "%s", name);
	s->a[s->n++].v = v;
}

/* The field's partial name T as printable UTF-8 ("?" for controls). */
static void field_name(qpdf_data q, qpdf_oh f, const char *parent, char *out,
		       size_t cap)
{
	char t[96] = "";
	qpdf_oh th = qpdf_oh_get_key_if_dict(q, f, "/T");
	if (qpdf_oh_is_string(q, th)) {
		const char *u = qpdf_oh_get_utf8_value(q, th);
		snprintf(t, sizeof(t), "%s", u != NULL ? u : "");
		for (char *p = t; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	qpdf_oh_release(q, th);
	if (parent[0] != '\0' && t[0] != '\0')
		snprintf(out, cap, "%s.%s", parent, t);
	else
		snprintf(out, cap, "%s", parent[0] != '\0' ? parent : t);
}

/* Fields with /FT /Sig (own or inherited) and a dictionary /V. */
static void walk_fields(qpdf_data q, qpdf_oh arr, const char *pname, bool psig,
			int depth, sigrefs *s)
{
	int n = qpdf_oh_get_array_n_items(q, arr);
	for (int i = 0; i < n && s->budget > 0; i++) {
		char name[128];
		qpdf_oh f = qpdf_oh_get_array_item(q, arr, i);
		s->budget--;
		if (!qpdf_oh_is_dictionary(q, f)) {
			qpdf_oh_release(q, f);
			continue;
		}
		field_name(q, f, pname, name, sizeof(name));
		bool sig = psig;
		if (qpdf_oh_has_key(q, f, "/FT"))
			sig = pdfq_name_is(q, f, "/FT", "/Sig");
		qpdf_oh v = qpdf_oh_get_key_if_dict(q, f, "/V");
		if (sig && qpdf_oh_is_dictionary(q, v))
			add_sig(s, name, v);
		qpdf_oh kids = qpdf_oh_get_key_if_dict(q, f, "/Kids");
		if (depth < FIELD_DEPTH_MAX && qpdf_oh_is_array(q, kids))
			walk_fields(q, kids, name, sig, depth + 1, s);
		qpdf_oh_release(q, kids);
		qpdf_oh_release(q, f);
	}
}

static int collect_sigs(qpdf_data q, sigrefs *s, jpki_err *err)
{
	qpdf_oh root = qpdf_get_root(q);
	qpdf_oh af = qpdf_oh_get_key_if_dict(q, root, "/AcroForm");
	qpdf_oh fields = qpdf_oh_get_key_if_dict(q, af, "/Fields");
	memset(s, 0, sizeof(*s));
	s->budget = FIELD_VISITS_MAX;
	if (qpdf_oh_is_array(q, fields))
		walk_fields(q, fields, "", false, 0, s);
	qpdf_oh_release(q, fields);
	qpdf_oh_release(q, af);
	qpdf_oh_release(q, root);
	if (s->nomem)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Objects reachable from the catalog                                   */

typedef struct objset {
	uint64_t *slot; /* open addressing, 0 = empty */
	size_t cap, n;
	uint64_t *list; /* in insertion order */
} objset;

static uint64_t okey(int id, int gen)
{
	return ((uint64_t)(uint32_t)id << 32) | (uint32_t)gen;
}

static void objset_free(objset *s)
{
	free(s->slot);
	free(s->list);
	memset(s, 0, sizeof(*s));
}

/* 1 added, 0 already there, -1 out of memory */
static int objset_add(objset *s, uint64_t k)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *slot = calloc(cap, sizeof(*slot));
		uint64_t *list = realloc(s->list, cap * sizeof(*list));
		if (slot == NULL || list == NULL) {
			free(slot);
			if (list != NULL)
				s->list = list;
			return -1;
		}
		s->list = list;
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slot[i] == 0)
				continue;
			size_t j =
			    (size_t)(s->slot[i] * 0x9E3779B97F4A7C15ull) &
			    (cap - 1);
			while (slot[j] != 0)
				j = (j + 1) & (cap - 1);
			slot[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t j = (size_t)(k * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
	while (s->slot[j] != 0) {
		if (s->slot[j] == k)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = k;
	s->list[s->n++] = k;
	return 1;
}

/* Every indirect object (id, gen) the catalog reaches, references to
 * missing objects included (they read as null, and must stay so). */
static int reach(qpdf_data q, objset *seen, jpki_err *err)
{
	qpdf_oh *stack = NULL;
	size_t n = 0, cap = 0, steps = 0;
	char **keys = NULL;
	int rc = 0;
	if ((keys = calloc(KEYS_MAX, sizeof(*keys))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	qpdf_oh root = qpdf_get_root(q);
	if ((stack = malloc(64 * sizeof(*stack))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	cap = 64;
	stack[n++] = root;
	while (n > 0) {
		qpdf_oh h = stack[--n];
		if (++steps > WALK_STEPS_MAX) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "PDF: over %u objects to compare",
				       WALK_STEPS_MAX);
			goto out;
		}
		if (qpdf_oh_is_indirect(q, h)) {
			int a = objset_add(seen,
					   okey(qpdf_oh_get_object_id(q, h),
						qpdf_oh_get_generation(q, h)));
			if (a < 0) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			if (a == 0) {
				qpdf_oh_release(q, h);
				continue;
			}
		}
		qpdf_oh kids[1] = {0};
		size_t nk = 0, nkeys = 0;
		qpdf_oh d = 0;
		if (qpdf_oh_is_stream(q, h)) {
			kids[nk++] = qpdf_oh_get_dict(q, h);
		} else if (qpdf_oh_is_dictionary(q, h)) {
			d = h;
		} else if (qpdf_oh_is_array(q, h)) {
			int m = qpdf_oh_get_array_n_items(q, h);
			for (int i = 0; i < m; i++) {
				if (n == cap) {
					qpdf_oh *s = realloc(
					    stack, 2 * cap * sizeof(*s));
					if (s == NULL) {
						rc = jpki_fail(err,
							       JPKI_ERR_NOMEM,
							       "out of memory");
						goto out;
					}
					stack = s;
					cap *= 2;
				}
				stack[n++] = qpdf_oh_get_array_item(q, h, i);
			}
		}
		if (d != 0) {
			qpdf_oh_begin_dict_key_iter(q, d);
			while (qpdf_oh_dict_more_keys(q) && nkeys < KEYS_MAX) {
				const char *k = qpdf_oh_dict_next_key(q);
				if ((keys[nkeys] = strdup(k)) == NULL) {
					rc = jpki_fail(err, JPKI_ERR_NOMEM,
						       "out of memory");
					goto out;
				}
				nkeys++;
			}
		}
		for (size_t i = 0; i < nkeys + nk; i++) {
			if (n == cap) {
				qpdf_oh *s =
				    realloc(stack, 2 * cap * sizeof(*s));
				if (s == NULL) {
					rc = jpki_fail(err, JPKI_ERR_NOMEM,
						       "out of memory");
					goto out;
				}
				stack = s;
				cap *= 2;
			}
			if (i < nkeys) {
				stack[n++] =
				    qpdf_oh_get_key_if_dict(q, d, keys[i]);
				free(keys[i]);
				keys[i] = NULL;
			} else {
				stack[n++] = kids[i - nkeys];
			}
		}
		qpdf_oh_release(q, h);
	}
out:
	for (size_t i = 0; i < KEYS_MAX; i++)
		free(keys[i]);
	free(keys);
	free(stack);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Comparing the signed revision with the file as read                  */

static bool obj_equal(qpdf_data qp, qpdf_oh p, qpdf_data qf, qpdf_oh f)
{
	if (qpdf_oh_get_type_code(qp, p) != qpdf_oh_get_type_code(qf, f))
		return false;
	if (!qpdf_oh_is_stream(qp, p)) {
		char *a = strdup(qpdf_oh_unparse_resolved(qp, p));
		bool r = a != NULL &&
			 strcmp(a, qpdf_oh_unparse_resolved(qf, f)) == 0;
		free(a);
		return r;
	}
	qpdf_oh dp = qpdf_oh_get_dict(qp, p), df = qpdf_oh_get_dict(qf, f);
	bool r = obj_equal(qp, dp, qf, df);
	qpdf_oh_release(qp, dp);
	qpdf_oh_release(qf, df);
	if (!r)
		return false;
	unsigned char *bp = NULL, *bf = NULL;
	size_t lp = 0, lf = 0;
	if (qpdf_oh_get_stream_data(qp, p, qpdf_dl_none, NULL, &bp, &lp) !=
		QPDF_SUCCESS ||
	    qpdf_oh_get_stream_data(qf, f, qpdf_dl_none, NULL, &bf, &lf) !=
		QPDF_SUCCESS)
		r = false;
	else
		r = lp == lf && (lp == 0 || memcmp(bp, bf, lp) == 0);
	free(bp);
	free(bf);
	return r;
}

/* A string copy of unparse (references as "N G R"). */
static char *unparse(qpdf_data q, qpdf_oh h)
{
	return strdup(qpdf_oh_unparse(q, h));
}

static bool is_sig_field(qpdf_data q, qpdf_oh h)
{
	return qpdf_oh_is_dictionary(q, h) && pdfq_name_is(q, h, "/FT", "/Sig");
}

static bool is_sig_widget(qpdf_data q, qpdf_oh h)
{
	if (!qpdf_oh_is_dictionary(q, h) ||
	    !pdfq_name_is(q, h, "/Subtype", "/Widget"))
		return false;
	if (qpdf_oh_has_key(q, h, "/FT"))
		return pdfq_name_is(q, h, "/FT", "/Sig");
	qpdf_oh par = qpdf_oh_get_key_if_dict(q, h, "/Parent");
	bool r = is_sig_field(q, par);
	qpdf_oh_release(q, par);
	return r;
}

/* final's array is signed's (null = empty) with entries appended, each
 * passing pred; *added says how many. */
static bool list_extends(qpdf_data qp, qpdf_oh p, qpdf_data qf, qpdf_oh f,
			 bool (*pred)(qpdf_data, qpdf_oh), int *added)
{
	int np = 0, nf;
	*added = 0;
	if (!qpdf_oh_is_array(qf, f))
		return false;
	if (qpdf_oh_is_array(qp, p))
		np = qpdf_oh_get_array_n_items(qp, p);
	else if (!qpdf_oh_is_null(qp, p))
		return false;
	nf = qpdf_oh_get_array_n_items(qf, f);
	if (np > nf)
		return false;
	for (int i = 0; i < nf; i++) {
		qpdf_oh ip = i < np ? qpdf_oh_get_array_item(qp, p, i) : 0;
		qpdf_oh it = qpdf_oh_get_array_item(qf, f, i);
		bool ok;
		if (i < np) {
			char *a = unparse(qp, ip);
			ok = a != NULL &&
			     strcmp(a, qpdf_oh_unparse(qf, it)) == 0;
			free(a);
			qpdf_oh_release(qp, ip);
		} else {
			ok = pred(qf, it);
		}
		qpdf_oh_release(qf, it);
		if (!ok)
			return false;
	}
	*added = nf - np;
	return true;
}

/* The keys of d as copies (caller frees), or SIZE_MAX (nothing kept)
 * when over cap or out of memory. */
static size_t dict_keys(qpdf_data q, qpdf_oh d, char **keys, size_t cap)
{
	size_t n = 0;
	qpdf_oh_begin_dict_key_iter(q, d);
	while (qpdf_oh_dict_more_keys(q)) {
		const char *k = qpdf_oh_dict_next_key(q);
		if (n < cap && (keys[n] = strdup(k)) != NULL) {
			n++;
			continue;
		}
		while (n > 0)
			free(keys[--n]);
		return SIZE_MAX;
	}
	return n;
}

static bool allowed_key(const char *k, const char *const *allow)
{
	for (size_t i = 0; allow[i] != NULL; i++)
		if (strcmp(k, allow[i]) == 0)
			return true;
	return false;
}

/* Same keys and values (references compared as references), except the
 * keys in allow (NULL-terminated). */
static bool dict_same_except(qpdf_data qp, qpdf_oh p, qpdf_data qf, qpdf_oh f,
			     const char *const *allow)
{
	char *kp[256], *kf[256];
	size_t np, nf;
	bool ok = true;
	if (!qpdf_oh_is_dictionary(qp, p) || !qpdf_oh_is_dictionary(qf, f))
		return false;
	np = dict_keys(qp, p, kp, 256);
	nf = np == SIZE_MAX ? SIZE_MAX : dict_keys(qf, f, kf, 256);
	if (np == SIZE_MAX || nf == SIZE_MAX) {
		ok = false;
		goto out;
	}
	for (size_t i = 0; i < np && ok; i++) {
		if (allowed_key(kp[i], allow))
			continue;
		qpdf_oh a = qpdf_oh_get_key_if_dict(qp, p, kp[i]);
		qpdf_oh b = qpdf_oh_get_key_if_dict(qf, f, kp[i]);
		char *s = unparse(qp, a);
		ok = s != NULL && qpdf_oh_has_key(qf, f, kp[i]) &&
		     strcmp(s, qpdf_oh_unparse(qf, b)) == 0;
		free(s);
		qpdf_oh_release(qp, a);
		qpdf_oh_release(qf, b);
	}
	for (size_t i = 0; i < nf && ok; i++)
		if (!allowed_key(kf[i], allow) &&
		    !qpdf_oh_has_key(qp, p, kf[i]))
			ok = false;
out:
	for (size_t i = 0; np != SIZE_MAX && i < np; i++)
		free(kp[i]);
	for (size_t i = 0; nf != SIZE_MAX && i < nf; i++)
		free(kf[i]);
	return ok;
}

static const char *const af_allow[] = {"/Fields", "/SigFlags", NULL};

/* The AcroForm dictionary: only /Fields extended by signature fields and
 * /SigFlags may change; a new one may hold only those two. */
static bool acroform_ok(qpdf_data qp, qpdf_oh p, qpdf_data qf, qpdf_oh f,
			int *added)
{
	*added = 0;
	if (!qpdf_oh_is_dictionary(qf, f))
		return qpdf_oh_is_null(qp, p) && qpdf_oh_is_null(qf, f);
	bool ok;
	qpdf_oh fp = qpdf_oh_get_key_if_dict(qp, p, "/Fields");
	qpdf_oh ff = qpdf_oh_get_key_if_dict(qf, f, "/Fields");
	if (qpdf_oh_is_null(qp, p)) {
		qpdf_oh empty = qpdf_oh_new_dictionary(qp);
		ok = dict_same_except(qp, empty, qf, f, af_allow);
		qpdf_oh_release(qp, empty);
	} else {
		ok = dict_same_except(qp, p, qf, f, af_allow);
	}
	ok = ok && list_extends(qp, fp, qf, ff, is_sig_field, added);
	qpdf_oh_release(qp, fp);
	qpdf_oh_release(qf, ff);
	return ok;
}

enum role { R_NONE, R_CATALOG, R_ACROFORM, R_FIELDS, R_PAGE, R_ANNOTS };

typedef struct rolemap {
	uint64_t catalog, acroform, fields;
	uint64_t *pages, *annots; /* page i's object and its /Annots */
	size_t n_pages;
} rolemap;

static uint64_t ref_key(qpdf_data q, qpdf_oh h)
{
	if (!qpdf_oh_is_indirect(q, h))
		return 0;
	return okey(qpdf_oh_get_object_id(q, h), qpdf_oh_get_generation(q, h));
}

/* Where the file as read puts the objects a signer may extend. */
static int roles_of(qpdf_data qf, rolemap *m, jpki_err *err)
{
	memset(m, 0, sizeof(*m));
	qpdf_oh root = qpdf_get_root(qf);
	qpdf_oh af = qpdf_oh_get_key_if_dict(qf, root, "/AcroForm");
	qpdf_oh fl = qpdf_oh_get_key_if_dict(qf, af, "/Fields");
	m->catalog = ref_key(qf, root);
	m->acroform = ref_key(qf, af);
	m->fields = ref_key(qf, fl);
	int np = qpdf_get_num_pages(qf);
	if (np < 0 || qpdf_has_error(qf)) {
		(void)qpdf_get_error(qf);
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "damaged PDF: no readable page tree");
	}
	m->n_pages = (size_t)np;
	m->pages = calloc(m->n_pages + 1, sizeof(*m->pages));
	m->annots = calloc(m->n_pages + 1, sizeof(*m->annots));
	if (m->pages == NULL || m->annots == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < m->n_pages; i++) {
		qpdf_oh pg = qpdf_get_page_n(qf, i);
		qpdf_oh an = qpdf_oh_get_key_if_dict(qf, pg, "/Annots");
		m->pages[i] = ref_key(qf, pg);
		m->annots[i] = ref_key(qf, an);
		qpdf_oh_release(qf, an);
		qpdf_oh_release(qf, pg);
	}
	qpdf_oh_release(qf, fl);
	qpdf_oh_release(qf, af);
	qpdf_oh_release(qf, root);
	return 0;
}

static void roles_free(rolemap *m)
{
	free(m->pages);
	free(m->annots);
	memset(m, 0, sizeof(*m));
}

static enum role role_of(const rolemap *m, uint64_t k, size_t *page)
{
	if (k == m->catalog)
		return R_CATALOG;
	if (k == m->acroform)
		return R_ACROFORM;
	if (k == m->fields)
		return R_FIELDS;
	for (size_t i = 0; i < m->n_pages; i++) {
		if (k == m->pages[i] || k == m->annots[i]) {
			*page = i + 1;
			return k == m->pages[i] ? R_PAGE : R_ANNOTS;
		}
	}
	return R_NONE;
}

/* A changed object: allowed (noted in s->changes) or not (s->problems). */
static void judge_change(qpdf_data qp, qpdf_oh p, qpdf_data qf, qpdf_oh f,
			 int id, int gen, const rolemap *m, pdf_sig *s)
{
	static const char *const cat_allow[] = {"/AcroForm", NULL};
	static const char *const page_allow[] = {"/Annots", NULL};
	static const char *const field_allow[] = {"/V", NULL};
	size_t page = 0;
	int added = 0;
	bool ok = false;
	const char *what = "object";
	switch (role_of(m, okey(id, gen), &page)) {
	case R_CATALOG: {
		what = "catalog";
		qpdf_oh ap = qpdf_oh_get_key_if_dict(qp, p, "/AcroForm");
		qpdf_oh af = qpdf_oh_get_key_if_dict(qf, f, "/AcroForm");
		if (dict_same_except(qp, p, qf, f, cat_allow)) {
			/* the same indirect AcroForm: judged on its own */
			char *a = unparse(qp, ap);
			ok = a != NULL && qpdf_oh_is_indirect(qp, ap) &&
			     strcmp(a, qpdf_oh_unparse(qf, af)) == 0;
			free(a);
			if (!ok)
				ok = acroform_ok(qp, ap, qf, af, &added);
		}
		qpdf_oh_release(qp, ap);
		qpdf_oh_release(qf, af);
		break;
	}
	case R_ACROFORM:
		what = "AcroForm";
		ok = acroform_ok(qp, p, qf, f, &added);
		break;
	case R_FIELDS:
		what = "AcroForm /Fields";
		ok = list_extends(qp, p, qf, f, is_sig_field, &added);
		break;
	case R_PAGE: {
		what = "page";
		qpdf_oh ap = qpdf_oh_get_key_if_dict(qp, p, "/Annots");
		qpdf_oh af = qpdf_oh_get_key_if_dict(qf, f, "/Annots");
		ok = dict_same_except(qp, p, qf, f, page_allow) &&
		     list_extends(qp, ap, qf, af, is_sig_widget, &added);
		qpdf_oh_release(qp, ap);
		qpdf_oh_release(qf, af);
		break;
	}
	case R_ANNOTS:
		what = "page /Annots";
		ok = list_extends(qp, p, qf, f, is_sig_widget, &added);
		break;
	case R_NONE:
		/* a prepared, empty signature field that got its value */
		if (is_sig_field(qp, p) && !qpdf_oh_has_key(qp, p, "/V") &&
		    dict_same_except(qp, p, qf, f, field_allow)) {
			qpdf_oh v = qpdf_oh_get_key_if_dict(qf, f, "/V");
			ok = qpdf_oh_is_dictionary(qf, v);
			qpdf_oh_release(qf, v);
			what = "empty signature field";
			added = 1;
		}
		break;
	}
	if (ok && page > 0)
		note(&s->changes,
		     "%s %zu (object %d %d): %d signature widget(s) "
		     "added",
		     what, page, id, gen, added);
	else if (ok)
		note(&s->changes,
		     "%s (object %d %d): %d signature field(s) "
		     "added",
		     what, id, gen, added);
	else if (page > 0)
		note(&s->problems,
		     "a later update changes signed %s %zu (object %d %d) "
		     "beyond adding signature widgets",
		     what, page, id, gen);
	else
		note(&s->problems,
		     "a later update changes signed %s %d %d (%s)", what, id,
		     gen,
		     qpdf_oh_is_null(qp, p)   ? "missing when signed, defined "
						"later"
		     : qpdf_oh_is_null(qf, f) ? "deleted"
					      : "content replaced");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Every object the signed revision (qp) reaches must read the same in
 * the whole file (qf), except the additions a later signer makes. */
static int compare_revisions(qpdf_data qp, qpdf_data qf, pdf_sig *s,
			     jpki_err *err)
{
	objset seen = {0};
	rolemap m = {0};
	int rc;
	qpdf_oh rp = qpdf_get_root(qp), rf = qpdf_get_root(qf);
	if (ref_key(qp, rp) != ref_key(qf, rf))
		note(&s->problems, "a later update replaces the document "
				   "catalog (/Root)");
	qpdf_oh_release(qp, rp);
	qpdf_oh_release(qf, rf);
	if ((rc = reach(qp, &seen, err)) != 0 ||
	    (rc = roles_of(qf, &m, err)) != 0)
		goto out;
	qsort(seen.list, seen.n, sizeof(seen.list[0]), cmp_u64);
	for (size_t i = 0; i < seen.n; i++) {
		int id = (int)(seen.list[i] >> 32);
		int gen = (int)(uint32_t)seen.list[i];
		qpdf_oh p = qpdf_get_object_by_id(qp, id, gen);
		qpdf_oh f = qpdf_get_object_by_id(qf, id, gen);
		if (!obj_equal(qp, p, qf, f))
			judge_change(qp, p, qf, f, id, gen, &m, s);
		qpdf_oh_release(qp, p);
		qpdf_oh_release(qf, f);
	}
	if ((rc = pdfq_check(qp, "the signed revision", err)) != 0 ||
	    (rc = pdfq_check(qf, "PDF", err)) != 0)
		goto out;
out:
	roles_free(&m);
	objset_free(&seen);
	return rc;
}

/* ------------------------------------------------------------------ */
/* One signature                                                       */

static bool hexval(uint8_t c, uint8_t *v)
{
	if (c >= '0' && c <= '9')
		*v = (uint8_t)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*v = (uint8_t)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		*v = (uint8_t)(c - 'A' + 10);
	else
		return false;
	return true;
}

/* The gap buf[a, b) is exactly "<hex>" and decodes to contents. */
static bool gap_is_contents(const uint8_t *buf, size_t a, size_t b,
			    const uint8_t *contents, size_t clen)
{
	if (b - a < 2 || buf[a] != '<' || buf[b - 1] != '>' ||
	    (b - a - 2) % 2 != 0 || (b - a - 2) / 2 != clen)
		return false;
	for (size_t i = 0; i < clen; i++) {
		uint8_t hi, lo;
		if (!hexval(buf[a + 1 + 2 * i], &hi) ||
		    !hexval(buf[a + 2 + 2 * i], &lo) ||
		    (uint8_t)(hi << 4 | lo) != contents[i])
			return false;
	}
	return true;
}

/* The ByteRange array as four non-negative integers within len. */
static bool read_br(qpdf_data q, qpdf_oh v, size_t len, long long br[4])
{
	qpdf_oh a = qpdf_oh_get_key_if_dict(q, v, "/ByteRange");
	bool ok =
	    qpdf_oh_is_array(q, a) && qpdf_oh_get_array_n_items(q, a) == 4;
	for (int i = 0; ok && i < 4; i++) {
		qpdf_oh it = qpdf_oh_get_array_item(q, a, i);
		ok = qpdf_oh_is_integer(q, it) &&
		     qpdf_oh_get_value_as_longlong(q, it, &br[i]) &&
		     br[i] >= 0 && (unsigned long long)br[i] <= len;
		qpdf_oh_release(q, it);
	}
	qpdf_oh_release(q, a);
	return ok;
}

/* Whether the revision read as qp holds a signature value with this
 * ByteRange and Contents. */
static int sig_in_revision(qpdf_data qp, const long long br[4],
			   const uint8_t *contents, size_t clen, bool *found,
			   jpki_err *err)
{
	sigrefs s;
	int rc;
	*found = false;
	if ((rc = collect_sigs(qp, &s, err)) != 0)
		return rc;
	for (size_t i = 0; i < s.n && !*found; i++) {
		long long b2[4];
		qpdf_oh c = qpdf_oh_get_key_if_dict(qp, s.a[i].v, "/Contents");
		size_t l = 0;
		const char *bytes =
		    qpdf_oh_is_string(qp, c)
			? qpdf_oh_get_binary_string_value(qp, c, &l)
			: NULL;
		*found = bytes != NULL && l == clen &&
			 memcmp(bytes, contents, clen) == 0 &&
			 read_br(qp, s.a[i].v, SIZE_MAX, b2) &&
			 memcmp(b2, br, sizeof(b2)) == 0;
		qpdf_oh_release(qp, c);
	}
	free(s.a);
	return 0;
}

/* The DER CMS at the start of contents, followed only by zero bytes. */
static bool der_prefix(const uint8_t *c, size_t clen, size_t *der_len)
{
	const unsigned char *p = c;
	long l = 0;
	int tag = 0, cls = 0;
	if (clen == 0 || clen > (size_t)LONG_MAX)
		return false;
	int r = ASN1_get_object(&p, &l, &tag, &cls, (long)clen);
	if ((r & 0x80) || r != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL)
		return false;
	size_t n = (size_t)(p - c) + (size_t)l;
	for (size_t i = n; i < clen; i++)
		if (c[i] != 0)
			return false;
	*der_len = n;
	return true;
}

static int judge_sig(const uint8_t *buf, size_t len, qpdf_data qf, qpdf_oh v,
		     pdf_sig *s, jpki_err *err)
{
	uint8_t *contents = NULL;
	size_t clen = 0;
	qpdf_data qp = NULL;
	int rc = 0;
	qpdf_oh h = qpdf_oh_get_key_if_dict(qf, v, "/SubFilter");
	if (qpdf_oh_is_name(qf, h))
		snprintf(s->subfilter, sizeof(s->subfilter), "%s",
			 qpdf_oh_get_name(qf, h) + 1);
	qpdf_oh_release(qf, h);
	if (strcmp(s->subfilter, "adbe.pkcs7.detached") != 0 &&
	    strcmp(s->subfilter, "ETSI.CAdES.detached") != 0)
		note(&s->problems,
		     "/SubFilter %s: only adbe.pkcs7.detached and "
		     "ETSI.CAdES.detached are verified",
		     s->subfilter[0] ? s->subfilter : "missing");
	h = qpdf_oh_get_key_if_dict(qf, v, "/M");
	if (qpdf_oh_is_string(qf, h))
		snprintf(s->m, sizeof(s->m), "%s",
			 qpdf_oh_get_utf8_value(qf, h));
	qpdf_oh_release(qf, h);

	h = qpdf_oh_get_key_if_dict(qf, v, "/Contents");
	if (qpdf_oh_is_string(qf, h)) {
		const char *c = qpdf_oh_get_binary_string_value(qf, h, &clen);
		if (clen > 0 && (contents = malloc(clen)) == NULL) {
			qpdf_oh_release(qf, h);
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		}
		if (clen > 0)
			memcpy(contents, c, clen);
	}
	qpdf_oh_release(qf, h);
	size_t der_len = 0;
	if (contents == NULL)
		note(&s->problems,
		     "no /Contents (universal signature forgery)");
	else if (!der_prefix(contents, clen, &der_len))
		note(&s->problems,
		     "/Contents is not a DER CMS followed by zero "
		     "padding (universal signature forgery)");
	else if ((s->cms = malloc(der_len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	} else {
		memcpy(s->cms, contents, der_len);
		s->cms_len = der_len;
	}

	s->br_ok = read_br(qf, v, len, s->br);
	if (!s->br_ok) {
		note(&s->problems, "/ByteRange is missing or not four integers "
				   "within the file (universal signature "
				   "forgery)");
		goto out;
	}
	const long long *br = s->br;
	if (br[0] != 0 || br[1] == 0 || br[1] >= br[2] ||
	    (unsigned long long)br[2] + (unsigned long long)br[3] > len) {
		note(&s->problems,
		     "/ByteRange [%lld %lld %lld %lld] does not cover the file "
		     "from byte 0 around one gap",
		     br[0], br[1], br[2], br[3]);
		s->br_ok = false;
		goto out;
	}
	s->rev_end = (size_t)(br[2] + br[3]);
	s->whole = s->rev_end == len;
	if (contents == NULL ||
	    !gap_is_contents(buf, (size_t)br[1], (size_t)br[2], contents,
			     clen)) {
		note(&s->problems, "the bytes left out of /ByteRange are not "
				   "exactly this signature's /Contents "
				   "(signature wrapping)");
		goto out;
	}
	if (!pdfq_ends_with_eof(buf, s->rev_end)) {
		note(&s->problems, "/ByteRange does not end at the end of a "
				   "revision (%%%%EOF) (signature wrapping)");
		goto out;
	}
	jpki_err perr = {0};
	if (pdfq_open(buf, s->rev_end, "the signed revision", &qp, &perr) !=
	    0) {
		note(&s->problems,
		     "the signed bytes are not a PDF revision: %s", perr.msg);
		goto out;
	}
	bool found = false;
	if ((rc = sig_in_revision(qp, br, contents, clen, &found, err)) != 0)
		goto out;
	if (!found) {
		note(&s->problems, "the signature dictionary is not in the "
				   "revision it signs (signature wrapping)");
		goto out;
	}
	if (!s->whole) {
		jpki_err cerr = {0};
		int crc = compare_revisions(qp, qf, s, &cerr);
		if (crc == JPKI_ERR_NOMEM) {
			rc = jpki_fail(err, crc, "%s", cerr.msg);
			goto out;
		}
		if (crc != 0)
			note(&s->problems, "%s", cerr.msg);
	}
out:
	if (qp != NULL)
		qpdf_cleanup(&qp);
	free(contents);
	return rc;
}

/* ------------------------------------------------------------------ */

int pdf_inspect(const uint8_t *buf, size_t len, pdf_report **out, jpki_err *err)
{
	pdf_report *r = NULL;
	qpdf_data q = NULL;
	sigrefs s = {0};
	int rc;
	*out = NULL;
	if (len > PDF_FILE_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "PDF over %u bytes",
				 PDF_FILE_MAX);
	if (len < 8 || memcmp(buf, "%PDF-", 5) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "not a PDF (no %%PDF- header)");
	if (!pdfq_ends_with_eof(buf, len))
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "damaged PDF: it does not end with %%%%EOF");
	if ((rc = pdfq_open(buf, len, "PDF", &q, err)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	r->file_len = len;
	if ((rc = collect_sigs(q, &s, err)) != 0 ||
	    (rc = pdfq_check(q, "PDF", err)) != 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		if (r->n_sigs == PDF_SIGS_MAX) {
			r->sigs_dropped++;
			continue;
		}
		pdf_sig *g = &r->sigs[r->n_sigs++];
		snprintf(g->field, sizeof(g->field), "%s", s.a[i].name);
		if ((rc = judge_sig(buf, len, q, s.a[i].v, g, err)) != 0)
			goto out;
	}
	if ((rc = pdfq_check(q, "PDF", err)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	free(s.a);
	pdf_report_free(r);
	if (q != NULL)
		qpdf_cleanup(&q);
	return rc;
}

void pdf_report_free(pdf_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_sigs; i++)
		free(r->sigs[i].cms);
	free(r);
}

int pdf_range_bytes(const uint8_t *buf, size_t len, const long long br[4],
		    uint8_t **out, size_t *out_len, jpki_err *err)
{
	for (int i = 0; i < 4; i++)
		if (br[i] < 0 || (unsigned long long)br[i] > len)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "ByteRange outside the file");
	if ((unsigned long long)br[0] + (unsigned long long)br[1] > len ||
	    (unsigned long long)br[2] + (unsigned long long)br[3] > len)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "ByteRange outside the file");
	size_t a = (size_t)br[1], b = (size_t)br[3];
	uint8_t *p = malloc(a + b + 1);
	if (p == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	memcpy(p, buf + br[0], a);
	memcpy(p + a, buf + br[2], b);
	*out = p;
	*out_len = a + b;
	return 0;
}
