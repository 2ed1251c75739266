/*
 * fuzz_response.c - libFuzzer target for http_parse_response: the first
 * byte chooses the request method the response answers (GET, HEAD,
 * CONNECT, or none); the rest is the response.  The framing reported must
 * be consistent with the status and the method.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

static const char *const methods[] = { "GET", "HEAD", "CONNECT", NULL };

static void
check_head(const struct http_head *h, const char *method)
{
	if (h->status < 100 || h->status > 599 || h->reason == NULL ||
	    h->minor_version < 0 || h->minor_version > 1)
		abort();
	if ((h->status < 200 || h->status == 204 || h->status == 304 ||
	    (method != NULL && strcmp(method, "HEAD") == 0)) &&
	    h->framing != HTTP_BODY_NONE)
		abort();
	if (h->framing == HTTP_BODY_CLOSE && h->keep_alive)
		abort();
	(void)http_head_get(h, "content-type", 0);
	(void)http_head_get(h, "set-cookie", 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim;
	struct http_head h;
	const char *method, *buf;
	long end;

	if (size < 1)
		return 0;
	method = methods[data[0] % 4];
	buf = (const char *)data + 1;
	size--;
	http_limits_default(&lim);
	end = http_head_end(buf, size, &lim, false);
	if (end > 0) {
		if (http_parse_response(buf, (size_t)end, method, &h) == 0)
			check_head(&h, method);
		http_head_free(&h);
	} else if (end < 0 && end != -400 && end != -431) {
		abort();
	}
	if (http_parse_response(buf, size, method, &h) == 0)
		check_head(&h, method);
	http_head_free(&h);
	return 0;
}
