/*
 * mtls-client-args.c - mtls-client's command line, as curl's: options
 * before or after the URL, short ones bundled ("-sSf", "-XPOST"), --no-
 * before a boolean long option, the URL, and the data options.  curl's
 * options that mtls-client does not have are listed too, each with what
 * to use instead, so that an unsupported option is told as such and an
 * unknown one is matched with the name it looks like.  The same code
 * reads the options of a -K file (mtls-client-conf.c), where a bad line is
 * a warning, as in curl.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtls.h"
#include "mtls-client.h"

/* O_STRING and O_FLAG set the field at optdef.at; the others are
 * handled one by one. */
enum opt_id {
	O_STRING, O_FLAG, O_RESOLVE, O_CONNECT_TO, O_HEADER, O_DATA,
	O_DATA_BINARY, O_DATA_RAW, O_DATA_URLENCODE, O_JSON, O_CONNECT_TIMEOUT,
	O_MAX_TIME, O_HELP, O_TLSV1_2, O_TLSV1_3, O_TLS_MAX, O_NOOP,
	O_WRITE_OUT, O_LOCATION_TRUSTED, O_MAX_REDIRS, O_USER, O_COOKIE, O_IPV4,
	O_IPV6, O_RETRY, O_RETRY_DELAY, O_RETRY_MAX_TIME, O_CONFIG, O_VERSION,
	O_TRACE, O_TRACE_ASCII, O_STDERR, O_PROXY, O_PROXY_HEADER, O_URL_QUERY
};

#define AT(field) offsetof(struct options, field)

