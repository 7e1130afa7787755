/* Names of the two JPKI certificates (J-LIS procedure pages; jpki-domain.md
 * §1.2, §1.3). */
#include "openjpki/rules.h"

const char *jpki_cert_kind_name(jpki_cert_kind k)
{
	switch (k) {
	case JPKI_CERT_SIGN: return "sign";
	case JPKI_CERT_AUTH: return "auth";
	}
	return "unknown";
}
