/*
 * check_io.c - reading, writing and closing: large transfers, clean close
 * versus truncation, writing to a peer that has gone (no SIGPIPE), timeouts,
 * mtls_wake, the same calls on non-blocking sockets, and a TLS 1.2 client
 * that tries to renegotiate.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "check_util.h"

static struct mtls *
connected_client(struct test_server *s, enum serve_mode mode)
{
	struct mtls *c;
	int rc;

	server_start(s, server_cfg, mode, 1);
	c = client_connect(client_cfg, "localhost", s->port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(c));
	return c;
}

/* Reads exactly len bytes. */
static void
read_full(struct mtls *c, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = mtls_read(c, buf + got, len - got);

		ck_assert_msg(n > 0, "read: %s", mtls_error(c));
		got += (size_t)n;
	}
}

/* An SSL object is not to be used by two threads at once: write a chunk,
 * read its echo, repeat. */
START_TEST(test_large_echo)
{
	enum { SIZE = 4 * 1024 * 1024, CHUNK = 64 * 1024 };
	unsigned char *out = malloc(SIZE), *in = malloc(SIZE);
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_ECHO);
	size_t i;

	for (i = 0; i < SIZE; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	for (i = 0; i < SIZE; i += CHUNK) {
		ck_assert_int_eq(mtls_write(c, out + i, CHUNK), CHUNK);
		read_full(c, in + i, CHUNK);
	}
	ck_assert_int_eq(memcmp(in, out, SIZE), 0);
	ck_assert_int_eq(mtls_close(c), 0);
	mtls_free(c);
	server_stop(&s);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_clean_close_reads_zero)
{
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_GREET);
	unsigned char buf[8];

	read_full(c, buf, 2);
	ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), 0);
	ck_assert_int_eq(mtls_error_code(c), MTLS_OK);
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_truncation_is_an_error)
{
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_TRUNCATE);
	unsigned char buf[16];

	read_full(c, buf, 7);
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), -1);
	ck_assert_msg(mtls_error_code(c) == MTLS_ERR_TRUNCATED, "%s: %s",
	    mtls_error_name(mtls_error_code(c)), mtls_error(c));
	ck_assert_msg_has(mtls_error(c), "truncated");
	ck_assert_msg_has(mtls_error(c), "without close_notify");
	mtls_free(c);
	server_stop(&s);
}
END_TEST

/* SIGPIPE is at its default action here (check_mtls.c): raising it would
 * kill this test. */
START_TEST(test_write_after_peer_closed)
{
	static unsigned char chunk[65536];
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_CLOSE_NOW);
	ssize_t rc = 0;
	int i;

	server_stop(&s);    /* the server dropped the connection */
	for (i = 0; i < 200 && rc >= 0; i++)
		rc = mtls_write(c, chunk, sizeof(chunk));
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(mtls_error_code(c) == MTLS_ERR_CLOSED ||
	    mtls_error_code(c) == MTLS_ERR_TRUNCATED, "code %s: %s",
	    mtls_error_name(mtls_error_code(c)), mtls_error(c));
	ck_assert_msg_has(mtls_error(c), "server");
	/* The system's reason, for a binding's Errno::EPIPE or ECONNRESET. */
	if (mtls_error_code(c) == MTLS_ERR_CLOSED)
		ck_assert_msg(mtls_error_errno(c) == EPIPE ||
		    mtls_error_errno(c) == ECONNRESET, "errno %d: %s",
		    mtls_error_errno(c), mtls_error(c));
	else
		ck_assert_int_eq(mtls_error_errno(c), 0);
	/* Afterwards the connection says it is unusable, still without dying. */
	ck_assert_int_eq(mtls_write(c, chunk, 10), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	mtls_free(c);
}
END_TEST

/* A read from the echo server s, which has nothing to say, times out
 * with the message "... timed out after <after>". */
static void
expect_read_timeout(struct mtls_config *cfg, struct test_server *s,
    const char *after)
{
	struct mtls *c;
	char buf[8];
	int rc;

	c = client_connect(cfg, "localhost", s->port, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(c), "read with localhost:");
	ck_assert_msg_has(mtls_error(c), after);
	mtls_free(c);
}

START_TEST(test_read_timeout)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	struct test_server s;

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 0, 0, 200), 0);
	server_start(&s, server_cfg, SERVE_ECHO, 1);
	expect_read_timeout(cfg, &s, "timed out after 200 ms");
	server_stop(&s);
	mtls_config_free(cfg);
}
END_TEST

/* Writes that the server does not read for a while: their own limit,
 * longer than the reads', which keep theirs. */
