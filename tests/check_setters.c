/*
 * check_setters.c - a setter that fails leaves the config as it was.  For
 * every setter that can fail: a good call, then a bad one (its code and
 * message checked), then a handshake that still uses what the good call
 * set; for the identity, the warnings and the description later messages
 * give still name the good file; for trust, nothing of a damaged bundle
 * is trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

/* The setters, each with a good call and a bad one (setter()). */
enum setter {
	SET_CERT_EXPIRED, SET_CERT_MISMATCH, SET_CERT_MISSING, SET_CERT_DAMAGED,
	SET_CERT_MEM, SET_P12_PASSWORD, SET_P12_MEM, SET_CA_DAMAGED,
	SET_CA_MEM, SET_CA_PATH, SET_CA_NAMES, SET_CRL, SET_MIN_VERSION,
	SET_ALPN, SET_TIMEOUTS, SET_VERIFY_CLIENT, SET_VERIFY_DEPTH,
	SET_VERIFY_CACHE, SET_ALLOW, SET_SESSION_CACHE, SET_STORE_BYTES,
	SET_TICKETS, SET_TICKET_KEY, SET_HTTP_LIMIT, SET_SIGNALS,
	SET_MAX_VERSION, SET_CIPHERS, SET_SUITES, SET_GROUPS,
};

/* Which config a row's setter changes: the client's, or the server's. */
enum side { CLIENT_SIDE, SERVER_SIDE };

static const struct setter_row {
	enum setter setter;
	enum side side;
	int code;                   /* of the bad call */
	const char *message;        /* in the bad call's message */
} rows[] = {
	{ SET_CERT_EXPIRED, CLIENT_SIDE, MTLS_ERR_BAD_IDENTITY, "has expired" },
	{ SET_CERT_MISMATCH, CLIENT_SIDE, MTLS_ERR_KEY_MISMATCH, "does not match" },
	{ SET_CERT_MISSING, CLIENT_SIDE, MTLS_ERR_FILE, "cannot read certificate file" },
	{ SET_CERT_DAMAGED, CLIENT_SIDE, MTLS_ERR_FORMAT, "a PEM block cannot be read" },
	{ SET_CERT_MEM, CLIENT_SIDE, MTLS_ERR_FORMAT, "contains no PEM certificate" },
	{ SET_P12_PASSWORD, CLIENT_SIDE, MTLS_ERR_P12_PASSWORD, "password" },
	{ SET_P12_MEM, CLIENT_SIDE, MTLS_ERR_FORMAT, "PKCS#12" },
	{ SET_CA_DAMAGED, SERVER_SIDE, MTLS_ERR_FORMAT, "a PEM block cannot be read" },
	{ SET_CA_MEM, SERVER_SIDE, MTLS_ERR_FORMAT, "a PEM block cannot be read" },
	{ SET_CA_PATH, SERVER_SIDE, MTLS_ERR_FILE, "cannot use CA directory" },
	{ SET_CA_NAMES, SERVER_SIDE, MTLS_ERR_FORMAT, "a PEM block cannot be read" },
	{ SET_CRL, SERVER_SIDE, MTLS_ERR_FORMAT, "a PEM block cannot be read as a CRL" },
	{ SET_MIN_VERSION, CLIENT_SIDE, MTLS_ERR_INVALID, "minimum TLS version" },
	{ SET_ALPN, CLIENT_SIDE, MTLS_ERR_INVALID, "ALPN" },
	{ SET_TIMEOUTS, CLIENT_SIDE, MTLS_ERR_INVALID, "timeout" },
	{ SET_VERIFY_CLIENT, SERVER_SIDE, MTLS_ERR_INVALID, "mode" },
	{ SET_VERIFY_DEPTH, CLIENT_SIDE, MTLS_ERR_INVALID, "depth" },
	{ SET_VERIFY_CACHE, SERVER_SIDE, MTLS_ERR_INVALID, "verify cache" },
	{ SET_ALLOW, SERVER_SIDE, MTLS_ERR_INVALID, "allow-list" },
	{ SET_SESSION_CACHE, CLIENT_SIDE, MTLS_ERR_INVALID, "session cache" },
	{ SET_STORE_BYTES, SERVER_SIDE, MTLS_ERR_INVALID, "bytes" },
	{ SET_TICKETS, SERVER_SIDE, MTLS_ERR_INVALID, "ticket" },
	{ SET_TICKET_KEY, SERVER_SIDE, MTLS_ERR_FILE, "ticket key file" },
	{ SET_HTTP_LIMIT, SERVER_SIDE, MTLS_ERR_INVALID, "HTTP limit" },
	{ SET_SIGNALS, CLIENT_SIDE, MTLS_ERR_INVALID, "signal" },
	{ SET_MAX_VERSION, CLIENT_SIDE, MTLS_ERR_INVALID, "range would be empty" },
	{ SET_CIPHERS, SERVER_SIDE, MTLS_ERR_INVALID, "unknown TLS 1.2 cipher 'NOPE'" },
	{ SET_SUITES, CLIENT_SIDE, MTLS_ERR_INVALID, "unknown TLS 1.3 cipher suite" },
	{ SET_GROUPS, SERVER_SIDE, MTLS_ERR_INVALID, "unknown key exchange group" },
};

