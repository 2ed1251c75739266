/*
 * mtls-server-status.c - --status-listen: a plain HTTP listener of its own
 * (loopback unless told otherwise), as ghostunnel's status port, with
 *   /_status   a health answer (JSON, 200 while serving, 503 when stopping);
 *   /_metrics  Prometheus's text format: connections open, handshakes by
 *              outcome and by refusal reason, requests by status, bytes
 *              sent, reloads by result, and the seconds until our
 *              certificate, each client CA and each CRL's next update
 *              expire (read from the files at each scrape, so that a
 *              reload shows).
 * The counters are atomics bumped by the workers; the listener is one
 * thread serving one scraper at a time, each bounded by short timeouts.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common.h"
#include "mtls-server.h"

#define STATUS_TIMEOUT_MS 5000

/* Why handshakes failed, as metric labels; the last is any other. */
static const char *const reasons[] = { "no_certificate", "untrusted",
    "not_allowed", "protocol", "timeout", "closed", "handshake", "other" };
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

static struct {
	unsigned long handshakes_ok;
	unsigned long handshakes_failed[NREASONS];
	unsigned long requests[600];                    /* by status */
	unsigned long long bytes_sent;
	unsigned long reloads_ok, reloads_failed;
} stats;

static const struct options *opts;
static struct mtls *status_listener;
static pthread_t status_thread;
static bool status_running, stopping;

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
	__atomic_add_fetch(&stats.bytes_sent, bytes, __ATOMIC_RELAXED);
}

void
stats_reload(bool ok)
{
	bump(ok ? &stats.reloads_ok : &stats.reloads_failed);
}

/* ------------------------------------------------------------ metrics */

/* A growing text; out of memory leaves it as it was. */
struct text {
	char *s;
	size_t len, cap;
};

static void
put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		char *grown = realloc(t->s, t->cap * 2 + (size_t)n + 1);

		if (grown == NULL)
			return;
		t->s = grown;
		t->cap = t->cap * 2 + (size_t)n + 1;
	}
}

/* A label value as Prometheus's text format wants it: \ " and newline
 * escaped. */
static void
label_value(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 3 < len; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n')
			out[n++] = '\\';
		out[n++] = *in == '\n' ? 'n' : *in;
	}
	out[n] = '\0';
}

/* Seconds from now until t (negative: past). */
static long long
seconds_until(const ASN1_TIME *t)
{
	int days = 0, secs = 0;

	if (t == NULL || !ASN1_TIME_diff(&days, &secs, NULL, t))
		return 0;
	return (long long)days * 86400 + secs;
}

static void
put_name_gauge(struct text *t, const char *metric, const char *label1,
    const char *value1, const X509_NAME *name, long long seconds)
{
	char subject[512], escaped[1100], v1[1100];
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	subject[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, subject, sizeof(subject) - 1);
	subject[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	label_value(subject, escaped, sizeof(escaped));
	label_value(value1, v1, sizeof(v1));
	put(t, "%s{%s=\"%s\",subject=\"%s\"} %lld\n", metric, label1, v1,
	    escaped, seconds);
}

/* The certificates of a PEM file, each as a gauge of its expiry. */
static void
put_cert_file(struct text *t, const char *kind, const char *path)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	X509 *x;

	if (f == NULL)
		return;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		put_name_gauge(t, "mtls_server_certificate_expiry_seconds", "kind",
		    kind, X509_get_subject_name(x),
		    seconds_until(X509_get0_notAfter(x)));
		X509_free(x);
		if (strcmp(kind, "server") == 0)
			break;          /* the leaf; the chain is not ours */
	}
	ERR_clear_error();
	fclose(f);
}

static void
put_crl_file(struct text *t, const char *path)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	X509_CRL *crl;

	if (f == NULL)
		return;
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		put_name_gauge(t, "mtls_server_crl_next_update_seconds", "file",
		    path, X509_CRL_get_issuer(crl),
		    seconds_until(X509_CRL_get0_nextUpdate(crl)));
		X509_CRL_free(crl);
	}
	ERR_clear_error();
	fclose(f);
}

