#!/bin/bash
# kit.sh: the handlers of README.md's "Writing a job handler" (shell, Python,
# PHP), taken from the README as they are, and jobs/hello (the C template,
# built with the kit jobs/handler.h), each run as a real job type behind
# lighttpd: the events on the stream (progress, steps, the log line, end
# with the result of the submitted name) and the file they name, served by
# result/<id>/greeting.txt.  And the kit's guards, directly and through the
# stream: a log line that starts like a protocol line ("progress 42 ...")
# or holds a line break stays one log line; stdin over 16 MiB is refused.
#
# A handler whose interpreter is not Debian's (/usr/bin/python3,
# /usr/bin/php) is skipped, saying so; the others still run.
. "$(dirname "$0")/lib.sh"

# lib.sh stages every built demo handler (and, under LJ_VALGRIND=1, wraps it).
hello=$LJ_BIN/jobs/hello
[ -x "$hello" ] || lj_die "$hello is not built (run make first)"

# extract NAME FENCE OUT: the block fenced FENCE right after the README's
# <!-- example: NAME --> marker, as it is; fails if there is none.
extract() {
	awk -v marker="<!-- example: $1 -->" -v fence="\`\`\`$2" '
		$0 == marker { armed = 1; next }
		armed && !inside { if ($0 == fence) inside = 1; else if ($0 != "") armed = 0; next }
		inside && $0 == "```" { found = 1; exit }
		inside { print }
		END { exit !found }
	' "$top_srcdir/README.md" >"$3" && [ -s "$3" ]
}

# runs JSON: hello run by hand in a fresh directory; stdout in $LJ_TMP/direct.out.
direct() {
	rm -rf "$LJ_TMP/direct" && mkdir -p "$LJ_TMP/direct" &&
		(cd "$LJ_TMP/direct" && printf '%s' "$1" | "$hello" >../direct.out 2>../direct.err)
}

# --- the kit, by hand (no server): what hello prints.
direct '{"fields": {"name": "progress 42", "seconds": 0}}'
lj_is $? 0 "hello run by hand exits 0"
grep -qxF ' progress 42 asked for a greeting' "$LJ_TMP/direct.out"
lj_check $? "a log line starting with 'progress ' is printed with a leading space"
grep -q '^progress 42\b' "$LJ_TMP/direct.out"
lj_check $((! $?)) "and never as a progress line"
direct '{"fields": {"name": "Ann\nstep evil\r\nresult {}", "seconds": 0}}'
grep -qxF 'Ann step evil  result {} asked for a greeting' "$LJ_TMP/direct.out"
lj_check $? "line breaks in a log line become spaces"
grep -q '^step evil\|^result {}$' "$LJ_TMP/direct.out"
lj_check $((! $?)) "so the name cannot forge a step or a result"
lj_is "$(grep -c '' "$LJ_TMP/direct.out")" 11 "hello prints 11 lines, whatever the name"
direct '{"fields": {"seconds": 61}}'
lj_is $? 2 "a field out of its bounds: exit 2"
grep -q 'field seconds: 61 is out of range (0 to 60)' "$LJ_TMP/direct.err"
lj_check $? "  ... saying so on stderr: $(cat "$LJ_TMP/direct.err")"
rm -rf "$LJ_TMP/direct" && mkdir -p "$LJ_TMP/direct"
(cd "$LJ_TMP/direct" && head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' |
	"$hello" >../direct.out 2>../direct.err)
lj_is $? 2 "stdin over 16 MiB: exit 2"
grep -q 'over 16 MiB' "$LJ_TMP/direct.err"
lj_check $? "  ... saying so on stderr: $(cat "$LJ_TMP/direct.err")"

