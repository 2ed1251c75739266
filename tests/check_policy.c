/*
 * check_policy.c - who may connect and how it is told: client-certificate
 * modes, the insecure switch, advertised CA names, verify depth, CRLs,
 * allow-lists, the verify callback, identity preflight, session resumption
 * and ticket keys, certificate rotation, and mtls_conn_describe.
 *
 * Every case is a real handshake on loopback.  A refusal is checked on both
 * sides where both sides see one: the error code, and that the message
 * names the cause.
 */
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check_util.h"

/* The client test PKI's subject, as RFC 2253. */
#define CLIENT_DN "CN=client,OU=testers,O=libmtls test"
#define CLIENT_URI "spiffe://example.org/ns/test/sa/client"

/* ------------------------------------------------------------ fixtures */

/* A config as make_config, with timeouts, so that a library bug ends in a
 * failed assertion rather than in Check's timeout. */
static struct mtls_config *
cfg_new(const char *cert, const char *key, const char *ca)
{
	struct mtls_config *cfg = make_config(cert, key, ca);

	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 5000, 10000, 10000), 0);
	return cfg;
}

/* ck_assert_cfg_failed plus: the message contains needle. */
#define ck_assert_cfg_failed_has(cfg, rc, code, needle) \
	do { \
		ck_assert_cfg_failed(cfg, rc, code); \
		ck_assert_msg_has(mtls_config_error(cfg), needle); \
	} while (0)

/* What one side saw of one connection. */
struct seen {
	int rc;                 /* handshake (server) / connect (client) */
	int code;               /* MTLS_OK, or the error of the first failure */
	char msg[1024];
	int provided, verified, resumed;
	char subject[512], cn[256], verify_error[512], fingerprint[128];
	char dns0[256];
	char ca0[256], ca1[256];        /* client: acceptable CA names */
	char describe[8192];
};

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* Records c's identity and facts into *s (not rc, code, msg). */
static void
see(struct seen *s, struct mtls *c)
{
	s->provided = mtls_peer_cert_provided(c);
	s->verified = mtls_peer_cert_verified(c);
	s->resumed = mtls_conn_session_resumed(c);
	copy(s->subject, sizeof(s->subject), mtls_peer_subject(c));
	copy(s->cn, sizeof(s->cn), mtls_peer_common_name(c));
	copy(s->verify_error, sizeof(s->verify_error), mtls_peer_verify_error(c));
	copy(s->fingerprint, sizeof(s->fingerprint),
	    mtls_peer_fingerprint_sha256(c));
	copy(s->dns0, sizeof(s->dns0), mtls_peer_san(c, MTLS_SAN_DNS, 0));
	copy(s->ca0, sizeof(s->ca0), mtls_peer_acceptable_ca(c, 0));
	copy(s->ca1, sizeof(s->ca1), mtls_peer_acceptable_ca(c, 1));
	copy(s->describe, sizeof(s->describe), mtls_conn_describe(c));
}

enum { MAX_CONNS = 8 };

/* A server on 127.0.0.1 that handshakes and echoes, n connections one
 * after the other, recording what each handshake gave. */
struct psrv {
	struct mtls *srv;
	pthread_t thread;
	int port, n;
	struct seen rec[MAX_CONNS];
};

static void *
psrv_main(void *arg)
{
	struct psrv *s = arg;
	int i;

	for (i = 0; i < s->n; i++) {
		struct seen *r = &s->rec[i];
		struct mtls *c;
		char buf[4096];
		ssize_t n;

		if (mtls_accept(s->srv, &c) != 0)
			break;
		r->rc = mtls_handshake(c);
		r->code = mtls_error_code(c);
		copy(r->msg, sizeof(r->msg), mtls_error(c));
		see(r, c);
		if (r->rc == 0) {
			while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
				if (mtls_write(c, buf, (size_t)n) < 0)
					break;
			mtls_close(c);
		}
		mtls_free(c);
	}
	return NULL;
}

/* Starts a server with cfg (borrowed) on port ("0": any free one). */
static void
psrv_start_on(struct psrv *s, struct mtls_config *cfg, int n, const char *port)
{
	int i;

	ck_assert_int_le(n, MAX_CONNS);
	memset(s, 0, sizeof(*s));
	for (i = 0; i < MAX_CONNS; i++)
		s->rec[i].rc = -99;
	s->n = n;
	s->srv = mtls_server_new(cfg);
	ck_assert_msg(s->srv != NULL, "server_new: %s", mtls_config_error(cfg));
	ck_assert_msg(mtls_listen(s->srv, "127.0.0.1", port, 16) == 0,
	    "listen: %s", mtls_error(s->srv));
	s->port = mtls_local_port(s->srv);
	ck_assert_int_gt(s->port, 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, psrv_main, s), 0);
}

static void
psrv_start(struct psrv *s, struct mtls_config *cfg, int n)
{
	psrv_start_on(s, cfg, n, "0");
}

static void
psrv_stop(struct psrv *s)
{
	pthread_join(s->thread, NULL);
	mtls_free(s->srv);
	s->srv = NULL;
}

/*
 * A client connects to host:port (verifying name, when not NULL, instead of
 * host), sends "ping", reads the echo and closes.  In TLS 1.3 a server's
 * refusal of our certificate arrives after the handshake: on the read.
 * *r gets the first error and what the client saw of the server.
 */
static void
exchange_as(struct mtls_config *ccfg, const char *host, const char *name,
    int port, struct seen *r)
{
	struct mtls *c = mtls_client_new(ccfg);
	char portstr[16], buf[64];

	memset(r, 0, sizeof(*r));
	ck_assert_msg(c != NULL, "client_new: %s", mtls_config_error(ccfg));
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (name != NULL)
		ck_assert_int_eq(mtls_set_verify_name(c, name), 0);
	r->rc = mtls_connect(c, host, portstr);
	if (r->rc == 0 && mtls_write(c, "ping", 4) == 4 &&
	    mtls_read(c, buf, sizeof(buf)) == 4)
		r->code = MTLS_OK;
	else
		r->code = mtls_error_code(c);
	copy(r->msg, sizeof(r->msg), mtls_error(c));
	see(r, c);
	mtls_close(c);
	mtls_free(c);
}

static void
exchange(struct mtls_config *ccfg, int port, struct seen *r)
{
	exchange_as(ccfg, "localhost", NULL, port, r);
}

/* One connection: server config scfg, client config ccfg.  Both borrowed. */
static void
one(struct mtls_config *scfg, struct mtls_config *ccfg, struct seen *srv,
    struct seen *cli)
{
	struct psrv *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	psrv_start(s, scfg, 1);
	exchange(ccfg, s->port, cli);
	psrv_stop(s);
	*srv = s->rec[0];
	free(s);
}

/* As one, for a client identity against a server config; frees nothing. */
static void
client_as(struct mtls_config *scfg, const char *cert, const char *key,
    struct seen *srv, struct seen *cli)
{
	struct mtls_config *ccfg = cfg_new(cert, key, "ca.crt");

	one(scfg, ccfg, srv, cli);
	mtls_config_free(ccfg);
}

#define ck_assert_ok(srv, cli) \
	do { \
		ck_assert_msg((cli)->code == MTLS_OK, "client: %s: %s", \
		    mtls_error_name((cli)->code), (cli)->msg); \
		ck_assert_msg((srv)->rc == 0, "server: %s: %s", \
		    mtls_error_name((srv)->code), (srv)->msg); \
	} while (0)

#define ck_assert_code(seen, want) \
	ck_assert_msg((seen)->code == (want), "expected %s, got %s: %s", \
	    mtls_error_name(want), mtls_error_name((seen)->code), (seen)->msg)

/* The server refused the client with code and a message holding needle;
 * the client learned it was refused (its message is checked by the tests:
 * it differs for a missing certificate and a refused one). */
