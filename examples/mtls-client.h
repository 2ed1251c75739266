/*
 * mtls-client.h - what the parts of mtls-client share: the options
 * (mtls-client-args.c parses them, mtls-client-conf.c reads -K files),
 * the URL (mtls-client-url.c), the request headers
 * (mtls-client-headers.c), the connection (mtls-client-conn.c), the
 * output (mtls-client-out.c), and the exit codes.
 */
#ifndef MTLS_CLIENT_H
#define MTLS_CLIENT_H

#include <stddef.h>
#include <stdio.h>

/* Exit codes: curl's numbers, for the same causes (see mtls-client(1)). */
enum {
	EXIT_UNSUPPORTED_PROTOCOL = 1,  /* not https:// */
	EXIT_USAGE = 2,                 /* bad or unsupported option */
	EXIT_URL = 3,                   /* malformed URL */
	EXIT_NOT_BUILT_IN = 4,          /* a proxy kind not supported */
	EXIT_RESOLVE_PROXY = 5,
	EXIT_RESOLVE = 6,
	EXIT_CONNECT = 7,
	EXIT_WEIRD_REPLY = 8,           /* malformed HTTP response */
	EXIT_PARTIAL = 18,              /* body cut short */
	EXIT_HTTP = 22,                 /* -f and HTTP status >= 400 */
	EXIT_WRITE = 23,                /* -o, -O, -D or standard output */
	EXIT_READ = 26,                 /* -K file */
	EXIT_NOMEM = 27,
	EXIT_TIMEOUT = 28,
	EXIT_TLS = 35,                  /* the handshake failed */
	EXIT_REDIRECTS = 47,            /* more than --max-redirs */
	EXIT_GOT_NOTHING = 52,          /* closed before a byte of response */
	EXIT_RECV = 56,                 /* failed after the handshake, or the
	                                   proxy refused CONNECT */
	EXIT_CLIENT_CERT = 58,          /* our certificate or key unusable */
	EXIT_SSL_CIPHER = 59,           /* --ciphers, --tls13-ciphers, --curves */
	EXIT_PEER_CERT = 60,            /* server certificate not verified */
	EXIT_CACERT = 77,               /* --cacert / --capath unusable */
	EXIT_CRL = 82,                  /* --crlfile unusable */
	EXIT_PINNED = 90                /* --pinnedpubkey did not match */
};

#define MAX_HEADERS 64
#define MAX_RESOLVE 16

struct options {
	const char *url, *cert, *cert_type, *key, *key_type, *pass, *cacert;
	const char *capath, *crlfile, *pins, *method, *output, *output_dir;
	const char *resolve[MAX_RESOLVE];   /* HOST:PORT:ADDRESS */
	const char *connect_to[MAX_RESOLVE];/* HOST1:PORT1:HOST2:PORT2 */
	const char *headers[MAX_HEADERS];   /* -H as given */
	int nresolve, nconnect_to, nheaders;
	char *data;                         /* -d and friends, joined by '&' */
	size_t data_len;
	int has_data, json, get;            /* --json; -G: data to the query */
	int include, head, silent, show_error, fail, fail_with_body;
	int insecure, verbose, no_buffer, path_as_is, create_dirs;
	int remote_name, remote_header_name;/* -O, -J */
	int no_alpn;                        /* --no-alpn */
	int tls_min, tls_max;               /* MTLS_TLS1_*; 0: not given */
#define TLS_MAX_TOO_OLD (-1)                /* --tls-max 1.0 or 1.1 */
	const char *ciphers, *tls13_ciphers, *curves;
	long connect_ms, max_ms;            /* 0: not given */
	int family;                         /* -4, -6: AF_INET, AF_INET6 */
	const char *user, *bearer;          /* -u USER:PASS, --oauth2-bearer */
	const char *user_agent, *referer, *cookie, *range;
	const char *dump_header;            /* -D */
	int location, location_trusted;     /* -L, --location-trusted */
	long max_redirs;                    /* --max-redirs, -1: no limit */
	int post301, post302, post303;
	long retry, retry_delay_ms, retry_max_ms;
	int retry_connrefused, retry_all_errors;
	char *writeout;                     /* -w (read from @file: malloc'd) */
	const char *trace;                  /* --trace, --trace-ascii */
	int trace_ascii, trace_time;
	const char *proxy, *proxy_user, *noproxy;
	int proxy_given;                    /* -x given, even "" */
	const char *proxy_headers[MAX_HEADERS];
	int nproxy_headers;
	int suppress_connect;               /* --suppress-connect-headers */
	const char *unix_socket, *request_target, *url_query;
};

/* https://host[:port]/target */
struct url {
	char host[256];             /* without brackets */
	char port[8];
	char *target;               /* malloc'd: "/path?query" */
	char *text;                 /* malloc'd: the URL as curl shows it */
	int ipv6, port_given;
};

