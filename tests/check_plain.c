/*
 * check_plain.c - connections from a plaintext config
 * (mtls_config_insecure_plaintext) over real loopback sockets: data and
 * the HTTP helpers both ways, TLS meeting plaintext in either direction,
 * a peer gone (no SIGPIPE), timeouts, mtls_wake, non-blocking sockets,
 * peer functions without TLS, and the config rules.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_util.h"

/* A plaintext config; timeouts of 5 s end a bug in an assertion rather
 * than in Check's timeout. */
static struct mtls_config *
plain_config(int io_ms)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(mtls_config_insecure_plaintext(cfg), 0);
	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 5000, 5000, io_ms), 0);
	return cfg;
}

static struct mtls *
plain_client(struct mtls_config *cfg, int port)
{
	int rc;
	struct mtls *c = client_connect(cfg, "127.0.0.1", port, &rc);

	ck_assert_msg(rc == 0, "plain connect: %s", mtls_error(c));
	return c;
}

/* ------------------------------------------------- a plaintext server */

enum plain_mode {
	PLAIN_ECHO,         /* echo until the client ends the stream */
	PLAIN_CLOSE_NOW,    /* drop the connection unread */
	PLAIN_HTTP          /* answer HTTP requests until none comes */
};

struct plain_server {
	struct mtls_config *cfg;
	struct mtls *srv;
	pthread_t thread;
	int port;
	int connections;
	enum plain_mode mode;
	/* what the last connection gave, for the test to check */
	long last_rc;           /* last mtls_read or mtls_http_read_request */
	int err_code;
	char err_msg[1024];
	int requests;           /* HTTP requests answered, over all */
	char host[256];         /* Host of the last request */
	char describe[512];     /* mtls_conn_describe of the last connection */
	bool peer_provided;
	bool peer_subject_null;
};

static long
serve_echo(struct mtls *c)
{
	char buf[16384];
	ssize_t n;

	while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
		if (mtls_write(c, buf, (size_t)n) != n)
			return -1;
	return n;
}

static long
serve_http(struct plain_server *s, struct mtls *c)
{
	static const char *const headers[] = { "Content-Type: text/plain", NULL };
	struct mtls_http_req *req;
	char body[512];
	int rc;

	while ((rc = mtls_http_read_request(c, 0, &req)) == 1) {
		const char *host = mtls_http_req_header(req, "Host", 0);
		size_t len;

		mtls_http_req_body(req, &len);
		snprintf(s->host, sizeof(s->host), "%s", host ? host : "");
		snprintf(body, sizeof(body), "%s %s %zu",
		    mtls_http_req_method(req), mtls_http_req_target(req), len);
		rc = mtls_http_respond(req, 200, headers, body, strlen(body));
		mtls_http_req_free(req);
		if (rc != 0)
			break;
		s->requests++;
	}
	return rc;
}

static void *
plain_main(void *arg)
{
	struct plain_server *s = arg;
	struct mtls *c;
	int i;

	for (i = 0; i < s->connections && mtls_accept(s->srv, &c) == 0; i++) {
		const char *d = mtls_conn_describe(c);

		snprintf(s->describe, sizeof(s->describe), "%s", d ? d : "");
		s->peer_provided = mtls_peer_cert_provided(c);
		s->peer_subject_null = mtls_peer_subject(c) == NULL;
		if (s->mode == PLAIN_ECHO)
			s->last_rc = serve_echo(c);
		else if (s->mode == PLAIN_HTTP)
			s->last_rc = serve_http(s, c);
		s->err_code = mtls_error_code(c);
		snprintf(s->err_msg, sizeof(s->err_msg), "%s",
		    mtls_error(c) ? mtls_error(c) : "");
		if (s->mode != PLAIN_CLOSE_NOW)
			mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

static void
plain_start(struct plain_server *s, enum plain_mode mode, int connections)
{
	memset(s, 0, sizeof(*s));
	s->cfg = plain_config(0);
	ck_assert_int_eq(mtls_config_set_http_limit(s->cfg,
	    MTLS_HTTP_HEADER_TIMEOUT_MS, 5000), 0);
	s->mode = mode;
	s->connections = connections;
	s->last_rc = -99;
	s->srv = mtls_server_new(s->cfg);
	ck_assert_msg(s->srv != NULL, "plain server_new: %s",
	    mtls_config_error(s->cfg));
	ck_assert_msg(mtls_listen(s->srv, "127.0.0.1", "0", 16) == 0,
	    "listen: %s", mtls_error(s->srv));
	s->port = mtls_local_port(s->srv);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, plain_main, s), 0);
}

