/* Operator accounts: name, role, password hashed with scrypt (RFC 7914)
 * through OpenSSL 3's EVP_KDF "SCRYPT".
 *
 * Accounts live in the store's settings table, one JSON value under
 * "operator/<name>" and the list of names under "operators", so that both
 * backends carry them without a schema change (docs/decisions.md).  Each
 * record keeps its own scrypt parameters and salt, so the cost can be
 * raised later without invalidating existing hashes. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

/* RFC 7914 §2: N = 2^15, r = 8, p = 1 is 32 MiB and tens of ms per try. */
#define SCRYPT_N 32768
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define HASH_LEN 32
#define PW_MIN 12
#define PW_MAX SERVER_PASSWORD_MAX
#define INDEX_KEY "operators"

const char *srv_role_name(int role)
{
	switch (role) {
	case ROLE_CLERK: return "clerk";
	case ROLE_SUPERVISOR: return "supervisor";
	case ROLE_CA_ADMIN: return "ca-admin";
	default: return "none";
	}
}

int srv_role_parse(const char *s)
{
	if (s == NULL)
		return ROLE_NONE;
	if (strcmp(s, "clerk") == 0)
		return ROLE_CLERK;
	if (strcmp(s, "supervisor") == 0)
		return ROLE_SUPERVISOR;
	if (strcmp(s, "ca-admin") == 0)
		return ROLE_CA_ADMIN;
	return ROLE_NONE;
}

int srv_operator_check_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SRV_OP_NAME_MAX)
		return JPKI_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '.' || c == '_' || c == '-'))))
			return JPKI_ERR_INVAL;
	}
	return 0;
}

static int check_password(const char *pw, jpki_err *err)
{
	size_t n = strlen(pw);
	if (n < PW_MIN || n > PW_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a password has %d to %d bytes", PW_MIN,
				 PW_MAX);
	return 0;
}

static int scrypt(const char *pw, const uint8_t *salt, size_t salt_len,
		  uint64_t n, uint32_t r, uint32_t p, uint8_t out[HASH_LEN],
		  jpki_err *err)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	int rc = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
					      (void *)pw, strlen(pw)),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
					      salt_len),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
	    OSSL_PARAM_construct_end()};
	if (ctx == NULL || EVP_KDF_derive(ctx, out, HASH_LEN, params) != 1)
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "scrypt");
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

static int meta_key(const char *name, char key[STORE_META_KEY_MAX],
		    jpki_err *err)
{
	if (srv_operator_check_name(name) != 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "operator names are 1-%d characters of a-z "
				 "0-9 . _ - (starting with a letter or digit)",
				 SRV_OP_NAME_MAX);
	snprintf(key, STORE_META_KEY_MAX, "operator/%s", name);
	return 0;
}

static int load_json(store *st, const char *key, json_t **out, jpki_err *err)
{
	char *buf = malloc(STORE_META_VALUE_MAX);
	json_error_t je;
	int rc;
	if (buf == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	if ((rc = store_meta_get(st, key, buf, STORE_META_VALUE_MAX, err)) ==
	    0) {
		*out = json_loads(buf, JSON_REJECT_DUPLICATES, &je);
		if (*out == NULL)
			rc = jpki_fail(err, JPKI_ERR_INTEGRITY,
				       "setting %s is not JSON", key);
	}
	free(buf);
	return rc;
}

static int save_json(store *st, const char *key, json_t *v, jpki_err *err)
{
	char *txt = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (txt == NULL)
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	int rc = store_meta_set(st, key, txt, err);
	free(txt);
	return rc;
}

static int make_record(const char *password, int role, const char *actor,
		       time_t now, json_t **out, jpki_err *err)
{
	uint8_t salt[SALT_LEN], hash[HASH_LEN];
	char salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1], at[21];
	int rc;
	if ((rc = jpki_random(salt, sizeof(salt), err)) != 0 ||
	    (rc = scrypt(password, salt, sizeof(salt), SCRYPT_N, SCRYPT_R,
			 SCRYPT_P, hash, err)) != 0)
		return rc;
	jpki_hex(salt, sizeof(salt), salt_hex);
	jpki_hex(hash, sizeof(hash), hash_hex);
	OPENSSL_cleanse(hash, sizeof(hash));
	jpki_time_format(now, at);
	*out = json_pack("{s:s,s:s,s:I,s:i,s:i,s:s,s:s,s:s,s:s}", "role",
			 srv_role_name(role), "kdf", "scrypt", "N",
			 (json_int_t)SCRYPT_N, "r", SCRYPT_R, "p", SCRYPT_P,
			 "salt", salt_hex, "hash", hash_hex, "changed", at,
			 "by", actor);
	OPENSSL_cleanse(hash_hex, sizeof(hash_hex));
	return *out != NULL ? 0
			    : jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
}

