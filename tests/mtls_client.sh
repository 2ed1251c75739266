#!/bin/sh
# mtls_client.sh - mtls-client, typed as the seed articles type curl,
# against real peers on loopback: nginx configured as the seed configures
# it (ssl_verify_client on, and optional with the $ssl_client_verify 403
# check), `openssl s_server -Verify 1`, a TCP listener that never answers,
# and a port where nothing listens.
#
# Every failure case checks the exit code (curl's numbers) and a phrase of
# the message, which must name the cause.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin nginx "$NGINX_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
CLIENT=$top_builddir/examples/mtls-client
[ -x "$CLIENT" ] || fail "$CLIENT not built"
# mtls-client reads https_proxy and no_proxy as curl does: none here.
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
S=$PKI/seed

# mc NAME ARG...: runs mtls-client with ARGs.
mc() {
	local name=$1
	shift
	run "$name" "$CLIENT" "$@"
}

# got NAME TEXT: exit status 0 and TEXT in what it printed on stdout.
got() {
	expect_status "$1" "$rc" 0
	expect_contains "$tmp/$1.out" "$2"
	say "ok: $1: $2"
}

# failed NAME STATUS TEXT: exit STATUS and TEXT in its message (stderr).
failed() {
	expect_status "$1" "$rc" "$2"
	expect_contains "$tmp/$1.err" "$3"
	say "ok: $1: exit $2: $3"
}

# spki FILE: curl's sha256//BASE64 pin of a certificate's public key.
spki() {
	"$OPENSSL" x509 -in "$1" -pubkey -noout |
	    "$OPENSSL" pkey -pubin -outform der |
	    "$OPENSSL" dgst -sha256 -binary | "$OPENSSL" enc -base64
}

ms_now() {
	date +%s%3N
}

# ---------------------------------------------------------------- nginx
# P1: the seed's server (ssl_verify_client on, the 403 check), with an
# /echo location that hands the request body to the plain backend PB in a
# header (one line only), a /sink that logs it, and a static file.  P2: ssl_verify_client optional.  P3: the
# seed article's own certificates.
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
PB=$(free_port)
[ -n "$P1" ] && [ -n "$P2" ] && [ -n "$P3" ] && [ -n "$PB" ] ||
    fail "free_port failed"
[ "$(printf '%s\n' "$P1" "$P2" "$P3" "$PB" | sort -u | wc -l)" -eq 4 ] ||
    fail "free_port gave the same port twice"

mkdir "$tmp/html"
"$OPENSSL" rand -out "$tmp/html/file.bin" 100000

