#!/bin/sh
# pkcs11_softhsm.sh - keys that never leave a token: a SoftHSM2 token made
# in $tmp, an ECDSA P-256 and an RSA 2048 key generated in it, certificates
# issued for them by the test CA; then, for each key, mtls-server with
# --key pkcs11:... serving curl, and mtls-client with --key pkcs11:...
# against nginx.  The failures (a wrong PIN, no PIN, a missing object, a
# missing module, no engine) each end with their exit status, their error
# code (tests/load-identity) and a message that names what was wrong.
#
# The module is found at run time (SOFTHSM2_MODULE, else the places
# Debian and others install it); the PIN comes each way the library takes
# one: --pass, pin-source=file:, pin-value=, MTLS_PKCS11_PIN.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin softhsm2-util softhsm2-util
skip_unless_bin "pkcs11-tool (opensc)" pkcs11-tool
skip_unless_bin curl "$CURL_BIN"
skip_unless_bin nginx "$NGINX_BIN"
if [ -z "${SOFTHSM2_MODULE:-}" ]; then
	for m in /usr/lib/softhsm/libsofthsm2.so \
	    /usr/lib/*/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so \
	    /usr/lib64/pkcs11/libsofthsm2.so; do
		[ -f "$m" ] && SOFTHSM2_MODULE=$m && break
	done
fi
if [ ! -f "${SOFTHSM2_MODULE:-}" ]; then
	echo "SKIP: $testname: the SoftHSM2 module (libsofthsm2.so) not found; set SOFTHSM2_MODULE" >&2
	exit 77
fi
if ! "$OPENSSL" engine pkcs11 -t >/dev/null 2>&1; then
	echo "SKIP: $testname: OpenSSL's pkcs11 engine not found (libengine-pkcs11-openssl)" >&2
	exit 77
fi
tmpdir
need_pki
LOAD=$top_builddir/tests/load-identity
[ -x "$LOAD" ] || fail "$LOAD not built"

# ------------------------------------------------------------ the token
PIN=4321
mkdir "$tmp/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$tmp/tokens" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
unset MTLS_PKCS11_PIN MTLS_PKCS11_MODULE

run init softhsm2-util --init-token --free --label mtls-test --pin "$PIN" \
    --so-pin 87654321
expect_status init "$rc" 0

# pkcs11-tool on the test token (run, which times it, takes no function).
P11TOOL=(pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label mtls-test)

cat >"$tmp/ext.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF

# keypair NAME TYPE ID: a key pair made in the token, and a certificate of
# the test CA for its public key ($tmp/NAME.crt); the private key is never
# out of the token.
keypair() {
	local name=$1 type=$2 id=$3
	run "gen-$name" "${P11TOOL[@]}" --login --pin "$PIN" --keypairgen \
	    --key-type "$type" --label "$name" --id "$id"
	expect_status "gen-$name" "$rc" 0
	run "pub-$name" "${P11TOOL[@]}" --read-object --type pubkey --label "$name" \
	    -o "$tmp/$name.pub.der"
	expect_status "pub-$name" "$rc" 0
	run "cert-$name" sh -c "'$OPENSSL' pkey -pubin -inform DER \
	    -in '$tmp/$name.pub.der' -out '$tmp/$name.pub' &&
	    '$OPENSSL' x509 -new -subj '/O=libmtls test/CN=token $name' \
	    -force_pubkey '$tmp/$name.pub' -CA '$PKI/ca.crt' \
	    -CAkey '$PKI/ca.key' -days 30 -extfile '$tmp/ext.cnf' \
	    -out '$tmp/$name.crt'"
	expect_status "cert-$name" "$rc" 0
	say "ok: $type key '$name' made in the token, certificate issued"
}
keypair ec-key EC:prime256v1 01
keypair rsa-key rsa:2048 02
# The ECDSA certificate goes into the token too, under the key's label
# and id: --cert pkcs11:... then finds it.
run cert-der "$OPENSSL" x509 -in "$tmp/ec-key.crt" -outform DER \
    -out "$tmp/ec-key.der"
run write-cert "${P11TOOL[@]}" --login --pin "$PIN" --write-object "$tmp/ec-key.der" \
    --type cert --label ec-key --id 01
expect_status write-cert "$rc" 0

URI="pkcs11:token=mtls-test;object"
MOD="module-path=$SOFTHSM2_MODULE"
printf '%s\n' "$PIN" >"$tmp/pin"

# -------------------------------------- mtls-server with a key in a token
# serve KEYNAME KEYURI [ARG...]: mtls-server with the key in the token,
# curl with a client certificate from files, over TLS 1.3 and 1.2.
serve() {
	local name=$1 key=$2 v
	shift 2
	start_mtls_server "server-$name" --cert "$tmp/$name.crt" --key "$key" \
	    --client-ca "$PKI/ca.crt" "$@"
	P=$SERVER_PORT
	for v in 1.3 1.2; do
		fetch "curl-$name-$v" / --cert "$PKI/client.crt" \
		    --key "$PKI/client.key" --tlsv"$v" --tls-max "$v"
		status_is "curl-$name-$v" 200
		expect_contains "$tmp/curl-$name-$v.out" \
		    "subject: CN=client,OU=testers,O=libmtls test"
	done
	# The certificate curl saw is the one of the key in the token.
	run "seen-$name" "$CURL_BIN" -sS -v -o /dev/null --cacert "$PKI/ca.crt" \
	    --cert "$PKI/client.crt" --key "$PKI/client.key" \
	    --resolve "localhost:$P:127.0.0.1" "https://localhost:$P/"
	expect_contains "$tmp/seen-$name.err" "CN=token $name"
	stop_bg "$SERVER_PID"
	say "ok: mtls-server --key $key served curl (TLS 1.3 and 1.2)"
}
serve ec-key "$URI=ec-key;type=private?$MOD" --pass "$PIN"
MTLS_PKCS11_MODULE=$SOFTHSM2_MODULE serve rsa-key \
    "$URI=rsa-key;type=private?pin-source=file:$tmp/pin"

# Certificate and key both from the token (the key's URI taken from
# --cert's, as curl does), the PIN from the environment.
MTLS_PKCS11_PIN=$PIN start_mtls_server server-both --cert "$URI=ec-key?$MOD" \
    --client-ca "$PKI/ca.crt"
P=$SERVER_PORT
fetch curl-both / --cert "$PKI/client.crt" --key "$PKI/client.key"
status_is curl-both 200
stop_bg "$SERVER_PID"
say "ok: mtls-server --cert pkcs11:... (certificate and key in the token)"

# Several workers sign with the one key at once (libp11's session pool).
start_mtls_server server-par --cert "$tmp/ec-key.crt" \
    --key "$URI=ec-key?$MOD" --pass "$PIN" --client-ca "$PKI/ca.crt" \
    --workers 2
P=$SERVER_PORT
pids=()
for i in 1 2 3 4; do
	"$CURL_BIN" -sS --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" --resolve "localhost:$P:127.0.0.1" \
	    -o /dev/null -w '%{http_code}\n' --max-time 20 \
	    "https://localhost:$P/[1-10]" >"$tmp/par-$i.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a parallel curl failed" "$tmp"/par-*.out
done
[ "$(cat "$tmp"/par-*.out | grep -c '^200$')" = 40 ] ||
    fail "not 40 answers 200 from 4 parallel curls" "$tmp"/par-*.out
stop_bg "$SERVER_PID"
say "ok: 40 handshakes from 4 parallel curls, one key in the token"

# -------------------------------------- mtls-client with a key in a token
NP=$(free_port)
[ -n "$NP" ] || fail "free_port failed"
mkdir "$tmp/html"
{
	nginx_conf_head
	cat <<EOF

    ssl_certificate $PKI/server.crt;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.crt;
    ssl_verify_client on;

    server {
        listen 127.0.0.1:$NP ssl;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"
start_nginx_conf "$NP"

# client NAME CERT KEY [ARG...]: mtls-client against nginx.
client() {
	local name=$1 cert=$2 key=$3
	shift 3
	run "$name" "$MTLS_CLIENT" -sS --cacert "$PKI/ca.crt" --cert "$cert" \
	    ${key:+--key "$key"} "$@" "https://localhost:$NP/"
}
client client-ec "$tmp/ec-key.crt" "$URI=ec-key;type=private?$MOD" \
    --pass "$PIN"
expect_status client-ec "$rc" 0
expect_contains "$tmp/client-ec.out" "verify=SUCCESS dn=CN=token ec-key,O=libmtls test"
MTLS_PKCS11_PIN=$PIN MTLS_PKCS11_MODULE=$SOFTHSM2_MODULE client client-rsa \
    "$tmp/rsa-key.crt" "$URI=rsa-key" --key-type ENG
expect_status client-rsa "$rc" 0
expect_contains "$tmp/client-rsa.out" "verify=SUCCESS dn=CN=token rsa-key,O=libmtls test"
client client-uri "$URI=ec-key?$MOD&pin-value=$PIN" "" --cert-type ENG
expect_status client-uri "$rc" 0
expect_contains "$tmp/client-uri.out" "verify=SUCCESS dn=CN=token ec-key"
say "ok: mtls-client --key pkcs11:... (ECDSA and RSA) and --cert pkcs11:... against nginx"

# mtls-proxy presents the token's key upstream for a plain local client.
start_listener proxy "$top_builddir/examples/mtls-proxy" \
    --listen "127.0.0.1:@PORT@" --upstream "https://localhost:$NP" \
    --cert "$tmp/rsa-key.crt" --key "$URI=rsa-key?$MOD" --pass "$PIN" \
    --cacert "$PKI/ca.crt"
run via-proxy "$CURL_BIN" -sS --max-time 15 "http://127.0.0.1:$SERVER_PORT/"
expect_status via-proxy "$rc" 0
expect_contains "$tmp/via-proxy.out" "verify=SUCCESS dn=CN=token rsa-key"
stop_bg "$SERVER_PID"
say "ok: mtls-proxy --key pkcs11:... upstream to nginx"

# The default module is the engine's (p11-kit-proxy), which reaches the
# modules p11-kit has registered: SoftHSM2's when it is installed so.
if p11-kit list-modules 2>/dev/null | grep -q "$(basename "$SOFTHSM2_MODULE")"; then
	client client-proxy "$tmp/ec-key.crt" "$URI=ec-key" --pass "$PIN"
	expect_status client-proxy "$rc" 0
	expect_contains "$tmp/client-proxy.out" "verify=SUCCESS"
	say "ok: the engine's default module (p11-kit-proxy) reached the token"
else
	say "note: SoftHSM2 not registered with p11-kit: default module not tried"
fi
stop_bg "$NGINX_PID"

# ------------------------------------------------------------ failures
# failure NAME CODE TEXT CERT KEY [PASS]: the library's code and message
# (tests/load-identity), then mtls-server -t (exit 2) and mtls-client
# (exit 58, curl's CURLE_SSL_CERTPROBLEM), each naming the cause.
failure() {
	local name=$1 code=$2 text=$3 cert=$4 key=$5 pass=$6
	run "$name-lib" "$LOAD" "$cert" "$key" ${pass:+"$pass"}
	expect_status "$name-lib" "$rc" 1
	expect_contains "$tmp/$name-lib.err" "$code: "
	expect_contains "$tmp/$name-lib.err" "$text"
	run "$name-server" "$MTLS_SERVER" -t --listen 127.0.0.1:1 --cert "$cert" \
	    --key "$key" ${pass:+--pass "$pass"} --client-ca "$PKI/ca.crt"
	expect_status "$name-server" "$rc" 2
	expect_contains "$tmp/$name-server.err" "$text"
	run "$name-client" "$MTLS_CLIENT" -sS --cacert "$PKI/ca.crt" \
	    --cert "$cert" --key "$key" ${pass:+--pass "$pass"} \
	    https://localhost:1/
	expect_status "$name-client" "$rc" 58
	expect_contains "$tmp/$name-client.err" "$text"
	expect_not_contains "$tmp/$name-client.err" "Enter"
	say "ok: $name: $code, '$text'"
}
failure wrong-pin MTLS_ERR_PASSPHRASE \
    "PKCS#11: the token 'mtls-test' refused the PIN (CKR_PIN_INCORRECT)" \
    "$tmp/ec-key.crt" "$URI=ec-key;type=private?$MOD" 1111
failure no-pin MTLS_ERR_PASSPHRASE \
    "the token 'mtls-test' asks for a PIN and none was given" \
    "$tmp/ec-key.crt" "$URI=ec-key;type=private?$MOD"
failure no-object MTLS_ERR_FILE \
    "no private key matches $URI=nope;type=private in token 'mtls-test'" \
    "$tmp/ec-key.crt" "$URI=nope;type=private?$MOD" "$PIN"
failure no-module MTLS_ERR_UNSUPPORTED \
    "PKCS#11 module $tmp/nonexistent.so: cannot be loaded: cannot open shared object file" \
    "$tmp/ec-key.crt" "$URI=ec-key?module-path=$tmp/nonexistent.so" "$PIN"
OPENSSL_ENGINES=$tmp/no-engines failure no-engine MTLS_ERR_UNSUPPORTED \
    "PKCS#11 keys need OpenSSL's pkcs11 engine, which could not be loaded: apt-get install libengine-pkcs11-openssl" \
    "$tmp/ec-key.crt" "$URI=ec-key?$MOD" "$PIN"
failure mismatch MTLS_ERR_KEY_MISMATCH \
    "key '$URI=rsa-key' does not match certificate '$tmp/ec-key.crt'" \
    "$tmp/ec-key.crt" "$URI=rsa-key?$MOD&pin-value=$PIN"
# A message never shows the PIN given in the URI.
expect_not_contains "$tmp/mismatch-lib.err" "$PIN"
expect_not_contains "$tmp/wrong-pin-lib.err" "1111"

# The failures above left the token usable: fewer wrong PINs than lock it,
# and --password-file gives a token its first line only.
printf '1111\n%s\n' "$PIN" >"$tmp/passwords"
run pwfile "$MTLS_SERVER" -t --listen 127.0.0.1:1 --cert "$tmp/ec-key.crt" \
    --key "$URI=ec-key?$MOD" --password-file "$tmp/passwords" \
    --client-ca "$PKI/ca.crt"
expect_status pwfile "$rc" 2
expect_contains "$tmp/pwfile.err" "CKR_PIN_INCORRECT"
expect_contains "$tmp/pwfile.err" "only that one is tried on a token"
run token-ok "$LOAD" "$tmp/ec-key.crt" "$URI=ec-key?$MOD" "$PIN"
expect_status token-ok "$rc" 0
say "ok: --password-file tries one PIN on a token; the token still opens"
exit 0
