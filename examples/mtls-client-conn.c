/*
 * mtls-client-conn.c - mtls-client's connection: the TCP connection made
 * here, timed for -w (name lookup, connect) and with the addresses it
 * used, to the URL's host, to --connect-to's, to --resolve's address, to
 * a --unix-socket, or through an HTTP proxy's CONNECT tunnel (-x, or
 * https_proxy and no_proxy as curl reads them); then the TLS handshake by
 * libmtls over that socket (mtls_connect_socket), under a timer that
 * bounds --connect-timeout and --max-time.  Each failure is reported
 * once, with curl's exit code.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <mtls.h>

#include "common.h"
#include "mtls-client.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* curl's default bound of the connection phase (TCP and TLS). */
#define DEFAULT_CONNECT_MS 300000L
#define MAX_PROXY_HEAD 16384

/* ------------------------------------------------------------ the timer */

static struct mtls *volatile timer_conn;
static volatile sig_atomic_t timer_fired;

/* mtls_wake is async-signal-safe: the blocked call returns MTLS_ERR_WOKEN. */
static void
on_timer(int sig)
{
	(void)sig;
	timer_fired = 1;
	if (timer_conn != NULL)
		mtls_wake(timer_conn);
}

/* Arms the one timer to fire at deadline (a monotonic_ms() value), or
 * disarms it for -1. */
void
arm_timer(long deadline)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	timer_fired = 0;
	if (deadline >= 0) {
		long left = deadline - monotonic_ms();

		left = left < 1 ? 1 : left;
		it.it_value.tv_sec = left / 1000;
		it.it_value.tv_usec = (left % 1000) * 1000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

/* The deadline of the connection phase: --connect-timeout (curl's 300 s
 * without it) or --max-time's, the sooner. */
static long
connect_deadline(const struct transfer *t)
{
	long ms = t->o->connect_ms > 0 ? t->o->connect_ms : DEFAULT_CONNECT_MS;
	long d = monotonic_ms() + ms;

	return t->deadline >= 0 && t->deadline < d ? t->deadline : d;
}

/* ------------------------------------------------------------- failures */

static int
status_for(int code, enum phase phase)
{
	switch (code) {
	case MTLS_ERR_RESOLVE:
		return EXIT_RESOLVE;
	case MTLS_ERR_CONNECT:
		return EXIT_CONNECT;
	case MTLS_ERR_TIMEOUT:
	case MTLS_ERR_WOKEN:        /* only our timer wakes us */
		return EXIT_TIMEOUT;
	case MTLS_ERR_PEER_UNTRUSTED:
	case MTLS_ERR_HOSTNAME:
	case MTLS_ERR_NO_PEER_CERT:
		return EXIT_PEER_CERT;
	case MTLS_ERR_BAD_IDENTITY:
		return EXIT_CLIENT_CERT;
	case MTLS_ERR_NOT_ALLOWED:  /* the allow-list holds only our pins */
		return EXIT_PINNED;
	case MTLS_ERR_NOMEM:
		return EXIT_NOMEM;
	case MTLS_ERR_HTTP:
		return EXIT_WEIRD_REPLY;
	case MTLS_ERR_INVALID:
		return EXIT_USAGE;
	case MTLS_ERR_TRUNCATED:
	case MTLS_ERR_CLOSED:
		/* Cut in the body: curl's 18.  After our request, before a
		 * byte of answer, with close_notify or without (nginx's
		 * return 444): curl's 52, "Empty reply from server". */
		if (phase == PHASE_BODY && code == MTLS_ERR_TRUNCATED)
			return EXIT_PARTIAL;
		if (phase == PHASE_REQUEST)
			return EXIT_GOT_NOTHING;
		return phase == PHASE_CONNECT ? EXIT_TLS : EXIT_RECV;
	case MTLS_ERR_CERT_REJECTED:
		/* A TLS 1.2 server refuses our certificate in the handshake
		 * (curl: 35), a TLS 1.3 one after it, on our first read (curl:
		 * 56, "SSL_read: ... alert certificate required"). */
	case MTLS_ERR_IO:
	case MTLS_ERR_TLS:
		return phase == PHASE_CONNECT ? EXIT_TLS : EXIT_RECV;
	default:
		return EXIT_TLS;
	}
}

/* The server's key as curl's pin, sha256//BASE64; "" when there is none. */
static void
server_pin(struct mtls *c, char *pin, size_t len)
{
	const char *hex = mtls_peer_spki_sha256(c);
	unsigned char raw[32];
	unsigned int byte;
	char *b;
	size_t i;

	pin[0] = '\0';
	if (hex == NULL || strlen(hex) != 64)
		return;
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return;
		raw[i] = (unsigned char)byte;
	}
	if ((b = base64(raw, sizeof(raw))) != NULL)
		snprintf(pin, len, "sha256//%s", b);
	free(b);
}

