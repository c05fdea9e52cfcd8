#!/bin/bash
# Retention: ended jobs past retain_s are removed with their events, spool
# files and artifacts, opportunistically (by a worker that has nothing left
# to run) and by `longjob gc`; over 1,000 jobs the database and the spool
# stop growing.  Through lighttpd, once (this is about the store), on
# SQLite; retention-pg.sh runs it on PostgreSQL.
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set max_running 3
lj_config_set retain_s 1
# A handler that says its result and leaves a file, the cheapest real job.
lj_add_type echo "{ \"argv\": [\"/bin/sh\", \"-c\", \"echo x >art.txt; echo file art.txt; echo 'result {}'\"] }"
lj_start
S=$LJ_URL/longjob/submit
count() { lj_sql "SELECT count(*) FROM $1"; }
# Bytes of the database file, checkpointed first (the WAL is bounded by
# SQLite's auto-checkpoint and reused); on PostgreSQL, of the database.
db_bytes() {
	if [ "$LJ_STORE" = postgresql ]; then
		lj_sql 'SELECT pg_database_size(current_database())'
		return
	fi
	lj_sql 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	wc -c <"$LJ_STATE/longjob.db"
}

# One round: 250 jobs through the web server, run to their end.
round() {
	seq 250 | xargs -P 10 -I{} curl -s -m 60 -o /dev/null -w '%{http_code}\n' -X POST \
		-H 'Accept: application/json' -d '' "$S/echo" | grep -c '^202$'
	for _ in $(seq 1200); do
		[ "$(count "jobs WHERE state IN ('queued','running')")" -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

sizes=
for r in 1 2 3 4; do
	lj_is "$(round)" 250 "round $r: 250 jobs accepted and run"
	sizes="$sizes $(db_bytes)"
done
echo "# database after each round of 250 jobs:$sizes bytes"
lj_is "$(count "jobs WHERE state != 'succeeded'")" 0 "every job succeeded"
# Jobs that ended more than retain_s (1 s) ago go when a worker runs out of work.
sleep 1.5
lj_submit echo >/dev/null
# (rows go first, in one transaction; then the directories, one by one)
for _ in $(seq 100); do
	[ "$(count jobs)" -le 1 ] && [ "$(ls "$LJ_STATE/spool" | wc -l)" -le 1 ] && break
	sleep 0.1
done
lj_check $([ "$(count jobs)" -le 1 ]; echo $?) "a worker with nothing left removed the old jobs ($(count jobs) left)"
lj_is "$(count events)" "$(lj_sql 'SELECT count(*) FROM events WHERE job_id IN (SELECT id FROM jobs)')" \
	"with their events"
lj_is "$(count artifacts)" "$(lj_sql 'SELECT count(*) FROM artifacts WHERE job_id IN (SELECT id FROM jobs)')" \
	"and their artifacts"
lj_check $([ "$(ls "$LJ_STATE/spool" | wc -l)" -le 1 ]; echo $?) "and their spool directories ($(ls "$LJ_STATE/spool" | wc -l) left)"
# Rounds 2 to 4 reuse what the earlier ones freed: no growth beyond the first rounds.
set -- $sizes
if [ "$LJ_STORE" = postgresql ]; then
	# Its space comes back with (auto)vacuum, on the server's schedule, not ours.
	echo "# SKIP the database size check on PostgreSQL: autovacuum, not longjob, reuses its space"
else
	[ "$4" -le $(($2 * 5 / 4 + 65536)) ]
	lj_check $? "the database did not grow without bound (round 2: $2, round 4: $4 bytes)"
fi
sleep 1.1
"$top_builddir/longjob" gc >"$LJ_TMP/gc.out"
lj_is "$(count jobs)" 0 "longjob gc (retain_s) removes the rest: $(cat "$LJ_TMP/gc.out")"
lj_done
