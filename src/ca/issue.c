/* Issuing the two certificates of a card: eligibility and validity from
 * rules/, lint-then-sign, one store transaction per request. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_internal.h"
#include "openjpki/util.h"

typedef struct current_certs {
	bool have[3];
	char serial[3][STORE_SERIAL_HEX_MAX];
	jpki_date last_day[3];
	char card[3][40];
} current_certs;

static int collect_current(void *ctx, const store_cert *c)
{
	current_certs *cur = ctx;
	if ((c->kind != JPKI_CERT_SIGN && c->kind != JPKI_CERT_AUTH) ||
	    c->status != STORE_CERT_VALID || cur->have[c->kind])
		return 0;
	/* newest first: the first valid one of each kind is the current one */
	cur->have[c->kind] = true;
	memcpy(cur->serial[c->kind], c->serial, STORE_SERIAL_HEX_MAX);
	memcpy(cur->card[c->kind], c->card_serial, sizeof(cur->card[0]));
	cur->last_day[c->kind] = jpki_date_of(c->not_after);
	return 0;
}

/* Everything ca_issue decides before it signs. */
typedef struct plan {
	store_resident res;
	store_muni muni;
	store_card card;
	current_certs cur;
	jpki_date today;
	bool want[3];
	jpki_validity v[3];
	struct leaf_meta {
		char subject[256];
		time_t not_before, not_after;
	} meta[3]; /* of the certificates signed, for the store */
} plan;

/* The law is rules_plan's: the application's plan when one is given
 * (the counter), else planned here for the CA-admin test path with no
 * applicant.  The CA only checks that the keys match the plan. */
static int plan_law(plan *p, const ca_issue_req *req, jpki_err *err)
{
	jpki_plan own;
	const jpki_plan *pl = req->plan;
	int rc;
	if (pl == NULL) {
		rules_plan_in in;
		memset(&in, 0, sizeof(in));
		in.person = (jpki_person){p->res.birth, p->res.adult_ward};
		in.today = p->today;
		in.app = req->renewal ? RULES_APP_RENEWAL : RULES_APP_ISSUE;
		in.applicant = RULES_BY_CA_TEST;
		in.certs = (p->want[JPKI_CERT_SIGN] ? 1 : 0) |
			   (p->want[JPKI_CERT_AUTH] ? 2 : 0);
		in.card_expiry = p->card.expiry;
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
			in.held[k].valid = p->cur.have[k];
			in.held[k].on_card =
			    p->cur.have[k] &&
			    strcmp(p->cur.card[k], p->card.serial) == 0;
			in.held[k].last_day = p->cur.last_day[k];
		}
		if ((rc = rules_plan(&in, &own, err)) != 0)
			return rc;
		pl = &own;
	}
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if (p->want[k] != pl->cert[k].issue)
			return jpki_fail(
			    err, JPKI_ERR_STATE,
			    "the plan %s the %s certificate, the keys say "
			    "otherwise",
			    pl->cert[k].issue ? "issues" : "does not issue",
			    k == JPKI_CERT_SIGN ? "signature"
						: "authentication");
		if (!p->want[k])
			continue;
		if (req->renewal && !p->cur.have[k])
			return jpki_fail(err, JPKI_ERR_STATE,
					 "renewal of the %s certificate: the "
					 "resident holds none that is valid",
					 k == JPKI_CERT_SIGN
					     ? "signature"
					     : "authentication");
		if ((rc = x509_check_key(k == JPKI_CERT_SIGN ? req->sign_pub
							     : req->auth_pub,
					 err)) != 0)
			return jpki_wrap(err, rc, "%s certificate",
					 k == JPKI_CERT_SIGN
					     ? "signature"
					     : "authentication");
		p->v[k] = pl->cert[k].validity;
	}
	return 0;
}

