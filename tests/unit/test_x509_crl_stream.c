/* x509: the streamed CRL is x509_crl_build() + X509_CRL_sign(), octet for
 * octet (PKCS#1 v1.5 signatures are deterministic), for partition CRLs,
 * full CRLs and ARLs, empty or not, its entries encoded one by one as added or
 * encoded beforehand (x509_crl_enc_entry) and fed in pieces of any size
 * (x509_crl_stream_add_der); and it refuses entries out of order, more or
 * fewer entries than announced, octets that are not entries, and a
 * non-RSA key. */
/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/x509.h"
#include "x509_fixture.h"

static EVP_PKEY *root_key;
static X509 *root;
static const jpki_issuer_site site = {"Tokyo-to", "Kiyose-shi", "ABC123XYZ"};

static int setup(void **state)
{
	jpki_err err = {0};
	static const uint8_t one[] = {1};
	(void)state;
	if ((root_key = EVP_RSA_gen(2048)) == NULL ||
	    x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_AUTH, root_key, one, 1,
			    at("2025-01-05T01:02:03Z"), &root, &err) != 0 ||
	    X509_sign(root, root_key, EVP_sha256()) <= 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(root);
	EVP_PKEY_free(root_key);
	return 0;
}

typedef struct sink {
	uint8_t *p;
	size_t n, cap;
	int calls;
} sink;

static int sink_write(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	sink *s = ctx;
	(void)err;
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->p = realloc(s->p, s->cap);
		assert_non_null(s->p);
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
	s->calls++;
	return 0;
}

/* X509_CRL_sort's order: shorter magnitude first, then by octets. */
static int entry_cmp(const void *a, const void *b)
{
	const jpki_crl_entry *x = a, *y = b;
	const uint8_t *p = x->serial, *q = y->serial;
	size_t m = x->serial_len, n = y->serial_len;
	for (; m > 1 && p[0] == 0; m--)
		p++;
	for (; n > 1 && q[0] == 0; n--)
		q++;
	if (m != n)
		return m < n ? -1 : 1;
	return memcmp(p, q, m);
}

static void old_der(const X509_NAME *part, bool arl, const jpki_crl_entry *e,
		    size_t n, time_t t1, time_t t2, uint64_t num, uint8_t **der,
		    int *len)
{
	X509_CRL *crl = NULL;
	jpki_err err = {0};
	if (x509_crl_build(root, part, arl, e, n, t1, t2, num, &crl, &err) != 0)
		fail_msg("build: %s", err.msg);
	assert_true(X509_CRL_sign(crl, root_key, EVP_sha256()) > 0);
	*der = NULL;
	*len = i2d_X509_CRL(crl, der);
	assert_true(*len > 0);
	X509_CRL_free(crl);
}

/* One entry's DER size (a fresh encoder: no order to keep). */
static int entry_len(const jpki_crl_entry *e, size_t *len, jpki_err *err)
{
	x509_crl_enc one = {0};
	uint8_t der[X509_CRL_ENTRY_MAX];
	return x509_crl_enc_entry(&one, e, der, len, err);
}

/* One entry encoded (its order kept by enc) and fed to s at once. */
static int add1(x509_crl_stream *s, x509_crl_enc *enc, const jpki_crl_entry *e,
		jpki_err *err)
{
	uint8_t der[X509_CRL_ENTRY_MAX];
	size_t len = 0;
	int rc = x509_crl_enc_entry(enc, e, der, &len, err);
	return rc != 0 ? rc : x509_crl_stream_add_der(s, der, len, err);
}

/* The stream over `e` (sorted here), announced as it should be.  piece
 * 0: each entry encoded as it is added; else all encoded first
 * (x509_crl_enc_entry) and fed in pieces of `piece` octets
 * (x509_crl_stream_add_der). */
