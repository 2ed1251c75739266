/*
 * free-port - prints a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * The interop tests start peers (openssl s_server, nginx) that must be told
 * a port number in advance; asking the kernel for an ephemeral port is
 * far less likely to collide with parallel tests than a fixed or random
 * number.  The socket is closed before the port is used, so a race remains
 * possible in principle; the kernel does not hand the same ephemeral port
 * out again right away, which is good enough for tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("free-port: socket");
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;	/* let the kernel choose */
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("free-port: bind 127.0.0.1:0");
		return 1;
	}
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("free-port: getsockname");
		return 1;
	}
	printf("%u\n", (unsigned)ntohs(sin.sin_port));
	close(fd);
	return fflush(stdout) == 0 ? 0 : 1;
}