/* Before the reads: what the request itself must say. */
static int plan_request(const ca_issue_req *req, plan *p, jpki_err *err)
{
	memset(p, 0, sizeof(*p));
	p->today = jpki_date_of(req->now);
	p->want[JPKI_CERT_SIGN] = req->sign_pub != NULL;
	p->want[JPKI_CERT_AUTH] = req->auth_pub != NULL;
	if (!p->want[JPKI_CERT_SIGN] && !p->want[JPKI_CERT_AUTH])
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "no public key given: nothing to issue");
	if (req->card_serial == NULL || req->card_serial[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the card holding the keys must be named");
	return 0;
}

/* After the reads (store_issue_reads: the resident, the card, the
 * resident's certificates in p->cur; read_rc JPKI_ERR_NOT_FOUND for an
 * unknown resident).  known: a municipality read in the same snapshot
 * (the batch's previous plan), used instead of reading it again when it
 * is the resident's; NULL: none. */
static int plan_checked(jpki_ca *ca, const ca_issue_req *req, plan *p,
			int read_rc, bool card_found, const store_muni *known,
			jpki_err *err)
{
	int rc;
	if (read_rc != 0)
		return read_rc == JPKI_ERR_NOT_FOUND
			   ? jpki_fail(err, read_rc, "unknown resident %lld",
				       (long long)req->resident_id)
			   : read_rc;
	if (p->res.status != STORE_RESIDENT_LIVING)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "resident %lld has been removed from the "
				 "register (住民票消除): nothing may be issued",
				 (long long)req->resident_id);
	if (known != NULL && strcmp(known->code, p->res.muni_code) == 0)
		p->muni = *known;
	else if ((rc = store_muni_get(ca->st, p->res.muni_code, &p->muni,
				      err)) != 0)
		return jpki_wrap(err, rc, "resident's municipality");
	if (!card_found)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND, "unknown card %s",
				 req->card_serial);
	if (p->card.resident_id != p->res.id)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "card %s belongs to another resident",
				 req->card_serial);
	if (p->card.status != STORE_CARD_ACTIVE)
		return jpki_fail(err, JPKI_ERR_STATE, "card %s is not active",
				 req->card_serial);
	/* outside the counter (no application's plan) only on a test CA:
	 * the CA-admin test path, `jpki issue` and its HTTP twin */
	if (req->plan == NULL && ca_profile(ca) == JPKI_PROFILE_PRODUCTION)
		return jpki_fail(err, JPKI_ERR_POLICY,
				 "a production CA issues only what a counter "
				 "application plans (registry_app_complete)");
	return plan_law(p, req, err);
}

/* One request's plan: the resident, the card and the resident's
 * certificates in one round trip on PostgreSQL. */
static int make_plan(jpki_ca *ca, const ca_issue_req *req, plan *p,
		     jpki_err *err)
{
	bool card_found = false;
	int rc = plan_request(req, p, err);
	if (rc != 0)
		return rc;
	rc = store_issue_reads(ca->st, req->resident_id, req->card_serial,
			       &p->res, &p->card, &card_found, collect_current,
			       &p->cur, err);
	if (rc != 0 && rc != JPKI_ERR_NOT_FOUND)
		return rc;
	return plan_checked(ca, req, p, rc, card_found, NULL, err);
}

int ca_issue_preview(jpki_ca *ca, const ca_issue_req *req, ca_issued *out,
		     jpki_err *err)
{
	plan p;
	int rc = make_plan(ca, req, &p, err);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->sign_validity = p.v[JPKI_CERT_SIGN];
	out->auth_validity = p.v[JPKI_CERT_AUTH];
	return 0;
}

