/*
 * config.c - the shared configuration: life cycle, freezing, protocol
 * settings.  Identity and trust loading live in identity.c and trust.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "mtls_internal.h"

#define DEFAULT_CONNECT_MS 30000
#define DEFAULT_HANDSHAKE_MS 30000
#define DEFAULT_VERIFY_DEPTH 2

/* Never prompt: a key that needs a passphrase we were not given fails. */
static int
no_prompt_cb(char *buf, int size, int rwflag, void *userdata)
{
	return 0;
}

static int
setup_ctx(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return -1;
	/* Renegotiation is a source of attacks and of surprise; mTLS needs none. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle connections keep no buffers; a retried write may move its buffer. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One recv for what has arrived, not one per record header and body. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_default_passwd_cb(ctx, no_prompt_cb);
	SSL_CTX_set_info_callback(ctx, mtls_info_cb);
	/* Servers that verify clients need a context id for session resumption. */
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"libmtls", 7) != 1)
		return -1;
	return 0;
}

/* mtls_config_new's failure: NULL, the reason (what, and OpenSSL's) left
 * for mtls_config_error(NULL) in the calling thread; cfg freed. */
static struct mtls_config *
config_new_failed(struct mtls_config *cfg, int code, const char *what)
{
	CFG_FAIL_SSL(NULL, code, "cannot create a configuration: %s", what);
	mtls_config_free(cfg);
	return NULL;
}

MTLS_EXPORT struct mtls_config *
mtls_config_new(void)
{
	static unsigned long last_id;
	struct mtls_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return config_new_failed(NULL, MTLS_ERR_NOMEM, "out of memory");
	cfg->refs = 1;
	cfg->id = __atomic_add_fetch(&last_id, 1, __ATOMIC_RELAXED);
	cfg->connect_ms = DEFAULT_CONNECT_MS;
	cfg->handshake_ms = DEFAULT_HANDSHAKE_MS;
	cfg->write_ms = -1;
	if (pthread_mutex_init(&cfg->check_lock, NULL) != 0)
		return config_new_failed(cfg, MTLS_ERR_IO, "no mutex to be had");
	cfg->ctx = SSL_CTX_new_ex(mtls_libctx(), NULL, TLS_method());
	if (cfg->ctx == NULL || setup_ctx(cfg->ctx) != 0)
		return config_new_failed(cfg, MTLS_ERR_TLS, "OpenSSL cannot make "
		    "a TLS context (SSL_CTX_new_ex)");
	SSL_CTX_set_alpn_select_cb(cfg->ctx, mtls_alpn_select_cb, cfg);
	SSL_CTX_set_tlsext_servername_callback(cfg->ctx, mtls_servername_cb);
	SSL_CTX_set_cert_verify_callback(cfg->ctx, mtls_cert_verify_cb, NULL);
	SSL_CTX_set_app_data(cfg->ctx, cfg);
	/* Root plus two intermediates; OpenSSL's default is 100. */
	SSL_CTX_set_verify_depth(cfg->ctx, DEFAULT_VERIFY_DEPTH);
	if (mtls_session_setup(cfg) != 0 || mtls_verify_cache_setup(cfg) != 0)
		return config_new_failed(cfg, MTLS_ERR_NOMEM, "out of memory "
		    "for the session and verify caches");
	return cfg;
}

MTLS_EXPORT struct mtls_config *
mtls_config_ref(struct mtls_config *cfg)
{
	return cfg != NULL ? mtls_config_hold(cfg) : NULL;
}

