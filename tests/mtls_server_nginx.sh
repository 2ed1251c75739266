#!/bin/sh
# mtls_server_nginx.sh - mtls-server where it meets nginx's habits: its
# command line (getopt_long, --help, --version, -t, a mistyped option
# named with the nearest one, nginx's own flags and directives told what
# stands for them), several --listen, --password-file, the signals (USR1
# reopens the logs after a logrotate-style rename and loses no line, QUIT
# stops gracefully, TERM at once), --pid-file, the access log in both
# formats with every answer the library refused, and the identity headers
# of --proxy compared with what nginx itself makes of the same
# certificate.  No message the server prints names a C function.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
skip_unless_bin python3 "$(command -v python3)"
tmpdir
need_pki

ID=(--cert "$PKI/server.crt" --key "$PKI/server.key" --client-ca "$PKI/ca.crt")
CLIENT=(--cert "$PKI/client.crt" --key "$PKI/client.key")
VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
    "$top_builddir/build-aux/config.h")
[ -n "$VERSION" ] || fail "no PACKAGE_VERSION in build-aux/config.h"

# ------------------------------------------------------ the command line
# cli NAME STATUS STREAM TEXT ARG...: mtls-server ARG... exits STATUS and
# its standard output (STREAM out) or error (err) says TEXT.
cli() {
	local name=$1 status=$2 stream=$3 text=$4
	shift 4
	run "$name" "$MTLS_SERVER" "$@"
	expect_status "$name" "$rc" "$status"
	expect_contains "$tmp/$name.$stream" "$text"
	say "ok: cli $name: exit $status, '$text'"
}

printf 'not a certificate\n' >"$tmp/bad.crt"
cli help 0 out "usage: mtls-server --listen" --help
expect_contains "$tmp/help.out" "--password-file FILE"
[ ! -s "$tmp/help.err" ] || fail "--help wrote on standard error" "$tmp/help.err"
cli help_short 0 out "usage: mtls-server" -h
cli version 0 out "mtls-server $VERSION (" --version
expect_contains "$tmp/version.out" " libmtls/$VERSION OpenSSL/"
expect_contains "$tmp/version.out" "OpenSSL/$("$OPENSSL" version | cut -d' ' -f2)"
expect_contains "$tmp/version.out" "running with $("$OPENSSL" version | cut -d' ' -f1-2)"
cli version_v 0 out "mtls-server $VERSION" -v
cli version_V 0 out "mtls-server $VERSION" -V
cli typo 1 err "unknown option '--lisen'; did you mean --listen?" \
    --lisen 127.0.0.1:0 "${ID[@]}"
cli transposed 1 err "unknown option '--kye'; did you mean --key?" --kye x
cli one_dash 1 err "unknown option '-listen'; did you mean --listen?" \
    -listen 127.0.0.1:0
cli typo_value 1 err "unknown option '--clent-ca'; did you mean --client-ca?" \
    --listen 127.0.0.1:0 --clent-ca=x
cli prefix 1 err "did you mean --verify-client or --verify-depth?" --verify on
cli abbreviated 1 err "unknown option '--lis'; did you mean --listen?" \
    --lis 127.0.0.1:0 "${ID[@]}"
cli far 1 err "unknown option '--frobnicate'" --frobnicate
expect_not_contains "$tmp/far.err" "did you mean"
cli directive 1 err "for nginx's ssl_certificate, use --cert" \
    --ssl_certificate x
cli directive_near 1 err "for nginx's proxy_pass, use --proxy" --proxypass x
cli directive_dashes 1 err "for nginx's ssl_verify_client, use --verify-client" \
    --ssl-verify-client on
cli nginx_s 1 err "kill -HUP (reload), -USR1 (reopen), -QUIT (quit)" -s reload
cli nginx_c 1 err "reads no configuration file" -c /etc/nginx/nginx.conf
cli short 1 err "unknown option '-x'" -x
cli no_value 1 err "--listen needs a value" --listen
cli flag_value 1 err "--crl-chain takes no value" --crl-chain=yes
cli stray 1 err "unexpected argument 'server.crt'" --listen 127.0.0.1:0 \
    server.crt
