/*
 * check_identity.c - loading our own certificate and key: separate PEM
 * files, chains, combined PEM, encrypted keys, PKCS#12 (modern, legacy,
 * without password), from files and from memory, and every way that fails.
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

static int
cert_file(const char *cert, const char *key, const char *pass)
{
	return mtls_config_set_cert_file(cfg, pki(cert), key ? pki(key) : NULL,
	    pass);
}

/* The identity in cfg can serve: a server can be made from it. */
static void
assert_can_serve(void)
{
	struct mtls *s;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	s = mtls_server_new(cfg);
	ck_assert_msg(s != NULL, "server_new: %s", MSG);
	mtls_free(s);
}

/*
 * A real handshake with cfg as the client (cfg gets ca.crt as trust) against
 * a server requiring client certificates; returns the CN the server saw in
 * *cn.
 */
static void
client_handshake(char *cn, size_t cnlen)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key",
	    "ca.crt");
	struct test_server s;
	struct mtls *c;
	int rc;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	server_start(&s, scfg, SERVE_HANDSHAKE, 1);
	c = client_connect(cfg, "localhost", s.port, &rc);
	ck_assert_msg(rc == 0, "client: %s", mtls_error(c));
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
	ck_assert_msg(s.hs_rc == 0, "server: %s", s.err_msg);
	ck_assert(s.peer_verified);
	snprintf(cn, cnlen, "%s", s.peer_cn);
	mtls_config_free(scfg);
}

/* A real handshake with cfg as the server; a client trusting only ca.crt
 * connects to "localhost". */
static void
server_handshake(void)
{
	struct mtls_config *ccfg = make_config("client.crt", "client.key",
	    "ca.crt");
	struct test_server s;
	struct mtls *c;
	int rc;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	server_start(&s, cfg, SERVE_HANDSHAKE, 1);
	c = client_connect(ccfg, "localhost", s.port, &rc);
	ck_assert_msg(rc == 0, "client: %s", mtls_error(c));
	ck_assert_int_eq(mtls_peer_cert_verified(c), 1);
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
	ck_assert_msg(s.hs_rc == 0, "server: %s", s.err_msg);
	mtls_config_free(ccfg);
}

/* ------------------------------------------------------------ PEM files */

START_TEST(test_cert_and_key_files_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("server.crt", "server.key", NULL));
	assert_can_serve();
}
END_TEST

START_TEST(test_client_cert_and_key_files_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("client.crt", "client.key", NULL));
}
END_TEST

START_TEST(test_rsa_cert_and_key_files_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("server-cn.crt", "server-cn.key", NULL));
}
END_TEST

START_TEST(test_passphrase_ignored_for_plain_key)
{
	ck_assert_cfg_ok(cfg, cert_file("client.crt", "client.key", "secret"));
}
END_TEST

START_TEST(test_chain_file_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("server-chain.crt", "server-int.key", NULL));
	assert_can_serve();
}
END_TEST

START_TEST(test_chain_file_intermediate_is_sent)
{
	/* The client trusts only the root: the handshake needs int.crt. */
	ck_assert_cfg_ok(cfg, cert_file("server-chain.crt", "server-int.key", NULL));
	server_handshake();
}
END_TEST

START_TEST(test_client_chain_file_used)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, cert_file("client-chain.crt", "client-int.key", NULL));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client-int");
}
END_TEST

START_TEST(test_combined_pem_ok)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, cert_file("client-combined.pem", NULL, NULL));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_encrypted_pkcs8_key_ok)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, cert_file("client.crt", "client-enc.key", "secret"));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_encrypted_trad_key_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("client.crt", "client-enc-trad.key",
	    "secret"));
}
END_TEST

START_TEST(test_encrypted_pkcs8_key_no_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc.key", NULL),
	    MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "no passphrase");
	ck_assert_msg_has(MSG, "is encrypted");
	ck_assert_msg_has(MSG, pki("client-enc.key"));
}
END_TEST

