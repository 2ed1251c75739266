/*
 * trust.c - the trust anchors a peer's chain must lead to, the CA names a
 * server advertises in its certificate request, and the CRLs that revoke
 * certificates under them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "mtls_internal.h"

/* Remembers where anchors came from, to name it when a chain fails. */
static void
note_trust_source(struct mtls_config *cfg, const char *desc)
{
	size_t used = strlen(cfg->trust_desc);

	if (used == 0)
		snprintf(cfg->trust_desc, sizeof(cfg->trust_desc), "%s", desc);
	else if (used + 6 + strlen(desc) < sizeof(cfg->trust_desc))
		snprintf(cfg->trust_desc + used, sizeof(cfg->trust_desc) - used,
		    " and %s", desc);
	cfg->have_trust = true;
}

/*
 * Adds every certificate of a PEM bundle to the store and to the list of
 * advertised client CA names.  All of them are parsed before any is added.
 */
static int
add_ca_pem(struct mtls_config *cfg, const unsigned char *pem, size_t len,
    const char *desc)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509_STORE *store = SSL_CTX_get_cert_store(cfg->ctx);
	X509 *x;
	int i, n;

	if (bio == NULL || certs == NULL) {
		BIO_free(bio);
		sk_X509_free(certs);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(certs, x))
			X509_free(x);
	BIO_free(bio);
	if (mtls_pem_read_ended(cfg, desc, "certificate") != 0) {
		sk_X509_pop_free(certs, X509_free);
		return -1;
	}
	n = sk_X509_num(certs);
	if (n == 0) {
		sk_X509_free(certs);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "%s contains no PEM "
		    "certificate", desc);
	}
	for (i = 0; i < n; i++) {
		x = sk_X509_value(certs, i);
		/* Fill its extension cache now, not lazily from many threads. */
		X509_check_purpose(x, -1, 0);
		/* A duplicate anchor is harmless; X509_STORE says so, not an error. */
		X509_STORE_add_cert(store, x);
		if (!cfg->custom_ca_names)
			SSL_CTX_add_client_CA(cfg->ctx, x);
	}
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	note_trust_source(cfg, desc);
	return 0;
}

MTLS_EXPORT int
mtls_config_set_ca_file(struct mtls_config *cfg, const char *ca_file)
{
	unsigned char *data;
	size_t len;
	char desc[200];
	int rc;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	if (mtls_read_file(cfg, "CA", ca_file, &data, &len) != 0)
		return -1;
	snprintf(desc, sizeof(desc), "CA file '%s'", ca_file);
	rc = add_ca_pem(cfg, data, len, desc);
	free(data);
	return RECORDED(rc, cfg, mtls_config_set_ca_file, "p", ca_file);
}

MTLS_EXPORT int
mtls_config_set_ca_mem(struct mtls_config *cfg, const void *pem, size_t pem_len)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(pem != NULL && pem_len > 0 && pem_len < INT32_MAX, cfg,
	    MTLS_ERR_INVALID, "no CA certificates given (empty buffer)");
	return RECORDED(add_ca_pem(cfg, pem, pem_len,
	    "the CA certificates in memory"), cfg, mtls_config_set_ca_mem, "m",
	    pem, pem_len);
}

MTLS_EXPORT int
mtls_config_set_ca_path(struct mtls_config *cfg, const char *ca_dir)
{
	struct stat st;
	char desc[200];

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(ca_dir != NULL && *ca_dir != '\0', cfg, MTLS_ERR_INVALID,
	    "no CA directory given");
	if (stat(ca_dir, &st) != 0)
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "cannot use CA directory '%s': %s",
		    ca_dir, strerror(errno));
	ENSURE_CFG(S_ISDIR(st.st_mode), cfg, MTLS_ERR_FILE, "CA directory '%s' is "
	    "not a directory (for a file of certificates, use a CA file)", ca_dir);
	ENSURE_CFG(access(ca_dir, R_OK | X_OK) == 0, cfg, MTLS_ERR_FILE,
	    "cannot read CA directory '%s': %s", ca_dir, strerror(errno));
	if (X509_STORE_load_path(SSL_CTX_get_cert_store(cfg->ctx), ca_dir) != 1)
		return CFG_FAIL_SSL(cfg, MTLS_ERR_FILE, "cannot use CA directory "
		    "'%s'", ca_dir);
	snprintf(desc, sizeof(desc), "CA directory '%s'", ca_dir);
	note_trust_source(cfg, desc);
	return RECORDED(0, cfg, mtls_config_set_ca_path, "p", ca_dir);
}

