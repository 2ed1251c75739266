/*
 * check_interrupt.c - signals and blocking calls
 * (mtls_config_set_interruptible): a signal ends a blocked read, accept,
 * handshake or write with MTLS_ERR_INTERRUPTED when the config says so,
 * and each can then be made again with nothing lost; without the switch
 * a signal ends nothing, and the timeouts still hold.  TLS and plaintext
 * connections, over real loopback sockets.  The signal is SIGUSR1, with
 * a handler installed without SA_RESTART.  With
 * mtls_config_set_interrupt_signals, only the signals listed end a wait;
 * the others are held back until it is over.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_util.h"

/* ----------------------------------------------------------- signals */

static int signals_handled;     /* atomic */
static struct sigaction saved_action;

static void
count_signal(int sig)
{
	(void)sig;
	__atomic_add_fetch(&signals_handled, 1, __ATOMIC_RELAXED);
}

static void
setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;            /* no SA_RESTART */
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &saved_action), 0);
	__atomic_store_n(&signals_handled, 0, __ATOMIC_RELAXED);
}

static void
teardown(void)
{
	sigaction(SIGUSR1, &saved_action, NULL);
}

static int
handled(void)
{
	return __atomic_load_n(&signals_handled, __ATOMIC_RELAXED);
}

/* ------------------------------------------------- a call in a thread */

enum call_kind {
	CALL_READ, CALL_ACCEPT, CALL_CONNECT, CALL_WRITE, CALL_HTTP, CALL_HTTP_READ
};

/* One blocking call in a thread of its own, signalled from the test's. */
struct blocked_call {
	enum call_kind kind;
	struct mtls *c;             /* the connection, listener or client */
	const char *port;           /* CALL_CONNECT: where to */
	const unsigned char *data;  /* CALL_WRITE: what */
	size_t len;
	ssize_t rc;
	struct mtls *accepted;      /* CALL_ACCEPT: the connection */
	struct mtls_http_response *response;    /* CALL_HTTP: a POST's */
	struct mtls_http_req *request;  /* CALL_HTTP_READ: the one read */
	char buf[64];               /* CALL_READ: what was read */
	int done;                   /* atomic: the call has returned */
	pthread_t thread;
};