int srv_operator_create(jpki_ca *ca, const char *name, int role,
			const char *password, const char *actor, time_t now,
			jpki_err *err)
{
	store *st = ca_store(ca);
	char key[STORE_META_KEY_MAX], detail[96], probe[8];
	json_t *rec = NULL, *index = NULL;
	bool began = false;
	int rc;
	if ((rc = meta_key(name, key, err)) != 0 ||
	    (rc = check_password(password, err)) != 0)
		return rc;
	if (role < ROLE_CLERK || role > ROLE_CA_ADMIN)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "role is clerk, supervisor or ca-admin");
	/* the expensive hash before the write lock is taken */
	if ((rc = make_record(password, role, actor, now, &rec, err)) != 0)
		return rc;
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	began = true;
	rc = store_meta_get(st, key, probe, sizeof(probe), NULL);
	if (rc != JPKI_ERR_NOT_FOUND) {
		rc = rc == 0 || rc == JPKI_ERR_RANGE
			 ? jpki_fail(err, JPKI_ERR_EXISTS, "operator %s exists",
				     name)
			 : jpki_fail(err, rc, "reading operator %s", name);
		goto out;
	}
	rc = load_json(st, INDEX_KEY, &index, err);
	if (rc == JPKI_ERR_NOT_FOUND)
		index = json_array();
	else if (rc != 0)
		goto out;
	if (!json_is_array(index) ||
	    json_array_append_new(index, json_string(name)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_INTEGRITY, "operator index");
		goto out;
	}
	snprintf(detail, sizeof(detail), "operator=%s role=%s", name,
		 srv_role_name(role));
	if ((rc = save_json(st, key, rec, err)) == 0 &&
	    (rc = save_json(st, INDEX_KEY, index, err)) == 0 &&
	    (rc = store_audit_append(st, now, actor, "operator.create", detail,
				     err)) == 0)
		rc = store_commit(st, err);
out:
	if (rc != 0 && began)
		store_rollback(st);
	json_decref(rec);
	json_decref(index);
	return rc;
}

/* The record's generation: how many password changes and disables it
 * has seen (0 for a record without one). */
static int64_t gen_of(json_t *rec)
{
	json_t *g = json_object_get(rec, "gen");
	return json_is_integer(g) ? (int64_t)json_integer_value(g) : 0;
}

