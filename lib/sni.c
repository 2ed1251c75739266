/*
 * sni.c - the server's answer to the name a client asks for (SNI, RFC
 * 6066): the name is acknowledged, and identities added for it are
 * presented in place of the config's own, as nginx's server blocks do.
 * Only the certificates change; trust and policy stay the config's.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtls_internal.h"

#define MAX_NAME 253                /* a DNS name's longest text */

/*
 * Acknowledges the name (an empty server_name extension in the server's
 * answer), which clients and scanners such as testssl.sh look for; the
 * identity is chosen later, in select_identities, where OpenSSL also
 * knows the client's signature algorithms.
 */
int
mtls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	(void)alert;
	(void)arg;
	return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) != NULL ?
	    SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* How well pattern matches name: 0 not at all; exact names beat any
 * wildcard, and a longer wildcard a shorter one (nginx's order). */
static size_t
match_score(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern), nlen = strlen(name);

	if (strcasecmp(pattern, name) == 0)
		return MAX_NAME + 1;
	if (pattern[0] != '*' || nlen <= plen - 1)
		return 0;
	/* "*.example.org": any name ending in ".example.org" */
	return strcasecmp(name + nlen - (plen - 1), pattern + 1) == 0 ? plen : 0;
}

static struct mtls_config *
lookup(struct mtls_config *cfg, const char *name)
{
	struct mtls_config *best = NULL;
	size_t best_score = 0;

	for (size_t i = 0; i < cfg->sni_count; i++)
		for (size_t j = 0; j < cfg->sni[i].name_count; j++) {
			size_t score = match_score(cfg->sni[i].names[j], name);

			if (score > best_score) {
				best_score = score;
				best = cfg->sni[i].identities;
			}
		}
	return best;
}

/* OpenSSL's certificate callback: runs on every handshake of a config
 * with SNI entries, after the ClientHello is read.  Returns 1, or 0 to
 * end the handshake with an internal_error alert. */
static int
select_identities(SSL *ssl, void *arg)
{
	struct mtls_config *cfg = arg, *named;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (!SSL_is_server(ssl) || name == NULL ||
	    (named = lookup(cfg, name)) == NULL)
		return 1;
	SSL_certs_clear(ssl);
	for (int i = 0; i < named->id_count; i++) {
		struct mtls_own_identity *own = &named->ids[i];

		if (SSL_use_cert_and_key(ssl, own->leaf, own->key, own->chain,
		    1) != 1)
			return 0;
	}
	return 1;
}

static void
entry_free(struct mtls_sni_entry *e)
{
	for (size_t i = 0; i < e->name_count; i++)
		free(e->names[i]);
	free(e->names);
}

void
mtls_sni_free(struct mtls_config *cfg)
{
	for (size_t i = 0; i < cfg->sni_count; i++)
		entry_free(&cfg->sni[i]);
	free(cfg->sni);
	cfg->sni = NULL;
	cfg->sni_count = 0;
}

/* A host name, or "*." and one: letters, digits, '-' and '.' only. */
static bool
valid_name(const char *name)
{
	const char *p = strncmp(name, "*.", 2) == 0 ? name + 2 : name;

	if (*p == '\0' || *p == '.' || strlen(name) > MAX_NAME)
		return false;
	for (; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' &&
		    (*p != '.' || p[1] == '.' || p[1] == '\0'))
			return false;
	return true;
}

/* Whether e lists name, among its first count names. */
static bool
entry_lists(const struct mtls_sni_entry *e, size_t count, const char *name)
{
	for (size_t j = 0; j < count; j++)
		if (strcasecmp(e->names[j], name) == 0)
			return true;
	return false;
}

static bool
name_listed(const struct mtls_config *cfg, const struct mtls_sni_entry *e,
    const char *name)
{
	for (size_t i = 0; i < cfg->sni_count; i++)
		if (entry_lists(&cfg->sni[i], cfg->sni[i].name_count, name))
			return true;
	/* the last of e's names is name itself */
	return entry_lists(e, e->name_count - 1, name);
}

/* Splits names (separated by spaces or commas) into e, checking each. */
static int
parse_names(struct mtls_config *cfg, const char *names,
    struct mtls_sni_entry *e)
{
	const char *p = names;

	while (*p != '\0') {
		size_t len = strcspn(p, " ,");
		char *name, **grown;

		if (len == 0) {
			p++;
			continue;
		}
		if ((name = strndup(p, len)) == NULL ||
		    (grown = realloc(e->names, (e->name_count + 1) *
		    sizeof(*grown))) == NULL) {
			free(name);
			return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
		}
		e->names = grown;
		p += len;
		e->names[e->name_count++] = name;
		ENSURE_CFG(!name_listed(cfg, e, name), cfg, MTLS_ERR_INVALID,
		    "server name '%s' is given twice", name);
		ENSURE_CFG(valid_name(name), cfg, MTLS_ERR_INVALID, "'%s' is not "
		    "a server name (a host name such as www.example.org, or a "
		    "wildcard such as *.example.org)", name);
	}
	ENSURE_CFG(e->name_count > 0, cfg, MTLS_ERR_INVALID, "no server name "
	    "given (say which names these identities are for)");
	return 0;
}

static int
check_named(struct mtls_config *cfg, struct mtls_config *named)
{
	ENSURE_CFG(named != NULL && named != cfg, cfg, MTLS_ERR_INVALID,
	    "no config of identities given for the server names");
	ENSURE_CFG(named->id_count > 0, cfg, MTLS_ERR_INVALID, "the config "
	    "given for the server names holds no identity: load a certificate "
	    "and key into it first");
	ENSURE_CFG(named->sni_count == 0, cfg, MTLS_ERR_INVALID, "the config "
	    "given for the server names has server names of its own; they "
	    "do not nest");
	return 0;
}

MTLS_EXPORT int
mtls_config_add_sni_identity(struct mtls_config *cfg, const char *names,
    struct mtls_config *identities)
{
	struct mtls_sni_entry e = { 0 }, *grown;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(names != NULL, cfg, MTLS_ERR_INVALID, "no server name "
	    "given (say which names these identities are for)");
	if (check_named(cfg, identities) != 0 ||
	    parse_names(cfg, names, &e) != 0) {
		entry_free(&e);
		return -1;
	}
	grown = realloc(cfg->sni, (cfg->sni_count + 1) * sizeof(*grown));
	if (grown == NULL) {
		entry_free(&e);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	/* Its identities are read by every handshake from now on. */
	mtls_config_freeze(identities);
	e.identities = mtls_config_hold(identities);
	cfg->sni = grown;
	cfg->sni[cfg->sni_count++] = e;
	SSL_CTX_set_cert_cb(cfg->ctx, select_identities, cfg);
	/* cfg's recipe keeps a copy of the identities' (with their secrets
	 * until cfg settles); theirs can be wiped now. */
	RECORDED(0, cfg, mtls_config_add_sni_identity, "sc", names, identities);
	mtls_recipe_settle(identities);
	return 0;
}
