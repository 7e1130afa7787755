/* The subject of a TBSCertificate as one line of text, in
 * X509_NAME_oneline's form ("/C=JP/L=Tokyo-to/CN=..."), read from the DER
 * with the bounded reader: the CA records it for display without building
 * an OpenSSL object (docs/design.md, "Issuance cost"). */
#include <string.h>

#include "x509_int.h"

/* The next element, whatever its tag. */
static int any_tlv(jpki_rbuf *r, uint8_t *tag, jpki_rbuf *content)
{
	if (jpki_rbuf_left(r) == 0)
		return JPKI_ERR_PARSE;
	*tag = r->p[r->off];
	return jpki_der_get(r, *tag, content);
}

static const char *short_name(const jpki_rbuf *oid)
{
	/* id-at-*: 2.5.4.n */
	static const struct {
		uint8_t n;
		const char *sn;
	} at[] = {{3, "CN"}, {6, "C"},	{7, "L"},
		  {8, "ST"}, {10, "O"}, {11, "OU"}};
	if (oid->len == 3 && oid->p[0] == 0x55 && oid->p[1] == 0x04)
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			if (oid->p[2] == at[i].n)
				return at[i].sn;
	return NULL;
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + n >= cap)
		return JPKI_ERR_RANGE;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

int x509_tbs_subject_oneline(const uint8_t *tbs, size_t tbs_len, char *out,
			     size_t cap, jpki_err *err)
{
	jpki_rbuf r, t, f, name;
	uint8_t tag = 0;
	size_t o = 0;
	if (cap == 0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "no room for the subject");
	out[0] = '\0';
	jpki_rbuf_init(&r, tbs, tbs_len);
	if (jpki_der_get(&r, X509I_TAG_SEQ, &t) != 0)
		goto bad;
	/* [0] version, serialNumber, signature, issuer, validity, subject */
	if (jpki_rbuf_left(&t) > 0 && t.p[t.off] == X509I_TAG_CTX0_CONS &&
	    any_tlv(&t, &tag, &f) != 0)
		goto bad;
	for (int i = 0; i < 4; i++)
		if (any_tlv(&t, &tag, &f) != 0)
			goto bad;
	if (jpki_der_get(&t, X509I_TAG_SEQ, &name) != 0)
		goto bad;
	while (jpki_rbuf_left(&name) > 0) {
		jpki_rbuf set, atv, oid, val;
		if (jpki_der_get(&name, X509I_TAG_SET, &set) != 0)
			goto bad;
		while (jpki_rbuf_left(&set) > 0) {
			char tmp[8];
			if (jpki_der_get(&set, X509I_TAG_SEQ, &atv) != 0 ||
			    jpki_der_get(&atv, X509I_TAG_OID, &oid) != 0 ||
			    any_tlv(&atv, &tag, &val) != 0 ||
			    jpki_rbuf_end(&atv) != 0)
				goto bad;
			const char *sn = short_name(&oid);
			if (put(out, cap, &o, "/", 1) != 0 ||
			    put(out, cap, &o, sn != NULL ? sn : "?",
				strlen(sn != NULL ? sn : "?")) != 0 ||
			    put(out, cap, &o, "=", 1) != 0)
				goto range;
			for (size_t k = 0; k < val.len; k++) {
				static const char hex[] = "0123456789ABCDEF";
				uint8_t c = val.p[k];
				size_t n = 1;
				tmp[0] = (char)c;
				if (c < 0x20 || c >= 0x7f) {
					memcpy(tmp, "\\x", 2);
					tmp[2] = hex[c >> 4];
					tmp[3] = hex[c & 15];
					n = 4;
				}
				if (put(out, cap, &o, tmp, n) != 0)
					goto range;
			}
		}
	}
	return 0;
bad:
	return jpki_fail(err, JPKI_ERR_PARSE,
			 "TBSCertificate: malformed DER before or in the "
			 "subject");
range:
	return jpki_fail(err, JPKI_ERR_RANGE, "subject over %zu characters",
			 cap - 1);
}
