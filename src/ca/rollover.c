/* Root key rollover (issue #13 item 3, docs/decisions.md "Root
 * generations"): a new root key for one hierarchy, same DN, new key and
 * SKI, and the two link certificates between the newest generation before
 * and the new one:
 *   NewWithOld  the new root's key certified by the old key: a relying
 *               party that trusts only the old root reaches the new
 *               generation's certificates;
 *   OldWithNew  the old root's key certified by the new key: one that
 *               trusts only the new root reaches the old generation's.
 * Both are kept in the store as CA certificates of the hierarchy (the ARL
 * lists them when revoked) and written to DIR/links/. */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_internal.h"
#include "openjpki/util.h"

/* subj's key and DN under iss's key: a root-shaped CA certificate with
 * authorityKeyIdentifier = iss's SKI, valid from now to the earlier of
 * both roots' notAfter. */
static int make_link(jpki_ca *ca, jpki_cert_kind kind, X509 *subj, X509 *iss,
		     EVP_PKEY *iss_key, time_t now, X509 **out, jpki_err *err)
{
	uint8_t serial[CA_SERIAL_BYTES];
	X509 *x = NULL;
	AUTHORITY_KEYID *ak = NULL;
	int rc;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(iss);
	if (ski == NULL)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "the %s root has no subjectKeyIdentifier",
				 jpki_cert_kind_name(kind));
	if ((rc = ca_new_serial(serial, err)) != 0 ||
	    (rc = x509_root_build(ca->profile, kind, X509_get0_pubkey(subj),
				  serial, sizeof(serial), now, &x, err)) != 0)
		goto out;
	const ASN1_TIME *na = X509_get0_notAfter(subj);
	if (ASN1_TIME_compare(X509_get0_notAfter(iss), na) < 0)
		na = X509_get0_notAfter(iss);
	if ((ak = AUTHORITY_KEYID_new()) == NULL ||
	    (ak->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    X509_set1_notAfter(x, na) != 1 ||
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0,
			      X509V3_ADD_DEFAULT) != 1 ||
	    X509_sign(x, iss_key, EVP_sha256()) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "making a %s link certificate",
			       jpki_cert_kind_name(kind));
		goto out;
	}
	*out = x;
	x = NULL;
out:
	AUTHORITY_KEYID_free(ak);
	X509_free(x);
	return rc;
}

static void fingerprint(X509 *x, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return;
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

int ca_root_gen(const jpki_ca *ca, jpki_cert_kind kind, int gen, X509 **root)
{
	if ((kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH))
		return 0;
	if (gen >= 1 && gen <= ca->ngen[kind] && root != NULL)
		*root = ca->groot[kind][gen - 1];
	return ca->ngen[kind];
}

int ca_rollover(jpki_ca *ca, jpki_cert_kind kind, time_t now, const char *actor,
		ca_rollover_info *info, jpki_err *err)
{
	X509 *root = NULL, *nwo = NULL, *own = NULL;
	EVP_PKEY *key = NULL;
	char label[32], old_label[32], name[80], links[PATH_MAX + 8];
	char detail[256];
	int rc, gen;
	if (kind != JPKI_CERT_SIGN && kind != JPKI_CERT_AUTH)
		return jpki_fail(err, JPKI_ERR_INVAL, "unknown hierarchy");
	gen = ca->ngen[kind] + 1;
	if (gen > CA_GEN_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "the %s hierarchy has %d root generations "
				 "already",
				 jpki_cert_kind_name(kind), CA_GEN_MAX);
	X509 *old = ca->root[kind];
	EVP_PKEY *old_key = ca->key[kind];
	ca_key_label_gen(kind, gen, label);
	ca_key_label_gen(kind, gen - 1, old_label);
	snprintf(links, sizeof(links), "%s/links", ca->dir);
	if ((rc = jpki_mkdirs(links, 0755, err)) != 0)
		return rc;
	if ((rc = store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = ca_make_root(ca, kind, gen, now, &root, &key, err)) != 0 ||
	    (rc = make_link(ca, kind, root, old, old_key, now, &nwo, err)) !=
		0 ||
	    (rc = make_link(ca, kind, old, root, key, now, &own, err)) != 0 ||
	    (rc = ca_record(ca, nwo, CA_ROOT_KIND_BASE + (int)kind, gen - 1, 0,
			    NULL, NULL, err)) != 0 ||
	    (rc = ca_record(ca, own, CA_ROOT_KIND_BASE + (int)kind, gen, 0,
			    NULL, NULL, err)) != 0)
		goto fail;
	/* NewWithOld: the new key under the old; OldWithNew: the reverse */
	snprintf(name, sizeof(name), "%s-with-%d", label, gen - 1);
	if ((rc = ca_write_pem(ca->dir, "links", name, nwo, err)) != 0)
		goto fail;
	snprintf(name, sizeof(name), "%s-with-%d", old_label, gen);
	if ((rc = ca_write_pem(ca->dir, "links", name, own, err)) != 0)
		goto fail;
	ca_rollover_info inf;
	memset(&inf, 0, sizeof(inf));
	inf.kind = kind;
	inf.gen = gen;
	fingerprint(root, inf.sha256);
	if ((rc = ca_serial_hex(root, inf.serial, err)) != 0 ||
	    (rc = ca_serial_hex(nwo, inf.new_with_old, err)) != 0 ||
	    (rc = ca_serial_hex(own, inf.old_with_new, err)) != 0)
		goto fail;
	snprintf(detail, sizeof(detail),
		 "kind=%s gen=%d serial=%s sha256=%s new_with_old=%s "
		 "old_with_new=%s",
		 jpki_cert_kind_name(kind), gen, inf.serial, inf.sha256,
		 inf.new_with_old, inf.old_with_new);
	if ((rc = store_audit_append(ca->st, now, actor ? actor : "ca",
				     "ca.rollover", detail, err)) != 0 ||
	    (rc = store_commit(ca->st, err)) != 0)
		goto fail;
	/* the handle issues under the new generation from here on */
	ca->groot[kind][gen - 1] = root;
	ca->gkey[kind][gen - 1] = key;
	ca->ngen[kind] = gen;
	ca->root[kind] = root;
	ca->key[kind] = key;
	root = NULL;
	key = NULL;
	ca_issuing_close(ca);
	rc = ca_issuing_open(ca, err);
	if (info != NULL)
		*info = inf;
	goto out;
fail:
	store_rollback(ca->st);
	if (root != NULL) {
		/* nothing of this generation stays: its key, root and links
		 * go, so the label is free for the next try.  A link file
		 * left behind names no stored certificate and the next
		 * rollover replaces it, so its removal is best effort. */
		char path[PATH_MAX + 96];
		snprintf(path, sizeof(path), "%s/%s-with-%d.pem", links, label,
			 gen - 1);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/%s-with-%d.pem", links,
			 old_label, gen);
		(void)unlink(path);
		ca_unmake_root(ca, kind, gen, err);
	}
out:
	X509_free(root);
	EVP_PKEY_free(key);
	X509_free(nwo);
	X509_free(own);
	return rc;
}

