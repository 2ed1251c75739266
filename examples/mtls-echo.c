/*
 * mtls-echo - the demo and test peer of libmtls: a server that greets each
 * client by its certificate, and a client that prints whom it reached.
 *
 *   mtls-echo server --listen HOST:PORT --cert FILE [--key FILE] [--pass P]
 *                    [--p12 FILE[:PASSWORD]] --cacert FILE [--count N]
 *   mtls-echo client --connect HOST:PORT [--cert FILE] [--key FILE] [--pass P]
 *                    [--p12 FILE[:PASSWORD]] --cacert FILE [--name NAME]
 *                    [--http] [--message TEXT]
 *
 * Exit status: 0 ok, 1 usage, 2 configuration, 3 connect, 4 TLS handshake
 * or verification, 5 I/O after the handshake.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mtls.h>

#include "common.h"

enum { EXIT_USAGE = 1, EXIT_CONFIG, EXIT_CONNECT, EXIT_TLS, EXIT_IO };

#define MAX_TICKET_KEYS 4

struct options {
	const char *mode, *addr, *cert, *key, *pass, *p12, *cacert, *name, *msg;
	const char *verify_client;
	const char *ticket_keys[MAX_TICKET_KEYS];
	int ticket_key_count;
	long tickets;               /* -1: the library's default */
	int http, insecure_identity;
	long count;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mtls-echo server --listen HOST:PORT --cert FILE [--key FILE]\n"
	    "                 [--pass PASS] [--p12 FILE[:PASSWORD]] --cacert FILE [--count N]\n"
	    "                 [--verify-client on|optional|optional_no_ca]\n"
	    "                 [--tickets N] [--ticket-key FILE]...\n"
	    "       mtls-echo client --connect HOST:PORT [--cert FILE] [--key FILE]\n"
	    "                 [--pass PASS] [--p12 FILE[:PASSWORD]] --cacert FILE\n"
	    "                 [--name NAME] [--http] [--message TEXT]\n"
	    "       either: [--insecure-identity] presents a certificate peers "
	    "will refuse\n");
	exit(EXIT_USAGE);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int i;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
		usage();
	o->mode = argv[1];
	o->msg = "hello";
	o->tickets = -1;
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = !strcmp(opt, "--listen") ||
		    !strcmp(opt, "--connect") ? &o->addr :
		    !strcmp(opt, "--cert") ? &o->cert : !strcmp(opt, "--key") ? &o->key :
		    !strcmp(opt, "--pass") ? &o->pass : !strcmp(opt, "--p12") ? &o->p12 :
		    !strcmp(opt, "--cacert") ? &o->cacert :
		    !strcmp(opt, "--name") ? &o->name :
		    !strcmp(opt, "--message") ? &o->msg : NULL;

		if (!strcmp(opt, "--http")) {
			o->http = 1;
		} else if (!strcmp(opt, "--insecure-identity")) {
			o->insecure_identity = 1;
		} else if (!strcmp(opt, "--count") && val != NULL) {
			o->count = strtol(val, NULL, 10);
			i++;
		} else if (!strcmp(opt, "--tickets") && val != NULL) {
			o->tickets = strtol(val, NULL, 10);
			i++;
		} else if (!strcmp(opt, "--verify-client") && val != NULL) {
			o->verify_client = val;
			i++;
		} else if (!strcmp(opt, "--ticket-key") && val != NULL &&
		    o->ticket_key_count < MAX_TICKET_KEYS) {
			o->ticket_keys[o->ticket_key_count++] = val;
			i++;
		} else if (slot != NULL && val != NULL) {
			*slot = val;
			i++;
		} else {
			fprintf(stderr, "mtls-echo: unknown or incomplete option '%s'\n", opt);
			usage();
		}
	}
	if (o->addr == NULL || o->cacert == NULL)
		usage();
}

/* "host:port", "[::1]:port": exits on an address without a port. */
static void
split_addr(const char *addr, char *host, size_t len, const char **port)
{
	if (split_hostport(addr, host, len, port) == 0)
		return;
	fprintf(stderr, "mtls-echo: address '%s' needs a port (HOST:PORT)\n",
	    addr);
	exit(EXIT_USAGE);
}

/* nginx's ssl_verify_client values; exits on another. */
static int
verify_client_option(const char *value)
{
	int mode = verify_client_mode(value);

	if (mode >= 0)
		return mode;
	fprintf(stderr, "mtls-echo: --verify-client takes on, optional or "
	    "optional_no_ca, not '%s'\n", value);
	exit(EXIT_USAGE);
}

static int
server_options(struct mtls_config *cfg, const struct options *o)
{
	int i, rc = 0;

	if (o->verify_client != NULL)
		rc = mtls_config_set_verify_client(cfg,
		    verify_client_option(o->verify_client));
	if (rc == 0 && o->tickets >= 0)
		rc = mtls_config_set_session_tickets(cfg, (int)o->tickets);
	for (i = 0; rc == 0 && i < o->ticket_key_count; i++)
		rc = mtls_config_add_ticket_key_file(cfg, o->ticket_keys[i]);
	return rc;
}

static struct mtls_config *
make_config(const struct options *o)
{
	struct mtls_config *cfg = mtls_config_new();
	int rc = 0;

	if (cfg == NULL) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_config_error(NULL));
		exit(EXIT_CONFIG);
	}
	/* To probe how peers treat a bad certificate, present it anyway. */
	if (o->insecure_identity)
		mtls_config_insecure_allow_bad_identity(cfg);
	if (o->p12 != NULL || o->cert != NULL)
		rc = load_identity(cfg, o->cert, o->key, o->pass, o->p12);
	if (rc == 0)
		rc = mtls_config_set_ca_file(cfg, o->cacert);
	if (rc == 0)
		rc = server_options(cfg, o);
	if (rc != 0) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		exit(EXIT_CONFIG);
	}
	return cfg;
}

