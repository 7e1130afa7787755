/* The card image: round trip, atomic persistence, refusal of foreign,
 * truncated, corrupt and inconsistent images (leaving the file alone),
 * the file lock, the in-process transport, and "pull the plug": a
 * decremented retry counter is on disk before the PIN is compared. */
#include "test_card_common.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "openjpki/transport.h"

static tc_fixture *fx;
static char dir[256];

#define SEL_JPKI "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"

static int setup(void **state)
{
	(void)state;
	fx = tc_issue(0, NULL, 0);
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-card-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static void rm_rf(const char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", d);
}

static int teardown(void **state)
{
	(void)state;
	tc_fixture_free(fx);
	rm_rf(dir);
	return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	jpki_err err = {0};
	unlink(path);
	assert_int_equal(jpki_file_write_atomic(path, p, n, 0600, &err), 0);
}

static uint8_t *read_file(const char *path, size_t *n)
{
	uint8_t *p = NULL;
	jpki_err err = {0};
	assert_int_equal(jpki_file_read(path, 1 << 20, &p, n, &err), 0);
	return p;
}

static void rehash(uint8_t *img, size_t n)
{
	SHA256(img, n - 32, img + n - 32);
}

/* load_mem must refuse img with code; load from a file too, leaving the
 * file byte-identical. */
static void refused(const uint8_t *img, size_t n, int code, const char *msg)
{
	jpki_card *card = NULL;
	jpki_err err = {0};
	char path[512];
	int rc = card_load_mem(img, n, &card, &err);
	if (rc != code)
		fail_msg("%s: load gave %d (%s), expected %d", msg, rc, err.msg,
			 code);
	assert_null(card);
	path_of(path, sizeof(path), "bad.img");
	write_file(path, img, n);
	assert_int_equal(card_load(path, &card, &err), code);
	assert_null(card);
	size_t m;
	uint8_t *after = read_file(path, &m);
	assert_int_equal(m, n);
	if (n > 0)
		assert_memory_equal(after, img, n);
	free(after);
}

static void test_round_trip(void **state)
{
	(void)state;
	jpki_card *card = NULL;
	jpki_err err = {0};
	uint8_t *img = NULL;
	size_t n = 0;
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_image(card, &img, &n, &err), 0);
	assert_int_equal(n, fx->image_len);
	assert_memory_equal(img, fx->image, n);
	assert_memory_equal(img, "JPKICARD\x00\x01", 10);
	jpki_free_secret(img, n);
	card_free(card);
}

static void test_foreign_truncated_corrupt(void **state)
{
	(void)state;
	size_t n = fx->image_len;
	uint8_t *img = malloc(n + 1);
	assert_non_null(img);

	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	refused((const uint8_t *)pem, sizeof(pem) - 1, JPKI_ERR_PARSE,
		"foreign");
	refused((const uint8_t *)"", 0, JPKI_ERR_PARSE, "empty");
	/* every truncation */
	static const size_t cuts[] = {1, 7, 8, 9, 13, 14, 20, 45, 46, 100};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		refused(fx->image, cuts[i], JPKI_ERR_PARSE, "truncated");
	refused(fx->image, n - 1, JPKI_ERR_PARSE, "truncated by one");
	refused(fx->image, n - 32, JPKI_ERR_PARSE, "no digest");
	/* trailing data */
	memcpy(img, fx->image, n);
	img[n] = 0;
	refused(img, n + 1, JPKI_ERR_PARSE, "trailing byte");
	/* a flipped bit anywhere in the body or the digest */
	static const size_t flips[] = {20, 100, 500, 1000};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(img, fx->image, n);
		img[flips[i] % n] ^= 0x01;
		refused(img, n, JPKI_ERR_INTEGRITY, "bit flip");
	}
	memcpy(img, fx->image, n);
	img[n - 1] ^= 0x80;
	refused(img, n, JPKI_ERR_INTEGRITY, "digest flip");
	/* wrong magic, newer version */
	memcpy(img, fx->image, n);
	img[7] = 'X';
	refused(img, n, JPKI_ERR_PARSE, "magic");
	memcpy(img, fx->image, n);
	img[9] = 2;
	rehash(img, n);
	refused(img, n, JPKI_ERR_SCHEMA, "version 2");
	free(img);
}

