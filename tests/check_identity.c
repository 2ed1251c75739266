/*
 * check_identity.c - loading our own certificate and key: separate PEM
 * files, chains, combined PEM, encrypted keys, PKCS#12 (modern, legacy,
 * without password), from files and from memory, and every way that fails.
 *
 * Table-driven: each load is a row with its inputs and the code and message
 * it must get; the cases of other shapes follow the table.
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

/* A config in use: frozen. */
static struct mtls *
freeze(void)
{
	struct mtls *c;

	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	c = mtls_client_new(cfg);
	ck_assert_msg(c != NULL, "%s", MSG);
	return c;
}

/* ------------------------------------------------------------- the table */

/* How a row loads its identity. */
enum how {
	PEM_FILES,      /* mtls_config_set_cert_file(cert, key, pass) */
	P12_FILE,       /* mtls_config_set_p12_file(cert, pass) */
	PEM_MEM,        /* mtls_config_set_cert_mem: cert's and key's bytes */
	P12_MEM,        /* mtls_config_set_p12_mem: cert's bytes */
};

/* What a row does with an identity that loaded. */
enum then {
	NOTHING,
	CAN_SERVE,              /* a server can be made from it */
	SERVER_HANDSHAKE,       /* it serves a client trusting only ca.crt */
	CLIENT_HANDSHAKE,       /* a server sees it as CN cn */
};

/*
 * One load of an identity: cert and key are files of the test PKI (NULL
 * and "" are passed as they are).  code MTLS_OK: it loads, then the row
 * does what then says; else it fails with code and a message holding has
 * and naming the files names (their paths), and not holding lacks.  A
 * frozen row loads into a config already in use.
 */
