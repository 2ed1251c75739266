#!/bin/sh
# mtls_server_limits.sh - deadlines that hold and room for good clients:
# mtls-server against silent TCP connections, a client that trickles its
# ClientHello a byte at a time (through tests/split-relay), a limit of
# connections filled with silent ones, and a client that stops reading a
# large response (curl --limit-rate).  The timeouts are set short so that
# each case takes seconds; each wait is bounded.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
tmpdir
need_pki
RELAY=$top_builddir/tests/split-relay
[ -x "$RELAY" ] || fail "$RELAY not built"
ID=(--cert "$PKI/server.crt" --key "$PKI/server.key" --client-ca "$PKI/ca.crt")
CLIENT=(--cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key")

# open_sockets PID: how many sockets PID has open (its listener included).
open_sockets() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# silent N: N TCP connections to $P that send nothing; their descriptors
# (ours) are in silent_fds.
silent() {
	local i fd
	silent_fds=()
	for ((i = 0; i < $1; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$P" || fail "cannot connect ($i)"
		silent_fds+=("$fd")
	done
}

close_silent() {
	local fd
	for fd in "${silent_fds[@]}"; do
		exec {fd}>&-
	done
}

# get NAME [ARG...]: curl https://localhost:$P/ with the client certificate.
get() {
	local name=$1
	shift
	run "$name" "$CURL_BIN" -sS "${CLIENT[@]}" \
	    --resolve "localhost:$P:127.0.0.1" "$@" "https://localhost:$P/"
}

# ------------------------------------------- silent: the handshake deadline
# 50 connections that say nothing are closed 2 s after accept, not after
# the handshake timeout plus a keep-alive wait.
start_mtls_server srv "${ID[@]}" --handshake-timeout 2
P=$SERVER_PORT
base=$(open_sockets "$SERVER_PID")
silent 50
start=$SECONDS
for ((i = 0; i < 60; i++)); do
	[ "$(open_sockets "$SERVER_PID")" -le "$base" ] && break
	sleep 0.1
done
took=$((SECONDS - start))
close_silent
[ "$(open_sockets "$SERVER_PID")" -le "$base" ] ||
    fail "silent connections still open 6 s after accept" "$tmp/srv.err"
say "ok: 50 silent connections closed at the 2 s handshake deadline (${took} s)"

# ----------------------------------------- trickled: no deadline extension
# A ClientHello one byte every 200 ms takes about a minute to arrive; the
# handshake deadline ends it after 2 s, whatever arrives meanwhile.
start_relay relay "$P" bytes 200000
RP=$RELAY_PORT
start=$SECONDS
run trickled "$CURL_BIN" -sS --max-time 20 "${CLIENT[@]}" \
    --resolve "localhost:$RP:127.0.0.1" "https://localhost:$RP/"
took=$((SECONDS - start))
[ "$rc" -ne 0 ] || fail "the trickled handshake succeeded" "$tmp/trickled.out"
[ "$took" -le 6 ] ||
    fail "a trickled handshake lasted $took s against a 2 s deadline" \
    "$tmp/trickled.err" "$tmp/srv.err"
stop_bg "$RELAY_PID"
say "ok: a trickled ClientHello ended after $took s (curl status $rc)"
stop_bg "$SERVER_PID"

# ------------------------------------- a limit full of silent connections
# 40 silent connections against --max-connections 20: the oldest idle ones
# make room, and each good client is served within a second.  (Of a burst,
# those that arrive while the others are not parked yet are dropped.)  One
# worker: a worker makes room among its own connections only, so with two
# a good client could meet the worker that holds none of the idle ones
# (seen once under make distcheck's load).
start_mtls_server full "${ID[@]}" --max-connections 20 --workers 1
P=$SERVER_PORT
silent 40
sleep 0.5
for i in 1 2 3 4 5 6 7 8 9 10; do
	get "good$i" --max-time 1
	expect_status "good$i" "$rc" 0
	expect_contains "$tmp/good$i.out" "verify: SUCCESS"
done
close_silent
say "ok: 10 of 10 good clients served within 1 s beside 40 silent connections (limit 20)"
stop_bg "$SERVER_PID"

# ------------------------------------------- a client that stops reading
# nginx's send_timeout: a write that makes no progress for that long ends
# the connection.  curl reading 1 byte a second stops the server's writes
# once the socket buffers are full.
mkdir -p "$tmp/www"
head -c $((64 * 1024 * 1024)) /dev/zero >"$tmp/www/big"
start_mtls_server slow "${ID[@]}" --root "$tmp/www" --send-timeout 2
P=$SERVER_PORT
start=$SECONDS
start_bg stalled "$CURL_BIN" -sS --max-time 30 --limit-rate 1 "${CLIENT[@]}" \
    -o /dev/null --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/big"
STALLED_PID=$BG_PID
wait_file_contains "$tmp/slow.err" "timed out after 2000 ms" 15 \
    "$SERVER_PID" || fail "no send timeout within 15 s" "$tmp/slow.err"
took=$((SECONDS - start))
expect_contains "$tmp/slow.err" "mtls-server: sending the HTTP response with 127.0.0.1:"
# The access log counts what was sent, not the file's size.
wait_file_contains "$tmp/slow.out" '"GET /big HTTP/1.1" 200' 5 ||
    fail "no access-log line for the cut-off response" "$tmp/slow.out"
expect_not_contains "$tmp/slow.out" '"GET /big HTTP/1.1" 200 67108864'
stop_bg "$STALLED_PID"
say "ok: a client that stopped reading was cut off after $took s, $(awk '/GET \/big/ { print $10 }' "$tmp/slow.out") bytes logged"

stop_bg "$SERVER_PID"
