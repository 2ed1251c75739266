/*
 * check_http_parse.c - the HTTP/1.1 parser (lib/http_parse.c): request and
 * response heads, framing and the smuggling rules, limits, the head's end
 * found a byte at a time, and the chunked decoder fed split at every byte.
 *
 * Table-driven: each case is an input and the exact status it must get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "http_parse.h"

#define H11 " HTTP/1.1\r\nHost: h\r\n"

/* Refused cases: the fields that only accepted ones use are zero. */
#define REQ_BAD(name, in, status) { name, in, status, 0, 0, false }
#define RESP_BAD(name, method, in) { name, method, in, -1, 0, 0, false }
#define CHUNK_BAD(name, in, rc) { name, in, rc, NULL, 0 }

/* ------------------------------------------------------------ requests */

struct req_case {
	const char *name;
	const char *in;
	int status;                     /* 0: accepted */
	enum http_framing framing;      /* when accepted */
	uint64_t content_length;
	bool keep_alive;
};

static const struct req_case req_cases[] = {
	/* accepted */
	{ "get 1.1", "GET /" H11 "\r\n", 0, HTTP_BODY_NONE, 0, true },
	{ "get 1.0", "GET / HTTP/1.0\r\n\r\n", 0, HTTP_BODY_NONE, 0, false },
	{ "1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  0, HTTP_BODY_NONE, 0, true },
	{ "1.1 close", "GET /" H11 "Connection: close\r\n\r\n", 0,
	  HTTP_BODY_NONE, 0, false },
	{ "1.1 close in list", "GET /" H11 "Connection: upgrade, CLOSE\r\n\r\n",
	  0, HTTP_BODY_NONE, 0, false },
	{ "1.0 keep-alive then close", "GET / HTTP/1.0\r\nConnection: "
	  "keep-alive\r\nConnection: close\r\n\r\n", 0, HTTP_BODY_NONE, 0,
	  false },
	{ "content-length", "POST /" H11 "Content-Length: 42\r\n\r\n", 0,
	  HTTP_BODY_LENGTH, 42, true },
	{ "content-length 0", "POST /" H11 "Content-Length: 0\r\n\r\n", 0,
	  HTTP_BODY_LENGTH, 0, true },
	{ "content-length at max_body", "POST /" H11
	  "Content-Length: 1048576\r\n\r\n", 0, HTTP_BODY_LENGTH, 1048576, true },
	{ "chunked", "POST /" H11 "Transfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_BODY_CHUNKED, 0, true },
	{ "chunked any case", "POST /" H11 "transfer-encoding: ChUnKeD \r\n\r\n",
	  0, HTTP_BODY_CHUNKED, 0, true },
	{ "OWS trimmed", "GET /" H11 "X-A: \t v \t\r\n\r\n", 0, HTTP_BODY_NONE,
	  0, true },
	{ "empty value", "GET /" H11 "X-A:\r\n\r\n", 0, HTTP_BODY_NONE, 0, true },
	{ "obs-text in value", "GET /" H11 "X-A: caf\xc3\xa9\r\n\r\n", 0,
	  HTTP_BODY_NONE, 0, true },
	{ "htab in value", "GET /" H11 "X-A: a\tb\r\n\r\n", 0, HTTP_BODY_NONE,
	  0, true },
	{ "PATCH", "PATCH /" H11 "\r\n", 0, HTTP_BODY_NONE, 0, true },
	{ "WebDAV method", "PROPFIND /" H11 "\r\n", 0, HTTP_BODY_NONE, 0, true },
	{ "OPTIONS *", "OPTIONS *" H11 "\r\n", 0, HTTP_BODY_NONE, 0, true },
	{ "absolute-form", "GET http://h/x?y" H11 "\r\n", 0, HTTP_BODY_NONE, 0,
	  true },
	{ "host with port", "GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", 0,
	  HTTP_BODY_NONE, 0, true },
	{ "empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, HTTP_BODY_NONE,
	  0, true },
	/* request line */
	REQ_BAD("empty line first", "\r\nGET /" H11 "\r\n", 400),
	REQ_BAD("double SP", "GET  /" H11 "\r\n", 400),
	REQ_BAD("SP before version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	REQ_BAD("trailing SP", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400),
	REQ_BAD("HTAB separator", "GET\t/" H11 "\r\n", 400),
	REQ_BAD("no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	REQ_BAD("non-token method", "G(T /" H11 "\r\n", 400),
	/* methods are case-sensitive (RFC 9110, 9.1); unknown ones get 501 */
	REQ_BAD("lowercase method", "get /" H11 "\r\n", 501),
	REQ_BAD("mixed-case method", "Get /" H11 "\r\n", 501),
	REQ_BAD("unknown method", "FOO /" H11 "\r\n", 501),
	REQ_BAD("unknown token method", "M-SEARCH *" H11 "\r\n", 501),
	REQ_BAD("CONNECT", "CONNECT h:443" H11 "\r\n", 501),
	REQ_BAD("GET prefix", "GETX /" H11 "\r\n", 501),
	REQ_BAD("control in target", "GET /\x01" H11 "\r\n", 400),
	REQ_BAD("high byte in target", "GET /\xff" H11 "\r\n", 400),
	REQ_BAD("lowercase http", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
	REQ_BAD("version syntax", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400),
	REQ_BAD("version letters", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400),
	REQ_BAD("HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505),
	REQ_BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505),
	REQ_BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
	/* line ends and controls */
	REQ_BAD("bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
	REQ_BAD("bare LF ending", "GET / HTTP/1.1\r\nHost: h\n\n", 400),
	REQ_BAD("bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400),
	REQ_BAD("CR in value", "GET /" H11 "X: a\rb\r\n\r\n", 400),
	REQ_BAD("DEL in value", "GET /" H11 "X: a\x7f" "b\r\n\r\n", 400),
	REQ_BAD("ESC in value", "GET /" H11 "X: a\x1b" "b\r\n\r\n", 400),
	REQ_BAD("VT in value", "GET /" H11 "X: a\x0b" "b\r\n\r\n", 400),
	/* field lines */
	REQ_BAD("obs-fold SP", "GET /" H11 "X: a\r\n b\r\n\r\n", 400),
	REQ_BAD("obs-fold HTAB", "GET /" H11 "X: a\r\n\tb\r\n\r\n", 400),
	REQ_BAD("SP before colon", "GET /" H11 "X : a\r\n\r\n", 400),
	REQ_BAD("HTAB before colon", "GET /" H11 "X\t: a\r\n\r\n", 400),
	REQ_BAD("no colon", "GET /" H11 "Xa\r\n\r\n", 400),
	REQ_BAD("empty name", "GET /" H11 ": a\r\n\r\n", 400),
	REQ_BAD("non-token name", "GET /" H11 "X(y): a\r\n\r\n", 400),
	/* Host */
	REQ_BAD("1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
	REQ_BAD("two Hosts", "GET /" H11 "Host: h\r\n\r\n", 400),
	REQ_BAD("two Hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	    400),
	REQ_BAD("bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	REQ_BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400),
	/* Content-Length */
	REQ_BAD("CL twice equal", "POST /" H11 "Content-Length: 1\r\n"
	  "Content-Length: 1\r\n\r\n", 400),
	REQ_BAD("CL list", "POST /" H11 "Content-Length: 1, 1\r\n\r\n", 400),
	REQ_BAD("CL sign", "POST /" H11 "Content-Length: +1\r\n\r\n", 400),
	REQ_BAD("CL negative", "POST /" H11 "Content-Length: -1\r\n\r\n", 400),
	REQ_BAD("CL hex", "POST /" H11 "Content-Length: 0x10\r\n\r\n", 400),
	REQ_BAD("CL empty", "POST /" H11 "Content-Length:\r\n\r\n", 400),
	REQ_BAD("CL inner space", "POST /" H11 "Content-Length: 1 2\r\n\r\n", 400),
	REQ_BAD("CL 20 digits", "POST /" H11
	  "Content-Length: 00000000000000000001\r\n\r\n", 400),
	REQ_BAD("CL 19 digits", "POST /" H11
	  "Content-Length: 9999999999999999999\r\n\r\n", 413),
	REQ_BAD("CL over max_body", "POST /" H11
	  "Content-Length: 1048577\r\n\r\n", 413),
	/* Transfer-Encoding */
	REQ_BAD("CL and TE", "POST /" H11 "Content-Length: 3\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400),
	REQ_BAD("TE and CL", "POST /" H11 "Transfer-Encoding: chunked\r\n"
	  "Content-Length: 3\r\n\r\n", 400),
	REQ_BAD("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400),
	REQ_BAD("TE gzip", "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", 501),
	REQ_BAD("TE gzip, chunked", "POST /" H11
	  "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
	REQ_BAD("TE chunked, chunked", "POST /" H11
	  "Transfer-Encoding: chunked, chunked\r\n\r\n", 501),
	REQ_BAD("TE twice", "POST /" H11 "Transfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 501),
	REQ_BAD("TE identity", "POST /" H11 "Transfer-Encoding: identity\r\n\r\n",
	    501),
	REQ_BAD("TE chunked;x", "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n",
	    501),
	/* not a head */
	REQ_BAD("no empty line", "GET /" H11, 400),
	REQ_BAD("junk after head", "GET /" H11 "\r\nX: y\r\n\r\n", 400),
	REQ_BAD("empty", "", 400),
};

START_TEST(request_table)
{
	const struct req_case *c = &req_cases[_i];
	struct http_limits lim;
	struct http_head h;
	int rc;

	http_limits_default(&lim);
	rc = http_parse_request(c->in, strlen(c->in), &lim, &h);
	ck_assert_msg(rc == c->status, "%s: expected %d, got %d", c->name,
	    c->status, rc);
	/* Every 400 names the one rule the head broke. */
	ck_assert_msg(rc != 400 || h.fault != NULL, "%s: 400 without a fault",
	    c->name);
	if (rc == 0) {
		ck_assert_msg(h.framing == c->framing, "%s: framing %d", c->name,
		    (int)h.framing);
		ck_assert_msg(h.content_length == c->content_length,
		    "%s: content_length", c->name);
		ck_assert_msg(h.keep_alive == c->keep_alive, "%s: keep_alive",
		    c->name);
	}
	http_head_free(&h);
}
END_TEST

/* The rule a refused head broke, as the server's message will say it:
 * one case per rule. */
static const struct {
	const char *in;
	const char *fault;
} fault_cases[] = {
	{ "GET / HTTP/1.1\nHost: h\r\n\r\n", "bare CR or LF" },
	{ "GET/" H11 "\r\n", "request line is not 'METHOD target HTTP/1.x'" },
	{ "G(T /" H11 "\r\n", "request line is not" },
	{ "GET /\x01" H11 "\r\n", "request target is empty or holds" },
	{ "GET / http/1.1\r\nHost: h\r\n\r\n", "HTTP version is not written" },
	{ "GET /" H11 "X: a\r\n b\r\n\r\n", "begins with whitespace (obs-fold" },
	{ "GET /" H11 "X : a\r\n\r\n", "whitespace before its colon" },
	{ "GET /" H11 "Xa\r\n\r\n", "no colon" },
	{ "GET /" H11 "X: a\x7f" "b\r\n\r\n", "control character" },
	{ "GET /" H11 "\r\nX: y\r\n\r\n", "bytes follow the empty line" },
	{ "GET / HTTP/1.1\r\nX: y\r\n\r\n", "no Host field" },
	{ "GET /" H11 "Host: h\r\n\r\n", "more than one Host" },
	{ "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", "Host is not a host name" },
	{ "POST /" H11 "Content-Length: 1, 1\r\n\r\n",
	  "Content-Length is not one field of digits" },
	{ "POST /" H11 "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "both Content-Length and Transfer-Encoding" },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "HTTP/1.0 with a Transfer-Encoding" },
};

START_TEST(request_fault_named)
{
	struct http_head h;

	ck_assert_int_eq(http_parse_request(fault_cases[_i].in,
	    strlen(fault_cases[_i].in), NULL, &h), 400);
	ck_assert_msg_has(h.fault, fault_cases[_i].fault);
	http_head_free(&h);
}
END_TEST

START_TEST(request_fields)
{
	static const char in[] = "POST /a/b?c=d HTTP/1.1\r\nHost: example\r\n"
	    "Accept: text/plain\r\nX-Dup: one\r\naccept: text/html\r\n"
	    "X-Empty:\r\nCONTENT-length: 3\r\n\r\n";
	struct http_head h;

	ck_assert_int_eq(http_parse_request(in, strlen(in), NULL, &h), 0);
	ck_assert_str_eq(h.method, "POST");
	ck_assert_str_eq(h.target, "/a/b?c=d");
	ck_assert_int_eq(h.minor_version, 1);
	ck_assert_uint_eq(h.header_count, 6);
	ck_assert_str_eq(h.headers[0].name, "Host");
	ck_assert_str_eq(http_head_get(&h, "ACCEPT", 0), "text/plain");
	ck_assert_str_eq(http_head_get(&h, "accept", 1), "text/html");
	ck_assert_ptr_null(http_head_get(&h, "Accept", 2));
	ck_assert_str_eq(http_head_get(&h, "x-dup", 0), "one");
	ck_assert_str_eq(http_head_get(&h, "X-Empty", 0), "");
	ck_assert_ptr_null(http_head_get(&h, "X-Missing", 0));
	ck_assert_int_eq(h.framing, HTTP_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, 3);
	http_head_free(&h);
	ck_assert_ptr_null(h.buf);
	http_head_free(&h);     /* twice is harmless */
}
END_TEST

/* "GET /xx.. HTTP/1.0" with a request line of n bytes, and the empty line. */
static void
line_of(char *buf, size_t size, int n)
{
	snprintf(buf, size, "GET /%.*s HTTP/1.0\r\n\r\n", n - 14,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* Each limit: the input at it passes, one byte (or field) more does not. */
START_TEST(request_limits)
{
	struct http_limits lim = { 20, 64, 2, 10, 0 };
	struct http_head h;
	char big[128];

	/* a request line of exactly 20 bytes passes, 21 does not */
	line_of(big, sizeof(big), 20);
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 0);
	http_head_free(&h);
	ck_assert_int_eq(http_head_end(big, strlen(big), &lim, true),
	    (long)strlen(big));
	line_of(big, sizeof(big), 21);
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 414);
	http_head_free(&h);
	ck_assert_int_eq(http_head_end(big, strlen(big), &lim, true), -414);
	ck_assert_int_eq(http_head_end(big, 21, &lim, true), -414);
	ck_assert_int_eq(http_head_end(big, 20, &lim, true), 0);
	/* responses have no start-line limit */
	ck_assert_int_eq(http_head_end(big, strlen(big), &lim, false),
	    (long)strlen(big));
	/* header count */
	snprintf(big, sizeof(big), "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n");
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 0);
	http_head_free(&h);
	snprintf(big, sizeof(big), "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 431);
	http_head_free(&h);
	/* header bytes: 64 exactly passes, 65 does not */
	memset(big, 0, sizeof(big));
	snprintf(big, sizeof(big), "GET / HTTP/1.0\r\nA: %.*s\r\n\r\n", 41,
	    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	ck_assert_uint_eq(strlen(big), 64);
	ck_assert_int_eq(http_head_end(big, 64, &lim, true), 64);
	ck_assert_int_eq(http_parse_request(big, 64, &lim, &h), 0);
	http_head_free(&h);
	snprintf(big, sizeof(big), "GET / HTTP/1.0\r\nA: %.*s\r\n\r\n", 42,
	    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	ck_assert_int_eq(http_head_end(big, 65, &lim, true), -431);
	ck_assert_int_eq(http_head_end(big, 64, &lim, true), 0);
	ck_assert_int_eq(http_parse_request(big, 65, &lim, &h), 431);
	http_head_free(&h);
	/* body */
	snprintf(big, sizeof(big), "PUT / HTTP/1.0\r\nContent-Length: 10\r\n\r\n");
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 0);
	http_head_free(&h);
	snprintf(big, sizeof(big), "PUT / HTTP/1.0\r\nContent-Length: 11\r\n\r\n");
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 413);
	http_head_free(&h);
	lim.max_body = 0;       /* no limit */
	ck_assert_int_eq(http_parse_request(big, strlen(big), &lim, &h), 0);
	http_head_free(&h);
}
END_TEST

/* "GET / HTTP/1.0" then one field line of n bytes (CRLF not counted),
 * "A: yyy...", then the empty line. */
static char *
field_line_of(size_t n)
{
	char *buf = malloc(n + 32);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "GET / HTTP/1.0\r\nA: ", 19);
	memset(buf + 19, 'y', n - 3);
	memcpy(buf + 16 + n, "\r\n\r\n", 5);
	ck_assert_uint_eq(http_longest_field_line(buf, strlen(buf)), n);
	return buf;
}

/* One field line: at max_header_line it passes, one byte more is 431 from
 * the parser and from http_head_end, as soon as that byte arrives, even
 * with room left in the head. */
START_TEST(request_header_line_limit)
{
	struct http_limits lim = { 20, 64, 4, 10, 24 };
	struct http_head h;
	const char *line;
	char *in = field_line_of(24);
	size_t len = strlen(in);

	ck_assert_int_eq(http_head_end(in, len, &lim, true), (long)len);
	ck_assert_int_eq(http_parse_request(in, len, &lim, &h), 0);
	http_head_free(&h);
	free(in);
	in = field_line_of(25);
	len = strlen(in);
	ck_assert_int_eq(http_parse_request(in, len, &lim, &h), 431);
	http_head_free(&h);
	ck_assert_int_eq(http_head_end(in, len, &lim, true), -431);
	ck_assert_int_eq(http_head_end(in, 16 + 25, &lim, true), -431);
	ck_assert_int_eq(http_head_end(in, 16 + 24, &lim, true), 0);
	/* responses have no field-line limit, only the head's */
	ck_assert_int_eq(http_head_end(in, len, &lim, false), (long)len);
	free(in);
	/* the request line keeps its own limit, and its 414 */
	lim.max_header_line = 8;
	line = "GET /0123456789 HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(http_parse_request(line, strlen(line), &lim, &h), 414);
	http_head_free(&h);
	line = "GET /012 HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(http_parse_request(line, strlen(line), &lim, &h), 0);
	http_head_free(&h);
}
END_TEST

/* The defaults, nginx's: a header line of 8192 bytes passes, of 8193 (or
 * 9000, issue 11's) does not, in a head far under 32 KiB. */
START_TEST(request_header_line_default)
{
	struct http_head h;
	size_t sizes[] = { 8192, 8193, 9000 }, i;

	for (i = 0; i < 3; i++) {
		char *in = field_line_of(sizes[i]);
		size_t len = strlen(in);
		int want = sizes[i] > 8192 ? 431 : 0;

		ck_assert_int_eq(http_parse_request(in, len, NULL, &h), want);
		http_head_free(&h);
		ck_assert_int_eq(http_head_end(in, len, NULL, true),
		    want ? -want : (long)len);
		free(in);
	}
}
END_TEST

/* ------------------------------------------------------------ head end */

struct end_case {
	const char *name;
	const char *in;
	long end;                       /* >0 length, 0 more, <0 -status */
};

static const struct end_case end_cases[] = {
	{ "complete", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27 },
	{ "pipelined", "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /", 27 },
	{ "body after", "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 38 },
	{ "partial", "GET / HTTP/1.1\r\nHost: h\r\n\r", 0 },
	{ "trailing CR", "GET / HTTP/1.1\r", 0 },
	{ "nothing", "", 0 },
	{ "bare LF", "GET / HTTP/1.1\n", -400 },
	{ "LF LF", "GET / HTTP/1.1\r\n\n", -400 },
	{ "bare CR", "GET / HTTP/1.1\rX", -400 },
	{ "CR CR LF", "GET / HTTP/1.1\r\r\n", -400 },
};

START_TEST(head_end_table)
{
	const struct end_case *c = &end_cases[_i];
	long end = http_head_end(c->in, strlen(c->in), NULL, true);

	ck_assert_msg(end == c->end, "%s: expected %ld, got %ld", c->name,
	    c->end, end);
}
END_TEST

START_TEST(head_end_nul)
{
	static const char in[] = "GET /\0 HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(http_head_end(in, sizeof(in) - 1, NULL, true), -400);
	ck_assert_int_eq(http_head_end(in, 5, NULL, true), 0);
}
END_TEST

/* Fed a byte at a time, the head's end shows only once all of it is in. */
START_TEST(head_end_incremental)
{
	static const char in[] = "POST /x HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 2\r\n\r\nab";
	long want = (long)(strlen(in) - 2);
	size_t n;

	for (n = 0; n < (size_t)want; n++)
		ck_assert_msg(http_head_end(in, n, NULL, true) == 0,
		    "prefix of %zu bytes", n);
	for (; n <= strlen(in); n++)
		ck_assert_int_eq(http_head_end(in, n, NULL, true), want);
}
END_TEST

/* ----------------------------------------------------------- responses */

struct resp_case {
	const char *name;
	const char *method;
	const char *in;
	int rc;
	int status;
	enum http_framing framing;
	bool keep_alive;
};

static const struct resp_case resp_cases[] = {
	{ "200 CL", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0,
	  200, HTTP_BODY_LENGTH, true },
	{ "200 chunked", "POST", "HTTP/1.1 200 OK\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 0, 200, HTTP_BODY_CHUNKED, true },
	{ "200 close-delimited", "GET", "HTTP/1.1 200 OK\r\n\r\n", 0, 200,
	  HTTP_BODY_CLOSE, false },
	{ "1.0 close-delimited", "GET", "HTTP/1.0 200 OK\r\n"
	  "Connection: keep-alive\r\n\r\n", 0, 200, HTTP_BODY_CLOSE, false },
	{ "1.0 CL keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: "
	  "keep-alive\r\nContent-Length: 0\r\n\r\n", 0, 200, HTTP_BODY_LENGTH,
	  true },
	{ "1.1 close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	  "Content-Length: 1\r\n\r\n", 0, 200, HTTP_BODY_LENGTH, false },
	{ "HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0,
	  200, HTTP_BODY_NONE, true },
	{ "HEAD chunked", "HEAD", "HTTP/1.1 200 OK\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 0, 200, HTTP_BODY_NONE, true },
	{ "CONNECT 200", "CONNECT", "HTTP/1.1 200 OK\r\n\r\n", 0, 200,
	  HTTP_BODY_NONE, true },
	{ "CONNECT 407", "CONNECT", "HTTP/1.1 407 Auth\r\n"
	  "Content-Length: 0\r\n\r\n", 0, 407, HTTP_BODY_LENGTH, true },
	{ "100", "GET", "HTTP/1.1 100 Continue\r\n\r\n", 0, 100, HTTP_BODY_NONE,
	  true },
	{ "101", "GET", "HTTP/1.1 101 Switching\r\nUpgrade: x\r\n\r\n", 0, 101,
	  HTTP_BODY_NONE, true },
	{ "204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", 0, 204,
	  HTTP_BODY_NONE, true },
	{ "304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
	  0, 304, HTTP_BODY_NONE, true },
	{ "no reason", "GET", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 0,
	  404, HTTP_BODY_LENGTH, true },
	{ "no reason no SP", "GET", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
	  0, 404, HTTP_BODY_LENGTH, true },
	{ "599", "GET", "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n", 0, 599,
	  HTTP_BODY_LENGTH, true },
	{ "NULL method", NULL, "HTTP/1.1 200 OK\r\n\r\n", 0, 200,
	  HTTP_BODY_CLOSE, false },
	/* refused */
	RESP_BAD("status 99", "GET", "HTTP/1.1 099 X\r\n\r\n"),
	RESP_BAD("status 600", "GET", "HTTP/1.1 600 X\r\n\r\n"),
	RESP_BAD("status 2 digits", "GET", "HTTP/1.1 20 X\r\n\r\n"),
	RESP_BAD("status 4 digits", "GET", "HTTP/1.1 2000 X\r\n\r\n"),
	RESP_BAD("double SP", "GET", "HTTP/1.1  200 X\r\n\r\n"),
	RESP_BAD("HTTP/2.0", "GET", "HTTP/2.0 200 X\r\n\r\n"),
	RESP_BAD("lowercase", "GET", "http/1.1 200 X\r\n\r\n"),
	RESP_BAD("CTL in reason", "GET", "HTTP/1.1 200 O\x01K\r\n\r\n"),
	RESP_BAD("CL and TE", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n"),
	RESP_BAD("CL twice", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	  "Content-Length: 1\r\n\r\n"),
	RESP_BAD("CL list", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n"),
	RESP_BAD("CL 20 digits", "GET", "HTTP/1.1 200 OK\r\n"
	  "Content-Length: 18446744073709551616\r\n\r\n"),
	RESP_BAD("CL twice on 204", "GET", "HTTP/1.1 204 OK\r\nContent-Length: 0\r\n"
	  "Content-Length: 0\r\n\r\n"),
	RESP_BAD("TE gzip", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
	RESP_BAD("TE in 1.0", "GET", "HTTP/1.0 200 OK\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n"),
	RESP_BAD("obs-fold", "GET", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
	RESP_BAD("SP before colon", "GET", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n"),
	RESP_BAD("bare LF", "GET", "HTTP/1.1 200 OK\nX: a\r\n\r\n"),
	RESP_BAD("bare CR", "GET", "HTTP/1.1 200 OK\rX: a\r\n\r\n"),
	RESP_BAD("NUL", "GET", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"),
};

START_TEST(response_table)
{
	const struct resp_case *c = &resp_cases[_i];
	struct http_head h;
	int rc = http_parse_response(c->in, strlen(c->in) +
	    (strcmp(c->name, "NUL") == 0 ? 5 : 0), c->method, &h);

	ck_assert_msg(rc == c->rc, "%s: expected %d, got %d", c->name, c->rc,
	    rc);
	if (rc == 0) {
		ck_assert_msg(h.status == c->status, "%s: status %d", c->name,
		    h.status);
		ck_assert_msg(h.framing == c->framing, "%s: framing %d", c->name,
		    (int)h.framing);
		ck_assert_msg(h.keep_alive == c->keep_alive, "%s: keep_alive",
		    c->name);
	}
	http_head_free(&h);
}
END_TEST

START_TEST(response_fields)
{
	static const char in[] = "HTTP/1.1 201 Created here\r\n"
	    "Set-Cookie: a=1\r\nLocation: /x\r\nset-cookie: b=2\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct http_head h;

	ck_assert_int_eq(http_parse_response(in, strlen(in), "POST", &h), 0);
	ck_assert_int_eq(h.status, 201);
	ck_assert_str_eq(h.reason, "Created here");
	ck_assert_int_eq(h.minor_version, 1);
	ck_assert_str_eq(http_head_get(&h, "SET-COOKIE", 0), "a=1");
	ck_assert_str_eq(http_head_get(&h, "Set-Cookie", 1), "b=2");
	ck_assert_ptr_null(http_head_get(&h, "Set-Cookie", 2));
	ck_assert_str_eq(http_head_get(&h, "location", 0), "/x");
	http_head_free(&h);
}
END_TEST

/* ------------------------------------------------------------- chunked */

struct chunk_case {
	const char *name;
	const char *in;
	int rc;                         /* of the whole input at once */
	const char *body;               /* when rc >= 0 */
	size_t used;                    /* input consumed, when rc == 1 */
};

static const struct chunk_case chunk_cases[] = {
	{ "one chunk", "5\r\nhello\r\n0\r\n\r\n", 1, "hello", 15 },
	{ "two chunks", "3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n", 1,
	  "abc0123456789", 28 },
	{ "upper hex", "A\r\n0123456789\r\n0\r\n\r\n", 1, "0123456789", 20 },
	{ "leading zeros", "0005\r\nhello\r\n0000\r\n\r\n", 1, "hello", 21 },
	{ "extensions", "5;a=b;c=\"d e\"\r\nhello\r\n0;x\r\n\r\n", 1, "hello",
	  29 },
	{ "trailers", "1\r\nx\r\n0\r\nA: b\r\nC-D: e f\r\n\r\n", 1, "x", 27 },
	{ "empty body", "0\r\n\r\n", 1, "", 5 },
	{ "stops at end", "0\r\n\r\nGET / HTTP/1.1\r\n", 1, "", 5 },
	{ "incomplete", "5\r\nhel", 0, "hel", 0 },
	{ "incomplete trailer", "0\r\nA: b\r\n", 0, "", 0 },
	{ "16 digits", "0000000000000001\r\nx\r\n0\r\n\r\n", 1, "x", 26 },
	CHUNK_BAD("17 digits", "00000000000000001\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("no digits", "\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("sign", "+1\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("minus", "-1\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("0x", "0x1\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("leading SP", " 1\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("trailing SP", "1 \r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("SP before ;", "1 ;a\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("not hex", "g\r\n", -400),
	CHUNK_BAD("bare LF size", "1\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("bare CR size", "1\rx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("bare LF data", "1\r\nx\n0\r\n\r\n", -400),
	CHUNK_BAD("data too long", "1\r\nxy\r\n0\r\n\r\n", -400),
	CHUNK_BAD("no CRLF after data", "1\r\nx0\r\n\r\n", -400),
	CHUNK_BAD("bare LF end", "0\r\n\n", -400),
	CHUNK_BAD("CTL in ext", "1;a\x01\r\nx\r\n0\r\n\r\n", -400),
	CHUNK_BAD("obs-fold trailer", "0\r\nA: b\r\n c\r\n\r\n", -400),
	CHUNK_BAD("CTL in trailer", "0\r\nA: \x01\r\n\r\n", -400),
	CHUNK_BAD("bare LF trailer", "0\r\nA: b\n\r\n", -400),
	CHUNK_BAD("over max_body", "400\r\n", -413),
	CHUNK_BAD("16 F", "FFFFFFFFFFFFFFFF\r\n", -413),
};

/* Decodes in fed step bytes at a time, out_cap bytes of output a call.
 * Returns the last result; *body gets the decoded bytes. */
static int
decode(const char *in, size_t len, size_t step, size_t out_cap,
    uint64_t max_body, char *body, size_t *body_len, size_t *consumed)
{
	struct http_chunked ch;
	size_t used, produced, n;
	int rc = 0;

	http_chunked_init(&ch);
	*body_len = *consumed = 0;
	while (rc == 0 && *consumed < len) {
		n = len - *consumed < step ? len - *consumed : step;
		rc = http_chunked_decode(&ch, max_body, in + *consumed, n, &used,
		    body + *body_len, out_cap, &produced);
		ck_assert_uint_le(used, n);
		ck_assert_uint_le(produced, out_cap);
		*body_len += produced;
		*consumed += used;
	}
	return rc;
}

START_TEST(chunked_table)
{
	const struct chunk_case *c = &chunk_cases[_i];
	size_t len = strlen(c->in), body_len, used;
	char body[256];
	int rc = decode(c->in, len, len, sizeof(body), 1023, body, &body_len,
	    &used);

	ck_assert_msg(rc == c->rc, "%s: expected %d, got %d", c->name, c->rc,
	    rc);
	if (rc >= 0) {
		ck_assert_msg(body_len == strlen(c->body) &&
		    memcmp(body, c->body, body_len) == 0, "%s: body", c->name);
	}
	if (rc == 1)
		ck_assert_msg(used == c->used, "%s: used %zu", c->name, used);
}
END_TEST

/* Every case, its input split at every byte position (two calls), and fed a
 * byte at a time into a one-byte output: same result, same body. */
START_TEST(chunked_splits)
{
	const struct chunk_case *c = &chunk_cases[_i];
	size_t len = strlen(c->in), body_len, used, cut, n, p, bl;
	struct http_chunked ch;
	char body[256];
	int rc;

	for (cut = 0; cut <= len; cut++) {
		http_chunked_init(&ch);
		rc = http_chunked_decode(&ch, 1023, c->in, cut, &used, body,
		    sizeof(body), &bl);
		ck_assert_msg(rc == 0 || rc == c->rc, "%s cut %zu: first %d",
		    c->name, cut, rc);
		if (rc == 0 && used == cut) {
			rc = http_chunked_decode(&ch, 1023, c->in + cut,
			    len - cut, &n, body + bl, sizeof(body) - bl, &p);
			bl += p;
		}
		ck_assert_msg(rc == c->rc, "%s cut %zu: expected %d, got %d",
		    c->name, cut, c->rc, rc);
		if (rc >= 0)
			ck_assert_msg(bl == strlen(c->body) &&
			    memcmp(body, c->body, bl) == 0, "%s cut %zu: body",
			    c->name, cut);
	}
	rc = decode(c->in, len, 1, 1, 1023, body, &body_len, &used);
	ck_assert_msg(rc == c->rc, "%s bytewise: expected %d, got %d", c->name,
	    c->rc, rc);
	if (rc >= 0)
		ck_assert_msg(body_len == strlen(c->body) &&
		    memcmp(body, c->body, body_len) == 0, "%s bytewise: body",
		    c->name);
}
END_TEST

/* max_body counts the whole body across chunks; 0 means no limit. */
START_TEST(chunked_max_body)
{
	static const char in[] = "4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\n\r\n";
	size_t body_len, used;
	char body[64];

	ck_assert_int_eq(decode(in, strlen(in), 1, 1, 10, body, &body_len,
	    &used), 1);
	ck_assert_uint_eq(body_len, 10);
	ck_assert_int_eq(decode(in, strlen(in), 1, 1, 9, body, &body_len,
	    &used), -413);
	ck_assert_uint_eq(body_len, 8);         /* refused at the third size */
	ck_assert_int_eq(decode(in, strlen(in), 64, 64, 0, body, &body_len,
	    &used), 1);
}
END_TEST

/* Output full: the decoder stops, then resumes where it was. */
START_TEST(chunked_out_full)
{
	static const char in[] = "a\r\n0123456789\r\n0\r\n\r\n";
	struct http_chunked ch;
	size_t used, produced;
	char out[4];

	http_chunked_init(&ch);
	ck_assert_int_eq(http_chunked_decode(&ch, 0, in, strlen(in), &used, out,
	    sizeof(out), &produced), 0);
	ck_assert_uint_eq(produced, 4);
	ck_assert_uint_eq(used, 7);
	ck_assert_int_eq(memcmp(out, "0123", 4), 0);
	ck_assert_int_eq(http_chunked_decode(&ch, 0, in + 7, 0, &used, out,
	    sizeof(out), &produced), 0);
	ck_assert_uint_eq(produced, 0);
}
END_TEST

/* Trailers and extensions are bounded. */
START_TEST(chunked_bounds)
{
	size_t n = 5000, body_len, used;
	char *in = malloc(n + 16), body[16];
	int rc;

	memcpy(in, "1;", 2);
	memset(in + 2, 'e', n);
	memcpy(in + 2 + n, "\r\nx\r\n0\r\n\r\n", 11);
	rc = decode(in, n + 13, 1000, sizeof(body), 0, body, &body_len, &used);
	ck_assert_int_eq(rc, -400);
	memcpy(in, "0\r\n", 3);
	for (size_t i = 3; i < n; i += 8)
		memcpy(in + i, "A: bbb\r\n", 8);
	rc = decode(in, n, 1000, sizeof(body), 0, body, &body_len, &used);
	ck_assert_int_eq(rc, -431);
	free(in);
}
END_TEST

/* ------------------------------------------------------------- helpers */

START_TEST(token_and_value)
{
	ck_assert(http_token_ok("GET"));
	ck_assert(http_token_ok("X-Custom_1.2~!#$%&'*+^`|"));
	ck_assert(!http_token_ok(""));
	ck_assert(!http_token_ok(NULL));
	ck_assert(!http_token_ok("GE T"));
	ck_assert(!http_token_ok("X:"));
	ck_assert(!http_token_ok("X\r\n"));
	ck_assert(!http_token_ok("a(b)"));
	ck_assert(http_value_ok("any value; with \"quotes\"\t"));
	ck_assert(http_value_ok(""));
	ck_assert(!http_value_ok(NULL));
	ck_assert(!http_value_ok("a\r\nInjected: yes"));
	ck_assert(!http_value_ok("a\nb"));
	ck_assert(!http_value_ok("a\rb"));
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc = tcase_create("requests");

	tcase_add_loop_test(tc, request_table, 0, NCASES(req_cases));
	tcase_add_loop_test(tc, request_fault_named, 0, NCASES(fault_cases));
	tcase_add_test(tc, request_fields);
	tcase_add_test(tc, request_limits);
	tcase_add_test(tc, request_header_line_limit);
	tcase_add_test(tc, request_header_line_default);
	suite_add_tcase(s, tc);
	tc = tcase_create("head_end");
	tcase_add_loop_test(tc, head_end_table, 0, NCASES(end_cases));
	tcase_add_test(tc, head_end_nul);
	tcase_add_test(tc, head_end_incremental);
	suite_add_tcase(s, tc);
	tc = tcase_create("responses");
	tcase_add_loop_test(tc, response_table, 0, NCASES(resp_cases));
	tcase_add_test(tc, response_fields);
	suite_add_tcase(s, tc);
	tc = tcase_create("chunked");
	tcase_add_loop_test(tc, chunked_table, 0, NCASES(chunk_cases));
	tcase_add_loop_test(tc, chunked_splits, 0, NCASES(chunk_cases));
	tcase_add_test(tc, chunked_max_body);
	tcase_add_test(tc, chunked_out_full);
	tcase_add_test(tc, chunked_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("helpers");
	tcase_add_test(tc, token_and_value);
	suite_add_tcase(s, tc);
	return s;
}
