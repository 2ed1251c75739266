/*
 * load.c - the load client of `make bench`, written directly on libssl
 * (not on libmtls), so that every server is measured by the same cheap
 * client: non-blocking sockets, one edge-triggered epoll loop per thread,
 * an ECDSA client certificate, TLS 1.3 only, the server verified against
 * the CA file and the host name (load_conn.c: one connection's life).
 *
 *   load [-c CONNS] [-n COUNT] [-s SECONDS] [-t THREADS] [-p PATH]
 *        [-H SECONDS] [-k] [-r] MODE HOST PORT CERT KEY CA
 *
 * MODE is one of
 *   full       a new connection, a full handshake and one GET per operation
 *   resumed    the same, resuming the session (ticket) of the slot's last
 *              connection
 *   keepalive  GETs over CONNS kept-alive connections, one in flight on each
 *   bulk       the same, also reporting MB/s of response bodies
 *   latency    GETs one after another, each on a new connection (with -k:
 *              all on one kept-alive connection)
 *   idle       CONNS connections, one GET each, held
 *   silent     CONNS plain TCP connections that send nothing, held
 * CONNS (default 1) operations run at once, shared among THREADS
 * (default 1) threads.  A warm-up does one operation on each of the CONNS
 * connections first (kept-alive ones stay open, resumed ones keep their
 * ticket); with -r the client then prints "ready" and waits for a line on
 * standard input before it starts the timed run, so that the caller can
 * read the server's CPU time then.  The timed run ends after COUNT
 * operations (default 1000), those in flight finishing too, or SECONDS
 * (default 10), whichever comes first.  It prints one line:
 *   mode=M ops=N secs=S rate=R mbps=B p50_us=A p99_us=B max_us=C
 *   cpu_us_per_op=U reused=H reconnects=K errors=E
 * (cpu: the client's own, from getrusage; reused: resumed handshakes).
 * idle and silent open their connections (at most RAMP at a time, as
 * clients arriving, so that no listen backlog overflows) for at most
 * SECONDS, or until none has opened for STALL seconds (a server at its
 * limit), print
 *   open=N failed=F pending=P secs=S p50_us=A p99_us=B
 * (pending: neither open nor refused when the opening stopped; closed)
 * and hold them until standard input ends, or for at most -H SECONDS
 * (default 300); then they print "held=N lost=L" (L: closed by the
 * server meanwhile) and close them.
 * Exit status 0; 1 when an operation failed (its reason on standard
 * error), none completed, or (idle, silent) none opened; 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* POLLRDHUP */
#endif
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lean_libctx.h"
#include "load.h"

static const char *const mode_names[] = { "full", "resumed", "keepalive",
    "bulk", "latency", "idle", "silent" };

struct load_cfg cfg = { .conns = 1, .count = 1000, .seconds = 10,
    .hold_seconds = 300, .threads = 1, .path = "/" };

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Raises the descriptor limit to its hard limit: CONNS must fit in it. */
static void
raise_nofile(long conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit");
	if ((rlim_t)conns + 16 > rl.rlim_cur) {
		fprintf(stderr, "load: %ld connections need more descriptors than "
		    "the hard limit of %llu\n", conns,
		    (unsigned long long)rl.rlim_cur);
		exit(1);
	}
}

static long
number(const char *arg, long min)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || n < min) {
		fprintf(stderr, "load: '%s': a number of at least %ld expected\n",
		    arg, min);
		exit(2);
	}
	return n;
}

static enum mode
parse_mode(const char *m)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(*mode_names); i++)
		if (strcmp(m, mode_names[i]) == 0)
			return (enum mode)i;
	fprintf(stderr, "load: unknown mode '%s'\n", m);
	exit(2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: load [-c CONNS] [-n COUNT] [-s SECONDS] "
	    "[-t THREADS] [-p PATH] [-H SECONDS] [-k] [-r]\n"
	    "            full|resumed|keepalive|bulk|latency|idle|silent "
	    "HOST PORT CERT KEY CA\n");
	exit(2);
}

