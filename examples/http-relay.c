/*
 * http-relay.c - one HTTP request forwarded upstream and its response
 * relayed back, body streamed, over libmtls's HTTP helpers on both sides;
 * hop-by-hop headers (RFC 9110, 7.6.1) stay on their hop.  A relay is a
 * job of steps, each of which goes as far as its socket allows: on
 * blocking connections it runs through in one call, on non-blocking ones
 * an event loop drives it.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http-relay.h"

#define MAX_HEADERS 128     /* as relay_job.lines */
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
	u->fd = -1;
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
		if (!u->nonblocking)
			mtls_close(u->conn);    /* a close_notify may wait */
		mtls_free(u->conn);
		u->conn = NULL;
	}
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
}

int
upstream_resolve(struct upstream *u, const char *prog)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(u->host, u->port, &hints, &ai);

	if (rc != 0) {
		fprintf(stderr, "%s: upstream %s:%s: %s\n", prog, u->host, u->port,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&u->addr, ai->ai_addr, ai->ai_addrlen);
	u->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* The preamble on u's new socket, before TLS: 0, or -1 with errno. */
static int
send_preamble(struct upstream *u)
{
	ssize_t n;

	if (u->preamble_len == 0)
		return 0;
	n = send(u->fd, u->preamble, u->preamble_len, MSG_NOSIGNAL);
	if (n >= 0 && (size_t)n != u->preamble_len)
		errno = EAGAIN;     /* 52 bytes on a new socket: never short */
	return n >= 0 && (size_t)n == u->preamble_len ? 0 : -1;
}

/* A TCP connection to u's host, on a socket of ours (u->fd) that the
 * preamble can go on first; 0, or -1 after printing why. */
static int
tcp_open(struct upstream *u, const char *prog)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { 10, 0 };  /* bounds connect(2) too, on Linux */
	int rc = getaddrinfo(u->host, u->port, &hints, &res), err = 0;

	if (rc != 0) {
		fprintf(stderr, "%s: upstream %s:%s: %s\n", prog, u->host, u->port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && u->fd < 0; ai = ai->ai_next) {
		u->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (u->fd >= 0 && (setsockopt(u->fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) != 0 || connect(u->fd, ai->ai_addr,
		    ai->ai_addrlen) != 0)) {
			err = errno;
			close(u->fd);
			u->fd = -1;
		}
	}
	freeaddrinfo(res);
	if (u->fd >= 0 && send_preamble(u) == 0)
		return 0;
	fprintf(stderr, "%s: upstream %s:%s: %s: %s\n", prog, u->host, u->port,
	    u->fd < 0 ? "connect" : "PROXY header", strerror(u->fd < 0 ? err :
	    errno));
	return -1;
}

/* A blocking connection: resolved, connected and verified here; on a
 * socket of ours when a preamble goes first. */
static int
upstream_open(struct upstream *u, const char *prog)
{
	if ((u->conn = mtls_client_new(u->cfg)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, mtls_config_error(u->cfg));
		return -1;
	}
	if (u->preamble_len > 0 && tcp_open(u, prog) != 0)
		return -1;
	if ((u->verify_name != NULL &&
	    mtls_set_verify_name(u->conn, u->verify_name) != 0) ||
	    (u->fd >= 0 ? mtls_connect_socket(u->conn, u->fd,
	    u->verify_name != NULL ? NULL : u->host) :
	    mtls_connect(u->conn, u->host, u->port)) != 0) {
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

static bool
is_want(long rc)
{
	return rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT;
}

/* The answer when the upstream failed: 502, or 504 after a timeout. */
static void
fail_job(struct relay_job *j, const char *why, bool timeout)
{
	struct upstream *u = j->u;

	j->status = timeout ? 504 : 502;
	fprintf(stderr, "%s: upstream %s:%s: %s\n", j->prog, u->host, u->port,
	    why);
	free(j->fail_text);
	if (asprintf(&j->fail_text, "%d %s: upstream %s:%s: %s\n", j->status,
	    timeout ? "Gateway Timeout" : "Bad Gateway", u->host, u->port,
	    why) < 0)
		j->fail_text = NULL;
	upstream_close(u);
	j->step = RELAY_FAIL;
}

static void
fail_conn(struct relay_job *j)
{
	struct mtls *c = j->u->conn;

	fail_job(j, c != NULL && mtls_error(c) != NULL ? mtls_error(c) :
	    "cannot connect", c != NULL &&
	    mtls_error_code(c) == MTLS_ERR_TIMEOUT);
}

/* A non-blocking connection to the upstream's address, under way. */
static int
connect_nonblocking(struct relay_job *j)
{
	struct upstream *u = j->u;
	int fd = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	char why[300];

	if (fd >= 0 && connect(fd, (struct sockaddr *)&u->addr, u->addrlen) !=
	    0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		close(fd);
		fail_job(j, why, false);
		return 0;
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		fail_job(j, why, false);
		return 0;
	}
	u->fd = fd;
	j->connect_by = monotonic_ms() + u->connect_ms;
	j->step = RELAY_CONNECTING;
	j->wait_fd = fd;
	return MTLS_WANT_POLLOUT;
}

/* The connection's outcome, once its socket is writable (or its time has
 * passed); then a client of the upstream's config on it. */
static int
connect_done(struct relay_job *j)
{
	struct upstream *u = j->u;
	int err = 0;
	socklen_t len = sizeof(err);
	char why[300];

	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0 && getpeername(u->fd, (struct sockaddr *)&peer, &plen) != 0) {
		if (monotonic_ms() < j->connect_by)
			return MTLS_WANT_POLLOUT;     /* not yet */
		fail_job(j, "connect timed out", true);
		return 0;
	}
	if (err == 0 && send_preamble(u) != 0)
		err = errno;
	if (err != 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		fail_job(j, why, false);
		return 0;
	}
	if ((u->conn = mtls_client_new(u->cfg)) == NULL ||
	    (u->verify_name != NULL &&
	    mtls_set_verify_name(u->conn, u->verify_name) != 0) ||
	    mtls_connect_socket(u->conn, u->fd, u->verify_name != NULL ? NULL :
	    u->host) != 0) {
		fail_conn(j);
		return 0;
	}
	j->step = RELAY_REQUEST;
	return 0;
}

/* The connection to use: kept alive, made now (blocking), or begun. */
static int
step_connect(struct relay_job *j)
{
	struct upstream *u = j->u;

	j->reused = u->conn != NULL;
	if (u->conn != NULL)
		j->step = RELAY_REQUEST;
	else if (u->nonblocking)
		return connect_nonblocking(j);
	else if (upstream_open(u, j->prog) != 0)
		fail_conn(j);
	else
		j->step = RELAY_REQUEST;
	return 0;
}

/* The request sent and the response's head read; a kept-alive connection
 * that turns out closed is replaced once. */
static int
step_request(struct relay_job *j)
{
	struct upstream *u = j->u;
	struct mtls_http_req *req = j->req;
	size_t len;
	const void *body = mtls_http_req_body(req, &len);
	int want;

	if (!j->sent) {
		j->sent = true;
		j->r = mtls_http_request(u->conn, mtls_http_req_method(req),
		    origin_form(mtls_http_req_target(req)),
		    (const char *const *)j->lines, len > 0 ? body : NULL, len,
		    MTLS_HTTP_STREAM);
	} else {
		j->r = mtls_http_resume(u->conn);
	}
	if (j->r == NULL && is_want(want = mtls_http_want(u->conn))) {
		j->wait_fd = u->fd >= 0 ? u->fd : mtls_fd(u->conn);
		return want;
	}
	if (j->r == NULL && j->reused && !j->retried) {
		j->retried = true;      /* it had closed while idle */
		j->sent = false;
		upstream_close(u);
		j->step = RELAY_CONNECT;
		return 0;
	}
	if (j->r == NULL) {
		fail_conn(j);
		return 0;
	}
	free_lines(j->lines);
	response_headers(j->r, j->lines);
	j->status = mtls_http_response_status(j->r);
	j->step = RELAY_HEAD;
	return 0;
}

/* A piece of the body read from the upstream, then written downstream. */
static int
step_body(struct relay_job *j)
{
	struct upstream *u = j->u;
	ssize_t n;

	if (j->piece == NULL && (j->piece = malloc(CHUNK)) == NULL)
		return -1;
	n = mtls_http_response_read(j->r, j->piece, CHUNK);
	if (is_want(n)) {
		j->wait_fd = u->fd >= 0 ? u->fd : mtls_fd(u->conn);
		return (int)n;
	}
	if (n < 0) {
		fprintf(stderr, "%s: upstream %s:%s: %s\n", j->prog, u->host,
		    u->port, mtls_error(u->conn));
		return -1;      /* the answer is cut: the client sees it end */
	}
	j->piece_len = (size_t)n;
	j->step = n == 0 ? RELAY_END : RELAY_WRITE;
	return 0;
}

int
relay_step(struct relay_job *j)
{
	static const char *const text_hdrs[] = {
		"Content-Type: text/plain; charset=utf-8", NULL };
	int rc = 0;

	j->wait_fd = -1;
	while (rc == 0 && j->step != RELAY_DONE) {
		switch (j->step) {
		case RELAY_CONNECT:
			rc = step_connect(j);
			break;
		case RELAY_CONNECTING:
			rc = connect_done(j);
			if (is_want(rc))
				j->wait_fd = j->u->fd;
			break;
		case RELAY_REQUEST:
			rc = step_request(j);
			break;
		case RELAY_HEAD:
			if ((rc = mtls_http_respond_start(j->req, j->status,
			    (const char *const *)j->lines)) == 0)
				j->step = RELAY_BODY;
			break;
		case RELAY_BODY:
			rc = step_body(j);
			break;
		case RELAY_WRITE:
			rc = (int)mtls_http_respond_write(j->req, j->piece,
			    j->piece_len);
			if (rc == (int)j->piece_len) {
				j->bytes += j->piece_len;
				j->step = RELAY_BODY;
				rc = 0;
			}
			break;
		case RELAY_END:
			if ((rc = mtls_http_respond_end(j->req)) == 0)
				j->step = RELAY_DONE;
			break;
		case RELAY_FAIL:
			j->bytes = j->fail_text != NULL ? strlen(j->fail_text) : 0;
			if ((rc = mtls_http_respond(j->req, j->status, j->status ==
			    431 ? NULL : text_hdrs, j->fail_text != NULL ?
			    j->fail_text : "", j->bytes)) == 0)
				j->step = RELAY_DONE;
			break;
		case RELAY_DONE:
		default:
			break;
		}
	}
	if (rc != 0 && !is_want(rc))
		upstream_close(j->u);   /* its stream may be mid-body */
	return rc;
}

long
relay_ms_left(const struct relay_job *j)
{
	long left;

	if (j->step == RELAY_CONNECTING) {
		left = j->connect_by - monotonic_ms();
		return left > 0 ? left : 0;
	}
	return j->u->conn != NULL ? mtls_http_ms_left(j->u->conn) : -1;
}

struct relay_job *
relay_begin(struct upstream *u, struct mtls_http_req *req,
    const char *const *extra, const char *const *strip, const char *prog)
{
	struct relay_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->u = u;
	j->req = req;
	j->prog = prog;
	j->wait_fd = -1;
	if (request_headers(req, extra, strip, j->lines) < 0) {
		j->status = 431;
		j->step = RELAY_FAIL;
	}
	return j;
}

void
relay_free(struct relay_job *j)
{
	if (j == NULL)
		return;
	free_lines(j->lines);
	mtls_http_response_free(j->r);
	free(j->piece);
	free(j->fail_text);
	free(j);
}

int
relay(struct upstream *u, struct mtls_http_req *req, const char *const *extra,
    const char *const *strip, unsigned long long *bytes, const char *prog)
{
	struct relay_job *j = relay_begin(u, req, extra, strip, prog);
	int rc = j != NULL ? relay_step(j) : -1;
	int status = rc == 0 ? j->status : -1;

	*bytes = j != NULL ? j->bytes : 0;
	relay_free(j);
	return status;
}
