/* bench_verify: signed documents (CMS) verified per second by the relying
 * party -- document signature, certificate chain, profile and revocation
 * (a cached CRL, or given OCSP responses) -- against the RSA-2048 verify
 * rate of `openssl speed` measured in the same run on one core.
 *
 * A document costs two RSA verifications (the CMS signature and the
 * certificate's signature), so the ceiling is verify/s ÷ 2; the target is
 * at least half of it.  The certificate's signature and its revocation are
 * checked once per certificate (cached by its hash), so verified
 * documents should go well past the ceiling.  Plain CMS_verify() per
 * document (chain rebuilt every time, no revocation) is printed for
 * comparison.
 *
 * XML signatures (xmlsig_verify: xmlsec, then the same certificate
 * checks) are measured the same way: enveloped 申請書 of about 3 KB, and
 * an application (kousei.xml with a 申請書 and a 1 MB 添付書類).
 *
 * PDF signatures (what `jpki pdf verify` does: pdf_inspect -- qpdf, the
 * ByteRange and, for a signature followed by later updates, the
 * comparison of the signed revision with the file -- then val_cms over
 * the covered bytes, cached CRL): a one-page PDF (a 2 KB content stream,
 * 36 KB once signed with the default 16 KB CMS room) and one of 1 MB
 * signed once, and the 1 MB one co-signed by two signers.
 *
 * usage: bench_verify [--seconds S] [--signers K]   (S per measurement) */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "openjpki/pdf.h"
#include "openjpki/validation.h"
#include "openjpki/x509.h"
#include "openjpki/xmlsig.h"

#define NDOCS 256
#define MAX_SIGNERS 16
#define CRL_ENTRIES 1000

static const jpki_issuer_site site = {"Tokyo-to", "Kiyose-shi", "132217001"};

typedef struct env {
	EVP_PKEY *root_key;
	X509 *root;
	int k;
	EVP_PKEY *keys[MAX_SIGNERS];
	X509 *leaves[MAX_SIGNERS];
	uint8_t *docs[NDOCS];
	size_t doc_len[NDOCS];
	uint8_t *ocsp[MAX_SIGNERS];
	size_t ocsp_len[MAX_SIGNERS];
	char crl_path[64];
	time_t now;
} env;

static int die(const char *what, const jpki_err *err)
{
	fprintf(stderr, "bench_verify: %s: %s\n", what,
		err != NULL ? err->msg : "failed");
	ERR_print_errors_fp(stderr);
	exit(1);
}

static X509 *leaf(env *e, int i)
{
	X509 *x = NULL;
	jpki_err err = {0};
	uint8_t sn[2] = {0x40, (uint8_t)i};
	jpki_date today = jpki_date_of(e->now);
	jpki_sign_subject s = {.name = "山田　太郎",
			       .address = "東京都清瀬市上清戸１丁目",
			       .sex = 1,
			       .birth = {1980, 12, 31},
			       .requested = e->now,
			       .sequence = (unsigned)i,
			       .site = &site};
	if (x509_sign_cert_build(JPKI_PROFILE_TEST, e->root, &s, e->keys[i], sn,
				 2, e->now - 86400,
				 jpki_date_end(jpki_date_add_days(today, 365)),
				 &x, &err) != 0 ||
	    X509_sign(x, e->root_key, EVP_sha256()) <= 0)
		die("leaf", &err);
	return x;
}

static int good(void *ctx, const uint8_t *serial, size_t len,
		jpki_ocsp_status *st, jpki_err *err)
{
	(void)ctx;
	(void)serial;
	(void)len;
	(void)err;
	memset(st, 0, sizeof(*st));
	st->status = V_OCSP_CERTSTATUS_GOOD;
	return 0;
}

