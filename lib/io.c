/*
 * io.c - handshake, read, write and close, on blocking sockets (their
 * timed waits are wait.c's) and non-blocking ones
 * (MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT), over a socket BIO of our own
 * that writes with MSG_NOSIGNAL so that no peer can kill us with SIGPIPE.
 * A plain connection (mtls_config_insecure_plaintext) reads and writes
 * the socket itself; its steps report as SSL calls do (SSL_ERROR_*), so
 * that one loop waits, retries and fails for both.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mtls_internal.h"

/* ------------------------------------------------------------- the BIO */

static int
bio_write(BIO *b, const char *buf, int len)
{
	struct mtls *c = BIO_get_data(b);
	ssize_t n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		else
			c->last_errno = errno;
	}
	return (int)n;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	struct mtls *c = BIO_get_data(b);
	ssize_t n = recv(c->fd, buf, (size_t)len, 0);

	BIO_clear_retry_flags(b);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_read(b);
		else
			c->last_errno = errno;
	} else if (n == 0) {
		c->eof = true;
	}
	return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct mtls *c = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		/* Lets OpenSSL tell a truncated stream from a retry. */
		return c->eof;
	default:
		return 0;
	}
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void
bio_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "libmtls socket");

	if (m == NULL)
		return;
	BIO_meth_set_write(m, bio_write);
	BIO_meth_set_read(m, bio_read);
	BIO_meth_set_ctrl(m, bio_ctrl);
	BIO_meth_set_create(m, bio_create);
	bio_method = m;
}

BIO *
mtls_bio_new(struct mtls *c)
{
	BIO *b;

	pthread_once(&bio_once, bio_method_init);
	if (bio_method == NULL || (b = BIO_new(bio_method)) == NULL)
		return NULL;
	BIO_set_data(b, c);
	return b;
}

/*
 * One step of an SSL call that wants to wait: returns 1 to retry, the
 * WANT_* value for an event loop, or -1.
 */
static int
await(struct mtls *c, int ssl_err, long deadline, int timeout_ms,
    const char *what)
{
	int events = ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;

	if (c->nonblocking) {
		/* A deadline kept across calls (the HTTP helper's) that the
		 * caller's loop let pass fails as a blocking wait would. */
		if (deadline >= 0 && mtls_now_ms() >= deadline)
			return mtls_fail_timeout(c, what, timeout_ms);
		return events == POLLIN ? MTLS_WANT_POLLIN : MTLS_WANT_POLLOUT;
	}
	return mtls_wait(c, events, deadline, timeout_ms, what) == 0 ? 1 : -1;
}

static bool
wants_io(int ssl_err)
{
	return ssl_err == SSL_ERROR_WANT_READ || ssl_err == SSL_ERROR_WANT_WRITE;
}

static int
check_usable(struct mtls *c)
{
	if (c == NULL)
		return -1;
	ENSURE_CONN(c->attached && c->role != ROLE_SERVER, c, MTLS_ERR_INVALID,
	    "not a connection: connect or accept first");
	ENSURE_CONN(!c->closed && !c->fatal, c, MTLS_ERR_INVALID,
	    "connection is %s", c->closed ? "closed" :
	    "unusable after an earlier error");
	return 0;
}

/* --------------------------------------------------------- the steps */

/* A failed recv or send of a plain connection: want (to wait) when it
 * would block, else SSL_ERROR_SYSCALL with errno kept for the message. */
static int
socket_error(struct mtls *c, int want)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return want;
	c->last_errno = errno;
	return SSL_ERROR_SYSCALL;
}

/*
 * One read attempt: SSL_ERROR_NONE with *got set, SSL_ERROR_ZERO_RETURN
 * at a clean end, or another SSL_ERROR_* code.  Plain TCP has no
 * close_notify: its end of file is the clean end.
 */
static int
read_step(struct mtls *c, void *buf, size_t len, size_t *got)
{
	ssize_t n;

	ERR_clear_error();
	if (!c->plain)
		return SSL_read_ex(c->ssl, buf, len, got) == 1 ?
		    SSL_ERROR_NONE : SSL_get_error(c->ssl, 0);
	if (len == 0) {
		*got = 0;
		return SSL_ERROR_NONE;
	}
	if ((n = recv(c->fd, buf, len, 0)) < 0)
		return socket_error(c, SSL_ERROR_WANT_READ);
	*got = (size_t)n;
	return n > 0 ? SSL_ERROR_NONE : SSL_ERROR_ZERO_RETURN;
}

