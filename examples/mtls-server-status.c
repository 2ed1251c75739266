/*
 * mtls-server-status.c - --status-listen: a plain HTTP listener of its own
 * (127.0.0.1 unless an address is given), as ghostunnel's status port,
 * with
 *   /_status   a health answer (JSON, 200 while serving, 503 once a stop
 *              began);
 *   /_metrics  Prometheus's text format: connections open, handshakes by
 *              result and reason, requests by status, body bytes sent,
 *              reloads by result, and the seconds until our certificate
 *              and each client CA expire and each CRL's next update
 *              (read from the files at each scrape, so that a reload
 *              shows).
 * The counters are atomics bumped by the workers; the listener is one
 * thread answering one request a connection, each bounded by short
 * timeouts, so that a scraper keeping its connection cannot hold off a
 * health check.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common.h"
#include "mtls-server.h"

#define STATUS_TIMEOUT_MS 5000      /* connect to answer, each step */
#define STATUS_MAX_BODY 1024        /* a scraper sends none */
#define ACCEPT_PAUSE_MS 100         /* after a failed accept (EMFILE) */

/* Why handshakes failed, as metric labels; the last is any other. */
static const char *const reasons[] = { "no_certificate", "untrusted",
    "not_allowed", "protocol", "timeout", "closed", "tls", "other" };
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

/* The label of an enum mtls_error, as an index of reasons. */
static size_t
reason_of(int code)
{
	switch (code) {
	case MTLS_ERR_NO_PEER_CERT:
		return 0;
	case MTLS_ERR_PEER_UNTRUSTED:
		return 1;
	case MTLS_ERR_NOT_ALLOWED:
		return 2;
	case MTLS_ERR_PROTOCOL:
		return 3;
	case MTLS_ERR_TIMEOUT:
		return 4;
	case MTLS_ERR_CLOSED:
	case MTLS_ERR_TRUNCATED:
		return 5;
	case MTLS_ERR_HANDSHAKE:
	case MTLS_ERR_TLS:
		return 6;
	default:
		return NREASONS - 1;
	}
}

/* The counters, each read and bumped with atomics. */
static struct {
	unsigned long handshakes_ok;
	unsigned long handshakes_failed[NREASONS];
	unsigned long requests[600];            /* by status, 100 to 599 */
	unsigned long long body_bytes;
	unsigned long reloads_ok, reloads_failed;
	unsigned long file_reloads_ok, file_reloads_failed;
} stats;

static const struct options *opts;
static struct mtls *listener;
static pthread_t thread;
static bool running;                /* the thread started; main's alone */
static bool stopping;               /* /_status answers 503 */

/* What status_stop must wake: the connection being answered. */
static pthread_mutex_t serving_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mtls *serving;
static bool closing;

static void
bump(unsigned long *n)
{
	__atomic_add_fetch(n, 1, __ATOMIC_RELAXED);
}

static unsigned long
get(const unsigned long *n)
{
	return __atomic_load_n(n, __ATOMIC_RELAXED);
}

void
stats_handshake(int error_code)
{
	bump(error_code == MTLS_OK ? &stats.handshakes_ok :
	    &stats.handshakes_failed[reason_of(error_code)]);
}

void
stats_request(int status, unsigned long long bytes)
{
	if (status >= 100 && status < 600)
		bump(&stats.requests[status]);
	__atomic_add_fetch(&stats.body_bytes, bytes, __ATOMIC_RELAXED);
}

void
stats_reload(bool ok)
{
	bump(ok ? &stats.reloads_ok : &stats.reloads_failed);
}

void
stats_file_reload(bool ok)
{
	bump(ok ? &stats.file_reloads_ok : &stats.file_reloads_failed);
}

/* ------------------------------------------------------------ metrics */

/* A growing text; failed once out of memory (then answered 500). */
struct text {
	char *s;
	size_t len, cap;
	bool failed;
};

