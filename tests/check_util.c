/*
 * check_util.c - fixtures shared by the Check suites.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

const char *
pki(const char *name)
{
	static __thread char paths[16][1024];
	static __thread unsigned next;
	const char *dir = getenv("PKI_DIR");
	char *p = paths[next++ % 16];

	ck_assert_msg(dir != NULL, "PKI_DIR is not set: run through make check");
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)size;
	return buf;
}

static struct mtls_config *
config_from(const char *cert, const char *key, const char *ca, bool lenient)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_nonnull(cfg);
	if (lenient)
		ck_assert_int_eq(mtls_config_insecure_allow_bad_identity(cfg), 0);
	if (cert != NULL)
		ck_assert_msg(mtls_config_set_cert_file(cfg, pki(cert),
		    key ? pki(key) : NULL, NULL) == 0, "identity %s: %s", cert,
		    mtls_config_error(cfg));
	if (ca != NULL)
		ck_assert_msg(mtls_config_set_ca_file(cfg, pki(ca)) == 0,
		    "CA %s: %s", ca, mtls_config_error(cfg));
	return cfg;
}

struct mtls_config *
make_config(const char *cert, const char *key, const char *ca)
{
	return config_from(cert, key, ca, false);
}

struct mtls_config *
make_bad_identity_config(const char *cert, const char *key, const char *ca)
{
	return config_from(cert, key, ca, true);
}

static void
record(struct test_server *s, struct mtls *c, int rc)
{
	s->hs_rc = rc;
	s->err_code = mtls_error_code(c);
	snprintf(s->err_msg, sizeof(s->err_msg), "%s",
	    mtls_error(c) ? mtls_error(c) : "");
	snprintf(s->peer_subject, sizeof(s->peer_subject), "%s",
	    mtls_peer_subject(c) ? mtls_peer_subject(c) : "");
	snprintf(s->peer_cn, sizeof(s->peer_cn), "%s",
	    mtls_peer_common_name(c) ? mtls_peer_common_name(c) : "");
	s->peer_provided = mtls_peer_cert_provided(c);
	s->peer_verified = mtls_peer_cert_verified(c);
	s->resumed = mtls_conn_session_resumed(c) == 1;
	s->chain_cached = mtls_conn_chain_cached(c) == 1;
}

static void
serve_one(struct test_server *s, struct mtls *c)
{
	char buf[16384];
	ssize_t n;
	int rc = mtls_handshake(c);

	record(s, c, rc);
	if (rc != 0)
		return;
	switch (s->mode) {
	case SERVE_ECHO:
		while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
			if (mtls_write(c, buf, (size_t)n) < 0)
				break;
		mtls_close(c);
		break;
	case SERVE_GREET:
		mtls_write(c, "hi", 2);
		mtls_close(c);
		break;
	case SERVE_TRUNCATE:
		mtls_write(c, "partial", 7);
		break;          /* mtls_free drops the socket, no close_notify */
	case SERVE_HANDSHAKE:
		mtls_close(c);
		break;
	case SERVE_CLOSE_NOW:
	default:
		break;
	}
}

static void *
server_main(void *arg)
{
	struct test_server *s = arg;
	int i;

	for (i = 0; i < s->connections; i++) {
		struct mtls *c;

		if (mtls_accept(s->srv, &c) != 0)
			break;
		serve_one(s, c);
		mtls_free(c);
	}
	return NULL;
}

void
server_start_on(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *host)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->mode = mode;
	s->connections = connections;
	s->hs_rc = -99;
	s->srv = mtls_server_new(cfg);
	ck_assert_msg(s->srv != NULL, "server_new: %s", mtls_config_error(cfg));
	ck_assert_msg(mtls_listen(s->srv, host, "0", 16) == 0, "listen: %s",
	    mtls_error(s->srv));
	s->port = mtls_local_port(s->srv);
	ck_assert_int_gt(s->port, 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

void
server_start(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections)
{
	server_start_on(s, cfg, mode, connections, "127.0.0.1");
}

void
server_stop(struct test_server *s)
{
	pthread_join(s->thread, NULL);
	mtls_free(s->srv);
	s->srv = NULL;
}

struct mtls *
client_connect(struct mtls_config *cfg, const char *host, int port, int *rc)
{
	struct mtls *c = mtls_client_new(cfg);
	char portstr[16];

	ck_assert_msg(c != NULL, "client_new: %s", mtls_config_error(cfg));
	snprintf(portstr, sizeof(portstr), "%d", port);
	*rc = mtls_connect(c, host, portstr);
	return c;
}

struct pair_accept {
	struct mtls *listener, *conn;
	int rc;
};

static void *
pair_accept_main(void *arg)
{
	struct pair_accept *a = arg;

	a->rc = mtls_accept(a->listener, &a->conn);
	if (a->rc == 0)
		a->rc = mtls_handshake(a->conn);
	return NULL;
}

void
connect_pair(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct mtls **listener, struct mtls **server_side, struct mtls **client_side)
{
	struct pair_accept a = { mtls_server_new(scfg), NULL, -99 };
	pthread_t t;
	int rc;

	ck_assert_msg(a.listener != NULL, "%s", mtls_config_error(scfg));
	ck_assert_int_eq(mtls_listen(a.listener, "127.0.0.1", "0", 4), 0);
	pthread_create(&t, NULL, pair_accept_main, &a);
	*client_side = client_connect(ccfg, "localhost",
	    mtls_local_port(a.listener), &rc);
	pthread_join(t, NULL);
	ck_assert_msg(rc == 0, "client: %s", mtls_error(*client_side));
	ck_assert_msg(a.rc == 0, "server: %s", a.conn ? mtls_error(a.conn) :
	    mtls_error(a.listener));
	*listener = a.listener;
	*server_side = a.conn;
}

void *
reader_thread(void *arg)
{
	struct reader *r = arg;
	char buf[8];

	r->rc = mtls_read(r->c, buf, sizeof(buf));
	return NULL;
}
