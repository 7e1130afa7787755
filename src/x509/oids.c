/* The J-LIS OID arc 1.2.392.200149.8.5 (spec §1.4, jsrsasign-oid-jpki) and
 * its one-time registration with OpenSSL, so that `openssl x509 -text` and
 * OBJ_obj2txt print names.  Code in this module compares OIDs by their
 * dotted form and works without the registration. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

#include "x509_int.h"

static const struct {
	const char *oid;
	const char *sn;
	const char *ln;
} oids[] = {
    {JPKI_OID_POLICY_SIGN, "jpki-cp-sign-class20",
     "JPKI signature certificate policy (class 20)"},
    {JPKI_OID_POLICY_AUTH, "jpki-cp-auth-class30",
     "JPKI user authentication certificate policy (class 30)"},
    {JPKI_OID_POLICY_SIGN_TEST, "jpki-test-cp-sign",
     "openjpki test profile signature certificate policy"},
    {JPKI_OID_POLICY_AUTH_TEST, "jpki-test-cp-auth",
     "openjpki test profile user authentication certificate policy"},
    {JPKI_OID_NAME, "jpki-pd-commonName", "JPKI name"},
    {JPKI_OID_NAME_SUBST, "jpki-pd-substituteCharacterOfCommonName",
     "JPKI name substitute characters"},
    {JPKI_OID_SEX, "jpki-pd-gender", "JPKI sex"},
    {JPKI_OID_BIRTH, "jpki-pd-dateOfBirth", "JPKI date of birth"},
    {JPKI_OID_ADDRESS, "jpki-pd-address", "JPKI address"},
    {JPKI_OID_ADDRESS_SUBST, "jpki-pd-substituteCharacterOfAddress",
     "JPKI address substitute characters"},
};

static const char *const b4_oids[X509I_B4_COUNT] = {
    JPKI_OID_NAME,  JPKI_OID_NAME_SUBST, JPKI_OID_SEX,
    JPKI_OID_BIRTH, JPKI_OID_ADDRESS,	 JPKI_OID_ADDRESS_SUBST,
};

static CRYPTO_ONCE init_once = CRYPTO_ONCE_STATIC_INIT;
static int init_rc = JPKI_ERR_CRYPTO;

static void register_oids(void)
{
	for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i].oid, 1);
		int known = o != NULL && OBJ_obj2nid(o) != NID_undef;
		ASN1_OBJECT_free(o);
		if (o == NULL)
			return;
		/* Another component may have registered it already. */
		if (known || OBJ_sn2nid(oids[i].sn) != NID_undef)
			continue;
		if (OBJ_create(oids[i].oid, oids[i].sn, oids[i].ln) ==
		    NID_undef)
			return;
	}
	init_rc = 0;
}

int x509_init(jpki_err *err)
{
	if (!CRYPTO_THREAD_run_once(&init_once, register_oids) || init_rc != 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "registering the JPKI OIDs failed");
	return 0;
}

ASN1_OBJECT *x509i_obj(const char *dotted)
{
	return OBJ_txt2obj(dotted, 1);
}

bool x509i_obj_is(const ASN1_OBJECT *o, const char *dotted)
{
	char buf[80];
	if (o == NULL)
		return false;
	int n = OBJ_obj2txt(buf, (int)sizeof(buf), o, 1);
	return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, dotted) == 0;
}

const char *x509i_b4_oid(int slot)
{
	if (slot < 0 || slot >= X509I_B4_COUNT)
		return NULL;
	return b4_oids[slot];
}

const char *x509i_policy_oid(jpki_profile prof, jpki_cert_kind kind)
{
	bool prod = prof == JPKI_PROFILE_PRODUCTION;
	if (!x509i_profile_ok(prof) || !x509i_kind_ok(kind))
		return NULL;
	if (kind == JPKI_CERT_SIGN)
		return prod ? JPKI_OID_POLICY_SIGN : JPKI_OID_POLICY_SIGN_TEST;
	return prod ? JPKI_OID_POLICY_AUTH : JPKI_OID_POLICY_AUTH_TEST;
}

const char *x509i_cps_uri(jpki_profile prof)
{
	return prof == JPKI_PROFILE_PRODUCTION ? JPKI_CPS_URI
					       : JPKI_CPS_URI_TEST;
}

void x509i_oid_text(const jpki_rbuf *oid, bool short_name, char *buf,
		    size_t cap)
{
	const unsigned char *p = oid->p;
	ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)oid->len);
	int nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
	const char *sn =
	    short_name && nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
	if (sn != NULL)
		snprintf(buf, cap, "%s", sn);
	else if (o == NULL || OBJ_obj2txt(buf, (int)cap, o, short_name) <= 0)
		snprintf(buf, cap, "(malformed OID)");
	ASN1_OBJECT_free(o);
	ERR_clear_error();
}
