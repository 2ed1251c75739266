#!/bin/sh
# mtls_server_status.sh - mtls-server --status-listen (issue 14): the
# option's addresses (no host or a bare port is 127.0.0.1), a plain-HTTP
# listener of its own answering /_status (JSON; 200 while serving, 503
# during a graceful stop) and /_metrics (Prometheus's text format), 404
# elsewhere and /_metrics nothing special on the TLS port.  After
# handshakes that pass and fail (no certificate, an untrusted CA),
# answers 200, 404, 400 and 413, and a good and a bad reload, the
# counters are exactly what happened, the requests and body bytes agree
# with the access log, and the expiry gauges with `openssl x509 -enddate`
# and `openssl crl -nextupdate`.  The text is checked by an awk parser of
# the format (always) and by `promtool check metrics` (when installed).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki

ID=(--key "$PKI/server.key" --client-ca "$tmp/client-ca.pem"
    --crl "$PKI/crl.pem")
CLIENT=(--cert "$PKI/client.crt" --key "$PKI/client.key")

# status_get NAME PATH ARG...: plain curl http://127.0.0.1:$SP/PATH, the
# head and body in $tmp/NAME.out, the status on its last line.
status_get() {
	local name=$1 path=$2
	shift 2
	run "$name" "$CURL_BIN" -sS -i --max-time 10 -w '\n%{http_code}\n' \
	    "$@" "http://127.0.0.1:$SP$path"
}

# scrape NAME: /_metrics into $tmp/NAME.txt, with curl's time in
# scrape_ms.
scrape() {
	run "$1" "$CURL_BIN" -sS --max-time 10 -o "$tmp/$1.txt" \
	    -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$SP/_metrics"
	expect_status "$1" "$rc" 0
	[ "$(cut -d' ' -f1 "$tmp/$1.out")" = 200 ] ||
	    fail "$1: /_metrics did not answer 200" "$tmp/$1.out" "$tmp/$1.err"
	scrape_ms=$(awk '{ printf "%.1f", $2 * 1000 }' "$tmp/$1.out")
}

# value FILE SERIES: the value of SERIES (name and labels, exactly as
# written) in FILE, or nothing.
value() {
	# By the environment: awk -v would read the label's \\ as \.
	SERIES=$2 awk 'BEGIN { k = ENVIRON["SERIES"] }
	substr($0, 1, length(k) + 1) == k " " {
		print substr($0, length(k) + 2) }' "$1"
}

# expect_value FILE SERIES N: SERIES is N in FILE.
expect_value() {
	local got
	got=$(value "$1" "$2")
	[ "$got" = "$3" ] ||
	    fail "$2 is '${got:-absent}', expected $3" "$1"
}

# wait_value SERIES N: scrapes until SERIES is N (what the server counts
# when a client has gone: a connection closed), 10 s at most.
wait_value() {
	local i
	for ((i = 0; i < 100; i++)); do
		scrape wait
		[ "$(value "$tmp/wait.txt" "$1")" = "$2" ] && return 0
		alive "$SERVER_PID" || break
		sleep 0.1
	done
	fail "$1 did not become $2 within 10 s" "$tmp/wait.txt" "$tmp/st.err"
}

