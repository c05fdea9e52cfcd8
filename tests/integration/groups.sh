#!/bin/bash
# A handler is a process group, and its exit decides the job: a handler that
# leaves children holding its stdout ends its job when it exits itself, with
# what it wrote before (its last line even without a newline, its stderr),
# and its children, those that left the group with setsid included, are gone
# soon after; a job past its timeout ends on time, and children that ignore
# SIGTERM get SIGKILL after the grace period (5 s).
. "$(dirname "$0")/lib.sh"
h=$LJ_HANDLERS
lj_add_type forker "{ \"argv\": [\"$h/forker\"], \"timeout_s\": 60 }"
lj_add_type forkfail "{ \"argv\": [\"$h/forker\", \"3\"], \"timeout_s\": 60 }"
lj_add_type clinger "{ \"argv\": [\"$h/clinger\"], \"timeout_s\": 2 }"
lj_start
# How long a job is waited for: under memcheck a worker takes seconds to start.
wait=10
[ -n "$LJ_VALGRIND" ] && wait=30

# A number from the job as `longjob show` prints it (created, started, finished).
show_num() {
	"$LJ_BIN/longjob" show "$1" | sed -n "s/^  \"$2\": \([0-9.]*\),\$/\1/p"
}
# 0 if a - b <= max (seconds, with fractions).
within() {
	awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a != "" && b != "" && a - b <= m) }'
}
# The pids a handler wrote into its job directory that still exist (a zombie
# too: an orphan must be reaped, not only killed).
alive() {
	local p
	for p in $(cat "$LJ_STATE/spool/$1/pids" 2>/dev/null); do
		[ -e "/proc/$p" ] && echo "$p"
	done
}
# Waits until none of them exists, at most $2 seconds; 0 if so.
gone() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		[ -z "$(alive "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

# A handler that exits 0 while its children hold stdout: its job succeeds
# within a couple of seconds of its exit, not when they end (60 s later).
id=$(lj_submit forker)
lj_check $? "a handler that leaves two children behind, submitted"
lj_wait_state "$id" succeeded $wait
lj_check $? "the job succeeded within $wait s"
pids=$(cat "$LJ_STATE/spool/$id/pids" 2>/dev/null | tr '\n' ' ')
lj_is "$(echo $pids | wc -w)" 2 "the handler recorded its two children's pids ($pids)"
exited=$(awk '{ printf "%.3f", $1 / 1000 }' "$LJ_STATE/spool/$id/exited" 2>/dev/null)
finished=$(show_num "$id" finished)
within "$finished" "$exited" 2
lj_check $? "recorded within 2 s of the handler's exit (exit $exited, end $finished)"
"$LJ_BIN/longjob" show "$id" | tr -d ' \n' | grep -q '"result":{"children":2}'
lj_check $? "its result is the last line it wrote, without a newline"
lj_stream "$id" "$LJ_TMP/f" -l 0
grep -q '	log	{"line":"started 2 children that outlive me"}' "$LJ_TMP/f/0.events" &&
	grep -q '	step	{"step":"fork"' "$LJ_TMP/f/0.events"
lj_check $? "what it printed before exiting is in the stream"
lj_is "$(tail -1 "$LJ_TMP/f/0.events" | cut -f2,3)" 'end	{"state":"succeeded","result":{"children":2}}' \
	"the stream ends with end: succeeded"
gone "$id" 4
lj_check $? "both children, the one that left the group with setsid too, are gone within 4 s (left: $(alive "$id"))"

# The exit status decides, and stderr (still held open by the children) is the error.
id=$(lj_submit forkfail)
lj_wait_state "$id" failed $wait
lj_check $? "a handler that exits 3 leaving children: its job failed within $wait s"
"$LJ_BIN/longjob" show "$id" | grep -q '"error": "cannot go on (exit 3)"'
lj_check $? "with its stderr as the error: $("$LJ_BIN/longjob" show "$id" | grep '"error"')"
gone "$id" 4
lj_check $? "and its children are gone within 4 s (left: $(alive "$id"))"

# timeout_s 2, children that ignore SIGTERM and hold stdout: the job fails
# as timed out at 2 s, its end recorded before the grace period is over
# (by 6 s; the old runner took 7 s at best), and the children are killed
# when it is (2 + 5 s), whatever they do.
id=$(lj_submit clinger)
LJ_STREAM_TIMEOUT=20 lj_stream "$id" "$LJ_TMP/c" -l 0
lj_is "$(tail -1 "$LJ_TMP/c/0.events" | cut -f2,3)" 'end	{"state":"failed","error":"timed out after 2 s"}' \
	"a job whose children ignore SIGTERM times out"
started=$(show_num "$id" started)
finished=$(show_num "$id" finished)
within "$finished" "$started" 4
lj_check $? "its end is recorded on time, not after the grace period (started $started, ended $finished)"
lj_is "$(cat "$LJ_STATE/spool/$id/pids" 2>/dev/null | wc -l)" 2 "the handler had recorded its two children"
gone "$id" 8
lj_check $? "the children that ignore SIGTERM are killed by the end of the grace period (left: $(alive "$id"))"
lj_done
