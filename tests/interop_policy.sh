#!/bin/sh
# interop_policy.sh - the policy features against real peers: optional
# client certificates with nginx (`ssl_verify_client optional` and
# $ssl_client_verify) and with curl, and session resumption with
# `openssl s_client -sess_out/-sess_in`, including across two mtls-echo
# servers that share a ticket key, as instances behind a load balancer do.
#
# openssl is required; the nginx and curl parts are skipped (and said so in
# the log) when those programs are absent.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
need_mtls_echo

# have NAME PATH: true when the program is there; says so when it is not.
have() {
	if [ -n "$2" ] && command -v "$2" >/dev/null 2>&1; then
		return 0
	fi
	say "skipped: the $1 cases ($1 not found)"
	return 1
}

CLIENT_DN="CN=client,OU=testers,O=libmtls test"

# ===================================================== nginx: optional
if have nginx "$NGINX_BIN"; then
	P1=$(free_port)
	P2=$(free_port)
	[ -n "$P1" ] && [ -n "$P2" ] && [ "$P1" != "$P2" ] ||
	    fail "free_port failed"

	# As in interop_nginx.sh: everything nginx writes stays in $tmp, and
	# it runs in the foreground as one process, stopped by its PID.
	mkdir "$tmp/html"
	{
	nginx_conf_head
	cat <<EOF

    ssl_certificate $PKI/server.crt;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.crt;

    server {
        listen 127.0.0.1:$P1 ssl;
        ssl_verify_client optional;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn\n";
        }
    }

    server {
        listen 127.0.0.1:$P2 ssl;
        ssl_verify_client optional_no_ca;
        location / {
            return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn\n";
        }
    }
}
EOF
} >"$tmp/nginx.conf"
	start_nginx_conf "$P1" "$P2"

	# get NAME PORT ARG...: an HTTP request with the mtls-echo client.
	get() {
		local name=$1 port=$2
		shift 2
		run "$name" "$MTLS_ECHO" client --connect "127.0.0.1:$port" \
		    --cacert "$PKI/ca.crt" --http "$@"
	}

	# answered NAME TEXT: HTTP 200 from nginx with TEXT in the page.
	answered() {
		expect_status "$1" "$rc" 0
		expect_contains "$tmp/$1.out" "HTTP/1.1 200"
		expect_contains "$tmp/$1.out" "$2"
		say "ok: nginx $1: $2"
	}

	get ngx_cert "$P1" --cert "$PKI/client.crt" --key "$PKI/client.key"
	answered ngx_cert "verify=SUCCESS"
	expect_contains "$tmp/ngx_cert.out" "dn=$CLIENT_DN"

	# Without a certificate: nginx asked, we sent none, nginx lets the
	# application decide.
	get ngx_nocert "$P1"
	answered ngx_nocert "verify=NONE"
	expect_not_contains "$tmp/ngx_nocert.out" "SUCCESS"

	# A chain with an intermediate verifies as well.
	get ngx_chain "$P1" --cert "$PKI/client-chain.crt" \
	    --key "$PKI/client-int.key"
	answered ngx_chain "verify=SUCCESS"

	# optional_no_ca: a certificate of an unknown CA gets through, marked
	# FAILED; nginx's plain optional answers 400 for it.
	get ngx_other_noca "$P2" --cert "$PKI/other-client.crt" \
	    --key "$PKI/other-client.key"
	answered ngx_other_noca "verify=FAILED"
	expect_contains "$tmp/ngx_other_noca.out" "dn=CN=other-client"

	get ngx_other "$P1" --cert "$PKI/other-client.crt" \
	    --key "$PKI/other-client.key"
	expect_status ngx_other "$rc" 0
	expect_contains "$tmp/ngx_other.out" "HTTP/1.1 400"
	say "ok: nginx ngx_other: 400 for an unknown CA under optional"

	stop_bg "$NGINX_PID"
fi

