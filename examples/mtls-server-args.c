/*
 * mtls-server-args.c - mtls-server's command line, parsed with
 * getopt_long(3): every option has a long name (nginx's directive, in
 * words that fit an option), --help and --version as curl has them, -t
 * as nginx's.  A mistyped option is named with the nearest existing one;
 * one of nginx's own flags (-s, -c, -p, -g, -e) or one of its directives
 * written as an option (--ssl-certificate) is told what to use instead.
 * Nothing is accepted by abbreviation: a script that works keeps working
 * when options are added.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "common.h"
#include "mtls-server.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#ifndef MTLS_HOST_TRIPLET
#define MTLS_HOST_TRIPLET "unknown"
#endif

enum opt_id {
	O_LISTEN = 256, O_CERT, O_KEY, O_PASS, O_P12, O_PASSWORD_FILE,
	O_SERVER_NAME, O_CLIENT_CA, O_CA_NAMES, O_VERIFY_CLIENT,
	O_VERIFY_DEPTH, O_CRL, O_CRL_CHAIN, O_ALLOW_CN, O_ALLOW_OU,
	O_ALLOW_DNS, O_ALLOW_URI, O_ALLOW_IP, O_ALLOW_SPKI,
	O_ALLOW_FINGERPRINT, O_PROTECT, O_ROOT, O_PROXY, O_MAX_BODY,
	O_MAX_CONNECTIONS, O_WORKERS, O_KEEPALIVE_TIMEOUT,
	O_HANDSHAKE_TIMEOUT, O_HEADER_TIMEOUT, O_SEND_TIMEOUT,
	O_PROXY_READ_TIMEOUT, O_MAX_HEADER_LINE, O_SESSION_CACHE, O_TICKETS,
	O_TICKET_KEY, O_PROTOCOLS, O_CIPHERS, O_CURVES, O_PID_FILE,
	O_ACCESS_LOG, O_ACCESS_LOG_FORMAT, O_ERROR_LOG, O_STATUS_LISTEN,
	O_PROXY_PROTOCOL, O_PROXY_PROTOCOL_FROM, O_WATCH, O_HELP, O_VERSION,
	O_TEST
};

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "pass", required_argument, NULL, O_PASS },
	{ "p12", required_argument, NULL, O_P12 },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "server-name", required_argument, NULL, O_SERVER_NAME },
	{ "client-ca", required_argument, NULL, O_CLIENT_CA },
	{ "ca-names", required_argument, NULL, O_CA_NAMES },
	{ "verify-client", required_argument, NULL, O_VERIFY_CLIENT },
	{ "verify-depth", required_argument, NULL, O_VERIFY_DEPTH },
	{ "crl", required_argument, NULL, O_CRL },
	{ "crl-chain", no_argument, NULL, O_CRL_CHAIN },
	{ "allow-cn", required_argument, NULL, O_ALLOW_CN },
	{ "allow-ou", required_argument, NULL, O_ALLOW_OU },
	{ "allow-dns", required_argument, NULL, O_ALLOW_DNS },
	{ "allow-uri", required_argument, NULL, O_ALLOW_URI },
	{ "allow-ip", required_argument, NULL, O_ALLOW_IP },
	{ "allow-spki", required_argument, NULL, O_ALLOW_SPKI },
	{ "allow-fingerprint", required_argument, NULL, O_ALLOW_FINGERPRINT },
	{ "protect", required_argument, NULL, O_PROTECT },
	{ "root", required_argument, NULL, O_ROOT },
	{ "proxy", required_argument, NULL, O_PROXY },
	{ "max-body", required_argument, NULL, O_MAX_BODY },
	{ "max-connections", required_argument, NULL, O_MAX_CONNECTIONS },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "keepalive-timeout", required_argument, NULL, O_KEEPALIVE_TIMEOUT },
	{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE_TIMEOUT },
	{ "client-header-timeout", required_argument, NULL, O_HEADER_TIMEOUT },
	{ "send-timeout", required_argument, NULL, O_SEND_TIMEOUT },
	{ "proxy-read-timeout", required_argument, NULL, O_PROXY_READ_TIMEOUT },
	{ "max-header-line", required_argument, NULL, O_MAX_HEADER_LINE },
	{ "session-cache", required_argument, NULL, O_SESSION_CACHE },
	{ "tickets", required_argument, NULL, O_TICKETS },
	{ "ticket-key", required_argument, NULL, O_TICKET_KEY },
	{ "protocols", required_argument, NULL, O_PROTOCOLS },
	{ "ciphers", required_argument, NULL, O_CIPHERS },
	{ "curves", required_argument, NULL, O_CURVES },
	{ "pid-file", required_argument, NULL, O_PID_FILE },
	{ "access-log", required_argument, NULL, O_ACCESS_LOG },
	{ "access-log-format", required_argument, NULL, O_ACCESS_LOG_FORMAT },
	{ "error-log", required_argument, NULL, O_ERROR_LOG },
	{ "status-listen", required_argument, NULL, O_STATUS_LISTEN },
	{ "proxy-protocol", no_argument, NULL, O_PROXY_PROTOCOL },
	{ "proxy-protocol-from", required_argument, NULL,
	  O_PROXY_PROTOCOL_FROM },
	{ "watch", required_argument, NULL, O_WATCH },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "test", no_argument, NULL, O_TEST },
	{ NULL, 0, NULL, 0 }
};

static void
help(void)
{
	printf("usage: mtls-server --listen ADDR:PORT... IDENTITY... "
	    "--client-ca FILE [options]\n"
	    "An nginx-like HTTPS server for mutual TLS (libmtls "
	    PACKAGE_VERSION ").\n\n"
	    "IDENTITY is --cert FILE [--key FILE] [--pass PASS] or "
	    "--p12 FILE[:PASSWORD];\n"
	    "--server-name NAMES IDENTITY... serves those names their own.\n\n"
	    "Listening and identity (nginx's listen, ssl_certificate...):\n"
	    "  --listen ADDR:PORT         127.0.0.1:8443, [::1]:8443, :8443; "
	    "repeatable\n"
	    "  --proxy-protocol           connections begin with a load "
	    "balancer's PROXY\n"
	    "                             header (v1 or v2): its client is "
	    "the client\n"
	    "  --proxy-protocol-from ADDR[/BITS]  a source trusted to send "
	    "one;\n"
	    "                             repeatable (default: loopback "
	    "only)\n"
	    "  --cert FILE, --key FILE    certificate (and chain) and key\n"
	    "  --pass PASS                passphrase of the key or PKCS#12 file\n"
	    "  --p12 FILE[:PASSWORD]      identity from a PKCS#12 file\n"
	    "  --password-file FILE       passphrases, one a line, each tried "
	    "in turn\n"
	    "  --server-name NAMES        the identities after it, for these "
	    "SNI names\n"
	    "  --watch SECONDS            reload the certificate, key, CA, CRL "
	    "and ticket-key\n"
	    "                             files when they change, checked at "
	    "most this often\n"
	    "                             by new connections (1, 0.25)\n"
	    "Client certificates (ssl_client_certificate, "
	    "ssl_verify_client...):\n"
	    "  --client-ca FILE           CAs client certificates must chain "
	    "to\n"
	    "  --verify-client MODE       on (default), optional, "
	    "optional_no_ca\n"
	    "  --verify-depth N           intermediates allowed (default 2)\n"
	    "  --crl FILE [--crl-chain]   revocation lists\n"
	    "  --ca-names FILE            CA names to advertise instead\n"
	    "  --allow-cn PAT, --allow-ou PAT, --allow-dns PAT, "
	    "--allow-uri PAT,\n"
	    "  --allow-ip ADDR, --allow-spki SHA256, --allow-fingerprint SHA256\n"
	    "                             admit only clients matching one\n"
	    "  --protect PREFIX           403 there without a verified "
	    "certificate\n"
	    "What to serve:\n"
	    "  --root DIR                 files (nginx's root)\n"
	    "  --proxy http://HOST:PORT   a plain backend (proxy_pass)\n"
	    "  (neither: each request is answered with the identity seen)\n"
	    "Limits and timeouts:\n"
	    "  --max-body BYTES           client_max_body_size (default 1m)\n"
	    "  --max-header-line SIZE     large_client_header_buffers "
	    "(default 8k)\n"
	    "  --max-connections N        connections open at once (default "
	    "1024)\n"
	    "  --workers N                worker threads (default: one a core)\n"
	    "  --keepalive-timeout S      keepalive_timeout (default 75)\n"
	    "  --handshake-timeout S      ssl_handshake_timeout (default 30)\n"
	    "  --client-header-timeout S  client_header_timeout (default 60)\n"
	    "  --send-timeout S           send_timeout (default 60)\n"
	    "  --proxy-read-timeout S     proxy_read_timeout (default 60)\n"
	    "TLS (ssl_protocols, ssl_ciphers, ssl_ecdh_curve, sessions):\n"
	    "  --protocols 'TLSv1.2 TLSv1.3', --ciphers LIST, --curves LIST\n"
	    "  --tickets N, --ticket-key FILE, --session-cache SIZE\n"
	    "Logs and process (access_log, error_log, pid, stub_status):\n"
	    "  --access-log FILE|off      default: standard output\n"
	    "  --access-log-format combined|json\n"
	    "  --error-log FILE           default: standard error\n"
	    "  --pid-file FILE            written at start, removed at exit\n"
	    "  --status-listen ADDR:PORT  plain HTTP /_status and /_metrics "
	    "(Prometheus);\n"
	    "                             :PORT or PORT is on 127.0.0.1\n"
	    "  -t, --test                 check the configuration and exit\n"
	    "  -h, --help                 this text\n"
	    "  -v, -V, --version          versions of mtls-server, libmtls and "
	    "OpenSSL\n\n"
	    "Signals, as nginx's: HUP reloads the certificates, USR1 reopens "
	    "the logs,\nQUIT stops gracefully, TERM and INT stop at once.  "
	    "See mtls-server(1).\n");
	exit(0);
}

/* As curl -V (and mtls-client -V) and nginx -V show theirs: the
 * program and its platform, the library and OpenSSL; then OpenSSL built
 * with and running with. */
