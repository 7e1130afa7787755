/* The counter's personalisation of a card (terminal.h): terminal
 * authentication, the card on record, keys generated on the card,
 * certificates, roots, EF 0008, PINs and card-information data. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/rules.h"
#include "openjpki/store.h"
#include "openjpki/terminal.h"
#include "openjpki/util.h"
#include "openjpki/x509.h"

#define TOKEN_EF_LEN 160
#define PIN_BUF (JPKI_PIN_MAX + 1)

static int tkey_meta_key(const char *serial, char *key, size_t cap)
{
	int n = snprintf(key, cap, TERMINAL_TKEY_META_PREFIX "%s", serial);
	return n < 0 || (size_t)n >= cap ? JPKI_ERR_RANGE : 0;
}

int terminal_tkey_record(jpki_ca *ca, const char *serial,
			 const uint8_t tkey[JPKI_CARD_TKEY_LEN], time_t now,
			 const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	char key[STORE_META_KEY_MAX], old[8], detail[128];
	char hex[2 * JPKI_CARD_TKEY_LEN + 1];
	int rc;
	if (tkey_meta_key(serial, key, sizeof(key)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "serial too long");
	rc = store_meta_get(st, key, old, sizeof(old), err);
	if (rc == 0 || rc == JPKI_ERR_RANGE)
		return jpki_fail(err, JPKI_ERR_EXISTS,
				 "the CA already holds a card with serial %s",
				 serial);
	if (rc != JPKI_ERR_NOT_FOUND)
		return rc;
	jpki_err_clear(err);
	snprintf(detail, sizeof(detail), "card %s: terminal key recorded",
		 serial);
	jpki_hex(tkey, JPKI_CARD_TKEY_LEN, hex);
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	if ((rc = store_meta_set(st, key, hex, err)) != 0 ||
	    (rc = store_audit_append(st, now, actor ? actor : "terminal",
				     "card.create", detail, err)) != 0) {
		store_rollback(st);
		goto out;
	}
	rc = store_commit(st, err);
out:
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int terminal_tkey_get(jpki_ca *ca, const char *serial,
		      uint8_t tkey[JPKI_CARD_TKEY_LEN], jpki_err *err)
{
	char key[STORE_META_KEY_MAX], hex[2 * JPKI_CARD_TKEY_LEN + 8];
	uint8_t k[JPKI_CARD_TKEY_LEN];
	size_t got = 0;
	int rc;
	if (tkey_meta_key(serial, key, sizeof(key)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "serial too long");
	rc = store_meta_get(ca_store(ca), key, hex, sizeof(hex), err);
	if (rc == JPKI_ERR_NOT_FOUND)
		return jpki_fail(err, rc,
				 "no terminal key for card %s in the CA store",
				 serial);
	if (rc != 0)
		return rc;
	rc = jpki_unhex(hex, k, sizeof(k), &got, err);
	if (rc == 0 && got != JPKI_CARD_TKEY_LEN)
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
			       "terminal key of card %s in the store is "
			       "damaged",
			       serial);
	if (rc == 0)
		memcpy(tkey, k, sizeof(k));
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

/* tkey_fn for the store alone. */
static int tkey_from_store(void *ctx, jpki_ca *ca, const char *serial,
			   uint8_t tkey[JPKI_CARD_TKEY_LEN], jpki_err *err)
{
	(void)ctx;
	return terminal_tkey_get(ca, serial, tkey, err);
}

int terminal_card_serial(const jpki_link *l,
			 char serial[JPKI_CARD_SERIAL_LEN + 1], jpki_err *err)
{
	uint8_t *ef = NULL;
	size_t len = 0, n = JPKI_CARD_SERIAL_LEN;
	int rc;
	if ((rc = card_client_select(l, JPKI_AP_JPKI, err)) != 0)
		return rc;
	rc = card_client_read_ef(l, 0x0006, TOKEN_EF_LEN, &ef, &len, err);
	if (rc != 0)
		return jpki_wrap(err, rc, "token information (EF 0006)");
	if (len < 96) {
		free(ef);
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "token information (EF 0006) is %zu bytes, "
				 "expected 160",
				 len);
	}
	/* serialNumber: 16 bytes at offset 80, space or NUL padded */
	const uint8_t *p = ef + 80;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == 0))
		n--;
	for (size_t i = 0; i < n; i++)
		serial[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	serial[n] = '\0';
	free(ef);
	if (serial[0] == '\0')
		return jpki_fail(err, JPKI_ERR_PARSE,
				 "token information (EF 0006) has no serial");
	return 0;
}

