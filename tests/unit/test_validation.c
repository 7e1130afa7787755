/* validation: roots chosen by key, path and profile checks, CRL and OCSP
 * revocation, CMS documents -- every refusal with its own reason. */
#include "test_validation_common.h"
#include "validation/val_int.h"

static EVP_PKEY *k_sign, *k_sign2, *k_auth, *k_leaf;
static X509 *r_sign;  /* test sign root, generation 1 */
static X509 *r_sign2; /* same DN, new key: generation 2 */
static X509 *r_auth;
static X509 *l_sign, *l_sign2, *l_auth, *l_revoked;
static char crl_path[64], crl2_path[64], dp_text[512];

#define S_GOOD 0x10
#define S_REVOKED 0x11
#define S_GEN2 0x20

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	if (x509_init(&err) != 0)
		return -1;
	k_sign = EVP_RSA_gen(2048);
	k_sign2 = EVP_RSA_gen(2048);
	k_auth = EVP_RSA_gen(2048);
	k_leaf = EVP_RSA_gen(2048);
	if (!k_sign || !k_sign2 || !k_auth || !k_leaf)
		return -1;
	r_sign = fx_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, k_sign, 1,
			 "2025-01-05T01:02:03Z");
	r_sign2 = fx_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, k_sign2, 2,
			  "2025-01-20T00:00:00Z");
	r_auth = fx_root(JPKI_PROFILE_TEST, JPKI_CERT_AUTH, k_auth, 1,
			 "2025-01-05T01:02:03Z");
	l_sign =
	    fx_sign_leaf(JPKI_PROFILE_TEST, r_sign, k_sign, k_leaf, S_GOOD);
	l_revoked =
	    fx_sign_leaf(JPKI_PROFILE_TEST, r_sign, k_sign, k_leaf, S_REVOKED);
	l_sign2 =
	    fx_sign_leaf(JPKI_PROFILE_TEST, r_sign2, k_sign2, k_leaf, S_GEN2);
	l_auth = fx_auth_leaf(JPKI_PROFILE_TEST, r_auth, k_auth, k_leaf, 0x30);
	const uint8_t rev[] = {S_REVOKED};
	X509_CRL *c = fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, r_sign, k_sign,
			     &fx_site, rev, 1, JPKI_REASON_AFFILIATION_CHANGED,
			     "2025-02-15T03:00:00Z", "2025-03-01T00:00:00Z",
			     "2025-03-03T00:00:00Z");
	fx_crl_file(c, crl_path);
	X509_CRL_free(c);
	c = fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, r_sign2, k_sign2,
		   &fx_site, NULL, 0, JPKI_REASON_UNSPECIFIED,
		   "2025-02-15T03:00:00Z", "2025-03-01T00:00:00Z",
		   "2025-03-03T00:00:00Z");
	fx_crl_file(c, crl2_path);
	X509_CRL_free(c);
	fx_dp_text(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, &fx_site, dp_text,
		   sizeof(dp_text));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(crl_path);
	unlink(crl2_path);
	X509 *xs[] = {r_sign,  r_sign2, r_auth,	  l_sign,
		      l_sign2, l_auth,	l_revoked};
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		X509_free(xs[i]);
	EVP_PKEY_free(k_sign);
	EVP_PKEY_free(k_sign2);
	EVP_PKEY_free(k_auth);
	EVP_PKEY_free(k_leaf);
	return 0;
}

/* A validator trusting all three roots, with both generations' CRLs
 * mapped to the one partition name. */
static jpki_validator *vnew(void)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	assert_int_equal(val_add_root(v, r_sign2, &err), 0);
	assert_int_equal(val_add_root(v, r_auth, &err), 0);
	if (val_map_crl(v, dp_text, crl_path, &err) != 0 ||
	    val_map_crl(v, dp_text, crl2_path, &err) != 0)
		fail_msg("map: %s", err.msg);
	return v;
}

static val_opts opts_at(const char *at)
{
	val_opts o = {fx_at(FX_NOW), fx_at(at), VAL_PURPOSE_ANY};
	return o;
}

