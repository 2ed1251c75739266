/*
 * check_policy.c - who may connect and how it is told: client-certificate
 * modes, the insecure switch, advertised CA names, verify depth, CRLs,
 * allow-lists and the verify callback.  (Identity preflight, sessions,
 * rotation and mtls_conn_describe have files of their own.)
 *
 * Every case is a real handshake on loopback.  A refusal is checked on both
 * sides where both sides see one: the error code, and that the message
 * names the cause.  The cases that differ only in the server's settings,
 * the client's identity and the verdict are the rows of tables.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

/* The client test PKI's subject, as RFC 2253. */
#define CLIENT_DN "CN=client,OU=testers,O=libmtls test"
#define CLIENT_URI "spiffe://example.org/ns/test/sa/client"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A client identity of the test PKI: name.crt with name.key. */
#define ID(name) .cert = name ".crt", .key = name ".key"

/* -------------------------------------------------------- verify callback */

struct cb {
	atomic_int calls;
	atomic_int verdict;     /* what the callback returns */
	const char *reason;     /* written when it refuses */
	int chain_ok;           /* of the last call */
	char cn[256];           /* mtls_peer_common_name inside the last call */
	char subject[512];
};

static int
verify_cb(struct mtls *conn, int chain_ok, void *arg, char *reason,
    size_t reason_size)
{
	struct cb *cb = arg;
	const char *cn = mtls_peer_common_name(conn);
	const char *subject = mtls_peer_subject(conn);

	atomic_fetch_add(&cb->calls, 1);
	cb->chain_ok = chain_ok;
	snprintf(cb->cn, sizeof(cb->cn), "%s", cn ? cn : "");
	snprintf(cb->subject, sizeof(cb->subject), "%s", subject ? subject : "");
	if (!atomic_load(&cb->verdict)) {
		snprintf(reason, reason_size, "%s", cb->reason);
		return 0;
	}
	return 1;
}

/* ============================================================ verdicts */

/* The server's client-certificate mode in a row (0: left at the default). */
enum mode { DEFAULT_MODE, REQUIRED, OPTIONAL, OPTIONAL_NO_CA };

static const int mode_value[] = {
	[REQUIRED] = MTLS_VERIFY_CLIENT_REQUIRED,
	[OPTIONAL] = MTLS_VERIFY_CLIENT_OPTIONAL,
	[OPTIONAL_NO_CA] = MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA,
};

/* A fact a row checks, or leaves unchecked. */
enum check { ANY, YES, NO };

/*
 * One handshake: a server (server.crt, trusting ca.crt) with the row's
 * settings, a client presenting cert/key (NULL: no certificate) and
 * trusting ca.crt.  code is the server's verdict, MTLS_OK or the error it
 * refuses with (its message holding server_has); a refused client learns
 * that it was refused (MTLS_ERR_CERT_REJECTED).  What the row names
 * besides is checked too; what it leaves NULL or ANY is not.
 */
struct verdict {
	const char *name;
	/* the server */
	enum mode mode;
	bool set_depth;
	int depth;
	const char *crl;                /* a PKI file */
	int crl_whole_chain;
	const char *ca_names;           /* a PKI file of names to advertise */
	const char *allow_cn;           /* one allow-list entry */
	/* the client */
	const char *cert, *key;
	bool bad_identity;              /* presents it though it is expired */
	/* the outcome */
	int code;
	const char *server_has[2];
	const char *client_has, *client_lacks;
	const char *cn, *subject;       /* what the server saw, exactly */
	enum check verified;
	const char *verify_error;       /* in what the server saw */
	const char *ca0, *ca1;          /* CA names the client was given */
};

