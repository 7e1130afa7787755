/* The APDU engine, byte by byte: the conformance list of
 * card-interface.md §9 (items 1-7 and 9) and one test per status-word
 * path of §4. */
#include "test_card_common.h"

#include <openssl/rsa.h>
#include <openssl/sha.h>

static tc_fixture *fx;

#define SEL_JPKI "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
#define SEL_INFO "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
#define SEL(fid) "00 A4 02 0C 02 " fid
#define VERIFY_EMPTY "00 20 00 80"
#define VERIFY_1234 "00 20 00 80 04 31 32 33 34"
#define VERIFY_0000 "00 20 00 80 04 30 30 30 30"
#define VERIFY_ABC123 "00 20 00 80 06 41 42 43 31 32 33"
#define VERIFY_5678 "00 20 00 80 04 35 36 37 38"
/* 80 2A 00 80 33 <DigestInfo(SHA-256("abc"))> 00 */
#define SIGN_ABC                                                               \
	"80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 "      \
	"00 04 20 BA 78 16 BF 8F 01 CF EA 41 41 40 DE 5D AE 22 23 B0 03 "      \
	"61 A3 96 17 7A 9C B4 10 FF 61 F2 00 15 AD 00"

static int setup(void **state)
{
	(void)state;
	fx = tc_issue(0, NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tc_fixture_free(fx);
	return 0;
}

/* §9.1: every probe of OpenSC 0.23 fails; the JPKI SELECT succeeds. */
static void test_probe_list(void **state)
{
	static const char *probes[] = {
	    "00 A4 04 00 07 62 76 01 FF 00 00 00",
	    "00 A4 04 00 06 A0 00 00 00 01 01",
	    "00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00",
	    "00 A4 04 0C 0F D2 33 00 00 00 45 73 74 45 49 44 20 76 33 35",
	    "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00",
	    "00 A4 04 0C 07 A0 00 00 01 16 DB 00 00",
	    "00 A4 04 0C 07 A0 00 00 00 79 10 00 00",
	    "00 A4 04 0C 07 A0 00 00 00 79 01 0F 00",
	    "00 A4 04 00 0C F2 76 A2 88 BC FB A6 9D 34 F3 10 01",
	    "00 A4 04 00 09 A0 00 00 03 97 42 54 46 59 00",
	    "00 A4 04 00 06 D2 76 00 01 24 01 00",
	    /* 券面事項確認AP and 住基AP are not on this card */
	    "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02",
	    "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00",
	};
	(void)state;
	jpki_card *card = tc_card(fx);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		tc_expect(card, probes[i], "6A 82");
	tc_expect(card, "00 CA DF 30 05", "6D 00");
	tc_expect(card, "00 CB 3F FF 03 5C 01 7E 08", "6D 00");
	tc_expect(card, SEL_JPKI, "90 00");
	card_free(card);
}

/* §9.2 */
static void test_empty_verify(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C3");
	tc_expect(card, VERIFY_0000, "63 C2");
	tc_expect(card, VERIFY_EMPTY, "63 C2");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C3");
	/* the sign PIN: 5 tries */
	tc_expect(card, SEL("00 1B"), "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C5");
	card_free(card);
}

/* §9.3 and §4.3: blocked PIN */
static void test_blocked(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_0000, "63 C2");
	tc_expect(card, VERIFY_0000, "63 C1");
	tc_expect(card, VERIFY_0000, "63 C0");
	tc_expect(card, VERIFY_1234, "69 84");
	tc_expect(card, VERIFY_EMPTY, "63 C0");
	tc_expect(card, "00 24 01 80 04 31 31 31 31", "69 84");
	/* the switch for cards that answer 69 84 to the query */
	assert_int_equal(
	    card_set_options(card, JPKI_CARD_OPT_BLOCKED_EMPTY_6984, NULL), 0);
	tc_expect(card, VERIFY_EMPTY, "69 84");
	/* the sign PIN is independent, and blocks after 5 */
	tc_expect(card, SEL("00 1B"), "90 00");
	for (int i = 4; i >= 0; i--) {
		char want[8];
		snprintf(want, sizeof(want), "63 C%d", i);
		tc_expect(card, "00 20 00 80 06 41 41 41 31 31 31", want);
	}
	tc_expect(card, VERIFY_ABC123, "69 84");
	/* the counter re-issues the PIN (初期化): usable again */
	jpki_link l = tc_link(card);
	jpki_err err = {0};
	assert_int_equal(card_term_auth(&l, fx->tkey, &err), 0);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "4321", &err),
			 0);
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C3");
	tc_expect(card, "00 20 00 80 04 34 33 32 31", "90 00");
	card_free(card);
}

