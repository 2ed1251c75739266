/*
 * http-relay.h - forwarding one HTTP request to an upstream connection and
 * its response back, for mtls-proxy (plain in, mTLS out) and mtls-server
 * --proxy (mTLS in, plain out).
 */
#ifndef HTTP_RELAY_H
#define HTTP_RELAY_H

#include <stdbool.h>
#include <sys/socket.h>

#include <mtls.h>
#include <mtls_http.h>

/* Where requests go: a client config and the upstream's address. */
struct upstream {
	struct mtls_config *cfg;    /* borrowed */
	char host[256], port[16];   /* host without brackets */
	const char *verify_name;    /* NULL: host */
	struct mtls *conn;          /* kept alive between requests, or NULL */
	/* Non-blocking connections (an event loop's): made to the address
	 * resolved once (upstream_resolve), on a socket of ours, fd. */
	bool nonblocking;
	int connect_ms;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;                     /* -1 when conn has none of ours */
	/* Bytes written on each new connection before TLS: a PROXY
	 * protocol v2 header (upstream_proxy_v2), or none. */
	unsigned char preamble[52];
	size_t preamble_len;
};

/*
 * upstream_parse - splits "scheme://host[:port][/]" into u, with
 * default_port when none is given.  Returns 0, or -1 after printing why
 * (the scheme is not want_scheme, no host, a path).
 */
int upstream_parse(struct upstream *u, const char *url,
    const char *want_scheme, const char *default_port, const char *prog);

/*
 * relay - sends req (read by the caller) to u, reusing u->conn when it is
 * open (and reconnecting once if it turns out closed), with extra headers
 * added (NULL-terminated "Name: value", may be NULL) and those named in
 * strip dropped (the caller's identity headers, that a client must not
 * forge); then answers req with the upstream's response, streamed.  On
 * an upstream failure it answers 502 (504 on a timeout) and prints why.
 * Returns the status answered and sets *bytes to the body bytes sent, or
 * -1 when the answer could not be sent (the downstream connection is then
 * done).
 */
int relay(struct upstream *u, struct mtls_http_req *req,
    const char *const *extra, const char *const *strip,
    unsigned long long *bytes, const char *prog);

/* upstream_resolve - the address of u's host and port into u->addr, for
 * non-blocking connections.  Returns 0, or -1 after printing why. */
int upstream_resolve(struct upstream *u, const char *prog);

/*
 * upstream_proxy_v2 (proxy-header.c) - u's new connections begin with a PROXY protocol v2
 * header (HAProxy's send-proxy-v2) naming the client of client_fd, the
 * downstream socket, and the address it reached; a LOCAL header when
 * they are not both IPv4 or both IPv6.
 */
void upstream_proxy_v2(struct upstream *u, int client_fd);

/* upstream_close - closes u->conn and its socket, if any. */
void upstream_close(struct upstream *u);

/*
 * A relay job: one request relayed as relay does, in steps that each go as
 * far as their socket allows, for an event loop (u->nonblocking, and a
 * non-blocking downstream connection).  relay_begin makes it (NULL when
 * out of memory); relay_step drives it and returns 0 once the answer is
 * sent (status and bytes are then set), MTLS_WANT_* when a socket must be
 * ready first (wait_fd says which: the upstream's, or -1 for the
 * downstream connection's), or -1 when the answer could not be sent;
 * relay_ms_left says when the upstream's deadline falls (-1: none);
 * relay_free frees it.
 */
enum relay_step_id { RELAY_CONNECT, RELAY_CONNECTING, RELAY_REQUEST,
    RELAY_HEAD, RELAY_BODY, RELAY_WRITE, RELAY_END, RELAY_FAIL, RELAY_DONE };
struct relay_job {
	struct upstream *u;
	struct mtls_http_req *req;
	const char *prog;
	enum relay_step_id step;
	char *lines[128];           /* request headers, then the response's */
	struct mtls_http_response *r;
	bool sent, reused, retried;
	long connect_by;            /* monotonic ms */
	char *piece;                /* the body's piece being written */
	size_t piece_len;
	char *fail_text;            /* a 502 or 504 answer's */
	int status;
	unsigned long long bytes;
	int wait_fd;
};
struct relay_job *relay_begin(struct upstream *u, struct mtls_http_req *req,
    const char *const *extra, const char *const *strip, const char *prog);
int relay_step(struct relay_job *j);
long relay_ms_left(const struct relay_job *j);
void relay_free(struct relay_job *j);

#endif
