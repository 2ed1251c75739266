/*
 * diagnose.c - turns a failed handshake, read or write into one error that
 * says which side failed, what was wrong and, where we can tell, what to
 * do.  The evidence comes from the verify and info callbacks (verify.c),
 * the socket (io.c) and OpenSSL's error queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mtls_internal.h"

static const char *
peer_role(const struct mtls *c)
{
	return c->role == ROLE_CLIENT ? "server" : "client";
}

/* "'CN=a', 'CN=b'": the CA names a server asked for, or "none". */
static void
acceptable_ca_names(const struct mtls *c, char *buf, size_t len)
{
	STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(c->ssl);
	size_t used = 0;
	int i;

	snprintf(buf, len, "none");
	for (i = 0; names != NULL && i < sk_X509_NAME_num(names); i++) {
		char dn[256];

		mtls_format_dn(sk_X509_NAME_value(names, i), dn, sizeof(dn));
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
		    "%s'%s'", i > 0 ? ", " : "", dn);
		if (used >= len)
			break;
	}
}

/* The verify callback kept the names the certificate does have. */
static int
fail_hostname(struct mtls *c)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	const char *host = X509_VERIFY_PARAM_get0_host(param, 0);
	char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);

	CONN_FAIL(c, MTLS_ERR_HOSTNAME, "server certificate does not match '%s': "
	    "it is for %s (connect by a name it lists, or set the name to "
	    "verify)", ip ? ip : host ? host : "?",
	    mtls_evidence(c)->verify_detail);
	OPENSSL_free(ip);
	return -1;
}

/* The "(why)" that follows OpenSSL's verify error string. */
static void
verify_hint(const struct mtls *c, char *buf, size_t len)
{
	const struct mtls_evidence *ev = mtls_evidence(c);
	const char *peer = peer_role(c);

	switch (c->verify_err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		snprintf(buf, len, " (issuer '%s' is not in %s, and the %s did not "
		    "send it)", ev->verify_issuer, c->cfg->trust_desc, peer);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(buf, len, " (certificate '%s' is self-signed and is not in "
		    "%s)", ev->verify_subject, c->cfg->trust_desc);
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(buf, len, " (its root '%s' is not in %s)",
		    ev->verify_subject, c->cfg->trust_desc);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		snprintf(buf, len, " (certificate '%s' expired on %s)",
		    ev->verify_subject, ev->verify_detail);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(buf, len, " (certificate '%s' is not valid before %s)",
		    ev->verify_subject, ev->verify_detail);
		break;
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		snprintf(buf, len, " (more intermediate CAs than the verify depth "
		    "allows, at '%s': raise it with mtls_config_set_verify_depth)",
		    ev->verify_subject);
		break;
	case X509_V_ERR_CERT_REVOKED:
		snprintf(buf, len, " (certificate '%s' is on the CRL of '%s')",
		    ev->verify_subject, ev->verify_issuer);
		break;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		snprintf(buf, len, " (no CRL from '%s' for '%s': add its CRL file, "
		    "or check the peer's certificate only)", ev->verify_issuer,
		    ev->verify_subject);
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		snprintf(buf, len, " (certificate '%s' is not meant for a TLS %s: "
		    "its key usage or extended key usage does not allow it)",
		    ev->verify_subject, peer);
		break;
	default:
		snprintf(buf, len, " (certificate '%s', issuer '%s')",
		    ev->verify_subject, ev->verify_issuer);
		break;
	}
}

