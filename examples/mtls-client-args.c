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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtls.h"
#include "mtls-client.h"

enum opt_id {
	O_CERT, O_CERT_TYPE, O_KEY, O_KEY_TYPE, O_PASS, O_CACERT, O_CAPATH,
	O_CRLFILE, O_PINNED, O_RESOLVE, O_CONNECT_TO, O_REQUEST, O_HEADER,
	O_DATA, O_DATA_BINARY, O_DATA_RAW, O_DATA_URLENCODE, O_JSON, O_GET,
	O_OUTPUT, O_OUTPUT_DIR, O_CREATE_DIRS, O_REMOTE_NAME, O_REMOTE_HEADER,
	O_INCLUDE, O_HEAD, O_SILENT, O_SHOW_ERROR, O_FAIL, O_FAIL_BODY,
	O_CONNECT_TIMEOUT, O_MAX_TIME, O_INSECURE, O_VERBOSE, O_HELP, O_URL,
	O_TLSV1_2, O_TLSV1_3, O_TLS_MAX, O_CIPHERS, O_TLS13_CIPHERS, O_CURVES,
	O_NO_ALPN, O_NOOP, O_WRITE_OUT, O_LOCATION, O_LOCATION_TRUSTED,
	O_MAX_REDIRS, O_POST301, O_POST302, O_POST303, O_USER, O_BEARER,
	O_USER_AGENT, O_REFERER, O_COOKIE, O_RANGE, O_DUMP_HEADER, O_IPV4,
	O_IPV6, O_RETRY, O_RETRY_DELAY, O_RETRY_MAX_TIME, O_RETRY_CONNREFUSED,
	O_RETRY_ALL, O_CONFIG, O_VERSION, O_TRACE, O_TRACE_ASCII, O_TRACE_TIME,
	O_STDERR, O_PROXY, O_PROXY_USER, O_NOPROXY, O_PROXY_HEADER,
	O_SUPPRESS_CONNECT, O_NO_BUFFER, O_PATH_AS_IS, O_UNIX_SOCKET,
	O_REQUEST_TARGET, O_URL_QUERY
};

