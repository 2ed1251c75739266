/*
 * client.c - connecting: name resolution, TCP connect with a timeout over
 * every address of the host, then the handshake with the server name set
 * (or, from a plaintext config, nothing more than the TCP connection).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtls_internal.h"

static int
check_client(struct mtls *c)
{
	if (c == NULL)
		return -1;
	ENSURE_CONN(c->role == ROLE_CLIENT, c, MTLS_ERR_INVALID, "connect needs "
	    "a client object (mtls_client_new)");
	ENSURE_CONN(!c->attached && c->fd < 0, c, MTLS_ERR_INVALID, "this client "
	    "is already connected: use a new client object per connection");
	return 0;
}

/* Accepts "[::1]" as well as "::1". */
static char *
strip_brackets(const char *host)
{
	size_t len = strlen(host);

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
		return strndup(host + 1, len - 2);
	return strdup(host);
}

static void
set_nodelay(int fd)
{
	int one = 1;

	/* Requests and responses are small: do not let Nagle delay them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * Connects c->fd to one address; 0, or -1 with errno, or with the error
 * set on c when the whole attempt must end (timeout, wake-up, signal).
 */
static int
connect_one(struct mtls *c, const struct addrinfo *ai, long deadline)
{
	int err = 0;
	socklen_t len = sizeof(err);

	c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	/* After EINTR the connection goes on in the background, as after
	 * EINPROGRESS (POSIX connect), unless signals end our calls. */
	if (errno == EINTR && mtls_fail_interrupted(c, "connect") != 0)
		return -1;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	if (mtls_wait(c, POLLOUT, deadline, c->cfg->connect_ms, "connect") != 0)
		return -1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -1;
	errno = err;
	return err == 0 ? 0 : -1;
}

static int
connect_tcp(struct mtls *c, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	long deadline = mtls_deadline(c->cfg->connect_ms);
	int rc, last_errno = ECONNREFUSED;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return CONN_FAIL(c, MTLS_ERR_RESOLVE, "cannot resolve host '%s' "
		    "port '%s': %s", host, port,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		mtls_clear_error(mtls_conn_errstate(c));
		if (connect_one(c, ai, deadline) == 0)
			break;
		last_errno = errno;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		/* A timeout, a wake-up or a signal ends the whole attempt. */
		if (mtls_error(c) != NULL)
			break;
	}
	freeaddrinfo(res);
	if (c->fd < 0 && mtls_error(c) == NULL)
		return CONN_FAIL_SYS(c, MTLS_ERR_CONNECT, last_errno,
		    "cannot connect to %s: %s%s",
		    c->peer_desc, strerror(last_errno),
		    mtls_descriptor_hint(last_errno));
	if (c->fd < 0)
		return -1;
	set_nodelay(c->fd);
	return 0;
}

/* What an HTTP request names in Host: the name, with a port other than
 * the scheme's (443, or 80 for plaintext), an IPv6 literal in brackets
 * (RFC 9110, 7.2).  No name (a plaintext caller's socket): none. */
static int
set_host_header(struct mtls *c, const char *name, const char *port)
{
	bool v6, other_port;
	size_t len;

	if (name == NULL)
		return 0;
	v6 = strchr(name, ':') != NULL;
	other_port = port && strcmp(port, c->plain ? "80" : "443") != 0;
	len = strlen(name) + (port ? strlen(port) : 0) + 4;
	if ((c->host_header = malloc(len)) == NULL)
		return -1;
	snprintf(c->host_header, len, "%s%s%s%s%s", v6 ? "[" : "", name,
	    v6 ? "]" : "", other_port ? ":" : "", other_port ? port : "");
	return 0;
}

/*
 * Attaches fd, then sets up what TLS needs: the name to verify and send
 * as SNI, and the session to resume; a plain connection needs neither.
 * port is NULL for a caller's socket: c->peer_desc then names the peer.
 */
static int
start_conn(struct mtls *c, int fd, bool own_fd, const char *name,
    const char *host, const char *port)
{
	if (mtls_conn_attach(c, fd, own_fd) != 0)
		return -1;
	if (set_host_header(c, name, port) != 0)
		return CONN_FAIL(c, MTLS_ERR_NOMEM, "out of memory");
	if (c->plain)
		return 0;
	if (mtls_setup_verify_name(c, name) != 0)
		return CONN_FAIL(c, MTLS_ERR_INVALID, "cannot use '%s' as the server "
		    "name to verify", name);
	if (mtls_session_attach(c, port ? host : c->peer_desc, port ? port : "",
	    name) != 0)
		return CONN_FAIL(c, MTLS_ERR_NOMEM, "out of memory");
	return 0;
}

MTLS_EXPORT int
mtls_connect(struct mtls *c, const char *host, const char *port)
{
	char *bare;
	int rc;

	if (check_client(c) != 0)
		return -1;
	ENSURE_CONN(host != NULL && *host != '\0' && port != NULL &&
	    *port != '\0', c, MTLS_ERR_INVALID, "connect needs a host and a port");
	ENSURE_CONN((bare = strip_brackets(host)) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	mtls_set_peer_desc(c, strchr(bare, ':') ? "[%s]:%s" : "%s:%s", bare,
	    port);
	rc = connect_tcp(c, bare, port);
	if (rc == 0) {
		int fd = c->fd;

		c->fd = -1;
		rc = start_conn(c, fd, true, c->verify_name ? c->verify_name : bare,
		    bare, port);
		if (rc != 0 && c->fd < 0)
			close(fd);
	}
	free(bare);
	return rc == 0 ? mtls_handshake(c) : -1;
}

MTLS_EXPORT int
mtls_connect_socket(struct mtls *c, int fd, const char *servername)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[128] = "";
	const char *name;

	if (check_client(c) != 0)
		return -1;
	name = c->verify_name != NULL ? c->verify_name : servername;
	if (name != NULL && *name == '\0')
		name = NULL;
	/* A plain connection verifies no name: one only names HTTP's Host. */
	ENSURE_CONN(fd >= 0 && (name != NULL || c->plain), c, MTLS_ERR_INVALID,
	    "connect_socket needs a socket and the server name to verify");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		mtls_describe_addr((struct sockaddr *)&ss, addr, sizeof(addr));
	mtls_set_peer_desc(c, "%s", addr[0] != '\0' ? addr : name ? name :
	    "the peer");
	if (start_conn(c, fd, false, name, NULL, NULL) != 0)
		return -1;
	/* An event loop drives a non-blocking socket's handshake itself. */
	return c->nonblocking ? 0 : mtls_handshake(c);
}
