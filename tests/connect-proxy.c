/*
 * connect-proxy.c - a tiny HTTP CONNECT proxy for tests/mtls_client*.sh,
 * as curl -x reaches one: it listens on 127.0.0.1 (a free port, told as
 * "listening on PORT"), writes each request head it gets to standard
 * output (then "----"), answers CONNECT with "200 Connection established"
 * and relays bytes both ways until either side closes.  One client at a
 * time, which is all a test needs.
 *
 *   connect-proxy [--auth USER:PASSWORD] [--deny HOST]
 *
 * --auth: a request without "Proxy-Authorization: Basic" of USER:PASSWORD
 * gets 407; --deny: a CONNECT to HOST gets 403; a target that does not
 * answer gets 502; a method other than CONNECT gets 405.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *auth_b64, *deny;

static void
b64(const char *in, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)(unsigned char)in[i] << 16 |
		    (i + 1 < n ? (unsigned long)(unsigned char)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? (unsigned char)in[i + 2] : 0);

		*out++ = t[v >> 18 & 63];
		*out++ = t[v >> 12 & 63];
		*out++ = i + 1 < n ? t[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? t[v & 63] : '=';
	}
	*out = '\0';
}

static int
answer(int fd, const char *status)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\n%s\r\n", status,
	    strncmp(status, "407", 3) == 0 ?
	    "Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n" :
	    strncmp(status, "200", 3) == 0 ? "" : "Content-Length: 0\r\n");

	return write(fd, buf, (size_t)n) == n ? 0 : -1;
}

static int
dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

static void
relay(int a, int b)
{
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	char buf[16384];

	while (poll(p, 2, 30000) > 0) {
		int i;

		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

static void
serve(int c)
{
	char head[8192], host[300], port[16], want[200], *line;
	size_t n = 0;
	int t;

	while (n < sizeof(head) - 1 && read(c, head + n, 1) == 1)
		if (++n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	head[n] = '\0';
	printf("%s----\n", head);
	fflush(stdout);
	if (strncmp(head, "CONNECT ", 8) != 0) {
		answer(c, "405 Method Not Allowed");
		return;
	}
	if (auth_b64 != NULL) {
		snprintf(want, sizeof(want), "Proxy-Authorization: Basic %s\r\n",
		    auth_b64);
		if (strstr(head, want) == NULL) {
			answer(c, "407 Proxy Authentication Required");
			return;
		}
	}
	line = head + 8;
	if (*line == '[')
		sscanf(line, "[%299[^]]]:%15[0-9]", host, port);
	else
		sscanf(line, "%299[^:]:%15[0-9]", host, port);
	if (deny != NULL && strcasecmp(host, deny) == 0) {
		answer(c, "403 Forbidden");
		return;
	}
	if ((t = dial(host, port)) < 0) {
		answer(c, "502 Bad Gateway");
		return;
	}
	if (answer(c, "200 Connection established") == 0)
		relay(c, t);
	close(t);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	static char auth[512];
	int fd, i, one = 1;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--auth") == 0 && strlen(argv[i + 1]) < 300) {
			b64(argv[i + 1], auth);
			auth_b64 = auth;
		} else if (strcmp(argv[i], "--deny") == 0) {
			deny = argv[i + 1];
		} else {
			fprintf(stderr, "usage: connect-proxy [--auth U:P] "
			    "[--deny HOST]\n");
			return 2;
		}
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("connect-proxy");
		return 1;
	}
	printf("listening on %u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}
