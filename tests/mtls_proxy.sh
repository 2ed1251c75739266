#!/bin/sh
# mtls_proxy.sh - the two proxies, with nginx on both sides of them:
#   - mtls-proxy: plain HTTP from curl on loopback, forwarded to nginx
#     with `ssl_verify_client on`, presenting the client certificate (the
#     seed's proxy_pass https:// + proxy_ssl_certificate set-up);
#   - mtls-server --proxy: mTLS from curl, forwarded to a plain nginx
#     backend with the client's identity in X-SSL-Client-* headers, which a
#     client cannot forge; on the event loops: big bodies read slowly,
#     keep-alive to the backend, a client trickled through split-relay, a
#     backend that does not answer (504), and no thread per request that
#     waits for the backend.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin nginx "$NGINX_BIN"
skip_unless_bin curl "$CURL_BIN"
tmpdir
need_pki
PROXY=$top_builddir/examples/mtls-proxy
[ -x "$PROXY" ] || fail "$PROXY not built"

PT=$(free_port)     # nginx, mTLS required
PB=$(free_port)     # nginx, plain backend
PV=$(free_port)     # nginx, mTLS behind the PROXY protocol
[ -n "$PT" ] && [ -n "$PB" ] && [ -n "$PV" ] && [ "$PT" != "$PB" ] &&
    [ "$PV" != "$PT" ] && [ "$PV" != "$PB" ] || fail "free_port failed"
{
	nginx_conf_head
	cat <<EOF
    client_body_buffer_size 64k;
    log_format reuse '\$request_uri conn=\$connection n=\$connection_requests reused=\$ssl_session_reused';
    server {
        listen 127.0.0.1:$PT ssl;
        ssl_certificate $PKI/server.crt;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca.crt;
        ssl_verify_client on;
        access_log $tmp/tls.log reuse;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn host=\$host\n";
        }
        location /echo {
            proxy_pass http://127.0.0.1:$PB;
            proxy_set_header X-Body \$request_body;
        }
    }
    server {
        listen 127.0.0.1:$PV ssl proxy_protocol;
        ssl_certificate $PKI/server.crt;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca.crt;
        ssl_verify_client on;
        access_log off;
        location / {
            return 200 "client=\$proxy_protocol_addr:\$proxy_protocol_port server=\$proxy_protocol_server_addr verify=\$ssl_client_verify\n";
        }
    }
    server {
        listen 127.0.0.1:$PB;
        access_log $tmp/backend.log reuse;
        location /files/ {
            limit_rate_after 0;
        }
        location /slow/ {
            alias $tmp/html/files/;
            limit_rate 100k;
        }
        location / {
            return 200 "method=\$request_method body=\$http_x_body verify=\$http_x_ssl_client_verify dn=\$http_x_ssl_client_s_dn proto=\$http_x_forwarded_proto real=\$http_x_real_ip xff=\$http_x_forwarded_for\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"
mkdir -p "$tmp/html/files"
head -c 3000000 /dev/urandom >"$tmp/html/files/big.bin"
start_nginx_conf "$PT" "$PB" "$PV"

# get NAME URL ARG...: curl, with the HTTP status on the last line.
get() {
	local name=$1 url=$2
	shift 2
	run "$name" "$CURL_BIN" -sS --max-time 15 -w '\n%{http_code}\n' "$@" "$url"
}

# answered NAME CODE TEXT: curl got HTTP status CODE and TEXT.
answered() {
	expect_status "$1" "$rc" 0
	[ "$(tail -n 1 "$tmp/$1.out")" = "$2" ] ||
	    fail "$1: expected HTTP $2" "$tmp/$1.out" "$tmp/$1.err"
	expect_contains "$tmp/$1.out" "$3"
	say "ok: $1: $2 $3"
}

# ------------------------------------------------------------ mtls-proxy
start_listener proxy "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$PT" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/ca.crt"
PP=$SERVER_PORT
PROXY_PID=$SERVER_PID

get fwd "http://127.0.0.1:$PP/"
answered fwd 200 "verify=SUCCESS dn=CN=client,OU=testers,O=libmtls test host=localhost"
get post "http://127.0.0.1:$PP/echo" -d 'order=42'
answered post 200 "method=POST body=order=42"
expect_server_log "$tmp/proxy.out" '"POST /echo HTTP/1.1" 200' "$PROXY_PID"

# Two requests on one local connection share one upstream connection.
run keep "$CURL_BIN" -sS --max-time 15 "http://127.0.0.1:$PP/k1" \
    "http://127.0.0.1:$PP/k2"
expect_status keep "$rc" 0
expect_server_log "$tmp/tls.log" "/k2 conn=" "$NGINX_PID"
c1=$(sed -n 's|^/k1 conn=\([0-9]*\) .*|\1|p' "$tmp/tls.log")
c2=$(sed -n 's|^/k2 conn=\([0-9]*\) n=2 .*|\1|p' "$tmp/tls.log")
[ -n "$c1" ] && [ "$c1" = "$c2" ] ||
    fail "keep: /k1 and /k2 did not share one upstream connection" "$tmp/tls.log"
say "ok: keep: one upstream connection for two requests"

# A new local connection makes a new upstream one, resuming the session.
get resume1 "http://127.0.0.1:$PP/r1"
get resume2 "http://127.0.0.1:$PP/r2"
answered resume2 200 "verify=SUCCESS"
expect_server_log "$tmp/tls.log" "/r2 conn=" "$NGINX_PID"
grep -q '^/r2 conn=[0-9]* n=1 reused=r' "$tmp/tls.log" ||
    fail "resume: the second upstream connection did not resume" "$tmp/tls.log"
say "ok: resume: the upstream TLS session was reused"
stop_bg "$PROXY_PID"

# --send-proxy-v2: nginx (listen ... proxy_protocol) learns the local
# client's address and port, and the address it reached.
start_listener proxyv2 "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$PV" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/ca.crt" --send-proxy-v2
PP2=$SERVER_PORT PP2_PID=$SERVER_PID
get ppv2 "http://127.0.0.1:$PP2/" --interface 127.0.0.2 --local-port 41000-41999
answered ppv2 200 "server=127.0.0.1 verify=SUCCESS"
grep -q '^client=127\.0\.0\.2:41[0-9][0-9][0-9] ' "$tmp/ppv2.out" ||
    fail "ppv2: nginx was not told the client 127.0.0.2:41xxx" "$tmp/ppv2.out"
say "ok: ppv2: nginx's \$proxy_protocol_addr is the local client's"
# The same header to mtls-server --proxy-protocol: its access log.
start_mtls_server ppsrv --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --proxy-protocol
PPS=$SERVER_PORT PPS_PID=$SERVER_PID
start_listener proxyv2b "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$PPS" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/ca.crt" --send-proxy-v2
get ppv2b "http://127.0.0.1:$SERVER_PORT/" --interface 127.0.0.2
answered ppv2b 200 "verify: SUCCESS"
expect_server_log "$tmp/ppsrv.out" '127.0.0.2 - - [' "$PPS_PID"
say "ok: ppv2b: mtls-server --proxy-protocol logged the local client 127.0.0.2"
stop_bg "$SERVER_PID"
stop_bg "$PPS_PID"
stop_bg "$PP2_PID"
# Without --send-proxy-v2, nginx's proxy_protocol listener refuses
# mtls-proxy: 502.
start_listener proxyv2c "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$PV" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/ca.crt"
get ppnone "http://127.0.0.1:$SERVER_PORT/"
answered ppnone 502 "Bad Gateway"
stop_bg "$SERVER_PID"

# The upstream's certificate is checked: a wrong CA gives 502, and says why.
start_listener proxy2 "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$PT" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/other-ca.crt"
get untrusted "http://127.0.0.1:$SERVER_PORT/"
answered untrusted 502 "server certificate not trusted"
expect_contains "$tmp/proxy2.err" "server certificate not trusted"
stop_bg "$SERVER_PID"

# Nothing listens upstream: 502 naming the cause.
DEAD=$(free_port)
start_listener proxy3 "$PROXY" --listen "127.0.0.1:@PORT@" \
    --upstream "https://localhost:$DEAD" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --cacert "$PKI/ca.crt"
get down "http://127.0.0.1:$SERVER_PORT/"
answered down 502 "Connection refused"
stop_bg "$SERVER_PID"

# A plain listener on a routable address would lend our certificate to
# anyone: refused unless asked for by name.
run anyaddr "$PROXY" --listen 0.0.0.0:0 --upstream "https://localhost:$PT" \
    --cert "$PKI/client.crt" --key "$PKI/client.key" --cacert "$PKI/ca.crt"
expect_status anyaddr "$rc" 1
expect_contains "$tmp/anyaddr.err" "not a loopback address"
run badup "$PROXY" --listen 127.0.0.1:0 --upstream "http://localhost:$PT" \
    --cert "$PKI/client.crt" --key "$PKI/client.key" --cacert "$PKI/ca.crt"
expect_status badup "$rc" 1
expect_contains "$tmp/badup.err" "is not a https:// URL"
run badkey "$PROXY" --listen 127.0.0.1:0 --upstream "https://localhost:$PT" \
    --cert "$PKI/client.crt" --key "$PKI/server.key" --cacert "$PKI/ca.crt"
expect_status badkey "$rc" 2
expect_contains "$tmp/badkey.err" "does not match"
say "ok: bad invocations refused, each naming the cause"

# ------------------------------------------------- mtls-server --proxy
start_mtls_server rev --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --verify-client optional \
    --proxy "http://127.0.0.1:$PB" --workers 2
P=$SERVER_PORT
TLS=(--cacert "$PKI/ca.crt" --resolve "localhost:$P:127.0.0.1")
get rev_cert "https://localhost:$P/app" "${TLS[@]}" \
    --cert "$PKI/client.crt" --key "$PKI/client.key"
answered rev_cert 200 "verify=SUCCESS dn=CN=client,OU=testers,O=libmtls test proto=https"
# Without a certificate the backend hears NONE, whatever the client claims.
get rev_forged "https://localhost:$P/app" "${TLS[@]}" \
    -H "X-SSL-Client-Verify: SUCCESS" -H "X-SSL-Client-S-DN: CN=admin"
answered rev_forged 200 "verify=NONE dn=- "
expect_not_contains "$tmp/rev_forged.out" "CN=admin"
get rev_post "https://localhost:$P/app" "${TLS[@]}" \
    --cert "$PKI/client.crt" --key "$PKI/client.key" -d 'a=1'
answered rev_post 200 "method=POST"
REV_PID=$SERVER_PID

# Behind a load balancer (curl --haproxy-protocol sends a v1 header with
# its own address, here 127.0.0.2): the backend hears that client, and
# not the X-Forwarded-For the client made up.
start_mtls_server revpp --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --proxy "http://127.0.0.1:$PB" \
    --proxy-protocol
PPR=$SERVER_PORT
get rev_pp "https://localhost:$PPR/app" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$PPR:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key" --haproxy-protocol --interface 127.0.0.2 \
    -H "X-Forwarded-For: 198.51.100.1"
answered rev_pp 200 "verify=SUCCESS dn=CN=client,OU=testers,O=libmtls test proto=https real=127.0.0.2 xff=127.0.0.2"
expect_not_contains "$tmp/rev_pp.out" "198.51.100.1"
expect_server_log "$tmp/revpp.out" '127.0.0.2 - - [' "$SERVER_PID"
# The same client without the header is refused, the error log says why.
get rev_nopp "https://localhost:$PPR/app" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$PPR:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key"
[ "$rc" != 0 ] || fail "rev_nopp: a client without a PROXY header was answered" \
    "$tmp/rev_nopp.out"
expect_server_log "$tmp/revpp.err" "a TLS hello: is the load balancer sending send-proxy-v2?" "$SERVER_PID"
stop_bg "$SERVER_PID"
say "ok: rev_pp: behind the PROXY protocol the backend hears the client's address"

# A big body from the backend, read fast and read slowly (the server
# waits for the client's socket, then for the backend's, on one loop).
want_sum=$(sha256sum <"$tmp/html/files/big.bin")
for rate in 0 1500k; do
	limit=()
	[ "$rate" = 0 ] || limit=(--limit-rate "$rate")
	run "big_$rate" "$CURL_BIN" -sS --max-time 30 "${TLS[@]}" \
	    --cert "$PKI/client.crt" --key "$PKI/client.key" "${limit[@]}" \
	    -o "$tmp/big_$rate.bin" "https://localhost:$P/files/big.bin"
	expect_status "big_$rate" "$rc" 0
	[ "$(sha256sum <"$tmp/big_$rate.bin")" = "$want_sum" ] ||
	    fail "big_$rate: the body differs from the backend's file"
done
say "ok: a 3 MB body relayed whole, fast and at 1.5 MB/s"

# Two requests on one client connection: one backend connection.
run rev_keep "$CURL_BIN" -sS --max-time 15 "${TLS[@]}" \
    --cert "$PKI/client.crt" --key "$PKI/client.key" \
    "https://localhost:$P/k1" "https://localhost:$P/k2"
expect_status rev_keep "$rc" 0
expect_server_log "$tmp/backend.log" "/k2 conn=" "$NGINX_PID"
c1=$(sed -n 's|^/k1 conn=\([0-9]*\) .*|\1|p' "$tmp/backend.log")
c2=$(sed -n 's|^/k2 conn=\([0-9]*\) n=2 .*|\1|p' "$tmp/backend.log")
[ -n "$c1" ] && [ "$c1" = "$c2" ] ||
    fail "rev_keep: /k1 and /k2 did not share one backend connection" \
    "$tmp/backend.log"
say "ok: rev_keep: one backend connection for two requests"

# A client whose bytes arrive one at a time (a slow network).
start_relay relay "$P" bytes 200
RP=$RELAY_PORT
get rev_trickled "https://localhost:$RP/app" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$RP:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key"
answered rev_trickled 200 "verify=SUCCESS dn=CN=client,OU=testers,O=libmtls test"
stop_bg "$RELAY_PID"

# Eight slow downloads at once: the requests wait for the backend on the
# loops, with no thread each.
for i in 1 2 3 4 5 6 7 8; do
	"$CURL_BIN" -sS --max-time 30 "${TLS[@]}" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" -o "$tmp/slow$i.bin" \
	    "https://localhost:$P/slow/big.bin" -r 0-299999 \
	    2>"$tmp/slow$i.err" &
	slow_pids+=($!)
done
sleep 1
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$REV_PID/status")
for pid in "${slow_pids[@]}"; do
	wait "$pid" || fail "a slow download failed" "$tmp/slow1.err"
done
[ "$threads" -le 4 ] ||
    fail "$threads threads while 8 requests waited for the backend (2 workers)"
for i in 1 2 3 4 5 6 7 8; do
	cmp -s "$tmp/slow$i.bin" <(head -c 300000 "$tmp/html/files/big.bin") ||
	    fail "slow download $i differs from the backend's file"
done
say "ok: 8 slow backend answers relayed with $threads threads (2 workers)"
stop_bg "$REV_PID"
start_mtls_server rev2 --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --proxy "http://127.0.0.1:$DEAD"
P=$SERVER_PORT
get rev_down "https://localhost:$P/" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$P:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key"
answered rev_down 502 "Bad Gateway"
expect_contains "$tmp/rev_down.out" "Connection refused"
stop_bg "$SERVER_PID"

# A backend that does not answer in time: 504, naming the wait.  (The
# relay holds the request back two seconds a byte.)
start_relay stall "$PB" bytes 2000000
STALL_PID=$RELAY_PID
SP=$RELAY_PORT
start_mtls_server rev3 --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --proxy "http://127.0.0.1:$SP" \
    --proxy-read-timeout 1
P=$SERVER_PORT
get rev_stall "https://localhost:$P/" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$P:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key"
answered rev_stall 504 "Gateway Timeout"
expect_contains "$tmp/rev_stall.out" "timed out after 1000 ms"
expect_contains "$tmp/rev3.err" "127.0.0.1:$SP"
stop_bg "$SERVER_PID"
stop_bg "$STALL_PID"
exit 0
