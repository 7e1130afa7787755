/* jpki pdf: PDF signatures for 登記・供託オンライン申請 and the like --
 * /SubFilter /adbe.pkcs7.detached, added as incremental updates by the
 * card's signature key (several signers one after another), and checked
 * signature by signature with the relying party's validation (chain,
 * revocation, basic-4).  src/document does the PDF, src/validation the
 * CMS. */
#include <openssl/pem.h>

#include <getopt.h>
#include <limits.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "card_key.h"
#include "cli.h"
#include "doc_common.h"
#include "openjpki/date.h"
#include "openjpki/pdf.h"
#include "openjpki/tsa.h"
#include "openjpki/util.h"
#include "openjpki/val_json.h"
#include "openjpki/validation.h"

int cmd_pdf(cli_ctx *ctx, int argc, char **argv);

/* --tsa's default /Contents room: the CMS plus a token with its TSA
 * certificate (about 4 KiB from jpkid) and room for a longer chain */
#define PDF_CMS_RESERVE_TSA (PDF_CMS_RESERVE + 32768u)

static const char pdf_help[] =
    "usage: jpki pdf sign|verify ...\n\n"
    "PDF signatures (/SubFilter /adbe.pkcs7.detached): `jpki pdf sign` adds\n"
    "one as an incremental update with the card's signature key; `jpki pdf\n"
    "verify` checks every signature of a file.  --help on each.\n";

static const char sign_help[] =
    "usage: jpki pdf sign --in IN.pdf [--out OUT.pdf]\n"
    "         (CARD.img | --card CARD.img | --reader NAME|auto)\n"
    "         [--pin PIN | --pin-file FILE]\n"
    "         [--page N] [--rect X,Y,W,H] [--field NAME] [--reserve BYTES]\n"
    "         [--tsa URL]\n"
    "       jpki pdf sign --in IN.pdf --key KEY.pem --cert CERT.pem [...]\n\n"
    "Add a signature to IN.pdf as an incremental update (the bytes of\n"
    "IN.pdf are kept, so earlier signatures stay valid: co-signing is\n"
    "running this again on the output).  A new signature field (named\n"
    "SignatureN unless --field) on page N (default 1), invisible unless\n"
    "--rect gives its place in points (a box with the signer's serial and\n"
    "the time); its value a /adbe.pkcs7.detached CMS: SHA-256, RSA\n"
    "PKCS#1 v1.5, signingTime, the signer's certificate.  The card signs\n"
    "after the signature PIN (署名用電子証明書暗証番号) through the\n"
    "openjpki provider, as `jpki sign` does.  OUT.pdf (default\n"
    "IN-signed.pdf) is written atomically; a damaged or encrypted input is\n"
    "refused and nothing is written.\n\n"
    "--reserve BYTES  room for the CMS in /Contents, 1024 or more (default\n"
    "                 16384, 49152 with --tsa); a CMS that does not fit is\n"
    "                 refused\n"
    "--tsa URL   add a signature time-stamp (PAdES B-T): the RFC 3161 TSA\n"
    "            at URL (http://; jpkid serves one at /tsa) stamps the\n"
    "            signature value, and the token goes into the CMS as the\n"
    "            unsigned attribute id-aa-signatureTimeStampToken, as\n"
    "            `jpki sign --tsa` does.  No document time-stamp and no\n"
    "            DSS (not B-LT/B-LTA).  A TSA that fails writes nothing.\n";