#define ck_assert_server_refused(srv, cli, want, needle) \
	do { \
		ck_assert_int_eq((srv)->rc, -1); \
		ck_assert_code(srv, want); \
		ck_assert_msg_has((srv)->msg, needle); \
		ck_assert_code(cli, MTLS_ERR_CERT_REJECTED); \
		if (getenv("POLICY_DEBUG")) \
			fprintf(stderr, "%d: server: %s\n    client: %s\n", \
			    __LINE__, (srv)->msg, (cli)->msg); \
	} while (0)

/* --------------------------------------------------- certificate digests */

static X509 *
load_cert(const char *name)
{
	FILE *f = fopen(pki(name), "r");
	X509 *x;

	ck_assert_msg(f != NULL, "cannot open %s", pki(name));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* Hex of d: lower case, or upper case with colons ("AB:CD:..."). */
static void
to_hex(const unsigned char *d, unsigned len, int colons, char *out)
{
	unsigned i;

	*out = '\0';
	for (i = 0; i < len; i++)
		out += sprintf(out, colons ? (i ? ":%02X" : "%02X") : "%02x", d[i]);
}

/* SHA-256 of the certificate's DER: colon form, as openssl x509
 * -fingerprint prints it, or plain lower-case hex. */
static void
cert_sha256(const char *name, int colons, char *out)
{
	X509 *x = load_cert(name);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len;

	ck_assert_int_eq(X509_digest(x, EVP_sha256(), md, &len), 1);
	to_hex(md, len, colons, out);
	X509_free(x);
}

/* SHA-256 of the certificate's SubjectPublicKeyInfo: lower-case hex, or
 * curl's --pinnedpubkey form "sha256//<base64>". */
static void
spki_sha256(const char *name, int curl_form, char *out)
{
	X509 *x = load_cert(name);
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned len;
	int der_len = i2d_PUBKEY(X509_get0_pubkey(x), &der);

	ck_assert_int_gt(der_len, 0);
	ck_assert_int_eq(EVP_Digest(der, (size_t)der_len, md, &len, EVP_sha256(),
	    NULL), 1);
	if (curl_form) {
		strcpy(out, "sha256//");
		EVP_EncodeBlock((unsigned char *)out + 8, md, (int)len);
	} else {
		to_hex(md, len, 0, out);
	}
	OPENSSL_free(der);
	X509_free(x);
}

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

	atomic_fetch_add(&cb->calls, 1);
	cb->chain_ok = chain_ok;
	copy(cb->cn, sizeof(cb->cn), mtls_peer_common_name(conn));
	copy(cb->subject, sizeof(cb->subject), mtls_peer_subject(conn));
	if (!atomic_load(&cb->verdict)) {
		snprintf(reason, reason_size, "%s", cb->reason);
		return 0;
	}
	return 1;
}

/* ===================================================== client-cert modes */

START_TEST(test_mode_required_default)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new(NULL, NULL, "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_REQUIRED));
	one(scfg, ccfg, &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NO_PEER_CERT,
	    "client presented no certificate");
	ck_assert_msg_has(cli.msg, "server requires a client certificate");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

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

START_TEST(test_mode_optional_with_good_cert)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.provided, 1);
	ck_assert_int_eq(srv.verified, 1);
	ck_assert_str_eq(srv.subject, CLIENT_DN);
	mtls_config_free(scfg);
}
END_TEST

/* As nginx's optional: a certificate that is presented must verify. */
START_TEST(test_mode_optional_with_untrusted_cert)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL), 0);
	client_as(scfg, "other-client.crt", "other-client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "client certificate not trusted: unable to get local issuer "
	    "certificate");
	ck_assert_msg_has(cli.msg, "server rejected our client certificate");
	mtls_config_free(scfg);
}
END_TEST

/* optional_no_ca lets it through, marked unverified, with the reason. */
START_TEST(test_mode_optional_no_ca_untrusted_cert_marked)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), 0);
	client_as(scfg, "other-client.crt", "other-client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.provided, 1);
	ck_assert_int_eq(srv.verified, 0);
	ck_assert_str_eq(srv.subject, "CN=other-client");
	ck_assert_msg_has(srv.verify_error, "unable to get local issuer "
	    "certificate");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_mode_optional_expired_cert)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	/* Presenting an expired certificate takes the insecure opt-out. */
	struct mtls_config *ccfg = make_bad_identity_config("client-expired.crt",
	    "client-expired.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_verify_client(scfg,
	    MTLS_VERIFY_CLIENT_OPTIONAL), 0);
	one(scfg, ccfg, &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "certificate has expired");
	/* The refused peer's identity is still there for the log. */
	ck_assert_str_eq(srv.cn, "client-expired");
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

START_TEST(test_mode_invalid)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_verify_client(cfg, 7),
	    MTLS_ERR_INVALID, "7");
	ck_assert_cfg_failed(cfg, mtls_config_set_verify_client(cfg, -1),
	    MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_config_error(cfg));
	mtls_config_free(cfg);
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
	struct psrv s;
	struct seen cli;

	psrv_start(&s, scfg, 2);
	exchange_as(ccfg, "127.0.0.1", "wrong.example.org", s.port, &cli);
	ck_assert_code(&cli, MTLS_ERR_HOSTNAME);
	ck_assert_msg_has(cli.msg, "wrong.example.org");
	mtls_config_free(ccfg);

	ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	exchange_as(ccfg, "127.0.0.1", "wrong.example.org", s.port, &cli);
	psrv_stop(&s);
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

/* ====================================================== advertised names */

START_TEST(test_ca_names_default)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(cli.ca0, "CN=libmtls Test Root CA");
	ck_assert_str_eq(cli.ca1, "");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_ca_names_file_advertised)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new(NULL, NULL, "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_ca_names_file(scfg,
	    pki("names-only-ca.crt")));
	one(scfg, ccfg, &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_NO_PEER_CERT,
	    "client presented no certificate");
	ck_assert_msg_has(cli.msg, "'CN=libmtls Other CA'");
	ck_assert_ptr_null(strstr(cli.msg, "Test Root CA"));
	ck_assert_str_eq(cli.ca0, "CN=libmtls Other CA");
	ck_assert_str_eq(cli.ca1, "");
	mtls_config_free(ccfg);

	/* Trust is unchanged: a client of the root still gets in. */
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(cli.ca0, "CN=libmtls Other CA");
	/* And one of the advertised CA does not. */
	client_as(scfg, "other-client.crt", "other-client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "client certificate not trusted");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_ca_names_file_errors)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_ca_names_file(cfg,
	    pki("no-such-file.crt")), MTLS_ERR_FILE, "no-such-file.crt");
	ck_assert_cfg_failed_has(cfg, mtls_config_set_ca_names_file(cfg,
	    pki("not-pem.txt")), MTLS_ERR_FORMAT, "not-pem.txt");
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_names_file(cfg,
	    pki("ca-bundle.crt")));
	mtls_config_free(cfg);
}
END_TEST

/* ================================================================= depth */

START_TEST(test_depth_two_intermediates_default)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	client_as(scfg, "client-deep-chain.crt", "client-deep.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(srv.cn, "client-deep");
	ck_assert_int_eq(srv.verified, 1);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_depth_three_intermediates_refused)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	client_as(scfg, "client-deeper-chain.crt", "client-deeper.key", &srv,
	    &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "certificate chain too long");
	ck_assert_msg_has(cli.msg, "server rejected our client certificate");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_depth_raised)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_verify_depth(scfg, 3));
	client_as(scfg, "client-deeper-chain.crt", "client-deeper.key", &srv,
	    &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(srv.cn, "client-deeper");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_depth_lowered)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	/* Depth 0: only certificates issued by the anchor itself. */
	ck_assert_int_eq(mtls_config_set_verify_depth(scfg, 0), 0);
	client_as(scfg, "client-chain.crt", "client-int.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "certificate chain too long");
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_depth_invalid)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_verify_depth(cfg, -1),
	    MTLS_ERR_INVALID, "-1");
	ck_assert_cfg_ok(cfg, mtls_config_set_verify_depth(cfg, 5));
	mtls_config_free(cfg);
}
END_TEST