int srv_operator_set_password(jpki_ca *ca, const char *name,
			      const char *password, const char *actor,
			      time_t now, jpki_err *err)
{
	store *st = ca_store(ca);
	char key[STORE_META_KEY_MAX], detail[96];
	json_t *old = NULL, *rec = NULL;
	int rc;
	if ((rc = meta_key(name, key, err)) != 0 ||
	    (rc = check_password(password, err)) != 0)
		return rc;
	if ((rc = load_json(st, key, &old, err)) != 0)
		return rc == JPKI_ERR_NOT_FOUND
			   ? jpki_fail(err, rc, "no operator %s", name)
			   : rc;
	int role = srv_role_parse(srv_jstr(old, "role"));
	if ((rc = make_record(password, role, actor, now, &rec, err)) != 0)
		goto out;
	/* a new password ends the sessions opened before it (also those of
	 * a jpkid that learns of it from the store: srv_sessions_sync): the
	 * record's generation goes up, sessions carry the one they logged in
	 * with */
	json_object_set(rec, "disabled", json_object_get(old, "disabled"));
	json_object_set_new(rec, "gen", json_integer(gen_of(old) + 1));
	if (json_object_get(rec, "disabled") == NULL)
		json_object_set_new(rec, "disabled", json_false());
	snprintf(detail, sizeof(detail), "operator=%s", name);
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	if ((rc = save_json(st, key, rec, err)) != 0 ||
	    (rc = store_audit_append(st, now, actor, "operator.password",
				     detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		store_rollback(st);
out:
	json_decref(old);
	json_decref(rec);
	return rc;
}

int srv_operator_verify(jpki_ca *ca, const char *name, const char *password,
			int *role, jpki_err *err)
{
	int64_t gen = 0;
	return srv_operator_verify_gen(ca, name, password, role, &gen, err);
}

int srv_operator_gen(jpki_ca *ca, const char *name, int64_t *gen, jpki_err *err)
{
	char key[STORE_META_KEY_MAX];
	json_t *rec = NULL;
	int rc;
	if ((rc = meta_key(name, key, err)) != 0)
		return rc;
	if ((rc = load_json(ca_store(ca), key, &rec, err)) != 0)
		return rc == JPKI_ERR_NOT_FOUND
			   ? jpki_fail(err, rc, "no operator %s", name)
			   : rc;
	*gen = gen_of(rec);
	json_decref(rec);
	return 0;
}

int srv_operator_verify_gen(jpki_ca *ca, const char *name, const char *password,
			    int *role, int64_t *gen, jpki_err *err)
{
	static const uint8_t dummy_salt[SALT_LEN];
	char key[STORE_META_KEY_MAX];
	json_t *rec = NULL;
	uint8_t salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	size_t sl = 0, hl = 0;
	bool known = false;
	int rc;
	if (meta_key(name, key, NULL) == 0 &&
	    load_json(ca_store(ca), key, &rec, NULL) == 0) {
		const char *s = srv_jstr(rec, "salt"),
			   *h = srv_jstr(rec, "hash");
		json_t *n = json_object_get(rec, "N");
		known = s != NULL && h != NULL && json_is_integer(n) &&
			json_integer_value(n) == SCRYPT_N &&
			jpki_unhex(s, salt, sizeof(salt), &sl, NULL) == 0 &&
			jpki_unhex(h, want, sizeof(want), &hl, NULL) == 0 &&
			sl == SALT_LEN && hl == HASH_LEN &&
			srv_role_parse(srv_jstr(rec, "role")) != ROLE_NONE &&
			!json_is_true(json_object_get(rec, "disabled"));
	}
	/* the same scrypt runs for an unknown name: no timing oracle */
	if ((rc = scrypt(password, known ? salt : dummy_salt, SALT_LEN,
			 SCRYPT_N, SCRYPT_R, SCRYPT_P, got, err)) != 0)
		goto out;
	if (!known || CRYPTO_memcmp(got, want, HASH_LEN) != 0) {
		rc = jpki_fail(err, JPKI_ERR_AUTH, "wrong name or password");
		goto out;
	}
	*role = srv_role_parse(srv_jstr(rec, "role"));
	*gen = gen_of(rec);
out:
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(want, sizeof(want));
	json_decref(rec);
	return rc;
}

int srv_operator_any(jpki_ca *ca, bool *any, jpki_err *err)
{
	json_t *index = NULL;
	int rc = load_json(ca_store(ca), INDEX_KEY, &index, err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		*any = false;
		return 0;
	}
	if (rc != 0)
		return rc;
	*any = json_is_array(index) && json_array_size(index) > 0;
	json_decref(index);
	return 0;
}

/* What the API and the CLI show of an operator: never the hash. */
static json_t *public_json(const char *name, json_t *rec)
{
	const char *changed = srv_jstr(rec, "changed");
	return json_pack("{s:s,s:s,s:s,s:b}", "name", name, "role",
			 srv_role_name(srv_role_parse(srv_jstr(rec, "role"))),
			 "changed", changed ? changed : "", "disabled",
			 json_is_true(json_object_get(rec, "disabled")));
}

int srv_operator_list(jpki_ca *ca, json_t **out, jpki_err *err)
{
	json_t *index = NULL, *arr = json_array(), *v;
	size_t i;
	int rc = load_json(ca_store(ca), INDEX_KEY, &index, err);
	if (rc == JPKI_ERR_NOT_FOUND) {
		*out = arr;
		return 0;
	}
	if (rc != 0) {
		json_decref(arr);
		return rc;
	}
	json_array_foreach(index, i, v)
	{
		char key[STORE_META_KEY_MAX];
		json_t *rec = NULL;
		const char *name = json_string_value(v);
		if (name == NULL || meta_key(name, key, NULL) != 0 ||
		    load_json(ca_store(ca), key, &rec, NULL) != 0)
			continue;
		json_array_append_new(arr, public_json(name, rec));
		json_decref(rec);
	}
	json_decref(index);
	*out = arr;
	return 0;
}

int srv_operator_get(jpki_ca *ca, const char *name, json_t **out, jpki_err *err)
{
	char key[STORE_META_KEY_MAX];
	json_t *rec = NULL;
	int rc;
	if ((rc = meta_key(name, key, err)) != 0)
		return rc;
	if ((rc = load_json(ca_store(ca), key, &rec, err)) != 0)
		return rc == JPKI_ERR_NOT_FOUND
			   ? jpki_fail(err, rc, "no operator %s", name)
			   : rc;
	*out = public_json(name, rec);
	json_decref(rec);
	return *out != NULL ? 0
			    : jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
}

/* Whether another enabled ca-admin than `name` exists (in a transaction). */
static int other_admin(store *st, const char *name, bool *found, jpki_err *err)
{
	json_t *index = NULL, *v;
	size_t i;
	int rc = load_json(st, INDEX_KEY, &index, err);
	*found = false;
	if (rc != 0)
		return rc;
	json_array_foreach(index, i, v)
	{
		char key[STORE_META_KEY_MAX];
		json_t *rec = NULL;
		const char *n = json_string_value(v);
		if (n == NULL || strcmp(n, name) == 0 ||
		    meta_key(n, key, NULL) != 0 ||
		    load_json(st, key, &rec, NULL) != 0)
			continue;
		if (srv_role_parse(srv_jstr(rec, "role")) == ROLE_CA_ADMIN &&
		    !json_is_true(json_object_get(rec, "disabled")))
			*found = true;
		json_decref(rec);
	}
	json_decref(index);
	return 0;
}

int srv_operator_set_disabled(jpki_ca *ca, const char *name, bool disabled,
			      const char *actor, time_t now, jpki_err *err)
{
	store *st = ca_store(ca);
	char key[STORE_META_KEY_MAX], detail[96];
	json_t *rec = NULL;
	bool began = false;
	int rc;
	if ((rc = meta_key(name, key, err)) != 0)
		return rc;
	if (disabled && actor != NULL && strcmp(actor, name) == 0)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "an operator cannot disable their own "
				 "account");
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	began = true;
	if ((rc = load_json(st, key, &rec, err)) != 0) {
		if (rc == JPKI_ERR_NOT_FOUND)
			rc = jpki_fail(err, rc, "no operator %s", name);
		goto out;
	}
	if (json_is_true(json_object_get(rec, "disabled")) == disabled) {
		rc = jpki_fail(err, JPKI_ERR_STATE, "operator %s is already %s",
			       name, disabled ? "disabled" : "enabled");
		goto out;
	}
	if (disabled &&
	    srv_role_parse(srv_jstr(rec, "role")) == ROLE_CA_ADMIN) {
		bool other = false;
		if ((rc = other_admin(st, name, &other, err)) != 0)
			goto out;
		if (!other) {
			rc = jpki_fail(err, JPKI_ERR_STATE,
				       "%s is the last enabled ca-admin", name);
			goto out;
		}
	}
	json_object_set_new(rec, "disabled", json_boolean(disabled));
	if (disabled)
		json_object_set_new(rec, "gen", json_integer(gen_of(rec) + 1));
	snprintf(detail, sizeof(detail), "operator=%s", name);
	if ((rc = save_json(st, key, rec, err)) == 0 &&
	    (rc = store_audit_append(st, now, actor ? actor : "jpki",
				     disabled ? "operator.disable"
					      : "operator.enable",
				     detail, err)) == 0)
		rc = store_commit(st, err);
out:
	if (rc != 0 && began)
		store_rollback(st);
	json_decref(rec);
	return rc;
}

int srv_operator_change_own(jpki_ca *ca, const char *name, const char *current,
			    const char *password, time_t now, jpki_err *err)
{
	int role = 0, rc;
	int64_t gen = 0;
	if ((rc = check_password(password, err)) != 0)
		return rc;
	if (current == NULL ||
	    srv_operator_verify_gen(ca, name, current, &role, &gen, NULL) != 0)
		return jpki_fail(err, JPKI_ERR_AUTH,
				 "the current password is wrong");
	if (strcmp(current, password) == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "password: the new password is the current "
				 "one");
	return srv_operator_set_password(ca, name, password, name, now, err);
}

int srv_operator_cutoffs(jpki_ca *ca, srv_op_cutoff *out, size_t max, size_t *n,
			 jpki_err *err)
{
	json_t *index = NULL, *v;
	size_t i;
	int rc = load_json(ca_store(ca), INDEX_KEY, &index, err);
	*n = 0;
	if (rc == JPKI_ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	json_array_foreach(index, i, v)
	{
		char key[STORE_META_KEY_MAX];
		json_t *rec = NULL;
		const char *name = json_string_value(v);
		if (*n == max || name == NULL ||
		    meta_key(name, key, NULL) != 0 ||
		    load_json(ca_store(ca), key, &rec, NULL) != 0)
			continue;
		bool dis = json_is_true(json_object_get(rec, "disabled"));
		/* a name too long for the list is skipped as a bad entry */
		if ((dis || gen_of(rec) > 0) &&
		    jpki_strlcpy(out[*n].name, name, sizeof(out[*n].name)) ==
			0) {
			out[*n].disabled = dis;
			out[*n].gen = gen_of(rec);
			(*n)++;
		}
		json_decref(rec);
	}
	json_decref(index);
	return 0;
}