static void
version(void)
{
	printf("mtls-server %s (%s) libmtls/%s OpenSSL/%s\n"
	    "built with %s (running with %s)\n", PACKAGE_VERSION,
	    MTLS_HOST_TRIPLET, PACKAGE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION_STRING), OPENSSL_VERSION_TEXT,
	    OpenSSL_version(OPENSSL_VERSION));
	exit(0);
}

static void
usage_error(void)
{
	fprintf(stderr, "mtls-server: see 'mtls-server --help' for the "
	    "options, mtls-server(1) for nginx's names of them\n");
	exit(EXIT_USAGE);
}

/* --------------------------------------------------- a mistyped option */

/* The edit distance between a and b, a transposition counting as one
 * edit ("--kye" is one from --key), case folded, '_' taken as '-'. */
static size_t
distance(const char *a, const char *b)
{
	unsigned char d[64][64];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 63 || lb >= 63)
		return 64;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = a[i - 1] == '_' ? '-' : a[i - 1] | 0x20;
			int cb = b[j - 1] == '_' ? '-' : b[j - 1] | 0x20;
			unsigned best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1u < best)
				best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == cb && d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)best;
		}
	return d[la][lb];
}

/* nginx's directives that people write as options, and ours. */
static const struct {
	const char *directive, *use;
} directives[] = {
	{ "ssl_certificate", "--cert (or --p12)" },
	{ "ssl_certificate_key", "--key" },
	{ "ssl_password_file", "--password-file" },
	{ "ssl_client_certificate", "--client-ca" },
	{ "ssl_trusted_certificate", "--client-ca, with --ca-names for the names advertised" },
	{ "ssl_verify_client", "--verify-client" },
	{ "ssl_verify_depth", "--verify-depth" },
	{ "ssl_crl", "--crl" },
	{ "ssl_protocols", "--protocols" },
	{ "ssl_ciphers", "--ciphers" },
	{ "ssl_ecdh_curve", "--curves" },
	{ "ssl_session_cache", "--session-cache" },
	{ "ssl_session_tickets", "--tickets (0 for off)" },
	{ "ssl_session_ticket_key", "--ticket-key" },
	{ "ssl_handshake_timeout", "--handshake-timeout" },
	{ "server_name", "--server-name" },
	{ "client_max_body_size", "--max-body" },
	{ "large_client_header_buffers", "--max-header-line" },
	{ "proxy_pass", "--proxy" },
	{ "worker_processes", "--workers" },
	{ "worker_connections", "--max-connections" },
	{ "pid", "--pid-file" },
	{ "log_format", "--access-log-format" },
	{ "stub_status", "--status-listen ADDR:PORT (/_status, /_metrics)" },
	{ "ssl", "nothing (mtls-server always speaks TLS)" },
	{ "proxy_protocol", "--proxy-protocol (listen ... proxy_protocol)" },
	{ "set_real_ip_from", "--proxy-protocol-from" },
	{ "real_ip_header", "--proxy-protocol (only the PROXY protocol's "
	  "address is used)" },
};