static const struct verdict verdicts[] = {
	/* client-certificate modes */
	{ "required, no certificate", .mode = REQUIRED,
	  .code = MTLS_ERR_NO_PEER_CERT,
	  .server_has = { "client presented no certificate" },
	  .client_has = "server requires a client certificate" },
	{ "optional, a good certificate", .mode = OPTIONAL, ID("client"),
	  .code = MTLS_OK, .verified = YES, .subject = CLIENT_DN },
	/* As nginx's optional: a certificate that is presented must verify. */
	{ "optional, an untrusted certificate", .mode = OPTIONAL,
	  ID("other-client"), .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "client certificate not trusted: unable to get local "
	  "issuer certificate" },
	  .client_has = "server rejected our client certificate" },
	/* optional_no_ca lets it through, marked unverified, with the
	 * reason. */
	{ "optional_no_ca, an untrusted certificate marked",
	  .mode = OPTIONAL_NO_CA, ID("other-client"), .code = MTLS_OK,
	  .verified = NO, .subject = "CN=other-client",
	  .verify_error = "unable to get local issuer certificate" },
	/* Presenting an expired certificate takes the insecure opt-out; the
	 * refused peer's identity is still there for the log. */
	{ "optional, an expired certificate", .mode = OPTIONAL,
	  ID("client-expired"), .bad_identity = true,
	  .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "certificate has expired" }, .cn = "client-expired" },

	/* advertised CA names */
	{ "CA names: the trusted CA's by default", ID("client"),
	  .code = MTLS_OK, .ca0 = "CN=libmtls Test Root CA", .ca1 = "" },
	{ "CA names from a file, no certificate",
	  .ca_names = "names-only-ca.crt", .code = MTLS_ERR_NO_PEER_CERT,
	  .server_has = { "client presented no certificate" },
	  .client_has = "'CN=libmtls Other CA'",
	  .client_lacks = "Test Root CA",
	  .ca0 = "CN=libmtls Other CA", .ca1 = "" },
	/* Trust is unchanged: a client of the root still gets in ... */
	{ "CA names from a file, trust unchanged",
	  .ca_names = "names-only-ca.crt", ID("client"), .code = MTLS_OK,
	  .ca0 = "CN=libmtls Other CA" },
	/* ... and one of the advertised CA does not. */
	{ "CA names from a file, the named CA not trusted",
	  .ca_names = "names-only-ca.crt", ID("other-client"),
	  .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "client certificate not trusted" } },

	/* verify depth */
	{ "depth: two intermediates by default",
	  .cert = "client-deep-chain.crt", .key = "client-deep.key",
	  .code = MTLS_OK, .cn = "client-deep", .verified = YES },
	{ "depth: three intermediates refused by default",
	  .cert = "client-deeper-chain.crt", .key = "client-deeper.key",
	  .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "certificate chain too long" },
	  .client_has = "server rejected our client certificate" },
	{ "depth raised to 3", .set_depth = true, .depth = 3,
	  .cert = "client-deeper-chain.crt", .key = "client-deeper.key",
	  .code = MTLS_OK, .cn = "client-deeper" },
	/* Depth 0: only certificates issued by the anchor itself. */
	{ "depth 0, one intermediate", .set_depth = true, .depth = 0,
	  .cert = "client-chain.crt", .key = "client-int.key",
	  .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "certificate chain too long" } },
	{ "depth 0, issued by the anchor", .set_depth = true, .depth = 0,
	  ID("client"), .code = MTLS_OK },

	/* CRLs */
	{ "CRL: revoked refused", .crl = "crl.pem", ID("client-revoked"),
	  .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "revoked", "CN=client-revoked" },
	  .client_has = "revoked" },
	/* Control: the certificate itself is fine. */
	{ "CRL: revoked accepted without the CRL", ID("client-revoked"),
	  .code = MTLS_OK },
	{ "CRL: a good client accepted", .crl = "crl.pem", ID("client"),
	  .code = MTLS_OK, .verified = YES },
	{ "CRL of the whole chain: a good chain", .crl = "crl-chain.pem",
	  .crl_whole_chain = 1, .cert = "client-chain.crt",
	  .key = "client-int.key", .code = MTLS_OK, .cn = "client-int" },
	{ "CRL of the whole chain: revoked", .crl = "crl-chain.pem",
	  .crl_whole_chain = 1, ID("client-revoked"),
	  .code = MTLS_ERR_PEER_UNTRUSTED, .server_has = { "revoked" } },
	/* The intermediate has no CRL here: whole-chain checking refuses. */
	{ "CRL of the whole chain: one CRL missing", .crl = "crl.pem",
	  .crl_whole_chain = 1, .cert = "client-chain.crt",
	  .key = "client-int.key", .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "unable to get certificate CRL" } },

	/* Allowed by name, but its chain does not verify: still refused, for
	 * the chain. */
	{ "allow-list: no bypass of the chain", .allow_cn = "other-client",
	  ID("other-client"), .code = MTLS_ERR_PEER_UNTRUSTED,
	  .server_has = { "client certificate not trusted" } },
};

