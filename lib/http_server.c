/*
 * http_server.c - the blocking HTTP/1.1 server helper (RFC 9112) over an
 * accepted libmtls connection: requests read strictly with nginx-like
 * limits and deadlines, bad ones answered and the connection ended,
 * keep-alive and pipelining in order.  The answers are in http_respond.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server.h"

#define READ_CHUNK 16384

/* ------------------------------------------------------------- limits */

/*
 * The server helper's settings of a config, in the config's extension
 * slot.  mtls_config_set_http_limit makes them, with the defaults, the
 * first time it changes one; a config it never changed has none and reads
 * the defaults.  Made only by a setter, while the config is still set up
 * by one thread (a config in use is frozen and its setters refuse): the
 * connections that read them, in any thread, need no lock.
 */
struct http_config {
	struct http_limits limits;
	int header_ms, idle_ms;     /* 0: none */
};

static const struct http_config http_config_default = {
	.limits = HTTP_LIMITS_DEFAULT,
	.header_ms = 60000,         /* nginx's client_header_timeout */
	.idle_ms = 75000,           /* nginx's keepalive_timeout */
};

/* The settings of c's config: its own, or the defaults. */
static const struct http_config *
http_config_of(const struct mtls *c)
{
	const struct http_config *hc = mtls_config_ext(mtls_conn_config(c));

	return hc != NULL ? hc : &http_config_default;
}

static void
http_config_free(struct mtls_config *cfg)
{
	free(mtls_config_ext(cfg));
	mtls_config_set_ext(cfg, NULL, NULL);
}

/* cfg's settings to change, made with the defaults when it has none yet:
 * NULL with MTLS_ERR_NOMEM on cfg. */
static struct http_config *
http_config_to_set(struct mtls_config *cfg)
{
	struct http_config *hc = mtls_config_ext(cfg);

	if (hc != NULL)
		return hc;
	ENSURE_CFG_PTR((hc = malloc(sizeof(*hc))) != NULL, cfg, MTLS_ERR_NOMEM,
	    "out of memory");
	*hc = http_config_default;
	mtls_config_set_ext(cfg, hc, http_config_free);
	return hc;
}

static const char *
limit_name(int limit)
{
	switch (limit) {
	case MTLS_HTTP_MAX_REQUEST_LINE:
		return "MTLS_HTTP_MAX_REQUEST_LINE";
	case MTLS_HTTP_MAX_HEADER_BYTES:
		return "MTLS_HTTP_MAX_HEADER_BYTES";
	case MTLS_HTTP_MAX_HEADERS:
		return "MTLS_HTTP_MAX_HEADERS";
	case MTLS_HTTP_MAX_HEADER_LINE:
		return "MTLS_HTTP_MAX_HEADER_LINE";
	default:
		return "?";
	}
}

MTLS_EXPORT int
mtls_config_set_http_limit(struct mtls_config *cfg, int limit,
    unsigned long long value)
{
	struct http_config *hc;
	struct http_limits *lim;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(value > 0 || limit == MTLS_HTTP_MAX_BODY ||
	    limit == MTLS_HTTP_HEADER_TIMEOUT_MS ||
	    limit == MTLS_HTTP_IDLE_TIMEOUT_MS, cfg, MTLS_ERR_INVALID,
	    "HTTP limit %d (%s) cannot be 0: no request would fit", limit,
	    limit_name(limit));
	ENSURE_CFG((limit != MTLS_HTTP_HEADER_TIMEOUT_MS &&
	    limit != MTLS_HTTP_IDLE_TIMEOUT_MS) || value <= 86400000, cfg,
	    MTLS_ERR_INVALID, "HTTP timeout %llu ms is over a day", value);
	/* An unknown limit is refused below; the defaults it may have made
	 * are what the config had. */
	if ((hc = http_config_to_set(cfg)) == NULL)
		return -1;
	lim = &hc->limits;
	switch (limit) {
	case MTLS_HTTP_MAX_REQUEST_LINE:
		lim->max_request_line = (size_t)value;
		break;
	case MTLS_HTTP_MAX_HEADER_BYTES:
		lim->max_header_bytes = (size_t)value;
		break;
	case MTLS_HTTP_MAX_HEADERS:
		lim->max_headers = (size_t)value;
		break;
	case MTLS_HTTP_MAX_BODY:
		lim->max_body = value;
		break;
	case MTLS_HTTP_HEADER_TIMEOUT_MS:
		hc->header_ms = (int)value;
		break;
	case MTLS_HTTP_IDLE_TIMEOUT_MS:
		hc->idle_ms = (int)value;
		break;
	case MTLS_HTTP_MAX_HEADER_LINE:
		lim->max_header_line = (size_t)value;
		break;
	default:
		return CFG_FAIL(cfg, MTLS_ERR_INVALID, "unknown HTTP limit %d (see "
		    "enum mtls_http_limit)", limit);
	}
	return RECORDED(0, cfg, mtls_config_set_http_limit, "iu", limit, value);
}

