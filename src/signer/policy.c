/* What the signer agrees to sign (include/openjpki/signer.h): each kind of
 * request parsed with the bounded DER reader and OpenSSL's decoders and
 * checked against the roots the signer holds, the certificates by the CA's
 * own lint.  Nothing here touches a key. */
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/date.h"
#include "openjpki/der.h"
#include "openjpki/signer.h"
#include "openjpki/x509.h"

#define LABEL_SIGN "sign-root"
#define LABEL_AUTH "auth-root"
#define LABEL_AUDIT "audit"
#define OCSP_SINGLE_MAX 256

/* sha256WithRSAEncryption, NULL parameters */
static const uint8_t alg_id[15] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
				   0x86, 0x48, 0x86, 0xf7, 0x0d,
				   0x01, 0x01, 0x0b, 0x05, 0x00};

typedef struct slot {
	uint8_t len; /* 0: empty */
	uint8_t b[SIGNER_SERIAL_MAX];
} slot;

struct signer_policy {
	/* [hierarchy][generation - 1] */
	X509 *root[2][SIGNER_GEN_MAX];
	x509_issuer *iss[2][SIGNER_GEN_MAX];
	slot *set;
	size_t cap, used; /* cap a power of two */
};

void signer_policy_free(signer_policy *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < 2; i++)
		for (int g = 0; g < SIGNER_GEN_MAX; g++) {
			X509_free(p->root[i][g]);
			x509_issuer_free(p->iss[i][g]);
		}
	free(p->set);
	free(p);
}

int signer_policy_new(X509 *sign_root, X509 *auth_root, signer_policy **out,
		      jpki_err *err)
{
	signer_policy *p = calloc(1, sizeof(*p));
	X509 *roots[2] = {sign_root, auth_root};
	jpki_cert_kind kinds[2] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};
	int rc = 0;
	if (p == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = x509_init(err)) != 0)
		goto out;
	(void)kinds;
	for (int i = 0; i < 2; i++)
		if ((rc = signer_policy_add_gen(p, i, 1, roots[i], err)) != 0)
			goto out;
	p->cap = 1024;
	if ((p->set = calloc(p->cap, sizeof(slot))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	*out = p;
	p = NULL;
out:
	signer_policy_free(p);
	return rc;
}

int signer_policy_add_gen(signer_policy *p, int ri, int gen, X509 *root,
			  jpki_err *err)
{
	static const jpki_cert_kind kinds[2] = {JPKI_CERT_SIGN, JPKI_CERT_AUTH};
	if (ri < 0 || ri > 1 || gen < 1 || gen > SIGNER_GEN_MAX ||
	    p->root[ri][gen - 1] != NULL ||
	    (gen > 1 && p->root[ri][gen - 2] == NULL))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "signer: root generation %d out of order",
				 gen);
	if (root == NULL || X509_up_ref(root) != 1)
		return jpki_fail(err, JPKI_ERR_INVAL, "signer: no root");
	p->root[ri][gen - 1] = root;
	/* the profile is the one whose root DN this is */
	if (x509_issuer_new(JPKI_PROFILE_TEST, kinds[ri], root,
			    &p->iss[ri][gen - 1], NULL) != 0)
		return x509_issuer_new(JPKI_PROFILE_PRODUCTION, kinds[ri], root,
				       &p->iss[ri][gen - 1], err);
	return 0;
}

int signer_root_label(const char *label, int *gen)
{
	static const char *const base[2] = {LABEL_SIGN, LABEL_AUTH};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(base[i]);
		if (strncmp(label, base[i], n) != 0)
			continue;
		if (label[n] == '\0') {
			*gen = 1;
			return i;
		}
		/* "-N", N of 2..SIGNER_GEN_MAX without leading zeros */
		const char *d = label + n + 1;
		if (label[n] != '-' || d[0] < '1' || d[0] > '9' ||
		    strspn(d, "0123456789") != strlen(d) || strlen(d) > 2)
			return -1;
		int g = atoi(d);
		if (g < 2 || g > SIGNER_GEN_MAX)
			return -1;
		*gen = g;
		return i;
	}
	return -1;
}

/* --- the used serials: open addressing, FNV-1a --- */