static char tmp_dir[] = "/tmp/check_setters.XXXXXX";

/* A file in the test's directory with text; its path, static. */
static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* The PEM of pki file name, then a block that ends too soon. */
static const char *
damaged_after(const char *name, const char *kind)
{
	static char text[65536];
	size_t len;
	char *pem = slurp(pki(name), &len);

	snprintf(text, sizeof(text), "%s-----BEGIN %s-----\nMIIB\n", pem, kind);
	free(pem);
	return text;
}

static bool
is_identity_row(enum setter s)
{
	return s <= SET_P12_MEM;
}

/* The good call of a row (0 when the config's default is the good
 * state), or the bad one. */
static int
setter(enum setter s, struct mtls_config *cfg, bool good)
{
	static const char junk[] = "not a certificate";
	static const int not_signals[] = { 0 };

	/* Every identity case starts from the same good one, with a warning. */
	if (good && is_identity_row(s))
		return mtls_config_set_cert_file(cfg, pki("client-soon.crt"),
		    pki("client-soon.key"), NULL);
	switch (s) {
	case SET_CERT_EXPIRED:
		return mtls_config_set_cert_file(cfg,
		    pki("client-expired.crt"), pki("client-expired.key"), NULL);
	case SET_CERT_MISMATCH:
		return mtls_config_set_cert_file(cfg,
		    pki("client.crt"), pki("other-client.key"), NULL);
	case SET_CERT_MISSING:
		return mtls_config_set_cert_file(cfg,
		    pki("no-such.crt"), pki("client.key"), NULL);
	case SET_CERT_DAMAGED:
		return mtls_config_set_cert_file(cfg,
		    write_file("damaged.crt", damaged_after("client.crt",
		    "CERTIFICATE")), pki("client.key"), NULL);
	case SET_CERT_MEM:
		return mtls_config_set_cert_mem(cfg,
		    junk, sizeof(junk) - 1, NULL, 0, NULL);
	case SET_P12_PASSWORD:
		return mtls_config_set_p12_file(cfg,
		    pki("client.p12"), "wrong password");
	case SET_P12_MEM:
		return mtls_config_set_p12_mem(cfg,
		    junk, sizeof(junk) - 1, NULL);
	case SET_CA_DAMAGED:
		return good ? 0 : mtls_config_set_ca_file(cfg, write_file("other.crt",
		    damaged_after("other-ca.crt", "CERTIFICATE")));
	case SET_CA_MEM: {
		const char *text = damaged_after("other-ca.crt", "CERTIFICATE");

		return good ? 0 : mtls_config_set_ca_mem(cfg, text, strlen(text));
	}
	case SET_CA_PATH:
		return good ? 0 : mtls_config_set_ca_path(cfg, pki("no-such-dir"));
	case SET_CA_NAMES:
		return good ? mtls_config_set_ca_names_file(cfg, pki("ca.crt")) :
		    mtls_config_set_ca_names_file(cfg, write_file("names.crt",
		    damaged_after("other-ca.crt", "CERTIFICATE")));
	case SET_CRL:
		return good ? mtls_config_set_crl_file(cfg, pki("crl.pem"), 0) :
		    mtls_config_set_crl_file(cfg, write_file("crl.pem",
		    damaged_after("crl.pem", "X509 CRL")), 1);
	case SET_MIN_VERSION:
		return mtls_config_set_min_version(cfg, good ? MTLS_TLS1_3 : 0x0301);
	case SET_ALPN:
		return mtls_config_set_alpn(cfg, good ? "http/1.1" : "http/1.1,,h2");
	case SET_TIMEOUTS:
		return mtls_config_set_timeouts(cfg, 5000, good ? 5000 : -2, 5000);
	case SET_VERIFY_CLIENT:
		return mtls_config_set_verify_client(cfg, good ?
		    MTLS_VERIFY_CLIENT_OPTIONAL : 99);
	case SET_VERIFY_DEPTH:
		return mtls_config_set_verify_depth(cfg, good ? 4 : -1);
	case SET_VERIFY_CACHE:
		return mtls_config_set_verify_cache(cfg, good ? 16 : -1, 60);
	case SET_ALLOW:
		return mtls_config_allow(cfg, MTLS_ALLOW_CN, good ? "client" : "");
	case SET_SESSION_CACHE:
		return mtls_config_set_session_cache(cfg, good ? 4 : -1);
	case SET_STORE_BYTES:
		return mtls_config_set_session_store_bytes(cfg, good ? 1 << 20 : 1);
	case SET_TICKETS:
		return mtls_config_set_session_tickets(cfg, good ? 1 : 99);
	case SET_TICKET_KEY:
		return good ? mtls_config_add_ticket_key_file(cfg, pki("ticket.key")) :
		    mtls_config_add_ticket_key_file(cfg, pki("no-such.key"));
	case SET_HTTP_LIMIT:
		return mtls_config_set_http_limit(cfg, good ? MTLS_HTTP_MAX_BODY :
		    9999, 1024);
	case SET_SIGNALS:
		return good ? mtls_config_set_interruptible(cfg, 1) :
		    mtls_config_set_interrupt_signals(cfg, not_signals, 1);
	case SET_MAX_VERSION:
		return good ? mtls_config_set_min_version(cfg, MTLS_TLS1_3) :
		    mtls_config_set_max_version(cfg, MTLS_TLS1_2);
	case SET_CIPHERS:
		return mtls_config_set_ciphers(cfg, good ?
		    "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE:NOPE");
	case SET_SUITES:
		return mtls_config_set_ciphersuites(cfg, good ?
		    "TLS_AES_128_GCM_SHA256" : "TLS_AES_128_GCM_SHA256:TLS_NOPE");
	case SET_GROUPS:
		return mtls_config_set_groups(cfg, good ? "P-256" : "P-256:nope");
	}
	return -1;
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(tmp_dir + strlen(tmp_dir) - 6, "XXXXXX", 6);
}

