/*
 * mtls-server - an nginx-like mTLS server for trying certificates: it
 * answers each request with the client identity it saw, serves files
 * from --root or relays to a backend (--proxy), with nginx's
 * client-certificate modes and libmtls's allow-lists.  Signals as
 * nginx's: SIGHUP reloads the certificates without a restart, SIGUSR1
 * reopens the logs, SIGQUIT stops gracefully, SIGTERM and SIGINT at once.
 *
 * This file: the configuration made from the options (the options are
 * parsed in mtls-server-args.c), the passphrases of --password-file, the
 * listeners, the pid file and the signals.  --status-listen's status
 * and metrics are in mtls-server-status.c.
 *
 * Exit status: 0 after a stop (QUIT, TERM, INT) and after -t found the
 * configuration good, 1 usage, 2 configuration, 3 cannot listen.  See
 * mtls-server(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mtls-server.h"

static struct mtls *listeners[MAX_LISTEN];
static int nlisteners;

/* ------------------------------------------------------------- config */

/* A step of the configuration from option opt: on failure, *failed names
 * the option for the message. */
#define STEP(cond, call, opt) do {                                       \
	if (rc == 0 && (cond) && (rc = (call)) != 0)                     \
		*failed = (opt);                                          \
} while (0)

static int
load_policy(struct mtls_config *cfg, const struct options *o,
    const char **failed)
{
	int rc = 0;

	STEP(o->client_ca != NULL, mtls_config_set_ca_file(cfg, o->client_ca),
	    "--client-ca");
	STEP(o->ca_names != NULL, mtls_config_set_ca_names_file(cfg,
	    o->ca_names), "--ca-names");
	STEP(o->verify_client != NULL, mtls_config_set_verify_client(cfg,
	    verify_client_mode(o->verify_client)), "--verify-client");
	STEP(o->verify_depth >= 0, mtls_config_set_verify_depth(cfg,
	    (int)o->verify_depth), "--verify-depth");
	STEP(o->crl != NULL, mtls_config_set_crl_file(cfg, o->crl,
	    o->crl_chain), "--crl");
	for (int i = 0; rc == 0 && i < o->nallow; i++)
		STEP(true, mtls_config_allow(cfg, o->allow[i].type,
		    o->allow[i].value), "--allow-*");
	return rc;
}

/* --protocols, --ciphers, --curves. */
static int
load_tls_policy(struct mtls_config *cfg, const struct options *o,
    const char **failed)
{
	int rc = 0;

	STEP(o->tls_max != 0, mtls_config_set_max_version(cfg, o->tls_max),
	    "--protocols");
	STEP(o->tls_min != 0, mtls_config_set_min_version(cfg, o->tls_min),
	    "--protocols");
	STEP(o->ciphers != NULL, mtls_config_set_ciphers(cfg, o->ciphers),
	    "--ciphers");
	STEP(o->curves != NULL, mtls_config_set_groups(cfg, o->curves),
	    "--curves");
	return rc;
}

/* --proxy-protocol: the --proxy-protocol-from sources as one list, or the
 * library's default (loopback) when none was given. */
static int
load_proxy_protocol(struct mtls_config *cfg, const struct options *o)
{
	char list[MAX_LIST * 48] = "";
	size_t used = 0;

	for (int i = 0; i < o->nproxy_from && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
		    i > 0 ? "," : "", o->proxy_from[i]);
	if (used >= sizeof(list)) {
		fprintf(stderr, "mtls-server: --proxy-protocol-from: the "
		    "sources are too long together (at most %zu bytes)\n",
		    sizeof(list) - 1);
		return -1;
	}
	return mtls_config_set_proxy_protocol(cfg, o->nproxy_from > 0 ? list :
	    NULL);
}

