#!/bin/sh
# mtls_server_files.sh - mtls-server keeps the small files of --root in
# memory and checks each again at most once a second: whatever happens to
# a file on disk is what a client gets a little over a second later, and
# the cache never serves what a fresh open(O_NOFOLLOW) would refuse.
#
# Each file of the table is served (and so cached), then changed; 1.2 s
# later it must be answered as the table says: a 200 with the bytes now
# on disk, 404 for a file removed, a symbolic link or a directory, 403
# for one made unreadable.  Then a HEAD answered from the cache has no
# body, and past the cache's bounds (1,024 files; 16 MiB shared out among
# the workers) files are still served whole.
#
# Permissions do not stop root: run as root, the servers run as nobody
# (setpriv), and where that cannot be done the unreadable case is skipped
# with a message.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
www=$tmp/www
mkdir -p "$www"
# The server's key, readable by the user it may run as (a test key).
install -m 644 "$PKI/server.crt" "$tmp/server.crt"
install -m 644 "$PKI/server.key" "$tmp/server.key"
ID=(--cert "$tmp/server.crt" --key "$tmp/server.key" --client-ca "$PKI/ca.crt")
CLIENT=(--cert "$PKI/client.crt" --key "$PKI/client.key")

AS=()
can_deny=yes
if [ "$(id -u)" -eq 0 ]; then
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	run probe "${AS[@]}" "$MTLS_SERVER" --listen 127.0.0.1:0 "${ID[@]}" \
	    --workers 0
	if ! grep -qF -- "--workers takes 1 to 256" "$tmp/probe.err" ||
	    ! "${AS[@]}" test -r "$tmp/server.key" -a -r "$PKI/ca.crt" \
	    -a -x "$www"; then
		AS=()
		can_deny=no
		say "SKIP (part): run as root and cannot run the server as nobody: the unreadable case is left out"
	else
		say "run as root: the servers run as nobody"
	fi
fi

# fetch NAME PATH ARG...: GET https://localhost:$P/PATH; the body in
# $tmp/NAME.body, the status in $tmp/NAME.out.
fetch() {
	local name=$1 path=$2
	shift 2
	run "$name" "$CURL_BIN" -sS --max-time 15 --cacert "$PKI/ca.crt" \
	    "${CLIENT[@]}" --resolve "localhost:$P:127.0.0.1" \
	    -o "$tmp/$name.body" -w '%{http_code}' "$@" "https://localhost:$P$path"
	expect_status "$name" "$rc" 0
}

# served NAME FILE STATUS: the answer of fetch NAME had STATUS, and with
# 200 the bytes of FILE as they are now.
served() {
	local got
	got=$(cat "$tmp/$1.out")
	[ "$got" = "$3" ] || fail "$1: HTTP $got, expected $3" "$tmp/$1.body" \
	    "$tmp/srv.err"
	if [ "$3" = 200 ]; then
		cmp -s "$2" "$tmp/$1.body" ||
		    fail "$1: the bytes served are not those of $(basename "$2") on disk"
	else
		expect_contains "$tmp/$1.body" "$3 "
	fi
}

# stopped: SIGTERM ends the server with status 0 and nothing on its
# standard error (built with --enable-sanitizers, a leak or a bad access
# of the cache's entries would be reported there, and change the status).
stopped() {
	local status
	kill -TERM "$SERVER_PID"
	wait_bg "$SERVER_PID" 10
	status=$?
	[ "$status" -eq 0 ] ||
	    fail "mtls-server exited $status after SIGTERM" "$tmp/srv.err"
	[ ! -s "$tmp/srv.err" ] ||
	    fail "mtls-server wrote on its standard error" "$tmp/srv.err"
}

# The changes, each on one file.
none() { :; }
rewrite() { printf 'new bytes!\n' >"$1"; }     # in place, the same size
rename() { printf 'a new file\n' >"$1.new" && mv "$1.new" "$1"; }
emptied() { : >"$1"; }
grow() { head -c 100000 /dev/urandom >"$1"; }  # past 64 KiB: streamed
remove() { rm "$1"; }
symlink() { rm "$1" && ln -s target.txt "$1"; }
directory() { rm "$1" && mkdir "$1"; }
unreadable() { chmod 000 "$1"; }