static const struct optdef {
	char short_name;
	const char *long_name;
	int takes_arg;
	enum opt_id id;
	size_t at;                  /* O_STRING, O_FLAG: the field's offset */
} optdefs[] = {
	{ 'E', "cert", 1, O_STRING, AT(cert) },
	{ 0, "cert-type", 1, O_STRING, AT(cert_type) },
	{ 0, "key", 1, O_STRING, AT(key) },
	{ 0, "key-type", 1, O_STRING, AT(key_type) },
	{ 0, "pass", 1, O_STRING, AT(pass) },
	{ 0, "cacert", 1, O_STRING, AT(cacert) },
	{ 0, "capath", 1, O_STRING, AT(capath) },
	{ 0, "crlfile", 1, O_STRING, AT(crlfile) },
	{ 0, "pinnedpubkey", 1, O_STRING, AT(pins) },
	{ 0, "resolve", 1, O_RESOLVE, 0 },
	{ 0, "connect-to", 1, O_CONNECT_TO, 0 },
	{ 'X', "request", 1, O_STRING, AT(method) },
	{ 0, "request-target", 1, O_STRING, AT(request_target) },
	{ 'H', "header", 1, O_HEADER, 0 },
	{ 'd', "data", 1, O_DATA, 0 },
	{ 0, "data-ascii", 1, O_DATA, 0 },
	{ 0, "data-binary", 1, O_DATA_BINARY, 0 },
	{ 0, "data-raw", 1, O_DATA_RAW, 0 },
	{ 0, "data-urlencode", 1, O_DATA_URLENCODE, 0 },
	{ 0, "json", 1, O_JSON, 0 },
	{ 'G', "get", 0, O_FLAG, AT(get) },
	{ 0, "url-query", 1, O_URL_QUERY, 0 },
	{ 'o', "output", 1, O_STRING, AT(output) },
	{ 0, "output-dir", 1, O_STRING, AT(output_dir) },
	{ 0, "create-dirs", 0, O_FLAG, AT(create_dirs) },
	{ 'O', "remote-name", 0, O_FLAG, AT(remote_name) },
	{ 0, "remote-name-all", 0, O_FLAG, AT(remote_name) },
	{ 'J', "remote-header-name", 0, O_FLAG, AT(remote_header_name) },
	{ 'D', "dump-header", 1, O_STRING, AT(dump_header) },
	{ 'i', "include", 0, O_FLAG, AT(include) },
	{ 'I', "head", 0, O_FLAG, AT(head) },
	{ 's', "silent", 0, O_FLAG, AT(silent) },
	{ 'S', "show-error", 0, O_FLAG, AT(show_error) },
	{ 'f', "fail", 0, O_FLAG, AT(fail) },
	{ 0, "fail-with-body", 0, O_FLAG, AT(fail_with_body) },
	{ 0, "fail-early", 0, O_NOOP, 0 },
	{ 'w', "write-out", 1, O_WRITE_OUT, 0 },
	{ 'L', "location", 0, O_FLAG, AT(location) },
	{ 0, "location-trusted", 0, O_LOCATION_TRUSTED, 0 },
	{ 0, "max-redirs", 1, O_MAX_REDIRS, 0 },
	{ 0, "post301", 0, O_FLAG, AT(post301) },
	{ 0, "post302", 0, O_FLAG, AT(post302) },
	{ 0, "post303", 0, O_FLAG, AT(post303) },
	{ 'u', "user", 1, O_USER, 0 },
	{ 0, "basic", 0, O_NOOP, 0 },
	{ 0, "oauth2-bearer", 1, O_STRING, AT(bearer) },
	{ 'A', "user-agent", 1, O_STRING, AT(user_agent) },
	{ 'e', "referer", 1, O_STRING, AT(referer) },
	{ 'b', "cookie", 1, O_COOKIE, 0 },
	{ 'r', "range", 1, O_STRING, AT(range) },
	{ 0, "connect-timeout", 1, O_CONNECT_TIMEOUT, 0 },
	{ 'm', "max-time", 1, O_MAX_TIME, 0 },
	{ 0, "retry", 1, O_RETRY, 0 },
	{ 0, "retry-delay", 1, O_RETRY_DELAY, 0 },
	{ 0, "retry-max-time", 1, O_RETRY_MAX_TIME, 0 },
	{ 0, "retry-connrefused", 0, O_FLAG, AT(retry_connrefused) },
	{ 0, "retry-all-errors", 0, O_FLAG, AT(retry_all_errors) },
	{ 'k', "insecure", 0, O_FLAG, AT(insecure) },
	{ 'v', "verbose", 0, O_FLAG, AT(verbose) },
	{ 0, "trace", 1, O_TRACE, 0 },
	{ 0, "trace-ascii", 1, O_TRACE_ASCII, 0 },
	{ 0, "trace-time", 0, O_FLAG, AT(trace_time) },
	{ 0, "stderr", 1, O_STDERR, 0 },
	{ 'h', "help", 0, O_HELP, 0 },
	{ 'V', "version", 0, O_VERSION, 0 },
	{ 'K', "config", 1, O_CONFIG, 0 },
	{ 'q', "disable", 0, O_NOOP, 0 },
	{ 0, "url", 1, O_STRING, AT(url) },
	{ '1', "tlsv1", 0, O_NOOP, 0 },
	{ 0, "tlsv1.0", 0, O_NOOP, 0 },
	{ 0, "tlsv1.1", 0, O_NOOP, 0 },
	{ 0, "tlsv1.2", 0, O_TLSV1_2, 0 },
	{ 0, "tlsv1.3", 0, O_TLSV1_3, 0 },
	{ 0, "tls-max", 1, O_TLS_MAX, 0 },
	{ 0, "ciphers", 1, O_STRING, AT(ciphers) },
	{ 0, "tls13-ciphers", 1, O_STRING, AT(tls13_ciphers) },
	{ 0, "curves", 1, O_STRING, AT(curves) },
	{ 0, "no-alpn", 0, O_FLAG, AT(no_alpn) },
	{ 0, "http1.1", 0, O_NOOP, 0 },
	{ 'x', "proxy", 1, O_PROXY, 0 },
	{ 'U', "proxy-user", 1, O_STRING, AT(proxy_user) },
	{ 0, "noproxy", 1, O_STRING, AT(noproxy) },
	{ 0, "proxy-header", 1, O_PROXY_HEADER, 0 },
	{ 'p', "proxytunnel", 0, O_NOOP, 0 },
	{ 0, "proxy-basic", 0, O_NOOP, 0 },
	{ 0, "suppress-connect-headers", 0, O_FLAG, AT(suppress_connect) },
	{ '4', "ipv4", 0, O_IPV4, 0 },
	{ '6', "ipv6", 0, O_IPV6, 0 },
	{ 0, "unix-socket", 1, O_STRING, AT(unix_socket) },
	{ 0, "path-as-is", 0, O_FLAG, AT(path_as_is) },
	{ 'g', "globoff", 0, O_NOOP, 0 },
	{ 'N', "no-buffer", 0, O_FLAG, AT(no_buffer) },
	{ '#', "progress-bar", 0, O_NOOP, 0 },
	{ 0, "no-progress-meter", 0, O_NOOP, 0 },
	{ 0, "no-keepalive", 0, O_NOOP, 0 },
	{ 0, "tcp-nodelay", 0, O_NOOP, 0 },
	{ 0, "no-sessionid", 0, O_NOOP, 0 },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

/* In a -K file a bad line is a warning and the next line is read. */
static jmp_buf *soft_fail;
static char soft_where[300];

static void
help(void)
{
	printf("usage: mtls-client [options] https://host[:port][/path]\n"
	    "A curl-compatible HTTPS client for mutual TLS (libmtls "
	    PACKAGE_VERSION "), HTTP/1.1.\nOptions may come before or after "
	    "the URL; see mtls-client(1) for all of them.\n\n"
	    " -E, --cert FILE[:PASS]    our certificate (PEM with its key and chain,\n"
	    "                           DER, or PKCS#12 .p12/.pfx)\n"
	    "     --cert-type PEM|DER|P12   --key FILE  --key-type PEM|DER  --pass PASS\n"
	    "     --cacert FILE  --capath DIR  --crlfile FILE  -k, --insecure\n"
	    "     --pinnedpubkey sha256//BASE64[;...]\n"
	    "     --tlsv1.2, --tlsv1.3, --tls-max VER, --ciphers, --tls13-ciphers, --curves\n"
	    "     --resolve HOST:PORT:ADDR  --connect-to H1:P1:H2:P2  -4, -6\n"
	    " -x, --proxy [http://]HOST[:PORT]  -U, --proxy-user U:P  --noproxy LIST\n"
	    " -X, --request METHOD  -H, --header 'Name: value'  -A, -e, -b NAME=VALUE\n"
	    " -d, --data, --data-binary, --data-raw, --data-urlencode, --json DATA|@FILE\n"
	    " -G, --get  -I, --head  -r, --range  -u, --user USER:PASS  --oauth2-bearer\n"
	    " -L, --location  --max-redirs N  --location-trusted  --post301/302/303\n"
	    " -o, --output FILE  -O, --remote-name  -J, --remote-header-name\n"
	    " -i, --include  -D, --dump-header FILE  -w, --write-out FORMAT|@FILE\n"
	    " -f, --fail  --fail-with-body  -s, --silent  -S, --show-error  -v\n"
	    "     --trace FILE  --trace-ascii FILE  --trace-time  --stderr FILE\n"
	    "     --connect-timeout SEC  -m, --max-time SEC\n"
	    "     --retry N  --retry-delay SEC  --retry-max-time SEC\n"
	    "     --retry-connrefused  --retry-all-errors\n"
	    " -K, --config FILE  -V, --version  -h, --help\n\n"
	    "Exit status as curl's: 0 ok, 1 not https, 2 usage or unsupported option,\n"
	    "3 bad URL, 5 proxy not resolved, 6 host not resolved, 7 cannot connect,\n"
	    "8 bad HTTP reply, 18 body cut short, 22 HTTP error (-f), 23 write error,\n"
	    "26 cannot read a -K file, 27 out of memory, 28 timeout, 35 TLS handshake\n"
	    "failed, 47 too many redirects, 56 failure after the handshake (a TLS 1.3\n"
	    "server refusing our certificate) or proxy refused CONNECT, 58 our\n"
	    "certificate or key unusable, 59 --ciphers/--curves unusable, 60 server\n"
	    "certificate not verified, 77 CA file unusable, 82 CRL file unusable,\n"
	    "90 pinned public key mismatch.  See mtls-client(1).\n");
	exit(0);
}

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	if (soft_fail != NULL) {
		if (!mute) {
			fprintf(stderr, "mtls-client: warning: %s: ", soft_where);
			va_start(ap, fmt);
			vfprintf(stderr, fmt, ap);
			va_end(ap);
			fputc('\n', stderr);
		}
		longjmp(*soft_fail, 1);
	}
	fprintf(stderr, "mtls-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nmtls-client: try 'mtls-client --help' or 'man "
	    "mtls-client' for more information\n");
	exit(EXIT_USAGE);
}

