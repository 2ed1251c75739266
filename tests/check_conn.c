/*
 * check_conn.c - connecting and accepting: addresses, IPv6, caller's
 * sockets, listen errors, timeouts, and a silent client that must not
 * stall the accept loop.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_util.h"

/* A plain TCP socket listening on 127.0.0.1; its port in *port. */
static int
plain_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
plain_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
echo_check(struct mtls *c)
{
	char buf[16];

	ck_assert_int_eq(mtls_write(c, "hello", 5), 5);
	ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
}

START_TEST(test_connect_by_name)
{
	struct test_server s;
	struct mtls *c;
	int rc;

	server_start(&s, server_cfg, SERVE_ECHO, 1);
	c = client_connect(client_cfg, "localhost", s.port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(c));
	echo_check(c);
	ck_assert_int_eq(mtls_close(c), 0);
	mtls_free(c);
	server_stop(&s);
	ck_assert_int_eq(s.hs_rc, 0);
}
END_TEST

START_TEST(test_connect_ipv6)
{
	struct test_server s;
	struct mtls *c;
	int rc;

	server_start_on(&s, server_cfg, SERVE_ECHO, 1, "::1");
	c = client_connect(client_cfg, "::1", s.port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(c));
	echo_check(c);
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_connect_ipv6_brackets)
{
	struct test_server s;
	struct mtls *c;
	int rc;

	server_start_on(&s, server_cfg, SERVE_ECHO, 1, "::1");
	c = client_connect(client_cfg, "[::1]", s.port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(c));
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_connect_refused)
{
	int port, fd = plain_listener(&port);
	struct mtls *c;
	int rc;

	close(fd);  /* nothing listens on port now */
	c = client_connect(client_cfg, "127.0.0.1", port, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_CONNECT);
	ck_assert_msg_has(mtls_error(c), "cannot connect to 127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "Connection refused");
	ck_assert_int_eq(mtls_error_errno(c), ECONNREFUSED);
	mtls_free(c);
}
END_TEST

START_TEST(test_connect_unresolvable)
{
	struct mtls *c = mtls_client_new(client_cfg);

	ck_assert_int_eq(mtls_connect(c, "no-such-host.invalid", "443"), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_RESOLVE);
	ck_assert_msg_has(mtls_error(c), "cannot resolve host 'no-such-host.invalid'");
	ck_assert_int_eq(mtls_error_errno(c), 0);  /* not a system call's */
	mtls_free(c);
}
END_TEST

START_TEST(test_connect_twice_refused)
{
	struct test_server s;
	struct mtls *c;
	char port[16];
	int rc;

	server_start(&s, server_cfg, SERVE_HANDSHAKE, 1);
	c = client_connect(client_cfg, "127.0.0.1", s.port, &rc);
	ck_assert_int_eq(rc, 0);
	snprintf(port, sizeof(port), "%d", s.port);
	ck_assert_int_eq(mtls_connect(c, "127.0.0.1", port), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "already connected");
	mtls_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_connect_bad_arguments)
{
	struct mtls *c = mtls_client_new(client_cfg);
	struct mtls *srv = mtls_server_new(server_cfg);

	ck_assert_int_eq(mtls_connect(c, "", "443"), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "needs a host and a port");
	ck_assert_int_eq(mtls_connect(srv, "localhost", "443"), -1);
	ck_assert_int_eq(mtls_error_code(srv), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(srv), "needs a client object");
	ck_assert_int_eq(mtls_read(c, (char[4]){ 0 }, 4), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "connect or accept first");
	ck_assert_int_eq(mtls_set_verify_name(c, ""), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	mtls_free(c);
	mtls_free(srv);
}
END_TEST

START_TEST(test_listen_port_in_use)
{
	int port, fd = plain_listener(&port);
	struct mtls *srv = mtls_server_new(server_cfg);
	char portstr[16];

	snprintf(portstr, sizeof(portstr), "%d", port);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", portstr, 0), -1);
	ck_assert_int_eq(mtls_error_code(srv), MTLS_ERR_LISTEN);
	ck_assert_msg_has(mtls_error(srv), "cannot listen on 127.0.0.1 port");
	ck_assert_msg_has(mtls_error(srv), "Address already in use");
	ck_assert_int_eq(mtls_error_errno(srv), EADDRINUSE);
	mtls_free(srv);
	close(fd);
}
END_TEST

START_TEST(test_listen_bad_address)
{
	struct mtls *srv = mtls_server_new(server_cfg);

	ck_assert_int_eq(mtls_listen(srv, "no-such-host.invalid", "0", 0), -1);
	ck_assert_int_eq(mtls_error_code(srv), MTLS_ERR_RESOLVE);
	ck_assert_msg_has(mtls_error(srv), "no-such-host.invalid");
	mtls_free(srv);
}
END_TEST

START_TEST(test_accept_without_listen)
{
	struct mtls *srv = mtls_server_new(server_cfg), *c = NULL;

	ck_assert_int_eq(mtls_accept(srv, &c), -1);
	ck_assert_int_eq(mtls_error_code(srv), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(srv), "needs a listening server");
	ck_assert_ptr_null(c);
	mtls_free(srv);
}
END_TEST

/* A server whose TCP accepts but never speaks TLS: the handshake times out. */
START_TEST(test_handshake_timeout_silent_server)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	int port, lfd = plain_listener(&port);
	struct mtls *c;
	int rc;

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 1000, 300, 0), 0);
	c = client_connect(cfg, "127.0.0.1", port, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(c), "TLS handshake with 127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "timed out after 300 ms");
	mtls_free(c);
	mtls_config_free(cfg);
	close(lfd);
}
END_TEST

