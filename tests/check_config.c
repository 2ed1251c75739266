/*
 * check_config.c - the config's life cycle (references, freezing), its
 * protocol settings (minimum version, ALPN, timeouts), and the checks that
 * mtls_client_new and mtls_server_new make on it.
 */
#include <stdio.h>
#include <string.h>

#include "check_util.h"

static struct mtls_config *cfg;

static void
setup(void)
{
	cfg = mtls_config_new();
	ck_assert_ptr_nonnull(cfg);
}

static void
teardown(void)
{
	mtls_config_free(cfg);
	cfg = NULL;
}

/* A client and a server config that can complete a handshake. */
static void
handshake_with(struct mtls *c)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct test_server s;
	char port[16];

	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	snprintf(port, sizeof(port), "%d", s.port);
	ck_assert_msg(mtls_connect(c, "localhost", port) == 0, "connect: %s",
	    mtls_error(c));
	mtls_close(c);
	server_stop(&s);
	ck_assert_msg(s.hs_rc == 0, "server: %s", s.err_msg);
	ck_assert_str_eq(s.peer_cn, "client");
	mtls_config_free(scfg);
}

/* ------------------------------------------------------------ life cycle */

START_TEST(test_config_new_is_empty)
{
	ck_assert_ptr_null(mtls_config_error(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_OK);
}
END_TEST

START_TEST(test_config_new_gives_distinct_objects)
{
	struct mtls_config *other = mtls_config_new();

	ck_assert_ptr_nonnull(other);
	ck_assert_ptr_ne(other, cfg);
	mtls_config_free(other);
}
END_TEST

START_TEST(test_config_ref_returns_same)
{
	ck_assert_ptr_eq(mtls_config_ref(cfg), cfg);
	mtls_config_free(cfg);      /* drops the extra reference */
	/* The fixture's reference still holds it: it must still work. */
	ck_assert_cfg_ok(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
}
END_TEST

START_TEST(test_config_ref_many_then_free_all)
{
	int i;

	for (i = 0; i < 10; i++)
		ck_assert_ptr_eq(mtls_config_ref(cfg), cfg);
	for (i = 0; i < 10; i++) {
		mtls_config_free(cfg);
		ck_assert_cfg_ok(cfg, mtls_config_set_timeouts(cfg, i, i, i));
	}
}
END_TEST

START_TEST(test_config_ref_null)
{
	ck_assert_ptr_null(mtls_config_ref(NULL));
	mtls_config_free(NULL);     /* ignored, must not crash */
}
END_TEST

START_TEST(test_config_freed_by_caller_lives_in_client)
{
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct mtls *c = mtls_client_new(ccfg);

	ck_assert_msg(c != NULL, "%s", mtls_config_error(ccfg));
	mtls_config_free(ccfg);     /* the client's reference keeps it */
	ck_assert_int_eq(mtls_set_verify_name(c, "localhost"), 0);
	handshake_with(c);
	mtls_free(c);               /* frees the config too (valgrind checks) */
}
END_TEST

START_TEST(test_config_shared_by_two_clients)
{
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct mtls *a = mtls_client_new(ccfg);
	struct mtls *b = mtls_client_new(ccfg);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	mtls_config_free(ccfg);
	mtls_free(a);               /* b still holds the config */
	handshake_with(b);
	mtls_free(b);
}
END_TEST

START_TEST(test_config_freed_by_caller_lives_in_server)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls *s = mtls_server_new(scfg);

	ck_assert_msg(s != NULL, "%s", mtls_config_error(scfg));
	mtls_config_free(scfg);
	ck_assert_int_eq(mtls_listen(s, "127.0.0.1", "0", 0), 0);
	ck_assert_int_gt(mtls_local_port(s), 0);
	mtls_free(s);
}
END_TEST

START_TEST(test_client_new_null_config)
{
	ck_assert_ptr_null(mtls_client_new(NULL));
	ck_assert_ptr_null(mtls_server_new(NULL));
	mtls_free(NULL);            /* ignored */
}
END_TEST

START_TEST(test_setters_null_config)
{
	ck_assert_int_eq(mtls_config_set_min_version(NULL, MTLS_TLS1_2), -1);
	ck_assert_int_eq(mtls_config_set_alpn(NULL, "h2"), -1);
	ck_assert_int_eq(mtls_config_set_timeouts(NULL, 1, 1, 1), -1);
	ck_assert_int_eq(mtls_config_set_cert_file(NULL, pki("client.crt"),
	    pki("client.key"), NULL), -1);
	ck_assert_int_eq(mtls_config_set_cert_mem(NULL, "x", 1, NULL, 0, NULL), -1);
	ck_assert_int_eq(mtls_config_set_p12_file(NULL, pki("client.p12"),
	    "p12pass"), -1);
	ck_assert_int_eq(mtls_config_set_p12_mem(NULL, "x", 1, NULL), -1);
	ck_assert_int_eq(mtls_config_set_ca_file(NULL, pki("ca.crt")), -1);
	ck_assert_int_eq(mtls_config_set_ca_path(NULL, pki("ca-dir")), -1);
	ck_assert_int_eq(mtls_config_set_ca_mem(NULL, "x", 1), -1);
	ck_assert_int_eq(mtls_config_use_system_ca(NULL), -1);
}
END_TEST

/* -------------------------------------------------------------- freezing */

static struct mtls *
freeze_with_client(void)
{
	struct mtls *c;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	return c;
}

#define ck_assert_frozen(cfg, rc) \
	do { \
		ck_assert_cfg_failed(cfg, rc, MTLS_ERR_CONFIG_FROZEN); \
		ck_assert_msg_has(mtls_config_error(cfg), "in use"); \
		ck_assert_msg_has(mtls_config_error(cfg), "can no longer be changed"); \
	} while (0)

START_TEST(test_min_version_frozen)
{
	struct mtls *c = freeze_with_client();

	ck_assert_frozen(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
	mtls_free(c);
}
END_TEST

START_TEST(test_alpn_frozen)
{
	struct mtls *c = freeze_with_client();

	ck_assert_frozen(cfg, mtls_config_set_alpn(cfg, "h2"));
	mtls_free(c);
}
END_TEST

START_TEST(test_timeouts_frozen)
{
	struct mtls *c = freeze_with_client();

	ck_assert_frozen(cfg, mtls_config_set_timeouts(cfg, 1, 1, 1));
	ck_assert_frozen(cfg, mtls_config_set_write_timeout(cfg, 1));
	mtls_free(c);
}
END_TEST

START_TEST(test_frozen_by_server_new)
{
	struct mtls *s;

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("server.crt"),
	    pki("server.key"), NULL));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	s = mtls_server_new(cfg);
	ck_assert_msg(s != NULL, "%s", mtls_config_error(cfg));
	ck_assert_frozen(cfg, mtls_config_set_alpn(cfg, "h2"));
	mtls_free(s);
}
END_TEST

