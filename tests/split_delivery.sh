#!/bin/sh
# split_delivery.sh - handshakes and requests whose TLS records (or bytes)
# arrive one at a time, through tests/split-relay, as they do over a real
# network or a proxy that forwards record by record: curl against
# mtls-server, and mtls-client against `openssl s_server`, in TLS 1.2 and
# 1.3, with a client certificate.  On plain loopback a whole flight comes
# in one read, which hid a handshake failure that every split delivery hit
# (a callback's stale error on OpenSSL's queue).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
RELAY=$top_builddir/tests/split-relay
CLIENT=$top_builddir/examples/mtls-client
[ -x "$RELAY" ] || fail "$RELAY not built"
[ -x "$CLIENT" ] || fail "$CLIENT not built"

# Pause after each piece, in microseconds.
declare -A PAUSE=([records]=20000 [bytes]=200)

# relay NAME UPSTREAM UNIT: start_relay with UNIT's pause.
relay() {
	start_relay "$1" "$2" "$3" "${PAUSE[$3]}"
}

# ---------------------------------- curl -> relay -> mtls-server
# Two URLs, the first with "Connection: close": the second request is on a
# new connection that resumes the first one's session.
echo hello >"$tmp/index.html"
start_mtls_server srv --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --root "$tmp"
for unit in records bytes; do
	relay "relay_srv_$unit" "$SERVER_PORT" "$unit"
	for version in 1.2 1.3; do
		name=curl_${unit}_tls$version
		run "$name" "$CURL_BIN" -sS --max-time 60 \
		    --tlsv"$version" --tls-max "$version" \
		    --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" \
		    --key "$PKI/client.key" \
		    --resolve "localhost:$RELAY_PORT:127.0.0.1" \
		    -H 'Connection: close' -w '%{http_code}\n' \
		    "https://localhost:$RELAY_PORT/index.html" \
		    "https://localhost:$RELAY_PORT/index.html"
		expect_status "$name" "$rc" 0
		[ "$(grep -c '^200$' "$tmp/$name.out")" = 2 ] ||
		    fail "$name: expected two 200 answers" "$tmp/$name.out" \
		    "$tmp/$name.err" "$tmp/srv.err"
		expect_not_contains "$tmp/srv.err" "handshake"
		say "ok: $name: two requests, each on a connection of its own"
	done
	stop_bg "$RELAY_PID"
done
stop_bg "$SERVER_PID"

# ---------------------------------- mtls-client -> relay -> s_server
for version in 1.2 1.3; do
	for _ in 1 2 3; do
		S_PORT=$(free_port)
		start_bg "s_server_$version" "$OPENSSL" s_server -Verify 1 \
		    -verify_return_error -www -tls"${version/./_}" \
		    -cert "$PKI/server.crt" -key "$PKI/server.key" \
		    -CAfile "$PKI/ca.crt" -accept "127.0.0.1:$S_PORT"
		S_PID=$BG_PID
		wait_file_contains "$tmp/s_server_$version.out" ACCEPT 10 \
		    "$S_PID" && break
		stop_bg "$S_PID"
	done
	alive "$S_PID" || fail "openssl s_server did not start"
	for unit in records bytes; do
		relay "relay_cli_${unit}_$version" "$S_PORT" "$unit"
		name=mtls_client_${unit}_tls$version
		# A byte at a time, 200 us apart, s_server's 8 KB page and the
		# handshake take 3 s on a quiet machine and over 15 s on a busy
		# one (a CI run failed so): the bound is for a hang, not speed.
		run "$name" "$CLIENT" -sS --max-time 60 --cacert "$PKI/ca.crt" \
		    --cert "$PKI/client.crt" --key "$PKI/client.key" \
		    --resolve "localhost:$RELAY_PORT:127.0.0.1" \
		    "https://localhost:$RELAY_PORT/"
		expect_status "$name" "$rc" 0
		expect_contains "$tmp/$name.out" "Protocol  : TLSv$version"
		expect_contains "$tmp/$name.out" "Verify return code: 0 (ok)"
		expect_contains "$tmp/$name.out" "Client certificate"
		say "ok: $name: s_server's page, our certificate verified"
		stop_bg "$RELAY_PID"
	done
	stop_bg "$S_PID"
done
