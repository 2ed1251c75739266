/*
 * check_tls_policy.c - the protocol range, TLS 1.2 ciphers, TLS 1.3
 * suites and key exchange groups: each knob, set on one side, is what the
 * handshake uses (read back from the connection on both sides), and each
 * bad value fails with a message quoting what was not understood.
 */
#include <string.h>

#include "check_util.h"

/* Which side a row sets its knob on; the other side keeps its defaults. */
enum side { CLIENT_SIDE, SERVER_SIDE };

enum knob { MIN_VERSION, MAX_VERSION, CIPHERS, SUITES, GROUPS };

/* Sets knob to value (text, or a version for the range) on cfg. */
static int
set_knob(struct mtls_config *cfg, enum knob knob, const char *text,
    int version)
{
	switch (knob) {
	case MIN_VERSION:
		return mtls_config_set_min_version(cfg, version);
	case MAX_VERSION:
		return mtls_config_set_max_version(cfg, version);
	case CIPHERS:
		/* A TLS 1.2 cipher is only used in TLS 1.2. */
		return mtls_config_set_max_version(cfg, MTLS_TLS1_2) ||
		    mtls_config_set_ciphers(cfg, text);
	case SUITES:
		return mtls_config_set_ciphersuites(cfg, text);
	case GROUPS:
		return mtls_config_set_groups(cfg, text);
	}
	return -1;
}

static const struct {
	enum knob knob;
	enum side side;
	const char *text;
	int version;
	const char *want_version, *want_cipher, *want_group;
} used_rows[] = {
	{ MAX_VERSION, CLIENT_SIDE, NULL, MTLS_TLS1_2, "TLSv1.2", NULL, NULL },
	{ MAX_VERSION, SERVER_SIDE, NULL, MTLS_TLS1_2, "TLSv1.2", NULL, NULL },
	{ MIN_VERSION, CLIENT_SIDE, NULL, MTLS_TLS1_3, "TLSv1.3", NULL, NULL },
	{ CIPHERS, CLIENT_SIDE, "ECDHE-ECDSA-AES256-GCM-SHA384", 0, "TLSv1.2",
	    "ECDHE-ECDSA-AES256-GCM-SHA384", NULL },
	{ CIPHERS, SERVER_SIDE, "ECDHE-ECDSA-CHACHA20-POLY1305:!aNULL", 0,
	    "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", NULL },
	{ SUITES, CLIENT_SIDE, "TLS_CHACHA20_POLY1305_SHA256", 0, "TLSv1.3",
	    "TLS_CHACHA20_POLY1305_SHA256", NULL },
	{ SUITES, SERVER_SIDE, "TLS_AES_256_GCM_SHA384", 0, "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", NULL },
	{ GROUPS, CLIENT_SIDE, "P-384", 0, "TLSv1.3", NULL, "secp384r1" },
	{ GROUPS, SERVER_SIDE, "P-521", 0, "TLSv1.3", NULL, "secp521r1" },
	{ GROUPS, CLIENT_SIDE, "ffdhe2048", 0, "TLSv1.3", NULL, "ffdhe2048" },
};

static void
assert_same(const char *what, const char *client, const char *server,
    const char *want)
{
	ck_assert_msg(client != NULL && server != NULL, "%s: not known", what);
	ck_assert_str_eq(client, server);
	if (want != NULL)
		ck_assert_msg(strcmp(client, want) == 0, "%s: %s, not %s", what,
		    client, want);
}