static const struct load_row {
	const char *name;
	enum how how;
	const char *cert, *key, *pass;
	int code;
	const char *has[2];
	const char *names[2];
	const char *lacks;
	enum then then;
	const char *cn;
	bool frozen;
} loads[] = {
	/* PEM files */
	{ "server cert and key files", PEM_FILES, "server.crt", "server.key",
	  NULL, MTLS_OK, .then = CAN_SERVE },
	{ "client cert and key files", PEM_FILES, "client.crt", "client.key",
	  NULL, MTLS_OK, .then = NOTHING },
	{ "RSA cert and key files", PEM_FILES, "server-cn.crt", "server-cn.key",
	  NULL, MTLS_OK, .then = NOTHING },
	{ "passphrase ignored for a plain key", PEM_FILES, "client.crt",
	  "client.key", "secret", MTLS_OK, .then = NOTHING },
	{ "chain file", PEM_FILES, "server-chain.crt", "server-int.key", NULL,
	  MTLS_OK, .then = CAN_SERVE },
	/* The client trusts only the root: the handshake needs int.crt. */
	{ "chain file: the intermediate is sent", PEM_FILES, "server-chain.crt",
	  "server-int.key", NULL, MTLS_OK, .then = SERVER_HANDSHAKE },
	{ "client chain file used", PEM_FILES, "client-chain.crt",
	  "client-int.key", NULL, MTLS_OK, .then = CLIENT_HANDSHAKE,
	  .cn = "client-int" },
	{ "combined PEM", PEM_FILES, "client-combined.pem", NULL, NULL, MTLS_OK,
	  .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "encrypted PKCS#8 key", PEM_FILES, "client.crt", "client-enc.key",
	  "secret", MTLS_OK, .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "encrypted traditional key", PEM_FILES, "client.crt",
	  "client-enc-trad.key", "secret", MTLS_OK, .then = NOTHING },
	{ "encrypted PKCS#8 key, no passphrase", PEM_FILES, "client.crt",
	  "client-enc.key", NULL, MTLS_ERR_PASSPHRASE,
	  .has = { "no passphrase", "is encrypted" },
	  .names = { "client-enc.key" } },
	{ "encrypted traditional key, no passphrase", PEM_FILES, "client.crt",
	  "client-enc-trad.key", NULL, MTLS_ERR_PASSPHRASE,
	  .has = { "no passphrase" }, .names = { "client-enc-trad.key" } },
	{ "encrypted PKCS#8 key, wrong passphrase", PEM_FILES, "client.crt",
	  "client-enc.key", "wrong", MTLS_ERR_PASSPHRASE,
	  .has = { "wrong passphrase" }, .names = { "client-enc.key" } },
	{ "encrypted traditional key, wrong passphrase", PEM_FILES,
	  "client.crt", "client-enc-trad.key", "wrong", MTLS_ERR_PASSPHRASE,
	  .has = { "wrong passphrase" }, .names = { "client-enc-trad.key" } },
	{ "encrypted key, empty passphrase", PEM_FILES, "client.crt",
	  "client-enc.key", "", MTLS_ERR_PASSPHRASE, .has = { "passphrase" },
	  .names = { "client-enc.key" } },
	/* A passphrase that starts right is still wrong. */
	{ "encrypted key, a prefix of the passphrase", PEM_FILES, "client.crt",
	  "client-enc.key", "secre", MTLS_ERR_PASSPHRASE,
	  .has = { "wrong passphrase" } },
	{ "encrypted combined PEM with its passphrase", PEM_FILES,
	  "client-enc-combined.pem", NULL, "secret", MTLS_OK, .then = NOTHING },
	{ "encrypted combined PEM, no passphrase", PEM_FILES,
	  "client-enc-combined.pem", NULL, NULL, MTLS_ERR_PASSPHRASE,
	  .has = { "no passphrase" }, .names = { "client-enc-combined.pem" } },
	{ "encrypted combined PEM, wrong passphrase", PEM_FILES,
	  "client-enc-combined.pem", NULL, "nope", MTLS_ERR_PASSPHRASE,
	  .has = { "wrong passphrase" },
	  .names = { "client-enc-combined.pem" } },

	/* PEM file errors */
	{ "missing certificate file", PEM_FILES, "no-such.crt", "client.key",
	  NULL, MTLS_ERR_FILE,
	  .has = { "No such file or directory", "certificate" },
	  .names = { "no-such.crt" } },
	{ "missing key file", PEM_FILES, "client.crt", "no-such.key", NULL,
	  MTLS_ERR_FILE, .has = { "No such file or directory", "key file" },
	  .names = { "no-such.key" } },
	{ "missing combined file", PEM_FILES, "no-such.pem", NULL, NULL,
	  MTLS_ERR_FILE, .has = { "No such file or directory" },
	  .names = { "no-such.pem" } },
	{ "certificate file is a directory", PEM_FILES, "ca-dir", "client.key",
	  NULL, MTLS_ERR_FILE, .has = { "directory" }, .names = { "ca-dir" } },
	{ "key file is a directory", PEM_FILES, "client.crt", "ca-dir", NULL,
	  MTLS_ERR_FILE, .has = { "directory" }, .names = { "ca-dir" } },
	{ "certificate file NULL", PEM_FILES, NULL, "client.key", NULL,
	  MTLS_ERR_INVALID, .has = { "no certificate file name given" } },
	{ "certificate file name empty", PEM_FILES, "", "client.key", NULL,
	  MTLS_ERR_INVALID, .has = { "no certificate file name given" } },
	{ "key file name empty", PEM_FILES, "client.crt", "", NULL,
	  MTLS_ERR_INVALID, .has = { "no key file name given" } },
	{ "certificate not PEM", PEM_FILES, "not-pem.txt", "client.key", NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no PEM certificate" },
	  .names = { "not-pem.txt" } },
	{ "certificate file empty", PEM_FILES, "empty.pem", "client.key", NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no PEM certificate" },
	  .names = { "empty.pem" } },
	{ "certificate file holds a key", PEM_FILES, "client.key", "client.key",
	  NULL, MTLS_ERR_FORMAT, .has = { "contains no PEM certificate" },
	  .names = { "client.key" } },
	{ "certificate file is PKCS#12", PEM_FILES, "client.p12", "client.key",
	  NULL, MTLS_ERR_FORMAT, .has = { "PKCS#12", "is not PEM" },
	  .names = { "client.p12" } },
	{ "key not PEM", PEM_FILES, "client.crt", "not-pem.txt", NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no PEM private key" },
	  .names = { "not-pem.txt" } },
	{ "key file empty", PEM_FILES, "client.crt", "empty.pem", NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no PEM private key" },
	  .names = { "empty.pem" } },
	{ "key file holds a certificate", PEM_FILES, "client.crt", "client.crt",
	  NULL, MTLS_ERR_FORMAT, .has = { "contains no PEM private key" },
	  .names = { "client.crt" } },
	{ "combined file without a key", PEM_FILES, "client.crt", NULL, NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no private key" },
	  .names = { "client.crt" } },
	/* The chain's leaf is server-int, not server: server.key is wrong. */
	{ "key of another certificate than the chain's", PEM_FILES,
	  "server-chain.crt", "server.key", NULL, MTLS_ERR_KEY_MISMATCH,
	  .has = { "does not match" },
	  .names = { "server.key", "server-chain.crt" } },
	{ "RSA certificate, EC key", PEM_FILES, "server-cn.crt", "server.key",
	  NULL, MTLS_ERR_KEY_MISMATCH, .has = { "does not match" } },
	/* Both missing: the message names the certificate, read first. */
	{ "both missing: the certificate named", PEM_FILES, "no-such.crt",
	  "no-such.key", NULL, MTLS_ERR_FILE, .has = { NULL },
	  .names = { "no-such.crt" } },

	/* PKCS#12 files */
	{ "PKCS#12", P12_FILE, "client.p12", NULL, "p12pass", MTLS_OK,
	  .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "PKCS#12 without password, NULL", P12_FILE, "client-nopass.p12", NULL,
	  NULL, MTLS_OK, .then = NOTHING },
	{ "PKCS#12 without password, empty", P12_FILE, "client-nopass.p12",
	  NULL, "", MTLS_OK, .then = NOTHING },
	{ "PKCS#12 without password, given one", P12_FILE, "client-nopass.p12",
	  NULL, "p12pass", MTLS_ERR_P12_PASSWORD,
	  .has = { "wrong password for PKCS#12 file" },
	  .names = { "client-nopass.p12" } },
	{ "legacy PKCS#12", P12_FILE, "client-legacy.p12", NULL, "p12pass",
	  MTLS_OK, .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "legacy PKCS#12, wrong password", P12_FILE, "client-legacy.p12", NULL,
	  "wrong", MTLS_ERR_P12_PASSWORD,
	  .has = { "wrong password for PKCS#12 file" },
	  .names = { "client-legacy.p12" } },
	{ "PKCS#12, wrong password", P12_FILE, "client.p12", NULL, "wrong",
	  MTLS_ERR_P12_PASSWORD, .has = { "wrong password for PKCS#12 file" },
	  .names = { "client.p12" } },
	{ "PKCS#12, no password", P12_FILE, "client.p12", NULL, NULL,
	  MTLS_ERR_P12_PASSWORD,
	  .has = { "none was given", "protected by a password" },
	  .names = { "client.p12" } },
	{ "PKCS#12, empty password", P12_FILE, "client.p12", NULL, "",
	  MTLS_ERR_P12_PASSWORD, .has = { "none was given" },
	  .names = { "client.p12" } },
	{ "PKCS#12 file is PEM", P12_FILE, "client-combined.pem", NULL,
	  "p12pass", MTLS_ERR_FORMAT,
	  .has = { "not a PKCS#12 file", "it is PEM" },
	  .names = { "client-combined.pem" } },
	{ "PKCS#12 file is text", P12_FILE, "not-pem.txt", NULL, "p12pass",
	  MTLS_ERR_FORMAT, .has = { "not a PKCS#12 file" },
	  .names = { "not-pem.txt" },
	  .lacks = "it is PEM" },
	{ "PKCS#12 file empty", P12_FILE, "empty.pem", NULL, NULL,
	  MTLS_ERR_FORMAT, .has = { "not a PKCS#12 file" },
	  .names = { "empty.pem" } },
	{ "PKCS#12 file missing", P12_FILE, "no-such.p12", NULL, "p12pass",
	  MTLS_ERR_FILE, .has = { "No such file or directory", "PKCS#12" },
	  .names = { "no-such.p12" } },
	{ "PKCS#12 file is a directory", P12_FILE, "ca-dir", NULL, "p12pass",
	  MTLS_ERR_FILE, .has = { "directory" }, .names = { "ca-dir" } },
	{ "PKCS#12 file NULL", P12_FILE, NULL, NULL, "p12pass",
	  MTLS_ERR_INVALID, .has = { "no PKCS#12 file name given" } },

	/* memory (the library keeps copies: the row frees its buffers before
	 * the handshake) */
	{ "memory: certificate and key", PEM_MEM, "client.crt", "client.key",
	  NULL, MTLS_OK, .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "memory: combined", PEM_MEM, "client-combined.pem", NULL, NULL,
	  MTLS_OK, .then = NOTHING },
	{ "memory: chain", PEM_MEM, "server-chain.crt", "server-int.key", NULL,
	  MTLS_OK, .then = SERVER_HANDSHAKE },
	{ "memory: encrypted key", PEM_MEM, "client.crt", "client-enc.key",
	  "secret", MTLS_OK, .then = NOTHING },
	{ "memory: encrypted combined", PEM_MEM, "client-enc-combined.pem",
	  NULL, "secret", MTLS_OK, .then = NOTHING },
	{ "memory: encrypted key, no passphrase", PEM_MEM, "client.crt",
	  "client-enc.key", NULL, MTLS_ERR_PASSPHRASE,
	  .has = { "no passphrase", "key in memory" } },
	{ "memory: encrypted key, wrong passphrase", PEM_MEM, "client.crt",
	  "client-enc-trad.key", "wrong", MTLS_ERR_PASSPHRASE,
	  .has = { "wrong passphrase", "key in memory" } },
	{ "memory: combined without a key", PEM_MEM, "client.crt", NULL, NULL,
	  MTLS_ERR_FORMAT, .has = { "contains no private key",
	  "certificate in memory" } },
	{ "memory: PKCS#12", P12_MEM, "client.p12", NULL, "p12pass", MTLS_OK,
	  .then = CLIENT_HANDSHAKE, .cn = "client" },
	{ "memory: legacy PKCS#12", P12_MEM, "client-legacy.p12", NULL,
	  "p12pass", MTLS_OK, .then = NOTHING },
	{ "memory: PKCS#12, wrong password", P12_MEM, "client.p12", NULL, "bad",
	  MTLS_ERR_P12_PASSWORD, .has = { "wrong password for PKCS#12 file",
	  "PKCS#12 in memory" } },
	{ "memory: PKCS#12 given PEM", P12_MEM, "client-combined.pem", NULL,
	  NULL, MTLS_ERR_FORMAT, .has = { "it is PEM", "PKCS#12 in memory" } },

	/* each way of loading refused once a connection uses the config */
	{ "frozen: files", PEM_FILES, "client.crt", "client.key", NULL,
	  MTLS_ERR_CONFIG_FROZEN, .has = { "in use" }, .frozen = true },
	{ "frozen: memory", PEM_MEM, "client-combined.pem", NULL, NULL,
	  MTLS_ERR_CONFIG_FROZEN, .has = { "in use" }, .frozen = true },
	{ "frozen: PKCS#12 file", P12_FILE, "client.p12", NULL, "p12pass",
	  MTLS_ERR_CONFIG_FROZEN, .has = { "in use" }, .frozen = true },
	{ "frozen: PKCS#12 in memory", P12_MEM, "client.p12", NULL, "p12pass",
	  MTLS_ERR_CONFIG_FROZEN, .has = { "in use" }, .frozen = true },
};

