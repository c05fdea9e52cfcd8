#!/bin/bash
# Two hosts, one PostgreSQL store: any host serves any job, and a host's
# death loses nothing.  Host A is this test's lighttpd (FastCGI), host B a
# second lighttpd on another port with its own config, spool and worker;
# both use one database of one PostgreSQL server of the test's own.
#
# Which host's worker may run jobs is decided by a wrapper in front of
# each worker (runs-a, runs-b in the test directory): without its file the
# wrapper exits at once, as a worker that finds nothing to do would.
#   1. submit on A (A cannot run): B runs it; its upload crossed the store;
#      watch on B, result and the rendered image on A and B, cancel on A
#      stops the handler on B;
#   2. kill -9 of A's worker while a job runs on A, watched on B only, so
#      that nothing asks A anything: one of A's keepers starts a worker,
#      which adopts the job; every line once;
#   3. the database away for 10 s mid-job: the stream on B stays open and
#      resumes, nothing lost; a submit while it is down gets 503 + Retry-After;
#   4. A stopped entirely (server, worker, handlers): within the lease its
#      running job fails "host lost" and the one whose type allows a retry
#      runs again on B, and A's queued job runs on B.
# (The out-of-order commit test is test_store's, on a real server too.)
. "$(dirname "$0")/lib.sh"
[ "$LJ_FRONTEND" = lighttpd ] || lj_skip "two hosts are tested behind lighttpd only"
grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h" ||
	lj_skip "this build has no PostgreSQL store (configure found no libpq-dev)"
LJ_STORE=postgresql
lj_write_config
lj_config_set max_running 2
lj_config_set host_lease_s 8
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"6\"] }"
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"120\"] }"
lj_add_type again "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"6\"], \"retries\": 1 }"

sed -i "s|\"worker\": \"[^\"]*\"|\"worker\": \"$(lj_worker_gate a)\"|" "$LJ_CONFIG"
lj_start
A=$LJ_URL

# ---- Host B: the same config but for its spool and worker, its own server.
B_TMP=$LJ_TMP/b
B_CONFIG=$B_TMP/longjob.json
mkdir -p "$B_TMP/run" "$B_TMP/var"
sed -e "s|\"spool\": \"[^\"]*\"|\"spool\": \"$B_TMP/var/spool\"|" \
    -e "s|\"worker\": \"[^\"]*\"|\"worker\": \"$(lj_worker_gate b)\"|" "$LJ_CONFIG" >"$B_CONFIG"
b_port=$(lj_free_port)
(LJ_TMP=$B_TMP LJ_CONFIG=$B_CONFIG LJ_RUN=$B_TMP/run LJ_PORT=$b_port lj_write_lighttpd_conf)
echo 'server.tag = "longjob-host-b"' >>"$B_TMP/lighttpd.conf"
lighttpd -D -f "$B_TMP/lighttpd.conf" >>"$B_TMP/run/lighttpd-stdout.log" 2>&1 & b_pid=$!
(LJ_PID=$b_pid LJ_PORT=$b_port lj_wait_up "Server: longjob-host-b") || lj_die "host B did not start"
B=http://127.0.0.1:$b_port$LJ_PREFIX
b_spool=$B_TMP/var/spool

# on HOST: "A" or "B", the host a job ran on (its spool is in the host's name).
on() {
	case "$(lj_sql "SELECT host FROM jobs WHERE id = '$1'")" in
	*"$b_spool") echo B ;;
	*"$LJ_STATE/spool") echo A ;;
	*) echo none ;;
	esac
}
# stream URL ID DIR [sseclient options]
stream() {
	local url=$1 id=$2 dir=$3
	shift 3
	mkdir -p "$dir"
	"$SSECLIENT" -q -o "$dir" -t 90 "$@" "$url/longjob/progress/$id"
}
# handler_in SPOOL ID: the pid of a process working in the job's directory there.
handler_in() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1/$2" ] && { echo "${p#/proc/}"; return 0; }
	done
	return 1
}
# worker_pid CONFIG: the worker of a host, from `longjob status`.
worker_pid() {
	LONGJOB_CONFIG=$1 "$top_builddir/longjob" status 2>/dev/null | awk '$1 == "pid" { print $2 }'
}
# lines DIR: the numbers of the "line N" events a stream got, in order.
lines() {
	grep -o '"line [0-9]*"' "$1/0.events" | tr -dc '0-9\n'
}

