/*
 * mtls-client-headers.c - what the options make of a request: our
 * certificate's file and password (--cert FILE:PASSWORD), where to
 * connect (--connect-to, --resolve), and the request headers in curl's
 * order, with the credentials a redirect to another host does not get.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtls.h"
#include "mtls-client.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* ----------------------------------------------------------- --cert */

/* --cert FILE[:PASSWORD], as curl: the first ':' not escaped as "\:"
 * ends the file name.  Both strings are malloc'd. */
void
split_cert(const char *arg, char **file, char **password)
{
	size_t i, j = 0, len = strlen(arg);
	char *f = malloc(len + 1);

	*password = NULL;
	if (f == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	/* A pkcs11: URI is taken whole, as curl takes it: its colon is no
	 * password's, and its PIN comes with --pass. */
	if (strncasecmp(arg, "pkcs11:", 7) == 0) {
		memcpy(f, arg, len + 1);
		*file = f;
		return;
	}
	for (i = 0; i < len; i++) {
		if (arg[i] == '\\' && arg[i + 1] == ':') {
			f[j++] = arg[++i];
		} else if (arg[i] == ':') {
			if ((*password = strdup(arg + i + 1)) == NULL)
				exit(failure(EXIT_NOMEM, "out of memory"));
			break;
		} else {
			f[j++] = arg[i];
		}
	}
	f[j] = '\0';
	*file = f;
}

/* PKCS#12 when --cert-type says so, or, as curl does, when the file is
 * named .p12 or .pfx and no type is given.  PEM and DER are files of
 * certificates (DER: one). */
int
cert_is_p12(const char *type, const char *file, int *p12)
{
	size_t n = strlen(file);

	*p12 = 0;
	if (strncasecmp(file, "pkcs11:", 7) == 0) {
		/* curl: a pkcs11: URI is --cert-type ENG; nothing else fits. */
		if (type == NULL || !strcasecmp(type, "ENG"))
			return 0;
		return failure(EXIT_CLIENT_CERT, "--cert-type %s does not fit "
		    "--cert %s: a certificate in a token is ENG", type, file);
	}
	if (type == NULL) {
		*p12 = n > 4 && (!strcasecmp(file + n - 4, ".p12") ||
		    !strcasecmp(file + n - 4, ".pfx"));
		return 0;
	}
	if (!strcasecmp(type, "PEM") || !strcasecmp(type, "DER") ||
	    !strcasecmp(type, "P12")) {
		*p12 = !strcasecmp(type, "P12");
		return 0;
	}
	if (!strcasecmp(type, "ENG"))
		return failure(EXIT_CLIENT_CERT, "--cert-type ENG takes a "
		    "certificate in a token, named by a pkcs11: URI, not the "
		    "file '%s'", file);
	return failure(EXIT_CLIENT_CERT, "--cert-type %s is not supported: use "
	    "PEM, DER or P12", type);
}

/* --------------------------------------------- --connect-to, --resolve */

/* One field of a colon-separated list ("[::1]" kept whole); returns
 * where the next begins, NULL after the last. */
static const char *
field(const char *p, char *out, size_t len)
{
	size_t n = *p == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":");

	if (p[0] == '[' && p[n - 1] == ']')
		snprintf(out, len, "%.*s", (int)n - 2, p + 1);
	else
		snprintf(out, len, "%.*s", (int)n, p);
	p += n;
	return *p == ':' ? p + 1 : NULL;
}

/*
 * --connect-to HOST1:PORT1:HOST2:PORT2, as curl: the first entry whose
 * HOST1 (empty: any) and PORT1 (empty: any) match the URL's sends the
 * connection to HOST2 (empty: the same) and PORT2 (empty: the same).
 * Copies where to connect into host and port; returns 1 when an entry
 * matched.
 */
int
connect_to(const struct options *o, const struct url *u, char *host,
    size_t hlen, char *port, size_t plen)
{
	char h1[256], p1[8], h2[256], p2[8];
	const char *p;
	int i;

	snprintf(host, hlen, "%s", u->host);
	snprintf(port, plen, "%s", u->port);
	for (i = 0; i < o->nconnect_to; i++) {
		p = field(o->connect_to[i], h1, sizeof(h1));
		p = p ? field(p, p1, sizeof(p1)) : NULL;
		p = p ? field(p, h2, sizeof(h2)) : NULL;
		if (p == NULL)
			continue;       /* checked when parsed */
		field(p, p2, sizeof(p2));
		if ((h1[0] && strcasecmp(h1, u->host)) || (p1[0] &&
		    strcmp(p1, u->port)))
			continue;
		if (h2[0])
			snprintf(host, hlen, "%s", h2);
		if (p2[0])
			snprintf(port, plen, "%s", p2);
		return 1;
	}
	return 0;
}

/* The address --resolve gives for host and port (a '*' port matches
 * any): copies it to addr and returns 1; else copies host and returns 0. */
int
resolve_address(const struct options *o, const char *host, const char *port,
    char *addr, size_t len)
{
	int i;

	for (i = 0; i < o->nresolve; i++) {
		const char *e = o->resolve[i] + (o->resolve[i][0] == '+');
		const char *c1 = strchr(e, ':'), *c2 = strchr(c1 + 1, ':') + 1;
		size_t hl = (size_t)(c1 - e), pl = (size_t)(c2 - c1 - 2);
		size_t al = strcspn(c2, ",");

		if (hl != strlen(host) || strncasecmp(e, host, hl) != 0 ||
		    !((pl == strlen(port) && !strncmp(c1 + 1, port, pl)) ||
		    (pl == 1 && c1[1] == '*')))
			continue;
		if (al >= 2 && c2[0] == '[' && c2[al - 1] == ']')
			snprintf(addr, len, "%.*s", (int)al - 2, c2 + 1);
		else
			snprintf(addr, len, "%.*s", (int)al, c2);
		return 1;
	}
	snprintf(addr, len, "%s", host);
	return 0;
}

