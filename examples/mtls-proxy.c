/*
 * mtls-proxy - a forward proxy for applications that cannot do mTLS: it
 * listens for plain HTTP on loopback and forwards each request to one
 * mTLS upstream, presenting the client certificate (nginx's proxy_pass
 * https://... with proxy_ssl_certificate), keeping upstream connections
 * alive and resuming TLS sessions.  With --send-proxy-v2 each upstream
 * connection begins with a PROXY protocol v2 header naming the local
 * client, as HAProxy's send-proxy-v2.
 *
 * Exit status: 0 after SIGTERM or SIGINT, 1 usage, 2 configuration,
 * 3 cannot listen.  See mtls-proxy(1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "http-relay.h"

enum { EXIT_USAGE = 1, EXIT_CONFIG = 2, EXIT_LISTEN = 3 };

struct options {
	const char *listen, *upstream, *cert, *key, *pass, *p12, *cacert;
	const char *capath, *name;
	long max_connections;
	long watch_ms;              /* --watch, in ms; 0: not watched */
	int listen_any;
	int send_proxy_v2;          /* HAProxy's send-proxy-v2 */
};

static struct options opts;
static struct upstream upstream_template;
static struct mtls *listener;
static volatile sig_atomic_t stop_wanted;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long open_connections;   /* atomic */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mtls-proxy --listen 127.0.0.1:PORT --upstream https://HOST[:PORT]\n"
	    "         (--cert FILE [--key FILE] [--pass PASS] | --p12 FILE[:PASSWORD])\n"
	    "         (--cacert FILE | --capath DIR) [--name VERIFYNAME]\n"
	    "         [--max-connections N] [--watch SECONDS] "
	    "[--insecure-listen-any] [--send-proxy-v2]\n");
	exit(EXIT_USAGE);
}

static const char **
string_slot(const char *opt)
{
	static const char *const names[] = { "--listen", "--upstream", "--cert",
	    "--key", "--pass", "--p12", "--cacert", "--capath", "--name" };
	const char **slots[] = { &opts.listen, &opts.upstream, &opts.cert,
	    &opts.key, &opts.pass, &opts.p12, &opts.cacert, &opts.capath,
	    &opts.name };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(opt, names[i]) == 0)
			return slots[i];
	return NULL;
}

/* --watch: seconds, a fraction allowed (0.25), as milliseconds from 1 ms
 * to an hour. */
static long
watch_ms(const char *val)
{
	char *end;
	double seconds = strtod(val, &end);

	if (end == val || *end != '\0' || !(seconds >= 0.001) ||
	    seconds > 3600) {
		fprintf(stderr, "mtls-proxy: --watch takes 0.001 to 3600 seconds "
		    "(1, 0.25), not '%s'\n", val);
		exit(EXIT_USAGE);
	}
	return (long)(seconds * 1000 + 0.5);
}

static void
parse_options(int argc, char **argv)
{
	opts.max_connections = 1024;
	for (int i = 1; i < argc; i++) {
		const char **slot = string_slot(argv[i]);

		if (!strcmp(argv[i], "--insecure-listen-any"))
			opts.listen_any = 1;
		else if (!strcmp(argv[i], "--send-proxy-v2"))
			opts.send_proxy_v2 = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage();
		else if (i + 1 >= argc)
			usage();
		else if (slot != NULL)
			*slot = argv[++i];
		else if (!strcmp(argv[i], "--max-connections"))
			opts.max_connections = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--watch"))
			opts.watch_ms = watch_ms(argv[++i]);
		else {
			fprintf(stderr, "mtls-proxy: unknown option '%s'\n", argv[i]);
			usage();
		}
	}
	if (opts.listen == NULL || opts.upstream == NULL ||
	    (opts.cert == NULL && opts.p12 == NULL) ||
	    (opts.cacert == NULL && opts.capath == NULL))
		usage();
}

/* ----------------------------------------------------------- configs */

/* --watch: each reload of our certificate's files, and each set refused
 * (once), is logged; called by the thread whose new upstream connection
 * found the change. */
static void
files_reloaded(struct mtls_config *cfg, int ok, const char *message,
    void *arg)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "mtls-proxy: --watch: %s\n", message);
	pthread_mutex_unlock(&log_lock);
}

/* The upstream side: our certificate, the CA that signed the upstream's;
 * with --watch, reloaded when their files change (the local side, plain
 * HTTP, has no files).  New upstream connections use the new files;
 * kept-alive ones keep theirs until they close. */
