/*
 * server.c - listening and accepting.  Accepting does no TLS: the
 * handshake happens on the accepted connection, in the thread that
 * serves it and bounded by the handshake timeout, so that a silent or
 * slow client never stalls the accept loop.  A plaintext listener's
 * connections have no handshake at all.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtls_internal.h"

#define DEFAULT_BACKLOG 511

static int
listen_one(const struct addrinfo *ai, bool any_host, int backlog)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1, zero = 0, saved;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "Every address" on IPv6 also takes IPv4, where the system allows. */
	if (ai->ai_family == AF_INET6 && any_host)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

MTLS_EXPORT int
mtls_listen(struct mtls *srv, const char *host, const char *port, int backlog)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE }, *res, *ai;
	int rc, last_errno = EADDRNOTAVAIL;

	if (srv == NULL)
		return -1;
	if (srv->role != ROLE_SERVER || srv->fd >= 0)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "listen needs a server object "
		    "(mtls_server_new) that is not listening yet");
	if (port == NULL || *port == '\0')
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "listen needs a port");
	if (backlog <= 0)
		backlog = DEFAULT_BACKLOG;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return CONN_FAIL(srv, MTLS_ERR_RESOLVE, "cannot resolve listen "
		    "address '%s' port '%s': %s", host ? host : "*", port,
		    gai_strerror(rc));
	/* With no host, prefer the IPv6 wildcard: it takes IPv4 too. */
	for (ai = res; ai != NULL && srv->fd < 0; ai = ai->ai_next)
		if (host != NULL || ai->ai_family == AF_INET6)
			if ((srv->fd = listen_one(ai, host == NULL, backlog)) < 0)
				last_errno = errno;
	for (ai = res; ai != NULL && srv->fd < 0; ai = ai->ai_next)
		if ((srv->fd = listen_one(ai, host == NULL, backlog)) < 0)
			last_errno = errno;
	freeaddrinfo(res);
	if (srv->fd < 0)
		return CONN_FAIL_SYS(srv, MTLS_ERR_LISTEN, last_errno,
		    "cannot listen on %s port %s: "
		    "%s%s", host ? host : "all addresses", port,
		    strerror(last_errno), mtls_descriptor_hint(last_errno));
	srv->own_fd = true;
	mtls_set_peer_desc(srv, "%s port %s", host ? host : "all addresses",
	    port);
	return 0;
}

/* The server's current config, with a reference for the caller: the one
 * its watched config rebuilt last (watch.c), or the config itself. */
static struct mtls_config *
current_config(struct mtls *srv)
{
	struct mtls_config *cfg, *current;

	pthread_mutex_lock(&srv->cfg_lock);
	cfg = mtls_config_ref(srv->cfg);
	pthread_mutex_unlock(&srv->cfg_lock);
	current = mtls_watch_current(cfg, ROLE_ACCEPTED);
	mtls_config_free(cfg);
	return current;
}

/* Checks cfg as mtls_server_new would, before anything changes. */
static int
check_new_tls_config(struct mtls *srv, struct mtls_config *cfg)
{
	if (cfg->id_count == 0)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "the new configuration has no "
		    "certificate and key: keeping the current one");
	if (!cfg->have_trust && !cfg->insecure_noverify &&
	    cfg->verify_client != MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "the new configuration has no "
		    "trust anchors (CA file): keeping the current one");
	if (mtls_preflight_role(cfg, true) != 0)
		return CONN_FAIL(srv, MTLS_ERR_BAD_IDENTITY, "%s: keeping the current "
		    "configuration", mtls_config_error(cfg));
	return 0;
}