START_TEST(test_encrypted_trad_key_no_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc-trad.key",
	    NULL), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "no passphrase");
	ck_assert_msg_has(MSG, pki("client-enc-trad.key"));
}
END_TEST

START_TEST(test_encrypted_pkcs8_key_wrong_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc.key",
	    "wrong"), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "wrong passphrase");
	ck_assert_msg_has(MSG, pki("client-enc.key"));
}
END_TEST

START_TEST(test_encrypted_trad_key_wrong_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc-trad.key",
	    "wrong"), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "wrong passphrase");
	ck_assert_msg_has(MSG, pki("client-enc-trad.key"));
}
END_TEST

START_TEST(test_encrypted_key_empty_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc.key", ""),
	    MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "passphrase");
	ck_assert_msg_has(MSG, pki("client-enc.key"));
}
END_TEST

START_TEST(test_encrypted_key_passphrase_prefix_wrong)
{
	/* A passphrase that starts right is still wrong. */
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc.key",
	    "secre"), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "wrong passphrase");
}
END_TEST

START_TEST(test_enc_combined_with_passphrase_ok)
{
	ck_assert_cfg_ok(cfg, cert_file("client-enc-combined.pem", NULL, "secret"));
}
END_TEST

START_TEST(test_enc_combined_no_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client-enc-combined.pem", NULL, NULL),
	    MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "no passphrase");
	ck_assert_msg_has(MSG, pki("client-enc-combined.pem"));
}
END_TEST

START_TEST(test_enc_combined_wrong_passphrase)
{
	ck_assert_cfg_failed(cfg, cert_file("client-enc-combined.pem", NULL,
	    "nope"), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "wrong passphrase");
	ck_assert_msg_has(MSG, pki("client-enc-combined.pem"));
}
END_TEST

/* ------------------------------------------------------ PEM file errors */