START_TEST(test_verdict)
{
	const struct verdict *v = &verdicts[_i];
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg;
	struct seen srv, cli;

	if (v->bad_identity) {
		ccfg = make_bad_identity_config(v->cert, v->key, "ca.crt");
		ck_assert_int_eq(mtls_config_set_timeouts(ccfg, 5000, 10000,
		    10000), 0);
	} else {
		ccfg = cfg_new(v->cert, v->key, "ca.crt");
	}
	if (v->mode != DEFAULT_MODE)
		ck_assert_cfg_ok(scfg, mtls_config_set_verify_client(scfg,
		    mode_value[v->mode]));
	if (v->set_depth)
		ck_assert_cfg_ok(scfg, mtls_config_set_verify_depth(scfg,
		    v->depth));
	if (v->crl != NULL)
		ck_assert_cfg_ok(scfg, mtls_config_set_crl_file(scfg, pki(v->crl),
		    v->crl_whole_chain));
	if (v->ca_names != NULL)
		ck_assert_cfg_ok(scfg, mtls_config_set_ca_names_file(scfg,
		    pki(v->ca_names)));
	if (v->allow_cn != NULL)
		ck_assert_cfg_ok(scfg, mtls_config_allow(scfg, MTLS_ALLOW_CN,
		    v->allow_cn));
	one(scfg, ccfg, &srv, &cli);

	if (v->code == MTLS_OK) {
		ck_assert_msg(cli.code == MTLS_OK && srv.rc == 0,
		    "%s: expected success; client: %s: %s; server: %s: %s",
		    v->name, mtls_error_name(cli.code), cli.msg,
		    mtls_error_name(srv.code), srv.msg);
		ck_assert_int_eq(srv.provided, v->cert != NULL);
	} else {
		ck_assert_msg(srv.rc == -1 && srv.code == v->code, "%s: expected "
		    "the server to refuse with %s, got %s: %s", v->name,
		    mtls_error_name(v->code), mtls_error_name(srv.code), srv.msg);
		ck_assert_msg_has(srv.msg, v->server_has[0]);
		ck_assert_msg(cli.code == MTLS_ERR_CERT_REJECTED, "%s: client: "
		    "expected MTLS_ERR_CERT_REJECTED, got %s: %s", v->name,
		    mtls_error_name(cli.code), cli.msg);
	}
	if (v->server_has[1] != NULL)
		ck_assert_msg_has(srv.msg, v->server_has[1]);
	if (v->client_has != NULL)
		ck_assert_msg_has(cli.msg, v->client_has);
	if (v->client_lacks != NULL)
		ck_assert_msg(strstr(cli.msg, v->client_lacks) == NULL,
		    "%s: client message names %s: %s", v->name, v->client_lacks,
		    cli.msg);
	if (v->cn != NULL)
		ck_assert_str_eq(srv.cn, v->cn);
	if (v->subject != NULL)
		ck_assert_str_eq(srv.subject, v->subject);
	if (v->verified != ANY)
		ck_assert_int_eq(srv.verified, v->verified == YES);
	if (v->verify_error != NULL)
		ck_assert_msg_has(srv.verify_error, v->verify_error);
	if (v->ca0 != NULL)
		ck_assert_str_eq(cli.ca0, v->ca0);
	if (v->ca1 != NULL)
		ck_assert_str_eq(cli.ca1, v->ca1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* ===================================================== client-cert modes */

START_TEST(test_mode_optional_without_cert)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new(NULL, NULL, "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL));
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.provided, 0);
	ck_assert_int_eq(srv.verified, 0);
	ck_assert_str_eq(srv.subject, "");
	ck_assert_str_eq(srv.verify_error, "");
	/* The server still asked, naming its CA. */
	ck_assert_str_eq(cli.ca0, "CN=libmtls Test Root CA");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_mode_optional_no_ca_callback_accepts)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct cb cb = { .verdict = 1 };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), 0);
	ck_assert_cfg_ok(scfg, mtls_config_set_verify_callback(scfg, verify_cb,
	    &cb));
	client_as(scfg, "selfsigned.crt", "selfsigned.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(atomic_load(&cb.calls), 1);
	ck_assert_int_eq(cb.chain_ok, 0);
	ck_assert_str_eq(cb.cn, "client");
	ck_assert_int_eq(srv.provided, 1);
	ck_assert_int_eq(srv.verified, 0);
	ck_assert_msg_has(srv.verify_error, "self-signed");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_mode_optional_no_ca_callback_refuses)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct cb cb = { .verdict = 0, .reason = "not on the guest list" };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), 0);
	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &cb), 0);
	client_as(scfg, "selfsigned.crt", "selfsigned.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED,
	    "not on the guest list");
	/* The reason cannot cross the wire: the client gets the alert. */
	ck_assert_msg_has(cli.msg, "server rejected our client certificate: "
	    "bad certificate");
	ck_assert_int_eq(atomic_load(&cb.calls), 1);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_mode_optional_no_ca_allow_list_decides)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;
	char fp[128];

	/* Pinning a self-signed client by its fingerprint. */
	cert_sha256("selfsigned.crt", 0, fp);
	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), 0);
	ck_assert_cfg_ok(scfg, mtls_config_allow(scfg, MTLS_ALLOW_CERT_SHA256, fp));
	client_as(scfg, "selfsigned.crt", "selfsigned.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.verified, 0);
	/* Another self-signed-looking peer (untrusted chain) not pinned. */
	client_as(scfg, "other-client.crt", "other-client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED,
	    "CN=other-client");
	mtls_config_free(scfg);
}
END_TEST

