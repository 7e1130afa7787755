/* CA set-up and opening: roots, keys, store. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_internal.h"
#include "openjpki/util.h"

const char *ca_key_label(jpki_cert_kind kind)
{
	return kind == JPKI_CERT_SIGN ? "sign-root" : "auth-root";
}

void ca_key_label_gen(jpki_cert_kind kind, int gen, char out[32])
{
	if (gen <= 1)
		snprintf(out, 32, "%s", ca_key_label(kind));
	else
		snprintf(out, 32, "%s-%d", ca_key_label(kind), gen);
}

int ca_row_gen(const jpki_ca *ca, jpki_cert_kind kind, int gen)
{
	if (gen <= 0)
		gen = 1;
	if ((kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH) ||
	    gen > ca->ngen[kind])
		return -1;
	return gen;
}

int ca_serial_hex(X509 *cert, char out[STORE_SERIAL_HEX_MAX], jpki_err *err)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	if (bn == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "reading serial number");
	int rc = 0;
	char *hex = BN_bn2hex(bn);
	if (hex == NULL) {
		rc =
		    jpki_fail(err, JPKI_ERR_CRYPTO, "formatting serial number");
		goto out;
	}
	if (hex[0] == '-' || jpki_strlcpy(out, hex, STORE_SERIAL_HEX_MAX) != 0)
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "serial number negative or over 20 octets");
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

void ca_serial_bytes_hex(const uint8_t *serial, size_t len,
			 char out[STORE_SERIAL_HEX_MAX])
{
	/* BN_bn2hex's form: whole octets, upper case, no leading zero octet */
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	while (len > 1 && serial[0] == 0) {
		serial++;
		len--;
	}
	for (size_t i = 0; i < len && o + 2 < STORE_SERIAL_HEX_MAX; i++) {
		out[o++] = hex[serial[i] >> 4];
		out[o++] = hex[serial[i] & 15];
	}
	out[o] = '\0';
}

int ca_new_serial(uint8_t out[CA_SERIAL_BYTES], jpki_err *err)
{
	/* RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits
	 * (CA/B Forum asks for at least 64) make serials unpredictable.
	 * Uniqueness is enforced by the store's primary key. */
	int rc = jpki_random(out, CA_SERIAL_BYTES, err);
	if (rc != 0)
		return rc;
	out[0] = (uint8_t)((out[0] & 0x7f) | 0x40); /* positive, full length */
	return 0;
}

int ca_sign_cert(jpki_ca *ca, jpki_cert_kind kind, bool root, X509 *cert,
		 EVP_PKEY *key, jpki_err *err)
{
	int rc = root ? x509_lint_root(ca->profile, kind, cert, err)
		      : x509_lint_leaf(ca->profile, kind, cert, err);
	if (rc != 0)
		return rc;
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "signing certificate");
	return 0;
}

int ca_record(jpki_ca *ca, X509 *cert, int kind, int gen, int64_t resident_id,
	      const char *card_serial, const char *muni_code, jpki_err *err)
{
	store_cert c;
	memset(&c, 0, sizeof(c));
	int rc = ca_serial_hex(cert, c.serial, err);
	if (rc != 0)
		return rc;
	c.kind = kind;
	c.resident_id = resident_id;
	if ((card_serial != NULL && jpki_strlcpy(c.card_serial, card_serial,
						 sizeof(c.card_serial)) != 0) ||
	    (muni_code != NULL &&
	     jpki_strlcpy(c.muni_code, muni_code, sizeof(c.muni_code)) != 0))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "card serial or municipality code too long");
	X509_NAME_oneline(X509_get_subject_name(cert), c.subject,
			  sizeof(c.subject));
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "bad notBefore");
	c.not_before = timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "bad notAfter");
	c.not_after = timegm(&tm);
	c.status = STORE_CERT_VALID;
	c.gen = gen;
	uint8_t *der = NULL;
	size_t der_len = 0;
	rc = x509_to_der(cert, &der, &der_len, err);
	if (rc != 0)
		return rc;
	c.der = der;
	c.der_len = der_len;
	rc = store_cert_put(ca->st, &c, err);
	free(der);
	return rc;
}

int ca_write_pem(const char *dir, const char *sub, const char *name, X509 *cert,
		 jpki_err *err)
{
	char path[PATH_MAX];
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = 0;
	if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding root");
		goto out;
	}
	char *p = NULL;
	long len = BIO_get_mem_data(mem, &p);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s.pem", dir, sub,
			     name) >= sizeof(path)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
		goto out;
	}
	rc = jpki_file_write_atomic(path, p, (size_t)len, 0644, err);
