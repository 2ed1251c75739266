/*
 * check_describe.c - mtls_conn_describe, the `curl -v`-like account of a
 * connection: the protocol, each side's certificate chain, the verify
 * result and the CA names a server asked for, after a handshake that
 * worked and after one that failed; never NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

/* The client test PKI's subject and URI SAN. */
#define CLIENT_DN "CN=client,OU=testers,O=libmtls test"
#define CLIENT_URI "spiffe://example.org/ns/test/sa/client"

START_TEST(test_describe_success)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_msg_has(cli.describe, "TLSv1.3");
	ck_assert_msg_has(cli.describe, "CN=localhost");
	ck_assert_msg_has(cli.describe, "issuer");
	ck_assert_msg_has(cli.describe, "CN=libmtls Test Root CA");
	ck_assert_msg_has(cli.describe, "DNS:localhost");
	ck_assert_msg_has(cli.describe, "verify");
	/* The server's view of the client. */
	ck_assert_msg_has(srv.describe, "TLSv1.3");
	ck_assert_msg_has(srv.describe, CLIENT_DN);
	ck_assert_msg_has(srv.describe, "URI:" CLIENT_URI);
	ck_assert_msg_has(srv.describe, "verify");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_describe_chain)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	client_as(scfg, "client-chain.crt", "client-int.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	/* Each certificate of the peer's chain. */
	ck_assert_msg_has(srv.describe, "CN=client-int");
	ck_assert_msg_has(srv.describe, "CN=libmtls Test Intermediate CA");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_describe_failure)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key",
	    "other-ca.crt");
	struct seen srv, cli;

	one(scfg, ccfg, &srv, &cli);
	ck_assert_code(&cli, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(cli.describe, "unable to get local issuer certificate");
	ck_assert_msg_has(cli.describe, "CN=localhost");
	ck_assert_msg_has(cli.describe, "CN=libmtls Test Root CA");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_describe_acceptable_cas)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new(NULL, NULL, "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_ca_names_file(scfg,
	    pki("names-only-ca.crt")), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_code(&cli, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(cli.describe, "CN=libmtls Other CA");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_describe_never_null)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls *c = mtls_client_new(ccfg), *s = mtls_server_new(scfg);
	int rc;

	/* Before any handshake, on a listener, after a failed connect. */
	ck_assert_ptr_nonnull(mtls_conn_describe(c));
	ck_assert_ptr_nonnull(mtls_conn_describe(s));
	mtls_free(c);
	mtls_free(s);
	c = client_connect(ccfg, "127.0.0.1", 1, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(mtls_conn_describe(c));
	mtls_free(c);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

Suite *
describe_suite(void)
{
	Suite *s = suite_create("describe");
	TCase *tc = check_tcase(s, "describe", 30);

	tcase_add_test(tc, test_describe_success);
	tcase_add_test(tc, test_describe_chain);
	tcase_add_test(tc, test_describe_failure);
	tcase_add_test(tc, test_describe_acceptable_cas);
	tcase_add_test(tc, test_describe_never_null);
	return s;
}
