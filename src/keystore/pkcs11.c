/* keystore, PKCS#11 backend: keys generated inside a token and never
 * leaving it (CKA_SENSITIVE, not CKA_EXTRACTABLE); signatures by C_Sign
 * with CKM_RSA_PKCS over a SHA-256 DigestInfo.  Callers get an EVP_PKEY of
 * the in-tree provider (p11_provider.c).
 *
 * Location: pkcs11:module=PATH;token=LABEL[;pin-source=file:PATH|env:VAR]
 * The user PIN comes from the file's first line or the environment
 * variable (default env:JPKI_PKCS11_PIN), never from a command line. */
#include <dlfcn.h>
#include <openssl/bn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "keystore_internal.h"
#include "openjpki/util.h"

#define PIN_MAX 256
#define PIN_FILE_MAX 4096

/* A loaded module.  Several keystores in one process (jpkid's issuing
 * threads each open the CA) share it: PKCS#11 has one C_Initialize and one
 * login state per application, so the module is finalised (which logs out
 * and closes every session) only when the last keystore of it goes. */
typedef struct p11mod {
	struct p11mod *next;
	char path[1024];
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int refs;
	int finalize; /* we initialised it */
} p11mod;

static pthread_mutex_t mods_mu = PTHREAD_MUTEX_INITIALIZER;
static p11mod *mods;

static void mod_release(p11mod *m)
{
	pthread_mutex_lock(&mods_mu);
	if (--m->refs == 0) {
		for (p11mod **pp = &mods; *pp != NULL; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		if (m->finalize)
			m->f->C_Finalize(NULL);
		dlclose(m->dl);
		free(m);
	}
	pthread_mutex_unlock(&mods_mu);
}

static int p11_fail(jpki_err *err, const char *what, CK_RV rv);

static int mod_get(const char *path, p11mod **out, jpki_err *err)
{
	CK_C_GetFunctionList getf;
	CK_C_INITIALIZE_ARGS ia;
	int rc = 0;
	p11mod *m;
	pthread_mutex_lock(&mods_mu);
	for (m = mods; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			*out = m;
			goto out;
		}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (jpki_strlcpy(m->path, path, sizeof(m->path)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "keystore: PKCS#11 module path too long: %s",
			       path);
		goto out;
	}
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO,
			       "keystore: cannot load PKCS#11 module %s: %s",
			       path, dlerror());
		goto out;
	}
	*(void **)(&getf) = dlsym(m->dl, "C_GetFunctionList");
	if (getf == NULL || getf(&m->f) != CKR_OK || m->f == NULL) {
		rc = jpki_fail(err, JPKI_ERR_IO,
			       "keystore: %s is not a PKCS#11 module", path);
		goto out;
	}
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	CK_RV rv = m->f->C_Initialize(&ia);
	if (rv == CKR_OK)
		m->finalize = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc = p11_fail(err, "C_Initialize", rv);
		goto out;
	}
	m->refs = 1;
	m->next = mods;
	mods = m;
	*out = m;
	m = NULL;
out:
	if (rc != 0 && m != NULL) {
		if (m->dl != NULL)
			dlclose(m->dl);
		free(m);
	}
	pthread_mutex_unlock(&mods_mu);
	return rc;
}

/* One logged-in session on one token, shared by every key of it. */
typedef struct p11tok {
	atomic_int refs;
	p11mod *mod;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
	int open;
	pthread_mutex_t mu; /* a session is used by one thread at a time */
} p11tok;

struct ks_p11_key {
	atomic_int refs;
	p11tok *tok;
	CK_OBJECT_HANDLE h;
};

typedef struct pks {
	p11tok *tok;
} pks;

