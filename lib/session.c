/*
 * session.c - resumption: the client's session cache (per config, keyed
 * by host, port and server name) and the server's session tickets: naming
 * sessions of its own store (session_store.c), or, with ticket keys that
 * several servers share, holding the whole session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mtls_internal.h"

#define DEFAULT_SESSION_CACHE 100
#define DEFAULT_SERVER_SESSIONS 2048  /* about 7 KiB each: see the man page */
/* nginx's usual ssl_session_cache shared:SSL:10m */
#define DEFAULT_SERVER_SESSION_BYTES ((size_t)10 * 1024 * 1024)
#define MIN_SERVER_SESSION_BYTES ((size_t)64 * 1024)
#define DEFAULT_TICKETS 1
#define TICKET_KEY_FILE_SIZE 80
#define TICKET_KEY_SIZE_128 48    /* nginx's older, AES-128 keys */

static int
find_session(const struct mtls_config *cfg, const char *key)
{
	int i;

	for (i = 0; i < cfg->session_count; i++)
		if (strcmp(cfg->sessions[i].key, key) == 0)
			return i;
	return -1;
}

/* A slot for key, evicting the oldest entry when the cache is full. */
static int
new_slot(struct mtls_config *cfg, const char *key)
{
	char *copy = strdup(key);

	if (copy == NULL)
		return -1;
	if (cfg->session_count == cfg->session_max) {
		free(cfg->sessions[0].key);
		SSL_SESSION_free(cfg->sessions[0].session);
		memmove(cfg->sessions, cfg->sessions + 1,
		    (size_t)(cfg->session_count - 1) * sizeof(*cfg->sessions));
		cfg->session_count--;
	}
	cfg->sessions[cfg->session_count].key = copy;
	cfg->sessions[cfg->session_count].session = NULL;
	return cfg->session_count++;
}

/* A new session of c's: 1 when we keep the reference to it. */
static int
keep_new_session(SSL *ssl, SSL_SESSION *session)
{
	struct mtls *c = SSL_get_app_data(ssl);
	struct mtls_config *cfg;
	int i;

	if (c != NULL && c->role == ROLE_ACCEPTED)
		return mtls_store_new_session(c, session);
	if (c == NULL || c->role != ROLE_CLIENT || c->session_key == NULL)
		return 0;
	cfg = c->cfg;
	pthread_mutex_lock(&cfg->session_lock);
	if ((i = find_session(cfg, c->session_key)) < 0)
		i = new_slot(cfg, c->session_key);
	if (i >= 0) {
		SSL_SESSION_free(cfg->sessions[i].session);
		cfg->sessions[i].session = session;
	}
	pthread_mutex_unlock(&cfg->session_lock);
	return i >= 0;
}

/* Called by OpenSSL with each new session (in TLS 1.3, each ticket).
 * Returns 1 when we keep the reference it hands us; keeping none is no
 * failure of the handshake. */
static int
new_session_cb(SSL *ssl, SSL_SESSION *session)
{
	int kept;

	mtls_callback_enter();
	kept = keep_new_session(ssl, session);
	mtls_callback_leave(false);
	return kept;
}

/*
 * A server's stateless ticket carries the chain verdict of the handshake
 * that made it (RFC 8446, 4.6.1 leaves the contents to the server), so
 * that a resumption can be judged by the policy in force.
 */
static int
ticket_gen_cb(SSL *ssl, void *arg)
{
	bool chain_ok = SSL_get0_peer_certificate(ssl) != NULL &&
	    SSL_get_verify_result(ssl) == X509_V_OK;
	int ok;

	mtls_callback_enter();
	ok = SSL_SESSION_set1_ticket_appdata(SSL_get_session(ssl),
	    chain_ok ? "1" : "0", 1);
	mtls_callback_leave(ok != 1);
	return ok;
}

