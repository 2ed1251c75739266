#!/bin/sh
# mtls_client_curl.sh - mtls-client as a curl drop-in: a table of curl
# command lines, each run with curl and with mtls-client against the same
# servers (nginx with ssl_verify_client, mtls-server from this tree,
# `openssl s_server -WWW`, a CONNECT proxy), and for each the exit code
# both must give, and whether what they wrote is the same: standard
# output (status lines, heads without Date, bodies, -w), and the files
# they wrote (-O, -J, -o, -D).  A failure row names a phrase of
# mtls-client's message, which must name the cause.  Then what a table
# cannot hold: --trace-ascii, -w %{json}, the proxy from https_proxy, -V,
# and the curl options mtls-client does not support.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin nginx "$NGINX_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
CLIENT=$top_builddir/examples/mtls-client
PROXY=$top_builddir/tests/connect-proxy
[ -x "$CLIENT" ] || fail "$CLIENT not built"
[ -x "$PROXY" ] || fail "$PROXY not built"
# Both clients see the same environment: no proxy but the rows' own.
unset https_proxy HTTPS_PROXY http_proxy all_proxy ALL_PROXY no_proxy NO_PROXY
# curl would read the user's ~/.curlrc; mtls-client reads none.
export HOME=$tmp

# ---------------------------------------------------------------- servers
# N: nginx, ssl_verify_client optional (the page says what it verified),
# with redirects, errors, files and a Content-Disposition; NO: the host a
# redirect leads to (127.0.0.1, another port); NR: ssl_verify_client on.
N=$(free_port)
NO=$(free_port)
NR=$(free_port)
[ "$(printf '%s\n' "$N" "$NO" "$NR" | sort -u | wc -l)" -eq 3 ] ||
    fail "free_port gave the same port twice"