/* =================================================================== CRL */

START_TEST(test_crl_revoked_refused)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_crl_file(scfg, pki("crl.pem"), 0));
	client_as(scfg, "client-revoked.crt", "client-revoked.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED, "revoked");
	ck_assert_msg_has(srv.msg, "CN=client-revoked");
	ck_assert_msg_has(cli.msg, "revoked");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_crl_revoked_accepted_without_crl)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	/* Control: the certificate itself is fine. */
	client_as(scfg, "client-revoked.crt", "client-revoked.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_crl_good_client_accepted)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_int_eq(mtls_config_set_crl_file(scfg, pki("crl.pem"), 0), 0);
	client_as(scfg, "client.crt", "client.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_int_eq(srv.verified, 1);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_crl_whole_chain)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	ck_assert_cfg_ok(scfg, mtls_config_set_crl_file(scfg,
	    pki("crl-chain.pem"), 1));
	client_as(scfg, "client-chain.crt", "client-int.key", &srv, &cli);
	ck_assert_ok(&srv, &cli);
	ck_assert_str_eq(srv.cn, "client-int");
	client_as(scfg, "client-revoked.crt", "client-revoked.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED, "revoked");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_crl_whole_chain_missing_crl)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct seen srv, cli;

	/* The intermediate has no CRL here: whole-chain checking refuses. */
	ck_assert_int_eq(mtls_config_set_crl_file(scfg, pki("crl.pem"), 1), 0);
	client_as(scfg, "client-chain.crt", "client-int.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "unable to get certificate CRL");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_crl_file_errors)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_crl_file(cfg,
	    pki("no-such-crl.pem"), 0), MTLS_ERR_FILE, "no-such-crl.pem");
	ck_assert_cfg_failed_has(cfg, mtls_config_set_crl_file(cfg,
	    pki("not-pem.txt"), 0), MTLS_ERR_FORMAT, "not-pem.txt");
	/* A certificate is not a CRL. */
	ck_assert_cfg_failed_has(cfg, mtls_config_set_crl_file(cfg,
	    pki("ca.crt"), 0), MTLS_ERR_FORMAT, "ca.crt");
	mtls_config_free(cfg);
}
END_TEST

/* ============================================================ allow-lists */

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

/* Client identity name.crt/name.key against one allow entry. */
static void
allow_one(int type, const char *value, const char *name, int admitted)
{
	struct allow_entry e = { type, value };
	struct mtls_config *scfg = allow_server(&e, 1);
	char crt[128], key[128];
	struct seen srv, cli;

	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(key, sizeof(key), "%s.key", name);
	client_as(scfg, crt, key, &srv, &cli);
	if (admitted) {
		ck_assert_msg(srv.rc == 0 && cli.code == MTLS_OK,
		    "allow %d '%s' should admit %s: server: %s; client: %s",
		    type, value, name, srv.msg, cli.msg);
	} else {
		ck_assert_msg(srv.rc == -1 && srv.code == MTLS_ERR_NOT_ALLOWED,
		    "allow %d '%s' should refuse %s with MTLS_ERR_NOT_ALLOWED, "
		    "got %s: %s", type, value, name, mtls_error_name(srv.code),
		    srv.msg);
		ck_assert_msg_has(srv.msg, "not allowed");
		ck_assert_code(&cli, MTLS_ERR_CERT_REJECTED);
		ck_assert_msg_has(cli.msg, "server rejected our client certificate");
	}
	mtls_config_free(scfg);
}

START_TEST(test_allow_cn)
{
	allow_one(MTLS_ALLOW_CN, "client", "client", 1);
	allow_one(MTLS_ALLOW_CN, "clien", "client", 0);
	allow_one(MTLS_ALLOW_CN, "client-x", "client", 0);
	allow_one(MTLS_ALLOW_CN, "payment-*", "client-ou", 1);
	allow_one(MTLS_ALLOW_CN, "payment-*", "client", 0);
}
END_TEST

START_TEST(test_allow_ou)
{
	allow_one(MTLS_ALLOW_OU, "payments", "client-ou", 1);
	allow_one(MTLS_ALLOW_OU, "payments", "client", 0);
	allow_one(MTLS_ALLOW_OU, "testers", "client", 1);
	/* OU is matched against the OU, not the CN or O. */
	allow_one(MTLS_ALLOW_OU, "payment-service", "client-ou", 0);
}
END_TEST

START_TEST(test_allow_dns)
{
	allow_one(MTLS_ALLOW_DNS, "client.example.org", "client", 1);
	allow_one(MTLS_ALLOW_DNS, "*.example.org", "client", 1);
	/* A '*' covers one label only. */
	allow_one(MTLS_ALLOW_DNS, "*.example.org", "client-subdomain", 0);
	allow_one(MTLS_ALLOW_DNS, "*.b.example.org", "client-subdomain", 1);
	/* No DNS SAN at all. */
	allow_one(MTLS_ALLOW_DNS, "*.example.org", "client-spiffe", 0);
}
END_TEST

START_TEST(test_allow_uri_spiffe)
{
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/prod/sa/billing",
	    "client-spiffe", 1);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/billing",
	    "client-spiffe", 1);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/*",
	    "client-spiffe", 1);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/*", "client", 1);
	/* A '*' does not cross a '/'. */
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/billing",
	    "client-spiffe-extra", 0);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/billing",
	    "client-spiffe", 0);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/*", "client-spiffe", 0);
	/* Other trust domain, other service account. */
	allow_one(MTLS_ALLOW_URI, "spiffe://example.com/ns/*/sa/*",
	    "client-spiffe", 0);
	allow_one(MTLS_ALLOW_URI, "spiffe://example.org/ns/*/sa/payroll",
	    "client-spiffe", 0);
}
END_TEST

START_TEST(test_allow_ip)
{
	allow_one(MTLS_ALLOW_IP, "127.0.0.2", "client", 1);
	allow_one(MTLS_ALLOW_IP, "127.0.0.1", "client", 0);
	allow_one(MTLS_ALLOW_IP, "::1", "client", 0);
}
END_TEST

START_TEST(test_allow_spki)
{
	char hex[128], b64[128], other[128];

	spki_sha256("client.crt", 0, hex);
	spki_sha256("client.crt", 1, b64);
	spki_sha256("client-ou.crt", 0, other);
	ck_assert_uint_eq(strlen(hex), 64);
	allow_one(MTLS_ALLOW_SPKI_SHA256, hex, "client", 1);
	allow_one(MTLS_ALLOW_SPKI_SHA256, b64, "client", 1);
	allow_one(MTLS_ALLOW_SPKI_SHA256, other, "client", 0);
}
END_TEST

START_TEST(test_allow_cert_fingerprint)
{
	char colons[160], plain[128], other[160];

	cert_sha256("client.crt", 1, colons);
	cert_sha256("client.crt", 0, plain);
	cert_sha256("client-ou.crt", 1, other);
	ck_assert_uint_eq(strlen(colons), 95);
	allow_one(MTLS_ALLOW_CERT_SHA256, colons, "client", 1);
	allow_one(MTLS_ALLOW_CERT_SHA256, plain, "client", 1);
	allow_one(MTLS_ALLOW_CERT_SHA256, other, "client", 0);
}
END_TEST

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

