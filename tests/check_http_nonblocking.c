/*
 * check_http_nonblocking.c - the HTTP/1.1 helpers on non-blocking
 * connections.  The server helper is driven by a small epoll loop in a
 * thread of its own (the shape of an event-loop server): requests
 * trickled a byte at a time, responses read slowly, many connections on
 * one thread, and the timeouts kept across calls with mtls_http_ms_left;
 * its clients are the library's blocking ones, sometimes behind the
 * piece-by-piece relay.  The client helper is driven by poll on a
 * non-blocking socket (mtls_http_want, mtls_http_resume), against that
 * loop, through the relay.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_util.h"
#include "relay.h"

#define BIG_LEN (512 * 1024)    /* the body of /big and /stream */
#define STREAM_PIECE 100000     /* /stream's writes: over a 64 KiB chunk */
#define LOOP_CONNS 64

/* ------------------------------------------------------- the event loop */

enum nb_stage { NB_READ, NB_RESPOND, NB_START, NB_WRITE, NB_END };

struct nb_conn {
	struct mtls *c;
	int fd;
	struct mtls_http_req *req;
	enum nb_stage stage;
	size_t streamed;            /* bytes of /stream written */
};

struct nb_server {
	struct mtls_config *cfg;
	struct mtls *listener;
	int port, ep, stop_fd, sndbuf;
	pthread_t thread;
	struct nb_conn conns[LOOP_CONNS];
	/* what the loop saw, read by the test once it stopped */
	int answered, ended_quietly, want_in, want_out;
	int err_code;               /* the last connection that failed */
	char err[512];
	long err_after_ms;          /* its failure, after accept */
	long accepted_at;
};

static char *big;               /* BIG_LEN bytes of a known pattern */

static void
nb_arm(struct nb_server *s, struct nb_conn *k, int rc)
{
	struct epoll_event ev = { .events = rc == MTLS_WANT_POLLOUT ? EPOLLOUT :
	    EPOLLIN, .data.ptr = k };

	if (rc == MTLS_WANT_POLLOUT)
		s->want_out++;
	else
		s->want_in++;
	ck_assert_int_eq(epoll_ctl(s->ep, EPOLL_CTL_MOD, k->fd, &ev), 0);
}

static void
nb_end(struct nb_server *s, struct nb_conn *k, int rc)
{
	if (rc == 0) {
		__atomic_add_fetch(&s->ended_quietly, 1, __ATOMIC_RELEASE);
	} else {
		/* Read by the test while the loop runs: atomic. */
		__atomic_store_n(&s->err_code, mtls_error_code(k->c),
		    __ATOMIC_RELEASE);
		snprintf(s->err, sizeof(s->err), "%s", mtls_error(k->c) != NULL ?
		    mtls_error(k->c) : "(none)");
		s->err_after_ms = now_ms() - s->accepted_at;
	}
	mtls_http_req_free(k->req);
	(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, k->fd, NULL);
	/* A close that would wait is given up: the socket goes anyway. */
	(void)mtls_close(k->c);
	mtls_free(k->c);
	close(k->fd);
	memset(k, 0, sizeof(*k));
}

/* The next write of /stream: pieces over a 64 KiB chunk, and after the
 * first one piece of 7 bytes. */
static size_t
stream_piece(const struct nb_conn *k)
{
	size_t left = BIG_LEN - k->streamed;

	if (k->streamed == STREAM_PIECE)
		return 7;
	return left < STREAM_PIECE ? left : STREAM_PIECE;
}

/* One call of what the response to k's request is at; as the helper's. */
static int
nb_respond_step(struct nb_conn *k)
{
	const char *target = mtls_http_req_target(k->req);
	const void *body;
	size_t len;
	ssize_t n;

	switch (k->stage) {
	case NB_RESPOND:
		if (strcmp(target, "/big") == 0)
			return mtls_http_respond(k->req, 200, NULL, big, BIG_LEN);
		body = mtls_http_req_body(k->req, &len);
		if (strcmp(target, "/echo") == 0)
			return mtls_http_respond(k->req, 200, NULL, body, len);
		return mtls_http_respond(k->req, 200, NULL, "hello\n", 6);
	case NB_START:
		return mtls_http_respond_start(k->req, 200, NULL);
	case NB_WRITE:
		len = stream_piece(k);
		n = mtls_http_respond_write(k->req, big + k->streamed, len);
		return n == (ssize_t)len ? 0 : (int)n;
	case NB_END:
	default:
		return mtls_http_respond_end(k->req);
	}
}