static size_t slot_of(const slot *set, size_t cap, const uint8_t *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	size_t i = (size_t)h & (cap - 1);
	while (set[i].len != 0 &&
	       (set[i].len != len || memcmp(set[i].b, s, len) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

bool signer_policy_used(const signer_policy *p, const uint8_t *serial,
			size_t len)
{
	if (len == 0 || len > SIGNER_SERIAL_MAX)
		return false;
	return p->set[slot_of(p->set, p->cap, serial, len)].len != 0;
}

int signer_policy_mark(signer_policy *p, const uint8_t *serial, size_t len,
		       jpki_err *err)
{
	if (len == 0 || len > SIGNER_SERIAL_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "signer: serial length");
	if ((p->used + 1) * 2 > p->cap) {
		size_t cap = p->cap * 2;
		slot *set = calloc(cap, sizeof(slot));
		if (set == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < p->cap; i++)
			if (p->set[i].len != 0)
				set[slot_of(set, cap, p->set[i].b,
					    p->set[i].len)] = p->set[i];
		free(p->set);
		p->set = set;
		p->cap = cap;
	}
	size_t i = slot_of(p->set, p->cap, serial, len);
	if (p->set[i].len == 0) {
		p->set[i].len = (uint8_t)len;
		memcpy(p->set[i].b, serial, len);
		p->used++;
	}
	return 0;
}

/* --- helpers --- */

static int refuse(jpki_err *err, const char *what)
{
	return jpki_fail(err, JPKI_ERR_POLICY, "signer: %s", what);
}

/* SEQUENCE { tbs, sha256WithRSAEncryption, BIT STRING '' }: the signed
 * shape OpenSSL's decoders read (the signature is not looked at). */
static int wrap(const uint8_t *tbs, size_t n, uint8_t **out, size_t *out_len,
		jpki_err *err)
{
	static const uint8_t bits[3] = {0x03, 0x01, 0x00};
	jpki_wbuf w;
	size_t body = n + sizeof(alg_id) + sizeof(bits);
	jpki_wbuf_init(&w, body + 8);
	int bad = jpki_wbuf_u8(&w, 0x30);
	if (body < 0x80)
		bad |= jpki_wbuf_u8(&w, (uint8_t)body);
	else if (body < 0x100)
		bad |= jpki_wbuf_u8(&w, 0x81) | jpki_wbuf_u8(&w, (uint8_t)body);
	else if (body < 0x10000)
		bad |= jpki_wbuf_u8(&w, 0x82) |
		       jpki_wbuf_u16be(&w, (uint16_t)body);
	else
		bad |= jpki_wbuf_u8(&w, 0x84) |
		       jpki_wbuf_u32be(&w, (uint32_t)body);
	bad |= jpki_wbuf_put(&w, tbs, n) | jpki_wbuf_put(&w, alg_id, 15) |
	       jpki_wbuf_put(&w, bits, 3);
	if (bad != 0) {
		jpki_wbuf_free(&w);
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}

static ASN1_TIME *time_of(uint8_t tag, const jpki_rbuf *v)
{
	int type = tag == JPKI_DER_UTCTIME   ? V_ASN1_UTCTIME
		   : tag == JPKI_DER_GENTIME ? V_ASN1_GENERALIZEDTIME
					     : -1;
	if (type < 0)
		return NULL;
	ASN1_TIME *t = ASN1_STRING_type_new(type);
	if (t == NULL || ASN1_STRING_set(t, v->p, (int)v->len) != 1 ||
	    ASN1_TIME_check(t) != 1) {
		ASN1_TIME_free(t);
		return NULL;
	}
	return t;
}

/* --- cert --- */

static int check_cert(signer_policy *p, X509 *root, x509_issuer *issuer,
		      const signer_req *rq, signer_entry *e, jpki_err *err)
{
	jpki_rbuf b, in, v, alg, iss, val, nbv, nav;
	const uint8_t *sp;
	size_t sn;
	uint8_t nbt, nat;
	int rc = x509_lint_leaf_tbs(issuer, rq->payload, rq->payload_len, err);
	if (rc != 0)
		return jpki_wrap(
		    err, rc == JPKI_ERR_PARSE ? JPKI_ERR_PARSE : JPKI_ERR_LINT,
		    "signer: %s TBSCertificate refused: ", rq->label);
	/* the lint read it; here the serial and the validity */
	jpki_rbuf_init(&b, rq->payload, rq->payload_len);
	if (jpki_der_get(&b, JPKI_DER_SEQ, &in) != 0 ||
	    jpki_der_explicit(&in, 0, JPKI_DER_INT, &v) != 0 ||
	    jpki_der_uint_bytes(&in, &sp, &sn) != 0 ||
	    jpki_der_get(&in, JPKI_DER_SEQ, &alg) != 0 ||
	    jpki_der_get(&in, JPKI_DER_SEQ, &iss) != 0 ||
	    jpki_der_get(&in, JPKI_DER_SEQ, &val) != 0 ||
	    jpki_der_any(&val, &nbt, &nbv) != 0 ||
	    jpki_der_any(&val, &nat, &nav) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: malformed TBSCertificate");
	if (sn == 0 || sn > SIGNER_SERIAL_MAX)
		return refuse(err, "serial of 1 to 20 octets");
	ASN1_TIME *nb = time_of(nbt, &nbv), *na = time_of(nat, &nav);
	if (nb == NULL || na == NULL)
		rc = jpki_fail(err, JPKI_ERR_PARSE, "signer: bad validity");
	else if (ASN1_TIME_compare(na, X509_get0_notAfter(root)) > 0)
		rc = refuse(err, "validity past the root's notAfter");
	else if (ASN1_TIME_compare(nb, X509_get0_notBefore(root)) < 0)
		rc = refuse(err, "validity before the root's notBefore");
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	if (rc != 0)
		return rc;
	if (signer_policy_used(p, sp, sn))
		return refuse(err, "serial number already used");
	memcpy(e->serial, sp, sn);
	e->serial_len = sn;
	return 0;
}

/* --- crl --- */

static int akid_is_root(AUTHORITY_KEYID *ak, X509 *root)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(root);
	return ak != NULL && ak->keyid != NULL && ski != NULL &&
	       ASN1_OCTET_STRING_cmp(ak->keyid, ski) == 0;
}

static int check_crl(X509 *root, const signer_req *rq, signer_entry *e,
		     jpki_err *err)
{
	jpki_rbuf b, in, whole, algc;
	int64_t ver = 0;
	uint8_t *der = NULL;
	size_t der_len = 0;
	X509_CRL *crl = NULL;
	AUTHORITY_KEYID *ak = NULL;
	ASN1_INTEGER *num = NULL;
	int rc, crit = -1;
	jpki_rbuf_init(&b, rq->payload, rq->payload_len);
	if (jpki_der_get(&b, JPKI_DER_SEQ, &in) != 0 || jpki_der_end(&b) != 0 ||
	    jpki_der_int64(&in, &ver) != 0 ||
	    jpki_der_get_whole(&in, JPKI_DER_SEQ, &algc, &whole) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: malformed TBSCertList");
	if (ver != 1)
		return refuse(err, "a CRL must be v2");
	if (!jpki_der_is(&whole, alg_id, sizeof(alg_id)))
		return refuse(err, "a CRL is signed sha256WithRSAEncryption");
	if ((rc = wrap(rq->payload, rq->payload_len, &der, &der_len, err)) != 0)
		return rc;
	const unsigned char *q = der;
	crl = d2i_X509_CRL(NULL, &q, (long)der_len);
	if (crl == NULL || q != der + der_len) {
		ERR_clear_error();
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "signer: malformed TBSCertList");
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			  X509_get_subject_name(root)) != 0) {
		rc = refuse(err, "CRL issuer is not the root");
		goto out;
	}
	ak = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit,
				  NULL);
	if (!akid_is_root(ak, root)) {
		rc =
		    refuse(err, "CRL authorityKeyIdentifier is not the root's");
		goto out;
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (num == NULL || X509_CRL_get0_lastUpdate(crl) == NULL ||
	    X509_CRL_get0_nextUpdate(crl) == NULL) {
		rc =
		    refuse(err, "CRL without number, thisUpdate or nextUpdate");
		goto out;
	}
	if (ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl),
			      X509_get0_notBefore(root)) < 0 ||
	    ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl),
			      X509_CRL_get0_nextUpdate(crl)) > 0) {
		rc = refuse(err, "CRL thisUpdate outside the root's life or "
				 "after nextUpdate");
		goto out;
	}
	if (ASN1_INTEGER_get_int64(&e->number, num) != 1)
		e->number = -1;
	rc = 0;
