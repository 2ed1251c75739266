/*
 * mtls-server.h - what the two halves of mtls-server share: the options
 * (parsed in mtls-server.c) and the connection handler
 * (mtls-server-serve.c).
 */
#ifndef MTLS_SERVER_H
#define MTLS_SERVER_H

#include <stdbool.h>

#include <mtls.h>

#include "http-relay.h"

enum { EXIT_USAGE = 1, EXIT_CONFIG = 2, EXIT_LISTEN = 3 };

#define MAX_LIST 32

/* An allow-list flag and its value, in the order given. */
struct allow_opt {
	int type;                   /* enum mtls_allow_type */
	const char *value;
};

struct options {
	const char *listen, *cert, *key, *pass, *p12, *client_ca, *ca_names;
	const char *verify_client, *crl, *root, *proxy;
	struct upstream upstream;   /* --proxy: the backend, conn unused */
	struct allow_opt allow[MAX_LIST];
	const char *protect[MAX_LIST];
	const char *ticket_keys[MAX_LIST];
	int nallow, nprotect, nticket_keys;
	long verify_depth, tickets, max_body, max_connections, keepalive;
	int crl_chain;
};

/*
 * mtls-server-serve.c: serves the requests of conn until it is idle (then
 * parks it) or done (then closes it).  connections_open adds delta to the
 * count of connections open, parked ones included, and returns it.
 */
void serve_connection(struct mtls *conn, const struct options *o);
void close_connection(struct mtls *conn);
long connections_open(long delta);

/* mtls-server-workers.c: threads for busy connections, kept for reuse;
 * workers_submit returns -1, conn untouched, when no thread can be had. */
void workers_init(void (*serve)(struct mtls *conn));
int workers_submit(struct mtls *conn);

/* mtls-server-park.c: idle connections wait in one epoll thread; resume
 * gets each one that becomes readable. */
int park_start(long keepalive_seconds, void (*resume)(struct mtls *conn));
void park(struct mtls *conn);
void park_stop(void);

#endif
