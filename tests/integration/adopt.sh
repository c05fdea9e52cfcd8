#!/bin/bash
# One worker runs every job of the host; killed with -9 while 100 jobs run,
# it loses none of them and none of their lines, and nobody has to ask:
#   - 100 jobs that print a numbered line every 100 ms for 25 s run at once,
#     each under its own keeper, all under one worker;
#   - the worker is killed with -9 while no new one can start (the config's
#     worker is a wrapper that exits at once until the test lets it run);
#     `longjob status` says none runs;
#   - a job cancelled meanwhile has its handler stopped at once, with no
#     worker: the cancel signals its keeper itself;
#   - nothing asks anything meanwhile (lighttpd's progress and result
#     processes are paused: they too would start a worker within 5 s), yet
#     once a worker can run again, the keepers start one (revive.h), one
#     try every 10 s at most for the 99 of them, and it adopts the 99 others
#     from their committed offsets; every one succeeds, with every line 1 to
#     250 once and in order in the store, and the worker's log says so.
# Behind lighttpd, once: what is tested is the worker, not the front end.
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set max_running 120
sed -i "s|\"worker\": \"[^\"]*\"|\"worker\": \"$(lj_worker_gate a)\"|" "$LJ_CONFIG"
touch "$LJ_TMP/runs-a"
lj_add_type tick "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"25\"] }"
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"30\"] }"
lj_start
S=$LJ_URL/longjob/submit
db=$LJ_STATE/longjob.db
count() { sqlite3 "$db" "SELECT count(*) FROM jobs WHERE $1"; }
# Live processes of ours: the workers (our config on their command line),
# the keepers (our run directory on theirs).  pgrep: a scan of /proc in the
# shell takes seconds with 200 processes, and the jobs would be over.
workers() { pgrep -c -f -- "longjob-worker --config $LJ_CONFIG\$" || true; }
keepers() { pgrep -c -f -- "longjob-keeper .* $LJ_STATE/spool/.run " || true; }
# The front end's progress and result processes (under memcheck, valgrind's).
readers() { pgrep -f -- "$LJ_TMP/.*cgi-bin/(progress|result)" | xargs; }

long=$(lj_submit long)
lj_check $? "a long job submitted"
seq 99 | xargs -P 10 -I{} curl -s -m 60 -o /dev/null -w '%{http_code}\n' -X POST \
	-H 'Accept: application/json' -d '' "$S/tick" | grep -c '^202$' >"$LJ_TMP/accepted"
lj_is "$(cat "$LJ_TMP/accepted")" 99 "99 more jobs accepted"
for _ in $(seq 200); do [ "$(count "state = 'running'")" -eq 100 ] && break; sleep 0.05; done
lj_is "$(count "state = 'running'")" 100 "all 100 run at once"
# A submission that found the lease free an instant before the worker took
# it starts one more, which exits as soon as it finds the lease held (under
# ASan it takes a moment to start): only the one that holds it stays.
for _ in $(seq 50); do [ "$(workers)" -eq 1 ] && break; sleep 0.1; done
lj_is "$(workers) $(keepers)" "1 100" \
	"under one worker, each under its own keeper (2 processes a job: keeper and handler)"
w=$(sqlite3 "$db" "SELECT DISTINCT worker_pid FROM jobs WHERE state = 'running'")
grep -q longjob-worker "/proc/$w/cmdline" 2>/dev/null
lj_check $? "the store names that worker ($w) for every running job"
# Mid-way: a thousand lines are in the store.
for _ in $(seq 100); do
	[ "$(sqlite3 "$db" "SELECT count(*) FROM events WHERE kind = 'log'")" -ge 1000 ] && break
	sleep 0.05
done
paused=$(readers)
[ -n "$paused" ]
lj_check $? "progress and result run ($paused): paused, so that only keepers look"
kill -STOP $paused
rm "$LJ_TMP/runs-a"
t0=$SECONDS
kill -9 "$w"
for _ in $(seq 50); do lj_gone "$w" && break; sleep 0.02; done
tries() { grep -c "no worker holds the lease of .*: starting one" "$LJ_STATE/worker.log"; }
for _ in $(seq 100); do [ "$(tries)" -ge 1 ] && break; sleep 0.1; done
lj_is "$(tries)" 1 "the worker ($w) is killed with -9; a keeper tries to start one, which cannot run"
"$top_builddir/longjob" status >"$LJ_TMP/status"
grep -q '^worker *not running' "$LJ_TMP/status"
lj_check $? "longjob status: no worker runs ($(head -1 "$LJ_TMP/status"))"

# Cancelled with no worker: its keeper stops the handler.
h=$(lj_handler_of "$long")
"$top_builddir/longjob" cancel "$long" >/dev/null
lj_check $? "the long job is cancelled"
for _ in $(seq 100); do lj_gone "$h" && break; sleep 0.05; done
lj_gone "$h"
lj_check $? "its handler is stopped with no worker running"
lj_is "$(workers)" 0 "and none runs"

# A worker can run again: a keeper starts it, and it adopts the rest.
touch "$LJ_TMP/runs-a"
for _ in $(seq 600); do [ "$(count "state IN ('queued', 'running')")" -eq 0 ] && break; sleep 0.1; done
kill -CONT $paused
# One keeper tries at a time, and holds the others back for 10 s, or until
# it ends (the cancelled job's keeper may have been the first).
n=$(tries)
[ "$n" -ge 2 ] && [ "$n" -le 3 ]
lj_check $? "$n tries in all for 99 keepers; the last started it ($((SECONDS - t0)) s after the kill)"
lj_is "$(count "state IN ('queued', 'running')")" 0 "every job ended"
lj_is "$(count "type = 'tick' AND state = 'succeeded'")" 99 "all 99 tick jobs succeeded"
want=$(seq 250 | sed 's/.*/{"line":"line &"}/' | paste -sd'|')
sqlite3 "$db" "SELECT job_id, group_concat(data, '|') FROM
	(SELECT e.job_id, e.data FROM events e JOIN jobs j ON j.id = e.job_id
	 WHERE j.type = 'tick' AND e.kind = 'log' ORDER BY e.seq) GROUP BY job_id" >"$LJ_TMP/lines"
bad=$(awk -F'|' -v want="$want" '{ id = $1; sub(/^[^|]*\|/, ""); if ($0 != want) n++ } END { print n + 0 }' "$LJ_TMP/lines")
lj_is "$(wc -l <"$LJ_TMP/lines") $bad" "99 0" \
	"each has every line 1 to 250 once, in order (jobs that do not: $bad)"
lj_is "$(grep -c "adopted from offset" "$LJ_STATE/worker.log")" 99 \
	"the new worker's log says it adopted the 99"
lj_is "$(count "id = '$long' AND state = 'cancelled'")" 1 "the cancelled job stayed cancelled"
lj_done
