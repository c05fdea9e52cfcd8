#!/bin/bash
# longjob-keeper (src/keeper.c; the contract is src/keep.h), driven directly
# the way the worker starts it: a run directory prepared by hand (an empty
# <id>.out, an <id>.ack of 8 zero bytes), the keeper started in the job's
# directory with the job's input on stdin and its log on stderr, and then
# what it leaves checked: what reached .out, what .exit says, what is left
# running, its exit status.  The .ack is advanced here as a worker would
# (8 bytes, the host's byte order, written in place).  No web server.
. "$(dirname "$0")/lib.sh"

KEEPER=$top_builddir/longjob-keeper
[ -x "$KEEPER" ] || lj_die "$KEEPER is missing (run make first)"
RUN=$LJ_TMP/spool/.run
JOBS=$LJ_TMP/spool
H=$LJ_TMP/handlers-keeper
# The keeper's log goes where lj_cleanup prints it when the test fails.
KLOG=$LJ_RUN/keeper.log
LAG_MAX=1048576
mkdir -p "$RUN" "$H"
chmod 700 "$RUN"

# A fresh 32-hex-digit job id.
new_id() {
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# The 8 bytes of a little-endian int64 (the host is one: checked below).
le64() {
	local v=$1 i s=
	for i in 0 1 2 3 4 5 6 7; do
		s="$s$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))"
	done
	printf "$s"
}

# Sets the ack of job $1 to $2, in place: truncating a file the keeper maps would kill it (SIGBUS).
set_ack() {
	le64 "$2" 1<>"$RUN/$1.ack"
}

# What keep_prepare does, by hand: a new id in $id, its files and its directory.
prepare() {
	id=$(new_id)
	: >"$RUN/$id.out"
	le64 0 >"$RUN/$id.ack"
	chmod 600 "$RUN/$id.out" "$RUN/$id.ack"
	mkdir -p "$JOBS/$id"
}

# start HANDLER [ARG...]: a new job whose keeper runs in the background, pid in $kpid.
start() {
	prepare
	launch "$@"
}

# launch HANDLER [ARG...]: starts the keeper of the prepared job $id.
# Its stdin is $JOBS/$id.in if there is one, else /dev/null.
launch() {
	local in=/dev/null
	[ -f "$JOBS/$id.in" ] && in=$JOBS/$id.in
	echo "# --- job $id: $*" >>"$KLOG"
	(cd "$JOBS/$id" && exec "$KEEPER" "$RUN" "$id" "$@" <"$in" >/dev/null 2>>"$KLOG") &
	kpid=$!
	kstart=$(date +%s%3N)
}

# Waits at most $1 tenths of a second for the keeper to end: its status in
# $krc ("running" if it did not end); the milliseconds it ran in $kms.
finish() {
	for _ in $(seq "$1"); do lj_gone "$kpid" && break; sleep 0.1; done
	if lj_gone "$kpid"; then
		wait "$kpid" 2>/dev/null
		krc=$?
	else
		krc=running
	fi
	kms=$(($(date +%s%3N) - kstart))
}

# Waits at most $2 tenths of a second until .out holds a line matching $1.
wait_out() {
	for _ in $(seq "$2"); do grep -q "$1" "$RUN/$id.out" && return 0; sleep 0.1; done
	return 1
}

# Field $1 of the .exit header ("pid 12 code 0 signal 0 err 5 out 80").
exit_field() {
	head -n 1 "$RUN/$id.exit" 2>/dev/null |
		awk -v f="$1" '{ for (i = 1; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}

# The stderr tail in .exit: what follows its header line.
exit_err() {
	tail -c +$(($(head -n 1 "$RUN/$id.exit" | wc -c) + 1)) "$RUN/$id.exit"
}

# The size of the job's .out.
out_size() {
	stat -c %s "$RUN/$id.out"
}

# 0 if every pid in file $1 is gone.
all_gone() {
	local p
	for p in $(cat "$1"); do lj_gone "$p" || return 1; done
	return 0
}

# The live processes working in directory $1.
procs_in() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] || continue
		lj_gone "${p#/proc/}" || echo "${p#/proc/}"
	done
}