START_TEST(test_allow_does_not_bypass_chain)
{
	struct allow_entry e = { MTLS_ALLOW_CN, "other-client" };
	struct mtls_config *scfg = allow_server(&e, 1);
	struct seen srv, cli;

	/* Allowed by name, but its chain does not verify: still refused, for
	 * the chain. */
	client_as(scfg, "other-client.crt", "other-client.key", &srv, &cli);
	ck_assert_server_refused(&srv, &cli, MTLS_ERR_PEER_UNTRUSTED,
	    "client certificate not trusted");
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_allow_malformed)
{
	struct mtls_config *cfg = mtls_config_new();
	char hex[128];

	ck_assert_cfg_failed_has(cfg, mtls_config_allow(cfg,
	    MTLS_ALLOW_SPKI_SHA256, "abc123"), MTLS_ERR_INVALID, "abc123");
	spki_sha256("client.crt", 0, hex);
	hex[63] = '\0';         /* 63 digits */
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_SPKI_SHA256,
	    hex), MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_config_error(cfg));
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_CERT_SHA256,
	    "zz:zz"), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "zz:zz");
	spki_sha256("client.crt", 0, hex);
	hex[0] = 'g';           /* 64 characters, not all hex */
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_CERT_SHA256,
	    hex), MTLS_ERR_INVALID);
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_SPKI_SHA256,
	    "sha256//not base64!"), MTLS_ERR_INVALID);
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_IP,
	    "not-an-address"), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_config_error(cfg), "not-an-address");
	ck_assert_cfg_failed_has(cfg, mtls_config_allow(cfg, 99, "client"),
	    MTLS_ERR_INVALID, "99");
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, 0, "client"),
	    MTLS_ERR_INVALID);
	ck_assert_cfg_failed_has(cfg, mtls_config_allow(cfg, MTLS_ALLOW_CN, ""),
	    MTLS_ERR_INVALID, "empty");
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_CN, NULL),
	    MTLS_ERR_INVALID);
	ck_assert_cfg_failed(cfg, mtls_config_allow(cfg, MTLS_ALLOW_URI,
	    "spiffe://example.org/\n"), MTLS_ERR_INVALID);
	/* Well-formed values of each type are taken. */
	ck_assert_cfg_ok(cfg, mtls_config_allow(cfg, MTLS_ALLOW_IP, "::1"));
	ck_assert_cfg_ok(cfg, mtls_config_allow(cfg, MTLS_ALLOW_CN, "a*"));
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_allow_client_pins_server)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen srv, cli;

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
	{
		char hex[128];

		spki_sha256("server.crt", 0, hex);
		ck_assert_int_eq(mtls_config_allow(ccfg, MTLS_ALLOW_SPKI_SHA256,
		    hex), 0);
	}
	one(scfg, ccfg, &srv, &cli);
	ck_assert_ok(&srv, &cli);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
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
	struct psrv s;
	struct seen c1, c2;

	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &scb), 0);
	ck_assert_int_eq(mtls_config_set_verify_callback(ccfg, verify_cb, &ccb), 0);
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
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
	struct psrv s;
	struct seen c1, c2;

	/* The callback admits the full handshake, then refuses: a resumed
	 * session is not a way around it. */
	ck_assert_int_eq(mtls_config_set_verify_callback(scfg, verify_cb, &scb), 0);
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	atomic_store(&scb.verdict, 0);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_server_refused(&s.rec[1], &c2, MTLS_ERR_NOT_ALLOWED,
	    "second visit refused");
	ck_assert_int_eq(atomic_load(&scb.calls), 2);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* ============================================================= preflight */

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

/* Loads cert/key as the identity of a client or server trusting ca.crt,
 * and expects MTLS_ERR_BAD_IDENTITY naming needle, at load or at *_new. */
static void
expect_bad_identity(const char *cert, const char *key, int server,
    const char *needle)
{
	struct mtls_config *cfg = mtls_config_new();
	int rc;

	ck_assert_int_eq(mtls_config_set_ca_file(cfg, pki("ca.crt")), 0);
	rc = mtls_config_set_cert_file(cfg, cert, key, NULL);
	if (rc == 0) {
		struct mtls *c = server ? mtls_server_new(cfg) :
		    mtls_client_new(cfg);

		ck_assert_msg(c == NULL, "%s accepted as a %s identity", cert,
		    server ? "server" : "client");
	}
	ck_assert_msg(mtls_config_error_code(cfg) == MTLS_ERR_BAD_IDENTITY,
	    "%s: expected MTLS_ERR_BAD_IDENTITY, got %s: %s", cert,
	    mtls_error_name(mtls_config_error_code(cfg)),
	    mtls_config_error(cfg) ? mtls_config_error(cfg) : "(null)");
	ck_assert_msg_has(mtls_config_error(cfg), needle);
	mtls_config_free(cfg);
}

START_TEST(test_preflight_expired_own_cert)
{
	expect_bad_identity(pki("client-expired.crt"), pki("client-expired.key"),
	    0, "expired");
	expect_bad_identity(pki("server-expired.crt"), pki("server-expired.key"),
	    1, "expired");
}
END_TEST

START_TEST(test_preflight_not_yet_valid_own_cert)
{
	expect_bad_identity(pki("client-notyet.crt"), pki("client-notyet.key"),
	    0, "not valid yet");
}
END_TEST


/* Writes the named PKI files, in order, into one file in a new temporary
 * directory; returns its path (static). */
static const char *
concat(const char *const *names, size_t n, char *dir)
{
	static char path[256];
	FILE *f;
	size_t i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/chain.crt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < n; i++) {
		char *text = slurp(pki(names[i]), NULL);

		fputs(text, f);
		free(text);
	}
	fclose(f);
	return path;
}

static void
concat_remove(const char *path, const char *dir)
{
	unlink(path);
	rmdir(dir);
}

START_TEST(test_preflight_chain_out_of_order)
{
	/* cat int.crt client-int.crt: the intermediate before the leaf, the
	 * key that of the leaf. */
	static const char *const files[] = { "int.crt", "client-int.crt" };
	char dir[] = "/tmp/check_policy.XXXXXX";
	const char *path = concat(files, 2, dir);

	expect_bad_identity(path, pki("client-int.key"), 0, "order");
	concat_remove(path, dir);
}
END_TEST

START_TEST(test_preflight_intermediates_out_of_order)
{
	static const char *const files[] = { "client-deeper.crt", "int2.crt",
	    "int3.crt", "int-chain.crt" };
	char dir[] = "/tmp/check_policy.XXXXXX";
	const char *path = concat(files, 4, dir);

	expect_bad_identity(path, pki("client-deeper.key"), 0, "out of order");
	concat_remove(path, dir);
}
END_TEST

START_TEST(test_preflight_non_ca_in_chain)
{
	static const char *const files[] = { "client.crt", "server.crt" };
	char dir[] = "/tmp/check_policy.XXXXXX";
	const char *path = concat(files, 2, dir);

	expect_bad_identity(path, pki("client.key"), 0, "not a CA");
	concat_remove(path, dir);
}
END_TEST

START_TEST(test_preflight_chain_in_order)
{
	static const char *const files[] = { "client-deeper.crt", "int3.crt",
	    "int2.crt", "int-chain.crt" };
	char dir[] = "/tmp/check_policy.XXXXXX";
	const char *path = concat(files, 4, dir);
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, path,
	    pki("client-deeper.key"), NULL));
	ck_assert_ptr_null(mtls_config_warning(cfg, 0));
	mtls_config_free(cfg);
	concat_remove(path, dir);
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

/* ============================================================== sessions */