/* Images with a valid digest whose content the card would never write. */
static void test_inconsistent(void **state)
{
	(void)state;
	size_t n = fx->image_len;
	uint8_t *img = malloc(n);
	assert_non_null(img);
	/* first record: tag 0001 (serial) at offset 14 */
	memcpy(img, fx->image, n);
	assert_int_equal(img[14], 0x00);
	assert_int_equal(img[15], 0x01);
	img[15] = 0x09; /* unknown tag 0009 */
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "unknown tag");
	memcpy(img, fx->image, n);
	img[15] = 0x02; /* the options tag with a serial's length */
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "record length for its tag");
	/* records swapped: options (0002) before serial (0001) */
	memcpy(img, fx->image, n);
	assert_int_equal(img[19], 16);	       /* serial record: 6 + 16 */
	assert_int_equal(img[14 + 22 + 1], 2); /* then options: 6 + 4 */
	memcpy(img + 14, fx->image + 36, 10);
	memcpy(img + 24, fx->image + 14, 22);
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "out of order");
	/* serial with a control character */
	memcpy(img, fx->image, n);
	img[20] = 0x01;
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "serial");
	/* a record length running past the body */
	memcpy(img, fx->image, n);
	img[16] = 0x7F;
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "record length");
	/* body length field disagreeing with the file */
	memcpy(img, fx->image, n);
	img[13] ^= 0x01;
	rehash(img, n);
	refused(img, n, JPKI_ERR_PARSE, "body length");

	/* a PIN record with more tries left than allowed, a bad PIN value:
	 * built from a card, then edited */
	jpki_card *card = NULL;
	jpki_err err = {0};
	uint8_t *out = NULL;
	size_t on = 0;
	assert_int_equal(card_load_mem(fx->image, n, &card, &err), 0);
	card->pin_auth.left = 4;
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	refused(out, on, JPKI_ERR_PARSE, "tries above max");
	jpki_free_secret(out, on);
	card->pin_auth.left = 3;
	memcpy(card->pin_auth.value, "12a4", 4);
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	refused(out, on, JPKI_ERR_PARSE, "bad stored PIN");
	jpki_free_secret(out, on);
	memcpy(card->pin_auth.value, "1234", 4);
	card->tauth_left = 16;
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	refused(out, on, JPKI_ERR_PARSE, "terminal tries");
	jpki_free_secret(out, on);
	card->tauth_left = 15;
	/* a certificate that is not for the card's key */
	card_blob keep = card->cert_auth;
	card->cert_auth = card->cert_sign;
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	refused(out, on, JPKI_ERR_PARSE, "foreign certificate");
	jpki_free_secret(out, on);
	/* a certificate without its key */
	card->cert_auth = keep;
	card_key k = card->key_auth;
	card->key_auth.pkey = NULL;
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	refused(out, on, JPKI_ERR_PARSE, "certificate without key");
	jpki_free_secret(out, on);
	card->key_auth = k;
	/* and back: fine */
	assert_int_equal(card_image(card, &out, &on, &err), 0);
	assert_memory_equal(out, fx->image, on);
	jpki_free_secret(out, on);
	card_free(card);
	free(img);
}