/* ============================================================== insecure */

START_TEST(test_insecure_is_named_so)
{
	/* The only switch that turns verification off says so in its name. */
	int (*fn)(struct mtls_config *) = mtls_config_insecure_noverify;
	const char *name = "mtls_config_insecure_noverify";

	ck_assert_ptr_nonnull((void *)fn);
	ck_assert_ptr_nonnull(strstr(name, "insecure"));
}
END_TEST

START_TEST(test_insecure_client_unknown_ca)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key",
	    "other-ca.crt");
	struct seen srv, cli;

	/* Without it: refused, as a control. */
	one(scfg, ccfg, &srv, &cli);
	ck_assert_code(&cli, MTLS_ERR_PEER_UNTRUSTED);
	mtls_config_free(ccfg);

	ccfg = cfg_new("client.crt", "client.key", "other-ca.crt");
	ck_assert_cfg_ok(ccfg, mtls_config_insecure_noverify(ccfg));
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(cli.provided, 1);
	ck_assert_int_eq(cli.verified, 0);
	ck_assert_str_eq(cli.cn, "localhost");
	/* The server still verified us. */
	ck_assert_int_eq(srv.verified, 1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_insecure_client_wrong_name)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct seen cli;

	server_start(&s, scfg, SERVE_ECHO, 2);
	exchange_as(ccfg, "127.0.0.1", "wrong.example.org", s.port, &cli);
	ck_assert_code(&cli, MTLS_ERR_HOSTNAME);
	ck_assert_msg_has(cli.msg, "wrong.example.org");
	mtls_config_free(ccfg);

	ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	exchange_as(ccfg, "127.0.0.1", "wrong.example.org", s.port, &cli);
	server_stop(&s);
	ck_assert_ok(&s.rec[1], &cli);
	ck_assert_int_eq(cli.verified, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_insecure_client_needs_no_ca)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", NULL);
	struct seen srv, cli;

	/* Trust anchors are required only because verification is on. */
	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(cli.verified, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_insecure_server_asks_no_cert)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new(NULL, NULL, "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_insecure_noverify(scfg), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.provided, 0);
	/* No certificate request at all, so no CA names. */
	ck_assert_str_eq(cli.ca0, "");
	/* The client still verified the server. */
	ck_assert_int_eq(cli.verified, 1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* ============================================================ allow-lists */

/* How a row's allow-list value is written: as is, or as a digest of a
 * certificate of the test PKI (value names the certificate). */
enum value_form { AS_IS, SPKI_HEX, SPKI_CURL, CERT_HEX, CERT_COLONS };

/* One allow-list entry against a client identity (name.crt, name.key):
 * admitted, or refused as not allowed on both sides. */
static const struct allow_row {
	int type;
	const char *value;
	enum value_form form;
	const char *client;
	bool admitted;
} allow_rows[] = {
	{ MTLS_ALLOW_CN, "client", AS_IS, "client", true },
	{ MTLS_ALLOW_CN, "clien", AS_IS, "client", false },
	{ MTLS_ALLOW_CN, "client-x", AS_IS, "client", false },
	{ MTLS_ALLOW_CN, "payment-*", AS_IS, "client-ou", true },
	{ MTLS_ALLOW_CN, "payment-*", AS_IS, "client", false },
	{ MTLS_ALLOW_OU, "payments", AS_IS, "client-ou", true },
	{ MTLS_ALLOW_OU, "payments", AS_IS, "client", false },
	{ MTLS_ALLOW_OU, "testers", AS_IS, "client", true },
	/* OU is matched against the OU, not the CN or O. */
	{ MTLS_ALLOW_OU, "payment-service", AS_IS, "client-ou", false },
	{ MTLS_ALLOW_DNS, "client.example.org", AS_IS, "client", true },
	{ MTLS_ALLOW_DNS, "*.example.org", AS_IS, "client", true },
	/* A '*' covers one label only. */
	{ MTLS_ALLOW_DNS, "*.example.org", AS_IS, "client-subdomain", false },
	{ MTLS_ALLOW_DNS, "*.b.example.org", AS_IS, "client-subdomain", true },
	/* No DNS SAN at all. */
	{ MTLS_ALLOW_DNS, "*.example.org", AS_IS, "client-spiffe", false },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/prod/sa/billing", AS_IS,
	  "client-spiffe", true },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/billing", AS_IS,
	  "client-spiffe", true },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/*", AS_IS,
	  "client-spiffe", true },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/*", AS_IS, "client",
	  true },
	/* A '*' does not cross a '/'. */
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/billing", AS_IS,
	  "client-spiffe-extra", false },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/billing", AS_IS,
	  "client-spiffe", false },
	{ MTLS_ALLOW_URI, "spiffe://example.org/*", AS_IS, "client-spiffe",
	  false },
	/* Other trust domain, other service account. */
	{ MTLS_ALLOW_URI, "spiffe://example.com/ns/*/sa/*", AS_IS,
	  "client-spiffe", false },
	{ MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/payroll", AS_IS,
	  "client-spiffe", false },
	{ MTLS_ALLOW_IP, "127.0.0.2", AS_IS, "client", true },
	{ MTLS_ALLOW_IP, "127.0.0.1", AS_IS, "client", false },
	{ MTLS_ALLOW_IP, "::1", AS_IS, "client", false },
	/* Keys: 64 hex digits, or curl's --pinnedpubkey form. */
	{ MTLS_ALLOW_SPKI_SHA256, "client.crt", SPKI_HEX, "client", true },
	{ MTLS_ALLOW_SPKI_SHA256, "client.crt", SPKI_CURL, "client", true },
	{ MTLS_ALLOW_SPKI_SHA256, "client-ou.crt", SPKI_HEX, "client", false },
	/* Certificates: as openssl x509 -fingerprint prints them, or plain. */
	{ MTLS_ALLOW_CERT_SHA256, "client.crt", CERT_COLONS, "client", true },
	{ MTLS_ALLOW_CERT_SHA256, "client.crt", CERT_HEX, "client", true },
	{ MTLS_ALLOW_CERT_SHA256, "client-ou.crt", CERT_COLONS, "client",
	  false },
};

