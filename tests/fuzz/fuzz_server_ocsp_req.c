/* Fuzz target: jpkid's hot-path reader of OCSP requests (server/
 * ocsp_req.c).  Whatever it accepts as the simple RFC 5019 shape must be
 * outlined consistently (wrapping its CertID again reads back the same),
 * and when OpenSSL parses it too, both agree on the CertID bytes (the
 * cache key). */
#include <openssl/ocsp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static srv_issuer_hashes roots[3];
	srv_ocsp_parsed p, q;
	uint8_t w[SRV_OCSP_KEY_MAX + 32];
	size_t wl = 0;
	if (srv_ocsp_parse(data, size, roots, &p) != 0 || !p.simple)
		return 0;
	if (p.key_off + p.key_len > size || p.serial_len == 0 ||
	    p.serial_len > 20)
		abort();
	if (srv_ocsp_wrap(data + p.key_off, p.key_len, w, sizeof(w), &wl) !=
		0 ||
	    srv_ocsp_parse(w, wl, roots, &q) != 0 || !q.simple ||
	    q.key_len != p.key_len ||
	    memcmp(w + q.key_off, data + p.key_off, p.key_len) != 0)
		abort();
	/* OpenSSL may still refuse what this reader outlines (an OID's
	 * encoding, say): jpkid then answers from OpenSSL's verdict on the
	 * slow path.  What both accept must agree on the CertID. */
	const unsigned char *pp = data;
	OCSP_REQUEST *rq = d2i_OCSP_REQUEST(NULL, &pp, (long)size);
	if (rq == NULL || pp != data + size) {
		OCSP_REQUEST_free(rq);
		return 0;
	}
	if (OCSP_request_onereq_count(rq) != 1)
		abort();
	OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, 0));
	unsigned char *idd = NULL;
	int il = i2d_OCSP_CERTID(id, &idd);
	/* OpenSSL re-encodes; for DER input the bytes are the same */
	if (il != (int)p.key_len || memcmp(idd, data + p.key_off, p.key_len))
		abort();
	OPENSSL_free(idd);
	OCSP_REQUEST_free(rq);
	return 0;
}
