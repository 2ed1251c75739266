/*
 * fuzz_url.c - libFuzzer target for the two URL readers: mtls_http_url's
 * (an https:// client and an http:// plaintext one split the input into
 * host, port and request target; nothing is connected) and mtls-client's
 * command-line URL (examples/mtls-client-url.c), with its "." and ".."
 * segments removed or not, resolved as a redirect's Location.  What they give back must
 * be NUL-terminated within its buffer, a target must start with '/', and
 * a refusal must come with an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mtls-client.h"
#include "http_conn.h"

/* mtls-client's message printer, for the URL reader: the message is
 * formatted (the URL is in it) and dropped. */
int
failure(int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return status;
}

/* A client of each scheme, made once: nothing is ever connected. */
static struct mtls *
client(bool plain)
{
	static struct mtls *c[2];
	struct mtls_config *cfg;

	if (c[plain] != NULL)
		return c[plain];
	if ((cfg = mtls_config_new()) == NULL ||
	    (plain ? mtls_config_insecure_plaintext(cfg) :
	    mtls_config_insecure_noverify(cfg)) != 0 ||
	    (c[plain] = mtls_client_new(cfg)) == NULL)
		abort();
	mtls_config_free(cfg);
	return c[plain];
}

static void
split_with(struct mtls *c, const char *url)
{
	char host[256], port[8], target[1024];

	if (mtls_http_split_url(c, url, host, sizeof(host), port, sizeof(port),
	    target, sizeof(target)) != 0) {
		if (mtls_error_code(c) != MTLS_ERR_INVALID)
			abort();
		return;
	}
	if (strlen(host) == 0 || strlen(host) >= sizeof(host) ||
	    strlen(port) >= sizeof(port) || target[0] != '/')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	struct url u;

	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	split_with(client(false), url);
	split_with(client(true), url);
	if (parse_url(url, &u, size % 2) == 0) {
		char *loc;

		if (u.host[0] == '\0' || u.target == NULL || u.target[0] != '/' ||
		    u.port[0] == '\0' || strncmp(u.text, "https://", 8) != 0)
			abort();
		/* the URL as a redirect's Location, against itself */
		loc = resolve_location(&u, url);
		free(loc);
		free(url_file_name(&u));
	}
	free_url(&u);
	free(url);
	return 0;
}
