/* Search keys for names, kana and addresses: see include/openjpki/textfold.h.
 */
#include "openjpki/textfold.h"

#include <stdint.h>
#include <string.h>

/* 異体字 of names and places, folded to the form a clerk types.  Sorted by
 * the first column (binary search).  Search only: the register keeps the
 * characters as written. */
static const struct {
	uint32_t from, to;
} variants[] = {
    {0x04F86, 0x6765}, /* 來 -> 来 */
    {0x051A8, 0x5BCC}, /* 冨 -> 富 */
    {0x0570B, 0x56FD}, /* 國 -> 国 */
    {0x0589E, 0x5897}, /* 增 -> 増 */
    {0x058FD, 0x5BFF}, /* 壽 -> 寿 */
    {0x05BE6, 0x5B9F}, /* 實 -> 実 */
    {0x05CEF, 0x5CF0}, /* 峯 -> 峰 */
    {0x05D5C, 0x5D0E}, /* 嵜 -> 崎 */
    {0x05D8B, 0x5CF6}, /* 嶋 -> 島 */
    {0x05D8C, 0x5CF6}, /* 嶌 -> 島 */
    {0x05EE3, 0x5E83}, /* 廣 -> 広 */
    {0x05F4C, 0x5F25}, /* 彌 -> 弥 */
    {0x05FB7, 0x5FB3}, /* 德 -> 徳 */
    {0x060E0, 0x6075}, /* 惠 -> 恵 */
    {0x06589, 0x658E}, /* 斉 -> 斎 (斉藤 and 斎藤 found together) */
    {0x066FE, 0x66FD}, /* 曾 -> 曽 */
    {0x0689D, 0x6761}, /* 條 -> 条 */
    {0x069AE, 0x6804}, /* 榮 -> 栄 */
    {0x069C7, 0x69D9}, /* 槇 -> 槙 */
    {0x06A9C, 0x6867}, /* 檜 -> 桧 */
    {0x06AFB, 0x685C}, /* 櫻 -> 桜 */
    {0x06DF5, 0x6E15}, /* 淵 -> 渕 */
    {0x06F81, 0x6E0B}, /* 澁 -> 渋 */
    {0x06FA4, 0x6CA2}, /* 澤 -> 沢 */
    {0x06FF1, 0x6D5C}, /* 濱 -> 浜 */
    {0x06FF5, 0x6D5C}, /* 濵 -> 浜 */
    {0x07027, 0x6EDD}, /* 瀧 -> 滝 */
    {0x0771E, 0x771F}, /* 眞 -> 真 */
    {0x07895, 0x5D0E}, /* 碕 -> 崎 */
    {0x07C60, 0x7BED}, /* 籠 -> 篭 */
    {0x07E3D, 0x7DCF}, /* 總 -> 総 */
    {0x08218, 0x9928}, /* 舘 -> 館 */
    {0x0842C, 0x4E07}, /* 萬 -> 万 */
    {0x085CF, 0x8535}, /* 藏 -> 蔵 */
    {0x09089, 0x8FBA}, /* 邉 -> 辺 */
    {0x0908A, 0x8FBA}, /* 邊 -> 辺 */
    {0x090A8, 0x6751}, /* 邨 -> 村 */
    {0x095DC, 0x95A2}, /* 關 -> 関 */
    {0x0975C, 0x9759}, /* 靜 -> 静 */
    {0x09A52, 0x9A28}, /* 驒 -> 騨 */
    {0x09AD9, 0x9AD8}, /* 髙 -> 高 */
    {0x09ED1, 0x9ED2}, /* 黑 -> 黒 */
    {0x09F4A, 0x658E}, /* 齊 -> 斎 */
    {0x09F4B, 0x658E}, /* 齋 -> 斎 */
    {0x09F8D, 0x7ADC}, /* 龍 -> 竜 */
    {0x0FA10, 0x585A}, /* CJK compatibility 塚 -> 塚 */
    {0x0FA11, 0x5D0E}, /* 﨑 -> 崎 */
    {0x0FA19, 0x795E}, /* CJK compatibility 神 -> 神 */
    {0x0FA1B, 0x798F}, /* CJK compatibility 福 -> 福 */
    {0x20BB7, 0x5409}, /* 𠮷 -> 吉 */
};

