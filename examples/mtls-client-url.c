/*
 * mtls-client-url.c - the URL on mtls-client's command line, as curl
 * reads it: https:// (or no scheme), a host or [IPv6] literal, an
 * optional port, the path and query; the fragment is not sent.  Other
 * schemes, user names and bytes that need percent-encoding are refused
 * with curl's exit codes.  A file of its own so that the fuzz target
 * (tests/fuzz/fuzz_url.c) reads URLs with this very code.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtls-client.h"

static int
parse_port(const char *p, size_t n, struct url *u)
{
	char *end;
	long v;

	if (n == 0 || n >= sizeof(u->port))
		return -1;
	memcpy(u->port, p, n);
	u->port[n] = '\0';
	v = strtol(u->port, &end, 10);
	return *end == '\0' && v > 0 && v < 65536 ? 0 : -1;
}

/* The authority: host, [v6], and an optional :port. */
static int
parse_authority(const char *p, const char *end, struct url *u)
{
	const char *host = p, *after;

	if (*p == '[') {
		if ((after = memchr(p, ']', (size_t)(end - p))) == NULL)
			return -1;
		host = p + 1;
		u->ipv6 = 1;
	} else {
		after = memchr(p, ':', (size_t)(end - p));
		after = after ? after : end;
	}
	if (after == host || (size_t)(after - host) >= sizeof(u->host))
		return -1;
	snprintf(u->host, sizeof(u->host), "%.*s", (int)(after - host), host);
	after += u->ipv6;
	if (after == end) {
		strcpy(u->port, "443");
		return 0;
	}
	return *after == ':' ? parse_port(after + 1, (size_t)(end - after - 1),
	    u) : -1;
}

int
parse_url(const char *text, struct url *u)
{
	const char *p = text, *end, *stop, *sep = strstr(text, "://");
	size_t n;

	if (sep != NULL && strncasecmp(text, "https://", 8) != 0)
		return failure(EXIT_UNSUPPORTED_PROTOCOL, "protocol '%.*s' is not "
		    "supported: mutual TLS needs https://", (int)(sep - text), text);
	p += sep != NULL ? 8 : 0;
	end = p + strcspn(p, "/?#");
	for (n = 0; text[n] != '\0'; n++)
		if ((unsigned char)text[n] <= ' ' || text[n] == 0x7f)
			return failure(EXIT_URL, "URL '%s' holds a space or a control "
			    "character: percent-encode it", text);
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return failure(EXIT_URL, "URL '%s': user names and passwords are "
		    "not supported", text);
	if (parse_authority(p, end, u) != 0)
		return failure(EXIT_URL, "URL '%s' has no valid host and port", text);
	stop = end + strcspn(end, "#");
	n = (size_t)(stop - end);
	if ((u->target = malloc(n + 2)) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	snprintf(u->target, n + 2, "%s%.*s", *end == '/' ? "" : "/", (int)n, end);
	return 0;
}