/* Check the format before anything reaches the card (a malformed PIN
 * would cost a try for nothing) and normalise (sign PIN upper-cased). */
static int pin_norm(jpki_pin_kind kind, const char *in, char out[PIN_BUF],
		    jpki_err *err)
{
	int rc = rules_pin_check(kind, in, out, PIN_BUF, err);
	if (rc != 0) {
		char msg[JPKI_ERR_MSG_MAX];
		jpki_strlcpy_cut(msg, err != NULL ? err->msg : "", sizeof(msg));
		jpki_fail(err, rc, "%s (not sent to the card)", msg);
		OPENSSL_cleanse(out, PIN_BUF);
	}
	return rc;
}

/* Newest valid certificate of each kind the resident holds on `card`. */
typedef struct on_card {
	char serial[3][STORE_SERIAL_HEX_MAX];
	const char *card;
} on_card;

static int collect_on_card(void *vctx, const store_cert *c)
{
	on_card *oc = vctx;
	if ((c->kind == JPKI_CERT_SIGN || c->kind == JPKI_CERT_AUTH) &&
	    c->status == STORE_CERT_VALID && oc->serial[c->kind][0] == '\0' &&
	    strcmp(c->card_serial, oc->card) == 0)
		memcpy(oc->serial[c->kind], c->serial, STORE_SERIAL_HEX_MAX);
	return 0;
}

/* The key pair for `key`: reuse the card's key when the store already
 * holds a valid certificate for it on this card (a retried
 * personalisation), else generate a new one.  *cert gets the reused
 * certificate; *pub the public key to certify (NULL when reused). */
static int prepare_key(jpki_ca *ca, const jpki_link *l, jpki_card_key key,
		       const char *cert_serial, X509 **cert, EVP_PKEY **pub,
		       jpki_err *err)
{
	store_cert sc;
	EVP_PKEY *have = NULL;
	X509 *x = NULL;
	int rc;
	*cert = NULL;
	*pub = NULL;
	if (cert_serial[0] == '\0')
		return card_term_generate_key(l, key, pub, err);
	memset(&sc, 0, sizeof(sc));
	if ((rc = store_cert_get(ca_store(ca), cert_serial, &sc, err)) != 0 ||
	    (rc = x509_from_bytes(sc.der, sc.der_len, &x, err)) != 0)
		goto out;
	rc = card_term_read_pubkey(l, key, &have, err);
	if (rc == 0 && EVP_PKEY_eq(have, X509_get0_pubkey(x)) != 1)
		rc = JPKI_ERR_NOT_FOUND;
	if (rc == JPKI_ERR_NOT_FOUND) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "certificate %s was issued for this card but "
			       "the card no longer holds its key; revoke it "
			       "(jpki revoke %s --reason unspecified) and run "
			       "personalize again",
			       cert_serial, cert_serial);
		goto out;
	}
	if (rc != 0)
		goto out;
	*cert = x;
	x = NULL; /* transferred */
out:
	X509_free(x);
	EVP_PKEY_free(have);
	store_cert_clear(&sc);
	return rc;
}

static int write_cert(const jpki_link *l, jpki_card_cert which, X509 *cert,
		      jpki_err *err)
{
	unsigned char *der = NULL;
	int len = cert != NULL ? i2d_X509(cert, &der) : 0;
	if (cert != NULL && len <= 0)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "encoding certificate");
	int rc = card_term_write_cert(l, which, der, (size_t)len, err);
	OPENSSL_free(der);
	return rc;
}

/* Record the card for the resident (kept as is on a retry). */
static int record_card(jpki_ca *ca, const store_resident *r, const char *serial,
		       time_t now, jpki_err *err)
{
	store_card sc;
	memset(&sc, 0, sizeof(sc));
	int rc = store_card_get(ca_store(ca), serial, &sc, err);
	if (rc == 0) {
		if (sc.resident_id != r->id)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "card %s is recorded for resident "
					 "%lld, not %lld",
					 serial, (long long)sc.resident_id,
					 (long long)r->id);
		if (sc.status != STORE_CARD_ACTIVE)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "card %s is no longer active (lost or "
					 "retired)",
					 serial);
		return 0;
	}
	if (rc != JPKI_ERR_NOT_FOUND)
		return rc;
	jpki_err_clear(err);
	memset(&sc, 0, sizeof(sc));
	if (jpki_strlcpy(sc.serial, serial, sizeof(sc.serial)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "serial too long");
	sc.resident_id = r->id;
	sc.issued = jpki_date_of(now);
	sc.expiry = rules_card_expiry(r->birth, sc.issued);
	sc.status = STORE_CARD_ACTIVE;
	return store_card_put(ca_store(ca), &sc, err);
}

