#!/bin/sh
# session_store_soak.sh - mtls-server's memory stays flat once its session
# store is full (issue 11: RSS grew from 7.6 MB to about 28 MB over 2,400
# requests, until 2048 sessions were kept).
#
# What it shows: curl makes full handshakes with a client certificate and
# keeps no session (--no-sessionid, one connection per request), so each
# one leaves a new session in the store.  With --session-cache 256k the
# store is full after some 40 of them; the server's VmRSS is read after
# each round of ROUND handshakes, and from the second round on it may not
# grow by more than SOAK_MARGIN_KB (without the cap each round would add
# about ROUND x 11 KB).  Bounded: ROUNDS rounds, each within TEST_TIMEOUT.
# A session kept under the cap still resumes.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki

: "${ROUNDS:=5}" "${ROUND:=200}" "${SOAK_MARGIN_KB:=1024}"

start_mtls_server srv --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --session-cache 256k
P=$SERVER_PORT

# rss: the server's resident set, in kB.
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}

# The PID is the server's own, not a wrapper script's.
grep -q mtls-server "/proc/$SERVER_PID/comm" ||
    fail "PID $SERVER_PID is $(cat "/proc/$SERVER_PID/comm"), not mtls-server"

# round N: ROUND full handshakes and requests, each a new session.
round() {
	run "round$1" "$CURL_BIN" -sS --no-sessionid --max-time 15 \
	    --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" -H 'Connection: close' \
	    --resolve "localhost:$P:127.0.0.1" -o /dev/null \
	    -w '%{http_code}\n' "https://localhost:$P/[1-$ROUND]"
	expect_status "round$1" "$rc" 0
	[ "$(grep -c '^200$' "$tmp/round$1.out")" = "$ROUND" ] ||
	    fail "round $1: not $ROUND answers" "$tmp/round$1.out" \
	    "$tmp/round$1.err"
}

start=$(rss)
round 1
base=$(rss)
figures="start ${start} kB, after $ROUND handshakes ${base} kB"
for r in $(seq 2 "$ROUNDS"); do
	round "$r"
	now=$(rss)
	figures="$figures, $((r * ROUND)): ${now} kB"
	# A sanitizer build keeps freed memory in quarantine: no figure holds.
	if [ -z "$MTLS_SANITIZE" ] && [ "$now" -gt $((base + SOAK_MARGIN_KB)) ]
	then
		fail "RSS grew from $base kB to $now kB after $((r * ROUND)) \
handshakes with a full session store ($figures)" "$tmp/srv.err"
	fi
done
say "ok: RSS flat once the store is full: $figures"

# The store still serves: a session saved by s_client resumes.  Each
# s_client sends a request and waits for the answer (-ign_eof), by which
# time the TLS 1.3 ticket has arrived.
REQ=$'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
RUN_INPUT=$REQ run save "$OPENSSL" s_client -connect "127.0.0.1:$P" \
    -servername localhost -CAfile "$PKI/ca.crt" -cert "$PKI/client.crt" \
    -key "$PKI/client.key" -ign_eof -sess_out "$tmp/sess.pem"
RUN_INPUT=$REQ run resume "$OPENSSL" s_client -connect "127.0.0.1:$P" \
    -servername localhost -CAfile "$PKI/ca.crt" -cert "$PKI/client.crt" \
    -key "$PKI/client.key" -ign_eof -sess_in "$tmp/sess.pem"
expect_contains "$tmp/resume.out" "Reused, TLSv1.3"
say "ok: a session kept under the cap resumes"
stop_bg "$SERVER_PID"
exit 0