/*
 * One attempt to write all of buf: SSL_ERROR_NONE when it is all out,
 * else another SSL_ERROR_* code.  Like SSL_write_ex without partial
 * writes, a plain write that must wait keeps its progress (c->plain_sent)
 * for the retry with the same buf and len.
 */
static int
write_step(struct mtls *c, const void *buf, size_t len)
{
	size_t done;

	ERR_clear_error();
	if (!c->plain)
		return SSL_write_ex(c->ssl, buf, len, &done) == 1 ?
		    SSL_ERROR_NONE : SSL_get_error(c->ssl, 0);
	while (c->plain_sent < len) {
		ssize_t n = send(c->fd, (const char *)buf + c->plain_sent,
		    len - c->plain_sent, MSG_NOSIGNAL);

		if (n < 0)
			return socket_error(c, SSL_ERROR_WANT_WRITE);
		c->plain_sent += (size_t)n;
	}
	c->plain_sent = 0;
	return SSL_ERROR_NONE;
}

/*
 * Whether a read on c could return something now: bytes decrypted or
 * buffered by TLS, or a readable socket (data, an alert or the end).
 */
bool
mtls_input_pending(struct mtls *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (!c->plain && SSL_has_pending(c->ssl))
		return true;
	return poll(&pfd, 1, 0) > 0;
}

/* ------------------------------------------------------------ the calls */

MTLS_EXPORT long
mtls_handshake_ms_left(struct mtls *c)
{
	long left;

	if (c == NULL || !c->attached || c->plain || c->handshake_done ||
	    c->handshake_deadline < 0)
		return -1;
	left = c->handshake_deadline - mtls_now_ms();
	return left > 0 ? left : 0;
}

/* The handshake's deadline has passed: the connection is done for. */
static int
fail_handshake_deadline(struct mtls *c)
{
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_TIMEOUT, "TLS handshake with %s timed out "
	    "after %d ms", c->peer_desc, c->cfg->handshake_ms);
}

/*
 * What the server helper's MTLS_HTTP_NOWAIT needs of a handshake: the
 * steps that can be made with what has arrived, then MTLS_WANT_POLLIN
 * instead of a wait for more, so that a silent or trickling client holds
 * no thread.  A wait to write (a client that does not read our flight)
 * still blocks, bounded by the deadline.  Returns as mtls_handshake.
 */
int
mtls_handshake_step(struct mtls *c)
{
	bool nonblocking = c->nonblocking;
	int rc;

	c->nonblocking = true;
	rc = mtls_handshake(c);
	c->nonblocking = nonblocking;
	return rc == MTLS_WANT_POLLOUT ? mtls_handshake(c) : rc;
}

MTLS_EXPORT int
mtls_handshake(struct mtls *c)
{
	long deadline;
	int rc;

	if (check_usable(c) != 0)
		return -1;
	/* A load balancer's PROXY header comes before anything else. */
	if (c->client != NULL && c->client->pending &&
	    (rc = mtls_proxy_read_header(c)) != 0)
		return rc;
	/* A plain connection has no handshake: it is ready once attached. */
	if (c->handshake_done || c->plain)
		return 0;
	deadline = c->handshake_deadline;
	if (deadline >= 0 && mtls_handshake_ms_left(c) == 0)
		return fail_handshake_deadline(c);
	for (;;) {
		ERR_clear_error();
		rc = SSL_do_handshake(c->ssl);
		if (rc == 1) {
			c->handshake_done = true;
			return mtls_policy_after_handshake(c);
		}
		rc = SSL_get_error(c->ssl, rc);
		if (!wants_io(rc))
			return mtls_fail_ssl(c, rc, MTLS_OP_HANDSHAKE);
		if ((rc = await(c, rc, deadline, c->cfg->handshake_ms,
		    "TLS handshake")) != 1) {
			if (rc == -1 && mtls_error_code(c) == MTLS_ERR_TIMEOUT)
				c->fatal = true;
			return rc;
		}
	}
}

/*
 * A read that waits until deadline (the limit of timeout_ms, named "what"
 * in a timeout's message): mtls_read with the I/O timeout, and the HTTP
 * helpers with theirs.
 */