static void new_der(const X509_NAME *part, bool arl, jpki_crl_entry *e,
		    size_t n, time_t t1, time_t t2, uint64_t num, size_t piece,
		    sink *out)
{
	x509_crl_stream *s = NULL;
	jpki_err err = {0};
	uint64_t total = 0;
	x509_crl_enc enc = {0};
	sink enc_out = {0};
	if (n > 0)
		qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t l = 0, el = 0;
		uint8_t der[X509_CRL_ENTRY_MAX];
		assert_int_equal(entry_len(&e[i], &l, &err), 0);
		total += l;
		if (piece == 0)
			continue;
		if (x509_crl_enc_entry(&enc, &e[i], der, &el, &err) != 0)
			fail_msg("encode %zu: %s", i, err.msg);
		assert_int_equal(el, l);
		assert_int_equal(sink_write(&enc_out, der, el, &err), 0);
	}
	if (piece > 0) {
		assert_int_equal(enc.n, n);
		assert_int_equal(enc.len, total);
		assert_int_equal(enc_out.n, (size_t)total);
	}
	if (x509_crl_stream_begin(root, root_key, part, arl, t1, t2, num, n,
				  total, sink_write, out, &s, &err) != 0)
		fail_msg("begin: %s", err.msg);
	x509_crl_enc one = {0};
	for (size_t i = 0; piece == 0 && i < n; i++)
		if (add1(s, &one, &e[i], &err) != 0)
			fail_msg("add %zu: %s", i, err.msg);
	for (size_t o = 0; piece > 0 && o < enc_out.n; o += piece) {
		size_t k = enc_out.n - o < piece ? enc_out.n - o : piece;
		if (x509_crl_stream_add_der(s, enc_out.p + o, k, &err) != 0)
			fail_msg("add_der at %zu: %s", o, err.msg);
	}
	free(enc_out.p);
	if (x509_crl_stream_end(s, &err) != 0)
		fail_msg("end: %s", err.msg);
}

static void same_as(const X509_NAME *part, bool arl, jpki_crl_entry *e,
		    size_t n, time_t t1, time_t t2, uint64_t num, size_t piece)
{
	uint8_t *old = NULL;
	int old_len = 0;
	sink out = {0};
	old_der(part, arl, e, n, t1, t2, num, &old, &old_len);
	new_der(part, arl, e, n, t1, t2, num, piece, &out);
	assert_int_equal(out.n, (size_t)old_len);
	assert_memory_equal(out.p, old, out.n);
	/* and OpenSSL reads and verifies it */
	const unsigned char *p = out.p;
	X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)out.n);
	assert_non_null(c);
	assert_int_equal(X509_CRL_verify(c, root_key), 1);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(c);
	assert_int_equal(rev != NULL ? sk_X509_REVOKED_num(rev) : 0, (int)n);
	X509_CRL_free(c);
	OPENSSL_free(old);
	free(out.p);
}

/* One by one, and encoded beforehand fed an octet at a time, in pieces of
 * 7 octets (across entries) and all at once. */
static void same(const X509_NAME *part, bool arl, jpki_crl_entry *e, size_t n,
		 time_t t1, time_t t2, uint64_t num)
{
	static const size_t pieces[] = {0, 1, 7, SIZE_MAX};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		same_as(part, arl, e, n, t1, t2, num, pieces[i]);
}

static void test_partition_small(void **state)
{
	(void)state;
	jpki_err err = {0};
	X509_NAME *part = NULL;
	const uint8_t s10[] = {0x10}, s05[] = {0x00, 0x05}, s20[] = {0x20},
		      big[] = {0x81, 0x02, 0x03};
	jpki_crl_entry e[] = {
	    {s10, 1, at("2025-02-10T03:00:00Z"), JPKI_REASON_KEY_COMPROMISE},
	    {s05, 2, at("2025-02-11T03:00:00Z"), JPKI_REASON_UNSPECIFIED},
	    {big, 3, at("2051-02-12T03:00:00Z"), JPKI_REASON_CERTIFICATE_HOLD},
	    {s20, 1, at("2025-02-12T03:00:00Z"), JPKI_REASON_SUPERSEDED},
	};
	assert_int_equal(x509_crldp_name(JPKI_PROFILE_TEST, JPKI_CERT_AUTH,
					 &site, &part, &err),
			 0);
	same(part, false, e, 4, at("2025-03-01T00:00:00Z"),
	     at("2025-03-03T00:00:00Z"), 7);
	/* an empty partition: no revokedCertificates at all */
	same(part, false, NULL, 0, at("2049-12-31T23:59:59Z"),
	     at("2050-01-01T00:00:00Z"), 1u << 31);
	X509_NAME_free(part);
}

