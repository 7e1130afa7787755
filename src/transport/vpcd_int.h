/* The vpcd protocol without the socket (vpcd.c): framing and the answer
 * to one message, pure functions the session loop and the fuzz target
 * (tests/fuzz/fuzz_vpcd.c) share. */
#ifndef OPENJPKI_TRANSPORT_VPCD_INT_H
#define OPENJPKI_TRANSPORT_VPCD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "openjpki/card.h"
#include "openjpki/error.h"
#include "openjpki/transport.h"

/* One frame at the start of p[0..len), the bytes received so far: a
 * 2-byte big-endian length N (1..max_frame) and N bytes.
 *   1: a whole frame; *msg, *msg_len its payload (inside p), *used 2 + N;
 *   0: not yet; *used the bytes the frame needs (2 while len < 2);
 *   JPKI_ERR_PARSE: N is 0 or over max_frame (the peer breaks the
 *   protocol; the connection cannot be resynchronised). */
JPKI_MUST_CHECK int vpcd_frame_parse(const uint8_t *p, size_t len,
				     size_t max_frame, const uint8_t **msg,
				     size_t *msg_len, size_t *used,
				     jpki_err *err);

/* The answer to one message (a 1-byte control, or a command APDU) into
 * reply (JPKI_VPCD_FRAME_MAX bytes); *reply_len 0 when none is due.
 * Counts the message in st. */
void vpcd_answer(jpki_card *card, jpki_vpcd_stats *st, const uint8_t *msg,
		 size_t n, uint8_t *reply, size_t *reply_len);

#endif
