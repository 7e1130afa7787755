/* openjpki — one error model for every module.
 *
 * Every fallible function returns 0 on success or a negative jpki_rc, and
 * takes a `jpki_err *` (may be NULL) that receives a one-line message a user
 * can act on ("signature PIN must mix letters and digits").  Library code
 * never prints; cmd/ and server/ turn errors into exit codes, HTTP statuses
 * or ISO 7816 status words at the edge.  Output parameters are left untouched
 * on failure. */
#ifndef OPENJPKI_ERROR_H
#define OPENJPKI_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* On every function that returns 0 or a negative jpki_rc: a call that
 * drops the result is a warning, and warnings are errors (-Werror), so an
 * ignored failure does not build.  GCC ignores a (void) cast here; where
 * dropping a result is right (best-effort cleanup), say why in a comment
 * and pass it to jpki_ignore(). */
#if defined(__GNUC__) || defined(__clang__)
#define JPKI_MUST_CHECK __attribute__((warn_unused_result))
#else
#define JPKI_MUST_CHECK
#endif

typedef enum jpki_rc {
	JPKI_OK = 0,
	/* generic */
	JPKI_ERR_NOMEM = -1,
	JPKI_ERR_INVAL = -2,	 /* bad argument or input value */
	JPKI_ERR_IO = -3,	 /* file or socket I/O */
	JPKI_ERR_CRYPTO = -4,	 /* OpenSSL reported a failure */
	JPKI_ERR_PARSE = -5,	 /* malformed or truncated bytes */
	JPKI_ERR_NOT_FOUND = -6, /* no such resident, certificate, file */
	JPKI_ERR_EXISTS = -7,	 /* already there */
	JPKI_ERR_RANGE = -8,	 /* a size or count over its limit */
	JPKI_ERR_STATE = -9,	 /* not allowed in the current state */
	JPKI_ERR_BUSY = -10,	 /* over a rate or capacity: try again later */
	/* rules/ */
	JPKI_ERR_INELIGIBLE = -20, /* the law refuses this request */
	JPKI_ERR_PIN_FORMAT = -21, /* PIN does not meet its format */
	JPKI_ERR_WINDOW = -22,	   /* outside a time window (renewal, notice) */
	/* x509/ and ca/ */
	JPKI_ERR_LINT = -30, /* profile lint refused a certificate */
	JPKI_ERR_KEY = -31,  /* key type or size refused */
	JPKI_ERR_POLICY =
	    -32, /* refused by CA policy (e.g. fixed clock on production) */
	JPKI_ERR_REVOKED = -33,
	/* store/ */
	JPKI_ERR_STORE = -40,	 /* database failure */
	JPKI_ERR_CONFLICT = -41, /* unique constraint, concurrent update */
	JPKI_ERR_SCHEMA = -42,	 /* unknown or newer schema version */
	/* the store cannot be reached now (no primary during a failover,
	 * connection lost); nothing was written: try again later */
	JPKI_ERR_UNAVAILABLE = -43,
	/* card/ and transport/ */
	JPKI_ERR_CARD = -50,	    /* card answered an error status word */
	JPKI_ERR_PIN_WRONG = -51,   /* PIN verification failed (tries remain) */
	JPKI_ERR_PIN_BLOCKED = -52, /* PIN blocked */
	JPKI_ERR_AUTH = -53,	    /* security status not satisfied */
	JPKI_ERR_TRANSPORT = -54,   /* reader, pcscd or vpcd failure */
	JPKI_ERR_INTEGRITY = -55, /* stored object failed its integrity check */
} jpki_rc;

#define JPKI_ERR_MSG_MAX 256

typedef struct jpki_err {
	int code;
	char msg[JPKI_ERR_MSG_MAX];
} jpki_err;

/* Short fixed name of a code ("ineligible", "parse error"). Never NULL. */
const char *jpki_strerror(int code);

/* Record code and a printf-style message in *err (if err is not NULL) and
 * return code, so that callers write `return jpki_fail(err, JPKI_ERR_INVAL,
 * "...")`.  If code is JPKI_ERR_CRYPTO the first queued OpenSSL error is
 * appended and the OpenSSL error queue is cleared. */
int jpki_fail(jpki_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("issuing signature certificate:
 * ...").  Returns err->code (or code if err is NULL). */
int jpki_wrap(jpki_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drop a result on purpose: best-effort cleanup whose failure changes
 * nothing the caller could act on.  Each call carries a comment saying
 * why. */
static inline void jpki_ignore(int rc)
{
	(void)rc;
}

/* Reset *err to "no error". */
void jpki_err_clear(jpki_err *err);

/* Message of *err, or jpki_strerror(code) when no message was set. */
const char *jpki_err_msg(const jpki_err *err, int code);

#ifdef __cplusplus
}
#endif
#endif