START_TEST(test_frozen_stays_after_client_freed)
{
	struct mtls *c = freeze_with_client();

	mtls_free(c);
	/* "immutable once a connection has been made from it" */
	ck_assert_frozen(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
}
END_TEST

START_TEST(test_frozen_config_still_makes_clients)
{
	struct mtls *a = freeze_with_client();
	struct mtls *b = mtls_client_new(cfg);

	ck_assert_msg(b != NULL, "%s", mtls_config_error(cfg));
	mtls_free(a);
	mtls_free(b);
}
END_TEST

START_TEST(test_failed_client_new_does_not_freeze)
{
	ck_assert_ptr_null(mtls_client_new(cfg));       /* no trust anchors */
	ck_assert_cfg_ok(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
}
END_TEST

START_TEST(test_failed_server_new_does_not_freeze)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_ptr_null(mtls_server_new(cfg));       /* no identity */
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("server.crt"),
	    pki("server.key"), NULL));
}
END_TEST

/* -------------------------------------------------------- min version */

START_TEST(test_min_version_tls12_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_2));
}
END_TEST

START_TEST(test_min_version_tls13_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
}
END_TEST

START_TEST(test_min_version_tls10_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_min_version(cfg, 0x0301),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "unsupported minimum TLS version");
	ck_assert_msg_has(mtls_config_error(cfg), "0x0301");
	ck_assert_msg_has(mtls_config_error(cfg), "MTLS_TLS1_2");
}
END_TEST