/* After a step of the response that completed: the next one; whether
 * the response is all sent. */
static bool
nb_respond_next(struct nb_conn *k)
{
	switch (k->stage) {
	case NB_START:
		k->stage = NB_WRITE;
		return false;
	case NB_WRITE:
		k->streamed += stream_piece(k);
		if (k->streamed == BIG_LEN)
			k->stage = NB_END;
		return false;
	case NB_RESPOND:
	case NB_END:
	default:
		return true;
	}
}

/* Drives k as far as it goes without waiting. */
static void
nb_drive(struct nb_server *s, struct nb_conn *k)
{
	for (;;) {
		int rc;

		if (k->stage == NB_READ) {
			rc = mtls_http_read_request(k->c, 0, &k->req);
			if (rc == 1) {
				k->stage = strcmp(mtls_http_req_target(k->req),
				    "/stream") == 0 ? NB_START : NB_RESPOND;
				k->streamed = 0;
				continue;
			}
		} else if ((rc = nb_respond_step(k)) == 0) {
			if (!nb_respond_next(k))
				continue;
			s->answered++;
			mtls_http_req_free(k->req);
			k->req = NULL;
			k->stage = NB_READ;
			continue;
		}
		if (rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT) {
			nb_arm(s, k, rc);
			return;
		}
		nb_end(s, k, rc);
		return;
	}
}

static void
nb_accept(struct nb_server *s)
{
	int fd = accept4(mtls_fd(s->listener), NULL, NULL, SOCK_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN };
	struct nb_conn *k = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < LOOP_CONNS && k == NULL; i++)
		if (s->conns[i].c == NULL)
			k = &s->conns[i];
	ck_assert_ptr_nonnull(k);
	if (s->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf,
		    sizeof(s->sndbuf));
	ck_assert_int_eq(mtls_accept_socket(s->listener, &k->c, fd), 0);
	k->fd = fd;
	k->stage = NB_READ;
	s->accepted_at = now_ms();
	ev.data.ptr = k;
	ck_assert_int_eq(epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev), 0);
	nb_drive(s, k);
}

/* The wait until the nearest deadline of the helper, -1 for none. */
static int
nb_wait_ms(struct nb_server *s)
{
	long least = -1;

	for (int i = 0; i < LOOP_CONNS; i++) {
		long left = s->conns[i].c != NULL ?
		    mtls_http_ms_left(s->conns[i].c) : -1;

		if (left >= 0 && (least < 0 || left < least))
			least = left;
	}
	return (int)least;
}

/* Connections whose deadline has passed: their call ends the wait. */
static void
nb_expire(struct nb_server *s)
{
	for (int i = 0; i < LOOP_CONNS; i++)
		if (s->conns[i].c != NULL && mtls_http_ms_left(s->conns[i].c) == 0)
			nb_drive(s, &s->conns[i]);
}

static void *
nb_main(void *arg)
{
	struct nb_server *s = arg;
	struct epoll_event evs[16];

	for (;;) {
		int n = epoll_wait(s->ep, evs, 16, nb_wait_ms(s));

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == s)
				return NULL;
			if (evs[i].data.ptr == NULL)
				nb_accept(s);
			else if (((struct nb_conn *)evs[i].data.ptr)->c != NULL)
				nb_drive(s, evs[i].data.ptr);
		}
		nb_expire(s);
	}
}