/* §9.4: certificate EF, header read, chunks, EOF */
static void test_read_cert(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX], buf[JPKI_CARD_CERT_MAX];
	char cmd[64], want[64];
	size_t n = fx->auth_cert_len, off = 0, rlen;

	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 0A"), "90 00");
	snprintf(want, sizeof(want), "30 82 %02X %02X 90 00",
		 (unsigned)(n - 4) >> 8, (unsigned)(n - 4) & 0xFF);
	tc_expect(card, "00 B0 00 00 04", want);
	while (off < n) {
		size_t want_n = n - off > 256 ? 256 : n - off;
		snprintf(cmd, sizeof(cmd), "00 B0 %02X %02X %02X",
			 (unsigned)(off >> 8), (unsigned)(off & 0xFF),
			 (unsigned)(want_n & 0xFF));
		rlen = tc_send(card, cmd, resp, sizeof(resp));
		assert_int_equal(rlen, want_n + 2);
		assert_int_equal(resp[rlen - 2], 0x90);
		memcpy(buf + off, resp, want_n);
		off += want_n;
	}
	assert_memory_equal(buf, fx->auth_cert, n);
	/* read at offset = EF size, and beyond */
	snprintf(cmd, sizeof(cmd), "00 B0 %02X %02X 00", (unsigned)(n >> 8),
		 (unsigned)(n & 0xFF));
	tc_expect(card, cmd, "6B 00");
	tc_expect(card, "00 B0 7F FF 01", "6B 00");
	/* Le beyond the end: the rest with 90 00 */
	snprintf(cmd, sizeof(cmd), "00 B0 %02X %02X 00",
		 (unsigned)((n - 3) >> 8), (unsigned)((n - 3) & 0xFF));
	rlen = tc_send(card, cmd, resp, sizeof(resp));
	assert_int_equal(rlen, 5);
	/* extended Le: the whole certificate in one response */
	rlen = tc_send(card, "00 B0 00 00 00 00 00", resp, sizeof(resp));
	assert_int_equal(rlen, n + 2);
	assert_memory_equal(resp, fx->auth_cert, n);
	/* short EF identifier form: P1 = 80 | 0B */
	rlen = tc_send(card, "00 B0 8B 00 00 00 00", resp, sizeof(resp));
	assert_int_equal(rlen, fx->ca_cert_len + 2);
	assert_memory_equal(resp, fx->ca_cert, fx->ca_cert_len);
	tc_expect(card, "00 B0 E0 00 04", "6A 86");
	tc_expect(card, "00 B0 9F 00 04", "6A 82");
	card_free(card);
}

/* §9.5: EF 0001 needs the sign PIN */
static void test_sign_cert_guard(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX];
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 01"), "90 00");
	tc_expect(card, "00 B0 00 00 04", "69 82");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00"); /* the wrong PIN for 0001 */
	tc_expect(card, SEL("00 01"), "90 00");
	tc_expect(card, "00 B0 00 00 04", "69 82");
	tc_expect(card, SEL("00 1B"), "90 00");
	tc_expect(card, VERIFY_ABC123, "90 00");
	tc_expect(card, SEL("00 01"), "90 00");
	size_t rlen = tc_send(card, "00 B0 00 00 00 00 00", resp, sizeof(resp));
	assert_int_equal(rlen, fx->sign_cert_len + 2);
	assert_memory_equal(resp, fx->sign_cert, fx->sign_cert_len);
	card_free(card);
}

static void verify_sig(EVP_PKEY *pub, const uint8_t *sig, size_t n)
{
	/* the same signature as `openssl dgst -sha256 -verify` checks */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_true(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) ==
		    1);
	assert_int_equal(
	    EVP_DigestVerify(md, sig, n, (const unsigned char *)"abc", 3), 1);
	EVP_MD_CTX_free(md);
}