/* ----------------------------------------------------------- requests */

/* The method of the request line at the start of head (up to its first
 * SP, at most 31 bytes shown), for the message of a 501. */
static void
request_method(const char *head, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	if (head == NULL)
		len = 0;
	while (n < len && n + 1 < buflen && n < 31 && head[n] != ' ' &&
	    head[n] != '\r' && head[n] != '\n')
		n++;
	if (n > 0)
		memcpy(buf, head, n);
	buf[n] = '\0';
}

/* Why a head over the limits got 431: the one limit it passed (head NULL:
 * the chunked body's trailer section, http_chunked_decode's limit). */
static void
too_large_cause(const struct http_limits *lim, const char *head, size_t len,
    char *buf, size_t buflen)
{
	size_t longest = http_longest_field_line(head, len);

	if (head == NULL)
		snprintf(buf, buflen, "the trailer section of its chunked body "
		    "is over 4096 bytes");
	else if (lim->max_header_line > 0 && longest > lim->max_header_line)
		snprintf(buf, buflen, "a header line is longer than %zu bytes "
		    "(MTLS_HTTP_MAX_HEADER_LINE)", lim->max_header_line);
	else
		snprintf(buf, buflen, "its head is over %zu bytes or %zu fields "
		    "(MTLS_HTTP_MAX_HEADER_BYTES, MTLS_HTTP_MAX_HEADERS)",
		    lim->max_header_bytes, lim->max_headers);
}

/* What was wrong with the request answered status; head holds the len
 * bytes of its head read so far (NULL once the body is being read), fault
 * the rule the parser found broken (NULL when it did not parse it). */
static void
bad_request_cause(int status, const struct http_limits *lim, const char *head,
    size_t len, const char *fault, char *buf, size_t buflen)
{
	char method[32];

	switch (status) {
	case 408:
		snprintf(buf, buflen, "its head did not arrive in time "
		    "(MTLS_HTTP_HEADER_TIMEOUT_MS)");
		break;
	case 413:
		snprintf(buf, buflen, "its body is over the limit of %llu bytes "
		    "(MTLS_HTTP_MAX_BODY)", (unsigned long long)lim->max_body);
		break;
	case 414:
		snprintf(buf, buflen, "its request line is over %zu bytes "
		    "(MTLS_HTTP_MAX_REQUEST_LINE)", lim->max_request_line);
		break;
	case 431:
		too_large_cause(lim, head, len, buf, buflen);
		break;
	case 501:
		request_method(head, len, method, sizeof(method));
		if (!http_method_known(method) && http_token_ok(method))
			snprintf(buf, buflen, "its method '%s' is not one the "
			    "server knows (methods are case-sensitive; known: GET, "
			    "HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH and "
			    "WebDAV's)", method);
		else
			snprintf(buf, buflen, "it uses a Transfer-Encoding other "
			    "than chunked");
		break;
	case 505:
		snprintf(buf, buflen, "its HTTP version is not 1.0 or 1.1");
		break;
	case 500:
		snprintf(buf, buflen, "the server ran out of memory reading it");
		break;
	default:
		/* A head refused before its end has a bare CR or LF, or a NUL
		 * (http_head_end); a body refused, a bad chunk. */
		snprintf(buf, buflen, "%s", fault != NULL ? fault : head != NULL ?
		    "its head has a bare CR or LF, or a NUL" : "its chunked body "
		    "is malformed (a chunk size line, a chunk's end or its "
		    "trailer)");
		break;
	}
}

