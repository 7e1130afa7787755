/* XML signatures (src/xmlsig/xmlsig.c): a JPKI signature certificate
 * under a test root signs enveloped and application documents which
 * verify (signature, References, chain, CRL, basic-4); every alteration,
 * profile breach and DTD is refused with its own reason. */
#include "test_validation_common.h"

#include "openjpki/xmlsig.h"

static EVP_PKEY *k_root, *k_leaf, *k_other;
static X509 *r_sign, *l_sign;
static char crl_path[64], dp_text[512];

static const char doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<申請書>\n  <申請内容>転居届</申請内容>\n</申請書>\n";
static const char shinsei[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<申請書>申請</申請書>\n";
static const char pdf[] = "%PDF-1.4\n添付書類\n";

static int setup(void **state)
{
	(void)state;
	jpki_err err = {0};
	if (xmlsig_init(&err) != 0)
		return -1;
	k_root = EVP_RSA_gen(2048);
	k_leaf = EVP_RSA_gen(2048);
	k_other = EVP_RSA_gen(2048);
	if (!k_root || !k_leaf || !k_other)
		return -1;
	r_sign = fx_root(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, k_root, 1,
			 "2025-01-05T01:02:03Z");
	l_sign = fx_sign_leaf(JPKI_PROFILE_TEST, r_sign, k_root, k_leaf, 0x10);
	X509_CRL *c =
	    fx_crl(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, r_sign, k_root, &fx_site,
		   NULL, 0, JPKI_REASON_UNSPECIFIED, "2025-02-15T03:00:00Z",
		   "2025-03-01T00:00:00Z", "2025-03-03T00:00:00Z");
	fx_crl_file(c, crl_path);
	X509_CRL_free(c);
	fx_dp_text(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, &fx_site, dp_text,
		   sizeof(dp_text));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(crl_path);
	X509_free(r_sign);
	X509_free(l_sign);
	EVP_PKEY_free(k_root);
	EVP_PKEY_free(k_leaf);
	EVP_PKEY_free(k_other);
	return 0;
}

static jpki_validator *vnew(void)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	assert_int_equal(val_new(&v, &err), 0);
	assert_int_equal(val_add_root(v, r_sign, &err), 0);
	if (val_map_crl(v, dp_text, crl_path, &err) != 0)
		fail_msg("map: %s", err.msg);
	return v;
}

/* Verify at FX_NOW; the result is the caller's to clear. */
static void verify(const char *xml, size_t len, const xmlsig_part *parts,
		   size_t n, xmlsig_result *r)
{
	jpki_validator *v = vnew();
	val_opts o = {fx_at(FX_NOW), fx_at(FX_NOW), VAL_PURPOSE_SIGN};
	jpki_err err = {0};
	if (xmlsig_verify(v, (const uint8_t *)xml, len, parts, n, &o, r,
			  &err) != 0)
		fail_msg("verify: %s", err.msg);
	val_free(v);
}

static char *sign_env(const char *in, size_t *len)
{
	uint8_t *out = NULL;
	jpki_err err = {0};
	if (xmlsig_sign_enveloped((const uint8_t *)in, strlen(in), k_leaf,
				  l_sign, &out, len, &err) != 0)
		fail_msg("sign: %s", err.msg);
	char *s = malloc(*len + 1);
	assert_non_null(s);
	memcpy(s, out, *len);
	s[*len] = '\0';
	free(out);
	return s;
}

/* Replace the first `from` by `to` in s (a new string). */
static char *edit(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to);
	char *o = malloc(strlen(s) - fl + tl + 1);
	assert_non_null(o);
	memcpy(o, s, a);
	memcpy(o + a, to, tl);
	memcpy(o + a + tl, p + fl, strlen(p + fl) + 1);
	return o;
}

