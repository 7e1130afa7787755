/* Atomic files, randomness, hex: see include/openjpki/util.h. */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "openjpki/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jpki_strlcpy(char *dst, const char *src, size_t cap)
{
	if (cap == 0)
		return JPKI_ERR_RANGE;
	size_t n = strlen(src);
	if (n >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return JPKI_ERR_RANGE;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void jpki_strlcpy_cut(char *dst, const char *src, size_t cap)
{
	/* a cut is the intended result here */
	jpki_ignore(jpki_strlcpy(dst, src, cap));
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int file_put(const char *path, const void *data, size_t len, mode_t mode,
		    bool replace, jpki_err *err)
{
	char tmp[PATH_MAX];
	char dir[PATH_MAX];
	int fd = -1, dfd = -1, rc = 0;
	unsigned char rnd[6];
	char rhex[13];

	if (jpki_random(rnd, sizeof(rnd), err) != 0)
		return JPKI_ERR_CRYPTO;
	jpki_hex(rnd, sizeof(rnd), rhex);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rhex) >=
		sizeof(tmp) ||
	    jpki_strlcpy(dir, path, sizeof(dir)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "path too long: %s",
				 path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot create %s: %s", tmp,
			       strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot write %s: %s", tmp,
			       strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot close %s: %s", tmp,
			       strerror(errno));
		goto out;
	}
	fd = -1;
	if (replace && rename(tmp, path) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot rename %s to %s: %s",
			       tmp, path, strerror(errno));
		goto out;
	}
	if (!replace) {
		/* link(2) fails on an existing name: never two writers' keys */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST
				 ? jpki_fail(err, JPKI_ERR_EXISTS,
					     "%s exists already", path)
				 : jpki_fail(err, JPKI_ERR_IO,
					     "cannot link %s to %s: %s", tmp,
					     path, strerror(errno));
			goto out;
		}
		unlink(tmp);
	}
	char *slash = strrchr(dir, '/'); /* dir: a copy of path */
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int jpki_file_write_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, jpki_err *err)
{
	return file_put(path, data, len, mode, true, err);
}

int jpki_file_create_atomic(const char *path, const void *data, size_t len,
			    mode_t mode, jpki_err *err)
{
	return file_put(path, data, len, mode, false, err);
}

int jpki_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len,
		   jpki_err *err)
{
	return jpki_file_read_flags(path, max, 0, out, out_len, err);
}

int jpki_file_tmp_unlinked(const char *dir, int *fd, jpki_err *err)
{
	char path[PATH_MAX];
	*fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* no O_TMPFILE (EISDIR: the kernel's, EOPNOTSUPP: the file
	 * system's): a named file, unlinked at once */
	if (*fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		if (snprintf(path, sizeof(path), "%s/.jpki-tmp-XXXXXX", dir) >=
		    (int)sizeof(path))
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "%s: directory name too long", dir);
		*fd = mkostemp(path, O_CLOEXEC);
		if (*fd >= 0 && unlink(path) != 0) {
			int e = errno;
			close(*fd);
			*fd = -1;
			return jpki_fail(err, JPKI_ERR_IO, "%s: %s", path,
					 strerror(e));
		}
	}
	if (*fd < 0)
		return jpki_fail(err, JPKI_ERR_IO, "a temporary file in %s: %s",
				 dir, strerror(errno));
	return 0;
}

int jpki_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *q = p;
	while (n > 0) {
		ssize_t r = pread(fd, q, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		q += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int jpki_pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *q = p;
	while (n > 0) {
		ssize_t w = pwrite(fd, q, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		q += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int jpki_file_read_flags(const char *path, size_t max, unsigned flags,
			 uint8_t **out, size_t *out_len, jpki_err *err)
{
	bool own = (flags & JPKI_FILE_OWN) != 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (own ? O_NOFOLLOW : 0));
	if (fd < 0 && own && errno == ELOOP)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "%s is a symbolic link: give the file itself "
				 "(two names for one file would fork it)",
				 path);
	if (fd < 0)
		return jpki_fail(
		    err, errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO,
		    "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	uint8_t *buf = NULL;
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		rc = jpki_fail(err, JPKI_ERR_IO, "cannot stat %s: %s", path,
			       strerror(errno));
		goto out;
	}
	if (own && (!S_ISREG(st.st_mode) || st.st_nlink > 1)) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "%s is %s: give a regular file with one name",
			       path,
			       S_ISREG(st.st_mode) ? "hard-linked elsewhere"
						   : "not a regular file");
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "%s is larger than %zu bytes", path, max);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (buf == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc =
			    jpki_fail(err, JPKI_ERR_IO, "cannot read %s", path);
			goto out;
		}
		got += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL; /* transferred */
out:
	free(buf);
	close(fd);
	return rc;
}

void jpki_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

