/*
 * libctx.c - the OpenSSL library context of every SSL_CTX: OpenSSL's
 * default provider, seen through a small provider of ours that offers
 * its algorithms, but of its decoders only those of public keys
 * (SubjectPublicKeyInfo in DER), and of its ciphers only those that TLS
 * uses.
 *
 * Why: in OpenSSL 3.0, decoding a certificate's public key builds a
 * decoder chain from every decoder and key manager of the library context
 * (openssl/openssl#17950), and libssl decodes the peer's certificate in
 * each full handshake.  Finding the key managers walks every algorithm
 * the context has fetched, and libssl fetches a provider's ciphers all at
 * once, so the default provider's 124 ciphers are most of that walk.
 * With 12 decoders instead of 40 and 30 ciphers instead of 124, the
 * decoder chain costs 0.58 M instructions instead of 1.25 M (callgrind),
 * of the 4.7 M of a whole server-side handshake.  Nothing else changes:
 * the algorithms are the default provider's own code.  Keys and
 * certificates that the library loads itself still come from the default
 * context, so private keys, PKCS#12 and PEM decoding are untouched.
 *
 * Only when the default context is OpenSSL's plain default (no provider
 * configured besides "default", FIPS mode off) is this context used:
 * otherwise every SSL_CTX uses the default context, as configured.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "mtls_internal.h"

static OSSL_PROVIDER *inner_default;     /* in a context of its own */
static OSSL_ALGORITHM *key_decoders;     /* the decoders we pass on */
static OSSL_ALGORITHM *tls_ciphers;      /* and the ciphers */
static OSSL_LIB_CTX *ssl_libctx;         /* NULL: the default context */

static const OSSL_ALGORITHM *
wrap_query(void *provctx, int operation, int *no_cache)
{
	(void)provctx;
	if (operation == OSSL_OP_DECODER || operation == OSSL_OP_CIPHER) {
		*no_cache = 0;
		return operation == OSSL_OP_DECODER ? key_decoders : tls_ciphers;
	}
	return OSSL_PROVIDER_query_operation(inner_default, operation, no_cache);
}

static void
wrap_unquery(void *provctx, int operation, const OSSL_ALGORITHM *algs)
{
	(void)provctx;
	if (operation != OSSL_OP_DECODER && operation != OSSL_OP_CIPHER)
		OSSL_PROVIDER_unquery_operation(inner_default, operation, algs);
}

static const OSSL_PARAM *
wrap_gettable_params(void *provctx)
{
	(void)provctx;
	return OSSL_PROVIDER_gettable_params(inner_default);
}

static int
wrap_get_params(void *provctx, OSSL_PARAM params[])
{
	(void)provctx;
	return OSSL_PROVIDER_get_params(inner_default, params);
}

/* libssl learns the TLS groups from here. */
static int
wrap_get_capabilities(void *provctx, const char *capability,
    OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	return OSSL_PROVIDER_get_capabilities(inner_default, capability, cb, arg);
}

static const OSSL_DISPATCH wrap_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))wrap_query },
	{ OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, (void (*)(void))wrap_unquery },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))wrap_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))wrap_get_params },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))wrap_get_capabilities },
	{ 0, NULL }
};

/* The default provider's functions get its own context, as they expect. */
static int
wrap_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*provctx = OSSL_PROVIDER_get0_provider_ctx(inner_default);
	*out = wrap_dispatch;
	return 1;
}

static int
count_provider(OSSL_PROVIDER *prov, void *arg)
{
	int *others = arg;

	if (strcmp(OSSL_PROVIDER_get0_name(prov), "default") != 0)
		(*others)++;
	return 1;
}

/* The default context is OpenSSL's plain default: nothing to honour. */
static bool
default_context_is_plain(void)
{
	int others = 0;

	if (!OSSL_PROVIDER_available(NULL, "default") ||
	    EVP_default_properties_is_fips_enabled(NULL))
		return false;
	OSSL_PROVIDER_do_all(NULL, count_provider, &others);
	return others == 0;
}

/* A decoder of public keys: SubjectPublicKeyInfo in DER. */
static bool
is_key_decoder(const OSSL_ALGORITHM *alg)
{
	const char *props = alg->property_definition;

	return props != NULL && strstr(props, "input=der") != NULL &&
	    strstr(props, "structure=SubjectPublicKeyInfo") != NULL;
}

/* A cipher that a TLS cipher suite or a session ticket uses: the CBC
 * (HMAC-stitched ones too), GCM, CCM and ChaCha20-Poly1305 modes, and the
 * NULL cipher.  Not ECB, CFB, OFB, CTR, XTS, OCB, SIV, key wrap or
 * CBC-CTS, which are most of the default provider's 124. */
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
 * new array (all of them remain the default provider's); NULL if none. */
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
	if (kept == 0) {
		free(picked);
		return NULL;
	}
	return picked;
}

static void
setup(void)
{
	OSSL_LIB_CTX *inner, *outer;

	if (!default_context_is_plain() || (inner = OSSL_LIB_CTX_new()) == NULL)
		goto out;
	if ((inner_default = OSSL_PROVIDER_load(inner, "default")) == NULL ||
	    (key_decoders = pick(OSSL_OP_DECODER, is_key_decoder)) == NULL ||
	    (tls_ciphers = pick(OSSL_OP_CIPHER, is_tls_cipher)) == NULL ||
	    (outer = OSSL_LIB_CTX_new()) == NULL)
		goto out;
	if (OSSL_PROVIDER_add_builtin(outer, "libmtls", wrap_init) == 1 &&
	    OSSL_PROVIDER_load(outer, "libmtls") != NULL)
		ssl_libctx = outer;
	/* Otherwise both contexts stay unused, allocated once per process. */
out:
	ERR_clear_error();
}

OSSL_LIB_CTX *
mtls_libctx(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, setup);
	return ssl_libctx;
}
