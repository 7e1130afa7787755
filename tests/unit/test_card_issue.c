/* The whole life of a card through the host APIs and the in-process
 * transport, as the counter and a citizen's software use it: blank card
 * -> terminal authentication -> on-card keys -> certificates from a
 * throw-away CA -> PINs -> sign with both keys -> verify the signatures
 * with the certificates' public keys.  Then a holder under 15 (no
 * signature certificate), PIN change, and key renewal. */
#include "test_card_common.h"

#include <openssl/sha.h>
#include <unistd.h>

#include "openjpki/transport.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-issue-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[512];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static X509 *parse(const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	assert_non_null(x);
	return x;
}

static void sign_and_check(const jpki_link *l, jpki_card_key key,
			   const uint8_t *cert_der, size_t cert_len)
{
	static const char msg[] = "確定申告 2025";
	uint8_t hash[32], di[JPKI_DIGESTINFO_SHA256_LEN], sig[256];
	jpki_err err = {0};
	SHA256((const unsigned char *)msg, sizeof(msg) - 1, hash);
	card_digestinfo_sha256(hash, di);
	if (card_client_sign(l, key, di, sizeof(di), sig, &err) != 0)
		fail_msg("sign: %s", err.msg);
	X509 *x = parse(cert_der, cert_len);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_true(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
					 X509_get0_pubkey(x)) == 1);
	assert_int_equal(EVP_DigestVerify(md, sig, sizeof(sig),
					  (const unsigned char *)msg,
					  sizeof(msg) - 1),
			 1);
	EVP_MD_CTX_free(md);
	X509_free(x);
}

