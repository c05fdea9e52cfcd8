#!/bin/bash
# One client cannot fill the queue for everyone: with max_jobs_per_client,
# a client (the address the web server passes) that has that many jobs
# queued or running gets 429 with Retry-After and a message, while another
# client still gets its job in; once one of the first client's jobs ends,
# it may submit again.  (Queue limits for everyone are queue.sh.)
. "$(dirname "$0")/lib.sh"
lj_write_config
lj_config_set max_jobs_per_client 3
lj_config_set max_running 1
lj_add_type long "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"60\"] }"
lj_start

# post [curl args]: submits a long job; prints the status, the body in $LJ_TMP/post.
post() {
	curl -s -m 20 -o "$LJ_TMP/post" -D "$LJ_TMP/post.head" -w '%{http_code}' -X POST \
		-H 'Accept: application/json' -d '' "$@" "$LJ_URL/longjob/submit/long"
}

codes=
for i in 1 2 3; do codes="$codes $(post)"; done
lj_is "$codes" " 202 202 202" "a client's first three jobs are accepted"
first=$(grep -o '"id":"[0-9a-f]*"' "$LJ_TMP/post" | cut -d'"' -f4)
lj_is "$(post)" 429 "its fourth is refused with 429"
grep -qi '^retry-after:' "$LJ_TMP/post.head"
lj_check $? "with Retry-After"
grep -q 'as many jobs queued or running as one client may' "$LJ_TMP/post"
lj_check $? "and a message: $(head -c 140 "$LJ_TMP/post")"
code=$(curl -s -m 20 -o "$LJ_TMP/page" -w '%{http_code}' -X POST -H 'Accept: text/html' \
	-d '' "$LJ_URL/longjob/submit/long")
lj_is "$code" 429 "a browser's form gets 429 too"
grep -q 'as many jobs queued or running' "$LJ_TMP/page"
lj_check $? "with a page that says why"
[ "$("$top_builddir/longjob" list | grep -c 'long ')" -eq 3 ]
lj_check $? "nothing of the refused ones was recorded"
lj_is "$(post --interface 127.0.0.2)" 202 "another client (127.0.0.2) still gets its job in"
"$top_builddir/longjob" cancel "$first" >/dev/null
lj_check $? "one of the first client's jobs is cancelled"
lj_is "$(post)" 202 "so it may submit again"
lj_done
