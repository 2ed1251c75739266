/*
 * pkcs11_uri.h - a pkcs11: URI (RFC 7512) taken apart (pkcs11_uri.c),
 * internal to the library: the path the engine is given, the module, the
 * PIN and where it comes from.
 */
#ifndef MTLS_PKCS11_URI_H
#define MTLS_PKCS11_URI_H

#include <stdbool.h>
#include <stddef.h>

struct mtls_config;

/* The environment variables read when neither the caller nor the URI
 * says: the module to load, and the PIN. */
#define MTLS_PKCS11_MODULE_ENV "MTLS_PKCS11_MODULE"
#define MTLS_PKCS11_PIN_ENV "MTLS_PKCS11_PIN"

/* A pkcs11: URI taken apart.  path is what the engine is given: the scheme
 * and the path attributes, without the query (the engine of Debian 12
 * refuses module-path=, and the PIN is passed apart from the URI); it is
 * also the URI as messages show it, without a pin-value. */
struct mtls_p11_uri {
	char *path;
	char *module;       /* module-path=, decoded; NULL: none */
	char *pin;          /* pin-value=, decoded: a secret; NULL: none */
	char *pin_source;   /* pin-source=, decoded; NULL: none */
	char *token;        /* token=, decoded, for messages; NULL: none */
};

/* True when name is a pkcs11: URI rather than a file name. */
bool mtls_is_pkcs11_uri(const char *name);
/* text taken apart into u: 0, or -1 with MTLS_ERR_INVALID on cfg. */
int mtls_p11_uri_parse(struct mtls_config *cfg, const char *text,
    struct mtls_p11_uri *u);
/* Frees u's strings, the PIN wiped. */
void mtls_p11_uri_free(struct mtls_p11_uri *u);
/* The PIN to log in with: pass, else pin-value=, else the file of
 * pin-source=, else $MTLS_PKCS11_PIN, else none (*pin NULL).  *pin is a
 * copy to free with mtls_p11_pin_free.  0, or -1 with the reason on cfg. */
int mtls_p11_pin(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    const char *pass, char **pin);
void mtls_p11_pin_free(char *pin);
/* The module to load: module-path=, else $MTLS_PKCS11_MODULE, else NULL
 * (the engine's default, p11-kit-proxy). */
const char *mtls_p11_module(const struct mtls_p11_uri *u);

#endif