static const struct optdef {
	char short_name;
	const char *long_name;
	int takes_arg;
	enum opt_id id;
} optdefs[] = {
	{ 'E', "cert", 1, O_CERT },
	{ 0, "cert-type", 1, O_CERT_TYPE },
	{ 0, "key", 1, O_KEY },
	{ 0, "key-type", 1, O_KEY_TYPE },
	{ 0, "pass", 1, O_PASS },
	{ 0, "cacert", 1, O_CACERT },
	{ 0, "capath", 1, O_CAPATH },
	{ 0, "crlfile", 1, O_CRLFILE },
	{ 0, "pinnedpubkey", 1, O_PINNED },
	{ 0, "resolve", 1, O_RESOLVE },
	{ 0, "connect-to", 1, O_CONNECT_TO },
	{ 'X', "request", 1, O_REQUEST },
	{ 0, "request-target", 1, O_REQUEST_TARGET },
	{ 'H', "header", 1, O_HEADER },
	{ 'd', "data", 1, O_DATA },
	{ 0, "data-ascii", 1, O_DATA },
	{ 0, "data-binary", 1, O_DATA_BINARY },
	{ 0, "data-raw", 1, O_DATA_RAW },
	{ 0, "data-urlencode", 1, O_DATA_URLENCODE },
	{ 0, "json", 1, O_JSON },
	{ 'G', "get", 0, O_GET },
	{ 0, "url-query", 1, O_URL_QUERY },
	{ 'o', "output", 1, O_OUTPUT },
	{ 0, "output-dir", 1, O_OUTPUT_DIR },
	{ 0, "create-dirs", 0, O_CREATE_DIRS },
	{ 'O', "remote-name", 0, O_REMOTE_NAME },
	{ 0, "remote-name-all", 0, O_REMOTE_NAME },
	{ 'J', "remote-header-name", 0, O_REMOTE_HEADER },
	{ 'D', "dump-header", 1, O_DUMP_HEADER },
	{ 'i', "include", 0, O_INCLUDE },
	{ 'I', "head", 0, O_HEAD },
	{ 's', "silent", 0, O_SILENT },
	{ 'S', "show-error", 0, O_SHOW_ERROR },
	{ 'f', "fail", 0, O_FAIL },
	{ 0, "fail-with-body", 0, O_FAIL_BODY },
	{ 0, "fail-early", 0, O_NOOP },
	{ 'w', "write-out", 1, O_WRITE_OUT },
	{ 'L', "location", 0, O_LOCATION },
	{ 0, "location-trusted", 0, O_LOCATION_TRUSTED },
	{ 0, "max-redirs", 1, O_MAX_REDIRS },
	{ 0, "post301", 0, O_POST301 },
	{ 0, "post302", 0, O_POST302 },
	{ 0, "post303", 0, O_POST303 },
	{ 'u', "user", 1, O_USER },
	{ 0, "basic", 0, O_NOOP },
	{ 0, "oauth2-bearer", 1, O_BEARER },
	{ 'A', "user-agent", 1, O_USER_AGENT },
	{ 'e', "referer", 1, O_REFERER },
	{ 'b', "cookie", 1, O_COOKIE },
	{ 'r', "range", 1, O_RANGE },
	{ 0, "connect-timeout", 1, O_CONNECT_TIMEOUT },
	{ 'm', "max-time", 1, O_MAX_TIME },
	{ 0, "retry", 1, O_RETRY },
	{ 0, "retry-delay", 1, O_RETRY_DELAY },
	{ 0, "retry-max-time", 1, O_RETRY_MAX_TIME },
	{ 0, "retry-connrefused", 0, O_RETRY_CONNREFUSED },
	{ 0, "retry-all-errors", 0, O_RETRY_ALL },
	{ 'k', "insecure", 0, O_INSECURE },
	{ 'v', "verbose", 0, O_VERBOSE },
	{ 0, "trace", 1, O_TRACE },
	{ 0, "trace-ascii", 1, O_TRACE_ASCII },
	{ 0, "trace-time", 0, O_TRACE_TIME },
	{ 0, "stderr", 1, O_STDERR },
	{ 'h', "help", 0, O_HELP },
	{ 'V', "version", 0, O_VERSION },
	{ 'K', "config", 1, O_CONFIG },
	{ 'q', "disable", 0, O_NOOP },
	{ 0, "url", 1, O_URL },
	{ '1', "tlsv1", 0, O_NOOP },
	{ 0, "tlsv1.0", 0, O_NOOP },
	{ 0, "tlsv1.1", 0, O_NOOP },
	{ 0, "tlsv1.2", 0, O_TLSV1_2 },
	{ 0, "tlsv1.3", 0, O_TLSV1_3 },
	{ 0, "tls-max", 1, O_TLS_MAX },
	{ 0, "ciphers", 1, O_CIPHERS },
	{ 0, "tls13-ciphers", 1, O_TLS13_CIPHERS },
	{ 0, "curves", 1, O_CURVES },
	{ 0, "no-alpn", 0, O_NO_ALPN },
	{ 0, "http1.1", 0, O_NOOP },
	{ 'x', "proxy", 1, O_PROXY },
	{ 'U', "proxy-user", 1, O_PROXY_USER },
	{ 0, "noproxy", 1, O_NOPROXY },
	{ 0, "proxy-header", 1, O_PROXY_HEADER },
	{ 'p', "proxytunnel", 0, O_NOOP },
	{ 0, "proxy-basic", 0, O_NOOP },
	{ 0, "suppress-connect-headers", 0, O_SUPPRESS_CONNECT },
	{ '4', "ipv4", 0, O_IPV4 },
	{ '6', "ipv6", 0, O_IPV6 },
	{ 0, "unix-socket", 1, O_UNIX_SOCKET },
	{ 0, "path-as-is", 0, O_PATH_AS_IS },
	{ 'g', "globoff", 0, O_NOOP },
	{ 'N', "no-buffer", 0, O_NO_BUFFER },
	{ '#', "progress-bar", 0, O_NOOP },
	{ 0, "no-progress-meter", 0, O_NOOP },
	{ 0, "no-keepalive", 0, O_NOOP },
	{ 0, "tcp-nodelay", 0, O_NOOP },
	{ 0, "no-sessionid", 0, O_NOOP },
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
	case O_INCLUDE: o->include = on; break;
	case O_HEAD: o->head = on; break;
	case O_SILENT: o->silent = on; break;
	case O_SHOW_ERROR: o->show_error = on; break;
	case O_FAIL: o->fail = on; break;
	case O_FAIL_BODY: o->fail_with_body = on; break;
	case O_INSECURE: o->insecure = on; break;
	case O_VERBOSE: o->verbose = on; break;
	case O_TLSV1_2: o->tls_min = on ? MTLS_TLS1_2 : 0; break;
	case O_TLSV1_3: o->tls_min = on ? MTLS_TLS1_3 : 0; break;
	case O_NO_ALPN: o->no_alpn = on; break;
	case O_NO_BUFFER: o->no_buffer = on; break;
	case O_GET: o->get = on; break;
	case O_CREATE_DIRS: o->create_dirs = on; break;
	case O_REMOTE_NAME: o->remote_name = on; break;
	case O_REMOTE_HEADER: o->remote_header_name = on; break;
	case O_LOCATION: o->location = on; break;
	case O_LOCATION_TRUSTED: o->location = o->location_trusted = on; break;
	case O_POST301: o->post301 = on; break;
	case O_POST302: o->post302 = on; break;
	case O_POST303: o->post303 = on; break;
	case O_IPV4: o->family = on ? AF_INET : 0; break;
	case O_IPV6: o->family = on ? AF_INET6 : 0; break;
	case O_RETRY_CONNREFUSED: o->retry_connrefused = on; break;
	case O_RETRY_ALL: o->retry_all_errors = on; break;
	case O_TRACE_TIME: o->trace_time = on; break;
	case O_SUPPRESS_CONNECT: o->suppress_connect = on; break;
	case O_PATH_AS_IS: o->path_as_is = on; break;
	case O_HELP: help(); break;
	case O_VERSION: version(); break;
	default: break;             /* O_NOOP: accepted, nothing to do */
	}
}

