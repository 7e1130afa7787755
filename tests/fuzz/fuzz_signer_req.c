/* Fuzz target: a request body as jpki-signer reads it from jpkid
 * (signer_req_parse), then the checks before any key is used
 * (signer_policy_check) with the fixture's test-profile roots.
 * Invariants: a parsed request names a known op, a label of [a-z0-9_-]
 * and a payload inside the input within the op's cap, and encodes back to
 * exactly the input; every refusal carries a message; an accepted
 * TBSCertificate passes the CA's own lint, and once its serial is marked
 * used the same request is refused.  Seeds (tests/fuzz/corpus/
 * fuzz_signer_req, tests/fuzz/make_signer_seeds.sh): a valid request of
 * each kind from the fixture's TBS, CRL and OCSP seeds, and near misses. */
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/signer.h"
#include "openjpki/x509.h"
#include "validation_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *roots[2];
static x509_issuer *iss[2];

static void cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		X509_free(roots[i]);
		x509_issuer_free(iss[i]);
	}
}

static X509 *pem(const char *s)
{
	BIO *b = BIO_new_mem_buf(s, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

static void setup(void)
{
	static int done;
	jpki_err err = {0};
	if (done)
		return;
	roots[0] = pem(fx_sign_root_pem);
	roots[1] = pem(fx_auth_root_pem);
	if (x509_init(&err) != 0 ||
	    x509_issuer_new(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, roots[0],
			    &iss[0], &err) != 0 ||
	    x509_issuer_new(JPKI_PROFILE_TEST, JPKI_CERT_AUTH, roots[1],
			    &iss[1], &err) != 0)
		abort();
	atexit(cleanup);
	done = 1;
}

static void label_ok(const char *l)
{
	size_t n = strlen(l);
	if (n == 0 || n > SIGNER_LABEL_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((l[i] >= 'a' && l[i] <= 'z') ||
		      (l[i] >= '0' && l[i] <= '9') || l[i] == '-' ||
		      l[i] == '_'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_req rq;
	signer_entry e;
	signer_policy *pol = NULL;
	jpki_err err = {0};
	jpki_wbuf w;
	setup();
	if (signer_req_parse(data, size, &rq, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();
		return 0;
	}
	label_ok(rq.label);
	if (rq.payload_len > signer_op_payload_max(rq.op) ||
	    (rq.payload_len > 0 &&
	     (rq.payload < data || rq.payload + rq.payload_len > data + size)))
		abort();
	/* the encoding is the one the client writes */
	jpki_wbuf_init(&w, SIGNER_FRAME_MAX + 8);
	if (signer_req_encode(rq.op, rq.label, rq.payload, rq.payload_len, &w,
			      &err) != 0 ||
	    w.len != size + 4 || memcmp(w.p + 4, data, size) != 0)
		abort();
	jpki_wbuf_free(&w);
	if (signer_policy_new(roots[0], roots[1], &pol, &err) != 0)
		abort();
	memset(&err, 0, sizeof(err));
	int rc = signer_policy_check(pol, &rq, &e, &err);
	if (rc != 0) {
		if (err.msg[0] == '\0')
			abort();
	} else if (rq.op == SIGNER_OP_CERT) {
		int ri = strcmp(rq.label, "sign-root") == 0 ? 0 : 1;
		if (x509_lint_leaf_tbs(iss[ri], rq.payload, rq.payload_len,
				       NULL) != 0 ||
		    e.serial_len == 0 ||
		    signer_policy_mark(pol, e.serial, e.serial_len, NULL) !=
			0 ||
		    signer_policy_check(pol, &rq, &e, &err) != JPKI_ERR_POLICY)
			abort();
	} else if (rq.op != SIGNER_OP_CRL && rq.op != SIGNER_OP_OCSP &&
		   rq.op != SIGNER_OP_AUDIT) {
		abort(); /* pubkey and generate are no signatures */
	}
	signer_policy_free(pol);
	return 0;
}