/* Whether the resident gets a signature certificate, and why not: the
 * person's law from rules_plan (under 15, adult ward); what the store
 * holds is ca_issue's to weigh. */
static void sign_decision(const terminal_perso_req *req,
			  const store_resident *r, terminal_perso_out *out,
			  bool *want_sign)
{
	rules_plan_in in;
	jpki_plan plan;
	jpki_err why = {0};
	*want_sign = false;
	if (req->no_sign) {
		out->no_sign_why = "declined by the citizen (--no-sign)";
		return;
	}
	memset(&in, 0, sizeof(in));
	in.person = (jpki_person){r->birth, r->adult_ward};
	in.today = jpki_date_of(req->now);
	in.app = RULES_APP_NEW_CARD;
	in.applicant = RULES_BY_CA_TEST;
	in.certs = 1;
	/* a refusal is read from plan below: rules_plan fills it either
	 * way */
	jpki_ignore(rules_plan(&in, &plan, &why));
	const rules_plan_cert *c = &plan.cert[JPKI_CERT_SIGN];
	if (plan.code != NULL && c->code != NULL &&
	    (strcmp(c->code, "under-15") == 0 ||
	     strcmp(c->code, "adult-ward") == 0)) {
		jpki_strlcpy_cut(out->no_sign_msg, c->en,
				 sizeof(out->no_sign_msg)); /* a message */
		out->no_sign_why = out->no_sign_msg;
	} else {
		*want_sign = true;
	}
}

/* The living resident `rid`. */
static int load_resident(jpki_ca *ca, int64_t rid, store_resident *r,
			 jpki_err *err)
{
	int rc = store_resident_get(ca_store(ca), rid, r, err);
	if (rc != 0)
		return rc;
	if (r->status != STORE_RESIDENT_LIVING)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "resident %lld has been removed from the "
				 "register (住民票消除)",
				 (long long)rid);
	return 0;
}

static int write_cardinfo(const jpki_link *l, const store_resident *r,
			  const char *my_number, jpki_err *err)
{
	char birth[11], b8[9];
	jpki_date_format(r->birth, birth);
	snprintf(b8, sizeof(b8), "%.4s%.2s%.2s", birth, birth + 5, birth + 8);
	jpki_card_basic4 b4 = {
	    .name = r->name,
	    .address = r->address,
	    .birth = b8,
	    .sex = r->sex == 1	 ? '1'
		   : r->sex == 2 ? '2'
				 : '9',
	};
	return card_term_write_cardinfo(l, my_number, &b4, err);
}

/* The 個人番号 the card gets: the record's.  A number given with the
 * request (--my-number) must be the record's when the record holds one;
 * a record without one takes the card without it (the basic four are
 * still written).  *out NULL: none. */
static int cardinfo_number(const terminal_perso_req *req,
			   const store_resident *r, const char **out,
			   jpki_err *err)
{
	*out = r->my_number[0] != '\0' ? r->my_number : NULL;
	if (req->my_number == NULL)
		return 0;
	if (*out != NULL && strcmp(*out, req->my_number) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "--my-number differs from the 個人番号 on "
				 "resident %lld's record: the card carries the "
				 "record",
				 (long long)r->id);
	*out = req->my_number;
	return 0;
}

