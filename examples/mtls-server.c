/*
 * mtls-server - an nginx-like mTLS server for trying certificates: it
 * answers each request with the client identity it saw, or serves files
 * from --root, with nginx's client-certificate modes and libmtls's
 * allow-lists; SIGHUP reloads the certificates without a restart.
 *
 * Exit status: 0 after SIGTERM or SIGINT, 1 usage, 2 configuration,
 * 3 cannot listen.  See mtls-server(1).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "mtls-server.h"

static struct mtls *listener;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mtls-server --listen ADDR:PORT (--cert FILE [--key FILE] "
	    "[--pass PASS] | --p12 FILE[:PASSWORD])...\n"
	    "         [--server-name NAMES (--cert ... | --p12 ...)...]...\n"
	    "         --client-ca FILE [--verify-client on|optional|optional_no_ca]\n"
	    "         [--verify-depth N] [--crl FILE [--crl-chain]] [--ca-names FILE]\n"
	    "         [--allow-cn PAT] [--allow-ou PAT] [--allow-dns PAT] "
	    "[--allow-uri PAT]\n"
	    "         [--allow-ip ADDR] [--allow-spki SHA256] [--protect PREFIX]\n"
	    "         [--root DIR | --proxy http://HOST:PORT]\n"
	    "         [--max-body BYTES] [--max-connections N] [--workers N]\n"
	    "         [--keepalive-timeout SECONDS] [--handshake-timeout SECONDS]\n"
	    "         [--send-timeout SECONDS] [--proxy-read-timeout SECONDS]\n"
	    "         [--tickets N] [--ticket-key FILE] [--session-cache SIZE]\n"
	    "         [--max-header-line SIZE] [--protocols 'TLSv1.2 TLSv1.3']\n"
	    "         [--ciphers LIST] [--curves LIST]\n");
	exit(EXIT_USAGE);
}

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

static int
allow_type(const char *opt)
{
	static const struct { const char *opt; int type; } types[] = {
		{ "--allow-cn", MTLS_ALLOW_CN }, { "--allow-ou", MTLS_ALLOW_OU },
		{ "--allow-dns", MTLS_ALLOW_DNS }, { "--allow-uri", MTLS_ALLOW_URI },
		{ "--allow-ip", MTLS_ALLOW_IP },
		{ "--allow-spki", MTLS_ALLOW_SPKI_SHA256 },
		{ "--allow-fingerprint", MTLS_ALLOW_CERT_SHA256 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(opt, types[i].opt) == 0)
			return types[i].type;
	return 0;
}

/* Options that take a string, and where it goes. */
static const char **
string_slot(struct options *o, const char *opt)
{
	static const char *const names[] = { "--listen", "--client-ca",
	    "--ca-names", "--verify-client", "--crl", "--root", "--proxy",
	    "--ciphers", "--curves" };
	const char **slots[] = { &o->listen, &o->client_ca, &o->ca_names,
	    &o->verify_client, &o->crl, &o->root, &o->proxy, &o->ciphers,
	    &o->curves };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(opt, names[i]) == 0)
			return slots[i];
	return NULL;
}

/*
 * --cert and --p12 begin an identity (nginx's ssl_certificate: a second
 * one adds a certificate of another key type); --key and --pass belong to
 * the identity begun last.  --server-name starts a group of identities
 * for those names, as an nginx server block with server_name does.
 */
