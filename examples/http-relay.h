/*
 * http-relay.h - forwarding one HTTP request to an upstream connection and
 * its response back, for mtls-proxy (plain in, mTLS out) and mtls-server
 * --proxy (mTLS in, plain out).
 */
#ifndef HTTP_RELAY_H
#define HTTP_RELAY_H

#include <mtls.h>

/* Where requests go: a client config and the upstream's address. */
struct upstream {
	struct mtls_config *cfg;    /* borrowed */
	char host[256], port[16];   /* host without brackets */
	const char *verify_name;    /* NULL: host */
	struct mtls *conn;          /* kept alive between requests, or NULL */
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

/* upstream_close - closes u->conn, if any. */
void upstream_close(struct upstream *u);

#endif
