/* Verdicts and certificates as JSON: the one implementation behind
 * `jpki verify --json`, `jpki show --json` and jpkid's /api/v1/verify. */
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "openjpki/val_json.h"

static json_t *name_json(const X509_NAME *n)
{
	char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return json_null();
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int len = BIO_read(b, buf, sizeof(buf) - 1);
	BIO_free(b);
	buf[len > 0 ? len : 0] = '\0';
	return json_string(buf);
}

static json_t *time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char s[21];
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	jpki_time_format(timegm(&tm), s);
	return json_string(s);
}

/* Upper-case hex of a non-negative serial of at most 20 octets. */
static json_t *serial_json(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	json_t *v = hex != NULL && hex[0] != '-' && strlen(hex) <= 40
			? json_string(hex)
			: NULL;
	OPENSSL_free(hex);
	BN_free(bn);
	return v;
}

json_t *val_cert_json(X509 *cert)
{
	json_t *o = json_object();
	jpki_cert_kind kind;
	jpki_profile prof;
	bool root = false;
	jpki_err err = {0};
	if (o == NULL || cert == NULL)
		return o;
	json_t *sn = serial_json(cert);
	if (sn != NULL)
		json_object_set_new(o, "serial", sn);
	json_object_set_new(o, "subject",
			    name_json(X509_get_subject_name(cert)));
	json_object_set_new(o, "issuer", name_json(X509_get_issuer_name(cert)));
	json_object_set_new(o, "not_before",
			    time_json(X509_get0_notBefore(cert)));
	json_object_set_new(o, "not_after",
			    time_json(X509_get0_notAfter(cert)));
	if (x509_classify(cert, &kind, &prof, &root, NULL) == 0) {
		json_object_set_new(o, "kind",
				    json_string(jpki_cert_kind_name(kind)));
		json_object_set_new(o, "profile",
				    json_string(jpki_profile_name(prof)));
		json_object_set_new(o, "root", json_boolean(root));
	}
	jpki_basic4 *b4 = calloc(1, sizeof(*b4));
	if (b4 != NULL && x509_basic4_decode(cert, b4, &err) == 0) {
		json_t *j = json_object();
		jpki_date bd;
		int era = 0;
		json_object_set_new(j, "name", json_string(b4->name));
		json_object_set_new(j, "name_substitute",
				    json_string(b4->name_subst));
		json_object_set_new(j, "sex", json_string(b4->sex));
		json_object_set_new(j, "birth_era_coded",
				    json_string(b4->birth));
		if (rules_era_date_parse(b4->birth, &bd, &era, NULL) == 0) {
			char d[11];
			jpki_date_format(bd, d);
			json_object_set_new(j, "birth", json_string(d));
			json_object_set_new(j, "birth_era",
					    json_string(rules_era_name(era)));
		}
		json_object_set_new(j, "address", json_string(b4->address));
		json_object_set_new(j, "address_substitute",
				    json_string(b4->address_subst));
		json_object_set_new(o, "basic4", j);
	}
	free(b4);
	return o;
}

const char *val_sex_label(const char *code)
{
	return strcmp(code, "1") == 0	? "男"
	       : strcmp(code, "2") == 0 ? "女"
					: "";
}

void val_era_text(const val_result *r, char *out, size_t cap)
{
	const char *era = rules_era_name(r->birth_era);
	if (!r->has_birth || era == NULL)
		snprintf(out, cap, "?");
	else if (r->birth_era_year == 1)
		snprintf(out, cap, "%s元年%d月%d日", era, r->birth.m,
			 r->birth.d);
	else
		snprintf(out, cap, "%s%d年%d月%d日", era, r->birth_era_year,
			 r->birth.m, r->birth.d);
}

const char *val_rev_name(val_rev_status s)
{
	static const char *names[] = {"not-checked", "good", "revoked",
				      "unknown"};
	return (unsigned)s < 4 ? names[s] : "?";
}