static void test_save_load_lock(void **state)
{
	(void)state;
	char path[512];
	jpki_card *card = NULL, *other = NULL;
	jpki_err err = {0};
	struct stat st;

	path_of(path, sizeof(path), "card.img");
	unlink(path);
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_save(card, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* bound already; and an existing file is never overwritten */
	assert_int_equal(card_save(card, path, &err), JPKI_ERR_STATE);
	assert_int_equal(card_load(path, &other, &err), JPKI_ERR_STATE);
	assert_null(other);
	card_free(card);
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_save(card, path, &err), JPKI_ERR_EXISTS);
	card_free(card);
	/* the lock goes with the card */
	assert_int_equal(card_load(path, &card, &err), 0);
	card_free(card);
	assert_int_equal(card_load(path, &card, &err), 0);
	/* every persistent change reaches the file */
	assert_int_equal(
	    card_set_options(card, JPKI_CARD_OPT_ISO_EMPTY_VERIFY, &err), 0);
	card_free(card);
	assert_int_equal(card_load(path, &card, &err), 0);
	assert_int_equal(card_options(card), JPKI_CARD_OPT_ISO_EMPTY_VERIFY);
	card_free(card);
	path_of(path, sizeof(path), "missing.img");
	assert_int_equal(card_load(path, &card, &err), JPKI_ERR_NOT_FOUND);
	assert_int_equal(card_load(NULL, &card, &err), JPKI_ERR_INVAL);
}

/* An image has one name: a symbolic link or a second hard link to it is
 * refused (a write through it would fork the image and its PIN counters),
 * and so is a lock file that is a link; a temporary copy left by a killed
 * write (path.tmp-<12 hex>, keys inside) is removed when the image is
 * next opened, and nothing else of that shape is touched. */
static void test_one_name_no_leftovers(void **state)
{
	(void)state;
	char path[512], alias[512], tmp[600], other[600];
	jpki_card *card = NULL;
	jpki_err err = {0};
	path_of(path, sizeof(path), "own.img");
	path_of(alias, sizeof(alias), "alias.img");
	unlink(path);
	unlink(alias);
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_save(card, path, &err), 0);
	card_free(card);
	card = NULL;
	assert_int_equal(symlink(path, alias), 0);
	assert_int_equal(card_load(alias, &card, &err), JPKI_ERR_INVAL);
	assert_null(card);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* saving onto a dangling or live link is refused too */
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_save(card, alias, &err), JPKI_ERR_EXISTS);
	card_free(card);
	card = NULL;
	unlink(alias);
	assert_int_equal(link(path, alias), 0);
	assert_int_equal(card_load(alias, &card, &err), JPKI_ERR_INVAL);
	assert_non_null(strstr(err.msg, "hard-linked"));
	unlink(alias);
	/* a stale temporary copy goes; a look-alike with another suffix stays
	 */
	snprintf(tmp, sizeof(tmp), "%s.tmp-0123456789AB", path);
	snprintf(other, sizeof(other), "%s.tmp-keep", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("secret", f);
	fclose(f);
	f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(card_load(path, &card, &err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0);
	card_free(card);
	card = NULL;
	unlink(other);
	/* a lock file that is a link is not followed */
	char lockp[600], target[600];
	snprintf(lockp, sizeof(lockp), "%s.lock", path);
	path_of(target, sizeof(target), "elsewhere");
	unlink(lockp);
	assert_int_equal(symlink(target, lockp), 0);
	assert_int_not_equal(card_load(path, &card, &err), 0);
	assert_null(card);
	assert_int_equal(access(target, F_OK), -1);
	unlink(lockp);
}

static void save_fixture(const char *path)
{
	jpki_card *card = NULL;
	jpki_err err = {0};
	unlink(path);
	assert_int_equal(card_load_mem(fx->image, fx->image_len, &card, &err),
			 0);
	assert_int_equal(card_save(card, path, &err), 0);
	card_free(card);
}

static void test_inproc_persists(void **state)
{
	(void)state;
	char path[512];
	jpki_inproc *t = NULL;
	jpki_err err = {0};
	int left = -1;

	path_of(path, sizeof(path), "inproc.img");
	save_fixture(path);
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	jpki_link l = transport_inproc_link(t);
	assert_non_null(transport_inproc_card(t));
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, "0000", &left, &err),
	    JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 2);
	/* another process sees the card in use */
	jpki_inproc *t2 = NULL;
	assert_int_equal(transport_inproc_open(path, &t2, &err),
			 JPKI_ERR_STATE);
	transport_inproc_power(t, JPKI_CARD_RESET);
	transport_inproc_close(t);
	/* reload: the counter stayed decremented */
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	l = transport_inproc_link(t);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(card_client_retries(&l, JPKI_CPIN_AUTH, &left, &err),
			 0);
	assert_int_equal(left, 2);
	assert_int_equal(
	    card_client_verify(&l, JPKI_CPIN_AUTH, TC_AUTH_PIN, &left, &err),
	    0);
	assert_int_equal(left, 3);
	transport_inproc_close(t);
	assert_int_equal(transport_inproc_open(path, &t, &err), 0);
	l = transport_inproc_link(t);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(card_client_retries(&l, JPKI_CPIN_AUTH, &left, &err),
			 0);
	assert_int_equal(left, 3);
	transport_inproc_close(t);
	transport_inproc_close(NULL);
	path_of(path, sizeof(path), "none.img");
	assert_int_equal(transport_inproc_open(path, &t, &err),
			 JPKI_ERR_NOT_FOUND);
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A long-running card (the vpcd bridge) persists thousands of times: no
 * descriptor may leak per write. */