static void tok_unref(p11tok *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	/* no C_Logout: the login is the application's, shared with other
	 * sessions; C_Finalize of the last user ends it */
	if (t->open)
		t->f->C_CloseSession(t->s);
	if (t->mod != NULL)
		mod_release(t->mod);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void ks_p11_key_ref(ks_p11_key *k)
{
	atomic_fetch_add(&k->refs, 1);
}

void ks_p11_key_unref(ks_p11_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	tok_unref(k->tok);
	free(k);
}

int ks_p11_key_sign(ks_p11_key *k, const unsigned char *digestinfo, size_t len,
		    unsigned char *sig, size_t *siglen)
{
	CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
	CK_ULONG out = *siglen;
	CK_RV rv;
	p11tok *t = k->tok;
	pthread_mutex_lock(&t->mu);
	rv = t->f->C_SignInit(t->s, &mech, k->h);
	if (rv == CKR_OK)
		rv =
		    t->f->C_Sign(t->s, (CK_BYTE_PTR)digestinfo, len, sig, &out);
	pthread_mutex_unlock(&t->mu);
	if (rv != CKR_OK)
		return -1;
	*siglen = out;
	return 0;
}

/* --- the location --- */

typedef struct spec {
	char module[1024];
	char token[33];
	char pin_source[1024];
} spec;

static int parse_spec(const char *s, spec *sp, jpki_err *err)
{
	memset(sp, 0, sizeof(*sp));
	if (jpki_strlcpy(sp->pin_source, "env:JPKI_PKCS11_PIN",
			 sizeof(sp->pin_source)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "keystore: pin-source field too small");
	while (*s != '\0') {
		const char *end = strchr(s, ';');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', n);
		if (eq == NULL)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "keystore: pkcs11 attribute without "
					 "'=': %.*s",
					 (int)n, s);
		size_t kl = (size_t)(eq - s), vl = n - kl - 1;
		char *dst = NULL;
		size_t cap = 0;
		if (kl == 6 && memcmp(s, "module", 6) == 0) {
			dst = sp->module;
			cap = sizeof(sp->module);
		} else if (kl == 5 && memcmp(s, "token", 5) == 0) {
			dst = sp->token;
			cap = sizeof(sp->token);
		} else if (kl == 10 && memcmp(s, "pin-source", 10) == 0) {
			dst = sp->pin_source;
			cap = sizeof(sp->pin_source);
		} else {
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "keystore: unknown pkcs11 attribute "
					 "%.*s (module, token, pin-source)",
					 (int)kl, s);
		}
		if (vl == 0 || vl >= cap)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "keystore: pkcs11 %.*s empty or too "
					 "long",
					 (int)kl, s);
		memcpy(dst, eq + 1, vl);
		dst[vl] = '\0';
		s += n;
		if (*s == ';')
			s++;
	}
	if (sp->module[0] == '\0' || sp->token[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "keystore: pkcs11 needs module= and token=");
	return 0;
}

static int read_pin(const char *src, char *pin, size_t cap, jpki_err *err)
{
	if (strncmp(src, "env:", 4) == 0) {
		const char *v = getenv(src + 4);
		if (v == NULL || v[0] == '\0')
			return jpki_fail(err, JPKI_ERR_AUTH,
					 "keystore: no token PIN in $%s",
					 src + 4);
		if (jpki_strlcpy(pin, v, cap) != 0)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "keystore: PIN too long");
		return 0;
	}
	if (strncmp(src, "file:", 5) == 0) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = jpki_file_read(src + 5, PIN_FILE_MAX, &buf, &len, err);
		if (rc != 0)
			return rc;
		size_t n = 0;
		while (n < len && buf[n] != '\n' && buf[n] != '\r')
			n++;
		if (n == 0 || n >= cap) {
			jpki_free_secret(buf, len);
			return jpki_fail(err, JPKI_ERR_AUTH,
					 "keystore: PIN file %s: empty or "
					 "too long",
					 src + 5);
		}
		memcpy(pin, buf, n);
		pin[n] = '\0';
		jpki_free_secret(buf, len);
		return 0;
	}
	return jpki_fail(err, JPKI_ERR_INVAL,
			 "keystore: pin-source is file:PATH or env:VAR");
}

static int p11_fail(jpki_err *err, const char *what, CK_RV rv)
{
	return jpki_fail(
	    err,
	    rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? JPKI_ERR_AUTH
							    : JPKI_ERR_CRYPTO,
	    "keystore: %s: PKCS#11 error 0x%lx", what, (unsigned long)rv);
}

