/*
 * relay.c - the piece-by-piece TCP relay of relay.h.  Each direction is a
 * pump: it reads one piece, then sends it on (TCP_NODELAY, so that no
 * piece waits for the next) with a pause after each.  A record is read whole (header, then the length it gives) and
 * sent whole; what is left at the end of the stream is sent as it is.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "relay.h"

/* A record header and the longest body its length field can give. */
#define PIECE_MAX (5 + 65535)
/* No relayed connection waits longer than this for anything. */
#define RELAY_WAIT_S 30

struct pump {
	int from, to;
	enum relay_unit unit;
	int pause_us;
};

const char *
relay_unit_name(enum relay_unit unit)
{
	return unit == RELAY_BYTES ? "bytes" : "records";
}

/* Reads exactly len bytes; returns how many came before the end. */
static size_t
recv_exactly(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* The next piece from p->from into buf: its length, or less than a
 * whole piece (0 included) at the end of the stream. */
static size_t
next_piece(const struct pump *p, unsigned char *buf, bool *whole)
{
	size_t got, body;

	if (p->unit == RELAY_BYTES) {
		got = recv_exactly(p->from, buf, 1);
		*whole = got == 1;
		return got;
	}
	if ((got = recv_exactly(p->from, buf, 5)) < 5) {
		*whole = false;
		return got;
	}
	body = (size_t)buf[3] << 8 | buf[4];
	got += recv_exactly(p->from, buf + 5, body);
	*whole = got == 5 + body;
	return got;
}

static int
send_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *
pump_main(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[PIECE_MAX];
	bool whole = true;
	size_t len;

	while (whole) {
		len = next_piece(p, buf, &whole);
		if (send_all(p->to, buf, len) != 0)
			break;
		if (whole)
			usleep((useconds_t)p->pause_us);
	}
	shutdown(p->to, SHUT_WR);
	return NULL;
}

static void
tune(int fd)
{
	struct timeval tv = { RELAY_WAIT_S, 0 };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
connect_upstream(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Relays one connection, both directions at once; -1 when none came. */
static int
relay_one(struct relay *r)
{
	struct pollfd pfd = { .fd = r->listen_fd, .events = POLLIN };
	struct pump up = { .unit = r->unit, .pause_us = r->pause_us };
	struct pump down = up;
	pthread_t t;
	int client, server;

	if (poll(&pfd, 1, RELAY_WAIT_S * 1000) != 1 ||
	    (client = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return -1;
	if ((server = connect_upstream(r->upstream_port)) < 0) {
		close(client);
		return 0;
	}
	tune(client);
	tune(server);
	up.from = down.to = client;
	up.to = down.from = server;
	if (pthread_create(&t, NULL, pump_main, &down) == 0) {
		pump_main(&up);
		pthread_join(t, NULL);
	}
	close(client);
	close(server);
	return 0;
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;

	for (int i = 0; r->connections < 0 || i < r->connections; i++)
		if (relay_one(r) != 0 && r->connections >= 0)
			break;
	return NULL;
}

int
relay_start(struct relay *r, int upstream_port, enum relay_unit unit,
    int pause_us, int connections)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1;

	memset(r, 0, sizeof(*r));
	r->upstream_port = upstream_port;
	r->unit = unit;
	r->pause_us = pause_us;
	r->connections = connections;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(r->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(r->listen_fd, 16) != 0 ||
	    getsockname(r->listen_fd, (struct sockaddr *)&sin, &len) != 0)
		goto fail;
	r->port = ntohs(sin.sin_port);
	if ((errno = pthread_create(&r->thread, NULL, relay_main, r)) != 0)
		goto fail;
	return 0;
fail:
	close(r->listen_fd);
	return -1;
}

void
relay_stop(struct relay *r)
{
	pthread_join(r->thread, NULL);
	close(r->listen_fd);
	r->listen_fd = -1;
}
