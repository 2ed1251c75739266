/*
 * load_conn.c - one connection of the bench client, from its TCP connect
 * through its TLS handshake to its HTTP requests, driven by a thread's
 * edge-triggered epoll loop without ever waiting: each step goes as far
 * as the socket allows and returns on SSL_ERROR_WANT_READ/WRITE.
 *
 * The server is verified against the CA file and the host name.  Each
 * thread verifies a server certificate the first time it sees it and
 * trusts the same certificate (the same DER) again without the chain's
 * signature check, as browsers' verifier caches do; the servers still
 * verify every client certificate.  With the lean library context
 * (lean_libctx.c), a full handshake costs the client about what it costs
 * the cheapest server.
 *
 * A response is enough of HTTP/1.1 for the bench: its status must be 200,
 * its length is its Content-Length, and "Connection: close" ends a
 * kept-alive connection (the next request then opens a new one).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* strcasestr */
#endif
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "lean_libctx.h"
#include "load.h"

#define MAX_EVENTS 256

static int stop;                /* an operation failed: every thread ends */

long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, errno ? strerror(errno) : "");
	ERR_print_errors_fp(stderr);
	exit(1);
}

bool
holding(void)
{
	return cfg.mode == IDLE || cfg.mode == SILENT;
}

bool
fresh(void)
{
	return cfg.mode == FULL || cfg.mode == RESUMED ||
	    (cfg.mode == LATENCY && !cfg.keep);
}

static bool
stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED) != 0;
}

/* The certificate verify callback: a certificate the thread verified
 * before (the same DER) is trusted again; any other is verified against
 * the CA file and the host name (X509_verify_cert) and remembered. */
static int
verify_server(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct worker *w = ((struct slot *)SSL_get_app_data(ssl))->w;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);

	(void)arg;
	if (w->verified != NULL && X509_cmp(cert, w->verified) == 0)
		return 1;
	if (X509_verify_cert(xs) != 1)
		return 0;
	X509_free(w->verified);
	X509_up_ref(cert);
	w->verified = cert;
	return 1;
}

/* The private key, read in the default library context: the lean one has
 * no private-key decoders. */
static EVP_PKEY *
read_key(const char *file)
{
	BIO *in = BIO_new_file(file, "r");
	EVP_PKEY *key = in != NULL ? PEM_read_bio_PrivateKey(in, NULL, NULL,
	    NULL) : NULL;

	BIO_free(in);
	if (key == NULL)
		die(file);
	return key;
}

