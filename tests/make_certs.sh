#!/bin/sh
# make_certs.sh - examples/make-certs makes a PKI that openssl, mtls-echo
# and curl accept, the way the README's quick start uses it.
#
# What it shows: the CA, server and client certificates verify and carry
# the extensions they should; the PKCS#12 opens without OpenSSL's legacy
# provider; keys are private; a second run does not destroy the CA but can
# add clients to it; and the files work for mutual TLS with each client
# form (combined PEM, PKCS#12, separate PEM files with curl), while a client
# of another make-certs CA is refused.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

MAKE_CERTS=$top_srcdir/examples/make-certs
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_mtls_echo

# make_certs NAME ARG...: runs make-certs with OPENSSL_BIN set as ours.
make_certs() {
	local name=$1
	shift
	OPENSSL_BIN=$OPENSSL run "$name" sh "$MAKE_CERTS" "$@"
}

# mode FILE: the file's permission bits, in octal.
mode() {
	stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"
}

D=$tmp/certs
PW='s3cret pw'

# ------------------------------------------------------------- the files
make_certs help --help
expect_status help "$rc" 0
expect_contains "$tmp/help.out" "usage: make-certs"

make_certs first -d "$D" --p12-password "$PW"
expect_status first "$rc" 0
for f in ca.crt ca.key server.crt server.key client.crt client.key \
    client.pem client.p12; do
	[ -s "$D/$f" ] || fail "make-certs did not make $f" "$tmp/first.out"
done
expect_contains "$tmp/first.out" "mtls-echo server"
expect_contains "$tmp/first.out" "curl --cert"
say "ok: made the files"

run verify "$OPENSSL" verify -CAfile "$D/ca.crt" "$D/server.crt" "$D/client.crt"
expect_status verify "$rc" 0
expect_contains "$tmp/verify.out" "server.crt: OK"
expect_contains "$tmp/verify.out" "client.crt: OK"

run server_ext "$OPENSSL" x509 -in "$D/server.crt" -noout \
    -ext subjectAltName,extendedKeyUsage
expect_status server_ext "$rc" 0
expect_contains "$tmp/server_ext.out" "DNS:localhost"
expect_contains "$tmp/server_ext.out" "IP Address:127.0.0.1"
expect_contains "$tmp/server_ext.out" "IP Address:0:0:0:0:0:0:0:1"
expect_contains "$tmp/server_ext.out" "TLS Web Server Authentication"
expect_not_contains "$tmp/server_ext.out" "Client Authentication"

run client_ext "$OPENSSL" x509 -in "$D/client.crt" -noout -subject \
    -ext extendedKeyUsage
expect_status client_ext "$rc" 0
expect_contains "$tmp/client_ext.out" "TLS Web Client Authentication"
expect_contains "$tmp/client_ext.out" "CN = client"

run ca_ext "$OPENSSL" x509 -in "$D/ca.crt" -noout -subject \
    -ext basicConstraints,keyUsage
expect_status ca_ext "$rc" 0
expect_contains "$tmp/ca_ext.out" "CN = mtls-ca"
expect_contains "$tmp/ca_ext.out" "X509v3 Basic Constraints: critical"
expect_contains "$tmp/ca_ext.out" "CA:TRUE"
expect_contains "$tmp/ca_ext.out" "Certificate Sign, CRL Sign"
say "ok: openssl verify, SANs and extended key usages"

# No -legacy: modern PBES2/AES, which OpenSSL 3 opens with its default provider.
run p12info "$OPENSSL" pkcs12 -info -noout -in "$D/client.p12" \
    -passin "pass:$PW"
expect_status p12info "$rc" 0
expect_contains "$tmp/p12info.err" "AES-256-CBC"
run p12wrong "$OPENSSL" pkcs12 -info -noout -in "$D/client.p12" \
    -passin pass:wrong
[ "$rc" -ne 0 ] || fail "the .p12 opened with a wrong password"

# The combined PEM is the certificate, then the key.
cat "$D/client.crt" "$D/client.key" | cmp -s - "$D/client.pem" ||
    fail "client.pem is not client.crt followed by client.key"
say "ok: PKCS#12 without -legacy, combined PEM"

for f in ca.key server.key client.key client.pem client.p12; do
	[ "$(mode "$D/$f")" = 600 ] ||
	    fail "$f has mode $(mode "$D/$f"), expected 600"
done
say "ok: keys are 0600"

# ------------------------------------------------------ the second run
cp "$D/ca.crt" "$tmp/ca.crt.before"
cp "$D/ca.key" "$tmp/ca.key.before"
make_certs again -d "$D"
[ "$rc" -ne 0 ] || fail "a second run without --force succeeded" \
    "$tmp/again.out"
expect_contains "$tmp/again.err" "already has a CA"
expect_contains "$tmp/again.err" "--force"
if ! cmp -s "$D/ca.crt" "$tmp/ca.crt.before" ||
    ! cmp -s "$D/ca.key" "$tmp/ca.key.before"; then
	fail "a refused second run changed the CA"
fi
say "ok: second run refused: $(cat "$tmp/again.err")"