static void test_persist_no_fd_leak(void **state)
{
	(void)state;
	char path[512];
	jpki_card *card = NULL;
	jpki_err err = {0};
	path_of(path, sizeof(path), "fds.img");
	save_fixture(path);
	assert_int_equal(card_load(path, &card, &err), 0);
	card_power(card, JPKI_CARD_POWER_ON);
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, "00 A4 02 0C 02 00 18", "90 00");
	int before = count_fds();
	for (int i = 0; i < 20; i++)
		tc_expect(card, "00 20 00 80 04 31 32 33 34", "90 00");
	assert_int_equal(count_fds(), before);
	card_free(card);
}

static void die_after_persist(void *ctx)
{
	(void)ctx;
	raise(SIGKILL); /* the plug */
}

/* Child: load the card, select the PIN, arm the hook, send VERIFY. */
static void crash_child(const char *path, const char *verify_hex)
{
	jpki_card *card = NULL;
	jpki_err err = {0};
	uint8_t cmd[64], resp[64];
	size_t rlen;
	static const uint8_t sel_ap[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A,
					 0xD3, 0x92, 0xF0, 0x00, 0x26,
					 0x01, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t sel_pin[] = {0x00, 0xA4, 0x02, 0x0C,
					  0x02, 0x00, 0x18};
	if (card_load(path, &card, &err) != 0)
		_exit(2);
	if (card_apdu(card, sel_ap, sizeof(sel_ap), resp, sizeof(resp),
		      &rlen) != 0 ||
	    card_apdu(card, sel_pin, sizeof(sel_pin), resp, sizeof(resp),
		      &rlen) != 0)
		_exit(3);
	card_hooks h = {0};
	h.after_persist = die_after_persist;
	card_test_set_hooks(card, &h);
	size_t n = tc_unhex(verify_hex, cmd, sizeof(cmd));
	/* the hook kills this process inside the call: whatever it would
	 * return, reaching _exit(4) fails the test */
	jpki_ignore(card_apdu(card, cmd, n, resp, sizeof(resp), &rlen));
	_exit(4); /* not reached: the hook killed us */
}

static int retries_on_disk(const char *path)
{
	jpki_card *card = NULL;
	jpki_err err = {0};
	int left = -1;
	assert_int_equal(card_load(path, &card, &err), 0);
	card_power(card, JPKI_CARD_POWER_ON);
	jpki_link l = tc_link(card);
	assert_int_equal(card_client_select(&l, JPKI_AP_JPKI, &err), 0);
	assert_int_equal(card_client_retries(&l, JPKI_CPIN_AUTH, &left, &err),
			 0);
	card_free(card);
	return left;
}

static void test_pull_the_plug(void **state)
{
	static const char *verifies[] = {
	    "00 20 00 80 04 30 30 30 30", /* wrong */
	    "00 20 00 80 04 31 32 33 34", /* right: still paid first */
	};
	(void)state;
	char path[512];
	path_of(path, sizeof(path), "plug.img");
	for (size_t i = 0; i < 2; i++) {
		save_fixture(path);
		assert_int_equal(retries_on_disk(path), 3);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			crash_child(path, verifies[i]);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
		/* the decrement is on disk although the process died before
		 * it could answer (or restore the counter) */
		assert_int_equal(retries_on_disk(path), 2);
	}
}

static int fail_writes;

static int failing_write(void *ctx, const uint8_t *img, size_t len,
			 jpki_err *err)
{
	(void)ctx;
	(void)img;
	(void)len;
	if (fail_writes)
		return jpki_fail(err, JPKI_ERR_IO, "disk full");
	return 0;
}

/* The image cannot be written: 65 81, nothing compared, old state kept. */
static void test_persist_failure(void **state)
{
	(void)state;
	jpki_card *card = tc_card(fx);
	card_hooks h = {0};
	h.write = failing_write;
	card_test_set_hooks(card, &h);
	fail_writes = 1;
	tc_expect(card, SEL_JPKI, "90 00");
	tc_expect(card, "00 A4 02 0C 02 00 18", "90 00");
	tc_expect(card, "00 20 00 80 04 31 32 33 34", "65 81");
	tc_expect(card, "00 A4 02 0C 02 00 17", "90 00");
	tc_expect(card, "80 2A 00 80 01 00 00", "69 82");
	/* personalisation rolls back */
	jpki_link l = tc_link(card);
	jpki_err err = {0};
	fail_writes = 0;
	assert_int_equal(card_term_auth(&l, fx->tkey, &err), 0);
	fail_writes = 1;
	assert_int_equal(card_term_set_pin(&l, JPKI_CPIN_AUTH, "9999", &err),
			 JPKI_ERR_CARD);
	assert_int_equal(card_term_write_presence(&l, false, false, &err),
			 JPKI_ERR_CARD);
	assert_int_equal(
	    card_term_write_cert(&l, JPKI_CCERT_SIGN, NULL, 0, &err),
	    JPKI_ERR_CARD);
	EVP_PKEY *pk = NULL;
	assert_int_equal(card_term_generate_key(&l, JPKI_KEY_AUTH, &pk, &err),
			 JPKI_ERR_CARD);
	assert_int_equal(card_set_options(card, 1, &err), JPKI_ERR_IO);
	assert_int_equal(card_options(card), 0);
	fail_writes = 0;
	/* everything as before (the decremented counter stays decremented) */
	assert_int_equal(card->pin_auth.left, 2);
	tc_expect(card, "00 A4 02 0C 02 00 18", "90 00");
	tc_expect(card, "00 20 00 80 04 31 32 33 34", "90 00");
	tc_expect(card, "00 A4 02 0C 02 00 08", "90 00");
	tc_expect(card, "00 B0 00 00 03", "8F 8F 00 90 00");
	assert_non_null(card->cert_sign.p);
	assert_non_null(card->cert_auth.p);
	assert_int_equal(EVP_PKEY_eq(card->key_auth.pkey, fx->auth_pub), 1);
	card_free(card);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_foreign_truncated_corrupt),
	    cmocka_unit_test(test_inconsistent),
	    cmocka_unit_test(test_save_load_lock),
	    cmocka_unit_test(test_inproc_persists),
	    cmocka_unit_test(test_persist_no_fd_leak),
	    cmocka_unit_test(test_pull_the_plug),
	    cmocka_unit_test(test_persist_failure),
	    cmocka_unit_test(test_one_name_no_leftovers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