/* token ("--lisen", "--lisen=x", "-listen") is no option: says so, with
 * the nearest option or the one for nginx's directive of that name. */
static void
unknown_option(const char *token)
{
	const char *arg = token, *best = NULL, *second = NULL;
	size_t len, best_d = 64, second_d = 64;
	char name[64];
	int shown = (int)strcspn(token, "=");

	while (*arg == '-')
		arg++;
	len = strcspn(arg, "=");
	snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), arg);
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (distance(name, directives[i].directive) <= (len > 4)) {
			fprintf(stderr, "mtls-server: unknown option '%.*s': for "
			    "nginx's %s, use %s\n", shown, token,
			    directives[i].directive, directives[i].use);
			usage_error();
		}
	for (const struct option *o = longopts; o->name != NULL; o++) {
		size_t d = distance(name, o->name);

		/* A prefix ("--verify") is close to each option it begins. */
		if (len >= 3 && strncmp(o->name, name, len) == 0)
			d = 1;
		if (d < best_d) {
			second = best;
			second_d = best_d;
			best = o->name;
			best_d = d;
		} else if (d < second_d) {
			second = o->name;
			second_d = d;
		}
	}
	/* Near: one edit, two in a name of 5 or more, three in one of 9. */
	if (best_d > 3 || best_d * 4 > strlen(best) + 3)
		fprintf(stderr, "mtls-server: unknown option '%.*s'\n", shown,
		    token);
	else if (second_d == best_d)
		fprintf(stderr, "mtls-server: unknown option '%.*s'; did you "
		    "mean --%s or --%s?\n", shown, token, best, second);
	else
		fprintf(stderr, "mtls-server: unknown option '%.*s'; did you "
		    "mean --%s?\n", shown, token, best);
	usage_error();
}