static void
plain_stop(struct plain_server *s)
{
	pthread_join(s->thread, NULL);
	mtls_free(s->srv);
	mtls_config_free(s->cfg);
}

/* Reads exactly len bytes. */
static void
read_full(struct mtls *c, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = mtls_read(c, buf + got, len - got);

		ck_assert_msg(n > 0, "read: %s", mtls_error(c));
		got += (size_t)n;
	}
}

/* ---------------------------------------------------------------- data */

START_TEST(test_plain_echo)
{
	enum { SIZE = 1024 * 1024, CHUNK = 64 * 1024 };
	char *out = malloc(SIZE), *in = malloc(SIZE);
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls *c;
	size_t i;

	plain_start(&s, PLAIN_ECHO, 1);
	c = plain_client(cfg, s.port);
	ck_assert_int_eq(mtls_handshake(c), 0);
	for (i = 0; i < SIZE; i++)
		out[i] = (char)(i * 7 + (i >> 11));
	for (i = 0; i < SIZE; i += CHUNK) {
		ck_assert_int_eq(mtls_write(c, out + i, CHUNK), CHUNK);
		read_full(c, in + i, CHUNK);
	}
	ck_assert_int_eq(memcmp(in, out, SIZE), 0);
	/* Our FIN is the end of the server's stream: a clean 0, no error. */
	ck_assert_int_eq(mtls_close(c), 0);
	plain_stop(&s);
	ck_assert_int_eq(s.last_rc, 0);
	ck_assert_int_eq(s.err_code, MTLS_OK);
	mtls_free(c);
	mtls_config_free(cfg);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_plain_eof_reads_zero)
{
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls *c;
	char buf[8];

	plain_start(&s, PLAIN_CLOSE_NOW, 1);
	c = plain_client(cfg, s.port);
	plain_stop(&s);
	/* No close_notify in plain TCP: the end of the stream is its end. */
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), 0);
	ck_assert_int_eq(mtls_error_code(c), MTLS_OK);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

/* SIGPIPE is at its default action here (check_mtls.c): raising it would
 * kill this test. */