static void test_arl_and_full(void **state)
{
	(void)state;
	const uint8_t r1[] = {0x7f, 0xff}, r2[] = {0x01, 0x00, 0x00};
	jpki_crl_entry e[] = {
	    {r2, 3, at("2025-02-10T03:00:00Z"), JPKI_REASON_CA_COMPROMISE},
	    {r1, 2, at("2025-02-11T03:00:00Z"), JPKI_REASON_CESSATION},
	};
	same(NULL, true, e, 2, at("2025-03-01T00:00:00Z"),
	     at("2025-03-02T00:00:00Z"), 3);
	same(NULL, true, NULL, 0, at("2025-03-01T00:00:00Z"),
	     at("2025-03-02T00:00:00Z"), 4);
	same(NULL, false, e, 2, at("2025-03-01T00:00:00Z"),
	     at("2025-03-02T00:00:00Z"), 0);
}

/* Many random serials of 1..20 octets (as the store holds them: no
 * leading zero octet), random reasons, several output buffers' worth. */
static void test_full_random(void **state)
{
	(void)state;
	enum { N = 5000 };
	static uint8_t sn[N][20];
	static jpki_crl_entry e[N];
	uint8_t rnd[4];
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
		size_t len = 1 + rnd[0] % 20;
		assert_int_equal(RAND_bytes(sn[i], (int)len), 1);
		/* 20 octets only with the top bit clear (RFC 5280) */
		if (len == 20)
			sn[i][0] &= 0x7f;
		if (sn[i][0] == 0)
			sn[i][0] = 1;
		/* unique: the index in the last two octets */
		if (len >= 3) {
			sn[i][len - 2] = (uint8_t)(i >> 8);
			sn[i][len - 1] = (uint8_t)i;
		} else {
			len = 3;
			sn[i][0] = 1;
			sn[i][1] = (uint8_t)(i >> 8);
			sn[i][2] = (uint8_t)i;
		}
		e[i] = (jpki_crl_entry){sn[i], len,
					at("2025-02-10T03:00:00Z") + rnd[1] * 7,
					(jpki_reason)(rnd[2] % 7)};
	}
	/* duplicates removed after sorting (the stream refuses them) */
	qsort(e, N, sizeof(*e), entry_cmp);
	size_t n = 0;
	for (size_t i = 0; i < N; i++)
		if (n == 0 || entry_cmp(&e[n - 1], &e[i]) != 0)
			e[n++] = e[i];
	same(NULL, false, e, n, at("2025-03-01T00:00:00Z"),
	     at("2025-03-02T00:00:00Z"), 123456789);
}

static int discard(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	(void)ctx;
	(void)p;
	(void)n;
	(void)err;
	return 0;
}

static void test_refused(void **state)
{
	(void)state;
	jpki_err err = {0};
	x509_crl_stream *s = NULL;
	const uint8_t a[] = {0x10}, b[] = {0x20};
	jpki_crl_entry ea = {a, 1, at("2025-02-10T03:00:00Z"), 1};
	jpki_crl_entry eb = {b, 1, at("2025-02-10T03:00:00Z"), 1};
	size_t la = 0;
	time_t t1 = at("2025-03-01T00:00:00Z"), t2 = t1 + 86400;
	assert_int_equal(entry_len(&ea, &la, &err), 0);
	/* out of order, and twice the same */
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t1,
					       t2, 1, 2, 2 * la, discard, NULL,
					       &s, &err),
			 0);
	x509_crl_enc enc = {0};
	assert_int_equal(add1(s, &enc, &eb, &err), 0);
	assert_int_equal(add1(s, &enc, &ea, &err), JPKI_ERR_STATE);
	assert_int_equal(add1(s, &enc, &eb, &err), JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	/* fewer than announced, more than announced */
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t1,
					       t2, 1, 2, 2 * la, discard, NULL,
					       &s, &err),
			 0);
	enc = (x509_crl_enc){0};
	assert_int_equal(add1(s, &enc, &ea, &err), 0);
	assert_int_equal(x509_crl_stream_end(s, &err), JPKI_ERR_STATE);
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t1,
					       t2, 1, 1, la, discard, NULL, &s,
					       &err),
			 0);
	enc = (x509_crl_enc){0};
	assert_int_equal(add1(s, &enc, &ea, &err), 0);
	assert_int_equal(add1(s, &enc, &eb, &err), JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	/* bad reason, zero serial, inverted times, ARL with a partition */
	jpki_crl_entry bad = {a, 1, t1, (jpki_reason)7};
	assert_int_equal(entry_len(&bad, &la, &err), JPKI_ERR_INVAL);
	const uint8_t zero[] = {0};
	jpki_crl_entry z = {zero, 1, t1, 0};
	assert_int_equal(entry_len(&z, &la, &err), JPKI_ERR_INVAL);
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t2,
					       t1, 1, 0, 0, discard, NULL, &s,
					       &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_crl_stream_begin(
			     root, root_key, X509_get_subject_name(root), true,
			     t1, t2, 1, 0, 0, discard, NULL, &s, &err),
			 JPKI_ERR_INVAL);
	/* an EC key: the signature's size is not known in advance */
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	assert_int_equal(x509_crl_stream_begin(root, ec, NULL, false, t1, t2, 1,
					       0, 0, discard, NULL, &s, &err),
			 JPKI_ERR_KEY);
	EVP_PKEY_free(ec);
}

