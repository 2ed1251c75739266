#!/bin/bash
# run.sh - `make bench`: mtls-server beside nginx, lighttpd, haproxy and
# caddy, each started here on 127.0.0.1 with the same certificates (the
# test PKI's ECDSA P-256 server certificate and CA), a client certificate
# required and TLS 1.3 only, stopped by its PID, and all measured by the
# same client, tests/bench/load, written on libssl alone.
#
# For each mode and server: the rate, the server's CPU per operation (user
# + system time of its processes, from /proc, over the operations), its
# ratio to nginx's, and the client's own CPU per operation; medians of
# ROUNDS rounds in which the servers alternate.  Modes: full and resumed
# handshakes (a request each), keep-alive requests over 1, 4, 64 and 200
# connections, bulk (a 16 MiB file).  Then, server by server: IDLE idle
# connections held (memory each, and a new client's time meanwhile), and
# good clients' p99 latency alone and beside SILENT silent TCP
# connections.  A server that is not installed is skipped with a line that
# says so.  Every run is bounded by its count and SECONDS_MAX (IDLE_SECONDS
# to open the idle connections).  Last, the Ruby binding against Net::HTTP.
#
# Environment: ROUNDS SECONDS_MAX HANDSHAKES REQUESTS BULK_COUNT IDLE
# IDLE_SECONDS SILENT THREADS (the client's), SERVERS (the servers to run)
# and PARTS (of "rates held ruby rack").
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

: "${ROUNDS:=3}" "${SECONDS_MAX:=10}" "${HANDSHAKES:=2000}" "${REQUESTS:=40000}"
: "${BULK_COUNT:=20}" "${IDLE:=19000}" "${IDLE_SECONDS:=300}" "${SILENT:=2000}"
: "${THREADS:=1}" "${SERVERS:=mtls-server nginx lighttpd haproxy caddy}"
: "${PARTS:=rates held ruby rack}"
LOAD=$top_builddir/tests/bench/load
[ -x "$LOAD" ] || fail "$LOAD not built (make bench builds it)"
[ -x "$MTLS_SERVER" ] || fail "$MTLS_SERVER not built"
tmpdir
need_pki
mkdir -p "$tmp/html" "$tmp/home"
printf 'hello\n' >"$tmp/html/index.html"
head -c $((16 << 20)) /dev/urandom >"$tmp/html/bulk.bin"
cat "$PKI/server.crt" "$PKI/server.key" >"$tmp/server.pem"

# Descriptors: the hard limit, for this shell and all it starts.  The
# client holding IDLE connections needs one each, and so does a server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
[ "$NOFILE" -gt $((IDLE + 500)) ] || IDLE=$((NOFILE - 500))
MAXCONN=$((IDLE + 300))     # what each server is told to allow
CLK_TCK=$(getconf CLK_TCK)
PAGE_KB=$(($(getconf PAGESIZE) / 1024))

# ------------------------------------------------------------ the servers
# Each keeps an idle connection 600 s: opening 19,000 of them under load
# takes minutes, which the usual 75 s (nginx's keepalive_timeout) would
# cut short.  Each answers keep-alive requests without a limit that a run
# would reach.