START_TEST(test_plain_write_after_peer_closed)
{
	static char chunk[65536];
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls *c;
	ssize_t rc = 0;
	int i;

	plain_start(&s, PLAIN_CLOSE_NOW, 1);
	c = plain_client(cfg, s.port);
	plain_stop(&s);
	for (i = 0; i < 200 && rc >= 0; i++)
		rc = mtls_write(c, chunk, sizeof(chunk));
	ck_assert_conn_failed(c, rc, MTLS_ERR_CLOSED);
	ck_assert_msg_has(mtls_error(c), "write with 127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "the server has gone away");
	ck_assert_int_eq(mtls_write(c, chunk, 10), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "unusable after an earlier error");
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_read_timeout)
{
	struct mtls_config *cfg = plain_config(200);
	struct plain_server s;
	struct mtls *c;
	char buf[8];

	plain_start(&s, PLAIN_ECHO, 1);
	c = plain_client(cfg, s.port);
	ck_assert_conn_failed(c, mtls_read(c, buf, sizeof(buf)),
	    MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(c), "read with 127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "timed out after 200 ms");
	mtls_free(c);       /* the server reads the end of the stream */
	plain_stop(&s);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_wake_blocked_read)
{
	struct mtls_config *cfg = plain_config(0);
	struct plain_server s;
	struct mtls *c;
	struct reader r;
	pthread_t t;
	char buf[3];

	plain_start(&s, PLAIN_ECHO, 1);
	c = plain_client(cfg, s.port);
	r.c = c;
	r.rc = 99;
	pthread_create(&t, NULL, reader_thread, &r);
	usleep(100 * 1000);
	ck_assert_int_eq(mtls_wake(c), 0);
	pthread_join(t, NULL);
	ck_assert_conn_failed(c, r.rc, MTLS_ERR_WOKEN);
	ck_assert_msg_has(mtls_error(c), "read interrupted by mtls_wake");
	/* A wake-up is used up: the connection still works afterwards. */
	ck_assert_int_eq(mtls_write(c, "abc", 3), 3);
	read_full(c, buf, 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	ck_assert_int_eq(mtls_close(c), 0);
	mtls_free(c);
	plain_stop(&s);
	mtls_config_free(cfg);
}
END_TEST

/* Caller's non-blocking sockets: WANT_* results, and a write that had to
 * wait goes on where it stopped when called again with the same buffer. */
START_TEST(test_plain_nonblocking_socket)
{
	enum { SIZE = 4 * 1024 * 1024 };
	struct mtls_config *cfg = plain_config(5000);
	struct mtls *srv = mtls_server_new(cfg), *cc = mtls_client_new(cfg), *sc;
	char *out = malloc(SIZE), *in = malloc(SIZE), buf[8];
	size_t got = 0, i;
	ssize_t w;
	int fds[2], waits = 0;

	ck_assert_ptr_nonnull(srv);
	ck_assert_ptr_nonnull(cc);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    fds), 0);
	/* No server name: a plain connection verifies none. */
	ck_assert_msg(mtls_connect_socket(cc, fds[0], NULL) == 0, "%s",
	    mtls_error(cc));
	ck_assert_int_eq(mtls_accept_socket(srv, &sc, fds[1]), 0);
	ck_assert_int_eq(mtls_handshake(cc), 0);
	ck_assert_int_eq(mtls_read(cc, buf, sizeof(buf)), MTLS_WANT_POLLIN);
	for (i = 0; i < SIZE; i++)
		out[i] = (char)(i * 13 + (i >> 9));
	while ((w = mtls_write(cc, out, SIZE)) == MTLS_WANT_POLLOUT) {
		ssize_t n = mtls_read(sc, in + got, SIZE - got);

		ck_assert_msg(n > 0, "read: %s", mtls_error(sc));
		got += (size_t)n;
		waits++;
	}
	ck_assert_msg(w == SIZE, "write: %zd %s", w, mtls_error(cc));
	ck_assert_int_gt(waits, 0);
	read_full(sc, in + got, SIZE - got);
	ck_assert_int_eq(memcmp(in, out, SIZE), 0);
	/* mtls_close ends the stream even on the caller's socket. */
	ck_assert_int_eq(mtls_close(cc), 0);
	ck_assert_int_eq(mtls_read(sc, buf, sizeof(buf)), 0);
	ck_assert_int_eq(mtls_error_code(sc), MTLS_OK);
	mtls_free(cc);
	mtls_free(sc);
	mtls_free(srv);
	close(fds[0]);
	close(fds[1]);
	mtls_config_free(cfg);
	free(out);
	free(in);
}
END_TEST

/* ---------------------------------------------------------------- HTTP */

START_TEST(test_plain_http_keep_alive)
{
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls_http_response *r;
	struct mtls *c;
	char host[64];
	size_t len;

	plain_start(&s, PLAIN_HTTP, 1);     /* one connection for both */
	c = plain_client(cfg, s.port);
	r = mtls_http_request(c, "GET", "/one", NULL, NULL, 0, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(c));
	ck_assert_int_eq(mtls_http_response_status(r), 200);
	ck_assert_str_eq(mtls_http_response_body(r, &len), "GET /one 0");
	mtls_http_response_free(r);
	r = mtls_http_request(c, "POST", "/two", NULL, "hello", 5, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(c));
	ck_assert_int_eq(mtls_http_response_status(r), 200);
	ck_assert_str_eq(mtls_http_response_body(r, &len), "POST /two 5");
	mtls_http_response_free(r);
	ck_assert_int_eq(mtls_close(c), 0);
	plain_stop(&s);
	ck_assert_int_eq(s.requests, 2);
	ck_assert_int_eq(s.last_rc, 0);     /* our FIN: no next request */
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	ck_assert_str_eq(s.host, host);
	ck_assert_msg_has(s.describe, "plaintext connection, no TLS");
	ck_assert(!s.peer_provided);
	ck_assert(s.peer_subject_null);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_http_url)
{
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls_http_response *r;
	struct mtls *c;
	char url[64];
	size_t len;

	plain_start(&s, PLAIN_HTTP, 1);
	c = mtls_client_new(cfg);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/x", s.port);
	ck_assert_ptr_null(mtls_http_url(c, "GET", url, NULL, 0));
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "is not http://");
	ck_assert_msg_has(mtls_error(c), "plaintext");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/three", s.port);
	r = mtls_http_url(c, "GET", url, NULL, 0);
	ck_assert_msg(r != NULL, "%s", mtls_error(c));
	ck_assert_str_eq(mtls_http_response_body(r, &len), "GET /three 0");
	mtls_http_response_free(r);
	mtls_close(c);
	plain_stop(&s);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

/* ------------------------------------------------ TLS meets plaintext */

START_TEST(test_tls_client_to_plain_server)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct plain_server s;
	struct mtls *c;
	int rc;

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 5000, 5000, 5000), 0);
	plain_start(&s, PLAIN_HTTP, 1);
	c = client_connect(cfg, "localhost", s.port, &rc);
	/* The plain server answers the ClientHello with a 400. */
	ck_assert_conn_failed(c, rc, MTLS_ERR_PROTOCOL);
	ck_assert_msg_has(mtls_error(c), "TLS handshake with localhost:");
	ck_assert_msg_has(mtls_error(c), "does not speak TLS on this port");
	plain_stop(&s);
	ck_assert_int_eq(s.last_rc, -1);
	ck_assert_int_eq(s.err_code, MTLS_ERR_HTTP);
	ck_assert_msg_has(s.err_msg, "sent a bad HTTP request");
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_client_to_tls_server)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *cfg = plain_config(5000);
	struct test_server s;
	struct mtls *c;
	int code;

	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 5000, 5000, 5000), 0);
	server_start(&s, scfg, SERVE_ECHO, 1);
	c = plain_client(cfg, s.port);
	ck_assert_ptr_null(mtls_http_request(c, "GET", "/", NULL, NULL, 0, 0));
	code = mtls_error_code(c);
	/* The server drops the connection: an end or a reset, never a crash. */
	ck_assert_msg(code == MTLS_ERR_HTTP || code == MTLS_ERR_CLOSED,
	    "%s: %s", mtls_error_name(code), mtls_error(c));
	ck_assert_msg_has(mtls_error(c), "server");
	server_stop(&s);
	ck_assert_int_eq(s.hs_rc, -1);
	ck_assert_int_eq(s.err_code, MTLS_ERR_PROTOCOL);
	ck_assert_msg_has(s.err_msg, "the client does not speak TLS");
	mtls_free(c);
	mtls_config_free(cfg);
	mtls_config_free(scfg);
}
END_TEST

