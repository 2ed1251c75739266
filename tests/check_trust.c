/*
 * check_trust.c - trust anchors: CA files and bundles, hashed CA
 * directories, PEM in memory, the system store; how each fails; that they
 * let mtls_client_new through and are really used by a handshake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

#define MSG (mtls_config_error(cfg))

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

/* cfg now has trust: a client can be made from it. */
static void
assert_client_new_ok(void)
{
	struct mtls *c = mtls_client_new(cfg);

	ck_assert_msg(c != NULL, "client_new: %s", MSG);
	ck_assert_ptr_null(mtls_error(c));
	mtls_free(c);
}

/* cfg has no trust: mtls_client_new refuses it. */
static void
assert_client_new_refused(void)
{
	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no trust anchors");
}

/*
 * Connects with cfg (given the client identity here) to a server with
 * server.crt, signed by ca.crt; returns mtls_connect's result and leaves
 * the client's error code in *code.
 */
static int
connect_to_server(int *code, char *msg, size_t msglen)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct test_server s;
	struct mtls *c;
	int rc;

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, pki("client.crt"),
	    pki("client.key"), NULL));
	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	c = client_connect(cfg, "localhost", s.port, &rc);
	*code = mtls_error_code(c);
	snprintf(msg, msglen, "%s", mtls_error(c) ? mtls_error(c) : "");
	if (rc == 0)
		mtls_close(c);
	mtls_free(c);
	server_stop(&s);
	mtls_config_free(scfg);
	return rc;
}

static void
assert_handshake_ok(void)
{
	char msg[1024];
	int code;

	ck_assert_msg(connect_to_server(&code, msg, sizeof(msg)) == 0,
	    "client: %s", msg);
}

/* --------------------------------------------------------------- CA file */

START_TEST(test_ca_file_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	assert_client_new_ok();
}
END_TEST

START_TEST(test_ca_file_used_in_handshake)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_ca_bundle_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca-bundle.crt")));
	assert_client_new_ok();
}
END_TEST

START_TEST(test_ca_bundle_used_in_handshake)
{
	/* ca.crt is the first of the bundle, other-ca.crt the second. */
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca-bundle.crt")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_wrong_ca_fails_handshake)
{
	char msg[1024];
	int code;

	/* The control for the handshake tests: an unrelated CA does not do. */
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("other-ca.crt")));
	ck_assert_int_eq(connect_to_server(&code, msg, sizeof(msg)), -1);
	ck_assert_msg(code == MTLS_ERR_PEER_UNTRUSTED, "got %s: %s",
	    mtls_error_name(code), msg);
}
END_TEST

START_TEST(test_ca_files_add_up)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("other-ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_ca_file_twice_ok)
{
	/* A duplicate anchor is harmless. */
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_ca_file_missing)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("no-such-ca.crt")),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such-ca.crt"));
	ck_assert_msg_has(MSG, "No such file or directory");
	ck_assert_msg_has(MSG, "CA file");
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_file_not_pem)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("not-pem.txt")),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("not-pem.txt"));
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_file_empty)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("empty.pem")),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("empty.pem"));
}
END_TEST

START_TEST(test_ca_file_is_key)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("ca.key")),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("ca.key"));
}
END_TEST

START_TEST(test_ca_file_is_p12)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("client.p12")),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("client.p12"));
}
END_TEST

START_TEST(test_ca_file_is_directory)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, pki("ca-dir")),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("ca-dir"));
	ck_assert_msg_has(MSG, "directory");
}
END_TEST

START_TEST(test_ca_file_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, NULL),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA file name given");
}
END_TEST

START_TEST(test_ca_file_empty_name)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_file(cfg, ""),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA file name given");
}
END_TEST

START_TEST(test_failed_ca_file_keeps_earlier_anchors)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("not-pem.txt")), -1);
	assert_handshake_ok();
}
END_TEST

/* ---------------------------------------------------------------- CA dir */

START_TEST(test_ca_path_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_path(cfg, pki("ca-dir")));
	assert_client_new_ok();
}
END_TEST

START_TEST(test_ca_path_used_in_handshake)
{
	/* The anchor is looked up by subject hash during the handshake. */
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_path(cfg, pki("ca-dir")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_ca_path_trailing_slash_ok)
{
	char dir[1100];

	snprintf(dir, sizeof(dir), "%s/", pki("ca-dir"));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_path(cfg, dir));
}
END_TEST

