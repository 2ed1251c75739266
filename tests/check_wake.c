/*
 * check_wake.c - mtls_wake without a descriptor per connection, and the
 * descriptor limit: a wake from another thread or from a signal handler
 * ends a blocked read, accept and connect; a wake with nobody waiting ends
 * the next wait; threads that come and go leave no wake descriptor
 * behind; a connection object holds no descriptor of its own; and a call
 * that finds no descriptor to be had says that the limit is reached.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_util.h"

/* The process's open descriptors now (not counting the one that reads
 * them). */
static int
open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -3;                 /* ".", ".." and d's own */

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* The calls that block, and what each needs around it. */
enum blocking_call { CALL_READ, CALL_ACCEPT, CALL_CONNECT };

struct blocked {
	enum blocking_call call;
	struct mtls *obj;           /* the object the call blocks in */
	int port;                   /* CALL_CONNECT: a listener that never answers */
	int rc;
	/* CALL_READ: the rest of the pair */
	struct mtls *listener, *server_side;
	int silent_fd;              /* CALL_CONNECT: that listener */
};

static void *
blocked_main(void *arg)
{
	struct blocked *b = arg;
	struct mtls *accepted = NULL;
	char port[16], buf[8];

	switch (b->call) {
	case CALL_READ:
		b->rc = (int)mtls_read(b->obj, buf, sizeof(buf));
		break;
	case CALL_ACCEPT:
		b->rc = mtls_accept(b->obj, &accepted);
		mtls_free(accepted);
		break;
	case CALL_CONNECT:
		snprintf(port, sizeof(port), "%d", b->port);
		b->rc = mtls_connect(b->obj, "localhost", port);
		break;
	}
	return NULL;
}

/* A TCP listener on loopback that completes connections (the kernel does)
 * and never says a word: a TLS client waits there for the ServerHello. */
static int
silent_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
blocked_prepare(struct blocked *b, enum blocking_call call)
{
	memset(b, 0, sizeof(*b));
	b->call = call;
	b->silent_fd = -1;
	switch (call) {
	case CALL_READ:
		connect_pair(server_cfg, client_cfg, &b->listener,
		    &b->server_side, &b->obj);
		break;
	case CALL_ACCEPT:
		b->obj = mtls_server_new(server_cfg);
		ck_assert_int_eq(mtls_listen(b->obj, "127.0.0.1", "0", 4), 0);
		break;
	case CALL_CONNECT:
		b->silent_fd = silent_listener(&b->port);
		b->obj = mtls_client_new(client_cfg);
		break;
	}
	ck_assert_ptr_nonnull(b->obj);
}

static void
blocked_free(struct blocked *b)
{
	mtls_free(b->obj);
	mtls_free(b->server_side);
	mtls_free(b->listener);
	if (b->silent_fd >= 0)
		close(b->silent_fd);
}

static void
assert_woken(struct blocked *b)
{
	ck_assert_msg(b->rc == -1, "the call returned %d", b->rc);
	ck_assert_msg(mtls_error_code(b->obj) == MTLS_ERR_WOKEN, "%s: %s",
	    mtls_error_name(mtls_error_code(b->obj)), mtls_error(b->obj));
	ck_assert_msg_has(mtls_error(b->obj), "interrupted by mtls_wake");
}

/* Who calls mtls_wake: another thread, or a signal handler (in the main
 * thread, so that the blocked thread's poll sees no EINTR: only the wake
 * descriptor can end it). */
enum waker { WAKE_FROM_THREAD, WAKE_FROM_SIGNAL };

static struct mtls *volatile signal_target;

static void
wake_handler(int sig)
{
	(void)sig;
	mtls_wake(signal_target);
}

static void
wake_by(enum waker waker, struct mtls *obj)
{
	struct sigaction sa = { .sa_handler = wake_handler }, old;

	if (waker == WAKE_FROM_THREAD) {
		ck_assert_int_eq(mtls_wake(obj), 0);
		return;
	}
	signal_target = obj;
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, &old), 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	sigaction(SIGUSR2, &old, NULL);
}

