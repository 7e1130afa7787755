/* XML signatures (XMLDSig) in the shape of an e-Gov 電子申請 application:
 * signing (a template filled by xmlsec with the caller's EVP_PKEY, which
 * may be the card's through the openjpki provider) and verification
 * (profile checks before xmlsec sees the document, xmlsec for the
 * signature and the References, src/validation for the certificate). */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* xmlsec.h first: the others need its types; crypto.h maps the
 * algorithm ids to the OpenSSL backend */
#include <xmlsec/xmlsec.h>
/* clang-format off */
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keys.h>
#include <xmlsec/membuf.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/parser.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
/* clang-format on */

#include "openjpki/rules.h"
#include "openjpki/x509.h"
#include "openjpki/xmlsig.h"

#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define ALG_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define CERT_B64_MAX (32u * 1024)

/* The 構成管理情報 shape (docs/decisions.md) */
#define K_ROOT "構成管理情報"
#define K_INFO "構成情報"
#define K_APP "申請書属性情報"
#define K_APP_FILE "申請書ファイル名"
#define K_ATT "添付書類属性情報"
#define K_ATT_FILE "添付書類ファイル名"
#define K_SIG "署名情報"

/* ------------------------------------------------------------------ */
/* Process-wide set-up                                                 */

/* xmlsec's first error message since it was emptied, for the jpki_err of a
 * failed call */
static _Thread_local char last_xmlsec_error[200];
/* the parts detached References may resolve to, during one call */
static _Thread_local const xmlsig_part *io_parts;
static _Thread_local size_t io_n;

static void quiet_xmlsec(const char *file, int line, const char *func,
			 const char *obj, const char *subj, int reason,
			 const char *msg)
{
	(void)file;
	(void)line;
	(void)obj;
	(void)reason;
	/* keep the first (innermost) error of a call */
	if (last_xmlsec_error[0] != '\0')
		return;
	snprintf(last_xmlsec_error, sizeof(last_xmlsec_error), "%s%s%s%s%s",
		 func ? func : "", subj ? ": " : "", subj ? subj : "",
		 msg ? ": " : "", msg ? msg : "");
}

static void quiet_xml(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* No external entity, DTD or XInclude is ever loaded. */
static xmlParserInputPtr no_loader(const char *url, const char *id,
				   xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static const xmlsig_part *io_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < io_n; i++)
		if (strcmp(io_parts[i].name, name) == 0)
			return &io_parts[i];
	return NULL;
}

typedef struct io_cursor {
	const xmlsig_part *p;
	size_t off;
} io_cursor;

static int io_match(const char *uri)
{
	return io_find(uri) != NULL;
}

static void *io_open(const char *uri)
{
	const xmlsig_part *p = io_find(uri);
	io_cursor *c = p != NULL ? calloc(1, sizeof(*c)) : NULL;
	if (c != NULL)
		c->p = p;
	return c;
}

static int io_read(void *ctx, char *buf, int len)
{
	io_cursor *c = ctx;
	size_t n = c->p->len - c->off;
	if (len < 0)
		return -1;
	if (n > (size_t)len)
		n = (size_t)len;
	if (n > 0)
		memcpy(buf, c->p->data + c->off, n);
	c->off += n;
	return (int)n;
}

static int io_close(void *ctx)
{
	free(ctx);
	return 0;
}

static int init_rc;
static char init_msg[200];
static void init_once(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(no_loader);
	xmlSetGenericErrorFunc(NULL, quiet_xml);
	if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 ||
	    xmlSecOpenSSLInit() < 0) {
		init_rc = JPKI_ERR_CRYPTO;
		snprintf(init_msg, sizeof(init_msg),
			 "xmlsec initialisation failed: %.150s",
			 last_xmlsec_error);
		return;
	}
	/* after xmlSecInit, which installs its default (printing) one */
	xmlSecErrorsSetCallback(quiet_xmlsec);
	/* the parser xmlsec uses for binary-to-XML transforms (we allow
	 * none): no entity substitution, no network either way */
	xmlSecParserSetDefaultOptions(XML_PARSE_NONET | XML_PARSE_NODICT);
	/* References resolve to the caller's parts only: no files, no
	 * http:// or ftp:// */
	xmlSecIOCleanupCallbacks();
	if (xmlSecIORegisterCallbacks(io_match, io_open, io_read, io_close) <
	    0) {
		init_rc = JPKI_ERR_CRYPTO;
		snprintf(init_msg, sizeof(init_msg),
			 "xmlsec I/O callbacks refused");
	}
}

int xmlsig_init(jpki_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;
	if ((rc = x509_init(err)) != 0)
		return rc;
	pthread_once(&once, init_once);
	if (init_rc != 0)
		return jpki_fail(err, init_rc, "%s", init_msg);
	return 0;
}

bool xmlsig_part_name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;
	if (n == 0 || n > XMLSIG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return strcmp(name, XMLSIG_KOUSEI_NAME) != 0;
}

/* ------------------------------------------------------------------ */
/* Parsing untrusted XML                                               */

static bool has_bytes(const uint8_t *b, size_t len, const char *what)
{
	size_t w = strlen(what);
	const uint8_t *p = b, *end = b + len;
	while (w > 0 && (size_t)(end - p) >= w &&
	       (p = memchr(p, what[0], (size_t)(end - p - (ptrdiff_t)w) + 1)) !=
		   NULL) {
		if (memcmp(p, what, w) == 0)
			return true;
		p++;
	}
	return false;
}