START_TEST(test_ca_path_missing)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_path(cfg, pki("no-such-dir")),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such-dir"));
	ck_assert_msg_has(MSG, "No such file or directory");
	ck_assert_msg_has(MSG, "CA directory");
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_path_is_file)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_path(cfg, pki("ca.crt")),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, "not a directory");
	ck_assert_msg_has(MSG, pki("ca.crt"));
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_path_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_path(cfg, NULL),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA directory given");
}
END_TEST

START_TEST(test_ca_path_empty_name)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_path(cfg, ""),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA directory given");
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(test_ca_mem_ok)
{
	size_t len;
	char *pem = slurp(pki("ca.crt"), &len);

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_mem(cfg, pem, len));
	free(pem);
	assert_client_new_ok();
}
END_TEST

START_TEST(test_ca_mem_used_in_handshake)
{
	size_t len;
	char *pem = slurp(pki("ca-bundle.crt"), &len);
	char *exact = malloc(len);

	/* Exact size, no trailing NUL; freed before use: the library copies. */
	memcpy(exact, pem, len);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_mem(cfg, exact, len));
	free(pem);
	free(exact);
	assert_handshake_ok();
}
END_TEST

START_TEST(test_ca_mem_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_mem(cfg, NULL, 100),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA certificates given");
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_mem_empty)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_mem(cfg, "", 0),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no CA certificates given");
	ck_assert_msg_has(MSG, "empty buffer");
}
END_TEST

START_TEST(test_ca_mem_garbage)
{
	static const char junk[] = "-----BEGIN NOTHING-----\nxyz\n";
	static const char text[] = "not PEM at all\n";

	ck_assert_cfg_failed(cfg, mtls_config_set_ca_mem(cfg, junk,
	    sizeof(junk) - 1), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "in the CA certificates in memory, a PEM block "
	    "cannot be read as a certificate");
	ck_assert_cfg_failed(cfg, mtls_config_set_ca_mem(cfg, text,
	    sizeof(text) - 1), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, "in memory");
	assert_client_new_refused();
}
END_TEST

START_TEST(test_ca_mem_key_only)
{
	size_t len;
	char *pem = slurp(pki("ca.key"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_ca_mem(cfg, pem, len),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	free(pem);
}
END_TEST

/* ---------------------------------------------------------- system store */

START_TEST(test_system_ca_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_use_system_ca(cfg));
	assert_client_new_ok();
}
END_TEST

START_TEST(test_system_ca_and_ca_file_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_use_system_ca(cfg));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	assert_handshake_ok();
}
END_TEST

START_TEST(test_system_ca_does_not_trust_test_ca)
{
	char msg[1024];
	int code;

	ck_assert_cfg_ok(cfg, mtls_config_use_system_ca(cfg));
	ck_assert_int_eq(connect_to_server(&code, msg, sizeof(msg)), -1);
	ck_assert_msg(code == MTLS_ERR_PEER_UNTRUSTED, "got %s: %s",
	    mtls_error_name(code), msg);
}
END_TEST

START_TEST(test_no_trust_refused)
{
	assert_client_new_refused();
}
END_TEST

START_TEST(test_failed_load_error_cleared_by_good_one)
{
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("not-pem.txt")), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_FORMAT);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_path(cfg, pki("ca-dir")));
	assert_client_new_ok();
}
END_TEST

/* ---------------------------------------------------------------- frozen */

static struct mtls *
freeze(void)
{
	struct mtls *c;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", MSG);
	return c;
}

#define ck_assert_frozen(rc) \
	do { \
		ck_assert_cfg_failed(cfg, rc, MTLS_ERR_CONFIG_FROZEN); \
		ck_assert_msg_has(MSG, "in use"); \
	} while (0)

START_TEST(test_ca_file_frozen)
{
	struct mtls *c = freeze();

	ck_assert_frozen(mtls_config_set_ca_file(cfg, pki("other-ca.crt")));
	mtls_free(c);
}
END_TEST

START_TEST(test_ca_path_frozen)
{
	struct mtls *c = freeze();

	ck_assert_frozen(mtls_config_set_ca_path(cfg, pki("ca-dir")));
	mtls_free(c);
}
END_TEST

