#!/bin/bash
# Clients that go away are noticed and their backends freed; a quiet stream
# gets keepalive comments.  How "freed" is seen depends on the setup: the
# connections of the one progress process close (FastCGI that multiplexes),
# a mod_fcgid process drops its connection, a CGI process exits.  How soon
# is measured with the programs' debug lines ("debug": true): no front end
# reports a client leaving, so quiet streams are probed with an empty comment
# every tick, and the failed write frees them.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set heartbeat_s 1
lj_config_set debug true
lj_add_type quiet "{ \"argv\": [\"$LJ_HANDLERS/quiet\", \"10\"] }"
lj_add_type quieter "{ \"argv\": [\"$LJ_HANDLERS/quiet\", \"25\"] }"
lj_start

# Open progress requests: each progress process's sockets but its listening
# one; a CGI process is one request.  The program is any argument, not only
# argv[0]: under memcheck (LJ_VALGRIND) argv[0] is valgrind.
open_streams() {
	local p n=0 s
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -q "cgi-bin/progress$" || continue
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "LONGJOB_CONFIG=$LJ_CONFIG" || continue
		case $LJ_FRONTEND in
		lighttpd-cgi | apache-cgi) n=$((n + 1)) ;;
		*) s=$(ls -l "$p/fd" 2>/dev/null | grep -c 'socket:'); [ "$s" -gt 0 ] && n=$((n + s - 1)) ;;
		esac
	done
	echo $n
}

id=$(lj_submit quiet)
lj_check $? "quiet job submitted"
# Under memcheck the progress process shares two cores with the worker's
# start-up (seconds of valgrind's CPU), which can hold back the first
# keepalives: listen longer there.
quiet_s=4
[ -n "$LJ_VALGRIND" ] && quiet_s=8
lj_stream "$id" "$LJ_TMP/q" -t $quiet_s >"$LJ_TMP/q.summary"
comments=$(sed -n 's/.* comments \([0-9]*\) .*/\1/p' "$LJ_TMP/q.summary")
[ "${comments:-0}" -ge 2 ]
lj_check $? "a stream quiet for $quiet_s s with heartbeat_s 1 got keepalive comments ($comments)"

# Freeing is timed with keepalives 10 s apart, so that only the front end
# reporting the close, or the probe, can free a stream within the bound.
lj_config_set heartbeat_s 10
lj_restart_server

# Many clients on one process; a process each where that is the model (few).
if [ "$LJ_MULTIPLEX" = 1 ]; then n=50 hold=1.5; else n=5 hold=5; fi
base=$(open_streams)
for _ in $(seq 50); do [ "$base" -eq 0 ] && break; sleep 0.1; base=$(open_streams); done
id=$(lj_submit quieter)
started=$(date +%s%3N)
# The clients hold their streams while the job is silent, then hang up.
"$SSECLIENT" -q -n $n -t $hold "$LJ_URL/longjob/progress/$id" >/dev/null &
client=$!
wait $client
left=$(date +%s%3N)
# The most requests open at once, from the programs' own debug lines (a
# /proc scan while the clients hold can be slower than the hold on a busy
# machine): each "kept" adds one, each "N requests freed" takes N away.
peak=$(cat "$LJ_RUN"/*.log |
	sed -n 's/.*progress\[[0-9]*\]: debug: loop_keep: request kept, .* at \([0-9]*\) ms.*/\1 1/p
		s/.*progress\[[0-9]*\]: debug: loop_sweep: \([0-9]*\) requests freed, .* at \([0-9]*\) ms.*/\2 -\1/p' |
	awk -v s="$started" '$1 >= s' | sort -n -k1,1 -k2,2nr |
	awk '{ n += $2; if (n > m) m = n } END { print m + 0 }')
now=0
# Bounded wait: well before the next keepalive (heartbeat_s 10).
for _ in $(seq 60); do
	now=$(open_streams)
	[ "$now" -le "$base" ] && break
	sleep 0.1
done
echo "# open progress requests: before $base, peak $peak, after $now"
[ "$peak" -ge "$n" ]
lj_check $? "the $n streams were open at once (peak $peak)"
[ "$now" -le "$base" ]
lj_check $? "all $n were freed after their clients left, while the job was still silent"
# How soon: the programs' own debug lines say when they freed requests.
freed=$(cat "$LJ_RUN"/*.log | sed -n 's/.*progress\[[0-9]*\]: debug: .* requests freed, .* at \([0-9]*\) ms.*/\1/p' |
	awk -v s="$started" '$1 >= s' | sort -n | tail -1)
echo "# the last of them was freed ${freed:+$((freed - left)) ms after the client had left}"
# Two ticks are 400 ms (measured here: -150..630 ms on a loaded machine).
# The bound leaves room for a CI machine busy with other tests, and is half
# the time a keepalive write would take to find the clients gone.
[ -n "$freed" ] && [ $((freed - left)) -le 5000 ]
lj_check $? "freed long before the next keepalive (two ticks are 400 ms)"
lj_done