# ---- 1. Submitted on A, run on B.
touch "$LJ_TMP/runs-b"
id=$(LJ_URL=$A lj_submit import -F "csv=@$top_srcdir/html/employees-sample.csv;type=text/csv" \
	-F seconds=1)
lj_check $? "an import with its CSV upload submitted on A ($id)"
stream "$B" "$id" "$LJ_TMP/s1"
lj_check $? "its stream on B ended cleanly"
lj_is "$(on "$id")" B "it ran on B, whose spool never had the upload"
rows=$(($(grep -c . "$top_srcdir/html/employees-sample.csv") - 1))
tail -1 "$LJ_TMP/s1/0.events" | grep -q "\"state\":\"succeeded\".*\"employees\":$rows"
lj_check $? "and succeeded counting all $rows employees of the upload"
lj_is "$(curl -s -m 20 -H 'Accept: application/json' "$A/longjob/result/$id" | grep -o '"employees":[0-9]*')" \
	"\"employees\":$rows" "its result is served on A"

id=$(LJ_URL=$A lj_submit render -d seconds=1 -d width=64 -d height=48)
lj_check $? "a render submitted on A ($id)"
stream "$B" "$id" "$LJ_TMP/s2"
tail -1 "$LJ_TMP/s2/0.events" | grep -q '"state":"succeeded"'
lj_check $? "it succeeded, watched on B"
lj_is "$(on "$id")" B "it ran on B"
for h in A B; do
	url=$A
	[ $h = B ] && url=$B
	curl -s -m 20 -o "$LJ_TMP/img$h.png" -w '%{http_code} %{content_type}' \
		"$url/longjob/result/$id/image.png" >"$LJ_TMP/img$h.code"
	lj_is "$(cat "$LJ_TMP/img$h.code")" "200 image/png" "its image is served on $h"
done
cmp -s "$LJ_TMP/imgA.png" "$LJ_TMP/imgB.png" && [ "$(head -c 4 "$LJ_TMP/imgA.png" | tail -c 3)" = PNG ]
lj_check $? "the same PNG from both, A's fetched from the store"

id=$(LJ_URL=$A lj_submit long)
lj_check $? "a long job submitted on A ($id)"
h=
for _ in $(seq 300); do h=$(handler_in "$b_spool" "$id") && break; sleep 0.1; done
lj_check $? "its handler runs on B (pid $h)"
lj_is "$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -H 'Accept: application/json' \
	-d '' "$A/longjob/submit/$id/cancel")" 200 "cancelled on A"
for _ in $(seq 150); do kill -0 "$h" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$h" 2>/dev/null
lj_check $? "its handler on B is stopped"
stream "$B" "$id" "$LJ_TMP/s3" -l 0
tail -1 "$LJ_TMP/s3/0.events" | grep -q '"state":"cancelled"'
lj_check $? "its stream on B ends with the cancel"

# ---- 2. kill -9 of A's worker while a job runs on A.
rm -f "$LJ_TMP/runs-b"
w=$(worker_pid "$B_CONFIG")
[ -n "$w" ] && kill "$w"
touch "$LJ_TMP/runs-a"
id=$(LJ_URL=$A lj_submit ticker)
lj_check $? "a job printing 60 lines submitted on A ($id)"
stream "$B" "$id" "$LJ_TMP/s4" -l 0 & sb=$!
for _ in $(seq 300); do handler_in "$LJ_STATE/spool" "$id" >/dev/null && break; sleep 0.1; done
w=$(worker_pid "$LJ_CONFIG")
# A's FastCGI programs look for a lost worker every 5 s too: paused, so that
# only A's keepers can notice.
a_procs=$(ps -o pid= --ppid "$LJ_PID" | xargs)
[ -n "$a_procs" ] && kill -STOP $a_procs
[ -n "$w" ] && kill -9 "$w"
lj_check $? "A runs it, and A's worker ($w) is killed with -9 (A's programs $a_procs paused)"
wait $sb
lj_check $? "the stream on B ended cleanly"
kill -CONT $a_procs
lj_is "$(lines "$LJ_TMP/s4" | tr '\n' ' ')" "$(seq 60 | tr '\n' ' ')" \
	"B's stream got every line once, in order"
tail -1 "$LJ_TMP/s4/0.events" | grep -q '"state":"succeeded"'
lj_check $? "the job succeeded, adopted by A's next worker"
grep -q "no worker holds the lease of $LJ_STATE/spool: starting one" "$LJ_STATE/worker.log"
lj_check $? "which one of A's keepers started: nothing asked A anything"
lj_is "$(on "$id")" A "on A"

