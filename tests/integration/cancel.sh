#!/bin/bash
# Cancel: POST <submit>/<id>/cancel stops a running job (SIGTERM to the
# handler's process group, SIGKILL after a grace period), the job ends as
# cancelled and its open stream ends with `end`; a queued job is taken out
# of the queue; the answers for the wrong method, origin or id are clear.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set max_running 1
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"30\"] }"
lj_add_type stubborn "{ \"argv\": [\"$LJ_HANDLERS/stubborn\"] }"
lj_start
C=$LJ_URL/longjob/submit

# The processes of a job's handler: their working directory is the job's.
handler_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$LJ_STATE/spool/$1" ] && echo "${p#/proc/}"
	done
}
# Waits until the job's handler has no process left, at most $2 seconds.
handler_gone() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		[ -z "$(handler_pids "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}
# (with an empty body: a POST without Content-Length gets 411 from lighttpd)
cancel() { curl -s -m 20 -o "$LJ_TMP/c.json" -w '%{http_code}' -d '' -H 'Accept: application/json' "$@"; }

id=$(lj_submit long)
queued=$(lj_submit long)
lj_check $? "a 30-second job running and one queued behind it"
lj_stream "$id" "$LJ_TMP/s0" -k 2 -l 0
[ -n "$(handler_pids "$id")" ]
lj_check $? "the handler runs"
# First the queued one, while the first still holds the only slot.
lj_is "$(cancel "$C/$queued/cancel")" 200 "the queued job is cancelled"
"$LJ_BIN/longjob" show "$queued" | grep -q '"started": null'
lj_check $? "and never started"
lj_stream "$queued" "$LJ_TMP/q"
lj_is "$(cut -f2 "$LJ_TMP/q/0.events" | tr '\n' ' ')" "state end " "its stream: state, end"
lj_stream "$id" "$LJ_TMP/s" -l "$(tail -1 "$LJ_TMP/s0/0.events" | cut -f1)" & stream=$!
lj_is "$(cancel "$C/$id/cancel")" 200 "cancel answers 200: $(cat "$LJ_TMP/c.json")"
wait $stream
lj_check $? "the open stream ended"
lj_is "$(tail -1 "$LJ_TMP/s/0.events" | cut -f2,3)" "end	{\"state\":\"cancelled\"}" "with end: cancelled"
handler_gone "$id" 5
lj_check $? "the handler's processes are gone (SIGTERM to its group)"
lj_is "$(cancel "$C/$id/cancel")" 409 "cancelling it again: 409, it has ended"
"$LJ_BIN/longjob" show "$id" | grep -q '"state": "cancelled"'
lj_check $? "the store says cancelled"


id=$(lj_submit stubborn)
lj_stream "$id" "$LJ_TMP/t" -k 2 -l 0
# Its progress line says its trap is set: a SIGTERM before it would end it.
lj_running_handler "$id" >/dev/null
# Found before the cancel: a /proc scan on a busy machine can take seconds.
stubborn=$(handler_pids "$id")
lj_is "$(cancel "$C/$id/cancel")" 200 "a handler that ignores SIGTERM is cancelled"
# The grace period is 5 s: a second after the SIGTERM it must still be there.
sleep 1
alive=
for p in $stubborn; do kill -0 "$p" 2>/dev/null && alive=1; done
[ -n "$alive" ]
lj_check $? "it is still there a second after SIGTERM"
handler_gone "$id" 10
lj_check $? "and gone after the grace period (SIGKILL)"

lj_is "$(cancel "$C/0123456789abcdef0123456789abcdef/cancel")" 404 "unknown job: 404"
lj_is "$(lj_status "$C/$id/cancel")" 405 "GET: 405"
lj_is "$(cancel -H 'Origin: http://evil.example' "$C/$queued/cancel")" 403 "from another site: 403"
lj_done