static void test_part_names(void **state)
{
	(void)state;
	const char *good[] = {"shinsei.xml", "a", "950A_01-2.pdf", "x.y.z"};
	const char *bad[] = {"",       ".hidden",    "-x",     "a/b",
			     "../etc", "a b",	     "file:x", "kousei.xml",
			     "%2e%2e", "申請書.xml", "a\\b",   "#id"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(xmlsig_part_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(xmlsig_part_name_ok(bad[i]));
	char lng[XMLSIG_NAME_MAX + 2];
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_false(xmlsig_part_name_ok(lng));
}

static void test_enveloped(void **state)
{
	(void)state;
	size_t len = 0;
	char *s = sign_env(doc, &len);
	xmlsig_result r;
	verify(s, len, NULL, 0, &r);
	assert_fails(&r.val, 0);
	assert_true(r.signature_ok);
	assert_false(r.application);
	assert_int_equal(r.n_refs, 1);
	assert_string_equal(r.refs[0].uri, "");
	assert_int_equal(r.refs[0].status, XMLSIG_REF_OK);
	assert_true(r.val.has_basic4);
	assert_int_equal(r.val.rev, VAL_REV_GOOD);
	assert_int_equal(X509_cmp(r.val.cert, l_sign), 0);
	xmlsig_result_clear(&r);

	/* altered content, altered signature */
	char *t = edit(s, "転居届", "転出届");
	verify(t, strlen(t), NULL, 0, &r);
	assert_fails(&r.val, VAL_FAIL_DOC_SIGNATURE);
	assert_true(fx_says(&r.val, VAL_FAIL_DOC_SIGNATURE, "altered"));
	assert_int_equal(r.refs[0].status, XMLSIG_REF_BAD);
	xmlsig_result_clear(&r);
	free(t);
	t = edit(s, "<ds:SignatureValue>", "<ds:SignatureValue>AAAA");
	verify(t, strlen(t), NULL, 0, &r);
	assert_true(r.val.fails & (VAL_FAIL_DOC_SIGNATURE | VAL_FAIL_DOCUMENT));
	assert_false(r.signature_ok);
	xmlsig_result_clear(&r);
	free(t);
	/* already signed */
	uint8_t *out = NULL;
	jpki_err err = {0};
	assert_int_equal(xmlsig_sign_enveloped((const uint8_t *)s, len, k_leaf,
					       l_sign, &out, &len, &err),
			 JPKI_ERR_INVAL);
	free(s);
}

static void test_application(void **state)
{
	(void)state;
	xmlsig_part parts[2] = {
	    {"shinsei.xml", (const uint8_t *)shinsei, sizeof(shinsei) - 1,
	     false},
	    {"inin.pdf", (const uint8_t *)pdf, sizeof(pdf) - 1, true}};
	uint8_t *out = NULL;
	size_t len = 0;
	jpki_err err = {0};
	xmlsig_result r;
	if (xmlsig_sign_application(parts, 2, k_leaf, l_sign, &out, &len,
				    &err) != 0)
		fail_msg("sign: %s", err.msg);
	char *s = malloc(len + 1);
	memcpy(s, out, len);
	s[len] = '\0';
	free(out);

	char *names[XMLSIG_PARTS_MAX] = {0};
	bool att[XMLSIG_PARTS_MAX];
	size_t n = 0;
	assert_int_equal(xmlsig_application_parts((const uint8_t *)s, len,
						  names, att, &n, &err),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "shinsei.xml");
	assert_false(att[0]);
	assert_string_equal(names[1], "inin.pdf");
	assert_true(att[1]);
	free(names[0]);
	free(names[1]);

	verify(s, len, parts, 2, &r);
	assert_fails(&r.val, 0);
	assert_true(r.application);
	assert_int_equal(r.n_refs, 3);
	assert_string_equal(r.refs[2].uri, "inin.pdf");
	assert_true(r.refs[2].attachment);
	xmlsig_result_clear(&r);

	/* an altered 添付書類 is named */
	static const char pdf2[] = "%PDF-1.4\n添付書類!\n";
	xmlsig_part alt[2] = {parts[0], parts[1]};
	alt[1].data = (const uint8_t *)pdf2;
	alt[1].len = sizeof(pdf2) - 1;
	verify(s, len, alt, 2, &r);
	assert_fails(&r.val, VAL_FAIL_DOC_SIGNATURE);
	assert_true(fx_says(&r.val, VAL_FAIL_DOC_SIGNATURE, "inin.pdf"));
	assert_int_equal(r.refs[2].status, XMLSIG_REF_BAD);
	xmlsig_result_clear(&r);
	/* a missing part */
	verify(s, len, parts, 1, &r);
	assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "missing"));
	xmlsig_result_clear(&r);
	/* a Reference outside the listing */
	char *t = edit(s, "<添付書類ファイル名>inin.pdf",
		       "<添付書類ファイル名>other.pdf");
	xmlsig_part other[2] = {parts[0], parts[1]};
	other[1].name = "other.pdf";
	verify(t, strlen(t), other, 2, &r);
	assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "not a part listed"));
	xmlsig_result_clear(&r);
	free(t);
	free(s);

	/* one 申請書, first; names checked */
	parts[0].attachment = true;
	assert_int_equal(
	    xmlsig_sign_application(parts, 2, k_leaf, l_sign, &out, &len, &err),
	    JPKI_ERR_INVAL);
	parts[0].attachment = false;
	parts[1].name = "../x.pdf";
	assert_int_equal(
	    xmlsig_sign_application(parts, 2, k_leaf, l_sign, &out, &len, &err),
	    JPKI_ERR_INVAL);
}

