/*
 * http-relay.c - one HTTP request forwarded upstream and its response
 * relayed back, body streamed, over libmtls's HTTP helpers on both sides;
 * hop-by-hop headers (RFC 9110, 7.6.1) stay on their hop.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-relay.h"

#define MAX_HEADERS 128
#define CHUNK 65536

/* Headers that belong to one connection, never forwarded. */
static bool
hop_by_hop(const char *name)
{
	static const char *const names[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authorization", "TE", "Trailer",
	    "Transfer-Encoding", "Upgrade", "Content-Length", "Expect", "Date",
	    "Host" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static bool
listed(const char *name, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcasecmp(name, *list) == 0)
			return true;
	return false;
}

int
upstream_parse(struct upstream *u, const char *url, const char *want_scheme,
    const char *default_port, const char *prog)
{
	size_t slen = strlen(want_scheme);
	const char *p, *end, *colon;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, want_scheme, slen) != 0 ||
	    strncmp(url + slen, "://", 3) != 0) {
		fprintf(stderr, "%s: upstream '%s' is not a %s:// URL\n", prog, url,
		    want_scheme);
		return -1;
	}
	p = url + slen + 3;
	end = p + strcspn(p, "/");
	if (*end == '/' && end[1] != '\0') {
		fprintf(stderr, "%s: upstream '%s' has a path: give only "
		    "%s://host:port\n", prog, url, want_scheme);
		return -1;
	}
	colon = *p == '[' ? memchr(p, ']', (size_t)(end - p)) : p;
	colon = colon != NULL ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	if (*p == '[')
		p++;
	snprintf(u->host, sizeof(u->host), "%.*s", (int)((colon ? colon : end) -
	    p - (colon && colon[-1] == ']' ? 1 : 0)), p);
	snprintf(u->port, sizeof(u->port), "%.*s", colon ? (int)(end - colon - 1) :
	    (int)strlen(default_port), colon ? colon + 1 : default_port);
	if (u->host[0] == '\0' || u->port[0] == '\0') {
		fprintf(stderr, "%s: upstream '%s' has no host or port\n", prog, url);
		return -1;
	}
	return 0;
}

void
upstream_close(struct upstream *u)
{
	if (u->conn != NULL) {
		mtls_close(u->conn);
		mtls_free(u->conn);
		u->conn = NULL;
	}
}

static int
upstream_open(struct upstream *u, const char *prog)
{
	if ((u->conn = mtls_client_new(u->cfg)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, mtls_config_error(u->cfg));
		return -1;
	}
	if ((u->verify_name != NULL &&
	    mtls_set_verify_name(u->conn, u->verify_name) != 0) ||
	    mtls_connect(u->conn, u->host, u->port) != 0) {
		fprintf(stderr, "%s: upstream %s:%s: %s\n", prog, u->host, u->port,
		    mtls_error(u->conn));
		return -1;
	}
	return 0;
}

/* The request's headers to send upstream, as "Name: value" strings in
 * lines (the caller frees each); returns how many, or -1 if too many. */
static int
request_headers(struct mtls_http_req *req, const char *const *extra,
    const char *const *strip, char **lines)
{
	const char *name, *value;
	int n = 0;

	for (size_t i = 0; mtls_http_req_header_at(req, i, &name, &value); i++) {
		if (hop_by_hop(name) || listed(name, strip))
			continue;
		if (n >= MAX_HEADERS - 16 ||
		    asprintf(&lines[n], "%s: %s", name, value) < 0)
			return -1;
		n++;
	}
	for (; extra != NULL && *extra != NULL && n < MAX_HEADERS - 1; extra++)
		if ((lines[n] = strdup(*extra)) != NULL)
			n++;
	lines[n] = NULL;
	return n;
}

static void
free_lines(char **lines)
{
	for (size_t i = 0; lines[i] != NULL; i++)
		free(lines[i]);
}

/* "http://host/path?q" (absolute form, from a client that takes us for a
 * proxy) becomes "/path?q"; origin form stays as it is. */
static const char *
origin_form(const char *target)
{
	const char *p = strstr(target, "://");

	if (target[0] == '/' || p == NULL)
		return target;
	p = strchr(p + 3, '/');
	return p != NULL ? p : "/";
}

