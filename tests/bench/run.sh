#!/bin/bash
# run.sh - `make bench`: full and resumed mTLS handshakes per second, each
# with one HTTP request, against nginx and against libmtls's own server
# (examples/mtls-echo, until mtls-server exists), with the same
# certificates (ECDSA P-256 and RSA-2048), the same client (the
# handshake_bench program, on libmtls) and on loopback.  The two servers
# alternate, ROUNDS times each; medians and the libmtls/nginx ratio are
# printed.  Every run is bounded by COUNT handshakes and SECONDS.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

: "${ROUNDS:=3}" "${COUNT:=3000}" "${SECONDS_MAX:=15}" "${THREADS:=4}"
BENCH=$top_builddir/tests/bench/handshake_bench
[ -x "$BENCH" ] || fail "$BENCH not built (make bench builds it)"
skip_unless_bin nginx "$NGINX_BIN"
tmpdir
need_pki
need_mtls_echo
mkdir -p "$tmp/html"

# Each DIR holds server.crt/.key, client.crt/.key and the ca.crt of both.
# start_nginx DIR: nginx with two workers (one per core), requiring
# client certificates, answering every request with a short body.
start_nginx() {
	NGINX_PORT=$(free_port)
	{
		nginx_conf_head 2
		cat <<EOF
    ssl_certificate $1/server.crt;
    ssl_certificate_key $1/server.key;
    ssl_client_certificate $1/ca.crt;
    ssl_verify_client on;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        location / { return 200 "hello\n"; }
    }
}
EOF
	} >"$tmp/nginx.conf"
	start_bg nginx "$NGINX_BIN" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log"
	NGINX_PID=$BG_PID
	wait_port "$NGINX_PORT" "$NGINX_PID"
}

start_mtls() {
	MTLS_PORT=$(free_port)
	start_bg mtls "$MTLS_ECHO" server --listen "127.0.0.1:$MTLS_PORT" \
	    --cert "$1/server.crt" --key "$1/server.key" --cacert "$1/ca.crt"
	MTLS_PID=$BG_PID
	wait_port "$MTLS_PORT" "$MTLS_PID"
}

# rate DIR PORT MODE: one bounded run; prints handshakes per second.
rate() {
	local line
	line=$("$BENCH" localhost "$2" "$1/client.crt" "$1/client.key" \
	    "$1/ca.crt" "$COUNT" "$SECONDS_MAX" "$THREADS" "$3" 2>"$tmp/bench.err") ||
	    fail "bench against port $2 ($3) failed: $line" "$tmp/bench.err"
	sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$line"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# compare LABEL DIR MODE
compare() {
	local i n m
	: >"$tmp/n.txt"
	: >"$tmp/m.txt"
	start_nginx "$2"
	start_mtls "$2"
	for ((i = 0; i < ROUNDS; i++)); do
		rate "$2" "$NGINX_PORT" "$3" >>"$tmp/n.txt"
		rate "$2" "$MTLS_PORT" "$3" >>"$tmp/m.txt"
	done
	stop_bg "$NGINX_PID"
	stop_bg "$MTLS_PID"
	n=$(median <"$tmp/n.txt")
	m=$(median <"$tmp/m.txt")
	printf '%-28s nginx %8.1f/s   libmtls %8.1f/s   ratio %.2f\n' "$1" "$n" \
	    "$m" "$(awk -v a="$m" -v b="$n" 'BEGIN { print a / b }')"
}

echo "mTLS handshakes + 1 request, $THREADS client threads, median of $ROUNDS"
echo "runs of up to $COUNT handshakes / ${SECONDS_MAX}s each; $(nproc) cores"
compare "ECDSA P-256, full" "$PKI" full
compare "ECDSA P-256, resumed" "$PKI" resume
compare "RSA-2048 (seed), full" "$PKI/seed" full
compare "RSA-2048 (seed), resumed" "$PKI/seed" resume
