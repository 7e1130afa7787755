/* PC/SC transport: a card in a reader of pcscd, through libpcsclite.
 *
 * One handle = one PC/SC context, one card connection and one PC/SC
 * transaction held until close, so that a VERIFY and the signature it
 * unlocks are never separated by another application's APDUs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winscard.h>

#include "openjpki/transport.h"
#include "openjpki/util.h"

/* pcsc-lite serves at most 16 readers (PCSCLITE_MAX_READERS_CONTEXTS). */
#define PCSC_READERS_MAX 16
/* Bytes of the reader multi-string we accept from pcscd. */
#define PCSC_LIST_MAX (64u * 1024u)
/* GET RESPONSE rounds for one command (T=0 61 XX chains). */
#define PCSC_GET_RESPONSE_MAX 300

struct jpki_pcsc {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	bool have_ctx;
	bool connected;
	bool in_tx;
	bool failed; /* a transmit failed: the card may be gone */
	char *reader;
	char last_error[JPKI_ERR_MSG_MAX];
};

/* The readers pcscd knows and whether each holds a card. */
typedef struct reader_list {
	char *msz; /* multi-string from SCardListReaders */
	size_t n;
	const char *name[PCSC_READERS_MAX];
	DWORD state[PCSC_READERS_MAX];
} reader_list;

static int pcsc_fail(jpki_err *err, int code, const char *what, LONG r)
{
	return jpki_fail(err, code, "%s: %s (0x%08lX)", what,
			 pcsc_stringify_error(r), (unsigned long)r);
}

static int list_readers(SCARDCONTEXT ctx, reader_list *rl, jpki_err *err)
{
	LONG r = SCARD_E_INSUFFICIENT_BUFFER;
	memset(rl, 0, sizeof(*rl));
	/* the list may grow between the size query and the read: retry */
	for (int i = 0; i < 3 && r == SCARD_E_INSUFFICIENT_BUFFER; i++) {
		DWORD len = 0;
		r = SCardListReaders(ctx, NULL, NULL, &len);
		if (r != SCARD_S_SUCCESS)
			break;
		if (len == 0 || len > PCSC_LIST_MAX)
			return jpki_fail(err, JPKI_ERR_TRANSPORT,
					 "pcscd reported a reader list of %lu "
					 "bytes",
					 (unsigned long)len);
		free(rl->msz);
		rl->msz = calloc(1, (size_t)len + 2);
		if (rl->msz == NULL)
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		r = SCardListReaders(ctx, NULL, rl->msz, &len);
	}
	if (r == SCARD_E_NO_READERS_AVAILABLE)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "pcscd has no smart-card reader (for the "
				 "virtual card: install vsmartcard-vpcd and "
				 "restart pcscd)");
	if (r != SCARD_S_SUCCESS)
		return pcsc_fail(err, JPKI_ERR_TRANSPORT, "SCardListReaders",
				 r);
	SCARD_READERSTATE st[PCSC_READERS_MAX];
	memset(st, 0, sizeof(st));
	for (const char *p = rl->msz; *p != '\0' && rl->n < PCSC_READERS_MAX;
	     p += strlen(p) + 1) {
		rl->name[rl->n] = p;
		st[rl->n].szReader = p;
		st[rl->n].dwCurrentState = SCARD_STATE_UNAWARE;
		rl->n++;
	}
	if (rl->n == 0)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND,
				 "pcscd has no smart-card reader");
	r = SCardGetStatusChange(ctx, 0, st, (DWORD)rl->n);
	if (r != SCARD_S_SUCCESS && r != SCARD_E_TIMEOUT)
		return pcsc_fail(err, JPKI_ERR_TRANSPORT,
				 "SCardGetStatusChange", r);
	for (size_t i = 0; i < rl->n; i++)
		rl->state[i] = st[i].dwEventState;
	return 0;
}

static bool has_card(DWORD state)
{
	return (state & SCARD_STATE_PRESENT) != 0 &&
	       (state & SCARD_STATE_MUTE) == 0;
}