/* The command line into cfg; returns the index of MODE in argv. */
static int
parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "c:n:s:t:p:H:kr")) != -1) {
		switch (c) {
		case 'c': cfg.conns = number(optarg, 1); break;
		case 'n': cfg.count = number(optarg, 1); break;
		case 's': cfg.seconds = number(optarg, 1); break;
		case 't': cfg.threads = number(optarg, 1); break;
		case 'p': cfg.path = optarg; break;
		case 'H': cfg.hold_seconds = number(optarg, 0); break;
		case 'k': cfg.keep = true; break;
		case 'r': cfg.ready = true; break;
		default: usage();
		}
	}
	if (argc - optind != 6)
		usage();
	cfg.mode = parse_mode(argv[optind]);
	if (cfg.mode == LATENCY)
		cfg.conns = cfg.threads = 1;    /* one after another */
	if (holding())
		cfg.count = cfg.conns;
	if (cfg.threads > cfg.conns)
		cfg.threads = cfg.conns;
	if (cfg.threads > cfg.count)
		cfg.threads = cfg.count;    /* each has an operation to do */
	cfg.host = argv[optind + 1];
	cfg.addr.sin_family = AF_INET;
	cfg.addr.sin_port = htons((uint16_t)number(argv[optind + 2], 1));
	if (inet_pton(AF_INET, strcmp(cfg.host, "localhost") == 0 ? "127.0.0.1" :
	    cfg.host, &cfg.addr.sin_addr) != 1) {
		fprintf(stderr, "load: HOST must be localhost or an IPv4 address\n");
		exit(2);
	}
	return optind;
}

/* Shares the connections and COUNT out among the threads. */
static struct worker *
make_workers(void)
{
	struct worker *ws = calloc((size_t)cfg.threads, sizeof(*ws));
	struct slot *slots = calloc((size_t)cfg.conns, sizeof(*slots));
	long first = 0;

	if (ws == NULL || slots == NULL)
		die("calloc");
	for (long i = 0; i < cfg.threads; i++) {
		struct worker *w = &ws[i];

		w->nslots = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
		w->count = cfg.count / cfg.threads + (i < cfg.count % cfg.threads);
		w->slots = slots + first;
		first += w->nslots;
		for (long j = 0; j < w->nslots; j++) {
			w->slots[j].w = w;
			w->slots[j].fd = -1;
		}
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    (w->lat = calloc((size_t)w->count, sizeof(*w->lat))) == NULL)
			die("setup");
	}
	return ws;
}

/* Waits for standard input: for a line (or its end), or, until_end, for
 * its end; at most SECONDS.  False when the time ran out. */
static bool
wait_input(long seconds, bool until_end)
{
	long end = now_us() + seconds * 1000000L, left;
	struct pollfd in = { .fd = 0, .events = POLLIN };
	char buf[256];
	ssize_t n;

	while ((left = (end - now_us()) / 1000) > 0) {
		if (poll(&in, 1, left > INT_MAX ? INT_MAX : (int)left) <= 0)
			continue;
		if ((n = read(0, buf, sizeof(buf))) <= 0 ||
		    (!until_end && memchr(buf, '\n', (size_t)n) != NULL))
			return true;
	}
	return false;
}

static struct worker *workers;
static pthread_barrier_t warmed, started;
static long t0;                 /* when the timed run began, µs */
static double c0;               /* the CPU time used by then, µs */

/* Between the warm-up and the timed run: with -r, says "ready" and waits
 * for a line on standard input (the bench reads the server's CPU time
 * meanwhile); then starts the clocks. */
static void
start_clocks(void)
{
	if (cfg.ready && !holding()) {
		printf("ready\n");
		fflush(stdout);
		if (!wait_input(cfg.seconds, false))
			die("no line on standard input after \"ready\"");
	}
	t0 = now_us();
	c0 = cpu_us();
	cfg.deadline_us = t0 + cfg.seconds * 1000000L;
}

/* A thread: its warm-up, then (the clocks started once all are warm) its
 * timed run. */
static void *
thread_main(void *arg)
{
	struct worker *w = arg;

	if (!holding())
		worker_warm(w);
	pthread_barrier_wait(&warmed);
	if (w == workers)
		start_clocks();
	pthread_barrier_wait(&started);
	worker_run(w);
	return NULL;
}

static void
run_workers(struct worker *ws)
{
	workers = ws;
	if (pthread_barrier_init(&warmed, NULL, (unsigned)cfg.threads) != 0 ||
	    pthread_barrier_init(&started, NULL, (unsigned)cfg.threads) != 0)
		die("pthread_barrier_init");
	for (long i = 1; i < cfg.threads; i++)
		if (pthread_create(&ws[i].thread, NULL, thread_main, &ws[i]) != 0)
			die("pthread_create");
	thread_main(&ws[0]);
	for (long i = 1; i < cfg.threads; i++)
		pthread_join(ws[i].thread, NULL);
	pthread_barrier_destroy(&warmed);
	pthread_barrier_destroy(&started);
}