/* Seconds, fractions allowed, as milliseconds (at least 1). */
static long
parse_seconds(const char *opt, const char *val)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(val, &end);
	if (end == val || *end != '\0' || errno != 0 || !isfinite(s) || s < 0 ||
	    s > 86400.0 * 365)
		usage_error("option %s: expects a number of seconds", opt);
	return s > 0 && s < 0.001 ? 1 : (long)(s * 1000 + 0.5);
}

/* A whole number, from min up, as curl's "expected a proper numerical
 * parameter". */
static long
parse_number(const char *opt, const char *val, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (end == val || *end != '\0' || errno != 0 || v < min)
		usage_error("option %s: expected a proper numerical parameter%s",
		    opt, min == 0 ? " (0 or more)" : "");
	return v;
}

/* curl's --tls-max: "1.2", "1.3" or "default" (the highest there is);
 * "1.0" and "1.1" leave no version libmtls speaks: TLS_MAX_TOO_OLD. */
static int
parse_tls_max(const char *opt, const char *val)
{
	if (strcmp(val, "1.2") == 0)
		return MTLS_TLS1_2;
	if (strcmp(val, "1.3") == 0 || strcmp(val, "default") == 0)
		return MTLS_TLS1_3;
	if (strcmp(val, "1.0") == 0 || strcmp(val, "1.1") == 0)
		return TLS_MAX_TOO_OLD;
	usage_error("option %s: expects 1.0, 1.1, 1.2, 1.3 or default", opt);
}

