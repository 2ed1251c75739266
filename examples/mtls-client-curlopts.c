/*
 * mtls-client-curlopts.c - curl's options that mtls-client does not
 * have, each with what to use instead, and the edit distance that
 * matches a mistyped option with the name it looks like.  The table is
 * the one mtls-client(1) shows as "curl option -> what to use".
 */
#include <stddef.h>
#include <string.h>

#include "mtls-client.h"

/* curl's options that mtls-client does not have, and what to use. */
const struct unsupported unsupported[] = {
	{ '0', "http1.0", "mtls-client speaks HTTP/1.1 only (--http1.1)" },
	{ 0, "http2", "mtls-client speaks HTTP/1.1 only: use --http1.1, or "
	    "leave it out (HTTP/1.1 is the default)" },
	{ 0, "http2-prior-knowledge", "mtls-client speaks HTTP/1.1 only: use "
	    "--http1.1" },
	{ 0, "http3", "mtls-client speaks HTTP/1.1 only: use --http1.1" },
	{ 0, "http3-only", "mtls-client speaks HTTP/1.1 only: use --http1.1" },
	{ 0, "http0.9", "mtls-client speaks HTTP/1.1 only" },
	{ '2', "sslv2", "libmtls speaks TLS 1.2 and 1.3 only: use --tlsv1.2" },
	{ '3', "sslv3", "libmtls speaks TLS 1.2 and 1.3 only: use --tlsv1.2" },
	{ 0, "engine", "a key in a token needs no --engine: give --key "
	    "\"pkcs11:token=...;object=...\" (OpenSSL's pkcs11 engine is "
	    "used for it); other engines are not supported" },
	{ 0, "cert-status", "OCSP stapling is not checked: use --crlfile "
	    "for revocation" },
	{ 0, "ssl-no-revoke", "a Schannel option: use --crlfile to check "
	    "revocation, or leave it out" },
	{ 0, "ssl-revoke-best-effort", "a Schannel option: use --crlfile" },
	{ 0, "ssl-auto-client-cert", "a Schannel option: give --cert" },
	{ 0, "ssl-allow-beast", "TLS 1.0 is not spoken at all" },
	{ 0, "false-start", "not in OpenSSL" },
	{ 0, "tlsauthtype", "TLS-SRP is not supported: use --cert" },
	{ 0, "tlsuser", "TLS-SRP is not supported: use --cert" },
	{ 0, "tlspassword", "TLS-SRP is not supported: use --cert" },
	{ 0, "ssl", "mtls-client speaks https:// only, always over TLS" },
	{ 0, "ssl-reqd", "mtls-client speaks https:// only, always over TLS" },
	{ 0, "egd-file", "OpenSSL seeds itself" },
	{ 0, "random-file", "OpenSSL seeds itself" },
	{ 0, "doh-url", "use --resolve HOST:PORT:ADDRESS" },
	{ 0, "dns-servers", "use --resolve HOST:PORT:ADDRESS" },
	{ 0, "compressed", "mtls-client decodes no Content-Encoding: send "
	    "-H 'Accept-Encoding: gzip' and decompress the output yourself" },
	{ 0, "tr-encoding", "mtls-client decodes no compressed transfer "
	    "encoding" },
	{ 'F', "form", "multipart forms are not supported: use -d or "
	    "--data-urlencode, or a body you built with --data-binary @FILE "
	    "-H 'Content-Type: multipart/form-data; boundary=...'" },
	{ 0, "form-string", "use --data-urlencode" },
	{ 'T', "upload-file", "use -X PUT --data-binary @FILE" },
	{ 'c', "cookie-jar", "cookies are not kept: read Set-Cookie with "
	    "-D FILE and send one with -b NAME=VALUE" },
	{ 'j', "junk-session-cookies", "cookies are not kept from files" },
	{ 'n', "netrc", "use -u USER:PASSWORD" },
	{ 0, "netrc-file", "use -u USER:PASSWORD" },
	{ 0, "netrc-optional", "use -u USER:PASSWORD" },
	{ 0, "digest", "only Basic authentication: -u USER:PASSWORD" },
	{ 0, "ntlm", "only Basic authentication: -u USER:PASSWORD" },
	{ 0, "ntlm-wb", "only Basic authentication: -u USER:PASSWORD" },
	{ 0, "negotiate", "only Basic authentication: -u USER:PASSWORD" },
	{ 0, "anyauth", "only Basic authentication: -u USER:PASSWORD" },
	{ 0, "aws-sigv4", "sign the request yourself and pass -H" },
	{ 0, "proxy-anyauth", "only Basic proxy authentication: -U" },
	{ 0, "proxy-digest", "only Basic proxy authentication: -U" },
	{ 0, "proxy-ntlm", "only Basic proxy authentication: -U" },
	{ 0, "proxy-negotiate", "only Basic proxy authentication: -U" },
	{ 0, "proxy1.0", "use -x http://HOST:PORT (CONNECT over HTTP/1.1)" },
	{ 0, "preproxy", "one HTTP proxy only: -x" },
	{ 0, "socks4", "only HTTP proxies (CONNECT): -x http://HOST:PORT" },
	{ 0, "socks4a", "only HTTP proxies (CONNECT): -x http://HOST:PORT" },
	{ 0, "socks5", "only HTTP proxies (CONNECT): -x http://HOST:PORT" },
	{ 0, "socks5-hostname", "only HTTP proxies (CONNECT): -x" },
	{ 0, "proxy-cacert", "HTTPS proxies are not supported: -x http://" },
	{ 0, "proxy-capath", "HTTPS proxies are not supported: -x http://" },
	{ 0, "proxy-cert", "HTTPS proxies are not supported: -x http://" },
	{ 0, "proxy-key", "HTTPS proxies are not supported: -x http://" },
	{ 0, "proxy-insecure", "HTTPS proxies are not supported: -x http://" },
	{ 0, "proxy-pinnedpubkey", "HTTPS proxies are not supported" },
	{ 0, "haproxy-protocol", "not supported" },
	{ 'C', "continue-at", "use -r START- and append the output yourself" },
	{ 0, "limit-rate", "not supported" },
	{ 'Y', "speed-limit", "use -m SECONDS" },
	{ 'y', "speed-time", "use -m SECONDS" },
	{ 0, "max-filesize", "not supported" },
	{ 0, "interface", "not supported: the system picks the source address" },
	{ 0, "local-port", "not supported" },
	{ 0, "abstract-unix-socket", "use --unix-socket PATH" },
	{ 'Z', "parallel", "one URL at a time: run several mtls-client" },
	{ 0, "next", "one URL at a time: run several mtls-client" },
	{ 'R', "remote-time", "not supported" },
	{ 0, "no-clobber", "use -J (which never overwrites) or -o FILE" },
	{ 0, "remove-on-error", "not supported" },
	{ 0, "xattr", "not supported" },
	{ 0, "etag-save", "read ETag with -D FILE" },
	{ 0, "etag-compare", "send -H 'If-None-Match: ...'" },
	{ 'z', "time-cond", "send -H 'If-Modified-Since: ...'" },
	{ 0, "alt-svc", "mtls-client speaks HTTP/1.1 only" },
	{ 0, "hsts", "mtls-client speaks https:// only" },
	{ 0, "libcurl", "mtls-client is not libcurl: see libmtls(3)" },
	{ 'M', "manual", "see mtls-client(1): man mtls-client" },
	{ 0, "proto", "mtls-client speaks https:// only" },
	{ 0, "proto-redir", "redirects are followed to https:// only" },
	{ 0, "proto-default", "a URL without a scheme is https://" },
	{ 0, "raw", "not supported" },
	{ 0, "ignore-content-length", "not supported" },
	{ 0, "expect100-timeout", "no Expect: 100-continue is sent" },
	{ 0, "crlf", "an FTP option" },
	{ 0, "happy-eyeballs-timeout-ms", "addresses are tried in turn" },
	{ 0, "keepalive-time", "not supported" },
	{ 0, "tcp-fastopen", "not supported" },
	{ 0, "styled-output", "headers are written unstyled" },
	{ 0, "variable", "not supported" },
};
#define NUNSUPPORTED (sizeof(unsupported) / sizeof(unsupported[0]))
const size_t nunsupported = NUNSUPPORTED;

/* Edit distance, for "did you mean". */
size_t
option_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = d[0], up;

		d[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = d[j];
			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			diag = up;
			d[j] = best;
		}
	}
	return d[lb];
}
