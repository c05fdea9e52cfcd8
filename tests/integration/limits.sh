#!/bin/bash
# Host limits are respected rather than suffered: a result request that has
# waited result_wait_s answers 202 with Retry-After and the current state; a
# stream that has lived stream_max_s ends cleanly, and reconnecting as
# EventSource does (Last-Event-ID) resumes it without loss.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set stream_max_s 2
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"6\"] }"
lj_config_set result_wait_s 1
lj_start

id=$(lj_submit long)
lj_check $? "a 6-second job submitted"
# Under memcheck the worker takes seconds to start, longer than the 1 s the
# result request waits: let the job start first, so its answer says running.
[ -n "$LJ_VALGRIND" ] && lj_wait_state "$id" running 30
curl -s -m 20 -D "$LJ_TMP/r.hdrs" -o "$LJ_TMP/r.json" -H 'Accept: application/json' \
	"$LJ_URL/longjob/result/$id"
lj_is "$(head -1 "$LJ_TMP/r.hdrs" | cut -d' ' -f2)" 202 "a result request that waited 1 s gets 202"
grep -qi '^retry-after: [0-9]' "$LJ_TMP/r.hdrs"
lj_check $? "with Retry-After"
grep -q '"state":"running"' "$LJ_TMP/r.json"
lj_check $? "and the current state: $(head -c 80 "$LJ_TMP/r.json")"
# A browser without JavaScript: a page with the progress, that reloads itself.
curl -s -m 20 -o "$LJ_TMP/r.html" -w '%{http_code}' -H 'Accept: text/html' \
	"$LJ_URL/longjob/result/$id" >"$LJ_TMP/r.code"
lj_is "$(cat "$LJ_TMP/r.code")" 202 "a browser waiting for the result gets 202 too"
grep -q '<meta http-equiv="refresh" content="5">' "$LJ_TMP/r.html" &&
	grep -q '<strong id="state">running</strong>' "$LJ_TMP/r.html" &&
	grep -Eq '<progress max="100" value="[0-9]+">' "$LJ_TMP/r.html"
lj_check $? "with a page that shows the job running, its progress, and reloads itself"

# Follow the job as a browser would: each time the stream ends without
# `end`, reconnect with the last id.
last= pieces=0
for i in $(seq 20); do
	if [ -z "$last" ]; then lj_stream "$id" "$LJ_TMP/s$i" -T; else lj_stream "$id" "$LJ_TMP/s$i" -T -l "$last"; fi
	pieces=$i
	[ -s "$LJ_TMP/s$i/0.events" ] && last=$(tail -1 "$LJ_TMP/s$i/0.events" | cut -f2)
	tail -1 "$LJ_TMP/s$i/0.events" | grep -q '	end	' && break
done
# Lifetimes are checked once a second: a stream lives up to stream_max_s + 1 s.
[ "$pieces" -ge 2 ]
lj_check $? "streams were cut at their limit and resumed ($pieces pieces)"
long=$(awk -F'\t' '{ if ($1 > m) m = $1 } END { print m + 0 }' "$LJ_TMP"/s*/0.events)
[ "$long" -lt 3500 ]
lj_check $? "no stream outlived its limit by much (latest event at $long ms)"
from=$(head -1 "$LJ_TMP/s1/0.events" | cut -f2)
for i in $(seq "$pieces"); do cut -f2- "$LJ_TMP/s$i/0.events"; done |
	awk -F'\t' -v f="$from" '$1 > f' >"$LJ_TMP/seen"
lj_stream "$id" "$LJ_TMP/all" -l "$from"
cmp -s "$LJ_TMP/seen" "$LJ_TMP/all/0.events"
lj_check $? "the pieces together are every event, none lost, none repeated ($(wc -l <"$LJ_TMP/seen"))"
res=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "$LJ_URL/longjob/result/$id")
lj_is "$res" 200 "once the job ended, result answers 200"
lj_done
