/* openjpki — folding of names, kana and addresses for search (core).
 *
 * jpki_text_fold() maps a UTF-8 string to its search key, so that what a
 * clerk types finds what the register holds however either was written:
 *
 *   - white space of any width (U+0009..U+000D, U+0020, U+00A0, U+3000)
 *     and the middle dot (・ U+30FB, ･ U+FF65) are dropped;
 *   - full-width ASCII (U+FF01..U+FF5E) becomes ASCII, A-Z becomes a-z;
 *   - half-width katakana (U+FF61..U+FF9F) becomes full-width, a following
 *     ﾞ/ﾟ composing the voiced form (ｶﾞ -> ガ, ﾊﾟ -> パ, ｳﾞ -> ヴ); the
 *     combining and spacing sound marks (U+3099..U+309C) compose the same
 *     way after full-width kana;
 *   - hiragana (U+3041..U+3096, ゝ ゞ) becomes katakana;
 *   - dashes (U+2010..U+2015, U+2212, U+FE63, U+FF0D, ー U+30FC, ｰ U+FF70)
 *     become '-', so 1-2-3, １－２－３ and 1ー2ー3 are one address;
 *   - the common 異体字 of names become the everyday form, from the table
 *     in src/core/textfold.c (髙 -> 高, 﨑 -> 崎, 邊/邉 -> 辺, 齋/齊/斉 ->
 *     斎, 濱 -> 浜, 澤 -> 沢, 櫻 -> 桜, 德 -> 徳, 廣 -> 広, 國 -> 国 ...).
 *
 * The key is never longer than the input.  The same function folds the
 * stored record and the query, so a key only has to be consistent, not
 * pretty. */
#ifndef OPENJPKI_TEXTFOLD_H
#define OPENJPKI_TEXTFOLD_H

#include <stddef.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fold `in` into out (cap bytes with the NUL; strlen(in) + 1 always
 * suffices).  JPKI_ERR_INVAL for input that is not UTF-8 (out then holds
 * ""), JPKI_ERR_RANGE when out is too small. */
JPKI_MUST_CHECK int jpki_text_fold(const char *in, char *out, size_t cap,
				   jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