static const char verify_help[] =
    "usage: jpki pdf verify FILE.pdf [--roots FILE|DIR ...] [--trust-jlis]\n"
    "         [--crl-map DIRNAME=PATH|URL ...] [--ocsp URL]\n"
    "         [--ocsp-response FILE ...] [--at TIME] [--timeout S]\n"
    "         [--tsa-roots FILE ...]\n\n"
    "Check every signature of FILE.pdf: its /ByteRange covers the file\n"
    "from byte 0 to the end of a revision except exactly its own\n"
    "/Contents; its dictionary is in the revision it signs; every object\n"
    "that revision reaches reads the same in the whole file, except\n"
    "signature fields and widgets added by later signers (what changed is\n"
    "listed); then the CMS as `jpki verify` does: the signature over the\n"
    "covered bytes, the certificate under a trusted root, revocation (CRL\n"
    "or OCSP, options as for `jpki verify`) and the basic-4 data\n"
    "(基本4情報).  Exit 0 only when the file has signatures and all of\n"
    "them hold.  --json for one JSON object.\n\n"
    "--tsa-roots trusted TSA roots (PEM) for signature time-stamps\n"
    "            (PAdES B-T); default the CA directory's tsa/root.pem when\n"
    "            --roots is not given.  As for `jpki verify`: a time-stamp\n"
    "            that verifies proves the signature existed then, and the\n"
    "            signer's certificate is judged at that time.  Without TSA\n"
    "            roots, time-stamps are not judged.\n";

/* ------------------------------------------------------------------ */
/* sign                                                                */

