/* Basic-4 data (基本4情報) in the signature certificate's subjectAltName:
 * six otherName entries 1.2.392.200149.8.5.5.1-.6, each
 *   otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
 * with a UTF8String value in what we issue.  Real cards also carry OCTET
 * STRING values (Hitachi's parser accepts both, spec §1.2), so the reader
 * takes either and checks the bytes are well-formed UTF-8. */
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

static int add_other(GENERAL_NAMES *gens, int slot, const char *val,
		     jpki_err *err)
{
	GENERAL_NAME *gn = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_TYPE *v = NULL;
	ASN1_UTF8STRING *u = NULL;
	int rc = 0;
	if ((gn = GENERAL_NAME_new()) == NULL ||
	    (oid = x509i_obj(x509i_b4_oid(slot))) == NULL ||
	    (v = ASN1_TYPE_new()) == NULL ||
	    (u = ASN1_UTF8STRING_new()) == NULL ||
	    !ASN1_STRING_set(u, val, (int)strlen(val))) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, u);
	u = NULL; /* transferred */
	if (!GENERAL_NAME_set0_othername(gn, oid, v)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "otherName");
		goto out;
	}
	oid = NULL; /* transferred */
	v = NULL;   /* transferred */
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	gn = NULL; /* transferred */
out:
	ASN1_UTF8STRING_free(u);
	ASN1_TYPE_free(v);
	ASN1_OBJECT_free(oid);
	GENERAL_NAME_free(gn);
	return rc;
}

int x509i_add_basic4_san(X509 *x, const jpki_basic4 *b4, jpki_err *err)
{
	GENERAL_NAMES *gens = NULL;
	int rc = 0;
	if ((gens = GENERAL_NAMES_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* all six, in OID order, empty substitutes included: Hitachi's
	 * parser expects exactly six values (docs/decisions.md) */
	for (int i = 0; i < X509I_B4_COUNT; i++) {
		size_t cap;
		const char *val = (const char *)b4 + slot_field(i, &cap);
		if (strnlen(val, cap) >= cap) {
			rc = jpki_fail(err, JPKI_ERR_RANGE,
				       "%s is not terminated", slot_names[i]);
			goto out;
		}
		if ((rc = add_other(gens, i, val, err)) != 0)
			goto out;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
			      X509V3_ADD_DEFAULT) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "adding subjectAltName");
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int slot_of(const ASN1_OBJECT *o)
{
	for (int i = 0; i < X509I_B4_COUNT; i++)
		if (x509i_obj_is(o, x509i_b4_oid(i)))
			return i;
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
