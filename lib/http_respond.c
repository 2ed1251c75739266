/*
 * http_respond.c - answers of the HTTP/1.1 server helper: fixed or
 * streamed (chunked, or close-delimited for HTTP/1.0), with Date,
 * Content-Length and Connection set by the library, and caller headers
 * checked so that nothing can be injected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_server.h"

#define CHUNK_COPY_MAX 65536    /* chunks up to this are sent in one write */
#define SMALL_BODY 16384        /* bodies up to this go with their head */

/* 1xx, 204 and 304 never have a body (RFC 9110, 6.4.1). */
static bool
status_bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

static bool
wants_close(const char *const *headers)
{
	for (; headers != NULL && *headers != NULL; headers++)
		if (http_header_is(*headers, "Connection") &&
		    strcasestr(*headers + 11, "close") != NULL)
			return true;
	return false;
}

static int
check_response(struct mtls_http_req *req, int status,
    const char *const *headers, bool streamed)
{
	struct mtls *c = req->conn;

	ENSURE_CONN(req->resp == RESP_NONE, c, MTLS_ERR_INVALID, "this request "
	    "has already been answered");
	ENSURE_CONN(status >= 101 && status <= 599, c, MTLS_ERR_INVALID,
	    "HTTP status %d is not a final status (101..599)", status);
	for (; headers != NULL && *headers != NULL; headers++) {
		ENSURE_CONN(http_header_line_ok(*headers), c, MTLS_ERR_INVALID,
		    "header '%.60s' is not \"Name: value\" with a token name and "
		    "no CR, LF or NUL: refused (header injection)", *headers);
		ENSURE_CONN(!http_header_is(*headers, "Transfer-Encoding") &&
		    (streamed || !http_header_is(*headers, "Content-Length")), c,
		    MTLS_ERR_INVALID, "header '%.60s' is set by the library from "
		    "the body", *headers);
	}
	return 0;
}

/* Whether the connection can carry another request after this one. */
static bool
keep_alive_after(const struct mtls_http_req *req, const char *const *headers)
{
	return req->head.keep_alive && !HTTP_CONN(req->conn)->done &&
	    req->reader.done && !wants_close(headers);
}

/* The Date header's value for now (RFC 9110, 5.6.7), made once a second
 * per thread. */
static const char *
http_date(void)
{
	static __thread time_t made = -1;
	static __thread char date[40];
	time_t now = time(NULL);
	struct tm tm;

	if (now != made) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
		    gmtime_r(&now, &tm));
		made = now;
	}
	return date;
}

/* "HTTP/1.1 200 OK", Date, the caller's headers, then framing_line. */
static int
build_head(struct mtls_http_req *req, int status, const char *const *headers,
    const char *framing_line, bool keep, char **out, size_t *out_len)
{
	char line[256];
	size_t cap = 0;
	bool ok, closing = wants_close(headers);  /* before headers is walked */

	*out = NULL;
	*out_len = 0;
	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
	    http_reason_phrase(status), http_date());
	ok = http_append(out, out_len, &cap, line, strlen(line));
	for (; ok && headers != NULL && *headers != NULL; headers++)
		ok = http_append(out, out_len, &cap, *headers, strlen(*headers)) &&
		    http_append(out, out_len, &cap, "\r\n", 2);
	if (ok && framing_line != NULL)
		ok = http_append(out, out_len, &cap, framing_line,
		    strlen(framing_line));
	if (ok && !closing && (!keep || req->head.minor_version == 0))
		ok = http_append(out, out_len, &cap, keep ? "Connection: "
		    "keep-alive\r\n" : "Connection: close\r\n", keep ? 24 : 19);
	ok = ok && http_append(out, out_len, &cap, "\r\n", 2);
	if (!ok) {
		free(*out);
		return CONN_FAIL(req->conn, MTLS_ERR_NOMEM, "out of memory building "
		    "the response");
	}
	return 0;
}

static const char SEND_WHAT[] = "sending the HTTP response";

static void
out_reset(struct http_out *o)
{
	free(o->own);
	memset(o, 0, sizeof(*o));
}

/* The part of o to send now: its bytes and length. */
static const void *
out_part(const struct http_out *o, const void *ext, size_t *len)
{
	switch (o->part) {
	case 0:
		*len = o->own_len;
		return o->own;
	case 1:
		*len = o->ext_len;
		return ext;
	case 2:
		*len = o->tail_len;
		return o->tail;
	default:
		*len = 0;
		return NULL;
	}
}

/*
 * Sends what req->out holds, ext being the caller's buffer.  Each part must
 * be written within the I/O timeout (as nginx's send_timeout), counted
 * across the calls that go on with it.  Returns 0 once all is sent,
 * MTLS_WANT_* with the rest kept, or -1 with the error on the connection
 * (the rest kept after MTLS_ERR_INTERRUPTED: a signal cut the wait).
 */
