#!/bin/bash
# 200 concurrent streams through lighttpd to ONE progress process; every one
# of them receives every event of its job.
. "$(dirname "$0")/lib.sh"
[ "$LJ_MULTIPLEX" = 1 ] ||
	lj_skip "$LJ_FRONTEND gives each request its own process: 200 streams would be 200 processes (see the deployment table in the README)"
lj_test_handlers
# 50 result requests wait for one job here: more than max_waiting_per_job allows by default.
lj_config_set max_waiting_per_job 64
lj_start
N=200

id=$(lj_submit slow)
lj_check $? "job submitted"
# Meanwhile 50 result requests wait for the same job, in one result process.
curls=
for i in $(seq 50); do
	curl -s -m 60 -o "$LJ_TMP/result.$i" -H 'Accept: application/json' \
		"$LJ_URL/longjob/result/$id" &
	curls="$curls $!"
done
"$SSECLIENT" -q -n $N -o "$LJ_TMP/m" -t 60 "$LJ_URL/longjob/progress/$id" >"$LJ_TMP/summary"
lj_check $? "sseclient held $N streams: $(cat "$LJ_TMP/summary")"
grep -q "status200 $N " "$LJ_TMP/summary"
lj_check $? "all $N got 200"
grep -q "ended $N " "$LJ_TMP/summary"
lj_check $? "all $N ended cleanly"

# Every stream, after its own opening state, saw exactly the job's events
# from there on (whenever it connected), ending with `end`.
lj_stream "$id" "$LJ_TMP/all" -l 0
tail -1 "$LJ_TMP/all/0.events" | grep -q '	end	'
lj_check $? "the job's whole event log ends with end ($(wc -l <"$LJ_TMP/all/0.events") events)"
same=0 ended=0
for f in "$LJ_TMP"/m/*.events; do
	from=$(head -1 "$f" | cut -f1)
	awk -F'\t' -v f="$from" 'NR > 1 && $1 > f' "$f" |
		cmp -s - <(awk -F'\t' -v f="$from" '$1 > f' "$LJ_TMP/all/0.events") && same=$((same + 1))
	tail -1 "$f" | grep -q '	end	' && ended=$((ended + 1))
done
lj_is "$same" "$N" "all $N streams received every event after their opening state"
lj_is "$ended" "$N" "and every one of them ended with end"

# How many processes of a program served them: exactly one each.  (The
# program is any argument: under memcheck, LJ_VALGRIND, argv[0] is valgrind.)
count_procs() {
	local p n=0
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -q "cgi-bin/$1$" || continue
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "LONGJOB_CONFIG=$LJ_CONFIG" && n=$((n + 1))
	done
	echo $n
}
lj_is "$(count_procs progress)" 1 "one progress process served them"

wait $curls
answered=$(grep -l '"state":"succeeded"' "$LJ_TMP"/result.* 2>/dev/null | wc -l)
lj_is "$answered" 50 "all 50 waiting result requests were answered when the job ended"
lj_is "$(count_procs result)" 1 "by one result process"
lj_done
