#!/bin/bash
# Clients that never read cost the host bounded memory and disk.  A job
# whose events weigh 18 MB is replayed to five connections, and a 12 MB
# file of another job asked for by five more, that send their request and
# then read nothing.  Meanwhile another job's stream still gets
# every event to its end and its result answers at once (progress and
# result never wait for a full client: they send a history or a file only
# as fast as the client takes it, and hold at most HTTP_BACKLOG_MAX for
# one), and lighttpd keeps only a little of each in its temporary directory
# (the example configs stream progress and result with
# server.stream-response-body = 2: before, lighttpd took each whole).
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set log_lines 1000
lj_config_set max_running 4
# Under memcheck (20 to 50 times slower) the same, smaller: it looks for
# memory errors there; the sizes that show the bounds are the other runs'.
lines=300 mb=12
[ -n "$LJ_VALGRIND" ] && lines=60 mb=3
lj_add_type heavy "{ \"argv\": [\"$LJ_HANDLERS/heavy\", \"$lines\"] }"
lj_add_type gated "{ \"argv\": [\"$LJ_HANDLERS/gated\", \"$lines\"] }"
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"4\"] }"
lj_add_type bigfile "{ \"argv\": [\"$LJ_HANDLERS/bigfile\", \"$mb\"] }"
spooldir=$LJ_TMP/server-tmp
mkdir -p "$spooldir" && chmod 1777 "$spooldir"
LJ_LIGHTTPD_EXTRA="server.upload-dirs = ( \"$spooldir\" )"
export LJ_LIGHTTPD_EXTRA
lj_start
readers=5

heavy=$(lj_submit heavy)
lj_check $? "a job with $((lines * 60 / 1000)) MB of log events submitted"
lj_wait_state "$heavy" succeeded 120
lj_check $? "it succeeded"
curl -s -m 60 -o "$LJ_TMP/whole" -H 'Last-Event-ID: 0' "$LJ_URL/longjob/progress/$heavy"
size=$(wc -c <"$LJ_TMP/whole")
[ "$size" -gt $((lines * 60000)) ]
lj_check $? "its stream, replayed, is $size bytes"

big=$(lj_submit bigfile)
lj_check $? "a job that makes a $mb MB file submitted"
lj_wait_state "$big" succeeded 60
lj_check $? "it succeeded"

# Five connections ask for its whole stream, five for the file, and none
# of them reads a byte.
host=${LJ_ROOT#http://}
for i in $(seq $readers); do
	exec {fd}<>"/dev/tcp/127.0.0.1/${host##*:}" || lj_die "cannot connect"
	printf 'GET %s/longjob/progress/%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nLast-Event-ID: 0\r\n\r\n' \
		"$LJ_PREFIX" "$heavy" "$host" >&$fd
	exec {fd}<>"/dev/tcp/127.0.0.1/${host##*:}" || lj_die "cannot connect"
	printf 'GET %s/longjob/result/%s/big.txt HTTP/1.1\r\nHost: %s\r\n\r\n' \
		"$LJ_PREFIX" "$big" "$host" >&$fd
done

# Another job, watched by a client that reads: it gets every event to the end.
live=$(lj_submit ticker)
lj_check $? "a job printing a line every 100 ms submitted"
lj_stream "$live" "$LJ_TMP/live" -l 0
lj_is $? 0 "its stream ended cleanly while $readers clients read nothing"
tail -1 "$LJ_TMP/live/0.events" | grep -q 'end	{"state":"succeeded"'
lj_check $? "with end: succeeded"
n=$(grep -c '"line":"line [0-9]*"' "$LJ_TMP/live/0.events")
lj_is "$n" 40 "and every one of its 40 lines"
code=$(curl -s -m 20 -o "$LJ_TMP/live.json" -w '%{http_code}' -H 'Accept: application/json' \
	"$LJ_URL/longjob/result/$live")
lj_is "$code" 200 "and its result answers at once, while $readers clients read no file"

case $LJ_FRONTEND in
lighttpd*)
	kb=$(du -sk "$spooldir" | cut -f1)
	[ "$kb" -lt $((readers * 8192)) ]
	lj_check $? "lighttpd holds $kb KB for the $readers stalled streams and downloads, not $((lines * 60 / 1000)) MB and $mb MB each"
	;;
esac
# all_lines FILE: the stream in FILE has every one of the heavy job's lines,
# once and in order, then end.
all_lines() {
	grep -o '"line":"line [0-9]*' "$1" | cut -d' ' -f2 >"$1-lines"
	seq "$lines" | cmp -s - "$1-lines"
	lj_check $? "every one of the $lines lines once, in order ($(wc -l <"$1-lines"))"
	grep -q '^event: end' "$1"
	lj_check $? "then end"
}

# A client that reads, slowly, gets the whole history, paced by what it takes.
curl -s -m 100 --limit-rate 4M -o "$LJ_TMP/slow" -H 'Last-Event-ID: 0' \
	"$LJ_URL/longjob/progress/$heavy"
lj_is $? 0 "a client reading at 4 MB/s got to the end of the stream"
all_lines "$LJ_TMP/slow"
# A client that reads slowly while a job prints such a burst gets all of it
# live: a stream whose socket is full catches up from the store, as a
# replay does (before, the fan-out wrote on until the backlog was full and
# dropped the stream: bench/run's burst scenario).
burst=$(lj_submit gated)
lj_check $? "a job that prints $((lines * 60 / 1000)) MB of log events when told submitted"
lj_wait_state "$burst" running 30
lj_check $? "it runs"
curl -s -m 100 --limit-rate 4M -o "$LJ_TMP/burst" "$LJ_URL/longjob/progress/$burst" &
reader=$!
for _ in $(seq 200); do
	grep -q '^event: state' "$LJ_TMP/burst" 2>/dev/null && break
	sleep 0.1
done
touch "$LJ_STATE/spool/$burst/go"
wait "$reader"
lj_is $? 0 "a client reading at 4 MB/s got to the end of the stream it watched live"
all_lines "$LJ_TMP/burst"
# And one that downloads the file slowly gets all of it.
curl -s -m 100 --limit-rate 4M -o "$LJ_TMP/big.txt" "$LJ_URL/longjob/result/$big/big.txt"
lj_is $? 0 "a client reading at 4 MB/s downloaded the $mb MB file"
cmp -s "$LJ_TMP/big.txt" "$LJ_STATE/spool/$big/big.txt"
lj_check $? "byte for byte ($(wc -c <"$LJ_TMP/big.txt") bytes)"
lj_done
