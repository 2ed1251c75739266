#!/bin/sh
# replay.sh - replays the seed corpora of the fuzz targets (tests/fuzz/corpus/
# <target>/) through the replay programs built by `make check` with the
# ordinary compiler: every input the fuzzers were seeded with, or found,
# stays a regression test.  A crash, an abort (a broken invariant) or a
# sanitizer report fails the test.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

status=0
for target in ${FUZZ_TARGETS:-request response chunked x509 pem p12 url}; do
	prog=$top_builddir/tests/fuzz/replay_$target
	corpus=$top_srcdir/tests/fuzz/corpus/$target
	if [ ! -x "$prog" ]; then
		echo "FAIL: replay: $prog is not built" >&2
		status=1
		continue
	fi
	if "$prog" "$corpus"; then
		echo "replay: ok: $target"
	else
		echo "FAIL: replay: $target (exit $?) on $corpus" >&2
		status=1
	fi
done
exit $status
