/* Audit checkpoints: the hash chain's head, signed with the CA's audit
 * key and written outside the database, so that records cut from the end
 * of the log (or the log and the certificates table edited together) show.
 *
 * A checkpoint is one line appended to DIR/audit/checkpoints (O_APPEND,
 * fsync'd):
 *
 *   v1 SEQ HASH TIME SIG
 *
 * SEQ and HASH name the last audit record, TIME is when (RFC 3339 UTC),
 * SIG is base64 of an RSA PKCS#1 v1.5 SHA-256 signature by the keystore
 * key "audit" over "openjpki audit checkpoint v1\nSEQ\nHASH\nTIME\n".
 * The key is the CA's (made on first use beside the root keys, 0600); its
 * public half is DIR/audit/key.pub.pem for anyone who verifies. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_internal.h"
#include "openjpki/util.h"

#define AUDIT_KEY "audit"
#define LINE_MAX_ 1024
#define TBS_MAX 256

static int paths(const jpki_ca *ca, char dir[PATH_MAX], char file[PATH_MAX],
		 char pub[PATH_MAX], jpki_err *err)
{
	if ((size_t)snprintf(dir, PATH_MAX, "%s/audit", ca->dir) >= PATH_MAX ||
	    (size_t)snprintf(file, PATH_MAX, "%s/audit/checkpoints", ca->dir) >=
		PATH_MAX ||
	    (size_t)snprintf(pub, PATH_MAX, "%s/audit/key.pub.pem", ca->dir) >=
		PATH_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "CA path too long");
	return 0;
}

static int tbs_of(int64_t seq, const char *hash, const char *at, char *out,
		  size_t cap)
{
	int n =
	    snprintf(out, cap, "openjpki audit checkpoint v1\n%lld\n%s\n%s\n",
		     (long long)seq, hash, at);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/* The audit key, made on first use; its public half written beside the
 * checkpoints. */
static int audit_key(jpki_ca *ca, const char *pub_path, EVP_PKEY **out,
		     jpki_err *err)
{
	int rc = keystore_has(ca->ks, AUDIT_KEY, err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		EVP_PKEY *pub = NULL;
		BIO *b = NULL;
		BUF_MEM *m = NULL;
		if ((rc = keystore_generate(ca->ks, AUDIT_KEY, 2048, &pub,
					    err)) != 0)
			return rc;
		if ((b = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio_PUBKEY(b, pub) != 1) {
			BIO_free(b);
			EVP_PKEY_free(pub);
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "encoding the audit public key");
		}
		BIO_get_mem_ptr(b, &m);
		rc = jpki_file_write_atomic(pub_path, m->data, m->length, 0644,
					    err);
		BIO_free(b);
		EVP_PKEY_free(pub);
		if (rc != 0)
			return rc;
	} else if (rc != 0) {
		return rc;
	}
	return keystore_load(ca->ks, AUDIT_KEY, out, err);
}

int ca_audit_checkpoint(jpki_ca *ca, time_t now, ca_checkpoint *out,
			jpki_err *err)
{
	char dir[PATH_MAX], file[PATH_MAX], pub[PATH_MAX];
	char hash[65], at[21], tbs[TBS_MAX], line[LINE_MAX_];
	unsigned char sig[512];
	char sig64[700];
	size_t siglen = sizeof(sig);
	int64_t seq = 0;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	int fd = -1, rc;
	if ((rc = paths(ca, dir, file, pub, err)) != 0 ||
	    (rc = jpki_mkdirs(dir, 0700, err)) != 0 ||
	    (rc = store_audit_head(ca->st, &seq, hash, err)) != 0)
		return rc;
	jpki_time_format(now, at);
	int n = tbs_of(seq, hash, at, tbs, sizeof(tbs));
	if (n < 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "checkpoint too long");
	if ((rc = audit_key(ca, pub, &key, err)) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tbs,
			   (size_t)n) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "signing the audit checkpoint");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)sig64, sig, (int)siglen);
	n = snprintf(line, sizeof(line), "v1 %lld %s %s %s\n", (long long)seq,
		     hash, at, sig64);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "checkpoint line too long");
		goto out;
	}
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0640);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot append to %s: %s",
			       file, strerror(errno));
		goto out;
	}
	if (out != NULL) {
		out->seq = seq;
		jpki_strlcpy(out->hash, hash, sizeof(out->hash));
		jpki_strlcpy(out->line, line, sizeof(out->line));
		out->line[strcspn(out->line, "\n")] = '\0';
	}
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- verification ---- */