/* The threads' totals into ws[0]; their times sorted in *lat. */
static long
gather(struct worker *ws, long **lat)
{
	long timed = 0;

	if ((*lat = malloc((size_t)cfg.count * sizeof(**lat))) == NULL)
		die("malloc");
	for (long i = 0; i < cfg.threads; i++) {
		long n = ws[i].ops < ws[i].count ? ws[i].ops : ws[i].count;

		memcpy(*lat + timed, ws[i].lat, (size_t)n * sizeof(**lat));
		timed += n;
		if (i == 0)
			continue;
		ws[0].ops += ws[i].ops;
		ws[0].errors += ws[i].errors;
		ws[0].reused += ws[i].reused;
		ws[0].reconnects += ws[i].reconnects;
		ws[0].body_bytes += ws[i].body_bytes;
	}
	qsort(*lat, (size_t)timed, sizeof(**lat), cmp_long);
	return timed;
}

/* Closes every connection of ws; frees what the run allocated. */
static void
close_all(struct worker *ws)
{
	for (long i = 0; i < cfg.conns; i++) {
		slot_close(&ws[0].slots[i]);
		SSL_SESSION_free(ws[0].slots[i].session);
	}
	for (long i = 0; i < cfg.threads; i++) {
		close(ws[i].ep);
		free(ws[i].lat);
		X509_free(ws[i].verified);
	}
	free(ws[0].slots);
	free(ws);
}

/* How many held connections the server closed meanwhile. */
static long
count_lost(struct slot *slots, long n)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	long lost = 0;

	if (p == NULL)
		die("calloc");
	for (long i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = slots[i].stage == HELD ?
		    slots[i].fd : -1, .events = POLLRDHUP };
	poll(p, (nfds_t)n, 0);
	for (long i = 0; i < n; i++)
		lost += (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
	free(p);
	return lost;
}

/* idle, silent: says how many opened, holds them (not those still
 * opening when time ran out), says how many stayed open. */
static int
report_held(struct worker *ws, long *lat, long timed, double secs)
{
	long open = 0, failed = ws[0].errors;    /* the threads' (gather) */

	for (long i = 0; i < cfg.conns; i++) {
		struct slot *s = &ws[0].slots[i];

		if (s->stage == HELD && s->fd >= 0)
			open++;
		else
			slot_close(s);
	}
	printf("open=%ld failed=%ld pending=%ld secs=%.3f p50_us=%ld "
	    "p99_us=%ld\n", open, failed, cfg.conns - open - failed, secs,
	    timed > 0 ? lat[timed / 2] : 0,
	    timed > 0 ? lat[timed * 99 / 100] : 0);
	fflush(stdout);
	wait_input(cfg.hold_seconds, true);   /* until released */
	printf("held=%ld lost=%ld\n", open, count_lost(ws[0].slots, cfg.conns));
	return open > 0 ? 0 : 1;
}

static int
report(struct worker *ws, long *lat, long timed, double secs, double cpu)
{
	struct worker *t = &ws[0];

	printf("mode=%s ops=%ld secs=%.3f rate=%.1f mbps=%.1f p50_us=%ld "
	    "p99_us=%ld max_us=%ld cpu_us_per_op=%.1f reused=%ld reconnects=%ld "
	    "errors=%ld\n", mode_names[cfg.mode], t->ops, secs, t->ops / secs,
	    t->body_bytes / secs / 1e6, timed > 0 ? lat[timed / 2] : 0,
	    timed > 0 ? lat[timed * 99 / 100] : 0, timed > 0 ? lat[timed - 1] : 0,
	    t->ops > 0 ? cpu / t->ops : 0, t->reused, t->reconnects, t->errors);
	return t->errors == 0 && t->ops > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	long *lat, timed;
	double secs;
	int i = parse_args(argc, argv), rc;

	signal(SIGPIPE, SIG_IGN);       /* a server gone: an error, not death */
	raise_nofile(cfg.conns);
	setup_ctx(argv[i + 3], argv[i + 4], argv[i + 5]);
	cfg.request_len = (size_t)snprintf(cfg.request, sizeof(cfg.request),
	    "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", cfg.path, cfg.host,
	    fresh() ? "Connection: close\r\n" : "");
	if (cfg.request_len >= sizeof(cfg.request)) {
		fprintf(stderr, "load: PATH too long\n");
		return 2;
	}
	ws = make_workers();
	run_workers(ws);
	secs = (now_us() - t0) / 1e6;
	timed = gather(ws, &lat);
	if (holding())
		rc = report_held(ws, lat, timed, secs);
	else
		rc = report(ws, lat, timed, secs, cpu_us() - c0);
	close_all(ws);
	free(lat);
	SSL_CTX_free(cfg.ctx);
	lean_libctx_free();
	return rc;
}
