/* Fuzz target: JSON request bodies (src/server/json.c): srv_json_body, the
 * schema-checked parser every API handler calls, with the field tables of
 * real handlers, and srv_json_check on the nested key objects of
 * issuance ("sign"/"auth"), as api_issue.c and api_applications.c do.
 * The first input byte picks the handler, the rest is the body.
 *
 * The tables are copies of the handlers' (static inside api_*.c); they
 * cover every field type, required and optional fields, string caps from
 * 6 bytes to 2 MiB, and nested objects.
 *
 * Invariants: a refused body has a 400 answer and a reply; an accepted
 * one is an object holding only known fields of the right types, every
 * required one, strings within their cap and without NUL. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/card.h"
#include "openjpki/terminal.h"
#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* api_residents.c resident_f */
static const srv_jfield resident_f[] = {
    {"ext_id", JT_STRING, true, 31},	 {"name", JT_STRING, true, 255},
    {"kana", JT_STRING, true, 255},	 {"address", JT_STRING, true, 511},
    {"birth", JT_STRING, true, 10},	 {"sex", JT_INT, true, 0},
    {"muni", JT_STRING, true, 6},	 {"adult_ward", JT_BOOL, false, 0},
    {"my_number", JT_STRING, false, 12},
};
/* api_issue.c issue_f and key_f */
static const srv_jfield issue_f[] = {
    {"resident", JT_INT, true, 0},   {"card", JT_STRING, true, 39},
    {"renewal", JT_BOOL, false, 0},  {"reissue", JT_BOOL, false, 0},
    {"window", JT_STRING, false, 9}, {"challenge", JT_STRING, false, 64},
    {"sign", JT_OBJECT, false, 0},   {"auth", JT_OBJECT, false, 0},
};
static const srv_jfield key_f[] = {{"spki", JT_STRING, false, 4096},
				   {"pop", JT_STRING, false, 2048}};
/* api_admin.c: operator password, municipality */
static const srv_jfield password_f[] = {
    {"password", JT_STRING, true, SERVER_PASSWORD_MAX},
    {"current", JT_STRING, false, SERVER_PASSWORD_MAX}};
static const srv_jfield muni_f[] = {{"pref", JT_STRING, false, 63},
				    {"city", JT_STRING, false, 63}};
/* api_login.c relying-party challenge; api_verify.c verify */
static const srv_jfield origin_f[] = {
    {"origin", JT_STRING, true, SRV_RP_ORIGIN_MAX}};
static const srv_jfield verify_f[] = {
    {"cms", JT_STRING, true, SRV_RP_VERIFY_BODY},
    {"content", JT_STRING, false, SRV_RP_VERIFY_BODY}};
/* api_terminal.c terminal authentication */
static const srv_jfield tauth_f[] = {
    {"token", JT_STRING, true, TERMINAL_TOKEN_LEN},
    {"card", JT_STRING, true, JPKI_CARD_SERIAL_LEN},
    {"challenge", JT_STRING, true, 2 * TERMINAL_TAUTH_CHAL_LEN},
    {"app", JT_INT, true, 0}};
/* api_residents.c card, api.c revocation */
static const srv_jfield card_f[] = {{"card", JT_STRING, true, 39}};
static const srv_jfield reason_f[] = {{"reason", JT_STRING, true, 32}};

static const struct {
	const srv_jfield *f;
	size_t n;
} tables[] = {
    {resident_f, N(resident_f)}, {issue_f, N(issue_f)},
    {password_f, N(password_f)}, {muni_f, N(muni_f)},
    {origin_f, N(origin_f)},	 {verify_f, N(verify_f)},
    {tauth_f, N(tauth_f)},	 {card_f, N(card_f)},
    {reason_f, N(reason_f)},
};

/* The schema holds for an accepted object. */
static void check_accepted(json_t *o, const srv_jfield *f, size_t n)
{
	const char *key;
	json_t *v;
	if (!json_is_object(o))
		abort();
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(f[i].name, key) != 0)
			i++;
		if (i == n)
			abort(); /* an unknown field got through */
		switch (f[i].type) {
		case JT_STRING:
			if (!json_is_string(v) ||
			    (f[i].max > 0 &&
			     json_string_length(v) > f[i].max) ||
			    strlen(json_string_value(v)) !=
				json_string_length(v) ||
			    srv_jstr(o, key) != json_string_value(v))
				abort();
			break;
		case JT_INT:
			if (!json_is_integer(v))
				abort();
			break;
		case JT_BOOL:
			if (!json_is_boolean(v))
				abort();
			break;
		default:
			if (!json_is_object(v))
				abort();
		}
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && json_object_get(o, f[i].name) == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t t = data[0] % N(tables);
	srv_req r;
	memset(&r, 0, sizeof(r));
	/* the handlers see the body as received: bytes, not a C string */
	r.body.p = (uint8_t *)(uintptr_t)(data + 1);
	r.body.len = size - 1;
	r.body.cap = size - 1;
	r.body.max = size - 1;
	json_t *o = srv_json_body(&r, tables[t].f, tables[t].n);
	if (o == NULL) {
		if (r.status != MHD_HTTP_BAD_REQUEST || r.resp == NULL)
			abort();
	} else {
		if (r.resp != NULL)
			abort(); /* accepted, yet answered */
		check_accepted(o, tables[t].f, tables[t].n);
		/* issuance: the nested key objects, as api_issue.c checks */
		static const char *const kn[] = {"sign", "auth"};
		for (size_t k = 0; k < 2 && tables[t].f == issue_f; k++) {
			json_t *ko = json_object_get(o, kn[k]);
			char msg[256];
			if (ko == NULL)
				continue;
			if (srv_json_check(ko, kn[k], key_f, N(key_f), msg,
					   sizeof(msg)) == 0)
				check_accepted(ko, key_f, N(key_f));
			else if (msg[0] == '\0')
				abort();
		}
		json_decref(o);
	}
	if (r.resp != NULL)
		MHD_destroy_response(r.resp);
	return 0;
}
