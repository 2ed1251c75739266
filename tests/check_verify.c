/*
 * check_verify.c - who may connect: chain and name verification on both
 * sides, over real handshakes on loopback, with the messages each side gets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"

/* Runs one handshake between a server identity and a client identity. */
struct outcome {
	int client_code;
	char client_msg[1024];
	struct test_server srv;
};

static void
run(struct outcome *o, const char *srv_cert, const char *srv_key,
    const char *srv_ca, const char *cli_cert, const char *cli_key,
    const char *cli_ca, const char *host)
{
	/* Lenient: these tests present bad certificates on purpose. */
	struct mtls_config *scfg = make_bad_identity_config(srv_cert, srv_key,
	    srv_ca);
	struct mtls_config *ccfg = make_bad_identity_config(cli_cert, cli_key,
	    cli_ca);
	struct seen cli;

	server_start(&o->srv, scfg, SERVE_ECHO, 1);
	exchange_as(ccfg, host, NULL, o->srv.port, &cli);
	o->client_code = cli.code;
	snprintf(o->client_msg, sizeof(o->client_msg), "%s", cli.msg);
	server_stop(&o->srv);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

START_TEST(test_mutual_success)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "client.crt", "client.key",
	    "ca.crt", "localhost");
	ck_assert_msg(o.client_code == MTLS_OK, "client: %s", o.client_msg);
	ck_assert_int_eq(o.srv.hs_rc, 0);
	ck_assert(o.srv.peer_verified);
	ck_assert_str_eq(o.srv.peer_cn, "client");
}
END_TEST

START_TEST(test_no_client_cert)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", NULL, NULL, "ca.crt",
	    "localhost");
	ck_assert_int_eq(o.srv.hs_rc, -1);
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_NO_PEER_CERT);
	ck_assert_msg_has(o.srv.err_msg, "client presented no certificate");
	ck_assert_int_eq(o.client_code, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(o.client_msg, "server requires a client certificate");
	/* The client is told which CAs the server would accept. */
	ck_assert_msg_has(o.client_msg, "'CN=libmtls Test Root CA'");
}
END_TEST

START_TEST(test_client_cert_other_ca)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "other-client.crt",
	    "other-client.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.srv.err_msg, "client certificate not trusted: unable "
	    "to get local issuer certificate (issuer 'CN=libmtls Other CA' is not "
	    "in CA file '");
	ck_assert_msg_has(o.srv.err_msg, "ca.crt'");
	ck_assert_int_eq(o.client_code, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(o.client_msg, "server rejected our client certificate: "
	    "unknown CA");
	ck_assert_msg_has(o.client_msg, "CN=libmtls Test Root CA");
}
END_TEST

START_TEST(test_client_self_signed)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "selfsigned.crt",
	    "selfsigned.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.srv.err_msg, "client certificate not trusted");
	ck_assert_msg_has(o.srv.err_msg, "is self-signed and is not in CA file");
	ck_assert_int_eq(o.client_code, MTLS_ERR_CERT_REJECTED);
}
END_TEST

START_TEST(test_client_expired)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "client-expired.crt",
	    "client-expired.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.srv.err_msg, "certificate has expired");
	ck_assert_msg_has(o.srv.err_msg, "expired on 20");
	ck_assert_int_eq(o.client_code, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(o.client_msg, "certificate expired");
}
END_TEST

START_TEST(test_client_not_yet_valid)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "client-notyet.crt",
	    "client-notyet.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.srv.err_msg, "certificate is not yet valid");
	ck_assert_msg_has(o.srv.err_msg, "is not valid before");
}
END_TEST

START_TEST(test_server_only_cert_as_client)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "serveronly.crt",
	    "serveronly.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.srv.err_msg, "unsuitable certificate purpose");
	ck_assert_msg_has(o.srv.err_msg, "CN=serveronly");
	ck_assert_int_eq(o.client_code, MTLS_ERR_CERT_REJECTED);
}
END_TEST