out:
	ERR_clear_error();
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(ak);
	X509_CRL_free(crl);
	free(der);
	return rc;
}

/* --- ocsp --- */

static int certid_is_root(OCSP_CERTID *cid, X509 *root)
{
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *mdo = NULL;
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned int wl = 0;
	if (OCSP_id_get0_info(&nh, &mdo, &kh, NULL, cid) != 1)
		return 0;
	int nid = OBJ_obj2nid(mdo);
	const EVP_MD *md = nid == NID_sha1     ? EVP_sha1()
			   : nid == NID_sha256 ? EVP_sha256()
					       : NULL;
	if (md == NULL ||
	    X509_NAME_digest(X509_get_subject_name(root), md, want, &wl) != 1 ||
	    (unsigned)ASN1_STRING_length(nh) != wl ||
	    memcmp(ASN1_STRING_get0_data(nh), want, wl) != 0 ||
	    X509_pubkey_digest(root, md, want, &wl) != 1 ||
	    (unsigned)ASN1_STRING_length(kh) != wl ||
	    memcmp(ASN1_STRING_get0_data(kh), want, wl) != 0)
		return 0;
	return 1;
}

static int check_ocsp(X509 *root, const signer_req *rq, jpki_err *err)
{
	jpki_rbuf b, in;
	uint8_t *der = NULL, tag = 0;
	size_t der_len = 0;
	OCSP_BASICRESP *bs = NULL;
	const ASN1_OCTET_STRING *kid = NULL;
	const X509_NAME *name = NULL;
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned int wl = 0;
	int rc;
	jpki_rbuf_init(&b, rq->payload, rq->payload_len);
	if (jpki_der_get(&b, JPKI_DER_SEQ, &in) != 0 || jpki_der_end(&b) != 0 ||
	    !jpki_der_peek(&in, &tag))
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: malformed ResponseData");
	/* version v1 is the DEFAULT: DER leaves it out */
	if (tag != JPKI_DER_CTX_CONS(1) && tag != JPKI_DER_CTX_CONS(2))
		return refuse(err, "ResponseData must start with its "
				   "responderID (v1, DER)");
	if ((rc = wrap(rq->payload, rq->payload_len, &der, &der_len, err)) != 0)
		return rc;
	const unsigned char *q = der;
	bs = d2i_OCSP_BASICRESP(NULL, &q, (long)der_len);
	if (bs == NULL || q != der + der_len) {
		rc = jpki_fail(err, JPKI_ERR_PARSE,
			       "signer: malformed ResponseData");
		goto out;
	}
	if (OCSP_resp_get0_id(bs, &kid, &name) != 1) {
		rc = refuse(err, "ResponseData without a responderID");
		goto out;
	}
	if (kid != NULL) {
		if (X509_pubkey_digest(root, EVP_sha1(), want, &wl) != 1 ||
		    (unsigned)ASN1_STRING_length(kid) != wl ||
		    memcmp(ASN1_STRING_get0_data(kid), want, wl) != 0) {
			rc =
			    refuse(err, "OCSP responder is not the root's key");
			goto out;
		}
	} else if (name == NULL ||
		   X509_NAME_cmp(name, X509_get_subject_name(root)) != 0) {
		rc = refuse(err, "OCSP responder is not the root");
		goto out;
	}
	int n = OCSP_resp_count(bs);
	if (n < 1 || n > OCSP_SINGLE_MAX) {
		rc = refuse(err, "OCSP response with 1 to 256 answers only");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(sr);
		if (!certid_is_root((OCSP_CERTID *)cid, root)) {
			rc = refuse(err, "OCSP answer for a certificate of "
					 "another issuer");
			goto out;
		}
	}
	rc = 0;
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	free(der);
	return rc;
}

