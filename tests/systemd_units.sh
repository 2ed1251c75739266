#!/bin/sh
# systemd_units.sh - the example units of doc/systemd (mtls-server, and
# mtls-proxy as a sidecar) pass `systemd-analyze verify` without a word
# (an unknown or misspelt directive is only a warning there, so any output
# fails), with ExecStart pointing at the programs of this build, and
# `systemd-analyze security` rates each at 2.0 or less ("OK").
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin systemd-analyze "$(command -v systemd-analyze)"
tmpdir
for unit in mtls-server mtls-proxy; do
	sed "s|@bindir@|$top_builddir/examples|" \
	    "$top_srcdir/doc/systemd/$unit.service.in" >"$tmp/$unit.service"
	run "verify_$unit" systemd-analyze verify --man=no "$tmp/$unit.service"
	expect_status "verify_$unit" "$rc" 0
	[ ! -s "$tmp/verify_$unit.out" ] && [ ! -s "$tmp/verify_$unit.err" ] ||
	    fail "$unit.service: systemd-analyze verify has something to say" \
	    "$tmp/verify_$unit.out" "$tmp/verify_$unit.err"
	run "security_$unit" systemd-analyze security --offline=yes \
	    "$tmp/$unit.service"
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$tmp/security_$unit.out")
	[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' ||
	    fail "$unit.service: exposure level '$level', over 2.0" \
	    "$tmp/security_$unit.out"
	say "ok: $unit.service verifies; exposure level $level"
done
exit 0
