/* 代替文字 (substitute characters).  Names and addresses in a certificate
 * are limited to JIS X 0208 and JIS X 0212 (補助漢字); other characters
 * are replaced in the substitute field while the main field keeps the real
 * character (spec §1.2, 水戸市 FAQ).  Membership is decided by glibc iconv
 * (UTF-8 -> EUC-JP, whose code set 1 is JIS X 0208 and code set 3, the
 * 0x8F-prefixed three-byte form, is JIS X 0212), never by a table of our
 * own; a character counts only if it converts there and back unchanged.
 * iconv's answers are asked once per process and kept in a bitmap.
 *
 * Scheme (docs/decisions.md, "Certificate profiles"):
 *   - ASCII printable characters are kept;
 *   - characters in JIS X 0208 or JIS X 0212 are kept;
 *   - everything else, JIS X 0201 half-width katakana included, becomes
 *     〓 (U+3013 GETA MARK, JIS X 0208 0x222E), the traditional mark for a
 *     character that cannot be represented;
 *   - control characters and malformed UTF-8 are refused. */
#include <iconv.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>

#include "x509_int.h"

static const char geta[] = "\xe3\x80\x93"; /* U+3013 〓 */

/* Length (1..4) of the well-formed UTF-8 sequence at s, 0 if malformed
 * (RFC 3629 section 4: no overlongs, no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t left, uint32_t *cp)
{
	size_t n;
	uint32_t c;
	uint32_t min;
	if (left == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool x509i_utf8_ok(const unsigned char *s, size_t len)
{
	size_t off = 0;
	while (off < len) {
		uint32_t cp = 0;
		size_t n = utf8_len(s + off, len - off, &cp);
		if (n == 0 || is_control(cp))
			return false;
		off += n;
	}
	return true;
}

/* Membership in JIS X 0208 / JIS X 0212, one bit per code point.  It is
 * iconv's answer, asked once for every code of EUC-JP code sets 1 and 3
 * (2 x 94 x 94) rather than twice per character of every name: c is in
 * when iconv turns some such code e into c and c back into exactly e,
 * which is the round trip a per-character check would make.  Written
 * only by jis_build() under CRYPTO_THREAD_run_once, read-only after. */
static uint8_t jis_map[(0x10ffff + 1) / 8];
static CRYPTO_ONCE jis_once = CRYPTO_ONCE_STATIC_INIT;
static int jis_rc = JPKI_ERR_STATE;

static size_t convert(iconv_t cd, const uint8_t *in, size_t n, uint8_t *out,
		      size_t cap)
{
	char *ip = (char *)(uintptr_t)in;
	char *op = (char *)out;
	size_t il = n;
	size_t ol = cap;
	(void)iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return 0;
	return cap - ol;
}

static void jis_add(iconv_t to, iconv_t back, const uint8_t *euc, size_t n)
{
	uint8_t u[8];
	uint8_t round[8];
	uint32_t cp = 0;
	size_t ulen = convert(back, euc, n, u, sizeof(u));
	/* exactly one character, which converts back to exactly euc */
	if (ulen == 0 || utf8_len(u, ulen, &cp) != ulen || cp < 0x80 ||
	    convert(to, u, ulen, round, sizeof(round)) != n ||
	    memcmp(round, euc, n) != 0)
		return;
	jis_map[cp >> 3] |= (uint8_t)(1u << (cp & 7));
}

static void jis_build(void)
{
	iconv_t to = iconv_open("EUC-JP", "UTF-8");
	iconv_t back = iconv_open("UTF-8", "EUC-JP");
	if (to == (iconv_t)-1 || back == (iconv_t)-1)
		goto out;
	/* code set 1 (JIS X 0208): two bytes 0xA1-0xFE; code set 3 (JIS X
	 * 0212): 0x8F then two bytes 0xA1-0xFE.  Code set 0 (ASCII), e.g.
	 * U+00A5 -> 0x5C, and code set 2 (0x8E, JIS X 0201 katakana) are
	 * outside. */
	for (unsigned a = 0xa1; a <= 0xfe; a++) {
		for (unsigned b = 0xa1; b <= 0xfe; b++) {
			const uint8_t cs1[2] = {(uint8_t)a, (uint8_t)b};
			const uint8_t cs3[3] = {0x8f, (uint8_t)a, (uint8_t)b};
			jis_add(to, back, cs1, sizeof(cs1));
			jis_add(to, back, cs3, sizeof(cs3));
		}
	}
	jis_rc = 0;
out:
	if (to != (iconv_t)-1)
		iconv_close(to);
	if (back != (iconv_t)-1)
		iconv_close(back);
}

static bool in_jis(uint32_t cp)
{
	return (jis_map[cp >> 3] & (1u << (cp & 7))) != 0;
}

int x509_substitute(const char *in, char *out, size_t out_cap, bool *needed,
		    jpki_err *err)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len;
	size_t w = 0;
	bool subst = false;
	if (in == NULL || out == NULL || needed == NULL || out_cap == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "substitute: bad argument");
	if (!CRYPTO_THREAD_run_once(&jis_once, jis_build) || jis_rc != 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "iconv has no UTF-8/EUC-JP converter");
	len = strlen(in);
	/* first pass: check, and size the result (a replaced character has
	 * 2..4 bytes and becomes 3) */
	for (size_t off = 0; off < len;) {
		uint32_t cp = 0;
		size_t n = utf8_len(s + off, len - off, &cp);
		if (n == 0)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "malformed UTF-8 at byte %zu", off);
		if (is_control(cp))
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "control character U+%04X at byte %zu",
					 (unsigned)cp, off);
		if (cp < 0x80 || in_jis(cp)) {
			w += n;
		} else {
			w += sizeof(geta) - 1;
			subst = true;
		}
		off += n;
	}
	if (!subst) {
		out[0] = '\0';
		*needed = false;
		return 0;
	}
	if (w >= out_cap)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "substitute string needs %zu bytes, %zu given",
				 w + 1, out_cap);
	w = 0;
	for (size_t off = 0; off < len;) {
		uint32_t cp = 0;
		size_t n = utf8_len(s + off, len - off, &cp);
		if (cp < 0x80 || in_jis(cp)) {
			memcpy(out + w, s + off, n);
			w += n;
		} else {
			memcpy(out + w, geta, sizeof(geta) - 1);
			w += sizeof(geta) - 1;
		}
		off += n;
	}
	out[w] = '\0';
	*needed = true;
	return 0;
}
