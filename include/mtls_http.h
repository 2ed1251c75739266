/*
 * mtls_http.h - libmtls's HTTP/1.1 helpers, client and server side: a
 * layer above the connection API of mtls.h, which they use as any program
 * would.  Included by mtls.h; a program may include either.  The
 * conventions of mtls.h hold here too.
 */
#ifndef MTLS_HTTP_H
#define MTLS_HTTP_H

#include "mtls.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- HTTP/1.1 client */

/*
 * A response to mtls_http_request: status, headers and body.  Owned by the
 * caller; free it with mtls_http_response_free.
 */
struct mtls_http_response;

/* Flags for mtls_http_request. */
#define MTLS_HTTP_STREAM 0x1    /* return after the head: read the body with
                                   mtls_http_response_read (or, on a
                                   server, mtls_http_req_read_body) */
#define MTLS_HTTP_NOWAIT 0x2    /* mtls_http_read_request: do not wait for
                                   the next request to begin */

/*
 * mtls_http_request - sends one HTTP/1.1 request over the connected client
 * c and reads the response; several may follow one another on one
 * keep-alive connection.  method ("GET"), target (origin form, "/path?q")
 * and each of headers (a NULL-terminated array of "Name: value" strings,
 * or NULL) are checked first: a CR, LF or NUL in any of them fails with
 * MTLS_ERR_INVALID (header injection).  A Host header is added unless
 * given; Content-Length is set from body_len when body is not NULL.  1xx
 * responses are skipped; HEAD, 204 and 304 responses have no body; bodies
 * framed by Content-Length, chunked encoding or the end of the connection
 * are read whole (at most 64 MiB) unless flags has MTLS_HTTP_STREAM.
 * Returns the response, or NULL with the error on c: MTLS_ERR_HTTP for a
 * malformed or ambiguous response (conflicting or bad Content-Length,
 * bad chunk), or any error of mtls_write / mtls_read.
 */
MTLS_EXPORT struct mtls_http_response *mtls_http_request(struct mtls *c,
    const char *method, const char *target, const char *const *headers,
    const void *body, size_t body_len, int flags);

/*
 * mtls_http_resume - goes on with the request that a signal interrupted
 * (mtls_http_request or mtls_http_url failed with MTLS_ERR_INTERRUPTED,
 * see mtls_config_set_interruptible): the rest of the request is sent and
 * the response read, nothing sent twice.  Returns the response as
 * mtls_http_request does (the caller frees it), or NULL with the error on
 * c: MTLS_ERR_INTERRUPTED again (resume again), MTLS_ERR_INVALID when no
 * request is pending, or any error of mtls_http_request.  A new request
 * on c drops the pending one.
 */
MTLS_EXPORT struct mtls_http_response *mtls_http_resume(struct mtls *c);

/*
 * mtls_http_want - on a non-blocking connection (a non-blocking socket
 * given to mtls_connect_socket), mtls_http_request and mtls_http_resume
 * never wait: when the socket must become readable or writable first they
 * return NULL, keep what was sent and what arrived, and this says which:
 * MTLS_WANT_POLLIN or MTLS_WANT_POLLOUT (call mtls_http_resume once the
 * socket is ready).  The I/O timeout then runs across those calls, as
 * mtls_http_ms_left tells, and a call made after it fails with
 * MTLS_ERR_TIMEOUT.  Returns 0 when no request waits on c: the last call
 * succeeded, or failed (see mtls_error).
 */
MTLS_EXPORT int mtls_http_want(struct mtls *c);

/*
 * mtls_http_response_status / _reason - the status code (200) and reason
 * phrase ("OK", borrowed from r).
 */
MTLS_EXPORT int mtls_http_response_status(const struct mtls_http_response *r);
MTLS_EXPORT const char *mtls_http_response_reason(
    const struct mtls_http_response *r);

/* mtls_http_response_version - the version the server answered with,
 * "HTTP/1.1" or "HTTP/1.0" (a static string); NULL for a NULL r. */
MTLS_EXPORT const char *mtls_http_response_version(
    const struct mtls_http_response *r);

/*
 * mtls_http_response_header - the value of the index-th header called name
 * (case-insensitive; repeated headers are kept in order), or NULL.
 * mtls_http_response_header_at - the index-th header of all, in order:
 * sets *name and *value and returns 1, or returns 0 past the end.
 * Strings are borrowed from r.
 */
MTLS_EXPORT const char *mtls_http_response_header(
    const struct mtls_http_response *r, const char *name, size_t index);
