#!/bin/sh
# fleet_haproxy.sh - two mtls-server instances behind a real HAProxy, as a
# fleet runs: HAProxy in TCP mode, balance roundrobin, each server line
# with send-proxy-v2; both instances with --proxy-protocol and ticket keys
# from files of their own, holding the same key.
#
#  1. the access logs show the client's own address (a client bound to
#     127.0.0.2, not HAProxy's 127.0.0.1);
#  2. a client that saved its session (openssl s_client -sess_out) comes
#     back, lands on the other instance, and resumes ("Reused");
#  3. a client that skips the balancer is refused, and the error log says
#     why (a TLS hello where the PROXY header was due);
#  4. while a loop of handshakes runs (bounded in count and time), the
#     ticket keys rotate: a new key first and the old one second, on
#     instance 1 (SIGHUP), then on instance 2 (SIGHUP).  One client, so
#     that round robin sends each handshake to the other instance than
#     the last.  No handshake fails.  Before and after, every session
#     offered is resumed.  Between the two reloads instance 1 renews the
#     old key's tickets with the new key, which instance 2 cannot read
#     yet: some sessions offered there are not resumed (a full
#     handshake, not a failure) - the proof that the new key encrypts.
# It prints the figures: handshakes, resumed %, failures, by phase.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

HAPROXY=${HAPROXY_BIN:-$(command -v haproxy)}
skip_unless_bin haproxy "$HAPROXY"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki

# Seconds of each phase of the rotation, and the bounds of each loop.
PHASE_SECONDS=${FLEET_PHASE_SECONDS:-3}
LOOP_MAX=${FLEET_LOOP_MAX:-400}
LOOP_SECONDS=$((PHASE_SECONDS * 3 + 30))

"$OPENSSL" rand -out "$tmp/old.key" 80 || fail "openssl rand failed"
"$OPENSSL" rand -out "$tmp/new.key" 80 || fail "openssl rand failed"

# start_instance N: mtls-server instance N, its keys in $tmp/sN.key.
start_instance() {
	cp "$tmp/old.key" "$tmp/s$1.key"
	start_mtls_server "s$1" --cert "$PKI/server.crt" \
	    --key "$PKI/server.key" --client-ca "$PKI/ca.crt" \
	    --proxy-protocol --ticket-key "$tmp/s$1.key" \
	    --access-log "$tmp/s$1.access.log" --workers 1
}
start_instance 1
P1=$SERVER_PORT PID1=$SERVER_PID
start_instance 2
P2=$SERVER_PORT PID2=$SERVER_PID

HP=$(free_port)
cat >"$tmp/haproxy.cfg" <<EOF
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fleet
    bind 127.0.0.1:$HP
    default_backend instances

backend instances
    balance roundrobin
    server s1 127.0.0.1:$P1 send-proxy-v2
    server s2 127.0.0.1:$P2 send-proxy-v2
EOF
run haproxy_c "$HAPROXY" -c -f "$tmp/haproxy.cfg"
expect_status haproxy_c "$rc" 0
start_bg haproxy "$HAPROXY" -db -f "$tmp/haproxy.cfg"
HAPROXY_PID=$BG_PID
wait_port "$HP" "$HAPROXY_PID"
say "haproxy $("$HAPROXY" -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p') on port $HP, instances on $P1 and $P2"

# handshake SOURCE SESSION OUT: one mTLS request through HAProxy from
# SOURCE, offering the session in file SESSION when it exists and saving
# the new one there; s_client's output in OUT.  True when answered 200.
handshake() {
	local src=$1 sess=$2 out=$3 in=()
	[ -s "$sess" ] && in=(-sess_in "$sess")
	rm -f "$sess.new"
	printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	    timeout -k 2 10 "$OPENSSL" s_client -ign_eof \
	    -connect "127.0.0.1:$HP" -servername localhost -bind "$src:0" \
	    -CAfile "$PKI/ca.crt" -cert "$PKI/client.crt" \
	    -key "$PKI/client.key" -sess_out "$sess.new" "${in[@]}" \
	    >"$out" 2>&1 || return 1
	grep -q 'HTTP/1.1 200 OK' "$out" || return 1
	# A ticket that arrived replaces the session; else it is offered again.
	if [ -s "$sess.new" ]; then mv "$sess.new" "$sess"; fi
}