/* A short option: ours (-h, -v, -V, -t) are handled before this; nginx's
 * others are told what stands for them. */
static void
unknown_short(int ch)
{
	switch (ch) {
	case 's':
		fprintf(stderr, "mtls-server: -s is nginx's; send the signal "
		    "instead: kill -HUP (reload), -USR1 (reopen), -QUIT (quit), "
		    "-TERM (stop), to the PID in --pid-file\n");
		break;
	case 'c':
	case 'p':
	case 'g':
		fprintf(stderr, "mtls-server: -%c is nginx's: mtls-server reads "
		    "no configuration file, every setting is an option\n", ch);
		break;
	case 'e':
		fprintf(stderr, "mtls-server: -e is nginx's: use --error-log "
		    "FILE\n");
		break;
	default:
		fprintf(stderr, "mtls-server: unknown option '-%c'\n", ch);
		break;
	}
	usage_error();
}

/* ------------------------------------------------------------- values */

static long
number(const char *opt, const char *val)
{
	char *end;
	long n = strtol(val, &end, 10);

	if (*val == '\0' || *end != '\0' || n < 0) {
		fprintf(stderr, "mtls-server: %s takes a number, not '%s'\n", opt,
		    val);
		exit(EXIT_USAGE);
	}
	return n;
}

