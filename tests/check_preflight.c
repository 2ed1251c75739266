/*
 * check_preflight.c - identity preflight: our own certificate checked when
 * it is loaded and when a client or server is made from it (its role, its
 * dates, the order of its chain), warnings for what is about to go wrong,
 * and the insecure opt-out that turns the errors into warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(test_preflight_server_needs_server_auth)
{
	struct mtls_config *cfg = cfg_new("server-clientauth-only.crt",
	    "server-clientauth-only.key", "ca.crt");
	struct mtls *c;

	ck_assert_ptr_null(mtls_server_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_BAD_IDENTITY);
	ck_assert_msg_has(mtls_config_error(cfg), "serverAuth");
	ck_assert_msg_has(mtls_config_error(cfg), "CN=localhost");
	/* It is a fine client certificate. */
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "client_new: %s", mtls_config_error(cfg));
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_preflight_client_needs_client_auth)
{
	struct mtls_config *cfg = cfg_new("serveronly.crt", "serveronly.key",
	    "ca.crt");

	ck_assert_ptr_null(mtls_client_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_BAD_IDENTITY);
	ck_assert_msg_has(mtls_config_error(cfg), "clientAuth");
	ck_assert_msg_has(mtls_config_error(cfg), "CN=serveronly");
	mtls_config_free(cfg);
}
END_TEST

/* Writes the named PKI files, in order, into one file in a new temporary
 * directory (dir, of size len); returns its path (static). */
static const char *
concat(const char *const *names, char *dir, size_t len)
{
	static char path[2048];
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	size_t i;

	snprintf(dir, len, "%s/check_preflight.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/chain.crt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; names[i] != NULL; i++) {
		char *text = slurp(pki(names[i]), NULL);

		fputs(text, f);
		free(text);
	}
	fclose(f);
	return path;
}

/*
 * An identity as a client or server trusting ca.crt: certificate files
 * (one is used as it is, more are concatenated in order, as `cat` would)
 * with a key.  needle NULL: it loads, with no warning.  Else the load, or
 * making the client or server, fails with MTLS_ERR_BAD_IDENTITY and a
 * message holding needle.
 */
static const struct identity_row {
	const char *name;
	const char *certs[5];
	const char *key;
	bool server;
	const char *needle;
} identity_rows[] = {
	{ "expired client certificate", { "client-expired.crt" },
	  "client-expired.key", false, "expired" },
	{ "expired server certificate", { "server-expired.crt" },
	  "server-expired.key", true, "expired" },
	{ "client certificate not valid yet", { "client-notyet.crt" },
	  "client-notyet.key", false, "not valid yet" },
	/* cat int.crt client-int.crt: the intermediate before the leaf, the
	 * key that of the leaf. */
	{ "chain out of order", { "int.crt", "client-int.crt" },
	  "client-int.key", false, "order" },
	{ "intermediates out of order", { "client-deeper.crt", "int2.crt",
	  "int3.crt", "int-chain.crt" }, "client-deeper.key", false,
	  "out of order" },
	{ "not a CA in the chain", { "client.crt", "server.crt" },
	  "client.key", false, "not a CA" },
	{ "chain in order", { "client-deeper.crt", "int3.crt", "int2.crt",
	  "int-chain.crt" }, "client-deeper.key", false, NULL },
};

START_TEST(test_preflight_identity)
{
	const struct identity_row *r = &identity_rows[_i];
	struct mtls_config *cfg = mtls_config_new();
	char dir[1024];
	const char *cert = r->certs[1] == NULL ? pki(r->certs[0]) :
	    concat(r->certs, dir, sizeof(dir));
	int rc;

	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	rc = mtls_config_set_cert_file(cfg, cert, pki(r->key), NULL);
	if (r->needle == NULL) {
		ck_assert_cfg_ok(cfg, rc);
		ck_assert_ptr_null(mtls_config_warning(cfg, 0));
	} else {
		if (rc == 0) {
			struct mtls *c = r->server ? mtls_server_new(cfg) :
			    mtls_client_new(cfg);

			ck_assert_msg(c == NULL, "%s: accepted as a %s identity",
			    r->name, r->server ? "server" : "client");
		}
		ck_assert_msg(mtls_config_error_code(cfg) == MTLS_ERR_BAD_IDENTITY,
		    "%s: expected MTLS_ERR_BAD_IDENTITY, got %s: %s", r->name,
		    mtls_error_name(mtls_config_error_code(cfg)),
		    mtls_config_error(cfg) ? mtls_config_error(cfg) : "(null)");
		ck_assert_msg_has(mtls_config_error(cfg), r->needle);
	}
	mtls_config_free(cfg);
	if (r->certs[1] != NULL) {
		unlink(cert);
		rmdir(dir);
	}
}
END_TEST

START_TEST(test_preflight_expiring_soon_warns)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls *c;

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg,
	    pki("client-soon.crt"), pki("client-soon.key"), NULL));
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "expires");
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "client-soon");
	ck_assert_ptr_null(mtls_config_warning(cfg, 5));
	/* A warning, not an error: the identity works. */
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_preflight_insecure_opt_out_warns)
{
	struct mtls_config *cfg = mtls_config_new();
	const char *name = "mtls_config_insecure_allow_bad_identity";
	struct mtls *c;

	ck_assert_ptr_nonnull(strstr(name, "insecure"));
	ck_assert_cfg_ok(cfg, mtls_config_insecure_allow_bad_identity(cfg));
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg,
	    pki("client-expired.crt"), pki("client-expired.key"), NULL));
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	/* The error became a warning. */
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "expired");
	mtls_free(c);
	/* Frozen like the other setters. */
	ck_assert_cfg_failed(cfg, mtls_config_insecure_allow_bad_identity(cfg),
	    MTLS_ERR_CONFIG_FROZEN);
	mtls_config_free(cfg);

	/* Role problems become warnings too. */
	cfg = mtls_config_new();
	ck_assert_int_eq(mtls_config_insecure_allow_bad_identity(cfg), 0);
	ck_assert_int_eq(mtls_config_set_cert_file(cfg, pki("serveronly.crt"),
	    pki("serveronly.key"), NULL), 0);
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", mtls_config_error(cfg));
	ck_assert_msg_has(mtls_config_warning(cfg, 0), "clientAuth");
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_preflight_no_warning)
{
	struct mtls_config *cfg = cfg_new("client.crt", "client.key", "ca.crt");

	ck_assert_ptr_null(mtls_config_warning(cfg, 0));
	ck_assert_ptr_null(mtls_config_warning(NULL, 0));
	mtls_config_free(cfg);
}
END_TEST

Suite *
preflight_suite(void)
{
	Suite *s = suite_create("preflight");
	TCase *tc = check_tcase(s, "preflight", 30);

	tcase_add_test(tc, test_preflight_server_needs_server_auth);
	tcase_add_test(tc, test_preflight_client_needs_client_auth);
	tcase_add_loop_test(tc, test_preflight_identity, 0,
	    NROWS(identity_rows));
	tcase_add_test(tc, test_preflight_expiring_soon_warns);
	tcase_add_test(tc, test_preflight_insecure_opt_out_warns);
	tcase_add_test(tc, test_preflight_no_warning);
	return s;
}