static void
put_counters(struct text *t)
{
	put(t, "# HELP mtls_server_connections_open Client connections open.\n"
	    "# TYPE mtls_server_connections_open gauge\n"
	    "mtls_server_connections_open %ld\n", connections_open(0));
	put(t, "# HELP mtls_server_handshakes_total TLS handshakes, by result "
	    "and, for failures, by reason.\n"
	    "# TYPE mtls_server_handshakes_total counter\n"
	    "mtls_server_handshakes_total{result=\"ok\",reason=\"\"} %lu\n",
	    get(&stats.handshakes_ok));
	for (size_t i = 0; i < NREASONS; i++)
		put(t, "mtls_server_handshakes_total{result=\"failed\","
		    "reason=\"%s\"} %lu\n", reasons[i],
		    get(&stats.handshakes_failed[i]));
	put(t, "# HELP mtls_server_requests_total HTTP requests answered, by "
	    "status.\n# TYPE mtls_server_requests_total counter\n");
	for (int code = 100; code < 600; code++)
		if (get(&stats.requests[code]) > 0)
			put(t, "mtls_server_requests_total{code=\"%d\"} %lu\n", code,
			    get(&stats.requests[code]));
	put(t, "# HELP mtls_server_sent_bytes_total Body bytes sent.\n"
	    "# TYPE mtls_server_sent_bytes_total counter\n"
	    "mtls_server_sent_bytes_total %llu\n",
	    __atomic_load_n(&stats.bytes_sent, __ATOMIC_RELAXED));
	put(t, "# HELP mtls_server_reloads_total Reloads (SIGHUP), by result.\n"
	    "# TYPE mtls_server_reloads_total counter\n"
	    "mtls_server_reloads_total{result=\"ok\"} %lu\n"
	    "mtls_server_reloads_total{result=\"failed\"} %lu\n",
	    get(&stats.reloads_ok), get(&stats.reloads_failed));
}

static void
put_expiry(struct text *t)
{
	put(t, "# HELP mtls_server_certificate_expiry_seconds Seconds until a "
	    "certificate expires (negative: expired), ours (kind server) and "
	    "each client CA's.\n"
	    "# TYPE mtls_server_certificate_expiry_seconds gauge\n");
	for (int i = 0; i < opts->nids; i++)
		put_cert_file(t, "server", opts->ids[i].cert);
	put_cert_file(t, "client_ca", opts->client_ca);
	put(t, "# HELP mtls_server_crl_next_update_seconds Seconds until a "
	    "CRL's next update (negative: overdue).\n"
	    "# TYPE mtls_server_crl_next_update_seconds gauge\n");
	put_crl_file(t, opts->crl);
}

/* ------------------------------------------------------- the listener */

static void
answer(struct mtls_http_req *req)
{
	static const char *const json[] = { "Content-Type: application/json",
	    NULL };
	static const char *const prom[] = {
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8", NULL };
	static const char *const text[] = {
	    "Content-Type: text/plain; charset=utf-8", NULL };
	const char *target = mtls_http_req_target(req);
	struct text t = { malloc(4096), 0, 4096 };

	if (t.s == NULL)
		return;
	t.s[0] = '\0';
	if (strcmp(target, "/_status") == 0) {
		bool down = __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);

		put(&t, "{\"ok\":%s,\"status\":\"%s\",\"message\":\"%s\"}\n",
		    down ? "false" : "true", down ? "stopping" : "ok",
		    down ? "stopping" : "listening");
		(void)mtls_http_respond(req, down ? 503 : 200, json, t.s, t.len);
	} else if (strcmp(target, "/_metrics") == 0) {
		put_counters(&t);
		put_expiry(&t);
		(void)mtls_http_respond(req, 200, prom, t.s, t.len);
	} else {
		put(&t, "404 Not Found: /_status and /_metrics are here\n");
		(void)mtls_http_respond(req, 404, text, t.s, t.len);
	}
	free(t.s);
}

static void *
status_main(void *arg)
{
	struct mtls *c;
	struct mtls_http_req *req;

	(void)arg;
	while (mtls_accept(status_listener, &c) == 0) {
		while (mtls_http_read_request(c, 0, &req) == 1) {
			answer(req);
			mtls_http_req_free(req);
		}
		mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

int
status_start(const char *listen, const struct options *o)
{
	struct mtls_config *cfg = mtls_config_new();
	char host[256];
	const char *port;
	int rc = -1;

	opts = o;
	if (split_hostport(listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "mtls-server: --status-listen '%s' needs a port "
		    "(ADDR:PORT)\n", listen);
		mtls_config_free(cfg);
		return -1;
	}
	if (cfg == NULL || mtls_config_insecure_plaintext(cfg) != 0 ||
	    mtls_config_set_timeouts(cfg, STATUS_TIMEOUT_MS, STATUS_TIMEOUT_MS,
	    STATUS_TIMEOUT_MS) != 0 ||
	    (status_listener = mtls_server_new(cfg)) == NULL)
		fprintf(stderr, "mtls-server: --status-listen: %s\n",
		    mtls_config_error(cfg));
	else if (mtls_listen(status_listener, host[0] ? host : "127.0.0.1",
	    port, 0) != 0)
		fprintf(stderr, "mtls-server: --status-listen %s: %s\n", listen,
		    mtls_error(status_listener));
	else if (pthread_create(&status_thread, NULL, status_main, NULL) != 0)
		fprintf(stderr, "mtls-server: --status-listen: cannot start its "
		    "thread\n");
	else {
		status_running = true;
		printf("status on %s:%d\n", host[0] ? host : "127.0.0.1",
		    mtls_local_port(status_listener));
		rc = 0;
	}
	mtls_config_free(cfg);
	return rc;
}

void
status_stopping(void)
{
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
}

void
status_stop(void)
{
	if (!status_running)
		return;
	mtls_wake(status_listener);
	pthread_join(status_thread, NULL);
	mtls_free(status_listener);
	status_running = false;
}