# ============================================= mtls-echo server: optional
if have curl "$CURL_BIN"; then
	# fetch NAME PORT ARG...: curl https://localhost:PORT/.
	fetch() {
		local name=$1 port=$2
		shift 2
		run "$name" "$CURL_BIN" -sS --max-time 15 \
		    --resolve "localhost:$port:127.0.0.1" --cacert "$PKI/ca.crt" \
		    "$@" "https://localhost:$port/"
	}

	start_echo_server opt --cert "$PKI/server.crt" --key "$PKI/server.key" \
	    --cacert "$PKI/ca.crt" --verify-client optional
	P=$SERVER_PORT

	mark_log "$tmp/opt.out"
	fetch curl_nocert "$P"
	expect_status curl_nocert "$rc" 0
	expect_contains "$tmp/curl_nocert.out" "hello stranger"
	expect_server_log "$tmp/opt.out" "subject=(none)" "$SERVER_PID"
	expect_server_log "$tmp/opt.out" "verified=no" "$SERVER_PID"
	say "ok: curl without a certificate: hello stranger"

	mark_log "$tmp/opt.out"
	fetch curl_cert "$P" --cert "$PKI/client.crt" --key "$PKI/client.key"
	expect_status curl_cert "$rc" 0
	expect_contains "$tmp/curl_cert.out" "hello client"
	expect_server_log "$tmp/opt.out" "subject=$CLIENT_DN" "$SERVER_PID"
	expect_server_log "$tmp/opt.out" "verified=yes" "$SERVER_PID"
	say "ok: curl with a certificate: hello client"

	# optional verifies what is presented, as nginx does: an unknown CA's
	# certificate is refused, and the server says why.
	mark_log "$tmp/opt.err"
	fetch curl_other "$P" --cert "$PKI/other-client.crt" \
	    --key "$PKI/other-client.key"
	[ "$rc" -ne 0 ] || fail "curl_other: curl succeeded" "$tmp/curl_other.out"
	expect_server_log "$tmp/opt.err" "client certificate not trusted" "$SERVER_PID"
	say "ok: curl with an unknown CA's certificate: refused"
	stop_bg "$SERVER_PID"

	# on (the default, named): no certificate, no connection.
	start_echo_server on --cert "$PKI/server.crt" --key "$PKI/server.key" \
	    --cacert "$PKI/ca.crt" --verify-client on
	mark_log "$tmp/on.err"
	fetch curl_on_nocert "$SERVER_PORT"
	[ "$rc" -ne 0 ] || fail "curl_on_nocert: curl succeeded" \
	    "$tmp/curl_on_nocert.out"
	expect_not_contains "$tmp/curl_on_nocert.out" "hello"
	expect_server_log "$tmp/on.err" "client presented no certificate" \
	    "$SERVER_PID"
	say "ok: --verify-client on refuses curl without a certificate"
	stop_bg "$SERVER_PID"

	# A bad value is refused at startup.
	run badmode "$MTLS_ECHO" server --listen 127.0.0.1:0 \
	    --cert "$PKI/server.crt" --key "$PKI/server.key" \
	    --cacert "$PKI/ca.crt" --verify-client sometimes
	expect_status badmode "$rc" 1
	expect_contains "$tmp/badmode.err" "sometimes"
	say "ok: --verify-client sometimes is refused"
fi

# ========================================= resumption with openssl s_client
ID=(-cert "$PKI/client.crt" -key "$PKI/client.key" -CAfile "$PKI/ca.crt")

# s_client NAME PORT ARG...: s_client to 127.0.0.1:PORT sending "hi" and
# waiting for the answer; without -quiet it prints "New," or "Reused,".
s_client() {
	local name=$1 port=$2
	shift 2
	RUN_INPUT=$'hi\n' run "$name" "$OPENSSL" s_client \
	    -connect "127.0.0.1:$port" -servername localhost \
	    -verify_return_error -ign_eof "$@"
}

# new_session NAME PORT FILE: a full handshake whose session goes to FILE.
new_session() {
	rm -f "$3"
	s_client "$1" "$2" "${ID[@]}" -sess_out "$3"
	expect_contains "$tmp/$1.out" "hello client, you said: hi"
	expect_contains "$tmp/$1.out" "New, TLSv1.3"
	[ -s "$3" ] || fail "$1: s_client wrote no session to $3" \
	    "$tmp/$1.out" "$tmp/$1.err"
}

# resumed NAME PORT FILE SERVERLOG: FILE's session resumes on PORT, and
# the server there still knows the client.
resumed() {
	mark_log "$4"
	s_client "$1" "$2" "${ID[@]}" -sess_in "$3"
	expect_contains "$tmp/$1.out" "hello client, you said: hi"
	expect_contains "$tmp/$1.out" "Reused, TLSv1.3"
	expect_server_log "$4" \
	    "subject=$CLIENT_DN issuer=CN=libmtls Test Root CA verified=yes" \
	    "$SERVER_PID"
	expect_server_log "$4" "resumed=yes" "$SERVER_PID"
}

# not_resumed NAME PORT FILE SERVERLOG: a full handshake instead, which
# still succeeds.
not_resumed() {
	mark_log "$4"
	s_client "$1" "$2" "${ID[@]}" -sess_in "$3"
	expect_contains "$tmp/$1.out" "hello client, you said: hi"
	expect_contains "$tmp/$1.out" "New, TLSv1.3"
	expect_not_contains "$tmp/$1.out" "Reused,"
	expect_server_log "$4" "resumed=no" "$SERVER_PID"
}

