/* Fuzz target: the card image loader.
 *
 * The first input byte selects a mode: odd = recompute the image's
 * SHA-256 before loading, so that mutations reach the record parser
 * instead of stopping at the digest; even = load the bytes as they are.
 * An image that loads must serialise to an image that loads and
 * serialises to the same bytes again (DER keys may be re-encoded once),
 * and must answer a few APDUs. */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/card.h"
#include "openjpki/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t apdus[][16] = {
	    {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01,
	     0x00, 0x00, 0x00, 0x01},
	    {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A},
	    {0x00, 0xB0, 0x00, 0x00, 0x00},
	    {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18},
	    {0x00, 0x20, 0x00, 0x80},
	};
	static const size_t apdu_len[] = {15, 7, 5, 7, 4};
	uint8_t resp[260], *img = NULL, *out = NULL, *again = NULL;
	size_t n, out_len = 0, again_len = 0, rlen;
	jpki_card *card = NULL, *card2 = NULL;

	if (size < 1)
		return 0;
	n = size - 1;
	if ((img = malloc(n + 1)) == NULL)
		return 0;
	memcpy(img, data + 1, n);
	if ((data[0] & 1) && n >= 32)
		SHA256(img, n - 32, img + n - 32);
	if (card_load_mem(img, n, &card, NULL) != 0)
		goto out;
	if (card_image(card, &out, &out_len, NULL) != 0 ||
	    card_load_mem(out, out_len, &card2, NULL) != 0 ||
	    card_image(card2, &again, &again_len, NULL) != 0 ||
	    again_len != out_len || memcmp(again, out, out_len) != 0)
		abort();
	for (size_t i = 0; i < sizeof(apdu_len) / sizeof(apdu_len[0]); i++)
		if (card_apdu(card, apdus[i], apdu_len[i], resp, sizeof(resp),
			      &rlen) != 0)
			abort();
out:
	jpki_free_secret(out, out_len);
	jpki_free_secret(again, again_len);
	card_free(card2);
	card_free(card);
	free(img);
	return 0;
}
