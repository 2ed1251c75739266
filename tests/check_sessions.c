/*
 * check_sessions.c - session resumption: what a resumed session still
 * knows, the client's cache and the server's tickets turned off, the
 * server's session store (its size in sessions and in bytes), ticket keys
 * shared by server instances and rotated, and the allow-list that a
 * resumed session still has to pass.
 *
 * Every case is real handshakes on loopback; the ones that differ only in
 * a setting and whether the second connection resumes are table rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

/* The client test PKI's subject, as RFC 2253. */
#define CLIENT_DN "CN=client,OU=testers,O=libmtls test"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Two connections of ccfg to one server of scfg; *s keeps what the server
 * saw of each. */
static void
twice(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct test_server *s, struct seen *c1, struct seen *c2)
{
	server_start(s, scfg, SERVE_ECHO, 2);
	exchange(ccfg, s->port, c1);
	exchange(ccfg, s->port, c2);
	server_stop(s);
}

START_TEST(test_session_resumed_keeps_identity)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct seen c1, c2;

	ck_assert_int_eq(mtls_config_allow(scfg, MTLS_ALLOW_CN, "client"), 0);
	ck_assert_int_eq(mtls_config_allow(ccfg, MTLS_ALLOW_DNS, "localhost"), 0);
	twice(scfg, ccfg, &s, &c1, &c2);
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

/*
 * A client connects twice with one setting made on the server or on the
 * client: does the second connection resume?  Both connections succeed
 * either way, and a resumed one still carries the client's identity.
 */
static const struct resume_row {
	const char *name;
	enum setting server_setting;
	long server_n;
	enum setting client_setting;
	long client_n;
	int resumed;
	bool store_empty;       /* the server's store kept nothing */
} resume_rows[] = {
	{ "client session cache off", SETTING_NONE, 0, SETTING_SESSION_CACHE,
	  0, 0, false },
	{ "server session tickets off", SETTING_SESSION_TICKETS, 0,
	  SETTING_NONE, 0, 0, false },
	/* A server with no store (size 0) still resumes: its tickets then
	 * hold the whole session. */
	{ "server store of size 0: stateless tickets", SETTING_SESSION_CACHE,
	  0, SETTING_NONE, 0, 1, false },
	/* With a cap of 0 bytes nothing is kept, as with a size of 0. */
	{ "server store of 0 bytes: stateless tickets",
	  SETTING_SESSION_STORE_BYTES, 0, SETTING_NONE, 0, 1, true },
};

