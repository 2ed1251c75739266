/*
 * fuzz_chunked.c - libFuzzer target for the chunked decoder, differential:
 * the input decoded in one call with a roomy output buffer must give the
 * same result, the same body and the same bytes consumed as the input fed
 * in pieces (the first byte chooses the piece size, 1 to 8) into a small
 * output buffer (the second byte chooses its size, 1 to 16).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

#define MAX_BODY 4096

struct run {
	int rc;
	size_t consumed;
	size_t body_len;
	char body[MAX_BODY];
};

/* Decodes in, step bytes of input and cap bytes of output at a time. */
static void
decode(const char *in, size_t len, size_t step, size_t cap, struct run *r)
{
	struct http_chunked ch;
	char out[MAX_BODY];
	size_t used, produced, n;

	http_chunked_init(&ch);
	memset(r, 0, sizeof(*r));
	while (r->rc == 0 && r->consumed < len) {
		n = len - r->consumed < step ? len - r->consumed : step;
		r->rc = http_chunked_decode(&ch, MAX_BODY, in + r->consumed, n,
		    &used, out, cap, &produced);
		if (used > n || produced > cap || ch.total > MAX_BODY ||
		    r->body_len + produced > MAX_BODY)
			abort();
		if (r->rc == 0 && used < n && produced < cap)
			abort();        /* stopped early with room to go on */
		memcpy(r->body + r->body_len, out, produced);
		r->body_len += produced;
		r->consumed += used;
	}
	if (r->rc < 0 && r->rc != -400 && r->rc != -413 && r->rc != -431)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces;

	if (size < 2)
		return 0;
	decode((const char *)data + 2, size - 2, size, MAX_BODY, &whole);
	decode((const char *)data + 2, size - 2, 1 + data[0] % 8,
	    1 + data[1] % 16, &pieces);
	if (whole.rc != pieces.rc || whole.body_len != pieces.body_len ||
	    memcmp(whole.body, pieces.body, whole.body_len) != 0)
		abort();
	if (whole.rc >= 0 && whole.consumed != pieces.consumed)
		abort();
	return 0;
}
