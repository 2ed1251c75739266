/*
 * pkcs11_uri.c - a pkcs11: URI (RFC 7512) taken apart: the path the
 * engine is given, and the query attributes libmtls handles itself
 * (module-path=, pin-value=, pin-source=); and where the PIN comes from.
 * Nothing here talks to a token.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "mtls_internal.h"
#include "pkcs11_uri.h"

#define PIN_MAX 256

bool
mtls_is_pkcs11_uri(const char *name)
{
	return name != NULL && strncasecmp(name, "pkcs11:", 7) == 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The n bytes at s, percent-decoded (RFC 3986), as a new string; NULL
 * when an escape is broken or memory is short. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n || hex_value(s[i + 1]) < 0 ||
		    hex_value(s[i + 2]) < 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
		i += 2;
	}
	*o = '\0';
	return out;
}

/* The value of attribute name= in the list attrs (separated by sep),
 * decoded, into *out; 0 when absent, -1 when broken. */
static int
attr_value(const char *attrs, size_t len, char sep, const char *name,
    char **out)
{
	size_t nlen = strlen(name);
	const char *p = attrs, *end = attrs + len;

	while (p < end) {
		const char *next = memchr(p, sep, (size_t)(end - p));
		size_t alen = (size_t)((next != NULL ? next : end) - p);

		if (alen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			free(*out);
			*out = pct_decode(p + nlen + 1, alen - nlen - 1);
			return *out != NULL ? 0 : -1;
		}
		p += alen + 1;
	}
	return 0;
}

/* Each query attribute is one libmtls knows: the engine is not given the
 * query, so one it does not know would be silently lost. */
static int
check_query(struct mtls_config *cfg, const char *path, const char *q)
{
	static const char *const known[] = { "module-path=", "pin-value=",
	    "pin-source=", NULL };

	for (const char *p = q; *p != '\0'; ) {
		size_t alen = strcspn(p, "&");
		bool ok = false;

		for (int i = 0; known[i] != NULL && !ok; i++)
			ok = strncmp(p, known[i], strlen(known[i])) == 0;
		if (!ok)
			return CFG_FAIL(cfg, MTLS_ERR_INVALID, "PKCS#11 URI %s: query "
			    "attribute '%.*s' is not supported (only module-path=, "
			    "pin-source= and pin-value=)", path, (int)strcspn(p, "=&"),
			    p);
		p += alen + (p[alen] == '&');
	}
	return 0;
}

int
mtls_p11_uri_parse(struct mtls_config *cfg, const char *text,
    struct mtls_p11_uri *u)
{
	const char *q = strchr(text, '?');
	size_t plen = q != NULL ? (size_t)(q - text) : strlen(text);

	memset(u, 0, sizeof(*u));
	if ((u->path = strndup(text, plen)) == NULL)
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	if (q != NULL && check_query(cfg, u->path, q + 1) != 0)
		return -1;
	if (attr_value(u->path + 7, plen - 7, ';', "token", &u->token) != 0 ||
	    (q != NULL && (attr_value(q + 1, strlen(q + 1), '&',
	    "module-path", &u->module) != 0 ||
	    attr_value(q + 1, strlen(q + 1), '&', "pin-value", &u->pin) != 0 ||
	    attr_value(q + 1, strlen(q + 1), '&', "pin-source",
	    &u->pin_source) != 0)))
		return CFG_FAIL(cfg, MTLS_ERR_INVALID, "PKCS#11 URI %s: a broken "
		    "%%-escape (RFC 7512 values escape bytes as %%XX)", u->path);
	return 0;
}

void
mtls_p11_uri_free(struct mtls_p11_uri *u)
{
	free(u->path);
	free(u->module);
	mtls_p11_pin_free(u->pin);
	free(u->pin_source);
	free(u->token);
	memset(u, 0, sizeof(*u));
}

void
mtls_p11_pin_free(char *pin)
{
	if (pin != NULL)
		mtls_free_secret((unsigned char *)pin, strlen(pin));
}

const char *
mtls_p11_module(const struct mtls_p11_uri *u)
{
	const char *env = getenv(MTLS_PKCS11_MODULE_ENV);

	if (u->module != NULL)
		return u->module;
	return env != NULL && *env != '\0' ? env : NULL;
}

/* The file pin-source= names: "file:/path", "file:///path" or "/path". */
static const char *
pin_source_file(const char *source)
{
	if (strncmp(source, "file://", 7) == 0)
		return source + 7;
	if (strncmp(source, "file:", 5) == 0)
		return source + 5;
	return source[0] == '/' ? source : NULL;
}

/* The PIN in the file of pin-source=: its first line. */
static int
pin_from_file(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    char **pin)
{
	const char *file = pin_source_file(u->pin_source);
	unsigned char *data;
	size_t size, len;

	ENSURE_CFG(file != NULL && *file == '/', cfg, MTLS_ERR_INVALID,
	    "PKCS#11 URI %s: pin-source '%s' is not a file (only "
	    "pin-source=file:/absolute/path is supported)", u->path,
	    u->pin_source);
	if (mtls_read_file(cfg, "PKCS#11 PIN", file, &data, &size) != 0)
		return -1;
	len = strcspn((char *)data, "\r\n");
	if (len == 0 || len > PIN_MAX) {
		mtls_free_secret(data, size);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "PKCS#11 PIN file '%s' (the "
		    "pin-source of %s) %s", file, u->path, len == 0 ? "is empty" :
		    "holds no PIN: its first line is too long");
	}
	*pin = strndup((char *)data, len);
	mtls_free_secret(data, size);
	return *pin != NULL ? 0 : CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
}

int
mtls_p11_pin(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    const char *pass, char **pin)
{
	const char *env = getenv(MTLS_PKCS11_PIN_ENV);
	const char *from = pass != NULL && *pass != '\0' ? pass : u->pin;

	*pin = NULL;
	if (from == NULL && u->pin_source != NULL)
		return pin_from_file(cfg, u, pin);
	if (from == NULL && env != NULL && *env != '\0')
		from = env;
	if (from != NULL && (*pin = strdup(from)) == NULL)
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	return 0;
}
