#!/bin/sh
# interop_openssl_server.sh - the mtls-echo client against `openssl s_server`
# requiring a client certificate (-Verify 1), in TLS 1.3 and TLS 1.2.
#
# What it shows: libmtls presents its identity in every form people have it
# in, verifies the server (SAN, CN-only certificates, chains, expiry), and
# names the cause when the server refuses us: in TLS 1.3 that refusal
# arrives after the client's handshake has returned, in TLS 1.2 during it.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
need_mtls_echo

# s_server NAME [ARG...]: starts `openssl s_server -www` requiring a client
# certificate signed by ca.crt, on a free port; sets S_PORT and S_PID.
# -Verify alone only logs verification errors: -verify_return_error makes
# s_server refuse an untrusted certificate.  It prints ACCEPT once
# listening, which spares it a probe connection.
s_server() {
	local name=$1
	shift
	for _ in 1 2 3; do
		S_PORT=$(free_port)
		[ -n "$S_PORT" ] || fail "free_port failed"
		start_bg "$name" "$OPENSSL" s_server -Verify 1 -verify_return_error \
		    -www -CAfile "$PKI/ca.crt" -accept "127.0.0.1:$S_PORT" "$@"
		S_PID=$BG_PID
		wait_file_contains "$tmp/$name.out" ACCEPT 10 "$S_PID" &&
		    return 0
		stop_bg "$S_PID"
	done
	fail "openssl s_server did not start" "$tmp/$name.out" "$tmp/$name.err"
}

# client NAME ARG...: runs the mtls-echo client; sets rc.
client() {
	local name=$1
	shift
	run "$name" "$MTLS_ECHO" client "$@"
}

# ok_http NAME: the client got s_server's -www page, having verified it.
ok_http() {
	expect_status "$1" "$rc" 0
	expect_contains "$tmp/$1.out" "HTTP/1.0 200 ok"
	expect_contains "$tmp/$1.out" "verified=yes"
	expect_contains "$tmp/$1.out" "subject=CN=localhost"
	say "ok: $1"
}

# refused NAME STATUS... -- TEXT: the client failed with one of the given
# exit statuses, said TEXT on stderr, and got no page.
refused() {
	local name=$1 st=()
	shift
	while [ "$1" != "--" ]; do
		st+=("$1")
		shift
	done
	expect_status "$name" "$rc" "${st[@]}"
	expect_contains "$tmp/$name.err" "$2"
	expect_not_contains "$tmp/$name.out" "200 ok"
	say "ok: $name: $2"
}

ID=(--cert "$PKI/client.crt" --key "$PKI/client.key")
CA=(--cacert "$PKI/ca.crt")

# ---------------------------------------------------------------- TLS 1.3
s_server s13 -cert "$PKI/server.crt" -key "$PKI/server.key"
mark_log "$tmp/s13.err"

client tls13 --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
ok_http tls13
expect_contains "$tmp/tls13.out" "version=TLSv1.3"
expect_contains "$tmp/tls13.out" "issuer=CN=libmtls Test Root CA"
# s_server's page shows the certificate it received: ours.
expect_contains "$tmp/tls13.out" "Client certificate"
expect_contains "$tmp/tls13.out" "Subject: O=libmtls test, OU=testers, CN=client"

# By name: every address of localhost is tried, the SAN DNS entry matches.
client byname --connect "localhost:$S_PORT" "${ID[@]}" "${CA[@]}" --http
ok_http byname

# The seed article's combined PEM: the key is read from the --cert file.
client combined --connect "127.0.0.1:$S_PORT" \
    --cert "$PKI/client-combined.pem" "${CA[@]}" --http
ok_http combined

client p12 --connect "127.0.0.1:$S_PORT" --p12 "$PKI/client.p12:p12pass" \
    "${CA[@]}" --http
ok_http p12

client p12legacy --connect "127.0.0.1:$S_PORT" \
    --p12 "$PKI/client-legacy.p12:p12pass" "${CA[@]}" --http
ok_http p12legacy

client enckey --connect "127.0.0.1:$S_PORT" --cert "$PKI/client.crt" \
    --key "$PKI/client-enc.key" --pass secret "${CA[@]}" --http
ok_http enckey

# No certificate: TLS 1.3 lets our handshake finish, and the server's
# certificate_required alert comes on the first read.
mark_log "$tmp/s13.err"
client nocert13 --connect "127.0.0.1:$S_PORT" "${CA[@]}" --http
refused nocert13 4 5 -- "server requires a client certificate"
expect_server_log "$tmp/s13.err" "peer did not return a certificate" "$S_PID"

# A certificate from a CA the server does not trust.
client other13 --connect "127.0.0.1:$S_PORT" --cert "$PKI/other-client.crt" \
    --key "$PKI/other-client.key" "${CA[@]}" --http
refused other13 4 5 -- "server rejected our client certificate"

# We do not trust the server: our side refuses, in the handshake.
client untrusted --connect "127.0.0.1:$S_PORT" "${ID[@]}" \
    --cacert "$PKI/other-ca.crt" --http
refused untrusted 4 -- "server certificate not trusted"

# A name the certificate does not carry.
client badname --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" \
    --name other.example.org --http
refused badname 4 -- "does not match"
stop_bg "$S_PID"

# ------------------------------------------- CN-only server certificate
# Made like the seed article: v1, no SAN.  The CN is the only name in it.
s_server scn -cert "$PKI/server-cn.crt" -key "$PKI/server-cn.key"

client cn_byname --connect "localhost:$S_PORT" "${ID[@]}" "${CA[@]}" --http
ok_http cn_byname

# An IP address is never matched against a CN.
client cn_byip --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
refused cn_byip 4 -- "does not match"

client cn_name --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" \
    --name localhost --http
ok_http cn_name
stop_bg "$S_PID"

# ---------------------------------------------- server chain, expired
# The server sends its intermediate; we trust only the root.
s_server schain -cert "$PKI/server-int.crt" -key "$PKI/server-int.key" \
    -cert_chain "$PKI/int.crt"
client chain --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
ok_http chain
expect_contains "$tmp/chain.out" "issuer=CN=libmtls Test Intermediate CA"
stop_bg "$S_PID"

# Without the intermediate the chain cannot be built.
s_server snochain -cert "$PKI/server-int.crt" -key "$PKI/server-int.key"
client nochain --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
refused nochain 4 -- "server certificate not trusted"
stop_bg "$S_PID"

s_server sexp -cert "$PKI/server-expired.crt" -key "$PKI/server-expired.key"
client expired --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
refused expired 4 -- "expired"
stop_bg "$S_PID"

# ---------------------------------------------------------------- TLS 1.2
s_server s12 -tls1_2 -cert "$PKI/server.crt" -key "$PKI/server.key"

client tls12 --connect "127.0.0.1:$S_PORT" "${ID[@]}" "${CA[@]}" --http
ok_http tls12
expect_contains "$tmp/tls12.out" "version=TLSv1.2"

# In TLS 1.2 the server's refusal comes during the handshake: status 4.
mark_log "$tmp/s12.err"
client nocert12 --connect "127.0.0.1:$S_PORT" "${CA[@]}" --http
refused nocert12 4 -- "server requires a client certificate"
expect_server_log "$tmp/s12.err" "peer did not return a certificate" "$S_PID"

client other12 --connect "127.0.0.1:$S_PORT" --cert "$PKI/other-client.crt" \
    --key "$PKI/other-client.key" "${CA[@]}" --http
refused other12 4 -- "server rejected our client certificate"
stop_bg "$S_PID"

exit 0