# A handler script $H/$1 with the body on stdin.
handler() {
	{ echo '#!/bin/sh'; cat; } >"$H/$1"
	chmod 755 "$H/$1"
}

[ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ] ||
	lj_skip "this host is big-endian; the test writes the ack little-endian"

# ---------------------------------------------------------------- arguments
"$KEEPER" "$RUN" 2>>"$KLOG"
lj_is $? 2 "too few arguments: exit 2"
"$KEEPER" "$RUN" 0123456789ABCDEF0123456789abcdef /bin/true 2>>"$KLOG"
lj_is $? 2 "an id that is not a job id: exit 2"
"$KEEPER" "$RUN" ../0123456789abcdef0123456789abc /bin/true 2>>"$KLOG"
lj_is $? 2 "an id that would name another path: exit 2"
# How to start a worker (revive.h): -w, -c and -s together, -e NAME=VALUE.
"$KEEPER" -w /bin/true "$RUN" "$(new_id)" /bin/true 2>>"$KLOG"
lj_is $? 2 "-w without -c and -s: exit 2"
"$KEEPER" -w /bin/true -c /dev/null -s "$RUN" -e NOEQUALS "$RUN" "$(new_id)" /bin/true 2>>"$KLOG"
lj_is $? 2 "-e without NAME=VALUE: exit 2"
"$KEEPER" -w /bin/true -c /dev/null -s "$RUN" $(printf -- '-e A=1 %.0s' $(seq 9)) \
	"$RUN" "$(new_id)" /bin/true 2>>"$KLOG"
lj_is $? 2 "more than 8 -e: exit 2"
"$KEEPER" -x "$RUN" "$(new_id)" /bin/true 2>>"$KLOG"
lj_is $? 2 "an unknown option: exit 2"
grep -q -- "-w, -c and -s go together; usage: longjob-keeper \[-w WORKER" "$KLOG"
lj_check $? "the log says why, and how to call it"
id=$(new_id)
"$KEEPER" "$RUN" "$id" /bin/true 2>>"$KLOG" </dev/null
lj_is $? 111 "no .out prepared for the job: exit 111"
[ ! -e "$RUN/$id.exit" ]
lj_check $? "and no .exit"

# ---------------------------------------------------------------- a) output and exit 0
handler lines <<'EOF'
echo $$ >pid
i=1
while [ $i -le 300 ]; do echo "line $i of the output"; i=$((i + 1)); done
printf 'the last, with no newline'
EOF
awk 'BEGIN { for (i = 1; i <= 300; i++) print "line " i " of the output"; printf "the last, with no newline" }' >"$LJ_TMP/lines.want"
start "$H/lines"
finish 100
lj_is "$krc" 0 "a handler that prints lines and exits 0: the keeper exits 0"
cmp -s "$RUN/$id.out" "$LJ_TMP/lines.want"
lj_check $? ".out holds exactly its stdout, the last line without a newline too"
lj_is "$(head -n 1 "$RUN/$id.exit")" \
	"pid $(cat "$JOBS/$id/pid") code 0 signal 0 err 0 out $(stat -c %s "$LJ_TMP/lines.want")" \
	".exit: its pid, code 0, no signal, no stderr, the size of .out"
[ ! -e "$RUN/$id.exit.tmp" ]
lj_check $? "no temporary .exit is left"

# ---------------------------------------------------------------- b) exit code and stderr
handler failing <<'EOF'
echo working
printf 'first problem\nsecond problem\n' >&2
exit 3
EOF
start "$H/failing"
finish 100
lj_is "$krc" 0 "a handler that fails: the keeper still exits 0 (the failure is the job's)"
lj_is "$(exit_field code) $(exit_field signal)" "3 0" ".exit says code 3"
lj_is "$(exit_err)" "$(printf 'first problem\nsecond problem')" "and holds its stderr"
lj_is "$(exit_field err)" 29 "all 29 bytes of it"
lj_is "$(cat "$RUN/$id.out")" working "stdout went to .out, not stderr"

