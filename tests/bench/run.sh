#!/bin/bash
# run.sh - `make bench`: mtls-server against nginx on loopback, with the
# same certificates (ECDSA P-256 and RSA-2048), the same files, and the
# same clients (handshake_bench and request_bench, on libmtls):
#   - full and resumed mTLS handshakes per second, one request each;
#   - keep-alive requests per second over one and over several
#     connections;
#   - bulk transfer of a 16 MiB file, MB/s;
#   - server memory per idle connection, with IDLE connections open.
# The two servers alternate, ROUNDS times each; medians and the
# mtls-server/nginx ratio are printed (for memory, lower is better).
# Then the Ruby binding against Net::HTTP (tests/bench/ruby_bench.rb).
# Every run is bounded by a count and SECONDS_MAX.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

: "${ROUNDS:=3}" "${COUNT:=3000}" "${SECONDS_MAX:=10}" "${THREADS:=4}"
: "${REQUESTS:=20000}" "${BULK_COUNT:=40}" "${IDLE:=1000}"
HS_BENCH=$top_builddir/tests/bench/handshake_bench
REQ_BENCH=$top_builddir/tests/bench/request_bench
for b in "$HS_BENCH" "$REQ_BENCH"; do
	[ -x "$b" ] || fail "$b not built (make bench builds it)"
done
skip_unless_bin nginx "$NGINX_BIN"
tmpdir
need_pki
[ -x "$MTLS_SERVER" ] || fail "$MTLS_SERVER not built"
mkdir -p "$tmp/html"
printf 'hello\n' >"$tmp/html/index.html"
head -c $((16 << 20)) /dev/urandom >"$tmp/html/bulk.bin"
# IDLE connections need a descriptor each on both sides.
ulimit -n $((IDLE * 2 + 256)) 2>/dev/null

# Each DIR holds server.crt/.key, client.crt/.key and the ca.crt of both.
# start_nginx DIR: nginx with two workers (one per core), requiring client
# certificates, serving $tmp/html.
start_nginx() {
	NGINX_PORT=$(free_port)
	{
		nginx_conf_head 2
		cat <<EOF
    ssl_certificate $1/server.crt;
    ssl_certificate_key $1/server.key;
    ssl_client_certificate $1/ca.crt;
    ssl_verify_client on;
    # Debian's nginx 1.22 offers only up to TLS 1.2 unless told: compare
    # TLS 1.3 with TLS 1.3.
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
    }
}
EOF
	} >"$tmp/nginx.conf"
	start_nginx_conf "$NGINX_PORT"
}

# start_mtls DIR: mtls-server with the same certificates and files.
start_mtls() {
	start_mtls_server mtls --cert "$1/server.crt" --key "$1/server.key" \
	    --client-ca "$1/ca.crt" --root "$tmp/html" \
	    --max-connections $((IDLE + 100))
	MTLS_PORT=$SERVER_PORT
	MTLS_PID=$SERVER_PID
}

# hs DIR PORT MODE: handshakes per second, one bounded run.
hs() {
	local line
	line=$("$HS_BENCH" localhost "$2" "$1/client.crt" "$1/client.key" \
	    "$1/ca.crt" "$COUNT" "$SECONDS_MAX" "$THREADS" "$3" 2>"$tmp/bench.err") ||
	    fail "handshakes against port $2 ($3) failed: $line" "$tmp/bench.err"
	sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$line"
}

# req DIR PORT MODE COUNT THREADS PATH: requests/s or MB/s, one run.
req() {
	local line
	line=$("$REQ_BENCH" localhost "$2" "$1/client.crt" "$1/client.key" \
	    "$1/ca.crt" "$3" "$4" "$SECONDS_MAX" "$5" "$6" 2>"$tmp/bench.err") ||
	    fail "$3 against port $2 failed: $line" "$tmp/bench.err"
	sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$line"
}

# rss_kb PID: resident memory of PID and its children (nginx's workers).
rss_kb() {
	local total=0 p ppid kb
	for p in /proc/[0-9]*; do
		ppid=$(awk '{ print $4 }' "$p/stat" 2>/dev/null) || continue
		[ "${p#/proc/}" = "$1" ] || [ "$ppid" = "$1" ] || continue
		kb=$(awk '/^VmRSS:/ { print $2 }' "$p/status" 2>/dev/null)
		total=$((total + ${kb:-0}))
	done
	echo "$total"
}

