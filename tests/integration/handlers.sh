#!/bin/bash
# handlers.sh: runs the built demo job handlers (jobs/render, jobs/import)
# directly, the way the worker does (JSON on stdin, LONGJOB_* in the
# environment, a fresh working directory each), without any web server,
# and checks what they print, write and exit with.
#
#   top_builddir  where jobs/render and jobs/import were built (default: the repo root)
#   top_srcdir    where html/ and tests/data/ are (default: the repo root)
#   LJ_VALGRIND   if set, the handlers run under valgrind memcheck
#                 (tests/memcheck); any error or definite leak fails the test
#
# Prints one "ok" or "FAIL" line per check; exit 0 if all passed, else 1.

set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=${top_builddir:-$here}
top_srcdir=${top_srcdir:-$here}
render=$top_builddir/jobs/render
import=$top_builddir/jobs/import
sample=$top_srcdir/html/employees-sample.csv
datadir=$top_srcdir/tests/data/import
steps_expected="areas departments designations employees schedules drivers car_assignments"

failures=0
checks=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/longjob-handlers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# ok|FAIL line for one check: check <description> <command...>; its status.
check() {
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok   - $what"
		return 0
	fi
	echo "FAIL - $what"
	failures=$((failures + 1))
	return 1
}

# Prints a file indented, to explain a failure.
show() {
	sed 's/^/       | /' "$1" | head -n 20
}

# A fresh 32-hex-digit job id.
new_id() {
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# Escapes a string for a JSON string literal (backslash and quote).
json_str() {
	printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'
}

# run <handler> <dir> <json> [args...]: runs it in a fresh <dir> like the
# worker; sets $rc; stdout, stderr and the job in <dir>/../<name>.{out,err,json}.
run() {
	local bin=$1 dir=$2 json=$3 id
	shift 3
	id=$(new_id)
	mkdir -p "$dir"
	printf '%s\n' "$json" >"$dir.json"
	result_url=/longjob/result/$id
	(cd "$dir" && exec env LONGJOB_JOB_ID="$id" \
	    LONGJOB_RESULT_URL="$result_url" LONGJOB_DIR="$dir" \
	    "$bin" "$@" <"$dir.json" >"$dir.out" 2>"$dir.err")
	rc=$?
}

# 0 if the progress percentages in <out> never go down and end at 100.
progress_ok() {
	awk '$1 == "progress" {
		if ($2 + 0 < last) bad = 1
		last = $2 + 0; n++
	} END { exit !(n > 0 && !bad && last == 100) }' "$1"
}

# The big-endian 32-bit number at byte offset <off> of <file>.
be32() {
	od -An -tu1 -j"$2" -N4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

# Number of CSV records after the header: quotes are counted so that a
# line feed inside a quoted value does not end a record; blank lines skipped.
csv_rows() {
	awk '{
		sub(/\r$/, "")
		if (!open && $0 == "") next
		q = gsub(/"/, "\"")
		if (!open) n++
		if (q % 2) open = !open
	} END { print n - 1 }' "$1"
}

# Value of a "key": number in a result line of <out>.
result_num() {
	sed -n 's/^result .*"'"$2"'" *: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1
}

# 0 if the last run exited 1 and stderr has "line <N>: ..." (uses $rc, $d).
failed_at() {
	test "$rc" -eq 1 && grep -q "^line $1: " "$d.err"
}

# Elapsed milliseconds since a `date +%s%N` stamp.
ms_since() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# ---------------------------------------------------------------- setup

for bin in "$render" "$import"; do
	if [ ! -x "$bin" ]; then
		echo "FAIL - $bin is not built (run make first, or set top_builddir)"
		exit 1
	fi
done
if [ ! -r "$sample" ] || [ ! -d "$datadir" ]; then
	echo "FAIL - test data not found under $top_srcdir (set top_srcdir)"
	exit 1
fi
have_sqlite3=0
command -v sqlite3 >/dev/null 2>&1 && have_sqlite3=1

