/* Fuzz target: a session of APDUs against a fresh, issued in-memory card.
 *
 * Input framing: records of a 2-byte big-endian length field L and N = L &
 * 7FFF bytes of command APDU; with L & 8000 the response buffer is only
 * 64 bytes (the engine must refuse, not overflow).  N = 0 is a control
 * record whose next byte is 0 power off,
 * 1 power on, 2 reset, 3 "terminal authenticated" (skips the HMAC so that
 * personalisation commands are reached); other values are ignored.
 *
 * Nothing touches the disk: the card has no file, and every state change
 * goes to a write hook that checks the invariant "the card only ever
 * persists an image it can load again". */
#include <stdint.h>

#include "fuzz_card_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t resp[JPKI_CARD_RESP_MAX];
	jpki_card *card = fz_card();
	size_t off = 0, rlen;

	while (size - off >= 2) {
		size_t n = (size_t)(data[off] & 0x7F) << 8 | data[off + 1];
		size_t cap = (data[off] & 0x80) ? 64 : sizeof(resp);
		off += 2;
		if (n == 0) {
			if (off >= size)
				break;
			uint8_t ctl = data[off++];
			if (ctl <= 2)
				card_power(card, (jpki_card_power)ctl);
			else if (ctl == 3)
				card_test_set_term_auth(card, true);
			continue;
		}
		if (n > size - off)
			n = size - off;
		if (card_apdu(card, data + off, n, resp, cap, &rlen) == 0 &&
		    (rlen < 2 || rlen > cap))
			abort();
		off += n;
	}
	card_free(card);
	return 0;
}