int terminal_personalize(jpki_ca *ca, const jpki_link *l,
			 const terminal_perso_req *req, terminal_perso_out *out,
			 jpki_err *err)
{
	char auth_pin[PIN_BUF], sign_pin[PIN_BUF], info_pin[PIN_BUF];
	uint8_t tkey[JPKI_CARD_TKEY_LEN];
	EVP_PKEY *pub[3] = {NULL, NULL, NULL};
	store_resident r;
	store_card card;
	ca_issued res;
	on_card oc;
	bool want_sign = false;
	const char *my_number = NULL;
	const char *step = "checking the request";
	const char *actor = req->actor != NULL ? req->actor : "terminal";
	terminal_tkey_fn tkey_fn =
	    req->tkey_fn != NULL ? req->tkey_fn : tkey_from_store;
	int64_t rid = req->resident_id;
	int rc;
	memset(out, 0, sizeof(*out));
	memset(&res, 0, sizeof(res));
	memset(&oc, 0, sizeof(oc));
	memset(&r, 0, sizeof(r));
	auth_pin[0] = sign_pin[0] = info_pin[0] = '\0';

	/* 1. everything that needs no card and changes nothing */
	if (req->auth_pin == NULL) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "the authentication PIN is required");
		goto out;
	}
	if ((rc = pin_norm(JPKI_PIN_AUTH, req->auth_pin, auth_pin, err)) != 0 ||
	    (rc = pin_norm(JPKI_PIN_CARDINFO,
			   req->cardinfo_pin != NULL ? req->cardinfo_pin
						     : req->auth_pin,
			   info_pin, err)) != 0)
		goto out;
	if (rid <= 0 && !req->renew) {
		rc = jpki_fail(err, JPKI_ERR_INVAL, "no resident given");
		goto out;
	}
	if (req->my_number != NULL &&
	    (rc = rules_mynumber_check(req->my_number, err)) != 0)
		goto out;

	if (rid > 0 && (rc = load_resident(ca, rid, &r, err)) != 0)
		goto out;

	/* 2. the card: who it is, and the counter's key for it */
	step = "reading the card";
	if ((rc = terminal_card_serial(l, out->serial, err)) != 0)
		goto out;
	if (rid <= 0) {
		/* a renewal: the card's own resident */
		memset(&card, 0, sizeof(card));
		step = "looking up the card";
		if ((rc = store_card_get(ca_store(ca), out->serial, &card,
					 err)) != 0 ||
		    (rc = load_resident(ca, card.resident_id, &r, err)) != 0)
			goto out;
		step = "checking the request";
	}
	out->resident_id = r.id;
	/* the card carries the record: its 個人番号 is the record's */
	if ((rc = cardinfo_number(req, &r, &my_number, err)) != 0)
		goto out;
	sign_decision(req, &r, out, &want_sign);
	if (want_sign && req->sign_pin == NULL) {
		out->sign_pin_needed = true;
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "the resident may hold a signature certificate: "
			       "a signature PIN is required (or the citizen "
			       "declines the certificate)");
		goto out;
	}
	if (want_sign &&
	    (rc = pin_norm(JPKI_PIN_SIGN, req->sign_pin, sign_pin, err)) != 0)
		goto out;
	step = "terminal authentication";
	if ((rc = tkey_fn(req->tkey_ctx, ca, out->serial, tkey, err)) != 0 ||
	    (rc = card_term_auth(l, tkey, err)) != 0)
		goto out;

	/* 3. the store: the card, then certificates for its keys */
	step = "recording the card";
	if ((rc = record_card(ca, &r, out->serial, req->now, err)) != 0)
		goto out;
	step = "checking the certificates on record";
	oc.card = out->serial;
	if ((rc = store_cert_by_resident(ca_store(ca), r.id, collect_on_card,
					 &oc, err)) != 0)
		goto out;
	if (!want_sign && oc.serial[JPKI_CERT_SIGN][0] != '\0') {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "the card holds a valid signature certificate "
			       "(serial %s); revoke it first (jpki revoke %s "
			       "--reason cessationOfOperation)",
			       oc.serial[JPKI_CERT_SIGN],
			       oc.serial[JPKI_CERT_SIGN]);
		goto out;
	}
	if (req->renew)
		memset(&oc.serial, 0, sizeof(oc.serial)); /* new keys */
	step = "generating the keys on the card";
	if ((rc = prepare_key(ca, l, JPKI_KEY_AUTH, oc.serial[JPKI_CERT_AUTH],
			      &out->cert[JPKI_CERT_AUTH], &pub[JPKI_CERT_AUTH],
			      err)) != 0)
		goto out;
	if (want_sign &&
	    (rc = prepare_key(ca, l, JPKI_KEY_SIGN, oc.serial[JPKI_CERT_SIGN],
			      &out->cert[JPKI_CERT_SIGN], &pub[JPKI_CERT_SIGN],
			      err)) != 0)
		goto out;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		out->reused[k] = out->cert[k] != NULL;
		if (out->reused[k])
			memcpy(out->cert_serial[k], oc.serial[k],
			       STORE_SERIAL_HEX_MAX);
	}
	if (pub[JPKI_CERT_AUTH] != NULL || pub[JPKI_CERT_SIGN] != NULL) {
		ca_issue_req ir = {
		    .resident_id = r.id,
		    .card_serial = out->serial,
		    .sign_pub = pub[JPKI_CERT_SIGN],
		    .auth_pub = pub[JPKI_CERT_AUTH],
		    .renewal = req->renew,
		    .actor = actor,
		    .now = req->now,
		};
		step = "issuing the certificates";
		if ((rc = ca_issue(ca, &ir, &res, err)) != 0)
			goto out;
		if (res.auth_der != NULL) {
			if ((rc = ca_issued_x509(&res, JPKI_CERT_AUTH,
						 &out->cert[JPKI_CERT_AUTH],
						 err)) != 0)
				goto out;
			memcpy(out->cert_serial[JPKI_CERT_AUTH],
			       res.auth_serial, STORE_SERIAL_HEX_MAX);
			out->validity[JPKI_CERT_AUTH] = res.auth_validity;
		}
		if (res.sign_der != NULL) {
			if ((rc = ca_issued_x509(&res, JPKI_CERT_SIGN,
						 &out->cert[JPKI_CERT_SIGN],
						 err)) != 0)
				goto out;
			memcpy(out->cert_serial[JPKI_CERT_SIGN],
			       res.sign_serial, STORE_SERIAL_HEX_MAX);
			out->validity[JPKI_CERT_SIGN] = res.sign_validity;
		}
		memcpy(out->superseded, res.superseded,
		       sizeof(out->superseded));
	}

	/* 4. the card's files, PINs and card-information data */
	step = "writing the certificates";
	if ((rc = write_cert(l, JPKI_CCERT_AUTH, out->cert[JPKI_CERT_AUTH],
			     err)) != 0 ||
	    (rc = write_cert(l, JPKI_CCERT_AUTH_CA, ca_root(ca, JPKI_CERT_AUTH),
			     err)) != 0 ||
	    (rc = write_cert(l, JPKI_CCERT_SIGN, out->cert[JPKI_CERT_SIGN],
			     err)) != 0 ||
	    (rc = write_cert(l, JPKI_CCERT_SIGN_CA, ca_root(ca, JPKI_CERT_SIGN),
			     err)) != 0 ||
	    (rc = card_term_write_presence(l, want_sign, true, err)) != 0)
		goto out;
	step = "setting the PINs";
	if ((rc = card_term_set_pin(l, JPKI_CPIN_AUTH, auth_pin, err)) != 0 ||
	    (want_sign &&
	     (rc = card_term_set_pin(l, JPKI_CPIN_SIGN, sign_pin, err)) != 0) ||
	    (rc = card_term_set_pin(l, JPKI_CPIN_CARDINFO, info_pin, err)) != 0)
		goto out;
	/* 券面事項入力補助AP: every card made at the counter carries the
	 * record (basic four, and the 個人番号 when on record) */
	step = "writing the card-information data";
	if ((rc = write_cardinfo(l, &r, my_number, err)) != 0)
		goto out;
	out->cardinfo = true;
	/* the counter's record of what it did to the card (PINs set, keys) */
	char detail[160];
	snprintf(detail, sizeof(detail),
		 "card %s for resident %lld: auth %s, sign %s, PINs set%s%s",
		 out->serial, (long long)r.id,
		 out->reused[JPKI_CERT_AUTH] ? "reused" : "new key",
		 !want_sign		       ? "none"
		 : out->reused[JPKI_CERT_SIGN] ? "reused"
					       : "new key",
		 out->cardinfo ? ", card-information data written" : "",
		 req->renew ? " (renewal)" : "");
	step = "writing the audit record";
	rc = store_audit_append(ca_store(ca), req->now, actor,
				req->renew ? "card.renew" : "card.personalize",
				detail, err);
out:
	if (rc != 0)
		jpki_wrap(err, rc, "personalize: %s", step);
	OPENSSL_cleanse(auth_pin, sizeof(auth_pin));
	OPENSSL_cleanse(sign_pin, sizeof(sign_pin));
	OPENSSL_cleanse(info_pin, sizeof(info_pin));
	OPENSSL_cleanse(tkey, sizeof(tkey));
	EVP_PKEY_free(pub[JPKI_CERT_AUTH]);
	EVP_PKEY_free(pub[JPKI_CERT_SIGN]);
	ca_issued_free(&res);
	return rc;
}

void terminal_perso_out_clear(terminal_perso_out *out)
{
	if (out == NULL)
		return;
	X509_free(out->cert[JPKI_CERT_SIGN]);
	X509_free(out->cert[JPKI_CERT_AUTH]);
	out->cert[JPKI_CERT_SIGN] = out->cert[JPKI_CERT_AUTH] = NULL;
}
