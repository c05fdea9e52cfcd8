#!/bin/bash
# The longjob command: submit --watch, watch, show, list, check-config.
# No web server involved: it works on the same config and store.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_add_type lasting "{ \"argv\": [\"$LJ_HANDLERS/quiet\", \"30\"] }"
LJ=$LJ_BIN/longjob

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

	# Ctrl-C, typed into the terminal: it stops the watching, not the job.
	# The typing goes through a fifo that stays open until then; SIGINT is
	# restored to its default (a background command of a script ignores it).
	iid=$("$LJ" submit lasting)
	mkfifo "$LJ_TMP/keys"
	env --default-signal=INT script -qec "'$LJ' watch $iid" /dev/null \
		<"$LJ_TMP/keys" >"$LJ_TMP/int.out" 2>&1 &
	spid=$!
	exec 7>"$LJ_TMP/keys"
	for _ in $(seq 100); do grep -q '\[-*\]' "$LJ_TMP/int.out" && break; sleep 0.1; done
	printf '\003' >&7
	for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$spid" 2>/dev/null && kill "$spid"
	wait "$spid"
	lj_is $? 130 "Ctrl-C stops longjob watch on a terminal (exit 130)"
	exec 7>&-
	grep -q "stopped watching; job $iid goes on" "$LJ_TMP/int.out" &&
		grep -q "to cancel it: longjob cancel $iid" "$LJ_TMP/int.out"
	lj_check $? "and says that the job goes on and how to cancel it: $(tr -d '\r' <"$LJ_TMP/int.out" | tail -2 | tr '\n' '|')"
	"$LJ" show "$iid" | grep -Eq '"state": "(queued|running)"'
	lj_check $? "the job was not cancelled"
	"$LJ" cancel "$iid" >/dev/null
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

# cancel: a running job started from here, stopped from here.
id=$("$LJ" submit slow)
for _ in $(seq 100); do "$LJ" show "$id" | grep -q '"state": "running"' && break; sleep 0.1; done
"$LJ" cancel "$id" >"$LJ_TMP/cancel.out"
lj_is $? 0 "longjob cancel exits 0: $(cat "$LJ_TMP/cancel.out")"
"$LJ" show "$id" | grep -q '"state": "cancelled"'
lj_check $? "the job is cancelled"
"$LJ" cancel "$id" 2>/dev/null
lj_is $? 1 "cancelling an ended job exits 1"

# gc: ended jobs go, with their events and files; what has not ended stays.
running=$("$LJ" submit lasting)
n=$("$LJ" list 1000 | awk '$3 ~ /^(succeeded|failed|cancelled)$/' | wc -l)
"$LJ" gc --age 0 >"$LJ_TMP/gc.out"
lj_is "$(cat "$LJ_TMP/gc.out")" "$n ended jobs removed" "longjob gc --age 0 removes every ended job"
lj_is "$("$LJ" list 1000 | wc -l)" 1 "only the job that has not ended is left"
"$LJ" show "$id" >/dev/null 2>&1
lj_is $? 1 "a removed job is gone"
[ ! -e "$LJ_STATE/spool/$id" ] && [ -d "$LJ_STATE/spool/$running" ]
lj_check $? "with its spool directory; the running job keeps its own"
"$LJ" cancel "$running" >/dev/null

"$LJ" check-config >"$LJ_TMP/cc"
lj_is $? 0 "check-config accepts the shipped config"
echo '{"types": {"x": {"argv": ["relative"], "timeout_s": "soon"}}, "max_runing": 3}' >"$LJ_TMP/bad.json"
"$LJ" check-config "$LJ_TMP/bad.json" 2>"$LJ_TMP/cc"
lj_is $? 1 "check-config refuses a bad config"
grep -q 'types.x.timeout_s' "$LJ_TMP/cc" && grep -q 'max_runing' "$LJ_TMP/cc" &&
	grep -q 'types.x.argv\[0\]' "$LJ_TMP/cc"
lj_check $? "and names every wrong key: $(tr '\n' '|' <"$LJ_TMP/cc")"
lj_done
