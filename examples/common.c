/*
 * common.c - helpers shared by the example programs (see common.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

int
split_hostport(const char *addr, char *host, size_t host_len,
    const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	snprintf(host, host_len, "%.*s", (int)n, addr);
	*port = colon + 1;
	return 0;
}

int
verify_client_mode(const char *value)
{
	if (!strcmp(value, "on"))
		return MTLS_VERIFY_CLIENT_REQUIRED;
	if (!strcmp(value, "optional"))
		return MTLS_VERIFY_CLIENT_OPTIONAL;
	if (!strcmp(value, "optional_no_ca"))
		return MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA;
	return -1;
}

int
load_identity(struct mtls_config *cfg, const char *cert_file,
    const char *key_file, const char *pass, const char *p12)
{
	char *file, *colon;
	int rc;

	if (p12 == NULL)
		return mtls_config_set_cert_file(cfg, cert_file, key_file, pass);
	if ((file = strdup(p12)) == NULL)
		return -1;
	if ((colon = strrchr(file, ':')) != NULL)
		*colon++ = '\0';
	rc = mtls_config_set_p12_file(cfg, file, colon ? colon : pass);
	free(file);
	return rc;
}

long
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
