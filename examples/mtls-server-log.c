/*
 * mtls-server-log.c - mtls-server's logs, as nginx keeps them: an access
 * log (--access-log, standard output by default) with one line per
 * answer, in nginx's combined format with the client certificate's
 * subject and verdict appended, or as JSON (--access-log-format json);
 * and an error log (--error-log, standard error by default).  SIGUSR1
 * reopens both files, as nginx's reopen does after logrotate renamed
 * them: the new file takes the old one's descriptor number (dup2), so a
 * worker thread writing a line never sees it closed, and no line is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtls-server.h"

/* Where lines go: set before the workers start, never changed after
 * (a reopen changes the file behind the number, not the number). */
static int access_fd = STDOUT_FILENO;   /* -1: --access-log off */
static int error_fd = -1;               /* --error-log, until logs_start */
static enum log_format format;
static const char *access_path, *error_path;

static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;

/* ----------------------------------------------------------- messages */

/*
 * The library's messages are written for C programs ("raise it with
 * mtls_config_set_verify_depth"); a person running mtls-server is told
 * the option instead.  Longer names come first.
 */
static const struct {
	const char *c_name, *option;
} c_names[] = {
	{ "(MTLS_HTTP_MAX_HEADER_BYTES, MTLS_HTTP_MAX_HEADERS)",
	    "(mtls-server's fixed limits, 4 times --max-header-line's default "
	    "as nginx's large_client_header_buffers 4 8k)" },
	{ "mtls_config_set_cert_file or mtls_config_set_p12_file",
	    "--cert or --p12" },
	{ "(mtls_config_set_ca_file) or the system store", "(--client-ca)" },
	{ "mtls_config_set_verify_depth", "--verify-depth" },
	{ "mtls_config_set_ca_file", "--client-ca" },
	{ "MTLS_HTTP_MAX_HEADER_LINE", "--max-header-line" },
	{ "MTLS_HTTP_MAX_REQUEST_LINE", "--max-header-line" },
	{ "MTLS_HTTP_MAX_BODY", "--max-body" },
	{ "MTLS_HTTP_HEADER_TIMEOUT_MS", "--client-header-timeout" },
};

const char *
option_words(const char *msg, char *buf, size_t len)
{
	size_t n = 0;

	if (msg == NULL)
		return NULL;
	while (*msg != '\0' && n + 1 < len) {
		size_t i, k = sizeof(c_names) / sizeof(c_names[0]);

		for (i = 0; i < k; i++)
			if (strncmp(msg, c_names[i].c_name,
			    strlen(c_names[i].c_name)) == 0)
				break;
		if (i == k) {
			buf[n++] = *msg++;
			continue;
		}
		n += (size_t)snprintf(buf + n, len - n, "%s", c_names[i].option);
		if (n >= len)
			n = len - 1;
		msg += strlen(c_names[i].c_name);
	}
	buf[n] = '\0';
	return buf;
}

void
say_error(const char *context, const char *msg)
{
	char text[2048];

	pthread_mutex_lock(&stderr_lock);
	fprintf(stderr, "mtls-server: %s%s%s\n", context ? context : "",
	    context ? ": " : "", option_words(msg, text, sizeof(text)));
	pthread_mutex_unlock(&stderr_lock);
}

/* ---------------------------------------------------------- the files */

static int
open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0644);
}

int
logs_open(const struct options *o)
{
	int fd;

	format = o->log_format;
	if (o->access_log != NULL && strcmp(o->access_log, "off") == 0) {
		access_fd = -1;
	} else if (o->access_log != NULL) {
		if ((fd = open_log(o->access_log)) < 0) {
			fprintf(stderr, "mtls-server: --access-log '%s': cannot open "
			    "it: %s\n", o->access_log, strerror(errno));
			return -1;
		}
		access_fd = fd;
		access_path = o->access_log;
	}
	if (o->error_log != NULL) {
		if ((fd = open_log(o->error_log)) < 0) {
			fprintf(stderr, "mtls-server: --error-log '%s': cannot open "
			    "it: %s\n", o->error_log, strerror(errno));
			return -1;
		}
		error_fd = fd;
		error_path = o->error_log;
	}
	return 0;
}