static void
describe(struct transfer *t)
{
	const char *text = mtls_conn_describe(t->c);

	while (text != NULL && *text != '\0') {
		size_t n = strcspn(text, "\n");

		trace_info(t, "%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

/* Reports the connection's error; a wake-up is our own timer's. */
int
conn_failure(struct transfer *t, enum phase phase)
{
	const struct options *o = t->o;
	int code = mtls_error_code(t->c);
	long elapsed = monotonic_ms() - t->start;

	if (phase == PHASE_CONNECT || code == MTLS_ERR_CERT_REJECTED)
		describe(t);
	if (code == MTLS_ERR_NOT_ALLOWED) {
		char pin[64];

		server_pin(t->c, pin, sizeof(pin));
		return failure(EXIT_PINNED, "%s; its public key is %s, which "
		    "--pinnedpubkey does not list", mtls_error(t->c),
		    pin[0] ? pin : "unknown");
	}
	if (code != MTLS_ERR_WOKEN || !timer_fired)
		return failure(status_for(code, phase), "%s", mtls_error(t->c));
	if (o->max_ms > 0 && elapsed >= o->max_ms)
		return failure(EXIT_TIMEOUT, "operation timed out after %ld ms "
		    "with %llu bytes received (--max-time)", elapsed,
		    t->info.size_download);
	return failure(EXIT_TIMEOUT, "connection to %s port %s timed out "
	    "after %ld ms (--connect-timeout)", t->conn_host, t->url.port,
	    elapsed);
}

/* ------------------------------------------------------- the proxy */

struct proxy {
	char host[256], port[8];
	const char *from;           /* "-x", "https_proxy", ... */
	char *user;                 /* "user:password", malloc'd, or NULL */
};

/* no_proxy / --noproxy: "*", or names that match the host or end it
 * after a dot (a leading dot ignored), or exact addresses. */
static int
no_proxy_for(const char *list, const char *host)
{
	const char *p = list;
	size_t hl = strlen(host);

	while (*p != '\0') {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 1 && *p == '*')
			return 1;
		if (n > 0 && *p == '.')
			p++, n--;
		if (n > 0 && n <= hl && strncasecmp(host + hl - n, p, n) == 0 &&
		    (n == hl || host[hl - n - 1] == '.'))
			return 1;
		p += n;
	}
	return 0;
}

/* The proxy for u: -x, else https_proxy, HTTPS_PROXY, all_proxy,
 * ALL_PROXY; none for a host --noproxy (else no_proxy, NO_PROXY) lists.
 * Returns 1 with px filled, 0 for none, or an exit status. */
static int
proxy_for(const struct options *o, const struct url *u, struct proxy *px)
{
	static const char *const vars[] = { "https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY" };
	const char *spec = o->proxy, *noproxy = o->noproxy, *p, *at, *end;
	size_t i;

	px->from = "-x";
	for (i = 0; !o->proxy_given && spec == NULL && i < 4; i++)
		if ((spec = getenv(vars[i])) != NULL)
			px->from = vars[i];
	if (spec == NULL || *spec == '\0')
		return 0;
	if (noproxy == NULL && (noproxy = getenv("no_proxy")) == NULL)
		noproxy = getenv("NO_PROXY");
	if (noproxy != NULL && no_proxy_for(noproxy, u->host))
		return 0;
	p = spec;
	if ((end = strstr(p, "://")) != NULL) {
		if ((size_t)(end - p) != 4 || strncasecmp(p, "http", 4) != 0)
			return failure(EXIT_NOT_BUILT_IN, "proxy '%s' (%s): only HTTP "
			    "proxies are supported, reached with CONNECT: use "
			    "http://HOST:PORT", spec, px->from);
		p = end + 3;
	}
	end = p + strcspn(p, "/?#");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		px->user = strndup(p, (size_t)(at - p));
		p = at + 1;
	}
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return failure(EXIT_RESOLVE_PROXY, "proxy '%s' (%s): no valid "
			    "host", spec, px->from);
		snprintf(px->host, sizeof(px->host), "%.*s", (int)(rb - p - 1),
		    p + 1);
		p = rb + 1;
	} else {
		size_t n = strcspn(p, ":/?#");

		snprintf(px->host, sizeof(px->host), "%.*s", (int)n, p);
		p += n;
	}
	snprintf(px->port, sizeof(px->port), "%.*s", *p == ':' ?
	    (int)(end - p - 1) : 4, *p == ':' ? p + 1 : "1080");
	if (px->host[0] == '\0' || px->port[0] == '\0')
		return failure(EXIT_RESOLVE_PROXY, "proxy '%s' (%s): no valid host "
		    "and port", spec, px->from);
	return 1;
}