static void
nb_start(struct nb_server *s, struct mtls_config *cfg, int sndbuf)
{
	struct epoll_event ev = { .events = EPOLLIN };

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->sndbuf = sndbuf;
	s->listener = mtls_server_new(cfg);
	ck_assert_ptr_nonnull(s->listener);
	ck_assert_int_eq(mtls_listen(s->listener, "127.0.0.1", "0", 64), 0);
	s->port = mtls_local_port(s->listener);
	ck_assert_int_ge(s->ep = epoll_create1(0), 0);
	ck_assert_int_ge(s->stop_fd = eventfd(0, 0), 0);
	ev.data.ptr = NULL;
	ck_assert_int_eq(epoll_ctl(s->ep, EPOLL_CTL_ADD, mtls_fd(s->listener),
	    &ev), 0);
	ev.data.ptr = s;
	ck_assert_int_eq(epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_fd, &ev), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, nb_main, s), 0);
}

static void
nb_stop(struct nb_server *s)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(s->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(s->thread, NULL);
	for (int i = 0; i < LOOP_CONNS; i++)
		if (s->conns[i].c != NULL)
			nb_end(s, &s->conns[i], 0);
	mtls_free(s->listener);
	close(s->ep);
	close(s->stop_fd);
}

/* --------------------------------------------------------- the clients */

static struct mtls_config *scfg, *ccfg;
static struct nb_server srv;

static void
setup(void)
{
	scfg = cfg_new("server.crt", "server.key", "ca.crt");
	ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	if (big == NULL) {
		big = malloc(BIG_LEN);
		for (size_t i = 0; i < BIG_LEN; i++)
			big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	}
}

static void
teardown(void)
{
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static struct mtls *
nb_client(int port)
{
	int rc;
	struct mtls *c = client_connect(ccfg, "localhost", port, &rc);

	ck_assert_msg(rc == 0, "client: %s", mtls_error(c));
	return c;
}

static void
send_all(struct mtls *c, const char *s, size_t len)
{
	ck_assert_msg(mtls_write(c, s, len) == (ssize_t)len, "%s", mtls_error(c));
}

/* Sends s one byte (one TLS record) at a time, pausing pause_us after each. */
static void
trickle(struct mtls *c, const char *s, int pause_us)
{
	for (; *s != '\0'; s++) {
		send_all(c, s, 1);
		usleep((useconds_t)pause_us);
	}
}

/*
 * Reads one response: its head into head (NUL-terminated), its body into
 * body (Content-Length or chunked, decoded), len bytes a read and a pause
 * of pause_us after each.  Returns the body's length, or -1 when the
 * stream ended first.
 */
static long
read_response(struct mtls *c, char *head, size_t head_cap, char *body,
    size_t body_cap, size_t len, int pause_us)
{
	static char wire[2 * BIG_LEN];
	size_t got = 0, used, out = 0;
	const char *end, *cl;

	for (;;) {
		ssize_t n;

		wire[got] = '\0';
		if ((end = strstr(wire, "\r\n\r\n")) != NULL) {
			used = (size_t)(end + 4 - wire);
			cl = strstr(wire, "Content-Length: ");
			if (cl != NULL && cl < end &&
			    got >= used + strtoul(cl + 16, NULL, 10))
				break;
			if (cl == NULL && strstr(end, "\r\n0\r\n\r\n") != NULL)
				break;
		}
		n = mtls_read(c, wire + got, len < sizeof(wire) - 1 - got ? len :
		    sizeof(wire) - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (pause_us > 0)
			usleep((useconds_t)pause_us);
	}
	ck_assert_uint_lt(used, head_cap);
	memcpy(head, wire, used);
	head[used] = '\0';
	if (strstr(head, "Content-Length: ") != NULL) {
		out = strtoul(strstr(head, "Content-Length: ") + 16, NULL, 10);
		ck_assert_uint_le(out, body_cap);
		memcpy(body, wire + used, out);
		return (long)out;
	}
	for (const char *p = wire + used;;) {   /* chunked */
		char *after;
		size_t n = strtoul(p, &after, 16);

		if (n == 0)
			return (long)out;
		ck_assert_uint_le(out + n, body_cap);
		memcpy(body + out, after + 2, n);
		out += n;
		p = after + 2 + n + 2;
	}
}

static char head[4096], body[BIG_LEN + 1];

/* ------------------------------------------------------------- the tests */

/* Many connections on the one loop thread, keep-alive, interleaved. */
START_TEST(test_nb_many_keepalive)
{
	struct mtls *c[16];
	int n = (int)(sizeof(c) / sizeof(c[0]));

	nb_start(&srv, scfg, 0);
	for (int i = 0; i < n; i++)
		c[i] = nb_client(srv.port);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < n; i++)
			send_all(c[i], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 32);
		for (int i = 0; i < n; i++) {
			ck_assert_int_eq(read_response(c[i], head, sizeof(head), body,
			    sizeof(body), 16384, 0), 6);
			ck_assert_msg(strncmp(head, "HTTP/1.1 200 ", 13) == 0, "%s", head);
			ck_assert(memcmp(body, "hello\n", 6) == 0);
		}
	}
	for (int i = 0; i < n; i++) {
		mtls_close(c[i]);
		mtls_free(c[i]);
	}
	nb_stop(&srv);
	ck_assert_int_eq(srv.answered, 3 * n);
	ck_assert_msg(srv.err_code == 0, "%s", srv.err);
}
END_TEST

