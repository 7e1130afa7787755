/* Path validation for J-LIS's two single-level hierarchies (spec §0):
 * every leaf is signed directly by a self-signed root; there are no
 * intermediates, and a leaf of one hierarchy never validates under the
 * other's root.  The time-independent checks (issuer by key, certificate
 * signature, profile) are done once per certificate and remembered by the
 * SHA-256 of its DER, with its revocation answer until that answer's
 * nextUpdate or the cache age; validity times and the purpose are checked
 * on every call. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "val_int.h"

#define CACHE_MIN 64

/* ------------------------------------------------------------------ */
/* Certificate cache: open addressing on the SHA-256 of the DER.        */

static size_t slot_of(const unsigned char h[32], size_t cap)
{
	size_t x = 0;
	memcpy(&x, h, sizeof(x));
	return x & (cap - 1);
}

static vali_cert *cache_find(jpki_validator *v, const unsigned char h[32])
{
	if (v->cache == NULL || v->cache_n == 0)
		return NULL;
	for (size_t i = slot_of(h, v->cache_cap); v->cache[i].used;
	     i = (i + 1) & (v->cache_cap - 1))
		if (memcmp(v->cache[i].hash, h, 32) == 0)
			return &v->cache[i];
	return NULL;
}

static vali_cert *cache_put(vali_cert *tab, size_t cap,
			    const unsigned char h[32])
{
	size_t i = slot_of(h, cap);
	while (tab[i].used)
		i = (i + 1) & (cap - 1);
	tab[i].used = true;
	memcpy(tab[i].hash, h, 32);
	return &tab[i];
}

/* A new entry for h, or NULL when memory is short (nothing is cached
 * then).  A full cache is emptied rather than managed: the next
 * documents rebuild what they use. */
static vali_cert *cache_insert(jpki_validator *v, const unsigned char h[32])
{
	if (v->cache_n >= VAL_CERT_CACHE_MAX)
		vali_cache_clear(v);
	if ((v->cache_n + 1) * 2 > v->cache_cap) {
		size_t cap = v->cache_cap ? v->cache_cap * 2 : CACHE_MIN;
		vali_cert *tab = calloc(cap, sizeof(*tab));
		if (tab == NULL)
			return NULL;
		for (size_t i = 0; i < v->cache_cap; i++)
			if (v->cache[i].used)
				*cache_put(tab, cap, v->cache[i].hash) =
				    v->cache[i];
		free(v->cache);
		v->cache = tab;
		v->cache_cap = cap;
	}
	vali_cert *e = cache_put(v->cache, v->cache_cap, h);
	v->cache_n++;
	return e;
}

/* ------------------------------------------------------------------ */
/* Checks that do not depend on time.                                   */

typedef struct statics {
	bool root_ok; /* root found and its key verified the signature */
	size_t root;
	bool classified;
	jpki_cert_kind kind;
	jpki_profile prof;
	bool times_ok;
	time_t nb, na;
} statics;

static const char *kind_text(jpki_cert_kind k)
{
	return k == JPKI_CERT_SIGN ? "signature (署名用)"
				   : "authentication (利用者証明用)";
}

static void root_text(const vali_root *r, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(r->cert);
	char d[11], hex[41] = "none";
	jpki_date_format(jpki_date_of(r->nb), d);
	if (ski != NULL && ASN1_STRING_length(ski) > 0 &&
	    ASN1_STRING_length(ski) <= 20)
		jpki_hex(ASN1_STRING_get0_data(ski),
			 (size_t)ASN1_STRING_length(ski), hex);
	snprintf(out, cap, "%s %s root of %s (SKI %.16s)",
		 jpki_profile_name(r->prof), jpki_cert_kind_name(r->kind), d,
		 hex);
}

static bool sig_alg_ok(int nid)
{
	switch (nid) {
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
	case NID_rsassaPss: return true;
	default: return false;
	}
}

