#!/bin/bash
# Frames reach the client through the front end as they are written, not at
# the end: the arrival times of the progress frames of a 3-second job are
# spread over those 3 seconds.  And the submit answer comes at once while
# the worker lives on.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_start

t0=$(date +%s%N)
id=$(lj_submit slow)
t1=$(date +%s%N)
lj_check $? "submitted"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 2000 ]
lj_check $? "the submit answer came at once (${ms} ms) although the job runs 3 s"
lj_stream "$id" "$LJ_TMP/s" -T
lj_check $? "stream ended cleanly"
ev=$LJ_TMP/s/0.events
# Columns: ms since connect, id, type, data.
first=$(awk -F'\t' '$3 == "progress" { print $1; exit }' "$ev")
last=$(awk -F'\t' '$3 == "progress" { t = $1 } END { print t }' "$ev")
n=$(awk -F'\t' '$3 == "progress"' "$ev" | wc -l)
echo "# $n progress frames, first at ${first} ms, last at ${last} ms"
[ "$n" -ge 5 ]
lj_check $? "several progress frames ($n)"
[ $(( last - first )) -ge 1500 ]
lj_check $? "they arrived spread out over the job ($(( last - first )) ms apart), not in one burst"
distinct=$(awk -F'\t' '$3 == "progress" { print int($1 / 500) }' "$ev" | sort -u | wc -l)
[ "$distinct" -ge 4 ]
lj_check $? "in at least 4 different half-seconds ($distinct)"

# Each frame within a second of being written: the handler puts the time it
# wrote the line in the message ("... at <epoch ms>"), the client the time the
# frame arrived (-E).  What is between: the worker's coalescing (250 ms) and
# the poll tick (200 ms).
id=$(lj_submit slow)
lj_stream "$id" "$LJ_TMP/e" -E
worst=$(awk -F'\t' '$3 == "progress" && match($4, / at [0-9]+/) {
	d = $1 - substr($4, RSTART + 4, RLENGTH - 4); if (d > w) w = d; n++ }
	END { print (n ? w : "none") }' "$LJ_TMP/e/0.events")
echo "# slowest progress frame arrived $worst ms after the handler wrote it"
[ "$worst" != none ] && [ "$worst" -le 1000 ]
lj_check $? "every progress frame arrived within a second of being written ($worst ms)"
lj_done
