/* CRLs written as a stream (RFC 5280 section 5.1): the CertificateList's
 * DER goes out through a writer callback as the entries arrive, and the
 * TBSCertList's octets go to EVP_DigestSignUpdate as they are produced, so
 * that a CRL of ten million entries is never in memory.  The profile is
 * x509_crl_build()'s, octet for octet (tests/unit/test_x509_crl_stream.c):
 * v2, the issuer's subject, thisUpdate/nextUpdate as ASN1_TIME_set() writes
 * them, entries with reasonCode (left out for unspecified), then AKI
 * (keyIdentifier), cRLNumber and, for a partition or the ARL, a critical
 * issuingDistributionPoint.  The extensions are encoded by OpenSSL
 * (X509V3_EXT_i2d); the fixed shapes around them by the x509i_dw_* helpers.
 * Entries are encoded beforehand (x509_crl_enc_entry: reason, serial,
 * order) and fed as octets (x509_crl_stream_add_der), for a caller that
 * reads its rows once and keeps their DER until it knows their count and
 * size (ca/crl.c). */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "x509_int.h"

#define OUT_BUF 65536
#define ENTRY_MAX X509_CRL_ENTRY_MAX
#define ALGID_MAX 128

/* x509_crl_stream_add_der() frames entries by a two-octet header: every
 * entry's length fits DER's short form. */
_Static_assert(ENTRY_MAX - 2 < 0x80, "a CRL entry's length is short-form");
_Static_assert(sizeof(((x509_crl_enc *)0)->prev) == X509I_SERIAL_MAX,
	       "x509_crl_enc holds a serial");

struct x509_crl_stream {
	EVP_MD_CTX *md;
	jpki_write_fn wr;
	void *wr_ctx;
	size_t n_entries, n_seen;
	uint64_t entries_len, len_seen;
	bool in_hdr;  /* add_der: an entry's tag seen, its length next */
	size_t left;  /* add_der: octets of the current entry to go */
	uint8_t *ext; /* [0] { Extensions } of the CRL, written last */
	size_t ext_len;
	uint8_t algid[ALGID_MAX];
	size_t algid_len;
	size_t sig_len;
	uint8_t *buf;
	size_t buf_len;
	int rc; /* first writer failure */
};

static int flush(x509_crl_stream *s, jpki_err *err)
{
	if (s->rc != 0)
		return s->rc;
	if (s->buf_len > 0 &&
	    (s->rc = s->wr(s->wr_ctx, s->buf, s->buf_len, err)) != 0) {
		if (s->rc > 0)
			s->rc = jpki_fail(err, JPKI_ERR_IO, "writing a CRL");
		return s->rc;
	}
	s->buf_len = 0;
	return 0;
}

/* Out through the buffer; `tbs` octets are signed as well. */
static int emit(x509_crl_stream *s, const void *p, size_t n, bool tbs,
		jpki_err *err)
{
	if (tbs && EVP_DigestSignUpdate(s->md, p, n) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "signing a CRL");
	const uint8_t *q = p;
	while (n > 0) {
		if (s->buf_len == OUT_BUF && flush(s, err) != 0)
			return s->rc;
		size_t k = OUT_BUF - s->buf_len;
		if (k > n)
			k = n;
		memcpy(s->buf + s->buf_len, q, k);
		s->buf_len += k;
		q += k;
		n -= k;
	}
	return 0;
}

static int emit_hdr(x509_crl_stream *s, uint8_t tag, size_t len, bool tbs,
		    jpki_err *err)
{
	uint8_t hdr[X509I_HDR_MAX];
	return emit(s, hdr, x509i_der_hdr(tag, len, hdr), tbs, err);
}

static size_t tlv_size(size_t len)
{
	uint8_t hdr[X509I_HDR_MAX];
	return x509i_der_hdr(0, len, hdr) + len;
}

/* One revokedCertificates element in out[0..*len); the serial's
 * significant octets in *sig. */
