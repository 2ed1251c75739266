/*
 * fuzz_pem.c - libFuzzer target for loading PEM from memory, as a config
 * reads certificates, keys and CA files: the input is a certificate (and
 * the key after it, or after the first NUL byte), read as an identity
 * with and without a passphrase, then the whole input as a CA file.
 * Every call must either succeed or fail with an error code and a
 * message; a failure leaves nothing behind (the sanitizers' leak check).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mtls.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t cert_len = nul != NULL ? (size_t)(nul - data) : size;
	struct mtls_config *cfg = fuzz_config_new();

	if (nul != NULL)
		fuzz_check(cfg, mtls_config_set_cert_mem(cfg, data, cert_len, nul + 1,
		    size - cert_len - 1, NULL));
	else
		fuzz_check(cfg, mtls_config_set_cert_mem(cfg, data, size, NULL, 0,
		    "secret"));
	fuzz_check(cfg, mtls_config_set_ca_mem(cfg, data, cert_len));
	mtls_config_free(cfg);
	return 0;
}