ssize_t
mtls_read_timed(struct mtls *c, void *buf, size_t len, long deadline,
    int timeout_ms, const char *what)
{
	size_t got;
	int rc;

	if ((rc = mtls_handshake(c)) != 0)
		return rc;
	ENSURE_CONN(buf != NULL || len == 0, c, MTLS_ERR_INVALID,
	    "read into a NULL buffer");
	for (;;) {
		if ((rc = read_step(c, buf, len, &got)) == SSL_ERROR_NONE)
			return (ssize_t)got;
		if (rc == SSL_ERROR_ZERO_RETURN)
			return 0;       /* close_notify, or a plain end of file */
		if (!wants_io(rc))
			return mtls_fail_ssl(c, rc, MTLS_OP_READ);
		if ((rc = await(c, rc, deadline, timeout_ms, what)) != 1)
			return rc;
	}
}

MTLS_EXPORT ssize_t
mtls_read(struct mtls *c, void *buf, size_t len)
{
	int rc;

	/* The I/O timeout starts once the handshake is done. */
	if ((rc = mtls_handshake(c)) != 0)
		return rc;
	return mtls_read_timed(c, buf, len, mtls_deadline(c->cfg->io_ms),
	    c->cfg->io_ms, "read");
}

/*
 * A write that waits until deadline (the limit of timeout_ms, named "what"
 * in a timeout's message): mtls_write with the I/O timeout, and the HTTP
 * helpers with theirs.
 */
ssize_t
mtls_write_timed(struct mtls *c, const void *buf, size_t len, long deadline,
    int timeout_ms, const char *what)
{
	int rc;

	if ((rc = mtls_handshake(c)) != 0)
		return rc;
	if (len == 0)
		return 0;
	ENSURE_CONN(buf != NULL, c, MTLS_ERR_INVALID, "write from a NULL buffer");
	for (;;) {
		/* Without SSL_MODE_ENABLE_PARTIAL_WRITE this writes all or waits. */
		if ((rc = write_step(c, buf, len)) == SSL_ERROR_NONE)
			return (ssize_t)len;
		rc = wants_io(rc) ? await(c, rc, deadline, timeout_ms, what) :
		    mtls_fail_ssl(c, rc, MTLS_OP_WRITE);
		/* A failed write is not resumed; one that returns WANT_* or was
		 * interrupted by a signal is, when called again. */
		if (rc == -1 && mtls_error_code(c) != MTLS_ERR_INTERRUPTED)
			c->plain_sent = 0;
		if (rc != 1)
			return rc;
	}
}

MTLS_EXPORT ssize_t
mtls_write(struct mtls *c, const void *buf, size_t len)
{
	int rc, ms;

	/* The I/O timeout starts once the handshake is done. */
	if ((rc = mtls_handshake(c)) != 0)
		return rc;
	ms = mtls_config_write_ms(c->cfg);
	return mtls_write_timed(c, buf, len, mtls_deadline(ms), ms, "write");
}

static void
close_socket(struct mtls *c)
{
	c->closed = true;
	if (c->own_fd && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Sends our close_notify; the peer's is not awaited (RFC 8446, 6.1). */
static int
send_close_notify(struct mtls *c)
{
	long deadline = mtls_deadline(c->cfg->io_ms > 0 ? c->cfg->io_ms : 5000);
	int rc;

	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_shutdown(c->ssl)) >= 0)
			return 0;
		rc = SSL_get_error(c->ssl, rc);
		if (!wants_io(rc))
			return CONN_FAIL(c, MTLS_ERR_CLOSED, "could not send "
			    "close_notify: the peer has gone away");
		if ((rc = await(c, rc, deadline, 5000, "close")) != 1)
			return rc;
	}
}

MTLS_EXPORT int
mtls_close(struct mtls *c)
{
	int rc = 0;

	if (c == NULL)
		return -1;
	if (c->closed)
		return 0;
	if (c->ssl != NULL && c->handshake_done && !c->fatal) {
		rc = send_close_notify(c);
		if (rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT)
			return rc;
	} else if (c->plain && c->attached && !c->fatal) {
		/* Plain TCP's end of data is our FIN, for a caller's socket too;
		 * a peer already gone makes no difference here. */
		(void)shutdown(c->fd, SHUT_WR);
	}
	close_socket(c);
	return rc;
}