/* A detached CMS over data (RFC 5652; ISO 32000-1 12.8.3.3). */
static int make_cms(const uint8_t *data, size_t len, X509 *cert, EVP_PKEY *key,
		    time_t now, uint8_t **out, size_t *out_len, jpki_err *err)
{
	unsigned flags =
	    CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP | CMS_DETACHED;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	unsigned char *der = NULL;
	int rc = 0, n;
	if (len > INT_MAX)
		return jpki_fail(err, JPKI_ERR_RANGE, "PDF too large");
	if ((in = BIO_new_mem_buf(data, (int)len)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_CRYPTO, "preparing the CMS");
		goto out;
	}
	if ((rc = doc_cms_sign(in, cert, key, now, flags, &cms, err)) != 0)
		goto out;
	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0 ||
	    (*out = malloc((size_t)n)) == NULL) {
		rc = jpki_fail(err, JPKI_ERR_NOMEM, "encoding the CMS");
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

static bool parse_rect(const char *s, double r[4])
{
	char *end;
	for (int i = 0; i < 4; i++) {
		r[i] = strtod(s, &end);
		if (end == s || r[i] < 0 || r[i] > 14400)
			return false;
		if (i < 3 && *end != ',')
			return false;
		s = end + 1;
	}
	return *end == '\0' && r[2] >= 20 && r[3] >= 20;
}

static int pdf_sign_cmd(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"card", required_argument, NULL, 'c'},
	    {"reader", required_argument, NULL, 'R'},
	    {"pin", required_argument, NULL, 'p'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"key", required_argument, NULL, 'k'},
	    {"cert", required_argument, NULL, 'C'},
	    {"page", required_argument, NULL, 'g'},
	    {"rect", required_argument, NULL, 'r'},
	    {"field", required_argument, NULL, 'f'},
	    {"reserve", required_argument, NULL, 's'},
	    {"tsa", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0}};
	const char *in = NULL, *out = NULL, *image = NULL, *reader = NULL;
	const char *tsa = NULL;
	const char *pin_file = NULL, *key_path = NULL, *cert_path = NULL;
	char *pin = NULL, outbuf[PATH_MAX], l0[64], l1[96], l2[64];
	pdf_sign_opts so = {0};
	pdf_prepared pp = {0};
	pdf_report *rep = NULL;
	EVP_PKEY *soft = NULL, *card = NULL, *key = NULL;
	X509 *cert = NULL;
	uint8_t *src = NULL, *data = NULL, *cms = NULL;
	size_t src_len = 0, data_len = 0, cms_len = 0;
	jpki_err err = {0};
	int c, rc;
	if (cli_want_help(argc, argv, sign_help))
		return 0;
	so.page = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'c': image = optarg; break;
		case 'R': reader = optarg; break;
		case 'p': pin = optarg; break;
		case 'P': pin_file = optarg; break;
		case 'k': key_path = optarg; break;
		case 'C': cert_path = optarg; break;
		case 'g': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 100000)
				return cli_usage_error("--page: 1, 2, ...");
			so.page = (int)n;
			break;
		}
		case 'r':
			if (!parse_rect(optarg, so.rect))
				return cli_usage_error(
				    "--rect: X,Y,W,H in points (W, H >= 20)");
			so.visible = true;
			break;
		case 'f': so.field = optarg; break;
		case 's': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1024 ||
			    n > (long)PDF_CMS_RESERVE_MAX)
				return cli_usage_error("--reserve: 1024-%u",
						       PDF_CMS_RESERVE_MAX);
			so.reserve = (size_t)n;
			break;
		}
		case 'T': tsa = optarg; break;
		default: return 2;
		}
	}
	/* a token brings the TSA's certificate: room for it by default */
	if (tsa != NULL && so.reserve == 0)
		so.reserve = PDF_CMS_RESERVE_TSA;
	if (optind < argc) {
		if (image != NULL || optind + 1 < argc)
			return cli_usage_error(
			    "pdf sign: one card image expected");
		image = argv[optind];
	}
	if (in == NULL)
		return cli_usage_error("pdf sign: --in FILE.pdf is required");
	if ((rc = doc_key_usage("pdf sign", key_path, cert_path, image, reader,
				pin, pin_file)) != 0)
		return rc;
	if (out == NULL) {
		size_t n = strlen(in);
		if (n > 4 && strcmp(in + n - 4, ".pdf") == 0)
			n -= 4;
		if ((size_t)snprintf(outbuf, sizeof(outbuf), "%.*s-signed.pdf",
				     (int)n, in) >= sizeof(outbuf))
			return cli_usage_error("pdf sign: --in path too long");
		out = outbuf;
	}
	/* the document first: a damaged PDF costs no PIN entry */
	if ((rc = x509_init(&err)) != 0 ||
	    (rc = jpki_file_read(in, PDF_FILE_MAX, &src, &src_len, &err)) != 0)
		goto out;
	if (key_path != NULL) {
		if ((rc = doc_soft_key(key_path, cert_path, &soft, &cert,
				       &err)) != 0)
			goto out;
		key = soft;
	}
	/* a dry run for the structure, before the card is asked */
	so.now = ctx->now;
	if ((rc = pdf_sign_prepare(src, src_len, &so, &pp, &err)) != 0)
		goto out;
	if (key == NULL) {
		if ((rc = cli_card_key(image, reader, "sign", pin, pin_file,
				       &card, &cert, &err)) != 0)
			goto out;
		key = card;
	}
	/* the appearance names the signer's certificate */
	if (so.visible) {
		char t[21];
		BIGNUM *bn =
		    ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		jpki_time_format(ctx->now, t);
		snprintf(l0, sizeof(l0), "Digitally signed (JPKI)");
		snprintf(l1, sizeof(l1), "Certificate serial %s",
			 hex != NULL ? hex : "?");
		snprintf(l2, sizeof(l2), "Date %s", t);
		OPENSSL_free(hex);
		BN_free(bn);
		so.lines[0] = l0;
		so.lines[1] = l1;
		so.lines[2] = l2;
		pdf_prepared_clear(&pp);
		if ((rc = pdf_sign_prepare(src, src_len, &so, &pp, &err)) != 0)
			goto out;
	}
	if ((rc = pdf_range_bytes(pp.buf, pp.len, pp.br, &data, &data_len,
				  &err)) != 0)
		goto out;
	rc =
	    make_cms(data, data_len, cert, key, ctx->now, &cms, &cms_len, &err);
	if (rc != 0 && card != NULL)
		rc = cli_card_key_error(rc, &err);
	if (rc == 0 && tsa != NULL) {
		uint8_t *stamped = NULL;
		size_t stamped_len = 0;
		rc = val_cms_add_timestamp(cms, cms_len, tsa, 0, &stamped,
					   &stamped_len, &err);
		if (rc != 0) {
			jpki_wrap(&err, rc, "time-stamp from %s", tsa);
		} else {
			free(cms);
			cms = stamped;
			cms_len = stamped_len;
		}
	}
	if (rc == 0 &&
	    (rc = pdf_sign_finish(&pp, cms, cms_len, &err)) == JPKI_ERR_RANGE)
		jpki_wrap(&err, rc, "--reserve too small");
	if (rc != 0)
		goto out;
	/* what leaves must read back as a sound signature */
	if ((rc = pdf_inspect(pp.buf, pp.len, &rep, &err)) != 0)
		goto out;
	bool found = false;
	for (size_t i = 0; i < rep->n_sigs; i++)
		if (strcmp(rep->sigs[i].field, pp.field) == 0)
			found =
			    rep->sigs[i].problems.n == 0 && rep->sigs[i].whole;
	if (!found) {
		rc = jpki_fail(&err, JPKI_ERR_STATE,
			       "the signed PDF does not read back as signed");
		goto out;
	}
	if ((rc = jpki_file_write_atomic(out, pp.buf, pp.len, 0644, &err)) != 0)
		goto out;
	if (ctx->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(out));
		json_object_set_new(o, "field", json_string(pp.field));
		json_object_set_new(o, "visible", json_boolean(so.visible));
		json_object_set_new(o, "page", json_integer(so.page));
		json_object_set_new(o, "timestamped",
				    json_boolean(tsa != NULL));
		json_object_set_new(o, "signatures",
				    json_integer((json_int_t)rep->n_sigs));
		json_object_set_new(o, "bytes",
				    json_integer((json_int_t)pp.len));
		json_object_set_new(
		    o, "key", json_string(card != NULL ? "card" : "software"));
		json_object_set_new(o, "signer", cli_cert_json(cert));
		cli_print_json(o);
	} else {
		printf("signed %s -> %s (field %s, %s, signature %zu of the "
		       "file, %s key%s)\n",
		       in, out, pp.field, so.visible ? "visible" : "invisible",
		       rep->n_sigs,
		       card != NULL ? "card signature" : "software",
		       tsa != NULL ? ", time-stamped" : "");
	}
