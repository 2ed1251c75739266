#!/bin/sh
# rotation_watch.sh - certificates that rotate by themselves (issue 16):
# for ROTATION_SECONDS (20), two clients (tests/watch-client, a watched
# client config each) make handshakes in a loop against mtls-server
# --watch 0.25, while this script rewrites the server's and each client's
# certificate and key every second, in turn in place, by rename, by a
# Kubernetes ..data symlink swap and certificate then key 0.1 s apart;
# the server gets a broken key twice, client1 once, and the server a
# SIGHUP midway.  The certificates are make-certs' with 1-day validity,
# one CA a generation, every CA trusted by every side.
#
# Asserts: no handshake fails; each handshake that starts more than one
# interval plus ALLOW_MS after a rotation sees the new certificate (the
# server's as the clients see it, each client's as the server saw it);
# every good rotation is seen; the broken sets are reported once each
# (error log, /_metrics, the client's reload callback) and skipped.
# Prints the handshakes, the rotations and the worst delay from a
# rotation to the first handshake with the new certificate.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin openssl "$OPENSSL"
tmpdir

MAKE_CERTS=$top_srcdir/examples/make-certs
WATCH_CLIENT=$top_builddir/tests/watch-client
RUN_S=${ROTATION_SECONDS:-20}
INTERVAL=0.25
INTERVAL_MS=250
# What a handshake may take beyond the interval to see a rotation: more
# under a sanitizer, which slows the handshakes and the reload tenfold.
if [ -n "$MTLS_SANITIZE" ]; then ALLOW_MS=${ALLOW_MS:-500}; else ALLOW_MS=${ALLOW_MS:-150}; fi
GENS=6
STYLES=(in_place rename k8s key_later)
# Rotation steps whose set is a broken key, by target.
BROKEN_SERVER=" 5 12 "
BROKEN_CLIENT1=" 8 "
HUP_STEP=10

now_ms() { date +%s%3N; }

fp() {
	"$OPENSSL" x509 -noout -fingerprint -sha256 -in "$1" |
	    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# ------------------------------------------------------ the certificates

for ((g = 0; g < GENS; g++)); do
	OPENSSL_BIN=$OPENSSL run "gen$g" sh "$MAKE_CERTS" -d "$tmp/gen$g" \
	    --days 1 --client client1 --client client2
	expect_status "gen$g" "$rc" 0
done
cat "$tmp"/gen*/ca.crt >"$tmp/cas.pem"
# The certificate and key files of a target in generation g.
src_crt() { [ "$1" = server ] && echo "$tmp/gen$2/server.crt" ||
	    echo "$tmp/gen$2/$1.crt"; }
src_key() { [ "$1" = server ] && echo "$tmp/gen$2/server.key" ||
	    echo "$tmp/gen$2/$1.key"; }
# Their fingerprints, computed before the run.
declare -A FP
for ((g = 0; g < GENS; g++)); do
	for who in server client1 client2; do
		FP[$who.$g]=$(fp "$(src_crt $who $g)")
	done
done

for who in server client1 client2; do
	mkdir "$tmp/$who"
	cp "$(src_crt $who 0)" "$tmp/$who/tls.crt"
	cp "$(src_key $who 0)" "$tmp/$who/tls.key"
	echo "0 $who 0 ${FP[$who.0]} initial 0" >>"$tmp/rotations.log"
done

# ------------------------------------------------------- the write styles

# put STYLE DIR CRT KEY: writes the pair into DIR/tls.crt, DIR/tls.key.
put() {
	local style=$1 d=$2 crt=$3 key=$4 v
	case $style in
	in_place)       # the same inodes (through the links, if any)
		cat "$crt" >"$d/tls.crt"
		cat "$key" >"$d/tls.key" ;;
	rename)         # new files renamed over the names
		cp "$crt" "$d/tls.crt.new" && mv -f "$d/tls.crt.new" "$d/tls.crt"
		cp "$key" "$d/tls.key.new" && mv -f "$d/tls.key.new" "$d/tls.key" ;;
	k8s)            # Kubernetes' atomic writer
		v=..$(date +%Y_%m_%d_%H_%M_%S.%N)
		mkdir "$d/$v"
		cp "$crt" "$d/$v/tls.crt"
		cp "$key" "$d/$v/tls.key"
		ln -s "$v" "$d/..data_tmp"
		mv -T "$d/..data_tmp" "$d/..data"
		if [ ! -L "$d/tls.crt" ]; then
			ln -s ..data/tls.crt "$d/tls.crt.lnk"
			ln -s ..data/tls.key "$d/tls.key.lnk"
			mv -T "$d/tls.crt.lnk" "$d/tls.crt"
			mv -T "$d/tls.key.lnk" "$d/tls.key"
		fi ;;
	key_later)      # an agent writing the key a moment after
		cp "$crt" "$d/tls.crt.new" && mv -f "$d/tls.crt.new" "$d/tls.crt"
		sleep 0.1
		cp "$key" "$d/tls.key.new" && mv -f "$d/tls.key.new" "$d/tls.key" ;;
	esac
}