out:
	BIO_free(mem);
	return rc;
}

/* The store meta key naming a hierarchy's root of generation `gen`
 * (generation 1 under the name CAs from before rollover have), or, for
 * gen 0, the key holding how many generations there are. */
static void root_meta_key(jpki_cert_kind kind, int gen, char out[48])
{
	const char *k = jpki_cert_kind_name(kind);
	if (gen == 0)
		snprintf(out, 48, "root/%s/generations", k);
	else if (gen == 1)
		snprintf(out, 48, "root/%s", k);
	else
		snprintf(out, 48, "root/%s/%d", k, gen);
}

int ca_make_root(jpki_ca *ca, jpki_cert_kind kind, int gen, time_t now,
		 X509 **cert_out, EVP_PKEY **key_out, jpki_err *err)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t serial[CA_SERIAL_BYTES];
	char label[32];
	ca_key_label_gen(kind, gen, label);
	int rc = keystore_generate(ca->ks, label, 2048, &key, err);
	if (rc != 0)
		return rc; /* nothing made: the label may be another's */
	if ((rc = ca_new_serial(serial, err)) != 0 ||
	    (rc = x509_root_build(ca->profile, kind, key, serial,
				  sizeof(serial), now, &cert, err)) != 0 ||
	    (rc = ca_sign_cert(ca, kind, true, cert, key, err)) != 0 ||
	    (rc = ca_record(ca, cert, CA_ROOT_KIND_BASE + (int)kind, gen, 0,
			    NULL, NULL, err)) != 0 ||
	    (rc = ca_write_pem(ca->dir, "roots", label, cert, err)) != 0)
		goto out;
	char sn[STORE_SERIAL_HEX_MAX];
	char key_name[48], n[16];
	if ((rc = ca_serial_hex(cert, sn, err)) != 0)
		goto out;
	root_meta_key(kind, gen, key_name);
	snprintf(n, sizeof(n), "%d", gen);
	if ((rc = store_meta_set(ca->st, key_name, sn, err)) != 0)
		goto out;
	root_meta_key(kind, 0, key_name);
	if ((rc = store_meta_set(ca->st, key_name, n, err)) != 0)
		goto out;
	if (cert_out != NULL) {
		*cert_out = cert;
		cert = NULL;
	}
	if (key_out != NULL) {
		*key_out = key;
		key = NULL;
	}
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	if (rc != 0)
		ca_unmake_root(ca, kind, gen, err);
	return rc;
}

void ca_unmake_root(jpki_ca *ca, jpki_cert_kind kind, int gen, jpki_err *err)
{
	char label[32], path[PATH_MAX];
	jpki_err e2;
	jpki_err_clear(&e2);
	ca_key_label_gen(kind, gen, label);
	int rc = keystore_destroy(ca->ks, label, &e2);
	if (rc == JPKI_ERR_NOT_FOUND)
		rc = 0;
	if (rc == 0 &&
	    (size_t)snprintf(path, sizeof(path), "%s/roots/%s.pem", ca->dir,
			     label) < sizeof(path) &&
	    unlink(path) != 0 && errno != ENOENT)
		rc = jpki_fail(&e2, JPKI_ERR_IO, "remove %s: %s", path,
			       strerror(errno));
	if (rc != 0 && err != NULL) {
		char was[JPKI_ERR_MSG_MAX];
		jpki_strlcpy_cut(was, err->msg, sizeof(was));
		jpki_ignore(jpki_fail(err, err->code,
				      "%s (and undoing it failed, the key %s "
				      "may be left: %s)",
				      was, label, e2.msg));
	}
}

static int default_store(const char *dir, char *out, size_t cap, jpki_err *err)
{
	if ((size_t)snprintf(out, cap, "sqlite:%s/jpki.db", dir) >= cap)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	return 0;
}

/* Where the CA's keys are: DIR/keystore names a keystore location (a
 * PKCS#11 token, written by ca_init), else the file keystore DIR/keys.
 * The location holds no secret (the PIN has its own source). */
