/*
 * peer.c - the peer's identity and the connection's negotiated facts.
 * Computed once, on first use after the handshake, and kept on the
 * connection: every string handed out is borrowed from it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mtls_internal.h"

static char *
hex_of(const unsigned char *data, size_t len, bool upper)
{
	static const char digits[2][17] = { "0123456789abcdef", "0123456789ABCDEF" };
	char *out = malloc(len * 2 + 1);
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[upper][data[i] >> 4];
		out[2 * i + 1] = digits[upper][data[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

static char *
dn_text(X509_NAME *name)
{
	char buf[1024];

	mtls_format_dn(name, buf, sizeof(buf));
	return strdup(buf);
}

char *
mtls_cert_common_name(X509 *cert)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	char *out;
	int len;

	if (i < 0)
		return NULL;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, i)));
	if (len < 0)
		return NULL;
	out = mtls_clean_copy(utf8, len);
	OPENSSL_free(utf8);
	return out;
}

static char *
serial_hex(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *out;

	BN_free(bn);
	out = hex != NULL ? strdup(hex) : NULL;
	OPENSSL_free(hex);
	return out;
}

/* SHA-256 of the certificate, or of its SubjectPublicKeyInfo (RFC 7469). */
int
mtls_cert_sha256(X509 *cert, bool spki_only, unsigned char md[32])
{
	unsigned char *der = NULL;
	unsigned int md_len = 0;
	int len, ok;

	if (!spki_only)
		return X509_digest(cert, EVP_sha256(), md, &md_len) == 1 ? 0 : -1;
	/* The certificate's own SubjectPublicKeyInfo, re-encoded as stored:
	 * i2d_PUBKEY would go through OpenSSL 3's encoder lookup. */
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	ok = len > 0 && EVP_Digest(der, (size_t)len, md, &md_len, EVP_sha256(),
	    NULL) == 1;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

static char *
cert_sha256(X509 *cert, bool spki_only)
{
	unsigned char md[32];

	return mtls_cert_sha256(cert, spki_only, md) == 0 ?
	    hex_of(md, sizeof(md), false) : NULL;
}

static char *
pem_of_certs(STACK_OF(X509) *certs, X509 *only)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;
	int i;

	if (bio == NULL)
		return NULL;
	if (only != NULL)
		PEM_write_bio_X509(bio, only);
	for (i = 0; only == NULL && i < sk_X509_num(certs); i++)
		PEM_write_bio_X509(bio, sk_X509_value(certs, i));
	len = BIO_get_mem_data(bio, &data);
	if (len > 0)
		out = strndup(data, (size_t)len);
	BIO_free(bio);
	return out;
}

time_t
mtls_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	/* ASN1_TIME_to_tm takes NULL for the current time: not ours. */
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return timegm(&tm);
}

static void
load_sans(struct mtls_peer *p, X509 *cert)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL);
	int n = sans != NULL ? sk_GENERAL_NAME_num(sans) : 0;
	size_t counts[MTLS_SAN_EMAIL + 1] = { 0 };
	int i, t;

	for (t = MTLS_SAN_DNS; t <= MTLS_SAN_EMAIL; t++)
		p->sans[t] = calloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		char *text = mtls_general_name_text(gn);

		t = gn->type == GEN_DNS ? MTLS_SAN_DNS : gn->type == GEN_IPADD ?
		    MTLS_SAN_IP : gn->type == GEN_URI ? MTLS_SAN_URI : MTLS_SAN_EMAIL;
		if (text != NULL && p->sans[t] != NULL)
			p->sans[t][counts[t]++] = text;
		else
			free(text);
	}
	GENERAL_NAMES_free(sans);
}

/*
 * The peer's certificate: while the verify callback runs, the one being
 * judged; after the handshake, the session's; after a refusal, the refused
 * one, for the log.  NULL before the handshake or when none was presented.
 */
static X509 *
peer_cert(struct mtls *c)
{
	X509 *cert;

	if (c == NULL || c->ssl == NULL ||
	    (!c->handshake_done && !c->fatal && c->pending_cert == NULL))
		return NULL;
	if ((cert = c->pending_cert) == NULL)
		cert = SSL_get0_peer_certificate(c->ssl);
	if (cert == NULL && c->fatal)
		cert = c->refused_cert;
	return cert;
}

/*
 * Each fact is computed on first use and kept: a server that logs the
 * subject pays for no digest or PEM encoding.  Returns the certificate
 * when field still has to be computed, else NULL.
 */
static X509 *
to_compute(struct mtls *c, unsigned field)
{
	X509 *cert = peer_cert(c);

	if (cert == NULL || (c->peer.computed & field))
		return NULL;
	c->peer.computed |= field;
	return cert;
}

static STACK_OF(X509) *
peer_chain(struct mtls *c)
{
	STACK_OF(X509) *chain = c->pending_chain;

	if (chain == NULL)
		chain = SSL_get0_verified_chain(c->ssl);
	if (chain == NULL)
		chain = SSL_get_peer_cert_chain(c->ssl);
	return chain;
}

void
mtls_peer_free(struct mtls_peer *p)
{
	int t;
	size_t i;

	free(p->subject);
	free(p->issuer);
	free(p->common_name);
	free(p->serial);
	free(p->fingerprint);
	free(p->spki);
	free(p->cert_pem);
	free(p->chain_pem);
	free(p->alpn);
	for (t = MTLS_SAN_DNS; t <= MTLS_SAN_EMAIL; t++) {
		for (i = 0; p->sans[t] != NULL && p->sans[t][i] != NULL; i++)
			free(p->sans[t][i]);
		free(p->sans[t]);
	}
	memset(p, 0, sizeof(*p));
}