# idle_kb DIR PORT PID: server memory per idle connection, in KiB, with
# IDLE connections open (each made one request); one run.
idle_kb() {
	local before after client fifo=$tmp/idle.in
	before=$(rss_kb "$3")
	rm -f "$fifo"
	mkfifo "$fifo"
	"$REQ_BENCH" localhost "$2" "$1/client.crt" "$1/client.key" \
	    "$1/ca.crt" idle "$IDLE" 60 1 /index.html <"$fifo" \
	    >"$tmp/idle.out" 2>"$tmp/idle.err" &
	client=$!
	exec 5>"$fifo"
	wait_file_contains "$tmp/idle.out" "open" 60 "$client" ||
	    fail "idle connections did not open" "$tmp/idle.out" "$tmp/idle.err"
	grep -qx "open $IDLE" "$tmp/idle.out" ||
	    fail "not all $IDLE idle connections opened" "$tmp/idle.out" \
	    "$tmp/idle.err"
	sleep 1
	after=$(rss_kb "$3")
	echo >&5
	exec 5>&-
	wait "$client"
	awk -v a="$after" -v b="$before" -v n="$IDLE" \
	    'BEGIN { printf "%.1f\n", (a - b) / n }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# one_round DIR CMD [ARG...]: one run of CMD against each server; the
# word @PID@ in ARGs becomes the server's PID.
one_round() {
	local dir=$1 cmd=$2
	shift 2
	"$cmd" "$dir" "$NGINX_PORT" "${@//@PID@/$NGINX_PID}" >>"$tmp/n.txt"
	"$cmd" "$dir" "$MTLS_PORT" "${@//@PID@/$MTLS_PID}" >>"$tmp/m.txt"
}

start_both() {
	start_nginx "$1"
	start_mtls "$1"
}

stop_both() {
	stop_bg "$NGINX_PID"
	stop_bg "$MTLS_PID"
}

# compare LABEL UNIT DIR CMD [ARG...]: runs "CMD DIR PORT ARG..." against
# each server in turn, ROUNDS times; prints the medians and the ratio.
# With FRESH=1 both servers are started anew for each round (memory: a
# server reuses what an earlier round freed).
compare() {
	local label=$1 unit=$2 dir=$3 i n m
	shift 3
	: >"$tmp/n.txt"
	: >"$tmp/m.txt"
	[ "${FRESH:-0}" = 1 ] || start_both "$dir"
	for ((i = 0; i < ROUNDS; i++)); do
		[ "${FRESH:-0}" = 1 ] && start_both "$dir"
		one_round "$dir" "$@"
		[ "${FRESH:-0}" = 1 ] && stop_both
	done
	[ "${FRESH:-0}" = 1 ] || stop_both
	n=$(median <"$tmp/n.txt")
	m=$(median <"$tmp/m.txt")
	printf '%-36s nginx %9.1f %-5s mtls-server %9.1f %-5s ratio %.2f\n' \
	    "$label" "$n" "$unit" "$m" "$unit" \
	    "$(awk -v a="$m" -v b="$n" 'BEGIN { print (b > 0 ? a / b : 0) }')"
}

echo "mtls-server vs nginx (2 workers), loopback, $(nproc) cores; median of"
echo "$ROUNDS alternating runs, each bounded by its count and ${SECONDS_MAX}s"
compare "ECDSA P-256, full handshakes" "/s" "$PKI" hs full
compare "ECDSA P-256, resumed handshakes" "/s" "$PKI" hs resume
compare "RSA-2048 (seed), full handshakes" "/s" "$PKI/seed" hs full
compare "RSA-2048 (seed), resumed" "/s" "$PKI/seed" hs resume
compare "keep-alive, 1 connection" "req/s" "$PKI" req keepalive \
    "$REQUESTS" 1 /index.html
compare "keep-alive, $THREADS connections" "req/s" "$PKI" req keepalive \
    "$REQUESTS" "$THREADS" /index.html
compare "bulk 16 MiB, 1 connection" "MB/s" "$PKI" req bulk "$BULK_COUNT" 1 \
    /bulk.bin
FRESH=1 compare "memory per idle connection ($IDLE)" "KiB" "$PKI" idle_kb @PID@

# The Ruby binding against Net::HTTP, same certificates, same server.
if command -v ruby >/dev/null && ruby -e 'require "ffi"' 2>/dev/null; then
	start_mtls "$PKI"
	LIBMTLS_PATH=$top_builddir/.libs/libmtls.so.0 REQUESTS=$REQUESTS \
	    SECONDS_MAX=$SECONDS_MAX ROUNDS=$ROUNDS ruby \
	    -I "$top_srcdir/bindings/ruby/lib" "$top_srcdir/tests/bench/ruby_bench.rb" \
	    localhost "$MTLS_PORT" "$PKI/client.crt" "$PKI/client.key" "$PKI/ca.crt" ||
	    fail "ruby_bench failed"
	stop_bg "$MTLS_PID"
else
	echo "Ruby binding: skipped (ruby or ruby-ffi not installed)"
fi