static int keystore_location(const char *dir, const char *given, char *out,
			     size_t cap, jpki_err *err)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	if (given != NULL) {
		if (jpki_strlcpy(out, given, cap) != 0)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "keystore location too long");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/keystore", dir);
	if (stat(path, &st) != 0) {
		if ((size_t)snprintf(out, cap, "file:%s/keys", dir) >= cap)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "CA path too long");
		return 0;
	}
	int rc = jpki_file_read(path, cap - 1, &buf, &len, err);
	if (rc != 0)
		return rc;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	memcpy(out, buf, len);
	out[len] = '\0';
	free(buf);
	if (len == 0 || memchr(out, '\n', len) != NULL)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is not one keystore location", path);
	return 0;
}

static int open_parts(jpki_ca *ca, const char *dir, const char *store_loc,
		      const char *ks_loc, jpki_err *err)
{
	char loc[PATH_MAX + 16];
	char keys[PATH_MAX + 8];
	int rc;
	if (jpki_strlcpy(ca->dir, dir, sizeof(ca->dir)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	if (store_loc == NULL) {
		if ((rc = default_store(dir, loc, sizeof(loc), err)) != 0)
			return rc;
		store_loc = loc;
	}
	if ((rc = keystore_location(dir, ks_loc, keys, sizeof(keys), err)) != 0)
		return rc;
	if ((rc = store_open(store_loc, &ca->st, err)) != 0)
		return rc;
	return keystore_open(keys, &ca->ks, err);
}

void ca_close(jpki_ca *ca)
{
	if (ca == NULL)
		return;
	ca_issuing_close(ca);
	for (int i = 0; i < 3; i++)
		for (int g = 0; g < CA_GEN_MAX; g++) {
			X509_free(ca->groot[i][g]);
			EVP_PKEY_free(ca->gkey[i][g]);
		}
	store_close(ca->st);
	keystore_close(ca->ks);
	free(ca);
}

int ca_init(const char *dir, const ca_init_opts *opts, jpki_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	jpki_ca *ca = NULL;
	int rc;
	if (opts->profile == JPKI_PROFILE_PRODUCTION && opts->now_fixed)
		return jpki_fail(
		    err, JPKI_ERR_POLICY,
		    "a production CA refuses a fixed clock (--now)");
	if ((rc = x509_init(err)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/jpki.db", dir);
	if (stat(path, &st) == 0)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "a CA already exists in %s", dir);
	snprintf(path, sizeof(path), "%s/roots", dir);
	if ((rc = jpki_mkdirs(path, 0755, err)) != 0)
		return rc;
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	ca->profile = opts->profile;
	if ((rc = open_parts(ca, dir, opts->store, opts->keystore, err)) != 0)
		goto out;
	if (opts->keystore != NULL) {
		snprintf(path, sizeof(path), "%s/keystore", dir);
		if ((rc = jpki_file_write_atomic(path, opts->keystore,
						 strlen(opts->keystore), 0600,
						 err)) != 0)
			goto out;
	}
	if ((rc = store_begin(ca->st, err)) != 0)
		goto out;
	if ((rc = store_meta_set(ca->st, "profile",
				 jpki_profile_name(opts->profile), err)) != 0 ||
	    (rc = ca_make_root(ca, JPKI_CERT_SIGN, 1, opts->now, NULL, NULL,
			       err)) != 0 ||
	    (rc = ca_make_root(ca, JPKI_CERT_AUTH, 1, opts->now, NULL, NULL,
			       err)) != 0 ||
	    (rc = store_audit_append(ca->st, opts->now, "ca", "ca.init",
				     jpki_profile_name(opts->profile), err)) !=
		0 ||
	    (rc = store_commit(ca->st, err)) != 0) {
		store_rollback(ca->st);
		goto out;
	}
	/* a token's audit key is made here, once: two nodes making it on
	 * first use could leave two token objects under one label (file
	 * keys are linked into place, so the first one made wins there) */
	if (opts->keystore != NULL)
		rc = ca_audit_key_make(ca, err);
out:
	ca_close(ca);
	return rc;
}

/* One generation's root (from the store) and key (from the keystore). */
static int load_gen(jpki_ca *ca, jpki_cert_kind kind, int gen, jpki_err *err)
{
	char key_name[48], sn[STORE_SERIAL_HEX_MAX], label[32];
	store_cert c;
	memset(&c, 0, sizeof(c));
	root_meta_key(kind, gen, key_name);
	int rc = store_meta_get(ca->st, key_name, sn, sizeof(sn), err);
	if (rc != 0)
		return jpki_wrap(err, rc, "CA in %s has no %s root (gen %d)",
				 ca->dir, jpki_cert_kind_name(kind), gen);
	if ((rc = store_cert_get(ca->st, sn, &c, err)) != 0)
		return rc;
	rc = x509_from_der(c.der, c.der_len, &ca->groot[kind][gen - 1], err);
	store_cert_clear(&c);
	if (rc != 0)
		return rc;
	ca_key_label_gen(kind, gen, label);
	if ((rc = keystore_load(ca->ks, label, &ca->gkey[kind][gen - 1],
				err)) != 0)
		return rc;
	if (X509_check_private_key(ca->groot[kind][gen - 1],
				   ca->gkey[kind][gen - 1]) != 1)
		return jpki_fail(
		    err, JPKI_ERR_KEY,
		    "the %s root key (gen %d) does not match its certificate",
		    jpki_cert_kind_name(kind), gen);
	return 0;
}

int ca_generations(jpki_ca *ca, jpki_cert_kind kind, int *n, jpki_err *err)
{
	char key_name[48], v[16];
	root_meta_key(kind, 0, key_name);
	int rc = store_meta_get(ca->st, key_name, v, sizeof(v), NULL);
	if (rc == JPKI_ERR_NOT_FOUND) {
		*n = 1; /* a CA from before rollover */
		return 0;
	}
	if (rc != 0)
		return jpki_fail(err, rc, "reading the %s root generations",
				 jpki_cert_kind_name(kind));
	char *end = NULL;
	long g = strtol(v, &end, 10);
	if (end == v || *end != '\0' || g < 1 || g > CA_GEN_MAX)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "bad %s root generation count \"%s\"",
				 jpki_cert_kind_name(kind), v);
	*n = (int)g;
	return 0;
}

static int load_root(jpki_ca *ca, jpki_cert_kind kind, jpki_err *err)
{
	int n = 0, rc = ca_generations(ca, kind, &n, err);
	for (int g = 1; rc == 0 && g <= n; g++)
		rc = load_gen(ca, kind, g, err);
	if (rc != 0)
		return rc;
	ca->ngen[kind] = n;
	ca->root[kind] = ca->groot[kind][n - 1];
	ca->key[kind] = ca->gkey[kind][n - 1];
	return 0;
}

int ca_open(const char *dir, const char *store_loc, jpki_ca **out,
	    jpki_err *err)
{
	return ca_open_ks(dir, store_loc, NULL, out, err);
}

int ca_open_ks(const char *dir, const char *store_loc, const char *ks_loc,
	       jpki_ca **out, jpki_err *err)
{
	char path[PATH_MAX], prof[32];
	struct stat st;
	jpki_ca *ca = NULL;
	int rc;
	if ((rc = x509_init(err)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/keys", dir);
	char ks_path[PATH_MAX];
	snprintf(ks_path, sizeof(ks_path), "%s/keystore", dir);
	if (stat(path, &st) != 0 && stat(ks_path, &st) != 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "no CA in %s (create one with `jpki ca init`)",
				 dir);
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = open_parts(ca, dir, store_loc, ks_loc, err)) != 0)
		goto out;
	if ((rc = store_meta_get(ca->st, "profile", prof, sizeof(prof), err)) !=
		0 ||
	    (rc = jpki_profile_parse(prof, &ca->profile)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "CA in %s has no valid profile", dir);
		goto out;
	}
	if ((rc = load_root(ca, JPKI_CERT_SIGN, err)) != 0 ||
	    (rc = load_root(ca, JPKI_CERT_AUTH, err)) != 0 ||
	    (rc = ca_issuing_open(ca, err)) != 0)
		goto out;
	*out = ca;
	ca = NULL; /* transferred */
out:
	ca_close(ca);
	return rc;
}

jpki_profile ca_profile(const jpki_ca *ca)
{
	return ca->profile;
}

X509 *ca_root(const jpki_ca *ca, jpki_cert_kind kind)
{
	return kind == JPKI_CERT_SIGN || kind == JPKI_CERT_AUTH ? ca->root[kind]
								: NULL;
}

store *ca_store(jpki_ca *ca)
{
	return ca->st;
}

int ca_check_clock(const jpki_ca *ca, bool now_fixed, jpki_err *err)
{
	if (now_fixed && ca->profile == JPKI_PROFILE_PRODUCTION)
		return jpki_fail(
		    err, JPKI_ERR_POLICY,
		    "a production CA refuses a fixed clock (--now)");
	return 0;
}
