/*
 * identity.c - our own certificate chain and private key: PEM files, a
 * combined PEM, encrypted keys, PKCS#12, from files or memory, or a key
 * and certificate in a token named by a pkcs11: URI.  Everything
 * is parsed and checked before the config changes, so a failed load keeps
 * the previous identity.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include "mtls_internal.h"
#include "pkcs11.h"

struct identity {
	X509 *leaf;
	STACK_OF(X509) *chain;      /* intermediates, without the leaf */
	EVP_PKEY *key;
	bool chain_unordered;       /* PKCS#12 keeps no order: do not judge it */
};

static void
identity_free(struct identity *id)
{
	X509_free(id->leaf);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
}

/* True when the bytes look like DER (a SEQUENCE), as PKCS#12 files do. */
static bool
looks_like_der(const unsigned char *data, size_t len)
{
	return len > 2 && data[0] == 0x30;
}

static bool
looks_like_pem(const unsigned char *data, size_t len)
{
	return len > 11 && memmem(data, len, "-----BEGIN ", 11) != NULL;
}

/* Reads every certificate in PEM text: the first is the leaf. */
static int
parse_cert_chain(struct mtls_config *cfg, const unsigned char *pem, size_t len,
    const char *name, struct identity *id)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char desc[MTLS_ERRBUF / 2];
	X509 *x;

	ENSURE_CFG(bio != NULL, cfg, MTLS_ERR_NOMEM, "out of memory");
	id->chain = sk_X509_new_null();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (id->leaf == NULL)
			id->leaf = x;
		else if (id->chain == NULL || !sk_X509_push(id->chain, x))
			X509_free(x);
	}
	BIO_free(bio);
	if (id->leaf == NULL) {
		if (looks_like_der(pem, len))
			return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "certificate file '%s' is "
			    "not PEM (it looks like DER or PKCS#12; for a .p12 or "
			    ".pfx file use the PKCS#12 loader)", name);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "certificate file '%s' "
		    "contains no PEM certificate (no '-----BEGIN CERTIFICATE-----' "
		    "block)", name);
	}
	snprintf(desc, sizeof(desc), "certificate file '%s'", name);
	return mtls_pem_read_ended(cfg, desc, "certificate");
}

struct pass_state {
	const char *pass;
	bool asked;
};

static int
pass_cb(char *buf, int size, int rwflag, void *arg)
{
	struct pass_state *st = arg;
	size_t len;

	st->asked = true;
	if (st->pass == NULL)
		return -1;          /* no passphrase: fail, never prompt */
	len = strlen(st->pass);
	if (len > (size_t)size)
		len = (size_t)size;
	memcpy(buf, st->pass, len);
	return (int)len;
}

static int
parse_key(struct mtls_config *cfg, const unsigned char *pem, size_t len,
    const char *name, bool combined, const char *pass, struct identity *id)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	struct pass_state st = { pass, false };
	unsigned long err;

	ENSURE_CFG(bio != NULL, cfg, MTLS_ERR_NOMEM, "out of memory");
	id->key = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &st);
	BIO_free(bio);
	if (id->key != NULL) {
		ERR_clear_error();
		return 0;
	}
	err = ERR_peek_last_error();
	if (st.asked && pass == NULL)
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "key '%s' is encrypted and "
		    "no passphrase was given", name);
	if (st.asked)
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "wrong passphrase for key "
		    "'%s' (it could not be decrypted)", name);
	/* OpenSSL 3's decoders say "unsupported" when there is simply no key. */
	if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE || err == 0 ||
	    memmem(pem, len, "PRIVATE KEY-----", 16) == NULL) {
		if (combined)
			return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "'%s' contains no private "
			    "key: give the key file too, or append the key to it "
			    "(cat cert.crt cert.key > combined.pem)", name);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "key file '%s' contains no PEM "
		    "private key", name);
	}
	return CFG_FAIL_SSL(cfg, MTLS_ERR_FORMAT, "key file '%s' holds a "
	    "private key that cannot be read", name);
}

/* The config's identity of key_type, or the next free one; NULL: full. */
static struct mtls_own_identity *
identity_slot(struct mtls_config *cfg, int key_type)
{
	for (int i = 0; i < cfg->id_count; i++)
		if (cfg->ids[i].key_type == key_type)
			return &cfg->ids[i];
	return cfg->id_count < MTLS_MAX_IDENTITIES ? &cfg->ids[cfg->id_count] :
	    NULL;
}