/* A request trickled: a byte a record, or a byte of the TLS stream at a
 * time behind the relay (the handshake too); Content-Length or chunked. */
static const struct trickle_case {
	const char *name;
	bool relay;
	const char *request;
	const char *body;           /* what the echo must give */
} trickle_cases[] = {
	{ "length, a record a byte", false, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 11\r\n\r\nhello world", "hello world" },
	{ "chunked, a record a byte", false, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
	    "0\r\n\r\n", "hello world" },
	{ "length, behind a byte relay", true, "POST /echo HTTP/1.1\r\n"
	    "Host: x\r\nContent-Length: 11\r\n\r\nhello world", "hello world" },
	{ "chunked, behind a byte relay", true, "POST /echo HTTP/1.1\r\n"
	    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n"
	    " world\r\n0\r\n\r\n", "hello world" },
};

START_TEST(test_nb_trickled_request)
{
	const struct trickle_case *tc = &trickle_cases[_i];
	struct relay r;
	struct mtls *c;
	long len;

	nb_start(&srv, scfg, 0);
	if (tc->relay)
		ck_assert_int_eq(relay_start(&r, srv.port, RELAY_BYTES, 100, 1), 0);
	c = nb_client(tc->relay ? r.port : srv.port);
	trickle(c, tc->request, 1000);
	len = read_response(c, head, sizeof(head), body, sizeof(body), 16384, 0);
	ck_assert_msg(len == (long)strlen(tc->body), "%s: %ld", tc->name, len);
	ck_assert(memcmp(body, tc->body, (size_t)len) == 0);
	mtls_close(c);
	mtls_free(c);
	if (tc->relay)
		relay_stop(&r);
	nb_stop(&srv);
	ck_assert_int_eq(srv.answered, 1);
	/* The request came in pieces, each a call that went on: resumed. */
	ck_assert_msg(srv.want_in > (int)strlen(tc->request) / 2, "%s: %d "
	    "waits for %zu bytes", tc->name, srv.want_in, strlen(tc->request));
	ck_assert_msg(srv.err_code == 0, "%s", srv.err);
}
END_TEST

/* A slow reader of a big response, fixed or streamed: every byte arrives
 * once, in order, though the server's socket took a little at a time. */
START_TEST(test_nb_slow_reader)
{
	const char *target = _i == 0 ? "/big" : "/stream";
	char req[64];
	struct mtls *c;

	nb_start(&srv, scfg, 4096);
	c = nb_client(srv.port);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
	for (int i = 0; i < 2; i++) {       /* and again, kept alive */
		send_all(c, req, strlen(req));
		memset(body, 0, sizeof(body));
		ck_assert_int_eq(read_response(c, head, sizeof(head), body,
		    sizeof(body), 3000, 50), BIG_LEN);
		ck_assert_msg(memcmp(body, big, BIG_LEN) == 0, "%s: the body "
		    "differs", target);
	}
	mtls_close(c);
	mtls_free(c);
	nb_stop(&srv);
	ck_assert_int_eq(srv.answered, 2);
	ck_assert_msg(srv.want_out > 4, "%s: %d waits to write", target,
	    srv.want_out);
	ck_assert_msg(srv.err_code == 0, "%s", srv.err);
}
END_TEST

/*
 * The timeouts of the loop's connections, which the loop learns from
 * mtls_http_ms_left, each 300 ms: the client sends what the row says and
 * reads nothing until the server has ended the connection; then it reads
 * what the server left it.
 */
static const struct timeout_row {
	const char *name;
	int idle_ms, header_ms, io_ms, sndbuf;
	const char *send;           /* the client's part */
	const char *reply;          /* what the client then reads first ("":
	                               a whole response, NULL: nothing asked) */
	int code;                   /* the server's error, 0: ended quietly */
	const char *message[2];     /* in the server's error */
} timeout_rows[] = {
	/* An idle keep-alive connection ends quietly. */
	{ "idle", 300, 0, 0, 0, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "",
	    0, { NULL, NULL } },
	/* A head that stops arriving gets 408 at the header timeout. */
	{ "head", 0, 300, 0, 0, "GET /hello HTTP/1.1\r\nHost:", "HTTP/1.1 408 ",
	    MTLS_ERR_TIMEOUT, { "its head did not arrive in time", NULL } },
	/* A client that stops reading a response is dropped at the I/O
	 * timeout, counted across the calls. */
	{ "reader", 0, 0, 300, 4096, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
	    NULL, MTLS_ERR_TIMEOUT, { "sending the HTTP response",
	    "timed out after 300 ms" } },
};

/* Whether the loop has ended a connection, quietly or not. */
static bool
server_ended(void)
{
	return __atomic_load_n(&srv.err_code, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&srv.ended_quietly, __ATOMIC_ACQUIRE) != 0;
}

START_TEST(test_nb_timeouts)
{
	const struct timeout_row *row = &timeout_rows[_i];
	char buf[512];
	struct mtls *c;
	long t0;

	if (row->idle_ms > 0)
		ck_assert_int_eq(mtls_config_set_http_limit(scfg,
		    MTLS_HTTP_IDLE_TIMEOUT_MS, row->idle_ms), 0);
	if (row->header_ms > 0)
		ck_assert_int_eq(mtls_config_set_http_limit(scfg,
		    MTLS_HTTP_HEADER_TIMEOUT_MS, row->header_ms), 0);
	if (row->io_ms > 0)
		ck_assert_int_eq(mtls_config_set_timeouts(scfg, 5000, 5000,
		    row->io_ms), 0);
	nb_start(&srv, scfg, row->sndbuf);
	c = nb_client(srv.port);
	send_all(c, row->send, strlen(row->send));
	if (row->reply != NULL && *row->reply == '\0')
		ck_assert_int_eq(read_response(c, head, sizeof(head), body,
		    sizeof(body), 16384, 0), 6);
	t0 = now_ms();
	for (int i = 0; i < 100 && !server_ended(); i++)
		usleep(20000);
	ck_assert_msg(now_ms() - t0 >= 250 && now_ms() - t0 < 2000,
	    "%s: ended after %ld ms", row->name, now_ms() - t0);
	if (row->reply != NULL && *row->reply != '\0') {
		ssize_t n = mtls_read(c, buf, sizeof(buf) - 1);

		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		ck_assert_msg(strncmp(buf, row->reply, strlen(row->reply)) == 0,
		    "%s: %s", row->name, buf);
	} else if (row->reply != NULL) {
		ck_assert_int_eq(mtls_read(c, buf, sizeof(buf)), 0);
	}
	mtls_free(c);
	nb_stop(&srv);
	ck_assert_msg(srv.err_code == row->code, "%s: %s", row->name, srv.err);
	ck_assert_int_eq(srv.ended_quietly, row->code == 0 ? 1 : 0);
	for (int i = 0; i < 2 && row->message[i] != NULL; i++)
		ck_assert_msg(strstr(srv.err, row->message[i]) != NULL, "%s: %s",
		    row->name, srv.err);
	if (row->code != 0)
		ck_assert_int_ge(srv.err_after_ms, 250);
}
END_TEST

/* ---------------------------------------- one connection, step by step */

/* A client thread: connects, asks for /big, waits for go, reads it all. */
struct slow_client {
	int port;
	pthread_t thread;
	volatile int go;
	long got;
};

static void *
slow_client_main(void *arg)
{
	struct slow_client *sc = arg;
	struct mtls *c = nb_client(sc->port);

	send_all(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 30);
	while (!__atomic_load_n(&sc->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	sc->got = read_response(c, head, sizeof(head), body, sizeof(body),
	    16384, 0);
	mtls_close(c);
	mtls_free(c);
	return NULL;
}

/* Waits until fd is ready for what rc wants (5 s at most). */
static void
wait_for(int fd, int rc)
{
	struct pollfd pfd = { .fd = fd, .events = rc == MTLS_WANT_POLLOUT ?
	    POLLOUT : POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
}

/*
 * Driven by hand: while a response waits to be made again, another
 * response call is refused with a message naming the one to make, and
 * mtls_http_ms_left follows each wait; the same call made again sends the
 * rest, every byte once.
 */
START_TEST(test_nb_recall_rules)
{
	struct slow_client sc = { 0 };
	struct mtls *listener, *c;
	struct mtls_http_req *req = NULL;
	int fd, rc, sndbuf = 4096;
	long left;

	ck_assert_int_eq(mtls_config_set_timeouts(scfg, 5000, 4000, 3000), 0);
	listener = mtls_server_new(scfg);
	ck_assert_int_eq(mtls_listen(listener, "127.0.0.1", "0", 4), 0);
	sc.port = mtls_local_port(listener);
	ck_assert_int_eq(pthread_create(&sc.thread, NULL, slow_client_main, &sc),
	    0);
	wait_for(mtls_fd(listener), MTLS_WANT_POLLIN);
	ck_assert_int_ge(fd = accept4(mtls_fd(listener), NULL, NULL,
	    SOCK_NONBLOCK), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ck_assert_int_eq(mtls_accept_socket(listener, &c, fd), 0);
	/* The handshake's deadline first. */
	left = mtls_http_ms_left(c);
	ck_assert_msg(left > 3000 && left <= 4000, "%ld", left);
	while ((rc = mtls_http_read_request(c, 0, &req)) != 1) {
		ck_assert_msg(rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT,
		    "%d: %s", rc, mtls_error(c));
		wait_for(fd, rc);
	}
	ck_assert_int_eq(mtls_http_ms_left(c), -1);     /* nothing waits */
	rc = mtls_http_respond(req, 200, NULL, big, BIG_LEN);
	ck_assert_int_eq(rc, MTLS_WANT_POLLOUT);
	/* The client's reading now has the I/O timeout. */
	left = mtls_http_ms_left(c);
	ck_assert_msg(left > 2000 && left <= 3000, "%ld", left);
	ck_assert_int_eq(mtls_http_respond_end(req), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg(strstr(mtls_error(c), "mtls_http_respond must wait") !=
	    NULL, "%s", mtls_error(c));
	ck_assert_int_eq(mtls_http_respond(req, 200, NULL, big, 10), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	__atomic_store_n(&sc.go, 1, __ATOMIC_RELEASE);
	while ((rc = mtls_http_respond(req, 200, NULL, big, BIG_LEN)) != 0) {
		ck_assert_msg(rc == MTLS_WANT_POLLOUT, "%d: %s", rc,
		    mtls_error(c));
		wait_for(fd, rc);
	}
	pthread_join(sc.thread, NULL);
	ck_assert_int_eq(sc.got, BIG_LEN);
	ck_assert(memcmp(body, big, BIG_LEN) == 0);
	mtls_http_req_free(req);
	/* The client has read it all and closed: no next request. */
	ck_assert_int_eq(mtls_http_read_request(c, 0, &req), 0);
	mtls_free(c);
	close(fd);
	mtls_free(listener);
}
END_TEST

/* ------------------------------------------- the client, non-blocking */

/* A non-blocking TCP socket connected (or connecting) to 127.0.0.1:port,
 * with a small send buffer so that a big request must wait to be sent. */
static int
nb_socket(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int sndbuf = 4096;

	ck_assert_int_ge(fd, 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	    errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

/* What the client's waits were, over a test. */
static int client_want_in, client_want_out;

/* Waits for what mtls_http_want (or a read) asked, within the deadline
 * the library tells; false once that has passed. */
static void
client_wait(struct mtls *c, int fd, int want)
{
	struct pollfd pfd = { .fd = fd, .events = want == MTLS_WANT_POLLOUT ?
	    POLLOUT : POLLIN };
	long left = mtls_http_ms_left(c);

	ck_assert_msg(want == MTLS_WANT_POLLIN || want == MTLS_WANT_POLLOUT,
	    "want %d: %s", want, mtls_error(c));
	*(want == MTLS_WANT_POLLOUT ? &client_want_out : &client_want_in) += 1;
	(void)poll(&pfd, 1, left < 0 || left > 5000 ? 5000 : (int)left);
}

/* The request begun on c (r its first answer), resumed until it is done. */
static struct mtls_http_response *
client_finish(struct mtls *c, int fd, struct mtls_http_response *r)
{
	int want;

	while (r == NULL && (want = mtls_http_want(c)) != 0) {
		client_wait(c, fd, want);
		r = mtls_http_resume(c);
	}
	ck_assert_msg(r != NULL, "%s", mtls_error(c));
	return r;
}

/* Reads the streamed body of r to its end into body; returns its length. */
static size_t
client_read_stream(struct mtls *c, int fd, struct mtls_http_response *r)
{
	size_t got = 0;
	ssize_t n;

	while ((n = mtls_http_response_read(r, body + got,
	    sizeof(body) - got)) != 0) {
		if (n < 0) {
			client_wait(c, fd, (int)n);
			continue;
		}
		got += (size_t)n;
	}
	return got;
}

/* The client's request to the loop: whole or streamed, a body sent. */
static void
client_exchange(struct mtls *c, int fd, const char *method,
    const char *target, size_t send_len, size_t want_len)
{
	int stream = strcmp(target, "/stream") == 0 ? MTLS_HTTP_STREAM : 0;
	struct mtls_http_response *r = client_finish(c, fd, mtls_http_request(c,
	    method, target, NULL, send_len > 0 ? big : NULL, send_len, stream));
	size_t len;

	ck_assert_int_eq(mtls_http_response_status(r), 200);
	ck_assert_int_eq(mtls_http_want(c), 0);
	if (stream) {
		len = client_read_stream(c, fd, r);
		ck_assert(memcmp(body, big, len) == 0);
	} else {
		const void *whole = mtls_http_response_body(r, &len);

		ck_assert(memcmp(whole, big, len) == 0);
	}
	ck_assert_msg(len == want_len, "%s %s: %zu bytes, not %zu", method,
	    target, len, want_len);
	mtls_http_response_free(r);
}

/*
 * A client on a non-blocking socket, against the event-loop server,
 * directly and through the relay (whole records, or bytes, where the
 * transfers are kept small): the handshake, a big response read whole,
 * a big request that waits to be sent, a chunked response streamed, on
 * one keep-alive connection; every byte once.
 */
START_TEST(test_nb_client)
{
	size_t n = _i == 2 ? 4000 : BIG_LEN;
	struct relay rl;
	struct mtls *c;
	int fd, port;

	nb_start(&srv, scfg, 0);
	port = srv.port;
	if (_i > 0) {
		ck_assert_int_eq(relay_start(&rl, srv.port, _i == 1 ?
		    RELAY_RECORDS : RELAY_BYTES, 0, 1), 0);
		port = rl.port;
	}
	client_want_in = client_want_out = 0;
	fd = nb_socket(port);
	ck_assert_ptr_nonnull(c = mtls_client_new(ccfg));
	ck_assert_int_eq(mtls_connect_socket(c, fd, "localhost"), 0);
	if (_i < 2)
		client_exchange(c, fd, "GET", "/big", 0, BIG_LEN);
	client_exchange(c, fd, "POST", "/echo", n / 2, n / 2);
	if (_i < 2)
		client_exchange(c, fd, "GET", "/stream", 0, BIG_LEN);
	/* The handshake waits for the server at least once; a small request
	 * fits the socket's buffer: no wait to write. */
	ck_assert_msg(client_want_in > 0 && (client_want_out > 0 || _i == 2),
	    "waits: %d to read, %d to write", client_want_in, client_want_out);
	mtls_free(c);
	close(fd);
	if (_i > 0)
		relay_stop(&rl);
	nb_stop(&srv);
	ck_assert_int_eq(srv.answered, _i < 2 ? 3 : 1);
	ck_assert_msg(srv.err_code == 0, "%s", srv.err);
}
END_TEST

/*
 * A server that takes the request and never answers: on a non-blocking
 * client the I/O timeout runs across the calls (mtls_http_ms_left), and
 * the call made after it fails with MTLS_ERR_TIMEOUT, naming the wait;
 * nothing then waits, and a resume is refused.
 */
START_TEST(test_nb_client_timeout)
{
	struct mtls_config *plain = mtls_config_new();
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, want;
	struct mtls_http_response *r;
	struct mtls *c;
	long t0, left;

	ck_assert_int_eq(mtls_config_insecure_plaintext(plain), 0);
	ck_assert_int_eq(mtls_config_set_timeouts(plain, 1000, 0, 300), 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);      /* and never accepts */
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	fd = nb_socket(ntohs(sa.sin_port));
	ck_assert_ptr_nonnull(c = mtls_client_new(plain));
	ck_assert_int_eq(mtls_connect_socket(c, fd, "localhost"), 0);
	t0 = now_ms();
	r = mtls_http_request(c, "GET", "/", NULL, NULL, 0, 0);
	while (r == NULL && (want = mtls_http_want(c)) != 0) {
		left = mtls_http_ms_left(c);
		ck_assert_msg(left >= 0 && left <= 300, "%ld ms left", left);
		client_wait(c, fd, want);
		r = mtls_http_resume(c);
	}
	ck_assert_ptr_null(r);
	ck_assert_msg(now_ms() - t0 >= 250 && now_ms() - t0 < 2000, "%ld ms",
	    now_ms() - t0);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(mtls_error(c), "waiting for the HTTP response");
	ck_assert_msg_has(mtls_error(c), "timed out after 300 ms");
	ck_assert_int_eq(mtls_http_want(c), 0);
	ck_assert_int_eq(mtls_http_ms_left(c), -1);
	ck_assert_ptr_null(mtls_http_resume(c));
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "no waiting or interrupted HTTP");
	mtls_free(c);
	close(fd);
	close(lfd);
	mtls_config_free(plain);
}
END_TEST

Suite *
http_nonblocking_suite(void)
{
	Suite *s = suite_create("http_nonblocking");
	TCase *tc = tcase_create("event loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_nb_many_keepalive);
	tcase_add_loop_test(tc, test_nb_trickled_request, 0,
	    (int)(sizeof(trickle_cases) / sizeof(trickle_cases[0])));
	tcase_add_loop_test(tc, test_nb_slow_reader, 0, 2);
	tcase_add_loop_test(tc, test_nb_timeouts, 0,
	    sizeof(timeout_rows) / sizeof(timeout_rows[0]));
	tcase_add_test(tc, test_nb_recall_rules);
	tcase_add_loop_test(tc, test_nb_client, 0, 3);
	tcase_add_test(tc, test_nb_client_timeout);
	suite_add_tcase(s, tc);
	return s;
}
