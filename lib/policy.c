/*
 * policy.c - who may connect: the verify-client modes, the allow-list and
 * the user's verify callback, run inside the handshake (so that a refused
 * peer gets an alert) and again after it for resumed sessions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "mtls_internal.h"

#define MAX_VERIFY_DEPTH 32

MTLS_EXPORT int
mtls_config_set_verify_client(struct mtls_config *cfg, int mode)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(mode >= MTLS_VERIFY_CLIENT_REQUIRED &&
	    mode <= MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA, cfg, MTLS_ERR_INVALID,
	    "unknown client-certificate mode %d: use MTLS_VERIFY_CLIENT_REQUIRED, "
	    "_OPTIONAL or _OPTIONAL_NO_CA", mode);
	cfg->verify_client = mode;
	return RECORDED(0, cfg, mtls_config_set_verify_client, "i", mode);
}

MTLS_EXPORT int
mtls_config_insecure_noverify(struct mtls_config *cfg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	cfg->insecure_noverify = true;
	return RECORDED(0, cfg, mtls_config_insecure_noverify, "");
}

/* The TLS settings stay settable, before and after: they have no effect
 * on plain connections, so a program builds its configs one way and turns
 * TLS off with this one call. */
MTLS_EXPORT int
mtls_config_insecure_plaintext(struct mtls_config *cfg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	cfg->plaintext = true;
	return RECORDED(0, cfg, mtls_config_insecure_plaintext, "");
}

MTLS_EXPORT int
mtls_config_set_verify_depth(struct mtls_config *cfg, int depth)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(depth >= 0 && depth <= MAX_VERIFY_DEPTH, cfg, MTLS_ERR_INVALID,
	    "verify depth %d is out of range: give the number of intermediate "
	    "CAs allowed, 0 to %d", depth, MAX_VERIFY_DEPTH);
	SSL_CTX_set_verify_depth(cfg->ctx, depth);
	return RECORDED(0, cfg, mtls_config_set_verify_depth, "i", depth);
}

MTLS_EXPORT int
mtls_config_set_verify_callback(struct mtls_config *cfg, mtls_verify_fn fn,
    void *arg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	cfg->verify_fn = fn;
	cfg->verify_arg = arg;
	return RECORDED(0, cfg, mtls_config_set_verify_callback, "fv", fn, arg);
}

/* ------------------------------------------------------ CA names, CRLs */

/* ---------------------------------------------------------- allow-list */

