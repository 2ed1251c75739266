/*
 * verify.c - the callbacks OpenSSL calls during a handshake: they keep the
 * evidence (first verify error, the certificate it was about, the alert
 * the peer sent) that diagnose.c turns into a message.  Also the name the
 * server certificate is checked against, and ALPN selection.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mtls_internal.h"

/* "2020-02-01 00:00:00 UTC", for messages about validity. */
static void
format_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "an unreadable date");
}

/* "DNS:localhost, IP:127.0.0.1", or "CN=..." when it has no such SAN. */
static void
certificate_names(X509 *cert, char *buf, size_t len)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL);
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		char *text = mtls_general_name_text(gn);

		if (text != NULL && used < len &&
		    (gn->type == GEN_DNS || gn->type == GEN_IPADD))
			used += (size_t)snprintf(buf + used, len - used, "%s%s:%s",
			    used ? ", " : "", gn->type == GEN_DNS ? "DNS" : "IP", text);
		free(text);
	}
	GENERAL_NAMES_free(sans);
	if (buf[0] == '\0') {
		char dn[256];

		mtls_format_dn(X509_get_subject_name(cert), dn, sizeof(dn));
		snprintf(buf, len, "no DNS or IP name, subject '%s'", dn);
	}
}

/* The evidence of the store's current failure, for diagnose.c. */
static void
keep_verify_failure(struct mtls *c, X509_STORE_CTX *store)
{
	struct mtls_evidence *ev;
	X509 *cert;

	c->verify_err = X509_STORE_CTX_get_error(store);
	c->verify_depth = X509_STORE_CTX_get_error_depth(store);
	cert = X509_STORE_CTX_get_current_cert(store);
	if (cert == NULL || (ev = mtls_evidence_new(c)) == NULL)
		return;
	if (c->verify_err == X509_V_ERR_CERT_HAS_EXPIRED)
		format_time(X509_get0_notAfter(cert), ev->verify_detail,
		    sizeof(ev->verify_detail));
	if (c->verify_err == X509_V_ERR_CERT_NOT_YET_VALID)
		format_time(X509_get0_notBefore(cert), ev->verify_detail,
		    sizeof(ev->verify_detail));
	if (c->verify_err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    c->verify_err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		certificate_names(cert, ev->verify_detail,
		    sizeof(ev->verify_detail));
	mtls_format_dn(X509_get_subject_name(cert), ev->verify_subject,
	    sizeof(ev->verify_subject));
	mtls_format_dn(X509_get_issuer_name(cert), ev->verify_issuer,
	    sizeof(ev->verify_issuer));
}

int
mtls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mtls *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

	if (preverify_ok || c == NULL || c->verify_err != 0)
		return preverify_ok;
	/* Keep the first failure: later ones are usually its consequences.
	 * The verdict is in the store; formatting it adds nothing to the
	 * error queue. */
	mtls_callback_enter();
	keep_verify_failure(c, store);
	mtls_callback_leave(false);
	return preverify_ok;
}

void
mtls_info_cb(const SSL *ssl, int where, int ret)
{
	struct mtls *c = SSL_get_app_data(ssl);

	if (c != NULL && (where & SSL_CB_LOOP) &&
	    SSL_get_state(ssl) == TLS_ST_CR_CERT_REQ)
		c->cert_requested = true;
	/* Fatal alerts from the peer explain most handshake failures. */
	if (c != NULL && (where & SSL_CB_ALERT) && (where & SSL_CB_READ) &&
	    (ret >> 8) == SSL3_AL_FATAL)
		c->alert_received = ret & 0xff;
	/* SSL_OP_NO_RENEGOTIATION answers a TLS 1.2 peer's new ClientHello (or
	 * HelloRequest) with a no_renegotiation warning; OpenSSL peers then
	 * end the connection with a bare handshake_failure, which alone would
	 * read as a failed negotiation of version or cipher. */
	if (c != NULL && (where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) &&
	    (ret & 0xff) == SSL_AD_NO_RENEGOTIATION)
		c->renegotiation_refused = true;
}

int
mtls_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct mtls_config *cfg = arg;
	unsigned char *selected;

	if (cfg->alpn == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_select_next_proto(&selected, outlen, cfg->alpn,
	    (unsigned)cfg->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}

static bool
is_ip_literal(const char *name)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1;
}

/*
 * The server certificate must name what we connected to: an IP literal is
 * matched against IP SANs only; a host name against DNS SANs, or the CN
 * when there is no DNS SAN (OpenSSL's rule, which lets the CN-only
 * certificates of `openssl x509 -req` work).  SNI carries names only
 * (RFC 6066, section 3).  With mtls_config_insecure_noverify a mismatch is
 * tolerated like any chain failure, but still shows in the verdict.
 */
int
mtls_setup_verify_name(struct mtls *c, const char *name)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);

	if (is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : -1;
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, name, 0) != 1)
		return -1;
	return SSL_set_tlsext_host_name(c->ssl, name) == 1 ? 0 : -1;
}
