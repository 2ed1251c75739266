/*
 * mtls-client - a curl-like quick test client for mutual TLS: one HTTPS
 * request with a client certificate, taking curl's TLS options and giving
 * curl's exit codes, so that the commands of the mTLS articles work with
 * mtls-client in place of curl; -v tells why a handshake failed.
 *
 *   mtls-client [options] https://host[:port][/path]
 *
 * The options, their parsing and --help are in mtls-client-args.c; here
 * are the configuration, the connection and the transfer.  Only the public
 * API of libmtls (mtls.h) is used.  See mtls-client(1).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <mtls.h>

#include "common.h"
#include "mtls-client.h"

/* Where a failure happened: the same library error means different
 * things during the handshake and after it (curl's 35 vs 56). */
enum phase { PHASE_CONNECT, PHASE_REQUEST, PHASE_BODY };

struct transfer {
	const struct options *o;
	struct mtls_config *cfg;
	struct mtls *c;
	struct url url;
	char addr[256];             /* where to connect: --resolve or the host */
	char **headers;             /* NULL-terminated, each malloc'd */
	long start, deadline;       /* monotonic_ms() values; deadline -1: none */
	unsigned long long received;
	FILE *out;
};

/* ------------------------------------------------------------ messages */

static int quiet;               /* -s without -S: no error messages */

