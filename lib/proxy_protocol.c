/*
 * proxy_protocol.c - the PROXY protocol, versions 1 and 2 (HAProxy's
 * proxy-protocol.txt), on accepted connections: a load balancer in TCP
 * mode writes, before the first TLS byte, whom it accepted the connection
 * from.  Only when the config asks for it (a header is trusted, so it is
 * never read by default) and only from the sources the config trusts
 * (loopback unless told otherwise: proxy_trust.c).  The header is read under the
 * handshake deadline, by peeking and then reading only the bytes that are
 * its own, so that not one TLS byte after it is taken from OpenSSL.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mtls_internal.h"

#define V1_MAX 107              /* the longest v1 line, CRLF included */
#define V2_FIXED 16             /* signature, ver/cmd, family, length */
#define V2_ADDR_MAX 216         /* the largest address block (AF_UNIX) */
#define PEEK_MAX (V2_FIXED + V2_ADDR_MAX)

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* What a look at the bytes so far found. */
enum pp_verdict { PP_MORE, PP_DONE, PP_BAD };

struct pp_result {
	size_t total;               /* the header's length, all of it */
	bool local;                 /* LOCAL, UNKNOWN or a non-IP family: the
	                               socket's own peer is the client */
	int family;
	unsigned char addr[16];
	int port;
	char why[160];              /* PP_BAD: what was wrong */
};

/* An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as the
 * IPv4 address it is, so that 127.0.0.0/8 covers it. */
static void
unmap(int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == AF_INET6 && memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
}

/* ------------------------------------------------------ the addresses */

/* The socket's peer as family and bytes; false for a non-IP socket. */
static bool
socket_peer(int fd, int *family, unsigned char addr[16], int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	} else {
		return false;
	}
	*family = ss.ss_family;
	unmap(family, addr);
	return true;
}

static void
set_client(struct mtls_client_addr *a, int family,
    const unsigned char addr[16], int port)
{
	inet_ntop(family, addr, a->host, sizeof(a->host));
	a->port = port;
	a->known = true;
}

/* c's client address record, made on first use (NULL: out of memory). */
static struct mtls_client_addr *
client_addr(struct mtls *c)
{
	if (c->client == NULL)
		c->client = calloc(1, sizeof(*c->client));
	return c->client;
}

/* Fills c's client address from the socket; false when it has none. */
static bool
client_from_socket(struct mtls *c)
{
	struct mtls_client_addr *a = client_addr(c);
	unsigned char addr[16];
	int family, port;

	if (a == NULL || c->fd < 0 || !socket_peer(c->fd, &family, addr, &port))
		return false;
	set_client(a, family, addr, port);
	return true;
}

MTLS_EXPORT const char *
mtls_peer_address(struct mtls *c)
{
	if (c == NULL || c->role == ROLE_SERVER)
		return NULL;
	if (c->client != NULL && c->client->pending)
		return NULL;
	if ((c->client == NULL || !c->client->known) && !client_from_socket(c))
		return NULL;
	return c->client->host;
}

MTLS_EXPORT int
mtls_peer_port(struct mtls *c)
{
	return mtls_peer_address(c) != NULL ? c->client->port : -1;
}

/* ------------------------------------------------------ the header */

/* Whether the first n bytes of buf could begin prefix (of plen bytes). */
static bool
may_begin(const unsigned char *buf, size_t n, const void *prefix, size_t plen)
{
	return memcmp(buf, prefix, n < plen ? n : plen) == 0;
}

static enum pp_verdict
bad(struct pp_result *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "%s", why);
	return PP_BAD;
}

/* A decimal port of 1 to 5 digits, 0-65535; -1 when it is not one. */
static int
parse_port(const char *s)
{
	long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 5)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return i > 0 && v <= 65535 ? (int)v : -1;
}