MTLS_EXPORT int mtls_http_response_header_at(
    const struct mtls_http_response *r, size_t index, const char **name,
    const char **value);

/*
 * mtls_http_response_headers - every header of r in one block, for a
 * binding that would otherwise cross into C once a header: each name and
 * each value in turn, in order, each ended by a NUL
 * ("Content-Type\0text/plain\0Set-Cookie\0a=1\0...").  Sets *len (when len
 * is not NULL) to the block's length, the NULs counted: 0 for a response
 * without headers.  The block is made on the first call and borrowed from
 * r until mtls_http_response_free.  Returns it, or NULL for a NULL r or
 * when memory runs out.
 */
MTLS_EXPORT const char *mtls_http_response_headers(
    struct mtls_http_response *r, size_t *len);

/*
 * mtls_http_response_body - the body read whole, and its length in *len;
 * borrowed from r, NUL-terminated for convenience (the length counts no
 * NUL).  Empty, never NULL, for a bodiless or streamed response.
 */
MTLS_EXPORT const void *mtls_http_response_body(
    const struct mtls_http_response *r, size_t *len);

/*
 * mtls_http_response_read - for a response requested with
 * MTLS_HTTP_STREAM: reads up to len bytes of its body.  Returns the number
 * read, 0 at the end of the body, MTLS_WANT_POLLIN on a non-blocking
 * connection (call again when it is readable: the I/O timeout runs across
 * calls, see mtls_http_ms_left), or -1 with the error on the connection
 * (MTLS_ERR_HTTP for a bad chunk, MTLS_ERR_TRUNCATED when the connection
 * ended early).  Read the body to its end before the next request.
 */
MTLS_EXPORT ssize_t mtls_http_response_read(struct mtls_http_response *r,
    void *buf, size_t len);

/* mtls_http_response_free - frees r; NULL is ignored.  The connection
 * stays open for the next request if the response allowed keep-alive. */
MTLS_EXPORT void mtls_http_response_free(struct mtls_http_response *r);

/*
 * mtls_http_url - the one-call form: connects the new client c to the
 * host and port of an https:// URL (port 443 by default; IPv6 literals in
 * brackets), sends method with body (NULL for none) to its path, and
 * returns the response read whole.  Returns NULL with the error on c; an
 * URL that is not https:// fails with MTLS_ERR_INVALID (on a plaintext
 * client, mtls_config_insecure_plaintext: one that is not http://, port 80
 * by default).
 */
MTLS_EXPORT struct mtls_http_response *mtls_http_url(struct mtls *c,
    const char *method, const char *url, const void *body, size_t body_len);

/* ------------------------------------------------------- HTTP/1.1 server */

/* Limits of the HTTP/1.1 server helper, for mtls_config_set_http_limit();
 * the defaults are nginx's. */
enum mtls_http_limit {
	MTLS_HTTP_MAX_REQUEST_LINE = 1, /* bytes of the request line, CRLF not
	                                   counted, default 8192; longer: 414 */
	MTLS_HTTP_MAX_HEADER_BYTES,     /* bytes of the whole head, default
	                                   32768; more: 431 */
	MTLS_HTTP_MAX_HEADERS,          /* header fields, default 100; more: 431 */
	MTLS_HTTP_MAX_BODY,             /* bytes of a request body, default 1 MiB
	                                   (client_max_body_size); more: 413;
	                                   0 for no limit */
	MTLS_HTTP_HEADER_TIMEOUT_MS,    /* the whole head must arrive within this
	                                   time of its first byte (of the call,
	                                   for a connection's first request),
	                                   default 60000 (client_header_timeout);
	                                   later: 408.  Slowloris ends here */
	MTLS_HTTP_IDLE_TIMEOUT_MS,      /* how long a keep-alive connection may
	                                   wait for its next request, default
	                                   75000 (keepalive_timeout) */
	MTLS_HTTP_MAX_HEADER_LINE       /* bytes of one header field line, CRLF
	                                   not counted, default 8192 (nginx's
	                                   large_client_header_buffers 4 8k: a
	                                   line must fit in one 8 KiB buffer);
	                                   longer: 431, even when the head has
	                                   room for it */
};