/* ------------------------------------------------------- other values */

static void
add_item(const char **list, int *count, int max, const char *val,
    const char *what)
{
	if (*count >= max)
		usage_error("too many %s options", what);
	list[(*count)++] = val;
}

static void
check_resolve(const char *val)
{
	const char *c1 = strchr(val, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (c1 == NULL || c2 == NULL || c1 == val || c2 == c1 + 1 || !c2[1])
		usage_error("--resolve '%s' is not HOST:PORT:ADDRESS", val);
}

static void
check_connect_to(const char *val)
{
	int colons = 0;
	const char *p;

	for (p = val; *p; p++) {
		if (*p == '[')
			p += strcspn(p, "]") - (p[strcspn(p, "]")] == '\0');
		else if (*p == ':')
			colons++;
	}
	if (colons != 3)
		usage_error("--connect-to '%s' is not HOST1:PORT1:HOST2:PORT2 "
		    "(each part may be empty)", val);
}

/* -w @FILE reads the format from FILE (@- from standard input). */
static void
set_writeout(struct options *o, const char *val)
{
	size_t len;

	free(o->writeout);
	if (val[0] == '@') {
		if ((o->writeout = read_file(val + 1, &len)) == NULL)
			usage_error("-w @%s: cannot read the file: %s", val + 1,
			    strerror(errno));
	} else if ((o->writeout = strdup(val)) == NULL) {
		exit(failure(EXIT_NOMEM, "out of memory"));
	}
}

static void
set_user(struct options *o, const char *val)
{
	if (strchr(val, ':') == NULL)
		usage_error("-u '%s' without ':PASSWORD': curl would prompt for "
		    "the password, and mtls-client never prompts: give -u "
		    "USER:PASSWORD (-u USER: for an empty one)", val);
	o->user = val;
}

static void
set_cookie(struct options *o, const char *val)
{
	if (strchr(val, '=') == NULL)
		usage_error("-b '%s': reading cookies from a file is not "
		    "supported: give -b 'NAME=VALUE[; NAME2=VALUE2]'", val);
	o->cookie = val;
}

static void
set_stderr(const char *val)
{
	if (strcmp(val, "-") == 0 ? dup2(1, 2) < 0 :
	    freopen(val, "w", stderr) == NULL)
		usage_error("--stderr %s: %s", val, strerror(errno));
}

static void
set_flag(struct options *o, enum opt_id id, int on)
{
	switch (id) {
	case O_TLSV1_2: o->tls_min = on ? MTLS_TLS1_2 : 0; break;
	case O_TLSV1_3: o->tls_min = on ? MTLS_TLS1_3 : 0; break;
	case O_LOCATION_TRUSTED: o->location = o->location_trusted = on; break;
	case O_IPV4: o->family = on ? AF_INET : 0; break;
	case O_IPV6: o->family = on ? AF_INET6 : 0; break;
	case O_HELP: help(); break;
	case O_VERSION: version(); break;
	default: break;             /* O_NOOP: accepted, nothing to do */
	}
}

static void
apply(struct options *o, enum opt_id id, const char *opt, const char *val)
{
	switch (id) {
	case O_RESOLVE:
		check_resolve(val);
		add_item(o->resolve, &o->nresolve, MAX_RESOLVE, val, "--resolve");
		break;
	case O_CONNECT_TO:
		check_connect_to(val);
		add_item(o->connect_to, &o->nconnect_to, MAX_RESOLVE, val,
		    "--connect-to");
		break;
	case O_HEADER:
		add_item(o->headers, &o->nheaders, MAX_HEADERS, val, "-H");
		break;
	case O_PROXY_HEADER:
		add_item(o->proxy_headers, &o->nproxy_headers, MAX_HEADERS, val,
		    "--proxy-header");
		break;
	case O_JSON:
		o->json = 1;
		add_data(o, DATA_JSON, val);
		break;
	case O_DATA: add_data(o, DATA_ASCII, val); break;
	case O_DATA_BINARY: add_data(o, DATA_BINARY, val); break;
	case O_DATA_RAW: add_data(o, DATA_RAW, val); break;
	case O_DATA_URLENCODE: add_data(o, DATA_URLENCODE, val); break;
	case O_URL_QUERY:
		o->url_query = val;
		break;
	case O_WRITE_OUT: set_writeout(o, val); break;
	case O_USER: set_user(o, val); break;
	case O_COOKIE: set_cookie(o, val); break;
	case O_CONNECT_TIMEOUT: o->connect_ms = parse_seconds(opt, val); break;
	case O_MAX_TIME: o->max_ms = parse_seconds(opt, val); break;
	case O_MAX_REDIRS: o->max_redirs = parse_number(opt, val, -1); break;
	case O_RETRY: o->retry = parse_number(opt, val, 0); break;
	case O_RETRY_DELAY:
		o->retry_delay_ms = parse_number(opt, val, 0) * 1000;
		break;
	case O_RETRY_MAX_TIME:
		o->retry_max_ms = parse_number(opt, val, 0) * 1000;
		break;
	case O_TLS_MAX: o->tls_max = parse_tls_max(opt, val); break;
	case O_TRACE: case O_TRACE_ASCII:
		o->trace = val;
		o->trace_ascii = id == O_TRACE_ASCII;
		break;
	case O_STDERR: set_stderr(val); break;
	case O_CONFIG: read_config(o, val); break;
	case O_PROXY: o->proxy = val; o->proxy_given = 1; break;
	default: set_flag(o, id, 1); break;
	}
}

/* ----------------------------------------------------------- lookups */


static void unknown(const char *name) __attribute__((noreturn));

/* An option mtls-client does not know: curl's that it lacks says so and
 * what to use; another is matched with the nearest name. */
static void
unknown(const char *name)
{
	const char *best = NULL;
	size_t i, d, best_d = 3;

	for (i = 0; i < nunsupported; i++)
		if (strcmp(unsupported[i].long_name, name) == 0)
			usage_error("option --%s: is not supported: %s", name,
			    unsupported[i].instead);
	for (i = 0; i < NOPTS; i++)
		if ((d = option_distance(name, optdefs[i].long_name)) < best_d)
			best_d = d, best = optdefs[i].long_name;
	for (i = 0; i < nunsupported; i++)
		if ((d = option_distance(name, unsupported[i].long_name)) < best_d)
			best_d = d, best = unsupported[i].long_name;
	for (i = 0; best != NULL && i < nunsupported; i++)
		if (strcmp(unsupported[i].long_name, best) == 0)
			usage_error("option --%s: is unknown; did you mean --%s? "
			    "(which is not supported: %s)", name, best,
			    unsupported[i].instead);
	if (best != NULL)
		usage_error("option --%s: is unknown; did you mean --%s?", name,
		    best);
	usage_error("option --%s: is unknown", name);
}

/* The option called name ("cert"); or, with *on set to 0, the boolean
 * one "no-" negates ("no-verbose"), or the one its "no-" name
 * negates ("alpn", for --alpn, undoes --no-alpn), as curl reads them. */
static const struct optdef *
find_long(const char *name, int *on)
{
	size_t i;

	*on = 1;
	for (i = 0; i < NOPTS; i++)
		if (strcmp(optdefs[i].long_name, name) == 0)
			return &optdefs[i];
	*on = 0;
	for (i = 0; i < NOPTS; i++) {
		const char *n = optdefs[i].long_name;

		if (optdefs[i].takes_arg)
			continue;
		if (strncmp(name, "no-", 3) == 0 && strcmp(n, name + 3) == 0)
			return &optdefs[i];
		if (strncmp(n, "no-", 3) == 0 && strcmp(n + 3, name) == 0)
			return &optdefs[i];
	}
	unknown(name);
}

static const struct optdef *
find_short(char c)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (optdefs[i].short_name == c)
			return &optdefs[i];
	for (i = 0; i < nunsupported; i++)
		if (unsupported[i].short_name == c)
			usage_error("option -%c (--%s): is not supported: %s", c,
			    unsupported[i].long_name, unsupported[i].instead);
	usage_error("option -%c: is unknown", c);
}

