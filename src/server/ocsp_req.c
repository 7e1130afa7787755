/* The hot path's reading of an OCSPRequest (RFC 6960 §4.1.1), through the
 * bounded reader.  Only the RFC 5019 §2.1.1 shape is recognised: one
 * Request with one CertID, no version, requestorName, extensions or
 * signature.  Its CertID bytes are the cache key.  Anything else (a nonce,
 * several CertIDs, BER) is left to OpenSSL's parser on the slow path, so
 * this reader only has to be right about what it accepts. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "server_int.h"

/* DER OIDs of SHA-1 and SHA-256 (content octets). */
static const uint8_t oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65,
				     0x03, 0x04, 0x02, 0x01};

/* One TLV with a single-octet tag and a minimal definite length. */
static int tlv(jpki_rbuf *b, uint8_t *tag, size_t *len)
{
	uint8_t t, l;
	int rc;
	if ((rc = jpki_rbuf_u8(b, &t)) != 0 || (t & 0x1f) == 0x1f ||
	    (rc = jpki_rbuf_u8(b, &l)) != 0)
		return JPKI_ERR_PARSE;
	size_t n = l;
	if (l & 0x80) {
		int k = l & 0x7f;
		if (k == 0 || k > 3)
			return JPKI_ERR_PARSE;
		n = 0;
		for (int i = 0; i < k; i++) {
			uint8_t v;
			if (jpki_rbuf_u8(b, &v) != 0 || (i == 0 && v == 0))
				return JPKI_ERR_PARSE;
			n = n << 8 | v;
		}
		if (n < 0x80)
			return JPKI_ERR_PARSE;
	}
	if (n > jpki_rbuf_left(b))
		return JPKI_ERR_PARSE;
	*tag = t;
	*len = n;
	return 0;
}

/* Enter a constructed TLV of tag `want`: *in covers its content. */
static int enter(jpki_rbuf *b, uint8_t want, jpki_rbuf *in)
{
	uint8_t t;
	size_t n;
	const uint8_t *p;
	if (tlv(b, &t, &n) != 0 || t != want || jpki_rbuf_ptr(b, &p, n) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(in, p, n);
	return 0;
}

static uint8_t peek(const jpki_rbuf *b)
{
	return jpki_rbuf_left(b) > 0 ? b->p[b->off] : 0;
}

static int prim(jpki_rbuf *b, uint8_t want, const uint8_t **p, size_t *n)
{
	uint8_t t;
	if (tlv(b, &t, n) != 0 || t != want || jpki_rbuf_ptr(b, p, *n) != 0)
		return JPKI_ERR_PARSE;
	return 0;
}

static int match_issuer(int alg, const uint8_t *nh, size_t nl,
			const uint8_t *kh, size_t kl,
			const srv_issuer_hashes roots[3])
{
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		const srv_issuer_hashes *h = &roots[k];
		if (alg == 1 && nl == 20 && kl == 20 &&
		    memcmp(nh, h->name1, 20) == 0 &&
		    memcmp(kh, h->key1, 20) == 0)
			return k;
		if (alg == 256 && nl == 32 && kl == 32 &&
		    memcmp(nh, h->name256, 32) == 0 &&
		    memcmp(kh, h->key256, 32) == 0)
			return k;
	}
	return 0;
}

static int certid(jpki_rbuf *b, const srv_issuer_hashes roots[3],
		  srv_ocsp_parsed *p)
{
	jpki_rbuf cid, alg;
	const uint8_t *oid, *nh, *kh, *sn;
	size_t ol, nl, kl, sl;
	if (enter(b, 0x30, &cid) != 0 || enter(&cid, 0x30, &alg) != 0 ||
	    prim(&alg, 0x06, &oid, &ol) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_rbuf_left(&alg) > 0) {
		const uint8_t *np;
		size_t nn;
		if (prim(&alg, 0x05, &np, &nn) != 0 || nn != 0 ||
		    jpki_rbuf_end(&alg) != 0)
			return JPKI_ERR_PARSE;
	}
	if (prim(&cid, 0x04, &nh, &nl) != 0 ||
	    prim(&cid, 0x04, &kh, &kl) != 0 ||
	    prim(&cid, 0x02, &sn, &sl) != 0 || jpki_rbuf_end(&cid) != 0)
		return JPKI_ERR_PARSE;
	int a = ol == sizeof(oid_sha1) && memcmp(oid, oid_sha1, ol) == 0 ? 1
		: ol == sizeof(oid_sha256) && memcmp(oid, oid_sha256, ol) == 0
		    ? 256
		    : 0;
	p->kind = match_issuer(a, nh, nl, kh, kl, roots);
	/* a positive DER INTEGER (minimal: one 00 only before a high
	 * bit) of at most 20 significant octets */
	if (sl == 0 || (sn[0] & 0x80) != 0 ||
	    (sl > 1 && sn[0] == 0 && (sn[1] & 0x80) == 0))
		return JPKI_ERR_PARSE;
	if (sl > 1 && sn[0] == 0) {
		sn++;
		sl--;
	}
	if (sl > sizeof(p->serial))
		return JPKI_ERR_PARSE;
	memcpy(p->serial, sn, sl);
	p->serial_len = sl;
	return 0;
}