/* --- audit --- */

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

/* "openjpki audit checkpoint v1\n" SEQ "\n" HASH "\n" TIME "\n" */
static int check_audit(const signer_req *rq, signer_entry *e, jpki_err *err)
{
	static const char head[] = "openjpki audit checkpoint v1\n";
	const char *s = (const char *)rq->payload;
	size_t n = rq->payload_len, hl = sizeof(head) - 1, i;
	if (n <= hl || memcmp(s, head, hl) != 0)
		return refuse(err, "not an audit checkpoint v1");
	s += hl;
	n -= hl;
	for (i = 0; i < n && i < 20 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == 0 || i > 19 || i >= n || s[i] != '\n' ||
	    (s[0] == '0' && i > 1))
		return refuse(err, "audit checkpoint: bad sequence number");
	e->number = 0;
	for (size_t k = 0; k < i; k++)
		e->number = e->number * 10 + (s[k] - '0');
	s += i + 1;
	n -= i + 1;
	if (n != 64 + 1 + 20 + 1 || !all_of(s, 64, "0123456789abcdef") ||
	    s[64] != '\n' || s[85] != '\n')
		return refuse(err, "audit checkpoint: bad hash or length");
	char at[21];
	time_t t;
	memcpy(at, s + 65, 20);
	at[20] = '\0';
	if (jpki_time_parse(at, &t) != 0)
		return refuse(err, "audit checkpoint: bad time");
	return 0;
}

