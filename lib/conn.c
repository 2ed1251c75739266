/*
 * conn.c - the life cycle of struct mtls (client, listening server and
 * accepted connection): creation from a config, attaching a socket,
 * waking, freeing.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mtls_internal.h"

struct mtls *
mtls_conn_alloc(struct mtls_config *cfg, enum mtls_role role)
{
	struct mtls *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((errno = pthread_mutex_init(&c->cfg_lock, NULL)) != 0) {
		free(c);
		return NULL;
	}
	c->waiter_fd = -1;
	c->peer_desc = mtls_no_peer_desc;
	c->role = role;
	c->plain = cfg->plaintext;
	c->interruptible = cfg->interruptible;
	c->signals_held = cfg->signals_held;
	c->wait_mask = cfg->wait_mask;
	c->fd = -1;
	c->alert_received = -1;
	c->cfg = mtls_config_ref(cfg);
	mtls_config_freeze(cfg);
	return c;
}

static struct mtls *
conn_new_checked(struct mtls_config *cfg, enum mtls_role role)
{
	struct mtls *c;

	/* Other threads may be making connections from cfg now too: from here
	 * on its failures are reported to each thread apart. */
	mtls_config_share(cfg);
	mtls_recipe_settle(cfg);
	/* A plaintext config verifies nobody and presents nothing. */
	if (!cfg->plaintext && mtls_check_tls_role(cfg, role) != 0)
		return NULL;
	if ((c = mtls_conn_alloc(cfg, role)) == NULL)
		CFG_FAIL(cfg, errno == ENOMEM ? MTLS_ERR_NOMEM : MTLS_ERR_IO,
		    "cannot create a connection object: %s", strerror(errno));
	return c;
}

/* current's failure, reported on cfg: copied first, as both may be the
 * calling thread's one record. */
static void
fail_as(struct mtls_config *cfg, struct mtls_config *current)
{
	char msg[MTLS_ERRBUF];
	int code = mtls_config_error_code(current);
	const char *text = mtls_config_error(current);

	snprintf(msg, sizeof(msg), "%s", text != NULL ? text : "unknown error");
	CFG_FAIL(cfg, code, "%s", msg);
}

/* A watched cfg (watch.c): the role is checked on its current config, a
 * client is made from that config, and a server holds cfg itself, so
 * that its accepted connections follow the reloads.  A failure is
 * reported on cfg, where the caller reads it. */
static struct mtls *
conn_new_watched(struct mtls_config *cfg, enum mtls_role role)
{
	struct mtls_config *current = mtls_watch_current(cfg, role);
	struct mtls *c = NULL;

	mtls_config_share(cfg);
	mtls_config_share(current);
	if (!current->plaintext && mtls_check_tls_role(current, role) != 0) {
		if (current != cfg)
			fail_as(cfg, current);
	} else if ((c = mtls_conn_alloc(role == ROLE_SERVER ? cfg : current,
	    role)) == NULL) {
		CFG_FAIL(cfg, errno == ENOMEM ? MTLS_ERR_NOMEM : MTLS_ERR_IO,
		    "cannot create a connection object: %s", strerror(errno));
	}
	mtls_config_free(current);
	return c;
}

static struct mtls *
conn_new(struct mtls_config *cfg, enum mtls_role role)
{
	if (cfg == NULL)
		return NULL;
	return cfg->watch != NULL ? conn_new_watched(cfg, role) :
	    conn_new_checked(cfg, role);
}

MTLS_EXPORT struct mtls *
mtls_client_new(struct mtls_config *cfg)
{
	return conn_new(cfg, ROLE_CLIENT);
}

MTLS_EXPORT struct mtls *
mtls_server_new(struct mtls_config *cfg)
{
	return conn_new(cfg, ROLE_SERVER);
}

