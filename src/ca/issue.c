/* Issuing the two certificates of a card: eligibility and validity from
 * rules/, lint-then-sign, one store transaction per request. */
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
	jpki_strlcpy(cur->serial[c->kind], c->serial, STORE_SERIAL_HEX_MAX);
	jpki_strlcpy(cur->card[c->kind], c->card_serial, sizeof(cur->card[0]));
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
} plan;

static int plan_kind(plan *p, const ca_issue_req *req, jpki_cert_kind kind,
		     EVP_PKEY *pub, jpki_err *err)
{
	const char *kname = kind == JPKI_CERT_SIGN
				    ? "signature certificate (署名用電子証明書)"
				    : "authentication certificate (利用者証明用電子証明書)";
	jpki_person person = {p->res.birth, p->res.adult_ward};
	int rc = rules_eligible(kind, &person, p->today, err);
	if (rc != 0)
		return rc;
	if ((rc = x509_check_key(pub, err)) != 0)
		return jpki_wrap(err, rc, "%s", kname);
	jpki_validity_in in;
	memset(&in, 0, sizeof(in));
	in.birth = p->res.birth;
	in.issued = p->today;
	in.card_expiry = p->card.expiry;
	if (req->renewal) {
		if (!p->cur.have[kind])
			return jpki_fail(err, JPKI_ERR_STATE,
					 "renewal of the %s: the resident holds "
					 "none that is valid",
					 kname);
		if ((rc = rules_renewal_allowed(p->cur.last_day[kind], p->today,
						err)) != 0)
			return jpki_wrap(err, rc, "renewal of the %s", kname);
		in.renewal = true;
		in.current_expiry = p->cur.last_day[kind];
	} else if (p->cur.have[kind] &&
		   jpki_date_cmp(p->cur.last_day[kind], p->today) >= 0) {
		return jpki_fail(err, JPKI_ERR_STATE,
				 "resident already holds a valid %s (serial "
				 "%s); renew it or revoke it first",
				 kname, p->cur.serial[kind]);
	}
	if (kind == JPKI_CERT_SIGN) {
		/* capped by the authentication certificate on the same card */
		if (p->want[JPKI_CERT_AUTH]) {
			in.has_auth_expiry = true;
			in.auth_expiry = p->v[JPKI_CERT_AUTH].last_day;
		} else if (p->cur.have[JPKI_CERT_AUTH] &&
			   strcmp(p->cur.card[JPKI_CERT_AUTH],
				  p->card.serial) == 0) {
			in.has_auth_expiry = true;
			in.auth_expiry = p->cur.last_day[JPKI_CERT_AUTH];
		}
	}
	return rules_cert_validity(kind, &in, &p->v[kind], err);
}

static int make_plan(jpki_ca *ca, const ca_issue_req *req, plan *p,
		     jpki_err *err)
{
	int rc;
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
	if ((rc = store_resident_get(ca->st, req->resident_id, &p->res, err)) != 0)
		return rc == JPKI_ERR_NOT_FOUND
			       ? jpki_fail(err, rc, "unknown resident %lld",
					   (long long)req->resident_id)
			       : rc;
	if (p->res.status != STORE_RESIDENT_LIVING)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "resident %lld has been removed from the "
				 "register (住民票消除): nothing may be issued",
				 (long long)req->resident_id);
	if ((rc = store_muni_get(ca->st, p->res.muni_code, &p->muni, err)) != 0)
		return jpki_wrap(err, rc, "resident's municipality");
	if ((rc = store_card_get(ca->st, req->card_serial, &p->card, err)) != 0)
		return rc == JPKI_ERR_NOT_FOUND
			       ? jpki_fail(err, rc, "unknown card %s",
					   req->card_serial)
			       : rc;
	if (p->card.resident_id != p->res.id)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "card %s belongs to another resident",
				 req->card_serial);
	if (p->card.status != STORE_CARD_ACTIVE)
		return jpki_fail(err, JPKI_ERR_STATE, "card %s is not active",
				 req->card_serial);
	if ((rc = store_cert_by_resident(ca->st, p->res.id, collect_current,
					 &p->cur, err)) != 0)
		return rc;
	/* authentication first: it caps the signature certificate */
	if (p->want[JPKI_CERT_AUTH] &&
	    (rc = plan_kind(p, req, JPKI_CERT_AUTH, req->auth_pub, err)) != 0)
		return rc;
	if (p->want[JPKI_CERT_SIGN] &&
	    (rc = plan_kind(p, req, JPKI_CERT_SIGN, req->sign_pub, err)) != 0)
		return rc;
	return 0;
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