static const struct {
	enum blocking_call call;
	enum waker waker;
} wake_rows[] = {
	{ CALL_READ, WAKE_FROM_THREAD },
	{ CALL_READ, WAKE_FROM_SIGNAL },
	{ CALL_ACCEPT, WAKE_FROM_THREAD },
	{ CALL_ACCEPT, WAKE_FROM_SIGNAL },
	{ CALL_CONNECT, WAKE_FROM_THREAD },
	{ CALL_CONNECT, WAKE_FROM_SIGNAL },
};

START_TEST(test_wake_ends_blocked_call)
{
	struct blocked b;
	pthread_t t;

	blocked_prepare(&b, wake_rows[_i].call);
	pthread_create(&t, NULL, blocked_main, &b);
	usleep(150 * 1000);         /* long enough to be in poll(2) */
	wake_by(wake_rows[_i].waker, b.obj);
	pthread_join(t, NULL);
	assert_woken(&b);
	blocked_free(&b);
}
END_TEST

/* Nobody waits when the wake comes: the next wait ends at once, and only
 * that one (the one after it waits its whole timeout). */
START_TEST(test_wake_before_the_wait)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls *listener, *server_side, *c;
	char buf[8];

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 0, 0, 300), 0);
	connect_pair(server_cfg, cfg, &listener, &server_side, &c);
	ck_assert_int_eq(mtls_wake(c), 0);
	ck_assert_conn_failed(c, mtls_read(c, buf, sizeof(buf)), MTLS_ERR_WOKEN);
	ck_assert_conn_failed(c, mtls_read(c, buf, sizeof(buf)), MTLS_ERR_TIMEOUT);
	mtls_free(c);
	mtls_free(server_side);
	mtls_free(listener);
	mtls_config_free(cfg);
}
END_TEST

/*
 * Eight threads block at once, each in a read of its own connection, and
 * are woken in reverse order; three rounds, each with new threads (the
 * last round's closed their wake descriptors when they ended: none is
 * left open after).  Each wake ends its own thread's read and no other
 * (the others are still blocked when it returns).
 */
#define WAKE_THREADS 8

START_TEST(test_wake_threads_come_and_go)
{
	struct blocked b[WAKE_THREADS];
	pthread_t t[WAKE_THREADS];
	int before;

	for (int i = 0; i < WAKE_THREADS; i++)
		blocked_prepare(&b[i], CALL_READ);
	before = open_descriptors();
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < WAKE_THREADS; i++) {
			b[i].rc = 99;
			pthread_create(&t[i], NULL, blocked_main, &b[i]);
		}
		usleep(150 * 1000);
		for (int i = WAKE_THREADS - 1; i >= 0; i--) {
			ck_assert_int_eq(mtls_wake(b[i].obj), 0);
			pthread_join(t[i], NULL);
			assert_woken(&b[i]);
			for (int j = 0; j < i; j++)
				ck_assert_int_eq(__atomic_load_n(&b[j].rc,
				    __ATOMIC_ACQUIRE), 99);
		}
	}
	ck_assert_int_eq(open_descriptors(), before);
	for (int i = 0; i < WAKE_THREADS; i++)
		blocked_free(&b[i]);
}
END_TEST

/* A connection object takes no descriptor until it has a socket (it took
 * an eventfd each in earlier releases): 2,000 connections fit in a
 * limit of 2,100. */
START_TEST(test_objects_hold_no_descriptor)
{
	enum { OBJECTS = 64 };
	struct mtls *c[OBJECTS];
	int before = open_descriptors();

	for (int i = 0; i < OBJECTS; i++) {
		c[i] = i % 2 ? mtls_client_new(client_cfg) :
		    mtls_server_new(server_cfg);
		ck_assert_ptr_nonnull(c[i]);
	}
	ck_assert_int_eq(open_descriptors(), before);
	for (int i = 0; i < OBJECTS; i++)
		mtls_free(c[i]);
}
END_TEST

