/* Answers: JSON bodies, errors mapped from jpki_rc at the edge, 503 with
 * Retry-After, HTTP dates, base64. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

double srv_now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct MHD_Response *json_response(json_t *body)
{
	char *txt = json_dumps(body, JSON_COMPACT);
	if (txt == NULL)
		return NULL;
	size_t len = strlen(txt);
	/* one trailing newline for people reading with curl */
	char *buf = realloc(txt, len + 2);
	if (buf == NULL) {
		free(txt);
		return NULL;
	}
	buf[len] = '\n';
	buf[len + 1] = '\0';
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len + 1, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	return resp;
}

void srv_reply_json(srv_req *r, int status, json_t *body)
{
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = body != NULL ? json_response(body) : NULL;
	r->status = r->resp != NULL ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
	json_decref(body);
}

/* {"error": {"code", "message"[, "field"]}}: the code is stable and
 * machine-readable (the UI words its headline from it), the message is
 * English for people reading with curl. */
/* Bytes of the well-formed UTF-8 sequence at p (NUL-terminated), 0 when
 * it is not one (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned lo = 0x80, hi = 0xBF;
	size_t n;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		lo = p[0] == 0xE0 ? 0xA0 : lo;
		hi = p[0] == 0xED ? 0x9F : hi;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		lo = p[0] == 0xF0 ? 0x90 : lo;
		hi = p[0] == 0xF4 ? 0x8F : hi;
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* A copy of s fit for a JSON string: a byte that is not part of
 * well-formed UTF-8 becomes '?'.  Messages quote what the client sent
 * (jansson's "near '...'") and may be cut mid-character; jansson refuses
 * such strings, which left the request without an answer (500). */