static void test_valid_and_generations(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_ptr_equal(r.root, r_sign);
	assert_int_equal(r.kind, JPKI_CERT_SIGN);
	assert_int_equal(r.profile, JPKI_PROFILE_TEST);
	assert_int_equal(r.rev, VAL_REV_GOOD);
	assert_int_equal(r.rev_source, VAL_SRC_CRL);
	assert_string_equal(r.rev_where, crl_path);
	val_result_clear(&r);
	/* same DN, other key: the second generation is picked by key, and
	 * its own CRL (the other one is signed by generation 1) answers */
	assert_int_equal(val_cert(v, l_sign2, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_ptr_equal(r.root, r_sign2);
	assert_string_equal(r.rev_where, crl2_path);
	val_result_clear(&r);
	size_t idx = 99;
	bool ok = false;
	assert_int_equal(val_find_issuer(v, l_sign2, &idx, &ok, &err), 0);
	assert_true(ok);
	assert_ptr_equal(val_root(v, idx), r_sign2);
	assert_int_equal(val_root_count(v), 3);
	/* adding a root twice does not duplicate it */
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	assert_int_equal(val_root_count(v), 3);
	val_free(v);
}

/* A leaf without AKI is placed by its signature among same-DN roots. */
static void test_no_aki(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	X509 *x = X509_dup(l_sign2);
	int i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);
	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_true(X509_sign(x, k_sign2, EVP_sha256()) > 0);
	size_t idx = 99;
	bool ok = false;
	jpki_err err = {0};
	assert_int_equal(val_find_issuer(v, x, &idx, &ok, &err), 0);
	assert_true(ok);
	assert_ptr_equal(val_root(v, idx), r_sign2);
	X509_free(x);
	val_free(v);
}

static void test_revoked_crl(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	assert_int_equal(val_cert(v, l_revoked, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	assert_true(fx_says(&r, VAL_FAIL_REVOKED, "affiliationChanged"));
	assert_int_equal(r.rev, VAL_REV_REVOKED);
	assert_int_equal(r.reason, JPKI_REASON_AFFILIATION_CHANGED);
	assert_int_equal(r.revoked_at, fx_at("2025-02-15T03:00:00Z"));
	val_result_clear(&r);
	/* judged before the revocation (a change of address): good then */
	o.at = fx_at("2025-02-10T00:00:00Z");
	assert_int_equal(val_cert(v, l_revoked, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_int_equal(r.rev, VAL_REV_REVOKED);
	val_result_clear(&r);
	val_free(v);
}

static void test_revoked_ocsp(void **state)
{
	(void)state;
	jpki_validator *v = NULL;
	jpki_err err = {0};
	val_result r;
	val_opts o = opts_at(FX_NOW);
	const uint8_t rev[] = {S_GOOD};
	fx_ocsp_ctx ctx = {rev, 1};
	size_t len = 0;
	/* no CRL: the answer comes from the OCSP response */
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	uint8_t *resp = fx_ocsp_resp(l_sign, r_sign, k_sign, &ctx,
				     "2025-03-01T12:00:00Z", 86400, &len);
	assert_int_equal(val_add_ocsp_response(v, resp, len, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	assert_int_equal(r.rev_source, VAL_SRC_OCSP);
	assert_true(fx_says(&r, VAL_FAIL_REVOKED, "keyCompromise"));
	val_result_clear(&r);
	/* keyCompromise counts even before the revocation time */
	o.at = fx_at("2025-02-10T00:00:00Z");
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	val_result_clear(&r);
	/* stale: after nextUpdate the answer is not used */
	o = opts_at(FX_NOW);
	o.now = fx_at("2025-03-02T12:00:01Z");
	o.at = o.now;
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "stale"));
	val_result_clear(&r);
	/* from the future (beyond the skew) */
	o.now = fx_at("2025-03-01T11:50:00Z");
	o.at = o.now;
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "future"));
	val_result_clear(&r);
	free(resp);
	val_free(v);

	/* a signature that does not verify (the value is the last bytes
	 * of a response without certificates) */
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	ctx.n = 0;
	resp = fx_ocsp_resp(l_sign, r_sign, k_sign, &ctx,
			    "2025-03-01T12:00:00Z", 86400, &len);
	resp[len - 1] ^= 1;
	assert_int_equal(val_add_ocsp_response(v, resp, len, &err), 0);
	o = opts_at(FX_NOW);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN,
			    "not signed by the certificate's root"));
	val_result_clear(&r);
	free(resp);
	/* a response about another certificate does not answer */
	resp = fx_ocsp_resp(l_revoked, r_sign, k_sign, &ctx,
			    "2025-03-01T12:00:00Z", 86400, &len);
	assert_int_equal(val_add_ocsp_response(v, resp, len, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	val_result_clear(&r);
	/* bytes after the response, an error status: refused at once */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, resp, len);
	longer[len] = 0;
	assert_int_equal(val_add_ocsp_response(v, longer, len + 1, &err),
			 JPKI_ERR_PARSE);
	free(longer);
	free(resp);
	assert_int_equal(
	    x509_ocsp_error(OCSP_RESPONSE_STATUS_TRYLATER, &resp, &len, &err),
	    0);
	assert_int_equal(val_add_ocsp_response(v, resp, len, &err),
			 JPKI_ERR_PARSE);
	assert_non_null(strstr(err.msg, "trylater"));
	free(resp);
	val_free(v);
}

static void test_expired(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at("2030-01-31T15:00:00Z");
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_EXPIRED);
	assert_true(fx_says(&r, VAL_FAIL_EXPIRED, "2030-01-31T14:59:59Z"));
	val_result_clear(&r);
	o.at = fx_at("2030-01-31T14:59:59Z"); /* its last second */
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	o.at = fx_at("2025-01-31T00:00:00Z");
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_NOT_YET_VALID);
	val_result_clear(&r);
	/* after the root's 10 years the leaf is long expired too */
	o.at = fx_at("2035-01-05T00:00:00Z");
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_EXPIRED | VAL_FAIL_ROOT_VALIDITY);
	val_result_clear(&r);
	val_free(v);
}