/* ----------------------------------------------- facts and the config */

START_TEST(test_plain_peer_functions)
{
	struct mtls_config *cfg = plain_config(5000);
	struct plain_server s;
	struct mtls *c;

	plain_start(&s, PLAIN_ECHO, 1);
	c = plain_client(cfg, s.port);
	ck_assert_int_eq(mtls_peer_cert_provided(c), 0);
	ck_assert_int_eq(mtls_peer_cert_verified(c), 0);
	ck_assert_ptr_null(mtls_peer_verify_error(c));
	ck_assert_ptr_null(mtls_peer_subject(c));
	ck_assert_ptr_null(mtls_peer_issuer(c));
	ck_assert_ptr_null(mtls_peer_common_name(c));
	ck_assert_ptr_null(mtls_peer_serial(c));
	ck_assert_ptr_null(mtls_peer_fingerprint_sha256(c));
	ck_assert_ptr_null(mtls_peer_spki_sha256(c));
	ck_assert_ptr_null(mtls_peer_cert_pem(c));
	ck_assert_ptr_null(mtls_peer_chain_pem(c));
	ck_assert_ptr_null(mtls_peer_san(c, MTLS_SAN_DNS, 0));
	ck_assert_ptr_null(mtls_peer_acceptable_ca(c, 0));
	ck_assert_int_eq(mtls_peer_not_before(c), -1);
	ck_assert_int_eq(mtls_peer_not_after(c), -1);
	ck_assert_ptr_null(mtls_conn_version(c));
	ck_assert_ptr_null(mtls_conn_cipher(c));
	ck_assert_ptr_null(mtls_conn_alpn(c));
	ck_assert_int_eq(mtls_conn_session_resumed(c), 0);
	ck_assert_msg_has(mtls_conn_describe(c), "client connection to "
	    "127.0.0.1:");
	ck_assert_msg_has(mtls_conn_describe(c), "plaintext connection, no TLS");
	/* The verify name is set before connecting, even on plaintext. */
	ck_assert_int_eq(mtls_set_verify_name(c, "example.com"), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "before it connects");
	mtls_close(c);
	mtls_free(c);
	plain_stop(&s);
	ck_assert(!s.peer_provided);
	ck_assert(s.peer_subject_null);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_frozen_config)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls *c;

	ck_assert_int_eq(mtls_config_insecure_plaintext(NULL), -1);
	ck_assert_int_eq(mtls_config_insecure_noverify(cfg), 0);
	c = mtls_client_new(cfg);
	ck_assert_ptr_nonnull(c);
	ck_assert_cfg_failed(cfg, mtls_config_insecure_plaintext(cfg),
	    MTLS_ERR_CONFIG_FROZEN);
	ck_assert_msg_has(mtls_config_error(cfg), "in use by a connection");
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_plain_needs_no_trust_or_identity)
{
	struct mtls_config *tls = mtls_config_new(), *plain = mtls_config_new();
	struct mtls *c;

	/* Without it, a client still needs trust anchors and a server an
	 * identity. */
	ck_assert_ptr_null(mtls_client_new(tls));
	ck_assert_int_eq(mtls_config_error_code(tls), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(tls), "no trust anchors configured");
	ck_assert_int_eq(mtls_config_insecure_noverify(tls), 0);
	ck_assert_ptr_null(mtls_server_new(tls));
	ck_assert_int_eq(mtls_config_error_code(tls), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(tls), "a server needs a certificate");
	/* TLS settings keep working on a plaintext config, to no effect. */
	ck_assert_cfg_ok(plain, mtls_config_insecure_plaintext(plain));
	ck_assert_cfg_ok(plain, mtls_config_set_min_version(plain, MTLS_TLS1_3));
	ck_assert_cfg_ok(plain, mtls_config_set_alpn(plain, "http/1.1"));
	ck_assert_cfg_ok(plain, mtls_config_set_verify_client(plain,
	    MTLS_VERIFY_CLIENT_OPTIONAL));
	c = mtls_client_new(plain);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(plain));
	mtls_free(c);
	c = mtls_server_new(plain);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(plain));
	mtls_free(c);
	mtls_config_free(tls);
	mtls_config_free(plain);
}
END_TEST

