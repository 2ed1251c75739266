/*
 * check_util.h - shared fixtures of the Check suites: the test PKI made at
 * test time, configs, and a real TLS server on loopback in a thread.
 */
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/x509.h>

#include "mtls.h"

/* Path of a file of the test PKI ($PKI_DIR/name); valid until 16 more calls. */
const char *pki(const char *name);

/* The monotonic clock in milliseconds, for timing a call. */
long now_ms(void);

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

/* ck_assert_cfg_failed plus: the message contains needle. */
#define ck_assert_cfg_failed_has(cfg, rc, code, needle) \
	do { \
		ck_assert_cfg_failed(cfg, rc, code); \
		ck_assert_msg_has(mtls_config_error(cfg), needle); \
	} while (0)

/* What one side saw of one connection. */
struct seen {
	int rc;                 /* handshake (server) / connect (client) */
	int code;               /* MTLS_OK, or the error of the first failure */
	char msg[1024];
	int provided, verified, resumed;
	char subject[512], cn[256], verify_error[512], fingerprint[128];
	char dns0[256];
	char ca0[256], ca1[256];        /* client: acceptable CA names */
	char describe[8192];
};

/* Records c's identity and facts into *s (not rc, code, msg). */
void see(struct seen *s, struct mtls *c);

/* How many connections a test server records one by one. */
enum { MAX_CONNS = 8 };

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
	/* what each of the first MAX_CONNS connections gave (rc -99: none) */
	struct seen rec[MAX_CONNS];
};

/* Starts a server on 127.0.0.1 (or host) on a free port; cfg is borrowed. */
void server_start(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections);
void server_start_on(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *host);
/* The same on 127.0.0.1:port ("0": a free one): a second server can take
 * the port of one that has stopped. */
void server_start_port(struct test_server *s, struct mtls_config *cfg,
    enum serve_mode mode, int connections, const char *port);
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

/*
 * A real handshake as a table row runs it: a client connects, sends "ping"
 * and reads the echo (exchange), and both sides' views are recorded.
 */

/* make_config plus timeouts, so that a library bug ends in a failed
 * assertion rather than in Check's timeout. */
struct mtls_config *cfg_new(const char *cert, const char *key,
    const char *ca);

/*
 * A client connects to host:port (verifying name, when not NULL, instead of
 * host), sends "ping", reads the echo and closes.  In TLS 1.3 a server's
 * refusal of our certificate arrives after the handshake: on the read.
 * *r gets the first error and what the client saw of the server.
 */
void exchange_as(struct mtls_config *ccfg, const char *host,
    const char *name, int port, struct seen *r);
/* exchange_as to localhost. */
void exchange(struct mtls_config *ccfg, int port, struct seen *r);
/* One connection to an echo server: server config scfg, client config
 * ccfg (both borrowed); *srv and *cli get what each side saw. */
void one(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct seen *srv, struct seen *cli);
/* As one, for a client identity (PKI files, cert NULL: none) trusting
 * ca.crt against a server config. */
void client_as(struct mtls_config *scfg, const char *cert, const char *key,
    struct seen *srv, struct seen *cli);

/* Both sides of one connection succeeded. */
#define ck_assert_ok(srv, cli) \
	do { \
		ck_assert_msg((cli)->code == MTLS_OK, "client: %s: %s", \
		    mtls_error_name((cli)->code), (cli)->msg); \
		ck_assert_msg((srv)->rc == 0, "server: %s: %s", \
		    mtls_error_name((srv)->code), (srv)->msg); \
	} while (0)

#define ck_assert_code(seen, want) \
	ck_assert_msg((seen)->code == (want), "expected %s, got %s: %s", \
	    mtls_error_name(want), mtls_error_name((seen)->code), (seen)->msg)

/* The server refused the client with code and a message holding needle;
 * the client learned it was refused (its message is checked by the tests:
 * it differs for a missing certificate and a refused one). */
#define ck_assert_server_refused(srv, cli, want, needle) \
	do { \
		ck_assert_int_eq((srv)->rc, -1); \
		ck_assert_code(srv, want); \
		ck_assert_msg_has((srv)->msg, needle); \
		ck_assert_code(cli, MTLS_ERR_CERT_REJECTED); \
		if (getenv("POLICY_DEBUG")) \
			fprintf(stderr, "%d: server: %s\n    client: %s\n", \
			    __LINE__, (srv)->msg, (cli)->msg); \
	} while (0)

/* One setter call of a table of bad (and good) settings. */
enum setting {
	SETTING_NONE,               /* no call */
	SETTING_VERIFY_CLIENT,      /* n: the mode */
	SETTING_VERIFY_DEPTH,       /* n */
	SETTING_CA_NAMES_FILE,      /* s: a PKI file name */
	SETTING_CRL_FILE,           /* s: a PKI file name, n: whole chain */
	SETTING_ALLOW,              /* n: the type, s: the value (as is) */
	SETTING_SESSION_CACHE,      /* n */
	SETTING_SESSION_TICKETS,    /* n */
	SETTING_SESSION_STORE_BYTES, /* n */
	SETTING_TICKET_KEY_FILE,    /* s: a PKI file name */
};

struct setting_case {
	const char *name;
	enum setting setting;
	long n;
	const char *s;
	int code;                   /* MTLS_OK, or the error it fails with */
	const char *has[2];         /* in its message (none: a message) */
};

/* Makes one setter call on cfg; its result. */
int apply_setting(struct mtls_config *cfg, enum setting setting, long n,
    const char *s);

/* Makes the call on a new config and checks its result: code MTLS_OK,
 * success and no error left; else -1, code, and a message holding has. */
void run_setting_case(const struct setting_case *c);

/* The shared two-config fixture (tcase_add_checked_fixture): server_cfg
 * is server.crt, client_cfg client.crt, both trusting ca.crt. */
extern struct mtls_config *server_cfg, *client_cfg;
void configs_setup(void);
void configs_teardown(void);

/* A certificate of the test PKI; the caller frees it. */
X509 *load_cert(const char *name);
/* SHA-256 of a PKI certificate's DER: upper-case hex with colons, as
 * openssl x509 -fingerprint prints it, or plain lower-case hex. */
void cert_sha256(const char *name, int colons, char *out);
/* SHA-256 of its SubjectPublicKeyInfo: lower-case hex, or curl's
 * --pinnedpubkey form "sha256//<base64>". */
void spki_sha256(const char *name, int curl_form, char *out);

/* A read in a thread of its own, for tests that wake or time it out:
 * start reader_thread with a struct reader; rc is mtls_read's result. */
struct reader {
	struct mtls *c;
	ssize_t rc;
};
void *reader_thread(void *arg);

/* A test case named name in s, with a timeout of seconds. */
TCase *check_tcase(Suite *s, const char *name, int seconds);

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
Suite *preflight_suite(void);
Suite *sessions_suite(void);
Suite *rotation_suite(void);
Suite *watch_suite(void);
Suite *describe_suite(void);
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
Suite *http_nonblocking_suite(void);
Suite *constants_suite(void);
Suite *pkcs11_suite(void);
Suite *proxy_protocol_suite(void);

#endif
