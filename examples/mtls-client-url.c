/*
 * mtls-client-url.c - URLs as curl reads them: the one on the command
 * line (https:// or no scheme, a host or [IPv6] literal, an optional port,
 * the path with its "." and ".." segments removed unless --path-as-is,
 * the query; the fragment is not sent), the Location of a redirect
 * resolved against it (RFC 3986, 5.2), and the file names of -O and -J.
 * Other schemes, user names and bytes that need percent-encoding are
 * refused with curl's exit codes.  A file of its own, calling nothing but
 * failure(), so that the fuzz target (tests/fuzz/fuzz_url.c) reads URLs
 * with this very code.
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
	u->port_given = 1;
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

/* RFC 3986, 5.2.4: the path's "." and ".." segments removed, in place;
 * path starts with '/' and ends where the query starts. */
static void
remove_dot_segments(char *path, size_t len)
{
	char *out = path, *in = path, *end = path + len;

	while (in < end) {
		size_t seg = strcspn(in + 1, "/");
		char *next = in + 1 + seg;

		if (next > end)
			next = end, seg = (size_t)(end - in - 1);
		if (seg == 1 && in[1] == '.') {
			if (next == end)
				*out++ = '/';
		} else if (seg == 2 && in[1] == '.' && in[2] == '.') {
			while (out > path && *--out != '/')
				;
			if (next == end)
				*out++ = '/';
		} else {
			memmove(out, in, (size_t)(next - in));
			out += next - in;
		}
		in = next;
	}
	if (out == path)
		*out++ = '/';
	memmove(out, end, strlen(end) + 1);
}

static int
make_text(struct url *u)
{
	size_t n = strlen(u->host) + strlen(u->target) + 32;

	if ((u->text = malloc(n)) == NULL)
		return -1;
	snprintf(u->text, n, "https://%s%s%s%s%s%s", u->ipv6 ? "[" : "", u->host,
	    u->ipv6 ? "]" : "", u->port_given ? ":" : "",
	    u->port_given ? u->port : "", u->target);
	return 0;
}

int
parse_url(const char *text, struct url *u, int path_as_is)
{
	const char *p = text, *end, *stop, *sep = strstr(text, "://");
	size_t n;

	memset(u, 0, sizeof(*u));
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
		return failure(EXIT_URL, "URL '%s': user names and passwords in "
		    "the URL are not supported: use -u USER:PASSWORD", text);
	if (parse_authority(p, end, u) != 0)
		return failure(EXIT_URL, "URL '%s' has no valid host and port", text);
	stop = end + strcspn(end, "#");
	n = (size_t)(stop - end);
	if ((u->target = malloc(n + 2)) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	snprintf(u->target, n + 2, "%s%.*s", *end == '/' ? "" : "/", (int)n, end);
	if (!path_as_is)
		remove_dot_segments(u->target, strcspn(u->target, "?"));
	if (make_text(u) != 0)
		return failure(EXIT_NOMEM, "out of memory");
	return 0;
}

void
free_url(struct url *u)
{
	free(u->target);
	free(u->text);
	u->target = u->text = NULL;
}

/*
 * The absolute URL a Location names, resolved against base as curl does
 * (RFC 3986, 5.2): an absolute URL as it is, "//host/path" with base's
 * scheme, "/path" on base's host, "?query" on base's path, anything else
 * beside base's last segment.  The fragment is dropped.  malloc'd; NULL
 * when out of memory.
 */
char *
resolve_location(const struct url *base, const char *location)
{
	const char *scheme_end;
	size_t len = strlen(base->text) + strlen(location) + 8;
	size_t origin = strcspn(base->text + 8, "/?#") + 8;
	size_t path = strcspn(base->text, "?#");
	char *out = malloc(len), *slash;

	if (out == NULL)
		return NULL;
	location += strspn(location, " \t");
	scheme_end = location + strcspn(location, ":/?#");
	if (*scheme_end == ':' && scheme_end > location)
		snprintf(out, len, "%s", location);
	else if (location[0] == '/' && location[1] == '/')
		snprintf(out, len, "https:%s", location);
	else if (location[0] == '/')
		snprintf(out, len, "%.*s%s", (int)origin, base->text, location);
	else if (location[0] == '?')
		snprintf(out, len, "%.*s%s", (int)path, base->text, location);
	else if (location[0] == '\0' || location[0] == '#')
		snprintf(out, len, "%.*s", (int)strcspn(base->text, "#"),
		    base->text);
	else {
		/* the target always begins with '/' */
		snprintf(out, len, "%.*s", (int)path, base->text);
		slash = strrchr(out + origin, '/');
		snprintf(slash + 1, len - (size_t)(slash + 1 - out), "%s",
		    location);
	}
	out[strcspn(out, "#")] = '\0';
	return out;
}

/* -O: the last segment of the URL's path, as curl takes it (the query
 * is not part of it); "" when the path ends with '/'.  malloc'd. */
char *
url_file_name(const struct url *u)
{
	size_t end = strcspn(u->target, "?");
	const char *p = u->target + end;

	while (p > u->target && p[-1] != '/')
		p--;
	return strndup(p, (size_t)(u->target + end - p));
}

/* -J: the filename= of a Content-Disposition header, without quotes and
 * without any directory part, as curl 7.88 takes it; NULL when there is
 * none.  malloc'd. */
char *
cd_file_name(const char *cd)
{
	const char *p = cd, *start, *q;
	size_t n;
	char *name;

	while ((p = strchr(p, ';')) != NULL) {
		p += 1 + strspn(p + 1, " \t");
		if (strncasecmp(p, "filename=", 9) == 0)
			break;
	}
	if (p == NULL)
		return NULL;
	start = p + 9;
	if (*start == '"') {
		start++;
		n = strcspn(start, "\"");
	} else {
		n = strcspn(start, "; \t");
	}
	for (q = start + n; q > start && q[-1] != '/' && q[-1] != '\\'; q--)
		;
	n -= (size_t)(q - start);
	if (n == 0 || (name = strndup(q, n)) == NULL)
		return NULL;
	return name;
}