# lines N: how many requests instance N has logged.
lines() {
	wc -l <"$tmp/s$1.access.log"
}

# -------------------------------------------- 1. the client's own address
before1=$(lines 1) before2=$(lines 2)
handshake 127.0.0.2 "$tmp/one.sess" "$tmp/first.out" ||
    fail "first request through haproxy failed" "$tmp/first.out" \
    "$tmp/s1.err" "$tmp/s2.err"
grep -q '^New,' "$tmp/first.out" || fail "first handshake was not new" \
    "$tmp/first.out"
sleep 0.3
if [ "$(lines 1)" -gt "$before1" ]; then first=1 other=2; else first=2 other=1; fi
[ "$(lines $first)" -gt "$(eval echo \$before$first)" ] ||
    fail "neither instance logged the first request" "$tmp/s1.access.log" \
    "$tmp/s2.access.log"
tail -n 1 "$tmp/s$first.access.log" | grep -q '^127\.0\.0\.2 ' ||
    fail "instance $first logged another address than the client's 127.0.0.2" \
    "$tmp/s$first.access.log"
say "ok: instance $first logged the client's own address 127.0.0.2, not haproxy's"

# ------------------------------------ 2. resumed on the other instance
before_other=$(lines $other)
handshake 127.0.0.2 "$tmp/one.sess" "$tmp/second.out" ||
    fail "second request through haproxy failed" "$tmp/second.out"
grep -q '^Reused,' "$tmp/second.out" ||
    fail "the session of instance $first was not resumed" "$tmp/second.out" \
    "$tmp/s$other.err"
wait_file_contains "$tmp/s$other.access.log" "127.0.0.2 " 5 ||
    fail "instance $other logged nothing" "$tmp/s$other.access.log"
[ "$(lines $other)" -gt "$before_other" ] ||
    fail "the second request did not land on instance $other" \
    "$tmp/s1.access.log" "$tmp/s2.access.log"
say "ok: the session of instance $first resumed on instance $other (Reused)"

# ------------------------------------- 3. the balancer skipped: refused
mark_log "$tmp/s1.err"
printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' |
    timeout -k 2 10 "$OPENSSL" s_client -connect "127.0.0.1:$P1" \
    -servername localhost -CAfile "$PKI/ca.crt" -cert "$PKI/client.crt" \
    -key "$PKI/client.key" >"$tmp/direct.out" 2>&1
! grep -q 'HTTP/1.1 ' "$tmp/direct.out" ||
    fail "instance 1 answered a client without a PROXY header" \
    "$tmp/direct.out"
expect_server_log "$tmp/s1.err" "PROXY protocol: no header from 127.0.0.1:" "$PID1"
expect_server_log "$tmp/s1.err" "a TLS hello: is the load balancer sending send-proxy-v2?" "$PID1"
say "ok: a client that skipped haproxy was refused, and the error log says why"

# ---------------------------------------- 4. keys rotate under handshakes
echo 0 >"$tmp/phase"

# handshake_loop NAME SOURCE: handshakes until $tmp/stop exists, LOOP_MAX
# are done or LOOP_SECONDS have passed; one line each: the phase it began
# in, whether a session was offered, and new, reused or failed.
handshake_loop() {
	local name=$1 src=$2 i end=$((SECONDS + LOOP_SECONDS)) phase offered
	local sess=$tmp/$name.sess
	for ((i = 1; i <= LOOP_MAX && SECONDS < end; i++)); do
		[ -e "$tmp/stop" ] && break
		phase=$(cat "$tmp/phase")
		offered=0
		[ -s "$sess" ] && offered=1
		if ! handshake "$src" "$sess" "$tmp/$name.last"; then
			echo "$phase $offered failed"
			cp "$tmp/$name.last" "$tmp/$name.failed.$i"
		elif grep -q '^Reused,' "$tmp/$name.last"; then
			echo "$phase $offered reused"
		else
			echo "$phase $offered new"
		fi
	done
}