/* A size as nginx writes one: bytes, or with k or m for KiB or MiB. */
static long
size(const char *opt, const char *val)
{
	char *end;
	long n = strtol(val, &end, 10), unit = 1;

	if (*end == 'k' || *end == 'K')
		unit = 1024;
	else if (*end == 'm' || *end == 'M')
		unit = 1024 * 1024;
	if (*val == '\0' || end == val || n < 0 || n > (1L << 40) ||
	    end[unit > 1] != '\0') {
		fprintf(stderr, "mtls-server: %s takes a size in bytes (or with "
		    "k or m: 8k, 10m), not '%s'\n", opt, val);
		exit(EXIT_USAGE);
	}
	return n * unit;
}

/* --watch: seconds, a fraction allowed (0.25), as milliseconds from 1 ms
 * to an hour. */
static long
watch_ms(const char *opt, const char *val)
{
	char *end;
	double seconds = strtod(val, &end);

	if (end == val || *end != '\0' || !(seconds >= 0.001) ||
	    seconds > 3600) {
		fprintf(stderr, "mtls-server: %s takes 0.001 to 3600 seconds "
		    "(1, 0.25), not '%s'\n", opt, val);
		exit(EXIT_USAGE);
	}
	return (long)(seconds * 1000 + 0.5);
}

/* A timeout option: 1 second to a day (the library's limits are in
 * milliseconds, in an int). */
static void
check_seconds(const char *opt, long seconds)
{
	if (seconds >= 1 && seconds <= 86400)
		return;
	fprintf(stderr, "mtls-server: %s takes 1 to 86400 seconds, not %ld\n",
	    opt, seconds);
	exit(EXIT_USAGE);
}

/*
 * --cert and --p12 begin an identity (nginx's ssl_certificate: a second
 * one adds a certificate of another key type); --key and --pass belong to
 * the identity begun last.  --server-name starts a group of identities
 * for those names, as an nginx server block with server_name does.
 */
static void
identity_option(struct options *o, int id_opt, const char *val)
{
	struct identity_opt *id = o->nids > 0 ? &o->ids[o->nids - 1] : NULL;
	bool begins = id_opt == O_CERT || id_opt == O_P12;

	if (id == NULL || id->names != o->server_names ||
	    (begins && (id->cert != NULL || id->p12 != NULL))) {
		if (o->nids == MAX_IDENTITIES) {
			fprintf(stderr, "mtls-server: more than %d identities "
			    "(--cert or --p12 options)\n", MAX_IDENTITIES);
			exit(EXIT_USAGE);
		}
		id = &o->ids[o->nids++];
		id->names = o->server_names;
	}
	*(id_opt == O_CERT ? &id->cert : id_opt == O_P12 ? &id->p12 :
	    id_opt == O_KEY ? &id->key : &id->pass) = val;
}

/* Every identity has a certificate, and the default ones come first. */
static void
check_identities(const struct options *o)
{
	for (int i = 0; i < o->nids; i++)
		if (o->ids[i].cert == NULL && o->ids[i].p12 == NULL) {
			fprintf(stderr, "mtls-server: --key or --pass without the "
			    "--cert it belongs to\n");
			exit(EXIT_USAGE);
		}
	if (o->nids == 0) {
		fprintf(stderr, "mtls-server: no certificate: give --cert FILE "
		    "[--key FILE] or --p12 FILE (nginx's ssl_certificate and "
		    "ssl_certificate_key)\n");
		usage_error();
	}
	if (o->ids[0].names != NULL) {
		fprintf(stderr, "mtls-server: no default identity: give --cert "
		    "(or --p12) before the first --server-name, for clients "
		    "that ask for no name or another one\n");
		exit(EXIT_USAGE);
	}
	if (o->server_names != NULL && o->ids[o->nids - 1].names !=
	    o->server_names) {
		fprintf(stderr, "mtls-server: --server-name '%s' has no --cert "
		    "(or --p12) after it\n", o->server_names);
		exit(EXIT_USAGE);
	}
}

