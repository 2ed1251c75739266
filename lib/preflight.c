/*
 * preflight.c - checks our own identity before any peer sees it: dates,
 * chain order, CA flags when it is loaded; key usage for the role when a
 * client or server is made.  Problems a peer would refuse are errors;
 * what is merely worth knowing becomes a warning.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "mtls_internal.h"

#define EXPIRY_WARNING_DAYS 14

static void
add_warning(char **warnings, const char *text)
{
	int i;

	for (i = 0; i < MTLS_MAX_WARNINGS; i++)
		if (warnings[i] == NULL) {
			warnings[i] = strdup(text);
			return;
		}
}

static void
free_warnings(char **warnings)
{
	int i;

	for (i = 0; i < MTLS_MAX_WARNINGS; i++) {
		free(warnings[i]);
		warnings[i] = NULL;
	}
}

void
mtls_warnings_free(struct mtls_config *cfg)
{
	free_warnings(cfg->warnings);
}

void
mtls_identity_notes_warn(struct mtls_identity_notes *notes, const char *text)
{
	add_warning(notes->warnings, text);
}

void
mtls_identity_notes_free(struct mtls_identity_notes *notes)
{
	free_warnings(notes->warnings);
}

/* Counts the warnings in a list, steps index past them; the index-th
 * warning when it is in the list. */
static const char *
nth_warning(char **warnings, size_t *index)
{
	size_t n = 0;

	while (n < MTLS_MAX_WARNINGS && warnings[n] != NULL)
		n++;
	if (*index < n)
		return warnings[*index];
	*index -= n;
	return NULL;
}

/* Each identity's warnings in the order they were loaded, then the role
 * checks'. */
MTLS_EXPORT const char *
mtls_config_warning(struct mtls_config *cfg, size_t index)
{
	const char *w = NULL;

	for (int i = 0; cfg != NULL && w == NULL && i < cfg->id_count; i++)
		w = nth_warning(cfg->ids[i].notes.warnings, &index);
	if (cfg != NULL && w == NULL)
		w = nth_warning(cfg->warnings, &index);
	return w;
}

/*
 * A problem peers would refuse: an error, or only a warning (added to
 * warnings) after mtls_config_insecure_allow_bad_identity (for probing how
 * peers react).
 */
static int
problem(struct mtls_config *cfg, char **warnings, const char *fmt, ...)
{
	char text[MTLS_ERRBUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (cfg->allow_bad_identity) {
		add_warning(warnings, text);
		return 0;
	}
	return CFG_FAIL(cfg, MTLS_ERR_BAD_IDENTITY, "%s", text);
}

MTLS_EXPORT int
mtls_config_insecure_allow_bad_identity(struct mtls_config *cfg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	cfg->allow_bad_identity = true;
	return RECORDED(0, cfg, mtls_config_insecure_allow_bad_identity, "");
}

static int
check_dates(struct mtls_config *cfg, char **warnings, X509 *leaf,
    const char *subject, const char *name)
{
	time_t soon = time(NULL) + EXPIRY_WARNING_DAYS * 86400;
	char text[600];
	int days = 0, secs = 0;

	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
		return problem(cfg, warnings, "certificate '%s' in '%s' has "
		    "expired: peers will refuse it; renew it", subject, name);
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0)
		return problem(cfg, warnings, "certificate '%s' in '%s' is not "
		    "valid yet: peers will refuse it (check the clock, or its "
		    "notBefore date)", subject, name);
	if (X509_cmp_time(X509_get0_notAfter(leaf), &soon) < 0) {
		ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf));
		snprintf(text, sizeof(text), "certificate '%s' in '%s' expires in %d "
		    "day%s: renew it soon", subject, name, days, days == 1 ? "" : "s");
		add_warning(warnings, text);
	}
	return 0;
}

