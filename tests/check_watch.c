/*
 * check_watch.c - configs that reload their files (mtls_config_watch_files,
 * lib/watch.c, lib/recipe.c): a replayed config behaves as the one it was
 * replayed from; files written in place, by rename, by a Kubernetes
 * ..data symlink swap and a certificate and key a moment apart are picked
 * up by servers and clients; a broken set is reported once and skipped;
 * threads making connections while files change.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"

enum { INTERVAL_MS = 40 };

/* A scratch directory of files that the tests rewrite. */
static char dir[256];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
dir_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/mtls-watch-XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
dir_teardown(void)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* dir/name; valid until 8 more calls. */
static const char *
at(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Writes data to path in place: the same inode, truncated and rewritten. */
static void
write_in_place(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
copy_in_place(const char *pki_name, const char *path)
{
	size_t len;
	char *data = slurp(pki(pki_name), &len);

	write_in_place(path, data, len);
	free(data);
}

/* Writes a new file beside path and renames it over path. */
static void
copy_by_rename(const char *pki_name, const char *path)
{
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	copy_in_place(pki_name, tmp);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Kubernetes' atomic writer: dir/tls.crt -> ..data/tls.crt, ..data -> a
 * timestamped directory, swapped by renaming a new ..data link over it. */
static void
k8s_publish(const char *version, const char *cert, const char *key)
{
	char sub[64];

	snprintf(sub, sizeof(sub), "..%s", version);
	ck_assert_int_eq(mkdir(at(sub), 0700), 0);
	snprintf(sub, sizeof(sub), "..%s/tls.crt", version);
	copy_in_place(cert, at(sub));
	snprintf(sub, sizeof(sub), "..%s/tls.key", version);
	copy_in_place(key, at(sub));
	snprintf(sub, sizeof(sub), "..%s", version);
	ck_assert_int_eq(symlink(sub, at("..data_tmp")), 0);
	ck_assert_int_eq(rename(at("..data_tmp"), at("..data")), 0);
	/* The first time, the names users see. */
	if (symlink("..data/tls.crt", at("tls.crt")) != 0)
		ck_assert_int_eq(errno, EEXIST);
	if (symlink("..data/tls.key", at("tls.key")) != 0)
		ck_assert_int_eq(errno, EEXIST);
}

/* Waits until a check is due again. */
static void
pass_interval(void)
{
	usleep((INTERVAL_MS + 15) * 1000);
}

struct reports {
	pthread_mutex_t lock;
	int ok, failed;
	char last[2048];
};

static void
on_reload(struct mtls_config *cfg, int ok, const char *message, void *arg)
{
	struct reports *r = arg;

	pthread_mutex_lock(&r->lock);
	if (ok)
		r->ok++;
	else
		r->failed++;
	snprintf(r->last, sizeof(r->last), "%s", message);
	pthread_mutex_unlock(&r->lock);
}

/* A watched server config from dir's cert and key, trusting the PKI's CA,
 * checked every interval_ms. */
static struct mtls_config *
watched_every(const char *cert, const char *key, struct reports *r,
    int interval_ms)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, cert, key, NULL));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_set_timeouts(cfg, 5000, 10000, 10000));
	ck_assert_cfg_ok(cfg, mtls_config_set_session_cache(cfg, 0));
	ck_assert_cfg_ok(cfg, mtls_config_watch_files(cfg, interval_ms));
	if (r != NULL) {
		pthread_mutex_init(&r->lock, NULL);
		r->ok = r->failed = 0;
		r->last[0] = '\0';
		ck_assert_cfg_ok(cfg, mtls_config_set_reload_callback(cfg,
		    on_reload, r));
	}
	return cfg;
}

static struct mtls_config *
watched(const char *cert, const char *key, struct reports *r)
{
	return watched_every(cert, key, r, INTERVAL_MS);
}

