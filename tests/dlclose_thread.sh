#!/bin/sh
# dlclose_thread.sh - the library loaded with dlopen and closed with
# dlclose while a thread that waited in it has yet to end, as Ruby's FFI
# does at exit (tests/dlclose-thread): the thread's exit must not run code
# that was unmapped.  It crashed one Ruby test run in five before libmtls
# was linked with -z nodelete.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

if [ -n "${MTLS_SANITIZE:-}" ]; then
	# A sanitized library cannot be dlopened by an unsanitized program.
	echo "SKIP: $testname: libmtls built with $MTLS_SANITIZE" >&2
	exit 77
fi
tmpdir
need_pki
prog=$top_builddir/tests/dlclose-thread
lib=$top_builddir/.libs/libmtls.so.0
[ -x "$prog" ] || fail "$prog not built"
[ -f "$lib" ] || fail "$lib not built"

for round in 1 2 3 4 5; do
	run "round$round" "$prog" "$lib" "$PKI/server.crt" "$PKI/server.key" \
	    "$PKI/ca.crt"
	expect_status "round$round" "$rc" 0
	expect_contains "$tmp/round$round.out" "the thread ended after dlclose"
done
say "ok: 5 rounds: a thread that waited in libmtls ended after dlclose"