static void
apply(struct options *o, enum opt_id id, const char *opt, const char *val)
{
	switch (id) {
	case O_CERT: o->cert = val; break;
	case O_CERT_TYPE: o->cert_type = val; break;
	case O_KEY: o->key = val; break;
	case O_KEY_TYPE: o->key_type = val; break;
	case O_PASS: o->pass = val; break;
	case O_CACERT: o->cacert = val; break;
	case O_CAPATH: o->capath = val; break;
	case O_CRLFILE: o->crlfile = val; break;
	case O_PINNED: o->pins = val; break;
	case O_REQUEST: o->method = val; break;
	case O_REQUEST_TARGET: o->request_target = val; break;
	case O_OUTPUT: o->output = val; break;
	case O_OUTPUT_DIR: o->output_dir = val; break;
	case O_URL: o->url = val; break;
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
	case O_BEARER: o->bearer = val; break;
	case O_USER_AGENT: o->user_agent = val; break;
	case O_REFERER: o->referer = val; break;
	case O_COOKIE: set_cookie(o, val); break;
	case O_RANGE: o->range = val; break;
	case O_DUMP_HEADER: o->dump_header = val; break;
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
	case O_CIPHERS: o->ciphers = val; break;
	case O_TLS13_CIPHERS: o->tls13_ciphers = val; break;
	case O_CURVES: o->curves = val; break;
	case O_TRACE: case O_TRACE_ASCII:
		o->trace = val;
		o->trace_ascii = id == O_TRACE_ASCII;
		break;
	case O_STDERR: set_stderr(val); break;
	case O_CONFIG: read_config(o, val); break;
	case O_PROXY: o->proxy = val; o->proxy_given = 1; break;
	case O_PROXY_USER: o->proxy_user = val; break;
	case O_NOPROXY: o->noproxy = val; break;
	case O_UNIX_SOCKET: o->unix_socket = val; break;
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
	if (d->takes_arg)
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
			set_flag(o, d->id, 1);
			continue;
		}
		if (a[j + 1] != '\0')
			apply(o, d->id, a, a + j + 1);
		else if (i + 1 < argc)
			apply(o, d->id, a, argv[++i]);
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