/* The fingerprint of the certificate the server at port presents. */
static void
server_fp(struct mtls_config *ccfg, int port, char *fp)
{
	struct seen r;

	exchange(ccfg, port, &r);
	ck_assert_msg(r.code == MTLS_OK, "%s: %s", mtls_error_name(r.code),
	    r.msg);
	strcpy(fp, r.fingerprint);
}

/* ----------------------------------------------------------- the recipe */

static int verify_calls;

static int
count_verify(struct mtls *conn, int chain_ok, void *arg, char *reason,
    size_t reason_size)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
	return chain_ok ? 1 : 0;
}

/* What a client saw of one handshake, as text to compare. */
static void
facts(struct mtls_config *ccfg, int port, char *out, size_t len)
{
	int rc;
	struct mtls *c = client_connect(ccfg, "localhost", port, &rc);

	snprintf(out, len, "rc=%d %s %s %s %s %s alpn=%s", rc,
	    mtls_error_name(mtls_error_code(c)), mtls_conn_version(c) ?: "-",
	    mtls_conn_cipher(c) ?: "-", mtls_conn_group(c) ?: "-",
	    mtls_peer_fingerprint_sha256(c) ?: "-", mtls_conn_alpn(c) ?: "-");
	mtls_close(c);
	mtls_free(c);
}

/* A client config built by many setters, from files and from memory. */
static struct mtls_config *
rich_client(void)
{
	struct mtls_config *c = mtls_config_new();
	size_t len;
	char *other_ca = slurp(pki("other-ca.crt"), &len);
	int sigs[] = { SIGUSR1 };

	copy_in_place("client.crt", at("client.crt"));
	copy_in_place("client.key", at("client.key"));
	ck_assert_cfg_ok(c, mtls_config_set_cert_file(c, at("client.crt"),
	    at("client.key"), "unused passphrase"));
	ck_assert_cfg_ok(c, mtls_config_set_ca_file(c, pki("ca.crt")));
	ck_assert_cfg_ok(c, mtls_config_set_ca_mem(c, other_ca, len));
	ck_assert_cfg_ok(c, mtls_config_set_min_version(c, MTLS_TLS1_3));
	ck_assert_cfg_ok(c, mtls_config_set_ciphersuites(c,
	    "TLS_CHACHA20_POLY1305_SHA256"));
	ck_assert_cfg_ok(c, mtls_config_set_groups(c, "secp384r1"));
	ck_assert_cfg_ok(c, mtls_config_set_alpn(c, "h2,http/1.1"));
	ck_assert_cfg_ok(c, mtls_config_set_timeouts(c, 5000, 10000, 10000));
	ck_assert_cfg_ok(c, mtls_config_set_interrupt_signals(c, sigs, 1));
	ck_assert_cfg_ok(c, mtls_config_set_session_cache(c, 0));
	ck_assert_cfg_ok(c, mtls_config_set_verify_callback(c, count_verify,
	    &verify_calls));
	free(other_ca);
	return c;
}

