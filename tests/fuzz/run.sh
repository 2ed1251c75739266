#!/bin/sh
# run.sh - `make fuzz`: builds every fuzz target (tests/fuzz/fuzz_*.c) with
# clang's libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, the
# library's sources compiled in, and runs each for FUZZ_SECONDS over a
# scratch copy of its corpus (the committed corpus stays as it is).  Prints
# each target's "Done N runs in S second(s)" line; fails on the first
# crash, leak or sanitizer report, leaving the input that caused it in
# $top_builddir/tests/fuzz/out/<target>/ (add it to the corpus once fixed:
# it then stays a regression test of make check).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_TARGETS:=request response chunked x509 pem p12 url}"
: "${CLANG:=clang}"
: "${OPENSSL_CFLAGS:=}"
: "${OPENSSL_LIBS:=-lssl -lcrypto}"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "SKIP: make fuzz: clang is not installed (Debian: apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
out=$top_builddir/tests/fuzz/out
rm -rf "$out"
mkdir -p "$out/obj"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
    "$CLANG" -x c -fsanitize=fuzzer -o "$out/probe" - 2>"$out/probe.err"; then
	echo "SKIP: make fuzz: $CLANG has no libFuzzer (Debian: apt-get install libclang-rt-14-dev)"
	cat "$out/probe.err"
	exit 0
fi

CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
INCLUDES="-D_GNU_SOURCE -I$top_srcdir/include -I$top_srcdir/lib -I$top_srcdir/examples -I$top_builddir/build-aux $OPENSSL_CFLAGS"

# The library, once, with coverage for the fuzzer; mtls-client's URL
# reader for fuzz_url.
objs=()
for src in "$top_srcdir"/lib/*.c "$top_srcdir/examples/mtls-client-url.c"; do
	obj=$out/obj/$(basename "$src" .c).o
	"$CLANG" $CFLAGS -fsanitize=fuzzer-no-link -DMTLS_BUILDING -pthread \
	    $INCLUDES -c "$src" -o "$obj"
	case $src in
	*/lib/*) objs+=("$obj") ;;
	esac
done

status=0
for target in $FUZZ_TARGETS; do
	bin=$out/fuzz_$target
	extra=("$top_srcdir/tests/fuzz/fuzz_config.c")
	[ "$target" != url ] || extra+=("$out/obj/mtls-client-url.o")
	"$CLANG" $CFLAGS -fsanitize=fuzzer -pthread $INCLUDES \
	    "$top_srcdir/tests/fuzz/fuzz_$target.c" "${objs[@]}" "${extra[@]}" \
	    $OPENSSL_LIBS -o "$bin"
	mkdir -p "$out/$target/corpus"
	cp "$top_srcdir/tests/fuzz/corpus/$target"/* "$out/$target/corpus/"
	echo "=== fuzz_$target: $FUZZ_SECONDS s"
	if (cd "$out/$target" && "$bin" -max_total_time="$FUZZ_SECONDS" \
	    -print_final_stats=1 -artifact_prefix="$out/$target/" corpus \
	    >log 2>&1); then
		grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|cov: ' \
		    "$out/$target/log" | tail -n 2
	else
		echo "FAIL: fuzz_$target: see $out/$target/log"
		tail -n 40 "$out/$target/log"
		status=1
	fi
done
exit $status