static int site_of(const plan *p, const ca_issue_req *req,
		   jpki_issuer_site *site, jpki_err *err)
{
	memset(site, 0, sizeof(*site));
	if (jpki_strlcpy(site->pref_roman, p->muni.pref_roman,
			 sizeof(site->pref_roman)) != 0 ||
	    jpki_strlcpy(site->city_roman, p->muni.city_roman,
			 sizeof(site->city_roman)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "municipality %s: romanised name too long",
				 p->muni.code);
	if (req->window_id != NULL) {
		if (jpki_strlcpy(site->window_id, req->window_id,
				 sizeof(site->window_id)) != 0)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "window id: 9 characters");
	} else
		snprintf(site->window_id, sizeof(site->window_id), "%.6s001",
			 p->muni.code);
	return 0;
}

/* Next CN sequence number of `kind`.  Numbers are reserved from the store
 * in blocks in a short transaction of their own, so that issuing threads
 * do not serialise on a counter row; a crash loses at most a block of
 * unused numbers (they only need to be unique, not dense).  A handle's
 * blocks grow from 64 to 4096: a CLI run wastes few numbers, and a busy
 * issuing thread pays the reservation's commit (an fsync) once per 2048
 * pairs instead of once per 32, a measurable share of issuance. */
#define SEQ_BLOCK_MIN 64
#define SEQ_BLOCK_MAX 4096
static int seq_next(jpki_ca *ca, jpki_cert_kind kind, int64_t *out,
		    jpki_err *err)
{
	if (ca->seq_next[kind] == 0 || ca->seq_next[kind] > ca->seq_end[kind]) {
		int64_t end;
		int64_t block = ca->seq_block[kind] == 0 ? SEQ_BLOCK_MIN
							 : ca->seq_block[kind];
		int rc = store_meta_incr(
		    ca->st, kind == JPKI_CERT_SIGN ? "seq/sign" : "seq/auth",
		    block, &end, err);
		if (rc != 0)
			return rc;
		ca->seq_block[kind] =
		    block * 2 > SEQ_BLOCK_MAX ? SEQ_BLOCK_MAX : block * 2;
		ca->seq_end[kind] = end;
		ca->seq_next[kind] = end - block + 1;
	}
	*out = ca->seq_next[kind]++;
	return 0;
}

/* n fresh random octets from the handle's block (see struct jpki_ca). */
static int take_random(jpki_ca *ca, uint8_t *out, size_t n, jpki_err *err)
{
	if (n > sizeof(ca->rnd))
		return jpki_random(out, n, err);
	if (ca->rnd_off == 0 || ca->rnd_off + n > sizeof(ca->rnd)) {
		int rc = jpki_random(ca->rnd, sizeof(ca->rnd), err);
		if (rc != 0)
			return rc;
		ca->rnd_off = 0;
	}
	memcpy(out, ca->rnd + ca->rnd_off, n);
	OPENSSL_cleanse(ca->rnd + ca->rnd_off, n);
	ca->rnd_off += n;
	if (ca->rnd_off == sizeof(ca->rnd))
		ca->rnd_off = 0;
	return 0;
}

/* A leaf's serial number: 0x40 | kind, the 40-bit sequence number of the
 * hierarchy (seq_next), then 80 random bits -- 16 octets, positive, full
 * length.  The sequence makes it unique by construction and keeps the
 * store's serial index growing at its end instead of touching a random
 * page per certificate (write amplification measured by bench_issue); the
 * random part makes it unpredictable (CA/B Forum asks for 64 bits;
 * docs/decisions.md). */
int ca_leaf_serial(jpki_ca *ca, jpki_cert_kind kind, int64_t seq,
		   uint8_t out[CA_SERIAL_BYTES], jpki_err *err)
{
	if (seq < 0 || seq >= (int64_t)1 << 40)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "sequence number %lld out of range",
				 (long long)seq);
	out[0] = (uint8_t)(0x40 | (kind & 0x0f));
	for (int i = 0; i < 5; i++)
		out[1 + i] = (uint8_t)(seq >> (8 * (4 - i)));
	return take_random(ca, out + 6, CA_SERIAL_BYTES - 6, err);
}