START_TEST(test_knob_is_used)
{
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls *listener, *server_side, *client_side;

	ck_assert_msg(set_knob(used_rows[_i].side == CLIENT_SIDE ? ccfg : scfg,
	    used_rows[_i].knob, used_rows[_i].text, used_rows[_i].version) == 0,
	    "%s", mtls_config_error(used_rows[_i].side == CLIENT_SIDE ? ccfg :
	    scfg));
	connect_pair(scfg, ccfg, &listener, &server_side, &client_side);
	assert_same("version", mtls_conn_version(client_side),
	    mtls_conn_version(server_side), used_rows[_i].want_version);
	assert_same("cipher", mtls_conn_cipher(client_side),
	    mtls_conn_cipher(server_side), used_rows[_i].want_cipher);
	assert_same("group", mtls_conn_group(client_side),
	    mtls_conn_group(server_side), used_rows[_i].want_group);
	mtls_free(client_side);
	mtls_free(server_side);
	mtls_free(listener);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

static const struct {
	enum knob knob;
	const char *text;
	int version;
	const char *message;
} bad_rows[] = {
	{ MAX_VERSION, NULL, 0x0302, "unsupported maximum TLS version 0x0302" },
	{ MIN_VERSION, NULL, 0x0301, "unsupported minimum TLS version 0x0301" },
	{ CIPHERS, "ECDHE-ECDSA-AES128-GCM-SHA256:BOGUS", 0,
	    "unknown TLS 1.2 cipher 'BOGUS' in 'ECDHE-ECDSA-AES128-GCM-SHA256:BOGUS'" },
	{ CIPHERS, "TLS_AES_128_GCM_SHA256", 0,
	    "unknown TLS 1.2 cipher 'TLS_AES_128_GCM_SHA256'" },
	{ CIPHERS, "!ALL", 0, "the TLS 1.2 cipher list '!ALL' leaves none" },
	{ CIPHERS, "", 0, "no TLS 1.2 cipher list given" },
	{ SUITES, "TLS_AES_128_GCM_SHA256:TLS_FOO", 0,
	    "unknown TLS 1.3 cipher suite 'TLS_FOO'" },
	{ SUITES, "ECDHE-ECDSA-AES128-GCM-SHA256", 0,
	    "unknown TLS 1.3 cipher suite 'ECDHE-ECDSA-AES128-GCM-SHA256'" },
	{ GROUPS, "X25519:P-999", 0, "unknown key exchange group 'P-999'" },
	{ GROUPS, NULL, 0, "no key exchange group list given" },
};

START_TEST(test_bad_value_refused)
{
	struct mtls_config *cfg = make_config("client.crt", "client.key", "ca.crt");
	int rc;

	switch (bad_rows[_i].knob) {
	case CIPHERS:
		rc = mtls_config_set_ciphers(cfg, bad_rows[_i].text);
		break;
	default:
		rc = set_knob(cfg, bad_rows[_i].knob, bad_rows[_i].text,
		    bad_rows[_i].version);
		break;
	}
	ck_assert_cfg_failed(cfg, rc, MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), bad_rows[_i].message);
	mtls_config_free(cfg);
}
END_TEST

/* Either end of the range moved past the other: refused, both ways. */
START_TEST(test_empty_range_refused)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_int_eq(mtls_config_set_min_version(cfg, MTLS_TLS1_3), 0);
	ck_assert_cfg_failed(cfg, mtls_config_set_max_version(cfg, MTLS_TLS1_2),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "the TLS version range would "
	    "be empty: the minimum TLS 1.3 is above the maximum TLS 1.2");
	ck_assert_int_eq(mtls_config_set_min_version(cfg, MTLS_TLS1_2), 0);
	ck_assert_int_eq(mtls_config_set_max_version(cfg, MTLS_TLS1_2), 0);
	ck_assert_cfg_failed(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3),
	    MTLS_ERR_INVALID);
	mtls_config_free(cfg);
}
END_TEST

Suite *
tls_policy_suite(void)
{
	Suite *s = suite_create("tls_policy");
	TCase *tc = tcase_create("knobs");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_knob_is_used, 0,
	    sizeof(used_rows) / sizeof(used_rows[0]));
	tcase_add_loop_test(tc, test_bad_value_refused, 0,
	    sizeof(bad_rows) / sizeof(bad_rows[0]));
	tcase_add_test(tc, test_empty_range_refused);
	suite_add_tcase(s, tc);
	return s;
}
