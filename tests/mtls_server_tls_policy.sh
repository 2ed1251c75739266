#!/bin/sh
# mtls_server_tls_policy.sh - mtls-server's --protocols, --ciphers and
# --curves, with nginx's names and syntax: what each makes the handshake
# use, read by curl and `openssl s_client`, and what a bad value says.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin curl "$CURL_BIN"
skip_unless_bin openssl "$OPENSSL"
tmpdir
need_pki
ID=(--cert "$PKI/server.crt" --key "$PKI/server.key" --client-ca "$PKI/ca.crt")
CURL=("$CURL_BIN" -sS -v -o /dev/null --max-time 10 --cacert "$PKI/ca.crt"
    --cert "$PKI/client.crt" --key "$PKI/client.key")

# NAME | server options | client | what the client must print.  The client
# is curl, or s_client (its "Server Temp Key" names the group); '-' for
# a client that must fail (then the last column is curl's exit status).
while IFS='|' read -r name server client want; do
	# shellcheck disable=SC2086  # the options are lists
	start_mtls_server "$name" "${ID[@]}" $server
	if [ "${client%% *}" = s_client ]; then
		# shellcheck disable=SC2086
		RUN_INPUT='' run "$name-c" "$OPENSSL" s_client -connect \
		    "127.0.0.1:$SERVER_PORT" -servername localhost \
		    -CAfile "$PKI/ca.crt" -cert "$PKI/client.crt" \
		    -key "$PKI/client.key" ${client#s_client}
		expect_contains "$tmp/$name-c.out" "$want"
	else
		# shellcheck disable=SC2086
		run "$name-c" "${CURL[@]}" ${client#curl} \
		    --resolve "localhost:$SERVER_PORT:127.0.0.1" \
		    "https://localhost:$SERVER_PORT/"
		case $want in
		exit\ *) expect_status "$name-c" "$rc" "${want#exit }" ;;
		*) expect_status "$name-c" "$rc" 0
		   expect_contains "$tmp/$name-c.err" "$want" ;;
		esac
	fi
	stop_bg "$SERVER_PID"
	say "ok: $name: $server: $want"
done <<'TABLE'
tls12-only|--protocols TLSv1.2|curl|SSL connection using TLSv1.2
tls13-only|--protocols TLSv1.3|curl --tls-max 1.2|exit 35
both|--protocols TLSv1.2,TLSv1.3|curl|SSL connection using TLSv1.3
old-left-out|--protocols TLSv1.1,TLSv1.3|curl|SSL connection using TLSv1.3
ciphers|--protocols TLSv1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305:!aNULL|curl|ECDHE-ECDSA-CHACHA20-POLY1305
curves|--curves P-384|s_client -tls1_3|Server Temp Key: ECDH, secp384r1
TABLE
expect_contains "$tmp/old-left-out.err" \
    "--protocols: TLSv1.1 is not supported (libmtls speaks TLSv1.2 and TLSv1.3): left out"

# NAME | options | exit status (1 usage, 2 config, as mtls-server(1) says)
# | message: mtls-server does not start.
while IFS='|' read -r name opts status want; do
	# shellcheck disable=SC2086
	run "$name" "$MTLS_SERVER" --listen 127.0.0.1:0 "${ID[@]}" $opts
	expect_status "$name" "$rc" "$status"
	expect_contains "$tmp/$name.err" "$want"
	say "ok: $name: exit $status: $want"
done <<'TABLE'
protocols-old|--protocols TLSv1.1|1|--protocols 'TLSv1.1' leaves no version libmtls speaks
protocols-unknown|--protocols TLS1.2|1|unknown protocol 'TLS1.2' (nginx's names: TLSv1.2 TLSv1.3)
ciphers-bad|--ciphers ECDHE:NOPE|2|unknown TLS 1.2 cipher 'NOPE' in 'ECDHE:NOPE'
curves-bad|--curves X25519:P-999|2|unknown key exchange group 'P-999'
TABLE
