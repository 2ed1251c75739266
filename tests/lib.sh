# lib.sh - helpers shared by the interop tests (tests/interop_*.sh and
# tests/install_pkgconfig.sh).  Sourced by bash; each test begins with
#
#   [ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
#   . "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
#
# because `make check` runs the tests with $(SHELL), which may be dash.
#
# Rules every test follows, enforced here where possible:
#  - everything it writes goes under its own temp dir ($tmp);
#  - every peer it starts listens on 127.0.0.1 on a port of its own and is
#    stopped by PID (never by name: parallel tests run the same programs);
#  - every wait is bounded, so a broken peer fails the test instead of
#    hanging `make check`;
#  - exit 77 (skipped) only when a program the test needs is absent.
#
# The environment comes from AM_TESTS_ENVIRONMENT: top_srcdir,
# top_builddir, PKI_DIR, OPENSSL_BIN, CURL_BIN, NGINX_BIN.  Defaults let a
# test be run by hand from the build directory: bash ../main/tests/x.sh

testname=$(basename "$0" .sh)

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
: "${PKI_DIR:=$top_builddir/tests/pki/out}"
OPENSSL=${OPENSSL_BIN:-openssl}
MTLS_ECHO=$top_builddir/examples/mtls-echo
MTLS_SERVER=$top_builddir/examples/mtls-server
MTLS_CLIENT=$top_builddir/examples/mtls-client

# Time limit, in seconds, of each foreground command run with `run`.
: "${TEST_TIMEOUT:=20}"

tmp=
bg_pids=()
declare -A _log_mark

# --------------------------------------------------------------- reporting

# say MSG: a progress line, so that the test's .log tells what was checked.
say() {
	printf '%s: %s\n' "$testname" "$*"
}

# fail MSG [FILE...]: reports the failure with the files that explain it
# (peer logs, captured output), then exits 1.
fail() {
	local f
	printf 'FAIL: %s: %s\n' "$testname" "$1" >&2
	shift
	for f in "$@"; do
		printf -- '--- %s\n' "$f" >&2
		if [ -f "$f" ]; then
			cat "$f" >&2
		else
			echo "(missing)" >&2
		fi
	done
	exit 1
}

# skip_unless_bin NAME PATH: skips the test when the program is absent.
# PATH is typically $CURL_BIN, empty when configure did not find curl.
skip_unless_bin() {
	if [ -z "$2" ] || ! command -v "$2" >/dev/null 2>&1; then
		echo "SKIP: $testname: $1 not found${2:+ ($2)}" >&2
		exit 77
	fi
}

# ----------------------------------------------------------- temp and exit

# tmpdir: makes this test's scratch directory and sets $tmp to it.  It is
# removed on success or skip, and kept (and named) on failure for debugging;
# KEEP_TMP=1 keeps it always.
tmpdir() {
	tmp=$top_builddir/tests/tmp/$testname.$$
	rm -rf "$tmp"
	mkdir -p "$tmp" || fail "cannot create $tmp"
}