static void setup(env *e)
{
	jpki_err err = {0};
	const uint8_t one = 1;
	e->now = time(NULL);
	if (x509_init(&err) != 0 || (e->root_key = EVP_RSA_gen(2048)) == NULL ||
	    x509_root_build(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, e->root_key,
			    &one, 1, e->now - 30 * 86400, &e->root,
			    &err) != 0 ||
	    X509_sign(e->root, e->root_key, EVP_sha256()) <= 0)
		die("root", &err);
	for (int i = 0; i < e->k; i++) {
		if ((e->keys[i] = EVP_RSA_gen(2048)) == NULL)
			die("keygen", NULL);
		e->leaves[i] = leaf(e, i);
	}
	/* documents, round-robin over the signers */
	for (int d = 0; d < NDOCS; d++) {
		char text[96];
		int n = snprintf(text, sizeof(text),
				 "申込書 %d: 本人確認のための電子署名\n", d);
		BIO *in = BIO_new_mem_buf(text, n);
		CMS_ContentInfo *ci =
		    CMS_sign(e->leaves[d % e->k], e->keys[d % e->k], NULL, in,
			     CMS_BINARY | CMS_NOSMIMECAP);
		unsigned char *der = NULL;
		int len = ci ? i2d_CMS_ContentInfo(ci, &der) : -1;
		if (len <= 0)
			die("CMS_sign", NULL);
		e->docs[d] = malloc((size_t)len);
		memcpy(e->docs[d], der, (size_t)len);
		e->doc_len[d] = (size_t)len;
		OPENSSL_free(der);
		CMS_ContentInfo_free(ci);
		BIO_free(in);
	}
	/* a partition CRL with other people's revocations */
	static uint8_t sns[CRL_ENTRIES][3];
	static jpki_crl_entry ents[CRL_ENTRIES];
	for (int i = 0; i < CRL_ENTRIES; i++) {
		sns[i][0] = 0x50;
		sns[i][1] = (uint8_t)(i >> 8);
		sns[i][2] = (uint8_t)i;
		ents[i] = (jpki_crl_entry){sns[i], 3, e->now - 3600,
					   JPKI_REASON_AFFILIATION_CHANGED};
	}
	X509_NAME *part = NULL;
	X509_CRL *crl = NULL;
	unsigned char *der = NULL;
	if (x509_crldp_name(JPKI_PROFILE_TEST, JPKI_CERT_SIGN, &site, &part,
			    &err) != 0 ||
	    x509_crl_build(e->root, part, false, ents, CRL_ENTRIES, e->now - 60,
			   e->now + 86400, 1, &crl, &err) != 0 ||
	    X509_CRL_sign(crl, e->root_key, EVP_sha256()) <= 0)
		die("CRL", &err);
	int len = i2d_X509_CRL(crl, &der);
	snprintf(e->crl_path, sizeof(e->crl_path),
		 "/tmp/jpki-bench-crl-XXXXXX");
	int fd = mkstemp(e->crl_path);
	if (fd < 0 || write(fd, der, (size_t)len) != len)
		die("CRL file", NULL);
	close(fd);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	X509_NAME_free(part);
	/* an OCSP response per signer */
	for (int i = 0; i < e->k; i++) {
		OCSP_REQUEST *rq = OCSP_REQUEST_new();
		unsigned char *q = NULL;
		OCSP_request_add0_id(
		    rq, OCSP_cert_to_id(EVP_sha1(), e->leaves[i], e->root));
		int qlen = i2d_OCSP_REQUEST(rq, &q);
		if (x509_ocsp_respond(q, (size_t)qlen, e->root, e->root_key,
				      good, NULL, e->now - 60, e->now + 86400,
				      &e->ocsp[i], &e->ocsp_len[i], &err) != 0)
			die("OCSP", &err);
		OPENSSL_free(q);
		OCSP_REQUEST_free(rq);
	}
}

static jpki_validator *validator(env *e, bool crl)
{
	jpki_validator *v = NULL;
	jpki_err err = {0};
	if (val_new(&v, &err) != 0 || val_add_root(v, e->root, &err) != 0)
		die("validator", &err);
	if (crl && val_map_crl(v, "*", e->crl_path, &err) != 0)
		die("CRL map", &err);
	for (int i = 0; !crl && i < e->k; i++)
		if (val_add_ocsp_response(v, e->ocsp[i], e->ocsp_len[i], &err))
			die("OCSP response", &err);
	return v;
}

