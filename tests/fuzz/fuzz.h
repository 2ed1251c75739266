/*
 * fuzz.h - the libFuzzer entry point every target in tests/fuzz/ defines,
 * declared once so that -Wmissing-prototypes holds and replay.c can call it.
 */
#ifndef MTLS_FUZZ_H
#define MTLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
