/*
 * proxy-header.c - the PROXY protocol v2 header (HAProxy's send-proxy-v2)
 * that an upstream connection of mtls-proxy --send-proxy-v2 begins with:
 * the local client's address and port, and the address it reached.
 * http-relay.c sends it before the TLS hello.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "http-relay.h"

static const unsigned char proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The v2 address block of src and dst into out; its length, 0 when they
 * are not both IPv4 or both IPv6 (out[13] gets the family byte). */
static size_t
proxy_v2_addresses(const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, unsigned char *out)
{
	if (src->ss_family != dst->ss_family)
		return 0;
	if (src->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		out[13] = 0x11;             /* TCP over IPv4 */
		memcpy(out + 16, &s->sin_addr, 4);
		memcpy(out + 20, &d->sin_addr, 4);
		memcpy(out + 24, &s->sin_port, 2);
		memcpy(out + 26, &d->sin_port, 2);
		return 12;
	}
	if (src->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src,
		    *d = (const void *)dst;

		out[13] = 0x21;             /* TCP over IPv6 */
		memcpy(out + 16, &s->sin6_addr, 16);
		memcpy(out + 32, &d->sin6_addr, 16);
		memcpy(out + 48, &s->sin6_port, 2);
		memcpy(out + 50, &d->sin6_port, 2);
		return 36;
	}
	return 0;
}

void
upstream_proxy_v2(struct upstream *u, int client_fd)
{
	struct sockaddr_storage src, dst;
	socklen_t sl = sizeof(src), dl = sizeof(dst);
	unsigned char *p = u->preamble;
	size_t len = 0;

	memcpy(p, proxy_v2_sig, sizeof(proxy_v2_sig));
	p[13] = 0x00;                   /* AF_UNSPEC */
	if (getpeername(client_fd, (struct sockaddr *)&src, &sl) == 0 &&
	    getsockname(client_fd, (struct sockaddr *)&dst, &dl) == 0)
		len = proxy_v2_addresses(&src, &dst, p);
	p[12] = len > 0 ? 0x21 : 0x20;  /* version 2, PROXY or LOCAL */
	p[14] = 0;
	p[15] = (unsigned char)len;
	u->preamble_len = 16 + len;
}