START_TEST(test_write_timeout_apart_from_reads)
{
	enum { CHUNK = 256 * 1024 };
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	static unsigned char chunk[CHUNK];
	struct test_server s;
	struct mtls *c;
	long started, ms;
	ssize_t n = 0;
	int rc, i;

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 0, 0, 100), 0);
	ck_assert_int_eq(mtls_config_set_write_timeout(cfg, 700), 0);
	server_start(&s, server_cfg, SERVE_ECHO, 2);
	expect_read_timeout(cfg, &s, "timed out after 100 ms");
	/* The echo server stops reading once our side does not read its
	 * echo: the socket buffers fill, and a write waits. */
	c = client_connect(cfg, "localhost", s.port, &rc);
	ck_assert_int_eq(rc, 0);
	for (i = 0; i < 4096 && n >= 0; i++) {
		started = now_ms();
		n = mtls_write(c, chunk, sizeof(chunk));
	}
	ms = now_ms() - started;
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(c), "write with localhost:");
	ck_assert_msg_has(mtls_error(c), "timed out after 700 ms");
	ck_assert_int_ge(ms, 650);
	mtls_free(c);
	server_stop(&s);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_wake_blocked_read)
{
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_ECHO);
	struct reader r = { c, 99 };
	pthread_t t;

	pthread_create(&t, NULL, reader_thread, &r);
	usleep(100 * 1000);
	ck_assert_int_eq(mtls_wake(c), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_WOKEN);
	ck_assert_msg_has(mtls_error(c), "read interrupted by mtls_wake");
	/* A wake-up is used up: the connection still works afterwards. */
	ck_assert_int_eq(mtls_write(c, "abc", 3), 3);
	{
		unsigned char buf[3];

		read_full(c, buf, 3);
		ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	}
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
}
END_TEST

struct acceptor {
	struct mtls *srv;
	int rc;
};

static void *
accept_thread(void *arg)
{
	struct acceptor *a = arg;
	struct mtls *c = NULL;

	a->rc = mtls_accept(a->srv, &c);
	mtls_free(c);
	return NULL;
}

START_TEST(test_wake_blocked_accept)
{
	struct mtls *srv = mtls_server_new(server_cfg);
	struct acceptor a = { srv, 99 };
	pthread_t t;

	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 0), 0);
	pthread_create(&t, NULL, accept_thread, &a);
	usleep(100 * 1000);
	ck_assert_int_eq(mtls_wake(srv), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(a.rc, -1);
	ck_assert_int_eq(mtls_error_code(srv), MTLS_ERR_WOKEN);
	ck_assert_msg_has(mtls_error(srv), "accept interrupted");
	mtls_free(srv);
}
END_TEST

/* A connected pair of non-blocking TCP sockets on loopback. */
static void
nonblocking_pair(int *cfd, int *sfd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*sfd = accept(lfd, NULL, NULL);
	close(lfd);
	fcntl(*cfd, F_SETFL, O_NONBLOCK);
	fcntl(*sfd, F_SETFL, O_NONBLOCK);
}

/* One step of an event loop: poll for what rc asked, if it asked. */
static bool
pending(int rc, int fd)
{
	struct pollfd p = { .fd = fd };

	if (rc != MTLS_WANT_POLLIN && rc != MTLS_WANT_POLLOUT)
		return false;
	p.events = rc == MTLS_WANT_POLLIN ? POLLIN : POLLOUT;
	poll(&p, 1, 10);
	return true;
}

START_TEST(test_nonblocking_event_loop)
{
	struct mtls *srv = mtls_server_new(server_cfg), *sc, *cc;
	int cfd, sfd, crc = 1, src = 1, i, wants = 0;
	char buf[16];
	ssize_t n = MTLS_WANT_POLLIN;

	nonblocking_pair(&cfd, &sfd);
	cc = mtls_client_new(client_cfg);
	ck_assert_int_eq(mtls_connect_socket(cc, cfd, "localhost"), 0);
	ck_assert_int_eq(mtls_accept_socket(srv, &sc, sfd), 0);
	/* Drive both handshakes from one thread, as an event loop would. */
	for (i = 0; i < 1000 && (crc != 0 || src != 0); i++) {
		if (crc != 0)
			crc = mtls_handshake(cc);
		if (src != 0)
			src = mtls_handshake(sc);
		wants += pending(crc, cfd) + pending(src, sfd);
		ck_assert_msg(crc != -1 && src != -1, "%s / %s", mtls_error(cc),
		    mtls_error(sc));
	}
	ck_assert_int_eq(crc, 0);
	ck_assert_int_eq(src, 0);
	ck_assert_int_gt(wants, 0);
	ck_assert_int_eq(mtls_read(sc, buf, sizeof(buf)), MTLS_WANT_POLLIN);
	ck_assert_int_eq(mtls_write(cc, "event", 5), 5);
	for (i = 0; i < 1000 && pending((int)n, sfd); i++)
		n = mtls_read(sc, buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "event", 5), 0);
	mtls_free(cc);
	mtls_free(sc);
	mtls_free(srv);
	close(cfd);
	close(sfd);
}
END_TEST

