#!/bin/bash
# A lost worker, as every waiter sees it.  A running job has two streams
# open (progress) and two result requests waiting (result, JSON and HTML).
#   - Its worker is killed with -9: the handler goes on under its keeper;
#     the progress and result processes notice that no worker holds the
#     lease and start one (nobody else is asked: no `longjob` command runs
#     meanwhile), which adopts the job from its committed offset.  The job
#     succeeds; each stream has every line the handler printed exactly once,
#     in order; both result requests answer 200, succeeded.
#   - Its worker and its keeper are killed with -9: the handler dies with
#     its keeper; the next worker finds the keeper gone and fails the job
#     ("worker lost"); every stream gets that `end` and the result requests
#     answer with it.
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set result_wait_s 25
lj_add_type tick "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"8\"] }"
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"40\"] }"
lj_start
P=$LJ_URL/longjob/progress
R=$LJ_URL/longjob/result

now_ms() { date +%s%3N; }
# The job's state, read without the longjob command (which would start a worker itself).
state_of() { lj_sql "SELECT state FROM jobs WHERE id = '$1'" 2>/dev/null; }

# A result request in the background: DIR/<n>.code, .body, .at (ms it answered).
wait_result() {
	local dir=$1 n=$2 accept=$3
	curl -s -m 40 -o "$dir/$n.body" -w '%{http_code}' -H "Accept: $accept" \
		"$R/$id" >"$dir/$n.code"
	now_ms >"$dir/$n.at"
}

# Starts the two streams and the two result requests of $id into $d.
watch_job() {
	"$SSECLIENT" -q -n 2 -E -o "$d" -t 40 "$P/$id" >/dev/null & streams=$!
	wait_result "$d" json application/json & rj=$!
	wait_result "$d" html text/html & rh=$!
	for _ in $(seq 100); do
		[ -s "$d/0.events" ] && [ -s "$d/1.events" ] && break
		sleep 0.05
	done
}

# ---- the worker alone: adopted, nothing lost.
d=$LJ_TMP/adopt
mkdir -p "$d"
id=$(lj_submit tick)
h=$(lj_running_handler "$id")
lj_check $? "a job is running and reporting"
k=$(cut -d' ' -f4 "/proc/$h/stat")
w=$(cut -d' ' -f4 "/proc/$k/stat")
grep -q longjob-keeper "/proc/$k/cmdline" && grep -q longjob-worker "/proc/$w/cmdline"
lj_check $? "its handler runs under a keeper ($k), under the worker ($w)"
watch_job
kill -9 "$w"
t_kill=$(now_ms)
wait $streams
lj_is $? 0 "both streams ended cleanly"
wait $rj $rh
lj_is "$(state_of "$id")" succeeded "the job succeeded all the same"
lines=$(lj_sql "SELECT data FROM events WHERE job_id = '$id' AND kind = 'log' ORDER BY seq" |
	sed -n 's/^{"line":"line \([0-9]*\)"}$/\1/p' | tr '\n' ' ')
lj_is "$lines" "$(seq 80 | tr '\n' ' ')" "the store has every line 1 to 80 once, in order"
for s in 0 1; do
	# A stream starts with the job's state, then every event after it.
	lines=$(cut -f3- "$d/$s.events" | sed -n 's/^log	{"line":"line \([0-9]*\)"}$/\1/p' | tr '\n' ' ')
	first=${lines%% *}
	lj_is "$lines" "$(seq "${first:-1}" 80 | tr '\n' ' ')" \
		"stream $s: every line from its first ($first) to 80 once, in order"
	tail -1 "$d/$s.events" | cut -f3- | grep -qx 'end	{"state":"succeeded","result":{"lines":80}}'
	lj_check $? "stream $s: end, succeeded with its result"
done
lj_is "$(cat "$d/json.code") $(cat "$d/html.code")" "200 200" \
	"both waiting result requests answered with the final state"
grep -q '"state":"succeeded"' "$d/json.body"
lj_check $? "JSON: succeeded ($(head -c 100 "$d/json.body"))"
[ "$(cat "$d/json.at")" -ge "$t_kill" ] && [ "$(cat "$d/html.at")" -ge "$t_kill" ]
lj_check $? "and they had been waiting (answered after the kill)"
w2=$(lj_sql "SELECT worker_pid FROM jobs WHERE id = '$id'")
[ -n "$w2" ] && [ "$w2" != "$w" ]
lj_check $? "a new worker ($w2) finished it"
grep -q "job $id (tick): adopted from offset" "$LJ_STATE/worker.log"
lj_check $? "its log says it adopted the job"

# ---- the worker and the keeper: the job fails as lost, every waiter hears it.
d=$LJ_TMP/lost
mkdir -p "$d"
id=$(lj_submit long)
h=$(lj_running_handler "$id")
lj_check $? "a second job is running"
k=$(cut -d' ' -f4 "/proc/$h/stat")
w=$(cut -d' ' -f4 "/proc/$k/stat")
watch_job
kill -9 "$w" "$k"
t_kill=$(now_ms)
for _ in $(seq 50); do lj_gone "$h" && break; sleep 0.1; done
lj_gone "$h"
lj_check $? "its handler died with its keeper"
wait $streams
lj_is $? 0 "both streams ended cleanly"
wait $rj $rh
t_end=$(now_ms)
for s in 0 1; do
	last=$(tail -1 "$d/$s.events")
	printf '%s\n' "$last" | cut -f3- | grep -q '^end	{"state":"failed","error":"worker lost'
	lj_check $? "stream $s ended: failed, worker lost (${last:0:100})"
done
[ $((t_end - t_kill)) -le 12000 ]
lj_check $? "within 12 s of the kill ($((t_end - t_kill)) ms): found by the next worker"
lj_is "$(cat "$d/json.code") $(cat "$d/html.code")" "200 200" \
	"both waiting result requests answered with the final state"
grep -q '"error":"worker lost' "$d/json.body" && grep -q 'worker lost' "$d/html.body"
lj_check $? "JSON and HTML: worker lost ($(head -c 120 "$d/json.body"))"
lj_done
