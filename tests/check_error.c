/*
 * check_error.c - error code names, the ABI version, and the error state of
 * configs and connections before anything has failed.
 */
#include <string.h>

#include "check_util.h"

/* Every code of enum mtls_error with the name it must have. */
static const struct {
	int code;
	const char *name;
} names[] = {
	{ MTLS_OK, "MTLS_OK" },
	{ MTLS_ERR_INVALID, "MTLS_ERR_INVALID" },
	{ MTLS_ERR_NOMEM, "MTLS_ERR_NOMEM" },
	{ MTLS_ERR_FILE, "MTLS_ERR_FILE" },
	{ MTLS_ERR_FORMAT, "MTLS_ERR_FORMAT" },
	{ MTLS_ERR_PASSPHRASE, "MTLS_ERR_PASSPHRASE" },
	{ MTLS_ERR_P12_PASSWORD, "MTLS_ERR_P12_PASSWORD" },
	{ MTLS_ERR_KEY_MISMATCH, "MTLS_ERR_KEY_MISMATCH" },
	{ MTLS_ERR_UNSUPPORTED, "MTLS_ERR_UNSUPPORTED" },
	{ MTLS_ERR_CONFIG_FROZEN, "MTLS_ERR_CONFIG_FROZEN" },
	{ MTLS_ERR_RESOLVE, "MTLS_ERR_RESOLVE" },
	{ MTLS_ERR_CONNECT, "MTLS_ERR_CONNECT" },
	{ MTLS_ERR_LISTEN, "MTLS_ERR_LISTEN" },
	{ MTLS_ERR_TIMEOUT, "MTLS_ERR_TIMEOUT" },
	{ MTLS_ERR_HANDSHAKE, "MTLS_ERR_HANDSHAKE" },
	{ MTLS_ERR_PEER_UNTRUSTED, "MTLS_ERR_PEER_UNTRUSTED" },
	{ MTLS_ERR_HOSTNAME, "MTLS_ERR_HOSTNAME" },
	{ MTLS_ERR_NO_PEER_CERT, "MTLS_ERR_NO_PEER_CERT" },
	{ MTLS_ERR_CERT_REJECTED, "MTLS_ERR_CERT_REJECTED" },
	{ MTLS_ERR_PROTOCOL, "MTLS_ERR_PROTOCOL" },
	{ MTLS_ERR_TRUNCATED, "MTLS_ERR_TRUNCATED" },
	{ MTLS_ERR_CLOSED, "MTLS_ERR_CLOSED" },
	{ MTLS_ERR_IO, "MTLS_ERR_IO" },
	{ MTLS_ERR_WOKEN, "MTLS_ERR_WOKEN" },
	{ MTLS_ERR_TLS, "MTLS_ERR_TLS" },
	{ MTLS_ERR_NOT_ALLOWED, "MTLS_ERR_NOT_ALLOWED" },
	{ MTLS_ERR_BAD_IDENTITY, "MTLS_ERR_BAD_IDENTITY" },
	{ MTLS_ERR_HTTP, "MTLS_ERR_HTTP" },
	{ MTLS_ERR_INTERRUPTED, "MTLS_ERR_INTERRUPTED" },
	{ MTLS_ERR_PROXY_PROTOCOL, "MTLS_ERR_PROXY_PROTOCOL" },
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* Looped over every code: _i is the index into names[]. */
START_TEST(test_error_name_of_each_code)
{
	const char *got = mtls_error_name(names[_i].code);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, names[_i].name);
}
END_TEST

START_TEST(test_error_codes_are_stable)
{
	/* Codes are ABI: they are numbered in order and only ever appended. */
	size_t i;

	for (i = 0; i < NNAMES; i++)
		ck_assert_int_eq(names[i].code, (int)i);
	ck_assert_int_eq(MTLS_OK, 0);
	ck_assert_int_eq(MTLS_ERR_TLS, 24);
	ck_assert_int_eq(MTLS_ERR_BAD_IDENTITY, 26);
	ck_assert_int_eq(MTLS_ERR_HTTP, 27);
	ck_assert_int_eq(MTLS_ERR_INTERRUPTED, 28);
	ck_assert_int_eq(MTLS_ERR_PROXY_PROTOCOL, 29);
}
END_TEST

START_TEST(test_error_names_are_distinct)
{
	size_t i, j;

	for (i = 0; i < NNAMES; i++)
		for (j = i + 1; j < NNAMES; j++)
			ck_assert_str_ne(mtls_error_name(names[i].code),
			    mtls_error_name(names[j].code));
}
END_TEST

