/*
 * check_identities.c - several identities on one config: one per key type
 * (RSA and ECDSA), the one used chosen by what the client supports; and
 * identities chosen by the server name the client asks for (SNI).  Each
 * handshake is real, on loopback, and the certificate the client received
 * is compared with the file it came from.
 */
#include <stdio.h>
#include <string.h>

#include "check_util.h"

/* Connects to the test server asking for name (NULL: "localhost") with
 * client config ccfg; fails the test unless the handshake succeeds, and
 * asserts the server presented the certificate in want_cert. */
static void
assert_served(struct test_server *s, struct mtls_config *ccfg,
    const char *name, const char *want_cert)
{
	struct mtls *c = mtls_client_new(ccfg);
	char want[128], port[16];

	ck_assert_ptr_nonnull(c);
	snprintf(port, sizeof(port), "%d", s->port);
	if (name != NULL)
		ck_assert_int_eq(mtls_set_verify_name(c, name), 0);
	ck_assert_msg(mtls_connect(c, "127.0.0.1", port) == 0,
	    "asking for %s: %s", name ? name : "localhost", mtls_error(c));
	cert_sha256(want_cert, 0, want);
	ck_assert_msg(strcmp(mtls_peer_fingerprint_sha256(c), want) == 0,
	    "asking for %s: the server presented '%s', not %s",
	    name ? name : "localhost", mtls_peer_subject(c), want_cert);
	mtls_close(c);
	mtls_free(c);
}

/* One handshake with a server of scfg, which must present want_cert to a
 * client of ccfg asking for name; frees both configs. */
static void
assert_served_once(struct mtls_config *scfg, struct mtls_config *ccfg,
    const char *name, const char *want_cert)
{
	struct test_server s;

	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	assert_served(&s, ccfg, name, want_cert);
	server_stop(&s);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}

static void
add_identity(struct mtls_config *cfg, const char *cert, const char *key)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki(cert),
	    pki(key), NULL));
}

/* A TLS 1.2 client limited to one certificate type's ciphers; the
 * server's choice of certificate follows it. */
static const struct {
	const char *ciphers;
	const char *want_cert;
} type_rows[] = {
	{ "ECDHE-RSA-AES128-GCM-SHA256", "server-rsa.crt" },
	{ "ECDHE-ECDSA-AES128-GCM-SHA256", "server.crt" },
	{ "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
	    "server.crt" },
};

START_TEST(test_rsa_and_ecdsa_both_served)
{
	struct mtls_config *scfg = make_config("server-rsa.crt",
	    "server-rsa.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");

	add_identity(scfg, "server.crt", "server.key");
	ck_assert_int_eq(mtls_config_set_max_version(ccfg, MTLS_TLS1_2), 0);
	ck_assert_cfg_ok(ccfg, mtls_config_set_ciphers(ccfg,
	    type_rows[_i].ciphers));
	assert_served_once(scfg, ccfg, NULL, type_rows[_i].want_cert);
}
END_TEST

/* A second identity of the same key type replaces the first, with a
 * warning that says so, and the first one's warnings go with it. */
START_TEST(test_same_type_replaces)
{
	struct mtls_config *scfg = make_config("client-soon.crt",
	    "client-soon.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");

	ck_assert_msg_has(mtls_config_warning(scfg, 0), "expires in");
	add_identity(scfg, "server.crt", "server.key");
	ck_assert_msg_has(mtls_config_warning(scfg, 0), "server.crt' replaces "
	    "certificate 'CN=client-soon' from '");
	ck_assert_msg_has(mtls_config_warning(scfg, 0), "one identity per key "
	    "type (EC)");
	ck_assert_ptr_null(mtls_config_warning(scfg, 1));
	assert_served_once(scfg, ccfg, NULL, "server.crt");
}
END_TEST

/* Identities of two types keep their warnings, in the order loaded. */
START_TEST(test_warnings_of_each_identity)
{
	struct mtls_config *cfg = make_config("server-rsa.crt",
	    "server-rsa.key", NULL);

	add_identity(cfg, "client-soon.crt", "client-soon.key");
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "client-soon.crt");
	ck_assert_ptr_null(mtls_config_warning(cfg, 1));
	mtls_config_free(cfg);
}
END_TEST

/* A failed load leaves both identities in place. */
START_TEST(test_failed_load_keeps_identities)
{
	struct mtls_config *scfg = make_config("server-rsa.crt",
	    "server-rsa.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");

	add_identity(scfg, "server.crt", "server.key");
	ck_assert_cfg_failed(scfg, mtls_config_set_cert_file(scfg,
	    pki("server.crt"), pki("server-rsa.key"), NULL),
	    MTLS_ERR_KEY_MISMATCH);
	ck_assert_int_eq(mtls_config_set_max_version(ccfg, MTLS_TLS1_2), 0);
	ck_assert_int_eq(mtls_config_set_ciphers(ccfg,
	    "ECDHE-RSA-AES128-GCM-SHA256"), 0);
	assert_served_once(scfg, ccfg, NULL, "server-rsa.crt");
}
END_TEST