/* mtls-client-curlopts.c: curl's options mtls-client lacks. */
struct unsupported {
	char short_name;
	const char *long_name;
	const char *instead;        /* what to use instead */
};
extern const struct unsupported unsupported[];
extern const size_t nunsupported;
size_t option_distance(const char *a, const char *b);

/* mtls-client-data.c: the request body of -d and its kin. */
enum data_kind { DATA_ASCII, DATA_BINARY, DATA_RAW, DATA_URLENCODE,
	DATA_JSON };
void add_data(struct options *o, enum data_kind kind, const char *val);
char *read_file(const char *name, size_t *len);

/* mtls-client-args.c */
void parse_args(int argc, char **argv, struct options *o);
int parse_option(struct options *o, const char *where, const char *name,
    const char *value, int *used_value);

/* mtls-client-conf.c: -K FILE in curl's config syntax; -V; what only
 * OpenSSL itself can tell (its version, a verify result's number). */
void read_config(struct options *o, const char *file);
void version(void) __attribute__((noreturn));
long verify_result_code(const char *text);

/* mtls-client-url.c */
int parse_url(const char *text, struct url *u, int path_as_is);
void free_url(struct url *u);
char *resolve_location(const struct url *base, const char *location);
char *url_file_name(const struct url *u);
char *cd_file_name(const char *content_disposition);

/* mtls-client-headers.c */
void split_cert(const char *arg, char **file, char **password);
int cert_is_p12(const char *type, const char *file, int *p12);
int resolve_address(const struct options *o, const char *host,
    const char *port, char *addr, size_t len);
int connect_to(const struct options *o, const struct url *u, char *host,
    size_t hlen, char *port, size_t plen);
int user_header(const struct options *o, const char *name);
char *base64(const unsigned char *p, size_t n);

struct request_opts {
	int other_host;             /* a redirect left the first host */
	int with_body;              /* the body is sent */
	size_t body_len;
};
char **build_headers(const struct options *o, const struct url *u,
    const struct request_opts *ro);
void free_headers(char **headers);

/* ------------------------------------------------------ one transfer */

/* What a transfer learned, for -w (curl's names) and --retry. */
struct info {
	int http_code, http_connect, exitcode;
	long num_redirects, num_connects;
	unsigned long long size_download, size_header, size_request;
	unsigned long long size_upload;
	long ssl_verify_result;
	char remote_ip[64], local_ip[64];
	int remote_port, local_port;
	char *url_effective, *redirect_url, *content_type, *filename_effective;
	const char *method;
	long long t_namelookup, t_connect, t_appconnect, t_pretransfer;
	long long t_starttransfer, t_redirect, t_total;   /* microseconds */
	long retry_after;           /* Retry-After in seconds, 0: none */
	int conn_errno;             /* why the TCP connect failed */
	char **headers;             /* the last response's, "Name: value" */
	size_t nheaders;
};

/* Where the body goes: -o FILE, -O, -J or standard output. */
struct output {
	FILE *f;
	char *name;                 /* NULL: standard output */
	int created;                /* opened by this transfer */
	FILE *dump;                 /* -D */
	FILE *trace;                /* --trace, --trace-ascii */
};

enum phase { PHASE_CONNECT, PHASE_REQUEST, PHASE_BODY };

struct transfer {
	const struct options *o;
	struct mtls_config *cfg;
	struct mtls *c;
	int fd;                     /* the socket under c, ours to close */
	struct url url;             /* the URL being requested */
	char conn_host[256];        /* where we connect: the URL's host, or
	                               --connect-to's */
	long long start_us, single_us;  /* of the transfer, of this request */
	long start, deadline;       /* monotonic_ms(); deadline -1: none */
	struct info info;
	struct output *out;
};

/* mtls-client.c */
int failure(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long long now_us(void);
extern int quiet, mute;

/* mtls-client-config.c: t->cfg from the options; 0 or an exit status. */
int make_config(struct transfer *t);

/* mtls-client-conn.c: the connection, TCP (or a proxy's tunnel) then
 * TLS; failures as curl's exit codes. */
int open_connection(struct transfer *t);
void close_connection(struct transfer *t);
int conn_failure(struct transfer *t, enum phase phase);
void arm_timer(long deadline);

/* mtls-client-out.c: the body, -D, -i, -v, --trace and -w. */
enum trace_kind { TRACE_SEND_HEADER, TRACE_RECV_HEADER, TRACE_SEND_DATA,
	TRACE_RECV_DATA };
void trace_info(struct transfer *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void trace_data(struct transfer *t, enum trace_kind kind, const void *p,
    size_t n);
int open_trace(struct transfer *t);
int write_head(struct transfer *t, const char *head, size_t len, int shown);
int out_write(struct transfer *t, const char *disposition, const void *p,
    size_t n);
int out_close(struct transfer *t);
void write_out(const struct options *o, const struct info *info);
const char *version_text(void);

#endif /* MTLS_CLIENT_H */