static int entry_der(const jpki_crl_entry *e, uint8_t out[ENTRY_MAX],
		     size_t *len, const uint8_t **sig, size_t *sig_len,
		     jpki_err *err)
{
	/* Extensions { Extension { reasonCode, OCTET STRING { ENUMERATED } } }
	 */
	static const uint8_t reason_ext[] = {0x30, 0x0c, 0x30, 0x0a, 0x06,
					     0x03, 0x55, 0x1d, 0x15, 0x04,
					     0x03, 0x0a, 0x01};
	uint8_t tm[X509I_TIME_DER_MAX];
	x509i_dw w;
	int rc;
	if ((int)e->reason < 0 || jpki_reason_name(e->reason) == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown CRL reason %d",
				 (int)e->reason);
	if ((rc = x509i_serial_octets(e->serial, e->serial_len, sig, sig_len,
				      err)) != 0)
		return rc;
	x509i_dw_init(&w, out, ENTRY_MAX);
	/* RFC 5280 5.3.1: unspecified goes without a reasonCode */
	if (e->reason != JPKI_REASON_UNSPECIFIED) {
		uint8_t r = (uint8_t)e->reason;
		x509i_dw_put(&w, &r, 1);
		x509i_dw_put(&w, reason_ext, sizeof(reason_ext));
	}
	x509i_dw_put(&w, tm, x509i_time_der(e->revoked_at, tm));
	x509i_dw_uint(&w, *sig, *sig_len);
	x509i_dw_wrap(&w, X509I_TAG_SEQ, 0);
	const uint8_t *d = x509i_dw_data(&w, len);
	if (d == NULL)
		return jpki_fail(err, JPKI_ERR_RANGE, "CRL entry too large");
	memmove(out, d, *len);
	return 0;
}

/* One extension's DER appended to *buf (OpenSSL encodes its value). */
static int add_ext(uint8_t **buf, size_t *len, int nid, int crit, void *val,
		   jpki_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_i2d(nid, crit, val);
	unsigned char *p = NULL;
	int n = ext != NULL ? i2d_X509_EXTENSION(ext, &p) : -1;
	int rc = 0;
	X509_EXTENSION_free(ext);
	if (n <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "CRL extensions");
	uint8_t *nb = realloc(*buf, *len + (size_t)n);
	if (nb == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	} else {
		memcpy(nb + *len, p, (size_t)n);
		*buf = nb;
		*len += (size_t)n;
	}
	OPENSSL_free(p);
	return rc;
}

static int idp_new(const X509_NAME *name, bool ca_only,
		   ISSUING_DIST_POINT **out, jpki_err *err)
{
	ISSUING_DIST_POINT *idp = NULL;
	GENERAL_NAME *gn = NULL;
	if ((idp = ISSUING_DIST_POINT_new()) == NULL ||
	    (idp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (gn->d.directoryName = X509_NAME_dup(name)) == NULL)
		goto fail;
	idp->distpoint->type = 0; /* fullName */
	gn->type = GEN_DIRNAME;
	if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn))
		goto fail;
	if (ca_only)
		idp->onlyCA = 0xff;
	else
		idp->onlyuser = 0xff;
	*out = idp;
	return 0;
fail:
	GENERAL_NAME_free(gn);
	ISSUING_DIST_POINT_free(idp);
	return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
}

