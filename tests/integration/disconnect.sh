#!/bin/bash
# Clients that go away are noticed and freed: 50 streams that hang up early
# leave the progress process with no connection left; and a quiet stream
# gets keepalive comments.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set heartbeat_s 1
lj_add_type quiet "{ \"argv\": [\"$top_srcdir/tests/handlers/quiet\", \"4\"] }"
lj_start

# The progress process: the one cgi-bin/progress with our config.
progress_pid() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -1 | grep -q "cgi-bin/progress$" || continue
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "LONGJOB_CONFIG=$LJ_CONFIG" &&
			{ echo "${p#/proc/}"; return; }
	done
}
sockets() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:'; }

id=$(lj_submit quiet)
lj_check $? "quiet job submitted"
lj_stream "$id" "$LJ_TMP/q" >"$LJ_TMP/q.summary"
comments=$(sed -n 's/.* comments \([0-9]*\) .*/\1/p' "$LJ_TMP/q.summary")
[ "${comments:-0}" -ge 2 ]
lj_check $? "a stream quiet for 4 s with heartbeat_s 1 got keepalive comments ($comments)"

pid=$(progress_pid)
[ -n "$pid" ]
lj_check $? "the progress process is running ($pid)"
base=$(sockets "$pid")
id=$(lj_submit quiet)
# 50 clients hold streams for 1.5 s while the job is silent (4 s), then hang
# up: nothing is written to them, so only the connections closing can tell.
"$SSECLIENT" -q -n 50 -t 1.5 "$LJ_URL/longjob/progress/$id" >/dev/null &
client=$!
peak=0 now=0
for _ in $(seq 100); do
	now=$(sockets "$pid")
	[ "$now" -gt "$peak" ] && peak=$now
	kill -0 $client 2>/dev/null || break
	sleep 0.05
done
wait $client
# Bounded wait for the process to notice: a few poll ticks at most.
for _ in $(seq 40); do
	now=$(sockets "$pid")
	[ "$now" -le "$base" ] && break
	sleep 0.05
done
echo "# sockets of the progress process: before $base, peak $peak, after $now"
[ "$peak" -ge $((base + 50)) ]
lj_check $? "the 50 streams were open at once (peak $peak sockets)"
[ "$now" -le "$base" ]
lj_check $? "all 50 were freed after their clients left, before the job wrote again"
lj_done
