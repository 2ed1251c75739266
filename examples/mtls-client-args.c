/*
 * mtls-client-args.c - mtls-client's command line, as curl's: options
 * before or after the URL, short ones bundled ("-sSf", "-XPOST"), the
 * URL, --cert FILE:PASSWORD, --resolve, and the request headers made from
 * them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtls.h"
#include "mtls-client.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

enum opt_id {
	O_CERT, O_CERT_TYPE, O_KEY, O_PASS, O_CACERT, O_CAPATH, O_CRLFILE,
	O_PINNED, O_RESOLVE, O_REQUEST, O_HEADER, O_DATA, O_DATA_BINARY,
	O_DATA_RAW, O_OUTPUT, O_INCLUDE, O_HEAD, O_SILENT, O_SHOW_ERROR,
	O_FAIL, O_CONNECT_TIMEOUT, O_MAX_TIME, O_INSECURE, O_VERBOSE, O_HELP,
	O_URL, O_TLSV1_2, O_TLSV1_3, O_TLS_MAX, O_CIPHERS, O_TLS13_CIPHERS,
	O_CURVES, O_NO_ALPN, O_HTTP1_1
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
	{ 0, "pass", 1, O_PASS },
	{ 0, "cacert", 1, O_CACERT },
	{ 0, "capath", 1, O_CAPATH },
	{ 0, "crlfile", 1, O_CRLFILE },
	{ 0, "pinnedpubkey", 1, O_PINNED },
	{ 0, "resolve", 1, O_RESOLVE },
	{ 'X', "request", 1, O_REQUEST },
	{ 'H', "header", 1, O_HEADER },
	{ 'd', "data", 1, O_DATA },
	{ 0, "data-ascii", 1, O_DATA },
	{ 0, "data-binary", 1, O_DATA_BINARY },
	{ 0, "data-raw", 1, O_DATA_RAW },
	{ 'o', "output", 1, O_OUTPUT },
	{ 'i', "include", 0, O_INCLUDE },
	{ 'I', "head", 0, O_HEAD },
	{ 's', "silent", 0, O_SILENT },
	{ 'S', "show-error", 0, O_SHOW_ERROR },
	{ 'f', "fail", 0, O_FAIL },
	{ 0, "connect-timeout", 1, O_CONNECT_TIMEOUT },
	{ 'm', "max-time", 1, O_MAX_TIME },
	{ 'k', "insecure", 0, O_INSECURE },
	{ 'v', "verbose", 0, O_VERBOSE },
	{ 'h', "help", 0, O_HELP },
	{ 0, "url", 1, O_URL },
	{ 0, "tlsv1.2", 0, O_TLSV1_2 },
	{ 0, "tlsv1.3", 0, O_TLSV1_3 },
	{ 0, "tls-max", 1, O_TLS_MAX },
	{ 0, "ciphers", 1, O_CIPHERS },
	{ 0, "tls13-ciphers", 1, O_TLS13_CIPHERS },
	{ 0, "curves", 1, O_CURVES },
	{ 0, "no-alpn", 0, O_NO_ALPN },
	{ 0, "http1.1", 0, O_HTTP1_1 },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static void
help(void)
{
	printf("usage: mtls-client [options] https://host[:port][/path]\n"
	    "A curl-like HTTPS client for mutual TLS (libmtls " PACKAGE_VERSION
	    ").\nOptions may come before or after the URL.\n\n"
	    " -E, --cert FILE[:PASS]    our certificate (PEM, optionally with its key and\n"
	    "                           chain; PKCS#12 with --cert-type P12 or .p12/.pfx)\n"
	    "     --cert-type PEM|P12   type of --cert\n"
	    "     --key FILE            our private key (PEM), if not in --cert\n"
	    "     --pass PASS           passphrase of the key or PKCS#12 file\n"
	    "     --cacert FILE         CA certificates to verify the server with\n"
	    "     --capath DIR          directory of hashed CA certificates\n"
	    "     --crlfile FILE        CRLs (PEM) for the server's certificate\n"
	    "     --pinnedpubkey sha256//BASE64[;sha256//...]  pin the server's key\n"
	    "     --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT\n"
	    "     --tlsv1.2, --tlsv1.3  lowest TLS version to use (default 1.2)\n"
	    "     --tls-max 1.2|1.3|default  highest TLS version to use\n"
	    "     --ciphers LIST        TLS 1.2 ciphers (OpenSSL syntax)\n"
	    "     --tls13-ciphers LIST  TLS 1.3 cipher suites\n"
	    "     --curves LIST         key exchange groups (X25519:P-256)\n"
	    "     --http1.1             HTTP/1.1, the only version spoken (offered by ALPN)\n"
	    "     --no-alpn             offer no ALPN protocol\n"
	    " -k, --insecure            do not verify the server (warns)\n"
	    " -X, --request METHOD      request method (default GET, POST with -d)\n"
	    " -H, --header 'Name: value'  extra header (repeatable; 'Name:' removes one)\n"
	    " -d, --data DATA|@FILE     POST form data (newlines of FILE removed)\n"
	    "     --data-binary DATA|@FILE  POST data as is;  --data-raw DATA: no @\n"
	    " -o, --output FILE         write the body to FILE\n"
	    " -i, --include             include the response head in the output\n"
	    " -I, --head                send HEAD and print the head\n"
	    " -f, --fail                fail with exit 22 on HTTP status >= 400\n"
	    " -s, --silent              no error messages;  -S, --show-error: but errors\n"
	    "     --connect-timeout SEC TCP connect and TLS handshake, each (fractions ok)\n"
	    " -m, --max-time SEC        the whole transfer, connect to last byte\n"
	    " -v, --verbose             the handshake diagnosis and HTTP heads on stderr\n"
	    " -h, --help                this help\n\n"
	    "Exit status: 0 ok, 1 not https, 2 usage, 3 bad URL, 6 cannot resolve,\n"
	    "7 cannot connect, 8 bad HTTP reply, 18 body cut short, 22 HTTP error (-f),\n"
	    "23 write error, 26 cannot read @file, 27 out of memory, 28 timeout,\n"
	    "35 TLS handshake failed, 56 receive failure, 58 our client certificate\n"
	    "unusable or refused by the server, 59 --ciphers, --tls13-ciphers or\n"
	    "--curves not usable, 60 server certificate not verified or\n"
	    "not matching the host, 77 CA file unusable, 82 CRL file unusable,\n"
	    "90 pinned public key mismatch.  See mtls-client(1).\n");
	exit(0);
}

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mtls-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nmtls-client: try 'mtls-client --help' for more "
	    "information\n");
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

/* Appends n bytes to the request body; several -d are joined by '&'. */
static void
append_data(struct options *o, const char *p, size_t n)
{
	size_t sep = o->has_data ? 1 : 0;
	char *grown = realloc(o->data, o->data_len + sep + n + 1);

	if (grown == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	o->data = grown;
	if (sep)
		o->data[o->data_len++] = '&';
	memcpy(o->data + o->data_len, p, n);
	o->data_len += n;
	o->data[o->data_len] = '\0';
	o->has_data = 1;
}

/* @FILE (or @- for standard input), whole; -d drops its CR and LF. */
static void
add_data_file(struct options *o, const char *name, int strip)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, n, i, j;

	if (f == NULL)
		exit(failure(EXIT_READ, "cannot read data file '%s': %s", name,
		    strerror(errno)));
	do {
		char *grown = len + 4096 > cap ? realloc(buf, cap = cap * 2 + 4096) :
		    buf;

		if (grown == NULL)
			exit(failure(EXIT_NOMEM, "out of memory"));
		buf = grown;
		len += n = fread(buf + len, 1, cap - len, f);
	} while (n > 0);
	if (ferror(f))
		exit(failure(EXIT_READ, "cannot read data file '%s': %s", name,
		    strerror(errno)));
	if (f != stdin)
		fclose(f);
	for (i = j = 0; strip && i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			buf[j++] = buf[i];
	append_data(o, buf, strip ? j : len);
	free(buf);
}

static void
add_data(struct options *o, enum opt_id id, const char *val)
{
	if (id != O_DATA_RAW && val[0] == '@')
		add_data_file(o, val + 1, id == O_DATA);
	else
		append_data(o, val, strlen(val));
}

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
set_flag(struct options *o, enum opt_id id)
{
	switch (id) {
	case O_INCLUDE: o->include = 1; break;
	case O_HEAD: o->head = 1; break;
	case O_SILENT: o->silent = 1; break;
	case O_SHOW_ERROR: o->show_error = 1; break;
	case O_FAIL: o->fail = 1; break;
	case O_INSECURE: o->insecure = 1; break;
	case O_VERBOSE: o->verbose = 1; break;
	case O_TLSV1_2: o->tls_min = MTLS_TLS1_2; break;
	case O_TLSV1_3: o->tls_min = MTLS_TLS1_3; break;
	case O_NO_ALPN: o->no_alpn = 1; break;
	case O_HTTP1_1: break;          /* all we speak */
	case O_HELP: help(); break;
	default: break;
	}
}

static void
apply(struct options *o, enum opt_id id, const char *opt, const char *val)
{
	switch (id) {
	case O_CERT: o->cert = val; break;
	case O_CERT_TYPE: o->cert_type = val; break;
	case O_KEY: o->key = val; break;
	case O_PASS: o->pass = val; break;
	case O_CACERT: o->cacert = val; break;
	case O_CAPATH: o->capath = val; break;
	case O_CRLFILE: o->crlfile = val; break;
	case O_PINNED: o->pins = val; break;
	case O_REQUEST: o->method = val; break;
	case O_OUTPUT: o->output = val; break;
	case O_URL: o->url = val; break;
	case O_RESOLVE:
		check_resolve(val);
		add_item(o->resolve, &o->nresolve, MAX_RESOLVE, val, "--resolve");
		break;
	case O_HEADER:
		add_item(o->headers, &o->nheaders, MAX_HEADERS, val, "-H");
		break;
	case O_DATA: case O_DATA_BINARY: case O_DATA_RAW:
		add_data(o, id, val);
		break;
	case O_CONNECT_TIMEOUT: o->connect_ms = parse_seconds(opt, val); break;
	case O_MAX_TIME: o->max_ms = parse_seconds(opt, val); break;
	case O_TLS_MAX: o->tls_max = parse_tls_max(opt, val); break;
	case O_CIPHERS: o->ciphers = val; break;
	case O_TLS13_CIPHERS: o->tls13_ciphers = val; break;
	case O_CURVES: o->curves = val; break;
	default: set_flag(o, id); break;
	}
}

static const struct optdef *
find_long(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(optdefs[i].long_name, name) == 0)
			return &optdefs[i];
	usage_error("option --%s: is unknown", name);
}