static bool
has_control_char(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* 64 hex digits (colons allowed) or "sha256//<base64>" into 32 bytes. */
static int
parse_digest(const char *value, unsigned char out[32])
{
	unsigned char buf[48];
	size_t n = 0;
	const char *p;

	if (strncmp(value, "sha256//", 8) == 0) {
		int len = EVP_DecodeBlock(buf, (const unsigned char *)value + 8,
		    (int)strlen(value + 8));

		/* 44 base64 characters with one '=' decode to 33 bytes. */
		if (strlen(value + 8) != 44 || len != 33)
			return -1;
		memcpy(out, buf, 32);
		return 0;
	}
	for (p = value; *p != '\0'; p++) {
		unsigned v;

		if (*p == ':')
			continue;
		if (n >= 64 || sscanf(p, "%1x", &v) != 1)
			return -1;
		out[n / 2] = (unsigned char)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 64 ? 0 : -1;
}

static int
parse_allow(struct mtls_allow *a, int type, const char *value)
{
	a->type = type;
	switch (type) {
	case MTLS_ALLOW_CN:
	case MTLS_ALLOW_OU:
	case MTLS_ALLOW_DNS:
	case MTLS_ALLOW_URI:
		return (a->pattern = strdup(value)) != NULL ? 0 : -1;
	case MTLS_ALLOW_IP:
		if (inet_pton(AF_INET, value, a->bytes) == 1)
			a->len = 4;
		else if (inet_pton(AF_INET6, value, a->bytes) == 1)
			a->len = 16;
		return a->len > 0 ? 0 : -1;
	case MTLS_ALLOW_SPKI_SHA256:
	case MTLS_ALLOW_CERT_SHA256:
		a->len = 32;
		return parse_digest(value, a->bytes);
	default:
		return -1;
	}
}

MTLS_EXPORT int
mtls_config_allow(struct mtls_config *cfg, int type, const char *value)
{
	struct mtls_allow entry = { 0 }, *grown;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(value != NULL && *value != '\0' && !has_control_char(value),
	    cfg, MTLS_ERR_INVALID, "allow-list value is empty or holds a control "
	    "character");
	ENSURE_CFG(type >= MTLS_ALLOW_CN && type <= MTLS_ALLOW_CERT_SHA256, cfg,
	    MTLS_ERR_INVALID, "unknown allow-list type %d", type);
	if (parse_allow(&entry, type, value) != 0) {
		free(entry.pattern);
		return CFG_FAIL(cfg, MTLS_ERR_INVALID, "invalid allow-list value "
		    "'%s': %s", value, type == MTLS_ALLOW_IP ? "not an IPv4 or IPv6 "
		    "address" : type == MTLS_ALLOW_SPKI_SHA256 ||
		    type == MTLS_ALLOW_CERT_SHA256 ? "give 64 hex digits or "
		    "sha256//<base64>" : "out of memory");
	}
	grown = realloc(cfg->allow, (cfg->allow_count + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(entry.pattern);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	cfg->allow = grown;
	cfg->allow[cfg->allow_count++] = entry;
	return RECORDED(0, cfg, mtls_config_allow, "is", type, value);
}

void
mtls_allow_free(struct mtls_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->allow_count; i++)
		free(cfg->allow[i].pattern);
	free(cfg->allow);
}

/*
 * '*' matches any run of characters other than sep (sep 0: any run).
 * DNS names compare without regard to case (RFC 4343).
 */
static bool
glob_match(const char *pat, const char *text, char sep, bool nocase)
{
	if (*pat == '\0')
		return *text == '\0';
	if (*pat == '*') {
		const char *t = text;

		for (;;) {
			if (glob_match(pat + 1, t, sep, nocase))
				return true;
			if (*t == '\0' || (sep != 0 && *t == sep))
				return false;
			t++;
		}
	}
	if (*text == '\0')
		return false;
	if (nocase ? tolower((unsigned char)*pat) != tolower((unsigned char)*text) :
	    *pat != *text)
		return false;
	return glob_match(pat + 1, text + 1, sep, nocase);
}

static bool
match_san(const struct mtls_allow *a, X509 *cert)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL);
	bool hit = false;
	int i;

	for (i = 0; !hit && sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		char *text;

		if (a->type == MTLS_ALLOW_IP) {
			hit = gn->type == GEN_IPADD &&
			    ASN1_STRING_length(gn->d.iPAddress) == (int)a->len &&
			    memcmp(ASN1_STRING_get0_data(gn->d.iPAddress), a->bytes,
			    a->len) == 0;
			continue;
		}
		if (gn->type != (a->type == MTLS_ALLOW_DNS ? GEN_DNS : GEN_URI))
			continue;
		/* NULL for names with NUL or control characters: never a match. */
		text = mtls_general_name_text(gn);
		hit = text != NULL && (a->type == MTLS_ALLOW_DNS ?
		    glob_match(a->pattern, text, '.', true) :
		    glob_match(a->pattern, text, '/', false));
		free(text);
	}
	GENERAL_NAMES_free(sans);
	return hit;
}

static bool
match_ou(const struct mtls_allow *a, X509 *cert)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(name,
	    NID_organizationalUnitName, i)) >= 0) {
		unsigned char *utf8 = NULL;
		int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i)));
		char *clean = len >= 0 ? strndup((char *)utf8, (size_t)len) : NULL;
		/* Whole or not at all: no NUL, no control characters. */
		bool hit = clean != NULL && strlen(clean) == (size_t)len &&
		    !has_control_char(clean) &&
		    glob_match(a->pattern, clean, 0, false);

		free(clean);

		OPENSSL_free(utf8);
		if (hit)
			return true;
	}
	return false;
}