static void
own_identity_free(struct mtls_own_identity *own)
{
	X509_free(own->leaf);
	sk_X509_pop_free(own->chain, X509_free);
	EVP_PKEY_free(own->key);
	mtls_identity_notes_free(&own->notes);
	memset(own, 0, sizeof(*own));
}

void
mtls_identities_free(struct mtls_config *cfg)
{
	for (int i = 0; i < cfg->id_count; i++)
		own_identity_free(&cfg->ids[i]);
	cfg->id_count = 0;
}

/* Frees old, which own takes the place of, and says so in own's warnings:
 * a second certificate of a type is more often a mistake than meant. */
static void
replace_identity(struct mtls_own_identity *old, struct mtls_own_identity *own)
{
	char text[MTLS_ERRBUF];

	snprintf(text, sizeof(text), "%s replaces %s: a config holds one "
	    "identity per key type (%s)", own->notes.desc, old->notes.desc,
	    EVP_PKEY_get0_type_name(own->key));
	mtls_identity_notes_warn(&own->notes, text);
	own_identity_free(old);
}

/* Which certificate the key belongs to, said when it is not the leaf. */
static int
fail_key_mismatch(struct mtls_config *cfg, struct identity *id,
    const char *cert_name, const char *key_name)
{
	for (int i = 0; i < sk_X509_num(id->chain); i++)
		if (X509_check_private_key(sk_X509_value(id->chain, i),
		    id->key) == 1)
			return CFG_FAIL(cfg, MTLS_ERR_BAD_IDENTITY, "the chain in "
			    "'%s' is out of order: the certificate of key '%s' is "
			    "number %d, and it must come first (then its issuer, "
			    "then that one's)", cert_name, key_name, i + 2);
	if (strcmp(cert_name, key_name) == 0)
		return CFG_FAIL(cfg, MTLS_ERR_KEY_MISMATCH, "the key in '%s' does "
		    "not match the certificate in it", cert_name);
	return CFG_FAIL(cfg, MTLS_ERR_KEY_MISMATCH, "key '%s' does not match "
	    "certificate '%s'", key_name, cert_name);
}

/*
 * Checks the pair and puts it into the SSL_CTX, in place of the identity
 * of the same key type if there is one; the identity is consumed.
 */
static int
install_identity(struct mtls_config *cfg, struct identity *id,
    const char *cert_name, const char *key_name)
{
	struct mtls_own_identity own = { .key_type =
	    EVP_PKEY_get_base_id(id->key) }, *slot;
	int rc = -1;

	if (X509_check_private_key(id->leaf, id->key) != 1)
		rc = fail_key_mismatch(cfg, id, cert_name, key_name);
	else if ((slot = identity_slot(cfg, own.key_type)) == NULL)
		rc = CFG_FAIL(cfg, MTLS_ERR_INVALID, "too many identities: a "
		    "config holds at most %d, one per key type",
		    MTLS_MAX_IDENTITIES);
	else if (mtls_preflight_identity(cfg, id->leaf, id->chain_unordered ?
	    NULL : id->chain, cert_name, &own.notes) != 0)
		rc = -1;
	/* Certificate, key and chain in one step: all of them or none. */
	else if (SSL_CTX_use_cert_and_key(cfg->ctx, id->leaf, id->key,
	    id->chain, 1) != 1) {
		mtls_identity_notes_free(&own.notes);
		rc = CFG_FAIL_SSL(cfg, MTLS_ERR_FORMAT, "OpenSSL refused the "
		    "certificate '%s'", cert_name);
	} else {
		own.leaf = id->leaf;
		own.chain = id->chain;
		own.key = id->key;
		memset(id, 0, sizeof(*id));
		if (slot == &cfg->ids[cfg->id_count])
			cfg->id_count++;
		else
			replace_identity(slot, &own);
		*slot = own;
		rc = 0;
	}
	identity_free(id);
	return rc;
}

static int
load_pem_identity(struct mtls_config *cfg, const unsigned char *cert,
    size_t cert_len, const char *cert_name, const unsigned char *key,
    size_t key_len, const char *key_name, const char *pass)
{
	struct identity id = { 0 };
	bool combined = (key == NULL);

	if (parse_cert_chain(cfg, cert, cert_len, cert_name, &id) != 0 ||
	    parse_key(cfg, combined ? cert : key, combined ? cert_len : key_len,
	    combined ? cert_name : key_name, combined, pass, &id) != 0) {
		identity_free(&id);
		return -1;
	}
	return install_identity(cfg, &id, cert_name,
	    combined ? cert_name : key_name);
}

/* ------------------------------------------------ keys in a token */