static bool
reserve(struct text *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 4096;
	char *grown;

	if (t->failed)
		return false;
	if (t->len + more < t->cap)
		return true;
	while (cap <= t->len + more)
		cap *= 2;
	if ((grown = realloc(t->s, cap)) == NULL) {
		t->failed = true;
		return false;
	}
	t->s = grown;
	t->cap = cap;
	return true;
}

static void
put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* len bytes of s as a label value of Prometheus's text format: \, " and
 * newline escaped. */
static void
put_label_value(struct text *t, const char *s, size_t len)
{
	if (!reserve(t, 2 * len))
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"' || s[i] == '\n')
			t->s[t->len++] = '\\';
		t->s[t->len++] = s[i] == '\n' ? 'n' : s[i];
	}
	t->s[t->len] = '\0';
}

/* A name as the access log and X-SSL-Client-S-DN write one (RFC 2253,
 * UTF-8), as a label value. */
static void
put_name(struct text *t, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len = 0;

	if (b == NULL || X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		t->failed = true;
	else if ((len = BIO_get_mem_data(b, &data)) > 0)
		put_label_value(t, data, (size_t)len);
	BIO_free(b);
}

/* Seconds from now until when into *secs (negative: past); false when
 * there is no time. */
static bool
seconds_until(const ASN1_TIME *when, long long *secs)
{
	int days = 0, s = 0;

	if (when == NULL || !ASN1_TIME_diff(&days, &s, NULL, when))
		return false;
	*secs = (long long)days * 86400 + s;
	return true;
}

/* One certificate's gauge: kind, subject and serial (two CAs of one name,
 * the old and the new, stay apart). */
static void
put_cert(struct text *t, const char *kind, X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	long long secs;

	if (serial == NULL)
		t->failed = true;
	else if (seconds_until(X509_get0_notAfter(x), &secs)) {
		put(t, "mtls_server_certificate_expiry_seconds{kind=\"%s\","
		    "subject=\"", kind);
		put_name(t, X509_get_subject_name(x));
		put(t, "\",serial=\"%s\"} %lld\n", serial, secs);
	}
	OPENSSL_free(serial);
	BN_free(bn);
}

/* The certificates of a PEM file (other blocks skipped), or only its
 * first (ours: the chain after it is not). */
static void
put_cert_file(struct text *t, const char *kind, const char *path,
    bool first_only)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	X509 *x;

	if (f == NULL)
		return;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		put_cert(t, kind, x);
		X509_free(x);
		if (first_only)
			break;
	}
	ERR_clear_error();
	fclose(f);
}

static void
put_crl_file(struct text *t, const char *path)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	X509_CRL *crl;
	long long secs;

	if (f == NULL)
		return;
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		if (seconds_until(X509_CRL_get0_nextUpdate(crl), &secs)) {
			put(t, "mtls_server_crl_next_update_seconds{issuer=\"");
			put_name(t, X509_CRL_get_issuer(crl));
			put(t, "\"} %lld\n", secs);
		}
		X509_CRL_free(crl);
	}
	ERR_clear_error();
	fclose(f);
}