handler noisy <<'EOF'
seq 1 3000 >&2
exit 1
EOF
start "$H/noisy"
finish 100
lj_is "$(exit_field code) $(exit_field err)" "1 2048" \
	"a handler printing ~13 KB on stderr: code 1 and 2048 bytes kept"
seq 1 3000 | tail -c 2048 >"$LJ_TMP/noisy.want"
exit_err >"$LJ_TMP/noisy.got"
cmp -s "$LJ_TMP/noisy.got" "$LJ_TMP/noisy.want"
lj_check $? "exactly its last 2048 bytes"

# ---------------------------------------------------------------- c) the lag cap
# A handler that prints 10 MiB, 64 KiB every 50 ms, then "end".  With the
# ack left at 0, the keeper stops its group (SIGSTOP) once .out is more
# than KEEP_LAG_MAX ahead: at once when asked (SIGUSR1, as the worker asks
# when it sees the lag), and on its own look (every 5 s) when nobody asks.
# As the ack advances (as a worker's commits do) it lets it go on.
yes 'abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz 012345678' | head -c 65536 >"$H/chunk"
handler flood <<EOF
echo \$\$ >pid
for i in \$(seq 160); do cat "$H/chunk"; sleep 0.05; done
echo end
EOF
{ for _ in $(seq 160); do cat "$H/chunk"; done; echo end; } >"$LJ_TMP/flood.want"
want_size=$(stat -c %s "$LJ_TMP/flood.want")
# The state letter of process $1 (T: stopped).
pstate() {
	awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null
}
# Waits at most $2 tenths of a second for process $1 to be stopped.
wait_stopped() {
	for _ in $(seq "$2"); do [ "$(pstate "$1")" = T ] && return 0; sleep 0.1; done
	return 1
}
# Advances the ack to what .out holds, as a worker does, until .exit is there.
drain_acks() {
	for _ in $(seq 600); do
		[ -e "$RUN/$id.exit" ] && break
		set_ack "$id" "$(out_size)"
		sleep 0.02
	done
}
# The handler's pid, once it has written it.
handler_pid() {
	for _ in $(seq 20); do [ -s "$JOBS/$id/pid" ] && break; sleep 0.1; done
	cat "$JOBS/$id/pid"
}

start "$H/flood"
hpid=$(handler_pid)
for _ in $(seq 100); do [ "$(out_size)" -gt "$LAG_MAX" ] && break; sleep 0.05; done
kill -USR1 "$kpid"
wait_stopped "$hpid" 20
lj_check $? "asked (SIGUSR1) with .out past KEEP_LAG_MAX and the ack at 0, the keeper stops the handler"
s1=$(out_size)
sleep 0.5
lj_is "$(out_size)" "$s1" "and .out grows no more while it is stopped"
[ "$s1" -lt $((2 * LAG_MAX)) ] && [ ! -e "$RUN/$id.exit" ]
lj_check $? "it was stopped near the cap ($s1 bytes of $want_size); no .exit"
drain_acks
finish 100
lj_is "$krc" 0 "with the ack advanced, the handler goes on, ends, and the keeper exits 0"
cmp -s "$RUN/$id.out" "$LJ_TMP/flood.want"
lj_check $? "and all 10 MiB and its last line arrived in .out, in order"
lj_is "$(exit_field code) $(exit_field out)" "0 $want_size" ".exit says code 0, and the size of .out at the exit"
grep -q "job $id: its output is [0-9]* bytes ahead" "$KLOG" && grep -q "job $id: the worker caught up" "$KLOG"
lj_check $? "the keeper's log says when it held the handler and when it let it go on"

start "$H/flood"
hpid=$(handler_pid)
wait_stopped "$hpid" 80
lj_check $? "not asked, the keeper stops the handler on its own look (within 5 s)"
s1=$(out_size)
sleep 0.5
[ "$(out_size)" = "$s1" ] && [ "$s1" -lt "$want_size" ] && [ ! -e "$RUN/$id.exit" ]
lj_check $? "and .out stays at $s1 bytes, short of the $want_size to come; no .exit"
drain_acks
finish 100
cmp -s "$RUN/$id.out" "$LJ_TMP/flood.want"
lj_check $? "acked, it goes on and ends; all of it in .out, in order (keeper exit $krc)"

