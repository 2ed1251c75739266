/*
 * fuzz.h - the libFuzzer entry point every target in tests/fuzz/ defines,
 * declared once so that -Wmissing-prototypes holds and replay.c can call it.
 */
#ifndef MTLS_FUZZ_H
#define MTLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mtls_config;

/*
 * fuzz_config - a config for the loading targets, made anew every 256
 * calls: making one (an SSL_CTX) costs more than most inputs, and what
 * the inputs load into it (CAs) must not pile up.  Defined in
 * fuzz_config.c; freed at exit.
 */
struct mtls_config *fuzz_config(void);

/* A setter's result rc on cfg: 0, or -1 with an error code and a
 * message; anything else aborts. */
void fuzz_check(struct mtls_config *cfg, int rc);

#endif