/* "PROXY TCP4 src dst sport dport" (line without CRLF, NUL-ended). */
static enum pp_verdict
parse_v1_line(char *line, struct pp_result *r)
{
	char *f[7], *save = NULL;
	unsigned char dst[16];
	int n = 0, dport;

	/* Up to 7 fields: a seventh is one too many. */
	for (char *t = strtok_r(line, " ", &save); t != NULL && n < 7;
	    t = n < 7 ? strtok_r(NULL, " ", &save) : NULL)
		f[n++] = t;
	if (n >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		r->local = true;        /* the rest of the line is ignored */
		return PP_DONE;
	}
	if (n != 6)
		return bad(r, "a v1 header needs 6 fields: PROXY TCP4|TCP6 "
		    "source destination source-port destination-port");
	if (strcmp(f[1], "TCP4") == 0)
		r->family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		r->family = AF_INET6;
	else
		return bad(r, "the v1 protocol is not TCP4, TCP6 or UNKNOWN");
	if (inet_pton(r->family, f[2], r->addr) != 1 ||
	    inet_pton(r->family, f[3], dst) != 1)
		return bad(r, "a v1 address is not one of its protocol");
	r->port = parse_port(f[4]);
	dport = parse_port(f[5]);
	if (r->port < 0 || dport < 0)
		return bad(r, "a v1 port is not a number from 0 to 65535");
	return PP_DONE;
}

static enum pp_verdict
parse_v1(const unsigned char *buf, size_t n, struct pp_result *r)
{
	char line[V1_MAX + 1];
	size_t i;

	for (i = 0; i + 1 < n && i + 1 < V1_MAX; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			break;
	if (i + 1 >= n || i + 1 >= V1_MAX)
		return n >= V1_MAX ? bad(r, "the v1 line has no CRLF within 107 "
		    "bytes") : PP_MORE;
	memcpy(line, buf, i);
	line[i] = '\0';
	if (memchr(line, '\0', i) != NULL)
		return bad(r, "the v1 line holds a NUL byte");
	r->total = i + 2;
	return parse_v1_line(line, r);
}

static enum pp_verdict
parse_v2_addresses(const unsigned char *buf, size_t len, struct pp_result *r)
{
	switch (buf[13] >> 4) {
	case 1:                     /* AF_INET: src, dst, sport, dport */
		if (len < 12)
			return bad(r, "the v2 IPv4 address block is short");
		r->family = AF_INET;
		memcpy(r->addr, buf + V2_FIXED, 4);
		r->port = buf[V2_FIXED + 8] << 8 | buf[V2_FIXED + 9];
		return PP_DONE;
	case 2:                     /* AF_INET6 */
		if (len < 36)
			return bad(r, "the v2 IPv6 address block is short");
		r->family = AF_INET6;
		memcpy(r->addr, buf + V2_FIXED, 16);
		r->port = buf[V2_FIXED + 32] << 8 | buf[V2_FIXED + 33];
		return PP_DONE;
	default:                    /* AF_UNSPEC, AF_UNIX: no IP client */
		r->local = true;
		return PP_DONE;
	}
}

static enum pp_verdict
parse_v2(const unsigned char *buf, size_t n, struct pp_result *r)
{
	size_t len, need;

	if (n < V2_FIXED)
		return PP_MORE;
	if ((buf[12] >> 4) != 2)
		return bad(r, "the v2 version is not 2");
	len = (size_t)buf[14] << 8 | buf[15];
	r->total = V2_FIXED + len;
	need = V2_FIXED + (len < V2_ADDR_MAX ? len : V2_ADDR_MAX);
	if (n < need)
		return PP_MORE;
	switch (buf[12] & 0x0f) {
	case 0:                     /* LOCAL: a health check of the balancer */
		r->local = true;
		return PP_DONE;
	case 1:
		return parse_v2_addresses(buf, len, r);
	default:
		return bad(r, "the v2 command is neither LOCAL nor PROXY");
	}
}

/* "\x16\x03\x01..." or printable text: the first bytes, for a message. */
static void
quote_start(const unsigned char *buf, size_t n, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && i < 8 && used + 5 < size; i++)
		used += (size_t)snprintf(out + used, size - used,
		    isprint(buf[i]) && buf[i] != '"' && buf[i] != '\\' ? "%c" :
		    "\\x%02x", buf[i]);
}