/* ------------------------------------------------------------- TCP */

static void
addr_text(const struct sockaddr *sa, char *ip, size_t len, int *port)
{
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	ip[0] = '\0';
	*port = 0;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return;
	inet_ntop(sa->sa_family, a, ip, (socklen_t)len);
	*port = ntohs(sa->sa_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)sa)->sin6_port :
	    ((const struct sockaddr_in *)sa)->sin_port);
}

/* Waits until fd is ready for events, or deadline; 0, or -1 (errno
 * ETIMEDOUT for the deadline). */
static int
wait_fd(int fd, short events, long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		long left = deadline - monotonic_ms();
		int rc;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* One address: 0 with t->fd connected, or -1 with errno. */
static int
connect_addr(struct transfer *t, const struct sockaddr *sa, socklen_t salen,
    long deadline)
{
	int err = 0, flags;
	socklen_t len = sizeof(err);

	t->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (t->fd < 0)
		return -1;
	if (connect(t->fd, sa, salen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return -1;
		if (wait_fd(t->fd, POLLOUT, deadline) != 0)
			return -1;
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	/* libmtls times its own waits on a blocking socket */
	flags = fcntl(t->fd, F_GETFL);
	fcntl(t->fd, F_SETFL, flags & ~O_NONBLOCK);
	return 0;
}

static void
record_addresses(struct transfer *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getpeername(t->fd, (struct sockaddr *)&ss, &len) == 0)
		addr_text((struct sockaddr *)&ss, t->info.remote_ip,
		    sizeof(t->info.remote_ip), &t->info.remote_port);
	len = sizeof(ss);
	if (getsockname(t->fd, (struct sockaddr *)&ss, &len) == 0)
		addr_text((struct sockaddr *)&ss, t->info.local_ip,
		    sizeof(t->info.local_ip), &t->info.local_port);
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
connect_failed(struct transfer *t, const char *host, const char *port,
    int err)
{
	long ms = monotonic_ms() - t->start;

	t->info.conn_errno = err;
	if (err == ETIMEDOUT)
		return failure(EXIT_TIMEOUT, "failed to connect to %s port %s after "
		    "%ld ms: timed out (%s)", host, port, ms, t->o->connect_ms ?
		    "--connect-timeout" : t->o->max_ms ? "--max-time" :
		    "the default connect timeout, 300 s");
	return failure(EXIT_CONNECT, "failed to connect to %s port %s after "
	    "%ld ms: %s", host, port, ms, strerror(err));
}

/* TCP to host (or addr) and port: 0, or an exit status (proxy: its
 * resolve failure is 5, not 6). */
static int
tcp_connect(struct transfer *t, const char *host, const char *addr,
    const char *port, int is_proxy, long deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc, err = ECONNREFUSED;

	hints.ai_family = t->o->family;
	if ((rc = getaddrinfo(addr, port, &hints, &res)) != 0)
		return failure(is_proxy ? EXIT_RESOLVE_PROXY : EXIT_RESOLVE,
		    "could not resolve %s: %s (%s)", is_proxy ? "proxy" : "host",
		    addr, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	t->info.t_namelookup += now_us() - t->single_us;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char ip[64];
		int p;

		addr_text(ai->ai_addr, ip, sizeof(ip), &p);
		trace_info(t, "  Trying %s%s%s:%s...", ai->ai_family == AF_INET6 ?
		    "[" : "", ip, ai->ai_family == AF_INET6 ? "]" : "", port);
		if (connect_addr(t, ai->ai_addr, ai->ai_addrlen, deadline) == 0)
			break;
		err = errno;
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		if (err == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (t->fd < 0)
		return connect_failed(t, host, port, err);
	record_addresses(t);
	trace_info(t, "Connected to %s (%s) port %s", host, t->info.remote_ip,
	    port);
	return 0;
}

static int
unix_connect(struct transfer *t, long deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(t->o->unix_socket) >= sizeof(sun.sun_path))
		return failure(EXIT_CONNECT, "--unix-socket '%s': path too long",
		    t->o->unix_socket);
	strcpy(sun.sun_path, t->o->unix_socket);
	if (connect_addr(t, (struct sockaddr *)&sun, sizeof(sun), deadline) != 0) {
		int err = errno;

		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		return connect_failed(t, t->o->unix_socket, "(unix socket)", err);
	}
	/* as curl's -w: the URL's port; the socket's path, not an address */
	snprintf(t->info.remote_ip, sizeof(t->info.remote_ip), "%s",
	    t->o->unix_socket);
	t->info.remote_port = atoi(t->url.port);
	trace_info(t, "Connected to %s (--unix-socket %s)", t->url.host,
	    t->o->unix_socket);
	return 0;
}

/* ------------------------------------------------------ the tunnel */

static int
send_all(int fd, const char *p, size_t n, long deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno != EAGAIN || wait_fd(fd, POLLOUT, deadline)))
			return -1;
		if (w > 0)
			p += w, n -= (size_t)w;
	}
	return 0;
}

/* The proxy's answer, up to its blank line and not a byte further: what
 * follows is the server's TLS. */
static int
read_proxy_head(int fd, char *buf, size_t cap, size_t *len, long deadline)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline) != 0)
				return -1;
			continue;
		}
		if (r <= 0) {
			errno = r == 0 ? ECONNRESET : errno;
			return -1;
		}
		n++;
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			break;
		if (n >= 2 && memcmp(buf + n - 2, "\n\n", 2) == 0)
			break;
	}
	buf[n] = '\0';
	*len = n;
	return n + 1 < cap ? 0 : (errno = EMSGSIZE, -1);
}