/* Whether the session a ticket held may be resumed: see ticket_dec_cb. */
static SSL_TICKET_RETURN
judge_ticket(SSL *ssl, SSL_SESSION *session, SSL_TICKET_STATUS status)
{
	struct mtls *c = SSL_get_app_data(ssl);
	void *appdata = NULL;
	size_t len = 0;
	bool chain_ok;

	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		break;
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
	SSL_SESSION_get0_ticket_appdata(session, &appdata, &len);
	chain_ok = len == 1 && *(char *)appdata == '1';
	if (c != NULL && !mtls_policy_admits_resumption(c,
	    SSL_SESSION_get0_peer(session), chain_ok))
		return SSL_TICKET_RETURN_IGNORE;
	return status == SSL_TICKET_SUCCESS_RENEW ? SSL_TICKET_RETURN_USE_RENEW :
	    SSL_TICKET_RETURN_USE;
}

static SSL_TICKET_RETURN
ticket_dec_cb(SSL *ssl, SSL_SESSION *session, const unsigned char *name,
    size_t name_len, SSL_TICKET_STATUS status, void *arg)
{
	SSL_TICKET_RETURN verdict;

	mtls_callback_enter();
	verdict = judge_ticket(ssl, session, status);
	mtls_callback_leave(verdict == SSL_TICKET_RETURN_ABORT);
	return verdict;
}

/* Whether a server's tickets hold the whole session (stateless). */
static bool
stateless_tickets(const struct mtls_config *cfg)
{
	return cfg->ticket_count > 0 && !mtls_store_in_use(cfg);
}

/*
 * How a server resumes: from its store, with tickets that only name a
 * session, when it makes tickets and has no shared ticket key; else from
 * tickets that hold the session (or not at all, with no tickets).  Both
 * pass through the policy: get_session_cb or ticket_dec_cb.
 */
static void
apply_resumption_mode(struct mtls_config *cfg)
{
	SSL_CTX_set_num_tickets(cfg->ctx, (size_t)cfg->ticket_count);
	SSL_CTX_set_session_cache_mode(cfg->ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL |
	    (mtls_store_in_use(cfg) ? SSL_SESS_CACHE_SERVER : 0));
}

/* An accepted connection: SSL_OP_NO_TICKET makes its TLS 1.3 tickets
 * stateful and turns TLS 1.2 tickets off.  (Not on the SSL_CTX: a client
 * with it would not offer TLS 1.2 tickets.) */
void
mtls_session_prepare_accepted(struct mtls *c)
{
	if (!stateless_tickets(c->cfg))
		SSL_set_options(c->ssl, SSL_OP_NO_TICKET);
}

int
mtls_session_setup(struct mtls_config *cfg)
{
	if (pthread_mutex_init(&cfg->session_lock, NULL) != 0)
		return -1;
	cfg->session_max = DEFAULT_SESSION_CACHE;
	cfg->sessions = calloc(DEFAULT_SESSION_CACHE + 1, sizeof(*cfg->sessions));
	if (cfg->sessions == NULL)
		return -1;
	cfg->server_session_max = DEFAULT_SERVER_SESSIONS;
	cfg->server_session_bytes = DEFAULT_SERVER_SESSION_BYTES;
	cfg->ticket_count = DEFAULT_TICKETS;
	/* OpenSSL stores nothing itself: every session is ours to judge. */
	SSL_CTX_sess_set_new_cb(cfg->ctx, new_session_cb);
	SSL_CTX_set_session_ticket_cb(cfg->ctx, ticket_gen_cb, ticket_dec_cb,
	    NULL);
	mtls_store_setup(cfg);
	apply_resumption_mode(cfg);
	return 0;
}

static void
drop_sessions(struct mtls_config *cfg)
{
	int i;

	for (i = 0; i < cfg->session_count; i++) {
		free(cfg->sessions[i].key);
		SSL_SESSION_free(cfg->sessions[i].session);
	}
	free(cfg->sessions);
	cfg->sessions = NULL;
	cfg->session_count = 0;
}

