#!/bin/sh
# mtls_proxy.sh - the two proxies, with nginx on both sides of them:
#   - mtls-proxy: plain HTTP from curl on loopback, forwarded to nginx
#     with `ssl_verify_client on`, presenting the client certificate (the
#     seed's proxy_pass https:// + proxy_ssl_certificate set-up);
#   - mtls-server --proxy: mTLS from curl, forwarded to a plain nginx
#     backend with the client's identity in X-SSL-Client-* headers, which a
#     client cannot forge.
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
[ -n "$PT" ] && [ -n "$PB" ] && [ "$PT" != "$PB" ] || fail "free_port failed"
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
        listen 127.0.0.1:$PB;
        location / {
            return 200 "method=\$request_method body=\$http_x_body verify=\$http_x_ssl_client_verify dn=\$http_x_ssl_client_s_dn proto=\$http_x_forwarded_proto\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"
start_nginx_conf "$PT" "$PB"

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
    --proxy "http://127.0.0.1:$PB"
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
stop_bg "$SERVER_PID"
start_mtls_server rev2 --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt" --proxy "http://127.0.0.1:$DEAD"
P=$SERVER_PORT
get rev_down "https://localhost:$P/" --cacert "$PKI/ca.crt" \
    --resolve "localhost:$P:127.0.0.1" --cert "$PKI/client.crt" \
    --key "$PKI/client.key"
answered rev_down 502 "Bad Gateway"
stop_bg "$SERVER_PID"
exit 0