typedef struct cp {
	int64_t seq;
	char hash[65];
	char at[21];
	int line;
} cp;

typedef struct vctx {
	cp *cps; /* sorted by seq (the file is in time order, seqs grow) */
	size_t n, next;
	int64_t last_seq;
	char last_hash[65];
	const char *bad; /* first checkpoint whose record differs */
	cp bad_cp;
	char bad_hash[65];
	/* revocation records, cross-checked against the certificates */
	char (*revoked)[STORE_SERIAL_HEX_MAX];
	size_t nrev, caprev;
	bool nomem;
} vctx;

static int visit(void *vc, const store_audit *a)
{
	vctx *v = vc;
	v->last_seq = a->seq;
	jpki_strlcpy(v->last_hash, a->hash, sizeof(v->last_hash));
	while (v->next < v->n && v->cps[v->next].seq <= a->seq) {
		cp *c = &v->cps[v->next++];
		if (c->seq == a->seq && strcmp(c->hash, a->hash) != 0 &&
		    v->bad == NULL) {
			v->bad = "hash";
			v->bad_cp = *c;
			jpki_strlcpy(v->bad_hash, a->hash, sizeof(v->bad_hash));
		}
	}
	if (strcmp(a->action, "cert.revoke") == 0 ||
	    strcmp(a->action, "cert.hold") == 0) {
		const char *s = strstr(a->detail, "serial=");
		if (s != NULL) {
			if (v->nrev == v->caprev) {
				size_t nc = v->caprev ? v->caprev * 2 : 64;
				void *p = realloc(v->revoked,
						  nc * sizeof(*v->revoked));
				if (p == NULL) {
					v->nomem = true;
					return -1;
				}
				v->revoked = p;
				v->caprev = nc;
			}
			size_t k = strcspn(s + 7, " ");
			if (k >= STORE_SERIAL_HEX_MAX)
				k = STORE_SERIAL_HEX_MAX - 1;
			memcpy(v->revoked[v->nrev], s + 7, k);
			v->revoked[v->nrev++][k] = '\0';
		}
	}
	return 0;
}

static int read_checkpoints(const char *file, EVP_PKEY *pub, cp **out,
			    size_t *n_out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0, cap = 0;
	cp *v = NULL;
	int rc = jpki_file_read(file, 64u << 20, &buf, &len, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		return jpki_fail(err, JPKI_ERR_INTEGRITY,
				 "%s is missing, though the CA has an audit "
				 "key: the checkpoints were removed",
				 file);
	if (rc != 0)
		return rc;
	char *save = NULL;
	int lineno = 0;
	for (char *l = strtok_r((char *)buf, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		char ver[4], hash[65], at[21], sig64[700], tbs[TBS_MAX];
		long long seq = 0;
		unsigned char sig[528];
		lineno++;
		if (sscanf(l, "%3s %lld %64s %20s %699s", ver, &seq, hash, at,
			   sig64) != 5 ||
		    strcmp(ver, "v1") != 0 || seq < 0) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d is not a checkpoint", file,
				       lineno);
			goto out;
		}
		int sl = EVP_DecodeBlock(sig, (const unsigned char *)sig64,
					 (int)strlen(sig64));
		int tl = tbs_of(seq, hash, at, tbs, sizeof(tbs));
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		bool ok = sl > 0 && tl > 0 && md != NULL &&
			  EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
					       pub) == 1;
		if (ok) {
			/* EVP_DecodeBlock counts the padding as zero bytes */
			size_t pad = 0;
			size_t s64 = strlen(sig64);
			while (pad < 2 && s64 > pad &&
			       sig64[s64 - 1 - pad] == '=')
				pad++;
			ok = EVP_DigestVerify(md, sig, (size_t)sl - pad,
					      (const unsigned char *)tbs,
					      (size_t)tl) == 1;
		}
		EVP_MD_CTX_free(md);
		if (!ok) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d: the signature does not "
				       "verify with the audit key",
				       file, lineno);
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			cp *p = realloc(v, nc * sizeof(*v));
			if (p == NULL) {
				rc = jpki_fail(err, JPKI_ERR_NOMEM,
					       "out of memory");
				goto out;
			}
			v = p;
			cap = nc;
		}
		if (n > 0 && seq < v[n - 1].seq) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "%s line %d goes back to record %lld",
				       file, lineno, seq);
			goto out;
		}
		v[n].seq = seq;
		jpki_strlcpy(v[n].hash, hash, sizeof(v[n].hash));
		jpki_strlcpy(v[n].at, at, sizeof(v[n].at));
		v[n].line = lineno;
		n++;
	}
	*out = v;
	*n_out = n;
	v = NULL;
