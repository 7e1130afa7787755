/* jpki xml: XML signatures (XMLDSig) -- an enveloped signature over one
 * XML document, or an e-Gov 電子申請-shaped application whose 構成管理情報
 * (kousei.xml) signs the 申請書 and 添付書類 by file name -- made with the
 * card's signature key through the openjpki provider (or a key file), and
 * verified with the chain, revocation and basic-4 checks of `jpki verify`.
 * The library is src/xmlsig/xmlsig.c. */
#include <openssl/pem.h>

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "card_key.h"
#include "cli.h"
#include "cmd_xml.h"
#include "doc_common.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/validation.h"
#include "openjpki/xmlsig.h"

/* all the parts of one application read for a verification */
#define PARTS_TOTAL_MAX (256u << 20)

static const char xml_help[] =
    "usage: jpki xml sign ...    sign an XML document or an application\n"
    "       jpki xml verify ...  verify one\n"
    "(jpki xml sign --help, jpki xml verify --help)\n";

static const char sign_help[] =
    "usage: jpki xml sign --in DOC.xml [--out SIGNED.xml]\n"
    "       jpki xml sign --application 申請書.xml [--attach FILE ...]\n"
    "                     [--out DIR/kousei.xml]\n"
    "         (CARD.img | --card CARD.img | --reader NAME|auto)\n"
    "         [--pin PIN | --pin-file FILE] [--json]\n"
    "       ... --key KEY.pem --cert CERT.pem (a software key)\n\n"
    "XMLDSig with RSA-SHA256 (PKCS#1 v1.5), exclusive C14N and SHA-256\n"
    "digests, the signer's certificate in KeyInfo/X509Data\n"
    "(docs/decisions.md, \"XML signatures\").\n\n"
    "--in         enveloped: the ds:Signature becomes the last child of\n"
    "             the root element and signs the whole document (URI=\"\");\n"
    "             default output DOC.xml.signed.xml\n"
    "--application  the 申請書 of an e-Gov 電子申請-shaped application:\n"
    "             writes the 構成管理情報 (default kousei.xml beside the\n"
    "             申請書) listing the 申請書 and every --attach (添付書類)\n"
    "             by file name, with a ds:Signature in 署名情報 whose\n"
    "             References cover kousei.xml itself and each file's\n"
    "             bytes.  Keep the files beside kousei.xml under the same\n"
    "             names (letters, digits, '.', '_', '-').\n\n"
    "With a card the signature PIN (署名用電子証明書暗証番号) is asked\n"
    "as for `jpki sign`, and the card signs through the openjpki provider\n"
    "(jpki:card=...;key=sign).  The result is verified before it is\n"
    "written (atomically).  XML with a DOCTYPE is refused.\n";

static const char verify_help[] =
    "usage: jpki xml verify SIGNED.xml [--roots FILE|DIR ...] [--trust-jlis]\n"
    "         [--crl-map DIRNAME=PATH|URL ...] [--ocsp URL]\n"
    "         [--ocsp-response FILE ...] [--at TIME] [--timeout S] [--json]\n\n"
    "Verify an enveloped XML signature, or an application's kousei.xml\n"
    "(構成管理情報) with its 申請書 and 添付書類 read from the same\n"
    "directory: the profile (exclusive C14N, RSA-SHA256, SHA-256, one\n"
    "ds:Signature, References only to the document itself and to the\n"
    "listed parts, every listed part signed), the signature with the\n"
    "certificate in KeyInfo, every Reference (an altered part is named),\n"
    "then the certificate as `jpki verify` does: root (default the CA\n"
    "directory's roots/), profile, validity at --at, revocation (CRL by\n"
    "--crl-map, OCSP), and the basic-4 data (基本4情報).  A DOCTYPE\n"
    "(DTDs, external entities) is refused.  Exit 0 only when everything\n"
    "holds; every reason it does not is listed.\n";

/* ------------------------------------------------------------------ */
/* Signing                                                             */

/* The last component of a path (no allocation: a pointer into it). */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s != NULL ? s + 1 : path;
}