static void site_of(const plan *p, const ca_issue_req *req,
		    jpki_issuer_site *site)
{
	memset(site, 0, sizeof(*site));
	jpki_strlcpy(site->pref_roman, p->muni.pref_roman, sizeof(site->pref_roman));
	jpki_strlcpy(site->city_roman, p->muni.city_roman, sizeof(site->city_roman));
	if (req->window_id != NULL)
		jpki_strlcpy(site->window_id, req->window_id, sizeof(site->window_id));
	else
		snprintf(site->window_id, sizeof(site->window_id), "%.6s001",
			 p->muni.code);
}

/* Next CN sequence number of `kind`.  Numbers are reserved from the store
 * in blocks in a short transaction of their own, so that issuing threads
 * do not serialise on a counter row; a crash loses at most a block of
 * unused numbers (they only need to be unique, not dense). */
#define SEQ_BLOCK 64
static int seq_next(jpki_ca *ca, jpki_cert_kind kind, int64_t *out,
		    jpki_err *err)
{
	if (ca->seq_next[kind] == 0 || ca->seq_next[kind] > ca->seq_end[kind]) {
		int64_t end;
		int rc = store_meta_incr(ca->st,
					 kind == JPKI_CERT_SIGN ? "seq/sign"
								: "seq/auth",
					 SEQ_BLOCK, &end, err);
		if (rc != 0)
			return rc;
		ca->seq_end[kind] = end;
		ca->seq_next[kind] = end - SEQ_BLOCK + 1;
	}
	*out = ca->seq_next[kind]++;
	return 0;
}

/* Opaque CN of the authentication certificate: 10 random characters of
 * [0-9A-Z], the first five digits of the municipality code, a 7-digit
 * sequence number and "A" -- 23 characters in the shape of a real test
 * card's CN (docs/decisions.md). */
static int auth_id(jpki_ca *ca, const plan *p, char out[32], jpki_err *err)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint8_t rnd[10];
	int64_t seq;
	int rc;
	if ((rc = jpki_random(rnd, sizeof(rnd), err)) != 0 ||
	    (rc = seq_next(ca, JPKI_CERT_AUTH, &seq, err)) != 0)
		return rc;
	char r[11];
	for (int i = 0; i < 10; i++)
		r[i] = alnum[rnd[i] % 36];
	r[10] = '\0';
	snprintf(out, 32, "%s%.5s%07lldA", r, p->muni.code,
		 (long long)(seq % 10000000));
	return 0;
}

static int issue_one(jpki_ca *ca, const ca_issue_req *req, const plan *p,
		     jpki_cert_kind kind, EVP_PKEY *pub, X509 **out,
		     char serial_hex[STORE_SERIAL_HEX_MAX], jpki_err *err)
{
	uint8_t serial[CA_SERIAL_BYTES];
	jpki_issuer_site site;
	X509 *cert = NULL;
	time_t not_after = jpki_date_end(p->v[kind].last_day);
	int rc;
	site_of(p, req, &site);
	if ((rc = ca_new_serial(serial, err)) != 0)
		return rc;
	if (kind == JPKI_CERT_SIGN) {
		int64_t seq;
		if ((rc = seq_next(ca, JPKI_CERT_SIGN, &seq, err)) != 0)
			return rc;
		jpki_sign_subject subj = {
			.name = p->res.name,
			.address = p->res.address,
			.sex = p->res.sex,
			.birth = p->res.birth,
			.requested = req->now,
			.sequence = (unsigned)(seq % 100000),
			.site = &site,
		};
		rc = x509_sign_cert_build(ca->profile, ca->root[kind], &subj, pub,
					  serial, sizeof(serial), req->now,
					  not_after, &cert, err);
	} else {
		char id[32];
		if ((rc = auth_id(ca, p, id, err)) != 0)
			return rc;
		rc = x509_auth_cert_build(ca->profile, ca->root[kind], id, &site,
					  pub, serial, sizeof(serial), req->now,
					  not_after, &cert, err);
	}
	if (rc != 0)
		goto out;
	if ((rc = ca_sign_cert(ca, kind, false, cert, ca->key[kind], err)) != 0 ||
	    (rc = ca_serial_hex(cert, serial_hex, err)) != 0)
		goto out;
	*out = cert;
	cert = NULL; /* transferred */
out:
	X509_free(cert);
	return rc;
}