/* §9.6: signature with the auth key, and with the sign key */
static void test_sign(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX];
	size_t rlen;

	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, SIGN_ABC, "69 82");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	rlen = tc_send(card, SIGN_ABC, resp, sizeof(resp));
	assert_int_equal(rlen, 258);
	assert_int_equal(resp[256], 0x90);
	assert_int_equal(resp[257], 0x00);
	verify_sig(fx->auth_pub, resp, 256);
	/* the auth PIN does not open the sign key */
	tc_expect(card, SEL("00 1A"), "90 00");
	tc_expect(card, SIGN_ABC, "69 82");
	tc_expect(card, SEL("00 1B"), "90 00");
	tc_expect(card, VERIFY_ABC123, "90 00");
	tc_expect(card, SEL("00 1A"), "90 00");
	rlen = tc_send(card, SIGN_ABC, resp, sizeof(resp));
	assert_int_equal(rlen, 258);
	verify_sig(fx->sign_pub, resp, 256);
	/* P2 = 80 | SFI names the key without SELECT */
	tc_expect(card, SEL("00 0A"), "90 00");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s", SIGN_ABC);
	cmd[9] = '9';
	cmd[10] = '7';
	rlen = tc_send(card, cmd, resp, sizeof(resp));
	assert_int_equal(rlen, 258);
	verify_sig(fx->auth_pub, resp, 256);
	card_free(card);
}

static void test_sign_errors(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	char big[1024];
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00");
	/* no key EF current */
	tc_expect(card, SIGN_ABC, "69 86");
	tc_expect(card, SEL("00 0A"), "90 00");
	tc_expect(card, SIGN_ABC, "69 86");
	tc_expect(card, SEL("00 17"), "90 00");
	/* the card signs only P1=00 (a DigestInfo, as OpenSC and jpki/myna
	 * send; the other schemes are unverified on real cards: docs/card.md)
	 */
	tc_expect(card, "80 2A 01 80 01 00 00", "6A 86");
	tc_expect(card, "80 2A 00 00 01 00 00", "6A 86");
	tc_expect(card, "80 2A 00 9F 01 00 00", "6A 88");
	/* lengths: empty, 246 bytes, Le too small */
	tc_expect(card, "80 2A 00 80 00", "67 00");
	size_t k = (size_t)snprintf(big, sizeof(big), "80 2A 00 80 F6");
	for (int i = 0; i < 246; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, " 01");
	snprintf(big + k, sizeof(big) - k, " 00");
	tc_expect(card, big, "67 00");
	tc_expect(card, "80 2A 00 80 01 00 80", "67 00");
	/* 245 bytes are fine */
	k = (size_t)snprintf(big, sizeof(big), "80 2A 00 80 F5");
	for (int i = 0; i < 245; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, " 01");
	snprintf(big + k, sizeof(big) - k, " 00");
	assert_int_equal(tc_sw(card, big), 0x9000);
	card_free(card);
}

/* §9.7: power off/on and reset clear the security state */
static void test_power(void **state)
{
	static const jpki_card_power ev[] = {JPKI_CARD_POWER_OFF,
					     JPKI_CARD_RESET};
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		jpki_card *card = tc_card(fx);
		tc_expect(card, SEL_JPKI, "90 00");
		tc_expect(card, SEL("00 18"), "90 00");
		tc_expect(card, VERIFY_1234, "90 00");
		tc_expect(card, SEL("00 17"), "90 00");
		assert_int_equal(tc_sw(card, SIGN_ABC), 0x9000);
		card_power(card, ev[i]);
		card_power(card, JPKI_CARD_POWER_ON);
		/* nothing is selected any more */
		tc_expect(card, SIGN_ABC, "69 86");
		tc_expect(card, SEL("00 17"), "6A 82");
		tc_expect(card, SEL_JPKI, "90 00");
		tc_expect(card, SEL("00 17"), "90 00");
		tc_expect(card, SIGN_ABC, "69 82");
		tc_expect(card, SEL("00 18"), "90 00");
		tc_expect(card, VERIFY_EMPTY, "63 C3");
		card_free(card);
	}
}