/* A family's HELP and TYPE lines. */
static void
put_family(struct text *t, const char *name, const char *type,
    const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
put_handshakes(struct text *t)
{
	put_family(t, "mtls_server_handshakes_total", "counter",
	    "TLS handshakes ended, by result and, for failures, reason.");
	put(t, "mtls_server_handshakes_total{result=\"ok\"} %lu\n",
	    get(&stats.handshakes_ok));
	for (size_t i = 0; i < NREASONS; i++)
		put(t, "mtls_server_handshakes_total{result=\"failed\","
		    "reason=\"%s\"} %lu\n", reasons[i],
		    get(&stats.handshakes_failed[i]));
}

/* Requests by status: only the statuses answered at least once. */
static void
put_requests(struct text *t)
{
	put_family(t, "mtls_server_requests_total", "counter",
	    "HTTP requests answered, by status, as the access log has them.");
	for (int code = 100; code < 600; code++) {
		unsigned long n = get(&stats.requests[code]);

		if (n > 0)
			put(t, "mtls_server_requests_total{code=\"%d\"} %lu\n",
			    code, n);
	}
	put_family(t, "mtls_server_response_body_bytes_total", "counter",
	    "Body bytes sent in answers ($body_bytes_sent).");
	put(t, "mtls_server_response_body_bytes_total %llu\n",
	    __atomic_load_n(&stats.body_bytes, __ATOMIC_RELAXED));
}

static void
put_counters(struct text *t)
{
	put_family(t, "mtls_server_connections_open", "gauge",
	    "Client connections open, idle ones included.");
	put(t, "mtls_server_connections_open %ld\n", connections_open(0));
	put_handshakes(t);
	put_requests(t);
	put_family(t, "mtls_server_reloads_total", "counter",
	    "Reloads (SIGHUP), by result.");
	put(t, "mtls_server_reloads_total{result=\"ok\"} %lu\n"
	    "mtls_server_reloads_total{result=\"failed\"} %lu\n",
	    get(&stats.reloads_ok), get(&stats.reloads_failed));
	put_family(t, "mtls_server_file_reloads_total", "counter",
	    "Reloads of changed files (--watch), by result; a refused set "
	    "counts once.");
	put(t, "mtls_server_file_reloads_total{result=\"ok\"} %lu\n"
	    "mtls_server_file_reloads_total{result=\"failed\"} %lu\n",
	    get(&stats.file_reloads_ok), get(&stats.file_reloads_failed));
}

static void
put_expiry(struct text *t)
{
	put_family(t, "mtls_server_certificate_expiry_seconds", "gauge",
	    "Seconds until a certificate expires (negative: expired), ours "
	    "(kind server, each --cert) and each client CA's (kind client_ca).");
	for (int i = 0; i < opts->nids; i++)
		put_cert_file(t, "server", opts->ids[i].cert, true);
	put_cert_file(t, "client_ca", opts->client_ca, false);
	put_family(t, "mtls_server_crl_next_update_seconds", "gauge",
	    "Seconds until a CRL's next update (negative: overdue).");
	put_crl_file(t, opts->crl);
}

/* ------------------------------------------------------- the listener */

/* The answer to req, one a connection. */
static void
answer(struct mtls_http_req *req)
{
	static const char *const json[] = { "Content-Type: application/json",
	    "Connection: close", NULL };
	static const char *const prom[] = {
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8",
	    "Connection: close", NULL };
	static const char *const plain[] = {
	    "Content-Type: text/plain; charset=utf-8", "Connection: close",
	    NULL };
	static const char *const allow[] = {
	    "Content-Type: text/plain; charset=utf-8", "Connection: close",
	    "Allow: GET, HEAD", NULL };
	const char *target = mtls_http_req_target(req);
	const char *method = mtls_http_req_method(req);
	size_t path_len = strcspn(target, "?");
	struct text t = { NULL, 0, 0, false };
	bool down = __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
	const char *const *hdrs = plain;
	int status = 404;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = 405;
		hdrs = allow;
		put(&t, "405 Method Not Allowed: GET or HEAD\n");
	} else if (path_len == 8 && strncmp(target, "/_status", 8) == 0) {
		status = down ? 503 : 200;
		hdrs = json;
		put(&t, "{\"ok\":%s,\"status\":\"%s\",\"message\":\"%s\"}\n",
		    down ? "false" : "true", down ? "stopping" : "ok",
		    down ? "stopping" : "listening");
	} else if (path_len == 9 && strncmp(target, "/_metrics", 9) == 0) {
		status = 200;
		hdrs = prom;
		put_counters(&t);
		put_expiry(&t);
	} else
		put(&t, "404 Not Found: /_status and /_metrics are here\n");
	if (t.failed)
		(void)mtls_http_respond(req, 500, plain, "out of memory\n", 14);
	else
		(void)mtls_http_respond(req, status, hdrs, t.s, t.len);
	free(t.s);
}

/* c becomes the connection status_stop wakes; false when stopping. */
static bool
serving_begin(struct mtls *c)
{
	bool ok;

	pthread_mutex_lock(&serving_lock);
	ok = !closing;
	serving = ok ? c : NULL;
	pthread_mutex_unlock(&serving_lock);
	return ok;
}

