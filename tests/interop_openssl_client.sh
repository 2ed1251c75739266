#!/bin/sh
# interop_openssl_client.sh - `openssl s_client`, the seed articles'
# troubleshooting tool, against the mtls-echo server.
#
# What it shows: a libmtls server talks to OpenSSL's own client in TLS 1.3
# and 1.2, advertises its CA names in the certificate request (what the
# seed article reads as "Acceptable client certificate CA names"), and
# names the cause in its log when it refuses a client, a client that
# tries to renegotiate included.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
need_mtls_echo

# s_client NAME ARG...: s_client to the server, verifying it, sending "hi".
# -quiet implies -ign_eof, so s_client waits for the server's answer and
# close_notify instead of leaving when its input ends; `run` bounds it.
s_client() {
	local name=$1
	shift
	RUN_INPUT=$'hi\n' run "$name" "$OPENSSL" s_client \
	    -connect "127.0.0.1:$SERVER_PORT" -servername localhost \
	    -verify_return_error "$@"
}

# answered NAME: the server greeted our certificate and echoed our line.
answered() {
	expect_contains "$tmp/$1.out" "hello client, you said: hi"
	say "ok: $1"
}

# refused NAME TEXT: no greeting, and the server's log says TEXT.
refused() {
	expect_not_contains "$tmp/$1.out" "hello"
	expect_server_log "$tmp/srv.err" "$2" "$SERVER_PID"
	say "ok: $1: server: $2"
}

ID=(-cert "$PKI/client.crt" -key "$PKI/client.key")

start_echo_server srv --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt"

s_client tls13 "${ID[@]}" -CAfile "$PKI/ca.crt" -quiet
answered tls13
expect_server_log "$tmp/srv.out" \
    "subject=CN=client,OU=testers,O=libmtls test" "$SERVER_PID"
expect_contains "$tmp/srv.out" "verified=yes"
expect_contains "$tmp/srv.out" "version=TLSv1.3"

mark_log "$tmp/srv.out"
s_client tls12 "${ID[@]}" -CAfile "$PKI/ca.crt" -quiet -tls1_2
answered tls12
expect_server_log "$tmp/srv.out" "version=TLSv1.2" "$SERVER_PID"

# Every cipher suite a server offers for an ECDSA certificate (OpenSSL's
# DEFAULT list):
# the library's SSL_CTXs get their ciphers through a provider of their own
# (lib/libctx.c), which must leave none of these out.
for suite in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 \
    TLS_AES_128_GCM_SHA256; do
	mark_log "$tmp/srv.out"
	s_client "$suite" "${ID[@]}" -CAfile "$PKI/ca.crt" -quiet \
	    -ciphersuites "$suite"
	answered "$suite"
	expect_server_log "$tmp/srv.out" "cipher=$suite" "$SERVER_PID"
done
for suite in ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305 \
    ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-SHA384 \
    ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA; do
	mark_log "$tmp/srv.out"
	s_client "$suite" "${ID[@]}" -CAfile "$PKI/ca.crt" -quiet -tls1_2 \
	    -cipher "$suite"
	answered "$suite"
	expect_server_log "$tmp/srv.out" "cipher=$suite" "$SERVER_PID"
done

# The seed article's check: the server asks for a certificate and names
# the CA it accepts.  Without -quiet s_client prints the handshake.
s_client canames "${ID[@]}" -CAfile "$PKI/ca.crt" -ign_eof
answered canames
expect_contains "$tmp/canames.out" "Acceptable client certificate CA names"
expect_contains "$tmp/canames.out" "CN = libmtls Test Root CA"
expect_contains "$tmp/canames.out" "Verify return code: 0 (ok)"

mark_log "$tmp/srv.err"
s_client nocert -CAfile "$PKI/ca.crt" -quiet
refused nocert "client presented no certificate"

mark_log "$tmp/srv.err"
s_client nocert12 -CAfile "$PKI/ca.crt" -quiet -tls1_2
refused nocert12 "client presented no certificate"

mark_log "$tmp/srv.err"
s_client selfsigned -cert "$PKI/selfsigned.crt" -key "$PKI/selfsigned.key" \
    -CAfile "$PKI/ca.crt" -quiet
refused selfsigned "client certificate not trusted"

mark_log "$tmp/srv.err"
s_client other -cert "$PKI/other-client.crt" -key "$PKI/other-client.key" \
    -CAfile "$PKI/ca.crt" -quiet
refused other "client certificate not trusted"

mark_log "$tmp/srv.err"
s_client notyet -cert "$PKI/client-notyet.crt" -key "$PKI/client-notyet.key" \
    -CAfile "$PKI/ca.crt" -quiet
refused notyet "client certificate not trusted"

# "R" asks s_client (without -quiet, which turns its commands off) to
# renegotiate: the server refuses, and says so rather than "no common TLS
# version or cipher" from the client's handshake_failure alert.
mark_log "$tmp/srv.err"
RUN_INPUT=$'R\n' run renegotiate "$OPENSSL" s_client \
    -connect "127.0.0.1:$SERVER_PORT" -servername localhost -tls1_2 \
    "${ID[@]}" -CAfile "$PKI/ca.crt"
expect_contains "$tmp/renegotiate.err" "RENEGOTIATING"
expect_server_log "$tmp/srv.err" \
    "the client tried to renegotiate the TLS session, and renegotiation is refused" \
    "$SERVER_PID"
expect_not_contains "$tmp/srv.err" "no common TLS version"
say "ok: renegotiate: server: renegotiation refused"
stop_bg "$SERVER_PID"

# The seed article's set, with its combined PEM as s_client's -cert (the
# key is read from the same file).
S=$PKI/seed
start_echo_server srv --cert "$S/server.crt" --key "$S/server.key" \
    --cacert "$S/ca.crt"
s_client seed -cert "$S/combined.pem" -CAfile "$S/ca.crt" -ign_eof
answered seed
expect_contains "$tmp/seed.out" "Acceptable client certificate CA names"
expect_contains "$tmp/seed.out" "CN = my-ca"
stop_bg "$SERVER_PID"

exit 0