START_TEST(test_missing_cert_file)
{
	ck_assert_cfg_failed(cfg, cert_file("no-such.crt", "client.key", NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such.crt"));
	ck_assert_msg_has(MSG, "No such file or directory");
	ck_assert_msg_has(MSG, "certificate");
}
END_TEST

START_TEST(test_missing_key_file)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "no-such.key", NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such.key"));
	ck_assert_msg_has(MSG, "No such file or directory");
	ck_assert_msg_has(MSG, "key file");
}
END_TEST

START_TEST(test_missing_combined_file)
{
	ck_assert_cfg_failed(cfg, cert_file("no-such.pem", NULL, NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such.pem"));
	ck_assert_msg_has(MSG, "No such file or directory");
}
END_TEST

START_TEST(test_cert_file_is_directory)
{
	ck_assert_cfg_failed(cfg, cert_file("ca-dir", "client.key", NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("ca-dir"));
	ck_assert_msg_has(MSG, "directory");
}
END_TEST

START_TEST(test_key_file_is_directory)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "ca-dir", NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("ca-dir"));
	ck_assert_msg_has(MSG, "directory");
}
END_TEST

START_TEST(test_cert_file_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_file(cfg, NULL,
	    pki("client.key"), NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no certificate file name given");
}
END_TEST

START_TEST(test_cert_file_empty_name)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_file(cfg, "",
	    pki("client.key"), NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no certificate file name given");
}
END_TEST

START_TEST(test_key_file_empty_name)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_file(cfg, pki("client.crt"),
	    "", NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no key file name given");
}
END_TEST

START_TEST(test_cert_not_pem)
{
	ck_assert_cfg_failed(cfg, cert_file("not-pem.txt", "client.key", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("not-pem.txt"));
}
END_TEST

START_TEST(test_cert_empty_file)
{
	ck_assert_cfg_failed(cfg, cert_file("empty.pem", "client.key", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("empty.pem"));
}
END_TEST

START_TEST(test_cert_is_key_file)
{
	ck_assert_cfg_failed(cfg, cert_file("client.key", "client.key", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, pki("client.key"));
}
END_TEST

START_TEST(test_cert_is_p12)
{
	ck_assert_cfg_failed(cfg, cert_file("client.p12", "client.key", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "PKCS#12");
	ck_assert_msg_has(MSG, "is not PEM");
	ck_assert_msg_has(MSG, pki("client.p12"));
}
END_TEST

START_TEST(test_key_not_pem)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "not-pem.txt", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM private key");
	ck_assert_msg_has(MSG, pki("not-pem.txt"));
}
END_TEST

START_TEST(test_key_empty_file)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "empty.pem", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM private key");
	ck_assert_msg_has(MSG, pki("empty.pem"));
}
END_TEST

START_TEST(test_key_is_cert_file)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client.crt", NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM private key");
	ck_assert_msg_has(MSG, pki("client.crt"));
}
END_TEST

START_TEST(test_combined_without_key)
{
	ck_assert_cfg_failed(cfg, cert_file("client.crt", NULL, NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no private key");
	ck_assert_msg_has(MSG, pki("client.crt"));
}
END_TEST

START_TEST(test_key_mismatch)
{
	char want[2400];

	ck_assert_cfg_failed(cfg, cert_file("server.crt", "client.key", NULL),
	    MTLS_ERR_KEY_MISMATCH);
	snprintf(want, sizeof(want), "key '%s' does not match certificate '%s'",
	    pki("client.key"), pki("server.crt"));
	ck_assert_ptr_nonnull(MSG);
	ck_assert_str_eq(MSG, want);
}
END_TEST

START_TEST(test_key_mismatch_chain_key)
{
	/* The chain's leaf is server-int, not server: server.key is wrong. */
	ck_assert_cfg_failed(cfg, cert_file("server-chain.crt", "server.key", NULL),
	    MTLS_ERR_KEY_MISMATCH);
	ck_assert_msg_has(MSG, pki("server.key"));
	ck_assert_msg_has(MSG, pki("server-chain.crt"));
	ck_assert_msg_has(MSG, "does not match");
}
END_TEST

START_TEST(test_key_mismatch_rsa_vs_ec)
{
	ck_assert_cfg_failed(cfg, cert_file("server-cn.crt", "server.key", NULL),
	    MTLS_ERR_KEY_MISMATCH);
	ck_assert_msg_has(MSG, "does not match");
}
END_TEST

START_TEST(test_missing_cert_reported_before_key)
{
	/* Both missing: the message names the certificate, read first. */
	ck_assert_cfg_failed(cfg, cert_file("no-such.crt", "no-such.key", NULL),
	    MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such.crt"));
}
END_TEST

/* --------------------------------------------------------------- PKCS#12 */

START_TEST(test_p12_ok)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, mtls_config_set_p12_file(cfg, pki("client.p12"),
	    "p12pass"));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_p12_nopass_null_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-nopass.p12"), NULL));
}
END_TEST

START_TEST(test_p12_nopass_empty_ok)
{
	ck_assert_cfg_ok(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-nopass.p12"), ""));
}
END_TEST

START_TEST(test_p12_nopass_given_password)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-nopass.p12"), "p12pass"), MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "wrong password for PKCS#12 file");
	ck_assert_msg_has(MSG, pki("client-nopass.p12"));
}
END_TEST

START_TEST(test_p12_legacy_ok)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-legacy.p12"), "p12pass"));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_p12_legacy_wrong_password)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-legacy.p12"), "wrong"), MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "wrong password for PKCS#12 file");
	ck_assert_msg_has(MSG, pki("client-legacy.p12"));
}
END_TEST

START_TEST(test_p12_wrong_password)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("client.p12"),
	    "wrong"), MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "wrong password for PKCS#12 file");
	ck_assert_msg_has(MSG, pki("client.p12"));
}
END_TEST

START_TEST(test_p12_no_password)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("client.p12"),
	    NULL), MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "none was given");
	ck_assert_msg_has(MSG, "protected by a password");
	ck_assert_msg_has(MSG, pki("client.p12"));
}
END_TEST