/* ------------------------------------------------------------------ SNI */

/* Server names of one entry (identity serveronly.crt), the name a client
 * asks for, and which certificate it must get (server.crt: the
 * config's own). */
static const struct {
	const char *names;
	const char *asked;
	const char *want_cert;
} sni_rows[] = {
	{ "serveronly", "serveronly", "serveronly.crt" },
	{ "serveronly", "SERVERONLY", "serveronly.crt" },
	{ "www.example.org serveronly", "serveronly", "serveronly.crt" },
	{ "serveronly", "localhost", "server.crt" },
	{ "*.example.org", "a.example.org", "serveronly.crt" },
	{ "*.example.org", "a.b.example.org", "serveronly.crt" },
	{ "*.example.org", "example.org", "server.crt" },
	{ "*.example.org", "a.example.com", "server.crt" },
	{ "*.example.org", "aexample.org", "server.crt" },
};

START_TEST(test_sni_chooses_identity)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *named = make_config("serveronly.crt",
	    "serveronly.key", NULL);
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");

	ck_assert_cfg_ok(scfg, mtls_config_add_sni_identity(scfg,
	    sni_rows[_i].names, named));
	mtls_config_free(named);            /* scfg holds a reference */
	/* Names the certificates do not hold: look at what is presented. */
	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	assert_served_once(scfg, ccfg, sni_rows[_i].asked, sni_rows[_i].want_cert);
}
END_TEST

/* Exact names beat wildcards, longer wildcards shorter ones, whatever
 * the order the entries were added in. */
START_TEST(test_sni_best_match_wins)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *wide = make_config("server-int.crt",
	    "server-int.key", NULL);
	struct mtls_config *narrow = make_config("serveronly.crt",
	    "serveronly.key", NULL);
	struct mtls_config *exact = make_config("server-rsa.crt",
	    "server-rsa.key", NULL);
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct test_server s;

	ck_assert_int_eq(mtls_config_add_sni_identity(scfg, "*.org", wide), 0);
	ck_assert_int_eq(mtls_config_add_sni_identity(scfg, "*.example.org",
	    narrow), 0);
	ck_assert_int_eq(mtls_config_add_sni_identity(scfg, "www.example.org",
	    exact), 0);
	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	server_start(&s, scfg, SERVE_HANDSHAKE, 3);
	assert_served(&s, ccfg, "www.example.org", "server-rsa.crt");
	assert_served(&s, ccfg, "mail.example.org", "serveronly.crt");
	assert_served(&s, ccfg, "example.net.org", "server-int.crt");
	server_stop(&s);
	mtls_config_free(ccfg);
	mtls_config_free(exact);
	mtls_config_free(narrow);
	mtls_config_free(wide);
	mtls_config_free(scfg);
}
END_TEST

/* A verifying client gets the certificate for the name it asked for, and
 * the named config's other settings do not leak into the server's. */
START_TEST(test_sni_verified_by_name)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *named = make_config("serveronly.crt",
	    "serveronly.key", "other-ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct test_server s;

	ck_assert_int_eq(mtls_config_add_sni_identity(scfg, "serveronly",
	    named), 0);
	server_start(&s, scfg, SERVE_HANDSHAKE, 2);
	assert_served(&s, ccfg, "localhost", "server.crt");
	assert_served(&s, ccfg, "serveronly", "serveronly.crt");
	server_stop(&s);
	ck_assert_msg(s.peer_verified, "the client was not verified by the "
	    "server's own trust anchors: %s", s.err_msg);
	mtls_config_free(ccfg);
	mtls_config_free(named);
	mtls_config_free(scfg);
}
END_TEST

/* The named identities are checked for the server role too. */
START_TEST(test_sni_identity_role_checked)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *named = make_config("server-clientauth-only.crt",
	    "server-clientauth-only.key", NULL);
	struct mtls *srv;

	ck_assert_int_eq(mtls_config_add_sni_identity(scfg, "localhost.test",
	    named), 0);
	srv = mtls_server_new(scfg);
	ck_assert_ptr_null(srv);
	ck_assert_int_eq(mtls_config_error_code(scfg), MTLS_ERR_BAD_IDENTITY);
	ck_assert_msg_has(mtls_config_error(scfg), "server-clientauth-only.crt");
	ck_assert_msg_has(mtls_config_error(scfg), "serverAuth");
	mtls_config_free(named);
	mtls_config_free(scfg);
}
END_TEST

enum named_kind { NAMED_OK, NAMED_NULL, NAMED_EMPTY, NAMED_NESTED, NAMED_SELF };

