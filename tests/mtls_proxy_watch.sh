#!/bin/sh
# mtls_proxy_watch.sh - mtls-proxy --watch: the client certificate it
# presents upstream (mtls-server, which answers with the identity it saw)
# is reloaded when its files change, for new upstream connections; a
# broken key is refused, logged once, and the last good pair kept.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

tmpdir
need_pki
PROXY=$top_builddir/examples/mtls-proxy

# get NAME: GET / through the proxy (plain HTTP), the answer in
# $tmp/NAME.txt.
get() {
	exec 3<>"/dev/tcp/127.0.0.1/$PP" || fail "cannot reach the proxy"
	printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	timeout 10 cat <&3 >"$tmp/$1.txt"
	exec 3<&-
}

# A keep-alive upstream connection keeps its certificate: the server
# closes idle ones after 1 s, and the proxy then makes a new one.
idle() { sleep 1.5; }

cp "$PKI/client.crt" "$tmp/c.crt"
cp "$PKI/client.key" "$tmp/c.key"
P=$(free_port)
PP=$(free_port)
start_bg server "$MTLS_SERVER" --listen "127.0.0.1:$P" \
    --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --keepalive-timeout 1 --access-log off
SERVER_PID=$BG_PID
wait_port "$P" "$SERVER_PID"
start_bg proxy "$PROXY" --listen "127.0.0.1:$PP" \
    --upstream "https://localhost:$P" --cert "$tmp/c.crt" \
    --key "$tmp/c.key" --cacert "$PKI/ca.crt" --watch 0.2
wait_port "$PP" "$BG_PID"

get first
expect_contains "$tmp/first.txt" "subject: CN=client,"
say "the proxy presents CN=client"

# Renamed over the old names, as an agent writes them.
cp "$PKI/client-ou.crt" "$tmp/c.crt.new" && mv -f "$tmp/c.crt.new" "$tmp/c.crt"
cp "$PKI/client-ou.key" "$tmp/c.key.new" && mv -f "$tmp/c.key.new" "$tmp/c.key"
idle
get rotated
expect_contains "$tmp/rotated.txt" "subject: CN=payment-service"
expect_contains "$tmp/proxy.err" "--watch: reloaded the configuration"
say "after the rotation, a new upstream connection presents the new one"

printf -- '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' \
    >"$tmp/c.key"
idle
get broken1
idle
get broken2
expect_contains "$tmp/broken2.txt" "subject: CN=payment-service"
n=$(grep -c -- '--watch: the changed files .* are refused' "$tmp/proxy.err")
[ "$n" -eq 1 ] || fail "the broken key was reported $n times" "$tmp/proxy.err"
expect_contains "$tmp/proxy.err" "c.key"
say "a broken key is refused, reported once, the last good pair kept"
