#!/bin/bash
# At most max_running handlers run at once; the rest wait queued and start
# in the order they were submitted.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set max_running 1
lj_add_type quick "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"1\"] }"
lj_start

ids=
for i in 1 2 3 4; do
	id=$(lj_submit quick) || lj_die "submit $i failed"
	ids="$ids $id"
done
lj_check 0 "four jobs submitted"
# The last of four 1-second jobs waits behind at least two seconds of work.
last=$(echo $ids | cut -d' ' -f4)
curl -s -m 20 -H 'Accept: application/json' "$LJ_URL/longjob/result/$last" >/dev/null &
res=$!
state=$("$LJ_BIN/longjob" show "$last" | sed -n 's/.*"state": "\([a-z]*\)".*/\1/p')
lj_is "$state" queued "the last job waits queued while another runs"
pos=$("$LJ_BIN/longjob" show "$last" | sed -n 's/.*"queue_position": \([0-9]*\).*/\1/p')
[ "${pos:-0}" -ge 1 ] && [ "${pos:-0}" -le 3 ]
lj_check $? "and knows its place in the queue ($pos)"
for id in $ids; do
	lj_wait_state "$id" succeeded 30 || lj_die "job $id did not succeed"
done
lj_check 0 "all four succeeded"
wait $res
# Each job started after the one before it finished.
prev_fin=0 prev_start=0 order_ok=0 overlap=0
for id in $ids; do
	s=$("$LJ_BIN/longjob" show "$id" | sed -n 's/.*"started": \([0-9.]*\).*/\1/p')
	f=$("$LJ_BIN/longjob" show "$id" | sed -n 's/.*"finished": \([0-9.]*\).*/\1/p')
	awk -v s="$s" -v pf="$prev_fin" 'BEGIN { exit !(s + 0.001 >= pf) }' || overlap=1
	awk -v s="$s" -v ps="$prev_start" 'BEGIN { exit !(s >= ps) }' || order_ok=1
	prev_fin=$f prev_start=$s
done
lj_is "$overlap" 0 "never more than one handler at a time"
lj_is "$order_ok" 0 "they started in the order submitted"
lj_done