/* §9.9 and §4.6-4.7 */
static void test_unknown(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, "00 FF 00 00", "6D 00");
	tc_expect(card, "B0 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01",
		  "6E 00");
	tc_expect(card, "B0 FF 00 00", "6E 00");
	tc_expect(card, "80 FF 00 00", "6D 00");
	tc_expect(card, "01 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01",
		  "6E 00");
	tc_expect(card, "0C A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01",
		  "68 82");
	tc_expect(card, "08 B0 00 00 04", "68 82");
	tc_expect(card, "00 88 00 80 00", "6D 00");
	tc_expect(card, "00 CA DF 30 05", "6D 00");
	/* malformed APDUs */
	tc_expect(card, "00 A4 04", "67 00");
	tc_expect(card, "00", "67 00");
	tc_expect(card, "00 A4 04 0C 0A D3 92", "67 00");
	tc_expect(card, "00 A4 04 0C 02 D3 92 F0 00", "67 00");
	tc_expect(card, "00 A4 04 0C 00 00", "67 00");
	tc_expect(card, "00 A4 04 0C 00 00 00 00", "67 00");
	card_free(card);
}

static void test_select(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[64];
	/* nothing selected */
	tc_expect(card, SEL("00 0A"), "6A 82");
	tc_expect(card, "00 A4 00 00", "6A 86");
	tc_expect(card, "00 B0 00 00 04", "69 86");
	tc_expect(card, VERIFY_EMPTY, "69 86");
	/* by AID with FCI requested: 90 00 without data */
	tc_expect(card, "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00",
		  "90 00");
	tc_expect(card, "00 A4 04 0C", "67 00");
	tc_expect(card, "00 A4 04 04 0A D3 92 F0 00 26 01 00 00 00 01",
		  "6A 86");
	tc_expect(card, "00 A4 00 00", "90 00");
	tc_expect(card, SEL("3F 00"), "6A 82");
	tc_expect(card, SEL("00 09"), "6A 82");
	tc_expect(card, SEL("00 16"), "6A 82");
	tc_expect(card, SEL("00 11"), "6A 82"); /* a 券面事項 EF */
	tc_expect(card, "00 A4 02 0C 03 00 0A 00", "67 00");
	tc_expect(card, "00 A4 08 0C 04 3F 00 00 0A", "6A 86");
	tc_expect(card, "00 A4 09 0C 02 00 0A", "6A 86");
	tc_expect(card, "00 A4 02 04 02 00 0A", "6A 86");
	tc_expect(card, "00 A4 02 00 02 00 0A 00", "90 00");
	/* a failed SELECT keeps the current EF */
	tc_expect(card, SEL("00 55"), "6A 82");
	size_t rlen = tc_send(card, "00 B0 00 00 02", resp, sizeof(resp));
	assert_int_equal(rlen, 4);
	assert_int_equal(resp[0], 0x30);
	/* READ BINARY on non-transparent EFs */
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, "00 B0 00 00 04", "69 81");
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, "00 B0 00 00 04", "69 81");
	/* READ BINARY lengths */
	tc_expect(card, SEL("00 08"), "90 00");
	tc_expect(card, "00 B0 00 00", "67 00");
	tc_expect(card, "00 B0 00 00 01 00", "67 00");
	tc_expect(card, "00 B0 00 00 00", "8F 8F 00 90 00");
	tc_expect(card, "00 B0 00 01 01", "8F 90 00");
	tc_expect(card, "00 B0 00 03 01", "6B 00");
	card_free(card);
}

static void test_token_info(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX];
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 06"), "90 00");
	/* myna reads 0x20 bytes and expects the label */
	tc_expect(card, "00 B0 00 00 20",
		  "4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32 20 20 20 20 "
		  "20 20 20 20 20 20 20 20 20 20 20 20 20 90 00");
	size_t rlen = tc_send(card, "00 B0 00 00 00", resp, sizeof(resp));
	assert_int_equal(rlen, 162);
	assert_memory_equal(resp + 80, "TESTCARD00000001", 16);
	assert_memory_equal(resp + 140, "0301", 4);
	assert_memory_equal(resp + 144, "2025010100000000", 16);
	size_t atr_len;
	const uint8_t *atr = card_atr(card, &atr_len);
	assert_int_equal(atr_len, 9);
	assert_memory_equal(atr, "\x3B\xE0\x00\xFF\x81\x31\xFE\x45\x14", 9);
	assert_string_equal(card_serial(card), "TESTCARD00000001");
	card_free(card);
}

