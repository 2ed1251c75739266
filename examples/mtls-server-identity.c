/*
 * mtls-server-identity.c - the client's identity as nginx's $ssl_client_*
 * variables show it, for the answer without --root or --proxy, the access
 * log, and the headers --proxy sends its backend (as nginx's
 * proxy_set_header lines with those variables would).
 *
 * Each value is written the way nginx writes its variable, so that a
 * backend moved from behind nginx reads the same strings: verdicts as
 * $ssl_client_verify, dates as ASN1_TIME_print ($ssl_client_v_start:
 * "Dec  5 10:00:00 2026 GMT"), the certificate URL-encoded as
 * $ssl_client_escaped_cert, the SHA-1 fingerprint as
 * $ssl_client_fingerprint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mtls-server.h"

void
client_verify(struct mtls *c, char *buf, size_t len)
{
	if (!mtls_peer_cert_provided(c))
		snprintf(buf, len, "NONE");
	else if (mtls_peer_cert_verified(c))
		snprintf(buf, len, "SUCCESS");
	else
		snprintf(buf, len, "FAILED:%s", mtls_peer_verify_error(c) ?
		    mtls_peer_verify_error(c) : "unknown");
}

/* A time as ASN1_TIME_print writes a certificate's (nginx's
 * $ssl_client_v_start and _v_end); "" for none. */
static void
asn1_time_text(time_t t, char *buf, size_t len)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "%s %2d %02d:%02d:%02d %d GMT", months[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* nginx's $ssl_client_v_remain: whole days until the certificate
 * expires, 0 in its last day and after. */
static long
days_left(time_t not_after)
{
	time_t now = time(NULL);

	if (not_after == (time_t)-1 || not_after < now + 86400)
		return 0;
	return (long)((not_after - now) / 86400);
}

/* The certificate's DER from its PEM, into *der (malloc'ed). */
static int
pem_to_der(const char *pem, unsigned char **der, int *len)
{
	const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
	const char *end = begin ? strstr(begin, "-----END CERTIFICATE-----") : NULL;
	EVP_ENCODE_CTX *ctx;
	int n = 0, last = 0, ok;

	if (end == NULL || (begin = strchr(begin, '\n')) == NULL || begin > end)
		return -1;
	if ((*der = malloc((size_t)(end - begin))) == NULL)
		return -1;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL) {
		free(*der);
		return -1;
	}
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, *der, &n, (const unsigned char *)begin,
	    (int)(end - begin)) >= 0 && EVP_DecodeFinal(ctx, *der + n, &last) == 1;
	EVP_ENCODE_CTX_free(ctx);
	if (!ok) {
		free(*der);
		return -1;
	}
	*len = n + last;
	return 0;
}

/* nginx's $ssl_client_fingerprint: the SHA-1 of the certificate's DER in
 * lower-case hex, no colons; "" without one. */
static void
fingerprint_sha1(struct mtls *c, char *buf, size_t len)
{
	const char *pem = mtls_peer_cert_pem(c);
	unsigned char *der, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int derlen;

	buf[0] = '\0';
	if (pem == NULL || pem_to_der(pem, &der, &derlen) != 0)
		return;
	if (EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha1(), NULL) == 1)
		for (unsigned int i = 0; i < mdlen && 2 * i + 2 < len; i++)
			snprintf(buf + 2 * i, 3, "%02x", md[i]);
	free(der);
}

/* nginx's $ssl_client_escaped_cert: the PEM with every byte but
 * A-Z a-z 0-9 - . _ ~ written %XX (ngx_escape_uri's URI component); NULL
 * without a certificate or memory. */
static char *
escaped_cert(struct mtls *c)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *pem = mtls_peer_cert_pem(c);
	char *out, *o;

	if (pem == NULL || (o = out = malloc(strlen(pem) * 3 + 1)) == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)pem; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '%';
		*o++ = hex[*p >> 4];
		*o++ = hex[*p & 15];
	}
	*o = '\0';
	return out;
}

/*
 * The headers a backend gets, each named for nginx's variable it carries
 * (X-SSL-Client-S-DN: $ssl_client_s_dn), with "-" for a value the client
 * has not (no certificate).  The fingerprints are named for their hash:
 * nginx's $ssl_client_fingerprint is SHA-1, libmtls's fingerprint
 * SHA-256.  The unsuffixed X-SSL-Client-Fingerprint, which could be read
 * as either, is no longer sent, but a client's request still loses it, as
 * it loses every name here: a backend that trusted it must not get a
 * forged one.
 */
const char *const identity_header_names[] = { "X-SSL-Client-Verify",
    "X-SSL-Client-S-DN", "X-SSL-Client-I-DN", "X-SSL-Client-Serial",
    "X-SSL-Client-Fingerprint-SHA256", "X-SSL-Client-Fingerprint-SHA1",
    "X-SSL-Client-Escaped-Cert", "X-SSL-Client-V-Start",
    "X-SSL-Client-V-End", "X-SSL-Client-V-Remain", "X-Real-IP",
    "X-Forwarded-Proto", "X-Forwarded-For",
    "X-SSL-Client-Fingerprint",     /* removed, never sent */
    NULL };

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

int
identity_headers(struct mtls *c, const char *addr,
    char *lines[IDENTITY_HEADERS + 1])
{
	char verify[300], sha1[48], start[40], end[40], remain[24];
	const char *sha256 = or_dash(mtls_peer_fingerprint_sha256(c));
	char *cert = escaped_cert(c);
	const char *values[IDENTITY_HEADERS];
	int rc = 0;

	client_verify(c, verify, sizeof(verify));
	fingerprint_sha1(c, sha1, sizeof(sha1));
	asn1_time_text(mtls_peer_not_before(c), start, sizeof(start));
	asn1_time_text(mtls_peer_not_after(c), end, sizeof(end));
	snprintf(remain, sizeof(remain), "%ld", days_left(mtls_peer_not_after(c)));
	values[0] = verify;
	values[1] = or_dash(mtls_peer_subject(c));
	values[2] = or_dash(mtls_peer_issuer(c));
	values[3] = or_dash(mtls_peer_serial(c));
	values[4] = sha256;
	values[5] = or_dash(sha1);
	values[6] = or_dash(cert);
	values[7] = or_dash(start);
	values[8] = or_dash(end);
	values[9] = mtls_peer_cert_pem(c) != NULL ? remain : "-";
	values[10] = addr;
	values[11] = "https";
	/* Set, not appended to: a client's own list is not to be believed. */
	values[12] = addr;
	for (int i = 0; i < IDENTITY_HEADERS; i++) {
		lines[i] = NULL;
		if (rc == 0 && asprintf(&lines[i], "%s: %s",
		    identity_header_names[i], values[i]) < 0) {
			lines[i] = NULL;
			rc = -1;
		}
	}
	lines[IDENTITY_HEADERS] = NULL;
	free(cert);
	return rc;
}

void
identity_headers_free(char *lines[IDENTITY_HEADERS + 1])
{
	for (int i = 0; i < IDENTITY_HEADERS; i++)
		free(lines[i]);
}