static int
load_settings(struct mtls_config *cfg, const struct options *o,
    const char **failed)
{
	int rc = 0;

	/* nginx's answer to a client offering HTTP/1.1 by ALPN */
	STEP(true, mtls_config_set_alpn(cfg, "http/1.1"), "ALPN");
	STEP(o->proxy_protocol, load_proxy_protocol(cfg, o),
	    "--proxy-protocol-from");
	STEP(o->tickets >= 0, mtls_config_set_session_tickets(cfg,
	    (int)o->tickets), "--tickets");
	for (int i = 0; i < o->nticket_keys; i++)
		STEP(true, mtls_config_add_ticket_key_file(cfg, o->ticket_keys[i]),
		    "--ticket-key");
	STEP(o->session_cache >= 0, mtls_config_set_session_store_bytes(cfg,
	    (size_t)o->session_cache), "--session-cache");
	STEP(o->max_body >= 0, mtls_config_set_http_limit(cfg,
	    MTLS_HTTP_MAX_BODY, (unsigned long long)o->max_body), "--max-body");
	STEP(true, mtls_config_set_http_limit(cfg, MTLS_HTTP_IDLE_TIMEOUT_MS,
	    (unsigned long long)o->keepalive * 1000), "--keepalive-timeout");
	STEP(true, mtls_config_set_http_limit(cfg, MTLS_HTTP_HEADER_TIMEOUT_MS,
	    (unsigned long long)o->header_timeout * 1000),
	    "--client-header-timeout");
	/* io_ms bounds each write (nginx's send_timeout: between two
	 * successive writes) and each read of a body (client_body_timeout,
	 * also 60 s in nginx). */
	STEP(true, mtls_config_set_timeouts(cfg, 0, (int)o->handshake_timeout *
	    1000, (int)o->send_timeout * 1000), "--send-timeout");
	/* One size for both lines, as nginx's large_client_header_buffers. */
	STEP(o->max_header_line >= 0, mtls_config_set_http_limit(cfg,
	    MTLS_HTTP_MAX_REQUEST_LINE, (unsigned long long)o->max_header_line),
	    "--max-header-line");
	STEP(o->max_header_line >= 0, mtls_config_set_http_limit(cfg,
	    MTLS_HTTP_MAX_HEADER_LINE, (unsigned long long)o->max_header_line),
	    "--max-header-line");
	return rc == 0 ? load_tls_policy(cfg, o, failed) : rc;
}

/* ------------------------------------------------ --password-file */

#define MAX_PASSWORDS 64
#define PASSWORD_FILE_MAX 65536

/* The passphrases of --password-file, read for each load (nginx reads
 * ssl_password_file at each reload too) and wiped after it. */
struct passwords {
	char *buf;                  /* the file's bytes */
	size_t cap;
	const char *list[MAX_PASSWORDS];
	int n;
};

static void
wipe_passwords(struct passwords *pw)
{
	if (pw->buf != NULL) {
		explicit_bzero(pw->buf, pw->cap);
		free(pw->buf);
	}
	memset(pw, 0, sizeof(*pw));
}

/* Splits the n bytes read into lines, one passphrase each (a CR before
 * the LF dropped, blank lines skipped). */
static void
split_passwords(struct passwords *pw, size_t n)
{
	char *p = pw->buf, *end = pw->buf + n;

	*end = '\0';
	while (p < end && pw->n < MAX_PASSWORDS) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl != NULL ? nl : end;

		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		if (*p != '\0')
			pw->list[pw->n++] = p;
		p = eol + 1;
	}
}

/* file's passphrases into pw: 0, or -1 after saying why.  Never a
 * terminal: mtls-server does not prompt. */
