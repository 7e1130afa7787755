/* Basic-4 data (基本4情報) in the signature certificate's subjectAltName:
 * six otherName entries 1.2.392.200149.8.5.5.1-.6, each
 *   otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
 * with a UTF8String value in what we issue.  Real cards also carry OCTET
 * STRING values (Hitachi's parser accepts both, spec §1.2), so the reader
 * takes either and checks the bytes are well-formed UTF-8. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stddef.h>
#include <string.h>

#include "x509_int.h"

static const char *const slot_names[X509I_B4_COUNT] = {
    "name", "name substitute", "sex", "birth", "address", "address substitute",
};

/* Offset and size of slot's field in jpki_basic4. */
static size_t slot_field(int slot, size_t *cap)
{
	static const struct {
		size_t off;
		size_t cap;
	} f[X509I_B4_COUNT] = {
	    {offsetof(jpki_basic4, name), JPKI_B4_NAME_MAX},
	    {offsetof(jpki_basic4, name_subst), JPKI_B4_NAME_MAX},
	    {offsetof(jpki_basic4, sex), sizeof(((jpki_basic4 *)0)->sex)},
	    {offsetof(jpki_basic4, birth), sizeof(((jpki_basic4 *)0)->birth)},
	    {offsetof(jpki_basic4, address), JPKI_B4_ADDR_MAX},
	    {offsetof(jpki_basic4, address_subst), JPKI_B4_ADDR_MAX},
	};
	*cap = f[slot].cap;
	return f[slot].off;
}

int x509i_put_basic4_san(x509i_dw *w, const jpki_basic4 *b4, jpki_err *err)
{
	const x509i_tables *t = NULL;
	size_t start = w->len;
	int rc;
	if ((rc = x509i_tables_get(&t, err)) != 0)
		return rc;
	/* all six, in OID order, empty substitutes included: Hitachi's
	 * parser expects exactly six values (docs/decisions.md).
	 *   GeneralName otherName [0] { type-id OID, value [0] EXPLICIT
	 *   UTF8String } -- written last slot first */
	for (int i = X509I_B4_COUNT - 1; i >= 0; i--) {
		size_t cap;
		const char *val = (const char *)b4 + slot_field(i, &cap);
		size_t vlen = strnlen(val, cap);
		size_t mark = w->len;
		if (vlen >= cap)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "%s is not terminated", slot_names[i]);
		x509i_dw_tlv(w, X509I_TAG_UTF8, val, vlen);
		x509i_dw_wrap(w, X509I_TAG_CTX0_CONS, mark);
		x509i_dw_tlv(w, X509I_TAG_OID, t->b4[i].der, t->b4[i].len);
		x509i_dw_wrap(w, X509I_TAG_CTX0_CONS, mark);
	}
	x509i_dw_wrap(w, X509I_TAG_SEQ, start);
	return 0;
}

