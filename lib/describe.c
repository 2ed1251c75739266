/*
 * describe.c - a connection's handshake told for a person: what curl -v
 * and openssl s_client print, from the library, after success or failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "mtls_internal.h"

/* The CA names a server sent in its CertificateRequest, kept on c. */
static char **
acceptable_cas(struct mtls *c)
{
	STACK_OF(X509_NAME) *names;
	int i, n;

	if (c->acceptable_ca != NULL || c->ssl == NULL || c->role != ROLE_CLIENT)
		return c->acceptable_ca;
	names = SSL_get_client_CA_list(c->ssl);
	n = names != NULL ? sk_X509_NAME_num(names) : 0;
	if (n == 0 || (c->acceptable_ca = calloc((size_t)n + 1,
	    sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		char dn[512];

		mtls_format_dn(sk_X509_NAME_value(names, i), dn, sizeof(dn));
		c->acceptable_ca[i] = strdup(dn);
	}
	return c->acceptable_ca;
}

MTLS_EXPORT const char *
mtls_peer_acceptable_ca(struct mtls *c, size_t index)
{
	char **names = c != NULL ? acceptable_cas(c) : NULL;
	size_t i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		if (i == index)
			return names[i];
	return NULL;
}

static void
describe_time(BIO *out, const char *label, const ASN1_TIME *t)
{
	BIO_printf(out, "%s", label);
	ASN1_TIME_print(out, t);
	if (X509_cmp_current_time(t) <= 0 && strstr(label, "to"))
		BIO_printf(out, " (expired)");
	if (X509_cmp_current_time(t) > 0 && strstr(label, "from"))
		BIO_printf(out, " (not yet valid)");
}

static void
describe_cert(BIO *out, int depth, X509 *cert)
{
	char dn[512], names[1024];

	mtls_format_dn(X509_get_subject_name(cert), dn, sizeof(dn));
	BIO_printf(out, "  %d subject: %s\n", depth, dn);
	mtls_format_dn(X509_get_issuer_name(cert), dn, sizeof(dn));
	BIO_printf(out, "    issuer:  %s\n", dn);
	describe_time(out, "    valid from ", X509_get0_notBefore(cert));
	describe_time(out, " to ", X509_get0_notAfter(cert));
	mtls_describe_identity(cert, false, names, sizeof(names));
	BIO_printf(out, "\n    names:   %s\n", names);
}

/* The peer's chain as sent; a server's view of it lacks the leaf. */
static void
describe_chain(BIO *out, struct mtls *c)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	int i, depth = 0;

	if (leaf == NULL && sk_X509_num(chain) <= 0) {
		BIO_printf(out, "peer certificate: none presented\n");
		return;
	}
	BIO_printf(out, "peer certificate chain:\n");
	if (c->role != ROLE_CLIENT && leaf != NULL)
		describe_cert(out, depth++, leaf);
	for (i = 0; i < sk_X509_num(chain); i++)
		describe_cert(out, depth++, sk_X509_value(chain, i));
}

static void
describe_session(BIO *out, struct mtls *c)
{
	const char *alpn = mtls_conn_alpn(c), *group = mtls_conn_group(c);

	BIO_printf(out, "protocol: %s, cipher: %s, group: %s, ALPN: %s, "
	    "session: %s\n", SSL_get_version(c->ssl), c->handshake_done ?
	    SSL_get_cipher_name(c->ssl) : "(none)", group ? group : "(none)",
	    alpn ? alpn : "(none)", SSL_session_reused(c->ssl) ? "resumed" : "new");
}

static void
describe_verdict(BIO *out, struct mtls *c)
{
	const struct mtls_evidence *ev = mtls_evidence(c);
	char **names = acceptable_cas(c);
	long result = SSL_get_verify_result(c->ssl);
	int i;

	if (c->role == ROLE_CLIENT) {
		BIO_printf(out, "acceptable client CA names:");
		for (i = 0; names != NULL && names[i] != NULL; i++)
			BIO_printf(out, "%s '%s'", i ? "," : "", names[i]);
		BIO_printf(out, "%s\n", names == NULL ? " (none: the server did "
		    "not ask for a client certificate, or named no CA)" : "");
	}
	if (c->verify_err != 0)
		result = c->verify_err;
	if (SSL_get0_peer_certificate(c->ssl) == NULL && c->verify_err == 0 &&
	    !c->policy_rejected)
		BIO_printf(out, "verify result: no certificate presented");
	else
		BIO_printf(out, "verify result: %s", result == X509_V_OK ? "ok" :
		    X509_verify_cert_error_string(result));
	if (c->verify_err != 0 && ev->verify_subject[0] != '\0')
		BIO_printf(out, " (at depth %d, '%s', issuer '%s')", c->verify_depth,
		    ev->verify_subject, ev->verify_issuer);
	BIO_printf(out, "\n");
	if (mtls_error(c) != NULL)
		BIO_printf(out, "error: %s\n", mtls_error(c));
}

/* Where the connection stands, for the first line. */
static const char *
state_text(const struct mtls *c)
{
	if (c->plain)
		return "plaintext connection, no TLS";
	if (c->handshake_done)
		return "handshake complete";
	return c->fatal ? "handshake failed" : "no handshake yet";
}

MTLS_EXPORT const char *
mtls_conn_describe(struct mtls *c)
{
	BIO *out;
	char *data;
	long len;

	if (c == NULL || (out = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	BIO_printf(out, "%s %s %s: %s\n", c->role == ROLE_CLIENT ? "client" :
	    "server", c->role == ROLE_CLIENT ? "connection to" : "connection from",
	    c->peer_desc[0] ? c->peer_desc : "(not connected)", state_text(c));
	if (c->ssl != NULL) {
		describe_session(out, c);
		describe_chain(out, c);
		describe_verdict(out, c);
	} else if (mtls_error(c) != NULL) {
		BIO_printf(out, "error: %s\n", mtls_error(c));
	}
	len = BIO_get_mem_data(out, &data);
	free(c->description);
	c->description = strndup(data, (size_t)len);
	BIO_free(out);
	return c->description;
}
