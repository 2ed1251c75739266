#!/bin/sh
# install_pkgconfig.sh - what `make install` delivers is usable as it is:
# a program built with nothing but `pkg-config libmtls` compiles, links and
# runs against the installed library; the header and man pages are there;
# the shared library exports the mtls_* API and nothing else.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin pkg-config "$(command -v pkg-config)"
CC=${CC:-cc}
skip_unless_bin "C compiler" "${CC%% *}"
skip_unless_bin nm "$(command -v nm)"
tmpdir

dest=$tmp/dest
# A staged install: DESTDIR leaves the configured prefix alone.
TEST_TIMEOUT=300 run install "${MAKE:-make}" -C "$top_builddir" install \
    DESTDIR="$dest"
expect_status install "$rc" 0
say "ok: make install DESTDIR=$dest"

# Wherever configure's prefix and libdir put them.
pc=$(find "$dest" -name libmtls.pc -print | head -n 1)
hdr=$(find "$dest" -path '*/include/mtls.h' -print | head -n 1)
so=$(find "$dest" -name 'libmtls.so.*' -type f -print | head -n 1)
man3=$(find "$dest" -type d -path '*/man/man3' -print | head -n 1)
[ -n "$pc" ] || fail "libmtls.pc not installed" "$tmp/install.out"
[ -n "$hdr" ] || fail "mtls.h not installed" "$tmp/install.out"
[ -f "$(dirname "$hdr")/mtls_http.h" ] ||
    fail "mtls_http.h not installed beside mtls.h" "$tmp/install.out"
[ -n "$so" ] || fail "libmtls.so.* not installed" "$tmp/install.out"
[ -n "$man3" ] || fail "no man3 pages installed" "$tmp/install.out"
libdir=$(dirname "$so")
[ -e "$libdir/libmtls.so" ] || fail "no libmtls.so development link"

# Man pages: the API's, at least one per header section, and the
# per-function names people look up.
for page in mtls_config_new mtls_connect mtls_read mtls_peer_subject; do
	ls "$man3/$page.3"* >/dev/null 2>&1 ||
	    fail "man page $page(3) not installed" "$tmp/install.out"
done
man1=$(dirname "$man3")/man1
ls "$man1"/mtls-echo.1* >/dev/null 2>&1 ||
    fail "man page mtls-echo(1) not installed" "$tmp/install.out"
say "ok: header and man pages installed"

# Build a program with pkg-config only, as a user of the installed library.
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$dest"
run modversion pkg-config --modversion libmtls
expect_status modversion "$rc" 0
want=$(sed -n 's/^Version: *//p' "$top_builddir/libmtls.pc")
[ "$(cat "$tmp/modversion.out")" = "$want" ] ||
    fail "pkg-config --modversion: expected $want" "$tmp/modversion.out"

cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <mtls.h>

int
main(void)
{
	struct mtls_config *cfg;

	if ((cfg = mtls_config_new()) == NULL)
		return 1;
	/* The loaded library is the one this header describes. */
	printf("abi=%s\n",
	    mtls_abi_version() == MTLS_ABI_VERSION ? "match" : "MISMATCH");
	printf("%s\n", mtls_error_name(MTLS_ERR_FILE));
	/* A failure leaves its reason on the config. */
	if (mtls_config_set_ca_file(cfg, "/nonexistent/ca.crt") == -1 &&
	    mtls_config_error_code(cfg) == MTLS_ERR_FILE)
		printf("error=%s\n", mtls_config_error(cfg));
	mtls_config_free(cfg);
	printf("config=ok\n");
	return 0;
}
EOF
cflags=$(pkg-config --cflags libmtls) || fail "pkg-config --cflags failed"
libs=$(pkg-config --libs libmtls) || fail "pkg-config --libs failed"
# shellcheck disable=SC2086  # word splitting of the flags is wanted
# A sanitized build of the library needs its runtime in the program too.
run cc $CC $MTLS_SANITIZE $cflags -o "$tmp/prog" "$tmp/prog.c" $libs
expect_status cc "$rc" 0
say "ok: compiled with: $cflags $libs"

# The HTTP helpers' header alone brings the connection API with it.
cat >"$tmp/http_only.c" <<'EOF'
#include <mtls_http.h>

int
main(void)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls *c = cfg != NULL ? mtls_client_new(cfg) : NULL;
	/* No CA set: the client is refused, and so is a request on nothing. */
	int ok = c == NULL && mtls_http_request(NULL, "GET", "/", NULL, NULL, 0,
	    MTLS_HTTP_STREAM) == NULL;

	mtls_free(c);
	mtls_config_free(cfg);
	return ok ? 0 : 1;
}
EOF
# shellcheck disable=SC2086
run cc_http $CC $MTLS_SANITIZE $cflags -o "$tmp/http_only" \
    "$tmp/http_only.c" $libs
expect_status cc_http "$rc" 0
LD_LIBRARY_PATH=$libdir run http_only "$tmp/http_only"
expect_status http_only "$rc" 0
say "ok: a program that includes only mtls_http.h"

LD_LIBRARY_PATH=$libdir run prog "$tmp/prog"
expect_status prog "$rc" 0
expect_contains "$tmp/prog.out" "abi=match"
expect_contains "$tmp/prog.out" "MTLS_ERR_FILE"
expect_contains "$tmp/prog.out" "error="
expect_contains "$tmp/prog.out" "/nonexistent/ca.crt"
expect_contains "$tmp/prog.out" "config=ok"
# It ran against the installed library, not the build tree's.
LD_LIBRARY_PATH=$libdir run ldd ldd "$tmp/prog"
expect_contains "$tmp/ldd.out" "$libdir/libmtls.so"
say "ok: program runs against the installed library"

# Exports: exactly the functions the installed headers declare.  Internal
# helpers are named mtls_* too, so the prefix alone proves nothing: an
# extra symbol means a helper leaked, a missing one an API function that
# is declared but not exported.  Symbols the linker defines are not ours.
nm -D --defined-only "$so" >"$tmp/nm.out" || fail "nm -D failed on $so"
awk '$2 != "A" && $NF !~ /^(_init|_fini|_edata|_end|__bss_start)$/ {
    print $NF }' "$tmp/nm.out" | sort -u >"$tmp/exported.txt"
grep -h 'MTLS_EXPORT' "$hdr" "$(dirname "$hdr")/mtls_http.h" |
    grep -o 'mtls_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/declared.txt"
[ -s "$tmp/declared.txt" ] || fail "no MTLS_EXPORT declarations in $hdr"
comm -23 "$tmp/exported.txt" "$tmp/declared.txt" >"$tmp/extra-symbols.txt"
comm -13 "$tmp/exported.txt" "$tmp/declared.txt" >"$tmp/missing-symbols.txt"
[ -s "$tmp/extra-symbols.txt" ] &&
    fail "$(basename "$so") exports symbols the headers do not declare" \
	"$tmp/extra-symbols.txt"
[ -s "$tmp/missing-symbols.txt" ] &&
    fail "$(basename "$so") lacks symbols the headers declare" \
	"$tmp/missing-symbols.txt"
say "ok: $(wc -l <"$tmp/exported.txt") symbols exported, as declared in mtls.h and mtls_http.h"

# The installed demo program finds the installed library too.
bin=$(find "$dest" -path '*/bin/mtls-echo' -type f -print | head -n 1)
[ -n "$bin" ] || fail "mtls-echo not installed" "$tmp/install.out"
LD_LIBRARY_PATH=$libdir run echo_usage "$bin"
expect_status echo_usage "$rc" 1
say "ok: installed mtls-echo runs"

exit 0
