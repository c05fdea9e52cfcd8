#!/bin/bash
# A lost worker, as every waiter sees it.  Round after round: a running job
# with two streams open (progress) and two result requests waiting (result,
# JSON and HTML); its worker is killed with -9.  Whichever process notices
# the loss and records it (any of them reaps; under CGI each request is a
# process of its own), every stream gets `end` (failed, "worker lost") within
# 2 s of the loss being recorded, and every waiting result request answers
# with the final state, never 202, long before result_wait_s.
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set result_wait_s 25
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"40\"] }"
lj_start
P=$LJ_URL/longjob/progress
R=$LJ_URL/longjob/result
rounds=3

now_ms() { date +%s%3N; }

# The time the job's end was recorded, in ms since the epoch.
finished_ms() {
	"$top_builddir/longjob" show "$1" | sed -n 's/^ *"finished": \([0-9.]*\),*$/\1/p' |
		awk '{ printf "%.0f\n", $1 * 1000 }'
}

# A result request in the background: DIR/<n>.code, .body, .at (ms it answered).
wait_result() {
	local dir=$1 n=$2 accept=$3
	curl -s -m 40 -o "$dir/$n.body" -w '%{http_code}' -H "Accept: $accept" \
		"$R/$id" >"$dir/$n.code"
	now_ms >"$dir/$n.at"
}

for round in $(seq $rounds); do
	d=$LJ_TMP/r$round
	mkdir -p "$d"
	id=$(lj_submit long)
	h=$(lj_running_handler "$id")
	lj_check $? "round $round: a job is running and reporting"
	w=$(cut -d' ' -f4 "/proc/$h/stat")
	grep -q longjob-worker "/proc/$w/cmdline"
	lj_check $? "round $round: its worker is $w"
	"$SSECLIENT" -q -n 2 -E -o "$d" -t 30 "$P/$id" >/dev/null & streams=$!
	wait_result "$d" json application/json & rj=$!
	wait_result "$d" html text/html & rh=$!
	# Both streams have their first events; the result requests are sent.
	for _ in $(seq 100); do
		[ -s "$d/0.events" ] && [ -s "$d/1.events" ] && break
		sleep 0.05
	done
	kill -9 "$w"
	t_kill=$(now_ms)
	wait $streams
	lj_is $? 0 "round $round: both streams ended cleanly"
	wait $rj $rh
	t_end=$(finished_ms "$id")
	[ -n "$t_end" ]
	lj_check $? "round $round: the loss was recorded"
	for s in 0 1; do
		last=$(tail -1 "$d/$s.events")
		printf '%s\n' "$last" | cut -f3- | grep -qx 'end	{"state":"failed","error":"worker lost"}'
		lj_check $? "round $round: stream $s ended: failed, worker lost (${last:0:80})"
		at=$(printf '%s\n' "$last" | cut -f1)
		[ -n "$t_end" ] && [ $((at - t_end)) -le 2000 ]
		lj_check $? "round $round: stream $s got it $((at - ${t_end:-0})) ms after the loss was recorded"
	done
	lj_is "$(cat "$d/json.code") $(cat "$d/html.code")" "200 200" \
		"round $round: both waiting result requests answered with the final state"
	grep -q '"state":"failed".*"error":"worker lost"\|"error":"worker lost".*"state":"failed"' "$d/json.body"
	lj_check $? "round $round: JSON: failed, worker lost ($(head -c 120 "$d/json.body"))"
	grep -q 'worker lost' "$d/html.body"
	lj_check $? "round $round: the HTML page says worker lost"
	# They waited for the end: they were not answered before the kill.
	[ "$(cat "$d/json.at")" -ge "$t_kill" ] && [ "$(cat "$d/html.at")" -ge "$t_kill" ]
	lj_check $? "round $round: and they had been waiting (answered after the kill)"
done
lj_done