static bool
match_one(const struct mtls_allow *a, X509 *cert)
{
	unsigned char md[32];
	char *cn;
	bool hit;

	switch (a->type) {
	case MTLS_ALLOW_CN:
		cn = mtls_cert_common_name(cert);
		hit = cn != NULL && glob_match(a->pattern, cn, 0, false);
		free(cn);
		return hit;
	case MTLS_ALLOW_OU:
		return match_ou(a, cert);
	case MTLS_ALLOW_DNS:
	case MTLS_ALLOW_URI:
	case MTLS_ALLOW_IP:
		return match_san(a, cert);
	case MTLS_ALLOW_SPKI_SHA256:
	case MTLS_ALLOW_CERT_SHA256:
		return mtls_cert_sha256(cert, a->type == MTLS_ALLOW_SPKI_SHA256,
		    md) == 0 && memcmp(md, a->bytes, 32) == 0;
	default:
		return false;
	}
}

bool
mtls_allow_matches(const struct mtls_config *cfg, X509 *cert)
{
	for (size_t i = 0; i < cfg->allow_count; i++)
		if (match_one(&cfg->allow[i], cert))
			return true;
	return false;
}

/* "CN=client, OU=testers, DNS:x, URI:y, SPKI sha256//q1...=": what the
 * peer presented, for the refusal message. */
void
mtls_describe_identity(X509 *cert, bool with_subject, char *buf, size_t len)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL);
	unsigned char md[32];
	size_t used;
	int i;

	buf[0] = '\0';
	if (with_subject)
		mtls_format_dn(X509_get_subject_name(cert), buf, len);
	used = strlen(buf);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		char *text = mtls_general_name_text(gn);
		const char *kind = gn->type == GEN_DNS ? "DNS" : gn->type == GEN_IPADD ?
		    "IP" : gn->type == GEN_URI ? "URI" : "email";

		if (text != NULL && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s:%s",
			    used ? ", " : "", kind, text);
		free(text);
	}
	GENERAL_NAMES_free(sans);
	/* In curl's pin form, so that it can be pasted into an allow-list
	 * (MTLS_ALLOW_SPKI_SHA256) or --pinnedpubkey as it is. */
	if (used < len && mtls_cert_sha256(cert, true, md) == 0) {
		unsigned char pin[45];

		EVP_EncodeBlock(pin, md, 32);
		snprintf(buf + used, len - used, "%sSPKI sha256//%s",
		    used ? ", " : "", (const char *)pin);
	}
}

/* ------------------------------------------------------- running policy */

static const char *
peer_name(const struct mtls *c)
{
	return c->role == ROLE_CLIENT ? "server" : "client";
}

/* Keeps the refused certificate: its identity is still worth logging, and
 * a full handshake after a refused resumption need not ask twice. */
static void
remember_refusal(struct mtls *c, X509 *cert)
{
	X509_free(c->refused_cert);
	c->refused_cert = cert;
	if (cert != NULL)
		X509_up_ref(cert);
}

/* The policy's reason for a refusal, kept in c's evidence; false. */
static bool
keep_reason(struct mtls *c, const char *reason)
{
	struct mtls_evidence *ev = mtls_evidence_new(c);

	if (ev != NULL)
		snprintf(ev->policy_reason, sizeof(ev->policy_reason), "%s",
		    reason);
	return false;
}

/* Applies the allow-list and the callback; false with the reason in c's
 * evidence. */
static bool
policy_admits(struct mtls *c, X509 *cert, bool chain_ok)
{
	struct mtls_config *cfg = c->cfg;
	char reason[400] = "";

	c->policy_done = true;
	/* Refused moments ago, on a resumption attempt: the answer stands. */
	if (c->refused_cert != NULL && cert != NULL &&
	    X509_cmp(c->refused_cert, cert) == 0)
		return false;
	if (cfg->allow_count > 0 && cert != NULL) {
		char presented[400], why[600];

		if (!mtls_allow_matches(cfg, cert)) {
			mtls_describe_identity(cert, true, presented,
			    sizeof(presented));
			snprintf(why, sizeof(why), "%s certificate not allowed: it "
			    "presented %s, and none of that matches the allow-list",
			    peer_name(c), presented);
			return keep_reason(c, why);
		}
	}
	if (cfg->verify_fn != NULL &&
	    cfg->verify_fn(c, chain_ok, cfg->verify_arg, reason, sizeof(reason)) != 1) {
		char why[600];

		reason[sizeof(reason) - 1] = '\0';
		snprintf(why, sizeof(why), "%s certificate refused by the verify "
		    "callback: %s", peer_name(c), reason[0] ? reason : "no reason "
		    "given");
		return keep_reason(c, why);
	}
	return true;
}