static void
serving_end(struct mtls *c)
{
	pthread_mutex_lock(&serving_lock);
	serving = NULL;
	pthread_mutex_unlock(&serving_lock);
	mtls_close(c);
	mtls_free(c);
}

/* An accept that failed, not woken: said once; a pause (out of
 * descriptors), then the listener again. */
static void
accept_failed(void)
{
	static bool said;
	struct timespec pause = { 0, ACCEPT_PAUSE_MS * 1000000L };

	if (!said)
		say_error("--status-listen: cannot accept", mtls_error(listener));
	said = true;
	nanosleep(&pause, NULL);
}

static void *
status_main(void *arg)
{
	struct mtls_http_req *req;
	struct mtls *c;

	(void)arg;
	for (;;) {
		if (mtls_accept(listener, &c) != 0) {
			if (mtls_error_code(listener) == MTLS_ERR_WOKEN)
				break;
			accept_failed();
			continue;
		}
		if (!serving_begin(c)) {
			serving_end(c);
			break;
		}
		if (mtls_http_read_request(c, 0, &req) == 1) {
			answer(req);
			mtls_http_req_free(req);
		}
		serving_end(c);
	}
	return NULL;
}

int
status_address(const char *arg, char *host, size_t len, const char **port)
{
	if (strchr(arg, ':') == NULL) {
		snprintf(host, len, "127.0.0.1");
		*port = arg;
	} else if (split_hostport(arg, host, len, port) != 0 ||
	    (arg[0] == '[' && (*port)[-2] != ']'))
		return -1;
	if (host[0] == '\0')
		snprintf(host, len, "127.0.0.1");
	if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port) ||
	    strlen(*port) > 5 || strtol(*port, NULL, 10) > 65535)
		return -1;
	return 0;
}

/* The listener's config: plain, its limits short. */
static struct mtls_config *
status_config(void)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL || mtls_config_insecure_plaintext(cfg) != 0 ||
	    mtls_config_set_timeouts(cfg, STATUS_TIMEOUT_MS, STATUS_TIMEOUT_MS,
	    STATUS_TIMEOUT_MS) != 0 ||
	    mtls_config_set_http_limit(cfg, MTLS_HTTP_HEADER_TIMEOUT_MS,
	    STATUS_TIMEOUT_MS) != 0 ||
	    mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_BODY,
	    STATUS_MAX_BODY) != 0) {
		say_error("--status-listen", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

int
status_start(const struct options *o)
{
	struct mtls_config *cfg;
	char host[256];
	const char *port;

	opts = o;
	if (status_address(o->status_listen, host, sizeof(host), &port) != 0 ||
	    (cfg = status_config()) == NULL)
		return -1;
	listener = mtls_server_new(cfg);
	if (listener == NULL)
		say_error("--status-listen", mtls_config_error(cfg));
	mtls_config_free(cfg);      /* the listener holds its own reference */
	if (listener == NULL)
		return -1;
	if (mtls_listen(listener, host, port, 0) != 0) {
		fprintf(stderr, "mtls-server: --status-listen '%s': %s\n",
		    o->status_listen, mtls_error(listener));
	} else if ((errno = pthread_create(&thread, NULL, status_main,
	    NULL)) != 0) {
		fprintf(stderr, "mtls-server: --status-listen: cannot start its "
		    "thread: %s\n", strerror(errno));
	} else {
		running = true;
		printf("status on %s%s%s:%d (plain HTTP: /_status, /_metrics)\n",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ?
		    "]" : "", mtls_local_port(listener));
		return 0;
	}
	mtls_free(listener);
	listener = NULL;
	return -1;
}

void
status_stopping(void)
{
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
}

void
status_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&serving_lock);
	closing = true;
	if (serving != NULL)
		mtls_wake(serving);
	pthread_mutex_unlock(&serving_lock);
	mtls_wake(listener);
	pthread_join(thread, NULL);
	mtls_free(listener);
	listener = NULL;
	running = false;
}
