/* core/der.c: the one strict DER reader.  Table tests of its edges: each
 * refusal (indefinite and non-minimal lengths, lengths past the buffer,
 * high tag numbers, non-minimal INTEGERs, BOOLEANs other than 00/ff, bit
 * strings with set unused bits, trailing bytes), the maxima, empty
 * contents, nesting, and that a refusal leaves the cursor in place; then
 * x509_ocsp_req_parse, the OCSP request reader built on it. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "openjpki/der.h"
#include "openjpki/error.h"
#include "openjpki/x509.h"

typedef struct hdr_case {
	const char *what;
	uint8_t in[8];
	size_t len;
	int rc;	     /* of jpki_der_any */
	uint8_t tag; /* when rc == 0 */
	size_t body; /* content length when rc == 0 */
} hdr_case;

static void test_headers(void **state)
{
	(void)state;
	static const hdr_case cases[] = {
	    {"empty input", {0}, 0, JPKI_ERR_PARSE, 0, 0},
	    {"tag without length", {0x04}, 1, JPKI_ERR_PARSE, 0, 0},
	    {"empty OCTET STRING", {0x04, 0x00}, 2, 0, 0x04, 0},
	    {"short form 127", {0x04, 0x7f}, 2, JPKI_ERR_PARSE, 0, 0},
	    {"indefinite length", {0x30, 0x80, 0, 0}, 4, JPKI_ERR_PARSE, 0, 0},
	    {"long form for 5",
	     {0x04, 0x81, 0x05, 1, 2, 3, 4, 5},
	     8,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"long form for 127", {0x04, 0x81, 0x7f}, 3, JPKI_ERR_PARSE, 0, 0},
	    {"two octets for 128",
	     {0x04, 0x82, 0x00, 0x80},
	     4,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"five length octets",
	     {0x04, 0x85, 1, 0, 0, 0, 0},
	     7,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"reserved 0xff length", {0x04, 0xff}, 2, JPKI_ERR_PARSE, 0, 0},
	    {"length octets cut", {0x04, 0x82, 0x01}, 3, JPKI_ERR_PARSE, 0, 0},
	    {"length past the buffer",
	     {0x04, 0x03, 1, 2},
	     4,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"long length past the buffer",
	     {0x04, 0x84, 0xff, 0xff, 0xff, 0xff},
	     6,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"high tag number", {0x1f, 0x21, 0x00}, 3, JPKI_ERR_PARSE, 0, 0},
	    {"context high tag number",
	     {0xbf, 0x21, 0x00},
	     3,
	     JPKI_ERR_PARSE,
	     0,
	     0},
	    {"end-of-contents", {0x00, 0x00}, 2, JPKI_ERR_PARSE, 0, 0},
	    {"tag 30 is one octet", {0x9e, 0x01, 0x07}, 3, 0, 0x9e, 1},
	    {"constructed [3]", {0xa3, 0x02, 0x05, 0x00}, 4, 0, 0xa3, 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const hdr_case *c = &cases[i];
		jpki_rbuf b, v;
		uint8_t tag = 0;
		jpki_rbuf_init(&b, c->in, c->len);
		int rc = jpki_der_any(&b, &tag, &v);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d", c->what, rc, c->rc);
		if (rc != 0) {
			/* a refusal leaves the cursor where it was */
			assert_int_equal(b.off, 0);
			continue;
		}
		assert_int_equal(tag, c->tag);
		assert_int_equal(v.len, c->body);
		assert_int_equal(b.off, c->len);
	}
}

/* Long lengths at the edges of each form, built in a big buffer. */
static void test_long_lengths(void **state)
{
	(void)state;
	static const size_t lens[] = {0x7f,   0x80,    0xff,	 0x100,
				      0xffff, 0x10000, 0xffffff, 0x1000000};
	uint8_t *buf = calloc(1, 0x1000000 + 8);
	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], h = 0;
		buf[h++] = 0x04;
		if (n < 0x80) {
			buf[h++] = (uint8_t)n;
		} else {
			size_t k = n <= 0xff	   ? 1
				   : n <= 0xffff   ? 2
				   : n <= 0xffffff ? 3
						   : 4;
			buf[h++] = (uint8_t)(0x80 | k);
			for (size_t j = k; j > 0; j--)
				buf[h++] = (uint8_t)(n >> (8 * (j - 1)));
		}
		jpki_rbuf b, v;
		jpki_rbuf_init(&b, buf, h + n);
		assert_int_equal(jpki_der_octets(&b, &v), 0);
		assert_int_equal(v.len, n);
		assert_ptr_equal(v.p, buf + h);
		assert_int_equal(jpki_der_end(&b), 0);
		/* one octet short: refused, cursor kept */
		jpki_rbuf_init(&b, buf, h + n - 1);
		assert_int_equal(jpki_der_octets(&b, &v), JPKI_ERR_PARSE);
		assert_int_equal(b.off, 0);
		/* one trailing octet: read, then the end refused */
		jpki_rbuf_init(&b, buf, h + n + 1);
		assert_int_equal(jpki_der_octets(&b, &v), 0);
		assert_int_equal(jpki_der_end(&b), JPKI_ERR_PARSE);
	}
	free(buf);
}

