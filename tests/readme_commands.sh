#!/bin/sh
# readme_commands.sh - the commands README.md shows a user, run as they are
# written, in a directory where README's own make-certs line made the
# certificates.
#
# Every line of README's ```sh blocks is run in order (a line continued
# with a backslash is one line): a line that starts a server (mtls-server,
# mtls-echo server) starts it in the background in place of the one
# before, and waits for it to listen (mtls-proxy starts beside it, in
# front of it); every other line must exit 0 against the server of the
# moment.  README's ports (8443, 8080) become
# free ones.  The build and install lines (apt-get, autoreconf, make) are
# what .ci/run runs itself, so they are not run here; nor are the lines
# that only show what a command prints ("# ...").  The ```ruby blocks run
# with the binding against the server of the moment, when ruby-ffi is
# there.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin openssl "$OPENSSL"
skip_unless_bin curl "$CURL_BIN"
tmpdir
README=$top_srcdir/README.md
export PATH="$top_builddir/examples:$top_srcdir/examples:$PATH"
export OPENSSL_BIN=$OPENSSL

# The blocks of kind ($1: sh or ruby) as "N<TAB>line", N the block's
# number; a ruby block is one line with its newlines as \n.
blocks() {
	awk -v kind="$1" '
		/^```/ {
			if (inside) { if (kind == "ruby") print n "\t" code; inside = 0; next }
			if ($0 == "```" kind) { inside = 1; n++; code = ""; line = "" }
			next
		}
		!inside { next }
		kind == "ruby" { code = code $0 "\\n"; next }
		/\\$/ { line = line substr($0, 1, length($0) - 1); next }
		{ print n "\t" line $0; line = "" }
	' "$README"
}

# Whether a line is one of the build and install lines.
build_line() {
	case $1 in
	sudo\ *|apt-get\ *|make|make\ *|autoreconf*|./configure*) return 0 ;;
	esac
	return 1
}

P=$(free_port)
P2=$(free_port)
[ -n "$P" ] && [ -n "$P2" ] && [ "$P" != "$P2" ] || fail "free_port failed"
ports() {
	local line=${1//8443/$P}
	printf '%s' "${line//8080/$P2}"
}

cd "$tmp" || fail "cannot enter $tmp"
server_pid=
proxy_pid=
ran=0
while IFS=$'\t' read -r block line; do
	line=$(ports "$line")
	case $line in
	''|'#'*) continue ;;
	esac
	if build_line "$line"; then
		continue
	fi
	name=cmd$ran
	ran=$((ran + 1))
	case $line in
	mtls-server\ *|mtls-echo\ server\ *|mtls-proxy\ *)
		if [ "${line%% *}" = mtls-proxy ]; then
			[ -z "$proxy_pid" ] || stop_bg "$proxy_pid"
		elif [ -n "$server_pid" ]; then
			stop_bg "$server_pid"
		fi
		start_bg "$name" bash -c "exec $line"
		if [ "${line%% *}" = mtls-proxy ]; then
			proxy_pid=$BG_PID
		else
			server_pid=$BG_PID
		fi
		wait_file_contains "$tmp/$name.out" "listening on" 10 "$BG_PID" ||
		    fail "README: the server did not start: $line" \
		    "$tmp/$name.out" "$tmp/$name.err"
		say "ok: started: $line"
		;;
	*)
		run "$name" bash -c "$line"
		[ "$rc" -eq 0 ] || fail "README: exit $rc: $line" \
		    "$tmp/$name.out" "$tmp/$name.err"
		say "ok: $line"
		;;
	esac
	# make-certs made the files in a directory: the rest runs there.
	case $line in
	make-certs\ -d\ *)
		dir=${line#make-certs -d }
		cd "${dir%% *}" || fail "README: make-certs made no ${dir%% *}"
		;;
	esac
done < <(blocks sh)
[ "$ran" -ge 10 ] || fail "only $ran README commands found"

# The Ruby blocks, against the last server: not with a library built
# with a sanitizer, whose runtime ruby does not load first.
if [ -n "$MTLS_SANITIZE" ]; then
	say "libmtls built with $MTLS_SANITIZE, ruby is not: README's Ruby blocks not run"
elif command -v ruby >/dev/null 2>&1 && ruby -e 'require "ffi"' 2>/dev/null; then
	while IFS=$'\t' read -r block code; do
		code=$(ports "$code")
		printf '%b' "$code" >"$tmp/readme$block.rb"
		run "ruby$block" env \
		    LIBMTLS_PATH="$top_builddir/.libs/libmtls.so.0" ruby \
		    -I "$top_srcdir/bindings/ruby/lib" "$tmp/readme$block.rb"
		[ "$rc" -eq 0 ] || fail "README: ruby block $block: exit $rc" \
		    "$tmp/readme$block.rb" "$tmp/ruby$block.err"
		say "ok: ruby block $block"
	done < <(blocks ruby)
else
	say "ruby or ruby-ffi not found: README's Ruby blocks not run"
fi
[ -z "$proxy_pid" ] || stop_bg "$proxy_pid"
[ -z "$server_pid" ] || stop_bg "$server_pid"
say "ok: $ran README commands ran as written"
exit 0
