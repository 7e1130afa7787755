/* jpki verify: the relying party's check of a signed document (CMS), and
 * what an eKYC relying party reads from it: 氏名, 住所, 生年月日 (Gregorian
 * and era), 性別. */
/* pem.h first: cms.h declares the CMS PEM functions only after it */
#include <openssl/pem.h>

#include <getopt.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "doc_common.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/validation.h"

#define CONTENT_MAX (256u << 20)
#define DOC_FILE_MAX (2u * VAL_CMS_MAX) /* room for PEM's base64 */

static const char verify_help[] =
    "usage: jpki verify DOC.p7s [--content FILE] [--roots FILE|DIR ...]\n"
    "         [--trust-jlis]\n"
    "         [--crl-map DIRNAME=PATH|URL ...] [--ocsp URL]\n"
    "         [--ocsp-response FILE ...] [--at TIME] [--purpose sign|auth]\n"
    "         [--tsa-roots FILE ...] [--timeout S] [--skew S]\n\n"
    "Verify a CMS SignedData (DER or PEM; detached: give --content): the\n"
    "signature, the signer's certificate under a trusted root (chosen by\n"
    "key: several generations share one DN), the profile (keyUsage, policy\n"
    "of the hierarchy), validity at --at (default now), and revocation: the\n"
    "CRL of the certificate's partition (its CRL distribution point\n"
    "DirName, mapped with --crl-map; \"*\" maps every partition), else an\n"
    "OCSP response (--ocsp-response) or responder (--ocsp, with a nonce).\n"
    "For a signature certificate it prints the basic-4 data (基本4情報).\n"
    "Exit 0 only when everything holds; every reason it does not is\n"
    "listed.\n\n"
    "--roots     trusted roots (PEM/DER files or directories); default\n"
    "            the CA directory's roots/ (unless --trust-jlis is given)\n"
    "--trust-jlis  also trust the four real J-LIS roots (署名用 and\n"
    "            利用者証明用, 2015 and 2023 generations) shipped in the\n"
    "            data folder's jpki-roots/ (installed share/openjpki, the\n"
    "            source tree's data/, or $JPKI_DATA_DIR); each is checked\n"
    "            against its pinned SHA-256 fingerprint.  Not by default.\n"
    "--crl-map   DIRNAME=LOCATION, DirName in RFC 2253 order or /C=JP/..\n"
    "            form; the location is a file or an http:// URL\n"
    "--at TIME   judge the certificate at this instant (YYYY-MM-DD or\n"
    "            YYYY-MM-DDTHH:MM:SSZ); CRL/OCSP freshness uses the clock\n"
    "--purpose   sign (documents, default) or auth (log-in certificate)\n"
    "--tsa-roots trusted TSA roots (PEM) for signature time-stamps\n"
    "            (CAdES-T); default the CA directory's tsa/root.pem when\n"
    "            --roots is not given.  A time-stamp that verifies proves\n"
    "            the signature existed then: the signer's certificate is\n"
    "            judged at that time (revoked later: still valid).\n"
    "            Without TSA roots, time-stamps are not judged.\n";

typedef struct verify_args {
	const char *doc, *content;
	doc_val_args val;
	const char *tsa_roots[DOC_TSA_ROOTS_MAX];
	size_t n_tsa_roots;
	val_purpose purpose;
	int timeout, skew;
} verify_args;

