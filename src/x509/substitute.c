/* 代替文字 (substitute characters).  Names and addresses in a certificate
 * are limited to JIS X 0208 and JIS X 0212 (補助漢字); other characters
 * are replaced in the substitute field while the main field keeps the real
 * character (spec §1.2, 水戸市 FAQ).  Membership is decided by glibc iconv
 * (UTF-8 -> EUC-JP, whose code set 1 is JIS X 0208 and code set 3, the
 * 0x8F-prefixed three-byte form, is JIS X 0212), never by a table of our
 * own; a character counts only if it converts there and back unchanged.
 *
 * Scheme (docs/decisions.md, "Certificate profiles"):
 *   - ASCII printable characters are kept;
 *   - characters in JIS X 0208 or JIS X 0212 are kept;
 *   - everything else, JIS X 0201 half-width katakana included, becomes
 *     〓 (U+3013 GETA MARK, JIS X 0208 0x222E), the traditional mark for a
 *     character that cannot be represented;
 *   - control characters and malformed UTF-8 are refused. */
#include <iconv.h>
#include <stdlib.h>
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

/* Is the character at p (n bytes of UTF-8, not ASCII) in JIS X 0208 or
 * JIS X 0212?  to: UTF-8 -> EUC-JP, back: EUC-JP -> UTF-8. */
static bool in_jis(iconv_t to, iconv_t back, const unsigned char *p, size_t n)
{
	char src[4];
	char euc[8];
	char round[8];
	char *ip = src;
	char *op = euc;
	size_t il = n;
	size_t ol = sizeof(euc);
	memcpy(src, p, n);
	(void)iconv(to, NULL, NULL, NULL, NULL);
	if (iconv(to, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	size_t elen = sizeof(euc) - ol;
	const unsigned char *e = (const unsigned char *)euc;
	/* code set 1 (JIS X 0208): two bytes 0xA1-0xFE; code set 3 (JIS X
	 * 0212): 0x8F then two bytes 0xA1-0xFE.  Code set 0 (ASCII) for a
	 * non-ASCII input, e.g. U+00A5 -> 0x5C, and code set 2 (0x8E, JIS X
	 * 0201 katakana) are outside. */
	bool ok = (elen == 2 && e[0] >= 0xa1 && e[0] <= 0xfe && e[1] >= 0xa1 &&
		   e[1] <= 0xfe) ||
		  (elen == 3 && e[0] == 0x8f && e[1] >= 0xa1 && e[1] <= 0xfe &&
		   e[2] >= 0xa1 && e[2] <= 0xfe);
	if (!ok)
		return false;
	ip = euc;
	il = elen;
	op = round;
	ol = sizeof(round);
	(void)iconv(back, NULL, NULL, NULL, NULL);
	if (iconv(back, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	return sizeof(round) - ol == n && memcmp(round, p, n) == 0;
}

int x509_substitute(const char *in, char *out, size_t out_cap, bool *needed,
		    jpki_err *err)
{
	iconv_t to = (iconv_t)-1;
	iconv_t back = (iconv_t)-1;
	char *buf = NULL;
	size_t len;
	size_t w = 0;
	bool subst = false;
	int rc;
	if (in == NULL || out == NULL || needed == NULL || out_cap == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "substitute: bad argument");
	len = strlen(in);
	if (len > (SIZE_MAX - 1) / 3)
		return jpki_fail(err, JPKI_ERR_RANGE, "substitute: too long");
	/* a replaced character has 2..4 bytes and becomes 3 */
	if ((buf = malloc(len * 3 / 2 + 4)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	to = iconv_open("EUC-JP", "UTF-8");
	back = iconv_open("UTF-8", "EUC-JP");
	if (to == (iconv_t)-1 || back == (iconv_t)-1) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "iconv has no UTF-8/EUC-JP converter");
		goto out;
	}
	const unsigned char *s = (const unsigned char *)in;
	for (size_t off = 0; off < len;) {
		uint32_t cp = 0;
		size_t n = utf8_len(s + off, len - off, &cp);
		if (n == 0) {
			rc = jpki_fail(err, JPKI_ERR_INVAL,
				       "malformed UTF-8 at byte %zu", off);
			goto out;
		}
		if (is_control(cp)) {
			rc = jpki_fail(err, JPKI_ERR_INVAL,
				       "control character U+%04X at byte %zu",
				       (unsigned)cp, off);
			goto out;
		}
		if (cp < 0x80 || in_jis(to, back, s + off, n)) {
			memcpy(buf + w, s + off, n);
			w += n;
		} else {
			memcpy(buf + w, geta, sizeof(geta) - 1);
			w += sizeof(geta) - 1;
			subst = true;
		}
		off += n;
	}
	buf[w] = '\0';
	if (!subst)
		w = 0;
	if (w >= out_cap) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "substitute string needs %zu bytes, %zu given",
			       w + 1, out_cap);
		goto out;
	}
	memcpy(out, buf, w);
	out[w] = '\0';
	*needed = subst;
	rc = 0;
out:
	if (to != (iconv_t)-1)
		iconv_close(to);
	if (back != (iconv_t)-1)
		iconv_close(back);
	free(buf);
	return rc;
}
