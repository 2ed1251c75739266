/*
 * proxy_trust.c - the sources trusted to send a PROXY protocol header
 * (mtls_config_set_proxy_protocol): addresses and prefixes, IPv4 and
 * IPv6, loopback when none are given.  The header itself is read by
 * proxy_protocol.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mtls_internal.h"

/* One "address[/bits]" into *out; false when it is not one. */
static bool
parse_cidr(const char *text, size_t len, struct mtls_cidr *out)
{
	char buf[64], *slash, *end;
	long bits;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return false;
	out->bits = out->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		return true;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || errno != 0 || bits < 0 ||
	    bits > out->bits)
		return false;
	out->bits = (int)bits;
	return true;
}

#define SEPARATORS ", \t"

static size_t
count_entries(const char *list)
{
	size_t n = 0;

	for (const char *p = list; *(p += strspn(p, SEPARATORS)) != '\0';
	    p += strcspn(p, SEPARATORS))
		n++;
	return n;
}

MTLS_EXPORT int
mtls_config_set_proxy_protocol(struct mtls_config *cfg, const char *trusted)
{
	const char *list = trusted != NULL ? trusted : "127.0.0.0/8,::1";
	struct mtls_cidr *cidrs;
	size_t n = 0, count;
	const char *p = list;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	count = count_entries(list);
	ENSURE_CFG(count > 0, cfg, MTLS_ERR_INVALID, "PROXY protocol: the list "
	    "of trusted sources is empty (NULL trusts loopback only)");
	ENSURE_CFG((cidrs = calloc(count, sizeof(*cidrs))) != NULL, cfg,
	    MTLS_ERR_NOMEM, "out of memory");
	while (*(p += strspn(p, SEPARATORS)) != '\0') {
		size_t len = strcspn(p, SEPARATORS);

		if (!parse_cidr(p, len, &cidrs[n])) {
			free(cidrs);
			return CFG_FAIL(cfg, MTLS_ERR_INVALID, "PROXY protocol: "
			    "'%.*s' is not an address or ADDRESS/BITS (such as "
			    "10.0.0.0/8 or fd00::/8)", (int)(len > 64 ? 64 : len), p);
		}
		n++;
		p += len;
	}
	free(cfg->proxy_from);
	cfg->proxy_from = cidrs;
	cfg->proxy_from_count = n;
	return RECORDED(0, cfg, mtls_config_set_proxy_protocol, "s", trusted);
}

void
mtls_proxy_free(struct mtls_config *cfg)
{
	free(cfg->proxy_from);
	cfg->proxy_from = NULL;
	cfg->proxy_from_count = 0;
}

static bool
prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

/* Whether addr (of family, IPv4-mapped addresses already unmapped) is
 * in cfg's list. */
bool
mtls_proxy_trusted(const struct mtls_config *cfg, int family,
    const unsigned char addr[16])
{
	for (size_t i = 0; i < cfg->proxy_from_count; i++)
		if (cfg->proxy_from[i].family == family &&
		    prefix_matches(cfg->proxy_from[i].addr, addr,
		    cfg->proxy_from[i].bits))
			return true;
	return false;
}