START_TEST(test_session_resumed_keeps_identity)
{
	struct allow_entry e = { MTLS_ALLOW_CN, "client" };
	struct mtls_config *scfg = allow_server(&e, 1);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen c1, c2;

	ck_assert_int_eq(mtls_config_allow(ccfg, MTLS_ALLOW_DNS, "localhost"), 0);
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_int_eq(c1.resumed, 0);
	ck_assert_int_eq(s.rec[0].resumed, 0);
	ck_assert_int_eq(c2.resumed, 1);
	ck_assert_int_eq(s.rec[1].resumed, 1);
	/* The server still knows who the client is ... */
	ck_assert_str_eq(s.rec[1].subject, CLIENT_DN);
	ck_assert_str_eq(s.rec[1].cn, "client");
	ck_assert_int_eq(s.rec[1].provided, 1);
	ck_assert_int_eq(s.rec[1].verified, 1);
	/* ... and the client who the server is. */
	ck_assert_str_eq(c2.subject, "CN=localhost");
	ck_assert_str_eq(c2.fingerprint, c1.fingerprint);
	ck_assert_int_eq(c2.verified, 1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_session_cache_off)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen c1, c2;

	ck_assert_cfg_ok(ccfg, mtls_config_set_session_cache(ccfg, 0));
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_int_eq(c2.resumed, 0);
	ck_assert_int_eq(s.rec[1].resumed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_session_cache_keyed_by_port)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv a, b;
	struct seen c1, c2;

	/* Same server config, two listeners: a session for one port is not
	 * offered to the other. */
	psrv_start(&a, scfg, 1);
	psrv_start(&b, scfg, 1);
	exchange(ccfg, a.port, &c1);
	exchange(ccfg, b.port, &c2);
	psrv_stop(&a);
	psrv_stop(&b);
	ck_assert_ok(&b.rec[0], &c2);
	ck_assert_int_eq(c2.resumed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_session_tickets_off)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen c1, c2;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_tickets(scfg, 0));
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_int_eq(c2.resumed, 0);
	ck_assert_int_eq(s.rec[1].resumed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/*
 * A server keeps its sessions in a store of the configured size, behind
 * tickets that only name them: with room for one, a second client's
 * session evicts the first one's.
 */
START_TEST(test_session_store_evicts_oldest)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *a = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *b = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen a1, b1, a2, b2;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_cache(scfg, 1));
	psrv_start(&s, scfg, 4);
	exchange(a, s.port, &a1);
	exchange(b, s.port, &b1);
	exchange(a, s.port, &a2);       /* A's session was evicted by B's */
	exchange(b, s.port, &b2);       /* ... and B's by A's new one */
	psrv_stop(&s);
	ck_assert_ok(&s.rec[2], &a2);
	ck_assert_ok(&s.rec[3], &b2);
	ck_assert_int_eq(a2.resumed, 0);
	ck_assert_int_eq(s.rec[2].resumed, 0);
	ck_assert_int_eq(b2.resumed, 0);
	mtls_config_free(scfg);
	mtls_config_free(a);
	mtls_config_free(b);
}
END_TEST

/* With room for two, both clients resume. */
START_TEST(test_session_store_keeps_each_client)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *a = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *b = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen a1, b1, a2, b2;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_cache(scfg, 2));
	psrv_start(&s, scfg, 4);
	exchange(a, s.port, &a1);
	exchange(b, s.port, &b1);
	exchange(a, s.port, &a2);
	exchange(b, s.port, &b2);
	psrv_stop(&s);
	ck_assert_int_eq(a2.resumed, 1);
	ck_assert_int_eq(s.rec[2].resumed, 1);
	ck_assert_int_eq(b2.resumed, 1);
	ck_assert_str_eq(s.rec[3].subject, CLIENT_DN);
	mtls_config_free(scfg);
	mtls_config_free(a);
	mtls_config_free(b);
}
END_TEST

/* A server with no store (size 0) still resumes: its tickets then hold
 * the whole session. */
START_TEST(test_session_store_off_stateless_tickets)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen c1, c2;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_cache(scfg, 0));
	psrv_start(&s, scfg, 2);
	exchange(ccfg, s.port, &c1);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_int_eq(c2.resumed, 1);
	ck_assert_int_eq(s.rec[1].resumed, 1);
	ck_assert_str_eq(s.rec[1].subject, CLIENT_DN);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* n full handshakes of ccfg (a client that keeps no session) with servers
 * of scfg, MAX_CONNS at a time; after each, check(scfg, i) if not NULL. */
static void
full_handshakes(struct mtls_config *scfg, struct mtls_config *ccfg, int n,
    void (*check)(struct mtls_config *, int))
{
	struct psrv s;
	struct seen r;
	int i = 0, batch;

	while (i < n) {
		batch = n - i < MAX_CONNS ? n - i : MAX_CONNS;
		psrv_start(&s, scfg, batch);
		for (; batch > 0; batch--, i++) {
			exchange(ccfg, s.port, &r);
			ck_assert_msg(r.code == MTLS_OK, "handshake %d: %s", i, r.msg);
			ck_assert_int_eq(r.resumed, 0);
			if (check != NULL)
				check(scfg, i);
		}
		psrv_stop(&s);
	}
}

/* Within 64 KiB after every handshake; the first ones all kept. */
static void
within_64k(struct mtls_config *scfg, int i)
{
	int count;

	ck_assert_uint_le(mtls_config_session_store_bytes(scfg, &count),
	    64 * 1024);
	if (i < 5)
		ck_assert_int_eq(count, i + 1);
}

/*
 * The store is capped in bytes as well as in sessions (issue 11: RSS grew
 * until 2048 sessions of about 7 KiB each were kept).  Full handshakes of
 * clients that keep no session fill a store of 64 KiB: it keeps what fits,
 * the newest, and a client that comes back soon still resumes.
 */
START_TEST(test_session_store_capped_by_bytes)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *once = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *back = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen r;
	size_t bytes;
	int count;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_store_bytes(scfg,
	    64 * 1024));
	ck_assert_cfg_ok(once, mtls_config_set_session_cache(once, 0));
	full_handshakes(scfg, once, 20, within_64k);
	/* about 7 KiB each, counted: some 9 fit, far from all 20 */
	bytes = mtls_config_session_store_bytes(scfg, &count);
	ck_assert_int_ge(count, 5);
	ck_assert_int_lt(count, 15);
	ck_assert_uint_ge(bytes, (size_t)count * 4096);
	psrv_start(&s, scfg, 2);
	exchange(back, s.port, &r);
	exchange(back, s.port, &r);
	psrv_stop(&s);
	ck_assert_int_eq(r.code, MTLS_OK);
	ck_assert_int_eq(r.resumed, 1);
	ck_assert_uint_le(mtls_config_session_store_bytes(scfg, NULL), 64 * 1024);
	mtls_config_free(scfg);
	mtls_config_free(once);
	mtls_config_free(back);
}
END_TEST

/* Under the default cap (10 MiB), 20 sessions are all kept, each counted
 * at its estimate; with a cap of 0 nothing is kept and tickets hold the
 * whole session, as with a store of size 0. */
START_TEST(test_session_store_bytes_default_and_off)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *off = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *once = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s;
	struct seen r;
	size_t bytes;
	int count;

	ck_assert_cfg_ok(once, mtls_config_set_session_cache(once, 0));
	full_handshakes(scfg, once, 20, NULL);
	bytes = mtls_config_session_store_bytes(scfg, &count);
	ck_assert_int_eq(count, 20);
	ck_assert_uint_ge(bytes, 20 * 4096);
	ck_assert_uint_le(bytes, 20 * 16384);
	ck_assert_cfg_ok(off, mtls_config_set_session_store_bytes(off, 0));
	psrv_start(&s, off, 2);
	exchange(ccfg, s.port, &r);
	exchange(ccfg, s.port, &r);
	psrv_stop(&s);
	ck_assert_int_eq(r.resumed, 1);
	ck_assert_uint_eq(mtls_config_session_store_bytes(off, &count), 0);
	ck_assert_int_eq(count, 0);
	ck_assert_uint_eq(mtls_config_session_store_bytes(NULL, &count), 0);
	mtls_config_free(scfg);
	mtls_config_free(off);
	mtls_config_free(once);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_session_settings_invalid)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_session_cache(cfg, -1),
	    MTLS_ERR_INVALID, "-1");
	ck_assert_cfg_failed_has(cfg, mtls_config_set_session_tickets(cfg, -1),
	    MTLS_ERR_INVALID, "-1");
	ck_assert_cfg_failed_has(cfg, mtls_config_set_session_store_bytes(cfg,
	    1000), MTLS_ERR_INVALID, "session store size 1000 bytes is too "
	    "small: at least 65536");
	ck_assert_cfg_ok(cfg, mtls_config_set_session_store_bytes(cfg, 65536));
	ck_assert_cfg_ok(cfg, mtls_config_set_session_tickets(cfg, 4));
	ck_assert_cfg_failed_has(cfg, mtls_config_add_ticket_key_file(cfg,
	    pki("no-such.key")), MTLS_ERR_FILE, "no-such.key");
	/* 44 bytes, not 80. */
	ck_assert_cfg_failed_has(cfg, mtls_config_add_ticket_key_file(cfg,
	    pki("not-pem.txt")), MTLS_ERR_FORMAT, "80");
	ck_assert_msg_has(mtls_config_error(cfg), "not-pem.txt");
	ck_assert_cfg_failed(cfg, mtls_config_add_ticket_key_file(cfg,
	    pki("empty.pem")), MTLS_ERR_FORMAT);
	ck_assert_cfg_ok(cfg, mtls_config_add_ticket_key_file(cfg,
	    pki("ticket.key")));
	mtls_config_free(cfg);
}
END_TEST

