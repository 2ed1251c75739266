/*
 * load.c - the load client of `make bench`, written directly on libssl
 * (not on libmtls), so that every server is measured with the same cheap
 * client: one thread, one epoll loop, non-blocking sockets, a client
 * certificate, TLS 1.3.
 *
 *   load MODE HOST PORT CERT KEY CA PATH COUNT SECONDS CONNS
 *
 * MODE is one of
 *   full       a new connection, a full handshake and one GET per operation
 *   resumed    the same, resuming the session of the slot's last connection
 *   keepalive  GETs on CONNS kept-alive connections, one in flight on each
 *   bulk       the same, reporting MB/s of body
 *   idle       CONNS connections, one GET each, held until standard input
 *              ends (prints "open N" once they are)
 *   silent     CONNS plain TCP connections that send nothing, held the same
 * CONNS operations run at once (full, resumed: that many slots).  A run
 * ends after COUNT operations or SECONDS.  It prints one line:
 *   ops=N secs=S rate=R mbps=M p50_us=A p99_us=B cpu_us_per_op=C errors=E
 * (cpu: the client's own, from getrusage).  Exit status 0, or 1 when an
 * operation failed (its reason on standard error) or none completed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum mode { FULL, RESUMED, KEEPALIVE, BULK, IDLE, SILENT };
enum stage { CONNECTING, HANDSHAKE, SENDING, RECEIVING };

struct slot {
	int fd;
	SSL *ssl;
	SSL_SESSION *session;       /* resumed: the last connection's */
	enum stage stage;
	char buf[16384];
	size_t got, head_len;
	long long body_left;        /* -1: head not read yet */
	long start_us;
	size_t sent;
};

static enum mode mode;
static const char *path;
static struct sockaddr_in addr;
static SSL_CTX *ctx;
static int ep;
static char request[512];
static size_t request_len;
static long ops, errors, count, *lat;
static unsigned long long body_bytes;
static const char *host;
/* Held connections (idle, silent) open RAMP at a time, as clients arrive,
 * not all at once: a burst of thousands overflows any listen backlog. */
#define RAMP 256
static struct slot *slots;
static long nslots, started;

static long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, errno ? strerror(errno) : "");
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
setup_ctx(const char *cert, const char *key, const char *ca)
{
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("TLS setup");
	/* The servers are the bench's own, on loopback: not verifying
	 * them keeps the client cheaper than any of them per handshake. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

static void
watch(struct slot *s, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(ep, op, s->fd, &ev) != 0)
		die("epoll_ctl");
}

/* A new TCP connection for s (and, but for silent, its TLS object). */
static void
slot_connect(struct slot *s)
{
	int one = 1;

	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		die("socket");
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
	    errno != EINPROGRESS)
		die("connect");
	s->stage = CONNECTING;
	s->start_us = now_us();
	s->sent = s->got = 0;
	s->body_left = -1;
	watch(s, EPOLLOUT, EPOLL_CTL_ADD);
	if (mode == SILENT)
		return;
	if ((s->ssl = SSL_new(ctx)) == NULL)
		die("SSL_new");
	SSL_set_fd(s->ssl, s->fd);
	SSL_set_tlsext_host_name(s->ssl, host);
	SSL_set1_host(s->ssl, host);
	if (mode == RESUMED && s->session != NULL)
		SSL_set_session(s->ssl, s->session);
}

/* The next held connection, if any is left to open. */
static void
start_next(void)
{
	if (started < nslots)
		slot_connect(&slots[started++]);
}

static void
slot_close(struct slot *s)
{
	if (s->ssl != NULL) {
		if (mode == RESUMED) {
			SSL_SESSION_free(s->session);
			s->session = SSL_get1_session(s->ssl);
		}
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	close(s->fd);       /* also takes it out of the epoll set */
	s->fd = -1;
}

static void
fail(struct slot *s, const char *what, const char *why)
{
	const char *reason = ERR_reason_error_string(ERR_peek_error());

	errors++;
	fprintf(stderr, "load: %s: %s\n", what, why != NULL ? why :
	    reason != NULL ? reason : strerror(errno));
	ERR_clear_error();
	slot_close(s);
}

/* Waits for what SSL wants, or fails; 1 when the step must wait. */
static int
want(struct slot *s, int rc, const char *what)
{
	int err = SSL_get_error(s->ssl, rc);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		watch(s, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
		    EPOLL_CTL_MOD);
		return 1;
	}
	fail(s, what, err == SSL_ERROR_ZERO_RETURN || (err ==
	    SSL_ERROR_SYSCALL && errno == 0) ? "the server closed the "
	    "connection" : NULL);
	return 0;
}

/* How much of the response is in s->buf: the head parsed when whole. */
static void
parse_head(struct slot *s)
{
	char *end, *cl;

	s->buf[s->got < sizeof(s->buf) ? s->got : sizeof(s->buf) - 1] = '\0';
	if ((end = strstr(s->buf, "\r\n\r\n")) == NULL)
		return;
	s->head_len = (size_t)(end + 4 - s->buf);
	cl = strcasestr(s->buf, "\r\ncontent-length:");
	s->body_left = cl != NULL && cl < end ? atoll(cl + 17) : 0;
	s->body_left -= (long long)(s->got - s->head_len);
}

/* One response read whole: counted, and the next operation begins. */
static void
op_done(struct slot *s)
{
	if (ops < count)
		lat[ops] = now_us() - s->start_us;
	ops++;
	if (mode == IDLE) {
		start_next();   /* this one is held */
		return;
	}
	if (mode == FULL || mode == RESUMED) {
		slot_close(s);
		if (ops < count)
			slot_connect(s);
		return;
	}
	s->stage = SENDING;
	s->sent = s->got = 0;
	s->body_left = -1;
	s->start_us = now_us();
}

