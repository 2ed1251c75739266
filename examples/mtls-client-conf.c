/*
 * mtls-client-conf.c - curl's -K/--config files, -V/--version, and what
 * only OpenSSL itself can tell mtls-client (its version for -V, and the
 * number of a verify result for -w %{ssl_verify_result}, which libmtls
 * reports as OpenSSL's text).
 *
 * A config file is read as curl 7.88 reads it: one option a line, with or
 * without its leading "--" ("-s" needs its dash); without dashes the name
 * may be followed by '=' or ':'; a value in double quotes may hold spaces
 * and the escapes \t \n \r \v \\ \"; an unquoted one ends at a space;
 * lines starting with '#' are comments.  A bad line is a warning that
 * names the file and line, and the next line is read.  -K - reads
 * standard input; a -K inside a file reads another file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "mtls-client.h"

#ifndef MTLS_HOST_TRIPLET
#define MTLS_HOST_TRIPLET "unknown"
#endif

#define MAX_CONFIG_DEPTH 8

/* What the options point into lives until exit, reachable from here. */
struct kept {
	struct kept *next;
	char text[];
};
static struct kept *kept_lines;

static char *
keep(const char *p, size_t n)
{
	struct kept *k = malloc(sizeof(*k) + n + 1);

	if (k == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	memcpy(k->text, p, n);
	k->text[n] = '\0';
	k->next = kept_lines;
	kept_lines = k;
	return k->text;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

/* A quoted value from just after its opening quote, unescaped in place. */
static char *
unquote(char *p)
{
	char *start = p, *out = p;

	for (; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			switch (*++p) {
			case 't': *out++ = '\t'; break;
			case 'n': *out++ = '\n'; break;
			case 'r': *out++ = '\r'; break;
			case 'v': *out++ = '\v'; break;
			default: *out++ = *p; break;
			}
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
	return start;
}

static void
config_line(struct options *o, const char *file, int lineno, char *line)
{
	char where[300], *name, *value = NULL;
	int dashed, used;

	line += strspn(line, " \t\r\n\v\f");
	if (*line == '\0' || *line == '#')
		return;
	snprintf(where, sizeof(where), "%s:%d", strcmp(file, "-") ? file :
	    "<stdin>", lineno);
	name = line;
	dashed = *name == '-';
	while (*line && !is_space(*line) && (dashed || (*line != '=' &&
	    *line != ':')))
		line++;
	if (*line != '\0')
		*line++ = '\0';
	while (*line && (is_space(*line) || (!dashed && (*line == '=' ||
	    *line == ':'))))
		line++;
	if (*line == '"') {
		value = unquote(line + 1);
	} else if (*line != '\0') {
		value = line;
		while (*line && !is_space(*line))
			line++;
		if (*line != '\0')
			*line++ = '\0';
		line += strspn(line, " \t\r\n\v\f");
		if (*line != '\0' && *line != '#' && !mute)
			fprintf(stderr, "mtls-client: warning: %s: '%s' had "
			    "unsupported trailing garbage\n", where, name);
	}
	if (parse_option(o, where, name, value, &used) == 0 && !used &&
	    value != NULL && *value != '\0' && !mute)
		fprintf(stderr, "mtls-client: warning: %s: '%s' takes no value: "
		    "'%s' ignored\n", where, name, value);
}

void
read_config(struct options *o, const char *file)
{
	static int depth;
	char *raw, *text, *line, *next;
	size_t len;
	int lineno = 0;

	if (depth >= MAX_CONFIG_DEPTH)
		exit(failure(EXIT_READ, "-K %s: config files nested more than %d "
		    "deep", file, MAX_CONFIG_DEPTH));
	if ((raw = read_file(file, &len)) == NULL)
		exit(failure(EXIT_READ, "cannot read config from '%s': %s", file,
		    strerror(errno)));
	text = keep(raw, len);      /* the values stay in use */
	free(raw);
	depth++;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		config_line(o, file, ++lineno, line);
	}
	depth--;
}

/* ------------------------------------------------------------ OpenSSL */

void
version(void)
{
	printf("mtls-client %s (%s) libmtls/%s OpenSSL/%s\n"
	    "Release-Date: [unreleased]\n"
	    "Protocols: https\n"
	    "Features: IPv6 Largefile SSL UnixSockets\n", PACKAGE_VERSION,
	    MTLS_HOST_TRIPLET, PACKAGE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION_STRING));
	exit(0);
}

/* The X509_V_ERR_* number whose text OpenSSL gives as text; 0 for NULL
 * (verified), -1 when none matches. */
long
verify_result_code(const char *text)
{
	long i;

	if (text == NULL)
		return 0;
	for (i = 1; i < 200; i++)
		if (strcmp(X509_verify_cert_error_string(i), text) == 0)
			return i;
	return -1;
}
