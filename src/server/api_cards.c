/* /api/v1/cards/virtual/<serial>/image: the one-time download of a virtual
 * My Number Card written by an application's completion
 * (api_applications.c).  Its image -- private keys included -- waits for
 * one download by the same session, at most SRV_DL_TTL seconds, and is
 * zeroed when taken or expired.  Cards are made and changed only by
 * completing applications (one door). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "server_int.h"

/* ---- the download table: rows of kind download in the store ----
 * so that the node the download reaches needs not be the one that wrote
 * the card.  The image is sealed with AES-256-GCM under SHA-256 of a
 * label and the session id, which the store never holds (only its hash):
 * the rows give nothing to who reads the database.  Row id: SHA-256 of
 * the session id and the card serial. */

#define DL_IV 12
#define DL_TAG 16

static void dl_key(const uint8_t *sid, uint8_t key[32])
{
	static const char label[] = "openjpki card image v1";
	uint8_t buf[sizeof(label) + SRV_SID_LEN];
	unsigned int n = 0;
	memcpy(buf, label, sizeof(label));
	memcpy(buf + sizeof(label), sid, SRV_SID_LEN);
	if (EVP_Digest(buf, sizeof(buf), key, &n, EVP_sha256(), NULL) != 1)
		memset(key, 0, 32); /* then decryption fails: not found */
	OPENSSL_cleanse(buf, sizeof(buf));
}

static void dl_id(const uint8_t *sid, const char *serial,
		  char id[STORE_TOKEN_ID_LEN + 1])
{
	uint8_t buf[SRV_SID_LEN + JPKI_CARD_SERIAL_LEN + 1];
	size_t n = strnlen(serial, JPKI_CARD_SERIAL_LEN);
	memcpy(buf, sid, SRV_SID_LEN);
	memcpy(buf + SRV_SID_LEN, serial, n);
	srv_token_id(buf, SRV_SID_LEN + n, id);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* AES-256-GCM of in (len) into out (len + DL_IV + DL_TAG), or open it. */
static int dl_seal(const uint8_t key[32], const uint8_t *in, size_t len,
		   uint8_t *out, bool open)
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int n = 0, ok = cx != NULL;
	const uint8_t *iv = open ? in : out;
	if (open) {
		in += DL_IV;
		len -= DL_IV + DL_TAG;
	} else if (RAND_bytes(out, DL_IV) != 1)
		ok = 0;
	ok = ok &&
	     EVP_CipherInit_ex(cx, EVP_aes_256_gcm(), NULL, key, iv,
			       open ? 0 : 1) == 1 &&
	     EVP_CipherUpdate(cx, open ? out : out + DL_IV, &n, in, (int)len) ==
		 1;
	if (ok && open)
		ok = EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, DL_TAG,
					 (void *)(in + len)) == 1;
	ok = ok &&
	     EVP_CipherFinal_ex(cx, (open ? out : out + DL_IV) + n, &n) == 1;
	if (ok && !open)
		ok = EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, DL_TAG,
					 out + DL_IV + len) == 1;
	EVP_CIPHER_CTX_free(cx);
	return ok ? 0 : JPKI_ERR_CRYPTO;
}

void srv_downloads_sweep(server *s, time_t now)
{
	srv_tokens_sweep(s->sess, now);
}

void srv_downloads_free(server *s)
{
	(void)s; /* nothing held in memory */
}

/* Hand the image to the table (*img taken on success). */
static int dl_put(server *s, const char *serial, const uint8_t *sid,
		  uint8_t **img, size_t len, time_t now)
{
	store_token k;
	uint8_t key[32], *sealed = NULL;
	size_t n = 0;
	int rc;
	if (len == 0 || len > SRV_DL_IMAGE_MAX)
		return JPKI_ERR_RANGE;
	if ((sealed = malloc(len + DL_IV + DL_TAG)) == NULL)
		return JPKI_ERR_NOMEM;
	memset(&k, 0, sizeof(k));
	dl_id(sid, serial, k.id);
	k.kind = STORE_TOKEN_DOWNLOAD;
	srv_token_id(sid, SRV_SID_LEN, k.owner);
	if (jpki_strlcpy(k.op, serial, sizeof(k.op)) != 0) {
		free(sealed);
		return JPKI_ERR_RANGE; /* a serial too long to hold */
	}
	k.expires = now + SRV_DL_TTL;
	dl_key(sid, key);
	rc = dl_seal(key, *img, len, sealed, false);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0)
		goto out;
	store_token_filter one = {.id = k.id},
			   all = {.kind = STORE_TOKEN_DOWNLOAD,
				  .alive_at = now};
	store *st = srv_sessions_lock(s->sess);
	/* the same card again; should the old row stay, the put below
	 * conflicts and the caller is told */
	jpki_ignore(store_token_delete(st, &one, NULL, NULL));
	if ((rc = store_token_count(st, &all, &n, NULL, NULL)) == 0 &&
	    n >= SRV_DL_MAX)
		rc = JPKI_ERR_RANGE;
	if (rc == 0)
		rc =
		    store_token_put(st, &k, sealed, len + DL_IV + DL_TAG, NULL);
	srv_sessions_unlock(s->sess);
	if (rc == 0) {
		jpki_free_secret(*img, len);
		*img = NULL; /* transferred */
	}
out:
	free(sealed); /* sealed: nothing secret */
	return rc;
}

/* Take the image of (sid, serial): 0 and *img, *len, or not found. */
static int dl_take(server *s, const uint8_t *sid, const char *serial,
		   time_t now, uint8_t **img, size_t *len)
{
	char id[STORE_TOKEN_ID_LEN + 1], owner[STORE_TOKEN_ID_LEN + 1];
	store_token k;
	uint8_t *sealed = NULL, key[32], *plain = NULL;
	size_t sl = 0;
	int rc;
	dl_id(sid, serial, id);
	srv_token_id(sid, SRV_SID_LEN, owner);
	store *st = srv_sessions_lock(s->sess);
	rc = store_token_take(st, id, &k, &sealed, &sl, NULL);
	srv_sessions_unlock(s->sess);
	if (rc != 0)
		return JPKI_ERR_NOT_FOUND;
	if (k.kind != STORE_TOKEN_DOWNLOAD || k.expires <= now ||
	    strcmp(k.owner, owner) != 0 || strcmp(k.op, serial) != 0 ||
	    sealed == NULL || sl <= DL_IV + DL_TAG) {
		rc = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if ((plain = malloc(sl - DL_IV - DL_TAG)) == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	dl_key(sid, key);
	rc = dl_seal(key, sealed, sl, plain, true);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		jpki_free_secret(plain, sl - DL_IV - DL_TAG);
		rc = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	*img = plain;
	*len = sl - DL_IV - DL_TAG;
out:
	free(sealed);
	return rc;
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
	if (dl_take(s, r->sid, r->arg, now, &b->img, &b->len) != 0)
		b->img = NULL;
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
