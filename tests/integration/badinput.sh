#!/bin/bash
# Bad input and hostile handlers, through the web server.  Each malformed or
# oversized submission gets its status and a message, and leaves nothing in
# the spool or the jobs table; ids in any other form, junk and SQL text are
# refused on progress, result and cancel; handlers that print invalid JSON,
# a 10 MB line, binary garbage or nothing at all still end their job with a
# bounded stream; handler text cannot forge an SSE field; the HTML result
# page escapes what it shows; argv runs without a shell; the state stays
# owner-only.  (errors.sh has the basic refusals; this is the rest.)
. "$(dirname "$0")/lib.sh"
h=$LJ_HANDLERS
lj_write_config
# Every handler job below is submitted at once and runs side by side.
lj_config_set max_running 16
sed -i -e 's|^  "allowed_origins": \[\],|  "allowed_origins": ["http://good.example"],|' "$LJ_CONFIG"
grep -q '"http://good.example"' "$LJ_CONFIG" || lj_die "cannot set allowed_origins"
# A type with small limits: a 4 KB form, uploads of 1 KB (doc) and 100 bytes (pic).
small="{ \"argv\": [\"$h/silent\"], \"max_body\": 4096, \"fields\": {"
small="$small \"note\": { \"type\": \"string\", \"max\": 100 },"
small="$small \"doc\": { \"type\": \"file\", \"max_bytes\": 1024 },"
small="$small \"pic\": { \"type\": \"file\", \"max_bytes\": 100 } } }"
lj_add_type small "$small"
lj_add_type keep "{ \"argv\": [\"$h/keep\"], \"fields\": { \"doc\": { \"type\": \"file\", \"required\": true } } }"
lj_add_type wait "{ \"argv\": [\"$h/quiet\", \"30\"] }"
for t in badresult longline garbage silent forge xss; do
	lj_add_type "$t" "{ \"argv\": [\"$h/$t\"] }"
done
lj_add_type failsilent "{ \"argv\": [\"$h/silent\", \"1\"] }"
lj_add_type forgefail "{ \"argv\": [\"$h/forge\", \"fail\"] }"
lj_add_type xssfail "{ \"argv\": [\"$h/xss\", \"fail\"] }"
# Each argument would make a shell create a file (the state directory is
# writable by whoever runs the handlers); run without one they are just text.
mark=$LJ_STATE/shell-ran
lj_add_type noshell "{ \"argv\": [\"/bin/echo\", \"\$(touch $mark-1)\", \";\", \"touch\", \"$mark-2\", \"\`touch $mark-3\`\", \"*\"] }"
lj_start
P=$LJ_URL/longjob/progress
R=$LJ_URL/longjob/result
S=$LJ_URL/longjob/submit
T=$LJ_TMP/t
mkdir -p "$T"

# The jobs in the store (as the user the programs run as: never leave it a root-owned WAL file).
jobs_count() {
	lj_as "$LJ_APP/longjob" list 1000000 | grep -c '^[0-9a-f]\{32\}  '
}
# Files and directories in the spool (but for the quota's record, spool.c).
spool_count() {
	find "$LJ_STATE/spool" ! -name .usage | wc -l
}
# answer WANT "what" URL CURL-ARGS...: the request gets status WANT and a JSON
# message (that contains $SAYS if set).
answer() {
	local want=$1 what=$2 url=$3 code
	shift 3
	code=$(curl -s -m 30 -o "$T/answer" -w '%{http_code}' -H 'Accept: application/json' "$@" "$url")
	[ "$code" = "$want" ] && grep -q '^{"status":'"$want"',"error":"[^"]' "$T/answer" &&
		grep -qF -- "${SAYS:-}" "$T/answer"
	lj_check $? "$what: $code $(head -c 160 "$T/answer")"
}
# answer_any "CODES" "what" URL CURL-ARGS...: one of CODES, from the server or the program.
answer_any() {
	local want=$1 what=$2 url=$3 code
	shift 3
	code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' "$@" "$url")
	case " $want " in *" $code "*) lj_check 0 "$what: $code" ;;
		*) lj_check 1 "$what: $code (want one of $want)" ;; esac
}
# html_safe FILE: only the page's own tags, and no raw "'& of the handler's.
html_safe() {
	! grep -qi '<script\|<b>\|"'"'"'&' "$1" &&
		[ -z "$(grep -o '<[^>]*>' "$1" | sed 's|^</\{0,1\}\([!a-zA-Z0-9]*\).*|\1|' |
			grep -vxiE '!doctype|html|head|body|main|meta|link|title|h1|p|a|code|strong|figure|img|table|tr|th|td|details|summary|pre')" ]
}
CRLF=$'\r\n'

