#!/bin/sh
# demo.sh BUILDDIR - `make demo`: mutual TLS in one minute.
#
# Makes a CA, a server and a client certificate with the very commands of
# the article "Securing Ruby Applications with mTLS", then runs the
# mtls-echo server and client with them on 127.0.0.1 and shows what each
# side saw.  Everything happens in BUILDDIR/demo, made afresh each time.
# Exits 0 only when the exchange worked.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"

builddir=${1:?usage: demo.sh BUILDDIR}
builddir=$(cd "$builddir" && pwd) || exit 1
echo_bin=$builddir/examples/mtls-echo
OPENSSL=${OPENSSL_BIN:-openssl}
dir=$builddir/demo

[ -x "$echo_bin" ] || { echo "demo: $echo_bin not built (run make)" >&2; exit 1; }

server_pid=
# Stop the server we started, and only it, however the demo ends.
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null' EXIT

step() {
	printf '\n== %s\n' "$*"
}
# Shows each openssl command before running it, the way a reader would
# type it; `command` runs the real program, not this function.  Its
# chatter (key generation progress) is shown only if it fails.
openssl() {
	printf '$ openssl %s\n' "$*"
	if ! command "$OPENSSL" "$@" 2>openssl.log; then
		cat openssl.log >&2
		echo "demo: failed: openssl $*" >&2
		exit 1
	fi
}

rm -rf "$dir"
mkdir -p "$dir"
cd "$dir" || exit 1
echo "Working in $dir"

step "A certificate authority (CA) that both sides trust"
openssl req -new -x509 -nodes -days 30 -subj '/CN=my-ca' \
    -keyout ca.key -out ca.crt -sha256

step "The server's key and certificate, for the name localhost, signed by the CA"
openssl genrsa -out server.key 2048
openssl req -new -key server.key -subj '/CN=localhost' -out server.csr -sha256
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days 30 -sha256

step "The client's key and certificate, signed by the same CA"
openssl genpkey -algorithm RSA -out client.key
openssl req -new -key client.key -subj '/CN=client' -out client.csr -sha256
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out client.crt -days 30 -sha256

step "The client's certificate and key in one file"
printf '$ cat client.crt client.key > combined.pem\n'
cat client.crt client.key >combined.pem
rm -f openssl.log

# A port free right now; without the test helper, port 0 lets the server
# pick one, and it tells us which on its "listening on" line.
if [ -x "$builddir/tests/free-port" ]; then
	port=$("$builddir/tests/free-port")
else
	port=0
fi

step "The server: requires a client certificate signed by ca.crt"
printf '$ mtls-echo server --listen 127.0.0.1:%s --cert server.crt --key server.key --cacert ca.crt --count 1 &\n' "$port"
"$echo_bin" server --listen "127.0.0.1:$port" --cert server.crt \
    --key server.key --cacert ca.crt --count 1 >server.out 2>server.err &
server_pid=$!

# Wait (at most 10 s) for it to listen.
for _ in $(seq 100); do
	grep -q 'listening on' server.out 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q 'listening on' server.out 2>/dev/null; then
	echo "demo: the server did not start:" >&2
	cat server.out server.err >&2
	exit 1
fi
cat server.out
port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' server.out | head -n 1)
if [ -z "$port" ] || [ "$port" = 0 ]; then
	echo "demo: cannot tell the server's port from: $(cat server.out)" >&2
	exit 1
fi

step "The client: presents combined.pem, verifies the server against ca.crt"
printf '$ mtls-echo client --connect localhost:%s --cert combined.pem --cacert ca.crt --message "hello over mTLS"\n' "$port"
timeout 20 "$echo_bin" client --connect "localhost:$port" \
    --cert combined.pem --cacert ca.crt --message "hello over mTLS" \
    >client.out 2>client.err
client_status=$?
cat client.out client.err

# The server leaves after its one connection (--count 1).
for _ in $(seq 100); do
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
kill "$server_pid" 2>/dev/null
wait "$server_pid"
server_status=$?
server_pid=

step "What the server saw"
sed 1d server.out
cat server.err

echo
if [ "$client_status" -eq 0 ] && [ "$server_status" -eq 0 ] &&
    grep -q 'hello client, you said: hello over mTLS' client.out &&
    grep -q 'verified=yes' server.out; then
	echo "demo: mutual TLS works: each side verified the other's certificate."
	exit 0
fi
echo "demo: the exchange failed (client status $client_status, server status $server_status)" >&2
exit 1