static int
read_passwords(const char *file, struct passwords *pw)
{
	const char *why = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t got;
	int fd;

	memset(pw, 0, sizeof(*pw));
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		fprintf(stderr, "mtls-server: --password-file '%s': %s\n", file,
		    strerror(errno));
		return -1;
	}
	/* A buffer of the file's size (a pipe's: up to 4 KiB), no bigger. */
	pw->cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    (size_t)st.st_size + 1 : 4097;
	if (isatty(fd))
		why = "is a terminal: mtls-server never prompts for a passphrase; "
		    "give a file with one passphrase a line";
	else if (pw->cap > PASSWORD_FILE_MAX + 1)
		why = "is over 64 KiB: not a file of passphrases";
	else if ((pw->buf = malloc(pw->cap)) == NULL)
		why = "out of memory";
	while (why == NULL && (got = read(fd, pw->buf + n,
	    pw->cap - 1 - n)) != 0) {
		if (got < 0 && errno != EINTR)
			why = strerror(errno);
		else if (got > 0 && (n += (size_t)got) == pw->cap - 1)
			break;      /* as long as it was (a pipe's, cut) */
	}
	close(fd);
	if (why == NULL) {
		split_passwords(pw, n);
		if (pw->n == 0)
			why = "holds no passphrase (one a line)";
	}
	if (why != NULL) {
		fprintf(stderr, "mtls-server: --password-file '%s' %s%s\n", file,
		    strncmp(why, "is ", 3) == 0 || strncmp(why, "holds", 5) == 0 ?
		    "" : ": ", why);
		wipe_passwords(pw);
		return -1;
	}
	return 0;
}

static bool
wrong_password(struct mtls_config *cfg)
{
	int code = mtls_config_error_code(cfg);

	return code == MTLS_ERR_PASSPHRASE || code == MTLS_ERR_P12_PASSWORD;
}

/* True when the identity's key (or certificate) is in a token. */
static bool
in_token(const struct identity_opt *id)
{
	return (id->key != NULL && strncasecmp(id->key, "pkcs11:", 7) == 0) ||
	    (id->cert != NULL && strncasecmp(id->cert, "pkcs11:", 7) == 0);
}

/*
 * One identity into cfg, its passphrase from --pass (or --p12
 * FILE:PASSWORD), else each of --password-file's in turn, as nginx tries
 * each of ssl_password_file's.  Says why it failed.
 */
static int
load_identity_opt(struct mtls_config *cfg, const struct identity_opt *id,
    const struct passwords *pw, const char *password_file)
{
	bool own = id->pass != NULL || (id->p12 != NULL &&
	    strchr(id->p12, ':') != NULL);
	char text[1024];
	int rc, i = 0;

	if (own || pw->n == 0) {
		if ((rc = load_identity(cfg, id->cert, id->key, id->pass,
		    id->p12)) == 0)
			return 0;
		if (wrong_password(cfg) && !own)
			snprintf(text, sizeof(text), "%s: give its passphrase with "
			    "--password-file FILE or --pass PASS",
			    mtls_config_error(cfg));
		else
			snprintf(text, sizeof(text), "%s", mtls_config_error(cfg));
		say_error(wrong_password(cfg) && own ? (id->pass != NULL ?
		    "--pass" : "--p12") : NULL, text);
		return -1;
	}
	/* A token counts wrong PINs and locks itself after a few: a key in
	 * one gets the first passphrase only. */
	do
		rc = load_identity(cfg, id->cert, id->key, pw->list[i], id->p12);
	while (rc != 0 && wrong_password(cfg) && !in_token(id) && ++i < pw->n);
	if (rc == 0)
		return 0;
	if (wrong_password(cfg) && in_token(id))
		snprintf(text, sizeof(text), "%s: the first line of "
		    "--password-file '%s' (only that one is tried on a token, "
		    "which locks after a few wrong PINs)", mtls_config_error(cfg),
		    password_file);
	else if (wrong_password(cfg))
		snprintf(text, sizeof(text), "%s: none of the %d passphrases in "
		    "--password-file '%s' fits", mtls_config_error(cfg), pw->n,
		    password_file);
	else
		snprintf(text, sizeof(text), "%s", mtls_config_error(cfg));
	say_error(NULL, text);
	return -1;
}

static void
say_warnings(struct mtls_config *cfg)
{
	for (size_t i = 0; mtls_config_warning(cfg, i) != NULL; i++)
		say_error("warning", mtls_config_warning(cfg, i));
}

/* The default identities into cfg; then, for each --server-name, a config
 * of its identities, added for its names. */