void
mtls_session_free(struct mtls_config *cfg)
{
	drop_sessions(cfg);
	mtls_store_free(&cfg->server_sessions);
	if (cfg->ticket_keys != NULL)
		OPENSSL_cleanse(cfg->ticket_keys,
		    cfg->ticket_key_count * sizeof(*cfg->ticket_keys));
	free(cfg->ticket_keys);
	pthread_mutex_destroy(&cfg->session_lock);
}

/* Makes c's cache key and offers the cached session for it, if any. */
int
mtls_session_attach(struct mtls *c, const char *host, const char *port,
    const char *name)
{
	struct mtls_config *cfg = c->cfg;
	size_t len;
	int i;

	if (cfg->session_max == 0)
		return 0;
	len = strlen(host) + strlen(port) + strlen(name) + 3;
	if ((c->session_key = malloc(len)) == NULL)
		return -1;
	snprintf(c->session_key, len, "%s|%s|%s", host, port, name);
	pthread_mutex_lock(&cfg->session_lock);
	i = find_session(cfg, c->session_key);
	if (i >= 0 && SSL_SESSION_is_resumable(cfg->sessions[i].session))
		SSL_set_session(c->ssl, cfg->sessions[i].session);
	pthread_mutex_unlock(&cfg->session_lock);
	return 0;
}

MTLS_EXPORT int
mtls_config_set_session_cache(struct mtls_config *cfg, int size)
{
	struct mtls_cached_session *slots;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(size >= 0 && size <= 1000000, cfg, MTLS_ERR_INVALID,
	    "session cache size %d is out of range (0 turns it off)", size);
	slots = calloc((size_t)size + 1, sizeof(*slots));
	ENSURE_CFG(slots != NULL, cfg, MTLS_ERR_NOMEM, "out of memory");
	drop_sessions(cfg);
	cfg->sessions = slots;
	cfg->session_max = size;
	cfg->server_session_max = size;
	apply_resumption_mode(cfg);
	return RECORDED(0, cfg, mtls_config_set_session_cache, "i", size);
}

MTLS_EXPORT int
mtls_config_set_session_store_bytes(struct mtls_config *cfg, size_t bytes)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(bytes == 0 || bytes >= MIN_SERVER_SESSION_BYTES, cfg,
	    MTLS_ERR_INVALID, "session store size %zu bytes is too small: at "
	    "least %zu (a session with a client certificate takes about 7 "
	    "KiB), or 0 to keep no sessions", bytes, MIN_SERVER_SESSION_BYTES);
	cfg->server_session_bytes = bytes;
	apply_resumption_mode(cfg);
	return RECORDED(0, cfg, mtls_config_set_session_store_bytes, "z", bytes);
}

MTLS_EXPORT int
mtls_config_set_session_tickets(struct mtls_config *cfg, int count)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(count >= 0 && count <= 16, cfg, MTLS_ERR_INVALID,
	    "session ticket count %d is out of range: 0 (off) to 16", count);
	cfg->ticket_count = count;
	apply_resumption_mode(cfg);
	return RECORDED(0, cfg, mtls_config_set_session_tickets, "i", count);
}

static const struct mtls_ticket_key *
find_ticket_key(const struct mtls_config *cfg, const unsigned char name[16])
{
	size_t i;

	for (i = 0; i < cfg->ticket_key_count; i++)
		if (memcmp(cfg->ticket_keys[i].name, name, 16) == 0)
			return &cfg->ticket_keys[i];
	return NULL;
}

static const EVP_CIPHER *
ticket_cipher(const struct mtls_ticket_key *key)
{
	return key->aes128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
}

/*
 * Encrypts tickets with the first key, decrypts with any: RFC 5077's
 * recommended construction, AES-256-CBC and HMAC-SHA256, as nginx does.
 * Returns 1 (use), 2 (use, and renew the ticket with the current key),
 * 0 (unknown key: full handshake) or -1.
 */