typedef struct int_case {
	const char *what;
	uint8_t in[12];
	size_t len;
	int rc;	   /* of jpki_der_int64 */
	int64_t v; /* when rc == 0 */
	int urc;   /* of jpki_der_uint_bytes */
	size_t ulen;
} int_case;

static void test_integers(void **state)
{
	(void)state;
	static const int_case cases[] = {
	    {"empty", {0x02, 0x00}, 2, JPKI_ERR_PARSE, 0, JPKI_ERR_PARSE, 0},
	    {"zero", {0x02, 0x01, 0x00}, 3, 0, 0, 0, 1},
	    {"127", {0x02, 0x01, 0x7f}, 3, 0, 127, 0, 1},
	    {"128", {0x02, 0x02, 0x00, 0x80}, 4, 0, 128, 0, 1},
	    {"-1", {0x02, 0x01, 0xff}, 3, 0, -1, JPKI_ERR_PARSE, 0},
	    {"-128", {0x02, 0x01, 0x80}, 3, 0, -128, JPKI_ERR_PARSE, 0},
	    {"-129", {0x02, 0x02, 0xff, 0x7f}, 4, 0, -129, JPKI_ERR_PARSE, 0},
	    {"non-minimal 00 7f",
	     {0x02, 0x02, 0x00, 0x7f},
	     4,
	     JPKI_ERR_PARSE,
	     0,
	     JPKI_ERR_PARSE,
	     0},
	    {"non-minimal 00 00",
	     {0x02, 0x02, 0x00, 0x00},
	     4,
	     JPKI_ERR_PARSE,
	     0,
	     JPKI_ERR_PARSE,
	     0},
	    {"non-minimal ff 80",
	     {0x02, 0x02, 0xff, 0x80},
	     4,
	     JPKI_ERR_PARSE,
	     0,
	     JPKI_ERR_PARSE,
	     0},
	    {"INT64_MAX",
	     {0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	     10,
	     0,
	     INT64_MAX,
	     0,
	     8},
	    {"INT64_MIN",
	     {0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0},
	     10,
	     0,
	     INT64_MIN,
	     JPKI_ERR_PARSE,
	     0},
	    {"2^63 (nine octets)",
	     {0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0},
	     11,
	     JPKI_ERR_PARSE,
	     0,
	     0,
	     8},
	    {"constructed tag",
	     {0x22, 0x01, 0x01},
	     3,
	     JPKI_ERR_PARSE,
	     0,
	     JPKI_ERR_PARSE,
	     0},
	    {"not an INTEGER",
	     {0x04, 0x01, 0x01},
	     3,
	     JPKI_ERR_PARSE,
	     0,
	     JPKI_ERR_PARSE,
	     0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const int_case *c = &cases[i];
		jpki_rbuf b;
		int64_t v = 0;
		const uint8_t *p = NULL;
		size_t n = 0;
		jpki_rbuf_init(&b, c->in, c->len);
		int rc = jpki_der_int64(&b, &v);
		if (rc != c->rc || (rc == 0 && v != c->v))
			fail_msg("%s: int64 rc %d", c->what, rc);
		assert_int_equal(b.off, rc == 0 ? c->len : 0);
		jpki_rbuf_init(&b, c->in, c->len);
		rc = jpki_der_uint_bytes(&b, &p, &n);
		if (rc != c->urc || (rc == 0 && n != c->ulen))
			fail_msg("%s: uint rc %d len %zu", c->what, rc, n);
		assert_int_equal(b.off, rc == 0 ? c->len : 0);
		if (rc == 0 && n > 1)
			assert_int_not_equal(p[0], 0);
	}
}

typedef struct prim_case {
	const char *what;
	uint8_t in[8];
	size_t len;
	int rc;
} prim_case;

static void test_bool_null_bits_oid(void **state)
{
	(void)state;
	static const prim_case bools[] = {
	    {"FALSE", {0x01, 0x01, 0x00}, 3, 0},
	    {"TRUE", {0x01, 0x01, 0xff}, 3, 0},
	    {"TRUE as 01 (BER)", {0x01, 0x01, 0x01}, 3, JPKI_ERR_PARSE},
	    {"empty", {0x01, 0x00}, 2, JPKI_ERR_PARSE},
	    {"two octets", {0x01, 0x02, 0xff, 0xff}, 4, JPKI_ERR_PARSE},
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		jpki_rbuf b;
		bool v = false;
		jpki_rbuf_init(&b, bools[i].in, bools[i].len);
		if (jpki_der_bool(&b, &v) != bools[i].rc)
			fail_msg("BOOLEAN %s", bools[i].what);
		if (bools[i].rc == 0)
			assert_int_equal(v, bools[i].in[2] == 0xff);
	}
	static const prim_case nulls[] = {
	    {"NULL", {0x05, 0x00}, 2, 0},
	    {"NULL with content", {0x05, 0x01, 0x00}, 3, JPKI_ERR_PARSE},
	};
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		jpki_rbuf b;
		jpki_rbuf_init(&b, nulls[i].in, nulls[i].len);
		if (jpki_der_null(&b) != nulls[i].rc)
			fail_msg("NULL %s", nulls[i].what);
	}
	static const prim_case bits[] = {
	    {"empty bit string", {0x03, 0x01, 0x00}, 3, 0},
	    {"no initial octet", {0x03, 0x00}, 2, JPKI_ERR_PARSE},
	    {"unused bits without bits", {0x03, 0x01, 0x01}, 3, JPKI_ERR_PARSE},
	    {"8 unused bits", {0x03, 0x02, 0x08, 0x00}, 4, JPKI_ERR_PARSE},
	    {"7 unused bits, zero", {0x03, 0x02, 0x07, 0x80}, 4, 0},
	    {"unused bit set", {0x03, 0x02, 0x01, 0x81}, 4, JPKI_ERR_PARSE},
	    {"whole octets", {0x03, 0x03, 0x00, 0xff, 0x01}, 5, 0},
	};
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		jpki_rbuf b;
		const uint8_t *p;
		size_t n;
		unsigned unused;
		jpki_rbuf_init(&b, bits[i].in, bits[i].len);
		if (jpki_der_bits(&b, &p, &n, &unused) != bits[i].rc)
			fail_msg("BIT STRING %s", bits[i].what);
		if (bits[i].rc == 0) {
			assert_int_equal(n, bits[i].len - 3);
			assert_int_equal(unused, bits[i].in[2]);
		}
	}
	static const prim_case oids[] = {
	    {"sha1", {0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a}, 7, 0},
	    {"empty OID", {0x06, 0x00}, 2, JPKI_ERR_PARSE},
	    {"leading 0x80", {0x06, 0x02, 0x80, 0x01}, 4, JPKI_ERR_PARSE},
	    {"unterminated", {0x06, 0x02, 0x2b, 0x86}, 4, JPKI_ERR_PARSE},
	    {"two-octet arc", {0x06, 0x03, 0x2b, 0x86, 0x48}, 5, 0},
	};
	for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
		jpki_rbuf b, v;
		jpki_rbuf_init(&b, oids[i].in, oids[i].len);
		if (jpki_der_oid(&b, &v) != oids[i].rc)
			fail_msg("OID %s", oids[i].what);
		assert_int_equal(b.off, oids[i].rc == 0 ? oids[i].len : 0);
	}
}

