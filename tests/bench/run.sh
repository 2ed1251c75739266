#!/bin/bash
# run.sh - `make bench`: mtls-server beside nginx, lighttpd, haproxy and
# caddy on loopback, each started here with the same certificates (ECDSA
# P-256), client certificate required, TLS 1.3, and measured by the same
# client, tests/bench/load, which is written on libssl alone.  For each
# mode and server: the rate, the server's CPU per operation (user + system
# time of its processes, from /proc, over the operations) and its ratio to
# nginx's, as medians of ROUNDS rounds in which the servers alternate.
# Modes: full and resumed handshakes (one request each), keep-alive
# requests over 1, 4, 64 and 200 connections, bulk (a 16 MiB file), IDLE
# idle connections held (memory each, and how long a new client waits
# meanwhile), and good clients' p99 latency beside SILENT silent TCP
# connections.  A server that is not installed is skipped, with a line
# that says so.  Every run is bounded by its count and SECONDS_MAX.
# Then the Ruby binding against Net::HTTP (tests/bench/ruby_bench.rb).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

: "${ROUNDS:=3}" "${SECONDS_MAX:=10}" "${HANDSHAKES:=2000}"
: "${REQUESTS:=40000}" "${BULK_COUNT:=20}" "${IDLE:=19000}" "${SILENT:=2000}"
# The parts to run: rates (handshakes, keep-alive, bulk), held (idle and
# silent connections), ruby.
: "${PARTS:=rates held ruby}"
LOAD=$top_builddir/tests/bench/load
[ -x "$LOAD" ] || fail "$LOAD not built (make bench builds it)"
[ -x "$MTLS_SERVER" ] || fail "$MTLS_SERVER not built"
tmpdir
need_pki
mkdir -p "$tmp/html"
printf 'hello\n' >"$tmp/html/index.html"
head -c $((16 << 20)) /dev/urandom >"$tmp/html/bulk.bin"
cat "$PKI/server.crt" "$PKI/server.key" >"$tmp/server.pem"
# Each side of IDLE connections needs a descriptor each: the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -gt $((IDLE + 200)) ] || IDLE=$(($(ulimit -n) - 200))
MAXCONN=$((IDLE + 300))     # room for 200 keep-alive clients too
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------ the servers
# Each keeps idle connections 600 s: opening 19,000 of them takes a minute
# or two, which the usual 75 s (nginx's keepalive_timeout) would cut short.

conf_nginx() {
	cat <<EOF
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile $((MAXCONN + 100));
error_log $tmp/nginx-error.log;
pid $tmp/nginx.pid;
events { worker_connections $MAXCONN; }
http {
    access_log $tmp/nginx-access.log;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:$1 ssl;
        root $tmp/html;
        ssl_certificate $PKI/server.crt;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca.crt;
        ssl_verify_client on;
        ssl_protocols TLSv1.3;
    }
}
EOF
}

# lighttpd and haproxy count two descriptors for each connection they
# allow (server.max-fds/2; haproxy's maxconn needs a limit of twice it):
# at most half as many connections under the same descriptor limit.
HALF_MAX=$(($(ulimit -Hn) / 2 - 100))
[ "$HALF_MAX" -lt "$MAXCONN" ] || HALF_MAX=$MAXCONN

# How many idle connections NAME is asked to hold: IDLE, or what leaves
# lighttpd and haproxy room for one more client.
capacity() {
	case $1 in
	lighttpd | haproxy)
		[ $((HALF_MAX - 100)) -lt "$IDLE" ] && echo $((HALF_MAX - 100)) &&
		    return ;;
	esac
	echo "$IDLE"
}

