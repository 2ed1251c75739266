/*
 * check_threads.c - many threads doing handshakes and I/O at once over one
 * shared client config and one shared server config, and failing to make
 * connections from one config at once, each with its own message.  Run it under
 * ThreadSanitizer with ./configure --enable-tsan.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

enum { CLIENTS = 8, ROUNDS = 12 };

struct worker {
	struct mtls_config *cfg;
	int port;
	int ok;
	char err[512];
};

static int serving;             /* atomic: serve_conn threads running */

static void *
serve_conn(void *arg)
{
	struct mtls *c = arg;
	char buf[256];
	ssize_t n;

	if (mtls_handshake(c) == 0) {
		while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
			if (mtls_write(c, buf, (size_t)n) < 0)
				break;
		mtls_close(c);
	}
	mtls_free(c);
	__atomic_sub_fetch(&serving, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Waits (up to 5 s) until the detached serve_conn threads are gone, so
 * that none is still running when the test ends; returns how many are. */
static int
serving_drained(void)
{
	for (int i = 0; i < 500 && __atomic_load_n(&serving, __ATOMIC_ACQUIRE);
	    i++)
		usleep(10 * 1000);
	return __atomic_load_n(&serving, __ATOMIC_ACQUIRE);
}

static void *
accept_loop(void *arg)
{
	struct mtls *srv = arg, *c;
	pthread_t t;

	while (mtls_accept(srv, &c) == 0) {
		__atomic_add_fetch(&serving, 1, __ATOMIC_ACQ_REL);
		if (pthread_create(&t, NULL, serve_conn, c) != 0) {
			__atomic_sub_fetch(&serving, 1, __ATOMIC_RELEASE);
			mtls_free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void *
client_worker(void *arg)
{
	struct worker *w = arg;
	int i, rc;

	for (i = 0; i < ROUNDS; i++) {
		struct mtls *c = client_connect(w->cfg, "localhost", w->port, &rc);
		char msg[64], back[64];
		int len = snprintf(msg, sizeof(msg), "round %d from %p", i, (void *)w);
		size_t got = 0;

		if (rc == 0 && mtls_write(c, msg, (size_t)len) == len) {
			while (got < (size_t)len) {
				ssize_t n = mtls_read(c, back + got, sizeof(back) - got);

				if (n <= 0)
					break;
				got += (size_t)n;
			}
		}
		if (got == (size_t)len && memcmp(msg, back, got) == 0 &&
		    strcmp(mtls_peer_common_name(c), "localhost") == 0)
			w->ok++;
		else if (w->err[0] == '\0')
			snprintf(w->err, sizeof(w->err), "%s", mtls_error(c) ?
			    mtls_error(c) : "echo mismatch");
		mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

START_TEST(test_parallel_handshakes_shared_configs)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls *srv = mtls_server_new(scfg);
	struct worker w[CLIENTS];
	pthread_t acceptor, t[CLIENTS];
	int i;

	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 64), 0);
	pthread_create(&acceptor, NULL, accept_loop, srv);
	for (i = 0; i < CLIENTS; i++) {
		w[i] = (struct worker){ ccfg, mtls_local_port(srv), 0, "" };
		pthread_create(&t[i], NULL, client_worker, &w[i]);
	}
	for (i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].ok == ROUNDS, "worker %d: %d/%d ok, first error: %s",
		    i, w[i].ok, ROUNDS, w[i].err);
	}
	mtls_wake(srv);
	pthread_join(acceptor, NULL);
	ck_assert_int_eq(serving_drained(), 0);
	mtls_free(srv);
	/* The configs were released by their owner while still in use above;
	 * connections hold their own references. */
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/*
 * Eight threads make connections from one config that can make none (no
 * trust anchors), all at once: client and server objects, whose messages
 * differ ("no server certificate" / "no client certificate").  Each
 * thread reads back its own failure, whole, every time; with one message
 * buffer in the shared config they overwrote each other's (and TSan
 * reports the race).
 */
enum { FAILERS = 8, FAILS = 300 };

struct failer {
	struct mtls_config *cfg;
	bool server;
	int right;                  /* failures that read back their own message */
	char wrong[512];
};

static void *
fail_to_create(void *arg)
{
	struct failer *f = arg;
	const char *want = f->server ? "so no client certificate could ever "
	    "verify: set a CA file" : "so no server certificate could ever "
	    "verify: set a CA file";

	for (int i = 0; i < FAILS; i++) {
		struct mtls *c = f->server ? mtls_server_new(f->cfg) :
		    mtls_client_new(f->cfg);
		const char *msg = mtls_config_error(f->cfg);

		if (c == NULL && msg != NULL && strstr(msg, want) != NULL &&
		    mtls_config_error_code(f->cfg) == MTLS_ERR_INVALID)
			f->right++;
		else if (f->wrong[0] == '\0')
			snprintf(f->wrong, sizeof(f->wrong), "%s",
			    msg != NULL ? msg : "(no message)");
		mtls_free(c);
	}
	return NULL;
}

START_TEST(test_failures_are_per_thread)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key", NULL);
	struct failer f[FAILERS];
	pthread_t t[FAILERS];

	for (int i = 0; i < FAILERS; i++) {
		f[i] = (struct failer){ cfg, i % 2 == 1, 0, "" };
		pthread_create(&t[i], NULL, fail_to_create, &f[i]);
	}
	for (int i = 0; i < FAILERS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(f[i].right == FAILS, "thread %d: %d of %d failures "
		    "read back as its own; one read: %s", i, f[i].right, FAILS,
		    f[i].wrong);
	}
	/* This thread made no connection: it sees no failure of theirs. */
	ck_assert_ptr_null(mtls_config_error(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_OK);
	mtls_config_free(cfg);
}
END_TEST

/* mtls_config_new's own failure has no config to go to: before any, the
 * thread's record for NULL says nothing; a config's failure is not read
 * as one of mtls_config_new. */
START_TEST(test_config_error_of_null)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_null(mtls_config_error(NULL));
	ck_assert_int_eq(mtls_config_error_code(NULL), MTLS_ERR_INVALID);
	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_ptr_nonnull(mtls_config_error(cfg));
	ck_assert_ptr_null(mtls_config_error(NULL));
	mtls_config_free(cfg);
}
END_TEST

Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("shared-config");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parallel_handshakes_shared_configs);
	tcase_add_test(tc, test_failures_are_per_thread);
	tcase_add_test(tc, test_config_error_of_null);
	suite_add_tcase(s, tc);
	return s;
}
