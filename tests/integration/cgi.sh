#!/bin/bash
# Plain CGI: the same programs behind lighttpd's mod_cgi, with the config
# generated from lighttpd-cgi.conf.example.
LJ_FRONTEND=lighttpd-cgi
. "$(dirname "$0")/lib.sh"
lj_test_handlers
lj_start

id=$(lj_submit render -d seconds=1 -d width=40 -d height=30)
lj_check $? "submitted through CGI ($id)"
lj_stream "$id" "$LJ_TMP/c" -T
lj_check $? "stream ended cleanly"
ev=$LJ_TMP/c/0.events
lj_is "$(head -1 "$ev" | cut -f3)" state "state first"
tail -1 "$ev" | grep -q '"state":"succeeded"'
lj_check $? "end: succeeded"
curl -s -m 20 -o "$LJ_TMP/i.png" "$LJ_URL/longjob/result/$id/image.png"
lj_is "$(od -An -tu1 -j16 -N8 "$LJ_TMP/i.png" | awk '{print $3*256+$4 "x" $7*256+$8}')" 40x30 \
	"the image through CGI"

t0=$(date +%s%N)
id=$(lj_submit slow)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 2000 ]
lj_check $? "the CGI submit answered at once (${ms} ms) while its 3 s job runs on"
lj_stream "$id" "$LJ_TMP/p1" -k 3
last=$(tail -1 "$LJ_TMP/p1/0.events" | cut -f1)
lj_stream "$id" "$LJ_TMP/p2" -l "$last"
lj_check $? "resumed through CGI"
lj_is "$(head -1 "$LJ_TMP/p2/0.events" | awk -F'\t' -v l="$last" '{ print ($1 > l) }')" 1 \
	"the resumed stream continues after $last"
end=$(tail -1 "$LJ_TMP/p2/0.events" | cut -f1)
lj_is "$(lj_status "$LJ_URL/longjob/progress/$id" -H "Last-Event-ID: $end")" 204 "204 after end"
lj_is "$(lj_status "$LJ_URL/longjob/progress/0123456789abcdef0123456789abcdef")" 404 "404 through CGI"
lj_is "$(lj_status "$LJ_URL/longjob/result/$id")" 200 "result through CGI"
lj_done
