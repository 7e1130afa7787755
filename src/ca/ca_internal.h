/* ca/ internals shared by its files. */
#ifndef JPKI_CA_INTERNAL_H
#define JPKI_CA_INTERNAL_H

#include <limits.h>

#include "openjpki/ca.h"
#include "openjpki/keystore.h"

/* Root certificates are stored with kind = CA_ROOT_KIND_BASE + hierarchy;
 * so are the link certificates of a rollover (ca_rollover). */
#define CA_ROOT_KIND_BASE 10
/* Root generations a hierarchy may have (J-LIS: one every 4 years or so). */
#define CA_GEN_MAX 16
#define CA_SERIAL_BYTES 16

struct jpki_ca {
	char dir[PATH_MAX];
	jpki_profile profile;
	store *st;
	keystore *ks;
	/* Every generation's root and key, [kind][gen - 1]; root[k] and
	 * key[k] alias the newest, which issues (ngen[k] generations). */
	X509 *groot[3][CA_GEN_MAX];
	EVP_PKEY *gkey[3][CA_GEN_MAX];
	int ngen[3];
	X509 *root[3];	  /* index by jpki_cert_kind: the newest generation */
	EVP_PKEY *key[3]; /* its private key */
	/* CN sequence numbers reserved in blocks (see seq_next in issue.c) */
	int64_t seq_next[3], seq_end[3], seq_block[3];
	/* The issuing path, prepared once per handle (issue.c): each
	 * hierarchy's root for the DER builders, and a signing context on its
	 * key, PKCS#1 v1.5 with SHA-256, that every leaf reuses. */
	x509_issuer *issuer[3];
	EVP_PKEY_CTX *sign_ctx[3];
	/* the keys sign whole messages (the signer process): sign_tbs hands
	 * over the TBSCertificate, not its hash */
	bool sign_msg;
	EVP_MD *sha256;
	EVP_MD_CTX *md_ctx;
	/* Random octets for serials and authentication ids, drawn from the
	 * DRBG a block at a time (one RAND_bytes per 25 pairs instead of
	 * three per pair); used octets are wiped. */
	uint8_t rnd[768];
	size_t rnd_off;
};

const char *ca_key_label(jpki_cert_kind kind);
/* The keystore label of a generation's root key: ca_key_label for the
 * first (CAs from before rollover keep theirs), "sign-root-N" after. */
void ca_key_label_gen(jpki_cert_kind kind, int gen, char out[32]);
/* The generation whose root issued a stored row (0 read as 1); -1 when
 * the CA has no such generation. */
int ca_row_gen(const jpki_ca *ca, jpki_cert_kind kind, int gen);
/* The memory a CRL's spooled entries may take before they go to a file
 * (crl.c): JPKI_SPOOL_MEM_DEFAULT; a test hook, tests set less. */
extern size_t ca_crl_spool_mem;
/* A fresh unpredictable positive serial (CA_SERIAL_BYTES), for a root. */
JPKI_MUST_CHECK int ca_new_serial(uint8_t out[CA_SERIAL_BYTES], jpki_err *err);
/* A leaf's serial: unique by the hierarchy's sequence number, unpredictable
 * by 80 random bits (issue.c, docs/decisions.md). */
JPKI_MUST_CHECK int ca_leaf_serial(jpki_ca *ca, jpki_cert_kind kind,
				   int64_t seq, uint8_t out[CA_SERIAL_BYTES],
				   jpki_err *err);
/* Upper-case hex of a serial's magnitude, as the store keys it. */
void ca_serial_bytes_hex(const uint8_t *serial, size_t len,
			 char out[STORE_SERIAL_HEX_MAX]);
/* Prepare / release the per-handle issuing path (issuer, sign_ctx). */
JPKI_MUST_CHECK int ca_issuing_open(jpki_ca *ca, jpki_err *err);
void ca_issuing_close(jpki_ca *ca);
/* Lint and sign a leaf or root. */
JPKI_MUST_CHECK int ca_sign_cert(jpki_ca *ca, jpki_cert_kind kind, bool root,
				 X509 *cert, EVP_PKEY *key, jpki_err *err);
/* Record a signed certificate in the store (inside the caller's txn). */
JPKI_MUST_CHECK int ca_record(jpki_ca *ca, X509 *cert, int kind, int gen,
			      int64_t resident_id, const char *card_serial,
			      const char *muni_code, jpki_err *err);
/* Make generation `gen`'s root of a hierarchy: key in the keystore under
 * ca_key_label_gen, self-signed root recorded and written to
 * DIR/roots/<label>.pem, store meta naming it (inside the caller's txn).
 * *cert_out / *key_out (optional) receive them.  On failure the key and
 * the PEM it made are removed again (ca_unmake_root), so the label is
 * free for the next try. */
JPKI_MUST_CHECK int ca_make_root(jpki_ca *ca, jpki_cert_kind kind, int gen,
				 time_t now, X509 **cert_out,
				 EVP_PKEY **key_out, jpki_err *err);
/* Undo ca_make_root's files after its transaction was rolled back: the key
 * labelled for generation `gen` leaves the keystore and
 * DIR/roots/<label>.pem is removed (either may be absent).  `err` holds
 * the failure that led here: when the undoing fails too, that is added to
 * its message. */
void ca_unmake_root(jpki_ca *ca, jpki_cert_kind kind, int gen, jpki_err *err);
/* How many root generations a hierarchy has (1 for CAs from before). */
JPKI_MUST_CHECK int ca_generations(jpki_ca *ca, jpki_cert_kind kind, int *n,
				   jpki_err *err);
/* PEM of cert to DIR/sub/name.pem, atomically. */
JPKI_MUST_CHECK int ca_write_pem(const char *dir, const char *sub,
				 const char *name, X509 *cert, jpki_err *err);

/* Make the audit key (and DIR/audit/key.pub.pem) unless there is one
 * (audit.c; ca_init does it for a token keystore). */
JPKI_MUST_CHECK int ca_audit_key_make(jpki_ca *ca, jpki_err *err);

#endif