/* A TLS record's first bytes: a handshake record of TLS 1.0 to 1.3. */
static bool
tls_hello(const unsigned char *buf, size_t n)
{
	return n >= 2 && buf[0] == 0x16 && buf[1] == 0x03;
}

static int
fail_no_header(struct mtls *c, const unsigned char *buf, size_t n)
{
	char start[48];

	/* A TLS hello is told by its record header; text by 8 bytes. */
	quote_start(buf, tls_hello(buf, n) && n > 3 ? 3 : n, start,
	    sizeof(start));
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_PROXY_PROTOCOL, "PROXY protocol: no header "
	    "from %s (it began with \"%s\"%s)", c->peer_desc, start,
	    tls_hello(buf, n) ? ", a TLS hello: is the load balancer sending "
	    "send-proxy-v2?" : "");
}

static enum pp_verdict
examine(const unsigned char *buf, size_t n, struct pp_result *r)
{
	if (may_begin(buf, n, "PROXY ", 6))
		return parse_v1(buf, n, r);
	if (may_begin(buf, n, v2_sig, sizeof(v2_sig)))
		return parse_v2(buf, n, r);
	return bad(r, "");
}

/* ------------------------------------------------------ reading it */

static int
fail_socket(struct mtls *c, int err)
{
	c->fatal = true;
	return CONN_FAIL_SYS(c, err == ECONNRESET ? MTLS_ERR_CLOSED :
	    MTLS_ERR_IO, err, "PROXY protocol: reading the header from %s failed: %s",
	    c->peer_desc, strerror(err));
}

static int
fail_closed(struct mtls *c, size_t n)
{
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_CLOSED, "PROXY protocol: %s closed the "
	    "connection after %zu bytes, before a whole header", c->peer_desc, n);
}

/* The header is in: the client it names, and the message's peer. */
static void
take_result(struct mtls *c, const struct pp_result *r)
{
	char through[128];

	c->client->pending = false;
	free(c->client->hdr);
	c->client->hdr = NULL;
	if (r->local) {
		c->client->known = client_from_socket(c);
		return;
	}
	set_client(c->client, r->family, r->addr, r->port);
	snprintf(through, sizeof(through), "%s", c->peer_desc);
	mtls_set_peer_desc(c, r->family == AF_INET6 ? "[%s]:%d (through %s)" :
	    "%s:%d (through %s)", c->client->host, r->port, through);
}

/* Reads and drops what is left of a long v2 header (its TLVs): 1 while
 * some remains, 0 when all is read, -1 on failure. */
static int
skip_rest(struct mtls *c)
{
	unsigned char sink[512];
	size_t want = c->client->skip < sizeof(sink) ? c->client->skip :
	    sizeof(sink);
	ssize_t n = recv(c->fd, sink, want, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : fail_socket(c, errno);
	if (n == 0)
		return fail_closed(c, 0);
	c->client->skip -= (size_t)n;
	return c->client->skip > 0 ? 1 : 0;
}

/* Moves n bytes, which a peek showed are there and belong to the header,
 * from the socket to the end of c's header buffer. */
static int
take(struct mtls *c, size_t n)
{
	struct mtls_client_addr *a = c->client;

	if (recv(c->fd, a->hdr + a->have, n, 0) != (ssize_t)n)
		return fail_socket(c, errno);
	a->have += n;
	return 0;
}

static int
fail_malformed(struct mtls *c, const struct pp_result *r, size_t n)
{
	if (r->why[0] == '\0')
		return fail_no_header(c, c->client->hdr, n);
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_PROXY_PROTOCOL, "PROXY protocol: "
	    "malformed header from %s: %s", c->peer_desc, r->why);
}