int signer_policy_check(signer_policy *p, const signer_req *rq, signer_entry *e,
			jpki_err *err)
{
	int gen = 0, ri = signer_root_label(rq->label, &gen), rc;
	X509 *root = ri >= 0 ? p->root[ri][gen - 1] : NULL;
	x509_issuer *iss = ri >= 0 ? p->iss[ri][gen - 1] : NULL;
	memset(e, 0, sizeof(*e));
	e->op = rq->op;
	memcpy(e->label, rq->label, sizeof(e->label));
	switch (rq->op) {
	case SIGNER_OP_CERT:
	case SIGNER_OP_CRL:
	case SIGNER_OP_OCSP:
		if (ri < 0)
			return refuse(err, "certificates, CRLs and OCSP are "
					   "signed by sign-root or auth-root "
					   "(or a later generation's)");
		if (root == NULL || iss == NULL)
			return refuse(err, "no such root generation");
		rc = rq->op == SIGNER_OP_CERT
			 ? check_cert(p, root, iss, rq, e, err)
		     : rq->op == SIGNER_OP_CRL ? check_crl(root, rq, e, err)
					       : check_ocsp(root, rq, err);
		break;
	case SIGNER_OP_AUDIT:
		if (strcmp(rq->label, LABEL_AUDIT) != 0)
			return refuse(err, "checkpoints are signed by audit");
		rc = check_audit(rq, e, err);
		break;
	default: return refuse(err, "not a signing request");
	}
	if (rc == 0)
		SHA256(rq->payload, rq->payload_len, e->sha256);
	return rc;
}

/* --- the log --- */

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void signer_entry_line(const signer_entry *e, time_t now, char *out, size_t cap)
{
	char at[21], h[65], sn[2 * SIGNER_SERIAL_MAX + 1];
	jpki_time_format(now, at);
	hex(e->sha256, 32, h);
	if (e->op == SIGNER_OP_CERT) {
		hex(e->serial, e->serial_len, sn);
		snprintf(out, cap, "%s cert %s serial=%s sha256=%s", at,
			 e->label, sn, h);
	} else if (e->op == SIGNER_OP_OCSP) {
		snprintf(out, cap, "%s ocsp %s sha256=%s", at, e->label, h);
	} else {
		snprintf(out, cap, "%s %s %s number=%lld sha256=%s", at,
			 signer_op_name(e->op), e->label, (long long)e->number,
			 h);
	}
}

bool signer_line_serial(const char *line, uint8_t *serial, size_t *len)
{
	const char *s = strstr(line, " cert ");
	if (s == NULL || (s = strstr(s, " serial=")) == NULL)
		return false;
	s += 8;
	size_t n = strspn(s, "0123456789ABCDEF");
	if (n == 0 || n % 2 != 0 || n / 2 > SIGNER_SERIAL_MAX)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			v = v * 16 +
			    (unsigned)(c <= '9' ? c - '0' : c - 'A' + 10);
		}
		serial[i] = (uint8_t)v;
	}
	*len = n / 2;
	return true;
}

/* --- the rate --- */

void signer_bucket_init(signer_bucket *b, double rate, double burst, double now)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->last = now;
}

bool signer_bucket_take(signer_bucket *b, double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last = now;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}
