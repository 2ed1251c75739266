#!/bin/sh
# coverage.sh - line coverage of lib/*.c from gcov's data, per file and in
# total.  Run it (make coverage) in a build tree configured with
#   ./configure CFLAGS='-O0 -g --coverage' LDFLAGS=--coverage
# after `make check`.  A source compiled into more than one object (the
# shared and the static library, the Check runner and the fuzz replays,
# which compile the HTTP parser in) counts once: a line is executable if
# any object has code for it, executed if any object ran it.
#
# Environment: top_srcdir, top_builddir (default: this script's tree and
# the current directory), GCOV (default: gcov).
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
GCOV=${GCOV:-gcov}

cd "$builddir"
if ! find lib -name '*.gcda' | grep -q .; then
	echo "coverage.sh: no gcov data under $builddir/lib: configure with" \
	    "CFLAGS='-O0 -g --coverage' LDFLAGS=--coverage, then make check" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/lines"

for src in "$srcdir"/lib/*.c; do
	base=$(basename "$src" .c)
	: > "$tmp/lines/$base"
	# Objects of lib/NAME.c: lib/NAME.o, lib/TARGET-NAME.o, lib/.libs/...
	for gcda in $(find lib -name "$base.gcda" -o -name "*-$base.gcda"); do
		# gcov -t prints the annotated source of every file the object
		# has lines of (headers too): keep the sections of this source.
		"$GCOV" -t -o "$gcda" "$src" 2>/dev/null | awk -v want="$base.c" '
			/^ *-: *0:Source:/ {
				n = split($0, p, "/"); sub(/^.*Source:/, "", p[n]);
				keep = (p[n] == want); next
			}
			keep {
				split($0, f, ":"); c = f[1]; l = f[2];
				gsub(/ /, "", c); gsub(/ /, "", l);
				if (l == 0 || c == "-") next;
				print l, (c ~ /^[#=]/ ? 0 : 1)
			}' >> "$tmp/lines/$base"
	done
done

# Per file: lines, executed lines, percentage; then the total.
for f in "$tmp"/lines/*; do
	awk -v name="lib/$(basename "$f").c" '
		{ exe[$1] = 1; if ($2) run[$1] = 1 }
		END {
			n = 0; r = 0
			for (l in exe) n++
			for (l in run) r++
			printf "%-24s %5d %5d %6.1f%%\n", name, n, r,
			    n ? 100 * r / n : 0
		}' "$f"
done | sort > "$tmp/table"
printf '%-24s %5s %5s %7s\n' file lines run covered
cat "$tmp/table"
awk '{ n += $2; r += $3 }
	END { printf "%-24s %5d %5d %6.1f%%\n", "total", n, r, n ? 100 * r / n : 0 }' \
    "$tmp/table"