static int find_slot(p11tok *t, const char *label, CK_SLOT_ID *slot,
		     jpki_err *err)
{
	CK_ULONG n = 0;
	CK_SLOT_ID *ids = NULL;
	char want[32];
	size_t ll = strlen(label);
	int rc = JPKI_ERR_NOT_FOUND;
	CK_RV rv = t->f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv != CKR_OK)
		return p11_fail(err, "C_GetSlotList", rv);
	if (n > 0 && (ids = calloc(n, sizeof(*ids))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if (n > 0 && (rv = t->f->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_OK) {
		free(ids);
		return p11_fail(err, "C_GetSlotList", rv);
	}
	memset(want, ' ', sizeof(want));
	memcpy(want, label, ll > 32 ? 32 : ll);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (t->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK &&
		    memcmp(ti.label, want, sizeof(want)) == 0) {
			*slot = ids[i];
			rc = 0;
			break;
		}
	}
	free(ids);
	if (rc != 0)
		return jpki_fail(err, rc, "keystore: no token labelled \"%s\"",
				 label);
	return 0;
}

int ks_pkcs11_open(const char *location, void **out, jpki_err *err)
{
	spec sp;
	char pin[PIN_MAX];
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	int rc;
	p11tok *t = NULL;
	memset(pin, 0, sizeof(pin));
	if ((rc = parse_spec(location, &sp, err)) != 0 ||
	    (rc = read_pin(sp.pin_source, pin, sizeof(pin), err)) != 0)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->mu, NULL);
	if ((rc = mod_get(sp.module, &t->mod, err)) != 0)
		goto out;
	t->f = t->mod->f;
	if ((rc = find_slot(t, sp.token, &slot, err)) != 0)
		goto out;
	rv = t->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				 NULL, NULL, &t->s);
	if (rv != CKR_OK) {
		rc = p11_fail(err, "C_OpenSession", rv);
		goto out;
	}
	t->open = 1;
	rv = t->f->C_Login(t->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc = p11_fail(err, "C_Login (user PIN)", rv);
		goto out;
	}
	pks *ks = calloc(1, sizeof(*ks));
	if (ks == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	ks->tok = t;
	t = NULL;
	*out = ks;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	tok_unref(t);
	return rc;
}

static void p11_close(void *be)
{
	pks *ks = be;
	if (ks == NULL)
		return;
	tok_unref(ks->tok);
	free(ks);
}

/* The object of `cls` labelled `label`: 0, JPKI_ERR_NOT_FOUND, or an
 * error.  Called with the token's lock held. */
static int find_obj(p11tok *t, CK_OBJECT_CLASS cls, const char *label,
		    CK_OBJECT_HANDLE *h, jpki_err *err)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_ULONG n = 0;
	CK_OBJECT_HANDLE found[2];
	CK_RV rv = t->f->C_FindObjectsInit(t->s, tmpl, 2);
	if (rv != CKR_OK)
		return p11_fail(err, "C_FindObjectsInit", rv);
	rv = t->f->C_FindObjects(t->s, found, 2, &n);
	t->f->C_FindObjectsFinal(t->s);
	if (rv != CKR_OK)
		return p11_fail(err, "C_FindObjects", rv);
	if (n == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "keystore: no key \"%s\" in the token", label);
	if (n > 1)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "keystore: two keys labelled \"%s\" in the "
				 "token",
				 label);
	*h = found[0];
	return 0;
}

static int p11_has(void *be, const char *label, jpki_err *err)
{
	pks *ks = be;
	CK_OBJECT_HANDLE h;
	pthread_mutex_lock(&ks->tok->mu);
	int rc = find_obj(ks->tok, CKO_PRIVATE_KEY, label, &h, err);
	pthread_mutex_unlock(&ks->tok->mu);
	return rc;
}

/* The EVP_PKEY of the private key `h`: its modulus and exponent are public
 * attributes even of a sensitive key. */