/* Whether a chain that failed may still make a connection. */
static bool
tolerates_bad_chain(const struct mtls *c)
{
	if (c->cfg->insecure_noverify)
		return true;
	/* optional, as nginx's, still refuses a certificate that fails. */
	return c->role != ROLE_CLIENT &&
	    c->cfg->verify_client == MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA;
}

/* OpenSSL's chain check, or its verdict on the same chain a while ago. */
static bool
verify_chain(struct mtls *c, X509_STORE_CTX *store)
{
	unsigned char key[32];

	if (mtls_verify_cache_lookup(c, store, key)) {
		c->chain_cached = true;
		return true;
	}
	if (X509_verify_cert(store) != 1)
		return false;
	mtls_verify_cache_add(c, store, key);
	return true;
}

/* The chain, then the mode, the allow-list and the user's callback:
 * 1 to go on, 0 to refuse. */
static int
judge_chain(X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mtls *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	bool admitted, chain_ok;

	if (c == NULL)
		return X509_verify_cert(store);
	chain_ok = verify_chain(c, store);
	if (!chain_ok && !tolerates_bad_chain(c)) {
		remember_refusal(c, X509_STORE_CTX_get0_cert(store));
		return 0;
	}
	c->chain_tolerated = !chain_ok;
	c->pending_cert = X509_STORE_CTX_get0_cert(store);
	c->pending_chain = X509_STORE_CTX_get0_chain(store);
	c->pending_chain_ok = chain_ok;
	admitted = policy_admits(c, c->pending_cert, chain_ok);
	if (!admitted)
		remember_refusal(c, c->pending_cert);
	c->pending_cert = NULL;
	c->pending_chain = NULL;
	if (!admitted) {
		c->policy_rejected = true;
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	/* A tolerated failure keeps its error: SSL_get_verify_result shows it. */
	return 1;
}

/*
 * Replaces OpenSSL's chain check (SSL_CTX_set_cert_verify_callback): the
 * chain is verified as usual, then the mode, the allow-list and the user's
 * callback decide.  A refusal becomes X509_V_ERR_CERT_REJECTED, which the
 * peer receives as a bad_certificate alert.
 */
int
mtls_cert_verify_cb(X509_STORE_CTX *store, void *arg)
{
	int ok;

	mtls_callback_enter();
	ok = judge_chain(store);
	mtls_callback_leave(ok != 1);
	return ok;
}

/*
 * A server about to resume a session from a ticket: the peer it was made
 * with must still pass the mode, the allow-list and the callback (the
 * config may have changed since).  If not, the ticket is ignored and the
 * full handshake that follows refuses the peer with an alert.
 */
bool
mtls_policy_admits_resumption(struct mtls *c, X509 *cert, bool chain_ok)
{
	bool admitted;

	/* The mode first: the session may come from a laxer config. */
	if (cert == NULL ? c->cfg->verify_client == MTLS_VERIFY_CLIENT_REQUIRED &&
	    !c->cfg->insecure_noverify : !chain_ok && !tolerates_bad_chain(c))
		return false;
	c->pending_cert = cert;
	c->pending_chain_ok = chain_ok;
	admitted = policy_admits(c, cert, chain_ok);
	c->pending_cert = NULL;
	if (!admitted) {
		/* The full handshake decides about the certificate it gets. */
		remember_refusal(c, cert);
		c->policy_done = false;
		mtls_peer_free(&c->peer);
	}
	return admitted;
}

/*
 * A resumed session (or a peer without a certificate) skipped the chain
 * check: apply the allow-list and the callback now.  There is no alert to
 * send any more; the connection is dropped.
 */
int
mtls_policy_after_handshake(struct mtls *c)
{
	X509 *cert;
	bool chain_ok;

	if (c->policy_done)
		return 0;
	cert = SSL_get0_peer_certificate(c->ssl);
	chain_ok = cert != NULL && SSL_get_verify_result(c->ssl) == X509_V_OK;
	if (cert == NULL && c->cfg->verify_fn == NULL)
		return 0;
	if (policy_admits(c, cert, chain_ok))
		return 0;
	c->policy_rejected = true;
	c->fatal = true;
	return CONN_FAIL(c, MTLS_ERR_NOT_ALLOWED, "%s",
	    mtls_evidence(c)->policy_reason);
}