/* "A (card), B (empty)" for error messages. */
static void describe(const reader_list *rl, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < rl->n && used < cap; i++) {
		const char *what = has_card(rl->state[i]) ? "card"
				   : (rl->state[i] & SCARD_STATE_MUTE)
				       ? "unresponsive card"
				       : "empty";
		int w = snprintf(out + used, cap - used, "%s'%s' (%s)",
				 i ? ", " : "", rl->name[i], what);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int transport_pcsc_open(const char *reader, jpki_pcsc **out, jpki_err *err)
{
	jpki_pcsc *t = calloc(1, sizeof(*t));
	reader_list rl;
	char seen[160];
	const char *pick = NULL;
	bool want_auto = reader == NULL || strcmp(reader, "auto") == 0;
	LONG r;
	int rc = 0;
	memset(&rl, 0, sizeof(rl));
	if (t == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	r = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &t->ctx);
	if (r != SCARD_S_SUCCESS) {
		rc = r == SCARD_E_NO_SERVICE
			 ? jpki_fail(err, JPKI_ERR_TRANSPORT,
				     "pcscd is not running (start it, e.g. "
				     "`pcscd` or `systemctl start "
				     "pcscd.socket`)")
			 : pcsc_fail(err, JPKI_ERR_TRANSPORT,
				     "SCardEstablishContext", r);
		goto out;
	}
	t->have_ctx = true;
	if ((rc = list_readers(t->ctx, &rl, err)) != 0)
		goto out;
	describe(&rl, seen, sizeof(seen));
	for (size_t i = 0; i < rl.n && pick == NULL; i++) {
		if (want_auto ? has_card(rl.state[i])
			      : strcmp(rl.name[i], reader) == 0)
			pick = rl.name[i];
	}
	if (pick == NULL) {
		rc =
		    want_auto
			? jpki_fail(err, JPKI_ERR_NOT_FOUND,
				    "no reader holds a card; readers: %s", seen)
			: jpki_fail(err, JPKI_ERR_NOT_FOUND,
				    "no reader named '%s'; readers: %s", reader,
				    seen);
		goto out;
	}
	if ((t->reader = strdup(pick)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = SCardConnect(t->ctx, t->reader, SCARD_SHARE_SHARED,
			 SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &t->h,
			 &t->proto);
	if (r == SCARD_E_NO_SMARTCARD || r == SCARD_W_REMOVED_CARD) {
		rc = jpki_fail(err, JPKI_ERR_NOT_FOUND,
			       "no card in reader '%s'; readers: %s", t->reader,
			       seen);
		goto out;
	}
	if (r != SCARD_S_SUCCESS) {
		rc = pcsc_fail(err, JPKI_ERR_TRANSPORT, "SCardConnect", r);
		goto out;
	}
	t->connected = true;
	r = SCardBeginTransaction(t->h);
	if (r == SCARD_W_RESET_CARD) {
		/* reset by another application since we connected: our
		 * session has no state yet, take the card as it is */
		r = SCardReconnect(t->h, SCARD_SHARE_SHARED,
				   SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
				   SCARD_LEAVE_CARD, &t->proto);
		if (r == SCARD_S_SUCCESS)
			r = SCardBeginTransaction(t->h);
	}
	if (r != SCARD_S_SUCCESS) {
		rc = pcsc_fail(err, JPKI_ERR_TRANSPORT, "SCardBeginTransaction",
			       r);
		goto out;
	}
	t->in_tx = true;
	*out = t;
	t = NULL; /* transferred */
out:
	free(rl.msz);
	transport_pcsc_close(t);
	return rc;
}

/* Index of the Le byte of a short case 2 or case 4 command, or 0. */
static size_t short_le_pos(const uint8_t *cmd, size_t n)
{
	if (n == 5)
		return 4;
	if (n > 5 && cmd[4] != 0 && n == 5u + cmd[4] + 1u)
		return n - 1;
	return 0;
}

static int xmit(jpki_pcsc *t, const uint8_t *cmd, size_t n, uint8_t *resp,
		size_t cap, size_t *rlen)
{
	const SCARD_IO_REQUEST *pci =
	    t->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	DWORD len = (DWORD)cap;
	LONG r = SCardTransmit(t->h, pci, cmd, (DWORD)n, NULL, resp, &len);
	if (r != SCARD_S_SUCCESS) {
		const char *why =
		    r == SCARD_W_RESET_CARD ? "the card was reset by another "
					      "application"
		    : r == SCARD_W_REMOVED_CARD ? "the card was removed"
						: pcsc_stringify_error(r);
		snprintf(t->last_error, sizeof(t->last_error),
			 "SCardTransmit on '%s': %s (0x%08lX)", t->reader, why,
			 (unsigned long)r);
		t->failed = true;
		return JPKI_ERR_TRANSPORT;
	}
	if (len < 2 || len > cap) {
		snprintf(t->last_error, sizeof(t->last_error),
			 "reader '%s' returned %lu response bytes", t->reader,
			 (unsigned long)len);
		return JPKI_ERR_TRANSPORT;
	}
	*rlen = len;
	return 0;
}

int transport_pcsc_transmit(void *ctx, const uint8_t *cmd, size_t n,
			    uint8_t *resp, size_t cap, size_t *rlen)
{
	jpki_pcsc *t = ctx;
	size_t got = 0;
	int rc;
	if (t == NULL || !t->connected || cmd == NULL || resp == NULL ||
	    rlen == NULL || n < 4 || n > JPKI_CARD_CMD_MAX || cap < 2)
		return JPKI_ERR_INVAL;
	if ((rc = xmit(t, cmd, n, resp, cap, &got)) != 0)
		return rc;
	size_t lepos = short_le_pos(cmd, n);
	if (got == 2 && resp[0] == 0x6C && lepos != 0) {
		/* T=0: wrong Le, the card says how many bytes it has */
		uint8_t again[5 + 255 + 1];
		memcpy(again, cmd, n);
		again[lepos] = resp[1];
		if ((rc = xmit(t, again, n, resp, cap, &got)) != 0)
			return rc;
	}
	/* T=0: 61 XX = XX more bytes wait for GET RESPONSE */
	for (int round = 0; resp[got - 2] == 0x61; round++) {
		size_t have = got - 2, more = 0;
		uint8_t gr[5] = {(uint8_t)(cmd[0] & 0x03), 0xC0, 0x00, 0x00,
				 resp[got - 1]};
		if (round >= PCSC_GET_RESPONSE_MAX || cap - have < 2) {
			snprintf(t->last_error, sizeof(t->last_error),
				 "response from '%s' longer than %zu bytes",
				 t->reader, cap);
			return JPKI_ERR_TRANSPORT;
		}
		if ((rc = xmit(t, gr, sizeof(gr), resp + have, cap - have,
			       &more)) != 0)
			return rc;
		got = have + more;
	}
	*rlen = got;
	return 0;
}

jpki_link transport_pcsc_link(jpki_pcsc *t)
{
	jpki_link l = {transport_pcsc_transmit, t};
	return l;
}

int transport_pcsc_reset(jpki_pcsc *t, bool unpower, jpki_err *err)
{
	if (t == NULL || !t->connected)
		return jpki_fail(err, JPKI_ERR_INVAL, "no card connection");
	if (t->in_tx) {
		(void)SCardEndTransaction(t->h, SCARD_LEAVE_CARD);
		t->in_tx = false;
	}
	LONG r = SCardReconnect(
	    t->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
	    unpower ? SCARD_UNPOWER_CARD : SCARD_RESET_CARD, &t->proto);
	if (r != SCARD_S_SUCCESS)
		return pcsc_fail(err, JPKI_ERR_TRANSPORT, "SCardReconnect", r);
	if ((r = SCardBeginTransaction(t->h)) != SCARD_S_SUCCESS)
		return pcsc_fail(err, JPKI_ERR_TRANSPORT,
				 "SCardBeginTransaction", r);
	t->in_tx = true;
	return 0;
}

const char *transport_pcsc_reader(const jpki_pcsc *t)
{
	return t != NULL && t->reader != NULL ? t->reader : "";
}

const char *transport_pcsc_error(const jpki_pcsc *t)
{
	return t != NULL ? t->last_error : "";
}

void transport_pcsc_close(jpki_pcsc *t)
{
	if (t == NULL)
		return;
	if (t->in_tx)
		(void)SCardEndTransaction(t->h, SCARD_LEAVE_CARD);
	/* After a failed transmit the card is likely gone: pcscd 1.9.9
	 * then fails the reset and leaves the reader marked empty even
	 * when a card comes back, so leave it as it is. */
	if (t->connected)
		(void)SCardDisconnect(t->h, t->failed ? SCARD_LEAVE_CARD
						      : SCARD_RESET_CARD);
	if (t->have_ctx)
		(void)SCardReleaseContext(t->ctx);
	free(t->reader);
	free(t);
}