/*
 * nginx's ssl_protocols, as one argument ("TLSv1.2 TLSv1.3"): the lowest
 * and highest listed become the range.  TLSv1 and TLSv1.1 (and SSLv2,
 * SSLv3) are older than libmtls goes: said and left out, as long as one
 * version is left.
 */
static void
parse_protocols(struct options *o, const char *val)
{
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", val);
	for (char *p = strtok_r(copy, " ,", &save); p != NULL;
	    p = strtok_r(NULL, " ,", &save)) {
		int v = !strcmp(p, "TLSv1.2") ? MTLS_TLS1_2 :
		    !strcmp(p, "TLSv1.3") ? MTLS_TLS1_3 : 0;

		if (v == 0 && (!strcmp(p, "TLSv1") || !strcmp(p, "TLSv1.1") ||
		    !strcmp(p, "SSLv2") || !strcmp(p, "SSLv3"))) {
			fprintf(stderr, "mtls-server: warning: --protocols: %s is "
			    "not supported (libmtls speaks TLSv1.2 and TLSv1.3): "
			    "left out\n", p);
			continue;
		}
		if (v == 0) {
			fprintf(stderr, "mtls-server: --protocols: unknown protocol "
			    "'%s' (nginx's names: TLSv1.2 TLSv1.3)\n", p);
			exit(EXIT_USAGE);
		}
		o->tls_min = o->tls_min == 0 || v < o->tls_min ? v : o->tls_min;
		o->tls_max = v > o->tls_max ? v : o->tls_max;
	}
	if (o->tls_min == 0) {
		fprintf(stderr, "mtls-server: --protocols '%s' leaves no version "
		    "libmtls speaks: list TLSv1.2, TLSv1.3 or both\n", val);
		exit(EXIT_USAGE);
	}
}

/* Appends val to the list of a repeatable option: an allow-list (type),
 * --protect, --ticket-key or --proxy-protocol-from. */
static void
list_add(struct options *o, const char *opt, int type, const char *val)
{
	const char **list = !strcmp(opt, "--protect") ? o->protect :
	    !strcmp(opt, "--proxy-protocol-from") ? o->proxy_from :
	    o->ticket_keys;
	int *count = type != 0 ? &o->nallow : list == o->protect ?
	    &o->nprotect : list == o->proxy_from ? &o->nproxy_from :
	    &o->nticket_keys;

	if (*count >= MAX_LIST) {
		fprintf(stderr, "mtls-server: more than %d %s options\n", MAX_LIST,
		    type != 0 ? "--allow-*" : opt);
		exit(EXIT_USAGE);
	}
	if (type != 0)
		o->allow[o->nallow++] = (struct allow_opt){ type, val };
	else
		list[(*count)++] = val;
}

static int
allow_type(int id)
{
	switch (id) {
	case O_ALLOW_CN: return MTLS_ALLOW_CN;
	case O_ALLOW_OU: return MTLS_ALLOW_OU;
	case O_ALLOW_DNS: return MTLS_ALLOW_DNS;
	case O_ALLOW_URI: return MTLS_ALLOW_URI;
	case O_ALLOW_IP: return MTLS_ALLOW_IP;
	case O_ALLOW_SPKI: return MTLS_ALLOW_SPKI_SHA256;
	case O_ALLOW_FINGERPRINT: return MTLS_ALLOW_CERT_SHA256;
	default: return 0;
	}
}

/* Where an option that takes a string keeps it; NULL for the others. */
static const char **
string_slot(struct options *o, int id)
{
	switch (id) {
	case O_CLIENT_CA: return &o->client_ca;
	case O_CA_NAMES: return &o->ca_names;
	case O_VERIFY_CLIENT: return &o->verify_client;
	case O_CRL: return &o->crl;
	case O_ROOT: return &o->root;
	case O_PROXY: return &o->proxy;
	case O_CIPHERS: return &o->ciphers;
	case O_CURVES: return &o->curves;
	case O_PASSWORD_FILE: return &o->password_file;
	case O_PID_FILE: return &o->pid_file;
	case O_ACCESS_LOG: return &o->access_log;
	case O_ERROR_LOG: return &o->error_log;
	case O_STATUS_LISTEN: return &o->status_listen;
	default: return NULL;
	}
}