static int make_pkey(p11tok *t, CK_OBJECT_HANDLE h, EVP_PKEY **out,
		     jpki_err *err)
{
	unsigned char nb[1024], eb[16];
	CK_ATTRIBUTE a[] = {{CKA_MODULUS, nb, sizeof(nb)},
			    {CKA_PUBLIC_EXPONENT, eb, sizeof(eb)}};
	BIGNUM *n = NULL, *e = NULL;
	ks_p11_key *k = NULL;
	int rc;
	pthread_mutex_lock(&t->mu);
	CK_RV rv = t->f->C_GetAttributeValue(t->s, h, a, 2);
	pthread_mutex_unlock(&t->mu);
	if (rv != CKR_OK)
		return p11_fail(err, "reading the public key", rv);
	if ((n = BN_bin2bn(nb, (int)a[0].ulValueLen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)a[1].ulValueLen, NULL)) == NULL ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	atomic_init(&k->refs, 1);
	atomic_fetch_add(&t->refs, 1);
	k->tok = t;
	k->h = h;
	rc = ks_p11_pkey_new(k, n, e, out, err);
out:
	ks_p11_key_unref(k); /* the EVP_PKEY holds its own reference */
	BN_free(n);
	BN_free(e);
	return rc;
}

static int p11_load(void *be, const char *label, EVP_PKEY **out, jpki_err *err)
{
	pks *ks = be;
	CK_OBJECT_HANDLE h;
	pthread_mutex_lock(&ks->tok->mu);
	int rc = find_obj(ks->tok, CKO_PRIVATE_KEY, label, &h, err);
	pthread_mutex_unlock(&ks->tok->mu);
	if (rc != 0)
		return rc;
	return make_pkey(ks->tok, h, out, err);
}

static int p11_generate(void *be, const char *label, int bits, EVP_PKEY **pub,
			jpki_err *err)
{
	pks *ks = be;
	p11tok *t = ks->tok;
	CK_OBJECT_HANDLE h, pubh, privh;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG mbits = (CK_ULONG)bits;
	CK_BYTE f4[] = {0x01, 0x00, 0x01};
	CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ULONG ll = strlen(label);
	CK_ATTRIBUTE pubt[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_LABEL, (void *)label, ll},
	    {CKA_ID, (void *)label, ll},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_WRAP, &no, sizeof(no)},
	    {CKA_MODULUS_BITS, &mbits, sizeof(mbits)},
	    {CKA_PUBLIC_EXPONENT, f4, sizeof(f4)},
	};
	CK_ATTRIBUTE privt[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_LABEL, (void *)label, ll},
	    {CKA_ID, (void *)label, ll},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	    {CKA_UNWRAP, &no, sizeof(no)},
	};
	pthread_mutex_lock(&t->mu);
	int rc = find_obj(t, CKO_PRIVATE_KEY, label, &h, NULL);
	if (rc == 0) {
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "keystore: key \"%s\" already exists", label);
	} else if (rc == JPKI_ERR_NOT_FOUND) {
		CK_RV rv = t->f->C_GenerateKeyPair(
		    t->s, &mech, pubt, sizeof(pubt) / sizeof(pubt[0]), privt,
		    sizeof(privt) / sizeof(privt[0]), &pubh, &privh);
		rc = rv == CKR_OK ? 0 : p11_fail(err, "C_GenerateKeyPair", rv);
	} else {
		rc = jpki_fail(err, rc, "keystore: looking for \"%s\"", label);
	}
	pthread_mutex_unlock(&t->mu);
	if (rc != 0 || pub == NULL)
		return rc;
	return make_pkey(t, privh, pub, err);
}

/* Both halves of the pair `label` destroyed (the public one may be
 * absent). */
static int p11_destroy(void *be, const char *label, jpki_err *err)
{
	pks *ks = be;
	p11tok *t = ks->tok;
	CK_OBJECT_HANDLE h;
	pthread_mutex_lock(&t->mu);
	int rc = find_obj(t, CKO_PRIVATE_KEY, label, &h, err);
	if (rc == 0) {
		CK_RV rv = t->f->C_DestroyObject(t->s, h);
		rc = rv == CKR_OK ? 0 : p11_fail(err, "C_DestroyObject", rv);
	}
	if (rc == 0 && find_obj(t, CKO_PUBLIC_KEY, label, &h, NULL) == 0) {
		CK_RV rv = t->f->C_DestroyObject(t->s, h);
		rc = rv == CKR_OK ? 0 : p11_fail(err, "C_DestroyObject", rv);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

const keystore_ops ks_pkcs11_ops = {
    .close = p11_close,
    .generate = p11_generate,
    .load = p11_load,
    .has = p11_has,
    .destroy = p11_destroy,
};
