/* The loadable module: OpenSSL finds OSSL_provider_init in openjpki.so
 * (OPENSSL_MODULES, or the modules directory under the prefix). */
#include <openssl/core.h>

#include "openjpki/provider.h"

__attribute__((visibility("default"))) OSSL_provider_init_fn OSSL_provider_init;

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	return jpki_provider_init(handle, in, out, provctx);
}