static void issuer_checks(jpki_validator *v, X509 *cert, val_result *res,
			  statics *s)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(cert);
	char dn[VALI_DN_MAX] = "?", akh[41] = "none", rt[160];
	size_t idx = 0;
	bool sig_ok = false;
	if (aki != NULL && ASN1_STRING_length(aki) > 0 &&
	    ASN1_STRING_length(aki) <= 20)
		jpki_hex(ASN1_STRING_get0_data(aki),
			 (size_t)ASN1_STRING_length(aki), akh);
	if (vali_dn_key(X509_get_issuer_name(cert), dn, sizeof(dn)) != 0)
		memcpy(dn, "?", 2); /* only named in the messages below */
	if (val_find_issuer(v, cert, &idx, &sig_ok, NULL) != 0) {
		bool same_dn = false;
		for (size_t i = 0; i < v->n_roots; i++)
			same_dn |= X509_NAME_cmp(X509_get_issuer_name(cert),
						 X509_get_subject_name(
						     v->roots[i].cert)) == 0;
		vali_fail(res, VAL_FAIL_UNTRUSTED,
			  "issuer \"%.80s\" with key id %.16s is not a trusted "
			  "root%s",
			  dn, akh,
			  same_dn ? " (trusted roots of that name have other "
				    "keys: another generation)"
				  : "");
		return;
	}
	root_text(&v->roots[idx], rt, sizeof(rt));
	if (!sig_ok) {
		vali_fail(res, VAL_FAIL_CERT_SIGNATURE,
			  "the certificate's signature does not verify with "
			  "the key of the %s",
			  rt);
		return;
	}
	s->root_ok = true;
	s->root = idx;
	/* RFC 5280 6.1.3 (a)(4): name chaining too */
	if (X509_NAME_cmp(X509_get_issuer_name(cert),
			  X509_get_subject_name(v->roots[idx].cert)) != 0)
		vali_fail(
		    res, VAL_FAIL_UNTRUSTED,
		    "issuer name \"%.80s\" is not the name of the %s that "
		    "signed it",
		    dn, rt);
	if (s->classified && s->kind != v->roots[idx].kind)
		vali_fail(res, VAL_FAIL_OTHER_HIERARCHY,
			  "a %s certificate issued by the %s: the hierarchies "
			  "are separate",
			  kind_text(s->kind), rt);
	if (s->classified && s->prof != v->roots[idx].prof)
		vali_fail(res, VAL_FAIL_POLICY,
			  "a %s-profile certificate (policy %s) under the %s",
			  jpki_profile_name(s->prof),
			  s->prof == JPKI_PROFILE_TEST
			      ? (s->kind == JPKI_CERT_SIGN
				     ? JPKI_OID_POLICY_SIGN_TEST
				     : JPKI_OID_POLICY_AUTH_TEST)
			      : (s->kind == JPKI_CERT_SIGN
				     ? JPKI_OID_POLICY_SIGN
				     : JPKI_OID_POLICY_AUTH),
			  rt);
}

/* Spec §1.2/§1.3: sign = digitalSignature + nonRepudiation, auth =
 * digitalSignature; a leaf never signs certificates or CRLs. */
static void key_usage_checks(X509 *cert, jpki_cert_kind kind, val_result *res)
{
	uint32_t ku = X509_get_key_usage(cert);
	uint32_t need = kind == JPKI_CERT_SIGN
			    ? (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)
			    : KU_DIGITAL_SIGNATURE;
	if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) {
		vali_fail(res, VAL_FAIL_KEY_USAGE,
			  "no keyUsage extension (a %s certificate has %s)",
			  kind_text(kind),
			  kind == JPKI_CERT_SIGN
			      ? "digitalSignature and nonRepudiation"
			      : "digitalSignature");
		return;
	}
	if ((ku & need) != need) {
		bool no_ds = (ku & KU_DIGITAL_SIGNATURE) == 0;
		bool no_nr = (need & ~ku & KU_NON_REPUDIATION) != 0;
		vali_fail(res, VAL_FAIL_KEY_USAGE,
			  "keyUsage lacks %s%s%s, which a %s certificate has",
			  no_ds ? "digitalSignature" : "",
			  no_ds && no_nr ? " and " : "",
			  no_nr ? "nonRepudiation" : "", kind_text(kind));
	}
	if (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
		vali_fail(res, VAL_FAIL_KEY_USAGE,
			  "keyUsage allows signing certificates or CRLs: not "
			  "a JPKI leaf");
}

