/*
 * fuzz_p12.c - libFuzzer target for loading PKCS#12 from memory: the
 * input is a PKCS#12 file, opened with an empty password and with one.
 * Every call must succeed or fail with an error code and a message.
 * Real files derive their keys with thousands of PBKDF2 or PKCS#12-KDF
 * iterations, which bounds how fast this target runs on inputs close to
 * real ones; garbage fails in the DER decoder.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "mtls.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls_config *cfg = fuzz_config();

	fuzz_check(cfg, mtls_config_set_p12_mem(cfg, data, size, NULL));
	fuzz_check(cfg, mtls_config_set_p12_mem(cfg, data, size, "p12pass"));
	return 0;
}