static void test_other_hierarchy(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	/* a signature certificate issued by the authentication root */
	X509 *x = X509_dup(l_sign);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(r_auth)),
			 1);
	int i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_true(X509_sign(x, k_auth, EVP_sha256()) > 0);
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_true(r.fails & VAL_FAIL_OTHER_HIERARCHY);
	assert_true(fx_says(&r, VAL_FAIL_OTHER_HIERARCHY,
			    "issued by the test auth root"));
	assert_false(r.fails & (VAL_FAIL_UNTRUSTED | VAL_FAIL_CERT_SIGNATURE));
	val_result_clear(&r);
	X509_free(x);
	val_free(v);
	/* with only the authentication root trusted, the signature
	 * certificate has no issuer at all */
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_auth, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_UNTRUSTED);
	assert_int_equal(r.rev, VAL_REV_NOT_CHECKED);
	val_result_clear(&r);
	/* the same DN with another key (a generation we do not trust) */
	val_free(v);
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	assert_int_equal(val_cert(v, l_sign2, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_UNTRUSTED);
	assert_true(fx_says(&r, VAL_FAIL_UNTRUSTED, "another generation"));
	val_result_clear(&r);
	val_free(v);
}

/* Replace the keyUsage of a copy of l_sign and re-sign it. */
static X509 *with_ku(int bits)
{
	X509 *x = X509_dup(l_sign);
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int i = X509_get_ext_by_NID(x, NID_key_usage, -1);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	for (int b = 0; b < 9; b++)
		if (bits & (1 << b))
			ASN1_BIT_STRING_set_bit(ku, b, 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0), 1);
	ASN1_BIT_STRING_free(ku);
	assert_true(X509_sign(x, k_sign, EVP_sha256()) > 0);
	return x;
}

static void test_key_usage(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	X509 *x = with_ku(1 << 0); /* digitalSignature only */
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_KEY_USAGE);
	assert_true(fx_says(&r, VAL_FAIL_KEY_USAGE, "lacks nonRepudiation"));
	val_result_clear(&r);
	X509_free(x);
	x = with_ku((1 << 0) | (1 << 1) | (1 << 5)); /* + keyCertSign */
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_KEY_USAGE);
	val_result_clear(&r);
	X509_free(x);
	/* the authentication certificate is fine for log-in, not for
	 * documents, and the signature certificate the other way round */
	o.purpose = VAL_PURPOSE_SIGN;
	assert_int_equal(val_cert(v, l_auth, &o, &r, &err), 0);
	assert_true(fx_says(&r, VAL_FAIL_KEY_USAGE, "cannot sign documents"));
	assert_false(r.fails & ~(unsigned)(VAL_FAIL_KEY_USAGE |
					   VAL_FAIL_REVOCATION_UNKNOWN));
	val_result_clear(&r);
	o.purpose = VAL_PURPOSE_AUTH;
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_KEY_USAGE);
	val_result_clear(&r);
	val_free(v);
}