START_TEST(test_error_name_minus_one_unknown)
{
	ck_assert_str_eq(mtls_error_name(-1), "MTLS_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_error_name_999_unknown)
{
	ck_assert_str_eq(mtls_error_name(999), "MTLS_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_error_name_one_past_last_unknown)
{
	ck_assert_str_eq(mtls_error_name(MTLS_ERR_PROXY_PROTOCOL + 1),
	    "MTLS_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_error_name_int_min_unknown)
{
	ck_assert_str_eq(mtls_error_name(-2147483647 - 1), "MTLS_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_error_name_want_codes_unknown)
{
	/* The WANT_* results are not error codes. */
	ck_assert_str_eq(mtls_error_name(MTLS_WANT_POLLIN), "MTLS_ERR_UNKNOWN");
	ck_assert_str_eq(mtls_error_name(MTLS_WANT_POLLOUT), "MTLS_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_abi_version_matches_header)
{
	ck_assert_int_eq(mtls_abi_version(), MTLS_ABI_VERSION);
	ck_assert_int_eq(mtls_abi_version(), 1);
}
END_TEST

START_TEST(test_error_null_connection)
{
	ck_assert_ptr_null(mtls_error(NULL));
	/* No object, no state: a NULL object is a bad argument. */
	ck_assert_int_eq(mtls_error_code(NULL), MTLS_ERR_INVALID);
	ck_assert_int_eq(mtls_error_errno(NULL), 0);
}
END_TEST

START_TEST(test_config_error_null_config)
{
	ck_assert_ptr_null(mtls_config_error(NULL));
	ck_assert_int_eq(mtls_config_error_code(NULL), MTLS_ERR_INVALID);
}
END_TEST

START_TEST(test_config_error_fresh_config)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(mtls_config_error(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_OK);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_error_fresh_client)
{
	struct mtls_config *cfg = make_config(NULL, NULL, "ca.crt");
	struct mtls *c = mtls_client_new(cfg);

	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	ck_assert_ptr_null(mtls_error(c));
	ck_assert_int_eq(mtls_error_code(c), MTLS_OK);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_error_fresh_server)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls *s = mtls_server_new(cfg);

	ck_assert_msg(s != NULL, "%s", mtls_config_error(cfg));
	ck_assert_ptr_null(mtls_error(s));
	ck_assert_int_eq(mtls_error_code(s), MTLS_OK);
	mtls_free(s);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_error_set_on_connection)
{
	struct mtls_config *cfg = make_config(NULL, NULL, "ca.crt");
	struct mtls *c = mtls_client_new(cfg);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(mtls_set_verify_name(c, ""), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(c), "empty verify name");
	/* The connection's error is its own, not the config's. */
	ck_assert_ptr_null(mtls_config_error(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_OK);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_error_on_server_verify_name)
{
	struct mtls_config *cfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls *s = mtls_server_new(cfg);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(mtls_set_verify_name(s, "localhost"), -1);
	ck_assert_int_eq(mtls_error_code(s), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(s), "verify name is set on a client");
	mtls_free(s);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_config_error_set_on_failure)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, -1, 0, 0), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "timeouts");
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_config_error_is_latest_failure)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, -1, 0, 0), -1);
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("no-such.crt")), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_FILE);
	ck_assert_msg_has(mtls_config_error(cfg), "no-such.crt");
	ck_assert_msg(strstr(mtls_config_error(cfg), "timeouts") == NULL,
	    "old message left behind: %s", mtls_config_error(cfg));
	mtls_config_free(cfg);
}
END_TEST

Suite *
error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *names_tc = tcase_create("names");
	TCase *state_tc = tcase_create("state");

	tcase_add_loop_test(names_tc, test_error_name_of_each_code, 0, (int)NNAMES);
	tcase_add_test(names_tc, test_error_codes_are_stable);
	tcase_add_test(names_tc, test_error_names_are_distinct);
	tcase_add_test(names_tc, test_error_name_minus_one_unknown);
	tcase_add_test(names_tc, test_error_name_999_unknown);
	tcase_add_test(names_tc, test_error_name_one_past_last_unknown);
	tcase_add_test(names_tc, test_error_name_int_min_unknown);
	tcase_add_test(names_tc, test_error_name_want_codes_unknown);
	tcase_add_test(names_tc, test_abi_version_matches_header);
	suite_add_tcase(s, names_tc);

	tcase_add_test(state_tc, test_error_null_connection);
	tcase_add_test(state_tc, test_config_error_null_config);
	tcase_add_test(state_tc, test_config_error_fresh_config);
	tcase_add_test(state_tc, test_error_fresh_client);
	tcase_add_test(state_tc, test_error_fresh_server);
	tcase_add_test(state_tc, test_error_set_on_connection);
	tcase_add_test(state_tc, test_error_on_server_verify_name);
	tcase_add_test(state_tc, test_config_error_set_on_failure);
	tcase_add_test(state_tc, test_config_error_is_latest_failure);
	suite_add_tcase(s, state_tc);
	return s;
}
