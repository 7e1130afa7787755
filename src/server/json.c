/* JSON request bodies: one object, known fields only, typed, bounded. */
#include <stdio.h>
#include <string.h>

#include "server_int.h"

/* jansson refuses trailing data itself; its nesting limit (2048) is far
 * above anything a capped body can waste time on. */
#define JSON_BODY_FLAGS JSON_REJECT_DUPLICATES

static const char *type_name(int t)
{
	switch (t) {
	case JT_STRING: return "a string";
	case JT_INT: return "an integer";
	case JT_BOOL: return "true or false";
	default: return "an object";
	}
}

static bool type_ok(json_t *v, int t)
{
	switch (t) {
	case JT_STRING: return json_is_string(v);
	case JT_INT: return json_is_integer(v);
	case JT_BOOL: return json_is_boolean(v);
	default: return json_is_object(v);
	}
}

int srv_json_check(json_t *o, const char *where, const srv_jfield *f, size_t n,
		   char *msg, size_t cap)
{
	const char *key;
	json_t *v;
	if (!json_is_object(o)) {
		snprintf(msg, cap, "%s must be a JSON object", where);
		return JPKI_ERR_INVAL;
	}
	json_object_foreach(o, key, v)
	{
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, key) == 0)
				break;
		if (i == n) {
			snprintf(msg, cap, "%s: unknown field '%.64s'", where,
				 key);
			return JPKI_ERR_INVAL;
		}
		if (!type_ok(v, f[i].type)) {
			snprintf(msg, cap, "%s: field '%s' must be %s", where,
				 key, type_name(f[i].type));
			return JPKI_ERR_INVAL;
		}
		if (f[i].type == JT_STRING && f[i].max > 0 &&
		    json_string_length(v) > f[i].max) {
			snprintf(msg, cap,
				 "%s: field '%s' is longer than %zu bytes",
				 where, key, f[i].max);
			return JPKI_ERR_RANGE;
		}
		if (f[i].type == JT_STRING &&
		    memchr(json_string_value(v), '\0', json_string_length(v)) !=
			NULL) {
			snprintf(msg, cap, "%s: field '%s' contains NUL", where,
				 key);
			return JPKI_ERR_INVAL;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && json_object_get(o, f[i].name) == NULL) {
			snprintf(msg, cap, "%s: field '%s' is required", where,
				 f[i].name);
			return JPKI_ERR_INVAL;
		}
	return 0;
}

json_t *srv_json_body(srv_req *r, const srv_jfield *f, size_t n)
{
	json_error_t je;
	char msg[256];
	if (r->body.len == 0) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"a JSON object body is required");
		return NULL;
	}
	json_t *o = json_loadb((const char *)r->body.p, r->body.len,
			       JSON_BODY_FLAGS, &je);
	if (o == NULL) {
		srv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				"malformed JSON at line %d column %d: %s",
				je.line, je.column, je.text);
		return NULL;
	}
	if (srv_json_check(o, "body", f, n, msg, sizeof(msg)) != 0) {
		/* the field named in the message: "body: field 'x' ..." */
		char field[48] = "";
		const char *q = strstr(msg, "field '");
		if (q != NULL) {
			size_t k = strcspn(q + 7, "'");
			if (k < sizeof(field)) {
				memcpy(field, q + 7, k);
				field[k] = '\0';
			}
		}
		json_decref(o);
		srv_reply_field(r, MHD_HTTP_BAD_REQUEST,
				field[0] != '\0' ? "invalid_field"
						 : "bad_request",
				field, "%s", msg);
		return NULL;
	}
	return o;
}

const char *srv_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
