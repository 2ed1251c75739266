/*
 * check_util.c - fixtures shared by the Check suites: the test PKI, configs,
 * the test server and the client that talks to it, tables of settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check_util.h"

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TCase *
check_tcase(Suite *s, const char *name, int seconds)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, seconds);
	suite_add_tcase(s, tc);
	return tc;
}

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
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

void
see(struct seen *s, struct mtls *c)
{
	s->provided = mtls_peer_cert_provided(c);
	s->verified = mtls_peer_cert_verified(c);
	s->resumed = mtls_conn_session_resumed(c);
	copy(s->subject, sizeof(s->subject), mtls_peer_subject(c));
	copy(s->cn, sizeof(s->cn), mtls_peer_common_name(c));
	copy(s->verify_error, sizeof(s->verify_error), mtls_peer_verify_error(c));
	copy(s->fingerprint, sizeof(s->fingerprint),
	    mtls_peer_fingerprint_sha256(c));
	copy(s->dns0, sizeof(s->dns0), mtls_peer_san(c, MTLS_SAN_DNS, 0));
	copy(s->ca0, sizeof(s->ca0), mtls_peer_acceptable_ca(c, 0));
	copy(s->ca1, sizeof(s->ca1), mtls_peer_acceptable_ca(c, 1));
	copy(s->describe, sizeof(s->describe), mtls_conn_describe(c));
}

static void
record(struct test_server *s, struct mtls *c, int rc, int i)
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
	if (i < MAX_CONNS) {
		struct seen *r = &s->rec[i];

		r->rc = rc;
		r->code = mtls_error_code(c);
		copy(r->msg, sizeof(r->msg), mtls_error(c));
		see(r, c);
	}
}

static void
serve_one(struct test_server *s, struct mtls *c, int i)
{
	char buf[16384];
	ssize_t n;
	int rc = mtls_handshake(c);

	record(s, c, rc, i);
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
		serve_one(s, c, i);
		mtls_free(c);
	}
	return NULL;
}

static void
server_listen(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *host, const char *port)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->mode = mode;
	s->connections = connections;
	s->hs_rc = -99;
	for (i = 0; i < MAX_CONNS; i++)
		s->rec[i].rc = -99;
	s->srv = mtls_server_new(cfg);
	ck_assert_msg(s->srv != NULL, "server_new: %s", mtls_config_error(cfg));
	ck_assert_msg(mtls_listen(s->srv, host, port, 16) == 0, "listen: %s",
	    mtls_error(s->srv));
	s->port = mtls_local_port(s->srv);
	ck_assert_int_gt(s->port, 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

void
server_start_on(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *host)
{
	server_listen(s, cfg, mode, connections, host, "0");
}

void
server_start_port(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *port)
{
	server_listen(s, cfg, mode, connections, "127.0.0.1", port);
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

struct mtls_config *
cfg_new(const char *cert, const char *key, const char *ca)
{
	struct mtls_config *cfg = make_config(cert, key, ca);

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 5000, 10000, 10000), 0);
	return cfg;
}

void
exchange_as(struct mtls_config *ccfg, const char *host, const char *name,
    int port, struct seen *r)
{
	struct mtls *c = mtls_client_new(ccfg);
	char portstr[16], buf[64];

	memset(r, 0, sizeof(*r));
	ck_assert_msg(c != NULL, "client_new: %s", mtls_config_error(ccfg));
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (name != NULL)
		ck_assert_int_eq(mtls_set_verify_name(c, name), 0);
	r->rc = mtls_connect(c, host, portstr);
	if (r->rc == 0 && mtls_write(c, "ping", 4) == 4 &&
	    mtls_read(c, buf, sizeof(buf)) == 4)
		r->code = MTLS_OK;
	else
		r->code = mtls_error_code(c);
	copy(r->msg, sizeof(r->msg), mtls_error(c));
	see(r, c);
	mtls_close(c);
	mtls_free(c);
}

void
exchange(struct mtls_config *ccfg, int port, struct seen *r)
{
	exchange_as(ccfg, "localhost", NULL, port, r);
}

void
one(struct mtls_config *scfg, struct mtls_config *ccfg, struct seen *srv,
    struct seen *cli)
{
	struct test_server *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	server_start(s, scfg, SERVE_ECHO, 1);
	exchange(ccfg, s->port, cli);
	server_stop(s);
	*srv = s->rec[0];
	free(s);
}

void
client_as(struct mtls_config *scfg, const char *cert, const char *key,
    struct seen *srv, struct seen *cli)
{
	struct mtls_config *ccfg = cfg_new(cert, key, "ca.crt");

	one(scfg, ccfg, srv, cli);
	mtls_config_free(ccfg);
}

int
apply_setting(struct mtls_config *cfg, enum setting setting, long n,
    const char *s)
{
	switch (setting) {
	case SETTING_NONE:
		return 0;
	case SETTING_VERIFY_CLIENT:
		return mtls_config_set_verify_client(cfg, (int)n);
	case SETTING_VERIFY_DEPTH:
		return mtls_config_set_verify_depth(cfg, (int)n);
	case SETTING_CA_NAMES_FILE:
		return mtls_config_set_ca_names_file(cfg, pki(s));
	case SETTING_CRL_FILE:
		return mtls_config_set_crl_file(cfg, pki(s), (int)n);
	case SETTING_ALLOW:
		return mtls_config_allow(cfg, (int)n, s);
	case SETTING_SESSION_CACHE:
		return mtls_config_set_session_cache(cfg, (int)n);
	case SETTING_SESSION_TICKETS:
		return mtls_config_set_session_tickets(cfg, (int)n);
	case SETTING_SESSION_STORE_BYTES:
		return mtls_config_set_session_store_bytes(cfg, (size_t)n);
	case SETTING_TICKET_KEY_FILE:
		return mtls_config_add_ticket_key_file(cfg, pki(s));
	default:
		ck_abort_msg("no such setting %d", (int)setting);
		return -1;
	}
}

void
run_setting_case(const struct setting_case *c)
{
	struct mtls_config *cfg = mtls_config_new();
	const char *msg;
	size_t i;
	int rc;

	ck_assert_ptr_nonnull(cfg);
	rc = apply_setting(cfg, c->setting, c->n, c->s);
	msg = mtls_config_error(cfg);
	if (c->code == MTLS_OK) {
		ck_assert_msg(rc == 0 && msg == NULL &&
		    mtls_config_error_code(cfg) == MTLS_OK,
		    "%s: expected success, got %d: %s", c->name, rc,
		    msg ? msg : "(null)");
	} else {
		ck_assert_msg(rc == -1 && mtls_config_error_code(cfg) == c->code,
		    "%s: expected -1 and %s, got %d and %s: %s", c->name,
		    mtls_error_name(c->code), rc,
		    mtls_error_name(mtls_config_error_code(cfg)),
		    msg ? msg : "(null)");
		ck_assert_msg(msg != NULL, "%s: no message", c->name);
		for (i = 0; i < 2 && c->has[i] != NULL; i++)
			ck_assert_msg(strstr(msg, c->has[i]) != NULL,
			    "%s: expected a message containing \"%s\", got "
			    "\"%s\"", c->name, c->has[i], msg);
	}
	mtls_config_free(cfg);
}

struct mtls_config *server_cfg, *client_cfg;

void
configs_setup(void)
{
	server_cfg = make_config("server.crt", "server.key", "ca.crt");
	client_cfg = make_config("client.crt", "client.key", "ca.crt");
}

void
configs_teardown(void)
{
	mtls_config_free(server_cfg);
	mtls_config_free(client_cfg);
	server_cfg = client_cfg = NULL;
}

X509 *
load_cert(const char *name)
{
	FILE *f = fopen(pki(name), "r");
	X509 *x;

	ck_assert_msg(f != NULL, "cannot open %s", pki(name));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* Hex of d: lower case, or upper case with colons ("AB:CD:..."). */
static void
to_hex(const unsigned char *d, unsigned len, int colons, char *out)
{
	unsigned i;

	*out = '\0';
	for (i = 0; i < len; i++)
		out += sprintf(out, colons ? (i ? ":%02X" : "%02X") : "%02x", d[i]);
}

void
cert_sha256(const char *name, int colons, char *out)
{
	X509 *x = load_cert(name);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len;

	ck_assert_int_eq(X509_digest(x, EVP_sha256(), md, &len), 1);
	to_hex(md, len, colons, out);
	X509_free(x);
}

void
spki_sha256(const char *name, int curl_form, char *out)
{
	X509 *x = load_cert(name);
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned len;
	int der_len = i2d_PUBKEY(X509_get0_pubkey(x), &der);

	ck_assert_int_gt(der_len, 0);
	ck_assert_int_eq(EVP_Digest(der, (size_t)der_len, md, &len, EVP_sha256(),
	    NULL), 1);
	if (curl_form) {
		strcpy(out, "sha256//");
		EVP_EncodeBlock((unsigned char *)out + 8, md, (int)len);
	} else {
		to_hex(md, len, 0, out);
	}
	OPENSSL_free(der);
	X509_free(x);
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
