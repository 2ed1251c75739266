/*
 * fuzz_request.c - libFuzzer target for the request side of http_parse.c:
 * http_head_end on the input (and on every prefix, which must agree with
 * it: a server reads a head a few bytes at a time), http_parse_request on
 * the head it finds and on the raw input, then the chunked body that
 * follows when the head says so.
 *
 * Small limits, so that the fuzzer reaches 414, 431 (a head, or one field
 * line, over its limit) and 413 quickly.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

static void
parse_and_check(const char *buf, size_t len, const struct http_limits *lim)
{
	struct http_head h;
	size_t i;
	int rc = http_parse_request(buf, len, lim, &h);

	if (rc == 0) {
		if (h.method == NULL || h.target == NULL ||
		    !http_method_known(h.method) || h.minor_version < 0 ||
		    h.minor_version > 1 || h.header_count > lim->max_headers)
			abort();
		for (i = 0; i < h.header_count; i++)
			if (http_head_get(&h, h.headers[i].name, 0) == NULL ||
			    !http_value_ok(h.headers[i].value))
				abort();
		if (h.framing == HTTP_BODY_LENGTH &&
		    h.content_length > lim->max_body)
			abort();
	} else if (rc != 400 && rc != 413 && rc != 414 && rc != 431 &&
	    rc != 501 && rc != 505) {
		abort();
	}
	http_head_free(&h);
}

static void
decode_body(const char *in, size_t len)
{
	struct http_chunked ch;
	char out[64];
	size_t used, produced;
	int rc = 0;

	http_chunked_init(&ch);
	while (len > 0 && rc == 0) {
		rc = http_chunked_decode(&ch, 1024, in, len, &used, out,
		    sizeof(out), &produced);
		if (used > len || produced > sizeof(out) ||
		    (rc == 0 && used == 0 && produced == 0))
			abort();
		in += used;
		len -= used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim = { 256, 1024, 16, 4096, 128 };
	const char *buf = (const char *)data;
	long end = http_head_end(buf, size, &lim, true), e;
	size_t n;

	/* A prefix never ends the head elsewhere, nor fails differently. */
	for (n = 0; n < size && n < 512; n++) {
		e = http_head_end(buf, n, &lim, true);
		if (e > 0 && e != end)
			abort();
		if (e < 0 && e != end)
			abort();
	}
	if (end < 0 && end != -400 && end != -414 && end != -431)
		abort();
	if (end > 0) {
		struct http_head h;

		parse_and_check(buf, (size_t)end, &lim);
		if (http_parse_request(buf, (size_t)end, &lim, &h) == 0 &&
		    h.framing == HTTP_BODY_CHUNKED)
			decode_body(buf + end, size - (size_t)end);
		http_head_free(&h);
	}
	parse_and_check(buf, size, &lim);
	return 0;
}
