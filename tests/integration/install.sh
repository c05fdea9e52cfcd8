#!/bin/bash
# make install honours --prefix and DESTDIR and installs the programs, pages,
# demo handlers and the example configs; the installed lighttpd example then
# runs verbatim (only its port changed) and serves a job end to end.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || lj_skip "lighttpd is not installed"
prefix=$LJ_TMP/prefix
mkdir -p "$LJ_TMP/build"
(cd "$LJ_TMP/build" && "$top_srcdir/configure" -q --prefix="$prefix" >/dev/null &&
	make -s -j2 >/dev/null 2>&1 && make -s install >/dev/null 2>&1)
lj_check $? "configure --prefix && make && make install"
for f in bin/longjob libexec/longjob/longjob-worker libexec/longjob/longjob-keeper \
	libexec/longjob/cgi-bin/submit \
	libexec/longjob/cgi-bin/progress libexec/longjob/cgi-bin/result \
	libexec/longjob/jobs/render libexec/longjob/jobs/import libexec/longjob/jobs/hello \
	share/longjob/www/job.html \
	share/longjob/www/longjob.js share/longjob/examples/lighttpd.conf.example \
	etc/longjob/longjob.json; do
	[ -e "$prefix/$f" ]
	lj_check $? "installed $f"
done
lj_is "$(stat -c %a "$prefix/var/lib/longjob")" 700 "the state directory is owner-only"
(cd "$LJ_TMP/build" && make -s install DESTDIR="$LJ_TMP/dest" >/dev/null 2>&1)
[ -x "$LJ_TMP/dest$prefix/bin/longjob" ]
lj_check $? "DESTDIR is honoured"
LONGJOB_CONFIG=$prefix/etc/longjob/longjob.json "$prefix/bin/longjob" check-config >/dev/null
lj_check $? "the installed config is valid"

# The examples in the repository carry the paths of a default install, and
# the installed copies carry this install's paths, and only those (outside
# the comments, which say what the defaults are).
ex=$prefix/share/longjob/examples
for f in lighttpd.conf.example lighttpd-cgi.conf.example apache.conf.example htaccess.example; do
	! grep -v '^[[:space:]]*#' "$ex/$f" | grep -q /usr/local &&
		grep -q "$prefix/etc/longjob/longjob.json" "$ex/$f"
	lj_check $? "the installed $f has this install's paths"
done
(cd "$LJ_TMP/build" && make -s install-data-local prefix=/usr/local DESTDIR="$LJ_TMP/default") \
	>/dev/null 2>&1
for f in lighttpd.conf.example lighttpd-cgi.conf.example apache.conf.example htaccess.example; do
	cmp -s "$top_srcdir/$f" "$LJ_TMP/default/usr/local/share/longjob/examples/$f"
	lj_check $? "$f in the repository is what a default install writes"
done

# Each example caps request bodies (a larger one is refused before it is
# stored or reaches longjob) at no less than the largest max_body of the
# shipped config, or the web server would refuse forms that longjob takes.
maxbody=$("$prefix/bin/longjob" config-help | sed -n 's/^  max_body: .*default \([0-9]*\)$/\1/p')
for v in $(grep -o '"max_body": *[0-9]*' "$top_srcdir/jobs/longjob.json.in" | grep -o '[0-9]*$'); do
	[ "$v" -gt "${maxbody:-0}" ] && maxbody=$v
done
[ -n "$maxbody" ]
lj_check $? "the largest max_body of the shipped config: ${maxbody:-none}"
cap_of() {
	sed -n -e 's/^[[:space:]]*server\.max-request-size[[:space:]]*=[[:space:]]*\([0-9]*\)[[:space:]]*$/\1 KB/p' \
		-e 's/^[[:space:]]*\(LimitRequestBody\|FcgidMaxRequestLen\)[[:space:]]\+\([0-9]*\)[[:space:]]*$/\2/p' "$1"
}
for f in lighttpd.conf.example lighttpd-cgi.conf.example apache.conf.example htaccess.example; do
	caps=$(cap_of "$top_srcdir/$f" | while read -r n unit; do
		[ "$unit" = KB ] && n=$((n * 1024)); echo "$n"; done | tr '\n' ' ')
	ok=1
	[ -n "$caps" ] && ok=0
	for n in $caps; do [ "$n" -ge "${maxbody:-0}" ] || ok=1; done
	caps=${caps% }
	lj_check "$ok" "$f caps request bodies at no less than $maxbody bytes: ${caps:-none}"
done

# The installed example as it is, but for its port.
installed_conf() {
	sed "s|^server.port .*|server.port = $LJ_PORT|" \
		"$prefix/share/longjob/examples/lighttpd.conf.example" >"$LJ_TMP/lighttpd.conf"
}
LJ_RUN=$prefix/var/run/longjob
LJ_CONFIG=$prefix/etc/longjob/longjob.json
LJ_LIGHTTPD_WRITER=installed_conf lj_launch
lj_check 0 "the installed example runs"
lj_is "$(lj_status "$LJ_URL/")" 200 "the installed pages are served"
id=$(lj_submit render -d seconds=0 -d width=16 -d height=16)
lj_check $? "a job submitted to the installed programs"
lj_stream "$id" "$LJ_TMP/s"
tail -1 "$LJ_TMP/s/0.events" | grep -q '"state":"succeeded"'
lj_check $? "it ran to success"
lj_done