int ca_ceremony_record(jpki_ca *ca, time_t now, const char *actor,
		       const char *transcript, const char *summary,
		       ca_ceremony_info *out, jpki_err *err)
{
	static const char hx[] = "0123456789abcdef";
	char at[21], stamp[21], path[PATH_MAX + 64], detail[1024];
	unsigned char md[32];
	unsigned int n = 0;
	size_t len = strlen(transcript);
	ca_checkpoint cp;
	int rc;
	if (summary == NULL || strlen(summary) > 700)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "ceremony summary missing or too long");
	if (EVP_Digest(transcript, len, md, &n, EVP_sha256(), NULL) != 1 ||
	    n != 32)
		return jpki_fail(err, JPKI_ERR_CRYPTO,
				 "hashing the transcript");
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < 32; i++) {
		out->sha256[2 * i] = hx[md[i] >> 4];
		out->sha256[2 * i + 1] = hx[md[i] & 15];
	}
	/* DIR/ceremony/<YYYYMMDDTHHMMSSZ>.txt, never overwritten */
	jpki_time_format(now, at);
	size_t k = 0;
	for (size_t i = 0; at[i] != '\0' && k + 1 < sizeof(stamp); i++)
		if (at[i] != '-' && at[i] != ':')
			stamp[k++] = at[i];
	stamp[k] = '\0';
	snprintf(path, sizeof(path), "%s/ceremony", ca->dir);
	if ((rc = jpki_mkdirs(path, 0755, err)) != 0)
		return rc;
	struct stat st;
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/ceremony/%s.txt",
				 ca->dir, stamp);
		else
			snprintf(path, sizeof(path), "%s/ceremony/%s-%d.txt",
				 ca->dir, stamp, i);
		if (stat(path, &st) != 0)
			break;
	}
	if ((rc = jpki_file_write_atomic(path, transcript, len, 0644, err)) !=
	    0)
		return rc;
	if (jpki_strlcpy(out->path, path, sizeof(out->path)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	snprintf(detail, sizeof(detail), "transcript_sha256=%s %s", out->sha256,
		 summary);
	if ((rc = store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = store_audit_append(ca->st, now, actor ? actor : "ca",
				     "ca.ceremony", detail, err)) != 0 ||
	    (rc = store_commit(ca->st, err)) != 0) {
		store_rollback(ca->st);
		return rc;
	}
	/* the record, with everything before it, under the audit key */
	if ((rc = ca_audit_checkpoint(ca, now, &cp, err)) != 0)
		return rc;
	out->checkpoint_seq = cp.seq;
	return 0;
}
