/* The counter's web UI: static files (HTML, CSS, JS modules) embedded in
 * the binary at build time (scripts/embed_ui.cmake), served at / and
 * /ui/{name} from memory on the HTTP thread.  The pages talk to /api/v1
 * like any other client; a strict Content-Security-Policy allows nothing
 * but this origin's own scripts and styles (and connections to the card
 * helper on this PC's loopback, `jpki terminal serve`). */
#include <string.h>

#include "server_int.h"

#define UI_PREFIX "/ui/"
#define CSP                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self' http://127.0.0.1:*; "        \
	"form-action 'self'; "                                                 \
	"base-uri 'none'; frame-ancestors 'none'"

bool srv_ui_path(const char *url)
{
	return strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ||
	       strncmp(url, UI_PREFIX, strlen(UI_PREFIX)) == 0;
}

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

enum MHD_Result srv_ui_serve(server *s, struct MHD_Connection *conn,
			     const char *url, double t0)
{
	const char *name = strncmp(url, UI_PREFIX, strlen(UI_PREFIX)) == 0
			       ? url + strlen(UI_PREFIX)
			       : "index.html";
	const srv_asset *a = NULL;
	for (size_t i = 0; i < srv_assets_n; i++)
		if (strcmp(srv_assets[i].name, name) == 0) {
			a = &srv_assets[i];
			break;
		}
	static const char missing[] = "not found\n";
	int status = a != NULL ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND;
	struct MHD_Response *resp =
	    a != NULL ? MHD_create_response_from_buffer(a->len, (void *)a->data,
							MHD_RESPMEM_PERSISTENT)
		      : MHD_create_response_from_buffer(sizeof(missing) - 1,
							(void *)missing,
							MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				a != NULL ? content_type(a->name)
					  : "text/plain");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-cache");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	srv_metrics_done(s, R_UI, CLS_INLINE, status, srv_now_mono() - t0,
			 false);
	return ret;
}