/* A PKI file's path; NULL and "" as they are. */
static const char *
path(const char *name)
{
	return name == NULL || *name == '\0' ? name : pki(name);
}

/* Loads r's identity into cfg; the setter's result. */
static int
load(const struct load_row *r)
{
	char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	int rc;

	switch (r->how) {
	case PEM_FILES:
		return mtls_config_set_cert_file(cfg, path(r->cert), path(r->key),
		    r->pass);
	case P12_FILE:
		return mtls_config_set_p12_file(cfg, path(r->cert), r->pass);
	case PEM_MEM:
	case P12_MEM:
	default:
		cert = slurp(pki(r->cert), &clen);
		if (r->key != NULL)
			key = slurp(pki(r->key), &klen);
		rc = r->how == P12_MEM ?
		    mtls_config_set_p12_mem(cfg, cert, clen, r->pass) :
		    mtls_config_set_cert_mem(cfg, cert, clen, key, klen, r->pass);
		free(cert);
		free(key);
		return rc;
	}
}

START_TEST(test_load)
{
	const struct load_row *r = &loads[_i];
	struct mtls *frozen = r->frozen ? freeze() : NULL;
	int rc = load(r);
	size_t i;
	char cn[256];

	if (r->code == MTLS_OK) {
		ck_assert_msg(rc == 0, "%s: %s", r->name, MSG);
		ck_assert_cfg_ok(cfg, rc);
	} else {
		ck_assert_msg(rc == -1 && mtls_config_error_code(cfg) == r->code,
		    "%s: expected -1 and %s, got %d and %s: %s", r->name,
		    mtls_error_name(r->code), rc,
		    mtls_error_name(mtls_config_error_code(cfg)),
		    MSG ? MSG : "(null)");
		ck_assert_ptr_nonnull(MSG);
		for (i = 0; i < 2 && r->has[i] != NULL; i++)
			ck_assert_msg_has(MSG, r->has[i]);
		for (i = 0; i < 2 && r->names[i] != NULL; i++)
			ck_assert_msg_has(MSG, pki(r->names[i]));
		if (r->lacks != NULL)
			ck_assert_msg(strstr(MSG, r->lacks) == NULL, "%s: %s",
			    r->name, MSG);
	}
	switch (r->then) {
	case CAN_SERVE:
		assert_can_serve();
		break;
	case SERVER_HANDSHAKE:
		server_handshake();
		break;
	case CLIENT_HANDSHAKE:
		client_handshake(cn, sizeof(cn));
		ck_assert_str_eq(cn, r->cn);
		break;
	case NOTHING:
	default:
		break;
	}
	mtls_free(frozen);
}
END_TEST

