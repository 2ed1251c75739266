/*
 * check_split.c - handshakes whose messages arrive in reads of their own:
 * the library's client and server talk through a relay (relay.h) that
 * delivers one TLS record, or one byte, at a time with a pause after
 * each, in both directions.  On loopback a flight otherwise arrives in one
 * read, which hides any state a callback leaves behind between two reads
 * of one handshake (a stale error on OpenSSL's queue made every
 * handshake with a client certificate fail this way).
 *
 * One table: TLS 1.2 and 1.3, with and without a client certificate,
 * verify cache on and off, records and bytes; each case makes a full
 * handshake, a resumed one, and a full one from a new client config (a
 * verify cache hit on the server when the cache is on).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "check_util.h"
#include "mtls_internal.h"
#include "relay.h"

#define RECORD_PAUSE_US 2000
#define BYTE_PAUSE_US 100

struct split_case {
	bool tls13;
	bool client_cert;
	bool verify_cache;
	enum relay_unit unit;
};

/* Case i of the table: each bit of i chooses one dimension. */
static struct split_case
split_case_of(int i)
{
	struct split_case sc = {
		.tls13 = (i & 1) != 0,
		.client_cert = (i & 2) != 0,
		.verify_cache = (i & 4) != 0,
		.unit = (i & 8) != 0 ? RELAY_BYTES : RELAY_RECORDS,
	};

	return sc;
}

static struct mtls_config *
split_client_config(const struct split_case *sc)
{
	struct mtls_config *cfg = sc->client_cert ?
	    make_config("client.crt", "client.key", "ca.crt") :
	    make_config(NULL, NULL, "ca.crt");

	if (!sc->verify_cache)
		ck_assert_int_eq(mtls_config_set_verify_cache(cfg, 0, 60), 0);
	/* A client that speaks only TLS 1.2 makes a TLS 1.2 handshake. */
	if (!sc->tls13)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(cfg->ctx,
		    TLS1_2_VERSION), 1);
	return cfg;
}

static struct mtls_config *
split_server_config(const struct split_case *sc)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key",
	    "ca.crt");

	if (!sc->client_cert)
		ck_assert_int_eq(mtls_config_set_verify_client(cfg,
		    MTLS_VERIFY_CLIENT_OPTIONAL), 0);
	if (!sc->verify_cache)
		ck_assert_int_eq(mtls_config_set_verify_cache(cfg, 0, 60), 0);
	return cfg;
}

/* A handshake through the relay, then "ping" echoed; returns whether
 * the client resumed. */
static bool
split_exchange(const struct split_case *sc, struct mtls_config *ccfg,
    int port)
{
	char buf[8] = "";
	bool resumed;
	int rc;
	struct mtls *c = client_connect(ccfg, "localhost", port, &rc);

	ck_assert_msg(rc == 0, "%s, client cert %d, %s: client: %s",
	    sc->tls13 ? "TLS 1.3" : "TLS 1.2", sc->client_cert,
	    relay_unit_name(sc->unit), mtls_error(c));
	ck_assert_str_eq(mtls_conn_version(c), sc->tls13 ? "TLSv1.3" : "TLSv1.2");
	ck_assert_int_eq(mtls_write(c, "ping", 4), 4);
	ck_assert_int_eq(mtls_read(c, buf, 4), 4);
	ck_assert_str_eq(buf, "ping");
	resumed = mtls_conn_session_resumed(c) == 1;
	ck_assert_int_eq(mtls_close(c), 0);
	mtls_free(c);
	return resumed;
}

/* The server's record of the last handshake: it succeeded, and saw the
 * client certificate when there was one. */
static void
assert_server_saw(const struct test_server *s, const struct split_case *sc)
{
	ck_assert_msg(s->hs_rc == 0, "server: %s", s->err_msg);
	ck_assert_int_eq(s->peer_provided, sc->client_cert);
	ck_assert_int_eq(s->peer_verified, sc->client_cert);
}

START_TEST(test_split_handshakes)
{
	struct split_case sc = split_case_of(_i);
	struct mtls_config *scfg = split_server_config(&sc);
	struct mtls_config *ccfg = split_client_config(&sc);
	struct mtls_config *fresh = split_client_config(&sc);
	struct test_server s;
	struct relay r;

	server_start(&s, scfg, SERVE_ECHO, 3);
	ck_assert_int_eq(relay_start(&r, s.port, sc.unit, sc.unit == RELAY_BYTES ?
	    BYTE_PAUSE_US : RECORD_PAUSE_US, 3), 0);
	ck_assert(!split_exchange(&sc, ccfg, r.port));
	assert_server_saw(&s, &sc);
	ck_assert(split_exchange(&sc, ccfg, r.port));
	assert_server_saw(&s, &sc);
	ck_assert(s.resumed);
	ck_assert(!split_exchange(&sc, fresh, r.port));
	assert_server_saw(&s, &sc);
	ck_assert_int_eq(s.chain_cached, sc.verify_cache && sc.client_cert);
	relay_stop(&r);
	server_stop(&s);
	mtls_config_free(fresh);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

/* A verify callback that admits the peer after a libcrypto call that
 * failed and left its error on the thread's queue. */
static int
admit_after_stale_error(struct mtls *conn, int chain_ok, void *arg,
    char *reason, size_t reason_size)
{
	ck_assert_ptr_null(X509_VERIFY_PARAM_get1_ip_asc(NULL));
	ck_assert_uint_ne(ERR_peek_error(), 0);
	return chain_ok;
}

/* What an application's callback leaves on the queue does not end a
 * handshake that must wait for its next record. */
START_TEST(test_split_callback_error_left)
{
	struct split_case sc = { .tls13 = _i == 1, .client_cert = true,
	    .verify_cache = true, .unit = RELAY_RECORDS };
	struct mtls_config *scfg = split_server_config(&sc);
	struct mtls_config *ccfg = split_client_config(&sc);
	struct test_server s;
	struct relay r;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg,
	    admit_after_stale_error, NULL), 0);
	ck_assert_int_eq(mtls_config_set_verify_callback(ccfg,
	    admit_after_stale_error, NULL), 0);
	server_start(&s, scfg, SERVE_ECHO, 1);
	ck_assert_int_eq(relay_start(&r, s.port, sc.unit, RECORD_PAUSE_US, 1), 0);
	ck_assert(!split_exchange(&sc, ccfg, r.port));
	assert_server_saw(&s, &sc);
	relay_stop(&r);
	server_stop(&s);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

