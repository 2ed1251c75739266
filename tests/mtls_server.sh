#!/bin/sh
# mtls_server.sh - mtls-server against the clients people test with: curl
# as the seed articles type it, and `openssl s_client` for raw requests.
#
# What it shows: nginx's client-certificate modes (on, optional with a
# protected prefix), allow-lists, static files, keep-alive, bad requests
# answered while other clients go on being served, a silent client that
# blocks nobody, SIGHUP reloading certificates (and keeping the old ones
# when the new files are bad), and clear errors for bad options and files.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki

ID=(--cert "$PKI/server.crt" --key "$PKI/server.key" --client-ca "$PKI/ca.crt")
CLIENT=(--cert "$PKI/client.crt" --key "$PKI/client.key")

# answered NAME CODE [TEXT]: curl got HTTP status CODE (and TEXT).
answered() {
	expect_status "$1" "$rc" 0
	[ "$(tail -n 1 "$tmp/$1.out")" = "$2" ] ||
	    fail "$1: expected HTTP $2" "$tmp/$1.out" "$tmp/$1.err"
	[ -z "$3" ] || expect_contains "$tmp/$1.out" "$3"
	say "ok: $1: $2 $3"
}

# refused NAME TEXT: curl failed and the server's stderr says TEXT.
refused() {
	[ "$rc" -ne 0 ] || fail "$1: curl succeeded" "$tmp/$1.out"
	expect_server_log "$tmp/srv.err" "$2" "$SERVER_PID"
	say "ok: $1: curl status $rc, server: $2"
}

# raw NAME BYTES ARG...: BYTES sent through `openssl s_client` with the
# client certificate; the answer is in $tmp/NAME.out.
raw() {
	local name=$1
	RUN_INPUT=$2
	shift 2
	run "$name" "$OPENSSL" s_client -quiet -connect "127.0.0.1:$P" \
	    -servername localhost -CAfile "$PKI/ca.crt" "${CLIENT[@]}" "$@"
	unset RUN_INPUT
}