# rotate STEP WHO STYLE BROKEN: the next generation's pair (or, BROKEN
# set, a key that is not one) for WHO, logged as "END WHO GEN FP STYLE
# BEGIN": the times the writing ended and began.
rotate() {
	local step=$1 who=$2 style=$3 broken=$4 g=$(($1 % GENS)) begin
	begin=$(now_ms)
	if [ -n "$broken" ]; then
		printf -- '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' \
		    >"$tmp/$who/tls.key"
		echo "$(now_ms) $who - - broken $begin" >>"$tmp/rotations.log"
		return
	fi
	put "$style" "$tmp/$who" "$(src_crt "$who" $g)" "$(src_key "$who" $g)"
	echo "$(now_ms) $who $g ${FP[$who.$g]} $style $begin" \
	    >>"$tmp/rotations.log"
}

# --------------------------------------------------------------- the run

P=$(free_port)
SP=$(free_port)
start_bg server "$MTLS_SERVER" --listen "127.0.0.1:$P" \
    --cert "$tmp/server/tls.crt" --key "$tmp/server/tls.key" \
    --client-ca "$tmp/cas.pem" --watch "$INTERVAL" --workers 2 \
    --status-listen "127.0.0.1:$SP" --access-log off
SERVER_PID=$BG_PID
wait_port "$P" "$SERVER_PID"
wait_port "$SP" "$SERVER_PID"

for who in client1 client2; do
	start_bg "$who" "$WATCH_CLIENT" "$P" "$tmp/$who/tls.crt" \
	    "$tmp/$who/tls.key" "$tmp/cas.pem" "$INTERVAL_MS" "$RUN_S"
	eval "${who}_PID=\$BG_PID"
done

t0=$(now_ms)
for ((i = 1; i < RUN_S - 1; i++)); do
	sleep "$(awk -v t="$((t0 + i * 1000 - $(now_ms)))" \
	    'BEGIN { print (t > 0 ? t / 1000 : 0) }')"
	b=; [[ $BROKEN_SERVER == *" $i "* ]] && b=1
	rotate "$i" server "${STYLES[i % 4]}" "$b"
	b=; [[ $BROKEN_CLIENT1 == *" $i "* ]] && b=1
	rotate "$i" client1 "${STYLES[(i + 1) % 4]}" "$b"
	rotate "$i" client2 "${STYLES[(i + 2) % 4]}" ""
	if [ "$i" -eq "$HUP_STEP" ]; then
		sleep 0.3
		kill -HUP "$SERVER_PID"
	fi
done
for who in client1 client2; do
	eval "pid=\$${who}_PID"
	wait_bg "$pid" $((RUN_S + 15))
	expect_status "$who" $? 0
done

# /_metrics by hand (no curl needed).
exec 3<>"/dev/tcp/127.0.0.1/$SP"
printf 'GET /_metrics HTTP/1.0\r\nHost: x\r\n\r\n' >&3
timeout 10 cat <&3 >"$tmp/metrics.txt"
exec 3<&-
stop_bg "$SERVER_PID"

# ------------------------------------------------------------ the verdict

