/* openjpki — small shared helpers: atomic files, randomness, hex. */
#ifndef OPENJPKI_UTIL_H
#define OPENJPKI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "openjpki/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.  The file gets `mode`. */
JPKI_MUST_CHECK int jpki_file_write_atomic(const char *path, const void *data,
					   size_t len, mode_t mode,
					   jpki_err *err);
/* jpki_file_write_atomic for a file that must not be replaced (a new
 * key): the temporary file is linked to path, not renamed over it, so
 * when path exists -- made meanwhile by another process -- it is left as
 * it is and the answer is JPKI_ERR_EXISTS. */
JPKI_MUST_CHECK int jpki_file_create_atomic(const char *path, const void *data,
					    size_t len, mode_t mode,
					    jpki_err *err);
/* Read a whole file of at most max bytes.  *out is malloc'ed (caller frees
 * with free(); use jpki_file_free_secret for key material). */
/* jpki_file_read_flags: JPKI_FILE_OWN for a file the program owns and
 * rewrites (card images): a symbolic link, a hard-linked file or anything
 * but a regular file is refused (JPKI_ERR_INVAL), since two names for it
 * would fork on the next atomic write. */
#define JPKI_FILE_OWN 1u
JPKI_MUST_CHECK int jpki_file_read_flags(const char *path, size_t max,
					 unsigned flags, uint8_t **out,
					 size_t *out_len, jpki_err *err);
/* Remove what jpki_file_write_atomic leaves when killed mid-write
 * (path.tmp-<12 hex digits>, which may hold a whole card image).  Call it
 * only while holding the file's lock.  *removed (may be NULL): how many. */
JPKI_MUST_CHECK int jpki_file_sweep_tmp(const char *path, int *removed,
					jpki_err *err);
JPKI_MUST_CHECK int jpki_file_read(const char *path, size_t max, uint8_t **out,
				   size_t *out_len, jpki_err *err);
/* A new file in dir with no name (O_TMPFILE; where the kernel or the file
 * system has none, a named file unlinked at once), open for reading and
 * writing, in *fd.  It is gone when closed. */
JPKI_MUST_CHECK int jpki_file_tmp_unlinked(const char *dir, int *fd,
					   jpki_err *err);
/* All n octets at off, through short transfers and EINTR: 0, or -1 with
 * errno set (EIO when the file ends or a write makes no progress). */
JPKI_MUST_CHECK int jpki_pread_full(int fd, void *p, size_t n, uint64_t off);
JPKI_MUST_CHECK int jpki_pwrite_full(int fd, const void *p, size_t n,
				     uint64_t off);
/* OPENSSL_cleanse then free. NULL is fine. */
void jpki_free_secret(void *p, size_t len);
/* mkdir -p with mode for each created component. */
JPKI_MUST_CHECK int jpki_mkdirs(const char *path, mode_t mode, jpki_err *err);
/* Cryptographically random bytes (OpenSSL RAND_bytes). */
JPKI_MUST_CHECK int jpki_random(void *dst, size_t n, jpki_err *err);
/* Upper-case hex of n bytes into out (2n+1 bytes). */
void jpki_hex(const uint8_t *src, size_t n, char *out);
/* Parse hex (either case, even length) into dst of cap bytes. */
JPKI_MUST_CHECK int jpki_unhex(const char *s, uint8_t *dst, size_t cap,
			       size_t *out_len, jpki_err *err);
/* Constant-time comparison: 0 when equal. */
int jpki_ct_memcmp(const void *a, const void *b, size_t n);
/* Bounded string copy that always terminates; JPKI_ERR_RANGE if truncated. */
JPKI_MUST_CHECK int jpki_strlcpy(char *dst, const char *src, size_t cap);
/* The same where a cut copy is what the caller wants: a message or a
 * label shown to a person, never a value that is stored, compared or
 * looked up.  cap > 0. */
void jpki_strlcpy_cut(char *dst, const char *src, size_t cap);

/* Process-wide malloc policy of the long-running programs (jpkid, the
 * issuance benchmarks), called first thing in main(): keep freed heap
 * memory instead of handing it back to the kernel.  glibc shrinks a
 * thread's heap whenever its free top passes the trim threshold, and an
 * issuing thread's working set (SQLite's page cache, reset after other
 * handles commit; OpenSSL's numbers) swings across it every batch, so it
 * paid mprotect and page faults each time: about 2 % of issuance
 * (bench_issue).  A library never calls this. */
void jpki_malloc_keep(void);

/* The data folder (the J-LIS roots in jpki-roots/): `override` when it is
 * a non-empty string (the caller passes $JPKI_DATA_DIR), else PREFIX/share/
 * openjpki next to the running program (PREFIX/bin/NAME), else the
 * configured DATADIR/openjpki, each only when it holds jpki-roots/, else
 * the source tree's data/ (a binary run from its build tree). */
const char *jpki_data_dir(const char *override);

/* Text a person's record may hold (names, kana, addresses, ids): valid
 * UTF-8 (no overlong forms or surrogates) without C0/C1 controls, DEL,
 * line or paragraph separators, direction marks, overrides or isolates
 * (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069), or a BOM.  A line
 * break is a control too: addresses are one line. */
bool jpki_text_ok(const char *s);

/* A card serial (docs/decisions.md): 1 to JPKI_CARD_SERIAL_MAX of A-Z,
 * a-z, 0-9, '-' and '_', starting with a letter or digit. */
#define JPKI_CARD_SERIAL_MAX 39
bool jpki_card_serial_ok(const char *s);

#ifdef __cplusplus
}
#endif
#endif