/*
 * mtls_config_set_http_limit - sets one limit (enum mtls_http_limit) of the
 * HTTP server helper for connections made from cfg.  A timeout of 0 means
 * none.  Returns 0, or -1 with MTLS_ERR_INVALID (unknown limit, 0 for a
 * size other than MTLS_HTTP_MAX_BODY, or a timeout over a day) or
 * MTLS_ERR_CONFIG_FROZEN.
 *
 * nginx sizes the request line and each header line with one setting,
 * large_client_header_buffers; to do as `large_client_header_buffers 4 16k`
 * does, set MTLS_HTTP_MAX_REQUEST_LINE and MTLS_HTTP_MAX_HEADER_LINE to
 * 16384 and MTLS_HTTP_MAX_HEADER_BYTES to 65536:
 *
 *	mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_REQUEST_LINE, 16384);
 *	mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_HEADER_LINE, 16384);
 *	mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_HEADER_BYTES, 65536);
 */
MTLS_EXPORT int mtls_config_set_http_limit(struct mtls_config *cfg,
    int limit, unsigned long long value);

/* A request read by a server: method, target, headers, body.  Owned by the
 * caller; free it with mtls_http_req_free after answering it. */
struct mtls_http_req;

/*
 * mtls_http_read_request - reads the next request on the accepted
 * connection c (performing the handshake first if needed).  Requests that
 * arrive together (pipelining) are returned one per call, in order.  The
 * body (Content-Length or chunked) is read whole unless flags has
 * MTLS_HTTP_STREAM; "Expect: 100-continue" is answered with 100 Continue
 * before it is read.  A malformed or ambiguous request, or one over a
 * limit, is answered with 400, 413, 414, 431, 501 or 505 (a head that does
 * not arrive in time with 408) and "Connection: close": the connection
 * must then be closed.  Methods are case-sensitive (RFC 9110, 9.1): the
 * helper knows GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH and the
 * WebDAV methods PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK and UNLOCK,
 * and answers any other ("get", CONNECT, "FOO") with 501 Not Implemented;
 * a method that is not a token at all gets 400.  The caller answers a
 * known method it does not serve (405 Method Not Allowed, with Allow).
 * With MTLS_HTTP_NOWAIT in flags the call does not wait for a request to
 * begin, nor for the client's part of the handshake: when no byte of one
 * has arrived it returns MTLS_WANT_POLLIN (the handshake's deadline still
 * counts from accept: mtls_handshake_ms_left), and the caller can park
 * the connection (in its own poll or epoll loop, on
 * mtls_fd) and call again when the socket is readable, so that an idle
 * keep-alive connection needs no thread.  Once a request has begun, the
 * call waits for the rest of it, bounded by MTLS_HTTP_HEADER_TIMEOUT_MS.
 * On a non-blocking connection (a non-blocking socket given to
 * mtls_accept_socket) no call ever waits: each does what has arrived and
 * returns MTLS_WANT_POLLIN or MTLS_WANT_POLLOUT, at any point of the
 * handshake, the head or the body; what arrived is kept, and the next call
 * (same flags) goes on where this one stopped.  The timeouts then run
 * across calls: mtls_http_ms_left says when the next deadline falls, and a
 * call made after it ends the wait as a blocking call would have (0 for an
 * idle keep-alive connection, 408 for a head that did not arrive).
 * Returns 1 with a new request in *req; 0 when there is no next request:
 * the client closed the connection, stayed idle past
 * MTLS_HTTP_IDLE_TIMEOUT_MS, or the last response ended keep-alive;
 * MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT as above; or -1 with the error on
 * c: MTLS_ERR_HTTP (the message says what was wrong and which status was
 * answered), MTLS_ERR_TIMEOUT, MTLS_ERR_TRUNCATED, or any error of
 * mtls_handshake and mtls_read.
 */
MTLS_EXPORT int mtls_http_read_request(struct mtls *c, int flags,
    struct mtls_http_req **req);

/*
 * mtls_http_ms_left - for an event loop over non-blocking connections:
 * the milliseconds left before the deadline of what the HTTP server
 * helper waits for on c (the handshake, the next request of an idle
 * keep-alive connection, the rest of a head, the next piece of a body, or
 * the client's reading of a response), 0 when it has passed: call the
 * function that returned MTLS_WANT_* again, and it ends the wait as the
 * timeout says.  Returns -1 when nothing waits under a deadline.
 */
MTLS_EXPORT long mtls_http_ms_left(struct mtls *c);

/*
 * mtls_http_refused - after mtls_http_read_request or
 * mtls_http_req_read_body failed having answered a bad request itself
 * (MTLS_ERR_HTTP, or MTLS_ERR_TIMEOUT with 408), what an access log
 * records of it: returns the status answered (400, 408, 413, 414, 431,
 * 501 or 505), and sets *request_line (when not NULL) to the request line
 * as far as it arrived, at most 1024 bytes, with bytes outside printable
 * ASCII, '"' and '\' written \xNN as nginx logs them ("" when none
 * arrived); borrowed from c until it is freed.  Returns 0, with "", when
 * the helper refused no request on c.
 */