static const struct {
	const char *names;
	enum named_kind named;
	const char *message;
} sni_bad_rows[] = {
	{ "bad_name", NAMED_OK, "'bad_name' is not a server name" },
	{ "a..example.org", NAMED_OK, "'a..example.org' is not a server name" },
	{ "*", NAMED_OK, "'*' is not a server name" },
	{ "*.", NAMED_OK, "'*.' is not a server name" },
	{ "a.*.org", NAMED_OK, "'a.*.org' is not a server name" },
	{ "example.org.", NAMED_OK, "'example.org.' is not a server name" },
	{ "a.test a.test", NAMED_OK, "server name 'a.test' is given twice" },
	{ "taken.test", NAMED_OK, "server name 'taken.test' is given twice" },
	{ "", NAMED_OK, "no server name given" },
	{ " , ", NAMED_OK, "no server name given" },
	{ NULL, NAMED_OK, "no server name given" },
	{ "a.test", NAMED_NULL, "no config of identities given" },
	{ "a.test", NAMED_SELF, "no config of identities given" },
	{ "a.test", NAMED_EMPTY, "holds no identity: load a certificate" },
	{ "a.test", NAMED_NESTED, "has server names of its own" },
};

/* The config a row offers for its names; cfg is the one it is added to. */
static struct mtls_config *
named_config(enum named_kind kind, struct mtls_config *cfg)
{
	struct mtls_config *named, *inner;

	switch (kind) {
	case NAMED_NULL:
		return NULL;
	case NAMED_SELF:
		return mtls_config_ref(cfg);
	case NAMED_EMPTY:
		return mtls_config_new();
	case NAMED_NESTED:
		named = make_config("serveronly.crt", "serveronly.key", NULL);
		inner = make_config("server-rsa.crt", "server-rsa.key", NULL);
		ck_assert_int_eq(mtls_config_add_sni_identity(named, "x.test",
		    inner), 0);
		mtls_config_free(inner);
		return named;
	case NAMED_OK:
		break;
	}
	return make_config("serveronly.crt", "serveronly.key", NULL);
}

START_TEST(test_sni_bad_value_refused)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *other = make_config("server-rsa.crt",
	    "server-rsa.key", NULL);
	struct mtls_config *named;

	ck_assert_int_eq(mtls_config_add_sni_identity(cfg, "taken.test",
	    other), 0);
	named = named_config(sni_bad_rows[_i].named, cfg);
	ck_assert_cfg_failed(cfg, mtls_config_add_sni_identity(cfg,
	    sni_bad_rows[_i].names, named), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), sni_bad_rows[_i].message);
	/* Nothing was added: the entry made before still works alone. */
	ck_assert_int_eq(mtls_config_add_sni_identity(cfg, "free.test",
	    other), 0);
	mtls_config_free(named);
	mtls_config_free(other);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_sni_frozen)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls_config *named = make_config("serveronly.crt",
	    "serveronly.key", NULL);
	struct mtls_config *second = mtls_config_new();
	struct mtls *srv = mtls_server_new(cfg);

	ck_assert_ptr_nonnull(srv);
	ck_assert_cfg_failed(cfg, mtls_config_add_sni_identity(cfg, "a.test",
	    named), MTLS_ERR_CONFIG_FROZEN);
	/* The named config is frozen by being added. */
	ck_assert_int_eq(mtls_config_add_sni_identity(second, "b.test", named),
	    0);
	ck_assert_cfg_failed(named, mtls_config_set_cert_file(named,
	    pki("server.crt"), pki("server.key"), NULL), MTLS_ERR_CONFIG_FROZEN);
	mtls_free(srv);
	mtls_config_free(second);
	mtls_config_free(named);
	mtls_config_free(cfg);
}
END_TEST

#define N(rows) ((int)(sizeof(rows) / sizeof((rows)[0])))

Suite *
identities_suite(void)
{
	Suite *s = suite_create("identities");
	TCase *tc = tcase_create("key types");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_rsa_and_ecdsa_both_served, 0, N(type_rows));
	tcase_add_test(tc, test_same_type_replaces);
	tcase_add_test(tc, test_warnings_of_each_identity);
	tcase_add_test(tc, test_failed_load_keeps_identities);
	suite_add_tcase(s, tc);
	tc = tcase_create("sni");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_sni_chooses_identity, 0, N(sni_rows));
	tcase_add_test(tc, test_sni_best_match_wins);
	tcase_add_test(tc, test_sni_verified_by_name);
	tcase_add_test(tc, test_sni_identity_role_checked);
	tcase_add_loop_test(tc, test_sni_bad_value_refused, 0, N(sni_bad_rows));
	tcase_add_test(tc, test_sni_frozen);
	suite_add_tcase(s, tc);
	return s;
}
