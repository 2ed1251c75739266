/*
 * http_conn.h - what the HTTP helpers keep on a connection, in the
 * connection's extension slot, and their reading of HTTP messages
 * (http_io.c), shared by the client and server helpers.  Internal: the
 * connection layer below knows none of it, and the helpers know of it
 * only the public API and conn_iface.h.
 */
#ifndef MTLS_HTTP_CONN_H
#define MTLS_HTTP_CONN_H

#include <stdint.h>

#include "conn_iface.h"
#include "http_parse.h"
#include "mtls_http.h"

/* A limit for the reads or writes of one step: the deadline, its length
 * and what it bounds, for the timeout's message (NULL: no step runs). */
struct http_timer {
	long deadline;
	int ms;
	const char *what;
};

struct http_conn {
	/* bytes read but not yet used, kept so that keep-alive and
	 * pipelining lose nothing */
	struct http_inbuf in;
	struct http_request *request; /* an interrupted client request */
	void (*request_free)(struct mtls *c);  /* set with it (http_client.c) */
	bool done;                  /* the server ended keep-alive */
	bool pending;               /* a request read is not yet answered */
	struct mtls_http_req *partial; /* one whose body was interrupted */
	void (*partial_free)(struct mtls_http_req *req); /* set with it */
	unsigned long requests;     /* requests read by the server helper */
	int refused;                /* status the helper answered a bad
	                               request with, or 0 */
	char *refused_line;         /* its request line, escaped */
	/* The deadlines of the read and of the write under way: on a
	 * non-blocking connection a call that returns MTLS_WANT_* keeps
	 * them, and the next goes on under the same deadline. */
	struct http_timer rtimer, wtimer;
};

/* c's HTTP state: made by http_conn_attach, which each helper that starts
 * on a connection calls first (0, or -1 with MTLS_ERR_NOMEM on c). */
#define HTTP_CONN(c) ((struct http_conn *)mtls_conn_ext(c))
int http_conn_attach(struct mtls *c);

/* http_io.c: reading HTTP messages, for the client and server helpers */
struct http_body {
	enum http_framing framing;
	uint64_t left;              /* bytes of a Content-Length body to read */
	struct http_chunked chunked;
	uint64_t max;               /* limit of a chunked body, 0 for none */
	bool done;                  /* read to its end */
	int bad_status;             /* 400 or 413 after a bad chunked body */
	const char *peer;           /* "server" or "client", for messages */
	int timeout_ms;             /* per read; 0: the connection's I/O timeout */
};
/* Starts t as the timer of a step of ms (0: no deadline) named what,
 * unless it already times that step (a call resumed after MTLS_WANT_*);
 * returns t. */
const struct http_timer *http_timer_start(struct http_timer *t, int ms,
    const char *what);
/* Ends t's step: the next step starts its own. */
void http_timer_stop(struct http_timer *t);
ssize_t http_fill(struct mtls *c, const struct http_timer *t);
#define HTTP_HEAD_BAD (-10)     /* http_read_head: not a head */
#define HTTP_HEAD_CUT (-11)     /* http_read_head: the stream ended in it */
long http_read_head(struct mtls *c, const struct http_limits *lim,
    bool is_request, const struct http_timer *t, int *bad_status);
void http_body_init(struct http_body *b, const struct http_head *h,
    uint64_t max, const char *peer, int timeout_ms);
ssize_t http_body_read(struct mtls *c, struct http_body *b, void *buf,
    size_t len);
void http_inbuf_free(struct http_inbuf *in);
void http_request_free(struct mtls *c);
/* http_client.c: an URL's host, port and request target, or -1 with
 * MTLS_ERR_INVALID on c (the scheme is c's: https://, http:// if plain). */
int mtls_http_split_url(struct mtls *c, const char *url, char *host,
    size_t host_len, char *port, size_t port_len, char *target,
    size_t target_len);
bool http_append(char **buf, size_t *len, size_t *cap, const void *data,
    size_t n);

#endif /* MTLS_HTTP_CONN_H */