static void test_verify_paths(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, SEL_JPKI, "90 00");
	/* no current EF, a current EF that is no PIN */
	tc_expect(card, VERIFY_1234, "69 86");
	tc_expect(card, SEL("00 0A"), "90 00");
	tc_expect(card, VERIFY_1234, "69 86");
	tc_expect(card, "00 20 00 81 04 31 32 33 34", "69 86");
	tc_expect(card, "00 20 01 80 04 31 32 33 34", "6A 86");
	tc_expect(card, "00 20 00 00 04 31 32 33 34", "6A 86");
	tc_expect(card, "00 20 00 9F 04 31 32 33 34", "6A 88");
	/* P2 = 80 | SFI names the PIN without SELECT */
	tc_expect(card, "00 20 00 98", "63 C3");
	tc_expect(card, "00 20 00 98 04 31 32 33 34 00", "67 00");
	tc_expect(card, "00 20 00 98 04 31 32 33 34", "90 00");
	tc_expect(card, "00 20 00 9B", "63 C5");
	/* a wrong-length PIN is a wrong PIN (no length oracle) */
	tc_expect(card, "00 20 00 98 05 31 32 33 34 35", "63 C2");
	/* a failed VERIFY drops the verified state */
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, SIGN_ABC, "69 82");
	tc_expect(card, "00 20 00 98 04 31 32 33 34", "90 00");
	/* switch: ISO answer 90 00 to the query when verified */
	tc_expect(card, "00 20 00 98", "63 C3");
	assert_int_equal(
	    card_set_options(card, JPKI_CARD_OPT_ISO_EMPTY_VERIFY, NULL), 0);
	tc_expect(card, "00 20 00 98", "90 00");
	tc_expect(card, "00 20 00 9B", "63 C5");
	card_free(card);
}

static void test_change_pin(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, "00 24 01 80 04 31 31 31 31", "69 82");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, "00 24 00 80 04 31 31 31 31", "6A 86");
	tc_expect(card, "00 24 01 80", "67 00");
	tc_expect(card, "00 24 01 80 03 31 31 31", "6A 80");
	tc_expect(card, "00 24 01 80 04 31 31 31 41", "6A 80");
	tc_expect(card, "00 24 01 80 04 31 31 31 31", "90 00");
	tc_expect(card, VERIFY_1234, "63 C2");
	tc_expect(card, "00 20 00 80 04 31 31 31 31", "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C3");
	/* the sign PIN must be upper case and mix letters and digits */
	tc_expect(card, SEL("00 1B"), "90 00");
	tc_expect(card, VERIFY_ABC123, "90 00");
	tc_expect(card, "00 24 01 80 06 61 62 63 31 32 33", "6A 80");
	tc_expect(card, "00 24 01 80 06 41 42 43 44 45 46", "6A 80");
	tc_expect(card, "00 24 01 80 06 41 42 43 44 45 31", "90 00");
	tc_expect(card, "00 20 00 80 06 41 42 43 44 45 31", "90 00");
	card_free(card);
}

