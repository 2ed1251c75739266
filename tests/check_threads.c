/*
 * check_threads.c - many threads doing handshakes and I/O at once over one
 * shared client config and one shared server config.  Run it under
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

Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("shared-config");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parallel_handshakes_shared_configs);
	suite_add_tcase(s, tc);
	return s;
}
