#!/bin/bash
# What every answer carries, and the smaller rules of the web-facing
# programs: X-Content-Type-Options: nosniff on every response (of the
# programs and, from the example configs, of the static pages), and
# Content-Security-Policy: frame-ancestors 'self' on every HTML page, so
# that no other site can frame them; HEAD answered like GET without a body
# on result and progress; only the exact query parameter lastEventId read;
# a POST's Origin compared by scheme, host and port, Origin: null and an
# empty Origin refused; and with trust_host false, the Host header no
# longer names an allowed origin (DNS rebinding).
. "$(dirname "$0")/lib.sh"
lj_add_type keep "{ \"argv\": [\"$LJ_HANDLERS/keep\"] }"
lj_add_type slow "{ \"argv\": [\"$LJ_HANDLERS/slow\", \"20\"] }"
lj_start
P=$LJ_URL/longjob/progress
R=$LJ_URL/longjob/result
S=$LJ_URL/longjob/submit
unknown=0123456789abcdef0123456789abcdef

# heads [curl args] URL: the response headers, lower-cased names, no CR.
heads() {
	curl -s -m 20 -o "$LJ_TMP/body" -D - "$@" | tr -d '\r' | sed 's/^\([A-Za-z-]*\):/\L\1:/'
}
# has HEADERS LINE "what": the headers have the line exactly once (case-insensitive).
has() {
	lj_is "$(echo "$1" | grep -cix -- "$2")" 1 "$3"
}
status() { echo "$1" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p'; }
nosniff="x-content-type-options: nosniff"
frame="content-security-policy: frame-ancestors 'self'"

# ---- nosniff everywhere, frame-ancestors on the pages.
h=$(heads -H 'Accept: application/json' -H "Origin: $LJ_ROOT" -d '' "$S/keep")
lj_is "$(status "$h")" 202 "submit for a script: 202"
has "$h" "$nosniff" "submit's 202: nosniff"
id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$LJ_TMP/body")
h=$(heads -H 'Accept: text/html' -H "Origin: $LJ_ROOT" -d '' "$S/keep")
lj_is "$(status "$h")" 303 "submit for a browser: 303"
has "$h" "$nosniff" "submit's 303 page: nosniff"
has "$h" "$frame" "submit's 303 page: frame-ancestors 'self'"
lj_wait_state "$id" succeeded 30
lj_check $? "the job ($id) succeeded"
h=$(heads -H 'Accept: application/json' "$R/$id")
lj_is "$(status "$h")" 200 "result as JSON: 200"
has "$h" "$nosniff" "result as JSON: nosniff"
h=$(heads -H 'Accept: text/html' "$R/$id")
has "$h" "$nosniff" "result page: nosniff"
has "$h" "$frame" "result page: frame-ancestors 'self'"
h=$(heads "$R/$id/made.txt")
has "$h" "$nosniff" "a job's file: nosniff, once"
echo "$h" | grep -i '^content-security-policy:' | grep -qi sandbox
lj_check $? "a job's file keeps its CSP sandbox"
h=$(heads -H 'Accept: text/html' "$R/$unknown")
lj_is "$(status "$h")" 404 "an unknown job's page: 404"
has "$h" "$nosniff" "an error page: nosniff"
has "$h" "$frame" "an error page: frame-ancestors 'self'"
h=$(heads -H 'Accept: application/json' "$P/$unknown")
has "$h" "$nosniff" "a JSON error of progress: nosniff"
h=$(heads "$P/$id")
lj_is "$(status "$h")" 200 "the stream of the ended job: 200"
has "$h" "$nosniff" "an event stream: nosniff"
last=$(sed -n 's/^id: //p' "$LJ_TMP/body" | tail -n 1)
h=$(heads -H "Last-Event-ID: $last" "$P/$id")
lj_is "$(status "$h")" 204 "a stream resumed after its end: 204"
has "$h" "$nosniff" "the 204: nosniff"
for page in job.html index.html; do
	h=$(heads "$LJ_URL/$page")
	lj_is "$(status "$h")" 200 "the static $page: 200"
	has "$h" "$nosniff" "the static $page: nosniff (example config)"
	has "$h" "$frame" "the static $page: frame-ancestors 'self' (example config)"
done
h=$(heads "$LJ_URL/longjob.js")
has "$h" "$nosniff" "the static longjob.js: nosniff (example config)"

# ---- HEAD: the headers of a GET, no body.
# raw METHOD PATH: the whole answer to one HTTP/1.0 request, which the server ends.
raw() {
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
		printf "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAccept: application/json\r\n\r\n" "$1" "$2" "$0" >&3 &&
		cat <&3' "$LJ_PORT" "$1" "$2"
}
# body ANSWER: what comes after the headers.
body() { printf '%s' "$1" | tr -d '\r' | sed '1,/^$/d'; }
for path in "$id" "$id/made.txt"; do
	get=$(raw GET "$LJ_PREFIX/longjob/result/$path")
	head=$(raw HEAD "$LJ_PREFIX/longjob/result/$path")
	lj_is "$(status "$head")" 200 "HEAD result/$path: 200 (GET: $(status "$get"))"
	lj_is "$(printf '%s' "$head" | grep -i '^content-type:')" \
		"$(printf '%s' "$get" | grep -i '^content-type:')" "HEAD result/$path: the GET's Content-Type"
	lj_is "$(body "$head" | wc -c)" 0 "HEAD result/$path: no body (GET: $(body "$get" | wc -c) bytes)"
done
head=$(raw HEAD "$LJ_PREFIX/longjob/result/$id/made.txt")
len=$(printf '%s' "$head" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
# Apache drops the Content-Length of a HEAD answer its program sent no body with.
case $LJ_FRONTEND in lighttpd*)
	lj_is "$len" "$(wc -c <"$LJ_STATE/spool/$id/made.txt" | tr -d ' ')" "HEAD of a file: its Content-Length" ;;
esac
lj_is "$(status "$(raw HEAD "$LJ_PREFIX/longjob/result/$unknown")")" 404 "HEAD of an unknown job: 404"
run=$(lj_submit slow)
lj_check $? "a job that runs for 20 s ($run)"
lj_wait_state "$run" running 30
t0=$(date +%s%N)
head=$(raw HEAD "$LJ_PREFIX/longjob/progress/$run")
ms=$((($(date +%s%N) - t0) / 1000000))
lj_is "$(status "$head")" 200 "HEAD progress of a running job: 200"
printf '%s' "$head" | grep -qi '^content-type: text/event-stream'
lj_check $? "HEAD progress: the stream's Content-Type"
lj_is "$(body "$head" | wc -c)" 0 "HEAD progress: no body"
[ "$ms" -lt 5000 ]
lj_check $? "HEAD progress of a running job ends at once, not with the stream (${ms} ms)"

# ---- Only the exact query parameter lastEventId.
lj_is "$(lj_status "$P/$id?xlastEventId=5")" 200 "?xlastEventId=5 is an unknown parameter: a fresh stream"
lj_is "$(lj_status "$P/$id?a=1&lastEventId=$last")" 204 "?a=1&lastEventId=<end>: read (204)"
lj_is "$(lj_status "$P/$id?lastEventId=x")" 400 "?lastEventId=x: 400"
lj_is "$(lj_status "$P/$id?lastEventId=1&lastEventId=$last")" 400 "lastEventId twice: 400"

# ---- Origin: scheme, host and port.
# post [curl args]: the status of a POST to submit/keep.
post() { lj_status "$S/keep" -H 'Accept: application/json' -d '' "$@"; }
port=$LJ_PORT
lj_is "$(post -H "Origin: $LJ_ROOT")" 202 "Origin $LJ_ROOT (this site): 202"
lj_is "$(post -H "Origin: https://127.0.0.1:$port")" 403 "Origin https://127.0.0.1:$port (another scheme): 403"
lj_is "$(post -H "Origin: foo://127.0.0.1:$port")" 403 "Origin foo://127.0.0.1:$port: 403"
lj_is "$(post -H "Origin: http://127.0.0.1")" 403 "Origin http://127.0.0.1 (port 80, not $port): 403"
lj_is "$(post -H "Origin: $LJ_ROOT/")" 403 "Origin $LJ_ROOT/ (not an origin): 403"
lj_is "$(post -H 'Origin: null')" 403 "Origin: null: 403"
# lighttpd passes no header with an empty value to its programs: there an
# empty Origin is an absent one (which no browser sends, and any other
# client can leave out anyway).
case $LJ_FRONTEND in
lighttpd*) echo "# an empty Origin: not seen behind lighttpd (it drops empty headers)" ;;
*) lj_is "$(post -H 'Origin;')" 403 "an empty Origin: 403" ;;
esac
msg=$(curl -s -m 10 -H 'Accept: application/json' -H "Origin: https://127.0.0.1:$port" -d '' "$S/keep")
echo "$msg" | grep -qF "another site (Origin: https:"
lj_check $? "the refusal says why: $msg"
lj_is "$(post -H 'Host: site.example' -H 'Origin: http://site.example')" 202 \
	"Host site.example, Origin http://site.example: 202"