static void test_issue_and_use(void **state)
{
	(void)state;
	char path[512];
	jpki_card *card = NULL;
	jpki_inproc *t = NULL;
	jpki_err err = {0};
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	EVP_PKEY *ca_key = NULL, *auth_pub = NULL, *sign_pub = NULL, *pk = NULL;
	X509 *ca = NULL;
	uint8_t *auth_der, *sign_der, *ca_der, *got = NULL;
	size_t auth_len, sign_len, ca_len, got_len = 0;
	int left = -1;

	/* the card factory: a blank card and its terminal key */
	snprintf(path, sizeof(path), "%s/citizen.img", dir);
	assert_int_equal(card_create(NULL, &card, tkey, &err), 0);
	assert_int_equal(card_save(card, path, &err), 0);
	card_free(card);

	/* the counter */
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	jpki_link l = transport_inproc_link(t);
	assert_int_equal(card_term_generate_key(&l, JPKI_KEY_AUTH, &pk, &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_SIGN, "ABC123", &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_SIGN, "ABCDEF", &err),
			 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(card_term_auth(&l, tkey, &err), 0);
	assert_int_equal(
	    card_term_generate_key(&l, JPKI_KEY_AUTH, &auth_pub, &err), 0);
	assert_int_equal(
	    card_term_generate_key(&l, JPKI_KEY_SIGN, &sign_pub, &err), 0);
	assert_int_not_equal(EVP_PKEY_eq(auth_pub, sign_pub), 1);
	tc_make_ca("openjpki issue test CA", &ca_key, &ca);
	auth_der = tc_make_leaf(auth_pub, ca_key, ca, "auth", 0, &auth_len);
	sign_der = tc_make_leaf(sign_pub, ca_key, ca, "sign", 0, &sign_len);
	ca_der = tc_der(ca, &ca_len);
	if (card_term_write_cert(&l, JPKI_CCERT_AUTH, auth_der, auth_len,
				 &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_AUTH_CA, ca_der, ca_len,
				 &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_SIGN, sign_der, sign_len,
				 &err) != 0 ||
	    card_term_write_cert(&l, JPKI_CCERT_SIGN_CA, ca_der, ca_len,
				 &err) != 0 ||
	    card_term_write_presence(&l, true, true, &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_AUTH, "2468", &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_SIGN, "Pass2025", &err) != 0 ||
	    card_term_set_pin(&l, JPKI_CPIN_CARDINFO, "2468", &err) != 0)
		fail_msg("issue: %s", err.msg);
	transport_inproc_close(t);

	/* the citizen, another process later */
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	l = transport_inproc_link(t);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_AUTH, &got, &got_len, &err),
	    0);
	assert_int_equal(got_len, auth_len);
	assert_memory_equal(got, auth_der, auth_len);
	free(got);
	/* the chain checks out with the CA read from the card */
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_AUTH_CA, &got, &got_len, &err),
	    0);
	X509 *rca = parse(got, got_len), *leaf = parse(auth_der, auth_len);
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(rca)), 1);
	X509_free(rca);
	X509_free(leaf);
	free(got);
	got = NULL;
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_SIGN, &got, &got_len, &err),
	    JPKI_ERR_AUTH);
	assert_null(got);
	/* auth key */
	uint8_t di[JPKI_DIGESTINFO_SHA256_LEN] = {0}, sig[256];
	assert_int_equal(
	    card_client_sign(&l, JPKI_KEY_AUTH, di, sizeof(di), sig, &err),
	    JPKI_ERR_AUTH);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "1357", &left, &err),
	    JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 2);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "2468", &left, &err), 0);
	assert_int_equal(left, 3);
	sign_and_check(&l, JPKI_KEY_AUTH, auth_der, auth_len);
	/* sign key, password typed in lower case is refused as sent */
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_SIGN, "pass2025", &left, &err),
	    JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 4);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_SIGN, "PASS2025", &left, &err), 0);
	assert_int_equal(left, 5);
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_SIGN, &got, &got_len, &err),
	    0);
	assert_memory_equal(got, sign_der, sign_len);
	free(got);
	sign_and_check(&l, JPKI_KEY_SIGN, sign_der, sign_len);
	/* PIN change by the citizen; the new sign PIN is normalised */
	assert_int_equal(card_client_change_pin(&l, JPKI_CPIN_SIGN, "PASS2025",
						"newpass99", &err),
			 0);
	transport_inproc_power(t, JPKI_CARD_POWER_OFF);
	transport_inproc_power(t, JPKI_CARD_POWER_ON);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_SIGN, "NEWPASS99", &left, &err),
	    0);
	assert_int_equal(
	    card_client_change_pin(&l, JPKI_CPIN_AUTH, "2468", "12345", &err),
	    JPKI_ERR_PIN_FORMAT);
	/* the blocked path through the client */
	for (int i = 2; i >= 1; i--) {
		assert_int_equal(
		    card_client_verify(&l, JPKI_CPIN_AUTH, "0000", &left, &err),
		    JPKI_ERR_PIN_WRONG);
		assert_int_equal(left, i);
	}
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "0000", &left, &err),
	    JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "2468", &left, &err),
	    JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(card_client_retries(&l, JPKI_CPIN_AUTH, &left, &err),
			 0);
	assert_int_equal(left, 0);
	transport_inproc_close(t);

	/* renewal at the counter: a new auth key erases the old cert */
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	l = transport_inproc_link(t);
	assert_int_equal(card_term_auth(&l, tkey, &err), 0);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "2468", &err),
			 0);
	assert_int_equal(card_term_generate_key(&l, JPKI_KEY_AUTH, &pk, &err),
			 0);
	assert_int_not_equal(EVP_PKEY_eq(pk, auth_pub), 1);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	got = NULL;
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_AUTH, &got, &got_len, &err),
	    JPKI_ERR_NOT_FOUND);
	uint8_t *pres = NULL;
	size_t pres_len = 0;
	assert_int_equal(
	    card_client_read_ef(&l, 0x0008, 16, &pres, &pres_len, &err), 0);
	assert_int_equal(pres_len, 3);
	assert_memory_equal(pres, "\x8F\x00\x00", 3);
	free(pres);
	/* the old certificate does not fit the new key */
	assert_int_equal(
	    card_term_write_cert(&l, JPKI_CCERT_AUTH, auth_der, auth_len, &err),
	    JPKI_ERR_KEY);
	transport_inproc_close(t);

	EVP_PKEY_free(pk);
	EVP_PKEY_free(auth_pub);
	EVP_PKEY_free(sign_pub);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	free(auth_der);
	free(sign_der);
	free(ca_der);
}

