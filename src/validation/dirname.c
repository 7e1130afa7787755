/* DirNames as text, for the CRL map.  J-LIS names CRL partitions with
 * DirName distribution points (spec §1.2), not URLs; an operator maps each
 * to where its CRL is read.  Both sides are brought to one canonical text:
 * RFC 2253 order (most specific RDN first), "TYPE=value" joined by ',',
 * types upper-cased, blanks around separators dropped, values otherwise
 * exact (escapes kept as written by OpenSSL). */
#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <string.h>

#include "val_int.h"

#define MAX_RDNS 32

typedef struct part {
	const char *p;
	size_t n;
} part;

static void trim(part *x)
{
	while (x->n > 0 && isspace((unsigned char)x->p[0])) {
		x->p++;
		x->n--;
	}
	/* a blank after a backslash is part of the value */
	while (x->n > 0 && isspace((unsigned char)x->p[x->n - 1]) &&
	       !(x->n >= 2 && x->p[x->n - 2] == '\\'))
		x->n--;
}

/* Split s at unescaped `sep` into at most MAX_RDNS parts. */
static int split(const char *s, char sep, part *parts, size_t *n)
{
	size_t k = 0;
	const char *start = s;
	for (const char *q = s;; q++) {
		if (*q == '\\' && q[1] != '\0') {
			q++;
			continue;
		}
		if (*q == sep || *q == '\0') {
			if (k == MAX_RDNS)
				return JPKI_ERR_RANGE;
			parts[k].p = start;
			parts[k].n = (size_t)(q - start);
			k++;
			if (*q == '\0')
				break;
			start = q + 1;
		}
	}
	*n = k;
	return 0;
}

static int put(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
	if (*len + n + 1 > cap)
		return JPKI_ERR_RANGE;
	memcpy(out + *len, p, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int vali_dn_canon(const char *in, char *out, size_t cap)
{
	part parts[MAX_RDNS];
	size_t n = 0, len = 0;
	bool slash;
	int rc;
	if (in == NULL || out == NULL || cap == 0)
		return JPKI_ERR_INVAL;
	while (isspace((unsigned char)*in))
		in++;
	slash = in[0] == '/';
	if ((rc = split(slash ? in + 1 : in, slash ? '/' : ',', parts, &n)) !=
	    0)
		return rc;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* the slash form lists the least specific RDN first */
		part x = parts[slash ? n - 1 - i : i];
		part type, val;
		trim(&x);
		const char *eq = memchr(x.p, '=', x.n);
		if (x.n == 0 || eq == NULL || eq == x.p)
			return JPKI_ERR_INVAL;
		type.p = x.p;
		type.n = (size_t)(eq - x.p);
		val.p = eq + 1;
		val.n = x.n - type.n - 1;
		trim(&type);
		trim(&val);
		if (type.n == 0)
			return JPKI_ERR_INVAL;
		if (i > 0 && (rc = put(out, cap, &len, ",", 1)) != 0)
			return rc;
		for (size_t j = 0; j < type.n; j++) {
			char c = (char)toupper((unsigned char)type.p[j]);
			if ((rc = put(out, cap, &len, &c, 1)) != 0)
				return rc;
		}
		if ((rc = put(out, cap, &len, "=", 1)) != 0 ||
		    (rc = put(out, cap, &len, val.p, val.n)) != 0)
			return rc;
	}
	return len > 0 ? 0 : JPKI_ERR_INVAL;
}

int vali_dn_key(const X509_NAME *n, char *out, size_t cap)
{
	char buf[VALI_DN_MAX];
	BIO *b = BIO_new(BIO_s_mem());
	int rc = JPKI_ERR_PARSE;
	if (b == NULL)
		return JPKI_ERR_NOMEM;
	/* UTF-8 kept as is (no \UXXXX escapes): what a person types */
	if (X509_NAME_print_ex(b, n, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int len = BIO_read(b, buf, sizeof(buf) - 1);
		if (len > 0 && BIO_pending(b) == 0) {
			buf[len] = '\0';
			rc = vali_dn_canon(buf, out, cap);
		} else {
			rc = JPKI_ERR_RANGE;
		}
	}
	BIO_free(b);
	ERR_clear_error();
	return rc;
}