lj_is "$(post -H 'Host: site.example' -H 'Origin: http://site.example:80')" 202 \
	"Host site.example, Origin http://site.example:80 (the default port): 202"
lj_is "$(post -H "Referer: https://127.0.0.1:$port/form.html")" 403 "no Origin, Referer of another scheme: 403"
lj_is "$(post -H "Referer: $LJ_ROOT/form.html")" 202 "no Origin, Referer of this site: 202"
lj_is "$(post)" 202 "no Origin and no Referer (a script): 202, as before"

# ---- trust_host false: only allowed_origins, whatever Host says.
sed -i -e 's|^  "allowed_origins": \[\],|  "allowed_origins": ["http://site.example"], "trust_host": false,|' "$LJ_CONFIG"
grep -q '"trust_host": false' "$LJ_CONFIG" || lj_die "cannot set trust_host"
lj_restart_server
lj_is "$(post -H 'Host: site.example' -H 'Origin: http://site.example')" 202 \
	"trust_host false: the listed origin: 202"
lj_is "$(post -H 'Host: evil.example' -H 'Origin: http://evil.example')" 403 \
	"trust_host false: a page whose Host and Origin agree but are not listed (DNS rebinding): 403"
lj_is "$(post -H "Origin: $LJ_ROOT")" 403 "trust_host false: this host's address, not listed: 403"
lj_done
