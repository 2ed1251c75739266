#!/bin/sh
# mtls_server_many.sh - one descriptor per connection: 2,000 mTLS
# connections from one process (tests/hold-connections, on the library)
# to mtls-server, both under `ulimit -n 2100`, each answered a request
# and all held open at once (idle keep-alive, which a sanitizer build's
# slow handshakes must not outlast: --keepalive-timeout 600).  With an eventfd per connection object, as
# in earlier releases, each side needed two descriptors a connection
# and failed near 1,000.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

tmpdir
need_pki
HOLD=$top_builddir/tests/hold-connections
[ -x "$HOLD" ] || fail "$HOLD not built"
: "${MANY_CONNECTIONS:=2000}"
LIMIT=$((MANY_CONNECTIONS + 100))

# CMD... after "${LIMITED[@]}": CMD under a descriptor limit of $LIMIT,
# with CMD's own PID.
LIMITED=(bash -c 'ulimit -n "$1" && shift && exec "$@"' _ "$LIMIT")

start_listener srv "${LIMITED[@]}" "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" \
    --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --max-connections "$LIMIT" \
    --keepalive-timeout 600
P=$SERVER_PORT

start_bg hold "${LIMITED[@]}" "$HOLD" localhost "$P" "$MANY_CONNECTIONS" \
    "$PKI/client.crt" "$PKI/client.key" "$PKI/ca.crt" 5
HOLD_PID=$BG_PID
wait_file_contains "$tmp/hold.out" "connections:" 120 "$HOLD_PID" ||
    fail "hold-connections did not finish" "$tmp/hold.out" "$tmp/hold.err"
server_fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 2>/dev/null | wc -l)
server_sockets=$(find "/proc/$SERVER_PID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
server_eventfds=$(find "/proc/$SERVER_PID/fd" -lname '*eventfd*' 2>/dev/null | wc -l)
server_epolls=$(find "/proc/$SERVER_PID/fd" -lname '*eventpoll*' 2>/dev/null | wc -l)
server_threads=$(find "/proc/$SERVER_PID/task" -mindepth 1 -maxdepth 1 | wc -l)
hold_rc=0
wait_bg "$HOLD_PID" 30 || hold_rc=$?
say "$(cat "$tmp/hold.out")"
say "mtls-server meanwhile: $server_fds descriptors open ($server_sockets sockets," \
    "$server_eventfds eventfds, $server_epolls epolls), $server_threads threads"
[ "$hold_rc" = 0 ] || fail "not every connection was made and answered" \
    "$tmp/hold.out" "$tmp/hold.err" "$tmp/srv.err"
expect_contains "$tmp/hold.out" \
    "connections: $MANY_CONNECTIONS of $MANY_CONNECTIONS, requests answered: $MANY_CONNECTIONS"
[ "$server_fds" -le "$LIMIT" ] || fail "mtls-server had $server_fds descriptors"
[ "$server_fds" -ge "$MANY_CONNECTIONS" ] ||
    fail "mtls-server held only $server_fds descriptors: were the connections open?"
# mtls-server's own engine takes an epoll per worker, and a worker lingers
# LINGER_MS on each new connection before parking it: while connections
# arrive every millisecond or two, some 90 workers run, and starting more
# can meet the limit ("cannot start a worker"), which costs nothing here.
# Accepting must never meet it.
expect_not_contains "$tmp/srv.err" "cannot accept"
say "ok: $MANY_CONNECTIONS connections in a limit of $LIMIT on both sides"