static bool
identity_option(struct options *o, const char *opt, const char *val)
{
	struct identity_opt *id = o->nids > 0 ? &o->ids[o->nids - 1] : NULL;
	bool begins = !strcmp(opt, "--cert") || !strcmp(opt, "--p12");

	if (!strcmp(opt, "--server-name")) {
		o->server_names = val;
		return true;
	}
	if (!begins && strcmp(opt, "--key") && strcmp(opt, "--pass"))
		return false;
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
	*(!strcmp(opt, "--cert") ? &id->cert : !strcmp(opt, "--p12") ?
	    &id->p12 : !strcmp(opt, "--key") ? &id->key : &id->pass) = val;
	return true;
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
	if (o->nids == 0 || o->ids[0].names != NULL) {
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

/* Appends val to a list option; false when opt is not one. */
static bool
list_option(struct options *o, const char *opt, const char *val)
{
	int type = allow_type(opt);
	const char **list = !strcmp(opt, "--protect") ? o->protect :
	    !strcmp(opt, "--ticket-key") ? o->ticket_keys : NULL;
	int *count = list == o->protect ? &o->nprotect : &o->nticket_keys;

	if (type == 0 && list == NULL)
		return false;
	if ((type != 0 ? o->nallow : *count) >= MAX_LIST) {
		fprintf(stderr, "mtls-server: more than %d %s options\n", MAX_LIST,
		    opt);
		exit(EXIT_USAGE);
	}
	if (type != 0)
		o->allow[o->nallow++] = (struct allow_opt){ type, val };
	else
		list[(*count)++] = val;
	return true;
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

static void
parse_options(int argc, char **argv, struct options *o)
{
	o->verify_depth = o->tickets = o->max_body = o->max_header_line = -1;
	o->session_cache = -1;
	o->max_connections = 1024;
	o->keepalive = 75;              /* nginx's keepalive_timeout */
	o->handshake_timeout = 30;      /* the library's */
	o->send_timeout = 60;           /* nginx's send_timeout */
	o->proxy_timeout = 60;          /* nginx's proxy_read_timeout */
	o->workers = sysconf(_SC_NPROCESSORS_ONLN); /* worker_processes auto */
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = argv[i + 1];
		const char **slot = string_slot(o, opt);

		if (!strcmp(opt, "--crl-chain")) {
			o->crl_chain = 1;
			continue;
		}
		if (!strcmp(opt, "-h") || !strcmp(opt, "--help"))
			usage();
		if (val == NULL) {
			fprintf(stderr, "mtls-server: %s needs a value\n", opt);
			usage();
		}
		i++;
		if (slot != NULL)
			*slot = val;
		else if (identity_option(o, opt, val))
			continue;
		else if (!strcmp(opt, "--verify-depth"))
			o->verify_depth = number(opt, val);
		else if (!strcmp(opt, "--tickets"))
			o->tickets = number(opt, val);
		else if (!strcmp(opt, "--max-body"))
			o->max_body = number(opt, val);
		else if (!strcmp(opt, "--max-connections"))
			o->max_connections = number(opt, val);
		else if (!strcmp(opt, "--workers"))
			o->workers = number(opt, val);
		else if (!strcmp(opt, "--keepalive-timeout"))
			o->keepalive = number(opt, val);
		else if (!strcmp(opt, "--handshake-timeout"))
			o->handshake_timeout = number(opt, val);
		else if (!strcmp(opt, "--send-timeout"))
			o->send_timeout = number(opt, val);
		else if (!strcmp(opt, "--proxy-read-timeout"))
			o->proxy_timeout = number(opt, val);
		else if (!strcmp(opt, "--max-header-line"))
			o->max_header_line = size(opt, val);
		else if (!strcmp(opt, "--session-cache"))
			o->session_cache = size(opt, val);
		else if (!strcmp(opt, "--protocols"))
			parse_protocols(o, val);
		else if (!list_option(o, opt, val)) {
			fprintf(stderr, "mtls-server: unknown option '%s'\n", opt);
			usage();
		}
	}
	if (o->listen == NULL || o->nids == 0)
		usage();
	check_identities(o);
	if (o->root != NULL && o->proxy != NULL) {
		fprintf(stderr, "mtls-server: --root and --proxy exclude each "
		    "other\n");
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
	check_seconds("--send-timeout", o->send_timeout);
	check_seconds("--proxy-read-timeout", o->proxy_timeout);
}

/* ------------------------------------------------------------- config */

static int
load_policy(struct mtls_config *cfg, const struct options *o)
{
	int rc = 0;

	if (o->client_ca != NULL)
		rc = mtls_config_set_ca_file(cfg, o->client_ca);
	if (rc == 0 && o->ca_names != NULL)
		rc = mtls_config_set_ca_names_file(cfg, o->ca_names);
	if (rc == 0 && o->verify_client != NULL)
		rc = mtls_config_set_verify_client(cfg,
		    verify_client_mode(o->verify_client));
	if (rc == 0 && o->verify_depth >= 0)
		rc = mtls_config_set_verify_depth(cfg, (int)o->verify_depth);
	if (rc == 0 && o->crl != NULL)
		rc = mtls_config_set_crl_file(cfg, o->crl, o->crl_chain);
	for (int i = 0; rc == 0 && i < o->nallow; i++)
		rc = mtls_config_allow(cfg, o->allow[i].type, o->allow[i].value);
	return rc;
}

/* --protocols, --ciphers, --curves. */
static int
load_tls_policy(struct mtls_config *cfg, const struct options *o)
{
	int rc = 0;

	if (o->tls_max != 0)
		rc = mtls_config_set_max_version(cfg, o->tls_max);
	if (rc == 0 && o->tls_min != 0)
		rc = mtls_config_set_min_version(cfg, o->tls_min);
	if (rc == 0 && o->ciphers != NULL)
		rc = mtls_config_set_ciphers(cfg, o->ciphers);
	if (rc == 0 && o->curves != NULL)
		rc = mtls_config_set_groups(cfg, o->curves);
	return rc;
}

static int
load_settings(struct mtls_config *cfg, const struct options *o)
{
	/* nginx's answer to a client offering HTTP/1.1 by ALPN */
	int rc = mtls_config_set_alpn(cfg, "http/1.1");

	if (rc == 0 && o->tickets >= 0)
		rc = mtls_config_set_session_tickets(cfg, (int)o->tickets);
	for (int i = 0; rc == 0 && i < o->nticket_keys; i++)
		rc = mtls_config_add_ticket_key_file(cfg, o->ticket_keys[i]);
	if (rc == 0 && o->session_cache >= 0)
		rc = mtls_config_set_session_store_bytes(cfg,
		    (size_t)o->session_cache);
	if (rc == 0 && o->max_body >= 0)
		rc = mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_BODY,
		    (unsigned long long)o->max_body);
	if (rc == 0)
		rc = mtls_config_set_http_limit(cfg, MTLS_HTTP_IDLE_TIMEOUT_MS,
		    (unsigned long long)o->keepalive * 1000);
	/* io_ms bounds each write (nginx's send_timeout: between two
	 * successive writes) and each read of a body (client_body_timeout,
	 * also 60 s in nginx). */
	if (rc == 0)
		rc = mtls_config_set_timeouts(cfg, 0, (int)o->handshake_timeout *
		    1000, (int)o->send_timeout * 1000);
	/* One size for both lines, as nginx's large_client_header_buffers. */
	if (rc == 0 && o->max_header_line >= 0)
		rc = mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_REQUEST_LINE,
		    (unsigned long long)o->max_header_line);
	if (rc == 0 && o->max_header_line >= 0)
		rc = mtls_config_set_http_limit(cfg, MTLS_HTTP_MAX_HEADER_LINE,
		    (unsigned long long)o->max_header_line);
	return rc == 0 ? load_tls_policy(cfg, o) : rc;
}

static int
load_identity_opt(struct mtls_config *cfg, const struct identity_opt *id)
{
	return load_identity(cfg, id->cert, id->key, id->pass, id->p12);
}

/* The default identities into cfg; then, for each --server-name, a config
 * of its identities, added for its names. */
static int
load_identities(struct mtls_config *cfg, const struct options *o)
{
	int i = 0, rc = 0;

	for (; rc == 0 && i < o->nids && o->ids[i].names == NULL; i++)
		rc = load_identity_opt(cfg, &o->ids[i]);
	if (rc != 0)
		fprintf(stderr, "mtls-server: %s\n", mtls_config_error(cfg));
	while (rc == 0 && i < o->nids) {
		const char *names = o->ids[i].names;
		struct mtls_config *named = mtls_config_new();

		if (named == NULL) {
			fprintf(stderr, "mtls-server: %s\n", mtls_config_error(NULL));
			return -1;
		}
		for (; rc == 0 && i < o->nids && o->ids[i].names == names; i++)
			rc = load_identity_opt(named, &o->ids[i]);
		for (size_t w = 0; rc == 0 && mtls_config_warning(named, w); w++)
			fprintf(stderr, "mtls-server: warning: %s\n",
			    mtls_config_warning(named, w));
		if (rc != 0)
			fprintf(stderr, "mtls-server: %s\n", mtls_config_error(named));
		else if ((rc = mtls_config_add_sni_identity(cfg, names, named)) != 0)
			fprintf(stderr, "mtls-server: --server-name: %s\n",
			    mtls_config_error(cfg));
		mtls_config_free(named);
	}
	return rc;
}

/* A config from the options' files, or NULL after printing why. */
static struct mtls_config *
build_config(const struct options *o)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL) {
		fprintf(stderr, "mtls-server: %s\n", mtls_config_error(NULL));
		return NULL;
	}
	if (load_identities(cfg, o) != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	if (load_policy(cfg, o) != 0 || load_settings(cfg, o) != 0) {
		fprintf(stderr, "mtls-server: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	for (size_t i = 0; mtls_config_warning(cfg, i) != NULL; i++)
		fprintf(stderr, "mtls-server: warning: %s\n",
		    mtls_config_warning(cfg, i));
	return cfg;
}

/* SIGHUP: new files are checked first; on failure the old ones stay. */
static void
reload(const struct options *o)
{
	struct mtls_config *cfg = build_config(o);

	if (cfg == NULL) {
		fprintf(stderr, "mtls-server: reload failed, the previous "
		    "certificates stay in use\n");
		return;
	}
	if (mtls_server_set_config(listener, cfg) != 0) {
		fprintf(stderr, "mtls-server: reload failed, the previous "
		    "certificates stay in use: %s\n", mtls_error(listener));
	} else {
		loop_set_config(cfg);
		fprintf(stderr, "mtls-server: reloaded certificates\n");
	}
	mtls_config_free(cfg);
}

/* --proxy: a plain-HTTP backend, on loopback or a trusted network. */
static int
setup_backend(struct options *o)
{
	struct mtls_config *cfg;

	if (upstream_parse(&o->upstream, o->proxy, "http", "80",
	    "mtls-server") != 0 || upstream_resolve(&o->upstream,
	    "mtls-server") != 0)
		return -1;
	o->upstream.nonblocking = true;     /* on the event loops */
	o->upstream.connect_ms = 10000;
	if ((cfg = mtls_config_new()) == NULL ||
	    mtls_config_insecure_plaintext(cfg) != 0 ||
	    mtls_config_set_timeouts(cfg, 10000, 0,
	    (int)o->proxy_timeout * 1000) != 0) {
		fprintf(stderr, "mtls-server: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return -1;
	}
	o->upstream.cfg = cfg;
	return 0;
}

/* ------------------------------------------------------------ serving */

static const struct options *opts;

/* SIGHUP, SIGTERM and SIGINT go to the main thread alone, which waits for
 * them with sigwait: every other thread starts with them blocked. */
static void
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Until SIGTERM or SIGINT; SIGHUP reloads. */
static void
wait_for_signals(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) == 0 && sig == SIGHUP)
		reload(opts);
}

int
main(int argc, char **argv)
{
	struct options o = { .upstream.fd = -1 };
	struct mtls_config *cfg;
	sigset_t signals;
	char host[256];
	const char *port;

	parse_options(argc, argv, &o);
	if (o.verify_client != NULL && verify_client_mode(o.verify_client) < 0) {
		fprintf(stderr, "mtls-server: --verify-client takes on, optional "
		    "or optional_no_ca, not '%s'\n", o.verify_client);
		return EXIT_USAGE;
	}
	if (split_hostport(o.listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "mtls-server: --listen '%s' needs a port "
		    "(ADDR:PORT)\n", o.listen);
		return EXIT_USAGE;
	}
	if (o.proxy != NULL && setup_backend(&o) != 0)
		return EXIT_USAGE;
	if ((cfg = build_config(&o)) == NULL)
		return EXIT_CONFIG;
	if ((listener = mtls_server_new(cfg)) == NULL) {
		fprintf(stderr, "mtls-server: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return EXIT_CONFIG;
	}
	if (mtls_listen(listener, host[0] ? host : NULL, port, 0) != 0) {
		fprintf(stderr, "mtls-server: %s\n", mtls_error(listener));
		mtls_free(listener);
		mtls_config_free(cfg);
		return EXIT_LISTEN;
	}
	opts = &o;
	block_signals(&signals);
	if (loop_start(listener, cfg, (int)o.workers, &o) != 0) {
		fprintf(stderr, "mtls-server: cannot start: %s\n", strerror(errno));
		return EXIT_CONFIG;
	}
	mtls_config_free(cfg);          /* the workers hold their reference */
	printf("listening on %s:%d\n", host[0] ? host : "*",
	    mtls_local_port(listener));
	fflush(stdout);
	wait_for_signals(&signals);
	loop_stop();    /* idle connections close, answers under way finish */
	mtls_free(listener);
	mtls_config_free(o.upstream.cfg);
	return 0;
}