make_certs add -d "$D" --client alice --p12-password "$PW"
expect_status add "$rc" 0
cmp -s "$D/ca.crt" "$tmp/ca.crt.before" || fail "adding a client changed ca.crt"
run verify_add "$OPENSSL" verify -CAfile "$D/ca.crt" "$D/alice.crt"
expect_status verify_add "$rc" 0
[ "$(mode "$D/alice.key")" = 600 ] || fail "alice.key is not 0600"
# alice exists now: not silently replaced.
make_certs add_again -d "$D" --client alice
[ "$rc" -ne 0 ] || fail "make-certs replaced alice's files"
expect_contains "$tmp/add_again.err" "alice.crt already exists"
say "ok: a client added to the existing CA"

# ------------------------------------------------------- bad arguments
make_certs badip -d "$tmp/bad" --ip 10.0.0.300
expect_status badip "$rc" 2
expect_contains "$tmp/badip.err" "10.0.0.300"
[ ! -e "$tmp/bad/ca.crt" ] || fail "make-certs made a CA despite a bad --ip"
OPENSSL_BIN=$tmp/no-such-openssl run noopenssl sh "$MAKE_CERTS" -d "$tmp/bad"
[ "$rc" -ne 0 ] || fail "make-certs succeeded without openssl"
expect_contains "$tmp/noopenssl.err" "openssl not found"
: >"$tmp/afile"
make_certs notadir -d "$tmp/afile/certs"
[ "$rc" -ne 0 ] || fail "make-certs succeeded in an impossible directory"
expect_contains "$tmp/notadir.err" "cannot create directory"
# root writes anywhere: the permission check is testable only as a user.
if [ "$(id -u)" != 0 ]; then
	mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
	make_certs readonly -d "$tmp/ro"
	chmod 755 "$tmp/ro"
	[ "$rc" -ne 0 ] || fail "make-certs succeeded in a read-only directory"
	expect_contains "$tmp/readonly.err" "cannot write in directory"
fi
say "ok: bad --ip, missing openssl and a bad directory are reported"

# A second, unrelated PKI, for the negative case.
make_certs other -d "$tmp/other" --client intruder
expect_status other "$rc" 0

# -------------------------------------------------- mutual TLS with them
start_echo_server srv --cert "$D/server.crt" --key "$D/server.key" \
    --cacert "$D/ca.crt"
P=$SERVER_PORT

# echo_client NAME ARG...: mtls-echo client to localhost (a SAN) on $P.
echo_client() {
	local name=$1
	shift
	run "$name" "$MTLS_ECHO" client --connect "localhost:$P" \
	    --cacert "$D/ca.crt" "$@"
}

echo_client pem --cert "$D/client.pem"
expect_status pem "$rc" 0
expect_contains "$tmp/pem.out" "hello client"
expect_server_log "$tmp/srv.out" "subject=CN=client" "$SERVER_PID"
say "ok: mtls-echo client with the combined PEM"

echo_client p12 --p12 "$D/client.p12:$PW"
expect_status p12 "$rc" 0
expect_contains "$tmp/p12.out" "hello client"
say "ok: mtls-echo client with the PKCS#12"

echo_client added --cert "$D/alice.pem"
expect_status added "$rc" 0
expect_server_log "$tmp/srv.out" "subject=CN=alice" "$SERVER_PID"
say "ok: mtls-echo client with the added client"

# By IP address: the server certificate's IP SAN.
run byip "$MTLS_ECHO" client --connect "127.0.0.1:$P" \
    --cacert "$D/ca.crt" --cert "$D/client.pem"
expect_status byip "$rc" 0
say "ok: server verified by its IP SAN"

if [ -n "$CURL_BIN" ] && command -v "$CURL_BIN" >/dev/null 2>&1; then
	run curl "$CURL_BIN" -sS --max-time 15 \
	    --resolve "localhost:$P:127.0.0.1" --cert "$D/client.crt" \
	    --key "$D/client.key" --cacert "$D/ca.crt" "https://localhost:$P/"
	expect_status curl "$rc" 0
	expect_contains "$tmp/curl.out" "hello client"
	say "ok: curl --cert --key --cacert"
else
	say "curl not found: skipping the curl part"
fi

mark_log "$tmp/srv.err"
echo_client intruder --cert "$tmp/other/intruder.pem"
[ "$rc" -ne 0 ] || fail "a client of another CA was accepted" \
    "$tmp/intruder.out" "$tmp/intruder.err"
expect_server_log "$tmp/srv.err" "client certificate not trusted" "$SERVER_PID"
say "ok: a client of another make-certs CA is refused"

stop_bg "$SERVER_PID"

# ---------------------------------------------------------------- RSA
make_certs rsa -d "$tmp/rsa" --rsa --server rsa.test --client r
expect_status rsa "$rc" 0
run rsa_key "$OPENSSL" pkey -in "$tmp/rsa/r.key" -noout -text
expect_contains "$tmp/rsa_key.out" "2048 bit"
run rsa_san "$OPENSSL" x509 -in "$tmp/rsa/server.crt" -noout -ext subjectAltName
expect_contains "$tmp/rsa_san.out" "DNS:rsa.test"
expect_not_contains "$tmp/rsa_san.out" "127.0.0.1"
say "ok: --rsa and --server"

exit 0
