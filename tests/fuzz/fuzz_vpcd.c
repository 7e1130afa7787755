/* Fuzz target: the vpcd protocol as vpcd sends it (src/transport/vpcd.c
 * without the socket): the input is the byte stream from vpcd, cut into
 * frames by vpcd_frame_parse and answered by vpcd_answer with a fresh,
 * issued in-memory card, as the session loop does.  A stream ends at its
 * first broken frame (the loop closes the connection there) or when the
 * bytes end (vpcd closed; a partial frame is a mid-frame close).
 *
 * Invariants: a parsed frame lies inside the input and is 1..max_frame
 * bytes; every answer fits a vpcd frame, a 1-byte control message is
 * answered only when it asks for the ATR (and then with the card's ATR),
 * and a command APDU is always answered, ending in a status word. */
#include <stdint.h>

#include "fuzz_card_common.h"
#include "transport/vpcd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t reply[JPKI_VPCD_FRAME_MAX];
	jpki_card *card = fz_card();
	jpki_vpcd_stats st = {0};
	size_t off = 0;
	/* the first byte picks a frame limit, as jpki_vpcd_opts.max_frame */
	size_t max_frame = JPKI_VPCD_FRAME_MAX;
	if (size > 0 && (data[0] & 0x80)) {
		max_frame = 1 + (data[0] & 0x7F) * 4;
		off = 1;
	}
	card_power(card, JPKI_CARD_POWER_OFF); /* vpcd powers it on */
	for (;;) {
		const uint8_t *msg = NULL;
		size_t n = 0, used = 0, rlen = 0;
		jpki_err err = {0};
		int rc = vpcd_frame_parse(data + off, size - off, max_frame,
					  &msg, &n, &used, &err);
		if (rc < 0 && err.msg[0] == '\0')
			abort(); /* a refusal says why */
		if (rc <= 0) {
			if (rc == 0 && (used < 2 || used <= size - off))
				abort(); /* "not yet" with the frame all there
					  */
			break;
		}
		if (msg != data + off + 2 || n == 0 || n > max_frame ||
		    used != n + 2 || used > size - off)
			abort();
		vpcd_answer(card, &st, msg, n, reply, &rlen);
		if (rlen > JPKI_VPCD_FRAME_MAX)
			abort();
		if (n == 1) {
			size_t alen = 0;
			const uint8_t *atr = card_atr(card, &alen);
			if (msg[0] == 0x04 ? (rlen != alen ||
					      memcmp(reply, atr, alen) != 0)
					   : rlen != 0)
				abort();
		} else if (rlen < 2) {
			abort();
		}
		off += used;
	}
	/* removal: the card loses its security state */
	card_power(card, JPKI_CARD_POWER_OFF);
	card_free(card);
	return 0;
}