conf_lighttpd() {
	cat <<EOF
server.modules = ( "mod_openssl" )
server.bind = "127.0.0.1"
server.port = $1
server.document-root = "$tmp/html"
server.errorlog = "$tmp/lighttpd-error.log"
server.max-fds = $(ulimit -Hn)
server.max-connections = $HALF_MAX
# (lighttpd keeps it in 16 bits: 1000000 would be 16960)
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 600
ssl.engine = "enable"
ssl.pemfile = "$PKI/server.crt"
ssl.privkey = "$PKI/server.key"
ssl.ca-file = "$PKI/ca.crt"
ssl.verifyclient.activate = "enable"
ssl.verifyclient.enforce = "enable"
ssl.openssl.ssl-conf-cmd = ( "MinProtocol" => "TLSv1.3" )
EOF
}

# haproxy serves no files: a fixed answer, as big as index.html.
conf_haproxy() {
	cat <<EOF
global
    nbthread 2
    maxconn $HALF_MAX
defaults
    mode http
    timeout client 600s
    timeout http-keep-alive 600s
    timeout connect 5s
    timeout server 60s
frontend bench
    bind 127.0.0.1:$1 ssl crt $tmp/server.pem ca-file $PKI/ca.crt verify required ssl-min-ver TLSv1.3
    http-request return status 200 content-type text/plain string "hello\n"
EOF
}

conf_caddy() {
	cat <<EOF
{
	admin off
	auto_https off
	storage file_system $tmp/caddy-data
	servers {
		timeouts {
			idle 10m
		}
	}
}
https://localhost:$1 {
	bind 127.0.0.1
	tls $PKI/server.crt $PKI/server.key {
		protocols tls1.3
		client_auth {
			mode require_and_verify
			trusted_ca_cert_file $PKI/ca.crt
		}
	}
	root * $tmp/html
	file_server
}
EOF
}

# The command that runs server NAME with its config file $tmp/NAME.conf.
server_cmd() {
	case $1 in
	mtls-server)
		echo "$MTLS_SERVER" --listen "127.0.0.1:$2" --cert "$PKI/server.crt" \
		    --key "$PKI/server.key" --client-ca "$PKI/ca.crt" \
		    --root "$tmp/html" --protocols TLSv1.3 --max-connections "$MAXCONN" \
		    --keepalive-timeout 600 ;;
	nginx) echo "$NGINX_BIN" -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" ;;
	lighttpd) echo lighttpd -D -f "$tmp/lighttpd.conf" ;;
	haproxy) echo haproxy -f "$tmp/haproxy.conf" ;;
	caddy) echo caddy run --adapter caddyfile --config "$tmp/caddy.conf" ;;
	esac
}