/* Opaque CN of the authentication certificate: 10 random characters of
 * [0-9A-Z], the first five digits of the municipality code, a 7-digit
 * sequence number and "A" -- 23 characters in the shape of a real test
 * card's CN (docs/decisions.md). */
static int auth_id(jpki_ca *ca, const plan *p, int64_t seq, char out[32],
		   jpki_err *err)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint8_t rnd[10];
	int rc;
	if ((rc = take_random(ca, rnd, sizeof(rnd), err)) != 0)
		return rc;
	char r[11];
	for (int i = 0; i < 10; i++)
		r[i] = alnum[rnd[i] % 36];
	r[10] = '\0';
	snprintf(out, 32, "%s%.5s%07lldA", r, p->muni.code,
		 (long long)(seq % 10000000));
	return 0;
}

int ca_issuing_open(jpki_ca *ca, jpki_err *err)
{
	int rc;
	if ((ca->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (ca->md_ctx = EVP_MD_CTX_new()) == NULL)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "preparing SHA-256");
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if ((rc = x509_issuer_new(ca->profile, (jpki_cert_kind)k,
					  ca->root[k], &ca->issuer[k], err)) !=
		    0)
			return rc;
		if ((ca->sign_msg = keystore_signs_messages(ca->ks)))
			continue;
		EVP_PKEY_CTX *c =
		    EVP_PKEY_CTX_new_from_pkey(NULL, ca->key[k], NULL);
		ca->sign_ctx[k] = c;
		if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(c, ca->sha256) != 1)
			return jpki_fail(
			    err, JPKI_ERR_CRYPTO,
			    "preparing the %s root key for signing",
			    jpki_cert_kind_name((jpki_cert_kind)k));
	}
	return 0;
}

void ca_issuing_close(jpki_ca *ca)
{
	for (int k = 0; k < 3; k++) {
		x509_issuer_free(ca->issuer[k]);
		EVP_PKEY_CTX_free(ca->sign_ctx[k]);
		ca->issuer[k] = NULL;
		ca->sign_ctx[k] = NULL;
	}
	EVP_MD_CTX_free(ca->md_ctx);
	EVP_MD_free(ca->sha256);
	ca->md_ctx = NULL;
	ca->sha256 = NULL;
	OPENSSL_cleanse(ca->rnd, sizeof(ca->rnd));
	ca->rnd_off = 0;
}

/* Sign the TBSCertificate: SHA-256 and PKCS#1 v1.5 through the handle's
 * prepared contexts (X509_sign would set up both for every certificate),
 * then the Certificate around it.  *der is malloc'd. */
static int sign_tbs(jpki_ca *ca, jpki_cert_kind kind, const uint8_t *tbs,
		    size_t tbs_len, uint8_t **der, size_t *der_len,
		    jpki_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	int rc;
	if (ca->sign_msg) {
		/* the signer reads and lints what it signs */
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		int ok = m != NULL &&
			 EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL,
					       ca->key[kind], NULL) == 1 &&
			 EVP_DigestSign(m, sig, &sig_len, tbs, tbs_len) == 1;
		EVP_MD_CTX_free(m);
		if (!ok) {
			if ((rc = keystore_take_refusal(err)) != 0) {
				ERR_clear_error();
				return rc;
			}
			return jpki_fail(err, JPKI_ERR_CRYPTO,
					 "signing certificate");
		}
		goto assemble;
	}
	if (EVP_DigestInit_ex2(ca->md_ctx, ca->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(ca->md_ctx, tbs, tbs_len) != 1 ||
	    EVP_DigestFinal_ex(ca->md_ctx, md, &md_len) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "hashing a certificate");
	if (EVP_PKEY_sign(ca->sign_ctx[kind], sig, &sig_len, md, md_len) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "signing certificate");
assemble:;
	size_t cap = tbs_len + sig_len + 32;
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = x509_cert_assemble(tbs, tbs_len, sig, sig_len, buf, cap,
				     der_len, err)) != 0) {
		free(buf);
		return rc;
	}
	*der = buf;
	return 0;
}