static int
load_identities(struct mtls_config *cfg, const struct options *o,
    const struct passwords *pw)
{
	int i = 0, rc = 0;

	for (; rc == 0 && i < o->nids && o->ids[i].names == NULL; i++)
		rc = load_identity_opt(cfg, &o->ids[i], pw, o->password_file);
	while (rc == 0 && i < o->nids) {
		const char *names = o->ids[i].names;
		struct mtls_config *named = mtls_config_new();

		if (named == NULL) {
			say_error(NULL, mtls_config_error(NULL));
			return -1;
		}
		for (; rc == 0 && i < o->nids && o->ids[i].names == names; i++)
			rc = load_identity_opt(named, &o->ids[i], pw,
			    o->password_file);
		if (rc == 0)
			say_warnings(named);
		if (rc == 0 && (rc = mtls_config_add_sni_identity(cfg, names,
		    named)) != 0)
			say_error("--server-name", mtls_config_error(cfg));
		mtls_config_free(named);
	}
	return rc;
}

/* --watch: each reload of changed files, or refusal of a set (once a
 * set), goes to the error log and the metrics; called by the worker whose
 * new connection found the change. */
static void
files_reloaded(struct mtls_config *cfg, int ok, const char *message,
    void *arg)
{
	say_error("--watch", message);
	stats_file_reload(ok != 0);
}

/* --watch: the config reloads its files by itself.  The workers are
 * threads sharing this one config, so the files are checked once per
 * interval for the whole process, by whichever worker accepts first. */
static int
watch_files(struct mtls_config *cfg, const struct options *o)
{
	if (mtls_config_watch_files(cfg, (int)o->watch_ms) != 0 ||
	    mtls_config_set_reload_callback(cfg, files_reloaded, NULL) != 0) {
		say_error("--watch", mtls_config_error(cfg));
		return -1;
	}
	return 0;
}