/* Parse without network, DTD loading or entity substitution; refuse any
 * DOCTYPE (before parsing when visible in the bytes, after parsing
 * otherwise) and any encoding but UTF-8.  0 with *out, or 1 with why. */
static int safe_parse(const uint8_t *b, size_t len, xmlDocPtr *out, char *why,
		      size_t cap)
{
	xmlDocPtr doc = NULL;
	*out = NULL;
	if (len == 0 || len > XMLSIG_DOC_MAX) {
		snprintf(why, cap, "%zu bytes (1 to %u allowed)", len,
			 XMLSIG_DOC_MAX);
		return 1;
	}
	if (has_bytes(b, len, "<!DOCTYPE") || has_bytes(b, len, "<!ENTITY")) {
		snprintf(why, cap,
			 "a DOCTYPE or entity declaration is refused (DTDs "
			 "and external entities, XXE)");
		return 1;
	}
	doc = xmlReadMemory((const char *)b, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError();
		snprintf(why, cap, "not well-formed XML%s%.120s",
			 e && e->message ? ": " : "",
			 e && e->message ? e->message : "");
		/* libxml2's message ends with a newline */
		size_t n = strlen(why);
		while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '\r'))
			why[--n] = '\0';
		xmlResetLastError();
		return 1;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		snprintf(why, cap,
			 "a DOCTYPE is refused (DTDs and external "
			 "entities, XXE)");
		goto bad;
	}
	if (doc->encoding != NULL &&
	    strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
		snprintf(why, cap, "encoding %.40s refused (UTF-8 only)",
			 (const char *)doc->encoding);
		goto bad;
	}
	if (xmlDocGetRootElement(doc) == NULL) {
		snprintf(why, cap, "no root element");
		goto bad;
	}
	*out = doc;
	return 0;
bad:
	xmlFreeDoc(doc);
	return 1;
}

static bool is_el(xmlNodePtr n, const char *name, const char *ns)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE ||
	    strcmp((const char *)n->name, name) != 0)
		return false;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNodePtr first_el(xmlNodePtr n)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNodePtr next_el(xmlNodePtr n)
{
	return n != NULL ? first_el(n->next) : NULL;
}

/* Count ds:Signature elements in the whole tree (iterative walk). */
static size_t count_signatures(xmlNodePtr root, xmlNodePtr *first)
{
	size_t count = 0;
	xmlNodePtr n = root;
	*first = NULL;
	while (n != NULL) {
		if (is_el(n, "Signature", NS_DSIG)) {
			if (count++ == 0)
				*first = n;
		}
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != NULL && n != root && n->next == NULL)
			n = n->parent;
		if (n == NULL || n == root)
			break;
		n = n->next;
	}
	return count;
}

static bool attr_is(xmlNodePtr n, const char *attr, const char *want)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)attr);
	bool ok = v != NULL && strcmp((const char *)v, want) == 0;
	xmlFree(v);
	return ok;
}

/* The text of an element without child elements, NULL otherwise
 * (xmlFree it). */
static xmlChar *leaf_text(xmlNodePtr n)
{
	if (first_el(n->children) != NULL)
		return NULL;
	return xmlNodeGetContent(n);
}

/* The application's listing: names (borrowed from the tree's text,
 * copied), in order, 申請書 first.  0, or 1 with why when the document
 * is a 構成管理情報 with a bad listing.  *is_app says whether it is one. */
typedef struct listing {
	char name[XMLSIG_PARTS_MAX][XMLSIG_NAME_MAX + 1];
	bool attachment[XMLSIG_PARTS_MAX];
	size_t n;
} listing;

static int read_listing(xmlDocPtr doc, bool *is_app, listing *l, char *why,
			size_t cap)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), info, g, f;
	size_t n_app = 0;
	memset(l, 0, sizeof(*l));
	*is_app = is_el(root, K_ROOT, NULL);
	if (!*is_app)
		return 0;
	info = first_el(root->children);
	if (!is_el(info, K_INFO, NULL)) {
		snprintf(why, cap, "%s: the first element is not %s", K_ROOT,
			 K_INFO);
		return 1;
	}
	for (g = first_el(info->children); g != NULL; g = next_el(g)) {
		bool att = is_el(g, K_ATT, NULL);
		if (!att && !is_el(g, K_APP, NULL))
			continue; /* other attributes of the application */
		for (f = first_el(g->children); f != NULL; f = next_el(f)) {
			if (!is_el(f, att ? K_ATT_FILE : K_APP_FILE, NULL))
				continue;
			xmlChar *t = leaf_text(f);
			const char *s = (const char *)t;
			if (s == NULL || !xmlsig_part_name_ok(s)) {
				snprintf(why, cap,
					 "%s: file name \"%.64s\" refused "
					 "(letters, digits, '.', '_', '-')",
					 att ? K_ATT_FILE : K_APP_FILE,
					 s ? s : "");
				xmlFree(t);
				return 1;
			}
			for (size_t i = 0; i < l->n; i++) {
				if (strcmp(l->name[i], s) == 0) {
					snprintf(why, cap, "%.64s listed twice",
						 s);
					xmlFree(t);
					return 1;
				}
			}
			if (l->n == XMLSIG_PARTS_MAX) {
				snprintf(why, cap, "over %d parts",
					 XMLSIG_PARTS_MAX);
				xmlFree(t);
				return 1;
			}
			memcpy(l->name[l->n], s, strlen(s) + 1);
			l->attachment[l->n++] = att;
			n_app += !att;
			xmlFree(t);
		}
	}
	if (n_app != 1) {
		snprintf(why, cap, "%s lists %zu 申請書 (%s): one expected",
			 K_ROOT, n_app, K_APP_FILE);
		return 1;
	}
	return 0;
}