/* One certificate of the pair: build the TBSCertificate DER, lint it,
 * sign it.  The subject line and the times are kept for the store. */
static int issue_one(jpki_ca *ca, const ca_issue_req *req, plan *p,
		     jpki_cert_kind kind, EVP_PKEY *pub, uint8_t **der,
		     size_t *der_len, char serial_hex[STORE_SERIAL_HEX_MAX],
		     jpki_err *err)
{
	struct leaf_meta *m = &p->meta[kind];
	uint8_t serial[CA_SERIAL_BYTES];
	uint8_t tbs[X509_TBS_MAX];
	size_t tbs_len = 0;
	jpki_issuer_site site;
	time_t not_after = jpki_date_end(p->v[kind].last_day);
	int64_t seq;
	int rc;
	if ((rc = site_of(p, req, &site, err)) != 0 ||
	    (rc = seq_next(ca, kind, &seq, err)) != 0 ||
	    (rc = ca_leaf_serial(ca, kind, seq, serial, err)) != 0)
		return rc;
	if (kind == JPKI_CERT_SIGN) {
		jpki_sign_subject subj = {
		    .name = p->res.name,
		    .address = p->res.address,
		    .sex = p->res.sex,
		    .birth = p->res.birth,
		    .requested = req->now,
		    .sequence = (unsigned)(seq % 100000),
		    .site = &site,
		};
		rc = x509_sign_tbs_build(ca->issuer[kind], &subj, pub, serial,
					 sizeof(serial), req->now, not_after,
					 tbs, sizeof(tbs), &tbs_len, err);
	} else {
		char id[32];
		if ((rc = auth_id(ca, p, seq, id, err)) != 0)
			return rc;
		rc = x509_auth_tbs_build(
		    ca->issuer[kind], id, &site, pub, serial, sizeof(serial),
		    req->now, not_after, tbs, sizeof(tbs), &tbs_len, err);
	}
	if (rc != 0 ||
	    (rc = x509_lint_leaf_tbs(ca->issuer[kind], tbs, tbs_len, err)) !=
		0 ||
	    (rc = x509_tbs_subject_oneline(tbs, tbs_len, m->subject,
					   sizeof(m->subject), err)) != 0 ||
	    (rc = sign_tbs(ca, kind, tbs, tbs_len, der, der_len, err)) != 0)
		return rc;
	ca_serial_bytes_hex(serial, sizeof(serial), serial_hex);
	m->not_before = req->now;
	m->not_after = not_after;
	return 0;
}

/* The store's record of a leaf just signed (inside the transaction). */
static int record_leaf(jpki_ca *ca, const ca_issue_req *req, const plan *p,
		       jpki_cert_kind kind, const uint8_t *der, size_t der_len,
		       const char *serial_hex, jpki_err *err)
{
	store_cert c;
	memset(&c, 0, sizeof(c));
	if (jpki_strlcpy(c.serial, serial_hex, sizeof(c.serial)) != 0 ||
	    jpki_strlcpy(c.card_serial, req->card_serial,
			 sizeof(c.card_serial)) != 0 ||
	    jpki_strlcpy(c.muni_code, p->muni.code, sizeof(c.muni_code)) != 0 ||
	    jpki_strlcpy(c.subject, p->meta[kind].subject, sizeof(c.subject)) !=
		0)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "certificate %s: a field is longer than the "
				 "store keeps",
				 serial_hex);
	c.kind = (int)kind;
	c.gen = ca->ngen[kind]; /* the newest generation issues */
	c.resident_id = p->res.id;
	c.not_before = p->meta[kind].not_before;
	c.not_after = p->meta[kind].not_after;
	c.status = STORE_CERT_VALID;
	c.der = (uint8_t *)der; /* borrowed: store_cert_put only reads it */
	c.der_len = der_len;
	return store_cert_put(ca->st, &c, err);
}