/* The 券面事項入力補助AP */
static void test_cardinfo(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX];
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, SEL_INFO, "90 00");
	tc_expect(card, SEL("00 18"), "6A 82");
	tc_expect(card, SEL("00 01"), "90 00");
	tc_expect(card, "00 B0 00 00 00", "69 82");
	tc_expect(card, SEL("00 11"), "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C3");
	tc_expect(card, VERIFY_5678, "90 00");
	tc_expect(card, SEL("00 01"), "90 00");
	/* Le = 00 on the 17-byte EF: 17 bytes and 90 00 */
	tc_expect(card, "00 B0 00 00 00",
		  "FF 10 0C 31 32 33 34 35 36 37 38 39 30 31 38 FF FF 90 00");
	tc_expect(card, SEL("00 02"), "90 00");
	size_t rlen = tc_send(card, "00 B0 00 00 00", resp, sizeof(resp));
	assert_true(rlen > 20);
	assert_int_equal(resp[0], 0xFF);
	assert_int_equal(resp[1], 0x20);
	/* host parsers */
	jpki_link l = tc_link(card);
	jpki_err err = {0};
	char num[13], birth[9], sex = 0, *name = NULL, *addr = NULL;
	assert_int_equal(card_client_read_mynumber(&l, num, &err), 0);
	assert_string_equal(num, TC_MYNUMBER);
	assert_int_equal(
	    card_client_read_basic4(&l, &name, &addr, birth, &sex, &err), 0);
	assert_string_equal(name, "山田 太郎");
	assert_string_equal(addr, "東京都千代田区霞が関2-1-2");
	assert_string_equal(birth, "19800401");
	assert_int_equal(sex, '1');
	free(name);
	free(addr);
	/* a different AP cleared the JPKI PIN state */
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, SIGN_ABC, "69 82");
	/* and back: the 券面事項 PIN is gone as well */
	tc_expect(card, SEL_INFO, "90 00");
	tc_expect(card, SEL("00 01"), "90 00");
	tc_expect(card, "00 B0 00 00 00", "69 82");
	card_free(card);
}

/* §3.4: re-selecting the same AP keeps the PIN state unless switched */
static void test_reselect(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	assert_int_equal(tc_sw(card, SIGN_ABC), 0x9000);
	assert_int_equal(
	    card_set_options(card, JPKI_CARD_OPT_CLEAR_ON_RESELECT, NULL), 0);
	assert_int_equal(card_options(card), JPKI_CARD_OPT_CLEAR_ON_RESELECT);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, SIGN_ABC, "69 82");
	assert_int_not_equal(card_set_options(card, 0x100, NULL), 0);
	card_free(card);
}

static void test_challenge_and_term_auth(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t resp[JPKI_CARD_RESP_MAX], mac[32];
	char cmd[256];
	size_t rlen;

	rlen = tc_send(card, "00 84 00 00 08", resp, sizeof(resp));
	assert_int_equal(rlen, 10);
	rlen = tc_send(card, "00 84 00 00 00", resp, sizeof(resp));
	assert_int_equal(rlen, 258);
	tc_expect(card, "00 84 00 00 00 00 10", "69 85");
	tc_expect(card, "00 84 01 00 10", "6A 86");
	tc_expect(card, "00 84 00 00", "67 00");
	/* EXTERNAL AUTHENTICATE needs the challenge right before it */
	memset(mac, 0, sizeof(mac));
	size_t k = (size_t)snprintf(cmd, sizeof(cmd), "00 82 00 01 20");
	for (int i = 0; i < 32; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " 00");
	tc_expect(card, cmd, "69 85");
	tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, cmd, "69 85");
	/* an 8-byte challenge does not arm it */
	tc_send(card, "00 84 00 00 08", resp, sizeof(resp));
	tc_expect(card, cmd, "69 85");
	tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
	tc_expect(card, "00 82 00 02 01 00", "6A 86");
	tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
	tc_expect(card, "00 82 00 01 01 00", "67 00");
	/* wrong MACs cost tries, up to 15; then blocked */
	for (int left = 14; left >= 0; left--) {
		char want[8];
		tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
		snprintf(want, sizeof(want), "63 C%X", left);
		tc_expect(card, cmd, want);
	}
	tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
	tc_expect(card, cmd, "69 83");
	jpki_link l = tc_link(card);
	jpki_err err = {0};
	assert_int_equal(card_term_auth(&l, fx->tkey, &err),
			 JPKI_ERR_PIN_BLOCKED);
	card_free(card);

	/* a right MAC after some wrong ones restores the counter */
	card = tc_card(fx);
	l = tc_link(card);
	tc_send(card, "00 84 00 00 10", resp, sizeof(resp));
	tc_expect(card, cmd, "63 CE");
	uint8_t bad[JPKI_CARD_TKEY_LEN] = {0};
	assert_int_equal(card_term_auth(&l, bad, &err), JPKI_ERR_AUTH);
	assert_int_equal(card_term_auth(&l, fx->tkey, &err), 0);
	assert_int_equal(card->tauth_left, CARD_TAUTH_TRIES);
	card_free(card);
}