jobs_before=$(jobs_count)
spool_before=$(spool_count)

# ---- Malformed multipart, sizes over their limits, missing and invalid fields.
answer 415 "multipart without a boundary" "$S/render" \
	-H 'Content-Type: multipart/form-data' --data-binary "--x${CRLF}${CRLF}--x--${CRLF}"
answer 415 "multipart with an empty boundary" "$S/render" \
	-H 'Content-Type: multipart/form-data; boundary=' --data-binary "--${CRLF}${CRLF}----${CRLF}"
printf -- '--BB\r\nContent-Disposition: form-data; name="seconds"\r\n\r\n1\r\n--BB--\r\n' >"$T/good"
answer 400 "multipart with the wrong boundary" "$S/render" \
	-H 'Content-Type: multipart/form-data; boundary=CC' --data-binary @"$T/good"
head -c 60 "$T/good" >"$T/cut"
answer 400 "multipart truncated inside a part" "$S/render" \
	-H 'Content-Type: multipart/form-data; boundary=BB' --data-binary @"$T/cut"
printf -- '--BB\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n\r\nsome text' >"$T/cut"
answer 400 "multipart truncated inside an upload" "$S/small" \
	-H 'Content-Type: multipart/form-data; boundary=BB' --data-binary @"$T/cut"
{ printf -- '--BB\r\nContent-Disposition: form-data; name="seconds"; x="'
  head -c 102400 /dev/zero | tr '\0' x
  printf '"\r\n\r\n1\r\n--BB--\r\n'; } >"$T/bighead"
answer 413 "a part header of 100 KB" "$S/render" \
	-H 'Content-Type: multipart/form-data; boundary=BB' --data-binary @"$T/bighead"
awk 'BEGIN { for (i = 0; i < 10000; i++)
	printf "--BB\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%d\r\n", i, i
	printf "--BB--\r\n" }' >"$T/many"
answer 413 "10,000 multipart fields" "$S/render" \
	-H 'Content-Type: multipart/form-data; boundary=BB' --data-binary @"$T/many"
seq -f 'f%g=1' 10000 | paste -sd '&' >"$T/many"
answer 413 "10,000 urlencoded fields" "$S/render" --data-binary @"$T/many"
head -c 8000 /dev/zero | tr '\0' x | sed 's/^/note=/' >"$T/big"
answer 413 "a body over the type's max_body (4096)" "$S/small" --data-binary @"$T/big"
# Without a Content-Length the limit is found while reading (lighttpd and
# mod_fcgid set one themselves after reading the body; CGI under Apache streams it).
answer 413 "a chunked body over max_body" "$S/small" \
	-H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