static void test_profile(void **state)
{
	(void)state;
	size_t len = 0;
	char *s = sign_env(doc, &len);
	static const struct {
		const char *from, *to, *says;
	} cases[] = {
	    {"xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1", "RSA-SHA256"},
	    {"2001/10/xml-exc-c14n#\"/>\n<ds:SignatureMethod",
	     "2001/10/xml-exc-c14n#WithComments\"/>\n<ds:SignatureMethod",
	     "exclusive C14N"},
	    {"xmlenc#sha256", "xmldsig#sha1", "SHA-256"},
	    {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"#x\">", "refused"},
	    {"<ds:Reference URI=\"\">",
	     "<ds:Reference URI=\"http://127.0.0.1/x\">", "refused"},
	    {"<ds:Reference URI=\"\">", "<ds:Reference>", "without URI"},
	    {"<ds:Transform "
	     "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-"
	     "signature\"/>",
	     "", "enveloped-signature and exclusive C14N"},
	    {"<ds:KeyInfo>", "<ds:Object/><ds:KeyInfo>", "Object"},
	    {"<ds:X509Certificate>", "<ds:X509Certificate>AAAA", "base64 DER"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlsig_result r;
		char *t = edit(s, cases[i].from, cases[i].to);
		verify(t, strlen(t), NULL, 0, &r);
		if (!fx_says(&r.val, VAL_FAIL_DOCUMENT, cases[i].says)) {
			fx_dump(&r.val);
			fail_msg("case %zu: no \"%s\"", i, cases[i].says);
		}
		assert_false(r.signature_ok);
		xmlsig_result_clear(&r);
		free(t);
	}
	free(s);
}

static void test_dtd_refused(void **state)
{
	(void)state;
	static const char *docs[] = {
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]>\n<a>&x;</a>",
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE a SYSTEM "
	    "\"http://127.0.0.1:9/a.dtd\">\n<a/>",
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY a "
	    "\"aaaa\"><!ENTITY "
	    "b \"&a;&a;&a;&a;\">]>\n<a>&b;</a>",
	};
	uint8_t *out = NULL;
	size_t len = 0;
	jpki_err err = {0};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		xmlsig_result r;
		assert_int_equal(xmlsig_sign_enveloped(
				     (const uint8_t *)docs[i], strlen(docs[i]),
				     k_leaf, l_sign, &out, &len, &err),
				 JPKI_ERR_PARSE);
		assert_non_null(strstr(err.msg, "DOCTYPE"));
		verify(docs[i], strlen(docs[i]), NULL, 0, &r);
		assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "DOCTYPE"));
		xmlsig_result_clear(&r);
	}
	/* a 申請書 part with a DTD */
	static const char bad[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE a SYSTEM \"x.dtd\"><a/>";
	xmlsig_part p = {"shinsei.xml", (const uint8_t *)bad, sizeof(bad) - 1,
			 false};
	assert_int_equal(
	    xmlsig_sign_application(&p, 1, k_leaf, l_sign, &out, &len, &err),
	    JPKI_ERR_PARSE);
	/* not XML, empty, another encoding */
	xmlsig_result r;
	verify("<a", 2, NULL, 0, &r);
	assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "well-formed"));
	xmlsig_result_clear(&r);
	verify("", 0, NULL, 0, &r);
	assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "bytes"));
	xmlsig_result_clear(&r);
	static const char latin[] =
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>";
	verify(latin, sizeof(latin) - 1, NULL, 0, &r);
	assert_true(fx_says(&r.val, VAL_FAIL_DOCUMENT, "UTF-8 only"));
	xmlsig_result_clear(&r);
}

static void test_wrong_key(void **state)
{
	(void)state;
	uint8_t *out = NULL;
	size_t len = 0;
	jpki_err err = {0};
	/* the signature is checked with the certificate before it leaves */
	assert_int_equal(xmlsig_sign_enveloped((const uint8_t *)doc,
					       strlen(doc), k_other, l_sign,
					       &out, &len, &err),
			 JPKI_ERR_CRYPTO);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_part_names),
	    cmocka_unit_test(test_enveloped),
	    cmocka_unit_test(test_application),
	    cmocka_unit_test(test_profile),
	    cmocka_unit_test(test_dtd_refused),
	    cmocka_unit_test(test_wrong_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
