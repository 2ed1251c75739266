/*
 * mtls-client.h - what the two halves of mtls-client share: the options
 * (mtls-client-args.c parses them), the URL, and the exit codes.
 */
#ifndef MTLS_CLIENT_H
#define MTLS_CLIENT_H

#include <stddef.h>

/* Exit codes: curl's numbers, for the same causes (see mtls-client(1)). */
enum {
	EXIT_UNSUPPORTED_PROTOCOL = 1,  /* not https:// */
	EXIT_USAGE = 2,                 /* bad option or value */
	EXIT_URL = 3,                   /* malformed URL */
	EXIT_RESOLVE = 6,
	EXIT_CONNECT = 7,
	EXIT_WEIRD_REPLY = 8,           /* malformed HTTP response */
	EXIT_PARTIAL = 18,              /* body cut short */
	EXIT_HTTP = 22,                 /* -f and HTTP status >= 400 */
	EXIT_WRITE = 23,                /* -o or standard output */
	EXIT_READ = 26,                 /* -d @file */
	EXIT_NOMEM = 27,
	EXIT_TIMEOUT = 28,
	EXIT_TLS = 35,                  /* handshake failed otherwise */
	EXIT_RECV = 56,                 /* connection failed after it */
	EXIT_CLIENT_CERT = 58,          /* our certificate: unusable or refused */
	EXIT_SSL_CIPHER = 59,           /* --ciphers, --tls13-ciphers, --curves */
	EXIT_PEER_CERT = 60,            /* server certificate not verified */
	EXIT_CACERT = 77,               /* --cacert / --capath unusable */
	EXIT_CRL = 82,                  /* --crlfile unusable */
	EXIT_PINNED = 90                /* --pinnedpubkey did not match */
};

#define MAX_HEADERS 64
#define MAX_RESOLVE 16

struct options {
	const char *url, *cert, *cert_type, *key, *pass, *cacert, *capath;
	const char *crlfile, *pins, *method, *output;
	const char *resolve[MAX_RESOLVE];   /* HOST:PORT:ADDRESS */
	const char *headers[MAX_HEADERS];   /* -H as given */
	int nresolve, nheaders;
	char *data;                         /* -d and friends, joined by '&' */
	size_t data_len;
	int has_data;
	int include, head, silent, show_error, fail, insecure, verbose;
	int no_alpn;                        /* --no-alpn */
	int tls_min, tls_max;               /* MTLS_TLS1_*; 0: not given */
#define TLS_MAX_TOO_OLD (-1)                /* --tls-max 1.0 or 1.1 */
	const char *ciphers, *tls13_ciphers, *curves;
	long connect_ms, max_ms;            /* 0: not given */
};

/* https://host[:port]/target */
struct url {
	char host[256];             /* without brackets */
	char port[8];
	char *target;               /* malloc'd: "/path?query" */
	int ipv6;
};

/* mtls-client-args.c; parse_url: mtls-client-url.c */
void parse_args(int argc, char **argv, struct options *o);
void split_cert(const char *arg, char **file, char **password);
int cert_is_p12(const char *type, const char *file, int *p12);
int parse_url(const char *text, struct url *u);
int resolve_address(const struct options *o, const struct url *u,
    char *addr, size_t len);
int user_header(const struct options *o, const char *name);
char **build_headers(const struct options *o, const struct url *u);
void free_headers(char **headers);

/* mtls-client.c */
int failure(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* MTLS_CLIENT_H */