static void utf8_copy(char *dst, size_t cap, const char *s)
{
	unsigned char *p = (unsigned char *)dst;
	jpki_strlcpy_cut(dst, s, cap); /* a message: cut, then mended */
	while (*p != 0) {
		size_t n = utf8_seq(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

static void reply_error(srv_req *r, int status, const char *code,
			const char *field, const char *msg)
{
	char m[JPKI_ERR_MSG_MAX > 512 ? JPKI_ERR_MSG_MAX : 512], f[64];
	utf8_copy(m, sizeof(m), msg);
	utf8_copy(f, sizeof(f), field != NULL ? field : "");
	json_t *e = json_pack("{s:s,s:s}", "code", code, "message", m);
	if (e != NULL && f[0] != '\0')
		json_object_set_new(e, "field", json_string(f));
	srv_reply_json(r, status,
		       e != NULL ? json_pack("{s:o}", "error", e) : NULL);
	if (r->resp != NULL && status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER,
					"1");
}

void srv_reply_error(srv_req *r, int status, const char *code, const char *fmt,
		     ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(r, status, code, NULL, msg);
}

void srv_reply_field(srv_req *r, int status, const char *code,
		     const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(r, status, code, field, msg);
}

int srv_status_of_rc(int rc)
{
	switch (rc) {
	case JPKI_OK: return MHD_HTTP_OK;
	case JPKI_ERR_INVAL:
	case JPKI_ERR_PARSE:
	case JPKI_ERR_RANGE:
	case JPKI_ERR_PIN_FORMAT: return MHD_HTTP_BAD_REQUEST;
	case JPKI_ERR_AUTH: return MHD_HTTP_UNAUTHORIZED;
	case JPKI_ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case JPKI_ERR_EXISTS:
	case JPKI_ERR_CONFLICT:
	case JPKI_ERR_STATE:
	case JPKI_ERR_REVOKED: return MHD_HTTP_CONFLICT;
	case JPKI_ERR_INELIGIBLE:
	case JPKI_ERR_WINDOW:
	case JPKI_ERR_KEY:
	case JPKI_ERR_LINT:
	case JPKI_ERR_POLICY: return MHD_HTTP_UNPROCESSABLE_CONTENT;
	/* the store is out of reach for now (failover): nothing was
	 * written, try again (503 + Retry-After) */
	case JPKI_ERR_UNAVAILABLE: return MHD_HTTP_SERVICE_UNAVAILABLE;
	/* a storage fault is not "busy": 503 means only try again */
	case JPKI_ERR_STORE:
	case JPKI_ERR_INTEGRITY: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	/* the signer over its rate: only try again */
	case JPKI_ERR_BUSY: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

static bool has(const char *msg, const char *what)
{
	return strstr(msg, what) != NULL;
}

const char *srv_code_of_rc(int rc, const char *msg)
{
	switch (rc) {
	case JPKI_ERR_INVAL:
	case JPKI_ERR_PARSE:
	case JPKI_ERR_RANGE: return "invalid";
	case JPKI_ERR_PIN_FORMAT: return "pin_format";
	case JPKI_ERR_AUTH: return "unauthenticated";
	case JPKI_ERR_NOT_FOUND: return "not_found";
	case JPKI_ERR_EXISTS:
	case JPKI_ERR_CONFLICT: return "duplicate";
	case JPKI_ERR_STATE:
		/* the refusals a clerk meets, told apart by what the
		 * registry says of them */
		if (has(msg, "never the same day"))
			return "inquiry_same_day";
		if (has(msg, "identity document") ||
		    has(msg, "must be presented") ||
		    has(msg, "proof of legal") || has(msg, "needs the 照会書"))
			return "documents_missing";
		if (has(msg, "already holds") ||
		    has(msg, "already has an open") ||
		    has(msg, "already on record"))
			return "duplicate";
		if (has(msg, "already revoked"))
			return "revoked";
		return "state";
	case JPKI_ERR_REVOKED: return "revoked";
	case JPKI_ERR_INELIGIBLE: return "ineligible";
	case JPKI_ERR_WINDOW: return "window";
	case JPKI_ERR_KEY: return "key";
	case JPKI_ERR_LINT: return "lint";
	case JPKI_ERR_POLICY: return "policy";
	case JPKI_ERR_UNAVAILABLE: return "busy";
	case JPKI_ERR_BUSY: return "busy";
	/* a fault, not "busy" (that is only ever a 503 to retry) */
	case JPKI_ERR_STORE:
	case JPKI_ERR_INTEGRITY: return "storage_fault";
	default: return "internal";
	}
}

/* "name: ..." or "...field 'name'...": the field an input error is about,
 * when the message names one (a lower-case identifier). */
static void field_of(const char *msg, char *out, size_t cap)
{
	const char *q = strstr(msg, "field '");
	size_t n;
	out[0] = '\0';
	if (q != NULL) {
		q += 7;
		n = strcspn(q, "'");
	} else {
		q = msg;
		n = strspn(q, "abcdefghijklmnopqrstuvwxyz_");
		if (q[n] != ':')
			return;
	}
	if (n == 0 || n >= cap)
		return;
	memcpy(out, q, n);
	out[n] = '\0';
	if (strcmp(out, "body") == 0)
		out[0] = '\0';
}

void srv_reply_rc(srv_req *r, int rc, const jpki_err *err)
{
	const char *msg = jpki_err_msg(err, rc);
	if (rc == JPKI_ERR_INTEGRITY || rc == JPKI_ERR_STORE ||
	    rc == JPKI_ERR_IO)
		srv_storage_fault(r->s, rc, msg);
	const char *code = srv_code_of_rc(rc, msg);
	char field[48] = "";
	if (strcmp(code, "invalid") == 0) {
		field_of(msg, field, sizeof(field));
		if (field[0] != '\0')
			code = "invalid_field";
	}
	reply_error(r, srv_status_of_rc(rc), code, field, msg);
}

struct MHD_Response *srv_busy_response(const char *why)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    strlen(why), (void *)why, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	return resp;
}

/* RFC 7231 §7.1.1.1 IMF-fixdate, computed without gmtime. */
void srv_http_date(time_t t, char out[32])
{
	static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun",
					 "Mon", "Tue", "Wed"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr",
					 "May", "Jun", "Jul", "Aug",
					 "Sep", "Oct", "Nov", "Dec"};
	int64_t days = (int64_t)t / 86400;
	int64_t secs = (int64_t)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	jpki_date d = jpki_days_to_date(days);
	int w = (int)(((days % 7) + 7) % 7);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[w], d.d,
		 mo[(d.m - 1) % 12], d.y, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60));
}

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int srv_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len)
{
	size_t n = in_len, o = 0;
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (in_len - n > 2 || n % 4 == 1)
		return JPKI_ERR_PARSE;
	if ((in_len - n) != 0 && in_len % 4 != 0)
		return JPKI_ERR_PARSE;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val((unsigned char)in[i]);
		if (v < 0)
			return JPKI_ERR_PARSE;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return JPKI_ERR_RANGE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* leftover bits must be zero (canonical encoding) */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return JPKI_ERR_PARSE;
	*out_len = o;
	return 0;
}

int srv_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (len + 2) / 3 * 4 + 1, o = 0;
	if (need > cap)
		return JPKI_ERR_RANGE;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

void srv_reply_plan(srv_req *r, int rc, const jpki_err *err,
		    const jpki_plan *plan)
{
	if (plan == NULL || plan->code == NULL || plan->ok) {
		srv_reply_rc(r, rc, err);
		return;
	}
	const char *msg = jpki_err_msg(err, rc);
	json_t *e =
	    json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", srv_code_of_rc(rc, msg),
		      "message", msg, "reason", plan->code, "message_ja",
		      plan->ja, "message_en", plan->en);
	srv_reply_json(r, srv_status_of_rc(rc),
		       e != NULL ? json_pack("{s:o}", "error", e) : NULL);
}

void srv_reply_document(srv_req *r, const void *p, size_t len, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len, (void *)p, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL) {
		srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				"out of memory");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src "
				"'unsafe-inline'; frame-ancestors 'none'");
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = MHD_HTTP_OK;
}