if [ -n "${LJ_VALGRIND:-}" ]; then
	command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
	for bin in render import; do
		sh "$top_srcdir/tests/memcheck" --wrap "$tmp/vg" "$top_builddir/jobs/$bin" \
		    "$tmp/vgbin/$bin" || exit 1
	done
	render=$tmp/vgbin/render
	import=$tmp/vgbin/import
fi

# ---------------------------------------------------------------- render

echo "# render, 100x60, seconds=0"
d=$tmp/render-small
run "$render" "$d" '{"id": "x", "type": "render", "fields": {"seconds": 0, "width": 100, "height": 60}, "files": {}}'
check "render exits 0" test "$rc" -eq 0 || show "$d.err"
check "render wrote image.png" test -s "$d/image.png"
check "render left no image.png.part" test ! -e "$d/image.png.part"
magic=$(od -An -tx1 -N8 "$d/image.png" 2>/dev/null | tr -d ' \n')
check "image.png starts with the PNG signature" test "$magic" = 89504e470d0a1a0a
ihdr=$(od -An -c -j12 -N4 "$d/image.png" 2>/dev/null | tr -d ' \n')
check "the first chunk is IHDR" test "$ihdr" = IHDR
check "IHDR width is 100" test "$(be32 "$d/image.png" 16)" = 100
check "IHDR height is 60" test "$(be32 "$d/image.png" 20)" = 60
check "progress never goes down and reaches 100" progress_ok "$d.out" || show "$d.out"
check "a progress line per row, the last 'rendering row 60 of 60'" \
    grep -qx 'progress 100 rendering row 60 of 60' "$d.out"
check "render announces 'file image.png image/png'" \
    grep -qx 'file image.png image/png' "$d.out"
check "the result's img is \$LONGJOB_RESULT_URL/image.png" \
    grep -Eq '^result \{.*"img" *: *"'"$result_url"'/image.png"' "$d.out"
check "the result says width 100" test "$(result_num "$d.out" width)" = 100
check "the result says height 60" test "$(result_num "$d.out" height)" = 60
check "the file line comes before the result line" \
    awk '/^file /{f=NR} /^result /{r=NR} END{exit !(f && r && f < r)}' "$d.out"

echo "# render, numeric strings are accepted, defaults fill in"
d=$tmp/render-strings
run "$render" "$d" '{"fields": {"seconds": "0", "width": "40", "height": 20}}'
check "render with string fields exits 0" test "$rc" -eq 0 || show "$d.err"
check "IHDR width is 40" test "$(be32 "$d/image.png" 16)" = 40

echo "# render, bad values"
n=0
for fields in '"width": 15' '"width": 5000' '"width": "wide"' '"height": 0' \
    '"seconds": -1' '"seconds": 3601' '"width": 64.5'; do
	n=$((n + 1))
	d=$tmp/render-bad$n
	run "$render" "$d" "{\"fields\": {\"seconds\": 0, $fields}}"
	check "render with {$fields} exits 2" test "$rc" -eq 2
	check "  ... says what is wrong on stderr" test -s "$d.err"
	check "  ... and writes no image" test ! -e "$d/image.png"
done
check "the bad width message names the field" grep -q width "$tmp/render-bad1.err"
d=$tmp/render-notjson
run "$render" "$d" 'this is not json'
check "render with a non-JSON job exits 2" test "$rc" -eq 2

echo "# render, paced: seconds=2"
d=$tmp/render-paced
start=$(date +%s%N)
run "$render" "$d" '{"fields": {"seconds": 2, "width": 32, "height": 16}}'
elapsed=$(ms_since "$start")
echo "     (took $elapsed ms)"
check "paced render exits 0" test "$rc" -eq 0
check "paced render takes at least 1.5 s" test "$elapsed" -ge 1500

