/* openjpki — how a terminal reaches a card.
 *
 * Every transport offers a jpki_transmit_fn (declared in card.h: send one
 * command APDU, receive the response APDU) so that the host code of
 * card.h (card_client_*, card_term_*) runs unchanged in-process, over
 * PC/SC, or against a real card. */
#ifndef OPENJPKI_TRANSPORT_H
#define OPENJPKI_TRANSPORT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openjpki/card.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* In-process transport: a card image file loaded into this process.   */

typedef struct jpki_inproc jpki_inproc;

/* Load the card image at path (card_load(): locked, bound, every
 * persistent change written back atomically before the response is
 * returned) and power it on.  Caller closes with transport_inproc_close(). */
JPKI_MUST_CHECK int transport_inproc_open(const char *path, jpki_inproc **out,
					  jpki_err *err);

/* jpki_transmit_fn with ctx = the jpki_inproc. */
JPKI_MUST_CHECK int transport_inproc_transmit(void *ctx, const uint8_t *cmd,
					      size_t n, uint8_t *resp,
					      size_t cap, size_t *rlen);

/* {transport_inproc_transmit, t}: ready for card_client_* / card_term_*. */
jpki_link transport_inproc_link(jpki_inproc *t);

/* Power off/on/reset (clears the card's security state). */
void transport_inproc_power(jpki_inproc *t, jpki_card_power event);

/* The card behind the transport (borrowed; valid until close). */
jpki_card *transport_inproc_card(jpki_inproc *t);

/* Release the card (its state is already on disk).  NULL is fine. */
void transport_inproc_close(jpki_inproc *t);

/* ================================================================== */
/* PC/SC and vpcd (src/transport/pcsc.c, src/transport/vpcd.c).        */

/* --- PC/SC: a card in a reader of pcscd (libpcsclite) ------------- */

typedef struct jpki_pcsc jpki_pcsc;

/* Connect to the card in `reader` (exact PC/SC reader name), or, when
 * reader is NULL or "auto", in the first reader that holds a card.
 * Protocol T=1 or T=0 (pcscd negotiates; T=1 for the JPKI ATR).  The
 * handle holds a PC/SC transaction until close, so that no other
 * application's APDUs interleave with ours (e.g. between VERIFY and the
 * signature).  Errors (JPKI_ERR_TRANSPORT / JPKI_ERR_NOT_FOUND) name the
 * readers there are and whether each holds a card.  Caller closes with
 * transport_pcsc_close(). */
JPKI_MUST_CHECK int transport_pcsc_open(const char *reader, jpki_pcsc **out,
					jpki_err *err);

/* jpki_transmit_fn with ctx = the jpki_pcsc.  Handles 61 XX (GET
 * RESPONSE) and 6C XX (repeat with Le = XX) for T=0 readers; a card reset
 * or removed by someone else is a transport error. */
JPKI_MUST_CHECK int transport_pcsc_transmit(void *ctx, const uint8_t *cmd,
					    size_t n, uint8_t *resp, size_t cap,
					    size_t *rlen);

/* {transport_pcsc_transmit, t}. */
jpki_link transport_pcsc_link(jpki_pcsc *t);

/* Warm reset (SCARD_RESET_CARD), or a power cycle (SCARD_UNPOWER_CARD)
 * when `unpower`: the card forgets verified PINs and selections. */
JPKI_MUST_CHECK int transport_pcsc_reset(jpki_pcsc *t, bool unpower,
					 jpki_err *err);

/* Name of the reader in use (valid until close). */
const char *transport_pcsc_reader(const jpki_pcsc *t);

/* What the last failed transmit said (reader, PC/SC error): the
 * jpki_transmit_fn only returns a code.  "" when nothing failed. */
const char *transport_pcsc_error(const jpki_pcsc *t);

/* End the transaction and disconnect with SCARD_RESET_CARD, so that no
 * PIN verified through this handle stays verified for other
 * applications; release the context.  NULL is fine. */
void transport_pcsc_close(jpki_pcsc *t);

/* --- vpcd bridge: a jpki_card served to pcscd's vsmartcard reader ---- */

/* vsmartcard's ifd-vpcd listens on CHANNELID 0x8C7B = 35963 for slot 0
 * (Debian: /etc/reader.conf.d/vpcd, reader "Virtual PCD 00 00"). */
#define JPKI_VPCD_PORT 35963
/* Frames are a 2-byte big-endian length and that many bytes. */
#define JPKI_VPCD_FRAME_MAX 65535

typedef enum jpki_vpcd_event {
	JPKI_VPCD_EV_CONNECTED = 1, /* detail: "host:port" */
	JPKI_VPCD_EV_RETRY = 2,	    /* connect failed; detail: why */
	JPKI_VPCD_EV_CLOSED = 3,    /* connection ended; detail: why */
} jpki_vpcd_event;

typedef struct jpki_vpcd_opts {
	const char *host;  /* NULL = "127.0.0.1" */
	uint16_t port;	   /* 0 = JPKI_VPCD_PORT */
	bool allow_remote; /* default: only loopback addresses */
	/* Largest frame accepted from vpcd; 0 = JPKI_VPCD_FRAME_MAX.  A
	 * larger (or empty) frame drops the connection. */
	size_t max_frame;
	/* Reconnect backoff: starts at 50 ms, doubles up to this; 0 = 2000. */
	int backoff_max_ms;
	/* A frame must arrive whole within this; 0 = 5000 ms. */
	int io_timeout_ms;
	/* Return after the first connection ends instead of reconnecting
	 * (tests).  Also: give up after `connect_tries` failed connects
	 * (0 = never). */
	bool once;
	unsigned connect_tries;
	/* Set (by a signal handler, another thread) to stop; checked at
	 * least every 200 ms.  A lock-free atomic, so both may set it.
	 * May be NULL. */
	atomic_int *stop;
	/* Progress for the operator (library code does not print).  The
	 * frequent GET ATR presence polls are not reported.  May be NULL. */
	void (*event)(void *ctx, jpki_vpcd_event ev, unsigned attempt,
		      const char *detail);
	void *event_ctx;
} jpki_vpcd_opts;

typedef struct jpki_vpcd_stats {
	unsigned long connections;
	unsigned long apdus;
	unsigned long controls; /* power off/on/reset and GET ATR */
} jpki_vpcd_stats;

/* Connect `card` to vpcd and answer it until *opts->stop is set (returns
 * 0), or, with opts->once, until the connection ends (0 when vpcd closed
 * it, JPKI_ERR_PARSE for a protocol violation).  Control messages (one
 * byte): 00 power off, 01 power on, 02 reset (no answer), 04 GET ATR
 * (answered with the ATR); anything longer is a command APDU answered by
 * card_apdu().  A lost connection powers the card off (its security state
 * is cleared) and is re-established with backoff.  Refuses a host that is
 * not a loopback address unless opts->allow_remote (JPKI_ERR_POLICY).
 * stats (may be NULL) is updated as frames are handled. */
JPKI_MUST_CHECK int transport_vpcd_serve(jpki_card *card,
					 const jpki_vpcd_opts *opts,
					 jpki_vpcd_stats *stats, jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