/* A config from the options' files, or NULL after printing why. */
static struct mtls_config *
build_config(const struct options *o)
{
	struct mtls_config *cfg = mtls_config_new();
	struct passwords pw = { 0 };
	const char *failed = NULL;
	int rc;

	if (cfg == NULL) {
		say_error(NULL, mtls_config_error(NULL));
		return NULL;
	}
	if (o->password_file != NULL && read_passwords(o->password_file,
	    &pw) != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	rc = load_identities(cfg, o, &pw);
	wipe_passwords(&pw);
	if (rc != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	if (load_policy(cfg, o, &failed) != 0 ||
	    load_settings(cfg, o, &failed) != 0) {
		say_error(failed, mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	say_warnings(cfg);
	if (o->watch_ms > 0 && watch_files(cfg, o) != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* SIGHUP: new files are checked first; on failure the old ones stay. */
static void
reload(const struct options *o)
{
	struct mtls_config *cfg = build_config(o);
	int rc = 0;

	if (cfg == NULL) {
		fprintf(stderr, "mtls-server: reload failed, the previous "
		    "certificates stay in use\n");
		stats_reload(false);
		return;
	}
	/* The listeners check it (only their checks: the workers make the
	 * connections, from loop_set_config's). */
	for (int i = 0; rc == 0 && i < nlisteners; i++)
		if ((rc = mtls_server_set_config(listeners[i], cfg)) != 0)
			fprintf(stderr, "mtls-server: reload failed, the previous "
			    "certificates stay in use: %s\n",
			    mtls_error(listeners[i]));
	if (rc == 0) {
		loop_set_config(cfg);
		fprintf(stderr, "mtls-server: reloaded certificates\n");
	}
	stats_reload(rc == 0);
	mtls_config_free(cfg);
}

/* --proxy: a plain-HTTP backend, on loopback or a trusted network. */
static int
setup_backend(struct options *o)
{
	struct mtls_config *cfg;

	if (upstream_parse(&o->upstream, o->proxy, "http", "80",
	    "mtls-server: --proxy") != 0 || upstream_resolve(&o->upstream,
	    "mtls-server: --proxy") != 0)
		return -1;
	o->upstream.nonblocking = true;     /* on the event loops */
	o->upstream.connect_ms = 10000;
	if ((cfg = mtls_config_new()) == NULL ||
	    mtls_config_insecure_plaintext(cfg) != 0 ||
	    mtls_config_set_timeouts(cfg, 10000, 0,
	    (int)o->proxy_timeout * 1000) != 0) {
		say_error("--proxy", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return -1;
	}
	o->upstream.cfg = cfg;
	return 0;
}

/* ---------------------------------------------------------- listening */

/* Each --listen ADDR:PORT, checked before anything is loaded: a port
 * in digits, as nginx's listen takes it, after "]" for an IPv6 address. */
static int
check_listen(const struct options *o)
{
	char host[256];
	const char *port, *addr;

	for (int i = 0; i < o->nlisten; i++) {
		addr = o->listen[i];
		if (split_hostport(addr, host, sizeof(host), &port) != 0 ||
		    *port == '\0' || strspn(port, "0123456789") != strlen(port) ||
		    strtol(port, NULL, 10) > 65535 ||
		    (addr[0] == '[' && port[-2] != ']')) {
			fprintf(stderr, "mtls-server: --listen '%s' needs a port "
			    "(ADDR:PORT, [IPv6]:PORT or :PORT)\n", addr);
			return -1;
		}
	}
	return 0;
}

/* A listener on each --listen, as nginx's listen lines; -1 after saying
 * which could not be. */
static int
listen_all(const struct options *o, struct mtls_config *cfg)
{
	char host[256];
	const char *port;

	for (int i = 0; i < o->nlisten; i++) {
		struct mtls *l = mtls_server_new(cfg);

		if (l == NULL) {
			say_error(NULL, mtls_config_error(cfg));
			return -1;
		}
		listeners[nlisteners++] = l;
		(void)split_hostport(o->listen[i], host, sizeof(host), &port);
		if (mtls_listen(l, host[0] ? host : NULL, port, 0) != 0) {
			fprintf(stderr, "mtls-server: --listen '%s': %s\n",
			    o->listen[i], mtls_error(l));
			return -1;
		}
	}
	return 0;
}

/* "listening on ADDR:PORT" for each, with the port bound (for :0). */
static void
say_listening(const struct options *o)
{
	char host[256];
	const char *port;

	for (int i = 0; i < nlisteners; i++) {
		(void)split_hostport(o->listen[i], host, sizeof(host), &port);
		printf("listening on %s%s%s:%d\n", strchr(host, ':') ? "[" : "",
		    host[0] ? host : "*", strchr(host, ':') ? "]" : "",
		    mtls_local_port(listeners[i]));
	}
	fflush(stdout);
}

static void
close_listeners(void)
{
	while (nlisteners > 0)
		mtls_free(listeners[--nlisteners]);
}

/* ---------------------------------------------------------- pid file */

static int
write_pid_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
	    0644);

	if (fd < 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0) {
		fprintf(stderr, "mtls-server: --pid-file '%s': cannot write it: "
		    "%s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* Removed at exit, unless another process has written its own there. */
static void
remove_pid_file(const char *path)
{
	char text[32];
	ssize_t n;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n > 0 && (text[n] = '\0', strtol(text, NULL, 10) == (long)getpid()))
		unlink(path);
}

/* ------------------------------------------------------------ signals */

static const struct options *opts;

/*
 * nginx's signals go to the main thread alone, which waits for them with
 * sigwait: every other thread starts with them blocked.  SIGWINCH (nginx:
 * stop the workers gracefully, the master stays) is left ignored, as it
 * is by default: a terminal sends it when it is resized.
 */
static void
block_signals(sigset_t *set)
{
	static const int sigs[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGTERM,
	    SIGINT };

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* The next signal; once stopping, none for a while (-1), so that the end
 * of the workers is seen. */
static int
next_signal(const sigset_t *set, bool stopping)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	int sig;

	if (stopping)
		return sigtimedwait(set, NULL, &tick);
	return sigwait(set, &sig) == 0 ? sig : -1;
}

/* Until a stop has ended: HUP reloads, USR1 reopens the logs, QUIT stops
 * gracefully, TERM and INT at once (also during a graceful stop).  Once
 * a stop began, /_status says so. */
static void
serve_signals(const sigset_t *set)
{
	bool stopping = false;

	while (!stopping || !loop_finished()) {
		switch (next_signal(set, stopping)) {
		case SIGHUP:
			reload(opts);
			break;
		case SIGUSR1:
			logs_reopen();
			break;
		case SIGUSR2:
			fprintf(stderr, "mtls-server: SIGUSR2 ignored: nginx's upgrade "
			    "of its binary in place is not supported; restart "
			    "mtls-server (SIGHUP reloads certificates)\n");
			break;
		case SIGQUIT:
			if (!stopping) {
				fprintf(stderr, "mtls-server: SIGQUIT: stopping "
				    "gracefully: no new connections, idle ones closed, "
				    "requests under way answered\n");
				status_stopping();
				loop_stop(true);
			}
			stopping = true;
			break;
		case SIGTERM:
		case SIGINT:
			status_stopping();
			loop_stop(false);
			stopping = true;
			break;
		default:
			break;
		}
	}
}

/* -t, as nginx -t: every file read and checked as a server would use it,
 * the log files opened, nothing bound. */
static int
test_config(struct mtls_config *cfg)
{
	struct mtls *probe = mtls_server_new(cfg);

	if (probe == NULL) {
		say_error(NULL, mtls_config_error(cfg));
		return EXIT_CONFIG;
	}
	mtls_free(probe);
	fprintf(stderr, "mtls-server: the configuration is ok\n");
	return 0;
}

/* Everything checked and loaded before listening: 0 with *cfg made, or
 * the exit status of a failure, after saying why. */
static int
prepare(struct options *o, struct mtls_config **cfg)
{
	if (check_listen(o) != 0)
		return EXIT_USAGE;
	if (o->client_ca == NULL && (o->verify_client == NULL ||
	    verify_client_mode(o->verify_client) !=
	    MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA)) {
		fprintf(stderr, "mtls-server: no --client-ca FILE: the CAs that "
		    "client certificates must chain to (nginx's "
		    "ssl_client_certificate); without them no client certificate "
		    "could verify (only --verify-client optional_no_ca goes "
		    "without)\n");
		return EXIT_CONFIG;
	}
	if (o->proxy != NULL && setup_backend(o) != 0)
		return EXIT_USAGE;
	if ((*cfg = build_config(o)) == NULL || logs_open(o) != 0)
		return EXIT_CONFIG;
	return 0;
}

/* Listening, served until a stop has ended; the exit status. */
static int
serve(const struct options *o, struct mtls_config *cfg)
{
	sigset_t signals;
	int fds[MAX_LISTEN];

	if (listen_all(o, cfg) != 0) {
		close_listeners();
		return EXIT_LISTEN;
	}
	if (o->pid_file != NULL && write_pid_file(o->pid_file) != 0) {
		close_listeners();
		return EXIT_CONFIG;
	}
	opts = o;
	block_signals(&signals);
	/* After the signals are blocked: its thread must not take them. */
	if (o->status_listen != NULL && status_start(o) != 0) {
		close_listeners();
		remove_pid_file(o->pid_file);
		return EXIT_LISTEN;
	}
	for (int i = 0; i < nlisteners; i++)
		fds[i] = mtls_fd(listeners[i]);
	if (loop_start(fds, nlisteners, cfg, (int)o->workers, o) != 0) {
		fprintf(stderr, "mtls-server: cannot start: %s\n", strerror(errno));
		status_stop();
		remove_pid_file(o->pid_file);
		return EXIT_CONFIG;
	}
	say_listening(o);
	logs_start();
	serve_signals(&signals);
	status_stop();
	loop_end();
	close_listeners();
	remove_pid_file(o->pid_file);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { .upstream.fd = -1 };
	struct mtls_config *cfg = NULL;
	int rc;

	parse_options(argc, argv, &o);
	if ((rc = prepare(&o, &cfg)) == 0)
		rc = o.test_only ? test_config(cfg) : serve(&o, cfg);
	mtls_config_free(cfg);      /* the workers held their own reference */
	mtls_config_free(o.upstream.cfg);
	return rc;
}