conf_nginx() {
	cat <<EOF
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile $NOFILE;
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

# lighttpd allows at most server.max-fds / 2 connections (it keeps the
# other half for backends), and max-fds cannot pass the hard limit.
LIGHTTPD_MAX=$((NOFILE / 2 - 100))
conf_lighttpd() {
	cat <<EOF
server.modules = ( "mod_openssl" )
server.bind = "127.0.0.1"
server.port = $1
server.document-root = "$tmp/html"
server.errorlog = "$tmp/lighttpd-error.log"
server.max-fds = $NOFILE
server.max-connections = $((MAXCONN < LIGHTTPD_MAX ? MAXCONN : LIGHTTPD_MAX))
# (kept in 16 bits: 1000000 would be 16960)
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

# haproxy serves no files: a fixed answer of 6 bytes, as index.html.  It
# asks for two descriptors a connection (one to a backend it does not
# have here); "no strict-limits" lets it run under the hard limit anyway.
conf_haproxy() {
	cat <<EOF
global
    nbthread 2
    maxconn $MAXCONN
    no strict-limits
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

# The Rack servers serve one app, $tmp/app.ru (a fixed 6-byte answer):
# Rack::Handler::MTLS by rackup, and Puma 5 with mTLS as its ssl_bind
# gives it (force_peer: a client certificate required), both with Puma's
# default threads (0 to 5).  Puma's config requires openssl first, or
# Debian's Puma 5.6 fails on puma.peercert.
conf_puma() {
	cat <<EOF
require "openssl"
threads 0, 5
rackup "$tmp/app.ru"
ssl_bind "127.0.0.1", "$1", { cert: "$PKI/server.crt", key: "$PKI/server.key",
                              ca: "$PKI/ca.crt", verify_mode: "force_peer" }
EOF
}

# server_cmd NAME PORT: the command that runs server NAME in the
# foreground with its config file $tmp/NAME.conf.
server_cmd() {
	case $1 in
	mtls-server)
		echo "$MTLS_SERVER" --listen "127.0.0.1:$2" --cert "$PKI/server.crt" \
		    --key "$PKI/server.key" --client-ca "$PKI/ca.crt" \
		    --root "$tmp/html" --protocols TLSv1.3 \
		    --max-connections "$MAXCONN" --keepalive-timeout 600 ;;
	nginx) echo "$NGINX_BIN" -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" ;;
	lighttpd) echo lighttpd -D -f "$tmp/lighttpd.conf" ;;
	haproxy) echo haproxy -f "$tmp/haproxy.conf" ;;
	caddy) echo caddy run --adapter caddyfile --config "$tmp/caddy.conf" ;;
	puma) echo puma -C "$tmp/puma.conf" ;;
	rack-mtls)
		echo ruby -I "$top_srcdir/bindings/ruby/lib" -S rackup -s mtls \
		    -E none -o 127.0.0.1 -p "$2" -O "cert=$PKI/server.crt" \
		    -O "key=$PKI/server.key" -O "ca_file=$PKI/ca.crt" "$tmp/app.ru" ;;
	*) fail "unknown server $1" ;;
	esac
}

installed() {
	case $1 in
	mtls-server) return 0 ;;
	rack-mtls) command -v rackup >/dev/null && ruby -e 'require "ffi"' 2>/dev/null ;;
	nginx) [ -n "$NGINX_BIN" ] && [ -x "$NGINX_BIN" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# The Debian package of each server, for the line that skips it.
package() {
	case $1 in
	nginx) echo nginx-light ;;
	rack-mtls) echo "ruby-rack ruby-ffi" ;;
	*) echo "$1" ;;
	esac
}

# start NAME: starts server NAME on a free port, its HOME and XDG
# directories in $tmp; sets PORT_<NAME> and PID_<NAME> (names without '-').
start() {
	local var=${1//-/_} port cmd
	port=$(free_port)
	# A server with a config file has its conf_NAME (mtls-server and
	# rackup -s mtls take their options on the command line).
	! declare -F "conf_$1" >/dev/null || "conf_$1" "$port" >"$tmp/$1.conf"
	read -r -a cmd <<<"$(server_cmd "$1" "$port")"
	HOME=$tmp/home XDG_DATA_HOME=$tmp/home/data \
	    XDG_CONFIG_HOME=$tmp/home/config start_bg "$1" "${cmd[@]}"
	printf -v "PID_$var" '%s' "$BG_PID"
	printf -v "PORT_$var" '%s' "$port"
	wait_port "$port" "$BG_PID"
}

stop() {
	local var=PID_${1//-/_}
	stop_bg "${!var}"
}

# proc_usage PID: "TICKS RSS_KB" of PID and all its descendants (nginx's
# workers): CPU time (user + system) and resident memory (VmRSS), from
# each process's /proc/PID/stat.
proc_usage() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v page="$PAGE_KB" '
	{	pid = $1; sub(/^.*\) /, "")     # the name may hold spaces
		ppid[pid] = $2; ticks[pid] = $12 + $13; rss[pid] = $22 }
	END {	in_tree[root] = 1
		do {    grew = 0
			for (p in ppid)
				if (!(p in in_tree) && (ppid[p] in in_tree))
					in_tree[p] = grew = 1
		} while (grew)
		for (p in in_tree) { t += ticks[p]; r += rss[p] * page }
		print t + 0, r + 0 }'
}