/* ------------------------------------------------------------- headers */

static int
header_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 &&
	    (line[n] == ':' || line[n] == ';');
}

/* 1 when -H names the header, to set, replace or remove it. */
int
user_header(const struct options *o, const char *name)
{
	int i;

	for (i = 0; i < o->nheaders; i++)
		if (header_is(o->headers[i], name))
			return 1;
	return 0;
}

/* Standard base64 of n bytes, malloc'd. */
char *
base64(const unsigned char *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 |
		    (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

struct list {
	char **v;
	size_t n;
	int failed;
};

static void
push(struct list *l, char *line)
{
	if (line == NULL)
		l->failed = 1;
	else
		l->v[l->n++] = line;
}

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

/* curl's -H: "Name: value" sent, "Name:" removed, "Name;" sent empty. */
static void
push_user_header(struct list *l, const char *h)
{
	size_t len = strcspn(h, ":;");
	char *line;

	if (h[len] == ';' && h[len + 1 + strspn(h + len + 1, " ")] == '\0') {
		if ((line = strdup(h)) != NULL)
			line[len] = ':';
		push(l, line);
	} else if (!(h[len] == ':' &&
	    h[len + 1 + strspn(h + len + 1, " ")] == '\0')) {
		push(l, strdup(h));
	}
}

static char *
host_line(const struct url *u)
{
	size_t len = strlen(u->host) + strlen(u->port) + 16;
	char *line = malloc(len);
	int default_port = strcmp(u->port, "443") == 0;

	if (line != NULL)
		snprintf(line, len, "Host: %s%s%s%s%s", u->ipv6 ? "[" : "", u->host,
		    u->ipv6 ? "]" : "", default_port ? "" : ":",
		    default_port ? "" : u->port);
	return line;
}

/* -u USER:PASSWORD as Basic, or --oauth2-bearer. */
static char *
authorization(const struct options *o)
{
	char *b, *line;

	if (o->user == NULL)
		return join("Authorization: Bearer ", o->bearer);
	if ((b = base64((const unsigned char *)o->user, strlen(o->user))) == NULL)
		return NULL;
	line = join("Authorization: Basic ", b);
	free(b);
	return line;
}

/* What curl does not send to a host a redirect led to, unless
 * --location-trusted: credentials and cookies (CVE-2018-1000007), and
 * the Host it was given. */
static int
withheld(const char *h, const struct request_opts *ro)
{
	return ro->other_host && (header_is(h, "Authorization") ||
	    header_is(h, "Cookie") || header_is(h, "Host"));
}

/* The request headers, in curl 7.88's order (Host, Authorization,
 * Range, User-Agent, Accept, Referer, Cookie, -H, Content-Length,
 * Content-Type); NULL when out of memory. */
char **
build_headers(const struct options *o, const struct url *u,
    const struct request_opts *ro)
{
	struct list l = { calloc((size_t)o->nheaders + 16, sizeof(char *)), 0,
	    0 };
	char len[64];
	int i;

	if (l.v == NULL)
		return NULL;
	if (!user_header(o, "Host") || ro->other_host)
		push(&l, host_line(u));
	if ((o->user || o->bearer) && !user_header(o, "Authorization") &&
	    (!ro->other_host || o->location_trusted))
		push(&l, authorization(o));
	if (o->range && !user_header(o, "Range"))
		push(&l, join("Range: bytes=", o->range));
	if (!user_header(o, "User-Agent") && (o->user_agent == NULL ||
	    o->user_agent[0]))
		push(&l, join("User-Agent: ", o->user_agent ? o->user_agent :
		    "mtls-client/" PACKAGE_VERSION));
	if (!user_header(o, "Accept") && !o->json)
		push(&l, strdup("Accept: */*"));
	if (o->referer && !user_header(o, "Referer"))
		push(&l, join("Referer: ", o->referer));
	/* -b's cookies go to every host (curl's CURLOPT_COOKIE); a -H
	 * Cookie does not */
	if (o->cookie && !user_header(o, "Cookie"))
		push(&l, join("Cookie: ", o->cookie));
	for (i = 0; i < o->nheaders; i++)
		if (!withheld(o->headers[i], ro) || (o->location_trusted &&
		    !header_is(o->headers[i], "Host")))
			push_user_header(&l, o->headers[i]);
	if (o->json && !user_header(o, "Content-Type"))
		push(&l, strdup("Content-Type: application/json"));
	if (o->json && !user_header(o, "Accept"))
		push(&l, strdup("Accept: application/json"));
	if (ro->with_body && !user_header(o, "Content-Length")) {
		snprintf(len, sizeof(len), "Content-Length: %zu", ro->body_len);
		push(&l, strdup(len));
	}
	if (ro->with_body && !o->json && !user_header(o, "Content-Type"))
		push(&l, strdup("Content-Type: application/x-www-form-urlencoded"));
	if (l.failed) {
		free_headers(l.v);
		return NULL;
	}
	return l.v;
}

void
free_headers(char **headers)
{
	size_t i;

	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		free(headers[i]);
	free(headers);
}
