/*
 * check_util.h - shared fixtures of the Check suites: the test PKI made at
 * test time, configs, and a real TLS server on loopback in a thread.
 */
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include <pthread.h>
#include <stdbool.h>

#include <check.h>

#include "mtls.h"

/* Path of a file of the test PKI ($PKI_DIR/name); valid until 16 more calls. */
const char *pki(const char *name);

/* Reads a whole file; the caller frees.  Fails the test on error. */
char *slurp(const char *path, size_t *len);

/* A config with identity cert/key (cert NULL: none) trusting ca (NULL: none).
 * Fails the test on any error. */
struct mtls_config *make_config(const char *cert, const char *key,
    const char *ca);

/* The same, presenting a certificate peers will refuse (expired, wrong
 * usage): mtls_config_insecure_allow_bad_identity. */
struct mtls_config *make_bad_identity_config(const char *cert,
    const char *key, const char *ca);

/* ck_assert that msg is not NULL and contains needle. */
#define ck_assert_msg_has(msg, needle) \
	do { \
		const char *m_ = (msg); \
		ck_assert_msg(m_ != NULL && strstr(m_, (needle)) != NULL, \
		    "expected message containing \"%s\", got \"%s\"", (needle), \
		    m_ ? m_ : "(null)"); \
	} while (0)

/* Config assertions: rc is -1 and cfg holds code; or rc is 0, no error. */
#define ck_assert_cfg_failed(cfg, rc, code) \
	do { \
		int rc_ = (rc); \
		ck_assert_msg(rc_ == -1, "expected -1, got %d", rc_); \
		ck_assert_msg(mtls_config_error_code(cfg) == (code), \
		    "expected %s, got %s: %s", mtls_error_name(code), \
		    mtls_error_name(mtls_config_error_code(cfg)), \
		    mtls_config_error(cfg) ? mtls_config_error(cfg) : "(null)"); \
	} while (0)

#define ck_assert_cfg_ok(cfg, rc) \
	do { \
		int rc_ = (rc); \
		ck_assert_msg(rc_ == 0, "expected 0, got %d: %s", rc_, \
		    mtls_config_error(cfg) ? mtls_config_error(cfg) : "(null)"); \
		ck_assert_ptr_null(mtls_config_error(cfg)); \
		ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_OK); \
	} while (0)

/* Connection assertion: rc is -1 and c holds code. */
#define ck_assert_conn_failed(c, rc, code) \
	do { \
		long rc_ = (long)(rc); \
		ck_assert_msg(rc_ == -1, "expected -1, got %ld", rc_); \
		ck_assert_msg(mtls_error_code(c) == (code), "expected %s, got " \
		    "%s: %s", mtls_error_name(code), \
		    mtls_error_name(mtls_error_code(c)), \
		    mtls_error(c) ? mtls_error(c) : "(null)"); \
	} while (0)

/* What the test server does with each accepted connection. */
enum serve_mode {
	SERVE_ECHO,         /* handshake, echo until the client closes */
	SERVE_GREET,        /* handshake, write "hi", close with close_notify */
	SERVE_TRUNCATE,     /* handshake, write "partial", drop the socket */
	SERVE_HANDSHAKE,    /* handshake only, then close with close_notify */
	SERVE_CLOSE_NOW,    /* handshake, then drop without reading */
};

struct test_server {
	struct mtls_config *cfg;
	struct mtls *srv;
	pthread_t thread;
	int port;
	int connections;        /* how many to serve before the thread ends */
	enum serve_mode mode;
	/* what the last connection's handshake gave, for the test to check */
	int hs_rc;
	int err_code;
	char err_msg[1024];
	char peer_subject[512];
	char peer_cn[256];
	bool peer_provided, peer_verified;
	bool resumed, chain_cached;
};

/* Starts a server on 127.0.0.1 (or host) on a free port; cfg is borrowed. */
void server_start(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections);
void server_start_on(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *host);
/* Waits for the server thread and frees it. */
void server_stop(struct test_server *s);

/* A client connected (or not) to host:port; rc gets mtls_connect's result. */
struct mtls *client_connect(struct mtls_config *cfg, const char *host,
    int port, int *rc);

/*
 * A finished handshake between a server config and a client config:
 * *listener is the listening server, *server_side the accepted connection,
 * *client_side the client.  Fails the test unless both sides succeed.
 */
void connect_pair(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct mtls **listener, struct mtls **server_side,
    struct mtls **client_side);

/* A read in a thread of its own, for tests that wake or time it out:
 * start reader_thread with a struct reader; rc is mtls_read's result. */
struct reader {
	struct mtls *c;
	ssize_t rc;
};
void *reader_thread(void *arg);

/* The suites, one per module. */
Suite *error_suite(void);
Suite *config_suite(void);
Suite *identity_suite(void);
Suite *trust_suite(void);
Suite *conn_suite(void);
Suite *verify_suite(void);
Suite *io_suite(void);
Suite *peer_suite(void);
Suite *threads_suite(void);
Suite *policy_suite(void);
Suite *http_parse_suite(void);
Suite *http_client_suite(void);
Suite *http_server_suite(void);
Suite *plain_suite(void);
Suite *interrupt_suite(void);
Suite *split_suite(void);
Suite *wake_suite(void);
Suite *setters_suite(void);
Suite *tls_policy_suite(void);
Suite *identities_suite(void);

#endif