/* The document as DER: PEM ("CMS" or "PKCS7" label) is decoded. */
static int read_doc(const char *path, uint8_t **out, size_t *out_len,
		    jpki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = jpki_file_read(path, DOC_FILE_MAX, &buf, &len, err);
	if (rc != 0)
		return rc;
	size_t off = 0;
	while (off < len && (buf[off] == ' ' || buf[off] == '\n' ||
			     buf[off] == '\r' || buf[off] == '\t'))
		off++;
	if (len - off < 11 || memcmp(buf + off, "-----BEGIN ", 11) != 0) {
		*out = buf;
		*out_len = len;
		return 0;
	}
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	CMS_ContentInfo *ci = b ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int dlen = ci ? i2d_CMS_ContentInfo(ci, &der) : -1;
	if (dlen <= 0 || (*out = malloc((size_t)dlen)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_PARSE, "%s: malformed PEM CMS",
			       path);
	} else {
		memcpy(*out, der, (size_t)dlen);
		*out_len = (size_t)dlen;
	}
	ERR_clear_error();
	OPENSSL_free(der);
	CMS_ContentInfo_free(ci);
	BIO_free(b);
	free(buf);
	return rc;
}

static int setup(cli_ctx *ctx, const verify_args *a, jpki_validator *v,
		 jpki_err *err)
{
	int rc;
	if ((rc = val_set_limits(v, a->skew, 0, a->timeout, err)) != 0 ||
	    (rc = doc_val_roots(ctx, &a->val, v, err)) != 0)
		return rc;
	if ((rc = doc_val_tsa_roots(ctx, &a->val, a->tsa_roots, a->n_tsa_roots,
				    v, err)) != 0)
		return rc;
	return doc_val_revocation(&a->val, v, err);
}

static void result_text(const val_result *r)
{
	char t[21], buf[600];
	json_t *j = r->cert != NULL ? cli_cert_json(r->cert) : NULL;
	printf("%s\n", r->fails == 0 ? "VALID signature" : "INVALID signature");
	for (size_t i = 0; i < r->n_msgs; i++)
		printf("  - %s: %s\n", val_fail_name(r->msgs[i].what),
		       r->msgs[i].text);
	if (r->cert != NULL)
		printf("document:   %s\n",
		       r->attached ? "content attached" : "detached content");
	if (r->has_signing_time) {
		jpki_time_format(r->signing_time, t);
		printf("signed at:  %s (the signer's claim)\n", t);
	}
	if (r->has_timestamp) {
		jpki_time_format(r->timestamp, t);
		printf("time-stamp: %s by %s (policy %s); the signer is judged "
		       "at this time\n",
		       t, r->tsa_name, r->tsa_policy);
	}
	if (j != NULL) {
		const char *kind =
		    json_string_value(json_object_get(j, "kind"));
		printf(
		    "signer:     %s, serial %s\n",
		    kind == NULL ? "not a JPKI certificate"
		    : strcmp(kind, "sign") == 0
			? "署名用電子証明書 (signature certificate)"
			: "利用者証明用電子証明書 (authentication certificate)",
		    json_string_value(json_object_get(j, "serial")));
		printf("  subject:  %s\n",
		       json_string_value(json_object_get(j, "subject")));
		printf("  valid:    %s .. %s\n",
		       json_string_value(json_object_get(j, "not_before")),
		       json_string_value(json_object_get(j, "not_after")));
		json_decref(j);
	}
	doc_print_issuer_revocation(r);
	if (r->rev_source != VAL_SRC_NONE) {
		jpki_time_format(r->rev_next_update, t);
		printf(" -- %s %s, next update %s",
		       r->rev_source == VAL_SRC_CRL ? "CRL" : "OCSP",
		       r->rev_where, t);
	}
	printf("\n");
	if (r->has_basic4) {
		val_era_text(r, buf, sizeof(buf));
		printf("basic-4 (基本4情報):\n");
		printf("  氏名 name:     %s\n", r->basic4.name);
		if (r->basic4.name_subst[0])
			printf("  氏名代替文字:  %s\n", r->basic4.name_subst);
		printf("  住所 address:  %s\n", r->basic4.address);
		if (r->basic4.address_subst[0])
			printf("  住所代替文字:  %s\n",
			       r->basic4.address_subst);
		if (r->has_birth) {
			char d[11];
			jpki_date_format(r->birth, d);
			printf("  生年月日 birth: %s (%s)\n", d, buf);
		} else {
			printf("  生年月日 birth: %s\n", r->basic4.birth);
		}
		printf("  性別 sex:      %s %s\n", r->basic4.sex,
		       val_sex_label(r->basic4.sex));
	}
}