echo "# render, cancelled with SIGTERM"
d=$tmp/render-cancel
mkdir -p "$d"
(cd "$d" && exec "$render" <<<'{"fields": {"seconds": 30}}' >"$d.out" 2>"$d.err") &
pid=$!
sleep 1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "cancelled render dies of SIGTERM" test "$rc" -eq 143
check "cancelled render leaves no image.png" test ! -e "$d/image.png"
check "cancelled render leaves no image.png.part" test ! -e "$d/image.png.part"

# ---------------------------------------------------------------- import

job_for() {
	printf '{"id": "%s", "type": "import", "fields": {"seconds": %s}, "files": {"csv": {"path": "%s", "filename": "employees.csv", "content_type": "text/csv", "size": 1}}}' \
	    "$(new_id)" "$2" "$(json_str "$1")"
}

echo "# import, the sample file"
rows=$(csv_rows "$sample")
echo "     (the sample has $rows data rows)"
db=$tmp/shared.db
d=$tmp/import-sample
run "$import" "$d" "$(job_for "$sample" 0)" --db "$db"
check "import exits 0" test "$rc" -eq 0 || show "$d.err"
steps=$(awk '$1 == "step" { printf "%s%s", sep, $2; sep = " " }' "$d.out")
check "the seven steps, in order" test "$steps" = "$steps_expected" ||
    echo "       | got: $steps"
check "step labels" grep -qx 'step car_assignments Car assignments' "$d.out"
check "progress never goes down and reaches 100" progress_ok "$d.out" || show "$d.out"
check "progress messages like 'departments: N of M'" \
    grep -Eq '^progress [0-9]+ departments: [0-9]+ of [0-9]+$' "$d.out"
check "result summary employees = $rows" test "$(result_num "$d.out" employees)" = "$rows"
check "result rows = $rows" test "$(result_num "$d.out" rows)" = "$rows"
for key in areas departments designations schedules drivers car_assignments; do
	check "result summary has $key" test -n "$(result_num "$d.out" "$key")"
done
check "the result comes after the last step's progress" \
    test "$(tail -n 1 "$d.out" | cut -c1-7)" = "result "
check "--db wins over demo.db in the directory" test ! -e "$d/demo.db"
if [ "$have_sqlite3" = 1 ]; then
	check "the database has $rows employees" \
	    test "$(sqlite3 "$db" 'SELECT count(*) FROM employees')" = "$rows"
	check "the database has the result's schedules" \
	    test "$(sqlite3 "$db" 'SELECT count(*) FROM schedules')" = "$(result_num "$d.out" schedules)"
	check "the database has the result's car assignments" \
	    test "$(sqlite3 "$db" 'SELECT count(*) FROM car_assignments')" = "$(result_num "$d.out" car_assignments)"
	sqlite3 "$db" .dump >"$tmp/dump1"
else
	echo "SKIP - sqlite3 command not found: database contents not checked"
fi

echo "# import, the same file again (idempotent)"
d=$tmp/import-again
run "$import" "$d" "$(job_for "$sample" 0)" --db "$db"
check "second import exits 0" test "$rc" -eq 0 || show "$d.err"
check "second import gives the same result" \
    test "$(grep '^result' "$d.out")" = "$(grep '^result' "$tmp/import-sample.out")"
if [ "$have_sqlite3" = 1 ]; then
	sqlite3 "$db" .dump >"$tmp/dump2"
	check "the database is unchanged by the second import" cmp -s "$tmp/dump1" "$tmp/dump2"
else
	echo "SKIP - sqlite3 command not found: database not compared"
fi

echo "# import, default database, paced: seconds=2"
d=$tmp/import-paced
start=$(date +%s%N)
run "$import" "$d" "$(job_for "$sample" 2)"
elapsed=$(ms_since "$start")
echo "     (took $elapsed ms)"
check "paced import exits 0" test "$rc" -eq 0 || show "$d.err"
check "paced import takes at least 1.5 s" test "$elapsed" -ge 1500
check "the default database demo.db is in the job's directory" test -s "$d/demo.db"