static struct mtls_config *
upstream_config(void)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL)
		return NULL;
	if (load_identity(cfg, opts.cert, opts.key, opts.pass, opts.p12) != 0 ||
	    (opts.cacert != NULL && mtls_config_set_ca_file(cfg, opts.cacert) != 0) ||
	    (opts.capath != NULL && mtls_config_set_ca_path(cfg, opts.capath) != 0) ||
	    mtls_config_set_timeouts(cfg, 10000, 10000, 60000) != 0 ||
	    (opts.watch_ms > 0 && (mtls_config_watch_files(cfg,
	    (int)opts.watch_ms) != 0 || mtls_config_set_reload_callback(cfg,
	    files_reloaded, NULL) != 0))) {
		fprintf(stderr, "mtls-proxy: %s\n", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* The local side: plain HTTP, which is why it stays on loopback. */
static struct mtls_config *
local_config(void)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL || mtls_config_insecure_plaintext(cfg) != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ------------------------------------------------------------ address */

/* Whoever reaches a plain listener speaks with our certificate: only
 * loopback addresses, unless --insecure-listen-any. */
static bool
loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* ------------------------------------------------------------ serving */

static void
log_line(struct mtls_http_req *req, int status, unsigned long long bytes)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z",
	    localtime_r(&now, &tm));
	pthread_mutex_lock(&log_lock);
	printf("[%s] \"%s %s %s\" %d %llu upstream=%s:%s\n", when,
	    mtls_http_req_method(req), mtls_http_req_target(req),
	    mtls_http_req_version(req), status, bytes, upstream_template.host,
	    upstream_template.port);
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

static void *
connection_main(void *arg)
{
	struct mtls *c = arg;
	struct upstream u = upstream_template;  /* its own upstream connection */
	struct mtls_http_req *req;
	unsigned long long bytes;
	int rc, status = 0;

	/* The upstream learns who the client is before anything else. */
	if (opts.send_proxy_v2)
		upstream_proxy_v2(&u, mtls_fd(c));
	while ((rc = mtls_http_read_request(c, 0, &req)) == 1) {
		status = relay(&u, req, NULL, NULL, &bytes, "mtls-proxy");
		log_line(req, status, bytes);
		mtls_http_req_free(req);
		if (status < 0)
			break;
	}
	if (rc < 0 && mtls_error(c) != NULL)
		fprintf(stderr, "mtls-proxy: %s\n", mtls_error(c));
	upstream_close(&u);
	mtls_close(c);
	mtls_free(c);
	__atomic_sub_fetch(&open_connections, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
dispatch(struct mtls *c, pthread_attr_t *attr)
{
	pthread_t t;

	if (__atomic_add_fetch(&open_connections, 1, __ATOMIC_RELAXED) <=
	    opts.max_connections && pthread_create(&t, attr, connection_main,
	    c) == 0)
		return;
	fprintf(stderr, "mtls-proxy: over %ld connections, or no thread: one "
	    "dropped\n", opts.max_connections);
	mtls_free(c);
	__atomic_sub_fetch(&open_connections, 1, __ATOMIC_RELAXED);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_wanted = 1;
	mtls_wake(listener);
}

static void
serve(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_attr_t attr;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (!stop_wanted) {
		struct mtls *c;

		if (mtls_accept(listener, &c) == 0)
			dispatch(c, &attr);
		else if (mtls_error_code(listener) != MTLS_ERR_WOKEN)
			fprintf(stderr, "mtls-proxy: %s\n", mtls_error(listener));
	}
	pthread_attr_destroy(&attr);
	for (int i = 0; i < 200 &&
	    __atomic_load_n(&open_connections, __ATOMIC_RELAXED) > 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
}

static int
start(const char *host, const char *port)
{
	struct mtls_config *local = local_config();

	if (local == NULL || (listener = mtls_server_new(local)) == NULL) {
		fprintf(stderr, "mtls-proxy: out of memory\n");
		mtls_config_free(local);
		return EXIT_CONFIG;
	}
	mtls_config_free(local);
	if (mtls_listen(listener, host, port, 0) != 0) {
		fprintf(stderr, "mtls-proxy: %s\n", mtls_error(listener));
		return EXIT_LISTEN;
	}
	printf("listening on %s:%d, forwarding to https://%s:%s\n", host,
	    mtls_local_port(listener), upstream_template.host,
	    upstream_template.port);
	fflush(stdout);
	serve();
	return 0;
}

int
main(int argc, char **argv)
{
	char host[256];
	const char *port;
	int status;

	parse_options(argc, argv);
	if (split_hostport(opts.listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "mtls-proxy: --listen '%s' needs a port "
		    "(127.0.0.1:PORT)\n", opts.listen);
		return EXIT_USAGE;
	}
	if (!loopback(host) && !opts.listen_any) {
		fprintf(stderr, "mtls-proxy: --listen %s is not a loopback address: "
		    "whoever reaches a plain listener speaks with your certificate "
		    "(--insecure-listen-any allows it)\n", host);
		return EXIT_USAGE;
	}
	if (upstream_parse(&upstream_template, opts.upstream, "https", "443",
	    "mtls-proxy") != 0)
		return EXIT_USAGE;
	upstream_template.verify_name = opts.name;
	if ((upstream_template.cfg = upstream_config()) == NULL)
		return EXIT_CONFIG;
	status = start(host, port);
	mtls_free(listener);
	mtls_config_free(upstream_template.cfg);
	return status;
}