static int parse_args(int argc, char **argv, verify_args *a)
{
	static const struct option opts[] = {
	    {"content", required_argument, NULL, 'c'},
	    {"roots", required_argument, NULL, 'r'},
	    {"crl-map", required_argument, NULL, 'm'},
	    {"ocsp", required_argument, NULL, 'o'},
	    {"ocsp-response", required_argument, NULL, 'O'},
	    {"at", required_argument, NULL, 'a'},
	    {"purpose", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 't'},
	    {"skew", required_argument, NULL, 's'},
	    {"trust-jlis", no_argument, NULL, 'J'},
	    {"tsa-roots", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0}};
	int c, rc;
	memset(a, 0, sizeof(*a));
	a->purpose = VAL_PURPOSE_SIGN;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((rc = doc_val_option(c, optarg, &a->val)) >= 0) {
			if (rc != 0)
				return rc;
			continue;
		}
		switch (c) {
		case 'c': a->content = optarg; break;
		case 'T':
			if (a->n_tsa_roots ==
			    sizeof(a->tsa_roots) / sizeof(a->tsa_roots[0]))
				return cli_usage_error("--tsa-roots: too many");
			a->tsa_roots[a->n_tsa_roots++] = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "sign") == 0)
				a->purpose = VAL_PURPOSE_SIGN;
			else if (strcmp(optarg, "auth") == 0)
				a->purpose = VAL_PURPOSE_AUTH;
			else
				return cli_usage_error(
				    "--purpose: sign or auth, not %s", optarg);
			break;
		case 't':
		case 's': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 3600)
				return cli_usage_error("--%s: 1-3600 seconds",
						       c == 't' ? "timeout"
								: "skew");
			if (c == 't')
				a->timeout = (int)n;
			else
				a->skew = (int)n;
			break;
		}
		default: return 2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "verify: one document (DOC.p7s) expected");
	a->doc = argv[optind];
	return 0;
}

int cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
	verify_args a;
	jpki_validator *v = NULL;
	uint8_t *doc = NULL, *content = NULL;
	size_t doc_len = 0, content_len = 0;
	val_result res;
	jpki_err err = {0};
	val_opts o = {ctx->now, ctx->now, VAL_PURPOSE_SIGN};
	int rc, verdict = 1;
	memset(&res, 0, sizeof(res));
	if (cli_want_help(argc, argv, verify_help))
		return 0;
	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc;
	if (a.val.at != NULL && jpki_time_parse(a.val.at, &o.at) != 0)
		return cli_usage_error("--at: not a time: %s", a.val.at);
	o.purpose = a.purpose;
	if ((rc = val_new(&v, &err)) != 0 ||
	    (rc = setup(ctx, &a, v, &err)) != 0 ||
	    (rc = read_doc(a.doc, &doc, &doc_len, &err)) != 0)
		goto out;
	if (a.content != NULL &&
	    (rc = jpki_file_read(a.content, CONTENT_MAX, &content, &content_len,
				 &err)) != 0)
		goto out;
	/* an empty file is content too: never pass NULL for it */
	static const uint8_t empty[1] = {0};
	if ((rc =
		 val_cms(v, doc, doc_len,
			 a.content != NULL ? (content ? content : empty) : NULL,
			 content_len, &o, &res, &err)) != 0)
		goto out;
	if (ctx->json)
		cli_print_json(val_result_json(&res));
	else
		result_text(&res);
	verdict = res.fails == 0 ? 0 : 1;
out:
	val_result_clear(&res);
	val_free(v);
	free(doc);
	free(content);
	return rc != 0 ? cli_error(ctx, rc, &err) : verdict;
}