/* ------------------------------------------------ PEM files, PKCS#12 */

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

/* ---------------------------------------------------------------- memory */

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

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *
identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *loading = tcase_create("loads");
	TCase *pem = tcase_create("pem-files");
	TCase *mem = tcase_create("memory");
	TCase *keep = tcase_create("keep-identity");
	TCase *all[] = { loading, pem, mem, keep };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 30);
		suite_add_tcase(s, all[i]);
	}

	tcase_add_loop_test(loading, test_load, 0, NROWS(loads));

	tcase_add_test(pem, test_key_mismatch);

	tcase_add_test(mem, test_cert_mem_not_nul_terminated_ok);
	tcase_add_test(mem, test_cert_mem_key_mismatch);
	tcase_add_test(mem, test_cert_mem_combined_key_mismatch);
	tcase_add_test(mem, test_cert_mem_garbage);
	tcase_add_test(mem, test_cert_mem_null);
	tcase_add_test(mem, test_cert_mem_empty);
	tcase_add_test(mem, test_cert_mem_empty_key);
	tcase_add_test(mem, test_p12_mem_truncated);
	tcase_add_test(mem, test_p12_mem_null);
	tcase_add_test(mem, test_p12_mem_empty);

	tcase_add_test(keep, test_failed_load_keeps_identity);
	tcase_add_test(keep, test_failed_p12_keeps_identity);
	tcase_add_test(keep, test_failed_mismatch_keeps_identity_in_handshake);
	tcase_add_test(keep, test_failed_client_load_keeps_client_identity);
	tcase_add_test(keep, test_only_failed_load_gives_no_identity);
	tcase_add_test(keep, test_only_failed_p12_gives_no_identity);
	tcase_add_test(keep, test_second_load_replaces_identity);
	return s;
}
