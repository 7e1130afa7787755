/* The jpkid <-> jpki-signer protocol (include/openjpki/signer_proto.h):
 * framing and the bounded parse of requests and responses, shared by the
 * keystore's signer client and the signer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore_internal.h"
#include "openjpki/signer_proto.h"

size_t signer_op_payload_max(uint8_t op)
{
	switch (op) {
	case SIGNER_OP_PUBKEY:
	case SIGNER_OP_GENERATE: return 0;
	case SIGNER_OP_CERT: return 8192; /* X509_TBS_MAX */
	case SIGNER_OP_CRL: return SIGNER_FRAME_MAX - 128;
	case SIGNER_OP_OCSP: return 1u << 20;
	case SIGNER_OP_AUDIT: return 512;
	default: return 0;
	}
}

const char *signer_op_name(uint8_t op)
{
	switch (op) {
	case SIGNER_OP_PUBKEY: return "pubkey";
	case SIGNER_OP_GENERATE: return "generate";
	case SIGNER_OP_CERT: return "cert";
	case SIGNER_OP_CRL: return "crl";
	case SIGNER_OP_OCSP: return "ocsp";
	case SIGNER_OP_AUDIT: return "audit";
	default: return "unknown";
	}
}

int signer_req_parse(const uint8_t *body, size_t len, signer_req *out,
		     jpki_err *err)
{
	jpki_rbuf b;
	uint8_t ver, op, llen;
	uint32_t plen;
	const uint8_t *label, *payload;
	jpki_rbuf_init(&b, body, len);
	if (jpki_rbuf_u8(&b, &ver) != 0 || jpki_rbuf_u8(&b, &op) != 0 ||
	    jpki_rbuf_u8(&b, &llen) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "signer: short request");
	if (ver != SIGNER_PROTO_VERSION)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: protocol version %u, not %u", ver,
				 SIGNER_PROTO_VERSION);
	if (op < SIGNER_OP_PUBKEY || op > SIGNER_OP_AUDIT)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: unknown request %u", op);
	if (llen == 0 || llen > SIGNER_LABEL_MAX ||
	    jpki_rbuf_ptr(&b, &label, llen) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: bad key label length");
	if (jpki_rbuf_u32be(&b, &plen) != 0 ||
	    plen > signer_op_payload_max(op) ||
	    jpki_rbuf_ptr(&b, &payload, plen) != 0 || jpki_rbuf_end(&b) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: bad %s payload length",
				 signer_op_name(op));
	if ((op != SIGNER_OP_PUBKEY && op != SIGNER_OP_GENERATE) && plen == 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: empty %s payload",
				 signer_op_name(op));
	memcpy(out->label, label, llen);
	out->label[llen] = '\0';
	/* a NUL inside would cut the label short of the bytes on the wire */
	if (memchr(label, '\0', llen) != NULL ||
	    ks_label_check(out->label, NULL) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: key label not of [a-z0-9_-]");
	out->op = op;
	out->payload = payload;
	out->payload_len = plen;
	return 0;
}

int signer_req_encode(uint8_t op, const char *label, const uint8_t *payload,
		      size_t payload_len, jpki_wbuf *out, jpki_err *err)
{
	size_t llen = label == NULL ? 0 : strlen(label);
	if (llen == 0 || llen > SIGNER_LABEL_MAX ||
	    payload_len > signer_op_payload_max(op))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "signer: %s request too large",
				 signer_op_name(op));
	size_t body = 3 + llen + 4 + payload_len;
	if (jpki_wbuf_u32be(out, (uint32_t)body) != 0 ||
	    jpki_wbuf_u8(out, SIGNER_PROTO_VERSION) != 0 ||
	    jpki_wbuf_u8(out, op) != 0 ||
	    jpki_wbuf_u8(out, (uint8_t)llen) != 0 ||
	    jpki_wbuf_put(out, label, llen) != 0 ||
	    jpki_wbuf_u32be(out, (uint32_t)payload_len) != 0 ||
	    (payload_len > 0 && jpki_wbuf_put(out, payload, payload_len) != 0))
		return jpki_fail(err, JPKI_ERR_NOMEM,
				 "signer: out of memory for a request");
	return 0;
}

int signer_resp_encode(uint8_t status, const uint8_t *payload,
		       size_t payload_len, jpki_wbuf *out, jpki_err *err)
{
	if (payload_len > 4096)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "signer: response too large");
	if (jpki_wbuf_u32be(out, (uint32_t)(6 + payload_len)) != 0 ||
	    jpki_wbuf_u8(out, SIGNER_PROTO_VERSION) != 0 ||
	    jpki_wbuf_u8(out, status) != 0 ||
	    jpki_wbuf_u32be(out, (uint32_t)payload_len) != 0 ||
	    (payload_len > 0 && jpki_wbuf_put(out, payload, payload_len) != 0))
		return jpki_fail(err, JPKI_ERR_NOMEM,
				 "signer: out of memory for a response");
	return 0;
}

int signer_resp_parse(const uint8_t *body, size_t len, uint8_t *status,
		      const uint8_t **payload, size_t *payload_len,
		      jpki_err *err)
{
	jpki_rbuf b;
	uint8_t ver, st;
	uint32_t plen;
	const uint8_t *p;
	jpki_rbuf_init(&b, body, len);
	if (jpki_rbuf_u8(&b, &ver) != 0 || ver != SIGNER_PROTO_VERSION ||
	    jpki_rbuf_u8(&b, &st) != 0 || st > SIGNER_EXISTS ||
	    jpki_rbuf_u32be(&b, &plen) != 0 ||
	    jpki_rbuf_ptr(&b, &p, plen) != 0 || jpki_rbuf_end(&b) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: malformed response");
	*status = st;
	*payload = p;
	*payload_len = plen;
	return 0;
}

int signer_status_rc(uint8_t status)
{
	switch (status) {
	case SIGNER_OK: return 0;
	case SIGNER_MALFORMED: return JPKI_ERR_PARSE;
	case SIGNER_REFUSED: return JPKI_ERR_POLICY;
	case SIGNER_BUSY: return JPKI_ERR_BUSY;
	case SIGNER_NOT_FOUND: return JPKI_ERR_NOT_FOUND;
	case SIGNER_EXISTS: return JPKI_ERR_EXISTS;
	default: return JPKI_ERR_CRYPTO;
	}
}

static int read_all(int fd, uint8_t *p, size_t n, jpki_err *err)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return jpki_fail(err, JPKI_ERR_IO,
					 "signer: connection %s",
					 r == 0 ? "closed" : strerror(errno));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int signer_frame_read(int fd, size_t max, uint8_t **body, size_t *len,
		      jpki_err *err)
{
	uint8_t hdr[4];
	int rc = read_all(fd, hdr, sizeof(hdr), err);
	if (rc != 0)
		return rc;
	size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		   (size_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > max)
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "signer: frame of %zu octets (1 to %zu)", n,
				 max);
	uint8_t *p = malloc(n);
	if (p == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = read_all(fd, p, n, err)) != 0) {
		free(p);
		return rc;
	}
	*body = p;
	*len = n;
	return 0;
}

int signer_write_all(int fd, const uint8_t *p, size_t n, jpki_err *err)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return jpki_fail(err, JPKI_ERR_IO, "signer: write: %s",
					 w == 0 ? "short" : strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