static void
print_peer(struct mtls *c)
{
	printf("peer: subject=%s issuer=%s verified=%s version=%s cipher=%s "
	    "resumed=%s\n",
	    mtls_peer_subject(c) ? mtls_peer_subject(c) : "(none)",
	    mtls_peer_issuer(c) ? mtls_peer_issuer(c) : "(none)",
	    mtls_peer_cert_verified(c) ? "yes" : "no", mtls_conn_version(c),
	    mtls_conn_cipher(c), mtls_conn_session_resumed(c) ? "yes" : "no");
	fflush(stdout);
}

static int
exit_for_error(int code)
{
	switch (code) {
	case MTLS_ERR_RESOLVE:
	case MTLS_ERR_CONNECT:
		return EXIT_CONNECT;
	case MTLS_ERR_TRUNCATED:
	case MTLS_ERR_CLOSED:
	case MTLS_ERR_IO:
	case MTLS_ERR_TLS:
		return EXIT_IO;
	default:
		return EXIT_TLS;
	}
}

/* ------------------------------------------------------------- server */

static int
is_http(const char *req)
{
	static const char *const methods[] = { "GET ", "POST ", "HEAD ", "PUT ",
	    "DELETE ", "OPTIONS ", "PATCH " };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strncmp(req, methods[i], strlen(methods[i])) == 0)
			return 1;
	return 0;
}

static void
answer(struct mtls *c, char *req)
{
	const char *cn = mtls_peer_common_name(c) ? mtls_peer_common_name(c) :
	    "stranger";
	char body[512], reply[5120];

	req[strcspn(req, "\r\n")] = '\0';
	if (is_http(req)) {
		snprintf(body, sizeof(body), "hello %s\n", cn);
		snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    strlen(body), body);
	} else {
		snprintf(reply, sizeof(reply), "hello %s, you said: %s\n", cn, req);
	}
	if (mtls_write(c, reply, strlen(reply)) < 0)
		fprintf(stderr, "mtls-echo: %s\n", mtls_error(c));
}

static void *
serve(void *arg)
{
	struct mtls *c = arg;
	char req[4096];
	ssize_t n;

	if (mtls_handshake(c) != 0) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_error(c));
		mtls_free(c);
		return NULL;
	}
	print_peer(c);
	n = mtls_read(c, req, sizeof(req) - 1);
	if (n < 0) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_error(c));
	} else {
		req[n] = '\0';
		answer(c, req);
	}
	mtls_close(c);
	mtls_free(c);
	return NULL;
}

static int
run_server(const struct options *o)
{
	struct mtls_config *cfg = make_config(o);
	struct mtls *srv = mtls_server_new(cfg);
	pthread_t *threads;
	char host[256];
	const char *port;
	long i, limit = o->count > 0 ? o->count : 0;

	if (srv == NULL) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return EXIT_CONFIG;
	}
	split_addr(o->addr, host, sizeof(host), &port);
	if (mtls_listen(srv, host, port, 0) != 0) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_error(srv));
		mtls_free(srv);
		mtls_config_free(cfg);
		return EXIT_CONNECT;
	}
	printf("listening on %s:%d\n", host, mtls_local_port(srv));
	fflush(stdout);
	threads = calloc(limit > 0 ? (size_t)limit : 1, sizeof(*threads));
	for (i = 0; limit == 0 || i < limit; i++) {
		struct mtls *c;
		pthread_t t;

		if (mtls_accept(srv, &c) != 0) {
			fprintf(stderr, "mtls-echo: %s\n", mtls_error(srv));
			continue;
		}
		/* Each connection handshakes in its own thread: a silent client
		 * holds up nobody. */
		if (pthread_create(&t, NULL, serve, c) != 0) {
			mtls_free(c);
			continue;
		}
		if (limit > 0)
			threads[i] = t;
		else
			pthread_detach(t);
	}
	for (i = 0; i < limit; i++)
		if (threads[i])
			pthread_join(threads[i], NULL);
	free(threads);
	mtls_free(srv);
	mtls_config_free(cfg);
	return 0;
}

/* ------------------------------------------------------------- client */

/* Prints c's error and returns the exit status it calls for. */
static int
report(struct mtls *c)
{
	fprintf(stderr, "mtls-echo: %s\n", mtls_error(c));
	return exit_for_error(mtls_error_code(c));
}

static int
talk(struct mtls *c, const struct options *o, const char *host)
{
	char buf[4096];
	ssize_t n;

	print_peer(c);
	if (o->http)
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n"
		    "Connection: close\r\n\r\n", host);
	else
		snprintf(buf, sizeof(buf), "%s\n", o->msg);
	if (mtls_write(c, buf, strlen(buf)) < 0)
		return report(c);
	while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	if (n < 0)
		return report(c);
	mtls_close(c);
	return 0;
}

static int
run_client(const struct options *o)
{
	struct mtls_config *cfg = make_config(o);
	struct mtls *c = mtls_client_new(cfg);
	char host[256];
	const char *port;
	int status;

	if (c == NULL) {
		fprintf(stderr, "mtls-echo: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return EXIT_CONFIG;
	}
	split_addr(o->addr, host, sizeof(host), &port);
	if ((o->name != NULL && mtls_set_verify_name(c, o->name) != 0) ||
	    mtls_connect(c, host, port) != 0)
		status = report(c);
	else
		status = talk(c, o, host);
	mtls_free(c);
	mtls_config_free(cfg);
	return status;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };

	parse_options(argc, argv, &o);
	return strcmp(o.mode, "server") == 0 ? run_server(&o) : run_client(&o);
}
