/*
 * http_client.c - HTTP/1.1 requests over a libmtls client connection (RFC
 * 9112), built on the public connection API and the parser of
 * http_parse.c: requests are checked before they are sent, responses are
 * read strictly, bodies whole or streamed.  A request that must wait on a
 * non-blocking socket, or that a signal interrupted, stays on its
 * connection and goes on with mtls_http_resume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_conn.h"

#define MAX_RESPONSE_HEAD (64 * 1024)
#define MAX_WHOLE_BODY (64 * 1024 * 1024)
#define READ_CHUNK 16384

struct mtls_http_response {
	struct mtls *conn;
	struct http_head head;
	struct http_body reader;    /* the body on the connection */
	char *body;                 /* the body read whole */
	size_t body_len, body_cap;
	char *packed;               /* mtls_http_response_headers's block */
	size_t packed_len;
};

/* A request under way: kept on its connection when it must wait on a
 * non-blocking socket (MTLS_WANT_*) or a signal interrupts it
 * (MTLS_ERR_INTERRUPTED), for mtls_http_resume. */
struct http_request {
	char *req;                  /* the request, until it is all sent */
	size_t req_len;
	char method[32];
	int flags;
	struct mtls_http_response *r;
	bool have_head;
	int want;                   /* MTLS_WANT_* it stopped at, or 0 */
};

static const char SEND_REQUEST[] = "sending the HTTP request";
static const char READ_RESPONSE[] = "waiting for the HTTP response";

static bool
is_want(long rc)
{
	return rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT;
}

/* ---------------------------------------------------------- the request */

static bool
has_header(const char *const *headers, const char *name)
{
	for (; headers != NULL && *headers != NULL; headers++)
		if (http_header_is(*headers, name))
			return true;
	return false;
}

static int
check_request(struct mtls *c, const char *method, const char *target,
    const char *const *headers)
{
	ENSURE_CONN(method != NULL && http_token_ok(method), c, MTLS_ERR_INVALID,
	    "HTTP method '%s' is not a token (letters, digits, "
	    "!#$%%&'*+-.^_`|~)", method ? method : "");
	ENSURE_CONN(target != NULL && *target != '\0' && http_value_ok(target) &&
	    strpbrk(target, " \t") == NULL, c, MTLS_ERR_INVALID, "HTTP request "
	    "target is empty or holds a space, CR, LF or NUL: refused (header "
	    "injection)");
	for (; headers != NULL && *headers != NULL; headers++)
		ENSURE_CONN(http_header_line_ok(*headers), c, MTLS_ERR_INVALID,
		    "header '%.60s' is not \"Name: value\" with a token name and "
		    "no CR, LF or NUL: refused (header injection)", *headers);
	return 0;
}

/* The request's bytes into p->req; 0 or -1. */
static int
build_request(struct mtls *c, struct http_request *p, const char *method,
    const char *target, const char *const *headers, const void *body,
    size_t body_len)
{
	const char *const *h;
	char *req = NULL, line[512];
	size_t len = 0, cap = 0;
	bool ok;

	snprintf(line, sizeof(line), "%s ", method);
	ok = http_append(&req, &len, &cap, line, strlen(line)) &&
	    http_append(&req, &len, &cap, target, strlen(target)) &&
	    http_append(&req, &len, &cap, " HTTP/1.1\r\n", 11);
	if (ok && !has_header(headers, "Host")) {
		const char *host = mtls_conn_host_header(c);

		snprintf(line, sizeof(line), "Host: %s\r\n",
		    host != NULL ? host : "localhost");
		ok = http_append(&req, &len, &cap, line, strlen(line));
	}
	for (h = headers; ok && h != NULL && *h != NULL; h++)
		ok = http_append(&req, &len, &cap, *h, strlen(*h)) &&
		    http_append(&req, &len, &cap, "\r\n", 2);
	if (ok && body != NULL && !has_header(headers, "Content-Length")) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
		ok = http_append(&req, &len, &cap, line, strlen(line));
	}
	ok = ok && http_append(&req, &len, &cap, "\r\n", 2) &&
	    (body == NULL || http_append(&req, &len, &cap, body, body_len));
	if (!ok) {
		free(req);
		return CONN_FAIL(c, MTLS_ERR_NOMEM, "out of memory building the "
		    "request");
	}
	p->req = req;
	p->req_len = len;
	return 0;
}