/* A number option's value into its place. */
static bool
number_option(struct options *o, int id, const char *opt, const char *val)
{
	long *slot;

	switch (id) {
	case O_VERIFY_DEPTH: slot = &o->verify_depth; break;
	case O_TICKETS: slot = &o->tickets; break;
	case O_MAX_BODY: slot = &o->max_body; break;
	case O_MAX_CONNECTIONS: slot = &o->max_connections; break;
	case O_WORKERS: slot = &o->workers; break;
	case O_KEEPALIVE_TIMEOUT: slot = &o->keepalive; break;
	case O_HANDSHAKE_TIMEOUT: slot = &o->handshake_timeout; break;
	case O_HEADER_TIMEOUT: slot = &o->header_timeout; break;
	case O_SEND_TIMEOUT: slot = &o->send_timeout; break;
	case O_PROXY_READ_TIMEOUT: slot = &o->proxy_timeout; break;
	case O_MAX_HEADER_LINE:
		o->max_header_line = size(opt, val);
		return true;
	case O_SESSION_CACHE:
		o->session_cache = size(opt, val);
		return true;
	case O_WATCH:
		o->watch_ms = watch_ms(opt, val);
		return true;
	default:
		return false;
	}
	*slot = number(opt, val);
	return true;
}

/* One option, its name opt ("--listen") and value val (NULL for one that
 * takes none). */
static void
take_option(struct options *o, int id, const char *opt, const char *val)
{
	const char **slot = string_slot(o, id);

	if (slot != NULL) {
		*slot = val;
		return;
	}
	if (number_option(o, id, opt, val) || id == O_HELP || id == O_VERSION)
		return;
	switch (id) {
	case O_LISTEN:
		if (o->nlisten == MAX_LISTEN) {
			fprintf(stderr, "mtls-server: more than %d --listen "
			    "options\n", MAX_LISTEN);
			exit(EXIT_USAGE);
		}
		o->listen[o->nlisten++] = val;
		break;
	case O_CERT:
	case O_KEY:
	case O_PASS:
	case O_P12:
		identity_option(o, id, val);
		break;
	case O_SERVER_NAME:
		o->server_names = val;
		break;
	case O_CRL_CHAIN:
		o->crl_chain = 1;
		break;
	case O_PROTECT:
	case O_TICKET_KEY:
	case O_PROXY_PROTOCOL_FROM:
		list_add(o, opt, 0, val);
		break;
	case O_PROXY_PROTOCOL:
		o->proxy_protocol = true;
		break;
	case O_PROTOCOLS:
		parse_protocols(o, val);
		break;
	case O_ACCESS_LOG_FORMAT:
		if (strcmp(val, "combined") != 0 && strcmp(val, "json") != 0) {
			fprintf(stderr, "mtls-server: --access-log-format takes "
			    "combined or json, not '%s'\n", val);
			exit(EXIT_USAGE);
		}
		o->log_format = !strcmp(val, "json") ? LOG_JSON : LOG_COMBINED;
		break;
	case O_TEST:
		o->test_only = true;
		break;
	default:
		if (allow_type(id) != 0) {
			list_add(o, opt, allow_type(id), val);
			break;
		}
		fprintf(stderr, "mtls-server: %s is not handled\n", opt);
		exit(EXIT_USAGE);
	}
}

/* --status-listen: an address and a port, or a port alone. */
static void
check_status_listen(const struct options *o)
{
	char host[256];
	const char *port;

	if (o->status_listen == NULL || status_address(o->status_listen, host,
	    sizeof(host), &port) == 0)
		return;
	fprintf(stderr, "mtls-server: --status-listen '%s' needs a port "
	    "(ADDR:PORT, [IPv6]:PORT, or :PORT or PORT for 127.0.0.1)\n",
	    o->status_listen);
	exit(EXIT_USAGE);
}