cli no_listen 1 err "no --listen ADDR:PORT (nginx's listen)" "${ID[@]}"
cli no_cert 1 err "no certificate: give --cert FILE" --listen 127.0.0.1:0 \
    --client-ca "$PKI/ca.crt"
cli no_port 1 err "--listen '127.0.0.1' needs a port" --listen 127.0.0.1 \
    "${ID[@]}"
cli no_port_v6 1 err "--listen '[::1]' needs a port" --listen '[::1]' \
    "${ID[@]}"
cli no_port_second 1 err "--listen '[::1]' needs a port" \
    --listen 127.0.0.1:0 --listen '[::1]' "${ID[@]}"
cli no_ca 2 err "no --client-ca FILE: the CAs that client certificates must chain to" \
    --listen 127.0.0.1:0 --cert "$PKI/server.crt" --key "$PKI/server.key"
cli header_timeout 1 err "--client-header-timeout takes 1 to 86400 seconds" \
    --listen 127.0.0.1:0 "${ID[@]}" --client-header-timeout 0
cli log_format 1 err "--access-log-format takes combined or json, not 'xml'" \
    --listen 127.0.0.1:0 "${ID[@]}" --access-log-format xml
cli tickets 2 err "--tickets: session ticket count 99 is out of range" \
    --listen 127.0.0.1:0 "${ID[@]}" --tickets 99
cli ciphers 2 err "--ciphers: unknown TLS 1.2 cipher 'NOPE'" \
    --listen 127.0.0.1:0 "${ID[@]}" --ciphers NOPE
cli access_log 2 err "--access-log '$tmp/no/such/dir/a.log': cannot open it" \
    --listen 127.0.0.1:0 "${ID[@]}" --access-log "$tmp/no/such/dir/a.log"
cli error_log 2 err "--error-log '$tmp/no/such/dir/e.log': cannot open it" \
    --listen 127.0.0.1:0 "${ID[@]}" --error-log "$tmp/no/such/dir/e.log"
cli pid_file 2 err "--pid-file '$tmp/no/such/dir/pid': cannot write it" \
    --listen 127.0.0.1:0 "${ID[@]}" --pid-file "$tmp/no/such/dir/pid"
cli test_ok 0 err "the configuration is ok" --listen 127.0.0.1:0 "${ID[@]}" -t
cli test_bad 2 err "bad.crt" --listen 127.0.0.1:0 --cert "$tmp/bad.crt" \
    --key "$PKI/server.key" --client-ca "$PKI/ca.crt" --test

# ------------------------------------------------------ several --listen
P2=$(free_port)
V6=()
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	V6=(--listen "[::1]:$P2")
fi
start_mtls_server multi "${ID[@]}" --listen "127.0.0.1:$P2" "${V6[@]}" \
    --workers 2
P=$SERVER_PORT
wait_file_contains "$tmp/multi.out" "listening on 127.0.0.1:$P2" 5 "$SERVER_PID" ||
    fail "no 'listening on' for the second --listen" "$tmp/multi.out"
