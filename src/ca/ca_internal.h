/* ca/ internals shared by its files. */
#ifndef JPKI_CA_INTERNAL_H
#define JPKI_CA_INTERNAL_H

#include <limits.h>

#include "openjpki/ca.h"
#include "openjpki/keystore.h"

/* Root certificates are stored with kind = CA_ROOT_KIND_BASE + hierarchy. */
#define CA_ROOT_KIND_BASE 10
#define CA_SERIAL_BYTES 16

struct jpki_ca {
	char dir[PATH_MAX];
	jpki_profile profile;
	store *st;
	keystore *ks;
	X509 *root[3];      /* index by jpki_cert_kind */
	EVP_PKEY *key[3];   /* root private keys */
	/* CN sequence numbers reserved in blocks (see seq_next in issue.c) */
	int64_t seq_next[3], seq_end[3];
};

const char *ca_key_label(jpki_cert_kind kind);
/* A fresh unpredictable positive serial (CA_SERIAL_BYTES). */
int ca_new_serial(uint8_t out[CA_SERIAL_BYTES], jpki_err *err);
/* Lint and sign a leaf or root. */
int ca_sign_cert(jpki_ca *ca, jpki_cert_kind kind, bool root, X509 *cert,
		 EVP_PKEY *key, jpki_err *err);
/* Record a signed certificate in the store (inside the caller's txn). */
int ca_record(jpki_ca *ca, X509 *cert, int kind, int64_t resident_id,
	      const char *card_serial, const char *muni_code, jpki_err *err);

#endif
