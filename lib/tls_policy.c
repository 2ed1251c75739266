/*
 * tls_policy.c - the TLS policy a config brings with it, with the names
 * nginx and curl give it: the protocol range (ssl_protocols, --tlsv1.2,
 * --tls-max), the TLS 1.2 cipher list (ssl_ciphers, --ciphers), the TLS
 * 1.3 suites (--tls13-ciphers) and the key-exchange groups
 * (ssl_ecdh_curve, --curves).  Each list is checked element by element
 * on a scratch context before the config changes, because OpenSSL skips
 * names it does not know: a typo would otherwise go unnoticed, or leave a
 * config with less than was asked for.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mtls_internal.h"

#define MAX_POLICY_LIST 2048

static const char *
version_name(long version)
{
	return version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2";
}

/* The range after one end changes: min no higher than max (0: none). */
static int
check_range(struct mtls_config *cfg, long min, long max)
{
	ENSURE_CFG(max == 0 || min <= max, cfg, MTLS_ERR_INVALID, "the TLS "
	    "version range would be empty: the minimum %s is above the "
	    "maximum %s", version_name(min), version_name(max));
	return 0;
}

static bool
is_version(int version)
{
	return version == MTLS_TLS1_2 || version == MTLS_TLS1_3;
}

MTLS_EXPORT int
mtls_config_set_min_version(struct mtls_config *cfg, int version)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(is_version(version), cfg, MTLS_ERR_INVALID, "unsupported "
	    "minimum TLS version 0x%04x: use MTLS_TLS1_2 or MTLS_TLS1_3",
	    (unsigned)version);
	if (check_range(cfg, version,
	    SSL_CTX_get_max_proto_version(cfg->ctx)) != 0)
		return -1;
	SSL_CTX_set_min_proto_version(cfg->ctx, version);
	return RECORDED(0, cfg, mtls_config_set_min_version, "i", version);
}

MTLS_EXPORT int
mtls_config_set_max_version(struct mtls_config *cfg, int version)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(is_version(version), cfg, MTLS_ERR_INVALID, "unsupported "
	    "maximum TLS version 0x%04x: use MTLS_TLS1_2 or MTLS_TLS1_3",
	    (unsigned)version);
	if (check_range(cfg, SSL_CTX_get_min_proto_version(cfg->ctx),
	    version) != 0)
		return -1;
	SSL_CTX_set_max_proto_version(cfg->ctx, version);
	return RECORDED(0, cfg, mtls_config_set_max_version, "i", version);
}

/* The kinds of list, how one element is tried, and how a list is set. */
enum policy_list { LIST_CIPHERS, LIST_SUITES, LIST_GROUPS };

static const struct {
	const char *what;           /* for messages */
	const char *hint;           /* where the names come from */
} list_kinds[] = {
	[LIST_CIPHERS] = { "TLS 1.2 cipher", "see 'openssl ciphers -v "
	    "\"ECDHE:!aNULL\"'" },
	[LIST_SUITES] = { "TLS 1.3 cipher suite", "TLS_AES_128_GCM_SHA256, "
	    "TLS_AES_256_GCM_SHA384 or TLS_CHACHA20_POLY1305_SHA256" },
	[LIST_GROUPS] = { "key exchange group", "for example X25519, "
	    "P-256, P-384, P-521, X448 or ffdhe2048" },
};

/* How many ciphers of TLS 1.3 (tls13: their key exchange is not part of
 * the suite) or before it ctx has. */
static int
count_ciphers(SSL_CTX *ctx, bool tls13)
{
	STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx);
	int n = 0;

	for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);

		if ((SSL_CIPHER_get_kx_nid(c) == NID_kx_any) == tls13)
			n++;
	}
	return n;
}

/* Sets list of kind on ctx: 1 when OpenSSL took it and it names at least
 * one cipher, suite or group of its kind. */
