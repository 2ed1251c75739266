/*
 * session_store.c - a server's own cache of sessions, behind stateful
 * session tickets (and TLS 1.2 session IDs).
 *
 * A stateless ticket holds the whole session, encoded and encrypted: the
 * server encodes it for every ticket it sends and decodes it for every
 * resumption, client certificate included.  When no ticket key is shared
 * between servers, a ticket need only name a session that the server
 * keeps: that is this store.  Sessions are found by their ID in a hash
 * table and kept in a ring, so that the oldest makes room for a new one.
 * The store is bounded twice: by a count of sessions and by the memory
 * they hold (nginx sizes its ssl_session_cache in bytes), each session
 * counted at an estimate of its heap (session_cost).  All of it is under
 * cfg->session_lock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtls_internal.h"

/*
 * What a kept session costs, estimated from what OpenSSL 3.0 allocates
 * (measured with mallinfo2 over a thousand d2i_SSL_SESSION and d2i_X509
 * calls on the test PKI): about 1 KiB for the session itself, and for
 * each certificate it holds decoded (the peer's, and the chain it sent
 * with it) about 2.7 KiB plus 4.7 times its DER length: 5.4 KiB for a
 * 566-byte P-256 client certificate.  Rounded up, with the slot.
 */
#define SESSION_BASE_COST 1024
#define CERT_BASE_COST 3072
#define CERT_DER_FACTOR 5

static size_t
cert_cost(X509 *cert)
{
	int der = cert != NULL ? i2d_X509(cert, NULL) : 0;

	return cert == NULL ? 0 :
	    CERT_BASE_COST + CERT_DER_FACTOR * (size_t)(der > 0 ? der : 0);
}

/* The estimated heap of session, made by the handshake on ssl. */
static size_t
session_cost(SSL *ssl, SSL_SESSION *session)
{
	/* On a server, OpenSSL's peer chain leaves out the peer's own
	 * certificate (SSL_get_peer_cert_chain(3)). */
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	size_t cost = SESSION_BASE_COST + sizeof(struct mtls_stored_session) +
	    cert_cost(SSL_SESSION_get0_peer(session));
	int i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		cost += cert_cost(sk_X509_value(chain, i));
	return cost;
}

/* The bucket of a session ID: IDs are random, their first bytes will do. */
static unsigned
bucket_of(const struct mtls_session_store *store, const unsigned char *id,
    unsigned len)
{
	unsigned h = 0, i;

	for (i = 0; i < len && i < 4; i++)
		h = h << 8 | id[i];
	return h & store->mask;
}

static int
store_alloc(struct mtls_session_store *store, int max)
{
	unsigned buckets = 1;
	int i;

	while (buckets < (unsigned)max)
		buckets <<= 1;
	store->slots = calloc((size_t)max, sizeof(*store->slots));
	store->buckets = malloc(buckets * sizeof(*store->buckets));
	if (store->slots == NULL || store->buckets == NULL) {
		free(store->slots);
		free(store->buckets);
		store->slots = NULL;
		store->buckets = NULL;
		return -1;
	}
	for (i = 0; i < (int)buckets; i++)
		store->buckets[i] = -1;
	store->mask = buckets - 1;
	store->max = max;
	return 0;
}

/* The slot holding the session with this ID, or -1. */
static int
store_find(const struct mtls_session_store *store, const unsigned char *id,
    unsigned len)
{
	int i;

	if (store->slots == NULL)
		return -1;
	for (i = store->buckets[bucket_of(store, id, len)]; i >= 0;
	    i = store->slots[i].next)
		if (store->slots[i].id_len == len &&
		    memcmp(store->slots[i].id, id, len) == 0)
			return i;
	return -1;
}

/* Empties slot i: out of its bucket, its session freed. */
static void
store_drop(struct mtls_session_store *store, int i)
{
	struct mtls_stored_session *slot = &store->slots[i];
	int *link = &store->buckets[bucket_of(store, slot->id, slot->id_len)];

	if (slot->session == NULL)
		return;
	while (*link != i)
		link = &store->slots[*link].next;
	*link = slot->next;
	SSL_SESSION_free(slot->session);
	store->count--;
	store->bytes -= slot->bytes;
	memset(slot, 0, sizeof(*slot));
}

/* Drops the oldest sessions, never the newest, until the store holds no
 * more than max_bytes. */
static void
store_trim(struct mtls_session_store *store, size_t max_bytes)
{
	int i = store->newest;

	while (store->bytes > max_bytes && store->count > 1) {
		i = (i + 1) % store->max;
		if (i != store->newest)
			store_drop(store, i);
	}
}

/* Keeps session (taking the reference), of an estimated cost in bytes,
 * in the slot after the newest, evicting the oldest session when the ring
 * is full and as many old ones as it takes to stay within max_bytes.  A
 * session over max_bytes alone is not kept.  Returns 0 or -1. */
