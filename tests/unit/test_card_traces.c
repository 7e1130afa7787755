/* Replays the recorded OpenSC 0.23 sessions of
 * tests/data/traces (the six .log files, copied from the project's card
 * interface reference) against the card engine.  The card
 * is issued with the traces' PINs (1234 / ABC123), the traces' CA certificates
 * byte for byte, and an authentication certificate of the traces' length for
 * its own key; then every response must equal the recorded one byte for byte,
 * except the authentication certificate's body and the signatures (other key):
 * those must match in length and status word, and the signatures must verify.
 */
#include "test_card_common.h"

#include <openssl/rsa.h>

#define MAX_LINE 4096
#define MAX_EF 8192

typedef struct ef_img {
	uint8_t data[MAX_EF];
	size_t len;
} ef_img;

static tc_fixture *fx;
static ef_img ef_000a, ef_000b, ef_0002;
static char trace_dir[1024];

static const char *traces[] = {
    "01_opensc-tool_n.log",	      "02_pkcs15-tool_D.log",
    "03_pkcs11_auth_sign_sha256.log", "04_pkcs11_sign_key_sha256.log",
    "05_pkcs11_wrong_pin.log",	      "06_pkcs11_reset_counter.log",
};

static FILE *open_trace(const char *name)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", trace_dir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	return f;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Rebuild EF contents from the READ BINARY answers of trace 02. */
static void collect_efs(void)
{
	char line[MAX_LINE];
	uint8_t cmd[MAX_LINE], rsp[MAX_LINE];
	size_t cn = 0;
	ef_img *cur = NULL;
	FILE *f = open_trace("02_pkcs15-tool_D.log");
	while (fgets(line, sizeof(line), f) != NULL) {
		chomp(line);
		if (line[0] == '>') {
			cn = tc_unhex(line + 2, cmd, sizeof(cmd));
			continue;
		}
		if (line[0] != '<')
			continue;
		size_t rn = tc_unhex(line + 2, rsp, sizeof(rsp));
		if (cn == 7 && cmd[1] == 0xA4 && cmd[2] == 0x02) {
			uint16_t fid = (uint16_t)(cmd[5] << 8 | cmd[6]);
			cur = fid == 0x000A   ? &ef_000a
			      : fid == 0x000B ? &ef_000b
			      : fid == 0x0002 ? &ef_0002
					      : NULL;
		} else if (cn == 5 && cmd[1] == 0xB0 && cur != NULL && rn > 2 &&
			   rsp[rn - 2] == 0x90) {
			size_t off = (size_t)cmd[2] << 8 | cmd[3];
			assert_true(off + rn - 2 <= MAX_EF);
			memcpy(cur->data + off, rsp, rn - 2);
			if (off + rn - 2 > cur->len)
				cur->len = off + rn - 2;
		}
	}
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	const char *src = getenv("JPKI_SRC");
	if (src == NULL)
		fail_msg("JPKI_SRC is not set (ctest sets it)");
	snprintf(trace_dir, sizeof(trace_dir), "%s/tests/data/traces", src);
	collect_efs();
	/* the recorded EFs are whole DER certificates */
	assert_int_equal(ef_000a.len,
			 (size_t)(ef_000a.data[2] << 8 | ef_000a.data[3]) + 4);
	assert_int_equal(ef_000b.len,
			 (size_t)(ef_000b.data[2] << 8 | ef_000b.data[3]) + 4);
	assert_int_equal(ef_0002.len, ef_000b.len);
	assert_memory_equal(ef_0002.data, ef_000b.data, ef_000b.len);
	fx = tc_issue(ef_000a.len, ef_000b.data, ef_000b.len);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tc_fixture_free(fx);
	return 0;
}

static void check_sig(EVP_PKEY *pub, const uint8_t *tbs, size_t tn,
		      const uint8_t *sig, size_t sn)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	assert_non_null(ctx);
	assert_true(EVP_PKEY_verify_init(ctx) == 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, sn, tbs, tn), 1);
	EVP_PKEY_CTX_free(ctx);
}

static void replay(jpki_card *card, const char *name, int *exchanges)
{
	char line[MAX_LINE], got_hex[3 * MAX_LINE];
	uint8_t cmd[MAX_LINE], want[MAX_LINE], resp[JPKI_CARD_RESP_MAX];
	size_t cn = 0, rlen = 0;
	uint16_t cur_ef = 0;
	int lineno = 0;
	FILE *f = open_trace(name);

	card_power(card, JPKI_CARD_POWER_ON);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		chomp(line);
		if (strncmp(line, "# ctrl ", 7) == 0) {
			card_power(card, (jpki_card_power)(line[8] - '0'));
			continue;
		}
		if (line[0] == '>') {
			cn = tc_unhex(line + 2, cmd, sizeof(cmd));
			assert_int_equal(
			    card_apdu(card, cmd, cn, resp, sizeof(resp), &rlen),
			    0);
			if (cmd[1] == 0xA4 && cmd[2] == 0x02 && cn == 7)
				cur_ef = (uint16_t)(cmd[5] << 8 | cmd[6]);
			else if (cmd[1] == 0xA4)
				cur_ef = 0;
			continue;
		}
		if (line[0] != '<')
			continue;
		size_t wn = tc_unhex(line + 2, want, sizeof(want));
		tc_hex(resp, rlen, got_hex, sizeof(got_hex));
		(*exchanges)++;
		bool sign = cmd[0] == 0x80 && cmd[1] == 0x2A;
		bool auth_body = cmd[1] == 0xB0 && cur_ef == 0x000A &&
				 !(cmd[2] == 0 && cmd[3] == 0 && cmd[4] == 4);
		if (sign || auth_body) {
			if (rlen != wn || resp[rlen - 2] != want[wn - 2] ||
			    resp[rlen - 1] != want[wn - 1])
				fail_msg("%s:%d: %zu bytes %02X%02X, recorded "
					 "%zu bytes %02X%02X",
					 name, lineno, rlen, resp[rlen - 2],
					 resp[rlen - 1], wn, want[wn - 2],
					 want[wn - 1]);
			if (sign)
				check_sig(cur_ef == 0x0017 ? fx->auth_pub
							   : fx->sign_pub,
					  cmd + 5, cmd[4], resp, rlen - 2);
			else
				assert_memory_equal(
				    resp,
				    fx->auth_cert +
					((size_t)cmd[2] << 8 | cmd[3]),
				    rlen - 2);
			continue;
		}
		if (rlen != wn || memcmp(resp, want, wn) != 0)
			fail_msg("%s:%d: %s", name, lineno, got_hex);
	}
	fclose(f);
}

static void test_replay_all(void **state)
{
	(void)state;
	assert_non_null(fx);
	jpki_card *card = tc_card(fx);
	int n = 0;
	/* one card across the sessions, as in the recording: trace 06
	 * starts with the counter trace 05 left at 2 */
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++)
		replay(card, traces[i], &n);
	assert_true(n > 300);
	card_free(card);
}

/* The same with the switch "clear PIN state on any AP select": OpenSC
 * 0.23 must still see identical answers. */
static void test_replay_clear_on_reselect(void **state)
{
	(void)state;
	assert_non_null(fx);
	jpki_card *card = tc_card(fx);
	int n = 0;
	assert_int_equal(
	    card_set_options(card, JPKI_CARD_OPT_CLEAR_ON_RESELECT, NULL), 0);
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++)
		replay(card, traces[i], &n);
	card_free(card);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_all),
	    cmocka_unit_test(test_replay_clear_on_reselect),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