mkdir -p "$tmp/html/files" "$tmp/www"
printf 'hello\n' >"$tmp/html/files/a.txt"
printf 'from s_server\n' >"$tmp/www/s.txt"
echo_page='return 200 "m=$request_method len=$content_length ct=$content_type auth=$http_authorization acc=$http_accept cookie=$http_cookie range=$http_range x=$http_x_test host=$http_host verify=$ssl_client_verify dn=$ssl_client_s_dn args=$args body=$request_body\n";'
{
	nginx_conf_head
	cat <<EOF

    ssl_certificate $PKI/server.crt;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.crt;
    client_body_buffer_size 64k;

    server {
        listen 127.0.0.1:$N ssl;
        ssl_verify_client optional;
        location / { $echo_page }
        location /echo { proxy_pass http://127.0.0.1:$N/plain; }
        location = /ua { return 200 "ua=\$http_user_agent ref=\$http_referer\n"; }
        location = /r301 { return 301 /; }
        location = /r302 { return 302 /; }
        location = /r303 { return 303 /; }
        location = /r307 { return 307 /; }
        location = /r308 { return 308 /; }
        location = /rel { return 302 "https://localhost:$N/files/a.txt"; }
        location = /other { return 302 https://127.0.0.1:$NO/; }
        location = /loop { return 302 /loop; }
        location = /e404 { return 404 "nope\n"; }
        location = /e503 { return 503 "busy\n"; }
        location = /close { return 444; }
        location /files/ { }
        location = /cd {
            add_header Content-Disposition 'attachment; filename="../up/name.txt"';
            return 200 "cd body\n";
        }
    }

    server {
        listen 127.0.0.1:$NO ssl;
        ssl_verify_client optional;
        location / { $echo_page }
    }

    server {
        listen unix:$tmp/nginx.sock ssl;
        ssl_verify_client optional;
        location / { $echo_page }
    }

    server {
        listen 127.0.0.1:$NR ssl;
        ssl_verify_client on;
        location / { $echo_page }
    }
}
EOF
} >"$tmp/nginx.conf"
start_nginx_conf "$N" "$NO" "$NR"

# M: mtls-server, client certificates required (TLS 1.2 and 1.3).
start_mtls_server mtls --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/ca.crt"
M=$SERVER_PORT
MTLS_PID=$SERVER_PID

# S: openssl s_server -WWW over $tmp/www, refusing clients without a
# certificate in the handshake.
S=$(free_port)
(cd "$tmp/www" && exec "$OPENSSL" s_server -accept "127.0.0.1:$S" \
    -cert "$PKI/server.crt" -key "$PKI/server.key" -CAfile "$PKI/ca.crt" \
    -Verify 1 -verify_return_error -WWW) >"$tmp/s_server.out" \
    2>"$tmp/s_server.err" </dev/null &
bg_pids+=("$!")
wait_file_contains "$tmp/s_server.out" "ACCEPT" 10 ||
    fail "s_server did not start" "$tmp/s_server.err"

# P: a CONNECT proxy; PA: one that wants u:p and refuses 127.0.0.1.
# (each picks its port and says which)
start_own_port proxy "$PROXY"
P=$LISTEN_PORT
start_own_port proxy-auth "$PROXY" --auth u:p --deny 127.0.0.1
PA=$LISTEN_PORT
# Q: one that takes the TLS client hello for the start of a request head
# and waits for the rest: a server that never answers.
start_own_port quiet "$PROXY"
Q=$LISTEN_PORT
RP=$(free_port)                 # nothing listens there

# ------------------------------------------------------------- fixtures
printf 'a=1&b=2\n' >"$tmp/form.txt"
printf 'line1\nline2\n' >"$tmp/lines.txt"
"$OPENSSL" x509 -in "$PKI/client.crt" -outform DER -out "$tmp/client.der"
"$OPENSSL" pkey -in "$PKI/client.key" -outform DER -out "$tmp/client-key.der"
printf '%s' '%{http_code} %{method} %{num_redirects} %{size_download}\n' \
    >"$tmp/format.txt"
cat >"$tmp/curlrc" <<EOF
# a config file as curl reads it
url = "https://localhost:$N/files/a.txt"
cacert $PKI/ca.crt
cert: $PKI/client.crt
--key $PKI/client.key
-s
header = "X-Test: in a config"
write-out = "\\n%{http_code}\\n"
EOF

# ------------------------------------------------------------ the table
# compare NAME STATUS PHRASE ARG...: runs curl -sS ARG... and
# mtls-client -sS ARG..., each in a directory of its own; both must exit
# STATUS, write the same standard output (Date lines aside) and the same
# files; for a STATUS other than 0, mtls-client's message must contain
# PHRASE ('·' for a space; "-" for none to check).
compare() {
	local name=$1 status=$2 phrase=$3 d
	shift 3
	for d in c m; do
		rm -rf "$tmp/$d-$name"
		mkdir "$tmp/$d-$name"
	done
	(cd "$tmp/c-$name" && run "$name.curl" "$CURL_BIN" -sS "$@" &&
	    exit "$rc")
	rc=$?
	expect_status "$name.curl" "$rc" "$status"
	(cd "$tmp/m-$name" && run "$name.mtls" "$CLIENT" -sS "$@" && exit "$rc")
	rc=$?
	expect_status "$name.mtls" "$rc" "$status"
	for d in curl mtls; do
		grep -v -a '^Date: ' "$tmp/$name.$d.out" >"$tmp/$name.$d.cmp"
	done
	cmp -s "$tmp/$name.curl.cmp" "$tmp/$name.mtls.cmp" ||
	    fail "$name: curl and mtls-client wrote different output: $*" \
	    "$tmp/$name.curl.out" "$tmp/$name.mtls.out" "$tmp/$name.mtls.err"
	for d in c m; do
		(cd "$tmp/$d-$name" && find . -type f | sort | while read -r f; do
			echo "== $f"
			grep -v -a '^Date: ' "$f"
		done) >"$tmp/$name.$d.files"
	done
	cmp -s "$tmp/$name.c.files" "$tmp/$name.m.files" ||
	    fail "$name: curl and mtls-client wrote different files" \
	    "$tmp/$name.c.files" "$tmp/$name.m.files"
	if [ "$status" != 0 ] && [ "$phrase" != - ]; then
		expect_contains "$tmp/$name.mtls.err" "${phrase//·/ }"
	fi
	[ "$phrase" = - ] && phrase=
	say "ok: $name: exit $status as curl's${phrase:+ (${phrase//·/ })}"
}

CA="--cacert $PKI/ca.crt"
ID="--cert $PKI/client.crt --key $PKI/client.key"
U=https://localhost:$N
W='%{http_code}|%{response_code}|%{method}|%{num_redirects}|%{url_effective}|%{redirect_url}|%{size_download}|%{exitcode}|%{ssl_verify_result}|%{http_connect}|%{content_type}|%{remote_ip}|%{remote_port}|%{scheme}|%{http_version}|%{num_connects}|%header{content-length}\n'

# Fields: NAME STATUS PHRASE ARGS, in the shell's words ('·' is a space
# in a phrase; quotes work as in a shell line).
while read -r line; do
	[ -z "$line" ] || [ "${line#\#}" != "$line" ] && continue
	line=${line//@N@/$N}
	line=${line//@NO@/$NO}
	line=${line//@NR@/$NR}
	line=${line//@M@/$M}
	line=${line//@S@/$S}
	line=${line//@P@/$P}
	line=${line//@PA@/$PA}
	line=${line//@RP@/$RP}
	line=${line//@Q@/$Q}
	line=${line//@PKI@/$PKI}
	line=${line//@TMP@/$tmp}
	line=${line//@CA@/$CA}
	line=${line//@ID@/$ID}
	line=${line//@U@/$U}
	line=${line//@W@/$W}
	eval "set -- $line"
	compare "$@"
done <<'EOF'
# --- requests and what the server saw
get            0 -  @CA@ @ID@ @U@/
include        0 -  -i @CA@ @ID@ @U@/
head           0 -  -I @CA@ @ID@ @U@/
write-out      0 -  @CA@ @ID@ -o out.txt -w '@W@' @U@/
write-out-file 0 -  @CA@ -w @@TMP@/format.txt @U@/files/a.txt
post           0 -  @CA@ -d a=1 -d b=2 @U@/
post-file      0 -  @CA@ -d @@TMP@/form.txt @U@/
post-binary    0 -  @CA@ --data-binary @@TMP@/lines.txt @U@/
post-raw       0 -  @CA@ --data-raw @notafile @U@/
post-missing   0 -  @CA@ -d @@TMP@/no-such-file @U@/
urlencode      0 -  @CA@ --data-urlencode 'a=b c~*' --data-urlencode '=x&y' @U@/
json           0 -  @CA@ --json '{"a":1}' --json '{"b":2}' @U@/
get-G          0 -  @CA@ -G -d a=1 --data-urlencode 'q=x y' -w '%{url_effective}\n' @U@/
url-query      0 -  @CA@ --url-query 'k=v' -w '%{url_effective}\n' '@U@/?a=1'
put            0 -  @CA@ -X PUT -d x=1 -H 'Content-Type: text/plain' @U@/
user           0 -  @CA@ -u alice:s3cret @U@/
bearer         0 -  @CA@ --oauth2-bearer tok3n @U@/
headers        0 -  @CA@ -H 'X-Test: yes' -H 'Accept:' -H 'Cookie;' @U@/
cookie         0 -  @CA@ -b 'a=1; b=2' @U@/
range          0 -  @CA@ -r 0-2 -i @U@/files/a.txt
agent          0 -  @CA@ -A 'agent/1.0' -e https://ref.example/ @U@/ua
dot-segments   0 -  @CA@ -w '%{url_effective}\n' @U@/files/../files/./a.txt
config-file    0 -  -K @TMP@/curlrc
http1.1        0 -  --http1.1 @CA@ @U@/files/a.txt
# --- redirects: curl's method rules, its limits, what another host gets
follow-301-post  0 -  @CA@ -L -d a=1 @U@/r301
follow-302-post  0 -  @CA@ -L -d a=1 @U@/r302
follow-303-post  0 -  @CA@ -L -d a=1 @U@/r303
follow-307-post  0 -  @CA@ -L -d a=1 @U@/r307
follow-308-post  0 -  @CA@ -L -d a=1 @U@/r308
follow-302-X     0 -  @CA@ -L -X POST -d a=1 @U@/r302
follow-303-X     0 -  @CA@ -L -X PUT -d a=1 @U@/r303
follow-post301   0 -  @CA@ -L --post301 -d a=1 @U@/r301
follow-303-head  0 -  @CA@ -L -I @U@/r303
follow-include   0 -  @CA@ -L -i @U@/r302
follow-rel       0 -  @CA@ -L -w '%{url_effective}\n' @U@/rel
follow-other     0 -  @CA@ @ID@ -L -u u:p -H 'X-Test: kept' -H 'Authorization: Bearer x' -b c=1 @U@/other
follow-trusted   0 -  @CA@ @ID@ --location-trusted -u u:p @U@/other
no-follow        0 -  @CA@ -w '%{redirect_url}\n' @U@/r302
too-many         47 'maximum·(3)·redirects' @CA@ -L --max-redirs 3 @U@/loop
redirs-zero      47 'maximum·(0)' @CA@ -L --max-redirs 0 @U@/r302
# --- HTTP errors
fail             22 returned·error:·404  @CA@ -f @U@/e404
fail-body        22 returned·error:·404  @CA@ --fail-with-body @U@/e404
fail-both        2  choose·one  @CA@ -f --fail-with-body @U@/e404
no-fail          0 -  @CA@ -i @U@/e404
fail-on-nocert   22 returned·error:·400  @CA@ -f https://localhost:@NR@/
retry-503        0 -  @CA@ --retry 1 --retry-delay 1 -w '%{http_code}\n' @U@/e503
retry-fail       22 returned·error:·503  @CA@ -f --retry 1 --retry-delay 1 @U@/e503
retry-refused    7  Connection·refused  @CA@ --retry 1 --retry-delay 1 --retry-connrefused https://localhost:@RP@/
# --- output files
output           0 -  @CA@ -o got.txt @U@/files/a.txt
output-dirs      0 -  @CA@ --create-dirs -o sub/dir/got.txt @U@/files/a.txt
remote-name      0 -  @CA@ -O '@U@/files/a.txt?x=1'
output-dir       0 -  @CA@ --create-dirs --output-dir out -O @U@/files/a.txt
remote-noname    23 names·no·file  @CA@ -O @U@/
remote-header    0 -  @CA@ -OJ @U@/cd
dump-header      0 -  @CA@ -D heads.txt -L @U@/r302
dump-stdout      0 -  @CA@ -D - @U@/files/a.txt
# --- where to connect
unix-socket      0 -  @CA@ --unix-socket @TMP@/nginx.sock -w '%{remote_port}\n' https://localhost/
connect-to       0 -  @CA@ --connect-to localhost:1:127.0.0.1:@N@ https://localhost:1/files/a.txt
connect-to-any   0 -  @CA@ --connect-to ::127.0.0.1:@N@ -w '%{remote_port}\n' https://localhost:2/files/a.txt
resolve          0 -  @CA@ --resolve localhost:@N@:127.0.0.1 @U@/files/a.txt
resolve-mismatch 60 wrong.example  @CA@ --resolve wrong.example:@N@:127.0.0.1 https://wrong.example:@N@/
no-such-host     6  nosuchhost.invalid  @CA@ https://nosuchhost.invalid:@N@/
refused          7  Connection·refused  @CA@ https://localhost:@RP@/
empty-reply      52 server·closed  @CA@ @U@/close
connect-timeout  28 --connect-timeout  @CA@ --connect-timeout 0.5 https://localhost:@Q@/
max-time         28 --max-time  @CA@ -m 1 https://localhost:@Q@/
# --- our certificate
cert-pem         0 -  @CA@ @ID@ https://localhost:@NR@/
cert-p12         0 -  @CA@ --cert @PKI@/client.p12:p12pass --cert-type P12 https://localhost:@NR@/
cert-enc-key     0 -  @CA@ --cert @PKI@/client.crt --key @PKI@/client-enc.key --pass secret https://localhost:@NR@/
cert-der         0 -  @CA@ --cert @TMP@/client.der --cert-type DER --key @TMP@/client-key.der --key-type DER https://localhost:@NR@/
cert-missing     58 nonexistent.crt  @CA@ --cert @TMP@/nonexistent.crt https://localhost:@NR@/
key-badpass      58 client-enc.key  @CA@ --cert @PKI@/client.crt --key @PKI@/client-enc.key --pass wrong https://localhost:@NR@/
key-type-eng     58 ENG·takes·a·key·in·a·token  @CA@ @ID@ --key-type ENG https://localhost:@NR@/
nginx-nocert     0 -  @CA@ -i https://localhost:@NR@/
mtls-server      0 -  @CA@ @ID@ https://localhost:@M@/
mtls-nocert-13   56 we·sent·none  @CA@ https://localhost:@M@/
mtls-nocert-12   35 we·sent·none  @CA@ --tls-max 1.2 https://localhost:@M@/
s-server         0 -  @CA@ @ID@ https://localhost:@S@/s.txt
s-nocert-13      56 we·sent·none  @CA@ https://localhost:@S@/s.txt
s-nocert-12      35 we·sent·none  @CA@ --tls-max 1.2 https://localhost:@S@/s.txt
s-selfsigned-13  56 rejected·our·client·certificate  @CA@ --cert @PKI@/selfsigned.crt --key @PKI@/selfsigned.key https://localhost:@S@/s.txt
s-selfsigned-12  35 rejected·our·client·certificate  @CA@ --cert @PKI@/selfsigned.crt --key @PKI@/selfsigned.key --tls-max 1.2 https://localhost:@S@/s.txt
# --- the server's certificate
untrusted        60 not·trusted  --cacert @PKI@/other-ca.crt @U@/
insecure         0 -  -k -w '%{ssl_verify_result}\n' @U@/files/a.txt
cacert-missing   77 no-such-ca.crt  --cacert @TMP@/no-such-ca.crt @U@/
crl-bad          82 not-pem.txt  @CA@ --crlfile @PKI@/not-pem.txt @U@/
pinned-bad       90 does·not·list  @CA@ --pinnedpubkey sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= @U@/
ciphers-bad      59 NOPE  @CA@ --tls-max 1.2 --ciphers NOPE @U@/
# --- through a CONNECT proxy
proxy            0 -  @CA@ -x 127.0.0.1:@P@ -i @U@/files/a.txt
proxy-http       0 -  @CA@ -x http://127.0.0.1:@P@ -w '%{http_connect}\n' @U@/files/a.txt
proxy-suppress   0 -  @CA@ -x 127.0.0.1:@P@ -i --suppress-connect-headers @U@/files/a.txt
proxy-cert       0 -  @CA@ @ID@ -x 127.0.0.1:@P@ https://localhost:@NR@/
proxy-user       0 -  @CA@ -x 127.0.0.1:@PA@ -U u:p @U@/files/a.txt
proxy-url-user   0 -  @CA@ -x http://u:p@127.0.0.1:@PA@ @U@/files/a.txt
proxy-407        56 response·407  @CA@ -x 127.0.0.1:@PA@ -w '%{http_connect}\n' @U@/files/a.txt
proxy-403        56 response·403  @CA@ -x 127.0.0.1:@PA@ -U u:p https://127.0.0.1:@N@/files/a.txt
proxy-502        56 response·502  @CA@ -x 127.0.0.1:@P@ https://localhost:@RP@/
proxy-resolve    5  nosuchproxy.invalid  @CA@ -x nosuchproxy.invalid:1 @U@/
proxy-refused    7  Connection·refused  @CA@ -x 127.0.0.1:@RP@ @U@/
noproxy          0 -  @CA@ -x 127.0.0.1:@RP@ --noproxy localhost @U@/files/a.txt
EOF

# ----------------------------------------------- what a table cannot hold
# --trace-ascii: the same request and response, as curl dumps them, but
# for the TLS records and the "== Info" lines (each client's own) and the
# Date.
trace_filter() {
	awk 'function flush() { if (keep && block !~ /Date: /) printf "%s", block }
	    /^(=>|<=|==)/ { flush(); block = ""; keep = ($0 !~ /SSL data|^== Info/) }
	    { block = block $0 "\n" } END { flush() }' "$1"
}
for tr in trace-ascii trace; do
	run "$tr.curl" "$CURL_BIN" -sS $CA $ID -A same -d a=1 -H 'X-Test: t' \
	    "--$tr" "$tmp/$tr.curl.txt" "$U/files/a.txt"
	run "$tr.mtls" "$CLIENT" -sS $CA $ID -A same -d a=1 -H 'X-Test: t' \
	    "--$tr" "$tmp/$tr.mtls.txt" "$U/files/a.txt"
	trace_filter "$tmp/$tr.curl.txt" >"$tmp/$tr.curl.cmp"
	trace_filter "$tmp/$tr.mtls.txt" >"$tmp/$tr.mtls.cmp"
	expect_contains "$tmp/$tr.mtls.cmp" "=> Send header"
	cmp -s "$tmp/$tr.curl.cmp" "$tmp/$tr.mtls.cmp" ||
	    fail "--$tr: the dumps differ" "$tmp/$tr.curl.cmp" \
	    "$tmp/$tr.mtls.cmp"
	say "ok: --$tr: the same dump as curl's"
done

# -w %{json}: curl's keys in curl's order (but for the certificate ones
# of Debian's curl, which mtls-client has not), the values that depend on
# neither timing nor the client equal.
json_keys() {
	grep -o -E '"[a-z_]+":' "$1" |
	    grep -v -E '^"(certs|num_certs|ftp_entry_path)":$'
}
json_values() {
	for key in content_type errormsg exitcode filename_effective http_code \
	    http_connect http_version local_ip method num_connects num_headers \
	    num_redirects proxy_ssl_verify_result redirect_url referer \
	    remote_ip remote_port response_code scheme size_download \
	    size_header size_request size_upload ssl_verify_result url \
	    url_effective urlnum; do
		grep -o -E "\"$key\":(\"[^\"]*\"|[^,}]*)" "$1"
	done
}
for c in curl mtls; do
	[ "$c" = curl ] && bin=$CURL_BIN || bin=$CLIENT
	run "json.$c" "$bin" -sS $CA -A same -o /dev/null -w '%{json}' \
	    "$U/files/a.txt"
	expect_status "json.$c" "$rc" 0
	json_keys "$tmp/json.$c.out" >"$tmp/json.$c.keys"
	json_values "$tmp/json.$c.out" >"$tmp/json.$c.values"
done
cmp -s "$tmp/json.curl.keys" "$tmp/json.mtls.keys" ||
    fail "-w %{json}: keys differ from curl's" "$tmp/json.curl.keys" \
    "$tmp/json.mtls.keys"
cmp -s "$tmp/json.curl.values" "$tmp/json.mtls.values" ||
    fail "-w %{json}: values differ from curl's" "$tmp/json.curl.values" \
    "$tmp/json.mtls.values"
expect_contains "$tmp/json.mtls.out" '"time_total":0.'
expect_contains "$tmp/json.mtls.out" '"curl_version":"libmtls/'
say "ok: -w %{json}: curl's keys and values"

# https_proxy from the environment, and no_proxy.
for c in curl mtls; do
	[ "$c" = curl ] && bin=$CURL_BIN || bin=$CLIENT
	https_proxy=http://127.0.0.1:$P run "env-proxy.$c" "$bin" -sS $CA \
	    -w '%{http_connect}\n' "$U/files/a.txt"
	expect_status "env-proxy.$c" "$rc" 0
	expect_contains "$tmp/env-proxy.$c.out" "200"
	https_proxy=http://127.0.0.1:$RP no_proxy=example.com,localhost \
	    run "env-noproxy.$c" "$bin" -sS $CA "$U/files/a.txt"
	expect_status "env-noproxy.$c" "$rc" 0
done
cmp -s "$tmp/env-proxy.curl.out" "$tmp/env-proxy.mtls.out" ||
    fail "https_proxy: outputs differ" "$tmp/env-proxy.mtls.out"
expect_contains "$tmp/proxy.out" "CONNECT localhost:$N HTTP/1.1"
say "ok: https_proxy and no_proxy as curl reads them"

# What mtls-client asked each proxy is what curl asked, but for its
# User-Agent: the requests came in pairs, curl's first.
for px in proxy proxy-auth; do
	awk -v out="$tmp/$px.req" 'BEGIN { n = 0 } /^listening/ { next }
	    /^----$/ { n++; next } !/^User-Agent:/ { print > (out "." n) }' \
	    "$tmp/$px.out"
	n=0
	while [ -f "$tmp/$px.req.$n" ]; do
		cmp -s "$tmp/$px.req.$n" "$tmp/$px.req.$((n + 1))" ||
		    fail "$px: CONNECT requests differ" "$tmp/$px.req.$n" \
		    "$tmp/$px.req.$((n + 1))"
		n=$((n + 2))
	done
	[ "$n" -ge 4 ] || fail "$px: only $n requests logged" "$tmp/$px.out"
	say "ok: $px: $((n / 2)) CONNECT requests as curl's"
done

# --retry, as curl's: a refused connection is not tried again without
# --retry-connrefused; with it, curl's warning; none past
# --retry-max-time.
run retry-norefused "$CLIENT" -S --retry 3 $CA "https://localhost:$RP/"
expect_status retry-norefused "$rc" 7
expect_not_contains "$tmp/retry-norefused.err" "Will retry"
run retry-refused-warn "$CLIENT" -S --retry 1 --retry-connrefused $CA \
    "https://localhost:$RP/"
expect_status retry-refused-warn "$rc" 7
expect_contains "$tmp/retry-refused-warn.err" \
    "Problem : connection refused. Will retry in 1 seconds. 1 retries left."
run retry-maxtime "$CLIENT" -S --retry 5 --retry-max-time 1 \
    --retry-delay 1 $CA -w '%{http_code}\n' "$U/e503"
expect_status retry-maxtime "$rc" 0
[ "$(grep -c 'Will retry' "$tmp/retry-maxtime.err")" -eq 1 ] ||
    fail "--retry-max-time 1: not one retry" "$tmp/retry-maxtime.err"
say "ok: --retry: what curl retries, and its warnings"

# The times of -w, in order: connect, TLS, first byte, total.
run times "$CLIENT" -sS $CA -o /dev/null -w \
    '%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}\n' \
    "$U/files/a.txt"
expect_status times "$rc" 0
awk '{ for (i = 2; i <= NF; i++) if ($i < $(i - 1)) exit 1; if ($1 <= 0 || $6 > 20) exit 1 }' \
    "$tmp/times.out" || fail "-w: times out of order" "$tmp/times.out"
say "ok: -w: the times in order ($(cat "$tmp/times.out"))"

# An unknown -w variable is a warning, as curl's.
run w-unknown "$CLIENT" -sS $CA -o /dev/null -w '%{nosuch}%{http_code}' \
    "$U/files/a.txt"
expect_status w-unknown "$rc" 0
expect_contains "$tmp/w-unknown.out" "200"
expect_contains "$tmp/w-unknown.err" "unknown --write-out variable: 'nosuch'"
say "ok: -w: an unknown variable is a warning"

# -V: curl's layout.
run version "$CLIENT" -V
expect_status version "$rc" 0
grep -q -E '^mtls-client [0-9.]+ \([^)]+\) libmtls/[0-9.]+ OpenSSL/[0-9]' \
    "$tmp/version.out" || fail "-V: first line not as curl's" "$tmp/version.out"
for field in "Release-Date: " "Protocols: https" "Features: "; do
	expect_contains "$tmp/version.out" "$field"
done
say "ok: -V: curl's layout, libmtls and OpenSSL versions"

# curl options mtls-client does not support: exit 2, saying so and
# naming what to use; a misspelt one is matched with the nearest name.
while read -r name phrase args; do
	eval "set -- $args"
	run "$name" "$CLIENT" "$@" "$U/"
	expect_status "$name" "$rc" 2
	expect_contains "$tmp/$name.err" "${phrase//·/ }"
	say "ok: $name: exit 2, ${phrase//·/ }"
done <<'EOF'
http2       --http2:·is·not·supported:·mtls-client·speaks·HTTP/1.1·only:·use·--http1.1   --http2
http3       use·--http1.1                           --http3
form        use·-d·or·--data-urlencode              -F a=b
upload      use·-X·PUT·--data-binary·@FILE          -T file
engine      --engine:·is·not·supported              --engine pkcs11
netrc       use·-u·USER:PASSWORD                    -n
socks       only·HTTP·proxies                       --socks5 127.0.0.1:1
misspelt    did·you·mean·--location?                --locaton
user-prompt never·prompts                           -u alice
EOF

exit 0