int xmlsig_application_parts(const uint8_t *xml, size_t len,
			     char *names[XMLSIG_PARTS_MAX], bool *attachment,
			     size_t *n, jpki_err *err)
{
	xmlDocPtr doc = NULL;
	listing l;
	bool app = false;
	char why[256];
	int rc;
	*n = 0;
	if ((rc = xmlsig_init(err)) != 0)
		return rc;
	if (safe_parse(xml, len, &doc, why, sizeof(why)) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "%s", why);
	if (read_listing(doc, &app, &l, why, sizeof(why)) != 0) {
		xmlFreeDoc(doc);
		return jpki_fail(err, JPKI_ERR_PARSE, "%s", why);
	}
	xmlFreeDoc(doc);
	for (size_t i = 0; app && i < l.n; i++) {
		if ((names[i] = strdup(l.name[i])) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(names[j]);
			return jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		}
		attachment[i] = l.attachment[i];
		*n = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* An xmlsec key over `pkey` (a reference is taken); with the certificate
 * for KeyInfo/X509Data when cert != NULL. */
static xmlSecKeyPtr make_key(EVP_PKEY *pkey, X509 *cert)
{
	xmlSecKeyPtr key = xmlSecKeyCreate();
	xmlSecKeyDataPtr data = NULL, x = NULL;
	X509 *dup = NULL;
	if (key == NULL || !EVP_PKEY_up_ref(pkey))
		goto bad;
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		goto bad;
	}
	if (xmlSecKeySetValue(key, data) < 0) {
		xmlSecKeyDataDestroy(data);
		goto bad;
	}
	if (cert != NULL) {
		if ((x = xmlSecKeyEnsureData(
			 key, xmlSecOpenSSLKeyDataX509Id)) == NULL ||
		    (dup = X509_dup(cert)) == NULL)
			goto bad;
		if (xmlSecOpenSSLKeyDataX509AdoptCert(x, dup) < 0) {
			X509_free(dup);
			goto bad;
		}
	}
	return key;
bad:
	if (key != NULL)
		xmlSecKeyDestroy(key);
	return NULL;
}

/* Parsed signer certificates by the SHA-256 of their DER: OpenSSL 3
 * decodes a certificate's public key through its decoder machinery, which
 * costs more than the whole signature check, and a relying party sees the
 * same signers again and again.  Process-wide, bounded (emptied when
 * full), under a mutex. */
#define CERT_CACHE_MAX 256
static struct {
	unsigned char hash[32];
	X509 *x;
} cert_cache[CERT_CACHE_MAX];
static size_t cert_cache_n;
static pthread_mutex_t cert_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* The certificate in der (no trailing data), a new reference; NULL when
 * it is not one. */
static X509 *cert_parse(const unsigned char *der, size_t len)
{
	unsigned char h[32];
	const unsigned char *p = der;
	X509 *x = NULL;
	if (len == 0 || len > CERT_B64_MAX ||
	    !EVP_Digest(der, len, h, NULL, EVP_sha256(), NULL))
		return NULL;
	pthread_mutex_lock(&cert_cache_lock);
	for (size_t i = 0; i < cert_cache_n && x == NULL; i++)
		if (memcmp(cert_cache[i].hash, h, 32) == 0 &&
		    X509_up_ref(cert_cache[i].x))
			x = cert_cache[i].x;
	pthread_mutex_unlock(&cert_cache_lock);
	if (x != NULL)
		return x;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		X509_free(x);
		return NULL;
	}
	pthread_mutex_lock(&cert_cache_lock);
	if (cert_cache_n == CERT_CACHE_MAX) {
		for (size_t i = 0; i < cert_cache_n; i++)
			X509_free(cert_cache[i].x);
		cert_cache_n = 0;
	}
	if (X509_up_ref(x)) {
		memcpy(cert_cache[cert_cache_n].hash, h, 32);
		cert_cache[cert_cache_n++].x = x;
	}
	pthread_mutex_unlock(&cert_cache_lock);
	return x;
}