static void test_nested_optional_explicit(void **state)
{
	(void)state;
	/* SEQUENCE { [0] EXPLICIT INTEGER 2, [1] IMPLICIT OCTETS, SEQUENCE {
	 * SEQUENCE {} } } */
	static const uint8_t seq[] = {0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x02,
				      0x81, 0x01, 0xaa, 0x30, 0x02, 0x30, 0x00};
	jpki_rbuf b, in, v, inner, whole;
	bool there = false;
	jpki_rbuf_init(&b, seq, sizeof(seq));
	assert_true(jpki_der_peek_is(&b, JPKI_DER_SEQ));
	assert_int_equal(jpki_der_get_whole(&b, JPKI_DER_SEQ, &in, &whole), 0);
	assert_int_equal(whole.len, sizeof(seq));
	assert_int_equal(jpki_der_end(&b), 0);
	/* a wrong tag is refused and reads nothing */
	assert_int_equal(jpki_der_get(&in, JPKI_DER_SEQ, &v), JPKI_ERR_PARSE);
	assert_int_equal(in.off, 0);
	/* [0] EXPLICIT with the wrong inner tag: refused, nothing read */
	assert_int_equal(jpki_der_explicit(&in, 0, JPKI_DER_OCTETS, &v),
			 JPKI_ERR_PARSE);
	assert_int_equal(in.off, 0);
	assert_int_equal(jpki_der_explicit(&in, 0, JPKI_DER_INT, &v), 0);
	assert_int_equal(v.len, 1);
	assert_int_equal(v.p[0], 2);
	/* absent OPTIONAL [2]: nothing read; present [1] */
	assert_int_equal(jpki_der_optional(&in, JPKI_DER_CTX(2), &v, &there),
			 0);
	assert_false(there);
	assert_int_equal(jpki_der_optional(&in, JPKI_DER_CTX(1), &v, &there),
			 0);
	assert_true(there);
	assert_int_equal(v.len, 1);
	assert_int_equal(jpki_der_get(&in, JPKI_DER_SEQ, &v), 0);
	assert_int_equal(jpki_der_get(&v, JPKI_DER_SEQ, &inner), 0);
	assert_int_equal(inner.len, 0);
	assert_int_equal(jpki_der_end(&v), 0);
	assert_int_equal(jpki_der_end(&in), 0);
	assert_false(jpki_der_peek_is(&in, JPKI_DER_SEQ));
	/* an explicit wrapper with two elements inside is refused */
	static const uint8_t two[] = {0xa0, 0x06, 0x02, 0x01,
				      0x01, 0x02, 0x01, 0x02};
	jpki_rbuf_init(&b, two, sizeof(two));
	assert_int_equal(jpki_der_explicit(&b, 0, JPKI_DER_INT, &v),
			 JPKI_ERR_PARSE);
	assert_int_equal(b.off, 0);
	/* an inner length past its parent, though within the input */
	static const uint8_t over[] = {0x30, 0x02, 0x04, 0x03,
				       0x01, 0x02, 0x03};
	jpki_rbuf_init(&b, over, sizeof(over));
	assert_int_equal(jpki_der_get(&b, JPKI_DER_SEQ, &in), 0);
	assert_int_equal(jpki_der_octets(&in, &v), JPKI_ERR_PARSE);
}

