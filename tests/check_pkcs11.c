/*
 * check_pkcs11.c - keys named by pkcs11: URIs, the failures decided
 * before a token is reached: a URI that cannot be read, a PIN file that
 * is missing or empty, a module that cannot be loaded.  Each has its code
 * and a message naming what was wrong.  The handshakes with keys in a
 * real SoftHSM2 token are tests/pkcs11_softhsm.sh's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

struct uri_case {
	const char *key;        /* the key argument */
	const char *pass;
	int code;
	const char *has[2];     /* in the message */
	const char *hasnt;      /* never in it (a PIN) */
};

static const struct uri_case uri_cases[] = {
	{ "pkcs11:object=k?pin-value=12%4", NULL, MTLS_ERR_INVALID,
	  { "a broken %-escape", "pkcs11:object=k" }, "pin-value" },
	{ "pkcs11:object=k?module-name=softhsm2", NULL, MTLS_ERR_INVALID,
	  { "query attribute 'module-name' is not supported", "module-path=" },
	  NULL },
	{ "pkcs11:object=k?pin-source=https://pins.example/1", NULL,
	  MTLS_ERR_INVALID, { "pin-source 'https://pins.example/1' is not a "
	  "file", "pkcs11:object=k" }, NULL },
	{ "pkcs11:object=k?pin-source=file:/nonexistent/pin", NULL,
	  MTLS_ERR_FILE, { "cannot read PKCS#11 PIN file '/nonexistent/pin'",
	  "No such file" }, NULL },
	{ "pkcs11:object=k?module-path=/nonexistent/p11.so&pin-value=1234",
	  NULL, MTLS_ERR_UNSUPPORTED, { "PKCS#11 module /nonexistent/p11.so: "
	  "cannot be loaded: ", "No such file" }, "1234" },
	{ "pkcs11:object=k?module-path=%2Fnonexistent%2Fp11.so", "1234",
	  MTLS_ERR_UNSUPPORTED, { "PKCS#11 module /nonexistent/p11.so:", NULL },
	  "1234" },
};

/* Each failure with its code and message; the identity is not changed. */
START_TEST(test_uri_failure)
{
	const struct uri_case *t = &uri_cases[_i];
	struct mtls_config *cfg = mtls_config_new();
	const char *msg;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(mtls_config_set_cert_file(cfg, pki("client.crt"),
	    t->key, t->pass), -1);
	msg = mtls_config_error(cfg);
	ck_assert_msg(mtls_config_error_code(cfg) == t->code, "%s: code %s, "
	    "not %s: %s", t->key, mtls_error_name(mtls_config_error_code(cfg)),
	    mtls_error_name(t->code), msg);
	for (int i = 0; i < 2; i++)
		ck_assert_msg(t->has[i] == NULL || strstr(msg, t->has[i]) != NULL,
		    "%s: '%s' does not say '%s'", t->key, msg, t->has[i]);
	ck_assert_msg(t->hasnt == NULL || strstr(msg, t->hasnt) == NULL,
	    "%s: '%s' shows '%s'", t->key, msg, t->hasnt);
	mtls_config_free(cfg);
}
END_TEST

/* A file that is not a PKCS#11 module is refused before the engine
 * would be pointed at it. */
START_TEST(test_module_not_pkcs11)
{
	struct mtls_config *cfg = mtls_config_new();
	const char *libc = "libc.so.6";     /* found by the loader, no path */
	char key[256];

	ck_assert_ptr_nonnull(cfg);
	snprintf(key, sizeof(key), "pkcs11:object=k?module-path=%s", libc);
	ck_assert_int_eq(mtls_config_set_cert_file(cfg, pki("client.crt"), key,
	    "1234"), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_UNSUPPORTED);
	ck_assert_msg(strstr(mtls_config_error(cfg), "it is not a PKCS#11 "
	    "module (no C_GetFunctionList)") != NULL, "%s",
	    mtls_config_error(cfg));
	mtls_config_free(cfg);
}
END_TEST

/* An empty PIN file says so, and the module named by the environment is
 * the one loaded when the URI names none. */
START_TEST(test_pin_file_empty_and_module_env)
{
	char dir[] = "/tmp/check_pkcs11.XXXXXX", pin[64], key[128];
	struct mtls_config *cfg = mtls_config_new();
	FILE *f;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pin, sizeof(pin), "%s/pin", dir);
	ck_assert_ptr_nonnull(f = fopen(pin, "w"));
	fputs("\n", f);
	fclose(f);
	snprintf(key, sizeof(key), "pkcs11:object=k?pin-source=file:%s", pin);
	ck_assert_int_eq(mtls_config_set_cert_file(cfg, pki("client.crt"), key,
	    NULL), -1);
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_FORMAT);
	ck_assert_msg(strstr(mtls_config_error(cfg), "is empty") != NULL, "%s",
	    mtls_config_error(cfg));
	unlink(pin);
	rmdir(dir);
	setenv("MTLS_PKCS11_MODULE", "/nonexistent/env-p11.so", 1);
	ck_assert_int_eq(mtls_config_set_cert_file(cfg, pki("client.crt"),
	    "pkcs11:object=k", "1234"), -1);
	unsetenv("MTLS_PKCS11_MODULE");
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_UNSUPPORTED);
	ck_assert_msg(strstr(mtls_config_error(cfg), "/nonexistent/env-p11.so")
	    != NULL, "%s", mtls_config_error(cfg));
	mtls_config_free(cfg);
}
END_TEST

Suite *
pkcs11_suite(void)
{
	Suite *s = suite_create("pkcs11");
	TCase *tc = check_tcase(s, "uri", 10);

	tcase_add_loop_test(tc, test_uri_failure, 0,
	    sizeof(uri_cases) / sizeof(uri_cases[0]));
	tcase_add_test(tc, test_module_not_pkcs11);
	tcase_add_test(tc, test_pin_file_empty_and_module_env);
	return s;
}