/* A server config with the ticket keys given (NULL-terminated). */
static struct mtls_config *
ticket_server(const char *key1, const char *key2)
{
	struct mtls_config *cfg = cfg_new("server.crt", "server.key", "ca.crt");

	if (key1 != NULL)
		ck_assert_cfg_ok(cfg, mtls_config_add_ticket_key_file(cfg,
		    pki(key1)));
	if (key2 != NULL)
		ck_assert_cfg_ok(cfg, mtls_config_add_ticket_key_file(cfg,
		    pki(key2)));
	return cfg;
}

/*
 * Two server instances, as behind a load balancer: server A issues the
 * session, then server B - another object with another config, that loaded
 * its ticket keys itself - takes A's place on the same port (the client's
 * cache is keyed by host and port) and gets the resumption attempt.
 * Returns whether B resumed; *cli2 is what the client saw of B.
 */
static int
resumes_across(struct mtls_config *a_cfg, struct mtls_config *b_cfg,
    struct mtls_config *ccfg, struct seen *cli2)
{
	struct psrv a, b;
	struct seen c1;
	char port[16];

	psrv_start(&a, a_cfg, 1);
	exchange(ccfg, a.port, &c1);
	psrv_stop(&a);
	ck_assert_ok(&a.rec[0], &c1);
	ck_assert_int_eq(c1.resumed, 0);
	snprintf(port, sizeof(port), "%d", a.port);
	psrv_start_on(&b, b_cfg, 1, port);
	exchange(ccfg, b.port, cli2);
	psrv_stop(&b);
	ck_assert_ok(&b.rec[0], cli2);
	ck_assert_int_eq(b.rec[0].resumed, cli2->resumed);
	if (cli2->resumed)
		ck_assert_str_eq(b.rec[0].subject, CLIENT_DN);
	return cli2->resumed;
}

START_TEST(test_ticket_key_shared_between_instances)
{
	struct mtls_config *a = ticket_server("ticket.key", NULL);
	struct mtls_config *b = ticket_server("ticket.key", NULL);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen cli;

	ck_assert_msg(resumes_across(a, b, ccfg, &cli),
	    "a session from server A did not resume on server B sharing its "
	    "ticket key");
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_ticket_key_different_not_resumed)
{
	struct mtls_config *a = ticket_server("ticket.key", NULL);
	struct mtls_config *b = ticket_server("ticket2.key", NULL);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen cli;

	/* B cannot read A's ticket: a full handshake, which succeeds. */
	ck_assert_int_eq(resumes_across(a, b, ccfg, &cli), 0);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_ticket_key_default_per_instance)
{
	struct mtls_config *a = ticket_server(NULL, NULL);
	struct mtls_config *b = ticket_server(NULL, NULL);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen cli;

	/* Without a key file each instance has keys of its own. */
	ck_assert_int_eq(resumes_across(a, b, ccfg, &cli), 0);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_ticket_key_rotation)
{
	struct mtls_config *a = ticket_server("ticket.key", NULL);
	/* B encrypts with the new key and still decrypts with the old one. */
	struct mtls_config *b = ticket_server("ticket2.key", "ticket.key");
	struct mtls_config *c = ticket_server("ticket2.key", NULL);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *ccfg2 = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen cli;

	ck_assert_msg(resumes_across(a, b, ccfg, &cli),
	    "the old key (added second) no longer decrypts");
	/* A new client's session from B is encrypted with the first key. */
	ck_assert_msg(resumes_across(b, c, ccfg2, &cli),
	    "B's tickets were not encrypted with its first key");
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(c);
	mtls_config_free(ccfg);
	mtls_config_free(ccfg2);
}
END_TEST

START_TEST(test_ticket_resumed_still_passes_allow_list)
{
	struct mtls_config *a = ticket_server("ticket.key", NULL);
	struct mtls_config *b = ticket_server("ticket.key", NULL);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct psrv s1, s2;
	struct seen c1, c2;
	char port[16];

	/* B shares A's key but admits only CN=nobody: the session A gave the
	 * client does not get it past B's list. */
	ck_assert_int_eq(mtls_config_allow(b, MTLS_ALLOW_CN, "nobody"), 0);
	psrv_start(&s1, a, 1);
	exchange(ccfg, s1.port, &c1);
	psrv_stop(&s1);
	ck_assert_ok(&s1.rec[0], &c1);
	snprintf(port, sizeof(port), "%d", s1.port);
	psrv_start_on(&s2, b, 1, port);
	exchange(ccfg, s2.port, &c2);
	psrv_stop(&s2);
	ck_assert_server_refused(&s2.rec[0], &c2, MTLS_ERR_NOT_ALLOWED,
	    "CN=client");
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

/* ============================================================== rotation */

START_TEST(test_rotation_new_cert_for_new_clients)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	char fp_a[128], fp_b[128];
	struct psrv s;
	struct seen c1, c2;

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	psrv_start(&s, a, 2);
	exchange(ccfg, s.port, &c1);
	ck_assert_int_eq(mtls_server_set_config(s.srv, b), 0);
	ck_assert_ptr_null(mtls_error(s.srv));
	/* The server holds its own reference. */
	mtls_config_free(b);
	exchange(ccfg, s.port, &c2);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_str_eq(c1.fingerprint, fp_a);
	ck_assert_str_eq(c2.fingerprint, fp_b);
	ck_assert_str_eq(c2.subject, "CN=localhost");
	ck_assert_str_eq(c1.dns0, "localhost");
	ck_assert_str_eq(c2.dns0, "");          /* the CN-only certificate */
	mtls_config_free(a);
	mtls_config_free(ccfg);
}
END_TEST

struct held {
	struct mtls *srv;
	struct mtls *conn;
	sem_t accepted, go;
	int hs_rc;
	char err[512];
};

/* Accepts one connection, tells the test, waits for its go, then
 * handshakes and echoes. */
static void *
held_main(void *arg)
{
	struct held *h = arg;
	char buf[256];
	ssize_t n;

	if (mtls_accept(h->srv, &h->conn) != 0) {
		h->hs_rc = -2;
		sem_post(&h->accepted);
		return NULL;
	}
	sem_post(&h->accepted);
	sem_wait(&h->go);
	h->hs_rc = mtls_handshake(h->conn);
	copy(h->err, sizeof(h->err), mtls_error(h->conn));
	if (h->hs_rc == 0) {
		while ((n = mtls_read(h->conn, buf, sizeof(buf))) > 0)
			if (mtls_write(h->conn, buf, (size_t)n) < 0)
				break;
		mtls_close(h->conn);
	}
	mtls_free(h->conn);
	return NULL;
}

struct bg_client {
	struct mtls_config *cfg;
	int port;
	struct mtls *c;
	int rc;
};

static void *
bg_connect(void *arg)
{
	struct bg_client *b = arg;
	char port[16];

	snprintf(port, sizeof(port), "%d", b->port);
	b->rc = mtls_connect(b->c, "localhost", port);
	return NULL;
}