out:
	pdf_report_free(rep);
	pdf_prepared_clear(&pp);
	free(src);
	free(data);
	free(cms);
	EVP_PKEY_free(card);
	EVP_PKEY_free(soft);
	X509_free(cert);
	return rc == 0 ? 0 : cli_error(ctx, rc, &err);
}

/* ------------------------------------------------------------------ */
/* verify                                                              */

typedef struct vargs {
	const char *file;
	doc_val_args val;
	const char *tsa_roots[DOC_TSA_ROOTS_MAX];
	size_t n_tsa_roots;
	int timeout;
} vargs;

static int parse_vargs(int argc, char **argv, vargs *a)
{
	static const struct option opts[] = {
	    {"roots", required_argument, NULL, 'r'},
	    {"crl-map", required_argument, NULL, 'm'},
	    {"ocsp", required_argument, NULL, 'o'},
	    {"ocsp-response", required_argument, NULL, 'O'},
	    {"at", required_argument, NULL, 'a'},
	    {"timeout", required_argument, NULL, 't'},
	    {"trust-jlis", no_argument, NULL, 'J'},
	    {"tsa-roots", required_argument, NULL, 'T'},
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
		case 'T':
			if (a->n_tsa_roots == DOC_TSA_ROOTS_MAX)
				return cli_usage_error("--tsa-roots: too many");
			a->tsa_roots[a->n_tsa_roots++] = optarg;
			break;
		case 't': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 3600)
				return cli_usage_error("--timeout: 1-3600 s");
			a->timeout = (int)n;
			break;
		}
		default: return 2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("pdf verify: one FILE.pdf expected");
	a->file = argv[optind];
	return 0;
}

