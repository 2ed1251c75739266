/*
 * check_rotation.c - certificate rotation on a listening server
 * (mtls_server_set_config): new clients get the new certificate, a
 * connection accepted or established before keeps the config it had, a
 * config that cannot serve is refused and the old one kept, and swaps
 * under a load of full and resumed handshakes lose no connection.
 */
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

START_TEST(test_rotation_new_cert_for_new_clients)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	char fp_a[128], fp_b[128];
	struct test_server s;
	struct seen c1, c2;

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	server_start(&s, a, SERVE_ECHO, 2);
	exchange(ccfg, s.port, &c1);
	ck_assert_int_eq(mtls_server_set_config(s.srv, b), 0);
	ck_assert_ptr_null(mtls_error(s.srv));
	/* The server holds its own reference. */
	mtls_config_free(b);
	exchange(ccfg, s.port, &c2);
	server_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_str_eq(c1.fingerprint, fp_a);
	ck_assert_str_eq(c2.fingerprint, fp_b);
	ck_assert_str_eq(c2.subject, "CN=localhost");
	ck_assert_str_eq(c1.dns0, "localhost");
	ck_assert_str_eq(c2.dns0, "");          /* the CN-only certificate */
	mtls_config_free(a);
	mtls_config_free(ccfg);
}
END_TEST

struct held {
	struct mtls *srv;
	struct mtls *conn;
	sem_t accepted, go;
	int hs_rc;
	char err[512];
};

/* Accepts one connection, tells the test, waits for its go, then
 * handshakes and echoes. */
static void *
held_main(void *arg)
{
	struct held *h = arg;
	char buf[256];
	ssize_t n;

	if (mtls_accept(h->srv, &h->conn) != 0) {
		h->hs_rc = -2;
		sem_post(&h->accepted);
		return NULL;
	}
	sem_post(&h->accepted);
	sem_wait(&h->go);
	h->hs_rc = mtls_handshake(h->conn);
	snprintf(h->err, sizeof(h->err), "%s", mtls_error(h->conn) ?
	    mtls_error(h->conn) : "");
	if (h->hs_rc == 0) {
		while ((n = mtls_read(h->conn, buf, sizeof(buf))) > 0)
			if (mtls_write(h->conn, buf, (size_t)n) < 0)
				break;
		mtls_close(h->conn);
	}
	mtls_free(h->conn);
	return NULL;
}

struct bg_client {
	struct mtls_config *cfg;
	int port;
	struct mtls *c;
	int rc;
};

static void *
bg_connect(void *arg)
{
	struct bg_client *b = arg;
	char port[16];

	snprintf(port, sizeof(port), "%d", b->port);
	b->rc = mtls_connect(b->c, "localhost", port);
	return NULL;
}