/*
 * A listener that never accepts, with its queue full: the kernel drops
 * further SYNs, so a connect waits until its timeout.
 */
START_TEST(test_connect_timeout)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), filler[8], i, rc;
	struct mtls *c;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	for (i = 0; i < 8; i++) {
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);
	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 300, 300, 0), 0);
	c = client_connect(cfg, "127.0.0.1", ntohs(sin.sin_port), &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(mtls_error_code(c) == MTLS_ERR_TIMEOUT, "%s: %s",
	    mtls_error_name(mtls_error_code(c)), mtls_error(c));
	ck_assert_msg_has(mtls_error(c), "connect with 127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "timed out after 300 ms");
	mtls_free(c);
	mtls_config_free(cfg);
	for (i = 0; i < 8; i++)
		close(filler[i]);
	close(lfd);
}
END_TEST

struct accepted_hs {
	struct mtls *conn;
	int rc;
};

static void *
handshake_thread(void *arg)
{
	struct accepted_hs *a = arg;
	int rc = mtls_handshake(a->conn);

	/* Atomic: the test reads it while this thread may still run. */
	__atomic_store_n(&a->rc, rc, __ATOMIC_RELEASE);
	return NULL;
}

struct client_job {
	struct mtls_config *cfg;
	int port;
	int rc;
	char msg[512];
};

static void *
client_thread(void *arg)
{
	struct client_job *j = arg;
	struct mtls *c = client_connect(j->cfg, "127.0.0.1", j->port, &j->rc);

	snprintf(j->msg, sizeof(j->msg), "%s", mtls_error(c) ? mtls_error(c) : "");
	mtls_close(c);
	mtls_free(c);
	return NULL;
}

/*
 * A client that connects and says nothing must not hold up the next one:
 * accept does no TLS, each connection handshakes in its own thread, and
 * the silent one is dropped when its handshake timeout passes.
 */
START_TEST(test_silent_client_does_not_stall_accept)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls *srv, *silent_conn, *good_conn;
	struct accepted_hs silent, good;
	struct client_job job = { client_cfg, 0, -99, "" };
	pthread_t silent_t, good_t, client_t;
	int silent_fd;

	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 0, 2000, 0), 0);
	srv = mtls_server_new(scfg);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 0), 0);
	job.port = mtls_local_port(srv);

	silent_fd = plain_connect(job.port);
	ck_assert_int_eq(mtls_accept(srv, &silent_conn), 0);
	silent = (struct accepted_hs){ silent_conn, -99 };
	pthread_create(&silent_t, NULL, handshake_thread, &silent);

	pthread_create(&client_t, NULL, client_thread, &job);
	ck_assert_int_eq(mtls_accept(srv, &good_conn), 0);
	good = (struct accepted_hs){ good_conn, -99 };
	pthread_create(&good_t, NULL, handshake_thread, &good);
	pthread_join(good_t, NULL);
	pthread_join(client_t, NULL);
	ck_assert_msg(good.rc == 0, "server: %s", mtls_error(good_conn));
	ck_assert_msg(job.rc == 0, "client: %s", job.msg);
	/* The silent client is still pending: it held up nobody. */
	ck_assert_int_eq(__atomic_load_n(&silent.rc, __ATOMIC_ACQUIRE), -99);

	pthread_join(silent_t, NULL);
	ck_assert_int_eq(silent.rc, -1);
	ck_assert_int_eq(mtls_error_code(silent_conn), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(silent_conn), "timed out after 2000 ms");
	mtls_free(silent_conn);
	mtls_free(good_conn);
	mtls_free(srv);
	mtls_config_free(scfg);
	close(silent_fd);
}
END_TEST

