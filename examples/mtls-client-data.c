/*
 * mtls-client-data.c - the request body of -d, --data-binary,
 * --data-raw, --data-urlencode and --json, as curl makes it: @FILE read
 * whole (-d drops its CR and LF), pieces joined by '&' (--json's are
 * not), --data-urlencode's "name=content" and "name@file" encoded as
 * curl_easy_escape does.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls-client.h"

/* Appends n bytes to the request body; several -d are joined by '&',
 * several --json are not. */
static void
append_data(struct options *o, const char *p, size_t n, int joined)
{
	size_t sep = o->has_data && joined ? 1 : 0;
	char *grown = realloc(o->data, o->data_len + sep + n + 1);

	if (grown == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	o->data = grown;
	if (sep)
		o->data[o->data_len++] = '&';
	memcpy(o->data + o->data_len, p, n);
	o->data_len += n;
	o->data[o->data_len] = '\0';
	o->has_data = 1;
}

/* FILE (or - for standard input), whole, malloc'd; NULL, with errno,
 * when it cannot be read. */
char *
read_file(const char *name, size_t *lenp)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		char *grown = len + 4096 > cap ? realloc(buf, cap = cap * 2 + 4096) :
		    buf;

		if (grown == NULL)
			exit(failure(EXIT_NOMEM, "out of memory"));
		buf = grown;
		len += n = fread(buf + len, 1, cap - len - 1, f);
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* @FILE, whole; -d drops its CR and LF.  As curl, a file that cannot be
 * read is a warning, and the data empty. */
static char *
data_file(const char *name, int strip, size_t *lenp)
{
	char *buf = read_file(name, lenp);
	size_t i, j;

	if (buf == NULL) {
		warning("cannot read data from file '%s' (%s): this makes an "
		    "empty POST, as curl's", name, strerror(errno));
		*lenp = 0;
		return strdup("");
	}
	for (i = j = 0; strip && i < *lenp; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			buf[j++] = buf[i];
	if (strip)
		*lenp = j;
	return buf;
}

/* curl_easy_escape: all but ALPHA, DIGIT and -._~ as %XX; a space
 * as '+', as curl's --data-urlencode. */
static char *
url_encode(const char *p, size_t n)
{
	char *out = malloc(n * 3 + 1), *o = out;
	size_t i;

	if (out == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' &&
		    strchr("-._~", c) != NULL))
			*o++ = (char)c;
		else if (c == ' ')  /* curl 7.88 sends a space as '+' */
			*o++ = '+';
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	return out;
}

/* --data-urlencode: "content", "=content", "name=content", "@file",
 * "name@file", as curl.  Returns the text, malloc'd. */
static char *
urlencoded(const char *val)
{
	const char *eq = strchr(val, '='), *at = strchr(val, '@');
	size_t name_len = 0, len;
	char *raw, *enc, *out;

	if (eq != NULL && (at == NULL || eq < at)) {
		name_len = (size_t)(eq - val);
		raw = strdup(eq + 1);
		len = strlen(eq + 1);
	} else if (at != NULL) {
		name_len = (size_t)(at - val);
		raw = data_file(at + 1, 0, &len);
	} else {
		raw = strdup(val);
		len = strlen(val);
	}
	if (raw == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	enc = url_encode(raw, len);
	free(raw);
	len = name_len + strlen(enc) + 2;
	if ((out = malloc(len)) == NULL)
		exit(failure(EXIT_NOMEM, "out of memory"));
	snprintf(out, len, "%.*s%s%s", (int)name_len, val, name_len ? "=" : "",
	    enc);
	free(enc);
	return out;
}

void
add_data(struct options *o, enum data_kind kind, const char *val)
{
	char *buf;
	size_t len;

	if (kind == DATA_URLENCODE) {
		buf = urlencoded(val);
		len = strlen(buf);
	} else if (kind != DATA_RAW && val[0] == '@') {
		buf = data_file(val + 1, kind == DATA_ASCII, &len);
	} else {
		append_data(o, val, strlen(val), kind != DATA_JSON);
		return;
	}
	append_data(o, buf, len, kind != DATA_JSON);
	free(buf);
}