START_TEST(test_rotation_inflight_untouched)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct held h = { 0 };
	struct bg_client bc;
	pthread_t ts, tc;
	char fp_a[128], buf[64];

	cert_sha256("server.crt", 0, fp_a);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	h.srv = mtls_server_new(a);
	ck_assert_ptr_nonnull(h.srv);
	ck_assert_int_eq(mtls_listen(h.srv, "127.0.0.1", "0", 4), 0);
	sem_init(&h.accepted, 0, 0);
	sem_init(&h.go, 0, 0);
	pthread_create(&ts, NULL, held_main, &h);
	bc = (struct bg_client){ ccfg, mtls_local_port(h.srv),
	    mtls_client_new(ccfg), -99 };
	ck_assert_ptr_nonnull(bc.c);
	pthread_create(&tc, NULL, bg_connect, &bc);

	/* Accepted (TCP) under config A, handshake not yet done: rotate. */
	sem_wait(&h.accepted);
	ck_assert_int_eq(mtls_server_set_config(h.srv, b), 0);
	sem_post(&h.go);
	pthread_join(tc, NULL);
	ck_assert_msg(bc.rc == 0, "client: %s", mtls_error(bc.c));
	/* It kept the config it was accepted with. */
	ck_assert_str_eq(mtls_peer_fingerprint_sha256(bc.c), fp_a);

	/* And it keeps working after the rotation. */
	ck_assert_int_eq(mtls_write(bc.c, "still here", 10), 10);
	ck_assert_int_eq(mtls_read(bc.c, buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, "still here", 10), 0);
	mtls_close(bc.c);
	pthread_join(ts, NULL);
	ck_assert_msg(h.hs_rc == 0, "server: %s", h.err);
	mtls_free(bc.c);
	mtls_free(h.srv);
	sem_destroy(&h.accepted);
	sem_destroy(&h.go);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_established_connection_keeps_working)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *listener, *sside, *cside;
	char buf[64];

	connect_pair(a, ccfg, &listener, &sside, &cside);
	ck_assert_int_eq(mtls_server_set_config(listener, b), 0);
	mtls_config_free(b);
	mtls_config_free(a);    /* sside keeps its own reference */
	ck_assert_int_eq(mtls_write(cside, "after", 5), 5);
	ck_assert_int_eq(mtls_read(sside, buf, sizeof(buf)), 5);
	ck_assert_int_eq(mtls_write(sside, "reply", 5), 5);
	ck_assert_int_eq(mtls_read(cside, buf, sizeof(buf)), 5);
	ck_assert_str_eq(mtls_peer_common_name(sside), "client");
	mtls_free(cside);
	mtls_free(sside);
	mtls_free(listener);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_bad_config_keeps_old)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *noid = cfg_new(NULL, NULL, "ca.crt");
	struct mtls_config *wrong = cfg_new("server-clientauth-only.crt",
	    "server-clientauth-only.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	char fp_a[128];
	struct psrv s;
	struct seen cli;

	cert_sha256("server.crt", 0, fp_a);
	psrv_start(&s, a, 1);
	ck_assert_int_eq(mtls_server_set_config(s.srv, noid), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_INVALID);
	ck_assert_msg_has(mtls_error(s.srv), "certificate");
	ck_assert_int_eq(mtls_server_set_config(s.srv, wrong), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_BAD_IDENTITY);
	ck_assert_msg_has(mtls_error(s.srv), "serverAuth");
	ck_assert_int_eq(mtls_server_set_config(s.srv, NULL), -1);
	ck_assert_int_eq(mtls_error_code(s.srv), MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_error(s.srv));
	/* The old config still serves. */
	exchange(ccfg, s.port, &cli);
	psrv_stop(&s);
	ck_assert_ok(&s.rec[0], &cli);
	ck_assert_str_eq(cli.fingerprint, fp_a);
	mtls_config_free(a);
	mtls_config_free(noid);
	mtls_config_free(wrong);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_rotation_needs_listening_server)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *client = mtls_client_new(ccfg);

	ck_assert_int_eq(mtls_server_set_config(client, a), -1);
	ck_assert_int_eq(mtls_error_code(client), MTLS_ERR_INVALID);
	ck_assert_ptr_nonnull(mtls_error(client));
	ck_assert_int_eq(mtls_server_set_config(NULL, a), -1);
	mtls_free(client);
	mtls_config_free(a);
	mtls_config_free(ccfg);
}
END_TEST

enum { ROT_CLIENTS = 4, ROT_ROUNDS = 20, ROT_SWAPS = 50,
    ROT_MAX_CONNS = ROT_CLIENTS * ROT_ROUNDS + 8 };

struct rot_server {
	struct mtls *srv;
	pthread_t threads[ROT_MAX_CONNS];
	int nthreads;
};

static void *
rot_serve(void *arg)
{
	struct mtls *c = arg;
	char buf[256];
	ssize_t n;

	if (mtls_handshake(c) == 0) {
		while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
			if (mtls_write(c, buf, (size_t)n) < 0)
				break;
		mtls_close(c);
	}
	mtls_free(c);
	return NULL;
}

static void *
rot_accept(void *arg)
{
	struct rot_server *r = arg;
	struct mtls *c;

	while (r->nthreads < ROT_MAX_CONNS && mtls_accept(r->srv, &c) == 0) {
		if (pthread_create(&r->threads[r->nthreads], NULL, rot_serve, c)
		    != 0) {
			mtls_free(c);
			continue;
		}
		r->nthreads++;
	}
	return NULL;
}

struct rot_client {
	struct mtls_config *cfg;
	int port, ok;
	char err[512];
};