# check WHO FIELD LOG...: each handshake of LOG... saw, in FIELD (4: the
# server's fingerprint, 5: the client's as the server saw it), a
# certificate WHO had at the time: the one written last before the
# handshake started, less the interval and ALLOW_MS, or one whose writing
# began before it ended.  The delay of a rotation is from the end of its
# writing to the end of the first handshake that saw it.  Prints
# "handshakes rotations worst_ms".
check() {
	local who=$1 field=$2
	shift 2
	awk -v who="$who" -v field="$field" -v lag=$((INTERVAL_MS + ALLOW_MS)) '
	FNR == NR {
		if ($2 == who && $5 != "broken") {
			n++; t[n] = $1; f[n] = $4; b[n] = $6
		}
		next
	}
	$3 != "ok" { print "FAIL: handshake failed: " $0; bad = 1; next }
	{
		hs++; s = $1; e = $2; seen = $field
		k = 1
		for (j = 1; j <= n; j++) if (t[j] + lag <= s) k = j
		ok = 0
		for (j = k; j <= n && (j == k || b[j] <= e); j++)
			if (f[j] == seen) ok = 1
		if (!ok) {
			print "FAIL: " who " handshake " s "-" e " saw " seen \
			    ", expected " f[k] " (rotated at " t[k] ")"
			bad = 1
		}
		for (j = 2; j <= n; j++)
			if (!(j in first) && e >= b[j] &&
			    (j == n || e < b[j + 1]) && seen == f[j])
				first[j] = e > t[j] ? e - t[j] : 0
	}
	END {
		worst = 0
		for (j = 2; j <= n; j++) {
			if (!(j in first)) {
				print "FAIL: " who "'"'"'s rotation at " t[j] \
				    " never seen"
				bad = 1
			} else if (first[j] > worst)
				worst = first[j]
		}
		print hs, n - 1, worst
		exit bad
	}' "$tmp/rotations.log" "$@"
}

check server 4 "$tmp/client1.out" "$tmp/client2.out" >"$tmp/v-server.txt" ||
    fail "the server's rotations" "$tmp/v-server.txt" "$tmp/rotations.log"
check client1 5 "$tmp/client1.out" >"$tmp/v-client1.txt" ||
    fail "client1's rotations" "$tmp/v-client1.txt" "$tmp/rotations.log"
check client2 5 "$tmp/client2.out" >"$tmp/v-client2.txt" ||
    fail "client2's rotations" "$tmp/v-client2.txt" "$tmp/rotations.log"
read -r hs srv_rot srv_worst <"$tmp/v-server.txt"
read -r hs1 c1_rot c1_worst <"$tmp/v-client1.txt"
read -r hs2 c2_rot c2_worst <"$tmp/v-client2.txt"
[ "$hs" -gt 100 ] || fail "only $hs handshakes in $RUN_S s" "$tmp/client1.out"

# The broken sets: reported once each, nothing else refused.
refused=$(grep -c -- '--watch: the changed files .* are refused' "$tmp/server.err")
reloaded=$(grep -c -- '--watch: reloaded the configuration' "$tmp/server.err")
[ "$refused" -eq 2 ] ||
    fail "the server reported $refused refused sets, expected 2" "$tmp/server.err"
expect_contains "$tmp/server.err" "tls.key"
expect_contains "$tmp/server.err" "reloaded certificates"   # the SIGHUP
grep -qF 'mtls_server_file_reloads_total{result="failed"} 2' \
    "$tmp/metrics.txt" || fail "/_metrics: failed is not 2" "$tmp/metrics.txt"
grep -qF "mtls_server_file_reloads_total{result=\"ok\"} $reloaded" \
    "$tmp/metrics.txt" || fail "/_metrics: ok is not $reloaded" "$tmp/metrics.txt"
grep -qF 'mtls_server_reloads_total{result="ok"} 1' "$tmp/metrics.txt" ||
    fail "/_metrics: the SIGHUP reload is not counted" "$tmp/metrics.txt"
c1_refused=$(grep -c '^RELOAD failed' "$tmp/client1.err")
c2_refused=$(grep -c '^RELOAD failed' "$tmp/client2.err")
[ "$c1_refused" -eq 1 ] && [ "$c2_refused" -eq 0 ] ||
    fail "client reports: $c1_refused and $c2_refused refused sets, expected 1 and 0" \
    "$tmp/client1.err" "$tmp/client2.err"

say "$hs handshakes in $RUN_S s ($hs1 + $hs2), none failed"
say "server: $srv_rot rotations seen ($reloaded reloads, 2 broken keys" \
    "refused and reported once), worst delay $srv_worst ms"
say "client1: $c1_rot rotations seen (1 broken key refused), worst delay" \
    "$c1_worst ms; client2: $c2_rot rotations, worst delay $c2_worst ms"
say "interval $INTERVAL_MS ms; every handshake starting more than" \
    "$((INTERVAL_MS + ALLOW_MS)) ms after a rotation saw the new certificate"
