/* The hot path's reading of an OCSPRequest: the one strict-DER reading
 * (x509_ocsp_req_parse), done once on the HTTP thread; its result travels
 * with the request to the signer on a miss.  Only the RFC 5019 2.1.1
 * shape -- one Request with one CertID, no requestorName, extensions or
 * signature -- is answered from the cache; its CertID bytes are the key. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "server_int.h"

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

int srv_ocsp_parse(const uint8_t *req, size_t len,
		   const srv_issuer_hashes roots[3], srv_ocsp_parsed *p)
{
	memset(p, 0, sizeof(*p));
	if (x509_ocsp_req_parse(req, len, &p->req) != 0)
		return JPKI_ERR_PARSE;
	p->ok = true;
	const jpki_ocsp_certid *id = &p->req.id[0];
	p->key_off = (size_t)(id->der - req);
	p->key_len = id->der_len;
	/* the hierarchy the (first) CertID names, for the signer too */
	p->kind = match_issuer(id->hash, id->name_hash, id->name_hash_len,
			       id->key_hash, id->key_hash_len, roots);
	/* cacheable: one positive serial of at most 20 octets (RFC 5280
	 * 4.1.2.2), a key that fits */
	if (!p->req.simple || id->serial_negative ||
	    id->serial_len > sizeof(p->serial) || p->key_len > SRV_OCSP_KEY_MAX)
		return 0;
	p->simple = true;
	memcpy(p->serial, id->serial, id->serial_len);
	p->serial_len = id->serial_len;
	return 0;
}

bool srv_ocsp_names_issuer(const srv_ocsp_parsed *p, const srv_issuer_hashes *h)
{
	const jpki_ocsp_certid *id = &p->req.id[0];
	srv_issuer_hashes one[3];
	if (!p->ok)
		return false;
	memset(one, 0, sizeof(one));
	one[JPKI_CERT_SIGN] = *h;
	return match_issuer(id->hash, id->name_hash, id->name_hash_len,
			    id->key_hash, id->key_hash_len,
			    one) == JPKI_CERT_SIGN;
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
