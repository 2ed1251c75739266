#!/bin/sh
# mtls_server_identities.sh - mtls-server with several identities, as
# nginx has them: an RSA and an ECDSA certificate (two --cert/--key
# pairs), the one presented chosen by what the client supports; identities
# chosen by the name the client asks for (--server-name, nginx's
# server_name); the SNI acknowledgement and ALPN http/1.1.  Read by
# `openssl s_client` and curl, and what bad options say.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
RSA=(--cert "$PKI/server-rsa.crt" --key "$PKI/server-rsa.key")
EC=(--cert "$PKI/server.crt" --key "$PKI/server.key")
NAMED=(--server-name 'serveronly *.example.org'
    --cert "$PKI/serveronly.crt" --key "$PKI/serveronly.key")

# The clients send no certificate here (--verify-client optional): an
# RSA-only client could not sign with the test client's EC key.
start_mtls_server ids "${RSA[@]}" "${EC[@]}" "${NAMED[@]}" \
    --client-ca "$PKI/ca.crt" --verify-client optional

# NAME | s_client options | what it must print about the server
while IFS='|' read -r name opts want; do
	# shellcheck disable=SC2086  # the options are a list
	RUN_INPUT='' run "$name" "$OPENSSL" s_client -connect \
	    "127.0.0.1:$SERVER_PORT" -CAfile "$PKI/ca.crt" $opts
	expect_status "$name" "$rc" 0
	expect_contains "$tmp/$name.out" "$want"
	expect_contains "$tmp/$name.out" "Verification: OK"
	say "ok: $name: $opts: $want"
done <<'TABLE'
rsa-tls13|-sigalgs rsa_pss_rsae_sha256|Server public key is 2048 bit
rsa-tls13-type|-sigalgs rsa_pss_rsae_sha256|Peer signature type: RSA-PSS
ecdsa-tls13|-sigalgs ecdsa_secp256r1_sha256|Server public key is 256 bit
ecdsa-tls13-type|-sigalgs ecdsa_secp256r1_sha256|Peer signature type: ECDSA
rsa-tls12|-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256|Server public key is 2048 bit
ecdsa-tls12|-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256|Server public key is 256 bit
sni-exact|-servername serveronly|subject=CN = serveronly
sni-wildcard|-servername www.example.org|subject=CN = serveronly
sni-other|-servername localhost|subject=CN = localhost
sni-ack-tls13|-servername serveronly -tlsextdebug|TLS server extension "server name" (id=0), len=0
sni-ack-tls12|-tls1_2 -servername localhost -tlsextdebug|TLS server extension "server name" (id=0), len=0
alpn|-alpn h2,http/1.1|ALPN protocol: http/1.1
alpn-tls12|-tls1_2 -alpn http/1.1|ALPN protocol: http/1.1
TABLE

# curl with a client certificate, verifying the name it asked for.
for name in serveronly localhost; do
	run "curl-$name" "$CURL_BIN" -sS -v --max-time 10 \
	    --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" --resolve "$name:$SERVER_PORT:127.0.0.1" \
	    "https://$name:$SERVER_PORT/"
	expect_status "curl-$name" "$rc" 0
	expect_contains "$tmp/curl-$name.err" "subject: CN=$name"
	expect_contains "$tmp/curl-$name.err" "ALPN: server accepted http/1.1"
	expect_contains "$tmp/curl-$name.out" "CN=client"
	say "ok: curl asking for $name got CN=$name, ALPN http/1.1"
done

# mtls-client offers http/1.1 as curl does (--no-alpn: nothing), and asks
# for the URL's host by SNI.
# NAME | options | URL host | what -v must show
while IFS='|' read -r name opts host want; do
	# shellcheck disable=SC2086
	run "$name" "$MTLS_CLIENT" -sS -v --max-time 10 \
	    --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" --resolve "$host:$SERVER_PORT:127.0.0.1" \
	    $opts "https://$host:$SERVER_PORT/"
	expect_status "$name" "$rc" 0
	expect_contains "$tmp/$name.err" "$want"
	say "ok: $name: mtls-client $opts, $host: $want"
done <<'TABLE'
client-alpn||localhost|ALPN: http/1.1
client-http11|--http1.1|localhost|ALPN: http/1.1
client-no-alpn|--no-alpn|localhost|ALPN: (none)
client-sni|--no-alpn|serveronly|subject: CN=serveronly
TABLE
stop_bg "$SERVER_PID"

# A second certificate of a key type replaces the first, with a warning.
start_mtls_server twice "${EC[@]}" --cert "$PKI/server-int.crt" \
    --key "$PKI/server-int.key" --client-ca "$PKI/ca.crt"
stop_bg "$SERVER_PID"
expect_contains "$tmp/twice.err" "mtls-server: warning: certificate 'CN=localhost' from '$PKI/server-int.crt' replaces certificate 'CN=localhost' from '$PKI/server.crt': a config holds one identity per key type (EC)"
say "ok: a second EC certificate replaces the first, with a warning"

# NAME | options | exit status (1 usage, 2 config) | message
while IFS='|' read -r name opts status want; do
	# shellcheck disable=SC2086
	eval "set -- $opts"
	run "$name" "$MTLS_SERVER" --listen 127.0.0.1:0 \
	    --client-ca "$PKI/ca.crt" "$@"
	expect_status "$name" "$rc" "$status"
	expect_contains "$tmp/$name.err" "$want"
	say "ok: $name: exit $status: $want"
done <<TABLE
names-first|--server-name a.test ${EC[*]}|1|no default identity: give --cert (or --p12) before the first --server-name
names-last|${EC[*]} --server-name a.test|1|--server-name 'a.test' has no --cert (or --p12) after it
key-alone|${EC[*]} --server-name a.test --key $PKI/server.key|1|--key or --pass without the --cert it belongs to
bad-name|${EC[*]} --server-name bad_name ${RSA[*]}|2|--server-name: 'bad_name' is not a server name
name-twice|${EC[*]} --server-name a.test ${RSA[*]} --server-name A.TEST ${RSA[*]}|2|server name 'A.TEST' is given twice
bad-named-key|${EC[*]} --server-name a.test --cert $PKI/server.crt --key $PKI/server-rsa.key|2|key '$PKI/server-rsa.key' does not match certificate '$PKI/server.crt'
TABLE
