/* Fuzz target: the residents' CSV import (src/registry/import.c): the
 * RFC 4180 reader with its caps, the header, the row checks (ext_id,
 * name, kana, address, birth, sex, muni on record, adult_ward,
 * my_number), repeats inside the file and against the store, and the
 * second pass that adds the rows.  A test-profile CA with 清瀬市 (132217)
 * on record is made once per process in a temporary directory; each input
 * is imported inside an outer transaction that is rolled back, so every
 * input meets the same store.
 *
 * Invariants: a file is imported whole or not at all; an import that
 * succeeded added every row (importing the same bytes again refuses each
 * row as already on record); a refusal lists its bad rows, each with a
 * line and a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/ca.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static jpki_ca *ca;
static time_t T0;

static void cleanup(void)
{
	char cmd[128];
	ca_close(ca);
	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) <
		sizeof(cmd) &&
	    system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void init(void)
{
	char cadir[96];
	jpki_err err = {0};
	snprintf(dir, sizeof(dir), "/tmp/jpki-fuzz-csv-XXXXXX");
	if (mkdtemp(dir) == NULL ||
	    jpki_time_parse("2026-11-25T01:00:00Z", &T0) != 0)
		abort();
	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	ca_init_opts o = {
	    .profile = JPKI_PROFILE_TEST, .now = T0, .now_fixed = true};
	store_muni m = {"132217", "Tokyo-to", "Kiyose-shi", "東京都", "清瀬市"};
	if (ca_init(cadir, &o, &err) != 0 ||
	    ca_open(cadir, NULL, &ca, &err) != 0 ||
	    registry_muni_put(ca, &m, T0, "fuzz", &err) != 0) {
		fprintf(stderr, "fuzz_csv_import: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
}

static void check_refusal(const registry_import_result *out)
{
	if (out->imported != 0)
		abort(); /* whole or not at all */
	for (size_t i = 0; i < out->nerrors && i < REGISTRY_IMPORT_ERRORS_MAX;
	     i++)
		if (out->errors[i].line == 0 || out->errors[i].msg[0] == '\0')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static registry_import_result out, again;
	jpki_err err = {0};
	if (ca == NULL)
		init();
	store *st = ca_store(ca);
	if (store_begin(st, &err) != 0)
		abort();
	int rc = registry_residents_import(ca, data, size, T0, "fuzz", NULL,
					   NULL, &out, &err);
	switch (rc) {
	case 0:
		if (out.nerrors != 0 || out.imported != out.rows)
			abort();
		/* every row is now on record: the same file again is
		 * refused, row by row */
		rc = registry_residents_import(ca, data, size, T0, "fuzz", NULL,
					       NULL, &again, &err);
		if (out.rows == 0
			? rc != 0
			: rc != JPKI_ERR_INVAL || again.nerrors != out.rows)
			abort();
		check_refusal(&again);
		break;
	case JPKI_ERR_INVAL:
		if (out.nerrors == 0)
			abort();
		check_refusal(&out);
		break;
	case JPKI_ERR_PARSE: /* not CSV, or not that header */
		if (out.nerrors == 0)
			abort();
		check_refusal(&out);
		break;
	case JPKI_ERR_RANGE: /* too many rows */ check_refusal(&out); break;
	default:
		fprintf(stderr, "import: unexpected %d: %s\n", rc, err.msg);
		abort();
	}
	store_rollback(st);
	return 0;
}