/* The one certificate in KeyInfo/X509Data/X509Certificate. */
static int keyinfo_cert(xmlNodePtr sig, X509 **out, char *why, size_t cap)
{
	xmlNodePtr ki = NULL, xd, c;
	X509 *found = NULL;
	for (xmlNodePtr n = first_el(sig->children); n; n = next_el(n))
		if (is_el(n, "KeyInfo", NS_DSIG))
			ki = n;
	*out = NULL;
	if (ki == NULL) {
		snprintf(why, cap,
			 "no KeyInfo: the signer's certificate "
			 "must be in X509Data");
		return 1;
	}
	for (xd = first_el(ki->children); xd; xd = next_el(xd)) {
		if (!is_el(xd, "X509Data", NS_DSIG))
			continue;
		for (c = first_el(xd->children); c; c = next_el(c)) {
			if (!is_el(c, "X509Certificate", NS_DSIG))
				continue;
			if (found != NULL) {
				X509_free(found);
				snprintf(why, cap,
					 "several certificates in KeyInfo: "
					 "one (the signer's) expected");
				return 1;
			}
			xmlChar *t = leaf_text(c);
			size_t tl = t ? strlen((const char *)t) : 0;
			unsigned char *der = NULL;
			int dl = 0, fl = 0;
			EVP_ENCODE_CTX *ec = EVP_ENCODE_CTX_new();
			if (t != NULL && tl > 0 && tl <= CERT_B64_MAX &&
			    ec != NULL && (der = malloc(tl)) != NULL) {
				EVP_DecodeInit(ec);
				if (EVP_DecodeUpdate(ec, der, &dl, t,
						     (int)tl) >= 0 &&
				    EVP_DecodeFinal(ec, der + dl, &fl) == 1) {
					found =
					    cert_parse(der, (size_t)(dl + fl));
				}
			}
			EVP_ENCODE_CTX_free(ec);
			free(der);
			xmlFree(t);
			ERR_clear_error();
			if (found == NULL) {
				snprintf(why, cap,
					 "KeyInfo: X509Certificate is not "
					 "a base64 DER certificate");
				return 1;
			}
		}
	}
	if (found == NULL) {
		snprintf(why, cap, "no X509Certificate in KeyInfo");
		return 1;
	}
	*out = found;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The profile of SignedInfo                                           */

static bool alg_el(xmlNodePtr n, const char *name, const char *alg)
{
	return is_el(n, name, NS_DSIG) && attr_is(n, "Algorithm", alg) &&
	       first_el(n->children) == NULL;
}

/* Check SignedInfo against the profile and collect the References' URIs
 * into res->refs.  0, or 1 with why. */
static int check_signed_info(xmlNodePtr sig, xmlsig_result *res, char *why,
			     size_t cap)
{
	xmlNodePtr si = first_el(sig->children), n, r;
	size_t n_self = 0;
	if (!is_el(si, "SignedInfo", NS_DSIG)) {
		snprintf(why, cap, "Signature: no SignedInfo");
		return 1;
	}
	n = first_el(si->children);
	if (!alg_el(n, "CanonicalizationMethod", ALG_EXC_C14N)) {
		snprintf(why, cap,
			 "CanonicalizationMethod is not exclusive C14N (%s)",
			 ALG_EXC_C14N);
		return 1;
	}
	n = next_el(n);
	if (!alg_el(n, "SignatureMethod", ALG_RSA_SHA256)) {
		snprintf(why, cap, "SignatureMethod is not RSA-SHA256 (%s)",
			 ALG_RSA_SHA256);
		return 1;
	}
	for (r = next_el(n); r != NULL; r = next_el(r)) {
		xmlChar *uri;
		xmlNodePtr c;
		bool self;
		if (!is_el(r, "Reference", NS_DSIG)) {
			snprintf(why, cap,
				 "SignedInfo: unexpected element %.40s",
				 (const char *)r->name);
			return 1;
		}
		if (res->n_refs == XMLSIG_REFS_MAX) {
			snprintf(why, cap, "over %d References",
				 XMLSIG_REFS_MAX);
			return 1;
		}
		if ((uri = xmlGetNoNsProp(r, (const xmlChar *)"URI")) == NULL) {
			snprintf(why, cap, "a Reference without URI");
			return 1;
		}
		self = uri[0] == '\0';
		if (!self && !xmlsig_part_name_ok((const char *)uri)) {
			snprintf(why, cap,
				 "Reference URI \"%.64s\" refused: \"\" (this "
				 "document) or a part's file name",
				 (const char *)uri);
			xmlFree(uri);
			return 1;
		}
		for (size_t i = 0; i < res->n_refs; i++) {
			if (strcmp(res->refs[i].uri, (const char *)uri) == 0) {
				snprintf(why, cap,
					 "Reference URI \"%.64s\" twice",
					 (const char *)uri);
				xmlFree(uri);
				return 1;
			}
		}
		memcpy(res->refs[res->n_refs].uri, uri,
		       strlen((const char *)uri) + 1);
		res->refs[res->n_refs++].status = XMLSIG_REF_NOT_CHECKED;
		xmlFree(uri);
		c = first_el(r->children);
		if (self) {
			/* enveloped-signature then exclusive C14N */
			xmlNodePtr t;
			n_self++;
			if (!is_el(c, "Transforms", NS_DSIG) ||
			    !alg_el(t = first_el(c->children), "Transform",
				    ALG_ENVELOPED) ||
			    !alg_el(t = next_el(t), "Transform",
				    ALG_EXC_C14N) ||
			    next_el(t) != NULL) {
				snprintf(why, cap,
					 "Reference URI=\"\": transforms "
					 "must be enveloped-signature and "
					 "exclusive C14N");
				return 1;
			}
			c = next_el(c);
		} else if (is_el(c, "Transforms", NS_DSIG)) {
			snprintf(why, cap,
				 "Reference %.64s: a part is signed as its "
				 "bytes, without transforms",
				 res->refs[res->n_refs - 1].uri);
			return 1;
		}
		if (!alg_el(c, "DigestMethod", ALG_SHA256) ||
		    !is_el(c = next_el(c), "DigestValue", NS_DSIG) ||
		    next_el(c) != NULL) {
			snprintf(why, cap,
				 "Reference \"%.64s\": DigestMethod must be "
				 "SHA-256 (%s), then DigestValue",
				 res->refs[res->n_refs - 1].uri, ALG_SHA256);
			return 1;
		}
	}
	if (n_self != 1) {
		snprintf(why, cap,
			 "no Reference URI=\"\": the document itself must be "
			 "signed (enveloped)");
		return 1;
	}
	n = next_el(si);
	if (!is_el(n, "SignatureValue", NS_DSIG)) {
		snprintf(why, cap, "no SignatureValue after SignedInfo");
		return 1;
	}
	for (n = next_el(n); n != NULL; n = next_el(n)) {
		if (!is_el(n, "KeyInfo", NS_DSIG)) {
			snprintf(why, cap,
				 "Signature: unexpected element %.40s (Object "
				 "and others are not in the profile)",
				 (const char *)n->name);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* xmlsec                                                              */

static int restrict_ctx(xmlSecDSigCtxPtr ctx)
{
	ctx->enabledReferenceUris =
	    xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeRemote;
	ctx->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
	if (xmlSecDSigCtxEnableReferenceTransform(
		ctx, xmlSecTransformEnvelopedId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(
		ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(
		ctx, xmlSecTransformSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(
		ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(
		ctx, xmlSecTransformRsaSha256Id) < 0)
		return -1;
	return 0;
}

static void fail(val_result *r, val_fail what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(val_result *r, val_fail what, const char *fmt, ...)
{
	bool had = (r->fails & what) != 0;
	size_t slot = r->n_msgs;
	va_list ap;
	r->fails |= what;
	if (slot >= VAL_MSGS_MAX) {
		if (had)
			return;
		slot = VAL_MSGS_MAX - 1;
	} else {
		r->n_msgs++;
	}
	r->msgs[slot].what = what;
	va_start(ap, fmt);
	vsnprintf(r->msgs[slot].text, sizeof(r->msgs[slot].text), fmt, ap);
	va_end(ap);
}

/* The document-level checks: profile, listing, the signature and every
 * Reference.  Failures go to doc_fails (a scratch val_result whose
 * messages are merged later); *cert gets the KeyInfo certificate when
 * there is one.  Returns 0, or a negative rc for an internal failure. */
static int check_document(const uint8_t *xml, size_t len,
			  const xmlsig_part *parts, size_t n_parts,
			  xmlsig_result *res, val_result *doc_fails,
			  X509 **cert, jpki_err *err)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, sig = NULL;
	xmlSecDSigCtxPtr ctx = NULL;
	EVP_PKEY *pub = NULL;
	listing l;
	bool app = false;
	char why[300];
	size_t n_sig;
	int rc = 0;
	*cert = NULL;
	if (safe_parse(xml, len, &doc, why, sizeof(why)) != 0) {
		fail(doc_fails, VAL_FAIL_DOCUMENT, "%s", why);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if ((n_sig = count_signatures(root, &sig)) != 1) {
		fail(doc_fails, VAL_FAIL_DOCUMENT,
		     "%zu ds:Signature elements: exactly one expected", n_sig);
		goto out;
	}
	if (read_listing(doc, &app, &l, why, sizeof(why)) != 0) {
		fail(doc_fails, VAL_FAIL_DOCUMENT, "%s", why);
		goto out;
	}
	res->application = app;
	/* where the signature sits: the root's last child (enveloped), or
	 * in the application's 署名情報 */
	if (app ? !(is_el(sig->parent, K_SIG, NULL) &&
		    sig->parent->parent == root)
		: sig->parent != root) {
		fail(doc_fails, VAL_FAIL_DOCUMENT,
		     app ? "the ds:Signature is not in %s/%s"
			 : "the ds:Signature is not a child of the root "
			   "element%s%s",
		     app ? K_ROOT : "", app ? K_SIG : "");
		goto out;
	}
	if (check_signed_info(sig, res, why, sizeof(why)) != 0) {
		fail(doc_fails, VAL_FAIL_DOCUMENT, "%s", why);
		goto out;
	}
	/* every Reference other than "" is a listed, given part; every
	 * listed part is referenced */
	for (size_t i = 0; i < res->n_refs; i++) {
		const char *u = res->refs[i].uri;
		bool listed = false, given = false;
		if (u[0] == '\0')
			continue;
		for (size_t j = 0; j < l.n; j++)
			if (strcmp(l.name[j], u) == 0) {
				listed = true;
				res->refs[i].attachment = l.attachment[j];
			}
		for (size_t j = 0; j < n_parts; j++)
			given |= strcmp(parts[j].name, u) == 0;
		if (!listed) {
			fail(doc_fails, VAL_FAIL_DOCUMENT,
			     "Reference %s: not a part listed in %s", u,
			     app ? K_INFO
				 : "the document (not an application)");
			goto out;
		}
		if (!given) {
			fail(doc_fails, VAL_FAIL_DOCUMENT,
			     "Reference %s: the part is missing", u);
			goto out;
		}
	}
	for (size_t j = 0; j < l.n; j++) {
		bool refd = false;
		for (size_t i = 0; i < res->n_refs; i++)
			refd |= strcmp(res->refs[i].uri, l.name[j]) == 0;
		if (!refd) {
			fail(doc_fails, VAL_FAIL_DOCUMENT,
			     "%s %s is listed but not signed",
			     l.attachment[j] ? "添付書類" : "申請書",
			     l.name[j]);
			goto out;
		}
	}
	/* the XML parts are refused on the same grounds (XXE) */
	for (size_t j = 0; j < n_parts; j++) {
		size_t nl = strlen(parts[j].name);
		xmlDocPtr pd = NULL;
		if (nl < 4 || strcasecmp(parts[j].name + nl - 4, ".xml") != 0)
			continue;
		if (safe_parse(parts[j].data, parts[j].len, &pd, why,
			       sizeof(why)) != 0) {
			fail(doc_fails, VAL_FAIL_DOCUMENT, "%s: %s",
			     parts[j].name, why);
			goto out;
		}
		xmlFreeDoc(pd);
	}
	if (keyinfo_cert(sig, cert, why, sizeof(why)) != 0) {
		fail(doc_fails, VAL_FAIL_DOCUMENT, "%s", why);
		goto out;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL ||
	    restrict_ctx(ctx) < 0 || (pub = X509_get_pubkey(*cert)) == NULL ||
	    (ctx->signKey = make_key(pub, NULL)) == NULL) {
		ERR_clear_error();
		if (pub == NULL) {
			fail(doc_fails, VAL_FAIL_DOCUMENT,
			     "the certificate's public key is unreadable");
			goto out;
		}
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "xmlsec: preparing the verification: %s",
			       last_xmlsec_error);
		goto out;
	}
	io_parts = parts;
	io_n = n_parts;
	last_xmlsec_error[0] = '\0';
	int vr = xmlSecDSigCtxVerify(ctx, sig);
	io_parts = NULL;
	io_n = 0;
	ERR_clear_error();
	/* what xmlsec checked, in order (it stops at the first bad one) */
	xmlSecSize nr = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
	for (xmlSecSize i = 0; i < nr && i < res->n_refs; i++) {
		xmlSecDSigReferenceCtxPtr rc2 =
		    xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
		if (rc2 == NULL)
			continue;
		if (rc2->status == xmlSecDSigStatusSucceeded)
			res->refs[i].status = XMLSIG_REF_OK;
		else if (rc2->status == xmlSecDSigStatusInvalid)
			res->refs[i].status = XMLSIG_REF_BAD;
	}
	if (vr < 0) {
		fail(doc_fails, VAL_FAIL_DOCUMENT,
		     "xmlsec could not process the signature: %.200s",
		     last_xmlsec_error);
		goto out;
	}
	for (size_t i = 0; i < res->n_refs; i++) {
		if (res->refs[i].status == XMLSIG_REF_BAD)
			fail(doc_fails, VAL_FAIL_DOC_SIGNATURE,
			     "%s%s does not match its digest: altered",
			     res->refs[i].uri[0] ? "the part "
						 : "the signed document",
			     res->refs[i].uri);
	}
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		if ((doc_fails->fails & VAL_FAIL_DOC_SIGNATURE) == 0)
			fail(doc_fails, VAL_FAIL_DOC_SIGNATURE,
			     "the signature over SignedInfo does not verify "
			     "with the certificate's key");
		goto out;
	}
	res->signature_ok = true;
	for (size_t i = 0; i < res->n_refs; i++)
		res->refs[i].status = XMLSIG_REF_OK;
out:
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	EVP_PKEY_free(pub);
	xmlFreeDoc(doc);
	return rc;
}

static void merge(val_result *into, const val_result *from)
{
	for (size_t i = 0; i < from->n_msgs; i++)
		fail(into, from->msgs[i].what, "%s", from->msgs[i].text);
}

static void basic4(X509 *cert, val_result *res)
{
	jpki_err e = {0};
	int era = 0;
	if (x509_basic4_decode(cert, &res->basic4, &e) != 0) {
		memset(&res->basic4, 0, sizeof(res->basic4));
		fail(res, VAL_FAIL_PROFILE,
		     "signature certificate without readable basic-4 data "
		     "(氏名・住所・生年月日・性別): %s",
		     e.msg);
		return;
	}
	res->has_basic4 = true;
	if (rules_era_date_parse(res->basic4.birth, &res->birth,
				 &res->birth_era, &e) == 0) {
		res->has_birth = true;
		res->birth_era_year = rules_era_year(res->birth, &era);
	} else {
		fail(res, VAL_FAIL_PROFILE, "birth date \"%.16s\": %s",
		     res->basic4.birth, e.msg);
	}
}

void xmlsig_result_clear(xmlsig_result *r)
{
	if (r == NULL)
		return;
	val_result_clear(&r->val);
	memset(r, 0, sizeof(*r));
}

int xmlsig_verify(jpki_validator *v, const uint8_t *xml, size_t len,
		  const xmlsig_part *parts, size_t n, const val_opts *o,
		  xmlsig_result *res, jpki_err *err)
{
	val_result docf;
	val_opts co;
	X509 *cert = NULL;
	int rc;
	if (v == NULL || (xml == NULL && len != 0) || o == NULL ||
	    res == NULL || (parts == NULL && n != 0) || n > XMLSIG_PARTS_MAX)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "xml verify: bad argument");
	memset(res, 0, sizeof(*res));
	memset(&docf, 0, sizeof(docf));
	for (size_t i = 0; i < n; i++)
		if (!xmlsig_part_name_ok(parts[i].name) ||
		    (parts[i].data == NULL && parts[i].len != 0) ||
		    parts[i].len > XMLSIG_PART_MAX)
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "xml verify: bad part");
	if ((rc = xmlsig_init(err)) != 0)
		return rc;
	if ((rc = check_document(xml, len, parts, n, res, &docf, &cert, err)) !=
	    0)
		goto out;
	if (cert != NULL) {
		co = *o;
		if (co.purpose == VAL_PURPOSE_ANY)
			co.purpose = VAL_PURPOSE_SIGN;
		if ((rc = val_cert(v, cert, &co, &res->val, err)) != 0)
			goto out;
		if (res->val.classified && res->val.kind == JPKI_CERT_SIGN)
			basic4(cert, &res->val);
	}
	merge(&res->val, &docf);
out:
	X509_free(cert);
	if (rc != 0)
		xmlsig_result_clear(res);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */

/* Replace the SignatureValue xmlsec made with a placeholder key by
 * key's RSA-SHA256 (PKCS#1 v1.5) signature over the canonical SignedInfo
 * xmlsec kept (XMLSEC_DSIG_FLAGS_STORE_SIGNATURE). */
static int external_sign(xmlSecDSigCtxPtr ctx, xmlNodePtr sig, EVP_PKEY *key,
			 jpki_err *err)
{
	xmlSecBufferPtr b =
	    ctx->preSignMemBufMethod != NULL
		? xmlSecTransformMemBufGetBuffer(ctx->preSignMemBufMethod)
		: NULL;
	EVP_PKEY_CTX *pc = NULL;
	unsigned char h[EVP_MAX_MD_SIZE], *sv = NULL, *b64 = NULL;
	unsigned hl = 0;
	size_t sv_len = 0;
	xmlNodePtr n = NULL;
	int rc = 0;
	for (xmlNodePtr c = first_el(sig->children); c; c = next_el(c))
		if (is_el(c, "SignatureValue", NS_DSIG))
			n = c;
	if (b == NULL || n == NULL || xmlSecBufferGetSize(b) == 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "xmlsec kept no canonical SignedInfo");
		goto out;
	}
	/* the hash is made here and the key signs it as a given hash (the
	 * card's signature key signs nothing else but CMS attributes) */
	if (!EVP_Digest(xmlSecBufferGetData(b), xmlSecBufferGetSize(b), h, &hl,
			EVP_sha256(), NULL) ||
	    (pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(pc, NULL, &sv_len, h, hl) != 1 ||
	    (sv = malloc(sv_len)) == NULL ||
	    EVP_PKEY_sign(pc, sv, &sv_len, h, hl) != 1) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "signing SignedInfo");
		goto out;
	}
	if ((b64 = malloc(4 * ((sv_len + 2) / 3) + 1)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	EVP_EncodeBlock(b64, sv, (int)sv_len);
	xmlNodeSetContent(n, b64);
out:
	EVP_PKEY_CTX_free(pc);
	free(sv);
	free(b64);
	return rc;
}

/* Sign the template under `parent` in doc (References: "" and parts),
 * then check the result as a verifier would; *out is the document. */
static int sign_doc(xmlDocPtr doc, xmlNodePtr parent, const xmlsig_part *parts,
		    size_t n, EVP_PKEY *key, X509 *cert, uint8_t **out,
		    size_t *out_len, jpki_err *err)
{
	xmlNodePtr sig, ref, ki, xd;
	xmlSecDSigCtxPtr ctx = NULL;
	EVP_PKEY *placeholder = NULL;
	xmlChar *mem = NULL;
	int size = 0, rc = 0;
	if ((sig = xmlSecTmplSignatureCreateNsPref(
		 doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id,
		 NULL, (const xmlChar *)"ds")) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "xmlsec: template");
		goto out;
	}
	xmlAddChild(parent, sig);
	if ((ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id,
						   NULL, (const xmlChar *)"",
						   NULL)) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ==
		NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) ==
		NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "xmlsec: template");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (xmlSecTmplSignatureAddReference(
			sig, xmlSecTransformSha256Id, NULL,
			(const xmlChar *)parts[i].name, NULL) == NULL) {
			rc = jpki_fail(err, JPKI_ERR_NOMEM, "xmlsec: template");
			goto out;
		}
	}
	if ((ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL ||
	    (xd = xmlSecTmplKeyInfoAddX509Data(ki)) == NULL ||
	    xmlSecTmplX509DataAddCertificate(xd) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "xmlsec: template");
		goto out;
	}
	last_xmlsec_error[0] = '\0';
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL ||
	    restrict_ctx(ctx) < 0 ||
	    (ctx->signKey = make_key(key, cert)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO,
			       "xmlsec: the key is not usable: %s",
			       last_xmlsec_error);
		goto out;
	}
	/* xmlsec signs only with a key whose private half it can see
	 * (OpenSSL 3: the "d" parameter); the card's key, through the
	 * provider, has none.  Then xmlsec fills the References and
	 * SignedInfo with a throw-away key, keeps the canonical SignedInfo
	 * it signed, and the SignatureValue is replaced by the card's
	 * signature over those same bytes. */
	if ((xmlSecKeyGetType(ctx->signKey) & xmlSecKeyDataTypePrivate) == 0) {
		xmlSecKeyDestroy(ctx->signKey);
		ctx->signKey = NULL;
		if ((placeholder = EVP_RSA_gen(1024)) == NULL ||
		    (ctx->signKey = make_key(placeholder, cert)) == NULL) {
			rc = jpki_fail(err, JPKI_ERR_CRYPTO,
				       "preparing the signature");
			goto out;
		}
		ctx->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNATURE;
	}
	io_parts = parts;
	io_n = n;
	int sr = xmlSecDSigCtxSign(ctx, sig);
	io_parts = NULL;
	io_n = 0;
	if (sr < 0) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "xmlsec: signing: %s",
			       last_xmlsec_error);
		goto out;
	}
	if (placeholder != NULL &&
	    (rc = external_sign(ctx, sig, key, err)) != 0)
		goto out;
	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (mem == NULL || size <= 0 || (size_t)size > XMLSIG_DOC_MAX ||
	    (*out = malloc((size_t)size)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_RANGE,
			       "the signed document is empty or too large");
		goto out;
	}
	memcpy(*out, mem, (size_t)size);
	*out_len = (size_t)size;
	/* what the card (or key) returned must verify before it leaves */
	{
		xmlsig_result chk;
		val_result docf;
		X509 *kc = NULL;
		memset(&chk, 0, sizeof(chk));
		memset(&docf, 0, sizeof(docf));
		rc = check_document(*out, *out_len, parts, n, &chk, &docf, &kc,
				    err);
		if (rc == 0 && (!chk.signature_ok || kc == NULL ||
				X509_cmp(kc, cert) != 0))
			rc = jpki_fail(err, JPKI_ERR_CRYPTO,
				       "the signature does not verify with "
				       "the certificate's key: %s",
				       docf.n_msgs ? docf.msgs[0].text : "");
		X509_free(kc);
		if (rc != 0) {
			free(*out);
			*out = NULL;
			*out_len = 0;
		}
	}