/* The whole of what the options say holds together. */
static void
check_options(struct options *o)
{
	if (o->nlisten == 0) {
		fprintf(stderr, "mtls-server: no --listen ADDR:PORT (nginx's "
		    "listen): where to listen, e.g. 127.0.0.1:8443\n");
		usage_error();
	}
	check_identities(o);
	check_status_listen(o);
	if (o->nproxy_from > 0 && !o->proxy_protocol) {
		fprintf(stderr, "mtls-server: --proxy-protocol-from names the "
		    "load balancers trusted to send a PROXY header: give "
		    "--proxy-protocol too\n");
		exit(EXIT_USAGE);
	}
	if (o->root != NULL && o->proxy != NULL) {
		fprintf(stderr, "mtls-server: --root and --proxy exclude each "
		    "other\n");
		exit(EXIT_USAGE);
	}
	if (o->verify_client != NULL && verify_client_mode(o->verify_client) < 0) {
		fprintf(stderr, "mtls-server: --verify-client takes on, optional "
		    "or optional_no_ca, not '%s'\n", o->verify_client);
		exit(EXIT_USAGE);
	}
	if (o->max_header_line == 0) {
		fprintf(stderr, "mtls-server: --max-header-line is at least 1 "
		    "byte\n");
		exit(EXIT_USAGE);
	}
	if (o->workers < 1 || o->workers > 256) {
		fprintf(stderr, "mtls-server: --workers takes 1 to 256, not %ld\n",
		    o->workers);
		exit(EXIT_USAGE);
	}
	check_seconds("--keepalive-timeout", o->keepalive);
	check_seconds("--handshake-timeout", o->handshake_timeout);
	check_seconds("--client-header-timeout", o->header_timeout);
	check_seconds("--send-timeout", o->send_timeout);
	check_seconds("--proxy-read-timeout", o->proxy_timeout);
}

void
parse_options(int argc, char **argv, struct options *o)
{
	char opt[64];
	int ch, at, index;

	o->verify_depth = o->tickets = o->max_body = o->max_header_line = -1;
	o->session_cache = -1;
	o->max_connections = 1024;
	o->keepalive = 75;              /* nginx's keepalive_timeout */
	o->handshake_timeout = 30;      /* the library's */
	o->header_timeout = 60;         /* nginx's client_header_timeout */
	o->send_timeout = 60;           /* nginx's send_timeout */
	o->proxy_timeout = 60;          /* nginx's proxy_read_timeout */
	o->workers = sysconf(_SC_NPROCESSORS_ONLN); /* worker_processes auto */
	opterr = 0;
	/* "+": no argument is moved; the first that is no option ends them. */
	for (;;) {
		at = optind;
		index = -1;
		if ((ch = getopt_long(argc, argv, "+:hvVt", longopts,
		    &index)) == -1)
			break;
		if (ch == 'h' || ch == O_HELP)
			help();
		if (ch == 'v' || ch == 'V' || ch == O_VERSION)
			version();
		if (ch == 't') {
			o->test_only = true;
			continue;
		}
		if ((ch == ':' || ch == '?') && optopt >= O_LISTEN) {
			fprintf(stderr, "mtls-server: %.*s %s\n",
			    (int)strcspn(argv[optind - 1], "="), argv[optind - 1],
			    ch == ':' ? "needs a value" : "takes no value");
			usage_error();
		}
		/* "-listen": a long option with one dash, not -l -i -s... */
		if (ch == '?' && optopt != 0 && argv[at][1] != '-' &&
		    strlen(argv[at]) > 2 && strchr("hvVtscpge", argv[at][1]) == NULL)
			unknown_option(argv[at]);
		if (ch == '?' && optopt != 0)
			unknown_short(optopt);
		if (ch == '?' || ch == ':')
			unknown_option(argv[optind - 1]);
		/* Only whole names: getopt_long takes "--lis" for --listen. */
		if (index < 0 || strcspn(argv[at] + 2, "=") !=
		    strlen(longopts[index].name))
			unknown_option(argv[at]);
		snprintf(opt, sizeof(opt), "--%s", longopts[index].name);
		take_option(o, ch, opt, optarg);
	}
	if (optind < argc) {
		fprintf(stderr, "mtls-server: unexpected argument '%s': each "
		    "value follows the name of its option (--cert FILE)\n",
		    argv[optind]);
		usage_error();
	}
	check_options(o);
}