# name  change  answer a second later
table=(
	same       none       200
	rewritten  rewrite    200
	renamed    rename     200
	emptied    emptied    200
	grown      grow       200
	removed    remove     404
	symlink    symlink    404
	directory  directory  404
	unreadable unreadable 403
)

printf 'the target\n' >"$www/target.txt"
names=()
for ((i = 0; i < ${#table[@]}; i += 3)); do
	name=${table[i]}
	[ "$name" = unreadable ] && [ "$can_deny" = no ] && continue
	names+=("$i")
	printf 'old bytes!\n' >"$www/$name.txt"
done

start_listener srv "${AS[@]}" "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" \
    "${ID[@]}" --root "$www" --workers 1
P=$SERVER_PORT
# A symbolic link is refused from the first request on, as before.
ln -s target.txt "$www/link.txt"
fetch link /link.txt
served link "" 404
fetch target /target.txt
served target "$www/target.txt" 200
for i in "${names[@]}"; do
	name=${table[i]}
	fetch "$name.first" "/$name.txt"
	served "$name.first" "$www/$name.txt" 200
	fetch "$name.again" "/$name.txt"      # from the cache
	served "$name.again" "$www/$name.txt" 200
	"${table[i + 1]}" "$www/$name.txt"
done
sleep 1.2
for i in "${names[@]}"; do
	name=${table[i]}
	fetch "$name.after" "/$name.txt"
	served "$name.after" "$www/$name.txt" "${table[i + 2]}"
	say "ok: $name (${table[i + 1]}): ${table[i + 2]} a second later"
done

# HEAD answered from the cache: the length, no body (the GET pipelined
# after it is the next thing on the connection).
RUN_INPUT=$'HEAD /same.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /same.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
run head "$OPENSSL" s_client -quiet -connect "127.0.0.1:$P" \
    -servername localhost -CAfile "$PKI/ca.crt" "${CLIENT[@]}"
unset RUN_INPUT
[ "$(grep -c '^HTTP/1.1 200 OK' "$tmp/head.out")" = 2 ] ||
    fail "head: expected two answers" "$tmp/head.out"
[ "$(grep -c '^Content-Length: 11' "$tmp/head.out")" = 2 ] ||
    fail "head: expected Content-Length: 11 twice" "$tmp/head.out"
[ "$(grep -c 'old bytes!' "$tmp/head.out")" = 1 ] ||
    fail "head: expected the body once (the GET's)" "$tmp/head.out"
say "ok: head: a HEAD answered from the cache has no body"
stopped

# Past the bounds: 1,100 files (the cache keeps 1,024), then 100 of
# 60,000 bytes with --workers 4 (4 MiB a worker), each fetched twice
# over one connection, the least recently served going first.
mkdir -p "$www/many" "$www/big" "$tmp/got"
for ((i = 1; i <= 1100; i++)); do
	printf 'file %d\n' "$i" >"$www/many/$i.txt"
done
for ((i = 1; i <= 100; i++)); do
	head -c 60000 /dev/urandom >"$www/big/$i.bin"
done
start_listener srv "${AS[@]}" "$MTLS_SERVER" --listen "127.0.0.1:@PORT@" \
    "${ID[@]}" --root "$www" --workers 4
P=$SERVER_PORT
# bounds DIR LAST SUFFIX: DIR/1..LAST fetched twice over one connection,
# each answer the file on disk.
bounds() {
	local pass
	for pass in 1 2; do
		rm -f "$tmp/got/"*
		run "bounds.$1.$pass" "$CURL_BIN" -sS --max-time 60 \
		    --cacert "$PKI/ca.crt" "${CLIENT[@]}" \
		    --resolve "localhost:$P:127.0.0.1" -o "$tmp/got/#1$3" \
		    "https://localhost:$P/$1/[1-$2]$3"
		expect_status "bounds.$1.$pass" "$rc" 0
		diff -r "$www/$1" "$tmp/got" >"$tmp/bounds.diff" 2>&1 ||
		    fail "bounds: /$1 (pass $pass) not served as on disk" \
		    "$tmp/bounds.diff"
	done
}
bounds many 1100 .txt
bounds big 100 .bin
say "ok: bounds: 1,100 files and 6 MB of files served whole, twice"
stopped
say "ok: stopped with status 0, nothing on standard error"
exit 0