static int
out_flush(struct mtls_http_req *req, const void *ext)
{
	struct http_out *o = &req->out;
	struct mtls *c = req->conn;
	struct http_timer *wt = &HTTP_CONN(c)->wtimer;
	int ms = mtls_config_write_ms(mtls_conn_config(c));

	for (; o->part < 3; o->part++) {
		size_t len;
		const void *p = out_part(o, ext, &len);
		ssize_t n;

		if (len == 0)
			continue;
		http_timer_start(wt, ms, SEND_WHAT);
		n = mtls_write_timed(c, p, len, wt->deadline, wt->ms, wt->what);
		if (n == MTLS_WANT_POLLIN || n == MTLS_WANT_POLLOUT ||
		    (n == -1 && mtls_error_code(c) == MTLS_ERR_INTERRUPTED))
			return (int)n;
		http_timer_stop(wt);
		if (n != (ssize_t)len) {
			out_reset(o);
			return -1;
		}
	}
	out_reset(o);
	return 0;
}

/*
 * A response call made while one waits to be made again: only that call
 * goes on, with the same length (and buffer); it sends the rest.  Returns
 * 1 when no call waits, else as out_flush.
 */
static int
out_resume(struct mtls_http_req *req, enum out_call call, const void *ext,
    size_t arg_len)
{
	static const char *const names[] = { "", "mtls_http_respond",
	    "mtls_http_respond_start", "mtls_http_respond_write",
	    "mtls_http_respond_end" };
	enum out_call waiting = req->out.call;

	if (waiting == OUT_NONE)
		return 1;
	ENSURE_CONN(waiting == call && arg_len == req->out.arg_len, req->conn,
	    MTLS_ERR_INVALID, "%s must wait for the socket and be made again "
	    "with the same arguments to send the rest of the response",
	    names[waiting]);
	return out_flush(req, ext);
}

/* Sends own (ours, freed when sent), the caller's ext_len bytes of ext and
 * a tail, for call (its length argument arg_len); returns as out_flush. */
static int
out_send(struct mtls_http_req *req, enum out_call call, size_t arg_len,
    char *own, size_t own_len, const void *ext, size_t ext_len,
    const char *tail)
{
	struct http_out *o = &req->out;

	out_reset(o);
	o->call = call;
	o->arg_len = arg_len;
	o->own = own;
	o->own_len = own_len;
	o->ext_len = ext_len;
	o->tail = tail;
	o->tail_len = tail != NULL ? strlen(tail) : 0;
	return out_flush(req, ext);
}

/* Sends the head and body_len bytes of body; a small body goes in the
 * head's write (one TLS record, not two).  The head is ours. */
static int
send_message(struct mtls_http_req *req, enum out_call call, size_t arg_len,
    char *head, size_t head_len, const void *body, size_t body_len)
{
	if (body_len > 0 && body_len <= SMALL_BODY) {
		char *grown = realloc(head, head_len + body_len);

		if (grown != NULL) {
			memcpy(grown + head_len, body, body_len);
			head = grown;
			head_len += body_len;
			body_len = 0;
		}
	}
	return out_send(req, call, arg_len, head, head_len, body, body_len, NULL);
}

MTLS_EXPORT int
mtls_http_respond(struct mtls_http_req *req, int status,
    const char *const *headers, const void *body, size_t body_len)
{
	char framing[64], *head;
	size_t head_len;
	bool keep;

	int rc;

	if (req == NULL)
		return -1;
	if ((rc = out_resume(req, OUT_RESPOND, body, body_len)) != 1)
		return rc;
	if (check_response(req, status, headers, false) != 0)
		return -1;
	keep = keep_alive_after(req, headers);
	framing[0] = '\0';
	if (!status_bodiless(status))
		snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n",
		    body_len);
	else
		body_len = 0;
	if (build_head(req, status, headers, framing, keep, &head,
	    &head_len) != 0)
		return -1;
	req->resp = RESP_SENT;
	HTTP_CONN(req->conn)->done = !keep;
	HTTP_CONN(req->conn)->pending = false;
	return send_message(req, OUT_RESPOND, body_len, head, head_len, body,
	    req->head_only ? 0 : body_len);
}

/* The Content-Length among the caller's headers: its value, -1 when
 * there is none, -2 when it is not a plain decimal number. */
static long long
caller_length(const char *const *headers)
{
	for (; headers != NULL && *headers != NULL; headers++) {
		const char *v = *headers + 15;
		char *end;
		long long n;

		if (!http_header_is(*headers, "Content-Length"))
			continue;
		v += strspn(v, " \t");
		n = strtoll(v, &end, 10);
		end += strspn(end, " \t");
		return *v >= '0' && *v <= '9' && *end == '\0' && n >= 0 ? n : -2;
	}
	return -1;
}

