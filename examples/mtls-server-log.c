/*
 * mtls-server-log.c - mtls-server's messages: those of the library, on
 * standard error, with the options named where the library, written for
 * C programs, names its functions and constants.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mtls-server.h"

static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;

/* ----------------------------------------------------------- messages */

/*
 * The library's messages are written for C programs ("raise it with
 * mtls_config_set_verify_depth"); a person running mtls-server is told
 * the option instead.  Longer names come first.
 */
static const struct {
	const char *c_name, *option;
} c_names[] = {
	{ "(MTLS_HTTP_MAX_HEADER_BYTES, MTLS_HTTP_MAX_HEADERS)",
	    "(mtls-server's fixed limits, 4 times --max-header-line's default "
	    "as nginx's large_client_header_buffers 4 8k)" },
	{ "mtls_config_set_cert_file or mtls_config_set_p12_file",
	    "--cert or --p12" },
	{ "(mtls_config_set_ca_file) or the system store", "(--client-ca)" },
	{ "mtls_config_set_verify_depth", "--verify-depth" },
	{ "mtls_config_set_ca_file", "--client-ca" },
	{ "MTLS_HTTP_MAX_HEADER_LINE", "--max-header-line" },
	{ "MTLS_HTTP_MAX_REQUEST_LINE", "--max-header-line" },
	{ "MTLS_HTTP_MAX_BODY", "--max-body" },
	{ "MTLS_HTTP_HEADER_TIMEOUT_MS", "--client-header-timeout" },
};

const char *
option_words(const char *msg, char *buf, size_t len)
{
	size_t n = 0;

	if (msg == NULL)
		return NULL;
	while (*msg != '\0' && n + 1 < len) {
		size_t i, k = sizeof(c_names) / sizeof(c_names[0]);

		for (i = 0; i < k; i++)
			if (strncmp(msg, c_names[i].c_name,
			    strlen(c_names[i].c_name)) == 0)
				break;
		if (i == k) {
			buf[n++] = *msg++;
			continue;
		}
		n += (size_t)snprintf(buf + n, len - n, "%s", c_names[i].option);
		if (n >= len)
			n = len - 1;
		msg += strlen(c_names[i].c_name);
	}
	buf[n] = '\0';
	return buf;
}

void
say_error(const char *context, const char *msg)
{
	char text[2048];

	pthread_mutex_lock(&stderr_lock);
	fprintf(stderr, "mtls-server: %s%s%s\n", context ? context : "",
	    context ? ": " : "", option_words(msg, text, sizeof(text)));
	pthread_mutex_unlock(&stderr_lock);
}
