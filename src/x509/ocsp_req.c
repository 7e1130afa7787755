/* The one reading of an OCSPRequest (RFC 6960 4.1.1), strict DER through
 * openjpki/der.h.  jpkid reads a request once on its HTTP thread (the
 * CertID is the cache key) and hands the result to the signer; the CLI
 * and tests go through x509_ocsp_respond(), which reads it here too. */
#include <string.h>

#include "x509_int.h"

/* RFC 8954 section 2.1 */
#define NONCE_MIN 1
#define NONCE_MAX 32

/* content octets of the OIDs */
static const uint8_t oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65,
				     0x03, 0x04, 0x02, 0x01};
static const uint8_t oid_nonce[] = {0x2b, 0x06, 0x01, 0x05, 0x05,
				    0x07, 0x30, 0x01, 0x02};

/* CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash
 * OCTET STRING, issuerKeyHash OCTET STRING, serialNumber INTEGER } */
static int certid(jpki_rbuf *b, jpki_ocsp_certid *id)
{
	jpki_rbuf cid, whole, alg, oid, nh, kh, params;
	uint8_t t;
	const uint8_t *sn;
	size_t sl;
	if (jpki_der_get_whole(b, JPKI_DER_SEQ, &cid, &whole) != 0 ||
	    jpki_der_get(&cid, JPKI_DER_SEQ, &alg) != 0 ||
	    jpki_der_oid(&alg, &oid) != 0)
		return JPKI_ERR_PARSE;
	/* parameters: absent or one element (NULL for SHA-1/SHA-2) */
	if (jpki_rbuf_left(&alg) > 0 &&
	    (jpki_der_any(&alg, &t, &params) != 0 || jpki_der_end(&alg) != 0))
		return JPKI_ERR_PARSE;
	if (jpki_der_octets(&cid, &nh) != 0 ||
	    jpki_der_octets(&cid, &kh) != 0 ||
	    jpki_der_int_bytes(&cid, &sn, &sl) != 0 || jpki_der_end(&cid) != 0)
		return JPKI_ERR_PARSE;
	id->der = whole.p;
	id->der_len = whole.len;
	id->hash = jpki_der_is(&oid, oid_sha1, sizeof(oid_sha1))       ? 1
		   : jpki_der_is(&oid, oid_sha256, sizeof(oid_sha256)) ? 256
								       : 0;
	id->name_hash = nh.p;
	id->name_hash_len = nh.len;
	id->key_hash = kh.p;
	id->key_hash_len = kh.len;
	id->serial_negative = (sn[0] & 0x80) != 0;
	if (sl > 1 && sn[0] == 0) {
		sn++;
		sl--;
	}
	id->serial = sn;
	id->serial_len = sl;
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension; Extension ::=
 * SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }.  Only
 * the nonce is looked at; when `rq` is NULL none is expected to matter. */
static int extensions(jpki_rbuf *b, jpki_ocsp_req *rq)
{
	jpki_rbuf list, ext, oid, val;
	if (jpki_der_get(b, JPKI_DER_SEQ, &list) != 0 ||
	    jpki_rbuf_left(&list) == 0)
		return JPKI_ERR_PARSE;
	while (jpki_rbuf_left(&list) > 0) {
		bool crit = false;
		if (jpki_der_get(&list, JPKI_DER_SEQ, &ext) != 0 ||
		    jpki_der_oid(&ext, &oid) != 0)
			return JPKI_ERR_PARSE;
		/* X.690 11.5: the DEFAULT FALSE is left out */
		if (jpki_der_peek_is(&ext, JPKI_DER_BOOL) &&
		    (jpki_der_bool(&ext, &crit) != 0 || !crit))
			return JPKI_ERR_PARSE;
		if (jpki_der_octets(&ext, &val) != 0 || jpki_der_end(&ext) != 0)
			return JPKI_ERR_PARSE;
		if (rq == NULL ||
		    !jpki_der_is(&oid, oid_nonce, sizeof(oid_nonce)))
			continue;
		if (rq->has_nonce)
			return JPKI_ERR_PARSE;
		rq->has_nonce = true;
		rq->nonce_critical = crit;
		rq->nonce_ext = val.p;
		rq->nonce_ext_len = val.len;
		/* RFC 8954: Nonce ::= OCTET STRING inside extnValue; some
		 * older clients put the raw bytes there, which is tolerated */
		jpki_rbuf in = val, inner;
		size_t n = val.len;
		if (jpki_der_octets(&in, &inner) == 0 && jpki_der_end(&in) == 0)
			n = inner.len;
		if (n < NONCE_MIN || n > NONCE_MAX)
			return JPKI_ERR_PARSE;
	}
	return 0;
}