# check_format FILE: every line of FILE is a HELP, a TYPE or a sample
# "name{label="value",...} number" of the family whose TYPE line came
# last (its own), label values escaped as the format says (\\, \", \n),
# no series twice, no family typed twice; counters not negative.
check_format() {
	awk '
	function bad(msg) {
		printf "line %d: %s: %s\n", NR, msg, $0
		failed = 1
	}
	# The label set at the start of s ("{" included): its length in
	# setlen, and "" or what is wrong with it.
	function labels(s,    i, c, d) {
		i = 2
		if (substr(s, i, 1) == "}") { setlen = 2; return "" }
		for (;;) {
			if (!match(substr(s, i), /^[a-zA-Z_][a-zA-Z0-9_]*="/))
				return "label name and =\" expected at " i
			i += RLENGTH
			for (;;) {
				c = substr(s, i, 1)
				if (c == "") return "unterminated label value"
				if (c == "\\") {
					d = substr(s, i + 1, 1)
					if (d != "\\" && d != "\"" && d != "n")
						return "bad escape \\" d
					i += 2
					continue
				}
				i++
				if (c == "\"") break
			}
			c = substr(s, i, 1)
			i++
			if (c == "}") { setlen = i - 1; return "" }
			if (c != ",") return "\",\" or \"}\" expected after a label"
			if (substr(s, i, 1) == "}") { setlen = i; return "" }
		}
	}
	# What is wrong with the sample line, or "".
	function sample(    name, rest, err, series) {
		if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) return "no metric name"
		name = substr($0, 1, RLENGTH)
		rest = substr($0, RLENGTH + 1)
		if (name != family) return "a sample of " name " not after its TYPE line"
		setlen = 0
		if (substr(rest, 1, 1) == "{" && (err = labels(rest)) != "")
			return err
		series = name substr(rest, 1, setlen)
		rest = substr(rest, setlen + 1)
		if (rest !~ /^ [-+]?([0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|NaN|Inf)( -?[0-9]+)?$/)
			return "a value expected after the name and labels"
		if (series in seen) return "series twice"
		seen[series] = 1
		if (typed[family] == "counter" && substr(rest, 2, 1) == "-")
			return "a negative counter"
		samples++
		return ""
	}
	/^# HELP / {
		if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) bad("bad HELP name")
		next
	}
	/^# TYPE / {
		if (NF != 4 || $3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ ||
		    $4 !~ /^(counter|gauge|histogram|summary|untyped)$/)
			bad("bad TYPE line")
		if ($3 in typed) bad("second TYPE line for " $3)
		typed[$3] = $4
		family = $3
		families++
		next
	}
	/^#/ { next }
	{ if ((err = sample()) != "") bad(err) }
	END {
		if (failed) exit 1
		printf "%d samples of %d families\n", samples, families
	}' "$1" 2>&1
}

# promtool FILE: Prometheus's own check, when installed.
promtool_check() {
	command -v promtool >/dev/null 2>&1 || return 0
	promtool check metrics <"$1" >"$tmp/promtool.out" 2>&1 ||
	    fail "promtool check metrics" "$tmp/promtool.out" "$1"
	promtool_used=passed
}

# ------------------------------------------------------ the command line
cli() {
	local name=$1 status=$2 text=$3
	shift 3
	run "$name" "$MTLS_SERVER" "$@"
	expect_status "$name" "$rc" "$status"
	expect_contains "$tmp/$name.err" "$text"
}
cp "$PKI/server.crt" "$tmp/server.crt"
# A client CA whose name needs escaping in a label ("\ and \\ in RFC
# 2253, each escaped again in the label), beside the test root.
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/quote-ca.key" -out "$tmp/quote-ca.crt" -days 2 \
    -subj '/CN=Quote "q" back\\slash/O=Status Test' 2>"$tmp/req.err" ||
    fail "openssl req (the quoted CA)" "$tmp/req.err"
cat "$PKI/ca.crt" "$tmp/quote-ca.crt" >"$tmp/client-ca.pem"
SRV=(--cert "$tmp/server.crt" "${ID[@]}")
for bad in "127.0.0.1:" "127.0.0.1:http" "127.0.0.1:99999" "[::1" ""; do
	cli "bad_address" 1 "--status-listen '$bad' needs a port" \
	    --listen 127.0.0.1:0 "${SRV[@]}" --status-listen "$bad"
done
cli stub_status 1 "for nginx's stub_status, use --status-listen" \
    --stub_status on
run help "$MTLS_SERVER" --help
expect_contains "$tmp/help.out" "--status-listen ADDR:PORT"
say "ok: --status-listen refuses an address without a port; --help and nginx's stub_status name it"

