/*
 * lean_libctx.c - the bench client's OpenSSL library context: the default
 * provider's algorithms, passed on by a small provider that offers, of
 * its decoders, only those of public keys (SubjectPublicKeyInfo in DER),
 * and of its ciphers only those that TLS uses.
 *
 * Why: in OpenSSL 3.0, decoding a certificate's public key builds a
 * decoder chain from every decoder and key manager of the library context
 * (openssl/openssl#17950), and libssl decodes the server's certificate in
 * every full handshake: 1.2 M of the client's 5.1 M instructions per
 * handshake (callgrind).  Finding the key managers walks every algorithm
 * the context has fetched, and libssl fetches the provider's 124 ciphers
 * at once.  The algorithms used are the default provider's own code.
 * Private keys are loaded in the default context, which keeps every
 * decoder.  Written on libcrypto alone, as the rest of the client.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "lean_libctx.h"

static OSSL_LIB_CTX *inner, *outer;
static OSSL_PROVIDER *inner_default, *lean;
static OSSL_ALGORITHM *key_decoders, *tls_ciphers;

static const OSSL_ALGORITHM *
lean_query(void *provctx, int operation, int *no_cache)
{
	(void)provctx;
	if (operation == OSSL_OP_DECODER || operation == OSSL_OP_CIPHER) {
		*no_cache = 0;
		return operation == OSSL_OP_DECODER ? key_decoders : tls_ciphers;
	}
	return OSSL_PROVIDER_query_operation(inner_default, operation, no_cache);
}

static void
lean_unquery(void *provctx, int operation, const OSSL_ALGORITHM *algs)
{
	(void)provctx;
	if (operation != OSSL_OP_DECODER && operation != OSSL_OP_CIPHER)
		OSSL_PROVIDER_unquery_operation(inner_default, operation, algs);
}

static const OSSL_PARAM *
lean_gettable_params(void *provctx)
{
	(void)provctx;
	return OSSL_PROVIDER_gettable_params(inner_default);
}

static int
lean_get_params(void *provctx, OSSL_PARAM params[])
{
	(void)provctx;
	return OSSL_PROVIDER_get_params(inner_default, params);
}

/* libssl learns the TLS groups (key shares) from here. */
static int
lean_get_capabilities(void *provctx, const char *capability,
    OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	return OSSL_PROVIDER_get_capabilities(inner_default, capability, cb, arg);
}

static const OSSL_DISPATCH lean_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))lean_query },
	{ OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, (void (*)(void))lean_unquery },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))lean_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))lean_get_params },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))lean_get_capabilities },
	{ 0, NULL }
};

/* The default provider's functions get its own context, as they expect. */
static int
lean_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*provctx = OSSL_PROVIDER_get0_provider_ctx(inner_default);
	*out = lean_dispatch;
	return 1;
}

static bool
is_key_decoder(const OSSL_ALGORITHM *alg)
{
	const char *props = alg->property_definition;

	return props != NULL && strstr(props, "input=der") != NULL &&
	    strstr(props, "structure=SubjectPublicKeyInfo") != NULL;
}

/* CBC (and its HMAC-stitched forms), GCM, CCM, ChaCha20-Poly1305, NULL. */
static bool
is_tls_cipher(const OSSL_ALGORITHM *alg)
{
	static const char *const modes[] = { "-CBC", "-GCM", "-CCM",
	    "-POLY1305", "NULL" };
	const char *names = alg->algorithm_names;

	if (strstr(names, "-CTS") != NULL)
		return false;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcasestr(names, modes[i]) != NULL)
			return true;
	return false;
}

/* The default provider's algorithms of operation that keep picks, in a
 * new array; NULL if none. */
static OSSL_ALGORITHM *
pick(int operation, bool (*keep)(const OSSL_ALGORITHM *alg))
{
	int no_cache, n = 0, kept = 0;
	const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(inner_default,
	    operation, &no_cache);
	OSSL_ALGORITHM *picked;

	while (all != NULL && all[n].algorithm_names != NULL)
		n++;
	if (n == 0 || (picked = calloc((size_t)n + 1, sizeof(*picked))) == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		if (keep(&all[i]))
			picked[kept++] = all[i];
	if (kept > 0)
		return picked;
	free(picked);
	return NULL;
}

OSSL_LIB_CTX *
lean_libctx(void)
{
	if ((inner = OSSL_LIB_CTX_new()) == NULL ||
	    (inner_default = OSSL_PROVIDER_load(inner, "default")) == NULL ||
	    (key_decoders = pick(OSSL_OP_DECODER, is_key_decoder)) == NULL ||
	    (tls_ciphers = pick(OSSL_OP_CIPHER, is_tls_cipher)) == NULL ||
	    (outer = OSSL_LIB_CTX_new()) == NULL ||
	    OSSL_PROVIDER_add_builtin(outer, "lean", lean_init) != 1 ||
	    (lean = OSSL_PROVIDER_load(outer, "lean")) == NULL) {
		ERR_clear_error();
		lean_libctx_free();
		return NULL;
	}
	return outer;
}

void
lean_libctx_free(void)
{
	OSSL_PROVIDER_unload(lean);
	OSSL_LIB_CTX_free(outer);
	OSSL_PROVIDER_unload(inner_default);
	OSSL_LIB_CTX_free(inner);
	free(key_decoders);
	free(tls_ciphers);
	outer = inner = NULL;
	inner_default = lean = NULL;
	key_decoders = tls_ciphers = NULL;
}
