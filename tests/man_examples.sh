#!/bin/sh
# man_examples.sh - every C example in the man pages compiles as printed:
# each literal display (.Bd -literal) of doc/man/*.3 that begins with
# #include or #define is a whole file, compiled with -Wall -Wextra -Werror
# against the headers of this tree.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

CC=${CC:-cc}
skip_unless_bin "C compiler" "${CC%% *}"
tmpdir

# extract PAGE: writes $tmp/<page>-<n>.c for each C display of PAGE,
# with mandoc's escapes (\e, \&) turned back into C.
extract() {
	awk -v out="$tmp/$(basename "$1" .3)" '
	/^\.Bd -literal/ { inb = 1; first = 1; n++; next }
	/^\.Ed/ { inb = 0; next }
	inb && first { c = ($0 ~ /^#(include|define)/); first = 0 }
	inb && c { l = $0; gsub(/\\e/, "\\", l); gsub(/\\&/, "", l);
		print l > (out "-" n ".c") }' "$1"
}

for page in "$top_srcdir"/doc/man/*.3; do
	extract "$page"
done
count=0
for src in "$tmp"/*.c; do
	[ -f "$src" ] || continue
	# shellcheck disable=SC2086 # CC may carry flags
	$CC -c -Wall -Wextra -Werror -I"$top_srcdir/include" "$src" \
	    -o "$tmp/example.o" 2>"$tmp/cc.err" ||
	    fail "the example $(basename "$src" .c) of the man pages does not compile" \
	    "$tmp/cc.err" "$src"
	count=$((count + 1))
done
[ "$count" -ge 20 ] || fail "only $count C examples found in the man pages"
say "ok: $count C examples of the man pages compile"