/* The directory of a path into out ("." when none). */
static int dir_of(const char *path, char *out, size_t cap)
{
	const char *s = strrchr(path, '/');
	size_t n = s == NULL ? 0 : (size_t)(s - path);
	if (s == path)
		n = 1;
	if (n == 0)
		return jpki_strlcpy(out, ".", cap);
	if (n >= cap)
		return -1;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

#define ATTACH_MAX (XMLSIG_PARTS_MAX - 1)

static int xml_sign(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"in", required_argument, NULL, 'i'},
	    {"application", required_argument, NULL, 'A'},
	    {"attach", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"card", required_argument, NULL, 'c'},
	    {"reader", required_argument, NULL, 'R'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"key", required_argument, NULL, 'k'},
	    {"cert", required_argument, NULL, 'C'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	const char *in = NULL, *app = NULL, *attach[ATTACH_MAX];
	const char *image = NULL, *reader = NULL, *pin_file = NULL;
	const char *key_path = NULL, *cert_path = NULL, *out = NULL;
	char *pin = NULL, outbuf[PATH_MAX];
	size_t n_attach = 0, n_parts = 0, sig_len = 0;
	xmlsig_part parts[XMLSIG_PARTS_MAX];
	uint8_t *bufs[XMLSIG_PARTS_MAX] = {0}, *doc = NULL, *sig = NULL;
	size_t doc_len = 0;
	EVP_PKEY *key = NULL, *soft = NULL, *card = NULL;
	X509 *cert = NULL;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, sign_help))
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'A': app = optarg; break;
		case 't':
			if (n_attach == ATTACH_MAX)
				return cli_usage_error(
				    "xml sign: at most %d --attach",
				    ATTACH_MAX);
			attach[n_attach++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'c': image = optarg; break;
		case 'R': reader = optarg; break;
		case 'p': pin = optarg; break;
		case 'P': pin_file = optarg; break;
		case 'k': key_path = optarg; break;
		case 'C': cert_path = optarg; break;
		case 'j': ctx->json = true; break;
		default: return 2;
		}
	}
	if (optind < argc) {
		if (image != NULL || optind + 1 < argc)
			return cli_usage_error(
			    "xml sign: one card image expected");
		image = argv[optind];
	}
	if ((in != NULL) == (app != NULL))
		return cli_usage_error(
		    "xml sign: give --in DOC.xml or --application 申請書.xml");
	if (in != NULL && n_attach > 0)
		return cli_usage_error(
		    "xml sign: --attach goes with --application");
	if ((rc = doc_key_usage("xml sign", key_path, cert_path, image, reader,
				pin, pin_file)) != 0)
		return rc;
	if (out == NULL) {
		int n;
		if (in != NULL) {
			n = snprintf(outbuf, sizeof(outbuf), "%s.signed.xml",
				     in);
		} else {
			char d[PATH_MAX];
			if (dir_of(app, d, sizeof(d)) != 0)
				return cli_usage_error("xml sign: path too "
						       "long");
			n = snprintf(outbuf, sizeof(outbuf), "%s/%s", d,
				     XMLSIG_KOUSEI_NAME);
		}
		if (n < 0 || (size_t)n >= sizeof(outbuf))
			return cli_usage_error("xml sign: path too long");
		out = outbuf;
	}
	/* read everything before the PIN is asked */
	if ((rc = xmlsig_init(&err)) != 0)
		goto out;
	if (in != NULL) {
		if ((rc = jpki_file_read(in, XMLSIG_DOC_MAX, &doc, &doc_len,
					 &err)) != 0)
			goto out;
	} else {
		for (size_t i = 0; i <= n_attach; i++) {
			const char *path = i == 0 ? app : attach[i - 1];
			size_t len = 0;
			if ((rc = jpki_file_read(path, XMLSIG_PART_MAX,
						 &bufs[i], &len, &err)) != 0)
				goto out;
			parts[i].name = base_name(path);
			parts[i].data = bufs[i];
			parts[i].len = len;
			parts[i].attachment = i > 0;
			n_parts = i + 1;
			if (!xmlsig_part_name_ok(parts[i].name)) {
				rc = jpki_fail(&err, JPKI_ERR_INVAL,
					       "%s: file name refused as a "
					       "part (letters, digits, '.', "
					       "'_', '-'; not %s)",
					       path, XMLSIG_KOUSEI_NAME);
				goto out;
			}
		}
	}
	if ((rc = doc_signing_key(key_path, cert_path, image, reader, pin,
				  pin_file, &soft, &card, &cert, &err)) != 0)
		goto out;
	key = card != NULL ? card : soft;
	if (in != NULL)
		rc = xmlsig_sign_enveloped(doc, doc_len, key, cert, &sig,
					   &sig_len, &err);
	else
		rc = xmlsig_sign_application(parts, n_parts, key, cert, &sig,
					     &sig_len, &err);
	if (rc != 0 && card != NULL)
		rc = cli_card_key_error(rc, &err); /* what the card said */
	if (rc != 0 ||
	    (rc = jpki_file_write_atomic(out, sig, sig_len, 0644, &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(
		    o, "shape", json_string(in ? "enveloped" : "application"));
		json_object_set_new(o, "bytes",
				    json_integer((json_int_t)sig_len));
		for (size_t i = 0; i < n_parts; i++) {
			json_t *p = json_object();
			json_object_set_new(p, "name",
					    json_string(parts[i].name));
			json_object_set_new(p, "role",
					    json_string(parts[i].attachment
							    ? "添付書類"
							    : "申請書"));
			json_object_set_new(
			    p, "bytes", json_integer((json_int_t)parts[i].len));
			json_array_append_new(a, p);
		}
		json_object_set_new(o, "parts", a);
		json_object_set_new(
		    o, "key", json_string(card != NULL ? "card" : "software"));
		json_object_set_new(o, "signer", cli_cert_json(cert));
		cli_print_json(o);
	} else if (in != NULL) {
		printf("signed %s -> %s (XMLDSig enveloped, RSA-SHA256, "
		       "exclusive C14N, %zu bytes, %s)\n",
		       in, out, sig_len,
		       card != NULL ? "card signature key" : "software key");
	} else {
		printf("signed application -> %s (構成管理情報: 申請書 %s, "
		       "%zu 添付書類; RSA-SHA256, %s)\n",
		       out, parts[0].name, n_parts - 1,
		       card != NULL ? "card signature key" : "software key");
	}
out:
	for (size_t i = 0; i < XMLSIG_PARTS_MAX; i++)
		free(bufs[i]);
	free(doc);
	free(sig);
	EVP_PKEY_free(card);
	EVP_PKEY_free(soft);
	X509_free(cert);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

typedef struct xv_args {
	const char *doc;
	doc_val_args val;
	int timeout;
} xv_args;

static int xv_parse(cli_ctx *ctx, int argc, char **argv, xv_args *a)
{
	static const struct option opts[] = {
	    {"roots", required_argument, NULL, 'r'},
	    {"crl-map", required_argument, NULL, 'm'},
	    {"ocsp", required_argument, NULL, 'o'},
	    {"ocsp-response", required_argument, NULL, 'O'},
	    {"at", required_argument, NULL, 'a'},
	    {"timeout", required_argument, NULL, 't'},
	    {"trust-jlis", no_argument, NULL, 'J'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	int c, rc;
	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((rc = doc_val_option(c, optarg, &a->val)) >= 0) {
			if (rc != 0)
				return rc;
			continue;
		}
		switch (c) {
		case 'j': ctx->json = true; break;
		case 't': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 3600)
				return cli_usage_error(
				    "--timeout: 1-3600 seconds");
			a->timeout = (int)n;
			break;
		}
		default: return 2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "xml verify: one signed document expected");
	a->doc = argv[optind];
	return 0;
}

static int xv_setup(cli_ctx *ctx, const xv_args *a, jpki_validator *v,
		    jpki_err *err)
{
	int rc;
	if ((rc = val_set_limits(v, 0, 0, a->timeout, err)) != 0 ||
	    (rc = doc_val_roots(ctx, &a->val, v, err)) != 0)
		return rc;
	return doc_val_revocation(&a->val, v, err);
}

static const char *ref_status_name(xmlsig_ref_status s)
{
	switch (s) {
	case XMLSIG_REF_OK: return "ok";
	case XMLSIG_REF_BAD: return "altered";
	default: return "not-checked";
	}
}

static json_t *xv_json(const xmlsig_result *r)
{
	json_t *o = val_result_json(&r->val), *a = json_array();
	json_object_del(o, "attached"); /* CMS only */
	json_object_set_new(o, "format", json_string("xmldsig"));
	json_object_set_new(
	    o, "shape",
	    json_string(r->application ? "application" : "enveloped"));
	json_object_set_new(o, "signature_ok", json_boolean(r->signature_ok));
	for (size_t i = 0; i < r->n_refs; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "uri", json_string(r->refs[i].uri));
		json_object_set_new(
		    p, "role",
		    json_string(
			r->refs[i].uri[0] == '\0'
			    ? (r->application ? "構成管理情報" : "document")
			: r->refs[i].attachment ? "添付書類"
						: "申請書"));
		json_object_set_new(
		    p, "status",
		    json_string(ref_status_name(r->refs[i].status)));
		json_array_append_new(a, p);
	}
	json_object_set_new(o, "references", a);
	return o;
}

static void xv_text(const xmlsig_result *r)
{
	const val_result *v = &r->val;
	char buf[600];
	printf("%s\n",
	       v->fails == 0 ? "VALID XML signature" : "INVALID XML signature");
	for (size_t i = 0; i < v->n_msgs; i++)
		printf("  - %s: %s\n", val_fail_name(v->msgs[i].what),
		       v->msgs[i].text);
	printf("shape:      %s\n",
	       r->application ? "application (構成管理情報 with its parts)"
			      : "enveloped");
	for (size_t i = 0; i < r->n_refs; i++)
		printf("  reference %-24s %s\n",
		       r->refs[i].uri[0] ? r->refs[i].uri
					 : "\"\" (this document)",
		       ref_status_name(r->refs[i].status));
	if (v->cert != NULL) {
		json_t *j = cli_cert_json(v->cert);
		printf("signer:     %s, serial %s\n",
		       json_string_value(json_object_get(j, "subject")),
		       json_string_value(json_object_get(j, "serial")));
		json_decref(j);
	}
	doc_print_issuer_revocation(v);
	printf("\n");
	if (v->has_basic4) {
		val_era_text(v, buf, sizeof(buf));
		printf("basic-4 (基本4情報):\n");
		printf("  氏名 name:     %s\n", v->basic4.name);
		printf("  住所 address:  %s\n", v->basic4.address);
		printf("  生年月日 birth: %s\n", buf);
		printf("  性別 sex:      %s %s\n", v->basic4.sex,
		       val_sex_label(v->basic4.sex));
	}
}

static int xml_verify(cli_ctx *ctx, int argc, char **argv)
{
	xv_args a;
	jpki_validator *v = NULL;
	uint8_t *doc = NULL, *bufs[XMLSIG_PARTS_MAX] = {0};
	char *names[XMLSIG_PARTS_MAX] = {0}, dir[PATH_MAX], path[PATH_MAX];
	bool att[XMLSIG_PARTS_MAX];
	xmlsig_part parts[XMLSIG_PARTS_MAX];
	size_t doc_len = 0, n = 0, n_given = 0, total = 0;
	xmlsig_result res;
	jpki_err err = {0};
	val_opts o = {ctx->now, ctx->now, VAL_PURPOSE_SIGN};
	int rc, verdict = 1;
	memset(&res, 0, sizeof(res));
	if (cli_want_help(argc, argv, verify_help))
		return 0;
	if ((rc = xv_parse(ctx, argc, argv, &a)) != 0)
		return rc;
	if (a.val.at != NULL && jpki_time_parse(a.val.at, &o.at) != 0)
		return cli_usage_error("--at: not a time: %s", a.val.at);
	if ((rc = xmlsig_init(&err)) != 0 || (rc = val_new(&v, &err)) != 0 ||
	    (rc = xv_setup(ctx, &a, v, &err)) != 0 ||
	    (rc = jpki_file_read(a.doc, XMLSIG_DOC_MAX, &doc, &doc_len,
				 &err)) != 0)
		goto out;
	/* an application's parts, beside it; a listing the verifier would
	 * refuse is its verdict, so read nothing then */
	if (xmlsig_application_parts(doc, doc_len, names, att, &n, &err) != 0)
		n = 0;
	if (n > 0 && dir_of(a.doc, dir, sizeof(dir)) != 0) {
		rc = jpki_fail(&err, JPKI_ERR_RANGE, "path too long");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path)) {
			rc = jpki_fail(&err, JPKI_ERR_RANGE, "path too long");
			goto out;
		}
		rc =
		    jpki_file_read(path, XMLSIG_PART_MAX, &bufs[i], &len, &err);
		if (rc == JPKI_ERR_NOT_FOUND) {
			/* a missing part is the verdict's to name */
			free(names[i]);
			names[i] = NULL;
			continue;
		}
		if (rc != 0) {
			jpki_wrap(&err, rc, "%s %s",
				  att[i] ? "添付書類" : "申請書", names[i]);
			goto out;
		}
		if ((total += len) > PARTS_TOTAL_MAX) {
			rc = jpki_fail(&err, JPKI_ERR_RANGE,
				       "the application's parts exceed %u "
				       "bytes",
				       PARTS_TOTAL_MAX);
			goto out;
		}
		parts[n_given].name = names[i];
		parts[n_given].data = bufs[i];
		parts[n_given].len = len;
		parts[n_given++].attachment = att[i];
	}
	if ((rc = xmlsig_verify(v, doc, doc_len, parts, n_given, &o, &res,
				&err)) != 0)
		goto out;
	if (ctx->json)
		cli_print_json(xv_json(&res));
	else
		xv_text(&res);
	verdict = res.val.fails == 0 ? 0 : 1;
out:
	xmlsig_result_clear(&res);
	val_free(v);
	free(doc);
	for (size_t i = 0; i < XMLSIG_PARTS_MAX; i++) {
		free(bufs[i]);
		free(names[i]);
	}
	return rc != 0 ? cli_error(ctx, rc, &err) : verdict;
}

int cmd_xml(cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_family_help(argc, argv, xml_help);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "sign") == 0)
		return xml_sign(ctx, argc, argv);
	if (strcmp(sub, "verify") == 0)
		return xml_verify(ctx, argc, argv);
	return cli_usage_error("xml: unknown command %s", sub);
}