/* ---------------------------------------------------------- the response */

/* The I/O timeout of c, for the steps of a request that must run across
 * calls (a non-blocking connection); blocking reads time each read. */
static int
across_calls_ms(struct mtls *c)
{
	return mtls_conn_is_nonblocking(c) ?
	    mtls_config_io_ms(mtls_conn_config(c)) : 0;
}

/* Reads one response head; a 1xx interim response is read and skipped.
 * Returns 0, MTLS_WANT_* with what arrived kept, or -1. */
static int
read_head(struct mtls_http_response *r, const char *method)
{
	struct http_conn *hc = HTTP_CONN(r->conn);
	struct http_inbuf *in = &hc->in;
	int ms = across_calls_ms(r->conn);
	const struct http_timer *t = ms > 0 ?
	    http_timer_start(&hc->rtimer, ms, READ_RESPONSE) : NULL;
	struct http_limits lim;
	int bad_status = 0;
	long end;

	http_limits_default(&lim);
	lim.max_header_bytes = MAX_RESPONSE_HEAD;
	for (;;) {
		end = http_read_head(r->conn, &lim, false, t, &bad_status);
		if (is_want(end))
			return (int)end;
		http_timer_stop(&hc->rtimer);
		if (end == -1)
			return -1;
		if (end == HTTP_HEAD_BAD)
			return CONN_FAIL(r->conn, MTLS_ERR_HTTP, "server sent a "
			    "malformed response head (HTTP status %d would apply)",
			    bad_status);
		/* Closed before the first byte: the peer has gone, as a
		 * server goes from a keep-alive connection it let idle too
		 * long; a caller may send the request again on a new one. */
		if (end == 0)
			return CONN_FAIL(r->conn, MTLS_ERR_CLOSED, "server closed "
			    "the connection without a response (as a server "
			    "closes an idle keep-alive connection)");
		if (end < 0)
			return CONN_FAIL(r->conn, MTLS_ERR_HTTP, "server closed "
			    "the connection before a complete response");
		http_head_free(&r->head);
		if (http_parse_response(in->data + in->off, (size_t)end, method,
		    &r->head) != 0)
			return CONN_FAIL(r->conn, MTLS_ERR_HTTP, "server sent a "
			    "malformed or ambiguous response (bad status line, "
			    "Content-Length or Transfer-Encoding)");
		in->off += (size_t)end;
		if (r->head.status >= 200 || r->head.status == 101)
			return 0;
		if (t != NULL)
			t = http_timer_start(&hc->rtimer, ms, READ_RESPONSE);
	}
}

MTLS_EXPORT ssize_t
mtls_http_response_read(struct mtls_http_response *r, void *buf, size_t len)
{
	if (r == NULL)
		return 0;
	return http_body_read(r->conn, &r->reader, buf, len);
}

static int
read_whole_body(struct mtls_http_response *r)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	while ((n = mtls_http_response_read(r, chunk, sizeof(chunk))) > 0) {
		ENSURE_CONN(r->body_len + (size_t)n <= MAX_WHOLE_BODY, r->conn,
		    MTLS_ERR_HTTP, "response body is over %d MiB: request it with "
		    "MTLS_HTTP_STREAM", MAX_WHOLE_BODY >> 20);
		ENSURE_CONN(http_append(&r->body, &r->body_len, &r->body_cap, chunk,
		    (size_t)n), r->conn, MTLS_ERR_NOMEM, "out of memory");
	}
	return n < 0 ? (int)(is_want(n) ? n : -1) : 0;
}

void
http_request_free(struct mtls *c)
{
	struct http_request *p = HTTP_CONN(c)->request;

	if (p == NULL)
		return;
	free(p->req);
	mtls_http_response_free(p->r);
	free(p);
	HTTP_CONN(c)->request = NULL;
	/* A request dropped half-way leaves no deadline for the next. */
	http_timer_stop(&HTTP_CONN(c)->rtimer);
	http_timer_stop(&HTTP_CONN(c)->wtimer);
}

/* Sends what is left of p's request, under the I/O timeout counted across
 * the calls that go on with it.  Returns 0, MTLS_WANT_* or -1. */
