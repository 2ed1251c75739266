/*
 * check_http_server.c - the HTTP/1.1 server helper over real mTLS
 * connections on loopback: the library's client writes raw requests, good
 * and bad, and reads the raw bytes the helper answers with, so that what
 * goes on the wire is what is checked.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_util.h"

static struct mtls_config *scfg, *ccfg;
static struct mtls *listener, *server_side, *client_side;
static char wire[65536];        /* what the client read */
static size_t wire_len;

static void
setup(void)
{
	scfg = make_config("server.crt", "server.key", "ca.crt");
	ccfg = make_config("client.crt", "client.key", "ca.crt");
	/* A bug ends in a failed assertion, not in Check's timeout. */
	ck_assert_int_eq(mtls_config_set_timeouts(ccfg, 5000, 5000, 5000), 0);
	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 5000, 5000, 5000), 0);
	wire_len = 0;
	wire[0] = '\0';
}

static void
teardown(void)
{
	mtls_free(client_side);
	mtls_free(server_side);
	mtls_free(listener);
	client_side = server_side = listener = NULL;
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
pair(void)
{
	connect_pair(scfg, ccfg, &listener, &server_side, &client_side);
}

static void
client_send(const char *raw, size_t len)
{
	ck_assert_int_eq(mtls_write(client_side, raw, len), (ssize_t)len);
}
#define SEND(s) client_send((s), sizeof(s) - 1)

/* Reads into wire until it holds needle (or the stream ends). */
static bool
recv_until(const char *needle)
{
	while (strstr(wire, needle) == NULL) {
		ssize_t n = mtls_read(client_side, wire + wire_len,
		    sizeof(wire) - 1 - wire_len);

		if (n <= 0)
			return false;
		wire_len += (size_t)n;
		wire[wire_len] = '\0';
	}
	return true;
}

/* Reads into wire until the server closes. */
static void
recv_to_end(void)
{
	ssize_t n;

	while ((n = mtls_read(client_side, wire + wire_len,
	    sizeof(wire) - 1 - wire_len)) > 0) {
		wire_len += (size_t)n;
		wire[wire_len] = '\0';
	}
}

static struct mtls_http_req *
read_req(int flags)
{
	struct mtls_http_req *req = NULL;
	int rc = mtls_http_read_request(server_side, flags, &req);

	ck_assert_msg(rc == 1, "read_request: %d: %s", rc,
	    mtls_error(server_side) ? mtls_error(server_side) : "(none)");
	return req;
}

static void
respond_text(struct mtls_http_req *req, int status, const char *body)
{
	ck_assert_msg(mtls_http_respond(req, status, NULL, body,
	    strlen(body)) == 0, "%s", mtls_error(server_side));
}

/* ------------------------------------------------------------ good paths */

START_TEST(test_get_and_keep_alive)
{
	static const char *const hdrs[] = { "Content-Type: text/plain", NULL };
	struct mtls_http_req *req;
	const char *name, *value;
	size_t len;

	pair();
	SEND("GET /a?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Two: 1\r\n"
	    "x-two: 2\r\n\r\n");
	req = read_req(0);
	ck_assert_str_eq(mtls_http_req_method(req), "GET");
	ck_assert_str_eq(mtls_http_req_target(req), "/a?x=1");
	ck_assert_str_eq(mtls_http_req_version(req), "HTTP/1.1");
	ck_assert_str_eq(mtls_http_req_header(req, "X-TWO", 1), "2");
	ck_assert_ptr_null(mtls_http_req_header(req, "x-two", 2));
	ck_assert_int_eq(mtls_http_req_header_at(req, 0, &name, &value), 1);
	ck_assert_str_eq(name, "Host");
	ck_assert_str_eq(mtls_http_req_body(req, &len), "");
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(mtls_http_respond(req, 200, hdrs, "hello", 5), 0);
	mtls_http_req_free(req);
	ck_assert(recv_until("hello"));
	ck_assert_msg(strncmp(wire, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0, "%s",
	    wire);
	ck_assert_ptr_nonnull(strstr(wire, "Content-Type: text/plain\r\n"
	    "Content-Length: 5\r\n\r\nhello"));
	ck_assert_ptr_null(strstr(wire, "Connection:"));
	/* The same connection carries the next request. */
	SEND("POST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
	req = read_req(0);
	ck_assert_str_eq(mtls_http_req_body(req, &len), "abc");
	ck_assert_uint_eq(len, 3);
	respond_text(req, 201, "");
	mtls_http_req_free(req);
	ck_assert(recv_until("201 Created"));
}
END_TEST

START_TEST(test_pipelined_in_order)
{
	struct mtls_http_req *req;
	const char *order[] = { "/first", "/second", "/third" };

	pair();
	SEND("GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /second HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nhi\r\n0\r\n\r\n"
	    "GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		req = read_req(0);
		ck_assert_str_eq(mtls_http_req_target(req), order[i]);
		respond_text(req, 200, order[i]);
		mtls_http_req_free(req);
	}
	/* The third asked to close: no fourth request, no error. */
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	ck_assert_ptr_null(req);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_OK);
	mtls_close(server_side);
	recv_to_end();
	ck_assert_msg(strstr(wire, "/first") < strstr(wire, "/second") &&
	    strstr(wire, "/second") < strstr(wire, "/third"), "%s", wire);
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n\r\n/third"));
}
END_TEST

START_TEST(test_chunked_body_streamed)
{
	struct mtls_http_req *req;
	char buf[4];
	char got[64] = "";
	ssize_t n;

	pair();
	SEND("PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
	req = read_req(MTLS_HTTP_STREAM);
	while ((n = mtls_http_req_read_body(req, buf, sizeof(buf))) > 0)
		strncat(got, buf, (size_t)n);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(got, "hello, world");
	respond_text(req, 200, "ok");
	mtls_http_req_free(req);
	ck_assert(recv_until("\r\n\r\nok"));
}
END_TEST

START_TEST(test_head_and_bodiless)
{
	struct mtls_http_req *req;

	pair();
	SEND("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	respond_text(req, 200, "twelve bytes");
	mtls_http_req_free(req);
	SEND("GET /n HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	respond_text(req, 204, "ignored");
	mtls_http_req_free(req);
	ck_assert(recv_until("204 No Content"));
	ck_assert(recv_until("\r\n\r\n"));
	mtls_close(server_side);
	recv_to_end();
	/* HEAD: the GET's length, no body; 204: neither. */
	ck_assert_ptr_nonnull(strstr(wire, "Content-Length: 12\r\n\r\nHTTP/1.1 204"));
	ck_assert_ptr_null(strstr(wire, "twelve"));
	ck_assert_ptr_null(strstr(wire, "ignored"));
	ck_assert_ptr_null(strstr(strstr(wire, "204"), "Content-Length"));
}
END_TEST

START_TEST(test_streamed_response_chunked)
{
	static const char *const hdrs[] = { "Content-Type: text/plain", NULL };
	struct mtls_http_req *req;

	pair();
	SEND("GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	ck_assert_int_eq(mtls_http_respond_start(req, 200, hdrs), 0);
	ck_assert_int_eq(mtls_http_respond_write(req, "hello", 5), 5);
	ck_assert_int_eq(mtls_http_respond_write(req, ", world", 7), 7);
	ck_assert_int_eq(mtls_http_respond_end(req), 0);
	mtls_http_req_free(req);
	ck_assert(recv_until("0\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(wire, "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"));
	/* Keep-alive survives a chunked response. */
	SEND("GET /t HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	mtls_http_req_free(req);
}
END_TEST

START_TEST(test_streamed_response_with_length)
{
	static const char *const hdrs[] = { "Content-Length: 4", NULL };
	struct mtls_http_req *req;

	pair();
	SEND("GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	ck_assert_int_eq(mtls_http_respond_start(req, 200, hdrs), 0);
	ck_assert_int_eq(mtls_http_respond_write(req, "abc", 3), 3);
	/* Past the length: refused, nothing sent. */
	ck_assert_int_eq(mtls_http_respond_write(req, "de", 2), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(server_side), "passes the Content-Length");
	/* Short of it: the end fails and keep-alive is over. */
	ck_assert_int_eq(mtls_http_respond_end(req), -1);
	ck_assert_msg_has(mtls_error(server_side), "1 bytes short");
	mtls_http_req_free(req);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
}
END_TEST

/* A length that is not a number would contradict the framing: refused. */
START_TEST(test_streamed_bad_length_refused)
{
	static const char *const neg[] = { "Content-Length: -5", NULL };
	static const char *const junk[] = { "Content-Length: 12abc", NULL };
	struct mtls_http_req *req;

	pair();
	SEND("GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	ck_assert_int_eq(mtls_http_respond_start(req, 200, neg), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(server_side), "not a number of bytes");
	ck_assert_int_eq(mtls_http_respond_start(req, 200, junk), -1);
	ck_assert_msg_has(mtls_error(server_side), "not a number of bytes");
	respond_text(req, 200, "fine");
	mtls_http_req_free(req);
	ck_assert(recv_until("fine"));
	ck_assert_ptr_null(strstr(wire, "-5"));
}
END_TEST

START_TEST(test_http10_close_delimited)
{
	struct mtls_http_req *req;

	pair();
	SEND("GET /old HTTP/1.0\r\n\r\n");
	req = read_req(0);
	ck_assert_str_eq(mtls_http_req_version(req), "HTTP/1.0");
	ck_assert_int_eq(mtls_http_respond_start(req, 200, NULL), 0);
	ck_assert_int_eq(mtls_http_respond_write(req, "raw body", 8), 8);
	ck_assert_int_eq(mtls_http_respond_end(req), 0);
	mtls_http_req_free(req);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	mtls_close(server_side);
	recv_to_end();
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n\r\nraw body"));
	ck_assert_ptr_null(strstr(wire, "chunked"));
}
END_TEST

START_TEST(test_http10_keep_alive)
{
	struct mtls_http_req *req;

	pair();
	SEND("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	req = read_req(0);
	respond_text(req, 200, "kept");
	mtls_http_req_free(req);
	ck_assert(recv_until("kept"));
	ck_assert_ptr_nonnull(strstr(wire, "Connection: keep-alive\r\n"));
}
END_TEST

/* An unread body cannot be skipped safely: the response ends keep-alive. */
START_TEST(test_unread_body_ends_keep_alive)
{
	struct mtls_http_req *req;

	pair();
	SEND("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n"
	    "GET /x HTT");
	req = read_req(MTLS_HTTP_STREAM);
	respond_text(req, 200, "early");
	mtls_http_req_free(req);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	ck_assert(recv_until("early"));
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n"));
}
END_TEST

/* The caller's "Connection: close" is the only one: the helper adds none. */
START_TEST(test_caller_connection_close_once)
{
	static const char *const headers[] = { "Connection: close", NULL };
	struct mtls_http_req *req;

	pair();
	SEND("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	ck_assert_int_eq(mtls_http_respond(req, 200, headers, "bye", 3), 0);
	mtls_http_req_free(req);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	mtls_close(server_side);
	recv_to_end();
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n"));
	ck_assert_ptr_null(strstr(strstr(wire, "Connection: close\r\n") + 1,
	    "Connection:"));
}
END_TEST

static void *
continue_server(void *arg)
{
	struct mtls_http_req *req = NULL;
	size_t len = 0;

	(void)arg;
	if (mtls_http_read_request(server_side, 0, &req) == 1) {
		mtls_http_req_body(req, &len);
		mtls_http_respond(req, 200, NULL, "got it", 6);
	}
	mtls_http_req_free(req);
	return (void *)len;
}

START_TEST(test_expect_100_continue)
{
	pthread_t t;
	void *len;

	pair();
	pthread_create(&t, NULL, continue_server, NULL);
	SEND("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
	    "Expect: 100-continue\r\n\r\n");
	ck_assert(recv_until("HTTP/1.1 100 Continue\r\n\r\n"));
	SEND("body");
	ck_assert(recv_until("got it"));
	pthread_join(t, &len);
	ck_assert_uint_eq((size_t)len, 4);
}
END_TEST

START_TEST(test_client_close_is_no_error)
{
	struct mtls_http_req *req;

	pair();
	mtls_close(client_side);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_OK);
}
END_TEST

START_TEST(test_idle_timeout_ends_quietly)
{
	struct mtls_http_req *req;
	time_t start;

	ck_assert_int_eq(mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_IDLE_TIMEOUT_MS, 200), 0);
	pair();
	SEND("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	respond_text(req, 200, "one");
	mtls_http_req_free(req);
	start = time(NULL);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	ck_assert_int_le(time(NULL) - start, 2);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_OK);
}
END_TEST


/* MTLS_HTTP_NOWAIT: no request begun, no wait; the socket tells when. */
START_TEST(test_nowait_parks)
{
	struct mtls_http_req *req = NULL;
	struct pollfd pfd;
	time_t start = time(NULL);

	pair();
	ck_assert_int_eq(mtls_http_read_request(server_side, MTLS_HTTP_NOWAIT,
	    &req), MTLS_WANT_POLLIN);
	ck_assert_ptr_null(req);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_OK);
	SEND("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
	pfd = (struct pollfd){ .fd = mtls_fd(server_side), .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(mtls_http_read_request(server_side, MTLS_HTTP_NOWAIT,
	    &req), 1);
	respond_text(req, 200, "one");
	mtls_http_req_free(req);
	/* Idle again, and the wait is not the idle timeout's 75 s. */
	ck_assert_int_eq(mtls_http_read_request(server_side, MTLS_HTTP_NOWAIT,
	    &req), MTLS_WANT_POLLIN);
	ck_assert_int_le(time(NULL) - start, 2);
	/* Pipelined bytes already read are served without a wait. */
	SEND("GET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	for (int i = 2; i <= 3; i++) {
		ck_assert_int_eq(mtls_http_read_request(server_side,
		    MTLS_HTTP_NOWAIT, &req), 1);
		respond_text(req, 200, "more");
		mtls_http_req_free(req);
	}
	/* A client that has gone: 0, not a wait. */
	mtls_close(client_side);
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(mtls_http_read_request(server_side, MTLS_HTTP_NOWAIT,
	    &req), 0);
}
END_TEST

/* ------------------------------------------------------------ bad input */

struct bad_case {
	const char *raw;
	int status;                 /* answered */
	const char *cause;          /* in the message */
};

static const struct bad_case bad_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	  "Transfer-Encoding: chunked\r\n\r\nhello", 400, "both Content-Length and Transfer-Encoding" },
	{ "GET / HTTP/1.1\nHost: a\n\n", 400, "bare CR or LF" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	  "Content-Length: 2\r\n\r\nab", 400, "Content-Length" },
	{ "GET / HTTP/1.1\r\n\r\n", 400, "no Host field" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "bare CR" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
	  "other than chunked" },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "not 1.0 or 1.1" },
	{ "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", 414,
	  "over 64 bytes" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
	  431, "4 fields" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
	  "hello world", 413, "limit of 10 bytes" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "b\r\nhello world\r\n0\r\n\r\n", 413, "limit of 10 bytes" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "zz\r\nhello\r\n0\r\n\r\n", 400, "chunked body is malformed" },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "-5\r\nhello\r\n0\r\n\r\n", 400, "chunked body is malformed" },
	/* issue 11: methods are case-sensitive, unknown ones are not served */
	{ "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501,
	  "its method 'get' is not one the server knows (methods are "
	  "case-sensitive" },
	{ "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method 'FOO'" },
	{ "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501,
	  "method 'CONNECT'" },
	{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line is not" },
	/* issue 11: one header line over MTLS_HTTP_MAX_HEADER_LINE (32 here),
	 * in a head far under MTLS_HTTP_MAX_HEADER_BYTES */
	{ "GET / HTTP/1.1\r\nHost: a\r\nX-Long: 12345678901234567890123456\r\n"
	  "\r\n", 431, "a header line is longer than 32 bytes "
	  "(MTLS_HTTP_MAX_HEADER_LINE)" },
	/* cut short as soon as the line passes the limit, its end unsent */
	{ "GET / HTTP/1.1\r\nHost: a\r\nX-Long: 12345678901234567890123456",
	  431, "a header line is longer than 32 bytes" },
};

START_TEST(test_bad_request_answered)
{
	const struct bad_case *bc = &bad_cases[_i];
	struct mtls_http_req *req = NULL;
	char status_line[64];

	ck_assert_int_eq(mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_REQUEST_LINE, 64), 0);
	ck_assert_int_eq(mtls_config_set_http_limit(scfg, MTLS_HTTP_MAX_HEADERS,
	    4), 0);
	ck_assert_int_eq(mtls_config_set_http_limit(scfg, MTLS_HTTP_MAX_BODY,
	    10), 0);
	ck_assert_int_eq(mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_HEADER_LINE, 32), 0);
	const char *line;

	pair();
	ck_assert_int_eq(mtls_http_refused(server_side, &line), 0);
	ck_assert_str_eq(line, "");
	client_send(bc->raw, strlen(bc->raw));
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_ptr_null(req);
	/* What an access log records: the status and the line as it came. */
	ck_assert_int_eq(mtls_http_refused(server_side, &line), bc->status);
	ck_assert_msg(strlen(line) == strcspn(bc->raw, "\r\n") &&
	    strncmp(line, bc->raw, strlen(line)) == 0, "request line '%s'", line);
	ck_assert_msg(mtls_error_code(server_side) == MTLS_ERR_HTTP, "%s: %s",
	    mtls_error_name(mtls_error_code(server_side)),
	    mtls_error(server_side));
	snprintf(status_line, sizeof(status_line), "answered %d", bc->status);
	ck_assert_msg_has(mtls_error(server_side), status_line);
	ck_assert_msg_has(mtls_error(server_side), bc->cause);
	ck_assert_msg_has(mtls_error(server_side), "sent a bad HTTP request");
	/* Nothing more is read on that connection. */
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), 0);
	mtls_close(server_side);
	recv_to_end();
	snprintf(status_line, sizeof(status_line), "HTTP/1.1 %d ", bc->status);
	ck_assert_msg(strncmp(wire, status_line, strlen(status_line)) == 0,
	    "answer: %s", wire);
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n"));
}
END_TEST

/* The refused request's line as an access log shows it: bytes outside
 * printable ASCII, '"' and '\\' escaped as nginx escapes them. */
START_TEST(test_refused_line_escaped)
{
	static const char raw[] = "GET /a\"b\\\x01\xff HTTP/1.1\r\nHost: a\r\n\r\n";
	struct mtls_http_req *req = NULL;
	const char *line;

	pair();
	client_send(raw, strlen(raw));
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_http_refused(server_side, &line), 400);
	ck_assert_str_eq(line, "GET /a\\x22b\\x5C\\x01\\xFF HTTP/1.1");
	ck_assert_int_eq(mtls_http_refused(NULL, &line), 0);
	ck_assert_str_eq(line, "");
	mtls_close(server_side);
	recv_to_end();
}
END_TEST

/* A head of one Host line and one "X-Long: yyy..." line of n bytes (CRLF
 * not counted); the caller frees it. */
static char *
head_with_line(size_t n)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ";
	size_t s = sizeof(start) - 1;
	char *raw = malloc(s + n + 8);

	ck_assert_ptr_nonnull(raw);
	memcpy(raw, start, s);
	memset(raw + s, 'y', n - 8);
	memcpy(raw + s + n - 8, "\r\n\r\n", 5);
	return raw;
}

/* With the default limits (nginx's): a header line of 8192 bytes is
 * served, one of 8193 is answered 431 and the connection closed; a request
 * line of 8193 bytes gets 414. */
START_TEST(test_header_line_limit_default)
{
	struct mtls_http_req *req = NULL;
	char *raw = head_with_line(8192);

	pair();
	client_send(raw, strlen(raw));
	free(raw);
	req = read_req(0);
	ck_assert_uint_eq(strlen(mtls_http_req_header(req, "X-Long", 0)), 8184);
	respond_text(req, 200, "ok\n");
	mtls_http_req_free(req);
	ck_assert(recv_until("ok\n"));
	raw = head_with_line(8193);
	client_send(raw, strlen(raw));
	free(raw);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_HTTP);
	ck_assert_msg_has(mtls_error(server_side), "a header line is longer "
	    "than 8192 bytes (MTLS_HTTP_MAX_HEADER_LINE); answered 431");
	mtls_close(server_side);
	recv_to_end();
	ck_assert_ptr_nonnull(strstr(wire, "HTTP/1.1 431 "));
	ck_assert_ptr_nonnull(strstr(wire, "Connection: close\r\n"));
}
END_TEST

START_TEST(test_request_line_limit_default)
{
	struct mtls_http_req *req = NULL;
	char *raw = malloc(8300);

	/* "GET /" + 8179 bytes + " HTTP/1.1" = 8193 bytes */
	ck_assert_ptr_nonnull(raw);
	memcpy(raw, "GET /", 5);
	memset(raw + 5, 'a', 8179);
	strcpy(raw + 8184, " HTTP/1.1\r\nHost: a\r\n\r\n");
	pair();
	client_send(raw, strlen(raw));
	free(raw);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_HTTP);
	ck_assert_msg_has(mtls_error(server_side), "its request line is over "
	    "8192 bytes (MTLS_HTTP_MAX_REQUEST_LINE); answered 414");
	mtls_close(server_side);
	recv_to_end();
	ck_assert_ptr_nonnull(strstr(wire, "HTTP/1.1 414 "));
}
END_TEST

START_TEST(test_slow_head_gets_408)
{
	struct mtls_http_req *req = NULL;
	time_t start;

	ck_assert_int_eq(mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_HEADER_TIMEOUT_MS, 300), 0);
	pair();
	SEND("GET / HTTP/1.1\r\nHost: a\r\n");      /* never finished */
	start = time(NULL);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_le(time(NULL) - start, 2);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(server_side), "did not arrive in time");
	ck_assert_msg_has(mtls_error(server_side), "answered 408");
	ck_assert(recv_until("HTTP/1.1 408 Request Timeout\r\n"));
}
END_TEST