/* Puts a TLS session with our BIO on c's socket, in c's role. */
static int
attach_tls(struct mtls *c)
{
	int mode = SSL_VERIFY_PEER;
	BIO *bio;

	c->ssl = SSL_new(c->cfg->ctx);
	bio = c->ssl != NULL ? mtls_bio_new(c) : NULL;
	if (bio == NULL)
		return CONN_FAIL_SSL(c, mtls_ssl_failure_code(), "cannot create a "
		    "TLS session (%s)", c->ssl == NULL ? "SSL_new" : "BIO_new");
	SSL_set_bio(c->ssl, bio, bio);
	SSL_set_app_data(c->ssl, c);
	if (c->role == ROLE_CLIENT) {
		SSL_set_connect_state(c->ssl);
	} else {
		/* Insecure: ask for no certificate; optional: do not insist. */
		if (c->cfg->insecure_noverify)
			mode = SSL_VERIFY_NONE;
		else if (c->cfg->verify_client == MTLS_VERIFY_CLIENT_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		mtls_session_prepare_accepted(c);
		SSL_set_accept_state(c->ssl);
	}
	SSL_set_verify(c->ssl, mode, mtls_verify_cb);
	return 0;
}

/*
 * Makes c a connection over the connected socket fd: with a TLS session,
 * or, from a plaintext config, the bare socket.  A socket the caller made
 * non-blocking means an event loop drives us (WANT_* results); otherwise
 * the socket is made non-blocking and io.c waits with poll(), which is
 * what gives us timeouts and mtls_wake, on both kinds.
 */
int
mtls_conn_attach(struct mtls *c, int fd, bool own_fd)
{
	int flags = fcntl(fd, F_GETFL);

	ENSURE_CONN(flags >= 0, c, MTLS_ERR_INVALID, "not a usable socket (fd %d): "
	    "%s", fd, strerror(errno));
	c->nonblocking = !own_fd && (flags & O_NONBLOCK);
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return CONN_FAIL(c, MTLS_ERR_IO, "cannot set socket options: %s",
		    strerror(errno));
	c->fd = fd;
	c->own_fd = own_fd;
	/* From accept (or connect) on, however many calls it takes. */
	c->handshake_deadline = mtls_deadline(c->cfg->handshake_ms);
	if (mtls_proxy_attach(c) != 0 || (!c->plain && attach_tls(c) != 0))
		return -1;
	c->attached = true;
	return 0;
}

MTLS_EXPORT void
mtls_free(struct mtls *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	if (c->own_fd && c->fd >= 0)
		close(c->fd);
	free(c->verify_name);
	free(c->ev);
	free(c->err);
	mtls_peer_desc_free(c);
	free(c->session_key);
	free(c->host_header);
	X509_free(c->refused_cert);
	free(c->description);
	for (size_t i = 0; c->acceptable_ca != NULL && c->acceptable_ca[i]; i++)
		free(c->acceptable_ca[i]);
	free(c->acceptable_ca);
	pthread_mutex_destroy(&c->cfg_lock);
	mtls_peer_free(&c->peer);
	if (c->client != NULL)
		free(c->client->hdr);
	free(c->client);
	if (c->ext_free != NULL)
		c->ext_free(c);
	mtls_config_free(c->cfg);
	free(c);
}

MTLS_EXPORT int
mtls_fd(struct mtls *c)
{
	return c != NULL ? c->fd : -1;
}

MTLS_EXPORT int
mtls_local_port(struct mtls *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (c == NULL || c->fd < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

MTLS_EXPORT int
mtls_set_verify_name(struct mtls *c, const char *name)
{
	char *copy;

	if (c == NULL)
		return -1;
	ENSURE_CONN(c->role == ROLE_CLIENT && !c->attached, c, MTLS_ERR_INVALID,
	    "the verify name is set on a client before it connects");
	ENSURE_CONN(name != NULL && *name != '\0', c, MTLS_ERR_INVALID,
	    "empty verify name");
	ENSURE_CONN((copy = strdup(name)) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	free(c->verify_name);
	c->verify_name = copy;
	return 0;
}

/* "127.0.0.1:8443" or "[::1]:8443", for messages. */
void
mtls_describe_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	} else {
		snprintf(buf, len, "the peer");
	}
}

/* ------------------------------------------- for the layer above (HTTP) */

struct mtls_config *
mtls_conn_config(const struct mtls *c)
{
	return c->cfg;
}

const char *
mtls_conn_peer_desc(const struct mtls *c)
{
	return c->peer_desc;
}

const char *
mtls_conn_host_header(const struct mtls *c)
{
	return c->host_header;
}

bool
mtls_conn_is_accepted(const struct mtls *c)
{
	return c->role == ROLE_ACCEPTED;
}

bool
mtls_conn_is_plain(const struct mtls *c)
{
	return c->plain;
}

bool
mtls_conn_is_nonblocking(const struct mtls *c)
{
	return c->nonblocking;
}

bool
mtls_conn_handshake_done(const struct mtls *c)
{
	return c->handshake_done;
}

bool
mtls_conn_has_failed(const struct mtls *c)
{
	return c->fatal;
}

void *
mtls_conn_ext(const struct mtls *c)
{
	return c->ext;
}

void
mtls_conn_set_ext(struct mtls *c, void *ext, void (*ext_free)(struct mtls *c))
{
	c->ext = ext;
	c->ext_free = ext_free;
}
