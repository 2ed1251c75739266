#!/bin/sh
# interop_curl.sh - curl, as the seed articles use it, against the mtls-echo
# server.
#
# What it shows: a libmtls server accepts the client identities curl sends
# (separate PEM files, a combined PEM, PKCS#12), serves a CN-only server
# certificate made with the seed's commands that curl accepts, and when it
# refuses a client its log names the cause.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
tmpdir
need_pki
need_mtls_echo

# fetch NAME PORT ARG...: curl https://localhost:PORT/ with the given options.
# --resolve pins localhost to the address the server listens on.
fetch() {
	local name=$1 port=$2
	shift 2
	run "$name" "$CURL_BIN" -sS --max-time 15 \
	    --resolve "localhost:$port:127.0.0.1" "$@" "https://localhost:$port/"
}

# served NAME: curl got the server's greeting for the client certificate.
served() {
	expect_status "$1" "$rc" 0
	expect_contains "$tmp/$1.out" "hello client"
	say "ok: $1"
}

# refused NAME TEXT: curl failed, and the server's log says TEXT about it.
refused() {
	if [ "$rc" -eq 0 ]; then
		fail "$1: curl succeeded, expected a refusal" \
		    "$tmp/$1.out" "$tmp/$1.err"
	fi
	expect_not_contains "$tmp/$1.out" "hello"
	expect_server_log "$tmp/srv.err" "$2" "$SERVER_PID"
	say "ok: $1: curl status $rc, server: $2"
}

# --------------------------------------------------- the test PKI's server
start_echo_server srv --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt"
P=$SERVER_PORT

fetch pem "$P" --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --cacert "$PKI/ca.crt"
served pem
# The server saw and verified our certificate.
expect_server_log "$tmp/srv.out" \
    "subject=CN=client,OU=testers,O=libmtls test" "$SERVER_PID"
expect_contains "$tmp/srv.out" "verified=yes"

fetch combined "$P" --cert "$PKI/client-combined.pem" --cacert "$PKI/ca.crt"
served combined

fetch p12 "$P" --cert "$PKI/client.p12:p12pass" --cert-type P12 \
    --cacert "$PKI/ca.crt"
served p12

fetch enckey "$P" --cert "$PKI/client.crt" --key "$PKI/client-enc.key" \
    --pass secret --cacert "$PKI/ca.crt"
served enckey

# A response curl can parse: status line and headers.
fetch head "$P" -i --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --cacert "$PKI/ca.crt"
served head
expect_contains "$tmp/head.out" "HTTP/1.1 200 OK"
expect_contains "$tmp/head.out" "Content-Length: 13"

mark_log "$tmp/srv.err"
fetch nocert "$P" --cacert "$PKI/ca.crt"
refused nocert "client presented no certificate"

mark_log "$tmp/srv.err"
fetch other "$P" --cert "$PKI/other-client.crt" \
    --key "$PKI/other-client.key" --cacert "$PKI/ca.crt"
refused other "client certificate not trusted"

mark_log "$tmp/srv.err"
fetch selfsigned "$P" --cert "$PKI/selfsigned.crt" \
    --key "$PKI/selfsigned.key" --cacert "$PKI/ca.crt"
refused selfsigned "client certificate not trusted"

mark_log "$tmp/srv.err"
fetch expired "$P" --cert "$PKI/client-expired.crt" \
    --key "$PKI/client-expired.key" --cacert "$PKI/ca.crt"
refused expired "expired"

# The server goes on after refusing clients.
fetch again "$P" --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --cacert "$PKI/ca.crt"
served again
stop_bg "$SERVER_PID"

# ------------------------------------------------- the seed article's set
# Made with the article's commands: a v1, CN-only server certificate,
# which curl accepts for https://localhost/ through its CN fallback.
S=$PKI/seed
start_echo_server srv --cert "$S/server.crt" --key "$S/server.key" \
    --cacert "$S/ca.crt"
P=$SERVER_PORT

fetch seed "$P" --cert "$S/client.crt" --key "$S/client.key" \
    --cacert "$S/ca.crt"
served seed

fetch seedcombined "$P" --cert "$S/combined.pem" --cacert "$S/ca.crt"
served seedcombined

# Our test PKI's client is foreign to the seed's CA.
mark_log "$tmp/srv.err"
fetch seedforeign "$P" --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --cacert "$S/ca.crt"
refused seedforeign "client certificate not trusted"
stop_bg "$SERVER_PID"

exit 0