static int static_checks(jpki_validator *v, X509 *cert, val_result *res,
			 statics *s)
{
	bool is_root = false;
	jpki_err e = {0};
	uint32_t flags = X509_get_extension_flags(cert);
	int rc;
	memset(s, 0, sizeof(*s));
	s->times_ok = vali_time(X509_get0_notBefore(cert), &s->nb) == 0 &&
		      vali_time(X509_get0_notAfter(cert), &s->na) == 0;
	if (!s->times_ok)
		vali_fail(res, VAL_FAIL_PROFILE, "validity times unreadable");
	rc = x509_classify(cert, &s->kind, &s->prof, &is_root, &e);
	if (rc == JPKI_ERR_NOT_FOUND)
		vali_fail(res, VAL_FAIL_POLICY,
			  "no JPKI certificate policy (%s or %s; test "
			  "profile %s or %s)",
			  JPKI_OID_POLICY_SIGN, JPKI_OID_POLICY_AUTH,
			  JPKI_OID_POLICY_SIGN_TEST, JPKI_OID_POLICY_AUTH_TEST);
	else if (rc != 0)
		return rc;
	else if (is_root)
		vali_fail(res, VAL_FAIL_PROFILE,
			  "a JPKI root, not a certificate it issued");
	else
		s->classified = true;
	/* RFC 5280 4.1.2.1, 4.2.1.9, 4.2 */
	if (X509_get_version(cert) != X509_VERSION_3)
		vali_fail(res, VAL_FAIL_PROFILE, "not an X.509 v3 certificate");
	if ((flags & EXFLAG_CA) && !is_root)
		vali_fail(res, VAL_FAIL_PROFILE,
			  "a CA certificate (basicConstraints CA:TRUE): J-LIS "
			  "issues every certificate directly from a root, no "
			  "intermediate is accepted");
	if (flags & EXFLAG_INVALID)
		vali_fail(res, VAL_FAIL_PROFILE, "malformed extensions");
	if (flags & EXFLAG_CRITICAL)
		vali_fail(res, VAL_FAIL_PROFILE,
			  "a critical extension this verifier does not know");
	if (x509_check_key(X509_get0_pubkey(cert), &e) != 0)
		vali_fail(res, VAL_FAIL_PROFILE, "%s", e.msg);
	if (!sig_alg_ok(X509_get_signature_nid(cert)))
		vali_fail(res, VAL_FAIL_PROFILE,
			  "signature algorithm %s refused (SHA-2 RSA only)",
			  OBJ_nid2sn(X509_get_signature_nid(cert)));
	issuer_checks(v, cert, res, s);
	if (s->classified)
		key_usage_checks(cert, s->kind, res);
	else if (s->root_ok)
		key_usage_checks(cert, v->roots[s->root].kind, res);
	ERR_clear_error();
	return 0;
}

/* ------------------------------------------------------------------ */
/* Checks at a time.                                                    */

static void time_checks(jpki_validator *v, const statics *s, const val_opts *o,
			val_result *res)
{
	char t1[21], t2[21];
	vali_time_str(o->at, t2);
	if (s->times_ok && o->at < s->nb) {
		vali_time_str(s->nb, t1);
		vali_fail(res, VAL_FAIL_NOT_YET_VALID,
			  "not valid before %s (checked at %s)", t1, t2);
	}
	if (s->times_ok && o->at > s->na) {
		vali_time_str(s->na, t1);
		vali_fail(res, VAL_FAIL_EXPIRED, "expired %s (checked at %s)",
			  t1, t2);
	}
	if (s->root_ok) {
		const vali_root *r = &v->roots[s->root];
		if (o->at < r->nb || o->at > r->na) {
			char rt[160];
			root_text(r, rt, sizeof(rt));
			vali_time_str(o->at < r->nb ? r->nb : r->na, t1);
			vali_fail(res, VAL_FAIL_ROOT_VALIDITY,
				  "the %s is %s %s (checked at %s)", rt,
				  o->at < r->nb ? "not valid before"
						: "expired",
				  t1, t2);
		}
	}
}

static void purpose_checks(const statics *s, const val_opts *o, val_result *res)
{
	if (!s->classified)
		return;
	if (o->purpose == VAL_PURPOSE_SIGN && s->kind == JPKI_CERT_AUTH)
		vali_fail(res, VAL_FAIL_KEY_USAGE,
			  "an authentication certificate (利用者証明用, "
			  "keyUsage digitalSignature only) cannot sign "
			  "documents: that needs the signature certificate "
			  "(署名用, nonRepudiation)");
	if (o->purpose == VAL_PURPOSE_AUTH && s->kind == JPKI_CERT_SIGN)
		vali_fail(res, VAL_FAIL_KEY_USAGE,
			  "a signature certificate (署名用) is not for log-in: "
			  "that needs the authentication certificate "
			  "(利用者証明用)");
}

/* The answer of the CRL sources, then OCSP; UNKNOWN with why. */
static int revocation(jpki_validator *v, X509 *cert, size_t root,
		      const val_opts *o, vali_rev *a, char *why, size_t cap,
		      jpki_err *err)
{
	int rc;
	why[0] = '\0';
	rc = vali_crl_status(v, cert, root, o, a, why, cap, err);
	if (rc != JPKI_ERR_NOT_FOUND)
		return rc;
	rc = vali_ocsp_status(v, cert, root, o, a, why, cap, err);
	if (rc != JPKI_ERR_NOT_FOUND)
		return rc;
	memset(a, 0, sizeof(*a));
	a->status = VAL_REV_UNKNOWN;
	return 0;
}