static void test_policy_and_profile(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	/* no certificatePolicies */
	X509 *x = X509_dup(l_sign);
	int i = X509_get_ext_by_NID(x, NID_certificate_policies, -1);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_true(X509_sign(x, k_sign, EVP_sha256()) > 0);
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_POLICY);
	assert_true(fx_says(&r, VAL_FAIL_POLICY, JPKI_OID_POLICY_SIGN));
	val_result_clear(&r);
	X509_free(x);
	/* a test-profile leaf under a production root */
	X509 *prod = fx_root(JPKI_PROFILE_PRODUCTION, JPKI_CERT_SIGN, k_sign2,
			     9, "2025-01-05T00:00:00Z");
	jpki_validator *pv = NULL;
	assert_int_equal(val_new(&pv, &err), 0);
	assert_int_equal(val_add_root(pv, prod, &err), 0);
	x = X509_dup(l_sign2);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(prod)),
			 1);
	assert_true(X509_sign(x, k_sign2, EVP_sha256()) > 0);
	assert_int_equal(val_cert(pv, x, &o, &r, &err), 0);
	assert_true(fx_says(&r, VAL_FAIL_POLICY, "test-profile certificate"));
	val_result_clear(&r);
	X509_free(x);
	X509_free(prod);
	val_free(pv);
	/* a CA certificate (an intermediate) as the leaf; and a root */
	assert_int_equal(val_cert(v, r_sign, &o, &r, &err), 0);
	assert_true(r.fails & VAL_FAIL_PROFILE);
	val_result_clear(&r);
	x = X509_dup(l_sign);
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	bc->ca = 1;
	assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0),
			 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_sign(x, k_sign, EVP_sha256()) > 0);
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_PROFILE);
	assert_true(fx_says(&r, VAL_FAIL_PROFILE, "no intermediate"));
	val_result_clear(&r);
	X509_free(x);
	/* a bad signature on the certificate */
	x = X509_dup(l_sign);
	assert_true(X509_sign(x, k_leaf, EVP_sha256()) > 0);
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_CERT_SIGNATURE);
	assert_true(fx_says(&r, VAL_FAIL_CERT_SIGNATURE, "root of 2025-01-05"));
	val_result_clear(&r);
	X509_free(x);
	val_free(v);
}

/* Every reason at once, not only the first. */
static void test_every_reason(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	X509 *x = X509_dup(l_revoked);
	int i = X509_get_ext_by_NID(x, NID_key_usage, -1);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	assert_true(X509_sign(x, k_sign, EVP_sha256()) > 0);
	val_opts o = opts_at("2031-01-01T00:00:00Z");
	o.purpose = VAL_PURPOSE_AUTH;
	assert_int_equal(val_cert(v, x, &o, &r, &err), 0);
	assert_fails(&r,
		     VAL_FAIL_EXPIRED | VAL_FAIL_REVOKED | VAL_FAIL_KEY_USAGE);
	assert_true(r.n_msgs >= 4);
	for (size_t k = 0; k < r.n_msgs; k++)
		assert_non_null(val_fail_name(r.msgs[k].what));
	val_result_clear(&r);
	X509_free(x);
	val_free(v);
}

