#!/bin/bash
# Faults injected mid-job, through the web server:
#   - kill -9 of the worker: a new one adopts the running jobs, which go on;
#     with a job's keeper: that job fails as "worker lost" within 12 s, every
#     open stream of it ends with `end`, and its handler is gone;
#   - kill -9 of a handler: the worker fails the job, naming the signal;
#   - kill -9 of the progress process mid-stream: a new one answers (started
#     by the web server; under apache-proxy-fcgi by whoever supervises the
#     backends, here the test), the client resumes with Last-Event-ID and
#     nothing is lost or repeated;
#   - SQLITE_BUSY: another connection holds the write lock for 3 s while a
#     job reports and jobs are submitted: no error reaches anyone, no line is
#     lost;
#   - a worker and a keeper killed while nobody watches: `longjob show`
#     starts a worker, and says so within 10 s.
# (A restart of the web server mid-job is reload.sh; disconnects are
# disconnect.sh; a full disk is diskfull.sh.)
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set max_running 4
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"30\"] }"
lj_add_type twelve "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"12\"] }"
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"5\"] }"
lj_start
P=$LJ_URL/longjob/progress

now_ms() { date +%s%3N; }

# The progress processes serving this test (one per stream under CGI).
progress_pids() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -q "cgi-bin/progress$" || continue
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "LONGJOB_CONFIG=$LJ_CONFIG" &&
			echo "${p#/proc/}"
	done
}

# ---- kill -9 of the worker, with one job's keeper; of a handler.
a=$(lj_submit twelve) && b=$(lj_submit long) && c=$(lj_submit long)
lj_check $? "three jobs submitted"
ha=$(lj_running_handler "$a") && hb=$(lj_running_handler "$b") && hc=$(lj_running_handler "$c")
lj_check $? "their handlers are running and reporting"
ka=$(cut -d' ' -f4 "/proc/$ha/stat") kb=$(cut -d' ' -f4 "/proc/$hb/stat")
w=$(cut -d' ' -f4 "/proc/$ka/stat")
grep -q longjob-keeper "/proc/$ka/cmdline" && grep -q longjob-keeper "/proc/$kb/cmdline" &&
	grep -q longjob-worker "/proc/$w/cmdline" && [ "$(cut -d' ' -f4 "/proc/$kb/stat")" = "$w" ]
lj_check $? "each handler runs under its keeper, and one worker ($w) runs them all"
# Three watchers of the first job, two of the second, one of the third.
"$SSECLIENT" -q -n 3 -o "$LJ_TMP/a" -T -t 40 "$P/$a" >/dev/null & ca=$!
"$SSECLIENT" -q -n 2 -o "$LJ_TMP/b" -T -t 40 "$P/$b" >/dev/null & cb=$!
"$SSECLIENT" -q -n 1 -o "$LJ_TMP/c" -T -t 40 "$P/$c" >/dev/null & cc=$!
for _ in $(seq 100); do
	[ "$(cat "$LJ_TMP"/[abc]/*.events 2>/dev/null | wc -l)" -ge 6 ] && break
	sleep 0.1
