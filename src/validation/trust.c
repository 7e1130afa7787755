/* Trusted roots.  J-LIS renews each root about every 4 years with a new
 * key and the SAME DN (spec §0: authca01..03, signca01..03), so a leaf's
 * issuer is picked by key: the AKI narrows the candidates to the root
 * whose SKI it names, and the signature decides. */
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "openjpki/util.h"
#include "val_int.h"

#define ROOT_FILE_MAX (1u << 20)

/* RFC 5280 4.1.1.2: SHA-2 RSA signatures only (as J-LIS issues). */
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

static int root_check(X509 *x, vali_root *r, jpki_err *err)
{
	bool is_root = false;
	int rc;
	EVP_PKEY *pub = X509_get0_pubkey(x);
	if ((rc = x509_classify(x, &r->kind, &r->prof, &is_root, err)) != 0)
		return rc;
	if (!is_root)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a JPKI leaf, not a root: only the "
				 "self-signed roots can be trusted");
	/* RFC 5280 4.2.1.9 and 4.2.1.3: a CA that may sign certificates */
	if ((X509_get_extension_flags(x) & EXFLAG_CA) == 0 ||
	    (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "root without CA:TRUE and keyCertSign");
	if (pub == NULL || X509_verify(x, pub) != 1 ||
	    !sig_alg_ok(X509_get_signature_nid(x))) {
		ERR_clear_error();
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "root's self-signature does not verify (or "
				 "is not SHA-2 RSA)");
	}
	if (vali_time(X509_get0_notBefore(x), &r->nb) != 0 ||
	    vali_time(X509_get0_notAfter(x), &r->na) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "root validity unreadable");
	unsigned int hl = 0;
	if (!X509_digest(x, EVP_sha256(), r->hash, &hl) || hl != 32)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "hashing a root");
	return 0;
}

int val_add_root(jpki_validator *v, X509 *root, jpki_err *err)
{
	vali_root r;
	int rc;
	if (v == NULL || root == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "add root: bad argument");
	memset(&r, 0, sizeof(r));
	if ((rc = root_check(root, &r, err)) != 0)
		return rc;
	for (size_t i = 0; i < v->n_roots; i++)
		if (memcmp(v->roots[i].hash, r.hash, sizeof(r.hash)) == 0)
			return 0;
	if (v->n_roots == VAL_ROOTS_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "more than %d roots",
				 VAL_ROOTS_MAX);
	if (!X509_up_ref(root))
		return jpki_fail(err, JPKI_ERR_CRYPTO, "root reference");
	r.cert = root;
	v->roots[v->n_roots++] = r;
	vali_cache_clear(v);
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcasecmp(s + n - m, suf) == 0;
}

/* PEM when "-----BEGIN" occurs anywhere (text may precede it). */
static bool looks_pem(const uint8_t *p, size_t len)
{
	static const char tag[] = "-----BEGIN";
	for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
		if (p[i] == '-' && memcmp(p + i, tag, sizeof(tag) - 1) == 0)
			return true;
	return false;
}

/* Every certificate of a PEM file, or its one DER certificate. */
static int load_file(jpki_validator *v, const char *path, size_t *added,
		     jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x = NULL;
	size_t before = v->n_roots;
	int rc = jpki_file_read(path, ROOT_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	if (!looks_pem(buf, len)) {
		if ((rc = x509_from_der(buf, len, &x, err)) != 0 ||
		    (rc = val_add_root(v, x, err)) != 0)
			goto out;
	} else {
		int n = 0;
		if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
			goto out;
		}
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			n++;
			if ((rc = val_add_root(v, x, err)) != 0)
				goto out;
			X509_free(x);
			x = NULL;
		}
		ERR_clear_error();
		if (n == 0) {
			rc = jpki_fail(err, JPKI_ERR_PARSE,
				       "no PEM certificate");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		jpki_wrap(err, rc, "%s", path);
	else if (added != NULL)
		*added += v->n_roots - before;
	X509_free(x);
	BIO_free(b);
	free(buf);
	return rc;
}

int val_load_roots(jpki_validator *v, const char *path, size_t *added,
		   jpki_err *err)
{
	struct stat st;
	DIR *d = NULL;
	size_t n = 0;
	int rc = 0;
	if (v == NULL || path == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "roots: bad argument");
	if (stat(path, &st) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND, "%s: no such file",
				 path);
	if (!S_ISDIR(st.st_mode)) {
		rc = load_file(v, path, &n, err);
		goto out;
	}
	if ((d = opendir(path)) == NULL)
		return jpki_fail(err, JPKI_ERR_IO, "%s: cannot open", path);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char sub[4096];
		if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".pem") ||
					     has_suffix(e->d_name, ".crt") ||
					     has_suffix(e->d_name, ".cer") ||
					     has_suffix(e->d_name, ".der")))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     e->d_name) >= sizeof(sub)) {
			rc = jpki_fail(err, JPKI_ERR_RANGE, "%s: path too long",
				       path);
			goto out;
		}
		if ((rc = load_file(v, sub, &n, err)) != 0)
			goto out;
	}
	if (n == 0 && v->n_roots == 0)
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "%s: no root certificate files", path);
out:
	if (d != NULL)
		closedir(d);
	if (rc == 0 && added != NULL)
		*added = n;
	return rc;
}

size_t val_root_count(const jpki_validator *v)
{
	return v != NULL ? v->n_roots : 0;
}

X509 *val_root(const jpki_validator *v, size_t i)
{
	return v != NULL && i < v->n_roots ? v->roots[i].cert : NULL;
}

/* RFC 5280 4.2.1.1: the AKI keyIdentifier names the issuer's SKI. */
static bool aki_allows(const ASN1_OCTET_STRING *aki, X509 *root)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(root);
	return aki == NULL || ski == NULL ||
	       ASN1_OCTET_STRING_cmp(aki, ski) == 0;
}

int val_find_issuer(const jpki_validator *v, X509 *leaf, size_t *idx,
		    bool *sig_ok, jpki_err *err)
{
	const ASN1_OCTET_STRING *aki;
	const X509_NAME *iname;
	size_t cand = SIZE_MAX;
	if (v == NULL || leaf == NULL || idx == NULL || sig_ok == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "issuer: bad argument");
	aki = X509_get0_authority_key_id(leaf);
	iname = X509_get_issuer_name(leaf);
	for (size_t i = 0; i < v->n_roots; i++) {
		X509 *r = v->roots[i].cert;
		bool named =
		    X509_NAME_cmp(iname, X509_get_subject_name(r)) == 0;
		if (!aki_allows(aki, r))
			continue;
		/* with an AKI that matched, the key names this root even if
		 * the DN differs; without one, only the DN can */
		if (cand == SIZE_MAX &&
		    (named || (aki != NULL && X509_get0_subject_key_id(r))))
			cand = i;
		if (X509_verify(leaf, X509_get0_pubkey(r)) == 1) {
			*idx = i;
			*sig_ok = true;
			return 0;
		}
		ERR_clear_error();
	}
	if (cand == SIZE_MAX)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "no trusted root is named by the "
				 "certificate's issuer or authority key id");
	*idx = cand;
	*sig_ok = false;
	return 0;
}