static int
init_ticket_crypto(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt)
{
	const struct mtls_config *cfg = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct mtls_ticket_key *key = encrypt ? &cfg->ticket_keys[0] :
	    find_ticket_key(cfg, name);
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (key == NULL)
		return 0;
	if (encrypt) {
		memcpy(name, key->name, 16);
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
		    EVP_EncryptInit_ex(cipher, ticket_cipher(key), NULL, key->aes,
		    iv) != 1)
			return -1;
	} else if (EVP_DecryptInit_ex(cipher, ticket_cipher(key), NULL, key->aes,
	    iv) != 1) {
		return -1;
	}
	if (EVP_MAC_init(mac, key->hmac, key->aes128 ? 16 : sizeof(key->hmac),
	    params) != 1)
		return -1;
	return encrypt || key == &cfg->ticket_keys[0] ? 1 : 2;
}

static int
ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt)
{
	int rc;

	mtls_callback_enter();
	rc = init_ticket_crypto(ssl, name, iv, cipher, mac, encrypt);
	mtls_callback_leave(rc < 0);
	return rc;
}

/*
 * One key of nginx's layouts into *key: 80 bytes are name, HMAC key, AES
 * key (AES-256-CBC); 48 bytes are name, AES key, HMAC key (AES-128-CBC),
 * as nginx's ngx_ssl_session_ticket_keys reads them.
 */
static void
unpack_ticket_key(struct mtls_ticket_key *key, const unsigned char *data,
    size_t size)
{
	memcpy(key->name, data, 16);
	key->aes128 = size == TICKET_KEY_SIZE_128;
	if (key->aes128) {
		memcpy(key->aes, data + 16, 16);
		memcpy(key->hmac, data + 32, 16);
	} else {
		memcpy(key->hmac, data + 16, 32);
		memcpy(key->aes, data + 48, 32);
	}
}

/* The size of each key in a file of len bytes: whole keys of 80 bytes,
 * else of 48; 0 when it is neither. */
static size_t
ticket_key_size(size_t len)
{
	if (len > 0 && len % TICKET_KEY_FILE_SIZE == 0)
		return TICKET_KEY_FILE_SIZE;
	if (len > 0 && len % TICKET_KEY_SIZE_128 == 0)
		return TICKET_KEY_SIZE_128;
	return 0;
}

/* Appends the count keys of data (each size bytes) to cfg's. */
static int
append_ticket_keys(struct mtls_config *cfg, const unsigned char *data,
    size_t size, size_t count)
{
	size_t have = cfg->ticket_key_count;
	/* Not realloc: the old copy of the keys is wiped, not left behind. */
	struct mtls_ticket_key *grown = malloc((have + count) * sizeof(*grown));

	ENSURE_CFG(grown != NULL, cfg, MTLS_ERR_NOMEM, "out of memory");
	if (have > 0)
		memcpy(grown, cfg->ticket_keys, have * sizeof(*grown));
	mtls_free_secret((unsigned char *)cfg->ticket_keys,
	    have * sizeof(*grown));
	for (size_t i = 0; i < count; i++)
		unpack_ticket_key(&grown[have + i], data + i * size, size);
	cfg->ticket_keys = grown;
	cfg->ticket_key_count = have + count;
	return 0;
}

MTLS_EXPORT int
mtls_config_add_ticket_key_file(struct mtls_config *cfg, const char *key_file)
{
	unsigned char *data;
	size_t len, size;
	int rc;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0 ||
	    mtls_read_file(cfg, "ticket key", key_file, &data, &len) != 0)
		return -1;
	if ((size = ticket_key_size(len)) == 0) {
		mtls_free_secret(data, len);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "ticket key file '%s' holds %zu "
		    "bytes, not whole keys of %d (or %d) bytes: make a key with "
		    "'openssl rand 80 > ticket.key'", key_file, len,
		    TICKET_KEY_FILE_SIZE, TICKET_KEY_SIZE_128);
	}
	rc = append_ticket_keys(cfg, data, size, len / size);
	mtls_free_secret(data, len);
	if (rc != 0)
		return -1;
	SSL_CTX_set_tlsext_ticket_key_evp_cb(cfg->ctx, ticket_key_cb);
	apply_resumption_mode(cfg);
	return RECORDED(0, cfg, mtls_config_add_ticket_key_file, "p", key_file);
}