/* Whether the resident's current certificates are still those the plan
 * was made against (another handle may have issued or revoked since). */
static int plan_still_holds(jpki_ca *ca, const plan *p, jpki_err *err)
{
	current_certs now;
	memset(&now, 0, sizeof(now));
	int rc = store_cert_by_resident(ca->st, p->res.id, collect_current, &now,
					err);
	if (rc != 0)
		return rc;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++)
		if (now.have[k] != p->cur.have[k] ||
		    (now.have[k] && strcmp(now.serial[k], p->cur.serial[k]) != 0))
			return jpki_fail(err, JPKI_ERR_CONFLICT,
					 "the resident's certificates changed "
					 "while issuing; nothing was issued, "
					 "try again");
	return 0;
}

/* Phase 1 of issuing, outside any write transaction so that handles on
 * other threads sign in parallel: plan, build, lint, sign. */
static int prepare(jpki_ca *ca, const ca_issue_req *req, plan *p,
		   ca_issued *res, jpki_err *err)
{
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = make_plan(ca, req, p, err)) != 0)
		return rc;
	if (p->want[JPKI_CERT_AUTH] &&
	    (rc = issue_one(ca, req, p, JPKI_CERT_AUTH, req->auth_pub, &res->auth,
			    res->auth_serial, err)) != 0)
		goto fail;
	if (p->want[JPKI_CERT_SIGN] &&
	    (rc = issue_one(ca, req, p, JPKI_CERT_SIGN, req->sign_pub, &res->sign,
			    res->sign_serial, err)) != 0)
		goto fail;
	res->sign_validity = p->v[JPKI_CERT_SIGN];
	res->auth_validity = p->v[JPKI_CERT_AUTH];
	return 0;
fail:
	ca_issued_free(res);
	return rc;
}

/* Phase 2, inside the write transaction: re-check the plan, record the
 * certificates, revoke the superseded ones, append the audit record. */
static int record(jpki_ca *ca, const ca_issue_req *req, const plan *p,
		  ca_issued *res, jpki_err *err)
{
	char detail[256];
	int rc;
	if ((rc = plan_still_holds(ca, p, err)) != 0 ||
	    (res->auth && (rc = ca_record(ca, res->auth, JPKI_CERT_AUTH, p->res.id,
					  req->card_serial, p->muni.code, err)) != 0) ||
	    (res->sign && (rc = ca_record(ca, res->sign, JPKI_CERT_SIGN, p->res.id,
					  req->card_serial, p->muni.code, err)) != 0))
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
			jpki_strlcpy(res->superseded[n++], p->cur.serial[k],
				     STORE_SERIAL_HEX_MAX);
		}
	}
	snprintf(detail, sizeof(detail),
		 "resident=%lld card=%s sign=%s auth=%s renewal=%d",
		 (long long)p->res.id, req->card_serial,
		 res->sign_serial[0] ? res->sign_serial : "-",
		 res->auth_serial[0] ? res->auth_serial : "-",
		 req->renewal ? 1 : 0);
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
	int rc = 0;
	if (n == 0)
		return 0;
	if (n > CA_BATCH_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "at most %d requests per batch", CA_BATCH_MAX);
	plans = calloc(n, sizeof(*plans));
	if (plans == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	size_t ready = 0;
	for (size_t i = 0; i < n; i++) {
		jpki_err_clear(&errs[i]);
		rcs[i] = prepare(ca, &reqs[i], &plans[i], &outs[i], &errs[i]);
		if (rcs[i] == 0)
			ready++;
	}
	if (ready == 0)
		goto out;
	if ((rc = store_begin(ca->st, err)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != 0)
			continue;
		if ((rc = record(ca, &reqs[i], &plans[i], &outs[i], &errs[i])) != 0) {
			if (rc != JPKI_ERR_CONFLICT) {
				/* a store failure spoils the whole transaction */
				if (err != NULL)
					*err = errs[i];
				goto fail;
			}
			rcs[i] = rc;
			ca_issued_free(&outs[i]);
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
	X509_free(out->sign);
	X509_free(out->auth);
	out->sign = out->auth = NULL;
}