/* Half-width katakana U+FF61..U+FF9F to full width (NFKC). */
static const uint16_t halfwidth[0x3F] = {
    0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, /* FF61 */
    0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, /* FF69 */
    0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, /* FF71 */
    0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, /* FF79 */
    0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, /* FF81 */
    0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF, /* FF89 */
    0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA, /* FF91 */
    0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x309B, 0x309C,	    /* FF99 */
};

static uint32_t variant(uint32_t c)
{
	size_t lo = 0, hi = sizeof(variants) / sizeof(variants[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (variants[mid].from == c)
			return variants[mid].to;
		if (variants[mid].from < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c;
}

/* The voiced (mark 1) or semi-voiced (mark 2) form of katakana c, or 0. */
static uint32_t compose(uint32_t c, int mark)
{
	if (mark == 1) {
		if ((c >= 0x30AB && c <= 0x30C2 && (c - 0x30AB) % 2 == 0) ||
		    c == 0x30C4 || c == 0x30C6 || c == 0x30C8 || c == 0x30FD)
			return c + 1;
		if (c == 0x30A6)
			return 0x30F4; /* ヴ */
		if (c == 0x30EF || c == 0x30F0 || c == 0x30F1 || c == 0x30F2)
			return c + 8; /* ヷ ヸ ヹ ヺ */
	}
	if (c >= 0x30CF && c <= 0x30DB && (c - 0x30CF) % 3 == 0)
		return c + (uint32_t)mark;
	return 0;
}

/* Next code point of a NUL-terminated UTF-8 string (strict: no overlong
 * forms, surrogates or values past U+10FFFF); 0 at the end; -1 when bad. */
static int next_cp(const unsigned char **pp, uint32_t *cp)
{
	const unsigned char *p = *pp;
	uint32_t c = p[0];
	int n;
	if (c == 0)
		return 0;
	if (c < 0x80) {
		*cp = c;
		*pp = p + 1;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		c &= 0x07;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if ((n == 2 && c < 0x800) ||
	    (n == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	*pp = p + n + 1;
	return 1;
}

static size_t put_cp(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

static int is_space(uint32_t c)
{
	return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0xA0 ||
	       c == 0x3000 || c == 0x30FB || c == 0xFF65;
}

static int is_dash(uint32_t c)
{
	return (c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0xFE63 ||
	       c == 0xFF0D || c == 0x30FC || c == 0xFF70;
}

int jpki_text_fold(const char *in, char *out, size_t cap, jpki_err *err)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t len = 0, last_at = 0;
	uint32_t c, last = 0; /* the last code point written, 0 none */
	int r;
	if (cap == 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "search key: no room");
	out[0] = '\0';
	while ((r = next_cp(&p, &c)) == 1) {
		int mark = 0;
		if (is_space(c))
			continue;
		if (c >= 0xFF61 && c <= 0xFF9F)
			c = halfwidth[c - 0xFF61];
		if (is_dash(c))
			c = '-';
		else if (c >= 0xFF01 && c <= 0xFF5E)
			c -= 0xFEE0;
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if ((c >= 0x3041 && c <= 0x3096) || c == 0x309D ||
			 c == 0x309E)
			c += 0x60;
		else if (c == 0x3099 || c == 0x309B)
			mark = 1;
		else if (c == 0x309A || c == 0x309C)
			mark = 2;
		else
			c = variant(c);
		if (mark != 0) {
			uint32_t v = compose(last, mark);
			if (v != 0) { /* same UTF-8 length: rewrite in place */
				len = last_at + put_cp(out + last_at, v);
				last = v;
				continue;
			}
			c = mark == 1 ? 0x309B : 0x309C;
		}
		char u[4];
		size_t n = put_cp(u, c);
		if (len + n + 1 > cap) {
			out[len] = '\0';
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "search key longer than %zu bytes",
					 cap - 1);
		}
		memcpy(out + len, u, n);
		last_at = len;
		len += n;
		last = c;
	}
	if (r < 0) {
		out[0] = '\0';
		return jpki_fail(err, JPKI_ERR_INVAL, "text is not UTF-8");
	}
	out[len] = '\0';
	return 0;
}
