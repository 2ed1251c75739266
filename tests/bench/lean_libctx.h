/* lean_libctx.h - the bench client's OpenSSL library context (see
 * lean_libctx.c). */
#ifndef LEAN_LIBCTX_H
#define LEAN_LIBCTX_H

#include <openssl/crypto.h>

/* A library context with the default provider's algorithms but only its
 * public-key decoders and TLS ciphers; NULL when it cannot be made (the
 * caller then uses the default context).  Made once; freed by
 * lean_libctx_free, after every SSL_CTX made with it. */
OSSL_LIB_CTX *lean_libctx(void);
void lean_libctx_free(void);

#endif