static void
apply_def(struct options *o, const struct optdef *d, int on, const char *opt,
    const char *val)
{
	if (d->id == O_STRING)
		*(const char **)(void *)((char *)o + d->at) = val;
	else if (d->id == O_FLAG)
		*(int *)(void *)((char *)o + d->at) = on;
	else if (d->takes_arg)
		apply(o, d->id, opt, val);
	else
		set_flag(o, d->id, on);
}

/* "-sSf", "-XPOST", "-X POST": returns the index of the last argv used. */
static int
short_options(int argc, char **argv, int i, struct options *o)
{
	const char *a = argv[i];
	size_t j;

	for (j = 1; a[j] != '\0'; j++) {
		const struct optdef *d = find_short(a[j]);

		if (!d->takes_arg) {
			apply_def(o, d, 1, a, NULL);
			continue;
		}
		if (a[j + 1] != '\0')
			apply_def(o, d, 1, a, a + j + 1);
		else if (i + 1 < argc)
			apply_def(o, d, 1, a, argv[++i]);
		else
			usage_error("option %s: requires parameter", a);
		break;
	}
	return i;
}

/*
 * One option of a -K file: name is "--long", "-s" or "long", value what
 * followed it on the line (NULL for none).  *used_value says whether the
 * option took it.  A bad option or value is a warning naming where; the
 * caller goes on with the next line.  Returns 0, or -1 after a warning.
 */
