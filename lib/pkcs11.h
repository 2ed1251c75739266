/*
 * pkcs11.h - keys and certificates named by pkcs11: URIs (RFC 7512),
 * internal to the library: their loading through OpenSSL's pkcs11 engine
 * (pkcs11.c); the URI's parts are pkcs11_uri.h's.
 */
#ifndef MTLS_PKCS11_H
#define MTLS_PKCS11_H

#include "pkcs11_uri.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

struct mtls_config;

/* The private key, or the certificate, that uri names in a token: 0 with
 * *key or *cert set, or -1 with a message naming what was wrong (the PIN,
 * the object, the module, the engine) and its code on cfg. */
int mtls_pkcs11_load_key(struct mtls_config *cfg, const char *uri,
    const char *pass, EVP_PKEY **key);
int mtls_pkcs11_load_cert(struct mtls_config *cfg, const char *uri,
    const char *pass, X509 **cert);

#endif