static int fail_write(void *ctx, const uint8_t *p, size_t n, jpki_err *err)
{
	(void)ctx;
	(void)p;
	(void)n;
	return jpki_fail(err, JPKI_ERR_IO, "disk full");
}

static void test_writer_failure(void **state)
{
	(void)state;
	jpki_err err = {0};
	x509_crl_stream *s = NULL;
	time_t t1 = at("2025-03-01T00:00:00Z");
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t1,
					       t1 + 60, 1, 0, 0, fail_write,
					       NULL, &s, &err),
			 0);
	assert_int_equal(x509_crl_stream_end(s, &err), JPKI_ERR_IO);
	assert_non_null(strstr(err.msg, "disk full"));
}

/* The encoder refuses a bad reason or serial and entries out of order, and
 * leaves its count, size and order as they were. */
static void test_enc_refused(void **state)
{
	(void)state;
	jpki_err err = {0};
	x509_crl_enc enc = {0};
	uint8_t der[X509_CRL_ENTRY_MAX];
	size_t len = 0, la = 0;
	const uint8_t a[] = {0x10}, b[] = {0x20}, b0[] = {0x00, 0x20},
		      c[] = {0x01, 0x00}, zero[] = {0};
	time_t t = at("2025-02-10T03:00:00Z");
	jpki_crl_entry ea = {a, 1, t, JPKI_REASON_KEY_COMPROMISE};
	jpki_crl_entry eb = {b, 1, t, JPKI_REASON_UNSPECIFIED};
	jpki_crl_entry eb0 = {b0, 2, t, JPKI_REASON_SUPERSEDED};
	jpki_crl_entry ec = {c, 2, t, JPKI_REASON_CESSATION};
	assert_int_equal(entry_len(&ea, &la, &err), 0);
	assert_int_equal(x509_crl_enc_entry(&enc, &ea, der, &len, &err), 0);
	assert_int_equal(len, la);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], la - 2);
	assert_int_equal(x509_crl_enc_entry(&enc, &eb, der, &len, &err), 0);
	uint64_t two = enc.len;
	/* before the last, the last again (with a leading zero octet too) */
	assert_int_equal(x509_crl_enc_entry(&enc, &ea, der, &len, &err),
			 JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "serial order"));
	assert_int_equal(x509_crl_enc_entry(&enc, &eb, der, &len, &err),
			 JPKI_ERR_STATE);
	assert_int_equal(x509_crl_enc_entry(&enc, &eb0, der, &len, &err),
			 JPKI_ERR_STATE);
	/* a bad reason, a zero serial, no entry */
	jpki_crl_entry bad = {c, 2, t, (jpki_reason)7}, z = {zero, 1, t, 0};
	assert_int_equal(x509_crl_enc_entry(&enc, &bad, der, &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_crl_enc_entry(&enc, &z, der, &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(x509_crl_enc_entry(&enc, NULL, der, &len, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(enc.n, 2);
	assert_int_equal(enc.len, two);
	/* longer is later, whatever its octets */
	assert_int_equal(x509_crl_enc_entry(&enc, &ec, der, &len, &err), 0);
	assert_int_equal(enc.n, 3);
}

static void encode(const jpki_crl_entry *e, size_t n, uint8_t *out, size_t *len)
{
	x509_crl_enc enc = {0};
	jpki_err err = {0};
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = 0;
		assert_int_equal(
		    x509_crl_enc_entry(&enc, &e[i], out + *len, &l, &err), 0);
		*len += l;
	}
}

/* x509_crl_stream_add_der counts what it is given against the
 * announcement and refuses what does not frame as entries. */
static void test_add_der_refused(void **state)
{
	(void)state;
	jpki_err err = {0};
	x509_crl_stream *s = NULL;
	const uint8_t a[] = {0x10}, b[] = {0x20};
	time_t t1 = at("2025-03-01T00:00:00Z"), t2 = t1 + 86400;
	jpki_crl_entry e[] = {{a, 1, at("2025-02-10T03:00:00Z"), 1},
			      {b, 1, at("2025-02-10T03:00:00Z"), 0}};
	uint8_t der[2 * X509_CRL_ENTRY_MAX];
	size_t len = 0, la = 0;
	encode(e, 2, der, &len);
	assert_int_equal(entry_len(&e[0], &la, &err), 0);
#define BEGIN(n, l)                                                            \
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false,    \
					       t1, t2, 1, (n), (l), discard,   \
					       NULL, &s, &err),                \
			 0)
	/* octets beyond those announced */
	BEGIN(2, len - 1);
	assert_int_equal(x509_crl_stream_add_der(s, der, len, &err),
			 JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	/* more entries than announced in the octets announced: the second
	 * entry's tag is one too many */
	BEGIN(1, len);
	assert_int_equal(x509_crl_stream_add_der(s, der, la, &err), 0);
	assert_int_equal(x509_crl_stream_add_der(s, der + la, 1, &err),
			 JPKI_ERR_STATE);
	assert_non_null(strstr(err.msg, "more CRL entries"));
	x509_crl_stream_free(s);
	/* fewer entries than announced, and an entry cut short */
	BEGIN(2, len);
	assert_int_equal(x509_crl_stream_add_der(s, der, la, &err), 0);
	assert_int_equal(x509_crl_stream_end(s, &err), JPKI_ERR_STATE);
	/* (count and octets as announced, the second entry unfinished) */
	static const uint8_t cut[] = {0x30, 0x01, 0x00, 0x30, 0x05, 0x00};
	BEGIN(2, sizeof(cut));
	assert_int_equal(x509_crl_stream_add_der(s, cut, sizeof(cut), &err), 0);
	assert_int_equal(x509_crl_stream_end(s, &err), JPKI_ERR_STATE);
	/* not an entry: another tag, a long-form or zero length */
	uint8_t bent[2 * X509_CRL_ENTRY_MAX];
	memcpy(bent, der, len);
	bent[0] = 0x31;
	BEGIN(2, len);
	assert_int_equal(x509_crl_stream_add_der(s, bent, len, &err),
			 JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	bent[0] = 0x30;
	bent[1] = 0x81;
	BEGIN(2, len);
	assert_int_equal(x509_crl_stream_add_der(s, bent, len, &err),
			 JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	bent[1] = 0;
	BEGIN(2, len);
	assert_int_equal(x509_crl_stream_add_der(s, bent, 2, &err),
			 JPKI_ERR_STATE);
	x509_crl_stream_free(s);
	assert_int_equal(x509_crl_stream_add_der(NULL, der, len, &err),
			 JPKI_ERR_INVAL);
#undef BEGIN
}

/* The writer's error comes back through x509_crl_stream_add_der once the
 * 64 KiB output buffer is full. */
static void test_add_der_writer_failure(void **state)
{
	(void)state;
	enum { N = 3000 };
	static uint8_t sn[N][2];
	static jpki_crl_entry e[N];
	static uint8_t der[N * X509_CRL_ENTRY_MAX];
	jpki_err err = {0};
	x509_crl_stream *s = NULL;
	size_t len = 0;
	time_t t1 = at("2025-03-01T00:00:00Z");
	for (size_t i = 0; i < N; i++) {
		sn[i][0] = (uint8_t)(1 + i / 256);
		sn[i][1] = (uint8_t)i;
		e[i] = (jpki_crl_entry){sn[i], 2, t1 - 3600,
					JPKI_REASON_KEY_COMPROMISE};
	}
	encode(e, N, der, &len);
	assert_true(len > 65536);
	assert_int_equal(x509_crl_stream_begin(root, root_key, NULL, false, t1,
					       t1 + 60, 1, N, len, fail_write,
					       NULL, &s, &err),
			 0);
	assert_int_equal(x509_crl_stream_add_der(s, der, len, &err),
			 JPKI_ERR_IO);
	assert_non_null(strstr(err.msg, "disk full"));
	x509_crl_stream_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partition_small),
	    cmocka_unit_test(test_arl_and_full),
	    cmocka_unit_test(test_full_random),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_writer_failure),
	    cmocka_unit_test(test_enc_refused),
	    cmocka_unit_test(test_add_der_refused),
	    cmocka_unit_test(test_add_der_writer_failure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