head -c 2000 /dev/zero | tr '\0' x >"$T/doc"
# The parser stops an upload at the largest max_bytes of the type (doc);
# one over a smaller limit (pic) is found when the fields are checked.
answer 413 "an upload over its field's max_bytes (1024)" "$S/small" -F "doc=@$T/doc"
head -c 500 "$T/doc" >"$T/pic"
answer 413 "an upload over a smaller field's max_bytes (100)" "$S/small" -F "pic=@$T/pic"
answer 400 "a text value for a file field" "$S/small" -d doc=text
answer 400 "an upload for a text field" "$S/small" -F "note=@$T/pic;filename=n.txt"
answer 400 "a string over its max length" "$S/small" --data-binary @<(head -c 200 "$T/big")
answer 400 "a field with a NUL byte" "$S/small" --data-binary 'note=a%00b'
answer 400 "a bad %-escape" "$S/small" --data-binary 'note=%zz'
answer 400 "a missing required upload" "$S/keep" -d note=x
SAYS="was sent more than once" answer 400 "a text field sent twice" "$S/small" -d note=a -d note=b
SAYS="was sent more than once" answer 400 "a second upload for a one-file field" "$S/small" \
	-F "doc=@$T/pic" -F "doc=@$T/pic"
SAYS="whole number" answer 400 "a number written '+5'" "$S/render" -d seconds=+5
SAYS="whole number" answer 400 "a number written '05'" "$S/render" -d seconds=05
SAYS="not valid UTF-8" answer 400 "a text field that is not UTF-8" "$S/small" --data-binary 'note=a%FFb'
answer 400 "an unknown job type" "$S/nosuchtype" -d a=1
answer 400 "no job type at all" "$S/" -d a=1
# The type name is shown back, escaped, in a browser's error page
# (mod_proxy_fcgi passes the path still %-encoded: see http_path_info).
curl -s -m 10 -o "$T/page" -w '%{http_code}' -H 'Accept: text/html' -d a=1 \
	"$S/%3Cscript%3Ealert(1)%3Cb%3E%22'&" >"$T/code"
[ "$(cat "$T/code")" = 400 ] && html_safe "$T/page" &&
	grep -q "unknown job type &#39;\(&lt;script&gt;alert(1)&lt;b&gt;&quot;\|%3Cscript%3Ealert(1)%3Cb%3E%22\)&#39;&amp;&#39;" "$T/page"
lj_check $? "an unknown type named with markup: 400, shown escaped: $(grep '<p>' "$T/page")"

# ---- Cross-site posts.
answer 403 "a POST with the Referer of another site" "$S/silent" -H 'Referer: http://evil.example/form.html' -d a=1
answer 403 "a POST with Origin: null (a sandboxed page)" "$S/silent" -H 'Origin: null' -d a=1
answer 403 "a POST from this host on another port" "$S/silent" -H "Origin: http://127.0.0.1:1" -d a=1
answer 403 "a POST from a site that only starts like an allowed one" "$S/silent" \
	-H 'Origin: http://good.example.evil.example' -d a=1

lj_is "$(jobs_count)" "$jobs_before" "the refused submissions wrote no job"
lj_is "$(spool_count)" "$spool_before" "and left nothing in the spool"

# ---- The handler jobs, all at once.  Allowed origins (this host, the allow-list) are accepted.
ids=
submit() {
	local name=$1 id
	shift
	id=$(lj_submit "$@") || { lj_check 1 "submit $name"; return; }
	eval "id_$name=$id"
	ids="$ids $id"
}
submit silent silent -H "Origin: $LJ_ROOT" -d ''
submit failsilent failsilent -H 'Origin: http://good.example' -d ''
for t in badresult longline garbage forge forgefail xss xssfail noshell; do submit "$t" "$t"; done
head -c 204800 /dev/urandom >"$T/upload"
# 200 KB: more than mod_fcgid takes by default (FcgidMaxRequestLen, 128 KB).
submit keep keep -F "doc=@$T/upload;filename=../../etc/passwd"
submit wait wait
lj_is "$(echo $ids | wc -w)" 12 "twelve jobs accepted, from this host and an allowed origin"
bad=$(echo $ids | tr ' ' '\n' | grep -vxc '[0-9a-f]\{32\}')
lj_is "$bad" 0 "every id is 32 lowercase hex digits (128 bits)"
lj_is "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" 12 "and they are all different"