/* After the bad identity: the good one's warning and description. */
static void
assert_identity_kept(struct mtls_config *cfg)
{
	struct mtls *srv;

	ck_assert_ptr_nonnull(mtls_config_warning(cfg, 0));
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "client-soon");
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "renew it soon");
	/* A client certificate cannot serve: the message names the file. */
	srv = mtls_server_new(cfg);
	ck_assert_ptr_null(srv);
	ck_assert_msg_has(mtls_config_error(cfg), "from '");
	ck_assert_msg_has(mtls_config_error(cfg), "client-soon.crt'");
}

/* A client with other-ca's certificate: a damaged bundle that began with
 * other-ca must not have made the server trust it. */
static void
assert_other_ca_untrusted(struct mtls_config *scfg)
{
	struct mtls_config *other = make_config("other-client.crt",
	    "other-client.key", "ca.crt");
	struct test_server s;
	struct mtls *c;
	int rc;

	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	c = client_connect(other, "localhost", s.port, &rc);
	server_stop(&s);
	ck_assert_int_ne(s.hs_rc, 0);
	ck_assert_msg_has(s.err_msg, "not trusted");
	mtls_free(c);
	mtls_config_free(other);
}

START_TEST(test_failed_setter_changes_nothing)
{
	const struct setter_row *row = &rows[_i];
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *cfg = row->side == CLIENT_SIDE ? ccfg : scfg;
	struct mtls *listener, *server_side, *client_side;

	ck_assert_msg(setter(row->setter, cfg, true) == 0, "good call: %s",
	    mtls_config_error(cfg));
	ck_assert_cfg_failed(cfg, setter(row->setter, cfg, false), row->code);
	ck_assert_msg_has(mtls_config_error(cfg), row->message);
	connect_pair(scfg, ccfg, &listener, &server_side, &client_side);
	if (is_identity_row(row->setter))
		ck_assert_str_eq(mtls_peer_common_name(server_side), "client-soon");
	mtls_free(client_side);
	mtls_free(server_side);
	mtls_free(listener);
	if (is_identity_row(row->setter))
		assert_identity_kept(ccfg);
	if (row->setter == SET_CA_DAMAGED || row->setter == SET_CA_MEM)
		assert_other_ca_untrusted(scfg);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

Suite *
setters_suite(void)
{
	Suite *s = suite_create("setters");
	TCase *tc = tcase_create("failed-setter");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_failed_setter_changes_nothing, 0,
	    sizeof(rows) / sizeof(rows[0]));
	suite_add_tcase(s, tc);
	return s;
}