# One server: the session it issued resumes on it.
start_echo_server one --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt"
PONE=$SERVER_PORT
mark_log "$tmp/one.out"
new_session sess_new "$PONE" "$tmp/sess.pem"
expect_server_log "$tmp/one.out" "resumed=no" "$SERVER_PID"
resumed sess_reused "$PONE" "$tmp/sess.pem" "$tmp/one.out"
say "ok: s_client -sess_in resumes on the same server, identity kept"
# Without a ticket key the ticket only names a session the server keeps:
# 32 bytes (two lines of the dump), not the encrypted session.
"$OPENSSL" sess_id -in "$tmp/sess.pem" -noout -text >"$tmp/sess.txt" ||
    fail "openssl sess_id cannot read $tmp/sess.pem"
ticket_lines=$(sed -n '/TLS session ticket:/,/^$/p' "$tmp/sess.txt" |
    grep -c '^ *[0-9a-f]\{4\} - ')
[ "$ticket_lines" -eq 2 ] || fail "the ticket is not a 32-byte session" \
    "name ($ticket_lines lines)" "$tmp/sess.txt"
say "ok: the ticket names a session kept by the server (32 bytes)"
# TLS 1.2 resumes by session ID, from the same store.
rm -f "$tmp/sess12.pem"
s_client sess12_new "$PONE" "${ID[@]}" -tls1_2 -sess_out "$tmp/sess12.pem"
expect_contains "$tmp/sess12_new.out" "New, TLSv1.2"
mark_log "$tmp/one.out"
s_client sess12_reused "$PONE" "${ID[@]}" -tls1_2 -sess_in "$tmp/sess12.pem"
expect_contains "$tmp/sess12_reused.out" "Reused, TLSv1.2"
expect_server_log "$tmp/one.out" "resumed=yes" "$SERVER_PID"
say "ok: TLS 1.2 resumes by session ID"
stop_bg "$SERVER_PID"

# Tickets off: nothing to resume with.
start_echo_server notickets --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --tickets 0
rm -f "$tmp/none.pem"
s_client sess_notickets "$SERVER_PORT" "${ID[@]}" -sess_out "$tmp/none.pem"
expect_contains "$tmp/sess_notickets.out" "hello client, you said: hi"
[ -s "$tmp/none.pem" ] && fail "--tickets 0: the server still sent a ticket" \
    "$tmp/none.pem"
say "ok: --tickets 0 sends no ticket"
stop_bg "$SERVER_PID"

# Two instances sharing a ticket key, as behind a load balancer: a session
# from A resumes on B.  A third with another key cannot resume it; a
# fourth that encrypts with a new key and still decrypts with the old one
# (rotation) can.
start_echo_server a --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --ticket-key "$PKI/ticket.key"
PA=$SERVER_PORT
PIDA=$SERVER_PID
new_session sess_a "$PA" "$tmp/sess-a.pem"

start_echo_server b --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --ticket-key "$PKI/ticket.key"
PB=$SERVER_PORT
[ "$PA" != "$PB" ] || fail "servers A and B on the same port"
resumed sess_a_on_b "$PB" "$tmp/sess-a.pem" "$tmp/b.out"
say "ok: a session from server A (port $PA) resumes on B (port $PB)"
stop_bg "$SERVER_PID"

start_echo_server c --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --ticket-key "$PKI/ticket2.key"
not_resumed sess_a_on_c "$SERVER_PORT" "$tmp/sess-a.pem" "$tmp/c.out"
say "ok: a server with another ticket key does not resume it"
stop_bg "$SERVER_PID"

start_echo_server d --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --ticket-key "$PKI/ticket2.key" \
    --ticket-key "$PKI/ticket.key"
PD=$SERVER_PORT
PIDD=$SERVER_PID
resumed sess_a_on_d "$PD" "$tmp/sess-a.pem" "$tmp/d.out"
say "ok: rotated keys (new first, old second) still resume old sessions"
# D's own new tickets are made with its first key: C's key alone reads them.
new_session sess_d "$PD" "$tmp/sess-d.pem"
start_echo_server c2 --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt" --ticket-key "$PKI/ticket2.key"
resumed sess_d_on_c2 "$SERVER_PORT" "$tmp/sess-d.pem" "$tmp/c2.out"
say "ok: tickets are encrypted with the first key"
stop_bg "$SERVER_PID"
stop_bg "$PIDD"
stop_bg "$PIDA"

# Without key files each instance has its own keys.
start_echo_server e --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt"
PIDE=$SERVER_PID
new_session sess_e "$SERVER_PORT" "$tmp/sess-e.pem"
start_echo_server f --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --cacert "$PKI/ca.crt"
not_resumed sess_e_on_f "$SERVER_PORT" "$tmp/sess-e.pem" "$tmp/f.out"
say "ok: instances without a shared key do not resume each other's sessions"
stop_bg "$SERVER_PID"
stop_bg "$PIDE"

exit 0