# ---------------------------------------------------------------- d) SIGTERM
handler polite <<'EOF'
trap 'echo bye; exit 0' TERM
echo ready
while :; do sleep 1; done
EOF
start "$H/polite"
wait_out '^ready$' 100
lj_check $? "a handler that traps SIGTERM runs"
kill -HUP "$kpid"
kill -INT "$kpid"
kill -PIPE "$kpid"
! lj_gone "$kpid" && [ ! -e "$RUN/$id.exit" ]
lj_check $? "SIGHUP, SIGINT and SIGPIPE do not stop the keeper"
kill -TERM "$kpid"
finish 100
lj_is "$krc" 0 "SIGTERM to the keeper: it exits 0"
lj_is "$(exit_field code) $(exit_field signal)" "0 0" "the handler got SIGTERM and exited 0"
grep -q '^bye$' "$RUN/$id.out"
lj_check $? "what it printed on its way out reached .out"
[ "$kms" -lt 4500 ]
lj_check $? "without waiting for the grace period (${kms} ms)"

start "$LJ_HANDLERS/stubborn"
wait_out '^progress 1' 100
lj_check $? "a handler that ignores SIGTERM runs"
kill -TERM "$kpid"
finish 150
lj_is "$krc" 0 "SIGTERM to the keeper: it exits 0"
lj_is "$(exit_field code) $(exit_field signal)" "-1 9" "the handler was killed with SIGKILL"
[ "$kms" -ge 4500 ] && [ "$kms" -lt 12000 ]
lj_check $? "after the grace period of 5 s (${kms} ms)"
lj_is "$(procs_in "$JOBS/$id")" "" "nothing of it is left"

# ---------------------------------------------------------------- e) what a handler leaves
start "$LJ_HANDLERS/forker"
finish 100
lj_is "$krc" 0 "a handler that leaves two children holding its pipes: the keeper exits 0"
lj_is "$(exit_field code)" 0 ".exit says code 0 (its exit, not its pipes' EOF)"
tail -n 1 "$RUN/$id.out" | grep -q '^result {"children": 2}$'
lj_check $? "its last line, without a newline, reached .out"
[ -s "$JOBS/$id/pids" ] && all_gone "$JOBS/$id/pids"
lj_check $? "both children are gone, the one in its group and the one that called setsid"
[ "$kms" -lt 4500 ]
lj_check $? "they went on SIGTERM, without the grace period (${kms} ms)"

start "$LJ_HANDLERS/clinger"
wait_out '^progress 10' 100
lj_check $? "a handler whose children ignore SIGTERM runs"
kill -TERM "$kpid"
finish 150
lj_is "$krc" 0 "SIGTERM to the keeper: it exits 0"
lj_is "$(exit_field code) $(exit_field signal)" "-1 15" "the handler ended on SIGTERM"
[ -s "$JOBS/$id/pids" ] && all_gone "$JOBS/$id/pids"
lj_check $? "both children are gone, SIGKILLed, the setsid one too"
lj_is "$(procs_in "$JOBS/$id")" "" "nothing of the job is left running"

# ---------------------------------------------------------------- f) kill -9 of the keeper
handler waiter <<'EOF'
echo $$ >pid
echo ready
while :; do sleep 1; done
EOF
start "$H/waiter"
wait_out '^ready$' 100
lj_check $? "a handler that waits runs"
hpid=$(cat "$JOBS/$id/pid")
# (Quietly: bash would report the kill on stderr.)
{ kill -KILL "$kpid"; finish 50; } 2>/dev/null
lj_is "$krc" 137 "the keeper killed with -9"
for _ in $(seq 50); do lj_gone "$hpid" && break; sleep 0.1; done
lj_gone "$hpid"
lj_check $? "its handler died with it (PR_SET_PDEATHSIG)"
[ ! -e "$RUN/$id.exit" ]
lj_check $? "and no .exit was written: the worker fails such a job"