/* Until the server listens, messages stay on standard error, where the
 * person starting it looks; from then on they go to --error-log. */
void
logs_start(void)
{
	if (error_fd < 0)
		return;
	fflush(stderr);
	if (dup2(error_fd, STDERR_FILENO) < 0)
		fprintf(stderr, "mtls-server: --error-log '%s': %s: messages stay "
		    "on standard error\n", error_path, strerror(errno));
	close(error_fd);
	error_fd = -1;
}

/* path opened afresh, onto descriptor fd; the old file stays on failure. */
static int
reopen_one(const char *opt, const char *path, int fd)
{
	int fresh = open_log(path);

	if (fresh < 0 || dup2(fresh, fd) < 0) {
		int err = errno;

		if (fresh >= 0)
			close(fresh);
		fprintf(stderr, "mtls-server: cannot reopen %s '%s': %s; writing "
		    "on to the file open before\n", opt, path, strerror(err));
		return -1;
	}
	close(fresh);
	return 0;
}

void
logs_reopen(void)
{
	int rc = 0;

	if (access_path == NULL && error_path == NULL) {
		fprintf(stderr, "mtls-server: SIGUSR1: no log file to reopen "
		    "(--access-log, --error-log): standard output and error "
		    "stay as they are\n");
		return;
	}
	if (access_path != NULL)
		rc |= reopen_one("--access-log", access_path, access_fd);
	if (error_path != NULL) {
		pthread_mutex_lock(&stderr_lock);
		fflush(stderr);
		rc |= reopen_one("--error-log", error_path, STDERR_FILENO);
		pthread_mutex_unlock(&stderr_lock);
	}
	if (rc == 0)
		fprintf(stderr, "mtls-server: reopened the log files\n");
}

/* ---------------------------------------------------- the access log */

/* nginx's $time_local, made once a second per thread. */
static const char *
log_time(void)
{
	static __thread time_t made = -1;
	static __thread char when[40];
	time_t now = time(NULL);
	struct tm tm;

	if (now != made) {
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z",
		    localtime_r(&now, &tm));
		made = now;
	}
	return when;
}

/* A line being made: grown as needed; failed when out of memory. */
struct line {
	char *p;
	size_t len, cap;
	bool failed;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->failed)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->len + n + 1) * 2;
		char *grown = realloc(l->p, cap);

		if (grown == NULL) {
			l->failed = true;
			return;
		}
		l->p = grown;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
	l->p[l->len] = '\0';
}

static void
put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* The longest a value may take in a line, before escaping. */
#define VALUE_MAX 8192

/*
 * A value as nginx writes a variable into a log line: by default '"',
 * '\' and bytes outside printable ASCII as \xNN, an empty or absent one
 * as "-"; with escape=json (--access-log-format json) as a JSON string's
 * contents, an absent one as "".  raw: already escaped (the library's
 * refused request line), written as it is in a combined line.
 */
static void
put_value(struct line *l, const char *s, bool raw)
{
	char esc[8];

	if (s == NULL || *s == '\0') {
		put_str(l, format == LOG_JSON ? "" : "-");
		return;
	}
	for (size_t i = 0; s[i] != '\0' && i < VALUE_MAX; i++) {
		unsigned char b = (unsigned char)s[i];

		if (format == LOG_JSON && (b == '"' || b == '\\'))
			snprintf(esc, sizeof(esc), "\\%c", b);
		else if (format == LOG_JSON && b < 0x20)
			snprintf(esc, sizeof(esc), "\\u%04x", b);
		else if (format != LOG_JSON && !raw && (b == '"' || b == '\\' ||
		    b < 0x20 || b >= 0x7f))
			snprintf(esc, sizeof(esc), "\\x%02X", b);
		else {
			put(l, (const char *)&b, 1);
			continue;
		}
		put_str(l, esc);
	}
}

static void
put_field(struct line *l, const char *name, const char *value, bool raw)
{
	char key[64];

	snprintf(key, sizeof(key), "%s\"%s\":\"", l->len > 1 ? "," : "", name);
	put_str(l, key);
	put_value(l, value, raw);
	put_str(l, "\"");
}