/* Both sides over sockets the caller made and keeps. */
START_TEST(test_caller_sockets)
{
	int port, lfd = plain_listener(&port);
	int cfd = plain_connect(port), sfd = accept(lfd, NULL, NULL);
	struct mtls *srv = mtls_server_new(server_cfg), *sconn = NULL;
	struct accepted_hs hs;
	struct mtls *c = mtls_client_new(client_cfg);
	pthread_t t;

	ck_assert_int_eq(mtls_accept_socket(srv, &sconn, sfd), 0);
	ck_assert_int_eq(mtls_fd(sconn), sfd);
	hs = (struct accepted_hs){ sconn, -99 };
	pthread_create(&t, NULL, handshake_thread, &hs);
	ck_assert_msg(mtls_connect_socket(c, cfd, "localhost") == 0, "%s",
	    mtls_error(c));
	pthread_join(t, NULL);
	ck_assert_int_eq(hs.rc, 0);
	ck_assert_str_eq(mtls_peer_common_name(sconn), "client");
	mtls_close(c);
	mtls_free(c);
	mtls_free(sconn);
	mtls_free(srv);
	/* The caller's sockets are still the caller's: still open. */
	ck_assert_int_eq(close(cfd), 0);
	ck_assert_int_eq(close(sfd), 0);
	close(lfd);
}
END_TEST

START_TEST(test_connect_socket_needs_name)
{
	int port, lfd = plain_listener(&port);
	int cfd = plain_connect(port);
	struct mtls *c = mtls_client_new(client_cfg);

	ck_assert_int_eq(mtls_connect_socket(c, cfd, NULL), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "server name to verify");
	mtls_free(c);
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_local_port_and_fd)
{
	struct mtls *srv = mtls_server_new(server_cfg);

	ck_assert_int_eq(mtls_fd(srv), -1);
	ck_assert_int_eq(mtls_local_port(srv), -1);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 0), 0);
	ck_assert_int_ge(mtls_fd(srv), 0);
	ck_assert_int_gt(mtls_local_port(srv), 0);
	mtls_free(srv);
	ck_assert_int_eq(mtls_fd(NULL), -1);
}
END_TEST

Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("connect-accept");

	tcase_add_checked_fixture(tc, configs_setup, configs_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_connect_by_name);
	tcase_add_test(tc, test_connect_ipv6);
	tcase_add_test(tc, test_connect_ipv6_brackets);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_unresolvable);
	tcase_add_test(tc, test_connect_twice_refused);
	tcase_add_test(tc, test_connect_bad_arguments);
	tcase_add_test(tc, test_listen_port_in_use);
	tcase_add_test(tc, test_listen_bad_address);
	tcase_add_test(tc, test_accept_without_listen);
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_handshake_timeout_silent_server);
	tcase_add_test(tc, test_silent_client_does_not_stall_accept);
	tcase_add_test(tc, test_caller_sockets);
	tcase_add_test(tc, test_connect_socket_needs_name);
	tcase_add_test(tc, test_local_port_and_fd);
	suite_add_tcase(s, tc);
	return s;
}