static int
apply_list(SSL_CTX *ctx, enum policy_list kind, const char *list)
{
	switch (kind) {
	case LIST_CIPHERS:
		return SSL_CTX_set_cipher_list(ctx, list) == 1 &&
		    count_ciphers(ctx, false) > 0;
	case LIST_SUITES:
		return SSL_CTX_set_ciphersuites(ctx, list) == 1 &&
		    count_ciphers(ctx, true) > 0;
	case LIST_GROUPS:
		return SSL_CTX_set1_groups_list(ctx, list) == 1;
	}
	return 0;
}

/* Whether a cipher-list element only changes what the others chose
 * ("!aNULL", "-RSA", "+SHA", "@STRENGTH"): it is not tried alone. */
static bool
is_modifier(enum policy_list kind, const char *element)
{
	return kind == LIST_CIPHERS && strchr("!-+@", element[0]) != NULL;
}

/*
 * Tries each element of list (separated by ':', or ',' and ' ' in cipher
 * lists, as OpenSSL reads them) alone on scratch: the first one that names
 * nothing fails, quoted.
 */
static int
check_elements(struct mtls_config *cfg, SSL_CTX *scratch,
    enum policy_list kind, const char *list)
{
	const char *seps = kind == LIST_CIPHERS ? ":, " : ":";
	char copy[MAX_POLICY_LIST], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *e = strtok_r(copy, seps, &save); e != NULL;
	    e = strtok_r(NULL, seps, &save)) {
		if (is_modifier(kind, e) || apply_list(scratch, kind, e))
			continue;
		ERR_clear_error();
		return CFG_FAIL(cfg, MTLS_ERR_INVALID, "unknown %s '%s' in '%s' "
		    "(%s)", list_kinds[kind].what, e, list, list_kinds[kind].hint);
	}
	return 0;
}

static int
set_list(struct mtls_config *cfg, enum policy_list kind, const char *list)
{
	SSL_CTX *scratch;
	int rc = -1;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(list != NULL && *list != '\0' &&
	    strlen(list) < MAX_POLICY_LIST, cfg, MTLS_ERR_INVALID, "no %s list "
	    "given (or one over %d bytes)", list_kinds[kind].what,
	    MAX_POLICY_LIST - 1);
	if ((scratch = SSL_CTX_new_ex(mtls_libctx(), NULL, TLS_method())) == NULL)
		return CFG_FAIL_SSL(cfg, mtls_ssl_failure_code(), "cannot check "
		    "the %s list", list_kinds[kind].what);
	if (check_elements(cfg, scratch, kind, list) == 0) {
		if (apply_list(scratch, kind, list))
			rc = apply_list(cfg->ctx, kind, list) ? 0 :
			    CFG_FAIL_SSL(cfg, MTLS_ERR_TLS, "OpenSSL refused the "
			    "%s list '%s'", list_kinds[kind].what, list);
		else
			rc = CFG_FAIL(cfg, MTLS_ERR_INVALID, "the %s list '%s' "
			    "leaves none (%s)", list_kinds[kind].what, list,
			    list_kinds[kind].hint);
	}
	SSL_CTX_free(scratch);
	ERR_clear_error();
	return rc;
}

MTLS_EXPORT int
mtls_config_set_ciphers(struct mtls_config *cfg, const char *ciphers)
{
	return RECORDED(set_list(cfg, LIST_CIPHERS, ciphers), cfg, mtls_config_set_ciphers, "s",
	    ciphers);
}

MTLS_EXPORT int
mtls_config_set_ciphersuites(struct mtls_config *cfg, const char *suites)
{
	return RECORDED(set_list(cfg, LIST_SUITES, suites), cfg, mtls_config_set_ciphersuites, "s",
	    suites);
}

MTLS_EXPORT int
mtls_config_set_groups(struct mtls_config *cfg, const char *groups)
{
	return RECORDED(set_list(cfg, LIST_GROUPS, groups), cfg, mtls_config_set_groups, "s",
	    groups);
}
