#!/bin/bash
# A worker that cannot be started is an error someone sees.  The config
# names a worker the web server's user cannot execute (a plain file) and a
# type whose handler is missing: check-config says so for both, a submission
# answers 503 with a message, the job does not sit queued (it fails with the
# cause), and the cause is in the web server's error log.
. "$(dirname "$0")/lib.sh"
lj_write_config
bad=$LJ_APP/not-a-worker
printf '#!/bin/sh\nexit 0\n' >"$bad"
chmod 644 "$bad"
lj_config_set worker "\"$bad\""
lj_add_type quick "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"1\"] }"
lj_add_type ghost "{ \"argv\": [\"$LJ_APP/no-such-handler\"] }"
lj_start

"$top_builddir/longjob" check-config "$LJ_CONFIG" >"$LJ_TMP/cc.out" 2>"$LJ_TMP/cc.err"
lj_is $? 1 "check-config fails"
grep -q "worker $bad: not executable" "$LJ_TMP/cc.err"
lj_check $? "it names the worker that is not executable: $(head -1 "$LJ_TMP/cc.err")"
grep -q "types.ghost handler $LJ_APP/no-such-handler: No such file or directory" "$LJ_TMP/cc.err"
lj_check $? "and the handler that does not exist: $(grep ghost "$LJ_TMP/cc.err")"
[ ! -s "$LJ_TMP/cc.out" ]
lj_check $? "and does not say ok"

code=$(curl -s -m 20 -o "$LJ_TMP/sub.json" -w '%{http_code}' -X POST \
	-H 'Accept: application/json' -d '' "$LJ_URL/longjob/submit/quick")
lj_is "$code" 503 "a submission answers 503"
grep -q 'cannot start its worker' "$LJ_TMP/sub.json"
lj_check $? "saying why: $(head -c 160 "$LJ_TMP/sub.json")"
code=$(curl -s -m 20 -o "$LJ_TMP/sub.html" -w '%{http_code}' -X POST \
	-H 'Accept: text/html' -d '' "$LJ_URL/longjob/submit/quick")
lj_is "$code" 503 "a browser's submission too"
grep -q 'cannot start its worker' "$LJ_TMP/sub.html"
lj_check $? "with a page that says why"

"$top_builddir/longjob" list >"$LJ_TMP/list"
[ "$(grep -c 'queued' "$LJ_TMP/list")" -eq 0 ]
lj_check $? "no job sits queued"
[ "$(grep -c 'failed' "$LJ_TMP/list")" -eq 2 ]
lj_check $? "both failed: $(head -3 "$LJ_TMP/list" | tr '\n' '|')"
id=$(grep -o '[0-9a-f]\{32\}' "$LJ_TMP/list" | head -1)
"$top_builddir/longjob" show "$id" | sed 's|\\/|/|g' |
	grep -q "\"error\": \"the server could not start its worker: cannot run $bad: Permission denied\""
lj_check $? "the job's error names the cause"

for _ in $(seq 50); do
	grep -qs "cannot start the worker ($bad): cannot run $bad: Permission denied" "$LJ_RUN"/*.log && break
	sleep 0.1
done
grep -qs "cannot start the worker ($bad): cannot run $bad: Permission denied" "$LJ_RUN"/*.log
lj_check $? "and the web server's error log has it: $(grep -hs 'cannot start the worker' "$LJ_RUN"/*.log | head -1)"
lj_done