verify_check='if ($ssl_client_verify != SUCCESS) { return 403; }'
answer='return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n";'
{
	nginx_conf_head
	cat <<EOF

    client_body_buffer_size 64k;
    log_format body 'body \$request_method len=\$content_length body=\$request_body';
    ssl_certificate $PKI/server.crt;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.crt;

    server {
        listen 127.0.0.1:$P1 ssl;
        ssl_verify_client on;
        location / {
            $verify_check
            $answer
        }
        location /echo {
            $verify_check
            proxy_pass http://127.0.0.1:$PB;
            proxy_set_header X-Body \$request_body;
            access_log $tmp/body.log body;
        }
        location /sink {
            proxy_pass http://127.0.0.1:$PB;
            access_log $tmp/body.log body;
        }
        location = /file.bin {
        }
    }

    server {
        listen 127.0.0.1:$P2 ssl;
        ssl_verify_client optional;
        location / {
            $verify_check
            $answer
        }
    }

    server {
        listen 127.0.0.1:$P3 ssl;
        ssl_certificate $S/server.crt;
        ssl_certificate_key $S/server.key;
        ssl_client_certificate $S/ca.crt;
        ssl_verify_client on;
        location / {
            $verify_check
            $answer
        }
    }

    server {
        listen 127.0.0.1:$PB;
        location / {
            return 200 "method=\$request_method ct=\$content_type len=\$content_length xtest=\$http_x_test body=\$http_x_body\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"

start_nginx_conf "$P1" "$P2" "$P3" "$PB"

U1=https://localhost:$P1/
CA=(--cacert "$PKI/ca.crt")
ID=(--cert "$PKI/client.crt" --key "$PKI/client.key")

# ------------------------------------------- the seed's commands, as typed
mc seed "https://localhost:$P3/" --cert "$S/client.crt" --key "$S/client.key" \
    --cacert "$S/ca.crt"
got seed "verify=SUCCESS dn=CN=client"

mc seed-combined "https://localhost:$P3/" --cert "$S/combined.pem" \
    --cacert "$S/ca.crt"
got seed-combined "verify=SUCCESS dn=CN=client"

mc pem "$U1" "${ID[@]}" "${CA[@]}"
got pem "verify=SUCCESS dn=CN=client,OU=testers,O=libmtls test"

mc combined "$U1" --cert "$PKI/client-combined.pem" "${CA[@]}"
got combined "verify=SUCCESS"

mc p12 "$U1" --cert "$PKI/client.p12:p12pass" --cert-type P12 "${CA[@]}"
got p12 "verify=SUCCESS"

mc p12-pass "$U1" --cert "$PKI/client.p12" --pass p12pass "${CA[@]}"
got p12-pass "verify=SUCCESS"

mc enckey "$U1" --cert "$PKI/client.crt" --key "$PKI/client-enc.key" \
    --pass secret "${CA[@]}"
got enckey "verify=SUCCESS"

mc capath "$U1" "${ID[@]}" --capath "$PKI/ca-dir"
got capath "verify=SUCCESS"

mc crl "$U1" "${ID[@]}" "${CA[@]}" --crlfile "$PKI/crl.pem"
got crl "verify=SUCCESS"

# Options after the URL, bundled short options.
mc order "$U1" -sS "${ID[@]}" "${CA[@]}" -f
got order "verify=SUCCESS"

# An openssl.cnf that activates providers: the library then uses OpenSSL's
# default context as configured, not its own (lib/libctx.c).
cat >"$tmp/providers.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
EOF
OPENSSL_CONF=$tmp/providers.cnf mc providers-cnf "$U1" "${ID[@]}" "${CA[@]}"
got providers-cnf "verify=SUCCESS"
OPENSSL_CONF=$tmp/providers.cnf mc providers-cnf-p12 "$U1" \
    --cert "$PKI/client-legacy.p12:p12pass" --cert-type P12 "${CA[@]}"
got providers-cnf-p12 "verify=SUCCESS"

# ------------------------------------------------- our identity is wrong
mc p12-badpass "$U1" --cert "$PKI/client.p12:wrong" --cert-type P12 "${CA[@]}"
failed p12-badpass 58 "client.p12"

mc key-badpass "$U1" --cert "$PKI/client.crt" --key "$PKI/client-enc.key" \
    --pass wrong "${CA[@]}"
failed key-badpass 58 "client-enc.key"

mc cert-missing "$U1" --cert "$tmp/nonexistent.crt" "${CA[@]}"
failed cert-missing 58 "nonexistent.crt"

mc cert-type "$U1" --cert "$PKI/client.crt" --cert-type ENG "${CA[@]}"
failed cert-type 58 "--cert-type ENG takes a certificate in a token"

mc key-type "$U1" --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --key-type ENG "${CA[@]}"
failed key-type 58 "--key-type ENG takes a key in a token"

# DER, as --cert-type DER and --key-type DER read it: the certificate,
# and the key in each of the encodings openssl writes (PKCS#8 by pkey,
# SEC1 by ec, encrypted PKCS#8 by pkcs8 -topk8).
"$OPENSSL" x509 -in "$PKI/client.crt" -outform DER -out "$tmp/client.der"
"$OPENSSL" pkey -in "$PKI/client.key" -outform DER -out "$tmp/key-p8.der"
"$OPENSSL" ec -in "$PKI/client.key" -outform DER -out "$tmp/key-sec1.der" \
    2>/dev/null
"$OPENSSL" pkcs8 -topk8 -in "$PKI/client.key" -outform DER \
    -out "$tmp/key-enc.der" -passout pass:secret
for k in p8 sec1 enc; do
	mc "der-$k" "$U1" --cert "$tmp/client.der" --cert-type DER \
	    --key "$tmp/key-$k.der" --key-type DER --pass secret "${CA[@]}"
	got "der-$k" "verify=SUCCESS dn=CN=client"
done

mc der-as-pem "$U1" --cert "$tmp/client.der" --key "$PKI/client.key" \
    "${CA[@]}"
failed der-as-pem 58 "is not PEM"

# ------------------------------------------ TLS policy, with curl's names
# Against mtls-server (TLS 1.2 and 1.3): each setting is what the
# handshake used (-v's session line); a name OpenSSL does not know exits
# 59 and a range with no version 35, as curl's.  nginx 1.22 enables TLS
# 1.3 only when ssl_protocols lists it: --tlsv1.3 fails there, saying so.
start_mtls_server policy --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt"
UP=https://localhost:$SERVER_PORT/
while read -r name want opts; do
	# shellcheck disable=SC2086  # opts is a list of options
	mc "$name" "$UP" "${ID[@]}" "${CA[@]}" -v $opts
	expect_status "$name" "$rc" 0
	expect_contains "$tmp/$name.err" "${want//·/ }"
	say "ok: $name: ${want//·/ }"
done <<'EOF'
tls-max12 protocol:·TLSv1.2 --tls-max 1.2
tlsv13 protocol:·TLSv1.3 --tlsv1.3
ciphers cipher:·ECDHE-ECDSA-CHACHA20-POLY1305 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305
tls13-ciphers cipher:·TLS_AES_128_GCM_SHA256 --tls13-ciphers TLS_AES_128_GCM_SHA256
curves group:·secp384r1 --curves P-384
no-alpn ALPN:·(none) --no-alpn
alpn ALPN:·http/1.1 --no-alpn --alpn
EOF
while read -r name status want opts; do
	# shellcheck disable=SC2086
	mc "$name" "$UP" "${ID[@]}" "${CA[@]}" $opts
	failed "$name" "$status" "${want//·/ }"
done <<'EOF'
ciphers-bad 59 unknown·TLS·1.2·cipher·'NOPE' --tls-max 1.2 --ciphers ECDHE:NOPE
tls13-ciphers-bad 59 unknown·TLS·1.3·cipher·suite·'TLS_NOPE' --tls13-ciphers TLS_NOPE
curves-bad 59 unknown·key·exchange·group·'P-999' --curves X25519:P-999
tls-range-empty 35 the·TLS·version·range·would·be·empty --tlsv1.3 --tls-max 1.2
tls-max-old 35 TLS·1.0·and·1.1·are·not·supported --tls-max 1.1
EOF
stop_bg "$SERVER_PID"
mc tlsv13-nginx "$U1" "${ID[@]}" "${CA[@]}" --tlsv1.3
failed tlsv13-nginx 35 "no common TLS version or cipher: we accept TLS 1.3 only"

# -------------------------------- nginx refuses: its 400 and 403 answers
# Without -f the page is the output, and names the cause, as with curl.
mc on-nocert "$U1" "${CA[@]}"
got on-nocert "No required SSL certificate was sent"

mc on-nocert-f "$U1" "${CA[@]}" -f
failed on-nocert-f 22 "returned error: 400"
expect_contains "$tmp/on-nocert-f.err" "No required SSL certificate was sent"
expect_contains "$tmp/on-nocert-f.err" \
    "asked for a client certificate issued by 'CN=libmtls Test Root CA'"
expect_not_contains "$tmp/on-nocert-f.out" "html"

mc on-selfsigned "$U1" --cert "$PKI/selfsigned.crt" \
    --key "$PKI/selfsigned.key" "${CA[@]}" -f
failed on-selfsigned 22 "returned error: 400 (400 The SSL certificate error)"

mc optional-nocert "https://localhost:$P2/" "${CA[@]}"
got optional-nocert "403 Forbidden"

mc optional-nocert-f "https://localhost:$P2/" "${CA[@]}" --fail
failed optional-nocert-f 22 "returned error: 403"
expect_contains "$tmp/optional-nocert-f.err" "none was sent (--cert)"

mc optional-cert "https://localhost:$P2/" "${ID[@]}" "${CA[@]}" -f
got optional-cert "verify=SUCCESS"

# ----------------------------------------------- we refuse the server
mc untrusted "$U1" "${ID[@]}" --cacert "$PKI/other-ca.crt"
failed untrusted 60 "server certificate not trusted"
expect_contains "$tmp/untrusted.err" "CN=libmtls Test Root CA"
expect_not_contains "$tmp/untrusted.out" "verify="

# The system store does not know our test CA.
mc nocacert "$U1" "${ID[@]}"
failed nocacert 60 "server certificate not trusted"

mc capath-bad "$U1" "${ID[@]}" --capath "$tmp/no-such-dir"
failed capath-bad 77 "no-such-dir"

mc crl-bad "$U1" "${ID[@]}" "${CA[@]}" --crlfile "$PKI/not-pem.txt"
failed crl-bad 82 "not-pem.txt"

mc insecure "$U1" "${ID[@]}" --cacert "$PKI/other-ca.crt" -k
got insecure "verify=SUCCESS"
expect_contains "$tmp/insecure.err" "warning: --insecure"

# ------------------------------------------------------------- pinning
GOOD=$(spki "$PKI/server.crt")
BAD=$(spki "$PKI/other-ca.crt")
[ -n "$GOOD" ] && [ -n "$BAD" ] || fail "cannot compute the SPKI pins"

mc pin-good "$U1" "${ID[@]}" "${CA[@]}" --pinnedpubkey "sha256//$GOOD"
got pin-good "verify=SUCCESS"

mc pin-list "$U1" "${ID[@]}" "${CA[@]}" \
    --pinnedpubkey "sha256//$BAD;sha256//$GOOD"
got pin-list "verify=SUCCESS"

mc pin-bad "$U1" "${ID[@]}" "${CA[@]}" --pinnedpubkey "sha256//$BAD"
failed pin-bad 90 "not allowed"
expect_contains "$tmp/pin-bad.err" "its public key is sha256//$GOOD"
expect_not_contains "$tmp/pin-bad.out" "verify="

mc pin-file "$U1" "${ID[@]}" "${CA[@]}" --pinnedpubkey "$PKI/server.crt"
failed pin-file 2 "only sha256//BASE64"

# ------------------------------------------------ names and --resolve
mc resolve "https://localhost:$P1/" --resolve "localhost:$P1:127.0.0.1" \
    "${ID[@]}" "${CA[@]}" -v
got resolve "verify=SUCCESS"
expect_contains "$tmp/resolve.err" "at 127.0.0.1 (--resolve)"
expect_contains "$tmp/resolve.err" "> Host: localhost:$P1"

mc mismatch "https://wrong.example:$P1/" \
    --resolve "wrong.example:$P1:127.0.0.1" "${ID[@]}" "${CA[@]}"
failed mismatch 60 "wrong.example"

# By address: the certificate has IP:127.0.0.1.
mc by-ip "https://127.0.0.1:$P1/" "${ID[@]}" "${CA[@]}"
got by-ip "verify=SUCCESS"

mc noresolve "https://nosuchhost.invalid:$P1/" "${ID[@]}" "${CA[@]}"
failed noresolve 6 "nosuchhost.invalid"

# --------------------------------------------------------- HTTP options
mc include "$U1" -i "${ID[@]}" "${CA[@]}"
got include "HTTP/1.1 200 OK"
expect_contains "$tmp/include.out" "Server: nginx"
expect_contains "$tmp/include.out" "verify=SUCCESS"

mc head "$U1" -I "${ID[@]}" "${CA[@]}"
got head "HTTP/1.1 200 OK"
expect_not_contains "$tmp/head.out" "verify="

printf 'a=1&b=2\n' >"$tmp/form.txt"
mc post-form "${U1}echo" -d "@$tmp/form.txt" "${ID[@]}" "${CA[@]}"
got post-form "method=POST ct=application/x-www-form-urlencoded len=7"
expect_contains "$tmp/post-form.out" "body=a=1&b=2"

mc post-joined "${U1}echo" -d a=1 --data b=2 "${ID[@]}" "${CA[@]}"
got post-joined "body=a=1&b=2"

# Options after the URL; -X and -H override the defaults.
mc put "${U1}echo" -X PUT -H "X-Test: yes" -H "Content-Type: text/plain" \
    --data-raw "@not-a-file" "${ID[@]}" "${CA[@]}"
got put "method=PUT ct=text/plain len=11 xtest=yes body=@not-a-file"

# --data-binary keeps the newlines that -d drops: nginx logs what it got.
printf 'line1\nline2\n' >"$tmp/lines.txt"
mc post-binary "${U1}sink" --data-binary "@$tmp/lines.txt" "${ID[@]}" \
    "${CA[@]}"
got post-binary "len=12"
wait_file_contains "$tmp/body.log" 'body=line1\x0Aline2\x0A' 5 ||
    fail "nginx did not log the binary body" "$tmp/body.log"

# As curl: a warning, and an empty POST.
mc post-missing "${U1}echo" -d "@$tmp/no-such-file" "${ID[@]}" "${CA[@]}"
got post-missing "method=POST ct=application/x-www-form-urlencoded len=0"
expect_contains "$tmp/post-missing.err" "cannot read data from file"
expect_contains "$tmp/post-missing.err" "no-such-file"

mc output "${U1}file.bin" -o "$tmp/got.bin" "${ID[@]}" "${CA[@]}"
expect_status output "$rc" 0
cmp -s "$tmp/html/file.bin" "$tmp/got.bin" ||
    fail "output: -o file differs from the served one"
[ -s "$tmp/output.out" ] && fail "output: the body went to stdout too"
say "ok: output: -o wrote the 100000-byte body"

mc output-bad "${U1}file.bin" -o "$tmp/no-such-dir/got.bin" "${ID[@]}" \
    "${CA[@]}"
failed output-bad 23 "no-such-dir/got.bin"

# -v: the handshake as the library tells it, then both heads.
mc verbose "$U1" -v "${ID[@]}" "${CA[@]}"
got verbose "verify=SUCCESS"
for text in "* peer certificate chain:" "0 subject: CN=localhost" \
    "issuer:  CN=libmtls Test Root CA" \
    "* acceptable client CA names: 'CN=libmtls Test Root CA'" \
    "* verify result: ok" "> GET / HTTP/1.1" "> User-Agent: mtls-client/" \
    "< HTTP/1.1 200 OK" "< Server: nginx"; do
	expect_contains "$tmp/verbose.err" "$text"
done
say "ok: verbose: chain, acceptable CA names, verify result, both heads"

mc verbose-fail "$U1" -v "${ID[@]}" --cacert "$PKI/other-ca.crt"
failed verbose-fail 60 "server certificate not trusted"
expect_contains "$tmp/verbose-fail.err" "* peer certificate chain:"
expect_contains "$tmp/verbose-fail.err" "handshake failed"

stop_bg "$NGINX_PID"

# ----------------------------------------- openssl s_server -Verify 1
# It refuses a missing or untrusted client certificate in the handshake
# (with -verify_return_error); in TLS 1.3 the client learns it on its
# first read, with the CA names the server asked for.
PS=$(free_port)
start_bg s_server "$OPENSSL" s_server -accept "127.0.0.1:$PS" \
    -cert "$PKI/server.crt" -key "$PKI/server.key" -CAfile "$PKI/ca.crt" \
    -Verify 1 -verify_return_error -www
SS_PID=$BG_PID
wait_file_contains "$tmp/s_server.out" "ACCEPT" 10 "$SS_PID" ||
    fail "s_server did not start" "$tmp/s_server.err"

mc ss-ok "https://localhost:$PS/" "${ID[@]}" "${CA[@]}"
got ss-ok "Ciphers supported in s_server binary"

# curl's codes: 56 when a TLS 1.3 server refuses after the handshake
# (on the first read), 35 when a TLS 1.2 one refuses in it.
mc ss-nocert "https://localhost:$PS/" "${CA[@]}"
failed ss-nocert 56 "we sent none"
expect_contains "$tmp/ss-nocert.err" "CN=libmtls Test Root CA"

mc ss-nocert12 "https://localhost:$PS/" "${CA[@]}" --tls-max 1.2
failed ss-nocert12 35 "we sent none"

mc ss-selfsigned "https://localhost:$PS/" --cert "$PKI/selfsigned.crt" \
    --key "$PKI/selfsigned.key" "${CA[@]}"
failed ss-selfsigned 56 "rejected our client certificate"
expect_contains "$tmp/ss-selfsigned.err" "CN=libmtls Test Root CA"

mc ss-selfsigned12 "https://localhost:$PS/" --cert "$PKI/selfsigned.crt" \
    --key "$PKI/selfsigned.key" "${CA[@]}" --tls-max 1.2
failed ss-selfsigned12 35 "rejected our client certificate"
stop_bg "$SS_PID"

# A server whose certificate names only "serveronly": --resolve makes it
# reachable under that name, which nothing else resolves.
PR=$(free_port)
start_bg s_server2 "$OPENSSL" s_server -accept "127.0.0.1:$PR" \
    -cert "$PKI/serveronly.crt" -key "$PKI/serveronly.key" -www
SS2_PID=$BG_PID
wait_file_contains "$tmp/s_server2.out" "ACCEPT" 10 "$SS2_PID" ||
    fail "s_server did not start" "$tmp/s_server2.err"

mc ss-resolve "https://serveronly:$PR/" --resolve "serveronly:$PR:127.0.0.1" \
    "${CA[@]}"
got ss-resolve "s_server"

mc ss-mismatch "https://localhost:$PR/" "${CA[@]}"
failed ss-mismatch 60 "localhost"
stop_bg "$SS2_PID"

# --------------------------------------------- nobody there, or silent
PN=$(free_port)
mc refused "https://localhost:$PN/" "${ID[@]}" "${CA[@]}"
failed refused 7 "Connection refused"

# A listener that accepts TCP connections (the kernel does) and never
# says a word.
cat >"$tmp/silent.c" <<'EOF'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("silent");
		return 1;
	}
	printf("listening on %u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
EOF
run cc_silent ${CC:-cc} -o "$tmp/silent" "$tmp/silent.c"
expect_status cc_silent "$rc" 0
start_own_port silent "$tmp/silent"
SILENT_PID=$BG_PID
PSIL=$LISTEN_PORT

# timed NAME LIMIT_MS ARG...: mtls-client must fail within LIMIT_MS.
timed() {
	local name=$1 limit=$2 t0
	shift 2
	t0=$(ms_now)
	mc "$name" "$@"
	elapsed=$(($(ms_now) - t0))
	[ "$elapsed" -le "$limit" ] ||
	    fail "$name: took $elapsed ms, more than $limit" "$tmp/$name.err"
}

timed ct-silent 4000 "https://localhost:$PSIL/" --connect-timeout 0.5 \
    "${ID[@]}" "${CA[@]}"
failed ct-silent 28 "timed out"
say "ok: ct-silent: gave up after $elapsed ms"

timed mt-silent 4000 "https://localhost:$PSIL/" --max-time 1.5 \
    "${ID[@]}" "${CA[@]}"
failed mt-silent 28 "timed out"
[ "$elapsed" -ge 1400 ] || fail "mt-silent: gave up after $elapsed ms only"
say "ok: mt-silent: gave up after $elapsed ms"
stop_bg "$SILENT_PID"

# -------------------------------------------------------------- usage
mc usage "$U1" --no-such-option
failed usage 2 "option --no-such-option: is unknown"

mc nourl "${CA[@]}"
failed nourl 2 "no URL"

mc plainhttp "http://localhost:$P1/" "${CA[@]}"
failed plainhttp 1 "needs https://"

mc badtime "$U1" --max-time soon
failed badtime 2 "seconds"

mc help --help
got help "Exit status as curl's:"

# mtls-client(1) names every option mtls-client has and every curl option
# it refuses (the tables of mtls-client-args.c and mtls-client-curlopts.c).
page=$top_srcdir/doc/man/mtls-client.1
missing=
for name in $(sed -n 's/^	{ [^,]*, "\([a-z0-9.-]*\)",.*/\1/p' \
    "$top_srcdir/examples/mtls-client-args.c" \
    "$top_srcdir/examples/mtls-client-curlopts.c"); do
	grep -q -E "Fl -$name( |\$)" "$page" || missing="$missing --$name"
done
[ -z "$missing" ] || fail "mtls-client(1) does not name:$missing" "$page"
say "ok: mtls-client(1) names every option, supported or not"

exit 0