/* [0] EXPLICIT Extensions { AKI, cRLNumber, IDP (critical) }. */
static int crl_exts(x509_crl_stream *s, X509 *issuer,
		    const X509_NAME *partition, bool arl, uint64_t number,
		    jpki_err *err)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ISSUING_DIST_POINT *idp = NULL;
	uint8_t *body = NULL;
	size_t body_len = 0;
	int rc;
	if (akid == NULL || num == NULL ||
	    !ASN1_INTEGER_set_uint64(num, number)) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	akid->keyid =
	    X509_get_ext_d2i(issuer, NID_subject_key_identifier, NULL, NULL);
	if (akid->keyid == NULL) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "CRL issuer has no subjectKeyIdentifier");
		goto out;
	}
	/* RFC 5280 5.2.1 and 5.2.3: AKI and cRLNumber, non-critical */
	if ((rc = add_ext(&body, &body_len, NID_authority_key_identifier, 0,
			  akid, err)) != 0 ||
	    (rc = add_ext(&body, &body_len, NID_crl_number, 0, num, err)) != 0)
		goto out;
	/* RFC 5280 5.2.5: critical */
	if (partition != NULL || arl) {
		if ((rc = idp_new(partition != NULL
				      ? partition
				      : X509_get_subject_name(issuer),
				  arl, &idp, err)) != 0 ||
		    (rc = add_ext(&body, &body_len,
				  NID_issuing_distribution_point, 1, idp,
				  err)) != 0)
			goto out;
	}
	size_t seq = tlv_size(body_len);
	s->ext_len = tlv_size(seq);
	if ((s->ext = malloc(s->ext_len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	size_t o = x509i_der_hdr(X509I_TAG_CTX0_CONS, seq, s->ext);
	o += x509i_der_hdr(X509I_TAG_SEQ, body_len, s->ext + o);
	memcpy(s->ext + o, body, body_len);
	rc = 0;
out:
	free(body);
	ISSUING_DIST_POINT_free(idp);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

void x509_crl_stream_free(x509_crl_stream *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->md);
	free(s->ext);
	free(s->buf);
	free(s);
}

int x509_crl_stream_begin(X509 *issuer, EVP_PKEY *key,
			  const X509_NAME *partition, bool arl,
			  time_t this_update, time_t next_update,
			  uint64_t crl_number, size_t n_entries,
			  uint64_t entries_len, jpki_write_fn wr, void *wr_ctx,
			  x509_crl_stream **out, jpki_err *err)
{
	static const uint8_t v2[] = {X509I_TAG_INT, 1, 1};
	x509_crl_stream *s = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *issuer_der = NULL;
	uint8_t t1[X509I_TIME_DER_MAX], t2[X509I_TIME_DER_MAX];
	int rc;
	if (issuer == NULL || key == NULL || wr == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if (partition != NULL && arl)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the ARL has no municipality partition");
	if (n_entries > JPKI_CRL_MAX_ENTRIES)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "%zu CRL entries, at most %d", n_entries,
				 JPKI_CRL_MAX_ENTRIES);
	if (this_update >= next_update)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "CRL thisUpdate must be before nextUpdate");
	if (!EVP_PKEY_is_a(key, "RSA"))
		return jpki_fail(err, JPKI_ERR_KEY,
				 "a streamed CRL is signed with RSA");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->buf = malloc(OUT_BUF)) == NULL ||
	    (s->md = EVP_MD_CTX_new()) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->wr = wr;
	s->wr_ctx = wr_ctx;
	s->n_entries = n_entries;
	s->entries_len = entries_len;
	if (EVP_DigestSignInit_ex(s->md, &pctx, "SHA256", NULL, NULL, key,
				  NULL) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing a CRL");
		goto out;
	}
	/* the AlgorithmIdentifier the provider signs under, as
	 * X509_CRL_sign() puts it in both places */
	OSSL_PARAM p[2] = {
	    OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
					      s->algid, sizeof(s->algid)),
	    OSSL_PARAM_construct_end()};
	if (EVP_PKEY_CTX_get_params(pctx, p) != 1 ||
	    !OSSL_PARAM_modified(&p[0]) || p[0].return_size == 0 ||
	    p[0].return_size > sizeof(s->algid)) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "no signature AlgorithmIdentifier");
		goto out;
	}
	s->algid_len = p[0].return_size;
	int sz = EVP_PKEY_get_size(key);
	int in = i2d_X509_NAME(X509_get_subject_name(issuer), &issuer_der);
	if (sz <= 0 || in <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "CRL issuer or key");
		goto out;
	}
	s->sig_len = (size_t)sz;
	if ((rc = crl_exts(s, issuer, partition, arl, crl_number, err)) != 0)
		goto out;
	size_t t1_len = x509i_time_der(this_update, t1);
	size_t t2_len = x509i_time_der(next_update, t2);
	size_t head = sizeof(v2) + s->algid_len + (size_t)in + t1_len + t2_len;
	size_t rev = n_entries > 0 ? tlv_size((size_t)entries_len) : 0;
	size_t tbs = tlv_size(head + rev + s->ext_len);
	size_t whole = tbs + s->algid_len + tlv_size(s->sig_len + 1);
	if ((rc = emit_hdr(s, X509I_TAG_SEQ, whole, false, err)) != 0 ||
	    (rc = emit_hdr(s, X509I_TAG_SEQ, head + rev + s->ext_len, true,
			   err)) != 0 ||
	    (rc = emit(s, v2, sizeof(v2), true, err)) != 0 ||
	    (rc = emit(s, s->algid, s->algid_len, true, err)) != 0 ||
	    (rc = emit(s, issuer_der, (size_t)in, true, err)) != 0 ||
	    (rc = emit(s, t1, t1_len, true, err)) != 0 ||
	    (rc = emit(s, t2, t2_len, true, err)) != 0)
		goto out;
	/* revokedCertificates is OPTIONAL: no SEQUENCE when empty */
	if (n_entries > 0 &&
	    (rc = emit_hdr(s, X509I_TAG_SEQ, (size_t)entries_len, true, err)) !=
		0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	OPENSSL_free(issuer_der);
	x509_crl_stream_free(s);
	return rc;
}