void val_root_desc(X509 *root, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(root);
	char hex[41] = "none", nb[32] = "?";
	struct tm tm;
	if (ski != NULL && ASN1_STRING_length(ski) <= 20)
		jpki_hex(ASN1_STRING_get0_data(ski),
			 (size_t)ASN1_STRING_length(ski), hex);
	if (ASN1_TIME_to_tm(X509_get0_notBefore(root), &tm) == 1)
		snprintf(nb, sizeof(nb), "%04d-%02d-%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday);
	snprintf(out, cap, "root from %s, SKI %s", nb, hex);
}

static json_t *revocation_json(const val_result *r)
{
	json_t *rev = json_object();
	char t[21];
	json_object_set_new(rev, "status", json_string(val_rev_name(r->rev)));
	if (r->rev_source != VAL_SRC_NONE) {
		json_object_set_new(
		    rev, "source",
		    json_string(r->rev_source == VAL_SRC_CRL ? "crl" : "ocsp"));
		json_object_set_new(rev, "where", json_string(r->rev_where));
		json_object_set_new(rev, "cached", json_boolean(r->rev_cached));
		jpki_time_format(r->rev_this_update, t);
		json_object_set_new(rev, "this_update", json_string(t));
		jpki_time_format(r->rev_next_update, t);
		json_object_set_new(rev, "next_update", json_string(t));
	}
	if (r->rev == VAL_REV_REVOKED) {
		jpki_time_format(r->revoked_at, t);
		json_object_set_new(rev, "revoked_at", json_string(t));
		json_object_set_new(rev, "reason",
				    json_string(jpki_reason_name(r->reason)));
	}
	return rev;
}

static json_t *basic4_json(const val_result *r)
{
	json_t *p = json_object();
	char buf[128];
	json_object_set_new(p, "name", json_string(r->basic4.name));
	json_object_set_new(p, "name_substitute",
			    json_string(r->basic4.name_subst));
	json_object_set_new(p, "address", json_string(r->basic4.address));
	json_object_set_new(p, "address_substitute",
			    json_string(r->basic4.address_subst));
	json_object_set_new(p, "sex", json_string(r->basic4.sex));
	json_object_set_new(p, "sex_label",
			    json_string(val_sex_label(r->basic4.sex)));
	json_object_set_new(p, "birth_era_coded", json_string(r->basic4.birth));
	if (r->has_birth) {
		char d[11];
		jpki_date_format(r->birth, d);
		json_object_set_new(p, "birth", json_string(d));
		json_object_set_new(p, "birth_era",
				    json_string(rules_era_name(r->birth_era)));
		json_object_set_new(p, "birth_era_year",
				    json_integer(r->birth_era_year));
		val_era_text(r, buf, sizeof(buf));
		json_object_set_new(p, "birth_japanese", json_string(buf));
	}
	return p;
}

json_t *val_result_json(const val_result *r)
{
	json_t *o = json_object();
	json_t *fails = json_array(), *msgs = json_array();
	char t[21], buf[600];
	if (o == NULL || fails == NULL || msgs == NULL) {
		json_decref(o);
		json_decref(fails);
		json_decref(msgs);
		return NULL;
	}
	json_object_set_new(o, "ok", json_boolean(r->fails == 0));
	json_object_set_new(o, "valid", json_boolean(r->fails == 0));
	for (unsigned b = 1; b & VAL_FAIL_ALL; b <<= 1)
		if (r->fails & b)
			json_array_append_new(
			    fails, json_string(val_fail_name((val_fail)b)));
	for (size_t i = 0; i < r->n_msgs && i < VAL_MSGS_MAX; i++) {
		json_t *m = json_object();
		json_object_set_new(
		    m, "reason", json_string(val_fail_name(r->msgs[i].what)));
		json_object_set_new(m, "message", json_string(r->msgs[i].text));
		json_array_append_new(msgs, m);
	}
	json_object_set_new(o, "failures", fails);
	json_object_set_new(o, "messages", msgs);
	json_object_set_new(o, "attached", json_boolean(r->attached));
	if (r->has_signing_time) {
		jpki_time_format(r->signing_time, t);
		json_object_set_new(o, "signing_time", json_string(t));
	}
	if (r->has_timestamp) {
		json_t *ts = json_object();
		jpki_time_format(r->timestamp, t);
		json_object_set_new(ts, "time", json_string(t));
		json_object_set_new(ts, "tsa", json_string(r->tsa_name));
		json_object_set_new(ts, "policy", json_string(r->tsa_policy));
		json_object_set_new(o, "timestamp", ts);
	}
	if (r->cert != NULL)
		json_object_set_new(o, "signer", val_cert_json(r->cert));
	if (r->root != NULL) {
		json_t *root = val_cert_json(r->root);
		val_root_desc(r->root, buf, sizeof(buf));
		json_object_set_new(root, "generation", json_string(buf));
		json_object_set_new(o, "root", root);
	}
	json_object_set_new(o, "revocation", revocation_json(r));
	if (r->has_basic4)
		json_object_set_new(o, "basic4", basic4_json(r));
	return o;
}
