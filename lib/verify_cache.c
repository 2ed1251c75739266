/*
 * verify_cache.c - the chains a config has verified, for a while: a peer
 * that presents the same certificates again (byte for byte, for the same
 * name and role) gets the same verdict without the signature checks of
 * X509_verify_cert, which cost a sixth of a full handshake on each side.
 * The handshake itself is not shortened: the peer still proves that it
 * holds the key (CertificateVerify), and the mode, the allow-list and the
 * verify callback still judge it.
 *
 * Only successes are kept, for at most the config's seconds, and never
 * past the notAfter of a certificate of the chain or the nextUpdate of a
 * CRL of the config.  The config is frozen once used, so its trust and
 * CRLs cannot change under a kept chain.  A direct-mapped table: a chain
 * that lands on a busy slot replaces what was there.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "mtls_internal.h"

#define MAX_CACHE_SIZE 65536
#define MAX_CACHE_SECONDS 3600

int
mtls_verify_cache_setup(struct mtls_config *cfg)
{
	struct mtls_verify_cache *vc = &cfg->verify_cache;

	vc->size = MTLS_DEFAULT_VERIFY_CACHE_SIZE;
	vc->seconds = MTLS_DEFAULT_VERIFY_CACHE_SECONDS;
	return pthread_mutex_init(&vc->lock, NULL) == 0 ? 0 : -1;
}

void
mtls_verify_cache_free(struct mtls_config *cfg)
{
	struct mtls_verify_cache *vc = &cfg->verify_cache;

	for (int i = 0; vc->slots != NULL && i < vc->size; i++)
		sk_X509_pop_free(vc->slots[i].chain, X509_free);
	free(vc->slots);
	pthread_mutex_destroy(&vc->lock);
}

MTLS_EXPORT int
mtls_config_set_verify_cache(struct mtls_config *cfg, int size, int seconds)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(size >= 0 && size <= MAX_CACHE_SIZE, cfg, MTLS_ERR_INVALID,
	    "verify cache size %d is out of range (0 turns the cache off, at "
	    "most %d chains)", size, MAX_CACHE_SIZE);
	ENSURE_CFG(seconds >= 1 && seconds <= MAX_CACHE_SECONDS, cfg,
	    MTLS_ERR_INVALID, "verify cache lifetime %d s is out of range "
	    "(1 to %d seconds)", seconds, MAX_CACHE_SECONDS);
	cfg->verify_cache.size = size;
	cfg->verify_cache.seconds = seconds;
	return RECORDED(0, cfg, mtls_config_set_verify_cache, "ii", size, seconds);
}

/* s and its NUL; NULL as "". */
static bool
digest_string(EVP_MD_CTX *md, const char *s)
{
	return EVP_DigestUpdate(md, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

/* What the chain must name, from the store's parameters: host and IP. */
static bool
digest_names(EVP_MD_CTX *md, X509_STORE_CTX *store)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(store);
	char *ip;
	bool ok;

	/* No IP expected is NULL with an error on the queue ("passed a null
	 * parameter"), which must not outlive this call: see error.c. */
	ERR_set_mark();
	ip = X509_VERIFY_PARAM_get1_ip_asc(param);
	ERR_pop_to_mark();
	ok = digest_string(md, X509_VERIFY_PARAM_get0_host(param, 0)) &&
	    digest_string(md, ip);

	OPENSSL_free(ip);
	return ok;
}

/* The key of what c's peer presented: role, expected names, certificates. */
static bool
chain_key(struct mtls *c, X509_STORE_CTX *store, unsigned char key[32])
{
	STACK_OF(X509) *presented = X509_STORE_CTX_get0_untrusted(store);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char role = c->role == ROLE_CLIENT ? 'c' : 's';
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, &role, 1) && digest_names(md, store);

	for (int i = 0; ok && i < sk_X509_num(presented); i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(presented, i), &der);

		ok = len > 0 && EVP_DigestUpdate(md, der, (size_t)len);
		OPENSSL_free(der);
	}
	ok = ok && sk_X509_num(presented) > 0 &&
	    EVP_DigestFinal_ex(md, key, NULL);
	EVP_MD_CTX_free(md);
	return ok;
}