out:
	ERR_clear_error();
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	EVP_PKEY_free(placeholder);
	xmlFree(mem);
	return rc;
}

int xmlsig_sign_enveloped(const uint8_t *doc, size_t len, EVP_PKEY *key,
			  X509 *cert, uint8_t **out, size_t *out_len,
			  jpki_err *err)
{
	xmlDocPtr d = NULL;
	xmlNodePtr root, s = NULL;
	char why[300];
	int rc;
	if (doc == NULL || key == NULL || cert == NULL || out == NULL ||
	    out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "xml sign: bad argument");
	if ((rc = xmlsig_init(err)) != 0)
		return rc;
	if (safe_parse(doc, len, &d, why, sizeof(why)) != 0)
		return jpki_fail(err, JPKI_ERR_PARSE, "%s", why);
	root = xmlDocGetRootElement(d);
	if (count_signatures(root, &s) != 0) {
		xmlFreeDoc(d);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "the document is already signed (one "
				 "ds:Signature per document)");
	}
	if (is_el(root, K_ROOT, NULL)) {
		xmlFreeDoc(d);
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a 構成管理情報: sign the application "
				 "(--application) instead");
	}
	rc = sign_doc(d, root, NULL, 0, key, cert, out, out_len, err);
	xmlFreeDoc(d);
	return rc;
}