int x509_ocsp_req_parse(const uint8_t *req, size_t len, jpki_ocsp_req *rq)
{
	jpki_rbuf top, outer, tbs, list, one, skip;
	bool there;
	uint8_t t;
	memset(rq, 0, sizeof(*rq));
	if (req == NULL || len == 0 || len > JPKI_OCSP_MAX_REQ)
		return JPKI_ERR_PARSE;
	jpki_rbuf_init(&top, req, len);
	/* OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0]
	 * EXPLICIT Signature OPTIONAL } */
	if (jpki_der_get(&top, JPKI_DER_SEQ, &outer) != 0 ||
	    jpki_der_end(&top) != 0 ||
	    jpki_der_get(&outer, JPKI_DER_SEQ, &tbs) != 0)
		return JPKI_ERR_PARSE;
	bool signed_req = jpki_rbuf_left(&outer) > 0;
	if (signed_req &&
	    (jpki_der_explicit(&outer, 0, JPKI_DER_SEQ, &skip) != 0 ||
	     jpki_der_end(&outer) != 0))
		return JPKI_ERR_PARSE;
	/* TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1,
	 * requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList,
	 * requestExtensions [2] EXPLICIT Extensions OPTIONAL }.  DER leaves
	 * the default version out (X.690 11.5), and no other exists. */
	if (jpki_der_peek_is(&tbs, JPKI_DER_CTX_CONS(0)))
		return JPKI_ERR_PARSE;
	jpki_rbuf name;
	if (jpki_der_optional(&tbs, JPKI_DER_CTX_CONS(1), &name, &there) != 0 ||
	    (there &&
	     (jpki_der_any(&name, &t, &skip) != 0 || jpki_der_end(&name) != 0)))
		return JPKI_ERR_PARSE;
	bool named = there;
	if (jpki_der_get(&tbs, JPKI_DER_SEQ, &list) != 0)
		return JPKI_ERR_PARSE;
	jpki_rbuf exts;
	if (jpki_der_optional(&tbs, JPKI_DER_CTX_CONS(2), &exts, &there) != 0 ||
	    (there &&
	     (extensions(&exts, rq) != 0 || jpki_der_end(&exts) != 0)) ||
	    jpki_der_end(&tbs) != 0)
		return JPKI_ERR_PARSE;
	bool any_ext = there;
	/* Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions
	 * [0] EXPLICIT Extensions OPTIONAL } */
	while (jpki_rbuf_left(&list) > 0) {
		if (rq->n_ids == JPKI_OCSP_MAX_IDS ||
		    jpki_der_get(&list, JPKI_DER_SEQ, &one) != 0 ||
		    certid(&one, &rq->id[rq->n_ids]) != 0)
			return JPKI_ERR_PARSE;
		if (jpki_der_optional(&one, JPKI_DER_CTX_CONS(0), &exts,
				      &there) != 0 ||
		    (there && (extensions(&exts, NULL) != 0 ||
			       jpki_der_end(&exts) != 0)) ||
		    jpki_der_end(&one) != 0)
			return JPKI_ERR_PARSE;
		any_ext = any_ext || there;
		rq->n_ids++;
	}
	if (rq->n_ids == 0)
		return JPKI_ERR_PARSE;
	rq->simple = rq->n_ids == 1 && !any_ext && !named && !signed_req;
	return 0;
}