/* Documents verified per second by val_cms; every one must be valid. */
static double run_ours(env *e, bool crl, double seconds, val_stats *st)
{
	jpki_validator *v = validator(e, crl);
	val_opts o = {e->now, e->now, VAL_PURPOSE_SIGN};
	val_result r;
	jpki_err err = {0};
	long n = 0;
	double t0 = bench_now(), t;
	do {
		for (int i = 0; i < 64; i++, n++) {
			int d = (int)(n % NDOCS);
			if (val_cms(v, e->docs[d], e->doc_len[d], NULL, 0, &o,
				    &r, &err) != 0)
				die("val_cms", &err);
			if (r.fails != 0) {
				fprintf(stderr, "document %d refused: %s\n", d,
					r.msgs[0].text);
				exit(1);
			}
			val_result_clear(&r);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	val_get_stats(v, st);
	val_free(v);
	return (double)n / t;
}

/* Plain CMS_verify per document: the chain is built and its signature
 * checked every time; no revocation. */
static double run_cms_verify(env *e, double seconds)
{
	X509_STORE *store = X509_STORE_new();
	long n = 0;
	double t0 = bench_now(), t;
	if (store == NULL || !X509_STORE_add_cert(store, e->root))
		die("X509_STORE", NULL);
	do {
		for (int i = 0; i < 64; i++, n++) {
			int d = (int)(n % NDOCS);
			const unsigned char *p = e->docs[d];
			CMS_ContentInfo *ci =
			    d2i_CMS_ContentInfo(NULL, &p, (long)e->doc_len[d]);
			if (ci == NULL || CMS_verify(ci, NULL, store, NULL,
						     NULL, CMS_BINARY) != 1)
				die("CMS_verify", NULL);
			CMS_ContentInfo_free(ci);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	X509_STORE_free(store);
	return (double)n / t;
}

/* XML documents verified per second (xmlsig_verify, cached CRL); every
 * one must be valid.  app: the application with a 1 MB attachment. */
#define NXML 32
static double run_xml(env *e, bool app, double seconds)
{
	static char big[1u << 20];
	static const char shinsei[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<申請書>\n"
	    "  <申請内容>転居届</申請内容>\n</申請書>\n";
	xmlsig_part parts[2] = {
	    {"shinsei.xml", (const uint8_t *)shinsei, sizeof(shinsei) - 1,
	     false},
	    {"tenpu.pdf", (const uint8_t *)big, sizeof(big), true}};
	uint8_t *docs[NXML];
	size_t lens[NXML];
	jpki_validator *v = validator(e, true);
	val_opts o = {e->now, e->now, VAL_PURPOSE_SIGN};
	xmlsig_result r;
	jpki_err err = {0};
	long n = 0;
	memset(big, 'A', sizeof(big));
	for (int d = 0; d < NXML; d++) {
		char text[512];
		int tl =
		    snprintf(text, sizeof(text),
			     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<申請書><番号>%d</番号><申請内容>%s</申請内容>"
			     "</申請書>\n",
			     d, "本人確認のための電子署名、転居届");
		int rc =
		    app ? xmlsig_sign_application(parts, 2, e->keys[d % e->k],
						  e->leaves[d % e->k], &docs[d],
						  &lens[d], &err)
			: xmlsig_sign_enveloped((const uint8_t *)text,
						(size_t)tl, e->keys[d % e->k],
						e->leaves[d % e->k], &docs[d],
						&lens[d], &err);
		if (rc != 0)
			die("xmlsig sign", &err);
	}
	double t0 = bench_now(), t;
	do {
		for (int i = 0; i < 16; i++, n++) {
			int d = (int)(n % NXML);
			if (xmlsig_verify(v, docs[d], lens[d], parts,
					  app ? 2 : 0, &o, &r, &err) != 0)
				die("xmlsig_verify", &err);
			if (r.val.fails != 0) {
				fprintf(stderr, "XML document %d refused: %s\n",
					d, r.val.msgs[0].text);
				exit(1);
			}
			xmlsig_result_clear(&r);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	for (int d = 0; d < NXML; d++)
		free(docs[d]);
	val_free(v);
	return (double)n / t;
}

/* A one-page PDF whose content stream holds `pad` bytes of comment
 * lines (a classic xref table). */
static uint8_t *make_pdf(size_t pad, size_t *len)
{
	static const char *const objs[] = {
	    "<< /Type /Catalog /Pages 2 0 R >>",
	    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
	    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
	    "/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
	    NULL, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
	static const char text[] =
	    "BT /F1 18 Tf 72 760 Td (Touki application) Tj ET\n";
	size_t cap = pad + 4096, n = 0, offs[5];
	char *b = malloc(cap);
	if (b == NULL)
		die("malloc", NULL);
	n += (size_t)snprintf(b + n, cap - n, "%%PDF-1.7\n");
	for (int i = 0; i < 5; i++) {
		offs[i] = n;
		if (objs[i] != NULL) {
			n += (size_t)snprintf(b + n, cap - n,
					      "%d 0 obj\n%s\nendobj\n", i + 1,
					      objs[i]);
			continue;
		}
		n += (size_t)snprintf(b + n, cap - n,
				      "%d 0 obj\n<< /Length %zu >>\nstream\n%s",
				      i + 1, sizeof(text) - 1 + pad, text);
		for (size_t k = 0; k < pad; k += 64) {
			size_t l = pad - k < 64 ? pad - k : 64;
			memset(b + n, 'x', l);
			b[n] = '%';
			b[n + l - 1] = '\n';
			n += l;
		}
		n += (size_t)snprintf(b + n, cap - n, "\nendstream\nendobj\n");
	}
	size_t x = n;
	n += (size_t)snprintf(b + n, cap - n,
			      "xref\n0 6\n0000000000 65535 f \n");
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(b + n, cap - n, "%010zu 00000 n \n",
				      offs[i]);
	n += (size_t)snprintf(b + n, cap - n,
			      "trailer\n<< /Size 6 /Root 1 0 R >>\n"
			      "startxref\n%zu\n%%%%EOF\n",
			      x);
	*len = n;
	return (uint8_t *)b;
}

/* in signed as `jpki pdf sign` does (an incremental update, a detached
 * CMS); in is freed. */
static uint8_t *sign_pdf(env *e, uint8_t *in, size_t len, int signer,
			 size_t *out_len)
{
	pdf_sign_opts so = {.now = e->now, .page = 1};
	pdf_prepared pp = {0};
	jpki_err err = {0};
	uint8_t *data = NULL;
	size_t dlen = 0;
	if (pdf_sign_prepare(in, len, &so, &pp, &err) != 0 ||
	    pdf_range_bytes(pp.buf, pp.len, pp.br, &data, &dlen, &err) != 0)
		die("pdf_sign_prepare", &err);
	BIO *bio = BIO_new_mem_buf(data, (int)dlen);
	CMS_ContentInfo *ci =
	    CMS_sign(e->leaves[signer], e->keys[signer], NULL, bio,
		     CMS_BINARY | CMS_DETACHED | CMS_NOSMIMECAP);
	unsigned char *der = NULL;
	int dl = ci ? i2d_CMS_ContentInfo(ci, &der) : -1;
	if (dl <= 0 || pdf_sign_finish(&pp, der, (size_t)dl, &err) != 0)
		die("PDF CMS", &err);
	OPENSSL_free(der);
	CMS_ContentInfo_free(ci);
	BIO_free(bio);
	free(data);
	free(in);
	uint8_t *out = pp.buf;
	*out_len = pp.len;
	pp.buf = NULL;
	pdf_prepared_clear(&pp);
	return out;
}

/* PDF files verified per second as `jpki pdf verify` does it (cached
 * CRL); every signature of every file must be valid. */
#define NPDF 8
static double run_pdf(env *e, size_t pad, int signatures, double seconds,
		      size_t *file_len)
{
	uint8_t *docs[NPDF];
	size_t lens[NPDF];
	jpki_validator *v = validator(e, true);
	val_opts o = {e->now, e->now, VAL_PURPOSE_SIGN};
	jpki_err err = {0};
	long n = 0;
	for (int d = 0; d < NPDF; d++) {
		docs[d] = make_pdf(pad, &lens[d]);
		for (int s = 0; s < signatures; s++)
			docs[d] = sign_pdf(e, docs[d], lens[d], (d + s) % e->k,
					   &lens[d]);
	}
	*file_len = lens[0];
	double t0 = bench_now(), t;
	do {
		for (int i = 0; i < 4; i++, n++) {
			int d = (int)(n % NPDF);
			pdf_report *rep = NULL;
			if (pdf_inspect(docs[d], lens[d], &rep, &err) != 0)
				die("pdf_inspect", &err);
			if (rep->n_sigs != (size_t)signatures)
				die("PDF signatures", NULL);
			for (size_t k = 0; k < rep->n_sigs; k++) {
				pdf_sig *s = &rep->sigs[k];
				uint8_t *data = NULL;
				size_t dlen = 0;
				val_result r;
				if (s->problems.n != 0) {
					fprintf(stderr, "PDF %d refused: %s\n",
						d, s->problems.text[0]);
					exit(1);
				}
				if (pdf_range_bytes(docs[d], lens[d], s->br,
						    &data, &dlen, &err) != 0 ||
				    val_cms(v, s->cms, s->cms_len, data, dlen,
					    &o, &r, &err) != 0)
					die("PDF val_cms", &err);
				if (r.fails != 0) {
					fprintf(stderr, "PDF %d refused: %s\n",
						d, r.msgs[0].text);
					exit(1);
				}
				val_result_clear(&r);
				free(data);
			}
			pdf_report_free(rep);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	for (int d = 0; d < NPDF; d++)
		free(docs[d]);
	val_free(v);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	double seconds = 2;
	env e;
	memset(&e, 0, sizeof(e));
	e.k = 4;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--signers") == 0 && i + 1 < argc)
			e.k = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_verify [--seconds S] "
					"[--signers K]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 5)
		seconds = 2;
	if (e.k < 1 || e.k > MAX_SIGNERS)
		e.k = 4;
	printf("setting up: root, %d signers, %d documents, CRL of %d "
	       "entries ...\n",
	       e.k, NDOCS, CRL_ENTRIES);
	fflush(stdout);
	setup(&e);
	printf("measuring the limit: openssl speed rsa2048 (1 process) ...\n");
	fflush(stdout);
	double ossl_verify = 0;
	double ossl_sign = bench_openssl_rsa2048(1, 2, &ossl_verify);
	val_stats sc, so;
	double crl = run_ours(&e, true, seconds, &sc);
	double ocsp = run_ours(&e, false, seconds, &so);
	double plain = run_cms_verify(&e, seconds);
	double ceiling = ossl_verify / 2;
	double ratio = ceiling > 0 ? crl / ceiling : 0;
	printf("openssl speed rsa2048:        %.0f sign/s, %.0f verify/s\n",
	       ossl_sign, ossl_verify);
	printf("ceiling (verify/s ÷ 2):       %.0f documents/s\n", ceiling);
	printf("val_cms, CRL (cached):        %.0f documents/s (%.2f × "
	       "ceiling; %lu certificate checks, %lu CRL load(s) for %lu "
	       "documents)\n",
	       crl, ratio, sc.certs_checked, sc.crl_loads, sc.documents);
	printf("val_cms, OCSP responses:      %.0f documents/s (%.2f × "
	       "ceiling; %lu certificate checks)\n",
	       ocsp, ceiling > 0 ? ocsp / ceiling : 0, so.certs_checked);
	printf("plain CMS_verify (no revocation): %.0f documents/s (%.2f × "
	       "ceiling)\n",
	       plain, ceiling > 0 ? plain / ceiling : 0);
	printf("target: val_cms ≥ 0.5 × ceiling: %s\n",
	       ratio >= 0.5 ? "met" : "NOT met");
	printf(
	    "{\"bench\":\"verify\",\"signers\":%d,\"docs_per_s_crl\":%.1f,"
	    "\"docs_per_s_ocsp\":%.1f,\"cms_verify_per_s\":%.1f,"
	    "\"openssl_verify_per_s\":%.1f,\"ceiling_docs_per_s\":%.1f,"
	    "\"ratio_crl\":%.3f,\"ratio_ocsp\":%.3f,\"ratio_cms_verify\":%.3f,"
	    "\"cert_checks\":%lu,\"crl_loads\":%lu,\"target\":0.5,"
	    "\"met\":%s}\n",
	    e.k, crl, ocsp, plain, ossl_verify, ceiling, ratio,
	    ceiling > 0 ? ocsp / ceiling : 0, ceiling > 0 ? plain / ceiling : 0,
	    sc.certs_checked, sc.crl_loads, ratio >= 0.5 ? "true" : "false");
	double xml = run_xml(&e, false, seconds);
	double xml_app = run_xml(&e, true, seconds);
	printf("xmlsig_verify, enveloped 3 KB: %.0f documents/s (%.2f × "
	       "ceiling)\n",
	       xml, ceiling > 0 ? xml / ceiling : 0);
	printf("xmlsig_verify, application + 1 MB part: %.0f documents/s "
	       "(%.2f × ceiling)\n",
	       xml_app, ceiling > 0 ? xml_app / ceiling : 0);
	printf("{\"bench\":\"verify_xml\",\"signers\":%d,"
	       "\"docs_per_s_enveloped\":%.1f,\"docs_per_s_application_1mb\":"
	       "%.1f,\"ceiling_docs_per_s\":%.1f,\"ratio_enveloped\":%.3f,"
	       "\"ratio_application_1mb\":%.3f}\n",
	       e.k, xml, xml_app, ceiling, ceiling > 0 ? xml / ceiling : 0,
	       ceiling > 0 ? xml_app / ceiling : 0);
	size_t l_small = 0, l_big = 0, l_co = 0;
	double pdf_small = run_pdf(&e, 2048, 1, seconds, &l_small);
	double pdf_big = run_pdf(&e, 1u << 20, 1, seconds, &l_big);
	double pdf_co = run_pdf(&e, 1u << 20, 2, seconds, &l_co);
	printf("PDF verify, %zu bytes, 1 signature: %.0f files/s (%.2f × "
	       "ceiling, %.2f × val_cms)\n",
	       l_small, pdf_small, ceiling > 0 ? pdf_small / ceiling : 0,
	       crl > 0 ? pdf_small / crl : 0);
	printf("PDF verify, %zu bytes, 1 signature: %.0f files/s (%.2f × "
	       "ceiling, %.2f × val_cms)\n",
	       l_big, pdf_big, ceiling > 0 ? pdf_big / ceiling : 0,
	       crl > 0 ? pdf_big / crl : 0);
	printf("PDF verify, %zu bytes, 2 signatures (co-signed): %.0f "
	       "files/s (%.2f × ceiling, %.2f × val_cms)\n",
	       l_co, pdf_co, ceiling > 0 ? pdf_co / ceiling : 0,
	       crl > 0 ? pdf_co / crl : 0);
	printf("target: 1 MB PDF ≥ 0.3 × ceiling: %s\n",
	       ceiling > 0 && pdf_big / ceiling >= 0.3 ? "met" : "NOT met");
	printf("{\"bench\":\"verify_pdf\",\"signers\":%d,"
	       "\"files_per_s_small\":%.1f,\"bytes_small\":%zu,"
	       "\"files_per_s_1mb\":%.1f,\"bytes_1mb\":%zu,"
	       "\"files_per_s_1mb_cosigned\":%.1f,\"val_cms_per_s\":%.1f,"
	       "\"ceiling_docs_per_s\":%.1f,\"ratio_small\":%.3f,"
	       "\"ratio_1mb\":%.3f,\"ratio_1mb_cosigned\":%.3f,"
	       "\"target\":0.3}\n",
	       e.k, pdf_small, l_small, pdf_big, l_big, pdf_co, crl, ceiling,
	       ceiling > 0 ? pdf_small / ceiling : 0,
	       ceiling > 0 ? pdf_big / ceiling : 0,
	       ceiling > 0 ? pdf_co / ceiling : 0);
	unlink(e.crl_path);
	for (int i = 0; i < e.k; i++) {
		EVP_PKEY_free(e.keys[i]);
		X509_free(e.leaves[i]);
		free(e.ocsp[i]);
	}
	for (int d = 0; d < NDOCS; d++)
		free(e.docs[d]);
	X509_free(e.root);
	EVP_PKEY_free(e.root_key);
	return 0;
}
