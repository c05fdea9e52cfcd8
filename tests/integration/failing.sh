#!/bin/bash
# A job whose handler fails ends as failed with the tail of its stderr as the
# error, on the stream, in the result and in the CLI; a handler that prints
# 100,000 progress lines gives a bounded number of progress rows; a job past
# its timeout fails as "timed out".
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_add_type sleepy "{ \"argv\": [\"$LJ_HANDLERS/quiet\", \"30\"], \"timeout_s\": 1 }"
lj_start

id=$(lj_submit fail)
lj_check $? "failing job submitted"
lj_stream "$id" "$LJ_TMP/f"
end=$(tail -1 "$LJ_TMP/f/0.events")
lj_is "$(echo "$end" | cut -f2)" end "the stream ends with end"
echo "$end" | grep -q '"state":"failed","error":"boom: the input was not what I expected"'
lj_check $? "end carries the error from stderr: $end"
lj_stream "$id" "$LJ_TMP/f0" -l 0
grep -q '	log	{"line":"about to fail"}' "$LJ_TMP/f0/0.events"
lj_check $? "other output became a log event"
res=$(curl -s -m 10 -H 'Accept: application/json' "$LJ_URL/longjob/result/$id")
echo "$res" | grep -q '"state":"failed"'
lj_check $? "the result says failed"
"$LJ_BIN/longjob" show "$id" >/dev/null
lj_is $? 1 "longjob show exits 1 for a failed job"
lj_is "$(lj_status "$LJ_URL/longjob/result/$id/image.png")" 404 "no artifact of a failed job"

id=$(lj_submit chatty)
lj_check $? "chatty job submitted"
# From the first event: the job may end before a fresh stream would start.
lj_stream "$id" "$LJ_TMP/c" -l 0
n=$(grep -c '	progress	' "$LJ_TMP/c/0.events")
# At most one row per progress_interval_ms (100): a few for a job of a
# fraction of a second, more under memcheck, where it takes seconds.
[ "$n" -ge 1 ] && [ "$n" -le 500 ]
lj_check $? "100,000 progress lines became $n progress events"
tail -1 "$LJ_TMP/c/0.events" | grep -q '"state":"succeeded","result":{"lines":100000}'
lj_check $? "and the job succeeded with its result"

# A job that runs past its type's timeout_s ends as failed, "timed out".
id=$(lj_submit sleepy)
lj_stream "$id" "$LJ_TMP/t"
tail -1 "$LJ_TMP/t/0.events" | grep -q '	end	{"state":"failed","error":"timed out after 1 s"}'
lj_check $? "a job past its timeout fails: $(tail -1 "$LJ_TMP/t/0.events" | cut -f3)"
lj_done