START_TEST(test_plain_server_keeps_its_kind)
{
	struct mtls_config *plain = plain_config(0), *other = plain_config(0);
	struct mtls_config *tls = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls *srv = mtls_server_new(plain), *tsrv = mtls_server_new(tls);

	ck_assert_ptr_nonnull(srv);
	ck_assert_ptr_nonnull(tsrv);
	ck_assert_conn_failed(srv, mtls_server_set_config(srv, tls),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(srv), "the new configuration is TLS but "
	    "this server's is plaintext");
	ck_assert_conn_failed(tsrv, mtls_server_set_config(tsrv, other),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(tsrv), "is plaintext but this server's "
	    "is TLS");
	ck_assert_msg(mtls_server_set_config(srv, other) == 0, "%s",
	    mtls_error(srv));
	mtls_free(srv);
	mtls_free(tsrv);
	mtls_config_free(plain);
	mtls_config_free(other);
	mtls_config_free(tls);
}
END_TEST

Suite *
plain_suite(void)
{
	Suite *s = suite_create("plain");
	TCase *io = tcase_create("io"), *http = tcase_create("http");
	TCase *cfg = tcase_create("config");

	tcase_set_timeout(io, 30);
	tcase_add_test(io, test_plain_echo);
	tcase_add_test(io, test_plain_eof_reads_zero);
	tcase_add_test(io, test_plain_write_after_peer_closed);
	tcase_add_test(io, test_plain_read_timeout);
	tcase_add_test(io, test_plain_wake_blocked_read);
	tcase_add_test(io, test_plain_nonblocking_socket);
	suite_add_tcase(s, io);
	tcase_set_timeout(http, 30);
	tcase_add_test(http, test_plain_http_keep_alive);
	tcase_add_test(http, test_plain_http_url);
	tcase_add_test(http, test_tls_client_to_plain_server);
	tcase_add_test(http, test_plain_client_to_tls_server);
	suite_add_tcase(s, http);
	tcase_set_timeout(cfg, 30);
	tcase_add_test(cfg, test_plain_peer_functions);
	tcase_add_test(cfg, test_plain_frozen_config);
	tcase_add_test(cfg, test_plain_needs_no_trust_or_identity);
	tcase_add_test(cfg, test_plain_server_keeps_its_kind);
	suite_add_tcase(s, cfg);
	return s;
}