done
t0=$(now_ms)
kill -9 "$w" "$kb"
kill -9 "$hc"
wait $cb; rcb=$?
t1=$(now_ms)
wait $ca; rca=$?
wait $cc; rcc=$?
lj_is "$rca$rcb$rcc" 000 "every stream ended cleanly"
for f in "$LJ_TMP"/b/*.events; do
	tail -1 "$f" | cut -f3- | grep -q '^end	{"state":"failed","error":"worker lost' ||
		{ echo "# $f: $(tail -1 "$f")"; false; }
done
lj_check $? "both streams of the job whose keeper died end: failed, worker lost"
[ $((t1 - t0)) -le 12000 ]
lj_check $? "within 12 s of the kill ($((t1 - t0)) ms): a new worker found it"
for f in "$LJ_TMP"/a/*.events; do
	tail -1 "$f" | cut -f3- | grep -q '^end	{"state":"succeeded"' ||
		{ echo "# $f: $(tail -1 "$f")"; false; }
done
lj_check $? "the three streams of the job whose keeper lived end: succeeded (adopted)"
tail -1 "$LJ_TMP/c/0.events" | grep -q 'end	{"state":"failed","error":".*signal 9'
lj_check $? "a job whose handler was killed fails naming the signal: $(tail -1 "$LJ_TMP/c/0.events" | cut -f4)"
for _ in $(seq 50); do lj_gone "$hb" && break; sleep 0.1; done
lj_gone "$hb"
lj_check $? "the handler of the keeper that died is gone too"

# ---- kill -9 of the progress process mid-stream.
# 12 s: time for two kills even where scanning /proc for them is slow.
id=$(lj_submit twelve)
lj_check $? "a 12-second job submitted"
last= pieces=0 killed=0
for i in $(seq 60); do
	if [ -z "$last" ]; then
		lj_stream "$id" "$LJ_TMP/p$i" & s=$!
	else
		lj_stream "$id" "$LJ_TMP/p$i" -l "$last" & s=$!
	fi
	# Break the first two streams once they have had a few events.
	if [ $i -le 2 ]; then
		for _ in $(seq 100); do
			[ "$(cat "$LJ_TMP/p$i/0.events" 2>/dev/null | wc -l)" -ge 3 ] && break
			sleep 0.05
		done
		pids=$(progress_pids)
		[ -n "$pids" ] && kill -9 $pids && killed=$((killed + 1))
		# Nobody restarts a program Apache only connects to: its supervisor would.
		if [ "$LJ_FRONTEND" = apache-proxy-fcgi ]; then
			setpriv --reuid="$LJ_AS" --regid="$LJ_AS" --init-groups -- \
				"$LJ_BIN/cgi-bin/progress" --listen "$LJ_RUN/progress.sock" \
				>>"$LJ_RUN/backends.log" 2>&1 &
			LJ_BACKENDS="$LJ_BACKENDS $!"
		fi
	fi
	wait $s
	head -1 "$LJ_TMP/p$i/0.status" 2>/dev/null | grep -q ' 200' ||
		echo "# reconnect $i answered: $(head -1 "$LJ_TMP/p$i/0.status" 2>/dev/null)"
	pieces=$i
	[ -s "$LJ_TMP/p$i/0.events" ] && last=$(tail -1 "$LJ_TMP/p$i/0.events" | cut -f1)
	tail -1 "$LJ_TMP/p$i/0.events" 2>/dev/null | grep -q '	end	' && break
	sleep 0.2
done
lj_is "$killed" 2 "the progress process was killed twice mid-stream"
tail -1 "$LJ_TMP/p$pieces/0.events" | grep -q 'end	{"state":"succeeded"'
lj_check $? "the client reconnected and followed the job to its end ($pieces connections)"
from=$(head -1 "$LJ_TMP/p1/0.events" | cut -f1)
for i in $(seq "$pieces"); do cat "$LJ_TMP/p$i/0.events"; done |
	awk -F'\t' -v f="$from" '$1 > f && $2 != "state"' >"$LJ_TMP/seen"
lj_stream "$id" "$LJ_TMP/all" -l "$from"
awk -F'\t' '$2 != "state"' "$LJ_TMP/all/0.events" >"$LJ_TMP/want"
cmp -s "$LJ_TMP/seen" "$LJ_TMP/want"
lj_check $? "the pieces together are every event, none lost, none repeated ($(wc -l <"$LJ_TMP/want"))"
[ "$(wc -l <"$LJ_TMP/want")" -ge 10 ]
lj_check $? "and there were enough of them to mean something"

# ---- The store's write lock held for 3 s by another connection while a job reports.
id=$(lj_submit ticker)
lj_check $? "a job printing a line every 100 ms submitted"
lj_stream "$id" "$LJ_TMP/t" -T & s=$!
lj_running_handler "$id" >/dev/null
lj_hold_write_lock 3 "$LJ_TMP/lock.out" & lock=$!
for _ in $(seq 200); do grep -q locked "$LJ_TMP/lock.out" && break; sleep 0.05; done
grep -qx locked "$LJ_TMP/lock.out"
lj_check $? "another connection holds the write lock"
t0=$(now_ms)
for i in 1 2; do
	curl -s -m 20 -o "$LJ_TMP/sub$i" -w '%{http_code}' -X POST -H 'Accept: application/json' \
		-d '' "$LJ_URL/longjob/submit/twelve" >"$LJ_TMP/sub$i.code" & eval "sub$i=\$!"
done
wait $sub1 $sub2
t1=$(now_ms)
wait $lock
lj_is "$(cat "$LJ_TMP/sub1.code") $(cat "$LJ_TMP/sub2.code")" "202 202" \
	"submissions during the lock were accepted, after waiting ($((t1 - t0)) ms)"
lj_is "$(cat "$LJ_TMP/lock.out")" locked "the lock was held and released without error"
wait $s
lj_check $? "the job's stream ended cleanly"
# The whole history (the live stream may have started after the first line).
lj_stream "$id" "$LJ_TMP/h" -l 0
grep -o '"line [0-9]*"' "$LJ_TMP/h/0.events" | tr -d '"' >"$LJ_TMP/lines"
seq 50 | sed 's/^/line /' >"$LJ_TMP/want-lines"
cmp -s "$LJ_TMP/lines" "$LJ_TMP/want-lines"
lj_check $? "every one of its 50 lines was kept, once, in order ($(wc -l <"$LJ_TMP/lines"))"
first=$(grep -o '"line [0-9]*"' "$LJ_TMP/t/0.events" | head -1 | tr -d '"')
grep -o '"line [0-9]*"' "$LJ_TMP/t/0.events" | tr -d '"' | cmp -s - <(sed -n "/^$first\$/,\$p" "$LJ_TMP/want-lines")
lj_check $? "and the live stream got every one from its first ($first) on"
tail -1 "$LJ_TMP/t/0.events" | grep -q 'end	{"state":"succeeded"'
lj_check $? "and the job succeeded"

# ---- A worker and a keeper die while nobody watches: the command line (as
# the store's owner) starts a worker, which finds the keeper gone.
id=$(lj_submit long)
h=$(lj_running_handler "$id")
lj_check $? "a job nobody watches is running"
k=$(cut -d' ' -f4 "/proc/$h/stat")
w=$(cut -d' ' -f4 "/proc/$k/stat")
kill -9 "$w" "$k"
for _ in $(seq 50); do lj_gone "$w" && break; sleep 0.02; done
shown=
for _ in $(seq 100); do
	shown=$(lj_as "$LJ_BIN/longjob" show "$id" 2>/dev/null | grep '"error"')
	[ -n "$shown" ] && break
	sleep 0.1
done
echo "$shown" | grep -q '"error": "worker lost'
lj_check $? "within 10 s of the kill, longjob show says: failed, worker lost ($shown)"
lj_done
