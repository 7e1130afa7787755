/* p11_extract MODULE TOKEN MIN_KEYS: try to get every private key out of
 * a PKCS#11 token, the way an attacker holding the PIN would, and fail
 * (exit 1) if any attempt works.  The user PIN is read from
 * $JPKI_PKCS11_PIN.  For each private key:
 *   - CKA_SENSITIVE true, CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE and
 *     CKA_ALWAYS_SENSITIVE true;
 *   - C_GetAttributeValue of CKA_PRIVATE_EXPONENT, CKA_PRIME_1/2,
 *     CKA_EXPONENT_1/2, CKA_COEFFICIENT: CKR_ATTRIBUTE_SENSITIVE; of
 *     CKA_VALUE: refused too;
 *   - C_WrapKey under a fresh AES key: CKR_KEY_UNEXTRACTABLE;
 *   - C_SetAttributeValue(CKA_EXTRACTABLE = true): refused.
 * A control wraps an extractable AES session key with the same wrapping
 * key, so a broken wrap mechanism cannot pass for a refusal.  One line per
 * check on stdout. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int fails;

static void check(int good, const char *what, const char *label, CK_RV rv)
{
	printf("%s - %s %s (rv 0x%lx)\n", good ? "ok" : "not ok", what, label,
	       (unsigned long)rv);
	if (!good)
		fails++;
}

int main(int argc, char **argv)
{
	CK_C_GetFunctionList getf;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_SLOT_ID slots[16];
	CK_ULONG ns = 16, n = 0;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	const char *pin = getenv("JPKI_PKCS11_PIN");
	if (argc != 4 || pin == NULL) {
		fprintf(stderr, "usage: JPKI_PKCS11_PIN=... p11_extract MODULE "
				"TOKEN MIN_KEYS\n");
		return 2;
	}
	void *dl = dlopen(argv[1], RTLD_NOW);
	if (dl == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)(&getf) = dlsym(dl, "C_GetFunctionList");
	if (getf == NULL || getf(&f) != CKR_OK ||
	    f->C_Initialize(NULL) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK) {
		fprintf(stderr, "cannot initialise %s\n", argv[1]);
		return 2;
	}
	char want[32];
	size_t ll = strlen(argv[2]);
	memset(want, ' ', sizeof(want));
	memcpy(want, argv[2], ll > 32 ? 32 : ll);
	CK_SLOT_ID slot = (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; i < ns; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, want, 32) == 0)
			slot = slots[i];
	}
	if (slot == (CK_SLOT_ID)-1 ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
			     NULL, &s) != CKR_OK ||
	    f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)) !=
		CKR_OK) {
		fprintf(stderr, "cannot log in to token %s\n", argv[2]);
		return 2;
	}

	/* a wrapping key, and an extractable key as the control */
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG aes_len = 32;
	CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ATTRIBUTE wt[] = {{CKA_TOKEN, &no, sizeof(no)},
			     {CKA_WRAP, &yes, sizeof(yes)},
			     {CKA_VALUE_LEN, &aes_len, sizeof(aes_len)}};
	CK_ATTRIBUTE ct[] = {{CKA_TOKEN, &no, sizeof(no)},
			     {CKA_EXTRACTABLE, &yes, sizeof(yes)},
			     {CKA_SENSITIVE, &no, sizeof(no)},
			     {CKA_VALUE_LEN, &aes_len, sizeof(aes_len)}};
	CK_OBJECT_HANDLE wrap_key, control;
	rv = f->C_GenerateKey(s, &gen, wt, 3, &wrap_key);
	check(rv == CKR_OK, "generate AES wrapping key", "", rv);
	rv = f->C_GenerateKey(s, &gen, ct, 4, &control);
	check(rv == CKR_OK, "generate extractable control key", "", rv);
	CK_MECHANISM wm = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	unsigned char wrapped[4096];
	CK_ULONG wl = sizeof(wrapped);
	rv = f->C_WrapKey(s, &wm, wrap_key, control, wrapped, &wl);
	check(rv == CKR_OK, "control: an extractable key wraps", "", rv);

	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE ft[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE keys[64];
	if (f->C_FindObjectsInit(s, ft, 1) != CKR_OK ||
	    f->C_FindObjects(s, keys, 64, &n) != CKR_OK ||
	    f->C_FindObjectsFinal(s) != CKR_OK) {
		fprintf(stderr, "cannot list the private keys\n");
		return 2;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		char label[65] = {0};
		CK_BBOOL sens = 0, extr = 1, never = 0, always = 0;
		CK_ATTRIBUTE a[] = {{CKA_LABEL, label, sizeof(label) - 1},
				    {CKA_SENSITIVE, &sens, 1},
				    {CKA_EXTRACTABLE, &extr, 1},
				    {CKA_NEVER_EXTRACTABLE, &never, 1},
				    {CKA_ALWAYS_SENSITIVE, &always, 1}};
		rv = f->C_GetAttributeValue(s, keys[i], a, 5);
		label[a[0].ulValueLen < 64 ? a[0].ulValueLen : 64] = '\0';
		check(rv == CKR_OK && sens && !extr && never && always,
		      "sensitive, never extractable:", label, rv);
		static const CK_ATTRIBUTE_TYPE secret[] = {
		    CKA_PRIVATE_EXPONENT, CKA_PRIME_1,	  CKA_PRIME_2,
		    CKA_EXPONENT_1,	  CKA_EXPONENT_2, CKA_COEFFICIENT};
		for (size_t j = 0; j < sizeof(secret) / sizeof(secret[0]);
		     j++) {
			unsigned char buf[1024];
			CK_ATTRIBUTE g = {secret[j], buf, sizeof(buf)};
			rv = f->C_GetAttributeValue(s, keys[i], &g, 1);
			char what[64];
			snprintf(what, sizeof(what),
				 "C_GetAttributeValue(0x%lx) refused:",
				 (unsigned long)secret[j]);
			check(rv == CKR_ATTRIBUTE_SENSITIVE &&
				  g.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			      what, label, rv);
		}
		unsigned char buf[1024];
		CK_ATTRIBUTE v = {CKA_VALUE, buf, sizeof(buf)};
		rv = f->C_GetAttributeValue(s, keys[i], &v, 1);
		check((rv == CKR_ATTRIBUTE_SENSITIVE ||
		       rv == CKR_ATTRIBUTE_TYPE_INVALID) &&
			  v.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "C_GetAttributeValue(CKA_VALUE) refused:", label, rv);
		wl = sizeof(wrapped);
		rv = f->C_WrapKey(s, &wm, wrap_key, keys[i], wrapped, &wl);
		check(rv == CKR_KEY_UNEXTRACTABLE, "C_WrapKey refused:", label,
		      rv);
		CK_ATTRIBUTE se = {CKA_EXTRACTABLE, &yes, 1};
		rv = f->C_SetAttributeValue(s, keys[i], &se, 1);
		check(rv != CKR_OK, "CKA_EXTRACTABLE cannot be set:", label,
		      rv);
	}
	long min = strtol(argv[3], NULL, 10);
	check((long)n >= min, "private keys checked:", argv[3], (CK_RV)n);
	f->C_Logout(s);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	printf("%d failed\n", fails);
	return fails == 0 ? 0 : 1;
}