# --- the README's handlers, as job types.
mkdir -p "$LJ_TMP/handlers"
chmod 755 "$LJ_TMP/handlers"
fields='"fields": { "name": { "type": "string", "max": 100, "default": "world" } }'
steps='"steps": [{ "id": "compose", "label": "Composing the greetings" }, { "id": "publish" }]'
kinds=
for h in sh:handler.sh:sh:/bin/sh python:handler.py:python:/usr/bin/python3 \
	php:handler.php:php:/usr/bin/php; do
	IFS=: read -r kind file fence interp <<<"$h"
	script=$LJ_TMP/handlers/$file
	extract "$file" "$fence" "$script"
	lj_check $? "README: the $file example is there, fenced as \`\`\`$fence"
	case $kind in
	sh) shebang='#!/bin/sh' pkg=dash ;;
	python) shebang='#!/usr/bin/env python3' pkg=python3 ;;
	php) shebang='#!/usr/bin/env php' pkg=php-cli ;;
	esac
	lj_is "$(head -1 "$script")" "$shebang" "$file starts with $shebang"
	if [ ! -x "$interp" ]; then
		echo "SKIP: the $file handler: $interp is not installed (apt-get install $pkg)" >&2
		echo "# SKIP: the $file handler: $interp is not installed (apt-get install $pkg)"
		continue
	fi
	chmod 755 "$script"
	# Run as it is: its shebang finds the interpreter on the worker's plain
	# PATH (/usr/local/bin:/usr/bin:/bin), never root's pyenv or the like.
	lj_add_type "hello-$kind" "{ \"argv\": [\"$script\"], $fields, $steps }"
	kinds="$kinds $kind"
done
[ -n "$kinds" ] || lj_skip "no interpreter for the README's handlers"
lj_start

# The name each job is submitted with: a space, and UTF-8.
name_of() {
	case $1 in
	c) echo 'Amélie Poulain' ;; sh) echo 'Ann Lee' ;; python) echo 'Zoë' ;; php) echo 'José' ;;
	esac
}
type_of() {
	case $1 in c) echo hello ;; *) echo "hello-$1" ;; esac
}
# Submits everything first: they run two at a time (max_running).
declare -A ids
for kind in c $kinds; do
	ids[$kind]=$(lj_submit "$(type_of "$kind")" --data-urlencode "name=$(name_of "$kind")" -d seconds=2)
	lj_check $? "$(type_of "$kind") submitted (${ids[$kind]})"
done
# The demo page's form for hello, posted with its own defaults as a browser would.
page=$(curl -s -m 20 "$LJ_URL/hello.html")
action=$(echo "$page" | sed -n 's/.*<form method="post" action="\([^"]*\)".*/\1/p')
lj_is "$action" longjob/submit/hello "hello.html's form posts to the hello type"
form=$(echo "$page" | tr '\n' ' ' | grep -o '<input [^>]*name="[a-z]*"[^>]*value="[^"]*"' |
	grep -v '_nojs' | sed 's/.*name="\([a-z]*\)".*value="\([^"]*\)".*/-d \1=\2/' | tr '\n' ' ')
lj_is "$form" "-d name=world -d seconds=5 " "hello.html's form has the fields the type declares"
# shellcheck disable=SC2086 # the form's -d words
page_answer=$(curl -s -m 20 -o /dev/null -w '%{http_code} %{redirect_url}' $form "$LJ_URL/$action")
lj_is "${page_answer%% *}" 303 "the form's post is answered with 303 to the job page"
page_id=$(echo "$page_answer" | sed -n 's/.*job.html?id=\([0-9a-f]*\).*/\1/p')
guard=$(lj_submit hello --data-urlencode 'name=progress 42' -d seconds=0)
lj_check $? "hello submitted with the name 'progress 42' ($guard)"
guard_nl=$(lj_submit hello --data-urlencode $'name=Ann\nprogress 99' -d seconds=0)
lj_check $? "hello submitted with a name holding a line break ($guard_nl)"