# ---- Ids in any other form, junk, SQL text, path traversal; Last-Event-ID.
# (cancel is POST <submit>/<id>/cancel; a refused cancel must not touch the job)
id=$id_wait
upper=$(echo "$id" | tr a-f A-F)
dashed=$(echo "$id" | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)/\1-\2-\3-\4-/')
junk=$(head -c 3000 /dev/urandom | base64 -w0 | tr '+/' '-_' | head -c 4096)
sql="%27%20OR%201%3D1%20--"
for form in "upper-case:$upper" "with dashes:$dashed" "31 digits:${id:0:31}" "33 digits:${id}0" \
	"4 KB of junk:$junk" "SQL text:$sql" "path traversal:..%5C..%5Cspool"; do
	what=${form%%:*} bad=${form#*:}
	SAYS="malformed job id" answer 400 "progress, id $what" "$P/$bad"
	SAYS="malformed job id" answer 400 "result, id $what" "$R/$bad"
	SAYS="malformed job id" answer 400 "cancel, id $what" "$S/$bad/cancel" -d ''
done
# With encoded slashes the server answers by itself: lighttpd decodes them
# and the path leaves the program's URL (its own 404), Apache refuses them
# (AllowEncodedSlashes Off: 404).
for u in "$P/..%2F..%2Fspool" "$R/..%2F..%2Fspool" "$S/..%2F..%2Fspool/cancel"; do
	answer_any 404 "${u#"$LJ_URL"/longjob/}: the server's own 404" "$u" -X POST -d ''
done
# 12 KB is past what the servers take in a request line: lighttpd answers
# 431 (server.max-request-field-size, 8 KB of request line and headers),
# Apache 414 (LimitRequestLine, 8190), before any program sees it.  A 10 KB
# header: lighttpd 431 again, Apache 400 (LimitRequestFieldSize, 8190).
case $LJ_FRONTEND in lighttpd*) long_line=431 long_header=431 ;; *) long_line=414 long_header=400 ;; esac
junk=$junk$junk$junk
answer_any "$long_line" "progress, an id of 12 KB of junk" "$P/$junk"
answer_any "$long_line" "result, an id of 12 KB of junk" "$R/$junk"
answer_any "$long_line" "cancel, an id of 12 KB of junk" "$S/$junk/cancel" -d ''
lj_wait_state "$id" running 10
lj_check $? "after all that the job still runs"
for bad in -5 99999999999999999999999 abc; do
	SAYS=Last-Event-ID answer 400 "?lastEventId=$bad" "$P/$id?lastEventId=$bad"
done
SAYS=Last-Event-ID answer 400 "a Last-Event-ID of 4 KB of digits" "$P/$id" -H "Last-Event-ID: $(head -c 4096 /dev/zero | tr '\0' 7)"
answer_any "$long_header" "a Last-Event-ID of 10 KB" "$P/$id" -H "Last-Event-ID: $(head -c 10240 /dev/zero | tr '\0' 7)"

