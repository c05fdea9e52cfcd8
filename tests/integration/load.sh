#!/bin/bash
# Load: a burst of 200 submissions at once never runs more than max_running
# handlers together, and every job completes; a type's own max_running holds
# its jobs back, not the others'; with the queue full, submit
# answers 503 with Retry-After, and the browser that posted the form gets a
# page saying so.  Behind lighttpd (one run: the front ends are tested by
# the web-facing suite; this is about the queue).
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_write_config
lj_config_set max_running 3
lj_add_type stamp "{ \"argv\": [\"$LJ_HANDLERS/stamp\", \"$LJ_TMP/ledger\"] }"
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"30\"] }"
lj_add_type one "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"2\"], \"max_running\": 1 }"
lj_start
S=$LJ_URL/longjob/submit
db=$LJ_STATE/longjob.db
count() { sqlite3 "$db" "SELECT count(*) FROM jobs WHERE $1"; }

# 200 submissions, 20 at a time.
seq 200 | xargs -P 20 -I{} curl -s -m 60 -o /dev/null -w '%{http_code}\n' -X POST \
	-H 'Accept: application/json' -d '' "$S/stamp" >"$LJ_TMP/codes"
lj_is "$(grep -c '^202$' "$LJ_TMP/codes")" 200 "200 submissions in a burst: all accepted"
for _ in $(seq 1200); do
	[ "$(count "state IN ('queued','running')")" -eq 0 ] && break
	sleep 0.1
done
lj_is "$(count "state = 'succeeded'")" 200 "all 200 jobs succeeded"
lj_is "$(grep -c '^+' "$LJ_TMP/ledger")" 200 "each handler ran once"
# The most handlers at once, from their start and end stamps.
most=$(sort -k2,2n "$LJ_TMP/ledger" |
	awk '$1 == "+" { n++; if (n > m) m = n } $1 == "-" { n-- } END { print m }')
[ "$most" -ge 1 ] && [ "$most" -le 3 ]
lj_check $? "never more than max_running (3) handlers at once (at most $most)"

# A type's own max_running: its second job waits, a later job of another type does not.
started() { sqlite3 "$db" "SELECT started FROM jobs WHERE id = '$1'"; }
finished() { sqlite3 "$db" "SELECT finished FROM jobs WHERE id = '$1'"; }
a=$(lj_submit one) && b=$(lj_submit one) && c=$(lj_submit stamp)
lj_check $? "two jobs of a type with max_running 1, then one of another type"
for id in $a $b $c; do lj_wait_state "$id" succeeded 30 || lj_die "job $id did not succeed"; done
awk -v fa="$(finished "$a")" -v sb="$(started "$b")" 'BEGIN { exit !(sb + 0.001 >= fa) }'
lj_check $? "the type's second job started only once its first had finished"
awk -v fc="$(finished "$c")" -v sb="$(started "$b")" 'BEGIN { exit !(fc < sb) }'
lj_check $? "the later job of another type ran meanwhile, ahead of it"

# A full queue: max_queued 4, three long jobs running and four waiting.
lj_config_set max_queued 4
lj_restart_server
for i in $(seq 3); do lj_submit long >/dev/null || lj_die "submit $i of 3 refused"; done
for _ in $(seq 100); do [ "$(count "state = 'running'")" -eq 3 ] && break; sleep 0.1; done
for i in $(seq 4); do lj_submit long >/dev/null || lj_die "submit $i of 4 more refused"; done
lj_is "$(count "state = 'queued'")" 4 "three jobs run and four wait: the queue is full"
curl -s -m 20 -D "$LJ_TMP/h" -o "$LJ_TMP/b" -H 'Accept: application/json' -d '' "$S/long"
lj_is "$(head -1 "$LJ_TMP/h" | cut -d' ' -f2)" 503 "one more: 503"
grep -qi '^Retry-After: [0-9]' "$LJ_TMP/h"
lj_check $? "with Retry-After"
grep -q 'too many jobs are waiting' "$LJ_TMP/b"
lj_check $? "and a message: $(cat "$LJ_TMP/b")"
# What a browser posting the form sees.
curl -s -m 20 -o "$LJ_TMP/page" -w '%{http_code} %{content_type}' -H 'Accept: text/html' \
	-H "Origin: $LJ_ROOT" -d '' "$S/long" >"$LJ_TMP/page.code"
lj_is "$(cat "$LJ_TMP/page.code")" "503 text/html; charset=utf-8" "a browser gets a 503 page"
grep -q '<p>too many jobs are waiting; try again in a moment</p>' "$LJ_TMP/page"
lj_check $? "that says the queue is full and to try again"
lj_is "$(count "state = 'queued'")" 4 "and the refused submissions were not queued"
lj_done
