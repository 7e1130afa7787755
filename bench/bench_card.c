/* bench_card: what the virtual card costs on top of RSA.
 *
 *   1. signatures per second through card_apdu (SELECT key EF and VERIFY
 *      once, then 80 2A 00 80 over and over), in memory;
 *   2. the raw EVP_PKEY_sign rate with the same key in the same run;
 *   3. `openssl speed -seconds 3 rsa2048` (the physical limit of these
 *      cores), parsed from its "sign/s" column;
 *   4. the engine's own overhead per SELECT and per READ BINARY.
 *
 * Prints human lines and a final JSON line.  Bounded: about 12 s. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "card/card_priv.h"
#include "openjpki/card.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void apdu(jpki_card *card, const uint8_t *cmd, size_t n, uint8_t *resp,
		 size_t cap, size_t *rlen, unsigned want_sw)
{
	if (card_apdu(card, cmd, n, resp, cap, rlen) != 0 ||
	    ((unsigned)resp[*rlen - 2] << 8 | resp[*rlen - 1]) != want_sw) {
		fprintf(stderr, "bench_card: unexpected answer\n");
		exit(1);
	}
}

#define SLICE 0.25 /* seconds per measuring slice */

/* Signatures through the card for one slice; adds the time to *t. */
static long card_slice(jpki_card *card, const uint8_t *cmd, size_t n,
		       uint8_t *resp, double *t)
{
	double t0 = now(), dt;
	size_t rlen;
	long count = 0;
	do {
		apdu(card, cmd, n, resp, JPKI_CARD_RESP_MAX, &rlen, 0x9000);
		count++;
	} while ((dt = now() - t0) < SLICE);
	*t += dt;
	return count;
}

/* Raw EVP_PKEY_sign over the same DigestInfo for one slice. */
static long raw_slice(EVP_PKEY_CTX *ctx, const uint8_t *di, uint8_t *out,
		      double *t)
{
	double t0 = now(), dt;
	long count = 0;
	do {
		size_t sl = JPKI_CARD_RESP_MAX;
		if (EVP_PKEY_sign(ctx, out, &sl, di,
				  JPKI_DIGESTINFO_SHA256_LEN) <= 0) {
			fprintf(stderr, "bench_card: EVP_PKEY_sign failed\n");
			exit(1);
		}
		count++;
	} while ((dt = now() - t0) < SLICE);
	*t += dt;
	return count;
}

/* `openssl speed` RSA-2048 sign/s, or 0 when unavailable. */
static double openssl_speed(void)
{
	FILE *p = popen("openssl speed -seconds 3 rsa2048 2>/dev/null", "r");
	char line[512];
	double rate = 0;
	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		/* "rsa 2048 bits 0.000630s 0.000018s   1587.3  55000.1" */
		double s, v, sps, vps;
		if (strncmp(line, "rsa 2048 bits", 13) == 0 &&
		    sscanf(line + 13, "%lfs %lfs %lf %lf", &s, &v, &sps,
			   &vps) == 4)
			rate = sps;
	}
	pclose(p);
	return rate;
}