/* Personalisation commands need the terminal; then their own checks. */
static void test_perso_guard(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	jpki_link l = tc_link(card);
	jpki_err err = {0};
	EVP_PKEY *pk = NULL;

	tc_expect(card, "80 46 00 17", "69 82");
	tc_expect(card, "80 CA 00 17 00 00 00", "69 82");
	tc_expect(card, "80 DA 01 18 04 31 31 31 31", "69 82");
	tc_expect(card, "80 DA 01 0A", "69 82");
	tc_expect(card, "80 DA 02 01 0C 31 31 31 31 31 31 31 31 31 31 31 31",
		  "69 82");
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "1111", &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(card_term_generate_key(&l, JPKI_KEY_AUTH, &pk, &err),
			 JPKI_ERR_AUTH);
	assert_int_equal(card_term_write_cert(&l, JPKI_CCERT_AUTH_CA,
					      fx->ca_cert, fx->ca_cert_len,
					      &err),
			 JPKI_ERR_AUTH);
	assert_null(pk);
	/* power cycle ends the terminal session */
	assert_int_equal(card_term_auth(&l, fx->tkey, &err), 0);
	tc_expect(card, "80 DA 01 08 03 8F 8F 00", "90 00");
	card_power(card, JPKI_CARD_RESET);
	tc_expect(card, "80 DA 01 08 03 8F 8F 00", "69 82");
	assert_int_equal(card_term_auth(&l, fx->tkey, &err), 0);
	/* object and parameter checks */
	tc_expect(card, "80 46 01 17", "6A 86");
	tc_expect(card, "80 46 00 18", "6A 88");
	tc_expect(card, "80 46 00 17 00", "67 00");
	tc_expect(card, "80 CA 00 17", "67 00");
	tc_expect(card, "80 CA 00 17 00", "67 00"); /* 294 > 256 */
	tc_expect(card, "80 CA 00 18 00 00 00", "6A 88");
	tc_expect(card, "80 DA 03 01", "6A 86");
	tc_expect(card, "80 DA 01 06 01 00", "6A 88");
	tc_expect(card, "80 DA 01 08 03 8F 8F 01", "6A 80");
	tc_expect(card, "80 DA 01 08 02 8F 8F", "6A 80");
	tc_expect(card, "80 DA 01 08", "67 00");
	tc_expect(card, "80 DA 01 18 04 31 31 31 41", "6A 80");
	tc_expect(card, "80 DA 01 1B 06 61 62 63 31 32 33", "6A 80");
	tc_expect(card, "80 DA 01 18 04 31 31 31 31 00", "67 00");
	tc_expect(card, "80 DA 01 0A 04 30 82 00 00", "6A 80");
	tc_expect(card, "80 DA 02 01 0C 31 31 31 31 31 31 31 31 31 31 31 41",
		  "6A 80");
	tc_expect(card, "80 DA 02 02 03 FF 20 00", "6A 80");
	tc_expect(card, "80 DA 02 05 01 00", "6A 88");
	/* a certificate for another key is refused */
	assert_int_equal(card_term_write_cert(&l, JPKI_CCERT_AUTH,
					      fx->sign_cert, fx->sign_cert_len,
					      &err),
			 JPKI_ERR_KEY);
	assert_int_equal(card_term_write_cert(&l, JPKI_CCERT_AUTH,
					      fx->auth_cert, fx->auth_cert_len,
					      &err),
			 0);
	/* the public keys can be read back */
	assert_int_equal(card_term_read_pubkey(&l, JPKI_KEY_SIGN, &pk, &err),
			 0);
	assert_int_equal(EVP_PKEY_eq(pk, fx->sign_pub), 1);
	EVP_PKEY_free(pk);
	/* erase the sign certificate (as for a holder under 15) */
	assert_int_equal(
	    card_term_write_cert(&l, JPKI_CCERT_SIGN, NULL, 0, &err), 0);
	assert_int_equal(card_term_write_presence(&l, false, true, &err), 0);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 01"), "6A 82");
	tc_expect(card, SEL("00 08"), "90 00");
	tc_expect(card, "00 B0 00 00 03", "00 8F 00 90 00");
	card_free(card);
}