START_TEST(test_p12_empty_password)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("client.p12"),
	    ""), MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "none was given");
	ck_assert_msg_has(MSG, pki("client.p12"));
}
END_TEST

START_TEST(test_p12_given_pem)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg,
	    pki("client-combined.pem"), "p12pass"), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "not a PKCS#12 file");
	ck_assert_msg_has(MSG, "it is PEM");
	ck_assert_msg_has(MSG, pki("client-combined.pem"));
}
END_TEST

START_TEST(test_p12_given_text)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("not-pem.txt"),
	    "p12pass"), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "not a PKCS#12 file");
	ck_assert_msg_has(MSG, pki("not-pem.txt"));
	ck_assert_msg(strstr(MSG, "it is PEM") == NULL, "%s", MSG);
}
END_TEST

START_TEST(test_p12_empty_file)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("empty.pem"),
	    NULL), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "not a PKCS#12 file");
	ck_assert_msg_has(MSG, pki("empty.pem"));
}
END_TEST

START_TEST(test_p12_missing_file)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("no-such.p12"),
	    "p12pass"), MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("no-such.p12"));
	ck_assert_msg_has(MSG, "No such file or directory");
	ck_assert_msg_has(MSG, "PKCS#12");
}
END_TEST

START_TEST(test_p12_file_is_directory)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, pki("ca-dir"),
	    "p12pass"), MTLS_ERR_FILE);
	ck_assert_msg_has(MSG, pki("ca-dir"));
	ck_assert_msg_has(MSG, "directory");
}
END_TEST

START_TEST(test_p12_file_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_file(cfg, NULL, "p12pass"),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no PKCS#12 file name given");
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(test_cert_mem_separate_ok)
{
	size_t clen, klen;
	char *cert = slurp(pki("client.crt"), &clen);
	char *key = slurp(pki("client.key"), &klen);
	char cn[256];

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key, klen,
	    NULL));
	free(cert);
	free(key);              /* the library kept copies */
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_cert_mem_combined_ok)
{
	size_t len;
	char *pem = slurp(pki("client-combined.pem"), &len);

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, pem, len, NULL, 0,
	    NULL));
	free(pem);
}
END_TEST

START_TEST(test_cert_mem_not_nul_terminated_ok)
{
	/* Exact-size buffers without a trailing NUL (valgrind checks reads). */
	size_t clen, klen;
	char *cert = slurp(pki("server.crt"), &clen);
	char *key = slurp(pki("server.key"), &klen);
	char *c2 = malloc(clen), *k2 = malloc(klen);

	memcpy(c2, cert, clen);
	memcpy(k2, key, klen);
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, c2, clen, k2, klen,
	    NULL));
	free(cert);
	free(key);
	free(c2);
	free(k2);
	assert_can_serve();
}
END_TEST

START_TEST(test_cert_mem_chain_ok)
{
	size_t clen, klen;
	char *cert = slurp(pki("server-chain.crt"), &clen);
	char *key = slurp(pki("server-int.key"), &klen);

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key, klen,
	    NULL));
	free(cert);
	free(key);
	server_handshake();
}
END_TEST

START_TEST(test_cert_mem_encrypted_key_ok)
{
	size_t clen, klen;
	char *cert = slurp(pki("client.crt"), &clen);
	char *key = slurp(pki("client-enc.key"), &klen);

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key, klen,
	    "secret"));
	free(cert);
	free(key);
}
END_TEST

START_TEST(test_cert_mem_enc_combined_ok)
{
	size_t len;
	char *pem = slurp(pki("client-enc-combined.pem"), &len);

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_mem(cfg, pem, len, NULL, 0,
	    "secret"));
	free(pem);
}
END_TEST