int main(void)
{
	static uint8_t resp[JPKI_CARD_RESP_MAX];
	static const uint8_t sel_ap[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A,
					 0xD3, 0x92, 0xF0, 0x00, 0x26,
					 0x01, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t sel_pin[] = {0x00, 0xA4, 0x02, 0x0C,
					  0x02, 0x00, 0x18};
	static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x04,
					 0x31, 0x32, 0x33, 0x34};
	static const uint8_t sel_key[] = {0x00, 0xA4, 0x02, 0x0C,
					  0x02, 0x00, 0x17};
	static const uint8_t sel_tok[] = {0x00, 0xA4, 0x02, 0x0C,
					  0x02, 0x00, 0x06};
	static const uint8_t read20[] = {0x00, 0xB0, 0x00, 0x00, 0x20};
	uint8_t sign[5 + JPKI_DIGESTINFO_SHA256_LEN + 1], hash[32];
	jpki_card *card = NULL;
	jpki_err err = {0};
	EVP_PKEY *key;
	size_t rlen;
	double t0;
	long i, n_card = 0, n_raw = 0;

	/* an in-memory card with an auth key and PIN: no file, no fsync */
	if (card_create(NULL, &card, NULL, &err) != 0) {
		fprintf(stderr, "bench_card: %s\n", err.msg);
		return 1;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (key == NULL || card_key_set(&card->key_auth, key, &err) != 0)
		return 1;
	memcpy(card->pin_auth.value, "1234", 4);
	card->pin_auth.len = 4;
	memset(hash, 0xAB, sizeof(hash));
	sign[0] = 0x80;
	sign[1] = 0x2A;
	sign[2] = 0x00;
	sign[3] = 0x80;
	sign[4] = JPKI_DIGESTINFO_SHA256_LEN;
	card_digestinfo_sha256(hash, sign + 5);
	sign[sizeof(sign) - 1] = 0x00;

	apdu(card, sel_ap, sizeof(sel_ap), resp, sizeof(resp), &rlen, 0x9000);
	apdu(card, sel_pin, sizeof(sel_pin), resp, sizeof(resp), &rlen, 0x9000);
	apdu(card, verify, sizeof(verify), resp, sizeof(resp), &rlen, 0x9000);
	apdu(card, sel_key, sizeof(sel_key), resp, sizeof(resp), &rlen, 0x9000);

	/* 1. and 2., interleaved in rounds (alternating which goes first) so
	 * that load from other processes hits both alike: through the card,
	 * and raw EVP_PKEY_sign with the same key and input; 6 s in all */
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	double t_card = 0, t_raw = 0;
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
		return 1;
	for (int round = 0; round < 12; round++) {
		if (round & 1) {
			n_raw += raw_slice(ctx, sign + 5, resp, &t_raw);
			n_card +=
			    card_slice(card, sign, sizeof(sign), resp, &t_card);
		} else {
			n_card +=
			    card_slice(card, sign, sizeof(sign), resp, &t_card);
			n_raw += raw_slice(ctx, sign + 5, resp, &t_raw);
		}
	}
	double card_rate = (double)n_card / t_card;
	double raw_rate = (double)n_raw / t_raw;
	EVP_PKEY_CTX_free(ctx);

	/* 4. engine overhead: SELECT EF and READ BINARY 32 bytes */
	const long reps = 200000;
	t0 = now();
	for (i = 0; i < reps; i++)
		apdu(card, sel_tok, sizeof(sel_tok), resp, sizeof(resp), &rlen,
		     0x9000);
	double sel_ns = (now() - t0) / (double)reps * 1e9;
	t0 = now();
	for (i = 0; i < reps; i++)
		apdu(card, read20, sizeof(read20), resp, sizeof(resp), &rlen,
		     0x9000);
	double read_ns = (now() - t0) / (double)reps * 1e9;

	/* 3. the physical limit */
	double ossl_rate = openssl_speed();

	printf("card 80 2A sign (in-process): %9.1f sign/s (%ld in %.1f s)\n",
	       card_rate, n_card, t_card);
	printf("raw EVP_PKEY_sign RSA-2048:   %9.1f sign/s\n", raw_rate);
	if (ossl_rate > 0)
		printf("openssl speed rsa2048:        %9.1f sign/s\n",
		       ossl_rate);
	else
		printf("openssl speed rsa2048:        unavailable\n");
	printf("card / raw EVP:               %9.3f\n", card_rate / raw_rate);
	if (ossl_rate > 0)
		printf("card / openssl speed:         %9.3f (target >= 0.9)\n",
		       card_rate / ossl_rate);
	printf("SELECT EF:                    %9.0f ns/APDU\n", sel_ns);
	printf("READ BINARY 32 B:             %9.0f ns/APDU\n", read_ns);
	printf("{\"bench\":\"card\",\"card_sign_per_s\":%.1f,"
	       "\"raw_sign_per_s\":%.1f,\"openssl_speed_sign_per_s\":%.1f,"
	       "\"ratio_raw\":%.3f,\"ratio_openssl\":%.3f,"
	       "\"select_ns\":%.0f,\"read_binary_ns\":%.0f}\n",
	       card_rate, raw_rate, ossl_rate, card_rate / raw_rate,
	       ossl_rate > 0 ? card_rate / ossl_rate : 0.0, sel_ns, read_ns);
	card_free(card);
	return 0;
}