/* The longest request line mtls_http_refused gives, before escaping. */
#define REFUSED_LINE_MAX 1024

/*
 * The request line of a refused request, for an access log: the first
 * line of the len bytes of head as far as it arrived, or the parsed line
 * of req once the body was at fault; bytes outside printable ASCII and
 * '"' and '\\' escaped as \xNN, as nginx writes them.  NULL when out of
 * memory.
 */
static char *
escaped_request_line(const char *head, size_t len,
    const struct mtls_http_req *req)
{
	char parsed[REFUSED_LINE_MAX];
	char *out, *o;
	size_t i;

	if (head == NULL && req != NULL) {
		snprintf(parsed, sizeof(parsed), "%s %s %s", req->head.method,
		    req->head.target, mtls_http_req_version(req));
		head = parsed;
		len = strlen(parsed);
	}
	for (i = 0; head != NULL && i < len && i < REFUSED_LINE_MAX &&
	    head[i] != '\r' && head[i] != '\n'; i++)
		;
	if ((o = out = malloc(i * 4 + 1)) == NULL)
		return NULL;
	for (size_t j = 0; j < i; j++) {
		unsigned char b = (unsigned char)head[j];

		if (b < 0x20 || b > 0x7e || b == '"' || b == '\\')
			o += sprintf(o, "\\x%02X", b);
		else
			*o++ = (char)b;
	}
	*o = '\0';
	return out;
}

MTLS_EXPORT int
mtls_http_refused(struct mtls *c, const char **request_line)
{
	const struct http_conn *hc = c != NULL ? HTTP_CONN(c) : NULL;

	if (request_line != NULL)
		*request_line = hc != NULL && hc->refused_line != NULL ?
		    hc->refused_line : "";
	return hc != NULL ? hc->refused : 0;
}

/*
 * Answers a bad request with status and "Connection: close" (best effort:
 * the client may be gone), ends keep-alive, and fails with code and a
 * message naming the cause: fault, the rule the parser found broken, or
 * what the len bytes of head read tell (head NULL when the body was at
 * fault).
 */
static int
refuse(struct mtls *c, int status, int code, const char *head, size_t len,
    const char *fault, const struct mtls_http_req *req)
{
	char cause[256], resp[512];
	const char *reason = http_reason_phrase(status);
	int n;

	free(HTTP_CONN(c)->refused_line);
	HTTP_CONN(c)->refused_line = escaped_request_line(head, len, req);
	HTTP_CONN(c)->refused = status;
	bad_request_cause(status, &http_config_of(c)->limits, head, len, fault,
	    cause, sizeof(cause));
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
	    "%d %s\n", status, reason, strlen(reason) + 5, status, reason);
	HTTP_CONN(c)->done = true;
	if (!mtls_conn_has_failed(c))
		(void)mtls_write(c, resp, (size_t)n);
	return CONN_FAIL(c, code, "client %s sent a bad HTTP request: %s; "
	    "answered %d %s and ended the connection", mtls_conn_peer_desc(c),
	    cause, status, reason);
}

static const char IDLE_WAIT[] = "waiting for the next HTTP request";
static const char HEAD_READ[] = "reading the HTTP request head";

static bool
is_want(long rc)
{
	return rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT;
}

/* The client closed, or stayed idle past the timeout: no request lost,
 * nothing reported, keep-alive ends. */
static int
idle_end(struct mtls *c)
{
	mtls_clear_error(mtls_conn_errstate(c));
	HTTP_CONN(c)->done = true;
	return 0;
}

/* What a wait for the next request's first byte came to: 1 when it came,
 * MTLS_WANT_* to wait on, 0 when the client closed or stayed idle (no
 * request lost: nothing is reported), -1 on error. */
