/* jpkid's optional TLS listener (issue #14 item 6): the same routes over
 * HTTPS (libmicrohttpd with GnuTLS), and every request refused with 403
 * unless the client presented a certificate that verifies under the
 * client CA -- by default this CA's authentication root (利用者証明用), so
 * a My Number Card's authentication key, through the openjpki provider,
 * opens it.  Revocation of client certificates is not checked here
 * (docs/decisions.md). */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "openjpki/util.h"
#include "server_int.h"

#define TLS_FILE_MAX (256u * 1024)

/* A PEM file as a NUL-terminated string (MHD keeps the pointer). */
static int read_text(const char *path, char **out, jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = jpki_file_read(path, TLS_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	char *s = malloc(len + 1);
	if (s == NULL) {
		jpki_free_secret(buf, len);
		return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
	}
	memcpy(s, buf, len);
	s[len] = '\0';
	jpki_free_secret(buf, len);
	*out = s;
	return 0;
}

static int cert_pem(X509 *x, char **out, jpki_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	int rc = 0;
	if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "encoding the client CA");
		goto out;
	}
	long n = BIO_get_mem_data(b, &p);
	if ((*out = malloc((size_t)n + 1)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
out:
	BIO_free(b);
	return rc;
}

int srv_tls_start(server *s, const server_config *cfg,
		  const struct sockaddr_in *sa, MHD_AccessHandlerCallback fn,
		  MHD_RequestCompletedCallback done, jpki_err *err)
{
	int rc;
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "--tls-listen needs --tls-cert and --tls-key");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return jpki_fail(err, JPKI_ERR_STATE,
				 "this libmicrohttpd has no TLS");
	if ((rc = read_text(cfg->tls_cert, &s->tls_cert, err)) != 0 ||
	    (rc = read_text(cfg->tls_key, &s->tls_key, err)) != 0)
		return rc;
	rc = cfg->tls_client_ca != NULL
		 ? read_text(cfg->tls_client_ca, &s->tls_trust, err)
		 : cert_pem(s->root_cert[JPKI_CERT_AUTH], &s->tls_trust, err);
	if (rc != 0)
		return rc;
	/* a trust list makes MHD ask for a client certificate; the
	 * request handler refuses those without one that verifies */
	s->mhd_tls = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TLS,
	    0, NULL, NULL, fn, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
	    MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 1000u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
	    s->tls_key, MHD_OPTION_HTTPS_MEM_TRUST, s->tls_trust,
	    MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    MHD_OPTION_NOTIFY_COMPLETED, done, s, MHD_OPTION_END);
	if (s->mhd_tls == NULL)
		return jpki_fail(err, JPKI_ERR_IO,
				 "cannot listen with TLS on %s (in use, or the "
				 "certificate, key or client CA unusable)",
				 cfg->tls_listen);
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(s->mhd_tls, MHD_DAEMON_INFO_BIND_PORT);
	s->tls_port = di != NULL ? di->port : ntohs(sa->sin_port);
	return 0;
}

void srv_tls_stop(server *s)
{
	if (s->mhd_tls != NULL)
		MHD_stop_daemon(s->mhd_tls);
	s->mhd_tls = NULL;
	free(s->tls_cert);
	jpki_free_secret(s->tls_key, s->tls_key ? strlen(s->tls_key) : 0);
	free(s->tls_trust);
	s->tls_cert = s->tls_key = s->tls_trust = NULL;
}

bool srv_tls_refused(struct MHD_Connection *conn)
{
	/* only the TLS listener's connections have a GnuTLS session (with a
	 * thread pool, a connection's daemon is a worker, not mhd_tls; and
	 * mhd_tls is set while the plain listener already serves, so it is
	 * not read here) */
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return false;
	gnutls_session_t ts = (gnutls_session_t)ci->tls_session;
	unsigned n = 0, status = 0;
	if (gnutls_certificate_get_peers(ts, &n) == NULL || n == 0)
		return true;
	/* signature chain to the trust list, validity at the real clock */
	return gnutls_certificate_verify_peers2(ts, &status) != 0 ||
	       status != 0;
}

unsigned server_tls_port(const server *s)
{
	return s->tls_port;
}