# paused NAME SECONDS: two requests over one connection, SECONDS apart, so
# that the connection is idle (parked, with no thread) in between; the
# answers are in $tmp/NAME.out.
paused() {
	{
		printf 'GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n'
		sleep "$2"
		printf 'GET /second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	} | timeout -k 5 "$TEST_TIMEOUT" "$OPENSSL" s_client -quiet \
	    -connect "127.0.0.1:$P" -servername localhost -CAfile "$PKI/ca.crt" \
	    "${CLIENT[@]}" >"$tmp/$1.out" 2>"$tmp/$1.err"
}

# answers NAME N: $tmp/NAME.out holds N HTTP answers.
answers() {
	[ "$(grep -c '^HTTP/1.1 200 OK' "$tmp/$1.out")" = "$2" ] ||
	    fail "$1: expected $2 answers" "$tmp/$1.out" "$tmp/$1.err"
}

# ------------------------------------------------- required (the default)
start_mtls_server srv "${ID[@]}"
P=$SERVER_PORT

fetch pem / "${CLIENT[@]}"
answered pem 200 "verify: SUCCESS"
expect_contains "$tmp/pem.out" "subject: CN=client,OU=testers,O=libmtls test"
expect_contains "$tmp/pem.out" "issuer: CN=libmtls Test Root CA"
expect_contains "$tmp/pem.out" "uri: spiffe://example.org/ns/test/sa/client"
# One access-log line, nginx's combined with the client's identity.
expect_server_log "$tmp/srv.out" \
    '"GET / HTTP/1.1" 200' "$SERVER_PID"
expect_contains "$tmp/srv.out" '"-" "curl/'

expect_contains "$tmp/srv.out" '"CN=client,OU=testers,O=libmtls test" SUCCESS'

fetch combined / --cert "$PKI/client-combined.pem"
answered combined 200 "verify: SUCCESS"
fetch p12 / --cert "$PKI/client.p12:p12pass" --cert-type P12
answered p12 200 "verify: SUCCESS"

mark_log "$tmp/srv.err"
fetch nocert /
refused nocert "client presented no certificate"
mark_log "$tmp/srv.err"
fetch selfsigned / --cert "$PKI/selfsigned.crt" --key "$PKI/selfsigned.key"
refused selfsigned "client certificate not trusted"

# Keep-alive: two URLs, one connection.
run keepalive "$CURL_BIN" -sS -v --max-time 15 --cacert "$PKI/ca.crt" \
    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" \
    "https://localhost:$P/one" "https://localhost:$P/two"
expect_status keepalive "$rc" 0
expect_contains "$tmp/keepalive.err" "Re-using existing connection"
say "ok: keepalive: two requests over one connection"

# A silent client holds up nobody: its connection stays open meanwhile.
exec 3<>"/dev/tcp/127.0.0.1/$P" || fail "cannot open a silent connection"
fetch beside_silent / "${CLIENT[@]}"
answered beside_silent 200 "verify: SUCCESS"

# A smuggling attempt is answered 400 and the connection ends; the server
# goes on serving others.  Standard error names the one rule broken, and
# the access log has the refused request, as nginx's does.
mark_log "$tmp/srv.err"
mark_log "$tmp/srv.out"
raw smuggle $'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_contains "$tmp/smuggle.out" "HTTP/1.1 400 Bad Request"
expect_contains "$tmp/smuggle.out" "Connection: close"
expect_server_log "$tmp/srv.err" "sent a bad HTTP request: it has both Content-Length and Transfer-Encoding (RFC 9112, 6.3); answered 400" "$SERVER_PID"
expect_not_contains "$tmp/srv.err" "malformed or ambiguous"
expect_server_log "$tmp/srv.out" '"POST / HTTP/1.1" 400 0 "-" "-" "CN=client,OU=testers,O=libmtls test" SUCCESS' "$SERVER_PID"
say "ok: smuggle: answered 400 and closed; the cause and the access-log line written"
raw pipelined $'GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
[ "$(grep -c '^HTTP/1.1 200 OK' "$tmp/pipelined.out")" = 2 ] ||
    fail "pipelined: expected two answers" "$tmp/pipelined.out"
say "ok: pipelined: two answers"
exec 3<&-
fetch after_bad / "${CLIENT[@]}"
answered after_bad 200 "verify: SUCCESS"
# Idle keep-alive connections give up their threads and are served again
# when their next request comes, three at once.
pids=()
for i in 1 2 3; do
	paused parked$i 1 &
	pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3; do
	answers parked$i 2
done
say "ok: parked: three idle connections answered again"
stop_bg "$SERVER_PID"

# --keepalive-timeout: an idle connection is closed once it has passed.
start_mtls_server srv "${ID[@]}" --keepalive-timeout 1
P=$SERVER_PORT
paused expired 4
answers expired 1
say "ok: keepalive-timeout: the idle connection was closed"
stop_bg "$SERVER_PID"

# ------------------------------- optional, with the seed's protected prefix
start_mtls_server srv "${ID[@]}" --verify-client optional --protect /secure
P=$SERVER_PORT
fetch open_nocert /open
answered open_nocert 200 "verify: NONE"
fetch secure_nocert /secure/data
answered secure_nocert 403 "needs a verified client certificate"
expect_server_log "$tmp/srv.out" '"GET /secure/data HTTP/1.1" 403' \
    "$SERVER_PID"
# The prefix is matched on the decoded, normalized path, as nginx matches
# locations: no spelling of it walks past.
for spelling in /%73ecure/data //secure/data /./secure/data /open/../secure/data; do
	fetch secure_spelled "$spelling" --path-as-is
	answered secure_spelled 403 "needs a verified client certificate"
done
fetch secure_cert /secure/data "${CLIENT[@]}"
answered secure_cert 200 "verify: SUCCESS"
# optional still refuses a certificate that fails, as nginx does.
mark_log "$tmp/srv.err"
fetch optional_selfsigned /open --cert "$PKI/selfsigned.crt" \
    --key "$PKI/selfsigned.key"
refused optional_selfsigned "client certificate not trusted"
stop_bg "$SERVER_PID"

# ------------------------------------------------------------ allow-lists
start_mtls_server srv "${ID[@]}" --allow-uri 'spiffe://example.org/ns/*/sa/client'
P=$SERVER_PORT
fetch allow_uri / "${CLIENT[@]}"
answered allow_uri 200 "verify: SUCCESS"
stop_bg "$SERVER_PID"
start_mtls_server srv "${ID[@]}" --allow-cn billing --allow-ou payments
P=$SERVER_PORT
mark_log "$tmp/srv.err"
fetch allow_none / "${CLIENT[@]}"
refused allow_none "none of that matches the allow-list"
expect_contains "$tmp/srv.err" "CN=client"
stop_bg "$SERVER_PID"

# ---------------------------------------------------------- static files
mkdir -p "$tmp/www/docs"
printf '<h1>hi</h1>\n' >"$tmp/www/index.html"
head -c 300000 /dev/urandom >"$tmp/www/docs/blob.bin"
start_mtls_server srv "${ID[@]}" --root "$tmp/www" --max-body 10
P=$SERVER_PORT
fetch index / "${CLIENT[@]}"
answered index 200 "<h1>hi</h1>"
run blob "$CURL_BIN" -sS --max-time 15 --cacert "$PKI/ca.crt" "${CLIENT[@]}" \
    --resolve "localhost:$P:127.0.0.1" -o "$tmp/blob.got" \
    "https://localhost:$P/docs/blob.bin"
expect_status blob "$rc" 0
cmp -s "$tmp/www/docs/blob.bin" "$tmp/blob.got" ||
    fail "blob: the file served differs from the one on disk"
say "ok: blob: 300000 bytes served intact"
fetch missing /nothing-here "${CLIENT[@]}"
answered missing 404
fetch traversal /docs/../../etc/passwd "${CLIENT[@]}" --path-as-is
answered traversal 400
fetch post /index.html "${CLIENT[@]}" -d 'x=1'
answered post 405
fetch too_big /index.html "${CLIENT[@]}" -d 'twenty bytes of data'
answered too_big 413
run headreq "$CURL_BIN" -sS -I --max-time 15 --cacert "$PKI/ca.crt" \
    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" \
    "https://localhost:$P/index.html"
expect_status headreq "$rc" 0
expect_contains "$tmp/headreq.out" "Content-Length: 12"
expect_contains "$tmp/headreq.out" "Content-Type: text/html"
say "ok: head: length and type, no body"
stop_bg "$SERVER_PID"

# ---------------------------------------------------- SIGHUP: rotation
cp "$PKI/server.crt" "$tmp/live.crt"
cp "$PKI/server.key" "$tmp/live.key"
start_mtls_server srv --cert "$tmp/live.crt" --key "$tmp/live.key" \
    --client-ca "$PKI/ca.crt"
P=$SERVER_PORT
fetch before / -v "${CLIENT[@]}"
answered before 200
expect_contains "$tmp/before.err" "issuer: CN=libmtls Test Root CA"
cp "$PKI/server-chain.crt" "$tmp/live.crt"
cp "$PKI/server-int.key" "$tmp/live.key"
mark_log "$tmp/srv.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/srv.err" "reloaded certificates" "$SERVER_PID"
fetch rotated / -v "${CLIENT[@]}"
answered rotated 200
expect_contains "$tmp/rotated.err" "issuer: CN=libmtls Test Intermediate CA"
# A bad file: the reload fails, says why, and the last good set stays.
printf 'not a certificate\n' >"$tmp/live.crt"
mark_log "$tmp/srv.err"
kill -HUP "$SERVER_PID"
expect_server_log "$tmp/srv.err" "reload failed, the previous certificates stay in use" \
    "$SERVER_PID"
expect_contains "$tmp/srv.err" "live.crt"
fetch kept / -v "${CLIENT[@]}"
answered kept 200
expect_contains "$tmp/kept.err" "issuer: CN=libmtls Test Intermediate CA"
# SIGTERM ends it with status 0.
kill -TERM "$SERVER_PID"
wait_bg "$SERVER_PID" 10
status=$?
[ "$status" -eq 0 ] || fail "mtls-server exited $status after SIGTERM" \
    "$tmp/srv.err"
say "ok: SIGTERM: exit 0"

# ------------------------------------------------------- bad invocations
run noport "$MTLS_SERVER" --listen 127.0.0.1 "${ID[@]}"
expect_status noport "$rc" 1
expect_contains "$tmp/noport.err" "needs a port"
run badmode "$MTLS_SERVER" --listen 127.0.0.1:0 "${ID[@]}" --verify-client maybe
expect_status badmode "$rc" 1
expect_contains "$tmp/badmode.err" "on, optional or optional_no_ca"
run nofile "$MTLS_SERVER" --listen 127.0.0.1:0 --cert "$tmp/nope.crt" \
    --key "$PKI/server.key" --client-ca "$PKI/ca.crt"
expect_status nofile "$rc" 2
expect_contains "$tmp/nofile.err" "nope.crt"
run mismatch "$MTLS_SERVER" --listen 127.0.0.1:0 --cert "$PKI/server.crt" \
    --key "$PKI/client.key" --client-ca "$PKI/ca.crt"
expect_status mismatch "$rc" 2
expect_contains "$tmp/mismatch.err" "does not match"
run noca "$MTLS_SERVER" --listen 127.0.0.1:0 --cert "$PKI/server.crt" \
    --key "$PKI/server.key"
expect_status noca "$rc" 2
expect_contains "$tmp/noca.err" "no --client-ca FILE"
say "ok: bad invocations: exit 1 for usage, 2 for files, each naming the cause"
# ------------------------------------ issue 11: methods and header lines
# As nginx: a method is case-sensitive, and one header line must fit in
# 8 KiB (large_client_header_buffers 4 8k) whatever room the head has.
# mtls-server answers an unknown method 501 (nginx: 400 for "get"), a long
# header line 431 (nginx: 400) and a long request line 414, and closes.
start_mtls_server lines "${ID[@]}"
P=$SERVER_PORT
# long_line N: a header line "X-Long: yyy..." of N bytes, CRLF not counted.
long_line() {
	printf 'X-Long: %s' "$(head -c $(($1 - 8)) /dev/zero | tr '\0' y)"
}
raw lowercase $'get / HTTP/1.1\r\nHost: localhost\r\n\r\n'
expect_contains "$tmp/lowercase.out" "HTTP/1.1 501 Not Implemented"
expect_contains "$tmp/lowercase.out" "Connection: close"
expect_server_log "$tmp/lines.err" \
    "its method 'get' is not one the server knows (methods are case-sensitive" \
    "$SERVER_PID"
expect_server_log "$tmp/lines.out" '"get / HTTP/1.1" 501 0' "$SERVER_PID"
say "ok: lowercase method: 501 and closed, the cause and the access-log line written"
raw line_at_limit "GET / HTTP/1.1"$'\r\n'"Host: localhost"$'\r\n'"$(long_line 8192)"$'\r\nConnection: close\r\n\r\n'
expect_contains "$tmp/line_at_limit.out" "HTTP/1.1 200 OK"
mark_log "$tmp/lines.err"
raw line_over "GET / HTTP/1.1"$'\r\n'"Host: localhost"$'\r\n'"$(long_line 8193)"$'\r\n\r\n'
expect_contains "$tmp/line_over.out" "HTTP/1.1 431 "
expect_contains "$tmp/line_over.out" "Connection: close"
expect_server_log "$tmp/lines.err" \
    "a header line is longer than 8192 bytes (--max-header-line); answered 431" \
    "$SERVER_PID"
raw request_line_over "GET /$(head -c 8179 /dev/zero | tr '\0' a) HTTP/1.1"$'\r\nHost: localhost\r\n\r\n'
expect_contains "$tmp/request_line_over.out" "HTTP/1.1 414 "
say "ok: a header line of 8192 bytes served, 8193 answered 431; a request line of 8193 answered 414"
stop_bg "$SERVER_PID"
# --max-header-line sets both lines, with nginx's k suffix.
start_mtls_server lines1k "${ID[@]}" --max-header-line 1k
P=$SERVER_PORT
raw line_1k "GET / HTTP/1.1"$'\r\n'"Host: localhost"$'\r\n'"$(long_line 1024)"$'\r\nConnection: close\r\n\r\n'
expect_contains "$tmp/line_1k.out" "HTTP/1.1 200 OK"
raw line_over_1k "GET / HTTP/1.1"$'\r\n'"Host: localhost"$'\r\n'"$(long_line 1025)"$'\r\n\r\n'
expect_contains "$tmp/line_over_1k.out" "HTTP/1.1 431 "
expect_server_log "$tmp/lines1k.err" "longer than 1024 bytes" "$SERVER_PID"
raw request_line_over_1k "GET /$(head -c 1011 /dev/zero | tr '\0' a) HTTP/1.1"$'\r\nHost: localhost\r\n\r\n'
expect_contains "$tmp/request_line_over_1k.out" "HTTP/1.1 414 "
stop_bg "$SERVER_PID"
run badline "$MTLS_SERVER" --listen 127.0.0.1:0 "${ID[@]}" --max-header-line 8x
expect_status badline "$rc" 1
expect_contains "$tmp/badline.err" "--max-header-line takes a size"
say "ok: --max-header-line 1k: 1024 bytes served, 1025 answered 431, a request line of 1025 answered 414"
exit 0