# ---- Every handler job: its stream, with all its events, and its result.
# (each kind of line a stream may carry; a CR would end a line for EventSource)
sse_line='^(retry: [0-9]+|id: [0-9]+|event: (state|progress|step|log|end)|data: \{.*\}|: .*|)$'
# stream NAME: follows the job to its end; checks what every job's stream must be.
stream() {
	local name=$1 id out
	id=$(eval echo "\$id_$name")
	out=$T/$name
	LJ_STREAM_TIMEOUT=30 lj_stream "$id" "$out" -l 0
	curl -s -N -m 30 -H 'Last-Event-ID: 0' -o "$out/raw" "$P/$id"
	tail -1 "$out/0.events" | grep -q '	end	{"state":"' &&
		[ "$(cut -f2 "$out/0.events" | grep -cx end)" = 1 ]
	lj_check $? "$name: the stream ends with end, and has one ($(wc -l <"$out/0.events") events)"
	[ "$(tr -dc '\r' <"$out/raw" | wc -c)" = 0 ] && ! grep -avEq "$sse_line" "$out/raw" &&
		[ "$(grep -c '^event: ' "$out/raw")" = "$(wc -l <"$out/0.events")" ]
	lj_check $? "$name: every raw line is one SSE field of ours, no CR, one event per event: line"
	curl -s -m 30 -o "$out/result" -w '%{http_code}' -H 'Accept: application/json' "$R/$id" >"$out/code"
	[ "$(cat "$out/code")" = 200 ] && grep -q '"state":"\(succeeded\|failed\)"' "$out/result"
	lj_check $? "$name: result answers $(cat "$out/code") $(head -c 60 "$out/result")"
}
# The data of the end event.
end_of() {
	tail -1 "$T/$1/0.events" | cut -f3
}
for name in silent failsilent badresult longline garbage forge forgefail xss xssfail noshell keep; do
	stream "$name"
done

lj_is "$(end_of silent)" '{"state":"succeeded","result":{}}' "a handler that prints nothing and exits 0: succeeded, empty result"
lj_is "$(end_of failsilent)" '{"state":"failed","error":"exited with status 1"}' \
	"one that prints nothing and exits 1: failed, saying so"

# An invalid result line does not fail the job: exit 0 means succeeded, and
# the handler's mistake shows as a log line (the protocol, README).
lj_is "$(end_of badresult)" '{"state":"succeeded","result":{}}' "invalid JSON as the result: succeeded, empty result"
grep -q '	log	{"line":"handler: result: not a JSON object (invalid JSON)"}' "$T/badresult/0.events" &&
	grep -q '	log	{"line":"handler: result: not a JSON object"}' "$T/badresult/0.events"
lj_check $? "each bad result line is a log line that says what was wrong"

lj_is "$(end_of longline)" '{"state":"succeeded","result":{}}' "a 10 MB line without newline: succeeded"
grep -q '	log	{"line":"x* \[line cut at 65536 bytes\]"}$' "$T/longline/0.events" &&
	[ "$(wc -L <"$T/longline/raw")" -lt 66000 ] && [ "$(wc -l <"$T/longline/0.events")" -le 4 ]
lj_check $? "it became one log line cut at 64 KB (longest SSE line $(wc -L <"$T/longline/raw") bytes)"

lj_is "$(end_of garbage)" '{"state":"succeeded","result":{}}' "1 MB of binary garbage: succeeded"
n=$(grep -c '	log	' "$T/garbage/0.events")
[ "$n" -le 1001 ] && [ "$(wc -L <"$T/garbage/raw")" -lt 66000 ] &&
	grep -q '	log	{"line":"([0-9]* more lines of output not shown)"}$' "$T/garbage/0.events"
lj_check $? "its thousands of lines became $n log events (log_lines 1000, then a note)"
# What the garbage became is valid UTF-8 (iconv fails on anything else).
iconv -f UTF-8 -t UTF-8 "$T/garbage/raw" >/dev/null
lj_check $? "and the stream is valid UTF-8"

# Nothing a handler prints becomes an SSE field: a CR became '?', the
# lines that look like fields are log lines, newlines in JSON are \n.
ev=$T/forge/0.events
! cut -f1 "$ev" | grep -q 999999 && [ "$(cut -f2 "$ev" | sort -u | tr '\n' ' ')" = "end log progress state step " ]
lj_check $? "the forging handler got no id and no event kind of its own: $(cut -f2 "$ev" | tr '\n' ' ')"
grep -q '	progress	{"progress":50.0,"message":"hi?event: end?data: {}"' "$ev"
lj_check $? "a progress message with CRs stayed one message"
grep -q '	log	{"line":"look?event: end?data: {\\"state\\":\\"failed\\"}?id: 999999"}$' "$ev"
lj_check $? "so did a log line"
grep -q '	step	{"step":"evil","label":"id: 999999?event: end?data: {}"' "$ev"
lj_check $? "and a step label"
grep -q '	log	{"line":"?event: end"}$' "$ev" && grep -q '	log	{"line":"id: 999999"}$' "$ev" &&
	grep -q '	log	{"line":"data: {\\"state\\":\\"failed\\"}"}$' "$ev"