static int
idle_outcome(struct mtls *c, ssize_t n)
{
	int code = mtls_error_code(c);

	if (n > 0)
		return 1;
	if (is_want(n))
		return (int)n;
	if (n == 0 || code == MTLS_ERR_TIMEOUT || code == MTLS_ERR_TRUNCATED ||
	    code == MTLS_ERR_CLOSED)
		return idle_end(c);
	return -1;
}

/* MTLS_HTTP_NOWAIT on a blocking socket: a look at what has arrived,
 * without waiting; nothing yet is MTLS_WANT_POLLIN. */
static int
poll_next_request(struct mtls *c)
{
	/* A deadline already past reads once without waiting. */
	struct http_timer poll_once = { 0, http_config_of(c)->idle_ms,
	    IDLE_WAIT };
	ssize_t n;

	if (mtls_conn_handshake_done(c) && !mtls_input_pending(c))
		return MTLS_WANT_POLLIN;    /* the common case, made cheap */
	n = http_fill(c, &poll_once);
	if (n < 0 && mtls_error_code(c) == MTLS_ERR_TIMEOUT) {
		mtls_clear_error(mtls_conn_errstate(c));
		return MTLS_WANT_POLLIN;
	}
	return idle_outcome(c, n);
}

/* A wait under the idle timer: blocking, up to the timeout; on a
 * non-blocking connection, across calls (none of which waits). */
static int
wait_next_request(struct mtls *c)
{
	struct http_conn *hc = HTTP_CONN(c);
	ssize_t n = http_fill(c, http_timer_start(&hc->rtimer,
	    http_config_of(c)->idle_ms, IDLE_WAIT));

	if (!is_want(n))
		http_timer_stop(&hc->rtimer);
	return idle_outcome(c, n);
}

/*
 * Before a connection's next request: waits up to the idle timeout for
 * its first byte, or not at all with MTLS_HTTP_NOWAIT.  On a non-blocking
 * connection the idle timer runs across calls and the call never waits.
 * Returns 1 when one may come, 0 when the client closed or stayed idle,
 * MTLS_WANT_POLLIN when nothing has arrived yet or the handshake waits
 * for the client (MTLS_HTTP_NOWAIT), -1 on error.
 */
static int
await_next_request(struct mtls *c, int flags)
{
	bool nonblocking = mtls_conn_is_nonblocking(c);
	bool nowait = (flags & MTLS_HTTP_NOWAIT) != 0 || nonblocking;
	struct http_conn *hc = HTTP_CONN(c);
	int n;

	if (hc->in.off < hc->in.len || (hc->requests == 0 && !nowait))
		return 1;
	/* A handshake waiting for the client is parked like an idle
	 * connection, its deadline counted from accept. */
	if (nowait && !mtls_conn_handshake_done(c) && !mtls_conn_is_plain(c) &&
	    (n = mtls_handshake_step(c)) != 0)
		return n;
	/* The first request's wait is its head's: the header timeout. */
	if (nonblocking && hc->requests == 0)
		return 1;
	/* An idle connection keeps no buffer (as SSL_MODE_RELEASE_BUFFERS). */
	http_inbuf_free(&hc->in);
	return nowait && !nonblocking ? poll_next_request(c) :
	    wait_next_request(c);
}

/* Reads and parses the head into req->head.  Returns 1, 0 or -1 as
 * mtls_http_read_request, or MTLS_WANT_* with what arrived kept. */