START_TEST(test_watch_replay_equivalent)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg, *refusing;
	struct reports r;
	struct test_server s;
	char before[1024], after[1024], refused[2][256];
	unsigned long ok, failed;
	int rc;

	ck_assert_int_eq(mtls_config_set_alpn(scfg, "http/1.1"), 0);
	ccfg = rich_client();
	ck_assert_cfg_ok(ccfg, mtls_config_watch_files(ccfg, INTERVAL_MS));
	pthread_mutex_init(&r.lock, NULL);
	r.ok = r.failed = 0;
	ck_assert_cfg_ok(ccfg, mtls_config_set_reload_callback(ccfg, on_reload,
	    &r));
	/* A refusal by the allow-list is replayed too. */
	refusing = cfg_new("client.crt", "client.key", "ca.crt");
	copy_in_place("ca.crt", at("ca.crt"));
	ck_assert_cfg_ok(refusing, mtls_config_set_ca_file(refusing,
	    at("ca.crt")));
	ck_assert_cfg_ok(refusing, mtls_config_allow(refusing, MTLS_ALLOW_DNS,
	    "other.example"));
	ck_assert_cfg_ok(refusing, mtls_config_watch_files(refusing,
	    INTERVAL_MS));
	server_start(&s, scfg, SERVE_HANDSHAKE, 4);
	facts(ccfg, s.port, before, sizeof(before));
	facts(refusing, s.port, refused[0], sizeof(refused[0]));
	/* A new stamp, the same content: a replay of the same calls. */
	copy_by_rename("client.key", at("client.key"));
	copy_by_rename("ca.crt", at("ca.crt"));
	pass_interval();
	facts(ccfg, s.port, after, sizeof(after));
	facts(refusing, s.port, refused[1], sizeof(refused[1]));
	server_stop(&s);
	ck_assert_int_eq(mtls_config_reload_counts(ccfg, &ok, &failed), 0);
	ck_assert_uint_eq(ok, 1);
	ck_assert_uint_eq(failed, 0);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_msg_has(r.last, "client.key");
	ck_assert_msg_has(before, "rc=0 MTLS_OK TLSv1.3 TLS_CHACHA20_POLY1305_SHA256 "
	    "secp384r1");
	ck_assert_msg_has(before, "alpn=http/1.1");
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(verify_calls, 2);  /* the callback and its arg too */
	ck_assert_msg_has(refused[0], "rc=-1");
	ck_assert_str_eq(refused[0], refused[1]);
	ck_assert_int_eq(mtls_config_reload_counts(refusing, &ok, NULL), 0);
	ck_assert_uint_eq(ok, 1);
	(void)rc;
	mtls_config_free(refusing);
	mtls_config_free(ccfg);
	mtls_config_free(scfg);
}
END_TEST

START_TEST(test_watch_refuses_bad_calls)
{
	struct mtls_config *cfg = mtls_config_new();
	size_t len;
	char *pem = slurp(pki("ca.crt"), &len);

	ck_assert_cfg_failed_has(cfg, mtls_config_watch_files(cfg, 0),
	    MTLS_ERR_INVALID, "positive");
	ck_assert_cfg_failed_has(cfg, mtls_config_set_reload_callback(cfg,
	    on_reload, NULL), MTLS_ERR_INVALID, "mtls_config_watch_files");
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_mem(cfg, pem, len));
	ck_assert_cfg_failed_has(cfg, mtls_config_watch_files(cfg, 100),
	    MTLS_ERR_INVALID, "no file to watch");
	ck_assert_int_eq(mtls_config_reload_counts(cfg, NULL, NULL), -1);
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_watch_files(cfg, 100));
	ck_assert_cfg_failed_has(cfg, mtls_config_watch_files(cfg, 100),
	    MTLS_ERR_INVALID, "already");
	mtls_free(mtls_client_new(cfg));
	ck_assert_cfg_failed(cfg, mtls_config_set_reload_callback(cfg,
	    on_reload, NULL), MTLS_ERR_CONFIG_FROZEN);
	free(pem);
	mtls_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------ the write styles */

