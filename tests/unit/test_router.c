/* server/: the one route table.  Every route has the handler its way of
 * running needs (none NULL), a class and role that fit it, no two routes
 * share a method and path, each is reached by its own path (no earlier
 * route shadows it), an unknown path is 404 and a known path with a wrong
 * method 405 with the path's methods in Allow.  The list is printed. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"

/* A URL the pattern matches: "*" becomes "x1", a final "**" "a/b". */
static void sample(const char *pat, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = pat; *p != '\0' && o + 4 < cap; p++) {
		if (p[0] == '*' && p[1] == '*') {
			memcpy(out + o, "a/b", 3);
			o += 3;
			break;
		}
		if (*p == '*') {
			memcpy(out + o, "x1", 2);
			o += 2;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void test_every_route(void **state)
{
	size_t n = 0;
	const srv_route_def *t = srv_routes(&n);
	(void)state;
	assert_true(n > 40);
	for (size_t i = 0; i < n; i++) {
		const srv_route_def *d = &t[i];
		printf("%-6s %-44s %-8s %-6s %-10s %zu\n",
		       srv_method_name(d->method), d->path,
		       d->run == SRV_RUN_MEMORY	  ? "memory"
		       : d->run == SRV_RUN_INLINE ? "inline"
						  : "worker",
		       d->cls < CLS_N ? srv_class_name(d->cls) : "-",
		       srv_role_name(d->role), d->body);
		assert_non_null(d->path);
		assert_true(d->path[0] == '/');
		assert_true(d->route >= 0 && d->route < R_N);
		switch (d->run) {
		case SRV_RUN_MEMORY:
			assert_non_null(d->h.serve);
			assert_int_equal(d->method, M_GET);
			assert_int_equal(d->role, ROLE_NONE);
			assert_int_equal(d->cls, CLS_INLINE);
			break;
		case SRV_RUN_INLINE:
			assert_non_null(d->h.run);
			assert_int_equal(d->cls, CLS_INLINE);
			break;
		case SRV_RUN_WORKER:
			assert_non_null(d->h.work);
			assert_true(d->cls >= 0 && d->cls < CLS_N);
			break;
		default: fail_msg("route %s: unknown way of running", d->path);
		}
		/* a body limit only where a body is read */
		if (d->method == M_GET)
			assert_int_equal(d->body, 0);
		/* everything but the public services is under /api/v1 */
		if (strncmp(d->path, "/api/v1/", 8) != 0)
			assert_int_equal(d->role, ROLE_NONE);
		for (size_t k = 0; k < i; k++)
			if (t[k].method == d->method &&
			    strcmp(t[k].path, d->path) == 0)
				fail_msg("%s %s twice",
					 srv_method_name(d->method), d->path);
		/* reached by its own path, not shadowed */
		char url[256], arg[SRV_ARG_MAX], allow[64];
		const srv_route_def *got = NULL;
		sample(d->path, url, sizeof(url));
		assert_int_equal(srv_route_find(d->method, url, &got, arg,
						sizeof(arg), allow,
						sizeof(allow)),
				 0);
		if (got != d)
			fail_msg("%s %s is shadowed by %s",
				 srv_method_name(d->method), d->path,
				 got->path);
		if (strchr(d->path, '*') != NULL &&
		    strstr(d->path, "**") == NULL)
			assert_string_equal(arg, "x1");
	}
}

static void test_not_found_and_allow(void **state)
{
	const srv_route_def *d = NULL;
	char arg[SRV_ARG_MAX], allow[64];
	(void)state;
	static const char *const unknown[] = {"/api/v1/nope",
					      "/api/v1/",
					      "/api/v1",
					      "/api/v2/session",
					      "/healthz/x",
					      "/ocsp2",
					      "/api/v1/residents/1/2/3",
					      "/etc/passwd",
					      "/api/v1/session/"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (srv_route_find(M_GET, unknown[i], &d, arg, sizeof(arg),
				   allow, sizeof(allow)) != -1)
			fail_msg("%s is not 404", unknown[i]);
	assert_int_equal(srv_route_find(M_DELETE, "/api/v1/residents", &d, arg,
					sizeof(arg), allow, sizeof(allow)),
			 -2);
	assert_string_equal(allow, "GET, POST");
	assert_int_equal(srv_route_find(M_POST, "/healthz", &d, arg,
					sizeof(arg), allow, sizeof(allow)),
			 -2);
	assert_string_equal(allow, "GET");
	assert_int_equal(d->route, R_HEALTHZ);
	assert_int_equal(srv_route_find(M_GET, "/ocsp", &d, arg, sizeof(arg),
					allow, sizeof(allow)),
			 -2);
	assert_string_equal(allow, "POST");
	assert_int_equal(srv_route_find(M_PATCH, "/api/v1/residents/12", &d,
					arg, sizeof(arg), allow, sizeof(allow)),
			 0);
	assert_string_equal(arg, "12");
	assert_int_equal(srv_route_find(M_DELETE, "/api/v1/residents/12", &d,
					arg, sizeof(arg), allow, sizeof(allow)),
			 -2);
	assert_string_equal(allow, "GET, PATCH");
	assert_int_equal(srv_route_find(M_GET, "/api/v1/session", &d, arg,
					sizeof(arg), allow, sizeof(allow)),
			 0);
	assert_int_equal(d->run, SRV_RUN_INLINE);
	/* a "*" segment longer than the argument buffer matches nothing */
	char longseg[SRV_ARG_MAX + 32];
	memcpy(longseg, "/api/v1/residents/", 18);
	memset(longseg + 18, '7', SRV_ARG_MAX + 4);
	longseg[18 + SRV_ARG_MAX + 4] = '\0';
	assert_int_equal(srv_route_find(M_GET, longseg, &d, arg, sizeof(arg),
					allow, sizeof(allow)),
			 -1);
	/* the memory answers */
	assert_int_equal(srv_route_find(M_GET, "/ocsp/MEUwQzBBMD8wPTAJ", &d,
					arg, sizeof(arg), allow, sizeof(allow)),
			 0);
	assert_int_equal(d->run, SRV_RUN_MEMORY);
	assert_int_equal(srv_route_find(M_GET, "/crl/sign/132217.crl", &d, arg,
					sizeof(arg), allow, sizeof(allow)),
			 0);
	assert_int_equal(d->route, R_CRL);
	assert_int_equal(srv_route_find(M_GET, "/", &d, arg, sizeof(arg), allow,
					sizeof(allow)),
			 0);
	assert_int_equal(d->route, R_UI);
	assert_int_equal(srv_route_find(M_POST, "/ocsp", &d, arg, sizeof(arg),
					allow, sizeof(allow)),
			 0);
	assert_int_equal(d->cls, CLS_OCSP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route),
	    cmocka_unit_test(test_not_found_and_allow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
