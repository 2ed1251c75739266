#!/bin/sh
# mtls_server_descriptors.sh - mtls-server out of file descriptors, under a
# low `ulimit -n`: it says that the descriptor limit is reached (not "out
# of memory"), once per episode; it does not spin on a listener that stays
# readable while connections wait in its backlog; and it serves again as
# soon as descriptors free up, as nginx does after "accept4() failed (24:
# Too many open files)".
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
tmpdir
need_pki

# Descriptors mtls-server may have; silent connections opened against it,
# more than that (one descriptor each on its side, the socket).
LIMIT=40
SILENT=50

# cpu_ticks PID: user + system time of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

start_listener srv bash -c 'ulimit -n "$1" && shift && exec "$@"' _ "$LIMIT" \
    "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" --cert "$PKI/server.crt" \
    --key "$PKI/server.key" --client-ca "$PKI/ca.crt"
P=$SERVER_PORT

silent=()
for ((i = 0; i < SILENT; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P" || fail "cannot open connection $i"
	silent+=("$fd")
done
expect_server_log "$tmp/srv.err" \
    "mtls-server: cannot accept: the process's descriptor limit is reached" \
    "$SERVER_PID"
expect_contains "$tmp/srv.err" "ulimit -n is $LIMIT"
expect_not_contains "$tmp/srv.err" "out of memory"
say "ok: the descriptor limit is named"

# Connections left in the backlog keep the listener readable: a server
# that retried at once would burn a core here.
ticks=$(cpu_ticks "$SERVER_PID")
sleep 2
ticks=$(($(cpu_ticks "$SERVER_PID") - ticks))
[ "$ticks" -le 20 ] ||
    fail "mtls-server used $ticks clock ticks in 2 s out of descriptors" \
    "$tmp/srv.err"
# Once per episode, not once per retry: a worker thread that ends frees
# its descriptors, and the server may accept once more before the limit
# is back, which makes a second episode (seen under ASan on a loaded
# machine); each one has its "free again" line.
reached=$(grep -c 'descriptor limit is reached' "$tmp/srv.err")
freed=$(grep -c 'descriptors free again' "$tmp/srv.err")
[ "$reached" = $((freed + 1)) ] ||
    fail "the limit was reported $reached times in $((freed + 1)) episodes" \
    "$tmp/srv.err"
say "ok: no spinning ($ticks ticks in 2 s), one line per episode ($reached)"

for fd in "${silent[@]}"; do
	exec {fd}>&-
done
run after "$CURL_BIN" -sS --max-time 10 --cacert "$PKI/ca.crt" \
    --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/"
expect_status after "$rc" 0
expect_contains "$tmp/after.out" "verify: SUCCESS"
expect_server_log "$tmp/srv.err" \
    "mtls-server: descriptors free again: accepting connections" \
    "$SERVER_PID"
say "ok: served again once descriptors were free"
stop_bg "$SERVER_PID"