static const struct optdef *
find_short(char c)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (optdefs[i].short_name == c)
			return &optdefs[i];
	usage_error("option -%c: is unknown", c);
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
			apply(o, d->id, a, NULL);
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

void
parse_args(int argc, char **argv, struct options *o)
{
	int i, only_urls = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!only_urls && strcmp(a, "--") == 0) {
			only_urls = 1;
		} else if (!only_urls && a[0] == '-' && a[1] == '-') {
			const struct optdef *d = find_long(a + 2);

			if (d->takes_arg && i + 1 >= argc)
				usage_error("option %s: requires parameter", a);
			apply(o, d->id, a, d->takes_arg ? argv[++i] : NULL);
		} else if (!only_urls && a[0] == '-' && a[1] != '\0') {
			i = short_options(argc, argv, i, o);
		} else if (o->url != NULL) {
			usage_error("one URL only: '%s' is a second one", a);
		} else {
			o->url = a;
		}
	}
	if (o->url == NULL)
		usage_error("no URL specified");
}

/* ----------------------------------------------------------- --cert */

/* --cert FILE[:PASSWORD], as curl: the first ':' not escaped as "\:"
 * ends the file name.  Both strings are malloc'd. */
void
split_cert(const char *arg, char **file, char **password)
{
	size_t i, j = 0, len = strlen(arg);
	char *f = malloc(len + 1);

	*password = NULL;
	if (f == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	for (i = 0; i < len; i++) {
		if (arg[i] == '\\' && arg[i + 1] == ':') {
			f[j++] = arg[++i];
		} else if (arg[i] == ':') {
			if ((*password = strdup(arg + i + 1)) == NULL)
				exit(failure(EXIT_NOMEM, "out of memory"));
			break;
		} else {
			f[j++] = arg[i];
		}
	}
	f[j] = '\0';
	*file = f;
}

/* PKCS#12 when --cert-type says so, or, as curl does, when the file is
 * named .p12 or .pfx and no type is given. */
int
cert_is_p12(const char *type, const char *file, int *p12)
{
	size_t n = strlen(file);

	if (type == NULL) {
		*p12 = n > 4 && (!strcasecmp(file + n - 4, ".p12") ||
		    !strcasecmp(file + n - 4, ".pfx"));
		return 0;
	}
	if (!strcasecmp(type, "PEM") || !strcasecmp(type, "P12")) {
		*p12 = !strcasecmp(type, "P12");
		return 0;
	}
	return failure(EXIT_CLIENT_CERT, "--cert-type %s is not supported: use "
	    "PEM or P12 (convert DER with 'openssl x509 -inform DER')", type);
}

/* The address --resolve gives for the URL's host and port (a '*' port
 * matches any): copies it to addr and returns 1; else copies the host
 * and returns 0. */
int
resolve_address(const struct options *o, const struct url *u, char *addr,
    size_t len)
{
	int i;

	for (i = 0; i < o->nresolve; i++) {
		const char *e = o->resolve[i] + (o->resolve[i][0] == '+');
		const char *c1 = strchr(e, ':'), *c2 = strchr(c1 + 1, ':') + 1;
		size_t hl = (size_t)(c1 - e), pl = (size_t)(c2 - c1 - 2);
		size_t al = strcspn(c2, ",");

		if (hl != strlen(u->host) || strncasecmp(e, u->host, hl) != 0 ||
		    !((pl == strlen(u->port) && !strncmp(c1 + 1, u->port, pl)) ||
		    (pl == 1 && c1[1] == '*')))
			continue;
		if (al >= 2 && c2[0] == '[' && c2[al - 1] == ']')
			snprintf(addr, len, "%.*s", (int)al - 2, c2 + 1);
		else
			snprintf(addr, len, "%.*s", (int)al, c2);
		return 1;
	}
	snprintf(addr, len, "%s", u->host);
	return 0;
}

/* ------------------------------------------------------------- headers */

static int
header_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 &&
	    (line[n] == ':' || line[n] == ';');
}