START_TEST(test_allow_entry)
{
	const struct allow_row *r = &allow_rows[_i];
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	char value[160], crt[128], key[128];
	struct seen srv, cli;

	switch (r->form) {
	case SPKI_HEX:
		spki_sha256(r->value, 0, value);
		ck_assert_uint_eq(strlen(value), 64);
		break;
	case SPKI_CURL:
		spki_sha256(r->value, 1, value);
		break;
	case CERT_HEX:
		cert_sha256(r->value, 0, value);
		ck_assert_uint_eq(strlen(value), 64);
		break;
	case CERT_COLONS:
		cert_sha256(r->value, 1, value);
		ck_assert_uint_eq(strlen(value), 95);
		break;
	case AS_IS:
	default:
		snprintf(value, sizeof(value), "%s", r->value);
		break;
	}
	ck_assert_msg(mtls_config_allow(scfg, r->type, value) == 0,
	    "allow %d '%s': %s", r->type, value, mtls_config_error(scfg));
	snprintf(crt, sizeof(crt), "%s.crt", r->client);
	snprintf(key, sizeof(key), "%s.key", r->client);
	client_as(scfg, crt, key, &srv, &cli);
	if (r->admitted) {
		ck_assert_msg(srv.rc == 0 && cli.code == MTLS_OK,
		    "allow %d '%s' should admit %s: server: %s; client: %s",
		    r->type, value, r->client, srv.msg, cli.msg);
	} else {
		ck_assert_msg(srv.rc == -1 && srv.code == MTLS_ERR_NOT_ALLOWED,
		    "allow %d '%s' should refuse %s with MTLS_ERR_NOT_ALLOWED, "
		    "got %s: %s", r->type, value, r->client,
		    mtls_error_name(srv.code), srv.msg);
		ck_assert_msg_has(srv.msg, "not allowed");
		ck_assert_code(&cli, MTLS_ERR_CERT_REJECTED);
		ck_assert_msg_has(cli.msg, "server rejected our client certificate");
	}
	mtls_config_free(scfg);
}
END_TEST

struct allow_entry {
	int type;
	const char *value;
};

/* A server trusting ca.crt with the given allow-list. */
static struct mtls_config *
allow_server(const struct allow_entry *e, size_t n)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(mtls_config_allow(scfg, e[i].type, e[i].value) == 0,
		    "allow %d '%s': %s", e[i].type, e[i].value,
		    mtls_config_error(scfg));
	return scfg;
}