static int
store_add(struct mtls_session_store *store, int max, size_t max_bytes,
    SSL_SESSION *session, bool chain_ok, size_t bytes)
{
	struct mtls_stored_session *slot;
	const unsigned char *id;
	unsigned len, b;
	int i;

	id = SSL_SESSION_get_id(session, &len);
	if (len == 0 || len > sizeof(slot->id) || bytes > max_bytes ||
	    (store->slots == NULL && store_alloc(store, max) != 0))
		return -1;
	if ((i = store_find(store, id, len)) >= 0)
		store_drop(store, i);
	i = store->newest = (store->newest + 1) % store->max;
	store_drop(store, i);
	slot = &store->slots[i];
	memcpy(slot->id, id, len);
	slot->id_len = len;
	slot->session = session;
	slot->chain_ok = chain_ok;
	slot->bytes = bytes;
	b = bucket_of(store, id, len);
	slot->next = store->buckets[b];
	store->buckets[b] = i;
	store->count++;
	store->bytes += bytes;
	store_trim(store, max_bytes);
	return 0;
}

void
mtls_store_free(struct mtls_session_store *store)
{
	int i;

	for (i = 0; store->slots != NULL && i < store->max; i++)
		SSL_SESSION_free(store->slots[i].session);
	free(store->slots);
	free(store->buckets);
	memset(store, 0, sizeof(*store));
}

/* Whether the store serves cfg: tickets on, no shared key, a size. */
bool
mtls_store_in_use(const struct mtls_config *cfg)
{
	return cfg->ticket_count > 0 && cfg->ticket_key_count == 0 &&
	    cfg->server_session_max > 0 && cfg->server_session_bytes > 0;
}

/* From OpenSSL, a server's new session: kept, with the chain verdict
 * that a resumption will be judged by.  Returns 1 (reference kept). */
int
mtls_store_new_session(struct mtls *c, SSL_SESSION *session)
{
	struct mtls_config *cfg = c->cfg;
	bool chain_ok = SSL_get0_peer_certificate(c->ssl) != NULL &&
	    SSL_get_verify_result(c->ssl) == X509_V_OK;
	size_t bytes = session_cost(c->ssl, session);
	int kept;

	pthread_mutex_lock(&cfg->session_lock);
	kept = mtls_store_in_use(cfg) && store_add(&cfg->server_sessions,
	    cfg->server_session_max, cfg->server_session_bytes, session,
	    chain_ok, bytes) == 0;
	pthread_mutex_unlock(&cfg->session_lock);
	return kept;
}

MTLS_EXPORT size_t
mtls_config_session_store_bytes(struct mtls_config *cfg, int *count)
{
	size_t bytes;

	if (count != NULL)
		*count = 0;
	if (cfg == NULL)
		return 0;
	pthread_mutex_lock(&cfg->session_lock);
	bytes = cfg->server_sessions.bytes;
	if (count != NULL)
		*count = cfg->server_sessions.count;
	pthread_mutex_unlock(&cfg->session_lock);
	return bytes;
}

static bool
expired(SSL_SESSION *session)
{
	return !SSL_SESSION_is_resumable(session) ||
	    time(NULL) - SSL_SESSION_get_time(session) >
	    SSL_SESSION_get_timeout(session);
}

/*
 * From OpenSSL, a client offers the session with this ID.  It resumes
 * when the store has it, unexpired, and the policy in force still admits
 * its peer; else the handshake is a full one.
 */
static SSL_SESSION *
find_session_for(SSL *ssl, const unsigned char *id, int len)
{
	struct mtls *c = SSL_get_app_data(ssl);
	struct mtls_config *cfg;
	SSL_SESSION *session = NULL;
	bool chain_ok = false;
	int i;

	if (c == NULL || len <= 0)
		return NULL;
	cfg = c->cfg;
	pthread_mutex_lock(&cfg->session_lock);
	if ((i = store_find(&cfg->server_sessions, id, (unsigned)len)) >= 0) {
		if (expired(cfg->server_sessions.slots[i].session)) {
			store_drop(&cfg->server_sessions, i);
		} else {
			session = cfg->server_sessions.slots[i].session;
			chain_ok = cfg->server_sessions.slots[i].chain_ok;
			SSL_SESSION_up_ref(session);
		}
	}
	pthread_mutex_unlock(&cfg->session_lock);
	/* The policy may call the application: not under the lock. */
	if (session != NULL && !mtls_policy_admits_resumption(c,
	    SSL_SESSION_get0_peer(session), chain_ok)) {
		SSL_SESSION_free(session);
		return NULL;
	}
	return session;
}

/* A session not found is a full handshake, not a failure. */
static SSL_SESSION *
get_session_cb(SSL *ssl, const unsigned char *id, int len, int *copy)
{
	SSL_SESSION *session;

	*copy = 0;
	mtls_callback_enter();
	session = find_session_for(ssl, id, len);
	mtls_callback_leave(false);
	return session;
}

/* From OpenSSL, a session that must not be resumed (a fatal alert). */
static void
remove_session_cb(SSL_CTX *ctx, SSL_SESSION *session)
{
	struct mtls_config *cfg = SSL_CTX_get_app_data(ctx);
	const unsigned char *id;
	unsigned len;
	int i;

	id = SSL_SESSION_get_id(session, &len);
	pthread_mutex_lock(&cfg->session_lock);
	i = store_find(&cfg->server_sessions, id, len);
	if (i >= 0 && cfg->server_sessions.slots[i].session == session)
		store_drop(&cfg->server_sessions, i);
	pthread_mutex_unlock(&cfg->session_lock);
}

void
mtls_store_setup(struct mtls_config *cfg)
{
	cfg->server_sessions.newest = -1;
	SSL_CTX_sess_set_get_cb(cfg->ctx, get_session_cb);
	SSL_CTX_sess_set_remove_cb(cfg->ctx, remove_session_cb);
}