START_TEST(test_min_version_tls11_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_min_version(cfg, 0x0302),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "0x0302");
}
END_TEST

START_TEST(test_min_version_zero_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_min_version(cfg, 0),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "unsupported minimum TLS version");
}
END_TEST

START_TEST(test_min_version_future_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_min_version(cfg, 0x0305),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "0x0305");
}
END_TEST

/* ------------------------------------------------------------------ ALPN */

START_TEST(test_alpn_list_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, "h2,http/1.1"));
}
END_TEST

START_TEST(test_alpn_single_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, "h2"));
}
END_TEST

START_TEST(test_alpn_set_twice_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, "h2,http/1.1"));
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, "spdy/3,x"));
}
END_TEST

START_TEST(test_alpn_255_byte_name_ok)
{
	char name[256];

	memset(name, 'a', 255);
	name[255] = '\0';
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, name));
}
END_TEST

START_TEST(test_alpn_empty_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_alpn(cfg, ""), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "ALPN protocol list is empty");
}
END_TEST

START_TEST(test_alpn_null_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_alpn(cfg, NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "ALPN protocol list is empty");
}
END_TEST

/* Looped over each malformed list: _i indexes bad_alpn[]. */
static const char *const bad_alpn[] = { ",a", "a,", "a,,b", ",", "h2,,", ",,", };

START_TEST(test_alpn_malformed_invalid)
{
	char quoted[64];

	ck_assert_cfg_failed(cfg, mtls_config_set_alpn(cfg, bad_alpn[_i]),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "invalid ALPN protocol list");
	snprintf(quoted, sizeof(quoted), "'%s'", bad_alpn[_i]);
	ck_assert_msg_has(mtls_config_error(cfg), quoted);
	ck_assert_msg_has(mtls_config_error(cfg), "1 to 255 bytes");
}
END_TEST

START_TEST(test_alpn_256_byte_name_invalid)
{
	char name[257];

	memset(name, 'a', 256);
	name[256] = '\0';
	ck_assert_cfg_failed(cfg, mtls_config_set_alpn(cfg, name), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "invalid ALPN protocol list");
	ck_assert_msg_has(mtls_config_error(cfg), name);
	ck_assert_msg_has(mtls_config_error(cfg), "1 to 255 bytes");
}
END_TEST

START_TEST(test_alpn_long_name_after_good_one_invalid)
{
	char list[300];

	memcpy(list, "h2,", 3);
	memset(list + 3, 'b', 256);
	list[259] = '\0';
	ck_assert_cfg_failed(cfg, mtls_config_set_alpn(cfg, list), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "invalid ALPN protocol list");
}
END_TEST

START_TEST(test_alpn_failure_keeps_previous_list)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct mtls *c;
	struct test_server s;
	char port[16];

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("client.crt"),
	    pki("client.key"), NULL));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_set_alpn(cfg, "h2"));
	ck_assert_int_eq(mtls_config_set_alpn(cfg, "a,,b"), -1);
	ck_assert_cfg_ok(scfg, mtls_config_set_alpn(scfg, "http/1.1,h2"));
	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	c = mtls_client_new(cfg);
	ck_assert_ptr_nonnull(c);
	snprintf(port, sizeof(port), "%d", s.port);
	ck_assert_msg(mtls_connect(c, "localhost", port) == 0, "%s", mtls_error(c));
	ck_assert_ptr_nonnull(mtls_conn_alpn(c));
	ck_assert_str_eq(mtls_conn_alpn(c), "h2");
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
	mtls_config_free(scfg);
}
END_TEST

/* -------------------------------------------------------------- timeouts */

START_TEST(test_timeouts_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_timeouts(cfg, 1000, 2000, 3000));
}
END_TEST

START_TEST(test_timeouts_zero_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_timeouts(cfg, 0, 0, 0));
}
END_TEST

START_TEST(test_timeouts_negative_connect_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_timeouts(cfg, -1, 0, 0),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "timeouts must be 0");
	ck_assert_msg_has(mtls_config_error(cfg), "-1/0/0");
}
END_TEST

