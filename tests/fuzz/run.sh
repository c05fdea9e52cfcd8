#!/bin/sh
# run.sh: runs every libFuzzer target for a bounded time on its seeds.
#
#   tests/fuzz/run.sh [BUILDDIR]      (default _build/fuzz; or: make fuzz)
#
# BUILDDIR is a build configured with CC=clang --enable-fuzzing.  Each
# target in fuzz/ starts from a copy of its seeds in tests/fuzz/<target>/
# (the committed seeds are never written to) with its dictionary if there is
# one, and runs for $LJ_FUZZ_SECONDS seconds (default 15).  One line per
# target gives its runs, coverage and speed.  A crash, leak, timeout or
# out-of-memory fails the target: its sanitizer report is shown and the
# input that did it is kept in BUILDDIR/fuzz-artifacts/ (path printed).
# Exits 0 only if every target passed.  The lines start with "run.sh:" so
# that run-tests, which counts the whole run as one test, counts it once.
#
#   LJ_FUZZ_SECONDS   seconds per target (default 15; 600 for a real run)
#   LJ_FUZZ_TARGETS   which targets (default: all, e.g. "fuzz_conf fuzz_ids")
#   LJ_FUZZ_RSS_MB    memory ceiling per target (default 2048; ASan alone
#                     takes some 500 MB)
#   LJ_FUZZ_TIMEOUT   seconds one input may take (default 10)
#   LJ_FUZZ_KEEP      if set, keep the grown corpora (the path is printed)
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../_build/fuzz}
seconds=${LJ_FUZZ_SECONDS:-15}
rss=${LJ_FUZZ_RSS_MB:-2048}
timeout=${LJ_FUZZ_TIMEOUT:-10}
targets=${LJ_FUZZ_TARGETS:-"fuzz_urlencoded fuzz_multipart fuzz_proto fuzz_proto_reader fuzz_conf fuzz_ids"}

[ -d "$build" ] || { echo "run.sh: no build directory $build" >&2; exit 2; }
build=$(cd "$build" && pwd)
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts" "$build/fuzz-logs" || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/lj-fuzz-run.XXXXXX") || exit 2
cleanup() { [ -n "${LJ_FUZZ_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# The form targets make their upload directory here: nothing is left behind.
mkdir "$work/tmp"

# The last status line of a libFuzzer log, shortened to what matters.
summary() {
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$1" | tail -1)
	stats=$(grep -E '^#[0-9]+' "$1" | tail -1 |
		sed -e 's/^#[0-9]*[[:space:]]*[A-Z]*[[:space:]]*//' -e 's/ lim: [0-9]*//')
	echo "${runs:-no runs}, $stats"
}

passed=0 failed=0
for t in $targets; do
	bin=$build/fuzz/$t
	log=$build/fuzz-logs/$t.log
	if [ ! -x "$bin" ]; then
		echo "run.sh: $t: FAILED: $bin not built (configure with CC=clang --enable-fuzzing)"
		failed=$((failed + 1))
		continue
	fi
	corpus=$work/corpus/$t
	mkdir -p "$corpus"
	[ -d "$here/$t" ] && cp "$here/$t"/* "$corpus"/ 2>/dev/null
	dict=
	[ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
	# shellcheck disable=SC2086
	TMPDIR=$work/tmp UBSAN_OPTIONS=print_stacktrace=1 "$bin" \
		-max_total_time="$seconds" -rss_limit_mb="$rss" \
		-timeout="$timeout" -print_final_stats=1 \
		-artifact_prefix="$artifacts/$t-" $dict "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "run.sh: $t: ok, $(summary "$log")"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	# libFuzzer names the file it wrote: "Test unit written to <path>".
	input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
	echo "run.sh: $t: FAILED (exit $rc); input: ${input:-none written}; log: $log"
	grep -E -A 20 'ERROR: |runtime error|check failed|ALARM' "$log" | head -30
	[ -n "$input" ] && echo "run.sh: replay it with: $bin $input"
done

[ -n "${LJ_FUZZ_KEEP:-}" ] && echo "run.sh: grown corpora kept in $work/corpus"
echo "run.sh: $passed passed, $failed failed ($seconds s per target)"
[ "$failed" -eq 0 ]
