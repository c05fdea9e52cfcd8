#!/bin/bash
# Disk full: the database and spool live on a small tmpfs that the test
# fills.  Submit answers 507 with a clear message and writes nothing (no job
# row, no directory, no upload); the running job fails cleanly (its handler
# is stopped, its stream ends with `end`); afterwards PRAGMA integrity_check
# is ok and, once space is freed, the service works again.  Behind lighttpd
# (what is tested is the programs and SQLite, not the front end).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || lj_skip "mounting a small tmpfs needs root"
mount -t tmpfs -o size=16m,mode=0755 tmpfs "$LJ_TMP/var" 2>"$LJ_TMP/mount.err" ||
	lj_skip "cannot mount a tmpfs here: $(cat "$LJ_TMP/mount.err")"
LJ_ON_EXIT='umount -l "$LJ_TMP/var"'
mkdir -p "$LJ_STATE"
lj_test_handlers
lj_add_type writer "{ \"argv\": [\"$LJ_HANDLERS/writer\", \"60\"] }"
lj_start
S=$LJ_URL/longjob/submit
db=$LJ_STATE/longjob.db

jobs_count() { sqlite3 "$db" 'SELECT count(*) FROM jobs'; }
spool_list() { (cd "$LJ_STATE/spool" && ls -A | sort); }
# The live processes working in a directory (a zombie has no cwd).
procs_in() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
}

id=$(lj_submit slow)
lj_wait_state "$id" succeeded 20
lj_check $? "a job runs on the small disk"

run=$(lj_submit writer)
lj_check $? "a job that writes its output steadily submitted"
lj_stream "$run" "$LJ_TMP/w" -T -t 90 & stream=$!
for _ in $(seq 100); do [ -s "$LJ_STATE/spool/$run/out.bin" ] && break; sleep 0.1; done
[ -s "$LJ_STATE/spool/$run/out.bin" ]
lj_check $? "and it is writing"

# Fill the disk to the last page.
dd if=/dev/zero of="$LJ_STATE/filler" bs=1M 2>/dev/null
dd if=/dev/zero of="$LJ_STATE/filler2" bs=4k 2>/dev/null
lj_is "$(df --output=avail "$LJ_TMP/var" | tail -1 | tr -d ' ')" 0 "the disk is full"
before=$(jobs_count)
spool=$(spool_list | grep -vx "$run")

code=$(curl -s -m 30 -o "$LJ_TMP/r1" -w '%{http_code}' -H 'Accept: application/json' \
	-d seconds=1 "$S/slow")
lj_is "$code" 507 "a form submitted on a full disk: 507"
grep -q 'disk is full' "$LJ_TMP/r1"
lj_check $? "with a message that says so: $(cat "$LJ_TMP/r1")"
head -c 300000 /dev/urandom >"$LJ_TMP/up.bin"
code=$(curl -s -m 30 -o "$LJ_TMP/r2" -w '%{http_code}' -H 'Accept: application/json' \
	-F "csv=@$LJ_TMP/up.bin" "$S/import")
lj_is "$code" 507 "an upload on a full disk: 507"
grep -q '"error"' "$LJ_TMP/r2" && grep -qi 'space\|full' "$LJ_TMP/r2"
lj_check $? "with a message: $(cat "$LJ_TMP/r2")"
lj_is "$(jobs_count)" "$before" "no job row was written for them"
lj_is "$(spool_list | grep -vx "$run")" "$spool" "and nothing was left in the spool"

# The running job cannot record anything now; it ends once space is back.
for _ in $(seq 50); do [ -n "$(procs_in "$LJ_STATE/spool/$run")" ] || break; sleep 0.1; done
lj_is "$(procs_in "$LJ_STATE/spool/$run")" "" "the running job's handler was stopped"
rm -f "$LJ_STATE/filler" "$LJ_STATE/filler2"
wait $stream
lj_check $? "its stream ended once space was freed"
end=$(tail -1 "$LJ_TMP/w/0.events" | cut -f3-)
echo "$end" | grep -q '^end	{"state":"failed","error":".*\(disk\|space\)'
lj_check $? "with end: failed, saying why: $end"

lj_is "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok "PRAGMA integrity_check: ok"
id=$(lj_submit slow)
lj_check $? "a job is accepted again"
lj_wait_state "$id" succeeded 20
lj_check $? "and it runs to success"
lj_done