START_TEST(test_cert_mem_encrypted_key_no_passphrase)
{
	size_t clen, klen;
	char *cert = slurp(pki("client.crt"), &clen);
	char *key = slurp(pki("client-enc.key"), &klen);

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key,
	    klen, NULL), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "no passphrase");
	ck_assert_msg_has(MSG, "key in memory");
	free(cert);
	free(key);
}
END_TEST

START_TEST(test_cert_mem_encrypted_key_wrong_passphrase)
{
	size_t clen, klen;
	char *cert = slurp(pki("client.crt"), &clen);
	char *key = slurp(pki("client-enc-trad.key"), &klen);

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key,
	    klen, "wrong"), MTLS_ERR_PASSPHRASE);
	ck_assert_msg_has(MSG, "wrong passphrase");
	ck_assert_msg_has(MSG, "key in memory");
	free(cert);
	free(key);
}
END_TEST

START_TEST(test_cert_mem_combined_without_key)
{
	size_t len;
	char *pem = slurp(pki("client.crt"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, pem, len, NULL, 0,
	    NULL), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no private key");
	ck_assert_msg_has(MSG, "certificate in memory");
	free(pem);
}
END_TEST

START_TEST(test_cert_mem_key_mismatch)
{
	size_t clen, klen;
	char *cert = slurp(pki("server.crt"), &clen);
	char *key = slurp(pki("client.key"), &klen);

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, cert, clen, key,
	    klen, NULL), MTLS_ERR_KEY_MISMATCH);
	ck_assert_str_eq(MSG, "key 'key in memory' does not match certificate "
	    "'certificate in memory'");
	free(cert);
	free(key);
}
END_TEST

START_TEST(test_cert_mem_combined_key_mismatch)
{
	size_t clen, klen;
	char *cert = slurp(pki("server.crt"), &clen);
	char *key = slurp(pki("client.key"), &klen);
	char *both = malloc(clen + klen);

	memcpy(both, cert, clen);
	memcpy(both + clen, key, klen);
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, both, clen + klen,
	    NULL, 0, NULL), MTLS_ERR_KEY_MISMATCH);
	ck_assert_msg_has(MSG, "the key in 'certificate in memory' does not match "
	    "the certificate in it");
	free(cert);
	free(key);
	free(both);
}
END_TEST

START_TEST(test_cert_mem_garbage)
{
	static const char junk[] = "hello, this is not a certificate\n";

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, junk,
	    sizeof(junk) - 1, NULL, 0, NULL), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "contains no PEM certificate");
	ck_assert_msg_has(MSG, "certificate in memory");
}
END_TEST

START_TEST(test_cert_mem_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, NULL, 100, NULL, 0,
	    NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no certificate given");
}
END_TEST

START_TEST(test_cert_mem_empty)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, "", 0, NULL, 0,
	    NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no certificate given");
	ck_assert_msg_has(MSG, "empty buffer");
}
END_TEST