/* 1 when -H names the header, to set, replace or remove it. */
int
user_header(const struct options *o, const char *name)
{
	int i;

	for (i = 0; i < o->nheaders; i++)
		if (header_is(o->headers[i], name))
			return 1;
	return 0;
}

static int
push(char **list, size_t *n, char *line)
{
	if (line == NULL)
		return -1;
	list[(*n)++] = line;
	return 0;
}

/* curl's -H: "Name: value" sent, "Name:" removed, "Name;" sent empty. */
static int
push_user_header(char **list, size_t *n, const char *h)
{
	size_t len = strcspn(h, ":;");
	char *line;

	if (h[len] == ';' && h[len + 1 + strspn(h + len + 1, " ")] == '\0') {
		if ((line = strdup(h)) != NULL)
			line[len] = ':';
		return push(list, n, line);
	}
	if (h[len] == ':' && h[len + 1 + strspn(h + len + 1, " ")] == '\0')
		return 0;
	return push(list, n, strdup(h));
}

static char *
host_line(const struct url *u)
{
	size_t len = strlen(u->host) + strlen(u->port) + 16;
	char *line = malloc(len);
	int default_port = strcmp(u->port, "443") == 0;

	if (line != NULL)
		snprintf(line, len, "Host: %s%s%s%s%s", u->ipv6 ? "[" : "", u->host,
		    u->ipv6 ? "]" : "", default_port ? "" : ":",
		    default_port ? "" : u->port);
	return line;
}

/* The request headers, in curl's order; NULL when out of memory. */
char **
build_headers(const struct options *o, const struct url *u)
{
	char **list = calloc((size_t)o->nheaders + 5, sizeof(char *));
	size_t n = 0;
	int i, rc = list == NULL ? -1 : 0;

	if (rc == 0 && !user_header(o, "Host"))
		rc = push(list, &n, host_line(u));
	if (rc == 0 && !user_header(o, "User-Agent"))
		rc = push(list, &n, strdup("User-Agent: mtls-client/"
		    PACKAGE_VERSION));
	if (rc == 0 && !user_header(o, "Accept"))
		rc = push(list, &n, strdup("Accept: */*"));
	for (i = 0; rc == 0 && i < o->nheaders; i++)
		rc = push_user_header(list, &n, o->headers[i]);
	if (rc == 0 && o->has_data && !user_header(o, "Content-Type"))
		rc = push(list, &n, strdup("Content-Type: "
		    "application/x-www-form-urlencoded"));
	if (rc != 0) {
		free_headers(list);
		return NULL;
	}
	return list;
}

void
free_headers(char **headers)
{
	size_t i;

	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		free(headers[i]);
	free(headers);
}