static int
send_request(struct mtls *c, struct http_request *p)
{
	struct http_timer *wt = &HTTP_CONN(c)->wtimer;
	ssize_t n;

	if (p->req == NULL)
		return 0;
	http_timer_start(wt, mtls_config_write_ms(mtls_conn_config(c)),
	    SEND_REQUEST);
	n = mtls_write_timed(c, p->req, p->req_len, wt->deadline, wt->ms,
	    wt->what);
	if (is_want(n))
		return (int)n;
	if (n == -1 && mtls_error_code(c) == MTLS_ERR_INTERRUPTED)
		return -1;
	http_timer_stop(wt);
	if (n != (ssize_t)p->req_len)
		return -1;
	free(p->req);
	p->req = NULL;
	return 0;
}

/* The response's head, then its body read whole unless streamed. */
static int
read_response(struct mtls *c, struct http_request *p)
{
	int rc;

	if (p->r == NULL && (p->r = calloc(1, sizeof(*p->r))) == NULL)
		return CONN_FAIL(c, MTLS_ERR_NOMEM, "out of memory");
	p->r->conn = c;
	if (!p->have_head) {
		if ((rc = read_head(p->r, p->method)) != 0)
			return rc;
		http_body_init(&p->r->reader, &p->r->head, 0, "server",
		    across_calls_ms(c));
		p->have_head = true;
	}
	return p->flags & MTLS_HTTP_STREAM ? 0 : read_whole_body(p->r);
}

/* The steps of p not yet done: send, read the head, read the body.  A
 * step that must wait (MTLS_WANT_*) or that a signal interrupts is left
 * as it was: p then stays on c for mtls_http_resume. */
static struct mtls_http_response *
run_request(struct mtls *c, struct http_request *p)
{
	struct mtls_http_response *r;
	int rc = send_request(c, p);

	if (rc == 0)
		rc = read_response(c, p);
	p->want = is_want(rc) ? rc : 0;
	if (rc == 0) {
		r = p->r;
		p->r = NULL;
		http_request_free(c);
		return r;
	}
	if (p->want == 0 && mtls_error_code(c) != MTLS_ERR_INTERRUPTED)
		http_request_free(c);
	return NULL;
}

