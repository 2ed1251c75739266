#!/bin/sh
# mtls_server_stop.sh - mtls-server stopped by SIGTERM, again and again,
# with several workers (busy, idle and parked connections) at the moment of
# the signal: it exits 0 and says nothing on standard error.  Built with
# --enable-sanitizers and run with ASAN_OPTIONS=detect_leaks=1 (as .ci/run
# does), LeakSanitizer reports what a worker still tearing down at exit
# leaves (OpenSSL's per-thread state): that report fails the test, so the
# rounds are many, to catch an intermittent one.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
ROUNDS=${STOP_ROUNDS:-20}

# fetch_bg NAME: a curl request in the background (a busy worker).
fetch_bg() {
	start_bg "$1" "$CURL_BIN" -sS --max-time 10 --cacert "$PKI/ca.crt" \
	    --cert "$PKI/client.crt" --key "$PKI/client.key" \
	    --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/"
}

for ((round = 1; round <= ROUNDS; round++)); do
	start_mtls_server "srv$round" --cert "$PKI/server.crt" \
	    --key "$PKI/server.key" --client-ca "$PKI/ca.crt"
	P=$SERVER_PORT
	pids=()
	for i in 1 2 3; do
		fetch_bg "fetch${round}_$i"
		pids+=("$BG_PID")
	done
	for pid in "${pids[@]}"; do
		wait_bg "$pid" 10 >/dev/null
	done
	# A keep-alive connection, answered and now parked, then the stop.
	start_bg "parked$round" bash -c '{ printf "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"; sleep 5; } |
	    "$@"' _ "$OPENSSL" s_client -quiet -connect "127.0.0.1:$P" \
	    -servername localhost -CAfile "$PKI/ca.crt" \
	    -cert "$PKI/client.crt" -key "$PKI/client.key"
	parked=$BG_PID
	wait_file_contains "$tmp/parked$round.out" "verify: SUCCESS" 10 \
	    "$parked" || fail "round $round: no answer on the keep-alive connection" \
	    "$tmp/parked$round.err"
	kill -TERM "$SERVER_PID"
	wait_bg "$SERVER_PID" 10
	status=$?
	stop_bg "$parked"
	[ "$status" = 0 ] ||
	    fail "round $round: mtls-server exited $status after SIGTERM" \
	    "$tmp/srv$round.err"
	[ ! -s "$tmp/srv$round.err" ] ||
	    fail "round $round: mtls-server wrote on standard error" \
	    "$tmp/srv$round.err"
done
say "ok: $ROUNDS stops by SIGTERM, each exit 0 with nothing on standard error"