void
setup_ctx(const char *cert, const char *key_file, const char *ca)
{
	EVP_PKEY *key = read_key(key_file);

	if ((cfg.ctx = SSL_CTX_new_ex(lean_libctx(), NULL,
	    TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(cfg.ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(cfg.ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(cfg.ctx, key) != 1 ||
	    SSL_CTX_load_verify_locations(cfg.ctx, ca, NULL) != 1)
		die("TLS setup");
	EVP_PKEY_free(key);
	SSL_CTX_set_verify(cfg.ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(cfg.ctx, verify_server, NULL);
	/* The client sends the chain of its certificate file, not one that
	 * libssl would build (and verify, in every handshake) from the CA
	 * file, which here happens to hold the client's issuer too: a client
	 * verifying its server with a public CA bundle would not find it
	 * there, and a trust anchor may be omitted (RFC 8446, 4.4.2). */
	SSL_CTX_set_mode(cfg.ctx, SSL_MODE_NO_AUTO_CHAIN);
	/* Sessions are kept by their slot (resumed), not in a cache. */
	SSL_CTX_set_session_cache_mode(cfg.ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL);
	/* One recv for what has arrived (up to four full records), not one
	 * per record part. */
	SSL_CTX_set_read_ahead(cfg.ctx, 1);
	SSL_CTX_set_default_read_buffer_len(cfg.ctx, 4 * SSL3_RT_MAX_PLAIN_LENGTH);
	/* Thousands of held connections: no buffers while they are idle. */
	if (holding())
		SSL_CTX_set_mode(cfg.ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* A new TCP connection for s (and, but for silent, its TLS object); it
 * stays in the thread's epoll set, edge-triggered, until it is closed. */
static void
slot_connect(struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
	    .data.ptr = s };
	int one = 1;

	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		die("socket");
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&cfg.addr, sizeof(cfg.addr)) != 0 &&
	    errno != EINPROGRESS)
		die("connect");
	if (epoll_ctl(s->w->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
		die("epoll_ctl");
	s->stage = CONNECTING;
	s->start_us = now_us();
	s->sent = s->got = 0;
	s->body_left = -1;
	s->close_after = false;
	if (cfg.mode == SILENT)
		return;
	if ((s->ssl = SSL_new(cfg.ctx)) == NULL)
		die("SSL_new");
	SSL_set_fd(s->ssl, s->fd);
	SSL_set_app_data(s->ssl, s);
	SSL_set_tlsext_host_name(s->ssl, cfg.host);
	SSL_set1_host(s->ssl, cfg.host);
	if (cfg.mode == RESUMED && s->session != NULL)
		SSL_set_session(s->ssl, s->session);
}

/* Opens the thread's next connection, if one is left to open. */
static void
start_next(struct worker *w)
{
	if (w->started < w->nslots)
		slot_connect(&w->slots[w->started++]);
}

void
slot_close(struct slot *s)
{
	if (s->ssl != NULL) {
		if (cfg.mode == RESUMED) {
			SSL_SESSION_free(s->session);
			s->session = SSL_get1_session(s->ssl);
		}
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		ERR_clear_error();  /* a shutdown the server did not wait for */
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);       /* also takes it out of the epoll set */
	s->fd = -1;
}

/* An operation failed: said (the first few times), counted, closed.  A
 * held connection that could not open only counts; any other failure
 * ends the run. */
static void
fail(struct slot *s, const char *what, const char *why)
{
	static int said;

	if (__atomic_fetch_add(&said, 1, __ATOMIC_RELAXED) < 5)
		fprintf(stderr, "load: %s: %s\n", what, why);
	ERR_clear_error();
	s->w->errors++;
	slot_close(s);
	if (holding()) {
		s->w->settled++;
		start_next(s->w);
	} else {
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	}
}

/* Why the SSL call that gave err failed. */
static const char *
ssl_reason(struct slot *s, int err)
{
	long verify = SSL_get_verify_result(s->ssl);
	const char *reason = ERR_reason_error_string(ERR_peek_error());

	if (err == SSL_ERROR_SSL && verify != X509_V_OK)
		return X509_verify_cert_error_string(verify);
	if (err == SSL_ERROR_SSL && reason != NULL)
		return reason;
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		return strerror(errno);
	return "the server closed the connection";
}

/* rc, from an SSL call, says to wait for the socket (true), or the call
 * failed and s is closed (false). */
static bool
must_wait(struct slot *s, int rc, const char *what)
{
	int err = SSL_get_error(s->ssl, rc);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return true;
	fail(s, what, ssl_reason(s, err));
	return false;
}

/* The response head, once whole in s->head: its status must be 200 and
 * it must give a Content-Length.  0: not whole yet; -1: bad (s failed). */
static int
parse_head(struct slot *s)
{
	char *end, *cl, *conn;
	size_t body;

	s->head[s->got] = '\0';
	if ((end = strstr(s->head, "\r\n\r\n")) == NULL) {
		if (s->got < HEAD_MAX - 1)
			return 0;
		fail(s, "response", "head longer than 4 KiB");
		return -1;
	}
	*end = '\0';
	if (strncmp(s->head, "HTTP/1.", 7) != 0 || strncmp(s->head + 8, " 200", 4) != 0 ||
	    (s->head[12] != ' ' && s->head[12] != '\0')) {
		fail(s, "response", strtok(s->head, "\r"));
		return -1;
	}
	if ((cl = strcasestr(s->head, "\r\nContent-Length:")) == NULL) {
		fail(s, "response", "no Content-Length");
		return -1;
	}
	conn = strcasestr(s->head, "\r\nConnection:");
	s->close_after = conn != NULL && strncasecmp(conn + 13 +
	    strspn(conn + 13, " "), "close", 5) == 0;
	body = s->got - (size_t)(end + 4 - s->head);
	s->body_left = atoll(cl + 17) - (long long)body;
	if (s->body_left < 0) {
		fail(s, "response", "more than its Content-Length");
		return -1;
	}
	s->w->body_bytes += body;
	return 1;
}

/* One operation done: its time kept (of the first COUNT), counted. */
static void
record(struct slot *s)
{
	struct worker *w = s->w;

	w->progress_us = now_us();
	if (w->ops < w->count)
		w->lat[w->ops] = w->progress_us - s->start_us;
	w->ops++;
}

/* The next request on s's kept-alive connection. */
static void
next_request(struct slot *s)
{
	s->stage = SENDING;
	s->sent = s->got = 0;
	s->body_left = -1;
	s->start_us = now_us();
}

/* One response read whole: counted; then the slot's next operation, if
 * the thread has one to do. */
static void
op_done(struct slot *s)
{
	struct worker *w = s->w;
	bool more = !w->warming && w->ops + 1 < w->count && !stopped();

	record(s);
	if (cfg.mode == RESUMED && SSL_session_reused(s->ssl))
		w->reused++;
	if (cfg.mode == IDLE) {
		s->stage = HELD;
		w->settled++;
		start_next(w);
	} else if (!fresh() && !s->close_after) {
		if (more)
			next_request(s);
		else
			s->stage = PARKED;
	} else {
		if (!fresh())
			w->reconnects++;    /* the server ended a kept-alive one */
		slot_close(s);
		if (more)
			slot_connect(s);
	}
}

/* Reads what has come of the response; false when s must wait or is
 * closed, or the response is whole. */
static bool
receive(struct slot *s)
{
	int rc;

	if (s->body_left < 0) {
		rc = SSL_read(s->ssl, s->head + s->got, (int)(HEAD_MAX - 1 - s->got));
		if (rc <= 0)
			return (void)must_wait(s, rc, "read"), false;
		s->got += (size_t)rc;
		if (parse_head(s) <= 0)
			return s->fd >= 0;
	} else if (s->body_left > 0) {
		rc = SSL_read(s->ssl, s->w->scratch, sizeof(s->w->scratch));
		if (rc <= 0)
			return (void)must_wait(s, rc, "read"), false;
		s->body_left -= rc;
		s->w->body_bytes += (unsigned long long)rc;
	}
	if (s->body_left != 0)
		return true;
	op_done(s);
	return s->stage == SENDING;     /* else parked, held, closed, connecting */
}

/* The connection is made (or not); false when it failed or is held. */
static bool
connected(struct slot *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		fail(s, "connect", strerror(err != 0 ? err : errno));
		return false;
	}
	if (cfg.mode != SILENT) {
		s->stage = HANDSHAKE;
		return true;
	}
	s->stage = HELD;
	record(s);
	s->w->settled++;
	start_next(s->w);
	return false;
}

/* Drives s as far as it goes without waiting for its socket. */
static void
step(struct slot *s, uint32_t events)
{
	int rc;

	for (;;) {
		switch (s->stage) {
		case CONNECTING:
			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) || !connected(s))
				return;
			break;
		case HANDSHAKE:
			if ((rc = SSL_connect(s->ssl)) != 1)
				return (void)must_wait(s, rc, "handshake");
			s->stage = SENDING;
			break;
		case SENDING:
			rc = SSL_write(s->ssl, cfg.request + s->sent,
			    (int)(cfg.request_len - s->sent));
			if (rc <= 0)
				return (void)must_wait(s, rc, "write");
			if ((s->sent += (size_t)rc) == cfg.request_len)
				s->stage = RECEIVING;
			break;
		case RECEIVING:
			if (!receive(s))
				return;
			break;
		case PARKED:
		case HELD:
		default:
			return;     /* held ones are checked when released */
		}
	}
}

/* Is an operation of the thread's under way? */
static bool
in_flight(const struct worker *w)
{
	for (long i = 0; i < w->nslots; i++)
		if (w->slots[i].fd >= 0 && w->slots[i].stage != PARKED)
			return true;
	return false;
}

/* Has the thread done its part: (held) opened or failed every connection,
 * or waited STALL seconds for the next; or (else) finished every
 * operation it began, or seen one fail? */
static bool
done(const struct worker *w)
{
	if (holding())
		return w->settled >= w->nslots ||
		    now_us() - w->progress_us > STALL * 1000000L;
	return stopped() || !in_flight(w);
}

static void
run_loop(struct worker *w, long deadline_us)
{
	struct epoll_event evs[MAX_EVENTS];

	while (!done(w) && now_us() < deadline_us) {
		int n = epoll_wait(w->ep, evs, MAX_EVENTS, 100);

		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			if (s->fd >= 0)
				step(s, evs[i].events);
		}
	}
}

void
worker_warm(struct worker *w)
{
	w->warming = true;
	while (w->started < w->nslots)
		start_next(w);
	run_loop(w, now_us() + cfg.seconds * 1000000L);
	if (in_flight(w) && !stopped()) {
		fprintf(stderr, "load: the warm-up took more than %ld s\n",
		    cfg.seconds);
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	}
	w->warming = false;
	w->ops = w->reused = w->reconnects = 0;
	w->body_bytes = 0;
}

void
worker_run(struct worker *w)
{
	w->progress_us = now_us();
	while (w->started < w->nslots && w->started < RAMP && holding())
		start_next(w);
	for (long i = 0; i < w->nslots && !holding() && !stopped(); i++) {
		struct slot *s = &w->slots[i];

		if (s->fd < 0) {
			slot_connect(s);
		} else {
			next_request(s);
			step(s, 0);
		}
	}
	run_loop(w, cfg.deadline_us);
}