START_TEST(test_timeouts_negative_handshake_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_timeouts(cfg, 0, -5, 0),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "timeouts must be 0");
	ck_assert_msg_has(mtls_config_error(cfg), "0/-5/0");
}
END_TEST

START_TEST(test_timeouts_negative_io_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_timeouts(cfg, 0, 0, -2147483647 - 1),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "timeouts must be 0");
	ck_assert_msg_has(mtls_config_error(cfg), "-2147483648");
}
END_TEST

START_TEST(test_write_timeout_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_write_timeout(cfg, 5000));
	ck_assert_cfg_ok(cfg, mtls_config_set_write_timeout(cfg, 0));
	ck_assert_cfg_ok(cfg, mtls_config_set_write_timeout(cfg, -1));
	ck_assert_int_eq(mtls_config_set_write_timeout(NULL, 1), -1);
}
END_TEST

START_TEST(test_write_timeout_under_minus_one_invalid)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_write_timeout(cfg, -2),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "write timeout must be 0");
	ck_assert_msg_has(mtls_config_error(cfg), "got -2");
}
END_TEST

/* ------------------------------------------------ client_new / server_new */

START_TEST(test_client_new_without_trust_fails)
{
	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "no trust anchors");
	ck_assert_msg_has(mtls_config_error(cfg), "no server certificate");
	ck_assert_msg_has(mtls_config_error(cfg), "mtls_config_set_ca_file");
}
END_TEST

START_TEST(test_client_new_with_identity_but_no_trust_fails)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("client.crt"),
	    pki("client.key"), NULL));
	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "no trust anchors");
}
END_TEST

START_TEST(test_client_new_without_identity_ok)
{
	struct mtls *c;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	mtls_free(c);
}
END_TEST

START_TEST(test_server_new_without_trust_fails)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("server.crt"),
	    pki("server.key"), NULL));
	ck_assert_ptr_null(mtls_server_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "no trust anchors");
	ck_assert_msg_has(mtls_config_error(cfg), "no client certificate");
}
END_TEST

START_TEST(test_server_new_without_identity_fails)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_ptr_null(mtls_server_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "a server needs a certificate");
	ck_assert_msg_has(mtls_config_error(cfg), "mtls_config_set_cert_file");
}
END_TEST

START_TEST(test_server_new_with_identity_and_trust_ok)
{
	struct mtls *s;

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("server.crt"),
	    pki("server.key"), NULL));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	s = mtls_server_new(cfg);
	ck_assert_msg(s != NULL, "%s", mtls_config_error(cfg));
	mtls_free(s);
}
END_TEST

/* ----------------------------------------------------------- error state */

START_TEST(test_error_cleared_by_same_setter)
{
	ck_assert_int_eq(mtls_config_set_min_version(cfg, 0x0301), -1);
	ck_assert_ptr_nonnull(mtls_config_error(cfg));
	ck_assert_cfg_ok(cfg, mtls_config_set_min_version(cfg, MTLS_TLS1_3));
}
END_TEST

START_TEST(test_error_cleared_by_other_setter)
{
	ck_assert_int_eq(mtls_config_set_alpn(cfg, ",a"), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_cfg_ok(cfg, mtls_config_set_timeouts(cfg, 10, 10, 10));
}
END_TEST

START_TEST(test_error_cleared_by_identity_setter)
{
	ck_assert_int_eq(mtls_config_set_timeouts(cfg, -1, -1, -1), -1);
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("client.crt"),
	    pki("client.key"), NULL));
}
END_TEST

START_TEST(test_error_kept_until_next_call)
{
	ck_assert_int_eq(mtls_config_set_alpn(cfg, "a,"), -1);
	/* Reading it twice gives the same thing. */
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "'a,'");
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "'a,'");
}
END_TEST