static void *
rot_client_main(void *arg)
{
	struct rot_client *w = arg;
	char port[16], buf[64];
	int i;

	snprintf(port, sizeof(port), "%d", w->port);
	for (i = 0; i < ROT_ROUNDS; i++) {
		struct mtls *c = mtls_client_new(w->cfg);
		const char *cn;

		if (c == NULL) {
			snprintf(w->err, sizeof(w->err), "client_new: %s",
			    mtls_config_error(w->cfg));
			break;
		}
		if (mtls_connect(c, "localhost", port) == 0 &&
		    mtls_write(c, "x", 1) == 1 && mtls_read(c, buf, 1) == 1 &&
		    (cn = mtls_peer_common_name(c)) != NULL &&
		    strcmp(cn, "localhost") == 0)
			w->ok++;
		else if (w->err[0] == '\0')
			snprintf(w->err, sizeof(w->err), "round %d: %s", i,
			    mtls_error(c) ? mtls_error(c) : "echo failed");
		mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

struct swapper {
	struct mtls *srv;
	struct mtls_config *cfg[2];
	int ok;
	char err[512];
};

static void *
swap_main(void *arg)
{
	struct swapper *s = arg;
	int i;

	for (i = 0; i < ROT_SWAPS; i++) {
		if (mtls_server_set_config(s->srv, s->cfg[i % 2]) == 0)
			s->ok++;
		else if (s->err[0] == '\0')
			snprintf(s->err, sizeof(s->err), "%s", mtls_error(s->srv));
		usleep(2000);
	}
	return NULL;
}

START_TEST(test_rotation_under_load)
{
	struct mtls_config *a = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *b = cfg_new("server-cn.crt", "server-cn.key", "ca.crt");
	/* Half the clients resume sessions across the swaps, half do full
	 * handshakes every time. */
	struct mtls_config *cc_resume = cfg_new("client.crt", "client.key",
	    "ca.crt");
	struct mtls_config *cc_full = cfg_new("client.crt", "client.key",
	    "ca.crt");
	struct rot_server rs = { 0 };
	struct rot_client w[ROT_CLIENTS];
	struct swapper sw = { 0 };
	pthread_t acceptor, swap, t[ROT_CLIENTS];
	int i;

	ck_assert_int_eq(mtls_config_set_session_cache(cc_full, 0), 0);
	rs.srv = mtls_server_new(a);
	ck_assert_ptr_nonnull(rs.srv);
	ck_assert_int_eq(mtls_listen(rs.srv, "127.0.0.1", "0", 64), 0);
	sw.srv = rs.srv;
	sw.cfg[0] = b;
	sw.cfg[1] = a;
	ck_assert_int_eq(pthread_create(&acceptor, NULL, rot_accept, &rs), 0);
	for (i = 0; i < ROT_CLIENTS; i++) {
		w[i] = (struct rot_client){ i % 2 ? cc_full : cc_resume,
		    mtls_local_port(rs.srv), 0, "" };
		ck_assert_int_eq(pthread_create(&t[i], NULL, rot_client_main,
		    &w[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&swap, NULL, swap_main, &sw), 0);
	pthread_join(swap, NULL);
	for (i = 0; i < ROT_CLIENTS; i++)
		pthread_join(t[i], NULL);
	mtls_wake(rs.srv);
	pthread_join(acceptor, NULL);
	for (i = 0; i < rs.nthreads; i++)
		pthread_join(rs.threads[i], NULL);
	mtls_free(rs.srv);
	ck_assert_msg(sw.ok == ROT_SWAPS, "%d/%d swaps ok, first error: %s",
	    sw.ok, ROT_SWAPS, sw.err);
	for (i = 0; i < ROT_CLIENTS; i++)
		ck_assert_msg(w[i].ok == ROT_ROUNDS, "client %d: %d/%d ok, first "
		    "error: %s", i, w[i].ok, ROT_ROUNDS, w[i].err);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(cc_resume);
	mtls_config_free(cc_full);
}
END_TEST

/* ============================================================= describe */

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

static TCase *
tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase(s, "modes", 30);
	tcase_add_test(tc, test_mode_required_default);
	tcase_add_test(tc, test_mode_optional_without_cert);
	tcase_add_test(tc, test_mode_optional_with_good_cert);
	tcase_add_test(tc, test_mode_optional_with_untrusted_cert);
	tcase_add_test(tc, test_mode_optional_no_ca_untrusted_cert_marked);
	tcase_add_test(tc, test_mode_optional_expired_cert);
	tcase_add_test(tc, test_mode_optional_no_ca_callback_accepts);
	tcase_add_test(tc, test_mode_optional_no_ca_callback_refuses);
	tcase_add_test(tc, test_mode_optional_no_ca_allow_list_decides);
	tcase_add_test(tc, test_mode_invalid);

	tc = tcase(s, "insecure", 30);
	tcase_add_test(tc, test_insecure_is_named_so);
	tcase_add_test(tc, test_insecure_client_unknown_ca);
	tcase_add_test(tc, test_insecure_client_wrong_name);
	tcase_add_test(tc, test_insecure_client_needs_no_ca);
	tcase_add_test(tc, test_insecure_server_asks_no_cert);

	tc = tcase(s, "ca-names", 30);
	tcase_add_test(tc, test_ca_names_default);
	tcase_add_test(tc, test_ca_names_file_advertised);
	tcase_add_test(tc, test_ca_names_file_errors);

	tc = tcase(s, "depth", 30);
	tcase_add_test(tc, test_depth_two_intermediates_default);
	tcase_add_test(tc, test_depth_three_intermediates_refused);
	tcase_add_test(tc, test_depth_raised);
	tcase_add_test(tc, test_depth_lowered);
	tcase_add_test(tc, test_depth_invalid);

	tc = tcase(s, "crl", 30);
	tcase_add_test(tc, test_crl_revoked_refused);
	tcase_add_test(tc, test_crl_revoked_accepted_without_crl);
	tcase_add_test(tc, test_crl_good_client_accepted);
	tcase_add_test(tc, test_crl_whole_chain);
	tcase_add_test(tc, test_crl_whole_chain_missing_crl);
	tcase_add_test(tc, test_crl_file_errors);

	tc = tcase(s, "allow", 60);
	tcase_add_test(tc, test_allow_cn);
	tcase_add_test(tc, test_allow_ou);
	tcase_add_test(tc, test_allow_dns);
	tcase_add_test(tc, test_allow_uri_spiffe);
	tcase_add_test(tc, test_allow_ip);
	tcase_add_test(tc, test_allow_spki);
	tcase_add_test(tc, test_allow_cert_fingerprint);
	tcase_add_test(tc, test_allow_none_matches_lists_presented);
	tcase_add_test(tc, test_allow_any_one_admits);
	tcase_add_test(tc, test_allow_does_not_bypass_chain);
	tcase_add_test(tc, test_allow_malformed);
	tcase_add_test(tc, test_allow_client_pins_server);

	tc = tcase(s, "callback", 30);
	tcase_add_test(tc, test_callback_accepts_sees_peer);
	tcase_add_test(tc, test_callback_refuses_with_reason);
	tcase_add_test(tc, test_callback_removed);
	tcase_add_test(tc, test_callback_after_allow_list);
	tcase_add_test(tc, test_callback_client_side_pins);
	tcase_add_test(tc, test_callback_runs_on_resumed_sessions);
	tcase_add_test(tc, test_callback_refuses_resumed_session);

	tc = tcase(s, "preflight", 30);
	tcase_add_test(tc, test_preflight_server_needs_server_auth);
	tcase_add_test(tc, test_preflight_client_needs_client_auth);
	tcase_add_test(tc, test_preflight_expired_own_cert);
	tcase_add_test(tc, test_preflight_not_yet_valid_own_cert);
	tcase_add_test(tc, test_preflight_chain_out_of_order);
	tcase_add_test(tc, test_preflight_intermediates_out_of_order);
	tcase_add_test(tc, test_preflight_non_ca_in_chain);
	tcase_add_test(tc, test_preflight_chain_in_order);
	tcase_add_test(tc, test_preflight_expiring_soon_warns);
	tcase_add_test(tc, test_preflight_insecure_opt_out_warns);
	tcase_add_test(tc, test_preflight_no_warning);

	tc = tcase(s, "sessions", 30);
	tcase_add_test(tc, test_session_resumed_keeps_identity);
	tcase_add_test(tc, test_session_cache_off);
	tcase_add_test(tc, test_session_cache_keyed_by_port);
	tcase_add_test(tc, test_session_tickets_off);
	tcase_add_test(tc, test_session_store_evicts_oldest);
	tcase_add_test(tc, test_session_store_keeps_each_client);
	tcase_add_test(tc, test_session_store_off_stateless_tickets);
	tcase_add_test(tc, test_session_store_capped_by_bytes);
	tcase_add_test(tc, test_session_store_bytes_default_and_off);
	tcase_add_test(tc, test_session_settings_invalid);
	tcase_add_test(tc, test_ticket_key_shared_between_instances);
	tcase_add_test(tc, test_ticket_key_different_not_resumed);
	tcase_add_test(tc, test_ticket_key_default_per_instance);
	tcase_add_test(tc, test_ticket_key_rotation);
	tcase_add_test(tc, test_ticket_resumed_still_passes_allow_list);

	tc = tcase(s, "rotation", 120);
	tcase_add_test(tc, test_rotation_new_cert_for_new_clients);
	tcase_add_test(tc, test_rotation_inflight_untouched);
	tcase_add_test(tc, test_rotation_established_connection_keeps_working);
	tcase_add_test(tc, test_rotation_bad_config_keeps_old);
	tcase_add_test(tc, test_rotation_needs_listening_server);
	tcase_add_test(tc, test_rotation_under_load);

	tc = tcase(s, "describe", 30);
	tcase_add_test(tc, test_describe_success);
	tcase_add_test(tc, test_describe_chain);
	tcase_add_test(tc, test_describe_failure);
	tcase_add_test(tc, test_describe_acceptable_cas);
	tcase_add_test(tc, test_describe_never_null);

	tc = tcase(s, "frozen", 10);
	tcase_add_test(tc, test_policy_setters_frozen);
	return s;
}