MTLS_EXPORT int
mtls_http_respond_start(struct mtls_http_req *req, int status,
    const char *const *headers)
{
	long long length;
	const char *framing = NULL;
	char *head;
	size_t head_len;
	bool keep;
	int rc;

	if (req == NULL)
		return -1;
	if ((rc = out_resume(req, OUT_START, NULL, 0)) != 1)
		return rc;
	if (check_response(req, status, headers, true) != 0)
		return -1;
	if ((length = caller_length(headers)) == -2)
		return CONN_FAIL(req->conn, MTLS_ERR_INVALID, "the Content-Length "
		    "given is not a number of bytes");
	keep = keep_alive_after(req, headers);
	if (status_bodiless(status) || req->head_only || length >= 0) {
		req->resp = status_bodiless(status) ? RESP_SENT : RESP_LENGTH;
		req->resp_left = length > 0 ? (uint64_t)length : 0;
	} else if (req->head.minor_version >= 1) {
		req->resp = RESP_CHUNKED;
		framing = "Transfer-Encoding: chunked\r\n";
	} else {
		req->resp = RESP_CLOSE;
		keep = false;
	}
	if (build_head(req, status, headers, framing, keep, &head,
	    &head_len) != 0) {
		req->resp = RESP_NONE;
		return -1;
	}
	HTTP_CONN(req->conn)->done = !keep;
	if (req->resp == RESP_SENT)
		HTTP_CONN(req->conn)->pending = false;    /* bodiless: nothing follows */
	return send_message(req, OUT_START, 0, head, head_len, NULL, 0);
}

/* One chunk (RFC 9112, 7.1): its size line, the data and CRLF, in one
 * write (one TLS record or few) unless it is big.  Returns as out_flush. */
static int
write_chunk(struct mtls_http_req *req, const void *buf, size_t len)
{
	char size_line[32], *chunk;
	int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);

	if (len > CHUNK_COPY_MAX) {
		ENSURE_CONN((chunk = strdup(size_line)) != NULL, req->conn,
		    MTLS_ERR_NOMEM, "out of memory sending a chunk");
		return out_send(req, OUT_WRITE, len, chunk, (size_t)n, buf, len,
		    "\r\n");
	}
	ENSURE_CONN((chunk = malloc((size_t)n + len + 2)) != NULL, req->conn,
	    MTLS_ERR_NOMEM, "out of memory sending a chunk of %zu bytes", len);
	memcpy(chunk, size_line, (size_t)n);
	memcpy(chunk + n, buf, len);
	memcpy(chunk + n + len, "\r\n", 2);
	return out_send(req, OUT_WRITE, len, chunk, (size_t)n + len + 2, NULL, 0,
	    NULL);
}

MTLS_EXPORT ssize_t
mtls_http_respond_write(struct mtls_http_req *req, const void *buf,
    size_t len)
{
	int rc;

	if (req == NULL)
		return -1;
	if ((rc = out_resume(req, OUT_WRITE, buf, len)) != 1)
		return rc == 0 ? (ssize_t)len : rc;
	ENSURE_CONN(req->resp != RESP_NONE && req->resp != RESP_SENT, req->conn,
	    MTLS_ERR_INVALID, "no streamed response is open: call "
	    "mtls_http_respond_start first");
	if (len == 0 || req->head_only)
		return (ssize_t)len;
	if (req->resp == RESP_LENGTH) {
		ENSURE_CONN(len <= req->resp_left, req->conn, MTLS_ERR_INVALID,
		    "write of %zu bytes passes the Content-Length given (%llu "
		    "left)", len, (unsigned long long)req->resp_left);
		req->resp_left -= len;
	}
	rc = req->resp == RESP_CHUNKED ? write_chunk(req, buf, len) :
	    out_send(req, OUT_WRITE, len, NULL, 0, buf, len, NULL);
	return rc == 0 ? (ssize_t)len : rc;
}

MTLS_EXPORT int
mtls_http_respond_end(struct mtls_http_req *req)
{
	enum resp_state was;

	int rc;

	if (req == NULL)
		return -1;
	if ((rc = out_resume(req, OUT_END, NULL, 0)) != 1)
		return rc;
	was = req->resp;
	ENSURE_CONN(was != RESP_NONE && was != RESP_SENT, req->conn,
	    MTLS_ERR_INVALID, "no streamed response is open: call "
	    "mtls_http_respond_start first");
	req->resp = RESP_SENT;
	HTTP_CONN(req->conn)->pending = false;
	if (was == RESP_LENGTH && req->resp_left > 0 && !req->head_only) {
		HTTP_CONN(req->conn)->done = true;
		return CONN_FAIL(req->conn, MTLS_ERR_INVALID, "streamed response "
		    "ended %llu bytes short of its Content-Length",
		    (unsigned long long)req->resp_left);
	}
	if (was == RESP_CHUNKED && !req->head_only)
		return out_send(req, OUT_END, 0, NULL, 0, NULL, 0, "0\r\n\r\n");
	return 0;
}