static void test_revocation_unknown(void **state)
{
	(void)state;
	jpki_validator *v = NULL;
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN,
			    "CN=Kiyose-shi CRLDP,OU=Tokyo-to"));
	val_result_clear(&r);
	/* the CRL of another generation only (trusted, but not the
	 * certificate's issuer) */
	assert_int_equal(val_add_root(v, r_sign2, &err), 0);
	assert_int_equal(val_map_crl(v, dp_text, crl2_path, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "another root"));
	val_result_clear(&r);
	/* the right one, but stale */
	assert_int_equal(val_map_crl(v, dp_text, crl_path, &err), 0);
	o.now = fx_at("2025-03-03T00:00:01Z");
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOCATION_UNKNOWN);
	assert_true(fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "stale"));
	val_result_clear(&r);
	/* a CRL of another partition mapped for this one */
	X509_CRL *c =
	    fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, r_sign, k_sign, &fx_site2,
		   NULL, 0, JPKI_REASON_UNSPECIFIED, "2025-02-15T03:00:00Z",
		   "2025-03-01T00:00:00Z", "2025-03-03T00:00:00Z");
	char other[64];
	fx_crl_file(c, other);
	X509_CRL_free(c);
	val_free(v);
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	assert_int_equal(val_map_crl(v, dp_text, other, &err), 0);
	o.now = fx_at(FX_NOW);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_true(
	    fx_says(&r, VAL_FAIL_REVOCATION_UNKNOWN, "another partition"));
	val_result_clear(&r);
	/* a full CRL (no IDP) mapped for every partition answers */
	c = fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, r_sign, k_sign, NULL,
		   NULL, 0, JPKI_REASON_UNSPECIFIED, "2025-02-15T03:00:00Z",
		   "2025-03-01T00:00:00Z", "2025-03-03T00:00:00Z");
	char full[64];
	fx_crl_file(c, full);
	X509_CRL_free(c);
	assert_int_equal(val_map_crl(v, "*", full, &err), 0);
	assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	/* garbage and missing files say so */
	assert_int_equal(val_map_crl(v, "*", "/nonexistent.crl", &err), 0);
	assert_int_equal(val_map_crl(v, "*", "https://x/crl", &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(val_map_crl_spec(v, "nonsense", &err), JPKI_ERR_INVAL);
	unlink(other);
	unlink(full);
	val_free(v);
}

static void test_dirname_forms(void **state)
{
	(void)state;
	jpki_validator *v = NULL;
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	static const char *forms[] = {
	    "/C=JP/O=JPKI-TEST/OU=JPKI for digital signature/OU=CRL "
	    "Distribution Points/OU=Tokyo-to/CN=Kiyose-shi CRLDP",
	    "cn=Kiyose-shi CRLDP, ou=Tokyo-to, OU=CRL Distribution Points, "
	    "OU=JPKI for digital signature, O=JPKI-TEST, C=JP",
	};
	for (size_t i = 0; i < 2; i++) {
		char spec[512];
		snprintf(spec, sizeof(spec), "%s=%s", forms[i], crl_path);
		assert_int_equal(val_new(&v, &err), 0);
		assert_int_equal(val_add_root(v, r_sign, &err), 0);
		if (val_map_crl_spec(v, spec, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(val_cert(v, l_sign, &o, &r, &err), 0);
		assert_fails(&r, 0);
		val_result_clear(&r);
		val_free(v);
	}
}

static void test_cms(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	const char *doc = "本人確認のための申込書 (eKYC)\n";
	size_t len = 0;
	uint8_t *det = fx_cms(l_sign, k_leaf, doc, false, &len);
	assert_int_equal(val_cms(v, det, len, (const uint8_t *)doc, strlen(doc),
				 &o, &r, &err),
			 0);
	assert_fails(&r, 0);
	assert_false(r.attached);
	assert_true(r.has_signing_time);
	assert_true(r.has_basic4);
	assert_string_equal(r.basic4.name, "山田　太郎");
	assert_string_equal(r.basic4.birth, "319801231");
	assert_true(r.has_birth);
	assert_int_equal(r.birth.y, 1980);
	assert_int_equal(r.birth_era, 3);
	assert_int_equal(r.birth_era_year, 55);
	assert_string_equal(r.basic4.sex, "1");
	val_result_clear(&r);
	/* tampered content: the signature reason only */
	char bad[128];
	snprintf(bad, sizeof(bad), "%s", doc);
	bad[0] ^= 1;
	assert_int_equal(val_cms(v, det, len, (const uint8_t *)bad, strlen(bad),
				 &o, &r, &err),
			 0);
	assert_fails(&r, VAL_FAIL_DOC_SIGNATURE);
	assert_true(fx_says(&r, VAL_FAIL_DOC_SIGNATURE, "messageDigest"));
	val_result_clear(&r);
	/* a flipped bit in the signature value (the last bytes) */
	uint8_t *flip = malloc(len);
	memcpy(flip, det, len);
	flip[len - 5] ^= 0x40;
	assert_int_equal(val_cms(v, flip, len, (const uint8_t *)doc,
				 strlen(doc), &o, &r, &err),
			 0);
	assert_fails(&r, VAL_FAIL_DOC_SIGNATURE);
	val_result_clear(&r);
	free(flip);
	/* detached without content: a usage error, not a verdict */
	assert_int_equal(val_cms(v, det, len, NULL, 0, &o, &r, &err),
			 JPKI_ERR_INVAL);
	/* trailing data, truncation, garbage */
	uint8_t *more = malloc(len + 2);
	memcpy(more, det, len);
	more[len] = 0;
	more[len + 1] = 0;
	assert_int_equal(val_cms(v, more, len + 2, (const uint8_t *)doc,
				 strlen(doc), &o, &r, &err),
			 0);
	assert_fails(&r, VAL_FAIL_DOCUMENT);
	val_result_clear(&r);
	assert_int_equal(val_cms(v, det, len / 2, (const uint8_t *)doc,
				 strlen(doc), &o, &r, &err),
			 0);
	assert_fails(&r, VAL_FAIL_DOCUMENT);
	val_result_clear(&r);
	free(more);
	free(det);
	/* attached */
	uint8_t *att = fx_cms(l_sign, k_leaf, doc, true, &len);
	assert_int_equal(val_cms(v, att, len, NULL, 0, &o, &r, &err), 0);
	assert_fails(&r, 0);
	assert_true(r.attached);
	val_result_clear(&r);
	assert_int_equal(val_cms(v, att, len, (const uint8_t *)doc, strlen(doc),
				 &o, &r, &err),
			 JPKI_ERR_INVAL);
	free(att);
	/* the authentication certificate cannot sign documents */
	uint8_t *au = fx_cms(l_auth, k_leaf, doc, true, &len);
	assert_int_equal(val_cms(v, au, len, NULL, 0, &o, &r, &err), 0);
	assert_true(r.fails & VAL_FAIL_KEY_USAGE);
	assert_false(r.has_basic4);
	val_result_clear(&r);
	free(au);
	/* a revoked signer */
	uint8_t *rv = fx_cms(l_revoked, k_leaf, doc, true, &len);
	assert_int_equal(val_cms(v, rv, len, NULL, 0, &o, &r, &err), 0);
	assert_fails(&r, VAL_FAIL_REVOKED);
	assert_true(r.has_basic4); /* still reported */
	val_result_clear(&r);
	free(rv);
	val_free(v);
}

/* Verifying many documents does the per-certificate work once. */
static void test_cache(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	val_result r;
	jpki_err err = {0};
	val_opts o = opts_at(FX_NOW);
	val_stats st;
	size_t len = 0;
	uint8_t *doc = fx_cms(l_sign, k_leaf, "x", true, &len);
	for (int i = 0; i < 50; i++) {
		o.now = fx_at(FX_NOW) + i;
		o.at = o.now;
		assert_int_equal(val_cms(v, doc, len, NULL, 0, &o, &r, &err),
				 0);
		assert_fails(&r, 0);
		assert_int_equal(r.rev_cached, i > 0);
		val_result_clear(&r);
	}
	val_get_stats(v, &st);
	assert_int_equal(st.documents, 50);
	assert_int_equal(st.certs_checked, 1);
	assert_int_equal(st.cert_cache_hits, 49);
	assert_int_equal(st.crl_loads, 1);
	/* past the cache age the CRL is read again */
	assert_int_equal(val_set_limits(v, 0, 60, 0, &err), 0);
	o.now = fx_at(FX_NOW) + 100;
	assert_int_equal(val_cms(v, doc, len, NULL, 0, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	o.now += 61;
	assert_int_equal(val_cms(v, doc, len, NULL, 0, &o, &r, &err), 0);
	assert_false(r.rev_cached);
	val_result_clear(&r);
	val_get_stats(v, &st);
	assert_int_equal(st.crl_loads, 3);
	free(doc);
	val_free(v);
}

/* Documents are parsed without their certificates, which come from a
 * cache (OpenSSL 3.0 is slow to decode them); BER and other shapes go
 * through OpenSSL whole, with the same verdicts. */
static void test_cms_split(void **state)
{
	(void)state;
	jpki_validator *v = vnew();
	jpki_err err = {0};
	val_result r;
	val_opts o = opts_at(FX_NOW);
	size_t len = 0;
	uint8_t *doc = fx_cms(l_sign, k_leaf, "split me", true, &len);
	vali_split sp;
	assert_int_equal(vali_cms_split(doc, len, &sp), 0);
	assert_int_equal(sp.n_certs, 1);
	const unsigned char *p = sp.stripped;
	CMS_ContentInfo *ci =
	    d2i_CMS_ContentInfo(NULL, &p, (long)sp.stripped_len);
	assert_non_null(ci);
	assert_ptr_equal(p, sp.stripped + sp.stripped_len);
	STACK_OF(X509) *none = CMS_get1_certs(ci);
	assert_true(sk_X509_num(none) <= 0); /* NULL: none */
	sk_X509_free(none);
	CMS_SignerInfo *si =
	    sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(ci), 0);
	assert_int_equal(CMS_SignerInfo_cert_cmp(si, l_sign), 0);
	CMS_SignerInfo_set1_signer_cert(si, l_sign);
	assert_int_equal(CMS_SignerInfo_verify(si), 1);
	CMS_ContentInfo_free(ci);
	vali_split_clear(&sp);
	/* trailing bytes are not split (the full parse refuses them) */
	uint8_t *more = malloc(len + 1);
	memcpy(more, doc, len);
	more[len] = 0;
	assert_int_equal(vali_cms_split(more, len + 1, &sp), 1);
	free(more);
	free(doc);

	/* indefinite-length BER, as `openssl cms -stream` writes it */
	BIO *in = BIO_new_mem_buf("streamed", 8), *out = BIO_new(BIO_s_mem());
	ci = CMS_sign(l_sign, k_leaf, NULL, in,
		      CMS_BINARY | CMS_STREAM | CMS_PARTIAL);
	assert_non_null(ci);
	assert_int_equal(
	    i2d_CMS_bio_stream(out, ci, in, CMS_BINARY | CMS_STREAM), 1);
	char *ber = NULL;
	long blen = BIO_get_mem_data(out, &ber);
	assert_int_equal(vali_cms_split((uint8_t *)ber, (size_t)blen, &sp), 1);
	assert_int_equal(
	    val_cms(v, (uint8_t *)ber, (size_t)blen, NULL, 0, &o, &r, &err), 0);
	assert_fails(&r, 0);
	val_result_clear(&r);
	CMS_ContentInfo_free(ci);
	BIO_free(in);
	BIO_free(out);
	val_free(v);
}

static void test_roots_refused(void **state)
{
	(void)state;
	jpki_validator *v = NULL;
	jpki_err err = {0};
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, l_sign, &err), JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "not a root"));
	X509 *x = X509_dup(r_sign);
	assert_true(X509_sign(x, k_auth, EVP_sha256()) > 0);
	assert_int_equal(val_add_root(v, x, &err), JPKI_ERR_INVAL);
	X509_free(x);
	assert_int_equal(val_load_roots(v, "/nonexistent", NULL, &err),
			 JPKI_ERR_NOT_FOUND);
	assert_int_equal(val_root_count(v), 0);
	val_free(NULL);
	val_result_clear(NULL);
	val_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_and_generations),
	    cmocka_unit_test(test_no_aki),
	    cmocka_unit_test(test_revoked_crl),
	    cmocka_unit_test(test_revoked_ocsp),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_other_hierarchy),
	    cmocka_unit_test(test_key_usage),
	    cmocka_unit_test(test_policy_and_profile),
	    cmocka_unit_test(test_every_reason),
	    cmocka_unit_test(test_revocation_unknown),
	    cmocka_unit_test(test_dirname_forms),
	    cmocka_unit_test(test_cms),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_cms_split),
	    cmocka_unit_test(test_roots_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