echo "# import, good edge-case files"
for f in "$datadir"/good-*.csv; do
	name=$(basename "$f" .csv)
	d=$tmp/import-$name
	run "$import" "$d" "$(job_for "$f" 0)"
	check "$name: exits 0" test "$rc" -eq 0 || show "$d.err"
	if [ -f "$datadir/$name.expect" ]; then
		check "$name: result is as in $name.expect" \
		    test "$(sed -n 's/^result //p' "$d.out")" = "$(cat "$datadir/$name.expect")" ||
		    grep '^result' "$d.out" | show /dev/stdin
	fi
done

echo "# import, malformed files (the expected line is in the name)"
for f in "$datadir"/bad-*.csv; do
	name=$(basename "$f" .csv)
	line=$(printf '%s' "$name" | sed -n 's/.*-line\([0-9][0-9]*\)$/\1/p')
	if [ -z "$line" ]; then
		check "$name: file name ends in -line<N>" false
		continue
	fi
	d=$tmp/import-$name
	run "$import" "$d" "$(job_for "$f" 0)"
	check "$name: exits 1" test "$rc" -eq 1
	check "$name: stderr names line $line" grep -q "^line $line: " "$d.err" ||
	    show "$d.err"
	check "$name: no database was created" test ! -e "$d/demo.db"
	check "$name: no step was started" test -z "$(grep '^step ' "$d.out")"
done

echo "# import, limits (generated files)"
hdr=employee_id,name,area,department,designation,schedule,driver,car
long=$tmp/long-line.csv
{
	echo "$hdr"
	echo "1,Ann Lee,Airport,Fleet,Driver,Mon-Fri 09:00-17:00,no,"
	printf '2,'
	head -c 70000 /dev/zero | tr '\0' x
	echo ",Airport,Fleet,Driver,Mon-Fri 09:00-17:00,no,"
} >"$long"
d=$tmp/import-long
run "$import" "$d" "$(job_for "$long" 0)"
check "a line over 64 KiB: exit 1, line 3" failed_at 3
nul=$tmp/nul.csv
{ echo "$hdr"; printf '1,Ann\0Lee,Airport,Fleet,Driver,Mon-Fri 09:00-17:00,no,\n'; } >"$nul"
d=$tmp/import-nul
run "$import" "$d" "$(job_for "$nul" 0)"
check "a NUL byte: exit 1, line 2" failed_at 2
many=$tmp/many.csv
awk -v h="$hdr" 'BEGIN {
	print h
	for (i = 1; i <= 200001; i++)
		printf "%d,P%d,Airport,Fleet,Driver,Mon-Fri 09:00-17:00,no,\n", i, i
}' >"$many"
d=$tmp/import-many
run "$import" "$d" "$(job_for "$many" 0)"
check "200001 rows: exit 1, line 200002" failed_at 200002
rm -f "$many"

echo "# import, bad jobs"
d=$tmp/import-nofile
run "$import" "$d" '{"fields": {}, "files": {}}'
check "no uploaded file: exit 2" test "$rc" -eq 2
check "  ... 'no CSV file was uploaded (field csv)'" \
    grep -qF 'no CSV file was uploaded (field csv)' "$d.err"
d=$tmp/import-badseconds
run "$import" "$d" "$(job_for "$sample" 4000)"
check "seconds=4000: exit 2" test "$rc" -eq 2
check "seconds=4000: no database was created" test ! -e "$d/demo.db"
d=$tmp/import-badarg
run "$import" "$d" "$(job_for "$sample" 0)" --frobnicate
check "an unknown argument: exit 2" test "$rc" -eq 2

# ---------------------------------------------------------------- summary

if [ -n "${LJ_VALGRIND:-}" ]; then
	check "memcheck found no error and no leak in the handlers" \
	    sh "$top_srcdir/tests/memcheck" --check "$tmp/vg"
	echo "# memcheck: $(grep -l 'ERROR SUMMARY' "$tmp"/vg/*.log | wc -l) handler runs checked"
fi

if [ "$failures" -ne 0 ]; then
	echo "# $failures of $checks checks FAILED"
	exit 1
fi
echo "# all $checks checks passed"
exit 0