/* The validator as `jpki verify` sets it up (cmd_verify.c). */
static int setup(cli_ctx *ctx, const vargs *a, jpki_validator *v, jpki_err *err)
{
	int rc;
	if ((rc = val_set_limits(v, 0, 0, a->timeout, err)) != 0 ||
	    (rc = doc_val_roots(ctx, &a->val, v, err)) != 0)
		return rc;
	if ((rc = doc_val_tsa_roots(ctx, &a->val, a->tsa_roots, a->n_tsa_roots,
				    v, err)) != 0)
		return rc;
	return doc_val_revocation(&a->val, v, err);
}

static json_t *notes_json(const pdf_notes *n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n->n; i++)
		json_array_append_new(a, json_string(n->text[i]));
	if (n->dropped > 0) {
		char t[64];
		snprintf(t, sizeof(t), "... and %zu more", n->dropped);
		json_array_append_new(a, json_string(t));
	}
	return a;
}

static void notes_text(const char *head, const pdf_notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		printf("  %s %s\n", head, n->text[i]);
	if (n->dropped > 0)
		printf("  %s ... and %zu more\n", head, n->dropped);
}

static void sig_text(size_t i, const pdf_sig *s, const val_result *r,
		     bool valid, size_t file_len)
{
	char buf[600];
	printf("signature %zu, field %s: %s\n", i + 1, s->field,
	       valid ? "VALID" : "INVALID");
	printf("  subfilter: %s\n", s->subfilter[0] ? s->subfilter : "-");
	if (s->br_ok)
		printf("  byterange: [%lld %lld %lld %lld], %s\n", s->br[0],
		       s->br[1], s->br[2], s->br[3],
		       s->whole ? "the whole file but its /Contents"
				: "an earlier revision");
	if (s->br_ok && !s->whole)
		printf("  later updates: %zu bytes after it\n",
		       file_len - s->rev_end);
	notes_text("- refused:", &s->problems);
	notes_text("- allowed:", &s->changes);
	if (r == NULL)
		return;
	for (size_t k = 0; k < r->n_msgs; k++)
		printf("  - %s: %s\n", val_fail_name(r->msgs[k].what),
		       r->msgs[k].text);
	if (r->cert != NULL) {
		json_t *j = cli_cert_json(r->cert);
		printf("  signer:    %s, serial %s\n",
		       json_string_value(json_object_get(j, "subject")),
		       json_string_value(json_object_get(j, "serial")));
		json_decref(j);
	}
	if (r->has_signing_time) {
		jpki_time_format(r->signing_time, buf);
		printf("  signed at: %s (the signer's claim)\n", buf);
	}
	if (r->has_timestamp) {
		jpki_time_format(r->timestamp, buf);
		printf("  time-stamp: %s by %s (policy %s); the signer is "
		       "judged at this time\n",
		       buf, r->tsa_name, r->tsa_policy);
	}
	printf("  revocation: %s\n", val_rev_name(r->rev));
	if (r->has_basic4) {
		val_era_text(r, buf, sizeof(buf));
		printf("  basic-4 (基本4情報):\n");
		printf("    氏名 name:     %s\n", r->basic4.name);
		printf("    住所 address:  %s\n", r->basic4.address);
		printf("    生年月日 birth: %s (%s)\n", r->basic4.birth, buf);
		printf("    性別 sex:      %s %s\n", r->basic4.sex,
		       val_sex_label(r->basic4.sex));
	}
}