struct trickling_client {
	struct mtls_config *cfg;
	int port;
	pthread_t thread;
};

static void *
trickling_client_main(void *arg)
{
	struct trickling_client *tc = arg;
	int rc;

	mtls_free(client_connect(tc->cfg, "localhost", tc->port, &rc));
	return NULL;
}

/* The handshake timeout is one deadline for the whole handshake: a client
 * whose bytes arrive every 50 ms, each read well within any per-read
 * limit, is dropped once 1 s has passed since accept, however many calls
 * the server makes (here mtls_http_read_request with MTLS_HTTP_NOWAIT,
 * which parks the connection between bytes, as mtls-server does). */
START_TEST(test_split_trickle_meets_deadline)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct trickling_client tc = { make_config("client.crt", "client.key",
	    "ca.crt"), 0, 0 };
	struct mtls *srv, *conn = NULL;
	struct mtls_http_req *req = NULL;
	struct timespec start;
	struct relay r;
	int rc = MTLS_WANT_POLLIN, calls = 0;

	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 0, 1000, 0), 0);
	srv = mtls_server_new(scfg);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 4), 0);
	ck_assert_int_eq(relay_start(&r, mtls_local_port(srv), RELAY_BYTES,
	    50000, 1), 0);
	tc.port = r.port;
	ck_assert_int_eq(pthread_create(&tc.thread, NULL, trickling_client_main,
	    &tc), 0);
	ck_assert_int_eq(mtls_accept(srv, &conn), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (rc == MTLS_WANT_POLLIN && elapsed_ms(&start) < 5000) {
		struct pollfd pfd = { .fd = mtls_fd(conn), .events = POLLIN };

		(void)poll(&pfd, 1, 100);
		rc = mtls_http_read_request(conn, MTLS_HTTP_NOWAIT, &req);
		calls++;
	}
	ck_assert_conn_failed(conn, rc, MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(conn), "TLS handshake with 127.0.0.1:");
	ck_assert_msg_has(mtls_error(conn), "timed out after 1000 ms");
	ck_assert_int_lt(elapsed_ms(&start), 1500);
	ck_assert_int_gt(calls, 5);
	mtls_free(conn);
	pthread_join(tc.thread, NULL);
	relay_stop(&r);
	mtls_free(srv);
	mtls_config_free(tc.cfg);
	mtls_config_free(scfg);
}
END_TEST

/* An event loop's view: the time left shrinks from accept on, and a call
 * after the deadline fails at once, without waiting. */
START_TEST(test_handshake_ms_left)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct mtls *srv, *conn = NULL;
	struct timespec start;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long left;

	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 0, 500, 0), 0);
	srv = mtls_server_new(scfg);
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 4), 0);
	sin.sin_port = htons((uint16_t)mtls_local_port(srv));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(mtls_handshake_ms_left(srv), -1);
	ck_assert_int_eq(mtls_handshake_ms_left(NULL), -1);
	ck_assert_int_eq(mtls_accept(srv, &conn), 0);
	left = mtls_handshake_ms_left(conn);
	ck_assert_msg(left > 300 && left <= 500, "left %ld ms", left);
	usleep(600 * 1000);
	ck_assert_int_eq(mtls_handshake_ms_left(conn), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_conn_failed(conn, mtls_handshake(conn), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(conn), "timed out after 500 ms");
	ck_assert_int_lt(elapsed_ms(&start), 100);
	mtls_free(conn);
	close(fd);
	mtls_free(srv);
	mtls_config_free(scfg);
}
END_TEST

Suite *
split_suite(void)
{
	Suite *s = suite_create("split");
	TCase *tc = tcase_create("split");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_split_handshakes, 0, 16);
	tcase_add_loop_test(tc, test_split_callback_error_left, 0, 2);
	tcase_add_test(tc, test_split_trickle_meets_deadline);
	tcase_add_test(tc, test_handshake_ms_left);
	suite_add_tcase(s, tc);
	return s;
}
