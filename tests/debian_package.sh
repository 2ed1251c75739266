#!/bin/sh
# debian_package.sh - `make deb` builds the four Debian packages from the
# release tarball with dpkg-buildpackage (doc/debian as debian/), each
# holds what it should, and lintian finds no error in them.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

# The packages are built from the release tarball with Debian's flags:
# this build's sanitizer flags never reach them, so a sanitizer build
# would only repeat the plain build's run of this test (2 to 3 minutes).
if [ -n "${MTLS_SANITIZE:-}" ]; then
	echo "SKIP: $testname: libmtls built with $MTLS_SANITIZE; the packages are built without it, as in the plain build's run" >&2
	exit 77
fi
skip_unless_bin dpkg-buildpackage "$(command -v dpkg-buildpackage)"
skip_unless_bin "dh (debhelper)" "$(command -v dh)"
tmpdir
MAKE=${MAKE:-make}

# A build of the whole tree: more time than a command gets.
TEST_TIMEOUT=600 run deb env DEB_BUILD_OPTIONS="parallel=2 nocheck" \
    $MAKE -C "$top_builddir" deb
expect_status deb "$rc" 0
D=$top_builddir/deb
# package FILE...: the package's .deb lists each FILE (a path in it).
package() {
	local name=$1 deb f
	shift
	deb=$(ls "$D/${name}"_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
	[ -n "$deb" ] || fail "make deb made no $name package" "$tmp/deb.out"
	dpkg-deb -c "$deb" >"$tmp/$name.list" || fail "$deb: unreadable"
	for f in "$@"; do
		grep -q -E " \\.$f( |\$)" "$tmp/$name.list" ||
		    fail "$name does not hold $f" "$tmp/$name.list"
	done
	say "ok: $name holds $*"
}
package libmtls0 '/usr/lib/[^/]*/libmtls\.so\.0'
package libmtls-dev /usr/include/mtls.h /usr/include/mtls_http.h \
    '/usr/lib/[^/]*/libmtls\.so' '/usr/lib/[^/]*/pkgconfig/libmtls\.pc' \
    /usr/share/man/man3/mtls_connect\.3\.gz
package mtls-tools /usr/bin/mtls-server /usr/bin/mtls-client \
    /usr/bin/mtls-proxy /usr/bin/make-certs \
    /usr/share/man/man1/mtls-server\.1\.gz \
    /usr/share/doc/mtls-tools/systemd/mtls-server\.service
package ruby-mtls /usr/lib/ruby/vendor_ruby/mtls\.rb \
    /usr/lib/ruby/vendor_ruby/rack/handler/mtls\.rb
# The unit has the installed program's path.
dpkg-deb --fsys-tarfile "$(ls "$D"/mtls-tools_*.deb)" |
    tar -xO ./usr/share/doc/mtls-tools/systemd/mtls-server.service \
    >"$tmp/unit" || fail "mtls-tools: no unit to read"
expect_contains "$tmp/unit" "ExecStart=/usr/bin/mtls-server"

if command -v lintian >/dev/null 2>&1; then
	TEST_TIMEOUT=300 run lintian lintian --fail-on error "$D"/libmtls_*.changes
	expect_status lintian "$rc" 0
	say "ok: lintian: no error ($(grep -c '^W:' "$tmp/lintian.out") warnings)"
else
	say "lintian not found: the packages are not linted"
fi
rm -rf "$D"
exit 0