MTLS_EXPORT void
mtls_config_free(struct mtls_config *cfg)
{
	if (cfg == NULL || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (cfg->ext_free != NULL)
		cfg->ext_free(cfg);
	if (cfg->watch_free != NULL)
		cfg->watch_free(cfg);
	mtls_recipe_free(&cfg->recipe);
	SSL_CTX_free(cfg->ctx);     /* frees the private key, clearing it */
	mtls_identities_free(cfg);  /* ... once these references are gone */
	for (size_t i = 0; i < cfg->sni_count; i++)
		mtls_config_free(cfg->sni[i].identities);
	mtls_sni_free(cfg);         /* the names: the configs went above */
	mtls_session_free(cfg);
	mtls_proxy_free(cfg);
	mtls_verify_cache_free(cfg);
	free(cfg->alpn);
	mtls_allow_free(cfg);
	mtls_warnings_free(cfg);
	pthread_mutex_destroy(&cfg->check_lock);
	free(cfg);
}

/* The extension slot and the I/O timeout, for the layer above (HTTP). */
void *
mtls_config_ext(const struct mtls_config *cfg)
{
	return cfg->ext;
}

void
mtls_config_set_ext(struct mtls_config *cfg, void *ext,
    void (*ext_free)(struct mtls_config *cfg))
{
	cfg->ext = ext;
	cfg->ext_free = ext_free;
}

int
mtls_config_io_ms(const struct mtls_config *cfg)
{
	return cfg->io_ms;
}

int
mtls_config_write_ms(const struct mtls_config *cfg)
{
	return cfg->write_ms >= 0 ? cfg->write_ms : cfg->io_ms;
}

/* "h2,http/1.1" -> "\x02h2\x08http/1.1", the wire format of RFC 7301. */
static int
alpn_to_wire(const char *list, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(list);
	unsigned char *wire = malloc(len + 1);
	size_t w = 0;
	const char *p = list;

	if (wire == NULL)
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == 0 || n > 255) {
			free(wire);
			return -1;
		}
		wire[w++] = (unsigned char)n;
		memcpy(wire + w, p, n);
		w += n;
		p += n;
		if (*p == ',' && *++p == '\0') {   /* trailing comma */
			free(wire);
			return -1;
		}
	}
	*out = wire;
	*out_len = w;
	return 0;
}

MTLS_EXPORT int
mtls_config_set_alpn(struct mtls_config *cfg, const char *protocols)
{
	unsigned char *wire;
	size_t len;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(protocols != NULL && *protocols != '\0', cfg, MTLS_ERR_INVALID,
	    "ALPN protocol list is empty");
	ENSURE_CFG(alpn_to_wire(protocols, &wire, &len) == 0, cfg, MTLS_ERR_INVALID,
	    "invalid ALPN protocol list '%s': names must be 1 to 255 bytes, "
	    "separated by commas", protocols);
	if (SSL_CTX_set_alpn_protos(cfg->ctx, wire, (unsigned)len) != 0) {
		free(wire);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "cannot set ALPN protocols");
	}
	free(cfg->alpn);
	cfg->alpn = wire;
	cfg->alpn_len = len;
	return RECORDED(0, cfg, mtls_config_set_alpn, "s", protocols);
}

MTLS_EXPORT int
mtls_config_set_timeouts(struct mtls_config *cfg, int connect_ms,
    int handshake_ms, int io_ms)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(connect_ms >= 0 && handshake_ms >= 0 && io_ms >= 0, cfg,
	    MTLS_ERR_INVALID, "timeouts must be 0 (none) or a positive number "
	    "of milliseconds, got %d/%d/%d", connect_ms, handshake_ms, io_ms);
	cfg->connect_ms = connect_ms;
	cfg->handshake_ms = handshake_ms;
	cfg->io_ms = io_ms;
	return RECORDED(0, cfg, mtls_config_set_timeouts, "iii", connect_ms,
	    handshake_ms, io_ms);
}

MTLS_EXPORT int
mtls_config_set_write_timeout(struct mtls_config *cfg, int write_ms)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(write_ms >= -1, cfg, MTLS_ERR_INVALID, "the write timeout "
	    "must be 0 (none), a positive number of milliseconds or -1 (the "
	    "I/O timeout), got %d", write_ms);
	cfg->write_ms = write_ms;
	return RECORDED(0, cfg, mtls_config_set_write_timeout, "i", write_ms);
}

MTLS_EXPORT int
mtls_config_set_interruptible(struct mtls_config *cfg, int on)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	cfg->interruptible = on != 0;
	cfg->signals_held = false;
	return RECORDED(0, cfg, mtls_config_set_interruptible, "i", on);
}

MTLS_EXPORT int
mtls_config_set_interrupt_signals(struct mtls_config *cfg, const int *signals,
    size_t count)
{
	sigset_t mask;
	size_t i;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(count == 0 || signals != NULL, cfg, MTLS_ERR_INVALID,
	    "%zu interrupt signals given, but no array", count);
	sigfillset(&mask);
	for (i = 0; i < count; i++)
		ENSURE_CFG(sigdelset(&mask, signals[i]) == 0, cfg,
		    MTLS_ERR_INVALID, "%d is not a signal number", signals[i]);
	cfg->interruptible = count > 0;
	cfg->signals_held = count > 0;
	cfg->wait_mask = mask;
	return RECORDED(0, cfg, mtls_config_set_interrupt_signals, "I",
	    signals, count);
}
