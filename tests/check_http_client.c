/*
 * check_http_client.c - the HTTP/1.1 client over real mTLS connections on
 * loopback: a library server thread reads each request and answers with
 * canned bytes, so that good and malformed responses can both be served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

struct canned {
	struct mtls_config *cfg;
	struct mtls *srv;
	pthread_t thread;
	int port;
	const char *const *responses;   /* one per request, NULL-ended */
	char got[8192];                 /* the requests as received */
	size_t got_len;
};

/* Reads one request head, and a Content-Length body if it has one. */
static bool
read_request(struct mtls *c, struct canned *k)
{
	size_t start = k->got_len;
	char *end = NULL;
	ssize_t n;

	while (end == NULL) {
		n = mtls_read(c, k->got + k->got_len, sizeof(k->got) - 1 - k->got_len);
		if (n <= 0)
			return false;
		k->got_len += (size_t)n;
		k->got[k->got_len] = '\0';
		end = strstr(k->got + start, "\r\n\r\n");
	}
	{
		const char *cl = strstr(k->got + start, "Content-Length: ");
		size_t want = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;

		while ((size_t)(k->got + k->got_len - (end + 4)) < want) {
			n = mtls_read(c, k->got + k->got_len,
			    sizeof(k->got) - 1 - k->got_len);
			if (n <= 0)
				return false;
			k->got_len += (size_t)n;
			k->got[k->got_len] = '\0';
		}
	}
	return true;
}

static void *
canned_main(void *arg)
{
	struct canned *k = arg;
	struct mtls *c;
	size_t i;

	if (mtls_accept(k->srv, &c) != 0)
		return NULL;
	for (i = 0; k->responses[i] != NULL && read_request(c, k); i++)
		mtls_write(c, k->responses[i], strlen(k->responses[i]));
	mtls_close(c);
	mtls_free(c);
	return NULL;
}

static void
canned_start(struct canned *k, const char *const *responses)
{
	memset(k, 0, sizeof(*k));
	k->responses = responses;
	k->cfg = make_config("server.crt", "server.key", "ca.crt");
	k->srv = mtls_server_new(k->cfg);
	ck_assert_int_eq(mtls_listen(k->srv, "127.0.0.1", "0", 4), 0);
	k->port = mtls_local_port(k->srv);
	pthread_create(&k->thread, NULL, canned_main, k);
}

static void
canned_stop(struct canned *k)
{
	pthread_join(k->thread, NULL);
	mtls_free(k->srv);
	mtls_config_free(k->cfg);
}

static struct mtls_config *cli_cfg;
static struct canned srv;
static struct mtls *conn;

static void
setup(void)
{
	cli_cfg = make_config("client.crt", "client.key", "ca.crt");
}

static void
teardown(void)
{
	mtls_free(conn);
	conn = NULL;
	mtls_config_free(cli_cfg);
}

/* Serves responses and connects a client to them. */
static void
serve(const char *const *responses)
{
	int rc;

	canned_start(&srv, responses);
	conn = client_connect(cli_cfg, "localhost", srv.port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(conn));
}

static const char *
body_of(struct mtls_http_response *r)
{
	return mtls_http_response_body(r, NULL);
}