static int
fail_verify(struct mtls *c)
{
	char hint[1400];

	if (c->verify_err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    c->verify_err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return fail_hostname(c);
	verify_hint(c, hint, sizeof(hint));
	return CONN_FAIL(c, MTLS_ERR_PEER_UNTRUSTED, "%s certificate not trusted: "
	    "%s%s", peer_role(c), X509_verify_cert_error_string(c->verify_err),
	    hint);
}

static bool
is_certificate_alert(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

/*
 * The peer refused our certificate.  In TLS 1.3 a server says so after our
 * handshake has returned (RFC 8446, 4.4.2.4), so this is reached from
 * mtls_read and mtls_write as well.
 */
static int
fail_rejected(struct mtls *c, const char *alert)
{
	char names[600];

	if (c->role != ROLE_CLIENT)
		return CONN_FAIL(c, MTLS_ERR_CERT_REJECTED, "client rejected our "
		    "server certificate: %s", alert);
	acceptable_ca_names(c, names, sizeof(names));
	if (c->cfg->id_count == 0 ||
	    c->alert_received == SSL_AD_CERTIFICATE_REQUIRED)
		return CONN_FAIL(c, MTLS_ERR_CERT_REJECTED, "server requires a "
		    "client certificate and we sent none (acceptable CA names: "
		    "%s)", names);
	return CONN_FAIL(c, MTLS_ERR_CERT_REJECTED, "server rejected our client "
	    "certificate: %s (acceptable CA names: %s)", alert, names);
}

/*
 * The peer asked to renegotiate and we refused (SSL_OP_NO_RENEGOTIATION:
 * renegotiation is off in every config, as RFC 8446 removed it and TLS
 * 1.2's has been the way in for attacks such as CVE-2009-3555 and
 * client-initiated DoS).  The peer's answer, if any, follows: an OpenSSL
 * client sends handshake_failure.
 */
static int
fail_renegotiation(struct mtls *c, const char *op)
{
	char then[160] = "";

	if (c->alert_received >= 0)
		snprintf(then, sizeof(then), "; it then sent alert '%s'",
		    SSL_alert_desc_string_long(c->alert_received));
	return CONN_FAIL(c, MTLS_ERR_PROTOCOL, "%s with %s failed: the %s "
	    "tried to renegotiate the TLS session, and renegotiation is refused "
	    "(it is off in libmtls: make a new connection instead)%s", op,
	    c->peer_desc, peer_role(c), then);
}

/* The TLS versions c's config accepts, as a message says them. */
static const char *
accepted_versions(struct mtls *c)
{
	long min = SSL_CTX_get_min_proto_version(c->cfg->ctx);
	long max = SSL_CTX_get_max_proto_version(c->cfg->ctx);

	if (min == TLS1_3_VERSION)
		return "TLS 1.3 only";
	if (max == TLS1_2_VERSION)
		return "TLS 1.2 only";
	return "TLS 1.2 and 1.3";
}

static int
fail_alert(struct mtls *c, const char *op)
{
	const char *alert = SSL_alert_desc_string_long(c->alert_received);

	if (is_certificate_alert(c->alert_received))
		return fail_rejected(c, alert);
	/* A TLS 1.2 server refuses a missing certificate with a bare
	 * handshake_failure (RFC 5246, 7.4.6). */
	if (c->role == ROLE_CLIENT && c->cert_requested &&
	    c->cfg->id_count == 0 &&
	    c->alert_received == SSL_AD_HANDSHAKE_FAILURE)
		return fail_rejected(c, alert);
	switch (c->alert_received) {
	case SSL_AD_PROTOCOL_VERSION:
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_INSUFFICIENT_SECURITY:
		return CONN_FAIL(c, MTLS_ERR_PROTOCOL, "%s with %s failed: the %s "
		    "sent alert '%s' (no common TLS version or cipher: we accept "
		    "%s)", op, c->peer_desc, peer_role(c), alert,
		    accepted_versions(c));
	default:
		return CONN_FAIL(c, c->handshake_done ? MTLS_ERR_TLS :
		    MTLS_ERR_HANDSHAKE, "%s with %s failed: the %s sent alert '%s'",
		    op, c->peer_desc, peer_role(c), alert);
	}
}

static int
fail_ssl_reason(struct mtls *c, int reason, const char *op)
{
	switch (reason) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return CONN_FAIL(c, MTLS_ERR_NO_PEER_CERT, "client presented no "
		    "certificate, and one is required");
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
		return CONN_FAIL(c, MTLS_ERR_PROTOCOL, "%s with %s failed: no common "
		    "TLS version or cipher (%s; we accept %s)", op, c->peer_desc,
		    mtls_ssl_reason(), accepted_versions(c));
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
		return CONN_FAIL(c, MTLS_ERR_PROTOCOL, "%s with %s failed: the %s "
		    "does not speak TLS on this port (%s)", op, c->peer_desc,
		    peer_role(c), mtls_ssl_reason());
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		if (c->handshake_done)
			return CONN_FAIL(c, MTLS_ERR_TRUNCATED, "connection with %s "
			    "truncated: the %s closed it without close_notify, so the "
			    "data may be incomplete", c->peer_desc, peer_role(c));
		return CONN_FAIL(c, MTLS_ERR_CLOSED, "%s with %s failed: the %s "
		    "closed the connection during the handshake", op,
		    c->peer_desc, peer_role(c));
	default:
		return CONN_FAIL_SSL(c, c->handshake_done ? MTLS_ERR_TLS :
		    MTLS_ERR_HANDSHAKE, "%s with %s failed", op, c->peer_desc);
	}
}

static int
fail_syscall(struct mtls *c, const char *op)
{
	int e = c->last_errno;

	if (e == 0 || c->eof)
		return fail_ssl_reason(c, SSL_R_UNEXPECTED_EOF_WHILE_READING, op);
	if (e == EPIPE || e == ECONNRESET)
		return CONN_FAIL_SYS(c, MTLS_ERR_CLOSED, e, "%s with %s failed: "
		    "the %s has gone away (%s)", op, c->peer_desc, peer_role(c),
		    strerror(e));
	return CONN_FAIL_SYS(c, MTLS_ERR_IO, e, "%s with %s failed: %s", op,
	    c->peer_desc, strerror(e));
}

/*
 * A TLS 1.3 server that refuses our certificate sends its alert and
 * closes.  When our next write hits the closed socket first, the alert is
 * still waiting in the receive buffer: read it, so that the error can say
 * why.  The connection is lost either way, so data read here is dropped.
 */
static void
look_for_alert(struct mtls *c)
{
	char buf[512];
	size_t got;
	int i;

	/* A plain connection has no alerts to find. */
	if (c->plain || c->role != ROLE_CLIENT || c->alert_received >= 0 ||
	    c->nonblocking)
		return;
	for (i = 0; i < 8 && c->alert_received < 0; i++) {
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, buf, sizeof(buf), &got) != 1)
			break;
	}
	ERR_clear_error();
}

