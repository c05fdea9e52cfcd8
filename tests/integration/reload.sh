#!/bin/bash
# The web server is reloaded gracefully, then restarted, in the middle of a
# job: the detached worker survives both and the job completes; the stream,
# resumed with Last-Event-ID after each break, loses and repeats nothing.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"6\"] }"
lj_start

# Waits (bounded) until the app answers again after a reload.
wait_answering() {
	for _ in $(seq 100); do
		[ "$(lj_status "$LJ_URL/index.html")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

id=$(lj_submit long)
lj_check $? "a 6-second job submitted"
lj_stream "$id" "$LJ_TMP/p1" -k 4
last=$(tail -1 "$LJ_TMP/p1/0.events" | cut -f1)

lj_reload_server
wait_answering
lj_check $? "the server answers after a graceful reload"
lj_stream "$id" "$LJ_TMP/p2" -k 4 -l "$last"
lj_check $? "resumed after the reload"
last=$(tail -1 "$LJ_TMP/p2/0.events" | cut -f1)

lj_restart_server
lj_check 0 "the server was stopped and started again"
lj_stream "$id" "$LJ_TMP/p3" -l "$last"
lj_check $? "resumed after the restart, to the end"
tail -1 "$LJ_TMP/p3/0.events" | grep -q '	end	{"state":"succeeded"'
lj_check $? "the job completed: its worker survived the reload and the restart"

# Everything after the first state, across both breaks, against every event of the job.
from=$(head -1 "$LJ_TMP/p1/0.events" | cut -f1)
cat "$LJ_TMP"/p[123]/0.events | awk -F'\t' -v f="$from" '$1 > f' >"$LJ_TMP/seen"
lj_stream "$id" "$LJ_TMP/all" -l "$from"
cmp -s "$LJ_TMP/seen" "$LJ_TMP/all/0.events"
lj_check $? "across both breaks: every event, none lost, none repeated ($(wc -l <"$LJ_TMP/seen") events)"
lj_done