# A bare port is 127.0.0.1's; a port taken is exit 3, naming the option.
start_mtls_server bare "${SRV[@]}" --status-listen 0
expect_contains "$tmp/bare.out" "status on 127.0.0.1:"
SP=$(sed -n 's/^status on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/bare.out")
[ -n "$SP" ] || fail "no port in the status line" "$tmp/bare.out"
cli taken 3 "--status-listen '127.0.0.1:$SP': cannot listen" \
    --listen 127.0.0.1:0 "${SRV[@]}" --status-listen "127.0.0.1:$SP"
stop_bg "$SERVER_PID"
say "ok: --status-listen 0 listens on 127.0.0.1; a port taken exits 3"

# ------------------------------------------------------------- serving
mkdir -p "$tmp/www"
printf 'hello\n' >"$tmp/www/index.html"
head -c 40000000 /dev/zero >"$tmp/www/big.bin"
start_mtls_server st "${SRV[@]}" --root "$tmp/www" --max-body 10 \
    --workers 2 --access-log "$tmp/access.log" --access-log-format json \
    --status-listen :0
P=$SERVER_PORT
SP=$(sed -n 's/^status on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/st.out")
[ -n "$SP" ] || fail "--status-listen :0: no 'status on 127.0.0.1:PORT' line" \
    "$tmp/st.out"

# The status listener speaks plain HTTP, and only it has /_metrics.
status_get status /_status
expect_contains "$tmp/status.out" '{"ok":true,"status":"ok","message":"listening"}'
expect_contains "$tmp/status.out" "Content-Type: application/json"
[ "$(tail -n 1 "$tmp/status.out")" = 200 ] || fail "/_status: not 200" "$tmp/status.out"
status_get head /_status -I
[ "$(tail -n 1 "$tmp/head.out")" = 200 ] || fail "HEAD /_status: not 200" "$tmp/head.out"
for path in / /metrics /_status/x /_metricsx; do
	status_get other "$path"
	[ "$(tail -n 1 "$tmp/other.out")" = 404 ] ||
	    fail "status listener: $path is not 404" "$tmp/other.out"
done
status_get post /_metrics -X POST
[ "$(tail -n 1 "$tmp/post.out")" = 405 ] || fail "POST /_metrics: not 405" "$tmp/post.out"
expect_contains "$tmp/post.out" "Allow: GET, HEAD"
run tls "$CURL_BIN" -sS --max-time 10 -k "https://127.0.0.1:$SP/_status"
[ "$rc" -ne 0 ] || fail "the status listener answered TLS" "$tmp/tls.out"
run plain_on_tls "$CURL_BIN" -sS --max-time 10 "http://127.0.0.1:$P/_metrics"
expect_not_contains "$tmp/plain_on_tls.out" "mtls_server_"
say "ok: /_status 200 with JSON, HEAD too; 404 beside it, 405 for POST; plain HTTP only"

# What is counted: handshakes, answers, reloads.
fetch ok /index.html "${CLIENT[@]}" "https://localhost:$P/index.html"
status_is ok 200
[ "$(grep -c '^200$' "$tmp/ok.out")" -eq 2 ] ||
    fail "two answers expected on one connection" "$tmp/ok.out"
fetch tls_metrics /_metrics "${CLIENT[@]}"
status_is tls_metrics 404
fetch climb /../etc/passwd "${CLIENT[@]}" --path-as-is
status_is climb 400
printf 'POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' |
    timeout -k 5 "$TEST_TIMEOUT" "$OPENSSL" s_client -quiet \
    -connect "127.0.0.1:$P" -servername localhost -CAfile "$PKI/ca.crt" \
    "${CLIENT[@]}" >"$tmp/big.out" 2>"$tmp/big.err"
expect_contains "$tmp/big.out" "HTTP/1.1 413 "
fetch no_cert /
[ "$rc" -ne 0 ] || fail "a client without a certificate was served" "$tmp/no_cert.out"
fetch other_ca / --cert "$PKI/other-client.crt" --key "$PKI/other-client.key"
[ "$rc" -ne 0 ] || fail "a client of another CA was served" "$tmp/other_ca.out"
mark_log "$tmp/st.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/st.err" "reloaded certificates" "$SERVER_PID"
printf 'not a certificate\n' >"$tmp/server.crt"
mark_log "$tmp/st.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/st.err" "reload failed, the previous certificates stay in use" \
    "$SERVER_PID"
cp "$PKI/server.crt" "$tmp/server.crt"
# Counted before they are logged: the access log's lines (5) and the
# error log's two refusals say that every count is made.
wait_file_contains "$tmp/st.err" "client presented no certificate" 10 \
    "$SERVER_PID" || fail "no refusal for the client without a certificate" \
    "$tmp/st.err"
wait_file_contains "$tmp/st.err" "client certificate not trusted" 10 \
    "$SERVER_PID" || fail "no refusal for the client of another CA" "$tmp/st.err"
for ((i = 0; i < 100; i++)); do
	[ "$(wc -l <"$tmp/access.log")" -ge 5 ] && break
	sleep 0.1
done
[ "$(wc -l <"$tmp/access.log")" -eq 5 ] ||
    fail "5 access-log lines expected" "$tmp/access.log"
wait_value mtls_server_connections_open 0
scrape metrics
now=$(date +%s)
M=$tmp/metrics.txt
check_format "$M" >"$tmp/format.out" ||
    fail "/_metrics is not Prometheus's text format" "$tmp/format.out" "$M"
promtool_check "$M"
expect_value "$M" 'mtls_server_connections_open' 0
expect_value "$M" 'mtls_server_handshakes_total{result="ok"}' 4
expect_value "$M" 'mtls_server_handshakes_total{result="failed",reason="no_certificate"}' 1
expect_value "$M" 'mtls_server_handshakes_total{result="failed",reason="untrusted"}' 1
# plain_on_tls, plain HTTP on the TLS port: no TLS at all.
expect_value "$M" 'mtls_server_handshakes_total{result="failed",reason="protocol"}' 1
for reason in not_allowed timeout closed tls other; do
	expect_value "$M" "mtls_server_handshakes_total{result=\"failed\",reason=\"$reason\"}" 0
done
expect_value "$M" 'mtls_server_requests_total{code="200"}' 2
expect_value "$M" 'mtls_server_requests_total{code="404"}' 1
expect_value "$M" 'mtls_server_requests_total{code="400"}' 1
expect_value "$M" 'mtls_server_requests_total{code="413"}' 1
[ "$(grep -c '^mtls_server_requests_total{' "$M")" -eq 4 ] ||
    fail "statuses never answered are listed" "$M"
expect_value "$M" 'mtls_server_reloads_total{result="ok"}' 1
expect_value "$M" 'mtls_server_reloads_total{result="failed"}' 1
# Requests and bytes as the access log has them.
logged_bytes=$(awk 'match($0, /"body_bytes_sent":[0-9]+/) {
	n += substr($0, RSTART + 18, RLENGTH - 18) } END { print n + 0 }' \
    "$tmp/access.log")
[ "$logged_bytes" -gt 0 ] || fail "no body bytes in the access log" "$tmp/access.log"
expect_value "$M" 'mtls_server_response_body_bytes_total' "$logged_bytes"
for code in 200 400 404 413; do
	[ "$(grep -c "\"status\":$code," "$tmp/access.log")" = \
	    "$(value "$M" "mtls_server_requests_total{code=\"$code\"}")" ] ||
	    fail "requests with status $code: the access log and /_metrics differ" \
	    "$tmp/access.log" "$M"
done
say "ok: exact counts: 4 handshakes ok, 1 without a certificate, 1 untrusted, 1 plain HTTP (protocol); 200 x2, 400, 404, 413; $logged_bytes body bytes as logged; reloads 1 ok, 1 failed; 0 connections open"

# The expiry gauges, each within 5 s of what openssl reads in the files.
# expect_seconds SERIES END: SERIES is END (openssl's date) minus now.
expect_seconds() {
	local got want
	got=$(value "$M" "$1")
	want=$(( $(date -d "$2" +%s) - now ))
	[ -n "$got" ] || fail "no $1" "$M"
	[ "${got#-}" = "$got" ] && [ $((got - want)) -le 5 ] &&
	    [ $((want - got)) -le 5 ] ||
	    fail "$1 is $got, openssl says $want (ends $2)" "$M"
}
# series KIND FILE: the gauge's name and labels for the certificate FILE.
series() {
	local subject serial
	subject=$("$OPENSSL" x509 -in "$2" -noout -subject -nameopt RFC2253 |
	    sed 's/^subject=//; s/\\/\\\\/g; s/"/\\"/g')
	serial=$("$OPENSSL" x509 -in "$2" -noout -serial | sed 's/^serial=//')
	printf 'mtls_server_certificate_expiry_seconds{kind="%s",subject="%s",serial="%s"}' \
	    "$1" "$subject" "$serial"
}
enddate() {
	"$OPENSSL" x509 -in "$1" -noout -enddate | sed 's/^notAfter=//'
}
expect_seconds "$(series server "$PKI/server.crt")" "$(enddate "$PKI/server.crt")"
expect_seconds "$(series client_ca "$PKI/ca.crt")" "$(enddate "$PKI/ca.crt")"
quoted=$(series client_ca "$tmp/quote-ca.crt")
case $quoted in
*'CN=Quote \\\"q\\\" back\\\\slash'*) ;;
*) fail "the quoted CA's subject is not escaped twice: $quoted" ;;
esac
expect_seconds "$quoted" "$(enddate "$tmp/quote-ca.crt")"
[ "$(grep -c '^mtls_server_certificate_expiry_seconds{' "$M")" -eq 3 ] ||
    fail "3 certificates expected: ours and the two client CAs" "$M"
