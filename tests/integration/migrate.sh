#!/bin/bash
# Moving a site from SQLite to PostgreSQL (tools/sqlite-to-postgresql, as
# the README says): the ended jobs, their events (the same ids) and their
# files' names are in the new store; jobs that had not ended are not; new
# events follow the old ones; a store with jobs is not copied into.
. "$(dirname "$0")/lib.sh"
grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h" ||
	lj_skip "this build has no PostgreSQL store (configure found no libpq-dev)"
command -v sqlite3 >/dev/null || lj_skip "sqlite3 is not installed (apt-get install sqlite3)"
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"1\"] }"
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"60\"] }"
sed -i "s|\"worker\": \"[^\"]*\"|\"worker\": \"$top_builddir/longjob-worker\"|" "$LJ_CONFIG"
lj() { "$top_builddir/longjob" "$@"; }
a=$(lj submit ticker | head -1) && b=$(lj submit ticker | head -1)
lj_check $? "two jobs on SQLite"
lj_wait_state "$a" succeeded 30 && lj_wait_state "$b" succeeded 30
lj_check $? "which end"
c=$(lj submit long | head -1)
lj_wait_state "$c" running 30
lj_check $? "a third one still runs"
old_events=$(sqlite3 "$LJ_STATE/longjob.db" "SELECT count(*), max(seq) FROM events WHERE job_id IN ('$a', '$b')")

. "$top_srcdir/tests/pg.sh"
lj_pg_start || lj_die "cannot start PostgreSQL"
LJ_PG_OURS=1
new=$(lj_pg_database moved)
PATH=$LJ_PG_BIN:$PATH LONGJOB=$top_builddir/longjob \
	sh "$top_srcdir/tools/sqlite-to-postgresql" "$LJ_STATE/longjob.db" "$new" >"$LJ_TMP/out" 2>&1
lj_check $? "the tool ran: $(cat "$LJ_TMP/out")"
sed -e "s|\"database\": \"[^\"]*\"|\"database\": \"$new\"|" \
    -e "s|\"spool\": \"[^\"]*\"|\"spool\": \"$LJ_TMP/spool2\"|" "$LJ_CONFIG" >"$LJ_TMP/pg.json"
export LONGJOB_CONFIG=$LJ_TMP/pg.json
LJ_STORE=postgresql LJ_PG_DB=moved
lj_is "$(lj list | awk '{ print $1, $3 }' | sort | tr '\n' ' ')" \
	"$(printf '%s succeeded\n%s succeeded\n' "$a" "$b" | sort | tr '\n' ' ')" \
	"the new store lists the two ended jobs, not the running one"
lj_is "$(lj_sql "SELECT count(*) || '|' || max(seq) FROM events")" "$old_events" \
	"with all their events, under the same ids"
lj show "$a" | grep -q '"result": {'
lj_check $? "and their results"
d=$(lj submit ticker | head -1)
lj_wait_state "$d" succeeded 30
lj_check $? "a new job runs on the new store"
lj_is "$(lj_sql "SELECT min(seq) > ${old_events#*|} FROM events WHERE job_id = '$d'")" t \
	"its events come after the old ones"
PATH=$LJ_PG_BIN:$PATH LONGJOB=$top_builddir/longjob \
	sh "$top_srcdir/tools/sqlite-to-postgresql" "$LJ_STATE/longjob.db" "$new" >"$LJ_TMP/out2" 2>&1
[ $? -ne 0 ] && grep -q 'has jobs already' "$LJ_TMP/out2"
lj_check $? "a second run refuses: the store has jobs"
lj_done