START_TEST(test_resume)
{
	const struct resume_row *r = &resume_rows[_i];
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct seen c1, c2;
	int count = -1;

	ck_assert_cfg_ok(scfg, apply_setting(scfg, r->server_setting,
	    r->server_n, NULL));
	ck_assert_cfg_ok(ccfg, apply_setting(ccfg, r->client_setting,
	    r->client_n, NULL));
	twice(scfg, ccfg, &s, &c1, &c2);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_msg(c2.resumed == r->resumed && s.rec[1].resumed == r->resumed,
	    "%s: expected resumed %d, client saw %d, server %d", r->name,
	    r->resumed, c2.resumed, s.rec[1].resumed);
	if (r->resumed)
		ck_assert_str_eq(s.rec[1].subject, CLIENT_DN);
	if (r->store_empty) {
		ck_assert_uint_eq(mtls_config_session_store_bytes(scfg, &count), 0);
		ck_assert_int_eq(count, 0);
	}
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_session_cache_keyed_by_port)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server a, b;
	struct seen c1, c2;

	/* Same server config, two listeners: a session for one port is not
	 * offered to the other. */
	server_start(&a, scfg, SERVE_ECHO, 1);
	server_start(&b, scfg, SERVE_ECHO, 1);
	exchange(ccfg, a.port, &c1);
	exchange(ccfg, b.port, &c2);
	server_stop(&a);
	server_stop(&b);
	ck_assert_ok(&b.rec[0], &c2);
	ck_assert_int_eq(c2.resumed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/*
 * A server keeps its sessions in a store of the configured size, behind
 * tickets that only name them.  Clients A and B connect, then each comes
 * back: with room for one, a second client's session evicts the first
 * one's (and B's is evicted by A's new one); with room for two, both
 * resume.
 */
static const struct store_row {
	int size;
	int resumed;
} store_rows[] = {
	{ 1, 0 },
	{ 2, 1 },
};

START_TEST(test_session_store_size)
{
	const struct store_row *r = &store_rows[_i];
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *a = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *b = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server s;
	struct seen a1, b1, a2, b2;

	ck_assert_cfg_ok(scfg, mtls_config_set_session_cache(scfg, r->size));
	server_start(&s, scfg, SERVE_ECHO, 4);
	exchange(a, s.port, &a1);
	exchange(b, s.port, &b1);
	exchange(a, s.port, &a2);
	exchange(b, s.port, &b2);
	server_stop(&s);
	ck_assert_ok(&s.rec[2], &a2);
	ck_assert_ok(&s.rec[3], &b2);
	ck_assert_msg(a2.resumed == r->resumed && s.rec[2].resumed == r->resumed
	    && b2.resumed == r->resumed, "store of %d: expected resumed %d, got "
	    "A %d (server %d), B %d", r->size, r->resumed, a2.resumed,
	    s.rec[2].resumed, b2.resumed);
	if (r->resumed)
		ck_assert_str_eq(s.rec[3].subject, CLIENT_DN);
	mtls_config_free(scfg);
	mtls_config_free(a);
	mtls_config_free(b);
}
END_TEST

/* n full handshakes of ccfg (a client that keeps no session) with servers
 * of scfg, MAX_CONNS at a time; after each, check(scfg, i) if not NULL. */
static void
full_handshakes(struct mtls_config *scfg, struct mtls_config *ccfg, int n,
    void (*check)(struct mtls_config *, int))
{
	struct test_server s;
	struct seen r;
	int i = 0, batch;

	while (i < n) {
		batch = n - i < MAX_CONNS ? n - i : MAX_CONNS;
		server_start(&s, scfg, SERVE_ECHO, batch);
		for (; batch > 0; batch--, i++) {
			exchange(ccfg, s.port, &r);
			ck_assert_msg(r.code == MTLS_OK, "handshake %d: %s", i, r.msg);
			ck_assert_int_eq(r.resumed, 0);
			if (check != NULL)
				check(scfg, i);
		}
		server_stop(&s);
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
	struct test_server s;
	struct seen r1, r;
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
	twice(scfg, back, &s, &r1, &r);
	ck_assert_int_eq(r.code, MTLS_OK);
	ck_assert_int_eq(r.resumed, 1);
	ck_assert_uint_le(mtls_config_session_store_bytes(scfg, NULL), 64 * 1024);
	mtls_config_free(scfg);
	mtls_config_free(once);
	mtls_config_free(back);
}
END_TEST

/* Under the default cap (10 MiB), 20 sessions are all kept, each counted
 * at its estimate (a cap of 0 is a row of the resume table). */
START_TEST(test_session_store_bytes_default)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *once = cfg_new("client.crt", "client.key", "ca.crt");
	size_t bytes;
	int count;

	ck_assert_cfg_ok(once, mtls_config_set_session_cache(once, 0));
	full_handshakes(scfg, once, 20, NULL);
	bytes = mtls_config_session_store_bytes(scfg, &count);
	ck_assert_int_eq(count, 20);
	ck_assert_uint_ge(bytes, 20 * 4096);
	ck_assert_uint_le(bytes, 20 * 16384);
	ck_assert_uint_eq(mtls_config_session_store_bytes(NULL, &count), 0);
	mtls_config_free(scfg);
	mtls_config_free(once);
}
END_TEST

static const struct setting_case settings[] = {
	{ "session cache -1", SETTING_SESSION_CACHE, -1, NULL,
	  MTLS_ERR_INVALID, { "-1" } },
	{ "session tickets -1", SETTING_SESSION_TICKETS, -1, NULL,
	  MTLS_ERR_INVALID, { "-1" } },
	{ "store of 1000 bytes", SETTING_SESSION_STORE_BYTES, 1000, NULL,
	  MTLS_ERR_INVALID, { "session store size 1000 bytes is too small: at "
	  "least 65536" } },
	{ "store of 65536 bytes", SETTING_SESSION_STORE_BYTES, 65536, NULL,
	  MTLS_OK, { NULL } },
	{ "4 session tickets", SETTING_SESSION_TICKETS, 4, NULL, MTLS_OK,
	  { NULL } },
	{ "ticket key: no such file", SETTING_TICKET_KEY_FILE, 0, "no-such.key",
	  MTLS_ERR_FILE, { "no-such.key" } },
	/* 44 bytes, not 80. */
	{ "ticket key: of the wrong size", SETTING_TICKET_KEY_FILE, 0,
	  "not-pem.txt", MTLS_ERR_FORMAT, { "holds 44 bytes, not whole keys of "
	  "80 (or 48) bytes", "not-pem.txt" } },
	{ "ticket key: two keys in one file", SETTING_TICKET_KEY_FILE, 0,
	  "tickets-rotated.key", MTLS_OK, { NULL } },
	{ "ticket key: nginx's 48-byte key", SETTING_TICKET_KEY_FILE, 0,
	  "ticket48.key", MTLS_OK, { NULL } },
	{ "ticket key: empty", SETTING_TICKET_KEY_FILE, 0, "empty.pem",
	  MTLS_ERR_FORMAT, { NULL } },
	{ "ticket key: good", SETTING_TICKET_KEY_FILE, 0, "ticket.key", MTLS_OK,
	  { NULL } },
};

START_TEST(test_setting)
{
	run_setting_case(&settings[_i]);
}
END_TEST

/* ============================================================ ticket keys */

/* A server config with the ticket keys given (NULL: none). */
static struct mtls_config *
ticket_server(const char *const keys[2])
{
	struct mtls_config *cfg = cfg_new("server.crt", "server.key", "ca.crt");
	int i;

	for (i = 0; i < 2 && keys[i] != NULL; i++)
		ck_assert_cfg_ok(cfg, mtls_config_add_ticket_key_file(cfg,
		    pki(keys[i])));
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
	struct test_server a, b;
	struct seen c1;
	char port[16];

	server_start(&a, a_cfg, SERVE_ECHO, 1);
	exchange(ccfg, a.port, &c1);
	server_stop(&a);
	ck_assert_ok(&a.rec[0], &c1);
	ck_assert_int_eq(c1.resumed, 0);
	snprintf(port, sizeof(port), "%d", a.port);
	server_start_port(&b, b_cfg, SERVE_ECHO, 1, port);
	exchange(ccfg, b.port, cli2);
	server_stop(&b);
	ck_assert_ok(&b.rec[0], cli2);
	ck_assert_int_eq(b.rec[0].resumed, cli2->resumed);
	if (cli2->resumed)
		ck_assert_str_eq(b.rec[0].subject, CLIENT_DN);
	return cli2->resumed;
}

static const struct ticket_row {
	const char *name;
	const char *a_keys[2], *b_keys[2];
	int resumed;
} ticket_rows[] = {
	{ "a key shared between instances", { "ticket.key" }, { "ticket.key" },
	  1 },
	/* B cannot read A's ticket: a full handshake, which succeeds. */
	{ "different keys", { "ticket.key" }, { "ticket2.key" }, 0 },
	/* Without a key file each instance has keys of its own. */
	{ "no key file: keys of each instance's own", { NULL }, { NULL }, 0 },
	/* Rotation: B encrypts with the new key and still decrypts with the
	 * old one, added second ... */
	{ "rotation: the old key, added second, still decrypts",
	  { "ticket.key" }, { "ticket2.key", "ticket.key" }, 1 },
	/* ... and a new client's session from B is encrypted with its first
	 * key. */
	{ "rotation: tickets encrypted with the first key",
	  { "ticket2.key", "ticket.key" }, { "ticket2.key" }, 1 },
	/* The same with both keys in one file, the new one first. */
	{ "one file of two keys: the old, second, still decrypts",
	  { "ticket.key" }, { "tickets-rotated.key" }, 1 },
	{ "one file of two keys: the first encrypts",
	  { "tickets-rotated.key" }, { "ticket2.key" }, 1 },
	{ "one file of two keys: the second does not encrypt",
	  { "tickets-rotated.key" }, { "ticket.key" }, 0 },
	/* nginx's 48-byte keys (AES-128), alone and two in a file. */
	{ "a 48-byte key shared", { "ticket48.key" }, { "ticket48.key" }, 1 },
	{ "48-byte keys: the old, second, still decrypts",
	  { "ticket48.key" }, { "tickets48-rotated.key" }, 1 },
	{ "48-byte and 80-byte keys apart", { "ticket48.key" },
	  { "ticket.key" }, 0 },
};

START_TEST(test_ticket_keys)
{
	const struct ticket_row *r = &ticket_rows[_i];
	struct mtls_config *a = ticket_server(r->a_keys);
	struct mtls_config *b = ticket_server(r->b_keys);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct seen cli;

	ck_assert_msg(resumes_across(a, b, ccfg, &cli) == r->resumed,
	    "%s: expected resumed %d on server B", r->name, r->resumed);
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_ticket_resumed_still_passes_allow_list)
{
	static const char *const key[2] = { "ticket.key", NULL };
	struct mtls_config *a = ticket_server(key);
	struct mtls_config *b = ticket_server(key);
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct test_server s1, s2;
	struct seen c1, c2;
	char port[16];

	/* B shares A's key but admits only CN=nobody: the session A gave the
	 * client does not get it past B's list. */
	ck_assert_int_eq(mtls_config_allow(b, MTLS_ALLOW_CN, "nobody"), 0);
	server_start(&s1, a, SERVE_ECHO, 1);
	exchange(ccfg, s1.port, &c1);
	server_stop(&s1);
	ck_assert_ok(&s1.rec[0], &c1);
	snprintf(port, sizeof(port), "%d", s1.port);
	server_start_port(&s2, b, SERVE_ECHO, 1, port);
	exchange(ccfg, s2.port, &c2);
	server_stop(&s2);
	ck_assert_server_refused(&s2.rec[0], &c2, MTLS_ERR_NOT_ALLOWED,
	    "CN=client");
	mtls_config_free(a);
	mtls_config_free(b);
	mtls_config_free(ccfg);
}
END_TEST

Suite *
sessions_suite(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc;

	tc = check_tcase(s, "resumption", 30);
	tcase_add_test(tc, test_session_resumed_keeps_identity);
	tcase_add_loop_test(tc, test_resume, 0, NROWS(resume_rows));
	tcase_add_test(tc, test_session_cache_keyed_by_port);

	tc = check_tcase(s, "store", 30);
	tcase_add_loop_test(tc, test_session_store_size, 0, NROWS(store_rows));
	tcase_add_test(tc, test_session_store_capped_by_bytes);
	tcase_add_test(tc, test_session_store_bytes_default);

	tc = check_tcase(s, "settings", 30);
	tcase_add_loop_test(tc, test_setting, 0, NROWS(settings));

	tc = check_tcase(s, "ticket-keys", 30);
	tcase_add_loop_test(tc, test_ticket_keys, 0, NROWS(ticket_rows));
	tcase_add_test(tc, test_ticket_resumed_still_passes_allow_list);
	return s;
}