static char *
connect_request(const struct transfer *t, const struct proxy *px,
    const char *host, const char *port)
{
	const struct options *o = t->o;
	int v6 = strchr(host, ':') != NULL, i;
	size_t cap = 1024 + strlen(host) * 2;
	char *req, *auth = NULL;
	size_t n;
	const char *user = o->proxy_user ? o->proxy_user : px->user;

	for (i = 0; i < o->nproxy_headers; i++)
		cap += strlen(o->proxy_headers[i]) + 2;
	if (user != NULL && (auth = base64((const unsigned char *)user,
	    strlen(user))) == NULL)
		return NULL;
	cap += auth ? strlen(auth) : 0;
	if ((req = malloc(cap)) == NULL) {
		free(auth);
		return NULL;
	}
	n = (size_t)snprintf(req, cap, "CONNECT %s%s%s:%s HTTP/1.1\r\n"
	    "Host: %s%s%s:%s\r\n", v6 ? "[" : "", host, v6 ? "]" : "", port,
	    v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (auth != NULL)
		n += (size_t)snprintf(req + n, cap - n, "Proxy-Authorization: "
		    "Basic %s\r\n", auth);
	n += (size_t)snprintf(req + n, cap - n, "User-Agent: %s\r\n",
	    o->user_agent ? o->user_agent : "mtls-client/" PACKAGE_VERSION);
	n += (size_t)snprintf(req + n, cap - n, "Proxy-Connection: Keep-Alive\r\n");
	for (i = 0; i < o->nproxy_headers; i++)
		n += (size_t)snprintf(req + n, cap - n, "%s\r\n",
		    o->proxy_headers[i]);
	snprintf(req + n, cap - n, "\r\n");
	free(auth);
	return req;
}

/* CONNECT host:port through the proxy on t->fd, as curl asks it. */
static int
tunnel(struct transfer *t, const struct proxy *px, const char *host,
    const char *port, long deadline)
{
	char head[MAX_PROXY_HEAD], *req = connect_request(t, px, host, port);
	size_t len;
	int code = 0, rc;

	if (req == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	trace_info(t, "Establish HTTP proxy tunnel to %s:%s", host, port);
	trace_data(t, TRACE_SEND_HEADER, req, strlen(req));
	rc = send_all(t->fd, req, strlen(req), deadline);
	free(req);
	if (rc != 0 || read_proxy_head(t->fd, head, sizeof(head), &len,
	    deadline) != 0)
		return failure(errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_RECV,
		    "proxy %s:%s (%s): CONNECT %s:%s failed: %s", px->host,
		    px->port, px->from, host, port, strerror(errno));
	trace_data(t, TRACE_RECV_HEADER, head, len);
	if (sscanf(head, "HTTP/1.%*1d %3d", &code) != 1)
		return failure(EXIT_WEIRD_REPLY, "proxy %s:%s (%s) answered CONNECT "
		    "with no HTTP status line", px->host, px->port, px->from);
	t->info.http_connect = code;
	if ((rc = write_head(t, head, len, !t->o->suppress_connect &&
	    (t->o->include || t->o->head))) != 0)
		return rc;
	if (code / 100 != 2)
		return failure(EXIT_RECV, "CONNECT tunnel failed, response %d "
		    "(proxy %s:%s, %s)%s", code, px->host, px->port, px->from,
		    code == 407 ? ": it wants a user and password, -U USER:PASSWORD" :
		    "");
	trace_info(t, "CONNECT phase completed");
	return 0;
}

/* ----------------------------------------------------------- TLS */

static int
tls_connect(struct transfer *t, long deadline)
{
	if ((t->c = mtls_client_new(t->cfg)) == NULL)
		return failure(mtls_config_error_code(t->cfg) ==
		    MTLS_ERR_BAD_IDENTITY ? EXIT_CLIENT_CERT : EXIT_USAGE, "%s",
		    mtls_config_error(t->cfg));
	timer_conn = t->c;
	arm_timer(deadline);
	if (mtls_connect_socket(t->c, t->fd, t->url.host) != 0) {
		t->info.ssl_verify_result = verify_result_code(
		    mtls_peer_verify_error(t->c));
		return conn_failure(t, PHASE_CONNECT);
	}
	arm_timer(t->deadline);
	t->info.ssl_verify_result = verify_result_code(
	    mtls_peer_verify_error(t->c));
	describe(t);
	return 0;
}

int
open_connection(struct transfer *t)
{
	const struct options *o = t->o;
	struct proxy px = { .user = NULL };
	char port[8], addr[256];
	long deadline = connect_deadline(t);
	int rc, proxied;

	t->fd = -1;
	connect_to(o, &t->url, t->conn_host, sizeof(t->conn_host), port,
	    sizeof(port));
	if ((proxied = o->unix_socket ? 0 : proxy_for(o, &t->url, &px)) > 1) {
		free(px.user);
		return proxied;
	}
	if (proxied) {
		rc = tcp_connect(t, px.host, px.host, px.port, 1, deadline);
		if (rc == 0)
			rc = tunnel(t, &px, t->conn_host, port, deadline);
	} else if (o->unix_socket != NULL) {
		rc = unix_connect(t, deadline);
	} else {
		if (resolve_address(o, t->conn_host, port, addr, sizeof(addr)))
			trace_info(t, "Connecting to %s port %s at %s (--resolve)",
			    t->conn_host, port, addr);
		rc = tcp_connect(t, t->conn_host, addr, port, 0, deadline);
	}
	free(px.user);
	t->info.num_connects++;
	t->info.t_connect += now_us() - t->single_us;
	if (rc == 0)
		rc = tls_connect(t, deadline);
	t->info.t_appconnect += now_us() - t->single_us;
	return rc;
}

void
close_connection(struct transfer *t)
{
	timer_conn = NULL;
	mtls_free(t->c);
	t->c = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