/* The request sent on u's connection, reconnecting once when a kept-alive
 * one turns out to be closed. */
static struct mtls_http_response *
send_upstream(struct upstream *u, struct mtls_http_req *req,
    char *const *lines, const char *prog)
{
	const char *method = mtls_http_req_method(req);
	size_t len;
	const void *body = mtls_http_req_body(req, &len);
	bool reused = u->conn != NULL;
	struct mtls_http_response *r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (u->conn == NULL && upstream_open(u, prog) != 0)
			return NULL;
		r = mtls_http_request(u->conn, method,
		    origin_form(mtls_http_req_target(req)),
		    (const char *const *)lines, len > 0 ? body : NULL, len,
		    MTLS_HTTP_STREAM);
		if (r != NULL)
			return r;
		if (!reused || attempt > 0) {
			fprintf(stderr, "%s: upstream %s:%s: %s\n", prog, u->host,
			    u->port, mtls_error(u->conn));
			return NULL;
		}
		upstream_close(u);          /* it had closed while idle */
	}
	return NULL;
}

/* The upstream's response headers, for the downstream answer. */
static void
response_headers(struct mtls_http_response *r, char **lines)
{
	const char *name, *value, *length;
	int n = 0;

	for (size_t i = 0; n < MAX_HEADERS - 2 &&
	    mtls_http_response_header_at(r, i, &name, &value); i++)
		if (!hop_by_hop(name) && asprintf(&lines[n], "%s: %s", name,
		    value) >= 0)
			n++;
	length = mtls_http_response_header(r, "Content-Length", 0);
	if (length != NULL && asprintf(&lines[n], "Content-Length: %s",
	    length) >= 0)
		n++;
	lines[n] = NULL;
}

static int
relay_body(struct mtls_http_response *r, struct mtls_http_req *req,
    unsigned long long *bytes)
{
	char *buf = malloc(CHUNK);
	ssize_t n = 0;

	if (buf == NULL)
		return -1;
	while ((n = mtls_http_response_read(r, buf, CHUNK)) > 0) {
		if (mtls_http_respond_write(req, buf, (size_t)n) != n)
			break;
		*bytes += (unsigned long long)n;
	}
	free(buf);
	return n == 0 ? mtls_http_respond_end(req) : -1;
}

static int
bad_gateway(struct upstream *u, struct mtls_http_req *req,
    unsigned long long *bytes)
{
	static const char *const hdrs[] = {
		"Content-Type: text/plain; charset=utf-8", NULL };
	int timeout = u->conn != NULL &&
	    mtls_error_code(u->conn) == MTLS_ERR_TIMEOUT;
	int status = timeout ? 504 : 502;
	char text[1200];

	snprintf(text, sizeof(text), "%d %s: upstream %s:%s: %s\n", status,
	    timeout ? "Gateway Timeout" : "Bad Gateway", u->host, u->port,
	    u->conn != NULL && mtls_error(u->conn) ? mtls_error(u->conn) :
	    "cannot connect");
	upstream_close(u);
	*bytes = strlen(text);
	return mtls_http_respond(req, status, hdrs, text, strlen(text)) == 0 ?
	    status : -1;
}

int
relay(struct upstream *u, struct mtls_http_req *req, const char *const *extra,
    const char *const *strip, unsigned long long *bytes, const char *prog)
{
	char *lines[MAX_HEADERS] = { NULL };
	struct mtls_http_response *r;
	int status, rc;

	*bytes = 0;
	if (request_headers(req, extra, strip, lines) < 0) {
		free_lines(lines);
		return mtls_http_respond(req, 431, NULL, "", 0) == 0 ? 431 : -1;
	}
	r = send_upstream(u, req, lines, prog);
	free_lines(lines);
	if (r == NULL)
		return bad_gateway(u, req, bytes);
	status = mtls_http_response_status(r);
	memset(lines, 0, sizeof(lines));
	response_headers(r, lines);
	rc = mtls_http_respond_start(req, status, (const char *const *)lines);
	free_lines(lines);
	if (rc == 0)
		rc = relay_body(r, req, bytes);
	mtls_http_response_free(r);
	if (rc != 0)
		upstream_close(u);          /* its stream may be mid-body */
	return rc == 0 ? status : -1;
}