static int
read_request_head(struct mtls *c, struct mtls_http_req *req)
{
	const struct http_config *hcfg = http_config_of(c);
	struct http_conn *hc = HTTP_CONN(c);
	const struct http_timer *t = http_timer_start(&hc->rtimer,
	    hcfg->header_ms, HEAD_READ);
	struct http_inbuf *in = &hc->in;
	const char *head;
	int bad_status = 400, rc;
	long end;

	end = http_read_head(c, &hcfg->limits, true, t, &bad_status);
	if (is_want(end))
		return (int)end;
	http_timer_stop(&hc->rtimer);
	/* What arrived of the head (no buffer when nothing did). */
	head = in->data != NULL ? in->data + in->off : NULL;
	if (end == 0) {
		hc->done = true;
		return 0;
	}
	if (end == HTTP_HEAD_CUT)
		return CONN_FAIL(c, MTLS_ERR_TRUNCATED, "client %s closed the "
		    "connection inside an HTTP request head",
		    mtls_conn_peer_desc(c));
	if (end == -1 && mtls_error_code(c) == MTLS_ERR_TIMEOUT)
		return refuse(c, 408, MTLS_ERR_TIMEOUT, head, in->len - in->off,
		    NULL, NULL);
	if (end == -1)
		return -1;
	if (end == HTTP_HEAD_BAD)
		return refuse(c, bad_status, MTLS_ERR_HTTP, head,
		    in->len - in->off, NULL, NULL);
	rc = http_parse_request(head, (size_t)end, &hcfg->limits, &req->head);
	if (rc != 0)
		return refuse(c, rc, MTLS_ERR_HTTP, head, (size_t)end,
		    req->head.fault, NULL);
	in->off += (size_t)end;
	return 1;
}

static void
start_body(struct mtls *c, struct mtls_http_req *req)
{
	const char *expect = http_head_get(&req->head, "Expect", 0);
	const struct http_config *hcfg = http_config_of(c);
	/* Without an I/O timeout, the header timeout bounds each body read. */
	int body_ms = mtls_config_io_ms(mtls_conn_config(c)) > 0 ? 0 :
	    hcfg->header_ms;

	http_body_init(&req->reader, &req->head, hcfg->limits.max_body,
	    "client", body_ms);
	req->expect_continue = !req->reader.done && expect != NULL &&
	    req->head.minor_version >= 1 &&
	    strcasecmp(expect, "100-continue") == 0;
}

static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";

MTLS_EXPORT ssize_t
mtls_http_req_read_body(struct mtls_http_req *req, void *buf, size_t len)
{
	struct mtls *c;
	ssize_t n;

	if (req == NULL)
		return -1;
	c = req->conn;
	if (req->expect_continue) {
		/* RFC 9110, 10.1.1: the client may wait for this before sending.
		 * Owed until written whole: a call that must wait for the socket
		 * writes it again (OpenSSL goes on where it stopped). */
		if (HTTP_CONN(c)->in.off == HTTP_CONN(c)->in.len &&
		    (n = mtls_write(c, CONTINUE, sizeof(CONTINUE) - 1)) !=
		    (ssize_t)sizeof(CONTINUE) - 1)
			return n < 0 ? n : -1;
		req->expect_continue = false;
	}
	n = http_body_read(c, &req->reader, buf, len);
	if (n < 0 && req->reader.bad_status != 0)
		return refuse(c, req->reader.bad_status, MTLS_ERR_HTTP, NULL, 0,
		    NULL, req);
	return n;
}

static int
read_whole_body(struct mtls_http_req *req)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	while ((n = mtls_http_req_read_body(req, chunk, sizeof(chunk))) > 0)
		ENSURE_CONN(http_append(&req->body, &req->body_len, &req->body_cap,
		    chunk, (size_t)n), req->conn, MTLS_ERR_NOMEM, "out of memory "
		    "reading a request body of %zu bytes", req->body_len);
	return (int)n;
}

/* A request whose reading must wait (MTLS_WANT_*) or was cut short by a
 * signal (MTLS_ERR_INTERRUPTED): kept on c for the next call, which goes on
 * with it.  Whether it was kept. */
static bool
keep_partial(struct mtls *c, struct mtls_http_req *req, int rc)
{
	if (!is_want(rc) &&
	    !(rc == -1 && mtls_error_code(c) == MTLS_ERR_INTERRUPTED))
		return false;
	HTTP_CONN(c)->partial = req;
	HTTP_CONN(c)->partial_free = mtls_http_req_free;
	return true;
}