START_TEST(test_allow_none_matches_lists_presented)
{
	static const struct allow_entry e[] = {
		{ MTLS_ALLOW_CN, "payment-service" },
		{ MTLS_ALLOW_URI, "spiffe://example.org/ns/prod/sa/*" },
		{ MTLS_ALLOW_DNS, "*.example.com" },
	};
	struct mtls_config *scfg = allow_server(e, 3);
	struct seen srv, cli;

	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED, "CN=client");
	ck_assert_msg_has(srv.msg, "URI:" CLIENT_URI);
	ck_assert_msg_has(srv.msg, "DNS:client.example.org");
	ck_assert_msg_has(cli.msg, "server rejected our client certificate");
	/* The chain itself was fine. */
	ck_assert_int_eq(srv.verified, 1);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_allow_any_one_admits)
{
	static const struct allow_entry e[] = {
		{ MTLS_ALLOW_CN, "nobody" },
		{ MTLS_ALLOW_OU, "nobody" },
		{ MTLS_ALLOW_IP, "10.0.0.1" },
		{ MTLS_ALLOW_URI, CLIENT_URI },
		{ MTLS_ALLOW_DNS, "nobody.example.org" },
	};
	struct mtls_config *scfg = allow_server(e, 5);
	struct seen srv, cli;

	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(srv.subject, CLIENT_DN);
	/* ... and one that matches none of them is refused. */
	client_as(scfg, "client-ou.crt", "client-ou.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED,
	    "CN=payment-service");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_allow_client_pins_server)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen srv, cli;
	char hex[128];

	ck_assert_cfg_ok(ccfg, mtls_config_allow(ccfg, MTLS_ALLOW_DNS,
	    "localhost"));
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	mtls_config_free(ccfg);

	ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	ck_assert_int_eq(mtls_config_allow(ccfg, MTLS_ALLOW_CN, "other"), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_int_eq(cli.rc, -1);
	ck_assert_code(&cli, MTLS_ERR_NOT_ALLOWED);
	ck_assert_msg_has(cli.msg, "CN=localhost");
	ck_assert_msg_has(cli.msg, "DNS:localhost");
	/* The server learns that its certificate was refused. */
	ck_assert_int_eq(srv.rc, -1);
	ck_assert_code(&srv, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(srv.msg, "rejected");
	mtls_config_free(ccfg);

	/* Pinning the server's key works too. */
	ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	spki_sha256("server.crt", 0, hex);
	ck_assert_int_eq(mtls_config_allow(ccfg, MTLS_ALLOW_SPKI_SHA256, hex), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

/* ====================================================== bad settings */

/* 63 hex digits; 64 characters, not all hex. */
#define HEX63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define NOT_HEX64 "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct setting_case settings[] = {
	{ "verify_client 7", SETTING_VERIFY_CLIENT, 7, NULL, MTLS_ERR_INVALID,
	  { "7" } },
	{ "verify_client -1", SETTING_VERIFY_CLIENT, -1, NULL,
	  MTLS_ERR_INVALID, { NULL } },
	{ "CA names: no such file", SETTING_CA_NAMES_FILE, 0,
	  "no-such-file.crt", MTLS_ERR_FILE, { "no-such-file.crt" } },
	{ "CA names: not PEM", SETTING_CA_NAMES_FILE, 0, "not-pem.txt",
	  MTLS_ERR_FORMAT, { "not-pem.txt" } },
	{ "CA names: a bundle", SETTING_CA_NAMES_FILE, 0, "ca-bundle.crt",
	  MTLS_OK, { NULL } },
	{ "depth -1", SETTING_VERIFY_DEPTH, -1, NULL, MTLS_ERR_INVALID,
	  { "-1" } },
	{ "depth 5", SETTING_VERIFY_DEPTH, 5, NULL, MTLS_OK, { NULL } },
	{ "CRL: no such file", SETTING_CRL_FILE, 0, "no-such-crl.pem",
	  MTLS_ERR_FILE, { "no-such-crl.pem" } },
	{ "CRL: not PEM", SETTING_CRL_FILE, 0, "not-pem.txt", MTLS_ERR_FORMAT,
	  { "not-pem.txt" } },
	/* A certificate is not a CRL. */
	{ "CRL: a certificate", SETTING_CRL_FILE, 0, "ca.crt", MTLS_ERR_FORMAT,
	  { "ca.crt" } },
	{ "allow: key digest too short", SETTING_ALLOW, MTLS_ALLOW_SPKI_SHA256,
	  "abc123", MTLS_ERR_INVALID, { "abc123" } },
	{ "allow: key digest of 63 digits", SETTING_ALLOW,
	  MTLS_ALLOW_SPKI_SHA256, HEX63, MTLS_ERR_INVALID, { NULL } },
	{ "allow: certificate digest not hex", SETTING_ALLOW,
	  MTLS_ALLOW_CERT_SHA256, "zz:zz", MTLS_ERR_INVALID, { "zz:zz" } },
	{ "allow: certificate digest of 64 not all hex", SETTING_ALLOW,
	  MTLS_ALLOW_CERT_SHA256, NOT_HEX64, MTLS_ERR_INVALID, { NULL } },
	{ "allow: key digest not base64", SETTING_ALLOW, MTLS_ALLOW_SPKI_SHA256,
	  "sha256//not base64!", MTLS_ERR_INVALID, { NULL } },
	{ "allow: not an address", SETTING_ALLOW, MTLS_ALLOW_IP,
	  "not-an-address", MTLS_ERR_INVALID, { "not-an-address" } },
	{ "allow: type 99", SETTING_ALLOW, 99, "client", MTLS_ERR_INVALID,
	  { "99" } },
	{ "allow: type 0", SETTING_ALLOW, 0, "client", MTLS_ERR_INVALID,
	  { NULL } },
	{ "allow: empty", SETTING_ALLOW, MTLS_ALLOW_CN, "", MTLS_ERR_INVALID,
	  { "empty" } },
	{ "allow: NULL", SETTING_ALLOW, MTLS_ALLOW_CN, NULL, MTLS_ERR_INVALID,
	  { NULL } },
	{ "allow: URI with a newline", SETTING_ALLOW, MTLS_ALLOW_URI,
	  "spiffe://example.org/\n", MTLS_ERR_INVALID, { NULL } },
	/* Well-formed values of each type are taken. */
	{ "allow: IPv6", SETTING_ALLOW, MTLS_ALLOW_IP, "::1", MTLS_OK,
	  { NULL } },
	{ "allow: CN pattern", SETTING_ALLOW, MTLS_ALLOW_CN, "a*", MTLS_OK,
	  { NULL } },
};

START_TEST(test_setting)
{
	run_setting_case(&settings[_i]);
}
END_TEST

/* ======================================================= verify callback */

START_TEST(test_callback_accepts_sees_peer)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct cb cb = { .verdict = 1 };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &cb), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(atomic_load(&cb.calls), 1);
	ck_assert_int_eq(cb.chain_ok, 1);
	ck_assert_str_eq(cb.cn, "client");
	ck_assert_str_eq(cb.subject, CLIENT_DN);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_callback_refuses_with_reason)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct cb cb = { .verdict = 0, .reason = "client is on the deny list" };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &cb), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED,
	    "client is on the deny list");
	ck_assert_msg_has(cli.msg, "server rejected our client certificate: "
	    "bad certificate");
	ck_assert_int_eq(atomic_load(&cb.calls), 1);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_callback_removed)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct cb cb = { .verdict = 0, .reason = "no" };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &cb), 0);
	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, NULL, NULL), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(atomic_load(&cb.calls), 0);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_callback_after_allow_list)
{
	struct allow_entry e = { MTLS_ALLOW_CN, "nobody" };
	struct mtls_config *scfg = allow_server(&e, 1);
	struct cb cb = { .verdict = 1 };
	struct seen srv, cli;

	/* The allow-list refuses first; the callback cannot re-admit. */
	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &cb), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NOT_ALLOWED, "CN=client");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_callback_client_side_pins)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct cb cb = { .verdict = 0, .reason = "server key is not the pinned one" };
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_callback(ccfg, verify_cb, &cb), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_int_eq(cli.rc, -1);
	ck_assert_code(&cli, MTLS_ERR_NOT_ALLOWED);
	ck_assert_msg_has(cli.msg, "server key is not the pinned one");
	ck_assert_int_eq(atomic_load(&cb.calls), 1);
	ck_assert_int_eq(cb.chain_ok, 1);
	ck_assert_str_eq(cb.cn, "localhost");
	ck_assert_int_eq(srv.rc, -1);
	ck_assert_code(&srv, MTLS_ERR_CERT_REJECTED);
	ck_assert_msg_has(srv.msg, "rejected");
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_callback_runs_on_resumed_sessions)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct cb scb = { .verdict = 1 }, ccb = { .verdict = 1 };
	struct test_server s;
	struct seen c1, c2;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &scb), 0);
	ck_assert_int_eq(mtls_config_set_verify_callback(ccfg, verify_cb, &ccb), 0);
	server_start(&s, scfg, SERVE_ECHO, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	server_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_int_eq(c1.resumed, 0);
	ck_assert_int_eq(c2.resumed, 1);
	ck_assert_int_eq(s.rec[1].resumed, 1);
	ck_assert_int_eq(atomic_load(&scb.calls), 2);
	ck_assert_int_eq(atomic_load(&ccb.calls), 2);
	/* On the resumed session the callback still saw the identity. */
	ck_assert_str_eq(scb.cn, "client");
	ck_assert_int_eq(scb.chain_ok, 1);
	ck_assert_str_eq(ccb.cn, "localhost");
	ck_assert_int_eq(ccb.chain_ok, 1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_callback_refuses_resumed_session)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct cb scb = { .verdict = 1, .reason = "second visit refused" };
	struct test_server s;
	struct seen c1, c2;

	/* The callback admits the full handshake, then refuses: a resumed
	 * session is not a way around it. */
	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &scb), 0);
	server_start(&s, scfg, SERVE_ECHO, 2);
	exchange(ccfg, s.port, &c1);
	atomic_store(&scb.verdict, 0);
	exchange(ccfg, s.port, &c2);
	server_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_server_refused(&s.rec[1], &c2, MTLS_ERR_NOT_ALLOWED,
	    "second visit refused");
	ck_assert_int_eq(atomic_load(&scb.calls), 2);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* ================================================================ frozen */