/*
 * One look at the socket: 0 when the header is in, 1 to wait for more,
 * -1 on failure.  The bytes of a header still incomplete are read at
 * once (they can only be its own): a peek alone would leave them in the
 * socket, readable, and a wait for the rest would return at once.
 */
static int
try_header(struct mtls *c)
{
	struct mtls_client_addr *a = c->client;
	struct pp_result r = { 0 };
	size_t room = PEEK_MAX - a->have, total;
	ssize_t n;

	if (a->skip > 0)
		return skip_rest(c);
	if ((n = recv(c->fd, a->hdr + a->have, room, MSG_PEEK)) < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : fail_socket(c, errno);
	if (n == 0)
		return fail_closed(c, a->have);
	total = a->have + (size_t)n;
	switch (examine(a->hdr, total, &r)) {
	case PP_DONE:
		/* Its own bytes only: the TLS hello after it stays. */
		n = (ssize_t)(r.total - a->have < (size_t)n ? r.total - a->have :
		    (size_t)n);
		if (take(c, (size_t)n) != 0)
			return -1;
		a->skip = r.total - a->have;
		take_result(c, &r);
		return a->skip > 0 ? 1 : 0;
	case PP_MORE:
		if ((size_t)n == room)  /* cannot happen: see V1_MAX, PEEK_MAX */
			return fail_malformed(c, &r, total);
		return take(c, (size_t)n) == 0 ? 1 : -1;
	case PP_BAD:
	default:
		return fail_malformed(c, &r, total);
	}
}

static int
check_source(struct mtls *c)
{
	unsigned char addr[16];
	int family, port;
	char text[INET6_ADDRSTRLEN];

	/* A UNIX socket's peer is on this host, as loopback is. */
	if (!socket_peer(c->fd, &family, addr, &port))
		return 0;
	if (mtls_proxy_trusted(c->cfg, family, addr))
		return 0;
	inet_ntop(family, addr, text, sizeof(text));
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_PROXY_PROTOCOL, "PROXY protocol: %s is not "
	    "a trusted source: its header is not believed, and the connection "
	    "is refused (trust it with mtls_config_set_proxy_protocol, "
	    "--proxy-protocol-from)", text);
}

static int
fail_header_timeout(struct mtls *c)
{
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_TIMEOUT, "PROXY protocol: no whole header "
	    "from %s within the handshake timeout (%d ms)", c->peer_desc,
	    c->cfg->handshake_ms);
}

/*
 * Reads the PROXY header of an accepted connection whose config asks for
 * one, before its TLS handshake: 0 once it is in, MTLS_WANT_POLLIN on a
 * non-blocking socket while it is not, or -1 with the connection failed.
 */
int
mtls_proxy_read_header(struct mtls *c)
{
	long deadline = c->handshake_deadline;
	int rc;

	if (!c->client->checked) {
		if (check_source(c) != 0)
			return -1;
		c->client->checked = true;
	}
	while ((rc = try_header(c)) == 1) {
		if (deadline >= 0 && mtls_now_ms() >= deadline)
			return fail_header_timeout(c);
		if (c->nonblocking)
			return MTLS_WANT_POLLIN;
		if (mtls_wait(c, POLLIN, deadline, c->cfg->handshake_ms,
		    "PROXY protocol header") != 0)
			return mtls_error_code(c) == MTLS_ERR_TIMEOUT ?
			    fail_header_timeout(c) : -1;
	}
	return rc;
}

/* Called when c is attached: a server config with the PROXY protocol on
 * makes the header due. */
int
mtls_proxy_attach(struct mtls *c)
{
	if (c->role != ROLE_ACCEPTED || c->cfg->proxy_from == NULL)
		return 0;
	ENSURE_CONN(client_addr(c) != NULL &&
	    (c->client->hdr = malloc(PEEK_MAX)) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	c->client->pending = true;
	return 0;
}
