#!/bin/bash
# The lag cap with a worker (src/keep.h): a handler that writes its output
# far faster than the worker takes it is held back (its process group
# stopped) as soon as the worker sees .out more than KEEP_LAG_MAX (1 MiB)
# past what it has committed: the worker asks the job's keeper (SIGUSR1),
# which does not wait for its own look (every 5 s).  The handler (gush)
# writes 48 MiB of progress lines in bursts of 4 MiB, each in milliseconds,
# 0.2 s apart: when nothing holds it back the keeper's first look after
# its start comes when it is long done, so a hold within the first
# seconds can only have come from the worker asking.  Then the job runs to
# success with its last progress and its result.
# Behind lighttpd, once: what is tested is the worker and the keeper.
. "$(dirname "$0")/lib.sh"
lj_add_type gush "{ \"argv\": [\"$LJ_HANDLERS/gush\", \"48\"] }"
lj_start
log=$LJ_STATE/worker.log

t0=$(date +%s%3N)
id=$(lj_submit gush)
lj_check $? "a job whose handler gushes 48 MiB of progress lines submitted"
# The first hold, as the log says it: the time since the submit.
first=
for _ in $(seq 600); do
	grep -q "job $id: its output is [0-9]* bytes ahead" "$log" && { first=$(( $(date +%s%3N) - t0 )); break; }
	"$top_builddir/longjob" show "$id" 2>/dev/null | grep -q '"state": "\(succeeded\|failed\)"' && break
	sleep 0.02
done
[ -n "$first" ] && [ "$first" -lt 4500 ]
lj_check $? "its keeper held the handler back ${first:-never} ms after the submit: before its own first look (5 s after it started), so the worker asked"
lj_wait_state "$id" succeeded 120
lj_check $? "it succeeds ($(( $(date +%s%3N) - t0 )) ms)"
"$top_builddir/longjob" show "$id" >"$LJ_TMP/show" 2>&1
grep -q '"progress": 100' "$LJ_TMP/show" && grep -q '"gushed": true' "$LJ_TMP/show"
lj_check $? "with its last progress (100) and its result recorded"
grep "job $id: its output is [0-9]* bytes ahead" "$log" >"$LJ_TMP/holds"
lags=$(sed 's/.* is \([0-9]*\) bytes ahead.*/\1/' "$LJ_TMP/holds" | sort -n | tr '\n' ' ')
awk -v m=1048576 '{ if ($0 + 0 <= m) bad = 1 } END { exit bad }' <<<"$(echo $lags | tr ' ' '\n')"
lj_check $? "each hold past KEEP_LAG_MAX, at lags of $lags bytes"
lj_is "$(wc -l <"$LJ_TMP/holds")" 1 "the holds are said once a minute in the log, not once each"
grep -q "job $id: the worker caught up" "$log"
lj_check $? "and it let it go on once the worker caught up"
lj_done