START_TEST(test_policy_setters_frozen)
{
	struct mtls_config *cfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *c = mtls_client_new(cfg);
	struct cb cb = { .verdict = 1 };

	ck_assert_ptr_nonnull(c);
#define FROZEN(call) \
	ck_assert_cfg_failed(cfg, (call), MTLS_ERR_CONFIG_FROZEN)
	FROZEN(mtls_config_set_verify_client(cfg, MTLS_VERIFY_CLIENT_OPTIONAL));
	FROZEN(mtls_config_insecure_noverify(cfg));
	FROZEN(mtls_config_set_ca_names_file(cfg, pki("ca.crt")));
	FROZEN(mtls_config_set_verify_depth(cfg, 3));
	FROZEN(mtls_config_set_crl_file(cfg, pki("crl.pem"), 0));
	FROZEN(mtls_config_allow(cfg, MTLS_ALLOW_CN, "client"));
	FROZEN(mtls_config_set_verify_callback(cfg, verify_cb, &cb));
	FROZEN(mtls_config_set_session_cache(cfg, 10));
	FROZEN(mtls_config_set_session_tickets(cfg, 2));
	FROZEN(mtls_config_add_ticket_key_file(cfg, pki("ticket.key")));
#undef FROZEN
	mtls_free(c);
	mtls_config_free(cfg);
}
END_TEST