# A sanitizer's report in what a program of ours wrote (a server stopped
# by its PID exits quietly otherwise): the test fails with it.
_sanitizer_reports() {
	local f

	for f in "$tmp"/*.err "$tmp"/*.out; do
		[ -f "$f" ] || continue
		if grep -q -E '^(==[0-9]+==ERROR: [A-Za-z]+Sanitizer|WARNING: ThreadSanitizer)|: runtime error: ' "$f"; then
			echo "$testname: a sanitizer reported in $f:" >&2
			head -n 40 "$f" >&2
			return 1
		fi
	done
	return 0
}

_cleanup() {
	local status=$1 pid
	trap - EXIT
	for pid in "${bg_pids[@]}"; do
		stop_bg "$pid"
	done
	if [ -n "$tmp" ] && [ -d "$tmp" ] && [ "$status" -eq 0 ] &&
	    ! _sanitizer_reports; then
		status=1
	fi
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if [ "$status" -eq 0 ] || [ "$status" -eq 77 ]; then
			[ -n "$KEEP_TMP" ] || rm -rf "$tmp"
		else
			echo "$testname: files kept in $tmp" >&2
		fi
	fi
	exit "$status"
}
trap '_cleanup $?' EXIT
# A signal must still run the cleanup, which the EXIT trap does on exit.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --------------------------------------------------- background processes

# start_bg NAME CMD [ARG...]: runs CMD in the background with stdout and
# stderr in $tmp/NAME.out and $tmp/NAME.err, stdin from /dev/null.  Sets
# BG_PID and records it, so that the exit trap stops it.
start_bg() {
	local name=$1
	shift
	# A new process writes new logs: forget marks made in old ones.
	unset "_log_mark[$tmp/$name.out]" "_log_mark[$tmp/$name.err]"
	# Emptied here, not only in the child: a caller that waits for a line
	# ("listening on") must not find the last process's before the child
	# has opened the file.
	: >"$tmp/$name.out"
	: >"$tmp/$name.err"
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	BG_PID=$!
	bg_pids+=("$BG_PID")
}

_forget_pid() {
	local p keep=()
	for p in "${bg_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	bg_pids=("${keep[@]}")
}

# alive PID: true while the process runs.  bash reaps its children as they
# exit, so a finished child does not linger as a zombie that kill -0 sees.
alive() {
	kill -0 "$1" 2>/dev/null
}

# stop_bg PID: SIGTERM, up to 5 s of grace, then SIGKILL; reaps it.
stop_bg() {
	local pid=$1 i
	_forget_pid "$pid"
	if kill "$pid" 2>/dev/null; then
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# wait_bg PID SECONDS: waits for a background process to end by itself (a
# server run with --count) and returns its exit status; 124 if it is still
# running after SECONDS (it is then killed).
wait_bg() {
	local pid=$1 i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		stop_bg "$pid"
		return 124
	fi
	_forget_pid "$pid"
	wait "$pid"
}

# ------------------------------------------------------------------ ports

# free_port: prints a TCP port of 127.0.0.1 that is free right now.
free_port() {
	local p i
	if [ -x "$top_builddir/tests/free-port" ]; then
		"$top_builddir/tests/free-port"
		return
	fi
	# Run by hand before `make check` built free-port: guess, and
	# check that nothing answers there.
	for ((i = 0; i < 20; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# port_open PORT: true when something accepts TCP connections on
# 127.0.0.1:PORT.  The connect is bounded: a full backlog drops SYNs.
port_open() {
	timeout 2 bash -c ': <>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# wait_port PORT [PID]: waits up to 10 s for PORT to accept connections;
# fails early, with its logs, when process PID (the peer) has died.
# Each probe is a real connection: use wait_file_contains instead for a
# peer that would count or log it (mtls-echo server, s_server).
wait_port() {
	local port=$1 pid=$2 i
	for ((i = 0; i < 100; i++)); do
		port_open "$port" && return 0
		if [ -n "$pid" ] && ! alive "$pid"; then
			fail "process $pid exited before listening on port $port" \
			    "$tmp"/*.err
		fi
		sleep 0.1
	done
	fail "nothing listening on 127.0.0.1:$port after 10 s" "$tmp"/*.err
}

# wait_file_contains FILE TEXT [SECONDS] [PID]: waits until FILE contains
# TEXT (fixed string), up to SECONDS (default 10).  Returns 1 on timeout or
# when process PID died without writing it; never fails the test itself.
# Used for a peer's "listening" line and for what a server logs about a
# connection, which may come a moment after the client returned.
wait_file_contains() {
	local file=$1 text=$2 n=$((${3:-10} * 10)) pid=$4 i
	for ((i = 0; i < n; i++)); do
		grep -qF -- "$text" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! alive "$pid"; then
			grep -qF -- "$text" "$file" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------- running things

# run NAME CMD [ARG...]: runs CMD in the foreground, bounded by
# $TEST_TIMEOUT, stdin from /dev/null (or from $RUN_INPUT, a string, when
# set), output in $tmp/NAME.out and $tmp/NAME.err.  Sets rc to its exit
# status; a timeout fails the test.
run() {
	local name=$1
	shift
	if [ -n "${RUN_INPUT+set}" ]; then
		printf '%s' "$RUN_INPUT" |
		    timeout -k 5 "$TEST_TIMEOUT" "$@" \
		    >"$tmp/$name.out" 2>"$tmp/$name.err"
	else
		timeout -k 5 "$TEST_TIMEOUT" "$@" \
		    >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	fi
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$name: timed out after $TEST_TIMEOUT s: $*" \
		    "$tmp/$name.out" "$tmp/$name.err"
	fi
	return 0
}

# ------------------------------------------------------------- assertions

# expect_contains FILE TEXT: FILE must contain TEXT (fixed string).
expect_contains() {
	grep -qF -- "$2" "$1" 2>/dev/null ||
	    fail "$(basename "$1") does not contain '$2'" "$1"
}

# expect_not_contains FILE TEXT: FILE must not contain TEXT.
expect_not_contains() {
	if grep -qF -- "$2" "$1" 2>/dev/null; then
		fail "$(basename "$1") contains '$2'" "$1"
	fi
}

# expect_status NAME STATUS ALLOWED...: STATUS must be one of ALLOWED.
# Shows NAME's captured output when it is not.
expect_status() {
	local name=$1 status=$2 a
	shift 2
	for a in "$@"; do
		[ "$status" = "$a" ] && return 0
	done
	fail "$name: exit status $status, expected $*" \
	    "$tmp/$name.out" "$tmp/$name.err"
}

# fetch NAME PATH ARG...: curl ARG... https://localhost:$P/PATH (the
# server's port in $P, the test PKI's CA), the status code on the last
# line of $tmp/NAME.out.  Tests that fetch otherwise define their own.
fetch() {
	local name=$1 path=$2
	shift 2
	run "$name" "$CURL_BIN" -sS --max-time 15 --cacert "$PKI/ca.crt" \
	    --resolve "localhost:$P:127.0.0.1" -w '\n%{http_code}\n' "$@" \
	    "https://localhost:$P$path"
}

# status_is NAME CODE: the fetch NAME ended well with HTTP status CODE.
status_is() {
	expect_status "$1" "$rc" 0
	[ "$(tail -n 1 "$tmp/$1.out")" = "$2" ] ||
	    fail "$1: expected HTTP $2" "$tmp/$1.out" "$tmp/$1.err"
}

# mark_log FILE: remembers how long FILE (a server's log) is now, so that
# expect_server_log looks only at what the next connection makes it say.
mark_log() {
	_log_mark[$1]=$(wc -l <"$1" 2>/dev/null || echo 0)
}

# expect_server_log FILE TEXT [PID]: the server logs what happened to a
# connection a moment after the client returned: waits, bounded, for TEXT
# in what FILE gained since mark_log FILE (the whole file without a mark).
expect_server_log() {
	local file=$1 text=$2 pid=$3 from i
	from=$((${_log_mark[$file]:-0} + 1))
	for ((i = 0; i < 100; i++)); do
		tail -n "+$from" "$file" 2>/dev/null | grep -qF -- "$text" &&
		    return 0
		[ -n "$pid" ] && ! alive "$pid" && break
		sleep 0.1
	done
	tail -n "+$from" "$file" 2>/dev/null | grep -qF -- "$text" && return 0
	fail "server log $(basename "$file") (from line $from) does not mention '$text'" \
	    "$file"
}

# ---------------------------------------------------------------- fixtures

# need_pki: the test PKI made by tests/pki/make-pki.sh.  `make check` makes
# it in $PKI_DIR first; a test run by hand without it gets its own copy.
need_pki() {
	if [ ! -f "$PKI_DIR/ca.crt" ] || [ ! -f "$PKI_DIR/seed/combined.pem" ]; then
		say "no PKI in $PKI_DIR: making one in $tmp/pki"
		PKI_DIR=$tmp/pki
		"${SHELL_FOR_PKI:-sh}" "$top_srcdir/tests/pki/make-pki.sh" \
		    "$PKI_DIR" || fail "make-pki.sh failed"
	fi
	PKI=$PKI_DIR
}

# need_mtls_echo: the demo program must have been built (by `make`).
need_mtls_echo() {
	[ -x "$MTLS_ECHO" ] || fail "$MTLS_ECHO not built"
}

# start_listener NAME CMD [ARG...]: starts CMD on a free port of 127.0.0.1,
# the word @PORT@ in its arguments replaced by the port, and waits for its
# "listening on" line.  Sets SERVER_PORT and SERVER_PID; its output goes to
# $tmp/NAME.out and $tmp/NAME.err.  Tries three ports, in case another test
# took one between free_port and bind.
start_listener() {
	local name=$1 args a
	shift
	for _ in 1 2 3; do
		SERVER_PORT=$(free_port)
		[ -n "$SERVER_PORT" ] || fail "free_port failed"
		args=()
		for a in "$@"; do
			args+=("${a//@PORT@/$SERVER_PORT}")
		done
		start_bg "$name" "${args[@]}"
		SERVER_PID=$BG_PID
		if wait_file_contains "$tmp/$name.out" "listening on" 10 \
		    "$SERVER_PID"; then
			return 0
		fi
		stop_bg "$SERVER_PID"
	done
	fail "$(basename "$1") did not start: $*" \
	    "$tmp/$name.out" "$tmp/$name.err"
}

# start_own_port NAME CMD [ARG...]: starts CMD, a program that binds a
# port of its choosing and says "listening on [HOST:]PORT", and waits for
# that line.  Sets BG_PID, and LISTEN_PORT to the port it named.
start_own_port() {
	local name=$1
	shift
	start_bg "$name" "$@"
	wait_file_contains "$tmp/$name.out" "listening on" 10 "$BG_PID" ||
	    fail "$(basename "$1") did not start: $*" \
	    "$tmp/$name.out" "$tmp/$name.err"
	LISTEN_PORT=$(sed -n 's/^listening on \(.*:\)\{0,1\}\([0-9]*\)$/\2/p' \
	    "$tmp/$name.out" | head -n 1)
	[ -n "$LISTEN_PORT" ] || fail "$name: no port in its 'listening on' line" \
	    "$tmp/$name.out"
}

# start_relay NAME UPSTREAM_PORT UNIT PAUSE_US: tests/split-relay in front
# of 127.0.0.1:UPSTREAM_PORT, passing records or bytes (UNIT) one at a
# time with PAUSE_US between them.  Sets RELAY_PID and RELAY_PORT.
start_relay() {
	local name=$1
	shift
	start_own_port "$name" "$top_builddir/tests/split-relay" "$@"
	RELAY_PID=$BG_PID
	RELAY_PORT=$LISTEN_PORT
}

# start_echo_server NAME [ARG...]: `mtls-echo server` with ARGs, as
# start_listener.
start_echo_server() {
	local name=$1
	shift
	start_listener "$name" "$MTLS_ECHO" server --listen "127.0.0.1:@PORT@" \
	    "$@"
}

# start_mtls_server NAME [ARG...]: mtls-server with ARGs, as
# start_listener.
start_mtls_server() {
	local name=$1
	shift
	[ -x "$MTLS_SERVER" ] || fail "$MTLS_SERVER not built"
	start_listener "$name" "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" "$@"
}

# start_nginx_conf PORT...: checks $tmp/nginx.conf with `nginx -t`, starts
# nginx on it (everything it writes in $tmp), and waits until each PORT
# accepts connections.  Sets NGINX_PID.
start_nginx_conf() {
	local p
	run nginx_t "$NGINX_BIN" -t -p "$tmp/" -c "$tmp/nginx.conf" \
	    -e "$tmp/error.log"
	expect_status nginx_t "$rc" 0
	start_bg nginx "$NGINX_BIN" -p "$tmp/" -c "$tmp/nginx.conf" \
	    -e "$tmp/error.log"
	NGINX_PID=$BG_PID
	for p in "$@"; do
		wait_port "$p" "$NGINX_PID"
	done
}

# nginx_conf_head [WORKERS]: the start of an nginx.conf that keeps
# everything nginx writes (pid file, logs, temp paths) in $tmp, running in
# the foreground so that its PID is the one to stop (with WORKERS > 1 that
# PID is the master's, which takes its workers with it); the caller adds
# its ssl_* lines and server blocks, and the closing brace of http.
nginx_conf_head() {
	local workers=${1:-1} master=off

	[ "$workers" -gt 1 ] && master=on
	cat <<EOF
daemon off;
master_process $master;
worker_processes $workers;
error_log $tmp/error.log info;
pid $tmp/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log $tmp/access.log;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    root $tmp/html;
    default_type text/plain;
EOF
}