# field KEY LINE: the value of KEY=value in the client's output LINE.
field() {
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}

# server_pid NAME, server_port NAME
server_pid() { local v=PID_${1//-/_}; echo "${!v}"; }
server_port() { local v=PORT_${1//-/_}; echo "${!v}"; }

# client NAME MODE [OPTION...]: one run of the client against server NAME
# (options before MODE: -c -n -s -p -k ...); its output line on stdout,
# its errors in $tmp/load.err.  Exit status: the client's.
client() {
	local name=$1 mode=$2
	shift 2
	"$LOAD" -t "$THREADS" -s "$SECONDS_MAX" "$@" "$mode" localhost \
	    "$(server_port "$name")" "$PKI/client.crt" "$PKI/client.key" \
	    "$PKI/ca.crt" 2>"$tmp/load.err"
}

# measure NAME MODE [OPTION...]: one run against NAME, which must
# succeed; prints "rate server_us_per_op client_us_per_op reused_percent".
# The server's CPU time is read when the client has warmed up (its
# connections open, one request done on each) and when it is done.
measure() {
	local name=$1 mode=$2 line before after ops rate pid
	shift 2
	rm -f "$tmp/go"
	mkfifo "$tmp/go"
	client "$name" "$mode" -r "$@" <"$tmp/go" >"$tmp/measure.out" &
	pid=$!
	exec 6>"$tmp/go"
	# (A client that failed has no reader left on the pipe: no "go".)
	if wait_file_contains "$tmp/measure.out" ready $((SECONDS_MAX + 10)) "$pid"; then
		before=$(proc_usage "$(server_pid "$name")")
		echo go >&6
	fi
	exec 6>&-
	wait "$pid" ||
	    fail "$mode against $name failed" "$tmp/measure.out" \
	    "$tmp/load.err" "$tmp/$name.err"
	after=$(proc_usage "$(server_pid "$name")")
	line=$(tail -n 1 "$tmp/measure.out")
	ops=$(field ops "$line")
	rate=$(field rate "$line")
	[ "$mode" = bulk ] && rate=$(field mbps "$line")
	awk -v r="$rate" -v t="$((${after% *} - ${before% *}))" -v hz="$CLK_TCK" \
	    -v o="$ops" -v c="$(field cpu_us_per_op "$line")" \
	    -v u="$(field reused "$line")" \
	    'BEGIN { printf "%s %.1f %s %.0f\n", r, t / hz * 1e6 / o, c, 100 * u / o }'
}

median() {
	sort -n | awk '{ v[NR] = $1 }
	    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# us N: N µs, written in µs or ms.
us() {
	awk -v v="$1" 'BEGIN { if (v >= 10000) printf "%.1f ms", v / 1000
	    else printf "%.1f µs", v }'
}

PEERS=()
for p in $SERVERS; do
	if installed "$p"; then
		PEERS+=("$p")
	else
		echo "$p: skipped (not installed: apt-get install $(package "$p"))"
	fi
done
printf '%s\n' "${PEERS[@]}" | grep -qx nginx ||
    echo "nginx: not measured, so no ratios"

part() {
	[[ " $PARTS " == *" $1 "* ]]
}

# ------------------------------------------------------------- the rates

# row LABEL UNIT MODE [OPTION...]: ROUNDS runs against each server in
# turn; one line per server: median rate, server CPU per operation, its
# ratio to nginx's, client CPU per operation.
row() {
	local label=$1 unit=$2 mode=$3 p r note
	local -A rate cpu client reused
	shift 3
	for p in "${PEERS[@]}"; do : >"$tmp/r.$p"; done
	for ((r = 0; r < ROUNDS; r++)); do
		for p in "${PEERS[@]}"; do
			[ "$p" = haproxy ] && [ "$mode" = bulk ] && continue
			measure "$p" "$mode" "$@" >>"$tmp/r.$p"
		done
	done
	for p in "${PEERS[@]}"; do
		[ -s "$tmp/r.$p" ] || continue
		rate[$p]=$(awk '{ print $1 }' "$tmp/r.$p" | median)
		cpu[$p]=$(awk '{ print $2 }' "$tmp/r.$p" | median)
		client[$p]=$(awk '{ print $3 }' "$tmp/r.$p" | median)
		reused[$p]=$(awk '{ print $4 }' "$tmp/r.$p" | median)
	done
	for p in "${PEERS[@]}"; do
		if [ -z "${rate[$p]}" ]; then
			echo "| $label | $p | n/a (serves no files) | | | |"
			continue
		fi
		note=
		[ "$mode" = resumed ] && awk -v r="${reused[$p]}" 'BEGIN { exit !(r < 90) }' &&
		    note=" (${reused[$p]} % resumed)"
		printf '| %s | %s | %.0f %s%s | %s | %s | %s |\n' "$label" "$p" \
		    "${rate[$p]}" "$unit" "$note" "$(us "${cpu[$p]}")" \
		    "$(awk -v a="${cpu[$p]}" -v b="${cpu[nginx]:-0}" \
		    'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
		    "$(us "${client[$p]}")"
	done
}

rates() {
	echo
	echo "| mode | server | rate | server CPU / op | ratio to nginx | client CPU / op |"
	echo "| --- | --- | ---: | ---: | ---: | ---: |"
	for p in "${PEERS[@]}"; do start "$p"; done
	row "full handshake + GET" "/s" full -c 2 -n "$HANDSHAKES" -p /index.html
	row "resumed handshake + GET" "/s" resumed -c 2 -n "$HANDSHAKES" \
	    -p /index.html
	for c in 1 4 64 200; do
		row "keep-alive, $c conn" "req/s" keepalive -c "$c" \
		    -n "$REQUESTS" -p /index.html
	done
	row "bulk 16 MiB, 1 conn" "MB/s" bulk -n "$BULK_COUNT" -p /bulk.bin
	for p in "${PEERS[@]}"; do stop "$p"; done
}

# ---------------------------------------------------- held connections

# hold NAME MODE N: N connections of MODE (idle, silent) held against
# NAME in the background until release; the client's "open=" line is then
# in $tmp/hold.out.
hold() {
	rm -f "$tmp/hold.in"
	mkfifo "$tmp/hold.in"
	"$LOAD" -c "$3" -s "$IDLE_SECONDS" -H 900 -p /index.html "$2" localhost \
	    "$(server_port "$1")" "$PKI/client.crt" "$PKI/client.key" \
	    "$PKI/ca.crt" <"$tmp/hold.in" >"$tmp/hold.out" 2>"$tmp/hold.err" &
	HOLD_PID=$!
	exec 5>"$tmp/hold.in"
	wait_file_contains "$tmp/hold.out" "open=" $((IDLE_SECONDS + 30)) \
	    "$HOLD_PID" || fail "$3 $2 connections to $1 did not open" \
	    "$tmp/hold.out" "$tmp/hold.err" "$tmp/$1.err"
}

# release: ends the held connections; the client's "held=" line is then
# in $tmp/hold.out.
release() {
	exec 5>&-
	wait "$HOLD_PID"
}

# latency NAME N: N new clients one after another (a full handshake and a
# request each); prints "p50_us p99_us max_us", or "- - -" when one failed
# (a server at its limit).
latency() {
	local line
	if line=$(client "$1" latency -n "$2" -p /index.html); then
		echo "$(field p50_us "$line") $(field p99_us "$line") $(field max_us "$line")"
	else
		echo "- - -"
	fi
}

# ms US: US µs in ms, or "no answer" for "-".
ms() {
	awk -v v="$1" 'BEGIN { if (v == "-") print "no answer"; else printf "%.1f ms", v / 1000 }'
}

# idle_row NAME: IDLE idle connections held against NAME (as many as it
# takes): memory each, and the worst of 5 new clients meanwhile.
idle_row() {
	local before after open held worst
	before=$(proc_usage "$(server_pid "$1")")
	hold "$1" idle "$IDLE"
	open=$(grep "open=" "$tmp/hold.out")
	after=$(proc_usage "$(server_pid "$1")")
	worst=$(latency "$1" 5)
	release
	held=$(grep "held=" "$tmp/hold.out")
	awk -v p="$1" -v b="${before#* }" -v a="${after#* }" -v want="$IDLE" \
	    -v n="$(field open "$open")" -v s="$(field secs "$open")" \
	    -v l="$(field lost "$held")" -v w="$(ms "${worst##* }")" 'BEGIN {
		printf "| %s | %d of %d in %.0f s | %.1f KiB | %s | %d |\n",
		    p, n, want, s, (n > 0) ? (a - b) / n : 0, w, l }'
}

# silent_row NAME: good clients' p99 alone and beside SILENT silent TCP
# connections.
silent_row() {
	local alone beside open held
	alone=$(latency "$1" 200 | cut -d' ' -f2)
	hold "$1" silent "$SILENT"
	open=$(grep "open=" "$tmp/hold.out")
	beside=$(latency "$1" 200 | cut -d' ' -f2)
	release
	held=$(grep "held=" "$tmp/hold.out")
	printf '| %s | %s | %s | %s | %d (%d closed by the server) |\n' "$1" \
	    "$(ms "$alone")" "$(ms "$beside")" "$(awk -v x="$alone" -v y="$beside" \
	    'BEGIN { if (x > 0 && y != "-") printf "%.2f", y / x; else print "-" }')" \
	    "$(field open "$open")" "$(field lost "$held")"
}

held_connections() {
	local p
	echo
	echo "| server | idle connections held | memory each | new client meanwhile (worst of 5) | closed by the server |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for p in "${PEERS[@]}"; do
		start "$p"
		idle_row "$p"
		stop "$p"
	done
	echo
	echo "| server | good clients' p99, alone | beside $SILENT silent connections | ratio | silent connections held |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for p in "${PEERS[@]}"; do
		start "$p"
		silent_row "$p"
		stop "$p"
	done
}

# ------------------------------------------------- Rack: ours and Puma

# rack_row LABEL UNIT MODE [OPTION...]: ROUNDS runs against each Rack
# server in turn; one line each: median rate, server and client CPU per
# operation;
# then Rack::Handler::MTLS's rate and CPU per operation against Puma's.
rack_row() {
	local label=$1 unit=$2 mode=$3 p r
	local -A rate cpu client
	shift 3
	for p in rack-mtls puma; do : >"$tmp/r.$p"; done
	for ((r = 0; r < ROUNDS; r++)); do
		for p in rack-mtls puma; do
			measure "$p" "$mode" "$@" >>"$tmp/r.$p"
		done
	done
	for p in rack-mtls puma; do
		rate[$p]=$(awk '{ print $1 }' "$tmp/r.$p" | median)
		cpu[$p]=$(awk '{ print $2 }' "$tmp/r.$p" | median)
		client[$p]=$(awk '{ print $3 }' "$tmp/r.$p" | median)
		printf '| %s | %s | %.0f %s | %s | %s |\n' "$label" "$p" \
		    "${rate[$p]}" "$unit" "$(us "${cpu[$p]}")" "$(us "${client[$p]}")"
	done
	awk -v a="${rate[rack-mtls]}" -v b="${rate[puma]}" -v c="${cpu[rack-mtls]}" \
	    -v d="${cpu[puma]}" -v l="$label" 'BEGIN { printf "| %s | ours / Puma " \
	    "| %.2f x the rate | %.2f x the CPU | |\n", l, a / b, c / d }'
}

rack_rates() {
	local p
	for p in rack-mtls puma; do
		installed "$p" && continue
		echo "Rack: skipped ($p not installed: apt-get install $(package "$p"))"
		return 0
	done
	echo 'run ->(_env) { [200, { "Content-Type" => "text/plain" }, ["hello\n"]] }' \
	    >"$tmp/app.ru"
	export LIBMTLS_PATH=$top_builddir/.libs/libmtls.so.0
	echo
	echo "The same Rack app on Rack::Handler::MTLS and on Puma" \
	    "$(puma --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p')" \
	    "(ssl_bind force_peer), one client on libssl:"
	echo
	echo "| mode | server | rate | server CPU / op | client CPU / op |"
	echo "| --- | --- | ---: | ---: | ---: |"
	for p in rack-mtls puma; do start "$p"; done
	rack_row "keep-alive, 4 conn" "req/s" keepalive -c 4 -n "$REQUESTS" -p /
	rack_row "full handshake + GET" "/s" full -c 2 -n "$HANDSHAKES" -p /
	for p in rack-mtls puma; do stop "$p"; done
}

# ------------------------------------------------------------------ main

echo "load client on libssl ($THREADS thread); server CPU per operation from /proc;"
echo "$(nproc) cores; median of $ROUNDS rounds, each run bounded by its count and ${SECONDS_MAX} s;"
echo "descriptor limit $NOFILE"
part rates && rates
part held && held_connections
echo
echo "versions: $(openssl version | cut -d' ' -f1-2); $("$NGINX_BIN" -v 2>&1 | tr -d '\n');" \
    "$(lighttpd -v 2>/dev/null | cut -d' ' -f1);" \
    "$(haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3);" \
    "caddy $(caddy version 2>/dev/null | cut -d' ' -f1)"

# The Ruby binding against Net::HTTP, same certificates, same server.
if ! part ruby; then
	:
elif command -v ruby >/dev/null && ruby -e 'require "ffi"' 2>/dev/null; then
	start mtls-server
	# The ceiling: the libssl load client, in C, on one keep-alive
	# connection to the same server; no Ruby client can go faster.
	client mtls-server keepalive -c 1 -n 20000 >"$tmp/ceiling.out" ||
	    fail "the libssl client against mtls-server failed" "$tmp/load.err"
	LIBSSL_KEEPALIVE=$(field rate "$(tail -n 1 "$tmp/ceiling.out")") \
	LIBMTLS_PATH=$top_builddir/.libs/libmtls.so.0 REQUESTS=20000 \
	    SECONDS_MAX=$SECONDS_MAX ROUNDS=$ROUNDS ruby \
	    -I "$top_srcdir/bindings/ruby/lib" "$top_srcdir/tests/bench/ruby_bench.rb" \
	    localhost "$(server_port mtls-server)" "$PKI/client.crt" \
	    "$PKI/client.key" "$PKI/ca.crt" || fail "ruby_bench failed"
	stop mtls-server
else
	echo "Ruby binding: skipped (ruby or ruby-ffi not installed)"
fi

# The same Rack app on Rack::Handler::MTLS and on Puma.
if part rack; then
	rack_rates
fi
