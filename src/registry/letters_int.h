/* The letters of the counter (H3): shared pieces of the 有効期限通知書
 * (notice.c), the 照会書兼回答書 and the 領収書 (letters.c).  Every value
 * from the register is HTML-escaped; dates are 和暦 with the 西暦 year. */
#ifndef OPENJPKI_LETTERS_INT_H
#define OPENJPKI_LETTERS_INT_H

#include "openjpki/buf.h"
#include "openjpki/registry.h"

JPKI_MUST_CHECK int letter_put(jpki_wbuf *b, const char *s);
/* HTML text and attribute escaping. */
JPKI_MUST_CHECK int letter_html(jpki_wbuf *b, const char *s);
/* "令和8年12月6日（2026年）"; "令和元年…" for the first year. */
void letter_wareki(jpki_date d, char *out, size_t cap);
/* <!DOCTYPE html> … <body>: print CSS (A4), the title. */
JPKI_MUST_CHECK int letter_head(jpki_wbuf *b, const char *title);
/* The sender: the municipality, and its office's name, address, phone
 * and hours when set. */
JPKI_MUST_CHECK int letter_office(jpki_wbuf *b, const store_muni *m,
				  const store_office *o);
/* The office of municipality `code` (all "" when it has none set). */
JPKI_MUST_CHECK int letter_office_get(store *st, const char *code,
				      store_muni *m, store_office *o,
				      jpki_err *err);
/* 申請の種類 in Japanese. */
const char *letter_kind_ja(store_app_kind k);

#endif