int x509i_add_basic4_san(X509 *x, const jpki_basic4 *b4, jpki_err *err)
{
	uint8_t buf[2 * JPKI_B4_NAME_MAX + 2 * JPKI_B4_ADDR_MAX + 512];
	const uint8_t *der = NULL;
	size_t len = 0;
	x509i_dw w;
	int rc;
	x509i_dw_init(&w, buf, sizeof(buf));
	if ((rc = x509i_put_basic4_san(&w, b4, err)) != 0)
		goto out;
	if ((der = x509i_dw_data(&w, &len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "subjectAltName too long");
		goto out;
	}
	rc = x509i_add_ext_der(x, NID_subject_alt_name, false, der, len, err);
out:
	/* personal data, as the caller's jpki_basic4 */
	OPENSSL_cleanse(buf + w.cap - w.len, w.len);
	return rc;
}

int x509i_basic4_parse(const uint8_t *der, size_t len, jpki_basic4 *out)
{
	const x509i_tables *t = NULL;
	jpki_rbuf r;
	jpki_rbuf seq;
	if (x509i_tables_get(&t, NULL) != 0)
		return JPKI_ERR_CRYPTO;
	jpki_rbuf_init(&r, der, len);
	if (jpki_der_get(&r, X509I_TAG_SEQ, &seq) != 0 ||
	    jpki_rbuf_end(&r) != 0)
		return JPKI_ERR_PARSE;
	for (int i = 0; i < X509I_B4_COUNT; i++) {
		jpki_rbuf on;
		jpki_rbuf oid;
		jpki_rbuf ex;
		jpki_rbuf val;
		size_t cap;
		char *dst = (char *)out + slot_field(i, &cap);
		if (jpki_der_get(&seq, X509I_TAG_CTX0_CONS, &on) != 0 ||
		    jpki_der_get(&on, X509I_TAG_OID, &oid) != 0 ||
		    !x509i_oid_is(&t->b4[i], oid.p, oid.len) ||
		    jpki_der_get(&on, X509I_TAG_CTX0_CONS, &ex) != 0 ||
		    jpki_rbuf_end(&on) != 0 ||
		    jpki_der_get(&ex, X509I_TAG_UTF8, &val) != 0 ||
		    jpki_rbuf_end(&ex) != 0 || val.len >= cap ||
		    !x509i_utf8_ok(val.p, val.len))
			return JPKI_ERR_PARSE;
		if (val.len > 0)
			memcpy(dst, val.p, val.len);
		dst[val.len] = '\0';
	}
	return jpki_rbuf_end(&seq) != 0 ? JPKI_ERR_PARSE : 0;
}

static int slot_of(const ASN1_OBJECT *o)
{
	const x509i_tables *t = NULL;
	int len = o != NULL ? OBJ_length(o) : 0;
	bool fast = x509i_tables_get(&t, NULL) == 0;
	for (int i = 0; i < X509I_B4_COUNT; i++) {
		if (fast ? (size_t)len == t->b4[i].len &&
			       memcmp(OBJ_get0_data(o), t->b4[i].der,
				      t->b4[i].len) == 0
			 : x509i_obj_is(o, x509i_b4_oid(i)))
			return i;
	}
	return -1;
}

int x509i_basic4_read(const GENERAL_NAMES *gens, jpki_basic4 *out,
		      unsigned *seen, unsigned *utf8, int *foreign,
		      jpki_err *err)
{
	jpki_basic4 b;
	unsigned s = 0;
	unsigned u = 0;
	int f = 0;
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		int slot = -1;
		if (gn->type == GEN_OTHERNAME)
			slot = slot_of(gn->d.otherName->type_id);
		if (slot < 0) {
			f++;
			continue;
		}
		if ((s & (1u << slot)) != 0)
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "subjectAltName has two %s values",
					 slot_names[slot]);
		const ASN1_TYPE *v = gn->d.otherName->value;
		if (v == NULL || (v->type != V_ASN1_UTF8STRING &&
				  v->type != V_ASN1_OCTET_STRING))
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "subjectAltName %s is neither "
					 "UTF8String nor OCTET STRING",
					 slot_names[slot]);
		const ASN1_STRING *str = v->value.asn1_string;
		const unsigned char *d = ASN1_STRING_get0_data(str);
		int len = ASN1_STRING_length(str);
		if (len < 0 || (len > 0 && d == NULL) ||
		    !x509i_utf8_ok(d, (size_t)len))
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "subjectAltName %s is not "
					 "well-formed UTF-8 text",
					 slot_names[slot]);
		size_t cap;
		char *dst = (char *)&b + slot_field(slot, &cap);
		if ((size_t)len >= cap)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "subjectAltName %s has %d bytes, at "
					 "most %zu supported",
					 slot_names[slot], len, cap - 1);
		if (len > 0)
			memcpy(dst, d, (size_t)len);
		dst[len] = '\0';
		s |= 1u << slot;
		if (v->type == V_ASN1_UTF8STRING)
			u |= 1u << slot;
	}
	if (s == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "subjectAltName carries no basic-4 data");
	*out = b;
	*seen = s;
	*utf8 = u;
	*foreign = f;
	return 0;
}

int x509_basic4_decode(X509 *cert, jpki_basic4 *out, jpki_err *err)
{
	GENERAL_NAMES *gens = NULL;
	jpki_basic4 b;
	unsigned seen = 0;
	unsigned utf8 = 0;
	int foreign = 0;
	int crit = -1;
	int rc;
	if (cert == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "basic-4: bad argument");
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		if (crit == -1)
			rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
				       "certificate has no subjectAltName");
		else if (crit == -2)
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "certificate has two subjectAltName "
				       "extensions (RFC 5280 4.2)");
		else
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "malformed subjectAltName");
		goto out;
	}
	if ((rc = x509i_basic4_read(gens, &b, &seen, &utf8, &foreign, err)) !=
	    0)
		goto out;
	for (int i = 0; i < X509I_B4_COUNT; i++) {
		if ((X509I_B4_REQUIRED & (1u << i)) != 0 &&
		    (seen & (1u << i)) == 0) {
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "subjectAltName lacks the %s (%s)",
				       slot_names[i], x509i_b4_oid(i));
			goto out;
		}
	}
	*out = b;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}
