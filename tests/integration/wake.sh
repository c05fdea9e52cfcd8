#!/bin/bash
# Wake-up on writes (loop_wake_on in src/loop.h): progress and result read the store as soon
# as a job writes, not only once a tick.  With poll_ms at its maximum (5 s),
# a job printing a line every 100 ms for 3 s would reach a stream in one or
# two bursts if only the tick read the store; with the wake-up, the lines
# arrive spread over the 3 s, and the result request answers soon after the
# job's end rather than at the next tick.  (What it buys in latency, and
# what it costs, is measured by bench/run, not here.)  Behind lighttpd.
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set poll_ms 5000
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"3\"] }"
lj_start

id=$(lj_submit ticker)
lj_check $? "a job printing a line every 100 ms for 3 s submitted"
lj_stream "$id" "$LJ_TMP/s" -T -l 0
lj_check $? "its stream ended cleanly"
# Arrival times (ms since connecting) of the log lines; bursts are 50 ms apart or more.
awk -F'\t' '$3 == "log" { print $1 }' "$LJ_TMP/s/0.events" >"$LJ_TMP/times"
lines=$(wc -l <"$LJ_TMP/times")
bursts=$(awk 'NR == 1 || $1 - prev >= 50 { n++ } { prev = $1 } END { print n + 0 }' "$LJ_TMP/times")
lj_is "$lines" 30 "all 30 lines reached the stream"
[ "$bursts" -ge 8 ]
lj_check $? "in $bursts bursts at least 50 ms apart, with the tick at 5 s: the writes woke the reader"

# result: the job ends; the waiting request answers without waiting for a tick.
id=$(lj_submit ticker)
lj_check $? "another one submitted"
start=$(date +%s%3N)
code=$(curl -s -m 30 -o "$LJ_TMP/r" -w '%{http_code}' -H 'Accept: application/json' \
	"$LJ_URL/longjob/result/$id")
took=$(($(date +%s%3N) - start))
lj_is "$code" 200 "the result request waited for the job and answered 200"
grep -q '"lines": *30' "$LJ_TMP/r"
lj_check $? "with the job's result"
# The job lasts about 3 s; with only the 5 s tick the answer would come at 5 s or later.
[ "$took" -lt 4800 ]
lj_check $? "$took ms after the request: before the first tick could have seen the end"
lj_done