static struct mtls_verified *
slot_of(struct mtls_verify_cache *vc, const unsigned char key[32])
{
	uint32_t h;

	memcpy(&h, key, sizeof(h));
	return &vc->slots[h % (uint32_t)vc->size];
}

/* The kept chain again, with this handshake's leaf; NULL on no memory. */
static STACK_OF(X509) *
chain_with_leaf(STACK_OF(X509) *kept, X509 *leaf)
{
	STACK_OF(X509) *chain = sk_X509_new_reserve(NULL, sk_X509_num(kept));

	if (chain == NULL || !X509_up_ref(leaf) || !sk_X509_push(chain, leaf)) {
		sk_X509_free(chain);
		return NULL;
	}
	for (int i = 1; i < sk_X509_num(kept); i++) {
		X509 *x = sk_X509_value(kept, i);

		if (!X509_up_ref(x) || !sk_X509_push(chain, x)) {
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
	}
	return chain;
}

/*
 * A kept verdict for what c's peer presented: the store gets the kept
 * chain as its verified chain, and X509_V_OK.  Returns true on a hit;
 * key is set either way (all zero when the chain cannot be kept).
 */
bool
mtls_verify_cache_lookup(struct mtls *c, X509_STORE_CTX *store,
    unsigned char key[32])
{
	struct mtls_verify_cache *vc = &c->cfg->verify_cache;
	STACK_OF(X509) *chain = NULL;
	struct mtls_verified *s;

	if (vc->size == 0 || !chain_key(c, store, key)) {
		memset(key, 0, 32);
		return false;
	}
	pthread_mutex_lock(&vc->lock);
	if (vc->slots != NULL) {
		s = slot_of(vc, key);
		if (s->chain != NULL && s->expires > time(NULL) &&
		    memcmp(s->key, key, 32) == 0)
			chain = chain_with_leaf(s->chain,
			    X509_STORE_CTX_get0_cert(store));
	}
	pthread_mutex_unlock(&vc->lock);
	if (chain == NULL)
		return false;
	X509_STORE_CTX_set0_verified_chain(store, chain);
	X509_STORE_CTX_set_error(store, X509_V_OK);
	return true;
}

/* How long the verdict on chain holds: see the top of the file. */
static time_t
expiry_of(struct mtls_config *cfg, STACK_OF(X509) *chain, time_t now)
{
	time_t until = now + cfg->verify_cache.seconds;

	if (cfg->crl_next_update != 0 && cfg->crl_next_update < until)
		until = cfg->crl_next_update;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		time_t not_after = mtls_asn1_time(X509_get0_notAfter(x));

		if (not_after < until)
			until = not_after;
	}
	return until;
}

/* Keeps the chain the store has just verified, under key. */
void
mtls_verify_cache_add(struct mtls *c, X509_STORE_CTX *store,
    const unsigned char key[32])
{
	static const unsigned char none[32];
	struct mtls_verify_cache *vc = &c->cfg->verify_cache;
	STACK_OF(X509) *chain, *old = NULL;
	time_t now = time(NULL), expires;
	struct mtls_verified *s;

	if (vc->size == 0 || memcmp(key, none, 32) == 0 ||
	    (chain = X509_STORE_CTX_get1_chain(store)) == NULL)
		return;
	if ((expires = expiry_of(c->cfg, chain, now)) <= now) {
		sk_X509_pop_free(chain, X509_free);
		return;
	}
	pthread_mutex_lock(&vc->lock);
	if (vc->slots == NULL)
		vc->slots = calloc((size_t)vc->size, sizeof(*vc->slots));
	if (vc->slots != NULL) {
		s = slot_of(vc, key);
		old = s->chain;
		memcpy(s->key, key, 32);
		s->expires = expires;
		s->chain = chain;
		chain = NULL;
	}
	pthread_mutex_unlock(&vc->lock);
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(chain, X509_free);
}