static int pdf_verify_cmd(cli_ctx *ctx, int argc, char **argv)
{
	vargs a;
	jpki_validator *v = NULL;
	pdf_report *rep = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, good = 0;
	jpki_err err = {0};
	val_opts o = {ctx->now, ctx->now, VAL_PURPOSE_SIGN};
	json_t *js = NULL, *arr = NULL;
	int rc;
	if (cli_want_help(argc, argv, verify_help))
		return 0;
	if ((rc = parse_vargs(argc, argv, &a)) != 0)
		return rc;
	if (a.val.at != NULL && jpki_time_parse(a.val.at, &o.at) != 0)
		return cli_usage_error("--at: not a time: %s", a.val.at);
	if ((rc = x509_init(&err)) != 0 || (rc = val_new(&v, &err)) != 0 ||
	    (rc = setup(ctx, &a, v, &err)) != 0 ||
	    (rc = jpki_file_read(a.file, PDF_FILE_MAX, &buf, &len, &err)) !=
		0 ||
	    (rc = pdf_inspect(buf, len, &rep, &err)) != 0)
		goto out;
	if (ctx->json) {
		js = json_object();
		arr = json_array();
	}
	for (size_t i = 0; i < rep->n_sigs; i++) {
		pdf_sig *s = &rep->sigs[i];
		val_result res;
		bool have = false;
		memset(&res, 0, sizeof(res));
		if (s->br_ok && s->cms_len > 0) {
			uint8_t *data = NULL;
			size_t dlen = 0;
			if ((rc = pdf_range_bytes(buf, len, s->br, &data, &dlen,
						  &err)) != 0)
				goto out;
			rc = val_cms(v, s->cms, s->cms_len, data, dlen, &o,
				     &res, &err);
			free(data);
			if (rc != 0)
				goto out;
			have = true;
		}
		bool valid = have && res.fails == 0 && s->problems.n == 0;
		good += valid;
		if (js != NULL) {
			json_t *j = json_object();
			json_object_set_new(j, "field", json_string(s->field));
			json_object_set_new(j, "valid", json_boolean(valid));
			json_object_set_new(j, "subfilter",
					    json_string(s->subfilter));
			if (s->br_ok) {
				json_t *b = json_array();
				for (int k = 0; k < 4; k++)
					json_array_append_new(
					    b, json_integer(s->br[k]));
				json_object_set_new(j, "byte_range", b);
				json_object_set_new(j, "covers_whole_file",
						    json_boolean(s->whole));
				json_object_set_new(
				    j, "revision_end",
				    json_integer((json_int_t)s->rev_end));
			}
			json_object_set_new(j, "signing_time_m",
					    json_string(s->m));
			json_object_set_new(j, "problems",
					    notes_json(&s->problems));
			json_object_set_new(j, "later_changes",
					    notes_json(&s->changes));
			if (have)
				json_object_set_new(j, "cms",
						    val_result_json(&res));
			json_array_append_new(arr, j);
		} else {
			sig_text(i, s, have ? &res : NULL, valid, len);
		}
		val_result_clear(&res);
	}
	bool ok =
	    rep->n_sigs > 0 && good == rep->n_sigs && rep->sigs_dropped == 0;
	if (js != NULL) {
		json_object_set_new(js, "ok", json_boolean(ok));
		json_object_set_new(js, "file", json_string(a.file));
		json_object_set_new(js, "bytes", json_integer((json_int_t)len));
		json_object_set_new(js, "signatures", arr);
		arr = NULL;
		cli_print_json(js);
		js = NULL;
	} else {
		if (rep->n_sigs == 0)
			printf("no signatures in %s\n", a.file);
		printf("%s: %zu of %zu signature(s) valid\n",
		       ok ? "VALID" : "INVALID", good, rep->n_sigs);
	}
	rc = ok ? 0 : 1;
out:
	json_decref(arr);
	json_decref(js);
	pdf_report_free(rep);
	val_free(v);
	free(buf);
	if (rc < 0)
		return cli_error(ctx, rc, &err);
	return rc;
}

int cmd_pdf(cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_family_help(argc, argv, pdf_help);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "sign") == 0)
		return pdf_sign_cmd(ctx, argc, argv);
	if (strcmp(sub, "verify") == 0)
		return pdf_verify_cmd(ctx, argc, argv);
	return cli_usage_error("pdf: unknown command %s", sub);
}