MTLS_EXPORT int
mtls_peer_cert_provided(struct mtls *c)
{
	return peer_cert(c) != NULL;
}

/* The chain verdict: the callback's while the handshake runs, else the
 * session's. */
static long
verify_result(struct mtls *c)
{
	/* Inside the callback, or refused by policy: the chain's own verdict. */
	if (c->pending_cert != NULL || c->policy_rejected)
		return c->pending_chain_ok ? X509_V_OK : c->verify_err != 0 ?
		    c->verify_err : X509_V_ERR_UNSPECIFIED;
	return SSL_get_verify_result(c->ssl);
}

MTLS_EXPORT int
mtls_peer_cert_verified(struct mtls *c)
{
	return mtls_peer_cert_provided(c) && verify_result(c) == X509_V_OK;
}

MTLS_EXPORT const char *
mtls_peer_verify_error(struct mtls *c)
{
	long result;

	if (!mtls_peer_cert_provided(c))
		return NULL;
	result = verify_result(c);
	return result == X509_V_OK ? NULL : X509_verify_cert_error_string(result);
}

/* A string fact: computed by expr (with cert in scope) on first use.
 * It may be asked for inside a handshake (by a verify callback): what
 * expr leaves on the error queue is dropped, and nothing else. */
#define PEER_STRING(fn, flag, field, expr) \
	MTLS_EXPORT const char *fn(struct mtls *c) \
	{ \
		X509 *cert = to_compute(c, flag); \
		if (cert != NULL) { \
			ERR_set_mark(); \
			c->peer.field = (expr); \
			ERR_pop_to_mark(); \
		} \
		return peer_cert(c) != NULL ? c->peer.field : NULL; \
	}

PEER_STRING(mtls_peer_subject, PEER_SUBJECT, subject,
    dn_text(X509_get_subject_name(cert)))
PEER_STRING(mtls_peer_issuer, PEER_ISSUER, issuer,
    dn_text(X509_get_issuer_name(cert)))
PEER_STRING(mtls_peer_common_name, PEER_CN, common_name,
    mtls_cert_common_name(cert))
PEER_STRING(mtls_peer_serial, PEER_SERIAL, serial, serial_hex(cert))
PEER_STRING(mtls_peer_fingerprint_sha256, PEER_FINGERPRINT, fingerprint,
    cert_sha256(cert, false))
PEER_STRING(mtls_peer_spki_sha256, PEER_SPKI, spki, cert_sha256(cert, true))
PEER_STRING(mtls_peer_cert_pem, PEER_CERT_PEM, cert_pem,
    pem_of_certs(NULL, cert))
PEER_STRING(mtls_peer_chain_pem, PEER_CHAIN_PEM, chain_pem,
    peer_chain(c) != NULL ? pem_of_certs(peer_chain(c), NULL) : NULL)

MTLS_EXPORT time_t
mtls_peer_not_before(struct mtls *c)
{
	X509 *cert = peer_cert(c);

	return cert != NULL ? mtls_asn1_time(X509_get0_notBefore(cert)) : -1;
}

MTLS_EXPORT time_t
mtls_peer_not_after(struct mtls *c)
{
	X509 *cert = peer_cert(c);

	return cert != NULL ? mtls_asn1_time(X509_get0_notAfter(cert)) : -1;
}

MTLS_EXPORT const char *
mtls_peer_san(struct mtls *c, int type, size_t index)
{
	struct mtls_peer *p;
	X509 *cert = to_compute(c, PEER_SANS);
	size_t i;

	if (cert != NULL)
		load_sans(&c->peer, cert);
	if (peer_cert(c) == NULL || type < MTLS_SAN_DNS || type > MTLS_SAN_EMAIL)
		return NULL;
	p = &c->peer;
	if (p->sans[type] == NULL)
		return NULL;
	for (i = 0; i < index && p->sans[type][i] != NULL; i++)
		;
	return p->sans[type][i];
}
MTLS_EXPORT const char *
mtls_conn_version(struct mtls *c)
{
	return c != NULL && c->handshake_done ? SSL_get_version(c->ssl) : NULL;
}

MTLS_EXPORT const char *
mtls_conn_cipher(struct mtls *c)
{
	return c != NULL && c->handshake_done ? SSL_get_cipher_name(c->ssl) : NULL;
}

MTLS_EXPORT const char *
mtls_conn_group(struct mtls *c)
{
	int nid;

	if (c == NULL || !c->handshake_done)
		return NULL;
	/* A resumed TLS 1.2 session makes no new key exchange. */
	if ((nid = SSL_get_negotiated_group(c->ssl)) <= 0)
		return NULL;
	return SSL_group_to_name(c->ssl, nid);
}

MTLS_EXPORT const char *
mtls_conn_alpn(struct mtls *c)
{
	const unsigned char *proto = NULL;
	unsigned int len = 0;

	if (c == NULL || !c->handshake_done)
		return NULL;
	SSL_get0_alpn_selected(c->ssl, &proto, &len);
	if (proto == NULL || len == 0)
		return NULL;
	/* The SSL's buffer is not NUL-terminated: keep a copy on the peer. */
	if (c->peer.alpn == NULL)
		c->peer.alpn = strndup((const char *)proto, len);
	return c->peer.alpn;
}

MTLS_EXPORT int
mtls_conn_session_resumed(struct mtls *c)
{
	return c != NULL && c->handshake_done && SSL_session_reused(c->ssl);
}

MTLS_EXPORT int
mtls_conn_chain_cached(struct mtls *c)
{
	return c != NULL && c->handshake_done && c->chain_cached;
}