START_TEST(test_head_cut_is_truncation)
{
	struct mtls_http_req *req = NULL;

	pair();
	SEND("GET / HTTP/1.1\r\nHo");
	mtls_close(client_side);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_TRUNCATED);
	ck_assert_msg_has(mtls_error(server_side), "inside an HTTP request head");
}
END_TEST

START_TEST(test_body_cut_is_truncation)
{
	struct mtls_http_req *req = NULL;

	pair();
	SEND("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
	mtls_close(client_side);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_TRUNCATED);
	ck_assert_msg_has(mtls_error(server_side), "7 bytes before the end");
}
END_TEST

/* ------------------------------------------------------- caller errors */

START_TEST(test_response_injection_refused)
{
	static const char *const crlf[] = { "X-A: 1\r\nSet-Cookie: evil=1", NULL };
	static const char *const length[] = { "Content-Length: 3", NULL };
	struct mtls_http_req *req;

	pair();
	SEND("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	ck_assert_int_eq(mtls_http_respond(req, 200, crlf, "x", 1), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(server_side), "header injection");
	ck_assert_int_eq(mtls_http_respond(req, 200, length, "x", 1), -1);
	ck_assert_msg_has(mtls_error(server_side), "set by the library");
	ck_assert_int_eq(mtls_http_respond(req, 99, NULL, "x", 1), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(server_side), "status 99");
	respond_text(req, 200, "fine");
	ck_assert_int_eq(mtls_http_respond(req, 200, NULL, "x", 1), -1);
	ck_assert_msg_has(mtls_error(server_side), "already been answered");
	ck_assert_int_eq(mtls_http_respond_write(req, "x", 1), -1);
	ck_assert_msg_has(mtls_error(server_side), "no streamed response");
	mtls_http_req_free(req);
	ck_assert(recv_until("fine"));
	ck_assert_ptr_null(strstr(wire, "evil"));
}
END_TEST

START_TEST(test_unanswered_request_refused)
{
	struct mtls_http_req *req;

	pair();
	SEND("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
	req = read_req(0);
	mtls_http_req_free(req);
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(server_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(server_side), "was not answered");
}
END_TEST

START_TEST(test_read_request_on_client_refused)
{
	struct mtls_http_req *req;

	pair();
	ck_assert_int_eq(mtls_http_read_request(client_side, 0, &req), -1);
	ck_assert_int_eq(mtls_error_code(client_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(client_side), "not an accepted connection");
	ck_assert_int_eq(mtls_http_read_request(NULL, 0, &req), -1);
}
END_TEST

START_TEST(test_limit_setter_errors)
{
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg, 99, 1),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(scfg), "unknown HTTP limit 99");
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_HEADERS, 0), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(scfg), "cannot be 0");
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_HEADER_LINE, 0), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(scfg), "(MTLS_HTTP_MAX_HEADER_LINE) "
	    "cannot be 0");
	ck_assert_cfg_ok(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_HEADER_LINE, 90000000));      /* a size, no timeout */
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_IDLE_TIMEOUT_MS, 90000000), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(scfg), "over a day");
	ck_assert_cfg_ok(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_BODY, 0));
	pair();
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_BODY, 5), MTLS_ERR_CONFIG_FROZEN);
}
END_TEST