int srv_ocsp_parse(const uint8_t *req, size_t len,
		   const srv_issuer_hashes roots[3], srv_ocsp_parsed *p)
{
	jpki_rbuf top, outer, tbs, list, one;
	memset(p, 0, sizeof(*p));
	if (len == 0 || len > JPKI_OCSP_MAX_REQ)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(&top, req, len);
	if (enter(&top, 0x30, &outer) != 0 || jpki_rbuf_end(&top) != 0 ||
	    enter(&outer, 0x30, &tbs) != 0)
		return JPKI_ERR_PARSE;
	/* [0] version, [1] requestorName: valid, but not the simple shape */
	if (peek(&tbs) == 0xa0 || peek(&tbs) == 0xa1)
		return 0;
	if (enter(&tbs, 0x30, &list) != 0)
		return JPKI_ERR_PARSE;
	if (enter(&list, 0x30, &one) != 0)
		return JPKI_ERR_PARSE;
	size_t key_off = (size_t)(one.p - req) + one.off;
	if (certid(&one, roots, p) != 0)
		return JPKI_ERR_PARSE;
	size_t key_end = (size_t)(one.p - req) + one.off;
	p->key_off = key_off;
	p->key_len = key_end - key_off;
	if (p->key_len > SRV_OCSP_KEY_MAX)
		return JPKI_ERR_PARSE;
	/* singleRequestExtensions, more CertIDs, requestExtensions (a
	 * nonce), optionalSignature: all for the slow path */
	p->simple = jpki_rbuf_left(&one) == 0 && jpki_rbuf_left(&list) == 0 &&
		    jpki_rbuf_left(&tbs) == 0 && jpki_rbuf_left(&outer) == 0;
	return 0;
}

static size_t len_octets(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

/* Write a SEQUENCE header for content of n octets at out; return size. */
static size_t seq_hdr(uint8_t *out, size_t n)
{
	size_t k = len_octets(n);
	out[0] = 0x30;
	if (k == 1) {
		out[1] = (uint8_t)n;
	} else {
		out[1] = (uint8_t)(0x80 | (k - 1));
		for (size_t i = 0; i < k - 1; i++)
			out[2 + i] = (uint8_t)(n >> (8 * (k - 2 - i)));
	}
	return 1 + k;
}

int srv_ocsp_wrap(const uint8_t *certid, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	/* OCSPRequest { TBSRequest { requestList { Request { CertID } } } } */
	size_t n[4];
	n[0] = len;			    /* Request content */
	n[1] = 1 + len_octets(n[0]) + n[0]; /* requestList content */
	n[2] = 1 + len_octets(n[1]) + n[1]; /* TBSRequest content */
	n[3] = 1 + len_octets(n[2]) + n[2]; /* OCSPRequest content */
	size_t total = 1 + len_octets(n[3]) + n[3];
	if (len > SRV_OCSP_KEY_MAX || total > cap)
		return JPKI_ERR_RANGE;
	size_t o = 0;
	for (int i = 3; i >= 0; i--)
		o += seq_hdr(out + o, n[i]);
	memcpy(out + o, certid, len);
	*out_len = o + len;
	return 0;
}

int srv_issuer_hashes_of(X509 *root, srv_issuer_hashes *h, jpki_err *err)
{
	unsigned int l1 = 0, l2 = 0, l3 = 0, l4 = 0;
	if (!X509_NAME_digest(X509_get_subject_name(root), EVP_sha1(), h->name1,
			      &l1) ||
	    !X509_pubkey_digest(root, EVP_sha1(), h->key1, &l2) ||
	    !X509_NAME_digest(X509_get_subject_name(root), EVP_sha256(),
			      h->name256, &l3) ||
	    !X509_pubkey_digest(root, EVP_sha256(), h->key256, &l4) ||
	    l1 != 20 || l2 != 20 || l3 != 32 || l4 != 32)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "hashing a root for OCSP");
	return 0;
}