START_TEST(test_client_new_error_cleared_by_setter)
{
	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *life = tcase_create("lifecycle");
	TCase *frozen = tcase_create("frozen");
	TCase *settings = tcase_create("settings");
	TCase *objects = tcase_create("objects");
	TCase *state = tcase_create("error-state");

	tcase_add_checked_fixture(life, setup, teardown);
	tcase_set_timeout(life, 20);
	tcase_add_test(life, test_config_new_is_empty);
	tcase_add_test(life, test_config_new_gives_distinct_objects);
	tcase_add_test(life, test_config_ref_returns_same);
	tcase_add_test(life, test_config_ref_many_then_free_all);
	tcase_add_test(life, test_config_ref_null);
	tcase_add_test(life, test_config_freed_by_caller_lives_in_client);
	tcase_add_test(life, test_config_shared_by_two_clients);
	tcase_add_test(life, test_config_freed_by_caller_lives_in_server);
	tcase_add_test(life, test_client_new_null_config);
	tcase_add_test(life, test_setters_null_config);
	suite_add_tcase(s, life);

	tcase_add_checked_fixture(frozen, setup, teardown);
	tcase_add_test(frozen, test_min_version_frozen);
	tcase_add_test(frozen, test_alpn_frozen);
	tcase_add_test(frozen, test_timeouts_frozen);
	tcase_add_test(frozen, test_frozen_by_server_new);
	tcase_add_test(frozen, test_frozen_stays_after_client_freed);
	tcase_add_test(frozen, test_frozen_config_still_makes_clients);
	tcase_add_test(frozen, test_failed_client_new_does_not_freeze);
	tcase_add_test(frozen, test_failed_server_new_does_not_freeze);
	suite_add_tcase(s, frozen);

	tcase_add_checked_fixture(settings, setup, teardown);
	tcase_set_timeout(settings, 20);
	tcase_add_test(settings, test_min_version_tls12_ok);
	tcase_add_test(settings, test_min_version_tls13_ok);
	tcase_add_test(settings, test_min_version_tls10_invalid);
	tcase_add_test(settings, test_min_version_tls11_invalid);
	tcase_add_test(settings, test_min_version_zero_invalid);
	tcase_add_test(settings, test_min_version_future_invalid);
	tcase_add_test(settings, test_alpn_list_ok);
	tcase_add_test(settings, test_alpn_single_ok);
	tcase_add_test(settings, test_alpn_set_twice_ok);
	tcase_add_test(settings, test_alpn_255_byte_name_ok);
	tcase_add_test(settings, test_alpn_empty_invalid);
	tcase_add_test(settings, test_alpn_null_invalid);
	tcase_add_loop_test(settings, test_alpn_malformed_invalid, 0,
	    (int)(sizeof(bad_alpn) / sizeof(bad_alpn[0])));
	tcase_add_test(settings, test_alpn_256_byte_name_invalid);
	tcase_add_test(settings, test_alpn_long_name_after_good_one_invalid);
	tcase_add_test(settings, test_alpn_failure_keeps_previous_list);
	tcase_add_test(settings, test_timeouts_ok);
	tcase_add_test(settings, test_timeouts_zero_ok);
	tcase_add_test(settings, test_timeouts_negative_connect_invalid);
	tcase_add_test(settings, test_timeouts_negative_handshake_invalid);
	tcase_add_test(settings, test_timeouts_negative_io_invalid);
	tcase_add_test(settings, test_write_timeout_ok);
	tcase_add_test(settings, test_write_timeout_under_minus_one_invalid);
	suite_add_tcase(s, settings);

	tcase_add_checked_fixture(objects, setup, teardown);
	tcase_add_test(objects, test_client_new_without_trust_fails);
	tcase_add_test(objects, test_client_new_with_identity_but_no_trust_fails);
	tcase_add_test(objects, test_client_new_without_identity_ok);
	tcase_add_test(objects, test_server_new_without_trust_fails);
	tcase_add_test(objects, test_server_new_without_identity_fails);
	tcase_add_test(objects, test_server_new_with_identity_and_trust_ok);
	suite_add_tcase(s, objects);

	tcase_add_checked_fixture(state, setup, teardown);
	tcase_add_test(state, test_error_cleared_by_same_setter);
	tcase_add_test(state, test_error_cleared_by_other_setter);
	tcase_add_test(state, test_error_cleared_by_identity_setter);
	tcase_add_test(state, test_error_kept_until_next_call);
	tcase_add_test(state, test_client_new_error_cleared_by_setter);
	suite_add_tcase(s, state);
	return s;
}