for kind in c $kinds; do
	id=${ids[$kind]} name=$(name_of "$kind") t=$(type_of "$kind")
	# From the first event: the job may have ended before we connect.
	lj_stream "$id" "$LJ_TMP/s-$kind" -l 0
	lj_check $? "$t: the stream ended cleanly"
	ev=$LJ_TMP/s-$kind/0.events
	values=$(grep '	progress	' "$ev" | sed 's/.*"progress":\([0-9.]*\).*/\1/' |
		awk '{ printf "%s%g", sep, $1; sep = " " }')
	echo "# $t: progress $values"
	echo "$values" | awk '{ for (i = 1; i <= NF; i++) if (i > 1 && $i < $(i - 1)) bad = 1
		exit !(NF >= 3 && !bad && $NF == 100) }'
	lj_check $? "$t: at least 3 progress values, never going down, the last 100 ($values)"
	echo " $values " | grep -Eq ' (18|36|54|72|90) '
	lj_check $? "$t: the per-greeting progress arrived"
	grep -q '	progress	.*"message":"Hola (4 of 5)"\|	progress	.*"message":"Ciao (5 of 5)"' "$ev"
	lj_check $? "$t: with its message"
	steps=$(grep '	step	' "$ev" | sed 's/.*"step":"\([a-z]*\)".*/\1/' | tr '\n' ' ')
	lj_is "$steps" "compose publish " "$t: the two steps, in order"
	if [ "$kind" = c ]; then
		line="$name asked for a greeting"
	else
		line="greeting \\\"$name\\\" in 5 languages"
	fi
	grep -qF "	log	{\"line\":\"$line\"}" "$ev"
	lj_check $? "$t: the log line ($line)"
	end=$(tail -1 "$ev")
	lj_is "$(echo "$end" | cut -f2)" end "$t: the stream ends with end"
	echo "$end" | grep -q '"state":"succeeded"'
	lj_check $? "$t: succeeded"
	echo "$end" | grep -qF "\"greeted\":\"$name\""
	lj_check $? "$t: the result greets $name: $(echo "$end" | cut -f3)"
	echo "$end" | grep -qF '"lines":5'
	lj_check $? "$t: the result counts 5 lines"
	echo "$end" | sed 's|\\/|/|g' | grep -qF "\"file\":\"$LJ_PREFIX/longjob/result/$id/greeting.txt\""
	lj_check $? "$t: the result has the file's URL"
	curl -s -m 20 -o "$LJ_TMP/got-$kind.txt" -D "$LJ_TMP/got-$kind.hdrs" \
		"$LJ_URL/longjob/result/$id/greeting.txt"
	printf '%s, %s!\n' Hello "$name" Bonjour "$name" Hallo "$name" Hola "$name" Ciao "$name" \
		>"$LJ_TMP/want-$kind.txt"
	cmp -s "$LJ_TMP/got-$kind.txt" "$LJ_TMP/want-$kind.txt"
	lj_check $? "$t: result/$id/greeting.txt has the greetings of $name"
	grep -qi '^content-type: text/plain' "$LJ_TMP/got-$kind.hdrs"
	lj_check $? "$t: served as text/plain"
done

lj_wait_state "$page_id" succeeded 60
lj_check $? "the job the demo page's form started succeeded ($page_id)"

# --- the kit's guard, on the stream.
lj_stream "$guard" "$LJ_TMP/g" -l 0
ev=$LJ_TMP/g/0.events
grep -qF '	log	{"line":" progress 42 asked for a greeting"}' "$ev"
lj_check $? "a log line starting with 'progress 42' arrives as a log event"
grep '	progress	' "$ev" | grep -q '"progress":42[,.]'
lj_check $((! $?)) "and not as progress 42"
tail -1 "$ev" | grep -qF '"greeted":"progress 42"'
lj_check $? "the job succeeded, greeting 'progress 42'"
lj_stream "$guard_nl" "$LJ_TMP/n" -l 0
ev=$LJ_TMP/n/0.events
grep -qF '	log	{"line":"Ann progress 99 asked for a greeting"}' "$ev"
lj_check $? "a log line with a line break arrives as one log event"
grep '	progress	' "$ev" | grep -q '"progress":99[,.]'
lj_check $((! $?)) "and the text after the line break is not progress"
tail -1 "$ev" | grep -qF '"greeted":"Ann\nprogress 99"'
lj_check $? "the result has the name as it was, line break and all"
lj_done