/* Drives s as far as it goes without waiting. */
static void
step(struct slot *s)
{
	int rc, err;
	socklen_t len = sizeof(err);

	for (;;) {
		switch (s->stage) {
		case CONNECTING:
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
			    err != 0) {
				errno = err;
				fail(s, "connect", NULL);
				return;
			}
			if (mode == SILENT) {
				ops++;
				watch(s, 0, EPOLL_CTL_MOD);
				start_next();
				return;
			}
			s->stage = HANDSHAKE;
			break;
		case HANDSHAKE:
			if ((rc = SSL_connect(s->ssl)) != 1)
				return (void)want(s, rc, "handshake");
			s->stage = SENDING;
			break;
		case SENDING:
			rc = SSL_write(s->ssl, request + s->sent,
			    (int)(request_len - s->sent));
			if (rc <= 0)
				return (void)want(s, rc, "write");
			if ((s->sent += (size_t)rc) == request_len)
				s->stage = RECEIVING;
			break;
		case RECEIVING:
		default:
			rc = SSL_read(s->ssl, s->body_left < 0 ? s->buf + s->got :
			    s->buf, s->body_left < 0 ? (int)(sizeof(s->buf) - 1 -
			    s->got) : (int)sizeof(s->buf));
			if (rc <= 0)
				return (void)want(s, rc, "read");
			if (s->body_left < 0) {
				s->got += (size_t)rc;
				parse_head(s);
				if (s->body_left < 0 && s->got >= sizeof(s->buf) - 1) {
					fail(s, "read", "response head too long");
					return;
				}
				if (s->body_left >= 0)
					body_bytes += s->got - s->head_len;
			} else {
				s->body_left -= rc;
				body_bytes += (unsigned long long)rc;
			}
			if (s->body_left == 0) {
				op_done(s);
				if (s->fd < 0 || mode == IDLE)
					return;
			}
			break;
		}
	}
}

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

/* Raises the descriptor limit to its hard limit: conns must fit. */
static void
raise_nofile(long conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rlim_t)conns + 16 > rl.rlim_cur) {
		fprintf(stderr, "load: %ld connections need more descriptors than "
		    "the limit of %llu\n", conns, (unsigned long long)rl.rlim_cur);
		exit(1);
	}
}

static enum mode
parse_mode(const char *m)
{
	static const char *const names[] = { "full", "resumed", "keepalive",
	    "bulk", "idle", "silent" };

	for (int i = 0; i < 6; i++)
		if (strcmp(m, names[i]) == 0)
			return (enum mode)i;
	fprintf(stderr, "load: unknown mode '%s'\n", m);
	exit(2);
}

/* Runs the loop until COUNT operations, or SECONDS, or (idle, silent)
 * until every connection is open. */
static void
run(long conns, long deadline_us)
{
	struct epoll_event evs[256];
	bool hold = mode == IDLE || mode == SILENT;

	while ((hold ? ops < conns : ops < count) && now_us() < deadline_us) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			if (s->fd >= 0)
				step(s);
		}
		if (!hold && errors > 0)
			break;
		for (long i = 0; hold && i < started; i++)
			if (slots[i].fd < 0) {
				fprintf(stderr, "load: connection %ld lost\n", i);
				exit(1);
			}
	}
}

int
main(int argc, char **argv)
{
	long conns, seconds, t0, timed;
	double c0, secs;

	if (argc != 11) {
		fprintf(stderr, "usage: load MODE HOST PORT CERT KEY CA PATH COUNT "
		    "SECONDS CONNS\n");
		return 2;
	}
	mode = parse_mode(argv[1]);
	signal(SIGPIPE, SIG_IGN);       /* a server gone: an error, not death */
	host = argv[2];
	path = argv[7];
	count = atol(argv[8]);
	seconds = atol(argv[9]);
	conns = atol(argv[10]);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[3]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	raise_nofile(conns);
	setup_ctx(argv[4], argv[5], argv[6]);
	request_len = (size_t)snprintf(request, sizeof(request), "GET %s "
	    "HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, host, mode == FULL ||
	    mode == RESUMED ? "Connection: close\r\n" : "");
	if ((ep = epoll_create1(0)) < 0 ||
	    (slots = calloc((size_t)conns, sizeof(*slots))) == NULL ||
	    (lat = calloc((size_t)count + 1, sizeof(*lat))) == NULL)
		die("setup");
	t0 = now_us();
	c0 = cpu_us();
	nslots = conns;
	while (started < conns && (started < RAMP ||
	    (mode != IDLE && mode != SILENT)))
		start_next();
	run(conns, t0 + seconds * 1000000L);
	secs = (now_us() - t0) / 1e6;
	if (mode == IDLE || mode == SILENT) {
		char line[64];

		printf("open %ld\n", ops);
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin) != NULL)
			;
		return ops == conns ? 0 : 1;
	}
	/* The times kept: of the first COUNT operations (more may finish,
	 * when CONNS were in flight at the end). */
	timed = ops < count ? ops : count;
	qsort(lat, (size_t)timed, sizeof(*lat), cmp_long);
	printf("ops=%ld secs=%.3f rate=%.1f mbps=%.1f p50_us=%ld p99_us=%ld "
	    "cpu_us_per_op=%.1f errors=%ld\n", ops, secs, ops / secs,
	    body_bytes / secs / 1e6, timed > 0 ? lat[timed / 2] : 0,
	    timed > 0 ? lat[(timed * 99) / 100] : 0,
	    ops > 0 ? (cpu_us() - c0) / ops : 0, errors);
	return errors == 0 && ops > 0 ? 0 : 1;
}
