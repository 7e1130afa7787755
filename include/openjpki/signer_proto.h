/* openjpki — the closed protocol between jpkid and jpki-signer
 * (docs/design.md, "The signer process").
 *
 * Every message is a frame: a 4-octet big-endian length N (1 to
 * SIGNER_FRAME_MAX), then N octets.  A request's body:
 *
 *   u8 version (1) | u8 op | u8 label length L (1..64) | L octets label
 *   | u32 payload length P | P octets payload          (nothing after it)
 *
 * and a response's:
 *
 *   u8 version (1) | u8 status | u32 payload length P | P octets payload
 *
 * A response's payload is, for SIGNER_OK, the signature (PKCS#1 v1.5,
 * SHA-256) or a SubjectPublicKeyInfo (PUBKEY, GENERATE); for a refusal, a
 * one-line UTF-8 message.  One request, one response, in order. */
#ifndef OPENJPKI_SIGNER_PROTO_H
#define OPENJPKI_SIGNER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "openjpki/buf.h"
#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGNER_PROTO_VERSION 1
/* the largest frame either side reads (a whole CRL's TBSCertList) */
#define SIGNER_FRAME_MAX (64u << 20)
#define SIGNER_LABEL_MAX 64
#define SIGNER_MSG_MAX 512

enum signer_op {
	SIGNER_OP_PUBKEY = 1,	/* the label's public key (SPKI DER) */
	SIGNER_OP_GENERATE = 2, /* make the audit key if absent */
	SIGNER_OP_CERT = 3,	/* sign a TBSCertificate */
	SIGNER_OP_CRL = 4,	/* sign a TBSCertList */
	SIGNER_OP_OCSP = 5,	/* sign an OCSP ResponseData */
	SIGNER_OP_AUDIT = 6,	/* sign an audit checkpoint */
};

enum signer_status {
	SIGNER_OK = 0,
	SIGNER_MALFORMED = 1, /* not a request of this protocol */
	SIGNER_REFUSED = 2,   /* a request the profile does not allow */
	SIGNER_BUSY = 3,      /* over the rate: try again later */
	SIGNER_NOT_FOUND = 4, /* no such key */
	SIGNER_INTERNAL = 5,  /* the keystore failed */
	SIGNER_EXISTS = 6,    /* GENERATE of a key that exists */
};

typedef struct signer_req {
	uint8_t op;
	char label[SIGNER_LABEL_MAX + 1];
	const uint8_t *payload; /* into the caller's body */
	size_t payload_len;
} signer_req;

/* The most a request of `op` may carry (0 for an unknown op). */
size_t signer_op_payload_max(uint8_t op);
const char *signer_op_name(uint8_t op);

/* A request body (after the frame's length): version, a known op, a
 * label of [a-z0-9_-], a payload within the op's cap, nothing after it.
 * JPKI_ERR_PARSE otherwise. */
JPKI_MUST_CHECK int signer_req_parse(const uint8_t *body, size_t len,
				     signer_req *out, jpki_err *err);
/* A whole request frame (length prefix included) into *out. */
JPKI_MUST_CHECK int signer_req_encode(uint8_t op, const char *label,
				      const uint8_t *payload,
				      size_t payload_len, jpki_wbuf *out,
				      jpki_err *err);
/* A whole response frame into *out. */
JPKI_MUST_CHECK int signer_resp_encode(uint8_t status, const uint8_t *payload,
				       size_t payload_len, jpki_wbuf *out,
				       jpki_err *err);
JPKI_MUST_CHECK int signer_resp_parse(const uint8_t *body, size_t len,
				      uint8_t *status, const uint8_t **payload,
				      size_t *payload_len, jpki_err *err);
/* The jpki_rc a refusal stands for (SIGNER_BUSY: JPKI_ERR_BUSY). */
int signer_status_rc(uint8_t status);

/* Read one frame's body (malloc'd, *len >= 1) of at most `max` octets.
 * JPKI_ERR_IO on end of file or a read error, JPKI_ERR_PARSE for a length
 * of 0 or over max (the stream is then out of step: close it). */
JPKI_MUST_CHECK int signer_frame_read(int fd, size_t max, uint8_t **body,
				      size_t *len, jpki_err *err);
JPKI_MUST_CHECK int signer_write_all(int fd, const uint8_t *p, size_t n,
				     jpki_err *err);

#ifdef __cplusplus
}
#endif
#endif
