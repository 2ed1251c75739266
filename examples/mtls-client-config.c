/*
 * mtls-client-config.c - the libmtls configuration of mtls-client's
 * options: our certificate and key (PEM, DER, PKCS#12), the CAs it trusts
 * (--cacert, --capath, the system's; --crlfile; --pinnedpubkey), the TLS
 * versions, ciphers and groups, and the timeouts the library keeps.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtls.h>

#include "mtls-client.h"


static int
config_failure(struct mtls_config *cfg, int status)
{
	return failure(status, "%s", mtls_config_error(cfg));
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		volatile char *p = s;

		while (*p)
			*p++ = '\0';
		free(s);
	}
}

/* A DER file as PEM with label, in memory, for the library's PEM
 * reader: the DER's first bytes say which kind of key it is. */
static char *
der_to_pem(const unsigned char *der, size_t len, const char *label)
{
	char *b = base64(der, len), *pem;
	size_t i, n, o = 0;

	if (b == NULL)
		return NULL;
	n = strlen(b);
	if ((pem = malloc(n + n / 64 + 128)) == NULL) {
		free(b);
		return NULL;
	}
	o += (size_t)sprintf(pem, "-----BEGIN %s-----\n", label);
	for (i = 0; i < n; i += 64)
		o += (size_t)sprintf(pem + o, "%.64s\n", b + i);
	sprintf(pem + o, "-----END %s-----\n", label);
	free(b);
	return pem;
}

/* What a DER private key is: PKCS#8 (a version then an algorithm
 * SEQUENCE), encrypted PKCS#8 (a SEQUENCE first), PKCS#1 RSA (a version
 * then an INTEGER), SEC1 EC (version 1). */
static const char *
der_key_label(const unsigned char *p, size_t len)
{
	size_t i = 2;

	if (len < 8 || p[0] != 0x30)
		return "PRIVATE KEY";
	if (p[1] & 0x80)
		i += p[1] & 0x7f;
	if (i + 3 > len)
		return "PRIVATE KEY";
	if (p[i] == 0x30)
		return "ENCRYPTED PRIVATE KEY";
	if (p[i] == 0x02 && p[i + 1] == 1 && p[i + 2] == 1)
		return "EC PRIVATE KEY";
	if (p[i] == 0x02 && p[i + 1] == 1 && i + 3 < len && p[i + 3] == 0x02)
		return "RSA PRIVATE KEY";
	return "PRIVATE KEY";
}

/* --cert-type DER / --key-type DER: the files read and given as PEM. */
static int
load_der_identity(struct mtls_config *cfg, const char *file, int cert_der,
    const char *key, int key_der, const char *pass)
{
	char *cert_pem = NULL, *key_pem = NULL, *raw;
	size_t len;
	int rc = 0;

	if ((raw = read_file(file, &len)) == NULL)
		return failure(EXIT_CLIENT_CERT, "cannot read client certificate "
		    "'%s': %s", file, strerror(errno));
	cert_pem = cert_der ? der_to_pem((unsigned char *)raw, len,
	    "CERTIFICATE") : strdup(raw);
	free(raw);
	if (key != NULL) {
		if ((raw = read_file(key, &len)) == NULL) {
			free(cert_pem);
			return failure(EXIT_CLIENT_CERT, "cannot read private key "
			    "'%s': %s", key, strerror(errno));
		}
		key_pem = key_der ? der_to_pem((unsigned char *)raw, len,
		    der_key_label((unsigned char *)raw, len)) : strdup(raw);
		wipe_free(raw);
	}
	if (cert_pem == NULL || (key != NULL && key_pem == NULL))
		rc = failure(EXIT_NOMEM, "out of memory");
	else if (mtls_config_set_cert_mem(cfg, cert_pem, strlen(cert_pem),
	    key_pem, key_pem ? strlen(key_pem) : 0, pass) != 0)
		rc = failure(EXIT_CLIENT_CERT, "%s (--cert %s%s%s%s)",
		    mtls_config_error(cfg), file, cert_der ? " DER" : "",
		    key ? ", --key " : "", key ? key : "");
	free(cert_pem);
	wipe_free(key_pem);
	return rc;
}

/* 0: PEM (or a key in a token), 1: DER, else the exit status of a type
 * that does not fit the key.  As curl, a pkcs11: URI is --key-type ENG. */
static int
key_is_der(const char *type, const char *key)
{
	bool uri = key != NULL && strncasecmp(key, "pkcs11:", 7) == 0;

	if (uri && (type == NULL || !strcasecmp(type, "ENG")))
		return 0;
	if (uri)
		return failure(EXIT_CLIENT_CERT, "--key-type %s does not fit "
		    "--key %s: a key in a token is ENG", type, key);
	if (type == NULL || !strcasecmp(type, "PEM"))
		return 0;
	if (!strcasecmp(type, "DER"))
		return 1;
	if (!strcasecmp(type, "ENG"))
		return failure(EXIT_CLIENT_CERT, "--key-type ENG takes a key in "
		    "a token, named by a pkcs11: URI (--key \"pkcs11:token=...;"
		    "object=...\"), not the file '%s'", key != NULL ? key : "");
	return failure(EXIT_CLIENT_CERT, "--key-type %s is not supported: use "
	    "PEM or DER", type);
}