int
mtls_fail_ssl(struct mtls *c, int ssl_err, enum mtls_op which)
{
	static const char *const op_names[] = {
		[MTLS_OP_HANDSHAKE] = "TLS handshake",
		[MTLS_OP_READ] = "read",
		[MTLS_OP_WRITE] = "write",
	};
	const char *op = op_names[which];
	unsigned long err;

	if (ssl_err == SSL_ERROR_SYSCALL && which == MTLS_OP_WRITE)
		look_for_alert(c);
	err = ERR_peek_error();
	c->fatal = true;
	if (c->policy_rejected)
		return CONN_FAIL(c, MTLS_ERR_NOT_ALLOWED, "%s",
		    mtls_evidence(c)->policy_reason);
	if (c->verify_err != 0 && !c->chain_tolerated)
		return fail_verify(c);
	if (c->renegotiation_refused)
		return fail_renegotiation(c, op);
	if (c->alert_received >= 0)
		return fail_alert(c, op);
	if (ssl_err == SSL_ERROR_SYSCALL && err == 0)
		return fail_syscall(c, op);
	if (ERR_GET_LIB(err) == ERR_LIB_SSL)
		return fail_ssl_reason(c, ERR_GET_REASON(err), op);
	if (c->last_errno != 0)
		return fail_syscall(c, op);
	return fail_ssl_reason(c, 0, op);
}
