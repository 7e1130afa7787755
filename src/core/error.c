/* One error model: see include/openjpki/error.h. */
#include "openjpki/error.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *jpki_strerror(int code)
{
	switch (code) {
	case JPKI_OK: return "success";
	case JPKI_ERR_NOMEM: return "out of memory";
	case JPKI_ERR_INVAL: return "invalid argument";
	case JPKI_ERR_IO: return "I/O error";
	case JPKI_ERR_CRYPTO: return "cryptographic library error";
	case JPKI_ERR_PARSE: return "malformed input";
	case JPKI_ERR_NOT_FOUND: return "not found";
	case JPKI_ERR_EXISTS: return "already exists";
	case JPKI_ERR_RANGE: return "over limit";
	case JPKI_ERR_STATE: return "not allowed in the current state";
	case JPKI_ERR_BUSY: return "busy, try again later";
	case JPKI_ERR_INELIGIBLE: return "not eligible";
	case JPKI_ERR_PIN_FORMAT: return "PIN format not allowed";
	case JPKI_ERR_WINDOW: return "outside the allowed period";
	case JPKI_ERR_LINT: return "certificate refused by profile lint";
	case JPKI_ERR_KEY: return "key refused";
	case JPKI_ERR_POLICY: return "refused by CA policy";
	case JPKI_ERR_REVOKED: return "revoked";
	case JPKI_ERR_STORE: return "database error";
	case JPKI_ERR_CONFLICT: return "conflict";
	case JPKI_ERR_SCHEMA: return "unsupported schema version";
	case JPKI_ERR_UNAVAILABLE: return "temporarily unavailable";
	case JPKI_ERR_CARD: return "card error";
	case JPKI_ERR_PIN_WRONG: return "wrong PIN";
	case JPKI_ERR_PIN_BLOCKED: return "PIN blocked";
	case JPKI_ERR_AUTH: return "security status not satisfied";
	case JPKI_ERR_TRANSPORT: return "transport error";
	case JPKI_ERR_INTEGRITY: return "integrity check failed";
	default: return "unknown error";
	}
}

static void append_openssl(jpki_err *err)
{
	unsigned long e = ERR_peek_error();
	if (e != 0) {
		char tmp[160];
		size_t n = strlen(err->msg);
		ERR_error_string_n(e, tmp, sizeof(tmp));
		if (n + 3 < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)",
				 tmp);
	}
	ERR_clear_error();
}

int jpki_fail(jpki_err *err, int code, const char *fmt, ...)
{
	if (err == NULL) {
		if (code == JPKI_ERR_CRYPTO)
			ERR_clear_error();
		return code;
	}
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (code == JPKI_ERR_CRYPTO)
		append_openssl(err);
	return code;
}

int jpki_wrap(jpki_err *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	if (err->code == 0)
		err->code = code;
	char prefix[JPKI_ERR_MSG_MAX];
	char old[JPKI_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	const char *parts[3] = {prefix, ": ",
				old[0] ? old : jpki_strerror(err->code)};
	size_t n = 0;
	/* concatenate, truncating at the buffer's end */
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (len > sizeof(err->msg) - 1 - n)
			len = sizeof(err->msg) - 1 - n;
		memcpy(err->msg + n, parts[i], len);
		n += len;
	}
	err->msg[n] = '\0';
	return err->code;
}

void jpki_err_clear(jpki_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *jpki_err_msg(const jpki_err *err, int code)
{
	if (err != NULL && err->msg[0] != '\0')
		return err->msg;
	return jpki_strerror(code);
}
