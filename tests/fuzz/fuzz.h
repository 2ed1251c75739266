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
 * fuzz_config_new - a new config for one input of a loading target, which
 * frees it before it returns: each call then frees all it allocated, so
 * libFuzzer's leak check (run whenever a call ends with more allocations
 * than frees) stays rare, and what one input loaded cannot affect the
 * next.  Aborts if the config cannot be made.  Defined in fuzz_config.c.
 */
struct mtls_config *fuzz_config_new(void);

/*
 * fuzz_config - a config shared by calls, made anew every 256 calls, for a
 * target whose loads replace what the last call loaded (fuzz_p12): making
 * a config (an SSL_CTX) costs more than most inputs.  Freed at exit.
 */
struct mtls_config *fuzz_config(void);

/* A setter's result rc on cfg: 0, or -1 with an error code and a
 * message; anything else aborts. */
void fuzz_check(struct mtls_config *cfg, int rc);

#endif