expect_contains "$tmp/multi.out" "listening on 127.0.0.1:$P"
for round in 1 2 3; do
	fetch multi_a$round / "${CLIENT[@]}"
	status_is multi_a$round 200
	P=$P2 fetch multi_b$round / "${CLIENT[@]}"
	status_is multi_b$round 200
	if [ ${#V6[@]} -gt 0 ]; then
		run multi_c$round "$CURL_BIN" -sS --max-time 15 --cacert "$PKI/ca.crt" \
		    "${CLIENT[@]}" --resolve "localhost:$P2:[::1]" \
		    -w '\n%{http_code}\n' "https://localhost:$P2/v6"
		status_is multi_c$round 200
	fi
done
if [ ${#V6[@]} -gt 0 ]; then
	expect_contains "$tmp/multi.out" "listening on [::1]:$P2"
	expect_server_log "$tmp/multi.out" '::1 - - [' "$SERVER_PID"
	say "ok: three listeners (127.0.0.1:$P, 127.0.0.1:$P2, [::1]:$P2), each served by 2 workers"
else
	say "ok: two listeners (no ::1 here), each served by 2 workers"
fi
stop_bg "$SERVER_PID"
# A second --listen that cannot be had: exit 3, naming it.
start_bg holder "$MTLS_SERVER" --listen "127.0.0.1:$P2" "${ID[@]}"
wait_file_contains "$tmp/holder.out" "listening on" 10 "$BG_PID" ||
    fail "holder did not start" "$tmp/holder.err"
cli taken 3 err "--listen '127.0.0.1:$P2': cannot listen on 127.0.0.1 port $P2" \
    --listen 127.0.0.1:0 --listen "127.0.0.1:$P2" "${ID[@]}"
stop_bg "$BG_PID"

# ------------------------------------------------------- --password-file
SECRET="wipe-me-$RANDOM$RANDOM-passphrase"
"$OPENSSL" pkey -in "$PKI/server.key" -aes256 -passout "pass:$SECRET" \
    -out "$tmp/enc.key" 2>"$tmp/pkey.err" || fail "openssl pkey" "$tmp/pkey.err"
"$OPENSSL" pkcs12 -export -in "$PKI/server.crt" -inkey "$PKI/server.key" \
    -passout "pass:$SECRET" -out "$tmp/server.p12" 2>"$tmp/p12.err" ||
    fail "openssl pkcs12" "$tmp/p12.err"
printf 'first wrong one\n\n%s\n' "$SECRET" >"$tmp/pw.txt"
printf 'wrong\r\n%s\r\n' "$SECRET" >"$tmp/pw-crlf.txt"
printf 'wrong\nalso wrong\n' >"$tmp/pw-wrong.txt"
printf '\n\n' >"$tmp/pw-empty.txt"
ENC=(--cert "$PKI/server.crt" --key "$tmp/enc.key" --client-ca "$PKI/ca.crt")
P12=(--p12 "$tmp/server.p12" --client-ca "$PKI/ca.crt")
# pw_row NAME STATUS TEXT ARG...: as cli, with -t (every file read).
pw_row() {
	local name=$1 status=$2 text=$3
	shift 3
	cli "$name" "$status" err "$text" --listen 127.0.0.1:0 "$@" -t
}
pw_row pw_key 0 "the configuration is ok" "${ENC[@]}" --password-file "$tmp/pw.txt"
pw_row pw_crlf 0 "the configuration is ok" "${ENC[@]}" --password-file "$tmp/pw-crlf.txt"
pw_row pw_p12 0 "the configuration is ok" "${P12[@]}" --password-file "$tmp/pw.txt"
pw_row pw_pass_wins 2 "--pass: wrong passphrase for key" "${ENC[@]}" \
    --pass nope --password-file "$tmp/pw.txt"
pw_row pw_wrong 2 "none of the 2 passphrases in --password-file '$tmp/pw-wrong.txt' fits" \
    "${ENC[@]}" --password-file "$tmp/pw-wrong.txt"
pw_row pw_p12_wrong 2 "none of the 2 passphrases in --password-file" \
    "${P12[@]}" --password-file "$tmp/pw-wrong.txt"
pw_row pw_empty 2 "--password-file '$tmp/pw-empty.txt' holds no passphrase" \
    "${ENC[@]}" --password-file "$tmp/pw-empty.txt"
pw_row pw_missing 2 "--password-file '$tmp/nope.txt': No such file" \
    "${ENC[@]}" --password-file "$tmp/nope.txt"
pw_row pw_none 2 "give its passphrase with --password-file FILE or --pass PASS" \
    "${ENC[@]}"
pw_row pw_p12_none 2 "give its passphrase with --password-file FILE or --pass PASS" \
    "${P12[@]}"
# Served, reloaded with the file read again; once it is gone the reload
# fails and the loaded key stays.
start_mtls_server pw "${ENC[@]}" --password-file "$tmp/pw.txt"
P=$SERVER_PORT
fetch pw_served / "${CLIENT[@]}"
status_is pw_served 200
mark_log "$tmp/pw.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/pw.err" "reloaded certificates" "$SERVER_PID"
mv "$tmp/pw.txt" "$tmp/pw.away"
mark_log "$tmp/pw.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/pw.err" "reload failed, the previous certificates stay in use" "$SERVER_PID"
expect_contains "$tmp/pw.err" "--password-file '$tmp/pw.txt'"
fetch pw_kept / "${CLIENT[@]}"
status_is pw_kept 200
mv "$tmp/pw.away" "$tmp/pw.txt"
stop_bg "$SERVER_PID"
say "ok: --password-file: tried line by line for a PEM key and a PKCS#12, read again at each reload"
# The passphrase is wiped after use: a running server's memory does not
# hold it (read by its parent, as ptrace rules allow).
cat >"$tmp/memscan.py" <<'EOF'
import subprocess, sys
secret, args = sys.argv[1].encode(), sys.argv[2:]
p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
p.stdout.readline()                 # "listening on": the key is loaded
hits = 0
try:
    with open("/proc/%d/maps" % p.pid) as maps, \
         open("/proc/%d/mem" % p.pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if "r" not in f[1] or hi - lo > (1 << 30):
                continue            # unreadable, or a sanitizer's shadow
            try:
                mem.seek(lo)
                hits += mem.read(hi - lo).count(secret)
            except (OSError, ValueError, OverflowError):
                pass
except PermissionError:
    hits = -1
p.terminate()
p.wait()
print(hits)
EOF
P=$(free_port)
run memscan python3 "$tmp/memscan.py" "$SECRET" "$MTLS_SERVER" \
    --listen "127.0.0.1:$P" "${ENC[@]}" --password-file "$tmp/pw.txt"
expect_status memscan "$rc" 0
case $(cat "$tmp/memscan.out") in
0) say "ok: --password-file: the passphrase is nowhere in the server's memory" ;;
-1) say "skip: the server's memory cannot be read here" ;;
*) fail "the passphrase is still in the server's memory" "$tmp/memscan.out" ;;
esac

# ------------------------------------------- access log: every answer
# Requests the library refuses, and answers itself, before the request is
# complete: each gets its access-log line, as in nginx.
# Each row: status, the bytes sent, the request field logged.
long_target=$(head -c 9000 /dev/zero | tr '\0' a)
long_field=$(head -c 9000 /dev/zero | tr '\0' y)
REFUSED=(
	"400|POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n|POST /smuggle HTTP/1.1"
	"413|POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n|POST /big HTTP/1.1"
	"414|GET /$long_target HTTP/1.1\r\nHost: x\r\n\r\n|GET /aaaa"
	"431|GET /field HTTP/1.1\r\nHost: x\r\nX-Long: $long_field\r\n\r\n|GET /field HTTP/1.1"
	"501|get /lower HTTP/1.1\r\nHost: x\r\n\r\n|get /lower HTTP/1.1"
	"505|GET /two HTTP/2.0\r\nHost: x\r\n\r\n|GET /two HTTP/2.0"
)
# raw NAME BYTES: BYTES through `openssl s_client` with the client
# certificate; the answer in $tmp/NAME.out.
raw() {
	printf "$2" | timeout -k 5 "$TEST_TIMEOUT" "$OPENSSL" s_client -quiet \
	    -connect "127.0.0.1:$P" -servername localhost -CAfile "$PKI/ca.crt" \
	    "${CLIENT[@]}" >"$tmp/$1.out" 2>"$tmp/$1.err"
}
DN='CN=client,OU=testers,O=libmtls test'
for format in combined json; do
	start_mtls_server "log_$format" "${ID[@]}" --max-body 10 \
	    --client-header-timeout 1 --access-log "$tmp/$format.log" \
	    --access-log-format "$format"
	P=$SERVER_PORT
	for row in "${REFUSED[@]}"; do
		IFS='|' read -r status bytes logged <<<"$row"
		raw "${format}_$status" "$bytes"
		expect_contains "$tmp/${format}_$status.out" "HTTP/1.1 $status "
		if [ "$format" = combined ]; then
			expect_server_log "$tmp/$format.log" "\"$logged" "$SERVER_PID"
			expect_contains "$tmp/$format.log" "\" $status 0 \"-\" \"-\" \"$DN\" SUCCESS"
		else
			expect_server_log "$tmp/$format.log" "\"status\":$status," "$SERVER_PID"
		fi
	done
	# 408: the head does not arrive within --client-header-timeout.
	{ printf 'GET /slow HTTP/1.1\r\nHost: x\r\n'; sleep 3; } |
	    timeout -k 5 "$TEST_TIMEOUT" "$OPENSSL" s_client -quiet \
	    -connect "127.0.0.1:$P" -servername localhost -CAfile "$PKI/ca.crt" \
	    "${CLIENT[@]}" >"$tmp/${format}_408.out" 2>"$tmp/${format}_408.err"
	expect_contains "$tmp/${format}_408.out" "HTTP/1.1 408 "
	expect_server_log "$tmp/$format.log" "408" "$SERVER_PID"
	fetch "${format}_ok" /ok "${CLIENT[@]}" -H 'Referer: https://example.org/"x"' \
	    -A 'agent\1'
	status_is "${format}_ok" 200
	expect_server_log "$tmp/$format.log" "/ok HTTP/1.1" "$SERVER_PID"
	stop_bg "$SERVER_PID"
	[ "$(wc -l <"$tmp/$format.log")" -eq 8 ] ||
	    fail "$format: expected 8 access-log lines" "$tmp/$format.log"
	[ ! -s "$tmp/log_$format.out" ] ||
	    [ "$(grep -vc '^listening on' "$tmp/log_$format.out")" -eq 0 ] ||
	    fail "$format: access lines on standard output with --access-log" \
	    "$tmp/log_$format.out"
	say "ok: access log ($format): 400, 408, 413, 414, 431, 501, 505 and 200 each logged"
done
# combined is nginx's combined, then "$ssl_client_s_dn" $ssl_client_verify,
# each variable escaped as nginx escapes it (\x22 for '"').
python3 - "$tmp/combined.log" >"$tmp/combined.check" 2>&1 <<'EOF' ||
import re, sys
combined = re.compile(r'^(\S+) - (\S+) \[([^]]+)\] "((?:[^"\\]|\\x[0-9A-F]{2})*)" '
                      r'(\d{3}) (\d+) "([^"]*)" "([^"]*)" "([^"]*)" (\S+)$')
for line in open(sys.argv[1]):
    m = combined.match(line.rstrip("\n"))
    assert m, "not combined: " + line
    if "/ok " in line:
        assert m.group(7) == "https://example.org/\\x22x\\x22", m.group(7)
        assert m.group(8) == "agent\\x5C1", m.group(8)
        assert m.group(10) == "SUCCESS"
print("ok")
EOF
    fail "combined log lines are not nginx's combined" "$tmp/combined.check" \
    "$tmp/combined.log"
# json: one object a line, nginx's variable names, escape=json.
python3 - "$tmp/json.log" >"$tmp/json.check" 2>&1 <<'EOF' ||
import json, sys
names = ["remote_addr", "remote_user", "time_local", "request", "status",
         "body_bytes_sent", "http_referer", "http_user_agent",
         "ssl_client_s_dn", "ssl_client_verify"]
statuses = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert list(o) == names, list(o)
    assert o["ssl_client_s_dn"] == "CN=client,OU=testers,O=libmtls test"
    assert o["ssl_client_verify"] == "SUCCESS" and o["remote_user"] == ""
    statuses.append(o["status"])
    if o["request"] == "GET /ok HTTP/1.1":
        assert o["http_referer"] == 'https://example.org/"x"', o
        assert o["http_user_agent"] == "agent\\1", o
        assert o["body_bytes_sent"] > 0
assert sorted(statuses) == [200, 400, 408, 413, 414, 431, 501, 505], statuses
print("ok")
EOF
    fail "json log lines" "$tmp/json.check" "$tmp/json.log"
say "ok: access-log formats: nginx's combined (+ subject, verdict) and json with nginx's names"

# ------------------------------------------------ signals: USR1, logrotate
start_mtls_server rot "${ID[@]}" --workers 2 --access-log "$tmp/access.log" \
    --error-log "$tmp/error.log" --pid-file "$tmp/srv.pid"
P=$SERVER_PORT
[ "$(cat "$tmp/srv.pid")" = "$SERVER_PID" ] ||
    fail "--pid-file does not hold the server's PID" "$tmp/srv.pid"
# Four clients of 40 keep-alive requests each while the logs are rotated.
urls=()
for i in $(seq 1 40); do
	urls+=("https://localhost:$P/r$i")
done
load_pids=()
for c in 1 2 3 4; do
	start_bg "load$c" "$CURL_BIN" -sS --max-time 30 --cacert "$PKI/ca.crt" \
	    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" -o /dev/null \
	    -w '%{http_code}\n' "${urls[@]}"
	load_pids+=("$BG_PID")
done
sleep 0.3
mv "$tmp/access.log" "$tmp/access.log.1"
mv "$tmp/error.log" "$tmp/error.log.1"
kill -USR1 "$SERVER_PID"
wait_file_contains "$tmp/error.log" "reopened the log files" 10 "$SERVER_PID" ||
    fail "no 'reopened the log files' in the new error log" "$tmp/error.log.1"
for pid in "${load_pids[@]}"; do
	wait_bg "$pid" 30 || fail "a load client failed" "$tmp"/load*.err
done
fetch after_rotation /after-rotation "${CLIENT[@]}"
status_is after_rotation 200
expect_server_log "$tmp/access.log" "/after-rotation" "$SERVER_PID"
answered=$(cat "$tmp"/load*.out | grep -c '^200$')
logged=$(cat "$tmp/access.log.1" "$tmp/access.log" | grep -c '"GET /r')
[ "$answered" -eq 160 ] && [ "$logged" -eq 160 ] ||
    fail "rotation: $answered answered, $logged logged (160 each expected)" \
    "$tmp/access.log.1" "$tmp/access.log"
# USR2 (nginx's binary upgrade) is said to be unsupported; nothing stops.
kill -USR2 "$SERVER_PID"
wait_file_contains "$tmp/error.log" "SIGUSR2 ignored" 10 "$SERVER_PID" ||
    fail "no word on SIGUSR2" "$tmp/error.log"
fetch after_usr2 / "${CLIENT[@]}"
status_is after_usr2 200
kill -TERM "$SERVER_PID"
wait_bg "$SERVER_PID" 10
status=$?
[ "$status" -eq 0 ] || fail "exit $status after SIGTERM" "$tmp/error.log"
[ ! -e "$tmp/srv.pid" ] || fail "--pid-file left after the exit"
say "ok: USR1 after a logrotate-style rename: $logged of $answered lines, the new ones in the new files; USR2 refused in words; the pid file written and removed"

# ---------------------------------------- signals: QUIT graceful, TERM fast
mkdir -p "$tmp/www"
head -c 40000000 /dev/zero >"$tmp/www/big.bin"
printf 'small\n' >"$tmp/www/small.txt"
# stop_case NAME SIGNALS...: a download read at 4 MB/s (10 s) and an idle
# keep-alive connection when SIGNALS are sent, 0.2 s apart, one second in.
# Sets got (bytes downloaded), dl (curl's exit) and stopped_in (seconds
# from the first signal to the server's exit).
stop_case() {
	local name=$1 sig t0 idle
	shift
	start_mtls_server "$name" "${ID[@]}" --root "$tmp/www" \
	    --pid-file "$tmp/$name.pid"
	P=$SERVER_PORT
	start_bg "${name}_dl" "$CURL_BIN" -sS --max-time 30 --cacert "$PKI/ca.crt" \
	    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" --limit-rate 4M \
	    -o "$tmp/$name.bin" "https://localhost:$P/big.bin"
	local dl_pid=$BG_PID
	start_bg "${name}_idle" bash -c '{ printf "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"; sleep 20; } |
	    { "$@"; echo "s_client ended" >&2; }' _ "$OPENSSL" s_client -quiet \
	    -connect "127.0.0.1:$P" -CAfile "$PKI/ca.crt" "${CLIENT[@]}"
	idle=$BG_PID
	wait_file_contains "$tmp/${name}_idle.out" "HTTP/1.1 200" 10 "$idle" ||
	    fail "$name: the idle connection got no answer" "$tmp/${name}_idle.err"
	sleep 1
	t0=$(date +%s%N)
	for sig in "$@"; do
		kill "-$sig" "$SERVER_PID"
		sleep 0.2
	done
	# Stopping, it accepts no one: refused at once.
	run "${name}_new" "$CURL_BIN" -sS --max-time 5 --cacert "$PKI/ca.crt" \
	    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/"
	expect_status "${name}_new" "$rc" 7
	# The idle connection is closed at once, in both stops.
	wait_file_contains "$tmp/${name}_idle.err" "s_client ended" 3 ||
	    fail "$name: the idle keep-alive connection was not closed" \
	    "$tmp/${name}_idle.err"
	stop_bg "$idle"
	wait_bg "$SERVER_PID" 20
	status=$?
	stopped_in=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$status" -eq 0 ] || fail "$name: exit $status" "$tmp/$name.err"
	[ ! -e "$tmp/$name.pid" ] || fail "$name: pid file left"
	wait_bg "$dl_pid" 20
	dl=$?
	got=$(stat -c %s "$tmp/$name.bin" 2>/dev/null || echo 0)
}
stop_case quit QUIT
[ "$dl" -eq 0 ] && [ "$got" -eq 40000000 ] ||
    fail "QUIT: the download was cut (curl $dl, $got bytes)" "$tmp/quit_dl.err" \
    "$tmp/quit.err"
expect_contains "$tmp/quit.err" "SIGQUIT: stopping gracefully"
say "ok: QUIT: idle connection closed, new ones refused, the download finished whole ($got bytes), exit 0 after ${stopped_in} ms"
stop_case term TERM
[ "$dl" -ne 0 ] && [ "$got" -lt 40000000 ] ||
    fail "TERM: the download was not cut (curl $dl, $got bytes)" "$tmp/term.err"
[ "$stopped_in" -lt 4000 ] || fail "TERM: the stop took $stopped_in ms"
say "ok: TERM: the download cut after the grace ($got bytes), exit 0 after ${stopped_in} ms"
stop_case quit_term QUIT TERM
[ "$dl" -ne 0 ] && [ "$got" -lt 40000000 ] ||
    fail "QUIT then TERM: the download was not cut (curl $dl, $got bytes)" \
    "$tmp/quit_term.err"
[ "$stopped_in" -lt 4000 ] || fail "QUIT then TERM: the stop took $stopped_in ms"
say "ok: QUIT then TERM: the graceful stop hurried ($got bytes), exit 0 after ${stopped_in} ms"

# -------------------------------------------- --proxy: nginx's variables
skip_proxy=
if [ -z "$NGINX_BIN" ] || ! command -v "$NGINX_BIN" >/dev/null 2>&1; then
	say "skip: nginx not found: the identity headers are not compared"
	skip_proxy=1
fi
if [ -z "$skip_proxy" ]; then
	PB=$(free_port)     # nginx, a plain backend echoing the headers
	PT=$(free_port)     # nginx, mTLS, echoing its own variables
	vars="verify s_dn i_dn serial fingerprint escaped_cert v_start v_end v_remain"
	echo_headers= echo_vars=
	for v in $vars; do
		h=$v
		[ "$v" = fingerprint ] && h=fingerprint_sha1
		echo_headers="$echo_headers$v=\$http_x_ssl_client_$h\\n"
		echo_vars="$echo_vars$v=\$ssl_client_$v\\n"
	done
	{
		nginx_conf_head
		cat <<EOF
    server {
        listen 127.0.0.1:$PB;
        location / {
            return 200 "$echo_headers";
        }
        location /ours {
            return 200 "sha256=\$http_x_ssl_client_fingerprint_sha256\\nplain=\$http_x_ssl_client_fingerprint\\nreal_ip=\$http_x_real_ip\\nproto=\$http_x_forwarded_proto\\n";
        }
    }
    server {
        listen 127.0.0.1:$PT ssl;
        ssl_certificate $PKI/server.crt;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca.crt;
        ssl_verify_client on;
        ssl_verify_depth 3;
        location / {
            return 200 "$echo_vars";
        }
    }
}
EOF
	} >"$tmp/nginx.conf"
	start_nginx_conf "$PB" "$PT"
	start_mtls_server px "${ID[@]}" --verify-client optional \
	    --verify-depth 3 --proxy "http://127.0.0.1:$PB"
	P=$SERVER_PORT
	# Two certificates: a leaf of the root, and one with its chain.
	for pair in "client.crt client.key" "client-deep-chain.crt client-deep.key"; do
		set -- $pair
		fetch "ours_$1" / --cert "$PKI/$1" --key "$PKI/$2" \
		    -H 'X-SSL-Client-Fingerprint-SHA1: forged' \
		    -H 'X-SSL-Client-Escaped-Cert: forged' -H 'X-SSL-Client-V-Remain: 9999'
		status_is "ours_$1" 200
		P=$PT fetch "nginx_$1" / --cert "$PKI/$1" --key "$PKI/$2"
		status_is "nginx_$1" 200
		cmp -s "$tmp/ours_$1.out" "$tmp/nginx_$1.out" ||
		    fail "$1: the headers differ from nginx's variables" \
		    "$tmp/ours_$1.out" "$tmp/nginx_$1.out"
		expect_not_contains "$tmp/ours_$1.out" "forged"
		expect_contains "$tmp/ours_$1.out" "escaped_cert=-----BEGIN%20CERTIFICATE-----%0A"
		say "ok: --proxy, $1: X-SSL-Client-* equal nginx's \$ssl_client_* (verify, DNs, serial, SHA-1 fingerprint, escaped cert, v_start, v_end, v_remain)"
	done
	# Ours: the SHA-256 under a name that says so, beside nginx's SHA-1.
	fetch ours_sha256 /ours "${CLIENT[@]}" \
	    -H 'X-SSL-Client-Fingerprint: forged'
	status_is ours_sha256 200
	sha256=$("$OPENSSL" x509 -in "$PKI/client.crt" -noout -fingerprint -sha256 |
	    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	expect_contains "$tmp/ours_sha256.out" "sha256=$sha256"
	# The unsuffixed name is not sent, and a client's is dropped.
	grep -qx 'plain=' "$tmp/ours_sha256.out" ||
	    fail "X-SSL-Client-Fingerprint reached the backend" "$tmp/ours_sha256.out"
	expect_contains "$tmp/ours_sha256.out" "real_ip=127.0.0.1"
	expect_contains "$tmp/ours_sha256.out" "proto=https"
	# No certificate (optional): "-" for each, as before.
	fetch ours_none / -H 'X-SSL-Client-Verify: SUCCESS'
	status_is ours_none 200
	expect_contains "$tmp/ours_none.out" "verify=NONE"
	expect_contains "$tmp/ours_none.out" "escaped_cert=-"
	expect_contains "$tmp/ours_none.out" "v_remain=-"
	stop_bg "$SERVER_PID"
	say "ok: --proxy: X-SSL-Client-Fingerprint-SHA256 carries SHA-256, -SHA1 nginx's, the unsuffixed name none; none forged; '-' without a certificate"
fi

# ------------------------- no message names a C function or constant
# (the library's messages are for C programs; mtls-server names options).
start_mtls_server depth "${ID[@]}" --verify-depth 1
P=$SERVER_PORT
mark_log "$tmp/depth.err"
fetch deep / --cert "$PKI/client-deeper-chain.crt" --key "$PKI/client-deeper.key"
expect_server_log "$tmp/depth.err" "raise it with --verify-depth" "$SERVER_PID"
stop_bg "$SERVER_PID"
if grep -E 'mtls_(config|http|server_new|server_set|client_new|listen|accept|wake|set)[a-z_]*|MTLS_[A-Z_]+' \
    "$tmp"/*.err "$tmp"/error.log* \
    >"$tmp/c_names.txt" 2>/dev/null; then
	fail "a message names a C function or constant" "$tmp/c_names.txt"
fi
say "ok: no message of mtls-server names a C function or constant"
exit 0
