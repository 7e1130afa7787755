/* Shared fixture of the unit tests that need a CA: a test-profile CA in a
 * fresh temporary directory, made on a fixed instant (the CA's clock is
 * an argument; no peer tool reads it), optionally with 清瀬市 (132217)
 * recorded as an issuing municipality.
 *
 * With JPKI_TEST_STORE=postgresql://... the CA's store is a fresh schema
 * of that PostgreSQL database: ca_fixture_store() is the location to pass
 * to ca_open() (NULL: the directory's own SQLite store). */
#ifndef OPENJPKI_TEST_CA_FIXTURE_H
#define OPENJPKI_TEST_CA_FIXTURE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openjpki/ca.h"
#include "openjpki/date.h"
#include "openjpki/registry.h"

#define CA_FIXTURE_T0 "2026-11-25T01:00:00Z"

static char ca_fixture_loc[600];

/* The store location of the last fixture made, or NULL for SQLite. */
static inline const char *ca_fixture_store(void)
{
	return ca_fixture_loc[0] != '\0' ? ca_fixture_loc : NULL;
}

/* PG: a fresh schema and the URI that selects it; 0 or -1. */
static inline int ca_fixture_pg_schema(const char *url)
{
	static int n;
	char schema[64], sql[128];
	int rc = -1;
	snprintf(schema, sizeof(schema), "ca%d_%d", (int)getpid(), n++);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	PGconn *c = PQconnectdb(url);
	PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		fprintf(stderr, "fixture: %s\n", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	snprintf(ca_fixture_loc, sizeof(ca_fixture_loc),
		 "%s%soptions=-csearch_path%%3D%s", url,
		 strchr(url, '?') != NULL ? "&" : "?", schema);
	return rc;
}

/* dir (cap >= 64) gets /tmp/jpki-test-TAG-XXXXXX, cadir (cap >= 96)
 * DIR/ca, *t0 the fixed instant.  0, or -1 with the reason on stderr. */
static inline int ca_fixture_make(const char *tag, char *dir, size_t dcap,
				  char *cadir, size_t ccap, time_t *t0,
				  bool kiyose)
{
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	snprintf(dir, dcap, "/tmp/jpki-test-%s-XXXXXX", tag);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cadir, ccap, "%s/ca", dir);
	if (jpki_time_parse(CA_FIXTURE_T0, t0) != 0)
		return -1;
	const char *url = getenv("JPKI_TEST_STORE");
	ca_fixture_loc[0] = '\0';
	if (url != NULL && url[0] != '\0' && ca_fixture_pg_schema(url) != 0)
		return -1;
	ca_init_opts o = {.profile = JPKI_PROFILE_TEST,
			  .now = *t0,
			  .now_fixed = true,
			  .store = ca_fixture_store()};
	if (ca_init(cadir, &o, &err) != 0) {
		fprintf(stderr, "ca_init: %s\n", err.msg);
		return -1;
	}
	if (!kiyose)
		return 0;
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	if (ca_open(cadir, ca_fixture_store(), &ca, &err) != 0 ||
	    registry_muni_put(ca, &m, *t0, "test", &err) != 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		ca_close(ca);
		return -1;
	}
	ca_close(ca);
	return 0;
}

/* rm -rf the fixture's directory: 0 or -1. */
static inline int ca_fixture_remove(const char *dir)
{
	char cmd[128];
	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) >=
	    sizeof(cmd))
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

#endif