/* The limits are each config's own: setting one leaves the config's
 * others at their defaults, and another config's as they were. */
START_TEST(test_limits_per_config)
{
	struct mtls_config *other = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_http_req *req = NULL;

	ck_assert_int_eq(mtls_config_set_timeouts(other, 5000, 5000, 5000), 0);
	ck_assert_int_eq(mtls_config_set_http_limit(scfg, MTLS_HTTP_MAX_HEADERS,
	    4), 0);
	ck_assert_int_eq(mtls_config_set_http_limit(other,
	    MTLS_HTTP_MAX_REQUEST_LINE, 20), 0);
	/* scfg: its body limit is still the default, 1 MiB. */
	pair();
	SEND("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n");
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_msg_has(mtls_error(server_side), "its body is over the limit "
	    "of 1048576 bytes (MTLS_HTTP_MAX_BODY); answered 413");
	mtls_free(client_side);
	mtls_free(server_side);
	mtls_free(listener);
	/* other: scfg's 4 fields do not apply, its own request line does. */
	connect_pair(other, ccfg, &listener, &server_side, &client_side);
	SEND("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
	req = read_req(0);
	respond_text(req, 200, "five fields\n");
	mtls_http_req_free(req);
	ck_assert(recv_until("five fields\n"));
	SEND("GET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(mtls_http_read_request(server_side, 0, &req), -1);
	ck_assert_msg_has(mtls_error(server_side), "its request line is over 20 "
	    "bytes (MTLS_HTTP_MAX_REQUEST_LINE); answered 414");
	mtls_config_free(other);
}
END_TEST

/* A config in use refuses the HTTP setter as it refuses the others, also
 * when no HTTP limit was ever set on it, and serves with the defaults. */
START_TEST(test_limit_setter_frozen_at_defaults)
{
	struct mtls_http_req *req;

	pair();
	ck_assert_cfg_failed(scfg, mtls_config_set_http_limit(scfg,
	    MTLS_HTTP_MAX_BODY, 5), MTLS_ERR_CONFIG_FROZEN);
	ck_assert_msg_has(mtls_config_error(scfg), "can no longer be changed");
	SEND("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nsix b\n");
	req = read_req(0);
	ck_assert_str_eq(mtls_http_req_body(req, NULL), "six b\n");
	respond_text(req, 200, "ok\n");
	mtls_http_req_free(req);
	ck_assert(recv_until("ok\n"));
}
END_TEST

Suite *
http_server_suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_get_and_keep_alive);
	tcase_add_test(tc, test_pipelined_in_order);
	tcase_add_test(tc, test_chunked_body_streamed);
	tcase_add_test(tc, test_head_and_bodiless);
	tcase_add_test(tc, test_streamed_response_chunked);
	tcase_add_test(tc, test_streamed_response_with_length);
	tcase_add_test(tc, test_streamed_bad_length_refused);
	tcase_add_test(tc, test_http10_close_delimited);
	tcase_add_test(tc, test_http10_keep_alive);
	tcase_add_test(tc, test_unread_body_ends_keep_alive);
	tcase_add_test(tc, test_caller_connection_close_once);
	tcase_add_test(tc, test_expect_100_continue);
	tcase_add_test(tc, test_client_close_is_no_error);
	tcase_add_test(tc, test_idle_timeout_ends_quietly);
	tcase_add_test(tc, test_nowait_parks);
	tcase_add_loop_test(tc, test_bad_request_answered, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_refused_line_escaped);
	tcase_add_test(tc, test_header_line_limit_default);
	tcase_add_test(tc, test_request_line_limit_default);
	tcase_add_test(tc, test_slow_head_gets_408);
	tcase_add_test(tc, test_head_cut_is_truncation);
	tcase_add_test(tc, test_body_cut_is_truncation);
	tcase_add_test(tc, test_response_injection_refused);
	tcase_add_test(tc, test_unanswered_request_refused);
	tcase_add_test(tc, test_read_request_on_client_refused);
	tcase_add_test(tc, test_limit_setter_errors);
	tcase_add_test(tc, test_limits_per_config);
	tcase_add_test(tc, test_limit_setter_frozen_at_defaults);
	suite_add_tcase(s, tc);
	return s;
}