# ---- 3. The database away for 10 s while a job runs on A, watched on B.
id=$(LJ_URL=$A lj_submit ticker)
lj_check $? "another job submitted on A ($id)"
stream "$B" "$id" "$LJ_TMP/s5" -l 0 & sb=$!
for _ in $(seq 300); do handler_in "$LJ_STATE/spool" "$id" >/dev/null && break; sleep 0.1; done
lj_pg_as "$LJ_PG_BIN/pg_ctl" -D "$LJ_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
lj_check $? "the database is stopped mid-job"
curl -s -m 20 -D "$LJ_TMP/down.head" -o "$LJ_TMP/down.body" -w '%{http_code}' -X POST \
	-H 'Accept: application/json' -d '' "$B/longjob/submit/ticker" >"$LJ_TMP/down.code"
lj_is "$(cat "$LJ_TMP/down.code")" 503 "a submit while it is down: 503 ($(head -c 100 "$LJ_TMP/down.body"))"
grep -qi '^retry-after:' "$LJ_TMP/down.head"
lj_check $? "with Retry-After"
sleep 10
lj_pg_up
lj_check $? "the database is back after 10 s"
wait $sb
lj_check $? "the stream on B stayed open and ended cleanly"
lj_is "$(lines "$LJ_TMP/s5" | tr '\n' ' ')" "$(seq 60 | tr '\n' ' ')" \
	"every line once, in order, across the outage"
tail -1 "$LJ_TMP/s5/0.events" | grep -q '"state":"succeeded"'
lj_check $? "and the job succeeded"

# ---- 4. Host A stops entirely.  A runs two jobs at once; the third waits.
run=$(LJ_URL=$A lj_submit long) && retry=$(LJ_URL=$A lj_submit again) &&
	queued=$(LJ_URL=$A lj_submit ticker)
lj_check $? "three jobs submitted on A"
for _ in $(seq 300); do [ "$(on "$run")$(on "$retry")" = AA ] && break; sleep 0.1; done
lj_is "$(on "$run")$(on "$retry")$(on "$queued")" AAnone \
	"A runs the long job and the one that may run again; the third is queued"
wa=$(worker_pid "$LJ_CONFIG")
LONGJOB_CONFIG=$B_CONFIG "$top_builddir/longjob" status >"$LJ_TMP/status-b"
grep -q "^  $(hostname):$LJ_STATE/spool  pid $wa, " "$LJ_TMP/status-b"
lj_check $? "longjob status on B lists A's worker ($(grep -A3 '^hosts' "$LJ_TMP/status-b" | tr '\n' '|'))"
rm -f "$LJ_TMP/runs-a"
# Its server and the FastCGI programs it started, its worker, and its keepers
# and handlers (their run directory, or their cwd, in A's spool).
gone="$LJ_PID $(ps -o pid= --ppid "$LJ_PID") $(worker_pid "$LJ_CONFIG")"
for p in /proc/[0-9]*; do
	if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$LJ_STATE/spool/" ||
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$LJ_STATE/spool/"*) true ;; *) false ;; esac
	then
		gone="$gone ${p#/proc/}"
	fi
done
kill -9 $gone 2>/dev/null
for _ in $(seq 50); do handler_in "$LJ_STATE/spool" "$run" >/dev/null || break; sleep 0.1; done
! handler_in "$LJ_STATE/spool" "$run" >/dev/null
lj_check $? "host A is gone: its server, programs, worker, keepers and handlers killed"
touch "$LJ_TMP/runs-b"
t0=$SECONDS
stream "$B" "$run" "$LJ_TMP/s6" -l 0
tail -1 "$LJ_TMP/s6/0.events" | grep -q '"state":"failed".*host lost'
lj_check $? "A's running job failed as host lost, watched on B ($((SECONDS - t0)) s; lease 8 s)"
stream "$B" "$retry" "$LJ_TMP/s7" -l 0
tail -1 "$LJ_TMP/s7/0.events" | grep -q '"state":"succeeded"'
lj_check $? "the one whose type allows a retry ran again and succeeded"
lj_is "$(on "$retry")" B "on B"
grep -q 'runs again from the start' "$LJ_TMP/s7/0.events"
lj_check $? "its stream said it runs again"
stream "$B" "$queued" "$LJ_TMP/s8" -l 0
tail -1 "$LJ_TMP/s8/0.events" | grep -q '"state":"succeeded"'
lj_check $? "A's queued job ran on B"
lj_is "$(on "$queued")" B "on B"
LJ_PID=
lj_done