int
parse_option(struct options *o, const char *where, const char *name,
    const char *value, int *used_value)
{
	jmp_buf jb, *saved = soft_fail;
	const struct optdef *d;
	int on = 1;

	*used_value = 0;
	snprintf(soft_where, sizeof(soft_where), "%s", where);
	soft_fail = &jb;
	if (setjmp(jb) != 0) {
		soft_fail = saved;
		return -1;
	}
	if (name[0] == '-' && name[1] == '-')
		d = find_long(name + 2, &on);
	else if (name[0] == '-' && name[1] != '\0' && name[2] == '\0')
		d = find_short(name[1]);
	else if (name[0] == '-')
		usage_error("'%s': short options one at a time in a config file",
		    name);
	else
		d = find_long(name, &on);
	if (d->takes_arg && value == NULL)
		usage_error("option %s: requires parameter", name);
	*used_value = d->takes_arg;
	apply_def(o, d, on, name, value);
	soft_fail = saved;
	return 0;
}

void
parse_args(int argc, char **argv, struct options *o)
{
	int i, only_urls = 0, on;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!only_urls && strcmp(a, "--") == 0) {
			only_urls = 1;
		} else if (!only_urls && a[0] == '-' && a[1] == '-') {
			const struct optdef *d = find_long(a + 2, &on);

			if (d->takes_arg && i + 1 >= argc)
				usage_error("option %s: requires parameter", a);
			apply_def(o, d, on, a, d->takes_arg ? argv[++i] : NULL);
		} else if (!only_urls && a[0] == '-' && a[1] != '\0') {
			i = short_options(argc, argv, i, o);
		} else if (o->url != NULL) {
			usage_error("one URL only: '%s' is a second one (run "
			    "mtls-client once per URL)", a);
		} else {
			o->url = a;
		}
	}
	if (o->fail && o->fail_with_body)
		usage_error("--fail and --fail-with-body: choose one, as curl "
		    "asks");
	if (o->head && o->has_data && !o->get)
		usage_error("-I (HEAD) and -d (POST): you can only select one "
		    "HTTP request method, as curl says");
	if (o->url == NULL)
		usage_error("no URL specified");
}