/* Whether each resident's current certificates are still those its plan
 * was made against (another handle may have issued or revoked since):
 * one round trip for the batch (store_issue_recheck), inside the write
 * transaction.  A request whose plan no longer holds gets
 * JPKI_ERR_CONFLICT and loses its certificates; the return value is a
 * store failure. */
static int plans_still_hold(jpki_ca *ca, const plan *plans, size_t n,
			    ca_issued *outs, int *rcs, jpki_err *errs,
			    jpki_err *err)
{
	current_certs *now = calloc(n, sizeof(*now));
	int64_t *ids = calloc(n, sizeof(*ids));
	void **ctxs = calloc(n, sizeof(*ctxs));
	size_t *of = calloc(n, sizeof(*of));
	size_t m = 0;
	int rc = 0;
	if (now == NULL || ids == NULL || ctxs == NULL || of == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != 0)
			continue;
		ids[m] = plans[i].res.id;
		ctxs[m] = &now[m];
		of[m++] = i;
	}
	if ((rc = store_issue_recheck(ca->st, m, ids, collect_current, ctxs,
				      err)) != 0)
		goto out;
	for (size_t j = 0; j < m; j++) {
		const plan *p = &plans[of[j]];
		/* an earlier request of the batch for the same resident
		 * goes ahead: its certificates, written first in this
		 * transaction, change what this plan was made against */
		bool earlier = false;
		for (size_t i = 0; i < j && !earlier; i++)
			earlier = rcs[of[i]] == 0 && ids[i] == ids[j];
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
			if (!earlier && now[j].have[k] == p->cur.have[k] &&
			    (!now[j].have[k] ||
			     strcmp(now[j].serial[k], p->cur.serial[k]) == 0))
				continue;
			rcs[of[j]] = jpki_fail(
			    &errs[of[j]], JPKI_ERR_CONFLICT,
			    "the resident's certificates changed while "
			    "issuing; nothing was issued, try again");
			ca_issued_free(&outs[of[j]]);
			break;
		}
	}
out:
	free(now);
	free(ids);
	free(ctxs);
	free(of);
	return rc;
}

/* Phase 1b of issuing, outside any transaction so that handles on other
 * threads sign in parallel: build, lint, sign what the plan allows. */
static int sign_planned(jpki_ca *ca, const ca_issue_req *req, plan *p,
			ca_issued *res, jpki_err *err)
{
	int rc;
	if (p->want[JPKI_CERT_AUTH] &&
	    (rc = issue_one(ca, req, p, JPKI_CERT_AUTH, req->auth_pub,
			    &res->auth_der, &res->auth_der_len,
			    res->auth_serial, err)) != 0)
		goto fail;
	if (p->want[JPKI_CERT_SIGN] &&
	    (rc = issue_one(ca, req, p, JPKI_CERT_SIGN, req->sign_pub,
			    &res->sign_der, &res->sign_der_len,
			    res->sign_serial, err)) != 0)
		goto fail;
	res->sign_validity = p->v[JPKI_CERT_SIGN];
	res->auth_validity = p->v[JPKI_CERT_AUTH];
	return 0;
fail:
	ca_issued_free(res);
	return rc;
}

/* SHA-256 of a certificate's DER as lower-case hex ("-" without one):
 * the issue record names the very bytes stored (ca_audit_verify). */