MTLS_EXPORT int
mtls_server_set_config(struct mtls *srv, struct mtls_config *cfg)
{
	struct mtls_config *old;

	if (srv == NULL)
		return -1;
	if (srv->role != ROLE_SERVER || cfg == NULL)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "set_config needs a server "
		    "object and a config");
	/* The listener's clients expect what it spoke so far. */
	if (cfg->plaintext != srv->plain)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "the new configuration is "
		    "%s but this server's is %s: keeping the current one",
		    cfg->plaintext ? "plaintext" : "TLS",
		    srv->plain ? "plaintext" : "TLS");
	if (!cfg->plaintext && check_new_tls_config(srv, cfg) != 0)
		return -1;
	mtls_config_freeze(cfg);
	mtls_recipe_settle(cfg);
	mtls_config_ref(cfg);
	pthread_mutex_lock(&srv->cfg_lock);
	old = srv->cfg;
	srv->cfg = cfg;
	pthread_mutex_unlock(&srv->cfg_lock);
	/* A blocked mtls_accept reads it without the lock. */
	__atomic_store_n(&srv->interruptible, cfg->interruptible,
	    __ATOMIC_RELAXED);
	mtls_config_free(old);
	return 0;
}

static int
new_accepted(struct mtls *srv, struct mtls **conn, int fd, bool own_fd,
    const struct sockaddr *peer)
{
	struct mtls_config *cfg = current_config(srv);
	struct mtls *c = mtls_conn_alloc(cfg, ROLE_ACCEPTED);
	int one = 1;

	mtls_config_free(cfg);      /* c holds its own reference */
	if (c == NULL) {
		int err = errno;

		if (own_fd)
			close(fd);
		/* errno is kept for a caller that backs off on EMFILE. */
		CONN_FAIL_SYS(srv, err == EMFILE || err == ENFILE ? MTLS_ERR_IO :
		    MTLS_ERR_NOMEM, err, "cannot create a connection object: %s%s",
		    strerror(err), mtls_descriptor_hint(err));
		errno = err;
		return -1;
	}
	if (peer != NULL) {
		char addr[128];

		mtls_describe_addr(peer, addr, sizeof(addr));
		mtls_set_peer_desc(c, "%s", addr);
	}
	if (mtls_conn_attach(c, fd, own_fd) != 0) {
		CONN_FAIL_SYS(srv, mtls_error_code(c), mtls_error_errno(c), "%s",
		    mtls_error(c));
		if (own_fd && c->fd < 0)
			close(fd);
		mtls_free(c);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*conn = c;
	return 0;
}

MTLS_EXPORT int
mtls_accept(struct mtls *srv, struct mtls **conn)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (srv == NULL)
		return -1;
	if (srv->role != ROLE_SERVER || srv->fd < 0 || conn == NULL)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "accept needs a listening "
		    "server (mtls_listen) and a place for the connection");
	*conn = NULL;
	for (;;) {
		len = sizeof(ss);
		fd = accept4(srv->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return new_accepted(srv, conn, fd, true,
			    (struct sockaddr *)&ss);
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (mtls_wait(srv, POLLIN, -1, 0, "accept") != 0)
				return -1;
		} else if (errno == EINTR) {
			if (mtls_fail_interrupted(srv, "accept") != 0)
				return -1;
		} else if (errno != ECONNABORTED) {
			/* EMFILE and friends: the caller decides to back off. */
			return CONN_FAIL_SYS(srv, MTLS_ERR_IO, errno,
			    "accept on %s failed: %s%s",
			    srv->peer_desc, strerror(errno), mtls_descriptor_hint(errno));
		}
	}
}

MTLS_EXPORT int
mtls_accept_socket(struct mtls *srv, struct mtls **conn, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (srv == NULL)
		return -1;
	if (srv->role != ROLE_SERVER || conn == NULL || fd < 0)
		return CONN_FAIL(srv, MTLS_ERR_INVALID, "accept_socket needs a server "
		    "object, a socket and a place for the connection");
	*conn = NULL;
	return new_accepted(srv, conn, fd, false,
	    getpeername(fd, (struct sockaddr *)&ss, &len) == 0 ?
	    (struct sockaddr *)&ss : NULL);
}