MTLS_EXPORT int
mtls_config_use_system_ca(struct mtls_config *cfg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	if (SSL_CTX_set_default_verify_paths(cfg->ctx) != 1)
		return CFG_FAIL_SSL(cfg, MTLS_ERR_TLS, "cannot load the system CA "
		    "store");
	note_trust_source(cfg, "the system CA store");
	return RECORDED(0, cfg, mtls_config_use_system_ca, "");
}

/* ------------------------------------------- CA names and revocation */

MTLS_EXPORT int
mtls_config_set_ca_names_file(struct mtls_config *cfg, const char *ca_file)
{
	STACK_OF(X509_NAME) *names;
	unsigned char *data;
	char desc[MTLS_ERRBUF / 2];
	size_t len;
	BIO *bio;
	X509 *x;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0 ||
	    mtls_read_file(cfg, "CA names", ca_file, &data, &len) != 0)
		return -1;
	bio = BIO_new_mem_buf(data, (int)len);
	names = sk_X509_NAME_new_null();
	while (bio != NULL && names != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));

		if (name != NULL && !sk_X509_NAME_push(names, name))
			X509_NAME_free(name);
		X509_free(x);
	}
	BIO_free(bio);
	free(data);
	snprintf(desc, sizeof(desc), "CA names file '%s'", ca_file);
	if (mtls_pem_read_ended(cfg, desc, "certificate") != 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return -1;
	}
	if (names == NULL || sk_X509_NAME_num(names) == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "%s contains no PEM "
		    "certificate", desc);
	}
	SSL_CTX_set_client_CA_list(cfg->ctx, names);
	cfg->custom_ca_names = true;
	return RECORDED(0, cfg, mtls_config_set_ca_names_file, "p", ca_file);
}

/* The earliest nextUpdate: kept chain verdicts end there (verify_cache.c). */
static void
note_next_update(struct mtls_config *cfg, const X509_CRL *crl)
{
	time_t t = mtls_asn1_time(X509_CRL_get0_nextUpdate(crl));

	if (t == -1)
		return;
	if (cfg->crl_next_update == 0 || t < cfg->crl_next_update)
		cfg->crl_next_update = t;
}

MTLS_EXPORT int
mtls_config_set_crl_file(struct mtls_config *cfg, const char *crl_file,
    int whole_chain)
{
	STACK_OF(X509_CRL) *crls;
	X509_STORE *store;
	unsigned char *data;
	char desc[MTLS_ERRBUF / 2];
	size_t len;
	X509_CRL *crl;
	BIO *bio;
	int n = -1;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0 ||
	    mtls_read_file(cfg, "CRL", crl_file, &data, &len) != 0)
		return -1;
	bio = BIO_new_mem_buf(data, (int)len);
	crls = sk_X509_CRL_new_null();
	while (bio != NULL && crls != NULL && (crl = PEM_read_bio_X509_CRL(bio,
	    NULL, NULL, NULL)) != NULL)
		if (!sk_X509_CRL_push(crls, crl))
			X509_CRL_free(crl);
	BIO_free(bio);
	free(data);
	snprintf(desc, sizeof(desc), "CRL file '%s'", crl_file);
	if (mtls_pem_read_ended(cfg, desc, "CRL") != 0 ||
	    (n = sk_X509_CRL_num(crls)) <= 0) {
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		return n < 0 ? -1 : CFG_FAIL(cfg, MTLS_ERR_FORMAT, "%s contains no "
		    "PEM CRL (no '-----BEGIN X509 CRL-----' block)", desc);
	}
	store = SSL_CTX_get_cert_store(cfg->ctx);
	for (int i = 0; i < n; i++) {
		crl = sk_X509_CRL_value(crls, i);
		note_next_update(cfg, crl);
		X509_STORE_add_crl(store, crl);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(cfg->ctx),
	    X509_V_FLAG_CRL_CHECK | (whole_chain ? X509_V_FLAG_CRL_CHECK_ALL : 0));
	return RECORDED(0, cfg, mtls_config_set_crl_file, "pi", crl_file,
	    whole_chain);
}
