#!/bin/sh
# interop_nginx.sh - the mtls-echo client against nginx with
# `ssl_verify_client on`, configured as the seed articles configure it.
#
# nginx completes the handshake whatever the client sends and answers 400
# itself when the certificate is missing or does not verify, so these
# negative cases end in a clean HTTP answer, not in a TLS error.  nginx
# only has the root CA: a client with an intermediate must send it.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin nginx "$NGINX_BIN"
tmpdir
need_pki
need_mtls_echo

# Two servers: the seed's configuration, and one with the
# ssl_verify_depth 2 that people set for chains with an intermediate.
P1=$(free_port)
P2=$(free_port)
[ -n "$P1" ] && [ -n "$P2" ] && [ "$P1" != "$P2" ] || fail "free_port failed"

# Everything nginx writes stays in $tmp: its pid file, logs and temp paths
# default to system directories that a test must not touch.  It runs in the
# foreground as a single process, so that its PID is the one we stop.
mkdir "$tmp/html"
{
	nginx_conf_head
	cat <<EOF

    ssl_certificate $PKI/server.crt;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.crt;
    ssl_verify_client on;

    server {
        listen 127.0.0.1:$P1 ssl;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn\n";
        }
    }

    server {
        listen 127.0.0.1:$P2 ssl;
        ssl_verify_depth 2;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"

start_nginx_conf "$P1" "$P2"

# get NAME PORT ARG...: an HTTP request with the mtls-echo client.
get() {
	local name=$1 port=$2
	shift 2
	run "$name" "$MTLS_ECHO" client --connect "127.0.0.1:$port" \
	    --cacert "$PKI/ca.crt" --http "$@"
}

# answered NAME STATUS TEXT: the exchange went well at the TLS level and
# nginx answered with HTTP status STATUS and TEXT in the page.
answered() {
	expect_status "$1" "$rc" 0
	expect_contains "$tmp/$1.out" "HTTP/1.1 $2"
	expect_contains "$tmp/$1.out" "$3"
	say "ok: $1: $2 $3"
}

# --------------------------------------------------------------- positive
get ok "$P1" --cert "$PKI/client.crt" --key "$PKI/client.key"
answered ok 200 "verify=SUCCESS"
expect_contains "$tmp/ok.out" "dn=CN=client,OU=testers,O=libmtls test"
expect_contains "$tmp/ok.out" "verified=yes"
expect_contains "$tmp/ok.out" "subject=CN=localhost"

get combined "$P1" --cert "$PKI/client-combined.pem"
answered combined 200 "verify=SUCCESS"

get p12 "$P1" --p12 "$PKI/client.p12:p12pass"
answered p12 200 "verify=SUCCESS"

# A chain with an intermediate: the client sends it, nginx builds the path.
get chain2 "$P2" --cert "$PKI/client-chain.crt" --key "$PKI/client-int.key"
answered chain2 200 "verify=SUCCESS"
expect_contains "$tmp/chain2.out" "dn=CN=client-int"

# --------------------------------------------------------------- negative
mark_log "$tmp/error.log"
get nocert "$P1"
answered nocert 400 "No required SSL certificate was sent"
expect_not_contains "$tmp/nocert.out" "verify=SUCCESS"
expect_server_log "$tmp/error.log" "client sent no required SSL certificate"

mark_log "$tmp/error.log"
get other "$P1" --cert "$PKI/other-client.crt" --key "$PKI/other-client.key"
answered other 400 "The SSL certificate error"
expect_server_log "$tmp/error.log" "client SSL certificate verify error"

# Our client refuses to present an expired certificate unless told to.
get expired-refused "$P1" --cert "$PKI/client-expired.crt" \
    --key "$PKI/client-expired.key"
expect_status expired-refused "$rc" 2
expect_contains "$tmp/expired-refused.err" "has expired: peers will refuse it"

mark_log "$tmp/error.log"
get expired "$P1" --cert "$PKI/client-expired.crt" \
    --key "$PKI/client-expired.key" --insecure-identity
answered expired 400 "The SSL certificate error"
expect_server_log "$tmp/error.log" "certificate has expired"

# The leaf alone: nginx cannot build the chain (it knows only the root).
get nochain "$P2" --cert "$PKI/client-int.crt" --key "$PKI/client-int.key"
answered nochain 400 "The SSL certificate error"

# And our side: nginx's certificate from a CA we do not trust.
run untrusted "$MTLS_ECHO" client --connect "127.0.0.1:$P1" \
    --cacert "$PKI/other-ca.crt" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --http
expect_status untrusted "$rc" 4
expect_contains "$tmp/untrusted.err" "server certificate not trusted"
expect_not_contains "$tmp/untrusted.out" "HTTP/1.1"
say "ok: untrusted: server certificate not trusted"

stop_bg "$NGINX_PID"
exit 0