/* The leaf first, then each certificate's issuer (RFC 8446, 4.4.2). */
static int
check_chain(struct mtls_config *cfg, char **warnings, X509 *leaf,
    STACK_OF(X509) *chain, const char *name)
{
	X509 *child = leaf;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *ca = sk_X509_value(chain, i);
		char ca_dn[256], child_dn[256];

		mtls_format_dn(X509_get_subject_name(ca), ca_dn, sizeof(ca_dn));
		mtls_format_dn(X509_get_subject_name(child), child_dn,
		    sizeof(child_dn));
		if (X509_check_ca(ca) == 0)
			return problem(cfg, warnings, "'%s' in the chain of '%s' "
			    "is not a CA certificate, so it cannot vouch for '%s'",
			    ca_dn, name, child_dn);
		if (X509_check_issued(ca, child) != X509_V_OK)
			return problem(cfg, warnings, "the chain in '%s' is out "
			    "of order: '%s' did not issue '%s' (list the certificate "
			    "first, then its issuer, then that one's)", name, ca_dn,
			    child_dn);
		child = ca;
	}
	return 0;
}

int
mtls_preflight_identity(struct mtls_config *cfg, X509 *leaf,
    STACK_OF(X509) *chain, const char *name,
    struct mtls_identity_notes *notes)
{
	char subject[256];

	mtls_format_dn(X509_get_subject_name(leaf), subject, sizeof(subject));
	snprintf(notes->desc, sizeof(notes->desc), "certificate '%s' from '%s'",
	    subject, name);
	if (check_dates(cfg, notes->warnings, leaf, subject, name) != 0 ||
	    check_chain(cfg, notes->warnings, leaf, chain, name) != 0) {
		mtls_identity_notes_free(notes);
		return -1;
	}
	return 0;
}

/* Each identity of from, judged on cfg's terms. */
static int
check_identities_role(struct mtls_config *cfg, struct mtls_config *from,
    bool server)
{
	for (int i = 0; i < from->id_count; i++) {
		if (X509_check_purpose(from->ids[i].leaf, server ?
		    X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT, 0) == 1)
			continue;
		if (problem(cfg, cfg->warnings, "%s is not allowed for a TLS %s: "
		    "its key usage or extended key usage lacks %s, so peers will "
		    "refuse it", from->ids[i].notes.desc, server ? "server" :
		    "client", server ? "serverAuth" : "clientAuth") != 0)
			return -1;
	}
	return 0;
}

/* The config's identities, and a server's for the names clients ask for. */
static int
check_role(struct mtls_config *cfg, bool server)
{
	if (check_identities_role(cfg, cfg, server) != 0)
		return -1;
	for (size_t i = 0; server && i < cfg->sni_count; i++)
		if (check_identities_role(cfg, cfg->sni[i].identities, true) != 0)
			return -1;
	return 0;
}

/*
 * The key usage and extended key usage must allow the role we play.
 * Checked once per role: a config shared by threads that each make
 * clients gets its warning once, under the lock.
 */
int
mtls_preflight_role(struct mtls_config *cfg, bool server)
{
	int rc = 0;

	pthread_mutex_lock(&cfg->check_lock);
	if (!cfg->role_ok[server] && (rc = check_role(cfg, server)) == 0)
		cfg->role_ok[server] = true;
	pthread_mutex_unlock(&cfg->check_lock);
	return rc;
}

/* What a TLS role needs of cfg: trust anchors unless verification is off,
 * an identity for a server, and one whose key usage allows the role. */
int
mtls_check_tls_role(struct mtls_config *cfg, enum mtls_role role)
{
	ENSURE_CFG(cfg->have_trust || cfg->insecure_noverify ||
	    (role == ROLE_SERVER &&
	    cfg->verify_client == MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), cfg,
	    MTLS_ERR_INVALID, "no trust anchors configured, so no %s "
	    "certificate could ever verify: set a CA file "
	    "(mtls_config_set_ca_file) or the system store",
	    role == ROLE_CLIENT ? "server" : "client");
	ENSURE_CFG(role != ROLE_SERVER || cfg->id_count > 0, cfg,
	    MTLS_ERR_INVALID, "a server needs a certificate and key: set them "
	    "first (mtls_config_set_cert_file or mtls_config_set_p12_file)");
	return mtls_preflight_role(cfg, role == ROLE_SERVER);
}
