/*
 * fuzz_x509.c - libFuzzer target for what the library reads out of a
 * peer's certificate: the input is a DER certificate, decoded as libssl
 * decodes a peer's; then its common name, its subject and issuer as text,
 * the identity a refusal message describes (SANs of every kind, SPKI
 * pin), and the allow-list matcher with one entry of each kind.  Names
 * with NUL or control characters must never match.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "fuzz.h"
#include "mtls_internal.h"

/* One allow-list of every kind, made once. */
static struct mtls_config *
allow_config(void)
{
	static struct mtls_config *cfg;

	if (cfg != NULL)
		return cfg;
	cfg = mtls_config_new();
	if (cfg == NULL ||
	    mtls_config_allow(cfg, MTLS_ALLOW_CN, "client*") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_OU, "test?rs") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_DNS, "*.example.org") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_URI,
	    "spiffe://example.org/ns/*/sa/*") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_IP, "127.0.0.2") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_IP, "::1") != 0 ||
	    mtls_config_allow(cfg, MTLS_ALLOW_SPKI_SHA256,
	    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") != 0)
		abort();
	return cfg;
}

/* A string the library made must be a C string without control bytes. */
static void
check_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509 *cert = d2i_X509(NULL, &p, (long)size);
	char buf[1024], *cn;

	if (cert == NULL)
		return 0;
	cn = mtls_cert_common_name(cert);
	check_text(cn);
	free(cn);
	mtls_format_dn(X509_get_subject_name(cert), buf, sizeof(buf));
	mtls_format_dn(X509_get_issuer_name(cert), buf, sizeof(buf));
	mtls_describe_identity(cert, true, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf))
		abort();
	(void)mtls_allow_matches(allow_config(), cert);
	X509_free(cert);
	return 0;
}