/* A newline and two spaces per level, as the last child of n. */
static bool indent(xmlNodePtr n, int level)
{
	static const char ws[] = "\n            ";
	int len = 1 + 2 * level;
	if (len > (int)sizeof(ws) - 1)
		len = (int)sizeof(ws) - 1;
	return xmlAddChild(n, xmlNewTextLen((const xmlChar *)ws, len)) != NULL;
}

int xmlsig_sign_application(const xmlsig_part *parts, size_t n, EVP_PKEY *key,
			    X509 *cert, uint8_t **out, size_t *out_len,
			    jpki_err *err)
{
	xmlDocPtr d = NULL;
	xmlNodePtr root, info, sig;
	size_t n_app = 0;
	char why[300];
	int rc;
	if (parts == NULL || n == 0 || n > XMLSIG_PARTS_MAX || key == NULL ||
	    cert == NULL || out == NULL || out_len == NULL)
		return jpki_fail(err, JPKI_ERR_INVAL, "xml sign: 1 to %d parts",
				 XMLSIG_PARTS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!xmlsig_part_name_ok(parts[i].name))
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "part name \"%s\" refused (letters, "
					 "digits, '.', '_', '-'; not %s)",
					 parts[i].name, XMLSIG_KOUSEI_NAME);
		if (parts[i].len > XMLSIG_PART_MAX)
			return jpki_fail(err, JPKI_ERR_RANGE,
					 "%s: over %u bytes", parts[i].name,
					 XMLSIG_PART_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(parts[i].name, parts[j].name) == 0)
				return jpki_fail(err, JPKI_ERR_INVAL,
						 "part %s given twice",
						 parts[i].name);
		n_app += !parts[i].attachment;
	}
	if (n_app != 1 || parts[0].attachment)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "one 申請書 first, then the 添付書類");
	if ((rc = xmlsig_init(err)) != 0)
		return rc;
	/* the 申請書 (and XML attachments) must be acceptable to the
	 * verifier */
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(parts[i].name);
		xmlDocPtr pd = NULL;
		if (nl < 4 || strcasecmp(parts[i].name + nl - 4, ".xml") != 0)
			continue;
		if (safe_parse(parts[i].data, parts[i].len, &pd, why,
			       sizeof(why)) != 0)
			return jpki_fail(err, JPKI_ERR_PARSE, "%s: %s",
					 parts[i].name, why);
		xmlFreeDoc(pd);
	}
	if ((d = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (root = xmlNewNode(NULL, (const xmlChar *)K_ROOT)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	xmlDocSetRootElement(d, root);
	/* indented by hand (text nodes), before signing: the listing is
	 * signed as it will be read */
	bool ok = indent(root, 1) &&
		  (info = xmlNewChild(root, NULL, (const xmlChar *)K_INFO,
				      NULL)) != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		bool att = parts[i].attachment;
		xmlNodePtr g = NULL;
		ok = indent(info, 2) &&
		     (g = xmlNewChild(info, NULL,
				      (const xmlChar *)(att ? K_ATT : K_APP),
				      NULL)) != NULL &&
		     indent(g, 3) &&
		     xmlNewTextChild(
			 g, NULL,
			 (const xmlChar *)(att ? K_ATT_FILE : K_APP_FILE),
			 (const xmlChar *)parts[i].name) != NULL &&
		     indent(g, 2);
	}
	ok = ok && indent(info, 1) && indent(root, 1) &&
	     (sig = xmlNewChild(root, NULL, (const xmlChar *)K_SIG, NULL)) !=
		 NULL &&
	     indent(root, 0);
	if (!ok) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = sign_doc(d, sig, parts, n, key, cert, out, out_len, err);
out:
	xmlFreeDoc(d);
	return rc;
}