int x509_crl_enc_entry(x509_crl_enc *enc, const jpki_crl_entry *e,
		       uint8_t out[X509_CRL_ENTRY_MAX], size_t *len,
		       jpki_err *err)
{
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;
	if (enc == NULL || e == NULL || out == NULL || len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if ((rc = entry_der(e, out, len, &sig, &sig_len, err)) != 0)
		return rc;
	/* X509_CRL_sort's order (ASN1_STRING_cmp): length, then octets;
	 * strictly ascending, so no serial twice */
	if (enc->n > 0 &&
	    (sig_len < enc->prev_len || (sig_len == enc->prev_len &&
					 memcmp(sig, enc->prev, sig_len) <= 0)))
		return jpki_fail(err, JPKI_ERR_STATE,
				 "CRL entries out of serial order");
	if (enc->n == JPKI_CRL_MAX_ENTRIES)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "more than %d CRL entries",
				 JPKI_CRL_MAX_ENTRIES);
	memcpy(enc->prev, sig, sig_len);
	enc->prev_len = sig_len;
	enc->n++;
	enc->len += *len;
	return 0;
}

int x509_crl_stream_add_der(x509_crl_stream *s, const uint8_t *der, size_t len,
			    jpki_err *err)
{
	if (s == NULL || (der == NULL && len > 0))
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if (len > s->entries_len - s->len_seen)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "more CRL entry octets than announced");
	/* each entry a SEQUENCE, its length in one octet (ENTRY_MAX) */
	for (size_t i = 0; i < len;) {
		if (s->left > 0) {
			size_t k = len - i < s->left ? len - i : s->left;
			s->left -= k;
			i += k;
			continue;
		}
		uint8_t b = der[i++];
		if (s->in_hdr) {
			if (b == 0 || b >= 0x80)
				return jpki_fail(err, JPKI_ERR_STATE,
						 "encoded CRL entries: bad "
						 "length");
			s->left = b;
			s->in_hdr = false;
		} else if (b != X509I_TAG_SEQ) {
			return jpki_fail(err, JPKI_ERR_STATE,
					 "encoded CRL entries: no entry");
		} else if (s->n_seen == s->n_entries) {
			return jpki_fail(err, JPKI_ERR_STATE,
					 "more CRL entries than announced");
		} else {
			s->n_seen++;
			s->in_hdr = true;
		}
	}
	s->len_seen += len;
	return emit(s, der, len, true, err);
}

int x509_crl_stream_end(x509_crl_stream *s, jpki_err *err)
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;
	if (s == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "CRL: bad argument");
	if (s->n_seen != s->n_entries || s->len_seen != s->entries_len ||
	    s->in_hdr || s->left > 0) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "%zu CRL entries announced, %zu written",
			       s->n_entries, s->n_seen);
		goto out;
	}
	if ((rc = emit(s, s->ext, s->ext_len, true, err)) != 0)
		goto out;
	if ((sig = malloc(s->sig_len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	sig_len = s->sig_len;
	if (EVP_DigestSignFinal(s->md, sig, &sig_len) != 1 ||
	    sig_len != s->sig_len) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing a CRL");
		goto out;
	}
	static const uint8_t unused_bits = 0;
	if ((rc = emit(s, s->algid, s->algid_len, false, err)) != 0 ||
	    (rc = emit_hdr(s, X509I_TAG_BITS, sig_len + 1, false, err)) != 0 ||
	    (rc = emit(s, &unused_bits, 1, false, err)) != 0 ||
	    (rc = emit(s, sig, sig_len, false, err)) != 0)
		goto out;
	rc = flush(s, err);
out:
	free(sig);
	x509_crl_stream_free(s);
	return rc;
}