/* A certificate (chain) from a PEM file, or from a token by URI. */
static int
load_cert_part(struct mtls_config *cfg, const char *cert_file,
    const char *pass, struct identity *id)
{
	unsigned char *data;
	size_t len;
	int rc;

	if (mtls_is_pkcs11_uri(cert_file))
		return mtls_pkcs11_load_cert(cfg, cert_file, pass, &id->leaf);
	if (mtls_read_file(cfg, "certificate", cert_file, &data, &len) != 0)
		return -1;
	rc = parse_cert_chain(cfg, data, len, cert_file, id);
	mtls_free_secret(data, len);
	return rc;
}

/* A key from a PEM file, or from a token by URI. */
static int
load_key_part(struct mtls_config *cfg, const char *key_file,
    const char *pass, struct identity *id)
{
	unsigned char *data;
	size_t len;
	int rc;

	if (mtls_is_pkcs11_uri(key_file))
		return mtls_pkcs11_load_key(cfg, key_file, pass, &id->key);
	if (mtls_read_file(cfg, "key", key_file, &data, &len) != 0)
		return -1;
	rc = parse_key(cfg, data, len, key_file, false, pass, id);
	mtls_free_secret(data, len);
	return rc;
}

/* A URI as messages show it: without its query, which may hold a PIN. */
static const char *
shown_name(const char *name, char *buf, size_t size)
{
	if (!mtls_is_pkcs11_uri(name))
		return name;
	snprintf(buf, size, "%.*s", (int)strcspn(name, "?"), name);
	return buf;
}

/*
 * An identity of which the certificate, the key or both are in a token.
 * A certificate URI without a key names the key too (as curl's --cert
 * pkcs11:... does): the token's certificate and key share a label and id.
 */
static int
load_token_identity(struct mtls_config *cfg, const char *cert_file,
    const char *key_file, const char *pass)
{
	struct identity id = { 0 };
	char cert_buf[512], key_buf[512];

	if (key_file == NULL)
		key_file = cert_file;
	if (load_cert_part(cfg, cert_file, pass, &id) != 0 ||
	    load_key_part(cfg, key_file, pass, &id) != 0) {
		identity_free(&id);
		return -1;
	}
	return install_identity(cfg, &id,
	    shown_name(cert_file, cert_buf, sizeof(cert_buf)),
	    shown_name(key_file, key_buf, sizeof(key_buf)));
}

MTLS_EXPORT int
mtls_config_set_cert_file(struct mtls_config *cfg, const char *cert_file,
    const char *key_file, const char *passphrase)
{
	unsigned char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int rc = -1;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	if (mtls_is_pkcs11_uri(cert_file) || mtls_is_pkcs11_uri(key_file))
		return load_token_identity(cfg, cert_file, key_file, passphrase);
	if (mtls_read_file(cfg, "certificate", cert_file, &cert, &cert_len) == 0 &&
	    (key_file == NULL ||
	    mtls_read_file(cfg, "key", key_file, &key, &key_len) == 0))
		rc = load_pem_identity(cfg, cert, cert_len, cert_file, key, key_len,
		    key_file, passphrase);
	/* The certificate file may hold the key (combined PEM): wipe both. */
	mtls_free_secret(cert, cert_len);
	mtls_free_secret(key, key_len);
	return RECORDED(rc, cfg, mtls_config_set_cert_file, "ppS", cert_file,
	    key_file, passphrase);
}

MTLS_EXPORT int
mtls_config_set_cert_mem(struct mtls_config *cfg, const void *cert,
    size_t cert_len, const void *key, size_t key_len, const char *passphrase)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(cert != NULL && cert_len > 0 && cert_len < INT32_MAX, cfg,
	    MTLS_ERR_INVALID, "no certificate given (empty buffer)");
	ENSURE_CFG(key == NULL || (key_len > 0 && key_len < INT32_MAX), cfg,
	    MTLS_ERR_INVALID, "key buffer is empty");
	return RECORDED(load_pem_identity(cfg, cert, cert_len,
	    "certificate in memory", key, key_len,
	    key != NULL ? "key in memory" : NULL, passphrase), cfg,
	    mtls_config_set_cert_mem, "mMS", cert, cert_len, key, key_len,
	    passphrase);
}

/* ------------------------------------------------------------- PKCS#12 */

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static bool legacy_loaded;

/*
 * RC2-40 and friends live in OpenSSL 3's legacy provider.  Loading any
 * provider explicitly stops the default one from loading implicitly, so
 * load both.  This is process-wide, which is why it happens only for a
 * file that needs it.  The providers are unloaded at exit.
 */