# ---------------------------------------------------------------- g) no such handler
start "$H/nosuch" arg
finish 100
lj_is "$krc" 0 "a handler that does not exist: the keeper exits 0"
lj_is "$(exit_field code) $(exit_field signal)" "127 0" ".exit says code 127"
lj_is "$(exit_err)" "cannot run $H/nosuch: No such file or directory" \
	"with the reason on its stderr"

# ---------------------------------------------------------------- h) stdin, environment, cwd
handler context <<'EOF'
echo "stdin: $(cat)"
echo "FOO=$FOO"
echo "LONGJOB_CONFIG=${LONGJOB_CONFIG:-unset}"
echo "cwd=$(pwd)"
echo "argv0=$0"
echo "args=$#:$1|$2"
EOF
id=
prepare
printf '{"id": "%s", "x": 1}' "$id" >"$JOBS/$id.in"
echo "# --- job $id: context" >>"$KLOG"
(cd "$JOBS/$id" && exec env -i FOO='a b' PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	UBSAN_OPTIONS="$UBSAN_OPTIONS" "$KEEPER" "$RUN" "$id" "$H/context" 'one two' three \
	<"$JOBS/$id.in" >/dev/null 2>>"$KLOG") &
kpid=$!
kstart=$(date +%s%3N)
finish 100
lj_is "$krc" 0 "a handler that prints its context: the keeper exits 0"
lj_is "$(sed -n 1p "$RUN/$id.out")" "stdin: {\"id\": \"$id\", \"x\": 1}" "it read the keeper's stdin"
lj_is "$(sed -n 2,3p "$RUN/$id.out" | tr '\n' ' ')" "FOO=a b LONGJOB_CONFIG=unset " \
	"it got the keeper's environment, and nothing else"
lj_is "$(sed -n 4p "$RUN/$id.out")" "cwd=$JOBS/$id" "it ran in the keeper's directory"
lj_is "$(sed -n 5,6p "$RUN/$id.out" | tr '\n' ' ')" "argv0=$H/context args=2:one two|three " \
	"with its argv as given"

# ---------------------------------------------------------------- i) a full disk
# The run directory on a small tmpfs, filled: the handler's own writes to
# its stdout (.out) fail, as any write of its own would, and it ends on the
# error; the keeper still records its end (.exit has its room reserved).
handler counter <<'EOF'
echo $$ >pid
seq 1 40000
echo end
EOF
mkdir -p "$LJ_TMP/full"
if [ "$(id -u)" != 0 ]; then
	echo "# SKIP a full disk: mounting a small tmpfs needs root"
elif ! mount -t tmpfs -o size=512k,mode=0700 tmpfs "$LJ_TMP/full" 2>"$LJ_TMP/mount.err"; then
	echo "# SKIP a full disk: cannot mount a tmpfs here: $(cat "$LJ_TMP/mount.err")"
else
	LJ_ON_EXIT='umount -l "$LJ_TMP/full"'
	RUN=$LJ_TMP/full/.run
	mkdir -p "$RUN"
	prepare
	# The room keep_prepare takes for .exit (KEEP_EXIT_MAX bytes), so it can be written on a full disk.
	head -c 2176 /dev/zero >"$RUN/$id.exit.tmp"
	head -c 1048576 /dev/zero >"$LJ_TMP/full/filler" 2>/dev/null
	[ "$(df -P "$LJ_TMP/full" | awk 'NR == 2 { print $4 }')" = 0 ]
	lj_check $? "the run directory's disk is full"
	launch "$H/counter"
	finish 100
	lj_is "$krc" 0 "the handler's writes fail; the keeper exits 0"
	[ "$(exit_field code)" != 0 ] && exit_err | grep -q "No space left on device"
	lj_check $? ".exit has its failure and the reason from its stderr: $(exit_err | tail -n 1)"
	size=$(out_size)
	[ "$size" -lt 228895 ] && cmp -s "$RUN/$id.out" <(seq 1 40000 | head -c "$size")
	lj_check $? ".out holds what it could write ($size bytes), in order, nothing else"
	lj_is "$(exit_field out)" "$size" ".exit says that size"
	lj_is "$(procs_in "$JOBS/$id")" "" "nothing of it is left"
	rm -f "$LJ_TMP/full/filler"
fi

lj_done