lj_check $? "lines that are SSE fields themselves are log lines"
lj_is "$(end_of forge)" '{"state":"succeeded","result":{"note":"a\nevent: end\rdata: {}\r\nid: 999999"}}' \
	"newlines and CRs in the result stay escaped in its JSON"
lj_is "$(end_of forgefail)" '{"state":"failed","error":"it broke\nevent: end?data: {}?\nid: 999999"}' \
	"and in the error of a failed job (stderr)"

# The HTML result page (Accept: text/html) escapes everything it shows.
curl -s -m 30 -H 'Accept: text/html' -o "$T/xss.html" "$R/$id_xss"
html_safe "$T/xss.html" &&
	grep -q '<img src="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" alt="the result">' "$T/xss.html" &&
	grep -q '<tr><th>&lt;b&gt;k&lt;/b&gt;</th><td>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&#39;&amp;</td></tr>' "$T/xss.html" &&
	grep -q '&quot;text&quot;:&quot;&lt;script&gt;alert(1)&lt;\\/script&gt; \\&quot;&#39;&amp;&quot;' "$T/xss.html"
lj_check $? "the result page escapes the image URL, the summary table and the JSON"
curl -s -m 30 -H 'Accept: text/html' -o "$T/xssfail.html" "$R/$id_xssfail"
html_safe "$T/xssfail.html" &&
	grep -q '^<pre class="error-text">&lt;script&gt;alert(1)&lt;/script&gt; &quot;&#39;&amp; failed</pre>$' "$T/xssfail.html"
lj_check $? "and the error of a failed job"

# argv runs with execve: what a shell would have run is an echo's text
# (JSON-encoded: json-c writes / as \/).
literal="\$(touch $mark-1) ; touch $mark-2 \`touch $mark-3\` *"
lj_is "$(cut -f2,3 "$T/noshell/0.events" | grep '^log' | cut -f2)" \
	"{\"line\":\"$(echo "$literal" | sed 's|/|\\/|g')\"}" "shell syntax in argv is passed as it is"
! compgen -G "$mark-*" >/dev/null
lj_check $? "and no shell ran it: no file was made"

# Owner-only: the database, the spool, each job's directory, upload and artifact.
lj_is "$(curl -s -m 10 "$R/$id_keep/made.txt")" "made by the handler" "the artifact is served"
keepdir=$LJ_STATE/spool/$id_keep
[ "$(stat -c %s "$keepdir/upload-1")" = 204800 ] && [ -z "$(find "$LJ_TMP" -name passwd)" ]
lj_check $? "the 200 KB upload is stored as upload-1, its name '../../etc/passwd' went nowhere"
# (On PostgreSQL the database is not a file in the state directory.)
db=$LJ_STATE/longjob.db
[ "$LJ_STORE" = postgresql ] && db=
ls -l $db "$LJ_STATE/spool" "$keepdir" "$keepdir/upload-1" "$keepdir/made.txt" >/dev/null
lj_check $? "the ${db:+database, the }spool, a job directory, an upload and an artifact exist"
loose=$(find "$LJ_STATE" -mindepth 1 \( -type d ! -perm 700 -o ! -type d ! -perm 600 \) -printf '%m %P\n')
lj_is "$loose" "" "everything below the state directory is owner-only (0700 directories, 0600 files)"

lj_is "$(curl -s -m 20 -o /dev/null -w '%{http_code}' -d '' "$S/$id_wait/cancel")" 303 \
	"the job survived its malformed cancels; its real id cancels it"
lj_done