crl_issuer=$("$OPENSSL" crl -in "$PKI/crl.pem" -noout -issuer -nameopt RFC2253 |
    sed 's/^issuer=//')
expect_seconds "mtls_server_crl_next_update_seconds{issuer=\"$crl_issuer\"}" \
    "$("$OPENSSL" crl -in "$PKI/crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')"
days=$(( $(value "$M" "$(series server "$PKI/server.crt")") / 86400 ))
say "ok: expiry gauges within 5 s of openssl's dates: ours ($days days), both client CAs (one named with \" and \\), the CRL's next update"
lines=$(wc -l <"$M")
say "ok: $(cat "$tmp/format.out") in $lines lines, scraped in $scrape_ms ms; promtool check metrics: ${promtool_used:-not installed}"

# ----------------------------------- /_status during a graceful stop
# A download read at 100 KB/s: bigger than what the sockets' buffers
# take (32 MiB at most here), it is under way until the TERM ends it.
start_bg slow "$CURL_BIN" -sS --max-time 60 --cacert "$PKI/ca.crt" \
    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" --limit-rate 100K \
    -o "$tmp/big.bin" "https://localhost:$P/big.bin"
slow=$BG_PID
for ((i = 0; i < 100; i++)); do
	[ -s "$tmp/big.bin" ] && break
	alive "$slow" || break
	sleep 0.1