START_TEST(test_close_twice_and_free_null)
{
	struct test_server s;
	struct mtls *c = connected_client(&s, SERVE_ECHO);
	char buf[4];

	ck_assert_int_eq(mtls_close(c), 0);
	ck_assert_int_eq(mtls_close(c), 0);
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "connection is closed");
	mtls_free(c);
	mtls_free(NULL);
	server_stop(&s);
}
END_TEST

/* A raw libssl TLS 1.2 client (libmtls's own never renegotiates): it
 * writes "hi", then asks to renegotiate. */
struct renegotiator {
	int port;
	int renegotiate_rc;
};

static void *
renegotiator_main(void *arg)
{
	struct renegotiator *r = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)r->port) };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->renegotiate_rc = -99;
	if (ctx == NULL || fd < 0 ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, pki("client.crt")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, pki("client.key"),
	    SSL_FILETYPE_PEM) != 1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (ssl = SSL_new(ctx)) == NULL)
		goto out;
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, "hi", 2) == 2 &&
	    SSL_renegotiate(ssl) == 1)
		r->renegotiate_rc = SSL_do_handshake(ssl);
	SSL_free(ssl);
out:
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Issue 11: the refused renegotiation was reported as "no common TLS
 * version or cipher", from the client's handshake_failure alert. */
START_TEST(test_renegotiation_refused)
{
	struct mtls *srv = mtls_server_new(server_cfg), *c = NULL;
	struct renegotiator r = { 0, 0 };
	char buf[8];
	pthread_t t;

	ck_assert_ptr_nonnull(srv);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 4), 0);
	r.port = mtls_local_port(srv);
	ck_assert_int_eq(pthread_create(&t, NULL, renegotiator_main, &r), 0);
	ck_assert_int_eq(mtls_accept(srv, &c), 0);
	ck_assert_int_eq(mtls_handshake(c), 0);
	ck_assert_str_eq(mtls_conn_version(c), "TLSv1.2");
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), 2);
	ck_assert_conn_failed(c, mtls_read(c, buf, sizeof(buf)),
	    MTLS_ERR_PROTOCOL);
	ck_assert_msg_has(mtls_error(c), "the client tried to renegotiate the "
	    "TLS session, and renegotiation is refused");
	ck_assert_msg_has(mtls_error(c), "alert 'handshake failure'");
	ck_assert_ptr_null(strstr(mtls_error(c), "no common"));
	pthread_join(t, NULL);
	ck_assert_int_le(r.renegotiate_rc, 0);      /* it was refused */
	mtls_free(c);
	mtls_free(srv);
}
END_TEST

/* The versions a "no common TLS version" message quotes are the ones the
 * config accepts: a server made TLS 1.3-only refuses a TLS 1.2 client
 * saying so, not "we accept TLS 1.2 and 1.3". */
START_TEST(test_version_refusal_quotes_config)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct renegotiator r = { 0, 0 };
	struct mtls *srv, *c = NULL;
	pthread_t t;

	ck_assert_int_eq(mtls_config_set_min_version(cfg, MTLS_TLS1_3), 0);
	srv = mtls_server_new(cfg);
	ck_assert_ptr_nonnull(srv);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 4), 0);
	r.port = mtls_local_port(srv);
	ck_assert_int_eq(pthread_create(&t, NULL, renegotiator_main, &r), 0);
	ck_assert_int_eq(mtls_accept(srv, &c), 0);
	ck_assert_conn_failed(c, mtls_handshake(c), MTLS_ERR_PROTOCOL);
	ck_assert_msg_has(mtls_error(c), "no common TLS version or cipher");
	ck_assert_msg_has(mtls_error(c), "we accept TLS 1.3 only");
	pthread_join(t, NULL);
	mtls_free(c);
	mtls_free(srv);
	mtls_config_free(cfg);
}
END_TEST

Suite *
io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("read-write");

	tcase_add_checked_fixture(tc, configs_setup, configs_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_large_echo);
	tcase_add_test(tc, test_clean_close_reads_zero);
	tcase_add_test(tc, test_truncation_is_an_error);
	tcase_add_test(tc, test_write_after_peer_closed);
	tcase_add_test(tc, test_read_timeout);
	tcase_add_test(tc, test_write_timeout_apart_from_reads);
	tcase_add_test(tc, test_wake_blocked_read);
	tcase_add_test(tc, test_wake_blocked_accept);
	tcase_add_test(tc, test_nonblocking_event_loop);
	tcase_add_test(tc, test_close_twice_and_free_null);
	tcase_add_test(tc, test_renegotiation_refused);
	tcase_add_test(tc, test_version_refusal_quotes_config);
	suite_add_tcase(s, tc);
	return s;
}