/* ================================================================= suite */

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = check_tcase(s, "verdicts", 60);
	tcase_add_loop_test(tc, test_verdict, 0, NROWS(verdicts));

	tc = check_tcase(s, "modes", 30);
	tcase_add_test(tc, test_mode_optional_without_cert);
	tcase_add_test(tc, test_mode_optional_no_ca_callback_accepts);
	tcase_add_test(tc, test_mode_optional_no_ca_callback_refuses);
	tcase_add_test(tc, test_mode_optional_no_ca_allow_list_decides);

	tc = check_tcase(s, "insecure", 30);
	tcase_add_test(tc, test_insecure_is_named_so);
	tcase_add_test(tc, test_insecure_client_unknown_ca);
	tcase_add_test(tc, test_insecure_client_wrong_name);
	tcase_add_test(tc, test_insecure_client_needs_no_ca);
	tcase_add_test(tc, test_insecure_server_asks_no_cert);

	tc = check_tcase(s, "allow", 60);
	tcase_add_loop_test(tc, test_allow_entry, 0, NROWS(allow_rows));
	tcase_add_test(tc, test_allow_none_matches_lists_presented);
	tcase_add_test(tc, test_allow_any_one_admits);
	tcase_add_test(tc, test_allow_client_pins_server);

	tc = check_tcase(s, "settings", 30);
	tcase_add_loop_test(tc, test_setting, 0, NROWS(settings));

	tc = check_tcase(s, "callback", 30);
	tcase_add_test(tc, test_callback_accepts_sees_peer);
	tcase_add_test(tc, test_callback_refuses_with_reason);
	tcase_add_test(tc, test_callback_removed);
	tcase_add_test(tc, test_callback_after_allow_list);
	tcase_add_test(tc, test_callback_client_side_pins);
	tcase_add_test(tc, test_callback_runs_on_resumed_sessions);
	tcase_add_test(tc, test_callback_refuses_resumed_session);

	tc = check_tcase(s, "frozen", 10);
	tcase_add_test(tc, test_policy_setters_frozen);
	return s;
}