START_TEST(test_cert_mem_empty_key)
{
	size_t len;
	char *cert = slurp(pki("client.crt"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_cert_mem(cfg, cert, len, "", 0,
	    NULL), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "key buffer is empty");
	free(cert);
}
END_TEST

START_TEST(test_p12_mem_ok)
{
	size_t len;
	char *p12 = slurp(pki("client.p12"), &len);
	char cn[256];

	ck_assert_cfg_ok(cfg, mtls_config_set_p12_mem(cfg, p12, len, "p12pass"));
	free(p12);
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client");
}
END_TEST

START_TEST(test_p12_mem_legacy_ok)
{
	size_t len;
	char *p12 = slurp(pki("client-legacy.p12"), &len);

	ck_assert_cfg_ok(cfg, mtls_config_set_p12_mem(cfg, p12, len, "p12pass"));
	free(p12);
}
END_TEST

START_TEST(test_p12_mem_wrong_password)
{
	size_t len;
	char *p12 = slurp(pki("client.p12"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_p12_mem(cfg, p12, len, "bad"),
	    MTLS_ERR_P12_PASSWORD);
	ck_assert_msg_has(MSG, "wrong password for PKCS#12 file");
	ck_assert_msg_has(MSG, "PKCS#12 in memory");
	free(p12);
}
END_TEST

START_TEST(test_p12_mem_given_pem)
{
	size_t len;
	char *pem = slurp(pki("client-combined.pem"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_p12_mem(cfg, pem, len, NULL),
	    MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "it is PEM");
	ck_assert_msg_has(MSG, "PKCS#12 in memory");
	free(pem);
}
END_TEST

START_TEST(test_p12_mem_truncated)
{
	size_t len;
	char *p12 = slurp(pki("client.p12"), &len);

	ck_assert_cfg_failed(cfg, mtls_config_set_p12_mem(cfg, p12, len / 2,
	    "p12pass"), MTLS_ERR_FORMAT);
	ck_assert_msg_has(MSG, "not a PKCS#12 file");
	free(p12);
}
END_TEST

START_TEST(test_p12_mem_null)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_mem(cfg, NULL, 10, "x"),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no PKCS#12 data given");
}
END_TEST

START_TEST(test_p12_mem_empty)
{
	ck_assert_cfg_failed(cfg, mtls_config_set_p12_mem(cfg, "", 0, "x"),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "no PKCS#12 data given");
	ck_assert_msg_has(MSG, "empty buffer");
}
END_TEST

/* ------------------------------------------ failures keep the old identity */

START_TEST(test_failed_load_keeps_identity)
{
	ck_assert_cfg_ok(cfg, cert_file("server.crt", "server.key", NULL));
	ck_assert_int_eq(cert_file("no-such.crt", "server.key", NULL), -1);
	assert_can_serve();
}
END_TEST

START_TEST(test_failed_p12_keeps_identity)
{
	ck_assert_cfg_ok(cfg, cert_file("server.crt", "server.key", NULL));
	ck_assert_int_eq(mtls_config_set_p12_file(cfg, pki("client.p12"), "bad"),
	    -1);
	assert_can_serve();
}
END_TEST

START_TEST(test_failed_mismatch_keeps_identity_in_handshake)
{
	/* client.crt would fail the client's "localhost" check if installed. */
	ck_assert_cfg_ok(cfg, cert_file("server.crt", "server.key", NULL));
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "server.key", NULL),
	    MTLS_ERR_KEY_MISMATCH);
	ck_assert_cfg_failed(cfg, cert_file("client.crt", "client-enc.key", "x"),
	    MTLS_ERR_PASSPHRASE);
	server_handshake();
}
END_TEST

START_TEST(test_failed_client_load_keeps_client_identity)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, cert_file("client-chain.crt", "client-int.key", NULL));
	ck_assert_int_eq(cert_file("client.crt", "server.key", NULL), -1);
	ck_assert_int_eq(mtls_config_set_p12_file(cfg, pki("client.p12"), NULL), -1);
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client-int");
}
END_TEST

START_TEST(test_only_failed_load_gives_no_identity)
{
	ck_assert_int_eq(cert_file("server.crt", "client.key", NULL), -1);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_ptr_null(mtls_server_new(cfg));
	ck_assert_int_eq(mtls_config_error_code(cfg), MTLS_ERR_INVALID);
	ck_assert_msg_has(MSG, "a server needs a certificate");
}
END_TEST

START_TEST(test_only_failed_p12_gives_no_identity)
{
	ck_assert_int_eq(mtls_config_set_p12_file(cfg, pki("client.p12"), "x"), -1);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_ptr_null(mtls_server_new(cfg));
	ck_assert_msg_has(MSG, "a server needs a certificate");
}
END_TEST