int jpki_mkdirs(const char *path, mode_t mode, jpki_err *err)
{
	char tmp[PATH_MAX];
	if (jpki_strlcpy(tmp, path, sizeof(tmp)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "path too long");
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return jpki_fail(err, JPKI_ERR_IO,
					 "cannot create %s: %s", tmp,
					 strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return jpki_fail(err, JPKI_ERR_IO, "cannot create %s: %s", tmp,
				 strerror(errno));
	return 0;
}

int jpki_random(void *dst, size_t n, jpki_err *err)
{
	if (n > INT_MAX || RAND_bytes(dst, (int)n) != 1)
		return jpki_fail(err, JPKI_ERR_CRYPTO, "RAND_bytes failed");
	return 0;
}

void jpki_hex(const uint8_t *src, size_t n, char *out)
{
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[src[i] >> 4];
		out[2 * i + 1] = hx[src[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A hex digit's value plus one, 0 for any other octet: a table instead of
 * range tests, whose branches random serials mispredict (a CRL unhexes
 * every serial twice, bench_crl). */
static const uint8_t hex_tab[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,
    ['6'] = 7,	['7'] = 8,  ['8'] = 9,	['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(char c)
{
	return (int)hex_tab[(unsigned char)c] - 1;
}

int jpki_unhex(const char *s, uint8_t *dst, size_t cap, size_t *out_len,
	       jpki_err *err)
{
	size_t n = strlen(s);
	if (n % 2 != 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "odd-length hex string");
	if (n / 2 > cap)
		return jpki_fail(err, JPKI_ERR_RANGE, "hex string too long");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned hi = hex_tab[(unsigned char)s[2 * i]];
		unsigned lo = hex_tab[(unsigned char)s[2 * i + 1]];
		if (hi == 0 || lo == 0)
			return jpki_fail(err, JPKI_ERR_PARSE,
					 "not a hex digit in \"%.40s\"", s);
		dst[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	*out_len = n / 2;
	return 0;
}

int jpki_ct_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0 ? 0 : 1;
}

void jpki_malloc_keep(void)
{
	/* trim only above 256 MiB of free top, grow in 16 MiB steps (a
	 * fixed threshold also stops glibc from moving it) */
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	(void)mallopt(M_TOP_PAD, 16 * 1024 * 1024);
}

/* PREFIX/share/openjpki for a program installed as PREFIX/bin/NAME, when
 * it holds jpki-roots/: an installed tree finds its data wherever it was
 * installed (`make install PREFIX=...`, `cmake --install --prefix`). */
static char exe_data[PATH_MAX];
static pthread_once_t exe_data_once = PTHREAD_ONCE_INIT;

static void exe_data_find(void)
{
	char exe[PATH_MAX], cand[PATH_MAX], roots[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) { /* NAME, then bin */
		char *slash = strrchr(exe, '/');
		if (slash == NULL)
			return;
		*slash = '\0';
	}
	int c = snprintf(cand, sizeof(cand), "%s/share/openjpki", exe);
	int r =
	    snprintf(roots, sizeof(roots), "%s/share/openjpki/jpki-roots", exe);
	if (c < 0 || (size_t)c >= sizeof(cand) || r < 0 ||
	    (size_t)r >= sizeof(roots))
		return;
	if (access(roots, R_OK | X_OK) == 0 &&
	    jpki_strlcpy(exe_data, cand, sizeof(exe_data)) != 0)
		exe_data[0] = '\0'; /* cannot happen: same size as cand */
}

const char *jpki_data_dir(const char *override)
{
	if (override != NULL && override[0] != '\0')
		return override;
	pthread_once(&exe_data_once, exe_data_find);
	if (exe_data[0] != '\0')
		return exe_data;
	if (access(JPKI_DATADIR_INSTALLED "/jpki-roots", R_OK | X_OK) == 0)
		return JPKI_DATADIR_INSTALLED;
	return JPKI_DATADIR_SOURCE;
}

int jpki_file_sweep_tmp(const char *path, int *removed, jpki_err *err)
{
	char dir[PATH_MAX];
	const char *base;
	int n = 0;
	if (jpki_strlcpy(dir, path, sizeof(dir)) != 0)
		return jpki_fail(err, JPKI_ERR_RANGE, "path too long: %s",
				 path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		base = path;
		memcpy(dir, ".", 2);
	} else {
		base = path + (slash - dir) + 1;
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	size_t bl = strlen(base);
	DIR *d = opendir(dir);
	if (d == NULL)
		return jpki_fail(err, JPKI_ERR_IO, "cannot list %s: %s", dir,
				 strerror(errno));
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		/* exactly what jpki_file_write_atomic names: path.tmp-<12 hex>
		 */
		const char *nm = e->d_name;
		if (strncmp(nm, base, bl) != 0 || strncmp(nm + bl, ".tmp-", 5))
			continue;
		const char *h = nm + bl + 5;
		size_t i = 0;
		while (i < 12 && hexval(h[i]) >= 0)
			i++;
		if (i != 12 || h[12] != '\0')
			continue;
		if (unlinkat(dfd, nm, 0) == 0)
			n++;
	}
	closedir(d);
	if (removed != NULL)
		*removed = n;
	return 0;
}

bool jpki_text_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		uint32_t cp;
		int n;
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false; /* C0 controls, DEL */
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1fu;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0fu;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07u;
			n = 3;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3fu);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false; /* overlong, surrogate, out of range */
		if ((cp >= 0x80 && cp <= 0x9f) || /* C1 controls */
		    cp == 0x061c || cp == 0x200e || cp == 0x200f || /* marks */
		    (cp >= 0x2028 &&
		     cp <= 0x202e) || /* separators, overrides */
		    (cp >= 0x2066 && cp <= 0x2069) || /* isolates */
		    cp == 0xfeff)		      /* BOM inside text */
			return false;
		p += n + 1;
	}
	return true;
}

bool jpki_card_serial_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > JPKI_CARD_SERIAL_MAX)
		return false;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == n;
}
