#!/bin/sh
# ruby_binding.sh - the Ruby binding's minitest suite (bindings/ruby/test)
# against the library just built: LIBMTLS_PATH points into the build tree
# (libtool keeps the real .so in .libs/), and a test checks that this is
# the file the process loaded.  Interop peers: mtls-server, nginx, and
# Ruby's own Net::HTTP; the Rack handler's tests also use curl, rackup
# (ruby-rack), ruby-rack-test, ruby-sinatra and ruby-faraday, each
# skipped, saying which, when its package is absent.  Skipped only when
# ruby or ruby-ffi is absent.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin ruby "$(command -v ruby)"
# A sanitizer build's libmtls cannot be loaded into an interpreter built
# without the sanitizer (ASan must come first; preloaded, it fails to
# unmap Ruby's memory): that build's suites are the C ones.  The plain
# build, which `make check` and CI run first, runs this test.
if [ -n "$MTLS_SANITIZE" ]; then
	echo "SKIP: $testname: libmtls built with $MTLS_SANITIZE; ruby is not" >&2
	exit 77
fi
if ! ruby -e 'require "ffi"' 2>/dev/null; then
	echo "SKIP: $testname: ruby-ffi not installed" >&2
	exit 77
fi
ruby -e 'require "minitest/autorun"' </dev/null >/dev/null 2>&1 ||
    fail "ruby-minitest not installed (apt-get install ruby-minitest)"
tmpdir
need_pki

lib=$top_builddir/.libs/libmtls.so.0
[ -f "$lib" ] || fail "$lib not built"

say "minitest suite with LIBMTLS_PATH=$lib"
TEST_TIMEOUT=300
run minitest env LIBMTLS_PATH="$lib" PKI_DIR="$PKI" MTLS_SERVER="$MTLS_SERVER" \
    NGINX_BIN="$NGINX_BIN" CURL_BIN="$CURL_BIN" ruby -I "$top_srcdir/bindings/ruby/lib" \
    "$top_srcdir/bindings/ruby/test/run.rb"
cat "$tmp/minitest.out"
expect_status minitest "$rc" 0
grep -q ' 0 failures, 0 errors' "$tmp/minitest.out" ||
    fail "minitest reported failures" "$tmp/minitest.out" "$tmp/minitest.err"
say "ok: $(grep -E '^[0-9]+ runs' "$tmp/minitest.out")"