START_TEST(test_ca_mem_frozen)
{
	struct mtls *c = freeze();
	size_t len;
	char *pem = slurp(pki("other-ca.crt"), &len);

	ck_assert_frozen(mtls_config_set_ca_mem(cfg, pem, len));
	free(pem);
	mtls_free(c);
}
END_TEST

START_TEST(test_system_ca_frozen)
{
	struct mtls *c = freeze();

	ck_assert_frozen(mtls_config_use_system_ca(cfg));
	mtls_free(c);
}
END_TEST

START_TEST(test_frozen_after_client_freed)
{
	struct mtls *c = freeze();

	mtls_free(c);
	ck_assert_frozen(mtls_config_set_ca_file(cfg, pki("other-ca.crt")));
}
END_TEST

START_TEST(test_frozen_reported_before_file_errors)
{
	struct mtls *c = freeze();

	/* Frozen is the reason, whatever else is wrong with the call. */
	ck_assert_frozen(mtls_config_set_ca_file(cfg, pki("no-such-ca.crt")));
	mtls_free(c);
}
END_TEST

Suite *
trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *file = tcase_create("ca-file");
	TCase *dir = tcase_create("ca-path");
	TCase *mem = tcase_create("ca-mem");
	TCase *sys = tcase_create("system");
	TCase *frozen = tcase_create("frozen");
	TCase *all[] = { file, dir, mem, sys, frozen };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 30);
	}

	tcase_add_test(file, test_ca_file_ok);
	tcase_add_test(file, test_ca_file_used_in_handshake);
	tcase_add_test(file, test_ca_bundle_ok);
	tcase_add_test(file, test_ca_bundle_used_in_handshake);
	tcase_add_test(file, test_wrong_ca_fails_handshake);
	tcase_add_test(file, test_ca_files_add_up);
	tcase_add_test(file, test_ca_file_twice_ok);
	tcase_add_test(file, test_ca_file_missing);
	tcase_add_test(file, test_ca_file_not_pem);
	tcase_add_test(file, test_ca_file_empty);
	tcase_add_test(file, test_ca_file_is_key);
	tcase_add_test(file, test_ca_file_is_p12);
	tcase_add_test(file, test_ca_file_is_directory);
	tcase_add_test(file, test_ca_file_null);
	tcase_add_test(file, test_ca_file_empty_name);
	tcase_add_test(file, test_failed_ca_file_keeps_earlier_anchors);
	suite_add_tcase(s, file);

	tcase_add_test(dir, test_ca_path_ok);
	tcase_add_test(dir, test_ca_path_used_in_handshake);
	tcase_add_test(dir, test_ca_path_trailing_slash_ok);
	tcase_add_test(dir, test_ca_path_missing);
	tcase_add_test(dir, test_ca_path_is_file);
	tcase_add_test(dir, test_ca_path_null);
	tcase_add_test(dir, test_ca_path_empty_name);
	suite_add_tcase(s, dir);

	tcase_add_test(mem, test_ca_mem_ok);
	tcase_add_test(mem, test_ca_mem_used_in_handshake);
	tcase_add_test(mem, test_ca_mem_null);
	tcase_add_test(mem, test_ca_mem_empty);
	tcase_add_test(mem, test_ca_mem_garbage);
	tcase_add_test(mem, test_ca_mem_key_only);
	suite_add_tcase(s, mem);

	tcase_add_test(sys, test_system_ca_ok);
	tcase_add_test(sys, test_system_ca_and_ca_file_ok);
	tcase_add_test(sys, test_system_ca_does_not_trust_test_ca);
	tcase_add_test(sys, test_no_trust_refused);
	tcase_add_test(sys, test_failed_load_error_cleared_by_good_one);
	suite_add_tcase(s, sys);

	tcase_add_test(frozen, test_ca_file_frozen);
	tcase_add_test(frozen, test_ca_path_frozen);
	tcase_add_test(frozen, test_ca_mem_frozen);
	tcase_add_test(frozen, test_system_ca_frozen);
	tcase_add_test(frozen, test_frozen_after_client_freed);
	tcase_add_test(frozen, test_frozen_reported_before_file_errors);
	suite_add_tcase(s, frozen);
	return s;
}
