#!/bin/sh
# mtls_server_loop.sh - mtls-server's event loops hold slow and silent
# clients without a thread each: with --workers 2, 2,000 TCP connections
# that send nothing and 500 that trickle the start of a TLS record a byte
# at a time leave the server at its workers and main thread, while good
# clients are still answered at once; then a bad --workers is refused.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
tmpdir
need_pki
: "${SILENT:=2000}" "${TRICKLED:=500}"
WORKERS=2
LIMIT=$((SILENT + TRICKLED + 200))
ulimit -n "$LIMIT" 2>/dev/null ||
    fail "cannot raise the descriptor limit to $LIMIT (hard: $(ulimit -Hn))"

start_listener srv "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" \
    --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --workers "$WORKERS" \
    --max-connections "$LIMIT" --handshake-timeout 60
P=$SERVER_PORT

threads() {
	awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status"
}

# good N: N requests by curl, one after another; fails unless each is
# answered within 2 s.
good() {
	local i
	for ((i = 0; i < $1; i++)); do
		run "good$i" "$CURL_BIN" -sS --max-time 2 --cacert "$PKI/ca.crt" \
		    --cert "$PKI/client.crt" --key "$PKI/client.key" \
		    --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/"
		expect_status "good$i" "$rc" 0
		expect_contains "$tmp/good$i.out" "verify: SUCCESS"
	done
}

silent=() trickled=()
for ((i = 0; i < SILENT; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P" || fail "cannot open connection $i"
	silent+=("$fd")
done
for ((i = 0; i < TRICKLED; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P" || fail "cannot open trickler $i"
	trickled+=("$fd")
done
# A ClientHello record's header and first bytes, one byte a round to
# each of the trickling connections.
hello='\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'
for ((b = 0; b < 11; b++)); do
	byte=${hello:$((b * 4)):4}
	for fd in "${trickled[@]}"; do
		printf "$byte" >&"$fd" || fail "trickler lost at byte $b"
	done
	sleep 0.1
done
n=$(threads)
[ "$n" -le $((WORKERS + 2)) ] ||
    fail "$n threads with $SILENT silent and $TRICKLED trickling clients ($WORKERS workers)" \
    "$tmp/srv.err"
start=$(date +%s%N)
good 10
took=$((($(date +%s%N) - start) / 1000000))
say "ok: $n threads for $SILENT silent and $TRICKLED trickling connections; 10 good clients in $took ms"
[ "$(threads)" -le $((WORKERS + 2)) ] || fail "threads grew while serving"
for fd in "${silent[@]}" "${trickled[@]}"; do
	exec {fd}>&-
done
expect_not_contains "$tmp/srv.err" "dropped"
stop_bg "$SERVER_PID"

run badworkers "$MTLS_SERVER" --listen 127.0.0.1:0 --cert "$PKI/server.crt" \
    --key "$PKI/server.key" --client-ca "$PKI/ca.crt" --workers 0
expect_status badworkers "$rc" 1
expect_contains "$tmp/badworkers.err" "--workers takes 1 to 256, not 0"
say "ok: --workers 0 refused (exit 1)"