/* A blank card: no keys, no PINs, no certificates. */
static void test_blank_card(void **state)
{
	(void)state;
	jpki_card *card = NULL;
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	jpki_err err = {0};
	assert_int_equal(card_create(NULL, &card, tkey, &err), 0);
	assert_int_equal(strlen(card_serial(card)), 16);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 0A"), "6A 82");
	tc_expect(card, SEL("00 01"), "6A 82");
	tc_expect(card, SEL("00 08"), "90 00");
	tc_expect(card, "00 B0 00 00 00", "00 00 00 90 00");
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_EMPTY, "63 C0");
	tc_expect(card, VERIFY_1234, "69 84");
	/* a PIN but no key: 69 85 */
	jpki_link l = tc_link(card);
	assert_int_equal(card_term_auth(&l, tkey, &err), 0);
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "1234", &err),
			 0);
	tc_expect(card, SEL("00 18"), "90 00");
	tc_expect(card, VERIFY_1234, "90 00");
	tc_expect(card, SEL("00 17"), "90 00");
	tc_expect(card, SIGN_ABC, "69 85");
	/* a leaf certificate before its key exists */
	tc_expect(card, "80 DA 01 0A 04 30 82 00 00", "69 85");
	/* create parameters */
	jpki_card *c2 = NULL;
	jpki_card_params p = {0};
	p.serial = "BAD SERIAL";
	assert_int_equal(card_create(&p, &c2, NULL, &err), JPKI_ERR_INVAL);
	p.serial = NULL;
	p.options = 0x80;
	assert_int_equal(card_create(&p, &c2, NULL, &err), JPKI_ERR_INVAL);
	p.options = 0;
	p.atr_len = 34;
	assert_int_equal(card_create(&p, &c2, NULL, &err), JPKI_ERR_RANGE);
	p.atr_len = 2;
	p.atr[0] = 0x3B;
	p.atr[1] = 0x00;
	assert_int_equal(card_create(&p, &c2, NULL, &err), 0);
	size_t n;
	assert_int_equal(card_atr(c2, &n)[0], 0x3B);
	assert_int_equal(n, 2);
	card_free(c2);
	card_free(card);
	card_free(NULL);
}

static void test_api_misuse(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	uint8_t cmd[] = {0x00, 0xA4, 0x04, 0x0C};
	uint8_t resp[16];
	size_t rlen = 1234;
	assert_int_equal(card_apdu(card, cmd, 4, resp, 1, &rlen),
			 JPKI_ERR_INVAL);
	assert_int_equal(card_apdu(NULL, cmd, 4, resp, 16, &rlen),
			 JPKI_ERR_INVAL);
	assert_int_equal(card_apdu(card, cmd, 4, resp, 16, &rlen), 0);
	assert_int_equal(rlen, 2);
	/* a response larger than the buffer: error, output untouched */
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, SEL("00 0A"), "90 00");
	uint8_t rb[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
	rlen = 1234;
	assert_int_equal(card_apdu(card, rb, 5, resp, sizeof(resp), &rlen),
			 JPKI_ERR_RANGE);
	assert_int_equal(rlen, 1234);
	/* too long to be an APDU */
	uint8_t *big = calloc(1, JPKI_CARD_CMD_MAX + 1);
	assert_non_null(big);
	assert_int_equal(
	    card_apdu(card, big, JPKI_CARD_CMD_MAX + 1, resp, 16, &rlen), 0);
	assert_int_equal(rlen, 2);
	assert_int_equal(resp[0], 0x67);
	free(big);
	card_power(NULL, JPKI_CARD_RESET);
	assert_null(card_atr(NULL, &rlen));
	card_free(card);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_list),
	    cmocka_unit_test(test_empty_verify),
	    cmocka_unit_test(test_blocked),
	    cmocka_unit_test(test_read_cert),
	    cmocka_unit_test(test_sign_cert_guard),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_sign_errors),
	    cmocka_unit_test(test_power),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_token_info),
	    cmocka_unit_test(test_verify_paths),
	    cmocka_unit_test(test_change_pin),
	    cmocka_unit_test(test_cardinfo),
	    cmocka_unit_test(test_reselect),
	    cmocka_unit_test(test_challenge_and_term_auth),
	    cmocka_unit_test(test_perso_guard),
	    cmocka_unit_test(test_blank_card),
	    cmocka_unit_test(test_api_misuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