static void *
call_main(void *arg)
{
	struct blocked_call *b = arg;

	switch (b->kind) {
	case CALL_READ:
		b->rc = mtls_read(b->c, b->buf, sizeof(b->buf) - 1);
		break;
	case CALL_ACCEPT:
		b->rc = mtls_accept(b->c, &b->accepted);
		break;
	case CALL_CONNECT:
		b->rc = mtls_connect(b->c, "127.0.0.1", b->port);
		break;
	case CALL_WRITE:
		b->rc = mtls_write(b->c, b->data, b->len);
		break;
	case CALL_HTTP_READ:
		b->rc = mtls_http_read_request(b->c, 0, &b->request);
		break;
	case CALL_HTTP:
		b->response = mtls_http_request(b->c, "POST", "/orders", NULL,
		    "order=1", 7, 0);
		b->rc = b->response != NULL ? 0 : -1;
		break;
	default:
		b->rc = -99;
	}
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
call_start(struct blocked_call *b)
{
	b->rc = -99;
	b->done = 0;
	ck_assert_int_eq(pthread_create(&b->thread, NULL, call_main, b), 0);
	usleep(100 * 1000);         /* let it reach its wait */
}

static bool
call_done(struct blocked_call *b)
{
	return __atomic_load_n(&b->done, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Sends SIGUSR1 to the call's thread every 20 ms for up to ms
 * milliseconds, or until the call returns (a signal that lands just
 * before poll is not seen, so one is not enough).  Returns whether the
 * call returned.
 */
static bool
signal_call(struct blocked_call *b, int ms)
{
	for (int waited = 0; waited < ms && !call_done(b); waited += 20) {
		pthread_kill(b->thread, SIGUSR1);
		usleep(20 * 1000);
	}
	return call_done(b);
}

static void
call_join(struct blocked_call *b)
{
	pthread_join(b->thread, NULL);
}

/* ------------------------------------------------------------ configs */

static struct mtls_config *
tls_server_config(void)
{
	return make_config("server.crt", "server.key", "ca.crt");
}

/* A client config, TLS or plaintext, interruptible or not, with an I/O
 * timeout of io_ms (0: none). */
static struct mtls_config *
client_config(bool plain, bool interruptible, int io_ms)
{
	struct mtls_config *cfg = plain ? mtls_config_new() :
	    make_config("client.crt", "client.key", "ca.crt");

	ck_assert_ptr_nonnull(cfg);
	if (plain)
		ck_assert_int_eq(mtls_config_insecure_plaintext(cfg), 0);
	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 5000, 5000, io_ms), 0);
	ck_assert_int_eq(mtls_config_set_interruptible(cfg, interruptible), 0);
	return cfg;
}

static struct mtls_config *
server_config(bool plain)
{
	struct mtls_config *cfg;

	if (!plain)
		return tls_server_config();
	cfg = mtls_config_new();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(mtls_config_insecure_plaintext(cfg), 0);
	return cfg;
}

/* A connected pair; the client side from ccfg. */
struct pair {
	struct mtls_config *scfg, *ccfg;
	struct mtls *listener, *server_side, *client_side;
};

static void
pair_open(struct pair *p, bool plain, bool interruptible, int io_ms)
{
	p->scfg = server_config(plain);
	p->ccfg = client_config(plain, interruptible, io_ms);
	connect_pair(p->scfg, p->ccfg, &p->listener, &p->server_side,
	    &p->client_side);
}

static void
pair_close(struct pair *p)
{
	mtls_free(p->client_side);
	mtls_free(p->server_side);
	mtls_free(p->listener);
	mtls_config_free(p->ccfg);
	mtls_config_free(p->scfg);
}

/* -------------------------------------------------------------- reads */

/* _i: 0 for TLS, 1 for plaintext. */
START_TEST(test_signal_ends_read_then_read_again)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_READ };
	ssize_t n;

	pair_open(&p, _i == 1, true, 0);
	b.c = p.client_side;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the read");
	call_join(&b);
	ck_assert_int_gt(handled(), 0);
	ck_assert_conn_failed(p.client_side, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_str_eq(mtls_error(p.client_side),
	    "read interrupted by a signal");
	/* Nothing was consumed and the connection is not failed. */
	ck_assert_int_eq(mtls_write(p.server_side, "late", 4), 4);
	n = mtls_read(p.client_side, b.buf, sizeof(b.buf));
	ck_assert_msg(n == 4, "second read: %zd: %s", n,
	    mtls_error(p.client_side));
	ck_assert_int_eq(memcmp(b.buf, "late", 4), 0);
	ck_assert_int_eq(mtls_write(p.client_side, "back", 4), 4);
	ck_assert_int_eq(mtls_read(p.server_side, b.buf, sizeof(b.buf)), 4);
	ck_assert_int_eq(memcmp(b.buf, "back", 4), 0);
	pair_close(&p);
}
END_TEST

/* _i: 0 for TLS, 1 for plaintext. */
START_TEST(test_signal_without_switch_ends_no_read)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_READ };

	pair_open(&p, _i == 1, false, 0);
	b.c = p.client_side;
	call_start(&b);
	ck_assert_msg(!signal_call(&b, 400), "the read went on waiting, got "
	    "%zd: %s", b.rc, mtls_error(p.client_side));
	ck_assert_int_ge(handled(), 10);
	ck_assert_int_eq(mtls_write(p.server_side, "data", 4), 4);
	call_join(&b);
	ck_assert_msg(b.rc == 4, "read: %zd: %s", b.rc,
	    mtls_error(p.client_side));
	ck_assert_int_eq(memcmp(b.buf, "data", 4), 0);
	ck_assert_int_eq(mtls_error_code(p.client_side), MTLS_OK);
	pair_close(&p);
}
END_TEST

