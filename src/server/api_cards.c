/* /api/v1/cards/virtual/<serial>/image: the one-time download of a virtual
 * My Number Card written by an application's completion
 * (api_applications.c).  Its image -- private keys included -- waits for
 * one download by the same session, at most SRV_DL_TTL seconds, and is
 * zeroed when taken or expired.  Cards are made and changed only by
 * completing applications (one door). */
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "server_int.h"

/* ---- the download table ---- */

static void dl_drop(srv_download *d)
{
	jpki_free_secret(d->img, d->len);
	memset(d, 0, sizeof(*d));
}

void srv_downloads_sweep(server *s, time_t now)
{
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++)
		if (s->dl[i].img != NULL && s->dl[i].expires <= now)
			dl_drop(&s->dl[i]);
	pthread_mutex_unlock(&s->dl_mu);
}

void srv_downloads_free(server *s)
{
	for (size_t i = 0; i < SRV_DL_MAX; i++)
		dl_drop(&s->dl[i]);
}

/* Hand the image to the table (*img taken on success). */
static int dl_put(server *s, const char *serial, const uint8_t *sid,
		  uint8_t **img, size_t len, time_t now)
{
	srv_download *slot = NULL;
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++) {
		srv_download *d = &s->dl[i];
		if (d->img != NULL &&
		    (d->expires <= now || strcmp(d->serial, serial) == 0))
			dl_drop(d);
		if (d->img == NULL && slot == NULL)
			slot = d;
	}
	if (slot != NULL &&
	    jpki_strlcpy(slot->serial, serial, sizeof(slot->serial)) != 0)
		slot = NULL; /* a serial too long to hold: refused */
	if (slot != NULL) {
		memcpy(slot->sid, sid, SRV_SID_LEN);
		slot->img = *img;
		*img = NULL; /* transferred */
		slot->len = len;
		slot->expires = now + SRV_DL_TTL;
	}
	pthread_mutex_unlock(&s->dl_mu);
	return slot != NULL ? 0 : JPKI_ERR_RANGE;
}

typedef struct dl_body {
	uint8_t *img;
	size_t len;
} dl_body;

static ssize_t dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	dl_body *b = cls;
	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
	memcpy(buf, b->img + pos, n);
	return (ssize_t)n;
}

static void dl_free(void *cls)
{
	dl_body *b = cls;
	jpki_free_secret(b->img, b->len);
	free(b);
}

void srv_download_take(srv_req *r)
{
	server *s = r->s;
	time_t now = srv_time(s);
	dl_body *b = calloc(1, sizeof(*b));
	char cd[96];
	if (b == NULL) {
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		return;
	}
	pthread_mutex_lock(&s->dl_mu);
	for (size_t i = 0; i < SRV_DL_MAX; i++) {
		srv_download *d = &s->dl[i];
		if (d->img == NULL || strcmp(d->serial, r->arg) != 0)
			continue;
		if (d->expires <= now) {
			dl_drop(d);
			break;
		}
		if (CRYPTO_memcmp(d->sid, r->sid, SRV_SID_LEN) != 0)
			break;
		b->img = d->img;
		b->len = d->len;
		memset(d, 0, sizeof(*d)); /* taken: downloadable once */
		break;
	}
	pthread_mutex_unlock(&s->dl_mu);
	if (b->img == NULL) {
		free(b);
		srv_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				"no card image waiting for this session: it "
				"is downloadable once, within %d seconds",
				SRV_DL_TTL);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    b->len, 64 * 1024, dl_read, b, dl_free);
	if (resp == NULL) {
		dl_free(b);
		srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				"out of memory");
		return;
	}
	/* the serial is the card's (printable ASCII); keep the file name
	 * to a safe alphabet all the same */
	char name[JPKI_CARD_SERIAL_LEN + 1];
	size_t n = 0;
	for (const char *p = r->arg; *p && n < JPKI_CARD_SERIAL_LEN; p++)
		name[n++] = (*p >= '0' && *p <= '9') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= 'a' && *p <= 'z') || *p == '-'
				? *p
				: '_';
	name[n] = '\0';
	snprintf(cd, sizeof(cd), "attachment; filename=\"card-%s.img\"", name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", cd);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = MHD_HTTP_OK;
}

int srv_download_put(server *s, const char *serial, const uint8_t *sid,
		     uint8_t **img, size_t len, time_t now)
{
	return dl_put(s, serial, sid, img, len, now);
}
