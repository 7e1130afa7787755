/* Shared fixture of test_server.c and test_server_admin.c: sessions live
 * in the store, here a fresh SQLite one in a temporary directory (the
 * store tests cover both backends).  Include after cmocka.h. */
#ifndef OPENJPKI_TEST_SESS_FIXTURE_H
#define OPENJPKI_TEST_SESS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "openjpki/store.h"

static inline store *sess_store(char dirbuf[64])
{
	store *st = NULL;
	char loc[128];
	snprintf(dirbuf, 64, "/tmp/jpki-sess-XXXXXX");
	assert_non_null(mkdtemp(dirbuf));
	snprintf(loc, sizeof(loc), "%s/s.db", dirbuf);
	assert_int_equal(store_open(loc, &st, NULL), 0);
	return st;
}

static inline void sess_store_done(store *st, const char *dirbuf)
{
	static const char *const files[] = {"s.db", "s.db-wal", "s.db-shm"};
	char p[128];
	store_close(st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dirbuf, files[i]);
		unlink(p);
	}
	rmdir(dirbuf);
}

#endif