/* What one access-log line holds. */
struct entry {
	const char *addr, *request, *referer, *user_agent;
	bool request_raw;
	int status;
	unsigned long long bytes;
};

/* One write(2) a line: lines of several threads stay whole (O_APPEND
 * on a file; on a pipe, lines up to PIPE_BUF bytes). */
static void
write_line(const struct line *l)
{
	const char *p = l->p;
	size_t left = l->len;

	while (left > 0) {
		ssize_t n = write(access_fd, p, left);

		if (n < 0 && errno != EINTR)
			return;
		if (n > 0) {
			p += n;
			left -= (size_t)n;
		}
	}
}

/*
 * combined: nginx's
 *   $remote_addr - $remote_user [$time_local] "$request" $status
 *   $body_bytes_sent "$http_referer" "$http_user_agent"
 * then "$ssl_client_s_dn" $ssl_client_verify; json: an object of the
 * same fields, named as nginx's variables.
 */
static void
log_entry(struct mtls *c, const struct entry *e)
{
	struct line l = { NULL, 0, 0, false };
	char verify[300], num[64];

	if (access_fd < 0)
		return;
	client_verify(c, verify, sizeof(verify));
	if (format == LOG_JSON) {
		put_str(&l, "{");
		put_field(&l, "remote_addr", e->addr, false);
		put_field(&l, "remote_user", NULL, false);
		put_field(&l, "time_local", log_time(), false);
		put_field(&l, "request", e->request, e->request_raw);
		snprintf(num, sizeof(num), ",\"status\":%d,\"body_bytes_sent\":%llu",
		    e->status, e->bytes);
		put_str(&l, num);
		put_field(&l, "http_referer", e->referer, false);
		put_field(&l, "http_user_agent", e->user_agent, false);
		put_field(&l, "ssl_client_s_dn", mtls_peer_subject(c), false);
		put_field(&l, "ssl_client_verify", verify, false);
		put_str(&l, "}\n");
	} else {
		put_str(&l, e->addr);
		put_str(&l, " - - [");
		put_str(&l, log_time());
		put_str(&l, "] \"");
		put_value(&l, e->request, e->request_raw);
		snprintf(num, sizeof(num), "\" %d %llu \"", e->status, e->bytes);
		put_str(&l, num);
		put_value(&l, e->referer, false);
		put_str(&l, "\" \"");
		put_value(&l, e->user_agent, false);
		put_str(&l, "\" \"");
		put_value(&l, mtls_peer_subject(c), false);
		put_str(&l, "\" ");
		put_value(&l, verify, false);
		put_str(&l, "\n");
	}
	if (!l.failed)
		write_line(&l);
	free(l.p);
}

void
log_request(struct mtls *c, const char *addr, struct mtls_http_req *req,
    int status, unsigned long long bytes)
{
	struct entry e = { addr, NULL, mtls_http_req_header(req, "Referer", 0),
	    mtls_http_req_header(req, "User-Agent", 0), false, status, bytes };
	const char *method = mtls_http_req_method(req);
	const char *target = mtls_http_req_target(req);
	const char *version = mtls_http_req_version(req);
	size_t len = strlen(method) + strlen(target) + strlen(version) + 3;
	char *request;

	stats_request(status, bytes);       /* every answer passes here */
	if ((request = malloc(len)) == NULL)
		return;
	snprintf(request, len, "%s %s %s", method, target, version);
	e.request = request;
	log_entry(c, &e);
	free(request);
}

/* A request the library refused and answered itself (400, 408, 413,
 * 414, 431, 501, 505): nginx logs those too, with the line as it came
 * (escaped by the library), "-" when none did. */
static void
log_refused(struct mtls *c, const char *addr)
{
	const char *line;
	int status = mtls_http_refused(c, &line);
	struct entry e = { addr, line, NULL, NULL, true, status, 0 };

	if (status == 0)
		return;
	stats_request(status, 0);
	log_entry(c, &e);
}

void
log_failure(struct mtls *c, const char *addr)
{
	log_refused(c, addr);
	if (mtls_error(c) != NULL)
		say_error(NULL, mtls_error(c));
}