out:
	free(v);
	free(buf);
	return rc;
}

int ca_audit_verify(jpki_ca *ca, ca_audit_report *rep, jpki_err *err)
{
	char dir[PATH_MAX], file[PATH_MAX], pub_path[PATH_MAX];
	EVP_PKEY *pub = NULL;
	vctx v;
	int64_t records = 0;
	int rc;
	memset(&v, 0, sizeof(v));
	memset(rep, 0, sizeof(*rep));
	if ((rc = paths(ca, dir, file, pub_path, err)) != 0 ||
	    (rc = store_audit_verify(ca->st, &records, err)) != 0)
		return rc;
	rep->records = records;
	/* the public key from the keystore: a key.pub.pem swapped on disk
	 * cannot vouch for forged lines */
	if (keystore_has(ca->ks, AUDIT_KEY, NULL) == 0) {
		if ((rc = keystore_load(ca->ks, AUDIT_KEY, &pub, err)) != 0)
			goto out;
		if ((rc = read_checkpoints(file, pub, &v.cps, &v.n, err)) != 0)
			goto out;
	}
	rep->checkpoints = (int64_t)v.n;
	if ((rc = store_audit_each(ca->st, visit, &v, err)) != 0) {
		if (v.nomem)
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (v.bad != NULL) {
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "audit record %lld is not the one checkpointed "
			       "at %s (hash %.16s…, now %.16s…): the log was "
			       "rewritten",
			       (long long)v.bad_cp.seq, v.bad_cp.at,
			       v.bad_cp.hash, v.bad_hash);
		goto out;
	}
	if (v.n > 0) {
		const cp *last = &v.cps[v.n - 1];
		rep->checkpoint_seq = last->seq;
		jpki_strlcpy(rep->checkpoint_at, last->at,
			     sizeof(rep->checkpoint_at));
		if (last->seq > v.last_seq) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "the audit log ends at record %lld but "
				       "was checkpointed at record %lld on %s: "
				       "records were cut from its end",
				       (long long)v.last_seq,
				       (long long)last->seq, last->at);
			goto out;
		}
	}
	/* every revocation recorded in the log is a revoked certificate (a
	 * CRL entry) in the certificates table */
	for (size_t i = 0; i < v.nrev; i++) {
		store_cert c;
		memset(&c, 0, sizeof(c));
		int g = store_cert_get(ca->st, v.revoked[i], &c, NULL);
		bool revoked = g == 0 && c.status == STORE_CERT_REVOKED;
		store_cert_clear(&c);
		if (!revoked) {
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "the audit log revokes certificate %s, "
				       "but the certificates table %s",
				       v.revoked[i],
				       g == JPKI_ERR_NOT_FOUND
					   ? "has no such certificate"
					   : "does not show it revoked");
			goto out;
		}
		rep->revocations_checked++;
	}
out:
	EVP_PKEY_free(pub);
	free(v.cps);
	free(v.revoked);
	return rc;
}
