#!/bin/bash
# A handler's files are data, never pages of the site: every file is sent
# with nosniff and a CSP sandbox (opened as a document, it runs no script
# and gets an origin of its own), and the types that can carry script
# (HTML, SVG, XML, JavaScript) as attachments, so that a handler passing a
# user's upload through is not an XSS on the host.  Images and text are
# still served inline, with their bytes as the handler wrote them.
. "$(dirname "$0")/lib.sh"
lj_add_type active "{ \"argv\": [\"$LJ_HANDLERS/active\"] }"
lj_start
id=$(lj_submit active)
lj_check $? "a job that makes active and harmless files ($id)"
lj_wait_state "$id" succeeded 30
lj_check $? "it succeeded"

# headers NAME: the response headers of result/<id>/NAME, lower-cased names.
headers() {
	curl -s -m 20 -o "$LJ_TMP/body-$1" -D - "$LJ_URL/longjob/result/$id/$1" |
		tr -d '\r' | sed 's/^\([A-Za-z-]*\):/\L\1:/'
}
for f in page.html pic.svg guessed.svg feed.xml run.js dot.png data.json note.txt; do
	h=$(headers "$f")
	echo "$h" | grep -q '^HTTP/[0-9.]* 200'
	lj_check $? "$f is served"
	echo "$h" | grep -qix 'x-content-type-options: nosniff'
	lj_check $? "$f: nosniff"
	echo "$h" | grep -i '^content-security-policy:' | grep -qi 'sandbox'
	lj_check $? "$f: a CSP sandbox ($(echo "$h" | grep -i '^content-security-policy:'))"
	case $f in
	page.html | pic.svg | guessed.svg | feed.xml | run.js)
		echo "$h" | grep -qi '^content-disposition: attachment'
		lj_check $? "$f, a type that can carry script, is an attachment" ;;
	*)
		echo "$h" | grep -qi '^content-disposition:'
		lj_check $((! $?)) "$f is shown inline (no Content-Disposition)" ;;
	esac
done

[ "$(od -An -tx1 -N8 "$LJ_TMP/body-dot.png" | tr -d " \n")" = 89504e470d0a1a0a ]
lj_check $? "the PNG's bytes are a PNG"
lj_is "$(cat "$LJ_TMP/body-note.txt")" "just text" "the text file's bytes are the handler's"
lj_done