static OSSL_PROVIDER *legacy_prov, *default_prov;

static void
unload_legacy_provider(void)
{
	OSSL_PROVIDER_unload(legacy_prov);
	OSSL_PROVIDER_unload(default_prov);
}

static void
load_legacy_provider(void)
{
	legacy_prov = OSSL_PROVIDER_load(NULL, "legacy");
	default_prov = OSSL_PROVIDER_load(NULL, "default");
	legacy_loaded = legacy_prov != NULL && default_prov != NULL;
	atexit(unload_legacy_provider);
	ERR_clear_error();
}

static bool
p12_password_ok(PKCS12 *p12, const char **pass)
{
	if (!PKCS12_mac_present(p12))
		return true;
	if (*pass != NULL && **pass != '\0')
		return PKCS12_verify_mac(p12, *pass, -1) == 1;
	/* "No password" is written as either an empty or an absent one. */
	if (PKCS12_verify_mac(p12, "", 0) == 1) {
		*pass = "";
		return true;
	}
	if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
		*pass = NULL;
		return true;
	}
	return false;
}

static int
p12_parse(PKCS12 *p12, const char *pass, struct identity *id)
{
	ERR_clear_error();
	if (PKCS12_parse(p12, pass, &id->key, &id->leaf, &id->chain) == 1)
		return 0;
	if (legacy_loaded)
		return -1;
	pthread_once(&legacy_once, load_legacy_provider);
	if (!legacy_loaded)
		return -1;
	ERR_clear_error();
	return PKCS12_parse(p12, pass, &id->key, &id->leaf, &id->chain) == 1 ? 0 : -1;
}

static int
load_p12_identity(struct mtls_config *cfg, const unsigned char *data,
    size_t len, const char *name, const char *pass)
{
	struct identity id = { 0 };
	const unsigned char *p = data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);

	if (p12 == NULL) {
		if (looks_like_pem(data, len))
			return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "'%s' is not a PKCS#12 "
			    "file: it is PEM text (load it as a certificate file)", name);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "'%s' is not a PKCS#12 file",
		    name);
	}
	if (!p12_password_ok(p12, &pass)) {
		PKCS12_free(p12);
		if (pass == NULL || *pass == '\0')
			return CFG_FAIL(cfg, MTLS_ERR_P12_PASSWORD, "PKCS#12 file '%s' "
			    "is protected by a password and none was given", name);
		return CFG_FAIL(cfg, MTLS_ERR_P12_PASSWORD, "wrong password for "
		    "PKCS#12 file '%s'", name);
	}
	if (p12_parse(p12, pass, &id) != 0) {
		PKCS12_free(p12);
		identity_free(&id);
		if (!legacy_loaded)
			return CFG_FAIL(cfg, MTLS_ERR_UNSUPPORTED, "PKCS#12 file '%s' "
			    "uses an algorithm this OpenSSL cannot load (RC2 needs "
			    "OpenSSL's legacy provider, which could not be "
			    "loaded): re-export it with 'openssl pkcs12 -export'", name);
		return CFG_FAIL_SSL(cfg, MTLS_ERR_FORMAT, "cannot read PKCS#12 "
		    "file '%s'", name);
	}
	PKCS12_free(p12);
	id.chain_unordered = true;
	if (id.leaf == NULL || id.key == NULL) {
		identity_free(&id);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "PKCS#12 file '%s' holds no "
		    "%s", name, id.leaf == NULL ? "certificate" : "private key");
	}
	return install_identity(cfg, &id, name, name);
}

MTLS_EXPORT int
mtls_config_set_p12_file(struct mtls_config *cfg, const char *p12_file,
    const char *password)
{
	unsigned char *data;
	size_t len;
	int rc;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	if (mtls_read_file(cfg, "PKCS#12", p12_file, &data, &len) != 0)
		return -1;
	rc = load_p12_identity(cfg, data, len, p12_file, password);
	mtls_free_secret(data, len);
	return RECORDED(rc, cfg, mtls_config_set_p12_file, "pS", p12_file,
	    password);
}

MTLS_EXPORT int
mtls_config_set_p12_mem(struct mtls_config *cfg, const void *p12,
    size_t p12_len, const char *password)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(p12 != NULL && p12_len > 0 && p12_len < INT32_MAX, cfg,
	    MTLS_ERR_INVALID, "no PKCS#12 data given (empty buffer)");
	return RECORDED(load_p12_identity(cfg, p12, p12_len, "PKCS#12 in memory",
	    password), cfg, mtls_config_set_p12_mem, "MS", p12, p12_len,
	    password);
}
