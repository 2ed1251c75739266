/*
 * http_io.c - reading HTTP/1.1 messages off a connection, for both the
 * client and the server helper: the connection's input buffer, a head,
 * and a body in each framing (RFC 9112, 6.3).  What is read past one
 * message stays in the buffer for the next (keep-alive, pipelining).
 */
#include <stdlib.h>
#include <string.h>

#include "http_conn.h"

#define READ_CHUNK 16384

/* Appends to a growing NUL-terminated buffer; false when out of memory. */
bool
http_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *grown = realloc(*buf, want);

		if (grown == NULL)
			return false;
		*buf = grown;
		*cap = want;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

void
http_inbuf_free(struct http_inbuf *in)
{
	free(in->data);
	memset(in, 0, sizeof(*in));
}

/* Room for READ_CHUNK more bytes (and a NUL) at the end of the buffer. */
static int
make_room(struct mtls *c, struct http_inbuf *in)
{
	char *grown;

	if (in->off == in->len) {
		in->off = in->len = 0;
	} else if (in->off > 0 && in->len + READ_CHUNK + 1 > in->cap) {
		memmove(in->data, in->data + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (in->len + READ_CHUNK + 1 <= in->cap)
		return 0;
	ENSURE_CONN((grown = realloc(in->data, in->len + READ_CHUNK + 1)) != NULL,
	    c, MTLS_ERR_NOMEM, "out of memory");
	in->data = grown;
	in->cap = in->len + READ_CHUNK + 1;
	return 0;
}

const struct http_timer *
http_timer_start(struct http_timer *t, int ms, const char *what)
{
	if (t->what != what) {
		t->deadline = mtls_deadline(ms);
		t->ms = ms;
		t->what = what;
	}
	return t;
}

void
http_timer_stop(struct http_timer *t)
{
	t->what = NULL;
}

static ssize_t
timed_read(struct mtls *c, const struct http_timer *t, void *buf, size_t len)
{
	return t != NULL ? mtls_read_timed(c, buf, len, t->deadline, t->ms,
	    t->what) : mtls_read(c, buf, len);
}

/*
 * Reads more bytes into c's input buffer, waiting until t's deadline (NULL:
 * the connection's I/O timeout).  A connection without a buffer gets one
 * only when bytes arrive, and one left empty by a read that would wait
 * gives its buffer up: a parked connection holds none.  Returns the number
 * read, 0 at a clean end of the stream, MTLS_WANT_* on a non-blocking
 * connection, or -1 with the error on c.
 */
ssize_t
http_fill(struct mtls *c, const struct http_timer *t)
{
	struct http_inbuf *in = &HTTP_CONN(c)->in;
	char first[READ_CHUNK];
	ssize_t n;

	if (in->data == NULL) {
		if ((n = timed_read(c, t, first, sizeof(first))) <= 0)
			return n;
		if (make_room(c, in) != 0)
			return -1;
		memcpy(in->data, first, (size_t)n);
		in->len = (size_t)n;
		return n;
	}
	if (make_room(c, in) != 0)
		return -1;
	n = timed_read(c, t, in->data + in->len, READ_CHUNK);
	if (n > 0)
		in->len += (size_t)n;
	else if ((n == MTLS_WANT_POLLIN || n == MTLS_WANT_POLLOUT) &&
	    in->off == in->len)
		http_inbuf_free(in);
	return n;
}

/*
 * Reads until c's buffer holds a whole head.  Returns its length (the head
 * is at in.data + in.off of c's HTTP state); 0 when the stream ended cleanly
 * before its first byte; HTTP_HEAD_BAD with *bad_status (400, 414, 431)
 * when what arrived cannot be a head; HTTP_HEAD_CUT when the stream ended
 * inside the head; MTLS_WANT_* on a non-blocking connection (what arrived
 * stays in the buffer for the next call); -1 with the error on c.
 */
long
http_read_head(struct mtls *c, const struct http_limits *lim, bool is_request,
    const struct http_timer *t, int *bad_status)
{
	struct http_inbuf *in = &HTTP_CONN(c)->in;

	for (;;) {
		/* An idle connection has no buffer yet (NULL): nothing to look
		 * at, and NULL + 0 is undefined in C. */
		long end = in->data == NULL ? 0 : http_head_end(in->data + in->off,
		    in->len - in->off, lim, is_request);
		ssize_t n;

		if (end > 0)
			return end;
		if (end < 0) {
			*bad_status = (int)-end;
			return HTTP_HEAD_BAD;
		}
		if ((n = http_fill(c, t)) == 0)
			return in->len > in->off ? HTTP_HEAD_CUT : 0;
		if (n < 0)
			return n == MTLS_WANT_POLLIN || n == MTLS_WANT_POLLOUT ? n : -1;
	}
}

void
http_body_init(struct http_body *b, const struct http_head *h, uint64_t max,
    const char *peer, int timeout_ms)
{
	memset(b, 0, sizeof(*b));
	b->framing = h->framing;
	b->left = h->content_length;
	b->max = max;
	b->peer = peer;
	b->timeout_ms = timeout_ms;
	http_chunked_init(&b->chunked);
	b->done = b->framing == HTTP_BODY_NONE ||
	    (b->framing == HTTP_BODY_LENGTH && b->left == 0);
}

static const char BODY_READ[] = "reading the HTTP body";

/* The body's timer: each read must make progress within its timeout (as
 * nginx's client_body_timeout); NULL when the I/O timeout bounds them. */
static const struct http_timer *
body_timer(struct mtls *c, const struct http_body *b)
{
	if (b->timeout_ms <= 0)
		return NULL;
	return http_timer_start(&HTTP_CONN(c)->rtimer, b->timeout_ms, BODY_READ);
}

/* A read of the body that made progress, or ended: the next starts anew. */
static ssize_t
body_progress(struct mtls *c, ssize_t n)
{
	if (n != MTLS_WANT_POLLIN && n != MTLS_WANT_POLLOUT)
		http_timer_stop(&HTTP_CONN(c)->rtimer);
	return n;
}

/* Reads from the connection into buf (big bodies skip the buffer), with
 * the body's timeout; returns as mtls_read. */
static ssize_t
read_direct(struct mtls *c, const struct http_body *b, void *buf, size_t len)
{
	return body_progress(c, timed_read(c, body_timer(c, b), buf, len));
}

static ssize_t
fill_body(struct mtls *c, const struct http_body *b)
{
	return body_progress(c, http_fill(c, body_timer(c, b)));
}

/* Copies up to len buffered bytes out; returns how many. */
static size_t
take_buffered(struct http_inbuf *in, void *buf, size_t len)
{
	size_t n = in->len - in->off;

	if (n > len)
		n = len;
	memcpy(buf, in->data + in->off, n);
	in->off += n;
	return n;
}

static ssize_t
read_length_body(struct mtls *c, struct http_body *b, void *buf, size_t len)
{
	struct http_inbuf *in = &HTTP_CONN(c)->in;
	ssize_t n;

	if (len > b->left)
		len = (size_t)b->left;
	if (in->off < in->len)
		n = (ssize_t)take_buffered(in, buf, len);
	else if ((n = read_direct(c, b, buf, len)) == 0)
		return CONN_FAIL(c, MTLS_ERR_TRUNCATED, "%s closed the connection "
		    "%llu bytes before the end of the body", b->peer,
		    (unsigned long long)b->left);
	if (n < 0)
		return n;
	b->left -= (uint64_t)n;
	b->done = b->left == 0;
	return n;
}

static ssize_t
read_chunked_body(struct mtls *c, struct http_body *b, void *buf, size_t len)
{
	struct http_inbuf *in = &HTTP_CONN(c)->in;

	for (;;) {
		size_t in_used = 0, out_used = 0;
		int rc;

		if (in->off == in->len) {
			ssize_t n = fill_body(c, b);

			if (n == 0)
				return CONN_FAIL(c, MTLS_ERR_TRUNCATED, "%s closed the "
				    "connection inside a chunked body", b->peer);
			if (n < 0)
				return n;
		}
		rc = http_chunked_decode(&b->chunked, b->max, in->data + in->off,
		    in->len - in->off, &in_used, buf, len, &out_used);
		in->off += in_used;
		if (rc < 0)
			b->bad_status = rc == -413 ? 413 : 400;
		if (rc == -413)
			return CONN_FAIL(c, MTLS_ERR_HTTP, "%s sent a chunked body "
			    "over the limit of %llu bytes", b->peer,
			    (unsigned long long)b->max);
		if (rc < 0)
			return CONN_FAIL(c, MTLS_ERR_HTTP, "%s sent a malformed "
			    "chunked body (bad chunk size or framing)", b->peer);
		if (rc == 1)
			b->done = true;
		if (out_used > 0 || b->done)
			return (ssize_t)out_used;
	}
}

/* A body that ends with the connection; a missing close_notify is
 * truncation (mtls_read says so). */
static ssize_t
read_close_body(struct mtls *c, struct http_body *b, void *buf, size_t len)
{
	struct http_inbuf *in = &HTTP_CONN(c)->in;
	ssize_t n;

	if (in->off < in->len)
		return (ssize_t)take_buffered(in, buf, len);
	n = read_direct(c, b, buf, len);
	b->done = n == 0;
	return n;
}

/*
 * Reads up to len bytes of the body b of the message on c.  Returns the
 * number read, 0 at its end, MTLS_WANT_* on a non-blocking connection, or
 * -1 with the error on c.
 */
ssize_t
http_body_read(struct mtls *c, struct http_body *b, void *buf, size_t len)
{
	if (b->done || len == 0)
		return 0;
	switch (b->framing) {
	case HTTP_BODY_LENGTH:
		return read_length_body(c, b, buf, len);
	case HTTP_BODY_CHUNKED:
		return read_chunked_body(c, b, buf, len);
	case HTTP_BODY_CLOSE:
		return read_close_body(c, b, buf, len);
	case HTTP_BODY_NONE:
	default:
		b->done = true;
		return 0;
	}
}

static void
http_conn_free(struct mtls *c)
{
	struct http_conn *hc = HTTP_CONN(c);

	/* What the client and server helpers hung here, each freed the way
	 * its owner said. */
	if (hc->request != NULL)
		hc->request_free(c);
	if (hc->partial != NULL)
		hc->partial_free(hc->partial);
	http_inbuf_free(&hc->in);
	free(hc->refused_line);
	free(hc);
	mtls_conn_set_ext(c, NULL, NULL);
}

int
http_conn_attach(struct mtls *c)
{
	struct http_conn *hc;

	if (mtls_conn_ext(c) != NULL)
		return 0;
	ENSURE_CONN((hc = calloc(1, sizeof(*hc))) != NULL, c, MTLS_ERR_NOMEM,
	    "out of memory");
	mtls_conn_set_ext(c, hc, http_conn_free);
	return 0;
}