done
[ -s "$tmp/big.bin" ] || fail "the download did not begin" "$tmp/slow.err"
kill -QUIT "$SERVER_PID"
for ((i = 0; i < 100; i++)); do
	status_get stopping /_status
	[ "$(tail -n 1 "$tmp/stopping.out")" = 503 ] && break
	alive "$SERVER_PID" || fail "the server ended before /_status said 503" \
	    "$tmp/st.err" "$tmp/stopping.out"
	sleep 0.1
done
[ "$(tail -n 1 "$tmp/stopping.out")" = 503 ] ||
    fail "/_status did not answer 503 during the graceful stop" "$tmp/stopping.out"
expect_contains "$tmp/stopping.out" '{"ok":false,"status":"stopping","message":"stopping"}'
alive "$slow" || fail "the download ended before the 503 was seen" \
    "$tmp/slow.err"
scrape during
expect_value "$tmp/during.txt" mtls_server_connections_open 1
# TERM hurries the stop: the download is cut after its grace.
kill -TERM "$SERVER_PID"
wait_bg "$SERVER_PID" 20
status=$?
[ "$status" -eq 0 ] || fail "exit $status after SIGQUIT and SIGTERM" "$tmp/st.err"
! port_open "$SP" || fail "the status port still answers after the exit"
stop_bg "$slow"
say "ok: SIGQUIT with a download under way: /_status 503 (stopping) and /_metrics still served until the exit; exit 0, the status port closed"
exit 0