# rotate N: the new key first and the old one second in instance N's
# file, written whole (rename), then SIGHUP; waits for the reload.
rotate() {
	mark_log "$tmp/s$1.err"
	cat "$tmp/new.key" "$tmp/old.key" >"$tmp/s$1.key.tmp"
	mv "$tmp/s$1.key.tmp" "$tmp/s$1.key"
	kill -HUP "$2"
	expect_server_log "$tmp/s$1.err" "reloaded certificates" "$2"
}

err_from1=$(wc -l <"$tmp/s1.err") err_from2=$(wc -l <"$tmp/s2.err")
start_bg loop handshake_loop loop 127.0.0.3
L=$BG_PID
# A handshake that begins while an instance reloads (r1, r2) may meet
# either key set, or offer a ticket made under the new key before the
# other instance has it: counted, never failing, but not held to the
# phases' rules.
sleep "$PHASE_SECONDS"
echo r1 >"$tmp/phase"
rotate 1 "$PID1"
echo 1 >"$tmp/phase"
sleep "$PHASE_SECONDS"
echo r2 >"$tmp/phase"
rotate 2 "$PID2"
echo 2 >"$tmp/phase"
sleep "$PHASE_SECONDS"
touch "$tmp/stop"
wait_bg "$L" $((LOOP_SECONDS + 10)) || fail "the loop did not end" "$tmp/loop.err"
cp "$tmp/loop.out" "$tmp/handshakes"

# The figures, for the whole run and for each phase.
figures() {
	awk -v want="$1" '$1 == want || want == "all" {
		n++; if ($3 == "reused") r++; if ($3 == "failed") f++
		if ($2 == 1) o++
	} END {
		printf "%d handshakes, %d resumed (%.0f%% of all, %.0f%% of the %d that offered a session), %d failed\n",
		    n, r, n ? 100 * r / n : 0, o ? 100 * r / o : 0, o, f
	}' "$tmp/handshakes"
}
say "before the rotation:          $(figures 0)"
say "instance 1 rotated, 2 not:    $(figures 1)"
say "both rotated:                 $(figures 2)"
say "in all:                       $(figures all)"

total=$(wc -l <"$tmp/handshakes")
failed=$(grep -c ' failed$' "$tmp/handshakes")
[ "$failed" -eq 0 ] || fail "$failed handshakes failed during the rotation" \
    "$tmp"/loop*.failed.* "$tmp/s1.err" "$tmp/s2.err"
[ "$total" -ge 20 ] || fail "only $total handshakes ran" "$tmp/loop.err"
for phase in 0 1 2; do
	grep -q "^$phase " "$tmp/handshakes" ||
	    fail "no handshake ran in phase $phase" "$tmp/handshakes"
done
# With the same keys on both instances every session offered resumes.
for phase in 0 2; do
	lost=$(awk -v p=$phase '$1 == p && $2 == 1 && $3 != "reused"' \
	    "$tmp/handshakes" | wc -l)
	[ "$lost" -eq 0 ] || fail "$lost sessions offered in phase $phase were not resumed" \
	    "$tmp/handshakes"
done
# Instance 1 encrypted with the new key before instance 2 could read it.
awk '$1 == 1 && $2 == 1 && $3 == "new"' "$tmp/handshakes" | grep -q . ||
    fail "between the reloads every session resumed: instance 1 did not encrypt with the new key" \
    "$tmp/handshakes"
# Nothing but the reloads in the instances' error logs meanwhile.
for n in 1 2; do
	from=err_from$n
	if tail -n "+$((${!from} + 1))" "$tmp/s$n.err" |
	    grep -v 'reloaded certificates' | grep -q .; then
		fail "instance $n reported errors during the rotation" "$tmp/s$n.err"
	fi
done
# Every request came from the clients' own addresses.
if cat "$tmp/s1.access.log" "$tmp/s2.access.log" | grep -v '^127\.0\.0\.[23] ' |
    grep -q .; then
	fail "an access log line shows another address than the clients'" \
	    "$tmp/s1.access.log" "$tmp/s2.access.log"
fi
say "ok: keys rotated on both instances under $total handshakes, none failed"
