/* jpki resident import FILE.csv: residents in bulk (registry/import.c),
 * the whole file or nothing, progress on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "openjpki/registry.h"
#include "openjpki/util.h"

/* the largest CSV read: REGISTRY_IMPORT_ROWS_MAX rows of a typical size */
#define IMPORT_FILE_MAX (64u << 20)

static void progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	fprintf(stderr, "\rimport: %zu/%zu rows (%zu%%)", done, total,
		total > 0 ? done * 100 / total : 100);
	if (done == total)
		fputc('\n', stderr);
}

int cmd_resident_import(cli_ctx *ctx, int argc, char **argv)
{
	registry_import_result *res = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	jpki_err err = {0};
	jpki_ca *ca = NULL;
	int rc;
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error(
		    "usage: jpki resident import FILE.csv  (header: ext_id,"
		    "name,kana,address,birth,sex,muni,adult_ward)");
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return cli_error(ctx, JPKI_ERR_NOMEM, &err);
	if ((rc = jpki_file_read(argv[1], IMPORT_FILE_MAX, &data, &len,
				 &err)) != 0 ||
	    (rc = cli_open_ca(ctx, &ca, &err)) != 0)
		goto out;
	rc = registry_residents_import(ca, data, len, ctx->now, "cli", progress,
				       NULL, res, &err);
	for (size_t i = 0; i < res->nerrors && i < REGISTRY_IMPORT_ERRORS_MAX;
	     i++)
		fprintf(stderr, "%s:%zu: %s\n", argv[1], res->errors[i].line,
			res->errors[i].msg);
	if (res->nerrors > REGISTRY_IMPORT_ERRORS_MAX)
		fprintf(stderr, "%s: %zu more bad rows\n", argv[1],
			res->nerrors - REGISTRY_IMPORT_ERRORS_MAX);
	if (rc != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "imported",
				    json_integer((json_int_t)res->imported));
		cli_print_json(o);
	} else {
		printf("imported %zu residents\n", res->imported);
	}
out:
	ca_close(ca);
	free(data);
	free(res);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}