START_TEST(test_rotation_inflight_untouched)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct held h = { 0 };
	struct bg_client bc;
	pthread_t ts, tc;
	char fp_a[128], buf[64];

	cert_sha256("server.crt", 0, fp_a);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	h.srv = mtls_server_new(a);
	ck_assert_ptr_nonnull(h.srv);
	ck_assert_int_eq(mtls_listen(h.srv, "127.0.0.1", "0", 4), 0);
	sem_init(&h.accepted, 0, 0);
	sem_init(&h.go, 0, 0);
	pthread_create(&ts, NULL, held_main, &h);
	bc = (struct bg_client){ ccfg, mtls_local_port(h.srv),
	    mtls_client_new(ccfg), -99 };
	ck_assert_ptr_nonnull(bc.c);
	pthread_create(&tc, NULL, bg_connect, &bc);

	/* Accepted (TCP) under config A, handshake not yet done: rotate. */
	sem_wait(&h.accepted);
	ck_assert_int_eq(mtls_server_set_config(h.srv, b), 0);
	sem_post(&h.go);
	pthread_join(tc, NULL);
	ck_assert_msg(bc.rc == 0, "client: %s", mtls_error(bc.c));
	/* It kept the config it was accepted with. */
	ck_assert_str_eq(mtls_peer_fingerprint_sha256(bc.c), fp_a);

	/* And it keeps working after the rotation. */
	ck_assert_int_eq(mtls_write(bc.c, "still here", 10), 10);
	ck_assert_int_eq(mtls_read(bc.c, buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, "still here", 10), 0);
	mtls_close(bc.c);
	pthread_join(ts, NULL);
	ck_assert_msg(h.hs_rc == 0, "server: %s", h.err);
	mtls_free(bc.c);
	mtls_free(h.srv);
	sem_destroy(&h.accepted);
	sem_destroy(&h.go);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_established_connection_keeps_working)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *listener, *sside, *cside;
	char buf[64];

	connect_pair(a, ccfg, &listener, &sside, &cside);
	ck_assert_int_eq(mtls_server_set_config(listener, b), 0);
	mtls_config_free(b);
	mtls_config_free(a);    /* sside keeps its own reference */
	ck_assert_int_eq(mtls_write(cside, "after", 5), 5);
	ck_assert_int_eq(mtls_read(sside, buf, sizeof(buf)), 5);
	ck_assert_int_eq(mtls_write(sside, "reply", 5), 5);
	ck_assert_int_eq(mtls_read(cside, buf, sizeof(buf)), 5);
	ck_assert_str_eq(mtls_peer_common_name(sside), "client");
	mtls_free(cside);
	mtls_free(sside);
	mtls_free(listener);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_bad_config_keeps_old)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *noid = cfg_new(NULL, NULL, "ca.crt");
	struct mtls_config *wrong = cfg_new("server-clientauth-only.crt",
	    "server-clientauth-only.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	char fp_a[128];
	struct test_server s;
	struct seen cli;

	cert_sha256("server.crt", 0, fp_a);
	server_start(&s, a, SERVE_ECHO, 1);
	ck_assert_int_eq(mtls_server_set_config(s.srv, noid), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(s.srv), "certificate");
	ck_assert_int_eq(mtls_server_set_config(s.srv, wrong), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_BAD_IDENTITY);
	ck_assert_msg_has(mtls_error(s.srv), "serverAuth");
	ck_assert_int_eq(mtls_server_set_config(s.srv, NULL), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_error(s.srv));
	/* The old config still serves. */
	exchange(ccfg, s.port, &cli);
	server_stop(&s);
	ck_assert_ok(&s.rec[0], &cli);
	ck_assert_str_eq(cli.fingerprint, fp_a);
	mtls_config_free(a);
	mtls_config_free(noid);
	mtls_config_free(wrong);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_needs_listening_server)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *client = mtls_client_new(ccfg);

	ck_assert_int_eq(mtls_server_set_config(client, a), -1);
	ck_assert_int_eq(mtls_error_code(client), MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_error(client));
	ck_assert_int_eq(mtls_server_set_config(NULL, a), -1);
	mtls_free(client);
	mtls_config_free(a);
	mtls_config_free(ccfg);
}
END_TEST

enum { ROT_CLIENTS = 4, ROT_ROUNDS = 20, ROT_SWAPS = 50,
    ROT_MAX_CONNS = ROT_CLIENTS * ROT_ROUNDS + 8 };

struct rot_server {
	struct mtls *srv;
	pthread_t threads[ROT_MAX_CONNS];
	int nthreads;
};

static void *
rot_serve(void *arg)
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
	return NULL;
}

static void *
rot_accept(void *arg)
{
	struct rot_server *r = arg;
	struct mtls *c;

	while (r->nthreads < ROT_MAX_CONNS && mtls_accept(r->srv, &c) == 0) {
		if (pthread_create(&r->threads[r->nthreads], NULL, rot_serve, c)
		    != 0) {
			mtls_free(c);
			continue;
		}
		r->nthreads++;
	}
	return NULL;
}

struct rot_client {
	struct mtls_config *cfg;
	int port, ok;
	char err[512];
};

