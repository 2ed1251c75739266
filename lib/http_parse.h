/*
 * http_parse.h - the HTTP/1.1 message parser of libmtls (RFC 9112): request
 * and response heads, message framing, and the chunked decoder.  Internal:
 * pure functions over buffers, no I/O, so that the fuzzers in tests/fuzz/
 * drive exactly what the library runs.
 *
 * Strict by design: whatever could let two parsers disagree about where a
 * message ends (request smuggling) is refused, never repaired.
 */
#ifndef MTLS_HTTP_PARSE_H
#define MTLS_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits, with nginx-like defaults (HTTP_LIMITS_DEFAULT). */
struct http_limits {
	size_t max_request_line;    /* 8192: longer -> 414 */
	size_t max_header_bytes;    /* 32768 for the whole head: more -> 431 */
	size_t max_headers;         /* 100: more -> 431 */
	uint64_t max_body;          /* 1 MiB (nginx client_max_body_size): -> 413 */
	size_t max_header_line;     /* 8192 for one field line of a request,
	                               CRLF not counted (nginx's
	                               large_client_header_buffers): longer ->
	                               431; 0 for no limit */
};

/* nginx's defaults, as an initializer (for a static const) and by call. */
#define HTTP_LIMITS_DEFAULT { .max_request_line = 8192, \
	.max_header_bytes = 32768, .max_headers = 100, \
	.max_body = 1024 * 1024, .max_header_line = 8192 }
void http_limits_default(struct http_limits *lim);

struct http_header {
	const char *name;           /* points into the parsed buffer copy */
	const char *value;          /* OWS trimmed */
};

enum http_framing {
	HTTP_BODY_NONE,             /* no body (GET without length, 204, 304, HEAD) */
	HTTP_BODY_LENGTH,           /* Content-Length bytes */
	HTTP_BODY_CHUNKED,          /* Transfer-Encoding: chunked */
	HTTP_BODY_CLOSE             /* response read until the connection closes */
};

struct http_head {
	char *buf;                  /* owned copy of the head; strings point in */
	/* request */
	const char *method;
	const char *target;
	/* response */
	int status;                 /* 100..599 */
	const char *reason;
	/* both */
	int minor_version;          /* HTTP/1.<minor>: 0 or 1 */
	struct http_header *headers;
	size_t header_count;
	enum http_framing framing;
	uint64_t content_length;    /* for HTTP_BODY_LENGTH */
	bool keep_alive;            /* per version and Connection header */
	const char *fault;          /* when a parse failed: the rule the head
	                               broke, for a message (static), or NULL */
};

/*
 * http_head_end - the length of the head in buf (through the CRLFCRLF
 * that ends it), 0 when more bytes are needed, or -status when what is
 * there is already bad (431 when max_header_bytes pass without an end or,
 * in a request, a field line passes max_header_line; 400 for a bare CR or
 * a NUL; 414 for a request line over the limit).  The verdict on each byte
 * depends on the bytes before it only, so a head read in pieces fails
 * where it would have failed whole.
 */
long http_head_end(const char *buf, size_t len, const struct http_limits *lim,
    bool is_request);

/*
 * http_parse_request - parses a request head of exactly len bytes (as
 * http_head_end found).  Returns 0, or the status to answer: 400 (syntax,
 * a method that is not a token, obs-fold, Content-Length with
 * Transfer-Encoding, duplicate or bad Content-Length, missing Host in
 * HTTP/1.1, control characters), 413 (body over max_body), 414, 431 (a
 * field line over max_header_line, a head over max_header_bytes or more
 * than max_headers fields), 501 (a method that http_method_known does not
 * know, or a Transfer-Encoding other than chunked), 505 (not HTTP/1.0 or
 * 1.1), or 500 if out of memory.  On 0, out is filled; free it with
 * http_head_free in every case.
 */
int http_parse_request(const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *out);

/*
 * http_parse_response - parses a response head.  request_method is the
 * method of the request it answers (HEAD, and CONNECT 2xx, have no body);
 * 1xx responses are parsed and reported (framing NONE) so the caller can
 * skip them.  Returns 0, or -1 for a malformed or ambiguous response
 * (the mirror of the request cases).
 */
int http_parse_response(const char *buf, size_t len, const char *request_method,
    struct http_head *out);

void http_head_free(struct http_head *head);

/*
 * http_method_known - whether method is one the server helper answers
 * (compared case-sensitively, RFC 9110, 9.1): GET, HEAD, POST, PUT,
 * DELETE, OPTIONS and TRACE (RFC 9110), PATCH (RFC 5789), and the WebDAV
 * methods nginx also parses (RFC 4918: PROPFIND, PROPPATCH, MKCOL, COPY,
 * MOVE, LOCK, UNLOCK).  CONNECT, which asks for a tunnel the helper does
 * not make, is not among them.
 */
bool http_method_known(const char *method);

/*
 * http_longest_field_line - the length of the longest field line (after
 * the start line, CRLF not counted) in the len bytes of buf, the last one
 * counted even when its end has not arrived: what max_header_line is
 * checked against, for a message that names the cause.
 */
size_t http_longest_field_line(const char *buf, size_t len);

/* Bytes read from a connection and not yet used: data[off..len). */
struct http_inbuf {
	char *data;
	size_t len, off, cap;
};

/* Case-insensitive lookup of the index-th header called name; NULL if none. */
const char *http_head_get(const struct http_head *head, const char *name,
    size_t index);

/* Incremental chunked-body decoder (RFC 9112, 7.1), in http_chunked.c;
 * trailers are read and dropped. */
struct http_chunked {
	int state;
	uint64_t remaining;         /* bytes left in the current chunk */
	uint64_t total;             /* body bytes so far, against max_body */
	size_t line_len;            /* bytes of the current size/trailer line */
};

void http_chunked_init(struct http_chunked *ch);

/*
 * http_chunked_decode - consumes input, writes body bytes to out (up to
 * out_cap), and reports how much of each it used.  Returns 1 when the body
 * has ended (last chunk and trailers read), 0 when more input is needed,
 * or -status: -400 for a bad chunk size (not hex, sign, overflow, over 16
 * digits), a missing CRLF or a bare LF; -413 when the body passes max_body
 * (0 for no limit); -431 when the trailer section passes 4096 bytes.
 * Chunk extensions are ignored, their line bounded to 4096 bytes.  After
 * the end, the input that follows (a pipelined message) is not consumed.
 */
int http_chunked_decode(struct http_chunked *ch, uint64_t max_body,
    const char *in, size_t in_len, size_t *in_used, char *out, size_t out_cap,
    size_t *out_used);

/*
 * http_token_ok / http_value_ok - whether a method or header name is a
 * token (RFC 9110, 5.6.2), and whether a header value or request target
 * has no CR, LF or NUL: the client refuses to send anything else.
 */
bool http_token_ok(const char *s);
bool http_value_ok(const char *s);

/* http_header_line_ok - a caller's "Name: value" header: a token name and
 * a value without CR, LF or NUL. */
bool http_header_line_ok(const char *line);

/* http_header_is - whether the "Name: value" line names the header name
 * (case-insensitive). */
bool http_header_is(const char *line, const char *name);

/* Character classes shared with http_chunked.c: tchar (RFC 9110, 5.6.2),
 * and a CTL other than HTAB (never allowed in a field value). */
bool http_is_tchar(unsigned char c);
bool http_is_bad_ctl(unsigned char c);

/* "OK" for 200: the reason phrase of a status, "Unknown" for others. */
const char *http_reason_phrase(int status);

#endif /* MTLS_HTTP_PARSE_H */
