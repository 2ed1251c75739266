/*
 * mtls-client - a curl-compatible HTTPS client for mutual TLS: curl's
 * options for TLS and HTTP/1.1 with curl's meanings, output formats and
 * exit codes, so that a curl command line of the mTLS articles works with
 * mtls-client in place of curl; -v tells why a handshake failed.
 *
 *   mtls-client [options] https://host[:port][/path]
 *
 * The options and --help are in mtls-client-args.c, -K files and -V in
 * mtls-client-conf.c, URLs in mtls-client-url.c, request headers in
 * mtls-client-headers.c, the connection in mtls-client-conn.c, and what
 * is written (body, heads, traces, -w) in mtls-client-out.c.  Here are
 * one request, its redirects (-L) and its retries (--retry); the
 * configuration (our certificate, trust, TLS settings) is made in
 * mtls-client-config.c.  Only the public API of libmtls is used (and OpenSSL for its
 * version and verify-result numbers).  See mtls-client(1).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mtls.h>

#include "common.h"
#include "mtls-client.h"

/* curl's --retry back-off: 1 s, doubled up to 10 minutes. */
#define RETRY_SLEEP_MS 1000L
#define RETRY_SLEEP_MAX_MS 600000L

/* ------------------------------------------------------------ messages */

int quiet;                      /* -s without -S: no error messages */
int mute;                       /* -s: no warnings, even with -S */
char last_error[1024];          /* the last failure's, for %{errormsg} */

/* Prints "mtls-client: (STATUS) MESSAGE" unless silenced; returns status. */
int
failure(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (!quiet)
		fprintf(stderr, "mtls-client: (%d) %s\n", status, last_error);
	return status;
}