/* Prints "mtls-client: (STATUS) MESSAGE" unless silenced; returns status. */
int
failure(int status, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return status;
	fprintf(stderr, "mtls-client: (%d) ", status);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* Prints each line of text on stderr after prefix, as curl -v does. */
static void
verbose_text(const char *prefix, const char *text)
{
	while (text != NULL && *text != '\0') {
		size_t n = strcspn(text, "\n");

		fprintf(stderr, "%s%.*s\n", prefix, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void
describe(const struct transfer *t)
{
	if (t->o->verbose)
		verbose_text("* ", mtls_conn_describe(t->c));
}

/* ---------------------------------------------------------- the config */

static int
config_failure(struct mtls_config *cfg, int status)
{
	return failure(status, "%s", mtls_config_error(cfg));
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		volatile char *p = s;

		while (*p)
			*p++ = '\0';
		free(s);
	}
}

static int
load_client_identity(struct mtls_config *cfg, const struct options *o)
{
	char *file, *password;
	const char *pass;
	int p12 = 0, rc;

	if (o->cert == NULL)
		return 0;
	split_cert(o->cert, &file, &password);
	pass = o->pass != NULL ? o->pass : password;
	rc = cert_is_p12(o->cert_type, file, &p12);
	if (rc == 0 && p12)
		rc = mtls_config_set_p12_file(cfg, file, pass);
	else if (rc == 0)
		rc = mtls_config_set_cert_file(cfg, file, o->key, pass);
	if (rc == -1)
		rc = config_failure(cfg, EXIT_CLIENT_CERT);
	free(file);
	wipe_free(password);
	return rc;
}

/* --pinnedpubkey "sha256//A;sha256//B": any one of them admits the server. */
static int
load_pins(struct mtls_config *cfg, const char *pins)
{
	char *copy, *pin, *save = NULL;
	int rc = 0;

	if (pins == NULL)
		return 0;
	if ((copy = strdup(pins)) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	for (pin = strtok_r(copy, ";", &save); pin != NULL && rc == 0;
	    pin = strtok_r(NULL, ";", &save)) {
		pin += strspn(pin, " ");
		if (strncmp(pin, "sha256//", 8) != 0)
			rc = failure(EXIT_USAGE, "--pinnedpubkey '%s': only "
			    "sha256//BASE64 hashes are supported, not key files", pin);
		else if (mtls_config_allow(cfg, MTLS_ALLOW_SPKI_SHA256, pin) != 0)
			rc = config_failure(cfg, EXIT_USAGE);
	}
	free(copy);
	return rc;
}

static int
load_trust(struct mtls_config *cfg, const struct options *o)
{
	if (o->insecure) {
		fprintf(stderr, "mtls-client: warning: --insecure: the server's "
		    "certificate is not verified; anyone can pose as it\n");
		return mtls_config_insecure_noverify(cfg) == 0 ? 0 :
		    config_failure(cfg, EXIT_USAGE);
	}
	if (o->cacert != NULL && mtls_config_set_ca_file(cfg, o->cacert) != 0)
		return config_failure(cfg, EXIT_CACERT);
	if (o->capath != NULL && mtls_config_set_ca_path(cfg, o->capath) != 0)
		return config_failure(cfg, EXIT_CACERT);
	/* curl trusts the system's CAs unless told which to trust. */
	if (o->cacert == NULL && o->capath == NULL &&
	    mtls_config_use_system_ca(cfg) != 0)
		return config_failure(cfg, EXIT_CACERT);
	if (o->crlfile != NULL && mtls_config_set_crl_file(cfg, o->crlfile, 0))
		return config_failure(cfg, EXIT_CRL);
	return 0;
}

/* The library bounds each step; the whole transfer is bounded by the
 * timer of arm_timer.  Without options: the library's 30 s defaults. */
/* curl's --tlsv1.2/--tlsv1.3/--tls-max (no version left: exit 35, as
 * curl's "CURL_SSLVERSION_MAX incompatible") and --ciphers,
 * --tls13-ciphers, --curves (exit 59, as curl's "failed setting cipher
 * list"). */
static int
set_tls_policy(struct mtls_config *cfg, const struct options *o)
{
	if (o->tls_max == TLS_MAX_TOO_OLD)
		return failure(EXIT_TLS, "--tls-max below 1.2 leaves no TLS "
		    "version: TLS 1.0 and 1.1 are not supported (libmtls speaks "
		    "TLS 1.2 and 1.3): use --tls-max 1.2 or more");
	if ((o->tls_max && mtls_config_set_max_version(cfg, o->tls_max) != 0) ||
	    (o->tls_min && mtls_config_set_min_version(cfg, o->tls_min) != 0))
		return failure(EXIT_TLS, "%s", mtls_config_error(cfg));
	if ((o->ciphers && mtls_config_set_ciphers(cfg, o->ciphers) != 0) ||
	    (o->tls13_ciphers &&
	    mtls_config_set_ciphersuites(cfg, o->tls13_ciphers) != 0) ||
	    (o->curves && mtls_config_set_groups(cfg, o->curves) != 0))
		return failure(EXIT_SSL_CIPHER, "%s", mtls_config_error(cfg));
	/* curl offers the HTTP versions it speaks; ours is HTTP/1.1 */
	if (!o->no_alpn && mtls_config_set_alpn(cfg, "http/1.1") != 0)
		return failure(EXIT_TLS, "%s", mtls_config_error(cfg));
	return 0;
}

static int
set_timeouts(struct mtls_config *cfg, const struct options *o)
{
	long conn = 30000, io = 0;

	if (o->connect_ms > 0)
		conn = o->connect_ms;
	if (o->max_ms > 0) {
		conn = conn < o->max_ms ? conn : o->max_ms;
		io = o->max_ms;
	}
	conn = conn > INT_MAX ? INT_MAX : conn;
	io = io > INT_MAX ? INT_MAX : io;
	if (mtls_config_set_timeouts(cfg, (int)conn, (int)conn, (int)io) != 0)
		return config_failure(cfg, EXIT_USAGE);
	return 0;
}

static int
make_config(struct transfer *t)
{
	const char *w;
	size_t i;
	int rc;

	if ((t->cfg = mtls_config_new()) == NULL)
		return failure(EXIT_NOMEM, "%s", mtls_config_error(NULL));
	rc = load_client_identity(t->cfg, t->o);
	if (rc == 0)
		rc = load_trust(t->cfg, t->o);
	if (rc == 0)
		rc = load_pins(t->cfg, t->o->pins);
	if (rc == 0)
		rc = set_timeouts(t->cfg, t->o);
	if (rc == 0)
		rc = set_tls_policy(t->cfg, t->o);
	for (i = 0; rc == 0 && !quiet &&
	    (w = mtls_config_warning(t->cfg, i)) != NULL; i++)
		fprintf(stderr, "mtls-client: warning: %s\n", w);
	return rc;
}

/* ------------------------------------------------------------ the timer */

static struct mtls *volatile timer_conn;
static volatile sig_atomic_t timer_fired;

/* mtls_wake is async-signal-safe: the blocked call returns MTLS_ERR_WOKEN. */
static void
on_timer(int sig)
{
	(void)sig;
	timer_fired = 1;
	mtls_wake(timer_conn);
}

/* Arms the one timer to fire at deadline (a monotonic_ms() value), or disarms it
 * for -1. */
static void
arm_timer(long deadline)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	if (deadline >= 0) {
		long left = deadline - monotonic_ms();

		left = left < 1 ? 1 : left;
		it.it_value.tv_sec = left / 1000;
		it.it_value.tv_usec = (left % 1000) * 1000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
install_timer(struct mtls *c)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	timer_conn = c;
	sigaction(SIGALRM, &sa, NULL);
}

/* ------------------------------------------------------------- failures */

static int
status_for(int code, enum phase phase)
{
	switch (code) {
	case MTLS_ERR_RESOLVE:
		return EXIT_RESOLVE;
	case MTLS_ERR_CONNECT:
		return EXIT_CONNECT;
	case MTLS_ERR_TIMEOUT:
	case MTLS_ERR_WOKEN:        /* only our timer wakes us */
		return EXIT_TIMEOUT;
	case MTLS_ERR_PEER_UNTRUSTED:
	case MTLS_ERR_HOSTNAME:
	case MTLS_ERR_NO_PEER_CERT:
		return EXIT_PEER_CERT;
	case MTLS_ERR_CERT_REJECTED:
	case MTLS_ERR_BAD_IDENTITY:
		return EXIT_CLIENT_CERT;
	case MTLS_ERR_NOT_ALLOWED:  /* the allow-list holds only our pins */
		return EXIT_PINNED;
	case MTLS_ERR_NOMEM:
		return EXIT_NOMEM;
	case MTLS_ERR_HTTP:
		return EXIT_WEIRD_REPLY;
	case MTLS_ERR_INVALID:
		return EXIT_USAGE;
	case MTLS_ERR_TRUNCATED:
		if (phase == PHASE_BODY)
			return EXIT_PARTIAL;
		/* FALLTHROUGH */
	case MTLS_ERR_CLOSED:
	case MTLS_ERR_IO:
	case MTLS_ERR_TLS:
		return phase == PHASE_CONNECT ? EXIT_TLS : EXIT_RECV;
	default:
		return EXIT_TLS;
	}
}

/* The server's key as curl's pin, sha256//BASE64, from the library's hex
 * SHA-256 of it; "" when there is none. */
static void
server_pin(struct mtls *c, char *pin, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *hex = mtls_peer_spki_sha256(c);
	unsigned char raw[32];
	unsigned int byte;
	size_t i, o = 8;

	pin[0] = '\0';
	if (hex == NULL || strlen(hex) != 64 || len < 8 + 44 + 1)
		return;
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return;
		raw[i] = (unsigned char)byte;
	}
	memcpy(pin, "sha256//", 8);
	for (i = 0; i < 32; i += 3) {
		unsigned long v = (unsigned long)raw[i] << 16 |
		    (i + 1 < 32 ? (unsigned long)raw[i + 1] << 8 : 0) |
		    (i + 2 < 32 ? raw[i + 2] : 0);

		pin[o++] = b64[v >> 18 & 63];
		pin[o++] = b64[v >> 12 & 63];
		pin[o++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		pin[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	pin[o] = '\0';
}

/* Reports the connection's error; a wake-up is our own timer's. */
static int
conn_failure(struct transfer *t, enum phase phase)
{
	const struct options *o = t->o;
	int code = mtls_error_code(t->c);
	long elapsed = monotonic_ms() - t->start;

	if (phase == PHASE_CONNECT || code == MTLS_ERR_CERT_REJECTED)
		describe(t);
	if (code == MTLS_ERR_NOT_ALLOWED) {
		char pin[64];

		server_pin(t->c, pin, sizeof(pin));
		return failure(EXIT_PINNED, "%s; its public key is %s, which "
		    "--pinnedpubkey does not list", mtls_error(t->c),
		    pin[0] ? pin : "unknown");
	}
	if (code != MTLS_ERR_WOKEN || !timer_fired)
		return failure(status_for(code, phase), "%s", mtls_error(t->c));
	if (o->max_ms > 0 && elapsed >= o->max_ms)
		return failure(EXIT_TIMEOUT, "operation timed out after %ld ms "
		    "with %llu bytes received (--max-time)", elapsed, t->received);
	return failure(EXIT_TIMEOUT, "connection to %s port %s timed out after "
	    "%ld ms (--connect-timeout)", t->addr, t->url.port, elapsed);
}

/* ---------------------------------------------------------- the request */

static int
connect_server(struct transfer *t)
{
	const struct options *o = t->o;
	int resolved = resolve_address(o, &t->url, t->addr, sizeof(t->addr));
	long connect_deadline = t->deadline;

	if ((t->c = mtls_client_new(t->cfg)) == NULL)
		return config_failure(t->cfg, mtls_config_error_code(t->cfg) ==
		    MTLS_ERR_BAD_IDENTITY ? EXIT_CLIENT_CERT : EXIT_USAGE);
	if (resolved && mtls_set_verify_name(t->c, t->url.host) != 0)
		return conn_failure(t, PHASE_CONNECT);
	if (o->verbose)
		fprintf(stderr, "* Connecting to %s port %s%s%s%s\n", t->url.host,
		    t->url.port, resolved ? " at " : "", resolved ? t->addr : "",
		    resolved ? " (--resolve)" : "");
	install_timer(t->c);
	if (o->connect_ms > 0 && (connect_deadline < 0 ||
	    t->start + o->connect_ms < connect_deadline))
		connect_deadline = t->start + o->connect_ms;
	if (connect_deadline >= 0)
		arm_timer(connect_deadline);
	if (mtls_connect(t->c, t->addr, t->url.port) != 0)
		return conn_failure(t, PHASE_CONNECT);
	arm_timer(t->deadline);
	describe(t);
	return 0;
}

static void
verbose_request(const struct transfer *t, const char *method, size_t body_len)
{
	char **h;

	if (!t->o->verbose)
		return;
	fprintf(stderr, "> %s %s HTTP/1.1\n", method, t->url.target);
	for (h = t->headers; *h != NULL; h++)
		fprintf(stderr, "> %s\n", *h);
	if (t->o->has_data && !user_header(t->o, "Content-Length"))
		fprintf(stderr, "> Content-Length: %zu\n", body_len);
	fprintf(stderr, ">\n");
}

/* The response head, as curl -i writes it (CRLF) or -v shows it ("< "). */
static int
write_head(FILE *f, const struct mtls_http_response *r, const char *prefix,
    const char *eol)
{
	const char *name, *value;
	size_t i;

	fprintf(f, "%s%s %d %s%s", prefix, mtls_http_response_version(r),
	    mtls_http_response_status(r), mtls_http_response_reason(r), eol);
	for (i = 0; mtls_http_response_header_at(r, i, &name, &value); i++)
		fprintf(f, "%s%s: %s%s", prefix, name, value, eol);
	fprintf(f, "%.1s%s", prefix, eol);   /* "<" alone, as curl -v */
	return ferror(f) ? -1 : 0;
}

/* nginx names the cause of its 400 in the page title ("400 No required
 * SSL certificate was sent"): a small HTML body's title, or "". */
static void
page_title(struct mtls_http_response *r, char *title, size_t len)
{
	const char *type = mtls_http_response_header(r, "Content-Type", 0);
	char body[4096];
	ssize_t n, got = 0;
	char *start, *end;

	title[0] = '\0';
	if (type == NULL || strncasecmp(type, "text/html", 9) != 0)
		return;
	while (got < (ssize_t)sizeof(body) - 1 && (n = mtls_http_response_read(r,
	    body + got, sizeof(body) - 1 - (size_t)got)) > 0)
		got += n;
	body[got] = '\0';
	if ((start = strcasestr(body, "<title>")) == NULL ||
	    (end = strcasestr(start, "</title>")) == NULL)
		return;
	start += 7;
	snprintf(title, len, " (%.*s)", (int)(end - start), start);
}

/* -f: an HTTP error is a failure; say what the server asked for. */
static int
http_failure(struct transfer *t, struct mtls_http_response *r)
{
	const char *ca = mtls_peer_acceptable_ca(t->c, 0);
	char title[256];

	page_title(r, title, sizeof(title));
	if (t->o->cert == NULL && ca != NULL)
		return failure(EXIT_HTTP, "the requested URL returned error: %d%s; "
		    "the server asked for a client certificate issued by '%s'%s "
		    "and none was sent (--cert)", mtls_http_response_status(r),
		    title, ca, mtls_peer_acceptable_ca(t->c, 1) ? " or others" : "");
	return failure(EXIT_HTTP, "the requested URL returned error: %d%s",
	    mtls_http_response_status(r), title);
}

/* ------------------------------------------------------------ the output */

static int
open_output(struct transfer *t)
{
	if (t->out != NULL)
		return 0;
	if (t->o->output == NULL || strcmp(t->o->output, "-") == 0) {
		t->out = stdout;
		return 0;
	}
	if ((t->out = fopen(t->o->output, "wb")) == NULL)
		return failure(EXIT_WRITE, "cannot create output file '%s': %s",
		    t->o->output, strerror(errno));
	return 0;
}

static int
write_failure(const struct transfer *t)
{
	return failure(EXIT_WRITE, "failed writing the body to %s: %s",
	    t->out == stdout ? "standard output" : t->o->output,
	    strerror(errno));
}

static int
stream_body(struct transfer *t, struct mtls_http_response *r)
{
	char buf[16384];
	ssize_t n;

	while ((n = mtls_http_response_read(r, buf, sizeof(buf))) > 0) {
		t->received += (unsigned long long)n;
		if (fwrite(buf, 1, (size_t)n, t->out) != (size_t)n)
			return write_failure(t);
	}
	if (n < 0)
		return conn_failure(t, PHASE_BODY);
	return fflush(t->out) == 0 ? 0 : write_failure(t);
}

static int
close_output(struct transfer *t)
{
	int rc;

	if (t->out == NULL)
		return 0;
	rc = t->out == stdout ? fflush(stdout) : fclose(t->out);
	t->out = NULL;
	return rc == 0 ? 0 : write_failure(t);
}

static int
request(struct transfer *t)
{
	const struct options *o = t->o;
	const char *method = o->method ? o->method : o->has_data ? "POST" :
	    o->head ? "HEAD" : "GET";
	const void *body = o->has_data ? (o->data ? o->data : "") : NULL;
	struct mtls_http_response *r;
	int rc;

	verbose_request(t, method, o->data_len);
	r = mtls_http_request(t->c, method, t->url.target,
	    (const char *const *)t->headers, body, o->data_len, MTLS_HTTP_STREAM);
	if (r == NULL)
		return conn_failure(t, PHASE_REQUEST);
	if (o->verbose)
		write_head(stderr, r, "< ", "\n");
	if (o->fail && mtls_http_response_status(r) >= 400)
		rc = http_failure(t, r);
	else if ((rc = open_output(t)) == 0 && (o->include || o->head) &&
	    write_head(t->out, r, "", "\r\n") != 0)
		rc = write_failure(t);
	if (rc == 0)
		rc = stream_body(t, r);
	mtls_http_response_free(r);
	if (rc == 0)
		mtls_close(t->c);
	return rc;
}

static int
run(const struct options *o)
{
	struct transfer t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.start = monotonic_ms();
	t.deadline = o->max_ms > 0 ? t.start + o->max_ms : -1;
	rc = parse_url(o->url, &t.url);
	if (rc == 0)
		rc = make_config(&t);
	if (rc == 0 && (t.headers = build_headers(o, &t.url)) == NULL)
		rc = failure(EXIT_NOMEM, "out of memory");
	if (rc == 0)
		rc = connect_server(&t);
	if (rc == 0)
		rc = request(&t);
	arm_timer(-1);
	timer_conn = NULL;
	if (close_output(&t) != 0 && rc == 0)
		rc = EXIT_WRITE;
	free_headers(t.headers);
	free(t.url.target);
	mtls_free(t.c);
	mtls_config_free(t.cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct options o;    /* static: reachable until exit */
	int rc;

	/* A closed stdout must be exit 23, not death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	quiet = o.silent && !o.show_error;
	rc = run(&o);
	free(o.data);
	return rc;
}
