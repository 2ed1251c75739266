/*
 * load.h - what the two halves of the bench client share: load.c (the
 * command line, the threads, the reports) and load_conn.c (one
 * connection's life: TCP, TLS, one HTTP request at a time).
 */
#ifndef LOAD_H
#define LOAD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

enum mode { FULL, RESUMED, KEEPALIVE, BULK, LATENCY, IDLE, SILENT };
/* PARKED: connected, no request in flight (the warm-up or COUNT done). */
enum stage { CONNECTING, HANDSHAKE, SENDING, RECEIVING, PARKED, HELD };

#define HEAD_MAX 4096           /* a response head longer than this fails */
#define RAMP 256                /* held connections being opened at once */
#define STALL 15                /* seconds without one opening: given up */

struct slot {
	int fd;
	SSL *ssl;
	SSL_SESSION *session;       /* resumed: the last connection's */
	struct worker *w;
	enum stage stage;
	bool close_after;           /* the response said Connection: close */
	size_t sent, got;
	long long body_left;        /* -1: the head is not whole yet */
	long start_us;
	char head[HEAD_MAX];
};

/* One thread: its epoll loop, its share of the connections and of COUNT. */
struct worker {
	pthread_t thread;
	int ep;
	struct slot *slots;
	long nslots, started, settled;
	long progress_us;           /* when a held connection last settled */
	bool warming;               /* one operation a slot, then parked */
	long count, ops, errors, reused, reconnects;
	long *lat;                  /* the first count operations' times, µs */
	X509 *verified;             /* the server certificate verified last */
	unsigned long long body_bytes;
	char scratch[1 << 16];      /* response bodies are read into it */
};

/* What the command line asked for; read-only once the threads run. */
struct load_cfg {
	enum mode mode;
	bool keep;                  /* latency -k */
	const char *host, *path;
	long conns, count, seconds, hold_seconds, threads;
	bool ready;                 /* -r: "ready", then a line on stdin */
	struct sockaddr_in addr;
	SSL_CTX *ctx;
	char request[512];
	size_t request_len;
	long deadline_us;
};
extern struct load_cfg cfg;

long now_us(void);
/* Says what failed, with errno and OpenSSL's errors, and exits 1. */
void die(const char *what);
/* idle, silent: connections are opened and held, not used. */
bool holding(void);
/* A new connection (and handshake) for every operation? */
bool fresh(void);

/* cfg.ctx: the client certificate, TLS 1.3, the server verified. */
void setup_ctx(const char *cert, const char *key_file, const char *ca);
/* Closes the slot's connection (keeping its session when resuming). */
void slot_close(struct slot *s);
/* One operation on each of the thread's connections (a new connection
 * for each, kept-alive ones then parked), bounded by SECONDS: so that the
 * timed run measures neither the first handshakes of kept-alive
 * connections nor resumed runs' first full handshakes.  Not when holding. */
void worker_warm(struct worker *w);
/* The thread's timed run, until cfg.deadline_us: its share of COUNT
 * operations (and those in flight when it is reached), or until one
 * failed; when holding, until its connections are open or refused, or
 * none opened for STALL seconds. */
void worker_run(struct worker *w);

#endif
