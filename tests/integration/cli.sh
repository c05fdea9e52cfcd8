#!/bin/bash
# The longjob command: submit --watch, watch, show, list, check-config.
# No web server involved: it works on the same config and store.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
LJ=$top_builddir/longjob

out=$("$LJ" submit render seconds=1 width=24 height=24 --watch)
lj_is $? 0 "submit --watch exits 0 for a job that succeeded"
id=$(echo "$out" | head -1)
echo "$id" | grep -Eq '^[0-9a-f]{32}$'
lj_check $? "it prints the job id first"
echo "$out" | grep -Eq '^ *[0-9.]+% rendering row'
lj_check $? "plain lines with percent and message when not a terminal"
echo "$out" | tail -1 | grep -q '^succeeded: {"img":'
lj_check $? "the last line says succeeded with the result"

if command -v script >/dev/null; then
	# On a terminal (a pseudo-terminal from script(1)): a redrawn bar.
	script -qec "'$LJ' submit render seconds=1 width=24 height=24 --watch" /dev/null \
		>"$LJ_TMP/tty.out" </dev/null
	lj_is $? 0 "on a terminal, submit --watch exits 0 too"
	grep -q $'\r\033\[K\[#*-*\] *[0-9.]*%' "$LJ_TMP/tty.out"
	lj_check $? "and draws a bar that redraws itself (\\r, erase line, [###---])"
	grep -q '\[##############################\] 100.0%' "$LJ_TMP/tty.out"
	lj_check $? "which ends full"
else
	echo "# SKIP: script(1) is not installed; the terminal bar is not tested"
fi

"$LJ" show "$id" | grep -q '"state": "succeeded"'
lj_check $? "show prints the job"
"$LJ" list | grep -q "^$id  render"
lj_check $? "list shows the job"
"$LJ" watch "$id" | tail -1 | grep -q '^succeeded'
lj_check $? "watch of an ended job prints its outcome"

"$LJ" submit fail --watch >"$LJ_TMP/f.out"
lj_is $? 1 "submit --watch exits 1 for a job that failed"
tail -1 "$LJ_TMP/f.out" | grep -q '^failed: boom'
lj_check $? "and says why"

id=$("$LJ" submit import "csv=@$top_srcdir/html/employees-sample.csv" seconds=0)
lj_check $? "submit with a file upload"
"$LJ" watch "$id" >"$LJ_TMP/i.out"
lj_is $? 0 "watch ID follows it to success"
grep -c '^ *[0-9.]*% \[' "$LJ_TMP/i.out" >/dev/null
lj_check $? "lines name the current step"

"$LJ" submit render width=5 2>"$LJ_TMP/e"
lj_is $? 1 "an invalid field is refused"
grep -q "field 'width' must be a whole number from 16 to 4096" "$LJ_TMP/e"
lj_check $? "naming the field and the bounds: $(cat "$LJ_TMP/e")"
"$LJ" submit nosuch 2>/dev/null
lj_is $? 2 "an unknown type is refused"

"$LJ" check-config >"$LJ_TMP/cc"
lj_is $? 0 "check-config accepts the shipped config"
echo '{"types": {"x": {"argv": ["relative"], "timeout_s": "soon"}}, "max_runing": 3}' >"$LJ_TMP/bad.json"
"$LJ" check-config "$LJ_TMP/bad.json" 2>"$LJ_TMP/cc"
lj_is $? 1 "check-config refuses a bad config"
grep -q 'types.x.timeout_s' "$LJ_TMP/cc" && grep -q 'max_runing' "$LJ_TMP/cc" &&
	grep -q 'types.x.argv\[0\]' "$LJ_TMP/cc"
lj_check $? "and names every wrong key: $(tr '\n' '|' <"$LJ_TMP/cc")"
lj_done