START_TEST(test_server_expired)
{
	struct outcome o;

	run(&o, "server-expired.crt", "server-expired.key", "ca.crt",
	    "client.crt", "client.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.client_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.client_msg, "server certificate not trusted: "
	    "certificate has expired");
	ck_assert_int_eq(o.srv.err_code, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(o.srv.err_msg, "client rejected our server certificate");
}
END_TEST

START_TEST(test_server_untrusted)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "client.crt", "client.key",
	    "other-ca.crt", "localhost");
	ck_assert_int_eq(o.client_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.client_msg, "server certificate not trusted: unable "
	    "to get local issuer certificate (issuer 'CN=libmtls Test Root CA' "
	    "is not in CA file '");
	ck_assert_msg_has(o.client_msg, "other-ca.crt'");
}
END_TEST

START_TEST(test_missing_intermediate)
{
	struct outcome o;

	/* The leaf alone, without the intermediate that signed it. */
	run(&o, "server-int.crt", "server-int.key", "ca.crt", "client.crt",
	    "client.key", "ca.crt", "localhost");
	ck_assert_int_eq(o.client_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(o.client_msg, "issuer 'CN=libmtls Test Intermediate CA'"
	    " is not in CA file");
	ck_assert_msg_has(o.client_msg, "the server did not send it");
}
END_TEST

START_TEST(test_chain_with_intermediate)
{
	struct outcome o;

	run(&o, "server-chain.crt", "server-int.key", "ca.crt", "client-chain.crt",
	    "client-int.key", "ca.crt", "localhost");
	ck_assert_msg(o.client_code == MTLS_OK, "client: %s", o.client_msg);
	ck_assert_msg(o.srv.hs_rc == 0, "server: %s", o.srv.err_msg);
	ck_assert_str_eq(o.srv.peer_cn, "client-int");
}
END_TEST

START_TEST(test_ip_san)
{
	struct outcome o;

	run(&o, "server.crt", "server.key", "ca.crt", "client.crt", "client.key",
	    "ca.crt", "127.0.0.1");
	ck_assert_msg(o.client_code == MTLS_OK, "client: %s", o.client_msg);
}
END_TEST

START_TEST(test_cn_only_server_by_name)
{
	struct outcome o;

	/* Made like the seed: `openssl x509 -req`, no SAN, CN=localhost. */
	run(&o, "server-cn.crt", "server-cn.key", "ca.crt", "client.crt",
	    "client.key", "ca.crt", "localhost");
	ck_assert_msg(o.client_code == MTLS_OK, "client: %s", o.client_msg);
}
END_TEST

START_TEST(test_cn_only_server_by_ip_fails)
{
	struct outcome o;

	run(&o, "server-cn.crt", "server-cn.key", "ca.crt", "client.crt",
	    "client.key", "ca.crt", "127.0.0.1");
	ck_assert_int_eq(o.client_code, MTLS_ERR_HOSTNAME);
	ck_assert_msg_has(o.client_msg, "server certificate does not match "
	    "'127.0.0.1'");
	ck_assert_msg_has(o.client_msg, "subject 'CN=localhost'");
}
END_TEST

START_TEST(test_hostname_mismatch_lists_names)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct mtls *c;
	char port[16];

	server_start(&s, scfg, SERVE_ECHO, 1);
	c = mtls_client_new(ccfg);
	ck_assert_int_eq(mtls_set_verify_name(c, "api.example.com"), 0);
	snprintf(port, sizeof(port), "%d", s.port);
	ck_assert_int_eq(mtls_connect(c, "127.0.0.1", port), -1);
	ck_assert_int_eq(mtls_error_code(c), MTLS_ERR_HOSTNAME);
	ck_assert_msg_has(mtls_error(c), "does not match 'api.example.com'");
	ck_assert_msg_has(mtls_error(c), "DNS:localhost, IP:127.0.0.1");
	mtls_free(c);
	server_stop(&s);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_verify_name_override)
{
	struct mtls_config *scfg = make_config("server-cn.crt", "server-cn.key",
	    "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct mtls *c;
	char port[16];

	server_start(&s, scfg, SERVE_ECHO, 1);
	c = mtls_client_new(ccfg);
	ck_assert_int_eq(mtls_set_verify_name(c, "localhost"), 0);
	snprintf(port, sizeof(port), "%d", s.port);
	ck_assert_msg(mtls_connect(c, "127.0.0.1", port) == 0, "%s", mtls_error(c));
	ck_assert(mtls_peer_cert_verified(c));
	mtls_close(c);
	mtls_free(c);
	server_stop(&s);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* ------------------------------------------------------- verify cache */

/* One handshake; fills the chain-cached flags of both sides and the
 * server's view of the client's chain (PEM, malloc'd). */
struct cached_pair {
	int server_cached, client_cached;
	char *server_chain_pem;
};

static void
pair_once(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct cached_pair *p)
{
	struct mtls *listener, *server_side, *client_side;

	connect_pair(scfg, ccfg, &listener, &server_side, &client_side);
	p->server_cached = mtls_conn_chain_cached(server_side);
	p->client_cached = mtls_conn_chain_cached(client_side);
	ck_assert(mtls_peer_cert_verified(server_side));
	ck_assert(mtls_peer_cert_verified(client_side));
	p->server_chain_pem = strdup(mtls_peer_chain_pem(server_side));
	mtls_free(client_side);
	mtls_free(server_side);
	mtls_free(listener);
}

/* Configs whose every handshake is a full one (no session to resume). */
static void
full_handshake_configs(const char *srv_cert, const char *srv_key,
    const char *cli_cert, const char *cli_key, struct mtls_config **scfg,
    struct mtls_config **ccfg)
{
	*scfg = make_config(srv_cert, srv_key, "ca.crt");
	*ccfg = make_config(cli_cert, cli_key, "ca.crt");
	ck_assert_int_eq(mtls_config_set_session_tickets(*scfg, 0), 0);
	ck_assert_int_eq(mtls_config_set_session_cache(*ccfg, 0), 0);
}

START_TEST(test_verify_cache_second_handshake)
{
	struct mtls_config *scfg, *ccfg;
	struct cached_pair first, second;

	full_handshake_configs("server-chain.crt", "server-int.key",
	    "client-chain.crt", "client-int.key", &scfg, &ccfg);
	pair_once(scfg, ccfg, &first);
	pair_once(scfg, ccfg, &second);
	ck_assert_int_eq(first.server_cached, 0);
	ck_assert_int_eq(first.client_cached, 0);
	ck_assert_int_eq(second.server_cached, 1);
	ck_assert_int_eq(second.client_cached, 1);
	/* The kept chain: leaf, intermediate and root, as verified. */
	ck_assert_str_eq(second.server_chain_pem, first.server_chain_pem);
	ck_assert_ptr_nonnull(strstr(first.server_chain_pem,
	    "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"));
	free(first.server_chain_pem);
	free(second.server_chain_pem);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* The cached flags of a second full handshake, pause_ms after the first,
 * with the server's cache set to (size, seconds) and the client's to
 * client_size. */
static struct cached_pair
second_handshake(int size, int seconds, int client_size, unsigned pause_ms)
{
	struct mtls_config *scfg, *ccfg;
	struct cached_pair first, second;

	full_handshake_configs("server.crt", "server.key", "client.crt",
	    "client.key", &scfg, &ccfg);
	ck_assert_int_eq(mtls_config_set_verify_cache(scfg, size, seconds), 0);
	ck_assert_int_eq(mtls_config_set_verify_cache(ccfg, client_size, 60), 0);
	pair_once(scfg, ccfg, &first);
	usleep(pause_ms * 1000);
	pair_once(scfg, ccfg, &second);
	free(first.server_chain_pem);
	free(second.server_chain_pem);
	second.server_chain_pem = NULL;
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
	return second;
}

START_TEST(test_verify_cache_off)
{
	struct cached_pair second = second_handshake(0, 60, 0, 0);

	ck_assert_int_eq(second.server_cached, 0);
	ck_assert_int_eq(second.client_cached, 0);
}
END_TEST

START_TEST(test_verify_cache_expires)
{
	struct cached_pair second = second_handshake(16, 1, 256, 1100);

	ck_assert_int_eq(second.server_cached, 0);   /* 1 s, gone */
	ck_assert_int_eq(second.client_cached, 1);   /* 60 s */
}
END_TEST

/* Another client certificate, or the same server under another name, is
 * another chain: verified in full. */
START_TEST(test_verify_cache_other_chain_or_name)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls_config *ccfg2 = make_config("client-ou.crt", "client-ou.key",
	    "ca.crt");
	struct cached_pair first, other;
	struct test_server srv;
	int rc;
	struct mtls *c;

	ck_assert_int_eq(mtls_config_set_session_tickets(scfg, 0), 0);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	pair_once(scfg, ccfg, &first);
	pair_once(scfg, ccfg2, &other);
	ck_assert_int_eq(other.server_cached, 0);
	free(first.server_chain_pem);
	free(other.server_chain_pem);
	/* connect_pair said "localhost"; the certificate has IP:127.0.0.1 too. */
	server_start(&srv, scfg, SERVE_ECHO, 1);
	c = client_connect(ccfg, "127.0.0.1", srv.port, &rc);
	ck_assert_msg(rc == 0, "%s", mtls_error(c));
	ck_assert_int_eq(mtls_conn_chain_cached(c), 0);
	mtls_close(c);
	mtls_free(c);
	server_stop(&srv);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
	mtls_config_free(ccfg2);
}
END_TEST

/* A refused chain is not kept: the second attempt is refused alike, and
 * its message names the cause again. */
START_TEST(test_verify_cache_keeps_no_failure)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_bad_identity_config("other-client.crt",
	    "other-client.key", "ca.crt");
	struct test_server srv;
	struct seen cli;

	server_start(&srv, scfg, SERVE_ECHO, 2);
	for (int i = 0; i < 2; i++) {
		exchange(ccfg, srv.port, &cli);
		ck_assert_code(&cli, MTLS_ERR_CERT_REJECTED);
		ck_assert_msg_has(cli.msg, "server rejected our client "
		    "certificate: unknown CA");
	}
	server_stop(&srv);
	/* What the server said of the second one. */
	ck_assert_int_eq(srv.err_code, MTLS_ERR_PEER_UNTRUSTED);
	ck_assert_msg_has(srv.err_msg, "client certificate not trusted: unable "
	    "to get local issuer certificate");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_verify_cache_bad_arguments)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls *c;

	ck_assert_cfg_failed(cfg, mtls_config_set_verify_cache(cfg, -1, 60),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "size -1 is out of range");
	ck_assert_cfg_failed(cfg, mtls_config_set_verify_cache(cfg, 65537, 60),
	    MTLS_ERR_INVALID);
	ck_assert_cfg_failed(cfg, mtls_config_set_verify_cache(cfg, 16, 0),
	    MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "lifetime 0 s is out of range");
	ck_assert_cfg_failed(cfg, mtls_config_set_verify_cache(cfg, 16, 3601),
	    MTLS_ERR_INVALID);
	ck_assert_cfg_ok(cfg, mtls_config_set_verify_cache(cfg, 16, 3600));
	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	c = mtls_client_new(cfg);
	ck_assert_ptr_nonnull(c);
	ck_assert_cfg_failed(cfg, mtls_config_set_verify_cache(cfg, 16, 60),
	    MTLS_ERR_CONFIG_FROZEN);
	ck_assert_int_eq(mtls_conn_chain_cached(c), 0);
	ck_assert_int_eq(mtls_conn_chain_cached(NULL), 0);
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

Suite *
verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("handshake");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_mutual_success);
	tcase_add_test(tc, test_no_client_cert);
	tcase_add_test(tc, test_client_cert_other_ca);
	tcase_add_test(tc, test_client_self_signed);
	tcase_add_test(tc, test_client_expired);
	tcase_add_test(tc, test_client_not_yet_valid);
	tcase_add_test(tc, test_server_only_cert_as_client);
	tcase_add_test(tc, test_server_expired);
	tcase_add_test(tc, test_server_untrusted);
	tcase_add_test(tc, test_missing_intermediate);
	tcase_add_test(tc, test_chain_with_intermediate);
	tcase_add_test(tc, test_ip_san);
	tcase_add_test(tc, test_cn_only_server_by_name);
	tcase_add_test(tc, test_cn_only_server_by_ip_fails);
	tcase_add_test(tc, test_hostname_mismatch_lists_names);
	tcase_add_test(tc, test_verify_name_override);
	suite_add_tcase(s, tc);
	tc = tcase_create("verify cache");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_verify_cache_second_handshake);
	tcase_add_test(tc, test_verify_cache_off);
	tcase_add_test(tc, test_verify_cache_expires);
	tcase_add_test(tc, test_verify_cache_other_chain_or_name);
	tcase_add_test(tc, test_verify_cache_keeps_no_failure);
	tcase_add_test(tc, test_verify_cache_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}