static void apply_revocation(jpki_validator *v, const vali_rev *a,
			     const char *why, const val_opts *o,
			     val_result *res)
{
	char t1[21];
	res->rev = a->status;
	if (a->status == VAL_REV_UNKNOWN) {
		vali_fail(res, VAL_FAIL_REVOCATION_UNKNOWN,
			  "revocation status unknown: %s", why);
		return;
	}
	res->rev_source =
	    a->where == VALI_WHERE_CRL ? VAL_SRC_CRL : VAL_SRC_OCSP;
	vali_where(v, a, res->rev_where, sizeof(res->rev_where));
	res->rev_this_update = a->this_upd;
	res->rev_next_update = a->next_upd;
	if (a->status != VAL_REV_REVOKED)
		return;
	res->revoked_at = a->revoked_at;
	res->reason = a->reason;
	/* Revoked after the instant judged: the certificate was good then,
	 * unless the reason says its key may have been misused earlier
	 * (docs/decisions.md).  A key compromise is dated by the revocation
	 * when that instant is a verified time-stamp's, which cannot be
	 * back-dated as signingTime can. */
	bool proven = res->has_timestamp && res->timestamp == o->at;
	if (a->revoked_at <= o->at || a->reason == JPKI_REASON_UNSPECIFIED ||
	    (!proven && a->reason == JPKI_REASON_KEY_COMPROMISE) ||
	    a->reason == JPKI_REASON_CA_COMPROMISE) {
		vali_time_str(a->revoked_at, t1);
		vali_fail(res, VAL_FAIL_REVOKED,
			  "revoked %s, reason %s (%s %s)", t1,
			  jpki_reason_name(a->reason),
			  a->where == VALI_WHERE_CRL ? "CRL" : "OCSP",
			  res->rev_where);
	}
}

int vali_cert_check(jpki_validator *v, X509 *cert, const unsigned char *hash,
		    const val_opts *o, val_result *res, jpki_err *err)
{
	unsigned char h[32];
	unsigned int hl = 0;
	statics s;
	vali_cert *e;
	vali_rev fresh;
	char why[VAL_MSG_LEN];
	int rc;
	if (!X509_up_ref(cert))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "certificate reference");
	res->cert = cert;
	if (hash != NULL)
		memcpy(h, hash, sizeof(h));
	else if (!X509_digest(cert, EVP_sha256(), h, &hl) || hl != sizeof(h))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "hashing a certificate");
	if ((e = cache_find(v, h)) != NULL) {
		v->stats.cert_cache_hits++;
		memset(&s, 0, sizeof(s));
		s.root_ok = true;
		s.root = e->root;
		s.classified = true;
		s.kind = e->kind;
		s.prof = e->prof;
		s.times_ok = true;
		s.nb = e->nb;
		s.na = e->na;
	} else {
		v->stats.certs_checked++;
		if ((rc = static_checks(v, cert, res, &s)) != 0)
			return rc;
		/* only certificates that passed everything static are kept */
		if (res->fails == 0 && (e = cache_insert(v, h)) != NULL) {
			e->root = s.root;
			e->kind = s.kind;
			e->prof = s.prof;
			e->nb = s.nb;
			e->na = s.na;
		}
	}
	res->classified = s.classified;
	res->kind = s.kind;
	res->profile = s.prof;
	if (s.root_ok) {
		if (!X509_up_ref(v->roots[s.root].cert))
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "root reference");
		res->root = v->roots[s.root].cert;
	}
	time_checks(v, &s, o, res);
	purpose_checks(&s, o, res);
	/* revocation can be judged only under a trusted root's key */
	if (!s.root_ok)
		return 0;
	if (e != NULL && e->rev.until != 0 && o->now >= e->rev.checked &&
	    o->now < e->rev.until) {
		res->rev_cached = true;
		apply_revocation(v, &e->rev, "", o, res);
		return 0;
	}
	if ((rc = revocation(v, cert, s.root, o, &fresh, why, sizeof(why),
			     err)) != 0)
		return rc;
	if (e != NULL) {
		e->rev = fresh;
		if (fresh.status == VAL_REV_UNKNOWN)
			e->rev.until = 0; /* ask again next time */
	}
	apply_revocation(v, &fresh, why, o, res);
	return 0;
}

int val_cert(jpki_validator *v, X509 *cert, const val_opts *o, val_result *res,
	     jpki_err *err)
{
	int rc;
	if (v == NULL || cert == NULL || o == NULL || res == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "validate: bad argument");
	memset(res, 0, sizeof(*res));
	if ((rc = vali_cert_check(v, cert, NULL, o, res, err)) != 0)
		val_result_clear(res);
	return rc;
}
