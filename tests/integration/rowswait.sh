#!/bin/bash
# Rows that wait (src/store.h): within a minute of its job's row being
# written, a progress update is stored as its event alone, with where the worker had
# read the handler's output to; every read of the job takes the newer
# values from that event, and a successor worker resumes after it.
#   - a job prints 300 progress updates and nothing else, every one stored
#     (progress_interval_ms 0); while it runs, its own row is seen behind
#     its newest event, yet `longjob show` gives the newest event's progress;
#   - its worker is killed with -9 half way; the next one (started by the
#     job's keeper) adopts it from the offset in the newest event: the store
#     has every update 1 to 300 once, in order, and the job succeeds;
#   - a stream opened after the kill starts from the newest update and goes
#     on with no update repeated or missing.
# Behind lighttpd, once: this is about the worker and the SQLite store.
. "$(dirname "$0")/lib.sh"
[ "${LJ_STORE:-sqlite}" = postgresql ] &&
	lj_skip "rows wait only in an SQLite store (PostgreSQL writes every row: defers_rows 0)"
lj_write_config
lj_config_set progress_interval_ms 0
lj_add_type count "{ \"argv\": [\"$LJ_HANDLERS/counter\", \"300\"] }"
lj_start
q() { lj_sql "$1"; }
newest() { q "SELECT json_extract(data, '\$.message') FROM events WHERE job_id = '$id'
	AND kind = 'progress' ORDER BY seq DESC LIMIT 1"; }

id=$(lj_submit count)
lj_check $? "a job printing 300 progress updates, one every 20 ms"
# The row waits: its message is behind the newest event's, and show reads the event.
behind= shown=
for _ in $(seq 100); do
	# One statement, one snapshot: the row and the newest event as committed together.
	IFS='|' read -r row ev < <(q "SELECT message, (SELECT json_extract(data, '\$.message')
		FROM events WHERE job_id = '$id' AND kind = 'progress' ORDER BY seq DESC LIMIT 1)
		FROM jobs WHERE id = '$id'")
	if [ -n "$ev" ] && [ "$row" != "$ev" ]; then
		behind="row '$row', newest event '$ev'"
		shown=$("$top_builddir/longjob" show "$id" 2>/dev/null |
			sed -n 's/.*"message": "\(n=[0-9]*\)".*/\1/p')
		after=$(newest)
		break
	fi
	sleep 0.05
done
[ -n "$behind" ]
lj_check $? "the job's row waits behind its newest progress event ($behind)"
n_shown=${shown#n=} n_ev=${ev#n=} n_after=${after#n=}
[ -n "$shown" ] && [ "${n_shown:-0}" -ge "${n_ev:-1}" ] && [ "${n_shown:-0}" -le "${n_after:-0}" ]
lj_check $? "longjob show gives the newest event's progress ($shown; newest $ev, then $after)"

for _ in $(seq 200); do n=$(newest); [ "${n#n=}" -ge 100 ] 2>/dev/null && break; sleep 0.05; done
w=$(q "SELECT worker_pid FROM jobs WHERE id = '$id'")
grep -q longjob-worker "/proc/$w/cmdline" 2>/dev/null
lj_check $? "its worker ($w) runs, at $(newest)"
kill -9 "$w"
lj_check $? "the worker killed with -9 at $(newest)"
mkdir -p "$LJ_TMP/s"
LJ_STREAM_TIMEOUT=40 lj_stream "$id" "$LJ_TMP/s" >/dev/null
lj_is $? 0 "a stream opened after the kill ended cleanly"
lj_wait_state "$id" succeeded 30
lj_check $? "the job succeeded"
got=$(q "SELECT json_extract(data, '\$.message') FROM events WHERE job_id = '$id'
	AND kind = 'progress' ORDER BY seq" | tr '\n' ' ')
want=$(seq 300 | sed 's/^/n=/' | tr '\n' ' ')
lj_is "$got" "$want" "the store has every update n=1 to n=300 once, in order"
grep -q "job $id (count): adopted from offset" "$LJ_STATE/worker.log"
lj_check $? "a new worker adopted the job"
first=$(head -1 "$LJ_TMP/s/0.events" | cut -f2-)
printf '%s\n' "$first" | grep -q '^state	'
lj_check $? "the stream started with the job's state (${first:0:80})"
n0=$(printf '%s\n' "$first" | sed -n 's/.*"message":"n=\([0-9]*\)".*/\1/p')
got=$(cut -f2- "$LJ_TMP/s/0.events" | sed -n 's/^progress	.*"message":"n=\([0-9]*\)".*/\1/p' |
	tr '\n' ' ')
[ -n "$n0" ] && [ "$n0" -lt 300 ]
lj_check $? "... at update n=$n0, before the last"
lj_is "$got" "$(seq $((n0 + 1)) 300 | tr '\n' ' ')" \
	"then every update after it once, in order, to n=300"
q "SELECT progress || ' ' || state FROM jobs WHERE id = '$id'" | grep -qx '100.0 succeeded'
lj_check $? "the job's own row ends at 100 %, succeeded"
lj_done