installed() {
	case $1 in
	mtls-server) return 0 ;;
	nginx) [ -n "$NGINX_BIN" ] && [ -x "$NGINX_BIN" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# start NAME: sets PORT_<NAME> and PID_<NAME> (variables named without '-').
start() {
	local name=$1 var=${1//-/_} port cmd
	port=$(free_port)
	[ "$name" = mtls-server ] || "conf_$name" "$port" >"$tmp/$name.conf"
	read -r -a cmd <<<"$(server_cmd "$name" "$port")"
	HOME=$tmp XDG_DATA_HOME=$tmp/xdg XDG_CONFIG_HOME=$tmp/xdg \
	    start_bg "$name" "${cmd[@]}"
	printf -v "PID_$var" '%s' "$BG_PID"
	printf -v "PORT_$var" '%s' "$port"
	wait_port "$port" "$BG_PID"
}

stop() {
	local var=PID_${1//-/_}
	stop_bg "${!var}"
}

# ticks PID: CPU time of PID and its children (nginx's workers), ticks.
ticks() {
	local total=0 p st
	for p in /proc/[0-9]*; do
		read -r -a st 2>/dev/null <"$p/stat" || continue
		[ "${p#/proc/}" = "$1" ] || [ "${st[3]}" = "$1" ] || continue
		total=$((total + st[13] + st[14]))
	done
	echo "$total"
}

# rss_kb PID: resident memory of PID and its children, KiB.
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

# load NAME MODE PATH COUNT CONNS: one run of the client against NAME;
# prints "rate server_us_per_op client_us_per_op p99_us".
load() {
	local var=${1//-/_} pid port before line ops
	pid=PID_$var port=PORT_$var
	before=$(ticks "${!pid}")
	line=$("$LOAD" "$2" localhost "${!port}" "$PKI/client.crt" \
	    "$PKI/client.key" "$PKI/ca.crt" "$3" "$4" "$SECONDS_MAX" "$5" \
	    2>"$tmp/load.err") || fail "$2 against $1 failed: $line" \
	    "$tmp/load.err" "$tmp/$1.err"
	ops=$(sed -n 's/.*ops=\([0-9]*\).*/\1/p' <<<"$line")
	awk -v l="$line" -v t="$(($(ticks "${!pid}") - before))" -v o="$ops" \
	    -v hz="$CLK_TCK" -v mb="$([ "$2" = bulk ] && echo 1 || echo 0)" '
	BEGIN { split(l, f, /[ =]/); for (i = 1; i < length(f); i += 2) v[f[i]] = f[i + 1]
		printf "%s %.1f %s %s\n", mb ? v["mbps"] : v["rate"],
		    t / hz * 1e6 / o, v["cpu_us_per_op"], v["p99_us"] }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

PEERS=()
for p in mtls-server nginx lighttpd haproxy caddy; do
	if installed "$p"; then
		PEERS+=("$p")
	else
		echo "$p: skipped (not installed: apt-get install $p)"
	fi
done
printf '%s\n' "${PEERS[@]}" | grep -qx nginx ||
    echo "nginx is not installed: no ratios (apt-get install nginx-light)"

# row LABEL UNIT MODE PATH COUNT CONNS: ROUNDS alternating runs; one line
# per server: median rate, server CPU per operation, ratio to nginx's,
# client CPU per operation.
row() {
	local label=$1 unit=$2 mode=$3 path=$4 n=$5 conns=$6 p r nginx_cpu
	local -A rate cpu client
	for p in "${PEERS[@]}"; do : >"$tmp/r.$p"; done
	for ((r = 0; r < ROUNDS; r++)); do
		for p in "${PEERS[@]}"; do
			[ "$p" = haproxy ] && [ "$mode" = bulk ] && continue
			load "$p" "$mode" "$path" "$n" "$conns" >>"$tmp/r.$p"
		done
	done
	for p in "${PEERS[@]}"; do
		[ -s "$tmp/r.$p" ] || continue
		rate[$p]=$(awk '{ print $1 }' "$tmp/r.$p" | median)
		cpu[$p]=$(awk '{ print $2 }' "$tmp/r.$p" | median)
		client[$p]=$(awk '{ print $3 }' "$tmp/r.$p" | median)
	done
	nginx_cpu=${cpu[nginx]:-0}
	for p in "${PEERS[@]}"; do
		[ -n "${rate[$p]}" ] || { printf '| %s | %s | n/a (%s serves no files) | | | |\n' "$label" "$p" "$p"; continue; }
		printf '| %s | %s | %.0f %s | %.1f µs | %s | %.1f µs |\n' "$label" "$p" \
		    "${rate[$p]}" "$unit" "${cpu[$p]}" \
		    "$(awk -v a="${cpu[$p]}" -v b="$nginx_cpu" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
		    "${client[$p]}"
	done
}

part() {
	[[ " $PARTS " == *" $1 "* ]]
}

echo "load client on libssl; server CPU per operation from /proc; $(nproc) cores;"
echo "median of $ROUNDS rounds, each run bounded by its count and ${SECONDS_MAX}s"
rates() {
	echo
	echo "| mode | server | rate | server CPU / op | ratio to nginx | client CPU / op |"
	echo "| --- | --- | ---: | ---: | ---: | ---: |"
	for p in "${PEERS[@]}"; do start "$p"; done
	row "full handshake + 1 request" "/s" full /index.html "$HANDSHAKES" 2
	row "resumed handshake + 1 request" "/s" resumed /index.html \
	    "$HANDSHAKES" 2
	for c in 1 4 64 200; do
		row "keep-alive, $c conn" "req/s" keepalive /index.html \
		    "$REQUESTS" "$c"
	done
	row "bulk 16 MiB, 1 conn" "MB/s" bulk /bulk.bin "$BULK_COUNT" 1
	for p in "${PEERS[@]}"; do stop "$p"; done
}
part rates && rates

# hold NAME MODE N: N connections of MODE (idle, silent) held against
# NAME in the background until release; HOLD_PID is the client's.
hold() {
	local var=PORT_${1//-/_}
	rm -f "$tmp/hold.in"
	mkfifo "$tmp/hold.in"
	"$LOAD" "$2" localhost "${!var}" "$PKI/client.crt" "$PKI/client.key" \
	    "$PKI/ca.crt" /index.html 1 600 "$3" <"$tmp/hold.in" \
	    >"$tmp/hold.out" 2>"$tmp/hold.err" &
	HOLD_PID=$!
	exec 5>"$tmp/hold.in"
	wait_file_contains "$tmp/hold.out" "open" 600 "$HOLD_PID" ||
	    fail "$3 $2 connections to $1 did not open" "$tmp/hold.out" \
	    "$tmp/hold.err" "$tmp/$1.err"
}

release() {
	exec 5>&-
	wait "$HOLD_PID"
}

# good NAME N: N new clients in a row, each a full handshake and a
# request; GOOD_P99 gets the p99 of their times, in µs.  (Not in a
# command substitution: a failure must end the script.)
good() {
	load "$1" full /index.html "$2" 1 >"$tmp/good.txt"
	GOOD_P99=$(awk '{ print $4 }' "$tmp/good.txt")
}

held_connections() {
	echo
	echo "| server | memory per idle connection (held) | a new client meanwhile | good clients' p99, alone | beside $SILENT silent | ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for p in "${PEERS[@]}"; do
		start "$p"
		var=PID_${p//-/_}
		before=$(rss_kb "${!var}")
		hold "$p" idle "$(capacity "$p")"
		after=$(rss_kb "${!var}")
		held=$(sed -n 's/open //p' "$tmp/hold.out")
		good "$p" 20
		during=$GOOD_P99
		release
		good "$p" 200
		alone=$GOOD_P99
		hold "$p" silent "$SILENT"
		good "$p" 200
		beside=$GOOD_P99
		release
		stop "$p"
		awk -v p="$p" -v a="$after" -v b="$before" -v n="$held" -v d="$during" \
		    -v x="$alone" -v y="$beside" 'BEGIN { printf "| %s | %.1f KiB (%d held) | %.1f ms | %.1f ms | %.1f ms | %.2f |\n",
		    p, (a - b) / n, n, d / 1000, x / 1000, y / 1000, (x > 0 ? y / x : 0) }'
	done
}
part held && held_connections
echo
echo "versions: $(openssl version); $("$NGINX_BIN" -v 2>&1 | tr -d '\n');" \
    "$(lighttpd -v 2>/dev/null | head -n 1); $(haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3);" \
    "caddy $(caddy version 2>/dev/null | cut -d' ' -f1)"

# The Ruby binding against Net::HTTP, same certificates, same server.
if ! part ruby; then
	:
elif command -v ruby >/dev/null && ruby -e 'require "ffi"' 2>/dev/null; then
	start mtls-server
	LIBMTLS_PATH=$top_builddir/.libs/libmtls.so.0 REQUESTS=20000 \
	    SECONDS_MAX=$SECONDS_MAX ROUNDS=$ROUNDS ruby \
	    -I "$top_srcdir/bindings/ruby/lib" "$top_srcdir/tests/bench/ruby_bench.rb" \
	    localhost "$PORT_mtls_server" "$PKI/client.crt" "$PKI/client.key" "$PKI/ca.crt" ||
	    fail "ruby_bench failed"
	stop mtls-server
else
	echo "Ruby binding: skipped (ruby or ruby-ffi not installed)"
fi