static void *
rot_client_main(void *arg)
{
	struct rot_client *w = arg;
	char port[16], buf[64];
	int i;

	snprintf(port, sizeof(port), "%d", w->port);
	for (i = 0; i < ROT_ROUNDS; i++) {
		struct mtls *c = mtls_client_new(w->cfg);
		const char *cn;

		if (c == NULL) {
			snprintf(w->err, sizeof(w->err), "client_new: %s",
			    mtls_config_error(w->cfg));
			break;
		}
		if (mtls_connect(c, "localhost", port) == 0 &&
		    mtls_write(c, "x", 1) == 1 && mtls_read(c, buf, 1) == 1 &&
		    (cn = mtls_peer_common_name(c)) != NULL &&
		    strcmp(cn, "localhost") == 0)
			w->ok++;
		else if (w->err[0] == '\0')
			snprintf(w->err, sizeof(w->err), "round %d: %s", i,
			    mtls_error(c) ? mtls_error(c) : "echo failed");
		mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

struct swapper {
	struct mtls *srv;
	struct mtls_config *cfg[2];
	int ok;
	char err[512];
};

static void *
swap_main(void *arg)
{
	struct swapper *s = arg;
	int i;

	for (i = 0; i < ROT_SWAPS; i++) {
		if (mtls_server_set_config(s->srv, s->cfg[i % 2]) == 0)
			s->ok++;
		else if (s->err[0] == '\0')
			snprintf(s->err, sizeof(s->err), "%s", mtls_error(s->srv));
		usleep(2000);
	}
	return NULL;
}

START_TEST(test_rotation_under_load)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	/* Half the clients resume sessions across the swaps, half do full
	 * handshakes every time. */
	struct mtls_config *cc_resume = cfg_new("client.crt", "client.key",
	    "ca.crt");
	struct mtls_config *cc_full = cfg_new("client.crt", "client.key",
	    "ca.crt");
	struct rot_server rs = { 0 };
	struct rot_client w[ROT_CLIENTS];
	struct swapper sw = { 0 };
	pthread_t acceptor, swap, t[ROT_CLIENTS];
	int i;

	ck_assert_int_eq(mtls_config_set_session_cache(cc_full, 0), 0);
	rs.srv = mtls_server_new(a);
	ck_assert_ptr_nonnull(rs.srv);
	ck_assert_int_eq(mtls_listen(rs.srv, "127.0.0.1", "0", 64), 0);
	sw.srv = rs.srv;
	sw.cfg[0] = b;
	sw.cfg[1] = a;
	ck_assert_int_eq(pthread_create(&acceptor, NULL, rot_accept, &rs), 0);
	for (i = 0; i < ROT_CLIENTS; i++) {
		w[i] = (struct rot_client){ i % 2 ? cc_full : cc_resume,
		    mtls_local_port(rs.srv), 0, "" };
		ck_assert_int_eq(pthread_create(&t[i], NULL, rot_client_main,
		    &w[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&swap, NULL, swap_main, &sw), 0);
	pthread_join(swap, NULL);
	for (i = 0; i < ROT_CLIENTS; i++)
		pthread_join(t[i], NULL);
	mtls_wake(rs.srv);
	pthread_join(acceptor, NULL);
	for (i = 0; i < rs.nthreads; i++)
		pthread_join(rs.threads[i], NULL);
	mtls_free(rs.srv);
	ck_assert_msg(sw.ok == ROT_SWAPS, "%d/%d swaps ok, first error: %s",
	    sw.ok, ROT_SWAPS, sw.err);
	for (i = 0; i < ROT_CLIENTS; i++)
		ck_assert_msg(w[i].ok == ROT_ROUNDS, "client %d: %d/%d ok, first "
		    "error: %s", i, w[i].ok, ROT_ROUNDS, w[i].err);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(cc_resume);
	mtls_config_free(cc_full);
}
END_TEST

Suite *
rotation_suite(void)
{
	Suite *s = suite_create("rotation");
	TCase *tc = check_tcase(s, "rotation", 120);

	tcase_add_test(tc, test_rotation_new_cert_for_new_clients);
	tcase_add_test(tc, test_rotation_inflight_untouched);
	tcase_add_test(tc, test_rotation_established_connection_keeps_working);
	tcase_add_test(tc, test_rotation_bad_config_keeps_old);
	tcase_add_test(tc, test_rotation_needs_listening_server);
	tcase_add_test(tc, test_rotation_under_load);
	return s;
}
