/*
 * relay.h - a TCP relay on loopback that delivers what it forwards in
 * pieces, as a real network or a proxy does: one TLS record at a time, or
 * one byte at a time, with a pause after each piece, in both directions.
 * On loopback a whole TLS flight otherwise arrives in one read; behind
 * this relay every message of a handshake arrives in a read of its own.
 */
#ifndef RELAY_H
#define RELAY_H

#include <pthread.h>

/* What one piece is. */
enum relay_unit {
	RELAY_RECORDS,      /* one whole TLS record (5-byte header + body) */
	RELAY_BYTES         /* one byte */
};

struct relay {
	int listen_fd;
	int port;               /* where clients connect (127.0.0.1) */
	int upstream_port;      /* where the relay connects (127.0.0.1) */
	enum relay_unit unit;
	int pause_us;           /* after each piece */
	int connections;        /* relayed one after another; < 0: until stopped */
	pthread_t thread;
};

/*
 * Listens on a free port of 127.0.0.1 and relays the next connections
 * (one after another) to upstream_port in a thread of its own.  Returns 0,
 * or -1 with errno set.
 */
int relay_start(struct relay *r, int upstream_port, enum relay_unit unit,
    int pause_us, int connections);

/* Waits until the relay has relayed its connections, and closes it. */
void relay_stop(struct relay *r);

/* "records" or "bytes", for messages. */
const char *relay_unit_name(enum relay_unit unit);

#endif
