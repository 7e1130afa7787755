/* In-process transport: a card image file loaded into this process.  The
 * card persists its own state (card_load binds it to the file), so every
 * change is on disk before the response APDU is returned. */
#include <stdlib.h>

#include "openjpki/card.h"
#include "openjpki/transport.h"

struct jpki_inproc {
	jpki_card *card;
};

int transport_inproc_open(const char *path, jpki_inproc **out, jpki_err *err)
{
	jpki_inproc *t = NULL;
	int rc;

	if (path == NULL || out == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card image path");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = card_load(path, &t->card, err)) != 0) {
		free(t);
		return rc;
	}
	card_power(t->card, JPKI_CARD_POWER_ON);
	*out = t;
	return 0;
}

int transport_inproc_transmit(void *ctx, const uint8_t *cmd, size_t n,
			      uint8_t *resp, size_t cap, size_t *rlen)
{
	jpki_inproc *t = ctx;
	if (t == NULL)
		return JPKI_ERR_INVAL;
	return card_apdu(t->card, cmd, n, resp, cap, rlen);
}

jpki_link transport_inproc_link(jpki_inproc *t)
{
	jpki_link l = {transport_inproc_transmit, t};
	return l;
}

void transport_inproc_power(jpki_inproc *t, jpki_card_power event)
{
	if (t != NULL)
		card_power(t->card, event);
}

jpki_card *transport_inproc_card(jpki_inproc *t)
{
	return t == NULL ? NULL : t->card;
}

void transport_inproc_close(jpki_inproc *t)
{
	if (t == NULL)
		return;
	card_free(t->card);
	free(t);
}