START_TEST(test_signals_do_not_stretch_the_timeout)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_READ };

	struct timespec t0, t1;
	long ms;

	pair_open(&p, false, false, 300);
	b.c = p.client_side;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	call_start(&b);
	ck_assert_msg(signal_call(&b, 3000), "the read timed out meanwhile");
	call_join(&b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(ms < 1500, "timed out after %ld ms, not ~300", ms);
	ck_assert_int_gt(handled(), 0);
	ck_assert_conn_failed(p.client_side, b.rc, MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(p.client_side), "timed out after 300 ms");
	pair_close(&p);
}
END_TEST

/* ------------------------------------------------------------- accept */

static struct mtls *
listening_server(struct mtls_config *cfg)
{
	struct mtls *srv = mtls_server_new(cfg);

	ck_assert_msg(srv != NULL, "%s", mtls_config_error(cfg));
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 4), 0);
	return srv;
}

/* A TCP connection to srv, made and closed, for accept to return. */
static void
knock(struct mtls *srv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)mtls_local_port(srv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(fd);
}

START_TEST(test_signal_ends_accept_then_accept_again)
{
	struct mtls_config *cfg = tls_server_config();
	struct blocked_call b = { .kind = CALL_ACCEPT };
	struct mtls *conn = NULL;

	ck_assert_int_eq(mtls_config_set_interruptible(cfg, 1), 0);
	b.c = listening_server(cfg);
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the accept");
	call_join(&b);
	ck_assert_conn_failed(b.c, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_str_eq(mtls_error(b.c), "accept interrupted by a signal");
	ck_assert_ptr_null(b.accepted);
	knock(b.c);
	ck_assert_msg(mtls_accept(b.c, &conn) == 0, "%s", mtls_error(b.c));
	ck_assert_ptr_nonnull(conn);
	mtls_free(conn);
	mtls_free(b.c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_signal_without_switch_ends_no_accept)
{
	struct mtls_config *cfg = tls_server_config();
	struct blocked_call b = { .kind = CALL_ACCEPT };

	b.c = listening_server(cfg);
	call_start(&b);
	ck_assert_msg(!signal_call(&b, 300), "accept went on waiting, got "
	    "%zd: %s", b.rc, mtls_error(b.c));
	ck_assert_int_ge(handled(), 5);
	knock(b.c);
	call_join(&b);
	ck_assert_msg(b.rc == 0, "accept: %s", mtls_error(b.c));
	ck_assert_ptr_nonnull(b.accepted);
	mtls_free(b.accepted);
	mtls_free(b.c);
	mtls_config_free(cfg);
}
END_TEST

/* A listener made interruptible by mtls_server_set_config follows it. */
START_TEST(test_accept_follows_the_new_config)
{
	struct mtls_config *cfg = tls_server_config(), *next = tls_server_config();
	struct blocked_call b = { .kind = CALL_ACCEPT };

	ck_assert_int_eq(mtls_config_set_interruptible(next, 1), 0);
	b.c = listening_server(cfg);
	ck_assert_msg(mtls_server_set_config(b.c, next) == 0, "%s",
	    mtls_error(b.c));
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the accept");
	call_join(&b);
	ck_assert_conn_failed(b.c, b.rc, MTLS_ERR_INTERRUPTED);
	mtls_free(b.c);
	mtls_config_free(cfg);
	mtls_config_free(next);
}
END_TEST

/* ---------------------------------------------------------- handshake */

/* A TCP listener that never speaks: connect works, TLS waits. */
static int
silent_listener(char *port, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&sin, &slen);
	snprintf(port, len, "%d", ntohs(sin.sin_port));
	return fd;
}

struct handshaker {
	struct mtls *c;
	int rc;
};

static void *
handshake_main(void *arg)
{
	struct handshaker *h = arg;

	h->rc = mtls_handshake(h->c);
	return NULL;
}

/* mtls_connect interrupted in its handshake: the TCP connection stands,
 * and mtls_handshake finishes it once the server answers. */
START_TEST(test_signal_ends_connect_handshake_then_resume)
{
	struct mtls_config *scfg = tls_server_config();
	struct mtls_config *ccfg = client_config(false, true, 0);
	struct mtls *srv = mtls_server_new(scfg), *sc = NULL;
	struct blocked_call b = { .kind = CALL_CONNECT };
	struct handshaker h = { NULL, -99 };
	char port[16], buf[8];
	int lfd = silent_listener(port, sizeof(port)), sfd;
	pthread_t t;

	b.c = mtls_client_new(ccfg);
	ck_assert_int_eq(mtls_set_verify_name(b.c, "localhost"), 0);
	b.port = port;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the connect");
	call_join(&b);
	ck_assert_conn_failed(b.c, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_str_eq(mtls_error(b.c), "TLS handshake interrupted by a signal");
	ck_assert_int_ge(mtls_fd(b.c), 0);
	/* Now the server takes the connection and answers. */
	sfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(mtls_accept_socket(srv, &sc, sfd), 0);
	h.c = sc;
	pthread_create(&t, NULL, handshake_main, &h);
	ck_assert_msg(mtls_handshake(b.c) == 0, "%s", mtls_error(b.c));
	pthread_join(t, NULL);
	ck_assert_msg(h.rc == 0, "server: %s", mtls_error(sc));
	ck_assert_int_eq(mtls_write(b.c, "tls", 3), 3);
	ck_assert_int_eq(mtls_read(sc, buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "tls", 3), 0);
	mtls_free(b.c);
	mtls_free(sc);
	mtls_free(srv);
	close(sfd);
	close(lfd);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

/* -------------------------------------------------------------- write */

#define BIG (16u << 20)     /* more than the socket buffers hold */

struct drain {
	struct mtls *c;
	size_t got;
	bool in_order;
};

static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	unsigned char *buf = malloc(65536);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	d->in_order = true;
	while (d->got < BIG && (n = mtls_read(d->c, buf, 65536)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (unsigned char)((d->got + (size_t)i) % 251))
				d->in_order = false;
		d->got += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* _i: 0 for TLS, 1 for plaintext.  A write to a peer that reads nothing
 * is interrupted; called again with the same buf and len, it finishes,
 * and the peer gets every byte once, in order. */
START_TEST(test_signal_ends_write_then_resume)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_WRITE };
	struct drain d = { NULL, 0, false };
	unsigned char *data = malloc(BIG);
	pthread_t t;
	ssize_t n;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i % 251);
	pair_open(&p, _i == 1, true, 0);
	b.c = p.client_side;
	b.data = data;
	b.len = BIG;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the write");
	call_join(&b);
	ck_assert_conn_failed(p.client_side, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_str_eq(mtls_error(p.client_side),
	    "write interrupted by a signal");
	d.c = p.server_side;
	pthread_create(&t, NULL, drain_main, &d);
	n = mtls_write(p.client_side, data, BIG);
	ck_assert_msg(n == (ssize_t)BIG, "resumed write: %zd: %s", n,
	    mtls_error(p.client_side));
	pthread_join(t, NULL);
	ck_assert_uint_eq(d.got, BIG);
	ck_assert_msg(d.in_order, "the peer got the bytes in order, once");
	pair_close(&p);
	free(data);
}
END_TEST

/* ------------------------------------------------- chosen signals only */

/* A TLS pair whose client ends its waits only on the signals given. */
static void
pair_open_signals(struct pair *p, const int *signals, size_t count)
{
	p->scfg = tls_server_config();
	p->ccfg = client_config(false, false, 0);
	ck_assert_int_eq(mtls_config_set_interrupt_signals(p->ccfg, signals,
	    count), 0);
	connect_pair(p->scfg, p->ccfg, &p->listener, &p->server_side,
	    &p->client_side);
}

START_TEST(test_listed_signal_ends_read)
{
	static const int usr1[] = { SIGUSR1 };
	struct pair p;
	struct blocked_call b = { .kind = CALL_READ };

	pair_open_signals(&p, usr1, 1);
	b.c = p.client_side;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "SIGUSR1 ended the read");
	call_join(&b);
	ck_assert_conn_failed(p.client_side, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_str_eq(mtls_error(p.client_side),
	    "read interrupted by a signal");
	pair_close(&p);
}
END_TEST

/* A signal not in the list is held back while the read waits: its
 * handler runs once the read is over, and the read is not ended. */
START_TEST(test_other_signal_held_during_read)
{
	static const int usr2[] = { SIGUSR2 };
	struct pair p;
	struct blocked_call b = { .kind = CALL_READ };

	pair_open_signals(&p, usr2, 1);
	b.c = p.client_side;
	call_start(&b);
	ck_assert_msg(!signal_call(&b, 400), "the read went on waiting, got "
	    "%zd: %s", b.rc, mtls_error(p.client_side));
	ck_assert_int_eq(handled(), 0);     /* held back, not lost */
	ck_assert_int_eq(mtls_write(p.server_side, "data", 4), 4);
	call_join(&b);
	ck_assert_msg(b.rc == 4, "read: %zd: %s", b.rc,
	    mtls_error(p.client_side));
	ck_assert_int_eq(memcmp(b.buf, "data", 4), 0);
	ck_assert_int_ge(handled(), 1);     /* delivered after the wait */
	pair_close(&p);
}
END_TEST

START_TEST(test_interrupt_signals_invalid)
{
	static const int bad[] = { SIGUSR1, 9999 };
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed(cfg, mtls_config_set_interrupt_signals(cfg, bad, 2),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "9999 is not a signal number");
	ck_assert_cfg_failed(cfg, mtls_config_set_interrupt_signals(cfg, NULL, 1),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "no array");
	ck_assert_int_eq(mtls_config_set_interrupt_signals(cfg, NULL, 0), 0);
	ck_assert_int_eq(mtls_config_set_interrupt_signals(NULL, bad, 1), -1);
	mtls_config_free(cfg);
}
END_TEST

/* --------------------------------------------------------------- HTTP */

/* A POST interrupted while it waits for its answer is resumed by
 * mtls_http_resume: the server gets it once and the answer arrives. */
START_TEST(test_signal_ends_http_request_then_resume)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_HTTP };
	struct mtls_http_req *req;
	struct mtls_http_response *r;
	const void *body;
	size_t len;

	pair_open(&p, false, true, 0);
	b.c = p.client_side;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the request");
	call_join(&b);
	ck_assert_conn_failed(p.client_side, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_int_eq(mtls_http_read_request(p.server_side, 0, &req), 1);
	ck_assert_str_eq(mtls_http_req_method(req), "POST");
	body = mtls_http_req_body(req, &len);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(body, "order=1", 7), 0);
	ck_assert_int_eq(mtls_http_respond(req, 201, NULL, "made", 4), 0);
	mtls_http_req_free(req);
	r = mtls_http_resume(p.client_side);
	ck_assert_msg(r != NULL, "resume: %s", mtls_error(p.client_side));
	ck_assert_int_eq(mtls_http_response_status(r), 201);
	body = mtls_http_response_body(r, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(memcmp(body, "made", 4), 0);
	mtls_http_response_free(r);
	/* Nothing is pending any more. */
	ck_assert_ptr_null(mtls_http_resume(p.client_side));
	ck_assert_int_eq(mtls_error_code(p.client_side), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(p.client_side), "no waiting or interrupted HTTP request");
	pair_close(&p);
}
END_TEST

/* A request read cut by a signal, after the client sent `first`, goes on
 * when mtls_http_read_request is called again, once `rest` has come. */
static void
check_request_read_resumed(const char *first, const char *rest)
{
	struct pair p;
	struct blocked_call b = { .kind = CALL_HTTP_READ };
	struct mtls_http_req *req;
	const void *body;
	size_t len;

	p.scfg = tls_server_config();
	ck_assert_int_eq(mtls_config_set_interruptible(p.scfg, 1), 0);
	p.ccfg = client_config(false, false, 0);
	connect_pair(p.scfg, p.ccfg, &p.listener, &p.server_side,
	    &p.client_side);
	ck_assert_int_eq(mtls_write(p.client_side, first, strlen(first)),
	    (ssize_t)strlen(first));
	b.c = p.server_side;
	call_start(&b);
	ck_assert_msg(signal_call(&b, 2000), "a signal ended the read");
	call_join(&b);
	ck_assert_conn_failed(p.server_side, b.rc, MTLS_ERR_INTERRUPTED);
	ck_assert_int_eq(mtls_write(p.client_side, rest, strlen(rest)),
	    (ssize_t)strlen(rest));
	ck_assert_int_eq(mtls_http_read_request(p.server_side, 0, &req), 1);
	ck_assert_str_eq(mtls_http_req_method(req), "POST");
	ck_assert_str_eq(mtls_http_req_target(req), "/orders");
	body = mtls_http_req_body(req, &len);
	ck_assert_uint_eq(len, 10);
	ck_assert_int_eq(memcmp(body, "order=1234", 10), 0);
	mtls_http_req_free(req);
	pair_close(&p);
}

START_TEST(test_signal_ends_request_head_read_then_resume)
{
	check_request_read_resumed("POST /orders HTTP/1.1\r\nHost: x\r\n",
	    "Content-Length: 10\r\n\r\norder=1234");
}
END_TEST

START_TEST(test_signal_ends_request_body_read_then_resume)
{
	check_request_read_resumed("POST /orders HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 10\r\n\r\norder", "=1234");
}
END_TEST

/* ------------------------------------------------------------- config */

START_TEST(test_interruptible_is_frozen_with_the_config)
{
	struct mtls_config *cfg = client_config(false, false, 0);
	struct mtls *c = mtls_client_new(cfg);

	ck_assert_ptr_nonnull(c);
	ck_assert_cfg_failed(cfg, mtls_config_set_interruptible(cfg, 1),
	    MTLS_ERR_CONFIG_FROZEN);
	ck_assert_msg_has(mtls_config_error(cfg), "in use by a connection");
	ck_assert_int_eq(mtls_config_set_interruptible(NULL, 1), -1);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

Suite *
interrupt_suite(void)
{
	Suite *s = suite_create("interrupt");
	TCase *tc = tcase_create("signals");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_signal_ends_read_then_read_again, 0, 2);
	tcase_add_loop_test(tc, test_signal_without_switch_ends_no_read, 0, 2);
	tcase_add_test(tc, test_signals_do_not_stretch_the_timeout);
	tcase_add_test(tc, test_signal_ends_accept_then_accept_again);
	tcase_add_test(tc, test_signal_without_switch_ends_no_accept);
	tcase_add_test(tc, test_accept_follows_the_new_config);
	tcase_add_test(tc, test_signal_ends_connect_handshake_then_resume);
	tcase_add_loop_test(tc, test_signal_ends_write_then_resume, 0, 2);
	tcase_add_test(tc, test_interruptible_is_frozen_with_the_config);
	tcase_add_test(tc, test_listed_signal_ends_read);
	tcase_add_test(tc, test_signal_ends_http_request_then_resume);
	tcase_add_test(tc, test_signal_ends_request_head_read_then_resume);
	tcase_add_test(tc, test_signal_ends_request_body_read_then_resume);
	tcase_add_test(tc, test_other_signal_held_during_read);
	tcase_add_test(tc, test_interrupt_signals_invalid);
	suite_add_tcase(s, tc);
	return s;
}
