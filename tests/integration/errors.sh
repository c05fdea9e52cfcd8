#!/bin/bash
# Bad requests get a clear status and message, and nothing is written.
. "$(dirname "$0")/lib.sh"
lj_start
P=$LJ_URL/longjob/progress
R=$LJ_URL/longjob/result
S=$LJ_URL/longjob/submit
unknown=0123456789abcdef0123456789abcdef

lj_is "$(lj_status "$P/$unknown")" 404 "unknown job id: 404"
lj_is "$(lj_status "$P/not-an-id")" 400 "malformed job id: 400"
lj_is "$(lj_status "$P/0123456789ABCDEF0123456789ABCDEF")" 400 "upper-case id: 400"
code=$(lj_status "$P/..%2f..%2fetc%2fpasswd")
case $code in 400|404) lj_check 0 "path traversal id refused ($code)" ;; *) lj_check 1 "path traversal id refused ($code)" ;; esac
lj_is "$(lj_status "$R/$unknown")" 404 "result of unknown job: 404"
lj_is "$(lj_status "$R/nope")" 400 "result with malformed id: 400"

id=$(lj_submit render -d seconds=0 -d width=16 -d height=16)
lj_check $? "a job to ask about"
# (leading spaces are not a case: HTTP strips them from header values)
for bad in abc -1 1.5 99999999999999999999 9223372036854775808 "5 6" 0x10; do
	lj_is "$(lj_status "$P/$id" -H "Last-Event-ID: $bad")" 400 "Last-Event-ID '$bad': 400"
done
lj_is "$(lj_status "$P/$id?lastEventId=x")" 400 "?lastEventId=x: 400"
body=$(curl -s -m 10 -H 'Last-Event-ID: abc' -H 'Accept: application/json' "$P/$id")
echo "$body" | grep -q 'Last-Event-ID'
lj_check $? "the 400 says what was wrong: $body"
code=$(lj_status "$R/$id/..%2Fetc")
# Apache refuses an encoded slash itself (404); the program answers 400.
case $code in 400|404) lj_check 0 "artifact name with ../ refused ($code)" ;;
	*) lj_check 1 "artifact name with ../ refused ($code)" ;; esac
lj_is "$(lj_status "$R/$id/.hidden")" 400 "artifact name starting with a dot: 400"
lj_is "$(lj_status "$R/$id/nothing.png")" 404 "artifact that does not exist: 404"

before=$(ls "$LJ_STATE/spool" | wc -l)
lj_is "$(lj_status "$S/nosuchtype" -d a=1)" 400 "unknown job type: 400"
msg=$(curl -s -m 10 -H 'Accept: application/json' -d a=1 "$S/nosuchtype")
echo "$msg" | grep -q "unknown job type 'nosuchtype'"
lj_check $? "the message names the type: $msg"
lj_is "$(lj_status "$S/render" -d width=abc)" 400 "non-numeric field: 400"
msg=$(curl -s -m 10 -H 'Accept: application/json' -d width=99999 "$S/render")
echo "$msg" | grep -q "width"
lj_check $? "the message names the field: $msg"
lj_is "$(lj_status "$S/import" -d seconds=1)" 400 "missing required upload: 400"
lj_is "$(lj_status "$S/render")" 405 "GET on submit: 405"
lj_is "$(lj_status "$S/render" -H 'Content-Type: multipart/form-data' --data-binary x)" 415 \
	"multipart without boundary: 415"
lj_is "$(lj_status "$S/render" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary $'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx')" 400 \
	"truncated multipart body: 400"
lj_is "$(lj_status "$S/render" -H 'Origin: http://evil.example' -d seconds=0)" 403 "POST from another origin: 403"
html=$(curl -s -m 10 -H 'Accept: text/html' -d width='<script>' "$S/render")
echo "$html" | grep -q '<h1>400 Bad Request</h1>'
lj_check $? "a browser gets an HTML error page"
after=$(ls "$LJ_STATE/spool" | wc -l)
lj_is "$after" "$before" "refused submissions left nothing in the spool"
lj_done