/* A holder under 15: authentication certificate only (rules_eligible). */
static void test_under_15(void **state)
{
	(void)state;
	char path[512];
	jpki_card *card = NULL;
	jpki_inproc *t = NULL;
	jpki_err err = {0};
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	EVP_PKEY *ca_key = NULL, *auth_pub = NULL;
	X509 *ca = NULL;
	uint8_t *auth_der, *ca_der, *got = NULL;
	size_t auth_len, ca_len, got_len;
	int left;

	snprintf(path, sizeof(path), "%s/child.img", dir);
	assert_int_equal(card_create(NULL, &card, tkey, &err), 0);
	assert_int_equal(card_save(card, path, &err), 0);
	card_free(card);
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	jpki_link l = transport_inproc_link(t);
	assert_int_equal(card_term_auth(&l, tkey, &err), 0);
	assert_int_equal(
	    card_term_generate_key(&l, JPKI_KEY_AUTH, &auth_pub, &err), 0);
	tc_make_ca("openjpki under-15 CA", &ca_key, &ca);
	auth_der = tc_make_leaf(auth_pub, ca_key, ca, "child", 0, &auth_len);
	ca_der = tc_der(ca, &ca_len);
	jpki_card_basic4 b4 = {"鈴木 花子", "大阪府大阪市北区中之島1-3-20",
			       "20150615", '2'};
	assert_int_equal(
	    card_term_write_cert(&l, JPKI_CCERT_AUTH, auth_der, auth_len, &err),
	    0);
	assert_int_equal(
	    card_term_write_cert(&l, JPKI_CCERT_AUTH_CA, ca_der, ca_len, &err),
	    0);
	assert_int_equal(card_term_write_presence(&l, false, true, &err), 0);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "1111", &err),
			 0);
	assert_int_equal(
	    card_term_set_pin(&l, JPKI_CPIN_CARDINFO, "2222", &err), 0);
	assert_int_equal(
	    card_term_write_cardinfo(&l, "000000000019", &b4, &err), 0);
	assert_int_equal(card_term_write_cardinfo(&l, "12345", NULL, &err),
			 JPKI_ERR_INVAL);
	assert_int_equal(card_term_write_cardinfo(&l, NULL, NULL, &err),
			 JPKI_ERR_INVAL);
	transport_inproc_close(t);

	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	l = transport_inproc_link(t);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_SIGN, &got, &got_len, &err),
	    JPKI_ERR_NOT_FOUND);
	assert_int_equal(
	    card_client_read_cert(&l, JPKI_CCERT_SIGN_CA, &got, &got_len, &err),
	    JPKI_ERR_NOT_FOUND);
	/* no sign PIN was set: the query reports it unusable */
	assert_int_equal(card_client_retries(&l, JPKI_CPIN_SIGN, &left, &err),
			 0);
	assert_int_equal(left, 0);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "1111", &left, &err), 0);
	sign_and_check(&l, JPKI_KEY_AUTH, auth_der, auth_len);
	/* the 券面事項入力補助AP */
	char num[13], birth[9], sex, *name = NULL, *addr = NULL;
	assert_int_equal(card_client_select(&l, JPKI_AP_CARDINFO, &err), 0);
	assert_int_equal(card_client_read_mynumber(&l, num, &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_CARDINFO, "2222", &left, &err), 0);
	assert_int_equal(card_client_read_mynumber(&l, num, &err), 0);
	assert_string_equal(num, "000000000019");
	assert_int_equal(
	    card_client_read_basic4(&l, &name, &addr, birth, &sex, &err), 0);
	assert_string_equal(name, "鈴木 花子");
	assert_string_equal(addr, "大阪府大阪市北区中之島1-3-20");
	assert_string_equal(birth, "20150615");
	assert_int_equal(sex, '2');
	free(name);
	free(addr);
	transport_inproc_close(t);
	EVP_PKEY_free(auth_pub);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	free(auth_der);
	free(ca_der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_and_use),
	    cmocka_unit_test(test_under_15),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
