#!/bin/bash
# Both demo jobs from POST to stream to result, through a real lighttpd:
# render (form POST -> 303 to the job page; stream; PNG artifact of the
# requested size) and import (multipart upload; seven steps in order).
. "$(dirname "$0")/lib.sh"
lj_start

# --- render, posted as a browser posts a form: 303 to the job page.
hdrs=$(curl -s -m 20 -D - -o /dev/null -H "Origin: $LJ_ROOT" \
	-d seconds=2 -d width=120 -d height=80 "$LJ_URL/longjob/submit/render")
status=$(echo "$hdrs" | head -1 | tr -d '\r')
case "$status" in *" 303 "*) lj_check 0 "browser POST answers 303" ;;
	*) lj_check 1 "browser POST answers 303 (got: $status)" ;; esac
loc=$(echo "$hdrs" | tr -d '\r' | sed -n 's/^Location: //p')
id=${loc##*id=}
echo "$loc" | grep -Eq "^$LJ_PREFIX/job\\.html\\?id=[0-9a-f]{32}$"
lj_check $? "Location is the job page with a 32-hex id ($loc)"
lj_is "$(lj_status "$LJ_ROOT$loc")" 200 "the job page is served"

lj_stream "$id" "$LJ_TMP/render"
lj_check $? "the render stream ended cleanly"
ev=$LJ_TMP/render/0.events
lj_is "$(head -1 "$ev" | cut -f2)" state "the first event is state"
lj_is "$(tail -1 "$ev" | cut -f2)" end "the last event is end"
tail -1 "$ev" | cut -f3 | grep -q '"state":"succeeded"'
lj_check $? "end says succeeded"
n=$(grep -c "	progress	" "$ev")
[ "$n" -ge 3 ]
lj_check $? "at least 3 progress events arrived ($n)"
ids=$(cut -f1 "$ev" | tr '\n' ' ')
sorted=$(cut -f1 "$ev" | sort -n | uniq | tr '\n' ' ')
lj_is "$ids" "$sorted" "ids strictly increase"
grep -qi '^content-type: text/event-stream' "$LJ_TMP/render/0.status"
lj_check $? "Content-Type text/event-stream"
grep -qi '^cache-control: no-cache' "$LJ_TMP/render/0.status"
lj_check $? "Cache-Control no-cache"
grep -qi '^x-accel-buffering: no' "$LJ_TMP/render/0.status"
lj_check $? "X-Accel-Buffering no"
grep -qi '^content-length' "$LJ_TMP/render/0.status"
lj_check $((! $?)) "no Content-Length"

result=$(curl -s -m 20 -H 'Accept: application/json' "$LJ_URL/longjob/result/$id")
img=$(echo "$result" | sed -n 's/.*"img":"\([^"]*\)".*/\1/p' | sed 's|\\/|/|g')
lj_is "$img" "$LJ_PREFIX/longjob/result/$id/image.png" "result names the image URL"
curl -s -m 20 -o "$LJ_TMP/image.png" -D "$LJ_TMP/image.hdrs" "$LJ_ROOT$img"
grep -qi '^content-type: image/png' "$LJ_TMP/image.hdrs"
lj_check $? "the image is served as image/png"
lj_is "$(od -An -tx1 -N8 "$LJ_TMP/image.png" | tr -d ' \n')" 89504e470d0a1a0a "it is a PNG"
wh=$(od -An -tu1 -j16 -N8 "$LJ_TMP/image.png" | awk '{print $3*256+$4 "x" $7*256+$8}')
lj_is "$wh" 120x80 "the PNG has the requested size"
html=$(curl -s -m 20 -H 'Accept: text/html' "$LJ_URL/longjob/result/$id")
echo "$html" | grep -q "<img src=\"$LJ_PREFIX/longjob/result/$id/image.png\""
lj_check $? "the HTML result page shows the image"
css=$(echo "$html" | sed -n 's|.*<link rel="stylesheet" href="\([^"]*\)">.*|\1|p')
lj_is "$css" "$LJ_PREFIX/style.css" "it is styled by the pages' own style.css, under the prefix"
lj_is "$(lj_status "$LJ_ROOT$css")" 200 "which is served"

# --- without JavaScript the form sends _nojs (from its <noscript>): the
# answer is the result page, which waits for the job.
hdrs=$(curl -s -m 20 -D - -o /dev/null -H "Origin: $LJ_ROOT" \
	-d seconds=0 -d width=16 -d height=16 -d _nojs=1 "$LJ_URL/longjob/submit/render")
loc=$(echo "$hdrs" | tr -d '\r' | sed -n 's/^Location: //p')
echo "$loc" | grep -Eq "^$LJ_PREFIX/longjob/result/[0-9a-f]{32}$"
lj_check $? "a form with _nojs is sent to the result page ($loc)"
curl -s -m 30 -H 'Accept: text/html' "$LJ_ROOT$loc" | grep -q '<img src="'"$loc"'/image.png"'
lj_check $? "which answers, once the job has ended, with the image"

# --- import: a multipart upload, seven steps in order.
id=$(lj_submit import -F "csv=@$top_srcdir/html/employees-sample.csv;type=text/csv" -F seconds=1)
lj_check $? "import submitted ($id)"
lj_stream "$id" "$LJ_TMP/import"
ev=$LJ_TMP/import/0.events
# From id 0: every event of the job, whenever we connected.
lj_stream "$id" "$LJ_TMP/import-all" -l 0
steps=$(grep "	step	" "$LJ_TMP/import-all/0.events" | sed 's/.*"step":"\([a-z_]*\)".*/\1/' | tr '\n' ' ')
lj_is "$steps" "areas departments designations employees schedules drivers car_assignments " \
	"the seven steps arrive in order"
declared=$(head -1 "$ev" | grep -o '"id":"[a-z_]*","label"' | cut -d\" -f4 | tr '\n' ' ')
lj_is "$declared" "areas departments designations employees schedules drivers car_assignments " \
	"the first state lists the declared steps"
tail -1 "$ev" | grep -q '"state":"succeeded"'
lj_check $? "import succeeded"
rows=$(($(grep -c . "$top_srcdir/html/employees-sample.csv") - 1))
tail -1 "$ev" | grep -q "\"employees\":$rows"
lj_check $? "the summary counts all $rows employees"
lj_done