MTLS_EXPORT int
mtls_http_read_request(struct mtls *c, int flags, struct mtls_http_req **out)
{
	struct mtls_http_req *req;
	int rc;

	if (c == NULL)
		return -1;
	ENSURE_CONN(out != NULL, c, MTLS_ERR_INVALID, "no place for the request");
	*out = NULL;
	ENSURE_CONN(mtls_conn_is_accepted(c), c, MTLS_ERR_INVALID, "not an "
	    "accepted connection: requests are read on the server side");
	if (http_conn_attach(c) != 0)
		return -1;
	if (HTTP_CONN(c)->pending) {
		HTTP_CONN(c)->done = true;
		return CONN_FAIL(c, MTLS_ERR_INVALID, "the previous HTTP request "
		    "on this connection was not answered: its client would take "
		    "the next response for it");
	}
	if ((req = HTTP_CONN(c)->partial) != NULL) {
		HTTP_CONN(c)->partial = NULL;
		if (!req->head_read)
			goto head;
		goto body;
	}
	if (HTTP_CONN(c)->done || (rc = await_next_request(c, flags)) == 0)
		return 0;
	if (rc < 0)
		return rc;
	ENSURE_CONN((req = calloc(1, sizeof(*req))) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	req->conn = c;
head:
	if ((rc = read_request_head(c, req)) != 1)
		goto fail;
	req->head_read = true;
	req->head_only = strcmp(req->head.method, "HEAD") == 0;
	start_body(c, req);
body:
	if (!(flags & MTLS_HTTP_STREAM) && (rc = read_whole_body(req)) != 0)
		goto fail;
	HTTP_CONN(c)->requests++;
	HTTP_CONN(c)->pending = true;
	*out = req;
	return 1;
fail:
	if (!keep_partial(c, req, rc))
		mtls_http_req_free(req);
	return rc;
}

/* The ms left before t's deadline (0: passed), or -1 when it has none. */
static long
timer_left(const struct http_timer *t, long now)
{
	if (t->what == NULL || t->deadline < 0)
		return -1;
	return t->deadline > now ? t->deadline - now : 0;
}

MTLS_EXPORT long
mtls_http_ms_left(struct mtls *c)
{
	const struct http_conn *hc;
	long now = mtls_now_ms(), r, w;

	if (c == NULL)
		return -1;
	if ((r = mtls_handshake_ms_left(c)) >= 0)
		return r;
	if ((hc = HTTP_CONN(c)) == NULL)
		return -1;
	r = timer_left(&hc->rtimer, now);
	w = timer_left(&hc->wtimer, now);
	return r < 0 || (w >= 0 && w < r) ? w : r;
}

MTLS_EXPORT void
mtls_http_req_free(struct mtls_http_req *req)
{
	if (req == NULL)
		return;
	http_head_free(&req->head);
	free(req->body);
	free(req->out.own);
	free(req);
}

/* ------------------------------------------------------------ accessors */

MTLS_EXPORT const char *
mtls_http_req_method(const struct mtls_http_req *req)
{
	return req != NULL ? req->head.method : NULL;
}

MTLS_EXPORT const char *
mtls_http_req_target(const struct mtls_http_req *req)
{
	return req != NULL ? req->head.target : NULL;
}

MTLS_EXPORT const char *
mtls_http_req_version(const struct mtls_http_req *req)
{
	if (req == NULL)
		return NULL;
	return req->head.minor_version == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

MTLS_EXPORT const char *
mtls_http_req_header(const struct mtls_http_req *req, const char *name,
    size_t index)
{
	return req != NULL && name != NULL ?
	    http_head_get(&req->head, name, index) : NULL;
}

MTLS_EXPORT int
mtls_http_req_header_at(const struct mtls_http_req *req, size_t index,
    const char **name, const char **value)
{
	if (req == NULL || index >= req->head.header_count)
		return 0;
	*name = req->head.headers[index].name;
	*value = req->head.headers[index].value;
	return 1;
}

MTLS_EXPORT const void *
mtls_http_req_body(const struct mtls_http_req *req, size_t *len)
{
	if (len != NULL)
		*len = req != NULL ? req->body_len : 0;
	return req != NULL && req->body != NULL ? req->body : "";
}