START_TEST(test_watch_server_write_styles)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], fp_b[128], got[128];
	unsigned long ok, failed;

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched(at("s.crt"), at("s.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 3);
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	/* In place: the same inodes, new contents. */
	copy_in_place("server-cn.crt", at("s.crt"));
	copy_in_place("server-cn.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_b);
	/* By rename over the old names. */
	copy_by_rename("server.crt", at("s.crt"));
	copy_by_rename("server.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	server_stop(&s);
	ck_assert_int_eq(mtls_config_reload_counts(scfg, &ok, &failed), 0);
	ck_assert_uint_eq(ok, 2);
	ck_assert_uint_eq(failed, 0);
	ck_assert_int_eq(r.ok, 2);
	ck_assert_msg_has(r.last, "reloaded");
	ck_assert_msg_has(r.last, "s.crt");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* A setter that joined the recipe later (the PROXY protocol) is replayed
 * too: a client that sends no header is refused by the reloaded config as
 * by the first. */
START_TEST(test_watch_replays_proxy_protocol)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg = mtls_config_new();
	struct test_server s;
	unsigned long ok;
	int rc;

	copy_in_place("server.crt", at("p.crt"));
	copy_in_place("server.key", at("p.key"));
	ck_assert_cfg_ok(scfg, mtls_config_set_cert_file(scfg, at("p.crt"),
	    at("p.key"), NULL));
	ck_assert_cfg_ok(scfg, mtls_config_set_ca_file(scfg, pki("ca.crt")));
	ck_assert_cfg_ok(scfg, mtls_config_set_timeouts(scfg, 5000, 5000, 5000));
	ck_assert_cfg_ok(scfg, mtls_config_set_proxy_protocol(scfg, NULL));
	ck_assert_cfg_ok(scfg, mtls_config_watch_files(scfg, INTERVAL_MS));
	server_start(&s, scfg, SERVE_HANDSHAKE, 2);
	mtls_free(client_connect(ccfg, "localhost", s.port, &rc));
	ck_assert_int_eq(rc, -1);
	copy_by_rename("server.crt", at("p.crt"));
	pass_interval();
	mtls_free(client_connect(ccfg, "localhost", s.port, &rc));
	ck_assert_int_eq(rc, -1);
	server_stop(&s);
	ck_assert_int_eq(mtls_config_reload_counts(scfg, &ok, NULL), 0);
	ck_assert_uint_eq(ok, 1);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(s.rec[i].code, MTLS_ERR_PROXY_PROTOCOL);
		ck_assert_msg_has(s.rec[i].msg, "PROXY protocol: no header");
	}
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* Until an interval has passed since the last check, connections are
 * made from the config in use without looking at the files. */
START_TEST(test_watch_not_before_interval)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct test_server s;
	char fp_a[128], got[128];
	unsigned long ok;

	cert_sha256("server.crt", 0, fp_a);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched_every(at("s.crt"), at("s.key"), NULL, 60000);
	server_start(&s, scfg, SERVE_ECHO, 2);
	server_fp(ccfg, s.port, got);
	copy_by_rename("server-cn.crt", at("s.crt"));
	copy_by_rename("server-cn.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	server_stop(&s);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(mtls_config_reload_counts(scfg, &ok, NULL), 0);
	ck_assert_uint_eq(ok, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_watch_kubernetes_symlink_swap)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], fp_b[128], got[128];

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	k8s_publish("2026_12_06_01", "server.crt", "server.key");
	scfg = watched(at("tls.crt"), at("tls.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 3);
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	k8s_publish("2026_12_06_02", "server-cn.crt", "server-cn.key");
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_b);
	k8s_publish("2026_12_06_03", "server.crt", "server.key");
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	server_stop(&s);
	ck_assert_int_eq(r.ok, 2);
	ck_assert_int_eq(r.failed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_watch_cert_then_key)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], fp_b[128], got[128];

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched(at("s.crt"), at("s.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 2);
	/* The certificate first: the pair does not match, the old one stays
	 * and nothing is reported yet. */
	copy_by_rename("server-cn.crt", at("s.crt"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 0);
	/* The key a moment later: the new pair is taken. */
	copy_by_rename("server-cn.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_b);
	server_stop(&s);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.failed, 0);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_watch_broken_key_reported_once)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], fp_b[128], got[128];
	unsigned long ok, failed;
	static const char broken[] = "-----BEGIN PRIVATE KEY-----\n"
	    "AAAA\n-----END PRIVATE KEY-----\n";

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched(at("s.crt"), at("s.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 4);
	write_in_place(at("s.key"), broken, sizeof(broken) - 1);
	/* Tried, not reported: the key may be half written. */
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 0);
	/* The same files an interval later: reported, once. */
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 1);
	ck_assert_msg_has(r.last, "s.key");
	ck_assert_msg_has(r.last, "keeping the configuration in use");
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 1);
	/* A good set: taken. */
	copy_by_rename("server-cn.crt", at("s.crt"));
	copy_by_rename("server-cn.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_b);
	server_stop(&s);
	ck_assert_int_eq(mtls_config_reload_counts(scfg, &ok, &failed), 0);
	ck_assert_uint_eq(ok, 1);
	ck_assert_uint_eq(failed, 1);
	ck_assert_int_eq(r.ok, 1);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* A file gone (an agent that deletes, then writes) is a failure like any
 * other: the old set stays, and the file's return is picked up. */
START_TEST(test_watch_missing_file)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], fp_b[128], got[128];

	cert_sha256("server.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched(at("s.crt"), at("s.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 3);
	ck_assert_int_eq(unlink(at("s.crt")), 0);
	pass_interval();
	server_fp(ccfg, s.port, got);
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 1);
	ck_assert_msg_has(r.last, "s.crt");
	ck_assert_msg_has(r.last, "No such file");
	copy_by_rename("server-cn.key", at("s.key"));
	copy_by_rename("server-cn.crt", at("s.crt"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	ck_assert_str_eq(got, fp_b);
	server_stop(&s);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* A rebuilt config passes the checks of the roles the config serves: a
 * server certificate without serverAuth is refused as
 * mtls_server_set_config refuses it. */
START_TEST(test_watch_role_checked)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls_config *scfg;
	struct reports r;
	struct test_server s;
	char fp_a[128], got[128];

	cert_sha256("server.crt", 0, fp_a);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	copy_in_place("server.crt", at("s.crt"));
	copy_in_place("server.key", at("s.key"));
	scfg = watched(at("s.crt"), at("s.key"), &r);
	server_start(&s, scfg, SERVE_ECHO, 2);
	copy_by_rename("server-clientauth-only.crt", at("s.crt"));
	copy_by_rename("server-clientauth-only.key", at("s.key"));
	pass_interval();
	server_fp(ccfg, s.port, got);
	pass_interval();
	server_fp(ccfg, s.port, got);
	server_stop(&s);
	ck_assert_str_eq(got, fp_a);
	ck_assert_int_eq(r.failed, 1);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_msg_has(r.last, "serverAuth");
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* The files of an SNI identity are watched with the config's own. */
static void
sni_fp(int port, const char *name, char *fp)
{
	struct mtls_config *ccfg = cfg_new("client.crt", "client.key", "ca.crt");
	struct mtls *c;
	char portstr[16];

	ck_assert_int_eq(mtls_config_insecure_noverify(ccfg), 0);
	ck_assert_int_eq(mtls_config_set_session_cache(ccfg, 0), 0);
	c = mtls_client_new(ccfg);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(mtls_set_verify_name(c, name), 0);
	snprintf(portstr, sizeof(portstr), "%d", port);
	ck_assert_msg(mtls_connect(c, "127.0.0.1", portstr) == 0, "%s",
	    mtls_error(c));
	strcpy(fp, mtls_peer_fingerprint_sha256(c));
	mtls_close(c);
	mtls_free(c);
	mtls_config_free(ccfg);
}

START_TEST(test_watch_sni_identity)
{
	struct mtls_config *scfg = mtls_config_new();
	struct mtls_config *named = mtls_config_new();
	struct reports r;
	struct test_server s;
	char fp_own[128], fp_a[128], fp_b[128], got[128];

	cert_sha256("server.crt", 0, fp_own);
	cert_sha256("serveronly.crt", 0, fp_a);
	cert_sha256("server-cn.crt", 0, fp_b);
	copy_in_place("serveronly.crt", at("s.crt"));
	copy_in_place("serveronly.key", at("s.key"));
	ck_assert_cfg_ok(named, mtls_config_set_cert_file(named, at("s.crt"),
	    at("s.key"), NULL));
	ck_assert_cfg_ok(scfg, mtls_config_set_cert_file(scfg,
	    pki("server.crt"), pki("server.key"), NULL));
	ck_assert_cfg_ok(scfg, mtls_config_set_ca_file(scfg, pki("ca.crt")));
	ck_assert_cfg_ok(scfg, mtls_config_add_sni_identity(scfg, "serveronly",
	    named));
	mtls_config_free(named);
	ck_assert_cfg_ok(scfg, mtls_config_watch_files(scfg, INTERVAL_MS));
	pthread_mutex_init(&r.lock, NULL);
	r.ok = r.failed = 0;
	ck_assert_cfg_ok(scfg, mtls_config_set_reload_callback(scfg, on_reload,
	    &r));
	server_start(&s, scfg, SERVE_HANDSHAKE, 3);
	sni_fp(s.port, "serveronly", got);
	ck_assert_str_eq(got, fp_a);
	copy_by_rename("server-cn.crt", at("s.crt"));
	copy_by_rename("server-cn.key", at("s.key"));
	pass_interval();
	sni_fp(s.port, "serveronly", got);
	ck_assert_str_eq(got, fp_b);
	sni_fp(s.port, "localhost", got);
	ck_assert_str_eq(got, fp_own);
	server_stop(&s);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_msg_has(r.last, "s.crt");
	mtls_config_free(scfg);
}
END_TEST

/* An SNI identities config used before it is added has wiped its
 * secrets (an unwatched config keeps none after its first use): the
 * config it is added to cannot be rebuilt, and says so. */
START_TEST(test_watch_used_identities_refused)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *named = cfg_new("serveronly.crt", "serveronly.key",
	    "ca.crt");

	mtls_free(mtls_client_new(named));
	ck_assert_cfg_ok(scfg, mtls_config_add_sni_identity(scfg, "serveronly",
	    named));
	ck_assert_cfg_failed_has(scfg, mtls_config_watch_files(scfg, 100),
	    MTLS_ERR_NOMEM, "used before it was added");
	mtls_config_free(named);
	mtls_config_free(scfg);
}
END_TEST

/* ----------------------------------------------------------- the client */

START_TEST(test_watch_client_cert_seen_by_server)
{
	struct mtls_config *scfg = cfg_new("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg;
	struct test_server s;
	struct seen c1, c2;
	struct mtls *held;
	int rc;

	copy_in_place("client.crt", at("c.crt"));
	copy_in_place("client.key", at("c.key"));
	ccfg = watched(at("c.crt"), at("c.key"), NULL);
	server_start(&s, scfg, SERVE_ECHO, 3);
	exchange(ccfg, s.port, &c1);
	/* A client made before the rotation keeps its certificate. */
	held = mtls_client_new(ccfg);
	ck_assert_ptr_nonnull(held);
	copy_by_rename("client-ou.crt", at("c.crt"));
	copy_by_rename("client-ou.key", at("c.key"));
	pass_interval();
	exchange(ccfg, s.port, &c2);
	{
		char port[16];

		snprintf(port, sizeof(port), "%d", s.port);
		rc = mtls_connect(held, "localhost", port);
		ck_assert_msg(rc == 0, "%s", mtls_error(held));
		mtls_close(held);
		mtls_free(held);
	}
	server_stop(&s);
	ck_assert_ok(&s.rec[0], &c1);
	ck_assert_ok(&s.rec[1], &c2);
	ck_assert_str_ne(s.rec[0].subject, s.rec[1].subject);
	ck_assert_str_eq(s.rec[0].subject, s.rec[2].subject);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* A reloaded certificate that expires soon is said in the reload's
 * message, as loading it said it at start. */
START_TEST(test_watch_reload_warns)
{
	struct mtls_config *ccfg;
	struct reports r;

	copy_in_place("client.crt", at("c.crt"));
	copy_in_place("client.key", at("c.key"));
	ccfg = watched(at("c.crt"), at("c.key"), &r);
	mtls_free(mtls_client_new(ccfg));
	copy_by_rename("client-soon.crt", at("c.crt"));
	copy_by_rename("client-soon.key", at("c.key"));
	pass_interval();
	mtls_free(mtls_client_new(ccfg));
	ck_assert_int_eq(r.ok, 1);
	ck_assert_msg_has(r.last, "; warning: ");
	ck_assert_msg_has(r.last, "expires");
	mtls_config_free(ccfg);
}
END_TEST

/* ---------------------------------------------------------- the threads */

enum { T_THREADS = 4, T_CLIENTS = 300 };

struct maker {
	struct mtls_config *cfg;
	pthread_t thread;
	int made;
	char err[512];
};

static void *
make_clients(void *arg)
{
	struct maker *m = arg;

	for (int i = 0; i < T_CLIENTS; i++) {
		struct mtls *c = mtls_client_new(m->cfg);

		if (c == NULL) {
			snprintf(m->err, sizeof(m->err), "%s",
			    mtls_config_error(m->cfg));
			break;
		}
		m->made++;
		mtls_free(c);
		usleep(200);
	}
	return NULL;
}

/* Threads make clients from one watched config while its files change:
 * none fails (the lazy check runs beside them; TSan watches this one). */
START_TEST(test_watch_threads)
{
	struct mtls_config *cfg;
	struct maker m[T_THREADS];
	struct reports r;
	int i, flips = 0;

	copy_in_place("client.crt", at("c.crt"));
	copy_in_place("client.key", at("c.key"));
	cfg = mtls_config_new();
	ck_assert_cfg_ok(cfg, mtls_config_set_cert_file(cfg, at("c.crt"),
	    at("c.key"), NULL));
	ck_assert_cfg_ok(cfg, mtls_config_set_ca_file(cfg, pki("ca.crt")));
	ck_assert_cfg_ok(cfg, mtls_config_watch_files(cfg, 5));
	pthread_mutex_init(&r.lock, NULL);
	r.ok = r.failed = 0;
	ck_assert_cfg_ok(cfg, mtls_config_set_reload_callback(cfg, on_reload,
	    &r));
	for (i = 0; i < T_THREADS; i++) {
		m[i] = (struct maker){ .cfg = cfg };
		pthread_create(&m[i].thread, NULL, make_clients, &m[i]);
	}
	for (flips = 0; flips < 10; flips++) {
		usleep(10000);
		copy_by_rename(flips % 2 ? "client.crt" : "client-ou.crt",
		    at("c.crt.tmp"));
		copy_by_rename(flips % 2 ? "client.key" : "client-ou.key",
		    at("c.key.tmp"));
		ck_assert_int_eq(rename(at("c.crt.tmp"), at("c.crt")), 0);
		ck_assert_int_eq(rename(at("c.key.tmp"), at("c.key")), 0);
	}
	for (i = 0; i < T_THREADS; i++) {
		pthread_join(m[i].thread, NULL);
		ck_assert_msg(m[i].made == T_CLIENTS, "thread %d: %d made: %s",
		    i, m[i].made, m[i].err);
	}
	pthread_mutex_lock(&r.lock);
	ck_assert_int_ge(r.ok, 1);
	pthread_mutex_unlock(&r.lock);
	mtls_config_free(cfg);
}
END_TEST

Suite *
watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = check_tcase(s, "watch", 60);

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_watch_replay_equivalent);
	tcase_add_test(tc, test_watch_replays_proxy_protocol);
	tcase_add_test(tc, test_watch_refuses_bad_calls);
	tcase_add_test(tc, test_watch_server_write_styles);
	tcase_add_test(tc, test_watch_not_before_interval);
	tcase_add_test(tc, test_watch_kubernetes_symlink_swap);
	tcase_add_test(tc, test_watch_cert_then_key);
	tcase_add_test(tc, test_watch_broken_key_reported_once);
	tcase_add_test(tc, test_watch_missing_file);
	tcase_add_test(tc, test_watch_sni_identity);
	tcase_add_test(tc, test_watch_role_checked);
	tcase_add_test(tc, test_watch_used_identities_refused);
	tcase_add_test(tc, test_watch_client_cert_seen_by_server);
	tcase_add_test(tc, test_watch_reload_warns);
	tcase_add_test(tc, test_watch_threads);
	return s;
}