START_TEST(test_second_load_replaces_identity)
{
	char cn[256];

	ck_assert_cfg_ok(cfg, cert_file("client.crt", "client.key", NULL));
	ck_assert_cfg_ok(cfg, cert_file("client-chain.crt", "client-int.key", NULL));
	client_handshake(cn, sizeof(cn));
	ck_assert_str_eq(cn, "client-int");
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

START_TEST(test_cert_file_frozen)
{
	struct mtls *c = freeze();

	ck_assert_frozen(cert_file("client.crt", "client.key", NULL));
	mtls_free(c);
}
END_TEST

START_TEST(test_cert_mem_frozen)
{
	struct mtls *c = freeze();
	size_t len;
	char *pem = slurp(pki("client-combined.pem"), &len);

	ck_assert_frozen(mtls_config_set_cert_mem(cfg, pem, len, NULL, 0, NULL));
	free(pem);
	mtls_free(c);
}
END_TEST

START_TEST(test_p12_file_frozen)
{
	struct mtls *c = freeze();

	ck_assert_frozen(mtls_config_set_p12_file(cfg, pki("client.p12"),
	    "p12pass"));
	mtls_free(c);
}
END_TEST

START_TEST(test_p12_mem_frozen)
{
	struct mtls *c = freeze();
	size_t len;
	char *p12 = slurp(pki("client.p12"), &len);

	ck_assert_frozen(mtls_config_set_p12_mem(cfg, p12, len, "p12pass"));
	free(p12);
	mtls_free(c);
}
END_TEST

Suite *
identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *pem = tcase_create("pem-files");
	TCase *pem_err = tcase_create("pem-file-errors");
	TCase *p12 = tcase_create("pkcs12");
	TCase *mem = tcase_create("memory");
	TCase *keep = tcase_create("keep-identity");
	TCase *frozen = tcase_create("frozen");
	TCase *all[] = { pem, pem_err, p12, mem, keep, frozen };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 30);
	}

	tcase_add_test(pem, test_cert_and_key_files_ok);
	tcase_add_test(pem, test_client_cert_and_key_files_ok);
	tcase_add_test(pem, test_rsa_cert_and_key_files_ok);
	tcase_add_test(pem, test_passphrase_ignored_for_plain_key);
	tcase_add_test(pem, test_chain_file_ok);
	tcase_add_test(pem, test_chain_file_intermediate_is_sent);
	tcase_add_test(pem, test_client_chain_file_used);
	tcase_add_test(pem, test_combined_pem_ok);
	tcase_add_test(pem, test_encrypted_pkcs8_key_ok);
	tcase_add_test(pem, test_encrypted_trad_key_ok);
	tcase_add_test(pem, test_encrypted_pkcs8_key_no_passphrase);
	tcase_add_test(pem, test_encrypted_trad_key_no_passphrase);
	tcase_add_test(pem, test_encrypted_pkcs8_key_wrong_passphrase);
	tcase_add_test(pem, test_encrypted_trad_key_wrong_passphrase);
	tcase_add_test(pem, test_encrypted_key_empty_passphrase);
	tcase_add_test(pem, test_encrypted_key_passphrase_prefix_wrong);
	tcase_add_test(pem, test_enc_combined_with_passphrase_ok);
	tcase_add_test(pem, test_enc_combined_no_passphrase);
	tcase_add_test(pem, test_enc_combined_wrong_passphrase);
	suite_add_tcase(s, pem);

	tcase_add_test(pem_err, test_missing_cert_file);
	tcase_add_test(pem_err, test_missing_key_file);
	tcase_add_test(pem_err, test_missing_combined_file);
	tcase_add_test(pem_err, test_cert_file_is_directory);
	tcase_add_test(pem_err, test_key_file_is_directory);
	tcase_add_test(pem_err, test_cert_file_null);
	tcase_add_test(pem_err, test_cert_file_empty_name);
	tcase_add_test(pem_err, test_key_file_empty_name);
	tcase_add_test(pem_err, test_cert_not_pem);
	tcase_add_test(pem_err, test_cert_empty_file);
	tcase_add_test(pem_err, test_cert_is_key_file);
	tcase_add_test(pem_err, test_cert_is_p12);
	tcase_add_test(pem_err, test_key_not_pem);
	tcase_add_test(pem_err, test_key_empty_file);
	tcase_add_test(pem_err, test_key_is_cert_file);
	tcase_add_test(pem_err, test_combined_without_key);
	tcase_add_test(pem_err, test_key_mismatch);
	tcase_add_test(pem_err, test_key_mismatch_chain_key);
	tcase_add_test(pem_err, test_key_mismatch_rsa_vs_ec);
	tcase_add_test(pem_err, test_missing_cert_reported_before_key);
	suite_add_tcase(s, pem_err);

	tcase_add_test(p12, test_p12_ok);
	tcase_add_test(p12, test_p12_nopass_null_ok);
	tcase_add_test(p12, test_p12_nopass_empty_ok);
	tcase_add_test(p12, test_p12_nopass_given_password);
	tcase_add_test(p12, test_p12_legacy_ok);
	tcase_add_test(p12, test_p12_legacy_wrong_password);
	tcase_add_test(p12, test_p12_wrong_password);
	tcase_add_test(p12, test_p12_no_password);
	tcase_add_test(p12, test_p12_empty_password);
	tcase_add_test(p12, test_p12_given_pem);
	tcase_add_test(p12, test_p12_given_text);
	tcase_add_test(p12, test_p12_empty_file);
	tcase_add_test(p12, test_p12_missing_file);
	tcase_add_test(p12, test_p12_file_is_directory);
	tcase_add_test(p12, test_p12_file_null);
	suite_add_tcase(s, p12);

	tcase_add_test(mem, test_cert_mem_separate_ok);
	tcase_add_test(mem, test_cert_mem_combined_ok);
	tcase_add_test(mem, test_cert_mem_not_nul_terminated_ok);
	tcase_add_test(mem, test_cert_mem_chain_ok);
	tcase_add_test(mem, test_cert_mem_encrypted_key_ok);
	tcase_add_test(mem, test_cert_mem_enc_combined_ok);
	tcase_add_test(mem, test_cert_mem_encrypted_key_no_passphrase);
	tcase_add_test(mem, test_cert_mem_encrypted_key_wrong_passphrase);
	tcase_add_test(mem, test_cert_mem_combined_without_key);
	tcase_add_test(mem, test_cert_mem_key_mismatch);
	tcase_add_test(mem, test_cert_mem_combined_key_mismatch);
	tcase_add_test(mem, test_cert_mem_garbage);
	tcase_add_test(mem, test_cert_mem_null);
	tcase_add_test(mem, test_cert_mem_empty);
	tcase_add_test(mem, test_cert_mem_empty_key);
	tcase_add_test(mem, test_p12_mem_ok);
	tcase_add_test(mem, test_p12_mem_legacy_ok);
	tcase_add_test(mem, test_p12_mem_wrong_password);
	tcase_add_test(mem, test_p12_mem_given_pem);
	tcase_add_test(mem, test_p12_mem_truncated);
	tcase_add_test(mem, test_p12_mem_null);
	tcase_add_test(mem, test_p12_mem_empty);
	suite_add_tcase(s, mem);

	tcase_add_test(keep, test_failed_load_keeps_identity);
	tcase_add_test(keep, test_failed_p12_keeps_identity);
	tcase_add_test(keep, test_failed_mismatch_keeps_identity_in_handshake);
	tcase_add_test(keep, test_failed_client_load_keeps_client_identity);
	tcase_add_test(keep, test_only_failed_load_gives_no_identity);
	tcase_add_test(keep, test_only_failed_p12_gives_no_identity);
	tcase_add_test(keep, test_second_load_replaces_identity);
	suite_add_tcase(s, keep);

	tcase_add_test(frozen, test_cert_file_frozen);
	tcase_add_test(frozen, test_cert_mem_frozen);
	tcase_add_test(frozen, test_p12_file_frozen);
	tcase_add_test(frozen, test_p12_mem_frozen);
	suite_add_tcase(s, frozen);
	return s;
}