static void der_sha256(const uint8_t *der, size_t len, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t md[32];
	unsigned int n = 0;
	if (der == NULL ||
	    EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		memcpy(out, "-", 2);
		return;
	}
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

/* Phase 2, inside the write transaction, after the batch's re-check
 * (plans_still_hold): record the certificates, revoke the superseded ones
 * (record_certs); then, for the whole batch after every request's certificates,
 * append each audit record (record_audit): resident, card, the serials,
 * renewal, the DERs' SHA-256 and the serials the renewal revoked (superseded),
 * docs/design.md "Audit".  The audit chain's lock (one writer at a time
 * on PostgreSQL) is so taken last and held only for the appends and the
 * commit, not for the batch's other statements. */
static int record_certs(jpki_ca *ca, const ca_issue_req *req, const plan *p,
			ca_issued *res, jpki_err *err)
{
	int rc;
	if ((res->auth_der != NULL &&
	     (rc = record_leaf(ca, req, p, JPKI_CERT_AUTH, res->auth_der,
			       res->auth_der_len, res->auth_serial, err)) !=
		 0) ||
	    (res->sign_der != NULL &&
	     (rc = record_leaf(ca, req, p, JPKI_CERT_SIGN, res->sign_der,
			       res->sign_der_len, res->sign_serial, err)) != 0))
		return rc;
	if (req->renewal) {
		/* 宇治市: renewal revokes the old certificate (superseded) */
		int n = 0;
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
			if (!p->want[k])
				continue;
			if ((rc = store_cert_revoke(ca->st, p->cur.serial[k],
						    JPKI_REASON_SUPERSEDED,
						    req->now, false, err)) != 0)
				return rc;
			memcpy(res->superseded[n++], p->cur.serial[k],
			       STORE_SERIAL_HEX_MAX); /* same size */
		}
	}
	return 0;
}

static int record_audit(jpki_ca *ca, const ca_issue_req *req, const plan *p,
			const ca_issued *res, jpki_err *err)
{
	char detail[512], sh[65], ah[65];
	der_sha256(res->sign_der, res->sign_der_len, sh);
	der_sha256(res->auth_der, res->auth_der_len, ah);
	snprintf(detail, sizeof(detail),
		 "resident=%lld card=%s sign=%s auth=%s renewal=%d "
		 "sign_sha256=%s auth_sha256=%s superseded=%s%s%s",
		 (long long)p->res.id, req->card_serial,
		 res->sign_serial[0] ? res->sign_serial : "-",
		 res->auth_serial[0] ? res->auth_serial : "-",
		 req->renewal ? 1 : 0, sh, ah,
		 res->superseded[0][0] ? res->superseded[0] : "-",
		 res->superseded[1][0] ? "," : "", res->superseded[1]);
	return store_audit_append(ca->st, req->now,
				  req->actor != NULL ? req->actor : "ca",
				  "cert.issue", detail, err);
}

/* Issuing runs in two phases (prepare, then record in one transaction).
 * A certificate is handed out only after the commit; one whose commit
 * fails is discarded, never seen outside.  A batch shares one commit
 * (group commit): the fsync is paid once for all of its requests. */