START_TEST(test_get_with_length)
{
	static const char *const resp[] = { "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello",
	    NULL };
	struct mtls_http_response *r;
	const char *name, *value;
	size_t len;

	serve(resp);
	r = mtls_http_request(conn, "GET", "/path?q=1", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_int_eq(mtls_http_response_status(r), 200);
	ck_assert_str_eq(mtls_http_response_reason(r), "OK");
	ck_assert_str_eq(mtls_http_response_version(r), "HTTP/1.1");
	ck_assert_str_eq(mtls_http_response_body(r, &len), "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(mtls_http_response_header(r, "content-length", 0), "5");
	ck_assert_str_eq(mtls_http_response_header(r, "SET-COOKIE", 0), "a=1");
	ck_assert_str_eq(mtls_http_response_header(r, "Set-Cookie", 1), "b=2");
	ck_assert_ptr_null(mtls_http_response_header(r, "Set-Cookie", 2));
	ck_assert_int_eq(mtls_http_response_header_at(r, 0, &name, &value), 1);
	ck_assert_str_eq(name, "Content-Length");
	ck_assert_int_eq(mtls_http_response_header_at(r, 3, &name, &value), 0);
	/* All of them in one block, twice the same. */
	name = mtls_http_response_headers(r, &len);
	ck_assert_uint_eq(len, sizeof("Content-Length\0" "5\0Set-Cookie\0a=1\0"
	    "set-cookie\0b=2\0") - 1);
	ck_assert_mem_eq(name, "Content-Length\0" "5\0Set-Cookie\0a=1\0"
	    "set-cookie\0b=2\0", len);
	ck_assert_ptr_eq(mtls_http_response_headers(r, NULL), name);
	mtls_http_response_free(r);
	mtls_close(conn);
	canned_stop(&srv);
	/* What went on the wire: request line, Host with the port. */
	ck_assert_msg(strncmp(srv.got, "GET /path?q=1 HTTP/1.1\r\nHost: localhost:",
	    40) == 0, "got: %s", srv.got);
}
END_TEST

START_TEST(test_post_body_and_headers)
{
	static const char *const resp[] = { "HTTP/1.1 201 Created\r\n"
	    "Content-Length: 0\r\n\r\n", NULL };
	static const char *const headers[] = { "Content-Type: application/json",
	    "X-Trace: 7", NULL };
	struct mtls_http_response *r;

	serve(resp);
	r = mtls_http_request(conn, "POST", "/hooks", headers, "{\"a\":1}", 7, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_int_eq(mtls_http_response_status(r), 201);
	ck_assert_str_eq(body_of(r), "");
	mtls_http_response_free(r);
	mtls_close(conn);
	canned_stop(&srv);
	ck_assert_ptr_nonnull(strstr(srv.got, "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.got, "Content-Length: 7\r\n\r\n{\"a\":1}"));
}
END_TEST

/* A caller's own Content-Length is sent once, not with a second one of
 * the library's (a server refuses the request: nginx answers 400). */
START_TEST(test_caller_content_length)
{
	static const char *const resp[] = { "HTTP/1.1 204 No Content\r\n\r\n",
	    NULL };
	static const char *const headers[] = { "content-length: 3",
	    "Content-Type: text/plain", NULL };
	struct mtls_http_response *r;
	const char *first;

	serve(resp);
	r = mtls_http_request(conn, "POST", "/", headers, "a=1", 3, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	mtls_http_response_free(r);
	mtls_close(conn);
	canned_stop(&srv);
	first = strcasestr(srv.got, "Content-Length:");
	ck_assert_ptr_nonnull(first);
	ck_assert_msg(strcasestr(first + 1, "Content-Length:") == NULL,
	    "Content-Length sent twice: %s", srv.got);
	ck_assert_ptr_nonnull(strstr(srv.got, "content-length: 3\r\n"
	    "Content-Type: text/plain\r\n\r\na=1"));
}
END_TEST

START_TEST(test_chunked_and_keep_alive)
{
	static const char *const resp[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
		NULL };
	struct mtls_http_response *r;

	serve(resp);
	r = mtls_http_request(conn, "GET", "/1", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_str_eq(body_of(r), "hello, world");
	mtls_http_response_free(r);
	/* The same connection carries the next request. */
	r = mtls_http_request(conn, "GET", "/2", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_str_eq(body_of(r), "second");
	mtls_http_response_free(r);
	mtls_close(conn);
	canned_stop(&srv);
}
END_TEST

START_TEST(test_interim_and_bodiless)
{
	static const char *const resp[] = {
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		NULL };
	struct mtls_http_response *r;
	size_t len = 99;

	serve(resp);
	r = mtls_http_request(conn, "GET", "/a", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_int_eq(mtls_http_response_status(r), 204);
	/* No headers: an empty block. */
	ck_assert_str_eq(mtls_http_response_headers(r, &len), "");
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(mtls_http_response_headers(NULL, &len));
	mtls_http_response_free(r);
	/* HEAD: the length describes a body that is not sent. */
	r = mtls_http_request(conn, "HEAD", "/b", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_str_eq(mtls_http_response_header(r, "Content-Length", 0), "1000");
	ck_assert_str_eq(body_of(r), "");
	mtls_http_response_free(r);
	r = mtls_http_request(conn, "GET", "/c", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_int_eq(mtls_http_response_status(r), 304);
	ck_assert_str_eq(body_of(r), "");
	mtls_http_response_free(r);
	mtls_close(conn);
	canned_stop(&srv);
}
END_TEST

START_TEST(test_close_delimited_and_stream)
{
	static const char *const resp[] = { "HTTP/1.0 200 OK\r\n"
	    "Connection: close\r\n\r\nuntil the end", NULL };
	struct mtls_http_response *r;
	char buf[4], all[64] = "";
	ssize_t n;

	serve(resp);
	r = mtls_http_request(conn, "GET", "/", NULL, NULL, 0, MTLS_HTTP_STREAM);
	ck_assert_msg(r != NULL, "%s", mtls_error(conn));
	ck_assert_str_eq(mtls_http_response_version(r), "HTTP/1.0");
	ck_assert_str_eq(body_of(r), "");
	while ((n = mtls_http_response_read(r, buf, sizeof(buf))) > 0)
		strncat(all, buf, (size_t)n);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(all, "until the end");
	mtls_http_response_free(r);
	canned_stop(&srv);
}
END_TEST

START_TEST(test_injection_refused)
{
	static const char *const resp[] = { "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\n\r\n", NULL };
	static const char *const bad_header[] = { "X-A: 1\r\nX-Injected: 1", NULL };
	static const char *const no_colon[] = { "X-A 1", NULL };

	serve(resp);
	ck_assert_ptr_null(mtls_http_request(conn, "GET /x", "/", NULL, NULL, 0, 0));
	ck_assert_int_eq(mtls_error_code(conn), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(conn), "HTTP method 'GET /x' is not a token");
	ck_assert_ptr_null(mtls_http_request(conn, "GET", "/a\r\nX: y", NULL,
	    NULL, 0, 0));
	ck_assert_int_eq(mtls_error_code(conn), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(conn), "header injection");
	ck_assert_ptr_null(mtls_http_request(conn, "GET", "/", bad_header, NULL,
	    0, 0));
	ck_assert_int_eq(mtls_error_code(conn), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(conn), "X-A: 1");
	ck_assert_ptr_null(mtls_http_request(conn, "GET", "/", no_colon, NULL,
	    0, 0));
	ck_assert_int_eq(mtls_error_code(conn), MTLS_ERR_INVALID);
	ck_assert_ptr_null(mtls_http_request(conn,
	    "AVERYLONGMETHODNAMEOFTHIRTYTWOBYTES", "/", NULL, NULL, 0, 0));
	ck_assert_int_eq(mtls_error_code(conn), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(conn), "is longer than 31 bytes");
	/* Nothing was sent: the connection still serves a good request. */
	{
		struct mtls_http_response *r = mtls_http_request(conn, "GET", "/",
		    NULL, NULL, 0, 0);

		ck_assert_msg(r != NULL, "%s", mtls_error(conn));
		mtls_http_response_free(r);
	}
	mtls_close(conn);
	canned_stop(&srv);
	ck_assert_ptr_null(strstr(srv.got, "X-Injected"));
}
END_TEST

/* A response the client must refuse, with MTLS_ERR_HTTP. */
static void
refuse(const char *response, int code, const char *needle)
{
	const char *resp[] = { response, NULL };

	serve(resp);
	ck_assert_ptr_null(mtls_http_request(conn, "GET", "/", NULL, NULL, 0, 0));
	ck_assert_msg(mtls_error_code(conn) == code, "%s: %s",
	    mtls_error_name(mtls_error_code(conn)), mtls_error(conn));
	ck_assert_msg_has(mtls_error(conn), needle);
	canned_stop(&srv);
}

START_TEST(test_length_and_chunked_refused)
{
	refuse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\n\r\n", MTLS_ERR_HTTP, "malformed or ambiguous");
}
END_TEST

START_TEST(test_duplicate_length_refused)
{
	refuse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"
	    "abc", MTLS_ERR_HTTP, "malformed or ambiguous");
}
END_TEST

START_TEST(test_bad_chunk_refused)
{
	refuse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\nhello\r\n0\r\n\r\n", MTLS_ERR_HTTP, "malformed chunked body");
}
END_TEST

START_TEST(test_short_body_is_truncation)
{
	refuse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	    MTLS_ERR_TRUNCATED, "before the end of the body");
}
END_TEST

/* Closed before a byte of the response: the peer has gone (a keep-alive
 * connection the server closed), which a caller may retry; closed inside
 * the head: a bad response. */
START_TEST(test_closed_without_response)
{
	refuse("", MTLS_ERR_CLOSED, "without a response");
}
END_TEST

START_TEST(test_closed_inside_head)
{
	refuse("HTTP/1.1 200 OK\r\nContent-", MTLS_ERR_HTTP,
	    "before a complete response");
}
END_TEST

START_TEST(test_bad_status_line_refused)
{
	refuse("HTTP/1.1 20 OK\r\n\r\n", MTLS_ERR_HTTP, "malformed");
}
END_TEST

START_TEST(test_url_one_call)
{
	static const char *const resp[] = { "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nok", NULL };
	struct mtls_http_response *r;
	struct mtls *c;
	char url[128];

	canned_start(&srv, resp);
	c = mtls_client_new(cli_cfg);
	snprintf(url, sizeof(url), "https://localhost:%d/status", srv.port);
	r = mtls_http_url(c, "GET", url, NULL, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(c));
	ck_assert_str_eq(body_of(r), "ok");
	mtls_http_response_free(r);
	mtls_close(c);
	mtls_free(c);
	canned_stop(&srv);
	ck_assert_msg(strncmp(srv.got, "GET /status HTTP/1.1\r\n", 22) == 0,
	    "got: %s", srv.got);
}
END_TEST

/* The query is part of the target, even without a path; a fragment is
 * not sent. */
START_TEST(test_url_query_and_fragment)
{
	static const char *const resp[] = { "HTTP/1.1 204 No Content\r\n\r\n",
	    NULL };
	/* what follows https://localhost:PORT, and the request line sent */
	const char *const forms[][2] = {
		{ "?q=1#top", "GET /?q=1 HTTP/1.1\r\n" },
		{ "/a/b?x=y#frag", "GET /a/b?x=y HTTP/1.1\r\n" },
	};

	for (size_t i = 0; i < 2; i++) {
		struct mtls_http_response *r;
		struct mtls *c;
		char url[128];

		canned_start(&srv, resp);
		c = mtls_client_new(cli_cfg);
		snprintf(url, sizeof(url), "https://localhost:%d%s", srv.port,
		    forms[i][0]);
		r = mtls_http_url(c, "GET", url, NULL, 0);
		ck_assert_msg(r != NULL, "%s", mtls_error(c));
		mtls_http_response_free(r);
		mtls_close(c);
		mtls_free(c);
		canned_stop(&srv);
		ck_assert_msg(strncmp(srv.got, forms[i][1], strlen(forms[i][1])) == 0,
		    "%s: got: %s", url, srv.got);
	}
}
END_TEST

START_TEST(test_url_not_https)
{
	struct mtls *c = mtls_client_new(cli_cfg);

	ck_assert_ptr_null(mtls_http_url(c, "GET", "http://localhost/", NULL, 0));
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "is not https://");
	ck_assert_ptr_null(mtls_http_url(c, "GET", "https:///x", NULL, 0));
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "has no host");
	mtls_free(c);
}
END_TEST

Suite *
http_client_suite(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = tcase_create("requests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_get_with_length);
	tcase_add_test(tc, test_post_body_and_headers);
	tcase_add_test(tc, test_caller_content_length);
	tcase_add_test(tc, test_chunked_and_keep_alive);
	tcase_add_test(tc, test_interim_and_bodiless);
	tcase_add_test(tc, test_close_delimited_and_stream);
	tcase_add_test(tc, test_injection_refused);
	tcase_add_test(tc, test_length_and_chunked_refused);
	tcase_add_test(tc, test_duplicate_length_refused);
	tcase_add_test(tc, test_bad_chunk_refused);
	tcase_add_test(tc, test_short_body_is_truncation);
	tcase_add_test(tc, test_closed_without_response);
	tcase_add_test(tc, test_closed_inside_head);
	tcase_add_test(tc, test_bad_status_line_refused);
	tcase_add_test(tc, test_url_one_call);
	tcase_add_test(tc, test_url_query_and_fragment);
	tcase_add_test(tc, test_url_not_https);
	suite_add_tcase(s, tc);
	return s;
}