MTLS_EXPORT struct mtls_http_response *
mtls_http_request(struct mtls *c, const char *method, const char *target,
    const char *const *headers, const void *body, size_t body_len, int flags)
{
	struct http_request *p;

	if (c == NULL || http_conn_attach(c) != 0)
		return NULL;
	http_request_free(c);
	if (check_request(c, method, target, headers) != 0)
		return NULL;
	ENSURE_CONN_PTR(strlen(method) < sizeof(p->method), c, MTLS_ERR_INVALID,
	    "HTTP method '%.32s...' is longer than %zu bytes", method,
	    sizeof(p->method) - 1);
	ENSURE_CONN_PTR((p = calloc(1, sizeof(*p))) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	HTTP_CONN(c)->request = p;
	HTTP_CONN(c)->request_free = http_request_free;
	snprintf(p->method, sizeof(p->method), "%s", method);
	p->flags = flags;
	if (build_request(c, p, method, target, headers, body, body_len) != 0) {
		http_request_free(c);
		return NULL;
	}
	return run_request(c, p);
}

MTLS_EXPORT struct mtls_http_response *
mtls_http_resume(struct mtls *c)
{
	if (c == NULL)
		return NULL;
	ENSURE_CONN_PTR(HTTP_CONN(c) != NULL && HTTP_CONN(c)->request != NULL, c,
	    MTLS_ERR_INVALID, "no waiting or interrupted HTTP request to resume "
	    "on this connection");
	return run_request(c, HTTP_CONN(c)->request);
}

MTLS_EXPORT int
mtls_http_want(struct mtls *c)
{
	const struct http_conn *hc = c != NULL ? HTTP_CONN(c) : NULL;

	return hc != NULL && hc->request != NULL ? hc->request->want : 0;
}

MTLS_EXPORT void
mtls_http_response_free(struct mtls_http_response *r)
{
	if (r == NULL)
		return;
	http_head_free(&r->head);
	free(r->body);
	free(r->packed);
	free(r);
}

MTLS_EXPORT int
mtls_http_response_status(const struct mtls_http_response *r)
{
	return r != NULL ? r->head.status : 0;
}

MTLS_EXPORT const char *
mtls_http_response_reason(const struct mtls_http_response *r)
{
	return r != NULL ? r->head.reason : NULL;
}

MTLS_EXPORT const char *
mtls_http_response_version(const struct mtls_http_response *r)
{
	if (r == NULL)
		return NULL;
	return r->head.minor_version == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

MTLS_EXPORT const char *
mtls_http_response_header(const struct mtls_http_response *r,
    const char *name, size_t index)
{
	return r != NULL && name != NULL ? http_head_get(&r->head, name, index) :
	    NULL;
}

MTLS_EXPORT int
mtls_http_response_header_at(const struct mtls_http_response *r,
    size_t index, const char **name, const char **value)
{
	if (r == NULL || index >= r->head.header_count)
		return 0;
	*name = r->head.headers[index].name;
	*value = r->head.headers[index].value;
	return 1;
}

MTLS_EXPORT const char *
mtls_http_response_headers(struct mtls_http_response *r, size_t *len)
{
	size_t i, n = 0, at = 0;

	if (len != NULL)
		*len = 0;
	if (r == NULL)
		return NULL;
	if (r->packed == NULL) {
		for (i = 0; i < r->head.header_count; i++)
			n += strlen(r->head.headers[i].name) +
			    strlen(r->head.headers[i].value) + 2;
		/* One byte more: an empty block is still a string. */
		if ((r->packed = malloc(n + 1)) == NULL)
			return NULL;
		for (i = 0; i < r->head.header_count; i++) {
			size_t nl = strlen(r->head.headers[i].name) + 1;
			size_t vl = strlen(r->head.headers[i].value) + 1;

			memcpy(r->packed + at, r->head.headers[i].name, nl);
			memcpy(r->packed + at + nl, r->head.headers[i].value, vl);
			at += nl + vl;
		}
		r->packed[n] = '\0';
		r->packed_len = n;
	}
	if (len != NULL)
		*len = r->packed_len;
	return r->packed;
}

MTLS_EXPORT const void *
mtls_http_response_body(const struct mtls_http_response *r, size_t *len)
{
	if (len != NULL)
		*len = r != NULL ? r->body_len : 0;
	return r != NULL && r->body != NULL ? r->body : "";
}

/* --------------------------------------------------------- one call */

/* https://host[:port][/path], http:// on a plain client; host may be an
 * [IPv6] literal. */
int
mtls_http_split_url(struct mtls *c, const char *url, char *host, size_t host_len,
    char *port, size_t port_len, char *target, size_t target_len)
{
	bool plain = mtls_conn_is_plain(c);
	const char *scheme = plain ? "http://" : "https://";
	const char *p, *end, *colon;
	size_t n;

	ENSURE_CONN(url != NULL && strncasecmp(url, scheme, strlen(scheme)) == 0,
	    c, MTLS_ERR_INVALID, "URL '%s' is not %s (%s)", url ? url : "",
	    scheme, plain ? "this client's config is plaintext: "
	    "mtls_config_insecure_plaintext" : "mTLS needs TLS");
	p = url + strlen(scheme);
	end = p + strcspn(p, "/?#");
	colon = *p == '[' ? memchr(p, ']', (size_t)(end - p)) : p;
	colon = colon != NULL ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	n = (size_t)((colon ? colon : end) - p);
	ENSURE_CONN(n > 0 && n < host_len, c, MTLS_ERR_INVALID, "URL '%s' has no "
	    "host", url);
	snprintf(host, host_len, "%.*s", (int)n, p);
	snprintf(port, port_len, "%.*s", colon ? (int)(end - colon - 1) : 3,
	    colon ? colon + 1 : plain ? "80" : "443");
	/* The request target: path and query; a fragment is not sent
	 * (RFC 9110, 4.2.4), and "https://h?q" asks for "/?q". */
	n = strcspn(end, "#");
	if (snprintf(target, target_len, "%s%.*s", *end == '/' ? "" : "/",
	    (int)n, end) >= (int)target_len)
		return CONN_FAIL(c, MTLS_ERR_INVALID, "URL '%.60s...' is too long",
		    url);
	return 0;
}

MTLS_EXPORT struct mtls_http_response *
mtls_http_url(struct mtls *c, const char *method, const char *url,
    const void *body, size_t body_len)
{
	char host[256], port[16], target[8192];

	if (c == NULL || mtls_http_split_url(c, url, host, sizeof(host), port,
	    sizeof(port), target, sizeof(target)) != 0 ||
	    mtls_connect(c, host, port) != 0)
		return NULL;
	return mtls_http_request(c, method, target, NULL, body, body_len, 0);
}