/*
 * Out of descriptors, each call that needs one says so, naming the limit
 * (not "out of memory"): connecting, listening, and a blocking wait in a
 * thread that has no wake eventfd yet.  The limit is lowered so that no
 * descriptor is left, for the call, and put back.
 */
enum needs_descriptor { NEED_CONNECT, NEED_LISTEN, NEED_WAIT };

static const struct {
	enum needs_descriptor call;
	int code;
	const char *message;
} limit_rows[] = {
	{ NEED_CONNECT, MTLS_ERR_CONNECT, "cannot connect to 127.0.0.1:9: " },
	{ NEED_LISTEN, MTLS_ERR_LISTEN, "cannot listen on 127.0.0.1 port 0" },
	{ NEED_WAIT, MTLS_ERR_IO, "read: cannot wait (no eventfd for mtls_wake)" },
};

/* The number the next new descriptor would get: a limit of that many
 * leaves none to be had. */
static int
lowest_free_descriptor(void)
{
	int fd = 0;

	while (fcntl(fd, F_GETFD) != -1)
		fd++;
	return fd;
}

struct limited_call {
	enum needs_descriptor call;
	struct mtls *obj;
	int port, rc;
};

/* In a thread of its own, so that a wait starts without an eventfd. */
static void *
limited_main(void *arg)
{
	struct limited_call *l = arg;
	char port[16], buf[8];

	switch (l->call) {
	case NEED_CONNECT:
		snprintf(port, sizeof(port), "%d", l->port);
		l->rc = mtls_connect(l->obj, "127.0.0.1", port);
		break;
	case NEED_LISTEN:
		l->rc = mtls_listen(l->obj, "127.0.0.1", "0", 4);
		break;
	case NEED_WAIT:
		l->rc = (int)mtls_read(l->obj, buf, sizeof(buf));
		break;
	}
	return NULL;
}

START_TEST(test_descriptor_limit_named)
{
	struct limited_call l = { .call = limit_rows[_i].call, .rc = 99 };
	struct mtls *listener = NULL, *server_side = NULL;
	struct rlimit old, low;
	pthread_t t;

	if (l.call == NEED_WAIT)
		connect_pair(server_cfg, client_cfg, &listener, &server_side, &l.obj);
	else if (l.call == NEED_LISTEN)
		l.obj = mtls_server_new(server_cfg);
	else
		l.obj = mtls_client_new(client_cfg);
	ck_assert_ptr_nonnull(l.obj);
	l.port = 9;                 /* never reached: no socket to be had */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest_free_descriptor();
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	pthread_create(&t, NULL, limited_main, &l);
	usleep(300 * 1000);
	mtls_wake(l.obj);           /* a wait that did start must not hang */
	pthread_join(t, NULL);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_conn_failed(l.obj, l.rc, limit_rows[_i].code);
	ck_assert_msg_has(mtls_error(l.obj), limit_rows[_i].message);
	ck_assert_msg_has(mtls_error(l.obj), "Too many open files: the "
	    "process's descriptor limit is reached (raise it with ulimit -n");
	mtls_free(l.obj);
	mtls_free(server_side);
	mtls_free(listener);
}
END_TEST

Suite *
wake_suite(void)
{
	Suite *s = suite_create("wake");
	TCase *tc = tcase_create("wake");

	tcase_add_checked_fixture(tc, configs_setup, configs_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_wake_ends_blocked_call, 0,
	    sizeof(wake_rows) / sizeof(wake_rows[0]));
	tcase_add_test(tc, test_wake_before_the_wait);
	tcase_add_test(tc, test_wake_threads_come_and_go);
	tcase_add_test(tc, test_objects_hold_no_descriptor);
	tcase_add_loop_test(tc, test_descriptor_limit_named, 0,
	    sizeof(limit_rows) / sizeof(limit_rows[0]));
	suite_add_tcase(s, tc);
	return s;
}