static int
load_client_identity(struct mtls_config *cfg, const struct options *o)
{
	char *file, *password;
	const char *pass;
	int p12 = 0, rc, key_der, cert_der;

	if (o->cert == NULL)        /* curl ignores a --key alone too */
		return 0;
	split_cert(o->cert, &file, &password);
	pass = o->pass != NULL ? o->pass : password;
	cert_der = o->cert_type != NULL && !strcasecmp(o->cert_type, "DER");
	rc = cert_is_p12(o->cert_type, file, &p12);
	if (rc == 0 && (key_der = key_is_der(o->key_type, o->key)) > 1)
		rc = key_der;
	if (rc == 0 && p12)
		rc = mtls_config_set_p12_file(cfg, file, pass) == 0 ? 0 :
		    config_failure(cfg, EXIT_CLIENT_CERT);
	else if (rc == 0 && (cert_der || key_der))
		rc = load_der_identity(cfg, file, cert_der, o->key, key_der, pass);
	else if (rc == 0)
		rc = mtls_config_set_cert_file(cfg, file, o->key, pass) == 0 ? 0 :
		    config_failure(cfg, EXIT_CLIENT_CERT);
	free(file);
	wipe_free(password);
	return rc;
}

/* --pinnedpubkey "sha256//A;sha256//B": any one of them admits the server. */
static int
load_pins(struct mtls_config *cfg, const char *pins)
{
	char *copy, *pin, *save = NULL;
	int rc = 0;

	if (pins == NULL)
		return 0;
	if ((copy = strdup(pins)) == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	for (pin = strtok_r(copy, ";", &save); pin != NULL && rc == 0;
	    pin = strtok_r(NULL, ";", &save)) {
		pin += strspn(pin, " ");
		if (strncmp(pin, "sha256//", 8) != 0)
			rc = failure(EXIT_USAGE, "--pinnedpubkey '%s': only "
			    "sha256//BASE64 hashes are supported, not key files", pin);
		else if (mtls_config_allow(cfg, MTLS_ALLOW_SPKI_SHA256, pin) != 0)
			rc = config_failure(cfg, EXIT_USAGE);
	}
	free(copy);
	return rc;
}

static int
load_trust(struct mtls_config *cfg, const struct options *o)
{
	if (o->insecure) {
		warning("--insecure: the server's certificate is not verified; "
		    "anyone can pose as it");
		return mtls_config_insecure_noverify(cfg) == 0 ? 0 :
		    config_failure(cfg, EXIT_USAGE);
	}
	if (o->cacert != NULL && mtls_config_set_ca_file(cfg, o->cacert) != 0)
		return config_failure(cfg, EXIT_CACERT);
	if (o->capath != NULL && mtls_config_set_ca_path(cfg, o->capath) != 0)
		return config_failure(cfg, EXIT_CACERT);
	/* curl trusts the system's CAs unless told which to trust. */
	if (o->cacert == NULL && o->capath == NULL &&
	    mtls_config_use_system_ca(cfg) != 0)
		return config_failure(cfg, EXIT_CACERT);
	if (o->crlfile != NULL && mtls_config_set_crl_file(cfg, o->crlfile, 0))
		return config_failure(cfg, EXIT_CRL);
	return 0;
}

/* curl's --tlsv1.2/--tlsv1.3/--tls-max (no version left: exit 35, as
 * curl's "CURL_SSLVERSION_MAX incompatible") and --ciphers,
 * --tls13-ciphers, --curves (exit 59, as curl's "failed setting cipher
 * list"). */
static int
set_tls_policy(struct mtls_config *cfg, const struct options *o)
{
	if (o->tls_max == TLS_MAX_TOO_OLD)
		return failure(EXIT_TLS, "--tls-max below 1.2 leaves no TLS "
		    "version: TLS 1.0 and 1.1 are not supported (libmtls speaks "
		    "TLS 1.2 and 1.3): use --tls-max 1.2 or more");
	if ((o->tls_max && mtls_config_set_max_version(cfg, o->tls_max) != 0) ||
	    (o->tls_min && mtls_config_set_min_version(cfg, o->tls_min) != 0))
		return failure(EXIT_TLS, "%s", mtls_config_error(cfg));
	if ((o->ciphers && mtls_config_set_ciphers(cfg, o->ciphers) != 0) ||
	    (o->tls13_ciphers &&
	    mtls_config_set_ciphersuites(cfg, o->tls13_ciphers) != 0) ||
	    (o->curves && mtls_config_set_groups(cfg, o->curves) != 0))
		return failure(EXIT_SSL_CIPHER, "%s", mtls_config_error(cfg));
	/* curl offers the HTTP versions it speaks; ours is HTTP/1.1 */
	if (!o->no_alpn && mtls_config_set_alpn(cfg, "http/1.1") != 0)
		return failure(EXIT_TLS, "%s", mtls_config_error(cfg));
	return 0;
}

/* The library bounds each read by --max-time; the connection phase and
 * the whole transfer are bounded by the timer (mtls-client-conn.c). */
static int
set_timeouts(struct mtls_config *cfg, const struct options *o)
{
	long io = o->max_ms > INT_MAX ? INT_MAX : o->max_ms;

	if (mtls_config_set_timeouts(cfg, 0, 0, (int)io) != 0)
		return config_failure(cfg, EXIT_USAGE);
	return 0;
}

int
make_config(struct transfer *t)
{
	const char *w;
	size_t i;
	int rc;

	if ((t->cfg = mtls_config_new()) == NULL)
		return failure(EXIT_NOMEM, "%s", mtls_config_error(NULL));
	rc = load_client_identity(t->cfg, t->o);
	if (rc == 0)
		rc = load_trust(t->cfg, t->o);
	if (rc == 0)
		rc = load_pins(t->cfg, t->o->pins);
	if (rc == 0)
		rc = set_timeouts(t->cfg, t->o);
	if (rc == 0)
		rc = set_tls_policy(t->cfg, t->o);
	for (i = 0; rc == 0 && (w = mtls_config_warning(t->cfg, i)) != NULL; i++)
		warning("%s", w);
	return rc;
}