MTLS_EXPORT int mtls_http_refused(struct mtls *c, const char **request_line);

/*
 * The request's method ("GET"), target as sent ("/path?q=1"), and version
 * ("HTTP/1.1" or "HTTP/1.0").  Borrowed from req.
 */
MTLS_EXPORT const char *mtls_http_req_method(const struct mtls_http_req *req);
MTLS_EXPORT const char *mtls_http_req_target(const struct mtls_http_req *req);
MTLS_EXPORT const char *mtls_http_req_version(const struct mtls_http_req *req);

/*
 * mtls_http_req_header / _header_at - as mtls_http_response_header and
 * mtls_http_response_header_at, for the request.  Borrowed from req.
 */
MTLS_EXPORT const char *mtls_http_req_header(const struct mtls_http_req *req,
    const char *name, size_t index);
MTLS_EXPORT int mtls_http_req_header_at(const struct mtls_http_req *req,
    size_t index, const char **name, const char **value);

/*
 * mtls_http_req_body - the body read whole and its length in *len,
 * borrowed from req and NUL-terminated (the length counts no NUL); empty,
 * never NULL, without a body or when it is streamed.
 * mtls_http_req_read_body - with MTLS_HTTP_STREAM: reads up to len bytes
 * of the body; returns the number read, 0 at its end, or -1 with the error
 * on the connection (MTLS_ERR_HTTP for a bad chunk or a body over
 * MTLS_HTTP_MAX_BODY, answered as mtls_http_read_request does), or
 * MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT on a non-blocking connection.  A
 * body not read to its end when the response is sent ends keep-alive.
 */
MTLS_EXPORT const void *mtls_http_req_body(const struct mtls_http_req *req,
    size_t *len);
MTLS_EXPORT ssize_t mtls_http_req_read_body(struct mtls_http_req *req,
    void *buf, size_t len);

/*
 * mtls_http_respond - answers req with status (100 < status < 600), the
 * caller's headers (a NULL-terminated array of "Name: value", or NULL) and
 * body_len bytes of body.  Content-Length and Date are added; so is
 * "Connection: close" when the connection cannot stay open (the client
 * asked for it, HTTP/1.0 without keep-alive, a body left unread, or the
 * caller's own "Connection: close").  A HEAD request gets the head only.
 * Returns 0; MTLS_WANT_POLLOUT (or MTLS_WANT_POLLIN) on a non-blocking
 * connection whose socket cannot take it all yet: call again with the same
 * arguments (the same body) when it can, and the rest is sent, no byte
 * twice; or -1 with the error on the connection: MTLS_ERR_INVALID for a
 * bad status, a header with CR, LF or NUL, a second response, or another
 * response call while one waits to be made again; MTLS_ERR_TIMEOUT when
 * the client read nothing for the I/O timeout (non-blocking: counted
 * across the calls, see mtls_http_ms_left); MTLS_ERR_INTERRUPTED (call
 * again, as for MTLS_WANT_*); or any error of mtls_write.
 */
MTLS_EXPORT int mtls_http_respond(struct mtls_http_req *req, int status,
    const char *const *headers, const void *body, size_t body_len);

/*
 * mtls_http_respond_start / _write / _end - a streamed response: the head,
 * then any number of writes, then the end.  Without a Content-Length among
 * the caller's headers the body is sent chunked to an HTTP/1.1 client and
 * delimited by the end of the connection to an HTTP/1.0 one.  Each returns
 * 0 (the write: len), MTLS_WANT_* or -1 as mtls_http_respond: a call that
 * returned MTLS_WANT_* is made again with the same arguments before any
 * other; with a Content-Length, _end fails with MTLS_ERR_INVALID unless
 * exactly that many bytes were written, and the connection is not kept
 * alive.
 */
MTLS_EXPORT int mtls_http_respond_start(struct mtls_http_req *req, int status,
    const char *const *headers);
MTLS_EXPORT ssize_t mtls_http_respond_write(struct mtls_http_req *req,
    const void *buf, size_t len);
MTLS_EXPORT int mtls_http_respond_end(struct mtls_http_req *req);

/* mtls_http_req_free - frees req; NULL is ignored. */
MTLS_EXPORT void mtls_http_req_free(struct mtls_http_req *req);

#ifdef __cplusplus
}
#endif

#endif /* MTLS_HTTP_H */