/* curl's warnings: silenced by -s, even with -S. */
void
warning(const char *fmt, ...)
{
	va_list ap;

	if (mute)
		return;
	fprintf(stderr, "mtls-client: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------- the request */

/* The method and body of the next request, as curl changes them on a
 * redirect. */
struct request {
	const char *method;         /* -X, else from the rest */
	int post, head;             /* a body is sent; HEAD */
	int other_host;             /* a redirect left the first host */
};

static const char *
method_of(const struct request *rq, const struct options *o)
{
	return o->method ? o->method : rq->head ? "HEAD" : rq->post ? "POST" :
	    "GET";
}

/* The request head exactly as the library sends it, for -v and traces. */
static void
trace_request(struct transfer *t, const char *method, const char *target,
    char **headers, const struct request *rq)
{
	size_t len = strlen(method) + strlen(target) + 16, n, i;
	char *head;

	for (i = 0; headers[i] != NULL; i++)
		len += strlen(headers[i]) + 2;
	if ((head = malloc(len)) == NULL)
		return;
	n = (size_t)sprintf(head, "%s %s HTTP/1.1\r\n", method, target);
	for (i = 0; headers[i] != NULL; i++)
		n += (size_t)sprintf(head + n, "%s\r\n", headers[i]);
	n += (size_t)sprintf(head + n, "\r\n");
	t->info.size_request += n + (rq->post ? t->o->data_len : 0);
	trace_data(t, TRACE_SEND_HEADER, head, n);
	if (rq->post && t->o->data_len > 0)
		trace_data(t, TRACE_SEND_DATA, t->o->data, t->o->data_len);
	free(head);
}

/* Appends one line of a head, and traces it (curl traces each
 * received header line apart). */
static int
head_line(struct transfer *t, char **head, size_t *len, size_t *cap,
    const char *line, size_t n)
{
	char *grown;

	trace_data(t, TRACE_RECV_HEADER, line, n);
	if (*len + n + 1 > *cap) {
		if ((grown = realloc(*head, *cap = (*len + n + 1) * 2)) == NULL)
			return -1;
		*head = grown;
	}
	memcpy(*head + *len, line, n);
	*len += n;
	return 0;
}

/* The response head as received (the library has parsed it): kept for
 * -w, written for -i, -D, -v and traces. */
static int
response_head(struct transfer *t, struct mtls_http_response *r, int shown)
{
	const char *name, *value;
	size_t i, len = 0, cap = 0, n;
	char *head = NULL, line[8192];
	int rc = 0;

	free_headers(t->info.headers);
	t->info.nheaders = 0;
	if ((t->info.headers = calloc(64, sizeof(char *))) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	n = (size_t)snprintf(line, sizeof(line), "%s %d %s\r\n",
	    mtls_http_response_version(r), mtls_http_response_status(r),
	    mtls_http_response_reason(r));
	rc = head_line(t, &head, &len, &cap, line, n);
	for (i = 0; rc == 0 && mtls_http_response_header_at(r, i, &name, &value);
	    i++) {
		n = (size_t)snprintf(line, sizeof(line), "%s: %s\r\n", name, value);
		n = n < sizeof(line) ? n : sizeof(line) - 1;
		if (t->info.nheaders < 63)
			t->info.headers[t->info.nheaders++] = strndup(line, n - 2);
		rc = head_line(t, &head, &len, &cap, line, n);
	}
	if (rc == 0)
		rc = head_line(t, &head, &len, &cap, "\r\n", 2);
	if (rc != 0) {
		free(head);
		return failure(EXIT_NOMEM, "out of memory");
	}
	t->info.size_header += len;
	rc = write_head(t, head, len, shown);
	free(head);
	return rc;
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

/* -f, --fail-with-body: an HTTP error is exit 22; say what the server
 * asked for.  With -f the body is not read: page_title may read it. */
static int
http_failure(struct transfer *t, struct mtls_http_response *r)
{
	const char *ca = mtls_peer_acceptable_ca(t->c, 0);
	int status = mtls_http_response_status(r);
	char title[256] = "";

	if (t->o->fail)
		page_title(r, title, sizeof(title));
	/* nginx: 400 without a certificate; others 401, 403, 495, 496 */
	if (t->o->cert == NULL && ca != NULL && (status == 400 ||
	    status == 401 || status == 403 || status == 495 || status == 496))
		return failure(EXIT_HTTP, "The requested URL returned error: %d%s; "
		    "the server asked for a client certificate issued by '%s'%s "
		    "and none was sent (--cert)", mtls_http_response_status(r),
		    title, ca, mtls_peer_acceptable_ca(t->c, 1) ? " or others" : "");
	return failure(EXIT_HTTP, "The requested URL returned error: %d%s",
	    mtls_http_response_status(r), title);
}

/* The body to the output, or nowhere (a redirect's body). */
static int
read_body(struct transfer *t, struct mtls_http_response *r, int keep)
{
	const char *cd = mtls_http_response_header(r, "Content-Disposition", 0);
	char buf[16384];
	ssize_t n;
	int rc = keep ? out_write(t, cd, NULL, 0) : 0;

	while (rc == 0 && (n = mtls_http_response_read(r, buf, sizeof(buf))) > 0) {
		if (!keep)
			continue;
		t->info.size_download += (unsigned long long)n;
		trace_data(t, TRACE_RECV_DATA, buf, (size_t)n);
		rc = out_write(t, cd, buf, (size_t)n);
	}
	if (rc == 0 && n < 0)
		rc = conn_failure(t, PHASE_BODY);
	return rc;
}

/* Retry-After: seconds, or an HTTP date; 0 when absent. */
static long
retry_after(struct mtls_http_response *r)
{
	const char *v = mtls_http_response_header(r, "Retry-After", 0);
	struct tm tm;
	char *end;
	long s;
	time_t when;

	if (v == NULL)
		return 0;
	s = strtol(v, &end, 10);
	if (end != v && *end == '\0')
		return s > 0 ? s : 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return 0;
	when = timegm(&tm) - time(NULL);
	return when > 0 ? (long)when : 0;
}

/* One request over a new connection; *next gets the redirect to follow
 * (malloc'd), if any. */
static int
exchange(struct transfer *t, struct request *rq, char **next)
{
	const struct options *o = t->o;
	struct request_opts ro = { rq->other_host, rq->post, o->data_len };
	const char *method = method_of(rq, o), *target, *loc;
	struct mtls_http_response *r = NULL;
	char **headers = NULL;
	int rc, status, follow;

	*next = NULL;
	t->info.method = method;
	if ((rc = open_connection(t)) != 0)
		return rc;
	if ((headers = build_headers(o, &t->url, &ro)) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	target = o->request_target ? o->request_target : t->url.target;
	trace_request(t, method, target, headers, rq);
	t->info.t_pretransfer += now_us() - t->single_us;
	r = mtls_http_request(t->c, method, target, (const char *const *)headers,
	    rq->post ? (o->data ? o->data : "") : NULL, o->data_len,
	    MTLS_HTTP_STREAM);
	free_headers(headers);
	t->info.t_starttransfer += now_us() - t->single_us;
	if (r == NULL)
		return conn_failure(t, PHASE_REQUEST);
	status = t->info.http_code = mtls_http_response_status(r);
	t->info.size_upload += rq->post ? o->data_len : 0;
	t->info.retry_after = retry_after(r);
	free(t->info.content_type);
	loc = mtls_http_response_header(r, "Content-Type", 0);
	t->info.content_type = loc ? strdup(loc) : NULL;
	loc = status / 100 == 3 ? mtls_http_response_header(r, "Location", 0) :
	    NULL;
	free(t->info.redirect_url);
	t->info.redirect_url = loc ? resolve_location(&t->url, loc) : NULL;
	follow = o->location && t->info.redirect_url != NULL;
	if (o->fail && status >= 400) {
		rc = http_failure(t, r);
		mtls_http_response_free(r);
		return rc;
	}
	rc = response_head(t, r, o->include || o->head);
	if (rc == 0)
		rc = read_body(t, r, !follow);
	if (rc == 0 && o->fail_with_body && status >= 400)
		rc = http_failure(t, r);
	mtls_http_response_free(r);
	if (rc == 0 && follow && (*next = strdup(t->info.redirect_url)) == NULL)
		rc = failure(EXIT_NOMEM, "out of memory");
	if (rc == 0)
		mtls_close(t->c);
	return rc;
}

/* curl's method rules on a redirect: 301 and 302 turn a POST into a GET
 * (unless --post301, --post302), 303 turns anything but GET and HEAD
 * into a GET (a POST stays with --post303); the body goes with the
 * POST.  -X's method is sent on every request all the same. */
static void
redirect_method(struct request *rq, const struct options *o, int status)
{
	if ((status == 301 && !o->post301) || (status == 302 && !o->post302))
		rq->post = 0;
	if (status == 303 && !(rq->post && o->post303))
		rq->post = 0;
}

/* The URL of the first request, with -G's data as its query. */
static char *
first_url(const struct options *o)
{
	size_t n = strlen(o->url) + o->data_len + (o->url_query ?
	    strlen(o->url_query) : 0) + 3;
	char *u = malloc(n), *frag, *query;

	if (u == NULL)
		return NULL;
	snprintf(u, n, "%s", o->url);
	if ((frag = strchr(u, '#')) != NULL)
		*frag = '\0';
	query = u + strlen(u);
	if (o->get && o->has_data)
		snprintf(u + strlen(u), n - strlen(u), "%c%s",
		    strchr(u, '?') ? '&' : '?', o->data ? o->data : "");
	if (o->url_query)
		snprintf(u + strlen(u), n - strlen(u), "%c%s",
		    strchr(u, '?') ? '&' : '?', o->url_query);
	/* curl's URL parser writes the escapes it appends in lower case */
	for (; *query != '\0'; query++)
		if (query[0] == '%' && isxdigit((unsigned char)query[1]) &&
		    isxdigit((unsigned char)query[2])) {
			query[1] = (char)tolower((unsigned char)query[1]);
			query[2] = (char)tolower((unsigned char)query[2]);
		}
	return u;
}

/* One transfer: the request and the redirects -L follows. */
static int
transfer(struct transfer *t)
{
	const struct options *o = t->o;
	struct request rq = { NULL, o->has_data && !o->get, o->head, 0 };
	char first_host[256] = "", first_port[8] = "", *url = first_url(o), *next;
	int rc;

	if (url == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	for (;;) {
		t->single_us = now_us();
		rc = parse_url(url, &t->url, o->path_as_is);
		free(url);
		url = NULL;
		if (rc != 0)
			break;
		free(t->info.url_effective);
		t->info.url_effective = strdup(t->url.text);
		if (first_host[0] == '\0') {
			snprintf(first_host, sizeof(first_host), "%s", t->url.host);
			snprintf(first_port, sizeof(first_port), "%s", t->url.port);
		}
		rq.other_host = strcasecmp(first_host, t->url.host) != 0 ||
		    strcmp(first_port, t->url.port) != 0;
		rc = exchange(t, &rq, &next);
		close_connection(t);
		if (rc != 0 || next == NULL)
			break;
		if (o->max_redirs >= 0 && t->info.num_redirects >= o->max_redirs) {
			free(next);
			rc = failure(EXIT_REDIRECTS, "maximum (%ld) redirects followed",
			    o->max_redirs);
			break;
		}
		t->info.num_redirects++;
		trace_info(t, "Issue another request to this URL: '%s'", next);
		redirect_method(&rq, o, t->info.http_code);
		t->info.t_redirect = now_us() - t->start_us;
		free_url(&t->url);
		url = next;
	}
	free_url(&t->url);
	return rc;
}

/* ------------------------------------------------------------ retries */

enum retry_kind { NO_RETRY, RETRY_ALL, RETRY_TIMEOUT, RETRY_CONNREFUSED,
	RETRY_HTTP };

/* curl's rules: a timeout or a name not resolved, always; a refused
 * connection with --retry-connrefused; an HTTP 408, 429, 500, 502, 503,
 * 504 (a success, or -f's 22); anything with --retry-all-errors. */
static enum retry_kind
retry_kind(const struct options *o, int rc, const struct info *in)
{
	if (rc == EXIT_TIMEOUT || rc == EXIT_RESOLVE || rc == EXIT_RESOLVE_PROXY)
		return RETRY_TIMEOUT;
	if (rc == EXIT_CONNECT && o->retry_connrefused &&
	    in->conn_errno == ECONNREFUSED)
		return RETRY_CONNREFUSED;
	if (rc == 0 || (rc == EXIT_HTTP && (o->fail || o->fail_with_body))) {
		switch (in->http_code) {
		case 408: case 429: case 500: case 502: case 503: case 504:
			return RETRY_HTTP;
		default:
			break;
		}
	}
	return rc != 0 && o->retry_all_errors ? RETRY_ALL : NO_RETRY;
}

static void
reset_info(struct info *in)
{
	free(in->url_effective);
	free(in->redirect_url);
	free(in->content_type);
	free(in->filename_effective);
	free_headers(in->headers);
	memset(in, 0, sizeof(*in));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
run(const struct options *o)
{
	static const char *const problem[] = { NULL, "(retrying all errors)",
	    ": timeout", ": connection refused", ": HTTP error" };
	struct output out = { NULL, NULL, 0, NULL, NULL };
	struct transfer t;
	long left = o->retry, delay = o->retry_delay_ms ? o->retry_delay_ms :
	    RETRY_SLEEP_MS, begin = monotonic_ms();
	enum retry_kind kind;
	int rc;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.out = &out;
	t.fd = -1;
	rc = open_trace(&t);
	if (rc == 0)
		rc = make_config(&t);
	for (; rc == 0;) {
		long wait = delay;

		reset_info(&t.info);
		last_error[0] = '\0';
		t.start = monotonic_ms();
		t.start_us = now_us();
		t.deadline = o->max_ms > 0 ? t.start + o->max_ms : -1;
		arm_timer(t.deadline);
		rc = transfer(&t);
		arm_timer(-1);
		t.info.t_total = now_us() - t.start_us;
		if (out_close(&t) != 0 && rc == 0)
			rc = EXIT_WRITE;
		if (left <= 0 || (o->retry_max_ms && monotonic_ms() - begin >=
		    o->retry_max_ms) || (kind = retry_kind(o, rc, &t.info)) ==
		    NO_RETRY)
			break;
		if (kind == RETRY_HTTP && t.info.retry_after > 0) {
			wait = t.info.retry_after * 1000;
			if (o->retry_max_ms && monotonic_ms() - begin + wait >
			    o->retry_max_ms) {
				warning("the Retry-After: time would make this command "
				    "line exceed the maximum allowed time for retries");
				break;
			}
		}
		warning("Problem %s. Will retry in %ld seconds. %ld retries left.",
		    problem[kind], wait / 1000, left);
		left--;
		if (!o->retry_delay_ms)
			delay = delay * 2 > RETRY_SLEEP_MAX_MS ? RETRY_SLEEP_MAX_MS :
			    delay * 2;
		sleep_ms(wait);
		rc = 0;
	}
	t.info.exitcode = rc;
	if (o->writeout != NULL)
		write_out(o, &t.info);
	reset_info(&t.info);
	free(out.name);
	if (out.dump != NULL && out.dump != stdout)
		fclose(out.dump);
	if (out.trace != NULL && out.trace != stdout && out.trace != stderr)
		fclose(out.trace);
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
	o.max_redirs = 50;          /* curl's default */
	parse_args(argc, argv, &o);
	quiet = o.silent && !o.show_error;
	mute = o.silent;
	rc = run(&o);
	free(o.data);
	free(o.writeout);
	return rc;
}