int ca_issue_batch(jpki_ca *ca, const ca_issue_req *reqs, size_t n,
		   ca_issued *outs, int *rcs, jpki_err *errs, jpki_err *err)
{
	plan *plans = NULL;
	store_issue_read *reads = NULL;
	int rc = 0;
	if (n == 0)
		return 0;
	if (n > CA_BATCH_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "at most %d requests per batch", CA_BATCH_MAX);
	plans = calloc(n, sizeof(*plans));
	if (plans == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	/* Phase 1a: every request's plan from one read snapshot (one round
	 * of store locking for the batch instead of one per read). */
	size_t ready = 0;
	for (size_t i = 0; i < n; i++) {
		jpki_err_clear(&errs[i]);
		memset(&outs[i], 0, sizeof(outs[i]));
		rcs[i] = 0;
	}
	if ((reads = calloc(n, sizeof(*reads))) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		if ((rcs[i] = plan_request(&reqs[i], &plans[i], &errs[i])) != 0)
			continue;
		reads[nr++] = (store_issue_read){
		    .resident_id = reqs[i].resident_id,
		    .card_serial = reqs[i].card_serial,
		    .fn = collect_current,
		    .ctx = &plans[i].cur,
		};
	}
	if ((rc = store_read_begin(ca->st, err)) != 0)
		goto fail;
	/* every request's reads: one round trip on PostgreSQL */
	if ((rc = store_issue_reads_n(ca->st, reads, nr, err)) != 0) {
		store_read_end(ca->st);
		goto fail;
	}
	for (size_t i = 0, j = 0, last = n; i < n; i++) {
		if (rcs[i] != 0)
			continue;
		store_issue_read *q = &reads[j++];
		plans[i].res = q->res;
		plans[i].card = q->card;
		rcs[i] =
		    plan_checked(ca, &reqs[i], &plans[i], q->rc, q->card_found,
				 last < n ? &plans[last].muni : NULL, &errs[i]);
		if (rcs[i] == 0)
			last = i;
	}
	store_read_end(ca->st);
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] == 0)
			rcs[i] = sign_planned(ca, &reqs[i], &plans[i], &outs[i],
					      &errs[i]);
		if (rcs[i] == 0)
			ready++;
	}
	if (ready == 0)
		goto out;
	if ((rc = store_begin(ca->st, err)) != 0)
		goto fail;
	/* the batch is one transaction, rolled back on a store failure: its
	 * writes may travel together (PostgreSQL: the audit lock and the
	 * whole batch's re-check in one round trip, then every certificate
	 * and audit record in the COMMIT's) */
	store_defer_writes(ca->st);
	if ((rc = plans_still_hold(ca, plans, n, outs, rcs, errs, err)) != 0)
		goto fail;
	for (size_t i = 0; i < 2 * n; i++) {
		size_t j = i % n;
		if (rcs[j] != 0)
			continue;
		if ((rc = i < n ? record_certs(ca, &reqs[j], &plans[j],
					       &outs[j], &errs[j])
				: record_audit(ca, &reqs[j], &plans[j],
					       &outs[j], &errs[j])) != 0) {
			if (rc != JPKI_ERR_CONFLICT) {
				/* a store failure spoils the whole transaction
				 */
				if (err != NULL)
					*err = errs[j];
				goto fail;
			}
			rcs[j] = rc;
			ca_issued_free(&outs[j]);
		}
	}
	if ((rc = store_commit(ca->st, err)) != 0)
		goto fail;
	goto out;
fail:
	store_rollback(ca->st);
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] == 0) {
			rcs[i] = rc;
			if (err != NULL)
				errs[i] = *err;
		}
		ca_issued_free(&outs[i]);
	}
out:
	free(plans);
	free(reads);
	return rc;
}

int ca_issue(jpki_ca *ca, const ca_issue_req *req, ca_issued *out,
	     jpki_err *err)
{
	ca_issued res;
	jpki_err e1 = {0};
	int r1 = 0;
	int rc = ca_issue_batch(ca, req, 1, &res, &r1, &e1, err);
	if (rc != 0)
		return rc;
	if (r1 != 0) {
		if (err != NULL)
			*err = e1;
		return r1;
	}
	*out = res;
	return 0;
}

void ca_issued_free(ca_issued *out)
{
	if (out == NULL)
		return;
	free(out->sign_der);
	free(out->auth_der);
	out->sign_der = out->auth_der = NULL;
	out->sign_der_len = out->auth_der_len = 0;
}

int ca_issued_x509(const ca_issued *out, jpki_cert_kind kind, X509 **cert,
		   jpki_err *err)
{
	const uint8_t *der = kind == JPKI_CERT_SIGN   ? out->sign_der
			     : kind == JPKI_CERT_AUTH ? out->auth_der
						      : NULL;
	size_t len =
	    kind == JPKI_CERT_SIGN ? out->sign_der_len : out->auth_der_len;
	if (der == NULL)
		return jpki_fail(err, JPKI_ERR_NOT_FOUND, "no %s was issued",
				 kind == JPKI_CERT_SIGN
				     ? "signature certificate"
				     : "authentication certificate");
	return x509_from_der(der, len, cert, err);
}