/* x509_ocsp_req_parse: the OCSP request reader on top. */
static const uint8_t certid_sha1[] = {
    0x30, 0x3b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
    0x05, 0x00, 0x04, 0x14, 1,	  2,	3,    4,    5,	  6,	7,
    8,	  9,	10,   11,   12,	  13,	14,   15,   16,	  17,	18,
    19,	  20,	0x04, 0x14, 21,	  22,	23,   24,   25,	  26,	27,
    28,	  29,	30,   31,   32,	  33,	34,   35,   36,	  37,	38,
    39,	  40,	0x02, 0x02, 0x00, 0x80};

static size_t wrap(uint8_t *out, uint8_t tag, const uint8_t *in, size_t n)
{
	size_t h = 0;
	out[h++] = tag;
	if (n < 0x80) {
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x81;
		out[h++] = (uint8_t)n;
	}
	memmove(out + h, in, n);
	return h + n;
}

static void test_ocsp_request(void **state)
{
	(void)state;
	uint8_t a[512], b[512];
	jpki_ocsp_req rq;
	/* Request { CertID } in requestList in TBSRequest in OCSPRequest */
	size_t n = wrap(a, 0x30, certid_sha1, sizeof(certid_sha1));
	n = wrap(b, 0x30, a, n);
	n = wrap(a, 0x30, b, n);
	n = wrap(b, 0x30, a, n);
	assert_int_equal(x509_ocsp_req_parse(b, n, &rq), 0);
	assert_true(rq.simple);
	assert_int_equal(rq.n_ids, 1);
	assert_int_equal(rq.id[0].hash, 1);
	assert_int_equal(rq.id[0].name_hash_len, 20);
	assert_int_equal(rq.id[0].key_hash[0], 21);
	assert_int_equal(rq.id[0].serial_len, 1);
	assert_int_equal(rq.id[0].serial[0], 0x80);
	assert_false(rq.id[0].serial_negative);
	assert_int_equal(rq.id[0].der_len, sizeof(certid_sha1));
	assert_false(rq.has_nonce);
	/* every truncation and a trailing octet are refused */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x509_ocsp_req_parse(b, i, &rq),
				 JPKI_ERR_PARSE);
	b[n] = 0;
	assert_int_equal(x509_ocsp_req_parse(b, n + 1, &rq), JPKI_ERR_PARSE);
	/* indefinite length at the top */
	uint8_t c[512];
	memcpy(c, b, n);
	c[1] = 0x80;
	assert_int_equal(x509_ocsp_req_parse(c, n, &rq), JPKI_ERR_PARSE);
	/* a non-minimal serial */
	memcpy(c, certid_sha1, sizeof(certid_sha1));
	c[sizeof(certid_sha1) - 1] = 0x7f;
	size_t m = wrap(a, 0x30, c, sizeof(certid_sha1));
	m = wrap(c, 0x30, a, m);
	m = wrap(a, 0x30, c, m);
	m = wrap(c, 0x30, a, m);
	assert_int_equal(x509_ocsp_req_parse(c, m, &rq), JPKI_ERR_PARSE);
	/* a version field (the DEFAULT, which DER leaves out) */
	static const uint8_t v1[] = {0xa0, 0x03, 0x02, 0x01, 0x00};
	m = wrap(a, 0x30, certid_sha1, sizeof(certid_sha1));
	m = wrap(c, 0x30, a, m);
	memcpy(a, v1, sizeof(v1));
	memcpy(a + sizeof(v1), c, m);
	m = wrap(c, 0x30, a, m + sizeof(v1));
	m = wrap(a, 0x30, c, m);
	assert_int_equal(x509_ocsp_req_parse(a, m, &rq), JPKI_ERR_PARSE);
	/* a nonce extension: read, not simple; an empty nonce refused */
	for (int empty = 0; empty < 2; empty++) {
		static const uint8_t ext_hdr[] = {0x06, 0x09, 0x2b, 0x06,
						  0x01, 0x05, 0x05, 0x07,
						  0x30, 0x01, 0x02};
		uint8_t ext[64], nonce[20];
		size_t e = 0, k;
		memset(nonce, 0x5a, sizeof(nonce));
		k = wrap(ext, 0x04, nonce, empty ? 0 : 16);
		k = wrap(a, 0x04, ext, k); /* extnValue */
		memcpy(ext, ext_hdr, sizeof(ext_hdr));
		memcpy(ext + sizeof(ext_hdr), a, k);
		e = wrap(a, 0x30, ext, sizeof(ext_hdr) + k); /* Extension */
		e = wrap(ext, 0x30, a, e);		     /* Extensions */
		e = wrap(a, 0xa2, ext, e);		     /* [2] */
		uint8_t req[256];
		m = wrap(req, 0x30, certid_sha1, sizeof(certid_sha1));
		m = wrap(c, 0x30, req, m); /* requestList */
		memcpy(c + m, a, e);
		m = wrap(req, 0x30, c, m + e); /* TBSRequest */
		m = wrap(c, 0x30, req, m);     /* OCSPRequest */
		if (empty) {
			assert_int_equal(x509_ocsp_req_parse(c, m, &rq),
					 JPKI_ERR_PARSE);
			continue;
		}
		assert_int_equal(x509_ocsp_req_parse(c, m, &rq), 0);
		assert_false(rq.simple);
		assert_true(rq.has_nonce);
		assert_int_equal(rq.nonce_ext_len, 18);
	}
	/* more CertIDs than JPKI_OCSP_MAX_IDS */
	uint8_t big[2048];
	size_t l = 0;
	for (int i = 0; i <= JPKI_OCSP_MAX_IDS; i++) {
		l += wrap(big + l, 0x30, certid_sha1, sizeof(certid_sha1));
		uint8_t list[2048], tbs[2048];
		size_t t = 0;
		list[t++] = 0x30;
		list[t++] = 0x82;
		list[t++] = (uint8_t)(l >> 8);
		list[t++] = (uint8_t)l;
		if (l < 0x100) {
			/* keep the length minimal */
			t = 0;
			list[t++] = 0x30;
			list[t++] = 0x81;
			list[t++] = (uint8_t)l;
		}
		memcpy(list + t, big, l);
		t += l;
		size_t u = 0;
		tbs[u++] = 0x30;
		tbs[u++] = 0x82;
		tbs[u++] = (uint8_t)(t >> 8);
		tbs[u++] = (uint8_t)t;
		memcpy(tbs + u, list, t);
		u += t;
		size_t w = 0;
		list[w++] = 0x30;
		list[w++] = 0x82;
		list[w++] = (uint8_t)(u >> 8);
		list[w++] = (uint8_t)u;
		memcpy(list + w, tbs, u);
		w += u;
		int rc = x509_ocsp_req_parse(list, w, &rq);
		if (l < 0x100 || u < 0x100)
			continue; /* the short cases are above */
		if (i < JPKI_OCSP_MAX_IDS) {
			assert_int_equal(rc, 0);
			assert_int_equal(rq.n_ids, (size_t)i + 1);
			assert_false(rq.simple);
		} else {
			assert_int_equal(rc, JPKI_ERR_PARSE);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_long_lengths),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_bool_null_bits_oid),
	    cmocka_unit_test(test_nested_optional_explicit),
	    cmocka_unit_test(test_ocsp_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
