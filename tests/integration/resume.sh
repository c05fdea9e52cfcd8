#!/bin/bash
# Resume: a stream broken mid-job and resumed with Last-Event-ID (header, and
# ?lastEventId=) sees exactly the events of an unbroken stream: none lost,
# none repeated.  After `end`, a reconnect gets 204.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_start

id=$(lj_submit slow)
lj_check $? "job submitted"
# The unbroken stream, and a stream broken after 4 events, at the same time.
lj_stream "$id" "$LJ_TMP/whole" & whole=$!
lj_stream "$id" "$LJ_TMP/part1" -k 4
lj_check $? "first part read"
last=$(tail -1 "$LJ_TMP/part1/0.events" | cut -f1)
lj_is "$(wc -l <"$LJ_TMP/part1/0.events")" 4 "the broken stream got 4 events"
lj_stream "$id" "$LJ_TMP/part2" -l "$last"
lj_check $? "resumed with Last-Event-ID $last"
wait $whole
lj_check $? "the unbroken stream ended cleanly"

# Compare everything after the later of the two opening state events.
s1=$(head -1 "$LJ_TMP/whole/0.events" | cut -f1)
s2=$(head -1 "$LJ_TMP/part1/0.events" | cut -f1)
from=$(( s1 > s2 ? s1 : s2 ))
awk -F'\t' -v from="$from" '$1 > from && $2 != "state"' "$LJ_TMP/whole/0.events" >"$LJ_TMP/a"
cat "$LJ_TMP/part1/0.events" "$LJ_TMP/part2/0.events" |
	awk -F'\t' -v from="$from" '$1 > from && $2 != "state"' >"$LJ_TMP/b"
cmp -s "$LJ_TMP/a" "$LJ_TMP/b"
lj_check $? "events across the break equal the unbroken stream ($(wc -l <"$LJ_TMP/a") events)"
[ "$(wc -l <"$LJ_TMP/a")" -ge 10 ]
lj_check $? "and there were enough of them to mean something"
dups=$(cut -f1 "$LJ_TMP/part1/0.events" "$LJ_TMP/part2/0.events" | sort | uniq -d | wc -l)
lj_is "$dups" 0 "no id repeated across the break"
[ "$(head -1 "$LJ_TMP/part2/0.events" | cut -f2)" != state ]
lj_check $? "a resumed stream starts with the missed events, not a state"

# The same through the query parameter, from the very start.
lj_stream "$id" "$LJ_TMP/q0" -k 1000 >/dev/null
all=$(cut -f1,2 "$LJ_TMP/whole/0.events" | awk -F'\t' -v s="$s1" '$1 > s')
"$SSECLIENT" -q -o "$LJ_TMP/q" -t 30 "$LJ_URL/longjob/progress/$id?lastEventId=$s1" >/dev/null
lj_is "$(cut -f1,2 "$LJ_TMP/q/0.events")" "$all" "?lastEventId= resumes the same way"

# After end: the id of `end` gets 204; a fresh connection gets state + end.
end=$(tail -1 "$LJ_TMP/whole/0.events" | cut -f1)
lj_is "$(lj_status "$LJ_URL/longjob/progress/$id" -H "Last-Event-ID: $end")" 204 "reconnect after end: 204"
lj_is "$(lj_status "$LJ_URL/longjob/progress/$id?lastEventId=$end")" 204 "the same with ?lastEventId="
lj_stream "$id" "$LJ_TMP/fresh"
lj_is "$(cut -f2 "$LJ_TMP/fresh/0.events" | tr '\n' ' ')" "state end " "a fresh stream of an ended job: state, end"
lj_done
