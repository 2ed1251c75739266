/*
 * fuzz_config.c - the configs the loading targets (fuzz_pem, fuzz_p12)
 * load their inputs into, and the check of what a setter returned: see
 * fuzz.h.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "mtls.h"

#define CONFIG_USES 256

static struct mtls_config *shared;

void
fuzz_check(struct mtls_config *c, int rc)
{
	if (rc != 0 && (rc != -1 || mtls_config_error(c) == NULL ||
	    mtls_config_error_code(c) == MTLS_OK))
		abort();
}

struct mtls_config *
fuzz_config_new(void)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL)
		abort();
	return cfg;
}

static void
free_shared(void)
{
	mtls_config_free(shared);
	shared = NULL;
}

struct mtls_config *
fuzz_config(void)
{
	static unsigned uses;
	static int registered;

	if (!registered)
		registered = atexit(free_shared) == 0;
	if (shared == NULL || ++uses % CONFIG_USES == 0) {
		free_shared();
		shared = fuzz_config_new();
	}
	return shared;
}
